//! Dropbox API v2 (`/dropbox/2/files/…`): `list_folder`, `list_folder/continue` and `get_metadata`, RPC style
//! (POST, JSON arguments in the body), with Dropbox's errors: 409 with a tagged `error` and an
//! `error_summary` for route errors, plain-text 400s for malformed calls.

use serde_json::{json, Value};

use super::{authorized, bearer, json, token, untoken};
use crate::handler::State;
use crate::http::{Request, Response};

/// (path, size for files); folders first in each folder, as a tree walk lists them.
const TREE: [(&str, Option<u64>); 11] = [
    ("/Documents", None),
    ("/Photos", None),
    ("/budget.xlsx", Some(24_576)),
    ("/readme.md", Some(512)),
    ("/todo.txt", Some(230)),
    ("/Documents/Archive", None),
    ("/Documents/notes.txt", Some(1_200)),
    ("/Documents/report.pdf", Some(88_000)),
    ("/Documents/Archive/2023.zip", Some(4_194_304)),
    ("/Photos/beach.jpg", Some(2_310_000)),
    ("/Photos/city.jpg", Some(1_870_000)),
];

fn metadata(i: usize) -> Value {
    let (path, size) = TREE[i];
    let name = path.rsplit('/').next().unwrap_or(path);
    let id = format!("id:a4ayc_80_OEAAAAAAAAA{:02}", i + 1);
    match size {
        None => {
            json!({ ".tag": "folder", "name": name, "path_lower": path.to_lowercase(), "path_display": path, "id": id })
        }
        Some(size) => json!({
            ".tag": "file", "name": name, "path_lower": path.to_lowercase(), "path_display": path, "id": id,
            "client_modified": format!("2024-01-{:02}T10:00:00Z", i + 1),
            "server_modified": format!("2024-01-{:02}T10:00:05Z", i + 1),
            "rev": format!("{:015x}", 0x5d0000000u64 + i as u64), "size": size, "is_downloadable": true,
            "content_hash": format!("{:064x}", (i as u128 + 1) * 0x9e37_79b9_7f4a_7c15),
        }),
    }
}

/// Entries directly in `folder` (or below it, `recursive`), in listing order.
fn listing(folder: &str, recursive: bool) -> Vec<usize> {
    let folder = folder.to_lowercase();
    (0..TREE.len())
        .filter(|&i| {
            let path = TREE[i].0.to_lowercase();
            let Some(below) = path.strip_prefix(&folder).and_then(|p| p.strip_prefix('/')) else { return false };
            recursive || !below.contains('/')
        })
        .collect()
}

/// A plain-text 400, as Dropbox answers calls it cannot parse.
fn bad_call(route: &str, message: &str) -> Response {
    Response::new(
        400,
        "text/plain; charset=utf-8",
        format!("Error in call to API function \"{route}\": {message}").into_bytes(),
    )
}

/// A route error: 409 with the tagged union and its summary.
fn route_error(summary: &str, error: Value) -> Response {
    json(409, &json!({ "error_summary": summary, "error": error }))
}

fn path_error(tag: &str) -> Response {
    route_error(&format!("path/{tag}/.."), json!({ ".tag": "path", "path": { ".tag": tag } }))
}

