//! The remediations, one file each with its guards and its undo record: isolation of an instance
//! (`isolation`; its network containment in `containment`, its security groups in `groups`, the
//! all-traffic group's use in `untrack`, the connection-tracking timeouts in `tracking`, the
//! evidence it keeps in `evidence`), the SSM automation quarantine adds (`automation`), world-open
//! ingress (`security_groups`), bucket encryption and public access (`buckets`), and the
//! catalogue's control remediations (`controls`, one file each).
//!
//! In a dry run (notify-only mode, or a protected resource) every read still happens and every
//! write is reported as "would …". Every step that changed something is recorded in the outcome once
//! its call succeeded ([`Executor::act`]), so a failure half-way reports exactly what was changed
//! and which step failed.

use std::time::Duration;

use aws_sdk_ec2::types::Tag;
use serde::Serialize;

use crate::PROTECT_TAG;

mod admin_ports;
mod automation;
mod buckets;
mod containment;
mod contract;
mod controls;
pub mod declared;
mod dispatch;
mod evidence;
mod groups;
mod isolation;
mod quarantine;
mod security_groups;
mod tracking;
mod untrack;
mod verdict_inputs;

pub use automation::automation_token;
pub use controls::{
    deactivated_key_tag, max_age_days, user_of, DEACTIVATED_KEY_TAG_PREFIX, DEFAULT_MAX_AGE_DAYS,
};
pub use controls::{
    is_unauthorized, reaches_high_risk_port, serves_the_web_too, AuthorizedPorts,
    AUTHORIZED_TCP_PORTS, HIGH_RISK_PORTS, LIFECYCLE_RULE_ID, PREVIOUS_AUTO_ACCEPT_TAG,
    PREVIOUS_HTTP_TOKENS_TAG, PREVIOUS_LIFECYCLE_TAG, PREVIOUS_MAP_PUBLIC_IP_TAG,
    PREVIOUS_SNAPSHOT_PERMISSION_TAG, TLS_STATEMENT_SID,
};
pub use controls::{
    public_statements, weaker_password_policy, PREVIOUS_QUEUE_ENCRYPTION_TAG, PREVIOUS_SHARING_TAG,
    PREVIOUS_TOPIC_KEY_TAG, PUBLIC_SHARING_SETTING, TOPIC_KEY,
};
pub use groups::{QUARANTINE_GROUP, UNTRACK_GROUP};
pub use isolation::NOT_CUT;
pub use tracking::PREVIOUS_TRACKING_TAG;
pub use verdict_inputs::{
    authorized_ports, keep_earlier_record, parameters_may_be_stricter, undo_records_first,
    NOTE_RECORD_ROOM, UNDO_RECORD,
};

/// The tag on an instance's network interface that records the groups it had before isolation
/// (space-separated ids): written before the groups are swapped, never overwritten.
pub const PREVIOUS_GROUPS_TAG: &str = "secauto:previous-security-groups";

/// The tag that marks an isolated instance.
pub const ISOLATED_TAG: &str = "secauto:isolated";

/// What a remediation did or would do.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Outcome {
    pub steps: Vec<String>,
    /// The resource is protected (tag or configuration): nothing was changed.
    pub protected: bool,
    /// Something was changed.
    pub changed: bool,
    /// A re-read shows the resource as the action wants it.
    pub compliant: bool,
    /// Why the action was not carried out although nothing failed (a routing instance, an
    /// automation that did not succeed): the finding stays NOTIFIED with this reason.
    pub refused: Option<String>,
    /// What the action cannot do, said with its steps (in the finding's note and on SNS).
    pub caveats: Vec<String>,
    /// The action ran its repair itself after a failure, before its best-effort steps: the
    /// contract does not run it a second time (each run of a repair spends the deadline).
    pub repaired: bool,
}

impl Outcome {
    /// The caveats, then the steps: what the note and the message say (the caveats first, so
    /// a note cut to Security Hub's 512 characters keeps them).
    pub fn said(&self) -> Vec<String> {
        self.caveats.iter().chain(&self.steps).cloned().collect()
    }
}

/// A remediation that failed part-way: what it had done, and the error.
#[derive(Debug, thiserror::Error)]
#[error("{error:#}")]
pub struct Failed {
    pub outcome: Outcome,
    pub error: anyhow::Error,
}

impl Failed {
    /// A failure before anything was done.
    pub fn before_acting(error: anyhow::Error) -> Failed {
        Failed {
            outcome: Outcome::default(),
            error,
        }
    }
}

