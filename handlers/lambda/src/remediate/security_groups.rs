//! World-open ingress: block-network revokes every ingress rule open to 0.0.0.0/0 or ::/0;
//! fix-security-group only those opening SSH (22) or RDP (3389) alone (`admin_ports`: a rule
//! opening them among more is left, the finding NOTIFIED saying why).
//! Protection covers the group and everything that uses it (each interface in it and the instance
//! it is attached to): a protected instance keeps its group's rules.
//! Undo: before the first revoke the group gets one tag per rule about to go
//! (`secauto:revoked:protocol:from-to=cidr`, the finding as its value); an earlier run's tags stay,
//! and concurrent runs' records merge (CreateTags adds keys); the steps name them too.
//! The group is re-read afterwards: a finding is RESOLVED only when the re-read shows no world-open
//! ingress within the action's scope; world-open ingress outside it (fix-security-group leaves 443
//! open) is named in the note, and when nothing was in scope at all the finding stays NOTIFIED.

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, SecurityGroup, SecurityGroupRule,
};

use super::admin_ports::{admin_port_alone, admin_port_among_more, AMONG_MORE};
use super::contract::{Remediation, Touched};
use super::groups::{revoke_rule, rules_of};
use super::{Executor, Failed, Outcome};
use crate::sdk_err;

/// World-open ranges of a permission.
pub(super) fn world_ranges(p: &IpPermission) -> (Vec<IpRange>, Vec<Ipv6Range>) {
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

pub(super) fn describe(p: &IpPermission) -> String {
    match p.ip_protocol().unwrap_or("-1") {
        "-1" => "all traffic".to_string(),
        other => match (p.from_port(), p.to_port()) {
            (Some(f), Some(t)) if f == t => format!("{other} {f}"),
            (Some(f), Some(t)) => format!("{other} {f}-{t}"),
            _ => other.to_string(),
        },
    }
}

/// The world-open ingress of a group that `select` picks, described.
fn world_open(g: &SecurityGroup, select: &Select<'_>) -> Vec<String> {
    g.ip_permissions()
        .iter()
        .filter(|p| {
            let (v4, v6) = world_ranges(p);
            (!v4.is_empty() || !v6.is_empty()) && select(p)
        })
        .map(describe)
        .collect()
}

impl Executor<'_> {
    pub(super) async fn group(&self, id: &str) -> Result<SecurityGroup> {
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

    /// Revoke every ingress rule open to the world.
    pub async fn block_network(&self, id: &str) -> Result<Outcome, Failed> {
        self.carry_out(&WorldIngress {
            id,
            scope: "(any port)",
            select: &|_| true,
            spares_services: true,
            scope_only: false,
            spared: None,
        })
        .await
    }

    /// Revoke world-open ingress to SSH (22) or RDP (3389) alone; a rule opening them among more
    /// is left, the finding saying why (`admin_ports`).
    pub async fn fix_security_group(&self, id: &str) -> Result<Outcome, Failed> {
        self.carry_out(&WorldIngress {
            id,
            scope: "to SSH or RDP",
            select: &admin_port_alone,
            spares_services: false,
            scope_only: false,
            spared: Some((&admin_port_among_more, AMONG_MORE)),
        })
        .await
    }
}

/// Whether `rule` is the inbound rule of permission `p` from `cidr` (EC2 lists an all-protocol
/// rule's ports as -1 where a permission has none).
fn is_rule_of(rule: &SecurityGroupRule, p: &IpPermission, cidr: &str) -> bool {
    rule.is_egress() != Some(true)
        && rule.ip_protocol() == p.ip_protocol()
        && rule.from_port().unwrap_or(-1) == p.from_port().unwrap_or(-1)
        && rule.to_port().unwrap_or(-1) == p.to_port().unwrap_or(-1)
        && (rule.cidr_ipv4() == Some(cidr) || rule.cidr_ipv6() == Some(cidr))
}

/// Revoke the inbound rule of `p` from `cidr` alone, by its content; one already gone is done.
async fn revoke_content(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    p: &IpPermission,
    cidr: &str,
) -> Result<()> {
    let mut perm = IpPermission::builder()
        .set_ip_protocol(p.ip_protocol().map(str::to_string))
        .set_from_port(p.from_port())
        .set_to_port(p.to_port());
    perm = match cidr.contains(':') {
        true => perm.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build()),
        false => perm.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
    };
    ec2.revoke_security_group_ingress()
        .group_id(id)
        .ip_permissions(perm.build())
        .send()
        .await
        .map(|_| ())
        .or_else(super::groups::already("InvalidPermission.NotFound"))
        .map_err(|e| sdk_err("ec2:RevokeSecurityGroupIngress", e))
}

