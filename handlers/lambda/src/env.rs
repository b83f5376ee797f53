//! The function's settings, from the environment deploy gives it.

use anyhow::{Context, Result};
use secauto_core::Policy;

/// Which handler this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Triage,
    Remediation,
    Notification,
    ErrorHandler,
}

/// Remediation acts only in enforce mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    NotifyOnly,
    Enforce,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::NotifyOnly => "notify-only",
            Mode::Enforce => "enforce",
        }
    }
}

/// Everything the handlers read from the environment.
#[derive(Debug, Clone)]
pub struct Env {
    pub function: Function,
    pub stack: String,
    pub topic_arn: String,
    pub mode: Mode,
    pub event_source: String,
    pub isolate_document: String,
    /// The stack's own bus, where triage puts response events.
    pub event_bus: String,
    pub policy: Policy,
    /// The role the isolation automation runs as.
    pub automation_role: String,
    /// How long remediation follows the automation.
    pub automation_wait: std::time::Duration,
    /// Isolate instances that route traffic.
    pub isolate_routing: bool,
    /// Resources protected by configuration.
    pub protection: crate::remediate::Protection,
    /// The stack's own account (`SECAUTO_ACCOUNT`); empty when deploy did not say.
    pub account: String,
    /// The stack's own region (`AWS_REGION`, set by Lambda).
    pub region: String,
    /// The members remediation may act in, for a fleet's administrator.
    pub fleet: Option<crate::accounts::Fleet>,
}

fn var(name: &str) -> Result<String> {
    std::env::var(name)
        .with_context(|| format!("environment variable {name} is not set (deploy sets it)"))
}

impl Env {
    pub fn from_env() -> Result<Env> {
        let function = match var("SECAUTO_FUNCTION")?.as_str() {
            "triage" => Function::Triage,
            "remediation" => Function::Remediation,
            "notification" => Function::Notification,
            "error_handler" => Function::ErrorHandler,
            other => anyhow::bail!("SECAUTO_FUNCTION={other:?} is not triage, remediation, notification or error_handler"),
        };
        let mode = match std::env::var("REMEDIATION_MODE").as_deref() {
            Ok("enforce") => Mode::Enforce,
            // Anything else, including unset, is the safe default.
            _ => Mode::NotifyOnly,
        };
        let policy = match std::env::var("TRIAGE_POLICY") {
            Ok(json) if !json.is_empty() => {
                serde_json::from_str(&json).context("TRIAGE_POLICY is not a valid policy")?
            }
            _ => Policy::default(),
        };
        let stack = var("SECAUTO_STACK")?;
        let fleet = match std::env::var("SECAUTO_FLEET") {
            Ok(s) => Some(crate::accounts::Fleet {
                coverage: secauto_core::fleet::Coverage::parse(&s)
                    .map_err(|e| anyhow::anyhow!("SECAUTO_FLEET: {e}"))?,
                external_id: std::env::var("MEMBER_EXTERNAL_ID").unwrap_or_default(),
            }),
            Err(_) => None,
        };
        Ok(Env {
            account: std::env::var("SECAUTO_ACCOUNT").unwrap_or_default(),
            region: std::env::var("AWS_REGION").unwrap_or_default(),
            fleet,
            function,
            topic_arn: var("SNS_TOPIC_ARN")?,
            mode,
            event_source: std::env::var("EVENT_SOURCE")
                .unwrap_or_else(|_| format!("secauto.{stack}")),
            event_bus: std::env::var("EVENT_BUS").unwrap_or_else(|_| format!("{stack}-events")),
            isolate_document: std::env::var("ISOLATE_DOCUMENT")
                .unwrap_or_else(|_| format!("{stack}-isolate-instance")),
            stack,
            policy,
            automation_role: std::env::var("AUTOMATION_ROLE_ARN").unwrap_or_default(),
            automation_wait: std::time::Duration::from_secs(
                std::env::var("AUTOMATION_WAIT_SECONDS")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(30),
            ),
            isolate_routing: std::env::var("ISOLATE_ROUTING_INSTANCES").as_deref() == Ok("true"),
            protection: crate::remediate::Protection::parse(
                &std::env::var("PROTECTED_RESOURCES").unwrap_or_default(),
                &std::env::var("PROTECTED_TAGS").unwrap_or_default(),
            ),
        })
    }
}
