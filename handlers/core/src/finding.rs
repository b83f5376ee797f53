//! The finding model the handlers decide on: the AWS Security Finding Format (ASFF) fields they use.
//! Every field but `Id` is optional and unknown fields are ignored: real findings from many products
//! omit things (see ../corpus). OCSF findings (today's Security Hub) are read into the same model by
//! [`crate::ocsf`], which also keeps their OCSF identity in [`Finding::ocsf`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Severity labels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Informational,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "INFORMATIONAL",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The label of a normalized score, as Security Hub maps them (0, 1–39, 40–69, 70–89, 90–100).
    pub fn from_normalized(n: f64) -> Severity {
        match n {
            x if x < 1.0 => Severity::Informational,
            x if x < 40.0 => Severity::Low,
            x if x < 70.0 => Severity::Medium,
            x if x < 90.0 => Severity::High,
            _ => Severity::Critical,
        }
    }
}

/// `Severity` as found in findings: `Label`, or only the older `Normalized` score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SeverityField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalized: Option<f64>,
}

/// One resource of a finding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "Type", default)]
    pub kind: String,
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl Resource {
    /// The last part of the ARN or id: `i-0abc…` of `arn:aws:ec2:…:instance/i-0abc…`.
    pub fn short_id(&self) -> &str {
        let tail = self.id.rsplit(':').next().unwrap_or(&self.id);
        tail.rsplit('/').next().unwrap_or(tail)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Workflow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Compliance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The control across standards (`S3.8`): ASFF `Compliance.SecurityControlId`, OCSF
    /// `compliance.control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_control_id: Option<String>,
    /// `[{"StandardsId": "standards/…/v/1.0.0"}]`, kept as given (read leniently: a value of
    /// another shape never makes the finding unreadable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_standards: Option<Value>,
}

impl Compliance {
    /// The `StandardsId` of each associated standard (a bare string is accepted too).
    pub fn associated_standards(&self) -> Vec<String> {
        let items = match &self.associated_standards {
            Some(Value::Array(items)) => items.as_slice(),
            _ => &[],
        };
        items
            .iter()
            .filter_map(|s| match s {
                Value::String(s) => Some(s.clone()),
                v => v.get("StandardsId")?.as_str().map(str::to_string),
            })
            .collect()
    }
}

/// What identifies an OCSF finding to today's Security Hub (GetFindingsV2, BatchUpdateFindingsV2):
/// `metadata.uid`, or the triple `cloud.account.uid` + `finding_info.uid` + `metadata.product.uid`.
/// Present only on findings read from OCSF; an ASFF finding has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OcsfIdentity {
    /// `metadata.uid`, globally unique (BatchUpdateFindingsV2 `MetadataUids`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_uid: Option<String>,
    /// `finding_info.uid`: the provider's own finding id (a CSPM finding's ASFF `Id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_info_uid: Option<String>,
    /// `metadata.product.uid`, an `arn:…:securityhub:<region>::productv2/<company>/<product>` ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_product_uid: Option<String>,
    /// `cloud.account.uid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_account_uid: Option<String>,
    /// `class_uid`: 2002 vulnerability, 2003 compliance, 2004 detection, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_uid: Option<i64>,
}

impl OcsfIdentity {
    /// The three `FindingIdentifiers` members (CloudAccountUid, FindingInfoUid, MetadataProductUid),
    /// when all are known.
    pub fn finding_identifier(&self) -> Option<(&str, &str, &str)> {
        Some((
            self.cloud_account_uid.as_deref()?,
            self.finding_info_uid.as_deref()?,
            self.metadata_product_uid.as_deref()?,
        ))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FindingProviderFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<SeverityField>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
}

/// A Security Hub finding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Finding {
    pub id: String,
    #[serde(default)]
    pub product_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<SeverityField>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<Workflow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<Compliance>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub product_fields: BTreeMap<String, Value>,
    /// `Remediation` (`Recommendation.Url` names a control finding's control), kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_provider_fields: Option<FindingProviderFields>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_defined_fields: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Note>,
    /// The control's parameters (ASFF `Compliance.SecurityControlParameters`: name, values), as
    /// remediation reads them from Security Hub's own copy of the finding; never from an event.
    #[serde(skip)]
    pub control_parameters: Vec<(String, Vec<String>)>,
    /// The OCSF identity of a finding read from OCSF (`None` for ASFF, and not serialized then, so
    /// ASFF output is unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsf: Option<OcsfIdentity>,
}

/// A finding's note.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Note {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub updated_by: String,
}

