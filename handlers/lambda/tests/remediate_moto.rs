//! Remediations against moto's EC2, Auto Scaling and S3: real instances, groups, rules, interfaces,
//! volumes, Auto Scaling groups and buckets made in the test, and the resulting state asserted. SSM
//! automation executions exist in no emulator, so the quarantine tests give the executor an
//! aws-smithy-mocks SSM client answering AWS's documented outcomes (`mocked_*`).

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, Ipv6Range, Tag};
use aws_sdk_ssm::operation::get_automation_execution::GetAutomationExecutionOutput;
use aws_sdk_ssm::operation::start_automation_execution::StartAutomationExecutionOutput;
use aws_sdk_ssm::types::{AutomationExecution, AutomationExecutionStatus, StepExecution};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use secauto_handlers::env::Mode;
use secauto_handlers::remediate::Outcome;
use secauto_handlers::remediate::{
    Executor, Protection, PREVIOUS_GROUPS_TAG, QUARANTINE_GROUP, UNTRACK_GROUP,
};
use secauto_handlers::remediation::verdict;
use secauto_testkit::moto;

mod common;
use common::*;

#[tokio::test]
async fn isolate_instance_swaps_groups_tags_and_snapshots() {
    let a = aws();
    let f = fixture(&a, false).await;
    let out = exec(&a, false)
        .isolate_instance(&f.instance, true)
        .await
        .unwrap();
    assert!(out.changed && !out.protected, "{out:?}");

    let qid = quarantine_group(&a).await.expect("a quarantine group");
    assert!(
        eni_in_group(&a, &f.instance, &qid).await,
        "the interface is in quarantine"
    );
    assert!(
        !eni_in_group(&a, &f.instance, &f.sg).await,
        "and out of its old group"
    );
    let q = a
        .ec2
        .describe_security_groups()
        .group_ids(&qid)
        .send()
        .await
        .unwrap();
    let q = &q.security_groups()[0];
    assert_eq!(q.group_name(), Some(QUARANTINE_GROUP));
    assert_eq!(q.vpc_id(), Some(f.vpc.as_str()));
    assert!(
        q.ip_permissions().is_empty() && q.ip_permissions_egress().is_empty(),
        "no rules: {q:?}"
    );

    let tags = a
        .ec2
        .describe_instances()
        .instance_ids(&f.instance)
        .send()
        .await
        .unwrap();
    let tags: Vec<(String, String)> = tags.reservations()[0].instances()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
        .collect();
    assert!(
        tags.contains(&("secauto:isolated".into(), "true".into())),
        "{tags:?}"
    );
    assert_eq!(
        eni_tag(&a, &f.instance, PREVIOUS_GROUPS_TAG)
            .await
            .as_deref(),
        Some(f.sg.as_str()),
        "the interface records its groups"
    );
    assert!(
        snapshots_of(&a, &f.instance).await >= 1,
        "a forensic snapshot per volume"
    );

    // Isolating again (a retry, a duplicate event) is a no-op that keeps the record.
    let again = exec(&a, false)
        .isolate_instance(&f.instance, true)
        .await
        .unwrap();
    assert!(!again.changed && again.compliant, "{again:?}");
    assert_eq!(
        eni_tag(&a, &f.instance, PREVIOUS_GROUPS_TAG)
            .await
            .as_deref(),
        Some(f.sg.as_str()),
        "a re-run never records the quarantine group as previous"
    );
    assert_eq!(
        snapshots_of(&a, &f.instance).await,
        1,
        "one snapshot per volume and finding"
    );
    let qs = a
        .ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("group-name")
                .values(QUARANTINE_GROUP)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(qs.security_groups().len(), 1);
}

#[tokio::test]
async fn notify_only_and_protected_change_nothing() {
    let a = aws();
    let f = fixture(&a, false).await;
    let before = ingress(&a, &f.sg).await;
    let out = exec(&a, true)
        .isolate_instance(&f.instance, true)
        .await
        .unwrap();
    assert!(!out.changed);
    assert!(
        out.steps.iter().all(|s| s.starts_with("would ")),
        "{:?}",
        out.steps
    );
    assert!(
        out.steps.iter().any(|s| s.contains("snapshot")),
        "{:?}",
        out.steps
    );
    assert!(eni_in_group(&a, &f.instance, &f.sg).await);
    assert!(
        quarantine_group(&a).await.is_none(),
        "no quarantine group made in a dry run"
    );
    assert_eq!(snapshots_of(&a, &f.instance).await, 0);
    let out = exec(&a, true).fix_security_group(&f.sg).await.unwrap();
    assert!(
        !out.changed && out.steps.iter().any(|s| s.contains("would revoke tcp 22")),
        "{:?}",
        out.steps
    );
    assert_eq!(ingress(&a, &f.sg).await, before);

    let p = fixture(&a, true).await;
    let out = exec(&a, false)
        .isolate_instance(&p.instance, true)
        .await
        .unwrap();
    assert!(out.protected && !out.changed, "{out:?}");
    assert!(eni_in_group(&a, &p.instance, &p.sg).await);
    assert!(quarantine_group(&a).await.is_none());
    let before = ingress(&a, &p.sg).await;
    let out = exec(&a, false).block_network(&p.sg).await.unwrap();
    assert!(out.protected && !out.changed);
    assert_eq!(ingress(&a, &p.sg).await, before);
}

#[tokio::test]
async fn fix_security_group_revokes_world_open_admin_ports_only() {
    let a = aws();
    let f = fixture(&a, false).await;
    let out = exec(&a, false).fix_security_group(&f.sg).await.unwrap();
    assert!(out.changed, "{out:?}");
    assert_eq!(
        ingress(&a, &f.sg).await,
        vec!["2222:::/0", "443:0.0.0.0/0", "8080:10.0.0.0/8"],
        "22 and 3389 from the world are gone; 443, the private 8080 and the non-admin v6 port stay"
    );
    // Decided by the re-read: nothing fix-security-group answers for is open any more, so the
    // finding is RESOLVED, and the note names what stays open to the world outside its scope.
    assert!(out.compliant, "{out:?}");
    let (workflow, _, note) = verdict("fix-security-group", Mode::Enforce, &Ok(out));
    assert_eq!(workflow, "RESOLVED", "{note}");
    assert!(
        note.contains("stays open to the world on tcp 443"),
        "{note}"
    );
}

#[tokio::test]
async fn block_network_revokes_everything_open_to_the_world() {
    let a = aws();
    let f = fixture(&a, false).await;
    exec(&a, false).block_network(&f.sg).await.unwrap();
    assert_eq!(ingress(&a, &f.sg).await, vec!["8080:10.0.0.0/8"]);
    let again = exec(&a, false).block_network(&f.sg).await.unwrap();
    assert!(!again.changed, "idempotent: {again:?}");
}

#[tokio::test]
async fn enable_bucket_encryption_turns_on_sse_and_public_access_block() {
    let a = aws();
    a.s3.create_bucket()
        .bucket("open-bucket")
        .send()
        .await
        .unwrap();
    let dry = exec(&a, true)
        .enable_bucket_encryption("open-bucket")
        .await
        .unwrap();
    assert!(
        !dry.changed && dry.steps.iter().all(|s| s.starts_with("would ")),
        "{dry:?}"
    );
    assert!(a
        .s3
        .get_public_access_block()
        .bucket("open-bucket")
        .send()
        .await
        .is_err());

    let out = exec(&a, false)
        .enable_bucket_encryption("open-bucket")
        .await
        .unwrap();
    assert!(out.changed, "{out:?}");
    let enc =
        a.s3.get_bucket_encryption()
            .bucket("open-bucket")
            .send()
            .await
            .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "AES256"
    );
    let pab =
        a.s3.get_public_access_block()
            .bucket("open-bucket")
            .send()
            .await
            .unwrap();
    let c = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let again = exec(&a, false)
        .enable_bucket_encryption("open-bucket")
        .await
        .unwrap();
    assert!(!again.changed, "{again:?}");
}

