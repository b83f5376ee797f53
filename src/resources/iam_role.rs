//! IAM role: the execution role of every function.

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::sweep::{keep, ours_here, Leftover, Search};
use super::{found, parse_policy, tags_value, touches, Applied, Ctx, Difference, Kind, Live};
use crate::error::{aws, is_not_found};

/// An IAM role with a trust policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: String,
    pub description: String,
    pub assume_role_policy: Value,
}

impl Spec {
    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("assume_role_policy".into(), self.assume_role_policy.clone());
        m.insert("description".into(), json!(self.description));
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
    // The role and its tags in one round (the tags' answer counts only if the role exists).
    let (role, tags) = futures::join!(
        iam.get_role().role_name(&spec.name).send(),
        iam.list_role_tags().role_name(&spec.name).send()
    );
    let role = match role {
        Ok(out) => match out.role {
            Some(r) => r,
            None => return Ok(None),
        },
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws("iam:GetRole", e)),
    };
    let tags = tags
        .map_err(|e| aws("iam:ListRoleTags", e))?
        .tags
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    let mut fields = Map::new();
    fields.insert(
        "assume_role_policy".into(),
        parse_policy(role.assume_role_policy_document.as_deref().unwrap_or("")),
    );
    fields.insert(
        "description".into(),
        json!(role.description.unwrap_or_default()),
    );
    fields.insert("tags".into(), tags_value(&tags));
    Ok(Some(Live {
        physical_id: role.role_name,
        arn: Some(role.arn),
        fields,
        tags: Some(tags),
    }))
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let out = ctx
        .clients
        .iam
        .create_role()
        .role_name(&spec.name)
        .description(&spec.description)
        .assume_role_policy_document(spec.assume_role_policy.to_string())
        .set_tags(Some(iam_tags(ctx)?))
        .send()
        .await
        .map_err(|e| aws("iam:CreateRole", e))?;
    Ok(Applied {
        physical_id: spec.name.clone(),
        arn: out.role.map(|r| r.arn),
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, live: &Live, diff: &[Difference]) -> Result<Applied> {
    let iam = &ctx.clients.iam;
    if touches(diff, "assume_role_policy") {
        iam.update_assume_role_policy()
            .role_name(&spec.name)
            .policy_document(spec.assume_role_policy.to_string())
            .send()
            .await
            .map_err(|e| aws("iam:UpdateAssumeRolePolicy", e))?;
    }
    if touches(diff, "description") {
        iam.update_role()
            .role_name(&spec.name)
            .description(&spec.description)
            .send()
            .await
            .map_err(|e| aws("iam:UpdateRole", e))?;
    }
    if touches(diff, "tags") {
        iam.tag_role()
            .role_name(&spec.name)
            .set_tags(Some(iam_tags(ctx)?))
            .send()
            .await
            .map_err(|e| aws("iam:TagRole", e))?;
    }
    Ok(Applied {
        physical_id: spec.name.clone(),
        arn: live.arn.clone(),
    })
}

/// Detach every managed policy and delete every inline policy (every page of both), then the role.
/// Delete the role. Its policies are usually gone already (detached as their own resources), so
/// DeleteRole goes first; only when IAM answers `DeleteConflict` is the role cleared of what still
/// holds it (attached and inline policies) and deleted again.
pub async fn delete(ctx: &Ctx, name: &str) -> Result<()> {
    match ctx.clients.iam.delete_role().role_name(name).send().await {
        Ok(_) => return Ok(()),
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) if crate::error::code(&e) == Some("DeleteConflict") => {}
        Err(e) => return Err(aws("iam:DeleteRole", e)),
    }
    clear(ctx, name).await?;
    super::gone(
        "iam:DeleteRole",
        ctx.clients.iam.delete_role().role_name(name).send().await,
    )
}

/// Detach the role's managed policies and delete its inline ones.
async fn clear(ctx: &Ctx, name: &str) -> Result<()> {
    let iam = &ctx.clients.iam;
    let attached = match iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
    {
        Ok(list) => list,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(aws("iam:ListAttachedRolePolicies", e)),
    };
    for p in attached {
        if let Some(arn) = p.policy_arn {
            match iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(&arn)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(aws("iam:DetachRolePolicy", e)),
            }
        }
    }
    let inline = match iam
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
    {
        Ok(list) => list,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(aws("iam:ListRolePolicies", e)),
    };
    for p in inline {
        match iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(&p)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(aws("iam:DeleteRolePolicy", e)),
        }
    }
    Ok(())
}

impl super::Ownership for Spec {}

/// The stack's roles (of this region) the config does not declare, by tag.
pub(crate) async fn sweep(ctx: &Ctx, search: &Search<'_>) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let mut candidates = Vec::new();
    let mut pages = c.iam.list_roles().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("iam:ListRoles", e))?;
        candidates.extend(
            page.roles()
                .iter()
                .map(|r| r.role_name())
                .filter(|name| name.starts_with(&search.prefix) && !search.known.has(name))
                .map(str::to_string),
        );
    }
    keep(candidates, |name| async move {
        let tags = c.iam.list_role_tags().role_name(&name).send().await;
        let Some(tags) = found("iam:ListRoleTags", tags)? else {
            return Ok(vec![]);
        };
        let owned = ours_here(tags.tags.into_iter().map(|t| (t.key, t.value)), ctx);
        Ok(Leftover::when(owned, Kind::IamRole, name))
    })
    .await
}
