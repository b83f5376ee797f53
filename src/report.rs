//! Rendering: a readable plan and status on a terminal, one JSON document for machines, and progress
//! (indicatif spinners on a terminal, plain lines otherwise).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{json, Value};

use crate::engine::{Action, Outcome, Plan, Progress, ResourceStatus, Status};
use crate::resources::Difference;
use crate::stack::Stack;
use crate::state::State;

/// The version of every JSON document secauto prints or saves; it changes only when a field
/// changes meaning or goes away (new fields may appear in any version).
pub const FORMAT_VERSION: u32 = 1;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
    Markdown,
}

/// Pick the progress reporter: spinners on a terminal, lines on stderr otherwise, nothing for JSON
/// without a terminal or with `--no-progress`.
pub fn progress(output: Output, no_progress: bool) -> Box<dyn Progress> {
    let tty = std::io::stderr().is_terminal();
    if no_progress || (output == Output::Json && !tty) {
        Box::new(crate::engine::Silent)
    } else if tty {
        Box::new(Spinners::default())
    } else {
        Box::new(Lines::default())
    }
}

fn verb(action: Action, done: bool) -> &'static str {
    match (action, done) {
        (Action::Create, false) => "creating",
        (Action::Create, true) => "created",
        (Action::Update, false) => "updating",
        (Action::Update, true) => "updated",
        (Action::Delete, false) => "deleting",
        (Action::Delete, true) => "deleted",
        (_, _) => "checked",
    }
}

/// Plain lines on stderr, for CI logs.
#[derive(Default)]
pub struct Lines {
    started: Mutex<HashMap<String, Instant>>,
}

impl Progress for Lines {
    fn begin(&self, address: &str, action: Action) {
        if let Ok(mut s) = self.started.lock() {
            s.insert(address.to_string(), Instant::now());
        }
        eprintln!("{} {address}", verb(action, false));
    }
    fn end(&self, address: &str, action: Action, error: Option<&str>) {
        let took = self
            .started
            .lock()
            .ok()
            .and_then(|s| s.get(address).map(|t| t.elapsed()))
            .map(|d| format!(" ({:.1}s)", d.as_secs_f64()))
            .unwrap_or_default();
        match error {
            None => eprintln!("{} {address}{took}", verb(action, true)),
            Some(e) => eprintln!("failed {address}{took}: {e}"),
        }
    }
}

/// One spinner per resource in flight.
pub struct Spinners {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Default for Spinners {
    fn default() -> Self {
        Spinners {
            multi: MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
        }
    }
}

impl Progress for Spinners {
    fn begin(&self, address: &str, action: Action) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(format!("{} {address}", verb(action, false)));
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        if let Ok(mut b) = self.bars.lock() {
            b.insert(address.to_string(), bar);
        }
    }
    fn end(&self, address: &str, action: Action, error: Option<&str>) {
        let bar = self.bars.lock().ok().and_then(|mut b| b.remove(address));
        let line = match error {
            None => format!("✓ {} {address}", verb(action, true)),
            Some(e) => format!("✗ {address}: {e}"),
        };
        match bar {
            Some(bar) => {
                bar.set_style(
                    ProgressStyle::with_template("{msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.finish_with_message(line);
            }
            None => eprintln!("{line}"),
        }
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    };
    if s.len() > 160 {
        let cut: String = s.chars().take(157).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn differences_text(d: &[Difference]) -> String {
    d.iter()
        .map(|d| {
            format!(
                "      {}: {} → {}\n",
                d.field,
                short(&d.live),
                short(&d.desired)
            )
        })
        .collect()
}

/// The plan as text.
pub fn plan_text(stack: &Stack, plan: &Plan) -> String {
    let mut out = format!(
        "Stack {} in {} (account {}):\n",
        stack.name, stack.region, stack.account
    );
    if let Some(hubs) = &plan.securityhub {
        out.push_str(&hubs.text());
    }
    for p in &plan.items {
        match p.action {
            Action::Noop => {}
            Action::Conflict => out.push_str(&format!(
                "  ! {}: {}\n",
                p.address,
                p.reason.as_deref().unwrap_or("conflict")
            )),
            _ => {
                out.push_str(&format!("  {} {}\n", p.action.symbol(), p.address));
                out.push_str(&differences_text(&p.diff));
            }
        }
    }
    out.push_str(&format!("Plan: {}.\n", plan_summary(plan, "")));
    out
}

/// "N to create, N to update, N to delete, N unchanged[, N in conflict …]", `strong` around what acts.
fn plan_summary(plan: &Plan, strong: &str) -> String {
    format!(
        "{strong}{} to create, {} to update, {} to delete{strong}, {} unchanged{}",
        plan.count(Action::Create),
        plan.count(Action::Update),
        plan.count(Action::Delete),
        plan.count(Action::Noop),
        match plan.count(Action::Conflict) {
            0 => String::new(),
            n => format!(", {strong}{n} in conflict{strong} (deploy refuses them)"),
        }
    )
}

/// The plan as JSON.
pub fn plan_json(stack: &Stack, plan: &Plan, state: &State) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "stack": stack.name,
        "region": stack.region,
        "account": stack.account,
        "changes": {
            "create": plan.count(Action::Create),
            "update": plan.count(Action::Update),
            "delete": plan.count(Action::Delete),
            "unchanged": plan.count(Action::Noop),
            "conflict": plan.count(Action::Conflict),
        },
        "securityhub": plan.securityhub,
        "resources": plan.items.iter().map(|p| json!({
            "address": p.address,
            "kind": p.kind,
            "action": p.action.as_str(),
            "arn": p.arn(stack, state),
            "differences": p.diff,
            "reason": p.reason,
        })).collect::<Vec<_>>(),
    })
}

/// A deploy or destroy outcome as JSON.
pub fn outcome_json(stack: &Stack, outcome: &Outcome, unchanged: usize) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "stack": stack.name,
        "region": stack.region,
        "account": stack.account,
        "changes": {
            "create": outcome.count(Action::Create),
            "update": outcome.count(Action::Update),
            "delete": outcome.count(Action::Delete),
            "unchanged": unchanged,
        },
        "resources": outcome.resources.iter().map(|r| json!({
            "address": r.address,
            "kind": r.kind,
            "action": r.action.as_str(),
            "arn": r.arn,
            "error": r.error,
        })).collect::<Vec<_>>(),
        "errors": outcome.errors,
    })
}

