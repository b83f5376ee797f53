//! What the handler tests share: clients of a moto server, a VPC with a world-open group and an
//! instance, the executor as remediation builds it, and reads of what moto holds and was asked.
#![allow(dead_code)]

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification,
};
use secauto_handlers::remediate::{Executor, Protection, QUARANTINE_GROUP};
use secauto_testkit::{moto, Emulator};

pub struct Aws {
    pub _moto: Option<Emulator>,
    pub url: String,
    pub ec2: aws_sdk_ec2::Client,
    pub s3: aws_sdk_s3::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub sns: aws_sdk_sns::Client,
    pub kms: aws_sdk_kms::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub iam: aws_sdk_iam::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
}

pub static NO_PROTECTION: Protection = Protection {
    resources: Vec::new(),
    tags: Vec::new(),
};

pub fn aws() -> Aws {
    let m = moto();
    let mut a = aws_at(&m.url, "testing", "testing");
    a._moto = Some(m);
    a
}

pub fn sdk_at(url: &str, key: &str, secret: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
            aws_sdk_ec2::config::Credentials::new(key, secret, None, None, "tests"),
        ))
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep().unwrap())
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

/// Clients of the emulator at `url`, signing with the given access key.
pub fn aws_at(url: &str, key: &str, secret: &str) -> Aws {
    aws_from(&sdk_at(url, key, secret), url)
}

/// Clients of `sdk`, whose endpoint is the emulator at `url`.
pub fn aws_from(sdk: &aws_config::SdkConfig, url: &str) -> Aws {
    let sdk = sdk.clone();
    Aws {
        ec2: aws_sdk_ec2::Client::new(&sdk),
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        ),
        ssm: aws_sdk_ssm::Client::new(&sdk),
        autoscaling: aws_sdk_autoscaling::Client::new(&sdk),
        sns: aws_sdk_sns::Client::new(&sdk),
        kms: aws_sdk_kms::Client::new(&sdk),
        sqs: aws_sdk_sqs::Client::new(&sdk),
        lambda: aws_sdk_lambda::Client::new(&sdk),
        iam: aws_sdk_iam::Client::new(&sdk),
        cloudtrail: aws_sdk_cloudtrail::Client::new(&sdk),
        url: url.to_string(),
        _moto: None,
    }
}

pub fn world(proto: &str, from: i32, to: i32) -> IpPermission {
    IpPermission::builder()
        .ip_protocol(proto)
        .from_port(from)
        .to_port(to)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

/// A VPC `{prefix}.0.0/16` and its subnet `{prefix}.1.0/24`.
pub async fn vpc_with_subnet(a: &Aws, prefix: &str) -> (String, String) {
    let vpc = a
        .ec2
        .create_vpc()
        .cidr_block(format!("{prefix}.0.0/16"))
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = a
        .ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block(format!("{prefix}.1.0/24"))
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    (vpc, subnet)
}

/// An image moto offers.
pub async fn image(a: &Aws) -> String {
    let images = a.ec2.describe_images().send().await.unwrap();
    images.images()[0].image_id().unwrap().to_string()
}

pub struct Fixture {
    pub vpc: String,
    pub subnet: String,
    pub sg: String,
    pub instance: String,
}

/// A VPC, a security group open to the world on 22, 3389 and 443 (and 22 on ::/0, 8080 from 10/8),
/// and an instance in it.
pub async fn fixture(a: &Aws, protect: bool) -> Fixture {
    let (vpc, subnet) = vpc_with_subnet(a, "10.0").await;
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
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        // Groups on the interface, as a launch template would put them: moto adds launch-time
        // `SecurityGroupIds` to every later answer about the interface, which AWS does not.
        .network_interfaces(
            aws_sdk_ec2::types::InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&subnet)
                .groups(&sg)
                .build(),
        );
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
    Fixture {
        vpc,
        subnet,
        sg,
        instance,
    }
}

/// The `default` security group of `vpc`.
pub async fn default_group_of(a: &Aws, vpc: &str) -> String {
    a.ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc)
                .build(),
        )
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .group_id()
        .unwrap()
        .to_string()
}

