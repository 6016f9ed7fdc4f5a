//! The Airtable connector against the Airtable mock of crates/mockapi: the exact requests of typical
//! queries (formula, sort, maxRecords, fields[], offset paging), results identical to filtering locally,
//! type conversion, writes in batches of 10, discovery, error bodies, the rate limit and bad options.

mod common;

use common::*;
use connector_core::connectors::validate_table;
use connector_core::convert::Cell;
use connector_core::http::Counters;
use connector_core::model::{ColumnDef, ColumnType, Limit, Op, Qual, ScanRequest, Sort, TableDef, Value as V};
use connector_core::write::WriteOp;
use connector_core::ErrorKind;
use mockapi::RecordedRequest;
use serde_json::{json, Value};
use std::time::Duration;

const BASE: &str = "appMockBase000001";

/// A server on the mock's Airtable base, all requests through one client.
fn airtable(extra: &[(&str, &str)]) -> Provider {
    airtable_as(extra, mockapi::TEST_TOKEN)
}

fn airtable_as(extra: &[(&str, &str)], token: &str) -> Provider {
    let mut options = vec![("base_id", BASE)];
    options.extend_from_slice(extra);
    Provider::start("airtable", "/airtable/v0", &options, &[("api_key", token)]).keep_one_client()
}

/// The requests of scans and writes (discovery's are left out).
fn requests(air: &Provider) -> Vec<RecordedRequest> {
    air.mock.requests().into_iter().filter(|r| !r.path.contains("/meta/")).collect()
}

#[test]
fn discovery_maps_field_types() {
    let air = airtable(&[]);
    let resources = air.resources();
    assert_eq!(
        air.mock.requests().iter().map(|r| (r.method.as_str(), r.path.as_str())).collect::<Vec<_>>(),
        vec![("GET", "/airtable/v0/meta/bases/appMockBase000001/tables")]
    );
    assert_eq!(resources.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), vec!["projects", "team"]);
    let projects = &resources[0];
    assert_eq!(projects.table_options, map(&[("table", "tblProjects000001"), ("base_id", "appMockBase000001")]));
    let columns: Vec<(&str, &str, Option<&str>)> = projects
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.sql_type.as_str(), c.options.get("field").map(String::as_str)))
        .collect();
    assert_eq!(
        columns,
        vec![
            ("id", "text", None),
            ("created_time", "timestamptz", None),
            ("name", "text", Some("Name")),
            ("status", "text", Some("Status")),
            ("budget", "numeric", Some("Budget")),
            ("hours", "bigint", Some("Hours")),
            ("done", "boolean", Some("Done")),
            ("due_date", "date", Some("Due date")),
            ("tags", "text[]", Some("Tags")),
            ("owner", "jsonb", Some("Owner")),
            ("notes", "text", Some("Notes")),
            ("score", "bigint", Some("Score")),
        ]
    );
    let team: Vec<(&str, &str)> = resources[1].columns.iter().map(|c| (c.name.as_str(), c.sql_type.as_str())).collect();
    assert_eq!(
        &team[2..],
        &[("name", "text"), ("email", "text"), ("started", "timestamptz"), ("projects", "text[]"), ("photo", "jsonb")]
    );
    // Discovery needs the base.
    let mut no_base = air.server.clone();
    no_base.options.remove("base_id");
    let e = runtime().block_on(air.connector.resources(&no_base, &air.http())).unwrap_err();
    assert_eq!(e.kind, ErrorKind::MissingOption);
    assert!(e.hint.unwrap().contains("IMPORT FOREIGN SCHEMA \"appXXXXXXXXXXXXXX\" FROM SERVER"));
    // IMPORT's remote schema names the base: a server without one imports the base named.
    let scoped = air.connector.import_scope(&no_base, "appMockBase000001");
    let resources = runtime().block_on(air.connector.resources(&scoped, &air.http())).unwrap();
    assert_eq!(resources[1].table_options.get("base_id").map(String::as_str), Some("appMockBase000001"));
    assert_eq!(air.connector.import_scope(&no_base, "airtable").option("base_id"), None);
    assert_eq!(air.connector.import_scope(&air.server, "airtable").option("base_id"), Some("appMockBase000001"));
}

