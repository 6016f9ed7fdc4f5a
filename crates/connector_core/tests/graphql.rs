//! The `graphql` connector against mockapi's GraphQL API (`POST /graphql`): the table's query with Relay
//! paging (`first`/`after` from `pageInfo`) or offset paging (`limit`/`offset` on the list `issueList`),
//! conditions pushed as the variables columns declare, LIMIT as a smaller page, and HTTP 200 answers with
//! `errors` as errors.

mod common;

use common::*;
use connector_core::connectors::{validate_table, ServerDef};
use connector_core::model::{ColumnDef, ColumnType, Limit, Op, ScanRequest, TableDef};
use connector_core::scan::Paging;
use connector_core::ErrorKind;
use serde_json::json;

const QUERY: &str = "query Issues($first: Int!, $after: String, $state: IssueState, $since: DateTime) {
  issues(first: $first, after: $after, states: [$state], since: $since) {
    nodes { id number title state createdAt author { login } }
    pageInfo { hasNextPage endCursor }
  }
}";

fn graphql() -> Provider {
    Provider::start("graphql", "/graphql", &[("auth", "bearer")], &[("token", mockapi::TEST_TOKEN)])
}

fn issues(options: &[(&str, &str)]) -> TableDef {
    let mut table_options = map(&[
        ("query", QUERY),
        ("rows", "$.data.issues.nodes"),
        ("page_info_path", "$.data.issues.pageInfo"),
        ("page_size", "4"),
    ]);
    table_options.extend(map(options));
    TableDef {
        name: "issues".into(),
        options: table_options,
        columns: vec![
            ColumnDef::new("id", ColumnType::Text),
            ColumnDef::new("number", ColumnType::Int8),
            ColumnDef::new("title", ColumnType::Text),
            ColumnDef::new("state", ColumnType::Text).with_option("filter_variable", "state"),
            ColumnDef::new("created_at", ColumnType::TimestampTz)
                .with_option("path", "$.createdAt")
                .with_option("filter_variable_gte", "since"),
            ColumnDef::new("author", ColumnType::Text).with_option("path", "$.author.login"),
        ],
    }
}

#[test]
fn relay_connections_page_with_first_and_after() {
    let p = graphql();
    let table = issues(&[]);
    let rows = p.scan(&table, vec![], None).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), (1..=9).map(|i| format!("I_{i:04}")).collect::<Vec<_>>());
    assert_eq!(texts(column(&table, &rows, "author"))[..3], ["brian", "chen", "ada"]);
    let log = p.requests();
    assert_eq!(p.sent(), vec!["POST /graphql?"; 3]);
    assert_eq!(log[0].body, Some(json!({"query": QUERY, "variables": {"first": 4}})));
    let after: Vec<Option<&str>> =
        log.iter().map(|r| r.body.as_ref().unwrap()["variables"]["after"].as_str()).collect();
    assert!(after[0].is_none() && after[1].is_some() && after[2].is_some() && after[1] != after[2], "{after:?}");
    assert!(log.iter().all(|r| r.body.as_ref().unwrap()["variables"]["first"] == 4));
    assert_eq!(log[0].header("authorization"), Some("Bearer test-token"));
    assert_eq!(log[0].header("content-type"), Some("application/json"));
    assert!(p.open(&table).writer().is_none(), "mutations are not supported");
    // Records may be edges' nodes too.
    p.mock.reset();
    let edges = issues(&[("rows", "$.data.issues.edges[*].node"), ("page_size", "100")]);
    let query = QUERY.replace("nodes {", "edges { cursor node {").replace("author { login } }", "author { login } } }");
    let edges = TableDef {
        options: edges
            .options
            .into_iter()
            .map(|(k, v)| if k == "query" { (k, query.clone()) } else { (k, v) })
            .collect(),
        ..edges
    };
    assert_eq!(p.scan(&edges, vec![], None).unwrap().len(), 9);
}

