//! BatchUpdateFindings: workflow status, a note and user-defined fields, in batches of at most 100
//! findings that share the same update. Unprocessed findings (reported with status 200) are retried
//! once and are then errors.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus, WorkflowUpdate,
};

use crate::sdk_err;

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
            let mut pending: Vec<Target> = chunk.to_vec();
            for attempt in 0..2 {
                let failed = send(client, &u, &pending).await?;
                done += pending.len() - failed.len();
                if failed.is_empty() {
                    pending.clear();
                    break;
                }
                if attempt == 1 {
                    errors.extend(failed.iter().map(|(t, why)| format!("{}: {why}", t.id)));
                }
                pending = failed.into_iter().map(|(t, _)| t).collect();
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
    if !errors.is_empty() {
        anyhow::bail!(
            "securityhub:BatchUpdateFindings left {} finding(s) unprocessed: {}",
            errors.len(),
            errors.join("; ")
        );
    }
    Ok(done)
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
