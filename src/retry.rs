//! The one home of retries for AWS's documented eventual consistency, in the manner of the Terraform
//! AWS provider's `RetryWhen…` family: an operation, a predicate on AWS's answer, and a time budget.
//!
//! Throttling, 5xx and dropped connections are the SDK's retry policy's business; what lives here is
//! what the SDK cannot know is transient: a role IAM has not propagated yet, a function resource
//! policy being updated concurrently, a queue name AWS still holds after a delete.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// HTTP 429 is throttling: the one classifier the CLI and the handlers share.
pub use secauto_core::retry::TooManyRequests;

/// AWS's answer, as a predicate sees it.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// The service's error code (`InvalidParameterValueException`, …).
    pub code: &'a str,
    /// The service's error message.
    pub message: &'a str,
}

impl Answer<'_> {
    /// The code is `code` and the message contains `needle`.
    pub fn is(&self, code: &str, needle: &str) -> bool {
        self.code == code && self.message.contains(needle)
    }
}

/// How long to keep retrying, and how fast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Give up once this much time has passed since the first attempt.
    pub limit: Duration,
    /// The first wait; each next wait is 1.5 times longer, up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Budget {
    /// A budget of `limit` with waits starting at one second, growing to ten.
    pub fn new(limit: Duration) -> Budget {
        Budget {
            limit,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// A known transient answer: retried, then, once the budget is spent, reported with `hint`.
pub struct Transient {
    /// Says whether AWS's answer is one that goes away by itself.
    pub when: fn(Answer<'_>) -> bool,
    /// What the user is told while waiting and when the budget runs out (why, and what to do).
    pub hint: &'static str,
}

/// Run `op`, retrying while `transient.when` matches AWS's answer and `budget` lasts. Errors are
/// wrapped as `operation: Code: message`; an exhausted budget adds how long it waited and the hint.
pub async fn retry_when<T, E, R, F, Fut>(
    operation: &str,
    budget: Budget,
    transient: &Transient,
    mut op: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let start = Instant::now();
    let mut delay = budget.first_delay;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let matched = matches!(err, SdkError::ServiceError(_))
            && (transient.when)(Answer {
                code: err.code().unwrap_or_default(),
                message: err.message().unwrap_or_default(),
            });
        if !matched {
            return Err(crate::error::aws(operation, err));
        }
        let elapsed = start.elapsed();
        if elapsed >= budget.limit {
            return Err(crate::error::aws(operation, err).context(format!(
                "{operation} still failed after {attempts} attempts in {:.0?}: {}",
                elapsed, transient.hint
            )));
        }
        let wait = delay.min(budget.limit - elapsed);
        tracing::info!(
            "{operation}: {} ({}); retrying in {wait:.1?}",
            err.code().unwrap_or_default(),
            transient.hint
        );
        tokio::time::sleep(wait).await;
        delay = delay.mul_f32(1.5).min(budget.max_delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_matches_code_and_message() {
        let a = Answer {
            code: "InvalidParameterValueException",
            message: "The role defined for the function cannot be assumed by Lambda.",
        };
        assert!(a.is("InvalidParameterValueException", "cannot be assumed"));
        assert!(!a.is("ResourceConflictException", "cannot be assumed"));
        assert!(!a.is("InvalidParameterValueException", "KMS"));
    }
}
