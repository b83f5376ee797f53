//! Deterministic faults: the Nth request that matches a rule gets a chosen failure, for tests that
//! need one exact interleaving (a write that took effect but whose answer was lost, a 409 on one
//! conditional write) rather than a random share.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

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
/// `then` says; every other request passes. Or, made by [`Rule::rate_limit`], every request to
/// exactly that path beyond a rate is throttled.
#[derive(Debug)]
pub struct Rule {
    pub method: String,
    pub path_contains: String,
    pub nth: usize,
    pub then: Then,
    seen: AtomicUsize,
    bucket: Option<Mutex<Bucket>>,
}

/// A token bucket, as AWS meters an API: `rate` tokens a second, holding at most `burst`; a
/// request takes one, or is throttled when none is left.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Rule {
    pub fn new(method: &str, path_contains: &str, nth: usize, then: Then) -> Rule {
        Rule {
            method: method.to_string(),
            path_contains: path_contains.to_string(),
            nth,
            then,
            seen: AtomicUsize::new(0),
            bucket: None,
        }
    }

    /// Requests with `method` to exactly `path` (the query aside) beyond `per_second`, with bursts
    /// of up to `burst`, get the service's throttling error (a full bucket at the start).
    pub fn rate_limit(method: &str, path: &str, per_second: f64, burst: u32) -> Rule {
        Rule {
            bucket: Some(Mutex::new(Bucket {
                rate: per_second,
                burst: f64::from(burst),
                tokens: f64::from(burst),
                at: Instant::now(),
            })),
            ..Rule::new(method, path, 0, Then::Fail(Fault::Throttle))
        }
    }

    /// Counts `request` if it matches; `Some(then)` when it is the chosen one.
    pub(crate) fn pick(&self, request: &Message) -> Option<Then> {
        let (method, path) = request.method_path();
        if !method.eq_ignore_ascii_case(&self.method) || !path.contains(&self.path_contains) {
            return None;
        }
        if let Some(bucket) = &self.bucket {
            if path.split('?').next() != Some(self.path_contains.as_str()) {
                return None;
            }
            let taken = bucket.lock().map(|mut b| b.take()).unwrap_or(true);
            return (!taken).then_some(self.then);
        }
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        (n == self.nth).then_some(self.then)
    }
}
