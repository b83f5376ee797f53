//! EventBridge: the findings rule (NEW, ACTIVE findings of the configured severities → triage), the
//! response rule (triage's events → remediation and notification), the custom-actions rule, their
//! targets (each with the DLQ and a retry policy) and the permissions that let each rule invoke.

use serde_json::json;

use super::securityhub::Actions;
use super::{notifications, Builder, Shared, FUNCTIONS, RESPONSE_DETAIL_TYPE};
use crate::resources::{self as r, Spec};

/// The stack's own bus.
pub const BUS: &str = "event_bus.responses";

pub(super) fn add(b: &mut Builder, s: &Shared, actions: &Actions) {
    let n = &s.n;
    let config = s.config;
    let stack = n.stack.as_str();
    let bus = n.bus();
    b.check("EventBridge bus", &bus, 256);
    b.add(
        BUS,
        Spec::EventBus(r::event_bus::Spec {
            arn: n.bus_arn(),
            policy: r::event_bus::only_putter(&n.bus_arn(), &n.role_arn("triage")),
            name: bus,
        }),
        &["iam_role.triage"],
    );
    let severities: Vec<&str> = config
        .findings
        .severities
        .iter()
        .map(String::as_str)
        .collect();
    for key in &s.rules {
        let (description, pattern, functions) = match *key {
            "findings" => (
                "secauto: NEW, ACTIVE Security Hub findings of the configured severities → triage",
                json!({
                    "source": ["aws.securityhub"],
                    "detail-type": ["Security Hub Findings - Imported"],
                    "detail": {"findings": {
                        "Severity": {"Label": severities},
                        "Workflow": {"Status": ["NEW"]},
                        "RecordState": ["ACTIVE"],
                    }},
                }),
                vec!["triage"],
            ),
            "remediation" => (
                "secauto: response events from triage → remediation and notification",
                json!({
                    "source": [format!("secauto.{stack}")],
                    "detail-type": [RESPONSE_DETAIL_TYPE],
                }),
                vec!["remediation", "notification"],
            ),
            _ => (
                "secauto: Security Hub custom actions of this stack → triage",
                json!({
                    "source": ["aws.securityhub"],
                    "detail-type": ["Security Hub Findings - Custom Action"],
                    "resources": actions.arns,
                }),
                vec!["triage"],
            ),
        };
        let rule_name = n.rule(key);
        b.check("EventBridge rule", &rule_name, 64);
        let rule_address = format!("event_rule.{key}");
        let rule_deps: Vec<&str> = match *key {
            "custom_actions" => actions.addresses.iter().map(String::as_str).collect(),
            "remediation" => vec![BUS],
            _ => vec![],
        };
        b.add(
            rule_address.clone(),
            Spec::EventRule(r::event_rule::Spec {
                name: rule_name.clone(),
                bus: n.rule_bus(key),
                arn: n.rule_arn(key),
                description: description.into(),
                event_pattern: pattern,
            }),
            &rule_deps,
        );
        for f in functions {
            let suffix = FUNCTIONS
                .iter()
                .find(|(k, _)| *k == f)
                .map_or(f, |(_, s)| *s);
            let fn_address = format!("lambda_function.{f}");
            let permission = format!("lambda_permission.{f}_{key}");
            b.add(
                format!("event_target.{key}_{f}"),
                Spec::EventTarget(r::event_target::Spec {
                    rule: rule_name.clone(),
                    bus: n.rule_bus(key),
                    id: f.to_string(),
                    target_arn: n.function_arn(suffix),
                    dead_letter_arn: n.queue_arn(),
                    maximum_retry_attempts: config.events.retry_attempts,
                    maximum_event_age_seconds: config.events.max_event_age_seconds,
                }),
                &[
                    rule_address.as_str(),
                    fn_address.as_str(),
                    notifications::QUEUE,
                    permission.as_str(),
                ],
            );
            b.add(
                permission,
                Spec::LambdaPermission(r::lambda_permission::Spec {
                    function: n.function(suffix),
                    statement_id: format!("secauto-{}", key.replace('_', "-")),
                    principal: n.service("events"),
                    source_arn: n.rule_arn(key),
                    source_account: n.account.clone(),
                }),
                &[fn_address.as_str(), rule_address.as_str()],
            );
        }
    }
}
