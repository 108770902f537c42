//! Parsing the engine's answers with tandem-wire, into plain structs the tests assert on.

use std::net::Ipv6Addr;

use tandem_wire::{
    IaAddr, IaNa, IaPd, IaPrefix, IaTa, Message, OptionCode, Options, RelayMessage, StatusCode,
    StatusCodeOption,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub addr: Ipv6Addr,
    pub prefix_len: u8,
    pub preferred: u32,
    pub valid: u32,
}

#[derive(Debug, Clone)]
pub struct Ia {
    pub code: u16,
    pub iaid: u32,
    pub t1: u32,
    pub t2: u32,
    pub leases: Vec<Lease>,
    pub status: Option<StatusCode>,
}

#[derive(Debug, Clone)]
pub struct Hop {
    pub hop_count: u8,
    pub link: Ipv6Addr,
    pub peer: Ipv6Addr,
    pub interface_id: Option<Vec<u8>>,
}

/// A parsed Advertise / Reply (after peeling any Relay-reply layers).
#[derive(Debug, Clone)]
pub struct Parsed {
    pub msg_type: u8,
    pub xid: [u8; 3],
    pub hops: Vec<Hop>,
    pub server_id: Option<Vec<u8>>,
    pub client_id: Option<Vec<u8>>,
    pub status: Option<StatusCode>,
    pub ias: Vec<Ia>,
    /// Every top-level option code, in order.
    pub codes: Vec<u16>,
    pub options: Vec<(u16, Vec<u8>)>,
}

impl Parsed {
    pub fn option(&self, code: u16) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, d)| d.as_slice())
    }

    pub fn ia(&self, code: u16, iaid: u32) -> &Ia {
        self.ias
            .iter()
            .find(|ia| ia.code == code && ia.iaid == iaid)
            .expect("IA in reply")
    }

    pub fn na(&self, iaid: u32) -> &Ia {
        self.ia(3, iaid)
    }

    pub fn pd(&self, iaid: u32) -> &Ia {
        self.ia(25, iaid)
    }
}

fn status_of(options: Options<'_>) -> Option<StatusCode> {
    options.find(OptionCode::StatusCode).map(|d| {
        StatusCodeOption::parse(d)
            .expect("status code parses")
            .code()
    })
}

/// Parses a reply; panics (test failure) on anything malformed.
pub fn parse(bytes: &[u8]) -> Parsed {
    let mut hops = Vec::new();
    let mut cur = bytes;
    while cur.first() == Some(&13) {
        let r = RelayMessage::new_checked(cur).expect("relay-reply parses");
        let mut count = 0;
        for o in r.options().iter() {
            if o.code == OptionCode::RelayMsg {
                count += 1;
            }
        }
        assert_eq!(count, 1, "one RELAY_MSG per Relay-reply layer");
        hops.push(Hop {
            hop_count: r.hop_count(),
            link: r.link_address(),
            peer: r.peer_address(),
            interface_id: r
                .options()
                .find(OptionCode::InterfaceId)
                .map(<[u8]>::to_vec),
        });
        cur = r.relay_msg().expect("RELAY_MSG");
    }
    let m = Message::new_checked(cur).expect("reply parses");
    let mut p = Parsed {
        msg_type: u8::from(m.msg_type()),
        xid: m.xid().0,
        hops,
        server_id: None,
        client_id: None,
        status: status_of(m.options()),
        ias: Vec::new(),
        codes: Vec::new(),
        options: Vec::new(),
    };
    for o in m.options().iter() {
        let code = u16::from(o.code);
        p.codes.push(code);
        p.options.push((code, o.data.to_vec()));
        match o.code {
            OptionCode::ServerId => p.server_id = Some(o.data.to_vec()),
            OptionCode::ClientId => p.client_id = Some(o.data.to_vec()),
            OptionCode::IaNa => {
                let ia = IaNa::parse(o.data).expect("IA_NA");
                let leases = ia
                    .options()
                    .iter()
                    .filter(|s| s.code == OptionCode::IaAddr)
                    .map(|s| {
                        let x = IaAddr::parse(s.data).expect("IAADDR");
                        Lease {
                            addr: x.addr(),
                            prefix_len: 128,
                            preferred: x.preferred(),
                            valid: x.valid(),
                        }
                    })
                    .collect();
                p.ias.push(Ia {
                    code,
                    iaid: ia.iaid(),
                    t1: ia.t1(),
                    t2: ia.t2(),
                    leases,
                    status: status_of(ia.options()),
                });
            }
            OptionCode::IaPd => {
                let ia = IaPd::parse(o.data).expect("IA_PD");
                let leases = ia
                    .options()
                    .iter()
                    .filter(|s| s.code == OptionCode::IaPrefix)
                    .map(|s| {
                        let x = IaPrefix::parse(s.data).expect("IAPREFIX");
                        Lease {
                            addr: x.prefix(),
                            prefix_len: x.prefix_len(),
                            preferred: x.preferred(),
                            valid: x.valid(),
                        }
                    })
                    .collect();
                p.ias.push(Ia {
                    code,
                    iaid: ia.iaid(),
                    t1: ia.t1(),
                    t2: ia.t2(),
                    leases,
                    status: status_of(ia.options()),
                });
            }
            OptionCode::IaTa => {
                let ia = IaTa::parse(o.data).expect("IA_TA");
                p.ias.push(Ia {
                    code,
                    iaid: ia.iaid(),
                    t1: 0,
                    t2: 0,
                    leases: Vec::new(),
                    status: status_of(ia.options()),
                });
            }
            _ => {}
        }
    }
    p
}
