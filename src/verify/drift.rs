//! When a hop fails, what of the deployed stack differs from its config — a permission, a key's
//! policy or state, a queue's or topic's policy changed behind secauto's back — read the way
//! `secauto plan` reads it. A function's code is left out: verify does not build the bundle.

use anyhow::Result;
use serde_json::Value;

use super::{Hop, Verification};
use crate::engine::{self, Action};
use crate::resources::Ctx;
use crate::stack::Stack;
use crate::state::State;

/// The fields verify does not compare (it has no bundle to compare them with).
const NOT_COMPARED: &[&str] = &["code_sha256"];

/// Each resource of the stack that differs from its config, one line each.
pub async fn differences(ctx: &Ctx, stack: &Stack, state: &State) -> Result<Vec<String>> {
    let plan = engine::plan_owned(ctx, stack, state, false).await?;
    let mut lines = Vec::new();
    for item in &plan.items {
        let line = match item.action {
            Action::Create => format!("{} is missing", item.address),
            Action::Delete => continue,
            Action::Update => {
                let fields: Vec<String> = item
                    .diff
                    .iter()
                    .filter(|d| !NOT_COMPARED.contains(&d.field.as_str()))
                    .map(|d| match (&d.field[..], &d.live) {
                        ("key_state", Value::String(s)) => format!("key_state is {s}"),
                        (field, _) => format!("{field} changed"),
                    })
                    .collect();
                if fields.is_empty() {
                    continue;
                }
                format!("{}: {}", item.address, fields.join(", "))
            }
            Action::Conflict => format!(
                "{}: {}",
                item.address,
                item.reason.as_deref().unwrap_or("not the stack's")
            ),
            Action::Noop => continue,
        };
        lines.push(line);
    }
    Ok(lines)
}

/// Add what differs to every hop that failed on its own (not one that was never reached).
pub fn explain(v: &mut Verification, found: Result<Vec<String>>) {
    let said = match found {
        Ok(lines) if lines.is_empty() => return,
        Ok(lines) => format!(
            "the stack differs from its config ({}): `secauto plan` shows how, `secauto deploy` puts it back",
            lines.join("; ")
        ),
        Err(e) => format!("could not compare the stack with its config: {e:#}"),
    };
    for hop in v.hops.iter_mut().filter(|h| failed_itself(h)) {
        hop.detail.push_str("; ");
        hop.detail.push_str(&said);
    }
}

fn failed_itself(h: &Hop) -> bool {
    !h.ok && h.name != "clean-up" && !h.detail.starts_with("not reached")
}