/// AWS's products, by the short id their ProductArn (`product/aws/guardduty`, ASFF) or productv2 ARN
/// (`productv2/aws/guardduty`, OCSF) names them by: the name, then the other names the product goes
/// by (Security Hub CSPM's findings are "Security Hub" in ASFF and "Security Hub CSPM" in OCSF).
const PRODUCTS: &[(&str, &[&str])] = &[
    ("guardduty", &["GuardDuty"]),
    ("inspector", &["Inspector"]),
    ("securityhub", &["Security Hub", "Security Hub CSPM"]),
    ("config", &["Config"]),
    ("access-analyzer", &["IAM Access Analyzer"]),
    ("macie", &["Macie"]),
    ("firewall-manager", &["Firewall Manager"]),
    ("health", &["Health"]),
    ("ssm-patch-manager", &["Systems Manager Patch Manager"]),
];

impl Finding {
    /// The severity label: `Severity.Label`, else from `Severity.Normalized`, else the provider's
    /// severity, else INFORMATIONAL.
    pub fn severity(&self) -> Severity {
        let from = |s: &SeverityField| {
            s.label
                .as_deref()
                .and_then(Severity::parse)
                .or_else(|| s.normalized.map(Severity::from_normalized))
        };
        self.severity
            .as_ref()
            .and_then(from)
            .or_else(|| {
                self.finding_provider_fields
                    .as_ref()
                    .and_then(|f| f.severity.as_ref())
                    .and_then(from)
            })
            .unwrap_or(Severity::Informational)
    }

    /// The product's name: `ProductName`, `ProductFields["aws/securityhub/ProductName"]`, or derived
    /// from the ProductArn.
    pub fn product(&self) -> String {
        if let Some(n) = self.product_name.as_deref().filter(|n| !n.is_empty()) {
            return n.to_string();
        }
        if let Some(n) = self
            .product_fields
            .get("aws/securityhub/ProductName")
            .and_then(Value::as_str)
        {
            return n.to_string();
        }
        let short = self.product_short_id().unwrap_or_default();
        PRODUCTS
            .iter()
            .find(|(id, _)| *id == short)
            .map(|(_, names)| names[0].to_string())
            .unwrap_or_else(|| short.to_string())
    }

    /// `(company, product)` of the ProductArn: `arn:…:product/<company>/<product>` (ASFF) or
    /// `arn:…:productv2/<company>/<product>` (OCSF `metadata.product.uid`).
    fn product_parts(&self) -> Option<(&str, &str)> {
        let arn = self.product_arn.as_str();
        let (_, tail) = arn
            .split_once(":product/")
            .or_else(|| arn.split_once(":productv2/"))?;
        let mut parts = tail.rsplitn(2, '/');
        let product = parts.next().filter(|p| !p.is_empty())?;
        Some((parts.next().unwrap_or(""), product))
    }

    /// The product's short id in its ARN (`guardduty`), else the ARN's last part.
    fn product_short_id(&self) -> Option<&str> {
        self.product_parts().map(|(_, p)| p).or_else(|| {
            let tail = self.product_arn.rsplit(['/', ':']).next()?;
            Some(tail).filter(|t| !t.is_empty())
        })
    }

    /// Every name the product goes by, for a policy's `products`: [`Finding::product`], the
    /// finding's own names, and for AWS's products (company `aws` in the ARN) every name of
    /// [`PRODUCTS`] — so the ASFF and the OCSF copy of one finding match the same names.
    pub fn product_names(&self) -> Vec<String> {
        let mut names = vec![self.product()];
        names.extend(self.product_name.iter().cloned());
        let field = self.product_fields.get("aws/securityhub/ProductName");
        names.extend(field.and_then(Value::as_str).map(str::to_string));
        if let Some(("aws", short)) = self.product_parts() {
            if let Some((_, all)) = PRODUCTS.iter().find(|(id, _)| *id == short) {
                names.extend(all.iter().map(|n| n.to_string()));
            }
        }
        names.retain(|n| !n.is_empty());
        names.dedup();
        names
    }

