//! The ASFF and the OCSF copy of one finding are decided alike by a policy that matches on types
//! (`type_prefixes`, `type_contains`), and share one fact whichever field of the OCSF copy holds the
//! resource's ARN. Twins: the pairs of tests/data/ocsf/asff-twins, and OCSF twins built here, as
//! Security Hub shows them (GuardDuty's own type in `finding_info.types`; the resource's short id in
//! `uid`, its ARN in `uid_alt`, or no ARN at all), of the real GuardDuty and Inspector findings of
//! corpus/findings.

use std::path::{Path, PathBuf};

use secauto_core::envelope::{parse_input, Input};
use secauto_core::ocsf::asff_types::guardduty_table;
use secauto_core::ocsf::RESOURCE_TYPES;
use secauto_core::{Action, Finding, Policy, Rule};
use serde_json::{json, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn read_value(v: &Value) -> Vec<Finding> {
    match parse_input(v).unwrap_or_else(|e| panic!("{e}: {v}")) {
        Input::Imported(f) | Input::File(f) => {
            assert!(f.rejected.is_empty(), "{:?}", f.rejected);
            f.ok
        }
        other => panic!("{other:?}"),
    }
}

fn read(p: &Path) -> Vec<Finding> {
    let v = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    read_value(&v)
}

/// The pairs of tests/data/ocsf: (name, ASFF copy, OCSF copy).
fn data_twins() -> Vec<(String, Finding, Finding)> {
    let dir = root().join("tests/data/ocsf");
    json_files(&dir.join("asff-twins"))
        .into_iter()
        .map(|asff| {
            let stem = asff.file_stem().unwrap().to_string_lossy().into_owned();
            let ocsf = [".event.json", ".finding.json"]
                .iter()
                .map(|ext| dir.join(format!("{stem}{ext}")))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("no OCSF twin of {stem}"));
            (stem, read(&asff).remove(0), read(&ocsf).remove(0))
        })
        .collect()
}

/// GuardDuty's own type of an ASFF GuardDuty type: the documented pair's, else the last part read
/// back (`Purpose:Resource-Family…` → `Purpose:Resource/Family…`).
fn guardduty_type(asff: &str) -> String {
    if let Some((gd, _)) = guardduty_table().find(|(_, forms)| forms.contains(&asff)) {
        return gd.to_string();
    }
    let last = asff.rsplit('/').next().unwrap();
    let (purpose, rest) = last.split_once(':').expect(asff);
    format!("{purpose}:{}", rest.replacen('-', "/", 1))
}

/// How the OCSF copy holds a resource: the ARN in `uid`, the ARN in `uid_alt` (the short id in
/// `uid`), or the short id alone.
#[derive(Clone, Copy, Debug)]
enum Shape {
    ArnInUid,
    ArnInUidAlt,
    BareId,
}

/// The OCSF twin Security Hub would show of an ASFF GuardDuty or Inspector finding.
fn ocsf_twin(a: &Finding, shape: Shape) -> Finding {
    let guardduty = a.product_arn.ends_with("/guardduty");
    let types: Vec<String> = if guardduty {
        a.types
            .first()
            .map(|t| guardduty_type(t))
            .into_iter()
            .collect()
    } else {
        vec![]
    };
    let resources: Vec<Value> = a
        .resources
        .iter()
        .map(|r| {
            let kind = RESOURCE_TYPES.iter().find(|(_, asff)| *asff == r.kind);
            let kind = kind.map_or("Other", |(ocsf, _)| *ocsf);
            let (short, id) = (r.short_id(), r.id.as_str());
            match shape {
                Shape::ArnInUid => json!({"type": kind, "uid": id, "uid_alt": short}),
                Shape::ArnInUidAlt => json!({"type": kind, "uid": short, "uid_alt": id}),
                Shape::BareId => json!({"type": kind, "uid": short}),
            }
        })
        .collect();
    let severity = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
    let severity_id = 1 + severity
        .iter()
        .position(|s| *s == a.severity().as_str())
        .unwrap();
    let status_id = ["NEW", "NOTIFIED", "SUPPRESSED", "RESOLVED"]
        .iter()
        .position(|s| *s == a.workflow_status())
        .map_or(99, |i| i + 1);
    let product = if guardduty { "guardduty" } else { "inspector" };
    let region = a.region().unwrap_or("us-east-1");
    read_value(&json!({
        "class_uid": if guardduty { 2004 } else { 2002 },
        "metadata": {"uid": format!("twin-{}", a.id), "product": {
            "uid": format!("arn:aws:securityhub:{region}::productv2/aws/{product}")}},
        "cloud": {"account": {"uid": a.account()}, "region": region},
        "severity_id": severity_id,
        "status_id": if a.record_state.as_deref() == Some("ARCHIVED") { 5 } else { status_id },
        "finding_info": {"uid": a.id, "types": types},
        "resources": resources,
    }))
    .remove(0)
}

/// The real GuardDuty findings of corpus/findings, and its Inspector vulnerability findings (those
/// today's Security Hub carries as OCSF class 2002).
fn corpus_findings() -> Vec<(String, Finding)> {
    let mut out = vec![];
    for p in json_files(&root().join("corpus/findings")) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        for f in read(&p) {
            let cve = !f.types.is_empty()
                && f.types
                    .iter()
                    .all(|t| t.starts_with("Software and Configuration Checks/Vulnerabilities/"));
            if f.product_arn.ends_with("/guardduty")
                || (f.product_arn.ends_with("/inspector") && cve)
            {
                out.push((name.clone(), f));
            }
        }
    }
    out
}

