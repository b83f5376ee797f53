//! Where no test finding can enter — Security Hub CSPM off, or the stack subscribed only to today's
//! Security Hub's OCSF feed, which has no operation to import a finding — each hop's rule, function
//! and permission are checked, none is exercised; and a stack none of whose subscribed feeds'
//! Security Hubs is on gets nothing at all, which fails the walk.

use std::time::Instant;

use super::diagnose::{self, Path};
use super::follow::{hop, ms};
use super::{Hop, Verification};
use crate::aws::Clients;
use crate::config::Feed;
use crate::engine::hub::{HubState, Hubs};
use crate::stack::Names;

/// The walk where no test finding can be imported.
pub(super) async fn check(c: &Clients, n: &Names, hubs: &Hubs) -> Verification {
    let import = match import(hubs) {
        Ok(import) => import,
        Err(detail) => {
            return Verification {
                hops: vec![hop("import", false, 0, detail)],
                ..Verification::default()
            }
        }
    };
    let mut hops = vec![import];
    let paths = [
        ("triage", "findings_ocsf", "triage"),
        ("remediation", "remediation", "remediation"),
        ("notification", "remediation", "notification"),
    ];
    for (name, rule, function) in paths {
        let path = Path { rule, function };
        let started = Instant::now();
        let found = diagnose::problems(c, n, &path, "\u{0}no finding").await;
        hops.push(hop(
            name,
            found.is_empty(),
            ms(started, Instant::now()),
            match found.is_empty() {
                true => format!("not exercised; configuration checked: rule {} enabled with {} as target, which is Active and may be invoked by it", n.rule(rule), n.function(function)),
                false => found.join("; "),
            },
        ));
    }
    Verification {
        hops,
        ..Verification::default()
    }
}

/// The import hop: not exercised, and why — or, when no finding can reach triage at all, the
/// failure that says so and how to fix it.
fn import(hubs: &Hubs) -> Result<Hop, String> {
    let why = match hubs.cspm {
        HubState::Enabled => "the stack subscribes only to today's Security Hub's OCSF feed, and Security Hub has no operation to import an OCSF finding",
        _ => "Security Hub CSPM is not enabled here: BatchImportFindings needs it, and today's Security Hub has no operation to import a finding",
    };
    let ocsf = hubs.feeds.contains(&Feed::Ocsf);
    match &hubs.securityhub {
        HubState::Enabled if ocsf => {}
        HubState::Unknown(e) if ocsf => {
            return Err(format!(
                "{why}; cannot tell whether today's Security Hub is enabled: {e}"
            ))
        }
        _ => {
            let fix = match hubs.warnings.is_empty() {
                true => "the stack subscribes to no feed of an enabled Security Hub".to_string(),
                false => hubs.warnings.join("; "),
            };
            return Err(format!("no finding can reach triage: {fix}"));
        }
    }
    let mut detail = format!("not exercised: {why}");
    for w in &hubs.warnings {
        detail.push_str(&format!("; {w}"));
    }
    Ok(hop("import", true, 0, detail))
}
