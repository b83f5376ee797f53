//! The remediation function: carry out a response event's action, then record the outcome on the
//! finding (RESOLVED when done; NOTIFIED with a note in a dry run or on failure) and in SNS.

use anyhow::{Context, Result};
use secauto_core::envelope::{parse_input, Input};
use secauto_core::message;
use secauto_core::{Finding, ResponseEvent};
use serde_json::{json, Value};

use crate::env::{Env, Mode};
use crate::findings::{self, Mark, Target, Update};
use crate::findings_v2::{self, OcsfTarget, OcsfUpdate};
use crate::notification::publish;
use crate::remediate::declared::Scoped;
use crate::remediate::{keep_earlier_record, parameters_may_be_stricter, undo_records_first};
use crate::remediate::{Executor, Failed, Outcome};
use crate::vouch::vouch_live;
pub use crate::vouch::{vouch, Vouched};
use crate::Clients;

/// Run the action of `event`; `None` when the action changes nothing (notify-only, ignore).
///
/// The account and region acted in are the live finding's (`live`, as Security Hub has it), not
/// the event's; `None` (tests only) takes the event's.
pub async fn execute(
    clients: &Clients,
    env: &Env,
    event: &ResponseEvent,
    live: Option<&Finding>,
    deadline: Option<std::time::Instant>,
) -> Result<Option<Outcome>, Failed> {
    let Some(kind) = event.action.resource_type() else {
        return Ok(None);
    };
    let failed = Failed::before_acting;
    let resource = event
        .finding
        .resources
        .iter()
        .filter(|r| r.kind == kind)
        // The one Security Hub's finding names, not merely the event's first.
        .find(|r| live.is_none_or(|l| l.resources.iter().any(|lr| lr.id == r.id)))
        .with_context(|| {
            format!(
                "the finding names no {kind} resource to {}",
                event.action.as_str()
            )
        })
        .map_err(failed)?;
    let (account, region) = place_of(event, resource, live);
    let place = match crate::accounts::place(env, account, region) {
        Ok(place) => place,
        Err(why) => {
            return Ok(Some(Outcome {
                steps: vec![format!("not attempted: {why}")],
                refused: Some(why.to_string()),
                ..Outcome::default()
            }))
        }
    };
    let regional = crate::accounts::clients(clients, env, &place)
        .await
        .map_err(failed)?;
    let automation_role = place.automation_role(env);
    let scoped = Scoped::new(&regional, event.action);
    let exec = Executor {
        ec2: &scoped.ec2,
        s3: &scoped.s3,
        ssm: &scoped.ssm,
        autoscaling: &scoped.autoscaling,
        sns: &scoped.sns,
        kms: &scoped.kms,
        sqs: &scoped.sqs,
        lambda: &scoped.lambda,
        iam: &scoped.iam,
        cloudtrail: &scoped.cloudtrail,
        dry_run: env.mode == Mode::NotifyOnly,
        finding_id: &event.finding.id,
        fact: &event.finding.fact,
        account: place.account(env),
        isolate_document: &env.isolate_document,
        automation_role: &automation_role,
        automation_wait: env.automation_wait,
        isolate_routing: env.isolate_routing,
        protection: &env.protection,
        deadline,
        gate: &scoped.gate,
    };
    // One run at a time per resource (the same fact from both Security Hubs, several findings
    // of one resource): a dry run changes nothing and claims nothing.
    let key = crate::claim::key(place.account(env), place.region(env), kind, &resource.id);
    let work = Box::pin(exec.remediate_with(event.action, &resource.id, live));
    let done = match exec.dry_run {
        true => work.await,
        false => crate::claim::one_at_a_time(clients, env, &key, event, deadline, work)
            .await
            .map_err(failed)?,
    };
    let Some(done) = done else {
        return Ok(None);
    };
    let mut outcome = done.map_err(|mut f| {
        if let Some(whose) = place.describe() {
            f.error = f.error.context(whose);
        }
        keep_earlier_record(live, &mut f.outcome);
        f
    })?;
    parameters_may_be_stricter(event.finding.control_id.as_deref(), live, &mut outcome);
    keep_earlier_record(live, &mut outcome);
    if resource
        .tags
        .get(crate::PROTECT_TAG)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        && !outcome.protected
    {
        // The finding says protected but the live resource lost the tag: trust the live tag, say so.
        outcome
            .steps
            .push("the finding lists the resource as protected; its live tags do not".into());
    }
    Ok(Some(outcome))
}

