//! Figures, not a test (ignored; no timed assertion): the bootstrap's cold start, from spawning it
//! to its first "next invocation" request on a loopback stand-in of the Lambda runtime API, for
//! each function, and its size.
//!
//!     cargo test --workspace --test startup_bench -- --ignored --nocapture
//!     SECAUTO_BOOTSTRAPS=/tmp/before:/tmp/after cargo test … (compare builds)

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const RUNS: usize = 30;

fn start_to_ready(bootstrap: &Path, function: &str) -> Option<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0").ok()?;
    let addr = listener.local_addr().ok()?;
    let start = Instant::now();
    let mut child = std::process::Command::new(bootstrap)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("bench-{function}"))
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("SECAUTO_FUNCTION", function)
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[test]
#[ignore = "figures, not a test: run with --ignored --nocapture"]
fn bootstrap_start_to_ready() {
    let bootstraps: Vec<PathBuf> = match std::env::var("SECAUTO_BOOTSTRAPS") {
        Ok(list) => list.split(':').map(PathBuf::from).collect(),
        Err(_) => vec![PathBuf::from(env!("CARGO_BIN_EXE_bootstrap"))],
    };
    for bootstrap in &bootstraps {
        let size = std::fs::metadata(bootstrap).map(|m| m.len()).unwrap_or(0);
        println!("{} ({:.1} MB)", bootstrap.display(), size as f64 / 1e6);
        // Interleaved over the functions, so a busy machine weighs on each alike.
        for function in ["triage", "remediation", "notification"] {
            let mut runs: Vec<Duration> = (0..RUNS)
                .filter_map(|_| start_to_ready(bootstrap, function))
                .collect();
            runs.sort();
            if runs.is_empty() {
                println!("  {function}: never asked for an invocation");
                continue;
            }
            println!(
                "  {function:<12} start-to-ready: min {:.1} ms, median {:.1} ms, p90 {:.1} ms over {} runs",
                ms(runs[0]),
                ms(runs[runs.len() / 2]),
                ms(runs[runs.len() * 9 / 10]),
                runs.len()
            );
        }
    }
}
