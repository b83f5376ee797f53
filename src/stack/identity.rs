//! Who the functions are and what they may do: one execution role per function (trusting Lambda
//! only on behalf of this account) with only what that function calls, the isolation automation's
//! role, and the stack's customer-managed key.

use serde_json::{json, Value};

use super::{Builder, KeyChoice, Shared, FUNCTIONS};
use crate::resources::{self as r, Spec};

pub const KEY: &str = "kms_key.main";
pub const AUTOMATION_ROLE: &str = "iam_role.automation";

/// The address of a function's role.
pub fn role(key: &str) -> String {
    format!("iam_role.{key}")
}

/// The addresses a function needs before it can be created: its role and its policies.
pub fn role_deps(key: &str) -> Vec<String> {
    vec![
        role(key),
        format!("iam_role_policy_attachment.{key}_basic"),
        format!("iam_role_policy_attachment.{key}"),
    ]
}

pub(super) fn add(b: &mut Builder, s: &Shared) {
    let n = &s.n;
    let stack = n.stack.as_str();
    for (key, suffix) in FUNCTIONS {
        let role_name = n.role(suffix);
        b.check("IAM role", &role_name, 64);
        let role_address = role(key);
        b.add(
            role_address.clone(),
            Spec::IamRole(r::iam_role::Spec {
                name: role_name.clone(),
                description: format!(
                    "secauto stack {stack} ({}): execution role of the {suffix} function",
                    n.region
                ),
                assume_role_policy: json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": {"Service": n.service("lambda")},
                        "Action": "sts:AssumeRole",
                        // Confused-deputy protection: Lambda assumes the role only for this account.
                        "Condition": {"StringEquals": {"aws:SourceAccount": n.account}},
                    }],
                }),
            }),
            &[],
        );
        b.add(
            format!("iam_role_policy_attachment.{key}_basic"),
            Spec::IamRolePolicyAttachment(r::iam_role_policy_attachment::Spec {
                role: role_name.clone(),
                policy_arn: n.managed_policy_arn("service-role/AWSLambdaBasicExecutionRole"),
            }),
            &[role_address.as_str()],
        );
        let policy_name = n.policy(suffix);
        b.check("IAM policy", &policy_name, 128);
        let policy_arn = n.policy_arn(suffix);
        let policy_address = format!("iam_policy.{key}");
        b.add(
            policy_address.clone(),
            Spec::IamPolicy(r::iam_policy::Spec {
                name: policy_name,
                arn: policy_arn.clone(),
                description: format!(
                    "secauto stack {stack} ({}): what the {suffix} function may do",
                    n.region
                ),
                document: function_policy(s, key),
            }),
            // The ARNs it names are computed, and IAM does not ask that they exist: the policy
            // waits for nothing (and the functions, which wait for it, not for a topic round).
            &[],
        );
        b.add(
            format!("iam_role_policy_attachment.{key}"),
            Spec::IamRolePolicyAttachment(r::iam_role_policy_attachment::Spec {
                role: role_name,
                policy_arn,
            }),
            &[role_address.as_str(), policy_address.as_str()],
        );
    }

    add_automation_role(b, s);

    match &s.key {
        KeyChoice::Stack => {
            let alias = n.key_alias();
            b.check("KMS alias", &alias, 256);
            b.add(
                KEY,
                Spec::KmsKey(r::kms_key::Spec {
                    alias,
                    description: format!(
                        "secauto stack {stack}: encrypts its notifications topic and its functions' environment"
                    ),
                    policy: key_policy(s),
                }),
                &FUNCTIONS.iter().map(|(k, _)| role(k)).collect::<Vec<_>>().iter().map(String::as_str).collect::<Vec<_>>(),
            );
        }
        KeyChoice::AwsManaged => b.warnings.push(format!(
            "[notifications] kms_key = \"{}\": CloudWatch alarms and EventBridge cannot publish to a topic under the AWS-managed key, so alarm notifications will not arrive; remove kms_key to use the stack's own key",
            super::AWS_MANAGED_SNS_KEY
        )),
        KeyChoice::User(_) => {}
    }
}

