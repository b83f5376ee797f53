//! verify's test finding: made, imported (BatchImportFindings with the account's default product
//! ARN), read back, and closed again — RESOLVED by BatchUpdateFindings, then ARCHIVED by the provider's
//! own BatchImportFindings (only the provider may set `RecordState`), and its OCSF twin in today's
//! Security Hub, when there is one, Resolved by BatchUpdateFindingsV2.

use std::collections::HashMap;

use anyhow::Result;
use aws_sdk_securityhub::types::{
    AllowedOperators, AwsSecurityFinding, AwsSecurityFindingFilters, AwsSecurityFindingIdentifier,
    CompositeFilter, NoteUpdate, OcsfFindingFilters, OcsfStringField, OcsfStringFilter, Resource,
    Severity, StringFilter, StringFilterComparison, WorkflowUpdate,
};
use secauto_core::verify::{FIELD, ID_PREFIX};

use crate::aws::Clients;

/// The test finding of one run.
#[derive(Debug, Clone)]
pub struct TestFinding {
    pub id: String,
    pub product_arn: String,
    pub account: String,
    pub region: String,
    /// A severity the findings rule matches (the first of `[findings] severities`).
    pub severity: String,
    pub created_at: String,
}

/// What Security Hub holds of the test finding now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub workflow: String,
    pub record_state: String,
    pub note: String,
    pub fields: HashMap<String, String>,
}

