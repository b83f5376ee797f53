//! The contract's record and its step reports, on moto: every remediation writes what undo needs
//! on the resource before its first change, merges with an earlier run's record and never drops it;
//! a step whose call fails is reported as failed, never as done; every S3 call names the account
//! the bucket must belong to.

use std::sync::{Arc, Mutex};

use aws_sdk_s3::types::{PublicAccessBlockConfiguration, Tag, Tagging};
use secauto_handlers::remediate::Executor;
use secauto_testkit::proxy::{Message, Proxy, Shim};

mod common;
use common::*;

const REVOKED: &str = "secauto:revoked:";

/// The rules recorded on the group (its `secauto:revoked:` tags' keys), sorted.
async fn recorded(a: &Aws, sg: &str) -> Vec<String> {
    let g = a
        .ec2
        .describe_security_groups()
        .group_ids(sg)
        .send()
        .await
        .unwrap();
    let mut rules: Vec<String> = g.security_groups()[0]
        .tags()
        .iter()
        .filter_map(|t| t.key()?.strip_prefix(REVOKED).map(String::from))
        .collect();
    rules.sort();
    rules
}

#[tokio::test]
async fn a_group_records_the_rules_it_loses_and_a_later_run_adds_to_the_record() {
    let a = aws();
    let f = fixture(&a, false).await;
    let dry = exec(&a, true).block_network(&f.sg).await.unwrap();
    assert!(
        dry.steps.iter().any(|s| s.starts_with("would record")),
        "{dry:?}"
    );
    assert!(
        recorded(&a, &f.sg).await.is_empty(),
        "a dry run writes nothing"
    );

    exec(&a, false).block_network(&f.sg).await.unwrap();
    let first = recorded(&a, &f.sg).await;
    assert_eq!(
        first,
        [
            "tcp:22-22=0.0.0.0/0",
            "tcp:2222-2222=::/0",
            "tcp:3389-3389=0.0.0.0/0",
            "tcp:443-443=0.0.0.0/0"
        ]
    );

    a.ec2
        .authorize_security_group_ingress()
        .group_id(&f.sg)
        .ip_permissions(world("udp", 53, 53))
        .send()
        .await
        .unwrap();
    exec(&a, false).block_network(&f.sg).await.unwrap();
    let second = recorded(&a, &f.sg).await;
    assert!(first.iter().all(|r| second.contains(r)), "kept: {second:?}");
    assert!(
        second.contains(&"udp:53-53=0.0.0.0/0".to_string()),
        "{second:?}"
    );
}

/// Two runs on one group at once (EC2.13 and EC2.19 fire together): neither drops the other's
/// record, because each rule has a tag of its own.
#[tokio::test]
async fn concurrent_runs_on_one_group_keep_both_records() {
    let a = aws();
    let f = fixture(&a, false).await;
    // An earlier run's record (of a rule long gone): every later record is added beside it.
    a.ec2
        .create_tags()
        .resources(&f.sg)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("secauto:revoked:tcp:9999-9999=0.0.0.0/0")
                .value("earlier")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (fix, block) = tokio::join!(
        async { exec(&a, false).fix_security_group(&f.sg).await },
        async { exec(&a, false).block_network(&f.sg).await },
    );
    fix.expect("fix-security-group");
    block.expect("block-network: a rule the other revoked first is done, not an error");
    let rules = recorded(&a, &f.sg).await;
    assert!(
        rules.contains(&"tcp:443-443=0.0.0.0/0".to_string())
            && rules.contains(&"tcp:22-22=0.0.0.0/0".to_string())
            && rules.contains(&"tcp:3389-3389=0.0.0.0/0".to_string())
            && rules.contains(&"tcp:9999-9999=0.0.0.0/0".to_string()),
        "one tag per rule, the earlier record kept: {rules:?}"
    );
    assert!(ingress(&a, &f.sg)
        .await
        .iter()
        .all(|r| !r.contains("0.0.0.0/0")));
}

/// Refuses RevokeSecurityGroupIngress as EC2 does when the caller may not.
struct RefuseRevoke;

impl Shim for RefuseRevoke {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        let body = String::from_utf8_lossy(&request.body);
        if !body.contains("Action=RevokeSecurityGroupIngress") {
            return None;
        }
        let mut m = Message {
            start: "HTTP/1.1 403 Forbidden".into(),
            ..Message::default()
        };
        m.set_header("Content-Type", "text/xml");
        m.body = b"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>1</RequestID></Response>".to_vec();
        Some(m)
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

#[tokio::test]
async fn a_step_whose_call_fails_is_reported_as_failed_not_done() {
    let a = aws();
    let f = fixture(&a, false).await;
    let proxy = Proxy::start(&a.url, Some(Arc::new(RefuseRevoke)));
    let ec2 = aws_sdk_ec2::Client::from_conf(
        a.ec2.config().to_builder().endpoint_url(&proxy.url).build(),
    );
    let failed = Executor {
        ec2: &ec2,
        ..exec(&a, false)
    }
    .block_network(&f.sg)
    .await
    .expect_err("the revoke was refused");
    let steps = &failed.outcome.steps;
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("failed to revoke tcp 22")),
        "{steps:?}"
    );
    assert!(
        !steps.iter().any(|s| s.starts_with("revoke ")),
        "no revoke claimed as done: {steps:?}"
    );
    assert!(format!("{:#}", failed.error).contains("UnauthorizedOperation"));
}

