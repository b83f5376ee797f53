//! Each function's reserved concurrency (`[lambda.reserved_concurrency]`), on moto's Lambda
//! (PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency, and GetFunction's
//! Concurrency): deployed, shown as drift when changed out of band, restored, removed by 0, and a
//! reservation the account cannot afford (moto enforces the 100 unreserved executions when
//! `MOTO_LAMBDA_CONCURRENCY_QUOTA` is set) refused with the fix.

mod common;

use common::{config, rt, Emulators, Project};

const FUNCTIONS: [&str; 4] = ["triage", "remediation", "notification", "error-handler"];

/// Each function's reservation, as GetFunctionConcurrency reports it.
fn reservations(emu: &Emulators, stack: &str) -> Vec<(String, Option<i32>)> {
    let c = emu.clients();
    rt().block_on(async {
        let mut out = Vec::new();
        for f in FUNCTIONS {
            let name = format!("{stack}-{f}");
            let r = c
                .lambda
                .get_function_concurrency()
                .function_name(&name)
                .send()
                .await
                .unwrap()
                .reserved_concurrent_executions;
            out.push((name, r));
        }
        out
    })
}

fn expect(stack: &str, values: [Option<i32>; 4]) -> Vec<(String, Option<i32>)> {
    FUNCTIONS
        .iter()
        .zip(values)
        .map(|(f, v)| (format!("{stack}-{f}"), v))
        .collect()
}

#[test]
fn reserved_concurrency_is_deployed_shown_as_drift_and_restored() {
    let emu = Emulators::start();
    let p = Project::new(&emu, &config("rc", ""));
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    assert_eq!(
        reservations(&emu, "rc"),
        expect("rc", [Some(5), Some(3), Some(5), Some(2)])
    );

    // Changed out of band: remediation raised to 50, triage's reservation removed.
    let c = emu.clients();
    rt().block_on(async {
        c.lambda
            .put_function_concurrency()
            .function_name("rc-remediation")
            .reserved_concurrent_executions(50)
            .send()
            .await
            .unwrap();
        c.lambda
            .delete_function_concurrency()
            .function_name("rc-triage")
            .send()
            .await
            .unwrap();
    });
    let plan = p.run(&["plan", "--no-progress"]);
    assert_eq!(plan.code, 2, "{plan:?}");
    for changed in ["~ lambda_function.remediation", "~ lambda_function.triage"] {
        assert!(plan.stdout.contains(changed), "{changed}: {}", plan.stdout);
    }
    assert!(
        plan.stdout.contains("reserved_concurrency"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("~ lambda_function.notification"),
        "{}",
        plan.stdout
    );
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    assert_eq!(
        reservations(&emu, "rc"),
        expect("rc", [Some(5), Some(3), Some(5), Some(2)])
    );
    let status = p.run(&["status"]);
    assert_eq!(status.code, 0, "{status:?}");

    // 0 leaves a function unreserved: its reservation is removed.
    p.write_config(&config(
        "rc",
        "[lambda.reserved_concurrency]\nnotification = 0\n",
    ));
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    assert_eq!(
        reservations(&emu, "rc"),
        expect("rc", [Some(5), Some(3), None, Some(2)])
    );
    assert_eq!(p.run(&["plan", "--no-progress"]).code, 0);
    assert_eq!(p.run(&["destroy", "--yes", "--no-progress"]).code, 0);
}

#[test]
fn a_reservation_the_account_cannot_afford_is_refused_with_the_fix() {
    // An account limit of 110: 10 may be reserved, the defaults ask for 15.
    let emu = Emulators::start_with(&[("MOTO_LAMBDA_CONCURRENCY_QUOTA", "110")]);
    let p = Project::new(&emu, &config("poor", ""));
    let d = p.run(&["deploy", "--no-progress"]);
    assert_ne!(d.code, 0, "{d:?}");
    let text = format!("{}{}", d.stdout, d.stderr);
    for needle in [
        "lambda:PutFunctionConcurrency",
        "fewer than the 100 unreserved",
        "[lambda.reserved_concurrency]",
        "set it to 0",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }

    // Unreserved everywhere, the same account deploys.
    p.write_config(&config(
        "poor",
        "[lambda.reserved_concurrency]\ntriage = 0\nremediation = 0\nnotification = 0\nerror_handler = 0\n",
    ));
    let d = p.run(&["deploy", "--no-progress"]);
    assert_eq!(d.code, 0, "{d:?}");
    assert_eq!(reservations(&emu, "poor"), expect("poor", [None; 4]));
    assert_eq!(p.run(&["destroy", "--yes", "--no-progress"]).code, 0);
}

/// Answers GetAccountSettings (which moto lacks) as Lambda does for an account limited to 110
/// concurrent executions, none reserved.
struct SmallAccount;

impl secauto_testkit::proxy::Shim for SmallAccount {
    fn answer_instead(
        &self,
        request: &secauto_testkit::proxy::Message,
    ) -> Option<secauto_testkit::proxy::Message> {
        let (method, path) = request.method_path();
        if method != "GET" || !path.contains("/account-settings") {
            return None;
        }
        let mut m = secauto_testkit::proxy::Message {
            start: "HTTP/1.1 200 OK".into(),
            ..Default::default()
        };
        m.set_header("Content-Type", "application/json");
        m.body = br#"{"AccountLimit":{"ConcurrentExecutions":110,"UnreservedConcurrentExecutions":110,"TotalCodeSize":80530636800,"CodeSizeUnzipped":262144000,"CodeSizeZipped":52428800},"AccountUsage":{"TotalCodeSize":0,"FunctionCount":0}}"#.to_vec();
        Some(m)
    }

    fn respond(
        &self,
        _: &secauto_testkit::proxy::Message,
        _: &mut secauto_testkit::proxy::Message,
    ) {
    }
}

#[test]
fn mocked_a_reservation_the_account_cannot_afford_is_refused_before_anything_is_made() {
    let emu = Emulators::start();
    let settings = secauto_testkit::proxy::Proxy::start(
        &emu.lambda.url,
        Some(std::sync::Arc::new(SmallAccount)),
    );
    let p = Project::new(&emu, &config("small", ""));
    let d = p.run_with(
        &["deploy", "--no-progress"],
        &[("AWS_ENDPOINT_URL_LAMBDA", &settings.url)],
    );
    assert_ne!(d.code, 0, "{d:?}");
    let text = format!("{}{}", d.stdout, d.stderr);
    for needle in [
        "deploy changed nothing",
        "reserves 15 more concurrent executions",
        "95 unreserved of its 110",
        "set each to 0",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let functions = rt().block_on(async {
        emu.clients()
            .lambda
            .list_functions()
            .send()
            .await
            .unwrap()
            .functions()
            .len()
    });
    assert_eq!(functions, 0, "nothing was made before the refusal");
}
