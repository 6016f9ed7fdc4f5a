//! Property-based fuzz tests of the Airtable, Notion and Google Sheets connectors: any JSON a provider may
//! answer with (shaped like its pages, with values of any type in its fields and properties, or anything
//! else) reads as rows or fails with an error, never a panic. A panic on a scan's worker becomes an error of
//! kind `Internal`, so for scans "no panic" means "no `Internal` error"; discovery runs on the test's thread,
//! where a panic fails the test. Value conversion and the type mappings of discovery are fuzzed directly too.
//!
//! Run: `cargo test -p connector_core --test fuzz_providers`; `PROPTEST_CASES=N` sets the number of cases.

#[allow(dead_code)]
#[path = "fuzz/gen.rs"]
mod gen;
#[allow(dead_code)]
#[path = "fuzz/server.rs"]
mod server;
#[path = "fuzz/support.rs"]
mod support;

use connector_core::connectors::{self, airtable, notion, ServerDef};
use connector_core::convert::{convert, Cell};
use connector_core::model::{ColumnDef, ColumnType, ScanRequest, TableDef};
use connector_core::options::OptionMap;
use connector_core::scan::{Projector, Scan, ScanSettings};
use connector_core::{ErrorKind, Result};
use gen::*;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use server::{Canned, Framing};
use std::sync::{Arc, OnceLock};
use support::{config, drain, map, runtime};

/// A server of `connector` on the canned-response server: no credentials, no retries, no rate limit.
fn server(connector: &str, base: &str, extra: &[(&str, &str)]) -> ServerDef {
    let mut options = map(&[
        ("connector", connector),
        ("base_url", base),
        ("auth", "none"),
        ("max_retries", "0"),
        ("timeout_ms", "5000"),
        ("rate_limit", "100000"),
    ]);
    options.extend(map(extra));
    ServerDef { name: "s".into(), options }
}

/// Answer every request with `body` (HTTP 200), then scan `table` for at most a few pages.
fn scan_with(canned: &Canned, server: &ServerDef, table: &TableDef, body: &Value) -> Result<Vec<Vec<Cell>>> {
    canned.respond_with(server::response(200, &[], body.to_string().as_bytes(), Framing::Exact));
    connectors::validate_server(server)?;
    connectors::validate_table(server, table)?;
    let connector = connectors::for_server(server)?;
    let opened = connector.open(server, table)?;
    let request =
        ScanRequest { columns: (0..table.columns.len()).collect(), quals: vec![], sorts: vec![], limit: None };
    let http = Arc::new(connectors::http_client(server, &OptionMap::new(), None)?);
    let projector = Arc::new(Projector::new(table, &request.columns)?);
    // A static server may say "more" forever: the scan stops after a few pages' rows.
    let settings = ScanSettings { max_concurrency: 1, rows_needed: Some(20), ..Default::default() };
    drain(Scan::start(runtime().handle(), http, opened.scan(&request)?, projector, settings))
}

/// Answer every request with `body`, then run discovery.
fn discover(canned: &Canned, server: &ServerDef, body: &Value) -> Result<Vec<connectors::Resource>> {
    canned.respond_with(server::response(200, &[], body.to_string().as_bytes(), Framing::Exact));
    let connector = connectors::for_server(server)?;
    let http = connectors::http_client(server, &OptionMap::new(), None)?;
    runtime().block_on(connector.resources(server, &http))
}

fn canned(slot: &'static OnceLock<Canned>) -> &'static Canned {
    slot.get_or_init(|| Canned::start(runtime()))
}

fn no_panic(result: &Result<Vec<Vec<Cell>>>) -> std::result::Result<(), TestCaseError> {
    if let Err(e) = result {
        prop_assert!(e.kind != ErrorKind::Internal, "{:?}", e);
    }
    Ok(())
}

/// Columns of a table over field or property names, of every column type.
fn columns(names: &'static [&'static str], option: &'static str) -> impl Strategy<Value = Vec<ColumnDef>> {
    prop::collection::vec((prop::sample::select(names), column_type()), 1..6)
        .prop_map(move |cols| {
            cols.into_iter()
                .enumerate()
                .map(|(i, (name, ty))| match name {
                    // The names a connector reads from the record itself.
                    "id" | "created_time" | "fields" | "properties" | "row_number" | "url" | "archived" => {
                        ColumnDef::new(name, ty)
                    }
                    _ => ColumnDef::new(format!("c{i}"), ty).with_option(option, name),
                })
                .collect::<Vec<_>>()
        })
        .prop_map(|mut cols| {
            // Column names must be unique.
            let mut seen = Vec::new();
            cols.retain(|c| {
                let fresh = !seen.contains(&c.name);
                seen.push(c.name.clone());
                fresh
            });
            cols
        })
}

