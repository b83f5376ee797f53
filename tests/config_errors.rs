//! Bad input gets a clear error naming the problem and the fix, before any API call: every run here
//! points all endpoints at a loopback listener that must never see a connection.

use std::net::TcpListener;
use std::process::{Command, Stdio};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Run secauto in `dir` against a listener that fails the test if anything connects.
fn run(dir: &std::path::Path, args: &[&str]) -> Out {
    run_env(dir, args, &[])
}

/// `run` with more environment variables.
fn run_env(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let out = Command::new(env!("CARGO_BIN_EXE_secauto"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &url)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("secauto {args:?} made an API call: {other:?}"),
    }
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secauto.toml"), config).unwrap();
    dir
}

#[test]
fn unknown_key_is_rejected_with_its_line() {
    let d = project("[stack]\nname = \"ok\"\n\n[findings]\nseverity = [\"HIGH\"]\n");
    for cmd in ["plan", "deploy", "status", "destroy"] {
        let o = run(d.path(), &[cmd]);
        assert_eq!(o.code, 1, "{cmd}: {}", o.stderr);
        assert!(o.stderr.contains("line 5"), "{}", o.stderr);
        assert!(o.stderr.contains("severity"), "{}", o.stderr);
    }
}

#[test]
fn invalid_values_are_all_reported() {
    let d = project(
        "[stack]\nname = \"Bad_Name\"\n[findings]\nseverities = [\"URGENT\"]\n[notifications]\nemails = [\"not-an-email\"]\nhttps = [\"http://plain\"]\n[lambda]\nmemory_mb = 64\n",
    );
    let o = run(d.path(), &["deploy"]);
    assert_eq!(o.code, 1);
    for needle in [
        "Bad_Name",
        "URGENT",
        "not-an-email",
        "http://plain",
        "memory_mb",
    ] {
        assert!(o.stderr.contains(needle), "missing {needle}: {}", o.stderr);
    }
}

