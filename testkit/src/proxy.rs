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
}

impl Proxy {
    /// Forward everything to `upstream` (`http://127.0.0.1:port`).
    pub fn start(upstream: &str, shim: Option<Arc<dyn Shim>>) -> Proxy {
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
                let (upstream, seen, shim) = (upstream.clone(), seen.clone(), shim.clone());
                std::thread::spawn(move || {
                    let _ = serve(client, &upstream, &seen, shim.as_deref());
                });
            }
        });
        Proxy { url, log }
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
