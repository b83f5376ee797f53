//! A subscription of the notification topic (email, https or sqs). Found by topic, protocol and endpoint;
//! not taggable. An email subscription has no ARN until its owner confirms it: deploy leaves it pending.

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{Applied, Ctx, Difference, Live};
use crate::error::{aws, is_not_found};

/// The physical id of a subscription that waits for confirmation; it cannot be deleted through the API
/// (AWS drops it after three days unconfirmed).
pub const PENDING: &str = "PendingConfirmation";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub topic_arn: String,
    pub protocol: String,
    pub endpoint: String,
}

impl Spec {
    pub fn fields(&self, _ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("protocol".into(), json!(self.protocol));
        m.insert("endpoint".into(), json!(self.endpoint));
        m
    }
}

fn is_arn(id: &str) -> bool {
    id.starts_with("arn:")
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let mut subscriptions = ctx
        .clients
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(&spec.topic_arn)
        .into_paginator()
        .items()
        .send();
    while let Some(s) = subscriptions.next().await {
        let s = match s {
            Ok(s) => s,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(aws("sns:ListSubscriptionsByTopic", e)),
        };
        if s.protocol() == Some(spec.protocol.as_str())
            && s.endpoint() == Some(spec.endpoint.as_str())
        {
            let id = s.subscription_arn().unwrap_or(PENDING).to_string();
            let arn = is_arn(&id).then(|| id.clone());
            return Ok(Some(Live {
                physical_id: id,
                arn,
                fields: spec.fields(ctx),
                tags: None,
            }));
        }
    }
    Ok(None)
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let out = ctx
        .clients
        .sns
        .subscribe()
        .topic_arn(&spec.topic_arn)
        .protocol(&spec.protocol)
        .endpoint(&spec.endpoint)
        .return_subscription_arn(true)
        .send()
        .await
        .map_err(|e| aws("sns:Subscribe", e))?;
    let id = out
        .subscription_arn
        .filter(|a| is_arn(a))
        .unwrap_or_else(|| PENDING.to_string());
    let arn = is_arn(&id).then(|| id.clone());
    Ok(Applied {
        physical_id: id,
        arn,
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, _live: &Live, _diff: &[Difference]) -> Result<Applied> {
    create(ctx, spec).await
}

pub async fn delete(ctx: &Ctx, id: &str) -> Result<()> {
    if !is_arn(id) {
        tracing::warn!(
            "subscription is pending confirmation: AWS deletes it after three days unconfirmed"
        );
        return Ok(());
    }
    super::gone(
        "sns:Unsubscribe",
        ctx.clients
            .sns
            .unsubscribe()
            .subscription_arn(id)
            .send()
            .await,
    )
}

impl super::Ownership for Spec {}