fn automation(
    status: AutomationExecutionStatus,
    failed_step: Option<(&'static str, &'static str)>,
) -> GetAutomationExecutionOutput {
    let mut e = AutomationExecution::builder()
        .automation_execution_id("exec-1")
        .automation_execution_status(status);
    if let Some((name, message)) = failed_step {
        e = e
            .step_executions(
                StepExecution::builder()
                    .step_name("DescribeVolumes")
                    .step_status(AutomationExecutionStatus::Success)
                    .build(),
            )
            .step_executions(
                StepExecution::builder()
                    .step_name(name)
                    .step_status(AutomationExecutionStatus::Failed)
                    .failure_message(message)
                    .build(),
            );
    }
    GetAutomationExecutionOutput::builder()
        .automation_execution(e.build())
        .build()
}

/// Quarantine against moto's EC2 with an SSM that answers `statuses` in turn (SSM automation
/// executions exist in no emulator: these are AWS's documented answers).
async fn quarantine_with(statuses: Vec<GetAutomationExecutionOutput>) -> (Outcome, usize, usize) {
    quarantine_of(statuses, true).await
}

/// `quarantine_with`, the instance stopped beforehand (as the automation stops it) or not.
async fn quarantine_of(
    statuses: Vec<GetAutomationExecutionOutput>,
    stop: bool,
) -> (Outcome, usize, usize) {
    let a = aws();
    let f = fixture(&a, false).await;
    if stop {
        a.ec2
            .stop_instances()
            .instance_ids(&f.instance)
            .send()
            .await
            .unwrap();
    }
    let instance = f.instance.clone();
    let start = mock!(aws_sdk_ssm::Client::start_automation_execution)
        .match_requests(move |r| {
            let p = r.parameters();
            r.document_name() == Some("sec-isolate-instance")
                && r.client_token().is_some_and(|t| {
                    uuid::Uuid::parse_str(t).is_ok_and(|u| u.get_version_num() == 5)
                })
                && p.and_then(|p| p.get("FindingId"))
                    == Some(&vec![
                        "arn:aws:securityhub:us-east-1:123456789012:finding/test".to_string(),
                    ])
                && p.and_then(|p| p.get("InstanceId")) == Some(&vec![instance.clone()])
                && p.and_then(|p| p.get("FindingId")).is_some()
                && p.and_then(|p| p.get("AutomationAssumeRole"))
                    == Some(&vec![
                        "arn:aws:iam::123456789012:role/sec-us-east-1-automation".to_string(),
                    ])
        })
        .then_output(|| {
            StartAutomationExecutionOutput::builder()
                .automation_execution_id("exec-1")
                .build()
        });
    let mut seq = mock!(aws_sdk_ssm::Client::get_automation_execution).sequence();
    for s in statuses {
        seq = seq.output(move || s.clone());
    }
    let get = seq.build();
    let ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&start, &get]);
    let e = Executor {
        ssm: &ssm,
        ..exec(&a, false)
    };
    let out = e.quarantine_instance(&f.instance).await.unwrap();
    (out, start.num_calls(), get.num_calls())
}

#[tokio::test]
async fn mocked_ssm_quarantine_is_resolved_only_when_the_automation_succeeds() {
    let (out, started, polled) = quarantine_with(vec![
        automation(AutomationExecutionStatus::Inprogress, None),
        automation(AutomationExecutionStatus::Success, None),
    ])
    .await;
    assert_eq!((started, polled), (1, 2));
    assert!(out.compliant && out.refused.is_none(), "{out:?}");
    assert_eq!(
        verdict("quarantine-instance", Mode::Enforce, &Ok(out)).0,
        "RESOLVED"
    );
}

/// A stop that would destroy evidence or cannot happen is not started: an instance with
/// instance-store volumes (m5d) and a Spot instance are isolated, not stopped, and stay NOTIFIED.
#[tokio::test]
async fn quarantine_never_stops_an_instance_with_instance_store_or_a_spot_instance() {
    let a = aws();
    let f = fixture(&a, false).await;
    let image = image(&a).await;
    let launch = |spot: bool| {
        let mut run = a
            .ec2
            .run_instances()
            .image_id(&image)
            .min_count(1)
            .max_count(1)
            .subnet_id(&f.subnet)
            .instance_type(if spot {
                aws_sdk_ec2::types::InstanceType::T3Micro
            } else {
                aws_sdk_ec2::types::InstanceType::M5dLarge
            });
        if spot {
            run = run.instance_market_options(
                aws_sdk_ec2::types::InstanceMarketOptionsRequest::builder()
                    .market_type(aws_sdk_ec2::types::MarketType::Spot)
                    .build(),
            );
        }
        async move {
            run.send().await.unwrap().instances()[0]
                .instance_id()
                .unwrap()
                .to_string()
        }
    };
    for (id, why) in [
        (launch(false).await, "has instance-store volumes"),
        (launch(true).await, "is a Spot instance"),
    ] {
        let start = mock!(aws_sdk_ssm::Client::start_automation_execution).then_output(|| {
            StartAutomationExecutionOutput::builder()
                .automation_execution_id("exec-1")
                .build()
        });
        let ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&start]);
        let out = Executor {
            ssm: &ssm,
            ..exec(&a, false)
        }
        .quarantine_instance(&id)
        .await
        .unwrap();
        assert_eq!(start.num_calls(), 0, "{id}: no stop started");
        assert!(
            out.refused.as_deref().is_some_and(|r| r.contains(why)),
            "{why}: {out:?}"
        );
        // Not stopped, so the automation's snapshots are not taken: remediation takes them.
        assert!(forensic_snapshots(&a, &id).await > 0, "{id}: {out:?}");
        assert!(quarantine_group(&a).await.is_some_and(|q| !q.is_empty()));
        assert_eq!(
            verdict("quarantine-instance", Mode::Enforce, &Ok(out)).0,
            "NOTIFIED"
        );
    }
}

/// Answers DescribeAutoScalingInstances as Auto Scaling does right after DetachInstances while
/// the instance drains from its load balancers: still listed, `Detaching`.
struct Detaching(String);

impl secauto_testkit::proxy::Shim for Detaching {
    fn answer_instead(
        &self,
        request: &secauto_testkit::proxy::Message,
    ) -> Option<secauto_testkit::proxy::Message> {
        let body = String::from_utf8_lossy(&request.body);
        if !body.contains("Action=DescribeAutoScalingInstances") {
            return None;
        }
        let mut m = secauto_testkit::proxy::Message {
            start: "HTTP/1.1 200 OK".into(),
            ..Default::default()
        };
        m.set_header("Content-Type", "text/xml");
        m.body = format!(
            r#"<DescribeAutoScalingInstancesResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><DescribeAutoScalingInstancesResult><AutoScalingInstances><member><InstanceId>{}</InstanceId><AutoScalingGroupName>web</AutoScalingGroupName><AvailabilityZone>us-east-1a</AvailabilityZone><LifecycleState>Detaching</LifecycleState><HealthStatus>HEALTHY</HealthStatus><ProtectedFromScaleIn>false</ProtectedFromScaleIn></member></AutoScalingInstances></DescribeAutoScalingInstancesResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeAutoScalingInstancesResponse>"#,
            self.0
        )
        .into_bytes();
        Some(m)
    }

