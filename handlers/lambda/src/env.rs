//! The function's settings, from the environment deploy gives it.

use anyhow::{Context, Result};
use secauto_core::{names, Policy};

/// Which handler this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Triage,
    Remediation,
    Notification,
    ErrorHandler,
}

/// Remediation acts only in enforce mode (the stack's `REMEDIATION_MODE`, or a rule's own).
pub use secauto_core::Mode;

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

impl Env {
    /// The settings of this process, from its environment.
    pub fn from_env() -> Result<Env> {
        Env::from_vars(|name| std::env::var(name).ok())
    }

    /// The settings from `get` (a variable's value, `None` when unset).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Env> {
        let var = |name: &str| {
            get(name)
                .with_context(|| format!("environment variable {name} is not set (deploy sets it)"))
        };
        let or_default = |name: &str| get(name).unwrap_or_default();
        let function = match var("SECAUTO_FUNCTION")?.as_str() {
            "triage" => Function::Triage,
            "remediation" => Function::Remediation,
            "notification" => Function::Notification,
            "error_handler" => Function::ErrorHandler,
            other => anyhow::bail!("SECAUTO_FUNCTION={other:?} is not triage, remediation, notification or error_handler"),
        };
        let mode = match get("REMEDIATION_MODE").as_deref() {
            Some("enforce") => Mode::Enforce,
            // Anything else, including unset, is the safe default.
            _ => Mode::NotifyOnly,
        };
        let policy = match get("TRIAGE_POLICY") {
            Some(json) if !json.is_empty() => {
                serde_json::from_str(&json).context("TRIAGE_POLICY is not a valid policy")?
            }
            _ => Policy::default(),
        };
        let stack = var("SECAUTO_STACK")?;
        let fleet = match get("SECAUTO_FLEET") {
            Some(s) => Some(crate::accounts::Fleet {
                coverage: secauto_core::fleet::Coverage::parse(&s)
                    .map_err(|e| anyhow::anyhow!("SECAUTO_FLEET: {e}"))?,
                external_id: or_default("MEMBER_EXTERNAL_ID"),
            }),
            None => None,
        };
        Ok(Env {
            account: or_default("SECAUTO_ACCOUNT"),
            region: or_default("AWS_REGION"),
            fleet,
            function,
            topic_arn: var("SNS_TOPIC_ARN")?,
            mode,
            event_source: get("EVENT_SOURCE").unwrap_or_else(|| names::event_source(&stack)),
            event_bus: get("EVENT_BUS").unwrap_or_else(|| names::bus(&stack)),
            isolate_document: get("ISOLATE_DOCUMENT").unwrap_or_else(|| names::document(&stack)),
            stack,
            policy,
            automation_role: or_default("AUTOMATION_ROLE_ARN"),
            automation_wait: std::time::Duration::from_secs(
                get("AUTOMATION_WAIT_SECONDS")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(secauto_core::DEFAULT_AUTOMATION_WAIT_SECONDS),
            ),
            isolate_routing: get("ISOLATE_ROUTING_INSTANCES").as_deref() == Some("true"),
            protection: crate::remediate::Protection::parse(
                &or_default("PROTECTED_RESOURCES"),
                &or_default("PROTECTED_TAGS"),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Env {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::from_vars(|name| vars.get(name).cloned()).unwrap()
    }

    const MINIMAL: &[(&str, &str)] = &[
        ("SECAUTO_FUNCTION", "remediation"),
        ("SECAUTO_STACK", "sec"),
        (
            "SNS_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:sec-notifications",
        ),
    ];

    /// Deploy always sets AUTOMATION_WAIT_SECONDS; without it the handler waits what
    /// `[remediation] automation_wait_seconds` defaults to (the CLI's test checks the config side).
    #[test]
    fn automation_wait_defaults_to_the_configs_default() {
        let env = from(MINIMAL);
        assert_eq!(
            env.automation_wait,
            std::time::Duration::from_secs(secauto_core::DEFAULT_AUTOMATION_WAIT_SECONDS)
        );
        let mut vars = MINIMAL.to_vec();
        vars.push(("AUTOMATION_WAIT_SECONDS", "12"));
        assert_eq!(from(&vars).automation_wait.as_secs(), 12);
    }

    #[test]
    fn unset_names_are_the_stacks_own() {
        let env = from(MINIMAL);
        assert_eq!(env.event_bus, "sec-events");
        assert_eq!(env.isolate_document, "sec-isolate-instance");
        assert_eq!(env.event_source, "secauto.sec");
        assert_eq!(env.mode, Mode::NotifyOnly);
        assert!(env.fleet.is_none());
    }
}