#[test]
fn conditions_become_variables_and_limit_a_smaller_first() {
    let p = graphql();
    let table = issues(&[]);
    let quals = vec![eq("state", "OPEN"), qual("created_at", Op::Ge, timestamptz("2024-02-04T00:00:00Z"))];
    let rows = p.scan(&table, quals.clone(), None).unwrap();
    assert_eq!(texts(column(&table, &rows, "title")), vec!["Issue 4", "Issue 5", "Issue 7", "Issue 8"]);
    assert_eq!(p.requests().len(), 1);
    assert_eq!(
        p.requests()[0].body.as_ref().unwrap()["variables"],
        json!({"first": 4, "state": "OPEN", "since": "2024-02-04T00:00:00Z"})
    );
    let caps = p.open(&table).capabilities();
    assert!(caps.filter_support("state", Op::Eq).is_some() && caps.filter_support("state", Op::In).is_none());
    assert!(caps.filter_support("created_at", Op::Gt).is_none());
    assert_eq!(
        p.describe(&table, quals),
        vec![format!(
            "POST {}/graphql variables {{\"first\":4,\"since\":\"2024-02-04T00:00:00Z\",\"state\":\"OPEN\"}}",
            p.mock.url()
        )]
    );
    p.mock.reset();
    let rows = p.scan(&table, vec![], limit(2)).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(p.requests().len(), 1);
    assert_eq!(p.requests()[0].body.as_ref().unwrap()["variables"], json!({"first": 2}));
    // Fixed variables.
    p.mock.reset();
    let closed = issues(&[("variables", r#"{"state": "CLOSED"}"#)]);
    assert_eq!(
        texts(column(&closed, &p.scan(&closed, vec![], None).unwrap(), "id")),
        vec!["I_0003", "I_0006", "I_0009"]
    );
}

#[test]
fn graphql_errors_are_errors() {
    let p = graphql();
    let bad = issues(&[("query", &QUERY.replace("title", "title labels"))]);
    let e = p.scan(&bad, vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert_eq!(e.message, format!("POST {}/graphql failed: the answer has 1 GraphQL error(s)", p.mock.url()));
    assert_eq!(e.detail.as_deref(), Some("provider said: Field 'labels' doesn't exist on type 'Query'"));
    let e = p.scan(&issues(&[("page_size", "500")]), vec![], None).unwrap_err();
    assert!(e.detail.unwrap().contains("outside 1..100"));
    let wrong = Provider::start("graphql", "/graphql", &[("auth", "bearer")], &[("token", "ghp_wrong")]);
    let e = wrong.scan(&issues(&[]), vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    assert_eq!(e.detail.as_deref(), Some("provider said: Bad credentials"));
    let e = p.scan(&issues(&[("rows", "$.data.pulls.nodes")]), vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadResponse);
}

#[test]
fn tables_are_checked_against_their_query() {
    let server = ServerDef {
        name: "g".into(),
        options: map(&[("connector", "graphql"), ("base_url", "http://127.0.0.1:1/graphql")]),
    };
    let check = |table: TableDef| validate_table(&server, &table).map_err(|e| e.message);
    assert!(check(issues(&[])).is_ok());
    let mut no_query = issues(&[]);
    no_query.options.remove("query");
    assert_eq!(
        check(no_query).unwrap_err(),
        "option \"query\" is required for a foreign table of connector \"graphql\""
    );
    let mut no_rows = issues(&[]);
    no_rows.options.remove("rows");
    assert_eq!(check(no_rows).unwrap_err(), "option \"rows\" is required for a foreign table of connector \"graphql\"");
    // Paging variables must be declared and passed; the hint says what to write.
    let paging_error = |query: &str| validate_table(&server, &issues(&[("query", query)])).unwrap_err();
    let e = paging_error("query($first: Int) { issues(first: $first) { nodes { id } pageInfo { endCursor } } }");
    assert_eq!(e.message, "invalid value for option \"cursor_variable\": the query declares no variable $after for Relay paging (page_info_path)");
    assert_eq!(
        e.hint.as_deref(),
        Some("Declare $after: String and pass after: $after to the connection, e.g. query($first: Int, $after: String) { items(first: $first, after: $after) { … } }.")
    );
    // `$afterDate` is another variable; `$after` used but not declared is not declared.
    let e = paging_error(
        "query($first: Int, $afterDate: String) { issues(first: $first, after: $after) { nodes { id } } }",
    );
    assert_eq!(e.message, "invalid value for option \"cursor_variable\": the query declares no variable $after for Relay paging (page_info_path)");
    let e = paging_error("query($first: Int, $after: String) { issues(first: $first) { nodes { id } } }");
    assert_eq!(e.message, "invalid value for option \"cursor_variable\": the query declares $after but passes it to no argument; Relay paging (page_info_path) needs it");
    let e = paging_error("{ issues(first: $first) { nodes { id } pageInfo { endCursor } } }");
    assert_eq!(e.message, "invalid value for option \"page_size_variable\": the query declares no variable $first for Relay paging (page_info_path)");
    assert!(e.hint.unwrap().starts_with("Declare $first: Int and pass first: $first to the connection"));
    let mut undeclared = issues(&[]);
    undeclared.columns[1].options.insert("filter_variable".into(), "number".into());
    let e = validate_table(&server, &undeclared).unwrap_err();
    assert_eq!(
        e.message,
        "invalid value for option \"filter_variable\": column \"number\": the query declares no variable $number"
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("Declare $number with its type in the query's variables (query(…, $number: String)) and pass it to the argument that filters, or drop the column's filter_variable.")
    );
    assert_eq!(
        check(issues(&[("variables", "[1]")])).unwrap_err(),
        "invalid value for option \"variables\": it must be a JSON object"
    );
    assert_eq!(
        check(issues(&[("cursor_variable", "af-ter")])).unwrap_err(),
        "invalid value for option \"cursor_variable\": \"af-ter\" is not a GraphQL variable name"
    );
    // `pagination` names the paging style, as for REST tables (issue 13: it used to be refused).
    let mut cursor = issues(&[]);
    cursor.options.remove("page_info_path");
    cursor.options.insert("pagination".into(), "cursor".into());
    assert!(check(cursor).is_ok());
    let mut bad_option = issues(&[]);
    bad_option.options.insert("pagination".into(), "sideways".into());
    assert!(check(bad_option).unwrap_err().contains("\"pagination\""));
}

/// An imported column: name, type and options.
type Column = (String, String, Vec<(String, String)>);

#[test]
fn introspection_finds_the_relay_connections() {
    let p = graphql();
    let resources = p.resources();
    // One request: the introspection query, POSTed with the server's token.
    let log = p.requests();
    assert_eq!(p.sent(), vec!["POST /graphql?"]);
    let body = log[0].body.as_ref().unwrap();
    assert_eq!(body["query"], connector_core::connectors::graphql::INTROSPECTION_QUERY);
    assert!(body["query"].as_str().unwrap().contains("__schema { queryType { name } types {"));
    assert_eq!(log[0].header("authorization"), Some("Bearer test-token"));
    // `search` needs an argument, `issue` and `viewer` are no connections.
    let names: Vec<&str> = resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["issues", "users"]);
    let issues = &resources[0];
    assert_eq!(issues.description, "The issues.");
    let option = |r: &connector_core::connectors::Resource, name: &str| r.table_options.get(name).cloned();
    assert_eq!(
        option(issues, "query").as_deref(),
        Some("query($first: Int, $after: String, $state: IssueState) { issues(first: $first, after: $after, state: $state) { nodes { id number title state createdAt author { login } } pageInfo { hasNextPage endCursor } } }")
    );
    assert_eq!(option(issues, "rows").as_deref(), Some("$.data.issues.nodes"));
    assert_eq!(option(issues, "page_info_path").as_deref(), Some("$.data.issues.pageInfo"));
    let columns = |r: &connector_core::connectors::Resource| -> Vec<Column> {
        r.columns
            .iter()
            .map(|c| (c.name.clone(), c.sql_type.clone(), c.options.clone().into_iter().collect()))
            .collect()
    };
    let col = |name: &str, ty: &str, options: &[(&str, &str)]| {
        (
            name.to_string(),
            ty.to_string(),
            options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        columns(issues),
        vec![
            col("id", "text", &[]),
            col("number", "bigint", &[]),
            col("title", "text", &[]),
            col("state", "text", &[("filter_variable", "state")]),
            col("created_at", "timestamptz", &[("path", "$.createdAt")]),
            col("author", "jsonb", &[]),
        ]
    );
    let users = &resources[1];
    assert_eq!(
        option(users, "query").as_deref(),
        Some("query($first: Int, $after: String, $role: Role) { users(first: $first, after: $after, role: $role) { edges { node { id login name followers score isAdmin role tags createdAt profile { bio location } } } pageInfo { hasNextPage endCursor } } }")
    );
    assert_eq!(option(users, "rows").as_deref(), Some("$.data.users.edges[*].node"));
    assert_eq!(option(users, "page_info_path").as_deref(), Some("$.data.users.pageInfo"));
    assert_eq!(
        columns(users),
        vec![
            col("id", "text", &[]),
            col("login", "text", &[]),
            col("name", "text", &[]),
            col("followers", "bigint", &[]),
            col("score", "double precision", &[]),
            col("is_admin", "boolean", &[("path", "$.isAdmin")]),
            col("role", "text", &[("filter_variable", "role")]),
            col("tags", "jsonb", &[]),
            col("created_at", "timestamptz", &[("path", "$.createdAt")]),
            col("profile", "jsonb", &[]),
        ]
    );
}

#[test]
fn imported_tables_scan_and_page() {
    use connector_core::convert::Cell;
    let p = graphql();
    let users = p.imported("users", &[("page_size", "2")]);
    p.mock.reset();
    let rows = p.scan(&users, vec![], None).unwrap();
    assert_eq!(texts(column(&users, &rows, "login")), vec!["ada", "brian", "chen", "dana", "edsger"]);
    assert_eq!(column(&users, &rows, "followers")[..2], [Cell::Int(10), Cell::Int(20)]);
    assert_eq!(column(&users, &rows, "score")[0], Cell::Float(1.5));
    assert_eq!(column(&users, &rows, "is_admin")[..2], [Cell::Bool(true), Cell::Bool(false)]);
    assert_eq!(column(&users, &rows, "tags")[0], Cell::Jsonb(json!(["t", "tag1"])));
    assert_eq!(column(&users, &rows, "profile")[1], Cell::Jsonb(json!({"bio": "Bio 2", "location": null})));
    assert!(matches!(column(&users, &rows, "created_at")[0], Cell::Timestamp(_)));
    // Three pages of two, each the generated query with first and the previous page's endCursor.
    let log = p.requests();
    assert_eq!(p.sent(), vec!["POST /graphql?"; 3]);
    let query = users.options["query"].clone();
    assert_eq!(log[0].body, Some(json!({"query": query, "variables": {"first": 2}})));
    assert!(log[1..].iter().all(|r| r.body.as_ref().unwrap()["variables"]["after"].is_string()));
    // The role argument filters by the role column.
    p.mock.reset();
    let rows = p.scan(&users, vec![eq("role", "ADMIN")], None).unwrap();
    assert_eq!(texts(column(&users, &rows, "login")), vec!["ada", "brian"]);
    assert_eq!(p.requests()[0].body.as_ref().unwrap()["variables"], json!({"first": 2, "role": "ADMIN"}));
    // Issues: nodes, and state pushed.
    let issues = p.imported("issues", &[]);
    p.mock.reset();
    let rows = p.scan(&issues, vec![eq("state", "CLOSED")], None).unwrap();
    assert_eq!(texts(column(&issues, &rows, "id")), vec!["I_0003", "I_0006", "I_0009"]);
    assert_eq!(column(&issues, &rows, "author")[0], Cell::Jsonb(json!({"login": "ada"})));
    assert_eq!(column(&issues, &rows, "number")[0], Cell::Int(3));
    assert_eq!(p.requests()[0].body.as_ref().unwrap()["variables"], json!({"first": 100, "state": "CLOSED"}));
}

#[test]
fn introspection_errors_are_errors() {
    let wrong = Provider::start("graphql", "/graphql", &[("auth", "bearer")], &[("token", "ghp_wrong")]);
    let e = block(wrong.connector.resources(&wrong.server, &wrong.http())).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    let elsewhere = Provider::start("graphql", "/graphql/v2", &[("auth", "bearer")], &[("token", mockapi::TEST_TOKEN)]);
    let e = block(elsewhere.connector.resources(&elsewhere.server, &elsewhere.http())).unwrap_err();
    assert!(e.message.contains("404"), "{}", e.message);
}

/// A Hasura-style list read from an offset; the mock caps its answers at 5 issues.
const LIST_QUERY: &str = "query IssueList($limit: Int, $offset: Int, $state: IssueState) {
  issueList(limit: $limit, offset: $offset, state: $state) { id number title state }
}";

/// [`LIST_QUERY`] with the filtered count beside the list.
const COUNTED_LIST_QUERY: &str = "query IssueList($limit: Int, $offset: Int, $state: IssueState) {
  issueList(limit: $limit, offset: $offset, state: $state) { id number title state }
  issueCount(state: $state)
}";

fn issue_list(options: &[(&str, &str)]) -> TableDef {
    let mut table_options =
        map(&[("query", LIST_QUERY), ("rows", "$.data.issueList"), ("offset_variable", "offset"), ("page_size", "4")]);
    table_options.extend(map(options));
    TableDef {
        name: "issue_list".into(),
        options: table_options,
        columns: vec![
            ColumnDef::new("id", ColumnType::Text),
            ColumnDef::new("number", ColumnType::Int8),
            ColumnDef::new("title", ColumnType::Text),
            ColumnDef::new("state", ColumnType::Text).with_option("filter_variable", "state"),
        ],
    }
}

/// The variables of each request the mock recorded, in the order they arrived.
fn variables_sent(p: &Provider) -> Vec<serde_json::Value> {
    p.requests().iter().map(|r| r.body.as_ref().unwrap()["variables"].clone()).collect()
}

/// The variables of each request, ordered by offset (pages fetched concurrently arrive in any order).
fn variables_by_offset(p: &Provider) -> Vec<serde_json::Value> {
    let mut sent = variables_sent(p);
    sent.sort_by_key(|v| v["offset"].as_u64());
    sent
}

fn ids(n: std::ops::RangeInclusive<usize>) -> Vec<String> {
    n.map(|i| format!("I_{i:04}")).collect()
}

#[test]
fn offset_pages_send_offset_and_limit_and_end_at_a_short_page() {
    let p = graphql();
    let table = issue_list(&[]);
    // One page at a time: 4 + 4 + 1 issues; the short page is the end.
    let rows = p.scan_with(&table, vec![], vec![], None, 1).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), ids(1..=9));
    assert_eq!(p.requests()[0].body, Some(json!({"query": LIST_QUERY, "variables": {"limit": 4, "offset": 0}})));
    assert_eq!(
        variables_sent(&p),
        vec![json!({"limit": 4, "offset": 0}), json!({"limit": 4, "offset": 4}), json!({"limit": 4, "offset": 8})]
    );
    assert_eq!(
        p.open(&table)
            .scan(&ScanRequest { columns: vec![0], quals: vec![], sorts: vec![], limit: None })
            .unwrap()
            .paging(),
        Paging::Numbered { page_size: 4 }
    );
    // Pages that divide the data evenly end at an empty page.
    p.mock.reset();
    let thirds = issue_list(&[("page_size", "3")]);
    assert_eq!(texts(column(&thirds, &p.scan_with(&thirds, vec![], vec![], None, 1).unwrap(), "id")), ids(1..=9));
    assert_eq!(variables_sent(&p).iter().map(|v| v["offset"].as_u64().unwrap()).collect::<Vec<_>>(), vec![0, 3, 6, 9]);
    // The server answers at most 5 issues whatever the limit: a first page shorter than asked for may be
    // that cap, so the next page starts where it ended (offset 5, not 10), and the short one ends it.
    p.mock.reset();
    let capped = issue_list(&[("page_size", "10")]);
    assert_eq!(texts(column(&capped, &p.scan(&capped, vec![], None).unwrap(), "id")), ids(1..=9));
    assert_eq!(variables_sent(&p), vec![json!({"limit": 10, "offset": 0}), json!({"limit": 10, "offset": 5})]);
    // Conditions are variables, as in Relay paging.
    p.mock.reset();
    let rows = p.scan(&table, vec![eq("state", "CLOSED")], None).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["I_0003", "I_0006", "I_0009"]);
    assert_eq!(
        variables_sent(&p),
        vec![json!({"limit": 4, "offset": 0, "state": "CLOSED"}), json!({"limit": 4, "offset": 3, "state": "CLOSED"})]
    );
}

