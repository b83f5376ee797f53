//! BatchUpdateFindings and PutEvents as triage and remediation use them. Security Hub's
//! BatchUpdateFindings exists in no emulator, so these tests use aws-smithy-mocks and assert the exact
//! requests (workflow values, notes, batching, retries of failed entries).

use std::sync::{Arc, Mutex};

use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_securityhub::operation::batch_update_findings::BatchUpdateFindingsOutput;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingIdentifier, BatchUpdateFindingsUnprocessedFinding,
};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use secauto_core::Policy;
use secauto_handlers::env::{Env, Function, Mode};
use secauto_handlers::events::{self, Event};
use secauto_handlers::findings::{self, Target, Update};
use secauto_handlers::{triage, Clients};
use serde_json::{json, Value};

fn env() -> Env {
    Env {
        function: Function::Triage,
        stack: "sec".into(),
        topic_arn: "arn:aws:sns:us-east-1:123456789012:sec-notifications".into(),
        mode: Mode::NotifyOnly,
        event_source: "secauto.sec".into(),
        isolate_document: "sec-isolate-instance".into(),
        event_bus: "sec-events".into(),
        policy: Policy::default(),
        automation_role: String::new(),
        automation_wait: std::time::Duration::from_secs(1),
        isolate_routing: false,
        protection: Default::default(),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        fleet: None,
    }
}

/// Clients whose Security Hub and EventBridge are the given mocks; the others point at a closed port.
fn clients(
    securityhub: aws_sdk_securityhub::Client,
    events: aws_sdk_eventbridge::Client,
) -> Clients {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    Clients {
        securityhub,
        events,
        ..Clients::new(&sdk)
    }
}

fn finding(id: &str, severity: &str, resource: &str, workflow: &str) -> Value {
    json!({
        "Id": id,
        "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/securityhub",
        "UpdatedAt": "2026-11-27T10:00:00Z",
        "Severity": {"Label": severity},
        "Title": format!("finding {id}"),
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "Resources": [{"Type": resource, "Id": format!("arn:aws:ec2:us-east-1:123456789012:security-group/sg-{id}")}],
        "Workflow": {"Status": workflow},
        "RecordState": "ACTIVE"
    })
}

#[tokio::test]
async fn mocked_triage_emits_one_event_per_actionable_finding_and_marks_them_notified() {
    let sent: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = sent.clone();
    let put = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(move |r| {
            for e in r.entries() {
                seen.lock().unwrap().push(json!({
                    "source": e.source(),
                    "detail_type": e.detail_type(),
                    "detail": serde_json::from_str::<Value>(e.detail().unwrap()).unwrap(),
                }));
            }
            r.entries().len() == 1
        })
        .then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(0)
                .entries(PutEventsResultEntry::builder().event_id("e1").build())
                .build()
        });
    let mark = mock!(aws_sdk_securityhub::Client::batch_update_findings)
        .match_requests(|r| {
            r.finding_identifiers().len() == 1
                && r.finding_identifiers()[0].id() == Some("sg1")
                && r.workflow().and_then(|w| w.status()).map(|s| s.as_str()) == Some("NOTIFIED")
                && r.note().and_then(|n| n.text())
                    == Some("secauto triage: fix-security-group (rule fix-open-security-group)")
                && r.note().and_then(|n| n.updated_by()) == Some("secauto")
                && r.user_defined_fields()
                    .and_then(|u| u.get("secauto:triaged-at"))
                    .map(String::as_str)
                    == Some("2026-11-27T10:00:00Z")
        })
        .then_output(|| {
            BatchUpdateFindingsOutput::builder()
                .processed_findings(
                    AwsSecurityFindingIdentifier::builder()
                        .id("sg1")
                        .product_arn("p")
                        .build(),
                )
                .build()
        });
    let c = clients(
        mock_client!(aws_sdk_securityhub, [&mark]),
        mock_client!(aws_sdk_eventbridge, [&put]),
    );
    let event = json!({
        "version": "0", "id": "x", "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub", "account": "123456789012", "region": "us-east-1",
        "resources": [], "time": "2026-11-27T10:00:00Z",
        "detail": {"findings": [
            finding("sg1", "HIGH", "AwsEc2SecurityGroup", "NEW"),
            finding("info", "INFORMATIONAL", "AwsEc2SecurityGroup", "NEW"),
            finding("done", "HIGH", "AwsEc2SecurityGroup", "NOTIFIED"),
            {"not": "a finding"}
        ]}
    });
    let state = triage::Seen::default();
    let out = triage::handle(&c, &env(), &state, &event).await.unwrap();
    assert_eq!(out["events"], 1, "{out}");
    assert_eq!(out["marked"], 1, "{out}");
    assert_eq!(out["rejected"], 1, "{out}");
    assert_eq!(put.num_calls(), 1);
    assert_eq!(mark.num_calls(), 1);
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent[0]["source"], "secauto.sec");
    assert_eq!(sent[0]["detail_type"], "Security Response Required");
    assert_eq!(sent[0]["detail"]["action"], "fix-security-group");
    assert_eq!(sent[0]["detail"]["finding"]["id"], "sg1");

    // The same event again (a retry reaching this warm container) sends nothing twice.
    let out = triage::handle(&c, &env(), &state, &event).await.unwrap();
    assert_eq!(out["events"], 0, "{out}");
}

