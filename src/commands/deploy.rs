//! `secauto deploy`: create or reconcile every resource, in dependency order.

use std::path::Path;

use anyhow::Result;

use crate::cli::Global;
use crate::engine::{self, Action};
use crate::exit::{Report, EXIT_ERROR, EXIT_OK};
use crate::fleet::{self, Job};
use crate::report::{self, Output};
use crate::resources::{lambda_function, Spec};
use crate::saved_plan::SavedPlan;
use crate::session::{aws_config, locked, Session};
use crate::stack::{Code, Part};

/// Deploy the stack (exactly a saved plan, when given), or every target of a fleet.
pub(super) async fn run(g: &Global, adopt: bool, saved: Option<&Path>) -> Result<u8> {
    // A saved plan is checked for readability before anything else.
    let saved = saved.map(SavedPlan::load).transpose()?;
    let config = aws_config(g)?;
    if !config.targets.is_empty() {
        if saved.is_some() {
            let Some((config, part)) = fleet::single(g, &config).await? else {
                anyhow::bail!("a saved plan is one stack's, and this config is a fleet ([[targets]]): pass the --target ACCOUNT/REGION it was planned for, or deploy the fleet without a plan file");
            };
            let s = Session::open(g, &config, Code::Required, &part, true).await?;
            let lock = s.lock(g, "secauto deploy").await?;
            return locked(lock, one(g, &s, adopt, saved.as_ref(), true))
                .await?
                .print(g.output);
        }
        return fleet::run(g, &config, Job::Deploy, |config, part| async move {
            let s = Session::open(g, &config, Code::Required, &part, true).await?;
            let lock = s.lock(g, "secauto deploy").await?;
            locked(lock, one(g, &s, adopt, None, true)).await
        })
        .await;
    }
    let s = Session::open(g, &config, Code::Required, &Part::Alone, false).await?;
    let lock = s.lock(g, "secauto deploy").await?;
    locked(lock, one(g, &s, adopt, saved.as_ref(), false))
        .await?
        .print(g.output)
}

/// Deploy one stack, under its lock.
async fn one(
    g: &Global,
    s: &Session,
    adopt: bool,
    saved: Option<&SavedPlan>,
    in_fleet: bool,
) -> Result<Report> {
    let state = s.load_state().await?;
    let plan = engine::plan_owned(&s.ctx, &s.stack, &state, adopt).await?;
    if !plan.securityhub_off.is_empty() {
        return Err(engine::securityhub_off_error(
            &s.stack,
            &plan.securityhub_off,
        ));
    }
    let conflicts = plan.conflicts();
    if !conflicts.is_empty() {
        // Ownership is judged before any write: nothing is applied while one resource is foreign.
        let mut errors = vec![format!(
            "deploy changed nothing: {} resource(s) with the stack's names are not the stack's. Rename the stack, remove or rename the other resources, or take them over with --adopt where the message allows it",
            conflicts.len()
        )];
        errors.extend(conflicts.iter().map(|c| {
            format!(
                "{}: {}",
                c.address,
                c.reason.as_deref().unwrap_or("conflict")
            )
        }));
        let outcome = engine::Outcome {
            resources: Vec::new(),
            errors,
        };
        return Ok(report_of(s, &outcome, 0));
    }
    if let Some(why) = no_concurrency_room(s, &plan).await {
        let outcome = engine::Outcome {
            resources: Vec::new(),
            errors: vec![format!("deploy changed nothing: {why}")],
        };
        return Ok(report_of(s, &outcome, 0));
    }
    if let Some(saved) = saved {
        if let Some(why) = saved.stale(&s.stack, &plan) {
            anyhow::bail!(
                "the saved plan (made {}) is stale and was not applied: {why}. Nothing was changed; run `secauto plan --out` again and review the new plan",
                saved.created
            );
        }
    }
    if g.output == Output::Text && plan.has_changes() && !in_fleet {
        print!("{}", report::plan_text(&s.stack, &plan));
    }
    let progress = report::progress(g.output, g.no_progress || in_fleet);
    let (outcome, _state) =
        engine::apply(&s.ctx, &s.stack, &plan, state, &s.store, progress.as_ref()).await;
    let unchanged = outcome.count(Action::Noop);
    Ok(report_of(s, &outcome, unchanged))
}

/// Why the functions' reservations do not fit the account (checked before any write).
async fn no_concurrency_room(s: &Session, plan: &engine::Plan) -> Option<String> {
    let functions: Vec<_> = s
        .stack
        .resources
        .iter()
        .filter_map(|r| match &r.spec {
            Spec::LambdaFunction(spec) => {
                Some((spec, plan.get(&r.address).and_then(|p| p.live.as_ref())))
            }
            _ => None,
        })
        .collect();
    lambda_function::no_room(&s.ctx, &functions).await
}

/// The report of a deploy's outcome: exit 1 when anything failed.
fn report_of(s: &Session, outcome: &engine::Outcome, unchanged: usize) -> Report {
    Report {
        code: if outcome.errors.is_empty() {
            EXIT_OK
        } else {
            EXIT_ERROR
        },
        json: report::outcome_json(&s.stack, outcome, unchanged),
        text: report::outcome_text("Deploy", outcome, unchanged),
        markdown: report::outcome_markdown("Deploy", &s.stack, outcome, unchanged),
    }
}
