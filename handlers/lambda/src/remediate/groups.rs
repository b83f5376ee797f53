//! The two security groups isolation uses in each VPC, found or made and their rules verified and
//! repaired on every use (a new group allows all egress, and a run that died right after creating
//! one left it so): the quarantine group (no rules at all) and the all-traffic group an interface
//! passes through so that its connections become untracked.

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup, SecurityGroupRule,
    TagSpecification,
};

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{tag, Executor, Outcome};
use crate::sdk_err;

/// The name of the quarantine security group made in each VPC: no rules at all.
pub const QUARANTINE_GROUP: &str = "secauto-quarantine";

/// The name of the all-traffic group an interface passes through so its connections become
/// untracked and are cut by the move to the quarantine group.
pub const UNTRACK_GROUP: &str = "secauto-untrack";

/// What a group of ours must allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rules {
    /// Nothing in, nothing out.
    None,
    /// All traffic in and out, from and to 0.0.0.0/0 and ::/0.
    AllOpen,
}

impl Executor<'_> {
    /// Find or make the group `name` of `vpc` and make its rules exactly what `rules` says.
    pub(super) async fn ensure_group(
        &self,
        vpc: &str,
        name: &str,
        rules: Rules,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<String> {
        let id = self.made_group(vpc, name, rules, out, protected).await?;
        self.set_rules(&id, name, rules, out, protected).await?;
        Ok(id)
    }

    /// The group `name` of `vpc` isolation made, found or made now (its rules as they are).
    pub(super) async fn made_group(
        &self,
        vpc: &str,
        name: &str,
        rules: Rules,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<String> {
        if let Some(id) = self.find_group(vpc, name).await? {
            return Ok(id);
        }
        let what = match rules {
            Rules::None => "no rules",
            Rules::AllOpen => "all traffic, so connections become untracked",
        };
        let what = format!("create security group {name} ({what}) in {vpc}");
        let made = self.create_group(vpc, name, rules);
        match self.act(out, protected, what, made).await? {
            None => Ok(format!("{name} (to be made)")),
            Some(Some(id)) if rules == Rules::None => {
                // A new group allows all outbound traffic, and a read just after the create may
                // not list that rule yet: it is revoked by what it is, not by what a read shows.
                let what = format!("revoke the outbound rule every new group has from {name} {id}");
                self.act(out, protected, what, close_all_traffic(self.ec2, &id))
                    .await?;
                Ok(id)
            }
            Some(Some(id)) => Ok(id),
            // Another isolation in this VPC made it first: use theirs.
            Some(None) => self.find_made(vpc, name).await,
        }
    }

    /// Make the rules of group `id` exactly what `rules` says (nothing to do for a group a dry
    /// run would make).
    pub(super) async fn set_rules(
        &self,
        id: &str,
        name: &str,
        rules: Rules,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        if id.ends_with("(to be made)") {
            return Ok(());
        }
        let g = read_group(self.ec2, id).await?;
        match rules {
            Rules::None => self.remove_rules(&g, id, name, out, protected).await,
            Rules::AllOpen => self.open_rules(&g, id, name, out, protected).await,
        }
    }

    /// The new group's id; `None` when another run made the group first (`InvalidGroup.Duplicate`).
    async fn create_group(&self, vpc: &str, name: &str, rules: Rules) -> Result<Option<String>> {
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
            .await;
        match created {
            Ok(c) => Ok(Some(
                c.group_id()
                    .context("CreateSecurityGroup returned no id")?
                    .to_string(),
            )),
            Err(e) if ProvideErrorMetadata::code(&e) == Some("InvalidGroup.Duplicate") => Ok(None),
            Err(e) => Err(sdk_err("ec2:CreateSecurityGroup", e)),
        }
    }

    /// The quarantine group: revoke whatever it allows, in and out.
    async fn remove_rules(
        &self,
        g: &SecurityGroup,
        id: &str,
        name: &str,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let (ingress, egress) = (g.ip_permissions(), g.ip_permissions_egress());
        if ingress.is_empty() && egress.is_empty() {
            return Ok(());
        }
        let what = format!(
            "remove {} inbound and {} outbound rule(s) from {name} {id}: {}",
            ingress.len(),
            egress.len(),
            if name == UNTRACK_GROUP {
                "it allows nothing between isolations"
            } else {
                "a quarantine group has none"
            }
        );
        self.act(out, protected, what, revoke_all(self.ec2, id))
            .await?;
        Ok(())
    }

    /// The all-traffic group: allow what it lacks of all traffic, in and out.
    pub(super) async fn open_rules(
        &self,
        g: &SecurityGroup,
        id: &str,
        name: &str,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        if !allows_all(g.ip_permissions()) {
            let call = async {
                self.ec2
                    .authorize_security_group_ingress()
                    .group_id(id)
                    .ip_permissions(missing(g.ip_permissions()))
                    .send()
                    .await
                    .map(|_| ())
                    .or_else(already("InvalidPermission.Duplicate"))
                    .map_err(|e| sdk_err("ec2:AuthorizeSecurityGroupIngress", e))
            };
            let what = format!("allow all inbound traffic in {name} {id}");
            self.act(out, protected, what, call).await?;
        }
        if !allows_all(g.ip_permissions_egress()) {
            let call = async {
                self.ec2
                    .authorize_security_group_egress()
                    .group_id(id)
                    .ip_permissions(missing(g.ip_permissions_egress()))
                    .send()
                    .await
                    .map(|_| ())
                    .or_else(already("InvalidPermission.Duplicate"))
                    .map_err(|e| sdk_err("ec2:AuthorizeSecurityGroupEgress", e))
            };
            let what = format!("allow all outbound traffic in {name} {id}");
            self.act(out, protected, what, call).await?;
        }
        Ok(())
    }

    /// A group another run just made: EC2's reads are eventually consistent, so it is looked for
    /// again with growing waits before the run gives up.
    async fn find_made(&self, vpc: &str, name: &str) -> Result<String> {
        let mut delay = Duration::from_millis(200);
        for _ in 0..5 {
            if let Some(id) = self.find_group(vpc, name).await? {
                return Ok(id);
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        anyhow::bail!(
            "{name} in {vpc} exists (InvalidGroup.Duplicate) but is not secauto's (no tag secauto:quarantine=true) or cannot be found: rename or delete that group"
        )
    }

    /// The group `name` of `vpc` that isolation made (tagged `secauto:quarantine=true`): a group of
    /// that name someone else made is never used or emptied.
    pub(super) async fn find_group(&self, vpc: &str, name: &str) -> Result<Option<String>> {
        let found = self
            .ec2
            .describe_security_groups()
            .filters(Filter::builder().name("group-name").values(name).build())
            .filters(Filter::builder().name("vpc-id").values(vpc).build())
            .filters(
                Filter::builder()
                    .name("tag:secauto:quarantine")
                    .values("true")
                    .build(),
            )
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeSecurityGroups", e))?;
        Ok(found
            .security_groups()
            .first()
            .and_then(|g| g.group_id())
            .map(String::from))
    }
}

/// Revoke every rule of group `id` by its rule id, one per call — a revoke naming several rules,
/// one of them already gone, revokes none of them (InvalidPermission.NotFound) — then read the group
/// again: it must allow nothing (in a default VPC a revoke that matches no rule is not an error,
/// and AWS asks callers to describe the group to verify).
pub(super) async fn revoke_all(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<()> {
    let mut errors = Vec::new();
    // Twice: a rule that was answered NotFound yet is still there (another run's revoke and
    // ours crossing) is revoked by the second pass. Every rule is tried whatever another's fate.
    for _ in 0..2 {
        let rules = match rules_of(ec2, id).await {
            Ok(rules) => rules,
            Err(e) => {
                errors.push(format!("{e:#}"));
                continue;
            }
        };
        if rules.is_empty() {
            break;
        }
        for rule in &rules {
            if let Err(e) = revoke_rule(ec2, id, rule).await {
                errors.push(format!("{e:#}"));
            }
        }
    }
    verify_empty(ec2, id, &errors).await
}

/// Close the all-traffic group `id`: each of its four all-traffic rules revoked by itself (a read
/// just after they were added may not show them yet), then whatever else a read lists, then the
/// group verified empty. Every revoke is tried, whatever failed before it.
pub(super) async fn close_all_traffic(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<()> {
    let mut errors = Vec::new();
    let v4 = IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    let v6 = IpPermission::builder()
        .ip_protocol("-1")
        .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
        .build();
    for perm in [v4, v6] {
        let ingress = ec2
            .revoke_security_group_ingress()
            .group_id(id)
            .ip_permissions(perm.clone())
            .send()
            .await
            .map(|_| ())
            .or_else(gone)
            .map_err(|e| sdk_err("ec2:RevokeSecurityGroupIngress", e));
        let egress = ec2
            .revoke_security_group_egress()
            .group_id(id)
            .ip_permissions(perm)
            .send()
            .await
            .map(|_| ())
            .or_else(gone)
            .map_err(|e| sdk_err("ec2:RevokeSecurityGroupEgress", e));
        errors.extend(
            [ingress, egress]
                .into_iter()
                .filter_map(|r| r.err())
                .map(|e| format!("{e:#}")),
        );
    }
    match revoke_all(ec2, id).await {
        Ok(()) => Ok(()),
        Err(e) => {
            errors.push(format!("{e:#}"));
            anyhow::bail!("{}", errors.join("; "))
        }
    }
}

/// Read the group again (a few times: reads are eventually consistent) until it has no rule.
async fn verify_empty(ec2: &aws_sdk_ec2::Client, id: &str, errors: &[String]) -> Result<()> {
    let mut left = usize::MAX;
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let g = read_group(ec2, id).await?;
        left = g.ip_permissions().len() + g.ip_permissions_egress().len();
        if left == 0 {
            return Ok(());
        }
    }
    anyhow::bail!(
        "{id} still has {left} rule(s) after each of its rules was revoked{}",
        if errors.is_empty() {
            String::new()
        } else {
            format!(" ({})", errors.join("; "))
        }
    )
}

/// Every rule of the group, by its id.
pub(super) async fn rules_of(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
) -> Result<Vec<SecurityGroupRule>> {
    let mut pages = ec2
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(id).build())
        .into_paginator()
        .send();
    let mut rules = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_err("ec2:DescribeSecurityGroupRules", e))?;
        rules.extend(page.security_group_rules().iter().cloned());
    }
    Ok(rules)
}

/// Revoke one rule by its id; one another run revoked first is done.
pub(super) async fn revoke_rule(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    rule: &SecurityGroupRule,
) -> Result<()> {
    let Some(rule_id) = rule.security_group_rule_id() else {
        return Ok(());
    };
    if rule.is_egress() == Some(true) {
        ec2.revoke_security_group_egress()
            .group_id(id)
            .security_group_rule_ids(rule_id)
            .send()
            .await
            .map(|_| ())
            .or_else(gone)
            .map_err(|e| sdk_err("ec2:RevokeSecurityGroupEgress", e))
    } else {
        ec2.revoke_security_group_ingress()
            .group_id(id)
            .security_group_rule_ids(rule_id)
            .send()
            .await
            .map(|_| ())
            .or_else(gone)
            .map_err(|e| sdk_err("ec2:RevokeSecurityGroupIngress", e))
    }
}

/// A rule another run revoked first: done.
fn gone<E: ProvideErrorMetadata, R>(e: SdkError<E, R>) -> Result<(), SdkError<E, R>> {
    match ProvideErrorMetadata::code(&e) {
        Some("InvalidPermission.NotFound" | "InvalidSecurityGroupRuleId.NotFound") => Ok(()),
        _ => Err(e),
    }
}

/// A group just made may not be visible yet: EC2 answers InvalidGroup.NotFound for a while
/// (documented eventual consistency). Retry with growing waits.
pub(super) async fn read_group(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<SecurityGroup> {
    let mut delay = Duration::from_millis(200);
    for attempt in 1.. {
        match ec2.describe_security_groups().group_ids(id).send().await {
            Ok(out) => {
                if let Some(g) = out.security_groups().first() {
                    return Ok(g.clone());
                }
            }
            Err(e)
                if ProvideErrorMetadata::code(&e) == Some("InvalidGroup.NotFound")
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

/// An EC2 answer meaning the change is already made (another isolation in the VPC made it
/// first: a rule it revoked or added a moment before): done, not an error.
pub(super) fn already<E: ProvideErrorMetadata, R>(
    code: &'static str,
) -> impl FnOnce(SdkError<E, R>) -> Result<(), SdkError<E, R>> {
    move |e| match ProvideErrorMetadata::code(&e) {
        Some(c) if c == code => Ok(()),
        _ => Err(e),
    }
}

fn all_traffic() -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
        .build()
}

pub(super) fn allows_all(perms: &[IpPermission]) -> bool {
    let lacking = missing(perms);
    lacking.ip_ranges().is_empty() && lacking.ipv6_ranges().is_empty()
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
