//! The catalogue's remediations (`secauto_core::controls::CATALOGUE`), one file each, every one on
//! the contract of `super::contract`: a bucket's public access block (S3.2, S3.3, S3.8), a bucket
//! policy that denies requests without TLS (S3.5), a VPC's default group closed (EC2.2), EBS
//! encryption by default (EC2.7), IMDSv2 required (EC2.8), public snapshots made private (EC2.1),
//! a subnet's public addresses at launch (EC2.15), world-open ports (EC2.18, EC2.19), a transit
//! gateway's auto-accept (EC2.23), a bucket's lifecycle (S3.13), a topic's encryption (SNS.1), a
//! document's public sharing (SSM.4), a key's rotation (KMS.4), a queue's encryption (SQS.1), a
//! function's public policy (Lambda.1), the account's password policy (IAM.7, IAM.11–17), the
//! block public sharing setting for documents (SSM.7), an IAM user's old access keys (IAM.3) and
//! unused credentials (IAM.8, IAM.22; the user they share in `iam_users`), a trail's log file
//! validation (CloudTrail.4). Their
//! calls are declared in
//! `secauto_core::calls`.

mod bucket_block;
mod bucket_lifecycle;
mod bucket_tls;
mod default_group;
mod document_sharing;
mod ebs_default;
mod function_policy;
mod high_risk_ports;
mod iam_users;
mod imdsv2;
mod key_rotation;
mod log_file_validation;
mod old_access_keys;
mod password_policy;
mod public_sharing_block;
mod public_snapshots;
mod queue_encryption;
mod subnet_public_ip;
mod tgw_auto_accept;
mod topic_encryption;
mod unauthorized_ports;
mod unused_credentials;

pub use bucket_lifecycle::{LIFECYCLE_RULE_ID, PREVIOUS_LIFECYCLE_TAG};
pub use bucket_tls::TLS_STATEMENT_SID;
pub use document_sharing::PREVIOUS_SHARING_TAG;
pub use function_policy::public_statements;
pub use high_risk_ports::{reaches_high_risk_port, serves_the_web_too, HIGH_RISK_PORTS};
pub use iam_users::{
    deactivated_key_tag, max_age_days, user_of, DEACTIVATED_KEY_TAG_PREFIX, DEFAULT_MAX_AGE_DAYS,
};
pub use imdsv2::PREVIOUS_HTTP_TOKENS_TAG;
pub use password_policy::weaker as weaker_password_policy;
pub use public_sharing_block::PUBLIC_SHARING_SETTING;
pub use public_snapshots::PREVIOUS_SNAPSHOT_PERMISSION_TAG;
pub use queue_encryption::PREVIOUS_QUEUE_ENCRYPTION_TAG;
pub use subnet_public_ip::PREVIOUS_MAP_PUBLIC_IP_TAG;
pub use tgw_auto_accept::PREVIOUS_AUTO_ACCEPT_TAG;
pub use topic_encryption::{PREVIOUS_TOPIC_KEY_TAG, TOPIC_KEY};
pub use unauthorized_ports::{is_unauthorized, AuthorizedPorts, AUTHORIZED_TCP_PORTS};

use anyhow::Result;

use super::Executor;
use crate::sdk_err;

impl Executor<'_> {
    /// Whether the bucket serves a static website (its website configuration): such a bucket is
    /// meant to be reached over HTTP by anyone, so neither its public access nor plain HTTP is
    /// taken away by a remediation — the finding says so instead.
    pub(super) async fn serves_website(&self, bucket: &str) -> Result<bool> {
        let res = self
            .s3
            .get_bucket_website()
            .bucket(bucket)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if super::buckets::code(&e) == Some("NoSuchWebsiteConfiguration") => Ok(false),
            Err(e) => Err(sdk_err("s3:GetBucketWebsite", e)),
        }
    }
}

impl Executor<'_> {
    /// Record `key=value` in the tags of an EC2 resource (`tags`: its tags as read) before the
    /// first change, unless an earlier run's record is there (kept, never overwritten).
    pub(super) async fn record_in_ec2_tags(
        &self,
        id: &str,
        tags: &[(String, String)],
        (key, value): (&str, &str),
        out: &mut super::Outcome,
        protected: bool,
    ) -> Result<()> {
        if tags.iter().any(|(k, _)| k == key) {
            return Ok(());
        }
        let call = async {
            self.ec2
                .create_tags()
                .resources(id)
                .tags(super::tag(key, value))
                .send()
                .await
                .map_err(|e| sdk_err("ec2:CreateTags", e))
        };
        let what = format!("record {key}={value} in {id}'s tags");
        self.act(out, protected, what, call).await?;
        Ok(())
    }

    /// The finding's account is not the one the clients act in: refused (said in `out`).
    pub(super) fn other_account(&self, account: &str, out: &mut super::Outcome) -> bool {
        self.refused_elsewhere(account, out, || {
            format!("the finding is about account {account}")
        })
    }

    /// The resource's ARN names an account other than the one the clients act in: refused (said
    /// in `out`). A resource policy can let one account change another's topic or function (KMS
    /// and SQS refuse these changes across accounts), and these APIs take another account's ARN:
    /// the fix belongs to the resource's own account. A name or id (no ARN) is the clients'
    /// account's by construction. Without the stack's account (`SECAUTO_ACCOUNT`, which every
    /// deploy sets) nothing is refused.
    pub(super) fn other_accounts_resource(&self, arn: &str, out: &mut super::Outcome) -> bool {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, _, _, account, _] if !account.is_empty() => {
                self.refused_elsewhere(account, out, || {
                    format!("{arn} belongs to account {account}")
                })
            }
            _ => false,
        }
    }

    /// Refuse (in `out`) when `account` is not the one the clients act in, saying `what`.
    fn refused_elsewhere(
        &self,
        account: &str,
        out: &mut super::Outcome,
        what: impl FnOnce() -> String,
    ) -> bool {
        if self.account.is_empty() || account == self.account {
            return false;
        }
        let why = format!(
            "{}, not {} where remediation acts: nothing is changed",
            what(),
            self.account
        );
        refuse(out, why);
        true
    }
}

/// Keep `record` as the undo record in the finding's note (said first, as a caveat); one that
/// would not fit the note refuses the change before it happens (the contract applies nothing
/// after a refused record).
pub(super) fn record_in_note(out: &mut super::Outcome, record: String) {
    let record = format!("the undo record is this note: {record}");
    let len = record.chars().count();
    if len <= super::verdict_inputs::NOTE_RECORD_ROOM {
        out.caveats.push(record);
        return;
    }
    refuse(
        out,
        format!(
            "the undo record ({len} characters) would not fit in the finding's note, which Security Hub cuts at 512 characters: nothing is changed; make the change by hand, keeping a copy of what it replaces"
        ),
    );
}

/// Nothing is done, and why (the finding stays NOTIFIED with it).
pub(super) fn refuse(out: &mut super::Outcome, why: String) {
    out.steps.push(why.clone());
    out.refused = Some(why);
}

/// An EC2 resource's tags as `(key, value)` pairs.
pub(super) fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> Vec<(String, String)> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

/// Why a bucket that serves a website is left as it is.
pub(super) fn website_refusal(bucket: &str, what: &str) -> String {
    format!(
        "{bucket} serves a static website: {what} would take it offline for its visitors; review it by hand (or stop serving the website from the bucket)"
    )
}