/// A Spot instance (t3.micro, one-time) in `subnet`.
pub async fn spot_instance(a: &Aws, subnet: &str) -> String {
    let image = image(a).await;
    a.ec2
        .run_instances()
        .image_id(&image)
        .min_count(1)
        .max_count(1)
        .subnet_id(subnet)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .instance_market_options(
            aws_sdk_ec2::types::InstanceMarketOptionsRequest::builder()
                .market_type(aws_sdk_ec2::types::MarketType::Spot)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_string()
}

/// The forensic snapshots secauto took of `instance`'s volumes (tag `secauto:instance`).
pub async fn forensic_snapshots(a: &Aws, instance: &str) -> usize {
    a.ec2
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:secauto:instance")
                .values(instance)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .snapshots()
        .len()
}

pub fn exec<'a>(a: &'a Aws, dry_run: bool) -> Executor<'a> {
    Executor {
        ec2: &a.ec2,
        s3: &a.s3,
        ssm: &a.ssm,
        autoscaling: &a.autoscaling,
        sns: &a.sns,
        kms: &a.kms,
        sqs: &a.sqs,
        lambda: &a.lambda,
        iam: &a.iam,
        cloudtrail: &a.cloudtrail,
        dry_run,
        finding_id: "arn:aws:securityhub:us-east-1:123456789012:finding/test",
        fact: "",
        account: "123456789012",
        isolate_document: "sec-isolate-instance",
        automation_role: "arn:aws:iam::123456789012:role/sec-us-east-1-automation",
        automation_wait: std::time::Duration::from_secs(2),
        isolate_routing: false,
        protection: &NO_PROTECTION,
        deadline: None,
        gate: &NO_GATE,
    }
}

/// The gate of executors whose clients have none (raw clients, no [`Declared`] interceptor).
///
/// [`Declared`]: secauto_handlers::remediate::declared::Declared
pub static NO_GATE: std::sync::LazyLock<secauto_handlers::remediate::declared::Gate> =
    std::sync::LazyLock::new(Default::default);

pub async fn ingress(a: &Aws, sg: &str) -> Vec<String> {
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
pub async fn eni_in_group(a: &Aws, instance: &str, group: &str) -> bool {
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

/// A tag of the instance's (first) network interface.
pub async fn eni_tag(a: &Aws, instance: &str, key: &str) -> Option<String> {
    let enis = a
        .ec2
        .describe_network_interfaces()
        .filters(
            Filter::builder()
                .name("attachment.instance-id")
                .values(instance)
                .build(),
        )
        .send()
        .await
        .unwrap();
    enis.network_interfaces()
        .first()?
        .tag_set()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value().map(String::from))
}

/// The quarantine group's id, if one was made.
pub async fn quarantine_group(a: &Aws) -> Option<String> {
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

pub async fn snapshots_of(a: &Aws, id: &str) -> usize {
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

/// Every request moto recorded: (the request's JSON record, its decoded body).
pub fn recorded(url: &str) -> Vec<(serde_json::Value, String)> {
    let text = std::process::Command::new("curl")
        .args(["-s", &format!("{url}/moto-api/recorder/download-recording")])
        .output()
        .unwrap()
        .stdout;
    String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            use base64::Engine;
            let body = v["body"].as_str().unwrap_or_default();
            let body = if v["body_encoded"].as_bool() == Some(true) {
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .map(|raw| String::from_utf8_lossy(&raw).into_owned())
                    .unwrap_or_default()
            } else {
                body.to_string()
            };
            (v, body)
        })
        .collect()
}

/// The groups each ModifyNetworkInterfaceAttribute request set, in order (moto's request recorder).
pub fn recorded_group_moves(url: &str) -> Vec<String> {
    recorded(url)
        .into_iter()
        .map(|(_, b)| b)
        .filter(|b| b.contains("Action=ModifyNetworkInterfaceAttribute"))
        .filter_map(|b| {
            b.split('&')
                .find_map(|kv| kv.strip_prefix("SecurityGroupId.1=").map(String::from))
        })
        .collect()
}

pub fn moto_post(url: &str, path: &str) {
    let ok = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-X",
            "POST",
            &format!("{url}{path}"),
        ])
        .status()
        .unwrap()
        .success();
    assert!(ok, "{path}");
}

/// IAM's wildcard match (`*` any run, `?` one character), case-insensitive as action names are.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (
        pattern.to_ascii_lowercase().chars().collect(),
        text.to_ascii_lowercase().chars().collect(),
    );
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('*') => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            Some('?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

pub fn list(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => vec![],
    }
}

/// Does the policy allow `action` on `resource`, no request context given (a statement with a
/// condition then does not apply)?
pub fn allows(policy: &serde_json::Value, action: &str, resource: &str) -> bool {
    allows_in(policy, action, resource, &[])
}

/// Does the policy allow `action` on `resource` in a request whose context keys are `context`? As
/// IAM decides within one policy: an applicable Deny wins; otherwise an applicable Allow allows. A
/// statement applies when its action, resource and every condition match (`StringEquals`,
/// `StringLike`, `StringNotEquals`, `ForAnyValue:StringEquals[IgnoreCase]`; a key missing from the context
/// fails each but `StringNotEquals`; an operator this evaluator does not know fails the test).
pub fn allows_in(
    policy: &serde_json::Value,
    action: &str,
    resource: &str,
    context: &[(&str, &str)],
) -> bool {
    let applies = |st: &serde_json::Value| {
        list(&st["Action"]).iter().any(|a| glob(a, action))
            && list(&st["Resource"]).iter().any(|r| glob(r, resource))
            && conditions_hold(&st["Condition"], context)
    };
    let statements = policy["Statement"].as_array().unwrap();
    !statements
        .iter()
        .any(|st| st["Effect"] == "Deny" && applies(st))
        && statements
            .iter()
            .any(|st| st["Effect"] == "Allow" && applies(st))
}

