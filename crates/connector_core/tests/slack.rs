//! The shipped `slack` definition against mockapi's Slack (`/slack/api/…`): cursor paging with
//! `response_metadata.next_cursor`, `conversations.history` with its required `channel` and `ts` ranges as
//! `oldest`/`latest`, `{"ok": false}` answers (HTTP 200) as errors, 429 with Retry-After, and
//! chat.postMessage as INSERT.

mod common;

use common::*;
use connector_core::model::{Op, Value as V};
use connector_core::ErrorKind;
use serde_json::json;

/// The definition keeps to Slack's limits (1 request a second, and each method's tier); the mock needs no
/// such care, so tests that read several pages lift the limits.
fn slack() -> Provider {
    Provider::start("slack", "/slack/api", &[("rate_limit", "100")], &[("token", mockapi::TEST_TOKEN)])
}

#[test]
fn channels_and_users_page_with_next_cursors() {
    let p = slack();
    let table = p.imported("channels", &[("page_size", "2"), ("rate_limit", "100")]);
    let rows = p.scan(&table, vec![], None).unwrap();
    assert_eq!(texts(column(&table, &rows, "name")), vec!["general", "random", "dev", "old-projects", "busy"]);
    assert_eq!(texts(column(&table, &rows, "topic"))[0], "About general");
    let requests = p.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].query, "types=public_channel%2Cprivate_channel&limit=2");
    assert!(requests
        .iter()
        .all(|r| r.path == "/slack/api/conversations.list" && r.param("limit").as_deref() == Some("2")));
    let cursors: Vec<Option<String>> = requests.iter().map(|r| r.param("cursor")).collect();
    assert!(cursors[0].is_none() && cursors[1].is_some() && cursors[2].is_some() && cursors[1] != cursors[2]);
    assert_eq!(requests[0].header("authorization"), Some("Bearer test-token"));
    p.mock.reset();
    let users = p.imported("users", &[]);
    let rows = p.scan(&users, vec![], None).unwrap();
    assert_eq!(p.sent(), vec!["GET /slack/api/users.list?limit=200"]);
    let emails = column(&users, &rows, "email");
    assert_eq!(texts(emails[..3].to_vec()), ["ada@example.com", "brian@example.com", "chen@example.com"]);
    assert_eq!(emails[3], connector_core::convert::Cell::Null, "bots have no email");
}

#[test]
fn history_pushes_the_channel_and_ts_ranges() {
    let p = slack();
    let table = p.imported("messages", &[]);
    let quals = vec![
        eq("channel", "C0GENERAL"),
        qual("ts", Op::Gt, V::Numeric("1709253000".into())),
        qual("ts", Op::Lt, V::Numeric("1709254800".into())),
    ];
    let rows = p.scan(&table, quals, None).unwrap();
    assert_eq!(
        texts(column(&table, &rows, "text")),
        vec!["Message 5 in C0GENERAL", "Message 4 in C0GENERAL", "Message 3 in C0GENERAL"]
    );
    assert_eq!(texts(column(&table, &rows, "channel")), vec!["C0GENERAL"; 3], "the channel is echoed");
    assert_eq!(column(&table, &rows, "ts")[2], connector_core::convert::Cell::Numeric("1709253000.000103".into()));
    assert_eq!(
        p.sent(),
        vec!["GET /slack/api/conversations.history?channel=C0GENERAL&oldest=1709253000&latest=1709254800&limit=200"]
    );
    let caps = p.open(&table).capabilities();
    assert!(caps.filter_support("ts", Op::Ge).is_none(), ">= would need inclusive=true for both bounds");
    assert!(caps.filter_support("channel", Op::In).is_none(), "one channel per scan");
    // A whole channel, page by page.
    p.mock.reset();
    let paged = p.imported("messages", &[("page_size", "5"), ("rate_limit", "100")]);
    let rows = p.scan(&paged, vec![eq("channel", "C0GENERAL")], None).unwrap();
    assert_eq!(rows.len(), 12);
    assert_eq!(p.requests().len(), 3);
    assert!(p.requests()[1..]
        .iter()
        .all(|r| r.param("cursor").is_some() && r.param("channel").as_deref() == Some("C0GENERAL")));
}

