//! [`Model`] → tandem TOML, commented like `config/standalone.toml`: a header naming the Kea
//! file and listing what was not carried over, then `[server]`, `[storage]`, `[lifetimes]`,
//! `[options]` and one `[[subnet]]` per Kea subnet.

use std::fmt::Write as _;

use crate::model::{Lifetimes, Model, Options, Subnet};
use crate::{ImportOptions, NotCarried};

/// Longest comment line before wrapping (house style: 100 columns).
const COMMENT_WIDTH: usize = 100;

pub(crate) fn render(m: &Model, not_carried: &[NotCarried], opts: &ImportOptions) -> String {
    let mut s = String::new();
    comment(
        &mut s,
        &format!(
            "tandem config imported from the Kea config {}.",
            opts.source_name
        ),
    );
    comment(
        &mut s,
        "Written by `tandemd import-kea-config`; check it with `tandemd check-config`.",
    );
    if let Some(db) = &m.lease_database {
        comment(&mut s, &format!("Kea's lease database: {db}."));
        comment(
            &mut s,
            "Import its leases with `tandemd import-leases --config THIS-FILE kea-leases6.csv` \
             while tandemd is stopped.",
        );
    }
    s.push_str("#\n");
    if not_carried.is_empty() {
        comment(&mut s, "Everything in the Kea config was carried over.");
    } else {
        comment(
            &mut s,
            &format!("Not carried over from Kea ({}):", not_carried.len()),
        );
        for n in not_carried {
            comment(&mut s, &format!("  {}: {}", n.path, n.why));
        }
    }
    s.push_str("\n[server]\n");
    let names: Vec<String> = m.interfaces.iter().map(|i| quote(i)).collect();
    let _ = writeln!(s, "interfaces = [{}]", names.join(", "));
    s.push_str("workers = 0                      # one worker per core\n");
    match &m.server_duid {
        Some(d) => {
            let _ = writeln!(s, "server-duid = {}   # Kea's server-id", quote(&crate::leases::hex_octets(d)));
        }
        None => s.push_str(
            "# server-duid = \"...\"   # set Kea's DUID (kea-dhcp6-serverid) so clients renew here\n",
        ),
    }
    if let Some(rc) = m.rapid_commit {
        let _ = writeln!(s, "rapid-commit = {rc}");
    }
    if let Some(d) = m.decline_hold {
        let _ = writeln!(
            s,
            "decline-hold = {d}             # Kea decline-probation-period"
        );
    }
    s.push_str("\n[storage]\n");
    let _ = writeln!(s, "path = {}", quote(&opts.storage_path));
    s.push_str("durability = \"durable\"\n");
    if !m.lifetimes.is_empty() {
        s.push_str("\n[lifetimes]\n");
        lifetimes(&mut s, &m.lifetimes);
    }
    if !m.options.is_empty() {
        s.push_str("\n[options]\n");
        options(&mut s, &m.options);
    }
    for sub in &m.subnets {
        subnet(&mut s, sub);
    }
    s
}

