//! SQS keeps a deleted queue's name for 60 seconds and answers CreateQueue with
//! QueueDeletedRecently meanwhile. moto deletes at once, so this answer is mocked
//! (aws-smithy-mocks) and the wait-and-retry asserted.

#[path = "common/offline.rs"]
mod offline;

use std::time::{Duration, Instant};

use aws_sdk_sqs::operation::create_queue::{CreateQueueError, CreateQueueOutput};
use aws_sdk_sqs::types::error::QueueDeletedRecently;
use aws_sdk_sqs::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use secauto::resources::{sqs_queue, Ctx, Spec};

const MESSAGE: &str =
    "You must wait 60 seconds after deleting a queue before you can create another with the same name.";

fn deleted_recently() -> CreateQueueError {
    CreateQueueError::QueueDeletedRecently(
        QueueDeletedRecently::builder()
            .message(MESSAGE)
            .meta(
                aws_sdk_sqs::error::ErrorMetadata::builder()
                    .code("AWS.SimpleQueueService.QueueDeletedRecently")
                    .message(MESSAGE)
                    .build(),
            )
            .build(),
    )
}

fn ctx(sqs: Client) -> Ctx {
    let mut clients = offline::clients();
    clients.sqs = sqs;
    offline::ctx(clients, Duration::ZERO)
}

#[tokio::test]
async fn mocked_sqs_create_waits_while_the_name_is_held_after_a_delete() {
    let create = mock!(Client::create_queue)
        .sequence()
        .error(deleted_recently)
        .error(deleted_recently)
        .output(|| {
            CreateQueueOutput::builder()
                .queue_url("https://sqs.us-east-1.amazonaws.com/123456789012/s-dlq")
                .build()
        })
        .build();
    let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&create]);
    let spec = Spec::SqsQueue(sqs_queue::Spec {
        name: "s-dlq".into(),
        arn: "arn:aws:sqs:us-east-1:123456789012:s-dlq".into(),
        message_retention_seconds: 1_209_600,
        visibility_timeout_seconds: 300,
        policy: serde_json::json!({}),
    });
    let start = Instant::now();
    let applied = spec.create(&ctx(sqs)).await.unwrap();
    assert_eq!(create.num_calls(), 3);
    assert!(start.elapsed() >= Duration::from_secs(2), "it waited");
    assert!(applied.physical_id.ends_with("/s-dlq"));
    assert!(
        sqs_queue::NAME_RELEASE_WAIT >= Duration::from_secs(60),
        "the budget covers SQS's 60 seconds"
    );
}
