//! End to end from an import, on the emulators scripts/emulators.sh starts, as the demo has them
//! (`secauto_testkit::Pipeline`): secauto deploys the stack, the handlers' real `bootstrap` runs in
//! ministack, and a finding imported into the Security Hub emulator — by BatchImportFindings (ASFF,
//! Security Hub CSPM) or as today's Security Hub's OCSF finding — travels as AWS would carry it: its
//! event through the EventBridge emulator → the findings rule → the triage function → the response
//! event on the stack's bus → remediation and notification → the SNS topic → an SQS queue subscribed
//! to it; the finding is updated in the emulator and, in enforce mode, the security group the finding
//! names (a real one, in ministack's EC2) is closed. With the findings rules disabled nothing arrives;
//! with the triage function deleted behind secauto's back, the event lands in the stack's dead-letter
//! queue naming the rule and the function.
//!
//! The functions are this workspace's debug `bootstrap` (target/debug/bootstrap): build it first
//! with `cargo build --workspace --all-targets`, as `cargo test --workspace --all-targets` does.
//! The time from import to notification is printed (`E2E_RUNS` imports, 3 by default).

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secauto::aws::{Clients, Connection};
use secauto_testkit::{Pipeline, PIPELINE_ACCOUNT as ACCOUNT};
use serde_json::{json, Value};

const STACK: &str = "e2e";
const REGION: &str = "us-east-1";
/// Each world runs four emulators and the functions as processes: one at a time on a small machine.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The stack deployed on the emulators, with an SQS queue subscribed to its topic.
struct World {
    emu: Pipeline,
    dir: tempfile::TempDir,
    clients: Clients,
    inbox: String,
    rt: tokio::runtime::Runtime,
}

