//! KMS.4: a customer managed key without automatic rotation. Precondition: DescribeKey shows a
//! key KMS can rotate — customer managed, symmetric encryption (`SYMMETRIC_DEFAULT`), key
//! material from KMS (`AWS_KMS`), `Enabled`; EnableKeyRotation refuses the others
//! (`UnsupportedOperationException`: asymmetric, HMAC, imported or custom key store keys;
//! `KMSInvalidStateException`/`DisabledException`: a key not enabled), and AWS managed keys
//! rotate by themselves — each is left as it is and the finding says why. Protection: the key's
//! tags. Record: rotation was off — the finding's note, said first (a tag on a key can change
//! who may use it, where policies condition on tags). Change: EnableKeyRotation (KMS's default
//! period, 365 days; earlier key material stays, so everything encrypted stays readable — and is
//! billed: each rotation adds a key material version to the key's monthly cost, for the first
//! two rotations).
//! A key whose policy does not let the account's IAM policies in (any of its calls —
//! DescribeKey, ListResourceTags, GetKeyRotationStatus, EnableKeyRotation — answers
//! AccessDeniedException: a key policy may grant `kms:Describe*` and not `kms:Get*`) is refused
//! with why, not failed: a retry could not change it.
//! Verification: GetKeyRotationStatus re-read. Undo: `aws kms disable-key-rotation --key-id …`.

use anyhow::Result;
use aws_sdk_kms::types::{
    KeyManagerType, KeyMetadata, KeySpec, KeyState, MultiRegionKeyType, OriginType,
};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use super::refuse;
use crate::retry::read_until;
use crate::sdk_err;

impl Executor<'_> {
    /// Turn on automatic rotation of a customer managed key (KMS.4); `key` is its ARN or id.
    pub async fn enable_key_rotation(&self, key: &str) -> Result<Outcome, Failed> {
        self.carry_out(&KeyRotation { key }).await
    }

    async fn rotates(&self, key: &str) -> Result<bool> {
        let out = self
            .kms
            .get_key_rotation_status()
            .key_id(key)
            .send()
            .await
            .map_err(|e| kms_err("kms:GetKeyRotationStatus", e))?;
        Ok(out.key_rotation_enabled())
    }
}

/// A KMS call's error: AccessDeniedException as [`Denied`] (the run refuses the key), any
/// other as it is.
fn kms_err<E, R>(op: &'static str, e: SdkError<E, R>) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if e.code() == Some("AccessDeniedException") {
        let message = e.message().unwrap_or_default().to_string();
        Denied { op, message }.into()
    } else {
        sdk_err(op, e)
    }
}

/// Why KMS cannot rotate this key automatically, if it cannot.
fn not_rotatable(m: &KeyMetadata) -> Option<String> {
    if m.key_manager() == Some(&KeyManagerType::Aws) {
        return Some("an AWS managed key, which AWS rotates every year by itself".into());
    }
    if m.key_spec() != Some(&KeySpec::SymmetricDefault) {
        let spec = m.key_spec().map(|s| s.as_str()).unwrap_or("unknown");
        return Some(format!(
            "a {spec} key: KMS rotates symmetric encryption keys only"
        ));
    }
    if m.origin() != Some(&OriginType::AwsKms) {
        let origin = m.origin().map(|o| o.as_str()).unwrap_or("unknown");
        return Some(format!(
            "key material from {origin}: KMS rotates only key material it made (rotate imported or custom key store keys by hand)"
        ));
    }
    let replica = m
        .multi_region_configuration()
        .and_then(|c| c.multi_region_key_type());
    if replica == Some(&MultiRegionKeyType::Replica) {
        let primary = m
            .multi_region_configuration()
            .and_then(|c| c.primary_key())
            .and_then(|p| p.arn())
            .unwrap_or("its primary key");
        return Some(format!(
            "a multi-Region replica key: its rotation is the primary key's ({primary}), which KMS shares with every replica — turn rotation on there"
        ));
    }
    if m.key_state() != Some(&KeyState::Enabled) {
        let state = m.key_state().map(|s| s.as_str()).unwrap_or("unknown");
        return Some(format!(
            "{state}: KMS turns rotation on only for an enabled key"
        ));
    }
    None
}

/// KMS refused a call on the key (AccessDeniedException): retrying cannot change that.
#[derive(Debug, thiserror::Error)]
#[error("{op}: AccessDeniedException: {message}")]
struct Denied {
    op: &'static str,
    /// KMS's message, which says what denied it (no identity-based policy, an SCP, the key
    /// policy).
    message: String,
}

/// Why a key KMS refuses this role is left as it is.
fn denied(key: &str, d: &Denied) -> String {
    format!("{key} refused this account's remediation role ({d}): the key policy may not let the account's IAM policies in, or an SCP, a permission boundary or a role policy not yet propagated denies it; nothing more is changed — turn rotation on as a principal the key policy names")
}

