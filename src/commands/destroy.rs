//! `secauto destroy`: delete every resource the stack owns, in reverse dependency order, and check
//! that nothing of it is left.

use std::io::IsTerminal;

use anyhow::{Context, Result};

use crate::cli::Global;
use crate::engine::{self, Action};
use crate::exit::{Report, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK};
use crate::fleet::{self, Job};
use crate::report;
use crate::resources::{Kind, STACK_TAG};
use crate::session::{aws_config, locked, Session};
use crate::stack::{Code, Part, Stack};

/// Destroy the stack, or every target of a fleet (asked once, before anything is read).
pub(super) async fn run(g: &Global, yes: bool) -> Result<u8> {
    let config = aws_config(g)?;
    if !config.targets.is_empty() {
        if !yes {
            let (summary, listing) = fleet::destroy_question(&config);
            match confirm(summary, listing, config.stack.name.clone()).await {
                Ok(true) => {}
                Ok(false) => anyhow::bail!("not confirmed; nothing was deleted"),
                Err(e) if e.is::<Interrupted>() => {
                    eprintln!("{e}");
                    return Ok(EXIT_INTERRUPTED);
                }
                Err(e) => return Err(e),
            }
        }
        return fleet::run(g, &config, Job::Destroy, |config, part| async move {
            let s = Session::open(g, &config, Code::NotNeeded, &part, true).await?;
            let lock = s.lock(g, "secauto destroy").await?;
            locked(lock, one(g, &s, true, true)).await
        })
        .await;
    }
    let s = Session::open(g, &config, Code::NotNeeded, &Part::Alone, false).await?;
    let lock = s.lock(g, "secauto destroy").await?;
    locked(lock, one(g, &s, yes, false)).await?.print(g.output)
}

/// Show `listing` and ask on the terminal to type `name`; true when it was. Without a terminal,
/// the error says `summary` and how to confirm. A signal at the prompt is [`Interrupted`].
async fn confirm(summary: String, listing: String, name: String) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("{summary}; pass --yes to confirm when stdin is not a terminal");
    }
    let answer = tokio::task::spawn_blocking(move || {
        eprintln!("{listing}");
        eprint!("Type the stack name to confirm: ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).map(|_| answer)
    });
    tokio::select! {
        a = answer => Ok(a.context("the prompt stopped")??.trim() == name),
        _ = crate::interrupt::signalled() => Err(Interrupted.into()),
    }
}

/// A signal came at the prompt: nothing was deleted.
#[derive(Debug, thiserror::Error)]
#[error("interrupted at the prompt; nothing was deleted")]
pub struct Interrupted;

/// status and destroy go on without Security Hub: what it would hold cannot exist.
pub(super) fn warn_securityhub_off(stack: &Stack, plan: &engine::Plan) {
    if !plan.securityhub_off.is_empty() {
        eprintln!(
            "warning: Security Hub is not enabled in account {} region {} (InvalidAccessException): {} cannot exist there",
            stack.account,
            stack.region,
            plan.securityhub_off.join(", ")
        );
    }
}

