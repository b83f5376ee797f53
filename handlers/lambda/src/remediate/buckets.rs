//! Bucket encryption and public access: turn on default encryption (SSE-S3, bucket key) and all
//! four public access blocks, each only when missing. Undo record: before the first change the
//! bucket is tagged with what it had (`secauto:previous-encryption=none`,
//! `secauto:previous-public-access-block=none` or the four flags as they were), a tag an earlier
//! run wrote is kept. S3 rewrites a bucket's whole tag set and refuses to rewrite `aws:` system
//! tags (CloudFormation's), so a bucket carrying them, or one with no room for two more tags, keeps
//! its record in the finding's note only (said as a caveat). Undo: delete the encryption
//! configuration or put back the public access block the tags record.

use anyhow::Result;
use aws_sdk_s3::types::{
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::contract::{Remediation, Touched};
use super::{Executor, Failed, Outcome};
use crate::sdk_err;

impl Executor<'_> {
    /// Default encryption (SSE-S3) and the four public access blocks on the bucket.
    pub async fn enable_bucket_encryption(&self, bucket: &str) -> Result<Outcome, Failed> {
        self.carry_out(&BucketEncryption { bucket }).await
    }

    /// The account the bucket must belong to, for S3's ExpectedBucketOwner.
    pub(super) fn owner(&self) -> Option<String> {
        Some(self.account.to_string()).filter(|a| !a.is_empty())
    }

    async fn encrypted(&self, bucket: &str) -> Result<bool> {
        let res = self
            .s3
            .get_bucket_encryption()
            .bucket(bucket)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await;
        match res {
            Ok(o) => Ok(o
                .server_side_encryption_configuration()
                .is_some_and(|c| !c.rules().is_empty())),
            Err(e) if code(&e) == Some("ServerSideEncryptionConfigurationNotFoundError") => {
                Ok(false)
            }
            Err(e) => Err(sdk_err("s3:GetBucketEncryption", e)),
        }
    }

    /// The bucket's public access block; `None` when it has none.
    pub(super) async fn access_block(
        &self,
        bucket: &str,
    ) -> Result<Option<PublicAccessBlockConfiguration>> {
        let res = self
            .s3
            .get_public_access_block()
            .bucket(bucket)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await;
        match res {
            Ok(o) => Ok(o.public_access_block_configuration().cloned()),
            Err(e) if code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => Ok(None),
            Err(e) => Err(sdk_err("s3:GetPublicAccessBlock", e)),
        }
    }

    pub(super) async fn bucket_tags(&self, bucket: &str) -> Result<Vec<(String, String)>> {
        let res = self
            .s3
            .get_bucket_tagging()
            .bucket(bucket)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await;
        match res {
            Ok(t) => Ok(t
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()),
            Err(e) if code(&e) == Some("NoSuchTagSet") => Ok(vec![]),
            Err(e) => Err(sdk_err("s3:GetBucketTagging", e)),
        }
    }

    /// Replace the bucket's tag set with `tags` (S3 has no call that adds one tag).
    async fn put_bucket_tags(&self, bucket: &str, tags: &[(String, String)]) -> Result<()> {
        let set = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()?;
        self.s3
            .put_bucket_tagging()
            .bucket(bucket)
            .set_expected_bucket_owner(self.owner())
            .tagging(Tagging::builder().set_tag_set(Some(set)).build()?)
            .send()
            .await
            .map_err(|e| sdk_err("s3:PutBucketTagging", e))?;
        Ok(())
    }

    async fn encrypt(&self, bucket: &str) -> Result<()> {
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(
                ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::Aes256)
                    .build()?,
            )
            .bucket_key_enabled(true)
            .build();
        self.s3
            .put_bucket_encryption()
            .bucket(bucket)
            .set_expected_bucket_owner(self.owner())
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| sdk_err("s3:PutBucketEncryption", e))?;
        Ok(())
    }

    pub(super) async fn block(&self, bucket: &str) -> Result<()> {
        self.s3
            .put_public_access_block()
            .bucket(bucket)
            .set_expected_bucket_owner(self.owner())
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk_err("s3:PutPublicAccessBlock", e))?;
        Ok(())
    }
}

pub(super) fn code<E: ProvideErrorMetadata>(e: &E) -> Option<&str> {
    e.code()
}

/// All four public access blocks on.
pub(super) fn fully_blocked(c: Option<&PublicAccessBlockConfiguration>) -> bool {
    c.is_some_and(|c| {
        c.block_public_acls() == Some(true)
            && c.ignore_public_acls() == Some(true)
            && c.block_public_policy() == Some(true)
            && c.restrict_public_buckets() == Some(true)
    })
}

