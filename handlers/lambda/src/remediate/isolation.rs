//! Isolating an instance, on the remediation contract (see `contract`):
//!
//! 1. **precondition** — a fresh read: the instance exists and is not terminated, and it does not
//!    route traffic (SourceDestCheck off) unless configured to;
//! 2. **protection** — the instance and each interface isolation would move are checked before any
//!    write, and so is its Auto Scaling group (read with the precondition: a protected group keeps
//!    the instance, the rest of isolation goes on);
//! 3. **record** — each interface's groups go into its own tag before anything changes, never
//!    overwritten (a retry must not record the quarantine group as "previous");
//! 4. **containment first** (`containment`) — each interface, in its own VPC, passes through the
//!    all-traffic group (its TCP/UDP connections become untracked) to the empty quarantine group, and
//!    its connection-tracking timeouts are lowered to their minimums; a failed move is repaired
//!    before returning, so no interface stays in the all-traffic group;
//! 5. **evidence** (`evidence`), best effort and each reported: a shutdown from inside stops the
//!    instance, termination protection (not for Spot), out of its Auto Scaling group, snapshots;
//! 6. **verification** — RESOLVED only when a re-read shows every interface in quarantine alone and
//!    each quarantine group without a rule.
//!
//! What isolation cannot cut (EC2 connection tracking): ICMP is always tracked, and so are flows
//! through NAT gateways, Network and Gateway Load Balancers, Global Accelerator, Network Firewall
//! endpoints and transit gateway attachments; they expire once idle for the lowered timeouts. Stop
//! the instance (`quarantine-instance`) to end those too.
//!
//! Undo: move each interface back to the groups in its `secauto:previous-security-groups` tag, then
//! remove the `secauto:isolated` tag and put back what the instance's `secauto:previous-…` tags
//! record (termination protection, shutdown behaviour, Auto Scaling group).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{Instance, InstanceStateName, NetworkInterface};

use super::contract::{Remediation, Touched};
use super::evidence::Membership;
use super::groups::{read_group, Rules, QUARANTINE_GROUP};
use super::{tag, Executor, Failed, Outcome, ISOLATED_TAG};
use crate::sdk_err;

/// What isolation cannot cut, said in the finding's note and the SNS message.
pub const NOT_CUT: &str = "isolation cuts TCP/UDP connections, not ICMP, other protocols (GRE, ESP) or flows via NAT gateways, egress-only internet gateways, load balancers, Global Accelerator, Network Firewall, transit gateways or interface endpoints; security groups never filter DNS to the Route 53 Resolver, instance metadata (role credentials) or Time Sync; a tracked flow lasts while active (idle TCP/UDP ones end after 60 s): quarantine-instance stops the instance";

pub(super) fn groups_of(eni: &NetworkInterface) -> Vec<String> {
    eni.groups()
        .iter()
        .filter_map(|g| g.group_id().map(String::from))
        .collect()
}

