//! The findings of today's Security Hub (OCSF), through its V2 operations:
//!
//! - GetFindingsV2 (`POST /findingsv2`): one finding by `metadata.uid` (else by the triple
//!   `cloud.account.uid` + `finding_info.uid` + `metadata.product.uid`), read into the one finding
//!   model by `secauto_core::ocsf::parse`. AWS's API reference: "GetFindings and GetFindingsV2 both
//!   use securityhub:GetFindings in the Action element of an IAM policy statement"; errors
//!   AccessDeniedException, ConflictException, InternalServerException, ThrottlingException,
//!   ValidationException (and the organization ones of `Scopes`, which are not used). Its rate is not
//!   among the SDK documentation's named limits, so "all other operations": 10 requests a second,
//!   burst 30; ThrottlingException is retried by the SDK's standard retry.
//! - BatchUpdateFindingsV2 (`PATCH /findingsv2/batchupdatev2`): `Comment` (1–512 characters,
//!   at least one non-space), `StatusId`, by `MetadataUids` or `FindingIdentifiers` (never both in
//!   one request), at most 100 each. AWS's API reference: "BatchUpdateFindings and
//!   BatchUpdateFindingsV2 both use securityhub:BatchUpdateFindings"; updates do not change
//!   `finding_info.modified_time` or `time`. Findings it cannot update come back with HTTP 200 in
//!   `UnprocessedFindings` (ErrorCode ResourceNotFoundException, ValidationException,
//!   ConflictException, InternalServerException): retried once, as CSPM's, then an error.

use std::collections::BTreeMap;

use anyhow::Result;
use aws_sdk_securityhub::types::{
    AllowedOperators, CompositeFilter, OcsfFindingFilters, OcsfFindingIdentifier, OcsfStringField,
    OcsfStringFilter, StringFilter, StringFilterComparison,
};
use aws_smithy_types::{Document, Number};
use secauto_core::finding::OcsfIdentity;
use secauto_core::Finding;
use serde_json::Value;

use crate::findings::{all_processed, retry_unprocessed, MAX_PER_CALL};
use crate::sdk_err;

/// OCSF `status_id` 2: In Progress (triage's mark; the V2 rule matches only New, 1).
pub const IN_PROGRESS: i32 = 2;
/// OCSF `status_id` 4: Resolved.
pub const RESOLVED: i32 = 4;

/// BatchUpdateFindingsV2's `Comment` is 1–512 characters.
pub const MAX_COMMENT: usize = 512;

/// How an OCSF finding is named to the V2 operations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum OcsfTarget {
    /// `metadata.uid`, globally unique.
    MetadataUid(String),
    /// `cloud.account.uid`, `finding_info.uid`, `metadata.product.uid`.
    Identifier(String, String, String),
}

impl OcsfTarget {
    /// The target of an OCSF identity: `metadata.uid` when known, else the triple.
    pub fn of(id: &OcsfIdentity) -> Option<OcsfTarget> {
        if let Some(uid) = id.metadata_uid.as_deref().filter(|u| !u.is_empty()) {
            return Some(OcsfTarget::MetadataUid(uid.to_string()));
        }
        let (a, f, p) = id.finding_identifier()?;
        Some(OcsfTarget::Identifier(a.into(), f.into(), p.into()))
    }

    /// Whether the OCSF identity `id` is the finding this target names: by `metadata.uid`, or by
    /// the triple (a finding read back always has a `metadata.uid`, so the triple is compared
    /// field by field, not through [`OcsfTarget::of`]).
    pub fn names(&self, id: &OcsfIdentity) -> bool {
        match self {
            OcsfTarget::MetadataUid(u) => id.metadata_uid.as_deref() == Some(u.as_str()),
            OcsfTarget::Identifier(a, f, p) => {
                id.finding_identifier() == Some((a.as_str(), f.as_str(), p.as_str()))
            }
        }
    }

    /// The target in words, for errors and notes.
    pub fn describe(&self) -> String {
        match self {
            OcsfTarget::MetadataUid(u) => format!("metadata.uid {u}"),
            OcsfTarget::Identifier(a, f, _) => format!("finding_info.uid {f} of account {a}"),
        }
    }
}

/// What BatchUpdateFindingsV2 sets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OcsfUpdate {
    /// `StatusId` (2 In Progress, 4 Resolved), or none to leave it.
    pub status_id: Option<i32>,
    /// `Comment`, cut to [`MAX_COMMENT`] characters.
    pub comment: String,
}

