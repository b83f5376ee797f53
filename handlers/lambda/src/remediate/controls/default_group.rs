//! EC2.2: a VPC's default security group allows no traffic. Precondition: the group is a VPC's
//! `default` group (any other is refused) and has rules. Record: each rule in a tag of its own on
//! the group before any goes — `secauto:revoked:<protocol>:<ports>=<source>` for inbound rules (the
//! form block-network writes), `secauto:revoked:egress:<protocol>:<ports>=<destination>` for
//! outbound ones, the source a CIDR, a group or a prefix list; an earlier run's tags stay; what
//! does not fit (40 tags) is the note. Change: every rule revoked
//! by its rule id, one per call (a rule another run revoked first is done), then the group read
//! until empty. Protection covers the group and every interface and instance using it; a group
//! another service's interfaces use (a load balancer's, a database's, an endpoint's) is left
//! alone. Verification: a re-read shows no rule left.
//! Undo: authorize again each rule the tags name, then delete the tags.

use anyhow::Result;
use aws_sdk_ec2::types::{IpPermission, SecurityGroup};

use super::super::contract::{Remediation, Touched};
use super::super::groups::revoke_all;
use super::super::security_groups::{describe, Group, REVOKED_PREFIX};
use super::super::{Executor, Failed, Outcome};
use crate::sdk_err;

/// A group holds 50 tags: the record leaves room for others'.
const MAX_RECORD_TAGS: usize = 40;

impl Executor<'_> {
    /// Revoke every rule of a VPC's default security group (EC2.2).
    pub async fn close_default_security_group(&self, id: &str) -> Result<Outcome, Failed> {
        self.carry_out(&DefaultGroup { id }).await
    }
}

/// `protocol:ports=source` for each source of `p`: CIDRs, IPv6 CIDRs, groups, prefix lists.
fn items(p: &IpPermission) -> Vec<String> {
    let proto = p.ip_protocol().unwrap_or("-1");
    let ports = match (proto, p.from_port(), p.to_port()) {
        ("-1", _, _) => "all".to_string(),
        (_, Some(f), Some(t)) => format!("{f}-{t}"),
        _ => "all".to_string(),
    };
    p.ip_ranges()
        .iter()
        .filter_map(|r| r.cidr_ip())
        .chain(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()))
        .chain(p.user_id_group_pairs().iter().filter_map(|g| g.group_id()))
        .chain(
            p.prefix_list_ids()
                .iter()
                .filter_map(|l| l.prefix_list_id()),
        )
        .map(|source| format!("{proto}:{ports}={source}"))
        .collect()
}

/// Every rule of the group as its record's tag keys (without the prefix).
fn record_of(g: &SecurityGroup) -> Vec<String> {
    let inbound = g.ip_permissions().iter().flat_map(items);
    let outbound = g
        .ip_permissions_egress()
        .iter()
        .flat_map(items)
        .map(|i| format!("egress:{i}"));
    inbound.chain(outbound).collect()
}

fn has_rules(g: &SecurityGroup) -> bool {
    !g.ip_permissions().is_empty() || !g.ip_permissions_egress().is_empty()
}

struct DefaultGroup<'a> {
    id: &'a str,
}

impl Remediation for DefaultGroup<'_> {
    type Subject = Group;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Group>> {
        let g = ex.group(self.id).await?;
        if g.group_name() != Some("default") {
            let why = format!(
                "{} is not a VPC's default group ({}): close-default-security-group changes default groups only",
                self.id,
                g.group_name().unwrap_or("no name")
            );
            out.steps.push(why.clone());
            out.refused = Some(why);
            return Ok(None);
        }
        let (users, managed) = ex.users_of(self.id).await?;
        if !managed.is_empty() {
            let why = format!(
                "{} is used by interfaces another service manages ({}): closing it would cut that service off; move them to a group of their own first",
                self.id,
                managed.join(", ")
            );
            out.steps.push(why.clone());
            out.refused = Some(why);
            return Ok(None);
        }
        Ok(Some(Group { g, users }))
    }

    /// The group, and every interface and instance using it: closing it cuts them all.
    fn touches(&self, g: &Group) -> Vec<Touched> {
        let mut touched = vec![Touched {
            id: self.id.to_string(),
            tags: g
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect(),
        }];
        touched.extend(g.users.iter().map(|u| Touched {
            id: u.id.clone(),
            tags: u.tags.clone(),
        }));
        touched
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        g: &Group,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let before: Vec<&str> = g
            .tags()
            .iter()
            .filter_map(|t| t.key()?.strip_prefix(REVOKED_PREFIX))
            .collect();
        let mut new: Vec<String> = Vec::new();
        for item in record_of(g) {
            if !before.contains(&item.as_str()) && !new.contains(&item) {
                new.push(item);
            }
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
            .map(|r| super::super::tag(&format!("{REVOKED_PREFIX}{r}"), ex.finding_id))
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
        ex.act(out, protected, what, call).await?;
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
        if !has_rules(g) {
            out.steps.push(format!("{id} already allows no traffic"));
            return Ok(());
        }
        let said = |perms: &[IpPermission]| -> String {
            let all: Vec<String> = perms.iter().map(describe).collect();
            if all.is_empty() {
                "none".into()
            } else {
                all.join(", ")
            }
        };
        // By rule id, one per call: a revoke naming several rules, one of them gone, revokes none
        // (InvalidPermission.NotFound); then the group is read until it shows none.
        let what = format!(
            "revoke every rule of {id}, one by one: inbound {}; outbound {}",
            said(g.ip_permissions()),
            said(g.ip_permissions_egress())
        );
        ex.act(out, protected, what, revoke_all(ex.ec2, id)).await?;
        Ok(())
    }

    /// Revokes only take rules away: a failure part-way leaves the group less open than it was, nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Group, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        g: &Group,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        let after = if acted && out.changed {
            ex.group(self.id).await?
        } else {
            g.g.clone()
        };
        if acted && has_rules(&after) {
            out.steps.push(format!(
                "re-read: {} still has {} rule(s)",
                self.id,
                after.ip_permissions().len() + after.ip_permissions_egress().len()
            ));
        }
        Ok(!has_rules(&after))
    }
}
