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

/// True for verify's test finding, in either format: every mark a finding provider alone can set —
/// the `ProductFields` key (BatchUpdateFindings cannot set it), the `Id` prefix, and the account's
/// own default product — since a test finding is never remediated, a mark anyone who may update
/// findings can add (`UserDefinedFields`) must not make a real finding one. The OCSF twin: the
/// `finding_info.uid` prefix and the default product's identity.
pub fn is_test(f: &Finding) -> bool {
    let Some(account) = f.account() else {
        return false;
    };
    let default_product = format!("/{account}/default");
    if let Some(o) = &f.ocsf {
        return o
            .finding_info_uid
            .as_deref()
            .is_some_and(|uid| uid.starts_with(ID_PREFIX))
            && o.metadata_product_uid
                .as_deref()
                .is_some_and(|p| p.ends_with(&default_product));
    }
    f.product_fields.contains_key(FIELD)
        && f.id.starts_with(ID_PREFIX)
        && f.product_arn.ends_with(&default_product)
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
        let product = "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default";
        let asff: Finding = serde_json::from_value(json!({
            "Id": format!("{ID_PREFIX}1"), "ProductArn": product, "AwsAccountId": "123456789012",
            "ProductFields": {FIELD: "a test"}
        }))
        .unwrap();
        assert!(is_test(&asff));
        let twin = crate::ocsf::parse(&json!({
            "class_uid": 2004,
            "metadata": {"uid": "m-1", "product": {
                "uid": "arn:aws:securityhub:us-east-1:123456789012:productv2/123456789012/default"}},
            "finding_info": {"uid": format!("{ID_PREFIX}1"), "title": "t"},
            "cloud": {"account": {"uid": "123456789012"}, "region": "us-east-1"},
            "severity_id": 4, "status_id": 1
        }))
        .unwrap();
        assert!(is_test(&twin));
        let other: Finding = serde_json::from_value(json!({"Id": "arn:finding/1"})).unwrap();
        assert!(!is_test(&other));
    }

    /// Anyone who may update findings can add a `UserDefinedFields` key, and another product's
    /// finding can have any id: neither makes a real finding a test (never remediated).
    #[test]
    fn a_real_finding_with_a_verify_mark_is_not_a_test() {
        let guardduty = "arn:aws:securityhub:us-east-1::product/aws/guardduty";
        let marked_by_analyst: Finding = serde_json::from_value(json!({
            "Id": "arn:finding/1", "ProductArn": guardduty, "AwsAccountId": "123456789012",
            "UserDefinedFields": {FIELD: "exempt me"}
        }))
        .unwrap();
        assert!(!is_test(&marked_by_analyst));
        let prefixed_elsewhere: Finding = serde_json::from_value(json!({
            "Id": format!("{ID_PREFIX}1"), "ProductArn": guardduty, "AwsAccountId": "123456789012",
            "ProductFields": {FIELD: "x"}
        }))
        .unwrap();
        assert!(!is_test(&prefixed_elsewhere));
        let other_account: Finding = serde_json::from_value(json!({
            "Id": format!("{ID_PREFIX}1"), "AwsAccountId": "123456789012",
            "ProductArn": "arn:aws:securityhub:us-east-1:999999999999:product/999999999999/default",
            "ProductFields": {FIELD: "x"}
        }))
        .unwrap();
        assert!(!is_test(&other_account));
    }
}
