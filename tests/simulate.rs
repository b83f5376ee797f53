//! `secauto simulate` over the real published findings in corpus/.

use std::process::Command;

fn simulate(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_secauto"))
        .arg("simulate")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn corpus_files(sub: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(sub);
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn simulate_decides_all_211_corpus_findings() {
    let dir = tempfile::tempdir().unwrap();
    let files = corpus_files("findings");
    let mut args: Vec<&str> = vec!["--output", "json"];
    args.extend(files.iter().map(String::as_str));
    let (code, stdout, stderr) = simulate(dir.path(), &args);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rows = v["findings"].as_array().unwrap();
    assert_eq!(rows.len(), 211);
    for r in rows {
        assert!(
            r["action"].is_string() && r["finding_id"].is_string(),
            "{r}"
        );
    }
    let sg = rows
        .iter()
        .find(|r| {
            r["file"]
                .as_str()
                .unwrap()
                .ends_with("asr-simtest-cis-41.json")
        })
        .unwrap();
    assert_eq!(sg["action"], "fix-security-group");
    assert_eq!(sg["rule"], "fix-open-security-group");
}

#[test]
fn simulate_uses_the_configs_policy_and_reports_unreadable_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("secauto.toml"),
        "[[triage.rules]]\nname = \"all-sgs\"\naction = \"block-network\"\nresource_types = [\"AwsEc2SecurityGroup\"]\n\n[[triage.rules]]\nname = \"rest\"\naction = \"ignore\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad.json"),
        "{\"detail-type\": \"Findings Imported V2\", \"detail\": {}}",
    )
    .unwrap();
    let sg = format!(
        "{}/corpus/findings/asr-simtest-afsbp-ec2.2.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let (code, stdout, stderr) = simulate(dir.path(), &[&sg, "bad.json"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("block-network") && stdout.contains("rule all-sgs"),
        "{stdout}"
    );
    assert!(stderr.contains("detail.findings"), "{stderr}");
}

#[test]
fn invalid_policy_is_refused_with_the_rule_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("secauto.toml"),
        "[[triage.rules]]\nname = \"isolate\"\naction = \"isolate-instance\"\n",
    )
    .unwrap();
    let f = format!(
        "{}/corpus/findings/asr-simtest-afsbp-ec2.2.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let (code, _, stderr) = simulate(dir.path(), &[&f]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("\"isolate\"") && stderr.contains("resource_types = [\"AwsEc2Instance\"]"),
        "{stderr}"
    );
}
