//! The triage function.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use anyhow::Result;
use secauto_core::envelope::{parse_input, Input, InputError};
use secauto_core::response::{ResponseEvent, RESPONSE_DETAIL_TYPE};
use secauto_core::triage::{triage, Triaged, TRIAGED_AT};
use serde_json::{json, Value};

use crate::env::{Env, Mode};
use crate::events::{self, Event};
use crate::findings::{self, Mark, Target, Update};
use crate::findings_v2::{self, OcsfTarget, OcsfUpdate};
use crate::Clients;

/// Finding versions this process already handled (a warm container sees retries of the same event).
#[derive(Default, Debug)]
pub struct Seen(Mutex<HashSet<String>>);

impl Seen {
    fn contains(&self, key: &str) -> bool {
        self.0.lock().map(|s| s.contains(key)).unwrap_or(false)
    }
    fn insert(&self, key: String) {
        if let Ok(mut s) = self.0.lock() {
            if s.len() > 10_000 {
                s.clear();
            }
            s.insert(key);
        }
    }
}

/// Handle one event; returns a summary. Errors (after retries) fail the invocation, which sends the
/// event to the error handler.
pub async fn handle(clients: &Clients, env: &Env, seen: &Seen, payload: &Value) -> Result<Value> {
    let input = match read(payload)? {
        Ok(input) => input,
        Err(ignored) => return Ok(ignored),
    };
    let (decided, rejected) = triage(&env.policy, &input);
    for r in &rejected {
        tracing::warn!(
            "finding #{} ({}) could not be read: {}",
            r.index,
            r.id.as_deref().unwrap_or("no Id"),
            r.reason
        );
    }
    let mut events = Vec::new();
    let mut updates = Vec::new();
    let mut skipped = BTreeMap::new();
    let mut keys = Vec::new();
    for t in &decided {
        let key = t.finding.version_key();
        if let Some(why) = skip_reason(t, seen, &key) {
            *skipped.entry(why).or_insert(0) += 1;
            continue;
        }
        events.push(response_event(env, t));
        // A verify test finding's OCSF twin is not marked: verify follows the ASFF finding, and a
        // late mark would reopen a twin verify has resolved.
        if !(t.finding.ocsf.is_some() && secauto_core::verify::is_test(&t.finding)) {
            updates.push(notified(t));
        }
        keys.push(key);
    }
    // Emit first, then mark. Once the events are sent, a failed mark does not fail the invocation:
    // Lambda's retry would send every event again (a finding just imported into today's Security
    // Hub may not take an update yet), and remediation records the outcome on the finding anyway.
    let sent = events::put(&clients.events, &events).await?;
    let (marked, mark_error) = match findings::mark(&clients.securityhub, updates).await {
        Ok(n) => (n, None),
        Err(e) => {
            tracing::error!("events sent, but the findings could not be marked: {e:#}");
            (0, Some(format!("{e:#}")))
        }
    };
    for k in keys {
        seen.insert(k);
    }
    Ok(json!({
        "findings": decided.len(),
        "rejected": rejected.len(),
        "events": sent,
        "marked": marked,
        "mark_error": mark_error,
        "skipped": skipped,
    }))
}

/// The findings of the event; `Ok(Err(summary))` for an event triage ignores.
fn read(payload: &Value) -> Result<Result<Input, Value>> {
    let input = match parse_input(payload) {
        Ok(i) => i,
        Err(e @ InputError::Unsupported(_)) => {
            tracing::warn!("ignoring event: {e}");
            return Ok(Err(json!({"ignored": e.to_string()})));
        }
        Err(e) => return Err(anyhow::anyhow!("cannot read the event: {e}")),
    };
    if matches!(input, Input::Response(_)) {
        anyhow::bail!("triage received a {RESPONSE_DETAIL_TYPE} event; it belongs to remediation and notification");
    }
    Ok(Ok(input))
}

/// Why nothing is sent for a finding (counted in the summary), or `None` to send its event.
fn skip_reason(t: &Triaged, seen: &Seen, key: &str) -> Option<String> {
    if let Some(why) = &t.skipped {
        return Some(why.clone());
    }
    if !t.forced && !t.escalate && seen.contains(key) {
        return Some("already handled by this container".to_string());
    }
    tracing::info!(
        "{} {} → {} ({})",
        t.severity,
        t.finding_id,
        t.action.as_str(),
        t.rule.as_deref().unwrap_or("no rule matched")
    );
    if !t.action.is_actionable() {
        return Some("policy says ignore".to_string());
    }
    None
}

/// The response event for remediation and notification, on the stack's own bus.
fn response_event(env: &Env, t: &Triaged) -> Event {
    let ev = ResponseEvent::new(&env.stack, &t.finding, &t.decision(), t.escalate, t.forced);
    Event {
        bus: env.event_bus.clone(),
        source: env.event_source.clone(),
        detail_type: RESPONSE_DETAIL_TYPE.into(),
        detail: ev.detail_json(),
        resources: vec![],
    }
}

/// What triage decided, for the finding's note (ASFF) or comment (OCSF): the action, the rule,
/// the control and a mode the rule set (a catalogued control off by default says so).
fn decided(t: &Triaged) -> String {
    let entry = t
        .control
        .as_deref()
        .and_then(secauto_core::controls::entry)
        .filter(|e| e.action == t.action);
    let mode = match (t.mode, entry) {
        (Some(Mode::NotifyOnly), Some(e)) if !e.on => format!(
            ", notify-only: {} is off by default ({}); a rule with mode = \"enforce\" turns it on",
            e.control, e.risk
        ),
        (Some(m), _) => format!(", mode {}", m.as_str()),
        (None, _) => String::new(),
    };
    format!(
        "secauto triage: {}{}{}{mode}{}",
        t.action.as_str(),
        t.rule
            .as_deref()
            .map(|r| format!(" (rule {r})"))
            .unwrap_or_default(),
        t.control
            .as_deref()
            .map(|c| format!(" for control {c}"))
            .unwrap_or_default(),
        if t.escalate {
            ", escalated to the SOC"
        } else {
            ""
        }
    )
}

/// The finding's mark, in its own format: an ASFF finding NOTIFIED (BatchUpdateFindings) with the
/// action and when it was triaged; an OCSF finding In Progress (BatchUpdateFindingsV2, status_id 2:
/// the V2 findings rule matches New only, so the update it causes cannot loop) with a comment
/// saying what triage decided and the fact it reports.
fn notified(t: &Triaged) -> Mark {
    if let Some(target) = t.finding.ocsf.as_ref().and_then(OcsfTarget::of) {
        let comment = format!("{}; fact {}", decided(t), t.finding.fact_key());
        return Mark::Ocsf(
            target,
            OcsfUpdate {
                status_id: Some(findings_v2::IN_PROGRESS),
                comment: findings_v2::clip_chars(&comment, findings_v2::MAX_COMMENT),
            },
        );
    }
    let mut udf = BTreeMap::new();
    // Security Hub refuses empty UserDefinedFields values; a finding without UpdatedAt (which
    // ASFF requires) is marked with a placeholder and will be triaged again if re-imported.
    udf.insert(
        TRIAGED_AT.to_string(),
        t.finding
            .updated_at
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "unknown".into()),
    );
    udf.insert("secauto:action".to_string(), t.action.as_str().to_string());
    Mark::Cspm(
        Target {
            id: t.finding.id.clone(),
            product_arn: t.finding.product_arn.clone(),
        },
        Update {
            workflow: "NOTIFIED",
            note: decided(t),
            user_defined_fields: udf,
        },
    )
}