fn conditions_hold(condition: &serde_json::Value, context: &[(&str, &str)]) -> bool {
    let Some(ops) = condition.as_object() else {
        return true;
    };
    ops.iter().all(|(op, keys)| {
        keys.as_object().unwrap().iter().all(|(key, wanted)| {
            let values: Vec<&str> = context
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| *v)
                .collect();
            let wanted = list(wanted);
            let eq = |v: &&str| wanted.iter().any(|w| w == v);
            let eq_ignoring_case = |v: &&str| wanted.iter().any(|w| w.eq_ignore_ascii_case(v));
            let like = |v: &&str| wanted.iter().any(|w| glob(w, v));
            match op.as_str() {
                "StringEquals" => !values.is_empty() && values.iter().all(eq),
                "StringLike" => !values.is_empty() && values.iter().all(like),
                // IAM: a key missing from the request makes StringNotEquals true.
                "StringNotEquals" => values.iter().all(|v| !eq(v)),
                // IAM: true when every value matches (and when the request has none).
                "ForAllValues:StringLike" => values.iter().all(like),
                "ForAnyValue:StringEquals" => values.iter().any(eq),
                "ForAnyValue:StringEqualsIgnoreCase" => values.iter().any(eq_ignoring_case),
                other => panic!("a condition operator this test cannot evaluate: {other}"),
            }
        })
    })
}

/// The remediation role's policy as deploy generates it for stack `sec`.
pub fn generated_remediation_policy() -> serde_json::Value {
    generated_policy("remediation")
}

/// The policy of function `key` (`triage`, `remediation`, …) as deploy generates it for stack `sec`.
pub fn generated_policy(key: &str) -> serde_json::Value {
    let mut config = secauto::config::Config::default();
    config.stack.name = "sec".into();
    let stack = secauto::stack::build(
        &config,
        "123456789012",
        "us-east-1",
        secauto::stack::Code::NotNeeded,
    )
    .unwrap();
    let address = format!("iam_policy.{key}");
    let Some(secauto::resources::Spec::IamPolicy(p)) = stack.get(&address).map(|r| &r.spec) else {
        panic!("no {address}")
    };
    p.document.clone()
}

/// The Security Hub emulator (CSPM and V2) on a free loopback port, killed on drop:
/// `.venv/bin/python emulators/securityhub/server.py -H 127.0.0.1 -p PORT`, ready once
/// `GET /_emulator/health` answers. `events_to` is the EventBridge endpoint its finding events go
/// to (none: they are only recorded, `GET /_emulator/events`).
pub fn securityhub_emulator(events_to: Option<&str>) -> Emulator {
    let venv = secauto_testkit::venv();
    let server = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../emulators/securityhub/server.py");
    secauto_testkit::start(
        "the Security Hub emulator",
        "/_emulator/health",
        |port, _| {
            let mut c = std::process::Command::new(venv.join("bin/python"));
            c.arg(&server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            if let Some(url) = events_to {
                c.env("SECHUB_EMULATOR_EVENTS_ENDPOINT", url);
            }
            c
        },
    )
}

/// Run `scenario` on a thread with room for the handlers' futures and the SDK's GetFindings
/// deserializer (debug builds keep their frames large; the bootstrap's threads have 32 MiB).
pub fn run<F: std::future::Future<Output = ()> + Send + 'static>(scenario: F) {
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(16 << 20)
                .enable_all()
                .build()
                .unwrap()
                .block_on(Box::pin(scenario))
        })
        .unwrap()
        .join()
        .unwrap();
}

/// A snapshot of a new volume, restorable by everyone (EC2.1), tagged protected if asked.
pub async fn public_snapshot(a: &Aws, protect: bool) -> String {
    let vol = a
        .ec2
        .create_volume()
        .availability_zone("us-east-1a")
        .size(1)
        .send()
        .await
        .unwrap();
    let snap = a
        .ec2
        .create_snapshot()
        .volume_id(vol.volume_id().unwrap())
        .send()
        .await
        .unwrap();
    let id = snap.snapshot_id().unwrap().to_string();
    a.ec2
        .modify_snapshot_attribute()
        .snapshot_id(&id)
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .operation_type(aws_sdk_ec2::types::OperationType::Add)
        .group_names("all")
        .send()
        .await
        .unwrap();
    if protect {
        protect_tag(a, &id).await;
    }
    id
}

/// Whether anyone may restore the snapshot.
pub async fn snapshot_public(a: &Aws, id: &str) -> bool {
    let out = a
        .ec2
        .describe_snapshot_attribute()
        .snapshot_id(id)
        .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .unwrap();
    out.create_volume_permissions()
        .iter()
        .any(|p| p.group() == Some(&aws_sdk_ec2::types::PermissionGroup::All))
}

