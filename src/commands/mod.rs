//! The commands: one file each, from parsed flags to an exit code. This file only dispatches.

mod build;
mod completions;
mod deploy;
mod destroy;
mod dist;
mod init;
mod plan;
mod simulate;
mod status;
mod targets;
mod unlock;
mod validate;
mod verify;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::interrupt::or_exit;

/// Run one command. deploy, destroy and verify handle a signal themselves (what is in flight finishes
/// and is recorded); every other command stops at the first one, with exit code 130.
pub async fn run(cli: Cli) -> Result<u8> {
    let g = cli.global;
    match cli.command {
        // Boxed: each command's future is large, and lives on the heap rather than the stack.
        Command::Deploy { adopt, plan } => {
            stopped_is_130(Box::pin(deploy::run(&g, adopt, plan.as_deref())).await)
        }
        Command::Destroy { yes } => stopped_is_130(Box::pin(destroy::run(&g, yes)).await),
        Command::Plan { out } => or_exit(Box::pin(plan::run(&g, out.as_deref()))).await,
        Command::Status => or_exit(Box::pin(status::run(&g))).await,
        // verify cleans up after a signal itself (what it made is removed), then exits 130.
        Command::Verify { timeout } => stopped_is_130(Box::pin(verify::run(&g, timeout)).await),
        Command::Unlock { id } => or_exit(Box::pin(unlock::run(&g, &id))).await,
        Command::Targets => or_exit(Box::pin(targets::run(&g))).await,
        Command::Build { bootstrap, profile } => or_exit(build::run(&g, bootstrap, &profile)).await,
        Command::Dist {
            bootstrap,
            profile,
            out,
        } => or_exit(dist::run(&g, bootstrap, &profile, &out)).await,
        Command::Init { force } => or_exit(blocking(move || init::run(&g, force))).await,
        Command::Simulate { files } => or_exit(blocking(move || simulate::run(&g, &files))).await,
        Command::Validate => or_exit(Box::pin(validate::run(&g))).await,
        Command::Completions { shell } => or_exit(blocking(move || completions::run(shell))).await,
    }
}

/// A deploy or destroy stopped by a signal before it held its lock exits 130, having changed nothing.
fn stopped_is_130(result: Result<u8>) -> Result<u8> {
    match result {
        Err(e) if e.is::<crate::interrupt::Interrupted>() => Ok(crate::exit::EXIT_INTERRUPTED),
        other => other,
    }
}

/// A command that does only local work, on a thread of its own so a signal is heard meanwhile.
async fn blocking(work: impl FnOnce() -> Result<u8> + Send + 'static) -> Result<u8> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| anyhow::anyhow!("the command stopped unexpectedly: {e}"))?
}
