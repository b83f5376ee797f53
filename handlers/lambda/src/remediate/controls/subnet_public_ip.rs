//! EC2.15: a subnet that gives every instance launched in it a public IPv4 address. Precondition:
//! the subnet exists and `MapPublicIpOnLaunch` is on. Record: `secauto:previous-map-public-ip-on-launch=true`
//! in the subnet's tags (an earlier run's tag is kept). Change: ModifySubnetAttribute with
//! `MapPublicIpOnLaunch` false (instances running keep their addresses; routes are untouched).
//! Verification: a re-read. Undo: `aws ec2 modify-subnet-attribute --subnet-id subnet-…
//! --map-public-ip-on-launch`, then delete the tag.

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{AttributeBooleanValue, Subnet};

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use super::ec2_tags;
use crate::sdk_err;

/// The tag recording that the subnet assigned public addresses at launch.
pub const PREVIOUS_MAP_PUBLIC_IP_TAG: &str = "secauto:previous-map-public-ip-on-launch";

impl Executor<'_> {
    /// Stop the subnet assigning public IPv4 addresses at launch (EC2.15).
    pub async fn disable_subnet_public_ip(&self, subnet: &str) -> Result<Outcome, Failed> {
        self.carry_out(&SubnetPublicIp { subnet }).await
    }

    async fn subnet(&self, id: &str) -> Result<Subnet> {
        let out = self
            .ec2
            .describe_subnets()
            .subnet_ids(id)
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeSubnets", e))?;
        out.subnets()
            .first()
            .cloned()
            .with_context(|| format!("subnet {id} not found"))
    }
}

fn maps_public_ip(s: &Subnet) -> bool {
    s.map_public_ip_on_launch() == Some(true)
}

struct SubnetPublicIp<'a> {
    subnet: &'a str,
}

impl Remediation for SubnetPublicIp<'_> {
    type Subject = Subnet;

    async fn read(&self, ex: &Executor<'_>, _: &mut Outcome) -> Result<Option<Subnet>> {
        Ok(Some(ex.subnet(self.subnet).await?))
    }

    fn touches(&self, s: &Subnet) -> Vec<Touched> {
        vec![Touched {
            id: self.subnet.to_string(),
            tags: ec2_tags(s.tags()),
        }]
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        s: &Subnet,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        if !maps_public_ip(s) {
            return Ok(());
        }
        let tags = ec2_tags(s.tags());
        let record = (PREVIOUS_MAP_PUBLIC_IP_TAG, "true");
        ex.record_in_ec2_tags(self.subnet, &tags, record, out, protected)
            .await
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        s: &Subnet,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let id = self.subnet;
        if !maps_public_ip(s) {
            out.steps.push(format!(
                "{id} already assigns no public IPv4 address at launch"
            ));
            return Ok(());
        }
        let what = format!(
            "turn off MapPublicIpOnLaunch on {id} (instances running keep their addresses)"
        );
        let call = async {
            ex.ec2
                .modify_subnet_attribute()
                .subnet_id(id)
                .map_public_ip_on_launch(AttributeBooleanValue::builder().value(false).build())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("ec2:ModifySubnetAttribute", e))
        };
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    /// One call that either turns the attribute off or not: nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Subnet, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        s: &Subnet,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            !maps_public_ip(&ex.subnet(self.subnet).await?)
        } else {
            !maps_public_ip(s)
        })
    }
}
