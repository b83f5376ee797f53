//! Figures, not a test: triage throughput over the corpus, and a bootstrap's start-to-ready time.
//!
//!     cargo bench -p secauto-core
//!     SECAUTO_BOOTSTRAP=target/lambda-release/bootstrap cargo bench -p secauto-core
//!
//! Start-to-ready is the time from spawning the bootstrap to its first "next invocation" request on
//! a local stand-in of the Lambda runtime API (the cold-start share that is ours, not Lambda's).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use secauto_core::envelope::parse_input;
use secauto_core::triage::triage;
use secauto_core::Policy;
use serde_json::Value;

fn corpus() -> Vec<Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpus");
    let mut out = Vec::new();
    for sub in ["findings", "events"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(sub))
            .expect("corpus")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for f in files {
            if let Ok(Ok(v)) = std::fs::read_to_string(&f).map(|t| serde_json::from_str(&t)) {
                out.push(v);
            }
        }
    }
    out
}

fn throughput(rounds: usize) {
    let inputs = corpus();
    let texts: Vec<String> = inputs.iter().map(|v| v.to_string()).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let policy = Policy::default();
    let mut findings = 0usize;
    let start = Instant::now();
    for _ in 0..rounds {
        for t in &texts {
            let v: Value = serde_json::from_str(t).expect("json");
            if let Ok(input) = parse_input(&v) {
                let (decided, _) = triage(&policy, &input);
                findings += decided.len();
            }
        }
    }
    let took = start.elapsed();
    println!(
        "triage: {} findings in {:.3}s ({} files, {:.1} MB parsed): {:.0} findings/s, {:.1} µs per finding, {:.1} MB/s",
        findings,
        took.as_secs_f64(),
        texts.len() * rounds,
        (bytes * rounds) as f64 / 1e6,
        findings as f64 / took.as_secs_f64(),
        took.as_secs_f64() * 1e6 / findings as f64,
        (bytes * rounds) as f64 / 1e6 / took.as_secs_f64()
    );
}

fn start_to_ready(bootstrap: &Path) -> Option<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0").ok()?;
    let addr = listener.local_addr().ok()?;
    let start = Instant::now();
    let mut child = std::process::Command::new(bootstrap)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench-notification")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("SECAUTO_FUNCTION", "notification")
        .env("SECAUTO_STACK", "bench")
        .env("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:bench")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let (stream, _) = listener.accept().ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    let took = start.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    line.contains("/runtime/invocation/next").then_some(took)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: then one quick round.
    let measuring = std::env::args().any(|a| a == "--bench");
    throughput(if measuring { 50 } else { 1 });
    if !measuring {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let candidates = [
        std::env::var_os("SECAUTO_BOOTSTRAP").map(PathBuf::from),
        Some(root.join("target/lambda-release/bootstrap")),
        Some(root.join("target/debug/bootstrap")),
    ];
    let Some(bootstrap) = candidates.into_iter().flatten().find(|p| p.exists()) else {
        println!("start-to-ready: no bootstrap built (cargo build -p secauto-handlers)");
        return;
    };
    let mut runs: Vec<Duration> = (0..10).filter_map(|_| start_to_ready(&bootstrap)).collect();
    runs.sort();
    if runs.is_empty() {
        println!(
            "start-to-ready: {} never asked for an invocation",
            bootstrap.display()
        );
        return;
    }
    let size = std::fs::metadata(&bootstrap).map(|m| m.len()).unwrap_or(0);
    println!(
        "start-to-ready of {} ({:.1} MB): min {:.1} ms, median {:.1} ms, max {:.1} ms over {} runs",
        bootstrap.display(),
        size as f64 / 1e6,
        runs[0].as_secs_f64() * 1e3,
        runs[runs.len() / 2].as_secs_f64() * 1e3,
        runs[runs.len() - 1].as_secs_f64() * 1e3,
        runs.len()
    );
}
