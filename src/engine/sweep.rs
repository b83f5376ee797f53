//! Destroy's sweep: live resources named `{stack}-…` that carry `secauto:stack=<stack>` but that
//! neither the state nor the config knows (a crash before the state write, then a config change).

use std::collections::BTreeMap;

use anyhow::Result;

use crate::error::aws;
use crate::resources::{Ctx, Kind, REGION_TAG, STACK_TAG};

/// The address a leftover goes by in plans and outcomes.
pub fn address(kind: Kind, physical_id: &str) -> String {
    format!("{kind}[swept {physical_id}]")
}

/// A tagged leftover: its kind and the physical id `delete` takes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Leftover {
    pub kind: Kind,
    pub physical_id: String,
}

fn ours(tags: impl IntoIterator<Item = (String, String)>, stack: &str) -> bool {
    tags.into_iter().any(|(k, v)| k == STACK_TAG && v == stack)
}

/// An account-global resource (IAM) is ours only when it also names our region: the same stack in
/// another region of the account owns its own.
fn ours_here(tags: impl IntoIterator<Item = (String, String)>, ctx: &Ctx) -> bool {
    let tags: Vec<(String, String)> = tags.into_iter().collect();
    ours(tags.clone(), &ctx.stack)
        && tags
            .iter()
            .any(|(k, v)| k == REGION_TAG && *v == ctx.region)
}

/// Whether an EventBridge rule or bus carries the stack's tag.
async fn events_owned(
    events: &aws_sdk_eventbridge::Client,
    arn: &str,
    stack: &str,
) -> Result<bool> {
    let tags = events
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws("events:ListTagsForResource", e))?;
    Ok(ours(
        tags.tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.key, t.value)),
        stack,
    ))
}

