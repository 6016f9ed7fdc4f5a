//! Gmail API v1 (`/gmail/v1/users/me/…`): messages.list/get, threads.list/get, labels.list/create/patch/
//! delete, with Google's error bodies. 23 messages in 8 threads, newest first; 8 system and 2 user labels.

use serde_json::{json, Map, Value};

use super::{authorized, json, param, token, untoken, Collections};
use crate::handler::State;
use crate::http::{parse_query, percent_decode, Request, Response};

pub const MESSAGES: usize = 23;
const SENDERS: [&str; 4] = ["alice@example.com", "bob@example.org", "carol@example.net", "news@shop.example"];
const USER_LABELS: [(&str, &str); 2] = [("Label_1", "Projects"), ("Label_2", "Receipts")];
/// 2024-01-01T00:00:00Z in milliseconds; message i arrives i hours later.
const EPOCH_MS: i64 = 1_704_067_200_000;

struct Message {
    id: String,
    thread_id: String,
    from: &'static str,
    subject: String,
    snippet: String,
    labels: Vec<&'static str>,
    internal_date: i64,
    history_id: u64,
}

fn message_id(i: usize) -> String {
    format!("18c{:013x}", i * 4099)
}

fn message(i: usize) -> Message {
    let thread = (i - 1) / 3;
    let from = SENDERS[i % 4];
    let mut labels = vec![if i.is_multiple_of(5) { "SENT" } else { "INBOX" }];
    if i.is_multiple_of(3) {
        labels.push("UNREAD");
    }
    if i.is_multiple_of(4) {
        labels.push("IMPORTANT");
    }
    if i.is_multiple_of(2) {
        labels.push("Label_1");
    }
    if from.starts_with("news@") {
        labels.push("Label_2");
    }
    Message {
        id: message_id(i),
        thread_id: message_id(thread * 3 + 1),
        from,
        subject: format!("Thread {} message {i}", thread + 1),
        snippet: format!("Snippet of message {i}"),
        labels,
        internal_date: EPOCH_MS + i as i64 * 3_600_000,
        history_id: 5000 + i as u64,
    }
}

/// Newest first, as Gmail lists them.
fn messages() -> Vec<Message> {
    (1..=MESSAGES).rev().map(message).collect()
}

fn seed_labels() -> Vec<Value> {
    let mut labels: Vec<Value> = ["INBOX", "SENT", "UNREAD", "IMPORTANT", "STARRED", "TRASH", "SPAM", "DRAFT"]
        .iter()
        .map(|id| json!({ "id": id, "name": id, "type": "system" }))
        .collect();
    labels[0]["messageListVisibility"] = json!("hide");
    labels[0]["labelListVisibility"] = json!("labelShow");
    for (id, name) in USER_LABELS {
        labels.push(json!({ "id": id, "name": name, "messageListVisibility": "show", "labelListVisibility": "labelShow", "type": "user" }));
    }
    labels
}

/// Google's error body.
fn error(code: u16, status: &str, reason: &str, message: &str) -> Response {
    let body = json!({ "error": { "code": code, "message": message, "errors": [{ "message": message, "domain": "global", "reason": reason }], "status": status } });
    json(code, &body)
}

fn bad_request(message: &str) -> Response {
    error(400, "INVALID_ARGUMENT", "invalidArgument", message)
}

fn not_found() -> Response {
    error(404, "NOT_FOUND", "notFound", "Requested entity was not found.")
}

/// Google's answer to a query parameter the method does not have.
fn unknown_parameter(name: &str) -> Response {
    bad_request(&format!(
        "Invalid JSON payload received. Unknown name \"{name}\": Cannot bind query parameter. Field '{name}' could not be found in request message."
    ))
}

