//! The all-traffic group's life within one run: found or made and opened just before an interface
//! passes through it; checked again once the interface is in it (a concurrent run that finished may
//! have closed it, and then the interface's connections would stay tracked); and closed after use —
//! once no other run's interface is passing through it (a bounded wait: an interface that stays is
//! contained by the closing), with the quick client, inside the time the run kept for it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Result;
use aws_sdk_ec2::types::Filter;

use super::containment::MUST_MOVE;
use super::groups::{
    allows_all, close_all_traffic, read_group, Rules, QUARANTINE_GROUP, UNTRACK_GROUP,
};
use super::isolation::{groups_of, Subject};
use super::{Executor, Outcome};
use crate::sdk_err;

/// How long the close waits for another run's interfaces to leave the group.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// The time the close keeps for itself, whatever the wait: a read, the four all-traffic rules
/// revoked one by one, a listing and the verifying reads, with the quick client, tried again for
/// [`CLOSE_TRIES_FOR`].
pub(super) const CLOSE_RESERVE: Duration = Duration::from_secs(25);

/// How long a close that fails is tried again.
const CLOSE_TRIES_FOR: Duration = Duration::from_secs(20);

/// The time kept at the end of the invocation for recording the outcome (the finding, SNS): the
/// close is cut there.
pub(super) const RECORD_RESERVE: Duration = Duration::from_secs(10);

/// One close's worst case on the quick client: its four all-traffic revokes (3 s each).
const CLOSE_ATTEMPT: Duration = Duration::from_secs(12);

/// The last call of a move tried for [`MUST_MOVE`] (one quick call's budget).
const MOVE_LAST: Duration = Duration::from_secs(3);

