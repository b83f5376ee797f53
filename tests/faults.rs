//! Under faults: every request to the emulators goes through a proxy that fails 20% of them the
//! way AWS does (throttling in each protocol's own error format — CloudWatch's is CBOR —, 500, 503,
//! a connection closed without an answer). deploy, status and destroy must still converge, in each
//! of ten seeded runs, and leave nothing behind.

mod common;

use std::sync::Arc;

use common::{config, leftovers, rt, Emulators, Project};
use secauto_testkit::proxy::{Faults, LambdaDeadLetterShim, Proxy};

const RATE: f64 = 0.2;

fn run_seed(emu: &Emulators, seed: u64) -> Vec<String> {
    let stack = format!("fault{seed}");
    let moto = Proxy::start_with(&emu.moto.url, None, Some(Faults::new(RATE, seed)));
    let lambda = Proxy::start_with(
        &emu.moto.url,
        Some(Arc::new(LambdaDeadLetterShim::default())),
        Some(Faults::new(RATE, seed + 1000)),
    );
    let cloudwatch = Proxy::start_with(
        &emu.ministack.url,
        None,
        Some(Faults::new(RATE, seed + 2000)),
    );
    let mut p = Project::new(emu, &config(&stack, ""));
    p.moto_url = moto.url.clone();
    p.lambda_url = lambda.url.clone();
    p.cloudwatch_url = cloudwatch.url.clone();

    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "seed {seed}: deploy did not converge: {d:?}");
    let s = p.run(&["status", "--no-progress"]);
    assert_eq!(s.code, 0, "seed {seed}: status: {s:?}");
    let x = p.run(&["destroy", "--yes", "--no-progress"]);
    assert_eq!(x.code, 0, "seed {seed}: destroy did not converge: {x:?}");
    let left = rt().block_on(leftovers(&emu.clients(), &stack));
    assert!(left.is_empty(), "seed {seed}: left behind: {left:?}");

    let injected: Vec<String> = [&moto, &lambda, &cloudwatch]
        .iter()
        .flat_map(|p| p.injected())
        .collect();
    for kind in ["Throttle", "Internal", "Unavailable", "Reset"] {
        assert!(
            injected.iter().any(|f| f.starts_with(kind)),
            "seed {seed}: no {kind} fault was injected: {injected:?}"
        );
    }
    injected
}

#[test]
fn deploy_status_and_destroy_converge_with_a_fifth_of_requests_failing() {
    let emu = Emulators::start();
    // Two runners at once (the emulators serve many stacks); five seeds each.
    let emu = &emu;
    let injected: Vec<String> = std::thread::scope(|scope| {
        let runners: Vec<_> = [0u64, 1]
            .into_iter()
            .map(|runner| {
                scope.spawn(move || {
                    (0..5)
                        .flat_map(|i| run_seed(emu, 2 * i + runner + 1))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        runners
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect()
    });
    // SNS throttles its own way (`Throttled`, HTTP 429); CloudWatch's errors are CBOR.
    for kind in [
        "Throttle sns",
        "Throttle monitoring",
        "Reset monitoring",
        "Throttle lambda",
    ] {
        assert!(
            injected.iter().any(|f| f.starts_with(kind)),
            "no {kind} fault was injected"
        );
    }
    eprintln!(
        "10 seeded runs converged through {} injected faults",
        injected.len()
    );
}
