//! `secauto unlock`: break a state lock left by a run that is gone.

use anyhow::Result;

use crate::cli::Global;
use crate::exit::EXIT_OK;
use crate::session::{aws_config, Session};
use crate::stack::{Code, Part};

/// Delete the lock whose id is `id` (and only that lock).
pub(super) async fn run(g: &Global, id: &str) -> Result<u8> {
    let config = aws_config(g)?;
    let s = if config.targets.is_empty() {
        Session::open(g, &config, Code::NotNeeded, &Part::Alone, false).await?
    } else {
        let Some((config, part)) = crate::fleet::single(g, &config).await? else {
            anyhow::bail!("unlock breaks one stack's lock, and this config is a fleet: name the locked target with --target ACCOUNT/REGION");
        };
        Session::open(g, &config, Code::NotNeeded, &part, true).await?
    };
    let holder = s.store.unlock(id).await?;
    eprintln!(
        "unlocked {}: the lock of `{}` (pid {} on {}, since {}) is gone",
        s.store.describe(),
        holder.command,
        holder.pid,
        holder.host,
        holder.since
    );
    Ok(EXIT_OK)
}
