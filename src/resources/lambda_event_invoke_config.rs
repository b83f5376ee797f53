//! Asynchronous invocation settings of a function: retries and the on-failure destination.

use anyhow::Result;
use aws_sdk_lambda::types::{DestinationConfig, OnFailure};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{Applied, Ctx, Difference, Live};
use crate::error::{aws, is_not_found};
use crate::retry::{retry_when, Budget, Transient};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub function: String,
    pub on_failure_arn: String,
    pub maximum_retry_attempts: i32,
    pub maximum_event_age_seconds: i32,
}

impl Spec {
    pub fn fields(&self, _ctx: &Ctx) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("on_failure".into(), json!(self.on_failure_arn));
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
}

pub async fn read(ctx: &Ctx, spec: &Spec) -> Result<Option<Live>> {
    let out = match ctx
        .clients
        .lambda
        .get_function_event_invoke_config()
        .function_name(&spec.function)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws("lambda:GetFunctionEventInvokeConfig", e)),
    };
    let on_failure = out
        .destination_config
        .and_then(|d| d.on_failure)
        .and_then(|f| f.destination)
        .unwrap_or_default();
    let mut fields = Map::new();
    fields.insert("on_failure".into(), json!(on_failure));
    fields.insert(
        "maximum_retry_attempts".into(),
        json!(out.maximum_retry_attempts.unwrap_or(2)),
    );
    fields.insert(
        "maximum_event_age_seconds".into(),
        json!(out.maximum_event_age_in_seconds.unwrap_or(21600)),
    );
    Ok(Some(Live {
        physical_id: spec.function.clone(),
        arn: None,
        fields,
        tags: None,
    }))
}

/// Lambda checks that the function's role may reach the destination; right after the role's policy
/// changed, IAM has not propagated it: "The function's execution role does not have permissions to
/// call SendMessage on …", or "The destination ARN … is invalid" (the Terraform AWS provider retries
/// both for its IAM propagation timeout). ResourceConflictException: an update is in progress.
pub const DESTINATION_NOT_READY: Transient = Transient {
    when: |a| {
        a.is("InvalidParameterValueException", "does not have permissions")
            || a.is("InvalidParameterValueException", "destination ARN")
            || super::lambda_function::in_progress(a)
    },
    hint: "IAM has not propagated the role's permission to reach the on-failure destination yet; raise [lambda] role_propagation_timeout_seconds and re-run deploy",
};

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let lambda = &ctx.clients.lambda;
    retry_when(
        "lambda:PutFunctionEventInvokeConfig",
        Budget::new(ctx.role_wait),
        &DESTINATION_NOT_READY,
        || {
            lambda
                .put_function_event_invoke_config()
                .function_name(&spec.function)
                .maximum_retry_attempts(spec.maximum_retry_attempts)
                .maximum_event_age_in_seconds(spec.maximum_event_age_seconds)
                .destination_config(
                    DestinationConfig::builder()
                        .on_failure(
                            OnFailure::builder()
                                .destination(&spec.on_failure_arn)
                                .build(),
                        )
                        .build(),
                )
                .send()
        },
    )
    .await?;
    Ok(Applied {
        physical_id: spec.function.clone(),
        arn: None,
    })
}

pub async fn update(ctx: &Ctx, spec: &Spec, _live: &Live, _diff: &[Difference]) -> Result<Applied> {
    create(ctx, spec).await
}

pub async fn delete(ctx: &Ctx, function: &str) -> Result<()> {
    super::gone(
        "lambda:DeleteFunctionEventInvokeConfig",
        ctx.clients
            .lambda
            .delete_function_event_invoke_config()
            .function_name(function)
            .send()
            .await,
    )
}

impl super::Ownership for Spec {}
