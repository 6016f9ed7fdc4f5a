//! The Google Docs connector against the Docs and Drive mock of crates/mockapi: plain text of paragraphs,
//! tables and a table of contents; one documents.get per id a condition names; a listing through Drive
//! page by page; the fields mask when neither text nor body is read; 403 naming the document, 404 as no
//! row; credentials for Drive's origin; bad columns.

mod common;

use common::*;
use connector_core::connectors::{http_client, validate_server, validate_table, ServerDef};
use connector_core::convert::Cell;
use connector_core::model::{ColumnDef, ColumnType, Limit, Op, Qual, ScanRequest, TableDef, Value as V};
use connector_core::options::OptionMap;
use connector_core::ErrorKind;
use mockapi::MockServer;
use serde_json::json;

/// A server on the Docs mock (Drive's too), all requests through one client.
fn start(extra: &[(&str, &str)]) -> Provider {
    let mock = MockServer::start_blocking();
    let drive_url = format!("{}/gdocs/drive/v3", mock.url());
    let mut options = vec![("drive_url", drive_url.as_str()), ("auth", "bearer"), ("rate_limit", "100")];
    options.extend_from_slice(extra);
    Provider::on(mock, "google_docs", "/gdocs/v1", &options, &[("token", mockapi::TEST_TOKEN)]).keep_one_client()
}

/// `METHOD path?query` of each request, percent-decoded.
fn sent(docs: &Provider) -> Vec<String> {
    docs.requests()
        .iter()
        .map(|r| {
            let query: Vec<String> = r.params().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{} {}?{}", r.method, r.path, query.join("&")).trim_end_matches('?').to_string()
        })
        .collect()
}

fn table() -> TableDef {
    TableDef {
        name: "docs".into(),
        options: OptionMap::new(),
        columns: vec![
            ColumnDef::new("document_id", ColumnType::Text),
            ColumnDef::new("title", ColumnType::Text),
            ColumnDef::new("revision_id", ColumnType::Text),
            ColumnDef::new("text", ColumnType::Text),
            ColumnDef::new("body", ColumnType::Jsonb),
        ],
    }
}

fn id_is(id: &str) -> Qual {
    Qual { column: "document_id".into(), op: Op::Eq, value: V::Text(id.into()) }
}

const LIST: &str = "q=mimeType = 'application/vnd.google-apps.document' and trashed = false";

#[test]
fn a_document_by_id_is_one_request_and_its_text_is_flattened() {
    let docs = start(&[]);
    let t = table();
    let rows = docs
        .scan_planned_columns(
            &t,
            &["document_id", "title", "revision_id", "text", "body"],
            vec![id_is("docMock1")],
            vec![],
            None,
        )
        .unwrap();
    assert_eq!(sent(&docs), vec!["GET /gdocs/v1/documents/docMock1"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][..3], [text_cell("docMock1"), text_cell("Meeting notes"), text_cell("ALm37BVrev1")]);
    // Runs joined, the inline image left out, the table's cells tab-separated and its rows on lines.
    assert_eq!(
        rows[0][3],
        text_cell("Weekly sync notes\nBudget approved\nHire two engineers\nLogo: \nOwner\tTask\nAda\tShip v2\nEnd\n")
    );
    let Cell::Jsonb(body) = &rows[0][4] else { panic!("body is {:?}", rows[0][4]) };
    assert_eq!(body["content"][1]["paragraph"]["elements"][1]["textRun"]["content"], json!("sync"));

    // A table of contents and a table nested in a cell, in reading order.
    docs.mock.reset();
    let rows = docs.scan_planned_columns(&t, &["text"], vec![id_is("docMock2")], vec![], None).unwrap();
    assert_eq!(rows, vec![vec![text_cell("Goals\nGoals\nQ1\ta\tb\n")]]);
}

