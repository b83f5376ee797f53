//! What the emulators were asked: every request, from moto's request recorder and from the
//! recording proxy in front of ministack, named as the IAM action it needs (`service:Operation`).

use std::sync::{Arc, Mutex};

use secauto_testkit::proxy::{Message, Shim};

/// One request an emulator received (its request line holds the method and the path with query).
#[derive(Debug, Clone)]
pub struct Request(pub Message);

impl std::ops::Deref for Request {
    type Target = Message;
    fn deref(&self) -> &Message {
        &self.0
    }
}

impl Request {
    pub fn new(method: &str, path: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> Request {
        Request(Message {
            start: format!("{method} {path} HTTP/1.1"),
            headers,
            body,
        })
    }

    fn method(&self) -> String {
        self.method_path().0
    }

    fn path(&self) -> String {
        self.method_path().1
    }

    /// A field of the SigV4 credential scope: 0 the access key id, 2 the region, 3 the signing name.
    fn scope(&self, i: usize) -> &str {
        self.header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split([',', ' ']).next())
            .and_then(|c| c.split('/').nth(i))
            .unwrap_or_default()
    }

    /// The access key id that signed the request: whose credentials made the call.
    pub fn access_key(&self) -> &str {
        self.scope(0)
    }

    /// The service's signing name (`monitoring` for CloudWatch).
    pub fn signing_name(&self) -> &str {
        self.scope(3)
    }

