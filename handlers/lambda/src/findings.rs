//! The findings in Security Hub CSPM (ASFF): one read by id (GetFindings), and BatchUpdateFindings:
//! workflow status, a note and user-defined fields, in batches of at most 100 findings that share
//! the same update. Unprocessed findings (reported with status 200) are retried once and are then
//! errors. The OCSF side (today's Security Hub) is in [`crate::findings_v2`]; [`Mark`] names
//! either, so triage and remediation write back in the finding's own format.

use std::collections::BTreeMap;
use std::future::Future;

use anyhow::Result;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, AwsSecurityFindingIdentifier, NoteUpdate,
    StringFilter, StringFilterComparison, WorkflowStatus, WorkflowUpdate,
};
use secauto_core::finding::{Compliance, Note, Resource, Workflow};
use secauto_core::Finding;

use crate::findings_v2::{self, OcsfTarget, OcsfUpdate};
use crate::sdk_err;

/// Pages of GetFindings read at most while looking for one finding.
const MAX_PAGES: usize = 10;

/// The finding `id` of `product_arn` as Security Hub CSPM holds it now, or `None` if it has none.
///
/// GetFindings through the SDK's own operation (IAM: `securityhub:GetFindings`; AWS's API
/// reference gives it 3 requests a second, burst 6; the SDK retries its throttling). The filters
/// are exact, so the finding is on the first page; an empty page with a NextToken (as paginated
/// AWS APIs may answer) is followed, up to [`MAX_PAGES`].
pub async fn get(
    client: &aws_sdk_securityhub::Client,
    id: &str,
    product_arn: &str,
) -> Result<Option<Finding>> {
    let exact = |v: &str| {
        StringFilter::builder()
            .value(v)
            .comparison(StringFilterComparison::Equals)
            .build()
    };
    let filters = AwsSecurityFindingFilters::builder()
        .id(exact(id))
        .product_arn(exact(product_arn))
        .build();
    let mut next_token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        // Boxed: the SDK's GetFindings future (its output models every resource type) is large,
        // and would otherwise sit inside every caller's future on the stack.
        let page = Box::pin(
            client
                .get_findings()
                .filters(filters.clone())
                .set_next_token(next_token.take())
                .send(),
        )
        .await
        .map_err(|e| sdk_err("securityhub:GetFindings", e))?;
        // AWS filters exactly; matching again costs nothing and keeps a looser server honest.
        if let Some(f) = page
            .findings()
            .iter()
            .find(|f| f.id() == Some(id) && f.product_arn() == Some(product_arn))
        {
            return Ok(Some(from_sdk(f)));
        }
        match page.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => return Ok(None),
        }
    }
    anyhow::bail!(
        "securityhub:GetFindings: finding {id} not found in {MAX_PAGES} pages, and Security Hub has more"
    )
}

/// The fields remediation's vouching reads, from the SDK's finding.
fn from_sdk(f: &AwsSecurityFinding) -> Finding {
    let s = |v: Option<&str>| v.map(str::to_string);
    Finding {
        id: f.id().unwrap_or_default().to_string(),
        product_arn: f.product_arn().unwrap_or_default().to_string(),
        aws_account_id: s(f.aws_account_id()),
        region: s(f.region()),
        updated_at: s(f.updated_at()),
        record_state: f.record_state().map(|r| r.as_str().to_string()),
        workflow: f.workflow().map(|w| Workflow {
            status: w.status().map(|s| s.as_str().to_string()),
        }),
        compliance: f.compliance().map(|c| Compliance {
            status: c.status().map(|s| s.as_str().to_string()),
            security_control_id: s(c.security_control_id()),
            ..Compliance::default()
        }),
        resources: f
            .resources()
            .iter()
            .map(|r| Resource {
                kind: r.r#type().unwrap_or_default().to_string(),
                id: r.id().unwrap_or_default().to_string(),
                region: s(r.region()),
                ..Resource::default()
            })
            .collect(),
        // verify's test finding is known by its ProductFields mark (only its provider sets it).
        product_fields: f
            .product_fields()
            .map(|p| {
                p.iter()
                    .map(|(k, v)| (k.clone(), v.clone().into()))
                    .collect()
            })
            .unwrap_or_default(),
        user_defined_fields: f
            .user_defined_fields()
            .map(|u| u.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        // An earlier run's undo record may be kept there.
        note: f.note().map(|n| Note {
            text: n.text().unwrap_or_default().to_string(),
            updated_by: n.updated_by().unwrap_or_default().to_string(),
        }),
        control_parameters: f
            .compliance()
            .map(|c| {
                c.security_control_parameters()
                    .iter()
                    .map(|p| (p.name().unwrap_or_default().to_string(), p.value().to_vec()))
                    .collect()
            })
            .unwrap_or_default(),
        ..Finding::default()
    }
}

/// A finding's update in its own format: CSPM's BatchUpdateFindings for an ASFF finding,
/// BatchUpdateFindingsV2 for an OCSF one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    Cspm(Target, Update),
    Ocsf(OcsfTarget, OcsfUpdate),
}

