//! A loopback HTTP server that answers every request with the same raw bytes, set per test case: status
//! line, headers and body are whatever the fuzzer made, framing errors included.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

pub struct Canned {
    pub base: String,
    response: Arc<Mutex<Arc<Vec<u8>>>>,
}

impl Canned {
    pub fn start(rt: &Runtime) -> Canned {
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let response = Arc::new(Mutex::new(Arc::new(Vec::new())));
        rt.spawn(serve(listener, response.clone()));
        Canned { base, response }
    }

    /// The bytes every following request gets.
    pub fn respond_with(&self, raw: Vec<u8>) {
        *self.response.lock().unwrap() = Arc::new(raw);
    }
}

async fn serve(listener: TcpListener, response: Arc<Mutex<Arc<Vec<u8>>>>) {
    while let Ok((mut socket, _)) = listener.accept().await {
        let raw = response.lock().unwrap().clone();
        tokio::spawn(async move {
            // Read the request head (GETs have no body); the request itself does not matter.
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = socket.write_all(&raw).await;
            let _ = socket.shutdown().await;
        });
    }
}

/// How the body's length is announced: correctly, not at all (the body ends with the connection), or
/// wrongly in either direction.
#[derive(Clone, Copy, Debug)]
pub enum Framing {
    Exact,
    UntilClose,
    TooLong,
    TooShort,
}

/// An HTTP/1.1 response. `Connection: close` keeps the client from reusing a connection the server is
/// about to shut, which would turn every second request into a spurious connection error.
pub fn response(status: u16, headers: &[(String, String)], body: &[u8], framing: Framing) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} Fuzz\r\nConnection: close\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    match framing {
        Framing::Exact => out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes()),
        Framing::UntilClose => {}
        Framing::TooLong => out.extend_from_slice(format!("Content-Length: {}\r\n", body.len() + 10).as_bytes()),
        Framing::TooShort => out.extend_from_slice(format!("Content-Length: {}\r\n", body.len() / 2).as_bytes()),
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}
