//! Gmail message contents: messages.list gives ids, and a scan reading a content column asks messages.get
//! for each listed message (format=metadata with the headers it reads, or full for the body), concurrently.

mod common;

use common::*;
use connector_core::convert::Cell;
use connector_core::model::TableDef;

/// Provider mocks take a bearer token, so the server overrides the definition's OAuth 2.0.
fn gmail() -> Provider {
    Provider::start("gmail", "/gmail/v1", &[("auth", "bearer")], &[("token", mockapi::TEST_TOKEN)])
}

/// The messages table with only `columns`: a scan then reads exactly those.
fn messages(p: &Provider, columns: &[&str], options: &[(&str, &str)]) -> TableDef {
    let mut table = p.imported("messages", options);
    table.columns.retain(|c| columns.contains(&c.name.as_str()));
    assert_eq!(table.columns.len(), columns.len(), "{columns:?}");
    table
}

const METADATA: &str =
    "format=metadata&metadataHeaders=Subject&metadataHeaders=From&metadataHeaders=To&metadataHeaders=Cc";

#[test]
fn headers_labels_and_dates_come_from_metadata_requests() {
    let p = gmail();
    let table = messages(&p, &["id", "subject", "from", "cc", "date", "labels"], &[]);
    let rows = p.scan(&table, vec![], None).unwrap();
    assert_eq!(rows.len(), 23);
    let sent = p.sent();
    assert_eq!(sent[0], "GET /gmail/v1/users/me/messages?maxResults=500");
    let ids = texts(column(&table, &rows, "id"));
    let mut details: Vec<String> = sent[1..].to_vec();
    details.sort();
    let mut expected: Vec<String> =
        ids.iter().map(|id| format!("GET /gmail/v1/users/me/messages/{id}?{METADATA}")).collect();
    expected.sort();
    assert_eq!(details, expected, "one metadata request per listed message");
    // Newest first: message 23, from SENDERS[23 % 4], received 23 hours after 2024-01-01.
    assert_eq!(rows[0][1], Cell::Text("Thread 8 message 23".into()));
    assert_eq!(rows[0][2], Cell::Text("news@shop.example".into()));
    assert_eq!(rows[0][3], Cell::Null, "no Cc header");
    // 2024-01-01T23:00:00Z in microseconds since 2000-01-01.
    assert_eq!(rows[0][4], Cell::Timestamp((1_704_067_200 - 946_684_800 + 23 * 3600) * 1_000_000));
    assert_eq!(rows[0][5], Cell::TextArray(vec![Some("INBOX".into()), Some("Label_2".into())]));
    // Message 7's subject is an RFC 2047 encoded word; it has a Cc.
    let seven = rows.iter().find(|r| r[1] == Cell::Text("Café menu".into())).expect("message 7 decoded");
    assert_eq!(seven[3], Cell::Text("dave@example.com".into()));
}

#[test]
fn body_text_reads_full_messages_in_their_charsets() {
    let p = gmail();
    let table = messages(&p, &["id", "subject", "body_text"], &[]);
    let rows = p.scan(&table, vec![], limit(5)).unwrap();
    assert_eq!(rows.len(), 5);
    let sent = p.sent();
    assert_eq!(sent[0], "GET /gmail/v1/users/me/messages?maxResults=5", "the LIMIT shrinks the list");
    assert_eq!(sent.len(), 6);
    assert!(sent[1..].iter().all(|r| r.ends_with("?format=full")), "{sent:?}");
    let body = |n: usize| {
        let subject = Cell::Text(format!("Thread {} message {n}", (n - 1) / 3 + 1));
        rows.iter().find(|r| r[1] == subject).map(|r| r[2].clone()).unwrap_or_else(|| panic!("message {n}"))
    };
    // 23 % 4 == 3: plain UTF-8; 22: Latin-1; 21: HTML only; 20: plain and HTML alternatives, an attachment.
    assert_eq!(body(23), Cell::Text("Hello from news@shop.example.\nThis is message 23.".into()));
    assert_eq!(body(22), Cell::Text("Café for message 22.\n".into()));
    assert_eq!(body(21), Cell::Text("Hello from bob@example.org.\nThis is message 21 & more.".into()));
    assert_eq!(body(20), Cell::Text("Hello from alice@example.com.\nThis is message 20.".into()));
}

#[test]
fn ids_alone_make_one_list_request_and_an_id_one_get() {
    let p = gmail();
    let table = messages(&p, &["id", "thread_id"], &[]);
    assert_eq!(p.scan(&table, vec![], None).unwrap().len(), 23);
    assert_eq!(p.sent(), vec!["GET /gmail/v1/users/me/messages?maxResults=500"], "no detail column, no messages.get");
    p.mock.reset();
    let table = messages(&p, &["id", "subject", "snippet"], &[]);
    let first = p.scan(&table, vec![], limit(1)).unwrap();
    let Cell::Text(id) = first[0][0].clone() else { panic!() };
    p.mock.reset();
    let rows = p.scan(&table, vec![eq("id", &id)], None).unwrap();
    assert_eq!(rows, first, "the looked-up message is its own detail");
    assert_eq!(p.sent(), vec![format!("GET /gmail/v1/users/me/messages/{id}?{METADATA}")]);
    p.mock.reset();
    assert!(p.scan(&table, vec![eq("id", "18cffffffffffff")], None).unwrap().is_empty(), "an unknown id is no row");
}
