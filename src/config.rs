//! `secauto.toml`: the model, its defaults and its validation.
//!
//! Every setting has a working default, but a run that reaches AWS needs a file (or `--config`), so
//! no stack is ever deployed or destroyed by accident from the wrong directory.
//! Unknown keys are rejected (with the line they are on) so a typo never silently falls back to a default.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Severity labels of the AWS Security Finding Format.
pub const SEVERITIES: &[&str] = &["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

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

/// `[stack]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StackConfig {
    /// Prefix of every physical name; lowercase letters, digits and hyphens.
    pub name: String,
    pub region: Option<String>,
    /// Extra tags on every taggable resource.
    pub tags: BTreeMap<String, String>,
    /// A role to assume for every call; the stack lives in the role's account.
    pub role_arn: Option<String>,
    /// The external id the role's trust policy asks for.
    pub external_id: Option<String>,
}

impl Default for StackConfig {
    fn default() -> Self {
        StackConfig {
            name: "secauto".into(),
            region: None,
            tags: BTreeMap::new(),
            role_arn: None,
            external_id: None,
        }
    }
}

/// True for `arn:<partition>:iam::<12 digits>:role/<path/><name>`.
pub fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if partition.starts_with("aws")
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|n| !n.is_empty() && !n.ends_with('/')))
}

/// `[[targets]]`: one account of a fleet, in one or more regions.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// `administrator` (the whole stack, in its first region) or `member` (the remediation role
    /// the administrator assumes, and the isolation document).
    pub role: TargetRole,
    /// The role deploy assumes in the account; the caller's own credentials when unset.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// The external id `role_arn`'s trust policy asks for.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The regions of the account; an administrator's first region is the aggregation region.
    pub regions: Vec<String>,
}

/// What a target holds.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum TargetRole {
    Administrator,
    Member,
}

impl TargetRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetRole::Administrator => "administrator",
            TargetRole::Member => "member",
        }
    }
}

/// `[fleet]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    /// The external id the member roles' trust policies ask of the administrator's remediation
    /// function [default: `secauto-<stack>-<administrator account>`].
    pub external_id: Option<String>,
}

/// The account of a role ARN.
pub fn role_account(arn: &str) -> Option<&str> {
    is_role_arn(arn).then(|| arn.split(':').nth(4)).flatten()
}

/// `[state]`: where the record of what the stack owns is kept.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// `local` (a file; the default) or `s3` (shared by every CI runner, locked by conditional writes).
    pub backend: StateBackend,
    /// Local: the file [default: `.secauto/<stack>/<region>.json`].
    pub path: Option<String>,
    /// S3: the bucket (versioning on is recommended).
    pub bucket: Option<String>,
    /// S3: the object key [default: `secauto/<stack>/<region>.json`].
    pub key: Option<String>,
    /// S3: the bucket's region when it is not the stack's.
    pub region: Option<String>,
    /// S3: encrypt the state and its lock with SSE-KMS under this key (id, ARN or alias)
    /// [default: none sent; the bucket's default encryption applies].
    pub kms_key: Option<String>,
}

/// `[state] backend`
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StateBackend {
    #[default]
    Local,
    S3,
}

/// `[aws]`: how hard every API call tries before a run reports it failed.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AwsConfig {
    /// Attempts per API call (throttling, 5xx, timeouts and dropped connections are retried with
    /// exponential backoff and jitter), 1–50.
    pub max_attempts: u32,
    /// Longest backoff between two attempts, in seconds.
    pub max_backoff_seconds: u64,
    /// Time allowed for one attempt, in seconds (a code upload counts as one).
    pub attempt_timeout_seconds: u64,
    /// Time allowed for one call with all its attempts, in seconds.
    pub call_timeout_seconds: u64,
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            max_attempts: 10,
            max_backoff_seconds: 20,
            attempt_timeout_seconds: 120,
            call_timeout_seconds: 600,
        }
    }
}

/// `[findings]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FindingsConfig {
    /// Severity labels the findings rule sends to triage.
    pub severities: Vec<String>,
}

