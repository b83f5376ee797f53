//! The control of a finding, whatever shape it arrives in, and the policy's `controls` criterion:
//! every control finding of the corpus, and a matrix of shapes (consolidated, standard-specific
//! for every standard, CIS rule ids, product fields alone, the finding's id alone, the remediation
//! URL alone, OCSF), each also in other case, spacing and standard versions, and each PASSED,
//! SUPPRESSED, RESOLVED and ARCHIVED (never acted on, not even by an analyst's custom action).

use std::path::Path;

use secauto_core::controls::{self, CATALOGUE};
use secauto_core::envelope::{parse_input, Input};
use secauto_core::triage::triage;
use secauto_core::{Action, Finding, Mode, Policy, Rule};
use serde_json::{json, Value};

fn read(v: &Value) -> Finding {
    let input = parse_input(v).unwrap();
    let (Input::File(found) | Input::Imported(found)) = input else {
        panic!("{v}")
    };
    assert!(found.rejected.is_empty(), "{:?}", found.rejected);
    found.ok.into_iter().next().unwrap()
}

/// A control with its standard-specific ids, and the resource its findings name.
struct Case {
    control: &'static str,
    pci: Option<&'static str>,
    cis12: Option<&'static str>,
    cis14: Option<&'static str>,
    /// The requirement number in CIS v3.0.0 (findings name the control in the URL).
    cis3: Option<&'static str>,
    kind: &'static str,
    resource: &'static str,
}

const CASES: &[Case] = &[
    Case {
        control: "S3.8",
        pci: None,
        cis12: None,
        cis14: Some("2.1.5.2"),
        cis3: Some("2.1.4"),
        kind: "AwsS3Bucket",
        resource: "arn:aws:s3:::reports",
    },
    Case {
        control: "S3.5",
        pci: Some("PCI.S3.5"),
        cis12: None,
        cis14: Some("2.1.2"),
        cis3: Some("2.1.1"),
        kind: "AwsS3Bucket",
        resource: "arn:aws:s3:::reports",
    },
    Case {
        control: "S3.3",
        pci: Some("PCI.S3.1"),
        cis12: None,
        cis14: None,
        cis3: None,
        kind: "AwsS3Bucket",
        resource: "arn:aws:s3:::reports",
    },
    Case {
        control: "EC2.2",
        pci: Some("PCI.EC2.2"),
        cis12: Some("4.3"),
        cis14: Some("5.3"),
        cis3: Some("5.4"),
        kind: "AwsEc2SecurityGroup",
        resource: "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0123456789abcdef0",
    },
    Case {
        control: "EC2.7",
        pci: None,
        cis12: None,
        cis14: Some("2.2.1"),
        cis3: Some("2.2.1"),
        kind: "AwsAccount",
        resource: "AWS::::Account:111122223333",
    },
    Case {
        control: "EC2.8",
        pci: None,
        cis12: None,
        cis14: None,
        cis3: Some("5.6"),
        kind: "AwsEc2Instance",
        resource: "arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0",
    },
    Case {
        control: "EC2.13",
        pci: Some("PCI.EC2.5"),
        cis12: Some("4.1"),
        cis14: None,
        cis3: None,
        kind: "AwsEc2SecurityGroup",
        resource: "arn:aws:ec2:us-east-1:111122223333:security-group/sg-0123456789abcdef0",
    },
    Case {
        control: "KMS.4",
        pci: Some("PCI.KMS.1"),
        cis12: Some("2.8"),
        cis14: Some("3.8"),
        cis3: None,
        kind: "AwsKmsKey",
        resource: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    },
    Case {
        control: "IAM.16",
        pci: None,
        cis12: Some("1.10"),
        cis14: Some("1.9"),
        cis3: None,
        kind: "AwsAccount",
        resource: "AWS::::Account:111122223333",
    },
    Case {
        control: "EC2.1",
        pci: Some("PCI.EC2.1"),
        cis12: None,
        cis14: None,
        cis3: None,
        kind: "AwsAccount",
        resource: "AWS::::Account:111122223333",
    },
    Case {
        control: "Lambda.1",
        pci: Some("PCI.Lambda.1"),
        cis12: None,
        cis14: None,
        cis3: None,
        kind: "AwsLambdaFunction",
        resource: "arn:aws:lambda:us-east-1:111122223333:function:hook",
    },
    Case {
        control: "CloudTrail.2",
        pci: Some("PCI.CloudTrail.1"),
        cis12: Some("2.7"),
        cis14: Some("3.7"),
        cis3: Some("3.5"),
        kind: "AwsCloudTrailTrail",
        resource: "arn:aws:cloudtrail:us-east-1:111122223333:trail/main",
    },
];

