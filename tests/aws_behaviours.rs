//! AWS behaviours the emulators reproduce, each handled as AWS documents it: account-global names
//! shared by two regions of one account, a role deleted and created again (new RoleId, stale KMS
//! grants), SSM's DuplicateDocumentContent, and the stack's customer-managed key.

mod common;

use common::{config, is_mutating, leftovers, rt, Emulators, Project};
use serde_json::Value;

fn not_in_sync(status: &Value) -> Vec<String> {
    status["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["status"] != "in_sync")
        .map(|r| format!("{} {}", r["address"], r["status"]))
        .collect()
}

#[test]
fn two_regions_of_one_account_never_touch_each_other() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("twin", ""));
    let west = ["--region", "us-west-2"];
    let with = |args: &[&str], extra: &[&str]| -> Vec<String> {
        args.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let run = |args: Vec<String>| p.run(&args.iter().map(String::as_str).collect::<Vec<_>>());

    let east_deploy = p.run(&["deploy", "--no-progress"]);
    assert_eq!(east_deploy.code, 0, "{east_deploy:?}");
    let west_deploy = run(with(&["deploy", "--no-progress"], &west));
    assert_eq!(west_deploy.code, 0, "{west_deploy:?}");

    for args in [
        vec!["status", "--output", "json"],
        with(&["status", "--output", "json"], &west)
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
    ] {
        let s = p.run(&args);
        assert_eq!(s.code, 0, "{args:?}: {:?}", not_in_sync(&s.json()));
    }

    // Second deploys in both regions make no mutating call.
    emu.record();
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    assert_eq!(run(with(&["deploy", "--no-progress"], &west)).code, 0);
    let mutating: Vec<String> = emu
        .recorded()
        .into_iter()
        .filter(|op| is_mutating(op))
        .collect();
    assert!(mutating.is_empty(), "second deploys mutated: {mutating:?}");

    // Destroying one region leaves the other in sync, its account-global role and policy included.
    let d = run(with(&["destroy", "--yes", "--no-progress"], &west));
    assert_eq!(d.code, 0, "{d:?}");
    let s = p.run(&["status", "--output", "json"]);
    assert_eq!(s.code, 0, "{:?}", not_in_sync(&s.json()));
    let c = emu.clients();
    rt().block_on(async {
        c.iam
            .get_role()
            .role_name("twin-us-east-1-triage")
            .send()
            .await
            .expect("us-east-1's role survives");
        assert!(c
            .iam
            .get_role()
            .role_name("twin-us-west-2-triage")
            .send()
            .await
            .is_err());
    });
    assert_eq!(p.run(&["destroy", "--yes", "--no-progress"]).code, 0);
}

#[test]
fn a_recreated_role_refreshes_the_functions_that_run_as_it() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("rr", ""));
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    let c = emu.clients();
    let role = "rr-us-east-1-notification";
    rt().block_on(async {
        for a in c
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .send()
            .await
            .unwrap()
            .attached_policies()
        {
            c.iam
                .detach_role_policy()
                .role_name(role)
                .policy_arn(a.policy_arn().unwrap())
                .send()
                .await
                .unwrap();
        }
        c.iam.delete_role().role_name(role).send().await.unwrap();
    });
    let plan = p.run(&["plan", "--no-progress"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    assert!(
        plan.stdout.contains("~ lambda_function.notification"),
        "the function that runs as the role is refreshed: {}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("~ lambda_function.triage"),
        "the others keep their own roles: {}",
        plan.stdout
    );
    emu.record();
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    let updates: Vec<String> = emu
        .recorded()
        .into_iter()
        .filter(|op| op.starts_with("PUT /2015-03-31/functions/") && op.ends_with("/configuration"))
        .collect();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(p.run(&["status"]).code, 0);
    assert_eq!(p.run(&["destroy", "--yes", "--no-progress"]).code, 0);
}

#[test]
fn ssm_duplicate_content_makes_the_matching_version_the_default() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("dup", ""));
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    let c = emu.clients();
    let doc = "dup-isolate-instance";
    // Someone publishes version 2 and makes it the default: secauto's content is version 1's, and
    // SSM answers DuplicateDocumentContent to an update that repeats it.
    rt().block_on(async {
        let other = r#"{"schemaVersion":"0.3","description":"edited","mainSteps":[{"name":"wait","action":"aws:sleep","inputs":{"Duration":"PT1S"}}]}"#;
        c.ssm
            .update_document()
            .name(doc)
            .content(other)
            .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
            .document_version("$LATEST")
            .send()
            .await
            .unwrap();
        c.ssm
            .update_document_default_version()
            .name(doc)
            .document_version("2")
            .send()
            .await
            .unwrap();
    });
    let s = p.run(&["status", "--output", "json"]);
    assert_eq!(s.code, 2);
    assert!(not_in_sync(&s.json())
        .iter()
        .any(|r| r.contains("ssm_document.isolate")));
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    let s = p.run(&["status", "--output", "json"]);
    assert_eq!(s.code, 0, "{:?}", not_in_sync(&s.json()));
    rt().block_on(async {
        let d = c.ssm.describe_document().name(doc).send().await.unwrap();
        let d = d.document().unwrap();
        assert_eq!(d.default_version(), Some("1"), "{d:?}");
    });
}

