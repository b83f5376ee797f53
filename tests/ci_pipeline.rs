//! secauto as CI pipelines run it, against moto (and ministack for CloudWatch): a runner that never
//! saw the state, shared state in S3 with a lock made of conditional writes, saved plans, and
//! credentials from a `credential_process` profile.

mod common;

use common::{config, is_mutating, leftovers, rt, Emulators, Project};
use serde_json::Value;

fn not_in_sync(status: &Value) -> Vec<String> {
    status["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["status"] != "in_sync")
        .map(|r| format!("{} {} {}", r["address"], r["status"], r["note"]))
        .collect()
}

fn forget_state(p: &Project, stack: &str) {
    let _ = std::fs::remove_dir_all(p.path(&format!(".secauto/{stack}")));
}

#[test]
fn a_fresh_runner_sees_the_stack_in_sync_and_deletes_what_the_config_dropped() {
    let emu = Emulators::start();
    let p = Project::new(
        &emu,
        &config(
            "fresh",
            "[notifications]\nemails = [\"a@example.com\", \"b@example.com\"]\n",
        ),
    );
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");

    // Another runner: no state at all. The ownership tag proves every resource is the stack's.
    forget_state(&p, "fresh");
    let s = p.run(&["status", "--output", "json"]);
    assert_eq!(s.code, 0, "{s:?}");
    assert_eq!(s.json()["format_version"], 1);

    // The config drops the alarms, the dashboard and a subscription; a runner without state still
    // finds them (by tag; the dashboard by its name; the subscription on the stack's topic).
    forget_state(&p, "fresh");
    p.write_config(&config(
        "fresh",
        "[notifications]\nemails = [\"a@example.com\"]\n[monitoring]\nalarms = false\ndashboard = false\n",
    ));
    let plan = p.run(&["plan", "--no-progress"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    assert_eq!(
        plan.stdout.matches("- cloudwatch_alarm[swept ").count(),
        8,
        "{}",
        plan.stdout
    );
    for swept in [
        "- cloudwatch_dashboard[swept fresh-us-east-1]",
        "- sns_subscription[swept arn:",
    ] {
        assert_eq!(
            plan.stdout.matches(swept).count(),
            1,
            "{swept}: {}",
            plan.stdout
        );
    }
    let d = p.run(&["deploy", "--no-progress", "--output", "json"]);
    assert_eq!(d.code, 0, "{d:?}");
    assert_eq!(d.json()["changes"]["delete"], 10, "{}", d.stdout);
    let alarms = rt().block_on(async {
        emu.clients()
            .cloudwatch
            .describe_alarms()
            .alarm_name_prefix("fresh-")
            .send()
            .await
            .unwrap()
            .metric_alarms()
            .len()
    });
    assert_eq!(alarms, 0, "the dropped alarms are gone");
    let subs = rt().block_on(async {
        emu.clients()
            .sns
            .list_subscriptions()
            .send()
            .await
            .unwrap()
            .subscriptions()
            .iter()
            .filter(|s| {
                s.topic_arn()
                    .is_some_and(|t| t.ends_with(":fresh-notifications"))
            })
            .map(|s| s.endpoint().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    });
    assert_eq!(
        subs,
        ["a@example.com"],
        "only the dropped subscription went"
    );
    forget_state(&p, "fresh");
    let s = p.run(&["status", "--output", "json"]);
    assert_eq!(s.code, 0, "{:?}", not_in_sync(&s.json()));

    assert_eq!(p.run(&["destroy", "--yes", "--no-progress"]).code, 0);
    let c = emu.clients();
    let left = rt().block_on(leftovers(&c, "fresh"));
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_saved_plan_is_applied_exactly_and_a_stale_one_is_refused() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("saved", ""));
    let plan = p.run(&["plan", "--out", "plan.json", "--output", "markdown"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    assert!(
        plan.stdout.starts_with("### secauto plan: `saved`"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("| `+` | `lambda_function.triage` |"),
        "{}",
        plan.stdout
    );
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("plan.json")).unwrap()).unwrap();
    assert_eq!(saved["format_version"], 1);
    assert_eq!(saved["stack"], "saved");
    assert_eq!(saved["config_hash"].as_str().unwrap().len(), 64);
    assert!(saved["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["action"] == "create" && c["live_hash"].is_null()));

    let d = p.run(&["deploy", "plan.json", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");

    // A plan of no changes, then the config changes: the old plan is refused, nothing is written.
    assert_eq!(p.run(&["plan", "--out", "noop.json"]).code, 0);
    p.write_config(&config("saved", "memory_mb = 512\n"));
    emu.record();
    let d = p.run(&["deploy", "noop.json", "--no-progress"]);
    assert_eq!(d.code, 1, "{d:?}");
    assert!(d.stderr.contains("stale"), "{}", d.stderr);
    assert!(
        d.stderr
            .contains("the config or the handler bundles changed"),
        "{}",
        d.stderr
    );
    let mutating: Vec<String> = emu
        .recorded()
        .into_iter()
        .filter(|o| is_mutating(o))
        .collect();
    assert!(mutating.is_empty(), "a refused plan wrote: {mutating:?}");

    // A plan for the new config; then AWS changes under it: refused too, naming the resource.
    assert_eq!(p.run(&["plan", "--out", "mem.json"]).code, 2);
    let c = emu.clients();
    rt().block_on(async {
        c.sqs
            .set_queue_attributes()
            .queue_url(
                c.sqs
                    .get_queue_url()
                    .queue_name("saved-dlq")
                    .send()
                    .await
                    .unwrap()
                    .queue_url
                    .unwrap(),
            )
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::MessageRetentionPeriod,
                "60",
            )
            .send()
            .await
            .unwrap();
    });
    let d = p.run(&["deploy", "mem.json", "--no-progress"]);
    assert_eq!(d.code, 1, "{d:?}");
    assert!(d.stderr.contains("sqs_queue.dlq"), "{}", d.stderr);

    // Reviewed again, applied.
    assert_eq!(p.run(&["plan", "--out", "mem.json"]).code, 2);
    let d = p.run(&["deploy", "mem.json", "--no-progress", "--output", "json"]);
    assert_eq!(d.code, 0, "{d:?}");
    assert_eq!(d.json()["changes"]["update"], 5, "{}", d.stdout);

    // Not a plan at all, or one from another format: clear errors, before any call.
    std::fs::write(p.path("other.json"), r#"{"format_version": 99}"#).unwrap();
    let d = p.run(&["deploy", "other.json"]);
    assert_eq!(d.code, 1);
    assert!(d.stderr.contains("format version 99"), "{}", d.stderr);
    assert_eq!(p.run(&["destroy", "--yes", "--no-progress"]).code, 0);
}

async fn object(s3: &aws_sdk_s3::Client, key: &str) -> Option<String> {
    let out = s3
        .get_object()
        .bucket("ci-state")
        .key(key)
        .send()
        .await
        .ok()?;
    let body = out.body.collect().await.ok()?.into_bytes();
    Some(String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn remote_state_in_s3_is_shared_and_locked() {
    let emu = Emulators::start();
    let s3c = common::s3::client(&emu.moto.url);
    rt().block_on(async {
        s3c.create_bucket().bucket("ci-state").send().await.unwrap();
    });
    let cfg = config(
        "remote",
        "[state]\nbackend = \"s3\"\nbucket = \"ci-state\"\n",
    );
    let p = Project::new(&emu, &cfg);
    let key = "secauto/remote/us-east-1.json";

    // Two runners deploy at once: the lock makes one wait for the other; both converge.
    let spawn = || {
        p.command(&["deploy", "--no-progress", "--lock-timeout", "300"], &[])
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let err = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(a.status.code(), Some(0), "{}", err(&a));
    assert_eq!(b.status.code(), Some(0), "{}", err(&b));
    assert!(
        err(&a).contains("waiting up to 300s for the lock")
            || err(&b).contains("waiting up to 300s for the lock"),
        "one run waited for the other:\n{}\n{}",
        err(&a),
        err(&b)
    );
    assert!(
        !p.path(".secauto").exists(),
        "no local state with the S3 backend"
    );
    let state: Value =
        serde_json::from_str(&rt().block_on(object(&s3c, key)).expect("state in S3")).unwrap();
    assert_eq!(state["stack"], "remote");
    assert!(state["resources"].as_object().unwrap().len() >= 40);
    assert!(
        rt().block_on(object(&s3c, &format!("{key}.lock")))
            .is_none(),
        "lock released"
    );

    // A lock whose holder is gone (another host): refused with the holder and the id to break it.
    let stale = r#"{"id":"5ca1ab1e","pid":4242,"host":"ci-runner-7","command":"secauto deploy","since":"2026-11-28T00:00:00Z"}"#;
    rt().block_on(async {
        s3c.put_object()
            .bucket("ci-state")
            .key(format!("{key}.lock"))
            .body(stale.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    });
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 1, "{d:?}");
    assert!(d.stderr.contains("ci-runner-7"), "{}", d.stderr);
    assert!(d.stderr.contains("secauto unlock 5ca1ab1e"), "{}", d.stderr);
    let wrong = p.run(&["unlock", "deadbeef"]);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(wrong.stderr.contains("not deadbeef"), "{}", wrong.stderr);
    let u = p.run(&["unlock", "5ca1ab1e"]);
    assert_eq!(u.code, 0, "{u:?}");
    let s = p.run(&["status", "--output", "json"]);
    assert_eq!(s.code, 0, "{:?}", not_in_sync(&s.json()));
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);

    // A write over another run's write is refused (If-Match on the ETag read), never lost.
    rt().block_on(async {
        let backend = secauto::state::Backend::S3 {
            bucket: "ci-state".into(),
            key: key.into(),
            region: None,
            kms_key: None,
        };
        let store = secauto::state::Store::open(&backend, Some(s3c.clone())).unwrap();
        let account = state["account"].as_str().unwrap().to_string();
        let mut mine = store.load("remote", "us-east-1", &account).await.unwrap();
        let theirs = object(&s3c, key).await.unwrap();
        s3c.put_object()
            .bucket("ci-state")
            .key(key)
            .body(
                theirs
                    .replace("\"remote\"", "\"remote\" ")
                    .into_bytes()
                    .into(),
            )
            .send()
            .await
            .unwrap();
        mine.resources.clear();
        let err = store.save(&mine).await.unwrap_err();
        assert!(err.to_string().contains("changed by another run"), "{err}");
        let kept: Value = serde_json::from_str(&object(&s3c, key).await.unwrap()).unwrap();
        assert!(
            !kept["resources"].as_object().unwrap().is_empty(),
            "their write was kept"
        );
    });

    let d = p.run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    let left = rt().block_on(leftovers(&emu.clients(), "remote"));
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_credential_process_profile_supplies_the_credentials() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("creds", ""));
    let script = p.path("creds.sh");
    let marker = p.path("creds-used");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntouch '{}'\necho '{{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESS0000001\", \"SecretAccessKey\": \"from-the-process\"}}'\n",
            marker.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::create_dir_all(p.path(".aws")).unwrap();
    std::fs::write(
        p.path(".aws/config"),
        format!(
            "[profile ci]\ncredential_process = {}\nregion = us-east-1\n",
            script.display()
        ),
    )
    .unwrap();
    // No static credentials in the environment: only the profile's process can supply them.
    let no_keys = [("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")];
    let s = p.run_with(&["status", "--profile", "ci", "--output", "json"], &no_keys);
    assert!(marker.exists(), "the credential process ran: {s:?}");
    assert_eq!(s.code, 2, "status ran (nothing deployed yet): {s:?}");
    assert_eq!(s.json()["stack"], "creds");
    // And through the environment, as CI sets it.
    std::fs::remove_file(&marker).unwrap();
    let s = p.run_with(&["plan"], &[no_keys[0], no_keys[1], ("AWS_PROFILE", "ci")]);
    assert_eq!(s.code, 2, "{s:?}");
    assert!(marker.exists());
    std::fs::remove_file(&marker).unwrap();
    let s = p.run_with(
        &["plan"],
        &[no_keys[0], no_keys[1], ("SECAUTO_PROFILE", "ci")],
    );
    assert_eq!(s.code, 2, "{s:?}");
    assert!(marker.exists());
}

#[test]
fn role_arn_deploys_into_the_assumed_roles_account() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("assumed", ""));
    let role = [
        "--role-arn",
        "arn:aws:iam::111111111111:role/secauto-deploy",
    ];
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(role.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: Vec<String>| p.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let d = run(with(&["deploy", "--no-progress", "--external-id", "ci-7"]));
    assert_eq!(d.code, 0, "{d:?}");
    let s = run(with(&["status", "--output", "json"]));
    assert_eq!(s.code, 0, "{:?}", not_in_sync(&s.json()));
    assert_eq!(
        s.json()["account"],
        "111111111111",
        "the stack is in the role's account"
    );
    assert!(p
        .path(".secauto/assumed/111111111111/us-east-1.json")
        .exists());
    // The caller's own account has none of it (ministack, serving CloudWatch, has one account only).
    let own = p.run(&["status", "--output", "json"]);
    assert_eq!(own.code, 2, "{own:?}");
    assert_eq!(own.json()["account"], "123456789012");
    let present: Vec<String> = own.json()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["status"] != "missing" && !r["kind"].as_str().unwrap().starts_with("cloudwatch")
        })
        .map(|r| r["address"].to_string())
        .collect();
    assert!(present.is_empty(), "in the caller's account: {present:?}");
    // The same through the environment, as a pipeline sets it.
    let s = p.run_with(
        &["status"],
        &[
            ("SECAUTO_ROLE_ARN", role[1]),
            ("SECAUTO_EXTERNAL_ID", "ci-7"),
        ],
    );
    assert_eq!(s.code, 0, "{s:?}");
    let x = run(with(&["destroy", "--yes", "--no-progress"]));
    assert_eq!(x.code, 0, "{x:?}");
    // A malformed role ARN is refused before any call.
    let bad = p.run(&["plan", "--role-arn", "arn:aws:iam::1111:role/x"]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("is not an IAM role ARN"),
        "{}",
        bad.stderr
    );
}
