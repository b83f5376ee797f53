//! The sweep: live resources the stack owns by tag (or, for the few kinds that cannot be tagged,
//! by an unmistakable name or parent) that the config or the state may not know — a crash before
//! the state write, a runner without the state, a resource dropped from the config.
//!
//! Each kind's file knows how to find its own (`sweep` there, registered in the kind table of
//! [`crate::resources`]); here every kind's sweep runs at once, so the sweep takes about as long
//! as its slowest service's list plus one round of tag reads.

use anyhow::Result;

use crate::resources::{self, Ctx, Kind, Search};

pub use crate::resources::{Known, Leftover};

/// The address a leftover goes by in plans and outcomes.
pub fn address(kind: Kind, physical_id: &str) -> String {
    format!("{kind}[swept {physical_id}]")
}

/// Whether [`find`] finds a resource of `kind` that is left: every taggable kind (by its tag), the
/// dashboard (by its name), subscriptions (through the stack's topic) — and what cannot outlive
/// one of those (a rule's targets, a function's permissions and invoke config, a role's
/// attachments). Not Security Hub's automation rules and custom actions.
pub fn finds(kind: Kind) -> bool {
    !matches!(
        kind,
        Kind::SecurityhubAutomationRule
            | Kind::SecurityhubAutomationRuleV2
            | Kind::SecurityhubActionTarget
    )
}

/// Everything the stack owns in the account and region, sorted (a member stack: its IAM and SSM).
pub async fn find(ctx: &Ctx, known: &Known) -> Result<Vec<Leftover>> {
    let names = crate::stack::Names::new(&ctx.stack, &ctx.region, "");
    let search = Search {
        prefix: names.name(""),
        bus: names.bus(),
        key_alias: names.key_alias(),
        dashboard: names.dashboard(),
        known,
    };
    let kinds = Kind::ALL
        .iter()
        .filter(|kind| !ctx.member || kind.in_member());
    let found =
        futures::future::try_join_all(kinds.map(|kind| resources::sweep_kind(ctx, *kind, &search)))
            .await?;
    let mut out: Vec<Leftover> = found.into_iter().flatten().collect();
    out.sort();
    Ok(out)
}
