//! SNS topic: where every notification goes. Encrypted at rest.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::sweep::{keep, ours, Leftover, Search};
use super::{found, tags_value, touches, Applied, Ctx, Difference, Kind, Live};
use crate::error::{aws, is_not_found};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: String,
    pub arn: String,
    pub display_name: String,
    pub kms_master_key_id: String,
}

impl Spec {
    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("display_name".into(), json!(self.display_name));
        m.insert("kms_master_key_id".into(), json!(self.kms_master_key_id));
        m.insert("tags".into(), tags_value(&ctx.tags));
        m
    }
}

fn sns_tags(ctx: &Ctx) -> Result<Vec<aws_sdk_sns::types::Tag>> {
    ctx.tags
        .iter()
        .map(|(k, v)| Ok(aws_sdk_sns::types::Tag::builder().key(k).value(v).build()?))
        .collect()
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let sns = &ctx.clients.sns;
    // The topic and its tags in one round (the tags' answer counts only if the topic exists).
    let (attrs, tags) = futures::join!(
        sns.get_topic_attributes().topic_arn(&spec.arn).send(),
        sns.list_tags_for_resource().resource_arn(&spec.arn).send()
    );
    let attrs = match attrs {
        Ok(out) => out.attributes.unwrap_or_default(),
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws("sns:GetTopicAttributes", e)),
    };
    let tags: BTreeMap<String, String> = tags
        .map_err(|e| aws("sns:ListTagsForResource", e))?
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    let get = |k: &str| json!(attrs.get(k).cloned().unwrap_or_default());
    let mut fields = Map::new();
    fields.insert("display_name".into(), get("DisplayName"));
    fields.insert("kms_master_key_id".into(), get("KmsMasterKeyId"));
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
        .sns
        .create_topic()
        .name(&spec.name)
        .attributes("DisplayName", &spec.display_name)
        .attributes("KmsMasterKeyId", &spec.kms_master_key_id)
        .set_tags(Some(sns_tags(ctx)?))
        .send()
        .await
        .map_err(|e| aws("sns:CreateTopic", e))?;
    let arn = out.topic_arn.unwrap_or_else(|| spec.arn.clone());
    Ok(Applied {
        physical_id: arn.clone(),
        arn: Some(arn),
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, _live: &Live, diff: &[Difference]) -> Result<Applied> {
    let sns = &ctx.clients.sns;
    for (field, attr, value) in [
        ("display_name", "DisplayName", &spec.display_name),
        (
            "kms_master_key_id",
            "KmsMasterKeyId",
            &spec.kms_master_key_id,
        ),
    ] {
        if touches(diff, field) {
            sns.set_topic_attributes()
                .topic_arn(&spec.arn)
                .attribute_name(attr)
                .attribute_value(value)
                .send()
                .await
                .map_err(|e| aws("sns:SetTopicAttributes", e))?;
        }
    }
    if touches(diff, "tags") {
        sns.tag_resource()
            .resource_arn(&spec.arn)
            .set_tags(Some(sns_tags(ctx)?))
            .send()
            .await
            .map_err(|e| aws("sns:TagResource", e))?;
    }
    Ok(Applied {
        physical_id: spec.arn.clone(),
        arn: Some(spec.arn.clone()),
    })
}

/// Deleting a topic also deletes its subscriptions.
pub async fn delete(ctx: &Ctx, arn: &str) -> Result<()> {
    super::gone(
        "sns:DeleteTopic",
        ctx.clients.sns.delete_topic().topic_arn(arn).send().await,
    )
}

impl super::Ownership for Spec {}

/// The stack's topics, by tag, each with its subscriptions: a subscription cannot be tagged, on
/// our topic it is ours. (One pending confirmation has no ARN and cannot be removed; AWS drops it
/// after three days.)
pub(crate) async fn sweep(ctx: &Ctx, search: &Search<'_>) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let mut candidates = Vec::new();
    let mut topics = c.sns.list_topics().into_paginator().items().send();
    while let Some(t) = topics.next().await {
        let t = t.map_err(|e| aws("sns:ListTopics", e))?;
        let Some(arn) = t.topic_arn else { continue };
        if arn
            .rsplit(':')
            .next()
            .is_some_and(|n| n.starts_with(&search.prefix))
        {
            candidates.push(arn);
        }
    }
    keep(candidates, |arn| async move {
        // The tags and the subscriptions in one round; the subscriptions count only if it is ours.
        let (tags, subscriptions) = futures::join!(
            c.sns.list_tags_for_resource().resource_arn(&arn).send(),
            subscriptions(ctx, &arn)
        );
        let Some(tags) = found("sns:ListTagsForResource", tags)? else {
            return Ok(vec![]);
        };
        let tags = tags.tags.unwrap_or_default().into_iter();
        if !ours(tags.map(|t| (t.key, t.value)), &ctx.stack) {
            return Ok(vec![]);
        }
        let mut out = vec![Leftover::new(Kind::SnsTopic, arn.clone())];
        out.extend(subscriptions?);
        Ok(out)
    })
    .await
}

/// The confirmed subscriptions of a topic.
async fn subscriptions(ctx: &Ctx, arn: &str) -> Result<Vec<Leftover>> {
    let mut out = Vec::new();
    let mut subs = ctx
        .clients
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(arn)
        .into_paginator()
        .items()
        .send();
    while let Some(sub) = subs.next().await {
        let sub = sub.map_err(|e| aws("sns:ListSubscriptionsByTopic", e))?;
        if let Some(id) = sub.subscription_arn.filter(|a| a.starts_with("arn:")) {
            out.push(Leftover::new(Kind::SnsSubscription, id));
        }
    }
    Ok(out)
}