/// Resources protected by configuration (`[remediation] protected`), beside the tag: the
/// authoritative list, since anyone who may tag a resource may also tag it protected.
#[derive(Debug, Clone, Default)]
pub struct Protection {
    /// Resource ids or ARNs (`i-…`, `sg-…`, a bucket name, or their ARNs).
    pub resources: Vec<String>,
    /// `key=value` tags that protect whatever carries them.
    pub tags: Vec<(String, String)>,
}

impl Protection {
    /// Parse `PROTECTED_RESOURCES` and `PROTECTED_TAGS` (comma-separated, as deploy sets them).
    pub fn parse(resources: &str, tags: &str) -> Protection {
        Protection {
            resources: resources
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            tags: tags
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect(),
        }
    }

    /// Why `id` (with `tags`) must not be changed, if it must not.
    pub fn reason<'t>(
        &self,
        id: &str,
        tags: impl IntoIterator<Item = (&'t str, &'t str)>,
    ) -> Option<String> {
        if self.resources.iter().any(|r| names(r, id)) {
            return Some(format!(
                "{id} is listed in [remediation] protected: nothing is changed"
            ));
        }
        for (k, v) in tags {
            if k == PROTECT_TAG && v.eq_ignore_ascii_case("true") {
                return Some(format!(
                    "{id} is tagged {PROTECT_TAG}=true: nothing is changed"
                ));
            }
            if self.tags.iter().any(|(pk, pv)| pk == k && pv == v) {
                return Some(format!(
                    "{id} is tagged {k}={v}, protected by [remediation] protected_tags: nothing is changed"
                ));
            }
        }
        None
    }
}

/// Whether a `[remediation] protected` entry names the resource `id`: the same string, or, when
/// either is a bare id or name, the same last part of an ARN — a key listed by its id protects the
/// key an action names by ARN, and a bucket listed by ARN the bucket named alone. Two ARNs must be
/// equal.
fn names(entry: &str, id: &str) -> bool {
    let arn = |s: &str| s.starts_with("arn:");
    let short = |s: &'_ str| -> String { s.rsplit(['/', ':']).next().unwrap_or(s).to_string() };
    entry == id || (!(arn(entry) && arn(id)) && short(entry) == short(id))
}

/// Runs remediations against one region's clients.
pub struct Executor<'a> {
    pub ec2: &'a aws_sdk_ec2::Client,
    pub s3: &'a aws_sdk_s3::Client,
    pub ssm: &'a aws_sdk_ssm::Client,
    pub autoscaling: &'a aws_sdk_autoscaling::Client,
    pub sns: &'a aws_sdk_sns::Client,
    pub kms: &'a aws_sdk_kms::Client,
    pub sqs: &'a aws_sdk_sqs::Client,
    pub lambda: &'a aws_sdk_lambda::Client,
    pub iam: &'a aws_sdk_iam::Client,
    /// CloudTrail of the place; a trail is changed through a copy for its home region.
    pub cloudtrail: &'a aws_sdk_cloudtrail::Client,
    pub dry_run: bool,
    pub finding_id: &'a str,
    /// The fact the finding states (`Finding::fact_key`; empty: the finding id stands for it).
    /// Idempotency keys — the forensic snapshots, the automation's token — use it, so one fact
    /// arriving in both formats (ASFF and OCSF: two finding ids) is acted on once.
    pub fact: &'a str,
    /// The account the resources must belong to: every S3 call sends it as ExpectedBucketOwner,
    /// so a bucket of the same name in another account is never read or changed. Empty: unchecked.
    pub account: &'a str,
    pub isolate_document: &'a str,
    /// The role the isolation automation runs as (`AutomationAssumeRole`); empty for none.
    pub automation_role: &'a str,
    /// How long remediation follows the automation before reporting it as still running.
    pub automation_wait: Duration,
    /// Isolate instances that route traffic (SourceDestCheck off: NAT instances, appliances).
    pub isolate_routing: bool,
    pub protection: &'a Protection,
    /// When the invocation ends (Lambda's deadline); `None` for no limit. Isolation passes an
    /// interface through the all-traffic group only with time left to repair a failed move.
    pub deadline: Option<std::time::Instant>,
    /// The gate of the clients above ([`declared::Scoped`]): the contract opens it only when the
    /// run may act, so no change can be sent before or without that decision.
    pub gate: &'a declared::Gate,
}

