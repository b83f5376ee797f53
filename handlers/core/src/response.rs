//! The "Security Response Required" event triage emits for each actionable finding; the remediation
//! rule delivers it to the remediation and notification functions.

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, OcsfIdentity, Resource};
use crate::policy::{Action, Decision, Mode};

pub const RESPONSE_DETAIL_TYPE: &str = "Security Response Required";

/// PutEvents takes at most 256 KB per call (entries included); a detail stays well below.
pub const MAX_DETAIL_BYTES: usize = 64 * 1024;

/// The finding fields remediation and notification need (the full finding can be far larger than an
/// event may be).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingSummary {
    pub id: String,
    pub product_arn: String,
    pub product: String,
    pub title: String,
    pub description: String,
    pub severity: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub types: Vec<String>,
    pub updated_at: Option<String>,
    pub resources: Vec<Resource>,
    /// The fact the finding reports ([`Finding::fact_key`]): the same for the ASFF and the OCSF
    /// finding of one control failure, so remediation can say a twin found nothing left to do.
    #[serde(default)]
    pub fact: String,
    /// The security control the finding checks (`S3.8`), if it is a control finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_id: Option<String>,
    /// The OCSF identity of a finding from today's Security Hub (`None` for ASFF): remediation
    /// re-reads it with GetFindingsV2 and records its outcome with BatchUpdateFindingsV2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsf: Option<OcsfIdentity>,
}

/// The detail of a response event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseEvent {
    pub stack: String,
    pub action: Action,
    /// The rule that decided, if any.
    pub rule: Option<String>,
    /// An analyst escalated the finding to the SOC.
    #[serde(default)]
    pub escalate: bool,
    /// An analyst asked for this remediation (custom action).
    #[serde(default)]
    pub forced: bool,
    /// The mode the rule chose (`None`: the stack's `[remediation] mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// The finding is `secauto verify`'s test ([`crate::verify`]): remediation only records a dry run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verify: bool,
    pub finding: FindingSummary,
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl FindingSummary {
    pub fn of(f: &Finding) -> FindingSummary {
        FindingSummary {
            id: f.id.clone(),
            product_arn: f.product_arn.clone(),
            product: f.product(),
            title: clip(&f.title, 512),
            description: clip(&f.description, 2048),
            severity: f.severity().as_str().into(),
            account: f.account().map(str::to_string),
            region: f.region().map(str::to_string),
            types: f.all_types().take(20).map(str::to_string).collect(),
            updated_at: f.updated_at.clone(),
            resources: f
                .resources
                .iter()
                .take(32)
                .map(|r| Resource {
                    details: None,
                    ..r.clone()
                })
                .collect(),
            fact: f.fact_key(),
            control_id: f.control_id(),
            ocsf: f.ocsf.clone(),
        }
    }
}

impl ResponseEvent {
    pub fn new(stack: &str, f: &Finding, d: &Decision, escalate: bool, forced: bool) -> Self {
        ResponseEvent {
            stack: stack.into(),
            action: d.action,
            rule: d.rule.clone(),
            escalate,
            forced,
            mode: d.mode,
            verify: crate::verify::is_test(f),
            finding: FindingSummary::of(f),
        }
    }

    /// The detail as JSON, trimmed when it would be too large: the description is shortened and
    /// only the resources the action acts on are kept (the first of them if still too large), so
    /// the resource remediation changes is always the one the event carries.
    pub fn detail_json(&self) -> String {
        let body = serde_json::to_string(self).unwrap_or_default();
        if body.len() <= MAX_DETAIL_BYTES {
            return body;
        }
        let mut small = self.clone();
        small.finding.description = clip(&small.finding.description, 256);
        if let Some(kind) = self.action.resource_type() {
            small.finding.resources.retain(|r| r.kind == kind);
        }
        let body = serde_json::to_string(&small).unwrap_or_default();
        if body.len() <= MAX_DETAIL_BYTES {
            return body;
        }
        small.finding.resources.truncate(1);
        serde_json::to_string(&small).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A finding whose resources are too large for one event: the instance the action isolates
    /// comes after 31 large security groups.
    fn crowded() -> ResponseEvent {
        let big: std::collections::BTreeMap<String, String> = (0..40)
            .map(|i| (format!("tag-{i}"), "x".repeat(250)))
            .collect();
        let mut resources: Vec<Resource> = (0..31)
            .map(|i| Resource {
                kind: "AwsEc2SecurityGroup".into(),
                id: format!("sg-{i}"),
                tags: big.clone(),
                ..Resource::default()
            })
            .collect();
        resources.push(Resource {
            kind: "AwsEc2Instance".into(),
            id: "arn:aws:ec2:us-east-1:111111111111:instance/i-0abc".into(),
            ..Resource::default()
        });
        let finding = Finding {
            resources,
            ..Finding::default()
        };
        let decision = Decision::new(Action::IsolateInstance, None);
        ResponseEvent::new("sec", &finding, &decision, false, false)
    }

    #[test]
    fn a_trimmed_event_keeps_the_resource_the_action_acts_on() {
        let event = crowded();
        assert!(serde_json::to_string(&event).unwrap().len() > MAX_DETAIL_BYTES);
        let detail = event.detail_json();
        assert!(detail.len() <= MAX_DETAIL_BYTES, "{}", detail.len());
        let back: ResponseEvent = serde_json::from_str(&detail).unwrap();
        assert_eq!(back.finding.resources.len(), 1);
        assert_eq!(back.finding.resources[0].short_id(), "i-0abc");
    }

    /// Still too large with only the action's kind of resource (many large instances): the first
    /// instance is kept, never a resource of another kind.
    #[test]
    fn a_trimmed_event_with_many_resources_of_the_actions_kind_keeps_the_first() {
        let mut event = crowded();
        for r in &mut event.finding.resources {
            if r.kind == "AwsEc2SecurityGroup" {
                r.kind = "AwsEc2Instance".into();
                r.id = format!("i-{}", r.id);
            }
        }
        let detail = event.detail_json();
        assert!(detail.len() <= MAX_DETAIL_BYTES, "{}", detail.len());
        let back: ResponseEvent = serde_json::from_str(&detail).unwrap();
        assert_eq!(back.finding.resources.len(), 1);
        assert_eq!(back.finding.resources[0].id, "i-sg-0");
        assert_eq!(back.finding.resources[0].kind, "AwsEc2Instance");
    }
}
