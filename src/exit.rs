//! What a command comes to: its exit code, and its report in every output form.

use std::io::Write;

use anyhow::Result;

use crate::report::{self, Output};

/// Success.
pub const EXIT_OK: u8 = 0;
/// An error: nothing, or not everything, was done.
pub const EXIT_ERROR: u8 = 1;
/// Something to do, or not in sync (plan, status).
pub const EXIT_CHANGES: u8 = 2;
/// Stopped by SIGINT or SIGTERM.
pub use crate::interrupt::EXIT_INTERRUPTED;

/// What a command found or did, in every output form, and its exit code.
pub struct Report {
    pub code: u8,
    pub json: serde_json::Value,
    pub text: String,
    pub markdown: String,
}

impl Report {
    /// A run stopped by a signal; `text` says what was done before it stopped.
    pub fn interrupted(text: String) -> Report {
        Report {
            code: EXIT_INTERRUPTED,
            json: serde_json::json!({"format_version": report::FORMAT_VERSION, "interrupted": true}),
            markdown: text.clone(),
            text,
        }
    }

    /// Print the form `output` asks for; the exit code.
    pub fn print(&self, output: Output) -> Result<u8> {
        match output {
            Output::Json => print_json(&self.json)?,
            Output::Text => print!("{}", self.text),
            Output::Markdown => print!("{}", self.markdown),
        }
        Ok(self.code)
    }
}

/// A JSON document on stdout, pretty and newline-terminated.
pub fn print_json(v: &serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}
