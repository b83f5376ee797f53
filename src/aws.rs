//! AWS SDK configuration and clients: one shared `SdkConfig`, one client per service.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region};
use aws_smithy_types::error::display::DisplayErrorContext;

/// How to reach AWS: everything the global flags and `[endpoints]` say.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// `--endpoint-url`: for every service without a more specific endpoint.
    pub endpoint_url: Option<String>,
    /// `[endpoints]` from the config file: beats everything else.
    pub endpoints: BTreeMap<String, String>,
    /// `[aws]`: attempts, backoff and timeouts of every call.
    pub calls: crate::config::AwsConfig,
    /// `--role-arn`: every call is made as this role.
    pub role: Option<AssumedRole>,
}

/// A role assumed for every call.
#[derive(Debug, Clone)]
pub struct AssumedRole {
    pub arn: String,
    pub external_id: Option<String>,
    /// Names the session in CloudTrail (at most 64 characters).
    pub session_name: String,
}

/// One client per service, all built from the same `SdkConfig`.
#[derive(Clone, Debug)]
pub struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub securityhub: aws_sdk_securityhub::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sts: aws_sdk_sts::Client,
    pub kms: aws_sdk_kms::Client,
}

/// The environment variable the SDK reads for a service's endpoint.
fn service_env_var(service: &str) -> String {
    let id = match service {
        "eventbridge" => "EVENTBRIDGE",
        other => return format!("AWS_ENDPOINT_URL_{}", other.to_ascii_uppercase()),
    };
    format!("AWS_ENDPOINT_URL_{id}")
}

/// The endpoint to set in code for `service`, or `None` to let the SDK decide
/// (`AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then AWS itself).
///
/// Precedence: `[endpoints].<service>` > `AWS_ENDPOINT_URL_<SERVICE>` > `--endpoint-url` > `AWS_ENDPOINT_URL`.
pub fn endpoint_for(conn: &Connection, service: &str) -> Option<String> {
    if let Some(url) = conn.endpoints.get(service) {
        return Some(url.clone());
    }
    if std::env::var_os(service_env_var(service)).is_some() {
        return None;
    }
    conn.endpoint_url.clone()
}

/// The region the environment (`AWS_REGION`, `AWS_DEFAULT_REGION`) or the profile names, read
/// without any call (never the instance metadata service): for offline checks.
pub async fn configured_region(profile: Option<&str>) -> Option<String> {
    use aws_config::meta::region::ProvideRegion;
    if let Some(r) = aws_config::environment::EnvironmentVariableRegionProvider::new()
        .region()
        .await
    {
        return Some(r.to_string());
    }
    let mut file = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(p) = profile {
        file = file.profile_name(p);
    }
    file.build().region().await.map(|r| r.to_string())
}

/// Load the shared SDK config from the standard credential chain.
pub async fn load(conn: &Connection) -> Result<aws_types::SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &conn.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &conn.profile {
        loader = loader.profile_name(profile);
    }
    let config = loader
        .retry_config(retry_config(&conn.calls))
        .timeout_config(timeout_config(&conn.calls))
        .load()
        .await;
    if config.region().is_none() {
        anyhow::bail!(
            "no AWS region is set: pass --region, set [stack] region in secauto.toml, or export AWS_REGION"
        );
    }
    match &conn.role {
        Some(role) => Ok(assume(config, conn, role).await),
        None => Ok(config),
    }
}

/// The same config, with credentials from assuming `role` (refreshed before they expire). STS is
/// reached where the stack's STS calls go.
async fn assume(
    base: aws_types::SdkConfig,
    conn: &Connection,
    role: &AssumedRole,
) -> aws_types::SdkConfig {
    let session: String = role.session_name.chars().take(64).collect();
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(&role.arn)
        .session_name(session)
        .configure(&sts_config(&base, conn));
    if let Some(id) = &role.external_id {
        provider = provider.external_id(id);
    }
    let provider = provider.build().await;
    base.to_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build()
}

