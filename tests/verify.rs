//! `secauto verify` on the emulators scripts/emulators.sh starts (`secauto_testkit::Pipeline`),
//! with the stack deployed in enforce mode and every Security Hub feature on: verify follows its
//! test finding through every hop and exits 0; with a rule disabled, a function's permission
//! removed or a function deleted behind secauto's back it exits 1 naming the hop and the resource;
//! after success, failure or SIGINT nothing it made is left (its queue, its subscription, the test
//! finding ACTIVE, its OCSF twin open).
//!
//! The functions are this workspace's debug `bootstrap`: build it first with
//! `cargo build --workspace --all-targets`.

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secauto::aws::{Clients, Connection};
use secauto_testkit::proxy::{Message, Shim};
use secauto_testkit::{Pipeline, PIPELINE_ACCOUNT as ACCOUNT};
use serde_json::{json, Value};

const STACK: &str = "vfy";
const REGION: &str = "us-east-1";
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct World {
    emu: Pipeline,
    dir: tempfile::TempDir,
    clients: Clients,
    rt: tokio::runtime::Runtime,
}

impl World {
    /// The stack deployed with every feature on: enforce mode, both feeds, the V2 automation rules.
    fn new() -> World {
        World::with("")
    }

    /// The same, with `feeds` added to its `[securityhub]` section.
    fn with(feeds: &str) -> World {
        let emu = Pipeline::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let config = format!(
            "[stack]\nname = \"{STACK}\"\n\n[lambda]\nrole_propagation_timeout_seconds = 0\n\n[remediation]\nmode = \"enforce\"\n\n[securityhub]\nautomation_rules = true\n{feeds}"
        );
        std::fs::write(dir.path().join("secauto.toml"), config).expect("config");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let clients = clients(&emu);
        let w = World {
            emu,
            dir,
            clients,
            rt,
        };
        for hub in ["/accounts", "/hubv2"] {
            w.securityhub("POST", hub, &json!({}));
        }
        let bootstrap = secauto_testkit::bootstrap();
        w.ok(&["build", "--bootstrap", bootstrap.to_str().unwrap()]);
        w.ok(&["deploy", "--no-progress"]);
        w
    }

    fn command(&self, args: &[&str]) -> Command {
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
        cmd
    }

    fn secauto(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.command(args).output().expect("run secauto");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) {
        let (code, out, err) = self.secauto(args);
        assert_eq!(code, 0, "secauto {args:?}: {out}{err}");
    }

    /// `secauto verify --output json --timeout <timeout>` with `service`'s endpoint through a
    /// testkit proxy to `upstream` that `shim` shapes: its exit code and document.
    fn verify_through(
        &self,
        service: &str,
        upstream: &str,
        shim: impl secauto_testkit::proxy::Shim + 'static,
        timeout: &str,
    ) -> (Option<i32>, Value) {
        use secauto_testkit::proxy::{Options, Proxy};
        let proxy = Proxy::start_opts(
            upstream,
            Options {
                shim: Some(std::sync::Arc::new(shim)),
                ..Options::default()
            },
        );
        let args = [
            "verify",
            "--output",
            "json",
            "--no-progress",
            "--timeout",
            timeout,
        ];
        let out = self
            .command(&args)
            .env(format!("AWS_ENDPOINT_URL_{service}"), &proxy.url)
            .output()
            .unwrap();
        let doc = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), doc)
    }

    /// `secauto verify --output json` with `args`: its exit code and document.
    fn verify(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["verify", "--output", "json", "--no-progress"];
        all.extend(args);
        let (code, out, err) = self.secauto(&all);
        let doc = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
        (code, doc)
    }

    fn securityhub(&self, method: &str, path: &str, body: &Value) -> Value {
        let auth = "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/securityhub/aws4_request, SignedHeaders=host, Signature=0";
        reqwest::blocking::Client::new()
            .request(
                method.parse().unwrap(),
                format!("{}{path}", self.emu.securityhub),
            )
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .expect("Security Hub emulator")
            .json()
            .unwrap_or(Value::Null)
    }

    /// What verify may have left: its queues, its subscriptions, test findings not ARCHIVED and
    /// RESOLVED, OCSF twins not Resolved.
    fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        self.rt.block_on(async {
            let queues = self.clients.sqs.list_queues().send().await.unwrap();
            left.extend(
                queues
                    .queue_urls()
                    .iter()
                    .filter(|u| u.contains("-verify-"))
                    .cloned(),
            );
            let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-notifications");
            let subs = self
                .clients
                .sns
                .list_subscriptions_by_topic()
                .topic_arn(topic)
                .send()
                .await
                .unwrap();
            left.extend(
                subs.subscriptions()
                    .iter()
                    .filter_map(|s| s.endpoint())
                    .filter(|e| e.contains("-verify-"))
                    .map(str::to_string),
            );
        });
        for f in self.test_findings() {
            if f["RecordState"] != "ARCHIVED" || f["Workflow"]["Status"] != "RESOLVED" {
                left.push(format!("finding {}", f["Id"]));
            }
        }
        for t in self.twins() {
            if t["status_id"] != 4 && t["status_id"] != 5 {
                left.push(format!(
                    "twin {} status {}",
                    t["metadata"]["uid"], t["status_id"]
                ));
            }
        }
        left
    }

    fn test_findings(&self) -> Vec<Value> {
        let filters =
            json!({"Filters": {"Id": [{"Value": "secauto-verify-", "Comparison": "PREFIX"}]}});
        let out = self.securityhub("POST", "/findings", &filters);
        out["Findings"].as_array().cloned().unwrap_or_default()
    }

    fn twins(&self) -> Vec<Value> {
        let out = self.securityhub("POST", "/findingsv2", &json!({}));
        let all = out["Findings"].as_array().cloned().unwrap_or_default();
        all.into_iter()
            .filter(|f| {
                f["finding_info"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("secauto-verify-")
            })
            .collect()
    }
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

/// SIGINT to a running verify, as Ctrl-C sends it; what it printed and its exit.
fn interrupt(child: std::process::Child) -> std::process::Output {
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    child.wait_with_output().unwrap()
}

fn hop<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["hops"]
        .as_array()
        .and_then(|h| h.iter().find(|h| h["name"] == name))
        .unwrap_or_else(|| panic!("no hop {name}: {doc:#}"))
}

