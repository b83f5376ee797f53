//! Readable notification messages and the SNS message attributes subscription filter policies use.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::response::ResponseEvent;

/// An SNS message: subject (fewer than 100 ASCII characters), body, string attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub subject: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
}

/// SNS subjects: ASCII, no line breaks, fewer than 100 characters (SNS refuses 100).
pub fn subject(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                ' '
            }
        })
        .collect();
    let clean = clean.trim();
    if clean.len() < 100 {
        clean.to_string()
    } else {
        format!("{}...", &clean[..96])
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The AWS Management Console's domain in `partition`: `console.amazonaws.cn` (China),
/// `console.amazonaws-us-gov.com` (GovCloud), else `console.aws.amazon.com`.
pub fn console_domain(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "console.amazonaws.cn",
        "aws-us-gov" => "console.amazonaws-us-gov.com",
        _ => "console.aws.amazon.com",
    }
}

/// The partition of a finding: its product ARN's (`arn:aws-cn:…`) when it names one, else its
/// region's ([`crate::names::partition`], the one table of partitions).
pub fn partition(product_arn: &str, region: &str) -> &'static str {
    product_arn
        .strip_prefix("arn:")
        .and_then(|rest| rest.split(':').next())
        .and_then(crate::names::known_partition)
        .unwrap_or_else(|| crate::names::partition(region))
}

/// A Security Hub CSPM console link that opens this (ASFF) finding, in the partition's console.
pub fn console_link(partition: &str, region: &str, finding_id: &str) -> String {
    format!(
        "https://{region}.{}/securityhub/home?region={region}#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253A{}",
        console_domain(partition),
        enc(&enc(finding_id))
    )
}

/// Where an OCSF finding is seen: the current Security Hub's console in the partition (AWS
/// documents no link to one finding there, so the line says what to search for, named by the field
/// it is: `metadata.uid`, else `finding_info.uid`; CSPM's console knows no OCSF finding).
fn ocsf_console_line(
    partition: &str,
    region: &str,
    o: &crate::finding::OcsfIdentity,
    id: &str,
) -> String {
    let (field, value) = match (&o.metadata_uid, &o.finding_info_uid) {
        (Some(m), _) => ("metadata.uid", m.as_str()),
        (None, Some(f)) => ("finding_info.uid", f.as_str()),
        (None, None) => ("metadata.uid", id),
    };
    format!(
        "https://{}/securityhub/v2/home?region={region} (Findings: search {field} {value})",
        console_domain(partition)
    )
}

fn attrs(e: &ResponseEvent, kind: &str) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert("severity".into(), e.finding.severity.clone());
    a.insert(
        "finding_id".into(),
        e.finding.id.chars().take(256).collect(),
    );
    a.insert(
        "product".into(),
        if e.finding.product.is_empty() {
            "unknown".into()
        } else {
            e.finding.product.clone()
        },
    );
    a.insert("action".into(), e.action.as_str().into());
    a.insert("message_type".into(), kind.into());
    if let Some(account) = e.finding.account.as_deref().filter(|a| !a.is_empty()) {
        a.insert("account".into(), account.into());
    }
    if let Some(control) = e.finding.control_id.as_deref().filter(|c| !c.is_empty()) {
        a.insert("control_id".into(), control.chars().take(256).collect());
    }
    // Which Security Hub the finding came from: "ocsf" (today's) or "asff" (CSPM).
    let format = if e.finding.ocsf.is_some() {
        "ocsf"
    } else {
        "asff"
    };
    a.insert("format".into(), format.into());
    if e.escalate {
        a.insert("escalation".into(), "true".into());
    }
    a
}

