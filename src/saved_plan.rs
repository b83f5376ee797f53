//! Saved plans: `secauto plan --out plan.json` writes what a reviewer approves; `secauto deploy
//! plan.json` applies exactly that, or refuses when the config, the bundles or the live stack
//! changed since (deploy re-reads everything and compares what each change was computed from).

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::{Action, Plan};
use crate::resources::{Difference, Kind, Live};
use crate::stack::Stack;

/// The saved-plan format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// One address of a saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedChange {
    pub address: String,
    pub kind: Kind,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
    /// SHA-256 of the live resource as read when planning (`null`: it did not exist).
    pub live_hash: Option<String>,
}

/// A whole saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: u32,
    pub secauto_version: String,
    pub created: String,
    pub stack: String,
    pub region: String,
    pub account: String,
    /// SHA-256 over every desired resource's spec: the config and the handler bundles.
    pub config_hash: String,
    pub changes: Vec<SavedChange>,
}

/// SHA-256 of the desired stack: every address with its spec (bundles' code hashes included).
pub fn config_hash(stack: &Stack) -> String {
    let mut h = Sha256::new();
    for r in &stack.resources {
        h.update(r.address.as_bytes());
        h.update([0]);
        h.update(crate::engine::spec_hash(&r.spec).as_bytes());
        h.update([0]);
    }
    format!("{:x}", h.finalize())
}

fn live_hash(live: &Live) -> String {
    let doc = serde_json::json!({
        "physical_id": live.physical_id,
        "arn": live.arn,
        "fields": live.fields,
        "tags": live.tags,
    });
    format!("{:x}", Sha256::digest(doc.to_string().as_bytes()))
}

fn changes(plan: &Plan) -> Vec<SavedChange> {
    plan.items
        .iter()
        .map(|p| SavedChange {
            address: p.address.clone(),
            kind: p.kind,
            action: p.action,
            differences: p.diff.clone(),
            live_hash: p.live.as_ref().map(live_hash),
        })
        .collect()
}

impl SavedPlan {
    /// The plan as computed now.
    pub fn new(stack: &Stack, plan: &Plan) -> SavedPlan {
        SavedPlan {
            format_version: FORMAT_VERSION,
            secauto_version: env!("CARGO_PKG_VERSION").into(),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            stack: stack.name.clone(),
            region: stack.region.clone(),
            account: stack.account.clone(),
            config_hash: config_hash(stack),
            changes: changes(plan),
        }
    }

    /// Write it (pretty JSON).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut body = serde_json::to_vec_pretty(self)?;
        body.push(b'\n');
        std::fs::write(path, body)
            .with_context(|| format!("cannot write the plan {}", path.display()))
    }

    /// Read a saved plan.
    pub fn load(path: &Path) -> Result<SavedPlan> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the plan {}", path.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a saved plan (JSON from `secauto plan --out`)",
                path.display()
            )
        })?;
        match v.get("format_version").and_then(|f| f.as_u64()) {
            Some(n) if n == u64::from(FORMAT_VERSION) => {}
            Some(n) => anyhow::bail!(
                "the plan {} has format version {n}; this secauto ({}) applies version {FORMAT_VERSION}: make the plan again with this version",
                path.display(),
                env!("CARGO_PKG_VERSION")
            ),
            None => anyhow::bail!(
                "{} is not a saved plan (no format_version): make one with `secauto plan --out {}`",
                path.display(),
                path.display()
            ),
        }
        serde_json::from_value(v).with_context(|| format!("the plan {} is damaged", path.display()))
    }

    /// Why `plan` (computed now) is not the plan that was saved; `None`: it is the same.
    pub fn stale(&self, stack: &Stack, plan: &Plan) -> Option<String> {
        if (
            self.stack.as_str(),
            self.region.as_str(),
            self.account.as_str(),
        ) != (
            stack.name.as_str(),
            stack.region.as_str(),
            stack.account.as_str(),
        ) {
            return Some(format!(
                "it was made for stack {:?} in {} (account {}), not stack {:?} in {} (account {})",
                self.stack, self.region, self.account, stack.name, stack.region, stack.account
            ));
        }
        let mut why = Vec::new();
        if self.config_hash != config_hash(stack) {
            why.push("the config or the handler bundles changed".to_string());
        }
        let now = changes(plan);
        let before: std::collections::BTreeMap<&str, &SavedChange> = self
            .changes
            .iter()
            .map(|c| (c.address.as_str(), c))
            .collect();
        let after: std::collections::BTreeMap<&str, &SavedChange> =
            now.iter().map(|c| (c.address.as_str(), c)).collect();
        for (address, c) in &after {
            match before.get(address) {
                None => why.push(format!("{address} is new ({})", c.action.as_str())),
                Some(b) if b.action != c.action => why.push(format!(
                    "{address}: was {}, is now {}",
                    b.action.as_str(),
                    c.action.as_str()
                )),
                Some(b) if b.live_hash != c.live_hash || b.differences != c.differences => {
                    why.push(format!("{address} changed in AWS since the plan"))
                }
                Some(_) => {}
            }
        }
        for address in before.keys().filter(|a| !after.contains_key(*a)) {
            why.push(format!("{address} is no longer part of the plan"));
        }
        if why.is_empty() {
            None
        } else {
            Some(why.join("; "))
        }
    }
}
