//! Throughput check against a running mockapi:
//!
//! ```sh
//! cargo build -p mockapi --release --examples
//! target/release/mockapi --port 0 --port-file /tmp/mockapi.port &
//! target/release/examples/throughput http://127.0.0.1:$(cat /tmp/mockapi.port) 2000 1
//! ```
//!
//! Arguments: base URL, pages per connection (default 2000), connections
//! (default 1). Each connection fetches `/n/1000000/page/customers` pages of
//! 100 records sequentially over one keep-alive socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

fn fetch_pages(addr: &str, first_page: u64, pages: u64) -> u64 {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut bytes = 0;
    let mut body = Vec::new();
    for page in first_page..first_page + pages {
        let req = format!("GET /n/1000000/page/customers?_page={page}&_limit=100 HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        writer.write_all(req.as_bytes()).unwrap();
        let mut len = 0;
        let mut line = String::new();
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            assert!(!line.starts_with("HTTP/1.1 ") || line.starts_with("HTTP/1.1 200"), "{line}");
        }
        body.resize(len, 0);
        reader.read_exact(&mut body).unwrap();
        bytes += len as u64;
    }
    bytes
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).expect("usage: throughput BASE_URL [PAGES] [CONNECTIONS]");
    let addr = url.trim_start_matches("http://").trim_end_matches('/').to_string();
    let pages: u64 = args.get(2).map_or(2000, |s| s.parse().unwrap());
    let conns: u64 = args.get(3).map_or(1, |s| s.parse().unwrap());
    let start = Instant::now();
    let workers: Vec<_> = (0..conns)
        .map(|c| {
            let addr = addr.clone();
            std::thread::spawn(move || fetch_pages(&addr, 1 + c * pages, pages))
        })
        .collect();
    let bytes: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let secs = start.elapsed().as_secs_f64();
    let total = pages * conns;
    println!(
        "{total} pages of 100 records over {conns} connection(s): {:.3} s, {:.0} pages/s, {:.1} MB/s",
        secs,
        total as f64 / secs,
        bytes as f64 / secs / 1e6
    );
}
