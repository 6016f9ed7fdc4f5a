//! The Notion connector against the Notion mock of crates/mockapi: the exact query bodies of typical
//! queries (typed filters, sorts, page size, cursors), results identical to filtering locally, conversion
//! of every property type, writes (create, update, archive), discovery, error bodies, the rate limit and
//! bad options.

mod common;

use common::*;
use connector_core::connectors::notion::simplify;
use connector_core::connectors::{self, validate_table};
use connector_core::convert::{convert, Cell};
use connector_core::http::Counters;
use connector_core::model::{ColumnDef, ColumnType, Limit, Op, Qual, ScanRequest, Sort, TableDef, Value as V};
use connector_core::write::WriteOp;
use connector_core::ErrorKind;
use mockapi::RecordedRequest;
use serde_json::{json, Value};
use std::time::Duration;

const TASKS: &str = "5a1ad3b1-0000-4000-8000-0000000000a1";

fn page_id(n: usize) -> String {
    format!("0b1ec7a5-0000-4000-8000-{n:012}")
}

/// A server on the Notion mock, all requests through one client.
fn start(extra: &[(&str, &str)]) -> Provider {
    start_as(extra, mockapi::TEST_TOKEN)
}

fn start_as(extra: &[(&str, &str)], token: &str) -> Provider {
    Provider::start("notion", "/notion/v1", extra, &[("api_key", token)]).keep_one_client()
}

/// Requests of scans and writes (discovery's are left out).
fn requests(notion: &Provider) -> Vec<RecordedRequest> {
    notion.mock.requests().into_iter().filter(|r| !r.path.ends_with("/search")).collect()
}

#[test]
fn discovery_lists_databases_with_their_properties() {
    let notion = start(&[]);
    let resources = notion.resources();
    let search = notion.mock.requests();
    assert_eq!(search.len(), 1);
    assert_eq!((search[0].method.as_str(), search[0].path.as_str()), ("POST", "/notion/v1/search"));
    assert_eq!(search[0].body, Some(json!({"filter": {"property": "object", "value": "database"}, "page_size": 100})));
    assert_eq!(search[0].header("notion-version"), Some("2022-06-28"));
    assert_eq!(resources.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), vec!["tasks", "contacts"]);
    let tasks = &resources[0];
    assert_eq!(tasks.table_options, map(&[("database_id", TASKS)]));
    let columns: Vec<String> = tasks
        .columns
        .iter()
        .map(|c| format!("{} {} {}", c.name, c.sql_type, c.options.get("type").map(String::as_str).unwrap_or("-")))
        .collect();
    assert_eq!(
        columns,
        vec![
            "id text -",
            "created_time timestamptz -",
            "last_edited_time timestamptz -",
            "url text -",
            "name text title",
            "assignee text[] people",
            "attachments text[] files",
            "created timestamptz created_time",
            "creator text created_by",
            "done boolean checkbox",
            "due date date",
            "edited timestamptz last_edited_time",
            "editor text last_edited_by",
            "email text email",
            "estimate numeric number",
            "link text url",
            "notes text rich_text",
            "phone text phone_number",
            "priority text select",
            "related text[] relation",
            "related_count numeric rollup",
            "score text formula",
            "status text status",
            "tags text[] multi_select",
            "task_id text unique_id",
        ]
    );
    assert_eq!(
        tasks.columns[at_resource(tasks, "task_id")].options.get("property").map(String::as_str),
        Some("Task ID")
    );
}

fn at_resource(r: &connectors::Resource, name: &str) -> usize {
    r.columns.iter().position(|c| c.name == name).unwrap()
}

