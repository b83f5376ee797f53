//! Lambda function running a handler bundle made by `secauto build`. Code is uploaded only when the
//! bundle's SHA-256 differs from the live CodeSha256.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, DeadLetterConfig, Environment, Runtime};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::sweep::{keep, ours, Leftover, Search};
use super::{found, tags_value, touches, Applied, Ctx, Difference, Kind, Live};
use crate::error::{aws, is_not_found};
use crate::retry::{retry_when, Budget, Transient};

mod concurrency;
pub use concurrency::no_room;
use concurrency::set_concurrency;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub name: String,
    pub arn: String,
    pub description: String,
    pub role_arn: String,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    pub architecture: String,
    pub environment: BTreeMap<String, String>,
    /// The bundle on disk.
    pub zip_path: PathBuf,
    /// Base64 SHA-256 of the bundle, as Lambda reports CodeSha256.
    pub code_sha256: String,
    /// Where Lambda sends an asynchronous event it gave up on (scanners expect a DLQ on every function).
    pub dead_letter_arn: String,
    /// The customer-managed key (alias, id or ARN) that encrypts the environment; Lambda's own when `None`.
    pub kms_key: Option<String>,
    /// Reserved concurrency (PutFunctionConcurrency); `None` leaves the function unreserved.
    pub reserved_concurrency: Option<i32>,
}

pub const RUNTIME: &str = "provided.al2023";
pub const HANDLER: &str = "bootstrap";

impl Spec {
    pub fn fields(&self, ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("runtime".into(), json!(RUNTIME));
        m.insert("handler".into(), json!(HANDLER));
        m.insert("role".into(), json!(self.role_arn));
        m.insert("description".into(), json!(self.description));
        m.insert("memory_size".into(), json!(self.memory_mb));
        m.insert("timeout".into(), json!(self.timeout_seconds));
        m.insert("architecture".into(), json!(self.architecture));
        m.insert("environment".into(), json!(self.environment));
        m.insert("code_sha256".into(), json!(self.code_sha256));
        m.insert("dead_letter".into(), json!(self.dead_letter_arn));
        m.insert(
            "kms_key".into(),
            json!(self.kms_key.clone().unwrap_or_default()),
        );
        m.insert(
            "reserved_concurrency".into(),
            json!(self.reserved_concurrency),
        );
        m.insert("tags".into(), tags_value(&ctx.tags));
        m
    }

    fn zip(&self) -> Result<Blob> {
        let bytes = std::fs::read(&self.zip_path).with_context(|| {
            format!(
                "cannot read the handler bundle {}: run `secauto build` first",
                self.zip_path.display()
            )
        })?;
        Ok(Blob::new(bytes))
    }
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let out = match ctx
        .clients
        .lambda
        .get_function()
        .function_name(&spec.name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws("lambda:GetFunction", e)),
    };
    let Some(c) = out.configuration else {
        return Ok(None);
    };
    // GetFunction reports the reservation (0 included); no Concurrency means unreserved.
    let reserved = out
        .concurrency
        .and_then(|c| c.reserved_concurrent_executions);
    let tags: BTreeMap<String, String> = out.tags.unwrap_or_default().into_iter().collect();
    let env: BTreeMap<String, String> = c
        .environment
        .and_then(|e| e.variables)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut fields = Map::new();
    fields.insert(
        "runtime".into(),
        json!(c
            .runtime
            .map(|r| r.as_str().to_string())
            .unwrap_or_default()),
    );
    fields.insert("handler".into(), json!(c.handler.unwrap_or_default()));
    fields.insert("role".into(), json!(c.role.unwrap_or_default()));
    fields.insert(
        "description".into(),
        json!(c.description.unwrap_or_default()),
    );
    fields.insert(
        "memory_size".into(),
        json!(c.memory_size.unwrap_or_default()),
    );
    fields.insert("timeout".into(), json!(c.timeout.unwrap_or_default()));
    fields.insert(
        "architecture".into(),
        json!(c
            .architectures
            .and_then(|a| a.first().map(|x| x.as_str().to_string()))
            .unwrap_or_else(|| "x86_64".into())),
    );
    fields.insert("environment".into(), json!(env));
    fields.insert(
        "code_sha256".into(),
        json!(c.code_sha256.unwrap_or_default()),
    );
    fields.insert(
        "dead_letter".into(),
        json!(c
            .dead_letter_config
            .and_then(|d| d.target_arn)
            .unwrap_or_default()),
    );
    // Report the live key as the spec names it when both are the same key.
    let live_key = c.kms_key_arn.unwrap_or_default();
    let kms_key = match &spec.kms_key {
        Some(want) if !live_key.is_empty() => match super::kms_key::resolve_arn(ctx, want).await? {
            Some(arn) if arn == live_key => want.clone(),
            _ => live_key,
        },
        _ => live_key,
    };
    fields.insert("kms_key".into(), json!(kms_key));
    fields.insert("reserved_concurrency".into(), json!(reserved));
    fields.insert("tags".into(), tags_value(&tags));
    Ok(Some(Live {
        physical_id: spec.name.clone(),
        arn: c.function_arn.or(Some(spec.arn.clone())),
        fields,
        tags: Some(tags),
    }))
}

