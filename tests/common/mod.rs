//! Test harness: starts moto server and ministack on free loopback ports (from the project's
//! virtualenv, see scripts/setup-emulators.sh), runs the secauto binary against them, and gives SDK
//! clients for checking what is really there.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

use secauto_testkit::proxy::{LambdaDeadLetterShim, Proxy};
pub use secauto_testkit::{ministack, moto, Emulator};

mod calls;
pub mod readme;
pub mod s3;
#[allow(unused_imports)] // each test binary uses some
pub use calls::{is_mutating, rest_operation, Recorder, Request};

use secauto::aws::{Clients, Connection};

pub const REGION: &str = "us-east-1";

/// The emulators: moto, its Lambda behind a proxy that keeps the DeadLetterConfig moto forgets,
/// ministack (CloudWatch) behind a proxy that records every request, as moto's recorder does, and
/// the Security Hub emulator (both Security Hubs enabled in the default account and region; its
/// findings' events go to moto's EventBridge).
pub struct Emulators {
    pub moto: Emulator,
    pub securityhub: Emulator,
    pub ministack: Emulator,
    /// ministack through the recording proxy: where secauto's CloudWatch calls go.
    pub cloudwatch: Proxy,
    pub lambda: Proxy,
    cloudwatch_log: std::sync::Arc<Recorder>,
}

impl Emulators {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// The emulators, moto started with `moto_env` (e.g. `MOTO_LAMBDA_CONCURRENCY_QUOTA`).
    pub fn start_with(moto_env: &[(&str, &str)]) -> Self {
        let moto = match moto_env {
            [] => moto(),
            env => secauto_testkit::moto_with(env),
        };
        let lambda = Proxy::start(
            &moto.url,
            Some(std::sync::Arc::new(LambdaDeadLetterShim::default())),
        );
        let ministack = ministack();
        let securityhub = secauto_testkit::securityhub_delivering_to(&moto.url);
        enable_securityhub(&securityhub.url, true, true);
        let cloudwatch_log = std::sync::Arc::new(Recorder::default());
        let cloudwatch = Proxy::start(&ministack.url, Some(cloudwatch_log.clone()));
        Emulators {
            moto,
            securityhub,
            ministack,
            cloudwatch,
            lambda,
            cloudwatch_log,
        }
    }

    /// Start recording every emulator's requests afresh (moto's recorder, the CloudWatch proxy's).
    pub fn record(&self) {
        self.cloudwatch_log.clear();
        let c = reqwest::blocking::Client::new();
        c.post(format!(
            "{}/moto-api/recorder/reset-recording",
            self.moto.url
        ))
        .send()
        .expect("reset recording");
        c.post(format!(
            "{}/moto-api/recorder/start-recording",
            self.moto.url
        ))
        .send()
        .expect("start recording");
    }

    /// Every request the emulators received since `record` (moto's, then ministack's).
    pub fn requests(&self) -> Vec<Request> {
        let text = reqwest::blocking::get(format!(
            "{}/moto-api/recorder/download-recording",
            self.moto.url
        ))
        .and_then(|r| r.text())
        .expect("download recording");
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Request::from_moto(&serde_json::from_str(l).expect("recording line")))
            .chain(self.cloudwatch_log.requests())
            .collect()
    }

    /// The operations the emulators received since `record`: the operation's name, or
    /// `METHOD path` for REST (Lambda, Security Hub, S3).
    pub fn recorded(&self) -> Vec<String> {
        self.requests().iter().map(Request::operation).collect()
    }

    /// The IAM actions (`service:Operation`) of the requests since `record`; a request that cannot
    /// be named fails the test.
    pub fn actions(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r.iam_action().unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    /// SDK clients pointed at the emulators.
    pub fn clients(&self) -> Clients {
        let conn = self.connection();
        let sdk = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
                aws_sdk_iam::config::Credentials::new("testing", "testing", None, None, "tests"),
            ))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        Clients::new(&sdk, &conn)
    }

    /// Clients in `region` of `account` (assumed through moto's STS; the caller's own for `None`).
    pub async fn clients_in(&self, account: Option<&str>, region: &str) -> Clients {
        let mut conn = self.connection();
        conn.region = Some(region.into());
        conn.role = account.map(|a| secauto::aws::AssumedRole {
            arn: format!("arn:aws:iam::{a}:role/secauto-deploy"),
            external_id: None,
            session_name: "tests".into(),
        });
        let sdk = secauto::aws::load(&conn).await.expect("sdk config");
        Clients::new(&sdk, &conn)
    }

    fn connection(&self) -> Connection {
        let mut endpoints = std::collections::BTreeMap::new();
        // The tests' own checks go to ministack directly, unrecorded.
        endpoints.insert("cloudwatch".to_string(), self.ministack.url.clone());
        endpoints.insert("lambda".to_string(), self.lambda.url.clone());
        endpoints.insert("securityhub".to_string(), self.securityhub.url.clone());
        Connection {
            region: Some(REGION.into()),
            profile: None,
            endpoint_url: Some(self.moto.url.clone()),
            endpoints,
            calls: Default::default(),
            role: None,
        }
    }
}

