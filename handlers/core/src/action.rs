//! What triage may decide for a finding: the remediations, notify-only and ignore.

use serde::{Deserialize, Serialize};

/// What to do about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Swap the instance's security groups for an empty quarantine group, tag it, snapshot its volumes.
    IsolateInstance,
    /// Isolate, then stop the instance.
    QuarantineInstance,
    /// Revoke the security group's ingress rules open to 0.0.0.0/0 or ::/0.
    BlockNetwork,
    /// Revoke world-open ingress to admin ports (22, 3389) and all-port rules.
    FixSecurityGroup,
    /// Turn on default encryption and the public access block of the bucket.
    EnableBucketEncryption,
    /// Turn on the four public access blocks of the bucket (S3.2, S3.3, S3.8).
    BlockBucketPublicAccess,
    /// Add a statement denying requests without TLS to the bucket's policy (S3.5).
    RequireBucketTls,
    /// Revoke every rule of a VPC's default security group (EC2.2).
    CloseDefaultSecurityGroup,
    /// Turn on EBS encryption by default in the account and region (EC2.7).
    EnableEbsDefaultEncryption,
    /// Require IMDSv2 (session tokens) on the instance (EC2.8).
    RequireImdsv2,
    /// Stop sharing the account's EBS snapshots with everyone (EC2.1).
    MakeSnapshotsPrivate,
    /// Stop a subnet assigning public IPv4 addresses at launch (EC2.15).
    DisableSubnetPublicIp,
    /// Revoke world-open ingress to any port but 80 and 443 (EC2.18).
    RestrictUnauthorizedPorts,
    /// Revoke world-open ingress to the ports EC2.19 calls high-risk.
    CloseHighRiskPorts,
    /// Stop a transit gateway accepting shared attachments by itself (EC2.23).
    DisableTgwAutoAccept,
    /// Give a bucket without one a lifecycle configuration (S3.13).
    SetBucketLifecycle,
    /// Encrypt an SNS topic with SNS's AWS managed key (SNS.1).
    EncryptTopic,
    /// Stop sharing a Systems Manager document with everyone (SSM.4).
    MakeDocumentPrivate,
    /// Turn on automatic rotation of a customer managed KMS key (KMS.4).
    EnableKeyRotation,
    /// Turn on SSE-SQS for a queue (SQS.1).
    EncryptQueue,
    /// Remove the statements of a function's policy that let anyone invoke it (Lambda.1).
    RemovePublicFunctionAccess,
    /// Raise the account's IAM password policy to the CIS benchmark (IAM.7, IAM.11–17).
    StrengthenPasswordPolicy,
    /// Block public sharing of Systems Manager documents in the account's region (SSM.7).
    BlockPublicDocumentSharing,
    /// Deactivate an IAM user's active access keys older than the control's age (IAM.3).
    DeactivateOldAccessKeys,
    /// Deactivate an IAM user's active access keys unused for the control's age (IAM.8, IAM.22).
    DeactivateUnusedAccessKeys,
    /// Turn on log file validation of a CloudTrail trail, in its home region (CloudTrail.4).
    EnableLogFileValidation,
    /// In a rule only: the catalogue's remediation of the finding's control
    /// ([`crate::controls::CATALOGUE`]); triage decides the concrete action.
    RemediateControl,
    /// Only notify.
    NotifyOnly,
    /// Do nothing.
    Ignore,
}

impl Action {
    /// Every action a decision can carry (`remediate-control` is resolved before).
    pub const ALL: [Action; 28] = [
        Action::IsolateInstance,
        Action::QuarantineInstance,
        Action::BlockNetwork,
        Action::FixSecurityGroup,
        Action::EnableBucketEncryption,
        Action::BlockBucketPublicAccess,
        Action::RequireBucketTls,
        Action::CloseDefaultSecurityGroup,
        Action::EnableEbsDefaultEncryption,
        Action::RequireImdsv2,
        Action::MakeSnapshotsPrivate,
        Action::DisableSubnetPublicIp,
        Action::RestrictUnauthorizedPorts,
        Action::CloseHighRiskPorts,
        Action::DisableTgwAutoAccept,
        Action::SetBucketLifecycle,
        Action::EncryptTopic,
        Action::MakeDocumentPrivate,
        Action::EnableKeyRotation,
        Action::EncryptQueue,
        Action::RemovePublicFunctionAccess,
        Action::StrengthenPasswordPolicy,
        Action::BlockPublicDocumentSharing,
        Action::DeactivateOldAccessKeys,
        Action::DeactivateUnusedAccessKeys,
        Action::EnableLogFileValidation,
        Action::NotifyOnly,
        Action::Ignore,
    ];

