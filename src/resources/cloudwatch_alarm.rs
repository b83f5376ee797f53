//! CloudWatch metric alarm: one metric identity per alarm, notifying the stack's topic.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::sweep::{keep, ours, Leftover, Search};
use super::{found, tags_value, touches, Applied, Ctx, Difference, Kind, Live};
use crate::error::{aws, is_not_found};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: String,
    pub arn: String,
    pub description: String,
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: BTreeMap<String, String>,
    pub statistic: String,
    pub period: i32,
    pub evaluation_periods: i32,
    pub threshold: f64,
    pub comparison_operator: String,
    pub treat_missing_data: String,
    pub alarm_actions: Vec<String>,
}

impl Spec {
    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("description".into(), json!(self.description));
        m.insert("namespace".into(), json!(self.namespace));
        m.insert("metric_name".into(), json!(self.metric_name));
        m.insert("dimensions".into(), json!(self.dimensions));
        m.insert("statistic".into(), json!(self.statistic));
        m.insert("period".into(), json!(self.period));
        m.insert("evaluation_periods".into(), json!(self.evaluation_periods));
        m.insert("threshold".into(), json!(self.threshold));
        m.insert(
            "comparison_operator".into(),
            json!(self.comparison_operator),
        );
        m.insert("treat_missing_data".into(), json!(self.treat_missing_data));
        m.insert("alarm_actions".into(), json!(self.alarm_actions));
        m.insert("tags".into(), tags_value(&ctx.tags));
        m
    }
}

fn cw_tags(ctx: &Ctx) -> Result<Vec<aws_sdk_cloudwatch::types::Tag>> {
    ctx.tags
        .iter()
        .map(|(k, v)| {
            Ok(aws_sdk_cloudwatch::types::Tag::builder()
                .key(k)
                .value(v)
                .build())
        })
        .collect()
}

async fn list_tags(ctx: &Ctx, arn: &str) -> Result<BTreeMap<String, String>> {
    Ok(ctx
        .clients
        .cloudwatch
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws("cloudwatch:ListTagsForResource", e))?
        .tags
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.key?, t.value?)))
        .collect())
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let out = match ctx
        .clients
        .cloudwatch
        .describe_alarms()
        .alarm_names(&spec.name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws("cloudwatch:DescribeAlarms", e)),
    };
    let Some(a) = out
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name() == Some(spec.name.as_str()))
    else {
        return Ok(None);
    };
    let arn = a.alarm_arn().unwrap_or(&spec.arn).to_string();
    let tags = list_tags(ctx, &arn).await?;
    let dims: BTreeMap<String, String> = a
        .dimensions()
        .iter()
        .map(|d| {
            (
                d.name().unwrap_or_default().to_string(),
                d.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut fields = Map::new();
    fields.insert(
        "description".into(),
        json!(a.alarm_description().unwrap_or_default()),
    );
    fields.insert("namespace".into(), json!(a.namespace().unwrap_or_default()));
    fields.insert(
        "metric_name".into(),
        json!(a.metric_name().unwrap_or_default()),
    );
    fields.insert("dimensions".into(), json!(dims));
    fields.insert(
        "statistic".into(),
        json!(a.statistic().map(|s| s.as_str()).unwrap_or_default()),
    );
    fields.insert("period".into(), json!(a.period().unwrap_or_default()));
    fields.insert(
        "evaluation_periods".into(),
        json!(a.evaluation_periods().unwrap_or_default()),
    );
    fields.insert("threshold".into(), json!(a.threshold().unwrap_or_default()));
    fields.insert(
        "comparison_operator".into(),
        json!(a
            .comparison_operator()
            .map(|s| s.as_str())
            .unwrap_or_default()),
    );
    fields.insert(
        "treat_missing_data".into(),
        json!(a.treat_missing_data().unwrap_or("missing")),
    );
    fields.insert("alarm_actions".into(), json!(a.alarm_actions()));
    fields.insert("tags".into(), tags_value(&tags));
    Ok(Some(Live {
        physical_id: spec.name.clone(),
        arn: Some(arn),
        fields,
        tags: Some(tags),
    }))
}

/// PutMetricAlarm creates or replaces the whole alarm; its tags apply only on creation.
async fn put(ctx: &Ctx, spec: &Spec) -> Result<()> {
    let dims: Vec<Dimension> = spec
        .dimensions
        .iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect();
    ctx.clients
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(&spec.name)
        .alarm_description(&spec.description)
        .namespace(&spec.namespace)
        .metric_name(&spec.metric_name)
        .set_dimensions(Some(dims))
        .statistic(Statistic::from(spec.statistic.as_str()))
        .period(spec.period)
        .evaluation_periods(spec.evaluation_periods)
        .threshold(spec.threshold)
        .comparison_operator(ComparisonOperator::from(spec.comparison_operator.as_str()))
        .treat_missing_data(&spec.treat_missing_data)
        .set_alarm_actions(Some(spec.alarm_actions.clone()))
        .actions_enabled(true)
        .set_tags(Some(cw_tags(ctx)?))
        .send()
        .await
        .map_err(|e| aws("cloudwatch:PutMetricAlarm", e))?;
    Ok(())
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    put(ctx, spec).await?;
    Ok(Applied {
        physical_id: spec.name.clone(),
        arn: Some(spec.arn.clone()),
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, live: &Live, diff: &[Difference]) -> Result<Applied> {
    if diff.iter().any(|d| d.field != "tags") {
        put(ctx, spec).await?;
    }
    if touches(diff, "tags") {
        ctx.clients
            .cloudwatch
            .tag_resource()
            .resource_arn(live.arn.as_deref().unwrap_or(&spec.arn))
            .set_tags(Some(cw_tags(ctx)?))
            .send()
            .await
            .map_err(|e| aws("cloudwatch:TagResource", e))?;
    }
    Ok(Applied {
        physical_id: spec.name.clone(),
        arn: live.arn.clone(),
    })
}

pub async fn delete(ctx: &Ctx, name: &str) -> Result<()> {
    super::gone(
        "cloudwatch:DeleteAlarms",
        ctx.clients
            .cloudwatch
            .delete_alarms()
            .alarm_names(name)
            .send()
            .await,
    )
}

impl super::Ownership for Spec {}

/// The stack's alarms the config does not declare, by tag.
pub(crate) async fn sweep(ctx: &Ctx, search: &Search<'_>) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let mut candidates = Vec::new();
    let mut pages = c
        .cloudwatch
        .describe_alarms()
        .alarm_name_prefix(&search.prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("cloudwatch:DescribeAlarms", e))?;
        candidates.extend(
            page.metric_alarms()
                .iter()
                .filter_map(|a| Some((a.alarm_name()?.to_string(), a.alarm_arn()?.to_string())))
                .filter(|(name, _)| !search.known.has(name)),
        );
    }
    keep(candidates, |(name, arn)| async move {
        let tags = c
            .cloudwatch
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await;
        let Some(tags) = found("cloudwatch:ListTagsForResource", tags)? else {
            return Ok(vec![]);
        };
        let tags = tags.tags.unwrap_or_default().into_iter();
        let owned = ours(tags.filter_map(|t| Some((t.key?, t.value?))), &ctx.stack);
        Ok(Leftover::when(owned, Kind::CloudwatchAlarm, name))
    })
    .await
}