/// The idempotency key of the work done for `fact` (a fact key, or a finding id): a UUIDv5, short
/// enough for a tag value whatever the fact's length.
pub fn fact_token(fact: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("secauto-fact:{fact}").as_bytes(),
    )
    .to_string()
}

impl Executor<'_> {
    /// The fact this run acts on, or the finding id when no fact is known.
    fn fact_or_finding(&self) -> &str {
        if self.fact.is_empty() {
            self.finding_id
        } else {
            self.fact
        }
    }

    /// This run's [`fact_token`].
    fn fact_token(&self) -> String {
        fact_token(self.fact_or_finding())
    }
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder()
        .key(k)
        .value(v.chars().take(256).collect::<String>())
        .build()
}

/// The result of a remediation: its outcome, or the outcome so far and the error.
fn finish(outcome: Outcome, res: anyhow::Result<()>) -> Result<Outcome, Failed> {
    match res {
        Ok(()) => Ok(outcome),
        Err(error) => Err(Failed { outcome, error }),
    }
}

impl Executor<'_> {
    /// One step that changes something: in a dry run (or when protected) it is only said ("would
    /// …") and `call` never runs; otherwise `call` runs and the step is recorded as done only once
    /// it succeeded, a failed call as "failed to …", so the outcome never claims a change that
    /// did not happen.
    async fn act<T>(
        &self,
        out: &mut Outcome,
        protected: bool,
        what: String,
        call: impl std::future::Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<Option<T>> {
        if !self.acting(protected) {
            out.steps.push(format!("would {what}"));
            return Ok(None);
        }
        match call.await {
            Ok(v) => {
                out.steps.push(what);
                out.changed = true;
                Ok(Some(v))
            }
            Err(e) => {
                out.steps.push(format!("failed to {what}"));
                Err(e)
            }
        }
    }

    /// Record a step already carried out (done, and `changed`, when acting), or "would …" in a
    /// dry run or when protected. Call it after the change succeeded, never before.
    fn step(&self, out: &mut Outcome, protected: bool, what: String) {
        if self.dry_run || protected {
            out.steps.push(format!("would {what}"));
        } else {
            out.steps.push(what);
            out.changed = true;
        }
    }

    fn acting(&self, protected: bool) -> bool {
        !self.dry_run && !protected
    }

    /// Note protection in the outcome; true when protected.
    fn guard<'t>(
        &self,
        out: &mut Outcome,
        id: &str,
        tags: impl IntoIterator<Item = (&'t str, &'t str)>,
    ) -> bool {
        match self.protection.reason(id, tags) {
            Some(why) => {
                out.protected = true;
                out.steps.push(why);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_listed_by_id_or_name_is_protected_when_an_action_names_it_by_arn() {
        let p = Protection::parse("1234abcd-12ab-34cd-56ef-1234567890ab, jobs, audit", "");
        for arn in [
            "arn:aws:kms:us-east-1:1:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:sqs:us-east-1:1:jobs",
            "arn:aws:cloudtrail:us-east-1:1:trail/audit",
        ] {
            assert!(p.reason(arn, []).is_some(), "{arn}");
        }
        assert!(p.reason("arn:aws:sqs:us-east-1:1:other", []).is_none());
        // Two ARNs must be the same ARN.
        let q = Protection::parse("arn:aws:sqs:us-east-1:1:jobs", "");
        assert!(q.reason("arn:aws:sqs:us-east-1:2:jobs", []).is_none());
        assert!(q.reason("jobs", []).is_some());
    }

    #[test]
    fn protection_by_tag_list_and_config() {
        let p = Protection::parse(
            "i-0abc, arn:aws:ec2:us-east-1:1:security-group/sg-9",
            "env=prod,team = core",
        );
        assert!(p.reason("i-0abc", []).is_some());
        assert!(p.reason("sg-9", []).is_some());
        assert!(p.reason("sg-1", []).is_none());
        assert!(p.reason("sg-1", [("env", "prod")]).is_some());
        assert!(p.reason("sg-1", [("team", "core")]).is_some());
        assert!(p.reason("sg-1", [("env", "dev")]).is_none());
        assert!(p.reason("x", [(PROTECT_TAG, "TRUE")]).is_some());
        assert!(Protection::default()
            .reason("x", [(PROTECT_TAG, "no")])
            .is_none());
    }
}
