//! Deploy speed against the emulators with a fixed latency added to every call (a stand-in for a
//! region's round trip): cold deploy, no-op deploy and destroy — wall time and calls of each — and
//! the critical-path bound: (longest dependency chain + the identity round + the two discovery
//! rounds) × latency. Run by `bash scripts/bench.sh` (`SECAUTO_BENCH_LATENCY_MS`, default 100);
//! `cargo test` builds it but skips it: it prints figures and asserts only that every run succeeds.

mod common;

use std::time::{Duration, Instant};

use common::{config, is_mutating, latency_proxy, Emulators, Project};

struct Figures {
    seconds: f64,
    calls: usize,
}

#[test]
#[ignore = "a benchmark: bash scripts/bench.sh"]
fn deploy_benchmark() {
    let latency = common::bench_latency();
    let ms = latency.as_millis();
    let emu = Emulators::start();
    let cfg = config("bench", "");
    // The same runs with no latency added: what the emulators and the CLI themselves take.
    let zero = measure(&emu, &cfg, Duration::ZERO);
    let with = measure(&emu, &cfg, latency);
    let parsed = secauto::config::Config::parse(&cfg, "bench").expect("config");
    let stack = secauto::stack::build(
        &parsed,
        "123456789012",
        common::REGION,
        secauto::stack::Code::NotNeeded,
    )
    .expect("stack");
    let chain = secauto::graph::levels(&stack.edges()).expect("graph").len();
    let rounds = chain + 1 + 2;
    let bound = rounds as f64 * latency.as_secs_f64();
    let lat = latency.as_secs_f64();

    println!(
        "secauto deploy benchmark: {} resources, {ms} ms added to every call",
        stack.resources.len()
    );
    println!(
        "critical-path bound: (longest chain {chain} + identity 1 + discovery 2) x {ms} ms = {bound:.2} s"
    );
    println!(
        "{:<28} {:>8} {:>7} {:>9} {:>9} {:>8}",
        "", "seconds", "calls", "no-lat s", "latency", "x bound"
    );
    let names = [
        "cold deploy",
        "no-op deploy",
        "destroy",
        "cold deploy, parallelism 1",
        "destroy, parallelism 1",
    ];
    let net = |i: usize| (with.runs[i].seconds - zero.runs[i].seconds).max(0.0);
    for (i, name) in names.iter().enumerate() {
        println!(
            "{name:<28} {:>8.2} {:>7} {:>9.2} {:>9.2} {:>8.2}",
            with.runs[i].seconds,
            with.runs[i].calls,
            zero.runs[i].seconds,
            net(i),
            net(i) / bound
        );
    }
    println!(
        "(latency = seconds minus the same run with no latency added: what the walk's shape costs)"
    );
    println!(
        "no-op deploy: {:.1} rounds of latency, {} mutating calls",
        net(1) / lat,
        with.noop_mutating
    );
    println!(
        "destroy / cold deploy: {:.2} (latency only: {:.2})",
        with.runs[2].seconds / with.runs[0].seconds,
        net(2) / net(0)
    );
}

struct Measured {
    runs: Vec<Figures>,
    noop_mutating: usize,
}

/// Cold deploy, no-op deploy, destroy, and both at `--parallelism 1`, with `latency` on every call.
fn measure(emu: &Emulators, cfg: &str, latency: Duration) -> Measured {
    let proxies = [
        latency_proxy(&emu.moto.url, latency),
        latency_proxy(&emu.lambda.url, latency),
        latency_proxy(&emu.cloudwatch.url, latency),
    ];
    let calls = || proxies.iter().map(|p| p.requests().len()).sum::<usize>();
    let mut p = Project::new(emu, cfg);
    p.moto_url = proxies[0].url.clone();
    p.lambda_url = proxies[1].url.clone();
    p.cloudwatch_url = proxies[2].url.clone();
    let run = |args: &[&str]| -> Figures {
        let before = calls();
        let start = Instant::now();
        let r = p.run(args);
        let seconds = start.elapsed().as_secs_f64();
        assert_eq!(r.code, 0, "{args:?}: {r:?}");
        Figures {
            seconds,
            calls: calls() - before,
        }
    };
    // Warm the emulators up (first requests of a service are slow in moto), then measure.
    run(&["deploy", "--no-progress"]);
    run(&["destroy", "--yes", "--no-progress"]);
    let cold = run(&["deploy", "--no-progress"]);
    emu.record();
    let noop = run(&["deploy", "--no-progress"]);
    let noop_mutating = emu
        .recorded()
        .into_iter()
        .filter(|o| is_mutating(o))
        .count();
    let destroy = run(&["destroy", "--yes", "--no-progress"]);
    let serial_cold = run(&["deploy", "--no-progress", "--parallelism", "1"]);
    let serial_destroy = run(&["destroy", "--yes", "--no-progress", "--parallelism", "1"]);
    Measured {
        runs: vec![cold, noop, destroy, serial_cold, serial_destroy],
        noop_mutating,
    }
}
