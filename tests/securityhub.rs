//! Security Hub on its emulator (emulators/securityhub, started by the harness beside moto): the
//! feeds the stack subscribes to, what plan says of each Security Hub, and the Security Hub
//! resources' lifecycle (create, no-op, drift restored, destroy).

mod common;

use common::{config, enable_securityhub, is_mutating, rt, securityhub_config, Emulators, Project};
use serde_json::{json, Value};

fn rule_pattern(emu: &Emulators, name: &str) -> Value {
    let c = emu.clients();
    let r = rt()
        .block_on(c.events.describe_rule().name(name).send())
        .unwrap_or_else(|e| panic!("rule {name}: {e:?}"));
    serde_json::from_str(r.event_pattern().unwrap()).unwrap()
}

/// A default deploy subscribes triage to both feeds: the ASFF rule and the OCSF ("Findings
/// Imported V2") rule, each with its target and a permission the triage function's policy holds.
#[test]
fn default_deploy_subscribes_triage_to_both_feeds() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("feeds", ""));
    let plan = p.run(&["plan", "--output", "json"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    let sh = &plan.json()["securityhub"];
    assert_eq!(sh["cspm"], json!({"state": "enabled"}), "{sh}");
    assert_eq!(sh["securityhub"], json!({"state": "enabled"}), "{sh}");
    assert_eq!(sh["feeds"], json!(["cspm", "ocsf"]), "{sh}");
    assert_eq!(sh["warnings"], json!([]), "{sh}");

    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    let ocsf = rule_pattern(&emu, "feeds-findings-ocsf");
    assert_eq!(ocsf["detail-type"], json!(["Findings Imported V2"]));
    assert_eq!(ocsf["detail"]["findings"]["status_id"], json!([1]));
    assert_eq!(
        ocsf["detail"]["findings"]["$or"][0]["severity_id"],
        json!([3, 4, 5, 6])
    );
    let asff = rule_pattern(&emu, "feeds-findings");
    assert_eq!(
        asff["detail-type"],
        json!(["Security Hub Findings - Imported"])
    );
    let c = emu.clients();
    rt().block_on(async {
        for rule in ["feeds-findings", "feeds-findings-ocsf"] {
            let t = c
                .events
                .list_targets_by_rule()
                .rule(rule)
                .send()
                .await
                .unwrap();
            let t = &t.targets()[0];
            assert!(t.arn().ends_with(":function:feeds-triage"), "{t:?}");
            assert!(t.dead_letter_config().is_some(), "{t:?}");
        }
        let policy = c
            .lambda
            .get_policy()
            .function_name("feeds-triage")
            .send()
            .await
            .unwrap();
        let policy = policy.policy().unwrap();
        for rule in ["rule/feeds-findings\"", "rule/feeds-findings-ocsf\""] {
            assert!(policy.contains(rule), "{rule} not allowed by {policy}");
        }
    });
}

/// One feed alone: only its rule exists.
#[test]
fn one_feed_alone_subscribes_only_it() {
    let emu = Emulators::start();
    let p = Project::new(
        &emu,
        "[stack]\nname = \"one\"\n[securityhub]\nfeeds = [\"ocsf\"]\nautomation_rules = false\ncustom_actions = false\n[lambda]\nrole_propagation_timeout_seconds = 0\n",
    );
    let d = p.run(&["deploy", "--no-progress", "--output", "json"]);
    assert_eq!(d.code, 0, "{d:?}");
    let addresses: Vec<String> = d.json()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap().to_string())
        .collect();
    assert!(addresses.contains(&"event_rule.findings_ocsf".to_string()));
    assert!(!addresses.contains(&"event_rule.findings".to_string()));
}

