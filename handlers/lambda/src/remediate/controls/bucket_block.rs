//! S3.2, S3.3, S3.8: a bucket's public access block. Precondition: the bucket does not already
//! block all public access, and does not serve a static website (blocking would take the website
//! offline: refused, the finding says so). Record: the block as it was, in the bucket's tag
//! `secauto:previous-public-access-block` (`none` or the four flags; an earlier run's tag is kept;
//! where S3 cannot take it, the note). Change: all four blocks on. Verification: a re-read.
//! Undo: put back the four flags the tag records, or delete the block if it records `none`.

use anyhow::Result;
use aws_sdk_s3::types::PublicAccessBlockConfiguration;

use super::super::buckets::{block_record, fully_blocked, PREVIOUS_BLOCK_TAG};
use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};

impl Executor<'_> {
    /// Turn on the four public access blocks of the bucket (S3.2, S3.3, S3.8).
    pub async fn block_bucket_public_access(&self, bucket: &str) -> Result<Outcome, Failed> {
        self.carry_out(&BucketBlock { bucket }).await
    }
}

struct BucketBlock<'a> {
    bucket: &'a str,
}

/// The bucket as read before any change.
struct Bucket {
    tags: Vec<(String, String)>,
    block: Option<PublicAccessBlockConfiguration>,
}

impl Remediation for BucketBlock<'_> {
    type Subject = Bucket;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Bucket>> {
        let bucket = self.bucket;
        let b = Bucket {
            tags: ex.bucket_tags(bucket).await?,
            block: ex.access_block(bucket).await?,
        };
        if !fully_blocked(b.block.as_ref()) && ex.serves_website(bucket).await? {
            let why = super::website_refusal(bucket, "blocking public access");
            out.steps.push(why.clone());
            out.refused = Some(why);
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
        if fully_blocked(b.block.as_ref()) {
            return Ok(());
        }
        let record = vec![(PREVIOUS_BLOCK_TAG, block_record(b.block.as_ref()))];
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
        if fully_blocked(b.block.as_ref()) {
            out.steps
                .push(format!("{bucket} already blocks all public access"));
            return Ok(());
        }
        let what =
            format!("block all public access to {bucket} (the bucket's four public access blocks)");
        ex.act(out, protected, what, ex.block(bucket)).await?;
        Ok(())
    }

    /// One call that either blocks public access or not: nothing to repair.
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
            fully_blocked(ex.access_block(self.bucket).await?.as_ref())
        } else {
            fully_blocked(b.block.as_ref())
        })
    }
}
