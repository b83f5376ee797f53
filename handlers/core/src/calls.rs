//! The AWS calls each remediation may make, declared once: the remediation role's policy (and a
//! fleet member's) is generated from these declarations, and a test runs every path of every action
//! on the emulator, recording each call, and fails on a call its action did not declare or a
//! declaration no path needed.

use crate::policy::Action;

/// The prefix of the tags on an IAM user that record the access keys secauto deactivated, one
/// tag per key (`secauto:deactivated-access-key:<key id>` = the day): the only tags the
/// remediation role may put on or remove from a user ([`Scope::UserRecordTags`]).
pub const DEACTIVATED_KEY_TAG_PREFIX: &str = "secauto:deactivated-access-key:";

/// What an IAM action is granted on, as the remediation role's policy scopes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Reads that support no resource-level permission (`Describe*`).
    Any,
    /// EC2 resources of the stack's account and region (instances, groups, interfaces, volumes).
    Ec2,
    /// Security groups isolation made (tagged `secauto:quarantine=true`) in the stack's account and
    /// region: the only groups it may open.
    OwnGroup,
    /// EBS snapshots of the region (their ARN has no account).
    Snapshot,
    /// Auto Scaling groups of the stack's account and region.
    AutoScalingGroup,
    /// S3 buckets (their ARN has no account or region).
    Bucket,
    /// The stack's isolation document.
    IsolationDocument,
    /// Automation executions of the stack's account and region.
    AutomationExecution,
    /// The role the isolation automation runs as, passed to Systems Manager only.
    AutomationRole,
    /// Settings of the account in a region that have no resource-level permission (EBS
    /// encryption by default, the IAM password policy).
    AccountSettings,
    /// SNS topics of the stack's account and region.
    Topic,
    /// Systems Manager documents of the stack's account and region.
    Document,
    /// KMS keys of the stack's account and region.
    Key,
    /// SQS queues of the stack's account and region.
    Queue,
    /// Lambda functions of the stack's account and region.
    Function,
    /// Systems Manager's block public sharing setting for documents, in the stack's account and
    /// region.
    PublicSharingSetting,
    /// IAM users of the stack's account (IAM is global: their ARN has no region).
    User,
    /// IAM users of the stack's account, for their tags: only secauto's record tags of the access
    /// keys it deactivated (`secauto:deactivated-access-key:*`) may be put or removed, so the role
    /// can never change a tag a policy tests (`aws:PrincipalTag`).
    UserRecordTags,
    /// CloudTrail trails of the stack's account in any region: a multi-region trail is changed
    /// only in its home region, which may not be the stack's.
    Trail,
}

/// One call a remediation may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// The SDK's operation, `service:Operation` (the service as the SDK names it).
    pub operation: &'static str,
    /// The IAM action it needs (the same name for every service but S3).
    pub iam: &'static str,
    pub scope: Scope,
}

const fn call(operation: &'static str, scope: Scope) -> Call {
    Call {
        operation,
        iam: operation,
        scope,
    }
}

/// Reading an instance and its interfaces: every instance action starts here.
const READ_INSTANCE: [Call; 2] = [
    call("ec2:DescribeInstances", Scope::Any),
    call("ec2:DescribeNetworkInterfaces", Scope::Any),
];

/// Network containment: the two groups of each interface's VPC, made and repaired (rules revoked by
/// rule id), the moves, the connection-tracking timeouts, and the tags that record and mark.
const CONTAIN: [Call; 9] = [
    call("ec2:DescribeSecurityGroups", Scope::Any),
    call("ec2:DescribeSecurityGroupRules", Scope::Any),
    call("ec2:CreateSecurityGroup", Scope::Ec2),
    call("ec2:RevokeSecurityGroupEgress", Scope::Ec2),
    call("ec2:AuthorizeSecurityGroupIngress", Scope::OwnGroup),
    call("ec2:AuthorizeSecurityGroupEgress", Scope::OwnGroup),
    call("ec2:ModifyNetworkInterfaceAttribute", Scope::Ec2),
    call("ec2:CreateTags", Scope::Ec2),
    call("ec2:RevokeSecurityGroupIngress", Scope::Ec2),
];

