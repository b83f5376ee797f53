//! A target of an EventBridge rule, with a dead-letter queue and a retry policy. Not taggable.

use anyhow::Result;
use aws_sdk_eventbridge::types::{DeadLetterConfig, RetryPolicy, Target};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{split_id, Applied, Ctx, Difference, Live};
use crate::error::{aws, is_not_found};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub rule: String,
    /// The rule's bus, when not the default one.
    pub bus: Option<String>,
    pub id: String,
    pub target_arn: String,
    pub dead_letter_arn: String,
    pub maximum_retry_attempts: i32,
    pub maximum_event_age_seconds: i32,
}

impl Spec {
    pub fn fields(&self, _ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("arn".into(), json!(self.target_arn));
        m.insert("dead_letter_arn".into(), json!(self.dead_letter_arn));
        m.insert(
            "maximum_retry_attempts".into(),
            json!(self.maximum_retry_attempts),
        );
        m.insert(
            "maximum_event_age_seconds".into(),
            json!(self.maximum_event_age_seconds),
        );
        m
    }

    fn physical_id(&self) -> String {
        format!(
            "{}|{}",
            super::rule_id(self.bus.as_deref(), &self.rule),
            self.id
        )
    }
}

/// PutTargets and RemoveTargets answer 200 with failed entries: those are errors.
pub fn check_failed<E: std::fmt::Debug>(op: &str, count: i32, entries: Vec<E>) -> Result<()> {
    if count > 0 || !entries.is_empty() {
        anyhow::bail!("{op}: {count} entries failed: {entries:?}");
    }
    Ok(())
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let mut token = None;
    loop {
        let out = match ctx
            .clients
            .events
            .list_targets_by_rule()
            .rule(&spec.rule)
            .set_event_bus_name(spec.bus.clone())
            .set_next_token(token)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws("events:ListTargetsByRule", e)),
        };
        for t in out.targets() {
            if t.id() == spec.id {
                let mut fields = Map::new();
                fields.insert("arn".into(), json!(t.arn()));
                fields.insert(
                    "dead_letter_arn".into(),
                    json!(t
                        .dead_letter_config()
                        .and_then(|d| d.arn())
                        .unwrap_or_default()),
                );
                let retry = t.retry_policy();
                fields.insert(
                    "maximum_retry_attempts".into(),
                    json!(retry
                        .and_then(|r| r.maximum_retry_attempts())
                        .unwrap_or(185)),
                );
                fields.insert(
                    "maximum_event_age_seconds".into(),
                    json!(retry
                        .and_then(|r| r.maximum_event_age_in_seconds())
                        .unwrap_or(86400)),
                );
                return Ok(Some(Live {
                    physical_id: spec.physical_id(),
                    arn: None,
                    fields,
                    tags: None,
                }));
            }
        }
        token = out.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(None);
        }
    }
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let target = Target::builder()
        .id(&spec.id)
        .arn(&spec.target_arn)
        .dead_letter_config(
            DeadLetterConfig::builder()
                .arn(&spec.dead_letter_arn)
                .build(),
        )
        .retry_policy(
            RetryPolicy::builder()
                .maximum_retry_attempts(spec.maximum_retry_attempts)
                .maximum_event_age_in_seconds(spec.maximum_event_age_seconds)
                .build(),
        )
        .build()?;
    let out = ctx
        .clients
        .events
        .put_targets()
        .rule(&spec.rule)
        .set_event_bus_name(spec.bus.clone())
        .targets(target)
        .send()
        .await
        .map_err(|e| aws("events:PutTargets", e))?;
    check_failed(
        "events:PutTargets",
        out.failed_entry_count,
        out.failed_entries.unwrap_or_default(),
    )?;
    Ok(Applied {
        physical_id: spec.physical_id(),
        arn: None,
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, _live: &Live, _diff: &[Difference]) -> Result<Applied> {
    create(ctx, spec).await
}

pub async fn delete(ctx: &Ctx, id: &str) -> Result<()> {
    let (rule, target) = split_id(id)?;
    let (bus, rule) = super::split_rule_id(rule);
    let out = match ctx
        .clients
        .events
        .remove_targets()
        .rule(rule)
        .set_event_bus_name(bus.map(String::from))
        .ids(target)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(aws("events:RemoveTargets", e)),
    };
    check_failed(
        "events:RemoveTargets",
        out.failed_entry_count,
        out.failed_entries.unwrap_or_default(),
    )
}

impl super::Ownership for Spec {}