impl Default for FindingsConfig {
    fn default() -> Self {
        FindingsConfig {
            severities: vec!["MEDIUM".into(), "HIGH".into(), "CRITICAL".into()],
        }
    }
}

/// `[notifications]`
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    /// Email addresses subscribed to the topic (each must confirm by mail).
    pub emails: Vec<String>,
    /// HTTPS endpoints subscribed to the topic.
    pub https: Vec<String>,
    /// SQS queue ARNs subscribed to the topic (their queue policy must let the topic send).
    pub sqs: Vec<String>,
    /// KMS key for the topic and the functions' environment: an alias, key id or ARN; the stack's
    /// own key when unset; `alias/aws/sns` opts out to the AWS-managed keys (alarms cannot notify).
    pub kms_key: Option<String>,
}

/// `[remediation]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RemediationConfig {
    pub mode: RemediationMode,
    /// Isolate instances that route traffic (source/destination check off: NAT instances, appliances).
    pub isolate_routing_instances: bool,
    /// Resources never changed, by id or ARN: the authoritative list (anyone who can tag can tag
    /// a resource `secauto:protect=true`, and anyone who can untag can remove it).
    pub protected: Vec<String>,
    /// Tags that protect whatever carries them (`{ env = "prod" }`).
    pub protected_tags: BTreeMap<String, String>,
    /// How long remediation follows the isolation automation before reporting it as still running;
    /// at most the functions' timeout less 10 seconds.
    pub automation_wait_seconds: u64,
}

impl Default for RemediationConfig {
    fn default() -> Self {
        RemediationConfig {
            mode: RemediationMode::default(),
            isolate_routing_instances: false,
            protected: Vec::new(),
            protected_tags: BTreeMap::new(),
            automation_wait_seconds: 45,
        }
    }
}

/// Whether remediation acts or only reports what it would do.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RemediationMode {
    #[default]
    NotifyOnly,
    Enforce,
}

impl RemediationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RemediationMode::NotifyOnly => "notify-only",
            RemediationMode::Enforce => "enforce",
        }
    }
}

/// `[securityhub]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityHubConfig {
    pub automation_rules: bool,
    pub custom_actions: bool,
    /// Prefix of the custom action ids (letters and digits, at most 11); derived from the stack name by default.
    pub action_id_prefix: Option<String>,
}

impl Default for SecurityHubConfig {
    fn default() -> Self {
        SecurityHubConfig {
            automation_rules: true,
            custom_actions: true,
            action_id_prefix: None,
        }
    }
}

/// `[monitoring]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MonitoringConfig {
    pub alarms: bool,
    pub dashboard: bool,
    /// Alarm period in seconds (a multiple of 60).
    pub alarm_period_seconds: i32,
    /// DLQ depth at or above which the DLQ alarm fires.
    pub dlq_depth_threshold: f64,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        MonitoringConfig {
            alarms: true,
            dashboard: true,
            alarm_period_seconds: 300,
            dlq_depth_threshold: 1.0,
        }
    }
}

/// `[lambda]`
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LambdaConfig {
    /// Where `secauto build` writes `<function>/bootstrap.zip`.
    pub artifacts_dir: String,
    pub memory_mb: i32,
    pub timeout_seconds: i32,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// How long deploy keeps retrying while a new IAM role cannot be assumed by Lambda yet.
    pub role_propagation_timeout_seconds: u64,
    /// Async invocation retries before the on-failure destination gets the event (0–2).
    pub async_retry_attempts: i32,
}

impl Default for LambdaConfig {
    fn default() -> Self {
        LambdaConfig {
            artifacts_dir: "target/lambda".into(),
            memory_mb: 256,
            timeout_seconds: 60,
            architecture: "x86_64".into(),
            role_propagation_timeout_seconds: 120,
            async_retry_attempts: 2,
        }
    }
}

