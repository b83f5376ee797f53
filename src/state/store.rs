//! Where the state lives: a local file (the default) or an S3 object shared by every CI runner.
//!
//! The S3 backend never loses an update: the lock object is created with `If-None-Match: *` (only
//! one run can create it) and names its holder; the state is written with `If-Match` on the ETag
//! this run read (or `If-None-Match: *` when there was none), so a write over someone else's write
//! fails instead of silently replacing it. Writes are safe to retry and deletes of a lock are
//! conditional on its ETag (see `s3.rs`). No encryption header is sent unless `[state] kms_key`
//! asks for SSE-KMS: the bucket's default encryption applies.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::Mutex;

use super::holder::{Holder, LockError};
use super::local;
use super::s3::{self, Condition, NotTaken, Object, Put};
use super::State;

/// Where the state is kept, as configured (`[state]` or `--state`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Local(PathBuf),
    S3 {
        bucket: String,
        key: String,
        /// The bucket's region when it differs from the stack's.
        region: Option<String>,
        /// SSE-KMS with this key (id, ARN or alias); `None`: the bucket's default encryption.
        kms_key: Option<String>,
    },
}

impl Backend {
    /// `s3://bucket/key` for S3, else a file path.
    pub fn parse(spec: &str) -> Result<Backend> {
        match spec.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() || key.is_empty() || key.ends_with('/') {
                    anyhow::bail!(
                        "state location {spec:?} is not s3://<bucket>/<key> (for example s3://my-bucket/secauto/prod/us-east-1.json)"
                    );
                }
                Ok(Backend::S3 {
                    bucket: bucket.into(),
                    key: key.into(),
                    region: None,
                    kms_key: None,
                })
            }
            None => Ok(Backend::Local(PathBuf::from(spec))),
        }
    }

    /// Where it is, for messages: a path or `s3://bucket/key`.
    pub fn describe(&self) -> String {
        match self {
            Backend::Local(p) => p.display().to_string(),
            Backend::S3 { bucket, key, .. } => format!("s3://{bucket}/{key}"),
        }
    }
}

/// An open state location: load, save, lock.
pub struct Store {
    kind: Kind,
    /// The ETag of the S3 object as this run last read or wrote it; `None`: there was none.
    etag: Mutex<Option<String>>,
}

enum Kind {
    Local(PathBuf),
    S3(Bucket),
}

/// The S3 side of a store or lock.
#[derive(Clone)]
struct Bucket {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    kms_key: Option<String>,
}

impl Bucket {
    fn object<'a>(&'a self, key: &'a str) -> Object<'a> {
        Object {
            client: &self.client,
            bucket: &self.bucket,
            key,
            kms_key: self.kms_key.as_deref(),
        }
    }

    fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }
}

/// A held lock; `release` gives it back. A local lock is also released when dropped.
pub enum StateLock {
    Local(local::Lock),
    S3(S3Lock),
}

/// A lock object this run wrote.
pub struct S3Lock {
    at: Bucket,
    id: String,
    /// Its ETag, for a release that deletes only this lock.
    etag: Option<String>,
}

impl StateLock {
    /// The lock id `secauto unlock` takes.
    pub fn id(&self) -> &str {
        match self {
            StateLock::Local(l) => l.id(),
            StateLock::S3(l) => &l.id,
        }
    }

    /// Give the lock back, only if it is still this run's.
    pub async fn release(self) {
        match self {
            StateLock::Local(l) => drop(l),
            StateLock::S3(l) => {
                let key = l.at.lock_key();
                s3::release(&l.at.object(&key), &l.id, l.etag.as_deref()).await
            }
        }
    }
}

impl Store {
    /// Open the configured location. `client` is the S3 client (only used for the S3 backend).
    pub fn open(backend: &Backend, client: Option<aws_sdk_s3::Client>) -> Result<Store> {
        let kind = match backend {
            Backend::Local(p) => Kind::Local(p.clone()),
            Backend::S3 {
                bucket,
                key,
                kms_key,
                ..
            } => Kind::S3(Bucket {
                client: client.context("the S3 state backend needs an S3 client")?,
                bucket: bucket.clone(),
                key: key.clone(),
                kms_key: kms_key.clone(),
            }),
        };
        Ok(Store {
            kind,
            etag: Mutex::new(None),
        })
    }

