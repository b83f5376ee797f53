//! The program around the commands: arguments, logging, the runtime, signals, errors.

use clap::Parser;

/// `--output json` (or `SECAUTO_OUTPUT=json`), read from the raw arguments so that even a usage
/// error is reported as JSON to a machine that asked for it.
fn wants_json() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let flag = args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--output=")
            .map(str::to_string)
            .or_else(|| (a == "--output").then(|| args.get(i + 1).cloned().unwrap_or_default()))
    });
    flag.or_else(|| std::env::var("SECAUTO_OUTPUT").ok())
        .is_some_and(|o| o == "json")
}

/// An error before or during a run: text on stderr; also a JSON document on stdout under `--output json`.
fn report_error(message: &str, json: bool) {
    eprintln!("error: {message}");
    if json {
        let doc = serde_json::json!({
            "format_version": crate::report::FORMAT_VERSION,
            "error": message,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
}

/// Run secauto with `args` (without the program's name) in the caller's runtime, as the binary
/// would but for the process around it (no signal handlers, no logging set-up); the exit code.
pub async fn run_args(args: &[&str]) -> anyhow::Result<u8> {
    let cli =
        crate::cli::Cli::try_parse_from(std::iter::once("secauto").chain(args.iter().copied()))?;
    crate::commands::run(cli).await
}

/// The whole program: parse, log, run the command, report; the exit code.
pub fn main() -> std::process::ExitCode {
    let json = wants_json();
    let cli = match crate::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Usage errors exit 1, not clap's 2: exit 2 means "changes pending / not in sync".
            if !e.use_stderr() {
                let _ = e.print();
                return std::process::ExitCode::from(0);
            }
            if json {
                report_error(
                    e.render().to_string().trim_start_matches("error: ").trim(),
                    true,
                );
            } else {
                let _ = e.print();
            }
            return std::process::ExitCode::from(1);
        }
    };
    crate::logging::init(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            report_error(&format!("cannot start the async runtime: {e}"), json);
            return std::process::ExitCode::from(1);
        }
    };
    let json = cli.global.output == crate::report::Output::Json;
    let result = runtime.block_on(async {
        crate::interrupt::install();
        crate::commands::run(cli).await
    });
    // A prompt's reader may still wait on stdin after a signal: do not wait for it.
    runtime.shutdown_background();
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            report_error(&format!("{e:#}"), json);
            std::process::ExitCode::from(1)
        }
    }
}
