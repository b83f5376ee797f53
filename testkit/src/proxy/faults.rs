//! Failures as AWS answers them, in each service's wire protocol.

use std::sync::Mutex;

use super::http::Message;

/// Fail a share of requests as AWS fails them, before they reach the emulator: throttling (in the
/// request's protocol: query XML, JSON `__type`, REST-JSON `x-amzn-ErrorType`, rpc-v2-cbor,
/// S3 XML), 500, 503, or a connection closed without an answer. Seeded: a run can be replayed.
pub struct Faults {
    /// Share of requests that fail, 0.0–1.0.
    pub rate: f64,
    rng: Mutex<fastrand::Rng>,
}

impl Faults {
    pub fn new(rate: f64, seed: u64) -> Faults {
        Faults {
            rate,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        }
    }

    /// Which fault, if any, this request gets.
    pub(crate) fn draw(&self) -> Option<Fault> {
        let mut rng = self.rng.lock().ok()?;
        if rng.f64() >= self.rate {
            return None;
        }
        Some(match rng.u8(0..4) {
            0 => Fault::Throttle,
            1 => Fault::Internal,
            2 => Fault::Unavailable,
            _ => Fault::Reset,
        })
    }
}

/// One failure, answered in the request's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service's throttling error.
    Throttle,
    /// 500.
    Internal,
    /// 503.
    Unavailable,
    /// The connection closes without an answer.
    Reset,
    /// 409: S3's `ConditionalRequestConflict` ("a conflicting operation occurred"), elsewhere
    /// a generic `ConflictException`.
    Conflict,
}

/// The wire protocols of the services secauto calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// IAM, STS, SNS, EC2, Auto Scaling: form-encoded requests, XML errors.
    Query,
    /// EventBridge, SSM, KMS, SQS: `X-Amz-Target`, `__type` errors.
    AwsJson,
    /// Lambda, Security Hub: REST with the error type in `x-amzn-ErrorType`.
    RestJson,
    /// CloudWatch: `smithy-protocol: rpc-v2-cbor`, CBOR errors.
    Cbor,
    /// S3: REST with `<Error><Code>` bodies.
    RestXml,
}

fn protocol(request: &Message) -> Protocol {
    let (_, path) = request.method_path();
    if request
        .header("smithy-protocol")
        .is_some_and(|p| p.eq_ignore_ascii_case("rpc-v2-cbor"))
    {
        Protocol::Cbor
    } else if request.header("x-amz-target").is_some() {
        Protocol::AwsJson
    } else if request
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        Protocol::Query
    } else if service(request) == "securityhub"
        || path.starts_with("/2015-03-31/")
        || path.starts_with("/2017-10-31/")
        || path.starts_with("/2019-09-25/")
        || path.starts_with("/2021-10-31/")
    {
        Protocol::RestJson
    } else {
        Protocol::RestXml
    }
}

/// A CBOR text string (major type 3).
fn cbor_text(out: &mut Vec<u8>, s: &str) {
    let n = s.len();
    if n < 24 {
        out.push(0x60 | n as u8);
    } else {
        out.push(0x78);
        out.push(n as u8);
    }
    out.extend_from_slice(s.as_bytes());
}

/// The signing name of the service a request is for, from its credential scope.
pub(crate) fn service(request: &Message) -> String {
    request
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or_default()
        .to_string()
}

/// Status, code and message AWS sends for `fault` in `protocol` (SNS throttles its own way:
/// `Throttled`, 429; Security Hub with `LimitExceededException`, 429).
fn what(fault: Fault, protocol: Protocol, service: &str) -> (u16, &'static str, &'static str) {
    match (fault, protocol) {
        (Fault::Throttle, Protocol::Query) if service == "sns" => {
            (429, "Throttled", "Throttled request.")
        }
        (Fault::Throttle, Protocol::Query) => (400, "Throttling", "Rate exceeded"),
        // Security Hub models its throttling as LimitExceededException (429).
        (Fault::Throttle, Protocol::RestJson) if service == "securityhub" => {
            (429, "LimitExceededException", "Rate exceeded")
        }
        (Fault::Throttle, Protocol::RestJson) => (429, "TooManyRequestsException", "Rate exceeded"),
        (Fault::Throttle, Protocol::RestXml) => {
            (503, "SlowDown", "Please reduce your request rate.")
        }
        (Fault::Throttle, _) => (400, "ThrottlingException", "Rate exceeded"),
        (Fault::Internal, Protocol::RestXml) => (
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        (Fault::Internal, _) => (
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error.",
        ),
        (Fault::Conflict, Protocol::RestXml) => (
            409,
            "ConditionalRequestConflict",
            "A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload you should initiate another CreateMultipartUpload request and re-upload each part.",
        ),
        (Fault::Conflict, _) => (409, "ConflictException", "A conflicting operation occurred."),
        (_, Protocol::RestXml) => (
            503,
            "ServiceUnavailable",
            "Service is unable to handle request.",
        ),
        _ => (
            503,
            "ServiceUnavailable",
            "The service is unavailable. Please try again later.",
        ),
    }
}

/// The response AWS gives for `fault` to `request`, in the request's protocol.
pub(crate) fn fault_response(fault: Fault, request: &Message) -> Message {
    let protocol = protocol(request);
    let (status, code, message) = what(fault, protocol, &service(request));
    let reason = match status {
        400 => "Bad Request",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Service Unavailable",
    };
    let mut m = Message {
        start: format!("HTTP/1.1 {status} {reason}"),
        ..Message::default()
    };
    m.set_header("x-amzn-RequestId", "fault-injected-0000");
    match protocol {
        Protocol::Query => {
            m.set_header("Content-Type", "text/xml");
            m.body = format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-injected-0000</RequestId></ErrorResponse>").into_bytes();
        }
        Protocol::AwsJson => {
            m.set_header("Content-Type", "application/x-amz-json-1.1");
            m.body = serde_json::json!({"__type": code, "message": message})
                .to_string()
                .into_bytes();
        }
        Protocol::RestJson => {
            m.set_header("Content-Type", "application/json");
            m.set_header("x-amzn-ErrorType", code);
            m.body = serde_json::json!({"Type": "Service", "message": message})
                .to_string()
                .into_bytes();
        }
        Protocol::Cbor => {
            m.set_header("Content-Type", "application/cbor");
            m.set_header("smithy-protocol", "rpc-v2-cbor");
            let mut body = vec![0xa2];
            cbor_text(&mut body, "__type");
            cbor_text(&mut body, code);
            cbor_text(&mut body, "message");
            cbor_text(&mut body, message);
            m.body = body;
        }
        Protocol::RestXml => {
            m.set_header("Content-Type", "application/xml");
            m.body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-injected-0000</RequestId></Error>").into_bytes();
        }
    }
    m
}
