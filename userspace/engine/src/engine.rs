//! [`Engine`]: one datagram in, one reply (or a drop reason) out.

use std::net::{Ipv6Addr, SocketAddrV6};

use tandem_lease::{PoolDef, Resource, Shard};
use tandem_wire::{unwrap_relays, Error as WireError, MessageType, OptionCode, RelayChain};

use crate::assign::Ctx;
use crate::compile::{compile, Compiled, PolicyError};
use crate::emit::{emit, len_bound, EmitInput};
use crate::exchange::{self, Assign};
use crate::failover::{FailoverView, FoLink};
use crate::link::select_link;
use crate::plan::{Plan, USE_MULTICAST};
use crate::policy::Policy;
use crate::scan::{scan, Scan};
use crate::validate::{check_ids, check_relays, classify, unicast_forbidden};
use crate::DropReason;

/// UDP port of servers and relay agents [RFC 8415 §7.2].
pub const SERVER_PORT: u16 = 547;

/// OPTION_RELAY_SOURCE_PORT [RFC 8357 §5.2]: the relay listens on the port it sent from.
const OPTION_RELAY_SOURCE_PORT: u16 = 135;

/// Where and how a datagram arrived.
#[derive(Debug, Clone, Copy)]
pub struct RxMeta {
    /// Interface the datagram arrived on.
    pub ifindex: u32,
    /// Client (port 546) or relay (port 547) address.
    pub src: SocketAddrV6,
    /// Destination address: ff02::1:2 / ff05::1:3 or a unicast address.
    pub dst: Ipv6Addr,
}

/// A reply written into the caller's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    /// Octets written at the start of `out`.
    pub len: usize,
    /// Where to send it; the scope id is the receiving interface.
    pub dst: SocketAddrV6,
    /// Does the reply tell the client about bindings it may use? Every Reply to a stateful
    /// message does. An Advertise does not: it is no commitment [RFC 8415 §18.3.9, §18.2.1],
    /// nor is a Reply to an Information-request (§18.3.6) or a UseMulticast status (§18.4).
    /// A reply that commits nothing and recorded no change need not wait for the journal.
    pub commits: bool,
    /// The client-level message written: Advertise or Reply, whatever Relay-reply layers
    /// wrap it (counters need not parse the reply again).
    pub msg_type: MessageType,
}

/// The DHCPv6 server core, built once from a [`Policy`]; immutable while serving, cloned into
/// each worker.
#[derive(Debug, Clone)]
pub struct Engine {
    c: Compiled,
    /// (ifindex, link index) of interfaces named by subnets.
    interfaces: Vec<(u32, usize)>,
    /// The failover view last set, and its facts per link (same index as `c.links`).
    failover: Option<FailoverView>,
    fo_links: Vec<Option<FoLink>>,
}

impl Engine {
    /// Validates the policy and pre-encodes every static option.
    pub fn new(policy: Policy) -> Result<Self, PolicyError> {
        let c = compile(policy)?;
        let fo_links = vec![None; c.links.len()];
        Ok(Self {
            c,
            interfaces: Vec::new(),
            failover: None,
            fo_links,
        })
    }

    /// Sets (or clears, with `None`) the failover state of the relationships serving this
    /// server's subnets [RFC 8156 §8]; the server calls it whenever a relationship's state
    /// changes. A subnet id the policy does not know is ignored. Afterwards call
    /// [`Engine::configure_shard`] on every worker's shard (a packet also sets its own subnet's
    /// mode on the shard, but only `configure_shard` takes subnets *out* of failover).
    pub fn set_failover(&mut self, view: Option<FailoverView>) {
        self.fo_links = self
            .c
            .links
            .iter()
            .map(|l| view.as_ref().and_then(|v| v.link(l.id)))
            .collect();
        self.failover = view;
    }

    /// The failover view last set.
    pub fn failover(&self) -> Option<&FailoverView> {
        self.failover.as_ref()
    }

    /// PARTNER-DOWN housekeeping for one shard (RFC 8156 §8.4.1; R56): in every relationship
    /// that has been in PARTNER-DOWN for at least MCLT, frees the Released / Expired leases
    /// whose state began MCLT or more ago (`Shard::free_unacked`). Returns how many; their
    /// Removes are recorded in the shard. Call it periodically (e.g. with expiry).
    pub fn free_unacked(&self, shard: &mut Shard, now: u64) -> usize {
        let Some(view) = &self.failover else {
            return 0;
        };
        let mut freed = 0;
        for rel in &view.relationships {
            if let Some(before) = rel.free_unacked_before(now) {
                let ids: Vec<u32> = rel.subnets.iter().map(|s| s.0).collect();
                freed += shard.free_unacked(&ids, before);
            }
        }
        freed
    }

