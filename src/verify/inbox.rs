//! verify's temporary view of the stack's topic: an SQS queue of its own, subscribed with a filter
//! policy that lets through only the test finding's messages; both removed again when verify ends.

use anyhow::Result;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::{json, Value};

use crate::aws::Clients;

/// One message of the topic, as the queue got it.
#[derive(Debug, Clone)]
pub struct Note {
    /// `message_type`: `finding` (the notification function's), `remediation`, `refused`, …
    pub kind: String,
}

/// The queue and its subscription.
#[derive(Debug, Clone, Default)]
pub struct Inbox {
    pub queue_url: Option<String>,
    pub queue_arn: String,
    pub subscription: Option<String>,
}

impl Inbox {
    /// Make the queue (its policy lets only the topic send) and subscribe it to `topic` for the
    /// messages whose `finding_id` is `finding`. `made` is told each step as it is done, so an
    /// interrupted run removes what exists.
    pub async fn open(
        c: &Clients,
        name: &str,
        topic: &str,
        finding: &str,
        made: &dyn Fn(&Inbox),
    ) -> Result<Inbox> {
        let mut inbox = Inbox::default();
        let url = c
            .sqs
            .create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::MessageRetentionPeriod, "600")
            .send()
            .await
            .map_err(|e| crate::error::aws("sqs:CreateQueue", e))?
            .queue_url
            .unwrap_or_default();
        inbox.queue_url = Some(url.clone());
        made(&inbox);
        let arn = c
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| crate::error::aws("sqs:GetQueueAttributes", e))?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .unwrap_or_default();
        inbox.queue_arn = arn.clone();
        let policy = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]});
        c.sqs
            .set_queue_attributes()
            .queue_url(&url)
            .attributes(QueueAttributeName::Policy, policy.to_string())
            .send()
            .await
            .map_err(|e| crate::error::aws("sqs:SetQueueAttributes", e))?;
        let filter = json!({"finding_id": [finding]});
        let sub = c
            .sns
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(&arn)
            .attributes("FilterPolicy", filter.to_string())
            .return_subscription_arn(true)
            .send()
            .await
            .map_err(|e| crate::error::aws("sns:Subscribe", e))?;
        inbox.subscription = sub.subscription_arn;
        made(&inbox);
        Ok(inbox)
    }

    /// The test finding's messages that arrived, waiting up to `wait` seconds for the first.
    pub async fn receive(&self, c: &Clients, finding: &str, wait: i32) -> Result<Vec<Note>> {
        let Some(url) = &self.queue_url else {
            return Ok(vec![]);
        };
        let out = c
            .sqs
            .receive_message()
            .queue_url(url)
            .wait_time_seconds(wait)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| crate::error::aws("sqs:ReceiveMessage", e))?;
        let mut notes = Vec::new();
        for m in out.messages() {
            if let Some(handle) = m.receipt_handle() {
                let _ = c
                    .sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
            let envelope: Value =
                serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or_default();
            let attr = |k: &str| {
                envelope["MessageAttributes"][k]["Value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            };
            // The filter policy is the topic's business; matched again here all the same.
            if attr("finding_id") != finding {
                continue;
            }
            notes.push(Note {
                kind: attr("message_type"),
            });
        }
        Ok(notes)
    }

    /// Unsubscribe and delete the queue; what could not be removed, named.
    pub async fn close(&self, c: &Clients) -> Vec<String> {
        let mut left = Vec::new();
        if let Some(sub) = &self.subscription {
            if let Err(e) = c.sns.unsubscribe().subscription_arn(sub).send().await {
                if !crate::error::is_not_found(&e) {
                    left.push(format!("{:#}", crate::error::aws("sns:Unsubscribe", e)));
                }
            }
        }
        if let Some(url) = &self.queue_url {
            if let Err(e) = c.sqs.delete_queue().queue_url(url).send().await {
                if !crate::error::is_not_found(&e) {
                    left.push(format!("{:#}", crate::error::aws("sqs:DeleteQueue", e)));
                }
            }
        }
        left
    }
}
