//! The catalogue's remediations (`secauto_core::controls::CATALOGUE`), one file each, every one on
//! the contract of `super::contract`: a bucket's public access block (S3.2, S3.3, S3.8), a bucket
//! policy that denies requests without TLS (S3.5), a VPC's default group closed (EC2.2), EBS
//! encryption by default (EC2.7), IMDSv2 required (EC2.8). Their calls are declared in
//! `secauto_core::calls`.

mod bucket_block;
mod bucket_tls;
mod default_group;
mod ebs_default;
mod imdsv2;

pub use bucket_tls::TLS_STATEMENT_SID;
pub use imdsv2::PREVIOUS_HTTP_TOKENS_TAG;

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

/// Why a bucket that serves a website is left as it is.
pub(super) fn website_refusal(bucket: &str, what: &str) -> String {
    format!(
        "{bucket} serves a static website: {what} would take it offline for its visitors; review it by hand (or stop serving the website from the bucket)"
    )
}
