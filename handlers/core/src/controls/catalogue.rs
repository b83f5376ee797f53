//! The catalogue: for each Security Hub control secauto remediates, the action that fixes it, what
//! it does and never does, whether it is on by default, and how to undo it. The default policy's
//! `remediate-control` rule decides every catalogued control through this table, so in notify-only
//! mode each control finding says exactly what would be done; a rule with `controls` and
//! `mode = "enforce"` switches controls on one by one. The README's table is this one.
//!
//! "On by default" means the remediation follows `[remediation] mode`; an entry off by default
//! (where a fix could break a workload) stays notify-only under a rule without its own `mode`,
//! even when `[remediation] mode = "enforce"`.

use crate::action::Action;

/// One catalogued control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The security control id (`S3.8`).
    pub control: &'static str,
    /// Security Hub's title of the control.
    pub title: &'static str,
    /// The remediation.
    pub action: Action,
    /// What the remediation does.
    pub does: &'static str,
    /// What it never does.
    pub never: &'static str,
    /// On by default (follows `[remediation] mode`); off: notify-only unless a rule turns it on.
    pub on: bool,
    /// Why it is off by default, if it is.
    pub risk: &'static str,
    /// How to undo it.
    pub undo: &'static str,
}

const BLOCK_DOES: &str = "records the bucket's public access block in its tag `secauto:previous-public-access-block`, then turns on all four public access blocks of the bucket";
const BLOCK_NEVER: &str = "touches a bucket that serves a static website (its finding says so), objects, ACLs or the bucket policy";
const BLOCK_UNDO: &str = "put back the four flags the tag records (`aws s3api put-public-access-block`), or delete the block if it records `none`";

const PASSWORD_DOES: &str = "records the account password policy in the finding's note (a record too long for the note refuses the change), then raises it where weaker to the CIS benchmark: 14 characters, an uppercase letter, a lowercase letter, a symbol and a number required, 24 passwords remembered, expiry within 90 days";
const PASSWORD_NEVER: &str = "loosens a stricter setting, changes whether users may change their own passwords (with no policy before, they still may not: the API's default) or whether an expired password needs an administrator, or touches a user; resolves a FAILED IAM.7 finding whose control parameters may be stricter than the benchmark (it stays NOTIFIED, saying so)";
const PASSWORD_RISK: &str = "users whose passwords are older than 90 days must change them at their next sign-in (hard expiry stays as it was), and new passwords must meet the policy";
const PASSWORD_UNDO: &str = "`aws iam update-account-password-policy` with the values the note records (`aws iam delete-account-password-policy` if it records `none`)";

const UNUSED_DOES: &str = "deactivates (UpdateAccessKey `Status=Inactive`) each active access key of the IAM user not used for the control's days (IAM.8: 90, IAM.22: 45; a key never used counts from its creation), after recording their ids in the finding's note and in the user's tags, one per key (`secauto:deactivated-access-key:<id>`); a console password unused as long is named with the command that removes it, and the finding stays NOTIFIED";
const UNUSED_NEVER: &str = "deletes an access key, a login profile or a user; touches the root user, a user of another account, a key used within the control's days, or a protected user (tag or `[remediation] protected`)";
const UNUSED_RISK: &str = "whatever still signs with a deactivated key (a forgotten job, a rarely run script, another account's integration) is refused until the key is activated again";
const UNUSED_UNDO: &str = "`aws iam update-access-key --user-name … --access-key-id … --status Active` for each key the note or the tag records, then delete the tag";