#[test]
fn offset_pages_are_fetched_concurrently_up_to_the_total() {
    let p = graphql();
    let counted = issue_list(&[("query", COUNTED_LIST_QUERY), ("total_path", "$.data.issueCount"), ("page_size", "2")]);
    let rows = p.scan(&counted, vec![], None).unwrap();
    assert_eq!(texts(column(&counted, &rows, "id")), ids(1..=9), "delivered in order");
    // The first page's count (9) tells the other four pages: no request past the end.
    let expected: Vec<_> = [0, 2, 4, 6, 8].iter().map(|offset| json!({"limit": 2, "offset": offset})).collect();
    assert_eq!(variables_by_offset(&p), expected);
    // A full first page holding every counted issue is the only request; without the count, an empty
    // second page has to tell (read one page at a time: concurrently, the scan may already have asked
    // for a third).
    p.mock.reset();
    let closed = vec![eq("state", "CLOSED")];
    let counted = issue_list(&[("query", COUNTED_LIST_QUERY), ("total_path", "$.data.issueCount"), ("page_size", "3")]);
    assert_eq!(p.scan(&counted, closed.clone(), None).unwrap().len(), 3);
    assert_eq!(variables_sent(&p), vec![json!({"limit": 3, "offset": 0, "state": "CLOSED"})]);
    p.mock.reset();
    let uncounted = issue_list(&[("page_size", "3")]);
    assert_eq!(p.scan_with(&uncounted, closed, vec![], None, 1).unwrap().len(), 3);
    assert_eq!(
        variables_sent(&p),
        vec![json!({"limit": 3, "offset": 0, "state": "CLOSED"}), json!({"limit": 3, "offset": 3, "state": "CLOSED"})]
    );
    // The count and the server's cap together: pages of 5 from the second on.
    p.mock.reset();
    let capped = issue_list(&[("query", COUNTED_LIST_QUERY), ("total_path", "$.data.issueCount"), ("page_size", "10")]);
    assert_eq!(texts(column(&capped, &p.scan(&capped, vec![], None).unwrap(), "id")), ids(1..=9));
    assert_eq!(variables_sent(&p), vec![json!({"limit": 10, "offset": 0}), json!({"limit": 10, "offset": 5})]);
}