/// Every hop works: exit 0, each hop ok with its latency, the JSON document as documented; the text
/// and markdown forms say so too; nothing is left behind.
#[test]
fn verify_proves_every_hop_and_leaves_nothing_behind() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new();
    // An earlier run's test finding whose OCSF twin today's Security Hub made after that run's
    // clean-up (In Progress: its triage ran): this run resolves it.
    let mut twin: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/ocsf/cspm-ec2.19-fail-new.event.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut twin = twin["detail"]["findings"][0].take();
    twin["metadata"]["uid"] = json!("earlier-run-twin");
    twin["finding_info"]["uid"] = json!(format!("secauto-verify-{STACK}-1000-1"));
    twin["status_id"] = json!(2);
    twin["status"] = json!("In Progress");
    let out = w.securityhub(
        "POST",
        "/_emulator/ocsf/import",
        &json!({"Findings": [twin]}),
    );
    assert_eq!(out["FailedCount"], 0, "{out}");
    let (code, doc) = w.verify(&[]);
    assert_eq!(code, 0, "{doc:#}\n{}", w.emu.logs());
    assert!(
        detail(&doc, "clean-up").contains("earlier runs'"),
        "{doc:#}"
    );
    let filters = json!({"Filters": {"CompositeFilters": [{"StringFilters": [
        {"FieldName": "metadata.uid", "Filter": {"Value": "earlier-run-twin", "Comparison": "EQUALS"}}]}]}});
    let earlier = w.securityhub("POST", "/findingsv2", &filters);
    assert_eq!(earlier["Findings"][0]["status_id"], 4, "{earlier}");
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["ok"], true);
    let names: Vec<&str> = doc["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "import",
            "triage",
            "remediation",
            "notification",
            "clean-up"
        ]
    );
    for h in doc["hops"].as_array().unwrap() {
        assert_eq!(h["ok"], true, "{h}");
        assert!(h["ms"].is_u64() && h["detail"].is_string(), "{h}");
    }
    assert!(
        hop(&doc, "remediation")["detail"]
            .as_str()
            .unwrap()
            .contains("announced on the topic"),
        "{doc:#}"
    );
    assert!(doc["to_notification_ms"].as_u64().unwrap() > 0);
    assert_eq!(w.leftovers(), Vec::<String>::new());
    let f = &w.test_findings()[0];
    assert_eq!(
        f["ProductArn"],
        format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default")
    );
    assert!(f["ProductFields"]["secauto:verify"].is_string(), "{f}");
    assert_eq!(f["Resources"][0]["Type"], "Other");
    assert_eq!(
        f["UserDefinedFields"]["secauto:remediation"], "dry-run",
        "{f}"
    );

    let (code, text, err) = w.secauto(&["verify", "--no-progress"]);
    assert_eq!(code, 0, "{text}{err}");
    eprintln!("{text}");
    assert!(
        text.contains("Verify: the path works; a finding reached the topic in"),
        "{text}"
    );
    let (code, md, _) = w.secauto(&["verify", "--output", "markdown", "--no-progress"]);
    assert_eq!(code, 0, "{md}");
    assert!(
        md.starts_with("### secauto verify: `vfy`") && md.contains("| notification | ok |"),
        "{md}"
    );
    assert_eq!(w.leftovers(), Vec::<String>::new());
}

impl World {
    fn disable(&self, rule: &str, on: bool) {
        self.rt.block_on(async {
            let e = &self.clients.events;
            if on {
                e.enable_rule().name(rule).send().await.unwrap();
            } else {
                e.disable_rule().name(rule).send().await.unwrap();
            }
        });
    }

    /// Point `function`'s topic at one that does not exist, behind secauto's back: it runs, and
    /// fails publishing.
    fn break_topic_of(&self, function: &str) {
        self.rt.block_on(async {
            let l = &self.clients.lambda;
            let conf = l
                .get_function_configuration()
                .function_name(function)
                .send()
                .await
                .unwrap();
            let mut vars = conf
                .environment()
                .and_then(|e| e.variables())
                .cloned()
                .unwrap_or_default();
            vars.insert(
                "SNS_TOPIC_ARN".into(),
                format!("arn:aws:sns:{REGION}:{ACCOUNT}:nowhere"),
            );
            let env = aws_sdk_lambda::types::Environment::builder()
                .set_variables(Some(vars))
                .build();
            l.update_function_configuration()
                .function_name(function)
                .environment(env)
                .send()
                .await
                .unwrap();
        });
    }

