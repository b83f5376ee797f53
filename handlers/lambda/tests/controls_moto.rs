//! The catalogue's remediations, each proven on moto the way Security Hub drives them: the test
//! makes the non-compliant resource, imports the control finding as Security Hub sends it into
//! the Security Hub emulator, hands the "Security Hub Findings - Imported" event to the real triage
//! handler, and the response event triage put on the bus (seen through a recording proxy) to the
//! real remediation handler; then it re-reads the resource. For each control: enforced, the
//! resource is compliant and the finding RESOLVED; a second run changes nothing; a protected
//! resource is untouched; notify-only changes nothing; a control off by default stays
//! notify-only until a rule turns it on.

mod common;

use std::sync::{Arc, Mutex};

use aws_sdk_ec2::types::{Filter, Tag};
use aws_sdk_s3::types::{IndexDocument, WebsiteConfiguration};
use common::*;
use secauto_core::{Action, Mode, Policy, Rule};
use secauto_handlers::env::Env;
use secauto_handlers::{findings, remediation, triage, Clients};
use secauto_testkit::proxy::{Message, Proxy, Shim};
use serde_json::{json, Value};

const ACCOUNT: &str = "123456789012";
use secauto_handlers::remediate::deactivated_key_tag;
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:sec-notifications";
const HUB: &str = "arn:aws:securityhub:us-east-1::product/aws/securityhub";

fn env(mode: &str, policy: Option<&Policy>, protected: &str) -> Env {
    let policy = policy.map(|p| serde_json::to_string(p).unwrap());
    let vars = [
        ("SECAUTO_FUNCTION", "remediation"),
        ("SECAUTO_STACK", "sec"),
        ("SECAUTO_ACCOUNT", ACCOUNT),
        ("SNS_TOPIC_ARN", TOPIC),
        ("REMEDIATION_MODE", mode),
        ("AWS_REGION", "us-east-1"),
        ("PROTECTED_RESOURCES", protected),
        ("TRIAGE_POLICY", policy.as_deref().unwrap_or("")),
    ];
    Env::from_vars(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .unwrap()
}

/// Keeps every request it sees.
#[derive(Default)]
struct Seen(Mutex<Vec<Message>>);

impl Shim for Seen {
    fn respond(&self, request: &Message, _: &mut Message) {
        self.0.lock().unwrap().push(request.clone());
    }
}

/// moto (EC2, S3, SNS, EventBridge) behind a recording proxy for EventBridge and SNS, and the
/// Security Hub emulator; the clients remediation makes for itself (IAM, KMS, SQS, Lambda) reach
/// moto through [`AgedCredentials`], which dates the credentials `aged` names long ago.
struct World {
    aws: Aws,
    hub: secauto_testkit::Emulator,
    _proxy: Proxy,
    seen: Arc<Seen>,
    clients: Clients,
    aged: Arc<AgedCredentials>,
    _aging: Proxy,
}

async fn world() -> World {
    let aws = aws();
    let hub = securityhub_emulator(None);
    let seen = Arc::new(Seen::default());
    let proxy = Proxy::start(&aws.url, Some(seen.clone()));
    let via_proxy = Clients::new(&sdk_at(&proxy.url, "testing", "testing"));
    let aged = Arc::new(AgedCredentials::default());
    let aging = Proxy::start(&aws.url, Some(aged.clone()));
    let clients = Clients {
        securityhub: Clients::new(&sdk_at(&hub.url, "testing", "testing")).securityhub,
        events: via_proxy.events.clone(),
        sns: via_proxy.sns.clone(),
        sdk: Clients::new(&sdk_at(&aging.url, "testing", "testing")).sdk,
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
    World {
        aws,
        hub,
        _proxy: proxy,
        seen,
        clients,
        aged,
        _aging: aging,
    }
}

/// A failed control finding as Security Hub CSPM sends it; `shape` adds the fields that name the
/// control (consolidated, standard-specific, CIS rule ids …).
fn finding(n: &str, kind: &str, resource: &str, shape: Value) -> Value {
    let mut f = json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:finding/{n}"),
        "ProductArn": HUB,
        "GeneratorId": "placeholder",
        "AwsAccountId": ACCOUNT,
        "Region": "us-east-1",
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "CreatedAt": "2026-01-01T00:00:00.000Z",
        "UpdatedAt": "2026-01-01T00:00:00.000Z",
        "Severity": {"Label": "HIGH"},
        "Title": format!("control finding {n}"),
        "Description": "a control failed",
        "Resources": [{"Type": kind, "Id": resource, "Partition": "aws", "Region": "us-east-1"}],
        "Compliance": {"Status": "FAILED"},
        "Workflow": {"Status": "NEW"},
        "RecordState": "ACTIVE",
    });
    for (k, v) in shape.as_object().unwrap() {
        if k == "Compliance" {
            for (ck, cv) in v.as_object().unwrap() {
                f["Compliance"][ck] = cv.clone();
            }
        } else {
            f[k] = v.clone();
        }
    }
    f
}

/// POST `body` to the emulator (its default account is this world's).
fn post(url: &str, path: &str, body: &Value) -> Value {
    let mut m = Message::request("POST", path, body.to_string().as_bytes());
    m.set_header("content-type", "application/json");
    m.set_header("authorization", "AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/securityhub/aws4_request, SignedHeaders=host, Signature=0");
    let out = secauto_testkit::proxy::send(url, &m).unwrap();
    serde_json::from_slice(&out.body).unwrap()
}

/// The finding imported into Security Hub, then its "Imported" event through triage; the response
/// event triage put on the bus, as EventBridge delivers it (`None`: triage sent nothing).
async fn through_triage(w: &World, env: &Env, f: &Value) -> Option<Value> {
    let out = post(&w.hub.url, "/findings/import", &json!({"Findings": [f]}));
    assert_eq!(out["FailedCount"], 0, "{out}");
    let event = json!({
        "version": "0", "id": "e", "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub", "account": ACCOUNT, "region": "us-east-1",
        "resources": [], "time": "2026-01-01T00:00:00Z", "detail": {"findings": [f]}
    });
    triage::handle(&w.clients, env, &triage::Seen::default(), &event)
        .await
        .unwrap();
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
        .rfind(|e| e["detail"]["finding"]["id"] == f["Id"])
}

/// Triage, then remediation, of `f`: the response event and the remediation's summary.
async fn remediate(w: &World, env: &Env, f: &Value) -> (Value, Value) {
    let event = through_triage(w, env, f)
        .await
        .expect("triage sent a response event");
    let out = remediation::handle(&w.clients, env, &event, None)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    (event, out)
}

async fn workflow(w: &World, f: &Value) -> String {
    findings::get(&w.clients.securityhub, f["Id"].as_str().unwrap(), HUB)
        .await
        .unwrap()
        .unwrap()
        .workflow_status()
        .to_string()
}

/// The note Security Hub holds on the finding `n` (see [`finding`]).
async fn note_of(w: &World, n: &str) -> String {
    let id = format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:finding/{n}");
    let live = findings::get(&w.clients.securityhub, &id, HUB)
        .await
        .unwrap();
    live.and_then(|f| f.note)
        .map(|n| n.text)
        .unwrap_or_default()
}

fn steps(out: &Value) -> String {
    out["steps"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

/// The S3 controls, off by default (each can take a bucket meant to be public offline), switched on.
fn s3_on() -> Policy {
    enforcing(&["S3.2", "S3.3", "S3.4", "S3.5", "S3.8"])
}

/// A policy with `controls` switched on (mode enforce) by a rule before the default ones.
fn enforcing(controls: &[&str]) -> Policy {
    let mut on = Rule::new("enforce-controls", Action::RemediateControl);
    on.controls = controls.iter().map(|c| c.to_string()).collect();
    on.mode = Some(Mode::Enforce);
    let mut p = Policy::default();
    p.rules.insert(0, on);
    assert!(p.validate().is_empty(), "{:?}", p.validate());
    p
}

// ---- reads of the resources, straight from moto ----

async fn blocked(a: &Aws, bucket: &str) -> bool {
    match a.s3.get_public_access_block().bucket(bucket).send().await {
        Ok(o) => o.public_access_block_configuration().is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        }),
        Err(_) => false,
    }
}

async fn bucket_tag(a: &Aws, bucket: &str, key: &str) -> Option<String> {
    let t = a.s3.get_bucket_tagging().bucket(bucket).send().await.ok()?;
    t.tag_set()
        .iter()
        .find(|t| t.key() == key)
        .map(|t| t.value().to_string())
}

async fn bucket_policy(a: &Aws, bucket: &str) -> Option<Value> {
    let p = a.s3.get_bucket_policy().bucket(bucket).send().await.ok()?;
    serde_json::from_str(p.policy()?).ok()
}

async fn ebs_default(a: &Aws) -> bool {
    a.ec2
        .get_ebs_encryption_by_default()
        .send()
        .await
        .unwrap()
        .ebs_encryption_by_default()
        == Some(true)
}

async fn http_tokens(a: &Aws, instance: &str) -> String {
    let out = a
        .ec2
        .describe_instances()
        .instance_ids(instance)
        .send()
        .await
        .unwrap();
    let i = &out.reservations()[0].instances()[0];
    i.metadata_options()
        .and_then(|m| m.http_tokens())
        .map(|t| t.as_str().to_string())
        .unwrap_or_default()
}

