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
    /// The function a `failure` names (the error handler's `function` attribute).
    pub function: String,
    /// The message's subject.
    pub subject: String,
}

/// The queue and its subscription.
#[derive(Debug, Clone, Default)]
pub struct Inbox {
    /// The queue's name, known before it is made: a queue whose CreateQueue a signal interrupted
    /// is found by it.
    pub name: String,
    /// The topic subscribed to: a subscription whose Subscribe a signal interrupted is found on it
    /// by its endpoint, the queue.
    pub topic: String,
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
        let mut inbox = Inbox {
            name: name.into(),
            topic: topic.into(),
            ..Inbox::default()
        };
        made(&inbox);
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
        made(&inbox);
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
                function: attr("function"),
                subject: envelope["Subject"].as_str().unwrap_or_default().to_string(),
            });
        }
        Ok(notes)
    }

    /// Unsubscribe and delete the queue; what could not be removed, named. What a signal left
    /// unanswered is looked up first: the subscription by its endpoint, the queue by its name.
    pub async fn close(&self, c: &Clients) -> Vec<String> {
        let mut left = Vec::new();
        let subscriptions = match (&self.subscription, self.queue_arn.is_empty()) {
            (Some(sub), _) => Ok(vec![sub.clone()]),
            (None, true) => Ok(vec![]),
            (None, false) => self.subscriptions_of_queue(c).await,
        };
        match subscriptions {
            Ok(subs) => {
                for sub in subs {
                    if let Err(e) = c.sns.unsubscribe().subscription_arn(&sub).send().await {
                        if !crate::error::is_not_found(&e) {
                            left.push(format!("{:#}", crate::error::aws("sns:Unsubscribe", e)));
                        }
                    }
                }
            }
            Err(e) => left.push(format!("verify's subscription to {} ({e:#})", self.topic)),
        }
        let url = match &self.queue_url {
            Some(url) => Some(url.clone()),
            None if self.name.is_empty() => None,
            None => self.queue_by_name(c).await,
        };
        if let Some(url) = &url {
            if let Err(e) = c.sqs.delete_queue().queue_url(url).send().await {
                if !crate::error::is_not_found(&e) {
                    left.push(format!("{:#}", crate::error::aws("sqs:DeleteQueue", e)));
                }
            }
        }
        left
    }

    /// The topic's subscriptions whose endpoint is this queue (ListSubscriptionsByTopic, every
    /// page): a subscription made by a Subscribe whose answer never came.
    async fn subscriptions_of_queue(&self, c: &Clients) -> Result<Vec<String>> {
        let mut found = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = c
                .sns
                .list_subscriptions_by_topic()
                .topic_arn(&self.topic)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| crate::error::aws("sns:ListSubscriptionsByTopic", e))?;
            found.extend(
                page.subscriptions()
                    .iter()
                    .filter(|s| s.endpoint() == Some(self.queue_arn.as_str()))
                    .filter_map(|s| s.subscription_arn())
                    // A subscription still pending confirmation has no ARN to unsubscribe by.
                    .filter(|arn| arn.starts_with("arn:"))
                    .map(str::to_string),
            );
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => return Ok(found),
            }
        }
    }

    /// The queue's URL by its name, when it exists: a queue made by a CreateQueue whose answer
    /// never came.
    async fn queue_by_name(&self, c: &Clients) -> Option<String> {
        c.sqs
            .get_queue_url()
            .queue_name(&self.name)
            .send()
            .await
            .ok()
            .and_then(|o| o.queue_url)
    }
}
