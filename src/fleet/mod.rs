//! A fleet: the config's `[[targets]]`, each account in each of its regions a stack of its own with
//! its own state, run concurrently (`--parallelism` at once) into one result. One target failing
//! never stops the others; the run exits 0 only when every target succeeded.

mod summary;

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Instant;

use anyhow::{Context, Result};
use futures::StreamExt;

use crate::aws::{self, Clients};
use crate::cli::Global;
use crate::config::{role_account, Config, TargetRole};
use crate::exit::{Report, EXIT_CHANGES, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK};
use crate::stack::{Fleet, Part};

pub use summary::matrix;

/// A command that runs against every stack of a fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Plan,
    Status,
    Deploy,
    Destroy,
    Verify,
}

impl Job {
    /// The command's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Job::Plan => "plan",
            Job::Status => "status",
            Job::Deploy => "deploy",
            Job::Destroy => "destroy",
            Job::Verify => "verify",
        }
    }
}

/// One account in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub role: TargetRole,
    /// The administrator's first region, where its whole stack is.
    pub home: bool,
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub account: String,
    pub region: String,
}

impl Unit {
    /// `administrator 111111111111/us-east-1`
    pub fn label(&self) -> String {
        format!("{} {}/{}", self.kind(), self.account, self.region)
    }

    /// What the stack here is: the administrator's home holds the whole stack; every other
    /// account-region (the administrator's other regions too) a member stack.
    fn kind(&self) -> &'static str {
        match (self.role, self.home) {
            (TargetRole::Administrator, true) => "administrator",
            (TargetRole::Administrator, false) => "administrator (member stack)",
            (TargetRole::Member, _) => "member",
        }
    }

    fn part(&self, fleet: &Fleet) -> Part {
        if self.home {
            Part::Administrator(fleet.clone())
        } else {
            Part::Member(fleet.clone())
        }
    }

    /// The config of this unit's stack alone.
    fn config(&self, fleet_config: &Config) -> Config {
        let mut c = fleet_config.clone();
        c.targets.clear();
        c.stack.region = Some(self.region.clone());
        c.stack.role_arn = self.role_arn.clone();
        c.stack.external_id = self.external_id.clone();
        c
    }
}

/// The caller's own account (for targets without `role_arn`), asked once.
async fn caller_account(g: &Global, config: &Config, region: &str) -> Result<String> {
    let mut own = config.clone();
    own.stack.region = Some(region.to_string());
    own.stack.role_arn = None;
    let conn = crate::session::connection(g, &own);
    let sdk = aws::load(&conn).await?;
    aws::account_id(&Clients::new(&sdk, &conn).sts).await
}

/// The units of the fleet (in config order) and the fleet as the stacks' graphs need it; only the
/// units `--target` picks, when it is given.
pub async fn resolve(g: &Global, config: &Config) -> Result<(Vec<Unit>, Fleet)> {
    // Offline: a fleet too large for Lambda's environment is refused before STS is asked.
    crate::stack::check_environment(config, "us-east-1")?;
    let mut caller = None;
    let mut units = Vec::new();
    for t in &config.targets {
        let account = match t.role_arn.as_deref().and_then(role_account) {
            Some(a) => a.to_string(),
            None => {
                if caller.is_none() {
                    caller = Some(caller_account(g, config, &t.regions[0]).await.context(
                        "cannot tell the caller's account, for the [[targets]] without role_arn",
                    )?);
                }
                caller.clone().unwrap_or_default()
            }
        };
        for (i, region) in t.regions.iter().enumerate() {
            units.push(Unit {
                role: t.role,
                home: t.role == TargetRole::Administrator && i == 0,
                role_arn: t.role_arn.clone(),
                external_id: t.external_id.clone(),
                account: account.clone(),
                region: region.clone(),
            });
        }
    }
    let mut seen = BTreeSet::new();
    for u in &units {
        if !seen.insert((u.account.clone(), u.region.clone())) {
            anyhow::bail!(
                "[[targets]] lists account {} in {} twice (once without role_arn, as the caller's account): one stack per account and region",
                u.account,
                u.region
            );
        }
    }
    let of = |t: &crate::config::TargetConfig| {
        t.role_arn
            .as_deref()
            .and_then(role_account)
            .map(str::to_string)
            .or_else(|| caller.clone())
            .unwrap_or_default()
    };
    let fleet = Fleet::of(config, of).context("[[targets]] has no administrator")?;
    Ok((pick(units, &g.targets)?, fleet))
}