async fn default_group(a: &Aws, vpc: &str) -> String {
    let out = a
        .ec2
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .filters(
            Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.security_groups()[0].group_id().unwrap().to_string()
}

async fn rule_count(a: &Aws, sg: &str) -> usize {
    let g = a
        .ec2
        .describe_security_groups()
        .group_ids(sg)
        .send()
        .await
        .unwrap();
    let g = &g.security_groups()[0];
    g.ip_permissions().len() + g.ip_permissions_egress().len()
}

async fn group_tags(a: &Aws, sg: &str) -> Vec<String> {
    let g = a
        .ec2
        .describe_security_groups()
        .group_ids(sg)
        .send()
        .await
        .unwrap();
    g.security_groups()[0]
        .tags()
        .iter()
        .filter_map(|t| t.key().map(String::from))
        .collect()
}

async fn bucket(a: &Aws, name: &str) -> String {
    a.s3.create_bucket().bucket(name).send().await.unwrap();
    format!("arn:aws:s3:::{name}")
}

async fn protect_bucket(a: &Aws, name: &str) {
    let tag = aws_sdk_s3::types::Tag::builder()
        .key("secauto:protect")
        .value("true")
        .build()
        .unwrap();
    a.s3.put_bucket_tagging()
        .bucket(name)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(tag)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

async fn protect_ec2(a: &Aws, id: &str) {
    a.ec2
        .create_tags()
        .resources(id)
        .tags(Tag::builder().key("secauto:protect").value("true").build())
        .send()
        .await
        .unwrap();
}

async fn instance(a: &Aws) -> String {
    let (_, subnet) = vpc_with_subnet(a, "10.7").await;
    let out = a
        .ec2
        .run_instances()
        .image_id(image(a).await)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .subnet_id(subnet)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    out.instances()[0].instance_id().unwrap().to_string()
}

fn arn_of_group(sg: &str) -> String {
    format!("arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{sg}")
}

fn arn_of_instance(i: &str) -> String {
    format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{i}")
}

fn s3_8() -> Value {
    json!({"GeneratorId": "security-control/S3.8", "Compliance": {"SecurityControlId": "S3.8"}})
}

fn s3_5() -> Value {
    json!({"GeneratorId": "cis-aws-foundations-benchmark/v/1.4.0/2.1.2",
           "ProductFields": {"StandardsArn": "arn:aws:securityhub:::standards/cis-aws-foundations-benchmark/v/1.4.0", "ControlId": "2.1.2"}})
}

fn ec2_7() -> Value {
    json!({"GeneratorId": "cis-aws-foundations-benchmark/v/5.0.0/5.1.1", "ProductFields": {"ControlId": "5.1.1"},
           "Compliance": {"SecurityControlId": "EC2.7"}})
}

fn ec2_2() -> Value {
    json!({"GeneratorId": "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/4.3",
           "ProductFields": {"RuleId": "4.3"}, "Compliance": {"SecurityControlId": "EC2.2"}})
}

fn ec2_8() -> Value {
    json!({"GeneratorId": "nist-800-53/v/5.0.0/EC2.8"})
}

const ACCOUNT_RESOURCE: &str = "AWS::::Account:123456789012";

fn ec2_1() -> Value {
    json!({"GeneratorId": "pci-dss/v/3.2.1/PCI.EC2.1", "ProductFields": {"ControlId": "PCI.EC2.1"}})
}

fn ec2_15() -> Value {
    json!({"GeneratorId": "aws-foundational-security-best-practices/v/1.0.0/EC2.15",
           "ProductFields": {"StandardsArn": "arn:aws:securityhub:::standards/aws-foundational-security-best-practices/v/1.0.0", "ControlId": "EC2.15"}})
}

fn ec2_18() -> Value {
    json!({"GeneratorId": "nist-800-53/v/5.0.0/EC2.18"})
}

fn ec2_19() -> Value {
    json!({"GeneratorId": "security-control/EC2.19", "Compliance": {"SecurityControlId": "EC2.19"}})
}

fn ec2_23() -> Value {
    json!({"GeneratorId": "security-control/EC2.23", "Compliance": {"SecurityControlId": "EC2.23"}})
}

fn s3_13() -> Value {
    json!({"GeneratorId": "nist-800-53/v/5.0.0/S3.13"})
}

fn sns_1() -> Value {
    json!({"GeneratorId": "aws-foundational-security-best-practices/v/1.0.0/SNS.1",
           "ProductFields": {"StandardsArn": "arn:aws:securityhub:::standards/aws-foundational-security-best-practices/v/1.0.0", "ControlId": "SNS.1"}})
}

fn ssm_4() -> Value {
    json!({"GeneratorId": "security-control/SSM.4", "Compliance": {"SecurityControlId": "SSM.4"}})
}

fn kms_4() -> Value {
    json!({"GeneratorId": "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/2.8",
           "ProductFields": {"RuleId": "2.8"}})
}

fn sqs_1() -> Value {
    json!({"GeneratorId": "nist-800-53/v/5.0.0/SQS.1"})
}

fn lambda_1() -> Value {
    json!({"GeneratorId": "pci-dss/v/3.2.1/PCI.Lambda.1", "ProductFields": {"ControlId": "PCI.Lambda.1"}})
}

fn iam_15() -> Value {
    json!({"GeneratorId": "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/1.9",
           "ProductFields": {"RuleId": "1.9"}})
}

fn iam_7() -> Value {
    json!({"GeneratorId": "security-control/IAM.7", "Compliance": {"SecurityControlId": "IAM.7"}})
}

fn ssm_7() -> Value {
    json!({"GeneratorId": "aws-foundational-security-best-practices/v/1.0.0/SSM.7",
           "ProductFields": {"StandardsArn": "arn:aws:securityhub:::standards/aws-foundational-security-best-practices/v/1.0.0", "ControlId": "SSM.7"}})
}

fn iam_3() -> Value {
    json!({"GeneratorId": "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/1.4",
           "ProductFields": {"RuleId": "1.4"}})
}

fn iam_8() -> Value {
    json!({"GeneratorId": "pci-dss/v/3.2.1/PCI.IAM.7", "ProductFields": {"ControlId": "PCI.IAM.7"}})
}

fn iam_22() -> Value {
    json!({"GeneratorId": "security-control/IAM.22", "Compliance": {"SecurityControlId": "IAM.22"}})
}

fn cloudtrail_4() -> Value {
    json!({"GeneratorId": "pci-dss/v/3.2.1/PCI.CloudTrail.3", "ProductFields": {"ControlId": "PCI.CloudTrail.3"}})
}

fn arn_of(kind: &str, id: &str) -> String {
    format!("arn:aws:ec2:us-east-1:{ACCOUNT}:{kind}/{id}")
}

/// Whether any snapshot the account owns is still restorable by everyone.
async fn any_public_snapshot(a: &Aws) -> bool {
    let out = a
        .ec2
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .unwrap();
    for s in out.snapshots() {
        if snapshot_public(a, s.snapshot_id().unwrap()).await {
            return true;
        }
    }
    false
}

/// A control off by default: enforce mode with the default policy only says what it would do;
/// a rule turning it on makes it RESOLVED by a re-read; a second finding changes nothing. Returns
/// the enforced run's summary.
async fn off_then_on(w: &World, control: &str, kind: &str, arn: &str, shape: Value) -> Value {
    let n = control.to_ascii_lowercase().replace('.', "-");
    let (event, out) = remediate(
        w,
        &env("enforce", None, ""),
        &finding(&n, kind, arn, shape.clone()),
    )
    .await;
    assert_eq!(event["detail"]["finding"]["control_id"], control);
    assert_eq!(
        event["detail"]["mode"], "notify-only",
        "{control} is off by default"
    );
    assert_eq!(out["dry_run"], true, "{control}: {out}");
    assert!(steps(&out).contains("would "), "{control}: {out}");
    let on = env("enforce", Some(&enforcing(&[control])), "");
    let (_, done) = remediate(
        w,
        &on,
        &finding(&format!("{n}-on"), kind, arn, shape.clone()),
    )
    .await;
    assert_eq!(done["workflow"], "RESOLVED", "{control}: {done}");
    let (_, again) = remediate(w, &on, &finding(&format!("{n}-again"), kind, arn, shape)).await;
    assert_eq!(again["already_remediated"], true, "{control}: {again}");
    assert_eq!(again["workflow"], "RESOLVED", "{control}: {again}");
    done
}

#[test]
fn s3_8_a_public_bucket_is_blocked_once_and_resolved() {
    run(async {
        let w = world().await;
        let enforce = env("enforce", Some(&s3_on()), "");
        let arn = bucket(&w.aws, "reports").await;
        let f = finding("s3-8", "AwsS3Bucket", &arn, s3_8());
        let (event, out) = remediate(&w, &enforce, &f).await;
        assert_eq!(event["detail"]["action"], "block-bucket-public-access");
        assert_eq!(event["detail"]["rule"], "enforce-controls");
        assert_eq!(event["detail"]["finding"]["control_id"], "S3.8");
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert!(blocked(&w.aws, "reports").await);
        let record = bucket_tag(&w.aws, "reports", "secauto:previous-public-access-block").await;
        assert_eq!(record.as_deref(), Some("none"));
        assert_eq!(workflow(&w, &f).await, "RESOLVED");
        // The same event again: already done. Another finding of the same failure: nothing left.
        let again = remediation::handle(&w.clients, &enforce, &event, None)
            .await
            .unwrap();
        assert_eq!(again["remediation"], "already done", "{again}");
        let twin = finding("s3-8-again", "AwsS3Bucket", &arn, s3_8());
        let (_, out) = remediate(&w, &enforce, &twin).await;
        assert_eq!(out["already_remediated"], true, "{out}");
        assert!(
            steps(&out).contains("already blocks all public access"),
            "{out}"
        );
    });
}

#[test]
fn s3_2_s3_3_and_s3_4_standard_specific_findings_fix_their_buckets() {
    run(async {
        let w = world().await;
        let enforce = env("enforce", Some(&s3_on()), "");
        let shapes = [
            (
                "S3.2",
                "read-open",
                "block-bucket-public-access",
                json!({"GeneratorId": "aws-foundational-security-best-practices/v/1.0.0/S3.2",
                "ProductFields": {"StandardsArn": "arn:aws:securityhub:::standards/aws-foundational-security-best-practices/v/1.0.0", "ControlId": "S3.2"}}),
            ),
            (
                "S3.3",
                "write-open",
                "block-bucket-public-access",
                json!({"GeneratorId": "pci-dss/v/3.2.1/PCI.S3.1", "ProductFields": {"ControlId": "PCI.S3.1"}}),
            ),
            (
                "S3.4",
                "plain-text",
                "enable-bucket-encryption",
                json!({"GeneratorId": "nist-800-53/v/5.0.0/S3.4",
                "Remediation": {"Recommendation": {"Url": "https://docs.aws.amazon.com/console/securityhub/S3.4/remediation"}}}),
            ),
        ];
        for (control, name, action, shape) in shapes {
            let arn = bucket(&w.aws, name).await;
            let f = finding(name, "AwsS3Bucket", &arn, shape);
            let (event, out) = remediate(&w, &enforce, &f).await;
            assert_eq!(event["detail"]["finding"]["control_id"], control);
            assert_eq!(event["detail"]["action"], action);
            assert_eq!(out["workflow"], "RESOLVED", "{out}");
            assert!(blocked(&w.aws, name).await, "{control}");
        }
        let sse = w
            .aws
            .s3
            .get_bucket_encryption()
            .bucket("plain-text")
            .send()
            .await
            .unwrap();
        assert!(sse.server_side_encryption_configuration().is_some());
    });
}

#[test]
fn s3_5_the_tls_statement_is_merged_into_the_existing_policy() {
    run(async {
        let w = world().await;
        let enforce = env("enforce", Some(&s3_on()), "");
        let arn = bucket(&w.aws, "shared").await;
        let read = json!({"Version": "2012-10-17", "Statement": [{"Sid": "PartnerRead", "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "s3:GetObject",
            "Resource": format!("{arn}/*")}]});
        w.aws
            .s3
            .put_bucket_policy()
            .bucket("shared")
            .policy(read.to_string())
            .send()
            .await
            .unwrap();
        let f = finding("s3-5", "AwsS3Bucket", &arn, s3_5());
        let (event, out) = remediate(&w, &enforce, &f).await;
        assert_eq!(event["detail"]["finding"]["control_id"], "S3.5");
        assert_eq!(event["detail"]["action"], "require-bucket-tls");
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        let policy = bucket_policy(&w.aws, "shared").await.unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2, "{policy}");
        assert_eq!(
            statements[0]["Sid"], "PartnerRead",
            "the policy's own statement is kept"
        );
        assert_eq!(
            statements[1]["Sid"],
            secauto_handlers::remediate::TLS_STATEMENT_SID
        );
        assert_eq!(
            statements[1]["Condition"]["Bool"]["aws:SecureTransport"],
            "false"
        );
        let record = bucket_tag(&w.aws, "shared", "secauto:previous-bucket-policy").await;
        assert_eq!(record.as_deref(), Some("kept"));
        // Again: nothing to add.
        let twin = finding("s3-5-again", "AwsS3Bucket", &arn, s3_5());
        let (_, out) = remediate(&w, &enforce, &twin).await;
        assert_eq!(out["already_remediated"], true, "{out}");
        assert_eq!(
            bucket_policy(&w.aws, "shared").await.unwrap()["Statement"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        // A bucket without a policy gets one with the statement alone, recorded as `none`.
        let bare = bucket(&w.aws, "bare").await;
        let (_, out) = remediate(
            &w,
            &enforce,
            &finding("s3-5-bare", "AwsS3Bucket", &bare, s3_5()),
        )
        .await;
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert_eq!(
            bucket_policy(&w.aws, "bare").await.unwrap()["Statement"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            bucket_tag(&w.aws, "bare", "secauto:previous-bucket-policy")
                .await
                .as_deref(),
            Some("none")
        );
    });
}

#[test]
fn a_bucket_that_serves_a_website_is_neither_blocked_nor_denied_http() {
    run(async {
        let w = world().await;
        let enforce = env("enforce", Some(&s3_on()), "");
        let arn = bucket(&w.aws, "site").await;
        w.aws
            .s3
            .put_bucket_website()
            .bucket("site")
            .website_configuration(
                WebsiteConfiguration::builder()
                    .index_document(
                        IndexDocument::builder()
                            .suffix("index.html")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        for (n, shape) in [("site-8", s3_8()), ("site-5", s3_5())] {
            let (_, out) = remediate(&w, &enforce, &finding(n, "AwsS3Bucket", &arn, shape)).await;
            assert_eq!(out["workflow"], "NOTIFIED", "{out}");
            assert!(
                steps(&out).contains("site serves a static website"),
                "{out}"
            );
        }
        assert!(!blocked(&w.aws, "site").await);
        assert!(bucket_policy(&w.aws, "site").await.is_none());
    });
}

#[test]
fn ec2_7_ebs_encryption_by_default_stays_off_until_a_rule_turns_the_control_on() {
    run(async {
        let w = world().await;
        assert!(!ebs_default(&w.aws).await);
        let f = finding("ec2-7", "AwsAccount", ACCOUNT_RESOURCE, ec2_7());
        let (event, out) = remediate(&w, &env("enforce", None, ""), &f).await;
        assert_eq!(event["detail"]["action"], "enable-ebs-default-encryption");
        assert_eq!(event["detail"]["finding"]["control_id"], "EC2.7");
        assert_eq!(out["dry_run"], true, "off by default: {out}");
        assert!(!ebs_default(&w.aws).await);
        let on = env("enforce", Some(&enforcing(&["EC2.7"])), "");
        let (_, out) = remediate(
            &w,
            &on,
            &finding("ec2-7-on", "AwsAccount", ACCOUNT_RESOURCE, ec2_7()),
        )
        .await;
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert!(ebs_default(&w.aws).await);
        assert!(
            steps(&out).contains("the undo record is this note: EBS encryption by default was off"),
            "{out}"
        );
        let (_, out) = remediate(
            &w,
            &on,
            &finding("ec2-7-again", "AwsAccount", ACCOUNT_RESOURCE, ec2_7()),
        )
        .await;
        assert_eq!(out["already_remediated"], true, "{out}");
    });
}

#[test]
fn ec2_2_the_default_group_stays_open_until_a_rule_turns_the_control_on() {
    run(async {
        let w = world().await;
        let (vpc, _) = vpc_with_subnet(&w.aws, "10.3").await;
        let sg = default_group(&w.aws, &vpc).await;
        // As AWS makes it: all traffic in from its own members, all traffic out.
        w.aws
            .ec2
            .authorize_security_group_ingress()
            .group_id(&sg)
            .ip_permissions(
                aws_sdk_ec2::types::IpPermission::builder()
                    .ip_protocol("-1")
                    .user_id_group_pairs(
                        aws_sdk_ec2::types::UserIdGroupPair::builder()
                            .group_id(&sg)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let rules = rule_count(&w.aws, &sg).await;
        assert_eq!(rules, 2);
        // Enforce mode, the default policy: EC2.2 is off by default, only notified.
        let (event, out) = remediate(
            &w,
            &env("enforce", None, ""),
            &finding("ec2-2", "AwsEc2SecurityGroup", &arn_of_group(&sg), ec2_2()),
        )
        .await;
        assert_eq!(event["detail"]["action"], "close-default-security-group");
        assert_eq!(event["detail"]["mode"], "notify-only");
        assert_eq!(
            (out["workflow"].as_str(), out["dry_run"].as_bool()),
            (Some("NOTIFIED"), Some(true)),
            "{out}"
        );
        assert!(steps(&out).contains("would revoke every rule"), "{out}");
        assert_eq!(rule_count(&w.aws, &sg).await, rules);
        // A rule turns EC2.2 on: every rule revoked, each recorded first.
        let on = env("notify-only", Some(&enforcing(&["EC2.2"])), "");
        let (event, out) = remediate(
            &w,
            &on,
            &finding(
                "ec2-2-on",
                "AwsEc2SecurityGroup",
                &arn_of_group(&sg),
                ec2_2(),
            ),
        )
        .await;
        assert_eq!(event["detail"]["mode"], "enforce");
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert_eq!(rule_count(&w.aws, &sg).await, 0);
        let tags = group_tags(&w.aws, &sg).await;
        assert!(
            tags.iter()
                .any(|t| t.starts_with("secauto:revoked:egress:-1:all=")),
            "{tags:?}"
        );
        assert!(
            tags.iter()
                .any(|t| t.starts_with("secauto:revoked:-1:all=sg-")),
            "{tags:?}"
        );
        // Another group is not a default group: refused.
        let other = w
            .aws
            .ec2
            .create_security_group()
            .group_name("app")
            .description("app")
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap()
            .group_id()
            .unwrap()
            .to_string();
        let (_, out) = remediate(
            &w,
            &on,
            &finding(
                "ec2-2-app",
                "AwsEc2SecurityGroup",
                &arn_of_group(&other),
                ec2_2(),
            ),
        )
        .await;
        assert_eq!(out["workflow"], "NOTIFIED", "{out}");
        assert!(
            steps(&out).contains("is not a VPC's default group"),
            "{out}"
        );
        assert!(rule_count(&w.aws, &other).await > 0);
        // A default group a protected instance uses keeps its rules: closing it would cut that
        // instance off.
        let (vpc, subnet) = vpc_with_subnet(&w.aws, "10.4").await;
        let used = default_group(&w.aws, &vpc).await;
        let image = image(&w.aws).await;
        let instance = w
            .aws
            .ec2
            .run_instances()
            .image_id(&image)
            .min_count(1)
            .max_count(1)
            .subnet_id(&subnet)
            .security_group_ids(&used)
            .send()
            .await
            .unwrap()
            .instances()[0]
            .instance_id()
            .unwrap()
            .to_string();
        let guarded = env("notify-only", Some(&enforcing(&["EC2.2"])), &instance);
        let before = rule_count(&w.aws, &used).await;
        assert!(before > 0);
        let (_, out) = remediate(
            &w,
            &guarded,
            &finding(
                "ec2-2-used",
                "AwsEc2SecurityGroup",
                &arn_of_group(&used),
                ec2_2(),
            ),
        )
        .await;
        assert_eq!(out["workflow"], "NOTIFIED", "{out}");
        assert!(steps(&out).contains(&instance), "{out}");
        assert_eq!(rule_count(&w.aws, &used).await, before, "untouched");
    });
}

#[test]
fn ec2_8_imdsv2_stays_optional_until_a_rule_turns_the_control_on() {
    run(async {
        let w = world().await;
        let i = instance(&w.aws).await;
        assert_eq!(http_tokens(&w.aws, &i).await, "optional");
        let (event, out) = remediate(
            &w,
            &env("enforce", None, ""),
            &finding("ec2-8", "AwsEc2Instance", &arn_of_instance(&i), ec2_8()),
        )
        .await;
        assert_eq!(
            (
                event["detail"]["action"].as_str(),
                event["detail"]["finding"]["control_id"].as_str()
            ),
            (Some("require-imdsv2"), Some("EC2.8"))
        );
        assert_eq!(out["dry_run"], true, "{out}");
        assert_eq!(http_tokens(&w.aws, &i).await, "optional");
        let on = env("enforce", Some(&enforcing(&["ec2.8"])), "");
        let (_, out) = remediate(
            &w,
            &on,
            &finding("ec2-8-on", "AwsEc2Instance", &arn_of_instance(&i), ec2_8()),
        )
        .await;
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert_eq!(http_tokens(&w.aws, &i).await, "required");
        let tags = w
            .aws
            .ec2
            .describe_tags()
            .filters(Filter::builder().name("resource-id").values(&i).build())
            .send()
            .await
            .unwrap();
        assert!(tags.tags().iter().any(|t| t.key()
            == Some(secauto_handlers::remediate::PREVIOUS_HTTP_TOKENS_TAG)
            && t.value() == Some("optional")));
        let (_, out) = remediate(
            &w,
            &on,
            &finding(
                "ec2-8-again",
                "AwsEc2Instance",
                &arn_of_instance(&i),
                ec2_8(),
            ),
        )
        .await;
        assert_eq!(out["already_remediated"], true, "{out}");
    });
}

#[test]
fn ec2_13_and_ec2_14_cis_rule_id_findings_close_world_open_ssh_and_rdp() {
    run(async {
        let w = world().await;
        for (rule, control, port) in [("4.1", "EC2.13", "22"), ("4.2", "EC2.14", "3389")] {
            let f = fixture(&w.aws, false).await;
            let shape = json!({"GeneratorId": format!("arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/{rule}"),
                               "ProductFields": {"RuleId": rule}});
            let n = format!("cis-{rule}");
            let (event, out) = remediate(
                &w,
                &env("enforce", None, ""),
                &finding(&n, "AwsEc2SecurityGroup", &arn_of_group(&f.sg), shape),
            )
            .await;
            assert_eq!(event["detail"]["finding"]["control_id"], control);
            assert_eq!(event["detail"]["action"], "fix-security-group");
            assert_eq!(event["detail"]["rule"], "remediate-catalogued-controls");
            assert_eq!(out["workflow"], "RESOLVED", "{out}");
            let left = ingress(&w.aws, &f.sg).await;
            assert!(!left.contains(&format!("{port}:0.0.0.0/0")), "{left:?}");
            assert!(
                left.contains(&"443:0.0.0.0/0".to_string()),
                "443 is outside the control: {left:?}"
            );
        }
    });
}

#[test]
fn ec2_1_public_snapshots_stay_shared_until_a_rule_turns_the_control_on() {
    run(async {
        let w = world().await;
        let snap = public_snapshot(&w.aws, false).await;
        let (event, _) = remediate(
            &w,
            &env("notify-only", None, ""),
            &finding("ec2-1-dry", "AwsAccount", ACCOUNT_RESOURCE, ec2_1()),
        )
        .await;
        assert_eq!(event["detail"]["action"], "make-snapshots-private");
        assert!(snapshot_public(&w.aws, &snap).await);
        let out = off_then_on(&w, "EC2.1", "AwsAccount", ACCOUNT_RESOURCE, ec2_1()).await;
        assert!(
            steps(&out).contains(&format!("stop sharing {snap} with everyone")),
            "{out}"
        );
        assert!(!snapshot_public(&w.aws, &snap).await);
        let tags = w
            .aws
            .ec2
            .describe_snapshots()
            .snapshot_ids(&snap)
            .send()
            .await
            .unwrap();
        assert!(tags.snapshots()[0].tags().iter().any(|t| t.key()
            == Some(secauto_handlers::remediate::PREVIOUS_SNAPSHOT_PERMISSION_TAG)
            && t.value() == Some("all")));
    });
}

#[test]
fn ec2_15_a_subnet_keeps_public_ips_until_a_rule_turns_the_control_on() {
    run(async {
        let w = world().await;
        let subnet = public_ip_subnet(&w.aws, "10.21", false).await;
        let arn = arn_of("subnet", &subnet);
        let out = off_then_on(&w, "EC2.15", "AwsEc2Subnet", &arn, ec2_15()).await;
        assert!(
            steps(&out).contains("turn off MapPublicIpOnLaunch"),
            "{out}"
        );
        assert!(!maps_public_ip(&w.aws, &subnet).await);
        let tags = w
            .aws
            .ec2
            .describe_subnets()
            .subnet_ids(&subnet)
            .send()
            .await
            .unwrap();
        assert!(tags.subnets()[0]
            .tags()
            .iter()
            .any(|t| t.key() == Some(secauto_handlers::remediate::PREVIOUS_MAP_PUBLIC_IP_TAG)));
    });
}

#[test]
fn ec2_18_and_ec2_19_revoke_world_open_ports_by_their_own_lists() {
    run(async {
        let w = world().await;
        // EC2.19, off by default (it takes services on high-risk ports offline): 22 and 3389 are
        // high-risk; 443 and 2222 (::/0) are not.
        let f = fixture(&w.aws, false).await;
        let arn = arn_of_group(&f.sg);
        let out = off_then_on(&w, "EC2.19", "AwsEc2SecurityGroup", &arn, ec2_19()).await;
        assert!(steps(&out).contains("revoke tcp 22"), "{out}");
        let left = ingress(&w.aws, &f.sg).await;
        assert!(!left.contains(&"22:0.0.0.0/0".to_string()), "{left:?}");
        assert!(!left.contains(&"3389:0.0.0.0/0".to_string()), "{left:?}");
        assert!(left.contains(&"443:0.0.0.0/0".to_string()), "{left:?}");
        assert!(left.contains(&"2222:::/0".to_string()), "{left:?}");
        // EC2.18: everything world-open but 80 and 443 goes, 2222 on ::/0 with it.
        let g = fixture(&w.aws, false).await;
        let out = off_then_on(
            &w,
            "EC2.18",
            "AwsEc2SecurityGroup",
            &arn_of_group(&g.sg),
            ec2_18(),
        )
        .await;
        assert!(steps(&out).contains("revoke tcp 2222 from ::/0"), "{out}");
        let left = ingress(&w.aws, &g.sg).await;
        let world: Vec<&String> = left
            .iter()
            .filter(|r| r.ends_with("0.0.0.0/0") || r.ends_with("::/0"))
            .collect();
        assert_eq!(world, vec!["443:0.0.0.0/0"], "{left:?}");
        assert!(
            left.contains(&"8080:10.0.0.0/8".to_string()),
            "narrower ranges stay: {left:?}"
        );
    });
}

#[test]
fn ec2_23_a_transit_gateway_keeps_auto_accept_until_a_rule_turns_the_control_on() {
    run(async {
        let w = world().await;
        let tgw = auto_accepting_tgw(&w.aws, false).await;
        let arn = arn_of("transit-gateway", &tgw);
        let out = off_then_on(&w, "EC2.23", "AwsEc2TransitGateway", &arn, ec2_23()).await;
        assert!(
            steps(&out).contains("turn off AutoAcceptSharedAttachments"),
            "{out}"
        );
        assert!(!tgw_auto_accepts(&w.aws, &tgw).await);
    });
}

#[test]
fn s3_13_a_bucket_without_lifecycle_gets_one_rule_and_one_with_rules_is_kept() {
    run(async {
        let w = world().await;
        let arn = bucket(&w.aws, "logs").await;
        let out = off_then_on(&w, "S3.13", "AwsS3Bucket", &arn, s3_13()).await;
        assert!(
            steps(&out).contains("put a lifecycle rule on logs"),
            "{out}"
        );
        assert!(has_lifecycle(&w.aws, "logs").await);
        let record = bucket_tag(
            &w.aws,
            "logs",
            secauto_handlers::remediate::PREVIOUS_LIFECYCLE_TAG,
        )
        .await;
        assert_eq!(record.as_deref(), Some("none"));
        let rules = w
            .aws
            .s3
            .get_bucket_lifecycle_configuration()
            .bucket("logs")
            .send()
            .await
            .unwrap();
        assert_eq!(rules.rules().len(), 1);
        assert_eq!(
            rules.rules()[0].id(),
            Some(secauto_handlers::remediate::LIFECYCLE_RULE_ID)
        );
        assert!(rules.rules()[0].expiration().is_none(), "nothing expires");
        // A configuration someone wrote, its only rule disabled: never replaced.
        let kept = bucket(&w.aws, "kept-rules").await;
        let disabled = aws_sdk_s3::types::LifecycleRule::builder()
            .id("theirs")
            .filter(
                aws_sdk_s3::types::LifecycleRuleFilter::builder()
                    .prefix("tmp/")
                    .build(),
            )
            .status(aws_sdk_s3::types::ExpirationStatus::Disabled)
            .expiration(
                aws_sdk_s3::types::LifecycleExpiration::builder()
                    .days(7)
                    .build(),
            )
            .build()
            .unwrap();
        w.aws
            .s3
            .put_bucket_lifecycle_configuration()
            .bucket("kept-rules")
            .lifecycle_configuration(
                aws_sdk_s3::types::BucketLifecycleConfiguration::builder()
                    .rules(disabled)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let on = env("enforce", Some(&enforcing(&["S3.13"])), "");
        let (_, out) = remediate(
            &w,
            &on,
            &finding("s3-13-kept", "AwsS3Bucket", &kept, s3_13()),
        )
        .await;
        assert_eq!(out["workflow"], "NOTIFIED", "{out}");
        assert!(steps(&out).contains("never replaced"), "{out}");
        let theirs = w
            .aws
            .s3
            .get_bucket_lifecycle_configuration()
            .bucket("kept-rules")
            .send()
            .await
            .unwrap();
        assert_eq!(theirs.rules()[0].id(), Some("theirs"));
    });
}

#[test]
fn kms_4_and_sqs_1_are_on_by_default_and_rotate_the_key_and_encrypt_the_queue() {
    run(async {
        let w = world().await;
        let key = unrotated_key(&w.aws, false).await;
        let queue = plain_queue(&w.aws, "jobs", false).await;
        let enforce = env("enforce", None, "");
        for (control, kind, arn, shape, action) in [
            ("KMS.4", "AwsKmsKey", &key, kms_4(), "enable-key-rotation"),
            ("SQS.1", "AwsSqsQueue", &queue, sqs_1(), "encrypt-queue"),
        ] {
            let n = control.to_ascii_lowercase().replace('.', "-");
            let (event, out) =
                remediate(&w, &enforce, &finding(&n, kind, arn, shape.clone())).await;
            assert_eq!(event["detail"]["finding"]["control_id"], control);
            assert_eq!(event["detail"]["action"], action);
            assert_eq!(event["detail"]["rule"], "remediate-catalogued-controls");
            assert_eq!(out["workflow"], "RESOLVED", "{control}: {out}");
            let again = finding(&format!("{n}-again"), kind, arn, shape);
            let (_, out) = remediate(&w, &enforce, &again).await;
            assert_eq!(out["already_remediated"], true, "{control}: {out}");
        }
        assert!(key_rotates(&w.aws, &key).await);
        assert!(queue_encrypted(&w.aws, &queue).await);
        // KMS rotates symmetric encryption keys only (EnableKeyRotation answers others with
        // UnsupportedOperationException): an asymmetric key is left, the finding says why.
        let signing = w
            .aws
            .kms
            .create_key()
            .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
            .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
            .send()
            .await
            .unwrap();
        let signing = signing.key_metadata().unwrap().arn().unwrap().to_string();
        let (_, out) = remediate(
            &w,
            &enforce,
            &finding("kms-4-rsa", "AwsKmsKey", &signing, kms_4()),
        )
        .await;
        assert_eq!(out["workflow"], "NOTIFIED", "{out}");
        assert!(
            steps(&out).contains("KMS rotates symmetric encryption keys only"),
            "{out}"
        );
    });
}

#[test]
fn sns_1_a_topic_stays_plain_until_a_rule_turns_the_control_on() {
    run(async {
        let w = world().await;
        let topic = plain_topic(&w.aws, "alerts", false).await;
        let out = off_then_on(&w, "SNS.1", "AwsSnsTopic", &topic, sns_1()).await;
        assert!(steps(&out).contains("alias/aws/sns"), "{out}");
        assert_eq!(
            topic_key(&w.aws, &topic).await,
            secauto_handlers::remediate::TOPIC_KEY
        );
        let tags = w
            .aws
            .sns
            .list_tags_for_resource()
            .resource_arn(&topic)
            .send()
            .await
            .unwrap();
        assert!(tags.tags().iter().any(|t| t.key()
            == secauto_handlers::remediate::PREVIOUS_TOPIC_KEY_TAG
            && t.value() == "none"));
    });
}

#[test]
fn ssm_4_a_public_document_stays_shared_until_a_rule_turns_the_control_on() {
    run(async {
        let w = world().await;
        let doc = public_document(&w.aws, "runbook", false).await;
        let arn = format!("arn:aws:ssm:us-east-1:{ACCOUNT}:document/{doc}");
        let out = off_then_on(&w, "SSM.4", "AwsSsmDocument", &arn, ssm_4()).await;
        assert!(
            steps(&out).contains("stop sharing document runbook with everyone"),
            "{out}"
        );
        assert!(!document_public(&w.aws, &doc).await);
    });
}

#[test]
fn lambda_1_only_the_statement_letting_anyone_in_is_removed_once_a_rule_turns_it_on() {
    run(async {
        let w = world().await;
        let function = public_function(&w.aws, "hook", false).await;
        let out = off_then_on(&w, "Lambda.1", "AwsLambdaFunction", &function, lambda_1()).await;
        assert!(
            steps(&out).contains("the undo record is this note"),
            "{out}"
        );
        assert!(steps(&out).contains("remove statement anyone"), "{out}");
        assert!(steps(&out).contains("remove statement s3-any"), "{out}");
        assert!(steps(&out).contains("remove statement any-bucket"), "{out}");
        assert_eq!(
            function_statements(&w.aws, &function).await,
            vec!["api-routes", "bucket-events"],
            "API Gateway's permission and the statement narrowed to an account stay"
        );
    });
}

#[test]
fn iam_password_policy_controls_raise_a_weak_policy_and_keep_what_is_stricter() {
    run(async {
        let w = world().await;
        weak_password_policy(&w.aws).await;
        let out = off_then_on(&w, "IAM.15", "AwsAccount", ACCOUNT_RESOURCE, iam_15()).await;
        assert!(
            steps(&out).contains(
                "the password policy of account 123456789012 was MinimumPasswordLength=8"
            ),
            "{out}"
        );
        assert!(password_policy_strong(&w.aws).await);
        // Stricter than the benchmark on one setting: kept.
        w.aws
            .iam
            .update_account_password_policy()
            .minimum_password_length(20)
            .max_password_age(30)
            .send()
            .await
            .unwrap();
        let on = env("enforce", Some(&enforcing(&["IAM.7"])), "");
        let (_, out) = remediate(
            &w,
            &on,
            &finding("iam-7", "AwsAccount", ACCOUNT_RESOURCE, iam_7()),
        )
        .await;
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        let p = w
            .aws
            .iam
            .get_account_password_policy()
            .send()
            .await
            .unwrap();
        let p = p.password_policy().unwrap();
        assert_eq!(p.minimum_password_length(), Some(20));
        assert_eq!(p.max_password_age(), Some(30));
        assert!(p.require_symbols() && p.require_numbers());
        assert_eq!(p.password_reuse_prevention(), Some(24));
    });
}

/// SSM.7's setting is one moto does not serve: the proxy answers GetServiceSetting and
/// UpdateServiceSetting as the SSM API reference documents them. Notify-only and a protected
/// account change nothing; on by default, enforce blocks public sharing, once.
#[test]
fn mocked_ssm_7_public_document_sharing_is_blocked_on_by_default() {
    run(async {
        let mut w = world().await;
        let settings = Arc::new(ServiceSettings::default());
        let proxy = Proxy::start(&w.aws.url, Some(settings.clone()));
        w.clients.ssm = Clients::new(&sdk_at(&proxy.url, "testing", "testing")).ssm;
        let f = |n: &str| finding(n, "AwsAccount", ACCOUNT_RESOURCE, ssm_7());
        let (event, out) = remediate(&w, &env("notify-only", None, ""), &f("ssm-7-dry")).await;
        assert_eq!(event["detail"]["action"], "block-public-document-sharing");
        assert_eq!(event["detail"]["finding"]["control_id"], "SSM.7");
        assert_eq!(out["dry_run"], true, "{out}");
        assert!(steps(&out).contains("would block public sharing"), "{out}");
        let (_, out) = remediate(&w, &env("enforce", None, ACCOUNT), &f("ssm-7-kept")).await;
        assert!(steps(&out).contains("nothing is changed"), "{out}");
        assert_eq!(settings.value(), "Enable");
        let (_, out) = remediate(&w, &env("enforce", None, ""), &f("ssm-7")).await;
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert!(
            steps(&out).contains("the undo record is this note"),
            "{out}"
        );
        assert_eq!(settings.value(), "Disable");
        let (_, out) = remediate(&w, &env("enforce", None, ""), &f("ssm-7-again")).await;
        assert_eq!(out["already_remediated"], true, "{out}");
    });
}

/// Every catalogued control's non-compliant resource, and its finding.
async fn each_control(w: &World, n: &str) -> Vec<(&'static str, Value)> {
    let a = &w.aws;
    let (old, old_keys) = iam_user(a, "/", &format!("{n}-old"), 1, false, false).await;
    let (idle, idle_keys) = iam_user(a, "/ops/", &format!("{n}-idle"), 1, false, false).await;
    w.aged.age(&[&old_keys[0], &idle_keys[0]]);
    let trail = unvalidated_trail(a, "eu-west-1", &format!("{n}-trail"), false).await;
    let bucket8 = bucket(a, &format!("{n}-public")).await;
    let bucket5 = bucket(a, &format!("{n}-plain")).await;
    let (vpc, _) = vpc_with_subnet(a, "10.5").await;
    let sg = default_group(a, &vpc).await;
    let i = instance(a).await;
    public_snapshot(a, false).await;
    let subnet = public_ip_subnet(a, "10.31", false).await;
    let tgw = auto_accepting_tgw(a, false).await;
    let ports = fixture(a, false).await;
    let high = fixture(a, false).await;
    let bucket13 = bucket(a, &format!("{n}-lifeless")).await;
    let topic = plain_topic(a, &format!("{n}-topic"), false).await;
    let doc = public_document(a, &format!("{n}-doc"), false).await;
    let key = unrotated_key(a, false).await;
    let queue = plain_queue(a, &format!("{n}-queue"), false).await;
    let function = public_function(a, &format!("{n}-fn"), false).await;
    weak_password_policy(a).await;
    let more = [
        ("EC2.1", "AwsAccount", ACCOUNT_RESOURCE.to_string(), ec2_1()),
        (
            "EC2.15",
            "AwsEc2Subnet",
            arn_of("subnet", &subnet),
            ec2_15(),
        ),
        (
            "EC2.18",
            "AwsEc2SecurityGroup",
            arn_of_group(&ports.sg),
            ec2_18(),
        ),
        (
            "EC2.19",
            "AwsEc2SecurityGroup",
            arn_of_group(&high.sg),
            ec2_19(),
        ),
        (
            "EC2.23",
            "AwsEc2TransitGateway",
            arn_of("transit-gateway", &tgw),
            ec2_23(),
        ),
        ("S3.13", "AwsS3Bucket", bucket13, s3_13()),
        ("SNS.1", "AwsSnsTopic", topic, sns_1()),
        (
            "SSM.4",
            "AwsSsmDocument",
            format!("arn:aws:ssm:us-east-1:{ACCOUNT}:document/{doc}"),
            ssm_4(),
        ),
        ("KMS.4", "AwsKmsKey", key, kms_4()),
        ("SQS.1", "AwsSqsQueue", queue, sqs_1()),
        ("Lambda.1", "AwsLambdaFunction", function, lambda_1()),
        ("IAM.7", "AwsAccount", ACCOUNT_RESOURCE.to_string(), iam_7()),
        ("IAM.3", "AwsIamUser", old, iam_3()),
        ("IAM.8", "AwsIamUser", idle, iam_8()),
        ("CloudTrail.4", "AwsCloudTrailTrail", trail, cloudtrail_4()),
    ];
    let more = more.into_iter().map(|(c, kind, arn, shape)| {
        let name = format!("{n}-{}", c.to_ascii_lowercase().replace('.', "-"));
        (c, finding(&name, kind, &arn, shape))
    });
    let mut all = vec![
        (
            "S3.8",
            finding(&format!("{n}-s3-8"), "AwsS3Bucket", &bucket8, s3_8()),
        ),
        (
            "S3.5",
            finding(&format!("{n}-s3-5"), "AwsS3Bucket", &bucket5, s3_5()),
        ),
        (
            "EC2.7",
            finding(
                &format!("{n}-ec2-7"),
                "AwsAccount",
                ACCOUNT_RESOURCE,
                ec2_7(),
            ),
        ),
        (
            "EC2.2",
            finding(
                &format!("{n}-ec2-2"),
                "AwsEc2SecurityGroup",
                &arn_of_group(&sg),
                ec2_2(),
            ),
        ),
        (
            "EC2.8",
            finding(
                &format!("{n}-ec2-8"),
                "AwsEc2Instance",
                &arn_of_instance(&i),
                ec2_8(),
            ),
        ),
    ];
    all.extend(more);
    all.extend(sharing_an_action(w, n).await);
    all
}

/// The catalogued controls that share a remediation with one of [`each_control`]'s, each on a
/// resource of its own: S3.2, S3.3, S3.4, EC2.13, EC2.14, IAM.11–IAM.17 and IAM.22. (SSM.7's
/// setting is one moto does not serve: `mocked_ssm_7_…` proves its notify-only and protected runs.)
async fn sharing_an_action(w: &World, n: &str) -> Vec<(&'static str, Value)> {
    let a = &w.aws;
    let consolidated = |c: &str| json!({"GeneratorId": format!("security-control/{c}"), "Compliance": {"SecurityControlId": c}});
    let mut found = Vec::new();
    for c in ["S3.2", "S3.3", "S3.4"] {
        let name = format!("{n}-{}", c.to_ascii_lowercase().replace('.', "-"));
        let arn = bucket(a, &format!("{name}-bucket")).await;
        found.push((c, name, "AwsS3Bucket", arn));
    }
    for c in ["EC2.13", "EC2.14"] {
        let group = fixture(a, false).await.sg;
        let name = format!("{n}-{}", c.to_ascii_lowercase().replace('.', "-"));
        found.push((c, name, "AwsEc2SecurityGroup", arn_of_group(&group)));
    }
    for c in [
        "IAM.11", "IAM.12", "IAM.13", "IAM.14", "IAM.15", "IAM.16", "IAM.17",
    ] {
        let name = format!("{n}-{}", c.to_ascii_lowercase().replace('.', "-"));
        found.push((c, name, "AwsAccount", ACCOUNT_RESOURCE.to_string()));
    }
    let (stale, stale_keys) = iam_user(a, "/", &format!("{n}-stale"), 1, false, false).await;
    w.aged.age(&[&stale_keys[0]]);
    found.push(("IAM.22", format!("{n}-iam-22"), "AwsIamUser", stale));
    found
        .into_iter()
        .map(|(c, name, kind, arn)| (c, finding(&name, kind, &arn, consolidated(c))))
        .collect()
}

/// Nothing of any control's resource changed.
async fn unchanged(a: &Aws, controls: &[(&str, Value)]) {
    for (control, f) in controls {
        let id = f["Resources"][0]["Id"].as_str().unwrap();
        let short = id.rsplit(['/', ':']).next().unwrap();
        match *control {
            "S3.8" | "S3.2" | "S3.3" | "S3.4" => assert!(!blocked(a, short).await, "{control}"),
            "S3.5" => assert!(bucket_policy(a, short).await.is_none(), "{control}"),
            "EC2.7" => assert!(!ebs_default(a).await, "{control}"),
            "EC2.2" => assert!(rule_count(a, short).await > 0, "{control}"),
            "EC2.8" => assert_eq!(http_tokens(a, short).await, "optional", "{control}"),
            "EC2.1" => assert!(any_public_snapshot(a).await, "{control}"),
            "EC2.15" => assert!(maps_public_ip(a, short).await, "{control}"),
            "EC2.18" | "EC2.19" => {
                let left = ingress(a, short).await;
                assert!(
                    left.contains(&"22:0.0.0.0/0".to_string()),
                    "{control}: {left:?}"
                );
            }
            "EC2.23" => assert!(tgw_auto_accepts(a, short).await, "{control}"),
            "S3.13" => assert!(!has_lifecycle(a, short).await, "{control}"),
            "SNS.1" => assert!(topic_key(a, id).await.is_empty(), "{control}"),
            "SSM.4" => assert!(document_public(a, short).await, "{control}"),
            "KMS.4" => assert!(!key_rotates(a, id).await, "{control}"),
            "SQS.1" => assert!(!queue_encrypted(a, id).await, "{control}"),
            "Lambda.1" => assert!(
                function_statements(a, id)
                    .await
                    .contains(&"anyone".to_string()),
                "{control}"
            ),
            "IAM.7" | "IAM.11" | "IAM.12" | "IAM.13" | "IAM.14" | "IAM.15" | "IAM.16"
            | "IAM.17" => {
                assert!(!password_policy_strong(a).await, "{control}")
            }
            "EC2.13" | "EC2.14" => {
                let left = ingress(a, short).await;
                for open in ["22:0.0.0.0/0", "3389:0.0.0.0/0"] {
                    assert!(left.contains(&open.to_string()), "{control}: {left:?}");
                }
            }
            "IAM.3" | "IAM.8" | "IAM.22" => {
                let keys = a.iam.list_access_keys().user_name(short).send().await;
                let keys = keys.unwrap();
                let key = keys.access_key_metadata()[0].access_key_id().unwrap();
                assert_eq!(key_status(a, short, key).await, "Active", "{control}");
                let tag = deactivated_key_tag(key);
                assert_eq!(user_tag(a, short, &tag).await, None, "{control}");
            }
            "CloudTrail.4" => assert!(!trail_validates(a, id).await, "{control}"),
            _ => unreachable!(),
        }
    }
}

#[test]
fn notify_only_changes_nothing_and_says_what_would_be_done() {
    run(async {
        let w = world().await;
        let controls = each_control(&w, "dry").await;
        let notify = env("notify-only", None, "");
        for (control, f) in &controls {
            let (_, out) = remediate(&w, &notify, f).await;
            assert_eq!(
                (out["workflow"].as_str(), out["dry_run"].as_bool()),
                (Some("NOTIFIED"), Some(true)),
                "{control}: {out}"
            );
            assert!(steps(&out).contains("would "), "{control}: {out}");
        }
        unchanged(&w.aws, &controls).await;
    });
}

#[test]
fn protected_resources_are_untouched_even_with_every_control_enforced() {
    run(async {
        let w = world().await;
        let controls = each_control(&w, "kept").await;
        for (control, f) in &controls {
            let id = f["Resources"][0]["Id"].as_str().unwrap();
            let short = id.rsplit(['/', ':']).next().unwrap();
            match *control {
                "S3.8" | "S3.5" | "S3.13" | "S3.2" | "S3.3" | "S3.4" => {
                    protect_bucket(&w.aws, short).await
                }
                "EC2.2" | "EC2.8" | "EC2.15" | "EC2.18" | "EC2.19" | "EC2.23" | "EC2.13"
                | "EC2.14" => protect_ec2(&w.aws, short).await,
                "SNS.1" | "KMS.4" | "SQS.1" | "Lambda.1" | "IAM.3" | "IAM.8" | "IAM.22"
                | "CloudTrail.4" => protect_resource(&w.aws, control, id).await,
                "SSM.4" => protect_resource(&w.aws, control, short).await,
                _ => {}
            }
        }
        // An account has no tags: protected by configuration.
        let all: Vec<&str> = controls.iter().map(|(c, _)| *c).collect();
        let enforce = env("enforce", Some(&enforcing(&all)), ACCOUNT);
        for (control, f) in &controls {
            let (_, out) = remediate(&w, &enforce, f).await;
            assert_eq!(out["workflow"], "NOTIFIED", "{control}: {out}");
            assert!(
                steps(&out).contains("nothing is changed"),
                "{control}: {out}"
            );
        }
        unchanged(&w.aws, &controls).await;
    });
}

/// S3 takes bucket policies of up to 20 KB: a policy with no room left for the statement is left
/// as it was, the finding NOTIFIED with why (the record written before is the only change).
#[test]
fn s3_5_a_policy_with_no_room_for_the_statement_is_left_as_it_was() {
    run(async {
        let w = world().await;
        let arn = bucket(&w.aws, "crowded").await;
        let statements: Vec<Value> = (0..83)
            .map(|n| {
                json!({"Sid": format!("Partner{n:03}"), "Effect": "Allow",
                       "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/partner-reader-with-a-long-name-{n:03}")},
                       "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"],
                       "Resource": format!("{arn}/partners/{n:03}/*")})
            })
            .collect();
        let policy = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
        assert!(
            policy.len() > 20_250 && policy.len() <= 20 * 1024,
            "{}",
            policy.len()
        );
        w.aws
            .s3
            .put_bucket_policy()
            .bucket("crowded")
            .policy(&policy)
            .send()
            .await
            .unwrap();
        let f = finding("s3-5-crowded", "AwsS3Bucket", &arn, s3_5());
        let event = through_triage(&w, &env("enforce", Some(&s3_on()), ""), &f)
            .await
            .unwrap();
        let err = remediation::handle(
            &w.clients,
            &env("enforce", Some(&s3_on()), ""),
            &event,
            None,
        )
        .await
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("over S3's 20 KB: nothing was changed"),
            "{err:#}"
        );
        let kept = bucket_policy(&w.aws, "crowded").await.unwrap();
        assert_eq!(kept["Statement"].as_array().unwrap().len(), 83);
        assert_eq!(workflow(&w, &f).await, "NOTIFIED");
    });
}

/// Every interface in DescribeNetworkInterfaces' answer as another service's (moto makes no load
/// balancer interfaces; AWS's answer carries `requesterManaged` true for them).
struct ManagedInterfaces;

impl Shim for ManagedInterfaces {
    fn respond(&self, request: &Message, response: &mut Message) {
        if String::from_utf8_lossy(&request.body).contains("Action=DescribeNetworkInterfaces") {
            let text = String::from_utf8_lossy(&response.body).replace(
                "<requesterManaged>false</requesterManaged>",
                "<requesterManaged>true</requesterManaged>",
            );
            response.body = text.into_bytes();
        }
    }
}

/// EC2.19 (turned on by a rule) leaves a group a load balancer uses, as EC2.18 does: it may be
/// meant to be open to the world. The finding stays NOTIFIED saying so; SSH stays.
#[test]
fn mocked_ec2_19_leaves_a_group_a_load_balancer_uses() {
    run(async {
        let mut w = world().await;
        let f = fixture(&w.aws, false).await;
        let proxy = Proxy::start(&w.aws.url, Some(Arc::new(ManagedInterfaces)));
        w.clients.ec2 = Clients::new(&sdk_at(&proxy.url, "testing", "testing")).ec2;
        let arn = arn_of_group(&f.sg);
        let (_, out) = remediate(
            &w,
            &env("enforce", Some(&enforcing(&["EC2.19"])), ""),
            &finding("ec2-19-lb", "AwsEc2SecurityGroup", &arn, ec2_19()),
        )
        .await;
        assert_eq!(out["workflow"], "NOTIFIED", "{out}");
        assert!(steps(&out).contains("another service manages"), "{out}");
        let left = ingress(&w.aws, &f.sg).await;
        assert!(left.contains(&"22:0.0.0.0/0".to_string()), "{left:?}");
    });
}

/// A world-open range that reaches high-risk ports and serves the web too (tcp 80-443 reaches
/// 110, 135 and 143) is left, the finding NOTIFIED with why; the group's SSH rule still goes.
#[test]
fn ec2_19_a_port_range_that_also_serves_the_web_is_left_and_said() {
    run(async {
        let w = world().await;
        let f = fixture(&w.aws, false).await;
        w.aws
            .ec2
            .authorize_security_group_ingress()
            .group_id(&f.sg)
            .ip_permissions(common::world("tcp", 80, 443))
            .send()
            .await
            .unwrap();
        let arn = arn_of_group(&f.sg);
        let (_, out) = remediate(
            &w,
            &env("enforce", Some(&enforcing(&["EC2.19"])), ""),
            &finding("ec2-19-web", "AwsEc2SecurityGroup", &arn, ec2_19()),
        )
        .await;
        assert_eq!(out["workflow"], "NOTIFIED", "{out}");
        assert!(steps(&out).contains("revoke tcp 22"), "{out}");
        assert!(steps(&out).contains("also serves the web"), "{out}");
        let left = ingress(&w.aws, &f.sg).await;
        assert!(!left.contains(&"22:0.0.0.0/0".to_string()), "{left:?}");
        assert!(
            left.contains(&"80:0.0.0.0/0".to_string()),
            "80-443 stays: {left:?}"
        );
    });
}

/// EC2.18 honours the ports the finding's parameters authorize (`authorizedTcpPorts`), and, like
/// AWS Config's rule, looks at TCP and UDP only: a world-open ICMP rule stays.
#[test]
fn ec2_18_honours_the_findings_authorized_ports_and_leaves_icmp() {
    run(async {
        let w = world().await;
        let f = fixture(&w.aws, false).await;
        w.aws
            .ec2
            .authorize_security_group_ingress()
            .group_id(&f.sg)
            .ip_permissions(common::world("icmp", -1, -1))
            .send()
            .await
            .unwrap();
        let shape = json!({"GeneratorId": "security-control/EC2.18", "Compliance": {
            "SecurityControlId": "EC2.18",
            "SecurityControlParameters": [{"Name": "authorizedTcpPorts", "Value": ["443", "2222"]}]}});
        let on = env("enforce", Some(&enforcing(&["EC2.18"])), "");
        let arn = arn_of_group(&f.sg);
        let (_, out) = remediate(
            &w,
            &on,
            &finding("ec2-18-params", "AwsEc2SecurityGroup", &arn, shape),
        )
        .await;
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        let left = ingress(&w.aws, &f.sg).await;
        assert!(!left.contains(&"22:0.0.0.0/0".to_string()), "{left:?}");
        assert!(!left.contains(&"3389:0.0.0.0/0".to_string()), "{left:?}");
        assert!(
            left.contains(&"2222:::/0".to_string()),
            "authorized: {left:?}"
        );
        assert!(
            left.contains(&"-1:0.0.0.0/0".to_string()),
            "ICMP stays: {left:?}"
        );
    });
}

/// A record that would not fit the finding's note (Security Hub keeps 512 characters) refuses the
/// change before it happens: every statement stays, the finding NOTIFIED saying why.
#[test]
fn lambda_1_a_record_too_long_for_the_note_refuses_the_change() {
    run(async {
        let w = world().await;
        let function = public_function(&w.aws, "crowded", false).await;
        for n in 0..4 {
            w.aws
                .lambda
                .add_permission()
                .function_name("crowded")
                .statement_id(format!("anyone-{n}-{}", "x".repeat(60)))
                .action("lambda:InvokeFunction")
                .principal("*")
                .send()
                .await
                .unwrap();
        }
        let before = function_statements(&w.aws, &function).await;
        let on = env("enforce", Some(&enforcing(&["Lambda.1"])), "");
        let f = finding("lambda-1-long", "AwsLambdaFunction", &function, lambda_1());
        let (_, out) = remediate(&w, &on, &f).await;
        assert_eq!(out["workflow"], "NOTIFIED", "{out}");
        assert!(
            steps(&out).contains("would not fit in the finding's note"),
            "{out}"
        );
        assert!(!steps(&out).contains("remove statement"), "{out}");
        assert_eq!(function_statements(&w.aws, &function).await, before);
    });
}

/// A retry (the finding's note holds an earlier run's record, of statements since removed) keeps
/// that record first in the new note: the retry's smaller record never replaces it.
#[test]
fn lambda_1_a_retry_keeps_the_first_runs_record_in_the_note() {
    run(async {
        let w = world().await;
        let function = public_function(&w.aws, "retried", false).await;
        let earlier = "the undo record is this note: the statements of its policy that let anyone invoke it were {\"Action\":\"lambda:InvokeFunction\",\"Principal\":\"*\",\"Sid\":\"gone-already\"}";
        let f = finding("lambda-1-retry", "AwsLambdaFunction", &function, lambda_1());
        let on = env("enforce", Some(&enforcing(&["Lambda.1"])), "");
        let event = through_triage(&w, &on, &f).await.unwrap();
        // The first run's note, as it left it when it failed part-way.
        use aws_sdk_securityhub::types::{AwsSecurityFindingIdentifier, NoteUpdate};
        w.clients
            .securityhub
            .batch_update_findings()
            .finding_identifiers(
                AwsSecurityFindingIdentifier::builder()
                    .id(f["Id"].as_str().unwrap())
                    .product_arn(HUB)
                    .build(),
            )
            .note(
                NoteUpdate::builder()
                    .text(format!("secauto remediation of remove-public-function-access failed: throttled; already changed: {earlier}; remove statement gone-already"))
                    .updated_by("secauto")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let out = remediation::handle(&w.clients, &on, &event, None)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        let live = findings::get(&w.clients.securityhub, f["Id"].as_str().unwrap(), HUB)
            .await
            .unwrap()
            .unwrap();
        let note = live.note.unwrap().text;
        let kept = note.find(earlier).unwrap_or_else(|| panic!("{note}"));
        let new = note
            .find("\"Sid\":\"anyone\"")
            .unwrap_or_else(|| panic!("{note}"));
        assert!(kept < new, "the earlier record comes first: {note}");
    });
}

/// IAM.7's parameters may be stricter than the benchmark secauto reads: a policy already meeting
/// the benchmark, its finding FAILED with parameters, stays NOTIFIED saying so; without
/// parameters (the control's defaults, weaker than the benchmark) it is RESOLVED.
#[test]
fn iam_7_a_failed_finding_with_parameters_is_not_resolved_by_the_benchmark() {
    run(async {
        let w = world().await;
        let on = env("enforce", Some(&enforcing(&["IAM.7"])), "");
        let (_, out) = remediate(
            &w,
            &on,
            &finding("iam-7-raise", "AwsAccount", ACCOUNT_RESOURCE, iam_7()),
        )
        .await;
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        let shape = json!({"GeneratorId": "security-control/IAM.7", "Compliance": {
            "SecurityControlId": "IAM.7",
            "SecurityControlParameters": [{"Name": "MinimumPasswordLength", "Value": ["20"]}]}});
        let f = finding("iam-7-params", "AwsAccount", ACCOUNT_RESOURCE, shape);
        let (_, out) = remediate(&w, &on, &f).await;
        assert_eq!(out["workflow"], "NOTIFIED", "{out}");
        assert!(
            steps(&out).contains("parameters (MinimumPasswordLength=20) may be stricter"),
            "{out}"
        );
        let (_, out) = remediate(
            &w,
            &on,
            &finding("iam-7-defaults", "AwsAccount", ACCOUNT_RESOURCE, iam_7()),
        )
        .await;
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
    });
}

/// The same when the run changed the policy: its re-read proves secauto's benchmark, not the
/// control's parameters, so a FAILED finding with parameters is not marked RESOLVED (Security Hub
/// would keep it FAILED, hidden behind RESOLVED).
#[test]
fn iam_7_a_finding_with_parameters_the_run_raised_the_policy_for_stays_notified() {
    run(async {
        let w = world().await;
        let on = env("enforce", Some(&enforcing(&["IAM.7"])), "");
        let shape = json!({"GeneratorId": "security-control/IAM.7", "Compliance": {
            "SecurityControlId": "IAM.7",
            "SecurityControlParameters": [{"Name": "MaxPasswordAge", "Value": ["30"]}]}});
        let f = finding(
            "iam-7-params-changed",
            "AwsAccount",
            ACCOUNT_RESOURCE,
            shape,
        );
        let (_, out) = remediate(&w, &on, &f).await;
        assert_eq!(out["workflow"], "NOTIFIED", "{out}");
        assert!(
            steps(&out).contains("now meets secauto's benchmark for IAM.7")
                && steps(&out).contains("(MaxPasswordAge=30) may be stricter"),
            "{out}"
        );
        let policy = w.aws.iam.get_account_password_policy().send().await;
        assert!(policy.is_ok(), "the policy was raised all the same");
    });
}

/// With no password policy at all, the one put leaves users unable to change their own passwords
/// (UpdateAccountPasswordPolicy's default, false), as the row promises.
#[test]
fn iam_7_with_no_policy_users_still_cannot_change_their_own_passwords() {
    run(async {
        let w = world().await;
        assert!(w
            .aws
            .iam
            .get_account_password_policy()
            .send()
            .await
            .is_err());
        let on = env("enforce", Some(&enforcing(&["IAM.7"])), "");
        let (_, out) = remediate(
            &w,
            &on,
            &finding("iam-7-none", "AwsAccount", ACCOUNT_RESOURCE, iam_7()),
        )
        .await;
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert!(steps(&out).contains("was none"), "{out}");
        let p = w
            .aws
            .iam
            .get_account_password_policy()
            .send()
            .await
            .unwrap();
        assert!(!p
            .password_policy()
            .unwrap()
            .allow_users_to_change_password());
        assert!(password_policy_strong(&w.aws).await);
    });
}

/// DescribeDocumentPermission answers a page at a time (NextToken): a document shared with `All`
/// on a later page is still found, and made private.
struct PagedPermissions;

impl Shim for PagedPermissions {
    fn respond(&self, request: &Message, response: &mut Message) {
        let first_page = request.header("x-amz-target")
            == Some("AmazonSSM.DescribeDocumentPermission")
            && !String::from_utf8_lossy(&request.body).contains("NextToken");
        if first_page {
            response.body = json!({
                "AccountIds": ["111122223333"],
                "AccountSharingInfoList": [{"AccountId": "111122223333", "SharedDocumentVersion": "$DEFAULT"}],
                "NextToken": "page-2"})
            .to_string()
            .into_bytes();
        }
    }
}

#[test]
fn mocked_ssm_4_all_on_a_later_page_of_permissions_is_found() {
    run(async {
        let mut w = world().await;
        let doc = public_document(&w.aws, "paged", false).await;
        let proxy = Proxy::start(&w.aws.url, Some(Arc::new(PagedPermissions)));
        w.clients.ssm = Clients::new(&sdk_at(&proxy.url, "testing", "testing")).ssm;
        let arn = format!("arn:aws:ssm:us-east-1:{ACCOUNT}:document/{doc}");
        let on = env("enforce", Some(&enforcing(&["SSM.4"])), "");
        let (_, out) = remediate(
            &w,
            &on,
            &finding("ssm-4-paged", "AwsSsmDocument", &arn, ssm_4()),
        )
        .await;
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert!(
            steps(&out).contains("stop sharing document paged with everyone"),
            "{out}"
        );
        assert!(!document_public(&w.aws, &doc).await);
    });
}

/// IAM.3: a user at a path of several parts with an old key and a new one. Off by default, then
/// on: the old key is deactivated (kept, inactive), the new one stays active, the key id is
/// recorded in the note and in the user's tag; a second finding changes nothing.
#[test]
fn iam_3_an_old_access_key_is_deactivated_never_deleted_once_a_rule_turns_it_on() {
    run(async {
        let w = world().await;
        let (arn, keys) = iam_user(&w.aws, "/team/dev/", "alice", 2, false, false).await;
        assert_eq!(arn, format!("arn:aws:iam::{ACCOUNT}:user/team/dev/alice"));
        w.aged.age(&[&keys[0]]);
        let out = off_then_on(&w, "IAM.3", "AwsIamUser", &arn, iam_3()).await;
        assert!(
            steps(&out).contains(&format!("deactivate access key {}", keys[0])),
            "{out}"
        );
        assert!(!steps(&out).contains(&keys[1]), "{out}");
        let note = note_of(&w, "iam-3-on").await;
        assert!(note.contains("the undo record is this note"), "{note}");
        assert!(note.contains(&keys[0]), "{note}");
        assert_eq!(key_status(&w.aws, "alice", &keys[0]).await, "Inactive");
        assert_eq!(key_status(&w.aws, "alice", &keys[1]).await, "Active");
        let listed = w
            .aws
            .iam
            .list_access_keys()
            .user_name("alice")
            .send()
            .await
            .unwrap();
        assert_eq!(listed.access_key_metadata().len(), 2, "nothing deleted");
        let recorded = user_tag(&w.aws, "alice", &deactivated_key_tag(&keys[0])).await;
        assert!(
            is_today(recorded.as_deref()),
            "one tag records the day of the key: {recorded:?}"
        );
        let kept = user_tag(&w.aws, "alice", &deactivated_key_tag(&keys[1])).await;
        assert_eq!(kept, None, "the key left active has no record");
    });
}

/// IAM.3's `maxAccessKeyAge`, when the finding carries it, is the age: a key made long ago but
/// within a larger age stays active.
#[test]
fn iam_3_honours_the_findings_max_access_key_age() {
    run(async {
        let w = world().await;
        let (arn, keys) = iam_user(&w.aws, "/", "bob", 1, false, false).await;
        w.aged.age(&[&keys[0]]);
        let shape = json!({"GeneratorId": "security-control/IAM.3", "Compliance": {
            "SecurityControlId": "IAM.3",
            "SecurityControlParameters": [{"Name": "maxAccessKeyAge", "Value": ["40000"]}]}});
        let on = env("enforce", Some(&enforcing(&["IAM.3"])), "");
        let (_, out) = remediate(&w, &on, &finding("iam-3-param", "AwsIamUser", &arn, shape)).await;
        assert!(steps(&out).contains("older than 40000 days"), "{out}");
        assert_eq!(key_status(&w.aws, "bob", &keys[0]).await, "Active");
    });
}

/// A user's record tags of keys it no longer has (deleted since they were deactivated) are
/// removed when the new record needs their room, so rotated keys never fill IAM's 50 tags for
/// good: a user at 50 tags, one of them such a record, takes the new one. A user with no room keeps the record in the
/// finding's note only, and the key is deactivated all the same.
#[test]
fn iam_3_records_of_deleted_keys_are_removed_and_a_full_user_keeps_the_note() {
    run(async {
        let w = world().await;
        let on = env("enforce", Some(&enforcing(&["IAM.3"])), "");
        let gone = deactivated_key_tag("AKIAGONE000000000001");
        for (user, others) in [("erin", 49), ("frank", 50)] {
            let (arn, keys) = iam_user(&w.aws, "/", user, 1, false, false).await;
            w.aged.age(&[&keys[0]]);
            if user == "erin" {
                tag_user(&w.aws, user, &gone, "2026-01-02").await;
            }
            for n in 0..others {
                tag_user(&w.aws, user, &format!("team:{n}"), "x").await;
            }
            let f = finding(&format!("iam-3-{user}"), "AwsIamUser", &arn, iam_3());
            let (_, out) = remediate(&w, &on, &f).await;
            assert_eq!(out["workflow"], "RESOLVED", "{user}: {out}");
            assert_eq!(key_status(&w.aws, user, &keys[0]).await, "Inactive");
            let recorded = user_tag(&w.aws, user, &deactivated_key_tag(&keys[0])).await;
            let note = note_of(&w, &format!("iam-3-{user}")).await;
            assert!(note.contains(&keys[0]), "{user}: {note}");
            if user == "erin" {
                assert!(is_today(recorded.as_deref()), "{out}");
                assert_eq!(user_tag(&w.aws, user, &gone).await, None, "{out}");
            } else {
                assert_eq!(recorded, None, "{out}");
                assert!(note.contains("is this note only: it has no room"), "{note}");
            }
        }
    });
}

/// IAM.8 (90 days) and IAM.22 (45): a key never used since it was made long ago is deactivated,
/// one used yesterday stays; one last used 60 days ago stays under IAM.8 and goes under IAM.22;
/// a console password never used is named with the command that removes it — never deleted — and
/// that finding stays NOTIFIED.
#[test]
fn iam_8_and_iam_22_unused_keys_are_deactivated_and_an_unused_password_only_named() {
    run(async {
        let w = world().await;
        let (arn, keys) = iam_user(&w.aws, "/", "carol", 2, false, false).await;
        w.aged.age(&[&keys[0], &keys[1]]);
        w.aged.used(&keys[1], 1);
        let out = off_then_on(&w, "IAM.8", "AwsIamUser", &arn, iam_8()).await;
        assert!(
            steps(&out).contains(&format!("deactivate access key {}", keys[0])),
            "{out}"
        );
        assert_eq!(key_status(&w.aws, "carol", &keys[0]).await, "Inactive");
        assert_eq!(key_status(&w.aws, "carol", &keys[1]).await, "Active");
        let tag_0 = deactivated_key_tag(&keys[0]);
        let first = user_tag(&w.aws, "carol", &tag_0).await;
        assert!(
            is_today(first.as_deref()),
            "IAM.8 recorded the key it deactivated: {first:?}"
        );
        // Another writer's record of the first key, of another day; then IAM.3 on the same user
        // (its used key is old), reading the user's tags as they were before that record (a
        // stale read, or a writer racing): its record is a tag of its own key only, so the other
        // record stays as it was.
        tag_user(&w.aws, "carol", &tag_0, "2026-01-02").await;
        let on_3 = env("enforce", Some(&enforcing(&["IAM.3"])), "");
        let iam_3_carol = finding("iam-3-carol", "AwsIamUser", &arn, iam_3());
        w.aged
            .hide_tags
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let (_, out) = remediate(&w, &on_3, &iam_3_carol).await;
        w.aged
            .hide_tags
            .store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert_eq!(key_status(&w.aws, "carol", &keys[1]).await, "Inactive");
        let tag_1 = deactivated_key_tag(&keys[1]);
        assert!(
            is_today(user_tag(&w.aws, "carol", &tag_1).await.as_deref()),
            "{out}"
        );
        let kept = user_tag(&w.aws, "carol", &tag_0).await;
        assert_eq!(kept.as_deref(), Some("2026-01-02"), "{out}");
        let (arn, keys) = iam_user(&w.aws, "/", "dave", 1, false, false).await;
        w.aged.age(&[&keys[0]]);
        w.aged.used(&keys[0], 60);
        let on = env("enforce", Some(&enforcing(&["IAM.8", "IAM.22"])), "");
        let (_, out) =
            remediate(&w, &on, &finding("iam-8-dave", "AwsIamUser", &arn, iam_8())).await;
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert_eq!(key_status(&w.aws, "dave", &keys[0]).await, "Active");
        let (_, out) = remediate(
            &w,
            &on,
            &finding("iam-22-dave", "AwsIamUser", &arn, iam_22()),
        )
        .await;
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert_eq!(key_status(&w.aws, "dave", &keys[0]).await, "Inactive");
        let (arn, _) = iam_user(&w.aws, "/", "erin", 0, true, false).await;
        w.aged.age(&["erin"]);
        let (_, out) = remediate(
            &w,
            &on,
            &finding("iam-22-erin", "AwsIamUser", &arn, iam_22()),
        )
        .await;
        assert_eq!(out["workflow"], "NOTIFIED", "{out}");
        let note = note_of(&w, "iam-22-erin").await;
        assert!(note.contains("console password of IAM user erin"), "{note}");
        assert!(
            note.contains("aws iam delete-login-profile --user-name erin"),
            "{note}"
        );
        let profile = w.aws.iam.get_login_profile().user_name("erin").send().await;
        assert!(profile.is_ok(), "the password is never deleted");
    });
}

/// IAM's reads are eventually consistent: right after UpdateAccessKey, ListAccessKeys may still
/// show the key Active, and right after UpdateAccountPasswordPolicy GetAccountPasswordPolicy the
/// policy before (the proxy answers so twice after each change). The verification reads again
/// until the change shows, so the finding is RESOLVED, not left NOTIFIED.
#[test]
fn mocked_iam_credentials_and_password_policy_are_read_again_until_the_change_shows() {
    run(async {
        let w = world().await;
        w.aged.lag.store(2, std::sync::atomic::Ordering::SeqCst);
        let on = env("enforce", Some(&enforcing(&["IAM.3", "IAM.8"])), "");
        for (n, shape) in [("lagged-old", iam_3()), ("lagged-idle", iam_8())] {
            let (arn, keys) = iam_user(&w.aws, "/", n, 1, false, false).await;
            w.aged.age(&[&keys[0]]);
            let (_, out) = remediate(&w, &on, &finding(n, "AwsIamUser", &arn, shape)).await;
            assert_eq!(out["workflow"], "RESOLVED", "{n}: {out}");
            assert_eq!(key_status(&w.aws, n, &keys[0]).await, "Inactive", "{n}");
        }
        // The password policy, too: the reads right after the change still show the weak one.
        weak_password_policy(&w.aws).await;
        let on = env("enforce", Some(&enforcing(&["IAM.7"])), "");
        let f = finding("lagged-policy", "AwsAccount", ACCOUNT_RESOURCE, iam_7());
        let (_, out) = remediate(&w, &on, &f).await;
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert!(password_policy_strong(&w.aws).await);
    });
}

/// KMS's and SQS's reads are eventually consistent: the KMS Developer Guide says a change usually
/// shows within seconds, and SetQueueAttributes that one "can take up to 60 seconds" to show. The
/// proxy answers the two reads after EnableKeyRotation or SetQueueAttributes as before it
/// (rotation off; no SSE).
#[derive(Default)]
struct LaggingReads(std::sync::atomic::AtomicUsize);

impl Shim for LaggingReads {
    fn respond(&self, request: &Message, response: &mut Message) {
        let Some(target) = request.header("x-amz-target") else {
            return;
        };
        let read = match target {
            "TrentService.EnableKeyRotation" | "AmazonSQS.SetQueueAttributes" => {
                return self.0.store(2, std::sync::atomic::Ordering::SeqCst)
            }
            "TrentService.GetKeyRotationStatus" | "AmazonSQS.GetQueueAttributes" => target,
            _ => return,
        };
        if !take_one(&self.0) {
            return;
        }
        let mut body: Value = serde_json::from_slice(&response.body).unwrap();
        if read.starts_with("Trent") {
            body["KeyRotationEnabled"] = json!(false);
        } else if let Some(a) = body["Attributes"].as_object_mut() {
            a.remove("KmsMasterKeyId");
            a.insert("SqsManagedSseEnabled".into(), json!("false"));
        }
        response.body = body.to_string().into_bytes();
    }
}

/// KMS.4 and SQS.1 read the key and the queue again until the change shows: RESOLVED, though the
/// first reads after the change still show it as before.
#[test]
fn mocked_kms_4_and_sqs_1_are_read_again_until_the_change_shows() {
    run(async {
        let mut w = world().await;
        let lag = Arc::new(LaggingReads::default());
        let proxy = Proxy::start(&w.aws.url, Some(lag.clone()));
        w.clients.sdk = sdk_at(&proxy.url, "testing", "testing");
        let key = unrotated_key(&w.aws, false).await;
        let queue = plain_queue(&w.aws, "lagging", false).await;
        for (n, kind, arn, shape) in [
            ("kms-4-lag", "AwsKmsKey", &key, kms_4()),
            ("sqs-1-lag", "AwsSqsQueue", &queue, sqs_1()),
        ] {
            let (_, out) =
                remediate(&w, &env("enforce", None, ""), &finding(n, kind, arn, shape)).await;
            assert_eq!(out["workflow"], "RESOLVED", "{n}: {out}");
            assert_eq!(
                lag.0.load(std::sync::atomic::Ordering::SeqCst),
                0,
                "{n}: both lagging reads were made"
            );
        }
        assert!(key_rotates(&w.aws, &key).await);
        assert!(queue_encrypted(&w.aws, &queue).await);
    });
}

/// A key whose policy does not let the account's IAM policies in: KMS answers every call (or
/// only the one named: a policy that lets the account read the key but not change it)
/// AccessDeniedException, as the KMS Developer Guide ("Key policies in AWS KMS") says IAM
/// permissions alone do not reach such a key.
struct KeyPolicyDenies(Option<&'static str>);

impl Shim for KeyPolicyDenies {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        let op = request
            .header("x-amz-target")?
            .strip_prefix("TrentService.")?;
        self.0.is_none_or(|only| only == op).then(|| Message {
            start: "HTTP/1.1 400 Bad Request".into(),
            headers: vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
            body: json!({"__type": "AccessDeniedException",
                         "message": "User: arn:aws:sts::123456789012:assumed-role/sec-remediation/x is not authorized to perform: kms:DescribeKey on this resource because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access"})
                .to_string()
                .into_bytes(),
        })
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// KMS.4 (on by default) on a key whose policy keeps this account's IAM out — from every call, or
/// only from EnableKeyRotation, GetKeyRotationStatus or ListResourceTags — is refused with why: NOTIFIED, no error, so the invocation is not
/// retried into the same refusal.
#[test]
fn mocked_kms_4_a_key_whose_policy_keeps_iam_out_is_refused_not_failed() {
    run(async {
        let mut w = world().await;
        for (n, only) in [
            ("kms-4-denied", None),
            ("kms-4-read-only", Some("EnableKeyRotation")),
            // A key policy granting kms:Describe* but not kms:Get* or kms:List*.
            ("kms-4-describe-only", Some("GetKeyRotationStatus")),
            ("kms-4-no-tags", Some("ListResourceTags")),
        ] {
            let key = unrotated_key(&w.aws, false).await;
            let proxy = Proxy::start(&w.aws.url, Some(Arc::new(KeyPolicyDenies(only))));
            // The clients remediation makes for itself (KMS among them) come from this config.
            w.clients.sdk = sdk_at(&proxy.url, "testing", "testing");
            let f = finding(n, "AwsKmsKey", &key, kms_4());
            let (_, out) = remediate(&w, &env("enforce", None, ""), &f).await;
            assert_eq!(out["workflow"], "NOTIFIED", "{n}: {out}");
            // The refused call and KMS's own words, which say what denied it.
            let said = steps(&out);
            let call = format!(
                "kms:{}: AccessDeniedException",
                only.unwrap_or("DescribeKey")
            );
            assert!(said.contains(&call), "{n}: {out}");
            assert!(said.contains("is not authorized to perform"), "{n}: {out}");
            assert!(said.contains("the key policy may not let"), "{n}: {out}");
            assert!(!key_rotates(&w.aws, &key).await, "{n}");
        }
    });
}

/// A topic, a queue, a key or a function of another account is never acted on, even enforced and
/// even where its resource policy would let this account change it: the finding's account is
/// this one, the resource's ARN names another.
#[test]
fn resource_policy_controls_never_touch_another_accounts_resource() {
    run(async {
        let w = world().await;
        let other = "999999999999";
        let on = env(
            "enforce",
            Some(&enforcing(&["SNS.1", "SQS.1", "KMS.4", "Lambda.1"])),
            "",
        );
        for (control, kind, arn, shape) in [
            (
                "SNS.1",
                "AwsSnsTopic",
                format!("arn:aws:sns:us-east-1:{other}:shared"),
                sns_1(),
            ),
            (
                "SQS.1",
                "AwsSqsQueue",
                format!("arn:aws:sqs:us-east-1:{other}:shared"),
                sqs_1(),
            ),
            (
                "KMS.4",
                "AwsKmsKey",
                format!("arn:aws:kms:us-east-1:{other}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
                kms_4(),
            ),
            (
                "Lambda.1",
                "AwsLambdaFunction",
                format!("arn:aws:lambda:us-east-1:{other}:function:shared"),
                lambda_1(),
            ),
        ] {
            let n = format!("foreign-{}", control.to_ascii_lowercase().replace('.', "-"));
            let (event, out) = remediate(&w, &on, &finding(&n, kind, &arn, shape)).await;
            assert_eq!(event["detail"]["finding"]["control_id"], control);
            assert_eq!(out["workflow"], "NOTIFIED", "{control}: {out}");
            let said = format!("belongs to account {other}, not {ACCOUNT}");
            assert!(steps(&out).contains(&said), "{control}: {out}");
        }
    });
}

/// The root user and a user of another account are never acted on, even enforced.
#[test]
fn iam_credential_controls_never_touch_the_root_user_or_another_accounts_user() {
    run(async {
        let w = world().await;
        let (_, keys) = iam_user(&w.aws, "/", "frank", 1, false, false).await;
        w.aged.age(&[&keys[0]]);
        let on = env("enforce", Some(&enforcing(&["IAM.3", "IAM.8"])), "");
        for (n, arn, why) in [
            ("root", format!("arn:aws:iam::{ACCOUNT}:root"), "root user"),
            (
                "other",
                "arn:aws:iam::999999999999:user/frank".to_string(),
                "999999999999",
            ),
        ] {
            for (c, shape) in [("iam-3", iam_3()), ("iam-8", iam_8())] {
                let f = finding(&format!("{c}-{n}"), "AwsIamUser", &arn, shape);
                let (_, out) = remediate(&w, &on, &f).await;
                assert_eq!(out["workflow"], "NOTIFIED", "{c} {n}: {out}");
                assert!(steps(&out).contains(why), "{c} {n}: {out}");
            }
        }
        assert_eq!(key_status(&w.aws, "frank", &keys[0]).await, "Active");
    });
}

/// IAM refusing the record (TagUser `LimitExceeded`, as the IAM API reference documents it when
/// the user's tags are full — a tag another writer added since the read): the record comes before
/// the first change, so no key is deactivated and the finding says what failed.
struct RefusedTagging;

impl Shim for RefusedTagging {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        (form_param(&request.body, "Action")? == "TagUser").then(|| Message {
            start: "HTTP/1.1 409 Conflict".into(),
            headers: vec![("Content-Type".into(), "text/xml".into())],
            body: b"<ErrorResponse><Error><Type>Sender</Type><Code>LimitExceeded</Code><Message>Cannot exceed quota for TagsPerUser: 50</Message></Error><RequestId>r</RequestId></ErrorResponse>".to_vec(),
        })
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

#[test]
fn mocked_iam_3_a_refused_record_deactivates_nothing() {
    run(async {
        let mut w = world().await;
        let (arn, keys) = iam_user(&w.aws, "/", "grace", 1, false, false).await;
        w.aged.age(&[&keys[0]]);
        // Aged first, then refused: the refusing proxy sits in front of the aging one.
        let refusing = Proxy::start(&w._aging.url, Some(Arc::new(RefusedTagging)));
        w.clients.sdk = Clients::new(&sdk_at(&refusing.url, "testing", "testing")).sdk;
        let on = env("enforce", Some(&enforcing(&["IAM.3"])), "");
        let f = finding("iam-3-refused", "AwsIamUser", &arn, iam_3());
        let event = through_triage(&w, &on, &f).await.expect("a response event");
        let failed = remediation::handle(&w.clients, &on, &event, None)
            .await
            .expect_err("the run fails, to be retried");
        let text = format!("{failed:#}");
        assert!(text.contains("failed to record"), "{text}");
        assert!(text.contains("iam:TagUser"), "{text}");
        assert!(!text.contains("deactivate access key"), "{text}");
        let note = note_of(&w, "iam-3-refused").await;
        assert!(
            note.starts_with("secauto remediation of deactivate-old-access-keys failed: the undo record is this note"),
            "{note}"
        );
        assert_eq!(key_status(&w.aws, "grace", &keys[0]).await, "Active");
    });
}

/// CloudTrail.4, on by default: a multi-region trail made in eu-west-1, reported from us-east-1
/// (where its shadow is seen), gets log file validation in its home region — CloudTrail takes
/// changes to a trail there only — and RESOLVED; a second finding changes nothing.
#[test]
fn cloudtrail_4_a_multi_region_trail_is_validated_in_its_home_region_on_by_default() {
    run(async {
        let w = world().await;
        let trail = unvalidated_trail(&w.aws, "eu-west-1", "org-audit", false).await;
        assert!(
            trail.starts_with("arn:aws:cloudtrail:eu-west-1:"),
            "{trail}"
        );
        let f = |n: &str| finding(n, "AwsCloudTrailTrail", &trail, cloudtrail_4());
        let (event, out) = remediate(&w, &env("enforce", None, ""), &f("cloudtrail-4")).await;
        assert_eq!(event["detail"]["action"], "enable-log-file-validation");
        assert_eq!(event["detail"]["finding"]["control_id"], "CloudTrail.4");
        assert_eq!(out["workflow"], "RESOLVED", "{out}");
        assert!(
            steps(&out).contains("in its home region eu-west-1"),
            "{out}"
        );
        assert!(
            steps(&out).contains("the undo record is this note"),
            "{out}"
        );
        assert!(trail_validates(&w.aws, &trail).await);
        let (_, again) = remediate(&w, &env("enforce", None, ""), &f("cloudtrail-4-again")).await;
        assert_eq!(again["already_remediated"], true, "{again}");
    });
}
