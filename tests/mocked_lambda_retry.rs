//! A fresh IAM role can take a while before Lambda may assume it. No emulator reproduces that answer,
//! so these tests give secauto an aws-smithy-mocks Lambda client that answers CreateFunction with the
//! real error first, and assert the bounded retry.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_lambda::operation::create_function::{CreateFunctionError, CreateFunctionOutput};
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::types::error::InvalidParameterValueException;
use aws_sdk_lambda::types::State;
use aws_sdk_lambda::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use secauto::aws::{Clients, Connection};
use secauto::resources::{lambda_function, Ctx, Spec};

fn not_assumable() -> CreateFunctionError {
    let msg = "The role defined for the function cannot be assumed by Lambda.";
    CreateFunctionError::InvalidParameterValueException(
        InvalidParameterValueException::builder()
            .message(msg)
            .meta(
                aws_sdk_lambda::error::ErrorMetadata::builder()
                    .code("InvalidParameterValueException")
                    .message(msg)
                    .build(),
            )
            .build(),
    )
}

fn setup(lambda: Client, wait: Duration) -> (Ctx, Spec, tempfile::TempDir) {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let mut clients = Clients::new(
        &sdk,
        &Connection {
            endpoint_url: Some("http://127.0.0.1:9".into()),
            ..Connection::default()
        },
    );
    clients.lambda = lambda;
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("bootstrap.zip");
    std::fs::write(&zip, secauto::bundle::zip_bootstrap(b"\x7fELF").unwrap()).unwrap();
    let spec = Spec::LambdaFunction(lambda_function::Spec {
        name: "s-triage".into(),
        arn: "arn:aws:lambda:us-east-1:123456789012:function:s-triage".into(),
        description: "d".into(),
        role_arn: "arn:aws:iam::123456789012:role/s-lambda".into(),
        memory_mb: 256,
        timeout_seconds: 60,
        architecture: "x86_64".into(),
        environment: BTreeMap::new(),
        zip_path: zip,
        code_sha256: String::new(),
    });
    let ctx = Ctx {
        clients,
        stack: "s".into(),
        tags: BTreeMap::new(),
        role_wait: wait,
    };
    (ctx, spec, dir)
}

#[tokio::test]
async fn mocked_lambda_create_function_retries_while_the_role_propagates() {
    let create = mock!(Client::create_function)
        .sequence()
        .error(not_assumable)
        .output(|| {
            CreateFunctionOutput::builder()
                .function_arn("arn:aws:lambda:us-east-1:123456789012:function:s-triage")
                .build()
        })
        .build();
    let ready = mock!(Client::get_function_configuration).then_output(|| {
        GetFunctionConfigurationOutput::builder()
            .state(State::Active)
            .build()
    });
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&create, &ready]);
    let (ctx, spec, _dir) = setup(lambda, Duration::from_secs(30));
    let start = Instant::now();
    let applied = spec.create(&ctx).await.unwrap();
    assert_eq!(create.num_calls(), 2, "one retry");
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "it waited before retrying"
    );
    assert_eq!(applied.physical_id, "s-triage");
}

#[tokio::test]
async fn mocked_lambda_create_function_gives_up_after_the_configured_wait() {
    let create = mock!(Client::create_function).then_error(not_assumable);
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&create]);
    let (ctx, spec, _dir) = setup(lambda, Duration::from_secs(0));
    let err = spec.create(&ctx).await.unwrap_err();
    assert_eq!(create.num_calls(), 1);
    let msg = format!("{err:#}");
    assert!(msg.contains("role_propagation_timeout_seconds"), "{msg}");
}