#[test]
fn every_property_type_converts() {
    let notion = start(&[]);
    let mut table = notion.imported("tasks", &[]);
    table.columns.push(ColumnDef::new("due_raw", ColumnType::Jsonb).with_option("property", "Due"));
    table.columns.push(ColumnDef::new("archived", ColumnType::Bool));
    table.columns.push(ColumnDef::new("properties", ColumnType::Jsonb));
    let rows = notion.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 12);
    let cell = |row: usize, column: &str| rows[row - 1][at(&table, column)].clone();
    let date = |s: &str| convert(json!(s), &ColumnType::Date).unwrap();
    let timestamp = |s: &str| convert(json!(s), &ColumnType::TimestampTz).unwrap();
    assert_eq!(cell(1, "id"), Cell::Text(page_id(1)));
    assert_eq!(cell(1, "created_time"), timestamp("2024-03-01T09:07:00.000Z"));
    assert_eq!(cell(1, "url"), Cell::Text(format!("https://www.notion.so/Task-{}", page_id(1).replace('-', ""))));
    assert_eq!(cell(4, "name"), Cell::Text("Fix \"quotes\" & 'apostrophes'".into()));
    assert_eq!((cell(1, "notes"), cell(2, "notes")), (Cell::Text("Some notes".into()), Cell::Null));
    assert_eq!((cell(1, "estimate"), cell(5, "estimate")), (Cell::Numeric("1.5".into()), Cell::Null));
    assert_eq!((cell(1, "priority"), cell(3, "priority")), (Cell::Text("Medium".into()), Cell::Null));
    assert_eq!((cell(2, "tags"), cell(3, "tags")), (text_array(&["bug", "feature"]), Cell::Null));
    assert_eq!(cell(1, "status"), Cell::Text("In progress".into()));
    // A date column shows the day as written, whether the date has a time or not.
    assert_eq!((cell(1, "due"), cell(2, "due"), cell(4, "due")), (date("2024-04-01"), date("2024-04-02"), Cell::Null));
    assert_eq!((cell(1, "done"), cell(2, "done")), (Cell::Bool(false), Cell::Bool(true)));
    assert_eq!((cell(1, "link"), cell(2, "link")), (Cell::Text("https://example.com/tasks/1".into()), Cell::Null));
    assert_eq!(cell(1, "email"), Cell::Text("owner1@example.com".into()));
    assert_eq!((cell(2, "phone"), cell(1, "phone")), (Cell::Text("+1 555 0100".into()), Cell::Null));
    assert_eq!((cell(2, "assignee"), cell(1, "assignee")), (text_array(&["Alan Turing"]), Cell::Null));
    assert_eq!((cell(1, "related"), cell(3, "related")), (text_array(&[&page_id(2)]), Cell::Null));
    assert_eq!((cell(1, "score"), cell(5, "score")), (Cell::Text("3.0".into()), Cell::Null));
    assert_eq!(
        (cell(1, "related_count"), cell(3, "related_count")),
        (Cell::Numeric("1".into()), Cell::Numeric("0".into()))
    );
    assert_eq!(cell(1, "created"), timestamp("2024-03-01T09:07:00.000Z"));
    assert_eq!(cell(1, "edited"), timestamp("2024-03-07T13:47:00.000Z"));
    assert_eq!(
        (cell(1, "creator"), cell(1, "editor")),
        (Cell::Text("Grace Hopper".into()), Cell::Text("Alan Turing".into()))
    );
    assert_eq!(
        (cell(1, "attachments"), cell(2, "attachments")),
        (text_array(&["https://files.notion.example/spec.pdf", "https://example.com"]), Cell::Null)
    );
    assert_eq!(cell(7, "task_id"), Cell::Text("TASK-7".into()));
    assert_eq!(
        cell(3, "due_raw"),
        Cell::Jsonb(
            json!({"id": "due", "type": "date", "date": {"start": "2024-04-03", "end": "2024-04-05", "time_zone": null}})
        )
    );
    assert_eq!(cell(1, "archived"), Cell::Bool(false));
    assert!(matches!(cell(1, "properties"), Cell::Jsonb(p) if p["Task ID"]["unique_id"]["number"] == 1));
    // Shapes the dataset does not have.
    assert_eq!(simplify(&json!({"type": "unique_id", "unique_id": {"prefix": null, "number": 4}})), json!(4));
    assert_eq!(
        simplify(
            &json!({"type": "formula", "formula": {"type": "date", "date": {"start": "2024-01-02", "end": null}}})
        ),
        json!("2024-01-02")
    );
    assert_eq!(simplify(&json!({"type": "formula", "formula": {"type": "boolean", "boolean": true}})), json!(true));
    let rollup = json!({"type": "rollup", "rollup": {"type": "array", "function": "show_original", "array": [
        {"type": "title", "title": [{"plain_text": "A"}]}, {"type": "number", "number": 2}, {"type": "rich_text", "rich_text": []}]}});
    assert_eq!(simplify(&rollup), json!(["A", 2]));
    assert_eq!(simplify(&json!({"type": "rollup", "rollup": {"type": "incomplete", "incomplete": {}}})), Value::Null);
    assert_eq!(
        simplify(&json!({"type": "people", "people": [{"object": "user", "id": "u1"}]})),
        json!(["u1"]),
        "users without a name show their id"
    );
}