const FSBP: &str = "aws-foundational-security-best-practices";
const ACCOUNT: &str = "111122223333";

/// A failed ASFF control finding of `case` with no field naming its control.
fn base(case: &Case) -> Value {
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:finding/plain-{}", case.control),
        "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/securityhub",
        "AwsAccountId": ACCOUNT,
        "Region": "us-east-1",
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "CreatedAt": "2026-01-01T00:00:00Z",
        "UpdatedAt": "2026-01-01T00:00:00Z",
        "Severity": {"Label": "HIGH"},
        "Title": "a control failed",
        "Description": "a control failed",
        "Resources": [{"Type": case.kind, "Id": case.resource, "Region": "us-east-1"}],
        "Compliance": {"Status": "FAILED"},
        "Workflow": {"Status": "NEW"},
        "RecordState": "ACTIVE",
    })
}

fn with(mut v: Value, edits: &[(&str, Value)]) -> Value {
    for (path, value) in edits {
        let mut at = &mut v;
        let parts: Vec<&str> = path.split('.').collect();
        for p in &parts[..parts.len() - 1] {
            at = at
                .as_object_mut()
                .unwrap()
                .entry(p.to_string())
                .or_insert(json!({}));
        }
        at[parts[parts.len() - 1]] = value.clone();
    }
    v
}

fn url(id: &str) -> String {
    format!("https://docs.aws.amazon.com/console/securityhub/{id}/remediation")
}

