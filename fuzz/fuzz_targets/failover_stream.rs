//! The RFC 8156 failover stream: the input is fed to a `Deframer` in chunks whose sizes cycle
//! through values taken from the first four input octets (the octets are still part of the
//! stream, so the seed corpus is plain failover traffic). Every message yielded must equal
//! what a one-shot deframe of the whole input yields, must re-emit byte for byte through
//! `FailoverRepr`, and every typed option view runs on every option, descending into
//! CLIENT_DATA, IA options, IAADDR/IAPREFIX and F_DNS_REMOVAL_INFO. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_wire::failover::{
    has_sent_time, header_len, validate_failover_options, BindingStatus, ClientData, ConnectFlags,
    Deframer, DnsFlags, DnsName, DnsRemovalInfo, FailoverMessage, FailoverRepr, FailoverTime,
    FrameError, ProtocolVersion, ReconfigureData, RelationshipName, ServerFlags, ServerState,
};
use tandem_wire::{parse_u32, IaAddr, IaNa, IaPd, IaPrefix, IaTa, Options, StatusCodeOption};

/// Applies every view to every option, descending up to `depth` container levels.
fn touch(options: Options<'_>, depth: u8) {
    for opt in options.iter() {
        let d = opt.data;
        let _ = (
            BindingStatus::parse(d),
            ServerState::parse(d),
            ConnectFlags::parse(d).map(ConnectFlags::fixed_pd_length),
            DnsFlags::parse(d).map(|f| f.contains(DnsFlags::SYNTHESIZED)),
            ServerFlags::parse(d).map(|f| f.contains(ServerFlags::STARTUP)),
            FailoverTime::parse(d).map(|t| t.delta_s(FailoverTime(0))),
            ProtocolVersion::parse(d).map(ProtocolVersion::to_bytes),
            parse_u32(d),
        );
        if let Ok(v) = ReconfigureData::parse(d) {
            assert_eq!(4 + v.key().len(), d.len());
            let _ = v.time();
        }
        if let Ok(v) = RelationshipName::parse(d) {
            let _ = (v.as_bytes().len(), v.as_str());
        }
        if let Ok(v) = DnsName::parse(d) {
            assert_eq!(v.as_bytes().len(), d.len());
            let _ = v.is_fully_qualified();
        }
        if let Ok(v) = StatusCodeOption::parse(d) {
            let _ = (v.code(), v.message().len());
        }
        if depth == 0 {
            continue;
        }
        if let Ok(v) = ClientData::parse(d) {
            touch(v.options(), depth - 1);
        }
        if let Ok(v) = DnsRemovalInfo::parse(d) {
            touch(v.options(), depth - 1);
        }
        if let Ok(v) = IaNa::parse(d) {
            let _ = (v.iaid(), v.t1(), v.t2());
            touch(v.options(), depth - 1);
        }
        if let Ok(v) = IaPd::parse(d) {
            let _ = (v.iaid(), v.t1(), v.t2());
            touch(v.options(), depth - 1);
        }
        if let Ok(v) = IaTa::parse(d) {
            let _ = v.iaid();
            touch(v.options(), depth - 1);
        }
        if let Ok(v) = IaAddr::parse(d) {
            let _ = (v.addr(), v.preferred(), v.valid());
            touch(v.options(), depth - 1);
        }
        if let Ok(v) = IaPrefix::parse(d) {
            let _ = (v.prefix(), v.prefix_len(), v.preferred(), v.valid());
            touch(v.options(), depth - 1);
        }
    }
}

/// Checks one yielded message and returns its bytes.
fn check(m: FailoverMessage<'_>) -> Vec<u8> {
    let bytes = m.as_bytes();
    assert!(bytes.len() >= header_len(m.msg_type()));
    assert_eq!(m.sent_time().is_some(), has_sent_time(m.msg_type()));
    let _ = m.xid().to_u32();
    let repr = FailoverRepr::parse(bytes).expect("a yielded message parses again");
    let mut out = vec![0u8; repr.buffer_len()];
    let n = repr.emit(&mut out).expect("emit into buffer_len() bytes");
    assert_eq!(n, bytes.len() + 2);
    assert_eq!(&out[2..n], bytes, "emit must reproduce the message");
    assert_eq!(
        usize::from(u16::from_be_bytes([out[0], out[1]])),
        bytes.len()
    );
    let _ = validate_failover_options(m.options());
    touch(m.options(), 4);
    bytes.to_vec()
}

/// Deframes `data` in chunks of the given sizes (cycled); returns the messages (or, for a
/// malformed frame, `None`) and the final sticky error, if any. Continues past malformed
/// frames, which keep the stream in sync.
fn run(
    d: &mut Deframer,
    data: &[u8],
    sizes: &[usize],
) -> (Vec<Option<Vec<u8>>>, Option<FrameError>) {
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    loop {
        loop {
            match d.next_message() {
                Ok(Some(m)) => out.push(Some(check(m))),
                Ok(None) => break,
                Err(FrameError::Malformed(_)) => out.push(None),
                Err(e) => return (out, Some(e)),
            }
        }
        if rest.is_empty() {
            return (out, None);
        }
        let want = sizes[i % sizes.len()].min(rest.len());
        i += 1;
        let n = match d.push(&rest[..want]) {
            Ok(n) => n,
            Err(e) => return (out, Some(e)),
        };
        assert!(n <= want);
        rest = &rest[n..];
    }
}

fuzz_target!(|data: &[u8]| {
    let sizes: Vec<usize> = data
        .iter()
        .take(4)
        .map(|&b| 1 + usize::from(b) * usize::from(b) / 64)
        .collect();
    let sizes = if sizes.is_empty() { vec![1] } else { sizes };
    let whole = run(&mut Deframer::new(), data, &[usize::MAX]);
    let chunked = run(&mut Deframer::new(), data, &sizes);
    assert_eq!(whole, chunked, "chunking must not change the messages");
    // A small buffer: the same messages up to the first one that does not fit.
    let max = 6 + usize::from(data.first().copied().unwrap_or(0));
    let mut small = Deframer::with_max_frame_len(max);
    let (msgs, err) = run(&mut small, data, &sizes);
    assert!(msgs.len() <= whole.0.len());
    assert_eq!(msgs[..], whole.0[..msgs.len()]);
    if msgs.len() < whole.0.len() {
        assert!(matches!(err, Some(FrameError::TooLong { .. })), "{err:?}");
    }
    assert!(small.buffered_len() <= small.max_frame_len());
});
