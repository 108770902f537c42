//! ISC `dhclient -6` as a real client, with a recording script instead of `dhclient-script`.
//!
//! The script the lab writes only appends the environment dhclient hands it (`reason`,
//! `new_ip6_address`, `new_ip6_prefix`, `new_dhcp6_name_servers`, `new_dhcp6_domain_search`, ...)
//! to a file, one blank-line-separated record per call. It never configures an interface and
//! never touches `resolv.conf`.

use std::collections::BTreeMap;
use std::fs;
use std::net::Ipv6Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::dhclient_leases::ClientLease;
use crate::netns::{output_timeout, wait_for, Netns};
use crate::process::Process;

/// What the client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DhclientMode {
    /// `-N`: an address only.
    Address,
    /// `-P`: a prefix only.
    Prefix,
    /// `-N -P`: an address and a prefix in one exchange.
    AddressAndPrefix,
    /// `-S`: stateless Information-request [RFC 8415 §18.2.6].
    Stateless,
}

impl DhclientMode {
    fn flags(self) -> &'static [&'static str] {
        match self {
            Self::Address => &["-N"],
            Self::Prefix => &["-P"],
            Self::AddressAndPrefix => &["-N", "-P"],
            Self::Stateless => &["-S"],
        }
    }
}

/// One call of the recording script: dhclient's reason and the variables it passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DhclientEvent {
    /// `PREINIT6`, `BOUND6`, `RENEW6`, `REBIND6`, `RELEASE6`, `INFORM6`, `EXPIRE6`, ...
    pub reason: String,
    /// Every `reason`/`new_*`/`old_*`/`interface` variable.
    pub env: BTreeMap<String, String>,
}

impl DhclientEvent {
    /// `new_ip6_address`.
    pub fn ip6_address(&self) -> Option<Ipv6Addr> {
        self.env.get("new_ip6_address")?.parse().ok()
    }

    /// `new_ip6_prefix` as (prefix, length).
    pub fn ip6_prefix(&self) -> Option<(Ipv6Addr, u8)> {
        let (a, l) = self.env.get("new_ip6_prefix")?.split_once('/')?;
        Some((a.parse().ok()?, l.parse().ok()?))
    }

    /// `new_dhcp6_name_servers`.
    pub fn name_servers(&self) -> Vec<Ipv6Addr> {
        self.words("new_dhcp6_name_servers")
            .filter_map(|w| w.parse().ok())
            .collect()
    }

    /// `new_dhcp6_domain_search` (trailing dots removed).
    pub fn domain_search(&self) -> Vec<String> {
        self.words("new_dhcp6_domain_search")
            .map(|w| w.trim_end_matches('.').to_owned())
            .collect()
    }

    /// `new_max_life` (valid lifetime) if given.
    pub fn max_life(&self) -> Option<u32> {
        self.env.get("new_max_life")?.parse().ok()
    }

    /// `new_dhcp6_client_id` as lowercase hex without separators (dhclient prints `0:1:a:...`).
    pub fn client_duid(&self) -> Option<String> {
        let v = self.env.get("new_dhcp6_client_id")?;
        Some(
            v.split(':')
                .map(|b| format!("{:0>2}", b.to_ascii_lowercase()))
                .collect(),
        )
    }

    fn words(&self, key: &str) -> impl Iterator<Item = &str> {
        self.env
            .get(key)
            .map(String::as_str)
            .unwrap_or("")
            .split_whitespace()
    }
}

/// A `dhclient -6` run in a namespace; files live in `dir` under the given name.
#[derive(Debug)]
pub struct Dhclient {
    ns: String,
    iface: String,
    mode: DhclientMode,
    script: PathBuf,
    events: PathBuf,
    leases: PathBuf,
    pidfile: PathBuf,
    dir: PathBuf,
    process: Option<Process>,
}

