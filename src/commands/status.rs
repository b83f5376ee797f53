//! `secauto status`: every resource read and reported; exit 0 all in sync, 2 otherwise.

use anyhow::Result;

use crate::cli::Global;
use crate::engine;
use crate::exit::{Report, EXIT_CHANGES, EXIT_OK};
use crate::fleet::{self, Job};
use crate::report;
use crate::session::{aws_config, Session};
use crate::stack::{Code, Part};

/// The status of the stack, or of every target of a fleet.
pub(super) async fn run(g: &Global) -> Result<u8> {
    let config = aws_config(g)?;
    if !config.targets.is_empty() {
        return fleet::run(g, &config, Job::Status, |config, part| async move {
            let s = Session::open(g, &config, Code::Required, &part, true).await?;
            one(&s).await
        })
        .await;
    }
    let s = Session::open(g, &config, Code::Required, &Part::Alone, false).await?;
    one(&s).await?.print(g.output)
}

/// The status of one stack.
async fn one(s: &Session) -> Result<Report> {
    let state = s.load_state().await?;
    let plan = engine::plan_owned(&s.ctx, &s.stack, &state, false).await?;
    super::destroy::warn_securityhub_off(&s.stack, &plan);
    let rows = plan.status(&s.stack, &state);
    Ok(Report {
        code: if rows.iter().all(|r| r.status == engine::Status::InSync) {
            EXIT_OK
        } else {
            EXIT_CHANGES
        },
        json: report::status_json(&s.stack, &rows),
        text: report::status_text(&s.stack, &rows),
        markdown: report::status_markdown(&s.stack, &rows),
    })
}
