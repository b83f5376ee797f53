//! The remediations, through the EC2, S3 and SSM APIs. In a dry run (notify-only mode, or a resource
//! tagged `secauto:protect=true`) every read still happens and every write is reported as "would …".

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification,
};
use aws_sdk_s3::types::{
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use serde::Serialize;

use crate::{sdk_err, PROTECT_TAG};

/// The name of the quarantine security group made in each VPC.
pub const QUARANTINE_GROUP: &str = "secauto-quarantine";

/// What a remediation did or would do.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Outcome {
    pub steps: Vec<String>,
    /// The resource carries `secauto:protect=true`: nothing was changed.
    pub protected: bool,
    /// Something was changed.
    pub changed: bool,
}

/// Runs remediations against one region's clients.
pub struct Executor<'a> {
    pub ec2: &'a aws_sdk_ec2::Client,
    pub s3: &'a aws_sdk_s3::Client,
    pub ssm: &'a aws_sdk_ssm::Client,
    pub dry_run: bool,
    pub finding_id: &'a str,
    pub isolate_document: &'a str,
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder()
        .key(k)
        .value(v.chars().take(256).collect::<String>())
        .build()
}

fn is_protected<'t>(mut tags: impl Iterator<Item = (&'t str, &'t str)>) -> bool {
    tags.any(|(k, v)| k == PROTECT_TAG && v.eq_ignore_ascii_case("true"))
}

/// World-open ranges of a permission.
fn world_ranges(p: &IpPermission) -> (Vec<IpRange>, Vec<Ipv6Range>) {
    (
        p.ip_ranges()
            .iter()
            .filter(|r| r.cidr_ip() == Some("0.0.0.0/0"))
            .cloned()
            .collect(),
        p.ipv6_ranges()
            .iter()
            .filter(|r| r.cidr_ipv6() == Some("::/0"))
            .cloned()
            .collect(),
    )
}

/// Admin ports (22, 3389), every port, or every protocol.
fn is_admin_or_any_port(p: &IpPermission) -> bool {
    let proto = p.ip_protocol().unwrap_or("-1");
    if proto == "-1" {
        return true;
    }
    let (from, to) = (p.from_port().unwrap_or(0), p.to_port().unwrap_or(65535));
    let covers = |port: i32| from <= port && port <= to;
    (from <= 0 && to >= 65535) || covers(22) || covers(3389)
}

fn describe(p: &IpPermission) -> String {
    let proto = match p.ip_protocol().unwrap_or("-1") {
        "-1" => "all traffic".to_string(),
        other => match (p.from_port(), p.to_port()) {
            (Some(f), Some(t)) if f == t => format!("{other} {f}"),
            (Some(f), Some(t)) => format!("{other} {f}-{t}"),
            _ => other.to_string(),
        },
    };
    proto
}