    fn respond(
        &self,
        _: &secauto_testkit::proxy::Message,
        _: &mut secauto_testkit::proxy::Message,
    ) {
    }
}

/// An instance leaving its Auto Scaling group (Detaching: it drains from the load balancers first)
/// is no longer the group's to replace: quarantine stops it.
#[tokio::test]
async fn mocked_an_instance_detaching_from_its_auto_scaling_group_is_stopped() {
    let a = aws();
    let f = fixture(&a, false).await;
    let proxy = secauto_testkit::proxy::Proxy::start(
        &a.url,
        Some(std::sync::Arc::new(Detaching(f.instance.clone()))),
    );
    let autoscaling = aws_sdk_autoscaling::Client::from_conf(
        a.autoscaling
            .config()
            .to_builder()
            .endpoint_url(&proxy.url)
            .build(),
    );
    let start = mock!(aws_sdk_ssm::Client::start_automation_execution).then_output(|| {
        StartAutomationExecutionOutput::builder()
            .automation_execution_id("exec-1")
            .build()
    });
    let get = mock!(aws_sdk_ssm::Client::get_automation_execution)
        .then_output(|| automation(AutomationExecutionStatus::Success, None));
    let ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&start, &get]);
    let out = Executor {
        ssm: &ssm,
        autoscaling: &autoscaling,
        ..exec(&a, false)
    }
    .quarantine_instance(&f.instance)
    .await
    .unwrap();
    assert_eq!(start.num_calls(), 1, "{out:?}");
    assert!(
        out.refused
            .as_deref()
            .is_none_or(|r| !r.contains("Auto Scaling")),
        "{out:?}"
    );
}

/// The automation's word is not enough: a re-read must show the instance stopped.
#[tokio::test]
async fn mocked_ssm_quarantine_is_not_resolved_when_the_instance_still_runs() {
    let (out, _, _) = quarantine_of(
        vec![automation(AutomationExecutionStatus::Success, None)],
        false,
    )
    .await;
    assert!(!out.compliant, "{out:?}");
    assert!(
        out.steps.iter().any(|s| s.contains("not stopped")),
        "{out:?}"
    );
    assert_eq!(
        verdict("quarantine-instance", Mode::Enforce, &Ok(out)).0,
        "NOTIFIED"
    );
}

#[tokio::test]
async fn mocked_ssm_quarantine_names_the_failed_step() {
    let (out, _, _) = quarantine_with(vec![automation(
        AutomationExecutionStatus::Failed,
        Some(("SnapshotVolumes", "AccessDenied: ec2:CreateSnapshot")),
    )])
    .await;
    let why = out.refused.clone().unwrap_or_default();
    assert!(
        why.contains("SnapshotVolumes") && why.contains("AccessDenied"),
        "{why}"
    );
    let (workflow, _, note) = verdict("quarantine-instance", Mode::Enforce, &Ok(out));
    assert_eq!(workflow, "NOTIFIED");
    assert!(note.contains("SnapshotVolumes"), "{note}");
}

#[tokio::test]
async fn mocked_ssm_quarantine_still_running_is_not_resolved() {
    let running: Vec<_> = (0..20)
        .map(|_| automation(AutomationExecutionStatus::Inprogress, None))
        .collect();
    let (out, _, polled) = quarantine_with(running).await;
    assert!(polled >= 2, "it followed the execution");
    let why = out.refused.clone().unwrap_or_default();
    assert!(
        why.contains("still InProgress") && why.contains("exec-1"),
        "{why}"
    );
    assert_eq!(
        verdict("quarantine-instance", Mode::Enforce, &Ok(out)).0,
        "NOTIFIED"
    );
}

#[tokio::test]
async fn a_quarantine_group_left_with_rules_is_repaired_before_use() {
    let a = aws();
    let f = fixture(&a, false).await;
    // A run that died right after CreateSecurityGroup left the default allow-all egress (and
    // someone added an inbound rule).
    let left = a
        .ec2
        .create_security_group()
        .group_name(QUARANTINE_GROUP)
        .description("left over")
        .vpc_id(&f.vpc)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::SecurityGroup)
                .tags(
                    Tag::builder()
                        .key("secauto:quarantine")
                        .value("true")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let qid = left.group_id().unwrap().to_string();
    a.ec2
        .authorize_security_group_ingress()
        .group_id(&qid)
        .ip_permissions(world("tcp", 22, 22))
        .send()
        .await
        .unwrap();
    let out = exec(&a, false)
        .isolate_instance(&f.instance, false)
        .await
        .unwrap();
    assert!(
        out.steps
            .iter()
            .any(|s| s.contains("a quarantine group has none")),
        "{out:?}"
    );
    let q = a
        .ec2
        .describe_security_groups()
        .group_ids(&qid)
        .send()
        .await
        .unwrap();
    let q = &q.security_groups()[0];
    assert!(
        q.ip_permissions().is_empty() && q.ip_permissions_egress().is_empty(),
        "{q:?}"
    );
    assert!(eni_in_group(&a, &f.instance, &qid).await);
}

#[tokio::test]
async fn isolation_cuts_live_sessions_and_keeps_the_evidence() {
    let a = aws();
    let f = fixture(&a, false).await;
    moto_post(&a.url, "/moto-api/recorder/reset-recording");
    moto_post(&a.url, "/moto-api/recorder/start-recording");
    let out = exec(&a, false)
        .isolate_instance(&f.instance, false)
        .await
        .unwrap();
    moto_post(&a.url, "/moto-api/recorder/stop-recording");
    let untrack = a
        .ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("group-name")
                .values(UNTRACK_GROUP)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let untrack = &untrack.security_groups()[0];
    let uid = untrack.group_id().unwrap().to_string();
    let qid = quarantine_group(&a).await.unwrap();
    assert_eq!(
        recorded_group_moves(&a.url),
        vec![uid.clone(), qid.clone()],
        "first the all-traffic group (connections become untracked), then quarantine: {out:?}"
    );
    // Opened (all traffic, in and out) just before the move, closed after it: between isolations
    // the all-traffic group allows nothing.
    let actions: Vec<String> = recorded(&a.url)
        .into_iter()
        .filter(|(_, b)| b.contains(&format!("GroupId={uid}")) || b.contains("GroupId.1="))
        .filter_map(|(_, b)| {
            b.split('&')
                .find_map(|kv| kv.strip_prefix("Action=").map(String::from))
        })
        .collect();
    let at = |a: &str| actions.iter().position(|x| x == a);
    assert!(
        at("AuthorizeSecurityGroupIngress").is_some()
            && at("AuthorizeSecurityGroupIngress") < at("ModifyNetworkInterfaceAttribute")
            && at("ModifyNetworkInterfaceAttribute") < at("RevokeSecurityGroupIngress"),
        "{actions:?}"
    );
    // Revoked rule by rule id (moto revokes an IPv6 egress rule that way too).
    assert!(
        untrack.ip_permissions().is_empty() && untrack.ip_permissions_egress().is_empty(),
        "closed after use: {untrack:?}"
    );
    let attr = a
        .ec2
        .describe_instance_attribute()
        .instance_id(&f.instance)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::DisableApiTermination)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attr.disable_api_termination().and_then(|v| v.value()),
        Some(true),
        "termination protection is on"
    );
}