/// Lambda's answers while a fresh or changed role (or the KMS grant made for it) has not propagated
/// through IAM yet, or while another update of the function is in progress. The Terraform AWS
/// provider retries the same messages.
pub const ROLE_PROPAGATION: Transient = Transient {
    when: |a| {
        (a.code == "InvalidParameterValueException"
            && [
                "cannot be assumed",
                "role defined for the function",
                "execution role does not have permissions",
                "KMS key is invalid for CreateGrant",
            ]
            .iter()
            .any(|m| a.message.contains(m)))
            || in_progress(a)
    },
    hint: "IAM has not propagated the functions' role (or its KMS grant) yet; raise [lambda] role_propagation_timeout_seconds and re-run deploy",
};

/// Lambda's ResourceConflictException while another operation on the function has not finished —
/// "The operation cannot be performed at this time. An update is in progress for resource: …", "…
/// The function is currently in the following state: Pending", "The function could not be updated
/// due to a concurrent update operation" — which goes away by itself. Not the same exception's
/// "Function already exist: …" (CreateFunction on a taken name) or "The statement id … provided
/// already exists" (AddPermission): waiting never changes those.
pub fn in_progress(a: crate::retry::Answer<'_>) -> bool {
    a.code == "ResourceConflictException"
        && [
            "An update is in progress",
            "currently in the following state: Pending",
            "concurrent update",
        ]
        .iter()
        .any(|m| a.message.contains(m))
}

/// CreateFunction found the name taken (another run made it after this one read, or a create
/// whose answer was lost): the function is read, and updated to the spec if it is the stack's;
/// someone else's is reported, never changed.
async fn existing(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let Some(live) = read(ctx, spec).await? else {
        anyhow::bail!("lambda:CreateFunction said function {} exists, but lambda:GetFunction finds none; re-run deploy", spec.name);
    };
    if let Some(why) = super::tagged_conflict(ctx, &live, super::Claim::default()) {
        anyhow::bail!(
            "lambda:CreateFunction: function {} was made meanwhile by someone else and is left as it is: it {why}",
            spec.name
        );
    }
    let diff = super::diff(&spec.fields(ctx), &live);
    if diff.is_empty() {
        return Ok(Applied {
            physical_id: spec.name.clone(),
            arn: live.arn,
        });
    }
    update(ctx, spec, &live, &diff).await
}

fn environment(spec: &Spec) -> Environment {
    Environment::builder()
        .set_variables(Some(spec.environment.clone().into_iter().collect()))
        .build()
}

fn dead_letter(spec: &Spec) -> DeadLetterConfig {
    DeadLetterConfig::builder()
        .target_arn(&spec.dead_letter_arn)
        .build()
}

