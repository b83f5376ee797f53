//! The sweep: live resources the stack owns by tag (or, for the few kinds that cannot be tagged,
//! by an unmistakable name or parent) that the config or the state may not know — a crash before
//! the state write, a runner without the state, a resource dropped from the config.
//!
//! Every service is listed at once, and the candidates' tags are read concurrently: the sweep
//! takes about as long as its slowest service's list plus one round of tag reads.

use std::collections::BTreeMap;
use std::future::Future;

use anyhow::Result;
use futures::{stream, StreamExt, TryStreamExt};

use crate::error::aws;
use crate::resources::{Ctx, Kind, REGION_TAG, STACK_TAG};

/// The stack's names (names never involve the account, only ARNs do).
fn names(ctx: &Ctx) -> crate::stack::Names {
    crate::stack::Names::new(&ctx.stack, &ctx.region, "")
}

/// Tag reads in flight at once per service.
const TAG_READS: usize = 16;

/// The address a leftover goes by in plans and outcomes.
pub fn address(kind: Kind, physical_id: &str) -> String {
    format!("{kind}[swept {physical_id}]")
}

/// A resource found by the sweep: its kind and the physical id `delete` takes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Leftover {
    pub kind: Kind,
    pub physical_id: String,
    /// Why deploy deletes it, when not because it is tagged ours but gone from the config.
    pub reason: Option<String>,
}

impl Leftover {
    fn new(kind: Kind, physical_id: impl Into<String>) -> Leftover {
        Leftover {
            kind,
            physical_id: physical_id.into(),
            reason: None,
        }
    }
}

/// Statements of the stack's functions' resource policies that the stack did not make (someone
/// let another principal invoke a function): drift, which deploy removes by its Sid.
async fn permissions(ctx: &Ctx, known: &Known) -> Result<Vec<Leftover>> {
    let functions: Vec<(&String, &std::collections::BTreeSet<String>)> =
        known.statements.iter().collect();
    keep(functions, |(function, sids)| async move {
        let read = ctx.clients.lambda.get_policy().function_name(function).send().await;
        let Some(out) = unless_gone("lambda:GetPolicy", read)? else {
            return Ok(vec![]);
        };
        let found = crate::resources::lambda_permission::statement_ids(out.policy().unwrap_or("{}"));
        Ok(found
            .into_iter()
            .filter(|sid| !sids.contains(sid))
            .map(|sid| Leftover {
                kind: Kind::LambdaPermission,
                physical_id: format!("{function}|{sid}"),
                reason: Some(format!(
                    "statement {sid:?} of function {function}'s resource policy was not made by this stack: deploy removes it"
                )),
            })
            .collect())
    })
    .await
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

/// A candidate's tags, or `None` when it was deleted between the list and the read (the same
/// stack of another region of the account being destroyed at the same time, or anyone else).
use crate::resources::found as unless_gone;

/// Run `check` on every candidate, [`TAG_READS`] at a time, and gather what it keeps.
async fn keep<T, F, Fut>(candidates: Vec<T>, check: F) -> Result<Vec<Leftover>>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<Vec<Leftover>>>,
{
    let found: Vec<Vec<Leftover>> = stream::iter(candidates)
        .map(check)
        .buffer_unordered(TAG_READS)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
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
        .await;
    let Some(tags) = unless_gone("events:ListTagsForResource", tags)? else {
        return Ok(false);
    };
    Ok(ours(
        tags.tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.key, t.value)),
        stack,
    ))
}

async fn functions(ctx: &Ctx, prefix: &str, known: &Known) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let mut candidates = Vec::new();
    let mut pages = c.lambda.list_functions().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("lambda:ListFunctions", e))?;
        candidates.extend(page.functions().iter().filter_map(|f| {
            let (name, arn) = (f.function_name()?, f.function_arn()?);
            (name.starts_with(prefix) && !known.has(name))
                .then(|| (name.to_string(), arn.to_string()))
        }));
    }
    keep(candidates, |(name, arn)| async move {
        let Some(tags) = unless_gone(
            "lambda:ListTags",
            c.lambda.list_tags().resource(&arn).send().await,
        )?
        else {
            return Ok(vec![]);
        };
        Ok(ours(tags.tags.unwrap_or_default(), &ctx.stack)
            .then(|| Leftover::new(Kind::LambdaFunction, name))
            .into_iter()
            .collect())
    })
    .await
}