/// The role the isolation automation runs as (SSM's `AutomationAssumeRole`): trusted by Systems
/// Manager only for this account's automation executions, allowed exactly what the document does.
pub(super) fn add_automation_role(b: &mut Builder, s: &Shared) {
    let n = &s.n;
    let stack = n.stack.as_str();
    let name = n.role("automation");
    b.check("IAM role", &name, 64);
    b.add(
        AUTOMATION_ROLE,
        Spec::IamRole(r::iam_role::Spec {
            name: name.clone(),
            description: format!(
                "secauto stack {stack} ({}): the isolation automation (snapshots, tag, stop)",
                n.region
            ),
            assume_role_policy: json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": n.service("ssm")},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": n.account},
                        "ArnLike": {"aws:SourceArn": format!("arn:{}:ssm:*:{}:automation-execution/*", n.partition, n.account)},
                    },
                }],
            }),
        }),
        &[],
    );
    let policy = n.policy("isolation");
    b.check("IAM policy", &policy, 128);
    let p = n.partition.as_str();
    b.add(
        "iam_policy.isolation",
        Spec::IamPolicy(r::iam_policy::Spec {
            name: policy,
            arn: n.policy_arn("isolation"),
            description: format!(
                "secauto stack {stack} ({}): what the isolation automation does",
                n.region
            ),
            document: json!({
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "Read", "Effect": "Allow",
                     "Action": ["ec2:DescribeVolumes", "ec2:DescribeInstances", "ec2:DescribeInstanceStatus"],
                     "Resource": "*"},
                    {"Sid": "Snapshot", "Effect": "Allow", "Action": "ec2:CreateSnapshot",
                     "Resource": [n.arn("ec2", "volume/*"), format!("arn:{p}:ec2:{}::snapshot/*", n.region)]},
                    {"Sid": "Tag", "Effect": "Allow", "Action": "ec2:CreateTags",
                     "Resource": [n.arn("ec2", "instance/*"), format!("arn:{p}:ec2:{}::snapshot/*", n.region)]},
                    {"Sid": "Stop", "Effect": "Allow", "Action": "ec2:StopInstances",
                     "Resource": n.arn("ec2", "instance/*")},
                ],
            }),
        }),
        &[],
    );
    b.add(
        "iam_role_policy_attachment.isolation",
        Spec::IamRolePolicyAttachment(r::iam_role_policy_attachment::Spec {
            role: name,
            policy_arn: n.policy_arn("isolation"),
        }),
        &[AUTOMATION_ROLE, "iam_policy.isolation"],
    );
}

/// The key policy: the account administers it (so IAM policies apply); CloudWatch alarms and
/// EventBridge may encrypt messages to the topic; the functions may publish and read their
/// environment.
fn key_policy(s: &Shared) -> Value {
    let n = &s.n;
    let use_key = json!(["kms:Decrypt", "kms:GenerateDataKey*"]);
    json!({
        "Version": "2012-10-17",
        "Id": "secauto",
        "Statement": [
            {"Sid": "AccountAdministers", "Effect": "Allow",
             "Principal": {"AWS": format!("arn:{}:iam::{}:root", n.partition, n.account)},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "AlarmsNotify", "Effect": "Allow",
             "Principal": {"Service": n.service("cloudwatch")},
             "Action": use_key, "Resource": "*"},
            {"Sid": "EventsDeliver", "Effect": "Allow",
             "Principal": {"Service": n.service("events")},
             "Action": use_key, "Resource": "*"},
            {"Sid": "FunctionsUse", "Effect": "Allow",
             "Principal": {"AWS": FUNCTIONS.iter().map(|(_, suffix)| n.role_arn(suffix)).collect::<Vec<_>>()},
             "Action": use_key, "Resource": "*"},
        ],
    })
}

/// The functions' use of the key, in their IAM policy: by alias where the key is named by one
/// (`kms:ResourceAliases`), else by its ARN.
fn key_statement(s: &Shared) -> Option<Value> {
    let n = &s.n;
    let key = s.key_ref.as_deref()?;
    let actions = json!(["kms:Decrypt", "kms:GenerateDataKey*"]);
    Some(if key.starts_with("alias/") {
        json!({"Sid": "UseStackKey", "Effect": "Allow", "Action": actions,
               "Resource": n.arn("kms", "key/*"),
               "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": key}}})
    } else if key.starts_with("arn:") {
        json!({"Sid": "UseStackKey", "Effect": "Allow", "Action": actions, "Resource": key})
    } else {
        json!({"Sid": "UseStackKey", "Effect": "Allow", "Action": actions,
               "Resource": n.arn("kms", &format!("key/{key}"))})
    })
}

