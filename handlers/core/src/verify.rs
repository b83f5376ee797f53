//! `secauto verify`'s test finding: how every function recognises it, and what triage decides for
//! it whatever the policy says. A test finding is never remediated: triage sends it on as
//! notify-only, in notify-only mode, and remediation only re-reads it and records a dry run.

use crate::finding::Finding;
use crate::policy::{Action, Decision, Mode};

/// The `ProductFields` key (and `UserDefinedFields` key) that marks a finding as verify's test.
pub const FIELD: &str = "secauto:verify";

/// Every test finding's `Id` starts with this: Security Hub's OCSF twin of the finding keeps the
/// `Id` (as `finding_info.uid`) but not its `ProductFields`.
pub const ID_PREFIX: &str = "secauto-verify-";

/// The rule name triage gives a test finding's decision.
pub const RULE: &str = "secauto-verify";

/// True for verify's test finding, in either format.
pub fn is_test(f: &Finding) -> bool {
    f.product_fields.contains_key(FIELD)
        || f.user_defined_fields.contains_key(FIELD)
        || f.id.starts_with(ID_PREFIX)
        || f.ocsf
            .as_ref()
            .and_then(|o| o.finding_info_uid.as_deref())
            .is_some_and(|uid| uid.starts_with(ID_PREFIX))
}

/// What triage decides for a test finding: notify, in notify-only mode, whatever the policy.
pub fn decision() -> Decision {
    Decision {
        action: Action::NotifyOnly,
        rule: Some(RULE.to_string()),
        mode: Some(Mode::NotifyOnly),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_test_finding_is_recognised_in_both_formats() {
        let asff: Finding = serde_json::from_value(json!({
            "Id": "x", "ProductFields": {FIELD: "a test"}
        }))
        .unwrap();
        assert!(is_test(&asff));
        let by_id: Finding =
            serde_json::from_value(json!({"Id": format!("{ID_PREFIX}1")})).unwrap();
        assert!(is_test(&by_id));
        let twin = crate::ocsf::parse(&json!({
            "class_uid": 2004,
            "metadata": {"uid": "m-1", "product": {"uid": "p"}},
            "finding_info": {"uid": format!("{ID_PREFIX}1"), "title": "t"},
            "cloud": {"account": {"uid": "123456789012"}, "region": "us-east-1"},
            "severity_id": 4, "status_id": 1
        }))
        .unwrap();
        assert!(is_test(&twin));
        let other: Finding = serde_json::from_value(json!({"Id": "arn:finding/1"})).unwrap();
        assert!(!is_test(&other));
    }
}