    /// Where the state is, for messages.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Local(p) => p.display().to_string(),
            Kind::S3(b) => format!("s3://{}/{}", b.bucket, b.key),
        }
    }

    /// The local path, when the state is a local file.
    pub fn local_path(&self) -> Option<&std::path::Path> {
        match &self.kind {
            Kind::Local(p) => Some(p),
            Kind::S3(_) => None,
        }
    }

    /// Read the state; nothing there is an empty state.
    pub async fn load(&self, stack: &str, region: &str, account: &str) -> Result<State> {
        let b = match &self.kind {
            Kind::Local(p) => return State::load(p, stack, region, account),
            Kind::S3(b) => b,
        };
        let origin = self.describe();
        let got = b
            .object(&b.key)
            .get()
            .await
            .with_context(|| format!("cannot read the state {origin}"))?;
        let mut etag = self.etag.lock().await;
        match got {
            Some((body, tag)) => {
                *etag = tag;
                State::parse(
                    &String::from_utf8_lossy(&body),
                    &origin,
                    stack,
                    region,
                    account,
                )
            }
            None => {
                *etag = None;
                Ok(State::new(stack, region, account))
            }
        }
    }

    /// Write the state: atomically on disk; conditionally on S3 (never over another run's write).
    pub async fn save(&self, state: &State) -> Result<()> {
        let b = match &self.kind {
            Kind::Local(p) => return state.save(p),
            Kind::S3(b) => b,
        };
        let mut etag = self.etag.lock().await;
        let mut body = serde_json::to_vec_pretty(state)?;
        body.push(b'\n');
        let condition = match etag.as_deref() {
            Some(tag) => Condition::Matches(tag),
            None => Condition::Absent,
        };
        let put = b
            .object(&b.key)
            .put(body, condition)
            .await
            .with_context(|| format!("cannot write the state {}", self.describe()))?;
        match put {
            Put::Written(tag) => {
                *etag = tag;
                Ok(())
            }
            Put::Refused => anyhow::bail!(
                "the state {} was changed by another run since this one read it (ETag {}): nothing was overwritten. Runs must hold the lock; re-run to plan against the new state",
                self.describe(),
                etag.as_deref().unwrap_or("none: it did not exist")
            ),
        }
    }

    /// Take the lock for `command`, waiting up to `timeout` while another run holds it.
    pub async fn lock(&self, command: &str, timeout: Duration) -> Result<StateLock> {
        let start = Instant::now();
        let mut said = false;
        loop {
            // A signal while waiting stops the wait; a lock taken meanwhile is given back.
            if crate::interrupt::requested() {
                anyhow::bail!(crate::interrupt::Interrupted);
            }
            match self.try_lock(command).await {
                Ok(l) if crate::interrupt::requested() => {
                    l.release().await;
                    anyhow::bail!(crate::interrupt::Interrupted);
                }
                Ok(l) => return Ok(l),
                Err(NotTaken::Held(e)) if start.elapsed() < timeout => {
                    if !said {
                        eprintln!("waiting up to {}s for the lock: {e}", timeout.as_secs());
                        said = true;
                    }
                    let left = timeout.saturating_sub(start.elapsed());
                    let pause = Duration::from_millis(500 + fastrand::u64(0..1000));
                    tokio::select! {
                        _ = tokio::time::sleep(pause.min(left)) => {}
                        _ = crate::interrupt::signalled() => {}
                    }
                }
                Err(NotTaken::Held(e)) => return Err(e.into()),
                Err(NotTaken::Other(e)) => return Err(e),
            }
        }
    }

    async fn try_lock(&self, command: &str) -> Result<StateLock, NotTaken> {
        match &self.kind {
            Kind::Local(p) => local::Lock::acquire(p, command)
                .map(StateLock::Local)
                .map_err(|e| match e {
                    LockError::Held { .. } => NotTaken::Held(e),
                    other => NotTaken::Other(other.into()),
                }),
            Kind::S3(b) => {
                let me = Holder::me(command);
                let key = b.lock_key();
                let etag = s3::take(&b.object(&key), &me).await.map_err(|e| match e {
                    NotTaken::Other(e) => NotTaken::Other(
                        e.context(format!("cannot take the lock s3://{}/{key}", b.bucket)),
                    ),
                    held => held,
                })?;
                Ok(StateLock::S3(S3Lock {
                    at: b.clone(),
                    id: me.id,
                    etag,
                }))
            }
        }
    }

    /// Break the lock `id` (`secauto unlock`): only that lock, so a run that took the lock since
    /// is never broken by mistake.
    pub async fn unlock(&self, id: &str) -> Result<Holder> {
        match &self.kind {
            Kind::Local(p) => Ok(local::Lock::force_release(p, id)?),
            Kind::S3(b) => s3::unlock(&b.object(&b.lock_key()), id).await,
        }
    }
}