// ---------------------------------------------------------------------------------------------------------
// Airtable
// ---------------------------------------------------------------------------------------------------------

const AIRTABLE_FIELDS: [&str; 7] = ["Name", "Budget", "Done", "Tags", "id", "created_time", "fields"];

/// A value of any type under one of the fields, or a record of any shape.
fn airtable_record() -> BoxedStrategy<Value> {
    let fields = prop::collection::vec((prop::sample::select(&AIRTABLE_FIELDS[..4]), json()), 0..5)
        .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>()));
    prop_oneof![
        6 => (leaf(), leaf(), fields).prop_map(|(id, created, fields)| json!({ "id": id, "createdTime": created, "fields": fields })),
        1 => json(),
    ]
    .boxed()
}

fn airtable_body() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => (prop::collection::vec(airtable_record(), 0..5), prop::option::of(leaf())).prop_map(|(records, offset)| {
            let mut body = json!({ "records": records });
            if let Some(offset) = offset {
                body["offset"] = offset;
            }
            body
        }),
        1 => json(),
    ]
    .boxed()
}

fn airtable_tables() -> BoxedStrategy<Value> {
    let field = (
        leaf(),
        prop::sample::select(vec!["number", "formula", "rollup", "checkbox", "date", "multipleSelects", "x"]),
        json(),
    )
        .prop_map(|(name, kind, options)| json!({ "name": name, "type": kind, "options": options }));
    let table = (leaf(), leaf(), prop::collection::vec(prop_oneof![3 => field, 1 => json()], 0..5), leaf())
        .prop_map(|(id, name, fields, description)| json!({ "id": id, "name": name, "fields": fields, "description": description }));
    prop_oneof![4 => prop::collection::vec(table, 0..4).prop_map(|tables| json!({ "tables": tables })), 1 => json()]
        .boxed()
}

proptest! {
    #![proptest_config(config(300))]

    /// Any records under any fields, any offset: rows or an error, never a panic.
    #[test]
    fn airtable_pages_read_or_fail_cleanly(body in airtable_body(), columns in columns(&AIRTABLE_FIELDS, "field")) {
        static SERVER: OnceLock<Canned> = OnceLock::new();
        let canned = canned(&SERVER);
        let server = server("airtable", &format!("{}/v0", canned.base), &[("base_id", "appX")]);
        let table = TableDef { name: "t".into(), options: map(&[("table", "tblX")]), columns };
        let result = scan_with(canned, &server, &table, &body);
        no_panic(&result)?;
        // A page without "records" is refused.
        if body.get("records").is_none_or(|r| !r.is_array()) {
            prop_assert!(result.is_err(), "{body} read as rows");
        }
    }

    /// Any Meta API answer: tables or an error; every column a type Postgres knows.
    #[test]
    fn airtable_discovery_reads_or_fails_cleanly(body in airtable_tables()) {
        static SERVER: OnceLock<Canned> = OnceLock::new();
        let canned = canned(&SERVER);
        let server = server("airtable", &format!("{}/v0", canned.base), &[("base_id", "appX")]);
        if let Ok(resources) = discover(canned, &server, &body) {
            for column in resources.iter().flat_map(|r| &r.columns) {
                prop_assert!(!column.name.is_empty() && !column.sql_type.is_empty());
            }
        }
    }

    /// The type mapping of any field description.
    #[test]
    fn airtable_field_types_map_without_panic(field in json()) {
        prop_assert!(!airtable::sql_type(&field).is_empty());
    }
}

// ---------------------------------------------------------------------------------------------------------
// Notion
// ---------------------------------------------------------------------------------------------------------

const NOTION_PROPERTIES: [&str; 6] = ["Name", "Estimate", "Due", "Tags", "id", "properties"];

