//! The stack's own EventBridge bus for response events. Its policy denies PutEvents to every
//! principal but the triage function's role: in the same account an IAM policy alone would let
//! anyone with `events:PutEvents` forge a response event, so the limit is an explicit Deny.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::event_rule::eb_tags;
use super::sweep::{keep, Leftover, Search};
use super::{parse_policy, tags_value, touches, Applied, Ctx, Difference, Kind, Live};
use crate::error::{aws, is_not_found};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: String,
    pub arn: String,
    pub policy: Value,
}

impl Spec {
    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("policy".into(), self.policy.clone());
        m.insert("tags".into(), tags_value(&ctx.tags));
        m
    }
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let events = &ctx.clients.events;
    let bus = match events.describe_event_bus().name(&spec.name).send().await {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws("events:DescribeEventBus", e)),
    };
    let arn = bus.arn.clone().unwrap_or_else(|| spec.arn.clone());
    let tags: BTreeMap<String, String> = events
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| aws("events:ListTagsForResource", e))?
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    let mut fields = Map::new();
    fields.insert(
        "policy".into(),
        bus.policy
            .as_deref()
            .map(parse_policy)
            .unwrap_or(Value::Null),
    );
    fields.insert("tags".into(), tags_value(&tags));
    Ok(Some(Live {
        physical_id: spec.name.clone(),
        arn: Some(arn),
        fields,
        tags: Some(tags),
    }))
}

async fn put_policy(ctx: &Ctx, spec: &Spec) -> Result<()> {
    ctx.clients
        .events
        .put_permission()
        .event_bus_name(&spec.name)
        .policy(spec.policy.to_string())
        .send()
        .await
        .map_err(|e| aws("events:PutPermission", e))?;
    Ok(())
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let out = ctx
        .clients
        .events
        .create_event_bus()
        .name(&spec.name)
        .set_tags(Some(eb_tags(ctx)?))
        .send()
        .await
        .map_err(|e| aws("events:CreateEventBus", e))?;
    put_policy(ctx, spec).await?;
    Ok(Applied {
        physical_id: spec.name.clone(),
        arn: out.event_bus_arn.or(Some(spec.arn.clone())),
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, live: &Live, diff: &[Difference]) -> Result<Applied> {
    if touches(diff, "policy") {
        put_policy(ctx, spec).await?;
    }
    if touches(diff, "tags") {
        ctx.clients
            .events
            .tag_resource()
            .resource_arn(live.arn.as_deref().unwrap_or(&spec.arn))
            .set_tags(Some(eb_tags(ctx)?))
            .send()
            .await
            .map_err(|e| aws("events:TagResource", e))?;
    }
    Ok(Applied {
        physical_id: spec.name.clone(),
        arn: live.arn.clone(),
    })
}

pub async fn delete(ctx: &Ctx, name: &str) -> Result<()> {
    super::gone(
        "events:DeleteEventBus",
        ctx.clients
            .events
            .delete_event_bus()
            .name(name)
            .send()
            .await,
    )
}

/// The bus policy: only `putter` may put events on `bus_arn`.
pub fn only_putter(bus_arn: &str, putter: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "OnlyTriagePuts",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "events:PutEvents",
            "Resource": bus_arn,
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": putter}},
        }],
    })
}

impl super::Ownership for Spec {}

/// The stack's buses the config does not declare, by tag.
pub(crate) async fn sweep(ctx: &Ctx, search: &Search<'_>) -> Result<Vec<Leftover>> {
    let mut candidates = Vec::new();
    let mut token = None;
    loop {
        let page = ctx
            .clients
            .events
            .list_event_buses()
            .name_prefix(&search.prefix)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws("events:ListEventBuses", e))?;
        candidates.extend(page.event_buses().iter().filter_map(|b| {
            let (name, arn) = (b.name()?, b.arn()?);
            (!search.known.has(arn)).then(|| (name.to_string(), arn.to_string()))
        }));
        token = page.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    keep(candidates, |(name, arn)| async move {
        let owned = super::event_rule::owned(ctx, &arn).await?;
        Ok(Leftover::when(owned, Kind::EventBus, name))
    })
    .await
}
