//! Which link (configured subnet) a client is on [RFC 8415 §13.1], and prefix arithmetic.
//!
//! Relayed message: the subnet whose prefix holds the innermost relay's link-address (longest
//! prefix wins). A relay that leaves link-address unspecified (`::`, which RFC 8415 §19.1.1
//! allows for a relay that is not on the client's link, e.g. a second-hop relay or a
//! Lightweight DHCPv6 Relay Agent) does not name the link, so the next relay outwards is asked,
//! and when no relay names it, the interface the server received the datagram on. A link-address
//! that is set but lies in no subnet means "unknown link": no fallback, the packet is dropped
//! (`no_subnet`).
//!
//! Direct message: the subnet bound to the receiving interface ([`crate::Engine::bind_interface`]).

use std::net::Ipv6Addr;

use tandem_wire::RelayChain;

use crate::compile::Link;

/// Network mask of a prefix length (lengths above 128 act as 128).
pub(crate) fn prefix_mask(len: u8) -> u128 {
    match len {
        0 => 0,
        1..=127 => u128::MAX << (128 - u32::from(len)),
        _ => u128::MAX,
    }
}

/// Does `prefix/len` contain `addr`?
pub(crate) fn prefix_contains(prefix: u128, len: u8, addr: u128) -> bool {
    let mask = prefix_mask(len);
    addr & mask == prefix & mask
}

/// The link with the longest prefix holding `addr`.
pub(crate) fn link_of_address(links: &[Link], addr: Ipv6Addr) -> Option<usize> {
    let a = u128::from(addr);
    let mut best: Option<(usize, u8)> = None;
    for (i, link) in links.iter().enumerate() {
        if !prefix_contains(link.prefix, link.prefix_len, a) {
            continue;
        }
        if best.is_none_or(|(_, len)| link.prefix_len > len) {
            best = Some((i, link.prefix_len));
        }
    }
    best.map(|(i, _)| i)
}

/// The link of a message: see the module documentation for the rules.
pub(crate) fn select_link(
    links: &[Link],
    interfaces: &[(u32, usize)],
    chain: &RelayChain<'_>,
    ifindex: u32,
) -> Option<usize> {
    for hop in chain.hops().iter().rev() {
        if !hop.link_address.is_unspecified() {
            return link_of_address(links, hop.link_address);
        }
    }
    interfaces
        .iter()
        .find(|&&(index, _)| index == ifindex)
        .map(|&(_, link)| link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(prefix_mask(0), 0);
        assert_eq!(prefix_mask(128), u128::MAX);
        assert_eq!(prefix_mask(200), u128::MAX);
        assert_eq!(prefix_mask(64), u128::MAX << 64);
        assert_eq!(prefix_mask(1), 1u128 << 127);
    }

    #[test]
    fn containment() {
        let p = u128::from("2001:db8:1::".parse::<Ipv6Addr>().unwrap());
        let inside = u128::from("2001:db8:1::42".parse::<Ipv6Addr>().unwrap());
        let outside = u128::from("2001:db8:2::42".parse::<Ipv6Addr>().unwrap());
        assert!(prefix_contains(p, 64, inside));
        assert!(!prefix_contains(p, 64, outside));
        assert!(prefix_contains(p, 0, outside));
        assert!(prefix_contains(inside, 128, inside));
        assert!(!prefix_contains(inside, 128, p));
    }
}
