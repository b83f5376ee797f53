//! Every path of every remediation runs on moto with each SDK client recording the operations it
//! sends; per action, what was called must be exactly what the action declares
//! (`secauto_core::calls`): no undeclared call (the generated policy would refuse it on AWS) and no
//! declaration no path needed (the policy would grant more than is used). The isolation
//! automation exists in no emulator: its SSM client answers AWS's documented outcomes
//! (aws-smithy-mocks) and records the same way.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_sdk_ssm::operation::get_automation_execution::GetAutomationExecutionOutput;
use aws_sdk_ssm::operation::start_automation_execution::StartAutomationExecutionOutput;
use aws_sdk_ssm::types::{AutomationExecution, AutomationExecutionStatus};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use secauto_core::Action;
use secauto_handlers::remediate::declared::{operation, reads_only, Declared, Gate, Scoped};
use secauto_handlers::remediate::Executor;

mod common;
use common::*;

/// Records `service:Operation` of every request a client sends (the service as IAM names it).
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<BTreeSet<String>>>);

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_serialization(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            self.0.lock().unwrap().insert(operation(m));
        }
        Ok(())
    }
}

impl Recorder {
    fn take(&self) -> BTreeSet<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// Clients of `a` that record into `rec` and, as in production, refuse what `action` did not
/// declare ([`Declared`]); an SSM whose automation succeeds.
struct Recording {
    ec2: aws_sdk_ec2::Client,
    s3: aws_sdk_s3::Client,
    autoscaling: aws_sdk_autoscaling::Client,
    ssm: aws_sdk_ssm::Client,
    sns: aws_sdk_sns::Client,
    kms: aws_sdk_kms::Client,
    sqs: aws_sdk_sqs::Client,
    lambda: aws_sdk_lambda::Client,
    iam: aws_sdk_iam::Client,
    cloudtrail: aws_sdk_cloudtrail::Client,
    gate: Gate,
    /// SSM.7's service setting, answered in moto's place (moto does not serve it).
    _settings: Option<secauto_testkit::proxy::Proxy>,
    /// IAM's credentials dated long ago where a path ages them (moto dates everything now).
    aged: Arc<AgedCredentials>,
    _aging: secauto_testkit::proxy::Proxy,
}

fn recording(a: &Aws, rec: &Recorder, action: Action) -> Recording {
    let gate = Gate::default();
    let d = Declared::new(action, gate.clone());
    let start = mock!(aws_sdk_ssm::Client::start_automation_execution).then_output(|| {
        StartAutomationExecutionOutput::builder()
            .automation_execution_id("exec-1")
            .build()
    });
    let get = mock!(aws_sdk_ssm::Client::get_automation_execution).then_output(|| {
        GetAutomationExecutionOutput::builder()
            .automation_execution(
                AutomationExecution::builder()
                    .automation_execution_id("exec-1")
                    .automation_execution_status(AutomationExecutionStatus::Success)
                    .build(),
            )
            .build()
    });
    // The automation exists in no emulator; a document's sharing is moto's.
    let settings = (action == Action::BlockPublicDocumentSharing).then(|| {
        let shim = std::sync::Arc::new(ServiceSettings::default());
        secauto_testkit::proxy::Proxy::start(&a.url, Some(shim))
    });
    let ssm = match (action, &settings) {
        (_, Some(p)) => aws_sdk_ssm::Client::new(&sdk_at(&p.url, "testing", "testing")),
        (Action::MakeDocumentPrivate, _) => a.ssm.clone(),
        _ => mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&start, &get]),
    };
    let aged = Arc::new(AgedCredentials::default());
    let aging = secauto_testkit::proxy::Proxy::start(&a.url, Some(aged.clone()));
    let iam = aws_sdk_iam::Client::new(&sdk_at(&aging.url, "testing", "testing"));
    macro_rules! recorded {
        ($krate:ident, $client:expr) => {
            $krate::Client::from_conf(
                $client
                    .config()
                    .to_builder()
                    .interceptor(rec.clone())
                    .interceptor(d.clone())
                    .build(),
            )
        };
    }
    Recording {
        gate,
        ec2: aws_sdk_ec2::Client::from_conf(
            a.ec2
                .config()
                .to_builder()
                .interceptor(rec.clone())
                .interceptor(d.clone())
                .build(),
        ),
        s3: aws_sdk_s3::Client::from_conf(
            a.s3.config()
                .to_builder()
                .interceptor(rec.clone())
                .interceptor(d.clone())
                .build(),
        ),
        autoscaling: aws_sdk_autoscaling::Client::from_conf(
            a.autoscaling
                .config()
                .to_builder()
                .interceptor(rec.clone())
                .interceptor(d.clone())
                .build(),
        ),
        ssm: aws_sdk_ssm::Client::from_conf(
            ssm.config()
                .to_builder()
                .interceptor(rec.clone())
                .interceptor(d.clone())
                .build(),
        ),
        sns: recorded!(aws_sdk_sns, a.sns),
        kms: recorded!(aws_sdk_kms, a.kms),
        sqs: recorded!(aws_sdk_sqs, a.sqs),
        lambda: recorded!(aws_sdk_lambda, a.lambda),
        iam: recorded!(aws_sdk_iam, iam),
        cloudtrail: recorded!(aws_sdk_cloudtrail, a.cloudtrail),
        _settings: settings,
        aged,
        _aging: aging,
    }
}