impl Dhclient {
    /// Starts `dhclient -6 -1 -d -v <mode> -sf SCRIPT -lf LEASES -pf PID IFACE` in `ns`.
    ///
    /// `-d` keeps it in the foreground so the [`Process`] guard owns it; otherwise this is the
    /// `-1 -v -N -P` client of testing.md. Call [`Dhclient::wait_for_reason`] for its result.
    pub fn start(ns: &Netns, iface: &str, mode: DhclientMode, dir: &Path) -> Result<Self> {
        let tag = format!("dhclient-{iface}");
        let script = dir.join(format!("{tag}.script"));
        let events = dir.join(format!("{tag}.events"));
        fs::write(
            &script,
            format!(
                "#!/bin/sh\n{{ env | grep -E '^(reason|interface|new_|old_|cur_)' | sort; echo; }} >> '{}'\nexit 0\n",
                events.display()
            ),
        )?;
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755))?;
        let mut c = Self {
            ns: ns.name().to_owned(),
            iface: iface.to_owned(),
            mode,
            script,
            events,
            leases: dir.join(format!("{tag}.leases")),
            pidfile: dir.join(format!("{tag}.pid")),
            dir: dir.to_owned(),
            process: None,
        };
        let mut cmd = ns.command("dhclient");
        cmd.args(["-6", "-1", "-d", "-v"]).args(mode.flags());
        c.common_args(&mut cmd);
        c.process = Some(Process::spawn(cmd, dir, &tag)?);
        Ok(c)
    }

    /// Every script call so far, in order.
    pub fn events(&self) -> Result<Vec<DhclientEvent>> {
        let text = fs::read_to_string(&self.events).unwrap_or_default();
        Ok(parse_events(&text))
    }

    /// Waits until the `n`-th (1-based) event with `reason` appears, and returns it.
    pub fn wait_for_reason(
        &mut self,
        reason: &str,
        n: usize,
        timeout: Duration,
    ) -> Result<DhclientEvent> {
        let r = wait_for(&format!("dhclient {reason} #{n}"), timeout, || {
            let ev = self.events().ok()?;
            ev.into_iter()
                .filter(|e| e.reason == reason)
                .nth(n.saturating_sub(1))
        });
        r.with_context(|| format!("dhclient log:\n{}", self.log()))
    }

    /// Waits until some event satisfies `pred`, and returns the first that does.
    pub fn wait_event(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&DhclientEvent) -> bool,
    ) -> Result<DhclientEvent> {
        let r = wait_for(&format!("dhclient {what}"), timeout, || {
            self.events().ok()?.into_iter().find(|e| pred(e))
        });
        r.with_context(|| format!("dhclient log:\n{}", self.log()))
    }

    /// Events with `reason`, in order.
    pub fn events_with(&self, reason: &str) -> Result<Vec<DhclientEvent>> {
        Ok(self
            .events()?
            .into_iter()
            .filter(|e| e.reason == reason)
            .collect())
    }

    /// What dhclient's lease file (`-lf`) says the client holds now (its last `lease6` block).
    pub fn lease_file(&self) -> Result<Vec<ClientLease>> {
        let text = fs::read_to_string(&self.leases).unwrap_or_default();
        crate::dhclient_leases::parse(&text)
            .with_context(|| format!("{}:\n{text}", self.leases.display()))
    }

    /// dhclient's own stderr (its `-v` log).
    pub fn log(&self) -> String {
        self.process
            .as_ref()
            .map(Process::stderr)
            .unwrap_or_default()
    }

    /// Whether the dhclient process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(Process::is_running)
    }

    /// `dhclient -6 -r ...`: stops the running client (via the pid file) and sends a Release
    /// for what its lease file holds [RFC 8415 §18.2.7]; waits for that command to exit.
    pub fn release(&mut self, ns: &Netns, timeout: Duration) -> Result<()> {
        let mut cmd = ns.command("dhclient");
        cmd.args(["-6", "-r", "-v"]).args(self.mode.flags());
        self.common_args(&mut cmd);
        let out = output_timeout(&mut cmd, timeout)?;
        fs::write(
            self.dir
                .join(format!("dhclient-{}.release.stderr", self.iface)),
            &out.stderr,
        )?;
        if !out.status.success() {
            bail!(
                "dhclient -r failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if let Some(p) = self.process.as_mut() {
            if p.wait_timeout(Duration::from_secs(5))?.is_none() {
                p.stop()?;
            }
        }
        Ok(())
    }

    /// Stops the client without releasing (SIGTERM to the foreground process).
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut p) = self.process.take() {
            p.stop()?;
        }
        Ok(())
    }

    /// The namespace this client runs in.
    pub fn ns(&self) -> &str {
        &self.ns
    }

    fn common_args(&self, cmd: &mut std::process::Command) {
        cmd.arg("-sf").arg(&self.script);
        cmd.arg("-lf").arg(&self.leases);
        cmd.arg("-pf").arg(&self.pidfile);
        cmd.arg(&self.iface);
    }
}

/// Parses the recording script's output: `key=value` lines, records separated by blank lines.
pub fn parse_events(text: &str) -> Vec<DhclientEvent> {
    let mut out = Vec::new();
    let mut cur = DhclientEvent::default();
    for line in text.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if !cur.env.is_empty() {
                cur.reason = cur.env.get("reason").cloned().unwrap_or_default();
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            cur.env.insert(k.to_owned(), v.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_into_records() {
        let t = "interface=cli0\nnew_ip6_address=2001:db8:1::1000\nnew_ip6_prefixlen=128\nreason=BOUND6\n\n\
                 new_dhcp6_domain_search=example.net. isp.example.\nnew_dhcp6_name_servers=2001:db8::53 2001:db8::5353\nnew_ip6_prefix=2001:db8:8000::/56\nreason=BOUND6\n\n";
        let ev = parse_events(t);
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].reason, "BOUND6");
        assert_eq!(
            ev[0].ip6_address(),
            Some("2001:db8:1::1000".parse().unwrap())
        );
        assert_eq!(
            ev[1].ip6_prefix(),
            Some(("2001:db8:8000::".parse().unwrap(), 56))
        );
        assert_eq!(ev[1].name_servers().len(), 2);
        assert_eq!(ev[1].domain_search(), vec!["example.net", "isp.example"]);
        let mut e = DhclientEvent::default();
        e.env
            .insert("new_dhcp6_client_id".into(), "0:1:0:1:32:9b:6d:E5".into());
        assert_eq!(e.client_duid().as_deref(), Some("00010001329b6de5"));
    }
}