/// The config the role is assumed with: the base's region, credentials, HTTP client, retries and
/// timeouts, and STS's endpoint as every other STS call finds it. Made afresh, not from the base:
/// the base carries the environment's endpoint settings (`AWS_ENDPOINT_URL`), which would beat an
/// endpoint set on it here.
fn sts_config(base: &aws_types::SdkConfig, conn: &Connection) -> aws_types::SdkConfig {
    let mut c = aws_types::SdkConfig::builder().behavior_version(BehaviorVersion::latest());
    c.set_region(base.region().cloned());
    c.set_credentials_provider(base.credentials_provider());
    c.set_http_client(base.http_client());
    c.set_sleep_impl(base.sleep_impl());
    c.set_time_source(base.time_source());
    c.set_retry_config(base.retry_config().cloned());
    c.set_timeout_config(base.timeout_config().cloned());
    let env = std::env::var(service_env_var("sts")).ok();
    c.set_endpoint_url(
        endpoint_for(conn, "sts")
            .or(env)
            .or_else(|| base.endpoint_url().map(String::from)),
    );
    c.build()
}

/// Every call: standard retries (throttling, 5xx, timeouts, dropped connections) with exponential
/// backoff and full jitter, up to `[aws] max_attempts` — the SDK's default of 3 runs out under a
/// brief burst of throttling; the Terraform AWS provider allows 25.
pub fn retry_config(calls: &crate::config::AwsConfig) -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(calls.max_attempts)
        .with_initial_backoff(std::time::Duration::from_millis(200))
        .with_max_backoff(std::time::Duration::from_secs(calls.max_backoff_seconds))
}

/// Every call has a deadline: a connection that hangs is abandoned and retried, never waited on forever.
pub fn timeout_config(calls: &crate::config::AwsConfig) -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .operation_attempt_timeout(std::time::Duration::from_secs(
            calls.attempt_timeout_seconds,
        ))
        .operation_timeout(std::time::Duration::from_secs(calls.call_timeout_seconds))
        .build()
}

/// An S3 client for the state bucket, in `region` when the bucket is elsewhere. Path-style
/// addressing when an endpoint is set: emulators have no per-bucket host names.
pub fn s3_client(
    sdk: &aws_types::SdkConfig,
    conn: &Connection,
    region: Option<&str>,
) -> aws_sdk_s3::Client {
    let mut builder =
        aws_sdk_s3::config::Builder::from(sdk).retry_classifier(crate::retry::TooManyRequests);
    if let Some(r) = region {
        builder = builder.region(Region::new(r.to_string()));
    }
    let custom = endpoint_for(conn, "s3")
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
    if let Some(url) = endpoint_for(conn, "s3") {
        builder = builder.endpoint_url(url);
    }
    if custom.is_some() {
        builder = builder.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

macro_rules! client {
    ($krate:ident, $sdk:expr, $conn:expr, $service:expr) => {{
        let mut builder =
            $krate::config::Builder::from($sdk).retry_classifier(crate::retry::TooManyRequests);
        if let Some(url) = endpoint_for($conn, $service) {
            builder = builder.endpoint_url(url);
        }
        $krate::Client::from_conf(builder.build())
    }};
}

impl Clients {
    /// Build every client from one `SdkConfig`, applying per-service endpoints.
    pub fn new(sdk: &aws_types::SdkConfig, conn: &Connection) -> Self {
        Clients {
            iam: client!(aws_sdk_iam, sdk, conn, "iam"),
            sns: client!(aws_sdk_sns, sdk, conn, "sns"),
            sqs: client!(aws_sdk_sqs, sdk, conn, "sqs"),
            lambda: client!(aws_sdk_lambda, sdk, conn, "lambda"),
            events: client!(aws_sdk_eventbridge, sdk, conn, "eventbridge"),
            ssm: client!(aws_sdk_ssm, sdk, conn, "ssm"),
            securityhub: client!(aws_sdk_securityhub, sdk, conn, "securityhub"),
            cloudwatch: client!(aws_sdk_cloudwatch, sdk, conn, "cloudwatch"),
            sts: client!(aws_sdk_sts, sdk, conn, "sts"),
            kms: client!(aws_sdk_kms, sdk, conn, "kms"),
        }
    }
}

/// The caller's account id, from STS.
pub async fn account_id(sts: &aws_sdk_sts::Client) -> Result<String> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{}", DisplayErrorContext(e)))
        .context(
            "could not identify the AWS account (sts:GetCallerIdentity); check your credentials",
        )?;
    out.account
        .filter(|a| !a.is_empty())
        .context("sts:GetCallerIdentity returned no account id")
}
