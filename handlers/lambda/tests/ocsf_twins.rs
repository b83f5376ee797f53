//! Today's Security Hub and Security Hub CSPM side by side: one control failure (EC2.19, a security
//! group open to the world on 22 and 3389) arrives as ASFF and as OCSF. Both go through the real
//! triage and remediation handlers: EC2 and SNS on moto, Security Hub on its emulator, EventBridge
//! and SNS seen through a recording proxy in front of moto.
//!
//! Shown: the group is changed once; each finding is written back in its own format (ASFF NOTIFIED
//! then RESOLVED by BatchUpdateFindings; OCSF In Progress then Resolved, status_id 4, by
//! BatchUpdateFindingsV2), read back from the emulator; the second remediation says "already
//! remediated (fact …)"; and two arrivals at once change the group once, no step failing.

mod common;

use std::sync::{Arc, Mutex};

use aws_sdk_ec2::types::IpPermission;
use common::*;
use secauto_handlers::env::Env;
use secauto_handlers::findings_v2::{self, OcsfTarget};
use secauto_handlers::{findings, remediation, triage, Clients};
use secauto_testkit::proxy::{Message, Proxy, Shim};
use serde_json::{json, Value};

const ACCOUNT: &str = "123456789012";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:sec-notifications";

fn env() -> Env {
    let vars = [
        ("SECAUTO_FUNCTION", "remediation"),
        ("SECAUTO_STACK", "sec"),
        ("SNS_TOPIC_ARN", TOPIC),
        ("REMEDIATION_MODE", "enforce"),
        ("AWS_REGION", "us-east-1"),
    ];
    let mut env = Env::from_vars(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    // EC2.19, the twins' control, is off by default: a rule turns it on, as a team would.
    let mut on = secauto_core::Rule::new("enforce-ec2-19", secauto_core::Action::RemediateControl);
    on.controls = vec!["EC2.19".into()];
    on.mode = Some(secauto_core::Mode::Enforce);
    env.policy.rules.insert(0, on);
    assert!(
        env.policy.validate().is_empty(),
        "{:?}",
        env.policy.validate()
    );
    env
}

/// Keeps every request it sees.
#[derive(Default)]
struct Seen(Mutex<Vec<Message>>);

impl Shim for Seen {
    fn respond(&self, request: &Message, _: &mut Message) {
        self.0.lock().unwrap().push(request.clone());
    }
}

/// `application/x-www-form-urlencoded` value of `key` in `body`.
fn form(body: &[u8], key: &str) -> Option<String> {
    let body = String::from_utf8_lossy(body);
    let raw = body
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))?;
    let bytes = raw.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The world: moto with a group open to the world on 22 and 3389 (EC2.19's ports), its topic and
/// bus; the emulator with both Security Hubs on; clients whose EventBridge and SNS go through a
/// recording proxy.
struct World {
    aws: Aws,
    hub: secauto_testkit::Emulator,
    _proxy: Proxy,
    seen: Arc<Seen>,
    clients: Clients,
    sg: String,
}

async fn setup() -> World {
    let aws = aws();
    let hub = securityhub_emulator(None);
    let (vpc, _) = vpc_with_subnet(&aws, "10.0").await;
    let sg = aws
        .ec2
        .create_security_group()
        .group_name("admin-open")
        .description("EC2.19")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    let open: Vec<IpPermission> = vec![world("tcp", 22, 22), world("tcp", 3389, 3389)];
    aws.ec2
        .authorize_security_group_ingress()
        .group_id(&sg)
        .set_ip_permissions(Some(open))
        .send()
        .await
        .unwrap();
    let seen = Arc::new(Seen::default());
    let proxy = Proxy::start(&aws.url, Some(seen.clone()));
    let via_proxy = Clients::new(&sdk_at(&proxy.url, "testing", "testing"));
    let clients = Clients {
        securityhub: Clients::new(&sdk_at(&hub.url, "testing", "testing")).securityhub,
        events: via_proxy.events.clone(),
        sns: via_proxy.sns.clone(),
        ..Clients::new(&sdk_at(&aws.url, "testing", "testing"))
    };
    clients
        .sns
        .create_topic()
        .name("sec-notifications")
        .send()
        .await
        .unwrap();
    clients
        .events
        .create_event_bus()
        .name("sec-events")
        .send()
        .await
        .unwrap();
    clients
        .securityhub
        .enable_security_hub()
        .send()
        .await
        .unwrap();
    clients
        .securityhub
        .enable_security_hub_v2()
        .send()
        .await
        .unwrap();
    World {
        aws,
        hub,
        _proxy: proxy,
        seen,
        clients,
        sg,
    }
}

/// A corpus file of the EC2.19 twins, about this world's group and account.
fn twin(w: &World, path: &str) -> Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/ocsf");
    let text = std::fs::read_to_string(root.join(path)).unwrap();
    serde_json::from_str(
        &text
            .replace("111122223333", ACCOUNT)
            .replace("sg-0a1b2c3d4e5f60718", &w.sg),
    )
    .unwrap()
}

