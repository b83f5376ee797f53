//! Keys a killed run left unnamed: made by CreateKey, tagged as the stack's, but never given the
//! alias (the run stopped before CreateAlias).

use anyhow::Result;
use aws_sdk_kms::types::KeyState;
use futures::{StreamExt, TryStreamExt};

use crate::error::aws;
use crate::resources::Ctx;

/// Enabled keys tagged as this stack's (and region's) that no alias names: a run stopped between
/// CreateKey and CreateAlias leaves one. KMS has no lookup by tag, so every key of the account is
/// read; this runs only when the stack's alias is missing (a first deploy, or after such a crash).
pub async fn orphans(ctx: &Ctx) -> Result<Vec<String>> {
    ctx.keys
        .orphans
        .get_or_try_init(|| search_orphans(ctx))
        .await
        .cloned()
}

async fn search_orphans(ctx: &Ctx) -> Result<Vec<String>> {
    let kms = &ctx.clients.kms;
    let (aliases, keys) = futures::join!(
        kms.list_aliases()
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>(),
        kms.list_keys()
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
    );
    let mut named = std::collections::BTreeSet::new();
    for a in aliases {
        let a = a.map_err(|e| aws("kms:ListAliases", e))?;
        named.extend(a.target_key_id);
    }
    let mut ids = Vec::new();
    for k in keys {
        let k = k.map_err(|e| aws("kms:ListKeys", e))?;
        ids.extend(k.key_id);
    }
    let checks = ids
        .into_iter()
        .filter(|id| !named.contains(id))
        .map(|id| async move {
            // The tags and the state in one round.
            let (tags, meta) = futures::join!(
                kms.list_resource_tags().key_id(&id).send(),
                kms.describe_key().key_id(&id).send()
            );
            let tags = match tags {
                Ok(t) => t.tags.unwrap_or_default(),
                // Keys of other teams may refuse us: they are not ours either.
                Err(e) if crate::error::code(&e) == Some("AccessDeniedException") => {
                    return Ok(None)
                }
                Err(e) => return Err(aws("kms:ListResourceTags", e)),
            };
            let tag = |k: &str| {
                tags.iter()
                    .find(|t| t.tag_key == k)
                    .map(|t| t.tag_value.as_str())
            };
            if tag(crate::resources::STACK_TAG) != Some(ctx.stack.as_str())
                || tag(crate::resources::REGION_TAG).is_some_and(|r| r != ctx.region)
            {
                return Ok(None);
            }
            let meta = meta.map_err(|e| aws("kms:DescribeKey", e))?;
            Ok(meta
                .key_metadata
                .is_some_and(|m| m.key_state == Some(KeyState::Enabled))
                .then_some(id))
        });
    let found: Vec<Option<String>> = futures::stream::iter(checks)
        .buffer_unordered(16)
        .try_collect()
        .await?;
    let out: Vec<String> = found.into_iter().flatten().collect();
    Ok(out)
}
