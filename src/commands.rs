//! What each command does, from parsed flags to an exit code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::aws::{self, Clients, Connection};
use crate::cli::{Cli, Command, Global};
use crate::config::Config;
use crate::engine::{self, Action};
use crate::report::{self, Output};
use crate::resources::Ctx;
use crate::saved_plan::SavedPlan;
use crate::stack::{self, Code, Part, Stack};
use crate::state::{Backend, State, StateLock, Store};

/// Exit codes: success, error, "something to do / not in sync".
pub const EXIT_OK: u8 = 0;
pub const EXIT_ERROR: u8 = 1;
pub const EXIT_CHANGES: u8 = 2;

/// True when stderr may carry colour: a terminal, and `NO_COLOR` unset (https://no-color.org).
pub fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `-v` → info, `-vv` → debug; `RUST_LOG` wins when set.
pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "secauto=info",
        _ => "secauto=debug,aws_config=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour())
        .with_target(false)
        .try_init();
}

/// Run one command.
pub async fn run(cli: Cli) -> Result<u8> {
    let g = cli.global;
    match cli.command {
        Command::Init { force } => init(&g, force),
        Command::Build { bootstrap, profile } => build(&g, bootstrap, &profile),
        Command::Simulate { files } => crate::simulate::run(&g, &files),
        Command::Validate => validate(&g),
        Command::Dist {
            bootstrap,
            profile,
            out,
        } => dist(&g, bootstrap, &profile, &out),
        Command::Completions { shell } => completions(shell),
        // Boxed: each command's future is large, and lives on the heap rather than the stack.
        Command::Plan { out } => Box::pin(plan(&g, out.as_deref())).await,
        Command::Status => Box::pin(status(&g)).await,
        Command::Deploy { adopt, plan } => Box::pin(deploy(&g, adopt, plan.as_deref())).await,
        Command::Destroy { yes } => Box::pin(destroy(&g, yes)).await,
        Command::Unlock { id } => Box::pin(unlock(&g, &id)).await,
    }
}

/// What a config file is required for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Commands that reach AWS: no file found is an error, never a silent default stack.
    File,
    /// Local commands (build, simulate): the defaults will do.
    Defaults,
}

/// The config: `--config` (or `SECAUTO_CONFIG`), else `./secauto.toml`; then the flags.
pub fn load_config(g: &Global, need: Need) -> Result<Config> {
    let mut config = match &g.config {
        Some(path) => Config::load(path)?,
        None if Path::new("secauto.toml").exists() => Config::load(Path::new("secauto.toml"))?,
        None if need == Need::Defaults => Config::default(),
        None => anyhow::bail!(
            "no config: there is no secauto.toml in {} and neither --config nor SECAUTO_CONFIG names one. Run `secauto init` to write one, or pass --config <file> (secauto never deploys or destroys a default stack by accident)",
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| "this directory".into())
        ),
    };
    let origin = g
        .config
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "command line".into());
    if let Some(name) = &g.stack {
        config.stack.name = name.clone();
    }
    // An installed bundle (`secauto dist`) keeps its zips next to the executable: use them when
    // the config does not say where bundles are and this directory has none of its own.
    let default_dir = crate::config::LambdaConfig::default().artifacts_dir;
    if need == Need::File
        && config.lambda.artifacts_dir == default_dir
        && !Path::new(&default_dir).exists()
    {
        if let Some(dir) = crate::dist::bundled_artifacts_dir() {
            config.lambda.artifacts_dir = dir.display().to_string();
        }
    }
    if let Some(region) = &g.region {
        config.stack.region = Some(region.clone());
    }
    if let Some(arn) = &g.role_arn {
        config.stack.role_arn = Some(arn.clone());
    }
    if let Some(id) = &g.external_id {
        config.stack.external_id = Some(id.clone());
    }
    config.validate(&origin)?;
    Ok(config)
}

fn init(g: &Global, force: bool) -> Result<u8> {
    let path = g
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("secauto.toml"));
    if path.exists() && !force {
        anyhow::bail!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        );
    }
    std::fs::write(&path, crate::config::TEMPLATE)
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(EXIT_OK)
}