/// Keeping the instance as evidence: out of its Auto Scaling group, protected from termination,
/// stopping (not terminating) on a shutdown from inside.
const EVIDENCE: [Call; 5] = [
    call("autoscaling:DescribeAutoScalingInstances", Scope::Any),
    call("autoscaling:DescribeAutoScalingGroups", Scope::Any),
    call("ec2:DescribeInstanceAttribute", Scope::Any),
    call("autoscaling:DetachInstances", Scope::AutoScalingGroup),
    call("ec2:ModifyInstanceAttribute", Scope::Ec2),
];

/// CreateSnapshot is authorized on the volume (an ARN of the account) and on the new snapshot,
/// and tagging it at creation needs `ec2:CreateTags` on the snapshot too (EC2 authorizes
/// TagSpecifications as CreateTags on the new resource; a snapshot's ARN has no account).
const SNAPSHOTS: [Call; 4] = [
    call("ec2:DescribeSnapshots", Scope::Any),
    call("ec2:CreateSnapshot", Scope::Ec2),
    call("ec2:CreateSnapshot", Scope::Snapshot),
    Call {
        operation: "ec2:CreateSnapshot",
        iam: "ec2:CreateTags",
        scope: Scope::Snapshot,
    },
];

/// The automation that stops the instance, after a read of whether a stop would destroy
/// evidence (instance-store volumes) or cannot happen (Spot).
const AUTOMATION: [Call; 4] = [
    call("ec2:DescribeInstanceTypes", Scope::Any),
    call("ssm:StartAutomationExecution", Scope::IsolationDocument),
    call("ssm:GetAutomationExecution", Scope::AutomationExecution),
    Call {
        operation: "ssm:StartAutomationExecution",
        iam: "iam:PassRole",
        scope: Scope::AutomationRole,
    },
];

/// World-open ingress: the group and what uses it read (protection covers the instances behind
/// it), its record tagged, the rules revoked by rule id.
const GROUP: [Call; 6] = [
    call("ec2:DescribeSecurityGroups", Scope::Any),
    call("ec2:DescribeSecurityGroupRules", Scope::Any),
    call("ec2:DescribeNetworkInterfaces", Scope::Any),
    call("ec2:DescribeInstances", Scope::Any),
    call("ec2:CreateTags", Scope::Ec2),
    call("ec2:RevokeSecurityGroupIngress", Scope::Ec2),
];

/// Bucket encryption: read, the record written in the bucket's tags, the two settings put.
const BUCKET: [Call; 6] = [
    call("s3:GetBucketTagging", Scope::Bucket),
    call("s3:PutBucketTagging", Scope::Bucket),
    Call {
        operation: "s3:GetBucketEncryption",
        iam: "s3:GetEncryptionConfiguration",
        scope: Scope::Bucket,
    },
    Call {
        operation: "s3:PutBucketEncryption",
        iam: "s3:PutEncryptionConfiguration",
        scope: Scope::Bucket,
    },
    Call {
        operation: "s3:GetPublicAccessBlock",
        iam: "s3:GetBucketPublicAccessBlock",
        scope: Scope::Bucket,
    },
    Call {
        operation: "s3:PutPublicAccessBlock",
        iam: "s3:PutBucketPublicAccessBlock",
        scope: Scope::Bucket,
    },
];

/// An S3 operation whose IAM action is named differently.
const fn s3(operation: &'static str, iam: &'static str) -> Call {
    Call {
        operation,
        iam,
        scope: Scope::Bucket,
    }
}