fn executor<'a>(a: &'a Aws, r: &'a Recording) -> Executor<'a> {
    Executor {
        ec2: &r.ec2,
        s3: &r.s3,
        autoscaling: &r.autoscaling,
        ssm: &r.ssm,
        sns: &r.sns,
        kms: &r.kms,
        sqs: &r.sqs,
        lambda: &r.lambda,
        iam: &r.iam,
        cloudtrail: &r.cloudtrail,
        gate: &r.gate,
        ..exec(a, false)
    }
}

/// The operations `action` declares.
fn declared(action: Action) -> BTreeSet<String> {
    action
        .calls()
        .iter()
        .map(|c| c.operation.to_string())
        .collect()
}

/// An instance launched by an Auto Scaling group (so isolation detaches it), with a volume.
async fn scaled_instance(a: &Aws, subnet: &str) -> String {
    let image = image(a).await;
    let name = format!("web-{subnet}");
    a.autoscaling
        .create_launch_configuration()
        .launch_configuration_name(&name)
        .image_id(image)
        .instance_type("t3.micro")
        .send()
        .await
        .unwrap();
    a.autoscaling
        .create_auto_scaling_group()
        .auto_scaling_group_name(&name)
        .launch_configuration_name(&name)
        .min_size(1)
        .max_size(2)
        .desired_capacity(1)
        .vpc_zone_identifier(subnet)
        .send()
        .await
        .unwrap();
    let members = a
        .autoscaling
        .describe_auto_scaling_instances()
        .send()
        .await
        .unwrap();
    members
        .auto_scaling_instances()
        .iter()
        .find(|i| i.auto_scaling_group_name() == Some(name.as_str()))
        .and_then(|i| i.instance_id())
        .unwrap()
        .to_string()
}

/// Rules someone added to the quarantine group: the next isolation removes them.
async fn spoil_quarantine_group(a: &Aws) {
    let q = quarantine_group(a).await.unwrap();
    a.ec2
        .authorize_security_group_ingress()
        .group_id(q)
        .ip_permissions(world("tcp", 22, 22))
        .send()
        .await
        .unwrap();
}

