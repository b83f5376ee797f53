//! CloudWatch dashboard of the stack's functions, rules and DLQ. Dashboards cannot carry the stack tag,
//! so ownership is marked inside the body: a text widget at the top (as CloudWatch's PutDashboard
//! documentation advises for dashboards made by a script) that says `secauto:stack=<stack>`. A
//! dashboard of our name without that marker is someone else's: deploy refuses it (unless the state
//! records it or `--adopt`), and the sweep never deletes it.

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::sweep::{Leftover, Search};
use super::{Applied, Ctx, Difference, Kind, Live, STACK_TAG};
use crate::error::{aws, is_not_found};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: String,
    pub arn: String,
    pub body: Value,
}

/// Height of the marker widget; the other widgets move down by as much.
const MARKER_HEIGHT: i64 = 1;

impl Spec {
    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("body".into(), marked(&self.body, &ctx.stack));
        m
    }
}

/// `body` with the ownership marker as its first widget.
fn marked(body: &Value, stack: &str) -> Value {
    let mut body = body.clone();
    let widgets = body
        .as_object_mut()
        .and_then(|b| b.get_mut("widgets"))
        .and_then(Value::as_array_mut);
    let Some(widgets) = widgets else {
        return body;
    };
    for w in widgets.iter_mut() {
        if let Some(y) = w.get("y").and_then(Value::as_i64) {
            w["y"] = json!(y + MARKER_HEIGHT);
        }
    }
    widgets.insert(
        0,
        json!({"type": "text", "x": 0, "y": 0, "width": 24, "height": MARKER_HEIGHT, "properties": {
            "markdown": format!("Made by secauto ({STACK_TAG}={stack}): `secauto deploy` replaces changes made here.")
        }}),
    );
    body
}

/// The stack a dashboard body's marker names, if it has one.
pub fn marker(body: &Value) -> Option<String> {
    let widgets = body.get("widgets")?.as_array()?;
    widgets.iter().find_map(|w| {
        let text = w.get("properties")?.get("markdown")?.as_str()?;
        let rest = text.split_once(&format!("{STACK_TAG}="))?.1;
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        (!name.is_empty()).then_some(name)
    })
}

impl super::Ownership for Spec {
    fn conflict(&self, ctx: &Ctx, live: &Live, claim: super::Claim<'_>) -> Option<String> {
        match live.fields.get("body").and_then(marker) {
            Some(owner) if owner == ctx.stack => None,
            Some(owner) => Some(format!(
                "exists and belongs to stack {owner:?} (its body is marked {STACK_TAG}={owner})"
            )),
            None if claim.recorded.is_some() || claim.adopt => None,
            None => Some(super::unowned(ctx, "the marker")),
        }
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
        .dashboard_body(marked(&spec.body, &ctx.stack).to_string())
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
    super::gone(
        "cloudwatch:DeleteDashboards",
        ctx.clients
            .cloudwatch
            .delete_dashboards()
            .dashboard_names(name)
            .send()
            .await,
    )
}

/// The dashboard cannot be tagged: the one named `{stack}-{region}` whose body carries the stack's
/// marker is the stack's (another tool's dashboard of the same name is never deleted).
pub(crate) async fn sweep(ctx: &Ctx, search: &Search<'_>) -> Result<Vec<Leftover>> {
    let name = &search.dashboard;
    let read = ctx
        .clients
        .cloudwatch
        .get_dashboard()
        .dashboard_name(name)
        .send()
        .await;
    let Some(out) = super::found("cloudwatch:GetDashboard", read)? else {
        return Ok(vec![]);
    };
    let body = out.dashboard_body.unwrap_or_default();
    let body = serde_json::from_str(&body).unwrap_or_default();
    let owned = marker(&body).is_some_and(|owner| owner == ctx.stack);
    Ok(Leftover::when(owned, Kind::CloudwatchDashboard, name))
}
