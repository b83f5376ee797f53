//! A managed policy attached to a role. Not taggable: it belongs to whoever owns the role.

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{split_id, Applied, Ctx, Difference, Live};
use crate::error::{aws, is_not_found};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub role: String,
    pub policy_arn: String,
}

impl Spec {
    pub fn fields(&self, _ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("policy_arn".into(), json!(self.policy_arn));
        m
    }

    fn id(&self) -> String {
        format!("{}|{}", self.role, self.policy_arn)
    }
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let mut marker = None;
    loop {
        let out = match ctx
            .clients
            .iam
            .list_attached_role_policies()
            .role_name(&spec.role)
            .set_marker(marker)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws("iam:ListAttachedRolePolicies", e)),
        };
        if out
            .attached_policies()
            .iter()
            .any(|p| p.policy_arn() == Some(spec.policy_arn.as_str()))
        {
            return Ok(Some(Live {
                physical_id: spec.id(),
                arn: None,
                fields: spec.fields(ctx),
                tags: None,
            }));
        }
        if !out.is_truncated {
            return Ok(None);
        }
        marker = out.marker;
    }
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    ctx.clients
        .iam
        .attach_role_policy()
        .role_name(&spec.role)
        .policy_arn(&spec.policy_arn)
        .send()
        .await
        .map_err(|e| aws("iam:AttachRolePolicy", e))?;
    Ok(Applied {
        physical_id: spec.id(),
        arn: None,
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, _live: &Live, _diff: &[Difference]) -> Result<Applied> {
    create(ctx, spec).await
}

pub async fn delete(ctx: &Ctx, id: &str) -> Result<()> {
    let (role, policy_arn) = split_id(id)?;
    super::gone(
        "iam:DetachRolePolicy",
        ctx.clients
            .iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(policy_arn)
            .send()
            .await,
    )
}

impl super::Ownership for Spec {}