/// The account and region to act in: the live finding's (its resource's region there), else the
/// event's.
fn place_of<'e>(
    event: &'e ResponseEvent,
    resource: &'e secauto_core::finding::Resource,
    live: Option<&'e Finding>,
) -> (Option<&'e str>, Option<&'e str>) {
    match live {
        Some(live) => {
            let named = live.resources.iter().find(|r| r.id == resource.id);
            (
                live.account(),
                named
                    .and_then(|r| r.region.as_deref())
                    .or(live.region.as_deref()),
            )
        }
        None => (
            event.finding.account.as_deref(),
            resource
                .region
                .as_deref()
                .or(event.finding.region.as_deref()),
        ),
    }
}

/// The finding's workflow status and note after a remediation: RESOLVED only when a re-read proves
/// the resource compliant, and nothing refused or failed.
pub fn verdict(
    action: &str,
    mode: Mode,
    result: &Result<Outcome, Failed>,
) -> (&'static str, &'static str, String) {
    match result {
        Err(f) => {
            // The caveats come first (an undo record kept only here, what isolation cannot cut).
            let done: Vec<&String> = f
                .outcome
                .caveats
                .iter()
                .chain(f.outcome.steps.iter().filter(|s| !s.starts_with("would ")))
                .collect();
            let already = if f.outcome.changed {
                format!(
                    "; already changed: {}",
                    done.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; ")
                )
            } else {
                "; nothing was changed".into()
            };
            (
                "NOTIFIED",
                "failed",
                // A record kept only in this note comes before the error, whose text may be
                // long: a note cut to 512 characters must keep what undoes the change.
                format!(
                    "secauto remediation of {action} failed: {}{:#}{already}",
                    undo_records_first(&f.outcome.caveats),
                    f.error
                ),
            )
        }
        Ok(o) if mode == Mode::NotifyOnly || o.protected => (
            "NOTIFIED",
            "dry-run",
            format!(
                "secauto remediation dry run ({}): {}",
                if mode == Mode::NotifyOnly {
                    "notify-only mode"
                } else {
                    "protected resource"
                },
                o.said().join("; ")
            ),
        ),
        Ok(o) => match &o.refused {
            Some(why) => (
                "NOTIFIED",
                "not-done",
                format!("secauto remediation of {action} not done: {why}; {}", o.said().join("; ")),
            ),
            None if o.compliant => (
                "RESOLVED",
                "done",
                format!("secauto remediation did {action}: {}", o.said().join("; ")),
            ),
            None => (
                "NOTIFIED",
                "not-done",
                format!(
                    "secauto remediation of {action} {} but a re-read does not prove the resource compliant: {}",
                    if o.changed { "changed it" } else { "changed nothing" },
                    o.said().join("; ")
                ),
            ),
        },
    }
}

/// Handle one response event; `deadline` is when the invocation ends (Lambda's), if known.
pub async fn handle(
    clients: &Clients,
    env: &Env,
    payload: &Value,
    deadline: Option<std::time::Instant>,
) -> Result<Value> {
    let event = match parse_input(payload) {
        Ok(Input::Response(e)) => e,
        Ok(_) => anyhow::bail!("remediation handles \"Security Response Required\" events only"),
        Err(e) => anyhow::bail!("cannot read the event: {e}"),
    };
    // The rule that decided may set its own mode (a control switched on or kept off by itself);
    // without one, the stack's.
    let env = &Env {
        mode: event.mode.unwrap_or(env.mode),
        ..env.clone()
    };
    if event.verify {
        return crate::verify::dry_run(clients, env, &event).await;
    }
    let mut live = None;
    if event.action.resource_type().is_some() {
        let (vouched, found) = vouch_live(clients, &event, deadline).await?;
        live = found;
        match vouched {
            Vouched::Act => {}
            Vouched::AlreadyDone => {
                tracing::info!(
                    "finding {} was already remediated: nothing to do",
                    event.finding.id
                );
                return Ok(json!({"action": event.action.as_str(), "remediation": "already done"}));
            }
            Vouched::Refuse(why) => {
                tracing::warn!("not acting: {why}");
                let m = message::refused(&event, &why);
                publish(&clients.sns, &env.topic_arn, &m).await?;
                return Ok(json!({"action": event.action.as_str(), "refused": why}));
            }
        }
    }
    let result = match Box::pin(execute(clients, env, &event, live.as_ref(), deadline)).await {
        Ok(None) => {
            return Ok(json!({"action": event.action.as_str(), "remediation": "none needed"}))
        }
        Ok(Some(o)) => Ok(o),
        Err(f) => Err(f),
    };
    record(clients, env, &event, result).await
}

