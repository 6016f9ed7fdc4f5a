//! Property-based fuzz tests (as tests/fuzz.rs): whatever a GraphQL server answers (to a query or to the
//! introspection query) and whatever document is given as a connector definition, connector_core does not
//! panic, and answers what it must where that is known.
//!
//! Run: `cargo test -p connector_core --test fuzz_graphql_definitions`; `PROPTEST_CASES=N` sets the number of
//! cases of every property.

#[allow(dead_code)]
#[path = "fuzz/gen.rs"]
mod gen;
#[path = "fuzz/support.rs"]
mod support;

use connector_core::connectors::{self, Connector, ServerDef};
use connector_core::convert::Cell;
use connector_core::definitions::Definition;
use connector_core::jsonpath::JsonPath;
use connector_core::model::{ColumnDef, ColumnType, ScanRequest, TableDef};
use connector_core::options::OptionMap;
use connector_core::scan::{Projector, Scan, ScanSettings};
use connector_core::{ErrorKind, Result};
use gen::*;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock};
use support::{config, drain, map, runtime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback server answering every request (a POST's body read first) with the same JSON body; one per
/// test, as tests run in parallel.
struct Answering {
    base: String,
    body: Arc<Mutex<Arc<Vec<u8>>>>,
}

impl Answering {
    fn get(slot: &'static OnceLock<Answering>) -> &'static Answering {
        slot.get_or_init(|| {
            let rt = runtime();
            let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let body = Arc::new(Mutex::new(Arc::new(Vec::new())));
            rt.spawn(serve(listener, body.clone()));
            Answering { base, body }
        })
    }

    fn answer(&self, body: &Value) {
        *self.body.lock().unwrap() = Arc::new(body.to_string().into_bytes());
    }
}

async fn serve(listener: TcpListener, body: Arc<Mutex<Arc<Vec<u8>>>>) {
    while let Ok((mut socket, _)) = listener.accept().await {
        let body = body.lock().unwrap().clone();
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buf = [0u8; 8192];
            // The head, then as many body bytes as Content-Length says.
            loop {
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
            let _ = socket.shutdown().await;
        });
    }
}

fn graphql_server(answering: &Answering) -> ServerDef {
    ServerDef {
        name: "gql".into(),
        options: map(&[("connector", "graphql"), ("base_url", &answering.base), ("max_retries", "0")]),
    }
}

/// A paged GraphQL table whose columns take any JSON (so that conversions do not fail).
fn items_table() -> TableDef {
    TableDef {
        name: "items".into(),
        options: map(&[
            ("query", "query($first: Int, $after: String) { items(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }"),
            ("rows", "$.data.items.nodes"),
            ("page_info_path", "$.data.items.pageInfo"),
            ("page_size", "5"),
        ]),
        columns: vec![ColumnDef::new("id", ColumnType::Jsonb), ColumnDef::new("raw", ColumnType::Jsonb).with_option("path", "$")],
    }
}

fn scan_items(answering: &Answering) -> Result<Vec<Vec<Cell>>> {
    let server = graphql_server(answering);
    let table = items_table();
    connectors::validate_table(&server, &table)?;
    let opened = connectors::graphql::GraphQl.open(&server, &table)?;
    let request = ScanRequest { columns: vec![0, 1], quals: vec![], sorts: vec![], limit: None };
    let http = Arc::new(connectors::http_client(&server, &OptionMap::new(), None)?);
    let projector = Arc::new(Projector::new(&table, &request.columns)?);
    drain(Scan::start(
        runtime().handle(),
        http,
        opened.scan(&request)?,
        projector,
        ScanSettings { max_concurrency: 1, rows_needed: None, ..Default::default() },
    ))
}

/// An answer to the items query: nodes, pageInfo of any shape, and maybe `errors`.
#[derive(Clone, Debug)]
struct Answer {
    nodes: Vec<Value>,
    has_next: Value,
    end_cursor: Value,
    errors: Option<Value>,
}

impl Answer {
    fn body(&self) -> Value {
        let mut body = json!({"data": {"items": {"nodes": self.nodes, "pageInfo": {"hasNextPage": self.has_next, "endCursor": self.end_cursor}}}});
        if let Some(errors) = &self.errors {
            body["errors"] = errors.clone();
        }
        body
    }

    /// Whether the answer reports an error (a non-empty `errors` array).
    fn failed(&self) -> bool {
        self.errors.as_ref().and_then(Value::as_array).is_some_and(|e| !e.is_empty())
    }
}

fn answer() -> impl Strategy<Value = Answer> {
    (
        prop::collection::vec(record(), 0..6),
        prop_oneof![2 => any::<bool>().prop_map(Value::Bool), 1 => json()],
        prop_oneof![2 => "[a-zA-Z0-9=]{0,12}".prop_map(Value::String), 1 => json()],
        prop_oneof![2 => Just(None), 1 => json().prop_map(Some), 1 => prop::collection::vec(json(), 0..3).prop_map(|e| Some(Value::Array(e)))],
    )
        .prop_map(|(nodes, has_next, end_cursor, errors)| Answer { nodes, has_next, end_cursor, errors })
}

// ---------------------------------------------------------------------------------------------------------
// Introspection answers
// ---------------------------------------------------------------------------------------------------------

const TYPE_NAMES: [&str; 10] =
    ["Query", "ItemConnection", "ItemEdge", "Item", "PageInfo", "String", "Int", "Boolean", "DateTime", "Role"];
const FIELD_NAMES: [&str; 14] = [
    "items",
    "nodes",
    "edges",
    "node",
    "pageInfo",
    "hasNextPage",
    "endCursor",
    "id",
    "first",
    "after",
    "createdAt",
    "role",
    "__typename",
    "x-y",
];

fn type_ref() -> BoxedStrategy<Value> {
    let named = (
        prop::sample::select(vec!["SCALAR", "OBJECT", "ENUM", "INTERFACE", "UNION", "odd"]),
        prop::sample::select(TYPE_NAMES.to_vec()),
    )
        .prop_map(|(kind, name)| json!({"kind": kind, "name": name, "ofType": null}));
    prop_oneof![4 => named.boxed(), 1 => json()]
        .boxed()
        .prop_recursive(3, 8, 1, |inner| {
            (prop::sample::select(vec!["LIST", "NON_NULL"]), inner)
                .prop_map(|(kind, of)| json!({"kind": kind, "name": null, "ofType": of}))
        })
        .boxed()
}

fn field() -> impl Strategy<Value = Value> {
    let arg = (prop::sample::select(FIELD_NAMES.to_vec()), type_ref())
        .prop_map(|(name, ty)| json!({"name": name, "type": ty}));
    (
        prop::sample::select(FIELD_NAMES.to_vec()),
        prop::collection::vec(arg, 0..3),
        type_ref(),
        prop::option::of(odd_string()),
    )
        .prop_map(
            |(name, args, ty, description)| json!({"name": name, "description": description, "args": args, "type": ty}),
        )
}

/// A schema with one Relay connection (`items`, nodes and edges), for changes to be made to.
fn connection_schema() -> Value {
    let named = |kind: &str, name: &str| json!({"kind": kind, "name": name, "ofType": null});
    let wrap = |kind: &str, of: Value| json!({"kind": kind, "name": null, "ofType": of});
    let field = |name: &str, args: Value, ty: Value| json!({"name": name, "description": "", "args": args, "type": ty});
    let arg = |name: &str, ty: Value| json!({"name": name, "type": ty});
    let paging = json!([
        arg("first", named("SCALAR", "Int")),
        arg("after", named("SCALAR", "String")),
        arg("role", named("ENUM", "Role"))
    ]);
    json!({"data": {"__schema": {"queryType": {"name": "Query"}, "types": [
        {"kind": "OBJECT", "name": "Query", "fields": [
            field("items", paging.clone(), wrap("NON_NULL", named("OBJECT", "ItemConnection"))),
            field("itemEdges", paging, named("OBJECT", "ItemEdgeConnection"))]},
        {"kind": "OBJECT", "name": "ItemConnection", "fields": [
            field("nodes", json!([]), wrap("LIST", named("OBJECT", "Item"))), field("pageInfo", json!([]), named("OBJECT", "PageInfo"))]},
        {"kind": "OBJECT", "name": "ItemEdgeConnection", "fields": [
            field("edges", json!([]), wrap("LIST", named("OBJECT", "ItemEdge"))), field("pageInfo", json!([]), named("OBJECT", "PageInfo"))]},
        {"kind": "OBJECT", "name": "ItemEdge", "fields": [field("node", json!([]), named("OBJECT", "Item"))]},
        {"kind": "OBJECT", "name": "PageInfo", "fields": [
            field("hasNextPage", json!([]), named("SCALAR", "Boolean")), field("endCursor", json!([]), named("SCALAR", "String"))]},
        {"kind": "OBJECT", "name": "Item", "fields": [
            field("id", json!([]), named("SCALAR", "ID")), field("createdAt", json!([]), named("SCALAR", "DateTime")),
            field("role", json!([]), named("ENUM", "Role")), field("owner", json!([]), named("OBJECT", "Item")),
            field("tags", json!([]), wrap("LIST", named("SCALAR", "String")))]}
    ]}}})
}

fn schema() -> impl Strategy<Value = Value> {
    let type_def = (
        prop::sample::select(vec!["OBJECT", "SCALAR", "ENUM", "INTERFACE"]),
        prop::sample::select(TYPE_NAMES.to_vec()),
        prop::collection::vec(field(), 0..6),
    )
        .prop_map(|(kind, name, fields)| json!({"kind": kind, "name": name, "fields": fields}));
    prop_oneof![
        2 => Just(connection_schema()),
        6 => prop::collection::vec(change(), 1..4).prop_map(|changes| apply(connection_schema(), &changes)),
        4 => prop::collection::vec(type_def, 0..8).prop_map(|types| json!({"data": {"__schema": {"queryType": {"name": "Query"}, "types": types}}})),
        1 => json(),
        1 => json().prop_map(|schema| json!({"data": {"__schema": schema}})),
    ]
}

// ---------------------------------------------------------------------------------------------------------
// Definitions
// ---------------------------------------------------------------------------------------------------------

/// The JSON Pointers of every member and item of a document.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                let pointer = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                out.push(pointer.clone());
                pointers(member, pointer, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let pointer = format!("{at}/{i}");
                out.push(pointer.clone());
                pointers(item, pointer, out);
            }
        }
        _ => {}
    }
}

