//! The whole stack against real AWS API emulators: moto server (IAM, SNS, SQS, Lambda, EventBridge, SSM,
//! STS) and ministack (CloudWatch), each started on a free loopback port by the test.

mod common;

use common::{config, is_mutating, leftovers, rt, Emulators, Project};
use serde_json::Value;

fn statuses(status: &Value) -> Vec<(String, String)> {
    status["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["status"] != "in_sync")
        .map(|r| {
            (
                r["address"].as_str().unwrap_or_default().to_string(),
                r["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn deploy_creates_everything_and_second_deploy_makes_no_mutating_call() {
    let emu = Emulators::start();
    let p = Project::new(
        &emu,
        &config("idem", "[notifications]\nemails = [\"soc@example.com\"]\n"),
    );

    let plan = p.run(&["plan", "--output", "json"]);
    assert_eq!(plan.code, 2, "plan before deploy has changes: {plan:?}");

    let first = p.run(&["deploy", "--output", "json"]);
    assert_eq!(first.code, 0, "{first:?}");
    let out = first.json();
    assert_eq!(out["stack"], "idem");
    assert_eq!(out["account"], "123456789012");
    assert_eq!(out["errors"], serde_json::json!([]));
    let created = out["changes"]["create"].as_u64().unwrap();
    assert_eq!(created, 53, "{out:#}");
    for r in out["resources"].as_array().unwrap() {
        assert_eq!(r["action"], "create", "{r}");
    }

    // What is really there.
    let c = emu.clients();
    rt().block_on(async {
        let f = c
            .lambda
            .get_function()
            .function_name("idem-triage")
            .send()
            .await
            .unwrap();
        let conf = f.configuration.unwrap();
        assert_eq!(conf.runtime.unwrap().as_str(), "provided.al2023");
        assert_eq!(conf.handler.as_deref(), Some("bootstrap"));
        assert_eq!(
            f.tags.unwrap().get("secauto:stack").map(String::as_str),
            Some("idem")
        );
        let targets = c
            .events
            .list_targets_by_rule()
            .rule("idem-findings")
            .send()
            .await
            .unwrap();
        let t = &targets.targets()[0];
        assert!(t
            .dead_letter_config()
            .and_then(|d| d.arn())
            .unwrap()
            .ends_with(":idem-dlq"));
        assert!(t.retry_policy().is_some());
        let rule = c
            .events
            .describe_rule()
            .name("idem-findings")
            .send()
            .await
            .unwrap();
        let pattern: Value = serde_json::from_str(rule.event_pattern().unwrap()).unwrap();
        assert_eq!(
            pattern["detail"]["findings"]["Workflow"]["Status"],
            serde_json::json!(["NEW"])
        );
        let alarms = c
            .cloudwatch
            .describe_alarms()
            .alarm_name_prefix("idem-")
            .send()
            .await
            .unwrap();
        // 4 functions (Errors) + 3 rules (FailedInvocations: both findings feeds and the responses;
        // custom actions are off here) + the DLQ.
        assert_eq!(alarms.metric_alarms().len(), 8);
        for a in alarms.metric_alarms() {
            // One metric identity per alarm: the rule on the stack's bus is named with its bus.
            let want = if a.alarm_name() == Some("idem-remediation-failed-invocations") {
                2
            } else {
                1
            };
            assert_eq!(a.dimensions().len(), want, "{a:?}");
            assert_eq!(a.treat_missing_data(), Some("notBreaching"));
        }
    });
    let mode = std::fs::metadata(p.path(".secauto/idem/us-east-1.json")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );

    let status = p.run(&["status", "--output", "json"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(statuses(&status.json()).is_empty());

    emu.record();
    let second = p.run(&["deploy", "--output", "json"]);
    assert_eq!(second.code, 0, "{second:?}");
    let out = second.json();
    assert_eq!(out["changes"]["create"], 0);
    assert_eq!(out["changes"]["update"], 0);
    assert_eq!(out["changes"]["delete"], 0);
    assert_eq!(out["changes"]["unchanged"], 53);
    let ops = emu.recorded();
    assert!(ops.len() > 20, "the second deploy read the stack: {ops:?}");
    let mutating: Vec<&String> = ops.iter().filter(|o| is_mutating(o)).collect();
    assert!(mutating.is_empty(), "second deploy mutated: {mutating:?}");

    let plan = p.run(&["plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout
            .contains("0 to create, 0 to update, 0 to delete"),
        "{}",
        plan.stdout
    );
}

#[test]
fn out_of_band_changes_are_reported_and_repaired() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("drift", ""));
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    let c = emu.clients();
    rt().block_on(async {
        c.events
            .put_rule()
            .name("drift-findings")
            .event_pattern(r#"{"source":["aws.securityhub"]}"#)
            .send()
            .await
            .unwrap();
        c.lambda
            .delete_function()
            .function_name("drift-notification")
            .send()
            .await
            .unwrap();
        c.cloudwatch
            .delete_alarms()
            .alarm_names("drift-dlq-depth")
            .send()
            .await
            .unwrap();
    });

    let status = p.run(&["status", "--output", "json"]);
    assert_eq!(status.code, 2, "{status:?}");
    let json = status.json();
    let bad = statuses(&json);
    assert!(
        bad.contains(&("event_rule.findings".into(), "drifted".into())),
        "{bad:?}"
    );
    assert!(
        bad.contains(&("lambda_function.notification".into(), "missing".into())),
        "{bad:?}"
    );
    assert!(
        bad.contains(&("cloudwatch_alarm.dlq_depth".into(), "missing".into())),
        "{bad:?}"
    );
    let rule = json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "event_rule.findings")
        .unwrap();
    assert!(
        rule["differences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["field"] == "event_pattern"),
        "{rule}"
    );

    let text = p.run(&["status"]);
    assert!(text.stdout.contains("event_pattern"), "{}", text.stdout);

    let repair = p.run(&["deploy", "--output", "json"]);
    assert_eq!(repair.code, 0, "{repair:?}");
    let out = repair.json();
    assert_eq!(out["changes"]["update"], 1, "{out:#}");
    assert!(out["changes"]["create"].as_u64().unwrap() >= 2, "{out:#}");

    let status = p.run(&["status", "--output", "json"]);
    assert_eq!(status.code, 0, "{status:?}");
}

#[test]
fn resource_dropped_from_config_is_deleted_and_destroy_leaves_nothing() {
    let emu = Emulators::start();
    let p = Project::new(
        &emu,
        &config(
            "drop",
            "[notifications]\nemails = [\"a@example.com\", \"b@example.com\"]\n",
        ),
    );
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);

    p.write_config(&config(
        "drop",
        "[notifications]\nemails = [\"a@example.com\"]\n[monitoring]\ndashboard = false\n",
    ));
    let plan = p.run(&["plan"]);
    assert_eq!(plan.code, 2);
    assert!(
        plan.stdout
            .contains("- sns_subscription.email[b@example.com]"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("- cloudwatch_dashboard.main"),
        "{}",
        plan.stdout
    );
    let d = p.run(&["deploy", "--output", "json"]);
    assert_eq!(d.code, 0, "{d:?}");
    assert_eq!(d.json()["changes"]["delete"], 2);
    let c = emu.clients();
    rt().block_on(async {
        let dashboards = c
            .cloudwatch
            .list_dashboards()
            .dashboard_name_prefix("drop")
            .send()
            .await
            .unwrap();
        assert!(dashboards.dashboard_entries().is_empty());
        let topic = "arn:aws:sns:us-east-1:123456789012:drop-notifications";
        let subs = c
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(topic)
            .send()
            .await
            .unwrap();
        let endpoints: Vec<_> = subs
            .subscriptions()
            .iter()
            .filter_map(|s| s.endpoint())
            .collect();
        assert_eq!(endpoints, vec!["a@example.com"]);
    });

    let refused = p.run(&["destroy"]);
    assert_eq!(
        refused.code, 1,
        "destroy without --yes and without a terminal must refuse: {refused:?}"
    );
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);

    let destroy = p.run(&["destroy", "--yes", "--output", "json"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert_eq!(destroy.json()["errors"], serde_json::json!([]));
    let left = rt().block_on(leftovers(&c, "drop"));
    assert!(left.is_empty(), "destroy left: {left:?}");

    let again = p.run(&["destroy", "--yes"]);
    assert_eq!(
        again.code, 0,
        "destroying a destroyed stack is a no-op: {again:?}"
    );
}

#[test]
fn crash_between_create_and_state_write_is_healed_by_name_and_tag() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("heal", ""));
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    std::fs::remove_file(p.path(".secauto/heal/us-east-1.json")).unwrap();

    emu.record();
    let d = p.run(&["deploy", "--output", "json"]);
    assert_eq!(d.code, 0, "{d:?}");
    let out = d.json();
    assert_eq!(out["changes"]["create"], 0, "{out:#}");
    let mutating: Vec<String> = emu
        .recorded()
        .into_iter()
        .filter(|o| is_mutating(o))
        .collect();
    assert!(mutating.is_empty(), "{mutating:?}");
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(p.path(".secauto/heal/us-east-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["resources"].as_object().unwrap().len(), 52);

    // And destroy finds what state lacks.
    std::fs::remove_file(p.path(".secauto/heal/us-east-1.json")).unwrap();
    let destroy = p.run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert!(rt().block_on(leftovers(&emu.clients(), "heal")).is_empty());
}

#[test]
fn foreign_resource_with_our_name_is_refused_and_untouched() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("mine", ""));
    let c = emu.clients();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    rt().block_on(async {
        c.iam
            .create_role()
            .role_name("mine-us-east-1-triage")
            .assume_role_policy_document(trust)
            .send()
            .await
            .unwrap();
    });
    let plan = p.run(&["plan"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(plan.stdout.contains("! iam_role.triage"), "{}", plan.stdout);

    let d = p.run(&["deploy", "--output", "json"]);
    assert_eq!(d.code, 1, "{d:?}");
    let errors = d.json()["errors"].to_string();
    assert!(errors.contains("secauto:stack=mine"), "{errors}");
    assert!(errors.contains("--adopt"), "{errors}");
    rt().block_on(async {
        let role = c
            .iam
            .get_role()
            .role_name("mine-us-east-1-triage")
            .send()
            .await
            .unwrap()
            .role
            .unwrap();
        let doc = percent_decode(role.assume_role_policy_document().unwrap());
        assert!(
            doc.contains("ec2.amazonaws.com"),
            "trust policy untouched: {doc}"
        );
        let tags = c
            .iam
            .list_role_tags()
            .role_name("mine-us-east-1-triage")
            .send()
            .await
            .unwrap();
        assert!(tags.tags().is_empty(), "no tag added");
        let attached = c
            .iam
            .list_attached_role_policies()
            .role_name("mine-us-east-1-triage")
            .send()
            .await
            .unwrap();
        assert!(
            attached.attached_policies().is_empty(),
            "nothing attached to a foreign role"
        );
    });

    // Destroy leaves the foreign role alone.
    let destroy = p.run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert!(
        destroy.stdout.contains("left alone iam_role.triage"),
        "{}",
        destroy.stdout
    );
    rt().block_on(async {
        c.iam
            .get_role()
            .role_name("mine-us-east-1-triage")
            .send()
            .await
            .unwrap();
    });

    // Adopting takes it over: it gets our tag and trust policy.
    let adopt = p.run(&["deploy", "--adopt", "--no-progress"]);
    assert_eq!(adopt.code, 0, "{adopt:?}");
    rt().block_on(async {
        let tags = c
            .iam
            .list_role_tags()
            .role_name("mine-us-east-1-triage")
            .send()
            .await
            .unwrap();
        assert!(tags
            .tags()
            .iter()
            .any(|t| t.key == "secauto:stack" && t.value == "mine"));
    });
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[test]
fn concurrent_run_is_refused_by_the_lock() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("locked", ""));
    let state = p.path(".secauto/locked/us-east-1.json");
    let _held = secauto::state::Lock::acquire(&state, "secauto deploy (another run)").unwrap();
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 1, "{d:?}");
    assert!(
        d.stderr
            .contains("locked by `secauto deploy (another run)`"),
        "{}",
        d.stderr
    );
    assert!(
        d.stderr.contains(&format!("pid {}", std::process::id())),
        "{}",
        d.stderr
    );
    assert!(!state.exists(), "the refused run wrote no state");
    let destroy = p.run(&["destroy", "--yes"]);
    assert_eq!(destroy.code, 1, "{destroy:?}");
}

#[test]
fn destroy_sweeps_tagged_leftovers_that_neither_state_nor_config_knows() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("sweep", ""));
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    // The state is lost and the config no longer asks for alarms or the dashboard: only the tag
    // (and the name prefix) still tie those resources to the stack.
    std::fs::remove_file(p.path(".secauto/sweep/us-east-1.json")).unwrap();
    p.write_config(&config("sweep", "[monitoring]\nalarms = false\n"));
    let d = p.run(&["destroy", "--yes", "--output", "json"]);
    assert_eq!(d.code, 0, "{d:?}");
    let out = d.json();
    let swept: Vec<&str> = out["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["address"].as_str())
        .filter(|a| a.contains("[swept "))
        .collect();
    assert_eq!(swept.len(), 8, "the 8 alarms were found by tag: {swept:?}");
    let left = rt().block_on(leftovers(&emu.clients(), "sweep"));
    assert!(left.is_empty(), "destroy left: {left:?}");
}
