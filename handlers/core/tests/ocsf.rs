//! OCSF findings (today's Security Hub, "Findings Imported V2") over the corpus in tests/data/ocsf
//! (see its README.md): every file parses, each field maps as documented in `secauto_core::ocsf`,
//! triage decides them like ASFF, and an ASFF/OCSF twin of the same fact shares its `fact_key`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secauto_core::envelope::{parse_input, Input, Rejected, OCSF_IMPORTED};
use secauto_core::triage::{triage, Triaged};
use secauto_core::{Action, Finding, Policy};
use serde_json::{json, Value};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/ocsf")
}

fn files(sub: &str) -> Vec<PathBuf> {
    let dir = dir().join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn load(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// The findings of a corpus file, however it is shaped.
fn read(p: &Path) -> (Vec<Finding>, Vec<Rejected>) {
    match parse_input(&load(p)).unwrap_or_else(|e| panic!("{}: {e}", p.display())) {
        Input::Imported(f) | Input::File(f) => (f.ok, f.rejected),
        other => panic!("{}: {other:?}", p.display()),
    }
}

/// The raw findings of a file, as "Findings Imported V2" events deliver them.
fn as_event(p: &Path) -> Value {
    let v = load(p);
    if v.get("detail-type").is_some() {
        return v;
    }
    let findings = match v.get("Findings") {
        Some(list) => list.clone(),
        None => json!([v]),
    };
    json!({"detail-type": OCSF_IMPORTED, "source": "aws.securityhub", "detail": {"findings": findings}})
}

/// What triage decides for every finding of a file, delivered as an import.
fn triaged(p: &Path) -> Vec<Triaged> {
    triage(&Policy::default(), &parse_input(&as_event(p)).unwrap()).0
}

#[test]
fn every_corpus_file_parses() {
    let files = files("");
    assert!(files.len() >= 25, "{} files", files.len());
    let mut total = 0;
    for f in &files {
        let (ok, rejected) = read(f);
        total += ok.len();
        if name(f).starts_with("invalid-") {
            assert_eq!((ok.len(), rejected.len()), (1, 1), "{}", f.display());
            assert_eq!(rejected[0].index, 0);
            assert!(
                rejected[0].reason.contains("metadata.uid"),
                "{}",
                rejected[0].reason
            );
        } else {
            assert!(rejected.is_empty(), "{}: {rejected:?}", f.display());
            assert!(!ok.is_empty(), "{}", f.display());
        }
        for finding in &ok {
            let o = finding.ocsf.as_ref().expect("OCSF identity kept");
            assert!(o.metadata_uid.is_some(), "{}", f.display());
            assert_eq!(Some(finding.id.as_str()), o.metadata_uid.as_deref());
        }
    }
    assert!(total >= 30, "{total} findings");
}

/// One expected mapping: file, severity, workflow, record state, compliance status, control,
/// resource type, resource id, action, actionable (through triage, as an import).
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
    &'static str,
    Action,
    bool,
);

const ACCT: &str = "111122223333";
const SG: &str = "arn:aws:ec2:us-east-1:111122223333:security-group/";
const I: &str = "arn:aws:ec2:us-east-1:111122223333:instance/";

#[rustfmt::skip]
fn rows() -> Vec<Row> {
    use Action::*;
    let fail = Some("FAILED");
    vec![
        ("cspm-ec2.19-fail-new.event.json", "CRITICAL", "NEW", "ACTIVE", fail, Some("EC2.19"), "AwsEc2SecurityGroup", "sg-0a1b2c3d4e5f60718", CloseHighRiskPorts, true),
        ("cspm-ec2.19-pass-resolved.event.json", "INFORMATIONAL", "RESOLVED", "ACTIVE", Some("PASSED"), Some("EC2.19"), "AwsEc2SecurityGroup", "sg-0a1b2c3d4e5f60719", Ignore, false),
        ("cspm-ec2.19-unknown-fields.event.json", "HIGH", "NEW", "ACTIVE", fail, Some("EC2.19"), "AwsEc2SecurityGroup", "sg-0c0ffee0c0ffee003", CloseHighRiskPorts, true),
        ("cspm-ec2.19-warning-new.event.json", "CRITICAL", "NEW", "ACTIVE", Some("WARNING"), Some("EC2.19"), "AwsEc2SecurityGroup", "sg-0badc0ffee0000001", CloseHighRiskPorts, true),
        ("cspm-ec2.2-fail-new.event.json", "HIGH", "NEW", "ACTIVE", fail, Some("EC2.2"), "AwsEc2SecurityGroup", "sg-0feedfacecafe0002", CloseDefaultSecurityGroup, true),
        ("cspm-iam.3-fail-new.event.json", "MEDIUM", "NEW", "ACTIVE", fail, Some("IAM.3"), "AwsIamUser", "arn:aws:iam::111122223333:user/deploy-bot", DeactivateOldAccessKeys, true),
        ("cspm-iam.3-other-status.finding.json", "INFORMATIONAL", "RESOLVED", "ACTIVE", Some("NOT_AVAILABLE"), Some("IAM.3"), "AwsIamUser", "arn:aws:iam::111122223333:user/legacy-admin", Ignore, false),
        ("cspm-kms.4-fail-new.finding.json", "MEDIUM", "NEW", "ACTIVE", fail, Some("KMS.4"), "AwsKmsKey", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", EnableKeyRotation, true),
        ("cspm-kms.4-pass-closed.event.json", "MEDIUM", "NEW", "ARCHIVED", Some("PASSED"), Some("KMS.4"), "AwsKmsKey", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ac", EnableKeyRotation, false),
        ("cspm-s3.4-fail-fatal.event.json", "CRITICAL", "NEW", "ACTIVE", fail, Some("S3.4"), "AwsS3Bucket", "arn:aws:s3:::payroll-111122223333", EnableBucketEncryption, true),
        ("cspm-s3.8-fail-archived.event.json", "MEDIUM", "RESOLVED", "ARCHIVED", fail, Some("S3.8"), "AwsS3Bucket", "arn:aws:s3:::gone-111122223333", BlockBucketPublicAccess, false),
        ("cspm-s3.8-fail-in-progress.event.json", "MEDIUM", "NOTIFIED", "ACTIVE", fail, Some("S3.8"), "AwsS3Bucket", "arn:aws:s3:::logs-111122223333", BlockBucketPublicAccess, false),
        ("cspm-s3.8-fail-new.event.json", "MEDIUM", "NEW", "ACTIVE", fail, Some("S3.8"), "AwsS3Bucket", "arn:aws:s3:::reports-111122223333", BlockBucketPublicAccess, true),
        ("cspm-s3.8-fail-resolved.event.json", "MEDIUM", "RESOLVED", "ACTIVE", fail, Some("S3.8"), "AwsS3Bucket", "arn:aws:s3:::old-111122223333", BlockBucketPublicAccess, false),
        ("cspm-s3.8-fail-suppressed.event.json", "MEDIUM", "SUPPRESSED", "ACTIVE", fail, Some("S3.8"), "AwsS3Bucket", "arn:aws:s3:::tmp-111122223333", BlockBucketPublicAccess, false),
        ("cspm-s3.8-minimal.finding.json", "INFORMATIONAL", "UNKNOWN", "ACTIVE", fail, Some("S3.8"), "AwsS3Bucket", "arn:aws:s3:::minimal-111122223333", Ignore, false),
        ("cspm-s3.8-pass-new.event.json", "INFORMATIONAL", "NEW", "ACTIVE", Some("PASSED"), Some("S3.8"), "AwsS3Bucket", "arn:aws:s3:::public-site-111122223333", Ignore, false),
        ("cspm-s3.8-unknown-severity.event.json", "INFORMATIONAL", "NEW", "ACTIVE", fail, Some("S3.8"), "AwsS3Bucket", "arn:aws:s3:::unknown-sev-111122223333", Ignore, false),
        ("guardduty-backdoor-dns-high.event.json", "HIGH", "NEW", "ACTIVE", None, None, "AwsEc2Instance", "i-0aaaa1111bbbb2222", IsolateInstance, true),
        ("guardduty-bitcoin-low.finding.json", "LOW", "NEW", "ACTIVE", None, None, "AwsEc2Instance", "i-0cccc3333dddd4444", NotifyOnly, true),
        ("guardduty-credential-exfiltration-high.event.json", "HIGH", "NEW", "ACTIVE", None, None, "AwsIamAccessKey", "arn:aws:iam::111122223333:user/ASIAEXAMPLEKEY123456", NotifyOnly, true),
        ("guardduty-ssh-bruteforce-high.event.json", "HIGH", "NEW", "ACTIVE", None, None, "AwsEc2Instance", "i-0abcd1234ef567890", IsolateInstance, true),
        ("guardduty-ssh-bruteforce-suppressed.event.json", "HIGH", "SUPPRESSED", "ACTIVE", None, None, "AwsEc2Instance", "i-0bas7i0nbas7i0n01", IsolateInstance, false),
        ("guardduty-trojan-critical.event.json", "CRITICAL", "NEW", "ACTIVE", None, None, "AwsEc2Instance", "i-0eeee5555ffff6666", QuarantineInstance, true),
        ("inspector-ec2-cve-critical.event.json", "CRITICAL", "NEW", "ACTIVE", None, None, "AwsEc2Instance", "i-0123456789abcdef0", NotifyOnly, true),
        ("inspector-ecr-cve-high.finding.json", "HIGH", "NEW", "ACTIVE", None, None, "AwsEcrContainerImage", "arn:aws:ecr:us-east-1:111122223333:repository/payments/sha256:4f3b2a1c", NotifyOnly, true),
        ("inspector-lambda-cve-resolved.event.json", "MEDIUM", "RESOLVED", "ACTIVE", None, None, "AwsLambdaFunction", "arn:aws:lambda:us-east-1:111122223333:function:export-report", NotifyOnly, false),
        ("macie-encryption-disabled-low.finding.json", "LOW", "NEW", "ACTIVE", None, None, "AwsS3Bucket", "arn:aws:s3:::customer-exports-111122223333", NotifyOnly, true),
        ("macie-sensitive-data-high.event.json", "HIGH", "NEW", "ACTIVE", None, None, "AwsS3Bucket", "arn:aws:s3:::customer-exports-111122223333", NotifyOnly, true),
    ]
}

#[test]
fn each_field_maps_as_documented_and_triage_decides_like_asff() {
    let rows = rows();
    assert!(rows.len() >= 25);
    for (file, sev, wf, state, comp, control, kind, rid, action, actionable) in rows {
        let p = dir().join(file);
        let (ok, _) = read(&p);
        let f = &ok[0];
        let at = format!("{file}: {f:#?}");
        assert_eq!(f.severity().as_str(), sev, "{at}");
        assert_eq!(f.workflow_status(), wf, "{at}");
        assert_eq!(f.record_state.as_deref(), Some(state), "{at}");
        let c = f.compliance.as_ref();
        assert_eq!(c.and_then(|c| c.status.as_deref()), comp, "{at}");
        assert_eq!(f.control_id().as_deref(), control, "{at}");
        assert_eq!(f.resources[0].kind, kind, "{at}");
        let rid = match rid {
            s if s.starts_with("sg-") => format!("{SG}{s}"),
            s if s.starts_with("i-") => format!("{I}{s}"),
            s => s.to_string(),
        };
        assert_eq!(f.resources[0].id, rid, "{at}");
        if file.contains("minimal") {
            // Only identity, control and resource: no account or region to be had.
            assert_eq!((f.account(), f.region()), (None, None), "{at}");
        } else {
            assert_eq!(f.account(), Some(ACCT), "{at}");
            assert_eq!(f.region(), Some("us-east-1"), "{at}");
        }
        let t = &triaged(&p)[0];
        assert_eq!(t.action, action, "{at}");
        assert_eq!(t.is_actionable(), actionable, "{file}: {:?}", t.skipped);
    }
}

#[test]
fn identity_product_text_and_times_are_kept() {
    let (ok, _) = read(&dir().join("guardduty-ssh-bruteforce-high.event.json"));
    let f = &ok[0];
    let o = f.ocsf.as_ref().unwrap();
    assert_eq!(o.class_uid, Some(2004));
    assert_eq!(o.cloud_account_uid.as_deref(), Some(ACCT));
    assert!(o
        .finding_info_uid
        .as_deref()
        .unwrap()
        .starts_with("arn:aws:guardduty:us-east-1:111122223333:detector/"));
    let product = "arn:aws:securityhub:us-east-1::productv2/aws/guardduty";
    assert_eq!(o.metadata_product_uid.as_deref(), Some(product));
    assert!(o.finding_identifier().is_some());
    assert_eq!(f.product_arn, product);
    assert_eq!(f.product(), "GuardDuty");
    assert_eq!(f.company_name.as_deref(), Some("AWS"));
    assert!(f.title.contains("SSH brute force"), "{}", f.title);
    assert!(!f.description.is_empty());
    // GuardDuty's own type, then the ASFF type Security Hub CSPM gives it (see ocsf_types.rs).
    assert_eq!(
        f.types,
        [
            "UnauthorizedAccess:EC2/SSHBruteForce",
            "TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce"
        ]
    );
    assert_eq!(f.created_at.as_deref(), Some("2025-12-04T02:40:00.000Z"));
    assert_eq!(f.updated_at.as_deref(), Some("2025-12-04T02:40:00.000Z"));
    assert_eq!(f.resources[0].partition.as_deref(), Some("aws"));
    assert_eq!(f.resources[0].region.as_deref(), Some("us-east-1"));

    // Epoch-millisecond times when the _dt fields are absent; tags; Inspector CVEs and type.
    let (ok, _) = read(&dir().join("cspm-ec2.19-unknown-fields.event.json"));
    assert_eq!(
        ok[0].created_at.as_deref(),
        Some("2025-12-03T09:15:00.000Z")
    );
    let (ok, _) = read(&dir().join("cspm-s3.8-fail-new.event.json"));
    assert_eq!(
        ok[0].resources[0].tags.get("env").map(String::as_str),
        Some("prod")
    );
    assert_eq!(ok[0].generator_id.as_deref(), Some("security-control/S3.8"));
    let (ok, _) = read(&dir().join("inspector-ecr-cve-high.finding.json"));
    assert!(ok[0]
        .types
        .iter()
        .any(|t| t == "Software and Configuration Checks/Vulnerabilities/CVE"));
    assert_eq!(
        ok[0].product_fields["ocsf/vulnerabilities"],
        json!(["CVE-2021-44228"])
    );
}

/// Whatever the file, a Resolved, Archived, Suppressed, In Progress, closed or compliance-Pass
/// finding is never acted on.
#[test]
fn closed_suppressed_and_passed_findings_are_never_acted_on() {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for p in files("") {
        for t in triaged(&p) {
            let f = &t.finding;
            let why = if f.record_state.as_deref() == Some("ARCHIVED") {
                "archived"
            } else if f.compliance.as_ref().and_then(|c| c.status.as_deref()) == Some("PASSED") {
                "passed"
            } else if f.workflow_status() != "NEW" {
                "not new"
            } else {
                continue;
            };
            *seen.entry(why).or_default() += 1;
            assert!(!t.is_actionable(), "{}: {why}", name(&p));
            assert!(t.skipped.is_some(), "{}: {why}", name(&p));
        }
    }
    assert!(seen.values().sum::<usize>() >= 9, "{seen:?}");
    assert_eq!(seen.len(), 3, "{seen:?}");
}

#[test]
fn asff_and_ocsf_twins_share_the_fact_key_and_the_decision() {
    let twins = files("asff-twins");
    assert!(twins.len() >= 5, "{}", twins.len());
    let policy = Policy::default();
    for asff_file in twins {
        let (asff, _) = read(&asff_file);
        let stem = name(&asff_file).replace(".json", "");
        let twin = [".event.json", ".finding.json"]
            .iter()
            .map(|ext| dir().join(format!("{stem}{ext}")))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no OCSF twin of {stem}"));
        let (ocsf, _) = read(&twin);
        let (a, o) = (&asff[0], &ocsf[0]);
        assert!(a.ocsf.is_none() && o.ocsf.is_some());
        assert_ne!(a.id, o.id, "different finding ids");
        assert_eq!(a.fact_key(), o.fact_key(), "{}", name(&asff_file));
        assert_eq!(policy.decide(a), policy.decide(o), "{}", name(&asff_file));
    }
    let (a, _) = read(&dir().join("asff-twins/cspm-s3.8-fail-new.json"));
    assert_eq!(
        a[0].fact_key(),
        "control/111122223333/S3.8/arn:aws:s3:::reports-111122223333"
    );
}

#[test]
fn different_facts_have_different_keys() {
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    for p in files("") {
        for f in read(&p).0 {
            if let Some(other) = keys.insert(f.fact_key(), name(&p)) {
                panic!("{} and {other} share {}", name(&p), f.fact_key());
            }
        }
    }
}

#[test]
fn asff_output_is_unchanged_and_ocsf_identity_round_trips() {
    let (asff, _) = read(&dir().join("asff-twins/cspm-s3.8-fail-new.json"));
    let out = serde_json::to_value(&asff[0]).unwrap();
    assert!(out.get("Ocsf").is_none(), "{out}");
    assert_eq!(out["Compliance"]["SecurityControlId"], "S3.8");
    let (ocsf, _) = read(&dir().join("cspm-s3.8-fail-new.event.json"));
    let back: Finding = serde_json::from_value(serde_json::to_value(&ocsf[0]).unwrap()).unwrap();
    assert_eq!(back, ocsf[0]);
}

#[test]
fn a_file_may_mix_asff_and_ocsf() {
    let asff = load(&dir().join("asff-twins/cspm-kms.4-fail-new.json"))["Findings"][0].clone();
    let ocsf = load(&dir().join("cspm-kms.4-fail-new.finding.json"));
    for file in [
        json!({"Findings": [asff, ocsf]}),
        json!({"findings": [asff, ocsf]}),
        json!([asff, ocsf]),
    ] {
        let Input::File(found) = parse_input(&file).unwrap() else {
            panic!()
        };
        assert!(found.rejected.is_empty(), "{:?}", found.rejected);
        assert_eq!(found.ok.len(), 2);
        assert_eq!(found.ok[0].fact_key(), found.ok[1].fact_key());
    }
}

/// Severity, status and compliance tables, field by field.
#[test]
fn severity_status_and_compliance_tables() {
    let one = |extra: Value| {
        let mut v = json!({"class_uid": 2003, "metadata": {"uid": "m"}});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let Input::File(found) = parse_input(&v).unwrap() else {
            panic!()
        };
        found.ok.into_iter().next().unwrap()
    };
    for (id, text, label) in [
        (json!(0), "Unknown", "INFORMATIONAL"),
        (json!(1), "Informational", "INFORMATIONAL"),
        (json!(2), "Low", "LOW"),
        (json!(3), "Medium", "MEDIUM"),
        (json!(4), "High", "HIGH"),
        (json!(5), "Critical", "CRITICAL"),
        (json!(6), "Fatal", "CRITICAL"),
        (json!(99), "Other", "INFORMATIONAL"),
        (json!(99), "High", "HIGH"),
        (json!(0), "hIgH", "HIGH"),
        (json!(99), "Fatal", "CRITICAL"),
        (json!(7), "High", "HIGH"),
        (json!(7), "x", "INFORMATIONAL"),
        (Value::Null, "Critical", "CRITICAL"),
        (json!("4"), "", "HIGH"),
    ] {
        let f = one(json!({"severity_id": id, "severity": text}));
        assert_eq!(f.severity().as_str(), label, "{id} {text}");
    }
    for (id, text, wf, state) in [
        (json!(1), "New", "NEW", "ACTIVE"),
        (json!(2), "In Progress", "NOTIFIED", "ACTIVE"),
        (json!(3), "Suppressed", "SUPPRESSED", "ACTIVE"),
        (json!(4), "Resolved", "RESOLVED", "ACTIVE"),
        (json!(5), "Archived", "RESOLVED", "ARCHIVED"),
        // Unknown or none: not New, never acted on (the findings rule takes status_id 1 only).
        (json!(0), "Unknown", "UNKNOWN", "ACTIVE"),
        (json!(0), "New", "UNKNOWN", "ACTIVE"),
        (Value::Null, "New", "UNKNOWN", "ACTIVE"),
        // Other: never acted on, as AWS's ASR reads it (RESOLVED).
        (json!(99), "Other", "RESOLVED", "ACTIVE"),
        (Value::Null, "Suppressed", "SUPPRESSED", "ACTIVE"),
    ] {
        let f = one(json!({"status_id": id, "status": text}));
        assert_eq!(f.workflow_status(), wf, "{id} {text}");
        assert_eq!(f.record_state.as_deref(), Some(state), "{id} {text}");
    }
    for (id, text, status) in [
        (json!(1), "Pass", "PASSED"),
        (json!(2), "Warning", "WARNING"),
        (json!(3), "Fail", "FAILED"),
        (json!(0), "Unknown", "NOT_AVAILABLE"),
        (json!(99), "Other", "NOT_AVAILABLE"),
        (Value::Null, "pass", "PASSED"),
    ] {
        let f = one(json!({"compliance": {"control": "S3.8", "status_id": id, "status": text}}));
        let c = f.compliance.unwrap();
        assert_eq!(c.status.as_deref(), Some(status), "{id} {text}");
        assert_eq!(c.security_control_id.as_deref(), Some("S3.8"));
    }
    let commented = one(json!({"status_id": 4, "comment": "closed by the analyst"}));
    assert_eq!(
        commented.note.as_ref().map(|n| n.text.as_str()),
        Some("closed by the analyst"),
        "the comment is read as the note: who closed it is known"
    );
    let closed = one(json!({"activity_id": 3, "status_id": 1}));
    assert_eq!(closed.record_state.as_deref(), Some("ARCHIVED"));
    // The ARN is taken from uid_alt or uid, whichever is one.
    for (uid, alt) in [("b", "arn:aws:s3:::b"), ("arn:aws:s3:::b", "b")] {
        let f =
            one(json!({"resources": [{"type": "AWS::S3::Bucket", "uid": uid, "uid_alt": alt}]}));
        assert_eq!(f.resources[0].id, "arn:aws:s3:::b");
        assert_eq!(f.resources[0].partition.as_deref(), Some("aws"));
    }
}

#[test]
fn identity_is_metadata_uid_or_the_finding_identifier_triple() {
    let triple = json!({"class_uid": 2004, "finding_info": {"uid": "f"}, "cloud": {"account": {"uid": 111122223333_u64}},
        "metadata": {"product": {"uid": "arn:aws:securityhub:us-east-1::productv2/aws/guardduty"}}});
    let Input::File(found) = parse_input(&triple).unwrap() else {
        panic!()
    };
    assert_eq!(found.ok[0].id, "f");
    assert_eq!(found.ok[0].account(), Some(ACCT));
    let partial = json!({"class_uid": 2004, "finding_info": {"uid": "f"}, "metadata": {"uid": ""}});
    let Input::File(found) = parse_input(&partial).unwrap() else {
        panic!()
    };
    assert!(found.ok.is_empty());
    assert!(found.rejected[0].reason.contains("cloud.account.uid"));
}

/// Both copies of one fact match the same policy rule, whichever name the rule uses: `products`
/// (Security Hub CSPM's control findings are "Security Hub" in ASFF, "Security Hub CSPM" in OCSF)
/// and `generator_suffixes` (an unconsolidated ASFF GeneratorId
/// `aws-foundational-security-best-practices/v/1.0.0/EC2.2`, the OCSF `security-control/EC2.2`).
#[test]
fn twins_match_the_same_products_and_generator_suffix_rules() {
    let mut checked = 0;
    for asff_file in files("asff-twins") {
        let stem = name(&asff_file).replace(".json", "");
        let twin = [".event.json", ".finding.json"]
            .iter()
            .map(|ext| dir().join(format!("{stem}{ext}")))
            .find(|p| p.exists())
            .unwrap();
        let (a, o) = (read(&asff_file).0.remove(0), read(&twin).0.remove(0));
        let mut products = vec![a.product(), o.product()];
        products.extend(a.product_name.clone());
        products.extend(o.product_name.clone());
        for product in products {
            let mut r = secauto_core::Rule::new("by-product", Action::NotifyOnly);
            r.products = vec![product.to_ascii_lowercase()];
            assert!(
                r.matches(&a, false) && r.matches(&o, false),
                "{stem}: products = [{product:?}]"
            );
            checked += 1;
        }
        // A detection's generators (GuardDuty's detector, the OCSF analytic) name nothing shared.
        if a.control_id().is_none() {
            continue;
        }
        let mut suffixes: Vec<String> = [&a, &o]
            .iter()
            .filter_map(|f| f.generator_id.clone())
            .collect();
        let c = a.control_id().unwrap();
        suffixes.extend([format!("/{c}"), format!("security-control/{c}")]);
        for suffix in suffixes {
            let mut r = secauto_core::Rule::new("by-generator", Action::NotifyOnly);
            r.generator_suffixes = vec![suffix.clone()];
            assert!(
                r.matches(&a, false) && r.matches(&o, false),
                "{stem}: generator_suffixes = [{suffix:?}]\n{:?}\n{:?}",
                a.generator_ids(),
                o.generator_ids()
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked}");
    // Another product's name, or another control's suffix, still matches neither.
    let (a, _) = read(&dir().join("asff-twins/cspm-ec2.2-fail-new.json"));
    let mut r = secauto_core::Rule::new("other", Action::NotifyOnly);
    r.products = vec!["GuardDuty".into()];
    assert!(!r.matches(&a[0], false));
    let mut r = secauto_core::Rule::new("other", Action::NotifyOnly);
    r.generator_suffixes = vec!["aws-foundational-security-best-practices/v/1.0.0/EC2.19".into()];
    assert!(!r.matches(&a[0], false));
}