/// Every path of an instance action: a plain instance (groups made), an Auto Scaling instance
/// (detached), a second run (already isolated: reads only), a quarantine group someone opened,
/// too little time left (straight to quarantine).
async fn instance_paths(action: Action) -> BTreeSet<String> {
    let a = aws();
    let rec = Recorder::default();
    let r = recording(&a, &rec, action);
    let e = executor(&a, &r);
    let run = |id: String| {
        let e = &e;
        async move {
            match action {
                Action::IsolateInstance => e.isolate_instance(&id, true).await,
                _ => e.quarantine_instance(&id).await,
            }
            .unwrap_or_else(|f| panic!("{action:?} {id}: {f:?}"))
        }
    };
    // Quarantine is proven by the instance stopped, which the (mocked) automation does not do.
    let proven = |out: &secauto_handlers::remediate::Outcome| {
        out.refused.is_none() && (out.compliant || action == Action::QuarantineInstance)
    };
    let f = fixture(&a, false).await;
    let out = run(f.instance.clone()).await;
    assert!(proven(&out), "{out:?}");
    run(f.instance.clone()).await;
    let scaled = scaled_instance(&a, &f.subnet).await;
    spoil_quarantine_group(&a).await;
    let out = run(scaled).await;
    assert!(proven(&out), "{out:?}");
    // Too little time left: straight to quarantine.
    let late = fixture(&a, false).await;
    let hurried = Executor {
        deadline: Some(std::time::Instant::now() + std::time::Duration::from_secs(20)),
        ..executor(&a, &r)
    };
    let out = match action {
        Action::IsolateInstance => hurried.isolate_instance(&late.instance, true).await,
        _ => hurried.quarantine_instance(&late.instance).await,
    }
    .unwrap_or_else(|f| panic!("{action:?} straight: {f:?}"));
    assert!(
        out.steps.iter().any(|s| s.contains("straight to")),
        "{out:?}"
    );
    if action == Action::QuarantineInstance {
        // A Spot instance is not stopped: its volumes are snapshotted instead.
        let spot = spot_instance(&a, &f.subnet).await;
        let out = e.quarantine_instance(&spot).await.unwrap();
        assert!(out.refused.is_some(), "{out:?}");
    }
    rec.take()
}

async fn group_paths(action: Action) -> BTreeSet<String> {
    let a = aws();
    let rec = Recorder::default();
    let r = recording(&a, &rec, action);
    let e = executor(&a, &r);
    let f = fixture(&a, false).await;
    match action {
        Action::BlockNetwork => e.block_network(&f.sg).await.unwrap(),
        _ => e.fix_security_group(&f.sg).await.unwrap(),
    };
    rec.take()
}

async fn bucket_paths() -> BTreeSet<String> {
    let a = aws();
    let rec = Recorder::default();
    let r = recording(&a, &rec, Action::EnableBucketEncryption);
    a.s3.create_bucket().bucket("open").send().await.unwrap();
    let e = executor(&a, &r);
    let out = e.enable_bucket_encryption("open").await.unwrap();
    assert!(out.compliant, "{out:?}");
    e.enable_bucket_encryption("open").await.unwrap();
    rec.take()
}

