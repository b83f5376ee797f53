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

/// Flags every command takes; each can also come from a `SECAUTO_*` environment variable (the
/// flag wins).
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Config file [default: ./secauto.toml; a run that reaches AWS refuses to start without one]
    #[arg(long, global = true, value_name = "FILE", env = "SECAUTO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Stack name (overrides [stack] name)
    #[arg(long, global = true, value_name = "NAME", env = "SECAUTO_STACK")]
    pub stack: Option<String>,
    /// AWS region (overrides [stack] region and AWS_REGION)
    #[arg(long, global = true, env = "SECAUTO_REGION")]
    pub region: Option<String>,
    /// Make every call with credentials from assuming this role (the stack's account is the role's)
    /// (overrides [stack] role_arn)
    #[arg(long, global = true, value_name = "ARN", env = "SECAUTO_ROLE_ARN")]
    pub role_arn: Option<String>,
    /// External id to pass when assuming --role-arn (overrides [stack] external_id)
    #[arg(long, global = true, value_name = "ID", env = "SECAUTO_EXTERNAL_ID")]
    pub external_id: Option<String>,
    /// AWS profile from the shared config files (SSO, credential_process and role profiles work)
    #[arg(long, global = true, env = "SECAUTO_PROFILE")]
    pub profile: Option<String>,
    /// Endpoint URL for every service (emulators); AWS_ENDPOINT_URL_<SERVICE> and [endpoints] beat it
    #[arg(long, global = true, value_name = "URL", env = "SECAUTO_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// With [[targets]]: run only these targets, `ACCOUNT` or `ACCOUNT/REGION` (repeatable)
    #[arg(
        long = "target",
        global = true,
        value_name = "ACCOUNT[/REGION]",
        env = "SECAUTO_TARGET",
        value_delimiter = ','
    )]
    pub targets: Vec<String>,
    /// State location: a file, or s3://bucket/key (overrides [state])
    /// [default: .secauto/<stack>/<region>.json]
    #[arg(long, global = true, value_name = "FILE|S3_URL", env = "SECAUTO_STATE")]
    pub state: Option<String>,
    /// How long to wait for a state lock another run holds, in seconds (0: fail at once)
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        default_value_t = 0,
        env = "SECAUTO_LOCK_TIMEOUT"
    )]
    pub lock_timeout: u64,
    /// Operations in flight at once (AWS's control-plane APIs throttle bursts; 1–64)
    #[arg(long, global = true, value_name = "N", default_value_t = crate::engine::CONCURRENCY as u16,
          value_parser = clap::value_parser!(u16).range(1..=64), env = "SECAUTO_PARALLELISM")]
    pub parallelism: u16,
    /// Output format: text, json (machines) or markdown (pull-request comments, $GITHUB_STEP_SUMMARY)
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "SECAUTO_OUTPUT"
    )]
    pub output: Output,
    /// No spinners or progress lines (SECAUTO_NO_PROGRESS takes 1/0, true/false, yes/no, on/off)
    #[arg(long, global = true, env = "SECAUTO_NO_PROGRESS",
          value_parser = clap::builder::BoolishValueParser::new())]
    pub no_progress: bool,
    /// More logging (-v info, -vv debug); beats RUST_LOG
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
        /// A plan saved by `secauto plan --out`: apply exactly it, or refuse if the stack or the
        /// config changed since
        #[arg(value_name = "PLAN")]
        plan: Option<PathBuf>,
    },
    /// Show what deploy would change; exit 0 no changes, 2 changes pending, 1 error
    Plan {
        /// Also save the plan as JSON, for `secauto deploy <FILE>`
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Read every resource and report in sync, drifted, missing or unmanaged; exit 0 all in sync, 2 otherwise
    Status,
    /// Prove the deployed path works: a test finding is imported and followed through triage,
    /// remediation (a dry run) and notification, each hop timed; then archived, and everything
    /// verify made removed. Exit 0 when every hop works, 1 otherwise
    Verify {
        /// How long to wait for the whole path, in seconds (Security Hub may take minutes to show
        /// an update, AWS says)
        #[arg(long, value_name = "SECONDS", default_value_t = 180,
              value_parser = clap::value_parser!(u64).range(1..=900))]
        timeout: u64,
    },
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
        /// ~8 minutes on 2 cores) or `dev` (fast to build, large; fine for emulators)
        #[arg(long, default_value = "lambda-release", value_parser = ["lambda-release", "release", "dev"])]
        profile: String,
    },
    /// Make a release bundle (.tar.gz): the CLI, the handler zips, their SHA-256 sums, shell
    /// completions and an example config; deploys from an empty directory with no cargo. Its path
    /// is the last line of output
    Dist {
        /// A prebuilt Linux `bootstrap` executable to bundle instead of building the handlers package
        #[arg(long, value_name = "FILE")]
        bootstrap: Option<PathBuf>,
        /// Cargo profile for the handlers (as for `build`)
        #[arg(long, default_value = "lambda-release", value_parser = ["lambda-release", "release", "dev"])]
        profile: String,
        /// Directory to write the bundle into
        #[arg(long, value_name = "DIR", default_value = "dist")]
        out: PathBuf,
    },
    /// Run the triage policy offline on finding files or EventBridge event files, and print each
    /// finding's decided action and the rule that matched
    Simulate {
        /// `{"Findings": [...]}` files, single findings, or EventBridge envelopes
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Check the config and the graph it makes, offline (no credentials, no API call)
    Validate,
    /// List a fleet's targets; with --output json, one line: the `include` matrix of a CI job per
    /// target (each job runs `--target ACCOUNT/REGION` with its own state)
    Targets,
    /// Break a state lock left by a run that is gone, by the id its error message names
    Unlock {
        /// The lock id (from the "locked by" message)
        #[arg(value_name = "LOCK_ID")]
        id: String,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write a commented secauto.toml with every setting and its default
    Init {
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
}
