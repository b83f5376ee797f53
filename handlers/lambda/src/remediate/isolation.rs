//! Isolating an instance, following AWS's incident-response guidance:
//!
//! 1. never an instance that routes traffic (SourceDestCheck off) unless configured to;
//! 2. detach it from its Auto Scaling group (which launches a replacement) so the evidence is not
//!    terminated, and turn on termination protection;
//! 3. record each network interface's groups in its own tag, before anything changes, never
//!    overwriting an earlier record (a retry must not record the quarantine group as "previous");
//! 4. move each interface to an all-traffic group first (its connections become untracked), then to
//!    the empty quarantine group: changing groups does not cut tracked connections, so without the
//!    first move an attacker's open session would survive;
//! 5. tag the instance isolated, and snapshot its volumes (once per volume and finding).
//!
//! Every use of a group verifies its rules and repairs them (a new group allows all egress, and a
//! run that died right after creating one left it so). An instance already isolated is left as is.
//! Undo: move each interface back to the groups in its `secauto:previous-security-groups` tag, then
//! remove the `secauto:isolated` tag and termination protection.

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, Instance, InstanceAttributeName, IpPermission, IpRange,
    Ipv6Range, NetworkInterface, ResourceType, SecurityGroup, TagSpecification,
};

use super::{finish, tag, Executor, Failed, Outcome, ISOLATED_TAG, PREVIOUS_GROUPS_TAG};
use crate::sdk_err;

/// The name of the quarantine security group made in each VPC: no rules at all.
pub const QUARANTINE_GROUP: &str = "secauto-quarantine";

/// The name of the all-traffic group an interface passes through so its connections become
/// untracked and are cut by the move to the quarantine group.
pub const UNTRACK_GROUP: &str = "secauto-untrack";

/// What a group of ours must allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rules {
    /// Nothing in, nothing out.
    None,
    /// All traffic in and out, from and to 0.0.0.0/0 and ::/0.
    AllOpen,
}

fn all_traffic() -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
        .build()
}

fn allows_all(perms: &[IpPermission]) -> bool {
    let lacking = missing(perms);
    lacking.ip_ranges().is_empty() && lacking.ipv6_ranges().is_empty()
}

fn groups_of(eni: &NetworkInterface) -> Vec<String> {
    eni.groups()
        .iter()
        .filter_map(|g| g.group_id().map(String::from))
        .collect()
}

fn eni_tag<'e>(eni: &'e NetworkInterface, key: &str) -> Option<&'e str> {
    eni.tag_set()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