impl Executor<'_> {
    fn step(&self, out: &mut Outcome, protected: bool, what: String) {
        if self.dry_run || protected {
            out.steps.push(format!("would {what}"));
        } else {
            out.steps.push(what);
            out.changed = true;
        }
    }

    fn acting(&self, protected: bool) -> bool {
        !self.dry_run && !protected
    }

    async fn instance(&self, id: &str) -> Result<aws_sdk_ec2::types::Instance> {
        let out = self
            .ec2
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeInstances", e))?;
        out.reservations()
            .iter()
            .flat_map(|r| r.instances())
            .next()
            .cloned()
            .with_context(|| format!("instance {id} not found"))
    }

    /// The quarantine group of a VPC (no inbound, no outbound rules), made when missing.
    async fn quarantine_group(
        &self,
        vpc: &str,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<String> {
        let found = self
            .ec2
            .describe_security_groups()
            .filters(
                Filter::builder()
                    .name("group-name")
                    .values(QUARANTINE_GROUP)
                    .build(),
            )
            .filters(Filter::builder().name("vpc-id").values(vpc).build())
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeSecurityGroups", e))?;
        if let Some(id) = found.security_groups().first().and_then(|g| g.group_id()) {
            return Ok(id.to_string());
        }
        self.step(
            out,
            protected,
            format!("create security group {QUARANTINE_GROUP} (no rules) in {vpc}"),
        );
        if !self.acting(protected) {
            return Ok(format!("{QUARANTINE_GROUP} (to be made)"));
        }
        let created = self
            .ec2
            .create_security_group()
            .group_name(QUARANTINE_GROUP)
            .description("secauto quarantine: no inbound and no outbound traffic")
            .vpc_id(vpc)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::SecurityGroup)
                    .tags(tag("secauto:quarantine", "true"))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk_err("ec2:CreateSecurityGroup", e))?;
        let id = created
            .group_id()
            .context("CreateSecurityGroup returned no id")?
            .to_string();
        // A new group allows all egress: remove it.
        let g = self
            .ec2
            .describe_security_groups()
            .group_ids(&id)
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeSecurityGroups", e))?;
        let egress: Vec<IpPermission> = g
            .security_groups()
            .iter()
            .flat_map(|g| g.ip_permissions_egress().iter().cloned())
            .collect();
        if !egress.is_empty() {
            self.ec2
                .revoke_security_group_egress()
                .group_id(&id)
                .set_ip_permissions(Some(egress))
                .send()
                .await
                .map_err(|e| sdk_err("ec2:RevokeSecurityGroupEgress", e))?;
        }
        Ok(id)
    }

    /// Put every network interface of the instance in the quarantine group, tag the instance, and
    /// (with `snapshots`) take a forensic snapshot of every EBS volume.
    pub async fn isolate_instance(&self, id: &str, snapshots: bool) -> Result<Outcome> {
        let mut out = Outcome::default();
        let inst = self.instance(id).await?;
        let protected = is_protected(
            inst.tags()
                .iter()
                .filter_map(|t| Some((t.key()?, t.value()?))),
        );
        out.protected = protected;
        if protected {
            out.steps.push(format!(
                "{id} is tagged {PROTECT_TAG}=true: nothing is changed"
            ));
        }
        let vpc = inst
            .vpc_id()
            .with_context(|| format!("instance {id} is not in a VPC"))?
            .to_string();
        let qsg = self.quarantine_group(&vpc, &mut out, protected).await?;
        let previous: Vec<&str> = inst
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id())
            .collect();
        for eni in inst.network_interfaces() {
            let Some(eni_id) = eni.network_interface_id() else {
                continue;
            };
            self.step(
                &mut out,
                protected,
                format!(
                    "replace the security groups of {eni_id} ({}) with {qsg}",
                    previous.join(", ")
                ),
            );
            if self.acting(protected) {
                self.ec2
                    .modify_network_interface_attribute()
                    .network_interface_id(eni_id)
                    .groups(&qsg)
                    .send()
                    .await
                    .map_err(|e| sdk_err("ec2:ModifyNetworkInterfaceAttribute", e))?;
            }
        }
        self.step(
            &mut out,
            protected,
            format!("tag {id} secauto:isolated=true"),
        );
        if self.acting(protected) {
            self.ec2
                .create_tags()
                .resources(id)
                .tags(tag("secauto:isolated", "true"))
                .tags(tag("secauto:finding", self.finding_id))
                .tags(tag("secauto:previous-security-groups", &previous.join(" ")))
                .send()
                .await
                .map_err(|e| sdk_err("ec2:CreateTags", e))?;
        }
        if snapshots {
            for bdm in inst.block_device_mappings() {
                let Some(vol) = bdm.ebs().and_then(|e| e.volume_id()) else {
                    continue;
                };
                self.step(&mut out, protected, format!("snapshot {vol} for forensics"));
                if self.acting(protected) {
                    let s = self
                        .ec2
                        .create_snapshot()
                        .volume_id(vol)
                        .description(format!("secauto forensic snapshot of {id}"))
                        .tag_specifications(
                            TagSpecification::builder()
                                .resource_type(ResourceType::Snapshot)
                                .tags(tag("secauto:finding", self.finding_id))
                                .tags(tag("secauto:instance", id))
                                .build(),
                        )
                        .send()
                        .await
                        .map_err(|e| sdk_err("ec2:CreateSnapshot", e))?;
                    if let Some(sid) = s.snapshot_id() {
                        out.steps.push(format!("snapshot {sid} started"));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Isolate, then start the isolate-instance automation (forensic snapshots, tag, stop).
    pub async fn quarantine_instance(&self, id: &str) -> Result<Outcome> {
        let mut out = self.isolate_instance(id, false).await?;
        let protected = out.protected;
        self.step(
            &mut out,
            protected,
            format!(
                "start automation {} (snapshots, tag, stop) for {id}",
                self.isolate_document
            ),
        );
        if self.acting(protected) {
            let exec = self
                .ssm
                .start_automation_execution()
                .document_name(self.isolate_document)
                .parameters("InstanceId", vec![id.to_string()])
                .parameters(
                    "FindingId",
                    vec![self.finding_id.chars().take(512).collect()],
                )
                .send()
                .await
                .map_err(|e| sdk_err("ssm:StartAutomationExecution", e))?;
            out.steps.push(format!(
                "automation execution {}",
                exec.automation_execution_id().unwrap_or("?")
            ));
        }
        Ok(out)
    }

    async fn group(&self, id: &str) -> Result<aws_sdk_ec2::types::SecurityGroup> {
        let out = self
            .ec2
            .describe_security_groups()
            .group_ids(id)
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeSecurityGroups", e))?;
        out.security_groups()
            .first()
            .cloned()
            .with_context(|| format!("security group {id} not found"))
    }

    /// Revoke world-open (0.0.0.0/0, ::/0) ingress of the permissions `select` picks.
    async fn revoke_world(&self, id: &str, select: fn(&IpPermission) -> bool) -> Result<Outcome> {
        let mut out = Outcome::default();
        let g = self.group(id).await?;
        let protected = is_protected(g.tags().iter().filter_map(|t| Some((t.key()?, t.value()?))));
        out.protected = protected;
        if protected {
            out.steps.push(format!(
                "{id} is tagged {PROTECT_TAG}=true: nothing is changed"
            ));
        }
        for p in g.ip_permissions() {
            let (v4, v6) = world_ranges(p);
            if (v4.is_empty() && v6.is_empty()) || !select(p) {
                continue;
            }
            let cidrs: Vec<&str> = v4
                .iter()
                .filter_map(|r| r.cidr_ip())
                .chain(v6.iter().filter_map(|r| r.cidr_ipv6()))
                .collect();
            self.step(
                &mut out,
                protected,
                format!("revoke {} from {} on {id}", describe(p), cidrs.join(", ")),
            );
            if self.acting(protected) {
                let perm = IpPermission::builder()
                    .set_ip_protocol(p.ip_protocol().map(str::to_string))
                    .set_from_port(p.from_port())
                    .set_to_port(p.to_port())
                    .set_ip_ranges(if v4.is_empty() { None } else { Some(v4) })
                    .set_ipv6_ranges(if v6.is_empty() { None } else { Some(v6) })
                    .build();
                self.ec2
                    .revoke_security_group_ingress()
                    .group_id(id)
                    .ip_permissions(perm)
                    .send()
                    .await
                    .map_err(|e| sdk_err("ec2:RevokeSecurityGroupIngress", e))?;
            }
        }
        if out.steps.is_empty() {
            out.steps
                .push(format!("{id} has no matching world-open ingress"));
        }
        Ok(out)
    }

    /// Revoke every ingress rule open to the world.
    pub async fn block_network(&self, id: &str) -> Result<Outcome> {
        self.revoke_world(id, |_| true).await
    }

    /// Revoke world-open ingress to SSH (22), RDP (3389), every port, or every protocol.
    pub async fn fix_security_group(&self, id: &str) -> Result<Outcome> {
        self.revoke_world(id, is_admin_or_any_port).await
    }

    /// Default encryption (SSE-S3) and the four public access blocks on the bucket.
    pub async fn enable_bucket_encryption(&self, bucket: &str) -> Result<Outcome> {
        let mut out = Outcome::default();
        let tags = match self.s3.get_bucket_tagging().bucket(bucket).send().await {
            Ok(t) => t
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            Err(e)
                if aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
                    == Some("NoSuchTagSet") =>
            {
                vec![]
            }
            Err(e) => return Err(sdk_err("s3:GetBucketTagging", e)),
        };
        let protected = is_protected(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        out.protected = protected;
        if protected {
            out.steps.push(format!(
                "{bucket} is tagged {PROTECT_TAG}=true: nothing is changed"
            ));
        }
        let encrypted = match self.s3.get_bucket_encryption().bucket(bucket).send().await {
            Ok(o) => o
                .server_side_encryption_configuration()
                .is_some_and(|c| !c.rules().is_empty()),
            Err(e)
                if aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
                    == Some("ServerSideEncryptionConfigurationNotFoundError") =>
            {
                false
            }
            Err(e) => return Err(sdk_err("s3:GetBucketEncryption", e)),
        };
        if encrypted {
            out.steps
                .push(format!("{bucket} already has default encryption"));
        } else {
            self.step(
                &mut out,
                protected,
                format!("turn on default encryption (SSE-S3) of {bucket}"),
            );
            if self.acting(protected) {
                let rule = ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(ServerSideEncryption::Aes256)
                            .build()?,
                    )
                    .bucket_key_enabled(true)
                    .build();
                self.s3
                    .put_bucket_encryption()
                    .bucket(bucket)
                    .server_side_encryption_configuration(
                        ServerSideEncryptionConfiguration::builder()
                            .rules(rule)
                            .build()?,
                    )
                    .send()
                    .await
                    .map_err(|e| sdk_err("s3:PutBucketEncryption", e))?;
            }
        }
        let blocked = match self
            .s3
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(o) => o.public_access_block_configuration().is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            }),
            Err(e)
                if aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
                    == Some("NoSuchPublicAccessBlockConfiguration") =>
            {
                false
            }
            Err(e) => return Err(sdk_err("s3:GetPublicAccessBlock", e)),
        };
        if blocked {
            out.steps
                .push(format!("{bucket} already blocks public access"));
        } else {
            self.step(
                &mut out,
                protected,
                format!("block all public access to {bucket}"),
            );
            if self.acting(protected) {
                self.s3
                    .put_public_access_block()
                    .bucket(bucket)
                    .public_access_block_configuration(
                        PublicAccessBlockConfiguration::builder()
                            .block_public_acls(true)
                            .ignore_public_acls(true)
                            .block_public_policy(true)
                            .restrict_public_buckets(true)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| sdk_err("s3:PutPublicAccessBlock", e))?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(proto: &str, from: i32, to: i32) -> IpPermission {
        IpPermission::builder()
            .ip_protocol(proto)
            .from_port(from)
            .to_port(to)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build()
    }

    #[test]
    fn admin_ports_and_any_port() {
        assert!(is_admin_or_any_port(&perm("tcp", 22, 22)));
        assert!(is_admin_or_any_port(&perm("tcp", 3000, 4000)));
        assert!(is_admin_or_any_port(&perm("-1", 0, 0)));
        assert!(is_admin_or_any_port(&perm("tcp", 0, 65535)));
        assert!(!is_admin_or_any_port(&perm("tcp", 443, 443)));
    }
}