    /// The action's name in the config and in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::IsolateInstance => "isolate-instance",
            Action::QuarantineInstance => "quarantine-instance",
            Action::BlockNetwork => "block-network",
            Action::FixSecurityGroup => "fix-security-group",
            Action::EnableBucketEncryption => "enable-bucket-encryption",
            Action::BlockBucketPublicAccess => "block-bucket-public-access",
            Action::RequireBucketTls => "require-bucket-tls",
            Action::CloseDefaultSecurityGroup => "close-default-security-group",
            Action::EnableEbsDefaultEncryption => "enable-ebs-default-encryption",
            Action::RequireImdsv2 => "require-imdsv2",
            Action::MakeSnapshotsPrivate => "make-snapshots-private",
            Action::DisableSubnetPublicIp => "disable-subnet-public-ip",
            Action::RestrictUnauthorizedPorts => "restrict-unauthorized-ports",
            Action::CloseHighRiskPorts => "close-high-risk-ports",
            Action::DisableTgwAutoAccept => "disable-tgw-auto-accept",
            Action::SetBucketLifecycle => "set-bucket-lifecycle",
            Action::EncryptTopic => "encrypt-topic",
            Action::MakeDocumentPrivate => "make-document-private",
            Action::EnableKeyRotation => "enable-key-rotation",
            Action::EncryptQueue => "encrypt-queue",
            Action::RemovePublicFunctionAccess => "remove-public-function-access",
            Action::StrengthenPasswordPolicy => "strengthen-password-policy",
            Action::BlockPublicDocumentSharing => "block-public-document-sharing",
            Action::DeactivateOldAccessKeys => "deactivate-old-access-keys",
            Action::DeactivateUnusedAccessKeys => "deactivate-unused-access-keys",
            Action::EnableLogFileValidation => "enable-log-file-validation",
            Action::RemediateControl => "remediate-control",
            Action::NotifyOnly => "notify-only",
            Action::Ignore => "ignore",
        }
    }

    /// The resource type this action works on, if it changes a resource.
    pub fn resource_type(self) -> Option<&'static str> {
        match self {
            Action::IsolateInstance | Action::QuarantineInstance | Action::RequireImdsv2 => {
                Some("AwsEc2Instance")
            }
            Action::BlockNetwork
            | Action::FixSecurityGroup
            | Action::CloseDefaultSecurityGroup
            | Action::RestrictUnauthorizedPorts
            | Action::CloseHighRiskPorts => Some("AwsEc2SecurityGroup"),
            Action::EnableBucketEncryption
            | Action::BlockBucketPublicAccess
            | Action::RequireBucketTls
            | Action::SetBucketLifecycle => Some("AwsS3Bucket"),
            Action::EnableEbsDefaultEncryption
            | Action::MakeSnapshotsPrivate
            | Action::StrengthenPasswordPolicy
            | Action::BlockPublicDocumentSharing => Some("AwsAccount"),
            Action::EncryptTopic => Some("AwsSnsTopic"),
            Action::MakeDocumentPrivate => Some("AwsSsmDocument"),
            Action::EnableKeyRotation => Some("AwsKmsKey"),
            Action::EncryptQueue => Some("AwsSqsQueue"),
            Action::RemovePublicFunctionAccess => Some("AwsLambdaFunction"),
            Action::DisableSubnetPublicIp => Some("AwsEc2Subnet"),
            Action::DisableTgwAutoAccept => Some("AwsEc2TransitGateway"),
            Action::DeactivateOldAccessKeys | Action::DeactivateUnusedAccessKeys => {
                Some("AwsIamUser")
            }
            Action::EnableLogFileValidation => Some("AwsCloudTrailTrail"),
            Action::RemediateControl | Action::NotifyOnly | Action::Ignore => None,
        }
    }

    /// True when the action changes resources (a rule's `remediate-control` resolves to one).
    pub fn remediates(self) -> bool {
        self.resource_type().is_some() || self == Action::RemediateControl
    }

    /// True when triage sends the finding on (everything but `ignore`).
    pub fn is_actionable(self) -> bool {
        self != Action::Ignore
    }
}
