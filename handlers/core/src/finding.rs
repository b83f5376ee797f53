//! The AWS Security Finding Format (ASFF) fields the handlers use. Every field but `Id` is optional and
//! unknown fields are ignored: real findings from many products omit things (see ../corpus).

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_provider_fields: Option<FindingProviderFields>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_defined_fields: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Note>,
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

/// Products whose ProductArn names them by a short id (`product/aws/guardduty`).
const PRODUCTS: &[(&str, &str)] = &[
    ("guardduty", "GuardDuty"),
    ("inspector", "Inspector"),
    ("securityhub", "Security Hub"),
    ("config", "Config"),
    ("access-analyzer", "IAM Access Analyzer"),
    ("macie", "Macie"),
    ("firewall-manager", "Firewall Manager"),
    ("health", "Health"),
    ("ssm-patch-manager", "Systems Manager Patch Manager"),
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
        // arn:aws:securityhub:region:account:product/<company>/<product>
        let tail = self.product_arn.rsplit(":product/").next().unwrap_or("");
        let short = tail.rsplit('/').next().unwrap_or(tail);
        PRODUCTS
            .iter()
            .find(|(id, _)| *id == short)
            .map(|(_, n)| n.to_string())
            .unwrap_or_else(|| short.to_string())
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
