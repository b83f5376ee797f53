//! `secauto simulate`: the triage policy of the config, run offline over finding or event files.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;

use crate::cli::Global;
use crate::exit::{EXIT_ERROR, EXIT_OK};
use crate::report::Output;
use crate::session::{load_config, Need};
use secauto_core::controls;
use secauto_core::envelope::parse_input;
use secauto_core::triage::{triage, Triaged};

/// Run simulate; exit 1 when a file or a finding could not be read.
pub(super) fn run(g: &Global, files: &[PathBuf]) -> Result<u8> {
    let config = load_config(g, Need::Defaults)?;
    let policy = config.triage.policy();
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        let name = file.display().to_string();
        let value: serde_json::Value = match std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("not JSON: {e}")))
        {
            Ok(v) => v,
            Err(e) => {
                problems.push(json!({"file": name, "error": e}));
                continue;
            }
        };
        let input = match parse_input(&value) {
            Ok(i) => i,
            Err(e) => {
                problems.push(json!({"file": name, "error": e.to_string()}));
                continue;
            }
        };
        let (decided, rejected) = triage(&policy, &input);
        for r in rejected {
            problems.push(json!({
                "file": name,
                "finding_index": r.index,
                "finding_id": r.id,
                "error": r.reason,
            }));
        }
        for t in decided {
            rows.push(row(&t, &name, config.remediation.mode)?);
        }
    }
    match g.output {
        Output::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({"format_version": crate::report::FORMAT_VERSION, "findings": rows, "errors": problems})
                )?
            );
        }
        Output::Text | Output::Markdown => {
            for r in &rows {
                let id = r["finding_id"].as_str().unwrap_or_default();
                let short: String = if id.len() > 60 {
                    format!("…{}", &id[id.len() - 59..])
                } else {
                    id.to_string()
                };
                let why = match (r["skipped"].as_str(), r["rule"].as_str()) {
                    (Some(s), _) => format!("skipped: {s}"),
                    (None, Some(rule)) => format!("rule {rule}"),
                    (None, None) => "no rule matched".into(),
                };
                println!(
                    "{:<29} {:<13} {:<13} {:<60} {:<14} {}{}",
                    r["action"].as_str().unwrap_or_default(),
                    r["severity"].as_str().unwrap_or_default(),
                    r["control"].as_str().unwrap_or("-"),
                    short,
                    r["product"].as_str().unwrap_or_default(),
                    why,
                    if r["escalate"] == true {
                        " (escalated)"
                    } else {
                        ""
                    }
                );
            }
            for p in &problems {
                eprintln!(
                    "{}: {}",
                    p["file"].as_str().unwrap_or_default(),
                    p["error"].as_str().unwrap_or_default()
                );
            }
            println!(
                "{} findings, {} could not be read.",
                rows.len(),
                problems.len()
            );
        }
    }
    Ok(if problems.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERROR
    })
}

/// One finding's row: what triage decided, the mode it would run in (`[remediation] mode` unless
/// the rule set its own) and, for a catalogued control, what its remediation does.
fn row(t: &Triaged, file: &str, stack_mode: secauto_core::Mode) -> Result<serde_json::Value> {
    let mut row = serde_json::to_value(t)?;
    row["file"] = json!(file);
    row["mode"] = match t.action.resource_type() {
        Some(_) => json!(t.mode.unwrap_or(stack_mode).as_str()),
        None => json!(null),
    };
    let entry = t.control.as_deref().and_then(controls::entry);
    row["remediation"] = match entry.filter(|e| e.action == t.action) {
        Some(e) => {
            json!({"does": e.does, "never": e.never, "on_by_default": e.on, "undo": e.undo})
        }
        None => json!(null),
    };
    Ok(row)
}