impl Executor<'_> {
    async fn instance(&self, id: &str) -> Result<Instance> {
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

    async fn interfaces(&self, inst: &Instance) -> Result<Vec<NetworkInterface>> {
        let ids: Vec<String> = inst
            .network_interfaces()
            .iter()
            .filter_map(|n| n.network_interface_id().map(String::from))
            .collect();
        if ids.is_empty() {
            return Ok(vec![]);
        }
        Ok(self
            .ec2
            .describe_network_interfaces()
            .set_network_interface_ids(Some(ids))
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeNetworkInterfaces", e))?
            .network_interfaces()
            .to_vec())
    }

    async fn find_group(&self, vpc: &str, name: &str) -> Result<Option<String>> {
        let found = self
            .ec2
            .describe_security_groups()
            .filters(Filter::builder().name("group-name").values(name).build())
            .filters(Filter::builder().name("vpc-id").values(vpc).build())
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeSecurityGroups", e))?;
        Ok(found
            .security_groups()
            .first()
            .and_then(|g| g.group_id())
            .map(String::from))
    }

    /// A group just made may not be visible yet: EC2 answers InvalidGroup.NotFound for a while
    /// (documented eventual consistency). Retry with growing waits.
    async fn read_group_retrying(&self, id: &str) -> Result<SecurityGroup> {
        let mut delay = Duration::from_millis(200);
        for attempt in 1.. {
            match self
                .ec2
                .describe_security_groups()
                .group_ids(id)
                .send()
                .await
            {
                Ok(out) => {
                    if let Some(g) = out.security_groups().first() {
                        return Ok(g.clone());
                    }
                }
                Err(e)
                    if aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
                        == Some("InvalidGroup.NotFound")
                        && attempt < 8 => {}
                Err(e) => return Err(sdk_err("ec2:DescribeSecurityGroups", e)),
            }
            if attempt >= 8 {
                break;
            }
            tokio::time::sleep(delay).await;
            delay = delay.mul_f32(2.0).min(Duration::from_secs(5));
        }
        anyhow::bail!("security group {id} is still not visible after it was made")
    }

    /// Find or make the group `name` of `vpc` and make its rules exactly what `rules` says.
    async fn ensure_group(
        &self,
        vpc: &str,
        name: &str,
        rules: Rules,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<String> {
        let id = match self.find_group(vpc, name).await? {
            Some(id) => id,
            None => {
                let what = match rules {
                    Rules::None => "no rules",
                    Rules::AllOpen => "all traffic, so connections become untracked",
                };
                self.step(
                    out,
                    protected,
                    format!("create security group {name} ({what}) in {vpc}"),
                );
                if !self.acting(protected) {
                    return Ok(format!("{name} (to be made)"));
                }
                let created = self
                    .ec2
                    .create_security_group()
                    .group_name(name)
                    .description(match rules {
                        Rules::None => "secauto quarantine: no inbound and no outbound traffic",
                        Rules::AllOpen => "secauto: all traffic, used for an instant while isolating so live connections are cut",
                    })
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
                created
                    .group_id()
                    .context("CreateSecurityGroup returned no id")?
                    .to_string()
            }
        };
        let g = self.read_group_retrying(&id).await?;
        match rules {
            Rules::None => {
                let (ingress, egress) = (g.ip_permissions(), g.ip_permissions_egress());
                if ingress.is_empty() && egress.is_empty() {
                    return Ok(id);
                }
                self.step(
                    out,
                    protected,
                    format!(
                        "remove {} inbound and {} outbound rule(s) from {name} {id}: a quarantine group has none",
                        ingress.len(),
                        egress.len()
                    ),
                );
                if self.acting(protected) {
                    if !ingress.is_empty() {
                        self.ec2
                            .revoke_security_group_ingress()
                            .group_id(&id)
                            .set_ip_permissions(Some(ingress.to_vec()))
                            .send()
                            .await
                            .map_err(|e| sdk_err("ec2:RevokeSecurityGroupIngress", e))?;
                    }
                    if !egress.is_empty() {
                        self.ec2
                            .revoke_security_group_egress()
                            .group_id(&id)
                            .set_ip_permissions(Some(egress.to_vec()))
                            .send()
                            .await
                            .map_err(|e| sdk_err("ec2:RevokeSecurityGroupEgress", e))?;
                    }
                }
            }
            Rules::AllOpen => {
                if !allows_all(g.ip_permissions()) {
                    self.step(
                        out,
                        protected,
                        format!("allow all inbound traffic in {name} {id}"),
                    );
                    if self.acting(protected) {
                        let mut req = self.ec2.authorize_security_group_ingress().group_id(&id);
                        req = req.ip_permissions(missing(g.ip_permissions()));
                        req.send()
                            .await
                            .map_err(|e| sdk_err("ec2:AuthorizeSecurityGroupIngress", e))?;
                    }
                }
                if !allows_all(g.ip_permissions_egress()) {
                    self.step(
                        out,
                        protected,
                        format!("allow all outbound traffic in {name} {id}"),
                    );
                    if self.acting(protected) {
                        self.ec2
                            .authorize_security_group_egress()
                            .group_id(&id)
                            .ip_permissions(missing(g.ip_permissions_egress()))
                            .send()
                            .await
                            .map_err(|e| sdk_err("ec2:AuthorizeSecurityGroupEgress", e))?;
                    }
                }
            }
        }
        Ok(id)
    }

    /// Isolate an instance; with `snapshots`, also snapshot every EBS volume.
    pub async fn isolate_instance(&self, id: &str, snapshots: bool) -> Result<Outcome, Failed> {
        let mut out = Outcome::default();
        let res = self.isolate(id, snapshots, &mut out).await;
        finish(out, res)
    }

    /// Isolate, then run the isolation automation (snapshots, tag, stop) as its own role.
    pub async fn quarantine_instance(&self, id: &str) -> Result<Outcome, Failed> {
        let mut out = Outcome::default();
        let mut res = self.isolate(id, false, &mut out).await;
        if res.is_ok() && out.refused.is_none() {
            let protected = out.protected;
            if self.acting(protected) {
                out.compliant = false;
                res = self.run_automation(id, &mut out).await;
            } else {
                self.step(
                    &mut out,
                    protected,
                    format!(
                        "start automation {} (snapshots, tag, stop) for {id}",
                        self.isolate_document
                    ),
                );
            }
        }
        finish(out, res)
    }

    pub(super) async fn isolate(&self, id: &str, snapshots: bool, out: &mut Outcome) -> Result<()> {
        let inst = self.instance(id).await?;
        let tags: Vec<(&str, &str)> = inst
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?)))
            .collect();
        let protected = self.guard(out, id, tags.iter().copied());
        if inst.source_dest_check() == Some(false) && !self.isolate_routing {
            let why = format!(
                "{id} routes traffic (source/destination check off: a NAT instance or an appliance); isolating it would cut other instances' traffic. Set [remediation] isolate_routing_instances = true to allow it"
            );
            out.steps.push(why.clone());
            out.refused = Some(why);
            return Ok(());
        }
        let vpc = inst
            .vpc_id()
            .with_context(|| format!("instance {id} is not in a VPC"))?
            .to_string();
        let qsg = self
            .ensure_group(&vpc, QUARANTINE_GROUP, Rules::None, out, protected)
            .await?;
        let enis = self.interfaces(&inst).await?;
        let isolated_tag = tags.iter().any(|(k, v)| *k == ISOLATED_TAG && *v == "true");
        let in_quarantine = |e: &NetworkInterface| groups_of(e) == [qsg.clone()];
        if isolated_tag && !enis.is_empty() && enis.iter().all(in_quarantine) {
            out.steps
                .push(format!("{id} is already isolated in {qsg}: nothing to do"));
            out.compliant = true;
            if snapshots {
                self.snapshot_volumes(&inst, out, protected).await?;
            }
            return Ok(());
        }

        self.detach_from_auto_scaling(id, out, protected).await?;
        self.protect_from_termination(id, out, protected).await?;

        // Record before anything moves; an earlier record is the truth and is kept.
        for eni in &enis {
            let Some(eni_id) = eni.network_interface_id() else {
                continue;
            };
            let groups = groups_of(eni);
            if eni_tag(eni, PREVIOUS_GROUPS_TAG).is_some() || in_quarantine(eni) {
                continue;
            }
            self.step(
                out,
                protected,
                format!(
                    "record the groups of {eni_id} ({}) in its tag {PREVIOUS_GROUPS_TAG}",
                    groups.join(", ")
                ),
            );
            if self.acting(protected) {
                self.ec2
                    .create_tags()
                    .resources(eni_id)
                    .tags(tag(PREVIOUS_GROUPS_TAG, &groups.join(" ")))
                    .tags(tag("secauto:finding", self.finding_id))
                    .send()
                    .await
                    .map_err(|e| sdk_err("ec2:CreateTags", e))?;
            }
        }

        let to_move: Vec<&NetworkInterface> = enis.iter().filter(|e| !in_quarantine(e)).collect();
        if !to_move.is_empty() {
            let untrack = self
                .ensure_group(&vpc, UNTRACK_GROUP, Rules::AllOpen, out, protected)
                .await?;
            for eni in to_move {
                let Some(eni_id) = eni.network_interface_id() else {
                    continue;
                };
                self.step(
                    out,
                    protected,
                    format!(
                        "move {eni_id} to {untrack} (connections become untracked), then to {qsg}: live sessions are cut"
                    ),
                );
                if self.acting(protected) {
                    for group in [&untrack, &qsg] {
                        self.ec2
                            .modify_network_interface_attribute()
                            .network_interface_id(eni_id)
                            .groups(group)
                            .send()
                            .await
                            .map_err(|e| sdk_err("ec2:ModifyNetworkInterfaceAttribute", e))?;
                    }
                }
            }
        }
        if !isolated_tag {
            self.step(out, protected, format!("tag {id} {ISOLATED_TAG}=true"));
            if self.acting(protected) {
                self.ec2
                    .create_tags()
                    .resources(id)
                    .tags(tag(ISOLATED_TAG, "true"))
                    .tags(tag("secauto:finding", self.finding_id))
                    .send()
                    .await
                    .map_err(|e| sdk_err("ec2:CreateTags", e))?;
            }
        }
        if self.acting(protected) {
            let after = self.interfaces(&self.instance(id).await?).await?;
            out.compliant = !after.is_empty() && after.iter().all(in_quarantine);
        }
        if snapshots {
            self.snapshot_volumes(&inst, out, protected).await?;
        }
        Ok(())
    }

    async fn detach_from_auto_scaling(
        &self,
        id: &str,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let found = self
            .autoscaling
            .describe_auto_scaling_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(|e| sdk_err("autoscaling:DescribeAutoScalingInstances", e))?;
        let Some(group) = found
            .auto_scaling_instances()
            .first()
            .and_then(|i| i.auto_scaling_group_name())
        else {
            return Ok(());
        };
        self.step(
            out,
            protected,
            format!(
                "detach {id} from Auto Scaling group {group} (it launches a replacement; this instance is kept as evidence)"
            ),
        );
        if self.acting(protected) {
            self.autoscaling
                .detach_instances()
                .auto_scaling_group_name(group)
                .instance_ids(id)
                .should_decrement_desired_capacity(false)
                .send()
                .await
                .map_err(|e| sdk_err("autoscaling:DetachInstances", e))?;
        }
        Ok(())
    }

    async fn protect_from_termination(
        &self,
        id: &str,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let attr = self
            .ec2
            .describe_instance_attribute()
            .instance_id(id)
            .attribute(InstanceAttributeName::DisableApiTermination)
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeInstanceAttribute", e))?;
        if attr
            .disable_api_termination()
            .and_then(|v| v.value())
            .unwrap_or(false)
        {
            return Ok(());
        }
        self.step(
            out,
            protected,
            format!("turn on termination protection of {id}"),
        );
        if self.acting(protected) {
            self.ec2
                .modify_instance_attribute()
                .instance_id(id)
                .disable_api_termination(AttributeBooleanValue::builder().value(true).build())
                .send()
                .await
                .map_err(|e| sdk_err("ec2:ModifyInstanceAttribute", e))?;
        }
        Ok(())
    }

    /// One forensic snapshot per EBS volume and finding: a volume that has one is skipped.
    async fn snapshot_volumes(
        &self,
        inst: &Instance,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let id = inst.instance_id().unwrap_or_default();
        let finding: String = self.finding_id.chars().take(256).collect();
        for bdm in inst.block_device_mappings() {
            let Some(vol) = bdm.ebs().and_then(|e| e.volume_id()) else {
                continue;
            };
            let existing = self
                .ec2
                .describe_snapshots()
                .owner_ids("self")
                .filters(Filter::builder().name("volume-id").values(vol).build())
                .filters(
                    Filter::builder()
                        .name("tag:secauto:finding")
                        .values(&finding)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| sdk_err("ec2:DescribeSnapshots", e))?;
            if let Some(s) = existing.snapshots().first() {
                out.steps.push(format!(
                    "{vol} already has forensic snapshot {} for this finding",
                    s.snapshot_id().unwrap_or("?")
                ));
                continue;
            }
            self.step(out, protected, format!("snapshot {vol} for forensics"));
            if self.acting(protected) {
                let s = self
                    .ec2
                    .create_snapshot()
                    .volume_id(vol)
                    .description(format!("secauto forensic snapshot of {id}"))
                    .tag_specifications(
                        TagSpecification::builder()
                            .resource_type(ResourceType::Snapshot)
                            .tags(tag("secauto:finding", &finding))
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
        Ok(())
    }
}

/// The all-traffic permissions a group's rules lack.
fn missing(have: &[IpPermission]) -> IpPermission {
    let all = |p: &&IpPermission| p.ip_protocol() == Some("-1");
    let v4 = have.iter().filter(all).any(|p| {
        p.ip_ranges()
            .iter()
            .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
    });
    let v6 = have.iter().filter(all).any(|p| {
        p.ipv6_ranges()
            .iter()
            .any(|r| r.cidr_ipv6() == Some("::/0"))
    });
    let full = all_traffic();
    IpPermission::builder()
        .ip_protocol("-1")
        .set_ip_ranges((!v4).then(|| full.ip_ranges().to_vec()))
        .set_ipv6_ranges((!v6).then(|| full.ipv6_ranges().to_vec()))
        .build()
}
