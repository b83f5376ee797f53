//! OCSF findings, as today's Security Hub (GA 2025-12-02) sends them in "Findings Imported V2" events
//! (`detail.findings[0]`) and returns them from GetFindingsV2, read into the same [`Finding`] model
//! ASFF findings use, so triage, remediation and notification decide both formats alike.
//!
//! Every field is optional except what identifies the finding (`metadata.uid`, or all of
//! `cloud.account.uid`, `finding_info.uid` and `metadata.product.uid`); unknown fields are
//! ignored, and an optional field of the wrong JSON type is treated as absent. The mapping (OCSF → model):
//!
//! | OCSF | model |
//! |---|---|
//! | `metadata.uid` (else `finding_info.uid`) | `Id` |
//! | `metadata.uid`, `finding_info.uid`, `metadata.product.uid`, `cloud.account.uid`, `class_uid` | `Ocsf` ([`OcsfIdentity`]) |
//! | `metadata.product.uid` / `.name` / `.vendor_name` | `ProductArn` / `ProductName` / `CompanyName` |
//! | `cloud.account.uid` (else the first resource's `owner.account.uid`) | `AwsAccountId` |
//! | `cloud.region` (else the first resource's `region`) | `Region` |
//! | `severity_id` 1–6: Informational, Low, Medium, High, Critical, Fatal→CRITICAL; 0 Unknown / 99 Other / none (or another id) → the `severity` text if it names a level ([`SEVERITY_TEXTS`], case aside), else INFORMATIONAL | `Severity.Label` |
//! | `status_id` 1 New, 2 In Progress, 3 Suppressed, 4 Resolved, 5 Archived, 99 Other; 0 Unknown / none → the `status` text if it closes the finding, else UNKNOWN (never acted on: the findings rule takes `status_id` 1 only) | `Workflow.Status` NEW, NOTIFIED, SUPPRESSED, RESOLVED, RESOLVED, RESOLVED (as AWS's ASR reads Other: never acted on), UNKNOWN |
//! | `comment` | `Note.Text` |
//! | `status_id` 5, or `activity_id` 3 (Close) | `RecordState` ARCHIVED (else ACTIVE) |
//! | `compliance.status_id` 1 Pass, 2 Warning, 3 Fail (else `compliance.status`); other → NOT_AVAILABLE | `Compliance.Status` PASSED, WARNING, FAILED |
//! | `compliance.control` | `Compliance.SecurityControlId`, and `GeneratorId` `security-control/<control>` (the consolidated ASFF form the policy's `generator_suffixes` match; the control as [`crate::controls`] reads it) |
//! | `compliance.standards` | `Compliance.AssociatedStandards` |
//! | `finding_info.analytic.uid` / `.name` (no control) | `GeneratorId` |
//! | `finding_info.types`, each followed by the ASFF types Security Hub CSPM gives it ([`asff_types`]: GuardDuty's and Macie's own types); class 2002 adds `Software and Configuration Checks/Vulnerabilities/CVE` | `Types` |
//! | `vulnerabilities[].cve.uid` | `ProductFields["ocsf/vulnerabilities"]` |
//! | `resources[]`: `type` ([`asff_resource_type`]), the ARN of `uid_alt`/`uid` (else `uid`, `uid_alt`, `name`), `region`, `cloud_partition`, `tags` | `Resources[]` |
//! | `finding_info.title` / `.desc` | `Title` / `Description` |
//! | `finding_info.created_time_dt` (else `created_time`, epoch ms) | `CreatedAt` |
//! | `finding_info.modified_time_dt` (else `modified_time`, `time_dt`, `time`, created) | `UpdatedAt` |

pub mod asff_types;
mod resource_types;
mod schema;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::finding::{Compliance, Finding, Note, OcsfIdentity, Resource, SeverityField, Workflow};
pub use resource_types::{asff_resource_type, RESOURCE_TYPES};
use schema::{Doc, FindingInfo, OcsfCompliance, OcsfResource};

/// Does this JSON object look like an OCSF finding rather than an ASFF one?
/// (`class_uid`, or `metadata` with `finding_info`; ASFF has neither and names fields in PascalCase.)
pub fn looks_like_ocsf(v: &Value) -> bool {
    let Some(o) = v.as_object() else {
        return false;
    };
    o.contains_key("class_uid")
        || (o.contains_key("finding_info")
            && (o.contains_key("metadata") || o.contains_key("cloud")))
}