/// Every catalogued control, by control id.
pub const CATALOGUE: &[Entry] = &[
    Entry {
        control: "EC2.2",
        title: "VPC default security groups should not allow inbound or outbound traffic",
        action: Action::CloseDefaultSecurityGroup,
        does: "records each rule of the VPC's default security group in a tag of its own (`secauto:revoked:…`), then revokes every inbound and outbound rule, each by its rule id",
        never: "touches any group but a VPC's `default` group, one another service's interfaces use, or one a protected instance or interface uses; or any instance or interface itself",
        on: false,
        risk: "instances still using the default group lose the traffic its rules allowed",
        undo: "authorize again each rule the group's `secauto:revoked:` tags name, then delete the tags",
    },
    Entry {
        control: "EC2.7",
        title: "EBS default encryption should be enabled",
        action: Action::EnableEbsDefaultEncryption,
        does: "turns on EBS encryption by default in the finding's account and region (new volumes are encrypted with the region's default EBS key); the record is the finding's note (it was off)",
        never: "encrypts or touches existing volumes or snapshots, or changes the default EBS key",
        on: false,
        risk: "instances of types without EBS encryption support (previous generations) can no longer be launched in the region",
        undo: "`aws ec2 disable-ebs-encryption-by-default` in that region",
    },
    Entry {
        control: "EC2.8",
        title: "EC2 instances should use Instance Metadata Service Version 2 (IMDSv2)",
        action: Action::RequireImdsv2,
        does: "records the instance's `HttpTokens` in its tag `secauto:previous-http-tokens`, then requires IMDSv2 session tokens (`HttpTokens=required`)",
        never: "turns the metadata service off, changes its hop limit, or stops or restarts the instance",
        on: false,
        risk: "software on the instance that reads metadata with IMDSv1 (old SDKs and agents) stops getting credentials",
        undo: "`aws ec2 modify-instance-metadata-options --instance-id i-… --http-tokens optional`, then delete the tag",
    },
    Entry {
        control: "EC2.1",
        title: "Amazon EBS snapshots should not be publicly restorable",
        action: Action::MakeSnapshotsPrivate,
        does: "finds the account's own snapshots restorable by everyone in the region, tags each `secauto:previous-create-volume-permission=all`, then removes the `all` group from its `createVolumePermission`",
        never: "deletes, copies or re-encrypts a snapshot, or removes the accounts it is shared with by id",
        on: false,
        risk: "anyone who restores a snapshot published on purpose (a public AMI's, a shared dataset) can no longer",
        undo: "`aws ec2 modify-snapshot-attribute --snapshot-id snap-… --attribute createVolumePermission --operation-type add --group-names all` for each tagged snapshot, then delete the tag",
    },
    Entry {
        control: "EC2.15",
        title: "Amazon EC2 subnets should not automatically assign public IP addresses",
        action: Action::DisableSubnetPublicIp,
        does: "records `secauto:previous-map-public-ip-on-launch=true` in the subnet's tags, then turns `MapPublicIpOnLaunch` off",
        never: "removes a public address from a running instance or an interface, or changes routes",
        on: false,
        risk: "instances launched later in a public subnet without asking for a public address get none, and lose the internet",
        undo: "`aws ec2 modify-subnet-attribute --subnet-id subnet-… --map-public-ip-on-launch`, then delete the tag",
    },
    Entry {
        control: "EC2.18",
        title: "Security groups should only allow unrestricted incoming traffic for authorized ports",
        action: Action::RestrictUnauthorizedPorts,
        does: "records each rule in a tag of its own, then revokes ingress open to 0.0.0.0/0 or ::/0 on any TCP or UDP port but the authorized ones: TCP 80 and 443 (the control's defaults), or the `authorizedTcpPorts`/`authorizedUdpPorts` the finding's parameters set",
        never: "revokes an authorized port, an ICMP or other non-TCP/UDP rule (the control checks TCP and UDP), rules open to narrower ranges or to other groups, or egress; touches a group another service's interfaces use (a load balancer's: the finding says so)",
        on: false,
        risk: "a service meant to be reached by anyone on another port (a game server, SMTP, a VPN endpoint) goes offline",
        undo: "authorize again each rule the group's `secauto:revoked:` tags name, then delete the tags",
    },
    Entry {
        control: "EC2.19",
        title: "Security groups should not allow unrestricted access to ports with high risk",
        action: Action::CloseHighRiskPorts,
        does: "records each rule in a tag of its own, then revokes ingress open to 0.0.0.0/0 or ::/0 that reaches a high-risk port (20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500, 5601, 8080, 8088, 8888, 9200, 9300) or every protocol",
        never: "revokes a TCP port range that also serves the web (80 or 443: `80-443` reaches 110, 135 and 143; the finding stays NOTIFIED saying so), rules open to narrower ranges or to other groups, rules reaching no high-risk port, or egress; touches a group another service's interfaces use (a load balancer's, an endpoint's: the finding says so)",
        on: false,
        risk: "a service meant to be public on a high-risk port (8080, 3000, 5000, SMTP on 25, FTP, POP3 or IMAP) goes offline, and so does a world-open all-ports rule (`0-65535`, which reaches 80 and 443 too); left off, nothing on by default revokes a world-open all-traffic or wide-range rule: EC2.13 and EC2.14 (on by default) revoke only rules opening SSH or RDP alone and report the wider ones",
        undo: "authorize again each rule the group's `secauto:revoked:` tags name, then delete the tags",
    },
    Entry {
        control: "EC2.23",
        title: "Amazon EC2 Transit Gateways should not automatically accept VPC attachment requests",
        action: Action::DisableTgwAutoAccept,
        does: "records `secauto:previous-auto-accept-shared-attachments=enable` in the transit gateway's tags, then turns `AutoAcceptSharedAttachments` off",
        never: "touches an existing attachment, a route table or another option",
        on: false,
        risk: "attachments other accounts request later wait for someone to accept them (automation that relied on auto-accept stalls)",
        undo: "`aws ec2 modify-transit-gateway --transit-gateway-id tgw-… --options AutoAcceptSharedAttachments=enable`, then delete the tag",
    },
    Entry {
        control: "EC2.13",
        title: "Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to port 22",
        action: Action::FixSecurityGroup,
        does: "records each rule in a tag of its own, then revokes each world-open TCP or UDP rule opening SSH (22) or RDP (3389) alone",
        never: "revokes rules open to narrower ranges or to other groups, or egress rules; revokes a rule opening SSH or RDP among more (every protocol, every port, a wider range): it is left and the finding stays NOTIFIED saying how to narrow it",
        on: true,
        risk: "",
        undo: "authorize again each rule the group's `secauto:revoked:` tags name, then delete the tags",
    },
    Entry {
        control: "EC2.14",
        title: "Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to port 3389",
        action: Action::FixSecurityGroup,
        does: "records each rule in a tag of its own, then revokes each world-open TCP or UDP rule opening SSH (22) or RDP (3389) alone",
        never: "revokes rules open to narrower ranges or to other groups, or egress rules; revokes a rule opening SSH or RDP among more (every protocol, every port, a wider range): it is left and the finding stays NOTIFIED saying how to narrow it",
        on: true,
        risk: "",
        undo: "authorize again each rule the group's `secauto:revoked:` tags name, then delete the tags",
    },
    Entry {
        control: "IAM.7",
        title: "Password policies for IAM users should have strong configurations",
        action: Action::StrengthenPasswordPolicy,
        does: PASSWORD_DOES,
        never: PASSWORD_NEVER,
        on: false,
        risk: PASSWORD_RISK,
        undo: PASSWORD_UNDO,
    },
    Entry {
        control: "IAM.11",
        title: "Ensure IAM password policy requires at least one uppercase letter",
        action: Action::StrengthenPasswordPolicy,
        does: PASSWORD_DOES,
        never: PASSWORD_NEVER,
        on: false,
        risk: PASSWORD_RISK,
        undo: PASSWORD_UNDO,
    },
    Entry {
        control: "IAM.12",
        title: "Ensure IAM password policy requires at least one lowercase letter",
        action: Action::StrengthenPasswordPolicy,
        does: PASSWORD_DOES,
        never: PASSWORD_NEVER,
        on: false,
        risk: PASSWORD_RISK,
        undo: PASSWORD_UNDO,
    },
    Entry {
        control: "IAM.13",
        title: "Ensure IAM password policy requires at least one symbol",
        action: Action::StrengthenPasswordPolicy,
        does: PASSWORD_DOES,
        never: PASSWORD_NEVER,
        on: false,
        risk: PASSWORD_RISK,
        undo: PASSWORD_UNDO,
    },
    Entry {
        control: "IAM.14",
        title: "Ensure IAM password policy requires at least one number",
        action: Action::StrengthenPasswordPolicy,
        does: PASSWORD_DOES,
        never: PASSWORD_NEVER,
        on: false,
        risk: PASSWORD_RISK,
        undo: PASSWORD_UNDO,
    },
    Entry {
        control: "IAM.15",
        title: "Ensure IAM password policy requires minimum password length of 14 or greater",
        action: Action::StrengthenPasswordPolicy,
        does: PASSWORD_DOES,
        never: PASSWORD_NEVER,
        on: false,
        risk: PASSWORD_RISK,
        undo: PASSWORD_UNDO,
    },
    Entry {
        control: "IAM.16",
        title: "Ensure IAM password policy prevents password reuse",
        action: Action::StrengthenPasswordPolicy,
        does: PASSWORD_DOES,
        never: PASSWORD_NEVER,
        on: false,
        risk: PASSWORD_RISK,
        undo: PASSWORD_UNDO,
    },
    Entry {
        control: "IAM.17",
        title: "Ensure IAM password policy expires passwords within 90 days or less",
        action: Action::StrengthenPasswordPolicy,
        does: PASSWORD_DOES,
        never: PASSWORD_NEVER,
        on: false,
        risk: PASSWORD_RISK,
        undo: PASSWORD_UNDO,
    },
    Entry {
        control: "IAM.3",
        title: "IAM users' access keys should be rotated every 90 days or less",
        action: Action::DeactivateOldAccessKeys,
        does: "deactivates (UpdateAccessKey `Status=Inactive`) each active access key of the IAM user created more than 90 days ago (the control's `maxAccessKeyAge` when the finding carries it), after recording their ids in the finding's note and in the user's tags, one per key (`secauto:deactivated-access-key:<id>`)",
        never: "deletes an access key or a user, creates a new key (rotation is the key owner's), touches the root user, a user of another account, a key younger than the age, or a protected user (tag or `[remediation] protected`)",
        on: false,
        risk: "whatever signs with the old key (an application, a CI job, a script) is refused until it gets a new key or the old one is activated again",
        undo: UNUSED_UNDO,
    },
    Entry {
        control: "IAM.8",
        title: "Unused IAM user credentials should be removed",
        action: Action::DeactivateUnusedAccessKeys,
        does: UNUSED_DOES,
        never: UNUSED_NEVER,
        on: false,
        risk: UNUSED_RISK,
        undo: UNUSED_UNDO,
    },
    Entry {
        control: "IAM.22",
        title: "IAM user credentials unused for 45 days should be removed",
        action: Action::DeactivateUnusedAccessKeys,
        does: UNUSED_DOES,
        never: UNUSED_NEVER,
        on: false,
        risk: UNUSED_RISK,
        undo: UNUSED_UNDO,
    },
    Entry {
        control: "CloudTrail.4",
        title: "CloudTrail log file integrity validation should be enabled",
        action: Action::EnableLogFileValidation,
        does: "turns on log file validation of the trail (UpdateTrail `EnableLogFileValidation`), in the trail's home region — the region its ARN names, where CloudTrail accepts changes to a multi-region trail seen from every region; the record (it was off) is the finding's note",
        never: "changes the trail's bucket, prefix, topic, key, regions or event selectors, starts or stops logging, or touches a trail of another account (an organization trail: change it in the management account)",
        on: true,
        risk: "",
        undo: "`aws cloudtrail update-trail --name <trail ARN> --no-enable-log-file-validation --region <its home region>`",
    },
    Entry {
        control: "KMS.4",
        title: "AWS KMS key rotation should be enabled",
        action: Action::EnableKeyRotation,
        does: "turns on automatic rotation of a customer managed symmetric encryption key (KMS's yearly default); the record (it was off) is the finding's note. Each rotation keeps the earlier key material, and KMS bills the first two rotations of a key as added monthly key cost",
        never: "touches an AWS managed, asymmetric, HMAC, imported or custom key store key, a multi-Region replica (its rotation is the primary's), or a key not enabled (the finding says why), or its policy or material",
        on: true,
        risk: "",
        undo: "`aws kms disable-key-rotation --key-id …`",
    },
    Entry {
        control: "Lambda.1",
        title: "Lambda function policies should prohibit public access",
        action: Action::RemovePublicFunctionAccess,
        does: "records in the finding's note the function policy's statements AWS Config counts as public — principal `*` (or a wildcard) with no fixed source or principal condition, or a service principal (`s3.amazonaws.com`) with no fixed `AWS:SourceAccount`/`AWS:SourceArn` (a wildcard narrows nothing) — then removes each (RemovePermission by statement id); a record too long for the note refuses the change",
        never: "removes a statement narrowed by a fixed source account, source ARN or organisation, or changes the function's code or configuration",
        on: false,
        risk: "callers relying on the open statement (a public function URL, a service invoking without a source condition) are refused",
        undo: "`aws lambda add-permission` with each statement the note records",
    },
    Entry {
        control: "SNS.1",
        title: "SNS topics should be encrypted at-rest using AWS KMS",
        action: Action::EncryptTopic,
        does: "records `secauto:previous-kms-key=none` in the topic's tags, then sets its `KmsMasterKeyId` to SNS's AWS managed key `alias/aws/sns`",
        never: "changes the topic's policy, subscriptions or delivery settings, or a key it already has",
        on: false,
        risk: "AWS services that publish to the topic (CloudWatch alarms, EventBridge, S3 events) and other accounts publishing to it cannot use the AWS managed key `alias/aws/sns` (its policy cannot be changed), and their messages are refused: give those topics a customer managed key instead",
        undo: "`aws sns set-topic-attributes --topic-arn … --attribute-name KmsMasterKeyId --attribute-value \"\"`, then delete the tag",
    },
    Entry {
        control: "SQS.1",
        title: "Amazon SQS queues should be encrypted at rest",
        action: Action::EncryptQueue,
        does: "records `secauto:previous-encryption=none` in the queue's tags, then turns on SSE-SQS (`SqsManagedSseEnabled`: keys SQS owns, no new permission for producers or consumers)",
        never: "replaces a KMS key the queue has, or changes its policy or other attributes",
        on: true,
        risk: "",
        undo: "`aws sqs set-queue-attributes --queue-url … --attributes SqsManagedSseEnabled=false`, then delete the tag",
    },
    Entry {
        control: "SSM.4",
        title: "SSM documents should not be public",
        action: Action::MakeDocumentPrivate,
        does: "records `secauto:previous-sharing=all` in the document's tags, then removes `All` from its share permission",
        never: "removes accounts it is shared with by id, or changes or deletes the document",
        on: false,
        risk: "accounts that run the document through its public share lose it",
        undo: "`aws ssm modify-document-permission --name … --permission-type Share --account-ids-to-add All`, then delete the tag",
    },
    Entry {
        control: "SSM.7",
        title: "SSM documents should have the block public sharing setting enabled",
        action: Action::BlockPublicDocumentSharing,
        does: "turns on Systems Manager's block public sharing setting for documents in the finding's account and region (`/ssm/documents/console/public-sharing-permission` to `Disable`); the record (it was `Enable`) is the finding's note",
        never: "unshares a document shared already (SSM.4 does), or changes a document",
        on: true,
        risk: "",
        undo: "`aws ssm update-service-setting --setting-id /ssm/documents/console/public-sharing-permission --setting-value Enable`",
    },
    Entry {
        control: "S3.2",
        title: "S3 general purpose buckets should block public read access",
        action: Action::BlockBucketPublicAccess,
        does: BLOCK_DOES,
        never: BLOCK_NEVER,
        on: false,
        risk: "a bucket meant to be public (downloads, a CloudFront origin reached through its public endpoint) goes offline, and later writes of a public policy are refused",
        undo: BLOCK_UNDO,
    },
    Entry {
        control: "S3.3",
        title: "S3 general purpose buckets should block public write access",
        action: Action::BlockBucketPublicAccess,
        does: BLOCK_DOES,
        never: BLOCK_NEVER,
        on: false,
        risk: "a bucket meant to be public (downloads, a CloudFront origin reached through its public endpoint) goes offline, and later writes of a public policy are refused",
        undo: BLOCK_UNDO,
    },
    Entry {
        control: "S3.4",
        title: "S3 general purpose buckets should have server-side encryption enabled",
        action: Action::EnableBucketEncryption,
        does: "records the bucket's encryption and public access block in its tags, then turns on default encryption (SSE-S3, bucket key) and all four public access blocks, each only if missing",
        never: "re-encrypts existing objects, replaces an encryption configuration the bucket has, or changes its policy",
        on: false,
        risk: "it also turns on all four public access blocks: a bucket meant to be public goes offline",
        undo: "delete the encryption configuration if `secauto:previous-encryption=none`, and put back the public access block `secauto:previous-public-access-block` records",
    },
    Entry {
        control: "S3.5",
        title: "S3 general purpose buckets should require requests to use SSL",
        action: Action::RequireBucketTls,
        does: "adds one statement (`Sid` `secauto-deny-insecure-transport`) to the bucket policy, kept as it was otherwise, denying every `s3:*` request without TLS (`aws:SecureTransport` false); records `secauto:previous-bucket-policy` (`none` or `kept`) in the bucket's tags",
        never: "removes or rewrites another statement, or touches a bucket that serves a static website over HTTP (its finding says so)",
        on: false,
        risk: "clients that reach the bucket over plain HTTP (a CloudFront origin set to match the viewer's protocol, old tools) are refused",
        undo: "remove the statement with `Sid` `secauto-deny-insecure-transport` from the bucket policy (delete the policy if the tag records `none`)",
    },
    Entry {
        control: "S3.13",
        title: "S3 general purpose buckets should have Lifecycle configurations",
        action: Action::SetBucketLifecycle,
        does: "for a bucket with no lifecycle configuration: records `secauto:previous-lifecycle=none` in its tags, then puts one enabled rule (`secauto-intelligent-tiering`) moving current objects to S3 Intelligent-Tiering after 30 days",
        never: "expires or deletes any object or version, or replaces a lifecycle configuration the bucket has; resolves a FAILED finding whose control parameters (transition days, storage class) may be stricter than what it checks (it stays NOTIFIED, saying so)",
        on: false,
        risk: "objects move to another storage class (Intelligent-Tiering's monitoring fee; tools that expect STANDARD see another class)",
        undo: "`aws s3api delete-bucket-lifecycle --bucket …` when the tag records `none`, then delete the tag",
    },
    Entry {
        control: "S3.8",
        title: "S3 general purpose buckets should block public access",
        action: Action::BlockBucketPublicAccess,
        does: BLOCK_DOES,
        never: BLOCK_NEVER,
        on: false,
        risk: "a bucket meant to be public (downloads, a CloudFront origin reached through its public endpoint) goes offline, and later writes of a public policy are refused",
        undo: BLOCK_UNDO,
    },
];

/// The catalogue's entry for a control (any spelling `controls::of` accepts).
pub fn entry(control: &str) -> Option<&'static Entry> {
    let c = super::standards::bare(control)?;
    CATALOGUE
        .iter()
        .find(|e| e.control.eq_ignore_ascii_case(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_a_known_control_acting_on_a_resource_once() {
        let mut seen = std::collections::BTreeSet::new();
        for e in CATALOGUE {
            assert_eq!(super::super::check(e.control).as_deref(), Ok(e.control));
            assert!(seen.insert(e.control), "{} twice", e.control);
            assert!(e.action.resource_type().is_some(), "{}", e.control);
            assert_eq!(
                e.on,
                e.risk.is_empty(),
                "{}: off exactly when it says why",
                e.control
            );
            assert!(!e.does.is_empty() && !e.never.is_empty() && !e.undo.is_empty());
        }
        assert_eq!(
            entry("s3.8").map(|e| e.action),
            Some(Action::BlockBucketPublicAccess)
        );
        assert_eq!(entry("PCI.S3.1").map(|e| e.control), Some("S3.3"));
        assert!(entry("KMS.3").is_none());
    }
}