#[test]
fn scans_page_with_offset_and_ask_for_the_fields_they_read() {
    let air = airtable(&[]);
    let table = air.imported("projects", &[("page_size", "10")]);
    let rows = air.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 25);
    let log = requests(&air);
    assert_eq!(log.len(), 3);
    let fields = vec!["Name", "Status", "Budget", "Hours", "Done", "Due date", "Tags", "Owner", "Notes", "Score"];
    for (i, r) in log.iter().enumerate() {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/airtable/v0/appMockBase000001/tblProjects000001"));
        assert_eq!(r.header("authorization"), Some("Bearer test-token"));
        let asked: Vec<String> = r.params().into_iter().filter(|(k, _)| k == "fields[]").map(|(_, v)| v).collect();
        assert_eq!(asked, fields);
        assert_eq!(r.param("pageSize").as_deref(), Some("10"));
        assert_eq!(r.param("offset").is_some(), i > 0, "{}", r.query);
    }
    // Types: numbers exact, unchecked boxes false, blanks NULL, arrays and objects.
    let row = |n: usize| &rows[n - 1];
    assert_eq!(row(1)[at(&table, "id")], Cell::Text("recMock0000000001".into()));
    assert_eq!(row(1)[at(&table, "budget")], Cell::Numeric("100.5".into()));
    assert_eq!(row(5)[at(&table, "budget")], Cell::Numeric("0".into()));
    assert_eq!(row(7)[at(&table, "budget")], Cell::Null);
    assert_eq!((&row(3)[at(&table, "done")], &row(4)[at(&table, "done")]), (&Cell::Bool(true), &Cell::Bool(false)));
    assert_eq!(row(2)[at(&table, "tags")], Cell::TextArray(vec![Some("red".into()), Some("green".into())]));
    assert_eq!(row(4)[at(&table, "tags")], Cell::Null);
    assert!(matches!(&row(1)[at(&table, "owner")], Cell::Jsonb(o) if o["name"] == "Owner 1"));
    assert!(matches!(row(1)[at(&table, "due_date")], Cell::Date(_)));
    assert!(matches!(row(1)[at(&table, "created_time")], Cell::Timestamp(_)));
    assert_eq!(row(2)[at(&table, "notes")], Cell::Null);
    assert_eq!(row(3)[at(&table, "name")], Cell::Text("O'Brien's plan".into()));

    // A query reading two columns asks for their fields only (the record id is always there).
    air.mock.reset();
    let rows = air.scan_planned_columns(&table, &["id", "budget"], vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 25);
    assert_eq!(requests(&air)[0].query, "fields%5B%5D=Budget&pageSize=10");
}

#[test]
fn conditions_become_one_formula_with_the_rows_postgres_would_keep() {
    let air = airtable(&[]);
    let table = air.imported("projects", &[]);
    let all = air.scan_planned(&table, vec![], vec![], None).unwrap();
    let cases: Vec<(Qual, &str)> = vec![
        (qual("name", Op::Eq, text("O'Brien's plan")), r"{Name}='O\'Brien\'s plan'"),
        (
            qual("name", Op::In, V::List(vec![text("Say \"hi\""), text("Back\\slash"), text("none")])),
            r#"OR({Name}='Say "hi"',{Name}='Back\\slash',{Name}='none')"#,
        ),
        (qual("status", Op::Ne, text("Done")), "AND({Status}!=BLANK(),{Status}!='Done')"),
        (qual("notes", Op::IsNull, V::Null), "{Notes}=BLANK()"),
        (qual("notes", Op::IsNotNull, V::Null), "{Notes}!=BLANK()"),
        (qual("budget", Op::Eq, V::Numeric("0".into())), "AND({Budget}&''!='',{Budget}=0)"),
        (qual("budget", Op::Ge, V::Numeric("0".into())), "AND({Budget}&''!='',{Budget}>=0)"),
        (qual("budget", Op::Lt, V::Numeric("1000.5".into())), "AND({Budget}&''!='',{Budget}<1000.5)"),
        (qual("budget", Op::Ne, V::Numeric("0".into())), "AND({Budget}&''!='',{Budget}!=0)"),
        (qual("budget", Op::IsNull, V::Null), "{Budget}&''=''"),
        (qual("hours", Op::In, V::List(vec![V::Int(0), V::Int(3)])), "AND({Hours}&''!='',OR({Hours}=0,{Hours}=3))"),
        (qual("done", Op::Eq, V::Bool(false)), "{Done}=FALSE()"),
        (qual("done", Op::Eq, V::Bool(true)), "{Done}=TRUE()"),
        (
            qual("id", Op::In, V::List(vec![text("recMock0000000002"), text("recMock0000000009")])),
            "OR(RECORD_ID()='recMock0000000002',RECORD_ID()='recMock0000000009')",
        ),
    ];
    for (q, formula) in cases {
        air.mock.reset();
        let column = at(&table, &q.column);
        let expected: Vec<&Vec<Cell>> = all.iter().filter(|r| holds(&r[column], q.op, &q.value)).collect();
        let rows = air.scan_planned(&table, vec![q.clone()], vec![], None).unwrap();
        assert_eq!(requests(&air)[0].param("filterByFormula").as_deref(), Some(formula), "{q}");
        assert_eq!(rows.iter().collect::<Vec<_>>(), expected, "{q}");
        assert!(!rows.is_empty() || q.column == "name", "{q} should match something");
    }
    // Several conditions are ANDed.
    air.mock.reset();
    let quals = vec![qual("done", Op::Eq, V::Bool(true)), qual("hours", Op::Gt, V::Int(10))];
    let rows = air.scan_planned(&table, quals, vec![], None).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["recMock0000000015", "recMock0000000021"]);
    assert_eq!(
        requests(&air)[0].param("filterByFormula").as_deref(),
        Some("AND({Done}=TRUE(),AND({Hours}&''!='',{Hours}>10))")
    );
}

