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
    std::fs::write(&path, crate::config::TEMPLATE)
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(EXIT_OK)
}
