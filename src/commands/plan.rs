//! `secauto plan`: what deploy would change; exit 0 nothing, 2 changes pending, 1 error.

use std::path::Path;

use anyhow::Result;

use crate::cli::Global;
use crate::engine;
use crate::exit::{Report, EXIT_CHANGES, EXIT_ERROR, EXIT_OK};
use crate::fleet::{self, Job};
use crate::report;
use crate::saved_plan::SavedPlan;
use crate::session::{aws_config, Session};
use crate::stack::{Code, Part};

/// Plan the stack, or every target of a fleet; `out` saves one stack's plan for `deploy`.
pub(super) async fn run(g: &Global, out: Option<&Path>) -> Result<u8> {
    let config = aws_config(g)?;
    if !config.targets.is_empty() {
        if out.is_some() {
            let Some((config, part)) = fleet::single(g, &config).await? else {
                anyhow::bail!("plan --out saves the plan of one stack, and this config is a fleet ([[targets]]): pick one target with --target ACCOUNT/REGION, or plan the fleet without --out");
            };
            let s = Session::open(g, &config, Code::Required, &part, true).await?;
            return one(&s, out).await?.print(g.output);
        }
        return fleet::run(g, &config, Job::Plan, |config, part| async move {
            let s = Session::open(g, &config, Code::Required, &part, true).await?;
            one(&s, None).await
        })
        .await;
    }
    let s = Session::open(g, &config, Code::Required, &Part::Alone, false).await?;
    one(&s, out).await?.print(g.output)
}

/// The plan of one stack.
async fn one(s: &Session, out: Option<&Path>) -> Result<Report> {
    let state = s.load_state().await?;
    let plan = engine::plan_owned(&s.ctx, &s.stack, &state, false).await?;
    if !plan.securityhub_off.is_empty() {
        return Err(engine::securityhub_off_error(
            &s.stack,
            &plan.securityhub_off,
        ));
    }
    if let Some(path) = out {
        SavedPlan::new(&s.stack, &plan).save(path)?;
        eprintln!(
            "saved the plan to {}; `secauto deploy {}` applies exactly it",
            path.display(),
            path.display()
        );
    }
    Ok(Report {
        code: if !plan.conflicts().is_empty() {
            EXIT_ERROR
        } else if plan.has_changes() {
            EXIT_CHANGES
        } else {
            EXIT_OK
        },
        json: report::plan_json(&s.stack, &plan, &state),
        text: report::plan_text(&s.stack, &plan),
        markdown: report::plan_markdown(&s.stack, &plan),
    })
}
