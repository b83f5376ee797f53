//! Carry out a plan: deletions in reverse dependency order, then creates and updates, each operation
//! starting as soon as its own dependencies are done (bounded concurrency). The state file is saved
//! after every completed operation.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::{Action, Plan, Progress};
use crate::resources::{self, Ctx, Kind};
use crate::stack::Stack;
use crate::state::{Record, State, Store};

/// What happened to one address.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceResult {
    pub address: String,
    pub kind: Kind,
    pub action: Action,
    pub arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The result of a whole run.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub resources: Vec<ResourceResult>,
    pub errors: Vec<String>,
}

impl Outcome {
    /// True when `kind` may still be listed although this run deleted it: SQS lists a deleted queue
    /// for up to 60 seconds.
    pub fn lingers(&self, kind: Kind) -> bool {
        kind == Kind::SqsQueue
            && self
                .resources
                .iter()
                .any(|r| r.kind == kind && r.action == Action::Delete && r.error.is_none())
    }

    pub fn count(&self, action: Action) -> usize {
        self.resources
            .iter()
            .filter(|r| r.action == action && r.error.is_none())
            .count()
    }
}

/// SHA-256 of a spec, as recorded in state.
pub fn spec_hash(spec: &resources::Spec) -> String {
    let body = serde_json::to_vec(spec).unwrap_or_default();
    format!("{:x}", Sha256::digest(body))
}

struct Shared<'a> {
    state: Mutex<State>,
    store: &'a Store,
}

impl Shared<'_> {
    async fn record(&self, address: &str, record: Option<Record>) -> anyhow::Result<()> {
        let mut s = self.state.lock().await;
        match record {
            Some(r) => {
                s.resources.insert(address.to_string(), r);
            }
            None => {
                s.resources.remove(address);
            }
        }
        self.store.save(&s).await
    }
}

/// Apply `plan`. Returns the outcome and the final state (already saved).
pub async fn apply(
    ctx: &Ctx,
    stack: &Stack,
    plan: &Plan,
    state: State,
    store: &Store,
    progress: &dyn Progress,
) -> (Outcome, State) {
    let shared = Shared {
        state: Mutex::new(state),
        store,
    };
    let mut outcome = Outcome::default();
    if let Err(e) = record_known(&shared, stack, plan).await {
        outcome.errors.push(format!("{e:#}"));
    }
    outcome
        .resources
        .extend(delete_all(ctx, &shared, plan, progress).await);

    // Creates and updates: each as soon as its own dependencies are done.
    let edges = stack.edges();
    if let Err(e) = crate::graph::levels(&edges) {
        outcome.errors.push(e.to_string());
        let s = shared.state.into_inner();
        return (outcome, s);
    }
    let applied = crate::graph::walk(
        &edges,
        ctx.parallelism,
        |address| create_or_update(ctx, &shared, stack, plan, progress, address),
        |address, blocked| {
            let p = plan.get(&address)?;
            p.action.mutates().then(|| ResourceResult {
                address: address.clone(),
                kind: p.kind,
                action: p.action,
                arn: None,
                error: Some(format!(
                    "skipped: depends on {}, which failed",
                    blocked.join(", ")
                )),
            })
        },
    )
    .await;
    outcome.resources.extend(applied.into_iter().flatten());
    for r in &outcome.resources {
        if let Some(e) = &r.error {
            outcome.errors.push(format!("{}: {e}", r.address));
        }
    }
    let order: BTreeMap<&str, usize> = plan
        .items
        .iter()
        .enumerate()
        .map(|(i, p)| (p.address.as_str(), i))
        .collect();
    outcome
        .resources
        .sort_by_key(|r| order.get(r.address.as_str()).copied().unwrap_or(usize::MAX));
    (outcome, shared.state.into_inner())
}

/// The state's record of `r`, live as `physical_id` (and `arn`).
pub(super) fn record(
    r: &crate::stack::Resource,
    kind: Kind,
    physical_id: &str,
    arn: &Option<String>,
) -> Record {
    Record {
        kind,
        physical_id: physical_id.to_string(),
        arn: arn.clone(),
        spec_hash: spec_hash(&r.spec),
        depends_on: r.deps.clone(),
    }
}

