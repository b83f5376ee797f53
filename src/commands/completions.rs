//! `secauto completions`: a shell completion script on stdout.

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit::EXIT_OK;

/// Print the completion script of `shell`.
pub(super) fn run(shell: clap_complete::Shell) -> Result<u8> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "secauto", &mut std::io::stdout());
    Ok(EXIT_OK)
}