#[tokio::test]
async fn routing_instances_are_not_isolated_unless_allowed() {
    let a = aws();
    let f = fixture(&a, false).await;
    a.ec2
        .modify_instance_attribute()
        .instance_id(&f.instance)
        .source_dest_check(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let out = exec(&a, false)
        .isolate_instance(&f.instance, false)
        .await
        .unwrap();
    assert!(!out.changed, "{out:?}");
    assert!(out
        .refused
        .as_deref()
        .unwrap_or_default()
        .contains("routes traffic"));
    assert!(eni_in_group(&a, &f.instance, &f.sg).await, "untouched");
    assert_eq!(
        verdict("isolate-instance", Mode::Enforce, &Ok(out)).0,
        "NOTIFIED"
    );
    let allowed = Executor {
        isolate_routing: true,
        ..exec(&a, false)
    };
    let out = allowed.isolate_instance(&f.instance, false).await.unwrap();
    assert!(out.changed && out.compliant, "{out:?}");
}

#[tokio::test]
async fn auto_scaling_instances_are_detached_before_isolation() {
    let a = aws();
    let f = fixture(&a, false).await;
    let (image, subnet) = (image(&a).await, f.subnet.clone());
    a.autoscaling
        .create_launch_configuration()
        .launch_configuration_name("web")
        .image_id(image)
        .instance_type("t3.micro")
        .send()
        .await
        .unwrap();
    a.autoscaling
        .create_auto_scaling_group()
        .auto_scaling_group_name("web")
        .launch_configuration_name("web")
        .min_size(1)
        .max_size(2)
        .desired_capacity(1)
        .vpc_zone_identifier(&subnet)
        .send()
        .await
        .unwrap();
    let members = a
        .autoscaling
        .describe_auto_scaling_instances()
        .send()
        .await
        .unwrap();
    let id = members.auto_scaling_instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    let out = exec(&a, false).isolate_instance(&id, false).await.unwrap();
    assert!(
        out.steps
            .iter()
            .any(|s| s.contains("detach") && s.contains("web")),
        "{out:?}"
    );
    // The undo record, written before the detach: the group to attach it back to.
    let tags = a
        .ec2
        .describe_tags()
        .filters(Filter::builder().name("resource-id").values(&id).build())
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == Some("secauto:previous-auto-scaling-group")
                && t.value() == Some("web")),
        "{tags:?}"
    );
    let after = a
        .autoscaling
        .describe_auto_scaling_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    assert!(
        after.auto_scaling_instances().is_empty(),
        "no longer in the group"
    );
    let group = a
        .autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names("web")
        .send()
        .await
        .unwrap();
    assert_eq!(
        group.auto_scaling_groups()[0].desired_capacity(),
        Some(1),
        "the group replaces it"
    );
}

/// A group `name` in `vpc` with the ingress `rules`: its id.
async fn group_with(a: &Aws, vpc: &str, name: &str, rules: Vec<IpPermission>) -> String {
    let made = a
        .ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .vpc_id(vpc)
        .send()
        .await
        .unwrap();
    let id = made.group_id().unwrap().to_string();
    a.ec2
        .authorize_security_group_ingress()
        .group_id(&id)
        .set_ip_permissions(Some(rules))
        .send()
        .await
        .unwrap();
    id
}

/// fix-security-group (on by default for EC2.13 and EC2.14) revokes a world-open rule opening SSH
/// or RDP alone (IPv4 or IPv6), never one that opens them among more — every port, a wider range,
/// all traffic — which would close a website or an API with them: those stay, the finding NOTIFIED
/// saying how to narrow them.
#[tokio::test]
async fn fix_security_group_revokes_ssh_or_rdp_alone_and_leaves_wider_rules() {
    let a = aws();
    let f = fixture(&a, false).await;
    let rdp_v6 = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(3389)
        .to_port(3389)
        .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
        .build();
    let rules = vec![
        world("tcp", 0, 65535),
        world("tcp", 1024, 65535),
        world("udp", 20, 443),
        world("tcp", 22, 22),
        rdp_v6,
    ];
    let web = group_with(&a, &f.vpc, "shop", rules).await;
    let out = exec(&a, false).fix_security_group(&web).await.unwrap();
    assert!(out.changed && !out.compliant, "{out:?}");
    assert_eq!(
        ingress(&a, &web).await,
        vec!["0:0.0.0.0/0", "1024:0.0.0.0/0", "20:0.0.0.0/0"],
        "SSH alone and RDP alone (IPv6) are gone; the wider rules stay"
    );
    let (workflow, _, note) = verdict("fix-security-group", Mode::Enforce, &Ok(out));
    assert_eq!(workflow, "NOTIFIED", "{note}");
    assert!(note.contains("opens SSH or RDP among more"), "{note}");
    let everything = IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    let all = group_with(&a, &f.vpc, "open", vec![everything]).await;
    let out = exec(&a, false).fix_security_group(&all).await.unwrap();
    assert!(!out.changed && !out.compliant, "{out:?}");
    assert_eq!(ingress(&a, &all).await, vec!["-1:0.0.0.0/0"]);
    let (workflow, _, note) = verdict("fix-security-group", Mode::Enforce, &Ok(out));
    assert_eq!(workflow, "NOTIFIED", "{note}");
    assert!(note.contains("on all traffic"), "{note}");
}

#[tokio::test]
async fn fix_security_group_on_a_port_outside_its_list_is_not_resolved() {
    let a = aws();
    let f = fixture(&a, false).await;
    let db = group_with(&a, &f.vpc, "db", vec![world("tcp", 5432, 5432)]).await;
    let out = exec(&a, false).fix_security_group(&db).await.unwrap();
    assert!(!out.changed && !out.compliant, "{out:?}");
    let (workflow, _, note) = verdict("fix-security-group", Mode::Enforce, &Ok(out));
    assert_eq!(workflow, "NOTIFIED");
    assert!(note.contains("tcp 5432"), "{note}");

    // block-network does revoke it, and the re-read proves it.
    let out = exec(&a, false).block_network(&db).await.unwrap();
    assert!(out.changed && out.compliant, "{out:?}");
    assert_eq!(
        verdict("block-network", Mode::Enforce, &Ok(out)).0,
        "RESOLVED"
    );
    // Again: nothing to change, and compliant: still RESOLVED, honestly.
    let out = exec(&a, false).block_network(&db).await.unwrap();
    assert!(!out.changed && out.compliant, "{out:?}");
    assert_eq!(
        verdict("block-network", Mode::Enforce, &Ok(out)).0,
        "RESOLVED"
    );
}

#[tokio::test]
async fn configured_protection_is_authoritative() {
    let a = aws();
    let f = fixture(&a, false).await;
    let before = ingress(&a, &f.sg).await;
    let by_id = Protection::parse(&f.sg, "");
    let out = Executor {
        protection: &by_id,
        ..exec(&a, false)
    }
    .block_network(&f.sg)
    .await
    .unwrap();
    assert!(out.protected && !out.changed, "{out:?}");
    assert_eq!(ingress(&a, &f.sg).await, before);
    a.ec2
        .create_tags()
        .resources(&f.instance)
        .tags(Tag::builder().key("env").value("prod").build())
        .send()
        .await
        .unwrap();
    let by_tag = Protection::parse("", "env=prod");
    let out = Executor {
        protection: &by_tag,
        ..exec(&a, false)
    }
    .isolate_instance(&f.instance, false)
    .await
    .unwrap();
    assert!(out.protected && !out.changed, "{out:?}");
    assert!(eni_in_group(&a, &f.instance, &f.sg).await);
    assert_eq!(
        verdict("isolate-instance", Mode::Enforce, &Ok(out)).0,
        "NOTIFIED"
    );
}