/// The ARN of the key that encrypts the environment, or `""` for Lambda's own key.
async fn key_arn(ctx: &Ctx, spec: &Spec) -> Result<String> {
    match &spec.kms_key {
        Some(key) => super::kms_key::resolve_arn(ctx, key)
            .await?
            .with_context(|| {
                format!("KMS key {key} for the functions' environment does not exist")
            }),
        None => Ok(String::new()),
    }
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let zip = spec.zip()?;
    let key = key_arn(ctx, spec).await?;
    let lambda = &ctx.clients.lambda;
    let out = retry_when(
        "lambda:CreateFunction",
        Budget::new(ctx.role_wait),
        &ROLE_PROPAGATION,
        || async {
            let created = lambda
                .create_function()
                .function_name(&spec.name)
                .description(&spec.description)
                .runtime(Runtime::from(RUNTIME))
                .handler(HANDLER)
                .role(&spec.role_arn)
                .memory_size(spec.memory_mb)
                .timeout(spec.timeout_seconds)
                .architectures(Architecture::from(spec.architecture.as_str()))
                .environment(environment(spec))
                .kms_key_arn(&key)
                .dead_letter_config(dead_letter(spec))
                .code(
                    aws_sdk_lambda::types::FunctionCode::builder()
                        .zip_file(zip.clone())
                        .build(),
                )
                .set_tags(Some(ctx.tags.clone().into_iter().collect()))
                .send()
                .await;
            match created {
                Err(e) if crate::error::says(&e, "ResourceConflictException", "already exist") => {
                    Ok(None)
                }
                other => other.map(Some),
            }
        },
    )
    .await?;
    let Some(out) = out else {
        return existing(ctx, spec).await;
    };
    // A new function is Pending until Lambda has set it up; CreateFunction's answer says so, and
    // only then is it polled.
    let ready = out.state.as_ref().map(|s| s.as_str()) == Some("Active")
        && out.last_update_status.as_ref().map(|s| s.as_str()) != Some("InProgress");
    if !ready {
        wait_ready(ctx, &spec.name).await?;
    }
    if spec.reserved_concurrency.is_some() {
        set_concurrency(ctx, spec).await?;
    }
    Ok(Applied {
        physical_id: spec.name.clone(),
        arn: out.function_arn.or(Some(spec.arn.clone())),
    })
}

/// Wait until the function accepts the next update (State Active, LastUpdateStatus not InProgress).
async fn wait_ready(ctx: &Ctx, name: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut delay = Duration::from_millis(250);
    loop {
        let c = ctx
            .clients
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| aws("lambda:GetFunctionConfiguration", e))?;
        let pending = c.state.as_ref().map(|s| s.as_str()) == Some("Pending")
            || c.last_update_status.as_ref().map(|s| s.as_str()) == Some("InProgress");
        if !pending {
            if c.state.as_ref().map(|s| s.as_str()) == Some("Failed") {
                anyhow::bail!(
                    "function {name} is in state Failed: {}",
                    c.state_reason.unwrap_or_default()
                );
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("function {name} did not become ready within 5 minutes");
        }
        // Lambda says when the function is ready: poll often at first, then less.
        tokio::time::sleep(delay).await;
        delay = delay.mul_f32(1.5).min(Duration::from_secs(5));
    }
}

