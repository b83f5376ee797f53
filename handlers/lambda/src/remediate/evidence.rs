//! Keeping an isolated instance as evidence, after the network is contained and best effort: each
//! step is tried and reported, and none stops the others (the containment already holds). Each
//! change is recorded in a tag of the instance first (`secauto:previous-…`).
//!
//! - out of its Auto Scaling group (which would terminate it; the group launches a replacement),
//!   only in the states DetachInstances accepts (InService, Standby) and not from a protected group;
//! - a shutdown from inside the instance stops it instead of terminating it;
//! - termination protection, except for Spot instances (EC2 refuses it for them);
//! - one forensic snapshot per EBS volume and finding.

use std::time::Duration;

use anyhow::Result;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, AttributeValue, Filter, Instance, InstanceAttributeName,
    InstanceLifecycleType, ResourceType, TagSpecification,
};

use super::isolation::Subject;
use super::untrack::RECORD_RESERVE;
use super::{tag, Executor, Outcome};
use crate::sdk_err;

/// One evidence step's worst case on the full-retry client (a few calls, throttled a while).
const STEP_TIME: Duration = Duration::from_secs(15);

/// The tag recording the Auto Scaling group an isolated instance was detached from.
pub const PREVIOUS_GROUP_TAG: &str = "secauto:previous-auto-scaling-group";

/// The tag recording an isolated instance's shutdown behaviour before isolation made it `stop`.
pub const PREVIOUS_SHUTDOWN_TAG: &str = "secauto:previous-shutdown-behavior";

/// The tag recording that termination protection was off before isolation turned it on.
pub const PREVIOUS_PROTECTION_TAG: &str = "secauto:previous-termination-protection";

/// What isolation does with the instance's Auto Scaling group, decided with the precondition read
/// (so a protected group is known to be left before any write).
#[derive(Clone, Debug)]
pub(super) enum Membership {
    /// In no group.
    None,
    /// Left in its group: why (protected, a state DetachInstances refuses, an unreadable group).
    Kept(String),
    /// Detached from this group (InService or Standby, not protected).
    Detach(String),
}

/// The Auto Scaling lifecycle states DetachInstances accepts.
const DETACHABLE: [&str; 2] = ["InService", "Standby"];

