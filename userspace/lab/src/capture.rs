//! tshark captures inside a namespace, decoded into DHCPv6 message structs.
//!
//! Decoding reads `tshark -T json --no-duplicate-keys` and walks the option trees by option
//! code, so relayed messages come out as a stack: outer Relay-forw/-reply first, client or
//! server message last.

use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::netns::{output_timeout, wait_for, Netns};
use crate::process::Process;
use crate::subject::LeaseKind;

pub use crate::capture_failover::{
    failover_malformed, failover_verdict, stream_pcap, FailoverVerdict, MALFORMED_FILTER, OUR_SHIM,
    PARTNER_CAPTURE_FILTER,
};

/// A running `tshark -i IFACE -w FILE -f FILTER` in a namespace; DHCPv6 (`udp port 546 or udp
/// port 547`) unless started with another filter.
#[derive(Debug)]
pub struct Capture {
    process: Option<Process>,
    path: PathBuf,
}

impl Capture {
    /// Starts capturing DHCPv6 on `iface` in `ns` into `dir/<name>.pcapng` and waits until
    /// tshark reports that it is capturing.
    pub fn start(ns: &Netns, iface: &str, dir: &Path, name: &str) -> Result<Self> {
        Self::start_filtered(ns, iface, dir, name, "udp port 546 or udp port 547")
    }

    /// Like [`Capture::start`] with another capture filter (BPF syntax, `-f`), such as
    /// [`crate::capture_failover::PARTNER_CAPTURE_FILTER`].
    pub fn start_filtered(
        ns: &Netns,
        iface: &str,
        dir: &Path,
        name: &str,
        filter: &str,
    ) -> Result<Self> {
        let path = dir.join(format!("{name}.pcapng"));
        let mut cmd = ns.command("tshark");
        cmd.args(["-q", "-n", "-B", "64", "-i", iface, "-f", filter, "-w"])
            .arg(&path);
        let mut p = Process::spawn(cmd, dir, &format!("tshark-{name}"))?;
        let ok = wait_for(
            &format!("tshark capturing on {iface}"),
            Duration::from_secs(20),
            || {
                if !p.is_running() {
                    return Some(false);
                }
                p.stderr().contains("Capturing on").then_some(true)
            },
        )?;
        if !ok {
            bail!("tshark exited: {}", p.stderr());
        }
        // dumpcap has the socket open once it says so; a short pause lets the filter attach.
        std::thread::sleep(Duration::from_millis(300));
        Ok(Self {
            process: Some(p),
            path,
        })
    }

    /// The pcapng file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops tshark (SIGINT, so it flushes) and returns the file path.
    pub fn stop(&mut self) -> Result<PathBuf> {
        if let Some(mut p) = self.process.take() {
            // Let in-flight frames reach the file before stopping.
            std::thread::sleep(Duration::from_millis(500));
            p.signal(libc::SIGINT)?;
            if p.wait_timeout(Duration::from_secs(10))?.is_none() {
                p.stop()?;
            }
        }
        Ok(self.path.clone())
    }

    /// Stops the capture and decodes every DHCPv6 frame in it.
    pub fn finish(&mut self) -> Result<Vec<Dhcp6Frame>> {
        let p = self.stop()?;
        decode(&p, None)
    }
}

/// One lease carried in an IA option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaLease {
    /// IA_NA address or IA_PD prefix.
    pub kind: LeaseKind,
    /// The IA's IAID.
    pub iaid: u32,
    /// Address or prefix.
    pub address: Ipv6Addr,
    /// 128 for addresses.
    pub prefix_len: u8,
    /// Preferred lifetime (s).
    pub preferred: u32,
    /// Valid lifetime (s).
    pub valid: u32,
}

/// One DHCPv6 message (a frame holds one per relay layer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dhcp6Msg {
    /// Message type [RFC 8415 §7.3]: 1 Solicit … 7 Reply, 12 Relay-forw, 13 Relay-repl.
    pub msg_type: u8,
    /// Transaction id (0 for relay messages, which have none) [RFC 8415 §8].
    pub xid: u32,
    /// Client DUID, lowercase hex without separators.
    pub client_duid: Option<String>,
    /// Server DUID, lowercase hex without separators.
    pub server_duid: Option<String>,
    /// IAIDs of every IA_NA/IA_PD, leases or not.
    pub iaids: Vec<(LeaseKind, u32)>,
    /// Addresses and prefixes with their IAID and lifetimes.
    pub leases: Vec<IaLease>,
    /// Relay link-address (relay messages only) [RFC 8415 §9].
    pub link_address: Option<Ipv6Addr>,
    /// Relay peer-address (relay messages only) [RFC 8415 §9].
    pub peer_address: Option<Ipv6Addr>,
    /// Interface-ID option [RFC 8415 §21.18] as tshark prints it (colon-separated hex octets).
    pub interface_id: Option<String>,
    /// Status codes anywhere in the message.
    pub status_codes: Vec<u16>,
    /// DNS servers (option 23).
    pub dns_servers: Vec<Ipv6Addr>,
    /// Domain search list (option 24), trailing dots removed.
    pub domain_search: Vec<String>,
}

