//! The host state the lab must leave alone: `/etc/resolv.conf` and the list of namespaces.
//!
//! Taken before and after the lab tests; [`HostState::broken_by`] names what the lab broke.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context;

use crate::shell::{cmd, output};

/// What `/etc/resolv.conf` and `ip netns list` looked like at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostState {
    /// The `nameserver` lines, trimmed, in order.
    nameservers: Vec<String>,
    /// Lab namespaces (`tdm<pid>x<n>`, tandem-lab's naming) whose creating process is gone.
    orphan_namespaces: BTreeSet<String>,
}

impl HostState {
    /// Reads the current state.
    pub(crate) fn capture() -> anyhow::Result<Self> {
        let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let listed = output(&mut cmd("ip", ["netns", "list"])).context("ip netns list")?;
        let orphan_namespaces = lab_namespaces(&listed)
            .into_iter()
            .filter(|(_, pid)| !Path::new(&format!("/proc/{pid}")).exists())
            .map(|(name, _)| name)
            .collect();
        Ok(Self {
            nameservers: nameserver_lines(&resolv),
            orphan_namespaces,
        })
    }

    /// Problems present before anything ran, worth a warning (not the lab's doing).
    pub(crate) fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.nameservers.is_empty() {
            w.push("/etc/resolv.conf has no nameserver line".to_owned());
        }
        if !self.orphan_namespaces.is_empty() {
            w.push(format!(
                "leftover lab namespaces from an earlier run (`cargo xtask clean` removes them): {}",
                join(&self.orphan_namespaces)
            ));
        }
        w
    }

    /// What changed for the worse between `before` and `self` (empty: nothing).
    pub(crate) fn broken_by(&self, before: &Self) -> Vec<String> {
        let mut broken = Vec::new();
        if !before.nameservers.is_empty() && self.nameservers.is_empty() {
            broken.push("/etc/resolv.conf lost its nameserver lines".to_owned());
        } else if self.nameservers != before.nameservers {
            broken.push(format!(
                "/etc/resolv.conf nameservers changed from {:?} to {:?}",
                before.nameservers, self.nameservers
            ));
        }
        let new: BTreeSet<String> = self
            .orphan_namespaces
            .difference(&before.orphan_namespaces)
            .cloned()
            .collect();
        if !new.is_empty() {
            broken.push(format!(
                "the lab left network namespaces behind: {}",
                join(&new)
            ));
        }
        broken
    }
}

fn nameserver_lines(resolv: &str) -> Vec<String> {
    resolv
        .lines()
        .map(str::trim)
        .filter(|l| l.split_whitespace().next() == Some("nameserver"))
        .map(str::to_owned)
        .collect()
}

/// `(name, pid)` of every namespace named as tandem-lab names them: `tdm<pid>x<n>`.
///
/// `ip netns list` prints `name` or `name (id: N)` per line.
pub(crate) fn lab_namespaces(listed: &str) -> Vec<(String, u32)> {
    listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|name| {
            let (pid, n) = name.strip_prefix("tdm")?.split_once('x')?;
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(n) {
                return None;
            }
            Some((name.to_owned(), pid.parse().ok()?))
        })
        .collect()
}

fn join(names: &BTreeSet<String>) -> String {
    names.iter().cloned().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(ns: &[&str], orphans: &[&str]) -> HostState {
        HostState {
            nameservers: ns.iter().map(|s| (*s).to_owned()).collect(),
            orphan_namespaces: orphans.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn nameserver_lines_ignore_comments_and_other_keys() {
        let r =
            "# nameserver 9.9.9.9\nsearch x\nnameserver 10.0.0.1\n  nameserver ::1 \nnameservers\n";
        assert_eq!(
            nameserver_lines(r),
            vec!["nameserver 10.0.0.1", "nameserver ::1"]
        );
    }

    #[test]
    fn only_lab_shaped_names_count() {
        let listed = "tdm123x0 (id: 3)\ntdm123x1\nblue\ntdmx1\ntdm12x\ntdm9xa\ntdm77x10 (id: 0)\n";
        let found = lab_namespaces(listed);
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["tdm123x0", "tdm123x1", "tdm77x10"]);
        assert_eq!(found[2].1, 77);
    }

    #[test]
    fn broken_by_reports_lost_dns_and_new_orphans_only() {
        let before = state(&["nameserver 10.0.0.1"], &["tdm1x0"]);
        assert!(state(&["nameserver 10.0.0.1"], &["tdm1x0"])
            .broken_by(&before)
            .is_empty());
        let lost = state(&[], &["tdm1x0"]).broken_by(&before);
        assert_eq!(lost.len(), 1);
        assert!(lost[0].contains("lost"), "{lost:?}");
        let changed = state(&["nameserver 2001:db8::53"], &[]).broken_by(&before);
        assert!(changed[0].contains("changed"), "{changed:?}");
        let orphaned = state(&["nameserver 10.0.0.1"], &["tdm1x0", "tdm2x0"]).broken_by(&before);
        assert_eq!(
            orphaned,
            vec!["the lab left network namespaces behind: tdm2x0".to_owned()]
        );
    }

    #[test]
    fn warnings_name_preexisting_problems() {
        assert!(state(&["nameserver 1.1.1.1"], &[]).warnings().is_empty());
        assert_eq!(state(&[], &["tdm5x0"]).warnings().len(), 2);
    }
}
