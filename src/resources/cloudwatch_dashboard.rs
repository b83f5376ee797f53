//! CloudWatch dashboard of the stack's functions, rules and DLQ. Dashboards cannot carry the stack tag:
//! the name (the stack's own) and the state file are what make it ours.

use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{Applied, Ctx, Difference, Live};
use crate::error::{aws, is_not_found};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: String,
    pub arn: String,
    pub body: Value,
}

impl Spec {
    pub fn fields(&self, _ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("body".into(), self.body.clone());
        m
    }
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let out = match ctx
        .clients
        .cloudwatch
        .get_dashboard()
        .dashboard_name(&spec.name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws("cloudwatch:GetDashboard", e)),
    };
    let body = out.dashboard_body.unwrap_or_default();
    let mut fields = Map::new();
    fields.insert(
        "body".into(),
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    );
    Ok(Some(Live {
        physical_id: spec.name.clone(),
        arn: out.dashboard_arn.or(Some(spec.arn.clone())),
        fields,
        tags: None,
    }))
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let out = ctx
        .clients
        .cloudwatch
        .put_dashboard()
        .dashboard_name(&spec.name)
        .dashboard_body(spec.body.to_string())
        .send()
        .await
        .map_err(|e| aws("cloudwatch:PutDashboard", e))?;
    if let Some(m) = out.dashboard_validation_messages().first() {
        anyhow::bail!(
            "cloudwatch:PutDashboard rejected the body at {}: {}",
            m.data_path().unwrap_or("?"),
            m.message().unwrap_or_default()
        );
    }
    Ok(Applied {
        physical_id: spec.name.clone(),
        arn: Some(spec.arn.clone()),
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, _live: &Live, _diff: &[Difference]) -> Result<Applied> {
    create(ctx, spec).await
}

pub async fn delete(ctx: &Ctx, name: &str) -> Result<()> {
    match ctx
        .clients
        .cloudwatch
        .delete_dashboards()
        .dashboard_names(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(aws("cloudwatch:DeleteDashboards", e)),
    }
}