#[test]
fn the_stack_key_encrypts_topic_and_functions_and_is_scheduled_for_deletion() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("kk", ""));
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    let c = emu.clients();
    let key_arn = rt().block_on(async {
        let meta = c
            .kms
            .describe_key()
            .key_id("alias/kk")
            .send()
            .await
            .unwrap();
        let meta = meta.key_metadata().unwrap().clone();
        let rotation = c
            .kms
            .get_key_rotation_status()
            .key_id(meta.key_id())
            .send()
            .await
            .unwrap();
        assert!(rotation.key_rotation_enabled(), "rotation is on");
        let policy = c
            .kms
            .get_key_policy()
            .key_id(meta.key_id())
            .policy_name("default")
            .send()
            .await
            .unwrap();
        let policy = policy.policy().unwrap();
        for principal in [
            "cloudwatch.amazonaws.com",
            "events.amazonaws.com",
            "role/kk-us-east-1-remediation",
        ] {
            assert!(policy.contains(principal), "{principal} in {policy}");
        }
        let topic = c
            .sns
            .get_topic_attributes()
            .topic_arn("arn:aws:sns:us-east-1:123456789012:kk-notifications")
            .send()
            .await
            .unwrap();
        assert_eq!(
            topic
                .attributes()
                .unwrap()
                .get("KmsMasterKeyId")
                .map(String::as_str),
            Some("alias/kk")
        );
        meta.arn().unwrap().to_string()
    });
    rt().block_on(async {
        let f = c
            .lambda
            .get_function_configuration()
            .function_name("kk-triage")
            .send()
            .await
            .unwrap();
        assert_eq!(f.kms_key_arn(), Some(key_arn.as_str()));
        assert!(f
            .dead_letter_config()
            .and_then(|d| d.target_arn())
            .is_some_and(|a| a.ends_with(":kk-dlq")));
    });

    let d = p.run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    rt().block_on(async {
        let meta = c.kms.describe_key().key_id(&key_arn).send().await.unwrap();
        assert_eq!(
            meta.key_metadata().unwrap().key_state(),
            Some(&aws_sdk_kms::types::KeyState::PendingDeletion)
        );
        assert!(c
            .kms
            .describe_key()
            .key_id("alias/kk")
            .send()
            .await
            .is_err());
    });
    // A new deploy gets a new key under the same alias.
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    assert_eq!(p.run(&["status"]).code, 0);
    assert_eq!(p.run(&["destroy", "--yes", "--no-progress"]).code, 0);
}

/// A context for resource calls of a stack named "held".
fn held_ctx(c: &secauto::aws::Clients) -> secauto::resources::Ctx {
    secauto::resources::Ctx::new(
        c.clone(),
        "held",
        common::REGION,
        Default::default(),
        std::time::Duration::ZERO,
    )
}