/// The key as read, or why KMS cannot rotate it; [`Denied`] when KMS refuses a read.
async fn read_key(ex: &Executor<'_>, key: &str) -> Result<Result<Key, String>> {
    let described = ex.kms.describe_key().key_id(key).send().await;
    let described = described.map_err(|e| kms_err("kms:DescribeKey", e))?;
    if let Some(why) = described.key_metadata().and_then(not_rotatable) {
        return Ok(Err(why));
    }
    let tags = ex.kms.list_resource_tags().key_id(key).send().await;
    let tags = tags.map_err(|e| kms_err("kms:ListResourceTags", e))?;
    let tags = tags
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .collect();
    Ok(Ok(Key {
        rotates: ex.rotates(key).await?,
        tags,
    }))
}

struct KeyRotation<'a> {
    key: &'a str,
}

/// The key as read before any change.
struct Key {
    rotates: bool,
    tags: Vec<(String, String)>,
}

impl Remediation for KeyRotation<'_> {
    type Subject = Key;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Key>> {
        if ex.other_accounts_resource(self.key, out) {
            return Ok(None);
        }
        match read_key(ex, self.key).await {
            Ok(Err(why)) => {
                refuse(out, format!("{} is {why}: nothing is changed", self.key));
                Ok(None)
            }
            Ok(Ok(key)) => Ok(Some(key)),
            // IAM grants KMS permissions only where the key's policy lets IAM: a key whose
            // policy does not stays refused however often the run is retried.
            Err(e) => match e.downcast_ref::<Denied>() {
                Some(d) => {
                    refuse(out, denied(self.key, d));
                    Ok(None)
                }
                None => Err(e),
            },
        }
    }

    fn touches(&self, k: &Key) -> Vec<Touched> {
        vec![Touched {
            id: self.key.to_string(),
            tags: k.tags.clone(),
        }]
    }

    async fn record(&self, _: &Executor<'_>, k: &Key, out: &mut Outcome, _: bool) -> Result<()> {
        if !k.rotates {
            let record = format!(
                "automatic rotation of {} was off (undo: aws kms disable-key-rotation --key-id {0})",
                self.key
            );
            super::record_in_note(out, record);
        }
        Ok(())
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        k: &Key,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let key = self.key;
        if k.rotates {
            out.steps
                .push(format!("{key} already rotates automatically"));
            return Ok(());
        }
        let what = format!("turn on automatic rotation of {key} (earlier key material is kept)");
        let call = async {
            let sent = ex.kms.enable_key_rotation().key_id(key).send().await;
            sent.map(|_| ())
                .map_err(|e| kms_err("kms:EnableKeyRotation", e))
        };
        match ex.act(out, protected, what, call).await {
            Err(e) => match e.downcast_ref::<Denied>() {
                Some(d) => {
                    refuse(out, denied(key, d));
                    Ok(())
                }
                None => Err(e),
            },
            Ok(_) => Ok(()),
        }
    }

    /// One call that either turns rotation on or not: nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Key, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        k: &Key,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            // KMS's reads are eventually consistent too.
            read_until(ex.deadline, || ex.rotates(self.key), |on| *on).await?
        } else {
            k.rotates
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kms::types::{MultiRegionConfiguration, MultiRegionKey};

    fn key(kind: Option<MultiRegionKeyType>) -> KeyMetadata {
        let mut m = KeyMetadata::builder()
            .key_id("k")
            .key_manager(KeyManagerType::Customer)
            .key_spec(KeySpec::SymmetricDefault)
            .origin(OriginType::AwsKms)
            .key_state(KeyState::Enabled);
        if let Some(kind) = kind {
            m = m.multi_region_configuration(
                MultiRegionConfiguration::builder()
                    .multi_region_key_type(kind)
                    .primary_key(
                        MultiRegionKey::builder()
                            .arn("arn:aws:kms:us-west-2:123456789012:key/mrk-1")
                            .region("us-west-2")
                            .build(),
                    )
                    .build(),
            );
        }
        m.build().unwrap()
    }

    /// A replica's rotation is its primary's (EnableKeyRotation answers a replica with
    /// UnsupportedOperationException): refused, naming the primary; a primary is rotated.
    #[test]
    fn a_multi_region_replica_is_refused_and_its_primary_named() {
        let why = not_rotatable(&key(Some(MultiRegionKeyType::Replica))).unwrap();
        assert!(why.contains("replica"), "{why}");
        assert!(why.contains("key/mrk-1"), "{why}");
        assert_eq!(not_rotatable(&key(Some(MultiRegionKeyType::Primary))), None);
        assert_eq!(not_rotatable(&key(None)), None);
    }
}
