//! Property tests: structured messages (nested relays, nested IA options, unknown codes)
//! survive emit → parse → emit unchanged, and arbitrary bytes never make the crate panic.

mod roundtrip;
