//! Stream-level properties: the golden vectors concatenated come out of the [`Deframer`]
//! identical however the stream is cut, and generated messages round-trip byte for byte.

use proptest::prelude::*;

use super::testdata::ALL;
use super::{Deframer, FailoverMessage, FailoverRepr, FailoverTime, FailoverWriter, FrameError};
use crate::{Error, MessageType, OptionCode, Xid};

fn stream() -> Vec<u8> {
    ALL.iter().flat_map(|(_, b)| b.iter().copied()).collect()
}

/// Feeds `chunks` and returns every message as its bytes (without prefix).
fn deframe<'c>(chunks: impl IntoIterator<Item = &'c [u8]>) -> Vec<Vec<u8>> {
    deframe_with(Deframer::new(), chunks)
}

/// [`deframe`] through a given deframer (e.g. one with a tight buffer, to exercise compaction).
fn deframe_with<'c>(mut d: Deframer, chunks: impl IntoIterator<Item = &'c [u8]>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c, |m| out.push(m.as_bytes().to_vec())).unwrap();
    }
    assert_eq!(d.buffered_len(), 0);
    out
}

fn largest() -> usize {
    ALL.iter().map(|(_, b)| b.len()).max().unwrap()
}

fn expected() -> Vec<Vec<u8>> {
    ALL.iter().map(|(_, b)| b[2..].to_vec()).collect()
}

#[test]
fn two_chunks_split_at_every_offset() {
    let s = stream();
    let want = expected();
    for cut in 0..=s.len() {
        let (a, b) = s.split_at(cut);
        assert_eq!(deframe([a, b]), want, "cut at {cut}");
        let tight = Deframer::with_max_frame_len(largest());
        assert_eq!(deframe_with(tight, [a, b]), want, "tight, cut at {cut}");
    }
}

#[test]
fn one_octet_at_a_time_and_small_buffer() {
    let s = stream();
    assert_eq!(deframe(s.chunks(1)), expected());
    // A buffer just large enough for the largest vector still passes everything through.
    let largest = largest();
    let mut d = Deframer::with_max_frame_len(largest);
    let mut n = 0;
    d.feed(&s, |_| n += 1).unwrap();
    assert_eq!(n, ALL.len());
    let mut d = Deframer::with_max_frame_len(largest - 1);
    let e = d.feed(&s, |_| {}).unwrap_err();
    assert!(matches!(e, FrameError::TooLong { .. }), "{e:?}");
}

/// Arbitrary option areas (valid framing, arbitrary codes and payloads) for generated messages.
fn option_area() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (any::<u16>(), prop::collection::vec(any::<u8>(), 0..40)),
        0..8,
    )
    .prop_map(|opts| {
        let mut area = Vec::new();
        for (code, data) in opts {
            area.extend_from_slice(&code.to_be_bytes());
            area.extend_from_slice(&(data.len() as u16).to_be_bytes());
            area.extend_from_slice(&data);
        }
        area
    })
}

fn message() -> impl Strategy<Value = Vec<u8>> {
    (any::<u8>(), any::<[u8; 3]>(), any::<u32>(), option_area()).prop_map(|(t, xid, sent, area)| {
        let t = MessageType::from(t);
        let sent = super::has_sent_time(t).then_some(FailoverTime(sent));
        let mut buf = vec![0u8; 2 + 8 + area.len()];
        let mut fw = FailoverWriter::new(&mut buf, t, Xid(xid), sent).unwrap();
        fw.writer().bytes(&area).unwrap();
        let n = fw.finish().unwrap();
        buf.truncate(n);
        buf
    })
}

proptest! {
    #[test]
    fn random_chunkings_give_identical_messages(
        cuts in prop::collection::vec(0usize..2000, 0..40),
    ) {
        let s = stream();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (s.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut at = 0;
        for c in cuts.into_iter().chain([s.len()]) {
            chunks.push(&s[at..c]);
            at = c;
        }
        prop_assert_eq!(deframe(chunks.iter().copied()), expected());
        let tight = Deframer::with_max_frame_len(largest());
        prop_assert_eq!(deframe_with(tight, chunks), expected());
    }

    #[test]
    fn generated_messages_round_trip(
        msgs in prop::collection::vec(message(), 1..6),
        chunk in 1usize..64,
    ) {
        let s: Vec<u8> = msgs.concat();
        let got = deframe(s.chunks(chunk));
        prop_assert_eq!(got.len(), msgs.len());
        for (framed, body) in msgs.iter().zip(&got) {
            prop_assert_eq!(&framed[2..], body.as_slice());
            let repr = FailoverRepr::parse(body).unwrap();
            prop_assert_eq!(repr.buffer_len(), framed.len());
            let mut out = vec![0u8; framed.len()];
            prop_assert_eq!(repr.emit(&mut out), Ok(framed.len()));
            prop_assert_eq!(&out, framed);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(m) = FailoverMessage::new_checked(&bytes) {
            let _ = super::validate_failover_options(m.options());
            let repr = FailoverRepr::parse(&bytes).unwrap();
            let mut out = vec![0u8; bytes.len() + 2];
            prop_assert_eq!(repr.emit(&mut out), Ok(bytes.len() + 2));
            prop_assert_eq!(&out[2..], bytes.as_slice());
        }
        let mut d = Deframer::with_max_frame_len(64);
        let _ = d.feed(&bytes, |m| {
            let _ = (m.msg_type(), m.xid(), m.sent_time(), m.options().find(OptionCode::ClientId));
        });
    }
}

#[test]
fn malformed_frame_in_the_middle_keeps_the_stream_in_sync() {
    let mut s = CONTACT_BAD.to_vec();
    s.extend_from_slice(super::testdata::CONTACT);
    let mut d = Deframer::new();
    assert_eq!(d.push(&s), Ok(s.len()));
    assert_eq!(
        d.next_message().map(|m| m.is_some()),
        Err(FrameError::Malformed(Error::Truncated))
    );
    let m = d.next_message().unwrap().unwrap();
    assert_eq!(m.msg_type(), MessageType::Contact);
}

/// A CONTACT whose option header is cut short.
const CONTACT_BAD: &[u8] = &[0, 10, 35, 0, 0, 1, 0, 0, 0, 0, 0, 1];
