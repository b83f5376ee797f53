//! `secauto build`: a bootstrap bundled as four identical, deterministic zips; a second build leaves
//! them untouched. (The cargo build of the handlers that `secauto build` runs without `--bootstrap`
//! is exercised by scripts/demo.sh: inside `cargo test` it would rebuild the SDK crates with another
//! feature set, a quarter of an hour on two cores.)

use std::io::Read;
use std::process::Command;

fn build(config: &std::path::Path, dir: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_secauto"))
        .args(["build", "--output", "json", "--config"])
        .arg(config)
        .args(extra)
        .current_dir(dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn build_bundles_the_handlers_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("secauto.toml");
    std::fs::write(
        &config,
        format!(
            "[lambda]\nartifacts_dir = \"{}\"\n",
            dir.path().join("bundles").display()
        ),
    )
    .unwrap();
    // The bootstrap of this very test run: a real, large Linux executable.
    let exe = std::env::current_exe().unwrap();
    let args = ["--bootstrap", exe.to_str().unwrap()];
    let (code, stdout, stderr) = build(&config, dir.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    let first: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(first["format_version"], 1);
    let rows = first["bundles"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let sha = rows[0]["code_sha256"].as_str().unwrap().to_string();
    for r in rows {
        assert_eq!(
            r["code_sha256"],
            sha.as_str(),
            "one binary serves all four functions"
        );
        assert_eq!(r["changed"], true);
    }
    for f in ["triage", "remediation", "notification", "error-handler"] {
        let path = dir.path().join("bundles").join(f).join("bootstrap.zip");
        let mut z = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(z.len(), 1);
        let mut entry = z.by_name("bootstrap").unwrap();
        assert_eq!(entry.unix_mode().unwrap() & 0o777, 0o755);
        let mut head = [0u8; 4];
        entry.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"\x7fELF");
    }
    let (code, stdout, stderr) = build(&config, dir.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    let second: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for r in second["bundles"].as_array().unwrap() {
        assert_eq!(
            r["code_sha256"],
            sha.as_str(),
            "the same binary gives the same zip"
        );
        assert_eq!(r["changed"], false);
    }
}

#[test]
fn build_outside_the_source_tree_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("secauto.toml");
    std::fs::write(&config, "").unwrap();
    let (code, _, stderr) = build(&config, dir.path(), &[]);
    assert_eq!(code, 1);
    assert!(stderr.contains("--bootstrap"), "{stderr}");
}