fn completions(shell: clap_complete::Shell) -> Result<u8> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "secauto", &mut std::io::stdout());
    Ok(EXIT_OK)
}

/// `secauto validate`: the config and the whole graph it makes, offline.
fn validate(g: &Global) -> Result<u8> {
    let config = load_config(g, Need::File)?;
    let region = config
        .stack
        .region
        .clone()
        .unwrap_or_else(|| "us-east-1".into());
    // A fleet: the administrator's graph, and a member's, each for its first region.
    let (part, member, region) = match config.targets.first() {
        None => (Part::Alone, None, region),
        Some(_) => {
            let home = config
                .targets
                .iter()
                .find(|t| t.role == crate::config::TargetRole::Administrator)
                .map(|t| t.regions[0].clone())
                .unwrap_or(region);
            let fleet = stack::Fleet {
                administrator: "000000000000".into(),
                home_region: home.clone(),
                coverage: Default::default(),
                external_id: "validate".into(),
            };
            let member = stack::build_part(
                &config,
                "000000000000",
                &home,
                Code::NotNeeded,
                &Part::Member(fleet.clone()),
            )?;
            (Part::Administrator(fleet), Some(member), home)
        }
    };
    let stack = stack::build_part(&config, "000000000000", &region, Code::NotNeeded, &part)?;
    let bundles = stack::build_part(&config, "000000000000", &region, Code::Required, &part).err();
    let fleet = member.as_ref().map(|m| {
        format!(
            "; a fleet of {} account-regions, each member stack {} resources",
            config
                .targets
                .iter()
                .map(|t| t.regions.len())
                .sum::<usize>(),
            m.resources.len()
        )
    });
    let origin = g
        .config
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "secauto.toml".into());
    match g.output {
        Output::Json => print_json(&serde_json::json!({
            "format_version": report::FORMAT_VERSION,
            "config": origin,
            "valid": true,
            "stack": stack.name,
            "resources": stack.resources.len(),
            "targets": config.targets.iter().map(|t| t.regions.len()).sum::<usize>(),
            "member_resources": member.as_ref().map(|m| m.resources.len()),
            "state": state_backend(g, &config, &region)?.describe(),
            "bundles": bundles.as_ref().map_or("ok".to_string(), |e| e.to_string()),
            "warnings": stack.warnings,
        }))?,
        _ => {
            for w in &stack.warnings {
                eprintln!("warning: {w}");
            }
            println!(
                "{origin} is valid: stack {} with {} resources, state {}{}",
                stack.name,
                stack.resources.len(),
                state_backend(g, &config, &region)?.describe(),
                fleet.unwrap_or_default()
            );
            if let Some(e) = bundles {
                println!("note: deploy needs the handler bundles first: {e}");
            }
        }
    }
    Ok(EXIT_OK)
}

fn dist(g: &Global, bootstrap: Option<PathBuf>, profile: &str, out: &Path) -> Result<u8> {
    let config = load_config(g, Need::Defaults)?;
    let binary = match bootstrap {
        Some(b) => b,
        None => build_handlers(profile)?,
    };
    let artifacts = Path::new(&config.lambda.artifacts_dir);
    crate::bundle::write_bundles(&binary, artifacts)?;
    let path = crate::dist::write(artifacts, out)?;
    if g.output == Output::Json {
        print_json(&serde_json::json!({
            "format_version": report::FORMAT_VERSION,
            "bundle": path,
        }))?;
    } else {
        println!("{}", path.display());
    }
    Ok(EXIT_OK)
}

fn build(g: &Global, bootstrap: Option<PathBuf>, profile: &str) -> Result<u8> {
    let config = load_config(g, Need::Defaults)?;
    let binary = match bootstrap {
        Some(b) => b,
        None => build_handlers(profile)?,
    };
    let written = crate::bundle::write_bundles(&binary, Path::new(&config.lambda.artifacts_dir))?;
    match g.output {
        Output::Json => print_json(&serde_json::json!({
            "format_version": report::FORMAT_VERSION,
            "bundles": written,
        }))?,
        Output::Text | Output::Markdown => {
            for w in &written {
                println!(
                    "{} {} ({} bytes, sha256 {})",
                    if w.changed { "wrote" } else { "unchanged" },
                    w.path.display(),
                    w.bytes,
                    w.code_sha256
                );
            }
        }
    }
    Ok(EXIT_OK)
}