/// The notification for one finding.
pub fn notification(e: &ResponseEvent, mode: &str) -> Message {
    let f = &e.finding;
    let region = f.region.clone().unwrap_or_else(|| "us-east-1".into());
    let prefix = if e.escalate { "[ESCALATED] " } else { "" };
    let mut body = String::new();
    body.push_str(&format!(
        "{prefix}{} security finding: {}\n\n",
        f.severity, f.title
    ));
    body.push_str(&format!("Severity:  {}\n", f.severity));
    body.push_str(&format!("Product:   {}\n", f.product));
    body.push_str(&format!(
        "Account:   {}\n",
        f.account.as_deref().unwrap_or("unknown")
    ));
    body.push_str(&format!("Region:    {region}\n"));
    if let Some(control) = &f.control_id {
        body.push_str(&format!("Control:   {control}\n"));
    }
    body.push_str(&format!(
        "Action:    {}{}{}\n",
        e.action.as_str(),
        e.rule
            .as_deref()
            .map(|r| format!(" (rule {r})"))
            .unwrap_or_default(),
        if mode == "notify-only" && e.action.resource_type().is_some() {
            " — notify-only mode: remediation reports what it would do and changes nothing"
        } else {
            ""
        }
    ));
    if !f.types.is_empty() {
        body.push_str(&format!("Types:     {}\n", f.types.join(", ")));
    }
    body.push_str("Resources:\n");
    if f.resources.is_empty() {
        body.push_str("  (none listed)\n");
    }
    for r in &f.resources {
        body.push_str(&format!("  - {} {}\n", r.kind, r.id));
    }
    if !f.description.is_empty() {
        body.push_str(&format!("\n{}\n", f.description));
    }
    body.push_str(&format!("\nFinding:   {}\n", f.id));
    let partition = partition(&f.product_arn, &region);
    let console = match &f.ocsf {
        Some(o) => ocsf_console_line(partition, &region, o, &f.id),
        None => console_link(partition, &region, &f.id),
    };
    body.push_str(&format!("Console:   {console}\n"));
    Message {
        subject: subject(&format!("{prefix}[{}] {}", f.severity, f.title)),
        body,
        attributes: attrs(e, "finding"),
    }
}

/// The outcome of a remediation.
/// A response event remediation did not act on, and why (a finding Security Hub does not vouch for).
pub fn refused(e: &ResponseEvent, why: &str) -> Message {
    let mut attributes = BTreeMap::new();
    attributes.insert("message_type".into(), "refused".into());
    attributes.insert("action".into(), e.action.as_str().into());
    attributes.insert("severity".into(), "HIGH".into());
    // Subscribers filtering by finding (verify's queue among them) get its refusals too.
    attributes.insert(
        "finding_id".into(),
        e.finding.id.chars().take(256).collect(),
    );
    Message {
        subject: subject(&format!("secauto refused to {}: {}", e.action.as_str(), e.finding.id)),
        body: format!(
            "secauto remediation did not {} for finding {}:\n{why}\n\nA response event that Security Hub does not vouch for may be forged: check who can put events on the stack's bus.\n",
            e.action.as_str(),
            e.finding.id
        ),
        attributes,
    }
}

pub fn outcome(e: &ResponseEvent, dry_run: bool, ok: bool, steps: &[String]) -> Message {
    let f = &e.finding;
    let verb = match (dry_run, ok) {
        (true, _) => "would",
        (false, true) => "did",
        (false, false) => "FAILED to",
    };
    let mut body = format!(
        "secauto {verb} {} for finding {}\n{}\n\n",
        e.action.as_str(),
        f.id,
        f.title
    );
    for s in steps {
        body.push_str(&format!("  - {s}\n"));
    }
    Message {
        subject: subject(&format!(
            "[{}] remediation {}: {}",
            f.severity,
            if dry_run {
                "dry run"
            } else if ok {
                "done"
            } else {
                "failed"
            },
            e.action.as_str()
        )),
        body,
        attributes: attrs(e, "remediation"),
    }
}

/// The outcome of a remediation that found nothing to do: the fact the finding reports was
/// already remediated (its twin in the other format, or the same finding arriving twice, acted
/// first), so nothing was changed.
pub fn already_done(e: &ResponseEvent, steps: &[String]) -> Message {
    let f = &e.finding;
    let mut body = format!(
        "secauto found {} already done for finding {}\n{}\nFact: {}\nNothing was changed.\n\n",
        e.action.as_str(),
        f.id,
        f.title,
        if f.fact.is_empty() {
            "unknown"
        } else {
            &f.fact
        }
    );
    for s in steps {
        body.push_str(&format!("  - {s}\n"));
    }
    let mut attributes = attrs(e, "remediation");
    attributes.insert("outcome".into(), "already-done".into());
    Message {
        subject: subject(&format!(
            "[{}] remediation already done: {}",
            f.severity,
            e.action.as_str()
        )),
        body,
        attributes,
    }
}

