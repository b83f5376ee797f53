//! Test support shared by the workspace's integration tests: the AWS emulators (moto server and
//! ministack) from the project's virtualenv (see scripts/setup-emulators.sh), each started on a free
//! loopback port and killed when dropped. Tests never assume a fixed port or a running server.

pub mod proxy;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The virtualenv holding the emulators.
pub fn venv() -> PathBuf {
    let dir = std::env::var_os("SECAUTO_EMULATOR_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"));
    assert!(
        dir.join("bin/moto_server").exists(),
        "the AWS emulators are not installed in {}: run `bash scripts/setup-emulators.sh` first",
        dir.display()
    );
    dir
}

/// The first finding of `corpus/findings/<file>` (real published findings, see corpus/README.md).
pub fn corpus_finding(file: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus/findings")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    file["Findings"][0].clone()
}

/// The workspace's debug `bootstrap` (the handlers' binary) beside the running test executable,
/// refused when missing or older than any handler source: a test run with a stale build proves
/// the previous handlers, not these (`cargo test --test NAME` does not rebuild another package's
/// binary).
pub fn bootstrap() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("bootstrap"))
        .expect("target directory");
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} is missing: build the handlers with `cargo build --workspace --all-targets`",
                path.display()
            )
        });
    let handlers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../handlers");
    if let Some(newer) = newer_source(&handlers, built) {
        panic!(
            "{} is older than {}: rebuild the handlers with `cargo build --workspace --all-targets`",
            path.display(),
            newer.display()
        );
    }
    path
}

/// A source file of the binary under `dir` (`.rs` outside tests and benches, or a `Cargo.toml`)
/// modified after `than`: a test edited alone does not rebuild `bootstrap`.
fn newer_source(dir: &Path, than: std::time::SystemTime) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n == "tests" || n == "benches")
            {
                continue;
            }
            if let Some(p) = newer_source(&path, than) {
                return Some(p);
            }
            continue;
        }
        let source = path.extension().is_some_and(|e| e == "rs")
            || path.file_name().is_some_and(|n| n == "Cargo.toml");
        let modified = entry.metadata().and_then(|m| m.modified()).ok();
        if source && modified.is_some_and(|m| m > than) {
            return Some(path);
        }
    }
    None
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// True when `url` (`http://host:port/path`) answers HTTP at all. Plain std I/O, so it works from
/// inside an async test too.
pub fn http_ok(url: &str) -> bool {
    use std::io::{Read, Write};
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let Ok(addr) = host.parse::<std::net::SocketAddr>() else {
        return false;
    };
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 5 && buf.starts_with(b"HTTP/"))
}