/// A subnet that assigns public IPv4 addresses at launch (EC2.15).
pub async fn public_ip_subnet(a: &Aws, prefix: &str, protect: bool) -> String {
    let (_, subnet) = vpc_with_subnet(a, prefix).await;
    a.ec2
        .modify_subnet_attribute()
        .subnet_id(&subnet)
        .map_public_ip_on_launch(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    if protect {
        protect_tag(a, &subnet).await;
    }
    subnet
}

/// Whether the subnet assigns public IPv4 addresses at launch.
pub async fn maps_public_ip(a: &Aws, subnet: &str) -> bool {
    let out = a
        .ec2
        .describe_subnets()
        .subnet_ids(subnet)
        .send()
        .await
        .unwrap();
    out.subnets()[0].map_public_ip_on_launch() == Some(true)
}

/// A transit gateway that accepts shared attachments by itself (EC2.23).
pub async fn auto_accepting_tgw(a: &Aws, protect: bool) -> String {
    let out = a
        .ec2
        .create_transit_gateway()
        .options(
            aws_sdk_ec2::types::TransitGatewayRequestOptions::builder()
                .auto_accept_shared_attachments(
                    aws_sdk_ec2::types::AutoAcceptSharedAttachmentsValue::Enable,
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let id = out
        .transit_gateway()
        .unwrap()
        .transit_gateway_id()
        .unwrap()
        .to_string();
    if protect {
        protect_tag(a, &id).await;
    }
    id
}

/// Whether the transit gateway accepts shared attachments by itself.
pub async fn tgw_auto_accepts(a: &Aws, id: &str) -> bool {
    let out = a
        .ec2
        .describe_transit_gateways()
        .transit_gateway_ids(id)
        .send()
        .await
        .unwrap();
    out.transit_gateways()[0]
        .options()
        .and_then(|o| o.auto_accept_shared_attachments())
        == Some(&aws_sdk_ec2::types::AutoAcceptSharedAttachmentsValue::Enable)
}

/// Whether the bucket has an enabled lifecycle rule.
pub async fn has_lifecycle(a: &Aws, bucket: &str) -> bool {
    match a
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(o) => o
            .rules()
            .iter()
            .any(|r| r.status() == &aws_sdk_s3::types::ExpirationStatus::Enabled),
        Err(_) => false,
    }
}

/// Tag an EC2 resource `secauto:protect=true`.
pub async fn protect_tag(a: &Aws, id: &str) {
    a.ec2
        .create_tags()
        .resources(id)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("secauto:protect")
                .value("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// A topic without encryption (SNS.1).
pub async fn plain_topic(a: &Aws, name: &str, protect: bool) -> String {
    let arn = a
        .sns
        .create_topic()
        .name(name)
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    if protect {
        protect_resource(a, "SNS.1", &arn).await;
    }
    arn
}

/// The topic's `KmsMasterKeyId` (empty: none).
pub async fn topic_key(a: &Aws, arn: &str) -> String {
    let out = a
        .sns
        .get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .unwrap();
    out.attributes()
        .and_then(|m| m.get("KmsMasterKeyId"))
        .cloned()
        .unwrap_or_default()
}

/// A Command document shared with everyone (SSM.4).
pub async fn public_document(a: &Aws, name: &str, protect: bool) -> String {
    let content = serde_json::json!({"schemaVersion": "2.2", "description": "d",
        "mainSteps": [{"action": "aws:runShellScript", "name": "run", "inputs": {"runCommand": ["true"]}}]});
    a.ssm
        .create_document()
        .name(name)
        .content(content.to_string())
        .document_type(aws_sdk_ssm::types::DocumentType::Command)
        .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
        .send()
        .await
        .unwrap();
    a.ssm
        .modify_document_permission()
        .name(name)
        .permission_type(aws_sdk_ssm::types::DocumentPermissionType::Share)
        .account_ids_to_add("All")
        .send()
        .await
        .unwrap();
    if protect {
        protect_resource(a, "SSM.4", name).await;
    }
    name.to_string()
}

/// Whether the document is shared with everyone.
pub async fn document_public(a: &Aws, name: &str) -> bool {
    let out = a
        .ssm
        .describe_document_permission()
        .name(name)
        .permission_type(aws_sdk_ssm::types::DocumentPermissionType::Share)
        .send()
        .await
        .unwrap();
    out.account_ids()
        .iter()
        .any(|x| x.eq_ignore_ascii_case("all"))
}

/// A customer managed key without rotation (KMS.4); its ARN.
pub async fn unrotated_key(a: &Aws, protect: bool) -> String {
    let arn = a
        .kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    if protect {
        protect_resource(a, "KMS.4", &arn).await;
    }
    arn
}

/// Whether the key rotates automatically.
pub async fn key_rotates(a: &Aws, key: &str) -> bool {
    a.kms
        .get_key_rotation_status()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .key_rotation_enabled()
}

/// A queue without server-side encryption (SQS.1); its ARN.
pub async fn plain_queue(a: &Aws, name: &str, protect: bool) -> String {
    let url = a
        .sqs
        .create_queue()
        .queue_name(name)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::SqsManagedSseEnabled,
            "false",
        )
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}");
    if protect {
        protect_resource(a, "SQS.1", &url).await;
    }
    assert!(!queue_encrypted(a, &arn).await);
    arn
}

/// Whether the queue (by ARN) is encrypted, either way.
pub async fn queue_encrypted(a: &Aws, arn: &str) -> bool {
    let name = arn.rsplit(':').next().unwrap();
    let url = a.sqs.get_queue_url().queue_name(name).send().await.unwrap();
    let out = a
        .sqs
        .get_queue_attributes()
        .queue_url(url.queue_url().unwrap())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes().cloned().unwrap_or_default();
    attrs
        .get(&aws_sdk_sqs::types::QueueAttributeName::SqsManagedSseEnabled)
        .map(String::as_str)
        == Some("true")
        || attrs
            .get(&aws_sdk_sqs::types::QueueAttributeName::KmsMasterKeyId)
            .is_some_and(|k| !k.is_empty())
}

/// A function anyone may invoke (Lambda.1: principal `*`; `s3.amazonaws.com` with no source; a
/// wildcard source ARN), beside a statement narrowed to one account; its ARN.
pub async fn public_function(a: &Aws, name: &str, protect: bool) -> String {
    let role = a
        .iam
        .create_role()
        .role_name(format!("{name}-role"))
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    // An empty zip (its end-of-central-directory record alone).
    let mut zip = b"PK\x05\x06".to_vec();
    zip.extend([0u8; 18]);
    let f = a
        .lambda
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .handler("index.handler")
        .role(role.role().unwrap().arn())
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_smithy_types::Blob::new(zip))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let arn = f.function_arn().unwrap().to_string();
    a.lambda
        .add_permission()
        .function_name(name)
        .statement_id("anyone")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .unwrap();
    // Public too, as AWS Config's lambda-function-public-access-prohibited counts it: a service
    // principal with no source account or ARN (any account's bucket may invoke), and a source
    // ARN with a wildcard (narrows nothing).
    a.lambda
        .add_permission()
        .function_name(name)
        .statement_id("s3-any")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .send()
        .await
        .unwrap();
    a.lambda
        .add_permission()
        .function_name(name)
        .statement_id("any-bucket")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn("arn:aws:s3:::*")
        .send()
        .await
        .unwrap();
    // Not public as AWS Config counts it: API Gateway's usual permission, its source ARN naming
    // one API with a wildcard for stages and routes.
    a.lambda
        .add_permission()
        .function_name(name)
        .statement_id("api-routes")
        .action("lambda:InvokeFunction")
        .principal("apigateway.amazonaws.com")
        .source_arn("arn:aws:execute-api:us-east-1:123456789012:a1b2c3/*/GET/hook")
        .send()
        .await
        .unwrap();
    a.lambda
        .add_permission()
        .function_name(name)
        .statement_id("bucket-events")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_account("123456789012")
        .send()
        .await
        .unwrap();
    if protect {
        protect_resource(a, "Lambda.1", &arn).await;
    }
    arn
}

/// The statement ids of the function's policy.
pub async fn function_statements(a: &Aws, arn: &str) -> Vec<String> {
    let Ok(p) = a.lambda.get_policy().function_name(arn).send().await else {
        return vec![];
    };
    let p: serde_json::Value = serde_json::from_str(p.policy().unwrap()).unwrap();
    p["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["Sid"].as_str().map(String::from))
        .collect()
}

/// A weak account password policy (8 characters, nothing required).
pub async fn weak_password_policy(a: &Aws) {
    a.iam
        .update_account_password_policy()
        .minimum_password_length(8)
        .send()
        .await
        .unwrap();
}

/// Whether the account's password policy meets the CIS benchmark, value by value (not through
/// the code under test): 14 characters, upper, lower, symbol and number required, 24 remembered,
/// expiry within 90 days.
pub async fn password_policy_strong(a: &Aws) -> bool {
    let Ok(out) = a.iam.get_account_password_policy().send().await else {
        return false;
    };
    let Some(p) = out.password_policy() else {
        return false;
    };
    p.minimum_password_length().unwrap_or(0) >= 14
        && p.require_uppercase_characters()
        && p.require_lowercase_characters()
        && p.require_symbols()
        && p.require_numbers()
        && p.password_reuse_prevention().unwrap_or(0) >= 24
        && (1..=90).contains(&p.max_password_age().unwrap_or(0))
}

/// Tag the resource of `control` (`id` as its API names it) `secauto:protect=true`.
pub async fn protect_resource(a: &Aws, control: &str, id: &str) {
    let (k, v) = ("secauto:protect", "true");
    match control {
        "SNS.1" => {
            let tag = aws_sdk_sns::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap();
            a.sns
                .tag_resource()
                .resource_arn(id)
                .tags(tag)
                .send()
                .await
                .unwrap();
        }
        "SSM.4" => {
            let tag = aws_sdk_ssm::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap();
            a.ssm
                .add_tags_to_resource()
                .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Document)
                .resource_id(id)
                .tags(tag)
                .send()
                .await
                .unwrap();
        }
        "KMS.4" => {
            let tag = aws_sdk_kms::types::Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .unwrap();
            a.kms
                .tag_resource()
                .key_id(id)
                .tags(tag)
                .send()
                .await
                .unwrap();
        }
        "SQS.1" => {
            let url = if id.starts_with("arn:") {
                let name = id.rsplit(':').next().unwrap();
                let u = a.sqs.get_queue_url().queue_name(name).send().await.unwrap();
                u.queue_url().unwrap().to_string()
            } else {
                id.to_string()
            };
            a.sqs
                .tag_queue()
                .queue_url(url)
                .tags(k, v)
                .send()
                .await
                .unwrap();
        }
        "Lambda.1" => {
            a.lambda
                .tag_resource()
                .resource(id)
                .tags(k, v)
                .send()
                .await
                .unwrap();
        }
        "CloudTrail.4" => {
            let tag = aws_sdk_cloudtrail::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap();
            in_region(a, region_of(id))
                .cloudtrail
                .add_tags()
                .resource_id(id)
                .tags_list(tag)
                .send()
                .await
                .unwrap();
        }
        "IAM.3" | "IAM.8" | "IAM.22" => tag_user(a, id.rsplit('/').next().unwrap(), k, v).await,
        _ => protect_tag(a, id).await,
    }
}

/// Systems Manager's service settings, which moto does not serve, answered in its place (JSON 1.1,
/// as the SSM API reference documents GetServiceSetting and UpdateServiceSetting); every other SSM
/// call goes on to moto. Knows the one setting SSM.7 reads, `Enable` until updated; any other id
/// is answered `ServiceSettingNotFound`, as SSM answers an unknown setting.
pub struct ServiceSettings(std::sync::Mutex<String>);

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings(std::sync::Mutex::new("Enable".into()))
    }
}

