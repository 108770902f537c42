//! Syntax, schema and read errors: each names the file, the line and (where there is one) the
//! key path.

use tandem_config::{load, parse, ErrorKind};

use crate::util::{fails, HEAD};

#[test]
fn wrong_type_names_the_value() {
    let text =
        "[server]\ninterfaces = [\"eth0\"]\nworkers = \"two\" # <-\n[storage]\npath = \"/x\"\n";
    let e = fails(text, "server.workers", "invalid type: string \"two\"");
    assert!(matches!(e.kind(), ErrorKind::Parse(_)));
}

#[test]
fn wrong_type_in_an_array_names_the_element() {
    let text = format!("{HEAD}[options]\ndns-servers = [\n\"2001:db8::1\",\n\"not-v6\", # <-\n]\n");
    fails(&text, "options.dns-servers[1]", "invalid IPv6 address");
}

#[test]
fn out_of_range_integer() {
    let text = format!(
        "{HEAD}[[subnet]]\nid = 1\nprefix = \"2001:db8::/64\"\n\
         pd-pools = [{{ prefix = \"2001:db8:8000::/40\", delegated-length = 300 }}] # <-\n"
    );
    fails(&text, "subnet[0].pd-pools[0].delegated-length", "300");
    let text = format!("{HEAD}[lifetimes]\nvalid = -1 # <-\n");
    fails(&text, "lifetimes.valid", "-1");
}

#[test]
fn unknown_enum_variant() {
    let text = "[server]\ninterfaces = [\"eth0\"]\n[storage]\npath = \"/x\"\n\
                durability = \"sometimes\" # <-\n";
    fails(text, "storage.durability", "unknown variant `sometimes`");
}

#[test]
fn unknown_key_deep_inside() {
    let text = format!(
        "{HEAD}[[subnet]]\nid = 1\nprefix = \"2001:db8::/64\"\n[[subnet.reservation]]\n\
         duid = \"0001\"\nadress = [\"2001:db8::5\"] # <-\n"
    );
    fails(
        &text,
        "subnet[0].reservation[0].adress",
        "unknown field `adress`",
    );
}

#[test]
fn missing_key_is_named() {
    let text = "[server] # <-\n[storage]\npath = \"/x\"\n";
    fails(text, "server.interfaces", "missing field `interfaces`");
    let text = format!("{HEAD}[[subnet]] # <-\nid = 1\n");
    fails(&text, "subnet[0].prefix", "missing field `prefix`");
}

#[test]
fn missing_table_is_named() {
    let e = parse("[server]\ninterfaces = [\"eth0\"]\n", "t.toml").unwrap_err();
    assert_eq!(e.key(), Some("storage"), "{e}");
    assert!(
        e.to_string()
            .starts_with("t.toml:1: key `storage`: missing field `storage`"),
        "{e}"
    );
}

#[test]
fn syntax_error_has_a_line() {
    let text = format!("{HEAD}[lifetimes]\nvalid = \n");
    let e = parse(&text, "t.toml").unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Parse(_)), "{e}");
    assert_eq!(e.line(), Some(6), "{e}");
    // The parser's multi-line message ("invalid string\nexpected ...") is shown on one line.
    assert!(
        e.to_string()
            .starts_with("t.toml:6: invalid string: expected "),
        "{e}"
    );
    assert_eq!(e.to_string().lines().count(), 1, "{e}");
}

#[test]
fn duplicate_key_is_a_syntax_error() {
    let text = format!("{HEAD}[lifetimes]\nvalid = 1\nvalid = 2 # <-\n");
    let e = parse(&text, "t.toml").unwrap_err();
    assert_eq!(e.line(), Some(7), "{e}");
}

#[test]
fn unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");
    let e = load(&path).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Read(_)));
    assert_eq!((e.line(), e.key()), (None, None));
    assert!(e
        .to_string()
        .starts_with(&format!("{}: cannot read the file: ", path.display())));
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn load_reads_a_file_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(
        &path,
        format!("{HEAD}[lifetimes]\npreferred = 9\nvalid = 8\n"),
    )
    .unwrap();
    let e = load(&path).unwrap_err();
    assert!(e
        .to_string()
        .starts_with(&format!("{}:7: key `lifetimes.valid`: ", path.display())));
    std::fs::write(&path, HEAD).unwrap();
    assert!(load(&path).is_ok());
}