/// Record, without an API call, what is already right but not (correctly) recorded, and what only
/// the ownership tag knew (a lost or fresh state), so that it is deleted.
async fn record_known(shared: &Shared<'_>, stack: &Stack, plan: &Plan) -> anyhow::Result<()> {
    let mut s = shared.state.lock().await;
    let mut changed = false;
    for p in plan.items.iter().filter(|p| p.action == Action::Noop) {
        let (Some(r), Some(live)) = (stack.get(&p.address), &p.live) else {
            continue;
        };
        let record = record(r, p.kind, &live.physical_id, &live.arn);
        if s.resources.get(&p.address) != Some(&record) {
            s.resources.insert(p.address.clone(), record);
            changed = true;
        }
    }
    for p in plan.items.iter().filter(|p| p.action == Action::Delete) {
        if let Some(record) = &p.record {
            if !s.resources.contains_key(&p.address) {
                s.resources.insert(p.address.clone(), record.clone());
                changed = true;
            }
        }
    }
    if changed {
        shared.store.save(&s).await?;
    }
    Ok(())
}

/// The deletions' order: each address with what must be gone before it (dependents first, only
/// where AWS requires it, see `delete_after`), and what AWS deletes with its parent (a function's
/// permissions and invoke configuration, a topic's subscriptions) mapped to that parent: it costs
/// no call of its own, and is recorded gone once the parent is.
fn deletion_order(
    s: &State,
    plan: &Plan,
) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, String>) {
    let deleting: BTreeMap<&String, &Record> = plan
        .items
        .iter()
        .filter(|p| p.action == Action::Delete)
        .filter_map(|p| Some((&p.address, s.resources.get(&p.address)?)))
        .collect();
    let implicit: BTreeMap<String, String> = deleting
        .iter()
        .filter_map(|(address, r)| {
            let parent = deleting.iter().find(|(pa, p)| {
                let named = r.depends_on.contains(pa);
                resources::goes_with(r.kind, &r.physical_id, p.kind, &p.physical_id, named)
            })?;
            Some(((*address).clone(), (*parent.0).clone()))
        })
        .collect();
    let deletions: BTreeMap<String, Vec<String>> = deleting
        .iter()
        .map(|(address, r)| {
            let deps = if implicit.contains_key(*address) {
                Vec::new()
            } else {
                r.depends_on
                    .iter()
                    .filter(|d| {
                        s.resources
                            .get(*d)
                            .is_none_or(|parent| resources::delete_after(r.kind, parent.kind))
                    })
                    .cloned()
                    .collect()
            };
            ((*address).clone(), deps)
        })
        .chain(
            plan.items
                .iter()
                .filter(|p| p.action == Action::Delete && !s.resources.contains_key(&p.address))
                .map(|p| (p.address.clone(), Vec::new())),
        )
        .collect();
    let mut order = crate::graph::reversed(&deletions);
    for (child, parent) in &implicit {
        if let Some(after) = order.get_mut(child) {
            after.push(parent.clone());
        }
    }
    (order, implicit)
}

