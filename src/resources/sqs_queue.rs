//! SQS dead-letter queue: events EventBridge could not deliver, and failures of the error handler.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::sweep::{keep, ours, Leftover, Search};
use super::{found, parse_policy, tags_value, touches, Applied, Ctx, Difference, Kind, Live};
use crate::error::{aws, is_not_found};
use crate::retry::{retry_when, Budget, Transient};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: String,
    pub arn: String,
    pub message_retention_seconds: u32,
    pub visibility_timeout_seconds: u32,
    /// Who may send: only the stack's rules.
    pub policy: Value,
}

impl Spec {
    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "message_retention_seconds".into(),
            json!(self.message_retention_seconds.to_string()),
        );
        m.insert(
            "visibility_timeout_seconds".into(),
            json!(self.visibility_timeout_seconds.to_string()),
        );
        m.insert("sqs_managed_sse".into(), json!("true"));
        m.insert("policy".into(), self.policy.clone());
        m.insert("tags".into(), tags_value(&ctx.tags));
        m
    }

    fn attributes(&self) -> Vec<(aws_sdk_sqs::types::QueueAttributeName, String)> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        vec![
            (
                A::MessageRetentionPeriod,
                self.message_retention_seconds.to_string(),
            ),
            (
                A::VisibilityTimeout,
                self.visibility_timeout_seconds.to_string(),
            ),
            (A::SqsManagedSseEnabled, "true".into()),
            (A::Policy, self.policy.to_string()),
        ]
    }
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let sqs = &ctx.clients.sqs;
    let url = match sqs.get_queue_url().queue_name(&spec.name).send().await {
        Ok(out) => match out.queue_url {
            Some(u) => u,
            None => return Ok(None),
        },
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws("sqs:GetQueueUrl", e)),
    };
    let (attrs, tags) = futures::join!(
        sqs.get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::All)
            .send(),
        sqs.list_queue_tags().queue_url(&url).send()
    );
    let attrs = attrs
        .map_err(|e| aws("sqs:GetQueueAttributes", e))?
        .attributes
        .unwrap_or_default();
    let tags: BTreeMap<String, String> = tags
        .map_err(|e| aws("sqs:ListQueueTags", e))?
        .tags
        .unwrap_or_default()
        .into_iter()
        .collect();
    let get = |k: A| attrs.get(&k).cloned().unwrap_or_default();
    let mut fields = Map::new();
    fields.insert(
        "message_retention_seconds".into(),
        json!(get(A::MessageRetentionPeriod)),
    );
    fields.insert(
        "visibility_timeout_seconds".into(),
        json!(get(A::VisibilityTimeout)),
    );
    fields.insert(
        "sqs_managed_sse".into(),
        json!(get(A::SqsManagedSseEnabled)),
    );
    let policy = get(A::Policy);
    fields.insert(
        "policy".into(),
        if policy.is_empty() {
            Value::Null
        } else {
            parse_policy(&policy)
        },
    );
    fields.insert("tags".into(), tags_value(&tags));
    Ok(Some(Live {
        physical_id: url,
        arn: attrs.get(&A::QueueArn).cloned().or(Some(spec.arn.clone())),
        fields,
        tags: Some(tags),
    }))
}

/// SQS keeps a deleted queue's name for 60 seconds: CreateQueue answers QueueDeletedRecently
/// ("You must wait 60 seconds after deleting a queue before you can create another with the same name").
pub const DELETED_RECENTLY: Transient = Transient {
    when: |a| a.code.ends_with("QueueDeletedRecently"),
    hint: "SQS keeps a deleted queue's name for 60 seconds; waiting for it to be released",
};

/// How long deploy waits for SQS to release a deleted queue's name: its 60 seconds, and a margin.
pub const NAME_RELEASE_WAIT: Duration = Duration::from_secs(75);

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let sqs = &ctx.clients.sqs;
    let budget = Budget {
        limit: NAME_RELEASE_WAIT,
        first_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(10),
    };
    let out = retry_when("sqs:CreateQueue", budget, &DELETED_RECENTLY, || {
        sqs.create_queue()
            .queue_name(&spec.name)
            .set_attributes(Some(spec.attributes().into_iter().collect()))
            .set_tags(Some(ctx.tags.clone().into_iter().collect()))
            .send()
    })
    .await?;
    Ok(Applied {
        physical_id: out.queue_url.unwrap_or_default(),
        arn: Some(spec.arn.clone()),
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, live: &Live, diff: &[Difference]) -> Result<Applied> {
    let sqs = &ctx.clients.sqs;
    let url = &live.physical_id;
    if diff.iter().any(|d| d.field != "tags") {
        sqs.set_queue_attributes()
            .queue_url(url)
            .set_attributes(Some(spec.attributes().into_iter().collect()))
            .send()
            .await
            .map_err(|e| aws("sqs:SetQueueAttributes", e))?;
    }
    if touches(diff, "tags") {
        sqs.tag_queue()
            .queue_url(url)
            .set_tags(Some(ctx.tags.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| aws("sqs:TagQueue", e))?;
    }
    Ok(Applied {
        physical_id: url.clone(),
        arn: Some(spec.arn.clone()),
    })
}

pub async fn delete(ctx: &Ctx, url: &str) -> Result<()> {
    super::gone(
        "sqs:DeleteQueue",
        ctx.clients.sqs.delete_queue().queue_url(url).send().await,
    )
}

impl super::Ownership for Spec {}

/// The stack's queues the config does not declare, by tag.
pub(crate) async fn sweep(ctx: &Ctx, search: &Search<'_>) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let mut candidates = Vec::new();
    let mut pages = c
        .sqs
        .list_queues()
        .queue_name_prefix(&search.prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("sqs:ListQueues", e))?;
        candidates.extend(
            page.queue_urls()
                .iter()
                .filter(|url| !search.known.has(url.rsplit('/').next().unwrap_or_default()))
                .cloned(),
        );
    }
    keep(candidates, |url| async move {
        let tags = c.sqs.list_queue_tags().queue_url(&url).send().await;
        let Some(tags) = found("sqs:ListQueueTags", tags)? else {
            return Ok(vec![]);
        };
        let owned = ours(tags.tags.unwrap_or_default(), &ctx.stack);
        Ok(Leftover::when(owned, Kind::SqsQueue, url))
    })
    .await
}
