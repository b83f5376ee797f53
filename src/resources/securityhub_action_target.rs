//! Security Hub custom action (an "action target"): analysts pick it in the console to send findings
//! to the custom-actions rule. It cannot be tagged: its description ends with the ownership marker
//! `[secauto:stack=<stack>]`, and one with our id but without the marker is someone else's (deploy
//! refuses it unless the state records it or `--adopt`; destroy leaves it).

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{securityhub_error, Applied, Ctx, Difference, Live, STACK_TAG};
use crate::error::is_not_found;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub id: String,
    pub arn: String,
    /// At most 20 characters.
    pub name: String,
    pub description: String,
}

impl Spec {
    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("description".into(), json!(self.described(ctx)));
        m
    }

    /// The description, with the ownership marker.
    fn described(&self, ctx: &Ctx) -> String {
        format!("{} [{STACK_TAG}={}]", self.description, ctx.stack)
    }
}

/// The stack a description's marker names, if it has one.
pub fn marker(description: &str) -> Option<&str> {
    let (_, rest) = description.rsplit_once(&format!("[{STACK_TAG}="))?;
    rest.strip_suffix(']').filter(|s| !s.is_empty())
}

impl super::Ownership for Spec {
    fn conflict(&self, ctx: &Ctx, live: &Live, claim: super::Claim<'_>) -> Option<String> {
        let description = live.fields.get("description").and_then(Value::as_str);
        match description.and_then(marker) {
            Some(owner) if owner == ctx.stack => None,
            Some(owner) => Some(format!(
                "exists and belongs to stack {owner:?} (its description is marked {STACK_TAG}={owner})"
            )),
            None if claim.recorded.is_some() || claim.adopt => None,
            None => Some(super::unowned(ctx, "the description's marker")),
        }
    }
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let out = match ctx
        .clients
        .securityhub
        .describe_action_targets()
        .action_target_arns(&spec.arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(securityhub_error("securityhub:DescribeActionTargets", e)),
    };
    let Some(t) = out
        .action_targets()
        .iter()
        .find(|t| t.action_target_arn() == Some(spec.arn.as_str()))
    else {
        return Ok(None);
    };
    let mut fields = Map::new();
    fields.insert("name".into(), json!(t.name().unwrap_or_default()));
    fields.insert(
        "description".into(),
        json!(t.description().unwrap_or_default()),
    );
    Ok(Some(Live {
        physical_id: spec.arn.clone(),
        arn: Some(spec.arn.clone()),
        fields,
        tags: None,
    }))
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let out = ctx
        .clients
        .securityhub
        .create_action_target()
        .name(&spec.name)
        .description(spec.described(ctx))
        .id(&spec.id)
        .send()
        .await
        .map_err(|e| securityhub_error("securityhub:CreateActionTarget", e))?;
    let arn = out.action_target_arn.unwrap_or_else(|| spec.arn.clone());
    Ok(Applied {
        physical_id: arn.clone(),
        arn: Some(arn),
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, _live: &Live, _diff: &[Difference]) -> Result<Applied> {
    ctx.clients
        .securityhub
        .update_action_target()
        .action_target_arn(&spec.arn)
        .name(&spec.name)
        .description(spec.described(ctx))
        .send()
        .await
        .map_err(|e| securityhub_error("securityhub:UpdateActionTarget", e))?;
    Ok(Applied {
        physical_id: spec.arn.clone(),
        arn: Some(spec.arn.clone()),
    })
}

pub async fn delete(ctx: &Ctx, arn: &str) -> Result<()> {
    match ctx
        .clients
        .securityhub
        .delete_action_target()
        .action_target_arn(arn)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => super::gone_with_securityhub(
            securityhub_error("securityhub:DeleteActionTarget", e),
            arn,
        ),
    }
}