    /// Puts every subnet of `shard` in the failover mode the current view gives it (this
    /// server's role, or standalone), see `Shard::set_subnet_failover`. Standalone subnets
    /// lose their Released / Expired leases, which no partner will ack (recorded as Removes:
    /// drain and persist them like any other change).
    pub fn configure_shard(&self, shard: &mut Shard) {
        for (link, fo) in self.c.links.iter().zip(&self.fo_links) {
            shard.set_subnet_failover(link.id.0, fo.map(|f| f.shard_role()));
        }
    }

    /// Pool definitions in a stable order (subnets in policy order; address ranges, then prefix
    /// pools, each in policy order), for `Shard::new`.
    pub fn pool_defs(&self) -> &[PoolDef] {
        &self.c.pool_defs
    }

    /// Every reserved address and prefix, in policy order: shards never allocate them.
    pub fn reserved(&self) -> &[Resource] {
        &self.c.reserved
    }

    /// Binds an interface name used in `Subnet::interface` to its ifindex. Directly attached
    /// clients arriving on `ifindex` then belong to the first subnet naming `name`. Calling it
    /// again for the same ifindex replaces the earlier binding.
    pub fn bind_interface(&mut self, name: &str, ifindex: u32) {
        let Some(link) = self
            .c
            .links
            .iter()
            .position(|l| l.interface.as_deref() == Some(name))
        else {
            return;
        };
        self.interfaces.retain(|&(index, _)| index != ifindex);
        self.interfaces.push((ifindex, link));
    }

    /// Handles one datagram received on UDP 547.
    ///
    /// Writes the answer into `out` (size it with [`crate::REPLY_LEN_MAX`]) and says where it
    /// goes, or says why nothing is sent. Lease changes are recorded in `shard`
    /// (`shard.drain_changes()`); make them durable before sending the reply. A dropped packet
    /// leaves `shard` unchanged.
    pub fn handle(
        &self,
        now: u64,
        rx: &RxMeta,
        packet: &[u8],
        shard: &mut Shard,
        out: &mut [u8],
    ) -> Result<Reply, DropReason> {
        let result = self.handle_inner(now, rx, packet, shard, out);
        if let Err(reason) = result {
            tracing::trace!(reason = reason.as_str(), len = packet.len(), "dhcpv6 drop");
        }
        result
    }

    fn handle_inner(
        &self,
        now: u64,
        rx: &RxMeta,
        packet: &[u8],
        shard: &mut Shard,
        out: &mut [u8],
    ) -> Result<Reply, DropReason> {
        let first = *packet.first().ok_or(DropReason::Malformed)?;
        classify(MessageType::from(first))?;
        let (chain, msg) = unwrap_relays(packet).map_err(relay_error)?;
        check_relays(&chain)?;
        let ty = msg.msg_type();
        // unwrap_relays peeled every Relay-forw, so `ty` is a client or server message type.
        classify(ty).map_err(|r| inner_error(&chain, r))?;
        let scan = scan(msg.options())?;
        check_ids(ty, &scan, &self.c.server_duid)?;

        let direct = chain.is_empty();
        let unicast = direct && !rx.dst.is_multicast();
        if unicast && unicast_forbidden(ty) {
            return Err(DropReason::UnicastNotAllowed);
        }
        let mut plan = Plan::new(match ty {
            MessageType::Solicit if !scan.rapid_commit => MessageType::Advertise,
            _ => MessageType::Reply,
        });
        let link_index = select_link(&self.c.links, &self.interfaces, &chain, rx.ifindex);
        let link = link_index.and_then(|i| self.c.links.get(i));
        let fo = link_index.and_then(|i| self.fo_links.get(i).copied().flatten());
        if let Some(fo) = fo {
            fo.admit(ty)?;
        }
        let options = link.map_or(&self.c.global_options, |l| &l.options);

        if unicast {
            // Request, Renew, Release, Decline by unicast: we never send Server Unicast, so
            // answer UseMulticast with identifiers only [RFC 8415 §18.4].
            plan.status = Some(USE_MULTICAST);
        } else if ty == MessageType::InformationRequest {
            // §18.3.6: answered from the link's options, or the global ones for unknown links.
            plan.wants = Some(scan.wants);
            plan.information = true;
        }
        let input = EmitInput {
            chain: &chain,
            xid: msg.xid(),
            server_id_option: &self.c.server_id_option,
            client_id: scan.client_id,
            options,
        };
        if len_bound(&input, &scan) > out.len() {
            return Err(DropReason::ReplyTooLarge);
        }
        if !unicast && ty != MessageType::InformationRequest {
            let link = link.ok_or(DropReason::NoSubnet)?;
            // check_ids guaranteed a client id for every type that reaches here.
            let duid = scan.client_id.ok_or(DropReason::MissingClientId)?;
            let ctx = Ctx {
                link,
                duid,
                now,
                fo,
            };
            if ty != MessageType::Confirm && !shard.owns_client(duid) {
                return Err(DropReason::WrongShard);
            }
            if let Some(fo) = fo {
                // The shard allocates only from this server's half of the link's pools.
                let role = Some(fo.shard_role());
                if shard.subnet_failover(link.id.0) != role {
                    shard.set_subnet_failover(link.id.0, role);
                }
            }
            self.process(ty, &ctx, shard, &scan, &mut plan)?;
        }
        let len = emit(out, &input, &plan)?;
        Ok(Reply {
            len,
            dst: destination(rx, &chain),
            commits: plan.msg_type == MessageType::Reply && !plan.information && !unicast,
            msg_type: plan.msg_type,
        })
    }