/// What remediation does to resources, in the account and region of `n`: the remediation function's
/// own policy, and a member stack's remediation role. Generated from the calls each action declares
/// (`secauto_core::calls`); `quarantine`: the isolation automation too.
pub(super) fn remediation_statements(n: &super::Names, quarantine: bool) -> Vec<Value> {
    use secauto_core::calls::{grants, Scope, DEACTIVATED_KEY_TAG_PREFIX};
    use secauto_core::Action;
    let p = n.partition.as_str();
    let actions: Vec<Action> = Action::ALL
        .into_iter()
        .filter(|a| quarantine || *a != Action::QuarantineInstance)
        .collect();
    let mut statements: Vec<Value> = grants(&actions)
        .into_iter()
        .map(|(scope, granted)| {
            let (sid, resource) = match scope {
                Scope::Any => ("Describe", json!("*")),
                Scope::Ec2 => ("RemediateEc2", json!(n.arn("ec2", "*"))),
                Scope::OwnGroup => ("OpenOwnGroups", json!(n.arn("ec2", "security-group/*"))),
                Scope::Snapshot => (
                    "Snapshot",
                    json!(format!("arn:{p}:ec2:{}::snapshot/*", n.region)),
                ),
                Scope::AutoScalingGroup => (
                    "KeepEvidence",
                    json!(n.arn("autoscaling", "autoScalingGroup:*")),
                ),
                Scope::Bucket => ("RemediateS3", json!(format!("arn:{p}:s3:::*"))),
                Scope::IsolationDocument => (
                    "StartIsolation",
                    json!(n.arn("ssm", &format!("automation-definition/{}:*", n.document()))),
                ),
                Scope::AutomationExecution => (
                    "WatchIsolation",
                    json!(n.arn("ssm", "automation-execution/*")),
                ),
                Scope::AutomationRole => ("PassIsolationRole", json!(n.role_arn("automation"))),
                // EBS encryption by default has no resource-level permission.
                Scope::AccountSettings => ("AccountSettings", json!("*")),
                Scope::Topic => ("RemediateTopics", json!(n.arn("sns", "*"))),
                Scope::Document => ("RemediateDocuments", json!(n.arn("ssm", "document/*"))),
                Scope::Key => ("RemediateKeys", json!(n.arn("kms", "key/*"))),
                Scope::Queue => ("RemediateQueues", json!(n.arn("sqs", "*"))),
                Scope::Function => ("RemediateFunctions", json!(n.arn("lambda", "function:*"))),
                Scope::PublicSharingSetting => (
                    "DocumentSharingSetting",
                    json!(n.arn(
                        "ssm",
                        "servicesetting/ssm/documents/console/public-sharing-permission"
                    )),
                ),
                Scope::User => ("RemediateUsers", json!(n.global_arn("iam", "user/*"))),
                Scope::UserRecordTags => ("RecordOnUsers", json!(n.global_arn("iam", "user/*"))),
                // A multi-region trail is changed in its home region only.
                Scope::Trail => (
                    "RemediateTrails",
                    json!(format!("arn:{p}:cloudtrail:*:{}:trail/*", n.account)),
                ),
            };
            let mut statement =
                json!({"Sid": sid, "Effect": "Allow", "Action": granted, "Resource": resource});
            if scope == Scope::AutomationRole {
                statement["Condition"] =
                    json!({"StringEquals": {"iam:PassedToService": n.service("ssm")}});
            }
            if scope == Scope::UserRecordTags {
                // Only the record tags of deactivated keys: never a tag a policy tests.
                statement["Condition"] = json!({"ForAllValues:StringLike":
                    {"aws:TagKeys": [format!("{DEACTIVATED_KEY_TAG_PREFIX}*")]}});
            }
            if scope == Scope::OwnGroup {
                // Only the groups isolation made may be opened (the all-traffic group).
                statement["Condition"] =
                    json!({"StringEquals": {"aws:ResourceTag/secauto:quarantine": "true"}});
            }
            statement
        })
        .collect();
    // CreateSecurityGroup also authorizes on the VPC, whose ARN names the VPC's owner: in a
    // shared VPC (AWS RAM) that is another account, so any account's VPC in this region.
    if statements.iter().any(|s| {
        s["Action"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "ec2:CreateSecurityGroup"))
    }) {
        statements.push(json!({"Sid": "GroupsInSharedVpcs", "Effect": "Allow",
            "Action": "ec2:CreateSecurityGroup",
            "Resource": format!("arn:{p}:ec2:{}:*:vpc/*", n.region)}));
    }
    // The tag that lets a group be opened is put only by CreateSecurityGroup itself: the role can
    // never tag someone's group into one it may open.
    statements.push(
        json!({"Sid": "TagIsolationGroupsOnlyAtCreation", "Effect": "Deny",
        "Action": "ec2:CreateTags", "Resource": "*",
        "Condition": {
            // IAM matches the Allow's aws:ResourceTag/<key> whatever the key's case: so must this.
            "ForAnyValue:StringEqualsIgnoreCase": {"aws:TagKeys": ["secauto:quarantine"]},
            "StringNotEquals": {"ec2:CreateAction": "CreateSecurityGroup"}
        }}),
    );
    statements
}

