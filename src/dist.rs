//! `secauto dist`: a release bundle that deploys with no source tree and no compiler — the CLI, the
//! handler zips, their SHA-256 sums, shell completions and an example config, as one reproducible
//! `.tar.gz` (fixed order, times, owners and modes).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// Where an installed secauto keeps its handler zips: `lambda/` next to the executable.
pub fn bundled_artifacts_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.join("lambda");
    dir.is_dir().then_some(dir)
}

/// The platform part of the bundle's name, as Rust names it.
fn platform() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

fn add(
    tar: &mut tar::Builder<impl Write>,
    root: &str,
    name: &str,
    body: &[u8],
    mode: u32,
) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(body.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, format!("{root}/{name}"), body)
        .with_context(|| format!("cannot add {name} to the bundle"))
}

/// Write the bundle into `out_dir` from the zips in `artifacts_dir`; returns its path.
pub fn write(artifacts_dir: &Path, out_dir: &Path) -> Result<PathBuf> {
    let version = env!("CARGO_PKG_VERSION");
    let root = format!("secauto-{version}");
    let exe_path = std::env::current_exe().context("cannot find the secauto executable")?;
    let exe =
        std::fs::read(&exe_path).with_context(|| format!("cannot read {}", exe_path.display()))?;

    let mut files: Vec<(String, Vec<u8>, u32)> = vec![("secauto".into(), exe, 0o755)];
    for (_, suffix) in crate::stack::FUNCTIONS {
        let path = crate::bundle::bundle_path(artifacts_dir, suffix);
        let zip = std::fs::read(&path).with_context(|| {
            format!(
                "cannot read {}: run `secauto build` first (or pass --bootstrap)",
                path.display()
            )
        })?;
        files.push((format!("lambda/{suffix}/bootstrap.zip"), zip, 0o644));
    }
    for (shell, name) in [
        (clap_complete::Shell::Bash, "completions/secauto.bash"),
        (clap_complete::Shell::Zsh, "completions/_secauto"),
        (clap_complete::Shell::Fish, "completions/secauto.fish"),
    ] {
        let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cmd, "secauto", &mut script);
        files.push((name.into(), script, 0o644));
    }
    files.push((
        "secauto.toml.example".into(),
        crate::config::TEMPLATE.as_bytes().to_vec(),
        0o644,
    ));
    let sums: String = files
        .iter()
        .map(|(name, body, _)| format!("{:x}  {name}\n", Sha256::digest(body)))
        .collect();
    files.push(("SHA256SUMS".into(), sums.into_bytes(), 0o644));

    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let path = out_dir.join(format!("{root}-{}.tar.gz", platform()));
    let tmp = out_dir.join(format!(".{root}.tar.gz.tmp-{}", std::process::id()));
    {
        let file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        let gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(file, flate2::Compression::best());
        let mut tar = tar::Builder::new(gz);
        for (name, body, mode) in &files {
            add(&mut tar, &root, name, body, *mode)?;
        }
        tar.into_inner()?.finish()?.sync_all()?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