/// The prefix of the tags recording revoked ingress rules: one tag per rule, its key
/// `secauto:revoked:protocol:from-to=cidr` (`-1:all=…` for every protocol), its value the finding.
/// One key per rule, so CreateTags merges what concurrent runs record instead of overwriting it.
pub const REVOKED_PREFIX: &str = "secauto:revoked:";
/// A group holds 50 tags: the record leaves room for others'.
const MAX_RECORD_TAGS: usize = 40;

/// `protocol:from-to=cidr` for each world-open range of `p` (`-1:all=…` for every protocol).
fn rule_items(p: &IpPermission) -> Vec<String> {
    let (v4, v6) = world_ranges(p);
    let ports = match (p.ip_protocol().unwrap_or("-1"), p.from_port(), p.to_port()) {
        ("-1", _, _) => "all".to_string(),
        (_, Some(f), Some(t)) => format!("{f}-{t}"),
        _ => "all".to_string(),
    };
    let proto = p.ip_protocol().unwrap_or("-1");
    v4.iter()
        .filter_map(|r| r.cidr_ip())
        .chain(v6.iter().filter_map(|r| r.cidr_ipv6()))
        .map(|c| format!("{proto}:{ports}={c}"))
        .collect()
}

/// The rules an earlier run recorded on `g`.
fn recorded_rules(g: &SecurityGroup) -> Vec<String> {
    g.tags()
        .iter()
        .filter_map(|t| t.key()?.strip_prefix(REVOKED_PREFIX))
        .map(str::to_string)
        .collect()
}

/// A group as read, with what uses it: revoking its rules changes what reaches each of them, so
/// each is checked against protection too.
pub(super) struct Group {
    pub g: SecurityGroup,
    pub users: Vec<Touched>,
}

impl std::ops::Deref for Group {
    type Target = SecurityGroup;
    fn deref(&self) -> &SecurityGroup {
        &self.g
    }
}

fn tags_of(tags: &[aws_sdk_ec2::types::Tag]) -> Vec<(String, String)> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect()
}

impl Executor<'_> {
    /// The interfaces in group `id` and the instances they are attached to, with their tags; and
    /// the interfaces another service manages (a load balancer's, a database's, an endpoint's),
    /// described: no tag on them can say "protected".
    pub(super) async fn users_of(&self, id: &str) -> Result<(Vec<Touched>, Vec<String>)> {
        let mut pages = self
            .ec2
            .describe_network_interfaces()
            .filters(Filter::builder().name("group-id").values(id).build())
            .into_paginator()
            .send();
        let (mut users, mut instances, mut managed) = (Vec::new(), Vec::new(), Vec::new());
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_err("ec2:DescribeNetworkInterfaces", e))?;
            for eni in page.network_interfaces() {
                // Another service's: requester-managed, or of a type other than a plain
                // interface (load balancers, NAT gateways, endpoints, Lambda, EFA/trunk/branch).
                let other_type = eni
                    .interface_type()
                    .is_some_and(|t| t.as_str() != "interface");
                if eni.requester_managed() == Some(true) || other_type {
                    managed.push(format!(
                        "{} ({})",
                        eni.network_interface_id().unwrap_or("?"),
                        eni.description().unwrap_or("another service's")
                    ));
                }
                users.push(Touched {
                    id: eni.network_interface_id().unwrap_or_default().to_string(),
                    tags: tags_of(eni.tag_set()),
                });
                let attached = eni.attachment().and_then(|a| a.instance_id());
                instances.extend(attached.map(String::from));
            }
        }
        instances.sort();
        instances.dedup();
        for chunk in instances.chunks(100) {
            let found = self
                .ec2
                .describe_instances()
                .set_instance_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| sdk_err("ec2:DescribeInstances", e))?;
            for inst in found.reservations().iter().flat_map(|r| r.instances()) {
                users.push(Touched {
                    id: inst.instance_id().unwrap_or_default().to_string(),
                    tags: tags_of(inst.tags()),
                });
            }
        }
        Ok((users, managed))
    }
}

