#![allow(dead_code)] // each test binary uses some
//! Clients for mocked tests: every service points at a closed loopback port, so a test that swaps
//! in an aws-smithy-mocks client for one service can never reach another by accident.

use std::collections::BTreeMap;
use std::time::Duration;

use secauto::aws::{Clients, Connection};
use secauto::resources::Ctx;

/// Every client pointing at a closed port.
pub fn clients() -> Clients {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    Clients::new(
        &sdk,
        &Connection {
            endpoint_url: Some("http://127.0.0.1:9".into()),
            ..Connection::default()
        },
    )
}

/// A context for stack `s` in us-east-1 over `clients`.
pub fn ctx(clients: Clients, role_wait: Duration) -> Ctx {
    Ctx::new(clients, "s", "us-east-1", BTreeMap::new(), role_wait)
}

/// Records the IAM action (`service:Operation`) of every call a client makes: add it to a mocked
/// client, and the calls the code made are known without listing them by hand.
#[derive(Debug, Clone, Default)]
pub struct Actions(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Actions {
    pub fn called(&self) -> Vec<String> {
        self.0.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for Actions {
    fn name(&self) -> &'static str {
        "Actions"
    }

    fn read_before_serialization(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let Some(m) = cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>() {
            if let Ok(mut l) = self.0.lock() {
                l.push(format!("{}:{}", m.service().to_ascii_lowercase(), m.name()));
            }
        }
        Ok(())
    }
}

/// Stack `s`'s triage function over the mocked `lambda` client, its bundle written in the
/// returned directory (keep it alive), the live code's hash being `code_sha256`.
pub fn triage_function(
    lambda: aws_sdk_lambda::Client,
    role_wait: Duration,
    code_sha256: &str,
) -> (Ctx, secauto::resources::Spec, tempfile::TempDir) {
    let mut clients = clients();
    clients.lambda = lambda;
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("bootstrap.zip");
    std::fs::write(&zip, secauto::bundle::zip_bootstrap(b"\x7fELF").unwrap()).unwrap();
    let spec =
        secauto::resources::Spec::LambdaFunction(secauto::resources::lambda_function::Spec {
            name: "s-triage".into(),
            arn: "arn:aws:lambda:us-east-1:123456789012:function:s-triage".into(),
            description: "d".into(),
            role_arn: "arn:aws:iam::123456789012:role/s-lambda".into(),
            memory_mb: 256,
            timeout_seconds: 60,
            architecture: "x86_64".into(),
            environment: BTreeMap::new(),
            zip_path: zip,
            code_sha256: code_sha256.into(),
            dead_letter_arn: "arn:aws:sqs:us-east-1:123456789012:s-dlq".into(),
            kms_key: None,
            reserved_concurrency: None,
        });
    (ctx(clients, role_wait), spec, dir)
}

/// The error metadata AWS sends with an error: its code and message.
pub fn meta(code: &str, message: &str) -> aws_smithy_types::error::ErrorMetadata {
    aws_smithy_types::error::ErrorMetadata::builder()
        .code(code)
        .message(message)
        .build()
}

/// Lambda's ResourceConflictException saying `message`.
pub fn resource_conflict(message: &str) -> aws_sdk_lambda::types::error::ResourceConflictException {
    aws_sdk_lambda::types::error::ResourceConflictException::builder()
        .message(message)
        .meta(meta("ResourceConflictException", message))
        .build()
}
