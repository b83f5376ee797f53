//! `secauto build`: build the handlers and bundle each function's zip, deterministically.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::Global;
use crate::exit::{print_json, EXIT_OK};
use crate::report::Output;
use crate::session::{load_config, Need};

/// Build (or take `--bootstrap`) and write `<artifacts_dir>/<function>/bootstrap.zip`.
pub(super) async fn run(g: &Global, bootstrap: Option<PathBuf>, profile: &str) -> Result<u8> {
    let config = load_config(g, Need::Defaults)?;
    let binary = match bootstrap {
        Some(b) => b,
        None => handlers(profile).await?,
    };
    let written = crate::bundle::write_bundles(
        &binary,
        Path::new(&config.lambda.artifacts_dir),
        crate::stack::FUNCTIONS,
    )?;
    match g.output {
        Output::Json => print_json(&serde_json::json!({
            "format_version": crate::report::FORMAT_VERSION,
            "bundles": written,
        }))?,
        Output::Text | Output::Markdown => {
            for w in &written {
                println!(
                    "{} {} ({} bytes, sha256 {})",
                    if w.changed { "wrote" } else { "unchanged" },
                    w.path.display(),
                    w.bytes,
                    w.code_sha256
                );
            }
        }
    }
    Ok(EXIT_OK)
}

/// Build the workspace's handlers package with `profile` and return its `bootstrap` binary. cargo
/// (`$CARGO`, else `cargo`) is killed if secauto is stopped while it builds.
pub(super) async fn handlers(profile: &str) -> Result<PathBuf> {
    if !Path::new("handlers/lambda/Cargo.toml").exists() {
        anyhow::bail!(
            "this directory has no handlers package (handlers/lambda/Cargo.toml) to build: run secauto build from the secauto source tree, or pass --bootstrap <file> with a Linux executable built for provided.al2023"
        );
    }
    let args = cargo_build_args(profile);
    eprintln!(
        "building the handlers (cargo {}); a clean build takes several minutes",
        args.join(" ")
    );
    let status = tokio::process::Command::new(cargo())
        .args(&args)
        .kill_on_drop(true)
        .status()
        .await
        .context("cannot run cargo to build the handlers")?;
    if !status.success() {
        anyhow::bail!("building the handlers failed ({status})");
    }
    Ok(profile_dir(profile).join("bootstrap"))
}

/// The cargo that builds the handlers: `$CARGO` (set when run by cargo), else `cargo`.
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The cargo invocation that builds the handlers' `bootstrap` with `profile`.
pub fn cargo_build_args(profile: &str) -> Vec<String> {
    [
        "build",
        "--profile",
        profile,
        "-p",
        "secauto-handlers",
        "--bin",
        "bootstrap",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Where cargo puts what `profile` builds: `dev` and `test` go to `debug`, `release` and `bench`
/// to `release`, any other profile to its own name. `CARGO_TARGET_DIR` is honoured.
pub fn profile_dir(profile: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    let dir = match profile {
        "dev" | "test" => "debug",
        "release" | "bench" => "release",
        other => other,
    };
    target.join(dir)
}
