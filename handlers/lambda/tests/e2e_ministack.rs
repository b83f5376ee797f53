//! End to end, with the handlers really running: ministack runs the `bootstrap` built by this package
//! as provided.al2023 functions and delivers EventBridge events to them and SNS messages to SQS.
//!
//! The stack is deployed with secauto itself (ministack serves IAM, SNS, SQS, Lambda, EventBridge and
//! CloudWatch; moto serves the SSM document ministack lacks). EventBridge refuses `aws.*` sources from
//! PutEvents, so the test hands the real "Security Hub Findings - Imported" envelope to the triage
//! function (as the findings rule would); from there on everything travels for real: triage → PutEvents
//! → the remediation rule → remediation and notification → SNS → an SQS subscription.
//! Security Hub exists in no emulator: the functions' Security Hub endpoint is a loopback listener in
//! this test that records each BatchUpdateFindings and answers "all processed" (the requests' exact
//! shape is asserted with aws-smithy-mocks in mocked_apis.rs).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secauto::aws::{Clients, Connection};
use secauto_testkit::{ministack_with, moto};
use serde_json::{json, Value};

/// A loopback HTTP listener standing in for Security Hub: GetFindings answers the findings in
/// `known`, anything else an empty BatchUpdateFindings result.
type Known = Arc<Mutex<Vec<Value>>>;
fn securityhub_listener() -> (String, Arc<Mutex<Vec<String>>>, Known) {
    let known: Known = Arc::default();
    let answers = known.clone();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let mut len = 0;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            log.lock().unwrap().push(format!(
                "{} {}",
                line.trim(),
                String::from_utf8_lossy(&body)
            ));
            let out = if line.starts_with("POST /findings ") {
                json!({"Findings": *answers.lock().unwrap()}).to_string()
            } else {
                r#"{"ProcessedFindings":[],"UnprocessedFindings":[]}"#.to_string()
            };
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{out}",
                out.len()
            );
        }
    });
    (url, seen, known)
}

async fn secauto(args: &[&str]) -> u8 {
    secauto::run_args(args).await.unwrap()
}

#[test]
fn e2e_finding_event_reaches_the_sqs_subscription_through_the_real_handlers() {
    // The scenario is one large future: boxed, it lives on the heap, not the test thread's stack.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(Box::pin(scenario()));
}

async fn scenario() {
    // This test binary has this one test: setting the process environment is safe here.
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let (sh_url, securityhub, known) = securityhub_listener();
    let mini = ministack_with(&[
        ("AWS_ENDPOINT_URL_SECURITYHUB", &sh_url),
        ("LAMBDA_EXECUTOR", "local"),
    ]);
    let moto = moto();

    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("bundles");
    secauto::bundle::write_bundles(
        std::path::Path::new(env!("CARGO_BIN_EXE_bootstrap")),
        &artifacts,
        secauto::stack::FUNCTIONS,
    )
    .unwrap();
    let config = dir.path().join("secauto.toml");
    std::fs::write(
        &config,
        format!(
            r#"[stack]
name = "e2e"
region = "us-east-1"
[securityhub]
automation_rules = false
custom_actions = false
[notifications]
sqs = ["arn:aws:sqs:us-east-1:000000000000:e2e-inbox"]
[lambda]
artifacts_dir = "{}"
role_propagation_timeout_seconds = 0
[endpoints]
ssm = "{}"
"#,
            artifacts.display(),
            moto.url
        ),
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let common = [
        "--config",
        config.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--endpoint-url",
        &mini.url,
        "--no-progress",
        "--output",
        "json",
    ];

    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_eventbridge::config::SharedCredentialsProvider::new(
            aws_sdk_eventbridge::config::Credentials::new("test", "test", None, None, "tests"),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let c = Clients::new(
        &sdk,
        &Connection {
            endpoint_url: Some(mini.url.clone()),
            ..Connection::default()
        },
    );
    let inbox = c
        .sqs
        .create_queue()
        .queue_name("e2e-inbox")
        .send()
        .await
        .unwrap();
    let inbox = inbox.queue_url().unwrap().to_string();

    let mut args = vec!["deploy"];
    args.extend(common);
    assert_eq!(secauto(&args).await, 0, "deploy");

    // A real published finding: CIS 4.1, a security group open to the world on port 22.
    let mut finding = secauto_testkit::corpus_finding("asr-simtest-cis-41.json");
    finding["Workflow"] = json!({"Status": "NEW"});
    finding["RecordState"] = json!("ACTIVE");
    // Remediation re-reads the finding before acting: Security Hub knows it (NOTIFIED by triage).
    let mut marked = finding.clone();
    marked["Workflow"] = json!({"Status": "NOTIFIED"});
    known.lock().unwrap().push(marked);
    let envelope = json!({
        "version": "0", "id": "e2e-1", "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub", "account": "000000000000", "time": "2026-11-27T00:00:00Z",
        "region": "us-east-1", "resources": [finding["Id"].clone()], "detail": {"findings": [finding]}
    });
    let started = Instant::now();
    let out = c
        .lambda
        .invoke()
        .function_name("e2e-triage")
        .payload(aws_sdk_lambda::primitives::Blob::new(envelope.to_string()))
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert!(out.function_error().is_none(), "triage failed: {body}");
    assert_eq!(body["events"], 1, "{body}");
    assert_eq!(body["marked"], 1, "{body}");

    let mut notifications = Vec::new();
    let has = |ns: &Vec<Value>, kind: &str| {
        ns.iter()
            .any(|n| n["MessageAttributes"]["message_type"]["Value"] == kind)
    };
    while started.elapsed() < Duration::from_secs(60)
        && !(has(&notifications, "finding") && has(&notifications, "remediation"))
    {
        let got = c
            .sqs
            .receive_message()
            .queue_url(&inbox)
            .wait_time_seconds(2)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for m in got.messages() {
            notifications.push(serde_json::from_str::<Value>(m.body().unwrap()).unwrap());
        }
    }
    eprintln!("finding → SQS in {:?}", started.elapsed());
    if std::env::var_os("E2E_LOG").is_some() {
        eprintln!("{}", mini.log());
    }
    let kinds: Vec<&str> = notifications
        .iter()
        .filter_map(|n| n["MessageAttributes"]["message_type"]["Value"].as_str())
        .collect();
    assert!(kinds.contains(&"finding"), "{notifications:#?}");
    assert!(kinds.contains(&"remediation"), "{notifications:#?}");
    let note = notifications
        .iter()
        .find(|n| n["MessageAttributes"]["message_type"]["Value"] == "finding")
        .unwrap();
    assert_eq!(
        note["MessageAttributes"]["action"]["Value"],
        "fix-security-group"
    );
    assert_eq!(note["MessageAttributes"]["severity"]["Value"], "HIGH");
    assert!(
        note["Message"].as_str().unwrap().contains("port 22"),
        "{note}"
    );

    let calls = securityhub.lock().unwrap().clone();
    assert!(
        calls.iter().any(|c| c.starts_with("POST /findings ")),
        "remediation re-read the finding: {calls:#?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("PATCH /findings/batchupdate") && c.contains("\"NOTIFIED\"")),
        "{calls:#?}"
    );

    let mut args = vec!["destroy", "--yes"];
    args.extend(common);
    assert_eq!(secauto(&args).await, 0, "destroy");
}
