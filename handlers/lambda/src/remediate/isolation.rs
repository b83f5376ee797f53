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

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{Instance, NetworkInterface};

use super::groups::{Rules, QUARANTINE_GROUP, UNTRACK_GROUP};
use super::{finish, tag, Executor, Failed, Outcome, ISOLATED_TAG, PREVIOUS_GROUPS_TAG};
use crate::sdk_err;

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

/// The instance being isolated, as read before any change.
struct Subject<'i> {
    id: &'i str,
    inst: Instance,
    enis: Vec<NetworkInterface>,
    /// Its `secauto:isolated` tag says `true`.
    isolated_tag: bool,
    protected: bool,
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
        let subject = Subject {
            id,
            enis: self.interfaces(&inst).await?,
            isolated_tag: tags.iter().any(|(k, v)| *k == ISOLATED_TAG && *v == "true"),
            inst,
            protected,
        };
        let in_quarantine = |e: &NetworkInterface| groups_of(e) == [qsg.clone()];
        if subject.isolated_tag
            && !subject.enis.is_empty()
            && subject.enis.iter().all(in_quarantine)
        {
            out.steps
                .push(format!("{id} is already isolated in {qsg}: nothing to do"));
            out.compliant = true;
        } else {
            self.detach_from_auto_scaling(id, out, protected).await?;
            self.protect_from_termination(id, out, protected).await?;
            self.record_groups(&subject, &qsg, out).await?;
            self.move_interfaces(&subject, &vpc, &qsg, out).await?;
            self.tag_isolated(&subject, out).await?;
            if self.acting(protected) {
                let after = self.interfaces(&self.instance(id).await?).await?;
                out.compliant = !after.is_empty() && after.iter().all(in_quarantine);
            }
        }
        if snapshots {
            self.snapshot_volumes(&subject.inst, out, protected).await?;
        }
        Ok(())
    }

    /// Record each interface's groups in its own tag before anything moves; an earlier record is
    /// the truth and is kept (a retry must not record the quarantine group as "previous").
    async fn record_groups(&self, s: &Subject<'_>, qsg: &str, out: &mut Outcome) -> Result<()> {
        for eni in &s.enis {
            let Some(eni_id) = eni.network_interface_id() else {
                continue;
            };
            let groups = groups_of(eni);
            if eni_tag(eni, PREVIOUS_GROUPS_TAG).is_some() || groups == [qsg] {
                continue;
            }
            self.step(
                out,
                s.protected,
                format!(
                    "record the groups of {eni_id} ({}) in its tag {PREVIOUS_GROUPS_TAG}",
                    groups.join(", ")
                ),
            );
            if self.acting(s.protected) {
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
        Ok(())
    }

    /// Move each interface not yet in quarantine to the all-traffic group (its connections become
    /// untracked), then to the quarantine group: live sessions are cut.
    async fn move_interfaces(
        &self,
        s: &Subject<'_>,
        vpc: &str,
        qsg: &str,
        out: &mut Outcome,
    ) -> Result<()> {
        let to_move: Vec<&NetworkInterface> =
            s.enis.iter().filter(|e| groups_of(e) != [qsg]).collect();
        if to_move.is_empty() {
            return Ok(());
        }
        let untrack = self
            .ensure_group(vpc, UNTRACK_GROUP, Rules::AllOpen, out, s.protected)
            .await?;
        for eni in to_move {
            let Some(eni_id) = eni.network_interface_id() else {
                continue;
            };
            self.step(
                out,
                s.protected,
                format!(
                    "move {eni_id} to {untrack} (connections become untracked), then to {qsg}: live sessions are cut"
                ),
            );
            if self.acting(s.protected) {
                for group in [untrack.as_str(), qsg] {
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
        Ok(())
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
