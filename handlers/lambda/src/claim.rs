//! One remediation at a time per resource. The same fact arrives twice when both Security Hubs
//! are on (an ASFF and an OCSF copy, each its own event, in no documented order), and several
//! findings can name one instance or bucket: without a claim their runs interleave (an isolation
//! pulling an interface another just quarantined back through the all-traffic group; two S3 fixes
//! each writing the bucket's whole tag set). A run claims its resources before its first write
//! with an SSM parameter created only if absent (`PutParameter` without `Overwrite`, which SSM
//! refuses with `ParameterAlreadyExists`), in the stack's own account and region whatever account
//! it acts in; a second run waits for it, then does its own precondition read (which finds the
//! first run's work done). The claim records when its holder's invocation ends: one left by a run
//! that died is taken over once that time has passed.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use aws_sdk_ssm::types::ParameterType;

use crate::sdk_err;

/// How often a waiting run looks again.
const POLL: Duration = Duration::from_millis(500);

/// The time a waiting run keeps for its own work: it gives up waiting (and fails, for Lambda to
/// retry the event later) rather than start with less.
pub const KEEP_FOR_OWN_RUN: Duration = Duration::from_secs(60);

/// A claim on the resources one remediation acts on, released by [`Claim::release`].
#[derive(Debug)]
pub struct Claim {
    name: String,
    value: String,
}

/// The parameter name of the claim on `key` (account, region and resources): a UUIDv5 of it, so
/// any resource id fits SSM's name rules.
pub fn name_of(stack: &str, key: &str) -> String {
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, key.as_bytes());
    format!("{}{id}", secauto_core::names::claims_path(stack))
}