pub fn handle(state: &State, req: &Request, path: &str) -> Response {
    if !authorized(state, req) {
        let message = "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.";
        return error(401, "UNAUTHENTICATED", "unauthorized", message)
            .with_header("WWW-Authenticate", "Bearer realm=\"https://accounts.google.com/\"");
    }
    let Some(rest) = path.strip_prefix("/v1/users/me/") else { return not_found() };
    // Ids may arrive percent-encoded (`Label%5F3`).
    let decoded: Vec<String> = rest.split('/').map(percent_decode).collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let labels = &state.providers;
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["messages"]) => list(req, "messages"),
        ("GET", ["threads"]) => list(req, "threads"),
        ("GET", ["messages", id]) => get_message(req, id),
        ("GET", ["threads", id]) => {
            let members: Vec<Value> = messages().iter().rev().filter(|m| m.thread_id == *id).map(full).collect();
            match members.last() {
                Some(last) => json(200, &json!({ "id": id, "historyId": last["historyId"], "messages": members })),
                None => not_found(),
            }
        }
        ("GET", ["labels"]) => labels.with("gmail/labels", seed_labels, |all| json(200, &json!({ "labels": all }))),
        ("POST", ["labels"]) => create_label(labels, req),
        ("PATCH", ["labels", id]) => patch_label(labels, req, id),
        ("DELETE", ["labels", id]) => {
            labels.with("gmail/labels", seed_labels, |all| match all.iter().position(|l| l["id"] == *id) {
                None => not_found(),
                Some(i) if all[i]["type"] == "system" => bad_request("Invalid delete request"),
                Some(i) => {
                    all.remove(i);
                    Response::no_content()
                }
            })
        }
        _ => not_found(),
    }
}

/// messages.get: `format` `full` (the default: the MIME tree with bodies), `metadata` (headers only, those
/// named by repeated `metadataHeaders`, or all), `minimal` (no payload) or `raw` (not served here).
fn get_message(req: &Request, id: &str) -> Response {
    let params = parse_query(&req.query);
    if let Some((name, _)) = params.iter().find(|(k, _)| !["format", "metadataHeaders"].contains(&k.as_str())) {
        return unknown_parameter(name);
    }
    let format = param(&params, "format").unwrap_or("full");
    if !["full", "metadata", "minimal", "raw"].contains(&format) {
        return bad_request(&format!("Invalid value at 'format' ({format})"));
    }
    let Some(m) = messages().into_iter().find(|m| m.id == id) else { return not_found() };
    let mut message = full(&m);
    match format {
        "minimal" | "raw" => {
            message.as_object_mut().expect("an object").remove("payload");
        }
        "metadata" => {
            // Headers only: the parts and bodies go, and only the named headers stay when some are named.
            let named: Vec<String> =
                params.iter().filter(|(k, _)| k == "metadataHeaders").map(|(_, v)| v.to_ascii_lowercase()).collect();
            let payload = &mut message["payload"];
            let headers = payload["headers"].as_array().cloned().unwrap_or_default();
            let kept: Vec<Value> = headers
                .into_iter()
                .filter(|h| named.is_empty() || named.contains(&h["name"].as_str().unwrap_or("").to_ascii_lowercase()))
                .collect();
            *payload = json!({ "mimeType": payload["mimeType"], "headers": kept });
        }
        _ => {}
    }
    json(200, &message)
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE.encode(bytes)
}

/// A leaf part: its headers and its content in base64url, as Gmail gives it.
fn leaf(mime: &str, charset: &str, content: &[u8]) -> Value {
    json!({ "partId": "", "mimeType": mime, "filename": "",
            "headers": [{ "name": "Content-Type", "value": format!("{mime}; charset=\"{charset}\"") }],
            "body": { "size": content.len(), "data": base64url(content) } })
}

