//! Isolating an instance, on the remediation contract (see `contract`):
//!
//! 1. **precondition** — a fresh read: the instance exists and is not terminated, and it does not
//!    route traffic (SourceDestCheck off) unless configured to;
//! 2. **protection** — the instance and each interface isolation would move are checked before any
//!    write;
//! 3. **record** — each interface's groups go into its own tag before anything changes, never
//!    overwritten (a retry must not record the quarantine group as "previous");
//! 4. **containment first** (`containment`) — each interface, in its own VPC, passes through the
//!    all-traffic group (its TCP/UDP connections become untracked) to the empty quarantine group, and
//!    its connection-tracking timeouts are lowered to their minimums; a failed move is repaired
//!    before returning, so no interface stays in the all-traffic group;
//! 5. **evidence** (`evidence`), best effort and each reported: a shutdown from inside stops the
//!    instance, termination protection (not for Spot), out of its Auto Scaling group, snapshots;
//! 6. **verification** — RESOLVED only when a re-read shows every interface in quarantine alone.
//!
//! What isolation cannot cut (EC2 connection tracking): ICMP is always tracked, and so are flows
//! through NAT gateways, Network and Gateway Load Balancers, Global Accelerator, Network Firewall
//! endpoints and transit gateway attachments; they expire once idle for the lowered timeouts. Stop
//! the instance (`quarantine-instance`) to end those too.
//!
//! Undo: move each interface back to the groups in its `secauto:previous-security-groups` tag, then
//! remove the `secauto:isolated` tag and termination protection.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{Instance, InstanceStateName, NetworkInterface};

use super::groups::{Rules, QUARANTINE_GROUP};
use super::{finish, tag, Executor, Failed, Outcome, ISOLATED_TAG};
use crate::sdk_err;

/// What isolation cannot cut, said in the finding's note and the SNS message.
pub const NOT_CUT: &str = "isolation cuts TCP and UDP connections; it cannot cut ICMP or flows through NAT gateways, load balancers, Global Accelerator, Network Firewall or transit gateways (they expire after at most 60 s idle; quarantine-instance stops the instance)";

pub(super) fn groups_of(eni: &NetworkInterface) -> Vec<String> {
    eni.groups()
        .iter()
        .filter_map(|g| g.group_id().map(String::from))
        .collect()
}

pub(super) fn eni_tags(eni: &NetworkInterface) -> impl Iterator<Item = (&str, &str)> {
    eni.tag_set()
        .iter()
        .filter_map(|t| Some((t.key()?, t.value()?)))
}

/// The instance being isolated, as read before any change.
pub(super) struct Subject<'i> {
    pub id: &'i str,
    pub inst: Instance,
    pub enis: Vec<NetworkInterface>,
    /// The quarantine group of each interface's VPC (`(to be made)` in a dry run).
    pub quarantine: BTreeMap<String, String>,
    /// Its `secauto:isolated` tag says `true`.
    pub isolated_tag: bool,
    pub protected: bool,
}