impl World {
    /// The default stack (every Security Hub feature on, as in the demo) with `extra` config.
    fn new(extra: &str) -> World {
        let emu = Pipeline::start();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("secauto.toml"),
            format!("[stack]\nname = \"{STACK}\"\n\n[lambda]\nrole_propagation_timeout_seconds = 0\n\n{extra}"),
        )
        .expect("config");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let clients = clients(&emu);
        let w = World {
            emu,
            dir,
            clients,
            inbox: String::new(),
            rt,
        };
        for hub in ["/accounts", "/hubv2"] {
            w.securityhub("POST", hub, &json!({}));
        }
        let bootstrap = secauto_testkit::bootstrap();
        w.secauto_ok(&["build", "--bootstrap", bootstrap.to_str().unwrap()]);
        w.secauto_ok(&["deploy", "--no-progress"]);
        // The stack is in sync through the EventBridge emulator: the bus policy reads back as given.
        w.secauto_ok(&["status", "--no-progress"]);
        let inbox = w.rt.block_on(subscribe(&w.clients));
        World { inbox, ..w }
    }

    /// secauto in the project directory, pointed at the emulators as scripts/emulators.sh does.
    fn secauto(&self, args: &[&str]) -> (i32, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_secauto"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_REGION", REGION)
            .envs(self.emu.env());
        let out = cmd.output().expect("run secauto");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    fn secauto_ok(&self, args: &[&str]) {
        let (code, out) = self.secauto(args);
        assert_eq!(code, 0, "secauto {args:?}: {out}");
    }

    /// A call to the Security Hub emulator's REST API, signed by the caller whose account STS
    /// (ministack's) names: the pipeline's account.
    fn securityhub(&self, method: &str, path: &str, body: &Value) -> Value {
        let auth = "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/securityhub/aws4_request, SignedHeaders=host, Signature=0";
        let url = format!("{}{path}", self.emu.securityhub);
        let request = reqwest::blocking::Client::new()
            .request(method.parse().unwrap(), url)
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(body.to_string());
        let out = request.send().expect("Security Hub emulator");
        let status = out.status();
        let body: Value = out.json().unwrap_or(Value::Null);
        assert!(
            status.is_success() || status.as_u16() == 409,
            "{method} {path}: {status} {body}"
        );
        body
    }

    /// A fresh copy of the EC2.19 control failure (tests/data/ocsf: a group open to the world on
    /// 22 and 3389) about `group`, in this account, under a new finding id.
    fn asff_finding(&self, n: usize, group: &str) -> Value {
        let mut f = data("asff-twins/cspm-ec2.19-fail-new.json", group)["Findings"][0].clone();
        let id = f["Id"].as_str().unwrap().to_string();
        f["Id"] = json!(format!("{id}-{n}"));
        f
    }

    /// BatchImportFindings of one ASFF finding; its id.
    fn import_asff(&self, f: &Value) -> String {
        let out = self.securityhub("POST", "/findings/import", &json!({"Findings": [f]}));
        assert_eq!(out["FailedCount"], 0, "{out}");
        f["Id"].as_str().unwrap().to_string()
    }

    /// The EC2.19 control failure about `group` as today's Security Hub has it (OCSF), imported
    /// into its emulator under a new `metadata.uid`; that uid.
    fn import_ocsf(&self, n: usize, group: &str) -> String {
        let mut f = data("cspm-ec2.19-fail-new.event.json", group)["detail"]["findings"][0].clone();
        let uid = format!("{}-{n}", f["metadata"]["uid"].as_str().unwrap());
        f["metadata"]["uid"] = json!(uid);
        let out = self.securityhub("POST", "/_emulator/ocsf/import", &json!({"Findings": [f]}));
        assert_eq!(out["FailedCount"], 0, "{out}");
        uid
    }

    /// The ASFF finding's workflow status in the emulator.
    fn workflow(&self, id: &str) -> String {
        let filters = json!({"Filters": {"Id": [{"Value": id, "Comparison": "EQUALS"}]}});
        let out = self.securityhub("POST", "/findings", &filters);
        out["Findings"][0]["Workflow"]["Status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The `status_id` of the OCSF finding whose `field` is `value`, in the emulator.
    fn ocsf_status(&self, field: &str, value: &str) -> Value {
        let filters = json!({"Filters": {"CompositeFilters": [{"StringFilters": [
            {"FieldName": field, "Filter": {"Value": value, "Comparison": "EQUALS"}}]}]}});
        let out = self.securityhub("POST", "/findingsv2", &filters);
        out["Findings"][0]["status_id"].clone()
    }

    /// The SNS notifications on the inbox that mention `needle`, waiting up to `wait` for `count`.
    fn notifications(&self, needle: &str, count: usize, wait: Duration) -> Vec<Value> {
        let deadline = Instant::now() + wait;
        let mut got = Vec::new();
        while got.len() < count && Instant::now() < deadline {
            got.extend(
                self.rt
                    .block_on(receive(&self.clients, &self.inbox, 1))
                    .into_iter()
                    .filter(|n| n["Message"].as_str().unwrap_or_default().contains(needle)),
            );
        }
        got
    }

    /// A call to ministack's EC2 (Query protocol; the root package has no EC2 SDK): the response.
    fn ec2(&self, query: &str) -> String {
        let auth = "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0";
        reqwest::blocking::Client::new()
            .post(format!("{}/", self.emu.ministack))
            .header("authorization", auth)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("Version=2016-11-15&{query}"))
            .send()
            .and_then(|r| r.text())
            .expect("ministack EC2")
    }

    /// A security group open to the world on 22 and 3389 (what EC2.19 finds); its id.
    fn open_group(&self, name: &str) -> String {
        let out = self.ec2(&format!(
            "Action=CreateSecurityGroup&GroupName={name}&GroupDescription=EC2.19"
        ));
        let id = out
            .split("<groupId>")
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap_or_else(|| panic!("no group: {out}"))
            .to_string();
        for port in [22, 3389] {
            let p = "IpPermissions.1";
            self.ec2(&format!("Action=AuthorizeSecurityGroupIngress&GroupId={id}&{p}.IpProtocol=tcp&{p}.FromPort={port}&{p}.ToPort={port}&{p}.IpRanges.1.CidrIp=0.0.0.0/0"));
        }
        assert_eq!(self.ingress_rules(&id), 2);
        id
    }

    /// How many ingress rules `group` has.
    fn ingress_rules(&self, group: &str) -> usize {
        self.ec2(&format!(
            "Action=DescribeSecurityGroupRules&Filter.1.Name=group-id&Filter.1.Value.1={group}"
        ))
        .matches("<isEgress>false</isEgress>")
        .count()
    }

    /// What the EventBridge emulator recorded: each event's matched rules, each delivery.
    fn eventbridge_log(&self) -> Value {
        reqwest::blocking::get(format!("{}/_emulator/events", self.emu.eventbridge))
            .and_then(|r| r.json())
            .expect("EventBridge emulator")
    }
}