impl Executor<'_> {
    /// Every evidence step, each reported; a failure is noted and the next step still runs. A
    /// step starts only with [`STEP_TIME`] left before the invocation's [`RECORD_RESERVE`]: the
    /// outcome must be recorded, and the evidence is best effort.
    pub(super) async fn keep_evidence(&self, s: &Subject<'_>, snapshots: bool, out: &mut Outcome) {
        let (id, p) = (s.id, s.protected);
        // The detach first: a contained instance fails its load balancer's health checks, and
        // its group would replace (terminate) it — termination protection does not stop that.
        for step in [
            "Auto Scaling detach",
            "stop on shutdown",
            "termination protection",
            "snapshots",
        ] {
            if !self.time_for_a_step() {
                let mut said = format!(
                    "evidence step skipped ({step}): too little time left before the function's deadline"
                );
                if step == "Auto Scaling detach" && matches!(s.asg, Membership::Detach(_)) {
                    said.push_str(&format!(
                        ": suspend the ReplaceUnhealthy process of {id}'s Auto Scaling group now, or it may terminate the instance"
                    ));
                }
                out.steps.push(said);
                continue;
            }
            let res = match step {
                "stop on shutdown" => self.stop_on_shutdown(id, out, p).await,
                "termination protection" => self.protect_from_termination(&s.inst, out, p).await,
                "Auto Scaling detach" => self.detach_from_auto_scaling(id, &s.asg, out, p).await,
                _ if snapshots => self.snapshot_volumes(&s.inst, out, p).await,
                _ => Ok(()),
            };
            if let Err(e) = res {
                out.steps
                    .push(format!("evidence step failed ({step}): {e:#}"));
            }
        }
    }

    /// Whether one best-effort step fits before the time kept for recording the outcome.
    pub(super) fn time_for_a_step(&self) -> bool {
        self.deadline.is_none_or(|d| {
            d.saturating_duration_since(std::time::Instant::now()) >= RECORD_RESERVE + STEP_TIME
        })
    }

    async fn stop_on_shutdown(&self, id: &str, out: &mut Outcome, protected: bool) -> Result<()> {
        let attr = self
            .ec2
            .describe_instance_attribute()
            .instance_id(id)
            .attribute(InstanceAttributeName::InstanceInitiatedShutdownBehavior)
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeInstanceAttribute", e))?;
        let now = attr
            .instance_initiated_shutdown_behavior()
            .and_then(|v| v.value());
        if now == Some("stop") {
            return Ok(());
        }
        let call = async {
            self.ec2
                .modify_instance_attribute()
                .instance_id(id)
                .instance_initiated_shutdown_behavior(
                    AttributeValue::builder().value("stop").build(),
                )
                .send()
                .await
                .map_err(|e| sdk_err("ec2:ModifyInstanceAttribute", e))
        };
        let was = now.unwrap_or("terminate");
        self.record_on_instance(id, PREVIOUS_SHUTDOWN_TAG, was, out, protected)
            .await;
        let what = format!("make a shutdown from inside {id} stop it, not terminate it");
        self.act(out, protected, what, call).await?;
        Ok(())
    }

    /// The undo record of an evidence step, a tag on the instance written before its change; when
    /// it cannot be written, the finding's note is the record (said first).
    async fn record_on_instance(
        &self,
        id: &str,
        key: &str,
        value: &str,
        out: &mut Outcome,
        protected: bool,
    ) {
        let record = async {
            self.ec2
                .create_tags()
                .resources(id)
                .tags(tag(key, value))
                .send()
                .await
                .map_err(|e| sdk_err("ec2:CreateTags", e))
        };
        let what = format!("record {key}={value} on {id}");
        if let Err(e) = self.act(out, protected, what, record).await {
            out.caveats.push(format!(
                "the undo record of {id} is this note only ({key}={value}): {e:#}"
            ));
        }
    }

    async fn protect_from_termination(
        &self,
        inst: &Instance,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let id = inst.instance_id().unwrap_or_default();
        if inst.instance_lifecycle() == Some(&InstanceLifecycleType::Spot) {
            out.steps.push(format!(
                "{id} is a Spot instance: EC2 refuses termination protection for it (its snapshots are the evidence)"
            ));
            return Ok(());
        }
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
        let call = async {
            self.ec2
                .modify_instance_attribute()
                .instance_id(id)
                .disable_api_termination(AttributeBooleanValue::builder().value(true).build())
                .send()
                .await
                .map_err(|e| sdk_err("ec2:ModifyInstanceAttribute", e))
        };
        self.record_on_instance(id, PREVIOUS_PROTECTION_TAG, "off", out, protected)
            .await;
        let what = format!("turn on termination protection of {id}");
        self.act(out, protected, what, call).await?;
        Ok(())
    }

    /// The instance's Auto Scaling group, read with the precondition (before any write): whether
    /// isolation may detach it, and if not, why. Best effort: a failed read keeps it in the group.
    pub(super) async fn membership(&self, id: &str) -> Membership {
        match self.read_membership(id).await {
            Ok(m) => m,
            Err(e) => Membership::Kept(format!(
                "{id} stays in any Auto Scaling group it is in: {e:#}"
            )),
        }
    }

    async fn read_membership(&self, id: &str) -> Result<Membership> {
        let found = self
            .autoscaling
            .describe_auto_scaling_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(|e| sdk_err("autoscaling:DescribeAutoScalingInstances", e))?;
        let Some(member) = found.auto_scaling_instances().first() else {
            return Ok(Membership::None);
        };
        let group = member.auto_scaling_group_name().unwrap_or_default();
        let state = member.lifecycle_state().unwrap_or_default();
        if let Some(why) = self.group_protection(group).await? {
            return Ok(Membership::Kept(format!(
                "{id} stays in its Auto Scaling group: {why}"
            )));
        }
        if !DETACHABLE.contains(&state) {
            return Ok(Membership::Kept(format!(
                "{id} is {state} in Auto Scaling group {group}: it can be detached only when InService or Standby; suspend the group's Terminate process to keep it"
            )));
        }
        Ok(Membership::Detach(group.to_string()))
    }

    async fn detach_from_auto_scaling(
        &self,
        id: &str,
        member: &Membership,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let group = match member {
            Membership::None => return Ok(()),
            Membership::Kept(why) => {
                out.steps.push(why.clone());
                return Ok(());
            }
            Membership::Detach(group) => group.as_str(),
        };
        // The undo record before the change: the group to attach the instance back to.
        self.record_on_instance(id, PREVIOUS_GROUP_TAG, group, out, protected)
            .await;
        let call = async {
            self.autoscaling
                .detach_instances()
                .auto_scaling_group_name(group)
                .instance_ids(id)
                .should_decrement_desired_capacity(false)
                .send()
                .await
                .map_err(|e| sdk_err("autoscaling:DetachInstances", e))
        };
        let what = format!(
            "detach {id} from Auto Scaling group {group} (it launches a replacement; this instance is kept as evidence)"
        );
        self.act(out, protected, what, call).await?;
        Ok(())
    }

    /// Why the Auto Scaling group must not be changed (protected by tag or config), if it must not.
    async fn group_protection(&self, group: &str) -> Result<Option<String>> {
        let found = self
            .autoscaling
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(group)
            .send()
            .await
            .map_err(|e| sdk_err("autoscaling:DescribeAutoScalingGroups", e))?;
        let tags: Vec<(&str, &str)> = found
            .auto_scaling_groups()
            .iter()
            .flat_map(|g| g.tags())
            .filter_map(|t| Some((t.key()?, t.value()?)))
            .collect();
        Ok(self.protection.reason(group, tags))
    }

    /// One forensic snapshot per EBS volume and fact (tag `secauto:fact`, the run's fact token): a
    /// volume that has one is skipped, whichever format the finding arrived in.
    pub(super) async fn snapshot_volumes(
        &self,
        inst: &Instance,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let id = inst.instance_id().unwrap_or_default();
        let finding: String = self.finding_id.chars().take(256).collect();
        let fact = self.fact_token();
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
                        .name("tag:secauto:fact")
                        .values(&fact)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| sdk_err("ec2:DescribeSnapshots", e))?;
            if let Some(s) = existing.snapshots().first() {
                out.steps.push(format!(
                    "{vol} already has forensic snapshot {} for this finding's fact",
                    s.snapshot_id().unwrap_or("?")
                ));
                continue;
            }
            let call = async {
                self.ec2
                    .create_snapshot()
                    .volume_id(vol)
                    .description(format!("secauto forensic snapshot of {id}"))
                    .tag_specifications(
                        TagSpecification::builder()
                            .resource_type(ResourceType::Snapshot)
                            .tags(tag("secauto:finding", &finding))
                            .tags(tag("secauto:fact", &fact))
                            .tags(tag("secauto:instance", id))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| sdk_err("ec2:CreateSnapshot", e))
            };
            let what = format!("snapshot {vol} for forensics");
            if let Some(s) = self.act(out, protected, what, call).await? {
                if let Some(sid) = s.snapshot_id() {
                    out.steps.push(format!("snapshot {sid} started"));
                }
            }
        }
        Ok(())
    }
}
