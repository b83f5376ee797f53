//! A fresh IAM role can take a while before Lambda may assume it. No emulator reproduces that answer,
//! so these tests give secauto an aws-smithy-mocks Lambda client that answers CreateFunction with the
//! real error first, and assert the bounded retry.

#[path = "common/offline.rs"]
mod offline;

use std::time::{Duration, Instant};

use aws_sdk_lambda::operation::create_function::{CreateFunctionError, CreateFunctionOutput};
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::types::error::InvalidParameterValueException;
use aws_sdk_lambda::types::State;
use aws_sdk_lambda::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use secauto::resources::{Ctx, Spec};

fn not_assumable() -> CreateFunctionError {
    let msg = "The role defined for the function cannot be assumed by Lambda.";
    CreateFunctionError::InvalidParameterValueException(invalid_parameter(msg))
}

fn setup(lambda: Client, wait: Duration) -> (Ctx, Spec, tempfile::TempDir) {
    offline::triage_function(lambda, wait, "")
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
        start.elapsed() >= Duration::from_secs(1),
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

fn invalid_parameter(msg: &'static str) -> InvalidParameterValueException {
    InvalidParameterValueException::builder()
        .message(msg)
        .meta(offline::meta("InvalidParameterValueException", msg))
        .build()
}

/// AWS's answer while the KMS grant for a fresh role cannot be made yet.
const KMS_GRANT: &str = "Lambda was unable to configure access to your environment variables because the KMS key is invalid for CreateGrant. Please check your KMS key settings. KMS Exception: InvalidArnException KMS Message: ARN does not refer to a valid principal: arn:aws:iam::123456789012:role/s-lambda";

#[tokio::test]
async fn mocked_lambda_create_function_retries_the_kms_create_grant_answer() {
    let create = mock!(Client::create_function)
        .sequence()
        .error(|| CreateFunctionError::InvalidParameterValueException(invalid_parameter(KMS_GRANT)))
        .output(|| CreateFunctionOutput::builder().build())
        .build();
    let ready = mock!(Client::get_function_configuration).then_output(|| {
        GetFunctionConfigurationOutput::builder()
            .state(State::Active)
            .build()
    });
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&create, &ready]);
    let (ctx, spec, _dir) = setup(lambda, Duration::from_secs(30));
    spec.create(&ctx).await.unwrap();
    assert_eq!(create.num_calls(), 2, "the CreateGrant answer was retried");
}

#[tokio::test]
async fn mocked_lambda_event_invoke_config_retries_until_the_role_may_reach_the_destination() {
    use aws_sdk_lambda::operation::put_function_event_invoke_config::{
        PutFunctionEventInvokeConfigError as E, PutFunctionEventInvokeConfigOutput,
    };
    const NO_PERMISSION: &str = "The function's execution role does not have permissions to call InvokeFunction on arn:aws:lambda:us-east-1:123456789012:function:s-error-handler";
    let put = mock!(Client::put_function_event_invoke_config)
        .sequence()
        .error(|| E::InvalidParameterValueException(invalid_parameter(NO_PERMISSION)))
        .error(|| E::InvalidParameterValueException(invalid_parameter(NO_PERMISSION)))
        .output(|| PutFunctionEventInvokeConfigOutput::builder().build())
        .build();
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&put]);
    let (ctx, _, _dir) = setup(lambda, Duration::from_secs(30));
    let spec =
        Spec::LambdaEventInvokeConfig(secauto::resources::lambda_event_invoke_config::Spec {
            function: "s-triage".into(),
            on_failure_arn: "arn:aws:lambda:us-east-1:123456789012:function:s-error-handler".into(),
            maximum_retry_attempts: 2,
            maximum_event_age_seconds: 21600,
        });
    spec.create(&ctx).await.unwrap();
    assert_eq!(put.num_calls(), 3);

    // Out of budget, the error says what to raise.
    let put = mock!(Client::put_function_event_invoke_config)
        .then_error(|| E::InvalidParameterValueException(invalid_parameter(NO_PERMISSION)));
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&put]);
    let (ctx, _, _dir) = setup(lambda, Duration::from_secs(0));
    let err = spec.create(&ctx).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("role_propagation_timeout_seconds"),
        "{err:#}"
    );
}

#[tokio::test]
async fn mocked_lambda_add_permission_retries_a_concurrent_update() {
    use aws_sdk_lambda::operation::add_permission::{AddPermissionError as E, AddPermissionOutput};
    const CONCURRENT: &str =
        "The function could not be updated due to a concurrent update operation. Please try again later.";
    let add = mock!(Client::add_permission)
        .sequence()
        .error(|| E::ResourceConflictException(offline::resource_conflict(CONCURRENT)))
        .output(|| AddPermissionOutput::builder().build())
        .build();
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&add]);
    let (ctx, _, _dir) = setup(lambda, Duration::from_secs(0));
    let spec = Spec::LambdaPermission(secauto::resources::lambda_permission::Spec {
        function: "s-triage".into(),
        statement_id: "secauto-findings".into(),
        principal: "events.amazonaws.com".into(),
        source_arn: "arn:aws:events:us-east-1:123456789012:rule/s-findings".into(),
        source_account: "123456789012".into(),
    });
    let applied = spec.create(&ctx).await.unwrap();
    assert_eq!(
        add.num_calls(),
        2,
        "retried although role_wait is 0: a conflict is not IAM"
    );
    assert_eq!(applied.physical_id, "s-triage|secauto-findings");
}

/// A new function is `Pending` until Lambda has set it up (AWS's documented answer to
/// CreateFunction): it is polled until `Active`, quickly at first; one already `Active` is not.
#[tokio::test]
async fn mocked_lambda_a_pending_function_is_polled_until_active_and_an_active_one_is_not() {
    for (created, polls) in [(State::Pending, 3), (State::Active, 0)] {
        let answer = created.clone();
        let create = mock!(Client::create_function).then_output(move || {
            CreateFunctionOutput::builder()
                .function_arn("arn:aws:lambda:us-east-1:123456789012:function:s-triage")
                .state(answer.clone())
                .build()
        });
        let ready = mock!(Client::get_function_configuration)
            .sequence()
            .output(|| {
                GetFunctionConfigurationOutput::builder()
                    .state(State::Pending)
                    .build()
            })
            .times(2)
            .output(|| {
                GetFunctionConfigurationOutput::builder()
                    .state(State::Active)
                    .build()
            })
            .build();
        let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&create, &ready]);
        let (ctx, spec, _dir) = setup(lambda, Duration::from_secs(30));
        let start = Instant::now();
        spec.create(&ctx).await.unwrap();
        assert_eq!(ready.num_calls(), polls, "created {created:?}");
        // 250 ms, then 375 ms: well under the old fixed 2 s per poll.
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }
}
