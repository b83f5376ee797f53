//! What every kind's sweep shares: a kind's `sweep` lists the live resources named like the
//! stack's, keeps those the stack owns by tag (or, for the few kinds that cannot be tagged, by an
//! unmistakable name or parent) and returns them as [`Leftover`]s. The engine runs every kind's
//! at once (`engine::sweep::find`).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use anyhow::Result;
use futures::{stream, StreamExt, TryStreamExt};

use super::{Ctx, Kind, Spec, REGION_TAG, STACK_TAG};

/// Tag reads in flight at once per kind.
const TAG_READS: usize = 16;

/// A resource found by the sweep: its kind and the physical id `delete` takes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Leftover {
    pub kind: Kind,
    pub physical_id: String,
    /// Why deploy deletes it, when not because it is tagged ours but gone from the config.
    pub reason: Option<String>,
}

impl Leftover {
    pub(crate) fn new(kind: Kind, physical_id: impl Into<String>) -> Leftover {
        Leftover {
            kind,
            physical_id: physical_id.into(),
            reason: None,
        }
    }

    /// `Leftover::new(kind, id)` as a list when `ours`, else none.
    pub(crate) fn when(ours: bool, kind: Kind, physical_id: impl Into<String>) -> Vec<Leftover> {
        if ours {
            vec![Leftover::new(kind, physical_id)]
        } else {
            vec![]
        }
    }
}

/// Where the sweep looks: the stack's names (from `stack::Names`, which the engine knows) and
/// what the stack declares.
#[derive(Debug)]
pub struct Search<'a> {
    /// Every regional name is `{stack}-…`: the lists are filtered by this prefix.
    pub prefix: String,
    /// The stack's own event bus.
    pub bus: String,
    /// The stack's key alias.
    pub key_alias: String,
    /// The stack's dashboard.
    pub dashboard: String,
    pub known: &'a Known,
}

/// The names and ARNs of a stack's resources that the plan reads itself, tags included: the sweep
/// lists them but reads no tags of theirs. (The topic is read anyway: its subscriptions are swept
/// through it.)
#[derive(Debug, Default)]
pub struct Known {
    names: BTreeSet<String>,
    /// The stack's functions, each with the statement ids of the permissions the stack declares.
    pub(crate) statements: BTreeMap<String, BTreeSet<String>>,
}

impl Known {
    /// What the stack declares, from its specs.
    pub fn of<'a>(specs: impl IntoIterator<Item = &'a Spec>) -> Known {
        let mut known = Known::default();
        for spec in specs {
            let name = match spec {
                Spec::LambdaFunction(s) => {
                    known.statements.entry(s.name.clone()).or_default();
                    Some(&s.name)
                }
                Spec::LambdaPermission(p) => {
                    known
                        .statements
                        .entry(p.function.clone())
                        .or_default()
                        .insert(p.statement_id.clone());
                    None
                }
                Spec::IamRole(s) => Some(&s.name),
                Spec::IamPolicy(s) => Some(&s.arn),
                Spec::CloudwatchAlarm(s) => Some(&s.name),
                Spec::SqsQueue(s) => Some(&s.name),
                Spec::EventRule(s) => Some(&s.arn),
                Spec::EventBus(s) => Some(&s.arn),
                _ => None,
            };
            known.names.extend(name.cloned());
        }
        known
    }

    pub(crate) fn has(&self, name_or_arn: &str) -> bool {
        self.names.contains(name_or_arn)
    }
}

/// Whether `tags` carry the stack's tag.
pub(crate) fn ours(tags: impl IntoIterator<Item = (String, String)>, stack: &str) -> bool {
    tags.into_iter().any(|(k, v)| k == STACK_TAG && v == stack)
}

/// An account-global resource (IAM) is ours only when it also names our region: the same stack in
/// another region of the account owns its own.
pub(crate) fn ours_here(tags: impl IntoIterator<Item = (String, String)>, ctx: &Ctx) -> bool {
    let tags: Vec<(String, String)> = tags.into_iter().collect();
    ours(tags.clone(), &ctx.stack)
        && tags
            .iter()
            .any(|(k, v)| k == REGION_TAG && *v == ctx.region)
}

/// Run `check` on every candidate, [`TAG_READS`] at a time, and gather what it keeps. (A
/// candidate's tags are read with [`super::found`]: one deleted between the list and the read —
/// the same stack of another region being destroyed at the same time, or anyone else — is kept
/// by nobody.)
pub(crate) async fn keep<T, F, Fut>(candidates: Vec<T>, check: F) -> Result<Vec<Leftover>>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<Vec<Leftover>>>,
{
    let found: Vec<Vec<Leftover>> = stream::iter(candidates)
        .map(check)
        .buffer_unordered(TAG_READS)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}