/// World-open ingress of one group, the rules `select` picks (the catalogue's port controls,
/// EC2.18 and EC2.19, pick their own).
pub(super) struct WorldIngress<'a> {
    pub id: &'a str,
    pub scope: &'a str,
    pub select: &'a Select<'a>,
    /// Leave a group another service's interfaces use (block-network: any port).
    pub spares_services: bool,
    /// Compliant when nothing in scope is open, whatever else is (a control's own list of
    /// ports); otherwise a group with nothing in scope but open elsewhere stays NOTIFIED.
    pub scope_only: bool,
    /// Rules in the control's scope this action leaves, and why: one open to the world keeps the
    /// finding NOTIFIED with the reason (EC2.19's port ranges that serve the web too).
    pub spared: Option<(&'a Select<'a>, &'static str)>,
}

/// Which rules an action picks.
pub(super) type Select<'a> = dyn Fn(&IpPermission) -> bool + Sync + 'a;

impl Remediation for WorldIngress<'_> {
    type Subject = Group;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Group>> {
        let g = ex.group(self.id).await?;
        let (users, managed) = ex.users_of(self.id).await?;
        let spared = self
            .spared
            .map(|(s, _)| world_open(&g, s))
            .unwrap_or_default();
        let in_scope = !world_open(&g, self.select).is_empty() || !spared.is_empty();
        if self.spares_services && !managed.is_empty() && in_scope {
            let why = format!(
                "{} is used by interfaces another service manages ({}): a load balancer or a service endpoint may be meant to be open to the world, and revoking it would take it off the network; review it by hand (fix-security-group still revokes rules opening SSH or RDP alone there)",
                self.id,
                managed.join(", ")
            );
            out.steps.push(why.clone());
            out.refused = Some(why);
            return Ok(None);
        }
        Ok(Some(Group { g, users }))
    }

    /// The group, and every interface and instance using it.
    fn touches(&self, g: &Group) -> Vec<Touched> {
        let mut touched = vec![Touched {
            id: self.id.to_string(),
            tags: tags_of(g.tags()),
        }];
        touched.extend(g.users.iter().map(|u| Touched {
            id: u.id.clone(),
            tags: u.tags.clone(),
        }));
        touched
    }

    /// The rules about to be revoked, each in a tag of its own, before any of them goes; what an
    /// earlier run recorded stays.
    async fn record(
        &self,
        ex: &Executor<'_>,
        g: &Group,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let before = recorded_rules(g);
        let mut new: Vec<String> = Vec::new();
        for p in g.ip_permissions().iter().filter(|p| (self.select)(p)) {
            for item in rule_items(p) {
                if !before.contains(&item) && !new.contains(&item) {
                    new.push(item);
                }
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        let id = self.id;
        let room = MAX_RECORD_TAGS.saturating_sub(g.tags().len());
        let left = new.split_off(new.len().min(room));
        if !left.is_empty() {
            out.caveats.push(format!(
                "{} rule(s) of {id} did not fit in its tags and are recorded only here: {}",
                left.len(),
                left.join(" ")
            ));
        }
        if new.is_empty() {
            return Ok(());
        }
        let tags: Vec<_> = new
            .iter()
            .map(|r| super::tag(&format!("{REVOKED_PREFIX}{r}"), ex.finding_id))
            .collect();
        let call = async {
            ex.ec2
                .create_tags()
                .resources(id)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(|e| sdk_err("ec2:CreateTags", e))
        };
        let what = format!(
            "record the rules to revoke in {id}'s tags {REVOKED_PREFIX}…: {}",
            new.join(" ")
        );
        if let Err(e) = ex.act(out, protected, what, call).await {
            // No room for the tags (50 per group): the record is the note, said first.
            out.caveats.push(format!(
                "the undo record of {id} is this note only ({}): {e:#}",
                new.join(" ")
            ));
        }
        Ok(())
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        g: &Group,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let id = self.id;
        let mut matched = false;
        // Each world-open rule revoked by its rule id, one per call: a revoke naming several, one
        // of them gone (another arrival, another control's finding), revokes none of them.
        let rules = rules_of(ex.ec2, id).await?;
        for p in g.ip_permissions() {
            let (v4, v6) = world_ranges(p);
            if (v4.is_empty() && v6.is_empty()) || !(self.select)(p) {
                continue;
            }
            matched = true;
            let cidrs = v4
                .iter()
                .filter_map(|r| r.cidr_ip())
                .chain(v6.iter().filter_map(|r| r.cidr_ipv6()));
            for cidr in cidrs {
                let Some(rule) = rules.iter().find(|r| is_rule_of(r, p, cidr)) else {
                    // Not listed (yet: reads are eventually consistent): revoked by its content.
                    let what = format!("revoke {} from {cidr} on {id}", describe(p));
                    let call = revoke_content(ex.ec2, id, p, cidr);
                    ex.act(out, protected, what, call).await?;
                    continue;
                };
                let what = format!(
                    "revoke {} from {cidr} on {id} (rule {})",
                    describe(p),
                    rule.security_group_rule_id().unwrap_or("?")
                );
                ex.act(out, protected, what, revoke_rule(ex.ec2, id, rule))
                    .await?;
            }
        }
        let spared = self
            .spared
            .is_some_and(|(s, _)| !world_open(&g.g, s).is_empty());
        if !matched && !spared {
            out.steps
                .push(format!("{id} has no world-open ingress {}", self.scope));
        }
        Ok(())
    }

    /// Revokes only take rules away: a failure part-way leaves the group less open than it was, nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Group, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    /// Compliant when nothing this action answers for is open to the world; what else is open is
    /// said, and decides only when nothing was in scope.
    async fn verify(
        &self,
        ex: &Executor<'_>,
        g: &Group,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        let (id, scope) = (self.id, self.scope);
        let matched = !world_open(g, self.select).is_empty();
        let after = if acted && matched {
            ex.group(id).await?
        } else {
            g.g.clone()
        };
        let left = world_open(&after, self.select);
        let other = world_open(&after, &|_| true);
        if !left.is_empty() && acted {
            out.steps.push(format!(
                "re-read: {id} is still open to the world {scope} on {}",
                left.join(", ")
            ));
        } else if matched && !other.is_empty() {
            out.steps.push(format!(
                "{id} stays open to the world on {} (outside this action: review it)",
                other.join(", ")
            ));
        }
        if !self.scope_only && !matched && !other.is_empty() && !out.protected && !ex.dry_run {
            out.refused = Some(format!(
                "nothing to revoke {scope}, and {id} is still open to the world on {}: review it by hand",
                other.join(", ")
            ));
        }
        if let Some((spared, why)) = self.spared {
            let kept = world_open(&after, spared);
            if !kept.is_empty() {
                let why = format!("{id} stays open to the world on {}: {why}", kept.join(", "));
                out.steps.push(why.clone());
                out.refused = Some(why);
                return Ok(false);
            }
        }
        Ok(left.is_empty() && (matched || other.is_empty() || self.scope_only))
    }
}
