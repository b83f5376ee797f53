//! Lambda's limit on a function's environment: "4 KB, for all variables combined" (Lambda quotas,
//! "Function configuration, deployment, and execution"). Lambda measures the variables as one JSON
//! object — its refusal quotes it: "…exceeded the 4KB limit. String measured: {"KEY":"value",…}" —
//! so keys, values, quotes, colons and commas all count. Every function's environment is measured
//! here from the exact map the graph gives it, before any API call.

use std::collections::BTreeMap;

use crate::config::Config;

/// The most a function's environment may take, measured as Lambda does.
pub const MAX_BYTES: usize = 4096;

/// The size Lambda measures: the variables as compact JSON. A character outside ASCII is counted as
/// its `\uXXXX` escape (the larger of the two forms it may be measured in).
pub fn bytes(env: &BTreeMap<String, String>) -> usize {
    let text = serde_json::to_string(env).unwrap_or_default();
    text.chars()
        .map(|c| match c.len_utf16() {
            _ if c.is_ascii() => 1,
            1 => 6,
            _ => 12,
        })
        .sum()
}

/// What to change when a setting is what makes an environment too large.
fn remedy(variable: &str) -> Option<&'static str> {
    Some(match variable {
        "PROTECTED_RESOURCES" => {
            "[remediation] protected: protect the resources by tag ([remediation] protected_tags) instead of listing each one"
        }
        "PROTECTED_TAGS" => "[remediation] protected_tags: protect with fewer or shorter tags",
        "SECAUTO_FLEET" => {
            "[[targets]]: split the fleet into several stacks (each with its own [stack] name)"
        }
        "MEMBER_EXTERNAL_ID" => "[fleet] external_id: shorten it",
        "TRIAGE_POLICY" => "[[triage.rules]]: merge rules or shorten their names and lists",
        _ => return None,
    })
}

/// `Err` naming the largest settings and what to change when `env`, function `function`'s
/// environment, is over Lambda's limit.
pub fn check(function: &str, env: &BTreeMap<String, String>) -> Result<(), String> {
    let total = bytes(env);
    if total <= MAX_BYTES {
        return Ok(());
    }
    let mut sizes: Vec<(&String, usize)> = env
        .iter()
        .map(|(k, v)| (k, bytes(&BTreeMap::from([(k.clone(), v.clone())])) - 2))
        .collect();
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut largest: Vec<String> = sizes
        .iter()
        .filter_map(|(k, size)| Some(format!("{k} takes {size} bytes ({})", remedy(k)?)))
        .take(3)
        .collect();
    if largest.is_empty() {
        largest.push("every name and ARN carries the stack's name: shorten [stack] name".into());
    }
    Err(format!(
        "function {function}'s environment would be {total} bytes, over Lambda's limit of {MAX_BYTES} bytes (4 KB) for all variables combined, so deploy would fail at CreateFunction: {}",
        largest.join("; ")
    ))
}

/// The fleet the config makes, offline: a target without `role_arn` is the caller's account, here
/// a placeholder of the same length (12 digits), so every size is as deploy will make it.
fn offline_fleet(config: &Config) -> Option<(super::Fleet, String)> {
    const CALLER: &str = "000000000000";
    let fleet = super::Fleet::of(config, |t| {
        t.role_arn
            .as_deref()
            .and_then(crate::config::role_account)
            .unwrap_or(CALLER)
            .to_string()
    })?;
    let home = fleet.home_region.clone();
    Some((fleet, home))
}

/// The functions' environments of the stack `config` makes (for a fleet: its administrator's, the
/// only stack with functions), each checked against Lambda's limit, offline and before any call.
/// `region` is where a stack alone is deployed (a fleet's administrator is in its first region).
pub fn check_environment(config: &Config, region: &str) -> Result<(), super::StackError> {
    let (part, region) = match offline_fleet(config) {
        Some((fleet, home)) => (super::Part::Administrator(fleet), home),
        None if config.targets.is_empty() => (super::Part::Alone, region.to_string()),
        // No administrator: validation says so.
        None => return Ok(()),
    };
    let s = super::Shared::new(
        config,
        "000000000000",
        &region,
        super::Code::NotNeeded,
        &part,
    );
    let problems: Vec<String> = super::FUNCTIONS
        .iter()
        .filter_map(|(key, suffix)| {
            check(
                &s.n.function(suffix),
                &super::functions::environment(&s, key),
            )
            .err()
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(super::StackError::Environment(problems))
    }
}