#[test]
fn limit_and_offset_are_pushed_into_the_pages() {
    let p = graphql();
    let table = issue_list(&[]);
    assert!(p.open(&table).capabilities().supports_offset());
    // LIMIT 1 is one request for one issue.
    let rows = p.scan(&table, vec![], limit(1)).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["I_0001"]);
    assert_eq!(variables_sent(&p), vec![json!({"limit": 1, "offset": 0})]);
    // LIMIT 3 OFFSET 4: the server skips.
    p.mock.reset();
    let rows = p.scan(&table, vec![], Some(Limit { count: Some(3), offset: 4 })).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), ids(5..=7));
    assert_eq!(variables_sent(&p), vec![json!({"limit": 3, "offset": 4})]);
    // LIMIT 6 over pages of 4: the two pages that hold six rows.
    p.mock.reset();
    p.scan(&table, vec![], limit(6)).unwrap();
    assert_eq!(variables_by_offset(&p), vec![json!({"limit": 4, "offset": 0}), json!({"limit": 4, "offset": 4})]);
    // OFFSET 6 alone, with the count: 3 issues remain, two pages of 2 from offset 6.
    p.mock.reset();
    let counted = issue_list(&[("query", COUNTED_LIST_QUERY), ("total_path", "$.data.issueCount"), ("page_size", "2")]);
    let rows = p.scan(&counted, vec![], Some(Limit { count: None, offset: 6 })).unwrap();
    assert_eq!(texts(column(&counted, &rows, "id")), ids(7..=9));
    assert_eq!(variables_by_offset(&p), vec![json!({"limit": 2, "offset": 6}), json!({"limit": 2, "offset": 8})]);
    // EXPLAIN shows the first page's variables.
    let request = ScanRequest {
        columns: vec![0],
        quals: vec![eq("state", "OPEN")],
        sorts: vec![],
        limit: Some(Limit { count: Some(3), offset: 4 }),
    };
    assert_eq!(
        p.open(&table).describe(&request),
        vec![format!("POST {}/graphql variables {{\"limit\":3,\"offset\":4,\"state\":\"OPEN\"}}", p.mock.url())]
    );
    // Renamed variables (PostGraphile's first/offset): the page size goes in $first, the offset in $skip.
    let renamed = issue_list(&[
        ("query", "query($first: Int, $skip: Int, $state: IssueState) { allIssuesList(first: $first, offset: $skip, state: $state) { id } }"),
        ("offset_variable", "skip"),
        ("page_size_variable", "first"),
    ]);
    let request = ScanRequest { limit: None, ..request };
    assert_eq!(
        p.open(&renamed).describe(&request),
        vec![format!("POST {}/graphql variables {{\"first\":4,\"skip\":0,\"state\":\"OPEN\"}}", p.mock.url())]
    );
}

