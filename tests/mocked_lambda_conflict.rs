//! Lambda's ResourceConflictException means two things: an operation still in progress (retried
//! until it ends) and a name already taken — "Function already exist" — which no wait changes:
//! CreateFunction then reads the function and updates it if it is the stack's, or reports it.
//! No emulator answers the in-progress case, so these use aws-smithy-mocks.

#[path = "common/offline.rs"]
mod offline;

use std::time::Duration;

use aws_sdk_lambda::operation::create_function::{CreateFunctionError, CreateFunctionOutput};
use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeOutput;
use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput;
use aws_sdk_lambda::types::{FunctionConfiguration, State};
use aws_sdk_lambda::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use secauto::resources::{lambda_function, Ctx, Spec};

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:s-triage";

fn conflict(msg: &'static str) -> CreateFunctionError {
    CreateFunctionError::ResourceConflictException(offline::resource_conflict(msg))
}

fn setup(lambda: Client) -> (Ctx, Spec, tempfile::TempDir) {
    let (mut ctx, spec, dir) = offline::triage_function(lambda, Duration::from_secs(30), "new");
    ctx.tags
        .insert(secauto::resources::STACK_TAG.into(), "s".into());
    (ctx, spec, dir)
}

/// GetFunction's answer: the function, tagged as stack `owner`'s, with older code.
fn existing(owner: &'static str) -> aws_smithy_mocks::Rule {
    mock!(Client::get_function).then_output(move || {
        GetFunctionOutput::builder()
            .configuration(
                FunctionConfiguration::builder()
                    .function_name("s-triage")
                    .function_arn(ARN)
                    .code_sha256("old")
                    .build(),
            )
            .tags(secauto::resources::STACK_TAG, owner)
            .build()
    })
}

#[tokio::test]
async fn mocked_lambda_function_already_exist_is_not_retried_but_read_and_updated() {
    let create =
        mock!(Client::create_function).then_error(|| conflict("Function already exist: s-triage"));
    let get = existing("s");
    let code = mock!(Client::update_function_code)
        .then_output(|| UpdateFunctionCodeOutput::builder().build());
    let config = mock!(Client::update_function_configuration)
        .then_output(|| UpdateFunctionConfigurationOutput::builder().build());
    let ready = mock!(Client::get_function_configuration).then_output(|| {
        GetFunctionConfigurationOutput::builder()
            .state(State::Active)
            .build()
    });
    let lambda = mock_client!(
        aws_sdk_lambda,
        RuleMode::MatchAny,
        [&create, &get, &code, &config, &ready]
    );
    let (ctx, spec, _dir) = setup(lambda);
    let applied = spec.create(&ctx).await.unwrap();
    assert_eq!(create.num_calls(), 1, "a taken name is not retried");
    assert_eq!(get.num_calls(), 1, "the function is read");
    assert_eq!(code.num_calls(), 1, "and updated to the spec");
    assert_eq!(applied.physical_id, "s-triage");
}

#[tokio::test]
async fn mocked_lambda_function_already_exist_of_someone_else_is_reported_not_changed() {
    let create =
        mock!(Client::create_function).then_error(|| conflict("Function already exist: s-triage"));
    let get = existing("other");
    let code = mock!(Client::update_function_code)
        .then_output(|| UpdateFunctionCodeOutput::builder().build());
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&create, &get, &code]);
    let (ctx, spec, _dir) = setup(lambda);
    let err = format!("{:#}", spec.create(&ctx).await.unwrap_err());
    assert_eq!(create.num_calls(), 1, "a taken name is not retried");
    assert_eq!(
        code.num_calls(),
        0,
        "someone else's function is not changed"
    );
    assert!(
        err.contains("s-triage") && err.contains("\"other\""),
        "{err}"
    );
}

#[tokio::test]
async fn mocked_lambda_update_in_progress_is_retried() {
    let create = mock!(Client::create_function)
        .sequence()
        .error(|| conflict("The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:s-triage"))
        .output(|| CreateFunctionOutput::builder().function_arn(ARN).state(State::Active).build())
        .build();
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&create]);
    let (ctx, spec, _dir) = setup(lambda);
    spec.create(&ctx).await.unwrap();
    assert_eq!(
        create.num_calls(),
        2,
        "the in-progress answer was retried once"
    );
}

#[test]
fn only_the_in_progress_conflicts_are_transient() {
    use secauto::retry::Answer;
    let rce = |message| Answer {
        code: "ResourceConflictException",
        message,
    };
    assert!(lambda_function::in_progress(rce(
        "The operation cannot be performed at this time. The function is currently in the following state: Pending"
    )));
    assert!(lambda_function::in_progress(rce(
        "The function could not be updated due to a concurrent update operation."
    )));
    assert!(!lambda_function::in_progress(rce(
        "Function already exist: s-triage"
    )));
    assert!(!lambda_function::in_progress(rce(
        "The statement id (x) provided already exists. Please provide a new statement id, or remove the existing statement."
    )));
}
