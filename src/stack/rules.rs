//! EventBridge: the findings rules (NEW, ACTIVE findings of the configured severities → triage: one
//! for Security Hub CSPM's ASFF feed, one for Security Hub's OCSF feed), the response rule (triage's events → remediation and notification), the custom-actions rule, their
//! targets (each with the DLQ and a retry policy) and the permissions that let each rule invoke.

use serde_json::json;

use super::securityhub::Actions;
use super::{notifications, Builder, Shared, RESPONSE_DETAIL_TYPE};
use crate::resources::{self as r, Spec};

/// The stack's own bus.
pub const BUS: &str = "event_bus.responses";

pub(super) fn add(b: &mut Builder, s: &Shared, actions: &Actions) {
    add_bus(b, s);
    for key in &s.rules {
        let rule = match *key {
            "findings" => findings_rule(s),
            "findings_ocsf" => ocsf_findings_rule(s),
            "remediation" => response_rule(s),
            _ => custom_actions_rule(actions),
        };
        add_rule(b, s, key, rule);
    }
}

/// The stack's own bus: only triage may put events on it.
fn add_bus(b: &mut Builder, s: &Shared) {
    let n = &s.n;
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
}

/// What a rule matches, which functions it invokes, and what it waits for.
struct Rule {
    description: &'static str,
    pattern: serde_json::Value,
    functions: Vec<&'static str>,
    deps: Vec<String>,
}

/// NEW, ACTIVE findings of the configured severities → triage.
fn findings_rule(s: &Shared) -> Rule {
    let severities: Vec<&str> = s
        .config
        .findings
        .severities
        .iter()
        .map(String::as_str)
        .collect();
    Rule {
        description:
            "secauto: NEW, ACTIVE Security Hub findings of the configured severities → triage",
        pattern: json!({
            "source": ["aws.securityhub"],
            "detail-type": ["Security Hub Findings - Imported"],
            "detail": {"findings": {
                "Severity": {"Label": severities},
                "Workflow": {"Status": ["NEW"]},
                "RecordState": ["ACTIVE"],
            }},
        }),
        functions: vec!["triage"],
        deps: vec![],
    }
}

/// OCSF `severity_id`s of the configured ASFF severity labels: Informational 1, Low 2, Medium 3,
/// High 4, Critical 5; CRITICAL includes Fatal (6), which ASFF has no label for.
pub(crate) fn ocsf_severity_ids(labels: &[String]) -> Vec<u8> {
    let mut ids: Vec<u8> = labels
        .iter()
        .flat_map(|l| match l.as_str() {
            "INFORMATIONAL" => &[1][..],
            "LOW" => &[2][..],
            "MEDIUM" => &[3][..],
            "HIGH" => &[4][..],
            "CRITICAL" => &[5, 6][..],
            _ => &[][..],
        })
        .copied()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The `severity` texts of `labels` ([`secauto_core::ocsf::SEVERITY_TEXTS`]).
fn severity_texts(labels: &[String], configured: bool) -> Vec<&'static str> {
    secauto_core::ocsf::SEVERITY_TEXTS
        .iter()
        .filter(|(label, _)| labels.iter().any(|l| l == label) == configured)
        .flat_map(|(_, texts)| texts.iter().copied())
        .collect()
}

/// The alternatives of the OCSF rule's severity match, each an object of `detail.findings` fields:
/// the configured labels' `severity_id`s; and, since for `severity_id` 0 (Unknown), 99 (Other),
/// none (or an id outside OCSF's) triage reads the `severity` text
/// ([`secauto_core::ocsf::severity`]: a level's name, case aside, else INFORMATIONAL), those ids
/// with a text that reads as a configured label — so the rule delivers exactly the findings triage
/// takes for the configured severities.
pub(crate) fn ocsf_severity_alternatives(labels: &[String]) -> Vec<serde_json::Value> {
    let mut out = vec![json!({"severity_id": ocsf_severity_ids(labels)})];
    // Any id but a level's (0 Unknown, 99 Other, one outside OCSF), or none.
    let unsure = [
        json!([{"anything-but": [1, 2, 3, 4, 5, 6]}]),
        json!([{"exists": false}]),
    ];
    let informational = labels.iter().any(|l| l == "INFORMATIONAL");
    let texts: Vec<serde_json::Value> = if informational {
        // Any text but an unconfigured level's reads as a configured label, and so does none.
        let other = severity_texts(labels, false);
        if other.is_empty() {
            vec![]
        } else {
            vec![
                json!([{"anything-but": {"equals-ignore-case": other}}]),
                json!([{"exists": false}]),
            ]
        }
    } else {
        let said: Vec<_> = severity_texts(labels, true)
            .into_iter()
            .map(|t| json!({"equals-ignore-case": t}))
            .collect();
        vec![json!(said)]
    };
    for ids in unsure {
        if texts.is_empty() {
            out.push(json!({"severity_id": ids}));
        }
        for text in &texts {
            out.push(json!({"severity_id": ids, "severity": text}));
        }
    }
    out
}

