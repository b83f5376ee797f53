//! The core over every real, published finding and envelope in corpus/ (see corpus/README.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secauto_core::envelope::{parse_input, Input, InputError};
use secauto_core::{Action, Policy};
use serde_json::Value;

fn corpus(sub: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../corpus")
        .join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn load(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn all_211_findings_parse() {
    let files = corpus("findings");
    assert_eq!(files.len(), 62);
    let (mut ok, mut rejected) = (0, Vec::new());
    for f in &files {
        match parse_input(&load(f)).unwrap() {
            Input::File(found) => {
                ok += found.ok.len();
                rejected.extend(found.rejected.into_iter().map(|r| (f.clone(), r)));
            }
            other => panic!("{}: {other:?}", f.display()),
        }
    }
    assert!(rejected.is_empty(), "{rejected:#?}");
    assert_eq!(ok, 211);
}

#[test]
fn every_event_parses_or_is_refused_with_a_reason() {
    let files = corpus("events");
    assert_eq!(files.len(), 89);
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut findings = 0;
    for f in &files {
        let kind = match parse_input(&load(f)) {
            Ok(Input::Imported(x)) => {
                assert!(x.rejected.is_empty(), "{}: {:?}", f.display(), x.rejected);
                findings += x.ok.len();
                "imported"
            }
            Ok(Input::CustomAction { findings: x, .. }) => {
                assert!(x.rejected.is_empty(), "{}: {:?}", f.display(), x.rejected);
                findings += x.ok.len();
                "custom-action"
            }
            Err(InputError::Unsupported(dt)) => {
                assert_eq!(dt, "Security Hub Insight Results", "{}", f.display());
                "insight (refused)"
            }
            other => panic!("{}: {other:?}", f.display()),
        };
        *kinds.entry(kind.into()).or_default() += 1;
    }
    assert_eq!(kinds["insight (refused)"], 2, "{kinds:?}");
    assert!(findings >= 211, "{findings}");
}

#[test]
fn default_policy_decides_every_finding_sensibly() {
    let policy = Policy::default();
    let mut by_action: BTreeMap<&str, usize> = BTreeMap::new();
    for f in corpus("findings") {
        let Input::File(found) = parse_input(&load(&f)).unwrap() else {
            panic!()
        };
        for finding in &found.ok {
            let d = policy.decide(finding);
            *by_action.entry(d.action.as_str()).or_default() += 1;
            // A remediating action is only ever chosen for a resource it can act on.
            if let Some(t) = d.action.resource_type() {
                assert!(
                    finding.resources.iter().any(|r| r.kind == t),
                    "{}: {} chosen for {:?}",
                    f.display(),
                    d.action.as_str(),
                    finding
                        .resources
                        .iter()
                        .map(|r| &r.kind)
                        .collect::<Vec<_>>()
                );
            }
            if finding.severity().as_str() == "INFORMATIONAL" {
                assert_eq!(d.action, Action::Ignore);
            }
        }
    }
    eprintln!("default policy over the corpus: {by_action:?}");
    for a in [
        "fix-security-group",
        "enable-bucket-encryption",
        "notify-only",
        "ignore",
    ] {
        assert!(
            by_action.get(a).copied().unwrap_or(0) > 0,
            "{a} never chosen: {by_action:?}"
        );
    }
}

#[test]
fn known_findings_get_the_expected_action() {
    let policy = Policy::default();
    let decide = |file: &str| {
        let v = load(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../corpus/findings")
                .join(file),
        );
        let Input::File(found) = parse_input(&v).unwrap() else {
            panic!()
        };
        policy.decide(&found.ok[0]).action
    };
    // CIS 4.1: security group open to 0.0.0.0/0 on port 22, HIGH.
    assert_eq!(decide("asr-simtest-cis-41.json"), Action::FixSecurityGroup);
    // AFSBP S3.4 (MEDIUM): bucket without default encryption.
    assert_eq!(
        decide("asr-simtest-afsbp-s3.4.json"),
        Action::EnableBucketEncryption
    );
    // INFORMATIONAL findings are ignored.
    assert_eq!(
        decide("asr-simtest-afsbp-autoscaling.1.json"),
        Action::Ignore
    );
}

/// Prowler reports passed checks as ACTIVE findings (35 of the corpus's 101 Prowler findings):
/// imported, none of them is actionable.
#[test]
fn passed_findings_of_the_corpus_are_never_actionable() {
    let mut passed = 0;
    for f in corpus("findings") {
        let Input::File(found) = parse_input(&load(&f)).unwrap() else {
            continue;
        };
        for finding in found.ok {
            if finding
                .compliance
                .as_ref()
                .and_then(|c| c.status.as_deref())
                != Some("PASSED")
            {
                continue;
            }
            passed += 1;
            let mut raw = serde_json::to_value(&finding).unwrap();
            raw["Workflow"] = serde_json::json!({"Status": "NEW"});
            raw["RecordState"] = serde_json::json!("ACTIVE");
            let envelope = serde_json::json!({"detail-type": "Security Hub Findings - Imported",
                "detail": {"findings": [raw]}});
            let (t, _) =
                secauto_core::triage::triage(&Policy::default(), &parse_input(&envelope).unwrap());
            assert!(!t[0].is_actionable(), "{}", finding.id);
        }
    }
    assert!(passed >= 35, "{passed} PASSED findings in the corpus");
}
