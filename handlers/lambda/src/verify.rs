//! Remediation of `secauto verify`'s test finding: nothing is acted on. The finding is read again
//! (the event alone is never trusted) and must be a live test finding; then the dry run is
//! recorded on it in its own format and announced on the topic, as any dry run is, proving that
//! remediation may read and update findings and publish.

use anyhow::Result;
use secauto_core::{message, ResponseEvent};
use serde_json::{json, Value};

use crate::env::Env;
use crate::findings::{self, Mark, Target, Update};
use crate::findings_v2::{self, OcsfTarget, OcsfUpdate};
use crate::notification::publish;
use crate::Clients;

/// What remediation writes on a test finding.
pub const NOTE: &str =
    "secauto remediation dry run (secauto verify): a test finding, nothing is acted on";

/// Record the dry run of a test finding's response event.
pub async fn dry_run(clients: &Clients, env: &Env, event: &ResponseEvent) -> Result<Value> {
    let f = &event.finding;
    let target = f.ocsf.as_ref().and_then(OcsfTarget::of);
    let live = match &target {
        Some(t) => findings_v2::get(&clients.securityhub, t).await?,
        None => findings::get(&clients.securityhub, &f.id, &f.product_arn).await?,
    };
    let why = match &live {
        None => Some(format!("Security Hub has no finding {}", f.id)),
        Some(l) if !secauto_core::verify::is_test(l) => Some(format!(
            "finding {} is not a secauto verify test finding",
            f.id
        )),
        // verify archives and resolves its test finding when done: an event arriving after that
        // (Lambda's retries, a twin's late path) must not reopen it, nor alarm anyone.
        Some(l)
            if l.record_state.as_deref() == Some("ARCHIVED")
                || l.workflow_status() == "RESOLVED" =>
        {
            let done = format!("test finding {} is closed: its verify run is over", f.id);
            tracing::info!("not recording a verify dry run: {done}");
            return Ok(json!({"action": event.action.as_str(), "ignored": done}));
        }
        Some(_) => None,
    };
    if let Some(why) = why {
        tracing::warn!("not recording a verify dry run: {why}");
        publish(&clients.sns, &env.topic_arn, &message::refused(event, &why)).await?;
        return Ok(json!({"action": event.action.as_str(), "refused": why}));
    }
    let mark = match target {
        Some(t) => Mark::Ocsf(
            t,
            OcsfUpdate {
                status_id: Some(findings_v2::IN_PROGRESS),
                comment: NOTE.into(),
            },
        ),
        None => Mark::Cspm(
            Target {
                id: f.id.clone(),
                product_arn: f.product_arn.clone(),
            },
            Update {
                workflow: "NOTIFIED",
                note: NOTE.into(),
                user_defined_fields: [("secauto:remediation".to_string(), "dry-run".to_string())]
                    .into(),
            },
        ),
    };
    findings::mark(&clients.securityhub, vec![mark]).await?;
    let steps = vec!["nothing is acted on for a secauto verify test finding".to_string()];
    publish(
        &clients.sns,
        &env.topic_arn,
        &message::outcome(event, true, true, &steps),
    )
    .await?;
    Ok(json!({"action": event.action.as_str(), "dry_run": true, "verify": true}))
}