/// A property value of a known or unknown type, holding anything.
fn notion_property() -> BoxedStrategy<Value> {
    let kind = prop_oneof![
        6 => prop::sample::select(notion::PROPERTY_TYPES.to_vec()).prop_map(str::to_string),
        1 => any::<String>(),
    ];
    prop_oneof![
        6 => (kind, json()).prop_map(|(kind, value)| json!({ "id": "p", "type": kind, kind: value })),
        // Formulas and rollups: a typed result of any content.
        2 => (prop::sample::select(vec!["formula", "rollup"]), prop::sample::select(vec!["string", "number", "boolean", "date", "array", "incomplete", ""]), json())
            .prop_map(|(kind, inner, value)| json!({ "type": kind, kind: { "type": inner, inner: value } })),
        // Dates whose start has multi-byte characters where a date column cuts it.
        2 => "[0-9\\-]{0,10}[é€😀]{1,3}[0-9T:]{0,6}".prop_map(|start| json!({ "type": "date", "date": { "start": start, "end": null } })),
        1 => json(),
    ]
    .boxed()
}

fn notion_page() -> BoxedStrategy<Value> {
    // Pages of a database carry all its properties; sometimes not.
    let properties = prop_oneof![
        4 => prop::collection::vec(notion_property(), 4).prop_map(|values| {
            Value::Object(NOTION_PROPERTIES[..4].iter().map(|k| k.to_string()).zip(values).collect::<Map<_, _>>())
        }),
        1 => prop::collection::vec((prop::sample::select(&NOTION_PROPERTIES[..4]), notion_property()), 0..5)
            .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>())),
    ];
    prop_oneof![
        6 => (leaf(), leaf(), properties).prop_map(|(id, created, properties)| json!({ "id": id, "created_time": created, "properties": properties })),
        1 => json(),
    ]
    .boxed()
}

fn notion_body() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => (prop::collection::vec(notion_page(), 0..5), leaf(), leaf())
            .prop_map(|(results, has_more, next)| json!({ "results": results, "has_more": has_more, "next_cursor": next })),
        1 => json(),
    ]
    .boxed()
}

/// Columns with or without a declared type.
fn notion_columns() -> impl Strategy<Value = Vec<ColumnDef>> {
    (
        columns(&NOTION_PROPERTIES, "property"),
        prop::collection::vec(prop::option::weighted(0.3, prop::sample::select(notion::PROPERTY_TYPES.to_vec())), 6),
    )
        .prop_map(|(columns, kinds)| {
            columns
                .into_iter()
                .zip(kinds)
                .map(|(c, kind)| match (kind, c.options.contains_key("property")) {
                    (Some(kind), true) => c.with_option("type", kind),
                    _ => c,
                })
                .collect()
        })
}

fn notion_search() -> BoxedStrategy<Value> {
    let database = (leaf(), json(), prop::collection::vec((key(), notion_property()), 0..5)).prop_map(|(id, title, properties)| {
        json!({ "object": "database", "id": id, "title": title, "properties": Value::Object(properties.into_iter().collect()) })
    });
    prop_oneof![
        4 => (prop::collection::vec(prop_oneof![3 => database, 1 => json()], 0..4), leaf(), leaf())
            .prop_map(|(results, has_more, next)| json!({ "results": results, "has_more": has_more, "next_cursor": next })),
        1 => json(),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(300))]

    /// Any pages with any properties, any cursor: rows or an error, never a panic.
    #[test]
    fn notion_pages_read_or_fail_cleanly(body in notion_body(), columns in notion_columns()) {
        static SERVER: OnceLock<Canned> = OnceLock::new();
        let canned = canned(&SERVER);
        let server = server("notion", &format!("{}/v1", canned.base), &[]);
        let table = TableDef { name: "t".into(), options: map(&[("database_id", "db")]), columns };
        let result = scan_with(canned, &server, &table, &body);
        no_panic(&result)?;
        if body.get("results").is_none_or(|r| !r.is_array()) {
            prop_assert!(result.is_err(), "{body} read as rows");
        }
    }

    /// Any search answer (a static server may say "more" with the same cursor: discovery stops).
    #[test]
    fn notion_discovery_reads_or_fails_cleanly(body in notion_search()) {
        static SERVER: OnceLock<Canned> = OnceLock::new();
        let canned = canned(&SERVER);
        let server = server("notion", &format!("{}/v1", canned.base), &[]);
        if let Ok(resources) = discover(canned, &server, &body) {
            for column in resources.iter().flat_map(|r| &r.columns) {
                prop_assert!(!column.name.is_empty() && !column.sql_type.is_empty());
            }
        }
    }

    /// A date column over date properties of any start (multi-byte characters where the day is cut).
    #[test]
    fn notion_date_columns_read_or_fail_cleanly(pages in prop::collection::vec(notion_property(), 1..4)) {
        static SERVER: OnceLock<Canned> = OnceLock::new();
        let canned = canned(&SERVER);
        let server = server("notion", &format!("{}/v1", canned.base), &[]);
        let results: Vec<Value> = pages.into_iter().map(|p| json!({ "id": "p", "properties": { "Due": p } })).collect();
        let body = json!({ "results": results, "has_more": false, "next_cursor": null });
        let table = TableDef {
            name: "t".into(),
            options: map(&[("database_id", "db")]),
            columns: vec![ColumnDef::new("due", ColumnType::Date).with_option("property", "Due")],
        };
        no_panic(&scan_with(canned, &server, &table, &body))?;
    }

    /// Simplifying any property value, then converting it to any column type: a value or an error.
    #[test]
    fn notion_values_simplify_and_convert_without_panic(property in notion_property(), ty in column_type()) {
        let simple = notion::simplify(&property);
        let _ = convert(simple, &ty);
        prop_assert!(!notion::sql_type(&property).is_empty());
    }
}

