//! Ownership is judged before any write (issue 16, item 6), on the emulators: the stack's KMS alias
//! pointing at someone else's key, a dashboard of our name that another tool made, and a
//! permission someone added to a stack function.

mod common;

use common::{config, rt, Emulators, Project};
use serde_json::Value;

/// A key of another team: untagged, its own description and policy, rotation off.
async fn foreign_key(c: &secauto::aws::Clients) -> String {
    let out = c
        .kms
        .create_key()
        .description("another team's data key")
        .send()
        .await
        .unwrap();
    out.key_metadata().unwrap().key_id().to_string()
}

/// What must stay as it was: description, policy, tags, state, rotation.
async fn key_facts(c: &secauto::aws::Clients, key: &str) -> Vec<String> {
    let meta = c.kms.describe_key().key_id(key).send().await.unwrap();
    let meta = meta.key_metadata().unwrap();
    let policy = c
        .kms
        .get_key_policy()
        .key_id(key)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let tags = c.kms.list_resource_tags().key_id(key).send().await.unwrap();
    let rotation = c
        .kms
        .get_key_rotation_status()
        .key_id(key)
        .send()
        .await
        .unwrap();
    vec![
        format!("description {:?}", meta.description()),
        format!("state {:?}", meta.key_state()),
        format!("policy {:?}", policy.policy()),
        format!("tags {:?}", tags.tags()),
        format!("rotation {}", rotation.key_rotation_enabled()),
    ]
}

async fn alias_target(c: &secauto::aws::Clients, alias: &str) -> Option<String> {
    let meta = c.kms.describe_key().key_id(alias).send().await.ok()?;
    Some(meta.key_metadata()?.key_id().to_string())
}

/// Point the stack's `alias` at a new key of another team: the stack's key, theirs, and the facts
/// of theirs.
async fn move_alias(c: &secauto::aws::Clients, alias: &str) -> (String, String, Vec<String>) {
    let ours = alias_target(c, alias).await.unwrap();
    let theirs = foreign_key(c).await;
    c.kms
        .update_alias()
        .alias_name(alias)
        .target_key_id(&theirs)
        .send()
        .await
        .unwrap();
    let before = key_facts(c, &theirs).await;
    (ours, theirs, before)
}

#[test]
fn an_alias_pointing_at_someone_elses_key_stops_deploy_and_destroy_leaves_that_key() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("own", ""));
    let c = emu.clients();
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    // The stack's own key is in the state; then someone points the alias at their key.
    let (ours, theirs, before) = rt().block_on(move_alias(&c, "alias/own"));

    for args in [
        vec!["deploy", "--no-progress"],
        vec!["deploy", "--no-progress", "--adopt"],
    ] {
        let d = p.run(&args);
        assert_ne!(d.code, 0, "{args:?} must stop: {d:?}");
        let out = format!("{}{}", d.stdout, d.stderr);
        for needle in [
            "alias/own",
            theirs.as_str(),
            "update-alias",
            "delete-alias",
            "deploy changed nothing",
        ] {
            assert!(out.contains(needle), "{needle:?} missing: {out}");
        }
    }
    let plan = p.run(&["plan", "--output", "json"]);
    assert!(plan.stdout.contains("conflict"), "{plan:?}");
    rt().block_on(async {
        assert_eq!(
            key_facts(&c, &theirs).await,
            before,
            "deploy left their key alone"
        );
    });

    let d = p.run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    rt().block_on(async {
        assert_eq!(
            key_facts(&c, &theirs).await,
            before,
            "destroy left their key alone"
        );
        assert_eq!(
            alias_target(&c, "alias/own").await.as_deref(),
            Some(theirs.as_str())
        );
        let meta = c.kms.describe_key().key_id(&ours).send().await.unwrap();
        assert_eq!(
            meta.key_metadata().unwrap().key_state(),
            Some(&aws_sdk_kms::types::KeyState::PendingDeletion),
            "the stack's own key is still deleted"
        );
    });
}