/// Destroy one stack, under its lock.
async fn one(g: &Global, s: &Session, yes: bool, in_fleet: bool) -> Result<Report> {
    let state = s.load_state().await?;
    let plan = engine::plan_owned(&s.ctx, &s.stack, &state, false).await?;
    let orphan_keys = unnamed_keys(s, &plan).await?;
    warn_securityhub_off(&s.stack, &plan);
    let owned: Vec<&str> = plan
        .items
        .iter()
        .filter(|p| {
            p.in_state || p.record.is_some() || (p.live.is_some() && p.action != Action::Conflict)
        })
        .map(|p| p.address.as_str())
        .collect();
    if !yes {
        let summary = format!(
            "destroy deletes {} resources of stack {}",
            owned.len(),
            s.stack.name
        );
        let mut listing = format!(
            "This deletes {} resources of stack {} in {} (account {}):",
            owned.len(),
            s.stack.name,
            s.stack.region,
            s.stack.account
        );
        for a in &owned {
            listing.push_str(&format!("\n  - {a}"));
        }
        match confirm(summary, listing, s.stack.name.clone()).await {
            Ok(true) => {}
            Ok(false) => {
                eprintln!("Not confirmed; nothing was deleted.");
                return Ok(Report {
                    code: EXIT_ERROR,
                    json: serde_json::json!({"format_version": report::FORMAT_VERSION, "confirmed": false}),
                    text: String::new(),
                    markdown: String::new(),
                });
            }
            Err(e) if e.is::<Interrupted>() => {
                return Ok(Report::interrupted(format!("{e}\n")));
            }
            Err(e) => return Err(e),
        }
    }
    let progress = report::progress(g.output, g.no_progress || in_fleet);
    let (mut outcome, state) = engine::destroy(
        &s.ctx,
        &s.stack,
        &plan,
        orphan_keys,
        state,
        &s.store,
        progress.as_ref(),
    )
    .await;
    if crate::interrupt::requested() {
        return Ok(Report::interrupted(report::outcome_text(
            "Destroy", &outcome, 0,
        )));
    }
    check_nothing_left(s, &state, &mut outcome, in_fleet).await;
    let mut text = String::new();
    for p in plan.conflicts() {
        text.push_str(&format!(
            "left alone {}: {}\n",
            p.address,
            p.reason.as_deref().unwrap_or("not ours")
        ));
    }
    text.push_str(&report::outcome_text("Destroy", &outcome, 0));
    Ok(Report {
        code: if outcome.errors.is_empty() {
            EXIT_OK
        } else {
            EXIT_ERROR
        },
        json: report::outcome_json(&s.stack, &outcome, 0),
        text,
        markdown: report::outcome_markdown("Destroy", &s.stack, &outcome, 0),
    })
}

/// Keys a stopped run left unnamed (between CreateKey and CreateAlias). While the stack's alias
/// names its key, the next deploy names any other: there is none to look for.
async fn unnamed_keys(s: &Session, plan: &engine::Plan) -> Result<Vec<String>> {
    let named = plan
        .items
        .iter()
        .any(|p| p.kind == Kind::KmsKey && p.live.is_some());
    if s.ctx.member || named {
        return Ok(Vec::new());
    }
    crate::resources::kms_key::orphans(&s.ctx)
        .await
        .context("could not search for keys a stopped run left unnamed")
}

/// Nothing of ours may be left: the sweep finds whatever of ours is (a child cannot outlive its
/// parent); what it cannot find is read back, at the same time. SQS lists a deleted queue for up
/// to 60 seconds: a queue this run deleted is "being deleted", not left.
async fn check_nothing_left(
    s: &Session,
    state: &crate::state::State,
    outcome: &mut engine::Outcome,
    in_fleet: bool,
) {
    let unswept = Stack {
        resources: s
            .stack
            .resources
            .iter()
            .filter(|r| !engine::sweep::finds(r.spec.kind()))
            .cloned()
            .collect(),
        ..s.stack.clone()
    };
    // After a destroy nothing is known: every candidate's tags are read.
    let nothing = engine::sweep::Known::default();
    let (after, left) = futures::join!(
        engine::plan(&s.ctx, &unswept, state, false),
        engine::sweep::find(&s.ctx, &nothing)
    );
    match after {
        Ok(after) => {
            for p in after
                .items
                .iter()
                .filter(|p| p.live.is_some() && p.action != Action::Conflict)
            {
                if !outcome.lingers(p.kind) {
                    outcome
                        .errors
                        .push(format!("{} still exists after destroy", p.address));
                } else if !in_fleet {
                    eprintln!(
                        "note: {} is being deleted (SQS lists a deleted queue for up to 60 seconds)",
                        p.address
                    );
                }
            }
        }
        Err(e) => outcome
            .errors
            .push(format!("cannot read back what destroy deleted: {e:#}")),
    }
    match left {
        Ok(left) => {
            let lingering: Vec<_> = left
                .into_iter()
                .filter(|l| !outcome.lingers(l.kind))
                .collect();
            outcome.errors.extend(lingering.into_iter().map(|l| {
                format!(
                    "{} {} (tagged {STACK_TAG}={}) still exists after destroy",
                    l.kind, l.physical_id, s.stack.name
                )
            }))
        }
        Err(e) => outcome
            .errors
            .push(format!("cannot check that nothing is left: {e:#}")),
    }
}
