//! The S3 state backend's writes: conditional, and safe to retry.
//!
//! Every PutObject carries a fresh token in its metadata (`x-amz-meta-secauto-write`). When the
//! SDK retries a conditional write whose first attempt took effect but whose answer was lost (a
//! timeout, a 500 after commit), the retry meets this run's own write and gets 412; so does any
//! failure that leaves the outcome unknown. Both are settled by reading the object: if it carries
//! this write's token, the write took effect and its ETag is adopted. A 409
//! ConditionalRequestConflict ("a conflicting operation occurred") is retried, as AWS documents.
//!
//! Deletes of a lock (release, takeover, `unlock`) are conditional on the ETag of the lock this
//! run read or wrote (`If-Match`), so they never delete a lock another run has taken since.

use std::time::Duration;

use anyhow::{Context, Result};
use aws_sdk_s3::primitives::ByteStream;

use super::holder::{Holder, LockError};
use crate::retry::{retry_when, Budget, Transient};

/// The metadata key (`x-amz-meta-…`) naming the write that made an object.
const TOKEN: &str = "secauto-write";

/// One S3 object secauto writes: the state or its lock.
pub(super) struct Object<'a> {
    pub client: &'a aws_sdk_s3::Client,
    pub bucket: &'a str,
    pub key: &'a str,
    /// SSE-KMS with this key; `None`: the bucket's default encryption applies.
    pub kms_key: Option<&'a str>,
}

/// What a conditional write requires of the object it replaces.
#[derive(Debug, Clone, Copy)]
pub(super) enum Condition<'a> {
    /// There is none (`If-None-Match: *`).
    Absent,
    /// Its ETag is this one (`If-Match`).
    Matches(&'a str),
}

/// The outcome of a conditional write.
#[derive(Debug)]
pub(super) enum Put {
    /// This write is the object now, with this ETag.
    Written(Option<String>),
    /// The condition failed: another write is there.
    Refused,
}

/// 409 ConditionalRequestConflict: another conditional write to the key was in flight.
const CONFLICT: Transient = Transient {
    when: |a| a.code == "ConditionalRequestConflict",
    hint: "another write to the same S3 object was in flight; S3 asks to retry",
};

/// How long a 409 is retried.
const CONFLICT_BUDGET: Budget = Budget {
    limit: Duration::from_secs(30),
    first_delay: Duration::from_millis(200),
    max_delay: Duration::from_secs(5),
};

fn precondition_failed<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    err: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    crate::error::code(err) == Some("PreconditionFailed")
        || err.raw_response().map(|r| r.status().as_u16()) == Some(412)
}

fn no_such_key<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    err: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    crate::error::code(err) == Some("NoSuchKey")
        || crate::error::is_not_found(err)
        || err.raw_response().map(|r| r.status().as_u16()) == Some(404)
}

/// A read refused with 403: S3 answers a missing object so when the caller may not list the
/// bucket, so the message names both permissions.
fn denied<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    err: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
    what: &str,
) -> Option<String> {
    (err.raw_response().map(|r| r.status().as_u16()) == Some(403)).then(|| {
        format!(
            "S3 refused to read {what} (403): the caller needs s3:GetObject on it and s3:ListBucket on the bucket (without ListBucket, S3 answers 403 for an object that does not exist yet)"
        )
    })
}

