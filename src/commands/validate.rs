//! `secauto validate`: the config and the whole graph it makes, offline (no credentials, no API
//! call).

use anyhow::Result;

use crate::cli::Global;
use crate::config::{role_account, Config, TargetRole};
use crate::exit::{print_json, EXIT_OK};
use crate::report::{self, Output};
use crate::session::{load_config, origin, state_backend, Need};
use crate::stack::{self, Code, Part, Stack};

/// The account the offline graph is built for.
const ANY_ACCOUNT: &str = "000000000000";

/// Check the config and build every graph it makes (a fleet's administrator and member stacks).
pub(super) async fn run(g: &Global) -> Result<u8> {
    let config = load_config(g, Need::File)?;
    let resolved = match &config.stack.region {
        Some(r) => Some(r.clone()),
        None => crate::aws::configured_region(g.profile.as_deref()).await,
    };
    if resolved.is_none() && config.targets.is_empty() {
        eprintln!("note: no region is set ([stack] region, --region, AWS_REGION or the profile's region): the graph was checked for us-east-1");
    }
    let region = resolved.unwrap_or_else(|| "us-east-1".into());
    stack::check_environment(&config, &region)?;
    let (part, member, region) = parts(&config, region)?;
    let stack = stack::build_part(&config, ANY_ACCOUNT, &region, Code::NotNeeded, &part)?;
    let bundles = stack::build_part(&config, ANY_ACCOUNT, &region, Code::Required, &part).err();
    // The state a run would use: per account with role_arn, per target in a fleet.
    let account = config.stack.role_arn.as_deref().and_then(role_account);
    let state = if config.targets.is_empty() {
        state_backend(g, &config, &region, account.map(|a| (a, false)))?.describe()
    } else {
        let each = state_backend(g, &config, "<region>", Some(("<account>", true)))?;
        format!("{} (one per target)", each.describe())
    };
    let origin = origin(g, "secauto.toml");
    match g.output {
        Output::Json => print_json(&serde_json::json!({
            "format_version": report::FORMAT_VERSION,
            "config": origin,
            "valid": true,
            "stack": stack.name,
            "region": region,
            "resources": stack.resources.len(),
            "targets": config.targets.iter().map(|t| t.regions.len()).sum::<usize>(),
            "member_resources": member.as_ref().map(|m| m.resources.len()),
            "state": state,
            "bundles": bundles.as_ref().map_or("ok".to_string(), |e| e.to_string()),
            "warnings": stack.warnings,
            "run": run_settings(g, &config),
        }))?,
        _ => {
            for w in &stack.warnings {
                eprintln!("warning: {w}");
            }
            let fleet = member.as_ref().map(|m| {
                format!(
                    "; a fleet of {} account-regions, each member stack {} resources",
                    config
                        .targets
                        .iter()
                        .map(|t| t.regions.len())
                        .sum::<usize>(),
                    m.resources.len()
                )
            });
            println!(
                "{origin} is valid: stack {} with {} resources in {region}, state {state}{}",
                stack.name,
                stack.resources.len(),
                fleet.unwrap_or_default()
            );
            if let Some(e) = bundles {
                println!("note: deploy needs the handler bundles first: {e}");
            }
        }
    }
    Ok(EXIT_OK)
}

/// What a run with these flags and variables would use, beyond the config file.
fn run_settings(g: &Global, config: &Config) -> serde_json::Value {
    serde_json::json!({
        "role_arn": config.stack.role_arn,
        "external_id": config.stack.external_id.is_some(),
        "profile": g.profile,
        "endpoint_url": g.endpoint_url,
        "targets": g.targets,
        "lock_timeout_seconds": g.lock_timeout,
        "parallelism": g.parallelism,
        "progress": !g.no_progress,
    })
}

/// The part to check, a fleet's member stack, and the region: a fleet is checked in its
/// administrator's first region.
fn parts(config: &Config, region: String) -> Result<(Part, Option<Stack>, String)> {
    if config.targets.is_empty() {
        return Ok((Part::Alone, None, region));
    }
    let home = config
        .targets
        .iter()
        .find(|t| t.role == TargetRole::Administrator)
        .map(|t| t.regions[0].clone())
        .unwrap_or(region);
    let fleet = stack::Fleet {
        administrator: ANY_ACCOUNT.into(),
        home_region: home.clone(),
        coverage: Default::default(),
        external_id: "validate".into(),
    };
    let member = stack::build_part(
        config,
        ANY_ACCOUNT,
        &home,
        Code::NotNeeded,
        &Part::Member(fleet.clone()),
    )?;
    Ok((Part::Administrator(fleet), Some(member), home))
}