#[test]
fn sorts_and_limits_are_pushed() {
    let air = airtable(&[]);
    let table = air.imported("projects", &[]);
    let sorts = vec![Sort { column: "budget".into(), desc: true, nulls_first: false }];
    let rows = air.scan_planned(&table, vec![], sorts.clone(), Some(Limit { count: Some(3), offset: 0 })).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["recMock0000000024", "recMock0000000023", "recMock0000000022"]);
    let log = requests(&air);
    assert_eq!(log.len(), 1);
    let params = log[0].params();
    let tail: Vec<(&str, &str)> =
        params.iter().filter(|(k, _)| k != "fields[]").map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        tail,
        vec![("sort[0][field]", "Budget"), ("sort[0][direction]", "desc"), ("maxRecords", "3"), ("pageSize", "3")]
    );
    // Blanks sort first ascending, as Postgres' NULLS FIRST; descending they come last.
    air.mock.reset();
    let ascending = vec![
        Sort { column: "budget".into(), desc: false, nulls_first: true },
        Sort { column: "hours".into(), desc: true, nulls_first: false },
    ];
    let rows = air.scan_planned(&table, vec![], ascending, None).unwrap();
    let budgets: Vec<&Cell> = rows.iter().map(|r| &r[at(&table, "budget")]).collect();
    assert_eq!(&budgets[..3], &[&Cell::Null, &Cell::Null, &Cell::Null]);
    assert_eq!(requests(&air)[0].param("sort[1][field]").as_deref(), Some("Hours"));
    // Postgres' default null order for an ascending sort is not Airtable's: not pushed; nor is text.
    let opened = air.connector.open(&air.server, &table).unwrap();
    assert!(!opened.capabilities().can_sort(&[Sort { column: "budget".into(), desc: false, nulls_first: false }]));
    assert!(!opened.capabilities().can_sort(&[Sort { column: "name".into(), desc: false, nulls_first: true }]));
    let mut sortable_name = table.clone();
    sortable_name.columns[at(&table, "name")].options.insert("sortable".into(), "true".into());
    let opened = air.connector.open(&air.server, &sortable_name).unwrap();
    assert!(opened.capabilities().can_sort(&[Sort { column: "name".into(), desc: false, nulls_first: true }]));
    assert!(opened.capabilities().supports_limit() && !opened.capabilities().supports_offset());
    // EXPLAIN shows the request.
    let request = ScanRequest {
        columns: vec![at(&table, "id")],
        quals: vec![qual("status", Op::Eq, text("Done"))],
        sorts,
        limit: Some(Limit { count: Some(2), offset: 0 }),
    };
    assert_eq!(
        opened.describe(&request),
        vec![format!("GET {}/airtable/v0/{BASE}/tblProjects000001?filterByFormula=%7BStatus%7D%3D%27Done%27&sort%5B0%5D%5Bfield%5D=Budget&sort%5B0%5D%5Bdirection%5D=desc&maxRecords=2&pageSize=2", air.mock.url())]
    );
}

