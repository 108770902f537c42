//! The shim's verdicts on pcaps made offline from the golden failover frames (good, then with
//! corrupted lengths), with our shim and with `shared/tools/fo6.lua` where it exists; and one
//! live capture of the partner link.

use std::path::PathBuf;

use tandem_wire::failover::testdata::{ALL, BNDUPD, CONNECT, CONTACT, STATE};

use super::*;
use crate::pair::{Partners, PARTNER_IF};
use crate::test_support::{tcp_listen, tcp_send};

fn verdict(dir: &Path, name: &str, segments: &[&[u8]], shim: Option<&Path>) -> FailoverVerdict {
    let pcap = dir.join(format!("{name}.pcap"));
    stream_pcap(segments, &pcap).unwrap();
    failover_verdict(&pcap, shim).unwrap()
}

/// CONNECT with the length of its first option (F_PROTOCOL_VERSION, 4 octets) set to `len`.
fn connect_with_version_len(len: u16) -> Vec<u8> {
    let mut c = CONNECT.to_vec();
    assert_eq!(
        &c[10..14],
        &[0x00, 0x7f, 0x00, 0x04],
        "layout of the golden CONNECT"
    );
    c[12..14].copy_from_slice(&len.to_be_bytes());
    c
}

/// `shared/tools/fo6.lua` beside the repository (as in CI and on the developers' machines).
fn shared_shim() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/fo6.lua");
    p.is_file().then_some(p)
}

#[test]
fn golden_frames_decode_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let v = verdict(dir.path(), "good", &[CONTACT, CONNECT], None);
    assert_eq!(
        v,
        FailoverVerdict {
            decoded_frames: 2,
            malformed_frames: 0
        }
    );
    let all: Vec<&[u8]> = ALL.iter().map(|(_, b)| *b).collect();
    let v = verdict(dir.path(), "all", &all, None);
    assert_eq!(v.decoded_frames, ALL.len());
    assert_eq!(v.malformed_frames, 0);
    // Two messages in one segment, and one message split over two segments.
    let both = [CONTACT, CONNECT].concat();
    let (head, tail) = CONNECT.split_at(7);
    let v = verdict(dir.path(), "joined", &[&both, head, tail], None);
    assert_eq!(v.malformed_frames, 0);
    assert_eq!(
        v.decoded_frames, 2,
        "the split CONNECT decodes once reassembled"
    );
}

#[test]
fn corrupted_option_lengths_are_malformed() {
    let dir = tempfile::tempdir().unwrap();
    // Wrong length for a fixed-size failover option: Wireshark's dhcpv6 dissector flags it.
    let wrong = connect_with_version_len(2);
    let v = verdict(dir.path(), "wrong", &[CONTACT, &wrong], None);
    assert_eq!(v.malformed_frames, 1, "{v:?}");
    assert_eq!(
        failover_malformed(&dir.path().join("wrong.pcap"), None).unwrap(),
        1
    );
    // A length running past the message: the shim flags it.
    let past = connect_with_version_len(0x40);
    let v = verdict(dir.path(), "past", &[CONTACT, &past, CONTACT], None);
    assert_eq!(v.malformed_frames, 1, "{v:?}");
    assert_eq!(
        v.decoded_frames, 3,
        "the stream stays in step after a bad message"
    );
    // The last option one octet longer than what is left.
    let mut last = CONNECT.to_vec();
    let at = last.len() - 15;
    assert_eq!(&last[at..at + 4], &[0x00, 0x82, 0x00, 0x0b]);
    last[at + 3] = 0x0c;
    let v = verdict(dir.path(), "last", &[&last], None);
    assert_eq!(v.malformed_frames, 1, "{v:?}");
}