/// A deploy or destroy outcome as text.
pub fn outcome_text(verb: &str, outcome: &Outcome, unchanged: usize) -> String {
    let mut out = String::new();
    if !outcome.errors.is_empty() {
        out.push_str(&format!("{} error(s):\n", outcome.errors.len()));
        for e in &outcome.errors {
            out.push_str(&format!("  - {e}\n"));
        }
    }
    if verb == "Destroy" {
        out.push_str(&format!(
            "Destroy: {} deleted.\n",
            outcome.count(Action::Delete)
        ));
        return out;
    }
    out.push_str(&format!(
        "{verb}: {} created, {} updated, {} deleted, {unchanged} unchanged.\n",
        outcome.count(Action::Create),
        outcome.count(Action::Update),
        outcome.count(Action::Delete),
    ));
    out
}

/// Status as text.
pub fn status_text(stack: &Stack, rows: &[ResourceStatus]) -> String {
    let mut out = format!(
        "Stack {} in {} (account {}):\n",
        stack.name, stack.region, stack.account
    );
    let width = rows.iter().map(|r| r.address.len()).max().unwrap_or(0);
    for r in rows {
        out.push_str(&format!("  {:<width$}  {}\n", r.address, r.status.as_str()));
        if let Some(n) = &r.note {
            out.push_str(&format!("      {n}\n"));
        }
        out.push_str(&differences_text(&r.differences));
    }
    let count = |s: Status| rows.iter().filter(|r| r.status == s).count();
    out.push_str(&format!(
        "{} in sync, {} drifted, {} missing, {} unmanaged.\n",
        count(Status::InSync),
        count(Status::Drifted),
        count(Status::Missing),
        count(Status::Unmanaged)
    ));
    out
}

