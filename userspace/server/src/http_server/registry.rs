//! The live connections of one listener, at most [`super::Limits::connections`]: when the cap
//! is reached, the oldest connection not yet admitted (its head incomplete, or
//! [`super::Handler::admit`] not yet passed) is shut down to make room for a newcomer, so one
//! host holding every slot with half-sent requests cannot keep everyone else out. Admitted
//! connections are never cut while being served: with all of them admitted, the newcomer is
//! refused. Once its answer is written, a connection is cuttable again ([`Slot::answered`]).

use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// One live connection.
struct Live {
    id: u64,
    accepted: Instant,
    admitted: bool,
    /// A `try_clone` of the connection's stream, to shut it down from the accept thread.
    stream: TcpStream,
}

#[derive(Default)]
struct Inner {
    next: u64,
    live: Vec<Live>,
}

/// What [`Registry::enter`] did.
pub(super) enum Entry {
    /// Registered; the slot leaves the registry when dropped.
    In(Slot),
    /// Registered after the oldest unadmitted connection (accepted that long ago) was shut down.
    Evicted(Slot, std::time::Duration),
    /// Every slot is held by an admitted connection.
    Full,
}

/// The registry, shared by the accept thread and the connection threads.
#[derive(Clone, Default)]
pub(super) struct Registry(Arc<Mutex<Inner>>);

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The data stays consistent whatever a panicking holder did (each change is one step).
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a connection accepted `now` (`stream` is a clone of it), at most `cap` at a time.
    pub(super) fn enter(&self, stream: TcpStream, now: Instant, cap: usize) -> Entry {
        let mut inner = self.lock();
        let mut evicted = None;
        if inner.live.len() >= cap {
            let oldest = inner
                .live
                .iter()
                .enumerate()
                .filter(|(_, l)| !l.admitted)
                .min_by_key(|(_, l)| l.accepted)
                .map(|(i, _)| i);
            let Some(i) = oldest else {
                return Entry::Full;
            };
            let victim = inner.live.remove(i);
            // Its thread's next read or write fails at once, and it ends.
            let _ = victim.stream.shutdown(Shutdown::Both);
            evicted = Some(now.saturating_duration_since(victim.accepted));
        }
        let id = inner.next;
        inner.next += 1;
        inner.live.push(Live {
            id,
            accepted: now,
            admitted: false,
            stream,
        });
        let slot = Slot {
            registry: self.clone(),
            id,
        };
        match evicted {
            Some(age) => Entry::Evicted(slot, age),
            None => Entry::In(slot),
        }
    }
}

/// A connection's place in the registry; dropping it frees the place.
pub(super) struct Slot {
    registry: Registry,
    id: u64,
}

impl Slot {
    /// Marks the connection admitted (not cut until [`Self::answered`]); `false` when it was
    /// already cut.
    pub(super) fn admit(&self) -> bool {
        let mut inner = self.registry.lock();
        match inner.live.iter_mut().find(|l| l.id == self.id) {
            Some(l) => {
                l.admitted = true;
                true
            }
            None => false,
        }
    }

    /// The answer was written: what is left (the lingering close) may be cut to make room,
    /// so clients that never close cannot hold the slots either.
    pub(super) fn answered(&self) {
        let mut inner = self.registry.lock();
        if let Some(l) = inner.live.iter_mut().find(|l| l.id == self.id) {
            l.admitted = false;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut inner = self.registry.lock();
        inner.live.retain(|l| l.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;
    use std::time::Duration;

    use super::*;

    /// A connected pair: (our end, the peer's end).
    fn pair(l: &TcpListener) -> (TcpStream, TcpStream) {
        let peer = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (ours, _) = l.accept().unwrap();
        (ours, peer)
    }

    fn closed(peer: &mut TcpStream) -> bool {
        peer.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        matches!(peer.read(&mut [0u8; 1]), Ok(0))
    }

    #[test]
    fn the_oldest_unadmitted_is_cut_and_admitted_ones_never() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let r = Registry::default();
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let (a, mut pa) = pair(&l);
        let (b, mut pb) = pair(&l);
        let (c, mut pc) = pair(&l);
        let Entry::In(sa) = r.enter(a, at(0), 2) else {
            panic!("a")
        };
        let Entry::In(sb) = r.enter(b, at(1), 2) else {
            panic!("b")
        };
        assert!(sa.admit());
        // Full: b (the oldest not admitted) makes room for c.
        let Entry::Evicted(sc, age) = r.enter(c, at(5), 2) else {
            panic!("c")
        };
        assert_eq!(age, Duration::from_millis(4));
        assert!(closed(&mut pb) && !closed(&mut pa) && !closed(&mut pc));
        assert!(!sb.admit(), "b was cut before its admission");
        assert!(sc.admit());
        // Both admitted: the newcomer is refused, nobody is cut.
        let (d, _pd) = pair(&l);
        assert!(matches!(r.enter(d, at(6), 2), Entry::Full));
        assert!(!closed(&mut pa) && !closed(&mut pc));
        // Once answered, c makes room in turn.
        sc.answered();
        let (d, _pd) = pair(&l);
        assert!(matches!(r.enter(d, at(7), 2), Entry::Evicted(..)));
        assert!(closed(&mut pc) && !closed(&mut pa));
        // A place freed is taken without cutting anyone.
        drop(sa);
        let (e, _pe) = pair(&l);
        assert!(matches!(r.enter(e, at(8), 2), Entry::In(_)));
    }
}