/// `[events]`: delivery settings of every EventBridge target.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Retries before an event goes to the DLQ (0–185).
    pub retry_attempts: i32,
    /// Maximum age of an event being retried, in seconds (60–86400).
    pub max_event_age_seconds: i32,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            retry_attempts: 8,
            max_event_age_seconds: 3600,
        }
    }
}

/// `[triage]`: the ordered policy (`[[triage.rules]]`); the built-in default policy when absent.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TriageConfig {
    pub rules: Option<Vec<secauto_core::Rule>>,
}

/// Lambda keeps at most 4 KB of environment variables per function; the policy gets this much.
pub const MAX_POLICY_BYTES: usize = 3 * 1024;

impl TriageConfig {
    /// The policy triage runs.
    pub fn policy(&self) -> secauto_core::Policy {
        match &self.rules {
            Some(rules) => secauto_core::Policy {
                rules: rules.clone(),
            },
            None => secauto_core::Policy::default(),
        }
    }

    /// The policy as the compact JSON passed to the triage function.
    pub fn policy_json(&self) -> String {
        serde_json::to_string(&self.policy()).unwrap_or_default()
    }
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

    /// Check every value the file can hold; names are checked against service limits in `stack`.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let mut p = Vec::new();
        let name = &self.stack.name;
        if name.is_empty() {
            p.push("[stack] name is empty: set it to a short name such as \"secauto\"".to_string());
        } else if !name.starts_with(|c: char| c.is_ascii_lowercase())
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            || name.ends_with('-')
            || name.contains("--")
        {
            p.push(format!(
                "[stack] name {name:?} must start with a lowercase letter and hold only lowercase letters, digits and single hyphens"
            ));
        }
        if let Some(reserved) = ["aws", "amazon", "amzn"]
            .iter()
            .find(|r| name.to_ascii_lowercase().starts_with(*r))
        {
            p.push(format!(
                "[stack] name {name:?} starts with {reserved:?}: SSM refuses document names beginning with aws, amazon or amzn (and KMS aliases beginning with aws); choose another name"
            ));
        }
        if let Some(key) = &self.notifications.kms_key {
            let is_alias = key.starts_with("alias/") && key.len() > "alias/".len();
            let is_arn = key.starts_with("arn:") && key.split(':').nth(2) == Some("kms");
            let is_id = key.len() >= 32
                && key
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == '-' || c == 'm' || c == 'r' || c == 'k');
            if !(is_alias || is_arn || is_id) {
                p.push(format!(
                    "[notifications] kms_key {key:?} is not a KMS key: use an alias (\"alias/my-key\"), a key ARN or a key id; remove it to use the stack's own key"
                ));
            }
        }
        if let Some(arn) = self.stack.role_arn.as_deref().filter(|a| !is_role_arn(a)) {
            p.push(format!(
                "[stack] role_arn {arn:?} is not an IAM role ARN (arn:aws:iam::111111111111:role/secauto-deploy)"
            ));
        }
        if let Some(id) = &self.stack.external_id {
            if id.len() < 2 || id.len() > 1224 || self.stack.role_arn.is_none() {
                p.push(format!(
                    "[stack] external_id {id:?} must be 2–1224 characters and goes with role_arn"
                ));
            }
        }
        if let Some(region) = &self.stack.region {
            if !is_region(region) {
                p.push(format!(
                    "[stack] region {region:?} is not an AWS region name (like \"eu-west-1\")"
                ));
            }
        }
        for (k, v) in &self.stack.tags {
            if k.starts_with("secauto:") {
                p.push(format!(
                    "[stack] tags: {k:?} uses the reserved prefix \"secauto:\""
                ));
            }
            if k.is_empty() || k.len() > 128 || v.len() > 256 || k.starts_with("aws:") {
                p.push(format!(
                    "[stack] tags: {k:?} = {v:?} is not a valid tag (key 1-128 characters not starting with \"aws:\", value at most 256)"
                ));
            }
        }
        if self.stack.tags.len() > 40 {
            p.push("[stack] tags: at most 40 extra tags are allowed".into());
        }
        if self.findings.severities.is_empty() {
            p.push(format!(
                "[findings] severities is empty: list at least one of {}",
                SEVERITIES.join(", ")
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.findings.severities {
            if !SEVERITIES.contains(&s.as_str()) {
                p.push(format!(
                    "[findings] severities: {s:?} is not a severity label; use {}",
                    SEVERITIES.join(", ")
                ));
            } else if !seen.insert(s) {
                p.push(format!("[findings] severities: {s:?} is listed twice"));
            }
        }
        for e in &self.notifications.emails {
            if !is_email(e) {
                p.push(format!(
                    "[notifications] emails: {e:?} is not an email address"
                ));
            }
        }
        for u in &self.notifications.https {
            if !u.starts_with("https://") || u.len() <= "https://".len() || u.contains(' ') {
                p.push(format!(
                    "[notifications] https: {u:?} must be an https:// URL"
                ));
            }
        }
        for a in &self.notifications.sqs {
            let parts: Vec<&str> = a.split(':').collect();
            if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[5].is_empty() {
                p.push(format!(
                    "[notifications] sqs: {a:?} must be a queue ARN (arn:aws:sqs:<region>:<account>:<name>)"
                ));
            }
        }
        if let Some(prefix) = &self.securityhub.action_id_prefix {
            if prefix.is_empty()
                || prefix.len() > 11
                || !prefix.chars().all(|c| c.is_ascii_alphanumeric())
            {
                p.push(format!(
                    "[securityhub] action_id_prefix {prefix:?} must be 1-11 letters or digits (custom action ids are at most 20 alphanumeric characters)"
                ));
            }
        }
        let m = &self.monitoring;
        if m.alarm_period_seconds < 60 || m.alarm_period_seconds % 60 != 0 {
            p.push(format!(
                "[monitoring] alarm_period_seconds = {} must be a multiple of 60, at least 60",
                m.alarm_period_seconds
            ));
        }
        if m.dlq_depth_threshold.is_nan() || m.dlq_depth_threshold < 1.0 {
            p.push("[monitoring] dlq_depth_threshold must be at least 1".into());
        }
        let l = &self.lambda;
        if l.artifacts_dir.is_empty() {
            p.push("[lambda] artifacts_dir is empty".into());
        }
        if !(128..=10240).contains(&l.memory_mb) {
            p.push(format!(
                "[lambda] memory_mb = {} must be between 128 and 10240",
                l.memory_mb
            ));
        }
        if !(1..=900).contains(&l.timeout_seconds) {
            p.push(format!(
                "[lambda] timeout_seconds = {} must be between 1 and 900",
                l.timeout_seconds
            ));
        }
        if l.architecture != "x86_64" && l.architecture != "arm64" {
            p.push(format!(
                "[lambda] architecture {:?} must be \"x86_64\" or \"arm64\"",
                l.architecture
            ));
        }
        if l.role_propagation_timeout_seconds > 900 {
            p.push("[lambda] role_propagation_timeout_seconds must be at most 900".into());
        }
        if !(0..=2).contains(&l.async_retry_attempts) {
            p.push("[lambda] async_retry_attempts must be 0, 1 or 2".into());
        }
        let ev = &self.events;
        if !(0..=185).contains(&ev.retry_attempts) {
            p.push("[events] retry_attempts must be between 0 and 185".into());
        }
        if !(60..=86400).contains(&ev.max_event_age_seconds) {
            p.push("[events] max_event_age_seconds must be between 60 and 86400".into());
        }
        let r = &self.remediation;
        if r.automation_wait_seconds + 10 > l.timeout_seconds.max(0) as u64 {
            p.push(format!(
                "[remediation] automation_wait_seconds = {} must leave 10 seconds of [lambda] timeout_seconds = {}: lower it or raise the timeout",
                r.automation_wait_seconds, l.timeout_seconds
            ));
        }
        for id in &r.protected {
            if id.is_empty() || id.contains(',') || id.contains(char::is_whitespace) {
                p.push(format!(
                    "[remediation] protected: {id:?} is not a resource id or ARN"
                ));
            }
        }
        for (k, v) in &r.protected_tags {
            if k.is_empty() || [k, v].iter().any(|x| x.contains(',') || x.contains('=')) {
                p.push(format!(
                    "[remediation] protected_tags: {k:?} = {v:?} must be a tag key and value without ',' or '='"
                ));
            }
        }
        let protection_bytes = r.protected.iter().map(|x| x.len() + 1).sum::<usize>()
            + r.protected_tags
                .iter()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum::<usize>();
        if protection_bytes > MAX_POLICY_BYTES {
            p.push(format!(
                "[remediation] protected and protected_tags take {protection_bytes} bytes; the remediation function's environment holds at most {MAX_POLICY_BYTES} of them: protect by tag instead of listing every resource"
            ));
        }
        if self.triage.rules.as_ref().is_some_and(Vec::is_empty) {
            p.push("[triage] rules is empty: remove it to use the default policy, or add [[triage.rules]] entries".into());
        }
        p.extend(self.triage.policy().validate());
        let policy_bytes = self.triage.policy_json().len();
        if policy_bytes > MAX_POLICY_BYTES {
            p.push(format!(
                "[[triage.rules]] is {policy_bytes} bytes as JSON; the triage function's environment holds at most {MAX_POLICY_BYTES}: merge rules or shorten their names and lists"
            ));
        }
        let st = &self.state;
        match st.backend {
            StateBackend::S3 => {
                match &st.bucket {
                    None => p.push("[state] backend = \"s3\" needs bucket = \"<bucket name>\"".into()),
                    Some(b)
                        if b.len() < 3
                            || b.len() > 63
                            || !b.chars().all(|c| {
                                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
                            }) =>
                    {
                        p.push(format!("[state] bucket {b:?} is not an S3 bucket name (3–63 lowercase letters, digits, hyphens, dots)"))
                    }
                    Some(_) => {}
                }
                if st.path.is_some() {
                    p.push("[state] path is for backend = \"local\"; the S3 backend takes bucket and key".into());
                }
                if st
                    .key
                    .as_deref()
                    .is_some_and(|k| k.is_empty() || k.ends_with('/'))
                {
                    p.push(
                        "[state] key must name an object, like \"secauto/prod/us-east-1.json\""
                            .into(),
                    );
                }
                if let Some(r) = st.region.as_deref().filter(|r| !is_region(r)) {
                    p.push(format!("[state] region {r:?} is not an AWS region name"));
                }
                if st.kms_key.as_deref().is_some_and(|k| k.trim().is_empty()) {
                    p.push("[state] kms_key is empty: name a KMS key (id, ARN or alias/<name>), or remove it to use the bucket's default encryption".into());
                }
            }
            StateBackend::Local => {
                for (field, set) in [
                    ("bucket", st.bucket.is_some()),
                    ("key", st.key.is_some()),
                    ("region", st.region.is_some()),
                    ("kms_key", st.kms_key.is_some()),
                ] {
                    if set {
                        p.push(format!("[state] {field} is for backend = \"s3\"; set backend = \"s3\" or remove it"));
                    }
                }
            }
        }
        let a = &self.aws;
        if !(1..=50).contains(&a.max_attempts) {
            p.push(format!(
                "[aws] max_attempts = {} must be 1–50",
                a.max_attempts
            ));
        }
        if a.attempt_timeout_seconds == 0 || a.call_timeout_seconds < a.attempt_timeout_seconds {
            p.push(format!(
                "[aws] attempt_timeout_seconds = {} must be at least 1 and at most call_timeout_seconds = {}",
                a.attempt_timeout_seconds, a.call_timeout_seconds
            ));
        }
        if a.max_backoff_seconds == 0 || a.max_backoff_seconds > 300 {
            p.push(format!(
                "[aws] max_backoff_seconds = {} must be 1–300",
                a.max_backoff_seconds
            ));
        }
        self.validate_targets(&mut p);
        for (service, url) in &self.endpoints {
            if !crate::aws::SERVICES.contains(&service.as_str()) {
                p.push(format!(
                    "[endpoints] {service:?} is not a service secauto uses; use one of {}",
                    crate::aws::SERVICES.join(", ")
                ));
            }
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                p.push(format!(
                    "[endpoints] {service} = {url:?} must be an http:// or https:// URL"
                ));
            }
        }
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

impl Config {
    fn validate_targets(&self, p: &mut Vec<String>) {
        if self.targets.is_empty() {
            if self.fleet.external_id.is_some() {
                p.push("[fleet] external_id is for a fleet: add [[targets]] or remove it".into());
            }
            return;
        }
        let admins = self
            .targets
            .iter()
            .filter(|t| t.role == TargetRole::Administrator)
            .count();
        if admins != 1 {
            p.push(format!(
                "[[targets]] has {admins} administrators: a fleet has exactly one (role = \"administrator\"), whose remediation acts in the members"
            ));
        }
        if self.stack.role_arn.is_some() || self.stack.region.is_some() {
            p.push("[stack] role_arn and region do not go with [[targets]]: each target names its role_arn and regions".into());
        }
        if self.state.path.is_some() || self.state.key.is_some() {
            p.push("[state] path and key name one state; a fleet keeps one per target (.secauto/<stack>/<account>/<region>.json, or secauto/<stack>/<account>/<region>.json in the bucket): remove them".into());
        }
        if let Some(id) = &self.fleet.external_id {
            if id.len() < 2 || id.len() > 1224 {
                p.push(format!(
                    "[fleet] external_id {id:?} must be 2–1224 characters"
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, t) in self.targets.iter().enumerate() {
            let which = format!("[[targets]] #{} ({})", i + 1, t.role.as_str());
            if let Some(arn) = t.role_arn.as_deref().filter(|a| !is_role_arn(a)) {
                p.push(format!(
                    "{which}: role_arn {arn:?} is not an IAM role ARN (arn:aws:iam::111111111111:role/secauto-deploy)"
                ));
            }
            if let Some(id) = &t.external_id {
                if id.len() < 2 || id.len() > 1224 || t.role_arn.is_none() {
                    p.push(format!(
                        "{which}: external_id {id:?} must be 2–1224 characters and goes with role_arn"
                    ));
                }
            }
            if t.regions.is_empty() {
                p.push(format!(
                    "{which}: regions is empty: list at least one region"
                ));
            }
            let account = t.role_arn.as_deref().unwrap_or("the caller's account");
            for r in &t.regions {
                if !is_region(r) {
                    p.push(format!(
                        "{which}: {r:?} is not an AWS region name (like \"eu-west-1\")"
                    ));
                } else if !seen.insert((account.to_string(), r.clone())) {
                    p.push(format!(
                        "{which}: {account} in {r} is listed twice; one stack per account and region"
                    ));
                }
            }
        }
        let accounts = self
            .targets
            .iter()
            .map(|t| {
                t.role_arn
                    .as_deref()
                    .and_then(role_account)
                    .unwrap_or("000000000000")
            })
            .collect::<std::collections::BTreeSet<_>>();
        let regions: usize = self.targets.iter().map(|t| t.regions.len()).sum();
        // `account=region+region,` in the remediation function's environment.
        let bytes = accounts.len() * 14 + regions * 15;
        if bytes > MAX_POLICY_BYTES {
            p.push(format!(
                "[[targets]] lists {} accounts in {regions} account-regions: about {bytes} bytes of the remediation function's environment, which holds at most {MAX_POLICY_BYTES}; split the fleet into several stacks",
                accounts.len()
            ));
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

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
        && !domain.contains('@')
}

/// The commented `secauto.toml` that `secauto init` writes: every setting with its default.
pub const TEMPLATE: &str = include_str!("../templates/secauto.toml");

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
    fn region_check() {
        assert!(is_region("us-east-1"));
        assert!(is_region("us-gov-west-1"));
        assert!(!is_region("useast1"));
        assert!(!is_region("us-east-x"));
    }
}