/// Why an OCSF finding could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcsfError {
    #[error("not a JSON object")]
    NotAnObject,
    #[error("OCSF finding without identity: it needs metadata.uid, or cloud.account.uid + finding_info.uid + metadata.product.uid, to be updated in Security Hub")]
    NoIdentity,
}

/// Read one OCSF finding into the finding model (see the module doc for the mapping).
pub fn parse(v: &Value) -> Result<Finding, OcsfError> {
    if !v.is_object() {
        return Err(OcsfError::NotAnObject);
    }
    // Every field is lenient, so an object always deserializes; the fallback is only defensive.
    let doc: Doc = serde_json::from_value(v.clone()).unwrap_or_default();
    let identity = identity(&doc);
    let id = identity
        .metadata_uid
        .clone()
        .or_else(|| identity.finding_identifier().map(|(_, f, _)| f.to_string()))
        .ok_or(OcsfError::NoIdentity)?;
    Ok(to_finding(&doc, id, identity))
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn identity(doc: &Doc) -> OcsfIdentity {
    let metadata = doc.metadata.as_ref();
    OcsfIdentity {
        metadata_uid: metadata.and_then(|m| non_empty(&m.uid)),
        finding_info_uid: doc.finding_info.as_ref().and_then(|f| non_empty(&f.uid)),
        metadata_product_uid: metadata
            .and_then(|m| m.product.as_ref())
            .and_then(|p| non_empty(&p.uid)),
        cloud_account_uid: doc
            .cloud
            .as_ref()
            .and_then(|c| c.account.as_ref())
            .and_then(|a| non_empty(&a.uid)),
        class_uid: doc.class_uid,
    }
}

fn to_finding(doc: &Doc, id: String, identity: OcsfIdentity) -> Finding {
    let info = doc.finding_info.as_ref();
    let product = doc.metadata.as_ref().and_then(|m| m.product.as_ref());
    let resources: Vec<Resource> = doc.resources.iter().map(resource).collect();
    let first = doc.resources.first();
    let control = doc.compliance.as_ref().and_then(|c| non_empty(&c.control));
    let (workflow, record_state) = status(doc);
    let created_at = info.and_then(|i| time(&i.created_time_dt, i.created_time));
    let updated_at = info
        .and_then(|i| time(&i.modified_time_dt, i.modified_time))
        .or_else(|| time(&doc.time_dt, doc.time))
        .or_else(|| created_at.clone());
    let mut product_fields = BTreeMap::new();
    let cves: Vec<Value> = doc
        .vulnerabilities
        .iter()
        .filter_map(|v| v.cve.as_ref().and_then(|c| non_empty(&c.uid)))
        .map(Value::String)
        .collect();
    if !cves.is_empty() {
        product_fields.insert("ocsf/vulnerabilities".to_string(), Value::Array(cves));
    }
    Finding {
        id,
        product_arn: identity.metadata_product_uid.clone().unwrap_or_default(),
        product_name: product.and_then(|p| non_empty(&p.name)),
        company_name: product.and_then(|p| non_empty(&p.vendor_name)),
        generator_id: generator(control.as_deref(), info),
        aws_account_id: identity.cloud_account_uid.clone().or_else(|| {
            first
                .and_then(|r| r.owner.as_ref())
                .and_then(|o| o.account.as_ref())
                .and_then(|a| non_empty(&a.uid))
        }),
        region: doc
            .cloud
            .as_ref()
            .and_then(|c| non_empty(&c.region))
            .or_else(|| first.and_then(|r| non_empty(&r.region))),
        types: types(doc, product),
        severity: Some(SeverityField {
            label: Some(severity(doc.severity_id, doc.severity.as_deref()).to_string()),
            normalized: None,
        }),
        title: info.and_then(|i| i.title.clone()).unwrap_or_default(),
        description: info.and_then(|i| i.desc.clone()).unwrap_or_default(),
        created_at,
        updated_at,
        resources,
        workflow: Some(Workflow {
            status: Some(workflow.to_string()),
        }),
        record_state: Some(record_state.to_string()),
        note: doc.comment.as_ref().map(|text| Note {
            text: text.clone(),
            updated_by: String::new(),
        }),
        compliance: doc.compliance.as_ref().map(|c| Compliance {
            status: Some(compliance_status(c).to_string()),
            security_control_id: control.clone(),
            associated_standards: Some(Value::Array(
                c.standards.iter().cloned().map(Value::String).collect(),
            ))
            .filter(|_| !c.standards.is_empty()),
        }),
        product_fields,
        ocsf: Some(identity),
        ..Finding::default()
    }
}

/// `security-control/<control>` for a control finding (the consolidated ASFF GeneratorId, the
/// control in its canonical spelling), else the analytic's uid or name.
fn generator(control: Option<&str>, info: Option<&FindingInfo>) -> Option<String> {
    if let Some(c) = control.and_then(crate::controls::declared) {
        return Some(format!("security-control/{c}"));
    }
    let analytic = info.and_then(|i| i.analytic.as_ref())?;
    non_empty(&analytic.uid).or_else(|| non_empty(&analytic.name))
}

fn types(doc: &Doc, product: Option<&schema::Product>) -> Vec<String> {
    let given: Vec<String> = doc
        .finding_info
        .iter()
        .flat_map(|i| i.types.iter())
        .filter(|t| !t.trim().is_empty())
        .cloned()
        .collect();
    let mut types = asff_types::with_asff(&aws_product(product), given);
    let cve = "Software and Configuration Checks/Vulnerabilities/CVE";
    if doc.class_uid == Some(2002) && !types.iter().any(|t| t == cve) {
        types.push(cve.to_string());
    }
    types
}

/// The short name of an AWS product (`guardduty`): the product part of a `productv2/aws/<product>`
/// ARN, else the product's name in lower case without spaces or an "Amazon"/"AWS" prefix.
fn aws_product(product: Option<&schema::Product>) -> String {
    let Some(p) = product else {
        return String::new();
    };
    if let Some((_, tail)) = p.uid.as_deref().and_then(|u| u.split_once(":productv2/")) {
        if let Some(("aws", short)) = tail.split_once('/') {
            return short.to_string();
        }
    }
    let name = p.name.as_deref().unwrap_or("").to_ascii_lowercase();
    let name = name
        .trim_start_matches("amazon ")
        .trim_start_matches("aws ");
    name.replace(' ', "")
}

/// The `severity` texts (case aside) read as each label when `severity_id` does not name one (0
/// Unknown, 99 Other, or none): the OCSF captions, and `Info` and `Fatal`. Any other text reads as
/// INFORMATIONAL. The OCSF findings rule takes those ids only with these texts
/// (`equals-ignore-case`), so the stack receives exactly what triage would act on.
pub const SEVERITY_TEXTS: [(&str, &[&str]); 5] = [
    ("INFORMATIONAL", &["Informational", "Info"]),
    ("LOW", &["Low"]),
    ("MEDIUM", &["Medium"]),
    ("HIGH", &["High"]),
    ("CRITICAL", &["Critical", "Fatal"]),
];

/// The `severity_id`s OCSF defines that name no level (Unknown, Other): the `severity` text decides.
pub const UNSURE_SEVERITY_IDS: [i64; 2] = [0, 99];

/// The severity label of `severity_id` 1–6 (Fatal → CRITICAL); for 0 (Unknown), 99 (Other), none
/// (or an id outside OCSF's), of the `severity` text ([`SEVERITY_TEXTS`]), else INFORMATIONAL, as
/// an ASFF finding without a severity.
pub fn severity(id: Option<i64>, text: Option<&str>) -> &'static str {
    match id {
        Some(1) => "INFORMATIONAL",
        Some(2) => "LOW",
        Some(3) => "MEDIUM",
        Some(4) => "HIGH",
        Some(5) | Some(6) => "CRITICAL",
        _ => text
            .and_then(|t| {
                SEVERITY_TEXTS
                    .iter()
                    .find(|(_, texts)| texts.iter().any(|x| x.eq_ignore_ascii_case(t)))
            })
            .map_or("INFORMATIONAL", |(label, _)| label),
    }
}