/// A test data file (tests/data/ocsf) in the pipeline's account, about security group `group`.
fn data(path: &str, group: &str) -> Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ocsf");
    let text = std::fs::read_to_string(root.join(path)).expect("test data");
    let text = text
        .replace("111122223333", ACCOUNT)
        .replace("sg-0a1b2c3d4e5f60718", group);
    serde_json::from_str(&text).expect("JSON")
}

fn clients(emu: &Pipeline) -> Clients {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_sqs::config::SharedCredentialsProvider::new(
            aws_sdk_sqs::config::Credentials::new("testing", "testing", None, None, "tests"),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let endpoints = [
        ("eventbridge", &emu.eventbridge),
        ("ssm", &emu.moto),
        ("securityhub", &emu.securityhub),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.clone()))
    .collect();
    let conn = Connection {
        region: Some(REGION.into()),
        endpoint_url: Some(emu.ministack.clone()),
        endpoints,
        ..Connection::default()
    };
    Clients::new(&sdk, &conn)
}

/// An SQS queue subscribed to the stack's topic (its policy lets the topic send), as a team's
/// tooling would subscribe; its URL.
async fn subscribe(c: &Clients) -> String {
    let url = c
        .sqs
        .create_queue()
        .queue_name("e2e-inbox")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let queue_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:e2e-inbox");
    let topic_arn = format!("arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-notifications");
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]});
    c.sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::Policy,
            policy.to_string(),
        )
        .send()
        .await
        .unwrap();
    c.sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .send()
        .await
        .unwrap();
    url
}

/// The SNS envelopes on `queue` (each deleted), waiting up to `wait` seconds for the first.
async fn receive(c: &Clients, queue: &str, wait: i32) -> Vec<Value> {
    let out = c
        .sqs
        .receive_message()
        .queue_url(queue)
        .wait_time_seconds(wait)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let mut got = Vec::new();
    for m in out.messages() {
        if let Some(handle) = m.receipt_handle() {
            let _ = c
                .sqs
                .delete_message()
                .queue_url(queue)
                .receipt_handle(handle)
                .send()
                .await;
        }
        got.push(serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or(Value::Null));
    }
    got
}

/// `message_type` of an SNS envelope.
fn kind(n: &Value) -> &str {
    n["MessageAttributes"]["message_type"]["Value"]
        .as_str()
        .unwrap_or_default()
}

