//! A loopback HTTP/1.1 proxy in front of an emulator: it records every request, and a [`Shim`] may
//! complete what the emulator does not serve (moto's Lambda forgets a function's DeadLetterConfig).
//! One thread per connection, one request per connection (`Connection: close` both ways), so the
//! SDK never reuses a connection the proxy has closed.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One HTTP request or response, headers as sent.
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// The request line (`GET /path HTTP/1.1`) or the status line.
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `METHOD path` of a request.
    pub fn method_path(&self) -> (String, String) {
        let mut parts = self.start.split_whitespace();
        (
            parts.next().unwrap_or_default().to_string(),
            parts.next().unwrap_or_default().to_string(),
        )
    }

    fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
    }

    fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut head = format!("{}\r\n", self.start);
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        out.write_all(head.as_bytes())?;
        out.write_all(&self.body)?;
        out.flush()
    }
}

/// Reads one message: headers, then a body of Content-Length bytes, chunks, or (`to_eof`) the rest.
fn read_message(r: &mut impl BufRead, to_eof: bool) -> std::io::Result<Option<Message>> {
    let mut start = String::new();
    if r.read_line(&mut start)? == 0 {
        return Ok(None);
    }
    let mut m = Message {
        start: start.trim_end().to_string(),
        ..Message::default()
    };
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            m.headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let chunked = m
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            m.body.extend_from_slice(&chunk[..n]);
        }
        m.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("transfer-encoding"));
        let len = m.body.len().to_string();
        m.set_header("Content-Length", &len);
    } else if let Some(len) = m.header("content-length").and_then(|v| v.parse().ok()) {
        m.body = vec![0; len];
        r.read_exact(&mut m.body)?;
    } else if to_eof {
        r.read_to_end(&mut m.body)?;
    }
    Ok(Some(m))
}

/// Completes an emulator: sees each request, may rewrite its response.
pub trait Shim: Send + Sync {
    fn respond(&self, request: &Message, response: &mut Message);
}

/// A running proxy; stops accepting when dropped (the listener thread ends with the process).
pub struct Proxy {
    pub url: String,
    log: Arc<Mutex<Vec<String>>>,
    faults: Option<Arc<Faults>>,
}

/// How a proxy treats requests besides forwarding them.
#[derive(Default)]
pub struct Options {
    /// Completes what the emulator does not serve.
    pub shim: Option<Arc<dyn Shim>>,
    /// Fails a share of requests.
    pub faults: Option<Faults>,
    /// Added to every request before it is forwarded: a region's round trip, for benchmarks.
    pub latency: std::time::Duration,
}

/// Fail a share of requests as AWS fails them, before they reach the emulator: throttling (in the
/// request's protocol: query XML, JSON `__type`, REST-JSON `x-amzn-ErrorType`, rpc-v2-cbor,
/// S3 XML), 500, 503, or a connection closed without an answer. Seeded: a run can be replayed.
pub struct Faults {
    /// Share of requests that fail, 0.0–1.0.
    pub rate: f64,
    rng: Mutex<fastrand::Rng>,
    injected: Mutex<Vec<String>>,
}

impl Faults {
    pub fn new(rate: f64, seed: u64) -> Faults {
        Faults {
            rate,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            injected: Mutex::default(),
        }
    }

    /// Which fault, if any, this request gets.
    fn draw(&self) -> Option<Fault> {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Throttle,
    Internal,
    Unavailable,
    Reset,
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
fn service(request: &Message) -> String {
    request
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or_default()
        .to_string()
}

/// The response AWS gives for `fault` in `protocol` (SNS throttles its own way: `Throttled`, 429).
fn fault_response(fault: Fault, protocol: Protocol, service: &str) -> Message {
    let (status, code, message) = match (fault, protocol) {
        (Fault::Throttle, Protocol::Query) if service == "sns" => {
            (429, "Throttled", "Throttled request.")
        }
        (Fault::Throttle, Protocol::Query) => (400, "Throttling", "Rate exceeded"),
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
    };
    let reason = match status {
        400 => "Bad Request",
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

impl Proxy {
    /// Forward everything to `upstream` (`http://127.0.0.1:port`).
    pub fn start(upstream: &str, shim: Option<Arc<dyn Shim>>) -> Proxy {
        Proxy::start_with(upstream, shim, None)
    }

    /// Forward to `upstream`, failing a share of requests as `faults` says.
    pub fn start_with(
        upstream: &str,
        shim: Option<Arc<dyn Shim>>,
        faults: Option<Faults>,
    ) -> Proxy {
        Proxy::start_opts(
            upstream,
            Options {
                shim,
                faults,
                ..Options::default()
            },
        )
    }

    /// Forward to `upstream` as `options` say.
    pub fn start_opts(upstream: &str, options: Options) -> Proxy {
        let Options {
            shim,
            faults,
            latency,
        } = options;
        let faults = faults.map(Arc::new);
        let injecting = faults.clone();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let upstream = upstream
            .strip_prefix("http://")
            .expect("an http:// upstream")
            .trim_end_matches('/')
            .to_string();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(client) = stream else { continue };
                let (upstream, seen, shim, faults) = (
                    upstream.clone(),
                    seen.clone(),
                    shim.clone(),
                    injecting.clone(),
                );
                std::thread::spawn(move || {
                    std::thread::sleep(latency);
                    let _ = serve(client, &upstream, &seen, shim.as_deref(), faults.as_deref());
                });
            }
        });
        Proxy { url, log, faults }
    }

    /// The faults injected so far, as `fault request`.
    pub fn injected(&self) -> Vec<String> {
        self.faults
            .as_ref()
            .and_then(|f| f.injected.lock().ok().map(|l| l.clone()))
            .unwrap_or_default()
    }

    /// The requests seen so far, as `METHOD path` (with ` target` when X-Amz-Target is set).
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Forget the requests seen so far.
    pub fn clear(&self) {
        if let Ok(mut l) = self.log.lock() {
            l.clear();
        }
    }
}

fn serve(
    client: TcpStream,
    upstream: &str,
    log: &Mutex<Vec<String>>,
    shim: Option<&dyn Shim>,
    faults: Option<&Faults>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let Some(mut request) = read_message(&mut reader, false)? else {
        return Ok(());
    };
    let (method, path) = request.method_path();
    let entry = match request.header("x-amz-target") {
        Some(t) => format!("{method} {path} {t}"),
        None => format!("{method} {path}"),
    };
    if let Some(fault) = faults.and_then(Faults::draw) {
        if let Some(mut l) = faults.and_then(|f| f.injected.lock().ok()) {
            l.push(format!("{fault:?} {} {entry}", service(&request)));
        }
        if fault == Fault::Reset {
            // The request was read; the connection closes without an answer.
            return client.shutdown(std::net::Shutdown::Both);
        }
        let mut response = fault_response(fault, protocol(&request), &service(&request));
        let len = response.body.len().to_string();
        response.set_header("Content-Length", &len);
        response.set_header("Connection", "close");
        let mut client = client;
        return response.write_to(&mut client);
    }
    if let Ok(mut l) = log.lock() {
        l.push(entry);
    }
    request.set_header("Connection", "close");
    let mut up = TcpStream::connect(upstream)?;
    request.write_to(&mut up)?;
    let mut response = read_message(&mut BufReader::new(up), true)?.unwrap_or_default();
    if let Some(shim) = shim {
        shim.respond(&request, &mut response);
    }
    let len = response.body.len().to_string();
    response.set_header("Content-Length", &len);
    response.set_header("Connection", "close");
    let mut client = client;
    response.write_to(&mut client)
}

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
