//! A raw option builder for tests that must break exactly one layout rule, so they cannot go
//! through this crate's encoder.

use super::{addr, DUID, T0};

pub(super) fn o(code: u16, data: &[u8]) -> Vec<u8> {
    let mut v = code.to_be_bytes().to_vec();
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    v
}

pub(super) fn u32b(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

/// A framed message of type `t` (xid 1, sent T0) around `options`.
pub(super) fn frame(t: u8, options: &[u8]) -> Vec<u8> {
    let mut m = vec![t, 0, 0, 1];
    m.extend_from_slice(&u32b(T0));
    m.extend_from_slice(options);
    let mut f = (m.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(&m);
    f
}

/// F_BINDING_STATUS ACTIVE, start, and the three (*) options.
pub(super) fn active_opts() -> Vec<u8> {
    [
        o(114, &[1]),
        o(133, &u32b(T0 - 100)),
        o(134, &u32b(T0 + 100)),
        o(123, &u32b(T0 + 200)),
        o(120, &u32b(T0 + 50)),
    ]
    .concat()
}

pub(super) fn iaaddr(sub: &[u8]) -> Vec<u8> {
    let a = [&addr("2001:db8::1").octets()[..], &u32b(10), &u32b(20), sub].concat();
    o(5, &a)
}

pub(super) fn iaprefix(plen: u8, sub: &[u8]) -> Vec<u8> {
    let p = [
        &u32b(10)[..],
        &u32b(20),
        &[plen],
        &addr("2001:db8:ab00::").octets(),
        sub,
    ]
    .concat();
    o(26, &p)
}

pub(super) fn ia_na(sub: &[u8]) -> Vec<u8> {
    o(3, &[&u32b(7)[..], &u32b(100), &u32b(200), sub].concat())
}

pub(super) fn ia_pd(sub: &[u8]) -> Vec<u8> {
    o(25, &[&u32b(8)[..], &u32b(100), &u32b(200), sub].concat())
}

/// CLIENT_DATA with CLIENTID, LQ_BASE_TIME and `rest`.
pub(super) fn client(rest: &[u8]) -> Vec<u8> {
    o(45, &[o(1, DUID), o(100, &u32b(T0)), rest.to_vec()].concat())
}

pub(super) fn good() -> Vec<u8> {
    client(&ia_na(&iaaddr(&active_opts())))
}
