//! `secauto verify`'s walk of a deployed stack's path: a test finding imported into Security Hub
//! CSPM, followed hop by hop — the findings rule and triage (the finding NOTIFIED by triage), the
//! response event and remediation (its dry run recorded on the finding), notification (its message
//! on the topic, seen through a temporary SQS subscription) — then closed, and everything verify
//! made removed, also when a signal stops it.

mod configured;
mod diagnose;
pub mod drift;
mod finding;
mod follow;
mod inbox;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_types::{Document, Number};
use serde_json::Value;

use crate::aws::Clients;
use crate::engine::hub::Hubs;
use crate::stack::Names;

pub use finding::TestFinding;

/// One hop of the path: whether it happened, how long it took, and what to look at when not.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hop {
    pub name: &'static str,
    pub ok: bool,
    pub ms: u64,
    pub detail: String,
}

/// What verify found.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    pub hops: Vec<Hop>,
    /// The test finding's id, when one was imported.
    pub finding: Option<String>,
    /// From the import to the notification on the topic.
    pub to_notification_ms: Option<u64>,
    /// A signal stopped the walk (what verify made is removed all the same).
    pub interrupted: bool,
}

impl Verification {
    /// Every hop happened, and nothing stopped the walk.
    pub fn ok(&self) -> bool {
        !self.interrupted && !self.hops.is_empty() && self.hops.iter().all(|h| h.ok)
    }
}

/// How verify runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to wait for the whole path.
    pub timeout: Duration,
    /// A severity the findings rule takes.
    pub severity: String,
    /// Which Security Hub is on and which feeds the stack subscribes triage to: a test finding
    /// can enter only through Security Hub CSPM's; with today's Security Hub's feed too, the
    /// finding's OCSF twin travels the path as well.
    pub hubs: Hubs,
}

/// What verify made so far: what its clean-up removes.
#[derive(Debug, Clone, Default)]
struct Made {
    /// The stack's name: earlier runs' test findings are named by it.
    stack: String,
    finding: Option<TestFinding>,
    inbox: inbox::Inbox,
    /// The remediation hop was seen: the finding's OCSF twin is on its own way too.
    twin_moving: bool,
}

type Shared = Arc<Mutex<Made>>;

fn update(made: &Shared, f: impl FnOnce(&mut Made)) {
    if let Ok(mut m) = made.lock() {
        f(&mut m);
    }
}

fn snapshot(made: &Shared) -> Made {
    made.lock().map(|m| m.clone()).unwrap_or_default()
}

/// Walk the stack's path and clean up. A first signal stops the walk and still cleans up; a
/// second abandons the clean-up (the hop says what may be left).
pub async fn run(c: &Clients, n: &Names, opts: &Options) -> Verification {
    let made: Shared = Arc::new(Mutex::new(Made {
        stack: n.stack.clone(),
        ..Made::default()
    }));
    let walk = follow::walk(c, n, opts, &made);
    let mut v = tokio::select! {
        v = walk => v,
        _ = crate::interrupt::signalled() => Verification { interrupted: true, ..Verification::default() },
    };
    let started = Instant::now();
    let (left, twins) = tokio::select! {
        done = clean_up(c, &made) => done,
        _ = crate::interrupt::abandoned() => (vec!["clean-up abandoned by a second signal".to_string()], 0),
    };
    let m = snapshot(&made);
    v.finding = m.finding.map(|f| f.id);
    v.hops.push(Hop {
        name: "clean-up",
        ok: left.is_empty(),
        ms: started.elapsed().as_millis() as u64,
        detail: if left.is_empty() {
            format!(
                "{}subscription and queue removed",
                match (v.finding.is_some(), twins) {
                    (false, _) => String::new(),
                    (true, 0) => "test finding archived, ".to_string(),
                    (true, 1) => "test finding archived and its OCSF twin resolved, ".to_string(),
                    (true, n) => format!("test finding archived and {n} OCSF twins resolved (this run's and earlier runs'), "),
                }
            )
        } else {
            format!("left behind: {}", left.join("; "))
        },
    });
    v
}

/// Remove what verify made; what could not be, named, and how many OCSF twins were resolved.
async fn clean_up(c: &Clients, made: &Shared) -> (Vec<String>, usize) {
    let m = snapshot(made);
    let mut left = Vec::new();
    let mut resolved = 0;
    if let Some(f) = &m.finding {
        if m.twin_moving {
            // The twin's own triage and remediation would set it In Progress again after it is
            // resolved: let them finish first (a few seconds at most).
            let until = Instant::now() + Duration::from_secs(5);
            while Instant::now() < until
                && f.twins(c).await.is_ok_and(|twins| {
                    twins
                        .iter()
                        .any(|t| !t.2.starts_with("secauto remediation"))
                })
            {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        let open = |twins: Vec<(String, i64, String)>| -> Vec<String> {
            twins
                .into_iter()
                .filter(|t| t.1 != 4 && t.1 != 5)
                .map(|t| t.0)
                .collect()
        };
        let twins = f.twins(c).await.map(open);
        let earlier = f.earlier_twins(c, &m.stack).await;
        for (found, whose) in [
            (twins, "the test finding's OCSF twin"),
            (earlier, "earlier runs' OCSF twins"),
        ] {
            let uids = match found {
                Ok(uids) => uids,
                Err(e) => {
                    left.push(format!("{whose}: cannot read them ({e:#})"));
                    continue;
                }
            };
            let count = uids.len();
            match f.resolve_twins(c, uids).await {
                Ok(()) => resolved += count,
                Err(e) => left.push(format!("{whose} ({e:#})")),
            }
        }
        if let Err(e) = f.archive(c).await {
            left.push(format!("test finding {} ({e:#})", f.id));
        }
    }
    left.extend(m.inbox.close(c).await);
    (left, resolved)
}

/// A JSON value of a Security Hub document (an OCSF finding).
pub(crate) fn document_json(d: &Document) -> Value {
    match d {
        Document::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), document_json(v)))
                .collect(),
        ),
        Document::Array(a) => Value::Array(a.iter().map(document_json).collect()),
        Document::Number(Number::PosInt(n)) => Value::from(*n),
        Document::Number(Number::NegInt(n)) => Value::from(*n),
        Document::Number(Number::Float(f)) => Value::from(*f),
        Document::String(s) => Value::String(s.clone()),
        Document::Bool(b) => Value::Bool(*b),
        Document::Null => Value::Null,
    }
}

/// A member stack of a fleet: no path of its own (its findings reach the administrator's).
pub fn member() -> Verification {
    Verification {
        hops: vec![Hop {
            name: "member",
            ok: true,
            ms: 0,
            detail: "a member stack has no path of its own: its findings are triaged by the administrator's stack, which verify follows".into(),
        }],
        ..Verification::default()
    }
}