#[test]
fn ids_of_a_condition_are_read_once_each_and_unknown_ones_are_no_row() {
    let docs = start(&[]);
    let t = table();
    let ids = V::List(vec![
        V::Text("docMock3".into()),
        V::Text("nope".into()),
        V::Text("docMock1".into()),
        V::Text("docMock3".into()),
    ]);
    let quals = vec![Qual { column: "document_id".into(), op: Op::In, value: ids }];
    let rows = docs.scan_planned_columns(&t, &["document_id", "title"], quals, vec![], None).unwrap();
    assert_eq!(
        rows,
        vec![vec![text_cell("docMock1"), text_cell("Meeting notes")], vec![text_cell("docMock3"), text_cell("Empty")]]
    );
    // Neither text nor body: the fields mask; read concurrently, so compared in sorted order.
    let mut sent = sent(&docs);
    sent.sort();
    let masked = "fields=documentId,title,revisionId";
    assert_eq!(
        sent,
        vec![
            format!("GET /gdocs/v1/documents/docMock1?{masked}"),
            format!("GET /gdocs/v1/documents/docMock3?{masked}"),
            format!("GET /gdocs/v1/documents/nope?{masked}"),
        ]
    );
    // The mask answers only those fields.
    docs.mock.reset();
    let rows = docs.scan_planned_columns(&t, &["revision_id"], vec![id_is("docMock2")], vec![], None).unwrap();
    assert_eq!(rows, vec![vec![text_cell("ALm37BVrev7")]]);
}

#[test]
fn without_a_condition_documents_are_listed_through_drive_page_by_page() {
    let docs = start(&[("max_concurrency", "1")]);
    let t = TableDef { options: map(&[("page_size", "2")]), ..table() };
    let rows = docs.scan_planned_columns(&t, &["document_id", "title", "text"], vec![], vec![], None).unwrap();
    let drive = "GET /gdocs/drive/v3/files?";
    let fields = "fields=nextPageToken,files(id)";
    let log = sent(&docs);
    assert_eq!(log.len(), 5, "{log:#?}");
    assert_eq!(log[0], format!("{drive}{LIST}&pageSize=2&{fields}"));
    assert_eq!(log[1..3], ["GET /gdocs/v1/documents/docMock1", "GET /gdocs/v1/documents/docMock2"]);
    assert!(log[3].starts_with(&format!("{drive}{LIST}&pageSize=2&{fields}&pageToken=")), "{}", log[3]);
    assert_eq!(log[4], "GET /gdocs/v1/documents/docMock3");
    // Only Google Docs, not trashed: no spreadsheet, no old draft.
    let ids: Vec<&Cell> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(ids, vec![&text_cell("docMock1"), &text_cell("docMock2"), &text_cell("docMock3")]);
    assert_eq!(rows[2][1..], [text_cell("Empty"), text_cell("\n")]);

    // A LIMIT shrinks Drive's page.
    docs.mock.reset();
    let rows = docs
        .scan_planned_columns(&table(), &["title"], vec![], vec![], Some(Limit { count: Some(1), offset: 0 }))
        .unwrap();
    assert_eq!(rows, vec![vec![text_cell("Meeting notes")]]);
    assert_eq!(
        sent(&docs),
        vec![
            format!("{drive}{LIST}&pageSize=1&{fields}"),
            "GET /gdocs/v1/documents/docMock1?fields=documentId,title,revisionId".to_string()
        ]
    );
}

#[test]
fn explain_shows_the_requests() {
    let docs = start(&[]);
    let opened = docs.connector.open(&docs.server, &table()).unwrap();
    let url = docs.mock.url();
    let request = |columns: Vec<usize>, quals: Vec<Qual>| ScanRequest { columns, quals, sorts: vec![], limit: None };
    assert_eq!(
        opened.describe(&request(vec![3], vec![id_is("a b")])),
        vec![format!("GET {url}/gdocs/v1/documents/a%20b")]
    );
    assert_eq!(
        opened.describe(&request(vec![1], vec![])),
        vec![
            format!("GET {url}/gdocs/drive/v3/files?q=mimeType+%3D+%27application%2Fvnd.google-apps.document%27+and+trashed+%3D+false&pageSize=100&fields=nextPageToken%2Cfiles%28id%29"),
            format!("GET {url}/gdocs/v1/documents/{{documentId}}?fields=documentId%2Ctitle%2CrevisionId for each document listed"),
        ]
    );
}

