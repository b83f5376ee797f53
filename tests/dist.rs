//! `secauto dist`: a reproducible release bundle, unpacked into an empty directory with no source
//! tree and no cargo, deploys, reports in sync and destroys against the emulators.

mod common;

use std::process::Command;

use common::{config, leftovers, rt, Emulators, Project};
use sha2::{Digest, Sha256};

#[test]
fn a_release_bundle_deploys_from_an_empty_directory() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("dist", ""));
    let bootstrap = common::bootstrap_binary();
    let args = [
        "dist",
        "--bootstrap",
        bootstrap.to_str().unwrap(),
        "--out",
        "out",
    ];
    let d = p.run(&args);
    assert_eq!(d.code, 0, "{d:?}");
    let bundle = p.path(d.stdout.lines().last().expect("the path is the last line"));
    let first = std::fs::read(&bundle).unwrap();
    assert!(
        bundle
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("secauto-0.1.0-"),
        "{}",
        bundle.display()
    );
    // Reproducible: the same inputs make the same bytes.
    assert_eq!(p.run(&args).code, 0);
    assert_eq!(
        std::fs::read(&bundle).unwrap(),
        first,
        "byte-for-byte the same"
    );

    let unpacked = tempfile::tempdir().unwrap();
    let tar = Command::new("tar")
        .arg("-xzf")
        .arg(&bundle)
        .arg("-C")
        .arg(unpacked.path())
        .status()
        .unwrap();
    assert!(tar.success());
    let root = unpacked.path().join("secauto-0.1.0");
    let sums = std::fs::read_to_string(root.join("SHA256SUMS")).unwrap();
    let mut names = Vec::new();
    for line in sums.lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        let body = std::fs::read(root.join(name)).unwrap();
        assert_eq!(format!("{:x}", Sha256::digest(&body)), sum, "{name}");
        names.push(name.to_string());
    }
    for want in [
        "secauto",
        "lambda/triage/bootstrap.zip",
        "lambda/remediation/bootstrap.zip",
        "lambda/notification/bootstrap.zip",
        "lambda/error-handler/bootstrap.zip",
        "completions/secauto.bash",
        "completions/_secauto",
        "completions/secauto.fish",
        "secauto.toml.example",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }

    // An empty directory: only a config. No target/, no handlers package, no cargo on PATH.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("secauto.toml"), config("dist", "")).unwrap();
    let installed = root.join("secauto");
    let run = |args: &[&str]| {
        let out = p
            .command_in(&installed, work.path(), args, &[("PATH", "/nonexistent")])
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["deploy", "--no-progress"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = run(&["status"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(rt().block_on(leftovers(&emu.clients(), "dist")).is_empty());
}