/// Build the workspace's handlers package with `profile` and return its `bootstrap` binary.
fn build_handlers(profile: &str) -> Result<PathBuf> {
    if !Path::new("handlers/lambda/Cargo.toml").exists() {
        anyhow::bail!(
            "this directory has no handlers package (handlers/lambda/Cargo.toml) to build: run secauto build from the secauto source tree, or pass --bootstrap <file> with a Linux executable built for provided.al2023"
        );
    }
    let args = cargo_build_args(profile);
    eprintln!(
        "building the handlers (cargo {}); a clean build takes several minutes",
        args.join(" ")
    );
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(&args)
            .status()
            .context("cannot run cargo to build the handlers")?;
    if !status.success() {
        anyhow::bail!("building the handlers failed ({status})");
    }
    Ok(profile_dir(profile).join("bootstrap"))
}

/// The cargo invocation that builds the handlers' `bootstrap` with `profile`.
pub fn cargo_build_args(profile: &str) -> Vec<String> {
    [
        "build",
        "--profile",
        profile,
        "-p",
        "secauto-handlers",
        "--bin",
        "bootstrap",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Where cargo puts what `profile` builds: `dev` and `test` go to `debug`, `release` and `bench`
/// to `release`, any other profile to its own name. `CARGO_TARGET_DIR` is honoured.
pub fn profile_dir(profile: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    let dir = match profile {
        "dev" | "test" => "debug",
        "release" | "bench" => "release",
        other => other,
    };
    target.join(dir)
}

/// Everything a command that talks to AWS needs.
struct Session {
    ctx: Ctx,
    stack: Stack,
    store: Store,
}

/// What a command found or did, in every output form, and its exit code.
pub struct Report {
    pub code: u8,
    pub json: serde_json::Value,
    pub text: String,
    pub markdown: String,
}

impl Report {
    fn interrupted(text: String) -> Report {
        Report {
            code: crate::interrupt::EXIT_INTERRUPTED,
            json: serde_json::json!({"format_version": report::FORMAT_VERSION, "interrupted": true}),
            markdown: text.clone(),
            text,
        }
    }

    /// Print the form `output` asks for; the exit code.
    fn print(&self, output: Output) -> Result<u8> {
        match output {
            Output::Json => print_json(&self.json)?,
            Output::Text => print!("{}", self.text),
            Output::Markdown => print!("{}", self.markdown),
        }
        Ok(self.code)
    }
}

/// A command that runs against every stack of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Plan,
    Status,
    Deploy { adopt: bool },
    Destroy,
}

impl Job {
    pub fn as_str(self) -> &'static str {
        match self {
            Job::Plan => "plan",
            Job::Status => "status",
            Job::Deploy { .. } => "deploy",
            Job::Destroy => "destroy",
        }
    }
}

/// Where the state lives: `--state` (a path or s3://bucket/key), else `[state]`, else the local default.
fn state_backend(g: &Global, config: &Config, region: &str) -> Result<Backend> {
    if let Some(spec) = &g.state {
        return Backend::parse(spec);
    }
    let st = &config.state;
    Ok(match st.backend {
        crate::config::StateBackend::Local => Backend::Local(
            st.path
                .as_ref()
                .map(PathBuf::from)
                .unwrap_or_else(|| crate::state::default_path(&config.stack.name, region)),
        ),
        crate::config::StateBackend::S3 => Backend::S3 {
            bucket: st.bucket.clone().unwrap_or_default(),
            key: st
                .key
                .clone()
                .unwrap_or_else(|| format!("secauto/{}/{region}.json", config.stack.name)),
            region: st.region.clone(),
            kms_key: st.kms_key.clone(),
        },
    })
}