impl Subject<'_> {
    /// The VPC of an interface: its own (a secondary interface may be in another VPC).
    pub fn vpc_of<'e>(&'e self, eni: &'e NetworkInterface) -> Option<&'e str> {
        eni.vpc_id().or(self.inst.vpc_id())
    }

    /// Is the interface in its VPC's quarantine group and no other?
    pub fn in_quarantine(&self, eni: &NetworkInterface) -> bool {
        let q = self.vpc_of(eni).and_then(|v| self.quarantine.get(v));
        q.is_some_and(|q| groups_of(eni) == [q.clone()])
    }

    pub fn isolated(&self) -> bool {
        !self.enis.is_empty() && self.enis.iter().all(|e| self.in_quarantine(e))
    }
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

    pub(super) async fn interfaces(&self, inst: &Instance) -> Result<Vec<NetworkInterface>> {
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

    /// The precondition and protection: the subject, or `None` with the reason in `out`.
    async fn subject<'i>(&self, id: &'i str, out: &mut Outcome) -> Result<Option<Subject<'i>>> {
        let inst = self.instance(id).await?;
        let state = inst.state().and_then(|s| s.name()).cloned();
        if matches!(
            state,
            Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
        ) {
            let why = format!("{id} is terminated or shutting down: nothing to isolate");
            out.steps.push(why.clone());
            out.refused = Some(why);
            return Ok(None);
        }
        if inst.source_dest_check() == Some(false) && !self.isolate_routing {
            let why = format!(
                "{id} routes traffic (source/destination check off: a NAT instance or an appliance); isolating it would cut other instances' traffic. Set [remediation] isolate_routing_instances = true to allow it"
            );
            out.steps.push(why.clone());
            out.refused = Some(why);
            return Ok(None);
        }
        let tags: Vec<(&str, &str)> = inst
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?, t.value()?)))
            .collect();
        let isolated_tag = tags.iter().any(|(k, v)| *k == ISOLATED_TAG && *v == "true");
        let mut protected = self.guard(out, id, tags);
        let enis = self.interfaces(&inst).await?;
        for eni in &enis {
            let eni_id = eni.network_interface_id().unwrap_or_default();
            protected |= self.guard(out, eni_id, eni_tags(eni));
        }
        let mut subject = Subject {
            id,
            inst,
            enis,
            quarantine: BTreeMap::new(),
            isolated_tag,
            protected,
        };
        if subject.vpc_of_all().is_empty() {
            anyhow::bail!("instance {id} is not in a VPC");
        }
        for vpc in subject.vpc_of_all() {
            let q = self
                .ensure_group(&vpc, QUARANTINE_GROUP, Rules::None, out, protected)
                .await?;
            subject.quarantine.insert(vpc, q);
        }
        Ok(Some(subject))
    }

    pub(super) async fn isolate(&self, id: &str, snapshots: bool, out: &mut Outcome) -> Result<()> {
        let Some(subject) = self.subject(id, out).await? else {
            return Ok(());
        };
        if subject.isolated_tag && subject.isolated() {
            out.steps.push(format!(
                "{id} is already isolated in quarantine: nothing to do"
            ));
            out.compliant = true;
        } else {
            self.record_groups(&subject, out).await?;
            self.contain(&subject, out).await?;
            self.tag_isolated(&subject, out).await?;
            if self.acting(subject.protected) {
                out.compliant = self.verify_isolated(&subject).await?;
            }
        }
        if !out.caveats.iter().any(|s| s == NOT_CUT) {
            out.caveats.push(NOT_CUT.to_string());
        }
        self.keep_evidence(&subject, snapshots, out).await;
        Ok(())
    }

    /// Verification: a re-read shows every interface in its VPC's quarantine group alone.
    async fn verify_isolated(&self, s: &Subject<'_>) -> Result<bool> {
        let after = self.interfaces(&self.instance(s.id).await?).await?;
        let again = Subject {
            enis: after,
            inst: s.inst.clone(),
            quarantine: s.quarantine.clone(),
            ..*s
        };
        Ok(again.isolated())
    }

    /// Tag the instance isolated (unless it already is).
    async fn tag_isolated(&self, s: &Subject<'_>, out: &mut Outcome) -> Result<()> {
        if s.isolated_tag {
            return Ok(());
        }
        self.step(
            out,
            s.protected,
            format!("tag {} {ISOLATED_TAG}=true", s.id),
        );
        if self.acting(s.protected) {
            self.ec2
                .create_tags()
                .resources(s.id)
                .tags(tag(ISOLATED_TAG, "true"))
                .tags(tag("secauto:finding", self.finding_id))
                .send()
                .await
                .map_err(|e| sdk_err("ec2:CreateTags", e))?;
        }
        Ok(())
    }
}

impl Subject<'_> {
    /// Every VPC the instance's interfaces are in, each once.
    fn vpc_of_all(&self) -> Vec<String> {
        let mut vpcs: Vec<String> = self
            .enis
            .iter()
            .filter_map(|e| self.vpc_of(e).map(String::from))
            .chain(self.inst.vpc_id().map(String::from))
            .collect();
        vpcs.sort();
        vpcs.dedup();
        vpcs
    }
}
