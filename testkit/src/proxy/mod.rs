//! A loopback HTTP/1.1 proxy in front of an emulator: it records every request, and a [`Shim`] may
//! complete what the emulator does not serve (moto's Lambda forgets a function's DeadLetterConfig)
//! or change the emulator's state at a chosen moment. It injects faults as AWS answers them: a
//! seeded share of requests ([`Faults`]) or exactly the Nth matching one ([`Rule`]), including a
//! write the emulator committed whose answer is then lost.
//! One thread per connection, one request per connection (`Connection: close` both ways), so the
//! SDK never reuses a connection the proxy has closed.

mod faults;
mod http;
mod lambda;
mod rules;

use std::io::BufReader;

use self::http::Body;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

pub use faults::{Fault, Faults};
pub use http::{send, Message};
pub use lambda::LambdaDeadLetterShim;
pub use rules::{Rule, Then};

/// Completes an emulator: sees each request, may rewrite its response.
pub trait Shim: Send + Sync {
    /// Called with each request before it is forwarded (after faults and rules passed it).
    fn before(&self, _request: &Message) {}
    /// An answer in place of the upstream's: the request is not forwarded (it never takes effect).
    fn answer_instead(&self, _request: &Message) -> Option<Message> {
        None
    }
    fn respond(&self, request: &Message, response: &mut Message);
}

/// A running proxy; stops accepting when dropped (the listener thread ends with the process).
pub struct Proxy {
    pub url: String,
    record: Arc<Mutex<Record>>,
}

/// What a proxy saw and did.
#[derive(Default)]
struct Record {
    /// Forwarded requests as `METHOD path` (with ` target` when X-Amz-Target is set).
    requests: Vec<String>,
    /// The same requests with their headers (bodies are not kept).
    messages: Vec<Message>,
    /// Faults injected, as `fault service request`.
    injected: Vec<String>,
}

/// How a proxy treats requests besides forwarding them.
#[derive(Default)]
pub struct Options {
    /// Completes what the emulator does not serve.
    pub shim: Option<Arc<dyn Shim>>,
    /// Fails a share of requests.
    pub faults: Option<Faults>,
    /// Fail exactly the Nth request that matches each rule.
    pub rules: Vec<Rule>,
    /// Added to every request before it is forwarded: a region's round trip, for benchmarks.
    pub latency: std::time::Duration,
}

/// What `serve` shares with every connection.
struct Shared {
    upstream: String,
    record: Arc<Mutex<Record>>,
    shim: Option<Arc<dyn Shim>>,
    faults: Option<Faults>,
    rules: Vec<Rule>,
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
            rules,
            latency,
        } = options;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let record: Arc<Mutex<Record>> = Arc::default();
        let shared = Arc::new(Shared {
            upstream: upstream
                .strip_prefix("http://")
                .expect("an http:// upstream")
                .trim_end_matches('/')
                .to_string(),
            record: record.clone(),
            shim,
            faults,
            rules,
        });
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(client) = stream else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(latency);
                    let _ = serve(client, &shared);
                });
            }
        });
        Proxy { url, record }
    }

    fn read<T>(&self, f: impl FnOnce(&Record) -> T) -> T
    where
        T: Default,
    {
        self.record.lock().map(|r| f(&r)).unwrap_or_default()
    }

    /// The faults injected so far, as `fault service request`.
    pub fn injected(&self) -> Vec<String> {
        self.read(|r| r.injected.clone())
    }

    /// The requests forwarded so far, as `METHOD path` (with ` target` when X-Amz-Target is set).
    pub fn requests(&self) -> Vec<String> {
        self.read(|r| r.requests.clone())
    }

    /// The requests forwarded so far with their headers (bodies are not kept).
    pub fn messages(&self) -> Vec<Message> {
        self.read(|r| r.messages.clone())
    }

    /// Forget the requests seen so far.
    pub fn clear(&self) {
        if let Ok(mut r) = self.record.lock() {
            r.requests.clear();
            r.messages.clear();
        }
    }
}

/// Write `response` to the client, closing the connection after it. The answer to a HEAD keeps
/// the Content-Length of the object it describes.
fn answer(client: TcpStream, mut response: Message, head: bool) -> std::io::Result<()> {
    if !head || response.header("content-length").is_none() {
        let len = response.body.len().to_string();
        response.set_header("Content-Length", &len);
    }
    response.set_header("Connection", "close");
    let mut client = client;
    response.write_to(&mut client)
}

fn serve(client: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let Some(mut request) = http::read_message(&mut reader, Body::Framed)? else {
        return Ok(());
    };
    let (method, path) = request.method_path();
    let head = method == "HEAD";
    let entry = match request.header("x-amz-target") {
        Some(t) => format!("{method} {path} {t}"),
        None => format!("{method} {path}"),
    };
    let note = |what: String| {
        if let Ok(mut r) = shared.record.lock() {
            r.injected
                .push(format!("{what} {} {entry}", faults::service(&request)));
        }
    };
    // Every rule counts every request it matches, whichever one picks it.
    let ruled = (shared.rules.iter())
        .map(|r| r.pick(&request))
        .fold(None, |first, next| first.or(next));
    let drawn = shared
        .faults
        .as_ref()
        .and_then(Faults::draw)
        .map(Then::Fail);
    let picked = drawn.or(ruled);
    match picked {
        Some(Then::Fail(Fault::Reset)) => {
            note(format!("{:?}", Fault::Reset));
            // The request was read; the connection closes without an answer.
            return client.shutdown(std::net::Shutdown::Both);
        }
        Some(Then::Fail(fault)) => {
            note(format!("{fault:?}"));
            return answer(client, faults::fault_response(fault, &request), false);
        }
        Some(then) => note(format!("{then:?}")),
        None => {}
    }
    if let Ok(mut r) = shared.record.lock() {
        r.requests.push(entry.clone());
        r.messages.push(Message {
            body: Vec::new(),
            ..request.clone()
        });
    }
    if let Some(shim) = &shared.shim {
        shim.before(&request);
        if let Some(instead) = shim.answer_instead(&request) {
            return answer(client, instead, head);
        }
    }
    request.set_header("Connection", "close");
    let mut up = TcpStream::connect(&shared.upstream)?;
    request.write_to(&mut up)?;
    let body = if head { Body::None } else { Body::ToEof };
    let mut response = http::read_message(&mut BufReader::new(up), body)?.unwrap_or_default();
    match picked {
        // The upstream committed; the answer is lost.
        Some(Then::CommitThenDrop) => return client.shutdown(std::net::Shutdown::Both),
        Some(Then::CommitThenInternalError) => {
            return answer(
                client,
                faults::fault_response(Fault::Internal, &request),
                false,
            )
        }
        _ => {}
    }
    if let Some(shim) = &shared.shim {
        shim.respond(&request, &mut response);
    }
    answer(client, response, head)
}