pub fn handle(state: &State, req: &Request, path: &str) -> Response {
    let route = path.trim_start_matches("/2/");
    if !["files/list_folder", "files/list_folder/continue", "files/get_metadata"].contains(&route) {
        return Response::new(404, "text/plain; charset=utf-8", b"Unknown API function".to_vec());
    }
    if bearer(req).is_none() {
        return bad_call(route, "Must provide HTTP header \"Authorization\" or URL parameter \"authorization\".");
    }
    if !authorized(state, req) {
        let body = json!({ "error_summary": "invalid_access_token/..", "error": { ".tag": "invalid_access_token" } });
        return json(401, &body).with_header("WWW-Authenticate", "Bearer realm=\"Dropbox-API\"");
    }
    if req.method != "POST" {
        return Response::error(405, "method not allowed").with_header("Allow", "POST");
    }
    if !req.header("content-type").is_some_and(|t| t.starts_with("application/json")) {
        let given = req.header("content-type").unwrap_or("");
        return bad_call(route, &format!("Bad HTTP \"Content-Type\" header: \"{given}\". Expecting one of \"application/json\", \"application/json; charset=utf-8\", \"text/plain; charset=dropbox-cors-hack\"."));
    }
    let Ok(Value::Object(args)) = serde_json::from_slice::<Value>(&req.body) else {
        return bad_call(route, "request body: could not decode input as JSON");
    };
    let known: &[&str] = match route {
        "files/list_folder" => &[
            "path",
            "recursive",
            "limit",
            "include_deleted",
            "include_media_info",
            "include_has_explicit_shared_members",
            "include_mounted_folders",
            "include_non_downloadable_files",
        ],
        "files/list_folder/continue" => &["cursor"],
        _ => &["path", "include_media_info", "include_deleted", "include_has_explicit_shared_members"],
    };
    if let Some(unknown) = args.keys().find(|k| !known.contains(&k.as_str())) {
        return bad_call(route, &format!("request body: unknown field '{unknown}'"));
    }
    match route {
        "files/list_folder" => {
            let path = args.get("path").and_then(Value::as_str).unwrap_or("");
            let recursive = args.get("recursive").and_then(Value::as_bool).unwrap_or(false);
            let limit = match args.get("limit") {
                None => 2000,
                Some(v) => match v.as_u64().filter(|n| (1..=2000).contains(n)) {
                    Some(n) => n as usize,
                    None => {
                        return bad_call(route, &format!("request body: limit: {v} is not within the range [1, 2000]"))
                    }
                },
            };
            if !path.is_empty() && !path.starts_with('/') {
                return bad_call(route, &format!("request body: path: '{path}' did not match pattern '(/(.|[\\r\\n])*)?|id:.*|(ns:[0-9]+(/.*)?)'"));
            }
            if !path.is_empty() {
                match TREE.iter().find(|(p, _)| p.eq_ignore_ascii_case(path)) {
                    None => return path_error("not_found"),
                    Some((_, Some(_))) => return path_error("not_folder"),
                    Some(_) => {}
                }
            }
            page(path, recursive, limit, 0)
        }
        "files/list_folder/continue" => {
            let cursor = args.get("cursor").and_then(Value::as_str).unwrap_or("");
            match decode_cursor(cursor) {
                Some((path, recursive, limit, start)) => page(&path, recursive, limit, start),
                None => bad_call(route, "Invalid \"cursor\" parameter: the cursor is malformed"),
            }
        }
        _ => {
            let path = args.get("path").and_then(Value::as_str).unwrap_or("");
            match TREE.iter().position(|(p, _)| p.eq_ignore_ascii_case(path)) {
                Some(i) => json(200, &metadata(i)),
                None => path_error("not_found"),
            }
        }
    }
}

/// A page of a listing and the cursor that continues it (given even on the last page, for later changes).
fn page(path: &str, recursive: bool, limit: usize, start: usize) -> Response {
    let all = listing(path, recursive);
    let entries: Vec<Value> = all.iter().skip(start).take(limit).map(|&i| metadata(i)).collect();
    let end = start + entries.len();
    let cursor = encode_cursor(path, recursive, limit, end);
    json(200, &json!({ "entries": entries, "cursor": cursor, "has_more": end < all.len() }))
}

/// The cursor holds the listing's arguments and position, as Dropbox's does (opaquely).
fn encode_cursor(path: &str, recursive: bool, limit: usize, position: usize) -> String {
    token(&format!("{path}|{recursive}|{limit}"), position)
}

fn decode_cursor(cursor: &str) -> Option<(String, bool, usize, usize)> {
    use base64::Engine as _;
    let text = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (kind, _) = text.rsplit_once(':')?;
    let mut parts = kind.split('|');
    let (path, recursive, limit) = (parts.next()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    Some((path.to_string(), recursive, limit, untoken(kind, cursor)?))
}