async fn bucket_tags(a: &Aws, bucket: &str) -> Vec<(String, String)> {
    a.s3.get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .map(|t| {
            t.tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn tag_of<'t>(tags: &'t [(String, String)], key: &str) -> Option<&'t str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_bucket_records_what_it_had_and_a_retry_never_overwrites_it() {
    let a = aws();
    a.s3.create_bucket()
        .bucket("half-open")
        .send()
        .await
        .unwrap();
    let team = Tag::builder().key("team").value("data").build().unwrap();
    a.s3.put_bucket_tagging()
        .bucket("half-open")
        .tagging(Tagging::builder().tag_set(team).build().unwrap())
        .send()
        .await
        .unwrap();
    a.s3.put_public_access_block()
        .bucket("half-open")
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .build(),
        )
        .send()
        .await
        .unwrap();

    exec(&a, false)
        .enable_bucket_encryption("half-open")
        .await
        .unwrap();
    let tags = bucket_tags(&a, "half-open").await;
    assert_eq!(tag_of(&tags, "team"), Some("data"), "its own tags kept");
    assert_eq!(tag_of(&tags, "secauto:previous-encryption"), Some("none"));
    let block = "BlockPublicAcls=true IgnorePublicAcls=false BlockPublicPolicy=false RestrictPublicBuckets=false";
    assert_eq!(
        tag_of(&tags, "secauto:previous-public-access-block"),
        Some(block)
    );

    // Someone deletes the block again; the next run must keep the first record, not the new state.
    a.s3.delete_public_access_block()
        .bucket("half-open")
        .send()
        .await
        .unwrap();
    let again = exec(&a, false)
        .enable_bucket_encryption("half-open")
        .await
        .unwrap();
    assert!(again.compliant, "{again:?}");
    let tags = bucket_tags(&a, "half-open").await;
    assert_eq!(
        tag_of(&tags, "secauto:previous-public-access-block"),
        Some(block)
    );
}

/// Answers GetBucketTagging with a CloudFormation system tag (which moto, like S3, refuses to
/// let a caller write) and keeps every S3 request's headers.
#[derive(Default)]
struct SystemTagged(Mutex<Vec<Message>>);

impl Shim for SystemTagged {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        self.0.lock().unwrap().push(request.clone());
        let (method, path) = request.method_path();
        if method != "GET" || !path.contains("?tagging") {
            return None;
        }
        let mut m = Message {
            start: "HTTP/1.1 200 OK".into(),
            ..Message::default()
        };
        m.set_header("Content-Type", "application/xml");
        m.body = br#"<?xml version="1.0" encoding="UTF-8"?><Tagging><TagSet><Tag><Key>aws:cloudformation:stack-name</Key><Value>data</Value></Tag></TagSet></Tagging>"#.to_vec();
        Some(m)
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// Keeps every S3 request, answering none.
#[derive(Default)]
struct Kept(Mutex<Vec<Message>>);

impl Shim for Kept {
    fn respond(&self, request: &Message, _: &mut Message) {
        self.0.lock().unwrap().push(request.clone());
    }
}

#[tokio::test]
async fn mocked_a_bucket_with_system_tags_keeps_its_record_in_the_note() {
    let a = aws();
    a.s3.create_bucket()
        .bucket("stack-bucket")
        .send()
        .await
        .unwrap();
    let shim = Arc::new(SystemTagged::default());
    let proxy = Proxy::start(&a.url, Some(shim.clone()));
    let s3 =
        aws_sdk_s3::Client::from_conf(a.s3.config().to_builder().endpoint_url(&proxy.url).build());
    let out = Executor {
        s3: &s3,
        ..exec(&a, false)
    }
    .enable_bucket_encryption("stack-bucket")
    .await
    .unwrap();
    assert!(out.compliant, "{out:?}");
    let note = out.said().join("\n");
    assert!(
        note.contains("undo record of stack-bucket is this note only")
            && note.contains("secauto:previous-encryption=none"),
        "{note}"
    );
    let seen = shim.0.lock().unwrap();
    assert!(
        !seen
            .iter()
            .any(|m| m.method_path().0 == "PUT" && m.method_path().1.contains("?tagging")),
        "no PutBucketTagging: S3 would refuse to rewrite the system tag"
    );
}

#[tokio::test]
async fn every_s3_call_names_the_account_the_bucket_must_belong_to() {
    let a = aws();
    a.s3.create_bucket().bucket("owned").send().await.unwrap();
    let shim = Arc::new(Kept::default());
    let proxy = Proxy::start(&a.url, Some(shim.clone()));
    let s3 =
        aws_sdk_s3::Client::from_conf(a.s3.config().to_builder().endpoint_url(&proxy.url).build());
    let out = Executor {
        s3: &s3,
        ..exec(&a, false)
    }
    .enable_bucket_encryption("owned")
    .await
    .unwrap();
    assert!(out.compliant, "{out:?}");
    let seen = shim.0.lock().unwrap();
    let sent: Vec<(String, String)> = seen.iter().map(Message::method_path).collect();
    // The record (PutBucketTagging) and both changes went through this proxy, with the reads.
    for (method, query) in [
        ("GET", "?tagging"),
        ("PUT", "?tagging"),
        ("PUT", "?encryption"),
        ("PUT", "?publicAccessBlock"),
    ] {
        assert!(
            sent.iter().any(|(m, p)| m == method && p.contains(query)),
            "no {method} {query} in {sent:?}"
        );
    }
    for m in seen.iter() {
        assert_eq!(
            m.header("x-amz-expected-bucket-owner"),
            Some("123456789012"),
            "{:?}",
            m.method_path()
        );
    }
}