/// Answers the first DescribeSecurityGroups by id after a CreateSecurityGroup with EC2's
/// `InvalidGroup.NotFound` (documented eventual consistency: a new group is not visible at once).
#[derive(Default)]
struct NotYetVisible {
    created: std::sync::atomic::AtomicBool,
    injected: std::sync::atomic::AtomicUsize,
}

impl secauto_testkit::proxy::Shim for NotYetVisible {
    fn respond(
        &self,
        request: &secauto_testkit::proxy::Message,
        response: &mut secauto_testkit::proxy::Message,
    ) {
        use std::sync::atomic::Ordering;
        let body = String::from_utf8_lossy(&request.body);
        if body.contains("Action=CreateSecurityGroup") {
            self.created.store(true, Ordering::SeqCst);
        } else if body.contains("Action=DescribeSecurityGroups")
            && body.contains("GroupId.1=")
            && self.created.swap(false, Ordering::SeqCst)
        {
            self.injected.fetch_add(1, Ordering::SeqCst);
            response.start = "HTTP/1.1 400 Bad Request".into();
            response.headers = vec![("Content-Type".into(), "text/xml".into())];
            response.body = br#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>InvalidGroup.NotFound</Code><Message>The security group does not exist</Message></Error></Errors><RequestID>e2c5bc0f</RequestID></Response>"#
                .to_vec();
        }
    }
}

#[tokio::test]
async fn a_new_group_not_yet_visible_is_read_again() {
    let a = aws();
    let f = fixture(&a, false).await;
    let shim = std::sync::Arc::new(NotYetVisible::default());
    let proxy = secauto_testkit::proxy::Proxy::start(&a.url, Some(shim.clone()));
    let ec2 = aws_sdk_ec2::Client::from_conf(
        a.ec2.config().to_builder().endpoint_url(&proxy.url).build(),
    );
    let out = Executor {
        ec2: &ec2,
        ..exec(&a, false)
    }
    .isolate_instance(&f.instance, false)
    .await
    .unwrap();
    assert!(
        shim.injected.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "EC2 answered InvalidGroup.NotFound"
    );
    assert!(out.compliant, "{out:?}");
    let q = quarantine_group(&a).await.unwrap();
    let g = a
        .ec2
        .describe_security_groups()
        .group_ids(&q)
        .send()
        .await
        .unwrap();
    assert!(
        g.security_groups()[0].ip_permissions_egress().is_empty(),
        "the new group's default egress was removed after the retry"
    );
}

/// What the IAM-enforcement test needs made while moto does not enforce yet: the fixture, a bucket,
/// and two users, one with exactly the generated policy, one with none. Returns their keys.
async fn enforcement_setup(a: &Aws) -> (Fixture, (String, String), (String, String)) {
    let f = fixture(a, false).await;
    a.s3.create_bucket()
        .bucket("open-bucket")
        .send()
        .await
        .unwrap();
    let iam = aws_sdk_iam::Client::new(&sdk_at(&a.url, "testing", "testing"));
    let policy = iam
        .create_policy()
        .policy_name("sec-remediation")
        .policy_document(generated_remediation_policy().to_string())
        .send()
        .await
        .unwrap();
    let arn = policy.policy().unwrap().arn().unwrap().to_string();
    let mut keys = Vec::new();
    for (user, attach) in [("remediation", true), ("nobody", false)] {
        iam.create_user().user_name(user).send().await.unwrap();
        if attach {
            iam.attach_user_policy()
                .user_name(user)
                .policy_arn(&arn)
                .send()
                .await
                .unwrap();
        }
        let k = iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap();
        let k = k.access_key().unwrap();
        keys.push((
            k.access_key_id().to_string(),
            k.secret_access_key().to_string(),
        ));
    }
    let nobody = keys.pop().unwrap();
    (f, keys.pop().unwrap(), nobody)
}

/// moto enforces IAM for IAM-user credentials (not for assumed service roles): the remediations run
/// as a user that carries exactly the generated policy, and as one with none (which must be
/// refused, or the test proves nothing). moto judges every EC2 call against the resource `*`, so a
/// policy that scopes EC2 writes to the account's ARNs (as the generated one does) cannot pass
/// there, and it authorizes GetBucketEncryption as `s3:GetBucketEncryption` where AWS requires
/// `s3:GetEncryptionConfiguration`. So moto judges the EC2 and Auto Scaling paths in dry runs
/// (every read they make); the EC2 writes and every S3 call are checked against the policy by the
/// recorder test above.
#[tokio::test]
async fn the_generated_policy_suffices_with_moto_enforcing_iam() {
    // How many requests the setup makes, counted through the proxy on a throwaway moto.
    let probe = moto();
    let proxy = secauto_testkit::proxy::Proxy::start(&probe.url, None);
    enforcement_setup(&aws_at(&proxy.url, "testing", "testing")).await;
    let setup_requests = proxy.requests().len();

    let m = secauto_testkit::moto_with(&[(
        "INITIAL_NO_AUTH_ACTION_COUNT",
        &setup_requests.to_string(),
    )]);
    let (f, (key, secret), (no_key, no_secret)) =
        enforcement_setup(&aws_at(&m.url, "testing", "testing")).await;

    let nobody = aws_at(&m.url, &no_key, &no_secret);
    let refused = exec(&nobody, false).fix_security_group(&f.sg).await;
    assert!(
        refused.is_err(),
        "IAM is enforced: a user with no policy is refused ({refused:?})"
    );

    let user = aws_at(&m.url, &key, &secret);
    let reads = exec(&user, true);
    reads.fix_security_group(&f.sg).await.unwrap();
    reads.block_network(&f.sg).await.unwrap();
    let out = reads.isolate_instance(&f.instance, true).await.unwrap();
    assert!(
        out.steps.iter().any(|s| s.contains("would move")),
        "{out:?}"
    );
}

/// Clients of `account` in `region` on moto, as that account's `secauto-test` role.
async fn aws_as(url: &str, account: &str, region: &str) -> Aws {
    let base = sdk_at(url, "testing", "testing");
    let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
        "arn:aws:iam::{account}:role/secauto-test"
    ))
    .session_name("test")
    .configure(&base)
    .build()
    .await;
    let sdk = base
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build();
    aws_from(&sdk, url)
}

/// A response event asking to isolate `instance` of `account` in `region`.
fn isolate_event(account: &str, region: &str, instance: &str) -> secauto_core::ResponseEvent {
    secauto_core::ResponseEvent::new(
        "sec",
        &isolate_finding(account, region, instance),
        &secauto_core::Decision::new(secauto_core::Action::IsolateInstance, None),
        false,
        false,
    )
}

/// A GuardDuty finding of `instance` in `account` and `region`.
fn isolate_finding(account: &str, region: &str, instance: &str) -> secauto_core::Finding {
    serde_json::from_value(serde_json::json!({
        "Id": format!("arn:aws:securityhub:{region}:{account}:finding/test"),
        "ProductArn": format!("arn:aws:securityhub:{region}::product/aws/guardduty"),
        "AwsAccountId": account,
        "Region": region,
        "Title": "Trojan:EC2/BlackholeTraffic",
        "Description": "an instance talks to a black hole",
        "Severity": {"Label": "HIGH"},
        "Types": ["TTPs/Command and Control/Trojan:EC2-BlackholeTraffic"],
        "Resources": [{
            "Type": "AwsEc2Instance",
            "Id": format!("arn:aws:ec2:{region}:{account}:instance/{instance}"),
            "Region": region,
        }],
    }))
    .unwrap()
}

