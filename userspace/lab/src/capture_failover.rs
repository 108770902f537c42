//! The failover partner link on the wire: captures of TCP 647, and tshark's verdict on them
//! through a Lua shim that hands each RFC 8156 message to Wireshark's own DHCPv6 dissector
//! (testing.md, "Wire checks"). Re-exported from [`crate::capture`].
//!
//! The shim is ours, `tools/fo6-shim.lua` ([`OUR_SHIM`]); any shim that registers on TCP 647
//! and calls the `dhcpv6` dissector (such as `shared/tools/fo6.lua`) can be passed instead.
//! Only a stream in the clear can be judged: after STARTTLS the bytes are TLS records, so
//! lab tests that check the partner stream use `LabTls::None`.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::capture::Capture;
use crate::netns::{output_timeout, Netns};
use crate::pair::{FAILOVER_PORT, PRIMARY_FO_ADDR, SECONDARY_FO_ADDR};

/// Our shim, in this crate's `tools/` directory.
pub const OUR_SHIM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/fo6-shim.lua");

/// Capture filter for the partner link.
pub const PARTNER_CAPTURE_FILTER: &str = "tcp port 647";

/// Display filter of the frames a shim handed to the DHCPv6 dissector.
const DECODED_FILTER: &str = "tcp.port == 647 && dhcpv6";

/// Display filter of the frames with a Malformed expert item (ours or the dissector's).
pub const MALFORMED_FILTER: &str = "_ws.expert.group == \"Malformed\"";

/// tshark's verdict on a partner-link capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailoverVerdict {
    /// Frames holding at least one failover message the shim handed to the DHCPv6 dissector.
    pub decoded_frames: usize,
    /// Frames flagged Malformed.
    pub malformed_frames: usize,
}

impl Capture {
    /// Starts capturing the failover TCP stream (`tcp port 647`) on `iface` in `ns` into
    /// `dir/<name>.pcapng`.
    pub fn start_partner(ns: &Netns, iface: &str, dir: &Path, name: &str) -> Result<Self> {
        Self::start_filtered(ns, iface, dir, name, PARTNER_CAPTURE_FILTER)
    }
}

/// How many frames of `pcap` tshark flags Malformed (`-Y '_ws.expert.group == "Malformed"'`)
/// with `shim` loaded (`None`: [`OUR_SHIM`]).
pub fn failover_malformed(pcap: &Path, shim: Option<&Path>) -> Result<usize> {
    Ok(failover_verdict(pcap, shim)?.malformed_frames)
}

/// Frames decoded and frames flagged Malformed in `pcap` with `shim` loaded (`None`:
/// [`OUR_SHIM`]). `decoded_frames == 0` means the shim saw nothing to judge.
pub fn failover_verdict(pcap: &Path, shim: Option<&Path>) -> Result<FailoverVerdict> {
    let shim = shim.unwrap_or(Path::new(OUR_SHIM));
    // tshark only warns about a missing Lua script and then decodes nothing.
    if !shim.is_file() {
        bail!("no Lua shim at {}", shim.display());
    }
    Ok(FailoverVerdict {
        decoded_frames: count_frames(pcap, shim, DECODED_FILTER)?,
        malformed_frames: count_frames(pcap, shim, MALFORMED_FILTER)?,
    })
}

/// Writes a pcap of one TCP stream from the primary (`[fd00:647::1]:40000`) to the
/// secondary (`[fd00:647::2]:647`), one segment per element of `segments`, with
/// `text2pcap`. For checking framed messages offline.
pub fn stream_pcap(segments: &[&[u8]], out: &Path) -> Result<()> {
    if segments.iter().any(|s| s.is_empty()) {
        bail!("text2pcap cannot write an empty segment");
    }
    let hex = out.with_extension("hex.txt");
    fs::write(&hex, hex_dump(segments)).with_context(|| format!("write {}", hex.display()))?;
    let ips = format!("{PRIMARY_FO_ADDR},{SECONDARY_FO_ADDR}");
    let ports = format!("40000,{FAILOVER_PORT}");
    let mut cmd = Command::new("text2pcap");
    cmd.args(["-q", "-6", &ips, "-T", &ports])
        .arg(&hex)
        .arg(out);
    let o = output_timeout(&mut cmd, Duration::from_secs(30))?;
    if !o.status.success() {
        bail!("text2pcap: {}", String::from_utf8_lossy(&o.stderr).trim());
    }
    Ok(())
}

/// The `text2pcap` input: each segment as lines of `OFFSET HEX…`, offsets restarting at 0.
fn hex_dump(segments: &[&[u8]]) -> String {
    let mut s = String::new();
    for seg in segments {
        for (i, line) in seg.chunks(16).enumerate() {
            let _ = write!(s, "{:06x}", i * 16);
            for b in line {
                let _ = write!(s, " {b:02x}");
            }
            s.push('\n');
        }
    }
    s
}

/// Frames of `pcap` matching `filter` in a two-pass tshark run with `shim` loaded.
fn count_frames(pcap: &Path, shim: &Path, filter: &str) -> Result<usize> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-2", "-X"])
        .arg(format!("lua_script:{}", shim.display()))
        .arg("-r")
        .arg(pcap)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"]);
    let out = output_timeout(&mut cmd, Duration::from_secs(300))?;
    if !out.status.success() {
        bail!(
            "tshark -r {} -Y {filter}: {}",
            pcap.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    // Only the frame-number lines count (a Lua script may print other lines).
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.trim().parse::<u64>().is_ok())
        .count())
}

#[cfg(test)]
#[path = "capture_failover_tests.rs"]
mod tests;