/// Every ASFF shape of `case`'s control findings: (what, finding).
fn asff_shapes(case: &Case) -> Vec<(String, Value)> {
    let c = case.control;
    let lower = c.to_ascii_lowercase();
    let b = base(case);
    let s = |v: &str| json!(v);
    let sub = |std: &str, id: &str| {
        format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:subscription/{std}/{id}/finding/0f0e")
    };
    let mut out: Vec<(String, Value)> = vec![
        ("consolidated".into(), with(b.clone(), &[("Compliance.SecurityControlId", s(c)), ("GeneratorId", s(&format!("security-control/{c}"))), ("Id", s(&format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:security-control/{c}/finding/0f0e")))])),
        ("consolidated, other case and spaces".into(), with(b.clone(), &[("Compliance.SecurityControlId", s(&format!("  {lower} "))), ("GeneratorId", s(&format!("Security-Control/{lower}")))])),
        ("consolidated GeneratorId alone".into(), with(b.clone(), &[("GeneratorId", s(&format!("security-control/{c}")))])),
        ("SecurityControlId alone".into(), with(b.clone(), &[("Compliance.SecurityControlId", s(c))])),
        ("FSBP".into(), with(b.clone(), &[("GeneratorId", s(&format!("{FSBP}/v/1.0.0/{c}"))), ("ProductFields", json!({"StandardsArn": format!("arn:aws:securityhub:::standards/{FSBP}/v/1.0.0"), "ControlId": c}))])),
        ("FSBP with SecurityControlId".into(), with(b.clone(), &[("GeneratorId", s(&format!("{FSBP}/v/1.0.0/{c}"))), ("Compliance.SecurityControlId", s(c))])),
        ("FSBP, upper case, another version".into(), with(b.clone(), &[("GeneratorId", s(&format!("AWS-Foundational-Security-Best-Practices/V/1.1.0/{}", c.to_ascii_uppercase())))])),
        ("NIST 800-53".into(), with(b.clone(), &[("GeneratorId", s(&format!("nist-800-53/v/5.0.0/{c}")))])),
        ("NIST 800-171".into(), with(b.clone(), &[("GeneratorId", s(&format!("nist-800-171/v/2.0.0/{c}")))])),
        ("PCI DSS v4.0.1".into(), with(b.clone(), &[("GeneratorId", s(&format!("pci-dss/v/4.0.1/{c}")))])),
        ("Control Tower".into(), with(b.clone(), &[("GeneratorId", s(&format!("service-managed-aws-control-tower/v/1.0.0/{c}"))), ("ProductFields", json!({"ControlId": format!("CT.{c}")}))])),
        ("Control Tower ControlId alone".into(), with(b.clone(), &[("ProductFields", json!({"ControlId": format!("CT.{c}")}))])),
        ("tagging standard".into(), with(b.clone(), &[("GeneratorId", s(&format!("aws-resource-tagging-standard/v/1.0.0/{c}")))])),
        ("StandardsControlArn alone".into(), with(b.clone(), &[("ProductFields", json!({"StandardsControlArn": format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:control/{FSBP}/v/1.0.0/{c}")}))])),
        ("ControlId and StandardsArn alone".into(), with(b.clone(), &[("ProductFields", json!({"StandardsArn": format!("arn:aws:securityhub:::standards/nist-800-53/v/5.0.0"), "ControlId": lower}))])),
        ("ControlId and AssociatedStandards".into(), with(b.clone(), &[("ProductFields", json!({"ControlId": c})), ("Compliance.AssociatedStandards", json!([{"StandardsId": format!("standards/{FSBP}/v/1.0.0")}]))])),
        ("Id alone".into(), with(b.clone(), &[("Id", s(&sub(&format!("{FSBP}/v/1.0.0"), c)))])),
        ("consolidated Id alone".into(), with(b.clone(), &[("Id", s(&format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:security-control/{c}/finding/0f0e")))])),
        ("aws/securityhub/FindingId alone".into(), with(b.clone(), &[("ProductFields", json!({"aws/securityhub/FindingId": format!("arn:aws:securityhub:us-east-1::product/aws/securityhub/{}", sub(&format!("{FSBP}/v/1.0.0"), c))}))])),
        ("Remediation URL alone".into(), with(b.clone(), &[("Remediation", json!({"Recommendation": {"Text": "see", "Url": url(c)}}))])),
        ("RecommendationUrl alone".into(), with(b.clone(), &[("ProductFields", json!({"RecommendationUrl": url(c)}))])),
    ];
    if let Some(p) = case.pci {
        out.push(("PCI DSS v3.2.1".into(), with(b.clone(), &[("GeneratorId", s(&format!("pci-dss/v/3.2.1/{p}"))), ("ProductFields", json!({"StandardsArn": "arn:aws:securityhub:::standards/pci-dss/v/3.2.1", "ControlId": p})), ("Remediation", json!({"Recommendation": {"Url": url(p)}}))])));
        out.push((
            "PCI DSS v3.2.1 ControlId alone, lower case".into(),
            with(
                b.clone(),
                &[(
                    "ProductFields",
                    json!({"ControlId": p.to_ascii_lowercase()}),
                )],
            ),
        ));
    }
    if let Some(r) = case.cis12 {
        let generator =
            format!("arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/{r}");
        out.push(("CIS v1.2.0".into(), with(b.clone(), &[("GeneratorId", s(&generator)), ("ProductFields", json!({"StandardsGuideArn": "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0", "RuleId": r})), ("Remediation", json!({"Recommendation": {"Url": url(&format!("standards-cis-{r}"))}}))])));
        out.push((
            "CIS v1.2.0 RuleId with SecurityControlId".into(),
            with(
                b.clone(),
                &[
                    ("ProductFields", json!({"RuleId": r})),
                    ("Compliance.SecurityControlId", s(c)),
                ],
            ),
        ));
        out.push((
            "CIS v1.2.0 RuleId alone".into(),
            with(b.clone(), &[("ProductFields", json!({"RuleId": r}))]),
        ));
        out.push((
            "CIS v1.2.0 old URL alone".into(),
            with(
                b.clone(),
                &[(
                    "Remediation",
                    json!({"Recommendation": {"Url": url(&format!("standards-cis-{r}"))}}),
                )],
            ),
        ));
    }
    if let Some(r) = case.cis14 {
        out.push(("CIS v1.4.0".into(), with(b.clone(), &[("GeneratorId", s(&format!("cis-aws-foundations-benchmark/v/1.4.0/{r}"))), ("ProductFields", json!({"StandardsArn": "arn:aws:securityhub:::standards/cis-aws-foundations-benchmark/v/1.4.0", "ControlId": r}))])));
    }
    if let Some(r) = case.cis3 {
        for v in ["3.0.0", "5.0.0"] {
            out.push((
                format!("CIS v{v} with the URL"),
                with(
                    b.clone(),
                    &[
                        (
                            "GeneratorId",
                            s(&format!("cis-aws-foundations-benchmark/v/{v}/{r}")),
                        ),
                        (
                            "ProductFields",
                            json!({"ControlId": r, "RecommendationUrl": url(c)}),
                        ),
                        ("Remediation", json!({"Recommendation": {"Url": url(c)}})),
                    ],
                ),
            ));
            out.push((
                format!("CIS v{v} with SecurityControlId"),
                with(
                    b.clone(),
                    &[
                        (
                            "GeneratorId",
                            s(&format!("cis-aws-foundations-benchmark/v/{v}/{r}")),
                        ),
                        ("ProductFields", json!({"ControlId": r})),
                        ("Compliance.SecurityControlId", s(c)),
                    ],
                ),
            ));
        }
    }
    out
}

/// Every OCSF shape of `case`'s control findings.
fn ocsf_shapes(case: &Case) -> Vec<(String, Value)> {
    let c = case.control;
    let base = |compliance: Value, uid: &str| {
        json!({
            "class_uid": 2003,
            "metadata": {"uid": format!("ocsf-{c}-{uid}"), "product": {"uid": "arn:aws:securityhub:us-east-1::productv2/aws/securityhub", "name": "Security Hub CSPM"}},
            "cloud": {"account": {"uid": ACCOUNT}, "region": "us-east-1"},
            "severity_id": 4,
            "status_id": 1,
            "finding_info": {"uid": uid, "title": "a control failed"},
            "compliance": compliance,
            "resources": [{"type": case.kind, "uid": case.resource, "region": "us-east-1"}],
        })
    };
    let plain = "arn:aws:securityhub:us-east-1:111122223333:finding/plain";
    vec![
        ("OCSF compliance.control".into(), base(json!({"control": c, "status_id": 3}), plain)),
        ("OCSF compliance.control, other case and spaces".into(), base(json!({"control": format!(" {} ", c.to_ascii_lowercase()), "status": "Fail"}), plain)),
        ("OCSF compliance.control as a generator id".into(), base(json!({"control": format!("{FSBP}/v/1.0.0/{c}"), "status_id": 3, "standards": [format!("standards/{FSBP}/v/1.0.0")]}), plain)),
        ("OCSF finding_info.uid alone".into(), base(json!({"status_id": 3}), &format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:security-control/{c}/finding/0f0e"))),
        ("OCSF standard-specific finding_info.uid alone".into(), base(json!({"status_id": 3}), &format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:subscription/nist-800-53/v/5.0.0/{c}/finding/0f0e"))),
    ]
}

fn all_shapes() -> Vec<(&'static Case, String, Value)> {
    CASES
        .iter()
        .flat_map(|case| {
            asff_shapes(case)
                .into_iter()
                .chain(ocsf_shapes(case))
                .map(move |(what, v)| (case, what, v))
        })
        .collect()
}

/// Credentials unused 45 days: IAM.22's CIS v1.4.0 requirement 1.12 (iam-controls.html, IAM.22),
/// as a standard-specific finding names it where consolidated findings are off.
#[test]
fn a_cis_v140_unused_credentials_finding_is_iam_22() {
    let f = read(&json!({"Id": "x", "AwsAccountId": ACCOUNT,
        "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/securityhub",
        "GeneratorId": "cis-aws-foundations-benchmark/v/1.4.0/1.12",
        "ProductFields": {"StandardsArn": "arn:aws:securityhub:::standards/cis-aws-foundations-benchmark/v/1.4.0", "ControlId": "1.12"}}));
    assert_eq!(f.control_id().as_deref(), Some("IAM.22"));
}

#[test]
fn every_shape_names_its_control() {
    let shapes = all_shapes();
    assert!(shapes.len() > 200, "{}", shapes.len());
    for (case, what, v) in &shapes {
        let f = read(v);
        assert_eq!(
            f.control_id().as_deref(),
            Some(case.control),
            "{} — {what}: {v}",
            case.control
        );
        assert!(
            f.fact_key()
                .starts_with(&format!("control/{ACCOUNT}/{}/", case.control)),
            "{what}"
        );
    }
}

#[test]
fn findings_of_other_products_name_no_control() {
    for v in [
        json!({"Id": "x", "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty", "GeneratorId": "arn:aws:guardduty:us-east-1:1:detector/abc"}),
        json!({"Id": "x", "ProductArn": "arn:aws:securityhub:us-east-1::product/prowler/prowler", "GeneratorId": "prowler-s3_bucket_level_public_access_block",
               "Remediation": {"Recommendation": {"Url": "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"}}}),
        json!({"Id": "x", "ProductArn": "p", "GeneratorId": "custodian.5"}),
        json!({"Id": "x", "ProductArn": "p", "GeneratorId": "4.3"}),
        json!({"Id": "x", "ProductArn": "p", "Compliance": {"SecurityControlId": "  "}}),
        json!({"Id": "x", "ProductArn": "p", "ProductFields": {"ControlId": "check-42"}}),
    ] {
        assert_eq!(read(&v).control_id(), None, "{v}");
    }
}

/// A finding of any product but Security Hub names no control, however plainly its fields name
/// one: a custom integration (any account may import under its own `product/<account>/default`), a
/// partner, another AWS service, in ASFF or OCSF. Security Hub's own product ARN counts in every
/// partition and in both forms.
#[test]
fn only_security_hubs_own_findings_name_controls() {
    let shaped = |product: &str| {
        json!({"Id": "arn:aws:securityhub:us-east-1:111122223333:security-control/S3.8/finding/1",
               "ProductArn": product, "GeneratorId": "security-control/S3.8",
               "Compliance": {"SecurityControlId": "S3.8", "Status": "FAILED"},
               "ProductFields": {"ControlId": "S3.8", "StandardsControlArn": "arn:aws:securityhub:us-east-1:111122223333:control/aws-foundational-security-best-practices/v/1.0.0/S3.8"},
               "Remediation": {"Recommendation": {"Url": "https://docs.aws.amazon.com/console/securityhub/S3.8/remediation"}}})
    };
    for other in [
        "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default",
        "arn:aws:securityhub:us-east-1::product/prowler/prowler",
        "arn:aws:securityhub:us-east-1::product/aws/config",
        "arn:aws:securityhub:us-east-1::product/aws/guardduty",
        "arn:aws:securityhub:us-east-1::product/aws/securityhub-lookalike",
        "arn:aws:guardduty:us-east-1::product/aws/securityhub",
        "product/aws/securityhub",
    ] {
        assert_eq!(read(&shaped(other)).control_id(), None, "{other}");
    }
    for name in ["Prowler", "Prowler for Security Hub", "Not Security Hub"] {
        let mut named = shaped("");
        named["ProductName"] = json!(name);
        assert_eq!(read(&named).control_id(), None, "a product named {name}");
    }
    for hub in [
        "arn:aws:securityhub:us-east-1::product/aws/securityhub",
        "arn:aws-cn:securityhub:cn-north-1::product/aws/securityhub",
        "arn:aws-us-gov:securityhub:us-gov-west-1::product/aws/securityhub",
        "arn:aws:securityhub:us-east-1::productv2/aws/securityhub",
        " arn:aws:securityhub:eu-west-1::product/aws/securityhub ",
    ] {
        assert_eq!(
            read(&shaped(hub)).control_id().as_deref(),
            Some("S3.8"),
            "{hub}"
        );
    }
    for name in ["Security Hub", "security hub cspm", "AWS Security Hub"] {
        let mut hub_by_name = shaped("");
        hub_by_name["ProductName"] = json!(name);
        assert_eq!(
            read(&hub_by_name).control_id().as_deref(),
            Some("S3.8"),
            "{name}"
        );
    }
    assert_eq!(
        read(&shaped("")).control_id().as_deref(),
        Some("S3.8"),
        "no product at all"
    );
    let ocsf = |uid: &str| {
        json!({"class_uid": 2003, "metadata": {"uid": "m-1", "product": {"uid": uid, "name": "X"}},
               "cloud": {"account": {"uid": ACCOUNT}, "region": "us-east-1"}, "severity_id": 4, "status_id": 1,
               "finding_info": {"uid": "f-1"}, "compliance": {"control": "S3.8", "status_id": 3},
               "resources": [{"type": "AWS::S3::Bucket", "uid": "arn:aws:s3:::b"}]})
    };
    for (uid, want) in [
        (
            "arn:aws:securityhub:us-east-1::productv2/aws/securityhub",
            Some("S3.8"),
        ),
        (
            "arn:aws:securityhub:us-east-1::productv2/aws/guardduty",
            None,
        ),
        (
            "arn:aws:securityhub:us-east-1:111122223333:productv2/111122223333/default",
            None,
        ),
    ] {
        assert_eq!(read(&ocsf(uid)).control_id().as_deref(), want, "OCSF {uid}");
    }
}

/// Every control finding of the corpus (real, published) and what it names.
#[test]
fn the_corpus_control_findings_name_their_controls() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus/findings");
    let mut seen = std::collections::BTreeMap::new();
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let Input::File(found) = parse_input(&v).unwrap() else {
            panic!()
        };
        for f in found.ok {
            let from_hub = f.product_arn.ends_with("product/aws/securityhub");
            let control = f.control_id();
            assert_eq!(
                control.is_some(),
                from_hub,
                "{}: {} {:?}",
                p.display(),
                f.id,
                control
            );
            if let Some(c) = control {
                seen.insert(f.generator_id.clone().unwrap_or_default(), c);
                count += 1;
            }
        }
    }
    for (generator, want) in [
        ("pci-dss/v/3.2.1/PCI.EC2.5", "EC2.13"),
        ("pci-dss/v/3.2.1/PCI.KMS.1", "KMS.4"),
        ("pci-dss/v/3.2.1/PCI.EC2.2", "EC2.2"),
        (
            "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/4.1",
            "EC2.13",
        ),
        (
            "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/4.2",
            "EC2.14",
        ),
        (
            "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/1.4",
            "IAM.3",
        ),
        (
            "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/2.9",
            "EC2.6",
        ),
        ("cis-aws-foundations-benchmark/v/1.4.0/3.7", "CloudTrail.2"),
        (
            "service-managed-aws-control-tower/v/1.0.0/CloudTrail.2",
            "CloudTrail.2",
        ),
        (
            "aws-foundational-security-best-practices/v/1.0.0/ELBv2.1",
            "ELB.1",
        ),
        (
            "aws-foundational-security-best-practices/v/1.0.0/S3.8",
            "S3.8",
        ),
        (
            "aws-foundational-security-best-practices/v/1.0.0/EC2.8",
            "EC2.8",
        ),
    ] {
        assert_eq!(
            seen.get(generator).map(String::as_str),
            Some(want),
            "{generator}"
        );
    }
    assert!(seen.len() >= 35, "{seen:?}");
    assert_eq!(count, 46, "the README says 46");
}

/// The controls AWS's Automated Security Response v3 remediates (its security-control playbook,
/// `source/playbooks/SC/lib/sc_remediations.ts` at 379596298f).
const ASR: &[&str] = &[
    "Athena.4",
    "APIGateway.1",
    "APIGateway.5",
    "AutoScaling.1",
    "AutoScaling.3",
    "Autoscaling.5",
    "CloudFormation.1",
    "CloudFront.1",
    "CloudFront.12",
    "CloudTrail.1",
    "CloudTrail.2",
    "CloudTrail.3",
    "CloudTrail.4",
    "CloudTrail.5",
    "CloudTrail.6",
    "CloudTrail.7",
    "CloudWatch.1",
    "CloudWatch.2",
    "CloudWatch.3",
    "CloudWatch.4",
    "CloudWatch.5",
    "CloudWatch.6",
    "CloudWatch.7",
    "CloudWatch.8",
    "CloudWatch.9",
    "CloudWatch.10",
    "CloudWatch.11",
    "CloudWatch.12",
    "CloudWatch.13",
    "CloudWatch.14",
    "CloudWatch.16",
    "CodeBuild.2",
    "CodeBuild.5",
    "Config.1",
    "DynamoDB.1",
    "DynamoDB.5",
    "DynamoDB.6",
    "ElastiCache.1",
    "ElastiCache.2",
    "ElastiCache.3",
    "ECS.5",
    "EC2.1",
    "EC2.2",
    "EC2.4",
    "EC2.6",
    "EC2.7",
    "EC2.8",
    "EC2.10",
    "EC2.13",
    "EC2.14",
    "EC2.15",
    "EC2.18",
    "EC2.19",
    "EC2.23",
    "ELB.1",
    "ECR.1",
    "IAM.3",
    "IAM.7",
    "IAM.8",
    "IAM.11",
    "IAM.12",
    "IAM.13",
    "IAM.14",
    "IAM.15",
    "IAM.16",
    "IAM.17",
    "IAM.18",
    "IAM.22",
    "KMS.4",
    "Lambda.1",
    "RDS.1",
    "RDS.2",
    "RDS.4",
    "RDS.5",
    "RDS.6",
    "RDS.7",
    "RDS.8",
    "RDS.13",
    "RDS.16",
    "Redshift.1",
    "Redshift.3",
    "Redshift.4",
    "Redshift.6",
    "S3.1",
    "S3.2",
    "S3.3",
    "S3.4",
    "S3.5",
    "S3.6",
    "S3.8",
    "S3.9",
    "S3.11",
    "S3.13",
    "SecretsManager.1",
    "SecretsManager.3",
    "SecretsManager.4",
    "SNS.1",
    "SNS.2",
    "SQS.1",
    "SSM.1",
    "SSM.4",
    "SSM.7",
    "GuardDuty.1",
    "GuardDuty.2",
    "GuardDuty.4",
    "Macie.1",
];

/// The README's catalogue table is the catalogue: one row per entry, its remediation, its default,
/// and the test that proves it (which exists); and its coverage figures against ASR's list.
#[test]
fn the_readme_catalogue_is_the_catalogue() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let tests =
        std::fs::read_to_string(root.join("handlers/lambda/tests/controls_moto.rs")).unwrap();
    let rows: Vec<Vec<&str>> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| control | remediation |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.split(" | ")
                .map(|c| c.trim_matches(['|', ' ', '`']))
                .collect()
        })
        .collect();
    assert_eq!(
        rows.len(),
        CATALOGUE.len(),
        "one row per catalogued control"
    );
    for e in CATALOGUE {
        let row = rows
            .iter()
            .find(|r| r[0] == e.control)
            .unwrap_or_else(|| panic!("no row for {}", e.control));
        assert_eq!(row[1], e.action.as_str(), "{}", e.control);
        assert!(
            row[4].starts_with(if e.on { "on" } else { "off" }),
            "{}: {}",
            e.control,
            row[4]
        );
        let test = row[6]
            .strip_prefix("controls_moto::")
            .unwrap_or_else(|| panic!("{}", row[6]));
        assert!(
            tests.contains(&format!("fn {test}()")),
            "{}: no test {test}",
            e.control
        );
        assert!(
            ASR.iter().any(|a| a.eq_ignore_ascii_case(e.control)),
            "{} is not ASR's",
            e.control
        );
    }
    assert_eq!(ASR.len(), 106);
    let claim = format!(
        "remediates\n106 security controls; this catalogue answers {} of them",
        CATALOGUE.len()
    );
    assert!(
        readme.contains(&claim),
        "the README's coverage line: {claim:?}"
    );
}

fn envelope(f: &Value) -> Value {
    json!({"detail-type": "Security Hub Findings - Imported", "detail": {"findings": [f]}})
}

fn custom_action(f: &Value) -> Value {
    json!({"detail-type": "Security Hub Findings - Custom Action",
           "resources": ["arn:aws:securityhub:us-east-1:111122223333:action/custom/xRemediate"],
           "detail": {"actionName": "Trigger remediation", "findings": [f]}})
}

fn closed(v: &Value, how: &str) -> Value {
    let ocsf = v.get("class_uid").is_some();
    let mut v = v.clone();
    match (how, ocsf) {
        ("PASSED", false) => v["Compliance"]["Status"] = json!("PASSED"),
        ("PASSED", true) => v["compliance"]["status_id"] = json!(1),
        ("SUPPRESSED", false) | ("RESOLVED", false) => v["Workflow"]["Status"] = json!(how),
        ("SUPPRESSED", true) => v["status_id"] = json!(3),
        ("RESOLVED", true) => v["status_id"] = json!(4),
        ("ARCHIVED", false) => v["RecordState"] = json!("ARCHIVED"),
        ("ARCHIVED", true) => v["status_id"] = json!(5),
        _ => unreachable!(),
    }
    if v.get("class_uid").is_some() && v["compliance"].get("status").is_some() && how == "PASSED" {
        v["compliance"]["status"] = json!("Pass");
    }
    v
}

#[test]
fn failed_control_findings_get_their_catalogued_remediation() {
    let policy = Policy::default();
    for (case, what, v) in all_shapes() {
        let (t, _) = triage(&policy, &parse_input(&envelope(&v)).unwrap());
        let t = &t[0];
        assert_eq!(t.control.as_deref(), Some(case.control), "{what}");
        assert!(
            t.is_actionable(),
            "{} {what}: {:?}",
            case.control,
            t.skipped
        );
        match controls::entry(case.control) {
            Some(e) => {
                assert_eq!(t.action, e.action, "{} {what}", case.control);
                assert_eq!(t.rule.as_deref(), Some("remediate-catalogued-controls"));
                assert_eq!(
                    t.mode,
                    (!e.on).then_some(Mode::NotifyOnly),
                    "{} {what}",
                    case.control
                );
            }
            None => assert_ne!(t.rule.as_deref(), Some("remediate-catalogued-controls")),
        }
    }
}

#[test]
fn passed_suppressed_resolved_and_archived_control_findings_are_never_acted_on() {
    let policy = Policy::default();
    let mut checked = 0;
    for (case, what, v) in all_shapes() {
        for how in ["PASSED", "SUPPRESSED", "RESOLVED", "ARCHIVED"] {
            let v = closed(&v, how);
            for input in [envelope(&v), custom_action(&v)] {
                let (t, _) = triage(&policy, &parse_input(&input).unwrap());
                assert!(
                    !t[0].is_actionable(),
                    "{} {what} {how}: {:?}",
                    case.control,
                    t[0]
                );
                assert_eq!(t[0].control.as_deref(), Some(case.control), "{what} {how}");
                checked += 1;
            }
        }
    }
    assert!(checked > 1600, "{checked}");
}

#[test]
fn the_controls_criterion_matches_every_shape_and_no_other_control() {
    let mut rule = Rule::new("s3", Action::NotifyOnly);
    rule.controls = vec![" s3.8".into(), "EC2.2".into()];
    for (case, what, v) in all_shapes() {
        let hit = rule.matches(&read(&v), false);
        assert_eq!(
            hit,
            ["S3.8", "EC2.2"].contains(&case.control),
            "{} {what}",
            case.control
        );
    }
    let mut other = rule.clone();
    other.controls = vec!["S3.80".into()];
    assert!(!all_shapes()
        .iter()
        .any(|(_, _, v)| other.matches(&read(v), false)));
}

#[test]
fn a_rule_turns_a_control_on_or_off_by_itself() {
    let mut on = Rule::new("enforce-imdsv2", Action::RemediateControl);
    on.controls = vec!["EC2.8".into()];
    on.mode = Some(Mode::Enforce);
    // KMS.4 is on by default: this rule turns it off by itself.
    let mut off = Rule::new("kms-4-notify", Action::RemediateControl);
    off.controls = vec!["KMS.4".into()];
    off.mode = Some(Mode::NotifyOnly);
    let mut policy = Policy::default();
    policy.rules.insert(0, off);
    policy.rules.insert(0, on);
    assert!(policy.validate().is_empty(), "{:?}", policy.validate());
    for (case, what, v) in all_shapes() {
        let d = policy.decide(&read(&v));
        match case.control {
            "EC2.8" => assert_eq!(
                (d.action, d.mode),
                (Action::RequireImdsv2, Some(Mode::Enforce)),
                "{what}"
            ),
            "KMS.4" => assert_eq!(
                (d.action, d.mode, d.rule.as_deref()),
                (
                    Action::EnableKeyRotation,
                    Some(Mode::NotifyOnly),
                    Some("kms-4-notify")
                ),
                "{what}"
            ),
            "EC2.2" => assert_eq!(
                (d.action, d.mode),
                (Action::CloseDefaultSecurityGroup, Some(Mode::NotifyOnly)),
                "{what}"
            ),
            // Off by default: notify-only whatever the stack's mode.
            "S3.5" => assert_eq!(
                (d.action, d.mode),
                (Action::RequireBucketTls, Some(Mode::NotifyOnly)),
                "{what}"
            ),
            _ => {}
        }
    }
}

#[test]
fn every_catalogued_control_is_decided_in_its_default_mode() {
    let policy = Policy::default();
    for e in CATALOGUE {
        let case = Case {
            control: e.control,
            pci: None,
            cis12: None,
            cis14: None,
            cis3: None,
            kind: e.action.resource_type().unwrap(),
            resource: "r-1",
        };
        let f = read(&with(
            base(&case),
            &[("Compliance.SecurityControlId", json!(e.control))],
        ));
        let d = policy.decide(&f);
        assert_eq!(d.action, e.action, "{}", e.control);
        assert_eq!(d.mode, (!e.on).then_some(Mode::NotifyOnly), "{}", e.control);
        // An analyst's "Trigger remediation" keeps an entry that is off notify-only too.
        assert_eq!(policy.decide_forced(&f).mode, d.mode, "{}", e.control);
        // A finding without the resource the remediation acts on is only notified.
        let elsewhere = read(&with(
            base(&Case {
                kind: "AwsEc2Volume",
                ..case
            }),
            &[("Compliance.SecurityControlId", json!(e.control))],
        ));
        assert_ne!(policy.decide(&elsewhere).action, e.action, "{}", e.control);
    }
}

fn problems(rule: Rule) -> String {
    Policy { rules: vec![rule] }.validate().join("\n")
}

#[test]
fn an_unknown_looking_control_id_is_refused_with_the_fix() {
    let rule = |controls: &[&str], action| {
        let mut r = Rule::new("r", action);
        r.controls = controls.iter().map(|s| s.to_string()).collect();
        r
    };
    for (id, fix) in [
        ("S3-8", "like \"S3.8\""),
        ("S38", "like \"S3.8\""),
        ("PCI.S3.1", "\"S3.3\""),
        ("CT.S3.1", "\"S3.1\""),
        ("4.3", "CIS v1.2.0 4.3 is \"EC2.2\""),
        ("2.1.5.2", "CIS v1.4.0 2.1.5.2 is \"S3.8\""),
        ("ELBv2.1", "\"ELB.1\""),
        ("Ec3.2", "did you mean \"EC2.2\"?"),
        ("Foo.1", "names no Security Hub service"),
        (
            "aws-foundational-security-best-practices/v/1.0.0/S3.8",
            "\"S3.8\"",
        ),
        ("", "is not a Security Hub control id"),
    ] {
        let text = problems(rule(&[id], Action::NotifyOnly));
        assert!(
            text.contains("controls:") && text.contains(fix),
            "{id:?}: {text}"
        );
    }
    for ok in ["S3.8", " s3.8 ", "cloudtrail.2", "Autoscaling.5", "EC2.2"] {
        assert_eq!(problems(rule(&[ok], Action::NotifyOnly)), "", "{ok:?}");
    }
    let text = problems(rule(&["CloudTrail.2"], Action::RemediateControl));
    assert!(
        text.contains("CloudTrail.2 has no remediation in the catalogue"),
        "{text}"
    );
    let text = problems(rule(&["S3.8"], Action::CloseDefaultSecurityGroup));
    assert!(
        text.contains("use action = \"block-bucket-public-access\""),
        "{text}"
    );
    // A concrete action for catalogued controls of its resource needs no resource_types.
    assert_eq!(
        problems(rule(&["S3.2", "S3.8"], Action::BlockBucketPublicAccess)),
        ""
    );
    let mut r = rule(&["S3.8"], Action::NotifyOnly);
    r.mode = Some(Mode::Enforce);
    assert!(problems(r).contains("mode applies to remediations only"));
}