/// The shipped definitions' documents.
fn shipped_documents() -> &'static [Value] {
    static DOCS: OnceLock<Vec<Value>> = OnceLock::new();
    DOCS.get_or_init(|| {
        ["stripe", "slack", "close", "gmail", "hubspot", "dropbox", "microsoft_graph"]
            .iter()
            .map(|name| {
                let file = format!("{}/definitions/{name}.json", env!("CARGO_MANIFEST_DIR"));
                serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
            })
            .collect()
    })
}

/// A member replaced (by any JSON, a string of the format's own kinds, or nothing), or an unknown member added.
#[derive(Clone, Debug)]
enum Change {
    Replace(Index, Value),
    Remove(Index),
    Add(Index, String, Value),
}

fn change() -> impl Strategy<Value = Change> {
    let text = prop_oneof![
        odd_string(),
        path_text(),
        prop::sample::select(vec![
            "cursor",
            "page",
            "bearer",
            "api_key",
            "text",
            "bigint",
            "POST",
            "{key}",
            "$.data",
            "^(",
            "(a|b)+",
            "x={value}"
        ])
        .prop_map(str::to_string),
    ];
    let value = prop_oneof![2 => json(), 2 => text.prop_map(Value::String)];
    prop_oneof![
        4 => (any::<Index>(), value.clone()).prop_map(|(i, v)| Change::Replace(i, v)),
        1 => any::<Index>().prop_map(Change::Remove),
        1 => (any::<Index>(), key(), value).prop_map(|(i, k, v)| Change::Add(i, k, v)),
    ]
}