/// Rules on `bus` (the default bus when `None`), as (kind, physical id, ARN); a bus already gone
/// has none.
async fn rules_on(
    ctx: &Ctx,
    prefix: &str,
    on: Option<String>,
) -> Result<Vec<(Kind, String, String)>> {
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
            Err(e) if on.is_some() && crate::error::is_not_found(&e) => break,
            Err(e) => return Err(aws("events:ListRules", e)),
        };
        for r in page.rules() {
            if let (Some(name), Some(arn)) = (r.name(), r.arn()) {
                let id = crate::resources::rule_id(on.as_deref(), name);
                out.push((Kind::EventRule, id, arn.to_string()));
            }
        }
        token = page.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(out);
        }
    }
    Ok(out)
}

async fn buses(ctx: &Ctx, prefix: &str) -> Result<Vec<(Kind, String, String)>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = ctx
            .clients
            .events
            .list_event_buses()
            .name_prefix(prefix)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws("events:ListEventBuses", e))?;
        for b in page.event_buses() {
            if let (Some(name), Some(arn)) = (b.name(), b.arn()) {
                out.push((Kind::EventBus, name.to_string(), arn.to_string()));
            }
        }
        token = page.next_token.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Rules on the default bus and on the stack's own bus (which may be gone already), and the bus:
/// the three lists at once, then the tags.
async fn events(ctx: &Ctx, prefix: &str, known: &Known) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let bus = names(ctx).bus();
    let (default, own, buses) = futures::try_join!(
        rules_on(ctx, prefix, None),
        rules_on(ctx, prefix, Some(bus)),
        buses(ctx, prefix)
    )?;
    let candidates: Vec<_> = default
        .into_iter()
        .chain(own)
        .chain(buses)
        .filter(|(_, _, arn)| !known.has(arn))
        .collect();
    keep(candidates, |(kind, id, arn)| async move {
        Ok(events_owned(&c.events, &arn, &ctx.stack)
            .await?
            .then(|| Leftover::new(kind, id))
            .into_iter()
            .collect())
    })
    .await
}

async fn alarms(ctx: &Ctx, prefix: &str, known: &Known) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let mut candidates = Vec::new();
    let mut pages = c
        .cloudwatch
        .describe_alarms()
        .alarm_name_prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("cloudwatch:DescribeAlarms", e))?;
        candidates.extend(
            page.metric_alarms()
                .iter()
                .filter_map(|a| Some((a.alarm_name()?.to_string(), a.alarm_arn()?.to_string())))
                .filter(|(name, _)| !known.has(name)),
        );
    }
    keep(candidates, |(name, arn)| async move {
        let Some(tags) = unless_gone(
            "cloudwatch:ListTagsForResource",
            c.cloudwatch
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await,
        )?
        else {
            return Ok(vec![]);
        };
        let tags = tags
            .tags
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| Some((t.key?, t.value?)));
        Ok(ours(tags, &ctx.stack)
            .then(|| Leftover::new(Kind::CloudwatchAlarm, name))
            .into_iter()
            .collect())
    })
    .await
}

async fn queues(ctx: &Ctx, prefix: &str, known: &Known) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let mut candidates = Vec::new();
    let mut pages = c
        .sqs
        .list_queues()
        .queue_name_prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("sqs:ListQueues", e))?;
        candidates.extend(
            page.queue_urls()
                .iter()
                .filter(|url| !known.has(url.rsplit('/').next().unwrap_or_default()))
                .cloned(),
        );
    }
    keep(candidates, |url| async move {
        let Some(tags) = unless_gone(
            "sqs:ListQueueTags",
            c.sqs.list_queue_tags().queue_url(&url).send().await,
        )?
        else {
            return Ok(vec![]);
        };
        Ok(ours(tags.tags.unwrap_or_default(), &ctx.stack)
            .then(|| Leftover::new(Kind::SqsQueue, url))
            .into_iter()
            .collect())
    })
    .await
}

