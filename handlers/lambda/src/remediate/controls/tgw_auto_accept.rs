//! EC2.23: a transit gateway that accepts shared attachments by itself. Precondition: the transit
//! gateway exists, is `available` (EC2 refuses to modify one in another state:
//! `IncorrectState`), and `AutoAcceptSharedAttachments` is `enable`. Record:
//! `secauto:previous-auto-accept-shared-attachments=enable` in its tags (an earlier run's tag is
//! kept). Change: ModifyTransitGateway with that option alone set to `disable` (attachments made
//! stay; route tables and other options are untouched). Verification: a re-read.
//! Undo: `aws ec2 modify-transit-gateway --transit-gateway-id tgw-… --options
//! AutoAcceptSharedAttachments=enable`, then delete the tag.

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{
    AutoAcceptSharedAttachmentsValue, ModifyTransitGatewayOptions, TransitGateway,
    TransitGatewayState,
};

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use super::{ec2_tags, refuse};
use crate::sdk_err;

/// The tag recording that the transit gateway accepted shared attachments by itself.
pub const PREVIOUS_AUTO_ACCEPT_TAG: &str = "secauto:previous-auto-accept-shared-attachments";

impl Executor<'_> {
    /// Stop the transit gateway accepting shared attachments by itself (EC2.23).
    pub async fn disable_tgw_auto_accept(&self, id: &str) -> Result<Outcome, Failed> {
        self.carry_out(&TgwAutoAccept { id }).await
    }

    async fn transit_gateway(&self, id: &str) -> Result<TransitGateway> {
        let out = self
            .ec2
            .describe_transit_gateways()
            .transit_gateway_ids(id)
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeTransitGateways", e))?;
        out.transit_gateways()
            .first()
            .cloned()
            .with_context(|| format!("transit gateway {id} not found"))
    }
}

fn auto_accepts(t: &TransitGateway) -> bool {
    t.options().and_then(|o| o.auto_accept_shared_attachments())
        == Some(&AutoAcceptSharedAttachmentsValue::Enable)
}

struct TgwAutoAccept<'a> {
    id: &'a str,
}

impl Remediation for TgwAutoAccept<'_> {
    type Subject = TransitGateway;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<TransitGateway>> {
        let t = ex.transit_gateway(self.id).await?;
        let state = t.state().cloned();
        if auto_accepts(&t) && state != Some(TransitGatewayState::Available) {
            let state = state.map(|s| s.as_str().to_string()).unwrap_or_default();
            refuse(
                out,
                format!(
                    "{} is {state}, not available: EC2 modifies only an available transit gateway; nothing is changed",
                    self.id
                ),
            );
            return Ok(None);
        }
        Ok(Some(t))
    }

    fn touches(&self, t: &TransitGateway) -> Vec<Touched> {
        vec![Touched {
            id: self.id.to_string(),
            tags: ec2_tags(t.tags()),
        }]
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        t: &TransitGateway,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        if !auto_accepts(t) {
            return Ok(());
        }
        let tags = ec2_tags(t.tags());
        let record = (PREVIOUS_AUTO_ACCEPT_TAG, "enable");
        ex.record_in_ec2_tags(self.id, &tags, record, out, protected)
            .await
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        t: &TransitGateway,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let id = self.id;
        if !auto_accepts(t) {
            out.steps.push(format!(
                "{id} already waits for shared attachments to be accepted"
            ));
            return Ok(());
        }
        let what = format!(
            "turn off AutoAcceptSharedAttachments on {id} (its attachments and routes stay)"
        );
        let options = ModifyTransitGatewayOptions::builder()
            .auto_accept_shared_attachments(AutoAcceptSharedAttachmentsValue::Disable)
            .build();
        let call = async {
            ex.ec2
                .modify_transit_gateway()
                .transit_gateway_id(id)
                .options(options)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("ec2:ModifyTransitGateway", e))
        };
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    /// One call that either turns the option off or not: nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &TransitGateway, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        t: &TransitGateway,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            !auto_accepts(&ex.transit_gateway(self.id).await?)
        } else {
            !auto_accepts(t)
        })
    }
}
