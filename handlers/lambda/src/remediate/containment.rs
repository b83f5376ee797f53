//! Network containment, the first thing isolation changes: each interface's groups (and its
//! connection-tracking timeouts) recorded, its timeouts lowered to EC2's minimums, then the
//! interface moved — in its own VPC — through the all-traffic group (EC2 stops tracking its TCP and
//! UDP connections, so the move to the empty quarantine group cuts them) to quarantine.
//!
//! The all-traffic group allows everything: an interface must never be left in it. The moves use
//! a client with a short operation timeout and few attempts, each interface's move to quarantine is
//! tried again for a bounded time (EC2 throttles per account and region) and then the interface is
//! moved back to its recorded groups; after a failed move the VPC's all-traffic group is closed at
//! once and the VPC's later interfaces go straight to quarantine (never through a group that may
//! hold a stranded interface); and the pass through the all-traffic group is skipped when the
//! invocation has too little time left for that repair. The group's rules are opened just before use and closed after, so it allows
//! nothing between isolations (scanners flag a world-open group even unattached).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::config::timeout::TimeoutConfig;
use aws_sdk_ec2::types::NetworkInterface;

use super::groups::{QUARANTINE_GROUP, UNTRACK_GROUP};
use super::isolation::{groups_of, Subject, NOT_CUT};
use super::tracking::{tag_value, tracking_record, PREVIOUS_TRACKING_TAG};
use super::{tag, Executor, Outcome, PREVIOUS_GROUPS_TAG};
use crate::sdk_err;

/// Why an interface goes straight to quarantine when time is short.
const TOO_LATE: &str =
    "too little time left to pass through the all-traffic group and repair a failure";

/// How long a move that must happen (to quarantine, or back) is tried, with growing waits: EC2
/// throttles per account and region, shared with every other workload there
/// (`RequestLimitExceeded`), so a fixed number of quick attempts can all be refused.
pub(super) const MUST_MOVE: Duration = Duration::from_secs(8);

/// One call's SDK budget on the quick client: EC2 answers in well under a second; a stuck call must
/// not eat the time the repair needs.
const MOVE_TIMEOUT: Duration = Duration::from_secs(3);

/// The time a pass through the all-traffic group needs in the worst case, every call on the quick
/// client taking its whole [`MOVE_TIMEOUT`]: the move in (3 s), the check that the group is still
/// open and its re-opening (9 s), the move to quarantine and, failing that, the move back, each
/// tried for [`MUST_MOVE`] plus a last call (2 × 11 s), the timeouts put back (3 s): 37 s; then the
/// close, whose first step — the four all-traffic rules revoked, which contains whatever is in the
/// group — takes 12 s at worst; the rest of the close (its listing and verifying reads) is cut at
/// [`super::untrack::RECORD_RESERVE`] before the deadline, which is kept for recording the outcome:
/// 37 + 12 + 10 = 59 s. Deploy gives the remediation function at least
/// `secauto_core::REMEDIATION_MIN_TIMEOUT_SECONDS`.
const REPAIR_BUDGET: Duration = Duration::from_secs(65);

/// The tag holding the groups past the first [`GROUPS_PER_TAG`] (a tag value holds 256 characters;
/// an interface may have 16 groups).
const MORE_GROUPS_TAG: &str = "secauto:previous-security-groups-2";
const GROUPS_PER_TAG: usize = 12;

/// The groups recorded on the interface, if any.
fn recorded(eni: &NetworkInterface) -> Option<Vec<String>> {
    let first = tag_value(eni, PREVIOUS_GROUPS_TAG)?;
    let more = tag_value(eni, MORE_GROUPS_TAG).unwrap_or_default();
    Some(
        first
            .split_whitespace()
            .chain(more.split_whitespace())
            .map(String::from)
            .collect(),
    )
}