#[test]
fn conditions_become_typed_filters_with_the_rows_postgres_would_keep() {
    let notion = start(&[]);
    let table = notion.imported("tasks", &[]);
    let all = notion.scan_planned(&table, vec![], vec![], None).unwrap();
    let num = |s: &str| V::Numeric(s.into());
    let cases: Vec<(Qual, Value, bool)> = vec![
        (
            qual("estimate", Op::Gt, num("6")),
            json!({"and": [{"property": "Estimate", "number": {"greater_than": 6}}, {"property": "Estimate", "number": {"is_not_empty": true}}]}),
            true,
        ),
        (
            qual("estimate", Op::Le, num("4.5")),
            json!({"and": [{"property": "Estimate", "number": {"less_than_or_equal_to": 4.5}}, {"property": "Estimate", "number": {"is_not_empty": true}}]}),
            true,
        ),
        (qual("estimate", Op::IsNull, V::Null), json!({"property": "Estimate", "number": {"is_empty": true}}), true),
        (
            qual("estimate", Op::In, V::List(vec![num("1.5"), num("3.0")])),
            json!({"or": [{"property": "Estimate", "number": {"equals": 1.5}}, {"property": "Estimate", "number": {"equals": 3.0}}]}),
            true,
        ),
        (
            qual("priority", Op::Ne, text("High")),
            json!({"and": [{"property": "Priority", "select": {"does_not_equal": "High"}}, {"property": "Priority", "select": {"is_not_empty": true}}]}),
            true,
        ),
        (qual("priority", Op::IsNull, V::Null), json!({"property": "Priority", "select": {"is_empty": true}}), true),
        (
            qual("status", Op::In, V::List(vec![text("Done"), text("Not started")])),
            json!({"or": [{"property": "Status", "status": {"equals": "Done"}}, {"property": "Status", "status": {"equals": "Not started"}}]}),
            true,
        ),
        (qual("done", Op::Eq, V::Bool(true)), json!({"property": "Done", "checkbox": {"equals": true}}), true),
        (qual("done", Op::Ne, V::Bool(true)), json!({"property": "Done", "checkbox": {"does_not_equal": true}}), true),
        (qual("tags", Op::IsNull, V::Null), json!({"property": "Tags", "multi_select": {"is_empty": true}}), true),
        (
            qual("assignee", Op::IsNotNull, V::Null),
            json!({"property": "Assignee", "people": {"is_not_empty": true}}),
            true,
        ),
        (qual("notes", Op::IsNull, V::Null), json!({"property": "Notes", "rich_text": {"is_empty": true}}), true),
        (
            qual("name", Op::Eq, text("Fix \"quotes\" & 'apostrophes'")),
            json!({"property": "Name", "title": {"equals": "Fix \"quotes\" & 'apostrophes'"}}),
            false,
        ),
        (
            qual("due", Op::Ge, V::Date("2024-04-10".into())),
            json!({"property": "Due", "date": {"on_or_after": "2024-04-10"}}),
            false,
        ),
        (
            qual("due", Op::Lt, V::Date("2024-04-03".into())),
            json!({"property": "Due", "date": {"before": "2024-04-03"}}),
            false,
        ),
    ];
    for (q, filter, exact) in cases {
        notion.mock.reset();
        let column = at(&table, &q.column);
        let expected: Vec<&Vec<Cell>> = all.iter().filter(|r| holds(&r[column], q.op, &q.value)).collect();
        assert!(!expected.is_empty(), "{q} should match something");
        let opened = notion.connector.open(&notion.server, &table).unwrap();
        let support = opened.capabilities().filter_support(&q.column, q.op);
        assert_eq!(support == Some(connector_core::pushdown::Support::Exact), exact, "{q}");
        let rows = notion.scan_planned(&table, vec![q.clone()], vec![], None).unwrap();
        let sent = &requests(&notion)[0];
        assert_eq!(
            (sent.method.as_str(), sent.path.as_str()),
            ("POST", "/notion/v1/databases/5a1ad3b1-0000-4000-8000-0000000000a1/query")
        );
        assert_eq!(sent.body, Some(json!({"filter": filter, "page_size": 100})), "{q}");
        // Exact conditions return exactly Postgres' rows; the others at least those (Postgres rechecks).
        let kept: Vec<&Vec<Cell>> = rows.iter().filter(|r| holds(&r[column], q.op, &q.value)).collect();
        assert_eq!(kept, expected, "{q}");
        if exact {
            assert_eq!(rows.len(), expected.len(), "{q}");
        }
    }
    // Several conditions are one "and", nested at most two deep.
    notion.mock.reset();
    let quals = vec![
        qual("estimate", Op::Ge, num("3")),
        qual("priority", Op::Ne, text("Low")),
        qual("done", Op::Eq, V::Bool(false)),
    ];
    let rows = notion.scan_planned(&table, quals, vec![], None).unwrap();
    let ids: Vec<Cell> = rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(ids, [4, 6, 9, 12].map(|i| Cell::Text(page_id(i))).to_vec());
    let filter = requests(&notion)[0].body.clone().unwrap()["filter"].clone();
    assert_eq!(filter["and"].as_array().unwrap().len(), 3);
}