/// messages.get in the default format. Bodies vary by message: plain and HTML alternatives (every fourth,
/// with an attachment), HTML only, plain text in ISO-8859-1, plain text in UTF-8.
fn full(m: &Message) -> Value {
    let i = messages().iter().position(|x| x.id == m.id).map_or(0, |p| MESSAGES - p);
    let text = format!("Hello from {}.\nThis is message {i}.", m.from);
    let html =
        format!("<html><body><p>Hello from <b>{}</b>.</p><p>This is message {i} &amp; more.</p></body></html>", m.from);
    let (mime, mut payload) = match i % 4 {
        0 => {
            let alternative = json!({ "mimeType": "multipart/alternative", "filename": "", "headers": [],
                "body": { "size": 0 }, "parts": [leaf("text/plain", "UTF-8", text.as_bytes()), leaf("text/html", "UTF-8", html.as_bytes())] });
            let attachment = json!({ "mimeType": "application/pdf", "filename": "invoice.pdf", "headers": [],
                "body": { "attachmentId": format!("att-{i}"), "size": 52_000 } });
            ("multipart/mixed", json!({ "body": { "size": 0 }, "parts": [alternative, attachment] }))
        }
        1 => ("text/html", leaf("text/html", "UTF-8", html.as_bytes())),
        2 => {
            // "Café" in Latin-1: é is one byte, 0xE9.
            let mut latin1 = format!("Caf\u{e9} for message {i}.").chars().map(|c| c as u32 as u8).collect::<Vec<u8>>();
            latin1.push(b'\n');
            ("text/plain", leaf("text/plain", "ISO-8859-1", &latin1))
        }
        _ => ("text/plain", leaf("text/plain", "UTF-8", text.as_bytes())),
    };
    // A single-part message's payload carries the message's headers, its Content-Type with the charset.
    let content_type = payload["headers"][0]["value"].as_str().unwrap_or(mime).to_string();
    let mut headers = vec![
        json!({ "name": "From", "value": m.from }),
        json!({ "name": "To", "value": "me@example.com" }),
        json!({ "name": "Subject", "value": m.subject }),
        json!({ "name": "Date", "value": "Mon, 1 Jan 2024 00:00:00 +0000" }),
        json!({ "name": "Content-Type", "value": content_type }),
    ];
    if i == 7 {
        // A header as written in the message: an RFC 2047 encoded word.
        headers[2] = json!({ "name": "Subject", "value": "=?UTF-8?B?Q2Fmw6kgbWVudQ==?=" });
        headers.push(json!({ "name": "Cc", "value": "dave@example.com" }));
    }
    payload["mimeType"] = json!(mime);
    payload["headers"] = Value::Array(headers);
    payload["partId"] = json!("");
    payload["filename"] = json!("");
    json!({
        "id": m.id, "threadId": m.thread_id, "labelIds": m.labels, "snippet": m.snippet,
        "historyId": m.history_id.to_string(), "internalDate": m.internal_date.to_string(), "sizeEstimate": 2048,
        "payload": payload
    })
}

/// Whether a message matches a Gmail search: terms ANDed; `from:`, `subject:`, `label:`, `in:`, `is:`
/// operators, other words anywhere in sender, subject or snippet (case-insensitive).
fn matches(m: &Message, query: &str) -> bool {
    // A label by id, or a user label by name.
    let has = |label: &str| {
        m.labels.iter().any(|l| {
            l.eq_ignore_ascii_case(label)
                || USER_LABELS.iter().any(|(id, name)| id == l && name.eq_ignore_ascii_case(label))
        })
    };
    let contains = |field: &str, word: &str| field.to_lowercase().contains(&word.to_lowercase());
    query.split_whitespace().all(|term| match term.split_once(':') {
        Some(("from", who)) => contains(m.from, who),
        Some(("subject", word)) => contains(&m.subject, word),
        Some(("label" | "in", name)) => has(name),
        Some(("is", "unread")) => has("UNREAD"),
        Some(("is", "read")) => !has("UNREAD"),
        Some(("is", "important")) => has("IMPORTANT"),
        _ => contains(m.from, term) || contains(&m.subject, term) || contains(&m.snippet, term),
    })
}

