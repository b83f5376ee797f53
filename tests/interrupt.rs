//! Every command exits 130 on SIGINT or SIGTERM, whatever it is waiting on: an API call that does
//! not answer (plan, status, unlock, targets, deploy and destroy before the lock), a cargo build
//! (build, dist), or destroy's prompt. Each run is signalled only once it is provably waiting.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An endpoint that accepts connections and never answers; `accepted` tells when one came.
struct BlackHole {
    url: String,
    accepted: std::sync::mpsc::Receiver<()>,
}

fn black_hole() -> BlackHole {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, accepted) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            let _ = tx.send(());
        }
    });
    BlackHole { url, accepted }
}

fn secauto(dir: &Path, args: &[&str], endpoint: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_secauto"));
    c.args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", endpoint)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

/// The exit code, or a failure when the process outlives `limit` (a guard, not a measurement).
fn exit_code(mut child: Child, limit: Duration) -> (i32, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code().unwrap_or(-1), err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running {limit:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // Long timeouts: without the signal, each command would wait for minutes.
    std::fs::write(
        dir.path().join("secauto.toml"),
        "[aws]\nmax_attempts = 1\nattempt_timeout_seconds = 600\ncall_timeout_seconds = 600\n",
    )
    .unwrap();
    // Handler bundles, so plan and deploy get as far as AWS (the emulators never run them).
    let out = secauto(
        dir.path(),
        &["build", "--bootstrap", "/bin/true"],
        "http://127.0.0.1:9",
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

#[test]
fn commands_waiting_on_aws_exit_130_on_sigint_and_sigterm() {
    let fleet = "[[targets]]\nrole = \"administrator\"\nrole_arn = \"arn:aws:iam::111111111111:role/d\"\nregions = [\"us-east-1\"]\n[[targets]]\nrole = \"member\"\nregions = [\"us-east-1\"]\n";
    for (args, sig) in [
        (&["plan"][..], "INT"),
        (&["status"][..], "TERM"),
        (&["unlock", "some-id"][..], "INT"),
        (&["deploy"][..], "TERM"),
        (&["destroy", "--yes"][..], "INT"),
        (&["targets"][..], "TERM"),
    ] {
        let d = project();
        if args[0] == "targets" {
            let mut text = std::fs::read_to_string(d.path().join("secauto.toml")).unwrap();
            text.push_str(fleet);
            std::fs::write(d.path().join("secauto.toml"), text).unwrap();
        }
        let hole = black_hole();
        let child = secauto(d.path(), args, &hole.url).spawn().unwrap();
        hole.accepted
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("{args:?} never called AWS"));
        signal(&child, sig);
        let (code, err) = exit_code(child, Duration::from_secs(60));
        assert_eq!(code, 130, "{args:?} on SIG{sig}: {err}");
    }
}

#[test]
fn build_exits_130_and_stops_cargo() {
    let d = project();
    std::fs::create_dir_all(d.path().join("handlers/lambda")).unwrap();
    std::fs::write(d.path().join("handlers/lambda/Cargo.toml"), "").unwrap();
    // A cargo that says it started, then waits.
    let cargo = d.path().join("fake-cargo");
    let pid_file = d.path().join("cargo.pid");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\necho $$ > {}.tmp\nmv {0}.tmp {0}\nexec sleep 600\n",
            pid_file.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&cargo).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&cargo, perms).unwrap();
    for (command, sig) in [("build", "TERM"), ("dist", "INT")] {
        let _ = std::fs::remove_file(&pid_file);
        let child = secauto(
            d.path(),
            &[command, "--profile", "dev"],
            "http://127.0.0.1:9",
        )
        .env("CARGO", &cargo)
        .spawn()
        .unwrap();
        let start = Instant::now();
        while !pid_file.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "cargo never started"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let cargo_pid = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .to_string();
        signal(&child, sig);
        let (code, err) = exit_code(child, Duration::from_secs(60));
        assert_eq!(code, 130, "{command} on SIG{sig}: {err}");
        // cargo does not outlive secauto.
        let start = Instant::now();
        while Path::new(&format!("/proc/{cargo_pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{cargo_pid}/stat"))
                .unwrap_or_default()
                .contains(") Z")
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{command}: cargo still runs"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn destroy_exits_130_at_its_prompt() {
    let emulator = secauto_testkit::moto();
    let cloudwatch = secauto_testkit::ministack();
    let d = project();
    // Security Hub's rules and actions: no emulator serves them.
    let mut config = std::fs::read_to_string(d.path().join("secauto.toml")).unwrap();
    config.push_str("[securityhub]\nautomation_rules = false\ncustom_actions = false");
    std::fs::write(d.path().join("secauto.toml"), config).unwrap();
    let pid_file = d.path().join("secauto.pid");
    // `script` gives secauto a terminal, so destroy asks; `exec` keeps the pid.
    let inner = format!(
        "echo $$ > {}; exec {} destroy",
        pid_file.display(),
        env!("CARGO_BIN_EXE_secauto")
    );
    let mut child = Command::new("script")
        .args(["-qfec", &inner, "/dev/null"])
        .current_dir(d.path())
        .env_clear()
        .env("HOME", d.path())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &emulator.url)
        .env("AWS_ENDPOINT_URL_CLOUDWATCH", &cloudwatch.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("Type the stack name") {
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let _ = out.read_to_end(&mut seen);
    let status = child.wait().unwrap();
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("nothing was deleted"), "{text}");
    // script -e passes on its command's exit code.
    assert_eq!(status.code(), Some(130), "{text}");
}

/// A run waiting for another run's lock (`--lock-timeout`) stops at once on a signal, exits 130
/// and leaves the other run's lock as it was.
#[test]
fn a_run_waiting_for_the_lock_exits_130_and_leaves_the_lock() {
    let moto = secauto_testkit::moto();
    let d = project();
    let mut text = std::fs::read_to_string(d.path().join("secauto.toml")).unwrap();
    text.push_str("[stack]\nname = \"waitlock\"\n");
    std::fs::write(d.path().join("secauto.toml"), text).unwrap();
    // Held by a live process of this host: this test.
    let lock = d.path().join(".secauto/waitlock/us-east-1.json.lock");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let other = secauto::state::Holder::me("secauto deploy (another run)");
    let body = serde_json::to_vec(&other).unwrap();
    std::fs::write(&lock, &body).unwrap();

    // SECAUTO_LOCK_TIMEOUT takes effect: the run waits that long.
    let mut child = secauto(d.path(), &["deploy"], &moto.url)
        .env("SECAUTO_LOCK_TIMEOUT", "600")
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, waiting) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("waiting up to 600s") {
                let _ = tx.send(line);
            }
        }
    });
    waiting
        .recv_timeout(Duration::from_secs(120))
        .expect("deploy waits for the other run's lock");
    signal(&child, "INT");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "still waiting after the signal"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        std::fs::read(&lock).unwrap(),
        body,
        "the other run's lock is untouched"
    );
}