impl ServiceSettings {
    pub fn value(&self) -> String {
        self.0.lock().unwrap().clone()
    }
}

impl secauto_testkit::proxy::Shim for ServiceSettings {
    fn answer_instead(
        &self,
        request: &secauto_testkit::proxy::Message,
    ) -> Option<secauto_testkit::proxy::Message> {
        let target = request.header("x-amz-target")?;
        let op = target.strip_prefix("AmazonSSM.")?;
        if op != "GetServiceSetting" && op != "UpdateServiceSetting" {
            return None;
        }
        let body: serde_json::Value = serde_json::from_slice(&request.body).ok()?;
        let id = body["SettingId"].as_str().unwrap_or_default();
        let answer = |status: &str, body: serde_json::Value| secauto_testkit::proxy::Message {
            start: format!("HTTP/1.1 {status}"),
            headers: vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
            body: body.to_string().into_bytes(),
        };
        if id != secauto_handlers::remediate::PUBLIC_SHARING_SETTING {
            return Some(answer(
                "400 Bad Request",
                serde_json::json!({"__type": "ServiceSettingNotFound", "message": format!("no setting {id}")}),
            ));
        }
        if op == "UpdateServiceSetting" {
            *self.0.lock().unwrap() = body["SettingValue"].as_str().unwrap_or_default().into();
            return Some(answer("200 OK", serde_json::json!({})));
        }
        Some(answer(
            "200 OK",
            serde_json::json!({"ServiceSetting": {"SettingId": id, "SettingValue": self.value(),
                "Status": "Default",
                "ARN": format!("arn:aws:ssm:us-east-1:123456789012:servicesetting{id}")}}),
        ))
    }

