//! `secauto dist`: a reproducible release bundle.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::Global;
use crate::exit::{print_json, EXIT_OK};
use crate::report::Output;
use crate::session::{load_config, Need};

/// Build (or take `--bootstrap`), bundle, and write the release tarball into `out`.
pub(super) async fn run(
    g: &Global,
    bootstrap: Option<PathBuf>,
    profile: &str,
    out: &Path,
) -> Result<u8> {
    let config = load_config(g, Need::Defaults)?;
    let binary = match bootstrap {
        Some(b) => b,
        None => super::build::handlers(profile).await?,
    };
    let artifacts = Path::new(&config.lambda.artifacts_dir);
    crate::bundle::write_bundles(&binary, artifacts, crate::stack::FUNCTIONS)?;
    let path = crate::dist::write(artifacts, out)?;
    if g.output == Output::Json {
        print_json(&serde_json::json!({
            "format_version": crate::report::FORMAT_VERSION,
            "bundle": path,
        }))?;
    } else {
        println!("{}", path.display());
    }
    Ok(EXIT_OK)
}
