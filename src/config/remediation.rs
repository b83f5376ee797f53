//! `[remediation]`: whether remediation acts, and what it must never touch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `[remediation]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RemediationConfig {
    pub mode: RemediationMode,
    /// Isolate instances that route traffic (source/destination check off: NAT instances, appliances).
    pub isolate_routing_instances: bool,
    /// Resources never changed, by id or ARN: the authoritative list (anyone who can tag can tag
    /// a resource `secauto:protect=true`, and anyone who can untag can remove it).
    pub protected: Vec<String>,
    /// Tags that protect whatever carries them (`{ env = "prod" }`).
    pub protected_tags: BTreeMap<String, String>,
    /// How long remediation follows the isolation automation before reporting it as still running;
    /// at most the functions' timeout less 10 seconds.
    pub automation_wait_seconds: u64,
}

impl Default for RemediationConfig {
    fn default() -> Self {
        RemediationConfig {
            mode: RemediationMode::default(),
            isolate_routing_instances: false,
            protected: Vec::new(),
            protected_tags: BTreeMap::new(),
            automation_wait_seconds: secauto_core::DEFAULT_AUTOMATION_WAIT_SECONDS,
        }
    }
}

/// Whether remediation acts or only reports what it would do (the same mode a triage rule's own
/// `mode` sets).
pub use secauto_core::Mode as RemediationMode;

impl RemediationConfig {
    /// Problems of `[remediation]`; the automation's wait must fit in the functions' timeout `l`.
    pub(super) fn check(&self, l: &super::LambdaConfig, p: &mut Vec<String>) {
        let r = self;
        // The remediation function's timeout is at least REMEDIATION_MIN_TIMEOUT_SECONDS.
        let timeout = l
            .timeout_seconds
            .max(secauto_core::REMEDIATION_MIN_TIMEOUT_SECONDS);
        if r.automation_wait_seconds + 10 > timeout.max(0) as u64 {
            p.push(format!(
                "[remediation] automation_wait_seconds = {} must leave 10 seconds of the remediation function's timeout ({timeout} s: [lambda] timeout_seconds = {}, at least {}): lower it or raise the timeout",
                r.automation_wait_seconds, l.timeout_seconds, secauto_core::REMEDIATION_MIN_TIMEOUT_SECONDS
            ));
        }
        for id in &r.protected {
            if id.is_empty() || id.contains(',') || id.contains(char::is_whitespace) {
                p.push(format!(
                    "[remediation] protected: {id:?} is not a resource id or ARN"
                ));
            }
        }
        for (k, v) in &r.protected_tags {
            if k.is_empty() || [k, v].iter().any(|x| x.contains(',') || x.contains('=')) {
                p.push(format!(
                    "[remediation] protected_tags: {k:?} = {v:?} must be a tag key and value without ',' or '='"
                ));
            }
        }
    }
}
