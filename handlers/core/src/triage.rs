//! What triage decides for each finding of an input, and which findings it skips (and why). Shared by
//! the triage function and `secauto simulate`.

use serde::Serialize;

use crate::envelope::{CustomAction, Input, Rejected};
use crate::finding::Finding;
use crate::policy::{Action, Decision, Mode, Policy};

/// The user-defined field triage writes on a finding: the `UpdatedAt` it triaged. A finding that
/// carries its own `UpdatedAt` there was already handled (idempotency across retries and re-imports).
pub const TRIAGED_AT: &str = "secauto:triaged-at";

/// One finding's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Triaged {
    #[serde(skip)]
    pub finding: Finding,
    pub finding_id: String,
    pub severity: String,
    pub product: String,
    pub action: Action,
    pub rule: Option<String>,
    /// The mode the remediation runs in; `None`: the stack's `[remediation] mode`.
    pub mode: Option<Mode>,
    /// The security control the finding checks (`S3.8`), `None` when it checks none.
    pub control: Option<String>,
    pub escalate: bool,
    pub forced: bool,
    /// Why nothing is sent for this finding, if so.
    pub skipped: Option<String>,
}

impl Triaged {
    /// True when triage marks the finding and emits a response event.
    pub fn is_actionable(&self) -> bool {
        self.skipped.is_none() && self.action.is_actionable()
    }

    /// What the policy decided.
    pub fn decision(&self) -> Decision {
        Decision {
            action: self.action,
            rule: self.rule.clone(),
            mode: self.mode,
        }
    }
}

fn make(
    f: &Finding,
    d: Decision,
    escalate: bool,
    forced: bool,
    skipped: Option<String>,
) -> Triaged {
    Triaged {
        finding_id: f.id.clone(),
        severity: f.severity().as_str().into(),
        product: f.product(),
        finding: f.clone(),
        control: f.control_id(),
        action: d.action,
        rule: d.rule,
        mode: d.mode,
        escalate,
        forced,
        skipped,
    }
}

/// A finding whose control passed, or could not be evaluated: there is nothing to fix (Prowler and
/// Security Hub controls report PASSED findings as ACTIVE too; NOT_AVAILABLE means the check could
/// not run — the resource was deleted, or the control does not apply).
fn passed(f: &Finding) -> Option<String> {
    let status = f
        .compliance
        .as_ref()
        .and_then(|c| c.status.as_deref())?
        .trim();
    ["PASSED", "NOT_AVAILABLE"]
        .iter()
        .find(|s| status.eq_ignore_ascii_case(s))
        .map(|s| format!("compliance status is {s}: nothing to fix"))
}

/// An archived finding (its resource gone, or replaced by a newer finding) is never acted on.
fn archived(f: &Finding) -> Option<String> {
    f.record_state
        .as_deref()
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("ARCHIVED"))
        .then(|| "archived".to_string())
}

/// Why a custom action does not act on a finding: analysts' clicks never act on a passed control,
/// and never silently reopen a finding someone closed.
fn custom_action_skip(f: &Finding) -> Option<String> {
    if let Some(why) = archived(f).or_else(|| passed(f)) {
        return Some(why);
    }
    match f.workflow_status().trim().to_ascii_uppercase().as_str() {
        s @ ("RESOLVED" | "SUPPRESSED") => Some(format!(
            "workflow status is {s}: a custom action does not reopen it; set it to NEW or NOTIFIED first"
        )),
        _ => None,
    }
}

/// Why an imported finding is not (re)processed, if it is not.
fn skip_reason(f: &Finding) -> Option<String> {
    if let Some(why) = archived(f).or_else(|| passed(f)) {
        return Some(why);
    }
    if !f.workflow_status().trim().eq_ignore_ascii_case("NEW") {
        return Some(format!("workflow status is {}", f.workflow_status()));
    }
    let at = f.updated_at.as_deref().unwrap_or("");
    if f.user_defined_fields.get(TRIAGED_AT).map(String::as_str) == Some(at) {
        return Some("already triaged at this UpdatedAt".into());
    }
    None
}

/// The policy's decision, or verify's for its test finding (never remediated, whatever the policy).
fn decide(policy: &Policy, f: &Finding) -> Decision {
    if crate::verify::is_test(f) {
        return crate::verify::decision();
    }
    policy.decide(f)
}

