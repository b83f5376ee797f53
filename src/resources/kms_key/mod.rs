//! The stack's customer-managed KMS key and its alias: it encrypts the topic (so CloudWatch alarms and
//! EventBridge, which cannot use the AWS-managed `alias/aws/sns`, can publish) and the functions'
//! environment. A key's id is made by KMS, so the key is found by its alias; rotation is on.
//! Deleting schedules the key's deletion (the 7-day minimum) and removes the alias.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_kms::types::KeyState;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::sweep::{keep, ours, Leftover, Search};
use super::{parse_policy, split_id, tags_value, touches, Applied, Ctx, Difference, Kind, Live};
use crate::error::{aws, is_not_found};
use crate::retry::{retry_when, Budget, Transient};

mod orphans;

pub use orphans::orphans;

/// Days between `destroy` and the key's deletion: the shortest KMS allows.
pub const DELETION_WINDOW_DAYS: i32 = 7;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    /// `alias/<name>`.
    pub alias: String,
    pub description: String,
    pub policy: Value,
}

impl Spec {
    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("description".into(), json!(self.description));
        m.insert("policy".into(), self.policy.clone());
        m.insert("rotation".into(), json!(true));
        m.insert("key_state".into(), json!("Enabled"));
        m.insert("tags".into(), tags_value(&ctx.tags));
        m
    }
}

/// The alias is followed only to a key the stack owns: its `secauto:stack` tag names the stack (a
/// state that records the key proves nothing: an earlier version recorded whatever key the alias
/// named). Anyone else's key (untagged, another stack's, one whose tags we may not read) is a
/// conflict, `--adopt` or not: its policy, description, rotation and tags stay as they are, and it
/// is never scheduled for deletion.
impl super::Ownership for Spec {
    fn conflict(&self, ctx: &Ctx, live: &Live, claim: super::Claim<'_>) -> Option<String> {
        let key_id = split_id(&live.physical_id).map_or("?", |(_, k)| k);
        let whose = match live.owner() {
            Some(owner) if owner == ctx.stack => {
                return super::tagged_conflict(ctx, live, claim);
            }
            Some(owner) => format!("belongs to stack {owner:?}"),
            None => format!("is not tagged {}={}", super::STACK_TAG, ctx.stack),
        };
        Some(format!(
            "the alias {alias} points to KMS key {key_id}, which {whose}: secauto never changes or deletes a key it does not own (--adopt does not take keys over). Point the alias back at this stack's key (`aws kms update-alias --alias-name {alias} --target-key-id <key id>`) or delete the alias (`aws kms delete-alias --alias-name {alias}`) so that deploy makes the stack's own key",
            alias = self.alias
        ))
    }
}

/// Whether the key carries the stack's tag; a key whose tags we may not read is not ours.
async fn tagged_ours(ctx: &Ctx, key_id: &str) -> Result<Option<bool>> {
    match ctx
        .clients
        .kms
        .list_resource_tags()
        .key_id(key_id)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out.tags().iter().any(|t| {
            t.tag_key() == super::STACK_TAG && t.tag_value() == ctx.stack
        }))),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) if crate::error::code(&e) == Some("AccessDeniedException") => Ok(Some(false)),
        Err(e) => Err(aws("kms:ListResourceTags", e)),
    }
}

/// KMS checks every principal of a key policy when it is set; a role IAM has not propagated yet is
/// "invalid" for a few seconds.
pub const PRINCIPAL_NOT_READY: Transient = Transient {
    when: |a| a.is("MalformedPolicyDocumentException", "invalid principals"),
    hint: "IAM has not propagated the functions' role named in the key policy yet; raise [lambda] role_propagation_timeout_seconds and re-run deploy",
};

/// The key's ARN for an alias, key id or ARN; `None` when there is no such key.
pub async fn resolve_arn(ctx: &Ctx, key: &str) -> Result<Option<String>> {
    if let Some(arn) = ctx.keys.arns.lock().ok().and_then(|m| m.get(key).cloned()) {
        return Ok(Some(arn));
    }
    match ctx.clients.kms.describe_key().key_id(key).send().await {
        Ok(out) => Ok(out.key_metadata.map(|m| m.arn.unwrap_or(m.key_id))),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(aws("kms:DescribeKey", e)),
    }
}

fn kms_tags(ctx: &Ctx) -> Result<Vec<aws_sdk_kms::types::Tag>> {
    ctx.tags
        .iter()
        .map(|(k, v)| {
            Ok(aws_sdk_kms::types::Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()?)
        })
        .collect()
}

/// A key the alias names that is not the stack's: only what ownership needs, nothing else read
/// (its policy may refuse us anything more).
fn foreign(spec: &Spec, key_id: &str, arn: Option<String>, tags: BTreeMap<String, String>) -> Live {
    Live {
        physical_id: format!("{}|{key_id}", spec.alias),
        arn,
        fields: Map::new(),
        tags: Some(tags),
    }
}