/// A bucket's public access block: its tags read (protection) and written (the record), whether it
/// serves a website (never blocked), the block read and put.
const BUCKET_BLOCK: [Call; 5] = [
    call("s3:GetBucketTagging", Scope::Bucket),
    call("s3:PutBucketTagging", Scope::Bucket),
    call("s3:GetBucketWebsite", Scope::Bucket),
    s3("s3:GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
    s3("s3:PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
];

/// A bucket's policy: its tags, whether it serves a website over HTTP, the policy read and put.
const BUCKET_TLS: [Call; 5] = [
    call("s3:GetBucketTagging", Scope::Bucket),
    call("s3:PutBucketTagging", Scope::Bucket),
    call("s3:GetBucketWebsite", Scope::Bucket),
    call("s3:GetBucketPolicy", Scope::Bucket),
    call("s3:PutBucketPolicy", Scope::Bucket),
];

/// A VPC's default group: read with what uses it (protection covers the instances behind it), each
/// rule recorded in a tag, every rule revoked by rule id.
const DEFAULT_GROUP: [Call; 7] = [
    call("ec2:DescribeSecurityGroups", Scope::Any),
    call("ec2:DescribeSecurityGroupRules", Scope::Any),
    call("ec2:DescribeNetworkInterfaces", Scope::Any),
    call("ec2:DescribeInstances", Scope::Any),
    call("ec2:CreateTags", Scope::Ec2),
    call("ec2:RevokeSecurityGroupIngress", Scope::Ec2),
    call("ec2:RevokeSecurityGroupEgress", Scope::Ec2),
];

/// EBS encryption by default of the account in the region, read and turned on.
const EBS_DEFAULT: [Call; 2] = [
    call("ec2:GetEbsEncryptionByDefault", Scope::AccountSettings),
    call("ec2:EnableEbsEncryptionByDefault", Scope::AccountSettings),
];

/// IMDSv2: the instance read, its `HttpTokens` recorded in a tag, the metadata options changed.
const IMDS: [Call; 3] = [
    call("ec2:DescribeInstances", Scope::Any),
    call("ec2:CreateTags", Scope::Ec2),
    call("ec2:ModifyInstanceMetadataOptions", Scope::Ec2),
];

/// EC2.1: the account's snapshots restorable by everyone read, each one's record tagged on it
/// (a snapshot's ARN has no account), its `createVolumePermission` for `all` removed.
const PUBLIC_SNAPSHOTS: [Call; 4] = [
    call("ec2:DescribeSnapshots", Scope::Any),
    call("ec2:DescribeSnapshotAttribute", Scope::Any),
    call("ec2:CreateTags", Scope::Snapshot),
    call("ec2:ModifySnapshotAttribute", Scope::Snapshot),
];

/// EC2.15: the subnet read, its setting recorded in a tag, the attribute changed.
const SUBNET: [Call; 3] = [
    call("ec2:DescribeSubnets", Scope::Any),
    call("ec2:CreateTags", Scope::Ec2),
    call("ec2:ModifySubnetAttribute", Scope::Ec2),
];

/// EC2.23: the transit gateway read, its setting recorded in a tag, its options changed.
const TRANSIT_GATEWAY: [Call; 3] = [
    call("ec2:DescribeTransitGateways", Scope::Any),
    call("ec2:CreateTags", Scope::Ec2),
    call("ec2:ModifyTransitGateway", Scope::Ec2),
];

/// S3.13: the bucket's tags (protection, record), its lifecycle configuration read and put.
const BUCKET_LIFECYCLE: [Call; 4] = [
    call("s3:GetBucketTagging", Scope::Bucket),
    call("s3:PutBucketTagging", Scope::Bucket),
    s3(
        "s3:GetBucketLifecycleConfiguration",
        "s3:GetLifecycleConfiguration",
    ),
    s3(
        "s3:PutBucketLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
    ),
];

/// SNS.1: the topic's attributes and tags read, the record tagged, the key set.
const TOPIC: [Call; 4] = [
    call("sns:GetTopicAttributes", Scope::Topic),
    call("sns:ListTagsForResource", Scope::Topic),
    call("sns:TagResource", Scope::Topic),
    call("sns:SetTopicAttributes", Scope::Topic),
];

/// SSM.4: the document's sharing and tags read, the record tagged, `All` removed.
const DOCUMENT: [Call; 4] = [
    call("ssm:DescribeDocumentPermission", Scope::Document),
    call("ssm:ListTagsForResource", Scope::Document),
    call("ssm:AddTagsToResource", Scope::Document),
    call("ssm:ModifyDocumentPermission", Scope::Document),
];

/// KMS.4: the key and its rotation read, its tags (protection), rotation turned on.
const KEY: [Call; 4] = [
    call("kms:DescribeKey", Scope::Key),
    call("kms:ListResourceTags", Scope::Key),
    call("kms:GetKeyRotationStatus", Scope::Key),
    call("kms:EnableKeyRotation", Scope::Key),
];

/// SQS.1: the queue found by name, its attributes and tags read, the record tagged, SSE-SQS on.
const QUEUE: [Call; 5] = [
    call("sqs:GetQueueUrl", Scope::Queue),
    call("sqs:GetQueueAttributes", Scope::Queue),
    call("sqs:ListQueueTags", Scope::Queue),
    call("sqs:TagQueue", Scope::Queue),
    call("sqs:SetQueueAttributes", Scope::Queue),
];

/// Lambda.1: the function's policy and tags read, public statements removed.
const FUNCTION: [Call; 3] = [
    call("lambda:GetPolicy", Scope::Function),
    call("lambda:ListTags", Scope::Function),
    call("lambda:RemovePermission", Scope::Function),
];

/// IAM.7, IAM.11–17: the account's password policy, read and put (no resource-level permission).
const PASSWORD_POLICY: [Call; 2] = [
    call("iam:GetAccountPasswordPolicy", Scope::AccountSettings),
    call("iam:UpdateAccountPasswordPolicy", Scope::AccountSettings),
];

/// SSM.7: the account's block public sharing setting for documents, read and updated.
const PUBLIC_SHARING: [Call; 2] = [
    call("ssm:GetServiceSetting", Scope::PublicSharingSetting),
    call("ssm:UpdateServiceSetting", Scope::PublicSharingSetting),
];

/// IAM.3: the user read (its ARN, its tags for protection), its access keys listed, the record
/// tagged on it (records of keys since deleted untagged), old keys deactivated (never deleted).
const OLD_KEYS: [Call; 5] = [
    call("iam:GetUser", Scope::User),
    call("iam:ListAccessKeys", Scope::User),
    call("iam:TagUser", Scope::UserRecordTags),
    call("iam:UntagUser", Scope::UserRecordTags),
    call("iam:UpdateAccessKey", Scope::User),
];

/// IAM.8, IAM.22: as IAM.3, with when each key was last used and whether the user has a console
/// password (its last use is GetUser's), which is only reported, never deleted.
const UNUSED_KEYS: [Call; 7] = [
    call("iam:GetUser", Scope::User),
    call("iam:ListAccessKeys", Scope::User),
    call("iam:GetAccessKeyLastUsed", Scope::User),
    call("iam:GetLoginProfile", Scope::User),
    call("iam:TagUser", Scope::UserRecordTags),
    call("iam:UntagUser", Scope::UserRecordTags),
    call("iam:UpdateAccessKey", Scope::User),
];

/// CloudTrail.4: the trail and its tags read (in its home region), log file validation turned on.
const TRAIL: [Call; 3] = [
    call("cloudtrail:GetTrail", Scope::Trail),
    call("cloudtrail:ListTags", Scope::Trail),
    call("cloudtrail:UpdateTrail", Scope::Trail),
];

impl Action {
    /// Every call this action may make on the resources it remediates (reading and recording the
    /// finding and publishing the outcome are the function's own, common to all).
    pub fn calls(self) -> Vec<Call> {
        let parts: &[&[Call]] = match self {
            Action::IsolateInstance => &[&READ_INSTANCE, &CONTAIN, &EVIDENCE, &SNAPSHOTS],
            Action::QuarantineInstance => {
                &[&READ_INSTANCE, &CONTAIN, &EVIDENCE, &SNAPSHOTS, &AUTOMATION]
            }
            Action::BlockNetwork
            | Action::FixSecurityGroup
            | Action::RestrictUnauthorizedPorts
            | Action::CloseHighRiskPorts => &[&GROUP],
            Action::EnableBucketEncryption => &[&BUCKET],
            Action::BlockBucketPublicAccess => &[&BUCKET_BLOCK],
            Action::RequireBucketTls => &[&BUCKET_TLS],
            Action::CloseDefaultSecurityGroup => &[&DEFAULT_GROUP],
            Action::EnableEbsDefaultEncryption => &[&EBS_DEFAULT],
            Action::RequireImdsv2 => &[&IMDS],
            Action::MakeSnapshotsPrivate => &[&PUBLIC_SNAPSHOTS],
            Action::DisableSubnetPublicIp => &[&SUBNET],
            Action::DisableTgwAutoAccept => &[&TRANSIT_GATEWAY],
            Action::SetBucketLifecycle => &[&BUCKET_LIFECYCLE],
            Action::EncryptTopic => &[&TOPIC],
            Action::MakeDocumentPrivate => &[&DOCUMENT],
            Action::EnableKeyRotation => &[&KEY],
            Action::EncryptQueue => &[&QUEUE],
            Action::RemovePublicFunctionAccess => &[&FUNCTION],
            Action::StrengthenPasswordPolicy => &[&PASSWORD_POLICY],
            Action::BlockPublicDocumentSharing => &[&PUBLIC_SHARING],
            Action::DeactivateOldAccessKeys => &[&OLD_KEYS],
            Action::DeactivateUnusedAccessKeys => &[&UNUSED_KEYS],
            Action::EnableLogFileValidation => &[&TRAIL],
            Action::RemediateControl | Action::NotifyOnly | Action::Ignore => &[],
        };
        let mut calls: Vec<Call> = Vec::new();
        for c in parts.iter().flat_map(|p| p.iter()) {
            if !calls.contains(c) {
                calls.push(*c);
            }
        }
        calls
    }
}

/// The IAM actions of `actions`, each with the scopes it is granted on, sorted and without repeats.
pub fn grants(actions: &[Action]) -> Vec<(Scope, Vec<&'static str>)> {
    let mut by_scope: std::collections::BTreeMap<Scope, std::collections::BTreeSet<&str>> =
        Default::default();
    for c in actions.iter().flat_map(|a| a.calls()) {
        by_scope.entry(c.scope).or_default().insert(c.iam);
    }
    by_scope
        .into_iter()
        .map(|(s, a)| (s, a.into_iter().collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_action_declares_calls_and_only_those_change_nothing() {
        for a in Action::ALL {
            assert_eq!(a.calls().is_empty(), a.resource_type().is_none(), "{a:?}");
        }
        let g = grants(&Action::ALL);
        let ec2 = g.iter().find(|(s, _)| *s == Scope::Ec2).unwrap();
        assert!(ec2.1.contains(&"ec2:ModifyNetworkInterfaceAttribute"));
        assert!(g
            .iter()
            .any(|(s, a)| *s == Scope::AutomationRole && a == &["iam:PassRole"]));
        // Opening a group (the all-traffic group) is granted only on isolation's own groups.
        for (scope, actions) in &g {
            if actions.iter().any(|a| a.starts_with("ec2:Authorize")) {
                assert_eq!(*scope, Scope::OwnGroup, "{actions:?}");
            }
        }
    }
}
