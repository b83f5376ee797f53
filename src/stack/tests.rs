use serde_json::{json, Value};

use super::*;
use crate::resources::{self as r};

fn config() -> Config {
    Config::default()
}

#[test]
fn default_stack_has_every_kind_and_acyclic() {
    let mut c = config();
    c.notifications.emails = vec!["soc@example.com".into()];
    let s = build(&c, "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    let kinds: std::collections::BTreeSet<_> = s.resources.iter().map(|r| r.spec.kind()).collect();
    assert_eq!(kinds.len(), 19, "{kinds:?}");
    assert!(s.get("event_rule.findings").is_some());
    assert_eq!(
        s.resources
            .iter()
            .filter(|r| r.spec.kind() == r::Kind::CloudwatchAlarm)
            .count(),
        4 + 4 + 1
    );
}

fn rule_pattern(s: &Stack, address: &str) -> Value {
    match &s.get(address).unwrap().spec {
        Spec::EventRule(rule) => rule.event_pattern.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn both_feeds_by_default_each_rule_with_its_target_dlq_and_permission() {
    let s = build(&config(), "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    let p = rule_pattern(&s, "event_rule.findings_ocsf");
    assert_eq!(p["source"], json!(["aws.securityhub"]));
    assert_eq!(p["detail-type"], json!(["Findings Imported V2"]));
    assert_eq!(p["detail"]["findings"]["status_id"], json!([1]));
    // MEDIUM, HIGH, CRITICAL (and Fatal, which ASFF has no label for).
    assert_eq!(
        p["detail"]["findings"]["$or"][0]["severity_id"],
        json!([3, 4, 5, 6])
    );
    assert_eq!(
        rule_pattern(&s, "event_rule.findings")["detail-type"],
        json!(["Security Hub Findings - Imported"])
    );
    for key in ["findings", "findings_ocsf"] {
        let Spec::EventTarget(t) = &s.get(&format!("event_target.{key}_triage")).unwrap().spec
        else {
            panic!()
        };
        assert_eq!(t.target_arn, s_names(&s).function_arn("triage"));
        assert_eq!(t.dead_letter_arn, s_names(&s).queue_arn());
        let Spec::LambdaPermission(perm) = &s
            .get(&format!("lambda_permission.triage_{key}"))
            .unwrap()
            .spec
        else {
            panic!()
        };
        assert_eq!(perm.source_arn, s_names(&s).rule_arn(key));
        assert!(s
            .get(&format!("cloudwatch_alarm.{key}_failed_invocations"))
            .is_some());
    }
    let Spec::CloudwatchDashboard(d) = &s.get("cloudwatch_dashboard.main").unwrap().spec else {
        panic!()
    };
    assert!(d.body.to_string().contains("secauto-findings-ocsf"));
}

fn s_names(s: &Stack) -> Names {
    Names::new(&s.name, &s.region, &s.account)
}

#[test]
fn one_feed_alone_makes_only_its_rule() {
    let mut c = config();
    c.securityhub.feeds = vec![crate::config::Feed::Ocsf];
    let s = build(&c, "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    assert!(s.get("event_rule.findings").is_none());
    assert!(s.get("event_target.findings_triage").is_none());
    assert!(s.get("event_rule.findings_ocsf").is_some());
    c.securityhub.feeds = vec![crate::config::Feed::Cspm];
    let s = build(&c, "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    assert!(s.get("event_rule.findings").is_some());
    assert!(s.get("event_rule.findings_ocsf").is_none());
    assert!(s
        .get("cloudwatch_alarm.findings_ocsf_failed_invocations")
        .is_none());
}

#[test]
fn ocsf_severity_ids_of_labels() {
    let ids = |l: &[&str]| {
        super::rules::ocsf_severity_ids(&l.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    };
    assert_eq!(ids(&["INFORMATIONAL", "LOW"]), vec![1, 2]);
    assert_eq!(ids(&["CRITICAL", "HIGH"]), vec![4, 5, 6]);
}

#[test]
fn findings_rule_matches_only_new_active() {
    let s = build(&config(), "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    let Spec::EventRule(rule) = &s.get("event_rule.findings").unwrap().spec else {
        panic!()
    };
    let f = &rule.event_pattern["detail"]["findings"];
    assert_eq!(f["Workflow"]["Status"], json!(["NEW"]));
    assert_eq!(f["RecordState"], json!(["ACTIVE"]));
}

#[test]
fn long_stack_name_is_refused() {
    let mut c = config();
    c.stack.name = "a".repeat(60);
    let err = build(&c, "123456789012", "us-east-1", Code::NotNeeded).unwrap_err();
    assert!(err.to_string().contains("limit is 64"), "{err}");
}

#[test]
fn action_ids_fit() {
    let mut c = config();
    c.stack.name = "my-very-long-stack-name".into();
    let s = build(&c, "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    for r in &s.resources {
        if let Spec::SecurityhubActionTarget(t) = &r.spec {
            assert!(t.id.len() <= 20 && t.id.chars().all(|c| c.is_ascii_alphanumeric()));
            assert!(t.name.len() <= 20);
        }
    }
}

#[test]
fn missing_bundles_say_what_to_run() {
    let mut c = config();
    c.lambda.artifacts_dir = "/nonexistent/secauto".into();
    let err = build(&c, "123456789012", "us-east-1", Code::Required).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("secauto build"), "{msg}");
    assert!(
        msg.contains("/nonexistent/secauto/triage/bootstrap.zip"),
        "{msg}"
    );
}

#[test]
fn account_global_names_carry_the_region() {
    let east = build(&config(), "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    let west = build(&config(), "123456789012", "us-west-2", Code::NotNeeded).unwrap();
    let global = |s: &Stack| -> Vec<String> {
        s.resources
            .iter()
            .filter_map(|r| match &r.spec {
                Spec::IamRole(x) => Some(x.name.clone()),
                Spec::IamPolicy(x) => Some(x.arn.clone()),
                Spec::CloudwatchDashboard(x) => Some(x.name.clone()),
                Spec::SecurityhubActionTarget(x) => Some(x.id.clone()),
                _ => None,
            })
            .collect()
    };
    let (e, w) = (global(&east), global(&west));
    assert_eq!(e.len(), 13, "{e:?}");
    for name in &e {
        assert!(!w.contains(name), "{name} is shared by both regions");
    }
    assert_eq!(
        east.tags.get(REGION_TAG).map(String::as_str),
        Some("us-east-1")
    );
}

#[test]
fn trust_policy_names_the_account() {
    let s = build(&config(), "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    let Spec::IamRole(role) = &s.get("iam_role.triage").unwrap().spec else {
        panic!()
    };
    assert_eq!(
        role.assume_role_policy["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"],
        json!("123456789012")
    );
}

#[test]
fn the_stack_key_encrypts_topic_and_functions_and_has_a_dlq() {
    let s = build(&config(), "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    let Spec::KmsKey(key) = &s.get("kms_key.main").unwrap().spec else {
        panic!()
    };
    assert_eq!(key.alias, "alias/secauto");
    let services: Vec<&Value> = key.policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|st| st["Principal"].get("Service"))
        .collect();
    assert!(services.contains(&&json!("cloudwatch.amazonaws.com")));
    assert!(services.contains(&&json!("events.amazonaws.com")));
    let Spec::SnsTopic(topic) = &s.get("sns_topic.notifications").unwrap().spec else {
        panic!()
    };
    assert_eq!(topic.kms_master_key_id, "alias/secauto");
    for (key, _) in FUNCTIONS {
        let Spec::LambdaFunction(f) = &s.get(&format!("lambda_function.{key}")).unwrap().spec
        else {
            panic!()
        };
        assert_eq!(f.kms_key.as_deref(), Some("alias/secauto"));
        assert!(
            f.dead_letter_arn.ends_with(":secauto-dlq"),
            "{}",
            f.dead_letter_arn
        );
    }
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn the_aws_managed_key_is_allowed_with_a_warning() {
    let mut c = config();
    c.notifications.kms_key = Some("alias/aws/sns".into());
    let s = build(&c, "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    assert!(s.get("kms_key.main").is_none());
    assert!(s
        .warnings
        .iter()
        .any(|w| w.contains("alarm notifications will not arrive")));
}

#[test]
fn a_bundle_for_another_cpu_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.resize(18, 0);
    elf.extend_from_slice(&183u16.to_le_bytes());
    let zip = crate::bundle::zip_bootstrap(&elf).unwrap();
    for (_, suffix) in FUNCTIONS {
        let p = bundle_path(dir.path(), suffix);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &zip).unwrap();
    }
    let mut c = config();
    c.lambda.artifacts_dir = dir.path().display().to_string();
    let err = build(&c, "123456789012", "us-east-1", Code::Required).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("arm64 executable") && msg.contains("\"x86_64\""),
        "{msg}"
    );
    c.lambda.architecture = "arm64".into();
    build(&c, "123456789012", "us-east-1", Code::Required).unwrap();
}

#[test]
fn the_isolation_automation_runs_as_its_own_role_that_only_remediation_may_pass() {
    let s = build(&config(), "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    let Spec::IamRole(role) = &s.get("iam_role.automation").unwrap().spec else {
        panic!()
    };
    let trust = &role.assume_role_policy["Statement"][0];
    assert_eq!(trust["Principal"]["Service"], json!("ssm.amazonaws.com"));
    assert_eq!(
        trust["Condition"]["StringEquals"]["aws:SourceAccount"],
        json!("123456789012")
    );
    let Spec::IamPolicy(p) = &s.get("iam_policy.remediation").unwrap().spec else {
        panic!()
    };
    let pass = p.document["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["Action"] == json!(["iam:PassRole"]))
        .expect("a PassRole statement");
    assert_eq!(
        pass["Resource"],
        json!(format!("arn:aws:iam::123456789012:role/{}", role.name))
    );
    assert_eq!(
        pass["Condition"]["StringEquals"]["iam:PassedToService"],
        json!("ssm.amazonaws.com")
    );
    let Spec::LambdaFunction(f) = &s.get("lambda_function.remediation").unwrap().spec else {
        panic!()
    };
    assert_eq!(
        f.environment.get("AUTOMATION_ROLE_ARN"),
        Some(&format!("arn:aws:iam::123456789012:role/{}", role.name))
    );
}

#[test]
fn remediation_may_open_only_the_groups_isolation_made() {
    let s = build(&config(), "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    let Spec::IamPolicy(p) = &s.get("iam_policy.remediation").unwrap().spec else {
        panic!()
    };
    let statements = p.document["Statement"].as_array().unwrap();
    let opening: Vec<&Value> = statements
        .iter()
        .filter(|st| {
            st["Action"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|a| a.as_str().is_some_and(|a| a.starts_with("ec2:Authorize")))
            })
        })
        .collect();
    assert_eq!(opening.len(), 1, "{opening:?}");
    assert_eq!(
        opening[0]["Resource"],
        json!("arn:aws:ec2:us-east-1:123456789012:security-group/*")
    );
    assert_eq!(
        opening[0]["Condition"]["StringEquals"]["aws:ResourceTag/secauto:quarantine"],
        json!("true")
    );
    // And that tag is put only at CreateSecurityGroup: the role cannot tag a group into one it
    // may open.
    let deny = statements
        .iter()
        .find(|st| st["Effect"] == "Deny")
        .expect("a deny on tagging");
    assert_eq!(deny["Action"], json!("ec2:CreateTags"));
    assert_eq!(
        deny["Condition"]["ForAnyValue:StringEqualsIgnoreCase"]["aws:TagKeys"],
        json!(["secauto:quarantine"])
    );
    assert_eq!(
        deny["Condition"]["StringNotEquals"]["ec2:CreateAction"],
        json!("CreateSecurityGroup")
    );
}

/// A fleet whose remediation environment is over Lambda's 4 KB (the file says why).
fn large_fleet() -> Config {
    Config::parse(
        include_str!("../../tests/data/large-fleet.toml"),
        "fleet.toml",
    )
    .unwrap()
}

#[test]
fn a_large_fleet_with_a_long_protection_list_is_refused_before_any_call() {
    let config = large_fleet();
    let err = check_environment(&config, "us-east-1").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StackError::Environment(_)), "{text}");
    assert!(text.contains("secauto-remediation"), "{text}");
    assert!(text.contains("4096"), "{text}");
    assert!(text.contains("PROTECTED_RESOURCES takes"), "{text}");
    assert!(text.contains("protected_tags"), "{text}");
    assert!(text.contains("SECAUTO_FLEET takes"), "{text}");
    assert!(text.contains("split the fleet"), "{text}");
    // Only remediation's environment holds them.
    assert!(!text.contains("secauto-triage"), "{text}");
}

/// The size is measured on the environment the graph gives the function, as Lambda measures it (the
/// variables as one JSON object), and building the administrator's graph refuses it too.
#[test]
fn the_measured_environment_is_the_deployed_one() {
    let config = large_fleet();
    let mut coverage = secauto_core::fleet::Coverage::default();
    for i in 0..30u64 {
        for r in ["eu-central-1", "eu-west-1"] {
            coverage.insert(&format!("{:012}", 200000000000u64 + i), r);
        }
    }
    let fleet = Fleet {
        administrator: "000000000000".into(),
        home_region: "eu-central-1".into(),
        coverage,
        external_id: secauto_core::fleet::default_external_id("secauto", "000000000000"),
    };
    let part = Part::Administrator(fleet);
    let err = build_part(
        &config,
        "000000000000",
        "eu-central-1",
        Code::NotNeeded,
        &part,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        check_environment(&config, "us-east-1")
            .unwrap_err()
            .to_string()
    );
    // With half the protection list it fits: the graph's own environment is what is measured.
    let mut smaller = config.clone();
    smaller.remediation.protected.truncate(20);
    let stack = build_part(
        &smaller,
        "000000000000",
        "eu-central-1",
        Code::NotNeeded,
        &part,
    )
    .unwrap();
    let Spec::LambdaFunction(f) = &stack.get("lambda_function.remediation").unwrap().spec else {
        panic!()
    };
    let measured = serde_json::to_string(&f.environment).unwrap().len();
    assert_eq!(environment::bytes(&f.environment), measured);
    assert!(measured <= environment::MAX_BYTES, "{measured}");
    check_environment(&smaller, "us-east-1").unwrap();
}

#[test]
fn the_default_stack_fits_and_non_ascii_counts_as_escapes() {
    check_environment(&config(), "us-gov-west-1").unwrap();
    let env = BTreeMap::from([("K".to_string(), "é".to_string())]);
    assert_eq!(environment::bytes(&env), r#"{"K":"\u00e9"}"#.len());
}

/// The handler's default wait when AUTOMATION_WAIT_SECONDS is unset (handlers/lambda/src/env.rs
/// tests it) is the config's default.
#[test]
fn automation_wait_default_is_the_handlers() {
    assert_eq!(
        Config::default().remediation.automation_wait_seconds,
        secauto_core::DEFAULT_AUTOMATION_WAIT_SECONDS
    );
}

#[test]
fn names_come_from_the_core_crate() {
    let n = Names::new("sec", "eu-isoe-west-1", "123456789012");
    assert_eq!(n.partition, "aws-iso-e");
    assert_eq!(n.bus(), secauto_core::names::bus("sec"));
    assert_eq!(n.document(), secauto_core::names::document("sec"));
    assert_eq!(n.event_source(), secauto_core::names::event_source("sec"));
    assert_eq!(
        n.role("member"),
        secauto_core::fleet::member_role_name("sec", "eu-isoe-west-1")
    );
}

/// Remediation gets at least 120 s whatever `[lambda] timeout_seconds` says (isolation keeps 65 s
/// to repair a failed move and close the all-traffic group); the others get the setting.
#[test]
fn remediation_has_time_to_repair_a_failed_isolation() {
    let s = build(&config(), "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    let timeout = |key: &str| match &s.get(&format!("lambda_function.{key}")).unwrap().spec {
        Spec::LambdaFunction(f) => f.timeout_seconds,
        other => panic!("{other:?}"),
    };
    assert_eq!(timeout("remediation"), 120);
    assert_eq!(timeout("triage"), 60);
    let mut c = config();
    c.lambda.timeout_seconds = 300;
    let s = build(&c, "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    let Spec::LambdaFunction(f) = &s.get("lambda_function.remediation").unwrap().spec else {
        panic!()
    };
    assert_eq!(f.timeout_seconds, 300);
}

/// The OCSF findings rule delivers exactly the findings triage reads as New and of a configured
/// severity: for `severity_id` 0 (Unknown), 99 (Other) or none triage reads the `severity` text, and
/// for `status_id` 0 (Unknown) or none it reads UNKNOWN (not acted on). Each pattern is put to
/// EventBridge's TestEventPattern (ministack's matcher, the one the project's EventBridge emulator
/// delivers with) over every combination, for three severity configurations.
#[test]
fn the_ocsf_rule_delivers_exactly_what_triage_acts_on() {
    let ministack = secauto_testkit::ministack();
    let conf = aws_sdk_eventbridge::Config::builder()
        .region(aws_sdk_eventbridge::config::Region::new("us-east-1"))
        .endpoint_url(&ministack.url)
        .credentials_provider(aws_sdk_eventbridge::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .behavior_version(aws_sdk_eventbridge::config::BehaviorVersion::latest())
        .build();
    let events = aws_sdk_eventbridge::Client::from_conf(conf);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ids = [None, Some(0), Some(2), Some(4), Some(6), Some(99), Some(7)];
    let texts = [
        None,
        Some("High"),
        Some("low"),
        Some("Unknown"),
        Some("FATAL"),
        Some("info"),
    ];
    let statuses = [None, Some(0), Some(1), Some(3)];
    let mut delivered = 0;
    for labels in [
        vec!["MEDIUM", "HIGH", "CRITICAL"],
        vec!["INFORMATIONAL", "HIGH"],
        vec!["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"],
    ] {
        let mut c = config();
        c.findings.severities = labels.iter().map(|l| l.to_string()).collect();
        let s = build(&c, "123456789012", "us-east-1", Code::NotNeeded).unwrap();
        let pattern = rule_pattern(&s, "event_rule.findings_ocsf").to_string();
        for (id, text, status) in ids
            .iter()
            .flat_map(|i| texts.iter().map(move |t| (i, t)))
            .flat_map(|(i, t)| statuses.iter().map(move |st| (*i, *t, *st)))
        {
            let mut finding = json!({"class_uid": 2003, "metadata": {"uid": "m",
                "product": {"uid": "arn:aws:securityhub:us-east-1::productv2/aws/securityhub"}},
                "cloud": {"account": {"uid": "123456789012"}, "region": "us-east-1"},
                "finding_info": {"uid": "f"}});
            for (k, v) in [
                ("severity_id", id.map(|i| json!(i))),
                ("severity", text.map(|t| json!(t))),
                ("status_id", status.map(|i| json!(i))),
            ] {
                if let Some(v) = v {
                    finding[k] = v;
                }
            }
            let f = secauto_core::ocsf::parse(&finding).unwrap();
            let acts = f.workflow_status() == "NEW" && labels.contains(&f.severity().as_str());
            let event = json!({"version": "0", "id": "e", "detail-type": "Findings Imported V2",
                "source": "aws.securityhub", "account": "123456789012", "time": "2025-12-03T09:15:00Z",
                "region": "us-east-1", "resources": [], "detail": {"findings": [finding]}});
            let matched = rt
                .block_on(
                    events
                        .test_event_pattern()
                        .event_pattern(&pattern)
                        .event(event.to_string())
                        .send(),
                )
                .unwrap_or_else(|e| panic!("{e:?}"))
                .result();
            assert_eq!(
                matched, acts,
                "{labels:?}: severity_id {id:?}, severity {text:?}, status_id {status:?}\n{pattern}"
            );
            delivered += usize::from(matched);
        }
    }
    assert!(delivered >= 40, "{delivered}");
}

/// Remediation's claims (one run at a time per resource) are SSM parameters under the stack's own
/// path: the function may put, read and delete those and no other parameter.
#[test]
fn remediation_may_claim_only_under_its_stacks_path() {
    let s = build(&config(), "123456789012", "us-east-1", Code::NotNeeded).unwrap();
    let Spec::IamPolicy(p) = &s.get("iam_policy.remediation").unwrap().spec else {
        panic!()
    };
    let statements = p.document["Statement"].as_array().unwrap();
    let claims: Vec<&Value> = statements
        .iter()
        .filter(|st| st.to_string().contains("ssm:PutParameter"))
        .collect();
    assert_eq!(claims.len(), 1, "{claims:?}");
    assert_eq!(
        claims[0]["Action"],
        json!([
            "ssm:PutParameter",
            "ssm:GetParameter",
            "ssm:DeleteParameter"
        ])
    );
    let path = secauto_core::names::claims_path(&s.name);
    assert_eq!(
        claims[0]["Resource"],
        json!(format!(
            "arn:aws:ssm:us-east-1:123456789012:parameter{path}*"
        ))
    );
    assert!(path.starts_with('/') && path.ends_with("/remediation-claims/"));
}