fn all_twins() -> Vec<(String, Finding, Finding)> {
    let mut twins = data_twins();
    for (name, a) in corpus_findings() {
        let o = ocsf_twin(&a, Shape::ArnInUidAlt);
        twins.push((format!("corpus {name} {}", a.id), a, o));
    }
    twins
}

/// Every prefix and every substring of every type of the ASFF copy, as a rule's `type_prefixes` or
/// `type_contains`, decides the OCSF copy as it decides the ASFF copy.
#[test]
fn every_type_rule_the_asff_copy_meets_decides_the_ocsf_copy_alike() {
    let twins = all_twins();
    let guardduty = twins.iter().filter(|(_, a, _)| a.product() == "GuardDuty");
    assert!(guardduty.count() >= 16, "{}", twins.len());
    let mut checked = 0;
    for (name, a, o) in &twins {
        let types: Vec<&str> = a.all_types().collect();
        assert!(!types.is_empty(), "{name}");
        for t in types {
            let cut: Vec<usize> = t.char_indices().map(|(i, _)| i).chain([t.len()]).collect();
            for (n, &i) in cut.iter().enumerate() {
                for &j in &cut[n + 1..] {
                    let mut rule = Rule::new("by-type", Action::IsolateInstance);
                    if i == 0 {
                        rule.type_prefixes = vec![t[..j].to_string()];
                        let policy = Policy {
                            rules: vec![rule.clone()],
                        };
                        assert!(rule.matches(a, false), "{name}: {t} {j}");
                        assert_eq!(
                            policy.decide(a),
                            policy.decide(o),
                            "{name}: prefix {:?}\n{:?}",
                            &t[..j],
                            o.types
                        );
                        rule.type_prefixes = vec![];
                    }
                    rule.type_contains = vec![t[i..j].to_string()];
                    let policy = Policy { rules: vec![rule] };
                    assert_eq!(
                        policy.decide(a),
                        policy.decide(o),
                        "{name}: contains {:?}\n{:?}",
                        &t[i..j],
                        o.types
                    );
                    checked += 1;
                }
            }
        }
        // And the default policy decides the two copies alike.
        assert_eq!(
            Policy::default().decide(a),
            Policy::default().decide(o),
            "{name}"
        );
    }
    assert!(checked > 50_000, "{checked}");
}

/// The documented namespaces reach the OCSF copy: `TTPs/` and `Effects/` rules isolate both.
#[test]
fn namespace_rules_isolate_both_copies_of_a_guardduty_detection() {
    let twins = data_twins();
    let (_, a, o) = twins
        .iter()
        .find(|(n, ..)| n == "guardduty-trojan-critical")
        .unwrap();
    let prefixed = |prefix: &str| {
        let mut rule = Rule::new("ns", Action::IsolateInstance);
        rule.type_prefixes = vec![prefix.into()];
        (rule.matches(a, false), rule.matches(o, false))
    };
    for prefix in [
        "Effects/",
        "Effects/Data Exfiltration/",
        "Effects/Data Exfiltration/Trojan",
    ] {
        assert_eq!(prefixed(prefix), (true, true), "{prefix}");
    }
    assert_eq!(prefixed("TTPs/"), (false, false));
    // GuardDuty's own form is kept on the OCSF copy: a rule written for it meets that copy only.
    assert_eq!(prefixed("Trojan:EC2/"), (false, true));
}

/// A detection's fact is the same for the ASFF copy and for the OCSF copy whichever way the latter
/// holds the resource: ARN in `uid`, ARN in `uid_alt`, or the short id alone.
#[test]
fn a_detections_fact_does_not_depend_on_where_the_ocsf_copy_keeps_the_arn() {
    let mut checked = 0;
    for (name, a) in corpus_findings() {
        for shape in [Shape::ArnInUid, Shape::ArnInUidAlt, Shape::BareId] {
            let o = ocsf_twin(&a, shape);
            assert_eq!(a.fact_key(), o.fact_key(), "{name} {shape:?}");
            checked += 1;
        }
    }
    assert!(checked >= 3 * 40, "{checked}");
    for (name, a, o) in data_twins() {
        assert_eq!(a.fact_key(), o.fact_key(), "{name}");
    }
}

/// The fact of a finding without a control does not depend on how the provider's finding id is
/// given (GuardDuty's finding ARN in ASFF `Id`, or its bare id in OCSF `finding_info.uid`) nor on
/// the order of the resources.
#[test]
fn a_detection_fact_is_the_providers_finding_id_and_the_sorted_resource_ids() {
    let dir = root().join("tests/data/ocsf");
    let a = read(&dir.join("asff-twins/guardduty-ssh-bruteforce-high.json"));
    let text = std::fs::read_to_string(dir.join("guardduty-ssh-bruteforce-high.event.json"));
    let mut event: Value = serde_json::from_str(&text.unwrap()).unwrap();
    let f = &mut event["detail"]["findings"][0];
    let arn = f["finding_info"]["uid"].as_str().unwrap().to_string();
    f["finding_info"]["uid"] = json!(arn.rsplit('/').next().unwrap());
    let bucket = json!({"type": "AWS::S3::Bucket", "uid": "b", "uid_alt": "arn:aws:s3:::b"});
    f["resources"].as_array_mut().unwrap().insert(0, bucket);
    let ocsf = read_value(&event);
    let mut asff = a[0].clone();
    asff.resources.push(secauto_core::finding::Resource {
        kind: "AwsS3Bucket".into(),
        id: "arn:aws:s3:::b".into(),
        ..Default::default()
    });
    assert_eq!(ocsf[0].fact_key(), asff.fact_key());
    assert_eq!(
        asff.fact_key(),
        "finding/111122223333/54eabdc6df8f5f728bc0aea6d58af3bb/b,i-0abcd1234ef567890"
    );
}
