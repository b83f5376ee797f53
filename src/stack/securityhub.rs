//! Security Hub: the custom actions analysts pick in the console, and the automation rules that
//! annotate HIGH and CRITICAL findings (annotate only: they never change the workflow status, so the
//! NEW-only findings rule cannot loop).

use std::collections::BTreeMap;

use super::{Builder, Shared};
use crate::resources::{self as r, Spec};

/// The custom actions' ARNs (the custom-actions rule matches them) and addresses.
#[derive(Debug, Default)]
pub(super) struct Actions {
    pub arns: Vec<String>,
    pub addresses: Vec<String>,
}

/// The custom-action id prefix: `[securityhub] action_id_prefix`, else one derived from stack and region.
pub fn action_id_prefix(config: &crate::config::Config, n: &super::Names) -> String {
    config
        .securityhub
        .action_id_prefix
        .clone()
        .unwrap_or_else(|| n.action_id_prefix())
}

pub(super) fn add_actions(b: &mut Builder, s: &Shared) -> Actions {
    let mut out = Actions::default();
    // Custom actions are Security Hub CSPM's (its console sends them, in ASFF): with the CSPM feed
    // only.
    if !s.config.securityhub.custom_actions
        || !s.config.securityhub.subscribes(crate::config::Feed::Cspm)
    {
        return out;
    }
    let prefix = action_id_prefix(s.config, &s.n);
    for (key, id_suffix, name, description) in [
        (
            "trigger_remediation",
            "Remediate",
            "Trigger remediation",
            "secauto: run the triage policy's remediation for the selected findings",
        ),
        (
            "escalate_soc",
            "Escalate",
            "Escalate to SOC",
            "secauto: notify the security operations center about the selected findings",
        ),
    ] {
        let id = format!("{prefix}{id_suffix}");
        if id.len() > 20 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            b.name_problems.push(format!(
                "custom action id {id:?} must be at most 20 letters or digits: set [securityhub] action_id_prefix"
            ));
        }
        let arn = s.n.arn("securityhub", &format!("action/custom/{id}"));
        let address = format!("securityhub_action_target.{key}");
        b.add(
            address.clone(),
            Spec::SecurityhubActionTarget(r::securityhub_action_target::Spec {
                id,
                arn: arn.clone(),
                name: name.into(),
                description: description.into(),
            }),
            &[],
        );
        out.arns.push(arn);
        out.addresses.push(address);
    }
    out
}

pub(super) fn add_automation_rules(b: &mut Builder, s: &Shared) {
    if !s.config.securityhub.automation_rules {
        return;
    }
    let stack = s.n.stack.as_str();
    for (order, label) in [(1, "HIGH"), (2, "CRITICAL")] {
        let lower = label.to_ascii_lowercase();
        let mut udf = BTreeMap::new();
        udf.insert("secauto:stack".to_string(), stack.to_string());
        udf.insert("secauto:priority".to_string(), lower.clone());
        if s.config.securityhub.subscribes(crate::config::Feed::Ocsf) {
            add_v2_rule(b, s, order, label);
        }
        // CSPM's rules annotate ASFF findings: with the CSPM feed only, so an account on today's
        // Security Hub alone (`feeds = ["ocsf"]`) deploys without Security Hub CSPM.
        if !s.config.securityhub.subscribes(crate::config::Feed::Cspm) {
            continue;
        }
        b.add(
            format!("securityhub_automation_rule.{lower}"),
            Spec::SecurityhubAutomationRule(r::securityhub_automation_rule::Spec {
                name: s.n.name(&format!("{lower}-severity")),
                description: format!(
                    "secauto stack {stack}: annotate NEW {label} findings before triage"
                ),
                rule_order: order,
                severity_label: label.into(),
                note: format!("{label} severity finding: secauto triage is responding"),
                user_defined_fields: udf,
            }),
            &[],
        );
    }
}

/// The OCSF twin of a CSPM automation rule, for today's Security Hub: New findings of the label's
/// `severity_id`s (CRITICAL includes Fatal), or of 0 (Unknown) / 99 (Other) with the label's OCSF
/// caption as `severity` (triage reads the text for those), get a comment; their `status_id` is never changed, so
/// the OCSF findings rule (New only) cannot loop. Planned only where Security Hub is on.
fn add_v2_rule(b: &mut Builder, s: &Shared, order: i32, label: &str) {
    let lower = label.to_ascii_lowercase();
    let spec = r::securityhub_automation_rule_v2::Spec {
        name: s.n.name(&format!("{lower}-severity-ocsf")),
        description: format!(
            "secauto stack {}: comment on New {label} OCSF findings before triage",
            s.n.stack
        ),
        rule_order: order as f32,
        severity_ids: super::rules::ocsf_severity_ids(&[label.to_string()])
            .into_iter()
            .map(i32::from)
            .collect(),
        severity_texts: secauto_core::ocsf::SEVERITY_TEXTS
            .iter()
            .filter(|(l, _)| *l == label)
            .flat_map(|(_, texts)| texts.iter().map(|t| t.to_string()))
            .collect(),
        comment: format!("{label} severity finding: secauto triage is responding"),
    };
    b.name_problems.extend(spec.problems());
    b.add(
        format!("securityhub_automation_rule_v2.{lower}"),
        Spec::SecurityhubAutomationRuleV2(spec),
        &[],
    );
}
