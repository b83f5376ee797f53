//! What moto's Lambda forgets, put back.

use std::sync::Mutex;

use super::{Message, Shim};

/// moto stores no Lambda DeadLetterConfig: remember it from CreateFunction and
/// UpdateFunctionConfiguration and put it back into GetFunction and GetFunctionConfiguration, as
/// AWS (and ministack) answer.
#[derive(Default)]
pub struct LambdaDeadLetterShim {
    by_function: Mutex<std::collections::BTreeMap<String, serde_json::Value>>,
}

impl Shim for LambdaDeadLetterShim {
    fn respond(&self, request: &Message, response: &mut Message) {
        let (method, path) = request.method_path();
        let path = path.split('?').next().unwrap_or_default().to_string();
        let Some(rest) = path.strip_prefix("/2015-03-31/functions") else {
            return;
        };
        let ok = response
            .start
            .split_whitespace()
            .nth(1)
            .is_some_and(|c| c.starts_with('2'));
        let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
        // Functions of one name live in every region: key them by the request's signing region.
        let region = request
            .header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').nth(2))
            .unwrap_or_default()
            .to_string();
        let key = |name: &str| format!("{region}/{name}");
        let Ok(mut map) = self.by_function.lock() else {
            return;
        };
        match (method.as_str(), parts.as_slice()) {
            ("POST", [""]) if ok => {
                if let (Some(name), Some(dlq)) =
                    (body["FunctionName"].as_str(), body.get("DeadLetterConfig"))
                {
                    map.insert(key(name), dlq.clone());
                }
            }
            ("PUT", [name, "configuration"]) if ok => {
                if let Some(dlq) = body.get("DeadLetterConfig") {
                    map.insert(key(name), dlq.clone());
                }
            }
            ("DELETE", [name]) if ok => {
                map.remove(&key(name));
            }
            _ => {}
        }
        let (name, nested) = match (method.as_str(), parts.as_slice()) {
            ("GET", [name]) => (*name, true),
            ("GET", [name, "configuration"]) => (*name, false),
            _ => return,
        };
        let Some(dlq) = map.get(&key(name)) else {
            return;
        };
        let Ok(mut out) = serde_json::from_slice::<serde_json::Value>(&response.body) else {
            return;
        };
        let target = if nested {
            out.get_mut("Configuration")
        } else {
            Some(&mut out)
        };
        if let Some(serde_json::Value::Object(conf)) = target {
            conf.insert("DeadLetterConfig".into(), dlq.clone());
            response.body = serde_json::to_vec(&out).unwrap_or_default();
        }
    }
}