/// Workflow status and record state from `status_id` and `activity_id`. Only `status_id` 1 is New:
/// the OCSF findings rule takes `status_id` 1 alone (EventBridge matches a field only when it is
/// present with a listed value), so 0 (Unknown) or none is UNKNOWN, never acted on — AWS documents
/// New as a finding's initial state and nothing of Unknown; a finding whose status is unknown is
/// not known to be unreviewed. Without a valid `status_id` the `status` text may still close it.
fn status(doc: &Doc) -> (&'static str, &'static str) {
    let id = doc
        .status_id
        .filter(|i| (1..=5).contains(i) || *i == 99)
        .or_else(
            || match doc.status.as_deref()?.trim().to_ascii_lowercase().as_str() {
                "in progress" | "in_progress" | "inprogress" => Some(2),
                "suppressed" => Some(3),
                "resolved" => Some(4),
                "archived" => Some(5),
                "other" => Some(99),
                _ => None,
            },
        );
    let workflow = match id {
        Some(1) => "NEW",
        Some(2) => "NOTIFIED",
        Some(3) => "SUPPRESSED",
        Some(4) | Some(5) | Some(99) => "RESOLVED",
        _ => UNKNOWN_STATUS,
    };
    let archived = id == Some(5) || doc.activity_id == Some(3);
    (workflow, if archived { "ARCHIVED" } else { "ACTIVE" })
}