/// A running emulator process; killed on drop.
pub struct Emulator {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Emulator {
    /// What the emulator printed so far (its log), for a failing test to show.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start an emulator process made by `make(port, dir)` and wait until `probe` answers.
pub fn start(what: &str, probe: &str, mut make: impl FnMut(u16, &Path) -> Command) -> Emulator {
    for _ in 0..5 {
        let port = free_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let log = std::fs::File::create(dir.path().join("log")).expect("log file");
        let mut cmd = make(port, dir.path());
        cmd.current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if http_ok(&format!("{url}{probe}")) {
                return Emulator {
                    child,
                    url,
                    _dir: dir,
                };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        eprintln!(
            "{what} did not start on port {port}: {}",
            std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
        );
    }
    panic!("{what} would not start");
}

/// moto server (IAM, SNS, SQS, Lambda, EventBridge, SSM, STS).
pub fn moto() -> Emulator {
    moto_with(&[])
}

/// moto server with extra environment (`INITIAL_NO_AUTH_ACTION_COUNT` turns IAM enforcement on
/// after that many requests).
pub fn moto_with(env: &[(&str, &str)]) -> Emulator {
    let venv = venv();
    start("moto server", "/moto-api/", |port, _| {
        let mut c = Command::new(venv.join("bin/moto_server"));
        c.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true");
        for (k, v) in env {
            c.env(k, v);
        }
        c
    })
}

/// ministack (CloudWatch: the Rust SDK speaks CBOR to it, which moto does not; it also runs
/// provided.al2023 bootstraps as local processes). Its functions call back to it: it exports its own
/// URL as AWS_ENDPOINT_URL to them.
pub fn ministack() -> Emulator {
    ministack_with(&[])
}

/// ministack with extra environment, which the functions it runs inherit (an
/// `AWS_ENDPOINT_URL_<SERVICE>` there points one service of the functions elsewhere).
pub fn ministack_with(env: &[(&str, &str)]) -> Emulator {
    let venv = venv();
    start("ministack", "/", |port, _| {
        let mut c = Command::new(venv.join("bin/python"));
        c.args(["-m", "ministack"])
            .env("BIND_HOST", "127.0.0.1")
            .env("GATEWAY_PORT", port.to_string())
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
            .env("IOT_MTLS_ENABLED", "0")
            .env("SFTP_ENABLED", "0");
        for (k, v) in env {
            c.env(k, v);
        }
        c
    })
}

/// The Security Hub emulator (emulators/securityhub: CSPM and today's Security Hub, V2) with both
/// Security Hub CSPM and Security Hub off, as in a fresh account; it sends no EventBridge events.
pub fn securityhub() -> Emulator {
    securityhub_with(&[])
}

/// The Security Hub emulator putting the EventBridge events of imported and updated findings to
/// `events_url` (moto server, say), and asking moto's STS there whose account a caller's key is.
pub fn securityhub_delivering_to(events_url: &str) -> Emulator {
    securityhub_with(&[
        ("SECHUB_EMULATOR_EVENTS_ENDPOINT", events_url),
        ("SECHUB_EMULATOR_MOTO_ENDPOINT", events_url),
    ])
}

/// The Security Hub emulator with extra environment (see emulators/securityhub/server.py:
/// `SECHUB_EMULATOR_EVENTBRIDGE_EMULATOR`, `SECHUB_EMULATOR_EVENTS_ENDPOINT`,
/// `SECHUB_EMULATOR_MOTO_ENDPOINT`, `MOTO_ACCOUNT_ID`).
pub fn securityhub_with(env: &[(&str, &str)]) -> Emulator {
    let venv = venv();
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("../emulators/securityhub/server.py");
    start("Security Hub emulator", "/_emulator/health", |port, _| {
        let mut c = Command::new(venv.join("bin/python"));
        c.arg(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in env {
            c.env(k, v);
        }
        c
    })
}

/// The account of [`Pipeline`]'s emulators: ministack's, which scripts/emulators.sh holds moto to.
pub const PIPELINE_ACCOUNT: &str = "000000000000";

/// Every emulator started by scripts/emulators.sh (its state in a temporary directory), wired as
/// the demo has them: an imported finding runs the deployed functions. Stopped on drop.
pub struct Pipeline {
    /// ministack: IAM, STS, KMS, SNS, SQS, Lambda (running the bootstraps), CloudWatch, EC2.
    pub ministack: String,
    /// The EventBridge emulator (emulators/eventbridge), in front of moto.
    pub eventbridge: String,
    /// moto: EventBridge's control plane and SSM.
    pub moto: String,
    /// The Security Hub emulator.
    pub securityhub: String,
    state: tempfile::TempDir,
}

impl Pipeline {
    /// `bash scripts/emulators.sh start`, read back from the export lines it prints.
    pub fn start() -> Pipeline {
        let state = tempfile::tempdir().expect("tempdir");
        let out = Pipeline::script(state.path(), "start");
        if !out.status.success() {
            Pipeline::script(state.path(), "stop");
            panic!(
                "scripts/emulators.sh start: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let exports = String::from_utf8_lossy(&out.stdout).into_owned();
        let url = |name: &str| {
            exports
                .split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("no {name} in scripts/emulators.sh's exports: {exports}"))
                .to_string()
        };
        Pipeline {
            ministack: url("AWS_ENDPOINT_URL"),
            eventbridge: url("AWS_ENDPOINT_URL_EVENTBRIDGE"),
            moto: url("AWS_ENDPOINT_URL_SSM"),
            securityhub: url("AWS_ENDPOINT_URL_SECURITYHUB"),
            state,
        }
    }

    fn script(state: &Path, command: &str) -> std::process::Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/emulators.sh");
        Command::new("bash")
            .arg(script)
            .arg(command)
            .env("SECAUTO_EMULATORS_DIR", state)
            .env("SECAUTO_EMULATOR_VENV", venv())
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/emulators.sh")
    }

    /// The environment that points an AWS SDK (secauto) at them, as scripts/emulators.sh exports it.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.ministack.clone()),
            ("AWS_ENDPOINT_URL_EVENTBRIDGE", self.eventbridge.clone()),
            ("AWS_ENDPOINT_URL_SSM", self.moto.clone()),
            ("AWS_ENDPOINT_URL_SECURITYHUB", self.securityhub.clone()),
        ]
    }

    /// Every emulator's log, for a failing test to show.
    pub fn logs(&self) -> String {
        ["moto", "ministack", "eventbridge", "securityhub"]
            .iter()
            .map(|name| {
                let log = std::fs::read_to_string(self.state.path().join(format!("{name}.log")));
                format!("==== {name}\n{}", log.unwrap_or_default())
            })
            .collect()
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        Pipeline::script(self.state.path(), "stop");
    }
}
