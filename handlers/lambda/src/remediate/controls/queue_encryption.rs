//! SQS.1: a queue without server-side encryption. Precondition: the queue (named by its ARN)
//! exists, and neither `KmsMasterKeyId` nor `SqsManagedSseEnabled` is set. Record:
//! `secauto:previous-encryption=none` in the queue's tags (an earlier run's tag is kept; with no
//! room among SQS's 50 tags, the note). Change: SetQueueAttributes `SqsManagedSseEnabled=true`
//! (SSE-SQS: keys SQS owns, so producers and consumers need no new permission; messages sent
//! from then on are encrypted). Verification: a re-read. Undo: `aws sqs set-queue-attributes
//! --queue-url … --attributes SqsManagedSseEnabled=false`, then delete the tag.

use std::collections::HashMap;

use anyhow::{Context, Result};
use aws_sdk_sqs::types::QueueAttributeName;

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use crate::retry::read_until;
use crate::sdk_err;

/// The tag recording that the queue had no encryption.
pub const PREVIOUS_QUEUE_ENCRYPTION_TAG: &str = "secauto:previous-encryption";

/// SQS takes up to 50 tags on a queue.
const MAX_QUEUE_TAGS: usize = 50;

impl Executor<'_> {
    /// Turn on SSE-SQS for the queue (SQS.1); `queue` is its ARN.
    pub async fn encrypt_queue(&self, queue: &str) -> Result<Outcome, Failed> {
        self.carry_out(&QueueEncryption { queue }).await
    }

    async fn queue_encrypted(&self, url: &str) -> Result<bool> {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::KmsMasterKeyId)
            .attribute_names(QueueAttributeName::SqsManagedSseEnabled)
            .send()
            .await
            .map_err(|e| sdk_err("sqs:GetQueueAttributes", e))?;
        let empty = HashMap::new();
        let a = out.attributes().unwrap_or(&empty);
        let kms = a
            .get(&QueueAttributeName::KmsMasterKeyId)
            .is_some_and(|k| !k.is_empty());
        let sse = a
            .get(&QueueAttributeName::SqsManagedSseEnabled)
            .map(String::as_str)
            == Some("true");
        Ok(kms || sse)
    }
}

struct QueueEncryption<'a> {
    queue: &'a str,
}

/// The queue as read before any change.
struct Queue {
    url: String,
    encrypted: bool,
    tags: Vec<(String, String)>,
}

impl Remediation for QueueEncryption<'_> {
    type Subject = Queue;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Queue>> {
        if ex.other_accounts_resource(self.queue, out) {
            return Ok(None);
        }
        // arn:aws:sqs:<region>:<account>:<name>
        let parts: Vec<&str> = self.queue.split(':').collect();
        let (account, name) = match parts.as_slice() {
            [.., account, name] if parts.len() >= 6 => (*account, *name),
            _ => (ex.account, self.queue),
        };
        let url = ex
            .sqs
            .get_queue_url()
            .queue_name(name)
            .set_queue_owner_aws_account_id((!account.is_empty()).then(|| account.to_string()))
            .send()
            .await
            .map_err(|e| sdk_err("sqs:GetQueueUrl", e))?
            .queue_url()
            .map(String::from)
            .with_context(|| format!("SQS gave no URL for {}", self.queue))?;
        let tags = ex
            .sqs
            .list_queue_tags()
            .queue_url(&url)
            .send()
            .await
            .map_err(|e| sdk_err("sqs:ListQueueTags", e))?;
        let tags = tags
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Ok(Some(Queue {
            encrypted: ex.queue_encrypted(&url).await?,
            url,
            tags,
        }))
    }

    fn touches(&self, q: &Queue) -> Vec<Touched> {
        vec![Touched {
            id: self.queue.to_string(),
            tags: q.tags.clone(),
        }]
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        q: &Queue,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let queue = self.queue;
        if q.encrypted
            || q.tags
                .iter()
                .any(|(k, _)| k == PREVIOUS_QUEUE_ENCRYPTION_TAG)
        {
            return Ok(());
        }
        if q.tags.len() >= MAX_QUEUE_TAGS {
            out.caveats.push(format!(
                "the undo record of {queue} is this note only ({PREVIOUS_QUEUE_ENCRYPTION_TAG}=none): it holds {MAX_QUEUE_TAGS} tags already"
            ));
            return Ok(());
        }
        let call = async {
            ex.sqs
                .tag_queue()
                .queue_url(&q.url)
                .tags(PREVIOUS_QUEUE_ENCRYPTION_TAG, "none")
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("sqs:TagQueue", e))
        };
        let what = format!("record {PREVIOUS_QUEUE_ENCRYPTION_TAG}=none in {queue}'s tags");
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        q: &Queue,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let queue = self.queue;
        if q.encrypted {
            out.steps.push(format!("{queue} is already encrypted"));
            return Ok(());
        }
        let what = format!(
            "turn on SSE-SQS for {queue} (messages sent from now on; no new permission for its clients)"
        );
        let call = async {
            ex.sqs
                .set_queue_attributes()
                .queue_url(&q.url)
                .attributes(QueueAttributeName::SqsManagedSseEnabled, "true")
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("sqs:SetQueueAttributes", e))
        };
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    /// One call that either turns encryption on or not: nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Queue, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        q: &Queue,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            // SQS: an attribute change "can take up to 60 seconds" to show in every read; one
            // still unseen after these reads leaves the finding NOTIFIED, never wrongly RESOLVED.
            read_until(ex.deadline, || ex.queue_encrypted(&q.url), |on| *on).await?
        } else {
            q.encrypted
        })
    }
}