#[test]
fn sorts_limits_and_cursors() {
    let notion = start(&[]);
    let table = notion.imported("tasks", &[("page_size", "5")]);
    let rows = notion.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 12);
    let log = requests(&notion);
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].body, Some(json!({"page_size": 5})));
    for r in &log[1..] {
        let body = r.body.as_ref().unwrap();
        assert_eq!((body["page_size"].clone(), body["start_cursor"].is_string()), (json!(5), true));
        assert_eq!(r.header("notion-version"), Some("2022-06-28"));
        assert_eq!(r.header("authorization"), Some("Bearer test-token"));
    }
    assert_ne!(log[1].body, log[2].body);
    // ORDER BY a timestamp, LIMIT: one request of the page size needed.
    notion.mock.reset();
    let sorts = vec![Sort { column: "created_time".into(), desc: true, nulls_first: true }];
    let rows = notion.scan_planned(&table, vec![], sorts.clone(), Some(Limit { count: Some(3), offset: 0 })).unwrap();
    assert_eq!(
        rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        [12, 11, 10].map(|i| Cell::Text(page_id(i))).to_vec()
    );
    assert_eq!(requests(&notion).len(), 1);
    assert_eq!(
        requests(&notion)[0].body,
        Some(json!({"sorts": [{"timestamp": "created_time", "direction": "descending"}], "page_size": 3}))
    );
    // Properties sort only when the DBA vouches for their order (option sortable).
    let opened = notion.connector.open(&notion.server, &table).unwrap();
    let by_estimate = vec![Sort { column: "estimate".into(), desc: false, nulls_first: false }];
    assert!(!opened.capabilities().can_sort(&by_estimate));
    let mut vouched = table.clone();
    vouched.columns[at(&table, "estimate")].options.insert("sortable".into(), "true".into());
    notion.mock.reset();
    let rows = notion.scan_planned(&vouched, vec![], by_estimate.clone(), None).unwrap();
    let estimates: Vec<Cell> = rows.iter().map(|r| r[at(&table, "estimate")].clone()).collect();
    assert_eq!(
        (&estimates[0], &estimates[9], &estimates[11]),
        (&Cell::Numeric("1.5".into()), &Cell::Numeric("18.0".into()), &Cell::Null)
    );
    assert_eq!(
        requests(&notion)[0].body.as_ref().unwrap()["sorts"],
        json!([{"property": "Estimate", "direction": "ascending"}])
    );
    // EXPLAIN shows the request with its body.
    let request = ScanRequest {
        columns: vec![0],
        quals: vec![qual("done", Op::Eq, V::Bool(true))],
        sorts,
        limit: Some(Limit { count: Some(2), offset: 0 }),
    };
    assert_eq!(
        opened.describe(&request),
        vec![format!(
            "POST {}/notion/v1/databases/{TASKS}/query {{\"filter\":{{\"checkbox\":{{\"equals\":true}},\"property\":\"Done\"}},\"page_size\":2,\"sorts\":[{{\"direction\":\"descending\",\"timestamp\":\"created_time\"}}]}}",
            notion.mock.url()
        )]
    );
}

