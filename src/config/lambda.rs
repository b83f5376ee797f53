//! `[lambda]` and `[events]`: the functions, and how events are delivered to them.

use serde::{Deserialize, Serialize};

/// `[lambda]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LambdaConfig {
    /// Where `secauto build` writes `<function>/bootstrap.zip`.
    pub artifacts_dir: String,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// How long deploy keeps retrying while a new IAM role cannot be assumed by Lambda yet.
    pub role_propagation_timeout_seconds: u64,
    /// Async invocation retries before the on-failure destination gets the event (0–2).
    pub async_retry_attempts: i32,
    /// `[lambda.reserved_concurrency]`: each function's reserved concurrency.
    pub reserved_concurrency: ReservedConcurrency,
}

/// `[lambda.reserved_concurrency]`: how many instances of each function may run at once (and are
/// guaranteed to be able to), set with Lambda's PutFunctionConcurrency. 0 leaves the function
/// unreserved: it scales with the account's unreserved pool. Unlike Terraform's
/// `reserved_concurrent_executions`, 0 never means "throttle every invocation": a security-response
/// function that cannot run is not a setting secauto offers.
///
/// The defaults keep a burst of findings within Security Hub's account-wide rate limits: each
/// remediation reads its finding (GetFindings: 3 requests a second, burst 6) and writes it back
/// (BatchUpdateFindings: 10 a second, burst 30); triage writes each event's findings back.
/// Invocations beyond the reservation wait in Lambda's asynchronous queue (retried for up to the
/// event invoke config's maximum event age, 6 hours), they are not lost.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReservedConcurrency {
    pub triage: i32,
    pub remediation: i32,
    pub notification: i32,
    pub error_handler: i32,
}

impl Default for ReservedConcurrency {
    fn default() -> Self {
        ReservedConcurrency {
            triage: 5,
            remediation: 3,
            notification: 5,
            error_handler: 2,
        }
    }
}

impl ReservedConcurrency {
    /// The reservation of the function whose config key is `key`; `None` for unreserved.
    pub fn of(&self, key: &str) -> Option<i32> {
        let n = match key {
            "triage" => self.triage,
            "remediation" => self.remediation,
            "notification" => self.notification,
            "error_handler" => self.error_handler,
            _ => 0,
        };
        (n > 0).then_some(n)
    }

    fn check(&self, p: &mut Vec<String>) {
        for (key, n) in [
            ("triage", self.triage),
            ("remediation", self.remediation),
            ("notification", self.notification),
            ("error_handler", self.error_handler),
        ] {
            if n < 0 {
                p.push(format!(
                    "[lambda.reserved_concurrency] {key} = {n} must be 0 (unreserved) or more (Terraform's -1 for unreserved is 0 here)"
                ));
            }
        }
    }
}

impl Default for LambdaConfig {
    fn default() -> Self {
        LambdaConfig {
            artifacts_dir: "target/lambda".into(),
            memory_mb: 256,
            timeout_seconds: 60,
            architecture: "x86_64".into(),
            role_propagation_timeout_seconds: 120,
            async_retry_attempts: 2,
            reserved_concurrency: ReservedConcurrency::default(),
        }
    }
}

/// `[events]`: delivery settings of every EventBridge target.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Retries before an event goes to the DLQ (0–185).
    pub retry_attempts: i32,
    /// Maximum age of an event being retried, in seconds (60–86400).
    pub max_event_age_seconds: i32,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            retry_attempts: 8,
            max_event_age_seconds: 3600,
        }
    }
}

impl LambdaConfig {
    /// Problems of `[lambda]`.
    pub(super) fn check(&self, p: &mut Vec<String>) {
        let l = self;
        if l.artifacts_dir.is_empty() {
            p.push("[lambda] artifacts_dir is empty".into());
        }
        if !(128..=10240).contains(&l.memory_mb) {
            p.push(format!(
                "[lambda] memory_mb = {} must be between 128 and 10240",
                l.memory_mb
            ));
        }
        if !(1..=900).contains(&l.timeout_seconds) {
            p.push(format!(
                "[lambda] timeout_seconds = {} must be between 1 and 900",
                l.timeout_seconds
            ));
        }
        if l.architecture != "x86_64" && l.architecture != "arm64" {
            p.push(format!(
                "[lambda] architecture {:?} must be \"x86_64\" or \"arm64\"",
                l.architecture
            ));
        }
        if l.role_propagation_timeout_seconds > 900 {
            p.push("[lambda] role_propagation_timeout_seconds must be at most 900".into());
        }
        if !(0..=2).contains(&l.async_retry_attempts) {
            p.push("[lambda] async_retry_attempts must be 0, 1 or 2".into());
        }
        l.reserved_concurrency.check(p);
    }
}

impl EventsConfig {
    /// Problems of `[events]`.
    pub(super) fn check(&self, p: &mut Vec<String>) {
        let ev = self;
        if !(0..=185).contains(&ev.retry_attempts) {
            p.push("[events] retry_attempts must be between 0 and 185".into());
        }
        if !(60..=86400).contains(&ev.max_event_age_seconds) {
            p.push("[events] max_event_age_seconds must be between 60 and 86400".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_concurrency_zero_is_unreserved_and_negative_is_refused() {
        let mut l = LambdaConfig::default();
        l.reserved_concurrency.notification = 0;
        assert_eq!(l.reserved_concurrency.of("remediation"), Some(3));
        assert_eq!(l.reserved_concurrency.of("notification"), None);
        l.reserved_concurrency.triage = -1;
        let mut p = Vec::new();
        l.check(&mut p);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("triage = -1 must be 0 (unreserved)"), "{p:?}");
    }
}