    fn respond(
        &self,
        _: &secauto_testkit::proxy::Message,
        _: &mut secauto_testkit::proxy::Message,
    ) {
    }
}

/// An IAM user `name` at `path` (`/` or `/team/dev/`) with `keys` access keys and, when
/// `password`, a console password; tagged `secauto:protect=true` when `protect`. Its ARN (as
/// Security Hub names it) and its keys' ids.
pub async fn iam_user(
    a: &Aws,
    path: &str,
    name: &str,
    keys: usize,
    password: bool,
    protect: bool,
) -> (String, Vec<String>) {
    let user = a
        .iam
        .create_user()
        .path(path)
        .user_name(name)
        .send()
        .await
        .unwrap();
    let arn = user.user().unwrap().arn().to_string();
    let mut ids = Vec::new();
    for _ in 0..keys {
        let k = a
            .iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .unwrap();
        ids.push(k.access_key().unwrap().access_key_id().to_string());
    }
    if password {
        a.iam
            .create_login_profile()
            .user_name(name)
            .password("Correct-Horse-9-Battery")
            .send()
            .await
            .unwrap();
    }
    if protect {
        protect_resource(a, "IAM.3", &arn).await;
    }
    (arn, ids)
}

/// The status of the access key (`Active`, `Inactive`), straight from moto.
pub async fn key_status(a: &Aws, user: &str, key: &str) -> String {
    let out = a
        .iam
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .unwrap();
    out.access_key_metadata()
        .iter()
        .find(|k| k.access_key_id() == Some(key))
        .and_then(|k| k.status())
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

/// Tag IAM user `user` `k`=`v` (not through the code under test).
pub async fn tag_user(a: &Aws, user: &str, k: &str, v: &str) {
    let tag = aws_sdk_iam::types::Tag::builder()
        .key(k)
        .value(v)
        .build()
        .unwrap();
    let sent = a.iam.tag_user().user_name(user).tags(tag).send().await;
    sent.unwrap();
}

/// Whether `day` (a record tag's value) is today (UTC), or the day an hour ago for a test that
/// ran over midnight.
pub fn is_today(day: Option<&str>) -> bool {
    let day_of = |ago: u64| {
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(ago);
        let t = aws_smithy_types::DateTime::from(t);
        t.fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap()[..10]
            .to_string()
    };
    day.is_some_and(|d| d == day_of(0) || d == day_of(3600))
}

/// The value of the user's tag `key`, straight from moto.
pub async fn user_tag(a: &Aws, user: &str, key: &str) -> Option<String> {
    let out = a.iam.list_user_tags().user_name(user).send().await.unwrap();
    out.tags()
        .iter()
        .find(|t| t.key() == key)
        .map(|t| t.value().to_string())
}

/// When the credentials [`AgedCredentials`] ages were made.
pub const LONG_AGO: &str = "2020-01-01T00:00:00Z";

/// IAM as AWS answers about credentials made or used long ago, which moto cannot make (it dates
/// everything now and never records a use): the access keys in `old` were made on [`LONG_AGO`]
/// (ListAccessKeys' `CreateDate`), and so were the login profiles of the users in `old`
/// (GetLoginProfile); the keys in `used` were last used that many days ago (GetAccessKeyLastUsed's
/// `LastUsedDate`), and the users in `used` signed in with their password that many days ago
/// (GetUser's `PasswordLastUsed`). Everything else is moto's own answer, and every change is
/// moto's. And IAM's eventual consistency, which moto does not have: after each UpdateAccessKey,
/// the next [`AgedCredentials::lag`] ListAccessKeys answers still show every key Active; after
/// each UpdateAccountPasswordPolicy, as many GetAccountPasswordPolicy answers show the policy
/// as it was last read before it.
#[derive(Default)]
pub struct AgedCredentials {
    pub old: std::sync::Mutex<std::collections::BTreeSet<String>>,
    pub used: std::sync::Mutex<std::collections::BTreeMap<String, i64>>,
    /// How many reads after a change show the state before it.
    pub lag: std::sync::atomic::AtomicUsize,
    stale: std::sync::atomic::AtomicUsize,
    stale_policy: std::sync::atomic::AtomicUsize,
    policy_before: std::sync::Mutex<Option<Vec<u8>>>,
    /// GetUser answers without the user's tags (a read from before another writer's TagUser).
    pub hide_tags: std::sync::atomic::AtomicBool,
}

impl AgedCredentials {
    /// Keys (by id) and login profiles (by user name) made long ago.
    pub fn age(&self, ids: &[&str]) {
        let mut old = self.old.lock().unwrap();
        old.extend(ids.iter().map(|i| i.to_string()));
    }

    /// A key (by id) or a password (by user name) last used `days` days ago.
    pub fn used(&self, id: &str, days: i64) {
        self.used.lock().unwrap().insert(id.to_string(), days);
    }

    /// Whether this ListAccessKeys answer is one of those still showing the keys as before.
    fn stale_read(&self) -> bool {
        take_one(&self.stale)
    }

    /// The password policy answers: each kept, and given again for the reads right after a change.
    fn password_policy(&self, action: &str, response: &mut secauto_testkit::proxy::Message) {
        let before = &self.policy_before;
        match action {
            "UpdateAccountPasswordPolicy" => {
                let lag = self.lag.load(std::sync::atomic::Ordering::SeqCst);
                self.stale_policy
                    .store(lag, std::sync::atomic::Ordering::SeqCst);
            }
            "GetAccountPasswordPolicy" if take_one(&self.stale_policy) => {
                if let Some(body) = before.lock().unwrap().clone() {
                    response.body = body;
                }
            }
            "GetAccountPasswordPolicy" => *before.lock().unwrap() = Some(response.body.clone()),
            _ => {}
        }
    }
}

/// Take one from `n` if it is not zero: whether there was one.
pub fn take_one(n: &std::sync::atomic::AtomicUsize) -> bool {
    use std::sync::atomic::Ordering::SeqCst;
    n.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok()
}

/// A parameter of a form-encoded (query protocol) request body.
pub fn form_param(body: &[u8], name: &str) -> Option<String> {
    let body = String::from_utf8_lossy(body);
    let value = body
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)?
        .1;
    let bytes = value.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok())
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// `xml` with the text of its first `<tag>` element replaced by `text`.
fn replace_element(xml: &str, tag: &str, text: &str) -> String {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let (Some(at), Some(end)) = (xml.find(&open), xml.find(&close)) else {
        return xml.to_string();
    };
    format!("{}{text}{}", &xml[..at + open.len()], &xml[end..])
}

