//! The error handler: the on-failure destination of the other functions.

use anyhow::Result;
use secauto_core::message;
use serde_json::{json, Value};

use crate::env::Env;
use crate::notification::publish;
use crate::Clients;

/// SNS messages hold 256 KB; the failed event's payload gets at most this much.
pub const MAX_PAYLOAD: usize = 32 * 1024;

pub async fn handle(clients: &Clients, env: &Env, payload: &Value) -> Result<Value> {
    let m = message::failure(payload, MAX_PAYLOAD);
    tracing::error!("{}", m.subject);
    let id = publish(&clients.sns, &env.topic_arn, &m).await?;
    Ok(json!({"message_id": id}))
}