/// Decide every finding of `input`. Returns the decisions and the findings that could not be read.
pub fn triage(policy: &Policy, input: &Input) -> (Vec<Triaged>, Vec<Rejected>) {
    match input {
        Input::Imported(found) => (
            found
                .ok
                .iter()
                .map(|f| make(f, decide(policy, f), false, false, skip_reason(f)))
                .collect(),
            found.rejected.clone(),
        ),
        Input::File(found) => (
            found
                .ok
                .iter()
                .map(|f| make(f, decide(policy, f), false, false, skip_reason(f)))
                .collect(),
            found.rejected.clone(),
        ),
        Input::CustomAction { action, findings } => (
            findings
                .ok
                .iter()
                .map(|f| match action {
                    CustomAction::Remediate => make(
                        f,
                        policy.decide_forced(f),
                        false,
                        true,
                        custom_action_skip(f),
                    ),
                    CustomAction::Escalate => make(
                        f,
                        Decision::new(Action::NotifyOnly, Some("escalate-to-soc")),
                        true,
                        false,
                        custom_action_skip(f),
                    ),
                    CustomAction::Other(name) => make(
                        f,
                        Decision::new(Action::Ignore, None),
                        false,
                        false,
                        Some(format!("custom action {name:?} is not one of this stack's")),
                    ),
                })
                .collect(),
            findings.rejected.clone(),
        ),
        Input::Response(_) => (vec![], vec![]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::parse_input;
    use serde_json::json;

    fn imported(f: serde_json::Value) -> Input {
        parse_input(&json!({"detail-type": "Security Hub Findings - Imported", "detail": {"findings": [f]}})).unwrap()
    }

    #[test]
    fn skips_archived_non_new_and_already_triaged() {
        let p = Policy::default();
        let base =
            json!({"Id": "a", "ProductArn": "p", "UpdatedAt": "t1", "Severity": {"Label": "HIGH"}});
        let (t, _) = triage(&p, &imported(base.clone()));
        assert!(t[0].is_actionable());
        let mut archived = base.clone();
        archived["RecordState"] = json!("ARCHIVED");
        assert_eq!(
            triage(&p, &imported(archived)).0[0].skipped.as_deref(),
            Some("archived")
        );
        let mut notified = base.clone();
        notified["Workflow"] = json!({"Status": "NOTIFIED"});
        assert!(triage(&p, &imported(notified)).0[0].skipped.is_some());
        let mut done = base.clone();
        done["UserDefinedFields"] = json!({TRIAGED_AT: "t1"});
        assert!(triage(&p, &imported(done.clone())).0[0].skipped.is_some());
        done["UpdatedAt"] = json!("t2");
        assert!(
            triage(&p, &imported(done)).0[0].is_actionable(),
            "a newer version is triaged again"
        );
    }

    /// verify's test finding is sent on as notify-only, in notify-only mode, even by a policy that
    /// would ignore it or remediate it.
    #[test]
    fn the_verify_test_finding_is_notify_only_whatever_the_policy() {
        let p = Policy {
            rules: vec![crate::policy::Rule::new("drop-all", Action::Ignore)],
        };
        let f = json!({"Id": "secauto-verify-s-1", "AwsAccountId": "123456789012",
            "ProductArn": "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
            "UpdatedAt": "t1",
            "Severity": {"Label": "LOW"}, "ProductFields": {"secauto:verify": "test"},
            "Resources": [{"Type": "AwsEc2SecurityGroup", "Id": "sg-1"}]});
        let t = &triage(&p, &imported(f)).0[0];
        assert!(t.is_actionable());
        assert_eq!(t.action, Action::NotifyOnly);
        assert_eq!(t.mode, Some(Mode::NotifyOnly));
        assert_eq!(t.rule.as_deref(), Some(crate::verify::RULE));
        let event = crate::ResponseEvent::new("s", &t.finding, &t.decision(), false, false);
        assert!(event.verify);
        let plain =
            json!({"Id": "a", "ProductArn": "p", "UpdatedAt": "t1", "Severity": {"Label": "LOW"}});
        assert_eq!(triage(&p, &imported(plain)).0[0].action, Action::Ignore);
    }

    #[test]
    fn not_available_findings_are_never_actionable() {
        let f: Finding = serde_json::from_value(serde_json::json!({
            "Id": "x",
            "Compliance": {"Status": "NOT_AVAILABLE", "SecurityControlId": "S3.8"}
        }))
        .unwrap();
        assert_eq!(
            passed(&f).as_deref(),
            Some("compliance status is NOT_AVAILABLE: nothing to fix")
        );
    }

    #[test]
    fn passed_findings_are_never_actionable() {
        let p = Policy::default();
        let f = json!({"Id": "a", "ProductArn": "p", "UpdatedAt": "t1", "Severity": {"Label": "HIGH"},
            "Compliance": {"Status": "PASSED"}});
        let t = &triage(&p, &imported(f.clone())).0[0];
        assert!(!t.is_actionable());
        assert!(t.skipped.as_deref().unwrap().contains("PASSED"));
        let v = json!({"detail-type": "Security Hub Findings - Custom Action", "resources": ["arn:aws:securityhub:r:1:action/custom/xRemediate"],
            "detail": {"actionName": "Trigger remediation", "findings": [f]}});
        assert!(!triage(&p, &parse_input(&v).unwrap()).0[0].is_actionable());
    }

    #[test]
    fn custom_actions_do_not_reopen_closed_findings() {
        for status in ["RESOLVED", "SUPPRESSED"] {
            let v = json!({"detail-type": "Security Hub Findings - Custom Action", "resources": ["arn:aws:securityhub:r:1:action/custom/xEscalate"],
                "detail": {"actionName": "Escalate to SOC", "findings": [{"Id": "a", "ProductArn": "p", "Workflow": {"Status": status}}]}});
            let t = &triage(&Policy::default(), &parse_input(&v).unwrap()).0[0];
            assert!(!t.is_actionable(), "{status}");
            assert!(
                t.skipped.as_deref().unwrap().contains("does not reopen"),
                "{status}"
            );
        }
    }

    #[test]
    fn escalation_notifies_with_flag() {
        let v = json!({"detail-type": "Security Hub Findings - Custom Action", "resources": ["arn:aws:securityhub:r:1:action/custom/xEscalate"],
            "detail": {"actionName": "Escalate to SOC", "findings": [{"Id": "a", "ProductArn": "p", "Workflow": {"Status": "NOTIFIED"}}]}});
        let (t, _) = triage(&Policy::default(), &parse_input(&v).unwrap());
        assert!(t[0].escalate && t[0].is_actionable());
        assert_eq!(t[0].action, Action::NotifyOnly);
    }
}