/// One captured frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Dhcp6Frame {
    /// Frame number in the capture (1-based).
    pub number: u64,
    /// Capture time, Unix seconds.
    pub time: f64,
    /// IPv6 source.
    pub src: Ipv6Addr,
    /// IPv6 destination.
    pub dst: Ipv6Addr,
    /// Outermost message first; the last is the client or server message.
    pub messages: Vec<Dhcp6Msg>,
}

impl Dhcp6Frame {
    /// The outermost message type.
    pub fn outer_type(&self) -> u8 {
        self.messages.first().map_or(0, |m| m.msg_type)
    }

    /// The innermost (client or server) message.
    pub fn inner(&self) -> Option<&Dhcp6Msg> {
        self.messages.last()
    }

    /// The innermost message type.
    pub fn inner_type(&self) -> u8 {
        self.inner().map_or(0, |m| m.msg_type)
    }
}

/// Message type numbers [RFC 8415 §7.3].
pub mod msg {
    /// Solicit.
    pub const SOLICIT: u8 = 1;
    /// Advertise.
    pub const ADVERTISE: u8 = 2;
    /// Request.
    pub const REQUEST: u8 = 3;
    /// Renew.
    pub const RENEW: u8 = 5;
    /// Rebind.
    pub const REBIND: u8 = 6;
    /// Reply.
    pub const REPLY: u8 = 7;
    /// Release.
    pub const RELEASE: u8 = 8;
    /// Information-request.
    pub const INFORMATION_REQUEST: u8 = 11;
    /// Relay-forward.
    pub const RELAY_FORW: u8 = 12;
    /// Relay-reply.
    pub const RELAY_REPL: u8 = 13;
}