/// Connect, find the account, open the state and build the graph of `config`'s stack. `in_fleet`:
/// the state is kept per account and region (`<stack>/<account>/<region>.json`).
async fn session(
    g: &Global,
    config: &Config,
    code: Code,
    part: &Part,
    in_fleet: bool,
) -> Result<Session> {
    // Validate the whole graph (names, lengths, bundles) before any API call.
    stack::build_part(
        config,
        "000000000000",
        config.stack.region.as_deref().unwrap_or("us-east-1"),
        code,
        part,
    )?;
    let conn = Connection {
        region: config.stack.region.clone(),
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
        endpoints: config.endpoints.clone(),
        calls: config.aws.clone(),
        role: config.stack.role_arn.clone().map(|arn| aws::AssumedRole {
            arn,
            external_id: config.stack.external_id.clone(),
            session_name: format!("secauto-{}", config.stack.name),
        }),
    };
    let sdk = aws::load(&conn).await?;
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    if !crate::config::is_region(&region) {
        anyhow::bail!("region {region:?} is not an AWS region name (like \"eu-west-1\")");
    }
    let clients = Clients::new(&sdk, &conn);
    let account = aws::account_id(&clients.sts).await?;
    let backend = match state_backend(g, config, &region)? {
        // Another account's stack, or one of a fleet, keeps its own state:
        // `.secauto/<stack>/<account>/<region>.json`.
        Backend::Local(_)
            if (conn.role.is_some() || in_fleet)
                && g.state.is_none()
                && config.state.path.is_none() =>
        {
            Backend::Local(crate::state::account_path(
                &config.stack.name,
                &account,
                &region,
            ))
        }
        Backend::S3 {
            bucket,
            region: r,
            kms_key,
            ..
        } if in_fleet => Backend::S3 {
            bucket,
            key: format!("secauto/{}/{account}/{region}.json", config.stack.name),
            region: r,
            kms_key,
        },
        other => other,
    };
    let s3 = match &backend {
        Backend::S3 { region: r, .. } => Some(aws::s3_client(&sdk, &conn, r.as_deref())),
        Backend::Local(_) => None,
    };
    let store = Store::open(&backend, s3)?;
    let stack = stack::build_part(config, &account, &region, code, part)?;
    for w in &stack.warnings {
        eprintln!("warning: {w}");
    }
    let mut ctx = Ctx::new(
        clients,
        &stack.name,
        &stack.region,
        stack.tags.clone(),
        std::time::Duration::from_secs(config.lambda.role_propagation_timeout_seconds),
    );
    ctx.parallelism = usize::from(g.parallelism);
    ctx.member = matches!(part, Part::Member(_));
    Ok(Session { ctx, stack, store })
}

impl Session {
    async fn load_state(&self) -> Result<State> {
        self.store
            .load(&self.stack.name, &self.stack.region, &self.stack.account)
            .await
    }

    async fn lock(&self, g: &Global, command: &str) -> Result<StateLock> {
        self.store
            .lock(command, std::time::Duration::from_secs(g.lock_timeout))
            .await
    }
}

/// Run `work` under `lock`, then release the lock whatever happened — also when a second signal
/// abandons the work in flight (everything completed is already in the state).
async fn locked<F: std::future::Future<Output = Result<Report>>>(
    lock: StateLock,
    work: F,
) -> Result<Report> {
    let result = tokio::select! {
        r = work => r,
        _ = crate::interrupt::abandoned() => Ok(Report::interrupted("interrupted\n".into())),
    };
    lock.release().await;
    match result {
        Ok(mut r) if crate::interrupt::requested() => {
            r.code = crate::interrupt::EXIT_INTERRUPTED;
            Ok(r)
        }
        other => other,
    }
}

/// status and destroy go on without Security Hub: what it would hold cannot exist.
fn warn_securityhub_off(stack: &Stack, plan: &engine::Plan) {
    if !plan.securityhub_off.is_empty() {
        eprintln!(
            "warning: Security Hub is not enabled in account {} region {} (InvalidAccessException): {} cannot exist there",
            stack.account,
            stack.region,
            plan.securityhub_off.join(", ")
        );
    }
}