impl Object<'_> {
    /// Where it is, for messages.
    pub fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Write `body` if `condition` holds; see the module's notes on retries.
    pub async fn put(&self, body: Vec<u8>, condition: Condition<'_>) -> Result<Put> {
        let token = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let attempt = || {
            let mut put = self
                .client
                .put_object()
                .bucket(self.bucket)
                .key(self.key)
                .content_type("application/json")
                .metadata(TOKEN, &token)
                .body(ByteStream::from(body.clone()));
            put = match condition {
                Condition::Absent => put.if_none_match("*"),
                Condition::Matches(tag) => put.if_match(tag),
            };
            if let Some(key) = self.kms_key {
                put = put
                    .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                    .ssekms_key_id(key);
            }
            async move {
                match put.send().await {
                    Ok(out) => Ok(Put::Written(out.e_tag)),
                    Err(e) if precondition_failed(&e) => Ok(Put::Refused),
                    Err(e) => Err(e),
                }
            }
        };
        match retry_when("s3:PutObject", CONFLICT_BUDGET, &CONFLICT, attempt).await {
            Ok(Put::Refused) => match self.written_by(&token).await? {
                Some(etag) => Ok(Put::Written(etag)),
                None => Ok(Put::Refused),
            },
            Ok(written) => Ok(written),
            // The write may have taken effect all the same.
            Err(e) => match self.written_by(&token).await {
                Ok(Some(etag)) => Ok(Put::Written(etag)),
                _ => Err(e),
            },
        }
    }

    /// `Some(ETag)` when the object there now was written with `token`.
    async fn written_by(&self, token: &str) -> Result<Option<Option<String>>> {
        let head = self
            .client
            .head_object()
            .bucket(self.bucket)
            .key(self.key)
            .send()
            .await;
        match head {
            Ok(out) => {
                let ours = out
                    .metadata()
                    .and_then(|m| m.get(TOKEN))
                    .is_some_and(|t| t == token);
                Ok(ours.then_some(out.e_tag))
            }
            Err(e) if no_such_key(&e) => Ok(None),
            Err(e) => {
                let hint = denied(&e, &self.describe());
                Err(crate::error::aws("s3:HeadObject", e)).with_context(|| {
                    hint.unwrap_or_else(|| format!("cannot read {}", self.describe()))
                })
            }
        }
    }

    /// The object's body and ETag; `None` when there is none.
    pub async fn get(&self) -> Result<Option<(Vec<u8>, Option<String>)>> {
        let got = self
            .client
            .get_object()
            .bucket(self.bucket)
            .key(self.key)
            .send()
            .await;
        match got {
            Ok(out) => {
                let etag = out.e_tag.clone();
                let body = out
                    .body
                    .collect()
                    .await
                    .with_context(|| format!("cannot read {}", self.describe()))?
                    .into_bytes();
                Ok(Some((body.to_vec(), etag)))
            }
            Err(e) if no_such_key(&e) => Ok(None),
            Err(e) => {
                let hint = denied(&e, &self.describe());
                Err(crate::error::aws("s3:GetObject", e)).with_context(|| {
                    hint.unwrap_or_else(|| format!("cannot read {}", self.describe()))
                })
            }
        }
    }

    /// Delete the object if its ETag is `etag`. A 409 (another conditional request on the key was
    /// in flight, as when a waiting run tries to create the lock) is retried, as S3 documents.
    pub async fn delete_if(&self, etag: &str) -> Result<Deleted> {
        let attempt = || {
            let del = self
                .client
                .delete_object()
                .bucket(self.bucket)
                .key(self.key)
                .if_match(etag);
            async move {
                match del.send().await {
                    Ok(_) => Ok(Deleted::Yes),
                    Err(e) if precondition_failed(&e) => Ok(Deleted::Changed),
                    // A conditional delete of a key deleted meanwhile answers 404.
                    Err(e) if no_such_key(&e) => Ok(Deleted::Gone),
                    Err(e) if crate::error::code(&e) == Some("NotImplemented") => {
                        Ok(Deleted::Unsupported)
                    }
                    Err(e) => Err(e),
                }
            }
        };
        retry_when("s3:DeleteObject", CONFLICT_BUDGET, &CONFLICT, attempt)
            .await
            .with_context(|| format!("cannot delete {}", self.describe()))
    }

    /// Delete the object whatever it is now.
    async fn delete(&self) -> Result<()> {
        self.client
            .delete_object()
            .bucket(self.bucket)
            .key(self.key)
            .send()
            .await
            .map_err(|e| crate::error::aws("s3:DeleteObject", e))?;
        Ok(())
    }

    /// The lock there now and its ETag; `None` when unlocked.
    pub async fn read_lock(&self) -> Result<Option<(Holder, Option<String>)>> {
        Ok(self
            .get()
            .await?
            .map(|(body, etag)| (Holder::parse(&body), etag)))
    }
}

/// The outcome of a conditional delete.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Deleted {
    Yes,
    /// The object is another one now (412).
    Changed,
    /// There was none.
    Gone,
    /// The bucket (an S3-compatible store) takes no condition on DeleteObject.
    Unsupported,
}