/// POST `body` to the emulator (unsigned: the account is its default, this world's).
fn post(url: &str, path: &str, body: &Value) -> Value {
    let mut m = Message::request("POST", path, body.to_string().as_bytes());
    m.set_header("content-type", "application/json");
    m.set_header("authorization", "AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/securityhub/aws4_request, SignedHeaders=host, Signature=0");
    let out = secauto_testkit::proxy::send(url, &m).unwrap();
    serde_json::from_slice(&out.body).unwrap()
}

/// Both findings imported into the emulator; their "imported" events as EventBridge delivers them.
fn import_twins(w: &World) -> (Value, Value) {
    let asff = twin(w, "asff-twins/cspm-ec2.19-fail-new.json")["Findings"][0].clone();
    let ocsf_event = twin(w, "cspm-ec2.19-fail-new.event.json");
    let ocsf = ocsf_event["detail"]["findings"][0].clone();
    let out = post(&w.hub.url, "/findings/import", &json!({"Findings": [asff]}));
    assert_eq!(out["FailedCount"], 0, "{out}");
    let out = post(
        &w.hub.url,
        "/_emulator/ocsf/import",
        &json!({"Findings": [ocsf]}),
    );
    assert_eq!(out["FailedCount"], 0, "{out}");
    let asff_event = json!({
        "version": "0", "id": "asff", "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub", "account": ACCOUNT, "region": "us-east-1",
        "resources": [], "time": "2025-12-03T09:15:00Z", "detail": {"findings": [asff]}
    });
    (asff_event, ocsf_event)
}

/// The response events triage put, as EventBridge delivers them to remediation.
fn response_events(w: &World) -> Vec<Value> {
    let seen = w.seen.0.lock().unwrap();
    seen.iter()
        .filter(|r| r.header("x-amz-target") == Some("AWSEvents.PutEvents"))
        .flat_map(|r| {
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            body["Entries"].as_array().unwrap().clone()
        })
        .map(|e| {
            json!({"detail-type": e["DetailType"], "source": e["Source"],
                   "detail": serde_json::from_str::<Value>(e["Detail"].as_str().unwrap()).unwrap()})
        })
        .collect()
}

/// The SNS messages published: (subject, body).
fn published(w: &World) -> Vec<(String, String)> {
    let seen = w.seen.0.lock().unwrap();
    seen.iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("Action=Publish"))
        .map(|r| {
            (
                form(&r.body, "Subject").unwrap_or_default(),
                form(&r.body, "Message").unwrap_or_default(),
            )
        })
        .collect()
}

/// The EC2 writes moto was asked for since recording started.
fn ec2_writes(url: &str) -> Vec<String> {
    recorded(url)
        .into_iter()
        .filter_map(|(_, b)| {
            b.split('&')
                .find_map(|kv| kv.strip_prefix("Action=").map(String::from))
        })
        .filter(|a| !a.starts_with("Describe") && a != "Publish")
        .collect()
}

