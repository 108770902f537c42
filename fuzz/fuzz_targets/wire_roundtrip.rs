//! parse → emit → parse: every packet that `PacketRepr` accepts is re-emitted byte for byte,
//! and the re-emitted bytes parse to the same representation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_wire::PacketRepr;

fuzz_target!(|data: &[u8]| {
    let Ok(repr) = PacketRepr::parse(data) else {
        return;
    };
    assert_eq!(repr.buffer_len(), data.len());
    let mut out = vec![0u8; repr.buffer_len()];
    let n = repr.emit(&mut out).expect("emit into buffer_len() bytes");
    assert_eq!(&out[..n], data, "emit must reproduce the input");
    let again = PacketRepr::parse(&out[..n]).expect("re-emitted bytes parse");
    assert_eq!(again.relays().len(), repr.relays().len());
    assert_eq!(again.message.msg_type, repr.message.msg_type);
    assert_eq!(again.message.xid, repr.message.xid);
    assert_eq!(
        again.message.options.as_bytes(),
        repr.message.options.as_bytes()
    );
    if n > 0 {
        assert!(
            repr.emit(&mut out[..n - 1]).is_err(),
            "a short buffer must be refused"
        );
    }
});