/// `xml` with `<tag>text</tag>` put first inside its first `<parent>` element.
fn insert_element(xml: &str, parent: &str, tag: &str, text: &str) -> String {
    let open = format!("<{parent}>");
    let Some(at) = xml.find(&open) else {
        return xml.to_string();
    };
    let at = at + open.len();
    format!("{}<{tag}>{text}</{tag}>{}", &xml[..at], &xml[at..])
}

/// The time `days` days ago, as IAM writes it.
fn days_ago(days: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    aws_smithy_types::DateTime::from_secs(now - days * 86_400)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap()
}

impl secauto_testkit::proxy::Shim for AgedCredentials {
    fn respond(
        &self,
        request: &secauto_testkit::proxy::Message,
        response: &mut secauto_testkit::proxy::Message,
    ) {
        let Some(action) = form_param(&request.body, "Action") else {
            return;
        };
        let old = self.old.lock().unwrap().clone();
        let used = self.used.lock().unwrap().clone();
        let user = form_param(&request.body, "UserName").unwrap_or_default();
        let key = form_param(&request.body, "AccessKeyId").unwrap_or_default();
        self.password_policy(&action, response);
        let mut xml = String::from_utf8_lossy(&response.body).into_owned();
        if action == "ListAccessKeys" && self.stale_read() {
            xml = xml.replace("<Status>Inactive</Status>", "<Status>Active</Status>");
        }
        let hide = self.hide_tags.load(std::sync::atomic::Ordering::SeqCst);
        if let (true, "GetUser", Some(at), Some(end)) = (
            hide,
            action.as_str(),
            xml.find("<Tags>"),
            xml.find("</Tags>"),
        ) {
            xml = format!("{}{}", &xml[..at], &xml[end + "</Tags>".len()..]);
        }
        let xml = match action.as_str() {
            "UpdateAccessKey" => {
                let lag = self.lag.load(std::sync::atomic::Ordering::SeqCst);
                self.stale.store(lag, std::sync::atomic::Ordering::SeqCst);
                return;
            }
            "ListAccessKeys" => xml
                .split("</member>")
                .map(|m| {
                    match old
                        .iter()
                        .find(|k| m.contains(&format!("<AccessKeyId>{k}<")))
                    {
                        Some(_) => replace_element(m, "CreateDate", LONG_AGO),
                        None => m.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join("</member>"),
            "GetLoginProfile" if old.contains(&user) => {
                replace_element(&xml, "CreateDate", LONG_AGO)
            }
            "GetAccessKeyLastUsed" if used.contains_key(&key) => insert_element(
                &xml,
                "AccessKeyLastUsed",
                "LastUsedDate",
                &days_ago(used[&key]),
            ),
            "GetUser" if used.contains_key(&user) => {
                insert_element(&xml, "User", "PasswordLastUsed", &days_ago(used[&user]))
            }
            _ => return,
        };
        response.body = xml.into_bytes();
    }
}

/// The region an ARN names.
pub fn region_of(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or_default()
}

/// Clients of the same emulator for `region`.
pub fn in_region(a: &Aws, region: &str) -> Aws {
    let sdk = sdk_at(&a.url, "testing", "testing")
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build();
    aws_from(&sdk, &a.url)
}

/// A trail without log file validation, made in `region` (its home region; multi-region, so
/// every region sees it), logging to a bucket of that region; tagged `secauto:protect=true` when
/// `protect`. Its ARN.
pub async fn unvalidated_trail(a: &Aws, region: &str, name: &str, protect: bool) -> String {
    let home = in_region(a, region);
    let bucket = format!("{name}-trail-logs");
    let mut create = home.s3.create_bucket().bucket(&bucket);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create.send().await.unwrap();
    let trail = home
        .cloudtrail
        .create_trail()
        .name(name)
        .s3_bucket_name(&bucket)
        .is_multi_region_trail(true)
        .send()
        .await
        .unwrap();
    let arn = trail.trail_arn().unwrap().to_string();
    if protect {
        protect_resource(a, "CloudTrail.4", &arn).await;
    }
    arn
}

/// Whether the trail validates its log files, read in its home region straight from moto.
pub async fn trail_validates(a: &Aws, arn: &str) -> bool {
    let home = in_region(a, region_of(arn));
    let t = home.cloudtrail.get_trail().name(arn).send().await.unwrap();
    t.trail()
        .unwrap()
        .log_file_validation_enabled()
        .unwrap_or(false)
}