/// What the error handler publishes for a failed asynchronous invocation (a Lambda on-failure
/// destination record): the function, the error, and the start of the payload.
pub fn failure(record: &Value, max_payload: usize) -> Message {
    let ctx = &record["requestContext"];
    let function = ctx["functionArn"].as_str().unwrap_or("unknown function");
    let condition = ctx["condition"].as_str().unwrap_or("unknown condition");
    let attempts = ctx["approximateInvokeCount"].as_u64().unwrap_or(0);
    let resp = &record["responsePayload"];
    let error_type = resp["errorType"].as_str().unwrap_or("unknown");
    let error_message = resp["errorMessage"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| resp.to_string());
    let payload = serde_json::to_string_pretty(&record["requestPayload"]).unwrap_or_default();
    let trimmed = if payload.len() > max_payload {
        let mut end = max_payload;
        while !payload.is_char_boundary(end) {
            end -= 1;
        }
        format!(
            "{}\n… ({} more bytes)",
            &payload[..end],
            payload.len() - end
        )
    } else {
        payload
    };
    // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]: the name, not `$LATEST`.
    let short = function.split(':').nth(6).unwrap_or(function);
    let mut attributes = BTreeMap::new();
    attributes.insert("message_type".into(), "failure".into());
    attributes.insert("function".into(), short.to_string());
    attributes.insert("severity".into(), "HIGH".into());
    if let Some(id) = failed_finding(&record["requestPayload"]) {
        // Subscribers filtering by finding (verify's queue among them) get its failures too.
        attributes.insert("finding_id".into(), id.chars().take(256).collect());
    }
    Message {
        subject: subject(&format!("secauto failure in {short}: {error_type}")),
        body: format!(
            "The function {function} failed ({condition}, {attempts} attempt(s)).\n\nError: {error_type}: {error_message}\n\nEvent:\n{trimmed}\n"
        ),
        attributes,
    }
}