/// Least privilege, per function: only the actions it calls, on the stack's own ARNs wherever the
/// action supports resource-level permissions.
fn function_policy(s: &Shared, key: &str) -> Value {
    let n = &s.n;
    let p = n.partition.as_str();
    // Security Hub CSPM's hub, and today's Security Hub (`hubv2/<id>`): AWS's API reference says
    // GetFindingsV2 is authorized by `securityhub:GetFindings` and BatchUpdateFindingsV2 by
    // `securityhub:BatchUpdateFindings` (there are no separate V2 actions), so the same two
    // actions serve both formats, on both hubs of the stack's account and region.
    let hub = json!([
        n.arn("securityhub", "hub/default"),
        n.arn("securityhub", "hubv2/*")
    ]);
    // Every function may send to its dead-letter queue and use the stack's key.
    let mut statements = vec![json!({"Sid": "DeadLetter", "Effect": "Allow",
        "Action": "sqs:SendMessage", "Resource": n.queue_arn()})];
    statements.extend(key_statement(s));
    if key != "error_handler" {
        statements.push(json!({"Sid": "OnFailureDestination", "Effect": "Allow",
            "Action": "lambda:InvokeFunction", "Resource": n.function_arn("error-handler")}));
    }
    match key {
        "triage" => statements.extend([
            json!({"Sid": "EmitResponseEvents", "Effect": "Allow", "Action": "events:PutEvents",
                   "Resource": n.bus_arn()}),
            json!({"Sid": "MarkFindings", "Effect": "Allow",
                   "Action": "securityhub:BatchUpdateFindings", "Resource": hub}),
        ]),
        "remediation" => {
            statements.extend([
                json!({"Sid": "Notify", "Effect": "Allow", "Action": "sns:Publish", "Resource": n.topic_arn()}),
                json!({"Sid": "ReadAndRecordFindings", "Effect": "Allow",
                       "Action": ["securityhub:GetFindings", "securityhub:BatchUpdateFindings"],
                       "Resource": hub}),
            ]);
            statements.extend(remediation_statements(n, true));
            // One run at a time per resource: claims are parameters made only if absent, in the
            // stack's own account and region (handlers/lambda/src/claim.rs).
            let claims = secauto_core::names::claims_path(&n.stack);
            statements.push(json!({"Sid": "ClaimResources", "Effect": "Allow",
                "Action": ["ssm:PutParameter", "ssm:GetParameter", "ssm:DeleteParameter"],
                "Resource": n.arn("ssm", &format!("parameter{claims}*"))}));
            if let super::Part::Administrator(fleet) = s.part {
                statements.push(json!({"Sid": "ActInMembers", "Effect": "Allow", "Action": "sts:AssumeRole",
                    "Resource": format!("arn:{p}:iam::*:role/{}", secauto_core::fleet::member_role_name(&n.stack, "*")),
                    "Condition": {"StringEquals": {"aws:ResourceAccount": fleet.coverage.accounts.keys().collect::<Vec<_>>()}}}));
            }
        }
        // notification and the error handler only publish.
        _ => statements.push(
            json!({"Sid": "Notify", "Effect": "Allow", "Action": "sns:Publish",
                                    "Resource": n.topic_arn()}),
        ),
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}