    /// The lease logic of one stateful message type. On `Err` nothing was recorded. The reply
    /// size bound was checked before, so writing the plan cannot fail after a commit.
    fn process<'p>(
        &self,
        ty: MessageType,
        ctx: &Ctx<'_>,
        shard: &mut Shard,
        scan: &Scan<'p>,
        plan: &mut Plan<'p>,
    ) -> Result<(), DropReason> {
        let stateful_options = |plan: &mut Plan<'p>| {
            plan.wants = Some(scan.wants);
            plan.fqdn = fqdn_answer(scan);
        };
        match ty {
            MessageType::Solicit => {
                let commit = scan.rapid_commit && ctx.link.rapid_commit;
                if commit {
                    plan.rapid_commit = true;
                } else {
                    plan.msg_type = MessageType::Advertise;
                    plan.preference = true;
                }
                let mode = if commit {
                    Assign::Commit
                } else {
                    Assign::Offer
                };
                exchange::assign(ctx, shard, scan, mode, plan);
                stateful_options(plan);
            }
            MessageType::Request => {
                exchange::assign(ctx, shard, scan, Assign::Commit, plan);
                stateful_options(plan);
            }
            MessageType::Renew | MessageType::Rebind => {
                exchange::extend(ctx, shard, scan, ty == MessageType::Rebind, plan)?;
                stateful_options(plan);
            }
            MessageType::Release => exchange::release(ctx, shard, scan, None, plan),
            MessageType::Decline => {
                exchange::release(ctx, shard, scan, Some(self.c.decline_hold_s), plan);
            }
            MessageType::Confirm => exchange::confirm(ctx, scan, plan)?,
            _ => return Err(DropReason::UnknownMessageType),
        }
        Ok(())
    }
}

/// OPTION_CLIENT_FQDN answer [RFC 4704 §5]: only when the client sent the option and asked for
/// it in its ORO. The server performs no DNS updates: N = 1, S = 0, and O = 1 when the client
/// had asked the server to update (S = 1), since the server overrode that; the name is echoed.
fn fqdn_answer<'p>(scan: &Scan<'p>) -> Option<(u8, &'p [u8])> {
    const S: u8 = 0x01;
    const O: u8 = 0x02;
    const N: u8 = 0x04;
    let (flags, name) = scan.fqdn?;
    if !scan.wants.client_fqdn {
        return None;
    }
    let overridden = if flags & S != 0 { O } else { 0 };
    Some((N | overridden, name))
}

/// Direct: back to the client's source address and port on the receiving interface.
/// Relayed: to the outermost relay's address, port 547 (or its source port when it sent
/// OPTION_RELAY_SOURCE_PORT [RFC 8357]) [RFC 8415 §18.3.10, §19.3].
fn destination(rx: &RxMeta, chain: &RelayChain<'_>) -> SocketAddrV6 {
    let port = match chain.hops().first() {
        None => rx.src.port(),
        Some(hop)
            if hop
                .options
                .find(OptionCode::from(OPTION_RELAY_SOURCE_PORT))
                .is_some() =>
        {
            rx.src.port()
        }
        Some(_) => SERVER_PORT,
    };
    SocketAddrV6::new(*rx.src.ip(), port, 0, rx.ifindex)
}

fn relay_error(e: WireError) -> DropReason {
    match e {
        WireError::TooDeep => DropReason::RelayTooDeep,
        WireError::MissingRelayMessage => DropReason::RelayWithoutMessage,
        WireError::NotAClientMessage => DropReason::RelayInnerNotClient,
        _ => DropReason::Malformed,
    }
}

/// A relayed message whose payload is a server message is "not a client message".
fn inner_error(chain: &RelayChain<'_>, reason: DropReason) -> DropReason {
    if !chain.is_empty() && reason == DropReason::ServerMessageType {
        DropReason::RelayInnerNotClient
    } else {
        reason
    }
}

/// The client DUID of the innermost client message (peeling relays), or `None` when there is
/// none or it is not a valid DUID (1..=130 octets). The server routes packets to the shard that
/// owns this DUID (`tandem_ebpf_common::shard_of`).
pub fn client_duid(packet: &[u8]) -> Option<&[u8]> {
    let (_, msg) = unwrap_relays(packet).ok()?;
    msg.options()
        .find(OptionCode::ClientId)
        .filter(|d| !d.is_empty() && d.len() <= crate::compile::DUID_LEN_MAX)
}