/// The one finding a failed invocation's event was about: a response event's, or the single
/// finding of a Security Hub event (ASFF `Id`, OCSF `metadata.uid`); none when it held several.
fn failed_finding(event: &Value) -> Option<&str> {
    let detail = &event["detail"];
    if let Some(id) = detail["finding"]["id"].as_str() {
        return Some(id);
    }
    match detail["findings"].as_array().map(Vec::as_slice) {
        Some([one]) => one["Id"].as_str().or(one["metadata"]["uid"].as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_is_ascii_and_short() {
        let s = subject(&format!("é\n{}", "x".repeat(300)));
        assert!(s.len() < 100 && s.is_ascii() && !s.contains('\n'));
        assert_eq!(subject(&"y".repeat(100)).len(), 99);
        assert_eq!(subject(&"y".repeat(99)).len(), 99);
    }

    /// An OCSF finding of the corpus (today's Security Hub) notifies like an ASFF one: severity,
    /// product, account and control id in the attributes and the body.
    #[test]
    fn an_ocsf_finding_notifies_with_severity_product_account_and_control() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/ocsf/cspm-s3.8-fail-new.event.json"
        );
        let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let crate::Input::Imported(found) = crate::parse_input(&event).unwrap() else {
            panic!("not an imported finding")
        };
        let f = &found.ok[0];
        let decision = crate::Decision::new(crate::Action::EnableBucketEncryption, None);
        let e = ResponseEvent::new("sec", f, &decision, false, false);
        let m = notification(&e, "enforce");
        let a = &m.attributes;
        assert_eq!(a["severity"], f.severity().as_str());
        assert_ne!(a["severity"], "INFORMATIONAL");
        assert_eq!(a["product"], "Security Hub CSPM");
        assert_eq!(a["account"], "111122223333");
        assert_eq!(a["control_id"], "S3.8");
        assert_eq!(a["format"], "ocsf");
        assert!(m.body.contains("Control:   S3.8"), "{}", m.body);
        assert!(m.body.contains("Account:   111122223333"), "{}", m.body);
        // The current Security Hub's console, with the uid to search: CSPM's console (its
        // `Id` search) knows no OCSF finding.
        let uid = f.ocsf.as_ref().unwrap().metadata_uid.as_deref().unwrap();
        assert!(
            m.body.contains(&format!(
                "Console:   https://console.aws.amazon.com/securityhub/v2/home?region={} (Findings: search metadata.uid {uid})",
                f.region.as_deref().unwrap()
            )),
            "{}",
            m.body
        );
        assert!(
            m.subject.starts_with(&format!("[{}]", a["severity"])),
            "{}",
            m.subject
        );
        // Every attribute value is non-empty (SNS refuses empty string attributes).
        assert!(a.values().all(|v| !v.is_empty()), "{a:?}");
    }

    /// The OCSF console line names the field it prints (`finding_info.uid` when the finding has no
    /// `metadata.uid`), and both links use the console of the finding's partition.
    #[test]
    fn console_lines_name_the_field_printed_and_the_partition_console() {
        let ocsf = serde_json::json!({"class_uid": 2004, "finding_info": {"uid": "gd-finding-1"},
            "cloud": {"account": {"uid": "111122223333"}, "region": "cn-north-1"},
            "metadata": {"product": {"uid": "arn:aws-cn:securityhub:cn-north-1::productv2/aws/guardduty"}}});
        let crate::Input::File(found) = crate::parse_input(&ocsf).unwrap() else {
            panic!()
        };
        let f = &found.ok[0];
        let d = crate::Decision::new(crate::Action::NotifyOnly, None);
        let m = notification(&ResponseEvent::new("sec", f, &d, false, false), "enforce");
        assert!(
            m.body.contains("Console:   https://console.amazonaws.cn/securityhub/v2/home?region=cn-north-1 (Findings: search finding_info.uid gd-finding-1)"),
            "{}",
            m.body
        );
        let asff: crate::Finding = serde_json::from_value(serde_json::json!({
            "Id": "x", "ProductArn": "arn:aws-us-gov:securityhub:us-gov-west-1::product/aws/guardduty",
            "Region": "us-gov-west-1"}))
        .unwrap();
        let m = notification(
            &ResponseEvent::new("sec", &asff, &d, false, false),
            "enforce",
        );
        assert!(
            m.body
                .contains("Console:   https://us-gov-west-1.console.amazonaws-us-gov.com/securityhub/home?region=us-gov-west-1#/findings"),
            "{}",
            m.body
        );
        assert_eq!(partition("", "cn-northwest-1"), "aws-cn");
        assert_eq!(partition("", "eu-west-1"), "aws");
        // Every partition the one table knows, by product ARN or by region.
        assert_eq!(
            partition("arn:aws-iso-e:securityhub:eu-isoe-west-1::product/x", ""),
            "aws-iso-e"
        );
        assert_eq!(partition("", "us-isof-south-1"), "aws-iso-f");
        assert_eq!(
            partition("arn:aws:securityhub:cn-north-1::product/x", "cn-north-1"),
            "aws"
        );
        assert_eq!(console_domain("aws"), "console.aws.amazon.com");
    }

    #[test]
    fn failure_message_names_function_and_error() {
        let rec = serde_json::json!({
            "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:1:function:s-triage:$LATEST", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": {"big": "x".repeat(5000)},
            "responsePayload": {"errorType": "Timeout", "errorMessage": "Task timed out"}
        });
        let m = failure(&rec, 1000);
        assert!(m.subject.contains("Timeout"));
        assert_eq!(
            m.attributes["function"], "s-triage",
            "the name, not its $LATEST qualifier"
        );
        assert!(m.subject.contains("in s-triage:"), "{}", m.subject);
        assert!(m.body.contains("Task timed out"));
        assert!(m.body.contains("more bytes"));
        assert!(!m.attributes.contains_key("finding_id"), "no finding named");
    }

    #[test]
    fn a_failure_about_one_finding_names_it_for_subscribers_filtering_by_finding() {
        let failed = |payload: Value| {
            let rec = serde_json::json!({
                "requestContext": {"functionArn": "arn:aws:lambda:us-east-1:1:function:s-triage"},
                "requestPayload": payload,
                "responsePayload": {"errorType": "Boom", "errorMessage": "no"}
            });
            failure(&rec, 1000).attributes.get("finding_id").cloned()
        };
        let asff = serde_json::json!({"detail": {"findings": [{"Id": "arn:f/1"}]}});
        assert_eq!(failed(asff).as_deref(), Some("arn:f/1"));
        let ocsf = serde_json::json!({"detail": {"findings": [{"metadata": {"uid": "u-2"}}]}});
        assert_eq!(failed(ocsf).as_deref(), Some("u-2"));
        let response = serde_json::json!({"detail": {"finding": {"id": "arn:f/3"}}});
        assert_eq!(failed(response).as_deref(), Some("arn:f/3"));
        let two = serde_json::json!({"detail": {"findings": [{"Id": "a"}, {"Id": "b"}]}});
        assert_eq!(failed(two), None, "several findings: none named");
    }
}
