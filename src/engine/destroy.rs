//! Destroy: everything the stack owns — what the state records, what a read by name finds ours,
//! what the sweep finds — deleted in one walk of [`super::apply`].

use std::collections::BTreeSet;

use super::apply::{apply, Outcome, ResourceResult};
use super::{Action, Plan, Progress};
use crate::resources::{self, Ctx, Kind};
use crate::stack::Stack;
use crate::state::{Record, State, Store};

/// Delete everything the stack owns: what the state records, what a read by name finds tagged as
/// ours, what the sweep found (`plan` from [`super::plan_owned`]: a crash between a create and the
/// state write, or a lost state, leaves such resources behind), and `orphan_keys` (keys a stopped
/// run never named).
pub async fn destroy(
    ctx: &Ctx,
    stack: &Stack,
    plan: &Plan,
    orphan_keys: Vec<String>,
    state: State,
    store: &Store,
    progress: &dyn Progress,
) -> (Outcome, State) {
    let mut early_errors = Vec::new();
    let orphan_keys = match own_keys(ctx, plan, orphan_keys).await {
        Ok(keys) => keys,
        Err(e) => {
            early_errors.push(format!("could not search for the stack's own key: {e:#}"));
            Vec::new()
        }
    };
    let state = gather(ctx, stack, plan, orphan_keys, state);
    let items = state
        .resources
        .iter()
        .map(|(address, record)| super::Planned::delete_recorded(address, record.kind))
        .collect();
    let delete_plan = Plan {
        items,
        securityhub_off: vec![],
        securityhub_v2_off: vec![],
        securityhub: None,
    };
    let empty = Stack {
        resources: vec![],
        ..stack.clone()
    };
    let (mut outcome, state) = apply(ctx, &empty, &delete_plan, state, store, progress).await;
    outcome.errors.extend(early_errors);
    if !ctx.member {
        if let Err(e) = remove_claims(ctx).await {
            outcome
                .errors
                .push(format!("could not remove remediation's claims: {e:#}"));
        }
    }
    for p in plan.conflicts() {
        outcome.resources.push(ResourceResult {
            address: p.address.clone(),
            kind: p.kind,
            action: Action::Conflict,
            arn: None,
            error: None,
        });
    }
    (outcome, state)
}

/// The claims a remediation killed mid-run left (`/{stack}/remediation-claims/…`, SSM parameters
/// in the stack's own account and region: handlers/lambda/src/claim.rs) go with the stack.
async fn remove_claims(ctx: &Ctx) -> anyhow::Result<()> {
    let path = secauto_core::names::claims_path(&ctx.stack);
    let ssm = &ctx.clients.ssm;
    let mut pages = ssm
        .get_parameters_by_path()
        .path(&path)
        .into_paginator()
        .send();
    let mut names = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| crate::error::aws("ssm:GetParametersByPath", e))?;
        names.extend(
            page.parameters()
                .iter()
                .filter_map(|p| p.name().map(String::from)),
        );
    }
    // DeleteParameters takes at most 10 names a call.
    for chunk in names.chunks(10) {
        ssm.delete_parameters()
            .set_names(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| crate::error::aws("ssm:DeleteParameters", e))?;
    }
    Ok(())
}

/// The keys a stopped run never named, and — when the stack's alias names someone else's key —
/// the stack's own key, unnamed since: both are found by their tag.
async fn own_keys(ctx: &Ctx, plan: &Plan, known: Vec<String>) -> anyhow::Result<Vec<String>> {
    let alias_elsewhere = plan.conflicts().iter().any(|p| p.kind == Kind::KmsKey);
    if alias_elsewhere && !ctx.member && known.is_empty() {
        return resources::kms_key::orphans(ctx).await;
    }
    Ok(known)
}

/// The state, plus every live resource of ours it lacks, so that one walk deletes everything:
/// what a read by name found ours, the sweep's finds, and `orphan_keys`.
fn gather(
    ctx: &Ctx,
    stack: &Stack,
    plan: &Plan,
    orphan_keys: Vec<String>,
    mut state: State,
) -> State {
    let foreign: BTreeSet<&str> = plan
        .conflicts()
        .iter()
        .map(|p| p.address.as_str())
        .collect();
    for p in &plan.items {
        let (Some(r), Some(live)) = (stack.get(&p.address), &p.live) else {
            continue;
        };
        if p.action == Action::Conflict || state.resources.contains_key(&p.address) {
            continue;
        }
        // A part that cannot be tagged (a rule's target, a function's permission) of something
        // that is not ours is not ours either; a resource tagged ours is, whatever it names.
        if live.tags.is_none() && r.deps.iter().any(|d| foreign.contains(d.as_str())) {
            continue;
        }
        state.resources.insert(
            p.address.clone(),
            super::apply::record(r, p.kind, &live.physical_id, &live.arn),
        );
    }
    // And what only the tag knows about: the sweep's finds, and keys a stopped run never named.
    let swept = plan.items.iter().filter_map(|p| p.record.clone());
    let orphans = orphan_keys.into_iter().map(|id| Record {
        kind: Kind::KmsKey,
        physical_id: format!(
            "{}|{id}",
            crate::stack::Names::new(&ctx.stack, &ctx.region, "").key_alias()
        ),
        arn: None,
        spec_hash: String::new(),
        depends_on: vec![],
    });
    for record in swept.chain(orphans) {
        let known = state
            .resources
            .values()
            .any(|r| r.kind == record.kind && r.physical_id == record.physical_id);
        if !known {
            state.resources.insert(
                super::sweep::address(record.kind, &record.physical_id),
                record,
            );
        }
    }
    state
}
