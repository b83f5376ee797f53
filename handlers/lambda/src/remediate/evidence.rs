//! Keeping an isolated instance as evidence: out of its Auto Scaling group (which would terminate
//! it), protected from termination, and its volumes snapshotted once per finding.

use anyhow::Result;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, Instance, InstanceAttributeName, ResourceType, TagSpecification,
};

use super::{tag, Executor, Outcome};
use crate::sdk_err;

impl Executor<'_> {
    pub(super) async fn detach_from_auto_scaling(
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

    pub(super) async fn protect_from_termination(
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
    pub(super) async fn snapshot_volumes(
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