    /// The generator ids a policy's `generator_suffixes` are matched against: the GeneratorId
    /// (OCSF: [`crate::ocsf`]'s), and for a control finding the consolidated
    /// `security-control/<control>`, which Security Hub CSPM gives the same control finding when
    /// consolidated control findings is on (and OCSF names through `compliance.control`).
    pub fn generator_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.generator_id.iter().cloned().collect();
        if let Some(c) = self.control_id() {
            let consolidated = format!("security-control/{c}");
            if !ids.contains(&consolidated) {
                ids.push(consolidated);
            }
        }
        ids
    }

    /// Workflow status, NEW when absent.
    pub fn workflow_status(&self) -> &str {
        self.workflow
            .as_ref()
            .and_then(|w| w.status.as_deref())
            .unwrap_or("NEW")
    }

    /// The account: `AwsAccountId`, else the account in the first resource ARN.
    pub fn account(&self) -> Option<&str> {
        self.aws_account_id.as_deref().filter(|a| !a.is_empty())
    }

    /// The region: `Region`, else the ProductArn's.
    pub fn region(&self) -> Option<&str> {
        self.region
            .as_deref()
            .or_else(|| self.product_arn.split(':').nth(3).filter(|r| !r.is_empty()))
    }

    /// Every type, including the provider's.
    pub fn all_types(&self) -> impl Iterator<Item = &str> {
        self.types.iter().map(String::as_str).chain(
            self.finding_provider_fields
                .iter()
                .flat_map(|f| f.types.iter().map(String::as_str)),
        )
    }

    /// The idempotency key of one version of a finding: Id + UpdatedAt.
    pub fn version_key(&self) -> String {
        format!("{}@{}", self.id, self.updated_at.as_deref().unwrap_or(""))
    }

    /// True when the finding was read from OCSF (today's Security Hub), false for ASFF.
    pub fn is_ocsf(&self) -> bool {
        self.ocsf.is_some()
    }

    /// The security control this finding checks, as a security control id in its canonical
    /// spelling (`S3.8`), whatever shape the finding names it in: consolidated, standard-specific
    /// (AFSBP, CIS, PCI DSS, NIST, Control Tower), CIS rule ids, OCSF `compliance.control`
    /// (see [`crate::controls::of`]). `None` for a finding that checks no control.
    pub fn control_id(&self) -> Option<String> {
        crate::controls::of(self)
    }

    /// The resource a fact is about: the first resource whose id is an ARN, else the first
    /// resource's id.
    pub fn primary_resource(&self) -> Option<&str> {
        self.resources
            .iter()
            .map(|r| r.id.as_str())
            .find(|id| id.starts_with("arn:"))
            .or_else(|| self.resources.first().map(|r| r.id.as_str()))
            .filter(|id| !id.is_empty())
    }

    /// The key of the fact this finding reports, the same whichever format it arrived in, for
    /// "act once per fact" (the same control failure from Security Hub CSPM as ASFF and from
    /// Security Hub as OCSF is one fact):
    ///
    /// - a control finding: `control/<account>/<control id>/<resource>` (see [`Finding::control_id`]
    ///   and [`Finding::primary_resource`]);
    /// - any other finding: `finding/<account>/<provider finding id>/<resources>`, where the
    ///   provider's finding id is the last `/` part of the ASFF `Id` or the OCSF `finding_info.uid`
    ///   (GuardDuty's finding id, whether the field holds it alone or in the finding's ARN) and the
    ///   resources are the short ids of the finding's resources ([`Resource::short_id`]: `i-0abc…`
    ///   of the ARN or of the bare id alike, so an OCSF copy whose ARN is absent keys as its ASFF
    ///   twin), sorted, joined by `,`.
    ///
    /// The account is [`Finding::account`], else the account in the resource ARN, else empty.
    pub fn fact_key(&self) -> String {
        let resource = self.primary_resource().unwrap_or("");
        let account = self
            .account()
            .or_else(|| resource.split(':').nth(4).filter(|a| !a.is_empty()))
            .unwrap_or("");
        match self.control_id() {
            Some(control) => format!("control/{account}/{control}/{resource}"),
            None => {
                let provider_id = self
                    .ocsf
                    .as_ref()
                    .and_then(|o| o.finding_info_uid.as_deref())
                    .unwrap_or(&self.id);
                let short = provider_id
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or(provider_id);
                let ids = self.resources.iter().map(Resource::short_id);
                let mut resources: Vec<&str> = ids.filter(|i| !i.is_empty()).collect();
                resources.sort_unstable();
                resources.dedup();
                format!("finding/{account}/{short}/{}", resources.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_falls_back_to_normalized() {
        let f: Finding =
            serde_json::from_value(serde_json::json!({"Id": "x", "Severity": {"Normalized": 75}}))
                .unwrap();
        assert_eq!(f.severity(), Severity::High);
        let f: Finding = serde_json::from_value(serde_json::json!({"Id": "x"})).unwrap();
        assert_eq!(f.severity(), Severity::Informational);
    }

    #[test]
    fn product_from_arn() {
        let f = Finding {
            product_arn: "arn:aws:securityhub:us-east-1::product/aws/guardduty".into(),
            ..Finding::default()
        };
        assert_eq!(f.product(), "GuardDuty");
    }

    #[test]
    fn short_id() {
        let r = Resource {
            id: "arn:aws:ec2:us-east-1:123456789012:instance/i-0123".into(),
            ..Resource::default()
        };
        assert_eq!(r.short_id(), "i-0123");
        let r = Resource {
            id: "arn:aws:s3:::my-bucket".into(),
            ..Resource::default()
        };
        assert_eq!(r.short_id(), "my-bucket");
    }
}
