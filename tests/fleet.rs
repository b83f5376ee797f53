//! A fleet against moto's accounts (AssumeRole into another account id yields that account): an
//! administrator and three members, each in two regions — 8 targets run concurrently.

mod common;

use common::{config, leftovers, rt, Emulators, Project};
use std::collections::BTreeSet;

use serde_json::Value;

const MEMBERS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
const CALLER: &str = "123456789012";
const REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];

fn fleet_config(stack: &str) -> String {
    let mut extra = String::from(
        "[[targets]]\nrole = \"administrator\"\nregions = [\"us-east-1\", \"us-west-2\"]\n\n",
    );
    for m in MEMBERS {
        extra.push_str(&format!(
            "[[targets]]\nrole = \"member\"\nrole_arn = \"arn:aws:iam::{m}:role/secauto-deploy\"\nexternal_id = \"fleet-7\"\nregions = [\"us-east-1\", \"us-west-2\"]\n\n"
        ));
    }
    config(stack, &extra)
}

/// `(account/region, exit code)` of every target in an aggregated JSON result.
fn outcomes(run: &Value) -> Vec<(String, u64)> {
    run["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| {
            (
                format!(
                    "{}/{}",
                    t["account"].as_str().unwrap(),
                    t["region"].as_str().unwrap()
                ),
                t["exit_code"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn failed(run: &Value) -> Vec<String> {
    run["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter(|t| t["exit_code"] != 0)
        .map(|t| t.to_string())
        .collect()
}

#[test]
fn a_fleet_of_eight_targets_deploys_reports_one_drift_repairs_it_and_destroys() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &fleet_config("org"));

    let d = p.run(&["deploy", "--output", "json"]);
    assert_eq!(d.code, 0, "{}\n{}", d.stderr, failed(&d.json()).join("\n"));
    let json = d.json();
    assert_eq!(json["format_version"], 1);
    assert_eq!(outcomes(&json).len(), 8, "{}", d.stdout);
    // One progress line per target on stderr.
    assert_eq!(d.stderr.matches("  ok ").count(), 8, "{}", d.stderr);

    // The member role in every member account-region trusts the administrator's remediation role
    // with the external id; the administrator's other region holds a member stack too.
    rt().block_on(async {
        for (account, region) in MEMBERS
            .iter()
            .map(|a| Some(*a))
            .chain([Some(CALLER)])
            .flat_map(|a| REGIONS.iter().map(move |r| (a, *r)))
        {
            if account == Some(CALLER) && region == "us-east-1" {
                continue;
            }
            let c = emu.clients_in(account, region).await;
            let role = c
                .iam
                .get_role()
                .role_name(format!("org-{region}-member"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("no member role in {account:?} {region}: {e:?}"));
            let trust = role.role().unwrap().assume_role_policy_document().unwrap();
            let trust = percent_encoding::percent_decode_str(trust).decode_utf8_lossy();
            assert!(trust.contains("arn:aws:iam::123456789012:root"), "{trust}");
            assert!(
                trust.contains("arn:aws:iam::123456789012:role/org-us-east-1-remediation"),
                "{trust}"
            );
            assert!(trust.contains("secauto-org-123456789012"), "{trust}");
            c.ssm
                .describe_document()
                .name("org-isolate-instance")
                .send()
                .await
                .unwrap_or_else(|e| panic!("no isolation document in {account:?} {region}: {e:?}"));
        }
        // The administrator's remediation function knows the fleet.
        let c = emu.clients_in(None, "us-east-1").await;
        let f = c
            .lambda
            .get_function_configuration()
            .function_name("org-remediation")
            .send()
            .await
            .unwrap();
        let env = f.environment().unwrap().variables().unwrap();
        assert_eq!(
            env.get("SECAUTO_FLEET").map(String::as_str),
            Some("111111111111=us-east-1+us-west-2,123456789012=us-west-2,222222222222=us-east-1+us-west-2,333333333333=us-east-1+us-west-2"),
        );
        // Members have no functions.
        let m = emu.clients_in(Some("222222222222"), "us-west-2").await;
        assert!(m
            .lambda
            .get_function_configuration()
            .function_name("org-remediation")
            .send()
            .await
            .is_err());
    });
    for account in MEMBERS {
        for region in REGIONS {
            assert!(
                p.path(&format!(".secauto/org/{account}/{region}.json"))
                    .exists(),
                "one state per target"
            );
        }
    }

    let s = p.run(&["status", "--output", "json"]);
    assert_eq!(s.code, 0, "{}", failed(&s.json()).join("\n"));

    // verify on every target at once, one result: a member stack has no path of its own; the
    // administrator's is followed (moto runs no function: its triage hop fails, named, and exits 1)
    // and what verify made is removed (the sweep at the end finds nothing left).
    let v = p.run(&["verify", "--timeout", "3", "--output", "json"]);
    assert_eq!(v.code, 1, "{}{}", v.stdout, v.stderr);
    let json = v.json();
    assert_eq!(json["command"], "verify");
    let targets = json["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 8, "{json:#}");
    for t in targets {
        let hops = t["result"]["hops"]
            .as_array()
            .unwrap_or_else(|| panic!("{t}"));
        if t["account"] == CALLER && t["region"] == "us-east-1" {
            assert_eq!(t["exit_code"], 1, "{t}");
            let triage = hops.iter().find(|h| h["name"] == "triage").unwrap();
            assert_eq!(triage["ok"], false, "{t}");
            assert_eq!(hops.last().unwrap()["name"], "clean-up", "{t}");
            assert_eq!(hops.last().unwrap()["ok"], true, "{t}");
        } else {
            assert_eq!(t["exit_code"], 0, "{t}");
            assert_eq!(hops[0]["name"], "member", "{t}");
        }
    }

    // Drift in one member: its isolation document is deleted out of band.
    rt().block_on(async {
        emu.clients_in(Some("222222222222"), "us-west-2")
            .await
            .ssm
            .delete_document()
            .name("org-isolate-instance")
            .send()
            .await
            .unwrap();
    });
    let s = p.run(&["status", "--output", "json"]);
    assert_eq!(s.code, 2, "{}", s.stdout);
    let drifted: Vec<(String, u64)> = outcomes(&s.json())
        .into_iter()
        .filter(|(_, c)| *c != 0)
        .collect();
    assert_eq!(
        drifted,
        vec![("222222222222/us-west-2".to_string(), 2)],
        "only that target"
    );
    let text = p.run(&["status"]);
    assert_eq!(text.code, 2);
    assert!(
        text.stdout
            .contains("1 not in sync (member 222222222222/us-west-2)"),
        "{}",
        text.stdout
    );

    // deploy repairs exactly it; a second deploy changes nothing anywhere.
    let d = p.run(&["deploy", "--output", "json"]);
    assert_eq!(d.code, 0, "{}", failed(&d.json()).join("\n"));
    let created: Vec<String> = d.json()["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["result"]["changes"]["create"] != 0)
        .map(|t| {
            format!(
                "{}/{} {}",
                t["account"], t["region"], t["result"]["changes"]
            )
        })
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert!(created[0].contains("222222222222"), "{created:?}");
    let s = p.run(&["status"]);
    assert_eq!(s.code, 0, "{}", s.stdout);

    // One target's state is locked by another run: the others go on; it is named with its error.
    let lock = p.path(".secauto/org/333333333333/us-east-1.json.lock");
    std::fs::write(
        &lock,
        r#"{"id":"5ca1ab1e","host":"ci-runner-9","pid":4242,"command":"secauto deploy","since":"2026-11-28T00:00:00Z"}"#,
    )
    .unwrap();
    let d = p.run(&["deploy", "--output", "json"]);
    assert_eq!(d.code, 1, "{}", d.stdout);
    let json = d.json();
    let bad: Vec<&Value> = json["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["exit_code"] != 0)
        .collect();
    assert_eq!(bad.len(), 1, "{}", d.stdout);
    assert_eq!(bad[0]["account"], "333333333333");
    assert_eq!(bad[0]["region"], "us-east-1");
    assert!(
        bad[0]["error"].as_str().unwrap().contains("ci-runner-9"),
        "{}",
        bad[0]
    );
    std::fs::remove_file(&lock).unwrap();

    // --target runs one target alone.
    let one = p.run(&[
        "plan",
        "--target",
        "111111111111/us-west-2",
        "--output",
        "json",
    ]);
    assert_eq!(one.code, 0, "{}", one.stdout);
    assert_eq!(
        outcomes(&one.json()),
        vec![("111111111111/us-west-2".to_string(), 0)]
    );

    let x = p.run(&["destroy", "--yes", "--output", "json"]);
    assert_eq!(x.code, 0, "{}", failed(&x.json()).join("\n"));

    // A member stack's whole life: every call made as the member deploy role (signed with the
    // assumed role's credentials, not the caller's) is one the README lists for that role.
    let called = member_life_calls(&emu, &p);
    assert!(called.contains("iam:DeleteRolePolicy"), "{called:?}");
    let listed = common::readme::member_permissions();
    let unlisted: Vec<&String> = called
        .iter()
        // "No permissions are required to perform this operation" (STS API reference).
        .filter(|a| *a != "sts:GetCallerIdentity" && !listed.contains(*a))
        .collect();
    assert!(
        unlisted.is_empty(),
        "called as the member deploy role but not in the README's list: {unlisted:?} (called: {called:?})"
    );
    rt().block_on(async {
        for account in MEMBERS.iter().map(|a| Some(*a)).chain([None]) {
            for region in REGIONS {
                let c = emu.clients_in(account, region).await;
                let left = leftovers(&c, "org").await;
                assert!(left.is_empty(), "left in {account:?} {region}: {left:?}");
            }
        }
    });
}

/// The IAM actions of one member target's deploy, status and destroy that were made as the member
/// deploy role. Between status and destroy, someone puts an inline policy on the member role: destroy
/// deletes it. (A user or group holding the member policy is detached only when IAM refuses
/// DeletePolicy with DeleteConflict, which moto does not: tests/mocked_iam.rs records those calls.)
fn member_life_calls(emu: &Emulators, p: &Project) -> BTreeSet<String> {
    const TARGET: &str = "222222222222/us-west-2";
    let run = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--target", TARGET]);
        let r = p.run(&args);
        assert_eq!(r.code, 0, "{args:?} {r:?}");
    };
    emu.record();
    run(&["deploy", "--no-progress"]);
    run(&["status"]);
    let mut requests = emu.requests();
    rt().block_on(async {
        let iam = emu.clients_in(Some("222222222222"), "us-west-2").await.iam;
        let role = "org-us-west-2-member";
        iam.put_role_policy()
            .role_name(role)
            .policy_name("added-by-hand")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeRegions","Resource":"*"}]}"#)
            .send()
            .await
            .unwrap();
    });
    emu.record();
    run(&["destroy", "--yes", "--no-progress"]);
    requests.extend(emu.requests());
    requests
        .iter()
        .filter(|r| r.access_key() != "testing")
        .map(|r| r.iam_action().unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn a_fleet_config_is_checked_before_any_call() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("bad", ""));
    // Every request to moto (IAM, STS, SSM, Lambda...) and to ministack (CloudWatch) from here on.
    emu.record();
    p.write_config(
        &config(
            "bad",
            "[[targets]]\nrole = \"member\"\nrole_arn = \"arn:aws:iam::1:role/x\"\nregions = []\n\n[[targets]]\nrole = \"member\"\nregions = [\"us-east-1\", \"us-east-1\"]\n",
        ),
    );
    let r = p.run(&["plan"]);
    assert_eq!(r.code, 1);
    for needle in [
        "has 0 administrators",
        "is not an IAM role ARN",
        "regions is empty",
        "is listed twice",
    ] {
        assert!(r.stderr.contains(needle), "{needle}: {}", r.stderr);
    }
    p.write_config(&config(
        "bad",
        "[[targets]]\nrole = \"administrator\"\nregions = [\"us-east-1\"]\n",
    ));
    let r = p.run(&["plan", "--out", "plan.json"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("a fleet"), "{}", r.stderr);
    let calls = emu.actions();
    assert!(calls.is_empty(), "a rejected config made calls: {calls:?}");
    // Which account a target without role_arn is needs the caller's identity, and nothing else.
    let r = p.run(&["status", "--target", "999999999999"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("names no target"), "{}", r.stderr);
    let calls = emu.actions();
    assert!(
        calls.iter().all(|a| a == "sts:GetCallerIdentity"),
        "an unknown --target made calls: {calls:?}"
    );
}

#[test]
fn validate_checks_a_fleet_offline() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secauto.toml"), fleet_config("org")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_secauto"))
        .arg("validate")
        .current_dir(dir.path())
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("a fleet of 8 account-regions, each member stack 7 resources"),
        "{stdout}"
    );
}
