//! The notification function: one readable SNS message per finding, with message attributes.

use anyhow::Result;
use aws_sdk_sns::types::MessageAttributeValue;
use secauto_core::envelope::{parse_input, Input};
use secauto_core::message::{self, Message};
use serde_json::{json, Value};

use crate::env::Env;
use crate::{sdk_err, Clients};

/// Publish one message to the stack's topic.
pub async fn publish(sns: &aws_sdk_sns::Client, topic: &str, m: &Message) -> Result<String> {
    let mut req = sns
        .publish()
        .topic_arn(topic)
        .subject(&m.subject)
        .message(&m.body);
    for (k, v) in &m.attributes {
        if v.is_empty() {
            continue;
        }
        req = req.message_attributes(
            k,
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()?,
        );
    }
    let out = req.send().await.map_err(|e| sdk_err("sns:Publish", e))?;
    Ok(out.message_id.unwrap_or_default())
}

pub async fn handle(clients: &Clients, env: &Env, payload: &Value) -> Result<Value> {
    let event = match parse_input(payload) {
        Ok(Input::Response(e)) => e,
        Ok(_) => anyhow::bail!("notification handles \"Security Response Required\" events only"),
        Err(e) => anyhow::bail!("cannot read the event: {e}"),
    };
    let m = message::notification(&event, env.mode.as_str());
    let id = publish(&clients.sns, &env.topic_arn, &m).await?;
    Ok(json!({"message_id": id, "finding": event.finding.id}))
}
