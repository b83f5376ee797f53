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
    // CIS v1.2.0 rule 4.1 is the security control EC2.13, catalogued: fix-security-group.
    assert_eq!(sg["action"], "fix-security-group");
    assert_eq!(sg["rule"], "remediate-catalogued-controls");
    assert_eq!(sg["control"], "EC2.13");
    assert_eq!(sg["mode"], "notify-only");
    assert!(sg["remediation"]["does"]
        .as_str()
        .unwrap()
        .contains("opening SSH (22) or RDP (3389) alone"));
    // Every finding says its control, or null (the core's corpus test checks which ones).
    for r in rows {
        assert!(r["control"].is_string() || r["control"].is_null(), "{r}");
    }
    let controls = rows.iter().filter(|r| r["control"].is_string()).count();
    assert!(controls >= 40, "{controls} control findings");
    let pci = rows
        .iter()
        .find(|r| {
            r["file"]
                .as_str()
                .unwrap()
                .ends_with("asr-simtest-pci-ec2.5.json")
        })
        .unwrap();
    assert_eq!(pci["control"], "EC2.13", "PCI.EC2.5 is EC2.13");
}

/// A rule with `controls` and `mode` switches controls on by themselves; simulate says the mode
/// each would run in and what its remediation does; the text output names the control.
#[test]
fn simulate_shows_each_control_and_the_mode_its_rule_chose() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("secauto.toml"),
        "[[triage.rules]]\nname = \"imdsv2-on\"\naction = \"remediate-control\"\ncontrols = [\"ec2.8\"]\nmode = \"enforce\"\n\n[[triage.rules]]\nname = \"catalogue\"\naction = \"remediate-control\"\n\n[[triage.rules]]\nname = \"rest\"\naction = \"notify-only\"\n",
    )
    .unwrap();
    let file = |f: &str| format!("{}/corpus/findings/{f}", env!("CARGO_MANIFEST_DIR"));
    let (ec28, s38, ec22) = (
        file("asr-simtest-afsbp-ec2.8.json"),
        file("asr-simtest-afsbp-s3.8.json"),
        file("asr-simtest-afsbp-ec2.2.json"),
    );
    let (code, stdout, stderr) = simulate(dir.path(), &["--output", "json", &ec28, &s38, &ec22]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rows = v["findings"].as_array().unwrap();
    let got: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["control"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
                r["rule"].as_str().unwrap(),
                r["mode"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("EC2.8", "require-imdsv2", "imdsv2-on", "enforce"),
            (
                "S3.8",
                "block-bucket-public-access",
                "catalogue",
                "notify-only"
            ),
            // Off by default: notify-only whatever [remediation] mode says.
            (
                "EC2.2",
                "close-default-security-group",
                "catalogue",
                "notify-only"
            ),
        ]
    );
    assert_eq!(rows[2]["remediation"]["on_by_default"], false);
    let (_, text, _) = simulate(dir.path(), &[&s38]);
    assert!(
        text.contains("block-bucket-public-access") && text.contains("S3.8"),
        "{text}"
    );
}

/// An unknown-looking control id in a rule stops simulate (and validate, plan, deploy) with the fix.
#[test]
fn an_unknown_looking_control_id_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("secauto.toml"),
        "[[triage.rules]]\nname = \"pci\"\naction = \"notify-only\"\ncontrols = [\"PCI.S3.1\", \"S3-8\"]\n",
    )
    .unwrap();
    let (code, _, stderr) = simulate(dir.path(), &[&file_of("asr-simtest-afsbp-s3.8.json")]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("\"pci\"")
            && stderr.contains("write its security control id \"S3.3\"")
            && stderr.contains("like \"S3.8\""),
        "{stderr}"
    );
}

fn file_of(f: &str) -> String {
    format!("{}/corpus/findings/{f}", env!("CARGO_MANIFEST_DIR"))
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
