//! Network containment, the first thing isolation changes: each interface's groups recorded, then
//! the interface moved — in its own VPC — through the all-traffic group (EC2 stops tracking its
//! TCP and UDP connections, so the move to the empty quarantine group cuts them) to quarantine,
//! then its connection-tracking timeouts lowered to their minimums.
//!
//! The all-traffic group allows everything in and out: an interface must never be left in it. When
//! the move to quarantine fails, it is retried a bounded number of times, and if it still fails
//! the interface is moved back to its recorded groups; the outcome says which, before the function
//! returns.

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_ec2::types::{ConnectionTrackingSpecificationRequest, NetworkInterface};

use super::groups::{Rules, UNTRACK_GROUP};
use super::isolation::{groups_of, Subject};
use super::{tag, Executor, Outcome, PREVIOUS_GROUPS_TAG};
use crate::sdk_err;

/// How often a move that must happen (to quarantine, or back) is tried.
const ATTEMPTS: u32 = 3;

/// EC2's minimum idle timeouts (seconds): established TCP, UDP streams, other UDP.
const MIN_TIMEOUTS: (i32, i32, i32) = (60, 60, 30);

fn recorded(eni: &NetworkInterface) -> Option<Vec<String>> {
    eni.tag_set()
        .iter()
        .find(|t| t.key() == Some(PREVIOUS_GROUPS_TAG))
        .and_then(|t| t.value())
        .map(|v| v.split_whitespace().map(String::from).collect())
}

impl Executor<'_> {
    /// Record each interface's groups in its own tag before anything moves; an earlier record is
    /// the truth and is kept (a retry must not record the quarantine group as "previous").
    pub(super) async fn record_groups(
        &self,
        s: &Subject<'_>,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        for eni in &s.enis {
            let Some(eni_id) = eni.network_interface_id() else {
                continue;
            };
            if recorded(eni).is_some() || s.in_quarantine(eni) {
                continue;
            }
            let groups = groups_of(eni);
            self.step(
                out,
                protected,
                format!(
                    "record the groups of {eni_id} ({}) in its tag {PREVIOUS_GROUPS_TAG}",
                    groups.join(", ")
                ),
            );
            if self.acting(protected) {
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

    /// Move every interface not yet in quarantine there (through the all-traffic group), then
    /// lower its connection-tracking timeouts. A failure is returned only after the interface was
    /// repaired (or found impossible to repair, which the error says).
    pub(super) async fn contain(&self, s: &Subject<'_>, out: &mut Outcome) -> Result<()> {
        for eni in s.enis.iter().filter(|e| !s.in_quarantine(e)) {
            let (Some(eni_id), Some(vpc)) = (eni.network_interface_id(), s.vpc_of(eni)) else {
                continue;
            };
            let qsg = s
                .quarantine
                .get(vpc)
                .with_context(|| format!("no quarantine group for {vpc}"))?;
            let untrack = self
                .ensure_group(vpc, UNTRACK_GROUP, Rules::AllOpen, out, s.protected)
                .await?;
            self.step(
                out,
                s.protected,
                format!(
                    "move {eni_id} to {untrack} (its TCP and UDP connections become untracked), then to {qsg}: those connections are cut; then lower its connection-tracking timeouts to their minimums"
                ),
            );
            if !self.acting(s.protected) {
                continue;
            }
            let original = recorded(eni).unwrap_or_else(|| groups_of(eni));
            let moved = match self
                .set_groups(eni_id, std::slice::from_ref(&untrack))
                .await
            {
                Ok(()) => {
                    self.set_groups_retrying(eni_id, std::slice::from_ref(qsg))
                        .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = moved {
                let repair = self.repair(eni_id, qsg, &original).await;
                out.steps.push(repair.clone());
                return Err(e.context(repair));
            }
            self.lower_timeouts(eni_id, out).await;
        }
        Ok(())
    }

    /// After a failed move: quarantine if it can still be reached, else the recorded groups.
    async fn repair(&self, eni_id: &str, qsg: &str, original: &[String]) -> String {
        if self
            .set_groups_retrying(eni_id, &[qsg.to_string()])
            .await
            .is_ok()
        {
            return format!("repaired: {eni_id} moved on to {qsg}");
        }
        match self.set_groups_retrying(eni_id, original).await {
            Ok(()) => format!(
                "repaired: {eni_id} could not be quarantined and was moved back to its groups ({}): it is NOT isolated",
                original.join(", ")
            ),
            Err(e) => format!(
                "{eni_id} may still be in the all-traffic group {UNTRACK_GROUP}: move it to its groups ({}) by hand at once ({e:#})",
                original.join(", ")
            ),
        }
    }

    async fn set_groups_retrying(&self, eni_id: &str, groups: &[String]) -> Result<()> {
        let mut delay = Duration::from_millis(250);
        let mut last = None;
        for attempt in 1..=ATTEMPTS {
            match self.set_groups(eni_id, groups).await {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no attempt made")))
    }

    async fn set_groups(&self, eni_id: &str, groups: &[String]) -> Result<()> {
        self.ec2
            .modify_network_interface_attribute()
            .network_interface_id(eni_id)
            .set_groups(Some(groups.to_vec()))
            .send()
            .await
            .map_err(|e| sdk_err("ec2:ModifyNetworkInterfaceAttribute", e))?;
        Ok(())
    }

    /// Flows that stay tracked (ICMP; through NAT gateways and load balancers) expire once idle
    /// for EC2's minimum timeouts. Best effort: the interface is already in quarantine, and some
    /// instance types refuse the setting; the outcome says either way.
    async fn lower_timeouts(&self, eni_id: &str, out: &mut Outcome) {
        let (tcp, udp_stream, udp) = MIN_TIMEOUTS;
        let spec = ConnectionTrackingSpecificationRequest::builder()
            .tcp_established_timeout(tcp)
            .udp_stream_timeout(udp_stream)
            .udp_timeout(udp)
            .build();
        let res = self
            .ec2
            .modify_network_interface_attribute()
            .network_interface_id(eni_id)
            .connection_tracking_specification(spec)
            .send()
            .await;
        out.steps.push(match res {
            Ok(_) => {
                out.changed = true;
                format!("lowered {eni_id}'s connection-tracking timeouts to {tcp} s (TCP), {udp_stream} s (UDP streams), {udp} s (UDP)")
            }
            Err(e) => format!(
                "could not lower {eni_id}'s connection-tracking timeouts: {:#}",
                sdk_err("ec2:ModifyNetworkInterfaceAttribute", e)
            ),
        });
    }
}
