//! A hostile provider, for testing what connector_fdw lets through: bodies that echo the request's
//! credentials (as text, JSON with `\uXXXX` escapes, bytes that are not UTF-8), redirects to another
//! origin, and bodies far larger than their compressed size. Routes under `/hostile/`; documented in
//! README.md.

use std::io::Write as _;

use crate::http::Request;
use crate::http::Response;

/// The echo of a request: every header but `host` and `user-agent` (which vary between runs and versions),
/// one `name: value` per line, then the raw query.
fn echo(req: &Request) -> String {
    let mut text = String::new();
    for (name, value) in &req.headers {
        if name != "host" && name != "user-agent" {
            text.push_str(&format!("{name}: {value}\n"));
        }
    }
    text.push_str(&format!("query: {}", req.query));
    text
}

fn status(segment: Option<&str>) -> Option<u16> {
    match segment {
        None => Some(200),
        Some(s) => s.parse().ok().filter(|s| (200..600).contains(s)),
    }
}

pub fn handle(base_url: &str, req: &Request, rest: &str) -> Response {
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let not_found = || Response::error(404, &format!("not found: {}", req.path));
    match segments.as_slice() {
        // `/echo[/{status}[/pad/{n}]]`: text/plain; `pad` puts n `x` before the echo.
        ["echo", more @ ..] => {
            let (code, pad) = match more {
                [] => (Some(200), 0),
                [s] => (status(Some(s)), 0),
                [s, "pad", n] => (status(Some(s)), n.parse().unwrap_or(0)),
                _ => (None, 0),
            };
            let Some(code) = code else { return not_found() };
            Response::new(code, "text/plain", format!("{}{}", "x".repeat(pad), echo(req)).into_bytes())
        }
        // `/echo.bin[/{status}]`: the echo between bytes that are not UTF-8.
        ["echo.bin", more @ ..] => {
            let Some(code) = status(more.first().copied()) else { return not_found() };
            let mut body = vec![0xff, 0xfe, b' '];
            body.extend_from_slice(echo(req).as_bytes());
            body.push(0x80);
            Response::new(code, "application/octet-stream", body)
        }
        // `/echo.json`: rows with the echo as a string, and the same with every character `\uXXXX`.
        ["echo.json"] => {
            let text = echo(req);
            let escaped: String = text.encode_utf16().map(|u| format!("\\u{u:04X}")).collect();
            let shown = serde_json::to_string(&text).expect("a string serializes");
            Response::json(200, format!(r#"[{{"id":1,"echo":{shown},"escaped":"{escaped}"}}]"#))
        }
        // `/redirect/same/{path…}` → 302 to `{path}` on this server; `/redirect/localhost/{path…}` → 302 to
        // the same server as `localhost`, another origin than `127.0.0.1`.
        ["redirect", to, path @ ..] => {
            let port = base_url.rsplit(':').next().unwrap_or("");
            let origin = match *to {
                "same" => base_url.to_string(),
                "localhost" => format!("http://localhost:{port}"),
                _ => return not_found(),
            };
            let query = if req.query.is_empty() { String::new() } else { format!("?{}", req.query) };
            Response::new(302, "text/plain", Vec::new())
                .with_header("Location", format!("{origin}/{}{query}", path.join("/")))
        }
        // `/gzip/{kib}`: `[{"id":1,"pad":"000…"}]` with kib KiB of padding, gzip-compressed (about
        // 1/1000 of that on the wire).
        ["gzip", kib] => {
            let Ok(kib) = kib.parse::<usize>() else { return not_found() };
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let _ = encoder.write_all(br#"[{"id":1,"pad":""#);
            let zeros = vec![b'0'; 1024];
            for _ in 0..kib {
                let _ = encoder.write_all(&zeros);
            }
            let _ = encoder.write_all(br#""}]"#);
            let body = encoder.finish().unwrap_or_default();
            Response::json(200, body).with_header("Content-Encoding", "gzip")
        }
        // `/big/{kib}`: the same JSON, uncompressed.
        ["big", kib] => {
            let Ok(kib) = kib.parse::<usize>() else { return not_found() };
            Response::json(200, format!(r#"[{{"id":1,"pad":"{}"}}]"#, "0".repeat(kib * 1024)))
        }
        _ => not_found(),
    }
}