/// What a claim is on: the resource in its account and region, by its short id (the last segment
/// of an ARN), so an ASFF copy naming an ARN and an OCSF copy naming the id claim alike.
pub fn key(account: &str, region: &str, kind: &str, resource: &str) -> String {
    let short = resource.rsplit(['/', ':']).next().unwrap_or(resource);
    format!("{account}/{region}/{kind}/{short}")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `holder#run until`: who holds it (unique to the run, so a release never takes another run's
/// claim) and the Unix time its invocation ends.
fn value_of(holder: &str, deadline: Option<Instant>) -> String {
    let left = deadline.map_or(Duration::from_secs(900), |d| {
        d.saturating_duration_since(Instant::now())
    });
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let holder: String = holder.chars().filter(|c| !c.is_whitespace()).collect();
    format!("{holder}#{run} {}", unix_now() + left.as_secs() + 1)
}

/// Whether a claim's holder's invocation has ended (a value that cannot be read counts as ended:
/// nothing secauto writes looks like that).
fn expired(value: &str) -> bool {
    let until = value.rsplit(' ').next().and_then(|t| t.parse::<u64>().ok());
    until.is_none_or(|until| until < unix_now())
}

/// Claim `key` for `holder`, waiting while another run holds it, until only
/// [`KEEP_FOR_OWN_RUN`] of the invocation is left; then an error saying who holds it.
pub async fn claim(
    ssm: &aws_sdk_ssm::Client,
    stack: &str,
    key: &str,
    holder: &str,
    deadline: Option<Instant>,
) -> Result<Claim> {
    let name = name_of(stack, key);
    let value = value_of(holder, deadline);
    let give_up = deadline.map_or(Instant::now() + KEEP_FOR_OWN_RUN, |d| {
        d.checked_sub(KEEP_FOR_OWN_RUN).unwrap_or(d)
    });
    loop {
        let put = ssm
            .put_parameter()
            .name(&name)
            .value(&value)
            .r#type(ParameterType::String)
            .overwrite(false)
            .description(format!("secauto: a remediation of {key} is running"))
            .send()
            .await;
        let held_by = match put {
            Ok(_) => return Ok(Claim { name, value }),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_already_exists()) =>
            {
                current(ssm, &name).await?
            }
            Err(e) => return Err(sdk_err("ssm:PutParameter", e)),
        };
        match held_by {
            Some(other) if expired(&other) => take_over(ssm, &name, &other).await?,
            Some(other) if Instant::now() >= give_up => anyhow::bail!(
                "another remediation of {key} is still running ({}, claim {name}): this event is retried later",
                other.split(' ').next().unwrap_or_default()
            ),
            // Released meanwhile: claim again at once.
            None => continue,
            Some(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// The claim's value, `None` when there is none.
async fn current(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<Option<String>> {
    match ssm.get_parameter().name(name).send().await {
        Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(String::from)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(sdk_err("ssm:GetParameter", e)),
    }
}

/// Delete the claim at `name` if it still says `value` (a claim made meanwhile is left).
async fn delete_if(ssm: &aws_sdk_ssm::Client, name: &str, value: &str) -> Result<()> {
    if current(ssm, name).await?.as_deref() != Some(value) {
        return Ok(());
    }
    match ssm.delete_parameter().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(())
        }
        Err(e) => Err(sdk_err("ssm:DeleteParameter", e)),
    }
}

/// A claim whose holder's invocation has ended (a run that died): removed, to be claimed anew.
async fn take_over(ssm: &aws_sdk_ssm::Client, name: &str, stale: &str) -> Result<()> {
    tracing::warn!("taking over claim {name}, whose holder's invocation ended: {stale}");
    delete_if(ssm, name, stale).await
}

/// Run `work` holding the claim on `key` (claimed for `event`'s finding, released after).
pub async fn one_at_a_time<T>(
    clients: &crate::Clients,
    env: &crate::env::Env,
    key: &str,
    event: &secauto_core::ResponseEvent,
    deadline: Option<Instant>,
    work: impl std::future::Future<Output = T>,
) -> Result<T> {
    let holder = &event.finding.id;
    let claimed = Box::pin(claim(&clients.ssm, &env.stack, key, holder, deadline)).await?;
    let done = work.await;
    claimed.release(&clients.ssm).await;
    Ok(done)
}

impl Claim {
    /// Release the claim (best effort: a claim left behind expires with its invocation).
    pub async fn release(self, ssm: &aws_sdk_ssm::Client) {
        if let Err(e) = delete_if(ssm, &self.name, &self.value).await {
            tracing::warn!("could not release claim {}: {e:#}", self.name);
        }
    }

    /// The parameter holding it.
    pub fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_records_when_its_holder_ends_and_expires_after() {
        let soon = Instant::now() + Duration::from_secs(30);
        let v = value_of("run-1", Some(soon));
        assert!(v.starts_with("run-1#"), "{v}");
        assert_ne!(v, value_of("run-1", Some(soon)), "unique to the run");
        assert!(!expired(&v), "held while its invocation runs");
        assert!(expired(&format!("run-1 {}", unix_now() - 1)));
        assert!(expired("garbage"), "nothing secauto writes");
    }

    #[test]
    fn an_arn_and_its_short_id_claim_alike() {
        let by_arn = key(
            "1",
            "r",
            "AwsEc2Instance",
            "arn:aws:ec2:r:1:instance/i-0abc",
        );
        assert_eq!(by_arn, key("1", "r", "AwsEc2Instance", "i-0abc"));
        assert_eq!(
            key("1", "r", "AwsS3Bucket", "arn:aws:s3:::b"),
            key("1", "r", "AwsS3Bucket", "b")
        );
    }

    #[test]
    fn a_claims_name_fits_ssm_whatever_the_resource() {
        let n = name_of(
            "sec",
            "123456789012/us-east-1/AwsS3Bucket/my.bucket:with odd#chars",
        );
        assert!(n.starts_with("/sec/remediation-claims/"), "{n}");
        assert!(
            n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c)),
            "{n}"
        );
        assert_eq!(
            n,
            name_of(
                "sec",
                "123456789012/us-east-1/AwsS3Bucket/my.bucket:with odd#chars"
            )
        );
    }
}