/// plan says which Security Hub is on; a subscribed feed whose Security Hub is off is a warning
/// naming both fixes, and not an error.
#[test]
fn plan_warns_of_a_feed_whose_security_hub_is_off() {
    let emu = Emulators::start();
    enable_securityhub(&emu.securityhub.url, true, false);
    let p = Project::new(&emu, &config("half", ""));
    let plan = p.run(&["plan"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    for needle in [
        "Security Hub CSPM: enabled; Security Hub: not enabled; feeds: cspm, ocsf",
        "the \"ocsf\" feed is subscribed but Security Hub is not enabled in account 123456789012 region us-east-1",
        "aws securityhub enable-security-hub-v2 --region us-east-1",
        "[securityhub] feeds = [\"cspm\"]",
    ] {
        assert!(plan.stdout.contains(needle), "{needle:?} missing: {}", plan.stdout);
    }
    enable_securityhub(&emu.securityhub.url, false, true);
    let v = p.run(&["plan", "--output", "json"]).json();
    assert_eq!(v["securityhub"]["cspm"], json!({"state": "not_enabled"}));
    let w = v["securityhub"]["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0]
        .as_str()
        .unwrap()
        .contains("aws securityhub enable-security-hub --region us-east-1"));
}

/// The Security Hub CSPM automation rules and custom actions on the emulator: created, then a plan
/// with nothing to do, an out-of-band change shown and restored, and destroy removes them.
#[test]
fn securityhub_resources_lifecycle_on_the_emulator() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &securityhub_config("shl", ""));
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    let again = p.run(&["plan"]);
    assert_eq!(again.code, 0, "{again:?}");
    let c = emu.clients();
    let high = rt().block_on(async {
        let rules = c.securityhub.list_automation_rules().send().await.unwrap();
        let names: Vec<&str> = rules
            .automation_rules_metadata()
            .iter()
            .filter_map(|r| r.rule_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        let targets = c
            .securityhub
            .describe_action_targets()
            .send()
            .await
            .unwrap();
        assert_eq!(targets.action_targets().len(), 2);
        let high = rules
            .automation_rules_metadata()
            .iter()
            .find(|r| r.rule_name() == Some("shl-high-severity"))
            .and_then(|r| r.rule_arn())
            .unwrap()
            .to_string();
        let item = aws_sdk_securityhub::types::UpdateAutomationRulesRequestItem::builder()
            .rule_arn(&high)
            .description("changed by hand")
            .build();
        c.securityhub
            .batch_update_automation_rules()
            .update_automation_rules_request_items(item)
            .send()
            .await
            .unwrap();
        high
    });
    let drift = p.run(&["plan"]);
    assert_eq!(drift.code, 2, "{drift:?}");
    assert!(
        drift.stdout.contains("~ securityhub_automation_rule.high")
            && drift.stdout.contains("changed by hand"),
        "{}",
        drift.stdout
    );
    let fix = p.run(&["deploy", "--no-progress"]);
    assert_eq!(fix.code, 0, "{fix:?}");
    assert_eq!(p.run(&["plan"]).code, 0);
    let x = p.run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(x.code, 0, "{x:?}");
    rt().block_on(async {
        let rules = c.securityhub.list_automation_rules().send().await.unwrap();
        assert!(
            rules
                .automation_rules_metadata()
                .iter()
                .all(|r| r.rule_arn() != Some(&high)),
            "{rules:?}"
        );
        let targets = c
            .securityhub
            .describe_action_targets()
            .send()
            .await
            .unwrap();
        assert!(targets.action_targets().is_empty(), "{targets:?}");
    });
}

/// Security Hub CSPM off (the emulator answers InvalidAccessException): plan and deploy stop with
/// the fix, and deploy writes nothing.
#[test]
fn securityhub_cspm_off_stops_plan_and_deploy_with_the_fix() {
    let emu = Emulators::start();
    enable_securityhub(&emu.securityhub.url, false, true);
    let p = Project::new(&emu, &securityhub_config("sec", ""));
    emu.record();
    for args in [&["plan"][..], &["deploy", "--no-progress"]] {
        let r = p.run(args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        for needle in [
            "Security Hub is not enabled in account 123456789012 region us-east-1",
            "aws securityhub enable-security-hub --region us-east-1",
            "automation_rules = false and custom_actions = false",
            "feeds = [\"ocsf\"]",
            "securityhub_automation_rule.high",
            "securityhub_action_target.trigger_remediation",
        ] {
            assert!(
                r.stderr.contains(needle),
                "{args:?}: {needle:?} missing from: {}",
                r.stderr
            );
        }
    }
    let mutating: Vec<String> = emu
        .actions()
        .into_iter()
        .filter(|a| is_mutating(a))
        .collect();
    assert!(mutating.is_empty(), "deploy wrote: {mutating:?}");
    assert!(!p.path(".secauto/sec/us-east-1.json").exists());
    // The fix the message names for an account on today's Security Hub alone: one key, and the V2
    // automation rules are still deployed (no CSPM rule, no custom action).
    let ocsf = Project::new(
        &emu,
        &securityhub_config("sec", "[securityhub]\nfeeds = [\"ocsf\"]\n"),
    );
    let d = ocsf.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    let names: Vec<String> = v2_rules(&emu).into_iter().map(|(n, _)| n).collect();
    assert!(
        names.contains(&"sec-high-severity-ocsf".to_string()),
        "{names:?}"
    );
    assert!(
        !d.stdout.contains("securityhub_action_target"),
        "{}",
        d.stdout
    );
    assert_eq!(ocsf.run(&["destroy", "--yes", "--no-progress"]).code, 0);
}

fn v2_rules(emu: &Emulators) -> Vec<(String, String)> {
    let c = emu.clients();
    let out = rt()
        .block_on(c.securityhub.list_automation_rules_v2().send())
        .unwrap();
    out.rules()
        .iter()
        .map(|r| {
            (
                r.rule_name().unwrap_or_default().to_string(),
                r.rule_arn().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The V2 (OCSF) automation rules: created where Security Hub is on, a plan with nothing to do,
/// an out-of-band change shown and restored, destroy removes them.
#[test]
fn v2_automation_rules_lifecycle_on_the_emulator() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &securityhub_config("v2r", ""));
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    let rules = v2_rules(&emu);
    let names: Vec<&str> = rules.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"v2r-high-severity-ocsf") && names.contains(&"v2r-critical-severity-ocsf"),
        "{names:?}"
    );
    assert_eq!(p.run(&["plan"]).code, 0);
    comments_follow_the_severity_text_for_unknown_and_other(&emu);
    let high = rules
        .iter()
        .find(|(n, _)| n == "v2r-high-severity-ocsf")
        .unwrap()
        .1
        .clone();
    let c = emu.clients();
    rt().block_on(
        c.securityhub
            .update_automation_rule_v2()
            .identifier(&high)
            .description("changed by hand")
            .send(),
    )
    .unwrap();
    let drift = p.run(&["plan"]);
    assert_eq!(drift.code, 2, "{drift:?}");
    assert!(
        drift
            .stdout
            .contains("~ securityhub_automation_rule_v2.high")
            && drift.stdout.contains("changed by hand"),
        "{}",
        drift.stdout
    );
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    assert_eq!(p.run(&["plan"]).code, 0);
    // A string filter added by hand narrows the rule: drift, put right by deploy.
    rt().block_on(
        c.securityhub
            .update_automation_rule_v2()
            .identifier(&high)
            .criteria(narrowed_criteria())
            .send(),
    )
    .unwrap();
    let narrowed = p.run(&["plan"]);
    assert_eq!(narrowed.code, 2, "{narrowed:?}");
    assert!(
        narrowed
            .stdout
            .contains("~ securityhub_automation_rule_v2.high")
            && narrowed.stdout.contains("finding_info.title"),
        "{}",
        narrowed.stdout
    );
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    assert_eq!(p.run(&["plan"]).code, 0);
    let x = p.run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(x.code, 0, "{x:?}");
    assert!(v2_rules(&emu).is_empty(), "{:?}", v2_rules(&emu));
}

/// New High findings whose title is "benign": secauto's criteria with one string filter more.
fn narrowed_criteria() -> aws_sdk_securityhub::types::Criteria {
    use aws_sdk_securityhub::types::{
        AllowedOperators, CompositeFilter, Criteria, NumberFilter, OcsfFindingFilters,
        OcsfNumberField, OcsfNumberFilter, OcsfStringField, OcsfStringFilter, StringFilter,
        StringFilterComparison,
    };
    let number = |field, v: f64| {
        OcsfNumberFilter::builder()
            .field_name(field)
            .filter(NumberFilter::builder().eq(v).build())
            .build()
    };
    Criteria::OcsfFindingCriteria(
        OcsfFindingFilters::builder()
            .composite_filters(
                CompositeFilter::builder()
                    .operator(AllowedOperators::Or)
                    .number_filters(number(OcsfNumberField::SeverityId, 4.0))
                    .build(),
            )
            .composite_filters(
                CompositeFilter::builder()
                    .operator(AllowedOperators::And)
                    .number_filters(number(OcsfNumberField::StatusId, 1.0))
                    .string_filters(
                        OcsfStringFilter::builder()
                            .field_name(OcsfStringField::FindingInfoTitle)
                            .filter(
                                StringFilter::builder()
                                    .comparison(StringFilterComparison::Equals)
                                    .value("benign")
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .composite_operator(AllowedOperators::And)
            .build(),
    )
}

/// A V2 rule with the stack's name but another stack's tag is a conflict, never touched.
#[test]
fn v2_foreign_rule_is_a_conflict() {
    let emu = Emulators::start();
    let c = emu.clients();
    let spec = {
        let stack = secauto::stack::build(
            &secauto::config::Config::default(),
            "123456789012",
            "us-east-1",
            secauto::stack::Code::NotNeeded,
        )
        .unwrap();
        match &stack
            .get("securityhub_automation_rule_v2.high")
            .unwrap()
            .spec
        {
            secauto::resources::Spec::SecurityhubAutomationRuleV2(s) => s.clone(),
            other => panic!("{other:?}"),
        }
    };
    rt().block_on(
        c.securityhub
            .create_automation_rule_v2()
            .rule_name("fgn-high-severity-ocsf")
            .description("someone else's")
            .rule_order(1.0)
            .criteria(spec.criteria())
            .actions(spec.actions())
            .tags("secauto:stack", "other")
            .tags("secauto:region", "us-east-1")
            .send(),
    )
    .unwrap();
    let p = Project::new(&emu, &securityhub_config("fgn", ""));
    let plan = p.run(&["plan"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(
        plan.stdout
            .contains("! securityhub_automation_rule_v2.high"),
        "{}",
        plan.stdout
    );
    let d = p.run(&["deploy", "--no-progress"]);
    assert_ne!(d.code, 0, "{d:?}");
    let rules = v2_rules(&emu);
    assert_eq!(rules.len(), 1, "deploy touched Security Hub: {rules:?}");
}

/// Security Hub (V2) off: the V2 rules are not planned, plan warns with the fix, deploy succeeds.
#[test]
fn v2_off_plans_without_the_v2_rules_and_warns() {
    let emu = Emulators::start();
    enable_securityhub(&emu.securityhub.url, true, false);
    let p = Project::new(&emu, &securityhub_config("v2off", ""));
    let plan = p.run(&["plan"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    for needle in [
        "Security Hub is not enabled, so ",
        "securityhub_automation_rule_v2.high",
        "securityhub_automation_rule_v2.critical",
        "enable-security-hub-v2",
    ] {
        assert!(plan.stdout.contains(needle), "{needle:?}: {}", plan.stdout);
    }
    assert!(
        !plan.stdout.contains("+ securityhub_automation_rule_v2"),
        "{}",
        plan.stdout
    );
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    assert_eq!(p.run(&["plan"]).code, 0);
}

/// Answers DeleteAutomationRuleV2 with AWS's AccessDeniedException (restJson: HTTP 403 and the
/// error type header), as a deploy role without `securityhub:DeleteAutomationRuleV2` or an SCP gets.
struct DenyDeleteV2;

impl secauto_testkit::proxy::Shim for DenyDeleteV2 {
    fn answer_instead(
        &self,
        request: &secauto_testkit::proxy::Message,
    ) -> Option<secauto_testkit::proxy::Message> {
        request
            .start
            .starts_with("DELETE /automationrulesv2/")
            .then(|| secauto_testkit::proxy::Message {
                start: "HTTP/1.1 403 Forbidden".into(),
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("x-amzn-errortype".into(), "AccessDeniedException".into()),
                ],
                body: br#"{"Message":"User is not authorized to perform: securityhub:DeleteAutomationRuleV2"}"#
                    .to_vec(),
            })
    }
    fn respond(
        &self,
        _: &secauto_testkit::proxy::Message,
        _: &mut secauto_testkit::proxy::Message,
    ) {
    }
}

/// A V2 rule whose delete is refused while Security Hub is on stays, in Security Hub and in the
/// state, and destroy fails naming the refusal: it is not taken for "Security Hub is off".
#[test]
fn v2_rule_whose_delete_is_refused_stays_and_destroy_fails() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &securityhub_config("v2d", ""));
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    let proxy = secauto_testkit::proxy::Proxy::start(
        &emu.securityhub.url,
        Some(std::sync::Arc::new(DenyDeleteV2)),
    );
    let x = p.run_with(
        &["destroy", "--yes", "--no-progress"],
        &[("AWS_ENDPOINT_URL_SECURITYHUB", &proxy.url)],
    );
    assert_eq!(x.code, 1, "{x:?}");
    let said = format!("{}{}", x.stdout, x.stderr);
    assert!(said.contains("AccessDeniedException"), "{x:?}");
    assert_eq!(v2_rules(&emu).len(), 2, "{:?}", v2_rules(&emu));
    // With the permission back, destroy finishes: the rules were kept in the state.
    assert_eq!(p.run(&["destroy", "--yes", "--no-progress"]).code, 0);
    assert!(v2_rules(&emu).is_empty());
}

/// OCSF findings imported into the emulator after the V2 rules exist: `severity_id` 99 (Other) or 0
/// (Unknown) with the text "High" get the HIGH rule's comment, as triage reads them as HIGH; with
/// the text "Low" (or 4 High with status 2) none.
fn comments_follow_the_severity_text_for_unknown_and_other(emu: &Emulators) {
    let finding = |uid: &str, severity_id: i64, severity: &str, status_id: i64| {
        json!({"class_uid": 2003, "severity_id": severity_id, "severity": severity,
               "status_id": status_id, "metadata": {"uid": uid, "product": {"uid":
               "arn:aws:securityhub:us-east-1::productv2/aws/securityhub", "name": "Security Hub CSPM"}},
               "cloud": {"account": {"uid": "123456789012"}, "region": "us-east-1"},
               "finding_info": {"uid": format!("f-{uid}"), "title": "t"}})
    };
    let findings = json!({"Findings": [
        finding("other-high", 99, "High", 1),
        finding("unknown-high", 0, "High", 1),
        finding("other-low", 99, "Low", 1),
        finding("high-in-progress", 4, "High", 2),
    ]});
    let out: Value = reqwest::blocking::Client::new()
        .post(format!("{}/_emulator/ocsf/import", emu.securityhub.url))
        .header("content-type", "application/json")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/securityhub/aws4_request, SignedHeaders=host, Signature=0")
        .body(findings.to_string())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(out["FailedCount"], 0, "{out}");
    let c = emu.clients();
    let got = rt()
        .block_on(c.securityhub.get_findings_v2().send())
        .unwrap();
    let comment = |uid: &str| {
        got.findings()
            .iter()
            .map(secauto_handlers_json)
            .find(|f| f["metadata"]["uid"] == uid)
            .unwrap_or_else(|| panic!("{uid} not found"))["comment"]
            .as_str()
            .map(str::to_string)
    };
    for uid in ["other-high", "unknown-high"] {
        assert_eq!(
            comment(uid).as_deref(),
            Some("HIGH severity finding: secauto triage is responding"),
            "{uid}"
        );
    }
    for uid in ["other-low", "high-in-progress"] {
        assert_eq!(comment(uid), None, "{uid}");
    }
}

/// A smithy document as JSON.
fn secauto_handlers_json(d: &aws_smithy_types::Document) -> Value {
    use aws_smithy_types::{Document, Number};
    match d {
        Document::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), secauto_handlers_json(v)))
                .collect(),
        ),
        Document::Array(a) => Value::Array(a.iter().map(secauto_handlers_json).collect()),
        Document::Number(Number::PosInt(n)) => json!(n),
        Document::Number(Number::NegInt(n)) => json!(n),
        Document::Number(Number::Float(f)) => json!(f),
        Document::String(s) => json!(s),
        Document::Bool(b) => json!(b),
        Document::Null => Value::Null,
    }
}
