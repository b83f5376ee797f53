//! Log lines on stderr: their level (`-v` first, then `RUST_LOG`) and their colour.

use std::io::IsTerminal;

/// True when stderr may carry colour: a terminal, and `NO_COLOR` unset (https://no-color.org).
pub fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The filter: `-v` → info, `-vv` → debug (the flag wins); without it `RUST_LOG`, else warnings.
pub fn filter(verbose: u8, rust_log: Option<&str>) -> String {
    match (verbose, rust_log) {
        (0, Some(env)) if !env.trim().is_empty() => env.to_string(),
        (0, _) => "warn".into(),
        (1, _) => "warn,secauto=info".into(),
        _ => "warn,secauto=debug,aws_config=info".into(),
    }
}

/// Start logging for the process.
pub fn init(verbose: u8) {
    let directives = filter(verbose, std::env::var("RUST_LOG").ok().as_deref());
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour())
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::filter;

    #[test]
    fn the_flag_beats_rust_log() {
        assert_eq!(filter(1, Some("secauto=trace")), "warn,secauto=info");
        assert_eq!(filter(2, Some("off")), "warn,secauto=debug,aws_config=info");
        assert_eq!(filter(0, Some("secauto=trace")), "secauto=trace");
        assert_eq!(filter(0, None), "warn");
        assert_eq!(filter(0, Some(" ")), "warn");
    }
}
