//! Slack Web API (`/slack/api/{method}`): `conversations.list`, `users.list` and `conversations.history`
//! page with `limit` and `cursor` (the next one in `response_metadata.next_cursor`, "" on the last page);
//! history takes `channel` (required), `oldest`, `latest` and `inclusive`; `chat.postMessage` posts a
//! message (JSON or form body). Like Slack, every answer is HTTP 200 — errors are `{"ok": false, "error":
//! "…"}` — except rate limiting: `conversations.history` of channel `C0RATELIM` answers its first call
//! with 429 and `Retry-After: 1`. Authentication: `Bearer test-token`.

use serde_json::{json, Value};

use super::{authorized, json, param, token, untoken};
use crate::handler::State;
use crate::http::{parse_query, Request, Response};

/// 2024-03-01T00:00:00Z: the first message's `ts`; each next one ten minutes later.
pub const EPOCH: i64 = 1_709_251_200;
pub const GENERAL_MESSAGES: usize = 12;

fn channels() -> Vec<Value> {
    let names = [
        ("C0GENERAL", "general", false),
        ("C0RANDOM", "random", false),
        ("C0DEV", "dev", false),
        ("C0OLD", "old-projects", true),
        ("C0RATELIM", "busy", false),
    ];
    names
        .iter()
        .enumerate()
        .map(|(i, (id, name, archived))| {
            json!({"id": id, "name": name, "is_channel": true, "is_private": false, "is_archived": archived,
                   "created": EPOCH - 86_400 * (30 - i as i64), "creator": "U0ADA", "num_members": 3 + i,
                   "topic": {"value": format!("About {name}"), "creator": "U0ADA", "last_set": 0},
                   "purpose": {"value": format!("The {name} channel"), "creator": "U0ADA", "last_set": 0}})
        })
        .collect()
}

fn users() -> Vec<Value> {
    let people = [
        ("U0ADA", "ada", "Ada Lovelace", false),
        ("U0BRIAN", "brian", "Brian Kernighan", false),
        ("U0CHEN", "chen", "Chen Wei", false),
        ("U0BOT", "deploybot", "Deploy Bot", true),
        ("U0DANA", "dana", "Dana Scully", false),
    ];
    people
        .iter()
        .map(|(id, name, real, bot)| {
            json!({"id": id, "team_id": "T0MOCK", "name": name, "real_name": real, "deleted": false, "is_bot": bot,
                   "is_admin": *id == "U0ADA", "tz": "Europe/London",
                   "profile": {"email": if *bot { Value::Null } else { json!(format!("{name}@example.com")) }, "display_name": name, "real_name": real}})
        })
        .collect()
}

fn ts(i: usize) -> String {
    format!("{}.{:06}", EPOCH + 600 * i as i64, 100 + i)
}

/// Messages of a channel, newest first as Slack returns them.
fn messages(channel: &str) -> Vec<Value> {
    let count = match channel {
        "C0GENERAL" => GENERAL_MESSAGES,
        "C0RANDOM" | "C0RATELIM" => 3,
        _ => 0,
    };
    let users = ["U0ADA", "U0BRIAN", "U0CHEN"];
    (1..=count).rev().map(|i| json!({"type": "message", "user": users[i % 3], "text": format!("Message {i} in {channel}"), "ts": ts(i)})).collect()
}

fn fail(error: &str) -> Response {
    json(200, &json!({ "ok": false, "error": error }))
}