impl Executor<'_> {
    /// Isolation's repair after a failure: a fresh read of the instance's interfaces; any still in
    /// its VPC's all-traffic group is moved on to quarantine and that group closed. Containment
    /// repairs each move where it fails; this makes sure, whatever path failed, that none is left
    /// in a group that allows everything.
    pub(super) async fn sweep(&self, s: &Subject<'_>, out: &mut Outcome) -> Result<()> {
        let quick = self.quick();
        let this = self.quick_executor(&quick);
        this.sweep_with(s, out).await
    }

    async fn sweep_with(&self, s: &Subject<'_>, out: &mut Outcome) -> Result<()> {
        let inst = self.instance(s.id).await?;
        let enis = self.interfaces(&inst).await?;
        let ours: BTreeSet<String> = enis
            .iter()
            .filter_map(|e| e.network_interface_id().map(String::from))
            .collect();
        let mut failed = Vec::new();
        for vpc in s.vpc_of_all() {
            let Some(untrack) = self.find_group(&vpc, UNTRACK_GROUP).await? else {
                continue;
            };
            let mut left: Vec<&str> = enis
                .iter()
                .filter(|e| groups_of(e).contains(&untrack))
                .filter_map(|e| e.network_interface_id())
                .collect();
            if left.is_empty() {
                continue;
            }
            let qsg = match self.find_group(&vpc, QUARANTINE_GROUP).await? {
                Some(q) => vec![q],
                None => vec![],
            };
            // The moves only with time for them, the close and the record: the close contains.
            let needs = MUST_MOVE + MOVE_LAST + CLOSE_ATTEMPT + RECORD_RESERVE;
            if self
                .deadline
                .is_some_and(|d| d.saturating_duration_since(Instant::now()) < needs)
            {
                failed.push(format!(
                    "{} left in the all-traffic group {untrack} with no time to move them: the close contains them; move them to quarantine by hand",
                    left.join(", ")
                ));
                left.clear();
            }
            for eni_id in left {
                match self.set_groups_retrying(eni_id, &qsg).await {
                    Ok(()) => out.steps.push(format!(
                        "repair: {eni_id} was still in the all-traffic group {untrack}: moved to {}",
                        qsg.first().map_or("quarantine", String::as_str)
                    )),
                    Err(e) => failed.push(format!(
                        "{eni_id} is still in the all-traffic group {untrack}: move it out by hand at once ({e:#})"
                    )),
                }
            }
            if let Err(e) = self.close_untrack(&vpc, &untrack, &ours, out).await {
                failed.push(format!(
                    "could not close the all-traffic group {untrack} of {vpc}: remove its rules by hand ({e:#})"
                ));
            }
        }
        match failed.is_empty() {
            true => Ok(()),
            false => anyhow::bail!("{}", failed.join("; ")),
        }
    }

    /// The all-traffic group of `vpc`, opened; recorded in `opened` before its rules are opened,
    /// so a failure half-way still gets it closed.
    pub(super) async fn find_or_make_untrack(
        &self,
        vpc: &str,
        out: &mut Outcome,
        protected: bool,
        opened: &mut BTreeSet<(String, String)>,
    ) -> Result<String> {
        if !self.acting(protected) {
            return self
                .ensure_group(vpc, UNTRACK_GROUP, Rules::AllOpen, out, protected)
                .await;
        }
        // Recorded before any rule is added: a failure half-way through the opening (one direction
        // authorized, the other refused) still gets the group closed.
        let id = self
            .made_group(vpc, UNTRACK_GROUP, Rules::AllOpen, out, protected)
            .await?;
        self.refuse_over_stranded(&id).await?;
        opened.insert((vpc.to_string(), id.clone()));
        self.set_rules(&id, UNTRACK_GROUP, Rules::AllOpen, out, protected)
            .await?;
        Ok(id)
    }

    /// A closed all-traffic group that holds interfaces holds ones a failed run left there (a pass
    /// opens the group before its interface enters): it is not opened again over them — that
    /// would open them to the world — and this run's interfaces go straight to quarantine.
    async fn refuse_over_stranded(&self, id: &str) -> Result<()> {
        let quick = self.quick();
        let inside = passing_through(&quick, id).await?;
        if inside.is_empty() {
            return Ok(());
        }
        // Open both ways: another run's interface is passing through it now, and that run closes
        // it. Half open is a close that failed midway over an interface left there.
        let g = read_group(&quick, id).await?;
        if allows_all(g.ip_permissions()) && allows_all(g.ip_permissions_egress()) {
            return Ok(());
        }
        anyhow::bail!(
            "{} left in the closed all-traffic group {id} by an earlier run: it is not opened again over them (move them to quarantine by hand)",
            inside.join(", ")
        )
    }

    /// With an interface in it: is the group still open? Another run closing it under the
    /// interface would leave its connections tracked, so it is opened again (this run closes it).
    /// False when it could not be: the interface is contained, its connections not cut.
    pub(super) async fn still_open(&self, id: &str, out: &mut Outcome) -> bool {
        let quick = self.quick();
        let g = match read_group(&quick, id).await {
            Ok(g) => g,
            Err(_) => return false,
        };
        if allows_all(g.ip_permissions()) && allows_all(g.ip_permissions_egress()) {
            return true;
        }
        out.steps.push(format!(
            "{UNTRACK_GROUP} {id} was closed by another run while in use: opened again"
        ));
        self.quick_executor(&quick)
            .open_rules(&g, id, UNTRACK_GROUP, out, false)
            .await
            .is_ok()
    }

    /// Close the all-traffic group after use: it allows nothing between isolations. The wait is
    /// for other runs' interfaces only: one of `ours` (the instance being isolated) still inside
    /// is one this run failed to move, which the close contains.
    pub(super) async fn close_untrack(
        &self,
        vpc: &str,
        id: &str,
        ours: &BTreeSet<String>,
        out: &mut Outcome,
    ) -> Result<()> {
        let quick = self.quick();
        let mut until = Instant::now() + CLOSE_WAIT;
        if let Some(deadline) = self.deadline {
            until = until.min(deadline.checked_sub(CLOSE_RESERVE).unwrap_or(deadline));
        }
        // A read that fails ends the wait, never the close.
        let others = |inside: &[String]| inside.iter().any(|e| !ours.contains(e));
        let mut inside = passing_through(&quick, id).await.unwrap_or_default();
        while others(&inside) && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(250)).await;
            inside = passing_through(&quick, id).await.unwrap_or_default();
        }
        if !inside.is_empty() {
            out.steps.push(format!(
                "{} still in {UNTRACK_GROUP} {id}: closing it contains them",
                inside.join(", ")
            ));
        }
        // Closed whatever a read says: a read just after the rules were added may not show them.
        let what = format!(
            "close {UNTRACK_GROUP} {id} of {vpc}: its rules removed, it allows nothing between isolations"
        );
        self.act(out, false, what, self.close_retrying(&quick, id))
            .await?;
        Ok(())
    }

    /// The close, tried again with growing waits (throttling is shared with the account's other
    /// workloads) for [`CLOSE_TRIES_FOR`], and cut [`RECORD_RESERVE`] before the invocation's end:
    /// its first step, the four all-traffic revokes, is what contains.
    async fn close_retrying(&self, quick: &aws_sdk_ec2::Client, id: &str) -> Result<()> {
        let mut until = Instant::now() + CLOSE_TRIES_FOR;
        if let Some(deadline) = self.deadline {
            until = until.min(deadline.checked_sub(RECORD_RESERVE).unwrap_or(deadline));
        }
        let tries = crate::retry::until_done(until, CLOSE_ATTEMPT, || close_all_traffic(quick, id));
        let left = until.saturating_duration_since(Instant::now());
        // At least one whole attempt (its revokes contain), but never past the invocation's end:
        // Lambda would stop the run mid-revoke with nothing recorded.
        let mut budget = left.max(CLOSE_ATTEMPT);
        if let Some(deadline) = self.deadline {
            let hard = deadline.saturating_duration_since(Instant::now());
            budget = budget.min(hard.saturating_sub(Duration::from_secs(1)));
        }
        match tokio::time::timeout(budget, tries).await {
            Ok(closed) => closed,
            Err(_) => anyhow::bail!(
                "the close of {id} was cut short to leave time for recording the outcome: check that it allows nothing"
            ),
        }
    }
}

/// The interfaces in the group now (another run's, passing through; or one a failed run left).
async fn passing_through(ec2: &aws_sdk_ec2::Client, id: &str) -> Result<Vec<String>> {
    let found = ec2
        .describe_network_interfaces()
        .filters(Filter::builder().name("group-id").values(id).build())
        .send()
        .await
        .map_err(|e| sdk_err("ec2:DescribeNetworkInterfaces", e))?;
    Ok(found
        .network_interfaces()
        .iter()
        .filter_map(|e| e.network_interface_id().map(String::from))
        .collect())
}