/// The one target `--target` picks, as its stack's config and part: a CI matrix job's run of one
/// account-region (a saved plan, an unlock). `None` without `--target` or when it picks several.
pub async fn single(g: &Global, config: &Config) -> Result<Option<(Config, Part)>> {
    if g.targets.is_empty() {
        return Ok(None);
    }
    let (units, fleet) = resolve(g, config).await?;
    Ok(match units.as_slice() {
        [unit] => Some((unit.config(config), unit.part(&fleet))),
        _ => None,
    })
}

/// The units `--target ACCOUNT[/REGION]` names; all without it. A filter naming nothing is an error.
fn pick(units: Vec<Unit>, filters: &[String]) -> Result<Vec<Unit>> {
    if filters.is_empty() {
        return Ok(units);
    }
    let matches = |u: &Unit, f: &str| match f.split_once('/') {
        Some((a, r)) => u.account == a && u.region == r,
        None => u.account == f,
    };
    for f in filters {
        if !units.iter().any(|u| matches(u, f)) {
            anyhow::bail!(
                "--target {f} names no target of the fleet; the targets are: {}",
                units
                    .iter()
                    .map(|u| format!("{}/{}", u.account, u.region))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(units
        .into_iter()
        .filter(|u| filters.iter().any(|f| matches(u, f)))
        .collect())
}

/// What destroy of a whole fleet asks, once, before anything is read: a summary for the error
/// without a terminal, and the listing of every target.
pub fn destroy_question(config: &Config) -> (String, String) {
    let regions: usize = config.targets.iter().map(|t| t.regions.len()).sum();
    let summary = format!(
        "destroy deletes stack {} in {} targets ({regions} account-regions)",
        config.stack.name,
        config.targets.len()
    );
    let mut listing = format!(
        "This deletes stack {} from every target of the fleet ({regions} account-regions):",
        config.stack.name
    );
    for t in &config.targets {
        listing.push_str(&format!(
            "\n  - {} {} in {}",
            t.role.as_str(),
            t.role_arn.as_deref().unwrap_or("(the caller's account)"),
            t.regions.join(", ")
        ));
    }
    (summary, listing)
}

/// What one unit's run came to.
struct Done {
    unit: Unit,
    seconds: f64,
    result: Result<Report>,
}

impl Done {
    fn code(&self) -> u8 {
        match &self.result {
            Ok(r) => r.code,
            Err(e) if e.is::<crate::interrupt::Interrupted>() => EXIT_INTERRUPTED,
            Err(_) => EXIT_ERROR,
        }
    }

    /// One line: the report's summary, or the error.
    fn summary(&self) -> String {
        match &self.result {
            Ok(r) if r.code == EXIT_INTERRUPTED => "interrupted".into(),
            Ok(r) => r
                .text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("done")
                .trim()
                .to_string(),
            Err(e) => format!("error: {e:#}").replace('\n', " "),
        }
    }

    fn mark(&self) -> &'static str {
        match self.code() {
            EXIT_OK => "ok",
            EXIT_CHANGES => "changes",
            EXIT_INTERRUPTED => "stopped",
            _ => "FAILED",
        }
    }
}

/// Run `one` on the stack of every unit of the fleet (its own config and part), `--parallelism` at
/// once; print one line per unit as it ends, then the aggregated result. Exit: 130 when
/// interrupted, else 1 when any unit failed, else 2 when any has changes or drift (plan, status),
/// else 0.
pub async fn run<F, Fut>(g: &Global, config: &Config, job: Job, one: F) -> Result<u8>
where
    F: Fn(Config, Part) -> Fut,
    Fut: Future<Output = Result<Report>>,
{
    let all: usize = config.targets.iter().map(|t| t.regions.len()).sum();
    if g.state.is_some() && g.targets.is_empty() && all > 1 {
        anyhow::bail!(
            "--state names one state, and this run has {all} targets, each with its own state and lock: remove --state (or SECAUTO_STATE), or pick one target with --target ACCOUNT/REGION"
        );
    }
    let (units, fleet) = resolve(g, config).await?;
    if g.state.is_some() && units.len() > 1 {
        anyhow::bail!(
            "--state names one state, and this run has {} targets, each with its own state and lock: remove --state (or SECAUTO_STATE), or pick one target with --target ACCOUNT/REGION",
            units.len()
        );
    }
    let at_once = usize::from(g.parallelism).min(units.len()).max(1);
    // One line per target on stderr as it ends, JSON or not: a CI log shows which target is slow.
    let progress = !g.no_progress;
    if progress {
        eprintln!(
            "{} stack {} on {} targets ({at_once} at once)",
            job.as_str(),
            config.stack.name,
            units.len()
        );
    }
    let started = Instant::now();
    let one = &one;
    let done: Vec<Done> = futures::stream::iter(units)
        .map(|unit| {
            let fleet = &fleet;
            async move {
                let t = Instant::now();
                let result = if crate::interrupt::requested() {
                    Err(anyhow::Error::new(crate::interrupt::Interrupted).context("not started"))
                } else {
                    // Boxed: each run's future is large.
                    Box::pin(one(unit.config(config), unit.part(fleet))).await
                };
                let d = Done {
                    unit,
                    seconds: t.elapsed().as_secs_f64(),
                    result,
                };
                if progress {
                    eprintln!(
                        "  {:<7} {:<40} {} ({:.1} s)",
                        d.mark(),
                        d.unit.label(),
                        d.summary(),
                        d.seconds
                    );
                }
                d
            }
        })
        .buffered(at_once)
        .collect()
        .await;
    let code = exit_code(&done);
    summary::print(
        g.output,
        job,
        config,
        &done,
        code,
        started.elapsed().as_secs_f64(),
    )?;
    Ok(code)
}

/// 130 when interrupted, else 1 when any failed, else 2 when any has changes, else 0.
fn exit_code(done: &[Done]) -> u8 {
    let failed = |d: &&Done| d.code() != EXIT_OK && d.code() != EXIT_CHANGES;
    if done
        .iter()
        .filter(failed)
        .any(|d| d.code() == EXIT_INTERRUPTED)
    {
        EXIT_INTERRUPTED
    } else if done.iter().any(|d| failed(&d)) {
        EXIT_ERROR
    } else if done.iter().any(|d| d.code() == EXIT_CHANGES) {
        EXIT_CHANGES
    } else {
        EXIT_OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(account: &str, region: &str) -> Unit {
        Unit {
            role: TargetRole::Member,
            home: false,
            role_arn: None,
            external_id: None,
            account: account.into(),
            region: region.into(),
        }
    }

    #[test]
    fn target_filters_pick_accounts_and_account_regions() {
        let units = vec![
            unit("111111111111", "us-east-1"),
            unit("111111111111", "us-west-2"),
            unit("222222222222", "us-east-1"),
        ];
        assert_eq!(pick(units.clone(), &[]).unwrap().len(), 3);
        assert_eq!(
            pick(units.clone(), &["111111111111".into()]).unwrap().len(),
            2
        );
        let one = pick(units.clone(), &["222222222222/us-east-1".into()]).unwrap();
        assert_eq!(one, vec![unit("222222222222", "us-east-1")]);
        let e = pick(units, &["333333333333".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("names no target") && e.contains("222222222222/us-east-1"),
            "{e}"
        );
    }
}
