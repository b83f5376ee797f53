//! What a handler can be given: an EventBridge envelope ("Security Hub Findings - Imported" and
//! "… - Custom Action" from Security Hub CSPM, in ASFF; "Findings Imported V2" from today's Security
//! Hub, in OCSF; or secauto's own "Security Response Required"), or, for `secauto simulate`, a
//! findings file (`{"Findings": [...]}` or `{"findings": [...]}`, a JSON array) or a single finding.
//!
//! Each finding is read on its own, as OCSF when it has the OCSF shape (`class_uid`, or
//! `finding_info` with `metadata` or `cloud`; see [`crate::ocsf::looks_like_ocsf`]) and as ASFF
//! otherwise, so a file may mix both and one bad finding does not hide the others: it is
//! [`Rejected`] with the reason. Both formats land in the same [`Finding`] model.

use serde_json::Value;

use crate::finding::Finding;
use crate::ocsf;
use crate::response::{ResponseEvent, RESPONSE_DETAIL_TYPE};

pub const IMPORTED: &str = "Security Hub Findings - Imported";
pub const CUSTOM_ACTION: &str = "Security Hub Findings - Custom Action";
pub const OCSF_IMPORTED: &str = "Findings Imported V2";

/// A finding that could not be read, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub index: usize,
    pub id: Option<String>,
    pub reason: String,
}

/// The findings of an input, each parsed on its own so one bad finding does not hide the others.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    pub ok: Vec<Finding>,
    pub rejected: Vec<Rejected>,
}

/// Which custom action an analyst picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomAction {
    /// Run the policy's remediation for these findings now.
    Remediate,
    /// Notify the SOC, flagged as an escalation.
    Escalate,
    /// Some other action target (not this stack's).
    Other(String),
}

/// A parsed input.
#[derive(Debug, Clone)]
pub enum Input {
    Imported(Findings),
    CustomAction {
        action: CustomAction,
        findings: Findings,
    },
    Response(Box<ResponseEvent>),
    /// A findings file or a bare finding (simulate only).
    File(Findings),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("unsupported event detail-type {0:?}: secauto handles \"{IMPORTED}\", \"{OCSF_IMPORTED}\", \"{CUSTOM_ACTION}\" and \"{RESPONSE_DETAIL_TYPE}\"")]
    Unsupported(String),
    #[error("the event has no detail.findings list")]
    NoFindings,
    #[error("not a secauto response event: {0}")]
    BadResponse(String),
    #[error(
        "not an EventBridge event, a {{\"Findings\": [...]}} file or a finding (ASFF or OCSF)"
    )]
    Unknown,
}

/// Read one OCSF finding, or say why not.
fn parse_ocsf(index: usize, v: &Value) -> Result<Finding, Rejected> {
    ocsf::parse(v).map_err(|e| Rejected {
        index,
        id: v
            .pointer("/metadata/uid")
            .or_else(|| v.pointer("/finding_info/uid"))
            .and_then(Value::as_str)
            .map(str::to_string),
        reason: e.to_string(),
    })
}

fn parse_findings(list: &[Value]) -> Findings {
    let mut out = Findings::default();
    for (index, v) in list.iter().enumerate() {
        if ocsf::looks_like_ocsf(v) {
            match parse_ocsf(index, v) {
                Ok(f) => out.ok.push(f),
                Err(r) => out.rejected.push(r),
            }
            continue;
        }
        match serde_json::from_value::<Finding>(v.clone()) {
            Ok(f) if f.id.is_empty() => out.rejected.push(Rejected {
                index,
                id: None,
                reason: "empty Id".into(),
            }),
            Ok(f) => out.ok.push(f),
            Err(e) => out.rejected.push(Rejected {
                index,
                id: v.get("Id").and_then(Value::as_str).map(str::to_string),
                reason: e.to_string(),
            }),
        }
    }
    out
}

fn detail_findings(detail: &Value) -> Result<Findings, InputError> {
    match detail.get("findings") {
        Some(Value::Array(list)) => Ok(parse_findings(list)),
        _ => Err(InputError::NoFindings),
    }
}