/// The workflow status of an OCSF finding whose `status_id` is 0 (Unknown) or missing.
pub const UNKNOWN_STATUS: &str = "UNKNOWN";

/// `compliance.status_id` (else `compliance.status`) as the ASFF compliance status.
fn compliance_status(c: &OcsfCompliance) -> &'static str {
    match c.status_id {
        Some(1) => return "PASSED",
        Some(2) => return "WARNING",
        Some(3) => return "FAILED",
        _ => {}
    }
    match c
        .status
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "pass" | "passed" => "PASSED",
        "warning" => "WARNING",
        "fail" | "failed" => "FAILED",
        _ => "NOT_AVAILABLE",
    }
}

fn resource(r: &OcsfResource) -> Resource {
    let uid = non_empty(&r.uid);
    let alt = non_empty(&r.uid_alt);
    let is_arn = |s: &Option<String>| s.as_deref().is_some_and(|s| s.starts_with("arn:"));
    let id = if is_arn(&alt) {
        alt.clone()
    } else if is_arn(&uid) {
        uid.clone()
    } else {
        uid.or(alt).or_else(|| non_empty(&r.name))
    }
    .unwrap_or_default();
    let partition = non_empty(&r.cloud_partition).or_else(|| {
        id.strip_prefix("arn:")
            .and_then(|rest| rest.split(':').next())
            .filter(|p| !p.is_empty())
            .map(str::to_string)
    });
    Resource {
        kind: asff_resource_type(r.kind.as_deref().unwrap_or("Other")),
        id,
        region: non_empty(&r.region),
        partition,
        tags: tags(&r.tags),
        details: None,
    }
}

/// OCSF tags are `[{"name": k, "value": v}]`; a `{k: v}` object is accepted too.
fn tags(v: &Value) -> BTreeMap<String, String> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    };
    match v {
        Value::Array(items) => items
            .iter()
            .filter_map(|t| {
                let k = t.get("name").or_else(|| t.get("key"))?.as_str()?;
                Some((
                    k.to_string(),
                    scalar(t.get("value").unwrap_or(&Value::Null))?,
                ))
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), scalar(v)?)))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// A `…_dt` datetime as given, else an epoch timestamp as RFC 3339 UTC. OCSF timestamps are
/// milliseconds; values below 10^11 are taken as seconds (10^11 ms is in 1973).
fn time(dt: &Option<String>, epoch: Option<i64>) -> Option<String> {
    non_empty(dt).or_else(|| {
        let e = epoch?;
        let ms = if e.unsigned_abs() < 100_000_000_000 {
            e.checked_mul(1000)?
        } else {
            e
        };
        rfc3339(ms)
    })
}

/// Milliseconds since the epoch as `YYYY-MM-DDThh:mm:ss.sssZ` (years 1970–9999).
pub fn rfc3339(ms: i64) -> Option<String> {
    if !(0..253_402_300_800_000).contains(&ms) {
        return None;
    }
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_times() {
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(1_733_097_600_123).unwrap(),
            "2024-12-02T00:00:00.123Z"
        );
        assert_eq!(
            time(&None, Some(1_672_531_200)).unwrap(),
            "2023-01-01T00:00:00.000Z"
        );
        assert_eq!(rfc3339(-1), None);
        // Extreme epochs are out of range, never a panic (overflow in abs or the ms conversion).
        for e in [i64::MIN, i64::MIN + 1, i64::MAX, -99_999_999_999] {
            assert_eq!(time(&None, Some(e)), None, "{e}");
        }
    }
}
