//! Remediation's vouching: the finding a response event names is read again from Security Hub,
//! in its own format and in the finding's own account and region, and the event is acted on only
//! when Security Hub vouches for it — the event alone is never trusted.

use anyhow::Result;
use secauto_core::response::FindingSummary;
use secauto_core::{Finding, ResponseEvent};

use crate::findings;
use crate::findings_v2::{self, OcsfTarget};
use crate::Clients;

/// What Security Hub says of the finding a response event names, read again before acting: the
/// event alone is never trusted (anyone who may put events could forge one, and a retried or
/// duplicate event must not act twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vouched {
    /// The finding exists, is ACTIVE, not PASSED, and names the resource: act.
    Act,
    /// Already remediated (the finding's own `secauto:remediation=done`, RESOLVED): do nothing.
    AlreadyDone,
    /// Do not act, and why.
    Refuse(String),
}

/// Read the finding again in its own format (GetFindings for ASFF, GetFindingsV2 by its OCSF
/// identity for OCSF) and decide whether the event may be acted on.
pub async fn vouch(clients: &Clients, event: &ResponseEvent) -> Result<Vouched> {
    Ok(vouch_live(clients, event, None).await?.0)
}

/// [`vouch`] before `deadline` (the invocation's end: an OCSF finding is read again while
/// Security Hub does not return it yet, [`findings_v2::get_before`]), and the live finding.
pub(crate) async fn vouch_live(
    clients: &Clients,
    event: &ResponseEvent,
    deadline: Option<std::time::Instant>,
) -> Result<(Vouched, Option<Finding>)> {
    let f = &event.finding;
    let live = match f.ocsf.as_ref().and_then(OcsfTarget::of) {
        Some(target) => findings_v2::get_before(&clients.securityhub, &target, deadline).await?,
        None => findings::get(&clients.securityhub, &f.id, &f.product_arn)
            .await?
            .ok_or_else(|| {
                format!(
                    "Security Hub has no finding {} of {}: the event is not acted on",
                    f.id, f.product_arn
                )
            }),
    };
    Ok(match live {
        Ok(live) => (judge(event, &live), Some(live)),
        Err(why) => (Vouched::Refuse(why), None),
    })
}

/// What the live finding says of the event (see [`vouch`]).
pub(crate) fn judge(event: &ResponseEvent, live: &Finding) -> Vouched {
    let f = &event.finding;
    if live.record_state.as_deref() == Some("ARCHIVED") {
        return Vouched::Refuse(format!("finding {} is ARCHIVED", f.id));
    }
    let status = live.workflow_status();
    if live.is_ocsf() {
        // OCSF status_id 3 Suppressed, 4 Resolved (5 Archived is ARCHIVED above).
        if status == "SUPPRESSED" {
            return Vouched::Refuse(format!("finding {} is Suppressed", f.id));
        }
        // Resolved by secauto (its comment) is done; by anyone else, it is not acted on and
        // not reopened, as for ASFF below.
        if status == "RESOLVED" {
            // secauto's own resolving comments: "did …", or a twin's "already remediated".
            let ours = live.note.as_ref().is_some_and(|n| {
                n.text.starts_with("secauto remediation did ")
                    || (n.text.starts_with("secauto remediation of ")
                        && n.text.contains(": already remediated (fact "))
            });
            if ours {
                return Vouched::AlreadyDone;
            }
            return Vouched::Refuse(format!(
                "finding {} is Resolved in Security Hub: closed by someone else, it is not acted on (set it to New to have it remediated)",
                f.id
            ));
        }
    }
    let compliance = live.compliance.as_ref().and_then(|c| c.status.as_deref());
    if let Some(status @ ("PASSED" | "NOT_AVAILABLE")) = compliance {
        return Vouched::Refuse(format!(
            "finding {} has compliance status {status}: nothing to fix",
            f.id
        ));
    }
    if let Some(why) = elsewhere(f, live) {
        return Vouched::Refuse(why);
    }
    if let Some(kind) = event.action.resource_type() {
        let wanted: Vec<&str> = f
            .resources
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.id.as_str())
            .collect();
        if !live
            .resources
            .iter()
            .any(|r| wanted.contains(&r.id.as_str()))
        {
            return Vouched::Refuse(format!(
                "finding {} in Security Hub does not name the {kind} the event asks to change ({})",
                f.id,
                wanted.join(", ")
            ));
        }
    }
    let done = live
        .user_defined_fields
        .get("secauto:remediation")
        .map(String::as_str)
        == Some("done");
    match status {
        "RESOLVED" if done => Vouched::AlreadyDone,
        // Someone closed it while its event waited (even after an analyst's "Trigger
        // remediation"): remediation never reopens a closed finding.
        "RESOLVED" | "SUPPRESSED" => Vouched::Refuse(format!(
            "finding {} is {status} in Security Hub: closed by someone else, it is not acted on (set it to NEW or NOTIFIED to have it remediated)",
            f.id
        )),
        _ => Vouched::Act,
    }
}

/// Remediation acts in the account and region the finding names: Security Hub's, not the event's.
fn elsewhere(f: &FindingSummary, live: &Finding) -> Option<String> {
    for (what, live, said) in [
        ("AwsAccountId", live.account(), f.account.as_deref()),
        ("Region", live.region.as_deref(), f.region.as_deref()),
    ] {
        if let (Some(live), Some(said)) = (live, said) {
            if live != said {
                return Some(format!(
                    "finding {} has {what} {live} in Security Hub, not {said} as the event says",
                    f.id
                ));
            }
        }
    }
    None
}