#[test]
fn with_a_lost_state_destroy_finds_the_stacks_own_key_behind_a_moved_alias() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("lost", ""));
    let c = emu.clients();
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    std::fs::remove_file(p.path(".secauto/lost/us-east-1.json")).expect("the state file");
    let (ours, theirs, before) = rt().block_on(move_alias(&c, "alias/lost"));
    let d = p.run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    rt().block_on(async {
        assert_eq!(key_facts(&c, &theirs).await, before);
        let meta = c.kms.describe_key().key_id(&ours).send().await.unwrap();
        assert_eq!(
            meta.key_metadata().unwrap().key_state(),
            Some(&aws_sdk_kms::types::KeyState::PendingDeletion),
            "the stack's own (tagged) key is found and deleted"
        );
    });
}

const THEIR_BODY: &str = r#"{"widgets":[{"type":"text","x":0,"y":0,"width":6,"height":2,"properties":{"markdown":"the platform team's dashboard"}}]}"#;

#[test]
fn a_dashboard_of_our_name_without_the_marker_is_left_alone_unless_adopted() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("dash", ""));
    let c = emu.clients();
    let name = "dash-us-east-1";
    let body = || async {
        let out = c
            .cloudwatch
            .get_dashboard()
            .dashboard_name(name)
            .send()
            .await
            .unwrap();
        serde_json::from_str::<Value>(out.dashboard_body().unwrap()).unwrap()
    };
    let theirs: Value = serde_json::from_str(THEIR_BODY).unwrap();
    rt().block_on(async {
        c.cloudwatch
            .put_dashboard()
            .dashboard_name(name)
            .dashboard_body(THEIR_BODY)
            .send()
            .await
            .unwrap();
    });
    let d = p.run(&["deploy", "--no-progress"]);
    assert_ne!(d.code, 0, "{d:?}");
    let out = format!("{}{}", d.stdout, d.stderr);
    assert!(
        out.contains("cloudwatch_dashboard.main") && out.contains("secauto:stack=dash"),
        "{out}"
    );
    assert_eq!(rt().block_on(body()), theirs, "deploy left it alone");
    let d = p.run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    assert_eq!(rt().block_on(body()), theirs, "destroy left it alone");

    // Taken over on purpose: marked, and then the stack's like any other resource.
    let d = p.run(&["deploy", "--no-progress", "--adopt"]);
    assert_eq!(d.code, 0, "{d:?}");
    let marked = rt().block_on(body());
    assert_eq!(
        secauto::resources::cloudwatch_dashboard::marker(&marked).as_deref(),
        Some("dash")
    );
    assert_eq!(p.run(&["status"]).code, 0);
    assert_eq!(p.run(&["destroy", "--yes", "--no-progress"]).code, 0);
    rt().block_on(async {
        assert!(c
            .cloudwatch
            .get_dashboard()
            .dashboard_name(name)
            .send()
            .await
            .is_err());
    });
}

#[test]
fn a_permission_the_stack_did_not_make_is_drift_and_deploy_removes_it() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("perm", ""));
    let c = emu.clients();
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    let sids = || async {
        let out = c
            .lambda
            .get_policy()
            .function_name("perm-remediation")
            .send()
            .await;
        out.ok()
            .map(|o| secauto::resources::lambda_permission::statement_ids(o.policy().unwrap()))
            .unwrap_or_default()
    };
    let ours = rt().block_on(sids());
    rt().block_on(async {
        c.lambda
            .add_permission()
            .function_name("perm-remediation")
            .statement_id("s3-invoke")
            .action("lambda:InvokeFunction")
            .principal("s3.amazonaws.com")
            .send()
            .await
            .unwrap();
    });
    let s = p.run(&["status", "--output", "json"]);
    assert_ne!(s.code, 0, "{s:?}");
    let rows = s.json()["resources"].as_array().unwrap().clone();
    let row = rows
        .iter()
        .find(|r| r["address"].as_str().unwrap_or("").contains("s3-invoke"))
        .unwrap_or_else(|| panic!("no drift row: {rows:?}"));
    assert_eq!(row["status"], "drifted");
    assert!(row["note"]
        .as_str()
        .unwrap()
        .contains("not made by this stack"));

    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    let after = rt().block_on(sids());
    assert!(!after.contains(&"s3-invoke".to_string()), "{after:?}");
    assert_eq!(after.len(), ours.len(), "the stack's own statements stay");
    assert_eq!(p.run(&["status"]).code, 0);
    assert_eq!(p.run(&["destroy", "--yes", "--no-progress"]).code, 0);
}