/// The outcome of a twin that found its fact already remediated: nothing failed, refused or
/// changed, and a fresh read proves the resource compliant (what the first arrival left).
fn already_remediated(mode: Mode, result: &Result<Outcome, Failed>) -> bool {
    matches!(result, Ok(o) if mode != Mode::NotifyOnly && !o.protected && o.refused.is_none()
        && !o.changed && o.compliant)
}

/// Record the outcome on the finding in its own format and in SNS; the action's error first.
async fn record(
    clients: &Clients,
    env: &Env,
    event: &ResponseEvent,
    result: Result<Outcome, Failed>,
) -> Result<Value> {
    let action = event.action.as_str();
    let (workflow, state, mut note) = verdict(action, env.mode, &result);
    let (mut steps, dry_run, ok) = match &result {
        Ok(o) => (
            o.said(),
            env.mode == Mode::NotifyOnly || o.protected,
            o.refused.is_none(),
        ),
        Err(f) => {
            let mut steps = f.outcome.said();
            steps.push(format!("error: {:#}", f.error));
            (steps, false, false)
        }
    };
    let twin = already_remediated(env.mode, &result);
    if twin {
        let fact = &event.finding.fact;
        let said = format!("already remediated (fact {fact}): nothing to change");
        note = format!(
            "secauto remediation of {action}: {said}; {}",
            steps.join("; ")
        );
        steps.insert(0, said);
    }
    let mark = match event.finding.ocsf.as_ref().and_then(OcsfTarget::of) {
        Some(target) => Mark::Ocsf(
            target,
            OcsfUpdate {
                status_id: Some(if workflow == "RESOLVED" {
                    findings_v2::RESOLVED
                } else {
                    findings_v2::IN_PROGRESS
                }),
                comment: note,
            },
        ),
        None => Mark::Cspm(
            Target {
                id: event.finding.id.clone(),
                product_arn: event.finding.product_arn.clone(),
            },
            Update {
                workflow,
                note,
                user_defined_fields: [("secauto:remediation".to_string(), state.to_string())]
                    .into(),
            },
        ),
    };
    let recorded = findings::mark(&clients.securityhub, vec![mark]).await;
    let m = if twin {
        message::already_done(event, &steps)
    } else {
        message::outcome(event, dry_run, ok, &steps)
    };
    let published = publish(&clients.sns, &env.topic_arn, &m).await;
    // The action's own error comes first; recording errors after.
    if let Err(f) = result {
        return Err(f
            .error
            .context(format!("steps done before: {}", steps.join("; "))));
    }
    recorded?;
    published?;
    Ok(json!({
        "action": action,
        "dry_run": dry_run,
        "steps": steps,
        "workflow": workflow,
        "already_remediated": twin,
        "fact": event.finding.fact,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vouch::judge;
    use secauto_core::Action;

    #[test]
    fn a_partial_failure_says_what_was_already_changed() {
        let failed = Failed {
            outcome: Outcome {
                steps: vec![
                    "record the groups of eni-1 (sg-a) in its tag".into(),
                    "would snapshot vol-1".into(),
                ],
                changed: true,
                ..Outcome::default()
            },
            error: anyhow::anyhow!("ec2:ModifyNetworkInterfaceAttribute: throttled"),
        };
        let (workflow, state, note) = verdict("isolate-instance", Mode::Enforce, &Err(failed));
        assert_eq!((workflow, state), ("NOTIFIED", "failed"));
        assert!(note.contains("throttled"), "{note}");
        assert!(
            note.contains("already changed: record the groups of eni-1"),
            "{note}"
        );
        assert!(!note.contains("would snapshot"), "{note}");
    }

    /// An undo record kept only in the note comes before a failure's error, however long the
    /// error: a note cut to Security Hub's 512 characters keeps it.
    #[test]
    fn a_note_only_undo_record_comes_before_the_error() {
        let record =
            "the undo record of eni-1 is this note only (groups sg-a; timeouts default): tags full";
        let failed = Failed {
            outcome: Outcome {
                caveats: vec!["isolation cuts TCP and UDP".into(), record.into()],
                changed: true,
                ..Outcome::default()
            },
            error: anyhow::anyhow!("ec2:ModifyNetworkInterfaceAttribute: {}", "x".repeat(600)),
        };
        let (_, _, note) = verdict("isolate-instance", Mode::Enforce, &Err(failed));
        let at = note.find(record).expect("the record is in the note");
        assert!(at + record.len() < 512, "{note}");
    }

    /// An OCSF finding (status_id 4) is already done when secauto resolved it (its comment); when
    /// anyone else did, it is refused, never reopened.
    #[test]
    fn an_ocsf_finding_resolved_by_someone_else_is_not_taken_for_done() {
        let doc = |status_id: i64, comment: &str| {
            secauto_core::ocsf::parse(&json!({
                "class_uid": 2004,
                "metadata": {"uid": "m-1", "product": {"uid": "arn:aws:securityhub:us-east-1::productv2/aws/guardduty"}},
                "finding_info": {"uid": "f-1", "title": "Trojan"},
                "cloud": {"account": {"uid": "123456789012"}, "region": "us-east-1"},
                "severity_id": 4,
                "status_id": status_id,
                "comment": comment,
                "resources": [{"type": "AWS::EC2::Instance", "uid": "arn:aws:ec2:us-east-1:123456789012:instance/i-1"}]
            }))
            .unwrap()
        };
        let event = ResponseEvent::new(
            "sec",
            &doc(1, "new"),
            &secauto_core::Decision::new(Action::IsolateInstance, None),
            false,
            false,
        );
        assert_eq!(judge(&event, &doc(1, "new")), Vouched::Act);
        let ours = doc(4, "secauto remediation did isolate-instance: moved eni-1");
        assert_eq!(judge(&event, &ours), Vouched::AlreadyDone);
        for (status_id, comment) in [
            (4, "false positive, closed by the SOC"),
            // Resolved by an analyst after secauto's own failure note: not secauto's doing.
            (
                4,
                "secauto remediation of isolate-instance failed: throttled",
            ),
            // Other (99): never acted on.
            (99, "new"),
        ] {
            let theirs = judge(&event, &doc(status_id, comment));
            assert!(
                matches!(&theirs, Vouched::Refuse(why) if why.contains("closed by someone else")),
                "{status_id} {comment}: {theirs:?}"
            );
        }
        let twin = doc(
            4,
            "secauto remediation of isolate-instance: already remediated (fact f): nothing to change",
        );
        assert_eq!(judge(&event, &twin), Vouched::AlreadyDone);
    }

    #[test]
    fn resolved_only_when_a_re_read_proves_it() {
        let ok = |changed, compliant| Outcome {
            changed,
            compliant,
            ..Outcome::default()
        };
        let w = |o: Outcome, mode| verdict("block-network", mode, &Ok(o)).0;
        assert_eq!(w(ok(true, false), Mode::Enforce), "NOTIFIED");
        assert_eq!(w(ok(true, true), Mode::Enforce), "RESOLVED");
        assert_eq!(w(ok(false, true), Mode::Enforce), "RESOLVED");
        assert_eq!(w(ok(false, false), Mode::Enforce), "NOTIFIED");
        assert_eq!(w(ok(false, true), Mode::NotifyOnly), "NOTIFIED");
    }
}
