//! `[datapath]`: how packets reach the workers (XDP steering or sockets).

use std::path::PathBuf;

use tandem_config::{DatapathMode, DatapathSettings, XdpAttach};

use crate::util::{fails, ok, HEAD};

#[test]
fn absent_means_auto_with_no_limit() {
    assert_eq!(ok(HEAD).datapath, DatapathSettings::default());
    let d = DatapathSettings::default();
    assert_eq!(
        (d.mode, d.xdp_attach, d.rate_limit_per_source, d.xdp_object),
        (DatapathMode::Auto, XdpAttach::Auto, 0, None)
    );
}

#[test]
fn every_key_is_read_and_relative_objects_follow_the_file() {
    let text = format!(
        "{HEAD}[datapath]\nmode = \"xdp\"\nxdp-object = \"ebpf/tandem-xdp\"\n\
         xdp-attach = \"generic\"\nrate-limit-per-source = 50\n"
    );
    let c = tandem_config::parse(&text, "/etc/tandem/tandem.toml").unwrap();
    assert_eq!(
        c.datapath,
        DatapathSettings {
            mode: DatapathMode::Xdp,
            xdp_object: Some(PathBuf::from("/etc/tandem/ebpf/tandem-xdp")),
            xdp_attach: XdpAttach::Generic,
            rate_limit_per_source: 50,
        }
    );
    let socket = ok(&format!("{HEAD}[datapath]\nmode = \"socket\"\n"));
    assert_eq!(socket.datapath.mode, DatapathMode::Socket);
}

#[test]
fn bad_values_are_named() {
    fails(
        &format!("{HEAD}[datapath]\nxdp-object = \"  \" # <-\n"),
        "datapath.xdp-object",
        "the xdp-object path is empty",
    );
    assert!(
        tandem_config::parse(&format!("{HEAD}[datapath]\nmode = \"fast\"\n"), "t.toml")
            .unwrap_err()
            .to_string()
            .contains("mode")
    );
    assert!(
        tandem_config::parse(&format!("{HEAD}[datapath]\nturbo = true\n"), "t.toml")
            .unwrap_err()
            .to_string()
            .contains("turbo")
    );
}