/// Topics by tag; a subscription cannot be tagged: on our topic it is ours. (One pending
/// confirmation has no ARN and cannot be removed; AWS drops it after three days.)
async fn topics(ctx: &Ctx, prefix: &str) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let mut candidates = Vec::new();
    let mut topics = c.sns.list_topics().into_paginator().items().send();
    while let Some(t) = topics.next().await {
        let t = t.map_err(|e| aws("sns:ListTopics", e))?;
        let Some(arn) = t.topic_arn else { continue };
        if arn
            .rsplit(':')
            .next()
            .is_some_and(|n| n.starts_with(prefix))
        {
            candidates.push(arn);
        }
    }
    keep(candidates, |arn| async move {
        // The tags and the subscriptions in one round; the subscriptions count only if it is ours.
        let subscriptions = async {
            let mut out = Vec::new();
            let mut subs = c
                .sns
                .list_subscriptions_by_topic()
                .topic_arn(&arn)
                .into_paginator()
                .items()
                .send();
            while let Some(sub) = subs.next().await {
                let sub = sub.map_err(|e| aws("sns:ListSubscriptionsByTopic", e))?;
                if let Some(id) = sub.subscription_arn.filter(|a| a.starts_with("arn:")) {
                    out.push(Leftover::new(Kind::SnsSubscription, id));
                }
            }
            Ok::<_, anyhow::Error>(out)
        };
        let (tags, subscriptions) = futures::join!(
            c.sns.list_tags_for_resource().resource_arn(&arn).send(),
            subscriptions
        );
        let Some(tags) = unless_gone("sns:ListTagsForResource", tags)? else {
            return Ok(vec![]);
        };
        let tags = tags
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.key, t.value));
        if !ours(tags, &ctx.stack) {
            return Ok(vec![]);
        }
        let mut out = vec![Leftover::new(Kind::SnsTopic, arn.clone())];
        out.extend(subscriptions?);
        Ok(out)
    })
    .await
}

/// Documents come with their tags: no read per candidate.
async fn documents(ctx: &Ctx, prefix: &str) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let mut out = Vec::new();
    let mut pages = c
        .ssm
        .list_documents()
        .filters(
            aws_sdk_ssm::types::DocumentKeyValuesFilter::builder()
                .key("Owner")
                .values("Self")
                .build(),
        )
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("ssm:ListDocuments", e))?;
        for d in page.document_identifiers() {
            let Some(name) = d.name().filter(|n| n.starts_with(prefix)) else {
                continue;
            };
            let tags: BTreeMap<String, String> = d
                .tags()
                .iter()
                .map(|t| (t.key.clone(), t.value.clone()))
                .collect();
            if ours(tags, &ctx.stack) {
                out.push(Leftover::new(Kind::SsmDocument, name));
            }
        }
    }
    Ok(out)
}

async fn policies(ctx: &Ctx, prefix: &str, known: &Known) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let mut candidates = Vec::new();
    let mut pages = c
        .iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("iam:ListPolicies", e))?;
        candidates.extend(page.policies().iter().filter_map(|p| {
            let (name, arn) = (p.policy_name()?, p.arn()?);
            (name.starts_with(prefix) && !known.has(arn)).then(|| arn.to_string())
        }));
    }
    keep(candidates, |arn| async move {
        let Some(tags) = unless_gone(
            "iam:ListPolicyTags",
            c.iam.list_policy_tags().policy_arn(&arn).send().await,
        )?
        else {
            return Ok(vec![]);
        };
        Ok(
            ours_here(tags.tags.into_iter().map(|t| (t.key, t.value)), ctx)
                .then(|| Leftover::new(Kind::IamPolicy, arn))
                .into_iter()
                .collect(),
        )
    })
    .await
}

async fn roles(ctx: &Ctx, prefix: &str, known: &Known) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let mut candidates = Vec::new();
    let mut pages = c.iam.list_roles().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("iam:ListRoles", e))?;
        candidates.extend(
            page.roles()
                .iter()
                .filter(|r| r.role_name().starts_with(prefix) && !known.has(r.role_name()))
                .map(|r| r.role_name().to_string()),
        );
    }
    keep(candidates, |name| async move {
        let Some(tags) = unless_gone(
            "iam:ListRoleTags",
            c.iam.list_role_tags().role_name(&name).send().await,
        )?
        else {
            return Ok(vec![]);
        };
        Ok(
            ours_here(tags.tags.into_iter().map(|t| (t.key, t.value)), ctx)
                .then(|| Leftover::new(Kind::IamRole, name))
                .into_iter()
                .collect(),
        )
    })
    .await
}

/// The stack's key, by its alias (a key pending deletion has lost its alias: it is done).
async fn keys(ctx: &Ctx) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let alias = names(ctx).key_alias();
    let mut candidates = Vec::new();
    let mut pages = c.kms.list_aliases().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("kms:ListAliases", e))?;
        candidates.extend(
            page.aliases().iter().filter_map(|a| {
                (a.alias_name()? == alias).then_some(a.target_key_id()?.to_string())
            }),
        );
    }
    keep(candidates, |key_id| {
        let alias = alias.clone();
        async move {
            let Some(tags) = unless_gone(
                "kms:ListResourceTags",
                c.kms.list_resource_tags().key_id(&key_id).send().await,
            )?
            else {
                return Ok(vec![]);
            };
            let tags = tags
                .tags
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.tag_key, t.tag_value));
            Ok(ours(tags, &ctx.stack)
                .then(|| Leftover::new(Kind::KmsKey, format!("{alias}|{key_id}")))
                .into_iter()
                .collect())
        }
    })
    .await
}