pub async fn update(ctx: &Ctx, spec: &Spec, live: &Live, diff: &[Difference]) -> Result<Applied> {
    let lambda = &ctx.clients.lambda;
    if touches(diff, "code_sha256") || touches(diff, "architecture") {
        let zip = spec.zip()?;
        retry_when(
            "lambda:UpdateFunctionCode",
            Budget::new(ctx.role_wait),
            &ROLE_PROPAGATION,
            || {
                lambda
                    .update_function_code()
                    .function_name(&spec.name)
                    .zip_file(zip.clone())
                    .architectures(Architecture::from(spec.architecture.as_str()))
                    .send()
            },
        )
        .await?;
        wait_ready(ctx, &spec.name).await?;
    }
    let config_fields = [
        "runtime",
        "handler",
        "role",
        "description",
        "memory_size",
        "timeout",
        "environment",
        "kms_key",
        "dead_letter",
    ];
    if diff
        .iter()
        .any(|d| config_fields.contains(&d.field.as_str()))
    {
        let key = key_arn(ctx, spec).await?;
        retry_when(
            "lambda:UpdateFunctionConfiguration",
            Budget::new(ctx.role_wait),
            &ROLE_PROPAGATION,
            || {
                lambda
                    .update_function_configuration()
                    .function_name(&spec.name)
                    .description(&spec.description)
                    .runtime(Runtime::from(RUNTIME))
                    .handler(HANDLER)
                    .role(&spec.role_arn)
                    .memory_size(spec.memory_mb)
                    .timeout(spec.timeout_seconds)
                    .environment(environment(spec))
                    .kms_key_arn(&key)
                    .dead_letter_config(dead_letter(spec))
                    .send()
            },
        )
        .await?;
        wait_ready(ctx, &spec.name).await?;
    }
    if touches(diff, "reserved_concurrency") {
        set_concurrency(ctx, spec).await?;
    }
    if touches(diff, "tags") {
        lambda
            .tag_resource()
            .resource(live.arn.as_deref().unwrap_or(&spec.arn))
            .set_tags(Some(ctx.tags.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| aws("lambda:TagResource", e))?;
    }
    Ok(Applied {
        physical_id: spec.name.clone(),
        arn: live.arn.clone(),
    })
}

pub async fn delete(ctx: &Ctx, name: &str) -> Result<()> {
    super::gone(
        "lambda:DeleteFunction",
        ctx.clients
            .lambda
            .delete_function()
            .function_name(name)
            .send()
            .await,
    )
}

impl super::Ownership for Spec {}

/// The stack's functions the config does not declare, by tag.
pub(crate) async fn sweep(ctx: &Ctx, search: &Search<'_>) -> Result<Vec<Leftover>> {
    let c = &ctx.clients;
    let mut candidates = Vec::new();
    let mut pages = c.lambda.list_functions().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws("lambda:ListFunctions", e))?;
        candidates.extend(page.functions().iter().filter_map(|f| {
            let (name, arn) = (f.function_name()?, f.function_arn()?);
            (name.starts_with(&search.prefix) && !search.known.has(name))
                .then(|| (name.to_string(), arn.to_string()))
        }));
    }
    keep(candidates, |(name, arn)| async move {
        let tags = c.lambda.list_tags().resource(&arn).send().await;
        let Some(tags) = found("lambda:ListTags", tags)? else {
            return Ok(vec![]);
        };
        let owned = ours(tags.tags.unwrap_or_default(), &ctx.stack);
        Ok(Leftover::when(owned, Kind::LambdaFunction, name))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Answer;

    fn transient(code: &str, message: &str) -> bool {
        (ROLE_PROPAGATION.when)(Answer { code, message })
    }

    #[test]
    fn role_propagation_answers_are_recognised() {
        assert!(transient(
            "InvalidParameterValueException",
            "The role defined for the function cannot be assumed by Lambda."
        ));
        assert!(transient(
            "InvalidParameterValueException",
            "Lambda was unable to configure access to your environment variables because the KMS key is invalid for CreateGrant. Please check your KMS key settings. KMS Exception: InvalidArnException KMS Message: ARN does not refer to a valid principal: arn:aws:iam::123456789012:role/x"
        ));
        assert!(transient(
            "ResourceConflictException",
            "The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:x"
        ));
        assert!(!transient(
            "InvalidParameterValueException",
            "Unzipped size must be smaller than 262144000 bytes"
        ));
        assert!(!transient("AccessDeniedException", "cannot be assumed"));
    }
}
