//! A fleet's aggregated result in every output form, and its targets as a CI matrix.

use anyhow::Result;
use serde_json::{json, Value};

use super::{Done, Job, Unit};
use crate::config::Config;
use crate::exit::{EXIT_CHANGES, EXIT_OK};
use crate::report::{self, Output};

/// Print the result of `job` over `done` in the form `output` asks for.
pub(super) fn print(
    output: Output,
    job: Job,
    config: &Config,
    done: &[Done],
    code: u8,
    seconds: f64,
) -> Result<()> {
    let g_output = output;
    match g_output {
        Output::Json => {
            let targets: Vec<Value> = done
                .iter()
                .map(|d| {
                    json!({
                        "role": d.unit.role.as_str(),
                        "stack": d.unit.kind(),
                        "account": d.unit.account,
                        "region": d.unit.region,
                        "exit_code": d.code(),
                        "outcome": d.mark(),
                        "seconds": (d.seconds * 10.0).round() / 10.0,
                        "error": d.result.as_ref().err().map(|e| format!("{e:#}")),
                        "result": d.result.as_ref().ok().map(|r| r.json.clone()),
                    })
                })
                .collect();
            let mut out = std::io::stdout().lock();
            serde_json::to_writer_pretty(
                &mut out,
                &json!({
                    "format_version": report::FORMAT_VERSION,
                    "command": job.as_str(),
                    "stack": config.stack.name,
                    "exit_code": code,
                    "seconds": (seconds * 10.0).round() / 10.0,
                    "targets": targets,
                }),
            )?;
            println!();
        }
        Output::Text => {
            for d in done {
                println!("== {} ==", d.unit.label());
                match &d.result {
                    Ok(r) => print!("{}", r.text),
                    Err(e) => println!("error: {e:#}"),
                }
            }
            println!("{}", fleet_summary(job, done, seconds));
        }
        Output::Markdown => {
            println!(
                "### secauto {}: stack `{}`, {} targets\n",
                job.as_str(),
                config.stack.name,
                done.len()
            );
            println!("| target | outcome | summary |\n|---|---|---|");
            for d in done {
                println!(
                    "| {} | {} | {} |",
                    d.unit.label(),
                    d.mark(),
                    d.summary().replace('|', "\\|")
                );
            }
            for d in done {
                if let Ok(r) = &d.result {
                    if r.code != EXIT_OK {
                        println!(
                            "\n<details><summary>{}</summary>\n\n{}\n</details>",
                            d.unit.label(),
                            r.markdown
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

/// `Fleet deploy: 8 targets, 7 ok, 1 failed (administrator 1111…/us-east-1), 3.2 s.`
fn fleet_summary(job: Job, done: &[Done], seconds: f64) -> String {
    let failed: Vec<String> = done
        .iter()
        .filter(|d| d.code() != EXIT_OK && d.code() != EXIT_CHANGES)
        .map(|d| d.unit.label())
        .collect();
    let changes: Vec<String> = done
        .iter()
        .filter(|d| d.code() == EXIT_CHANGES)
        .map(|d| d.unit.label())
        .collect();
    let mut s = format!(
        "Fleet {}: {} targets, {} ok",
        job.as_str(),
        done.len(),
        done.len() - failed.len() - changes.len()
    );
    if !changes.is_empty() {
        let what = if job == Job::Status {
            "not in sync"
        } else {
            "with changes"
        };
        s.push_str(&format!(
            ", {} {what} ({})",
            changes.len(),
            changes.join(", ")
        ));
    }
    if !failed.is_empty() {
        s.push_str(&format!(
            ", {} failed ({})",
            failed.len(),
            failed.join(", ")
        ));
    }
    s.push_str(&format!(", {seconds:.1} s."));
    s
}

/// The units as the `include` list of a GitHub Actions `strategy.matrix`: one job per account and
/// region, each running `secauto <command> --target ACCOUNT/REGION` with its own state.
pub fn matrix(units: &[Unit]) -> Value {
    let include: Vec<Value> = units
        .iter()
        .map(|u| {
            json!({
                "target": format!("{}/{}", u.account, u.region),
                "account": u.account,
                "region": u.region,
                "role": u.role.as_str(),
                "stack": u.kind(),
            })
        })
        .collect();
    json!({ "include": include })
}
