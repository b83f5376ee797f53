//! The four functions (one bundle, dispatching on `SECAUTO_FUNCTION`), their asynchronous failure
//! handling, and the isolation document remediation starts.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{bundle_path, code_sha256, identity, notifications, Builder, Code, KeyChoice, Shared};
use super::{StackError, FUNCTIONS};
use crate::resources::{self as r, Spec};

pub const DOCUMENT: &str = "ssm_document.isolate";

pub(super) fn add(b: &mut Builder, s: &Shared) -> Result<(), StackError> {
    add_document(b, s);
    for (key, suffix) in FUNCTIONS {
        add_function(b, s, key, suffix)?;
        add_invoke_config(b, s, key);
    }
    Ok(())
}

/// One function: its role, code, settings (environment) and dead-letter queue.
fn add_function(b: &mut Builder, s: &Shared, key: &str, suffix: &str) -> Result<(), StackError> {
    let n = &s.n;
    let config = s.config;
    let mut deps = identity::role_deps(key);
    deps.extend([
        notifications::TOPIC.to_string(),
        notifications::QUEUE.to_string(),
    ]);
    if s.key == KeyChoice::Stack {
        deps.push(identity::KEY.to_string());
    }
    let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
    let name = n.function(suffix);
    b.check("Lambda function", &name, 64);
    let zip_path = bundle_path(Path::new(&config.lambda.artifacts_dir), suffix);
    let code_sha256 = match s.code {
        Code::NotNeeded => String::new(),
        Code::Required => bundle_sha(b, s, &zip_path)?,
    };
    let environment = environment(s, key);
    if let Err(problem) = super::environment::check(&name, &environment) {
        b.environment_problems.push(problem);
    }
    b.add(
        format!("lambda_function.{key}"),
        Spec::LambdaFunction(r::lambda_function::Spec {
            name,
            arn: n.function_arn(suffix),
            description: format!("secauto stack {}: {suffix} handler", n.stack),
            role_arn: n.role_arn(suffix),
            memory_mb: config.lambda.memory_mb,
            timeout_seconds: timeout_of(config, key),
            architecture: config.lambda.architecture.clone(),
            environment,
            zip_path,
            code_sha256,
            dead_letter_arn: n.queue_arn(),
            kms_key: s.key_ref.clone(),
            reserved_concurrency: config.lambda.reserved_concurrency.of(key),
        }),
        &deps,
    );
    Ok(())
}

/// The timeout of function `key`: `[lambda] timeout_seconds`, and for remediation at least
/// [`secauto_core::REMEDIATION_MIN_TIMEOUT_SECONDS`] (the time isolation keeps to repair a failed
/// move and close the all-traffic group).
pub(super) fn timeout_of(config: &crate::config::Config, key: &str) -> i32 {
    match key {
        "remediation" => config
            .lambda
            .timeout_seconds
            .max(secauto_core::REMEDIATION_MIN_TIMEOUT_SECONDS),
        _ => config.lambda.timeout_seconds,
    }
}

/// The environment deploy gives function `key`: what its handler reads (handlers/lambda/src/env.rs).
pub(super) fn environment(s: &Shared, key: &str) -> BTreeMap<String, String> {
    let n = &s.n;
    let config = s.config;
    let mut env = BTreeMap::new();
    env.insert("SECAUTO_FUNCTION".to_string(), key.to_string());
    env.insert("SECAUTO_STACK".to_string(), n.stack.clone());
    env.insert("SNS_TOPIC_ARN".to_string(), n.topic_arn());
    env.insert(
        "REMEDIATION_MODE".to_string(),
        config.remediation.mode.as_str().to_string(),
    );
    env.insert("EVENT_SOURCE".to_string(), n.event_source());
    env.insert("EVENT_BUS".to_string(), n.bus());
    env.insert("ISOLATE_DOCUMENT".to_string(), n.document());
    match key {
        "triage" => {
            env.insert("TRIAGE_POLICY".to_string(), config.triage.policy_json());
        }
        "remediation" => remediation_environment(s, &mut env),
        _ => {}
    }
    env
}

