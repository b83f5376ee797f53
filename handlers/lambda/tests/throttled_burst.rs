//! A burst of 50 findings under Security Hub's rate limits, metered by the testkit proxy in front of
//! moto as Security Hub meters them (token buckets per operation; throttled requests answered with
//! Security Hub's 429 `LimitExceededException`): GetFindings 3 requests a second with bursts of 6,
//! BatchUpdateFindings 10 with bursts of 30. Ten invocations run at once, as ten Lambda instances
//! would, each running the handlers themselves: triage marks its finding NOTIFIED
//! (BatchUpdateFindings) and sends its response event, which remediation handles as EventBridge
//! delivers it — it re-reads the finding (GetFindings), revokes the group's world-open rule in
//! enforce mode and records the outcome (BatchUpdateFindings). Every finding must get through; none
//! may be lost to throttling.
//!
//! moto serves GetFindings and BatchImportFindings but not BatchUpdateFindings: a proxy shim
//! answers that one as Security Hub does (every identifier processed) and records what it updated.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use secauto_handlers::env::Env;
use secauto_handlers::{remediation, triage, Clients};
use secauto_testkit::proxy::{Message, Options, Proxy, Rule, Shim};
use serde_json::{json, Value};

const FINDINGS: usize = 50;
/// Function instances running at once.
const CONCURRENCY: usize = 10;
const UPDATE_PATH: &str = "/findings/batchupdate";

/// Answers BatchUpdateFindings (which moto lacks) and keeps, per finding id, the workflow statuses
/// it was given, in order; keeps the response events triage puts on the bus, by finding id, as
/// EventBridge delivers them.
#[derive(Default)]
struct BatchUpdate {
    statuses: Mutex<BTreeMap<String, Vec<String>>>,
    events: Mutex<BTreeMap<String, Value>>,
}

impl BatchUpdate {
    fn keep_events(&self, request: &Message) {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        for e in body["Entries"].as_array().into_iter().flatten() {
            let detail: Value =
                serde_json::from_str(e["Detail"].as_str().unwrap_or_default()).unwrap_or_default();
            let id = detail["finding"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let event =
                json!({"detail-type": e["DetailType"], "source": e["Source"], "detail": detail});
            self.events.lock().unwrap().insert(id, event);
        }
    }
}

impl Shim for BatchUpdate {
    fn respond(&self, request: &Message, response: &mut Message) {
        if request.header("x-amz-target") == Some("AWSEvents.PutEvents") {
            return self.keep_events(request);
        }
        if request.method_path() != ("PATCH".into(), UPDATE_PATH.into()) {
            return;
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let ids = body["FindingIdentifiers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let status = body["Workflow"]["Status"].as_str().unwrap_or_default();
        if let Ok(mut seen) = self.statuses.lock() {
            for id in &ids {
                let id = id["Id"].as_str().unwrap_or_default().to_string();
                seen.entry(id).or_default().push(status.to_string());
            }
        }
        *response = Message {
            start: "HTTP/1.1 200 OK".into(),
            ..Message::default()
        };
        response.set_header("Content-Type", "application/json");
        response.body = json!({"ProcessedFindings": ids, "UnprocessedFindings": []})
            .to_string()
            .into_bytes();
    }
}

fn sdk_at(url: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("testing", "testing", None, None, "tests"),
            ),
        )
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep().unwrap())
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

fn env() -> Env {
    let vars = [
        ("SECAUTO_FUNCTION", "triage"),
        ("SECAUTO_STACK", "sec"),
        (
            "SNS_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:sec-notifications",
        ),
        ("AWS_REGION", "us-east-1"),
        ("REMEDIATION_MODE", "enforce"),
    ];
    Env::from_vars(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .unwrap()
}

/// A real published finding (CIS 4.1: port 22 open to the world) under id `burst-<i>`, about
/// group `sg` of moto's account.
fn finding(i: usize, sg: &str) -> Value {
    let mut f = secauto_testkit::corpus_finding("asr-simtest-cis-41.json");
    f["Id"] = json!(format!("burst-{i:02}"));
    f["AwsAccountId"] = json!("123456789012");
    f["Resources"][0]["Id"] = json!(format!(
        "arn:aws:ec2:us-east-1:123456789012:security-group/{sg}"
    ));
    f["Resources"][0]["Details"]["AwsEc2SecurityGroup"]["GroupId"] = json!(sg);
    f
}

/// A group of moto's default VPC open to the world on port 22, as the finding says.
async fn open_group(ec2: &aws_sdk_ec2::Client, i: usize) -> String {
    let sg = ec2
        .create_security_group()
        .group_name(format!("burst-{i:02}"))
        .description("burst")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    ec2.authorize_security_group_ingress()
        .group_id(&sg)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    sg
}

/// BatchImportFindings straight to moto (a finding provider's call, not the handlers').
async fn import(url: &str, findings: &[Value]) {
    let body = json!({ "Findings": findings }).to_string();
    let url = url.to_string();
    let out = tokio::task::spawn_blocking(move || {
        let mut m = Message::request("POST", "/findings/import", body.as_bytes());
        m.set_header("content-type", "application/json");
        m.set_header("authorization", "AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/securityhub/aws4_request, SignedHeaders=host, Signature=0");
        secauto_testkit::proxy::send(&url, &m)
    })
    .await
    .unwrap()
    .unwrap();
    let out: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(out["FailedCount"], 0, "{out}");
}

/// One finding's invocations: triage on the finding's event, then remediation on the response
/// event triage sent.
async fn invocations(
    clients: Clients,
    env: Arc<Env>,
    f: Value,
    seen: Arc<BatchUpdate>,
) -> Result<(), String> {
    let id = f["Id"].as_str().unwrap_or_default().to_string();
    let event = json!({
        "version": "0", "id": id, "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub", "account": "123456789012", "region": "us-east-1",
        "resources": [], "time": "2026-11-27T10:00:00Z",
        "detail": {"findings": [f.clone()]}
    });
    // A fresh instance: it has seen nothing.
    let out = triage::handle(&clients, &env, &triage::Seen::default(), &event)
        .await
        .map_err(|e| format!("{id}: triage: {e:#}"))?;
    if out["marked"] != 1 || out["events"] != 1 {
        return Err(format!("{id}: triage did not act on it: {out}"));
    }
    let response = seen.events.lock().unwrap().get(&id).cloned();
    let response = response.ok_or_else(|| format!("{id}: no response event on the bus"))?;
    let done = remediation::handle(&clients, &env, &response, None)
        .await
        .map_err(|e| format!("{id}: remediation: {e:#}"))?;
    if done["workflow"] != "RESOLVED" {
        return Err(format!("{id}: remediation did not resolve it: {done}"));
    }
    Ok(())
}

/// Four workers with room for the SDK's GetFindings deserializer (debug builds keep its frames
/// large; the bootstrap's threads have 32 MiB).
#[test]
fn a_burst_of_50_findings_is_fully_processed_under_security_hubs_rate_limits() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async { tokio::spawn(burst()).await.unwrap() });
}

