//! Writing a [`Plan`] into the caller's buffer, wrapped in one Relay-reply per relay hop.
//!
//! Relay-reply layers are written outermost first, each copying the hop-count, link-address and
//! peer-address of the matching Relay-forw and echoing its Interface-ID [RFC 8415 §19.3, §9.2];
//! the RELAY_MSG lengths are patched from the inside out once the client message is written.
//! Static options are copied from their pre-encoded bytes.

use tandem_wire::{MessageType, OptionCode, RelayChain, Writer, Xid, HOP_COUNT_LIMIT};

use crate::compile::StaticOptions;
use crate::plan::{IaOut, Plan};
use crate::scan::{IaType, Scan, HINTS_PER_IA_MAX};
use crate::DropReason;

const LAYERS_MAX: usize = HOP_COUNT_LIMIT as usize + 1;

/// What the reply builder reads besides the plan.
pub(crate) struct EmitInput<'a> {
    pub(crate) chain: &'a RelayChain<'a>,
    pub(crate) xid: Xid,
    pub(crate) server_id_option: &'a [u8],
    pub(crate) client_id: Option<&'a [u8]>,
    pub(crate) options: &'a StaticOptions,
}

/// Writes the reply; returns its length. Any lack of room is `reply_too_large`.
pub(crate) fn emit(
    out: &mut [u8],
    input: &EmitInput<'_>,
    plan: &Plan<'_>,
) -> Result<usize, DropReason> {
    let mut w = Writer::new(out);
    write_all(&mut w, input, plan).map_err(|_| DropReason::ReplyTooLarge)?;
    Ok(w.finish())
}

fn write_all(
    w: &mut Writer<'_>,
    input: &EmitInput<'_>,
    plan: &Plan<'_>,
) -> tandem_wire::Result<()> {
    let hops = input.chain.hops();
    let mut marks = [const { None }; LAYERS_MAX];
    for (hop, mark) in hops.iter().zip(marks.iter_mut()) {
        w.relay_header(
            MessageType::RelayRepl,
            hop.hop_count,
            hop.link_address,
            hop.peer_address,
        )?;
        if let Some(id) = hop.interface_id {
            w.option(OptionCode::InterfaceId, id)?;
        }
        *mark = Some(w.begin_option(OptionCode::RelayMsg)?);
    }
    write_message(w, input, plan)?;
    for mark in marks.iter_mut().rev() {
        if let Some(m) = mark.take() {
            w.end_option(m)?;
        }
    }
    Ok(())
}

fn write_message(
    w: &mut Writer<'_>,
    input: &EmitInput<'_>,
    plan: &Plan<'_>,
) -> tandem_wire::Result<()> {
    w.message_header(plan.msg_type, input.xid)?;
    w.bytes(input.server_id_option)?;
    if let Some(id) = input.client_id {
        w.option(OptionCode::ClientId, id)?;
    }
    if let Some((code, msg)) = plan.status {
        w.status_code(code, msg)?;
    }
    for ia in plan.ias.iter() {
        write_ia(w, ia, plan)?;
    }
    if plan.rapid_commit {
        w.empty_option(OptionCode::RapidCommit)?;
    }
    let opts = input.options;
    if plan.preference {
        w.bytes(&opts.preference)?;
    }
    if let Some(wants) = plan.wants {
        if wants.dns_servers {
            w.bytes(&opts.dns_servers)?;
        }
        if wants.domain_list {
            w.bytes(&opts.domain_list)?;
        }
        if wants.sol_max_rt {
            w.bytes(&opts.sol_max_rt)?;
        }
        if wants.information_refresh_time && plan.information {
            w.bytes(&opts.information_refresh_time)?;
        }
    }
    if let Some((flags, name)) = plan.fqdn {
        let m = w.begin_option(OptionCode::ClientFqdn)?;
        w.u8(flags)?;
        w.bytes(name)?;
        w.end_option(m)?;
    }
    Ok(())
}

/// IA_NA / IA_TA / IA_PD with their IAADDR / IAPREFIX options and status [RFC 8415 §21.4,
/// §21.5, §21.21, §21.6, §21.22].
fn write_ia(w: &mut Writer<'_>, ia: &IaOut, plan: &Plan<'_>) -> tandem_wire::Result<()> {
    let (t1, t2) = if ia.has_live_lease() {
        (plan.t1_s, plan.t2_s)
    } else {
        (0, 0)
    };
    let code = match ia.ty {
        IaType::Na => OptionCode::IaNa,
        IaType::Ta => OptionCode::IaTa,
        IaType::Pd => OptionCode::IaPd,
    };
    let m = w.begin_option(code)?;
    w.u32(ia.iaid)?;
    if ia.ty != IaType::Ta {
        w.u32(t1)?;
        w.u32(t2)?;
    }
    for l in ia.leases.iter() {
        if ia.ty == IaType::Pd {
            let p = w.begin_option(OptionCode::IaPrefix)?;
            w.u32(l.preferred_s)?;
            w.u32(l.valid_s)?;
            w.u8(l.prefix_len)?;
            w.ipv6(l.addr)?;
            w.end_option(p)?;
        } else {
            let a = w.begin_option(OptionCode::IaAddr)?;
            w.ipv6(l.addr)?;
            w.u32(l.preferred_s)?;
            w.u32(l.valid_s)?;
            w.end_option(a)?;
        }
    }
    if let Some((code, msg)) = ia.status {
        w.status_code(code, msg)?;
    }
    w.end_option(m)
}