#[test]
fn views_and_table_names_are_passed_along() {
    let air = airtable(&[]);
    let table = TableDef {
        name: "open_projects".into(),
        options: map(&[("table", "Projects"), ("view", "Open")]),
        columns: vec![
            ColumnDef::new("id", ColumnType::Text),
            ColumnDef::new("Name", ColumnType::Text),
            ColumnDef::new("everything", ColumnType::Jsonb).with_option("field", "Owner"),
        ],
    };
    let rows = air.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 25 - 8);
    let r = &requests(&air)[0];
    assert_eq!(r.path, "/airtable/v0/appMockBase000001/Projects");
    assert_eq!(r.param("view").as_deref(), Some("Open"));
    // A table name with spaces is one path segment; `fields` reads all fields as one object.
    let air = airtable(&[]);
    let table = TableDef {
        name: "t".into(),
        options: map(&[("table", "My table"), ("base_id", "appOther")]),
        columns: vec![ColumnDef::new("fields", ColumnType::Jsonb)],
    };
    let e = air.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(requests(&air)[0].path, "/airtable/v0/appOther/My%20table");
    assert_eq!(requests(&air)[0].query, "pageSize=100", "all fields: no fields[]");
    assert_eq!(e.detail.as_deref(), Some("provider said: Could not find table My table in application appOther"));
}

