//! Group commit: every lease change a worker makes goes into the open batch; one write (and, in
//! durable mode, one fdatasync) makes a whole batch stable; replies wait for the batch that
//! covers what they tell the client.
//!
//! At most one batch is in flight. While it is, the next batch keeps filling, so under load each
//! sync covers everything that arrived during the previous one. A reply is held when it carries
//! a change of its own (it waits for the open batch), or when an earlier, still unstable change
//! could be visible in it (it waits for the newest pending batch): nothing a client hears is
//! ahead of the disk. A failed write puts its bytes back in front of the open batch to be
//! retried, and drops the replies it held: nothing is acknowledged that is not stored.

/// Where a reply goes now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attach {
    /// Nothing is pending: send it.
    SendNow,
    /// Held until a batch is stable.
    Held,
}

/// A batch handed to the kernel.
#[derive(Debug)]
pub(crate) struct InFlight<R> {
    pub(crate) offset: u64,
    pub(crate) bytes: Vec<u8>,
    replies: Vec<R>,
    pub(crate) records: u64,
}

#[derive(Debug)]
pub(crate) struct GroupCommit<R> {
    open: Vec<u8>,
    open_records: u64,
    open_replies: Vec<R>,
    in_flight: Option<InFlight<R>>,
    spare: Vec<u8>,
}

/// What became of a finished batch's replies.
#[derive(Debug)]
pub(crate) struct Finished<R> {
    /// Stable: send these.
    pub(crate) send: Vec<R>,
    /// The write failed: these replies are withdrawn (clients will retransmit).
    pub(crate) withdrawn: Vec<R>,
    pub(crate) records: u64,
}

impl<R> GroupCommit<R> {
    pub(crate) fn new() -> Self {
        Self {
            open: Vec::with_capacity(64 << 10),
            open_records: 0,
            open_replies: Vec::new(),
            in_flight: None,
            spare: Vec::with_capacity(64 << 10),
        }
    }

    /// The open batch's record buffer; the caller appends encoded records and counts them.
    pub(crate) fn open_buffer(&mut self) -> &mut Vec<u8> {
        &mut self.open
    }

    pub(crate) fn added_records(&mut self, n: u64) {
        self.open_records += n;
    }

    /// Decide where a reply goes. `changed` says whether producing it recorded changes (already
    /// appended to the open buffer).
    pub(crate) fn attach(&mut self, reply: R, changed: bool) -> (Attach, Option<R>) {
        if changed || !self.open.is_empty() {
            self.open_replies.push(reply);
            return (Attach::Held, None);
        }
        if let Some(batch) = self.in_flight.as_mut() {
            batch.replies.push(reply);
            return (Attach::Held, None);
        }
        (Attach::SendNow, Some(reply))
    }

    /// Start writing the open batch at `offset` if nothing is in flight and there is something
    /// to write. Returns the bytes to write; they stay owned here until [`Self::finish`].
    pub(crate) fn start(&mut self, offset: u64) -> Option<&InFlight<R>> {
        if self.in_flight.is_some() {
            return None;
        }
        if self.open.is_empty() {
            // Held replies always sit behind bytes of the open batch (`attach` holds a reply only
            // when the open batch has bytes or the reply brought some), so nothing waits here.
            return None;
        }
        let bytes = std::mem::replace(&mut self.open, std::mem::take(&mut self.spare));
        self.in_flight = Some(InFlight {
            offset,
            bytes,
            replies: std::mem::take(&mut self.open_replies),
            records: std::mem::take(&mut self.open_records),
        });
        self.in_flight.as_ref()
    }

    pub(crate) fn in_flight(&self) -> Option<&InFlight<R>> {
        self.in_flight.as_ref()
    }

    /// The in-flight batch completed: `ok` when every byte is written (and synced in durable
    /// mode). Returns its replies, and the number of bytes the journal grew by.
    pub(crate) fn finish(&mut self, ok: bool) -> (Finished<R>, u64) {
        let Some(mut batch) = self.in_flight.take() else {
            return (
                Finished {
                    send: Vec::new(),
                    withdrawn: Vec::new(),
                    records: 0,
                },
                0,
            );
        };
        if ok {
            let grown = batch.bytes.len() as u64;
            batch.bytes.clear();
            self.spare = batch.bytes;
            let finished = Finished {
                send: batch.replies,
                withdrawn: Vec::new(),
                records: batch.records,
            };
            return (finished, grown);
        }
        // Retry: the failed bytes go back in front of whatever accumulated since.
        batch.bytes.extend_from_slice(&self.open);
        self.open = batch.bytes;
        self.open_records += batch.records;
        (
            Finished {
                send: Vec::new(),
                withdrawn: batch.replies,
                records: 0,
            },
            0,
        )
    }

    /// Nothing open and nothing in flight.
    pub(crate) fn is_idle(&self) -> bool {
        self.in_flight.is_none() && self.open.is_empty() && self.open_replies.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_without_pending_changes_goes_now() {
        let mut gc = GroupCommit::<u32>::new();
        assert_eq!(gc.attach(1, false), (Attach::SendNow, Some(1)));
    }

    #[test]
    fn changed_reply_waits_for_its_batch_and_later_replies_wait_too() {
        let mut gc = GroupCommit::<u32>::new();
        gc.open_buffer().extend_from_slice(b"rec1");
        gc.added_records(1);
        assert_eq!(gc.attach(1, true).0, Attach::Held);
        // An answer that changes nothing still waits: it may show the unstable binding.
        assert_eq!(gc.attach(2, false).0, Attach::Held);
        let batch = gc.start(100).unwrap();
        assert_eq!(batch.offset, 100);
        assert_eq!(batch.bytes, b"rec1");
        // While batch 1 is in flight, a no-change reply waits for it; a changing one opens batch 2.
        assert_eq!(gc.attach(3, false).0, Attach::Held);
        gc.open_buffer().extend_from_slice(b"rec2");
        gc.added_records(1);
        assert_eq!(gc.attach(4, true).0, Attach::Held);
        assert!(gc.start(104).is_none(), "one batch in flight at a time");
        let (done, grown) = gc.finish(true);
        assert_eq!(done.send, vec![1, 2, 3]);
        assert_eq!(grown, 4);
        assert_eq!(done.records, 1);
        let batch = gc.start(104).unwrap();
        assert_eq!(batch.bytes, b"rec2");
        let (done, _) = gc.finish(true);
        assert_eq!(done.send, vec![4]);
        assert!(gc.is_idle());
    }

    #[test]
    fn failed_write_withdraws_replies_and_retries_bytes_first() {
        let mut gc = GroupCommit::<u32>::new();
        gc.open_buffer().extend_from_slice(b"AAAA");
        gc.added_records(1);
        gc.attach(1, true);
        gc.start(0).unwrap();
        gc.open_buffer().extend_from_slice(b"BB");
        gc.added_records(1);
        gc.attach(2, true);
        let (done, grown) = gc.finish(false);
        assert_eq!(done.withdrawn, vec![1]);
        assert!(done.send.is_empty());
        assert_eq!(grown, 0);
        let batch = gc.start(0).unwrap();
        assert_eq!(
            batch.bytes, b"AAAABB",
            "failed bytes are rewritten at the same offset first"
        );
        assert_eq!(batch.records, 2);
        let (done, grown) = gc.finish(true);
        assert_eq!(done.send, vec![2]);
        assert_eq!(grown, 6);
    }
}
