//! The security control a finding checks, whatever shape it arrives in, and the catalogue of
//! remediations by control. One home for both: triage's `controls` criterion, the fact key,
//! notifications, `secauto simulate` and config validation all read controls through here.
//!
//! A control finding names its control in several places, depending on the Security Hub that sent
//! it, whether consolidated control findings is on, and the standard; [`of`] reads them in this
//! order and takes the first that names a control:
//!
//! 1. `Compliance.SecurityControlId` (OCSF `compliance.control`): the security control id, on
//!    every control finding since the consolidated controls view, whatever the standard;
//! 2. `GeneratorId`: `security-control/S3.8` (consolidated), `<standard>/v/<version>/<id>`
//!    (standard-specific: `aws-foundational-security-best-practices/v/1.0.0/S3.8`,
//!    `pci-dss/v/3.2.1/PCI.S3.6`, `cis-aws-foundations-benchmark/v/1.4.0/2.1.5.2`, NIST, Control
//!    Tower `…/CT.S3.1`), `arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0/rule/4.3`;
//! 3. `ProductFields.StandardsControlArn` (`…:control/<standard>/v/<version>/<id>`);
//! 4. `ProductFields.ControlId` or `ProductFields.RuleId` (CIS v1.2.0), read in the standard of
//!    `ProductFields.StandardsArn` / `StandardsGuideArn` or `Compliance.AssociatedStandards`;
//! 5. the finding's own id (`Id`, `ProductFields["aws/securityhub/FindingId"]`, OCSF
//!    `finding_info.uid`): `…:security-control/S3.8/finding/…` or `…:subscription/<standard>/v/<version>/<id>/finding/…`;
//! 6. the remediation URL (`Remediation.Recommendation.Url`, `ProductFields.RecommendationUrl`):
//!    `https://docs.aws.amazon.com/console/securityhub/S3.8/remediation`.
//!
//! Only Security Hub's own findings check controls ([`from_security_hub`]): another product's
//! finding names no control whatever its fields say.
//!
//! Standard-specific ids become security control ids through AWS's published mapping
//! ([`standards`]); case, spaces and leading zeros do not matter (`s3.08` is `S3.8`).

pub mod catalogue;
pub mod ids;
pub mod standards;

use serde_json::Value;

use crate::finding::Finding;

pub use catalogue::{entry, Entry, CATALOGUE};

fn find_ci(s: &str, needle: &str) -> Option<usize> {
    s.to_ascii_lowercase().find(&needle.to_ascii_lowercase())
}

/// A bare id of a known service (or a PCI / Control Tower id): what a field without any marker
/// must be to count as a control (a third party's generator `tool.5` is not one).
fn bare_known(raw: &str) -> Option<String> {
    let c = standards::bare(raw)?;
    let (svc, _) = ids::parts(&c)?;
    ids::service(svc).map(|_| c)
}

/// The control a reference names, when it carries a marker of Security Hub's: a console
/// remediation URL, `security-control/<id>`, or `<standard>/v/<version>/<id>`.
fn marked(raw: &str) -> Option<String> {
    let s = raw.trim();
    for marker in ["/console/securityhub/", "security-control/"] {
        if let Some(i) = find_ci(s, marker) {
            let id = s[i + marker.len()..].split(['/', '?', '#']).next()?;
            // CIS v1.2.0 findings link `…/console/securityhub/standards-cis-4.1/remediation`.
            if let Some(rule) = id.strip_prefix("standards-cis-") {
                return standards::cis("1.2.0", rule);
            }
            return standards::bare(id);
        }
    }
    let i = find_ci(s, "/v/")?;
    let name = s[..i].rsplit(['/', ':']).next()?;
    let mut rest = s[i + 3..].split('/');
    let version = rest.next()?;
    let mut id = rest.next()?;
    if id.trim().eq_ignore_ascii_case("rule") {
        id = rest.next()?;
    }
    standards::in_standard(name, version, id)
}

