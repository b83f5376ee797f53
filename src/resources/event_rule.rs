//! EventBridge rule, on the default bus or the stack's own.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_eventbridge::types::RuleState;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::sweep::{keep, ours, Leftover, Search};
use super::{found, parse_policy, tags_value, Applied, Ctx, Difference, Kind, Live};
use crate::error::{aws, is_not_found};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: String,
    /// The bus, when not the default one.
    pub bus: Option<String>,
    pub arn: String,
    pub description: String,
    pub event_pattern: Value,
}

impl Spec {
    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("event_pattern".into(), self.event_pattern.clone());
        m.insert("description".into(), json!(self.description));
        m.insert("state".into(), json!("ENABLED"));
        m.insert("tags".into(), tags_value(&ctx.tags));
        m
    }
}

/// The stack's tags as EventBridge takes them (rules and buses).
pub(super) fn eb_tags(ctx: &Ctx) -> Result<Vec<aws_sdk_eventbridge::types::Tag>> {
    ctx.tags
        .iter()
        .map(|(k, v)| {
            Ok(aws_sdk_eventbridge::types::Tag::builder()
                .key(k)
                .value(v)
                .build()?)
        })
        .collect()
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let events = &ctx.clients.events;
    let rule = match events
        .describe_rule()
        .name(&spec.name)
        .set_event_bus_name(spec.bus.clone())
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws("events:DescribeRule", e)),
    };
    let arn = rule.arn.clone().unwrap_or_else(|| spec.arn.clone());
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
        "event_pattern".into(),
        parse_policy(rule.event_pattern.as_deref().unwrap_or("null")),
    );
    fields.insert(
        "description".into(),
        json!(rule.description.unwrap_or_default()),
    );
    fields.insert(
        "state".into(),
        json!(rule
            .state
            .map(|s| s.as_str().to_string())
            .unwrap_or_default()),
    );
    fields.insert("tags".into(), tags_value(&tags));
    Ok(Some(Live {
        physical_id: super::rule_id(spec.bus.as_deref(), &spec.name),
        arn: Some(arn),
        fields,
        tags: Some(tags),
    }))
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let out = ctx
        .clients
        .events
        .put_rule()
        .name(&spec.name)
        .set_event_bus_name(spec.bus.clone())
        .description(&spec.description)
        .event_pattern(spec.event_pattern.to_string())
        .state(RuleState::Enabled)
        .set_tags(Some(eb_tags(ctx)?))
        .send()
        .await
        .map_err(|e| aws("events:PutRule", e))?;
    Ok(Applied {
        physical_id: super::rule_id(spec.bus.as_deref(), &spec.name),
        arn: out.rule_arn.or(Some(spec.arn.clone())),
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, live: &Live, diff: &[Difference]) -> Result<Applied> {
    let events = &ctx.clients.events;
    if diff.iter().any(|d| d.field != "tags") {
        events
            .put_rule()
            .name(&spec.name)
            .set_event_bus_name(spec.bus.clone())
            .description(&spec.description)
            .event_pattern(spec.event_pattern.to_string())
            .state(RuleState::Enabled)
            .send()
            .await
            .map_err(|e| aws("events:PutRule", e))?;
    }
    if super::touches(diff, "tags") {
        events
            .tag_resource()
            .resource_arn(live.arn.as_deref().unwrap_or(&spec.arn))
            .set_tags(Some(eb_tags(ctx)?))
            .send()
            .await
            .map_err(|e| aws("events:TagResource", e))?;
    }
    Ok(Applied {
        physical_id: super::rule_id(spec.bus.as_deref(), &spec.name),
        arn: live.arn.clone(),
    })
}

/// Remove every target first: EventBridge refuses to delete a rule that has targets.
/// Delete the rule. Its targets are usually removed already (as their own resources), so
/// DeleteRule goes first; only when EventBridge answers that the rule still has targets
/// (ValidationException) are they listed, removed, and the rule deleted again.
pub async fn delete(ctx: &Ctx, id: &str) -> Result<()> {
    let events = &ctx.clients.events;
    let (bus, name) = super::split_rule_id(id);
    let bus = bus.map(String::from);
    match events
        .delete_rule()
        .name(name)
        .set_event_bus_name(bus.clone())
        .send()
        .await
    {
        Ok(_) => return Ok(()),
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e)
            if crate::error::code(&e) == Some("ValidationException")
                && aws_smithy_types::error::metadata::ProvideErrorMetadata::message(&e)
                    .is_some_and(|m| m.contains("targets")) => {}
        Err(e) => return Err(aws("events:DeleteRule", e)),
    }
    let targets = match events
        .list_targets_by_rule()
        .rule(name)
        .set_event_bus_name(bus.clone())
        .send()
        .await
    {
        Ok(out) => out.targets.unwrap_or_default(),
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(aws("events:ListTargetsByRule", e)),
    };
    if !targets.is_empty() {
        let ids: Vec<String> = targets.into_iter().map(|t| t.id).collect();
        let out = events
            .remove_targets()
            .rule(name)
            .set_event_bus_name(bus.clone())
            .set_ids(Some(ids))
            .send()
            .await
            .map_err(|e| aws("events:RemoveTargets", e))?;
        super::event_target::check_failed(
            "events:RemoveTargets",
            out.failed_entry_count,
            out.failed_entries.unwrap_or_default(),
        )?;
    }
    super::gone(
        "events:DeleteRule",
        events
            .delete_rule()
            .name(name)
            .set_event_bus_name(bus)
            .send()
            .await,
    )
}

impl super::Ownership for Spec {}

/// Whether an EventBridge rule or bus carries the stack's tag (`false` once it is gone).
pub(super) async fn owned(ctx: &Ctx, arn: &str) -> Result<bool> {
    let tags = ctx
        .clients
        .events
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await;
    let Some(tags) = found("events:ListTagsForResource", tags)? else {
        return Ok(false);
    };
    let tags = tags.tags.unwrap_or_default();
    Ok(ours(tags.into_iter().map(|t| (t.key, t.value)), &ctx.stack))
}

/// Rules on `bus` (the default bus when `None`), as (id, ARN); a bus already gone has none.
async fn rules_on(ctx: &Ctx, prefix: &str, on: Option<String>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = match ctx
            .clients
            .events
            .list_rules()
            .name_prefix(prefix)
            .set_event_bus_name(on.clone())
            .set_next_token(token)
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) if on.is_some() && is_not_found(&e) => return Ok(out),
            Err(e) => return Err(aws("events:ListRules", e)),
        };
        for r in page.rules() {
            if let (Some(name), Some(arn)) = (r.name(), r.arn()) {
                out.push((super::rule_id(on.as_deref(), name), arn.to_string()));
            }
        }
        token = page.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// The stack's rules the config does not declare, by tag: on the default bus and on the stack's
/// own bus (which may be gone already), both lists at once.
pub(crate) async fn sweep(ctx: &Ctx, search: &Search<'_>) -> Result<Vec<Leftover>> {
    let (default, own) = futures::try_join!(
        rules_on(ctx, &search.prefix, None),
        rules_on(ctx, &search.prefix, Some(search.bus.clone()))
    )?;
    let candidates: Vec<_> = default
        .into_iter()
        .chain(own)
        .filter(|(_, arn)| !search.known.has(arn))
        .collect();
    keep(candidates, |(id, arn)| async move {
        Ok(Leftover::when(owned(ctx, &arn).await?, Kind::EventRule, id))
    })
    .await
}
