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
            "format_version": secauto::report::FORMAT_VERSION,
            "error": message,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    }
}

fn main() -> std::process::ExitCode {
    let json = wants_json();
    let cli = match secauto::cli::Cli::try_parse() {
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
    secauto::commands::init_logging(cli.global.verbose);
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
    let json = cli.global.output == secauto::report::Output::Json;
    let result = runtime.block_on(async {
        secauto::interrupt::install();
        secauto::commands::run(cli).await
    });
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            report_error(&format!("{e:#}"), json);
            std::process::ExitCode::from(1)
        }
    }
}
