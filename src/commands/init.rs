//! `secauto init`: write the commented config template.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cli::Global;
use crate::exit::EXIT_OK;

/// Write `--config` (or `./secauto.toml`); an existing file only with `--force`.
pub(super) fn run(g: &Global, force: bool) -> Result<u8> {
    let path = g
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("secauto.toml"));
    if path.exists() && !force {
        anyhow::bail!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        );
    }
    // Written whole or not at all, even when a signal ends the process meanwhile.
    let partial = path.with_extension("toml.partial");
    std::fs::write(&partial, crate::config::TEMPLATE)
        .and_then(|()| std::fs::rename(&partial, &path))
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(EXIT_OK)
}