/// Decodes `pcap` with tshark, optionally through a display filter (`-Y`).
pub fn decode(pcap: &Path, display_filter: Option<&str>) -> Result<Vec<Dhcp6Frame>> {
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"])
        .arg(pcap)
        .args(["-T", "json", "--no-duplicate-keys"]);
    cmd.args(["-Y", display_filter.unwrap_or("dhcpv6")]);
    let out = output_timeout(&mut cmd, Duration::from_secs(300))?;
    if !out.status.success() {
        bail!(
            "tshark -r {}: {}",
            pcap.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: Value = serde_json::from_slice(&out.stdout).context("tshark json")?;
    let frames = v.as_array().context("tshark json is not an array")?;
    frames.iter().map(frame).collect()
}

/// Decodes one element of tshark's `-T json` array.
pub fn frame(v: &Value) -> Result<Dhcp6Frame> {
    let l = &v["_source"]["layers"];
    let number = str_of(&l["frame"]["frame.number"]).parse().unwrap_or(0);
    let time = str_of(&l["frame"]["frame.time_epoch"])
        .parse()
        .unwrap_or(0.0);
    let src = str_of(&l["ipv6"]["ipv6.src"]).parse().context("ipv6.src")?;
    let dst = str_of(&l["ipv6"]["ipv6.dst"]).parse().context("ipv6.dst")?;
    let mut messages = Vec::new();
    let d = &l["dhcpv6"];
    match d {
        Value::Array(a) => a.iter().for_each(|m| message(m, &mut messages)),
        _ => message(d, &mut messages),
    }
    Ok(Dhcp6Frame {
        number,
        time,
        src,
        dst,
        messages,
    })
}

/// Pushes the message at `node` and then every message nested in a Relay Message option.
fn message(node: &Value, out: &mut Vec<Dhcp6Msg>) {
    let mut m = Dhcp6Msg {
        msg_type: str_of(&node["dhcpv6.msgtype"]).parse().unwrap_or(0),
        xid: u32::from_str_radix(str_of(&node["dhcpv6.xid"]).trim_start_matches("0x"), 16)
            .unwrap_or(0),
        link_address: str_of(&node["dhcpv6.linkaddr"]).parse().ok(),
        peer_address: str_of(&node["dhcpv6.peeraddr"]).parse().ok(),
        ..Default::default()
    };
    let idx = out.len();
    out.push(Dhcp6Msg::default());
    let mut inner = Vec::new();
    walk(node, &mut m, None, &mut inner, true);
    out[idx] = m;
    for n in inner {
        message(n, out);
    }
}

/// Walks option trees below `node`, filling `m`; nested messages go to `inner` unvisited.
fn walk<'a>(
    node: &'a Value,
    m: &mut Dhcp6Msg,
    ia: Option<(LeaseKind, u32)>,
    inner: &mut Vec<&'a Value>,
    top: bool,
) {
    match node {
        Value::Array(a) => a.iter().for_each(|n| walk(n, m, ia, inner, false)),
        Value::Object(o) => {
            if !top && o.contains_key("dhcpv6.msgtype") {
                inner.push(node);
                return;
            }
            let mut ia = ia;
            match o
                .get("dhcpv6.option.type")
                .map(str_of)
                .and_then(|s| s.parse::<u16>().ok())
            {
                Some(1) => m.client_duid = Some(hex(str_of(&node["dhcpv6.duid.bytes"]))),
                Some(2) => m.server_duid = Some(hex(str_of(&node["dhcpv6.duid.bytes"]))),
                Some(t @ (3 | 25)) => {
                    let kind = if t == 3 { LeaseKind::Na } else { LeaseKind::Pd };
                    let iaid = u32::from_str_radix(
                        str_of(&node["dhcpv6.iaid"]).trim_start_matches("0x"),
                        16,
                    )
                    .unwrap_or(0);
                    m.iaids.push((kind, iaid));
                    ia = Some((kind, iaid));
                }
                Some(5) => {
                    if let (Some((kind, iaid)), Ok(address)) =
                        (ia, str_of(&node["dhcpv6.iaaddr.ip"]).parse())
                    {
                        m.leases.push(IaLease {
                            kind,
                            iaid,
                            address,
                            prefix_len: 128,
                            preferred: num(&node["dhcpv6.iaaddr.pref_lifetime"]),
                            valid: num(&node["dhcpv6.iaaddr.valid_lifetime"]),
                        });
                    }
                }
                Some(26) => {
                    if let (Some((kind, iaid)), Ok(address)) =
                        (ia, str_of(&node["dhcpv6.iaprefix.pref_addr"]).parse())
                    {
                        m.leases.push(IaLease {
                            kind,
                            iaid,
                            address,
                            prefix_len: num(&node["dhcpv6.iaprefix.pref_len"]) as u8,
                            preferred: num(&node["dhcpv6.iaprefix.pref_lifetime"]),
                            valid: num(&node["dhcpv6.iaprefix.valid_lifetime"]),
                        });
                    }
                }
                Some(13) => m.status_codes.push(num(&node["dhcpv6.status_code"]) as u16),
                Some(18) => m.interface_id = Some(str_of(&node["dhcpv6.interface_id"]).to_owned()),
                Some(23) => strings(&node["dhcpv6.dns_server"], &mut |s| {
                    if let Ok(a) = s.parse() {
                        m.dns_servers.push(a);
                    }
                }),
                Some(24) => find_key(node, "dhcpv6.search_list_entry", &mut |s| {
                    m.domain_search.push(s.trim_end_matches('.').to_owned());
                }),
                _ => {}
            }
            for (k, v) in o {
                if v.is_object() || v.is_array() {
                    if k == "dhcpv6.search_list_entry" || k == "dhcpv6.dns_server" {
                        continue;
                    }
                    walk(v, m, ia, inner, false);
                }
            }
        }
        _ => {}
    }
}

fn find_key(node: &Value, key: &str, f: &mut dyn FnMut(&str)) {
    match node {
        Value::Object(o) => {
            for (k, v) in o {
                if k == key {
                    strings(v, f);
                } else {
                    find_key(v, key, f);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| find_key(v, key, f)),
        _ => {}
    }
}

fn strings(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, f)),
        _ => {}
    }
}

fn str_of(v: &Value) -> &str {
    match v {
        Value::String(s) => s,
        Value::Array(a) => a.first().map_or("", str_of),
        _ => "",
    }
}

fn num(v: &Value) -> u32 {
    str_of(v).parse().unwrap_or(0)
}