/// `s` cut to at most `max` characters (not bytes: the API counts characters).
pub fn clip_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn string_filter(field: OcsfStringField, value: &str) -> OcsfStringFilter {
    OcsfStringFilter::builder()
        .field_name(field)
        .filter(
            StringFilter::builder()
                .value(value)
                .comparison(StringFilterComparison::Equals)
                .build(),
        )
        .build()
}

/// The GetFindingsV2 filters that select exactly `target`.
pub fn filters(target: &OcsfTarget) -> OcsfFindingFilters {
    let mut all = CompositeFilter::builder().operator(AllowedOperators::And);
    match target {
        OcsfTarget::MetadataUid(u) => {
            all = all.string_filters(string_filter(OcsfStringField::MetadataUid, u));
        }
        OcsfTarget::Identifier(a, f, p) => {
            all = all
                .string_filters(string_filter(OcsfStringField::CloudAccountUid, a))
                .string_filters(string_filter(OcsfStringField::FindingInfoUid, f))
                .string_filters(string_filter(OcsfStringField::MetadataProductUid, p));
        }
    }
    OcsfFindingFilters::builder()
        .composite_filters(all.build())
        .composite_operator(AllowedOperators::And)
        .build()
}

/// The finding `target` names, as today's Security Hub holds it now, or `None` if it has none.
/// The answer is matched again (a looser server must not make remediation act on another finding).
pub async fn get(
    client: &aws_sdk_securityhub::Client,
    target: &OcsfTarget,
) -> Result<Option<Finding>> {
    let mut next_token: Option<String> = None;
    for _ in 0..10 {
        let page = client
            .get_findings_v2()
            .filters(filters(target))
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|e| sdk_err("securityhub:GetFindingsV2", e))?;
        for doc in page.findings() {
            let Ok(f) = secauto_core::ocsf::parse(&to_json(doc)) else {
                continue;
            };
            if f.ocsf.as_ref().is_some_and(|id| target.names(id)) {
                return Ok(Some(f));
            }
        }
        match page.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => return Ok(None),
        }
    }
    anyhow::bail!(
        "securityhub:GetFindingsV2: {} not found in 10 pages, and Security Hub has more",
        target.describe()
    )
}

/// How long remediation reads again, at most, for a finding today's Security Hub does not return
/// yet: triage acted on its event moments ago, and AWS documents no read-after-event consistency
/// for GetFindingsV2, so an empty answer then is not yet proof of a forged event.
pub const READ_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// [`get`], read again with backoff (0.25 s, doubling, at most 5 s apart) while Security Hub has
/// no such finding, for at most `patience`; the finding (or `None`) and how many reads it took.
pub async fn get_eventually(
    client: &aws_sdk_securityhub::Client,
    target: &OcsfTarget,
    patience: std::time::Duration,
) -> Result<(Option<Finding>, u32)> {
    let start = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(250);
    let mut reads = 0;
    loop {
        reads += 1;
        if let Some(f) = get(client, target).await? {
            return Ok((Some(f), reads));
        }
        let left = patience.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Ok((None, reads));
        }
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(5));
    }
}

/// The finding `target` names, read with [`get_eventually`] for up to [`READ_PATIENCE`] and never
/// more than half the time left before `deadline` (the invocation's end); when Security Hub still
/// has none, why the event naming it is not acted on.
pub async fn get_before(
    client: &aws_sdk_securityhub::Client,
    target: &OcsfTarget,
    deadline: Option<std::time::Instant>,
) -> Result<Result<Finding, String>> {
    let patience = deadline.map_or(READ_PATIENCE, |d| {
        let half = d.saturating_duration_since(std::time::Instant::now()) / 2;
        half.min(READ_PATIENCE)
    });
    let (live, reads) = get_eventually(client, target, patience).await?;
    Ok(live.ok_or_else(|| {
        format!(
            "Security Hub has no OCSF finding with {} (read {reads} times over {:.1} s): the event is not acted on",
            target.describe(),
            patience.as_secs_f64()
        )
    }))
}

/// A smithy document as JSON.
pub fn to_json(d: &Document) -> Value {
    match d {
        Document::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        Document::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Document::Number(Number::PosInt(n)) => Value::from(*n),
        Document::Number(Number::NegInt(n)) => Value::from(*n),
        Document::Number(Number::Float(f)) => Value::from(*f),
        Document::String(s) => Value::String(s.clone()),
        Document::Bool(b) => Value::Bool(*b),
        Document::Null => Value::Null,
    }
}

