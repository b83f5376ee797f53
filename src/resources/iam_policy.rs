//! Customer-managed IAM policy: what the functions may do, naming the stack's own ARNs.

use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{parse_policy, tags_value, touches, Applied, Ctx, Difference, Live};
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
    let policy = match iam.get_policy().policy_arn(&spec.arn).send().await {
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
    let tags = iam
        .list_policy_tags()
        .policy_arn(&spec.arn)
        .send()
        .await
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
            .send()
            .await
            .map_err(|e| aws("iam:ListPolicyVersions", e))?
            .versions
            .unwrap_or_default();
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

/// Detach from every role, delete non-default versions, then the policy.
pub async fn delete(ctx: &Ctx, arn: &str) -> Result<()> {
    let iam = &ctx.clients.iam;
    let entities = match iam.list_entities_for_policy().policy_arn(arn).send().await {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(aws("iam:ListEntitiesForPolicy", e)),
    };
    for role in entities.policy_roles() {
        if let Some(name) = role.role_name() {
            match iam
                .detach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(aws("iam:DetachRolePolicy", e)),
            }
        }
    }
    let versions = iam
        .list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| aws("iam:ListPolicyVersions", e))?
        .versions
        .unwrap_or_default();
    for v in versions.iter().filter(|v| !v.is_default_version) {
        if let Some(id) = &v.version_id {
            iam.delete_policy_version()
                .policy_arn(arn)
                .version_id(id)
                .send()
                .await
                .map_err(|e| aws("iam:DeletePolicyVersion", e))?;
        }
    }
    match iam.delete_policy().policy_arn(arn).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(aws("iam:DeletePolicy", e)),
    }
}