#[test]
fn pages_are_created_updated_and_archived() {
    let notion = start(&[("notion_version", "2025-09-03")]);
    let table = notion.imported("tasks", &[]);
    let opened = notion.connector.open(&notion.server, &table).unwrap();
    let writer = opened.writer().expect("notion writes");
    assert_eq!((writer.batch_size(), writer.key_column()), (1, "id"));
    assert_eq!(
        writer.describe(WriteOp::Delete),
        format!("PATCH {}/notion/v1/pages/{{key}} {{\"archived\":true}}", notion.mock.url())
    );
    let (http, counters, runtime) = (notion.http(), Counters::default(), runtime());
    let values = [
        ("name", json!("New task")),
        ("estimate", json!(2)),
        ("priority", json!("High")),
        ("tags", json!(["bug", "docs"])),
        ("due", json!("2024-05-01")),
        ("done", json!(true)),
        ("assignee", json!(["a11ce000-0000-4000-8000-000000000001"])),
        ("link", json!("https://example.com/new")),
    ];
    let record = connector_core::write::record(
        &table,
        &values.iter().map(|(c, v)| (at(&table, c), v.clone())).collect::<Vec<_>>(),
    )
    .unwrap();
    let created = runtime.block_on(writer.insert(&http, vec![record], &counters)).unwrap();
    let log = requests(&notion);
    assert_eq!((log[0].method.as_str(), log[0].path.as_str()), ("POST", "/notion/v1/pages"));
    assert_eq!(log[0].header("notion-version"), Some("2025-09-03"));
    assert_eq!(
        log[0].body,
        Some(json!({"parent": {"database_id": TASKS}, "properties": {
            "Name": {"title": [{"type": "text", "text": {"content": "New task"}}]},
            "Estimate": {"number": 2},
            "Priority": {"select": {"name": "High"}},
            "Tags": {"multi_select": [{"name": "bug"}, {"name": "docs"}]},
            "Due": {"date": {"start": "2024-05-01"}},
            "Done": {"checkbox": true},
            "Assignee": {"people": [{"id": "a11ce000-0000-4000-8000-000000000001"}]},
            "Link": {"url": "https://example.com/new"},
        }}))
    );
    let id = created[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        (&created[0]["name"], &created[0]["priority"], &created[0]["tags"]),
        (&json!("New task"), &json!("High"), &json!(["bug", "docs"]))
    );

    let before = requests(&notion).len();
    let changes = connector_core::write::record(
        &table,
        &[(at(&table, "notes"), json!("It's done")), (at(&table, "priority"), Value::Null)],
    )
    .unwrap();
    let updated = runtime.block_on(writer.update(&http, &text(&page_id(3)), changes, &counters)).unwrap();
    assert_eq!(
        (&updated["notes"], &updated["priority"], &updated["name"]),
        (&json!("It's done"), &Value::Null, &json!("Task 3"))
    );
    let archived = runtime.block_on(writer.delete(&http, &text(&page_id(3)), &counters)).unwrap();
    assert_eq!(archived["id"], json!(page_id(3)));
    let log = requests(&notion)[before..].to_vec();
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("PATCH", format!("/notion/v1/pages/{}", page_id(3)).as_str())
    );
    assert_eq!(
        log[0].body,
        Some(
            json!({"properties": {"Notes": {"rich_text": [{"type": "text", "text": {"content": "It's done"}}]}, "Priority": {"select": null}}})
        )
    );
    assert_eq!((log[1].method.as_str(), log[1].body.clone()), ("PATCH", Some(json!({"archived": true}))));
    // Archived pages leave the database; the created one is in it.
    let rows = notion.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 12);
    assert!(
        rows.iter().any(|r| r[0] == Cell::Text(id.clone())) && !rows.iter().any(|r| r[0] == Cell::Text(page_id(3)))
    );

    // Computed properties and page members are refused before any request; Notion's own refusals keep
    // their message.
    let e = runtime.block_on(writer.update(&http, &text(&page_id(2)), json!({"score": "1"}), &counters)).unwrap_err();
    assert_eq!(e.message, "column \"score\" of foreign table \"tasks\" is a formula property, which Notion computes and writes cannot set");
    let e = runtime.block_on(writer.update(&http, &text(&page_id(2)), json!({"url": "x"}), &counters)).unwrap_err();
    assert!(e.message.contains("is the page's url, which Notion sets"), "{}", e.message);
    let e =
        runtime.block_on(writer.update(&http, &text(&page_id(3)), json!({"notes": "again"}), &counters)).unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("provider said: Can't edit block that is archived. You must unarchive the block before editing.")
    );
    let e = runtime.block_on(writer.update(&http, &text("nope"), json!({"notes": "x"}), &counters)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[test]
fn provider_errors_keep_their_messages() {
    let notion = start(&[]);
    let table = notion.imported("tasks", &[]);
    let wrong = start_as(&[], "wrong");
    let e = wrong.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    assert_eq!(e.detail.as_deref(), Some("provider said: API token is invalid."));
    let mut missing = table.clone();
    missing.options.insert("database_id".into(), "00000000-0000-4000-8000-000000000000".into());
    let e = notion.scan_planned(&missing, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e
        .detail
        .unwrap()
        .starts_with("provider said: Could not find database with ID: 00000000-0000-4000-8000-000000000000."));
    // A column typed against its property: Notion refuses the filter.
    let mut mistyped = table.clone();
    mistyped.columns[at(&table, "notes")].options.insert("type".into(), "select".into());
    let e = notion.scan_planned(&mistyped, vec![qual("notes", Op::IsNull, V::Null)], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidOptionValue);
    assert_eq!(
        e.message,
        "column \"notes\" of foreign table \"tasks\": Notion property \"Notes\" is of type rich_text, not select as the column option type says"
    );
    assert!(e.detail.unwrap().contains("Property Notes is of type rich_text"), "Notion's message is kept");
    assert_eq!(e.hint.as_deref(), Some("Set the column option type to 'rich_text' (IMPORT FOREIGN SCHEMA sets it)."));
}

#[test]
fn the_rate_limit_is_honoured_after_a_429() {
    let notion = start(&[("rate_limit", "50")]);
    let table = notion.imported("tasks", &[("page_size", "1")]);
    let started = std::time::Instant::now();
    assert_eq!(notion.scan_planned(&table, vec![], vec![], None).unwrap().len(), 12);
    let log = requests(&notion);
    assert!(log.len() > 12, "12 pages and at least one refused request: {}", log.len());
    assert!(log.windows(2).any(|w| w[0].body == w[1].body), "a refused request is sent again");
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[test]
fn options_are_checked() {
    let notion = start(&[]);
    let check = |options: &[(&str, &str)], column: ColumnDef| {
        validate_table(&notion.server, &TableDef { name: "t".into(), options: map(options), columns: vec![column] })
            .unwrap_err()
            .message
    };
    let id = || ColumnDef::new("id", ColumnType::Text);
    assert_eq!(check(&[], id()), "option \"database_id\" is required for a foreign table of connector \"notion\"");
    assert!(check(&[("database_id", "x"), ("page_size", "101")], id()).contains("page_size"));
    assert!(check(&[("database_id", "x")], ColumnDef::new("a", ColumnType::Text).with_option("type", "text"))
        .contains("\"type\""));
    assert_eq!(
        check(&[("database_id", "x")], ColumnDef::new("a", ColumnType::Text).with_option("path", "$.properties")),
        "column \"a\": option \"path\" does not apply to connector \"notion\""
    );
    // Without a declared type, only booleans (checkbox) and numbers push conditions.
    let table = TableDef {
        name: "t".into(),
        options: map(&[("database_id", TASKS)]),
        columns: vec![
            ColumnDef::new("Name", ColumnType::Text),
            ColumnDef::new("Estimate", ColumnType::Numeric),
            ColumnDef::new("Done", ColumnType::Bool),
        ],
    };
    let caps = notion.connector.open(&notion.server, &table).unwrap().capabilities();
    assert!(caps.filter_support("Name", Op::Eq).is_none());
    assert!(caps.filter_support("Estimate", Op::Lt).is_some() && caps.filter_support("Done", Op::Eq).is_some());
    let rows =
        notion.scan_planned(&table, vec![qual("Estimate", Op::Lt, V::Numeric("3".into()))], vec![], None).unwrap();
    assert_eq!(rows, vec![vec![Cell::Text("Task 1".into()), Cell::Numeric("1.5".into()), Cell::Bool(false)]]);
}

/// Tasks read through columns declared by hand (no discovery request).
fn tasks_table(columns: Vec<ColumnDef>) -> TableDef {
    let mut all = vec![
        ColumnDef::new("id", ColumnType::Text),
        ColumnDef::new("name", ColumnType::Text).with_option("property", "Name"),
    ];
    all.extend(columns);
    TableDef { name: "t".into(), options: map(&[("database_id", TASKS)]), columns: all }
}

#[test]
fn a_429_is_retried_after_its_retry_after() {
    let notion = start(&[]);
    let table = tasks_table(vec![]);
    let expected = notion.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(expected.len(), 12);
    let throttled = start(&[]);
    let mut server = throttled.server.clone();
    server.options.insert("base_url".into(), format!("{}/notion/429/1/v1", throttled.mock.url()));
    let throttled = Provider { server, ..throttled };
    assert_eq!(throttled.scan_planned(&table, vec![], vec![], None).unwrap(), expected);
    let log = requests(&throttled);
    assert_eq!(log.len(), 2, "one refused request, one retry: {log:?}");
    assert_eq!((&log[0].path, &log[0].body), (&log[1].path, &log[1].body));
    assert!(log[1].at_ms - log[0].at_ms >= 1000.0, "Retry-After: 1 was honoured: {} ms", log[1].at_ms - log[0].at_ms);

    let refusing = start(&[("max_retries", "1")]);
    let mut server = refusing.server.clone();
    server.options.insert("base_url".into(), format!("{}/notion/429/always/v1", refusing.mock.url()));
    let refusing = Provider { server, ..refusing };
    let e = refusing.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert!(e.message.ends_with("failed after 1 retry: HTTP 429 Too Many Requests"), "{}", e.message);
    assert_eq!(
        e.detail.as_deref(),
        Some("provider said: You have been rate limited. Please try again in a few minutes.")
    );
    let log = requests(&refusing);
    assert_eq!(log.len(), 2);
    assert!(log[1].at_ms - log[0].at_ms >= 1000.0);
}

#[test]
fn bad_ids_and_mistyped_properties_are_named() {
    let notion = start(&[]);
    // An unknown database: Notion's message, a hint naming the option.
    let mut table = tasks_table(vec![]);
    table.options.insert("database_id".into(), "00000000-0000-4000-8000-00000000dead".into());
    let e = notion.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e
        .detail
        .unwrap()
        .starts_with("provider said: Could not find database with ID: 00000000-0000-4000-8000-00000000dead."));
    assert_eq!(
        e.hint.as_deref(),
        Some("Notion database \"00000000-0000-4000-8000-00000000dead\" (option database_id of foreign table \"t\") does not exist or is not shared with the integration (share it from the database's Connections menu).")
    );
    // type 'number' on a select property: caught on the first page, no request more.
    notion.mock.reset();
    let table = tasks_table(vec![ColumnDef::new("priority", ColumnType::Text)
        .with_option("property", "Priority")
        .with_option("type", "number")]);
    let e = notion.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidOptionValue);
    assert_eq!(
        e.message,
        "column \"priority\" of foreign table \"t\": Notion property \"Priority\" is of type select, not number as the column option type says"
    );
    assert_eq!(e.hint.as_deref(), Some("Set the column option type to 'select' (IMPORT FOREIGN SCHEMA sets it)."));
    assert_eq!(requests(&notion).len(), 1);
    // A numeric column without a type is taken for a number: its filter is refused, the schema explains.
    notion.mock.reset();
    let table = tasks_table(vec![ColumnDef::new("priority", ColumnType::Numeric).with_option("property", "Priority")]);
    let e =
        notion.scan_planned(&table, vec![qual("priority", Op::Lt, V::Numeric("3".into()))], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidOptionValue);
    assert_eq!(
        e.message,
        "column \"priority\" of foreign table \"t\": Notion property \"Priority\" is of type select, not number as the column's type implies without the option type"
    );
    assert!(e.detail.unwrap().contains("Property Priority is of type select"));
    let log = requests(&notion);
    assert_eq!(
        log.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect::<Vec<_>>(),
        vec![
            ("POST", format!("/notion/v1/databases/{TASKS}/query").as_str()),
            ("GET", format!("/notion/v1/databases/{TASKS}").as_str())
        ]
    );
    // A property the database does not have: named, with the ones it has.
    let table = tasks_table(vec![ColumnDef::new("owner", ColumnType::Text).with_option("property", "Owner")]);
    let e = notion.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(
        e.message,
        format!("column \"owner\" of foreign table \"t\": Notion database {TASKS} has no property \"Owner\"")
    );
    let hint = e.hint.unwrap();
    assert!(
        hint.starts_with("Its properties are: ") && hint.contains("Priority (select)") && hint.contains("Name (title)"),
        "{hint}"
    );
}

