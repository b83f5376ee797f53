//! A member stack of a fleet: the role the administrator's remediation function assumes to act in
//! this account and region, allowed exactly what remediation does here; and, where the triage
//! policy quarantines, the isolation document and the role its automation runs as.

use serde_json::json;

use super::{functions, identity, Builder, Fleet, Names, Shared};
use crate::resources::{self as r, Spec};

pub const ROLE: &str = "iam_role.member";
pub const POLICY: &str = "iam_policy.member";

pub(super) fn add(b: &mut Builder, s: &Shared, fleet: &Fleet) {
    let n = &s.n;
    let stack = n.stack.as_str();
    let quarantine = quarantines(s.config);
    let name = secauto_core::fleet::member_role_name(stack, &n.region);
    b.check("IAM role", &name, 64);
    let administrator = Names::new(stack, &fleet.home_region, &fleet.administrator);
    b.add(
        ROLE,
        Spec::IamRole(r::iam_role::Spec {
            name: name.clone(),
            description: format!(
                "secauto stack {stack} ({}): remediation by the administrator account {}",
                n.region, fleet.administrator
            ),
            // The administrator's account as principal and its remediation role by condition: the
            // trust stays valid when that role is deleted and made again (a role principal would
            // turn into the old role's unique id), and it needs no order between the accounts.
            assume_role_policy: json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"AWS": format!("arn:{}:iam::{}:root", n.partition, fleet.administrator)},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"sts:ExternalId": fleet.external_id},
                        "ArnEquals": {"aws:PrincipalArn": administrator.role_arn("remediation")},
                    },
                }],
            }),
        }),
        &[],
    );
    let policy = n.policy("member");
    b.check("IAM policy", &policy, 128);
    let mut deps = Vec::new();
    if quarantine {
        deps.push(functions::DOCUMENT);
        deps.push(identity::AUTOMATION_ROLE);
    }
    b.add(
        POLICY,
        Spec::IamPolicy(r::iam_policy::Spec {
            name: policy,
            arn: n.policy_arn("member"),
            description: format!(
                "secauto stack {stack} ({}): what the administrator's remediation does here",
                n.region
            ),
            document: json!({
                "Version": "2012-10-17",
                "Statement": identity::remediation_statements(n, quarantine),
            }),
        }),
        &deps,
    );
    b.add(
        "iam_role_policy_attachment.member",
        Spec::IamRolePolicyAttachment(r::iam_role_policy_attachment::Spec {
            role: name,
            policy_arn: n.policy_arn("member"),
        }),
        &[ROLE, POLICY],
    );
    if quarantine {
        functions::add_document(b, s);
        identity::add_automation_role(b, s);
    }
}

/// Whether the triage policy can ask for a quarantine (the isolation automation).
pub fn quarantines(config: &crate::config::Config) -> bool {
    config
        .triage
        .policy()
        .rules
        .iter()
        .any(|r| r.action == secauto_core::Action::QuarantineInstance)
}