/// The instance being isolated, as read before any change.
#[derive(Clone)]
pub(super) struct Subject<'i> {
    pub id: &'i str,
    pub inst: Instance,
    pub enis: Vec<NetworkInterface>,
    /// The quarantine group of each interface's VPC: those found when read; once ensured, every
    /// VPC's (`(to be made)` in a dry run).
    pub quarantine: BTreeMap<String, String>,
    /// Its `secauto:isolated` tag says `true`.
    pub isolated_tag: bool,
    pub protected: bool,
    /// Its Auto Scaling group, and whether isolation detaches it (a protected group is left).
    pub asg: Membership,
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
    pub(super) async fn instance(&self, id: &str) -> Result<Instance> {
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
        self.carry_out(&Isolation { id, snapshots }).await
    }

    /// Isolate, then run the isolation automation (snapshots, tag, stop) as its own role.
    pub async fn quarantine_instance(&self, id: &str) -> Result<Outcome, Failed> {
        self.carry_out(&super::quarantine::Quarantine(Isolation {
            id,
            snapshots: false,
        }))
        .await
    }

    /// Whether a re-read shows the instance stopped or stopping (said in `out` when not).
    pub(super) async fn stopped(&self, id: &str, out: &mut Outcome) -> Result<bool> {
        let state = self
            .instance(id)
            .await?
            .state()
            .and_then(|s| s.name())
            .cloned();
        let stopped = matches!(
            state,
            Some(InstanceStateName::Stopped | InstanceStateName::Stopping)
        );
        if !stopped {
            out.steps.push(format!(
                "re-read: {id} is {}, not stopped, although the automation succeeded",
                state.as_ref().map_or("in an unknown state", |s| s.as_str())
            ));
        }
        Ok(stopped)
    }

    /// The quarantine groups that exist, by VPC (a read: nothing is made).
    async fn found_quarantine(&self, vpcs: &[String]) -> Result<BTreeMap<String, String>> {
        let mut found = BTreeMap::new();
        for vpc in vpcs {
            if let Some(q) = self.find_group(vpc, QUARANTINE_GROUP).await? {
                found.insert(vpc.clone(), q);
            }
        }
        Ok(found)
    }

    /// Tag the instance isolated (unless it already is).
    async fn tag_isolated(&self, s: &Subject<'_>, out: &mut Outcome) -> Result<()> {
        if s.isolated_tag {
            return Ok(());
        }
        if !self.time_for_a_step() {
            out.steps.push(format!(
                "{} not tagged {ISOLATED_TAG}: too little time left before the function's deadline",
                s.id
            ));
            return Ok(());
        }
        let call = async {
            self.ec2
                .create_tags()
                .resources(s.id)
                .tags(tag(ISOLATED_TAG, "true"))
                .tags(tag("secauto:finding", self.finding_id))
                .send()
                .await
                .map_err(|e| sdk_err("ec2:CreateTags", e))
        };
        let what = format!("tag {} {ISOLATED_TAG}=true", s.id);
        // Best effort: the network is contained already, and the evidence steps must follow
        // even when the instance has no room for more tags (50 at most).
        if let Err(e) = self.act(out, s.protected, what, call).await {
            out.steps.push(format!("{e:#}"));
        }
        Ok(())
    }
}

impl Subject<'_> {
    /// Every VPC the instance's interfaces are in, each once.
    pub(super) fn vpc_of_all(&self) -> Vec<String> {
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

/// Isolation of one instance, on the contract.
pub(super) struct Isolation<'i> {
    pub(super) id: &'i str,
    pub(super) snapshots: bool,
}

/// Why an instance is left alone, if it is: terminated, or routing others' traffic.
fn left_alone(ex: &Executor<'_>, id: &str, inst: &Instance) -> Option<String> {
    let state = inst.state().and_then(|s| s.name()).cloned();
    if matches!(
        state,
        Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
    ) {
        return Some(format!(
            "{id} is terminated or shutting down: nothing to isolate"
        ));
    }
    (inst.source_dest_check() == Some(false) && !ex.isolate_routing).then(|| format!(
        "{id} routes traffic (source/destination check off: a NAT instance or an appliance); isolating it would cut other instances' traffic. Set [remediation] isolate_routing_instances = true to allow it"
    ))
}

impl<'i> Remediation for Isolation<'i> {
    type Subject = Subject<'i>;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Subject<'i>>> {
        let id = self.id;
        let inst = ex.instance(id).await?;
        if let Some(why) = left_alone(ex, id, &inst) {
            out.steps.push(why.clone());
            out.refused = Some(why);
            return Ok(None);
        }
        let isolated_tag = inst
            .tags()
            .iter()
            .any(|t| t.key() == Some(ISOLATED_TAG) && t.value() == Some("true"));
        let enis = ex.interfaces(&inst).await?;
        let asg = ex.membership(id).await;
        let mut subject = Subject {
            id,
            inst,
            enis,
            quarantine: BTreeMap::new(),
            isolated_tag,
            protected: false,
            asg,
        };
        let vpcs = subject.vpc_of_all();
        if vpcs.is_empty() {
            anyhow::bail!("instance {id} is not in a VPC");
        }
        subject.quarantine = ex.found_quarantine(&vpcs).await?;
        Ok(Some(subject))
    }