#[tokio::test]
async fn mocked_batch_update_findings_batches_by_100_and_retries_unprocessed() {
    let update = Update {
        workflow: "RESOLVED",
        note: "done".into(),
        user_defined_fields: Default::default(),
    };
    let targets: Vec<(Target, Update)> = (0..150)
        .map(|i| {
            (
                Target {
                    id: format!("f{i}"),
                    product_arn: "p".into(),
                },
                update.clone(),
            )
        })
        .collect();
    let first = mock!(aws_sdk_securityhub::Client::batch_update_findings)
        .match_requests(|r| {
            r.finding_identifiers().len() == 100
                && r.workflow().and_then(|w| w.status()).map(|s| s.as_str()) == Some("RESOLVED")
        })
        .then_output(|| {
            BatchUpdateFindingsOutput::builder()
                .unprocessed_findings(
                    BatchUpdateFindingsUnprocessedFinding::builder()
                        .finding_identifier(
                            AwsSecurityFindingIdentifier::builder()
                                .id("f7")
                                .product_arn("p")
                                .build(),
                        )
                        .error_code("FindingNotFound")
                        .error_message("try again")
                        .build(),
                )
                .build()
        });
    let retry = mock!(aws_sdk_securityhub::Client::batch_update_findings)
        .match_requests(|r| {
            r.finding_identifiers().len() == 1 && r.finding_identifiers()[0].id() == Some("f7")
        })
        .then_output(|| BatchUpdateFindingsOutput::builder().build());
    let second = mock!(aws_sdk_securityhub::Client::batch_update_findings)
        .match_requests(|r| r.finding_identifiers().len() == 50)
        .then_output(|| BatchUpdateFindingsOutput::builder().build());
    let sh = mock_client!(
        aws_sdk_securityhub,
        RuleMode::Sequential,
        [&first, &retry, &second]
    );
    let done = findings::update(&sh, targets).await.unwrap();
    assert_eq!(done, 150);
    assert_eq!(
        (first.num_calls(), retry.num_calls(), second.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn mocked_batch_update_findings_still_unprocessed_is_an_error() {
    let always = mock!(aws_sdk_securityhub::Client::batch_update_findings).then_output(|| {
        BatchUpdateFindingsOutput::builder()
            .unprocessed_findings(
                BatchUpdateFindingsUnprocessedFinding::builder()
                    .finding_identifier(
                        AwsSecurityFindingIdentifier::builder()
                            .id("f")
                            .product_arn("p")
                            .build(),
                    )
                    .error_code("AccessDenied")
                    .error_message("no")
                    .build(),
            )
            .build()
    });
    let sh = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&always]);
    let u = Update {
        workflow: "NOTIFIED",
        note: "n".into(),
        user_defined_fields: Default::default(),
    };
    let err = findings::update(
        &sh,
        vec![(
            Target {
                id: "f".into(),
                product_arn: "p".into(),
            },
            u,
        )],
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("AccessDenied"), "{err}");
    assert_eq!(always.num_calls(), 2, "one retry");
}

#[tokio::test]
async fn mocked_put_events_retries_failed_entries_only() {
    let evs: Vec<Event> = (0..12)
        .map(|i| Event {
            bus: String::new(),
            source: "s".into(),
            detail_type: "d".into(),
            detail: format!("{{\"n\":{i}}}"),
            resources: vec![],
        })
        .collect();
    let first = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(|r| r.entries().len() == 10)
        .then_output(|| {
            let mut b = PutEventsOutput::builder().failed_entry_count(1);
            for i in 0..10 {
                b = b.entries(if i == 3 {
                    PutEventsResultEntry::builder()
                        .error_code("InternalFailure")
                        .error_message("retry")
                        .build()
                } else {
                    PutEventsResultEntry::builder()
                        .event_id(format!("e{i}"))
                        .build()
                });
            }
            b.build()
        });
    let retry = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(|r| r.entries().len() == 1 && r.entries()[0].detail() == Some("{\"n\":3}"))
        .then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(0)
                .entries(PutEventsResultEntry::builder().event_id("e3").build())
                .build()
        });
    let rest = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(|r| r.entries().len() == 2)
        .then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(0)
                .entries(PutEventsResultEntry::builder().event_id("a").build())
                .entries(PutEventsResultEntry::builder().event_id("b").build())
                .build()
        });
    let eb = mock_client!(
        aws_sdk_eventbridge,
        RuleMode::Sequential,
        [&first, &retry, &rest]
    );
    assert_eq!(events::put(&eb, &evs).await.unwrap(), 12);
}