/// Wait up to 10 seconds for `read` to give `want` (the functions' last writes may still be on
/// their way when their messages are).
fn eventually<T: PartialEq + std::fmt::Debug>(read: impl Fn() -> T, want: T) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = read();
    while got != want && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        got = read();
    }
    assert_eq!(got, want);
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// In enforce mode: an ASFF finding imported by BatchImportFindings, about a group open to the
/// world, reaches the team's queue (its notification and remediation's, in both formats: Security
/// Hub shows it as an OCSF twin too), the group is closed and the finding RESOLVED, its twin
/// Resolved (status_id 4). Again and again (`E2E_RUNS`), to time it. Then the same control failure
/// about another group, imported into today's Security Hub alone (OCSF): notified, the group
/// closed, the finding Resolved.
#[test]
fn an_imported_finding_reaches_the_team_in_both_formats() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // EC2.19 is off by default (it takes services on high-risk ports offline): a rule turns it on.
    let w = World::new(
        "[remediation]\nmode = \"enforce\"\n\n[[triage.rules]]\nname = \"enforce-ec2-19\"\naction = \"remediate-control\"\ncontrols = [\"EC2.19\"]\nmode = \"enforce\"\n\n[[triage.rules]]\nname = \"notify-the-rest\"\naction = \"notify-only\"\n",
    );
    let (asff_group, ocsf_group) = (w.open_group("asff-open"), w.open_group("ocsf-open"));
    let runs: usize = std::env::var("E2E_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let mut asff_times = Vec::new();
    for n in 0..runs {
        let started = Instant::now();
        let id = w.import_asff(&w.asff_finding(n, &asff_group));
        let first = w.notifications(&asff_group, 1, Duration::from_secs(60));
        assert!(!first.is_empty(), "nothing for {id}: {}", w.emu.logs());
        asff_times.push(started.elapsed());
        // The finding's message for the ASFF finding and for its OCSF twin, and remediation's for
        // each: one copy remediates, the other (run after it: one run per resource at a time)
        // finds the group closed and says "already done".
        let mut notes = first;
        let more = w.notifications(&asff_group, 4 - notes.len().min(4), Duration::from_secs(60));
        notes.extend(more);
        notes.extend(w.notifications(&asff_group, 1, Duration::from_secs(2)));
        let kinds: Vec<&str> = notes.iter().map(kind).collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "finding").count(),
            2,
            "{notes:#?}"
        );
        assert!(kinds.contains(&"remediation"), "{kinds:?}");
        let subjects: Vec<&str> = notes.iter().filter_map(|n| n["Subject"].as_str()).collect();
        let count = |what: &str| subjects.iter().filter(|s| s.contains(what)).count();
        // The first run closes the group; later runs find it closed in both formats.
        let done = if n == 0 { 1 } else { 0 };
        assert_eq!(
            count("remediation done"),
            done,
            "acted on once: {subjects:?}"
        );
        assert_eq!(
            count("remediation already done"),
            2 - done,
            "the other copies find it done: {subjects:?}"
        );
        assert!(
            notes
                .iter()
                .all(|n| !n["Subject"].as_str().unwrap_or_default().contains("failed")),
            "{notes:#?}"
        );
        eventually(|| w.workflow(&id), "RESOLVED".to_string());
        eventually(|| w.ocsf_status("finding_info.uid", &id), json!(4));
        assert_eq!(w.ingress_rules(&asff_group), 0, "the group is closed");
    }
    let started = Instant::now();
    let uid = w.import_ocsf(0, &ocsf_group);
    let mut notes = w.notifications(&ocsf_group, 1, Duration::from_secs(60));
    let ocsf_time = started.elapsed();
    let more = w.notifications(&ocsf_group, 2 - notes.len().min(2), Duration::from_secs(60));
    notes.extend(more);
    let kinds: Vec<&str> = notes.iter().map(kind).collect();
    assert_eq!(kinds.len(), 2, "{notes:#?}\n{}", w.emu.logs());
    assert!(
        kinds.contains(&"finding") && kinds.contains(&"remediation"),
        "{kinds:?}"
    );
    eventually(|| w.ocsf_status("metadata.uid", &uid), json!(4));
    assert_eq!(w.ingress_rules(&ocsf_group), 0, "the group is closed");
    eprintln!(
        "import → first SNS message on the queue: ASFF median {:?} of {runs} ({asff_times:?}); OCSF {ocsf_time:?}",
        median(asff_times.clone())
    );
}

