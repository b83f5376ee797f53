//! S3.13: a bucket without a lifecycle configuration. Precondition: the bucket has none
//! (GetBucketLifecycleConfiguration answers `NoSuchLifecycleConfiguration`); one with rules,
//! none of them enabled, is left as it is and the finding says so (a configuration someone wrote
//! is never replaced). Record: `secauto:previous-lifecycle=none` in the bucket's tags (an
//! earlier run's tag is kept; where S3 cannot take it, the note). Change: one enabled rule,
//! `secauto-intelligent-tiering`, moving current objects to S3 Intelligent-Tiering after 30 days
//! (ASR's default) — no expiration: nothing is ever deleted. Verification: a re-read.
//! Undo: `aws s3api delete-bucket-lifecycle --bucket …`, then delete the tag.

use anyhow::Result;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleRule, LifecycleRuleFilter, Transition,
    TransitionStorageClass,
};

use super::super::buckets::code;
use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use super::refuse;
use crate::sdk_err;

/// The tag recording that the bucket had no lifecycle configuration.
pub const PREVIOUS_LIFECYCLE_TAG: &str = "secauto:previous-lifecycle";

/// The id of the rule the remediation puts.
pub const LIFECYCLE_RULE_ID: &str = "secauto-intelligent-tiering";

impl Executor<'_> {
    /// Give a bucket without one a lifecycle configuration (S3.13).
    pub async fn set_bucket_lifecycle(&self, bucket: &str) -> Result<Outcome, Failed> {
        self.carry_out(&BucketLifecycle { bucket }).await
    }

    /// The bucket's lifecycle rules: `None` when it has no configuration.
    async fn lifecycle_rules(&self, bucket: &str) -> Result<Option<Vec<LifecycleRule>>> {
        let res = self
            .s3
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await;
        match res {
            Ok(o) => Ok(Some(o.rules().to_vec())),
            Err(e) if code(&e) == Some("NoSuchLifecycleConfiguration") => Ok(None),
            Err(e) => Err(sdk_err("s3:GetBucketLifecycleConfiguration", e)),
        }
    }
}

fn has_enabled_rule(rules: &Option<Vec<LifecycleRule>>) -> bool {
    rules
        .iter()
        .flatten()
        .any(|r| r.status() == &ExpirationStatus::Enabled)
}

struct BucketLifecycle<'a> {
    bucket: &'a str,
}

/// The bucket as read before any change.
struct Bucket {
    tags: Vec<(String, String)>,
    rules: Option<Vec<LifecycleRule>>,
}

impl Remediation for BucketLifecycle<'_> {
    type Subject = Bucket;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Bucket>> {
        let bucket = self.bucket;
        let b = Bucket {
            tags: ex.bucket_tags(bucket).await?,
            rules: ex.lifecycle_rules(bucket).await?,
        };
        if b.rules.is_some() && !has_enabled_rule(&b.rules) {
            refuse(
                out,
                format!("{bucket} has a lifecycle configuration with no enabled rule: a configuration someone wrote is never replaced; enable one of its rules by hand"),
            );
            return Ok(None);
        }
        Ok(Some(b))
    }

    fn touches(&self, b: &Bucket) -> Vec<Touched> {
        vec![Touched {
            id: self.bucket.to_string(),
            tags: b.tags.clone(),
        }]
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        b: &Bucket,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        if b.rules.is_some() {
            return Ok(());
        }
        let record = vec![(PREVIOUS_LIFECYCLE_TAG, "none".to_string())];
        ex.record_in_bucket_tags(self.bucket, &b.tags, record, out, protected)
            .await
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        b: &Bucket,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let bucket = self.bucket;
        if b.rules.is_some() {
            out.steps
                .push(format!("{bucket} already has an enabled lifecycle rule"));
            return Ok(());
        }
        let rule = LifecycleRule::builder()
            .id(LIFECYCLE_RULE_ID)
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .status(ExpirationStatus::Enabled)
            .transitions(
                Transition::builder()
                    .days(30)
                    .storage_class(TransitionStorageClass::IntelligentTiering)
                    .build(),
            )
            .build()?;
        let config = BucketLifecycleConfiguration::builder()
            .rules(rule)
            .build()?;
        let what = format!(
            "put a lifecycle rule on {bucket} ({LIFECYCLE_RULE_ID}: objects to Intelligent-Tiering after 30 days; nothing expires)"
        );
        let call = async {
            ex.s3
                .put_bucket_lifecycle_configuration()
                .bucket(bucket)
                .set_expected_bucket_owner(ex.owner())
                .lifecycle_configuration(config)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("s3:PutBucketLifecycleConfiguration", e))
        };
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    /// One call that either puts the configuration or not: nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Bucket, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        b: &Bucket,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            has_enabled_rule(&ex.lifecycle_rules(self.bucket).await?)
        } else {
            has_enabled_rule(&b.rules)
        })
    }
}
