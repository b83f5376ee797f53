//! The one retry rule the CLI's and the handlers' SDK clients share (feature `sdk`): HTTP 429 is
//! throttling, whatever code comes with it. The SDK classifies throttling by error code and
//! retries 5xx by status, but SNS answers throttling with `Throttled` and 429 — in neither list —
//! so without this an SNS throttle fails at the first attempt. Every client gets it.

use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};

/// Classifies an HTTP 429 answer as a throttling error (retried with backoff).
#[derive(Debug, Default, Clone, Copy)]
pub struct TooManyRequests;

impl ClassifyRetry for TooManyRequests {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.response() {
            Some(r) if r.status().as_u16() == 429 => RetryAction::throttling_error(),
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "HTTP 429 is throttling"
    }
}