// ---------------------------------------------------------------------------------------------------------
// Google Sheets
// ---------------------------------------------------------------------------------------------------------

const SHEET_HEADERS: [&str; 5] = ["Name", "Amount", "name", "", "row_number"];

/// One body that answers all three reads of a scan: the sheets' properties, the header and the rows.
fn sheets_body() -> BoxedStrategy<Value> {
    let cell =
        prop_oneof![3 => prop::sample::select(SHEET_HEADERS.to_vec()).prop_map(|h| json!(h)), 3 => leaf(), 1 => json()];
    let row = prop_oneof![6 => prop::collection::vec(cell, 0..6).prop_map(Value::Array), 1 => json()];
    let grid = (
        prop_oneof![3 => (0u64..50).prop_map(|n| json!(n)), 1 => leaf()],
        prop_oneof![3 => (0u64..8).prop_map(|n| json!(n)), 1 => leaf()],
    );
    let sheet = (prop_oneof![4 => Just(json!("S")), 1 => leaf()], grid)
        .prop_map(|(title, (rows, cols))| json!({ "properties": { "title": title, "gridProperties": { "rowCount": rows, "columnCount": cols } } }));
    prop_oneof![
        6 => (prop::collection::vec(sheet, 0..3), prop::collection::vec(row, 0..6))
            .prop_map(|(sheets, values)| json!({ "sheets": sheets, "values": values, "valueRanges": [{ "values": values }] })),
        1 => json(),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config(300))]

    /// Any sheet size, header row and cells: rows or an error (a missing, duplicate or empty header
    /// included), never a panic.
    #[test]
    fn sheets_read_or_fail_cleanly(body in sheets_body(), columns in columns(&SHEET_HEADERS, "header"), range in prop::option::of(prop::sample::select(vec!["B2:D", "A1:C10", "C3:C4"]))) {
        static SERVER: OnceLock<Canned> = OnceLock::new();
        let canned = canned(&SERVER);
        let server = server("google_sheets", &format!("{}/v4", canned.base), &[("spreadsheet_id", "sp")]);
        let mut options = map(&[("sheet", "S"), ("page_size", "7")]);
        options.extend(range.map(|r| ("range".to_string(), r.to_string())));
        let table = TableDef { name: "t".into(), options, columns };
        let result = scan_with(canned, &server, &table, &body);
        no_panic(&result)?;
        // Without a sheet titled S there is nothing to read.
        let titled = body["sheets"].as_array().is_some_and(|s| s.iter().any(|s| s["properties"]["title"] == "S"));
        if !titled {
            prop_assert!(result.is_err(), "{body} read as rows");
        }
    }

    /// Discovery over any sheets and first rows.
    #[test]
    fn sheets_discovery_reads_or_fails_cleanly(body in sheets_body()) {
        static SERVER: OnceLock<Canned> = OnceLock::new();
        let canned = canned(&SERVER);
        let server = server("google_sheets", &format!("{}/v4", canned.base), &[("spreadsheet_id", "sp")]);
        if let Ok(resources) = discover(canned, &server, &body) {
            for resource in &resources {
                prop_assert!(resource.columns.iter().all(|c| !c.name.is_empty()));
                let mut names: Vec<&str> = resource.columns.iter().map(|c| c.name.as_str()).collect();
                names.sort();
                names.dedup();
                prop_assert_eq!(names.len(), resource.columns.len(), "column names are unique");
            }
        }
    }
}