/// Triage both arrivals (the real handler, each a fresh instance), and the response events.
async fn triage_both(w: &World, env: &Env, asff_event: &Value, ocsf_event: &Value) -> Vec<Value> {
    for event in [asff_event, ocsf_event] {
        let out = triage::handle(&w.clients, env, &triage::Seen::default(), event)
            .await
            .unwrap();
        assert_eq!(
            (out["events"].as_u64(), out["marked"].as_u64()),
            (Some(1), Some(1)),
            "{out}"
        );
    }
    let events = response_events(w);
    assert_eq!(events.len(), 2, "{events:?}");
    events
}

/// What Security Hub holds now of each twin: the ASFF workflow status, and the raw OCSF finding.
async fn read_back(w: &World, events: &[Value]) -> (String, Value) {
    let asff = &events[0]["detail"]["finding"];
    let live = findings::get(
        &w.clients.securityhub,
        asff["id"].as_str().unwrap(),
        asff["product_arn"].as_str().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let uid = events[1]["detail"]["finding"]["ocsf"]["MetadataUid"]
        .as_str()
        .unwrap()
        .to_string();
    let raw = w
        .clients
        .securityhub
        .get_findings_v2()
        .filters(findings_v2::filters(&OcsfTarget::MetadataUid(uid)))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.findings().len(), 1);
    (
        live.workflow_status().to_string(),
        findings_v2::to_json(&raw.findings()[0]),
    )
}

#[test]
fn one_control_failure_in_both_formats_is_remediated_once_and_closed_in_each_format() {
    run(remediated_once());
}

async fn remediated_once() {
    let w = setup().await;
    let env = env();
    let (asff_event, ocsf_event) = import_twins(&w);
    let events = triage_both(&w, &env, &asff_event, &ocsf_event).await;
    let fact = format!(
        "control/{ACCOUNT}/EC2.19/arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{}",
        w.sg
    );
    assert!(events[0]["detail"]["finding"]["ocsf"].is_null());
    assert!(events[1]["detail"]["finding"]["ocsf"]["MetadataUid"].is_string());
    for e in &events {
        assert_eq!(e["detail"]["action"], "close-high-risk-ports", "{e}");
        assert_eq!(e["detail"]["finding"]["fact"], fact.as_str(), "{e}");
    }
    // Triage marked each in its own format: NOTIFIED (ASFF), In Progress with a comment (OCSF).
    let (status, ocsf) = read_back(&w, &events).await;
    assert_eq!(status, "NOTIFIED");
    assert_eq!(ocsf["status_id"], 2, "{ocsf}");
    assert!(ocsf["comment"]
        .as_str()
        .unwrap()
        .starts_with("secauto triage: close-high-risk-ports"));

    moto_post(&w.aws.url, "/moto-api/recorder/reset-recording");
    moto_post(&w.aws.url, "/moto-api/recorder/start-recording");
    let first = remediation::handle(&w.clients, &env, &events[0], None)
        .await
        .unwrap();
    let writes = ec2_writes(&w.aws.url);
    assert!(
        writes.contains(&"RevokeSecurityGroupIngress".to_string()),
        "{writes:?}"
    );
    assert_eq!(first["already_remediated"], false, "{first}");
    let second = remediation::handle(&w.clients, &env, &events[1], None)
        .await
        .unwrap();
    moto_post(&w.aws.url, "/moto-api/recorder/stop-recording");
    assert_eq!(ec2_writes(&w.aws.url), writes, "the twin changed nothing");
    assert!(ingress(&w.aws, &w.sg).await.is_empty());
    assert_eq!(second["already_remediated"], true, "{second}");
    let said = format!("already remediated (fact {fact}): nothing to change");
    assert_eq!(second["steps"][0], said.as_str(), "{second}");

    // Each closed in its own format, read back from the emulator.
    let (status, ocsf) = read_back(&w, &events).await;
    assert_eq!(status, "RESOLVED");
    assert_eq!(ocsf["status_id"], 4, "{ocsf}");
    let comment = ocsf["comment"].as_str().unwrap();
    assert!(
        comment.contains(&said) && comment.chars().count() <= 512,
        "{comment}"
    );

    let messages = published(&w);
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].0.contains("remediation done"), "{messages:?}");
    assert!(
        messages[1].0.contains("remediation already done"),
        "{messages:?}"
    );
    assert!(messages[1].1.contains(&fact), "{}", messages[1].1);
}