/// Status as JSON.
pub fn status_json(stack: &Stack, rows: &[ResourceStatus]) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "stack": stack.name,
        "region": stack.region,
        "account": stack.account,
        "resources": rows,
    })
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn md_differences(d: &[Difference]) -> String {
    d.iter()
        .map(|d| {
            format!(
                "`{}`: {} → {}",
                d.field,
                md_cell(&short(&d.live)),
                md_cell(&short(&d.desired))
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// The plan as markdown, for a pull-request comment or `$GITHUB_STEP_SUMMARY`.
pub fn plan_markdown(stack: &Stack, plan: &Plan) -> String {
    let mut out = format!(
        "### secauto plan: `{}` in {} (account {})\n\n{}.\n",
        stack.name,
        stack.region,
        stack.account,
        plan_summary(plan, "**"),
    );
    if let Some(hubs) = &plan.securityhub {
        out.push('\n');
        out.push_str(&hubs.text());
    }
    let changed: Vec<_> = plan
        .items
        .iter()
        .filter(|p| p.action != Action::Noop)
        .collect();
    if !changed.is_empty() {
        out.push_str("\n| | resource | what changes |\n|---|---|---|\n");
        for p in changed {
            let what = match p.action {
                Action::Conflict => md_cell(p.reason.as_deref().unwrap_or("conflict")),
                _ => md_differences(&p.diff),
            };
            out.push_str(&format!(
                "| `{}` | `{}` | {} |\n",
                p.action.symbol(),
                p.address,
                what
            ));
        }
    }
    out
}

/// Status as markdown.
pub fn status_markdown(stack: &Stack, rows: &[ResourceStatus]) -> String {
    let count = |s: Status| rows.iter().filter(|r| r.status == s).count();
    let mut out = format!(
        "### secauto status: `{}` in {} (account {})\n\n{} in sync, **{} drifted, {} missing, {} unmanaged**.\n",
        stack.name,
        stack.region,
        stack.account,
        count(Status::InSync),
        count(Status::Drifted),
        count(Status::Missing),
        count(Status::Unmanaged)
    );
    let off: Vec<_> = rows.iter().filter(|r| r.status != Status::InSync).collect();
    if !off.is_empty() {
        out.push_str("\n| resource | status | what differs |\n|---|---|---|\n");
        for r in off {
            let mut what = md_differences(&r.differences);
            if let Some(n) = &r.note {
                if !what.is_empty() {
                    what.push_str("<br>");
                }
                what.push_str(&md_cell(n));
            }
            out.push_str(&format!(
                "| `{}` | {} | {} |\n",
                r.address,
                r.status.as_str(),
                what
            ));
        }
    }
    out
}

/// A deploy or destroy outcome as markdown.
pub fn outcome_markdown(verb: &str, stack: &Stack, outcome: &Outcome, unchanged: usize) -> String {
    let mut out = format!(
        "### secauto {}: `{}` in {} (account {})\n\n{} created, {} updated, {} deleted, {unchanged} unchanged.\n",
        verb.to_lowercase(),
        stack.name,
        stack.region,
        stack.account,
        outcome.count(Action::Create),
        outcome.count(Action::Update),
        outcome.count(Action::Delete),
    );
    if !outcome.errors.is_empty() {
        out.push_str(&format!("\n**{} error(s):**\n\n", outcome.errors.len()));
        for e in &outcome.errors {
            out.push_str(&format!("- {}\n", md_cell(e)));
        }
    }
    out
}

/// verify's result as JSON: `ok`, and each hop's name, outcome, milliseconds and detail.
pub fn verify_json(stack: &Stack, v: &crate::verify::Verification) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "stack": stack.name,
        "region": stack.region,
        "account": stack.account,
        "ok": v.ok(),
        "interrupted": v.interrupted,
        "finding": v.finding,
        "to_notification_ms": v.to_notification_ms,
        "hops": v.hops,
    })
}

/// The last line of verify's text: the verdict.
fn verify_summary(v: &crate::verify::Verification) -> String {
    let failed: Vec<&str> = v.hops.iter().filter(|h| !h.ok).map(|h| h.name).collect();
    match (v.interrupted, v.to_notification_ms) {
        (true, _) => "Verify interrupted: the path was not proven.".into(),
        (false, Some(ms)) if failed.is_empty() => {
            format!("Verify: the path works; a finding reached the topic in {ms} ms.")
        }
        _ if failed.is_empty() => "Verify: every hop checked.".into(),
        _ => format!("Verify FAILED: {}.", failed.join(", ")),
    }
}

/// verify's result as text: one line per hop.
pub fn verify_text(stack: &Stack, v: &crate::verify::Verification) -> String {
    let mut out = format!(
        "Stack {} in {} (account {}):\n",
        stack.name, stack.region, stack.account
    );
    for h in &v.hops {
        let mark = if h.ok { "ok    " } else { "FAILED" };
        out.push_str(&format!(
            "  {mark} {:<13} {:>6} ms  {}\n",
            h.name, h.ms, h.detail
        ));
    }
    out.push_str(&verify_summary(v));
    out.push('\n');
    out
}

/// verify's result as markdown.
pub fn verify_markdown(stack: &Stack, v: &crate::verify::Verification) -> String {
    let mut out = format!(
        "### secauto verify: `{}` in {} (account {})\n\n**{}**\n\n| hop | | ms | detail |\n|---|---|---|---|\n",
        stack.name,
        stack.region,
        stack.account,
        verify_summary(v)
    );
    for h in &v.hops {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            h.name,
            if h.ok { "ok" } else { "**failed**" },
            h.ms,
            md_cell(&h.detail)
        ));
    }
    out
}
