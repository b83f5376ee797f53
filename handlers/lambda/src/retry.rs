//! The one home of the handlers' retry settings: every SDK client the handlers make — the stack's
//! own and a fleet member's, whose config is the own one with another role and region — is built by
//! [`crate::Clients::new`] from [`sdk`].
//!
//! Security Hub's limits are account-wide per Region, shared by every function instance and every
//! other tool of the account: GetFindings 3 requests a second (burst 6), BatchUpdateFindings and
//! BatchImportFindings 10 (burst 30). A burst of findings starts many function instances at once;
//! with the SDK's default of 3 attempts (waits of up to 1 and 2 seconds) a throttled call fails
//! and the event ends at the error handler. Here every call gets [`MAX_ATTEMPTS`] attempts with
//! exponential backoff and full jitter from [`INITIAL_BACKOFF`] up to [`MAX_BACKOFF`]: the waits
//! of one call add up to at most [`worst_case_wait`] (37 s), inside the functions' default
//! 60-second timeout, and spread the instances' retries over as many seconds as Security Hub needs
//! to take them. The functions' reserved concurrency (`[lambda.reserved_concurrency]`) bounds how
//! many instances call at once.
//!
//! Standard mode, not adaptive: adaptive's client-side rate limiter lives in one process and
//! learns only from that process's throttles, while each Lambda instance handles one event at a
//! time and never sees the others' — the limit the instances share is Security Hub's, and the cap
//! on them is the reservation.

use std::time::Duration;

use aws_config::retry::RetryConfig;

/// Attempts per call, the first included (the SDK's default is 3).
pub const MAX_ATTEMPTS: u32 = 10;
/// The first retry waits up to this long; each next one up to twice as long as the one before.
pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// No retry waits longer than this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Run `op` until it succeeds, tried again after 250 ms, then twice as long each time (at most
/// 2 s), while another try taking its worst case `attempt` would still end before `until`: for
/// what must happen whatever EC2's throttling, shared with the account's other workloads (the
/// moves out of the all-traffic group, its close), beyond one call's own attempts. The first try
/// always runs; the last error when time is up.
pub async fn until_done<T, F, Fut>(
    until: std::time::Instant,
    attempt: Duration,
    mut op: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut delay = Duration::from_millis(250);
    loop {
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        if std::time::Instant::now() + delay + attempt > until {
            return Err(err);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// The retry settings of every handler client.
pub fn config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(INITIAL_BACKOFF)
        .with_max_backoff(MAX_BACKOFF)
}

/// `sdk` with the handlers' retry settings.
pub fn sdk(sdk: &aws_config::SdkConfig) -> aws_config::SdkConfig {
    sdk.to_builder().retry_config(config()).build()
}

/// The longest one call can spend waiting between its attempts (each wait is drawn from zero up
/// to its cap).
pub fn worst_case_wait() -> Duration {
    (1..MAX_ATTEMPTS)
        .map(|retry| {
            INITIAL_BACKOFF
                .saturating_mul(2u32.saturating_pow(retry - 1))
                .min(MAX_BACKOFF)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_waits_at_most_37_seconds() {
        assert_eq!(worst_case_wait(), Duration::from_secs(1 + 2 + 4 + 5 * 6));
    }

    #[test]
    fn every_client_gets_the_retry_settings() {
        let bare = aws_config::SdkConfig::builder()
            .region(aws_config::Region::new("us-east-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let c = crate::Clients::new(&bare);
        for retry in [
            c.sdk.retry_config(),
            c.securityhub.config().retry_config(),
            c.sns.config().retry_config(),
            c.ec2.config().retry_config(),
            c.s3.config().retry_config(),
        ] {
            assert_eq!(retry, Some(&config()));
        }
    }
}
