//! The one home of the names both sides use: the CLI's stack graph (`secauto::stack::Names`) and the
//! handlers, which fall back to them when the environment does not say, and derive member roles'
//! ARNs from them. Regional resources are named `{stack}-{suffix}`; account-global ones carry the
//! region too (`{stack}-{region}-{suffix}`), so one stack per region of an account never collides.

/// The partition of a region, as in every ARN: `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`,
/// `aws-iso-b`, `aws-iso-e`, `aws-iso-f` or `aws-eusc` (the European Sovereign Cloud).
pub fn partition(region: &str) -> &'static str {
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, p)| p)
}

/// Each partition but `aws`, by the prefix of its regions' names.
const PREFIXES: &[(&str, &str)] = &[
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-isof-", "aws-iso-f"),
    ("eusc-", "aws-eusc"),
];

/// `name` if it is a partition (as an ARN spells it), else `None`.
pub fn known_partition(name: &str) -> Option<&'static str> {
    std::iter::once("aws")
        .chain(PREFIXES.iter().map(|(_, p)| *p))
        .find(|p| *p == name)
}

/// The name of a regional resource of a stack.
pub fn regional(stack: &str, suffix: &str) -> String {
    format!("{stack}-{suffix}")
}

/// The name of an account-global resource of a stack (IAM roles and policies): unique per region.
pub fn global(stack: &str, region: &str, suffix: &str) -> String {
    format!("{stack}-{region}-{suffix}")
}

/// The ARN of a stack's role `suffix` (account-global: `{stack}-{region}-{suffix}`).
pub fn role_arn(stack: &str, account: &str, region: &str, suffix: &str) -> String {
    format!(
        "arn:{}:iam::{account}:role/{}",
        partition(region),
        global(stack, region, suffix)
    )
}

/// The role the isolation automation of the stack in `account` and `region` runs as: a role can
/// be passed only within its own account, so each stack's automation runs as its own.
pub fn automation_role_arn(stack: &str, account: &str, region: &str) -> String {
    role_arn(stack, account, region, "automation")
}

/// The stack's own event bus: response events travel on it, and only triage may put them.
pub fn bus(stack: &str) -> String {
    regional(stack, "events")
}

/// The path of the SSM parameters remediation claims resources with (`/{stack}/remediation-claims/`).
pub fn claims_path(stack: &str) -> String {
    format!("/{stack}/remediation-claims/")
}

/// The isolation document remediation starts.
pub fn document(stack: &str) -> String {
    regional(stack, "isolate-instance")
}

/// The `source` of the events triage puts on the stack's bus.
pub fn event_source(stack: &str) -> String {
    format!("secauto.{stack}")
}

/// The session name the administrator's remediation uses when it assumes a member role.
pub fn member_session(stack: &str) -> String {
    format!("secauto-{stack}-remediation")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_prefix_is_known() {
        for (region, want) in [
            ("us-east-1", "aws"),
            ("eu-west-3", "aws"),
            ("ap-southeast-2", "aws"),
            ("cn-north-1", "aws-cn"),
            ("cn-northwest-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-gov-east-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-iso-west-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("us-isof-south-1", "aws-iso-f"),
            ("us-isof-east-1", "aws-iso-f"),
            ("eusc-de-east-1", "aws-eusc"),
        ] {
            assert_eq!(partition(region), want, "{region}");
        }
    }

    #[test]
    fn names_of_a_stack() {
        assert_eq!(regional("sec", "triage"), "sec-triage");
        assert_eq!(global("sec", "eu-west-1", "member"), "sec-eu-west-1-member");
        assert_eq!(bus("sec"), "sec-events");
        assert_eq!(document("sec"), "sec-isolate-instance");
        assert_eq!(event_source("sec"), "secauto.sec");
    }
}