fn subnet(s: &mut String, sub: &Subnet) {
    let _ = write!(
        s,
        "\n# --- Subnet {} ({}), from Kea {} ",
        sub.id, sub.prefix, sub.source
    );
    let used = s.lines().last().map_or(0, str::len);
    s.push_str(&"-".repeat(COMMENT_WIDTH.saturating_sub(used)));
    s.push('\n');
    for note in &sub.notes {
        comment(s, note);
    }
    s.push_str("[[subnet]]\n");
    let _ = writeln!(s, "id = {}", sub.id);
    let _ = writeln!(s, "prefix = {}", quote(&sub.prefix));
    if let Some(i) = &sub.interface {
        let _ = writeln!(s, "interface = {}", quote(i));
    }
    if let Some(rc) = sub.rapid_commit {
        let _ = writeln!(s, "rapid-commit = {rc}");
    }
    let pools: Vec<String> = sub
        .pools
        .iter()
        .map(|(a, b)| quote(&format!("{a}-{b}")))
        .collect();
    if !pools.is_empty() {
        let _ = writeln!(s, "pools = [{}]", pools.join(", "));
    }
    let pd: Vec<String> = sub
        .pd_pools
        .iter()
        .map(|(p, l, d)| {
            format!(
                "{{ prefix = {}, delegated-length = {d} }}",
                quote(&format!("{p}/{l}"))
            )
        })
        .collect();
    if !pd.is_empty() {
        let _ = writeln!(s, "pd-pools = [{}]", pd.join(", "));
    }
    if !sub.lifetimes.is_empty() {
        s.push_str("[subnet.lifetimes]\n");
        lifetimes(s, &sub.lifetimes);
    }
    if !sub.options.is_empty() {
        s.push_str("[subnet.options]\n");
        options(s, &sub.options);
    }
    for r in &sub.reservations {
        s.push_str("[[subnet.reservation]]\n");
        let _ = writeln!(s, "duid = {}", quote(&crate::leases::hex_octets(&r.duid)));
        if !r.addresses.is_empty() {
            let a: Vec<String> = r.addresses.iter().map(|a| quote(&a.to_string())).collect();
            let _ = writeln!(s, "addresses = [{}]", a.join(", "));
        }
        if !r.prefixes.is_empty() {
            let p: Vec<String> = r.prefixes.iter().map(|p| quote(p)).collect();
            let _ = writeln!(s, "prefixes = [{}]", p.join(", "));
        }
        if let Some(h) = &r.hostname {
            let _ = writeln!(s, "hostname = {}", quote(h));
        }
    }
}

fn lifetimes(s: &mut String, l: &Lifetimes) {
    for (key, value, kea) in [
        ("preferred", l.preferred, "preferred-lifetime"),
        ("valid", l.valid, "valid-lifetime"),
        ("t1", l.t1, "renew-timer"),
        ("t2", l.t2, "rebind-timer"),
    ] {
        if let Some(v) = value {
            let line = format!("{key} = {v}");
            let _ = writeln!(s, "{line:<33}# Kea {kea}");
        }
    }
}

fn options(s: &mut String, o: &Options) {
    if !o.dns_servers.is_empty() {
        let a: Vec<String> = o
            .dns_servers
            .iter()
            .map(|a| quote(&a.to_string()))
            .collect();
        let _ = writeln!(s, "dns-servers = [{}]", a.join(", "));
    }
    if !o.domain_search.is_empty() {
        let d: Vec<String> = o.domain_search.iter().map(|d| quote(d)).collect();
        let _ = writeln!(s, "domain-search = [{}]", d.join(", "));
    }
    if let Some(p) = o.preference {
        let _ = writeln!(s, "preference = {p}");
    }
    if let Some(v) = o.sol_max_rt {
        let _ = writeln!(s, "sol-max-rt = {v}");
    }
    if let Some(v) = o.information_refresh_time {
        let _ = writeln!(s, "information-refresh-time = {v}");
    }
}

/// `text` as `# ` comment lines wrapped at [`COMMENT_WIDTH`], line breaks and control
/// characters replaced so nothing escapes the comment.
fn comment(s: &mut String, text: &str) {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let indent = clean.len() - clean.trim_start().len();
    let mut line = " ".repeat(indent);
    let mut has_word = false;
    for word in clean.split_whitespace() {
        if has_word && 2 + line.len() + 1 + word.len() > COMMENT_WIDTH {
            let _ = writeln!(s, "# {line}");
            line = " ".repeat(indent + 2);
            has_word = false;
        }
        if has_word {
            line.push(' ');
        }
        line.push_str(word);
        has_word = true;
    }
    let _ = writeln!(s, "{}", format!("# {line}").trim_end());
}

/// A TOML basic string: JSON string escapes are valid TOML escapes.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_wrap_and_never_break_out() {
        let mut s = String::new();
        comment(&mut s, &format!("  a.path: {}\nwhy", "word ".repeat(40)));
        for line in s.lines() {
            assert!(line.starts_with("# "), "{line:?}");
            assert!(line.len() <= COMMENT_WIDTH, "{line:?}");
        }
        assert!(s.starts_with("#   a.path: word"), "{s}");
        assert!(s.lines().nth(1).unwrap().starts_with("#     word"), "{s}");
        assert_eq!(quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
    }
}