/// Apply marks of either format; the number of findings updated. Both formats are tried before
/// an error of either is returned.
pub async fn mark(client: &aws_sdk_securityhub::Client, marks: Vec<Mark>) -> Result<usize> {
    let (mut cspm, mut ocsf) = (Vec::new(), Vec::new());
    for m in marks {
        match m {
            Mark::Cspm(t, u) => cspm.push((t, u)),
            Mark::Ocsf(t, u) => ocsf.push((t, u)),
        }
    }
    let a = if cspm.is_empty() {
        Ok(0)
    } else {
        update(client, cspm).await
    };
    let b = if ocsf.is_empty() {
        Ok(0)
    } else {
        findings_v2::update(client, ocsf).await
    };
    Ok(a? + b?)
}

/// Send `pending` with `send`, which answers the ones left unprocessed (with why); those are sent
/// once more after a short pause, and what is still left is returned with its reasons.
pub(crate) async fn retry_unprocessed<T, F, Fut>(
    mut pending: Vec<T>,
    send: F,
) -> Result<(usize, Vec<(T, String)>)>
where
    T: Clone,
    F: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = Result<Vec<(T, String)>>>,
{
    let mut done = 0;
    for attempt in 0..2 {
        let failed = send(pending.clone()).await?;
        done += pending.len().saturating_sub(failed.len());
        if failed.is_empty() || attempt == 1 {
            return Ok((done, failed));
        }
        pending = failed.into_iter().map(|(t, _)| t).collect();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Ok((done, Vec::new()))
}

/// BatchUpdateFindings takes at most 100 findings per call.
pub const MAX_PER_CALL: usize = 100;

/// One finding to update.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub id: String,
    pub product_arn: String,
}

/// The update to apply.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Update {
    /// NEW, NOTIFIED, RESOLVED or SUPPRESSED (there is no IN_PROGRESS).
    pub workflow: &'static str,
    pub note: String,
    pub user_defined_fields: BTreeMap<String, String>,
}

/// Apply updates; findings that share an update go in one call (up to 100).
pub async fn update(
    client: &aws_sdk_securityhub::Client,
    updates: Vec<(Target, Update)>,
) -> Result<usize> {
    let mut groups: BTreeMap<Update, Vec<Target>> = BTreeMap::new();
    for (t, u) in updates {
        groups.entry(u).or_default().push(t);
    }
    let mut done = 0;
    let mut errors = Vec::new();
    for (u, targets) in groups {
        for chunk in targets.chunks(MAX_PER_CALL) {
            let (n, failed) = retry_unprocessed(chunk.to_vec(), |t| {
                let u = &u;
                async move { send(client, u, &t).await }
            })
            .await?;
            done += n;
            errors.extend(failed.iter().map(|(t, why)| format!("{}: {why}", t.id)));
        }
    }
    all_processed("securityhub:BatchUpdateFindings", &errors)?;
    Ok(done)
}

/// An error naming every finding `op` left unprocessed, if any.
pub(crate) fn all_processed(op: &str, errors: &[String]) -> Result<()> {
    if !errors.is_empty() {
        anyhow::bail!(
            "{op} left {} finding(s) unprocessed: {}",
            errors.len(),
            errors.join("; ")
        );
    }
    Ok(())
}

async fn send(
    client: &aws_sdk_securityhub::Client,
    u: &Update,
    targets: &[Target],
) -> Result<Vec<(Target, String)>> {
    let ids = targets
        .iter()
        .map(|t| {
            AwsSecurityFindingIdentifier::builder()
                .id(&t.id)
                .product_arn(&t.product_arn)
                .build()
        })
        .collect::<Vec<_>>();
    let out = client
        .batch_update_findings()
        .set_finding_identifiers(Some(ids))
        .workflow(
            WorkflowUpdate::builder()
                .status(WorkflowStatus::from(u.workflow))
                .build(),
        )
        .note(
            NoteUpdate::builder()
                .text(u.note.chars().take(512).collect::<String>())
                .updated_by("secauto")
                .build(),
        )
        .set_user_defined_fields(if u.user_defined_fields.is_empty() {
            None
        } else {
            Some(u.user_defined_fields.clone().into_iter().collect())
        })
        .send()
        .await
        .map_err(|e| sdk_err("securityhub:BatchUpdateFindings", e))?;
    Ok(out
        .unprocessed_findings()
        .iter()
        .filter_map(|f| {
            let id = f.finding_identifier()?;
            Some((
                Target {
                    id: id.id().unwrap_or_default().to_string(),
                    product_arn: id.product_arn().unwrap_or_default().to_string(),
                },
                format!(
                    "{} {}",
                    f.error_code().unwrap_or("?"),
                    f.error_message().unwrap_or_default()
                ),
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Remediation re-reads verify's test finding through GetFindings: the finding it reads back
    /// must still carry every mark `is_test` asks for (the ProductFields key among them).
    #[test]
    fn a_test_finding_read_back_is_still_a_test() {
        let product = "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default";
        let f = AwsSecurityFinding::builder()
            .id(format!("{}1", secauto_core::verify::ID_PREFIX))
            .product_arn(product)
            .aws_account_id("123456789012")
            .product_fields(secauto_core::verify::FIELD, "a test")
            .build();
        assert!(secauto_core::verify::is_test(&from_sdk(&f)));
    }
}