/// Where a failed move to quarantine sends the interface back: the groups this run recorded (its
/// present ones, or an earlier run's record when it is already in isolation's groups), never the
/// all-traffic group — quarantine instead when nothing else is known.
fn repair_target(eni: &NetworkInterface, untrack: &str, quarantine: &str) -> Vec<String> {
    let groups = if in_our_groups(eni) {
        recorded(eni).unwrap_or_default()
    } else {
        groups_of(eni)
    };
    let groups: Vec<String> = groups.into_iter().filter(|g| g != untrack).collect();
    if groups.is_empty() {
        vec![quarantine.to_string()]
    } else {
        groups
    }
}

/// The caveat of an interface contained without its tracked connections cut, said before all else.
/// How the caveat of an interface whose connections were not cut begins.
const UNCUT: &str = "the tracked connections of ";

fn not_cut(eni_id: &str) -> String {
    format!("{UNCUT}{eni_id} were NOT cut (it went straight to quarantine): stop the instance (quarantine-instance) to end them")
}

/// Whether an interface went to quarantine with its tracked connections not cut.
pub(super) fn left_uncut(out: &Outcome) -> bool {
    out.caveats.iter().any(|c| c.starts_with(UNCUT))
}

/// Is the interface in one of isolation's own groups (a run got past the record)?
fn in_our_groups(eni: &NetworkInterface) -> bool {
    eni.groups()
        .iter()
        .any(|g| matches!(g.group_name(), Some(QUARANTINE_GROUP | UNTRACK_GROUP)))
}

