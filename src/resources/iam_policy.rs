//! Customer-managed IAM policy: what the functions may do, naming the stack's own ARNs.

use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value};

use super::sweep::{keep, ours_here, Leftover, Search};
use super::{found, parse_policy, tags_value, touches, Applied, Ctx, Difference, Kind, Live};
use crate::error::{aws, is_not_found};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: String,
    pub arn: String,
    pub description: String,
    pub document: Value,
}

impl Spec {
    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("document".into(), self.document.clone());
        m.insert("tags".into(), tags_value(&ctx.tags));
        m
    }
}

fn iam_tags(ctx: &Ctx) -> Result<Vec<aws_sdk_iam::types::Tag>> {
    ctx.tags
        .iter()
        .map(|(k, v)| Ok(aws_sdk_iam::types::Tag::builder().key(k).value(v).build()?))
        .collect()
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let iam = &ctx.clients.iam;
    // The tags do not depend on the policy's version: read them alongside.
    let (policy, tags) = futures::join!(
        iam.get_policy().policy_arn(&spec.arn).send(),
        iam.list_policy_tags().policy_arn(&spec.arn).send()
    );
    let policy = match policy {
        Ok(out) => match out.policy {
            Some(p) => p,
            None => return Ok(None),
        },
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws("iam:GetPolicy", e)),
    };
    let version = policy.default_version_id.clone().unwrap_or_default();
    let doc = iam
        .get_policy_version()
        .policy_arn(&spec.arn)
        .version_id(&version)
        .send()
        .await
        .map_err(|e| aws("iam:GetPolicyVersion", e))?
        .policy_version
        .and_then(|v| v.document)
        .unwrap_or_default();
    let tags = tags
        .map_err(|e| aws("iam:ListPolicyTags", e))?
        .tags
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    let mut fields = Map::new();
    fields.insert("document".into(), parse_policy(&doc));
    fields.insert("tags".into(), tags_value(&tags));
    Ok(Some(Live {
        physical_id: spec.arn.clone(),
        arn: Some(spec.arn.clone()),
        fields,
        tags: Some(tags),
    }))
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let out = ctx
        .clients
        .iam
        .create_policy()
        .policy_name(&spec.name)
        .description(&spec.description)
        .policy_document(spec.document.to_string())
        .set_tags(Some(iam_tags(ctx)?))
        .send()
        .await
        .map_err(|e| aws("iam:CreatePolicy", e))?;
    let arn = out
        .policy
        .and_then(|p| p.arn)
        .unwrap_or_else(|| spec.arn.clone());
    Ok(Applied {
        physical_id: arn.clone(),
        arn: Some(arn),
    })
}

/// A new default version; the oldest non-default version goes first when IAM's limit of five is reached.
pub async fn update(ctx: &Ctx, spec: &Spec, _live: &Live, diff: &[Difference]) -> Result<Applied> {
    let iam = &ctx.clients.iam;
    if touches(diff, "document") {
        let versions = iam
            .list_policy_versions()
            .policy_arn(&spec.arn)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| aws("iam:ListPolicyVersions", e))?;
        if versions.len() >= 5 {
            let oldest = versions
                .iter()
                .filter(|v| !v.is_default_version)
                .min_by_key(|v| v.create_date.map(|d| d.secs()).unwrap_or(0));
            if let Some(id) = oldest.and_then(|v| v.version_id.clone()) {
                iam.delete_policy_version()
                    .policy_arn(&spec.arn)
                    .version_id(id)
                    .send()
                    .await
                    .map_err(|e| aws("iam:DeletePolicyVersion", e))?;
            }
        }
        iam.create_policy_version()
            .policy_arn(&spec.arn)
            .policy_document(spec.document.to_string())
            .set_as_default(true)
            .send()
            .await
            .map_err(|e| aws("iam:CreatePolicyVersion", e))?;
    }
    if touches(diff, "tags") {
        iam.tag_policy()
            .policy_arn(&spec.arn)
            .set_tags(Some(iam_tags(ctx)?))
            .send()
            .await
            .map_err(|e| aws("iam:TagPolicy", e))?;
    }
    Ok(Applied {
        physical_id: spec.arn.clone(),
        arn: Some(spec.arn.clone()),
    })
}

