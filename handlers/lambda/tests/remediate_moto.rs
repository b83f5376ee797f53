//! Remediations against moto's EC2 and S3: real instances, groups, rules, volumes and buckets made in
//! the test, and the resulting state asserted. SSM automation executions exist in no emulator, so the
//! quarantine test gives the executor an aws-smithy-mocks SSM client asserting the exact request.

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification,
};
use aws_sdk_ssm::operation::start_automation_execution::StartAutomationExecutionOutput;
use aws_smithy_mocks::{mock, mock_client};
use secauto_handlers::remediate::{Executor, QUARANTINE_GROUP};
use secauto_testkit::{moto, Emulator};

struct Aws {
    _moto: Emulator,
    ec2: aws_sdk_ec2::Client,
    s3: aws_sdk_s3::Client,
    ssm: aws_sdk_ssm::Client,
}

fn aws() -> Aws {
    let m = moto();
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&m.url)
        .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
            aws_sdk_ec2::config::Credentials::new("testing", "testing", None, None, "tests"),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    Aws {
        ec2: aws_sdk_ec2::Client::new(&sdk),
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        ),
        ssm: aws_sdk_ssm::Client::new(&sdk),
        _moto: m,
    }
}

fn world(proto: &str, from: i32, to: i32) -> IpPermission {
    IpPermission::builder()
        .ip_protocol(proto)
        .from_port(from)
        .to_port(to)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

struct Fixture {
    vpc: String,
    sg: String,
    instance: String,
}

/// A VPC, a security group open to the world on 22, 3389 and 443 (and 22 on ::/0, 8080 from 10/8),
/// and an instance in it.
async fn fixture(a: &Aws, protect: bool) -> Fixture {
    let vpc = a
        .ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = a
        .ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    let sg = a
        .ec2
        .create_security_group()
        .group_name("web")
        .description("web")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    a.ec2
        .authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(world("tcp", 22, 22))
        .ip_permissions(world("tcp", 3389, 3389))
        .ip_permissions(world("tcp", 443, 443))
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(8080)
                .to_port(8080)
                .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(2222)
                .to_port(2222)
                .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let image = a.ec2.describe_images().send().await.unwrap();
    let image = image.images()[0].image_id().unwrap().to_string();
    let mut run = a
        .ec2
        .run_instances()
        .image_id(image)
        .min_count(1)
        .max_count(1)
        .subnet_id(&subnet)
        .security_group_ids(&sg);
    if protect {
        run = run.tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("secauto:protect").value("true").build())
                .build(),
        );
    }
    let out = run.send().await.unwrap();
    let instance = out.instances()[0].instance_id().unwrap().to_string();
    if protect {
        a.ec2
            .create_tags()
            .resources(&sg)
            .tags(Tag::builder().key("secauto:protect").value("true").build())
            .send()
            .await
            .unwrap();
    }
    Fixture { vpc, sg, instance }
}

fn exec<'a>(a: &'a Aws, dry_run: bool) -> Executor<'a> {
    Executor {
        ec2: &a.ec2,
        s3: &a.s3,
        ssm: &a.ssm,
        dry_run,
        finding_id: "arn:aws:securityhub:us-east-1:123456789012:finding/test",
        isolate_document: "sec-isolate-instance",
    }
}

async fn ingress(a: &Aws, sg: &str) -> Vec<String> {
    let g = a
        .ec2
        .describe_security_groups()
        .group_ids(sg)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for p in g.security_groups()[0].ip_permissions() {
        for r in p.ip_ranges() {
            out.push(format!(
                "{}:{}",
                p.from_port().unwrap_or(-1),
                r.cidr_ip().unwrap()
            ));
        }
        for r in p.ipv6_ranges() {
            out.push(format!(
                "{}:{}",
                p.from_port().unwrap_or(-1),
                r.cidr_ipv6().unwrap()
            ));
        }
    }
    out.sort();
    out
}

/// Is the instance's network interface in `group`? (moto's `group-id` filter reads the interface's
/// own groups; its describe output also mixes in the instance's launch groups.)
async fn eni_in_group(a: &Aws, instance: &str, group: &str) -> bool {
    !a.ec2
        .describe_network_interfaces()
        .filters(
            Filter::builder()
                .name("attachment.instance-id")
                .values(instance)
                .build(),
        )
        .filters(Filter::builder().name("group-id").values(group).build())
        .send()
        .await
        .unwrap()
        .network_interfaces()
        .is_empty()
}

/// The quarantine group's id, if one was made.
async fn quarantine_group(a: &Aws) -> Option<String> {
    a.ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("group-name")
                .values(QUARANTINE_GROUP)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .security_groups()
        .first()
        .and_then(|g| g.group_id().map(str::to_string))
}

async fn snapshots_of(a: &Aws, id: &str) -> usize {
    a.ec2
        .describe_snapshots()
        .filters(
            Filter::builder()
                .name("tag:secauto:instance")
                .values(id)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .snapshots()
        .len()
}

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
    assert!(
        tags.contains(&("secauto:previous-security-groups".into(), f.sg.clone())),
        "{tags:?}"
    );
    assert!(
        snapshots_of(&a, &f.instance).await >= 1,
        "a forensic snapshot per volume"
    );

    // Isolating again reuses the quarantine group.
    exec(&a, false)
        .isolate_instance(&f.instance, false)
        .await
        .unwrap();
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

#[tokio::test]
async fn mocked_ssm_quarantine_isolates_then_starts_the_automation() {
    let a = aws();
    let f = fixture(&a, false).await;
    let instance = f.instance.clone();
    let start = mock!(aws_sdk_ssm::Client::start_automation_execution)
        .match_requests(move |r| {
            r.document_name() == Some("sec-isolate-instance")
                && r.parameters().and_then(|p| p.get("InstanceId")) == Some(&vec![instance.clone()])
                && r.parameters().and_then(|p| p.get("FindingId")).is_some()
        })
        .then_output(|| {
            StartAutomationExecutionOutput::builder()
                .automation_execution_id("exec-1")
                .build()
        });
    let ssm = mock_client!(aws_sdk_ssm, [&start]);
    let e = Executor {
        ssm: &ssm,
        ..exec(&a, false)
    };
    let out = e.quarantine_instance(&f.instance).await.unwrap();
    assert_eq!(start.num_calls(), 1);
    assert!(
        out.steps.iter().any(|s| s.contains("exec-1")),
        "{:?}",
        out.steps
    );
    let qid = quarantine_group(&a).await.unwrap();
    assert!(eni_in_group(&a, &f.instance, &qid).await);
    assert!(!eni_in_group(&a, &f.instance, &f.sg).await);
}
