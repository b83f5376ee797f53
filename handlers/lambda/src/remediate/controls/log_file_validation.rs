//! CloudTrail.4: a trail without log file integrity validation. A multi-region trail is seen
//! from every region (its "shadow" trails), and Security Hub may report it from any of them, but
//! CloudTrail takes changes only in the trail's home region (UpdateTrail elsewhere:
//! `InvalidHomeRegionException`) — the region its ARN names, which every shadow shares. So every
//! call goes to that region, whatever region the finding came from. Precondition: the trail's
//! ARN names the finding's account (an organization trail belongs to the management account,
//! where it is changed) and GetTrail shows `LogFileValidationEnabled` false. Protection: the
//! trail's tags (ListTags) and `[remediation] protected`. Record: validation was off — the
//! finding's note, said first. Change: UpdateTrail with `EnableLogFileValidation` only (nothing
//! else of the trail changes; a workload sees nothing: CloudTrail only adds hourly digest files
//! beside the logs). Verification: GetTrail re-read. Undo: `aws cloudtrail update-trail --name …
//! --no-enable-log-file-validation --region <home region>`.

use anyhow::Result;

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use super::{record_in_note, refuse};
use crate::sdk_err;

impl Executor<'_> {
    /// Turn on log file validation of the trail `trail` (its ARN), in its home region
    /// (CloudTrail.4).
    pub async fn enable_log_file_validation(&self, trail: &str) -> Result<Outcome, Failed> {
        Box::pin(self.carry_out(&LogFileValidation { trail })).await
    }

    /// This executor's CloudTrail client for `region` (same credentials and declarations).
    fn cloudtrail_in(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        let config = self.cloudtrail.config().to_builder();
        aws_sdk_cloudtrail::Client::from_conf(
            config
                .region(aws_sdk_cloudtrail::config::Region::new(region.to_string()))
                .build(),
        )
    }

    /// Whether the trail validates its log files (GetTrail in its home region).
    async fn validates(&self, home: &aws_sdk_cloudtrail::Client, trail: &str) -> Result<bool> {
        let out = home
            .get_trail()
            .name(trail)
            .send()
            .await
            .map_err(|e| sdk_err("cloudtrail:GetTrail", e))?;
        Ok(out
            .trail()
            .and_then(|t| t.log_file_validation_enabled())
            .unwrap_or(false))
    }
}

struct LogFileValidation<'a> {
    trail: &'a str,
}

/// The trail as read in its home region.
struct Trail {
    home: aws_sdk_cloudtrail::Client,
    region: String,
    validates: bool,
    tags: Vec<(String, String)>,
}

/// The home region and account of a trail's ARN (`arn:aws:cloudtrail:<region>:<account>:trail/…`).
fn place_of(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts[..] {
        ["arn", _, "cloudtrail", region, account, resource]
            if !region.is_empty() && resource.starts_with("trail/") =>
        {
            Some((region, account))
        }
        _ => None,
    }
}

impl Remediation for LogFileValidation<'_> {
    type Subject = Trail;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Trail>> {
        let Some((region, account)) = place_of(self.trail) else {
            refuse(
                out,
                format!("{} is not a trail's ARN: nothing is changed", self.trail),
            );
            return Ok(None);
        };
        if ex.other_account(account, out) {
            return Ok(None);
        }
        let home = ex.cloudtrail_in(region);
        let validates = ex.validates(&home, self.trail).await?;
        let listed = home
            .list_tags()
            .resource_id_list(self.trail)
            .send()
            .await
            .map_err(|e| sdk_err("cloudtrail:ListTags", e))?;
        let tags = listed
            .resource_tag_list()
            .iter()
            .flat_map(|r| r.tags_list())
            .map(|t| {
                (
                    t.key().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        Ok(Some(Trail {
            home,
            region: region.to_string(),
            validates,
            tags,
        }))
    }

    fn touches(&self, t: &Trail) -> Vec<Touched> {
        vec![Touched {
            id: self.trail.to_string(),
            tags: t.tags.clone(),
        }]
    }

    async fn record(&self, _: &Executor<'_>, t: &Trail, out: &mut Outcome, _: bool) -> Result<()> {
        if !t.validates {
            let record = format!(
                "log file validation of trail {} (home region {}) was off",
                self.trail, t.region
            );
            record_in_note(out, record);
        }
        Ok(())
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        t: &Trail,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        if t.validates {
            out.steps.push(format!(
                "trail {} validates its log files already",
                self.trail
            ));
            return Ok(());
        }
        let what = format!(
            "turn on log file validation of trail {} in its home region {}",
            self.trail, t.region
        );
        let call = async {
            t.home
                .update_trail()
                .name(self.trail)
                .enable_log_file_validation(true)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("cloudtrail:UpdateTrail", e))
        };
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    /// One call that either turns validation on or not: nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Trail, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        t: &Trail,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            ex.validates(&t.home, self.trail).await?
        } else {
            t.validates
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trails_home_region_is_the_one_its_arn_names() {
        assert_eq!(
            place_of("arn:aws:cloudtrail:eu-west-1:123456789012:trail/audit"),
            Some(("eu-west-1", "123456789012"))
        );
        assert_eq!(place_of("arn:aws:cloudtrail:::trail/audit"), None);
        assert_eq!(place_of("audit"), None);
        assert_eq!(
            place_of("arn:aws:cloudtrail:eu-west-1:123456789012:eventdatastore/x"),
            None
        );
    }
}
