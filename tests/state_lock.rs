//! The S3 state lock and state writes on moto, through the testkit proxy, which loses the answer
//! of a write moto committed, answers a 409 ConditionalRequestConflict, records the headers sent,
//! or changes the lock behind the run's back at an exact moment.

#[path = "common/s3.rs"]
mod s3;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use secauto::resources::Kind;
use secauto::state::{Backend, Holder, Record, State, Store};
use secauto_testkit::proxy::{Fault, Message, Options, Proxy, Rule, Shim, Then};

const BUCKET: &str = "lock-state";
const ACCOUNT: &str = "123456789012";

/// A store of the state `key` whose S3 calls go through `proxy`, built as secauto builds it (the
/// SDK's retries from `[aws]`), and a client straight to moto for checks.
async fn store(
    moto: &str,
    proxy: &str,
    key: &str,
    kms_key: Option<&str>,
) -> (Store, aws_sdk_s3::Client) {
    let conn = |url: &str| secauto::aws::Connection {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: None,
        endpoints: [("s3".to_string(), url.to_string())].into(),
        calls: Default::default(),
        role: None,
    };
    let sdk = secauto::aws::load(&conn(proxy)).await.unwrap();
    let through_proxy = secauto::aws::s3_client(&sdk, &conn(proxy), None);
    let direct = secauto::aws::s3_client(&sdk, &conn(moto), None);
    let _ = direct.create_bucket().bucket(BUCKET).send().await;
    let backend = Backend::S3 {
        bucket: BUCKET.into(),
        key: key.into(),
        region: None,
        kms_key: kms_key.map(str::to_string),
    };
    (Store::open(&backend, Some(through_proxy)).unwrap(), direct)
}

async fn body(s3: &aws_sdk_s3::Client, key: &str) -> Option<Vec<u8>> {
    let out = s3.get_object().bucket(BUCKET).key(key).send().await.ok()?;
    Some(out.body.collect().await.ok()?.into_bytes().to_vec())
}

