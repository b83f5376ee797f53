//! Bucket encryption and public access: turn on default encryption (SSE-S3, bucket key) and all
//! four public access blocks, each only when missing. Undo: delete the bucket's encryption
//! configuration or its public access block (the outcome lists which were turned on).

use anyhow::Result;
use aws_sdk_s3::types::{
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};

use super::{finish, Executor, Failed, Outcome};
use crate::sdk_err;

impl Executor<'_> {
    /// Default encryption (SSE-S3) and the four public access blocks on the bucket.
    pub async fn enable_bucket_encryption(&self, bucket: &str) -> Result<Outcome, Failed> {
        let mut out = Outcome::default();
        let res = self.bucket(bucket, &mut out).await;
        finish(out, res)
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

    async fn bucket(&self, bucket: &str, out: &mut Outcome) -> Result<()> {
        let tags: Vec<(String, String)> =
            match self.s3.get_bucket_tagging().bucket(bucket).send().await {
                Ok(t) => t
                    .tag_set()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
                Err(e)
                    if aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
                        == Some("NoSuchTagSet") =>
                {
                    vec![]
                }
                Err(e) => return Err(sdk_err("s3:GetBucketTagging", e)),
            };
        let protected = self.guard(
            out,
            bucket,
            tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let encrypted = self.encrypted(bucket).await?;
        if encrypted {
            out.steps
                .push(format!("{bucket} already has default encryption"));
        } else {
            self.step(
                out,
                protected,
                format!("turn on default encryption (SSE-S3) of {bucket}"),
            );
            if self.acting(protected) {
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
            }
        }
        let blocked = self.blocked(bucket).await?;
        if blocked {
            out.steps
                .push(format!("{bucket} already blocks public access"));
        } else {
            self.step(
                out,
                protected,
                format!("block all public access to {bucket}"),
            );
            if self.acting(protected) {
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
            }
        }
        // Re-read: the finding is closed only when the bucket is really encrypted and blocked.
        out.compliant = if self.acting(protected) && out.changed {
            self.encrypted(bucket).await? && self.blocked(bucket).await?
        } else {
            encrypted && blocked
        };
        Ok(())
    }
}