/// The administrator's remediation function, in enforce mode, with member B in two regions.
fn administrator_env() -> secauto_handlers::env::Env {
    secauto_handlers::env::Env {
        function: secauto_handlers::env::Function::Remediation,
        stack: "sec".into(),
        topic_arn: "arn:aws:sns:us-east-1:123456789012:sec-notifications".into(),
        mode: Mode::Enforce,
        event_source: "secauto.sec".into(),
        isolate_document: "sec-isolate-instance".into(),
        event_bus: "sec-events".into(),
        policy: Default::default(),
        automation_role: String::new(),
        automation_wait: std::time::Duration::from_secs(1),
        isolate_routing: false,
        protection: Protection::default(),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        fleet: Some(secauto_handlers::accounts::Fleet {
            coverage: secauto_core::fleet::Coverage::parse("222222222222=us-east-1+us-west-2")
                .unwrap(),
            external_id: "secauto-sec-123456789012".into(),
        }),
    }
}

#[tokio::test]
async fn a_member_finding_is_remediated_in_its_account_and_region_with_the_member_role() {
    let admin = aws();
    let b = aws_as(&admin.url, "222222222222", "us-west-2").await;
    let f = fixture(&b, false).await;
    let clients = secauto_handlers::Clients::new(&sdk_at(&admin.url, "testing", "testing"));
    let env = administrator_env();

    moto_post(&admin.url, "/moto-api/recorder/reset-recording");
    moto_post(&admin.url, "/moto-api/recorder/start-recording");
    let out = secauto_handlers::remediation::execute(
        &clients,
        &env,
        &isolate_event("222222222222", "us-west-2", &f.instance),
        None,
        None,
    )
    .await
    .unwrap()
    .unwrap();
    moto_post(&admin.url, "/moto-api/recorder/stop-recording");
    assert!(out.changed && out.refused.is_none(), "{out:?}");
    let qid = quarantine_group(&b)
        .await
        .expect("a quarantine group in B's us-west-2");
    assert!(
        eni_in_group(&b, &f.instance, &qid).await,
        "B's instance is isolated"
    );
    // The member role of B in us-west-2 was assumed, with the fleet's external id; the EC2 calls
    // went to us-west-2.
    let calls = recorded(&admin.url);
    let assume: Vec<&String> = calls
        .iter()
        .map(|(_, b)| b)
        .filter(|b| b.contains("Action=AssumeRole"))
        .collect();
    assert_eq!(assume.len(), 1, "{assume:?}");
    assert!(
        assume[0]
            .contains("RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fsec-us-west-2-member"),
        "{}",
        assume[0]
    );
    assert!(
        assume[0].contains("ExternalId=secauto-sec-123456789012"),
        "{}",
        assume[0]
    );
    let ec2_regions: std::collections::BTreeSet<String> = calls
        .iter()
        .filter(|(_, b)| b.contains("Action=") && b.contains("Version=2016-11-15"))
        .filter_map(|(r, _)| {
            let auth = r["headers"]["Authorization"].as_str()?;
            auth.split('/').nth(2).map(String::from)
        })
        .collect();
    assert_eq!(
        ec2_regions.into_iter().collect::<Vec<_>>(),
        vec!["us-west-2".to_string()],
        "every EC2 call signed for the finding's region"
    );
    // Nothing of the sort in the administrator's own account.
    assert!(quarantine_group(&admin).await.is_none());

    // A finding of an account outside the fleet, or of a region B has no member stack in, is not
    // attempted: no call at all, and the reason on the finding.
    for (account, region, why) in [
        (
            "999999999999",
            "us-west-2",
            "999999999999 is not in the fleet",
        ),
        (
            "222222222222",
            "eu-west-1",
            "has no member stack in region eu-west-1",
        ),
    ] {
        moto_post(&admin.url, "/moto-api/recorder/reset-recording");
        moto_post(&admin.url, "/moto-api/recorder/start-recording");
        let out = secauto_handlers::remediation::execute(
            &clients,
            &env,
            &isolate_event(account, region, &f.instance),
            None,
            None,
        )
        .await
        .unwrap()
        .unwrap();
        moto_post(&admin.url, "/moto-api/recorder/stop-recording");
        let refused = out.refused.clone().unwrap_or_default();
        assert!(refused.contains(why), "{out:?}");
        assert!(!out.changed);
        assert!(
            recorded(&admin.url).is_empty(),
            "no call for {account} {region}"
        );
        let (workflow, state, note) = verdict("isolate-instance", Mode::Enforce, &Ok(out));
        assert_eq!((workflow, state), ("NOTIFIED", "not-done"));
        assert!(note.contains(why), "{note}");
    }
}

/// The account and region acted in are Security Hub's (the live finding's), not the event's: an
/// event whose resource claims eu-west-1 (where B has no member stack) is acted on in us-east-1,
/// where the live finding puts the instance.
#[tokio::test]
async fn the_place_acted_in_is_the_live_findings_not_the_events() {
    let admin = aws();
    // B in us-east-1: the member clients are cached per account and region for the process, and
    // another test uses B in us-west-2 on its own moto.
    let b = aws_as(&admin.url, "222222222222", "us-east-1").await;
    let f = fixture(&b, false).await;
    let clients = secauto_handlers::Clients::new(&sdk_at(&admin.url, "testing", "testing"));
    let env = administrator_env();
    let mut event = isolate_event("222222222222", "us-east-1", &f.instance);
    event.finding.resources[0].region = Some("eu-west-1".into());
    let live = isolate_finding("222222222222", "us-east-1", &f.instance);
    let out = secauto_handlers::remediation::execute(&clients, &env, &event, Some(&live), None)
        .await
        .unwrap()
        .unwrap();
    assert!(out.changed && out.refused.is_none(), "{out:?}");
    let qid = quarantine_group(&b)
        .await
        .expect("a quarantine group in B's us-east-1");
    assert!(eni_in_group(&b, &f.instance, &qid).await);
    // Without the live finding, the event's claim is all there is: refused, nothing done.
    let out = secauto_handlers::remediation::execute(&clients, &env, &event, None, None)
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.refused
            .as_deref()
            .unwrap_or_default()
            .contains("eu-west-1"),
        "{out:?}"
    );
}

mod vouching {
    //! Remediation re-reads the finding from Security Hub before acting (moto's GetFindings and
    //! BatchImportFindings; moto ignores GetFindings' filters, so vouch picks the finding by Id and
    //! ProductArn itself, as it must not trust any answer blindly): a forged or stale response event
    //! changes nothing.
    use super::*;
    use secauto_core::{Action, Decision, Finding, ResponseEvent};
    use secauto_handlers::remediation::{vouch, Vouched};
    use secauto_handlers::Clients;
    use secauto_testkit::proxy::{Message, Proxy, Shim};
    use serde_json::{json, Value};
    use std::sync::{Arc, Mutex};

    /// A real published finding: CIS 4.1, a security group open to the world on port 22, under `id`.
    fn cis41(id: &str) -> Value {
        let mut f = secauto_testkit::corpus_finding("asr-simtest-cis-41.json");
        f["Id"] = json!(id);
        f
    }

