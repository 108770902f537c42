//! Port of hickory-dns's `test_reject_unknown_fields`: for every table of every example config
//! (the root, each `[table]`, each `[[array.table]]` element and each inline table), insert an
//! unknown key and check that loading fails naming that key and its line.

use std::collections::BTreeMap;

use tandem_config::{parse, ErrorKind};

use crate::examples::{config_dir, toml_files};

const UNKNOWN: &str = "unknown-key";

/// The key path a header opens, given the array-of-tables elements seen so far
/// (`[subnet.lifetimes]` after the second `[[subnet]]` is `subnet[1].lifetimes`).
fn header_path(name: &str, aot_counts: &BTreeMap<String, usize>) -> String {
    let segments: Vec<&str> = name.split('.').map(str::trim).collect();
    let mut out = String::new();
    for i in 0..segments.len() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(segments[i]);
        if let Some(n) = aot_counts.get(&segments[..=i].join(".")) {
            out.push_str(&format!("[{}]", n - 1));
        }
    }
    out
}

/// One mutation: the text with an unknown key inserted, and the line and key path expected.
struct Mutant {
    text: String,
    line: usize,
    key: String,
}

fn mutants(text: &str) -> Vec<Mutant> {
    let lines: Vec<&str> = text.lines().collect();
    let with_line_after = |i: usize, new: &str| {
        let mut v: Vec<&str> = lines.clone();
        v.insert(i, new);
        v.join("\n")
    };
    let insert = format!("{UNKNOWN} = 1");
    let mut out = vec![Mutant {
        text: with_line_after(0, &insert),
        line: 1,
        key: UNKNOWN.into(),
    }];
    let mut aot_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut table = String::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix("[[")
            .and_then(|r| r.split("]]").next())
        {
            let name = name.trim().to_owned();
            *aot_counts.entry(name.clone()).or_default() += 1;
            let nested = format!("{name}.");
            aot_counts.retain(|k, _| !k.starts_with(&nested));
            table = header_path(&name, &aot_counts);
        } else if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.split(']').next()) {
            table = header_path(name.trim(), &aot_counts);
        } else {
            // Inline tables: `key = { .. }` or `key = [{ .. }, { .. }]` on one line.
            let Some((key, value)) = trimmed.split_once('=') else {
                continue;
            };
            let key = format!("{table}.{}", key.trim());
            let in_array = value.trim_start().starts_with('[');
            for (n, (at, _)) in line.match_indices('{').enumerate() {
                let mutated = format!("{}{{ {insert},{}", &line[..at], &line[at + 1..]);
                let mut v = lines.clone();
                v[i] = &mutated;
                let key = if in_array {
                    format!("{key}[{n}]")
                } else {
                    key.clone()
                };
                out.push(Mutant {
                    text: v.join("\n"),
                    line: i + 1,
                    key: format!("{key}.{UNKNOWN}"),
                });
            }
            continue;
        }
        let key = format!("{table}.{UNKNOWN}");
        out.push(Mutant {
            text: with_line_after(i + 1, &insert),
            line: i + 2,
            key,
        });
    }
    out
}

#[test]
fn reject_unknown_fields_in_every_table() {
    let mut tables = 0;
    for file in toml_files(&config_dir()) {
        let text = std::fs::read_to_string(&file).unwrap();
        parse(&text, "original.toml").unwrap_or_else(|e| panic!("{e}"));
        for m in mutants(&text) {
            tables += 1;
            let Err(e) = parse(&m.text, "mutant.toml") else {
                panic!("{}: `{}` accepted:\n{}", file.display(), m.key, m.text)
            };
            assert!(matches!(e.kind(), ErrorKind::Parse(_)), "{e}");
            assert!(
                e.to_string()
                    .contains(&format!("unknown field `{UNKNOWN}`")),
                "{e}"
            );
            assert_eq!(
                (e.line(), e.key()),
                (Some(m.line), Some(m.key.as_str())),
                "{e}\n{}",
                m.text
            );
        }
    }
    // standalone.toml alone has root, 5 top-level tables, 2 subnets, 3 subnet sub-tables, a
    // reservation and 2 inline pd-pools.
    assert!(tables >= 14, "only {tables} tables mutated");
}

#[test]
fn mutant_paths_follow_array_elements() {
    let text = "[[subnet]]\n[[subnet]]\n[[subnet.reservation]]\n[subnet.options]\n";
    let keys: Vec<String> = mutants(text).into_iter().map(|m| m.key).collect();
    assert_eq!(
        keys,
        [
            "unknown-key",
            "subnet[0].unknown-key",
            "subnet[1].unknown-key",
            "subnet[1].reservation[0].unknown-key",
            "subnet[1].options.unknown-key",
        ]
    );
}