/// Every path of a catalogued control's remediation: a first run that changes the resource, and a
/// second that finds it compliant.
async fn control_paths(action: Action) -> BTreeSet<String> {
    let a = aws();
    let rec = Recorder::default();
    let r = recording(&a, &rec, action);
    let e = executor(&a, &r);
    a.s3.create_bucket().bucket("open").send().await.unwrap();
    let (vpc, subnet) = vpc_with_subnet(&a, "10.9").await;
    let f = fixture(&a, false).await;
    let default_group = default_group_of(&a, &vpc).await;
    // An instance using the default group: protection reads it.
    let image = image(&a).await;
    a.ec2
        .run_instances()
        .image_id(&image)
        .min_count(1)
        .max_count(1)
        .subnet_id(&subnet)
        .security_group_ids(&default_group)
        .send()
        .await
        .unwrap();
    // All traffic in from its own members, as AWS makes a default group (moto adds egress only).
    a.ec2
        .authorize_security_group_ingress()
        .group_id(&default_group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("-1")
                .user_id_group_pairs(
                    aws_sdk_ec2::types::UserIdGroupPair::builder()
                        .group_id(&default_group)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let target = match action {
        Action::MakeSnapshotsPrivate => public_snapshot(&a, false).await,
        Action::DisableSubnetPublicIp => public_ip_subnet(&a, "10.11", false).await,
        Action::DisableTgwAutoAccept => auto_accepting_tgw(&a, false).await,
        Action::EncryptTopic => plain_topic(&a, "alerts", false).await,
        Action::MakeDocumentPrivate => public_document(&a, "runbook", false).await,
        Action::EnableKeyRotation => unrotated_key(&a, false).await,
        Action::EncryptQueue => plain_queue(&a, "jobs", false).await,
        Action::RemovePublicFunctionAccess => public_function(&a, "hook", false).await,
        Action::StrengthenPasswordPolicy => {
            weak_password_policy(&a).await;
            String::new()
        }
        Action::DeactivateOldAccessKeys | Action::DeactivateUnusedAccessKeys => {
            let (arn, keys) = iam_user(&a, "/team/", "heidi", 1, false, false).await;
            r.aged.age(&[&keys[0]]);
            // A user at IAM's 50 tags, one of them the record of a key deleted since, which the
            // run removes to make room for its own.
            let gone = secauto_handlers::remediate::deactivated_key_tag("AKIAGONE000000000001");
            tag_user(&a, "heidi", &gone, "2026-01-02").await;
            for n in 0..49 {
                tag_user(&a, "heidi", &format!("team:{n}"), "x").await;
            }
            arn
        }
        Action::EnableLogFileValidation => unvalidated_trail(&a, "eu-west-1", "audit", false).await,
        _ => String::new(),
    };
    for _ in 0..2 {
        let out = match action {
            Action::MakeSnapshotsPrivate => e.make_snapshots_private("123456789012").await,
            Action::DisableSubnetPublicIp => e.disable_subnet_public_ip(&target).await,
            Action::DisableTgwAutoAccept => e.disable_tgw_auto_accept(&target).await,
            Action::SetBucketLifecycle => e.set_bucket_lifecycle("open").await,
            Action::EncryptTopic => e.encrypt_topic(&target).await,
            Action::MakeDocumentPrivate => e.make_document_private(&target).await,
            Action::EnableKeyRotation => e.enable_key_rotation(&target).await,
            Action::EncryptQueue => e.encrypt_queue(&target).await,
            Action::RemovePublicFunctionAccess => e.remove_public_function_access(&target).await,
            Action::StrengthenPasswordPolicy => e.strengthen_password_policy("123456789012").await,
            Action::BlockPublicDocumentSharing => {
                e.block_public_document_sharing("123456789012").await
            }
            Action::DeactivateOldAccessKeys => e.deactivate_old_access_keys(&target, 90).await,
            Action::EnableLogFileValidation => e.enable_log_file_validation(&target).await,
            Action::DeactivateUnusedAccessKeys => {
                e.deactivate_unused_access_keys(&target, 90).await
            }
            Action::RestrictUnauthorizedPorts => e.restrict_unauthorized_ports(&f.sg).await,
            Action::CloseHighRiskPorts => e.close_high_risk_ports(&f.sg).await,
            Action::BlockBucketPublicAccess => e.block_bucket_public_access("open").await,
            Action::RequireBucketTls => e.require_bucket_tls("open").await,
            Action::CloseDefaultSecurityGroup => {
                e.close_default_security_group(&default_group).await
            }
            Action::EnableEbsDefaultEncryption => {
                e.enable_ebs_default_encryption("123456789012").await
            }
            _ => e.require_imdsv2(&f.instance).await,
        }
        .unwrap_or_else(|f| panic!("{action:?}: {f:?}"));
        assert!(
            out.compliant && out.refused.is_none(),
            "{action:?}: {out:?}"
        );
    }
    rec.take()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_action_calls_exactly_what_it_declares() {
    let mut problems = Vec::new();
    for action in Action::ALL {
        let called = match action {
            Action::IsolateInstance | Action::QuarantineInstance => instance_paths(action).await,
            Action::BlockNetwork | Action::FixSecurityGroup => group_paths(action).await,
            Action::EnableBucketEncryption => bucket_paths().await,
            Action::BlockBucketPublicAccess
            | Action::RequireBucketTls
            | Action::CloseDefaultSecurityGroup
            | Action::EnableEbsDefaultEncryption
            | Action::RequireImdsv2
            | Action::MakeSnapshotsPrivate
            | Action::DisableSubnetPublicIp
            | Action::RestrictUnauthorizedPorts
            | Action::CloseHighRiskPorts
            | Action::DisableTgwAutoAccept
            | Action::SetBucketLifecycle
            | Action::EncryptTopic
            | Action::MakeDocumentPrivate
            | Action::EnableKeyRotation
            | Action::EncryptQueue
            | Action::RemovePublicFunctionAccess
            | Action::StrengthenPasswordPolicy
            | Action::BlockPublicDocumentSharing
            | Action::DeactivateOldAccessKeys
            | Action::DeactivateUnusedAccessKeys
            | Action::EnableLogFileValidation => control_paths(action).await,
            Action::RemediateControl | Action::NotifyOnly | Action::Ignore => BTreeSet::new(),
        };
        let declared = declared(action);
        let undeclared: Vec<&String> = called.difference(&declared).collect();
        let unused: Vec<&String> = declared.difference(&called).collect();
        if !undeclared.is_empty() || !unused.is_empty() {
            problems.push(format!(
                "{}: called but not declared {undeclared:?}; declared but never called {unused:?}",
                action.as_str()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The remediation role's policy is generated from the declarations: every declared IAM action is
/// granted, and nothing else is (beyond the function's own calls around the action).
#[test]
fn the_generated_policy_grants_exactly_the_declared_calls() {
    let document = generated_remediation_policy();
    let granted: BTreeSet<String> = document["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|st| match &st["Action"] {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            _ => vec![],
        })
        .collect();
    let declared: BTreeSet<String> = Action::ALL
        .iter()
        .flat_map(|a| a.calls())
        .map(|c| c.iam.to_string())
        .collect();
    // The function's own calls around every action: read and record the finding, publish the
    // outcome, its dead-letter queue, its key, its on-failure destination, and the claim on the
    // resource (one run at a time per resource).
    let own = [
        "securityhub:GetFindings",
        "securityhub:BatchUpdateFindings",
        "sns:Publish",
        "sqs:SendMessage",
        "lambda:InvokeFunction",
        "ssm:PutParameter",
        "ssm:GetParameter",
        "ssm:DeleteParameter",
    ];
    let extra: Vec<&String> = granted
        .iter()
        .filter(|g| !declared.contains(*g) && !own.contains(&g.as_str()) && !g.starts_with("kms:"))
        .collect();
    assert!(
        extra.is_empty(),
        "granted beyond the declarations: {extra:?}"
    );
    let missing: Vec<&String> = declared.difference(&granted).collect();
    assert!(missing.is_empty(), "declared but not granted: {missing:?}");
    // And each on the resources its scope names, as IAM authorizes the call.
    use secauto_core::calls::Scope;
    let denied: Vec<String> = Action::ALL
        .iter()
        .flat_map(|a| a.calls())
        .filter(|c| {
            let resource = match c.scope {
                Scope::Any => "*",
                Scope::Ec2 => "arn:aws:ec2:us-east-1:123456789012:network-interface/eni-1",
                Scope::OwnGroup => "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1",
                Scope::Snapshot => "arn:aws:ec2:us-east-1::snapshot/snap-1",
                Scope::AutoScalingGroup => "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1f2e:autoScalingGroupName/web",
                Scope::Bucket => "arn:aws:s3:::open-bucket",
                Scope::IsolationDocument => "arn:aws:ssm:us-east-1:123456789012:automation-definition/sec-isolate-instance:$DEFAULT",
                Scope::AutomationExecution => "arn:aws:ssm:us-east-1:123456789012:automation-execution/exec-1",
                Scope::AutomationRole => "arn:aws:iam::123456789012:role/sec-us-east-1-automation",
                Scope::AccountSettings => "*",
                Scope::Topic => "arn:aws:sns:us-east-1:123456789012:alerts",
                Scope::Document => "arn:aws:ssm:us-east-1:123456789012:document/runbook",
                Scope::Key => "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                Scope::Queue => "arn:aws:sqs:us-east-1:123456789012:jobs",
                Scope::Function => "arn:aws:lambda:us-east-1:123456789012:function:hook",
                Scope::PublicSharingSetting => "arn:aws:ssm:us-east-1:123456789012:servicesetting/ssm/documents/console/public-sharing-permission",
                Scope::User => "arn:aws:iam::123456789012:user/team/dev/alice",
                Scope::UserRecordTags => "arn:aws:iam::123456789012:user/team/dev/alice",
                Scope::Trail => "arn:aws:cloudtrail:eu-west-1:123456789012:trail/audit",
            };
            // The request context AWS gives each call secauto makes: isolation's groups carry
            // their tag, the automation role is passed to Systems Manager.
            let context: &[(&str, &str)] = match c.scope {
                Scope::OwnGroup => &[("aws:ResourceTag/secauto:quarantine", "true")],
                Scope::AutomationRole => &[("iam:PassedToService", "ssm.amazonaws.com")],
                Scope::UserRecordTags => &[(
                    "aws:TagKeys",
                    "secauto:deactivated-access-key:AKIAIOSFODNN7EXAMPLE",
                )],
                _ => &[],
            };
            !allows_in(&document, c.iam, resource, context)
                // Tag-on-create: the snapshot's ARN, which has no account.
                || (c.operation == "ec2:CreateSnapshot"
                    && c.scope == Scope::Snapshot
                    && !allows(&document, "ec2:CreateTags", resource))
        })
        .map(|c| format!("{} ({:?})", c.iam, c.scope))
        .collect();
    assert!(
        denied.is_empty(),
        "not allowed on their resources: {denied:?}"
    );
    // The conditions bite: a group isolation did not make cannot be opened, and the tag that
    // marks isolation's groups can be put only by CreateSecurityGroup.
    let group = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1";
    assert!(!allows_in(
        &document,
        "ec2:AuthorizeSecurityGroupIngress",
        group,
        &[]
    ));
    let marking = [("aws:TagKeys", "secauto:quarantine")];
    assert!(!allows_in(&document, "ec2:CreateTags", group, &marking));
    // IAM matches the Allow's aws:ResourceTag/secauto:quarantine whatever the key's case.
    let other_case = [("aws:TagKeys", "Secauto:Quarantine")];
    assert!(!allows_in(&document, "ec2:CreateTags", group, &other_case));
    let at_create = [
        ("aws:TagKeys", "secauto:quarantine"),
        ("ec2:CreateAction", "CreateSecurityGroup"),
    ];
    assert!(allows_in(&document, "ec2:CreateTags", group, &at_create));
    // CreateSecurityGroup authorizes on the VPC too: in a shared VPC its ARN names the owner.
    let shared = "arn:aws:ec2:us-east-1:999999999999:vpc/vpc-shared";
    assert!(allows(&document, "ec2:CreateSecurityGroup", shared));
    assert!(!allows(
        &document,
        "ec2:ModifyNetworkInterfaceAttribute",
        shared
    ));
    // On IAM users only secauto's record tags of deactivated keys may be put or removed: never
    // a tag a policy tests, not even beside a record tag.
    let user = "arn:aws:iam::123456789012:user/team/dev/alice";
    let record = (
        "aws:TagKeys",
        "secauto:deactivated-access-key:AKIAIOSFODNN7EXAMPLE",
    );
    for call in ["iam:TagUser", "iam:UntagUser"] {
        assert!(allows_in(&document, call, user, &[record]), "{call}");
        let theirs = [("aws:TagKeys", "access-level")];
        assert!(!allows_in(&document, call, user, &theirs), "{call}");
        assert!(
            !allows_in(&document, call, user, &[record, theirs[0]]),
            "{call}"
        );
    }
    let role = "arn:aws:iam::123456789012:role/sec-us-east-1-automation";
    let elsewhere = [("iam:PassedToService", "lambda.amazonaws.com")];
    assert!(!allows_in(&document, "iam:PassRole", role, &elsewhere));
}

/// In production an action's clients refuse, before sending it, a call its declaration does not
/// name: block-network's clients cannot touch a bucket.
#[tokio::test]
async fn an_undeclared_call_is_refused_before_it_is_sent() {
    let a = aws();
    a.s3.create_bucket().bucket("kept").send().await.unwrap();
    let clients = secauto_handlers::Clients::new(&sdk_at(&a.url, "testing", "testing"));
    let scoped = Scoped::new(&clients, Action::BlockNetwork);
    let failed = Executor {
        s3: &scoped.s3,
        ..exec(&a, false)
    }
    .enable_bucket_encryption("kept")
    .await
    .expect_err("refused");
    let text = format!("{:#}", failed.error);
    assert!(
        text.contains("s3:GetBucketTagging is not among the calls block-network declares"),
        "{text}"
    );
    assert!(
        a.s3.get_bucket_encryption()
            .bucket("kept")
            .send()
            .await
            .is_err(),
        "nothing changed"
    );
}

/// A dry run (notify-only) and a protected resource send reads only, on every action's path: the
/// clients' gate stays shut, so a write from any path — inside the contract's `act` or not —
/// would be refused and fail the run, and the recorder would show it.
#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_and_a_protected_resource_send_only_reads() {
    let mut problems = Vec::new();
    for action in Action::ALL {
        for protect in [false, true] {
            let a = aws();
            let rec = Recorder::default();
            let r = recording(&a, &rec, action);
            let f = fixture(&a, protect).await;
            let default_group = default_group_of(&a, &f.vpc).await;
            // Protected: the instance and the group by tag; the bucket, the account and the
            // default group by config.
            let listed = secauto_handlers::remediate::Protection {
                resources: vec!["open".into(), "123456789012".into(), default_group.clone()],
                tags: vec![],
            };
            let e = Executor {
                dry_run: !protect,
                protection: if protect { &listed } else { &NO_PROTECTION },
                ..executor(&a, &r)
            };
            a.s3.create_bucket().bucket("open").send().await.unwrap();
            let done = match action {
                Action::IsolateInstance => e.isolate_instance(&f.instance, true).await,
                Action::QuarantineInstance => e.quarantine_instance(&f.instance).await,
                Action::BlockNetwork => e.block_network(&f.sg).await,
                Action::FixSecurityGroup => e.fix_security_group(&f.sg).await,
                Action::EnableBucketEncryption => e.enable_bucket_encryption("open").await,
                Action::BlockBucketPublicAccess => e.block_bucket_public_access("open").await,
                Action::RequireBucketTls => e.require_bucket_tls("open").await,
                Action::CloseDefaultSecurityGroup => {
                    e.close_default_security_group(&default_group).await
                }
                Action::EnableEbsDefaultEncryption => {
                    e.enable_ebs_default_encryption("123456789012").await
                }
                Action::RequireImdsv2 => e.require_imdsv2(&f.instance).await,
                Action::MakeSnapshotsPrivate => {
                    public_snapshot(&a, protect).await;
                    e.make_snapshots_private("123456789012").await
                }
                Action::DisableSubnetPublicIp => {
                    let subnet = public_ip_subnet(&a, "10.12", protect).await;
                    e.disable_subnet_public_ip(&subnet).await
                }
                Action::RestrictUnauthorizedPorts => e.restrict_unauthorized_ports(&f.sg).await,
                Action::CloseHighRiskPorts => e.close_high_risk_ports(&f.sg).await,
                Action::DisableTgwAutoAccept => {
                    let tgw = auto_accepting_tgw(&a, protect).await;
                    e.disable_tgw_auto_accept(&tgw).await
                }
                Action::SetBucketLifecycle => e.set_bucket_lifecycle("open").await,
                Action::EncryptTopic => {
                    let topic = plain_topic(&a, "alerts", protect).await;
                    e.encrypt_topic(&topic).await
                }
                Action::MakeDocumentPrivate => {
                    let doc = public_document(&a, "runbook", protect).await;
                    e.make_document_private(&doc).await
                }
                Action::EnableKeyRotation => {
                    let key = unrotated_key(&a, protect).await;
                    e.enable_key_rotation(&key).await
                }
                Action::EncryptQueue => {
                    let queue = plain_queue(&a, "jobs", protect).await;
                    e.encrypt_queue(&queue).await
                }
                Action::RemovePublicFunctionAccess => {
                    let function = public_function(&a, "hook", protect).await;
                    e.remove_public_function_access(&function).await
                }
                Action::StrengthenPasswordPolicy => {
                    weak_password_policy(&a).await;
                    e.strengthen_password_policy("123456789012").await
                }
                Action::BlockPublicDocumentSharing => {
                    e.block_public_document_sharing("123456789012").await
                }
                Action::DeactivateOldAccessKeys | Action::DeactivateUnusedAccessKeys => {
                    let (arn, keys) = iam_user(&a, "/", "ivan", 1, false, protect).await;
                    r.aged.age(&[&keys[0]]);
                    match action {
                        Action::DeactivateOldAccessKeys => {
                            e.deactivate_old_access_keys(&arn, 90).await
                        }
                        _ => e.deactivate_unused_access_keys(&arn, 90).await,
                    }
                }
                Action::EnableLogFileValidation => {
                    let trail = unvalidated_trail(&a, "eu-west-1", "audit", protect).await;
                    e.enable_log_file_validation(&trail).await
                }
                Action::RemediateControl | Action::NotifyOnly | Action::Ignore => continue,
            };
            let writes: Vec<String> = rec.take().into_iter().filter(|o| !reads_only(o)).collect();
            if let Err(f) = &done {
                problems.push(format!("{action:?} (protected: {protect}): {:#}", f.error));
            } else if let Some(why) = done.as_ref().ok().and_then(|o| o.refused.as_ref()) {
                // A refusal would stop the path before the writes this test is about.
                problems.push(format!("{action:?} (protected: {protect}) refused: {why}"));
            } else if !writes.is_empty() {
                problems.push(format!("{action:?} (protected: {protect}) sent {writes:?}"));
            }
            assert!(!r.gate.is_open(), "{action:?}: the gate is left open");
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The gate itself: while it is shut, the production clients refuse a change before sending it
/// (and let reads through); open, they send it.
#[tokio::test]
async fn a_shut_gate_refuses_every_change_before_it_is_sent() {
    let a = aws();
    let f = fixture(&a, false).await;
    let clients = secauto_handlers::Clients::new(&sdk_at(&a.url, "testing", "testing"));
    let scoped = Scoped::new(&clients, Action::IsolateInstance);
    let tag = aws_sdk_ec2::types::Tag::builder()
        .key("k")
        .value("v")
        .build();
    let refused = scoped
        .ec2
        .create_tags()
        .resources(&f.instance)
        .tags(tag.clone())
        .send()
        .await
        .expect_err("refused while shut");
    let text = format!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(&refused)
    );
    assert!(
        text.contains("ec2:CreateTags would change something"),
        "{text}"
    );
    scoped
        .ec2
        .describe_instances()
        .instance_ids(&f.instance)
        .send()
        .await
        .expect("reads pass");
    let tags = |a: &Aws, id: String| {
        let ec2 = a.ec2.clone();
        async move {
            ec2.describe_tags()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("resource-id")
                        .values(id)
                        .build(),
                )
                .send()
                .await
                .unwrap()
                .tags()
                .iter()
                .any(|t| t.key() == Some("k"))
        }
    };
    assert!(!tags(&a, f.instance.clone()).await, "nothing was sent");
    let gate: &Gate = &scoped.gate;
    let open = Executor {
        ec2: &scoped.ec2,
        gate,
        ..exec(&a, false)
    };
    // Opened only by the contract: isolating through these clients writes (the gate opens after
    // the protection check) and leaves the gate shut when done.
    let out = open.isolate_instance(&f.instance, false).await.unwrap();
    assert!(out.compliant, "{out:?}");
    assert!(!scoped.gate.is_open());
}

/// IAM refuses a managed policy document over 6,144 characters (whitespace not counted): the
/// remediation role's generated policy, which grows with every catalogued control, must stay
/// within it.
#[test]
fn the_generated_remediation_policy_fits_iams_managed_policy_quota() {
    let document = serde_json::to_string(&generated_remediation_policy()).unwrap();
    let size = document.chars().filter(|c| !c.is_whitespace()).count();
    println!("remediation policy: {size} characters");
    assert!(size <= 6144, "{size} characters: {document}");
}