impl Executor<'_> {
    /// Write `record` (tag key, value) in the bucket's tags before the first change, keeping every
    /// key an earlier run wrote; where S3 cannot take them (`aws:` system tags, which S3 refuses to
    /// rewrite with the whole tag set, or no room among 50), the record is the finding's note,
    /// said first.
    pub(super) async fn record_in_bucket_tags(
        &self,
        bucket: &str,
        tags: &[(String, String)],
        mut record: Vec<(&str, String)>,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let has = |k: &str| tags.iter().any(|(t, _)| t == k);
        record.retain(|(k, _)| !has(k));
        if record.is_empty() {
            return Ok(());
        }
        let said = record
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        if tags.iter().any(|(k, _)| k.starts_with("aws:"))
            || tags.len() + record.len() > MAX_BUCKET_TAGS
        {
            out.caveats.push(format!(
                "the undo record of {bucket} is this note only ({said}): its tags cannot take it (S3 rewrites a bucket's whole tag set and refuses to rewrite aws: system tags; a bucket holds 50)"
            ));
            return Ok(());
        }
        let mut all = tags.to_vec();
        all.extend(record.into_iter().map(|(k, v)| (k.to_string(), v)));
        let what = format!("record {said} in {bucket}'s tags");
        self.act(out, protected, what, self.put_bucket_tags(bucket, &all))
            .await?;
        Ok(())
    }
}

/// Default encryption and public access blocks of one bucket.
struct BucketEncryption<'a> {
    bucket: &'a str,
}

/// The bucket as read before any change.
struct Bucket {
    tags: Vec<(String, String)>,
    encrypted: bool,
    /// The public access block as it was: `None` when there was none.
    block: Option<PublicAccessBlockConfiguration>,
}

/// The tag recording the bucket's default encryption before the first change.
pub const PREVIOUS_ENCRYPTION_TAG: &str = "secauto:previous-encryption";
/// The tag recording the bucket's public access block before the first change.
pub const PREVIOUS_BLOCK_TAG: &str = "secauto:previous-public-access-block";
/// A bucket holds at most 50 tags.
const MAX_BUCKET_TAGS: usize = 50;

/// The record's value for a public access block (or its absence).
pub(super) fn block_record(c: Option<&PublicAccessBlockConfiguration>) -> String {
    let Some(c) = c else {
        return "none".to_string();
    };
    let flag = |v: Option<bool>| v.unwrap_or(false);
    format!(
        "BlockPublicAcls={} IgnorePublicAcls={} BlockPublicPolicy={} RestrictPublicBuckets={}",
        flag(c.block_public_acls()),
        flag(c.ignore_public_acls()),
        flag(c.block_public_policy()),
        flag(c.restrict_public_buckets())
    )
}

impl Remediation for BucketEncryption<'_> {
    type Subject = Bucket;

    async fn read(&self, ex: &Executor<'_>, _: &mut Outcome) -> Result<Option<Bucket>> {
        Ok(Some(Bucket {
            tags: ex.bucket_tags(self.bucket).await?,
            encrypted: ex.encrypted(self.bucket).await?,
            block: ex.access_block(self.bucket).await?,
        }))
    }

    fn touches(&self, b: &Bucket) -> Vec<Touched> {
        vec![Touched {
            id: self.bucket.to_string(),
            tags: b.tags.clone(),
        }]
    }

    /// What the bucket had, in its tags (kept when an earlier run wrote them), or, where S3 cannot
    /// take them, in the note.
    async fn record(
        &self,
        ex: &Executor<'_>,
        b: &Bucket,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let mut record = Vec::new();
        if !b.encrypted {
            record.push((PREVIOUS_ENCRYPTION_TAG, "none".to_string()));
        }
        if !fully_blocked(b.block.as_ref()) {
            record.push((PREVIOUS_BLOCK_TAG, block_record(b.block.as_ref())));
        }
        ex.record_in_bucket_tags(self.bucket, &b.tags, record, out, protected)
            .await
    }

    /// Encryption, then the public access block, each only when missing.
    async fn apply(
        &self,
        ex: &Executor<'_>,
        b: &Bucket,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let bucket = self.bucket;
        if b.encrypted {
            out.steps
                .push(format!("{bucket} already has default encryption"));
        } else {
            let what = format!("turn on default encryption (SSE-S3) of {bucket}");
            ex.act(out, protected, what, ex.encrypt(bucket)).await?;
        }
        if fully_blocked(b.block.as_ref()) {
            out.steps
                .push(format!("{bucket} already blocks public access"));
        } else {
            let what = format!("block all public access to {bucket}");
            ex.act(out, protected, what, ex.block(bucket)).await?;
        }
        Ok(())
    }

    /// Each change only closes the bucket further: a failure after the first leaves it safer than it was, nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Bucket, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    /// Closed only when the bucket is really encrypted and blocked.
    async fn verify(
        &self,
        ex: &Executor<'_>,
        b: &Bucket,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            ex.encrypted(self.bucket).await?
                && fully_blocked(ex.access_block(self.bucket).await?.as_ref())
        } else {
            b.encrypted && fully_blocked(b.block.as_ref())
        })
    }
}