fn print_json(v: &serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

/// The config of a command that reaches AWS; a fleet's runs go to [`crate::fleet`].
fn aws_config(g: &Global) -> Result<Config> {
    let config = load_config(g, Need::File)?;
    if config.targets.is_empty() && !g.targets.is_empty() {
        anyhow::bail!("--target picks targets of a fleet, and the config has no [[targets]]: remove --target (or SECAUTO_TARGET)");
    }
    Ok(config)
}

async fn plan(g: &Global, out: Option<&Path>) -> Result<u8> {
    let config = aws_config(g)?;
    if !config.targets.is_empty() {
        if out.is_some() {
            anyhow::bail!("plan --out saves the plan of one stack, and this config is a fleet ([[targets]]): plan the fleet without --out, or plan one target's stack from its own config");
        }
        return crate::fleet::run(g, &config, Job::Plan).await;
    }
    let s = session(g, &config, Code::Required, &Part::Alone, false).await?;
    plan_report(&s, out).await?.print(g.output)
}

async fn plan_report(s: &Session, out: Option<&Path>) -> Result<Report> {
    let state = s.load_state().await?;
    let plan = engine::plan_owned(&s.ctx, &s.stack, &state, false).await?;
    if !plan.securityhub_off.is_empty() {
        return Err(engine::securityhub_off_error(
            &s.stack,
            &plan.securityhub_off,
        ));
    }
    if let Some(path) = out {
        SavedPlan::new(&s.stack, &plan).save(path)?;
        eprintln!(
            "saved the plan to {}; `secauto deploy {}` applies exactly it",
            path.display(),
            path.display()
        );
    }
    Ok(Report {
        code: if !plan.conflicts().is_empty() {
            EXIT_ERROR
        } else if plan.has_changes() {
            EXIT_CHANGES
        } else {
            EXIT_OK
        },
        json: report::plan_json(&s.stack, &plan, &state),
        text: report::plan_text(&s.stack, &plan),
        markdown: report::plan_markdown(&s.stack, &plan),
    })
}

async fn status(g: &Global) -> Result<u8> {
    let config = aws_config(g)?;
    if !config.targets.is_empty() {
        return crate::fleet::run(g, &config, Job::Status).await;
    }
    let s = session(g, &config, Code::Required, &Part::Alone, false).await?;
    status_report(&s).await?.print(g.output)
}

async fn status_report(s: &Session) -> Result<Report> {
    let state = s.load_state().await?;
    let plan = engine::plan_owned(&s.ctx, &s.stack, &state, false).await?;
    warn_securityhub_off(&s.stack, &plan);
    let rows = plan.status(&s.stack, &state);
    Ok(Report {
        code: if rows.iter().all(|r| r.status == engine::Status::InSync) {
            EXIT_OK
        } else {
            EXIT_CHANGES
        },
        json: report::status_json(&s.stack, &rows),
        text: report::status_text(&s.stack, &rows),
        markdown: report::status_markdown(&s.stack, &rows),
    })
}

/// Run `job` on one stack of a fleet: no prompt (the fleet asked once), no spinners; the report is
/// returned, not printed.
pub(crate) async fn run_in_fleet(
    g: &Global,
    config: &Config,
    part: &Part,
    job: Job,
) -> Result<Report> {
    let code = if job == Job::Destroy {
        Code::NotNeeded
    } else {
        Code::Required
    };
    let s = session(g, config, code, part, true).await?;
    match job {
        Job::Plan => plan_report(&s, None).await,
        Job::Status => status_report(&s).await,
        Job::Deploy { adopt } => {
            let lock = s.lock(g, "secauto deploy").await?;
            locked(lock, deploy_locked(g, &s, adopt, None, true)).await
        }
        Job::Destroy => {
            let lock = s.lock(g, "secauto destroy").await?;
            locked(lock, destroy_locked(g, &s, true, true)).await
        }
    }
}

async fn deploy(g: &Global, adopt: bool, saved: Option<&Path>) -> Result<u8> {
    // A saved plan is checked for readability before anything else.
    let saved = saved.map(SavedPlan::load).transpose()?;
    let config = aws_config(g)?;
    if !config.targets.is_empty() {
        if saved.is_some() {
            anyhow::bail!("a saved plan is one stack's, and this config is a fleet ([[targets]]): deploy the fleet without a plan file");
        }
        return crate::fleet::run(g, &config, Job::Deploy { adopt }).await;
    }
    let s = session(g, &config, Code::Required, &Part::Alone, false).await?;
    let lock = s.lock(g, "secauto deploy").await?;
    locked(lock, deploy_locked(g, &s, adopt, saved.as_ref(), false))
        .await?
        .print(g.output)
}

async fn deploy_locked(
    g: &Global,
    s: &Session,
    adopt: bool,
    saved: Option<&SavedPlan>,
    in_fleet: bool,
) -> Result<Report> {
    let state = s.load_state().await?;
    let plan = engine::plan_owned(&s.ctx, &s.stack, &state, adopt).await?;
    if !plan.securityhub_off.is_empty() {
        return Err(engine::securityhub_off_error(
            &s.stack,
            &plan.securityhub_off,
        ));
    }
    if let Some(saved) = saved {
        if let Some(why) = saved.stale(&s.stack, &plan) {
            anyhow::bail!(
                "the saved plan (made {}) is stale and was not applied: {why}. Nothing was changed; run `secauto plan --out` again and review the new plan",
                saved.created
            );
        }
    }
    if g.output == Output::Text && plan.has_changes() && !in_fleet {
        print!("{}", report::plan_text(&s.stack, &plan));
    }
    let progress = report::progress(g.output, g.no_progress || in_fleet);
    let (outcome, _state) =
        engine::apply(&s.ctx, &s.stack, &plan, state, &s.store, progress.as_ref()).await;
    let unchanged = outcome.count(Action::Noop);
    Ok(Report {
        code: if outcome.errors.is_empty() {
            EXIT_OK
        } else {
            EXIT_ERROR
        },
        json: report::outcome_json(&s.stack, &outcome, unchanged),
        text: report::outcome_text("Deploy", &outcome, unchanged),
        markdown: report::outcome_markdown("Deploy", &s.stack, &outcome, unchanged),
    })
}

async fn unlock(g: &Global, id: &str) -> Result<u8> {
    let config = aws_config(g)?;
    if !config.targets.is_empty() {
        anyhow::bail!("unlock breaks one stack's lock, and this config is a fleet: run it with a config of the locked target's stack (its [stack] role_arn and region), or wait for the lock's run to end");
    }
    let s = session(g, &config, Code::NotNeeded, &Part::Alone, false).await?;
    let holder = s.store.unlock(id).await?;
    eprintln!(
        "unlocked {}: the lock of `{}` (pid {} on {}, since {}) is gone",
        s.store.describe(),
        holder.command,
        holder.pid,
        holder.host,
        holder.since
    );
    Ok(EXIT_OK)
}

async fn destroy(g: &Global, yes: bool) -> Result<u8> {
    let config = aws_config(g)?;
    if !config.targets.is_empty() {
        if !yes {
            crate::fleet::confirm_destroy(&config)?;
        }
        return crate::fleet::run(g, &config, Job::Destroy).await;
    }
    let s = session(g, &config, Code::NotNeeded, &Part::Alone, false).await?;
    let lock = s.lock(g, "secauto destroy").await?;
    locked(lock, destroy_locked(g, &s, yes, false))
        .await?
        .print(g.output)
}

async fn destroy_locked(g: &Global, s: &Session, yes: bool, in_fleet: bool) -> Result<Report> {
    let state = s.load_state().await?;
    // The reads, the sweep and the search for unnamed keys go out together.
    // The plan's reads and sweep (and, for a key the state does not record, the search for one a
    // stopped run left unnamed) go out together.
    let plan = engine::plan_owned(&s.ctx, &s.stack, &state, false).await?;
    // Only a run stopped between CreateKey and CreateAlias leaves an unnamed key, and the next
    // deploy names it: while the stack's alias names its key, there is none to look for.
    let named = plan
        .items
        .iter()
        .any(|p| p.kind == crate::resources::Kind::KmsKey && p.live.is_some());
    let orphan_keys = if s.ctx.member || named {
        Vec::new()
    } else {
        crate::resources::kms_key::orphans(&s.ctx)
            .await
            .context("could not search for keys a stopped run left unnamed")?
    };
    warn_securityhub_off(&s.stack, &plan);
    let owned: Vec<&str> = plan
        .items
        .iter()
        .filter(|p| {
            p.in_state || p.record.is_some() || (p.live.is_some() && p.action != Action::Conflict)
        })
        .map(|p| p.address.as_str())
        .collect();
    if !yes {
        if !std::io::stdin().is_terminal() {
            anyhow::bail!("destroy deletes {} resources of stack {}; pass --yes to confirm when stdin is not a terminal", owned.len(), s.stack.name);
        }
        eprintln!(
            "This deletes {} resources of stack {} in {} (account {}):",
            owned.len(),
            s.stack.name,
            s.stack.region,
            s.stack.account
        );
        for a in &owned {
            eprintln!("  - {a}");
        }
        eprint!("Type the stack name to confirm: ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if answer.trim() != s.stack.name {
            eprintln!("Not confirmed; nothing was deleted.");
            return Ok(Report {
                code: EXIT_ERROR,
                json: serde_json::json!({"format_version": report::FORMAT_VERSION, "confirmed": false}),
                text: String::new(),
                markdown: String::new(),
            });
        }
    }
    let progress = report::progress(g.output, g.no_progress || in_fleet);
    let (mut outcome, state) = engine::destroy(
        &s.ctx,
        &s.stack,
        &plan,
        orphan_keys,
        state,
        &s.store,
        progress.as_ref(),
    )
    .await;
    if crate::interrupt::requested() {
        return Ok(Report::interrupted(report::outcome_text(
            "Destroy", &outcome, 0,
        )));
    }
    // Nothing of ours may be left, but SQS lists a deleted queue for up to 60 seconds: a queue
    // this run deleted is "being deleted", not left. The sweep finds whatever of ours is left (and
    // a child cannot outlive its parent); what it cannot find is read back, at the same time.
    let unswept = Stack {
        resources: s
            .stack
            .resources
            .iter()
            .filter(|r| !engine::sweep::finds(r.spec.kind()))
            .cloned()
            .collect(),
        ..s.stack.clone()
    };
    // After a destroy nothing is known: every candidate's tags are read.
    let nothing = engine::sweep::Known::default();
    let (after, left) = futures::join!(
        engine::plan(&s.ctx, &unswept, &state, false),
        engine::sweep::find(&s.ctx, &nothing)
    );
    for p in &after?.items {
        if p.live.is_some() && p.action != Action::Conflict {
            if outcome.lingers(p.kind) {
                if !in_fleet {
                    eprintln!(
                        "note: {} is being deleted (SQS lists a deleted queue for up to 60 seconds)",
                        p.address
                    );
                }
            } else {
                outcome
                    .errors
                    .push(format!("{} still exists after destroy", p.address));
            }
        }
    }
    match left {
        Ok(left) => {
            let lingering: Vec<_> = left
                .into_iter()
                .filter(|l| !outcome.lingers(l.kind))
                .collect();
            outcome.errors.extend(lingering.into_iter().map(|l| {
                format!(
                    "{} {} (tagged {}={}) still exists after destroy",
                    l.kind,
                    l.physical_id,
                    crate::resources::STACK_TAG,
                    s.stack.name
                )
            }))
        }
        Err(e) => outcome
            .errors
            .push(format!("cannot check that nothing is left: {e:#}")),
    }
    let mut text = String::new();
    for p in plan.conflicts() {
        text.push_str(&format!(
            "left alone {}: {}\n",
            p.address,
            p.reason.as_deref().unwrap_or("not ours")
        ));
    }
    text.push_str(&report::outcome_text("Destroy", &outcome, 0));
    Ok(Report {
        code: if outcome.errors.is_empty() {
            EXIT_OK
        } else {
            EXIT_ERROR
        },
        json: report::outcome_json(&s.stack, &outcome, 0),
        text,
        markdown: report::outcome_markdown("Destroy", &s.stack, &outcome, 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_honours_the_profile() {
        for profile in ["dev", "release", "lambda-release"] {
            let args = cargo_build_args(profile);
            let i = args.iter().position(|a| a == "--profile").unwrap();
            assert_eq!(args[i + 1], profile);
        }
        if std::env::var_os("CARGO_TARGET_DIR").is_none() {
            assert_eq!(profile_dir("dev"), PathBuf::from("target/debug"));
            assert_eq!(profile_dir("release"), PathBuf::from("target/release"));
            assert_eq!(
                profile_dir("lambda-release"),
                PathBuf::from("target/lambda-release")
            );
        }
    }
}