/// The key an alias names, from the account's alias list (which needs no permission on the key).
async fn alias_target(ctx: &Ctx, alias: &str) -> Result<Option<String>> {
    let mut pages = ctx.clients.kms.list_aliases().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("kms:ListAliases", e))?;
        if let Some(a) = page
            .aliases()
            .iter()
            .find(|a| a.alias_name() == Some(alias))
        {
            return Ok(a.target_key_id().map(String::from));
        }
    }
    Ok(None)
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let kms = &ctx.clients.kms;
    let meta = match kms.describe_key().key_id(&spec.alias).send().await {
        Ok(out) => match out.key_metadata {
            Some(m) => m,
            None => return Ok(None),
        },
        Err(e) if is_not_found(&e) => return Ok(None),
        // Another account's key policy need not let us describe its key: it is not ours.
        Err(e) if crate::error::code(&e) == Some("AccessDeniedException") => {
            let Some(key_id) = alias_target(ctx, &spec.alias).await? else {
                return Err(aws("kms:DescribeKey", e));
            };
            return Ok(Some(foreign(spec, &key_id, None, BTreeMap::new())));
        }
        Err(e) => return Err(aws("kms:DescribeKey", e)),
    };
    let key_id = meta.key_id.clone();
    // Ownership first: the policy and rotation of a key that is not ours are never read.
    let tags: BTreeMap<String, String> = match kms.list_resource_tags().key_id(&key_id).send().await
    {
        Ok(out) => out
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.tag_key, t.tag_value))
            .collect(),
        Err(e) if crate::error::code(&e) == Some("AccessDeniedException") => {
            return Ok(Some(foreign(spec, &key_id, meta.arn, BTreeMap::new())))
        }
        Err(e) => return Err(aws("kms:ListResourceTags", e)),
    };
    if tags.get(super::STACK_TAG) != Some(&ctx.stack) {
        return Ok(Some(foreign(spec, &key_id, meta.arn, tags)));
    }
    let (policy, rotation) = futures::join!(
        kms.get_key_policy()
            .key_id(&key_id)
            .policy_name("default")
            .send(),
        kms.get_key_rotation_status().key_id(&key_id).send(),
    );
    let policy = policy
        .map_err(|e| aws("kms:GetKeyPolicy", e))?
        .policy
        .unwrap_or_default();
    let rotation = rotation
        .map_err(|e| aws("kms:GetKeyRotationStatus", e))?
        .key_rotation_enabled;
    let mut fields = Map::new();
    fields.insert(
        "description".into(),
        json!(meta.description.clone().unwrap_or_default()),
    );
    fields.insert("policy".into(), parse_policy(&policy));
    fields.insert("rotation".into(), json!(rotation));
    fields.insert(
        "key_state".into(),
        json!(meta
            .key_state
            .as_ref()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default()),
    );
    fields.insert("tags".into(), tags_value(&tags));
    Ok(Some(Live {
        physical_id: format!("{}|{key_id}", spec.alias),
        arn: meta.arn,
        fields,
        tags: Some(tags),
    }))
}

/// Set the key's policy, retried while IAM has not propagated a role it names.
async fn put_policy(ctx: &Ctx, key_id: &str, policy: &str) -> Result<()> {
    let kms = &ctx.clients.kms;
    retry_when(
        "kms:PutKeyPolicy",
        Budget::new(ctx.role_wait),
        &PRINCIPAL_NOT_READY,
        || {
            kms.put_key_policy()
                .key_id(key_id)
                .policy_name("default")
                .policy(policy)
                .send()
        },
    )
    .await?;
    Ok(())
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let kms = &ctx.clients.kms;
    let tags = kms_tags(ctx)?;
    let policy = spec.policy.to_string();
    if let Some(key_id) = orphans(ctx).await?.into_iter().next() {
        // Ours, from a run that stopped before naming it: name it rather than make a second key.
        put_policy(ctx, &key_id, &policy).await?;
        let meta = kms
            .describe_key()
            .key_id(&key_id)
            .send()
            .await
            .map_err(|e| aws("kms:DescribeKey", e))?
            .key_metadata
            .ok_or_else(|| anyhow::anyhow!("kms:DescribeKey returned no key metadata"))?;
        return name_key(ctx, spec, meta).await;
    }
    let meta = retry_when(
        "kms:CreateKey",
        Budget::new(ctx.role_wait),
        &PRINCIPAL_NOT_READY,
        || {
            kms.create_key()
                .description(&spec.description)
                .policy(&policy)
                .set_tags(Some(tags.clone()))
                .send()
        },
    )
    .await?
    .key_metadata
    .ok_or_else(|| anyhow::anyhow!("kms:CreateKey returned no key metadata"))?;
    name_key(ctx, spec, meta).await
}