    /// Enable or disable the stack's key behind secauto's back.
    fn key_enabled(&self, on: bool) {
        self.rt.block_on(async {
            let k = &self.clients.kms;
            // EnableKey and DisableKey take the key's id or ARN, not an alias.
            let key = k
                .describe_key()
                .key_id(format!("alias/{STACK}"))
                .send()
                .await
                .unwrap();
            let id = key.key_metadata().unwrap().key_id().to_string();
            if on {
                k.enable_key().key_id(&id).send().await.unwrap();
            } else {
                k.disable_key().key_id(&id).send().await.unwrap();
            }
        });
    }

    /// Remove the statement of `function`'s resource policy that lets `rule` invoke it.
    fn remove_permission(&self, function: &str, rule: &str) {
        self.rt.block_on(async {
            let l = &self.clients.lambda;
            let policy = l.get_policy().function_name(function).send().await.unwrap();
            let doc: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
            let sid = doc["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s.to_string().contains(rule))
                .and_then(|s| s["Sid"].as_str())
                .unwrap_or_else(|| panic!("no statement for {rule}: {doc}"))
                .to_string();
            l.remove_permission()
                .function_name(function)
                .statement_id(sid)
                .send()
                .await
                .unwrap();
        });
    }

    fn delete_function(&self, function: &str) {
        self.rt.block_on(async {
            let l = &self.clients.lambda;
            l.delete_function()
                .function_name(function)
                .send()
                .await
                .unwrap();
        });
    }
}

fn detail(doc: &Value, name: &str) -> String {
    hop(doc, name)["detail"].as_str().unwrap().to_string()
}

/// Broken behind secauto's back, each time verify exits 1, the broken hop failed and named with
/// the resource to look at, the hops before it ok, and nothing left behind: the findings rule
/// disabled (triage), the remediation function's permission for the response rule removed
/// (remediation: its resource policy, and the event in the dead-letter queue), the notification
/// function deleted (notification).
#[test]
fn verify_names_the_broken_hop_and_leaves_nothing_behind() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new();
    let rule = format!("{STACK}-findings");
    w.disable(&rule, false);
    // The stack's key disabled behind secauto's back too: what differs from the config is named.
    w.key_enabled(false);
    let (code, doc) = w.verify(&["--timeout", "8"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["ok"], false);
    assert_eq!(hop(&doc, "import")["ok"], true);
    assert_eq!(hop(&doc, "triage")["ok"], false);
    let why = detail(&doc, "triage");
    assert!(why.contains(&format!("rule {rule} is DISABLED")), "{why}");
    assert!(
        why.contains("kms_key.main: key_state is Disabled")
            && why.contains("`secauto plan` shows how"),
        "{why}"
    );
    assert!(
        detail(&doc, "notification").contains("not reached"),
        "{doc:#}"
    );
    assert_eq!(hop(&doc, "clean-up")["ok"], true, "{doc:#}");
    assert_eq!(w.leftovers(), Vec::<String>::new());
    w.disable(&rule, true);
    w.key_enabled(true);

    let function = format!("{STACK}-remediation");
    w.remove_permission(&function, &format!("{STACK}-remediation"));
    let (code, doc) = w.verify(&["--timeout", "8"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(hop(&doc, "triage")["ok"], true, "{doc:#}");
    assert_eq!(hop(&doc, "notification")["ok"], true, "{doc:#}");
    assert_eq!(hop(&doc, "remediation")["ok"], false, "{doc:#}");
    let why = detail(&doc, "remediation");
    assert!(
        why.contains(&format!(
            "function {function}'s resource policy does not let rule"
        )),
        "{why}"
    );
    assert!(
        why.contains(&format!("dead-letter queue {STACK}-dlq holds the event")),
        "{why}"
    );
    assert!(
        why.contains("lambda_permission.remediation_") && why.contains("is missing"),
        "the permission removed behind secauto's back is named: {why}"
    );
    assert_eq!(w.leftovers(), Vec::<String>::new());
    w.ok(&["deploy", "--no-progress"]);
    let (code, doc) = w.verify(&[]);
    assert_eq!(code, 0, "deploy repaired it: {doc:#}");

    let function = format!("{STACK}-notification");
    w.delete_function(&function);
    let (code, doc) = w.verify(&["--timeout", "8"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(hop(&doc, "remediation")["ok"], true, "{doc:#}");
    let why = detail(&doc, "notification");
    assert!(
        why.contains(&format!("function {function} is missing")),
        "{why}"
    );
    assert_eq!(w.leftovers(), Vec::<String>::new());
}

/// A function that runs and fails on the test finding is named from its on-failure destination:
/// Lambda hands the failed event to the error handler, whose message carries the test finding's
/// `finding_id`, so it reaches verify's queue; the hop says what failed, and what differs from the
/// config.
#[test]
fn a_function_that_runs_and_fails_is_named_from_its_on_failure_destination() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new();
    let function = format!("{STACK}-notification");
    w.break_topic_of(&function);
    let (code, doc) = w.verify(&["--timeout", "20"]);
    assert_eq!(code, 1, "{doc:#}");
    for name in ["import", "triage", "remediation"] {
        assert_eq!(hop(&doc, name)["ok"], true, "{doc:#}");
    }
    let why = detail(&doc, "notification");
    assert!(
        why.contains(&format!(
            "function {function} ran and failed on the test finding"
        )) && why.contains(&format!("secauto failure in {function}")),
        "{why}"
    );
    assert!(
        why.contains("lambda_function.notification: environment changed"),
        "{why}"
    );
    assert_eq!(w.leftovers(), Vec::<String>::new());
}

/// SIGINT while verify waits (the findings rule disabled, so the path never ends): exit 130, and
/// the test finding, the queue and the subscription are gone all the same.
#[test]
fn an_interrupted_verify_leaves_nothing_behind() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new();
    w.disable(&format!("{STACK}-findings"), false);
    let child = w
        .command(&["verify", "--timeout", "120", "--no-progress"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("verify");
    let deadline = Instant::now() + Duration::from_secs(30);
    while w.test_findings().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(w.test_findings().len(), 1, "the test finding was imported");
    assert!(
        !w.leftovers().is_empty(),
        "verify's queue and finding exist while it runs"
    );
    let started = Instant::now();
    let out = interrupt(child);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(130),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert!(text.contains("Verify interrupted"), "{text}");
    assert_eq!(w.leftovers(), Vec::<String>::new());
}

/// Holds back the answer to the first call whose request body contains `marker` — the call took
/// effect, its caller cannot know — for `hold`.
struct HoldAnswer {
    marker: &'static str,
    hold: Duration,
    held: std::sync::atomic::AtomicBool,
}

impl Shim for HoldAnswer {
    fn respond(&self, request: &Message, _response: &mut Message) {
        let body = String::from_utf8_lossy(&request.body);
        if body.contains(self.marker) && !self.held.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            std::thread::sleep(self.hold);
        }
    }
}

/// SIGINT while a call that made something has not been answered (on AWS: a slow answer, a
/// dropped connection): what the call made is found and removed all the same. Through the testkit
/// proxy, once with Subscribe's answer held back (the subscription exists, its ARN unknown to
/// verify: found on the topic by its endpoint) and once with BatchImportFindings' (the finding
/// exists: archived and resolved).
#[test]
fn mocked_an_interrupt_while_a_call_is_unanswered_leaves_nothing_behind() {
    use secauto_testkit::proxy::{Options, Proxy};
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new();
    let subscribed = |w: &World| w.leftovers().iter().any(|l| l.starts_with("arn:"));
    let imported = |w: &World| !w.test_findings().is_empty();
    type Ready<'a> = &'a dyn Fn(&World) -> bool;
    let cases: [(&str, String, &'static str, Ready); 2] = [
        (
            "AWS_ENDPOINT_URL_SNS",
            w.emu.ministack.clone(),
            "Action=Subscribe",
            &subscribed,
        ),
        (
            "AWS_ENDPOINT_URL_SECURITYHUB",
            w.emu.securityhub.clone(),
            "\"ACTIVE\"",
            &imported,
        ),
    ];
    for (variable, upstream, marker, ready) in cases {
        let shim = HoldAnswer {
            marker,
            hold: Duration::from_secs(8),
            held: false.into(),
        };
        let proxy = Proxy::start_opts(
            &upstream,
            Options {
                shim: Some(std::sync::Arc::new(shim)),
                ..Options::default()
            },
        );
        let child = w
            .command(&["verify", "--timeout", "60", "--no-progress"])
            .env(variable, &proxy.url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("verify");
        // The call took effect; its answer is still held back.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !ready(&w) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(ready(&w), "{variable}: the held call took effect");
        let made = w.leftovers();
        let out = interrupt(child);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(130), "{variable}: {made:?} {text}");
        assert_eq!(w.leftovers(), Vec::<String>::new(), "{variable}: {text}");
        let requests = proxy.requests().len();
        assert!(requests > 0, "{variable}: the proxy was used");
    }
}

/// Answers every lambda:GetPolicy as AWS does a caller its policies do not allow.
struct DenyGetPolicy;

impl Shim for DenyGetPolicy {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        let (method, path) = request.method_path();
        (method == "GET" && path.split('?').next().is_some_and(|p| p.ends_with("/policy"))).then(
            || Message {
                start: "HTTP/1.1 403 Forbidden".into(),
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("x-amzn-errortype".into(), "AccessDeniedException".into()),
                ],
                body: br#"{"Message":"User: arn:aws:iam::000000000000:user/ci is not authorized to perform: lambda:GetPolicy"}"#.to_vec(),
            },
        )
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// A check verify itself may not make (its identity lacks lambda:GetPolicy, as AWS answers with
/// AccessDeniedException) is said as verify's missing permission, never as the stack's fault: with
/// the findings rule disabled, the triage hop names the rule and says it could not check the
/// function's resource policy — not that the policy refuses the rule.
#[test]
fn mocked_a_check_verify_may_not_make_is_not_blamed_on_the_stack() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new();
    let rule = format!("{STACK}-findings");
    w.disable(&rule, false);
    let started = Instant::now();
    let (code, doc) = w.verify_through("LAMBDA", &w.emu.ministack, DenyGetPolicy, "15");
    assert_eq!(code, Some(1), "{doc:#}");
    // `--timeout` bounds the wait for a hop that never comes (the diagnosis and clean-up after).
    assert!(
        started.elapsed() < Duration::from_secs(15 + 30),
        "{:?}",
        started.elapsed()
    );
    let triage = detail(&doc, "triage");
    assert!(
        triage.contains(&format!("rule {rule} is DISABLED")),
        "{doc:#}"
    );
    assert!(
        triage.contains(&format!("cannot check function {STACK}-triage's resource policy: the identity running verify may not call lambda:GetPolicy")),
        "{doc:#}"
    );
    assert!(!triage.contains("does not let rule"), "{doc:#}");
    assert_eq!(w.leftovers(), Vec::<String>::new());
}

/// Answers Subscribe as if it took effect, without making the subscription: on AWS, a new
/// subscription (and its filter policy) SNS does not deliver to yet.
struct SubscriptionNotYetLive;

impl Shim for SubscriptionNotYetLive {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        let body = String::from_utf8_lossy(&request.body);
        body.contains("Action=Subscribe&").then(|| {
            let arn = format!("arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-notifications:00000000-0000-0000-0000-000000000000");
            Message {
                start: "HTTP/1.1 200 OK".into(),
                headers: vec![("Content-Type".into(), "text/xml".into())],
                body: format!("<SubscribeResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><SubscribeResult><SubscriptionArn>{arn}</SubscriptionArn></SubscribeResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></SubscribeResponse>").into_bytes(),
            }
        })
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// SNS may not yet deliver to verify's new subscription (AWS documents up to 15 minutes for a
/// filter policy to take full effect): remediation's mark is on the finding, but neither its
/// message nor the notification reaches verify's queue — the notification hop fails and says
/// to run verify again, every other hop ok, nothing left behind.
#[test]
fn mocked_a_subscription_sns_does_not_deliver_to_yet_is_named() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new();
    let (code, doc) = w.verify_through("SNS", &w.emu.ministack, SubscriptionNotYetLive, "20");
    assert_eq!(code, Some(1), "{doc:#}");
    for name in ["import", "triage", "remediation"] {
        assert_eq!(hop(&doc, name)["ok"], true, "{doc:#}");
    }
    let notification = detail(&doc, "notification");
    assert!(
        notification.contains("SNS may not yet deliver to verify's new subscription")
            && notification.contains("run verify again"),
        "{doc:#}"
    );
    assert_eq!(w.leftovers(), Vec::<String>::new());
}

/// Records the IAM action each request of one service needs: the operation of an X-Amz-Target
/// (JSON protocols), of a query protocol's `Action=`, of CloudWatch's rpc-v2-cbor path, or of a
/// Security Hub or Lambda REST route — the V2 reads and updates as the action AWS authorizes them
/// by (GetFindings, BatchUpdateFindings).
struct Actions {
    service: &'static str,
    seen: Mutex<std::collections::BTreeSet<String>>,
}

impl Shim for Actions {
    fn before(&self, request: &Message) {
        let (method, path) = request.method_path();
        let path = path.split('?').next().unwrap_or_default().to_string();
        let body = String::from_utf8_lossy(&request.body);
        let operation = if let Some(target) = request.header("X-Amz-Target") {
            target.rsplit('.').next().unwrap_or_default().to_string()
        } else if let Some(a) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
            a.to_string()
        } else if let Some((_, op)) = path.split_once("/operation/") {
            op.to_string()
        } else {
            rest_operation(&method, &path)
        };
        let action = format!("{}:{operation}", self.service);
        self.seen.lock().unwrap().insert(action);
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// The operation of a Security Hub or Lambda REST request, named by the IAM action it needs.
fn rest_operation(method: &str, path: &str) -> String {
    let op = match (method, path) {
        ("POST", "/findings/import") => "BatchImportFindings",
        ("POST", "/findings") | ("POST", "/findingsv2") => "GetFindings",
        ("PATCH", "/findings/batchupdate") | ("PATCH", "/findingsv2/batchupdatev2") => {
            "BatchUpdateFindings"
        }
        ("GET", "/accounts") => "DescribeHub",
        ("GET", "/hubv2") => "DescribeSecurityHubV2",
        ("GET", p) if p.starts_with("/2015-03-31/functions/") && p.ends_with("/policy") => {
            "GetPolicy"
        }
        ("GET", p) if p.starts_with("/2015-03-31/functions/") => "GetFunction",
        _ => return format!("unknown {method} {path}"),
    };
    op.to_string()
}

/// The IAM actions the README's verify permissions name, `service:Action` each (a bare action
/// takes the service of the one before it).
fn readme_permissions() -> std::collections::BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let start = readme
        .find("**Permissions** of the identity running verify")
        .expect("the README's verify permissions");
    let paragraph = &readme[start..];
    let paragraph = &paragraph[..paragraph.find("\n\n").unwrap_or(paragraph.len())];
    let mut service = String::new();
    let mut named = std::collections::BTreeSet::new();
    for token in paragraph.split('`').skip(1).step_by(2) {
        if let Some((s, _)) = token.split_once(':') {
            service = s.to_string();
            named.insert(token.to_string());
        } else if !token.is_empty() && token.chars().all(|c| c.is_ascii_alphanumeric()) {
            named.insert(format!("{service}:{token}"));
        }
    }
    named
}

/// The README's list of the permissions verify needs is complete: verify run through proxies that
/// record each call's IAM action — once on a working path (import, reads, subscription, clean-up)
/// and once with the findings rule disabled (every diagnosis: rule, targets, function, its policy,
/// the dead-letter queue, the alarms) — calls nothing the README does not name.
#[test]
fn mocked_verify_calls_only_what_the_readme_lists() {
    use secauto_testkit::proxy::{Options, Proxy};
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new();
    let services = [
        ("SECURITYHUB", "securityhub", w.emu.securityhub.clone()),
        ("SQS", "sqs", w.emu.ministack.clone()),
        ("SNS", "sns", w.emu.ministack.clone()),
        ("EVENTBRIDGE", "events", w.emu.eventbridge.clone()),
        ("LAMBDA", "lambda", w.emu.ministack.clone()),
        ("CLOUDWATCH", "cloudwatch", w.emu.ministack.clone()),
    ];
    let recorders: Vec<(String, std::sync::Arc<Actions>, Proxy)> = services
        .into_iter()
        .map(|(variable, service, upstream)| {
            let actions = std::sync::Arc::new(Actions {
                service,
                seen: Mutex::default(),
            });
            let shim: std::sync::Arc<dyn Shim> = actions.clone();
            let options = Options {
                shim: Some(shim),
                ..Options::default()
            };
            let proxy = Proxy::start_opts(&upstream, options);
            (format!("AWS_ENDPOINT_URL_{variable}"), actions, proxy)
        })
        .collect();
    let run = |args: &[&str]| {
        let mut cmd = w.command(args);
        for (variable, _, proxy) in &recorders {
            cmd.env(variable, &proxy.url);
        }
        cmd.output().unwrap().status.code()
    };
    let seen = || -> std::collections::BTreeSet<String> {
        recorders
            .iter()
            .flat_map(|(_, a, _)| std::mem::take(&mut *a.seen.lock().unwrap()))
            .collect()
    };
    // What `secauto plan` reads: a failed hop's comparison of the stack with its config.
    assert_eq!(run(&["plan", "--no-progress"]), Some(0));
    let plan_reads = seen();
    assert_eq!(
        run(&["verify", "--no-progress", "--timeout", "120"]),
        Some(0)
    );
    let working = seen();
    let listed = readme_permissions();
    let beyond: Vec<&String> = working.difference(&listed).collect();
    assert!(
        beyond.is_empty(),
        "a working path calls only the README's list (no comparison with the config): {beyond:?}"
    );
    w.disable(&format!("{STACK}-findings"), false);
    assert_eq!(run(&["verify", "--no-progress", "--timeout", "5"]), Some(1));
    let mut called = seen();
    called.extend(working);
    let mut listed = listed;
    listed.extend(plan_reads);
    let missing: Vec<&String> = called.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "called but not in the README: {missing:?} (listed: {listed:?})"
    );
    for diagnosis in [
        "events:DescribeRule",
        "lambda:GetPolicy",
        "cloudwatch:DescribeAlarms",
    ] {
        assert!(called.contains(diagnosis), "{called:?}");
    }
    assert_eq!(w.leftovers(), Vec::<String>::new());
}

/// Where the stack subscribes only to today's Security Hub (OCSF), which has no operation to import
/// a finding (BatchImportFindings is Security Hub CSPM's): no test finding is made; the import hop
/// says why, and each other hop's rule, function and permission are checked — a disabled OCSF
/// findings rule fails the triage hop; with neither Security Hub on, nothing can reach triage and
/// the import hop fails, naming the fix.
#[test]
fn where_only_todays_security_hub_feeds_triage_each_hop_is_checked_not_exercised() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::with("feeds = [\"ocsf\"]\n");
    let (code, doc) = w.verify(&[]);
    assert_eq!(code, 0, "{doc:#}");
    assert!(
        detail(&doc, "import").starts_with(
            "not exercised: the stack subscribes only to today's Security Hub's OCSF feed"
        ),
        "{doc:#}"
    );
    for name in ["triage", "remediation", "notification"] {
        assert_eq!(hop(&doc, name)["ok"], true, "{doc:#}");
        assert!(
            detail(&doc, name).starts_with("not exercised; configuration checked"),
            "{doc:#}"
        );
    }
    assert!(
        doc["finding"].is_null() && doc["to_notification_ms"].is_null(),
        "{doc:#}"
    );
    assert!(w.test_findings().is_empty());
    let rule = format!("{STACK}-findings-ocsf");
    w.disable(&rule, false);
    let (code, doc) = w.verify(&[]);
    assert_eq!(code, 1, "{doc:#}");
    assert!(
        detail(&doc, "triage").contains(&format!("rule {rule} is DISABLED")),
        "{doc:#}"
    );
    assert_eq!(w.leftovers(), Vec::<String>::new());
    w.disable(&rule, true);
    // Security Hub CSPM turned off: DescribeHub answers InvalidAccessException.
    w.securityhub("DELETE", "/accounts", &json!({}));
    let (code, doc) = w.verify(&[]);
    assert_eq!(code, 0, "{doc:#}");
    assert!(
        detail(&doc, "import").starts_with("not exercised: Security Hub CSPM is not enabled here"),
        "{doc:#}"
    );
    // Today's Security Hub turned off too: the stack's one feed delivers nothing — a failure,
    // named with its fix, never "ok".
    w.securityhub("DELETE", "/hubv2", &json!({}));
    let (code, doc) = w.verify(&[]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(hop(&doc, "import")["ok"], false, "{doc:#}");
    assert!(
        detail(&doc, "import").starts_with("no finding can reach triage: the \"ocsf\" feed is subscribed but Security Hub is not enabled")
            && detail(&doc, "import").contains("enable-security-hub-v2"),
        "{doc:#}"
    );
}

/// The example workflows run verify after deploy, on main and nightly, into the job summary.
#[test]
fn the_example_workflows_verify_after_deploy() {
    for file in ["github-actions.yml", "github-actions-fleet.yml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(file);
        let text = std::fs::read_to_string(path).unwrap();
        let deploy = text.find("secauto deploy plan.json").expect("deploy");
        let verify = text
            .find("run: secauto verify")
            .unwrap_or_else(|| panic!("{file}: no verify"));
        assert!(deploy < verify, "{file}: verify comes after deploy");
        let step = &text[text[..verify].rfind("- name:").unwrap()..verify];
        assert!(
            step.contains("github.event_name != 'pull_request'"),
            "{file}: {step}"
        );
        assert!(step.contains("!cancelled()"), "{file}: {step}");
        let line = text[verify..].lines().next().unwrap();
        assert!(
            line.contains("--output markdown >> \"$GITHUB_STEP_SUMMARY\""),
            "{line}"
        );
        // Room for Lambda's asynchronous retries (1 then 2 minutes) before a failing function's
        // on-failure destination speaks.
        assert!(line.contains("--timeout 300"), "{line}");
    }
}

fn percentile(xs: &[u64], p: f64) -> u64 {
    let mut xs = xs.to_vec();
    xs.sort_unstable();
    xs[((xs.len() as f64 - 1.0) * p).round() as usize]
}

/// Time to respond on the emulators: 20 verify runs (every feature on, Security Hub read every
/// 50 ms), from BatchImportFindings to the notification on the topic, median and p95, and each
/// hop's median and share of the median total. Prints figures; asserts only that every run works.
#[test]
#[ignore = "a benchmark: bash scripts/bench.sh"]
fn verify_benchmark() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new();
    let runs: usize = std::env::var("VERIFY_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let (mut total, mut hops) = (
        Vec::new(),
        std::collections::BTreeMap::<String, Vec<u64>>::new(),
    );
    for _ in 0..runs {
        let out = w
            .command(&["verify", "--output", "json", "--no-progress"])
            .env("SECAUTO_VERIFY_POLL_MS", "50")
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(0), "{doc:#}");
        total.push(doc["to_notification_ms"].as_u64().unwrap());
        for h in doc["hops"].as_array().unwrap() {
            hops.entry(h["name"].as_str().unwrap().to_string())
                .or_default()
                .push(h["ms"].as_u64().unwrap());
        }
    }
    let median = percentile(&total, 0.5);
    eprintln!(
        "import → notification over {runs} runs: median {median} ms, p95 {} ms, min {} ms, max {} ms",
        percentile(&total, 0.95),
        total.iter().min().unwrap(),
        total.iter().max().unwrap()
    );
    for name in [
        "import",
        "triage",
        "remediation",
        "notification",
        "clean-up",
    ] {
        let m = percentile(&hops[name], 0.5);
        eprintln!(
            "  {name:<13} median {m:>5} ms  p95 {:>5} ms  share of the median {:>3.0}%",
            percentile(&hops[name], 0.95),
            100.0 * m as f64 / median.max(1) as f64
        );
    }
    assert_eq!(w.leftovers(), Vec::<String>::new());
}

/// A response event that claims to be verify's (`"verify": true`) about a real finding — put on
/// the stack's bus by anyone who may — is refused by remediation after it reads the finding again:
/// the finding is not marked, and the topic says why.
#[test]
fn a_forged_verify_event_about_a_real_finding_is_refused() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new();
    let product = format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default");
    // LOW: below the findings rule's severities, so only the forged event reaches a function.
    let real = json!({"SchemaVersion": "2018-10-08", "Id": "real-finding-1", "ProductArn": product,
        "GeneratorId": "g", "AwsAccountId": ACCOUNT, "Types": ["Software and Configuration Checks"],
        "CreatedAt": "2026-12-02T00:00:00Z", "UpdatedAt": "2026-12-02T00:00:00Z",
        "Severity": {"Label": "LOW"}, "Title": "a real finding", "Description": "d",
        "Resources": [{"Type": "AwsEc2SecurityGroup", "Id": "sg-0123456789abcdef0"}]});
    let out = w.securityhub("POST", "/findings/import", &json!({"Findings": [real]}));
    assert_eq!(out["FailedCount"], 0, "{out}");
    // A verify run over, its test finding archived and resolved.
    let (code, doc) = w.verify(&[]);
    assert_eq!(code, 0, "{doc:#}");
    let test_finding = doc["finding"].as_str().unwrap().to_string();
    let inbox = w.rt.block_on(subscribe(&w.clients));
    let event = |id: &str| {
        json!({"stack": STACK, "action": "notify-only", "rule": "secauto-verify",
        "mode": "notify-only", "verify": true, "finding": {"id": id,
        "product_arn": product, "product": "Default", "title": "a finding", "description": "d",
        "severity": "LOW", "account": ACCOUNT, "region": REGION, "types": [], "updated_at": null,
        "resources": [{"Type": "AwsEc2SecurityGroup", "Id": "sg-0123456789abcdef0"}]}})
    };
    // A late event about the closed test finding (Lambda's retry, a twin's late path), then the
    // forged one about a real finding.
    for detail in [event(&test_finding), event("real-finding-1")] {
        w.rt.block_on(async {
            let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name(format!("{STACK}-events"))
                .source(format!("secauto.{STACK}"))
                .detail_type("Security Response Required")
                .detail(detail.to_string())
                .build();
            let out = w
                .clients
                .events
                .put_events()
                .entries(entry)
                .send()
                .await
                .unwrap();
            assert_eq!(out.failed_entry_count(), 0, "{out:?}");
        });
    }
    let refused_real = |got: &[(String, String)]| {
        got.iter()
            .any(|(kind, id)| kind == "refused" && id == "real-finding-1")
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while !refused_real(&got) && Instant::now() < deadline {
        got.extend(w.rt.block_on(receive(&w.clients, &inbox)));
    }
    assert!(refused_real(&got), "{got:?}\n{}", w.emu.logs());
    // The late event is inert: remediation raises no refusal about the closed test finding (the
    // notification function still announces the event, as a test).
    for _ in 0..3 {
        got.extend(w.rt.block_on(receive(&w.clients, &inbox)));
    }
    assert!(
        got.iter()
            .any(|(kind, id)| kind == "finding" && *id == test_finding),
        "the late event was delivered: {got:?}"
    );
    assert!(
        !got.iter()
            .any(|(kind, id)| kind == "refused" && *id == test_finding),
        "a closed test finding's late event raises no refusal: {got:?}"
    );
    let filters = json!({"Filters": {"Id": [{"Value": "real-finding-1", "Comparison": "EQUALS"}]}});
    let f = &w.securityhub("POST", "/findings", &filters)["Findings"][0];
    assert_eq!(f["Workflow"]["Status"], "NEW", "{f}");
    assert!(
        f["UserDefinedFields"]["secauto:remediation"].is_null(),
        "{f}"
    );
}

/// A queue subscribed to the stack's topic; its URL.
async fn subscribe(c: &Clients) -> String {
    let url = c
        .sqs
        .create_queue()
        .queue_name("team-inbox")
        .send()
        .await
        .unwrap();
    let url = url.queue_url().unwrap().to_string();
    let arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:team-inbox");
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-notifications");
    c.sns
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .unwrap();
    url
}

/// The `message_type` and `finding_id` of each message on `queue` (waiting a second).
async fn receive(c: &Clients, queue: &str) -> Vec<(String, String)> {
    let out = c
        .sqs
        .receive_message()
        .queue_url(queue)
        .wait_time_seconds(1)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    out.messages()
        .iter()
        .map(|m| {
            let v: Value = serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or_default();
            let attr = |k: &str| {
                v["MessageAttributes"][k]["Value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            };
            (attr("message_type"), attr("finding_id"))
        })
        .collect()
}

/// What the emulator does not do and AWS documents: GetFindings is limited to 3 requests a second
/// (bursts of 6) and answers LimitExceededException (429) beyond, and a BatchUpdateFindings "can
/// take several minutes" to show. Through the testkit proxy, with verify reading Security Hub every
/// 50 ms and triage's own mark never shown: verify rides out the throttling, sees the path through
/// remediation's mark, and says the triage mark was not seen — exit 0, nothing left behind.
#[test]
fn mocked_verify_rides_out_getfindings_throttling_and_a_late_triage_mark() {
    use secauto_testkit::proxy::{Message, Options, Proxy, Rule, Shim};
    struct LateMark;
    impl Shim for LateMark {
        fn respond(&self, request: &Message, response: &mut Message) {
            let (method, path) = request.method_path();
            if method != "POST" || path != "/findings" || response.status() != 200 {
                return;
            }
            let Ok(mut page) = serde_json::from_slice::<Value>(&response.body) else {
                return;
            };
            for f in page["Findings"].as_array_mut().into_iter().flatten() {
                if let Some(u) = f["UserDefinedFields"].as_object_mut() {
                    u.remove("secauto:triaged-at");
                }
            }
            response.body = page.to_string().into_bytes();
            response.set_header("Content-Length", &response.body.len().to_string());
        }
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w = World::new();
    let proxy = Proxy::start_opts(
        &w.emu.securityhub,
        Options {
            shim: Some(std::sync::Arc::new(LateMark)),
            rules: vec![Rule::rate_limit("POST", "/findings", 3.0, 6)],
            ..Options::default()
        },
    );
    let out = w
        .command(&["verify", "--output", "json", "--no-progress"])
        .env("AWS_ENDPOINT_URL_SECURITYHUB", &proxy.url)
        .env("SECAUTO_VERIFY_POLL_MS", "50")
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    assert!(
        proxy.injected().iter().any(|i| i.starts_with("Throttle")),
        "{:?}",
        proxy.injected()
    );
    assert!(
        detail(&doc, "triage").contains("its own mark on the finding was not seen"),
        "{doc:#}"
    );
    assert_eq!(w.leftovers(), Vec::<String>::new());
}