/// New (`status_id` 1) OCSF findings of the configured severities → triage. Security Hub (not CSPM)
/// sends one finding per "Findings Imported V2" event, in `detail.findings[0]`, and a pattern may
/// filter on any of its attributes: "Configuring rules for EventBridge",
/// <https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-v2-cwe-event-rules.html>,
/// and "EventBridge event formats",
/// <https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-v2-cwe-event-formats.html>.
/// The severity alternatives are a `$or` ("Content filtering in Amazon EventBridge event patterns").
fn ocsf_findings_rule(s: &Shared) -> Rule {
    let mut findings = serde_json::Map::new();
    findings.insert("status_id".into(), json!([1]));
    findings.insert(
        "$or".into(),
        json!(ocsf_severity_alternatives(&s.config.findings.severities)),
    );
    Rule {
        description: "secauto: New Security Hub OCSF findings (Findings Imported V2) of the configured severities → triage",
        pattern: json!({
            "source": ["aws.securityhub"],
            "detail-type": ["Findings Imported V2"],
            "detail": {"findings": findings},
        }),
        functions: vec!["triage"],
        deps: vec![],
    }
}

/// Triage's response events, on the stack's own bus → remediation and notification.
fn response_rule(s: &Shared) -> Rule {
    Rule {
        description: "secauto: response events from triage → remediation and notification",
        pattern: json!({
            "source": [s.n.event_source()],
            "detail-type": [RESPONSE_DETAIL_TYPE],
        }),
        functions: vec!["remediation", "notification"],
        deps: vec![BUS.to_string()],
    }
}

/// The stack's Security Hub custom actions → triage.
fn custom_actions_rule(actions: &Actions) -> Rule {
    Rule {
        description: "secauto: Security Hub custom actions of this stack → triage",
        pattern: json!({
            "source": ["aws.securityhub"],
            "detail-type": ["Security Hub Findings - Custom Action"],
            "resources": actions.arns,
        }),
        functions: vec!["triage"],
        deps: actions.addresses.clone(),
    }
}

/// A rule, and for each function it invokes a target and the permission to invoke.
fn add_rule(b: &mut Builder, s: &Shared, key: &str, rule: Rule) {
    let n = &s.n;
    let rule_name = n.rule(key);
    b.check("EventBridge rule", &rule_name, 64);
    let rule_address = format!("event_rule.{key}");
    let deps: Vec<&str> = rule.deps.iter().map(String::as_str).collect();
    b.add(
        rule_address.clone(),
        Spec::EventRule(r::event_rule::Spec {
            name: rule_name,
            bus: n.rule_bus(key),
            arn: n.rule_arn(key),
            description: rule.description.into(),
            event_pattern: rule.pattern,
        }),
        &deps,
    );
    for f in rule.functions {
        add_target(b, s, key, f, &rule_address);
    }
}

/// The target of rule `key` that invokes function `f`, and the permission it needs.
fn add_target(b: &mut Builder, s: &Shared, key: &str, f: &str, rule_address: &str) {
    let n = &s.n;
    let config = s.config;
    let suffix = super::function_suffix(f);
    let fn_address = format!("lambda_function.{f}");
    let permission = format!("lambda_permission.{f}_{key}");
    b.add(
        format!("event_target.{key}_{f}"),
        Spec::EventTarget(r::event_target::Spec {
            rule: n.rule(key),
            bus: n.rule_bus(key),
            id: f.to_string(),
            target_arn: n.function_arn(suffix),
            dead_letter_arn: n.queue_arn(),
            maximum_retry_attempts: config.events.retry_attempts,
            maximum_event_age_seconds: config.events.max_event_age_seconds,
        }),
        &[
            rule_address,
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
        &[fn_address.as_str(), rule_address],
    );
}