/// What only remediation reads: the automation, protection and, for a fleet's administrator, the
/// members it acts in.
fn remediation_environment(s: &Shared, env: &mut BTreeMap<String, String>) {
    let n = &s.n;
    let r = &s.config.remediation;
    env.insert("AUTOMATION_ROLE_ARN".to_string(), n.role_arn("automation"));
    env.insert(
        "AUTOMATION_WAIT_SECONDS".to_string(),
        r.automation_wait_seconds.to_string(),
    );
    env.insert(
        "ISOLATE_ROUTING_INSTANCES".to_string(),
        r.isolate_routing_instances.to_string(),
    );
    if !r.protected.is_empty() {
        env.insert("PROTECTED_RESOURCES".to_string(), r.protected.join(","));
    }
    env.insert("SECAUTO_ACCOUNT".to_string(), n.account.clone());
    if let super::Part::Administrator(fleet) = s.part {
        env.insert("SECAUTO_FLEET".to_string(), fleet.coverage.encode());
        env.insert("MEMBER_EXTERNAL_ID".to_string(), fleet.external_id.clone());
    }
    if !r.protected_tags.is_empty() {
        env.insert(
            "PROTECTED_TAGS".to_string(),
            r.protected_tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
        );
    }
}

/// Where a function's failed asynchronous invocations go: the error handler's to the queue, the
/// others' to the error handler.
fn add_invoke_config(b: &mut Builder, s: &Shared, key: &str) {
    let n = &s.n;
    let suffix = super::function_suffix(key);
    let (on_failure, dep) = if key == "error_handler" {
        (n.queue_arn(), notifications::QUEUE)
    } else {
        (
            n.function_arn("error-handler"),
            "lambda_function.error_handler",
        )
    };
    let fn_address = format!("lambda_function.{key}");
    b.add(
        format!("lambda_event_invoke_config.{key}"),
        Spec::LambdaEventInvokeConfig(r::lambda_event_invoke_config::Spec {
            function: n.function(suffix),
            on_failure_arn: on_failure,
            maximum_retry_attempts: s.config.lambda.async_retry_attempts,
            maximum_event_age_seconds: 21600,
        }),
        &[fn_address.as_str(), dep],
    );
}

/// The isolation document remediation starts (quarantine): SSM runs it as the automation role.
pub(super) fn add_document(b: &mut Builder, s: &Shared) {
    let n = &s.n;
    let doc_name = n.document();
    b.check("SSM document", &doc_name, 128);
    let doc: Value =
        serde_json::from_str(include_str!("../../templates/isolate-instance.ssm.json"))
            .unwrap_or(Value::Null);
    b.add(
        DOCUMENT,
        Spec::SsmDocument(r::ssm_document::Spec {
            name: doc_name.clone(),
            arn: n.arn("ssm", &format!("document/{doc_name}")),
            content: doc,
        }),
        &[],
    );
}

/// The CodeSha256 of a function's bundle; a missing bundle, or one built for another CPU than the
/// functions', is recorded as a problem (all are reported together).
fn bundle_sha(
    b: &mut Builder,
    s: &Shared,
    zip_path: &std::path::Path,
) -> Result<String, StackError> {
    let bytes = match std::fs::read(zip_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            b.missing_bundles.push(zip_path.display().to_string());
            return Ok(String::new());
        }
        Err(source) => {
            return Err(StackError::Bundle {
                path: zip_path.display().to_string(),
                source,
            })
        }
    };
    let want = s.config.lambda.architecture.as_str();
    match crate::bundle::bundle_architecture(&bytes) {
        Ok(arch) if arch == want => {}
        Ok(arch) => b.unfit_bundles.push(format!(
            "{} holds an {arch} executable but [lambda] architecture is {want:?}: every invocation would fail; rebuild for {want} or set architecture = \"{arch}\"",
            zip_path.display()
        )),
        Err(why) => b.unfit_bundles.push(format!(
            "{} {why}: rebuild it with `secauto build`",
            zip_path.display()
        )),
    }
    Ok(code_sha256(&bytes))
}
