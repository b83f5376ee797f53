//! Where the state lives: a local file (the default) or an S3 object shared by every CI runner.
//!
//! The S3 backend never loses an update: the lock object is created with `If-None-Match: *` (only
//! one run can create it) and names its holder; the state is written with `If-Match` on the ETag
//! this run read (or `If-None-Match: *` when there was none), so a write over someone else's write
//! fails instead of silently replacing it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::error::display::DisplayErrorContext;
use tokio::sync::Mutex;

use super::lock::{self, Holder, LockError};
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
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        key: String,
    },
}

/// A held lock; `release` gives it back. A local lock is also released when dropped.
pub enum StateLock {
    Local(lock::Lock),
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        key: String,
        id: String,
    },
}

impl StateLock {
    /// The lock id `secauto unlock` takes.
    pub fn id(&self) -> &str {
        match self {
            StateLock::Local(l) => l.id(),
            StateLock::S3 { id, .. } => id,
        }
    }

    /// Give the lock back (an S3 lock only if it is still ours).
    pub async fn release(self) {
        match self {
            StateLock::Local(l) => drop(l),
            StateLock::S3 {
                client,
                bucket,
                key,
                id,
            } => {
                if let Ok(Some((holder, _))) = read_s3_lock(&client, &bucket, &key).await {
                    if holder.id != id {
                        return;
                    }
                }
                if let Err(e) = client
                    .delete_object()
                    .bucket(&bucket)
                    .key(&key)
                    .send()
                    .await
                {
                    eprintln!(
                        "warning: could not release the lock s3://{bucket}/{key}: {}; `secauto unlock {id}` releases it",
                        DisplayErrorContext(e)
                    );
                }
            }
        }
    }
}

/// The answers of a conditional write that lost: 412 (the condition failed) or 409 (another
/// conditional write to the same key was in flight).
fn lost_condition<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    matches!(
        crate::error::code(err),
        Some("PreconditionFailed" | "ConditionalRequestConflict")
    ) || matches!(
        err.raw_response().map(|r| r.status().as_u16()),
        Some(412 | 409)
    )
}

async fn read_s3_lock(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<(Holder, Option<String>)>> {
    match client.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let etag = out.e_tag.clone();
            let body = out.body.collect().await?.into_bytes();
            Ok(Some((Holder::parse(&body), etag)))
        }
        Err(e) if crate::error::is_not_found(&e) || crate::error::code(&e) == Some("NoSuchKey") => {
            Ok(None)
        }
        Err(e) => Err(crate::error::aws("s3:GetObject", e)),
    }
}

impl Store {
    /// Open the configured location. `client` is the S3 client (only used for the S3 backend).
    pub fn open(backend: &Backend, client: Option<aws_sdk_s3::Client>) -> Result<Store> {
        let kind = match backend {
            Backend::Local(p) => Kind::Local(p.clone()),
            Backend::S3 { bucket, key, .. } => Kind::S3 {
                client: client.context("the S3 state backend needs an S3 client")?,
                bucket: bucket.clone(),
                key: key.clone(),
            },
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
            Kind::S3 { bucket, key, .. } => format!("s3://{bucket}/{key}"),
        }
    }

    /// The local path, when the state is a local file.
    pub fn local_path(&self) -> Option<&std::path::Path> {
        match &self.kind {
            Kind::Local(p) => Some(p),
            Kind::S3 { .. } => None,
        }
    }

    /// Read the state; nothing there is an empty state.
    pub async fn load(&self, stack: &str, region: &str, account: &str) -> Result<State> {
        match &self.kind {
            Kind::Local(p) => State::load(p, stack, region, account),
            Kind::S3 {
                client,
                bucket,
                key,
            } => {
                let origin = self.describe();
                match client.get_object().bucket(bucket).key(key).send().await {
                    Ok(out) => {
                        *self.etag.lock().await = out.e_tag.clone();
                        let body = out
                            .body
                            .collect()
                            .await
                            .with_context(|| format!("cannot read the state {origin}"))?
                            .into_bytes();
                        State::parse(
                            &String::from_utf8_lossy(&body),
                            &origin,
                            stack,
                            region,
                            account,
                        )
                    }
                    Err(e)
                        if crate::error::code(&e) == Some("NoSuchKey")
                            || crate::error::is_not_found(&e) =>
                    {
                        *self.etag.lock().await = None;
                        Ok(State::new(stack, region, account))
                    }
                    Err(e) => Err(crate::error::aws("s3:GetObject", e))
                        .with_context(|| format!("cannot read the state {origin}")),
                }
            }
        }
    }

    /// Write the state: atomically on disk; conditionally on S3 (never over another run's write).
    pub async fn save(&self, state: &State) -> Result<()> {
        match &self.kind {
            Kind::Local(p) => state.save(p),
            Kind::S3 {
                client,
                bucket,
                key,
            } => {
                let mut etag = self.etag.lock().await;
                let mut body = serde_json::to_vec_pretty(state)?;
                body.push(b'\n');
                let mut put = client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .content_type("application/json")
                    .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
                    .body(ByteStream::from(body));
                put = match etag.as_deref() {
                    Some(tag) => put.if_match(tag),
                    None => put.if_none_match("*"),
                };
                match put.send().await {
                    Ok(out) => {
                        *etag = out.e_tag;
                        Ok(())
                    }
                    Err(e) if lost_condition(&e) => anyhow::bail!(
                        "the state {} was changed by another run since this one read it (ETag {}): nothing was overwritten. Runs must hold the lock; re-run to plan against the new state",
                        self.describe(),
                        etag.as_deref().unwrap_or("none: it did not exist")
                    ),
                    Err(e) => Err(crate::error::aws("s3:PutObject", e))
                        .with_context(|| format!("cannot write the state {}", self.describe())),
                }
            }
        }
    }