    fn event(finding: &Value) -> ResponseEvent {
        let f: Finding = serde_json::from_value(finding.clone()).unwrap();
        ResponseEvent::new(
            "sec",
            &f,
            &Decision::new(Action::FixSecurityGroup, None),
            false,
            false,
        )
    }

    fn clients(url: &str) -> Clients {
        Clients::new(&sdk_at(url, "testing", "testing"))
    }

    /// BatchImportFindings, as a finding provider sends it (moto takes the request unsigned; the
    /// credential scope routes it to Security Hub).
    fn import(url: &str, findings: &[Value]) {
        use std::io::Write;
        let mut curl = std::process::Command::new("curl")
            .args([
                "-s",
                "-X",
                "POST",
                "-H",
                "content-type: application/json",
                "-H",
                "authorization: AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/securityhub/aws4_request, SignedHeaders=host, Signature=0",
                "--data-binary",
                "@-",
                &format!("{url}/findings/import"),
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let body = json!({ "Findings": findings }).to_string();
        curl.stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = curl.wait_with_output().unwrap();
        let out: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out["FailedCount"], 0, "{out}");
    }

    #[test]
    fn vouch_reads_the_live_finding_and_refuses_what_security_hub_does_not_hold() {
        run(vouch_reads_the_live_finding_and_refuses_what_security_hub_does_not_hold_());
    }

    async fn vouch_reads_the_live_finding_and_refuses_what_security_hub_does_not_hold_() {
        let m = moto();
        let live = cis41("live");
        let mut archived = cis41("archived");
        archived["RecordState"] = json!("ARCHIVED");
        let mut passed = cis41("passed");
        passed["Compliance"] = json!({"Status": "PASSED"});
        let mut moved = cis41("moved");
        moved["Resources"][0]["Id"] =
            json!("arn:aws:ec2:us-east-1:111111111111:security-group/sg-other");
        let mut done = cis41("done");
        done["UserDefinedFields"] = json!({"secauto:remediation": "done"});
        done["Workflow"] = json!({"Status": "RESOLVED"});
        let mut elsewhere = cis41("elsewhere");
        elsewhere["Region"] = json!("eu-west-1");
        let mut suppressed = cis41("suppressed");
        suppressed["Workflow"] = json!({"Status": "SUPPRESSED"});
        let mut closed = cis41("closed");
        closed["Workflow"] = json!({"Status": "RESOLVED"});
        import(
            &m.url,
            &[
                live.clone(),
                archived,
                passed,
                moved,
                done,
                elsewhere,
                suppressed,
                closed,
            ],
        );
        let c = clients(&m.url);
        let decide = |f: Value| {
            let c = c.clone();
            async move { vouch(&c, &event(&f)).await.unwrap() }
        };

        assert_eq!(decide(live.clone()).await, Vouched::Act);
        assert_eq!(decide(cis41("done")).await, Vouched::AlreadyDone);
        for (id, why) in [
            ("absent", "Security Hub has no finding absent"),
            ("archived", "ARCHIVED"),
            ("passed", "compliance status PASSED"),
            ("moved", "does not name the AwsEc2SecurityGroup"),
            ("suppressed", "is SUPPRESSED in Security Hub"),
            ("closed", "is RESOLVED in Security Hub"),
            (
                "elsewhere",
                "has Region eu-west-1 in Security Hub, not us-east-1",
            ),
        ] {
            match decide(cis41(id)).await {
                Vouched::Refuse(w) => assert!(w.contains(why), "{id}: {w}"),
                other => panic!("{id}: {other:?}"),
            }
        }
        let mut forced = event(&cis41("suppressed"));
        forced.forced = true;
        assert!(
            matches!(vouch(&c, &forced).await.unwrap(), Vouched::Refuse(w) if w.contains("SUPPRESSED")),
            "a finding closed after an analyst's Trigger remediation is not reopened"
        );
        // The finding of another product with the same id is another finding.
        let mut other_product = live;
        other_product["ProductArn"] =
            json!("arn:aws:securityhub:us-east-1::product/prowler/prowler");
        assert!(
            matches!(decide(other_product).await, Vouched::Refuse(w) if w.contains("no finding"))
        );
    }

    /// Keeps every request it sees.
    #[derive(Default)]
    struct Seen(Mutex<Vec<Message>>);

    impl Shim for Seen {
        fn respond(&self, request: &Message, _: &mut Message) {
            self.0.lock().unwrap().push(request.clone());
        }
    }

    /// The request on the wire is GetFindings with exact filters, signed for Security Hub.
    #[test]
    fn vouch_sends_getfindings_with_the_id_and_product_filters() {
        run(vouch_sends_getfindings_with_the_id_and_product_filters_());
    }

    async fn vouch_sends_getfindings_with_the_id_and_product_filters_() {
        let m = moto();
        import(&m.url, &[cis41("wire")]);
        let seen = Arc::new(Seen::default());
        let proxy = Proxy::start(&m.url, Some(seen.clone()));
        assert_eq!(
            vouch(&clients(&proxy.url), &event(&cis41("wire")))
                .await
                .unwrap(),
            Vouched::Act
        );
        let requests = seen.0.lock().unwrap().clone();
        assert_eq!(requests.len(), 1, "{requests:?}");
        let r = &requests[0];
        assert_eq!(r.method_path(), ("POST".into(), "/findings".into()));
        let auth = r.header("authorization").unwrap_or_default();
        assert!(
            auth.contains("/us-east-1/securityhub/aws4_request"),
            "{auth}"
        );
        assert_eq!(
            r.header("content-length"),
            Some(r.body.len().to_string().as_str())
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            json!({"Filters": {
                "Id": [{"Value": "wire", "Comparison": "EQUALS"}],
                "ProductArn": [{"Value": "arn:aws:securityhub:us-east-1::product/aws/securityhub", "Comparison": "EQUALS"}],
            }})
        );
    }

    /// A page without the finding but with a NextToken is followed (moto pages 100 findings and
    /// ignores the filters, so the 151st finding is on its second page).
    #[test]
    fn vouch_follows_getfindings_pages() {
        run(vouch_follows_getfindings_pages_());
    }

    async fn vouch_follows_getfindings_pages_() {
        let m = moto();
        let fillers: Vec<Value> = (0..150).map(|i| cis41(&format!("filler-{i}"))).collect();
        import(&m.url, &fillers[..75]);
        import(&m.url, &fillers[75..]);
        import(&m.url, &[cis41("deep")]);
        let seen = Arc::new(Seen::default());
        let proxy = Proxy::start(&m.url, Some(seen.clone()));
        let c = clients(&proxy.url);
        assert_eq!(
            vouch(&c, &event(&cis41("deep"))).await.unwrap(),
            Vouched::Act
        );
        let pages: Vec<Value> = seen
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        assert_eq!(pages.len(), 2, "{pages:?}");
        assert!(pages[0].get("NextToken").is_none());
        assert!(pages[1]["NextToken"].is_string(), "{}", pages[1]);
        assert!(
            matches!(vouch(&c, &event(&cis41("absent"))).await.unwrap(), Vouched::Refuse(w) if w.contains("no finding")),
            "the last page has no NextToken: not found"
        );
    }

    /// AWS's answers the emulator does not give: throttling (GetFindings allows 3 requests a
    /// second; Security Hub answers LimitExceededException with 429) is retried; Security Hub not
    /// enabled (InvalidAccessException, 401) is an error that names it.
    struct Answer {
        left: Mutex<usize>,
        status: &'static str,
        code: &'static str,
        message: &'static str,
    }

    impl Shim for Answer {
        fn respond(&self, request: &Message, response: &mut Message) {
            let mut left = self.left.lock().unwrap();
            if request.method_path().1 != "/findings" || *left == 0 {
                return;
            }
            *left -= 1;
            response.start = format!("HTTP/1.1 {}", self.status);
            response.headers = vec![
                ("Content-Type".into(), "application/json".into()),
                ("x-amzn-ErrorType".into(), self.code.into()),
            ];
            response.body = json!({"Code": self.code, "Message": self.message})
                .to_string()
                .into_bytes();
            response
                .headers
                .push(("Content-Length".into(), response.body.len().to_string()));
        }
    }

    #[test]
    fn mocked_getfindings_throttled_is_retried_and_not_enabled_is_named() {
        run(mocked_getfindings_throttled_is_retried_and_not_enabled_is_named_());
    }

    async fn mocked_getfindings_throttled_is_retried_and_not_enabled_is_named_() {
        let m = moto();
        import(&m.url, &[cis41("t")]);
        let throttle = Arc::new(Answer {
            left: Mutex::new(2),
            status: "429 Too Many Requests",
            code: "LimitExceededException",
            message: "Rate exceeded",
        });
        let proxy = Proxy::start(&m.url, Some(throttle.clone()));
        assert_eq!(
            vouch(&clients(&proxy.url), &event(&cis41("t")))
                .await
                .unwrap(),
            Vouched::Act
        );
        assert_eq!(proxy.requests().len(), 3, "two throttled, then answered");

        let off = Arc::new(Answer {
            left: Mutex::new(usize::MAX),
            status: "401 Unauthorized",
            code: "InvalidAccessException",
            message: "Account 123456789012 is not subscribed to AWS Security Hub",
        });
        let proxy = Proxy::start(&m.url, Some(off));
        let err = vouch(&clients(&proxy.url), &event(&cis41("t")))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("securityhub:GetFindings") && err.contains("InvalidAccessException"),
            "{err}"
        );
        assert!(err.contains("not subscribed"), "{err}");
    }
}