/// IAM refuses to delete a role something still holds (`DeleteConflict`, 409): deploy deletes at
/// once (one round when, as usual, its attachments went first) and clears what holds it only when
/// IAM says so — a role found by its tag alone still has its policies. (moto deletes an attached
/// policy without a word; AWS's refusal of that is in mocked_iam.rs.)
#[test]
fn a_role_or_policy_still_attached_is_cleared_then_deleted() {
    let emu = Emulators::start();
    let c = emu.clients();
    rt().block_on(async {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        c.iam.create_role().role_name("held").assume_role_policy_document(trust).send().await.unwrap();
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sns:Publish","Resource":"*"}]}"#;
        let arn = c.iam.create_policy().policy_name("held").policy_document(doc).send().await.unwrap()
            .policy.unwrap().arn.unwrap();
        c.iam.create_policy_version().policy_arn(&arn).policy_document(doc).set_as_default(true).send().await.unwrap();
        c.iam.attach_role_policy().role_name("held").policy_arn(&arn).send().await.unwrap();
        c.iam.put_role_policy().role_name("held").policy_name("inline").policy_document(doc).send().await.unwrap();
        let refused = c.iam.delete_role().role_name("held").send().await.unwrap_err();
        assert_eq!(secauto::error::code(&refused), Some("DeleteConflict"));

        let ctx = held_ctx(&c);
        secauto::resources::iam_role::delete(&ctx, "held").await.unwrap();
        secauto::resources::iam_policy::delete(&ctx, &arn).await.unwrap();
        assert!(c.iam.get_role().role_name("held").send().await.is_err());
        assert!(c.iam.get_policy().policy_arn(&arn).send().await.is_err());
        // Deleting what is gone is done.
        secauto::resources::iam_role::delete(&ctx, "held").await.unwrap();
        secauto::resources::iam_policy::delete(&ctx, &arn).await.unwrap();
    });
}

/// EventBridge refuses to delete a rule that still has targets (ValidationException "Rule can't be
/// deleted since it has targets."): the rule is deleted at once, and emptied only when refused.
#[test]
fn a_rule_with_targets_is_emptied_then_deleted() {
    let emu = Emulators::start();
    let c = emu.clients();
    rt().block_on(async {
        c.events
            .put_rule()
            .name("held-rule")
            .event_pattern(r#"{"source":["x"]}"#)
            .send()
            .await
            .unwrap();
        c.events
            .put_targets()
            .rule("held-rule")
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("t1")
                    .arn("arn:aws:sqs:us-east-1:123456789012:somewhere")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let refused = c
            .events
            .delete_rule()
            .name("held-rule")
            .send()
            .await
            .unwrap_err();
        assert_eq!(secauto::error::code(&refused), Some("ValidationException"));
        let ctx = held_ctx(&c);
        secauto::resources::event_rule::delete(&ctx, "held-rule")
            .await
            .unwrap();
        assert!(c
            .events
            .describe_rule()
            .name("held-rule")
            .send()
            .await
            .is_err());
        secauto::resources::event_rule::delete(&ctx, "held-rule")
            .await
            .unwrap();
    });
}

/// DeleteFunction takes the function's permissions and invoke configuration with it, DeleteTopic
/// the topic's subscriptions: destroy makes no call of their own for them, and nothing is left.
#[test]
fn what_goes_with_its_parent_costs_no_call_of_its_own() {
    let emu = Emulators::start();
    let p = Project::new(
        &emu,
        &config(
            "implicit",
            "[notifications]\nemails = [\"a@example.com\"]\n",
        ),
    );
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    emu.record();
    let d = p.run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    let calls = emu.recorded();
    let own: Vec<&String> = calls
        .iter()
        .filter(|op| {
            op.as_str() == "Unsubscribe"
                || (op.starts_with("DELETE ") && op.contains("/policy/"))
                || (op.starts_with("DELETE ") && op.contains("event-invoke-config"))
        })
        .collect();
    assert!(own.is_empty(), "{own:?}");
    assert!(calls
        .iter()
        .any(|op| op.starts_with("DELETE /2015-03-31/functions/")));
    rt().block_on(async {
        let c = emu.clients();
        let subs = c.sns.list_subscriptions().send().await.unwrap();
        let left: Vec<_> = subs
            .subscriptions()
            .iter()
            .filter(|s| s.topic_arn().unwrap_or_default().contains("implicit-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        assert!(leftovers(&c, "implicit").await.is_empty());
    });
}
