//! Just enough HTTP/1.1 for the proxy: one message read or written, and one request sent.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

/// One HTTP request or response, headers as sent.
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// The request line (`GET /path HTTP/1.1`) or the status line.
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    /// A request `METHOD path` with `body` (and its Content-Length).
    pub fn request(method: &str, path: &str, body: &[u8]) -> Message {
        let mut m = Message {
            start: format!("{method} {path} HTTP/1.1"),
            body: body.to_vec(),
            ..Message::default()
        };
        m.set_header("Content-Length", &body.len().to_string());
        m
    }

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

    /// The status code of a response (0 when the status line is not one).
    pub fn status(&self) -> u16 {
        self.start
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }

    /// Replace (or add) a header.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
    }

    pub(crate) fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
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

/// What follows a message's headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// Content-Length bytes or chunks; nothing when neither is given.
    Framed,
    /// Content-Length bytes or chunks, else everything up to the end of the stream (a response).
    ToEof,
    /// Nothing, whatever the headers say: the answer to a HEAD request.
    None,
}

/// Reads one message: headers, then its body as `body` says.
pub(crate) fn read_message(r: &mut impl BufRead, body: Body) -> std::io::Result<Option<Message>> {
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
    if body == Body::None {
        return Ok(Some(m));
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
    } else if body == Body::ToEof {
        r.read_to_end(&mut m.body)?;
    }
    Ok(Some(m))
}

/// Send `request` to `upstream` (`http://host:port` or `host:port`) on a connection of its own
/// and read the answer: what a shim uses to change the emulator's state behind a client's back.
pub fn send(upstream: &str, request: &Message) -> std::io::Result<Message> {
    let host = upstream
        .strip_prefix("http://")
        .unwrap_or(upstream)
        .trim_end_matches('/');
    let mut request = request.clone();
    request.set_header("Host", host);
    request.set_header("Connection", "close");
    let mut up = TcpStream::connect(host)?;
    request.write_to(&mut up)?;
    let body = match request.method_path().0.as_str() {
        "HEAD" => Body::None,
        _ => Body::ToEof,
    };
    Ok(read_message(&mut BufReader::new(up), body)?.unwrap_or_default())
}
