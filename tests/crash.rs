//! A deploy stopped at any moment: SIGKILL (a runner that dies, a job killed after its grace
//! period) at ten moments of a cold deploy, half of them with the state file then lost; and
//! SIGTERM (a cancelled job), which finishes what is in flight, writes the state and releases the
//! lock. Each time the next deploy converges, status is in sync, nothing exists twice, and
//! destroy leaves nothing.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{config, leftovers, rt, Emulators, Project};
use secauto::aws::Clients;
use secauto_testkit::proxy::Proxy;

/// Start a deploy and return it once `enough` says so of the requests the proxy has passed since
/// (or the deploy ended).
fn deploy_until(p: &Project, proxy: &Proxy, enough: impl Fn(&[String]) -> bool) -> Child {
    let before = proxy.requests().len();
    let mut child = p
        .command(&["deploy", "--no-progress"], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !enough(&proxy.requests()[before..])
        && child.try_wait().unwrap().is_none()
        && start.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    child
}

/// Keys tagged as the stack's that are not being deleted.
async fn live_keys(c: &Clients, stack: &str) -> usize {
    let mut n = 0;
    for k in c.kms.list_keys().send().await.unwrap().keys() {
        let id = k.key_id().unwrap_or_default();
        let meta = c.kms.describe_key().key_id(id).send().await.unwrap();
        if meta.key_metadata().and_then(|m| m.key_state())
            != Some(&aws_sdk_kms::types::KeyState::Enabled)
        {
            continue;
        }
        let tags = c.kms.list_resource_tags().key_id(id).send().await.unwrap();
        if tags
            .tags()
            .iter()
            .any(|t| t.tag_key() == secauto::resources::STACK_TAG && t.tag_value() == stack)
        {
            n += 1;
        }
    }
    n
}

fn converges_then_destroys(p: &Project, emu: &Emulators, stack: &str, moment: &str) {
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(
        d.code, 0,
        "{moment}: the next deploy did not converge: {d:?}"
    );
    let s = p.run(&["status", "--output", "json"]);
    assert_eq!(s.code, 0, "{moment}: not in sync: {}", s.stdout);
    let c = emu.clients();
    assert_eq!(
        rt().block_on(live_keys(&c, stack)),
        1,
        "{moment}: one key, not two"
    );
    let x = p.run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(x.code, 0, "{moment}: destroy: {x:?}");
    let left = rt().block_on(leftovers(&c, stack));
    assert!(left.is_empty(), "{moment}: left behind: {left:?}");
}

#[test]
fn sigkill_at_ten_moments_of_a_deploy_then_one_deploy_converges() {
    let emu = Emulators::start();
    let proxy = Proxy::start(&emu.moto.url, None);
    let mut p = Project::new(&emu, &config("crash", ""));
    p.moto_url = proxy.url.clone();

    // How many requests a cold deploy makes through the proxy, to spread the moments over it.
    let before = proxy.requests().len();
    assert_eq!(p.run(&["deploy", "--no-progress"]).code, 0);
    let total = proxy.requests().len() - before;
    assert_eq!(p.run(&["destroy", "--yes", "--no-progress"]).code, 0);
    assert!(total > 40, "a cold deploy makes {total} calls");

    let state = p.path(".secauto/crash/us-east-1.json");
    for i in 1..=10 {
        let calls = total * i / 11;
        let mut child = deploy_until(&p, &proxy, |seen| seen.len() >= calls);
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            !finished,
            "moment {i}: the deploy ended before call {calls} of {total}"
        );
        let lost = i % 2 == 0;
        if lost {
            let _ = std::fs::remove_file(&state);
        }
        let moment = format!(
            "SIGKILL after call {calls} of {total}{}",
            if lost { ", state file lost" } else { "" }
        );
        converges_then_destroys(&p, &emu, "crash", &moment);
    }
}

#[test]
fn sigterm_finishes_what_is_in_flight_writes_the_state_and_releases_the_lock() {
    let emu = Emulators::start();
    let proxy = Proxy::start(&emu.moto.url, None);
    let mut p = Project::new(&emu, &config("term", ""));
    p.moto_url = proxy.url.clone();
    // Once the walk has begun creating (the queue is among the first), with more to come.
    let child = deploy_until(&p, &proxy, |seen| {
        seen.iter().any(|r| r.ends_with("AmazonSQS.CreateQueue"))
    });
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("SIGTERM: stopping"), "{stderr}");
    assert!(
        stdout.contains("not started: the run was interrupted"),
        "{stdout}"
    );
    let state = p.path(".secauto/term/us-east-1.json");
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap())
            .expect("a whole state file");
    assert!(
        !recorded["resources"].as_object().unwrap().is_empty(),
        "what completed is recorded"
    );
    assert!(
        !p.path(".secauto/term/us-east-1.json.lock").exists(),
        "the lock is released"
    );
    converges_then_destroys(&p, &emu, "term", "SIGTERM after CreateQueue");
}

#[test]
fn a_key_created_by_a_run_killed_before_naming_it_is_adopted_not_doubled() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("orphan", ""));
    let c = emu.clients();
    // What a run killed between kms:CreateKey and kms:CreateAlias leaves: a tagged key, no alias.
    let orphan = rt().block_on(async {
        c.kms
            .create_key()
            .tags(
                aws_sdk_kms::types::Tag::builder()
                    .tag_key(secauto::resources::STACK_TAG)
                    .tag_value("orphan")
                    .build()
                    .unwrap(),
            )
            .tags(
                aws_sdk_kms::types::Tag::builder()
                    .tag_key(secauto::resources::REGION_TAG)
                    .tag_value(common::REGION)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap()
            .key_id
    });
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    rt().block_on(async {
        let named = c
            .kms
            .describe_key()
            .key_id("alias/orphan")
            .send()
            .await
            .unwrap();
        assert_eq!(
            named.key_metadata.unwrap().key_id,
            orphan,
            "the orphan was named"
        );
        assert_eq!(live_keys(&c, "orphan").await, 1);
    });
    // And destroy finds such a key even when nothing names it.
    rt().block_on(async {
        c.kms
            .delete_alias()
            .alias_name("alias/orphan")
            .send()
            .await
            .unwrap();
    });
    let x = p.run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(x.code, 0, "{x:?}");
    assert_eq!(rt().block_on(live_keys(&c, "orphan")), 0);
    assert!(rt().block_on(leftovers(&c, "orphan")).is_empty());
}