fn apply(mut doc: Value, changes: &[Change]) -> Value {
    for change in changes {
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        if all.is_empty() {
            break;
        }
        let pick = |i: &Index| all[i.index(all.len())].clone();
        match change {
            Change::Replace(i, value) => {
                if let Some(target) = doc.pointer_mut(&pick(i)) {
                    *target = value.clone();
                }
            }
            Change::Remove(i) => {
                let pointer = pick(i);
                let (parent, key) = pointer.rsplit_once('/').unwrap();
                let key = key.replace("~1", "/").replace("~0", "~");
                match doc.pointer_mut(parent) {
                    Some(Value::Object(members)) => {
                        members.remove(&key);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(at) = key.parse::<usize>() {
                            if at < items.len() {
                                items.remove(at);
                            }
                        }
                    }
                    _ => {}
                }
            }
            Change::Add(i, key, value) => {
                if let Some(Value::Object(members)) = doc.pointer_mut(&pick(i)) {
                    members.insert(key.clone(), value.clone());
                }
            }
        }
    }
    doc
}

/// A definition's error names a field of the document and points to the format.
fn check_refusal(e: &connector_core::Error) -> std::result::Result<(), TestCaseError> {
    prop_assert_eq!(e.kind, ErrorKind::InvalidOptionValue, "{:?}", e);
    prop_assert!(e.message.contains(": "), "{}", e.message);
    prop_assert!(e.hint.as_deref().is_some_and(|h| h.contains("docs/definitions.md")), "{:?}", e);
    Ok(())
}

