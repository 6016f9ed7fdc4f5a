//! Minimal HTTP/1.1 framing on top of `httparse`.
//!
//! Hand-rolled (instead of hyper) because the fault modes need byte-level
//! control over what reaches the socket: half bodies, dripping, resets.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest accepted request head / body; a mock never needs more.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

/// One parsed request. Header names are lower-cased.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path part of the target, as received (not percent-decoded).
    pub path: String,
    /// Raw query string without the `?`, "" if none.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub keep_alive: bool,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The connection failed or closed mid-request: just drop it.
    Closed,
    /// Malformed or unsupported request: answer 400 and close.
    Bad(String),
}

impl From<io::Error> for ReadError {
    fn from(_: io::Error) -> Self {
        ReadError::Closed
    }
}

/// Reads the next request from `stream`. `buf` carries bytes already read
/// past the previous request (pipelining). Returns `Ok(None)` on a clean EOF
/// between requests.
pub async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<Option<Request>, ReadError> {
    loop {
        if !buf.is_empty() {
            if let Some((req, used)) = parse_head(buf)? {
                buf.drain(..used);
                return read_body(stream, buf, req).await.map(Some);
            }
            if buf.len() > MAX_HEAD {
                return Err(ReadError::Bad("request head too large".into()));
            }
        }
        if read_more(stream, buf).await? == 0 {
            return if buf.is_empty() { Ok(None) } else { Err(ReadError::Closed) };
        }
    }
}

async fn read_more<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Parses the request head; `None` if more bytes are needed. The returned
/// request still lacks its body; `body` holds the Content-Length to read.
fn parse_head(buf: &[u8]) -> Result<Option<(Request, usize)>, ReadError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    let used = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(ReadError::Bad(format!("malformed request: {e}"))),
    };
    let target = parsed.path.unwrap_or("/");
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    };
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).trim().to_string()))
        .collect();
    let connection =
        headers.iter().find(|(n, _)| n == "connection").map(|(_, v)| v.to_ascii_lowercase()).unwrap_or_default();
    // HTTP/1.1 defaults to keep-alive, HTTP/1.0 to close.
    let keep_alive =
        if parsed.version == Some(1) { !connection.contains("close") } else { connection.contains("keep-alive") };
    let req = Request {
        method: parsed.method.unwrap_or("GET").to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: Vec::new(),
        keep_alive,
    };
    Ok(Some((req, used)))
}

async fn read_body<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    mut req: Request,
) -> Result<Request, ReadError> {
    if req.header("transfer-encoding").is_some_and(|v| !v.eq_ignore_ascii_case("identity")) {
        return Err(ReadError::Bad("chunked request bodies are not supported; send Content-Length".into()));
    }
    let len = match req.header("content-length") {
        None => 0,
        Some(v) => v.parse::<usize>().map_err(|_| ReadError::Bad("invalid Content-Length".into()))?,
    };
    if len > MAX_BODY {
        return Err(ReadError::Bad("request body too large".into()));
    }
    while buf.len() < len {
        if read_more(stream, buf).await? == 0 {
            return Err(ReadError::Closed);
        }
    }
    req.body = buf.drain(..len).collect();
    Ok(req)
}

/// A complete response; serialised by [`Response::to_bytes`].
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Response { status, headers: vec![("Content-Type".into(), content_type.into())], body }
    }

    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::new(status, "application/json", body.into())
    }

    /// `{"error":{"message":…}}`, the error shape used everywhere.
    pub fn error(status: u16, message: &str) -> Self {
        let body = serde_json::json!({ "error": { "message": message } });
        Self::json(status, body.to_string())
    }

    pub fn no_content() -> Self {
        Response { status: 204, headers: Vec::new(), body: Vec::new() }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Status line and headers, with `Content-Length` set to `content_length`
    /// (faults may announce a length that differs from what is sent).
    pub fn head_bytes(&self, content_length: usize, keep_alive: bool) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str(&format!("Content-Length: {content_length}\r\n"));
        if !keep_alive {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        head.into_bytes()
    }

    /// The full wire form; one buffer so it goes out in a single write.
    pub fn to_bytes(&self, keep_alive: bool) -> Vec<u8> {
        let mut out = self.head_bytes(self.body.len(), keep_alive);
        out.extend_from_slice(&self.body);
        out
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Splits a raw query string into percent-decoded `(name, value)` pairs,
/// keeping order and repeats.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(part), String::new()),
        })
        .collect()
}

/// Decodes `%XX` and `+` (form encoding); invalid escapes are kept verbatim.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query() {
        let q = parse_query("a=1&b=x%3Ay+z&a=2&flag&bad=%zz&end=%4");
        assert_eq!(
            q,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x:y z".into()),
                ("a".into(), "2".into()),
                ("flag".into(), "".into()),
                ("bad".into(), "%zz".into()),
                ("end".into(), "%4".into()),
            ]
        );
    }
}