/// The control a field made to hold one names (`Compliance.SecurityControlId`, OCSF
/// `compliance.control`): any of [`from_reference`]'s shapes, or a `Service.Number` id of a service
/// newer than [`ids::SERVICES`].
pub fn declared(raw: &str) -> Option<String> {
    marked(raw).or_else(|| standards::bare(raw))
}

/// The security control a reference names, in any of the shapes findings use: a bare id (`S3.8`,
/// `s3.8`, `PCI.S3.6`, `CT.S3.1`), a generator id, an ARN, a finding id or a remediation URL.
pub fn from_reference(raw: &str) -> Option<String> {
    marked(raw).or_else(|| bare_known(raw))
}

fn product_field<'a>(f: &'a Finding, key: &str) -> Option<&'a str> {
    f.product_fields.get(key).and_then(Value::as_str)
}

/// The standard (name, version) a finding's standard-specific id belongs to.
fn standard(f: &Finding) -> Option<(String, String)> {
    let associated = f
        .compliance
        .as_ref()
        .map(|c| c.associated_standards())
        .unwrap_or_default();
    let candidates = ["StandardsArn", "StandardsGuideArn", "StandardsControlArn"]
        .into_iter()
        .filter_map(|k| product_field(f, k).map(str::to_string))
        .chain(associated)
        .chain(f.generator_id.clone());
    for c in candidates {
        if let Some(i) = find_ci(&c, "/v/") {
            let name = c[..i].rsplit(['/', ':']).next().unwrap_or_default();
            let version = c[i + 3..].split('/').next().unwrap_or_default();
            if !name.is_empty() && !version.is_empty() {
                return Some((name.to_string(), version.to_string()));
            }
        }
    }
    None
}

/// `ProductFields.ControlId` / `RuleId`, read in the finding's standard.
fn product_control(f: &Finding) -> Option<String> {
    let std = standard(f);
    if let Some(id) = product_field(f, "ControlId") {
        let found = match &std {
            Some((name, version)) => standards::in_standard(name, version, id),
            None => bare_known(id),
        };
        if found.is_some() {
            return found;
        }
    }
    let rule = product_field(f, "RuleId")?;
    let version = std.map(|(_, v)| v).unwrap_or_else(|| "1.2.0".into());
    standards::cis(&version, rule)
}

/// The remediation URL Security Hub gives a control finding.
fn remediation_urls(f: &Finding) -> impl Iterator<Item = &str> {
    let url = f
        .remediation
        .as_ref()
        .and_then(|r| r.pointer("/Recommendation/Url"))
        .and_then(Value::as_str);
    url.into_iter().chain(product_field(f, "RecommendationUrl"))
}

/// Whether `f` is Security Hub's own finding, the only product whose findings check controls:
/// `ProductArn` (OCSF `metadata.product.uid`) `arn:<partition>:securityhub:<region>::product/aws/securityhub`
/// (OCSF `productv2/aws/securityhub`), else, without an ARN, a product name naming Security Hub.
/// A finding of another product — a partner's, a custom integration's, GuardDuty's — may carry
/// `Compliance.SecurityControlId` or a control-like generator id of its own making; it names no
/// control. BatchImportFindings takes an account's own default product or an allow-listed
/// partner's (API reference), so no account can import a finding under Security Hub's. A
/// hand-written finding with neither field (the `simulate` input of a test) is read by its fields
/// alone.
pub fn from_security_hub(f: &Finding) -> bool {
    let arn = f.product_arn.trim();
    if !arn.is_empty() {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        return matches!(
            parts.as_slice(),
            [
                "arn",
                _,
                "securityhub",
                _,
                _,
                "product/aws/securityhub" | "productv2/aws/securityhub"
            ]
        );
    }
    f.product_name.as_deref().is_none_or(|n| {
        let n = n.trim();
        let n = n.strip_prefix("AWS ").unwrap_or(n);
        ["Security Hub", "Security Hub CSPM"]
            .iter()
            .any(|s| n.eq_ignore_ascii_case(s))
    })
}