/// The output of one secauto run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// A project directory with a config and handler bundles.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub moto_url: String,
    pub cloudwatch_url: String,
    pub lambda_url: String,
    pub securityhub_url: String,
}

/// A small, real Linux executable to bundle as `bootstrap` (the emulators store code, they do not run it here).
pub fn bootstrap_binary() -> PathBuf {
    ["/bin/true", "/usr/bin/true"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("no /bin/true to bundle")
}

impl Project {
    pub fn new(emu: &Emulators, config: &str) -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = Project {
            dir,
            moto_url: emu.moto.url.clone(),
            cloudwatch_url: emu.cloudwatch.url.clone(),
            lambda_url: emu.lambda.url.clone(),
            securityhub_url: emu.securityhub.url.clone(),
        };
        p.write_config(config);
        let build = p.run(&[
            "build",
            "--bootstrap",
            bootstrap_binary().to_str().unwrap_or_default(),
        ]);
        assert_eq!(build.code, 0, "build failed: {build:?}");
        p
    }

    pub fn write_config(&self, config: &str) {
        std::fs::write(self.dir.path().join("secauto.toml"), config).expect("write config");
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Run secauto in the project directory with static test credentials.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// `run` with more environment variables (an empty value removes one).
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = self.command(args, env).output().expect("run secauto");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The command `run_with` runs, to spawn it instead.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        self.command_in(
            std::path::Path::new(env!("CARGO_BIN_EXE_secauto")),
            self.dir.path(),
            args,
            env,
        )
    }

    /// `program` (a secauto) run in `dir` against this project's emulators.
    pub fn command_in(
        &self,
        program: &std::path::Path,
        dir: &std::path::Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_REGION", REGION)
            .env("AWS_ENDPOINT_URL", &self.moto_url)
            .env("AWS_ENDPOINT_URL_CLOUDWATCH", &self.cloudwatch_url)
            .env("AWS_ENDPOINT_URL_LAMBDA", &self.lambda_url)
            .env("AWS_ENDPOINT_URL_SECURITYHUB", &self.securityhub_url)
            .stdin(Stdio::null());
        for (k, v) in env {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        cmd
    }
}

/// Enable (or disable) Security Hub CSPM and Security Hub in the emulator at `url`, for the default
/// account and region.
pub fn enable_securityhub(url: &str, cspm: bool, v2: bool) {
    let c = reqwest::blocking::Client::new();
    for (on, path) in [(cspm, "/accounts"), (v2, "/hubv2")] {
        let r = match on {
            true => c.post(format!("{url}{path}")).body("{}"),
            false => c.delete(format!("{url}{path}")),
        };
        let status = r.send().expect("Security Hub emulator").status();
        assert!(
            status.is_success() || status.as_u16() == 409 || !on,
            "Security Hub emulator {path}: {status}"
        );
    }
}

/// A config for the emulators, without the Security Hub automation rules and custom actions: the
/// tests about those (tests/securityhub.rs) use [`securityhub_config`], the others are not about
/// them.
pub fn config(stack: &str, extra: &str) -> String {
    format!(
        "[stack]\nname = \"{stack}\"\n\n[securityhub]\nautomation_rules = false\ncustom_actions = false\n\n[lambda]\nrole_propagation_timeout_seconds = 0\n\n{extra}\n"
    )
}

/// A config for the emulators with every Security Hub resource on (the Security Hub emulator serves
/// them).
pub fn securityhub_config(stack: &str, extra: &str) -> String {
    format!(
        "[stack]\nname = \"{stack}\"\n\n[lambda]\nrole_propagation_timeout_seconds = 0\n\n{extra}\n"
    )
}

/// The latency the benchmarks add to every call: `SECAUTO_BENCH_LATENCY_MS` [100].
pub fn bench_latency() -> std::time::Duration {
    std::time::Duration::from_millis(
        std::env::var("SECAUTO_BENCH_LATENCY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100),
    )
}

/// A proxy to `upstream` that adds `latency` to every call (the benchmarks' stand-in for a region's
/// round trip).
pub fn latency_proxy(upstream: &str, latency: std::time::Duration) -> Proxy {
    Proxy::start_opts(
        upstream,
        secauto_testkit::proxy::Options {
            latency,
            ..Default::default()
        },
    )
}

/// A tokio runtime for SDK checks from synchronous tests.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Everything named after the stack, in every service the stack uses.
pub async fn leftovers(c: &Clients, stack: &str) -> Vec<String> {
    let prefix = format!("{stack}-");
    let mut out = Vec::new();
    for r in c.iam.list_roles().send().await.unwrap().roles {
        if r.role_name.starts_with(&prefix) {
            out.push(format!("iam role {}", r.role_name));
        }
    }
    let policies = c
        .iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap();
    for p in policies.policies() {
        if p.policy_name().unwrap_or_default().starts_with(&prefix) {
            out.push(format!("iam policy {:?}", p.policy_name()));
        }
    }
    for t in c.sns.list_topics().send().await.unwrap().topics() {
        if t.topic_arn()
            .unwrap_or_default()
            .contains(&format!(":{prefix}"))
        {
            out.push(format!("sns topic {:?}", t.topic_arn()));
        }
    }
    for q in c
        .sqs
        .list_queues()
        .queue_name_prefix(&prefix)
        .send()
        .await
        .unwrap()
        .queue_urls()
    {
        out.push(format!("sqs queue {q}"));
    }
    for f in c.lambda.list_functions().send().await.unwrap().functions() {
        if f.function_name().unwrap_or_default().starts_with(&prefix) {
            out.push(format!("lambda function {:?}", f.function_name()));
        }
    }
    for r in c
        .events
        .list_rules()
        .name_prefix(&prefix)
        .send()
        .await
        .unwrap()
        .rules()
    {
        out.push(format!("events rule {:?}", r.name()));
    }
    for b in c
        .events
        .list_event_buses()
        .name_prefix(&prefix)
        .send()
        .await
        .unwrap()
        .event_buses()
    {
        out.push(format!("event bus {:?}", b.name()));
    }
    for d in c
        .ssm
        .list_documents()
        .send()
        .await
        .unwrap()
        .document_identifiers()
    {
        if d.name().unwrap_or_default().starts_with(&prefix) {
            out.push(format!("ssm document {:?}", d.name()));
        }
    }
    for a in c
        .cloudwatch
        .describe_alarms()
        .alarm_name_prefix(&prefix)
        .send()
        .await
        .unwrap()
        .metric_alarms()
    {
        out.push(format!("cloudwatch alarm {:?}", a.alarm_name()));
    }
    for a in c.kms.list_aliases().send().await.unwrap().aliases() {
        if a.alias_name() == Some(&format!("alias/{stack}")) {
            out.push(format!("kms alias {:?}", a.alias_name()));
        }
    }
    for k in c.kms.list_keys().send().await.unwrap().keys() {
        let key_id = k.key_id().unwrap_or_default();
        let meta = c.kms.describe_key().key_id(key_id).send().await.unwrap();
        let state = meta.key_metadata().and_then(|m| m.key_state().cloned());
        if state == Some(aws_sdk_kms::types::KeyState::PendingDeletion) {
            continue;
        }
        let tags = c
            .kms
            .list_resource_tags()
            .key_id(key_id)
            .send()
            .await
            .unwrap();
        if tags
            .tags()
            .iter()
            .any(|t| t.tag_key() == "secauto:stack" && t.tag_value() == stack)
        {
            out.push(format!("kms key {key_id} ({state:?})"));
        }
    }
    for d in c
        .cloudwatch
        .list_dashboards()
        .dashboard_name_prefix(stack)
        .send()
        .await
        .unwrap()
        .dashboard_entries()
    {
        out.push(format!("cloudwatch dashboard {:?}", d.dashboard_name()));
    }
    out
}