/// Longest status message the engine writes (checked by a test on the constants in `plan`).
pub(crate) const STATUS_MESSAGE_LEN_MAX: usize = 32;
/// Largest IA_NA / IA_PD / IA_TA option a plan can hold: header, IAID, T1, T2, the largest
/// lease options (IAPREFIX: 4 + 25) and a status code.
const IA_LEN_MAX: usize = 4 + 12 + HINTS_PER_IA_MAX * (4 + 25) + 4 + 2 + STATUS_MESSAGE_LEN_MAX;

/// An upper bound of the reply's length, known before any lease decision: checked first so a
/// reply that could not fit is dropped before the shard is touched.
pub(crate) fn len_bound(input: &EmitInput<'_>, scan: &Scan<'_>) -> usize {
    let relays: usize = input
        .chain
        .hops()
        .iter()
        .map(|h| 34 + h.interface_id.map_or(0, |id| 4 + id.len()) + 4)
        .sum();
    let o = input.options;
    let statics = o.dns_servers.len()
        + o.domain_list.len()
        + o.preference.len()
        + o.sol_max_rt.len()
        + o.information_refresh_time.len();
    relays
        + 4
        + input.server_id_option.len()
        + input.client_id.map_or(0, |id| 4 + id.len())
        + 4 + 2 + STATUS_MESSAGE_LEN_MAX
        + scan.ias.len() * IA_LEN_MAX
        + 4 // RAPID_COMMIT
        + statics
        + scan.fqdn.map_or(0, |(_, name)| 4 + 1 + name.len())
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use tandem_wire::{RelayHop, StatusCode};

    use super::*;
    use crate::plan::{IaOut, LeaseOut, NO_BINDING};

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn input<'a>(chain: &'a RelayChain<'a>, options: &'a StaticOptions) -> EmitInput<'a> {
        EmitInput {
            chain,
            xid: Xid([1, 2, 3]),
            server_id_option: &[0, 2, 0, 2, 0xaa, 0xbb],
            client_id: Some(&[0xcc]),
            options,
        }
    }

    #[test]
    fn reply_bytes_known_answer() {
        let chain = RelayChain::new();
        let options = StaticOptions::default();
        let mut plan = Plan::new(MessageType::Reply);
        let mut na = IaOut::new(IaType::Na, 7);
        na.leases.push(LeaseOut {
            addr: addr("2001:db8::1"),
            prefix_len: 128,
            preferred_s: 100,
            valid_s: 200,
        });
        plan.push_ia(na);
        plan.push_ia(IaOut::with_status(IaType::Pd, 8, NO_BINDING));
        plan.t1_s = 50;
        plan.t2_s = 80;
        plan.rapid_commit = true;
        let mut out = [0u8; 256];
        let len = emit(&mut out, &input(&chain, &options), &plan).unwrap();
        let mut want = vec![7, 1, 2, 3, 0, 2, 0, 2, 0xaa, 0xbb, 0, 1, 0, 1, 0xcc];
        // IA_NA: iaid 7, T1 50, T2 80, IAADDR 2001:db8::1 100/200.
        want.extend([
            0, 3, 0, 40, 0, 0, 0, 7, 0, 0, 0, 50, 0, 0, 0, 80, 0, 5, 0, 24,
        ]);
        want.extend(addr("2001:db8::1").octets());
        want.extend([0, 0, 0, 100, 0, 0, 0, 200]);
        // IA_PD without leases: T1 = T2 = 0 and NoBinding.
        let msg = b"no binding for this IA";
        want.extend([
            0,
            25,
            0,
            (12 + 6 + msg.len()) as u8,
            0,
            0,
            0,
            8,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ]);
        want.extend([0, 13, 0, (2 + msg.len()) as u8, 0, 3]);
        want.extend(msg);
        want.extend([0, 14, 0, 0]);
        assert_eq!(&out[..len], &want[..]);
    }

    #[test]
    fn relay_reply_layers_wrap_the_message() {
        let mut chain = RelayChain::new();
        for (hop, id) in [(1u8, &b"out"[..]), (0, &b"in"[..])] {
            chain
                .push(RelayHop {
                    hop_count: hop,
                    link_address: addr("2001:db8::1"),
                    peer_address: addr("fe80::1"),
                    interface_id: Some(id),
                    options: tandem_wire::Options::empty(),
                })
                .unwrap();
        }
        let options = StaticOptions::default();
        let mut plan = Plan::new(MessageType::Reply);
        plan.status = Some((StatusCode::Success, "ok"));
        let mut out = [0u8; 512];
        let len = emit(&mut out, &input(&chain, &options), &plan).unwrap();
        let inner_msg_len = 4 + 6 + 5 + 8;
        let inner_relay_len = 34 + 4 + 2 + 4 + inner_msg_len;
        assert_eq!(len, 34 + 4 + 3 + 4 + inner_relay_len);
        assert_eq!((out[0], out[1]), (13, 1));
        // Outer RELAY_MSG length covers the inner relay-reply exactly.
        assert_eq!(&out[34..41], &[0, 18, 0, 3, b'o', b'u', b't']);
        assert_eq!(&out[41..45], &[0, 9, 0, inner_relay_len as u8]);
        assert_eq!((out[45], out[46]), (13, 0));

        let mut small = [0u8; 60];
        assert_eq!(
            emit(&mut small, &input(&chain, &options), &plan),
            Err(DropReason::ReplyTooLarge)
        );
    }

    #[test]
    fn status_messages_fit_the_bound() {
        use crate::plan::*;
        for (_, m) in [
            NO_ADDRS_AVAIL,
            NO_PREFIX_AVAIL,
            NO_BINDING,
            NOT_ON_LINK,
            SUCCESS,
            ALL_ON_LINK,
            USE_MULTICAST,
        ] {
            assert!(m.len() <= STATUS_MESSAGE_LEN_MAX, "{m}");
        }
    }
}