    /// One line of moto's recording (`/moto-api/recorder/download-recording`).
    pub fn from_moto(v: &serde_json::Value) -> Request {
        use base64::Engine;
        let body = v["body"].as_str().unwrap_or_default();
        let body = if v["body_encoded"].as_bool() == Some(true) {
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap_or_default()
        } else {
            body.as_bytes().to_vec()
        };
        let url = v["url"].as_str().unwrap_or_default();
        let path = format!("/{}", url.splitn(4, '/').nth(3).unwrap_or_default());
        let headers = v["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        Request::new(v["method"].as_str().unwrap_or("?"), &path, headers, body)
    }

    /// The operation named by the protocol itself: the JSON `X-Amz-Target`, the rpc-v2-cbor path
    /// `/service/<service>/operation/<Operation>`, or the query `Action=`. `None` for REST.
    pub fn rpc_operation(&self) -> Option<String> {
        if let Some(t) = self.header("x-amz-target") {
            return Some(t.rsplit('.').next().unwrap_or(t).to_string());
        }
        let path = self.path();
        if self.header("smithy-protocol").is_some() || path.starts_with("/service/") {
            if let Some((_, op)) = path.split('?').next()?.rsplit_once("/operation/") {
                return Some(op.to_string());
            }
        }
        let form = self
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        let query = path.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let body = String::from_utf8_lossy(&self.body);
        let params = if form { body.as_ref() } else { query };
        params
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .map(str::to_string)
    }

    /// How the old recorder named a request: the operation, or `METHOD path` for REST.
    pub fn operation(&self) -> String {
        self.rpc_operation()
            .unwrap_or_else(|| format!("{} {}", self.method(), self.path()))
    }

    /// The IAM action this request needs, `service:Operation`, or why it cannot be named.
    pub fn iam_action(&self) -> Result<String, String> {
        let prefix = match self.signing_name() {
            "" => return Err(format!("unsigned request {}", self.start)),
            "monitoring" => "cloudwatch",
            other => other,
        };
        let op = match self.rpc_operation() {
            Some(op) => op,
            None => rest_operation(prefix, &self.method(), &self.path())
                .ok_or_else(|| format!("unmapped {prefix} request {}", self.start))?,
        };
        Ok(format!("{prefix}:{op}"))
    }
}

/// The IAM action of a REST request (Lambda, Security Hub, S3 path-style), from the services'
/// API references (the request syntax of each operation).
pub fn rest_operation(service: &str, method: &str, path: &str) -> Option<String> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let m = method;
    let op = match service {
        "lambda" => match (m, parts.as_slice()) {
            ("POST", ["2015-03-31", "functions"]) => "CreateFunction",
            ("GET", ["2015-03-31", "functions"]) => "ListFunctions",
            ("GET", ["2015-03-31", "functions", _]) => "GetFunction",
            ("DELETE", ["2015-03-31", "functions", _]) => "DeleteFunction",
            ("GET", ["2015-03-31", "functions", _, "configuration"]) => "GetFunctionConfiguration",
            ("PUT", ["2015-03-31", "functions", _, "configuration"]) => {
                "UpdateFunctionConfiguration"
            }
            ("PUT", ["2015-03-31", "functions", _, "code"]) => "UpdateFunctionCode",
            ("POST", ["2015-03-31", "functions", _, "invocations"]) => "InvokeFunction",
            ("GET", ["2015-03-31", "functions", _, "policy"]) => "GetPolicy",
            ("POST", ["2015-03-31", "functions", _, "policy"]) => "AddPermission",
            ("DELETE", ["2015-03-31", "functions", _, "policy", _]) => "RemovePermission",
            ("GET", ["2019-09-25", "functions", _, "event-invoke-config"]) => {
                "GetFunctionEventInvokeConfig"
            }
            ("PUT", ["2019-09-25", "functions", _, "event-invoke-config"]) => {
                "PutFunctionEventInvokeConfig"
            }
            ("POST", ["2019-09-25", "functions", _, "event-invoke-config"]) => {
                "UpdateFunctionEventInvokeConfig"
            }
            ("DELETE", ["2019-09-25", "functions", _, "event-invoke-config"]) => {
                "DeleteFunctionEventInvokeConfig"
            }
            ("PUT", ["2017-10-31", "functions", _, "concurrency"]) => "PutFunctionConcurrency",
            ("DELETE", ["2017-10-31", "functions", _, "concurrency"]) => {
                "DeleteFunctionConcurrency"
            }
            ("GET", ["2019-09-30", "functions", _, "concurrency"]) => "GetFunctionConcurrency",
            ("GET", ["2017-03-31", "tags", ..]) => "ListTags",
            ("POST", ["2017-03-31", "tags", ..]) => "TagResource",
            ("DELETE", ["2017-03-31", "tags", ..]) => "UntagResource",
            ("GET", ["2016-08-19", "account-settings"]) => "GetAccountSettings",
            _ => return None,
        },
        "securityhub" => match (m, parts.as_slice()) {
            ("GET", ["automationrules", "list"]) => "ListAutomationRules",
            ("POST", ["automationrules", "create"]) => "CreateAutomationRule",
            ("POST", ["automationrules", "get"]) => "BatchGetAutomationRules",
            ("PATCH", ["automationrules", "update"]) => "BatchUpdateAutomationRules",
            ("POST", ["automationrules", "delete"]) => "BatchDeleteAutomationRules",
            ("POST", ["actionTargets"]) => "CreateActionTarget",
            ("POST", ["actionTargets", "get"]) => "DescribeActionTargets",
            ("PATCH", ["actionTargets", ..]) => "UpdateActionTarget",
            ("DELETE", ["actionTargets", ..]) => "DeleteActionTarget",
            ("GET", ["tags", ..]) => "ListTagsForResource",
            ("POST", ["tags", ..]) => "TagResource",
            ("DELETE", ["tags", ..]) => "UntagResource",
            ("POST", ["findings"]) => "GetFindings",
            ("PATCH", ["findings", "batchupdate"]) => "BatchUpdateFindings",
            ("GET", ["accounts"]) => "DescribeHub",
            ("GET", ["hubv2"]) => "DescribeSecurityHubV2",
            ("POST", ["automationrulesv2", "create"]) => "CreateAutomationRuleV2",
            ("GET", ["automationrulesv2", "list"]) => "ListAutomationRulesV2",
            ("GET", ["automationrulesv2", _]) => "GetAutomationRuleV2",
            ("PATCH", ["automationrulesv2", _]) => "UpdateAutomationRuleV2",
            ("DELETE", ["automationrulesv2", _]) => "DeleteAutomationRuleV2",
            _ => return None,
        },
        // Path-style: /bucket[/key]; bucket sub-resources by their query key.
        "s3" => {
            let sub = |k: &str| query.split('&').any(|kv| kv.split('=').next() == Some(k));
            match (m, parts.len()) {
                ("GET", 1) if sub("publicAccessBlock") => "GetBucketPublicAccessBlock",
                ("PUT", 1) if sub("publicAccessBlock") => "PutBucketPublicAccessBlock",
                ("GET", 1) if sub("encryption") => "GetEncryptionConfiguration",
                ("PUT", 1) if sub("encryption") => "PutEncryptionConfiguration",
                ("GET", 1) if sub("tagging") => "GetBucketTagging",
                ("GET" | "HEAD", 1) => "ListBucket",
                // HeadObject is authorised by s3:GetObject.
                ("GET" | "HEAD", n) if n > 1 => "GetObject",
                ("PUT", n) if n > 1 => "PutObject",
                ("DELETE", n) if n > 1 => "DeleteObject",
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(op.to_string())
}

/// True for an operation that changes something: `Operation`, `service:Operation`, or a REST
/// `METHOD path` (named through [`rest_operation`] where it is Lambda's or Security Hub's).
pub fn is_mutating(op: &str) -> bool {
    let name = match op.split_once(' ') {
        Some((method, path)) => {
            match ["lambda", "securityhub"]
                .iter()
                .find_map(|s| rest_operation(s, method, path))
            {
                Some(name) => name,
                None => return method != "GET" && method != "HEAD",
            }
        }
        None => op.rsplit(':').next().unwrap_or(op).to_string(),
    };
    !["Get", "List", "Describe", "BatchGet", "Head"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// A [`Shim`] that keeps every request it sees (and passes the response to `inner`).
#[derive(Default)]
pub struct Recorder {
    pub inner: Option<Arc<dyn Shim>>,
    log: Mutex<Vec<Request>>,
}

impl Recorder {
    pub fn new(inner: Option<Arc<dyn Shim>>) -> Recorder {
        Recorder {
            inner,
            log: Mutex::default(),
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn clear(&self) {
        if let Ok(mut l) = self.log.lock() {
            l.clear();
        }
    }
}

impl Shim for Recorder {
    fn respond(&self, request: &Message, response: &mut Message) {
        if let Ok(mut l) = self.log.lock() {
            l.push(Request(request.clone()));
        }
        if let Some(inner) = &self.inner {
            inner.respond(request, response);
        }
    }
}
