//! Command line: subcommands and global flags (accepted before or after the subcommand).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Output;

/// Deploy, reconcile, report and destroy an event-driven AWS security-response stack.
#[derive(Debug, Parser)]
#[command(name = "secauto", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Config file [default: secauto.toml when present, else built-in defaults]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Stack name (overrides [stack] name)
    #[arg(long, global = true, value_name = "NAME")]
    pub stack: Option<String>,
    /// AWS region (overrides [stack] region and AWS_REGION)
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS profile from the shared config files
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Endpoint URL for every service (emulators); AWS_ENDPOINT_URL_<SERVICE> and [endpoints] beat it
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// State file [default: .secauto/<stack>.json]
    #[arg(long, global = true, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub output: Output,
    /// No spinners or progress lines
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// More logging (-v info, -vv debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or reconcile every resource of the stack, in dependency order
    Deploy {
        /// Take over live resources with our names that lack the stack tag (tags them)
        #[arg(long)]
        adopt: bool,
    },
    /// Show what deploy would change; exit 0 no changes, 2 changes pending, 1 error
    Plan,
    /// Read every resource and report in sync, drifted, missing or unmanaged; exit 0 all in sync, 2 otherwise
    Status,
    /// Delete every resource the stack owns, in reverse dependency order
    Destroy {
        /// Do not ask for confirmation (needed when stdin is not a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Bundle the handler binary as <artifacts_dir>/<function>/bootstrap.zip, deterministically
    Build {
        /// A prebuilt Linux `bootstrap` executable to bundle instead of building the handlers package
        #[arg(long, value_name = "FILE")]
        bootstrap: Option<PathBuf>,
        /// Cargo profile for the handlers: `lambda-release` (small, optimised; a clean build takes
        /// ~16 minutes on 2 cores) or `dev` (fast to build, large; fine for emulators)
        #[arg(long, default_value = "lambda-release", value_parser = ["lambda-release", "release", "dev"])]
        profile: String,
    },
    /// Run the triage policy offline on finding files or EventBridge event files, and print each
    /// finding's decided action and the rule that matched
    Simulate {
        /// `{"Findings": [...]}` files, single findings, or EventBridge envelopes
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Write a commented secauto.toml with every setting and its default
    Init {
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
}