proptest! {
    #![proptest_config(config(96))]

    /// Any answer to a paged query: rows or an error, never a panic (an `Internal` error on the scan's
    /// workers). An answer without errors whose pageInfo does not say `hasNextPage: true` is its nodes;
    /// one with errors fails as a remote error.
    #[test]
    fn graphql_answers_give_rows_or_an_error(answer in answer()) {
        static SERVER: OnceLock<Answering> = OnceLock::new();
        let answering = Answering::get(&SERVER);
        answering.answer(&answer.body());
        let result = scan_items(answering);
        if let Err(e) = &result {
            prop_assert_ne!(e.kind, ErrorKind::Internal, "{:?}", e);
        }
        if answer.failed() {
            let e = result.err();
            prop_assert!(e.as_ref().is_some_and(|e| e.kind == ErrorKind::Remote && e.message.contains("GraphQL error(s)")), "{:?}", e);
        } else if answer.has_next != Value::Bool(true) {
            let rows = result.map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_eq!(rows.len(), answer.nodes.len());
        }
    }

    /// Any body at all (not an answer's shape): rows or an error, never a panic.
    #[test]
    fn any_graphql_body_gives_rows_or_an_error(body in json()) {
        static SERVER: OnceLock<Answering> = OnceLock::new();
        let answering = Answering::get(&SERVER);
        answering.answer(&body);
        if let Err(e) = scan_items(answering) {
            prop_assert_ne!(e.kind, ErrorKind::Internal, "{:?}", e);
        }
    }

    /// Any answer to the introspection query: tables or an error, never a panic; every table found is one
    /// the connector opens (its query declares and passes the paging variables, its paths parse).
    #[test]
    fn introspection_answers_give_tables_or_an_error(answer in schema()) {
        static SERVER: OnceLock<Answering> = OnceLock::new();
        let answering = Answering::get(&SERVER);
        answering.answer(&answer);
        let server = graphql_server(answering);
        let http = connectors::http_client(&server, &OptionMap::new(), None).unwrap();
        let connector = connectors::for_server(&server).unwrap();
        match runtime().block_on(connector.resources(&server, &http)) {
            Err(e) => prop_assert!(matches!(e.kind, ErrorKind::BadResponse | ErrorKind::Remote), "{:?}", e),
            Ok(resources) => {
                if answer == connection_schema() {
                    prop_assert_eq!(resources.len(), 2, "{:?}", resources);
                }
                let mut names = Vec::new();
                for resource in resources {
                    prop_assert!(!resource.name.is_empty() && !names.contains(&resource.name), "{:?}", resource);
                    names.push(resource.name.clone());
                    prop_assert!(!resource.columns.is_empty());
                    for option in ["rows", "page_info_path"] {
                        prop_assert!(JsonPath::parse(&resource.table_options[option]).is_ok(), "{}: {}", option, resource.table_options[option]);
                    }
                    let columns = resource
                        .columns
                        .iter()
                        .map(|c| ColumnDef { name: c.name.clone(), ty: ColumnType::from_name(&c.sql_type), options: c.options.clone() })
                        .collect();
                    let table = TableDef { name: resource.name.clone(), options: resource.table_options.clone(), columns };
                    let opened = connectors::validate_table(&server, &table);
                    prop_assert!(opened.is_ok(), "{:?}: {:?}", opened, table);
                }
            }
        }
    }

    /// Any JSON document as a definition: a definition or an error naming the field at fault.
    #[test]
    fn any_document_is_a_definition_or_a_named_refusal(doc in json()) {
        if let Err(e) = Definition::parse(&doc) {
            check_refusal(&e)?;
        }
    }

    /// The shipped definitions with members changed, removed or added: a definition or an error naming the
    /// field at fault; a definition that parses again is the same, and every resource opens as a table.
    #[test]
    fn changed_definitions_parse_or_are_refused_by_name(which in any::<Index>(), changes in prop::collection::vec(change(), 1..4)) {
        let docs = shipped_documents();
        let doc = apply(docs[which.index(docs.len())].clone(), &changes);
        match Definition::parse(&doc) {
            Err(e) => check_refusal(&e)?,
            Ok(definition) => {
                prop_assert_eq!(Definition::parse(&doc).ok(), Some(definition.clone()));
                let connector = connector_core::definitions::DefinedConnector::new(definition.clone());
                let server = ServerDef { name: "s".into(), options: map(&[("connector", &definition.name), ("base_url", "http://127.0.0.1:1")]) };
                for resource in &definition.resources {
                    let columns = resource
                        .columns
                        .iter()
                        .map(|c| ColumnDef { name: c.name.clone(), ty: ColumnType::from_name(&c.sql_type), options: c.options.clone() })
                        .collect();
                    let table = TableDef { name: resource.name.clone(), options: map(&[("resource", &resource.name)]), columns };
                    let opened = connector.open(&server, &table);
                    prop_assert!(opened.is_ok(), "{}: {:?}", resource.name, opened.err());
                }
            }
        }
    }
}