#[test]
fn nested_options_overrunning_their_container_are_malformed() {
    let dir = tempfile::tempdir().unwrap();
    // BNDUPD: CLIENT_DATA (at 10) holds CLIENTID (at 14, 14 octets) … IA_NA (at 64) → IAADDR
    // (at 80) → F_DNS_REMOVAL_INFO (116, at 180) → F_DNS_FLAGS (119, at 215, 2 octets).
    for (at, code, len) in [(14, 1u16, 14u16), (215, 119, 2)] {
        let mut b = BNDUPD.to_vec();
        assert_eq!(
            &b[at..at + 2],
            &code.to_be_bytes(),
            "layout of the golden BNDUPD"
        );
        assert_eq!(&b[at + 2..at + 4], &len.to_be_bytes());
        b[at + 2..at + 4].copy_from_slice(&(len + 1).to_be_bytes());
        let v = verdict(dir.path(), &format!("nested{at}"), &[BNDUPD, &b], None);
        assert_eq!(
            v,
            FailoverVerdict {
                decoded_frames: 2,
                malformed_frames: 1
            },
            "option {code} at {at}"
        );
    }
}

#[test]
fn messages_shorter_than_their_header_are_malformed() {
    let dir = tempfile::tempdir().unwrap();
    // STATE (type 34) needs 8 header octets; this one has 5.
    let short_state: &[u8] = &[0x00, 0x05, 0x22, 0x00, 0x00, 0x03, 0x32];
    let v = verdict(dir.path(), "short", &[STATE, short_state], None);
    assert_eq!(v.malformed_frames, 1, "{v:?}");
    // REPLY (type 7) has the short 4-octet header, so 4 octets are a whole message.
    let reply: &[u8] = &[0x00, 0x04, 0x07, 0x00, 0x00, 0x01];
    let v = verdict(dir.path(), "reply", &[reply], None);
    assert_eq!(
        v,
        FailoverVerdict {
            decoded_frames: 1,
            malformed_frames: 0
        }
    );
}

#[test]
fn the_shared_shim_gives_the_same_verdicts_when_present() {
    let Some(shim) = shared_shim() else {
        println!("shared/tools/fo6.lua not found: nothing to compare with");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let v = verdict(dir.path(), "good", &[CONTACT, CONNECT], Some(&shim));
    assert_eq!(
        v,
        FailoverVerdict {
            decoded_frames: 2,
            malformed_frames: 0
        }
    );
    let wrong = connect_with_version_len(2);
    let v = verdict(dir.path(), "wrong", &[CONTACT, &wrong], Some(&shim));
    assert_eq!(v.malformed_frames, 1, "{v:?}");
    let pcap = dir.path().join("wrong.pcap");
    assert_eq!(failover_malformed(&pcap, Some(&shim)).unwrap(), 1);
}

#[test]
fn a_missing_shim_is_an_error_not_a_clean_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("x.pcap");
    stream_pcap(&[CONTACT], &pcap).unwrap();
    let err = failover_malformed(&pcap, Some(&dir.path().join("nope.lua"))).unwrap_err();
    assert!(err.to_string().contains("no Lua shim"), "{err}");
    assert!(stream_pcap(&[&[]], &pcap).is_err());
}

#[test]
fn hex_dump_restarts_offsets_per_segment() {
    let seg: Vec<u8> = (0u8..18).collect();
    let text = hex_dump(&[&seg, &[0xab]]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("000000 00 01 02"), "{}", lines[0]);
    assert_eq!(lines[1], "000010 10 11");
    assert_eq!(lines[2], "000000 ab");
}

#[test]
fn live_partner_capture_is_judged() {
    crate::preflight().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = Partners::new().unwrap();
    let _l = tcp_listen(&p.secondary, SECONDARY_FO_ADDR, FAILOVER_PORT, dir.path());
    let mut cap = Capture::start_partner(&p.primary, PARTNER_IF, dir.path(), "fo").unwrap();
    let stream = [CONTACT, CONNECT].concat();
    tcp_send(&p.primary, SECONDARY_FO_ADDR, FAILOVER_PORT, &stream);
    let pcap = cap.stop().unwrap();
    let v = failover_verdict(&pcap, None).unwrap();
    assert!(v.decoded_frames >= 1, "{v:?}");
    assert_eq!(v.malformed_frames, 0, "{v:?}");
}
