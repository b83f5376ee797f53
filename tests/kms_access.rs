//! The stack's alias pointing at a key whose policy grants this caller nothing beyond describing it
//! (another team's key): moto serves KMS but enforces no key policy, so the testkit proxy answers the
//! key's reads with KMS's AccessDeniedException, as AWS does.

#[path = "common/offline.rs"]
mod offline;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use secauto::resources::kms_key::{self, Spec};
use secauto::resources::{Claim, Ctx, Ownership, STACK_TAG};
use secauto_testkit::proxy::{Message, Proxy, Shim};

/// Refuses ListResourceTags, GetKeyPolicy and GetKeyRotationStatus; records every KMS operation.
#[derive(Default)]
struct KeyPolicyRefuses(Mutex<Vec<String>>);

impl Shim for KeyPolicyRefuses {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        let op = request
            .header("x-amz-target")?
            .trim_start_matches("TrentService.")
            .to_string();
        self.0.lock().unwrap().push(op.clone());
        ["ListResourceTags", "GetKeyPolicy", "GetKeyRotationStatus"]
            .contains(&op.as_str())
            .then(|| Message {
                start: "HTTP/1.1 400 Bad Request".into(),
                headers: vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
                body: br#"{"__type":"AccessDeniedException","message":"User is not authorized to perform this operation because no resource-based policy allows it"}"#.to_vec(),
            })
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

fn kms_at(url: &str) -> aws_sdk_kms::Client {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_kms::config::SharedCredentialsProvider::new(
            aws_sdk_kms::config::Credentials::new("testing", "testing", None, None, "tests"),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    aws_sdk_kms::Client::new(&sdk)
}

#[tokio::test]
async fn a_key_whose_tags_we_may_not_read_is_someone_elses_and_nothing_more_is_read() {
    let moto = secauto_testkit::moto();
    let direct = kms_at(&moto.url);
    let theirs = direct.create_key().send().await.unwrap();
    let key_id = theirs.key_metadata().unwrap().key_id().to_string();
    direct
        .create_alias()
        .alias_name("alias/sec")
        .target_key_id(&key_id)
        .send()
        .await
        .unwrap();
    let shim = std::sync::Arc::new(KeyPolicyRefuses::default());
    let proxy = Proxy::start(&moto.url, Some(shim.clone()));
    let mut clients = offline::clients();
    clients.kms = kms_at(&proxy.url);
    let tags = BTreeMap::from([(STACK_TAG.to_string(), "sec".to_string())]);
    let ctx = Ctx::new(clients, "sec", "us-east-1", tags, Duration::ZERO);
    let spec = Spec {
        alias: "alias/sec".into(),
        description: "secauto stack sec".into(),
        policy: serde_json::json!({}),
    };
    let live = kms_key::read(&ctx, &spec)
        .await
        .expect("a refused read of someone else's key is not an error")
        .expect("the alias names a key");
    assert_eq!(live.owner(), None);
    assert!(live.physical_id.ends_with(&key_id), "{}", live.physical_id);
    // Recorded in the state or not, --adopt or not: not the stack's.
    for (recorded, adopt) in [(None, false), (Some(live.physical_id.as_str()), true)] {
        let why = spec
            .conflict(&ctx, &live, Claim { recorded, adopt })
            .expect("someone else's key is a conflict");
        assert!(
            why.contains(&key_id) && why.contains("update-alias"),
            "{why}"
        );
    }
    let ops = shim.0.lock().unwrap().clone();
    assert!(
        !ops.iter()
            .any(|o| o == "GetKeyPolicy" || o == "GetKeyRotationStatus"),
        "only what ownership needs is read: {ops:?}"
    );
}