/// Revoking a group's rules changes what reaches every instance using it: a protected instance in
/// the group keeps the group as it is (the group itself unprotected).
#[tokio::test]
async fn a_group_used_by_a_protected_instance_is_left_alone() {
    let a = aws();
    let f = fixture(&a, false).await;
    a.ec2
        .create_tags()
        .resources(&f.instance)
        .tags(Tag::builder().key("secauto:protect").value("true").build())
        .send()
        .await
        .unwrap();
    for out in [
        exec(&a, false).block_network(&f.sg).await.unwrap(),
        exec(&a, false).fix_security_group(&f.sg).await.unwrap(),
    ] {
        assert!(out.protected && !out.changed, "{out:?}");
    }
    let g = a
        .ec2
        .describe_security_groups()
        .group_ids(&f.sg)
        .send()
        .await
        .unwrap();
    let open22 = g.security_groups()[0].ip_permissions().iter().any(|p| {
        p.from_port() == Some(22)
            && p.ip_ranges()
                .iter()
                .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
    });
    assert!(open22, "the group keeps its world-open rules");
}

/// The one instance of a new Auto Scaling group `name` tagged `secauto:protect=true`.
async fn instance_of_a_protected_group(a: &Aws, f: &Fixture, name: &str) -> String {
    a.autoscaling
        .create_launch_configuration()
        .launch_configuration_name(name)
        .image_id(image(a).await)
        .instance_type("t3.micro")
        .send()
        .await
        .unwrap();
    a.autoscaling
        .create_auto_scaling_group()
        .auto_scaling_group_name(name)
        .launch_configuration_name(name)
        .min_size(1)
        .max_size(1)
        .desired_capacity(1)
        .vpc_zone_identifier(&f.subnet)
        .tags(
            aws_sdk_autoscaling::types::Tag::builder()
                .key("secauto:protect")
                .value("true")
                .propagate_at_launch(false)
                .resource_id(name)
                .resource_type("auto-scaling-group")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let members = a
        .autoscaling
        .describe_auto_scaling_instances()
        .send()
        .await
        .unwrap();
    members.auto_scaling_instances()[0]
        .instance_id()
        .unwrap()
        .to_string()
}

/// Records the query action of every request, in order.
#[derive(Default)]
struct ActionOrder(std::sync::Mutex<Vec<String>>);

impl secauto_testkit::proxy::Shim for ActionOrder {
    fn before(&self, request: &secauto_testkit::proxy::Message) {
        let body = String::from_utf8_lossy(&request.body);
        let action = body
            .split('&')
            .find_map(|p| p.strip_prefix("Action="))
            .unwrap_or_default();
        self.0.lock().unwrap().push(action.to_string());
    }

    fn respond(
        &self,
        _: &secauto_testkit::proxy::Message,
        _: &mut secauto_testkit::proxy::Message,
    ) {
    }
}

/// A protected Auto Scaling group is known to be left before isolation writes anything: its tags
/// are read with the precondition, and the instance is contained all the same, never detached.
#[tokio::test]
async fn a_protected_auto_scaling_group_is_read_before_any_write_and_left() {
    let a = aws();
    let f = fixture(&a, false).await;
    let id = instance_of_a_protected_group(&a, &f, "guarded").await;
    let order = std::sync::Arc::new(ActionOrder::default());
    let proxy = secauto_testkit::proxy::Proxy::start(&a.url, Some(order.clone()));
    let conf = sdk_at(&proxy.url, "testing", "testing");
    let (ec2, autoscaling) = (
        aws_sdk_ec2::Client::new(&conf),
        aws_sdk_autoscaling::Client::new(&conf),
    );
    let out = Executor {
        ec2: &ec2,
        autoscaling: &autoscaling,
        ..exec(&a, false)
    }
    .isolate_instance(&id, false)
    .await
    .unwrap();
    assert!(out.compliant, "contained all the same: {out:?}");
    assert!(
        out.steps
            .iter()
            .any(|s| s.contains("stays in its Auto Scaling group") && s.contains("guarded")),
        "{out:?}"
    );
    assert!(
        !out.steps.iter().any(|s| s.starts_with("detach")),
        "{out:?}"
    );
    let order = order.0.lock().unwrap().clone();
    let at = |what: &str| order.iter().position(|a| a == what);
    let protection = at("DescribeAutoScalingGroups").expect("the group's tags were read");
    let first_write = order
        .iter()
        .position(|a| !a.starts_with("Describe") && !a.starts_with("Get"))
        .expect("isolation wrote");
    assert!(protection < first_write, "{order:?}");
    assert_eq!(at("DetachInstances"), None, "{order:?}");
}

/// Quarantine never stops an instance its Auto Scaling group still holds (a protected group keeps
/// it): stopped, it would fail its health check and be terminated with its evidence.
#[tokio::test]
async fn quarantine_never_stops_an_instance_its_auto_scaling_group_still_holds() {
    let a = aws();
    let f = fixture(&a, false).await;
    let id = instance_of_a_protected_group(&a, &f, "kept").await;
    let out = exec(&a, false).quarantine_instance(&id).await.unwrap();
    let why = out.refused.clone().unwrap_or_default();
    assert!(why.contains("still in Auto Scaling group kept"), "{out:?}");
    assert!(!out.compliant);
    let state = a
        .ec2
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    let name = state.reservations()[0].instances()[0]
        .state()
        .and_then(|s| s.name())
        .cloned();
    assert_eq!(name, Some(aws_sdk_ec2::types::InstanceStateName::Running));
}
