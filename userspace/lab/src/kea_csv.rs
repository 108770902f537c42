//! Kea's memfile lease file (`leases6` CSV), read as the live set of leases.
//!
//! The file is an append log: the last line for an (address, lease type) wins and a line with
//! valid lifetime 0 is a deletion. Columns (Kea 2.2): `address,duid,valid_lifetime,expire,
//! subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,...`.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use crate::subject::{LeaseKind, StoredLease};

/// Parses the CSV into live leases (state 0, valid lifetime > 0), ordered by kind and address.
pub fn parse(text: &str) -> Result<Vec<StoredLease>> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Ok(Vec::new());
    };
    let cols: Vec<&str> = header.split(',').collect();
    let col = |name: &str| {
        cols.iter()
            .position(|c| *c == name)
            .with_context(|| format!("no column {name}"))
    };
    let (c_addr, c_duid, c_valid, c_exp) = (
        col("address")?,
        col("duid")?,
        col("valid_lifetime")?,
        col("expire")?,
    );
    let (c_pref, c_type, c_iaid, c_plen, c_state) = (
        col("pref_lifetime")?,
        col("lease_type")?,
        col("iaid")?,
        col("prefix_len")?,
        col("state")?,
    );
    let mut live = BTreeMap::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let get = |i: usize| {
            f.get(i)
                .copied()
                .with_context(|| format!("short line {line}"))
        };
        let kind = match get(c_type)? {
            "0" => LeaseKind::Na,
            "2" => LeaseKind::Pd,
            _ => continue,
        };
        let address: std::net::Ipv6Addr = get(c_addr)?.parse()?;
        let valid: u32 = get(c_valid)?.parse()?;
        let state = get(c_state)?;
        let expires_at: u64 = get(c_exp)?.parse()?;
        if valid == 0 || state != "0" {
            live.remove(&(kind, address));
            continue;
        }
        let lease = StoredLease {
            kind,
            address,
            prefix_len: get(c_plen)?.parse()?,
            duid: get(c_duid)?.replace(':', "").to_ascii_lowercase(),
            iaid: get(c_iaid)?.parse()?,
            preferred: get(c_pref)?.parse()?,
            valid,
            // Kea stores the expiry; its cltt is expiry minus the valid lifetime.
            cltt: expires_at.saturating_sub(u64::from(valid)),
            expires_at,
            state: "bound".to_owned(),
        };
        live.insert((kind, address), lease);
    }
    Ok(live.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HDR: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source\n";

    #[test]
    fn last_record_wins_and_zero_valid_deletes() {
        let t = format!(
            "{HDR}2001:db8:1::1000,00:01:02,4000,100,1,3000,0,7,128,0,0,,,0,,,\n\
             2001:db8:8000::,00:01:02,4000,100,1,3000,2,9,56,0,0,,,0,,,\n\
             2001:db8:1::1000,00:01:02,4000,5200,1,3000,0,7,128,0,0,,,0,,,\n\
             2001:db8:1::1001,00:01:03,4000,100,1,3000,0,7,128,0,0,,,0,,,\n\
             2001:db8:1::1001,00:01:03,0,100,1,3000,0,7,128,0,0,,,0,,,\n"
        );
        let v = parse(&t).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].expires_at, v[0].cltt), (5200, 1200));
        assert_eq!(v[0].duid, "000102");
        assert_eq!(v[1].kind, LeaseKind::Pd);
        assert_eq!(v[1].prefix_len, 56);
        assert_eq!(v[1].iaid, 9);
    }
}
