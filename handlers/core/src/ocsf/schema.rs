//! The OCSF finding fields secauto reads, as serde types. Every field is optional and lenient:
//! absent, null or of another JSON type than expected, it is `None` (or empty); unknown fields are
//! ignored.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An optional field: `None` when absent, null or of another JSON type than expected.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// A text field that may arrive as a string or a number (an account id written as 123456789012).
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// An integer field that may arrive as an integer, an integral float or a numeric string.
fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A list whose elements of the wrong shape are dropped.
fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        _ => vec![],
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Uid {
    #[serde(default, deserialize_with = "text")]
    pub(super) uid: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Product {
    #[serde(default, deserialize_with = "text")]
    pub(super) uid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(super) name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(super) vendor_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Metadata {
    #[serde(default, deserialize_with = "text")]
    pub(super) uid: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub(super) product: Option<Product>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Cloud {
    #[serde(default, deserialize_with = "lenient")]
    pub(super) account: Option<Uid>,
    #[serde(default, deserialize_with = "text")]
    pub(super) region: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Analytic {
    #[serde(default, deserialize_with = "text")]
    pub(super) uid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(super) name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FindingInfo {
    #[serde(default, deserialize_with = "text")]
    pub(super) uid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(super) title: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(super) desc: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) types: Vec<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub(super) analytic: Option<Analytic>,
    #[serde(default, deserialize_with = "text")]
    pub(super) created_time_dt: Option<String>,
    #[serde(default, deserialize_with = "int")]
    pub(super) created_time: Option<i64>,
    #[serde(default, deserialize_with = "text")]
    pub(super) modified_time_dt: Option<String>,
    #[serde(default, deserialize_with = "int")]
    pub(super) modified_time: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct OcsfCompliance {
    #[serde(default, deserialize_with = "text")]
    pub(super) control: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) standards: Vec<String>,
    #[serde(default, deserialize_with = "text")]
    pub(super) status: Option<String>,
    #[serde(default, deserialize_with = "int")]
    pub(super) status_id: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Owner {
    #[serde(default, deserialize_with = "lenient")]
    pub(super) account: Option<Uid>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct OcsfResource {
    #[serde(rename = "type", default, deserialize_with = "text")]
    pub(super) kind: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(super) uid: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(super) uid_alt: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(super) name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(super) region: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub(super) cloud_partition: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub(super) owner: Option<Owner>,
    #[serde(default)]
    pub(super) tags: Value,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Cve {
    #[serde(default, deserialize_with = "text")]
    pub(super) uid: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Vulnerability {
    #[serde(default, deserialize_with = "lenient")]
    pub(super) cve: Option<Cve>,
}

/// The OCSF finding fields secauto reads.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Doc {
    #[serde(default, deserialize_with = "lenient")]
    pub(super) metadata: Option<Metadata>,
    #[serde(default, deserialize_with = "int")]
    pub(super) class_uid: Option<i64>,
    #[serde(default, deserialize_with = "int")]
    pub(super) activity_id: Option<i64>,
    #[serde(default, deserialize_with = "int")]
    pub(super) severity_id: Option<i64>,
    #[serde(default, deserialize_with = "text")]
    pub(super) severity: Option<String>,
    #[serde(default, deserialize_with = "int")]
    pub(super) status_id: Option<i64>,
    #[serde(default, deserialize_with = "text")]
    pub(super) status: Option<String>,
    /// The comment BatchUpdateFindingsV2 set (who closed a finding, and why).
    #[serde(default, deserialize_with = "text")]
    pub(super) comment: Option<String>,
    #[serde(default, deserialize_with = "int")]
    pub(super) time: Option<i64>,
    #[serde(default, deserialize_with = "text")]
    pub(super) time_dt: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub(super) cloud: Option<Cloud>,
    #[serde(default, deserialize_with = "lenient")]
    pub(super) finding_info: Option<FindingInfo>,
    #[serde(default, deserialize_with = "lenient")]
    pub(super) compliance: Option<OcsfCompliance>,
    #[serde(default, deserialize_with = "list")]
    pub(super) resources: Vec<OcsfResource>,
    #[serde(default, deserialize_with = "list")]
    pub(super) vulnerabilities: Vec<Vulnerability>,
}