/// messages.list and threads.list: `maxResults` (default 100, at most 500), `pageToken`, `q`, `labelIds`
/// (repeatable; all must be on the message), `includeSpamTrash`. The list member is left out when empty.
fn list(req: &Request, kind: &'static str) -> Response {
    let params = parse_query(&req.query);
    if let Some((name, _)) = params
        .iter()
        .find(|(k, _)| !["maxResults", "pageToken", "q", "labelIds", "includeSpamTrash"].contains(&k.as_str()))
    {
        return unknown_parameter(name);
    }
    let max = match param(&params, "maxResults").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if n >= 1 => n.min(500),
        Some(_) => return bad_request("Invalid value for maxResults"),
    };
    let start = match param(&params, "pageToken") {
        None => 0,
        Some(t) => match untoken(kind, t) {
            Some(start) => start,
            None => return bad_request("Invalid pageToken"),
        },
    };
    let query = param(&params, "q").unwrap_or("");
    let label_ids: Vec<&str> = params.iter().filter(|(k, _)| k == "labelIds").map(|(_, v)| v.as_str()).collect();
    let all = messages();
    let selected = all.iter().filter(|m| matches(m, query) && label_ids.iter().all(|l| m.labels.contains(l)));
    let items: Vec<Value> = match kind {
        "messages" => selected.map(|m| json!({ "id": m.id, "threadId": m.thread_id })).collect(),
        _ => {
            // A thread matches when one of its messages does; the thread shows its latest message.
            let mut threads: Vec<&str> = Vec::new();
            for m in selected {
                if !threads.contains(&m.thread_id.as_str()) {
                    threads.push(&m.thread_id);
                }
            }
            threads
                .into_iter()
                .map(|id| {
                    let latest = all.iter().find(|m| m.thread_id == id).expect("thread of a listed message");
                    json!({ "id": id, "snippet": latest.snippet, "historyId": latest.history_id.to_string() })
                })
                .collect()
        }
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(max).collect();
    let mut body = Map::new();
    let end = start + page.len();
    if !page.is_empty() {
        body.insert(kind.into(), Value::Array(page));
    }
    if end < total {
        body.insert("nextPageToken".into(), json!(token(kind, end)));
    }
    body.insert("resultSizeEstimate".into(), json!(total));
    json(200, &Value::Object(body))
}

/// Label fields a request body may carry.
const LABEL_FIELDS: [&str; 6] = ["id", "name", "type", "messageListVisibility", "labelListVisibility", "color"];

/// The body's label fields (null ones dropped), or Google's error for an unknown one.
fn label_body(req: &Request) -> Result<Map<String, Value>, Response> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return Err(bad_request("Invalid JSON payload received."));
    };
    if let Some(name) = body.keys().find(|k| !LABEL_FIELDS.contains(&k.as_str())) {
        return Err(bad_request(&format!(
            "Invalid JSON payload received. Unknown name \"{name}\": Cannot find field."
        )));
    }
    Ok(body.into_iter().filter(|(_, v)| !v.is_null()).collect())
}

fn create_label(labels: &Collections, req: &Request) -> Response {
    let body = match label_body(req) {
        Ok(body) => body,
        Err(resp) => return resp,
    };
    let Some(name) = body.get("name").and_then(Value::as_str).filter(|n| !n.trim().is_empty()) else {
        return bad_request("Invalid label name");
    };
    labels.with("gmail/labels", seed_labels, |all| {
        if all.iter().any(|l| l["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))) {
            return error(409, "ALREADY_EXISTS", "duplicate", "Label name exists or conflicts");
        }
        let next = all.iter().filter_map(|l| l["id"].as_str()?.strip_prefix("Label_")?.parse::<u64>().ok()).max().unwrap_or(0) + 1;
        let mut label = json!({ "id": format!("Label_{next}"), "name": name, "messageListVisibility": "show", "labelListVisibility": "labelShow", "type": "user" });
        for field in ["messageListVisibility", "labelListVisibility", "color"] {
            if let Some(v) = body.get(field) {
                label[field] = v.clone();
            }
        }
        all.push(label.clone());
        json(200, &label)
    })
}

fn patch_label(labels: &Collections, req: &Request, id: &str) -> Response {
    let body = match label_body(req) {
        Ok(body) => body,
        Err(resp) => return resp,
    };
    labels.with("gmail/labels", seed_labels, |all| {
        let Some(label) = all.iter_mut().find(|l| l["id"] == id) else { return not_found() };
        if label["type"] == "system" {
            return bad_request("Invalid update request");
        }
        for field in ["name", "messageListVisibility", "labelListVisibility", "color"] {
            if let Some(v) = body.get(field) {
                label[field] = v.clone();
            }
        }
        json(200, label)
    })
}