fn proxy_with(moto: &str, rules: Vec<Rule>, shim: Option<Arc<dyn Shim>>) -> Proxy {
    Proxy::start_opts(
        moto,
        Options {
            rules,
            shim,
            ..Options::default()
        },
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_write_whose_answer_was_lost_is_still_this_runs() {
    let moto = secauto_testkit::moto();
    for (i, then) in [Then::CommitThenDrop, Then::CommitThenInternalError]
        .into_iter()
        .enumerate()
    {
        let key = format!("lost-lock-{i}/us-east-1.json");
        let lock_key = format!("{key}.lock");
        let proxy = proxy_with(&moto.url, vec![Rule::new("PUT", ".lock", 1, then)], None);
        let (store, s3) = store(&moto.url, &proxy.url, &key, None).await;
        let lock = store
            .lock("secauto deploy", Duration::ZERO)
            .await
            .unwrap_or_else(|e| panic!("{then:?}: the run failed on its own lock: {e:#}"));
        assert_eq!(proxy.injected().len(), 1, "{:?}", proxy.injected());
        let puts = proxy
            .requests()
            .iter()
            .filter(|r| r.starts_with("PUT"))
            .count();
        assert_eq!(puts, 2, "the SDK retried the write: {:?}", proxy.requests());
        let held = Holder::parse(&body(&s3, &lock_key).await.expect("the lock is there"));
        assert_eq!(held.id, lock.id());
        lock.release().await;
        assert!(body(&s3, &lock_key).await.is_none(), "{then:?}: released");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn state_saves_whose_answers_were_lost_are_not_a_conflict() {
    let moto = secauto_testkit::moto();
    let key = "lost-state/us-east-1.json";
    // The first save (If-None-Match) and the second (If-Match) both take effect unanswered; the
    // SDK's retries meet this run's own writes (412).
    let proxy = proxy_with(
        &moto.url,
        vec![
            Rule::new("PUT", key, 1, Then::CommitThenDrop),
            Rule::new("PUT", key, 3, Then::CommitThenInternalError),
        ],
        None,
    );
    let (store, s3) = store(&moto.url, &proxy.url, key, None).await;
    let mut state = store.load("s", "us-east-1", ACCOUNT).await.unwrap();
    // Each save differs, so a wrongly adopted ETag cannot pass for the right one.
    for n in 0..3 {
        state.resources.insert(
            format!("iam_role.r{n}"),
            Record {
                kind: Kind::IamRole,
                physical_id: format!("r{n}"),
                arn: None,
                spec_hash: format!("{n}"),
                depends_on: vec![],
            },
        );
        store
            .save(&state)
            .await
            .unwrap_or_else(|e| panic!("save {n}: {e:#}"));
    }
    assert_eq!(proxy.injected().len(), 2, "{:?}", proxy.injected());
    let saved = body(&s3, key).await.expect("the state is there");
    assert_eq!(
        State::parse(
            &String::from_utf8_lossy(&saved),
            key,
            "s",
            "us-east-1",
            ACCOUNT
        )
        .unwrap(),
        state
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_409_conditional_request_conflict_is_retried() {
    let moto = secauto_testkit::moto();
    let key = "conflict/us-east-1.json";
    let proxy = proxy_with(
        &moto.url,
        vec![
            // `?`: the state's PutObject, not its lock's (`….json.lock?x-id=PutObject`).
            Rule::new("PUT", &format!("{key}?"), 1, Then::Fail(Fault::Conflict)),
            Rule::new("PUT", ".lock", 1, Then::Fail(Fault::Conflict)),
        ],
        None,
    );
    let (store, _) = store(&moto.url, &proxy.url, key, None).await;
    let lock = store.lock("secauto deploy", Duration::ZERO).await.unwrap();
    let state = store.load("s", "us-east-1", ACCOUNT).await.unwrap();
    store.save(&state).await.unwrap();
    store.save(&state).await.unwrap();
    lock.release().await;
    let injected = proxy.injected();
    assert_eq!(injected.len(), 2, "{injected:?}");
    assert!(
        injected.iter().all(|i| i.starts_with("Conflict s3 PUT")),
        "{injected:?}"
    );
}

/// The `x-amz-server-side-encryption*` headers of each PutObject the proxy forwarded.
fn sse_headers(proxy: &Proxy) -> Vec<(String, Option<String>, Option<String>)> {
    proxy
        .messages()
        .iter()
        .filter(|m| m.method_path().0 == "PUT" && !m.method_path().1.ends_with(BUCKET))
        .map(|m| {
            (
                m.method_path().1,
                m.header("x-amz-server-side-encryption").map(str::to_string),
                m.header("x-amz-server-side-encryption-aws-kms-key-id")
                    .map(str::to_string),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_send_no_encryption_header_unless_a_kms_key_is_set() {
    let moto = secauto_testkit::moto();
    for kms in [None, Some("alias/secauto-state")] {
        let key = format!("sse-{}/us-east-1.json", kms.is_some());
        let proxy = proxy_with(&moto.url, vec![], None);
        let (store, _) = store(&moto.url, &proxy.url, &key, kms).await;
        let lock = store.lock("secauto deploy", Duration::ZERO).await.unwrap();
        let state = store.load("s", "us-east-1", ACCOUNT).await.unwrap();
        store.save(&state).await.unwrap();
        lock.release().await;
        let puts = sse_headers(&proxy);
        assert_eq!(puts.len(), 2, "the lock and the state: {puts:?}");
        for (path, sse, key_id) in puts {
            match kms {
                None => assert!(
                    sse.is_none() && key_id.is_none(),
                    "{path}: {sse:?} {key_id:?}"
                ),
                Some(k) => {
                    assert_eq!(sse.as_deref(), Some("aws:kms"), "{path}");
                    assert_eq!(key_id.as_deref(), Some(k), "{path}");
                }
            }
        }
    }
}

/// Puts `body` at `key` in moto just before the first DELETE of `key` is forwarded: another run
/// acting between this run's read of the lock and its delete.
struct ReplaceBeforeDelete {
    moto: String,
    key: String,
    body: Vec<u8>,
    armed: AtomicBool,
}

impl Shim for ReplaceBeforeDelete {
    fn before(&self, request: &Message) {
        let (method, path) = request.method_path();
        let path = path.split('?').next().unwrap_or_default().to_string();
        if method == "DELETE"
            && path.ends_with(&self.key)
            && self.armed.swap(false, Ordering::SeqCst)
        {
            // The proxy's thread has no runtime: a client and a runtime of its own.
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(
                s3::client(&self.moto)
                    .put_object()
                    .bucket(BUCKET)
                    .key(&self.key)
                    .body(self.body.clone().into())
                    .send(),
            )
            .expect("another run's lock put in place");
        }
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

/// A store of `key` whose lock another run (a live holder) puts in place just before this run's
/// DELETE of it, once `armed`.
struct Race {
    store: Store,
    s3: aws_sdk_s3::Client,
    shim: Arc<ReplaceBeforeDelete>,
    lock_key: String,
    /// The other run's lock.
    other: Vec<u8>,
    _proxy: Proxy,
    _moto: secauto_testkit::Emulator,
}

impl Race {
    async fn start(key: &str, armed: bool) -> Race {
        let moto = secauto_testkit::moto();
        let lock_key = format!("{key}.lock");
        let other = serde_json::to_vec(&live_holder("0ther0000000live")).unwrap();
        let shim = Arc::new(ReplaceBeforeDelete {
            moto: moto.url.clone(),
            key: lock_key.clone(),
            body: other.clone(),
            armed: AtomicBool::new(armed),
        });
        let proxy = proxy_with(&moto.url, vec![], Some(shim.clone()));
        let (store, s3) = store(&moto.url, &proxy.url, key, None).await;
        Race {
            store,
            s3,
            shim,
            lock_key,
            other,
            _proxy: proxy,
            _moto: moto,
        }
    }
}

fn live_holder(id: &str) -> Holder {
    Holder {
        id: id.into(),
        command: "secauto destroy".into(),
        ..Holder::me("x")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_takeover_never_deletes_the_lock_another_run_took_meanwhile() {
    let race = Race::start("takeover/us-east-1.json", true).await;
    let (store, s3, lock_key, other) = (race.store, race.s3, race.lock_key, race.other);
    // A lock whose holder ran here (same host, boot and PID namespace) and has ended.
    let dead = Holder {
        id: "dead00000000dead".into(),
        pid: 999_999_999,
        ..Holder::me("secauto deploy")
    };
    s3.put_object()
        .bucket(BUCKET)
        .key(&lock_key)
        .body(serde_json::to_vec(&dead).unwrap().into())
        .send()
        .await
        .unwrap();
    let err = match store.lock("secauto deploy", Duration::ZERO).await {
        Ok(l) => panic!("took the lock another run holds (id {})", l.id()),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("0ther0000000live"), "{err}");
    assert_eq!(body(&s3, &lock_key).await.as_deref(), Some(&other[..]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_never_deletes_another_runs_lock() {
    let race = Race::start("release/us-east-1.json", false).await;
    let (store, s3, lock_key, other, shim) =
        (race.store, race.s3, race.lock_key, race.other, race.shim);
    let lock = store.lock("secauto deploy", Duration::ZERO).await.unwrap();
    // The lock is broken (`unlock`) and another run takes it just before this run releases it.
    shim.armed.store(true, Ordering::SeqCst);
    lock.release().await;
    assert!(
        !shim.armed.load(Ordering::SeqCst),
        "the release sent a DELETE"
    );
    assert_eq!(
        body(&s3, &lock_key).await.as_deref(),
        Some(&other[..]),
        "the release deleted another run's lock"
    );
}

/// S3 without `s3:ListBucket`: a missing object is answered 403 AccessDenied, not 404.
struct NoListBucket;

impl Shim for NoListBucket {
    fn answer_instead(&self, request: &Message) -> Option<Message> {
        let (method, _) = request.method_path();
        (method == "GET" || method == "HEAD").then(|| Message {
            start: "HTTP/1.1 403 Forbidden".into(),
            headers: vec![("Content-Type".into(), "application/xml".into())],
            body: br#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>1</RequestId></Error>"#
                .to_vec(),
        })
    }

    fn respond(&self, _: &Message, _: &mut Message) {}
}

#[tokio::test(flavor = "multi_thread")]
async fn a_403_on_a_missing_state_names_the_list_bucket_permission() {
    let moto = secauto_testkit::moto();
    let proxy = proxy_with(&moto.url, vec![], Some(Arc::new(NoListBucket)));
    let (store, _) = store(&moto.url, &proxy.url, "denied/us-east-1.json", None).await;
    let err = store
        .load("sec", "us-east-1", ACCOUNT)
        .await
        .expect_err("a 403 is not a missing state");
    let text = format!("{err:#}");
    assert!(text.contains("s3:ListBucket"), "{text}");
    assert!(text.contains("s3:GetObject"), "{text}");
}