impl Executor<'_> {
    /// Record each interface's groups and timeouts in its own tags before anything changes. The
    /// interface's present groups are the truth unless it is already in one of isolation's groups
    /// (a retry): then the earlier record is kept.
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
            if in_our_groups(eni) || eni.requester_managed() == Some(true) {
                continue;
            }
            let groups = groups_of(eni);
            let (first, more) = groups.split_at(groups.len().min(GROUPS_PER_TAG));
            let tracking = tracking_record(eni);
            let call = async {
                self.ec2
                    .create_tags()
                    .resources(eni_id)
                    .tags(tag(PREVIOUS_GROUPS_TAG, &first.join(" ")))
                    .tags(tag(MORE_GROUPS_TAG, &more.join(" ")))
                    .tags(tag(PREVIOUS_TRACKING_TAG, &tracking))
                    .tags(tag("secauto:finding", self.finding_id))
                    .send()
                    .await
                    .map_err(|e| sdk_err("ec2:CreateTags", e))
            };
            let what = format!(
                "record the groups of {eni_id} ({}) and its connection-tracking timeouts in its tags",
                groups.join(", ")
            );
            if let Err(e) = self.act(out, protected, what, call).await {
                // A record that cannot be written must not keep the instance open: it is said
                // in the note and the message instead, and containment goes on.
                out.caveats.push(format!(
                    "the undo record of {eni_id} is this note only (groups {}; timeouts {tracking}): {e:#}",
                    groups.join(" ")
                ));
            }
        }
        Ok(())
    }

    /// Contain every interface not yet in quarantine (each tried, whatever another's fate), then
    /// close the all-traffic groups used. An error is returned only after every interface was
    /// repaired or said to need a hand.
    pub(super) async fn contain(&self, s: &Subject<'_>, out: &mut Outcome) -> Result<()> {
        let mut failed = Vec::new();
        let mut opened = BTreeSet::new();
        let mut lowered = true;
        // VPCs where a move failed: their later interfaces go straight to quarantine, never through
        // the all-traffic group again (re-opening it would open it to an interface left in it).
        let mut broken: BTreeSet<String> = BTreeSet::new();
        let ours: BTreeSet<String> = s
            .enis
            .iter()
            .filter_map(|e| e.network_interface_id().map(String::from))
            .collect();
        for eni in s.enis.iter().filter(|e| !s.in_quarantine(e)) {
            let (Some(eni_id), Some(vpc)) = (eni.network_interface_id(), s.vpc_of(eni)) else {
                continue;
            };
            if eni.requester_managed() == Some(true) {
                out.steps.push(format!(
                    "{eni_id} is managed by {} and cannot be moved: the instance is not fully isolated",
                    eni.requester_id().unwrap_or("another service")
                ));
                continue;
            }
            let qsg = s
                .quarantine
                .get(vpc)
                .with_context(|| format!("no quarantine group for {vpc}"))?;
            lowered &= self.lower_timeouts(eni_id, out, s.protected).await;
            let moved = if broken.contains(vpc) {
                let why = "a move failed in its VPC: the all-traffic group is not opened again";
                self.move_straight(s, eni, qsg, out, why).await
            } else {
                self.move_one(s, eni, vpc, qsg, out, &mut opened).await
            };
            if let Err(e) = moved {
                failed.push(format!("{e:#}"));
                broken.insert(vpc.to_string());
            }
            // Closed after each pass, landed or not, before the next interface's calls (which
            // may be slow under throttling): it is opened again if one passes through it.
            self.close_opened_in(vpc, &ours, &mut opened, out, &mut failed)
                .await;
        }
        // Every all-traffic group this run opened is closed, whatever failed (each was closed
        // after its pass; this is the guarantee): an interface a failed repair left in one is
        // contained by its closing.
        let vpcs: BTreeSet<String> = opened.iter().map(|(vpc, _)| vpc.clone()).collect();
        for vpc in vpcs {
            self.close_opened_in(&vpc, &ours, &mut opened, out, &mut failed)
                .await;
        }
        out.caveats.push(if lowered {
            NOT_CUT.to_string()
        } else {
            format!("{NOT_CUT}; but EC2 refused to lower the timeouts of some interfaces, whose tracked flows keep EC2's defaults (established TCP: up to 5 days)")
        });
        match failed.is_empty() {
            true => Ok(()),
            false => anyhow::bail!("{}", failed.join("; ")),
        }
    }

    /// Close the all-traffic group this run opened in `vpc`, if any, and forget it: a world-open
    /// group left behind is a failure of the run, not a note.
    async fn close_opened_in(
        &self,
        vpc: &str,
        ours: &BTreeSet<String>,
        opened: &mut BTreeSet<(String, String)>,
        out: &mut Outcome,
        failed: &mut Vec<String>,
    ) {
        let mine: Vec<(String, String)> =
            opened.iter().filter(|(v, _)| v == vpc).cloned().collect();
        for (vpc, untrack) in mine {
            opened.remove(&(vpc.clone(), untrack.clone()));
            if let Err(e) = self.close_untrack(&vpc, &untrack, ours, out).await {
                failed.push(format!(
                    "could not close the all-traffic group {untrack} of {vpc}: remove its rules by hand ({e:#})"
                ));
            }
        }
    }

    /// Move one interface to quarantine, through the all-traffic group when there is time to
    /// repair a failure. The all-traffic group is added to `opened` as soon as it is opened, so the
    /// caller closes it whatever happens next.
    async fn move_one(
        &self,
        s: &Subject<'_>,
        eni: &NetworkInterface,
        vpc: &str,
        qsg: &str,
        out: &mut Outcome,
        opened: &mut BTreeSet<(String, String)>,
    ) -> Result<()> {
        let eni_id = eni.network_interface_id().unwrap_or_default();
        if !self.time_to_cut() {
            return self.move_straight(s, eni, qsg, out, TOO_LATE).await;
        }
        if self.acting(s.protected) {
            match self.groups_now(eni_id).await {
                Ok(now) if now.len() == 1 && now[0].0 == qsg => {
                    out.steps.push(format!(
                        "{eni_id} is in {qsg} already (another run isolated it meanwhile): not moved"
                    ));
                    return Ok(());
                }
                // Left there by an earlier run's failed move (the Lambda retry of a failed run
                // comes here): opening the group again would open it to the interface.
                Ok(now) if now.iter().any(|(_, name)| name == UNTRACK_GROUP) => {
                    let why = "it is still in the all-traffic group, left there by an earlier run: the group is not opened again over it";
                    let moved = self.move_straight(s, eni, qsg, out, why).await;
                    // A run killed mid-pass left that group open: it is closed with this run's.
                    for (id, _) in now.iter().filter(|(_, name)| name == UNTRACK_GROUP) {
                        opened.insert((vpc.to_string(), id.clone()));
                    }
                    return moved;
                }
                Ok(_) => {}
                // Its timeouts are lowered already: contain it (a failed move puts them back).
                Err(e) => {
                    out.steps.push(format!(
                        "could not read {eni_id} again ({e:#}): it goes straight to quarantine"
                    ));
                    return self
                        .move_straight(s, eni, qsg, out, "it could not be read again")
                        .await;
                }
            }
        }
        // When the all-traffic group cannot be made ready (a refused Authorize, a quota, a group
        // not yet visible), the interface is still contained: straight to quarantine.
        let untrack = match self
            .find_or_make_untrack(vpc, out, s.protected, opened)
            .await
        {
            Ok(u) => u,
            Err(e) => {
                out.steps.push(format!(
                    "could not ready {UNTRACK_GROUP} in {vpc} ({e:#}): {eni_id} goes straight to quarantine"
                ));
                let why = "the all-traffic group could not be made ready";
                return self.move_straight(s, eni, qsg, out, why).await;
            }
        };
        // Making the group ready may have taken long (throttling): the time is checked again
        // just before the interface enters it.
        if !self.time_to_cut() {
            return self.move_straight(s, eni, qsg, out, TOO_LATE).await;
        }
        let what = format!(
            "move {eni_id} to {untrack} (its TCP and UDP connections become untracked), then to {qsg}: those connections are cut"
        );
        if !self.acting(s.protected) {
            self.step(out, s.protected, what);
            return Ok(());
        }
        let original = repair_target(eni, &untrack, qsg);
        // A refused move in (a group just made and not yet visible to EC2, throttling) leaves the
        // interface where it was, uncontained: it goes straight to quarantine, which is retried.
        if let Err(e) = self
            .set_groups(eni_id, std::slice::from_ref(&untrack))
            .await
        {
            out.steps.push(format!(
                "could not move {eni_id} into {untrack} ({e:#}): it goes straight to quarantine"
            ));
            let why = "its move into the all-traffic group was refused";
            return self.move_straight(s, eni, qsg, out, why).await;
        }
        if !self.still_open(&untrack, out).await {
            out.caveats.push(not_cut(eni_id));
        }
        let moved = self.set_groups_retrying(eni_id, &[qsg.to_string()]).await;
        if let Err(e) = moved {
            out.steps.push(format!("failed to {what}"));
            let repair = self.repair(eni, &original, qsg).await;
            out.steps.extend(repair.iter().cloned());
            return Err(e.context(repair.join("; ")));
        }
        self.step(out, s.protected, what);
        Ok(())
    }

    /// Whether the invocation has the time a pass through the all-traffic group may need to be
    /// repaired.
    fn time_to_cut(&self) -> bool {
        self.deadline
            .is_none_or(|d| d.saturating_duration_since(Instant::now()) >= REPAIR_BUDGET)
    }

    /// Straight to quarantine: contained, its tracked connections not cut. A move that fails
    /// leaves the interface in its groups, its timeouts put back.
    async fn move_straight(
        &self,
        s: &Subject<'_>,
        eni: &NetworkInterface,
        qsg: &str,
        out: &mut Outcome,
        why: &str,
    ) -> Result<()> {
        let eni_id = eni.network_interface_id().unwrap_or_default();
        let what = format!(
            "move {eni_id} straight to {qsg} ({why}): it is contained, but its tracked connections are not cut"
        );
        let target = [qsg.to_string()];
        let call = self.set_groups_retrying(eni_id, &target);
        if let Err(e) = self.act(out, s.protected, what, call).await {
            let restored = self.restore_timeouts(eni_id, &tracking_record(eni)).await;
            out.steps.push(restored);
            return Err(e);
        }
        out.caveats.push(not_cut(eni_id));
        Ok(())
    }

    /// The interface's groups (id, name) by a fresh read: two runs on one instance (a duplicate
    /// delivery, several findings of it, Lambda's retry of a failed run) must not move an
    /// interface the other has just quarantined back through the all-traffic group, nor open
    /// that group again over an interface a failed run left in it.
    async fn groups_now(&self, eni_id: &str) -> Result<Vec<(String, String)>> {
        let found = self
            .ec2
            .describe_network_interfaces()
            .network_interface_ids(eni_id)
            .send()
            .await
            .map_err(|e| sdk_err("ec2:DescribeNetworkInterfaces", e))?;
        Ok(found
            .network_interfaces()
            .first()
            .map(|e| {
                e.groups()
                    .iter()
                    .map(|g| {
                        let id = g.group_id().unwrap_or_default().to_string();
                        (id, g.group_name().unwrap_or_default().to_string())
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// After a failed move to quarantine: back to the recorded groups, and — when it is back in
    /// them, not isolated — its connection-tracking timeouts put back as recorded.
    async fn repair(&self, eni: &NetworkInterface, original: &[String], qsg: &str) -> Vec<String> {
        let eni_id = eni.network_interface_id().unwrap_or_default();
        match self.set_groups_retrying(eni_id, original).await {
            Ok(()) if original != [qsg.to_string()] => vec![
                format!(
                    "repaired: {eni_id} could not be quarantined and was moved back to its groups ({}): it is NOT isolated",
                    original.join(", ")
                ),
                self.restore_timeouts(eni_id, &tracking_record(eni)).await,
            ],
            Ok(()) => vec![format!(
                "{eni_id} could not pass through the all-traffic group and was moved to {}",
                original.join(", ")
            )],
            Err(e) => vec![format!(
                "{eni_id} may still be in the all-traffic group {UNTRACK_GROUP}: move it to its groups ({}) by hand at once ({e:#})",
                original.join(", ")
            )],
        }
    }

    /// Move the interface to `groups` on the quick client, tried again with growing waits until
    /// [`MUST_MOVE`] has passed.
    pub(super) async fn set_groups_retrying(&self, eni_id: &str, groups: &[String]) -> Result<()> {
        let until = Instant::now() + MUST_MOVE;
        // A try may start until MUST_MOVE has passed: the last one may take its whole budget.
        crate::retry::until_done(until, Duration::ZERO, || self.set_groups(eni_id, groups)).await
    }

    /// This executor with the quick client: what must happen in bounded time.
    pub(super) fn quick_executor<'q>(&'q self, quick: &'q aws_sdk_ec2::Client) -> Executor<'q> {
        Executor {
            ec2: quick,
            ..*self
        }
    }

    /// The EC2 client for what must happen in bounded time (the moves, the repair, the close):
    /// two attempts within [`MOVE_TIMEOUT`] per call.
    pub(super) fn quick(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::from_conf(
            self.ec2
                .config()
                .to_builder()
                .retry_config(RetryConfig::standard().with_max_attempts(2))
                .timeout_config(
                    TimeoutConfig::builder()
                        .operation_timeout(MOVE_TIMEOUT)
                        .build(),
                )
                .build(),
        )
    }

    /// One move, with a budget of its own.
    async fn set_groups(&self, eni_id: &str, groups: &[String]) -> Result<()> {
        self.quick()
            .modify_network_interface_attribute()
            .network_interface_id(eni_id)
            .set_groups(Some(groups.to_vec()))
            .send()
            .await
            .map_err(|e| sdk_err("ec2:ModifyNetworkInterfaceAttribute", e))?;
        Ok(())
    }
}