/// BatchUpdateFindingsV2's answer for a finding it could not update, naming neither its
/// `metadata.uid` nor its identifier (both are optional in AWS's API reference).
fn unnamed_unprocessed(
) -> aws_sdk_securityhub::operation::batch_update_findings_v2::BatchUpdateFindingsV2Output {
    use aws_sdk_securityhub::types::{
        BatchUpdateFindingsV2UnprocessedFinding as Unprocessed,
        BatchUpdateFindingsV2UnprocessedFindingErrorCode as Code,
    };
    aws_sdk_securityhub::operation::batch_update_findings_v2::BatchUpdateFindingsV2Output::builder()
        .unprocessed_findings(
            Unprocessed::builder()
                .error_code(Code::from("InternalServerException"))
                .error_message("try again")
                .build(),
        )
        .build()
}

/// An unnamed unprocessed finding is the one sent when only one was: retried with it, then an
/// error naming it; among several it cannot be told apart, so the update fails at once, saying so
/// — never a retry of an empty uid.
#[tokio::test]
async fn mocked_an_unnamed_unprocessed_v2_finding_is_never_retried_as_an_empty_uid() {
    use secauto_handlers::findings_v2::{self, OcsfTarget, OcsfUpdate};
    let update = OcsfUpdate {
        status_id: Some(findings_v2::IN_PROGRESS),
        comment: "secauto test".into(),
    };
    let sent = Arc::new(Mutex::new(Vec::new()));
    let seen = sent.clone();
    let always = mock!(aws_sdk_securityhub::Client::batch_update_findings_v2)
        .match_requests(move |r| {
            seen.lock().unwrap().push(r.metadata_uids().to_vec());
            true
        })
        .then_output(unnamed_unprocessed);
    let sh = mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&always]);
    let one = vec![(OcsfTarget::MetadataUid("m-1".into()), update.clone())];
    let err = findings_v2::update(&sh, one).await.unwrap_err().to_string();
    assert!(
        err.contains("metadata.uid m-1: InternalServerException"),
        "{err}"
    );
    assert_eq!(
        *sent.lock().unwrap(),
        vec![vec!["m-1".to_string()], vec!["m-1".to_string()]],
        "retried once, with the finding sent"
    );
    sent.lock().unwrap().clear();
    let two = vec![
        (OcsfTarget::MetadataUid("m-1".into()), update.clone()),
        (OcsfTarget::MetadataUid("m-2".into()), update),
    ];
    let err = format!("{:#}", findings_v2::update(&sh, two).await.unwrap_err());
    assert!(
        err.contains("left a finding unprocessed without naming it")
            && err.contains("among 2 sent"),
        "{err}"
    );
    assert_eq!(
        sent.lock().unwrap().len(),
        1,
        "no retry of an unnamed finding"
    );
}

/// Once triage has sent a finding's response event, a mark Security Hub leaves unprocessed (a
/// finding just imported that does not take an update yet) does not fail the invocation: Lambda's
/// retry would send the event again, and remediation would act twice. The error is said instead.
#[tokio::test]
async fn mocked_a_mark_refused_after_the_event_was_sent_does_not_fail_triage() {
    let put = mock!(aws_sdk_eventbridge::Client::put_events).then_output(|| {
        PutEventsOutput::builder()
            .failed_entry_count(0)
            .entries(PutEventsResultEntry::builder().event_id("e1").build())
            .build()
    });
    let refused = mock!(aws_sdk_securityhub::Client::batch_update_findings).then_output(|| {
        BatchUpdateFindingsOutput::builder()
            .unprocessed_findings(
                BatchUpdateFindingsUnprocessedFinding::builder()
                    .finding_identifier(
                        AwsSecurityFindingIdentifier::builder()
                            .id("sg1")
                            .product_arn("arn:aws:securityhub:us-east-1::product/aws/securityhub")
                            .build(),
                    )
                    .error_code("FindingNotFound")
                    .error_message("not yet")
                    .build(),
            )
            .build()
    });
    let c = clients(
        mock_client!(aws_sdk_securityhub, RuleMode::MatchAny, [&refused]),
        mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&put]),
    );
    let event = json!({
        "version": "0", "id": "x", "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub", "account": "123456789012", "region": "us-east-1",
        "resources": [], "time": "2026-11-27T10:00:00Z",
        "detail": {"findings": [finding("sg1", "HIGH", "AwsEc2SecurityGroup", "NEW")]}
    });
    let out = triage::handle(&c, &env(), &triage::Seen::default(), &event)
        .await
        .expect("the event was sent: triage does not fail");
    assert_eq!(out["events"], 1, "{out}");
    assert_eq!(out["marked"], 0, "{out}");
    let why = out["mark_error"].as_str().unwrap_or_default();
    assert!(why.contains("sg1") && why.contains("not yet"), "{out}");
    assert_eq!(put.num_calls(), 1, "sent once");
}