impl TestFinding {
    /// A new test finding of the stack's account and region; its id is unique to this run.
    pub fn new(stack: &str, partition: &str, account: &str, region: &str, severity: &str) -> Self {
        let now = chrono::Utc::now();
        let id = format!(
            "{ID_PREFIX}{stack}-{}-{}",
            now.timestamp_millis(),
            std::process::id()
        );
        TestFinding {
            product_arn: format!(
                "arn:{partition}:securityhub:{region}:{account}:product/{account}/default"
            ),
            id,
            account: account.into(),
            region: region.into(),
            severity: severity.into(),
            created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    }

    /// The finding as ASFF. Its one resource is of type `Other` with an id that names nothing, and
    /// triage sends a test finding on as notify-only whatever the policy: no remediation can act.
    fn asff(&self, record_state: &str) -> AwsSecurityFinding {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let said = "secauto verify test finding: safe to ignore; verify archives it when done";
        AwsSecurityFinding::builder()
            .schema_version("2018-10-08")
            .id(&self.id)
            .product_arn(&self.product_arn)
            .generator_id("secauto-verify")
            .aws_account_id(&self.account)
            .region(&self.region)
            .types("Software and Configuration Checks/secauto/Verify")
            .created_at(&self.created_at)
            .updated_at(now)
            .severity(
                Severity::builder()
                    .label(self.severity.as_str().into())
                    .build(),
            )
            .title("[secauto verify] test finding: not a real issue")
            .description(said)
            .product_fields(FIELD, said)
            .user_defined_fields(FIELD, "test")
            .resources(
                Resource::builder()
                    .r#type("Other")
                    .id(format!("secauto-verify-nonexistent-{}", self.id.len()))
                    .region(&self.region)
                    .build(),
            )
            .record_state(record_state.into())
            .build()
    }

    /// BatchImportFindings of the finding (`ACTIVE`, or `ARCHIVED` to close it).
    pub async fn import(&self, c: &Clients, record_state: &str) -> Result<()> {
        let out = c
            .securityhub
            .batch_import_findings()
            .findings(self.asff(record_state))
            .send()
            .await
            .map_err(|e| crate::error::aws("securityhub:BatchImportFindings", e))?;
        if let Some(f) = out.failed_findings().first() {
            anyhow::bail!(
                "securityhub:BatchImportFindings refused the test finding: {}: {}",
                f.error_code().unwrap_or_default(),
                f.error_message().unwrap_or_default()
            );
        }
        Ok(())
    }

    /// The finding as Security Hub CSPM holds it (GetFindings by Id and ProductArn).
    pub async fn read(&self, c: &Clients) -> Result<Option<Seen>> {
        let exact = |v: &str| {
            StringFilter::builder()
                .value(v)
                .comparison(StringFilterComparison::Equals)
                .build()
        };
        let filters = AwsSecurityFindingFilters::builder()
            .id(exact(&self.id))
            .product_arn(exact(&self.product_arn))
            .build();
        let out = Box::pin(c.securityhub.get_findings().filters(filters).send())
            .await
            .map_err(|e| crate::error::aws("securityhub:GetFindings", e))?;
        Ok(out
            .findings()
            .iter()
            .find(|f| f.id() == Some(self.id.as_str()))
            .map(|f| Seen {
                workflow: f
                    .workflow()
                    .and_then(|w| w.status())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                record_state: f
                    .record_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                note: f
                    .note()
                    .and_then(|n| n.text())
                    .unwrap_or_default()
                    .to_string(),
                fields: f.user_defined_fields().cloned().unwrap_or_default(),
            }))
    }

    /// Close the finding: ARCHIVED by its provider, then RESOLVED with a note. Archived first, so
    /// that a finding whose import a signal interrupted (it may or may not exist) is made, if it
    /// must be, already archived — never left ACTIVE — and the findings rule (ACTIVE only) never
    /// fires on the update.
    pub async fn archive(&self, c: &Clients) -> Result<()> {
        self.import(c, "ARCHIVED").await?;
        let ident = AwsSecurityFindingIdentifier::builder()
            .id(&self.id)
            .product_arn(&self.product_arn)
            .build();
        let out = c
            .securityhub
            .batch_update_findings()
            .finding_identifiers(ident)
            .workflow(WorkflowUpdate::builder().status("RESOLVED".into()).build())
            .note(
                NoteUpdate::builder()
                    .text("secauto verify: test finding, resolved and archived")
                    .updated_by("secauto verify")
                    .build(),
            )
            .send()
            .await
            .map_err(|e| crate::error::aws("securityhub:BatchUpdateFindings", e))?;
        if let Some(f) = out.unprocessed_findings().first() {
            anyhow::bail!(
                "securityhub:BatchUpdateFindings left the test finding unprocessed: {}",
                f.error_message().unwrap_or_default()
            );
        }
        Ok(())
    }

    /// The `metadata.uid`, `status_id` and comment of the finding's OCSF twins in today's Security
    /// Hub (GetFindingsV2 by `finding_info.uid`); none where it is off. Any other error is said.
    pub async fn twins(&self, c: &Clients) -> Result<Vec<(String, i64, String)>> {
        let found = twins_where(c, StringFilterComparison::Equals, &self.id).await?;
        Ok(found
            .into_iter()
            .filter(|(finding, ..)| *finding == self.id)
            .map(|(_, uid, status, comment)| (uid, status, comment))
            .collect())
    }

    /// The open OCSF twins (not Resolved or Archived) of earlier runs' test findings of `stack`: a
    /// twin today's Security Hub made after that run's clean-up (AWS documents no delay between a
    /// finding and its twin) is resolved by the next run.
    pub async fn earlier_twins(&self, c: &Clients, stack: &str) -> Result<Vec<String>> {
        let prefix = format!("{ID_PREFIX}{stack}-");
        let found = twins_where(c, StringFilterComparison::Prefix, &prefix).await?;
        Ok(found
            .into_iter()
            .filter(|(finding, _, status, _)| {
                *finding != self.id && finding.starts_with(&prefix) && *status != 4 && *status != 5
            })
            .map(|(_, uid, ..)| uid)
            .collect())
    }

    /// Resolve the OCSF twins (status_id 4) with a comment.
    pub async fn resolve_twins(&self, c: &Clients, uids: Vec<String>) -> Result<()> {
        if uids.is_empty() {
            return Ok(());
        }
        let out = c
            .securityhub
            .batch_update_findings_v2()
            .set_metadata_uids(Some(uids))
            .status_id(4)
            .comment("secauto verify: test finding, resolved")
            .send()
            .await
            .map_err(|e| crate::error::aws("securityhub:BatchUpdateFindingsV2", e))?;
        if let Some(f) = out.unprocessed_findings().first() {
            anyhow::bail!(
                "securityhub:BatchUpdateFindingsV2 left the test finding's twin unprocessed: {}",
                f.error_message().unwrap_or_default()
            );
        }
        Ok(())
    }
}

/// `(finding_info.uid, metadata.uid, status_id, comment)` of the OCSF findings whose
/// `finding_info.uid` compares so to `value`; none where today's Security Hub is off.
async fn twins_where(
    c: &Clients,
    comparison: StringFilterComparison,
    value: &str,
) -> Result<Vec<(String, String, i64, String)>> {
    let filter = OcsfStringFilter::builder()
        .field_name(OcsfStringField::FindingInfoUid)
        .filter(
            StringFilter::builder()
                .value(value)
                .comparison(comparison)
                .build(),
        )
        .build();
    let filters = OcsfFindingFilters::builder()
        .composite_filters(
            CompositeFilter::builder()
                .operator(AllowedOperators::And)
                .string_filters(filter)
                .build(),
        )
        .build();
    let out = match c
        .securityhub
        .get_findings_v2()
        .filters(filters)
        .send()
        .await
    {
        Ok(out) => out,
        // Today's Security Hub is off here: there is no twin.
        Err(e) if crate::error::code(&e).is_some_and(|c| OFF.contains(&c)) => return Ok(vec![]),
        Err(e) => return Err(crate::error::aws("securityhub:GetFindingsV2", e)),
    };
    Ok(out
        .findings()
        .iter()
        .map(crate::verify::document_json)
        .filter_map(|f| {
            let finding = f["finding_info"]["uid"].as_str()?.to_string();
            let uid = f["metadata"]["uid"].as_str()?.to_string();
            let comment = f["comment"].as_str().unwrap_or_default().to_string();
            Some((finding, uid, f["status_id"].as_i64().unwrap_or(0), comment))
        })
        .collect())
}

/// What GetFindingsV2 answers where today's Security Hub is not enabled.
const OFF: &[&str] = &["ResourceNotFoundException", "InvalidAccessException"];
