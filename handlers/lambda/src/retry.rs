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

/// How many times [`read_until`] reads, the first included: waits of 0.5, 1, 2 and 4 s between
/// them, 7.5 s in all.
pub const SETTLE_READS: u32 = 5;

/// Time [`read_until`] leaves before `until` for what follows the verification (the finding's
/// note and workflow, the notification).
pub const SETTLE_RESERVE: Duration = Duration::from_secs(10);

/// Read with `read` until `done` holds of the answer, at most [`SETTLE_READS`] times and never
/// into the last [`SETTLE_RESERVE`] before `until` (the invocation's end), and give the last
/// answer: for the verification re-read after a change to a service whose reads are eventually
/// consistent (IAM: "a change … is not immediately visible" to every read; the first re-read may
/// still show the state before the change). A re-read still running at the reserve (a call
/// retrying under throttling) is dropped for the answer before it; a read's error ends it at once.
pub async fn read_until<T, F, Fut>(
    until: Option<std::time::Instant>,
    mut read: F,
    done: impl Fn(&T) -> bool,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    use tokio::time::Instant;
    // The reserve's start; tokio's clock, which is std's outside tests.
    let cutoff = until.map(|u| Instant::from_std(u).checked_sub(SETTLE_RESERVE));
    let mut delay = Duration::from_millis(500);
    let mut answer = read().await?;
    for _ in 1..SETTLE_READS {
        let late = cutoff.is_some_and(|c| c.is_none_or(|c| Instant::now() + delay > c));
        if done(&answer) || late {
            break;
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
        let again = match cutoff.flatten() {
            Some(c) => match tokio::time::timeout_at(c, read()).await {
                Ok(again) => again,
                Err(_) => break,
            },
            None => read().await,
        };
        answer = again?;
    }
    Ok(answer)
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

    /// Reads until the answer is the one wanted, at most five times; never waits into the last
    /// ten seconds of the invocation (tokio's clock paused: its sleeps take no real time).
    #[tokio::test(start_paused = true)]
    async fn read_until_stops_when_done_after_five_reads_or_near_the_end() {
        let reads = std::sync::atomic::AtomicU32::new(0);
        let read = || async { Ok(reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1) };
        let reads_in = |secs: u64| {
            reads.store(0, std::sync::atomic::Ordering::SeqCst);
            Some(tokio::time::Instant::now().into_std() + Duration::from_secs(secs))
        };
        assert_eq!(read_until(None, read, |n| *n == 2).await.unwrap(), 2);
        assert_eq!(read_until(reads_in(5), read, |_| false).await.unwrap(), 1);
        assert_eq!(read_until(reads_in(10), read, |_| false).await.unwrap(), 1);
        // Reads at 0, 0.5 and 1.5 s; the next, at 3.5 s, would be past 12 - 10.
        assert_eq!(read_until(reads_in(12), read, |_| false).await.unwrap(), 3);
        let far = read_until(reads_in(600), read, |_| false).await;
        assert_eq!(far.unwrap(), SETTLE_READS);
    }

    /// A re-read still running when the reserve begins is given up for the answer before it.
    #[tokio::test(start_paused = true)]
    async fn a_re_read_that_runs_into_the_reserve_gives_the_answer_before_it() {
        let reads = std::sync::atomic::AtomicU32::new(0);
        let slow_second = || async {
            let n = reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            if n == 2 {
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            Ok(n)
        };
        let until = tokio::time::Instant::now().into_std() + Duration::from_secs(20);
        let started = tokio::time::Instant::now();
        assert_eq!(
            read_until(Some(until), slow_second, |_| false)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(10),
            "ends where the reserve begins"
        );
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
