//! Fleet speed against the emulators with a fixed latency added to every call: a deploy of 8
//! targets (an administrator and three members, each in two regions) in one run, against the same 8
//! targets deployed one after another (`--target`, one run each), and the same for destroy. Run by
//! `bash scripts/bench.sh`; `cargo test` builds it but skips it (it prints figures).

mod common;

use std::time::Instant;

use common::{config, latency_proxy, Emulators, Project};
use secauto_testkit::proxy::Proxy;

const MEMBERS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
const REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];

fn fleet_config() -> String {
    let mut extra = String::from(
        "[[targets]]\nrole = \"administrator\"\nregions = [\"us-east-1\", \"us-west-2\"]\n\n",
    );
    for m in MEMBERS {
        extra.push_str(&format!(
            "[[targets]]\nrole = \"member\"\nrole_arn = \"arn:aws:iam::{m}:role/secauto-deploy\"\nregions = [\"us-east-1\", \"us-west-2\"]\n\n"
        ));
    }
    config("fleet", &extra)
}

#[test]
#[ignore = "a benchmark: bash scripts/bench.sh"]
fn fleet_benchmark() {
    let latency = common::bench_latency();
    let ms = latency.as_millis();
    let emu = Emulators::start();
    let proxies: Vec<Proxy> = [&emu.moto.url, &emu.lambda.url, &emu.ministack.url]
        .iter()
        .map(|u| latency_proxy(u, latency))
        .collect();
    let mut p = Project::new(&emu, &fleet_config());
    p.moto_url = proxies[0].url.clone();
    p.lambda_url = proxies[1].url.clone();
    p.cloudwatch_url = proxies[2].url.clone();
    let run = |args: &[&str]| -> f64 {
        let start = Instant::now();
        let r = p.run(args);
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
        start.elapsed().as_secs_f64()
    };
    let targets: Vec<String> = ["123456789012"]
        .iter()
        .chain(MEMBERS.iter())
        .flat_map(|a| REGIONS.iter().map(move |r| format!("{a}/{r}")))
        .collect();
    // Warm the emulators up, then measure.
    run(&["deploy", "--no-progress"]);
    run(&["destroy", "--yes", "--no-progress"]);
    let fleet_deploy = run(&["deploy", "--no-progress"]);
    let fleet_noop = run(&["deploy", "--no-progress"]);
    let fleet_destroy = run(&["destroy", "--yes", "--no-progress"]);
    let one_by_one = |verb: &[&str]| -> f64 {
        targets
            .iter()
            .map(|t| {
                let mut args = verb.to_vec();
                args.extend(["--no-progress", "--target", t.as_str()]);
                run(&args)
            })
            .sum()
    };
    let seq_deploy = one_by_one(&["deploy"]);
    let seq_noop = one_by_one(&["deploy"]);
    let seq_destroy = one_by_one(&["destroy", "--yes"]);
    println!(
        "secauto fleet benchmark: {} targets (administrator + 3 members, 2 regions each), {ms} ms added to every call",
        targets.len()
    );
    println!(
        "{:<14} {:>12} {:>16} {:>8}",
        "", "fleet s", "one by one s", "speed-up"
    );
    for (name, fleet, seq) in [
        ("cold deploy", fleet_deploy, seq_deploy),
        ("no-op deploy", fleet_noop, seq_noop),
        ("destroy", fleet_destroy, seq_destroy),
    ] {
        println!("{name:<14} {fleet:>12.2} {seq:>16.2} {:>7.1}x", seq / fleet);
    }
}