/// A dashboard cannot be tagged: the one named `{stack}-{region}` whose body carries the stack's
/// marker is the stack's.
async fn dashboards(ctx: &Ctx) -> Result<Vec<Leftover>> {
    let name = names(ctx).dashboard();
    match ctx
        .clients
        .cloudwatch
        .get_dashboard()
        .dashboard_name(&name)
        .send()
        .await
    {
        Ok(out) => {
            // Ours only if its body carries the stack's marker: another tool's dashboard of the
            // same name is never deleted.
            let body = out.dashboard_body.unwrap_or_default();
            let body = serde_json::from_str(&body).unwrap_or_default();
            let ours = crate::resources::cloudwatch_dashboard::marker(&body)
                .is_some_and(|owner| owner == ctx.stack);
            Ok(ours
                .then(|| Leftover::new(Kind::CloudwatchDashboard, name))
                .into_iter()
                .collect())
        }
        Err(e) if crate::error::is_not_found(&e) => Ok(vec![]),
        Err(e) => Err(aws("cloudwatch:GetDashboard", e)),
    }
}

/// The names and ARNs of a stack's resources that the plan reads itself, tags included: the sweep
/// lists them but reads no tags of theirs. (The topic is read anyway: its subscriptions are swept
/// through it.)
#[derive(Debug, Default)]
pub struct Known {
    names: std::collections::BTreeSet<String>,
    /// The stack's functions, each with the statement ids of the permissions the stack declares.
    statements: BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl Known {
    /// What `stack` declares.
    pub fn of(stack: &crate::stack::Stack) -> Known {
        use crate::resources::Spec;
        let mut statements: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
        for r in &stack.resources {
            match &r.spec {
                Spec::LambdaFunction(s) => {
                    statements.entry(s.name.clone()).or_default();
                }
                Spec::LambdaPermission(p) => {
                    statements
                        .entry(p.function.clone())
                        .or_default()
                        .insert(p.statement_id.clone());
                }
                _ => {}
            }
        }
        let names = stack
            .resources
            .iter()
            .filter_map(|r| match &r.spec {
                Spec::IamRole(s) => Some(s.name.clone()),
                Spec::IamPolicy(s) => Some(s.arn.clone()),
                Spec::LambdaFunction(s) => Some(s.name.clone()),
                Spec::CloudwatchAlarm(s) => Some(s.name.clone()),
                Spec::SqsQueue(s) => Some(s.name.clone()),
                Spec::EventRule(s) => Some(s.arn.clone()),
                Spec::EventBus(s) => Some(s.arn.clone()),
                _ => None,
            })
            .collect();
        Known { names, statements }
    }

    fn has(&self, name_or_arn: &str) -> bool {
        self.names.contains(name_or_arn)
    }
}

/// Whether [`find`] finds a resource of `kind` that is left: every taggable kind (by its tag), the
/// dashboard (by its name), subscriptions (through the stack's topic) — and what cannot outlive
/// one of those (a rule's targets, a function's permissions and invoke config, a role's
/// attachments). Not Security Hub's automation rules and custom actions.
pub fn finds(kind: Kind) -> bool {
    !matches!(
        kind,
        Kind::SecurityhubAutomationRule | Kind::SecurityhubActionTarget
    )
}

/// Everything the stack owns in the account and region, sorted (a member stack: its IAM and SSM).
pub async fn find(ctx: &Ctx, known: &Known) -> Result<Vec<Leftover>> {
    // Every regional name is `{stack}-…`: the lists are filtered by that prefix.
    let prefix = names(ctx).name("");
    let p = prefix.as_str();
    if ctx.member {
        let (a, b, c) = futures::try_join!(
            documents(ctx, p),
            policies(ctx, p, known),
            roles(ctx, p, known)
        )?;
        let mut out: Vec<Leftover> = [a, b, c].into_iter().flatten().collect();
        out.sort();
        return Ok(out);
    }
    let found = futures::try_join!(
        functions(ctx, p, known),
        events(ctx, p, known),
        alarms(ctx, p, known),
        queues(ctx, p, known),
        topics(ctx, p),
        documents(ctx, p),
        policies(ctx, p, known),
        roles(ctx, p, known),
        keys(ctx),
        dashboards(ctx),
        permissions(ctx, known),
    )?;
    let (a, b, c, d, e, f, g, h, i, j, k) = found;
    let mut out: Vec<Leftover> = [a, b, c, d, e, f, g, h, i, j, k]
        .into_iter()
        .flatten()
        .collect();
    out.sort();
    Ok(out)
}
