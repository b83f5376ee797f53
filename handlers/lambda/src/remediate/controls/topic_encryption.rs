//! SNS.1: a topic without server-side encryption. Precondition: the topic exists and its
//! `KmsMasterKeyId` attribute is empty. Record: `secauto:previous-kms-key=none` in the topic's
//! tags (an earlier run's tag is kept; a topic holds 50 tags — with no room left the record is
//! the note). Change: SetTopicAttributes `KmsMasterKeyId=alias/aws/sns`, the AWS managed key
//! (messages published from then on are encrypted at rest; nothing else of the topic changes).
//! Verification: a re-read. Undo: `aws sns set-topic-attributes --topic-arn … --attribute-name
//! KmsMasterKeyId --attribute-value ""`, then delete the tag.

use anyhow::Result;
use aws_sdk_sns::types::Tag;

use super::super::contract::{Remediation, Touched};
use super::super::{Executor, Failed, Outcome};
use crate::sdk_err;

/// The tag recording that the topic had no encryption.
pub const PREVIOUS_TOPIC_KEY_TAG: &str = "secauto:previous-kms-key";

/// The key the remediation encrypts a topic with: SNS's AWS managed key.
pub const TOPIC_KEY: &str = "alias/aws/sns";

/// SNS takes up to 50 tags on a topic.
const MAX_TOPIC_TAGS: usize = 50;

impl Executor<'_> {
    /// Encrypt the topic with SNS's AWS managed key (SNS.1); `topic` is its ARN.
    pub async fn encrypt_topic(&self, topic: &str) -> Result<Outcome, Failed> {
        self.carry_out(&TopicEncryption { topic }).await
    }

    async fn topic_key(&self, topic: &str) -> Result<String> {
        let out = self
            .sns
            .get_topic_attributes()
            .topic_arn(topic)
            .send()
            .await
            .map_err(|e| sdk_err("sns:GetTopicAttributes", e))?;
        Ok(out
            .attributes()
            .and_then(|a| a.get("KmsMasterKeyId"))
            .cloned()
            .unwrap_or_default())
    }
}

struct TopicEncryption<'a> {
    topic: &'a str,
}

/// The topic as read before any change.
struct Topic {
    key: String,
    tags: Vec<(String, String)>,
}

impl Remediation for TopicEncryption<'_> {
    type Subject = Topic;

    async fn read(&self, ex: &Executor<'_>, out: &mut Outcome) -> Result<Option<Topic>> {
        if ex.other_accounts_resource(self.topic, out) {
            return Ok(None);
        }
        let key = ex.topic_key(self.topic).await?;
        let tags = ex
            .sns
            .list_tags_for_resource()
            .resource_arn(self.topic)
            .send()
            .await
            .map_err(|e| sdk_err("sns:ListTagsForResource", e))?;
        let tags = tags
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        Ok(Some(Topic { key, tags }))
    }

    fn touches(&self, t: &Topic) -> Vec<Touched> {
        vec![Touched {
            id: self.topic.to_string(),
            tags: t.tags.clone(),
        }]
    }

    async fn record(
        &self,
        ex: &Executor<'_>,
        t: &Topic,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let topic = self.topic;
        if !t.key.is_empty() || t.tags.iter().any(|(k, _)| k == PREVIOUS_TOPIC_KEY_TAG) {
            return Ok(());
        }
        if t.tags.len() >= MAX_TOPIC_TAGS {
            out.caveats.push(format!(
                "the undo record of {topic} is this note only ({PREVIOUS_TOPIC_KEY_TAG}=none): it holds {MAX_TOPIC_TAGS} tags already"
            ));
            return Ok(());
        }
        let tag = Tag::builder()
            .key(PREVIOUS_TOPIC_KEY_TAG)
            .value("none")
            .build()?;
        let call = async {
            ex.sns
                .tag_resource()
                .resource_arn(topic)
                .tags(tag)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("sns:TagResource", e))
        };
        let what = format!("record {PREVIOUS_TOPIC_KEY_TAG}=none in {topic}'s tags");
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    async fn apply(
        &self,
        ex: &Executor<'_>,
        t: &Topic,
        out: &mut Outcome,
        protected: bool,
    ) -> Result<()> {
        let topic = self.topic;
        if !t.key.is_empty() {
            out.steps
                .push(format!("{topic} is already encrypted ({})", t.key));
            return Ok(());
        }
        let what = format!("encrypt {topic} with {TOPIC_KEY} (messages published from now on)");
        let call = async {
            ex.sns
                .set_topic_attributes()
                .topic_arn(topic)
                .attribute_name("KmsMasterKeyId")
                .attribute_value(TOPIC_KEY)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| sdk_err("sns:SetTopicAttributes", e))
        };
        ex.act(out, protected, what, call).await?;
        Ok(())
    }

    /// One call that either sets the key or not: nothing to repair.
    async fn repair(&self, _: &Executor<'_>, _: &Topic, _: &mut Outcome) -> Result<()> {
        Ok(())
    }

    async fn verify(
        &self,
        ex: &Executor<'_>,
        t: &Topic,
        out: &mut Outcome,
        acted: bool,
    ) -> Result<bool> {
        Ok(if acted && out.changed {
            !ex.topic_key(self.topic).await?.is_empty()
        } else {
            !t.key.is_empty()
        })
    }
}