/// Detach from every role, user and group (every page), delete non-default versions, then the policy.
/// Delete the policy. Its attachments are usually gone already and it has one version, so
/// DeletePolicy goes first; only when IAM answers `DeleteConflict` is it detached from whatever
/// still holds it, stripped of its other versions, and deleted again.
pub async fn delete(ctx: &Ctx, arn: &str) -> Result<()> {
    match ctx.clients.iam.delete_policy().policy_arn(arn).send().await {
        Ok(_) => return Ok(()),
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) if crate::error::code(&e) == Some("DeleteConflict") => {}
        Err(e) => return Err(aws("iam:DeletePolicy", e)),
    }
    clear(ctx, arn).await?;
    super::gone(
        "iam:DeletePolicy",
        ctx.clients.iam.delete_policy().policy_arn(arn).send().await,
    )
}

/// Detach the policy from every role, user and group, and delete its non-default versions.
async fn clear(ctx: &Ctx, arn: &str) -> Result<()> {
    let iam = &ctx.clients.iam;
    let mut pages = iam
        .list_entities_for_policy()
        .policy_arn(arn)
        .into_paginator()
        .send();
    let (mut roles, mut users, mut groups) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(aws("iam:ListEntitiesForPolicy", e)),
        };
        roles.extend(
            page.policy_roles()
                .iter()
                .filter_map(|r| r.role_name.clone()),
        );
        users.extend(
            page.policy_users()
                .iter()
                .filter_map(|u| u.user_name.clone()),
        );
        groups.extend(
            page.policy_groups()
                .iter()
                .filter_map(|g| g.group_name.clone()),
        );
    }
    for name in roles {
        match iam
            .detach_role_policy()
            .role_name(&name)
            .policy_arn(arn)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(aws("iam:DetachRolePolicy", e)),
        }
    }
    for name in users {
        match iam
            .detach_user_policy()
            .user_name(&name)
            .policy_arn(arn)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(aws("iam:DetachUserPolicy", e)),
        }
    }
    for name in groups {
        match iam
            .detach_group_policy()
            .group_name(&name)
            .policy_arn(arn)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(aws("iam:DetachGroupPolicy", e)),
        }
    }
    let versions = iam
        .list_policy_versions()
        .policy_arn(arn)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| aws("iam:ListPolicyVersions", e))?;
    for v in versions.iter().filter(|v| !v.is_default_version) {
        if let Some(id) = &v.version_id {
            match iam
                .delete_policy_version()
                .policy_arn(arn)
                .version_id(id)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(aws("iam:DeletePolicyVersion", e)),
            }
        }
    }
    Ok(())
}

impl super::Ownership for Spec {}

/// The stack's policies (of this region) the config does not declare, by tag.
pub(crate) async fn sweep(ctx: &Ctx, search: &Search<'_>) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let mut candidates = Vec::new();
    let mut pages = c
        .iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("iam:ListPolicies", e))?;
        candidates.extend(page.policies().iter().filter_map(|p| {
            let (name, arn) = (p.policy_name()?, p.arn()?);
            (name.starts_with(&search.prefix) && !search.known.has(arn)).then(|| arn.to_string())
        }));
    }
    keep(candidates, |arn| async move {
        let tags = c.iam.list_policy_tags().policy_arn(&arn).send().await;
        let Some(tags) = found("iam:ListPolicyTags", tags)? else {
            return Ok(vec![]);
        };
        let owned = ours_here(tags.tags.into_iter().map(|t| (t.key, t.value)), ctx);
        Ok(Leftover::when(owned, Kind::IamPolicy, arn))
    })
    .await
}