async fn burst() {
    let moto = secauto_testkit::moto();
    let direct = Clients::new(&sdk_at(&moto.url));
    let mut all = Vec::new();
    for i in 0..FINDINGS {
        all.push(finding(i, &open_group(&direct.ec2, i).await));
    }
    import(&moto.url, &all).await;
    let updates = Arc::new(BatchUpdate::default());
    let proxy = Proxy::start_opts(
        &moto.url,
        Options {
            shim: Some(updates.clone()),
            rules: vec![
                Rule::rate_limit("POST", "/findings", 3.0, 6),
                Rule::rate_limit("PATCH", UPDATE_PATH, 10.0, 30),
            ],
            ..Options::default()
        },
    );
    let env = Arc::new(env());
    // Triage's response events go to the stack's bus, remediation's message to the topic (moto's,
    // not metered here).
    direct
        .events
        .create_event_bus()
        .name(&env.event_bus)
        .send()
        .await
        .unwrap();
    direct
        .sns
        .create_topic()
        .name("sec-notifications")
        .send()
        .await
        .unwrap();

    let results: Vec<Result<(), String>> = futures::stream::iter(all)
        .map(|f| {
            let clients = Clients::new(&sdk_at(&proxy.url));
            invocations(clients, env.clone(), f, updates.clone())
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    let lost: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let throttled = proxy.injected().len();
    assert!(
        lost.is_empty(),
        "{} of {FINDINGS} findings lost ({throttled} requests throttled): {lost:#?}",
        lost.len()
    );
    // The burst did exceed the limits: otherwise this test proves nothing.
    assert!(throttled > 0, "no request was throttled");
    let updates = updates.statuses.lock().unwrap().clone();
    assert_eq!(updates.len(), FINDINGS, "{updates:?}");
    for (id, statuses) in &updates {
        assert_eq!(statuses, &["NOTIFIED", "RESOLVED"], "{id}");
    }
}

/// SNS throttles with `Throttled` and HTTP 429, a code in no SDK list: the handlers' clients retry
/// it (the one classifier the CLI shares), so a throttled publish is not lost to the error handler.
#[tokio::test]
async fn an_sns_throttle_is_retried() {
    let moto = secauto_testkit::moto();
    let proxy = Proxy::start_opts(
        &moto.url,
        Options {
            rules: vec![Rule::new(
                "POST",
                "/",
                1,
                secauto_testkit::proxy::Then::Fail(secauto_testkit::proxy::Fault::Throttle),
            )],
            ..Options::default()
        },
    );
    let direct = Clients::new(&sdk_at(&moto.url));
    let topic = direct
        .sns
        .create_topic()
        .name("sec-notifications")
        .send()
        .await
        .unwrap();
    let clients = Clients::new(&sdk_at(&proxy.url));
    clients
        .sns
        .publish()
        .topic_arn(topic.topic_arn().unwrap())
        .message("a finding")
        .send()
        .await
        .expect("the throttled publish is retried");
    assert_eq!(proxy.injected().len(), 1, "{:?}", proxy.injected());
    assert!(
        proxy.injected()[0].contains("sns"),
        "{:?}",
        proxy.injected()
    );
}