    /// The instance and its interfaces. Its Auto Scaling group is not among them: the read
    /// decided already that a protected group is left as it is (`Membership::Kept`), and isolating
    /// the instance must not wait on whether its group may be changed.
    fn touches(&self, s: &Subject<'i>) -> Vec<Touched> {
        let tags = |t: &[aws_sdk_ec2::types::Tag]| {
            t.iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect()
        };
        let mut touched = vec![Touched {
            id: s.id.to_string(),
            tags: tags(s.inst.tags()),
        }];
        touched.extend(s.enis.iter().map(|e| Touched {
            id: e.network_interface_id().unwrap_or_default().to_string(),
            tags: tags(e.tag_set()),
        }));
        touched
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        s: &Subject<'i>,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        if s.isolated_tag && s.isolated() {
            return Ok(());
        }
        ex.record_groups(s, out, protected).await
    }

    /// Containment first (each VPC's groups made or repaired, then the moves), the tag, then the
    /// evidence, best effort.
    async fn apply(
        &self,
        ex: &Executor<'_>,
        s: &Subject<'i>,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let mut s = Subject {
            protected,
            ..s.clone()
        };
        for vpc in s.vpc_of_all() {
            let q = ex
                .ensure_group(&vpc, QUARANTINE_GROUP, Rules::None, out, protected)
                .await?;
            s.quarantine.insert(vpc, q);
        }
        if s.isolated_tag && s.isolated() {
            out.steps.push(format!(
                "{} is already isolated in quarantine: nothing to do",
                s.id
            ));
        }
        let contained = if s.isolated_tag && s.isolated() {
            Ok(())
        } else {
            // The evidence steps follow even when an interface could not be contained: the
            // others are, and a health check failing now must not let the instance's group
            // terminate it.
            let c = ex.contain(&s, out).await;
            if c.is_err() {
                // Before the evidence steps (which may take long): nothing may stay in a group
                // that allows everything.
                if let Err(e) = ex.sweep(&s, out).await {
                    out.steps.push(format!("the repair failed too: {e:#}"));
                }
                out.repaired = true;
            }
            ex.tag_isolated(&s, out).await?;
            c
        };
        if !out.caveats.iter().any(|c| c.starts_with(NOT_CUT)) {
            out.caveats.push(NOT_CUT.to_string());
        }
        ex.keep_evidence(&s, self.snapshots, out).await;
        contained
    }

    /// Containment repairs each move where it fails; this re-read makes sure no interface of the
    /// instance was left in an all-traffic group, whatever path failed.
    async fn repair(&self, ex: &Executor<'_>, s: &Subject<'i>, out: &mut Outcome) -> Result<()> {
        ex.sweep(s, out).await
    }

    /// Contained by a re-read ([`Isolation::contained`]), and every interface's tracked connections
    /// cut: one that went straight to quarantine keeps its active flows (EC2's tracking timeouts
    /// are idle timeouts), so the finding stays NOTIFIED until the instance is stopped.
    async fn verify(
        &self,
        ex: &Executor<'_>,
        s: &Subject<'i>,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        let contained = self.contained(ex, s, out, acted).await?;
        if contained && acted && super::containment::left_uncut(out) {
            out.steps.push(format!(
                "{} is contained but not every connection was cut (an active session survives): the finding stays open until the instance is stopped (quarantine-instance)",
                s.id
            ));
            return Ok(false);
        }
        Ok(contained)
    }
}

impl Isolation<'_> {
    /// Every interface in its VPC's quarantine group alone, and each such group without a rule,
    /// by a re-read after acting.
    pub(super) async fn contained(
        &self,
        ex: &Executor<'_>,
        s: &Subject<'_>,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        if !acted {
            return Ok(s.isolated_tag && s.isolated());
        }
        let inst = ex.instance(s.id).await?;
        let mut again = Subject {
            enis: ex.interfaces(&inst).await?,
            inst,
            ..s.clone()
        };
        again.quarantine = ex.found_quarantine(&again.vpc_of_all()).await?;
        for q in again.quarantine.values() {
            let g = read_group(ex.ec2, q).await?;
            let rules = g.ip_permissions().len() + g.ip_permissions_egress().len();
            if rules > 0 {
                out.steps.push(format!(
                    "re-read: quarantine group {q} has {rules} rule(s): the instance is not isolated"
                ));
                return Ok(false);
            }
        }
        Ok(again.isolated())
    }
}
