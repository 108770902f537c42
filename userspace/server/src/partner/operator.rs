//! The operator's "partner down" (RFC 8156 §8; R54) on its way from the main thread (SIGUSR1)
//! or the control API (`failover-partner-down`) to the control thread, which applies it to the
//! relationships named, each whose state allows it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Requests not yet applied: `None` means every relationship, `Some(name)` one of them.
#[derive(Debug, Default)]
pub(crate) struct PartnerDownRequests {
    /// Set with each request, so the control thread's turn checks one flag, not the lock.
    pending: AtomicBool,
    requests: Mutex<Vec<Option<String>>>,
}

impl PartnerDownRequests {
    /// Asks for partner-down on `relationship` (`None`: all of them).
    pub(crate) fn request(&self, relationship: Option<&str>) {
        if let Ok(mut r) = self.requests.lock() {
            r.push(relationship.map(str::to_owned));
        }
        self.pending.store(true, Ordering::Release);
    }

    /// The requests made since the last call (the control thread's side).
    pub(crate) fn take(&self) -> Vec<Option<String>> {
        if !self.pending.swap(false, Ordering::Acquire) {
            return Vec::new();
        }
        self.requests
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }
}

/// Does a request for `requested` (`None`: all) cover the relationship called `name`?
pub(crate) fn covers(requested: Option<&str>, name: &str) -> bool {
    requested.is_none_or(|r| r == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_taken_once_in_order() {
        let pd = PartnerDownRequests::default();
        assert!(pd.take().is_empty());
        pd.request(Some("rel-a"));
        pd.request(None);
        assert_eq!(pd.take(), vec![Some("rel-a".to_owned()), None]);
        assert!(pd.take().is_empty(), "taken once");
    }

    #[test]
    fn a_named_request_covers_only_its_relationship() {
        assert!(covers(Some("rel-a"), "rel-a"));
        assert!(!covers(Some("rel-a"), "rel-b"));
        assert!(covers(None, "rel-b"));
    }
}
