//! Bucket encryption and public access: turn on default encryption (SSE-S3, bucket key) and all
//! four public access blocks, each only when missing. Undo: delete the bucket's encryption
//! configuration or its public access block (the outcome lists which were turned on).

use anyhow::Result;
use aws_sdk_s3::types::{
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};

use super::contract::{Remediation, Touched};
use super::{Executor, Failed, Outcome};
use crate::sdk_err;

impl Executor<'_> {
    /// Default encryption (SSE-S3) and the four public access blocks on the bucket.
    pub async fn enable_bucket_encryption(&self, bucket: &str) -> Result<Outcome, Failed> {
        self.carry_out(&BucketEncryption { bucket }).await
    }

    async fn encrypted(&self, bucket: &str) -> Result<bool> {
        match self.s3.get_bucket_encryption().bucket(bucket).send().await {
            Ok(o) => Ok(o
                .server_side_encryption_configuration()
                .is_some_and(|c| !c.rules().is_empty())),
            Err(e)
                if aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
                    == Some("ServerSideEncryptionConfigurationNotFoundError") =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_err("s3:GetBucketEncryption", e)),
        }
    }

    async fn blocked(&self, bucket: &str) -> Result<bool> {
        match self
            .s3
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(o) => Ok(o.public_access_block_configuration().is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            })),
            Err(e)
                if aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
                    == Some("NoSuchPublicAccessBlockConfiguration") =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_err("s3:GetPublicAccessBlock", e)),
        }
    }

    async fn bucket_tags(&self, bucket: &str) -> Result<Vec<(String, String)>> {
        match self.s3.get_bucket_tagging().bucket(bucket).send().await {
            Ok(t) => Ok(t
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()),
            Err(e)
                if aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
                    == Some("NoSuchTagSet") =>
            {
                Ok(vec![])
            }
            Err(e) => Err(sdk_err("s3:GetBucketTagging", e)),
        }
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

    async fn block(&self, bucket: &str) -> Result<()> {
        self.s3
            .put_public_access_block()
            .bucket(bucket)
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

/// Default encryption and public access blocks of one bucket.
struct BucketEncryption<'a> {
    bucket: &'a str,
}

/// The bucket as read before any change.
struct Bucket {
    tags: Vec<(String, String)>,
    encrypted: bool,
    blocked: bool,
}

impl Remediation for BucketEncryption<'_> {
    type Subject = Bucket;

    async fn read(&self, ex: &Executor<'_>, _: &mut Outcome) -> Result<Option<Bucket>> {
        Ok(Some(Bucket {
            tags: ex.bucket_tags(self.bucket).await?,
            encrypted: ex.encrypted(self.bucket).await?,
            blocked: ex.blocked(self.bucket).await?,
        }))
    }

    fn touches(&self, b: &Bucket) -> Vec<Touched> {
        vec![Touched {
            id: self.bucket.to_string(),
            tags: b.tags.clone(),
        }]
    }

    /// What was turned on is the undo record: each is named in a step.
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
            ex.step(out, protected, what);
            if ex.acting(protected) {
                ex.encrypt(bucket).await?;
            }
        }
        if b.blocked {
            out.steps
                .push(format!("{bucket} already blocks public access"));
        } else {
            ex.step(
                out,
                protected,
                format!("block all public access to {bucket}"),
            );
            if ex.acting(protected) {
                ex.block(bucket).await?;
            }
        }
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
            ex.encrypted(self.bucket).await? && ex.blocked(self.bucket).await?
        } else {
            b.encrypted && b.blocked
        })
    }
}