/// Two arrivals at once (the ASFF and the OCSF copy, as both Security Hubs send them) are run one
/// after the other: the first claims the group (an SSM parameter made only if absent) and
/// remediates; the second waits for the claim, then its precondition read finds the group closed.
/// Exactly one run changes anything, the other says "already remediated", neither fails, and the
/// claim is gone afterwards.
#[test]
fn two_arrivals_at_once_are_remediated_once_one_after_the_other() {
    run(arrivals_at_once());
}

async fn arrivals_at_once() {
    let w = setup().await;
    let env = env();
    let (asff_event, ocsf_event) = import_twins(&w);
    let events = triage_both(&w, &env, &asff_event, &ocsf_event).await;
    let (a, b) = tokio::join!(
        remediation::handle(&w.clients, &env, &events[0], None),
        remediation::handle(&w.clients, &env, &events[1], None)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(ingress(&w.aws, &w.sg).await.is_empty());
    let twins: Vec<bool> = [&a, &b]
        .iter()
        .map(|o| o["already_remediated"] == json!(true))
        .collect();
    assert_eq!(
        twins.iter().filter(|t| **t).count(),
        1,
        "one run remediates, the other finds it done: {a}\n{b}"
    );
    let claims = w
        .aws
        .ssm
        .get_parameters_by_path()
        .path("/sec/remediation-claims/")
        .send()
        .await
        .unwrap();
    assert!(claims.parameters().is_empty(), "{claims:?}");
    for out in [&a, &b] {
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        let steps = out["steps"].as_array().unwrap();
        assert!(
            !steps
                .iter()
                .any(|s| s.as_str().unwrap().starts_with("error")),
            "{out}"
        );
    }
    let (status, ocsf) = read_back(&w, &events).await;
    assert_eq!(
        (status.as_str(), &ocsf["status_id"]),
        ("RESOLVED", &json!(4))
    );
}

/// The functions' Security Hub statements: AWS's API reference authorizes GetFindingsV2 with
/// `securityhub:GetFindings` and BatchUpdateFindingsV2 with `securityhub:BatchUpdateFindings`,
/// so the same actions cover today's Security Hub (`hubv2/…`) and CSPM's hub, in the stack's
/// account and region only.
#[test]
fn the_functions_may_read_and_update_findings_of_both_hubs_in_their_own_account_only() {
    let remediation = generated_policy("remediation");
    let triage = generated_policy("triage");
    let hubv2 = "arn:aws:securityhub:us-east-1:123456789012:hubv2/a1b2c3d4";
    let hub = "arn:aws:securityhub:us-east-1:123456789012:hub/default";
    for resource in [hub, hubv2] {
        assert!(allows(&triage, "securityhub:BatchUpdateFindings", resource));
        assert!(!allows(&triage, "securityhub:GetFindings", resource));
        assert!(allows(
            &remediation,
            "securityhub:BatchUpdateFindings",
            resource
        ));
        assert!(allows(&remediation, "securityhub:GetFindings", resource));
    }
    for policy in [&triage, &remediation] {
        let other = "arn:aws:securityhub:us-east-1:999999999999:hubv2/a1b2c3d4";
        assert!(!allows(policy, "securityhub:BatchUpdateFindings", other));
        let region = "arn:aws:securityhub:eu-west-1:123456789012:hubv2/a1b2c3d4";
        assert!(!allows(policy, "securityhub:BatchUpdateFindings", region));
    }
}

/// BatchUpdateFindingsV2 answers HTTP 200 with the findings it could not update in
/// `UnprocessedFindings`: they are retried once, then an error naming each (as CSPM's path does);
/// the ones it did update count.
#[test]
fn unprocessed_v2_findings_are_an_error_that_names_them() {
    run(async {
        let w = setup().await;
        let (_, ocsf_event) = import_twins(&w);
        let uid = ocsf_event["detail"]["findings"][0]["metadata"]["uid"]
            .as_str()
            .unwrap()
            .to_string();
        let update = findings_v2::OcsfUpdate {
            status_id: Some(findings_v2::IN_PROGRESS),
            comment: "secauto test".into(),
        };
        let err = findings_v2::update(
            &w.clients.securityhub,
            vec![
                (OcsfTarget::MetadataUid(uid.clone()), update.clone()),
                (
                    OcsfTarget::MetadataUid("no-such-uid".into()),
                    update.clone(),
                ),
            ],
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("securityhub:BatchUpdateFindingsV2 left 1 finding(s) unprocessed")
                && err.contains("metadata.uid no-such-uid: ResourceNotFoundException"),
            "{err}"
        );
        let done = findings_v2::update(
            &w.clients.securityhub,
            vec![(OcsfTarget::MetadataUid(uid), update)],
        )
        .await
        .unwrap();
        assert_eq!(done, 1);
    });
}

/// Answers the first `hide` GetFindingsV2 reads with no finding, as a read made right after the
/// finding's event may (AWS documents no read-after-event consistency for it), and counts reads.
struct NotYet {
    hide: usize,
    reads: std::sync::atomic::AtomicUsize,
}

impl Shim for NotYet {
    fn respond(&self, request: &Message, response: &mut Message) {
        let (method, path) = request.method_path();
        if method == "POST" && path.split('?').next() == Some("/findingsv2") {
            let n = self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n < self.hide {
                response.body = br#"{"Findings":[]}"#.to_vec();
            }
        }
    }
}

/// Remediation's re-read of an OCSF finding that GetFindingsV2 does not return yet is made again
/// with backoff, and the event is acted on once Security Hub returns it; a finding that never
/// appears is refused once the patience (bounded by the invocation's deadline) is spent.
#[test]
fn mocked_a_finding_getfindingsv2_returns_late_is_read_again_and_acted_on() {
    run(async {
        let w = setup().await;
        let env = env();
        let (asff_event, ocsf_event) = import_twins(&w);
        let events = triage_both(&w, &env, &asff_event, &ocsf_event).await;
        let via = |hide: usize| {
            let shim = Arc::new(NotYet {
                hide,
                reads: Default::default(),
            });
            let proxy = Proxy::start(&w.hub.url, Some(shim.clone()));
            let clients = Clients {
                securityhub: Clients::new(&sdk_at(&proxy.url, "testing", "testing")).securityhub,
                ..w.clients.clone()
            };
            (proxy, shim, clients)
        };

        // Never there: refused within the deadline's half, after several reads.
        let (_p, never, clients) = via(usize::MAX);
        let started = std::time::Instant::now();
        let deadline = started + std::time::Duration::from_secs(3);
        let out = remediation::handle(&clients, &env, &events[1], Some(deadline))
            .await
            .unwrap();
        let refused = out["refused"].as_str().unwrap_or_default();
        assert!(refused.contains("has no OCSF finding"), "{out}");
        let reads = never.reads.load(std::sync::atomic::Ordering::SeqCst);
        assert!(reads >= 3, "{reads} reads");
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        assert!(!ingress(&w.aws, &w.sg).await.is_empty(), "nothing changed");

        // There at the fourth read: acted on, the group closed, the finding Resolved.
        let (_p, late, clients) = via(3);
        let out = remediation::handle(&clients, &env, &events[1], None)
            .await
            .unwrap();
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert!(late.reads.load(std::sync::atomic::Ordering::SeqCst) >= 4);
        assert!(ingress(&w.aws, &w.sg).await.is_empty());
    });
}