/// List, by name prefix, every taggable kind that can be listed, and keep what is tagged as ours.
pub async fn find(ctx: &Ctx) -> Result<Vec<Leftover>> {
    let stack = ctx.stack.as_str();
    let prefix = format!("{stack}-");
    let c = &ctx.clients;
    // Every service is listed at once: the sweep takes as long as its slowest service.
    let lambda = async {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            let page = c
                .lambda
                .list_functions()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| aws("lambda:ListFunctions", e))?;
            for f in page.functions() {
                let (Some(name), Some(arn)) = (f.function_name(), f.function_arn()) else {
                    continue;
                };
                if !name.starts_with(&prefix) {
                    continue;
                }
                let tags = c
                    .lambda
                    .list_tags()
                    .resource(arn)
                    .send()
                    .await
                    .map_err(|e| aws("lambda:ListTags", e))?;
                if ours(tags.tags.unwrap_or_default(), stack) {
                    out.push(Leftover {
                        kind: Kind::LambdaFunction,
                        physical_id: name.to_string(),
                    });
                }
            }
            marker = page.next_marker.filter(|t| !t.is_empty());
            if marker.is_none() {
                break;
            }
        }
        Ok::<_, anyhow::Error>(out)
    };
    let events = async {
        let mut out = Vec::new();
        // Rules on the default bus and on the stack's own bus (which may be gone already).
        let bus = format!("{stack}-events");
        for on in [None, Some(bus.clone())] {
            let mut rules = Vec::new();
            let mut token = None;
            loop {
                let page = match c
                    .events
                    .list_rules()
                    .name_prefix(&prefix)
                    .set_event_bus_name(on.clone())
                    .set_next_token(token)
                    .send()
                    .await
                {
                    Ok(page) => page,
                    Err(e) if on.is_some() && crate::error::is_not_found(&e) => break,
                    Err(e) => return Err(aws("events:ListRules", e)),
                };
                rules.extend(page.rules().iter().cloned());
                token = page.next_token.filter(|t| !t.is_empty());
                if token.is_none() {
                    break;
                }
            }
            for r in &rules {
                let (Some(name), Some(arn)) = (r.name(), r.arn()) else {
                    continue;
                };
                if events_owned(&c.events, arn, stack).await? {
                    out.push(Leftover {
                        kind: Kind::EventRule,
                        physical_id: crate::resources::rule_id(on.as_deref(), name),
                    });
                }
            }
        }
        let mut token = None;
        loop {
            let page = c
                .events
                .list_event_buses()
                .name_prefix(&prefix)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws("events:ListEventBuses", e))?;
            for b in page.event_buses() {
                let (Some(name), Some(arn)) = (b.name(), b.arn()) else {
                    continue;
                };
                if events_owned(&c.events, arn, stack).await? {
                    out.push(Leftover {
                        kind: Kind::EventBus,
                        physical_id: name.to_string(),
                    });
                }
            }
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        Ok::<_, anyhow::Error>(out)
    };
    let alarms = async {
        let mut out = Vec::new();
        let mut alarms = Vec::new();
        let mut token = None;
        loop {
            let page = c
                .cloudwatch
                .describe_alarms()
                .alarm_name_prefix(&prefix)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws("cloudwatch:DescribeAlarms", e))?;
            alarms.extend(page.metric_alarms().iter().cloned());
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        for a in &alarms {
            let (Some(name), Some(arn)) = (a.alarm_name(), a.alarm_arn()) else {
                continue;
            };
            let tags = c
                .cloudwatch
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|e| aws("cloudwatch:ListTagsForResource", e))?;
            let tags = tags
                .tags
                .unwrap_or_default()
                .into_iter()
                .filter_map(|t| Some((t.key?, t.value?)));
            if ours(tags, stack) {
                out.push(Leftover {
                    kind: Kind::CloudwatchAlarm,
                    physical_id: name.to_string(),
                });
            }
        }
        Ok::<_, anyhow::Error>(out)
    };
    let queues = async {
        let mut out = Vec::new();
        let mut queues = Vec::new();
        let mut token = None;
        loop {
            let page = c
                .sqs
                .list_queues()
                .queue_name_prefix(&prefix)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws("sqs:ListQueues", e))?;
            queues.extend(page.queue_urls().iter().cloned());
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        for url in &queues {
            let tags = c
                .sqs
                .list_queue_tags()
                .queue_url(url)
                .send()
                .await
                .map_err(|e| aws("sqs:ListQueueTags", e))?;
            if ours(tags.tags.unwrap_or_default(), stack) {
                out.push(Leftover {
                    kind: Kind::SqsQueue,
                    physical_id: url.to_string(),
                });
            }
        }
        Ok::<_, anyhow::Error>(out)
    };
    let topics = async {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = c
                .sns
                .list_topics()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws("sns:ListTopics", e))?;
            for t in page.topics() {
                let Some(arn) = t.topic_arn() else { continue };
                if !arn
                    .rsplit(':')
                    .next()
                    .is_some_and(|n| n.starts_with(&prefix))
                {
                    continue;
                }
                let tags = c
                    .sns
                    .list_tags_for_resource()
                    .resource_arn(arn)
                    .send()
                    .await
                    .map_err(|e| aws("sns:ListTagsForResource", e))?;
                if ours(
                    tags.tags
                        .unwrap_or_default()
                        .into_iter()
                        .map(|t| (t.key, t.value)),
                    stack,
                ) {
                    out.push(Leftover {
                        kind: Kind::SnsTopic,
                        physical_id: arn.to_string(),
                    });
                    // A subscription cannot be tagged: on our topic it is ours. (One pending
                    // confirmation has no ARN and cannot be removed; AWS drops it in 3 days.)
                    let mut subs = c
                        .sns
                        .list_subscriptions_by_topic()
                        .topic_arn(arn)
                        .into_paginator()
                        .items()
                        .send();
                    while let Some(sub) = subs.next().await {
                        let sub = sub.map_err(|e| aws("sns:ListSubscriptionsByTopic", e))?;
                        if let Some(id) = sub.subscription_arn.filter(|a| a.starts_with("arn:")) {
                            out.push(Leftover {
                                kind: Kind::SnsSubscription,
                                physical_id: id,
                            });
                        }
                    }
                }
            }
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        Ok::<_, anyhow::Error>(out)
    };
    let documents = async {
        let mut out = Vec::new();
        let mut docs = Vec::new();
        let mut token = None;
        loop {
            let page = c
                .ssm
                .list_documents()
                .filters(
                    aws_sdk_ssm::types::DocumentKeyValuesFilter::builder()
                        .key("Owner")
                        .values("Self")
                        .build(),
                )
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws("ssm:ListDocuments", e))?;
            docs.extend(page.document_identifiers().iter().cloned());
            token = page.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        for d in &docs {
            let Some(name) = d.name() else { continue };
            if !name.starts_with(&prefix) {
                continue;
            }
            let tags: BTreeMap<String, String> = d
                .tags()
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect();
            if ours(tags, stack) {
                out.push(Leftover {
                    kind: Kind::SsmDocument,
                    physical_id: name.to_string(),
                });
            }
        }
        Ok::<_, anyhow::Error>(out)
    };
    let policies = async {
        let mut out = Vec::new();
        let mut policies = Vec::new();
        let mut marker = None;
        loop {
            let page = c
                .iam
                .list_policies()
                .scope(aws_sdk_iam::types::PolicyScopeType::Local)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| aws("iam:ListPolicies", e))?;
            policies.extend(page.policies().iter().cloned());
            marker = page.marker.filter(|_| page.is_truncated);
            if marker.is_none() {
                break;
            }
        }
        for p in &policies {
            let (Some(name), Some(arn)) = (p.policy_name(), p.arn()) else {
                continue;
            };
            if !name.starts_with(&prefix) {
                continue;
            }
            let tags = c
                .iam
                .list_policy_tags()
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| aws("iam:ListPolicyTags", e))?;
            if ours_here(tags.tags.into_iter().map(|t| (t.key, t.value)), ctx) {
                out.push(Leftover {
                    kind: Kind::IamPolicy,
                    physical_id: arn.to_string(),
                });
            }
        }
        Ok::<_, anyhow::Error>(out)
    };
    let roles = async {
        let mut out = Vec::new();
        let mut roles = Vec::new();
        let mut marker = None;
        loop {
            let page = c
                .iam
                .list_roles()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| aws("iam:ListRoles", e))?;
            roles.extend(
                page.roles()
                    .iter()
                    .filter(|r| r.role_name().starts_with(&prefix))
                    .map(|r| r.role_name().to_string()),
            );
            marker = page.marker.filter(|_| page.is_truncated);
            if marker.is_none() {
                break;
            }
        }
        for name in roles {
            let tags = c
                .iam
                .list_role_tags()
                .role_name(&name)
                .send()
                .await
                .map_err(|e| aws("iam:ListRoleTags", e))?;
            if ours_here(tags.tags.into_iter().map(|t| (t.key, t.value)), ctx) {
                out.push(Leftover {
                    kind: Kind::IamRole,
                    physical_id: name,
                });
            }
        }
        Ok::<_, anyhow::Error>(out)
    };
    let keys = async {
        let mut out = Vec::new();
        // The stack's key, by its alias (a key pending deletion has lost its alias: it is done).
        let alias = format!("alias/{stack}");
        let mut marker = None;
        loop {
            let page = c
                .kms
                .list_aliases()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| aws("kms:ListAliases", e))?;
            for a in page.aliases() {
                let (Some(name), Some(key_id)) = (a.alias_name(), a.target_key_id()) else {
                    continue;
                };
                if name != alias {
                    continue;
                }
                let tags = c
                    .kms
                    .list_resource_tags()
                    .key_id(key_id)
                    .send()
                    .await
                    .map_err(|e| aws("kms:ListResourceTags", e))?;
                let tags = tags
                    .tags
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| (t.tag_key, t.tag_value));
                if ours(tags, stack) {
                    out.push(Leftover {
                        kind: Kind::KmsKey,
                        physical_id: format!("{name}|{key_id}"),
                    });
                }
            }
            marker = page.next_marker.filter(|_| page.truncated);
            if marker.is_none() {
                break;
            }
        }
        Ok::<_, anyhow::Error>(out)
    };
    // A dashboard cannot be tagged: the one named exactly `{stack}-{region}` is the stack's.
    let dashboards = async {
        let name = format!("{stack}-{}", ctx.region);
        match c
            .cloudwatch
            .get_dashboard()
            .dashboard_name(&name)
            .send()
            .await
        {
            Ok(_) => Ok(vec![Leftover {
                kind: Kind::CloudwatchDashboard,
                physical_id: name,
            }]),
            Err(e) if crate::error::is_not_found(&e) => Ok(vec![]),
            Err(e) => Err(aws("cloudwatch:GetDashboard", e)),
        }
    };
    let (lambda, events, alarms, queues, topics, documents, policies, roles, keys, dashboards) = futures::try_join!(
        lambda, events, alarms, queues, topics, documents, policies, roles, keys, dashboards
    )?;
    let mut out: Vec<Leftover> = [
        lambda, events, alarms, queues, topics, documents, policies, roles, keys, dashboards,
    ]
    .into_iter()
    .flatten()
    .collect();
    out.sort();
    Ok(out)
}
