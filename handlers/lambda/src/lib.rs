//! secauto's Lambda handlers, all in one `bootstrap` that dispatches on `SECAUTO_FUNCTION`
//! (one binary builds and links once instead of four times).
//!
//! - triage: decide each finding's action, emit one "Security Response Required" event per actionable
//!   finding, mark the findings NOTIFIED so the NEW-only findings rule cannot loop;
//! - remediation: carry out the action through the EC2, S3 and SSM APIs (a dry run in notify-only
//!   mode or for resources tagged `secauto:protect=true`), record the outcome on the finding and in SNS;
//! - notification: one readable SNS message per finding, with attributes for filter policies;
//! - error handler: the on-failure destination of the others; publishes what failed.

pub mod accounts;
pub mod claim;
pub mod env;
pub mod error_handler;
pub mod events;
pub mod findings;
pub mod findings_v2;
pub mod notification;
pub mod remediate;
pub mod remediation;
pub mod retry;
pub mod triage;
pub mod verify;
pub mod vouch;

use secauto_core::retry::TooManyRequests;

/// The tag that exempts a resource from any change.
pub const PROTECT_TAG: &str = "secauto:protect";

/// Build clients from one shared SDK config. S3 uses path-style addressing when an endpoint is
/// overridden (emulators).
#[derive(Clone, Debug)]
pub struct Clients {
    pub securityhub: aws_sdk_securityhub::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub sns: aws_sdk_sns::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub s3: aws_sdk_s3::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    /// The config they were made from (for a member's clients: the same, another role and region).
    pub sdk: aws_config::SdkConfig,
}

impl Clients {
    /// Every client gets the handlers' retry settings ([`retry`]), whatever `sdk` says, and treats
    /// HTTP 429 as throttling (SNS's `Throttled` is in no SDK list).
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        let sdk = &retry::sdk(sdk);
        let path_style = std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
            || sdk.endpoint_url().is_some();
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(path_style)
            .retry_classifier(TooManyRequests)
            .build();
        macro_rules! client {
            ($krate:ident) => {
                $krate::Client::from_conf(
                    $krate::config::Builder::from(sdk)
                        .retry_classifier(TooManyRequests)
                        .build(),
                )
            };
        }
        Clients {
            securityhub: client!(aws_sdk_securityhub),
            events: client!(aws_sdk_eventbridge),
            sns: client!(aws_sdk_sns),
            ssm: client!(aws_sdk_ssm),
            ec2: client!(aws_sdk_ec2),
            s3: aws_sdk_s3::Client::from_conf(s3),
            autoscaling: client!(aws_sdk_autoscaling),
            sdk: sdk.clone(),
        }
    }
}

/// Render an SDK error with everything the SDK knows.
pub fn sdk_err<E, R>(
    op: &str,
    e: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    anyhow::anyhow!(
        "{op}: {}",
        aws_smithy_types::error::display::DisplayErrorContext(&e)
    )
}
