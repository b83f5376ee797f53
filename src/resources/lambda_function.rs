//! Lambda function running a handler bundle made by `secauto build`. Code is uploaded only when the
//! bundle's SHA-256 differs from the live CodeSha256.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, Runtime};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{tags_value, touches, Applied, Ctx, Difference, Live};
use crate::error::{aws, code, is_not_found};

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
    fields.insert("tags".into(), tags_value(&tags));
    Ok(Some(Live {
        physical_id: spec.name.clone(),
        arn: c.function_arn.or(Some(spec.arn.clone())),
        fields,
        tags: Some(tags),
    }))
}

/// Lambda's answer while a fresh role has not propagated yet.
fn is_role_not_ready(code: Option<&str>, message: &str) -> bool {
    code == Some("InvalidParameterValueException")
        && (message.contains("cannot be assumed")
            || message.contains("role defined for the function"))
}

/// Retry `op` while Lambda cannot assume the new role yet, up to `ctx.role_wait`.
async fn with_role_retry<T, F, Fut>(ctx: &Ctx, what: &str, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, (Option<String>, String, anyhow::Error)>>,
{
    let start = Instant::now();
    let mut delay = Duration::from_secs(2);
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err((code, message, err)) => {
                if is_role_not_ready(code.as_deref(), &message)
                    && start.elapsed() + delay <= ctx.role_wait
                {
                    tracing::info!("{what}: the role is not assumable yet; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(15));
                    continue;
                }
                if is_role_not_ready(code.as_deref(), &message) {
                    return Err(err.context(format!(
                        "Lambda still cannot assume the role after {:?}; raise [lambda] role_propagation_timeout_seconds and re-run deploy",
                        ctx.role_wait
                    )));
                }
                return Err(err);
            }
        }
    }
}

fn environment(spec: &Spec) -> Environment {
    Environment::builder()
        .set_variables(Some(spec.environment.clone().into_iter().collect()))
        .build()
}

pub async fn create(ctx: &Ctx, spec: &Spec) -> Result<Applied> {
    let zip = spec.zip()?;
    let lambda = &ctx.clients.lambda;
    let out = with_role_retry(ctx, "lambda:CreateFunction", || {
        let req = lambda
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
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(zip.clone())
                    .build(),
            )
            .set_tags(Some(ctx.tags.clone().into_iter().collect()));
        async move {
            req.send().await.map_err(|e| {
                let c = code(&e).map(str::to_string);
                let m = aws_smithy_types::error::metadata::ProvideErrorMetadata::message(&e)
                    .unwrap_or_default()
                    .to_string();
                (c, m, aws("lambda:CreateFunction", e))
            })
        }
    })
    .await?;
    wait_ready(ctx, &spec.name).await?;
    Ok(Applied {
        physical_id: spec.name.clone(),
        arn: out.function_arn.or(Some(spec.arn.clone())),
    })
}

/// Wait until the function accepts the next update (State Active, LastUpdateStatus not InProgress).
async fn wait_ready(ctx: &Ctx, name: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
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
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

pub async fn update(ctx: &Ctx, spec: &Spec, live: &Live, diff: &[Difference]) -> Result<Applied> {
    let lambda = &ctx.clients.lambda;
    if touches(diff, "code_sha256") || touches(diff, "architecture") {
        let zip = spec.zip()?;
        lambda
            .update_function_code()
            .function_name(&spec.name)
            .zip_file(zip)
            .architectures(Architecture::from(spec.architecture.as_str()))
            .send()
            .await
            .map_err(|e| aws("lambda:UpdateFunctionCode", e))?;
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
    ];
    if diff
        .iter()
        .any(|d| config_fields.contains(&d.field.as_str()))
    {
        with_role_retry(ctx, "lambda:UpdateFunctionConfiguration", || {
            let req = lambda
                .update_function_configuration()
                .function_name(&spec.name)
                .description(&spec.description)
                .runtime(Runtime::from(RUNTIME))
                .handler(HANDLER)
                .role(&spec.role_arn)
                .memory_size(spec.memory_mb)
                .timeout(spec.timeout_seconds)
                .environment(environment(spec));
            async move {
                req.send().await.map_err(|e| {
                    let c = code(&e).map(str::to_string);
                    let m = aws_smithy_types::error::metadata::ProvideErrorMetadata::message(&e)
                        .unwrap_or_default()
                        .to_string();
                    (c, m, aws("lambda:UpdateFunctionConfiguration", e))
                })
            }
        })
        .await?;
        wait_ready(ctx, &spec.name).await?;
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
    match ctx
        .clients
        .lambda
        .delete_function()
        .function_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(aws("lambda:DeleteFunction", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_propagation_error_is_recognised() {
        assert!(is_role_not_ready(
            Some("InvalidParameterValueException"),
            "The role defined for the function cannot be assumed by Lambda."
        ));
        assert!(!is_role_not_ready(
            Some("InvalidParameterValueException"),
            "Unzipped size must be smaller than 262144000 bytes"
        ));
        assert!(!is_role_not_ready(
            Some("AccessDeniedException"),
            "cannot be assumed"
        ));
    }
}