#[test]
fn a_529_service_overload_is_retried_like_a_429() {
    let table = tasks_table(vec![]);
    let overloaded = start(&[]);
    let mut server = overloaded.server.clone();
    server.options.insert("base_url".into(), format!("{}/notion/529/1/v1", overloaded.mock.url()));
    let overloaded = Provider { server, ..overloaded };
    assert_eq!(overloaded.scan_planned(&table, vec![], vec![], None).unwrap().len(), 12);
    let log = requests(&overloaded);
    assert_eq!(log.len(), 2, "one refused request, one retry: {log:?}");
    assert_eq!((&log[0].path, &log[0].body), (&log[1].path, &log[1].body));
    assert!(log[1].at_ms - log[0].at_ms >= 1000.0, "Retry-After: 1 was honoured");

    let refusing = start(&[("max_retries", "2")]);
    let mut server = refusing.server.clone();
    server.options.insert("base_url".into(), format!("{}/notion/529/always/v1", refusing.mock.url()));
    let refusing = Provider { server, ..refusing };
    let e = refusing.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert!(e.message.ends_with("failed after 2 retries: HTTP 529"), "{}", e.message);
    assert_eq!(e.detail.as_deref(), Some("provider said: Notion is overloaded. Please try again later."));
    assert_eq!(requests(&refusing).len(), 3, "max_retries bounds the retries");
}