/// Which of this stack's custom actions an event is for: by the action target ARN in `resources`
/// (`…:action/custom/<prefix>Remediate` or `…Escalate`), or by the recipe's action names.
fn custom_action(event: &Value) -> CustomAction {
    let name = event["detail"]["actionName"].as_str().unwrap_or_default();
    let arns: Vec<&str> = event["resources"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let id = arns
        .iter()
        .find_map(|a| a.split(":action/custom/").nth(1))
        .unwrap_or_default();
    if id.ends_with("Remediate") || name == "TriggerAutomatedRemediation" {
        CustomAction::Remediate
    } else if id.ends_with("Escalate") || name == "EscalateToSOC" {
        CustomAction::Escalate
    } else {
        CustomAction::Other(if name.is_empty() {
            id.to_string()
        } else {
            name.to_string()
        })
    }
}

/// Parse whatever a handler or `simulate` was given.
pub fn parse_input(v: &Value) -> Result<Input, InputError> {
    if let Some(dt) = v.get("detail-type").and_then(Value::as_str) {
        let detail = &v["detail"];
        return match dt {
            IMPORTED => Ok(Input::Imported(detail_findings(detail)?)),
            CUSTOM_ACTION => Ok(Input::CustomAction {
                action: custom_action(v),
                findings: detail_findings(detail)?,
            }),
            OCSF_IMPORTED => Ok(Input::Imported(detail_findings(detail)?)),
            RESPONSE_DETAIL_TYPE => serde_json::from_value(detail.clone())
                .map(|r| Input::Response(Box::new(r)))
                .map_err(|e| InputError::BadResponse(e.to_string())),
            other => Err(InputError::Unsupported(other.to_string())),
        };
    }
    if let Some(Value::Array(list)) = v.get("Findings").or_else(|| v.get("findings")) {
        return Ok(Input::File(parse_findings(list)));
    }
    if ocsf::looks_like_ocsf(v) || (v.get("Id").is_some() && v.get("ProductArn").is_some()) {
        return Ok(Input::File(parse_findings(std::slice::from_ref(v))));
    }
    if let Value::Array(list) = v {
        return Ok(Input::File(parse_findings(list)));
    }
    Err(InputError::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ocsf_events_are_read() {
        let e = parse_input(&json!({"detail-type": OCSF_IMPORTED, "detail": {}})).unwrap_err();
        assert_eq!(e, InputError::NoFindings);
        let v = json!({"detail-type": OCSF_IMPORTED, "source": "aws.securityhub", "detail": {"findings": [
            {"class_uid": 2003, "metadata": {"uid": "m-1"}, "severity_id": 4},
            {"class_uid": 2004, "finding_info": {"uid": "no identity"}}
        ]}});
        let Input::Imported(f) = parse_input(&v).unwrap() else {
            panic!()
        };
        assert_eq!(f.ok.len(), 1);
        assert_eq!(f.ok[0].id, "m-1");
        assert_eq!(f.rejected.len(), 1);
        assert_eq!(f.rejected[0].index, 1);
        assert_eq!(f.rejected[0].id.as_deref(), Some("no identity"));
        assert!(f.rejected[0].reason.contains("metadata.uid"));
    }

    #[test]
    fn one_bad_finding_does_not_hide_others() {
        let v = json!({"detail-type": IMPORTED, "detail": {"findings": [
            {"Id": "a", "ProductArn": "p"},
            {"Id": 5},
            {"ProductArn": "no id"}
        ]}});
        let Input::Imported(f) = parse_input(&v).unwrap() else {
            panic!()
        };
        assert_eq!(f.ok.len(), 1);
        assert_eq!(f.rejected.len(), 2);
    }

    #[test]
    fn custom_action_by_arn_or_name() {
        let v = json!({"detail-type": CUSTOM_ACTION,
            "resources": ["arn:aws:securityhub:us-east-1:1:action/custom/secautoEscalate"],
            "detail": {"actionName": "Escalate to SOC", "findings": []}});
        let Input::CustomAction { action, .. } = parse_input(&v).unwrap() else {
            panic!()
        };
        assert_eq!(action, CustomAction::Escalate);
        let v = json!({"detail-type": CUSTOM_ACTION, "resources": [],
            "detail": {"actionName": "TriggerAutomatedRemediation", "findings": []}});
        let Input::CustomAction { action, .. } = parse_input(&v).unwrap() else {
            panic!()
        };
        assert_eq!(action, CustomAction::Remediate);
    }
}