#[test]
fn a_document_without_access_is_an_error_naming_it() {
    let docs = start(&[]);
    let e = docs.scan_planned_columns(&table(), &["title"], vec![id_is("docSecret")], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    assert!(
        e.message.starts_with("Google Docs document \"docSecret\" cannot be read (foreign table \"docs\"): "),
        "{}",
        e.message
    );
    assert!(e.message.ends_with("HTTP 403 Forbidden"), "{}", e.message);
    assert_eq!(e.detail.as_deref(), Some("provider said: The caller does not have permission"));
    assert!(e.hint.unwrap().starts_with("Share document \"docSecret\""));
    // 404 alone: no row, as a listing would not have it either.
    assert_eq!(
        docs.scan_planned_columns(&table(), &["title"], vec![id_is("nope")], vec![], None).unwrap(),
        Vec::<Vec<Cell>>::new()
    );
}

#[test]
fn a_quota_refusal_is_retried() {
    let docs = start(&[("retry_after_ms", "1")]);
    let server = ServerDef {
        options: {
            let mut o = docs.server.options.clone();
            o.insert("base_url".into(), format!("{}/gdocs/429/1/v1", docs.mock.url()));
            o
        },
        ..docs.server.clone()
    };
    let http = http_client(&server, &map(&[("token", mockapi::TEST_TOKEN)]), None).unwrap();
    let opened = docs.connector.open(&server, &table()).unwrap();
    let request = ScanRequest { columns: vec![1], quals: vec![id_is("docMock3")], sorts: vec![], limit: None };
    let source = opened.scan(&request).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let page =
        runtime.block_on(source.fetch(&http, connector_core::scan::PageToken::First, &Default::default())).unwrap();
    assert_eq!(page.records[0]["title"], json!("Empty"));
    assert_eq!(docs.mock.requests().len(), 2, "one 429, then the document");
}

#[test]
fn credentials_go_to_drive_too_and_columns_are_checked() {
    // Google's hosts by default: the token is for both the Docs and the Drive origin.
    let server = ServerDef { name: "g".into(), options: map(&[("connector", "google_docs"), ("auth", "bearer")]) };
    validate_server(&server).unwrap();
    let docs = start(&[]);
    let other = MockServer::start_blocking();
    let server = ServerDef {
        options: {
            let mut o = docs.server.options.clone();
            o.insert("drive_url".into(), format!("{}/gdocs/drive/v3", other.url()));
            o
        },
        ..docs.server.clone()
    };
    let docs = Provider { server, ..docs }.keep_one_client();
    assert_eq!(docs.scan_planned_columns(&table(), &["title"], vec![], vec![], None).unwrap().len(), 3);
    assert_eq!(other.requests()[0].headers.get("authorization").map(String::as_str), Some("Bearer test-token"));

    let bad = TableDef { columns: vec![ColumnDef::new("name", ColumnType::Text)], ..table() };
    let e = validate_table(&docs.server, &bad).unwrap_err();
    assert_eq!(
        e.message,
        "foreign table \"docs\" has column \"name\", which connector \"google_docs\" does not provide"
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("The columns of a google_docs table are: document_id, title, revision_id, text, body.")
    );
    let bad = TableDef { options: map(&[("page_size", "1001")]), ..table() };
    assert_eq!(validate_table(&docs.server, &bad).unwrap_err().kind, ErrorKind::InvalidOptionValue);
}