#[test]
fn ok_false_answers_are_errors() {
    let p = slack();
    let table = p.imported("messages", &[]);
    // The planner refuses a scan of messages without a channel (the FDW layer asks before any request)…
    let caps = p.open(&table).capabilities();
    let unmet = connector_core::pushdown::unmet_requirement(&caps, &[]).expect("channel is required");
    assert_eq!(
        unmet.message,
        "foreign table \"messages\" needs a condition on column \"channel\" (=): the provider requires it"
    );
    // The error says what to write.
    let e = unmet.error();
    assert_eq!((e.kind, e.message.as_str()), (ErrorKind::MissingCondition, unmet.message.as_str()));
    assert_eq!(
        e.hint.as_deref(),
        Some("Add WHERE channel = '<channel id>'; the table of resource \"channels\" lists them: SELECT id, name FROM channels.")
    );
    let channel = connector_core::pushdown::Candidate { column: "channel".into(), op: Op::Eq };
    assert!(connector_core::pushdown::unmet_requirement(&caps, &[channel]).is_none());
    // …and should one be sent, Slack's answer is HTTP 200 with {"ok": false, "error": "channel_not_found"}.
    let e = p.scan(&table, vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert_eq!(
        e.message,
        format!(
            "GET {}/slack/api/conversations.history?limit=200 failed: the response reports an error ($.ok is false)",
            p.mock.url()
        )
    );
    assert_eq!(e.detail.as_deref(), Some("provider said: channel_not_found"));
    let e = p.scan(&table, vec![eq("channel", "C0NOPE")], None).unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("provider said: channel_not_found"));
    let wrong = Provider::start("slack", "/slack/api", &[("rate_limit", "100")], &[("token", "xoxb-wrong")]);
    let e = wrong.scan(&wrong.imported("users", &[]), vec![], None).unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("provider said: not_authed"));
}

#[test]
fn rate_limited_calls_wait_for_retry_after() {
    let p = slack();
    let table = p.imported("messages", &[]);
    let rows = p.scan(&table, vec![eq("channel", "C0RATELIM")], None).unwrap();
    assert_eq!(rows.len(), 3);
    let log = p.requests();
    assert_eq!(log.len(), 2, "the 429 is retried once");
    assert!(log[1].at_ms - log[0].at_ms >= 900.0, "Retry-After: 1 is honoured ({} ms)", log[1].at_ms - log[0].at_ms);
}

#[test]
fn insert_posts_messages() {
    let p = slack();
    let table = p.imported("messages", &[]);
    let writer = p.writer(&table);
    let (http, counters) = (p.http(), counters());
    let posted = block(writer.insert(
        &http,
        vec![record(&table, &[("channel", json!("C0GENERAL")), ("text", json!("Hello"))])],
        &counters,
    ))
    .unwrap();
    assert_eq!(posted[0]["text"], "Hello");
    assert!(posted[0]["ts"].as_str().is_some_and(|ts| ts.contains('.')));
    // The message has no channel: RETURNING channel reads the answer's top-level one.
    assert_eq!(posted[0]["channel"], "C0GENERAL");
    assert_eq!(posted[0]["user"], "U0BOT");
    assert_eq!(p.sent(), vec!["POST /slack/api/chat.postMessage?"]);
    assert_eq!(p.requests()[0].body, Some(json!({"channel": "C0GENERAL", "text": "Hello"})));
    assert_eq!(p.requests()[0].header("content-type"), Some("application/json"));
    // ok: false from a write is an error too.
    let e = block(writer.insert(
        &http,
        vec![record(&table, &[("channel", json!("C0NOPE")), ("text", json!("Hi"))])],
        &counters,
    ))
    .unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("provider said: channel_not_found"));
    // Messages are not changed or deleted through the table.
    let e = block(writer.update(&http, &V::Text("1709251800.000101".into()), json!({"text": "edited"}), &counters))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotSupported);
    let e = block(writer.delete(&http, &V::Text("1709251800.000101".into()), &counters)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotSupported);
    assert_eq!(p.requests().len(), 2);
}

#[test]
fn each_method_keeps_to_its_tier() {
    let p = slack();
    // conversations.history is Tier 3: 50 calls a minute, so its pages start 1.2 s apart.
    let messages = p.imported("messages", &[("page_size", "10")]);
    assert_eq!(p.scan(&messages, vec![eq("channel", "C0GENERAL")], None).unwrap().len(), 12);
    let at: Vec<f64> = p.requests().iter().map(|r| r.at_ms).collect();
    assert_eq!(at.len(), 2);
    assert!(at[1] - at[0] >= 1190.0, "conversations.history pages {} ms apart", at[1] - at[0]);

    // A table may set its own limit: Tier 2's 20 a minute for channels, lowered further here.
    p.mock.reset();
    let channels = p.imported("channels", &[("page_size", "2"), ("rate_limit", "5")]);
    assert_eq!(p.scan(&channels, vec![], None).unwrap().len(), 5);
    let at: Vec<f64> = p.requests().iter().map(|r| r.at_ms).collect();
    assert_eq!(at.len(), 3);
    assert!(at.windows(2).all(|w| w[1] - w[0] >= 195.0), "{at:?}");
}
