//! (being written) Sans-IO RFC 8156 failover endpoint.
#![forbid(unsafe_code)]