/// Why a lock was not taken.
pub(super) enum NotTaken {
    Held(LockError),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for NotTaken {
    fn from(e: anyhow::Error) -> Self {
        NotTaken::Other(e)
    }
}

/// Take the lock at `lock` for `me`; a dead holder's lock is deleted only while it is unchanged.
/// Returns the ETag of the lock written.
pub(super) async fn take(lock: &Object<'_>, me: &Holder) -> Result<Option<String>, NotTaken> {
    let body = serde_json::to_vec(me).map_err(anyhow::Error::from)?;
    for _ in 0..3 {
        let put = lock.put(body.clone(), Condition::Absent).await.map_err(|e| {
            // The write's outcome is unknown: it may be there, under this run's id.
            e.context(format!(
                "could not tell whether this run took the lock {}; if it holds lock id {}, `secauto unlock {}` releases it",
                lock.describe(),
                me.id,
                me.id
            ))
        })?;
        if let Put::Written(etag) = put {
            return Ok(etag);
        }
        let Some((holder, etag)) = lock.read_lock().await? else {
            continue; // released in between: try again
        };
        let held = |holder: Holder| {
            NotTaken::Held(LockError::Held {
                holder: Box::new(holder),
                path: lock.describe(),
            })
        };
        let (true, Some(etag)) = (holder.died_here(), etag) else {
            return Err(held(holder));
        };
        tracing::warn!(
            "taking over the lock of `{}` (pid {}), which is no longer running",
            holder.command,
            holder.pid
        );
        if lock.delete_if(&etag).await? == Deleted::Unsupported {
            eprintln!("warning: the bucket takes no condition on DeleteObject, so a dead run's lock is not taken over automatically");
            return Err(held(holder));
        }
    }
    Err(NotTaken::Other(anyhow::anyhow!(
        "the lock {} kept reappearing",
        lock.describe()
    )))
}

/// Give back the lock `id` written with `etag`: only while it is still that lock.
pub(super) async fn release(lock: &Object<'_>, id: &str, etag: Option<&str>) {
    let tell = |e: anyhow::Error| {
        eprintln!(
            "warning: could not release the lock {}: {e:#}; `secauto unlock {id}` releases it",
            lock.describe()
        )
    };
    let etag = match etag {
        Some(t) => t.to_string(),
        None => match lock.read_lock().await {
            Ok(Some((holder, Some(t)))) if holder.id == id => t,
            Ok(_) => return,
            Err(e) => return tell(e),
        },
    };
    match lock.delete_if(&etag).await {
        Ok(Deleted::Yes | Deleted::Gone) => {}
        Ok(Deleted::Changed) => tracing::warn!(
            "the lock {} is no longer this run's (broken and taken since): left in place",
            lock.describe()
        ),
        // Buckets that take no condition on delete: check the id just before.
        Ok(Deleted::Unsupported) => match lock.read_lock().await {
            Ok(Some((holder, _))) if holder.id == id => {
                if let Err(e) = lock.delete().await {
                    tell(e)
                }
            }
            Ok(_) => {}
            Err(e) => tell(e),
        },
        Err(e) => tell(e),
    }
}

/// Break the lock `id` (`secauto unlock`): only that lock, so a run that took the lock since is
/// never broken by mistake.
pub(super) async fn unlock(lock: &Object<'_>, id: &str) -> Result<Holder> {
    let Some((holder, etag)) = lock.read_lock().await? else {
        anyhow::bail!("the state {} is not locked", lock.describe());
    };
    if holder.id != id {
        return Err(LockError::Mismatch {
            wanted: id.into(),
            holder: Box::new(holder),
        }
        .into());
    }
    let outcome = match &etag {
        Some(tag) => lock.delete_if(tag).await?,
        None => Deleted::Unsupported,
    };
    match outcome {
        Deleted::Yes | Deleted::Gone => Ok(holder),
        // Buckets that do not take a condition on delete: the id was checked just now.
        Deleted::Unsupported => {
            lock.delete().await?;
            Ok(holder)
        }
        Deleted::Changed => anyhow::bail!(
            "the lock {} changed hands while breaking it; run `secauto unlock` again with the new id",
            lock.describe()
        ),
    }
}