#[test]
fn offset_tables_are_checked_against_their_query() {
    let server = ServerDef {
        name: "g".into(),
        options: map(&[("connector", "graphql"), ("base_url", "http://127.0.0.1:1/graphql")]),
    };
    let check = |options: &[(&str, &str)]| validate_table(&server, &issue_list(options));
    assert!(check(&[]).is_ok());
    let e = check(&[(
        "query",
        "query($limit: Int, $state: IssueState) { issueList(limit: $limit, state: $state) { id } }",
    )])
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidOptionValue);
    assert_eq!(e.message, "invalid value for option \"offset_variable\": the query declares no variable $offset for offset paging (offset_variable)");
    assert_eq!(
        e.hint.as_deref(),
        Some("Declare $offset: Int and pass offset: $offset to the list, e.g. query($limit: Int, $offset: Int) { items(limit: $limit, offset: $offset) { … } }.")
    );
    let e = check(&[(
        "query",
        "query($offset: Int, $state: IssueState) { issueList(offset: $offset, state: $state) { id } }",
    )])
    .unwrap_err();
    assert_eq!(e.message, "invalid value for option \"page_size_variable\": the query declares no variable $limit for offset paging (offset_variable)");
    assert!(e.hint.unwrap().starts_with("Declare $limit: Int and pass limit: $limit to the list, e.g."));
    let e = check(&[(
        "query",
        "query($limit: Int, $offset: Int, $state: IssueState) { issueList(limit: $limit, state: $state) { id } }",
    )])
    .unwrap_err();
    assert_eq!(e.message, "invalid value for option \"offset_variable\": the query declares $offset but passes it to no argument; offset paging (offset_variable) needs it");
    // Renamed, the hint names the table's variables.
    let e = check(&[("offset_variable", "skip")]).unwrap_err();
    assert_eq!(e.message, "invalid value for option \"offset_variable\": the query declares no variable $skip for offset paging (offset_variable)");
    assert_eq!(
        e.hint.as_deref(),
        Some("Declare $skip: Int and pass offset: $skip to the list, e.g. query($limit: Int, $skip: Int) { items(limit: $limit, offset: $skip) { … } }.")
    );
    let e = check(&[("offset_variable", "off set")]).unwrap_err();
    assert_eq!(e.message, "invalid value for option \"offset_variable\": \"off set\" is not a GraphQL variable name");
    // One paging style per table; options of the other style are refused.
    let e = check(&[("page_info_path", "$.data.issueList.pageInfo")]).unwrap_err();
    assert_eq!(e.message, "invalid value for option \"offset_variable\": a table pages by cursor (page_info_path) or by offset (offset_variable), not both");
    let e = check(&[("cursor_variable", "after")]).unwrap_err();
    assert_eq!(
        e.message,
        "invalid value for option \"cursor_variable\": offset paging (offset_variable) sends no cursor"
    );
    // A Relay connection's totalCount answers count(*); a table read in one request has nothing to count by.
    validate_table(&server, &issues(&[("total_path", "$.data.issues.totalCount")])).unwrap();
    let single = issues(&[("total_path", "$.data.issues.totalCount"), ("pagination", "none")]);
    let single =
        TableDef { options: single.options.into_iter().filter(|(k, _)| k != "page_info_path").collect(), ..single };
    let e = validate_table(&server, &single).unwrap_err();
    assert_eq!(
        e.message,
        "invalid value for option \"total_path\": the total count serves paged tables: offset paging (offset_variable) or a Relay connection"
    );
    assert_eq!(e.hint.as_deref(), Some("Set pagination 'offset' or 'cursor', or drop total_path."));
}