/// Apply updates; findings that share an update go in one call per way of naming them (the API
/// takes `MetadataUids` or `FindingIdentifiers`, not both), up to 100.
pub async fn update(
    client: &aws_sdk_securityhub::Client,
    updates: Vec<(OcsfTarget, OcsfUpdate)>,
) -> Result<usize> {
    let mut groups: BTreeMap<(OcsfUpdate, bool), Vec<OcsfTarget>> = BTreeMap::new();
    for (t, u) in updates {
        let by_uid = matches!(t, OcsfTarget::MetadataUid(_));
        groups.entry((u, by_uid)).or_default().push(t);
    }
    let mut done = 0;
    let mut errors = Vec::new();
    for ((u, _), targets) in groups {
        for chunk in targets.chunks(MAX_PER_CALL) {
            let (n, failed) = retry_unprocessed(chunk.to_vec(), |t| {
                let u = &u;
                async move { send(client, u, &t).await }
            })
            .await?;
            done += n;
            errors.extend(
                failed
                    .iter()
                    .map(|(t, why)| format!("{}: {why}", t.describe())),
            );
        }
    }
    all_processed("securityhub:BatchUpdateFindingsV2", &errors)?;
    Ok(done)
}

async fn send(
    client: &aws_sdk_securityhub::Client,
    u: &OcsfUpdate,
    targets: &[OcsfTarget],
) -> Result<Vec<(OcsfTarget, String)>> {
    let mut req = client
        .batch_update_findings_v2()
        .set_status_id(u.status_id)
        .set_comment(Some(clip_chars(&u.comment, MAX_COMMENT)).filter(|c| !c.trim().is_empty()));
    for t in targets {
        req = match t {
            OcsfTarget::MetadataUid(uid) => req.metadata_uids(uid),
            OcsfTarget::Identifier(a, f, p) => req.finding_identifiers(
                OcsfFindingIdentifier::builder()
                    .cloud_account_uid(a)
                    .finding_info_uid(f)
                    .metadata_product_uid(p)
                    .build(),
            ),
        };
    }
    let out = req
        .send()
        .await
        .map_err(|e| sdk_err("securityhub:BatchUpdateFindingsV2", e))?;
    let mut failed = Vec::new();
    for f in out.unprocessed_findings() {
        let why = format!(
            "{} {}",
            f.error_code().map(|c| c.as_str()).unwrap_or("?"),
            f.error_message().unwrap_or_default()
        );
        let target = match (f.metadata_uid(), f.finding_identifier()) {
            (Some(uid), _) => OcsfTarget::MetadataUid(uid.to_string()),
            (None, Some(i)) => OcsfTarget::Identifier(
                i.cloud_account_uid().unwrap_or_default().to_string(),
                i.finding_info_uid().unwrap_or_default().to_string(),
                i.metadata_product_uid().unwrap_or_default().to_string(),
            ),
            // Unnamed: it can only be the one finding sent; among several, none can be retried
            // (an empty uid would name nothing), so the whole update fails, saying so.
            (None, None) if targets.len() == 1 => targets[0].clone(),
            (None, None) => anyhow::bail!(
                "securityhub:BatchUpdateFindingsV2 left a finding unprocessed without naming it ({why}), among {} sent: their statuses are unknown",
                targets.len()
            ),
        };
        failed.push((target, why));
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A finding read back always has a `metadata.uid`: an event that named it by the triple
    /// must still find it.
    #[test]
    fn a_target_by_the_triple_names_a_finding_read_back_with_its_metadata_uid() {
        let live = OcsfIdentity {
            metadata_uid: Some("m-1".into()),
            finding_info_uid: Some("f-1".into()),
            metadata_product_uid: Some(
                "arn:aws:securityhub:us-east-1::productv2/aws/guardduty".into(),
            ),
            cloud_account_uid: Some("123456789012".into()),
            class_uid: Some(2004),
        };
        let by_triple = OcsfTarget::Identifier(
            "123456789012".into(),
            "f-1".into(),
            "arn:aws:securityhub:us-east-1::productv2/aws/guardduty".into(),
        );
        assert!(by_triple.names(&live));
        assert!(OcsfTarget::MetadataUid("m-1".into()).names(&live));
        assert!(!OcsfTarget::MetadataUid("m-2".into()).names(&live));
        let other = OcsfTarget::Identifier("123456789012".into(), "f-2".into(), "p".into());
        assert!(!other.names(&live));
    }
}
