//! `secauto verify`: a test finding followed through every hop of the deployed path, each hop
//! reported with its latency or what to look at; exit 0 when the whole path works, 1 otherwise,
//! 130 when a signal stopped it (what verify made is removed all the same).

use std::time::Duration;

use anyhow::Result;

use crate::cli::Global;
use crate::config::Config;
use crate::exit::{Report, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK};
use crate::fleet::{self, Job};
use crate::report;
use crate::session::{aws_config, Session};
use crate::stack::{Code, Names, Part};
use crate::verify::{self, Options};

/// Verify the stack, or every target of a fleet at once.
pub(super) async fn run(g: &Global, timeout: u64) -> Result<u8> {
    let config = aws_config(g)?;
    let timeout = Duration::from_secs(timeout);
    if !config.targets.is_empty() {
        return fleet::run(g, &config, Job::Verify, |config, part| async move {
            one(g, config, part, true, timeout).await
        })
        .await;
    }
    one(g, config, Part::Alone, false, timeout)
        .await?
        .print(g.output)
}

/// Verify one stack. A member stack of a fleet holds no path of its own: its findings are
/// followed in the administrator's.
async fn one(
    g: &Global,
    config: Config,
    part: Part,
    in_fleet: bool,
    timeout: Duration,
) -> Result<Report> {
    let s = Session::open(g, &config, Code::NotNeeded, &part, in_fleet).await?;
    let stack = &s.stack;
    let v = if matches!(part, Part::Member(_)) {
        verify::member()
    } else {
        let n = Names::new(&stack.name, &stack.region, &stack.account);
        let opts = Options {
            timeout,
            // The lowest severity the findings rule takes: the test finding alarms no one.
            severity: crate::config::SEVERITIES
                .iter()
                .find(|s| config.findings.severities.iter().any(|c| c == *s))
                .map_or_else(|| "HIGH".into(), |s| s.to_string()),
            hubs: crate::engine::hub::hubs(&s.ctx, stack).await,
        };
        let mut v = verify::run(&s.ctx.clients, &n, &opts).await;
        if !v.ok() && !v.interrupted {
            let found = async {
                let state = s.load_state().await?;
                verify::drift::differences(&s.ctx, stack, &state).await
            };
            verify::drift::explain(&mut v, found.await);
        }
        v
    };
    Ok(Report {
        code: if v.interrupted {
            EXIT_INTERRUPTED
        } else if v.ok() {
            EXIT_OK
        } else {
            EXIT_ERROR
        },
        json: report::verify_json(stack, &v),
        text: report::verify_text(stack, &v),
        markdown: report::verify_markdown(stack, &v),
    })
}