pub fn handle(state: &State, req: &Request, path: &str) -> Response {
    let Some(method) = path.strip_prefix("/api/") else { return Response::error(404, "not found") };
    if !authorized(state, req) {
        return fail("not_authed");
    }
    let mut params = parse_query(&req.query);
    // Arguments may come as a form body too (or JSON, for chat.postMessage).
    if req.header("content-type").unwrap_or("").starts_with("application/x-www-form-urlencoded") {
        params.extend(parse_query(std::str::from_utf8(&req.body).unwrap_or("")));
    }
    match method {
        "conversations.list" => {
            let archived = param(&params, "exclude_archived") != Some("true");
            let all: Vec<Value> = channels().into_iter().filter(|c| archived || c["is_archived"] == false).collect();
            page(&params, "channels", all, |_| json!({}))
        }
        "users.list" => page(&params, "members", users(), |_| json!({"cache_ts": EPOCH})),
        "conversations.history" => history(state, &params),
        "chat.postMessage" if req.method == "POST" => post_message(state, req, &params),
        _ => fail("unknown_method"),
    }
}

/// One page of `items`: `limit` (default 100, at most 1000) from the position in `cursor`.
fn page(params: &[(String, String)], member: &str, items: Vec<Value>, extra: impl Fn(bool) -> Value) -> Response {
    let limit = match param(params, "limit").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return fail("invalid_limit"),
    };
    let start = match param(params, "cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(cursor) => match untoken(member, cursor) {
            Some(at) => at,
            None => return fail("invalid_cursor"),
        },
    };
    let chunk: Vec<Value> = items.iter().skip(start).take(limit).cloned().collect();
    let more = start + chunk.len() < items.len();
    let next = if more { token(member, start + chunk.len()) } else { String::new() };
    let mut body = extra(more);
    body["ok"] = json!(true);
    body[member] = Value::Array(chunk);
    body["response_metadata"] = json!({ "next_cursor": next });
    json(200, &body)
}

fn history(state: &State, params: &[(String, String)]) -> Response {
    let Some(channel) = param(params, "channel") else { return fail("channel_not_found") };
    if !channels().iter().any(|c| c["id"] == channel) {
        return fail("channel_not_found");
    }
    if channel == "C0RATELIM" {
        let first = state.providers.with("slack/ratelimited", Vec::new, |calls| {
            calls.push(Value::Null);
            calls.len() == 1
        });
        if first {
            return Response::json(429, json!({"ok": false, "error": "ratelimited"}).to_string())
                .with_header("Retry-After", "1");
        }
    }
    let mut bounds = [None, None];
    for (bound, name) in bounds.iter_mut().zip(["oldest", "latest"]) {
        if let Some(value) = param(params, name) {
            match value.parse::<f64>() {
                Ok(at) => *bound = Some(at),
                Err(_) => return fail(&format!("invalid_ts_{name}")),
            }
        }
    }
    let [oldest, latest] = bounds;
    let inclusive = param(params, "inclusive") == Some("true");
    let all: Vec<Value> = messages(channel)
        .into_iter()
        .filter(|m| {
            let at: f64 = m["ts"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0.0);
            let after = oldest.is_none_or(|o| if inclusive { at >= o } else { at > o });
            let before = latest.is_none_or(|l| if inclusive { at <= l } else { at < l });
            after && before
        })
        .collect();
    page(params, "messages", all, |more| json!({ "has_more": more, "pin_count": 0 }))
}

fn post_message(state: &State, req: &Request, params: &[(String, String)]) -> Response {
    let body: Value = if req.header("content-type").unwrap_or("").starts_with("application/json") {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(_) => return fail("invalid_json"),
        }
    } else {
        Value::Object(params.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
    };
    let Some(channel) = body["channel"].as_str().filter(|c| !c.is_empty()) else { return fail("channel_not_found") };
    if !channels().iter().any(|c| c["id"] == channel) {
        return fail("channel_not_found");
    }
    let Some(text) = body["text"].as_str().filter(|t| !t.is_empty()) else { return fail("no_text") };
    let n = state.providers.with("slack/posted", Vec::new, |posted| {
        posted.push(json!(channel));
        posted.len()
    });
    let ts = ts(1000 + n);
    json(
        200,
        &json!({
            "ok": true, "channel": channel, "ts": ts,
            "message": { "type": "message", "user": "U0BOT", "bot_id": "B0MOCK", "text": text, "ts": ts }
        }),
    )
}