/// Point the stack's alias at the key and turn rotation on.
async fn name_key(
    ctx: &Ctx,
    spec: &Spec,
    meta: aws_sdk_kms::types::KeyMetadata,
) -> Result<Applied> {
    let kms = &ctx.clients.kms;
    let key_id = meta.key_id;
    // The alias may still point at an earlier key of ours (one pending deletion): move it.
    // Rotation needs only the key: both in one round.
    let alias = async {
        match kms
            .create_alias()
            .alias_name(&spec.alias)
            .target_key_id(&key_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::error::code(&e) == Some("AlreadyExistsException") => kms
                .update_alias()
                .alias_name(&spec.alias)
                .target_key_id(&key_id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws("kms:UpdateAlias", e)),
            Err(e) => Err(aws("kms:CreateAlias", e)),
        }
    };
    let rotation = async {
        kms.enable_key_rotation()
            .key_id(&key_id)
            .send()
            .await
            .map_err(|e| aws("kms:EnableKeyRotation", e))
    };
    futures::try_join!(alias, rotation)?;
    if let (Some(arn), Ok(mut arns)) = (&meta.arn, ctx.keys.arns.lock()) {
        arns.insert(spec.alias.clone(), arn.clone());
    }
    Ok(Applied {
        physical_id: format!("{}|{key_id}", spec.alias),
        arn: meta.arn,
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, live: &Live, diff: &[Difference]) -> Result<Applied> {
    let kms = &ctx.clients.kms;
    let (_, key_id) = split_id(&live.physical_id)?;
    let state = live.fields.get("key_state").and_then(Value::as_str);
    if state == Some(KeyState::PendingDeletion.as_str()) {
        kms.cancel_key_deletion()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| aws("kms:CancelKeyDeletion", e))?;
    }
    if touches(diff, "key_state") {
        kms.enable_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| aws("kms:EnableKey", e))?;
    }
    if touches(diff, "policy") {
        let policy = spec.policy.to_string();
        put_policy(ctx, key_id, &policy).await?;
    }
    if touches(diff, "description") {
        kms.update_key_description()
            .key_id(key_id)
            .description(&spec.description)
            .send()
            .await
            .map_err(|e| aws("kms:UpdateKeyDescription", e))?;
    }
    if touches(diff, "rotation") {
        kms.enable_key_rotation()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| aws("kms:EnableKeyRotation", e))?;
    }
    if touches(diff, "tags") {
        kms.tag_resource()
            .key_id(key_id)
            .set_tags(Some(kms_tags(ctx)?))
            .send()
            .await
            .map_err(|e| aws("kms:TagResource", e))?;
    }
    Ok(Applied {
        physical_id: live.physical_id.clone(),
        arn: live.arn.clone(),
    })
}

/// Remove the alias, then schedule the key's deletion; a key already pending deletion is done.
pub async fn delete(ctx: &Ctx, id: &str) -> Result<()> {
    let kms = &ctx.clients.kms;
    let (alias, key_id) = split_id(id)?;
    // A record may name a key that is not the stack's (a state written while the alias pointed at
    // someone else's key): that key is left alone, and so is the alias.
    match tagged_ours(ctx, key_id).await? {
        None => return Ok(()),
        Some(false) => {
            tracing::warn!("KMS key {key_id} is not tagged {}={}: not scheduled for deletion, and {alias} left as it is", super::STACK_TAG, ctx.stack);
            return Ok(());
        }
        Some(true) => {}
    }
    // Only remove the alias while it still names this key: a later deploy may have moved it.
    // The deletion is scheduled meanwhile: neither waits for the other.
    let unname = async {
        let points_here = match kms.describe_key().key_id(alias).send().await {
            Ok(out) => out.key_metadata.is_some_and(|m| m.key_id == key_id),
            Err(e) if is_not_found(&e) => false,
            Err(e) => return Err(aws("kms:DescribeKey", e)),
        };
        if points_here {
            match kms.delete_alias().alias_name(alias).send().await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(aws("kms:DeleteAlias", e)),
            }
        }
        Ok(())
    };
    let schedule = async {
        match kms
            .schedule_key_deletion()
            .key_id(key_id)
            .pending_window_in_days(DELETION_WINDOW_DAYS)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            // KMSInvalidStateException: already pending deletion.
            Err(e) if crate::error::code(&e) == Some("KMSInvalidStateException") => Ok(()),
            Err(e) => Err(aws("kms:ScheduleKeyDeletion", e)),
        }
    };
    futures::try_join!(unname, schedule)?;
    Ok(())
}

/// The stack's key, by its alias and tag (a key pending deletion has lost its alias: it is done).
pub(crate) async fn sweep(ctx: &Ctx, search: &Search<'_>) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let alias = &search.key_alias;
    let mut candidates = Vec::new();
    let mut pages = c.kms.list_aliases().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("kms:ListAliases", e))?;
        candidates.extend(page.aliases().iter().filter_map(|a| {
            (a.alias_name()? == alias.as_str()).then_some(a.target_key_id()?.to_string())
        }));
    }
    keep(candidates, |key_id| async move {
        let tags = c.kms.list_resource_tags().key_id(&key_id).send().await;
        let Some(tags) = super::found("kms:ListResourceTags", tags)? else {
            return Ok(vec![]);
        };
        let tags = tags.tags.unwrap_or_default().into_iter();
        let owned = ours(tags.map(|t| (t.tag_key, t.tag_value)), &ctx.stack);
        Ok(Leftover::when(
            owned,
            Kind::KmsKey,
            format!("{alias}|{key_id}"),
        ))
    })
    .await
}