#[test]
fn writes_go_in_batches_of_ten() {
    let air = airtable(&[]);
    let table = air.imported("projects", &[]);
    let opened = air.connector.open(&air.server, &table).unwrap();
    let writer = opened.writer().expect("airtable writes");
    assert_eq!((writer.batch_size(), writer.key_column()), (10, "id"));
    assert_eq!(
        writer.describe(WriteOp::Delete),
        format!("DELETE {}/airtable/v0/{BASE}/tblProjects000001?records[]={{key}}", air.mock.url())
    );
    let (http, counters, runtime) = (air.http(), Counters::default(), runtime());
    let records: Vec<Value> = (0..25)
        .map(|i| {
            connector_core::write::record(
                &table,
                &[
                    (at(&table, "name"), json!(format!("New {i}"))),
                    (at(&table, "hours"), json!(i)),
                    (at(&table, "due_date"), json!("2024-05-01")),
                ],
            )
            .unwrap()
        })
        .collect();
    let answers = runtime.block_on(writer.insert(&http, records, &counters)).unwrap();
    assert_eq!(answers.len(), 25);
    assert_eq!(
        (&answers[0]["id"], &answers[0]["name"], &answers[24]["hours"]),
        (&json!("recMock0000000026"), &json!("New 0"), &json!(24))
    );
    let log = requests(&air);
    let sizes: Vec<usize> = log.iter().map(|r| r.body.as_ref().unwrap()["records"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, vec![10, 10, 5]);
    assert!(log.iter().all(|r| r.method == "POST"
        && r.path == "/airtable/v0/appMockBase000001/tblProjects000001"
        && r.query.is_empty()));
    assert_eq!(
        log[0].body.as_ref().unwrap()["records"][1],
        json!({"fields": {"Name": "New 1", "Hours": 1, "Due date": "2024-05-01"}})
    );

    air.mock.reset();
    let changes = connector_core::write::record(
        &table,
        &[(at(&table, "notes"), json!("It's done")), (at(&table, "done"), json!(true))],
    )
    .unwrap();
    let updated = runtime.block_on(writer.update(&http, &text("recMock0000000002"), changes, &counters)).unwrap();
    assert_eq!(
        (&updated["notes"], &updated["done"], &updated["name"]),
        (&json!("It's done"), &json!(true), &json!("Project 2"))
    );
    let deleted = runtime.block_on(writer.delete(&http, &text("recMock0000000002"), &counters)).unwrap();
    assert_eq!(deleted, json!({"id": "recMock0000000002"}));
    let log = requests(&air);
    assert_eq!((log[0].method.as_str(), log[0].query.as_str()), ("PATCH", ""));
    assert_eq!(
        log[0].body,
        Some(json!({"records": [{"id": "recMock0000000002", "fields": {"Notes": "It's done", "Done": true}}]}))
    );
    assert_eq!((log[1].method.as_str(), log[1].param("records[]").as_deref()), ("DELETE", Some("recMock0000000002")));
    assert_eq!(air.scan_planned(&table, vec![], vec![], None).unwrap().len(), 24);

    // Ids are Airtable's; computed fields are refused with Airtable's message.
    let e = runtime
        .block_on(writer.update(&http, &text("recMock0000000003"), json!({"id": "recX"}), &counters))
        .unwrap_err();
    assert!(e.message.contains("column \"id\" of foreign table \"projects\" is set by Airtable"), "{}", e.message);
    let e =
        runtime.block_on(writer.update(&http, &text("recMock0000000003"), json!({"score": 1}), &counters)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert!(e.message.contains("HTTP 422"), "{}", e.message);
    assert_eq!(
        e.detail.as_deref(),
        Some("provider said: Field \"Score\" cannot accept a value because the field is computed")
    );
    let e = runtime.block_on(writer.delete(&http, &text("recNope"), &counters)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[test]
fn updates_and_deletes_go_in_batches_of_ten() {
    let air = airtable(&[]);
    let table = air.imported("projects", &[]);
    let writer = air.connector.open(&air.server, &table).unwrap().writer().expect("airtable writes");
    assert_eq!(writer.change_batch_size(), 10);
    let (http, counters, runtime) = (air.http(), Counters::default(), runtime());
    let key = |i: usize| text(&format!("recMock{i:010}"));
    let rows: Vec<(V, Value)> = (1..=10)
        .map(|i| {
            (
                key(i),
                connector_core::write::record(&table, &[(at(&table, "notes"), json!(format!("note {i}")))]).unwrap(),
            )
        })
        .collect();
    runtime.block_on(writer.update_batch(&http, rows, &counters)).unwrap();
    runtime.block_on(writer.delete_batch(&http, (11..=13).map(key).collect(), &counters)).unwrap();
    let log = requests(&air);
    assert_eq!(log.len(), 2);
    let patched = log[0].body.as_ref().unwrap()["records"].as_array().unwrap().clone();
    assert_eq!((log[0].method.as_str(), patched.len()), ("PATCH", 10));
    assert_eq!(patched[9], json!({"id": "recMock0000000010", "fields": {"Notes": "note 10"}}));
    assert_eq!(log[1].method, "DELETE");
    assert_eq!(
        log[1].query,
        "records%5B%5D=recMock0000000011&records%5B%5D=recMock0000000012&records%5B%5D=recMock0000000013"
    );
    let notes = air.scan_planned_columns(&table, &["id", "notes"], vec![], vec![], None).unwrap();
    assert_eq!(notes.len(), 22, "3 of the 25 projects were deleted");
    let noted = notes.iter().filter(|row| matches!(&row[1], Cell::Text(n) if n.starts_with("note "))).count();
    assert_eq!(noted, 10);

    // A batch is one request: Airtable refuses it whole when one record of it is unknown.
    air.mock.reset();
    let e = runtime.block_on(writer.delete_batch(&http, vec![key(1), text("recNope")], &counters)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(requests(&air).len(), 1);
}

#[test]
fn provider_errors_keep_their_messages() {
    let air = airtable(&[]);
    let table = air.imported("projects", &[]);
    let wrong = airtable_as(&[], "wrong");
    let e = wrong.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    assert_eq!(e.detail.as_deref(), Some("provider said: Authentication required"));
    let mut bad = table.clone();
    bad.columns.push(ColumnDef::new("nope", ColumnType::Text));
    let e = air.scan_planned(&bad, vec![], vec![], None).unwrap_err();
    assert!(e.message.contains("HTTP 422"), "{}", e.message);
    assert_eq!(e.detail.as_deref(), Some("provider said: Unknown field name: \"nope\""));
    let e = air.scan_planned(&table, vec![], vec![], Some(Limit { count: Some(0), offset: 0 })).map(|rows| rows.len());
    assert!(e.is_ok(), "LIMIT 0 asks for one record: {e:?}");
}

#[test]
fn the_rate_limit_is_honoured_after_a_429() {
    // A server allowing more than Airtable's 5 requests a second hits the mock's limit and waits (Airtable's
    // 30 seconds by default, shortened here).
    let air = airtable(&[("rate_limit", "50"), ("retry_after_ms", "1000")]);
    let table = air.imported("projects", &[("page_size", "1")]);
    let started = std::time::Instant::now();
    let rows = air.scan_planned_columns(&table, &["id"], vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 25);
    let log = requests(&air);
    assert!(log.len() > 25, "25 pages and at least one refused request: {}", log.len());
    assert!(log.windows(2).any(|w| w[0].query == w[1].query), "a refused request is sent again");
    assert!(started.elapsed() >= Duration::from_secs(1), "retry_after_ms was honoured");
    // With the default of 5 a second nothing is refused.
    let air = airtable(&[]);
    let table = air.imported("projects", &[("page_size", "4")]);
    assert_eq!(air.scan_planned_columns(&table, &["id"], vec![], vec![], None).unwrap().len(), 25);
    assert_eq!(requests(&air).len(), 7);
}

#[test]
fn options_are_checked() {
    let air = airtable(&[]);
    let check = |options: &[(&str, &str)], column: ColumnDef| {
        validate_table(&air.server, &TableDef { name: "t".into(), options: map(options), columns: vec![column] })
            .unwrap_err()
            .message
    };
    let id = || ColumnDef::new("id", ColumnType::Text);
    assert_eq!(check(&[], id()), "option \"table\" is required for a foreign table of connector \"airtable\"");
    assert!(check(&[("table", "x"), ("page_size", "101")], id()).contains("page_size"));
    assert!(check(&[("table", "x"), ("batch_size", "11")], id()).contains("batch_size"));
    assert_eq!(
        check(&[("table", "x")], ColumnDef::new("a", ColumnType::Text).with_option("path", "$.fields.a")),
        "column \"a\": option \"path\" does not apply to connector \"airtable\""
    );
    let mut no_base = air.server.clone();
    no_base.options.remove("base_id");
    let e =
        validate_table(&no_base, &TableDef { name: "t".into(), options: map(&[("table", "x")]), columns: vec![id()] })
            .unwrap_err();
    assert!(e.message.contains("\"base_id\" is required"), "{}", e.message);
    // Capabilities: what each kind of column pushes.
    let table = air.imported("projects", &[]);
    let caps = air.connector.open(&air.server, &table).unwrap().capabilities();
    assert!(caps.filter_support("name", Op::Lt).is_none(), "text order is not Airtable's");
    assert!(caps.filter_support("tags", Op::IsNull).is_some() && caps.filter_support("tags", Op::Eq).is_none());
    assert!(caps.filter_support("owner", Op::IsNull).is_none());
    assert!(caps.filter_support("due_date", Op::Eq).is_none());
    assert!(caps.filter_support("created_time", Op::Gt).is_none());
}

/// Projects read through columns declared by hand (no discovery request).
fn projects_table(options: &[(&str, &str)]) -> TableDef {
    let mut table_options = map(&[("table", "tblProjects000001")]);
    table_options.extend(map(options));
    TableDef {
        name: "projects".into(),
        options: table_options,
        columns: vec![
            ColumnDef::new("id", ColumnType::Text),
            ColumnDef::new("name", ColumnType::Text).with_option("field", "Name"),
            ColumnDef::new("status", ColumnType::Text).with_option("field", "Status"),
            ColumnDef::new("budget", ColumnType::Numeric).with_option("field", "Budget"),
        ],
    }
}

#[test]
fn the_issues_example_is_exactly_one_request() {
    // WHERE status = 'Doing' AND budget > 100 ORDER BY budget DESC LIMIT 3 (the issue's status = 'Open' AND
    // amount > 100, on the mock's fields).
    let air = airtable(&[]);
    let table = projects_table(&[]);
    let quals = vec![qual("status", Op::Eq, text("Doing")), qual("budget", Op::Gt, V::Numeric("100".into()))];
    let sorts = vec![Sort { column: "budget".into(), desc: true, nulls_first: false }];
    let rows = air.scan_planned(&table, quals, sorts, Some(Limit { count: Some(3), offset: 0 })).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["recMock0000000022", "recMock0000000019", "recMock0000000016"]);
    assert_eq!(rows[0][3], Cell::Numeric("2200.5".into()));
    let log = requests(&air);
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("GET", "/airtable/v0/appMockBase000001/tblProjects000001")
    );
    let params: Vec<(String, String)> = log[0].params();
    let expected: Vec<(String, String)> = [
        ("fields[]", "Name"),
        ("fields[]", "Status"),
        ("fields[]", "Budget"),
        ("filterByFormula", "AND({Status}='Doing',AND({Budget}&''!='',{Budget}>100))"),
        ("sort[0][field]", "Budget"),
        ("sort[0][direction]", "desc"),
        ("maxRecords", "3"),
        ("pageSize", "3"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(params, expected);
}

#[test]
fn a_429_is_retried_after_airtables_wait() {
    // Airtable sends no Retry-After and documents a 30-second wait: that is the default.
    let air = airtable(&[]);
    let settings = connector_core::connectors::http_settings(&air.server, air.connector.as_ref()).unwrap();
    assert_eq!(settings.retry_after, Some(Duration::from_secs(30)));
    let table = projects_table(&[]);
    let expected = air.scan_planned(&table, vec![], vec![], None).unwrap();
    // The mock refuses the first request of each URL with Airtable's 429.
    let throttled = airtable(&[("retry_after_ms", "1000")]);
    let mut server = throttled.server.clone();
    server.options.insert("base_url".into(), format!("{}/airtable/429/1/v0", throttled.mock.url()));
    let throttled = Provider { server, ..throttled };
    let rows = throttled.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(rows, expected);
    let log = requests(&throttled);
    assert_eq!(log.len(), 2, "one refused request, one retry: {log:?}");
    assert_eq!((&log[0].path, &log[0].query), (&log[1].path, &log[1].query));
    assert!(log[1].at_ms - log[0].at_ms >= 1000.0, "retry_after_ms was honoured: {} ms", log[1].at_ms - log[0].at_ms);

    // Refused beyond max_retries: the error quotes Airtable's message.
    let refusing = airtable(&[("max_retries", "1"), ("retry_after_ms", "1000")]);
    let mut server = refusing.server.clone();
    server.options.insert("base_url".into(), format!("{}/airtable/429/always/v0", refusing.mock.url()));
    let refusing = Provider { server, ..refusing };
    let e = refusing.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert!(e.message.ends_with("failed after 1 retry: HTTP 429 Too Many Requests"), "{}", e.message);
    assert_eq!(e.detail.as_deref(), Some("provider said: Rate limit exceeded. Please try again later"));
    let log = requests(&refusing);
    assert_eq!(log.len(), 2);
    assert!(log[1].at_ms - log[0].at_ms >= 1000.0);
}

#[test]
fn bad_ids_fields_and_formulas_are_named() {
    let air = airtable(&[]);
    // An unknown table: Airtable's message, and a hint naming the base and the table.
    let e = air.scan_planned(&projects_table(&[("table", "tblNope")]), vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.message.contains("/appMockBase000001/tblNope"), "{}", e.message);
    assert_eq!(
        e.detail.as_deref(),
        Some("provider said: Could not find table tblNope in application appMockBase000001")
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("Base \"appMockBase000001\" has no table \"tblNope\", or the base does not exist or is not shared with the token: check the options base_id and table of foreign table \"projects\" (IMPORT FOREIGN SCHEMA sets them).")
    );
    // An unknown base.
    let e = air.scan_planned(&projects_table(&[("base_id", "appNope")]), vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.hint.unwrap().starts_with("Base \"appNope\" has no table \"tblProjects000001\""));
    // A formula Airtable refuses (a field it does not know): its message, and the formula.
    let mut table = projects_table(&[]);
    table.columns.push(ColumnDef::new("owner", ColumnType::Text).with_option("field", "Owner name"));
    let e =
        air.scan_planned_columns(&table, &["id"], vec![qual("owner", Op::Eq, text("Ada"))], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert!(e.message.contains("HTTP 422"), "{}", e.message);
    assert_eq!(
        e.detail.as_deref(),
        Some("provider said: The formula for filtering records is invalid: Unknown field names: Owner name")
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("Airtable refused the formula made of the query's conditions on foreign table \"projects\": {Owner name}='Ada'. Check the columns' field options, or SET connector_fdw.pushdown = off to filter in Postgres.")
    );
    // An unknown view.
    let e = air.scan_planned(&projects_table(&[("view", "Closed")]), vec![], vec![], None).unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("provider said: Could not find view Closed"));
    assert_eq!(
        e.hint.as_deref(),
        Some(
            "Table \"tblProjects000001\" has no view \"Closed\": check the option view of foreign table \"projects\"."
        )
    );
    // Discovery of an unknown base.
    let mut other = air.server.clone();
    other.options.insert("base_id".into(), "appNope".into());
    let e = runtime().block_on(air.connector.resources(&other, &air.http())).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.hint.unwrap().starts_with("Base \"appNope\" does not exist"));
    // A field it does not know, read but not filtered.
    let e = air.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("provider said: Unknown field name: \"Owner name\""));
    assert!(e
        .hint
        .unwrap()
        .starts_with("A column of foreign table \"projects\" names a field table \"tblProjects000001\" does not have"));
}