/// Every planned deletion, dependents first, each as soon as what depends on it is gone.
async fn delete_all(
    ctx: &Ctx,
    shared: &Shared<'_>,
    plan: &Plan,
    progress: &dyn Progress,
) -> Vec<ResourceResult> {
    let (order, implicit) = deletion_order(&*shared.state.lock().await, plan);
    let deleted = crate::graph::walk(
        &order,
        ctx.parallelism,
        |address| {
            let implicit = &implicit;
            async move {
                if crate::interrupt::requested() {
                    return interrupted(plan, address);
                }
                let (kind, physical_id, arn) = {
                    let s = shared.state.lock().await;
                    match s.resources.get(&address) {
                        Some(r) => (r.kind, r.physical_id.clone(), r.arn.clone()),
                        None => return (true, None),
                    }
                };
                progress.begin(&address, Action::Delete);
                let res = if implicit.contains_key(&address) {
                    // Its parent is gone (the walk ran this after it), and it with it.
                    shared.record(&address, None).await
                } else {
                    match resources::delete(ctx, kind, &physical_id).await {
                        Ok(()) => shared.record(&address, None).await,
                        Err(e) => Err(e),
                    }
                };
                let error = res.err().map(|e| format!("{e:#}"));
                progress.end(&address, Action::Delete, error.as_deref());
                let result = ResourceResult {
                    address,
                    kind,
                    action: Action::Delete,
                    arn,
                    error,
                };
                (result.error.is_none(), Some(result))
            }
        },
        // What a resource that could not be deleted depends on stays too: say so.
        |address, blocked| {
            let p = plan.get(&address)?;
            Some(ResourceResult {
                address: address.clone(),
                kind: p.kind,
                action: Action::Delete,
                arn: None,
                error: Some(format!(
                    "skipped: {} depends on it and could not be deleted",
                    blocked.join(", ")
                )),
            })
        },
    )
    .await;
    deleted.into_iter().flatten().collect()
}

/// Create or update one address as planned (a conflict fails it, anything else is unchanged).
async fn create_or_update(
    ctx: &Ctx,
    shared: &Shared<'_>,
    stack: &Stack,
    plan: &Plan,
    progress: &dyn Progress,
    address: String,
) -> (bool, Option<ResourceResult>) {
    let (Some(p), Some(r)) = (plan.get(&address), stack.get(&address)) else {
        return (true, None);
    };
    if p.action.mutates() && crate::interrupt::requested() {
        return interrupted(plan, address);
    }
    let result = |action, arn, error| ResourceResult {
        address: address.clone(),
        kind: p.kind,
        action,
        arn,
        error,
    };
    match p.action {
        Action::Create | Action::Update => {}
        Action::Conflict => {
            return (
                false,
                Some(result(Action::Conflict, None, p.reason.clone())),
            );
        }
        _ => {
            let arn = p.arn(stack, &State::new("", "", ""));
            return (true, Some(result(Action::Noop, arn, None)));
        }
    }
    progress.begin(&p.address, p.action);
    let res = match (p.action, &p.live) {
        (Action::Update, Some(live)) => r.spec.update(ctx, live, &p.diff).await,
        _ => r.spec.create(ctx).await,
    };
    let res = match res {
        Ok(applied) => {
            let record = record(r, p.kind, &applied.physical_id, &applied.arn);
            shared
                .record(&p.address, Some(record))
                .await
                .map(|_| applied.arn)
        }
        Err(e) => Err(e),
    };
    let (arn, error) = match res {
        Ok(arn) => (arn, None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    progress.end(&p.address, p.action, error.as_deref());
    (error.is_none(), Some(result(p.action, arn, error)))
}

/// An operation not started because a signal asked the run to stop.
fn interrupted(plan: &Plan, address: String) -> (bool, Option<ResourceResult>) {
    let result = plan.get(&address).map(|p| ResourceResult {
        kind: p.kind,
        action: p.action,
        address,
        arn: None,
        error: Some("not started: the run was interrupted".into()),
    });
    (false, result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(kind: Kind, action: Action, error: Option<&str>) -> ResourceResult {
        ResourceResult {
            address: format!("{kind}.x"),
            kind,
            action,
            arn: None,
            error: error.map(String::from),
        }
    }

    #[test]
    fn only_a_queue_this_run_deleted_may_linger() {
        let mut o = Outcome::default();
        assert!(!o.lingers(Kind::SqsQueue));
        o.resources
            .push(result(Kind::SqsQueue, Action::Delete, Some("boom")));
        assert!(
            !o.lingers(Kind::SqsQueue),
            "a failed delete is not lingering"
        );
        o.resources
            .push(result(Kind::SqsQueue, Action::Delete, None));
        o.resources
            .push(result(Kind::LambdaFunction, Action::Delete, None));
        assert!(o.lingers(Kind::SqsQueue));
        assert!(
            !o.lingers(Kind::LambdaFunction),
            "only SQS keeps listing what it deleted"
        );
    }
}
