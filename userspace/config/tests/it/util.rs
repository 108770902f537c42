//! Helpers: expected error lines are marked in the test text with a `# <-` comment.

use tandem_config::{parse, Config, ConfigError};

/// `[server]` and `[storage]` that every test text starts from (lines 1..=4).
pub(crate) const HEAD: &str = "[server]\n\
                               interfaces = [\"eth0\", \"eth1\"]\n\
                               [storage]\n\
                               path = \"/tmp/tandem-test\"\n";

pub(crate) fn ok(text: &str) -> Config {
    parse(text, "t.toml").unwrap_or_else(|e| panic!("{e}\n--- text:\n{text}"))
}

/// Parses `text`, expects an error on the line marked `# <-` naming `key`, with `part` in its
/// message, and checks the exact `FILE:LINE: key `KEY`: MESSAGE` layout.
pub(crate) fn fails(text: &str, key: &str, part: &str) -> ConfigError {
    let line = text
        .lines()
        .position(|l| l.contains("# <-"))
        .map(|i| i + 1)
        .expect("test text marks the expected line with `# <-`");
    let Err(e) = parse(text, "t.toml") else {
        panic!("expected an error at line {line}, key {key}; parsed fine:\n{text}")
    };
    let shown = e.to_string();
    assert_eq!(e.line(), Some(line), "{shown}");
    assert_eq!(e.key(), Some(key), "{shown}");
    assert!(shown.contains(part), "`{part}` not in: {shown}");
    assert_eq!(shown, format!("t.toml:{line}: key `{key}`: {}", e.kind()));
    e
}