#[test]
fn wrong_types_are_reported() {
    let d = project("[monitoring]\nalarms = \"yes\"\n");
    let o = run(d.path(), &["plan"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("line 2"), "{}", o.stderr);
    assert!(o.stderr.contains("bool"), "{}", o.stderr);
}

#[test]
fn names_too_long_for_a_service_are_refused() {
    let d = project(&format!("[stack]\nname = \"{}\"\n", "a".repeat(55)));
    let o = run(d.path(), &["deploy"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("limit is 64"), "{}", o.stderr);
    assert!(o.stderr.contains("shorten [stack] name"), "{}", o.stderr);
}

#[test]
fn missing_bundles_say_exactly_what_to_run() {
    let d = project("[stack]\nname = \"nobundle\"\n");
    let o = run(d.path(), &["deploy"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("target/lambda/triage/bootstrap.zip"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("run `secauto build`"), "{}", o.stderr);
}

#[test]
fn missing_config_file_is_named() {
    let d = tempfile::tempdir().unwrap();
    let o = run(d.path(), &["plan", "--config", "nope.toml"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("nope.toml"), "{}", o.stderr);
}

#[test]
fn flag_errors_exit_1_not_2() {
    let d = tempfile::tempdir().unwrap();
    let o = run(d.path(), &["plan", "--output", "yaml"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    std::fs::write(d.path().join("secauto.toml"), "").unwrap();
    let o = run(d.path(), &["--stack", "UPPER", "plan"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("UPPER"), "{}", o.stderr);
}

#[test]
fn init_writes_every_setting_and_keeps_an_existing_file() {
    let d = tempfile::tempdir().unwrap();
    let o = run(d.path(), &["init"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let text = std::fs::read_to_string(d.path().join("secauto.toml")).unwrap();
    for section in [
        "[stack]",
        "[findings]",
        "[notifications]",
        "[remediation]",
        "[securityhub]",
        "[monitoring]",
        "[lambda]",
        "[events]",
        "[endpoints]",
    ] {
        assert!(text.contains(section), "{section}");
    }
    std::fs::write(d.path().join("secauto.toml"), "# mine\n").unwrap();
    let o = run(d.path(), &["init"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("--force"), "{}", o.stderr);
    assert_eq!(
        std::fs::read_to_string(d.path().join("secauto.toml")).unwrap(),
        "# mine\n"
    );
    // Global flags work after the subcommand too.
    let o = run(d.path(), &["init", "--config", "other.toml"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(d.path().join("other.toml").exists());
    let _ = o.stdout;
}

#[test]
fn build_refuses_a_non_executable() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("script"), "#!/bin/sh\n").unwrap();
    let o = run(d.path(), &["build", "--bootstrap", "script"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("ELF"), "{}", o.stderr);
}

#[test]
fn reserved_stack_names_and_bad_keys_are_refused() {
    for (name, needle) in [
        ("aws-sec", "\"aws\""),
        ("amazon-sec", "\"amazon\""),
        ("amznsec", "\"amzn\""),
    ] {
        let d = project(&format!("[stack]\nname = \"{name}\"\n"));
        let o = run(d.path(), &["plan"]);
        assert_eq!(o.code, 1, "{name}: {}", o.stderr);
        assert!(o.stderr.contains(needle), "{}", o.stderr);
        assert!(o.stderr.contains("SSM refuses"), "{}", o.stderr);
    }
    let d = project("[stack]\nname = \"ok\"\n[notifications]\nkms_key = \"my key\"\n");
    let o = run(d.path(), &["plan"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("is not a KMS key"), "{}", o.stderr);
}

#[test]
fn a_bundle_for_another_architecture_is_refused_before_any_call() {
    let d = project("[stack]\nname = \"ok\"\n[lambda]\narchitecture = \"arm64\"\n");
    let b = run(d.path(), &["build", "--bootstrap", "/bin/true"]);
    assert_eq!(b.code, 0, "{}", b.stderr);
    let o = run(d.path(), &["deploy"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("x86_64 executable") && o.stderr.contains("\"arm64\""),
        "{}",
        o.stderr
    );
}

#[test]
fn no_config_is_an_error_not_a_default_stack() {
    let d = tempfile::tempdir().unwrap();
    for cmd in [
        &["plan"][..],
        &["deploy"],
        &["status"],
        &["destroy", "--yes"],
        &["validate"],
        &["unlock", "x"],
    ] {
        let o = run(d.path(), cmd);
        assert_eq!(o.code, 1, "{cmd:?}: {}", o.stderr);
        assert!(o.stderr.contains("no config"), "{}", o.stderr);
        assert!(o.stderr.contains("secauto init"), "{}", o.stderr);
    }
    // Under --output json the error is a JSON document on stdout too.
    let o = run(d.path(), &["plan", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["format_version"], 1);
    assert!(v["error"].as_str().unwrap().contains("no config"));
    // So is a usage error, and SECAUTO_OUTPUT asks for it as well.
    let o = run_env(
        d.path(),
        &["plan", "--bogus"],
        &[("SECAUTO_OUTPUT", "json")],
    );
    assert_eq!(o.code, 1);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert!(v["error"].as_str().unwrap().contains("--bogus"), "{v}");
}

#[test]
fn every_global_flag_has_an_environment_variable() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("elsewhere.toml"),
        "[stack]\nname = \"from-file\"\n",
    )
    .unwrap();
    let o = run_env(
        d.path(),
        &["validate", "--output", "json"],
        &[("SECAUTO_CONFIG", "elsewhere.toml")],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["stack"], "from-file");
    assert_eq!(v["format_version"], 1);
    let env = [
        ("SECAUTO_CONFIG", "elsewhere.toml"),
        ("SECAUTO_STACK", "from-env"),
        ("SECAUTO_STATE", "s3://ci-bucket/prod.json"),
        ("SECAUTO_OUTPUT", "json"),
    ];
    let o = run_env(d.path(), &["validate"], &env);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["stack"], "from-env");
    assert_eq!(v["state"], "s3://ci-bucket/prod.json");
    // The flag beats the variable.
    let o = run_env(d.path(), &["validate", "--stack", "from-flag"], &env);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["stack"], "from-flag");
    // Bad values from the environment are named like bad flags.
    for (var, value, named) in [
        ("SECAUTO_PARALLELISM", "0", "--parallelism"),
        ("SECAUTO_PARALLELISM", "65", "--parallelism"),
        ("SECAUTO_LOCK_TIMEOUT", "soon", "--lock-timeout"),
        ("SECAUTO_OUTPUT", "yaml", "--output"),
        ("SECAUTO_REGION", "moon-1", "moon-1"),
        ("SECAUTO_STATE", "s3://bucket-only", "s3://<bucket>/<key>"),
    ] {
        let o = run_env(d.path(), &["validate"], &[env[0], (var, value)]);
        assert_eq!(o.code, 1, "{var}={value}: {}", o.stderr);
        assert!(o.stderr.contains(named), "{var}={value}: {}", o.stderr);
    }
    for ok in [
        "SECAUTO_NO_PROGRESS",
        "SECAUTO_PARALLELISM",
        "SECAUTO_LOCK_TIMEOUT",
    ] {
        let value = if ok == "SECAUTO_NO_PROGRESS" {
            "true"
        } else {
            "3"
        };
        let o = run_env(d.path(), &["validate"], &[env[0], (ok, value)]);
        assert_eq!(o.code, 0, "{ok}: {}", o.stderr);
    }
}

#[test]
fn validate_checks_offline_and_names_every_problem() {
    let d = project("[state]\nbackend = \"s3\"\n\n[aws]\nmax_attempts = 0\n");
    let o = run(d.path(), &["validate"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("needs bucket"), "{}", o.stderr);
    assert!(o.stderr.contains("max_attempts = 0"), "{}", o.stderr);
    let d = project("[state]\nbucket = \"b-1\"\n");
    let o = run(d.path(), &["validate"]);
    assert!(
        o.stderr.contains("[state] bucket is for backend = \"s3\""),
        "{}",
        o.stderr
    );
    let d = project("[state]\nbackend = \"s3\"\nbucket = \"team-state\"\n");
    let o = run(d.path(), &["validate", "--region", "eu-west-1"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout
            .contains("s3://team-state/secauto/secauto/eu-west-1.json"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("is valid"), "{}", o.stdout);
}

#[test]
fn completions_for_every_shell_and_no_colour_off_a_terminal() {
    let d = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "_secauto()"),
        ("zsh", "#compdef secauto"),
        ("fish", "complete -c secauto"),
    ] {
        let o = run(d.path(), &["completions", shell]);
        assert_eq!(o.code, 0, "{shell}: {}", o.stderr);
        assert!(o.stdout.contains(marker), "{shell}");
        assert!(
            o.stdout.contains("validate") && o.stdout.contains("unlock"),
            "{shell}"
        );
    }
    // stderr is a pipe here: no escape sequences, with or without NO_COLOR, even in logs.
    std::fs::write(d.path().join("secauto.toml"), "[stack]\nname = \"UPPER\"\n").unwrap();
    for env in [&[][..], &[("NO_COLOR", "1")]] {
        let o = run_env(d.path(), &["plan", "-vv"], env);
        assert_eq!(o.code, 1);
        assert!(!o.stderr.contains('\u{1b}'), "{:?}", o.stderr);
    }
}

#[test]
fn a_saved_plan_that_cannot_be_read_is_refused_before_any_call() {
    let d = project("");
    let o = run(d.path(), &["deploy", "missing.json"]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("cannot read the plan missing.json"),
        "{}",
        o.stderr
    );
    std::fs::write(d.path().join("p.json"), "{}").unwrap();
    let o = run(d.path(), &["deploy", "p.json"]);
    assert!(o.stderr.contains("no format_version"), "{}", o.stderr);
}
