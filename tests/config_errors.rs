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

/// A value for `run_env` that removes the variable.
const UNSET: &str = "\0unset";

/// `run` with more environment variables.
fn run_env(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Out {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_secauto"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &url)
        .envs(env.iter().copied().filter(|(_, v)| *v != UNSET));
    for (k, _) in env.iter().filter(|(_, v)| *v == UNSET) {
        cmd.env_remove(k);
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap();
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

/// The fields of the config section `path` (`""` for the top level, `"targets"`, `"triage.rules"`),
/// as serde's own "expected one of" names them: the model, not a hand-written list.
fn model_fields(path: &str) -> Vec<String> {
    let header = match path {
        "" => String::new(),
        "targets" | "triage.rules" => format!("[[{path}]]\n"),
        _ => format!("[{path}]\n"),
    };
    let err = secauto::config::Config::parse(&format!("{header}zz_not_a_setting = 1\n"), "t")
        .unwrap_err()
        .to_string();
    let expected = err
        .split("expected")
        .nth(1)
        .unwrap_or_else(|| panic!("{path}: {err}"));
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The text of `path`'s section in a template: every block headed `[path]`, `[[path]]` or a
/// commented `# [path]`, with the blocks of its sub-sections.
fn template_section(text: &str, path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        let head = line.trim_start_matches('#').trim();
        if head.starts_with('[') && head.ends_with(']') {
            let name = head.trim_matches(|c| c == '[' || c == ']');
            inside = name == path || name.starts_with(&format!("{path}."));
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn init_writes_every_setting_and_keeps_an_existing_file() {
    let d = tempfile::tempdir().unwrap();
    let o = run(d.path(), &["init"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let text = std::fs::read_to_string(d.path().join("secauto.toml")).unwrap();
    // Every section and every setting of the model, each in its own section.
    let sections = model_fields("");
    assert!(sections.len() >= 14, "{sections:?}");
    let mut settings = 0;
    for section in sections.iter().map(String::as_str).chain(["triage.rules"]) {
        // The rules' criteria are described in [triage], above its examples.
        let parent = if section == "triage.rules" {
            "triage"
        } else {
            section
        };
        let block = template_section(&text, parent);
        assert!(!block.is_empty(), "init writes no [{section}] section");
        if section == "endpoints" {
            continue; // a map of service names, not settings
        }
        for field in model_fields(section) {
            // `field = …` (set, or commented out); the rules' criteria are listed in prose.
            let shown = block.lines().any(|l| {
                let l = l.trim_start_matches('#').trim_start();
                l.strip_prefix(field.as_str())
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            }) || block.contains(&format!("[[{section}.{field}]]"))
                || block.contains(&format!("[{section}.{field}]"))
                || (section == "triage.rules" && regex_word(&block, &field));
            assert!(
                shown,
                "init's [{section}] does not show the setting {field:?}:\n{block}"
            );
            settings += 1;
        }
    }
    assert!(settings >= 55, "only {settings} settings found");
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

/// `word` stands in `text` as a whole word (letters, digits and `_` around it do not count).
fn regex_word(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
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

/// The `SECAUTO_*` variables `--help` names: the command line's own list.
fn environment_variables(dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    let help = run(dir, &["validate", "--help"]).stdout;
    help.split("[env: ")
        .skip(1)
        .map(|s| s.split(['=', ']']).next().unwrap().to_string())
        .collect()
}

type Check = fn(&Out, &serde_json::Value) -> bool;

#[test]
fn every_global_flag_has_an_environment_variable_and_it_takes_effect() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("elsewhere.toml"),
        "[stack]\nname = \"from-file\"\n",
    )
    .unwrap();
    let config = ("SECAUTO_CONFIG", "elsewhere.toml");
    let cases: &[(&str, &str, Check)] = &[
        ("SECAUTO_CONFIG", "elsewhere.toml", |_, v| {
            v["stack"] == "from-file"
        }),
        ("SECAUTO_STACK", "from-env", |_, v| v["stack"] == "from-env"),
        ("SECAUTO_REGION", "eu-west-3", |_, v| {
            v["region"] == "eu-west-3"
        }),
        (
            "SECAUTO_ROLE_ARN",
            "arn:aws:iam::111111111111:role/ci",
            // Its effect: the state is kept per account (the role's).
            |_, v| {
                v["run"]["role_arn"] == "arn:aws:iam::111111111111:role/ci"
                    && v["state"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("/111111111111/")
            },
        ),
        ("SECAUTO_EXTERNAL_ID", "team-id", |o, _| {
            o.code == 1 && o.stderr.contains("external_id \"team-id\"")
        }),
        ("SECAUTO_PROFILE", "ci", |_, v| v["run"]["profile"] == "ci"),
        ("SECAUTO_ENDPOINT_URL", "http://127.0.0.1:9", |_, v| {
            v["run"]["endpoint_url"] == "http://127.0.0.1:9"
        }),
        (
            "SECAUTO_TARGET",
            "111111111111/us-east-1,222222222222",
            |_, v| {
                v["run"]["targets"] == serde_json::json!(["111111111111/us-east-1", "222222222222"])
            },
        ),
        ("SECAUTO_STATE", "s3://ci-bucket/prod.json", |_, v| {
            v["state"] == "s3://ci-bucket/prod.json"
        }),
        ("SECAUTO_LOCK_TIMEOUT", "7", |_, v| {
            v["run"]["lock_timeout_seconds"] == 7
        }),
        ("SECAUTO_PARALLELISM", "3", |_, v| {
            v["run"]["parallelism"] == 3
        }),
        ("SECAUTO_OUTPUT", "json", |o, v| {
            o.code == 0 && v["format_version"] == 1
        }),
        ("SECAUTO_NO_PROGRESS", "1", |_, v| {
            v["run"]["progress"] == false
        }),
    ];
    let listed = environment_variables(d.path());
    let tested: std::collections::BTreeSet<String> =
        cases.iter().map(|(k, _, _)| k.to_string()).collect();
    assert_eq!(
        listed, tested,
        "every variable --help names is tested, and only those"
    );
    for (var, value, check) in cases {
        let mut env = vec![config, ("SECAUTO_OUTPUT", "json"), (var, value)];
        env.dedup_by_key(|(k, _)| *k);
        let o = run_env(d.path(), &["validate"], &env);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap_or_default();
        assert!(check(&o, &v), "{var}={value}: {}\n{}", o.stdout, o.stderr);
    }
    // The flag beats the variable.
    let env = [
        config,
        ("SECAUTO_STACK", "from-env"),
        ("SECAUTO_OUTPUT", "json"),
    ];
    let o = run_env(d.path(), &["validate", "--stack", "from-flag"], &env);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["stack"], "from-flag");
    // CI systems set booleans as 1/0, true/false, yes/no, on/off.
    for (value, progress) in [
        ("1", false),
        ("true", false),
        ("yes", false),
        ("on", false),
        ("0", true),
        ("false", true),
        ("no", true),
        ("off", true),
    ] {
        let env = [
            config,
            ("SECAUTO_OUTPUT", "json"),
            ("SECAUTO_NO_PROGRESS", value),
        ];
        let o = run_env(d.path(), &["validate"], &env);
        assert_eq!(o.code, 0, "SECAUTO_NO_PROGRESS={value}: {}", o.stderr);
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        assert_eq!(
            v["run"]["progress"], progress,
            "SECAUTO_NO_PROGRESS={value}"
        );
    }
    // Bad values from the environment are named like bad flags.
    for (var, value, named) in [
        ("SECAUTO_PARALLELISM", "0", "--parallelism"),
        ("SECAUTO_PARALLELISM", "65", "--parallelism"),
        ("SECAUTO_LOCK_TIMEOUT", "soon", "--lock-timeout"),
        ("SECAUTO_OUTPUT", "yaml", "--output"),
        ("SECAUTO_NO_PROGRESS", "maybe", "--no-progress"),
        ("SECAUTO_REGION", "moon-1", "moon-1"),
        ("SECAUTO_STATE", "s3://bucket-only", "s3://<bucket>/<key>"),
    ] {
        let o = run_env(d.path(), &["validate"], &[config, (var, value)]);
        assert_eq!(o.code, 1, "{var}={value}: {}", o.stderr);
        assert!(o.stderr.contains(named), "{var}={value}: {}", o.stderr);
    }
}

#[test]
fn the_endpoint_and_target_variables_reach_the_run() {
    let d = project("[aws]\nmax_attempts = 1\n");
    // SECAUTO_PARALLELISM is how many targets of a fleet run at once (said before any call), and
    // SECAUTO_ENDPOINT_URL is where the role of each target is assumed too (the listener of
    // AWS_ENDPOINT_URL sees nothing).
    let fleet = project(&format!("{FLEET}\n[aws]\nmax_attempts = 1\n"));
    let o = run_env(
        fleet.path(),
        &["plan"],
        &[
            ("SECAUTO_PARALLELISM", "1"),
            ("SECAUTO_ENDPOINT_URL", "http://127.0.0.1:9"),
        ],
    );
    assert!(o.stderr.contains("(1 at once)"), "{}", o.stderr);
    // SECAUTO_TARGET without a fleet is refused before any call.
    let o = run_env(d.path(), &["plan"], &[("SECAUTO_TARGET", "111111111111")]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("--target picks targets of a fleet"),
        "{}",
        o.stderr
    );
    // SECAUTO_ENDPOINT_URL is where the calls go (AWS_ENDPOINT_URL's listener sees none).
    let endpoint = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", endpoint.local_addr().unwrap());
    let (tx, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in endpoint.incoming() {
            drop(stream);
            let _ = tx.send(());
        }
    });
    // unlock needs no bundles: its first call is STS's, to the endpoint the variable names.
    let o = run_env(
        d.path(),
        &["unlock", "x"],
        &[("SECAUTO_ENDPOINT_URL", &url)],
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    // The listener accepted the call before the run could fail on it.
    assert!(
        seen.try_recv().is_ok(),
        "no call reached SECAUTO_ENDPOINT_URL: {}",
        o.stderr
    );
}

#[test]
fn validate_takes_the_region_of_the_environment_or_the_profile() {
    let d = project("");
    let o = run_env(
        d.path(),
        &["validate", "--output", "json"],
        &[("AWS_REGION", "ap-south-2")],
    );
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["region"], "ap-south-2", "{}", o.stderr);
    std::fs::create_dir_all(d.path().join(".aws")).unwrap();
    std::fs::write(
        d.path().join(".aws/config"),
        "[profile ci]\nregion = eu-central-2\n",
    )
    .unwrap();
    let env = [("AWS_REGION", UNSET), ("SECAUTO_PROFILE", "ci")];
    let o = run_env(d.path(), &["validate", "--output", "json"], &env);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["region"], "eu-central-2", "{}", o.stderr);
    // A name too long for the region the run resolves is caught for that region, not us-east-1's.
    let d = project(&format!("[stack]\nname = \"{}\"\n", "a".repeat(36)));
    let o = run_env(d.path(), &["validate"], &[("AWS_REGION", "us-east-1")]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let o = run_env(d.path(), &["validate"], &[("AWS_REGION", "ap-southeast-5")]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        o.stderr
            .contains("-ap-southeast-5-error-handler\" is 65 characters"),
        "{}",
        o.stderr
    );
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
    std::fs::write(d.path().join("secauto.toml"), "[stack]\nname = \"plain\"\n").unwrap();
    for env in [&[][..], &[("NO_COLOR", "1")]] {
        let o = run_env(d.path(), &["validate", "-vv"], env);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert!(
            o.stderr.contains("DEBUG"),
            "nothing was logged: {:?}",
            o.stderr
        );
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

const FLEET: &str = r#"
[[targets]]
role = "administrator"
role_arn = "arn:aws:iam::111111111111:role/deploy"
regions = ["us-east-1", "eu-west-1"]

[[targets]]
role = "member"
role_arn = "arn:aws:iam::222222222222:role/deploy"
regions = ["us-east-1"]
"#;

#[test]
fn targets_prints_the_fleet_as_a_ci_matrix() {
    let d = project(FLEET);
    let o = run(d.path(), &["targets", "--output", "json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(
        o.stdout.trim().lines().count(),
        1,
        "one line for $GITHUB_OUTPUT"
    );
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    // Only `include`: any other key would be a dimension of the matrix.
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    let include = v["include"].as_array().unwrap();
    let targets: Vec<&str> = include
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "111111111111/us-east-1",
            "111111111111/eu-west-1",
            "222222222222/us-east-1"
        ]
    );
    assert_eq!(include[0]["role"], "administrator");
    assert_eq!(include[0]["stack"], "administrator");
    assert_eq!(include[1]["stack"], "administrator (member stack)");
    assert_eq!(include[2]["account"], "222222222222");
    assert_eq!(include[2]["region"], "us-east-1");
    // --target narrows it; text is a line per target.
    let o = run(d.path(), &["targets", "--target", "222222222222"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.lines().count(), 1, "{}", o.stdout);
    assert!(
        o.stdout.starts_with("222222222222/us-east-1\t"),
        "{}",
        o.stdout
    );
    // A single stack has no matrix.
    let d = project("");
    let o = run(d.path(), &["targets"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("no [[targets]]"), "{}", o.stderr);
}

#[test]
fn one_state_for_many_targets_is_refused_before_any_call() {
    let d = project(FLEET);
    for args in [
        &["plan", "--state", "one.json"][..],
        &["deploy", "--state", "s3://bucket/one.json"][..],
        &["status", "--target", "111111111111", "--state", "one.json"][..],
    ] {
        let o = run(d.path(), args);
        assert_eq!(o.code, 1, "{args:?}");
        assert!(
            o.stderr.contains("--state names one state"),
            "{args:?}: {}",
            o.stderr
        );
    }
    // A target without role_arn is the caller's account: refused before STS is asked which.
    let d = project(&format!(
        "{FLEET}\n[[targets]]\nrole = \"member\"\nregions = [\"ap-south-1\"]\n"
    ));
    for args in [
        &["plan", "--state", "one.json"][..],
        &["destroy", "--yes", "--state", "x.json"][..],
    ] {
        let o = run(d.path(), args);
        assert_eq!(o.code, 1, "{args:?}");
        assert!(
            o.stderr.contains("--state names one state"),
            "{args:?}: {}",
            o.stderr
        );
    }
    let d = project(FLEET);
    // A saved plan, or --out, is one target's: without --target picking one, refused.
    let o = run(d.path(), &["plan", "--out", "p.json"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("--target ACCOUNT/REGION"), "{}", o.stderr);
}

/// Over Lambda's 4 KB for one function's environment (tests/data/large-fleet.toml says why).
fn large_fleet() -> String {
    include_str!("data/large-fleet.toml").to_string()
}

#[test]
fn an_environment_over_lambdas_limit_is_refused_by_validate_and_before_any_call() {
    let d = project(&large_fleet());
    for args in [
        &["validate"][..],
        &["plan"][..],
        &["deploy"][..],
        &["targets"][..],
    ] {
        let o = run(d.path(), args);
        assert_eq!(o.code, 1, "{args:?}: {}", o.stderr);
        assert!(
            o.stderr.contains("over Lambda's limit of 4096 bytes"),
            "{args:?}: {}",
            o.stderr
        );
        assert!(
            o.stderr.contains("PROTECTED_RESOURCES takes"),
            "{}",
            o.stderr
        );
    }
    // Protected by tag instead, the same fleet fits.
    let fleet = large_fleet();
    let (head, rest) = fleet.split_once("protected = [").unwrap();
    let fits = format!(
        "{head}protected_tags = {{ env = \"prod\" }}{}",
        &rest[rest.find(']').unwrap() + 1..]
    );
    let o = run(project(&fits).path(), &["validate"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}