/// With both findings rules disabled nothing reaches the team and the finding stays NEW (the
/// EventBridge emulator saw the events match no rule); enabled again, the next import arrives.
/// With the triage function deleted behind secauto's back, the event is in the stack's
/// dead-letter queue, naming the findings rule and the function (NO_RESOURCE).
#[test]
fn a_disabled_rule_delivers_nothing_and_a_missing_function_is_named_in_the_dlq() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new("");
    let group = "sg-0a1b2c3d4e5f60718";
    let rules = [
        format!("{STACK}-findings"),
        format!("{STACK}-findings-ocsf"),
    ];
    w.rt.block_on(async {
        for r in &rules {
            w.clients
                .events
                .disable_rule()
                .name(r)
                .send()
                .await
                .unwrap();
        }
    });
    let id = w.import_asff(&w.asff_finding(0, group));
    let uid = w.import_ocsf(0, group);
    assert!(w.notifications(group, 1, Duration::from_secs(8)).is_empty());
    assert_eq!(w.workflow(&id), "NEW");
    assert_eq!(w.ocsf_status("metadata.uid", &uid), json!(1));
    let log = w.eventbridge_log();
    let events = log["Events"].as_array().unwrap();
    assert!(events.len() >= 2, "{log}");
    assert!(
        events.iter().all(|e| e["MatchedRules"] == json!([])),
        "{log}"
    );

    w.rt.block_on(async {
        for r in &rules {
            w.clients.events.enable_rule().name(r).send().await.unwrap();
        }
    });
    let id = w.import_asff(&w.asff_finding(1, group));
    assert!(!w.notifications(&id, 1, Duration::from_secs(60)).is_empty());
    // the other messages of this import, so that none is taken for the next one's
    w.notifications(group, 4, Duration::from_secs(5));

    w.rt.block_on(async {
        let triage = format!("{STACK}-triage");
        w.clients
            .lambda
            .delete_function()
            .function_name(triage)
            .send()
            .await
            .unwrap();
    });
    let id = w.import_asff(&w.asff_finding(2, group));
    let dlq = w.rt.block_on(async {
        let queue = w
            .clients
            .sqs
            .get_queue_url()
            .queue_name(format!("{STACK}-dlq"))
            .send()
            .await
            .unwrap();
        dead_letters(&w.clients, queue.queue_url().unwrap(), &id, 2).await
    });
    let attrs = |name: &str| -> Vec<&str> {
        dlq.iter()
            .filter_map(|m| m["attributes"][name].as_str())
            .collect()
    };
    // Both feeds' events (the ASFF finding and its OCSF twin), each from its own rule.
    assert_eq!(
        attrs("ERROR_CODE"),
        ["NO_RESOURCE", "NO_RESOURCE"],
        "{dlq:?}"
    );
    let mut rules: Vec<&str> = attrs("RULE_ARN");
    rules.sort();
    assert_eq!(
        rules,
        [
            format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{STACK}-findings"),
            format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{STACK}-findings-ocsf")
        ],
        "{dlq:?}"
    );
    let triage = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-triage");
    assert_eq!(attrs("TARGET_ARN"), [triage.as_str(), triage.as_str()]);
    assert!(w.notifications(&id, 1, Duration::from_secs(2)).is_empty());
    let (code, out) = w.secauto(&["status", "--no-progress"]);
    assert_eq!(code, 2, "{out}");
}

/// The messages of the stack's DLQ that carry the events of finding `id`, body and attributes:
/// waiting up to 30 seconds for `count`.
async fn dead_letters(c: &Clients, url: &str, id: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.len() < count && Instant::now() < deadline {
        let out = c
            .sqs
            .receive_message()
            .queue_url(url)
            .wait_time_seconds(1)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            let body = m.body().unwrap_or_default();
            if !body.contains(id) {
                continue;
            }
            let attributes: serde_json::Map<String, Value> = m
                .message_attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.clone(), json!(v.string_value())))
                        .collect()
                })
                .unwrap_or_default();
            got.push(json!({"body": body, "attributes": attributes}));
        }
    }
    got
}
