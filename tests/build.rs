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

/// A `cargo` that records its arguments and puts `/bin/true` where the profile's output goes.
fn fake_cargo(dir: &std::path::Path) -> std::path::PathBuf {
    let cargo = dir.join("fake-cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\necho \"$@\" > \"$CARGO_ARGS\"\nprofile=$3\ncase $profile in dev|test) out=debug ;; release|bench) out=release ;; *) out=$profile ;; esac\nmkdir -p \"$CARGO_TARGET_DIR/$out\"\ncp /bin/true \"$CARGO_TARGET_DIR/$out/bootstrap\"\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&cargo).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&cargo, perms).unwrap();
    cargo
}

#[test]
fn build_runs_cargo_with_the_profile_and_bundles_what_it_made() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("handlers/lambda")).unwrap();
    std::fs::write(dir.path().join("handlers/lambda/Cargo.toml"), "").unwrap();
    let config = dir.path().join("secauto.toml");
    std::fs::write(&config, "").unwrap();
    let cargo = fake_cargo(dir.path());
    let target = dir.path().join("tgt");
    let true_sha = {
        let (code, stdout, stderr) = build(&config, dir.path(), &["--bootstrap", "/bin/true"]);
        assert_eq!(code, 0, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        v["bundles"][0]["code_sha256"].clone()
    };
    for (profile, out) in [
        ("dev", "debug"),
        ("release", "release"),
        ("lambda-release", "lambda-release"),
    ] {
        let _ = std::fs::remove_dir_all(&target);
        let args_file = dir.path().join("args");
        let out_cmd = Command::new(env!("CARGO_BIN_EXE_secauto"))
            .args([
                "build",
                "--output",
                "json",
                "--profile",
                profile,
                "--config",
            ])
            .arg(&config)
            .current_dir(dir.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("CARGO", &cargo)
            .env("CARGO_ARGS", &args_file)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out_cmd.stderr);
        assert!(out_cmd.status.success(), "{profile}: {stderr}");
        let args = std::fs::read_to_string(&args_file).unwrap();
        assert_eq!(
            args.trim(),
            format!("build --profile {profile} -p secauto-handlers --bin bootstrap"),
            "{profile}"
        );
        assert!(target.join(out).join("bootstrap").exists());
        // What was bundled is what cargo made there.
        let v: serde_json::Value = serde_json::from_slice(&out_cmd.stdout).unwrap();
        assert_eq!(v["bundles"][0]["code_sha256"], true_sha, "{profile}");
    }
}

/// Every AWS SDK crate the handler bootstrap links (directly or through `aws-config`) is built
/// without optimisation in the `lambda-release` profile, leaving LLVM's work to the fat-LTO link:
/// a new client added without this would bring back minutes of build (README, "The handler
/// profile").
#[test]
fn every_sdk_crate_of_the_handler_is_declared_unoptimised_for_lambda() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tree = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "secauto-handlers",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--locked", "--offline"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        tree.status.success(),
        "{}",
        String::from_utf8_lossy(&tree.stderr)
    );
    let mut linked: Vec<String> = String::from_utf8_lossy(&tree.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| name.starts_with("aws-sdk-"))
        .map(str::to_string)
        .collect();
    linked.sort();
    linked.dedup();
    assert!(linked.contains(&"aws-sdk-ec2".to_string()), "{linked:?}");
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let profile = &manifest["profile"]["lambda-release"];
    assert_eq!(profile["lto"].as_str(), Some("fat"));
    for name in &linked {
        let level = profile
            .get("package")
            .and_then(|p| p.get(name.as_str()))
            .and_then(|p| p.get("opt-level"));
        assert_eq!(
            level.and_then(toml::Value::as_integer),
            Some(0),
            "{name}: add [profile.lambda-release.package.{name}] opt-level = 0 to Cargo.toml"
        );
    }
}
