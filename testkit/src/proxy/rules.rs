//! Deterministic faults: the Nth request that matches a rule gets a chosen failure, for tests that
//! need one exact interleaving (a write that took effect but whose answer was lost, a 409 on one
//! conditional write) rather than a random share.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::faults::Fault;
use super::http::Message;

/// What happens to the request a rule picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Answer with `fault` in the request's protocol; the request never reaches the upstream.
    Fail(Fault),
    /// Forward the request (the upstream commits it), then close the connection without an
    /// answer: the client sees a dropped connection and cannot know the write took effect.
    CommitThenDrop,
    /// Forward the request (the upstream commits it), then answer 500 InternalError instead of
    /// the upstream's answer.
    CommitThenInternalError,
}

/// The `nth` (1-based) request with `method` whose path contains `path_contains` is treated as
/// `then` says; every other request passes.
#[derive(Debug)]
pub struct Rule {
    pub method: String,
    pub path_contains: String,
    pub nth: usize,
    pub then: Then,
    seen: AtomicUsize,
}

impl Rule {
    pub fn new(method: &str, path_contains: &str, nth: usize, then: Then) -> Rule {
        Rule {
            method: method.to_string(),
            path_contains: path_contains.to_string(),
            nth,
            then,
            seen: AtomicUsize::new(0),
        }
    }

    /// Counts `request` if it matches; `Some(then)` when it is the chosen one.
    pub(crate) fn pick(&self, request: &Message) -> Option<Then> {
        let (method, path) = request.method_path();
        if !method.eq_ignore_ascii_case(&self.method) || !path.contains(&self.path_contains) {
            return None;
        }
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        (n == self.nth).then_some(self.then)
    }
}