/// The security control `f` checks (see the module documentation for where it is read), in its
/// canonical spelling; `None` for a finding that is not a control finding, and for a finding of
/// any product other than Security Hub ([`from_security_hub`]).
pub fn of(f: &Finding) -> Option<String> {
    if !from_security_hub(f) {
        return None;
    }
    let field = f
        .compliance
        .as_ref()
        .and_then(|c| c.security_control_id.as_deref());
    if let Some(c) = field.and_then(declared) {
        return Some(c);
    }
    let generator = f.generator_id.as_deref();
    if let Some(c) = generator.and_then(from_reference) {
        return Some(c);
    }
    if let Some(c) = product_field(f, "StandardsControlArn").and_then(marked) {
        return Some(c);
    }
    if let Some(c) = product_control(f) {
        return Some(c);
    }
    let ids = [
        Some(f.id.as_str()),
        product_field(f, "aws/securityhub/FindingId"),
        f.ocsf.as_ref().and_then(|o| o.finding_info_uid.as_deref()),
    ];
    if let Some(c) = ids.into_iter().flatten().find_map(marked) {
        return Some(c);
    }
    remediation_urls(f).find_map(marked)
}

/// Levenshtein distance, for "did you mean" in validation.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut prev = row[0];
        row[0] = i;
        for j in 1..=b.len() {
            let here = row[j];
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (row[j] + 1).min(row[j - 1] + 1).min(prev + cost);
            prev = here;
        }
    }
    row[b.len()]
}

/// An id for a policy's `controls`: the canonical security control id, or why it is not one and
/// what to write instead.
pub fn check(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if let Some((svc, _)) = ids::parts(s) {
        let c = ids::canonical(s).unwrap_or_default();
        let written = format!(
            "{svc}.{}",
            ids::parts(s).map(|(_, n)| n).unwrap_or_default()
        );
        if ids::RENAMED
            .iter()
            .any(|(old, _)| old.eq_ignore_ascii_case(&written))
        {
            return Err(format!(
                "{raw:?} is an old id of the security control {c:?}: write \"{c}\""
            ));
        }
        if ids::service(svc).is_some() {
            return Ok(c);
        }
        let lower = svc.to_ascii_lowercase();
        let near = ids::SERVICES
            .iter()
            .min_by_key(|k| distance(&k.to_ascii_lowercase(), &lower))
            .filter(|k| distance(&k.to_ascii_lowercase(), &lower) <= 2);
        return Err(match near {
            Some(k) => format!(
                "{raw:?} names no Security Hub service: did you mean \"{k}.{}\"?",
                &c[c.find('.').unwrap_or(0) + 1..]
            ),
            None => format!(
                "{raw:?} names no Security Hub service; the services are {}",
                ids::SERVICES.join(", ")
            ),
        });
    }
    if let Some(c) = standards::bare(s) {
        return Err(format!(
            "{raw:?} is a standard-specific control id: write its security control id \"{c}\""
        ));
    }
    let cis: Vec<String> = ["1.2.0", "1.4.0"]
        .iter()
        .filter_map(|v| standards::cis(v, s).map(|c| format!("CIS v{v} {s} is \"{c}\"")))
        .collect();
    if !cis.is_empty() {
        return Err(format!(
            "{raw:?} is a CIS requirement number, which differs between CIS versions: write the security control id ({})",
            cis.join(", ")
        ));
    }
    if let Some(c) = marked(s) {
        return Err(format!(
            "{raw:?} is a generator id, ARN or URL: write the control id alone, \"{c}\""
        ));
    }
    Err(format!(
        "{raw:?} is not a Security Hub control id: write the service and the number as Security Hub names them, like \"S3.8\" or \"EC2.2\""
    ))
}
