//! One target's run: its config (the file, then the flags), credentials, account, region, state
//! backend and lock. A single stack's commands open one session; a fleet opens one per target.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::aws::{self, Clients, Connection};
use crate::cli::Global;
use crate::config::{Config, StateBackend};
use crate::exit::Report;
use crate::resources::Ctx;
use crate::stack::{self, Code, Part, Stack};
use crate::state::{Backend, State, StateLock, Store};

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
    let origin = origin(g, "command line");
    config.validate(&origin)?;
    tracing::debug!(config = %origin, stack = %config.stack.name, "config loaded");
    Ok(config)
}

/// How the config is named in messages: its path, or `fallback`.
pub fn origin(g: &Global, fallback: &str) -> String {
    g.config
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| fallback.into())
}

/// The config of a command that reaches AWS. `--target` and `--state` are checked against the
/// fleet here, before any call.
pub fn aws_config(g: &Global) -> Result<Config> {
    let config = load_config(g, Need::File)?;
    if config.targets.is_empty() && !g.targets.is_empty() {
        anyhow::bail!("--target picks targets of a fleet, and the config has no [[targets]]: remove --target (or SECAUTO_TARGET)");
    }
    Ok(config)
}

/// Where the state lives: `--state` (a path or s3://bucket/key), else `[state]`, else the local
/// default. `account`: a stack of a fleet, or in another account (`role_arn`), keeps its state per
/// account and region where no path or key is set (in a bucket, a fleet's only).
pub fn state_backend(
    g: &Global,
    config: &Config,
    region: &str,
    account: Option<(&str, bool)>,
) -> Result<Backend> {
    if let Some(spec) = &g.state {
        // `--state` says where; `[state] region` and `kms_key` still say how the bucket is reached
        // and its objects written.
        return Ok(match Backend::parse(spec)? {
            Backend::S3 { bucket, key, .. } => Backend::S3 {
                bucket,
                key,
                region: config.state.region.clone(),
                kms_key: config.state.kms_key.clone(),
            },
            local => local,
        });
    }
    let st = &config.state;
    let name = &config.stack.name;
    Ok(match st.backend {
        StateBackend::Local => Backend::Local(match (&st.path, account) {
            (Some(path), _) => PathBuf::from(path),
            (None, Some((account, _))) => crate::state::account_path(name, account, region),
            (None, None) => crate::state::default_path(name, region),
        }),
        StateBackend::S3 => Backend::S3 {
            bucket: st.bucket.clone().unwrap_or_default(),
            key: match (&st.key, account) {
                (Some(key), _) => key.clone(),
                (None, Some((account, true))) => format!("secauto/{name}/{account}/{region}.json"),
                (None, _) => format!("secauto/{name}/{region}.json"),
            },
            region: st.region.clone(),
            kms_key: st.kms_key.clone(),
        },
    })
}

/// Everything a command that talks to AWS needs for one stack.
pub struct Session {
    pub ctx: Ctx,
    pub stack: Stack,
    pub store: Store,
}

impl Session {
    /// Connect, find the account, open the state and build the graph of `config`'s stack; the
    /// graph is checked for the region the run resolves before any API call. `in_fleet`: the state
    /// is kept per account and region (`<stack>/<account>/<region>.json`). Only reads: a signal
    /// meanwhile stops it with [`crate::interrupt::Interrupted`].
    pub async fn open(
        g: &Global,
        config: &Config,
        code: Code,
        part: &Part,
        in_fleet: bool,
    ) -> Result<Session> {
        let opening = Self::connect(g, config, code, part, in_fleet);
        match crate::interrupt::unless_signalled(opening).await? {
            Some(s) => Ok(s),
            None => Err(crate::interrupt::Interrupted.into()),
        }
    }

    async fn connect(
        g: &Global,
        config: &Config,
        code: Code,
        part: &Part,
        in_fleet: bool,
    ) -> Result<Session> {
        let conn = connection(g, config);
        let sdk = aws::load(&conn).await?;
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        if !crate::config::is_region(&region) {
            anyhow::bail!("region {region:?} is not an AWS region name (like \"eu-west-1\")");
        }
        // The whole graph (names, lengths, bundles) is checked before any API call.
        stack::build_part(config, "000000000000", &region, code, part)?;
        let clients = Clients::new(&sdk, &conn);
        let account = aws::account_id(&clients.sts).await?;
        let per_account = (conn.role.is_some() || in_fleet).then_some((&*account, in_fleet));
        let backend = state_backend(g, config, &region, per_account)?;
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
            Duration::from_secs(config.lambda.role_propagation_timeout_seconds),
        );
        ctx.parallelism = usize::from(g.parallelism);
        ctx.member = matches!(part, Part::Member(_));
        Ok(Session { ctx, stack, store })
    }

    /// The state as the backend holds it.
    pub async fn load_state(&self) -> Result<State> {
        self.store
            .load(&self.stack.name, &self.stack.region, &self.stack.account)
            .await
    }

    /// Take the state's lock for `command`, waiting up to `--lock-timeout`.
    pub async fn lock(&self, g: &Global, command: &str) -> Result<StateLock> {
        self.store
            .lock(command, Duration::from_secs(g.lock_timeout))
            .await
    }
}

/// How to reach AWS for `config`'s stack: the flags, `[endpoints]`, `[aws]` and the role.
pub fn connection(g: &Global, config: &Config) -> Connection {
    Connection {
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
    }
}

/// Run `work` under `lock`, then release the lock whatever happened — also when a second signal
/// abandons the work in flight (everything completed is already in the state).
pub async fn locked<F: std::future::Future<Output = Result<Report>>>(
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
            r.code = crate::exit::EXIT_INTERRUPTED;
            Ok(r)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// `--state s3://…` says where; `[state] region` and `kms_key` still say how it is reached.
    #[test]
    fn a_state_flag_keeps_the_configs_region_and_key() {
        let cli = crate::cli::Cli::try_parse_from([
            "secauto",
            "--state",
            "s3://other-bucket/prod.json",
            "validate",
        ])
        .unwrap();
        let config = Config::parse(
            "[stack]\nname = \"sec\"\n\n[state]\nbackend = \"s3\"\nbucket = \"state-bucket\"\nregion = \"eu-west-3\"\nkms_key = \"arn:aws:kms:eu-west-3:111111111111:key/k\"\n",
            "secauto.toml",
        )
        .unwrap();
        let backend = state_backend(&cli.global, &config, "us-east-1", None).unwrap();
        let Backend::S3 {
            bucket,
            region,
            kms_key,
            ..
        } = backend
        else {
            panic!("{backend:?}")
        };
        assert_eq!(bucket, "other-bucket");
        assert_eq!(region.as_deref(), Some("eu-west-3"));
        assert!(kms_key.is_some());
    }
}
