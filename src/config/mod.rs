//! `secauto.toml`: the model, its defaults and its validation.
//!
//! Every setting has a working default, but a run that reaches AWS needs a file (or `--config`), so
//! no stack is ever deployed or destroyed by accident from the wrong directory.
//! Unknown keys are rejected (with the line they are on) so a typo never silently falls back to a default.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

mod aws;
mod findings;
mod lambda;
mod monitoring;
mod notifications;
mod remediation;
mod securityhub;
mod stack;
mod state;

pub use aws::{AwsConfig, SERVICES};
pub use findings::{FindingsConfig, TriageConfig, SEVERITIES};
pub use lambda::{EventsConfig, LambdaConfig, ReservedConcurrency};
pub use monitoring::MonitoringConfig;
pub use notifications::NotificationsConfig;
pub use remediation::{RemediationConfig, RemediationMode};
pub use securityhub::{Feed, SecurityHubConfig, FEEDS};
pub use stack::{is_role_arn, role_account, FleetConfig, StackConfig, TargetConfig, TargetRole};
pub use state::{StateBackend, StateConfig};

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub stack: StackConfig,
    pub findings: FindingsConfig,
    pub notifications: NotificationsConfig,
    pub remediation: RemediationConfig,
    pub securityhub: SecurityHubConfig,
    pub monitoring: MonitoringConfig,
    pub lambda: LambdaConfig,
    pub events: EventsConfig,
    pub triage: TriageConfig,
    pub state: StateConfig,
    pub aws: AwsConfig,
    /// `[fleet]`: settings shared by every target of a fleet.
    pub fleet: FleetConfig,
    /// `[[targets]]`: the accounts and regions of a fleet; empty for one stack in one account.
    pub targets: Vec<TargetConfig>,
    /// Per-service endpoint URLs (`iam`, `sns`, `sqs`, `lambda`, `eventbridge`, `ssm`, `securityhub`,
    /// `cloudwatch`, `sts`).
    pub endpoints: BTreeMap<String, String>,
}

/// Everything wrong with a config, all at once.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path} is not valid:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid { path: String, problems: Vec<String> },
}

impl Config {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parse and validate config text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.validate(origin)?;
        Ok(config)
    }

    /// Check every value the file can hold, all problems at once; names are checked against
    /// service limits in `stack`.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let mut p = Vec::new();
        self.stack.check(&mut p);
        self.notifications.check(&mut p);
        self.findings.check(&mut p);
        self.securityhub.check(&mut p);
        self.monitoring.check(&mut p);
        self.lambda.check(&mut p);
        self.events.check(&mut p);
        self.remediation.check(&self.lambda, &mut p);
        self.triage.check(&mut p);
        self.state.check(&mut p);
        self.aws.check(&mut p);
        stack::check_fleet(self, &mut p);
        aws::check_endpoints(&self.endpoints, &mut p);
        if p.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                path: origin.to_string(),
                problems: p,
            })
        }
    }
}

/// A loose check of an AWS region name: `xx-name-N`.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// The commented `secauto.toml` that `secauto init` writes: every setting with its default.
pub const TEMPLATE: &str = include_str!("../../templates/secauto.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::parse("", "t").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.stack.name, "secauto");
    }

    #[test]
    fn template_parses_to_defaults() {
        let c = Config::parse(TEMPLATE, "template").unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn unknown_key_names_line() {
        let err = Config::parse("[stack]\nname = \"a\"\nnmae = \"b\"\n", "x.toml").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("nmae"), "{msg}");
    }

    #[test]
    fn bad_values_all_reported() {
        let err = Config::parse(
            "[stack]\nname = \"Bad_Name\"\n[findings]\nseverities = [\"SEVERE\"]\n[notifications]\nemails = [\"nope\"]\n",
            "x.toml",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("Bad_Name"), "{msg}");
        assert!(msg.contains("SEVERE"), "{msg}");
        assert!(msg.contains("nope"), "{msg}");
    }

    #[test]
    fn feeds_default_both_one_alone_empty_refused() {
        assert_eq!(Config::default().securityhub.feeds, FEEDS.to_vec());
        let c = Config::parse("[securityhub]\nfeeds = [\"ocsf\"]\n", "t").unwrap();
        assert_eq!(c.securityhub.feeds, vec![Feed::Ocsf]);
        let msg = Config::parse("[securityhub]\nfeeds = []\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("feeds is empty") && msg.contains("\"cspm\""),
            "{msg}"
        );
        let msg = Config::parse("[securityhub]\nfeeds = [\"asff\"]\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("cspm") && msg.contains("ocsf"), "{msg}");
        let msg = Config::parse("[securityhub]\nfeeds = [\"cspm\", \"cspm\"]\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("listed twice"), "{msg}");
    }

    #[test]
    fn region_check() {
        assert!(is_region("us-east-1"));
        assert!(is_region("us-gov-west-1"));
        assert!(!is_region("useast1"));
        assert!(!is_region("us-east-x"));
    }
}
