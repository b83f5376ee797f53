//! Test harness: starts moto server and ministack on free loopback ports (from the project's
//! virtualenv, see scripts/setup-emulators.sh), runs the secauto binary against them, and gives SDK
//! clients for checking what is really there.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

use secauto_testkit::proxy::{LambdaDeadLetterShim, Proxy};
pub use secauto_testkit::{ministack, moto, Emulator};

use secauto::aws::{Clients, Connection};

pub const REGION: &str = "us-east-1";

/// Both emulators, and moto's Lambda behind a proxy that keeps the DeadLetterConfig moto forgets.
pub struct Emulators {
    pub moto: Emulator,
    pub cloudwatch: Emulator,
    pub lambda: Proxy,
}

impl Emulators {
    pub fn start() -> Self {
        let moto = moto();
        let lambda = Proxy::start(
            &moto.url,
            Some(std::sync::Arc::new(LambdaDeadLetterShim::default())),
        );
        Emulators {
            moto,
            cloudwatch: ministack(),
            lambda,
        }
    }

    /// Start moto's request recorder afresh.
    pub fn record(&self) {
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

    /// The operations moto received since `record`, as `service:Operation` or `METHOD path`.
    pub fn recorded(&self) -> Vec<String> {
        let text = reqwest::blocking::get(format!(
            "{}/moto-api/recorder/download-recording",
            self.moto.url
        ))
        .and_then(|r| r.text())
        .expect("download recording");
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("recording line");
                operation(&v)
            })
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

    fn connection(&self) -> Connection {
        let mut endpoints = std::collections::BTreeMap::new();
        endpoints.insert("cloudwatch".to_string(), self.cloudwatch.url.clone());
        endpoints.insert("lambda".to_string(), self.lambda.url.clone());
        Connection {
            region: Some(REGION.into()),
            profile: None,
            endpoint_url: Some(self.moto.url.clone()),
            endpoints,
        }
    }
}

/// Name one recorded request: the query Action, the JSON X-Amz-Target, or the REST method and path.
fn operation(v: &serde_json::Value) -> String {
    use base64::Engine;
    let headers = &v["headers"];
    if let Some(t) = headers
        .as_object()
        .and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
        })
        .and_then(|(_, v)| v.as_str())
    {
        return t.rsplit('.').next().unwrap_or(t).to_string();
    }
    let body = v["body"].as_str().unwrap_or_default();
    let body = if v["body_encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    } else {
        body.to_string()
    };
    if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return action.to_string();
    }
    let url = v["url"].as_str().unwrap_or_default();
    let path = url.splitn(4, '/').nth(3).unwrap_or_default();
    format!("{} /{}", v["method"].as_str().unwrap_or("?"), path)
}

/// True for an operation that changes something.
pub fn is_mutating(op: &str) -> bool {
    if let Some((method, _)) = op.split_once(' ') {
        return method != "GET" && method != "HEAD";
    }
    !["Get", "List", "Describe", "BatchGet"]
        .iter()
        .any(|p| op.starts_with(p))
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
        let out = Command::new(env!("CARGO_BIN_EXE_secauto"))
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_REGION", REGION)
            .env("AWS_ENDPOINT_URL", &self.moto_url)
            .env("AWS_ENDPOINT_URL_CLOUDWATCH", &self.cloudwatch_url)
            .env("AWS_ENDPOINT_URL_LAMBDA", &self.lambda_url)
            .stdin(Stdio::null())
            .output()
            .expect("run secauto");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A config for the emulators: Security Hub is served by no emulator, so its resources are off here
/// (they are tested with aws-smithy-mocks in tests/securityhub_mocked.rs).
pub fn config(stack: &str, extra: &str) -> String {
    format!(
        "[stack]\nname = \"{stack}\"\n\n[securityhub]\nautomation_rules = false\ncustom_actions = false\n\n[lambda]\nrole_propagation_timeout_seconds = 0\n\n{extra}\n"
    )
}

/// A tokio runtime for SDK checks from synchronous tests.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
