//! `[aws]` and `[endpoints]`: how every API call is made.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The services secauto talks to, by the name used in `[endpoints]` and in
/// `AWS_ENDPOINT_URL_<SERVICE>` variables.
pub const SERVICES: &[&str] = &[
    "iam",
    "sns",
    "sqs",
    "lambda",
    "eventbridge",
    "ssm",
    "securityhub",
    "cloudwatch",
    "sts",
    "kms",
    "s3",
];

/// `[aws]`: how hard every API call tries before a run reports it failed.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AwsConfig {
    /// Attempts per API call (throttling, 5xx, timeouts and dropped connections are retried with
    /// exponential backoff and jitter), 1–50.
    pub max_attempts: u32,
    /// Longest backoff between two attempts, in seconds.
    pub max_backoff_seconds: u64,
    /// Time allowed for one attempt, in seconds (a code upload counts as one).
    pub attempt_timeout_seconds: u64,
    /// Time allowed for one call with all its attempts, in seconds.
    pub call_timeout_seconds: u64,
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            max_attempts: 10,
            max_backoff_seconds: 20,
            attempt_timeout_seconds: 120,
            call_timeout_seconds: 600,
        }
    }
}

impl AwsConfig {
    /// Problems of `[aws]`.
    pub(super) fn check(&self, p: &mut Vec<String>) {
        let a = self;
        if !(1..=50).contains(&a.max_attempts) {
            p.push(format!(
                "[aws] max_attempts = {} must be 1–50",
                a.max_attempts
            ));
        }
        if a.attempt_timeout_seconds == 0 || a.call_timeout_seconds < a.attempt_timeout_seconds {
            p.push(format!(
                "[aws] attempt_timeout_seconds = {} must be at least 1 and at most call_timeout_seconds = {}",
                a.attempt_timeout_seconds, a.call_timeout_seconds
            ));
        }
        if a.max_backoff_seconds == 0 || a.max_backoff_seconds > 300 {
            p.push(format!(
                "[aws] max_backoff_seconds = {} must be 1–300",
                a.max_backoff_seconds
            ));
        }
    }
}

/// Problems of `[endpoints]`.
pub(super) fn check_endpoints(endpoints: &BTreeMap<String, String>, p: &mut Vec<String>) {
    for (service, url) in endpoints {
        if !SERVICES.contains(&service.as_str()) {
            p.push(format!(
                "[endpoints] {service:?} is not a service secauto uses; use one of {}",
                SERVICES.join(", ")
            ));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            p.push(format!(
                "[endpoints] {service} = {url:?} must be an http:// or https:// URL"
            ));
        }
    }
}