fn hex(s: &str) -> String {
    s.replace(':', "").to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A relayed Reply as tshark 4.0 prints it (`-T json --no-duplicate-keys`), trimmed.
    const RELAYED_REPLY: &str = r#"{"_source":{"layers":{
      "frame":{"frame.number":"7","frame.time_epoch":"1795732173.862340000"},
      "ipv6":{"ipv6.src":"2001:db8:ffff::1","ipv6.dst":"2001:db8:ffff::2"},
      "dhcpv6":{"dhcpv6.msgtype":"13","dhcpv6.hopcount":"0",
        "dhcpv6.linkaddr":"2001:db8:1::fffe","dhcpv6.peeraddr":"fe80::801e:a1ff:fec7:7e9e",
        "dhcpv6.option.type_str":["Interface-Id","Relay Message"],
        "dhcpv6.option.type_str_tree":[
          {"dhcpv6.option.type":"18","dhcpv6.option.length":"4","dhcpv6.interface_id":"01:00:00:00"},
          {"dhcpv6.option.type":"9","dhcpv6.option.length":"120",
           "dhcpv6":{"dhcpv6.msgtype":"7","dhcpv6.xid":"0xc4d48c",
             "dhcpv6.option.type_str_tree":[
               {"dhcpv6.option.type":"1","dhcpv6.duid.bytes":"00:01:00:01:32:9b:6d:e5"},
               {"dhcpv6.option.type":"2","dhcpv6.duid.bytes":"00:02:00:00:09:bf:01:02"},
               {"dhcpv6.option.type":"3","dhcpv6.iaid":"7eb8f1d2",
                "dhcpv6.option.type_str_tree":{"dhcpv6.option.type":"5",
                  "dhcpv6.iaaddr.ip":"2001:db8:1::1000","dhcpv6.iaaddr.pref_lifetime":"8",
                  "dhcpv6.iaaddr.valid_lifetime":"12"}},
               {"dhcpv6.option.type":"23","dhcpv6.dns_server":["2001:db8::53","2001:db8::5353"]},
               {"dhcpv6.option.type":"24","Domain name suffix search list":
                 {"dhcpv6.search_list_entry":["example.net.","isp.example."]}},
               {"dhcpv6.option.type":"25","dhcpv6.iaid":"7eb8f1d2",
                "dhcpv6.option.type_str_tree":{"dhcpv6.option.type":"26",
                  "dhcpv6.iaprefix.pref_lifetime":"8","dhcpv6.iaprefix.valid_lifetime":"12",
                  "dhcpv6.iaprefix.pref_len":"56","dhcpv6.iaprefix.pref_addr":"2001:db8:8000::"}}
             ]}}]}}}}"#;

    #[test]
    fn relayed_reply_decodes_into_a_message_stack() {
        let v: Value = serde_json::from_str(RELAYED_REPLY).unwrap();
        let f = frame(&v).unwrap();
        assert_eq!(f.number, 7);
        assert_eq!(f.outer_type(), msg::RELAY_REPL);
        assert_eq!(f.inner_type(), msg::REPLY);
        assert_eq!(f.messages[0].interface_id.as_deref(), Some("01:00:00:00"));
        assert_eq!(
            f.messages[0].link_address,
            Some("2001:db8:1::fffe".parse().unwrap())
        );
        assert!(f.messages[0].peer_address.is_some());
        assert_eq!(f.messages[1].link_address, None);
        assert!(
            f.messages[0].leases.is_empty(),
            "inner leases leaked into the relay layer"
        );
        let m = f.inner().unwrap();
        assert_eq!(m.xid, 0xc4d48c);
        assert_eq!(m.client_duid.as_deref(), Some("00010001329b6de5"));
        assert_eq!(m.server_duid.as_deref(), Some("0002000009bf0102"));
        assert_eq!(
            m.iaids,
            vec![(LeaseKind::Na, 0x7eb8f1d2), (LeaseKind::Pd, 0x7eb8f1d2)]
        );
        assert_eq!(m.leases.len(), 2);
        assert_eq!(
            m.leases[0].address,
            "2001:db8:1::1000".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            (
                m.leases[0].preferred,
                m.leases[0].valid,
                m.leases[0].prefix_len
            ),
            (8, 12, 128)
        );
        assert_eq!(m.leases[1].kind, LeaseKind::Pd);
        assert_eq!(m.leases[1].prefix_len, 56);
        assert_eq!(m.dns_servers.len(), 2);
        assert_eq!(m.domain_search, vec!["example.net", "isp.example"]);
    }
}
