//! The partner link between the two servers, modelled as TCP: an ordered, reliable byte stream
//! per connection, delivered in random chunks after a random latency. A partition holds bytes
//! back (TCP retransmits them after the heal, if the connection is still alive); a close or a
//! crash reaches the other side after the bytes before it, like a FIN or RST.

use std::collections::VecDeque;

use crate::rng::Rng;

/// Something arriving at one side of the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// Bytes of connection `conn`.
    Data { conn: u64, bytes: Vec<u8> },
    /// The other side closed connection `conn` (or died).
    Closed { conn: u64 },
    /// A dial by the primary completed.
    Connected { conn: u64 },
    /// A dial by the primary failed.
    DialFailed,
}

#[derive(Debug)]
struct Pending {
    at_ms: u64,
    to: usize,
    what: Arrival,
}

/// The link (module doc). Side 0 is the primary, side 1 the secondary.
#[derive(Debug, Default)]
pub struct Link {
    /// False while partitioned.
    pub cut: bool,
    /// The current connection, if any.
    pub conn: Option<u64>,
    next_conn: u64,
    queue: VecDeque<Pending>,
    /// Latest delivery time per direction (keeps each stream in order).
    last_at: [u64; 2],
}

impl Link {
    /// The primary dials at `now_ms`; `secondary_up` says whether anything listens.
    pub fn dial(&mut self, now_ms: u64, secondary_up: bool, rng: &mut Rng) {
        if self.cut || !secondary_up {
            let at_ms = now_ms + rng.range(500, 3_000);
            self.push(at_ms, 0, Arrival::DialFailed);
            return;
        }
        self.next_conn += 1;
        let conn = self.next_conn;
        self.conn = Some(conn);
        let at_ms = now_ms + rng.range(1, 20);
        self.push(at_ms, 0, Arrival::Connected { conn });
    }

    /// Side `from` writes `bytes` on connection `conn`.
    pub fn send(&mut self, now_ms: u64, from: usize, conn: u64, bytes: &[u8], rng: &mut Rng) {
        if self.conn != Some(conn) {
            return;
        }
        let to = 1 - from;
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = if rng.chance(30) {
                rng.range(1, rest.len() as u64) as usize
            } else {
                rest.len()
            };
            let at = (now_ms + rng.range(1, 30)).max(self.last_at[to]);
            self.last_at[to] = at;
            self.push(
                at,
                to,
                Arrival::Data {
                    conn,
                    bytes: rest[..n].to_vec(),
                },
            );
            rest = &rest[n..];
        }
    }

    /// Side `from` closes `conn` (orderly close, or its process died).
    pub fn close(&mut self, now_ms: u64, from: usize, conn: u64) {
        if self.conn != Some(conn) {
            return;
        }
        self.conn = None;
        let to = 1 - from;
        let at = (now_ms + 1).max(self.last_at[to]);
        self.last_at[to] = at;
        self.push(at, to, Arrival::Closed { conn });
    }

    /// Everything due for delivery at `now_ms`, in order. Held back while cut.
    pub fn due(&mut self, now_ms: u64) -> Vec<(usize, Arrival)> {
        let mut out = Vec::new();
        if self.cut {
            // Dial failures still come back (the SYN went nowhere).
            let mut kept = VecDeque::new();
            while let Some(p) = self.queue.pop_front() {
                if p.at_ms <= now_ms && p.what == Arrival::DialFailed {
                    out.push((p.to, p.what));
                } else {
                    kept.push_back(p);
                }
            }
            self.queue = kept;
            return out;
        }
        let mut kept = VecDeque::new();
        while let Some(p) = self.queue.pop_front() {
            if p.at_ms <= now_ms {
                out.push((p.to, p.what));
            } else {
                kept.push_back(p);
            }
        }
        self.queue = kept;
        out
    }

    /// The earliest pending delivery.
    pub fn next_at(&self) -> Option<u64> {
        if self.cut {
            return self
                .queue
                .iter()
                .filter(|p| p.what == Arrival::DialFailed)
                .map(|p| p.at_ms)
                .min();
        }
        self.queue.iter().map(|p| p.at_ms).min()
    }

    fn push(&mut self, at_ms: u64, to: usize, what: Arrival) {
        // Keep the queue sorted by time, stable for equal times.
        let pos = self
            .queue
            .iter()
            .position(|p| p.at_ms > at_ms)
            .unwrap_or(self.queue.len());
        self.queue.insert(pos, Pending { at_ms, to, what });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_arrive_in_order_and_partition_holds_them() {
        let mut rng = Rng::new(3);
        let mut l = Link::default();
        l.dial(0, true, &mut rng);
        let conn = l.conn.unwrap();
        let data: Vec<u8> = (0..=255).collect();
        l.send(10, 0, conn, &data, &mut rng);
        l.cut = true;
        assert!(l.due(10_000).is_empty());
        l.cut = false;
        let mut got = Vec::new();
        for (to, a) in l.due(10_000) {
            if let Arrival::Data { bytes, .. } = a {
                assert_eq!(to, 1);
                got.extend(bytes);
            }
        }
        assert_eq!(got, data);
    }

    #[test]
    fn dial_fails_when_cut_or_nobody_listens() {
        let mut rng = Rng::new(4);
        let mut l = Link::default();
        l.dial(0, false, &mut rng);
        assert_eq!(l.due(10_000), vec![(0, Arrival::DialFailed)]);
        l.cut = true;
        l.dial(0, true, &mut rng);
        assert_eq!(l.due(10_000), vec![(0, Arrival::DialFailed)]);
    }
}