    fn lock_key(key: &str) -> String {
        format!("{key}.lock")
    }

    /// Take the lock for `command`, waiting up to `timeout` while another run holds it.
    pub async fn lock(&self, command: &str, timeout: Duration) -> Result<StateLock> {
        let start = Instant::now();
        let mut said = false;
        loop {
            match self.try_lock(command).await {
                Ok(l) => return Ok(l),
                Err(LockErrorOr::Held(e)) if start.elapsed() < timeout => {
                    if !said {
                        eprintln!("waiting up to {}s for the lock: {e}", timeout.as_secs());
                        said = true;
                    }
                    let left = timeout.saturating_sub(start.elapsed());
                    let pause = Duration::from_millis(500 + fastrand::u64(0..1000));
                    tokio::time::sleep(pause.min(left)).await;
                }
                Err(LockErrorOr::Held(e)) => return Err(e.into()),
                Err(LockErrorOr::Other(e)) => return Err(e),
            }
        }
    }

    async fn try_lock(&self, command: &str) -> Result<StateLock, LockErrorOr> {
        match &self.kind {
            Kind::Local(p) => lock::Lock::acquire(p, command)
                .map(StateLock::Local)
                .map_err(|e| match e {
                    LockError::Held { .. } => LockErrorOr::Held(e),
                    other => LockErrorOr::Other(other.into()),
                }),
            Kind::S3 {
                client,
                bucket,
                key,
            } => {
                let lock_key = Self::lock_key(key);
                let me = Holder::me(command);
                for _ in 0..2 {
                    let body = serde_json::to_vec(&me).map_err(|e| LockErrorOr::Other(e.into()))?;
                    let put = client
                        .put_object()
                        .bucket(bucket)
                        .key(&lock_key)
                        .if_none_match("*")
                        .content_type("application/json")
                        .body(ByteStream::from(body))
                        .send()
                        .await;
                    match put {
                        Ok(_) => {
                            return Ok(StateLock::S3 {
                                client: client.clone(),
                                bucket: bucket.clone(),
                                key: lock_key,
                                id: me.id.clone(),
                            })
                        }
                        Err(e) if lost_condition(&e) => {
                            let Some((holder, _)) = read_s3_lock(client, bucket, &lock_key)
                                .await
                                .map_err(LockErrorOr::Other)?
                            else {
                                continue; // released in between: try again
                            };
                            if holder.died_here() {
                                tracing::warn!(
                                    "taking over the lock of `{}` (pid {}), which is no longer running",
                                    holder.command,
                                    holder.pid
                                );
                                let _ = client
                                    .delete_object()
                                    .bucket(bucket)
                                    .key(&lock_key)
                                    .send()
                                    .await;
                                continue;
                            }
                            return Err(LockErrorOr::Held(LockError::Held {
                                holder: Box::new(holder),
                                path: format!("s3://{bucket}/{lock_key}"),
                            }));
                        }
                        Err(e) => {
                            return Err(LockErrorOr::Other(
                                crate::error::aws("s3:PutObject", e).context(format!(
                                    "cannot take the lock s3://{bucket}/{lock_key}"
                                )),
                            ))
                        }
                    }
                }
                Err(LockErrorOr::Other(anyhow::anyhow!(
                    "the lock s3://{bucket}/{lock_key} kept reappearing"
                )))
            }
        }
    }

    /// Break the lock `id` (`secauto unlock`): only that lock, so a run that took the lock since
    /// is never broken by mistake.
    pub async fn unlock(&self, id: &str) -> Result<Holder> {
        match &self.kind {
            Kind::Local(p) => Ok(lock::Lock::force_release(p, id)?),
            Kind::S3 {
                client,
                bucket,
                key,
            } => {
                let lock_key = Self::lock_key(key);
                let Some((holder, etag)) = read_s3_lock(client, bucket, &lock_key).await? else {
                    anyhow::bail!("the state s3://{bucket}/{key} is not locked");
                };
                if holder.id != id {
                    return Err(LockError::Mismatch {
                        wanted: id.into(),
                        holder: Box::new(holder),
                    }
                    .into());
                }
                let mut del = client.delete_object().bucket(bucket).key(&lock_key);
                if let Some(tag) = etag {
                    del = del.if_match(tag);
                }
                match del.send().await {
                    Ok(_) => Ok(holder),
                    // Buckets that do not take a condition on delete: the id was checked just now.
                    Err(e) if crate::error::code(&e) == Some("NotImplemented") => {
                        client
                            .delete_object()
                            .bucket(bucket)
                            .key(&lock_key)
                            .send()
                            .await
                            .map_err(|e| crate::error::aws("s3:DeleteObject", e))?;
                        Ok(holder)
                    }
                    Err(e) if lost_condition(&e) => anyhow::bail!(
                        "the lock s3://{bucket}/{lock_key} changed hands while breaking it; run `secauto unlock` again with the new id"
                    ),
                    Err(e) => Err(crate::error::aws("s3:DeleteObject", e)),
                }
            }
        }
    }
}

enum LockErrorOr {
    Held(LockError),
    Other(anyhow::Error),
}
