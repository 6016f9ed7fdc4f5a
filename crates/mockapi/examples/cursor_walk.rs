//! A bare client walking a cursor listing, the reference of the benchmark's cursor scan:
//!
//! ```sh
//! cargo build -p mockapi --release --examples
//! target/release/examples/cursor_walk http://127.0.0.1:PORT /n/100000/cursor/customers 100
//! ```
//!
//! Arguments: base URL, the listing's path, page size. Over one keep-alive socket it asks for each page,
//! reads the body whole, parses it (serde_json, as a client must to find a cursor in general) and takes
//! `next_cursor`, until the cursor is null. Prints the seconds taken, then the pages and bytes read.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: cursor_walk BASE_URL PATH [PAGE_SIZE]";
    let addr = args.get(1).expect(usage).trim_start_matches("http://").trim_end_matches('/').to_string();
    let path = args.get(2).expect(usage);
    let size: u64 = args.get(3).map_or(100, |s| s.parse().unwrap());
    let start = Instant::now();
    let stream = TcpStream::connect(&addr).expect("connect");
    stream.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let (mut pages, mut bytes) = (0u64, 0u64);
    let mut cursor: Option<String> = None;
    let mut body = Vec::new();
    loop {
        let query = match &cursor {
            Some(c) => format!("limit={size}&cursor={c}"),
            None => format!("limit={size}"),
        };
        let req = format!("GET {path}?{query} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
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
        pages += 1;
        bytes += len as u64;
        let page: serde_json::Value = serde_json::from_slice(&body).expect("a JSON body");
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    println!("{:.3} {pages} {bytes}", start.elapsed().as_secs_f64());
}
