//! The walk itself: import the test finding, then watch Security Hub and the inbox at once until
//! every hop is seen or the time is up; a hop not seen is explained by [`super::diagnose`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::diagnose::{self, Path};
use super::finding::TestFinding;
use super::inbox::Inbox;
use super::{update, Hop, Options, Shared, Verification};
use crate::aws::Clients;
use crate::config::Feed;
use crate::engine::hub::HubState;
use crate::stack::Names;
use secauto_core::verify::ID_PREFIX;

/// How often Security Hub is read (GetFindings: 3 requests a second, burst 6).
const POLL: Duration = Duration::from_millis(1000);

/// [`POLL`], or `SECAUTO_VERIFY_POLL_MS` (the benchmark reads the emulator more often).
fn poll() -> Duration {
    std::env::var("SECAUTO_VERIFY_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(POLL, Duration::from_millis)
}

/// When each hop was seen.
#[derive(Debug, Default, Clone)]
struct Times {
    triage: Option<Instant>,
    /// Triage's own mark (`secauto:triaged-at`) was seen, not only what came after it.
    triage_marked: bool,
    remediation: Option<Instant>,
    notification: Option<Instant>,
    remediation_message: Option<Instant>,
    /// The error handler's messages about the test finding: a function that ran and failed on it
    /// (Lambda's on-failure destination), by function name, what failed.
    failures: Vec<(String, String)>,
    /// The last error reading verify's queue.
    receive_error: Option<String>,
}

pub(super) fn ms(from: Instant, to: Instant) -> u64 {
    to.saturating_duration_since(from).as_millis() as u64
}

pub(super) fn hop(name: &'static str, ok: bool, ms: u64, detail: impl Into<String>) -> Hop {
    Hop {
        name,
        ok,
        ms,
        detail: detail.into(),
    }
}

/// Walk the path; every failure is a hop, never an error.
pub(super) async fn walk(c: &Clients, n: &Names, opts: &Options, made: &Shared) -> Verification {
    let deadline = Instant::now() + opts.timeout;
    let hubs = &opts.hubs;
    match &hubs.cspm {
        HubState::Enabled if hubs.feeds.contains(&Feed::Cspm) => {}
        HubState::Unknown(why) => {
            let detail = format!("cannot tell whether Security Hub CSPM is enabled: {why}");
            return Verification {
                hops: vec![hop("import", false, 0, detail)],
                ..Verification::default()
            };
        }
        _ => return super::configured::check(c, n, hubs).await,
    }
    let f = TestFinding::new(
        &n.stack,
        &n.partition,
        &n.account,
        &n.region,
        &opts.severity,
    );
    // Unique to the run: SQS refuses a queue name deleted less than 60 seconds ago.
    let queue = f.id.trim_start_matches(ID_PREFIX).replacen(
        &format!("{}-", n.stack),
        &format!("{}-verify-", n.stack),
        1,
    );
    let opened = Inbox::open(c, &queue, &n.topic_arn(), &f.id, &|i| {
        let i = i.clone();
        update(made, move |m| m.inbox = i)
    })
    .await;
    let inbox = match opened {
        Ok(i) => i,
        Err(e) => {
            let detail = format!("cannot subscribe to topic {}: {e:#}", n.topic_arn());
            return Verification {
                hops: vec![hop("notification", false, 0, detail)],
                ..Verification::default()
            };
        }
    };
    let started = Instant::now();
    // Recorded before the call: a signal during it must still archive what may have landed.
    let g = f.clone();
    update(made, move |m| m.finding = Some(g));
    if let Err(e) = f.import(c, "ACTIVE").await {
        update(made, |m| m.finding = None);
        return Verification {
            hops: vec![hop(
                "import",
                false,
                ms(started, Instant::now()),
                format!("{e:#}"),
            )],
            ..Verification::default()
        };
    }
    let imported = Instant::now();
    let times = watch(c, &f, &inbox, deadline).await;
    if times.remediation.is_some() && hubs.feeds.contains(&Feed::Ocsf) {
        update(made, |m| m.twin_moving = true);
    }
    let mut hops = vec![hop(
        "import",
        true,
        ms(started, imported),
        format!("BatchImportFindings of test finding {}", f.id),
    )];
    hops.extend(judge(c, n, &f, &times, imported).await);
    Verification {
        hops,
        to_notification_ms: times.notification.map(|t| ms(started, t)),
        ..Verification::default()
    }
}

/// Watch the finding and the inbox at once until every hop is seen or `deadline`.
async fn watch(c: &Clients, f: &TestFinding, inbox: &Inbox, deadline: Instant) -> Times {
    let finding_done = AtomicBool::new(false);
    let on_finding = async {
        let mut t = Times::default();
        while Instant::now() < deadline {
            if let Ok(Some(seen)) = f.read(c).await {
                let now = Instant::now();
                if t.triage.is_none() && seen.fields.contains_key("secauto:triaged-at") {
                    t.triage = Some(now);
                    t.triage_marked = true;
                }
                if seen.fields.get("secauto:remediation").map(String::as_str) == Some("dry-run") {
                    t.triage.get_or_insert(now);
                    t.remediation = Some(now);
                    break;
                }
            }
            tokio::time::sleep(poll()).await;
        }
        finding_done.store(true, Ordering::SeqCst);
        t
    };
    let on_inbox = async {
        let mut t = Times::default();
        let mut grace: Option<Instant> = None;
        while Instant::now() < deadline {
            if t.notification.is_some() && t.remediation_message.is_some() {
                break;
            }
            if finding_done.load(Ordering::SeqCst) && t.notification.is_some() {
                let until = *grace.get_or_insert(Instant::now() + Duration::from_secs(2));
                if Instant::now() >= until {
                    break;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now()).as_secs();
            let notes = match inbox.receive(c, &f.id, left.clamp(0, 1) as i32).await {
                Ok(notes) => notes,
                Err(e) => {
                    // Said in the hop, and not asked again at once: a refusal is no reason to spin.
                    t.receive_error = Some(format!("{e:#}"));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let now = Instant::now();
            for note in notes {
                match note.kind.as_str() {
                    "finding" => t.notification = t.notification.or(Some(now)),
                    "remediation" => t.remediation_message = t.remediation_message.or(Some(now)),
                    "failure" => t.failures.push((note.function, note.subject)),
                    _ => {}
                }
            }
        }
        t
    };
    let (a, b) = tokio::join!(on_finding, on_inbox);
    Times {
        notification: b.notification,
        remediation_message: b.remediation_message,
        failures: b.failures,
        receive_error: b.receive_error,
        ..a
    }
}

/// Why `what` was not seen on `path`: what its function's on-failure destination said about the
/// test finding, then what the diagnosis finds.
async fn explain(
    c: &Clients,
    n: &Names,
    f: &TestFinding,
    t: &Times,
    path: Path<'static>,
    what: &str,
) -> String {
    let name = n.function(path.function);
    let mut found: Vec<String> = t
        .failures
        .iter()
        .filter(|(function, _)| *function == name)
        .map(|(_, subject)| format!("function {name} ran and failed on the test finding (its on-failure destination, the error handler, said: {subject}): see log group /aws/lambda/{name}"))
        .collect();
    found.extend(diagnose::problems(c, n, &path, &f.id).await);
    match found.is_empty() {
        true => format!("{what} not seen in time; no cause found in its rule, function, permission, dead-letter queue or alarms: see log group /aws/lambda/{name}"),
        false => format!("{what} not seen in time: {}", found.join("; ")),
    }
}

/// The hops after the import, each explained when it was not seen.
async fn judge(c: &Clients, n: &Names, f: &TestFinding, t: &Times, imported: Instant) -> Vec<Hop> {
    let triage = Path {
        rule: "findings",
        function: "triage",
    };
    let remediation = Path {
        rule: "remediation",
        function: "remediation",
    };
    let notification = Path {
        rule: "remediation",
        function: "notification",
    };
    let why = |path: Path<'static>, what: &'static str| explain(c, n, f, t, path, what);
    let mut hops = Vec::new();
    hops.push(match t.triage {
        Some(at) if t.triage_marked => hop(
            "triage",
            true,
            ms(imported, at),
            format!(
                "rule {} fired; triage marked the finding NOTIFIED",
                n.rule("findings")
            ),
        ),
        // Only triage puts response events on the stack's bus: remediation's mark proves it ran.
        Some(at) => hop("triage", true, ms(imported, at), format!(
            "rule {} fired and triage sent the response event; its own mark on the finding was not seen (Security Hub may show an update late, or triage's BatchUpdateFindings failed: see log group /aws/lambda/{})",
            n.rule("findings"), n.function("triage")
        )),
        None => hop(
            "triage",
            false,
            0,
            why(triage, "the finding marked by triage").await,
        ),
    });
    let after = t.triage.unwrap_or(imported);
    hops.push(match t.remediation {
        Some(at) => hop(
            "remediation",
            true,
            ms(after, at),
            format!(
                "the response event reached {}; its dry run is recorded on the finding{}",
                n.function("remediation"),
                if t.remediation_message.is_some() {
                    " and announced on the topic"
                } else {
                    ""
                }
            ),
        ),
        None if t.triage.is_none() => {
            hop("remediation", false, 0, "not reached: triage did not run")
        }
        None => hop(
            "remediation",
            false,
            0,
            why(remediation, "remediation's dry run on the finding").await,
        ),
    });
    hops.push(match t.notification {
        Some(at) => hop(
            "notification",
            true,
            ms(after, at),
            format!(
                "{} published the finding's message to {}",
                n.function("notification"),
                n.topic_arn()
            ),
        ),
        None if t.triage.is_none() => {
            hop("notification", false, 0, "not reached: triage did not run")
        }
        None => {
            let mut detail = why(notification, "the notification on the topic").await;
            if let Some(e) = &t.receive_error {
                detail.push_str(&format!("; verify's queue could not be read: {e}"));
            }
            if t.remediation.is_some() && t.remediation_message.is_none() {
                // Remediation publishes once it has marked the finding: neither of the two
                // functions' messages reached verify's new subscription.
                detail.push_str("; remediation's own message did not arrive either: SNS may not yet deliver to verify's new subscription (AWS documents up to 15 minutes for a filter policy to take full effect): run verify again");
            }
            hop("notification", false, 0, detail)
        }
    });
    hops
}
