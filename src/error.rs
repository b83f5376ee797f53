//! Turning SDK errors into readable ones, and telling "not found" apart from real failures.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes that mean "no such resource" across the services secauto uses.
const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchEntity",
    "NoSuchEntityException",
    "ResourceNotFoundException",
    "ResourceNotFound",
    "NotFound",
    "NotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "InvalidDocument",
    "ResourceNotFoundFault",
];

/// The service error code of an SDK error, if the service sent one.
pub fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(_) => err.code(),
        _ => None,
    }
}

/// True when the service answered `code` with a message containing `part` (services reuse a
/// code for several causes, told apart only by the message).
pub fn says<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>, code_is: &str, part: &str) -> bool {
    code(err) == Some(code_is) && err.message().is_some_and(|m| m.contains(part))
}

/// True when the SDK error says the resource does not exist.
pub fn is_not_found<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::ServiceError(_) => err.code().is_some_and(|c| NOT_FOUND_CODES.contains(&c)),
        _ => false,
    }
}

/// Wrap an SDK error with the operation it came from: the service's code and message when it sent
/// them, else everything the SDK knows (connection errors, timeouts).
pub fn aws<E, R>(operation: &str, err: SdkError<E, R>) -> anyhow::Error
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let SdkError::ServiceError(_) = &err {
        if let Some(code) = err.code() {
            return anyhow::anyhow!(
                "{operation}: {code}: {}",
                err.message().unwrap_or("(no message)")
            );
        }
    }
    anyhow::anyhow!("{operation}: {}", DisplayErrorContext(&err))
}
