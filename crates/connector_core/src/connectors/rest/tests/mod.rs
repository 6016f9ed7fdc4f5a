//! Unit tests of the REST connector against the mock provider.

mod partition;

use super::query::epoch_seconds;
use super::source::next_link;
use super::*;
use crate::connectors::{http_client, validate_table};
use crate::error::ErrorKind;
use crate::http::Counters;
use crate::model::{ColumnDef, ColumnType, Limit, Qual, Sort, Value as V};
use crate::options::OptionMap;
use crate::scan::{Next, Projector, Scan, ScanSettings};
use crate::write::WriteOp;
use std::time::Duration;

fn map(pairs: &[(&str, &str)]) -> OptionMap {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn server(url: &str) -> ServerDef {
    ServerDef { name: "demo".into(), options: map(&[("connector", "rest"), ("base_url", url)]) }
}

/// The mock's customers; `amount` is sortable when the table names a sort parameter.
fn customers(table_options: &[(&str, &str)]) -> TableDef {
    let mut amount = ColumnDef::new("amount", ColumnType::Numeric)
        .with_option("filter_param_gte", "amount_gte")
        .with_option("filter_param_lte", "amount_lte");
    if table_options.iter().any(|(k, _)| *k == "sort_param") {
        amount = amount.with_option("sortable", "true");
    }
    TableDef {
        name: "customers".into(),
        options: map(table_options),
        columns: vec![
            ColumnDef::new("id", ColumnType::Int4).with_option("filter_param", "id"),
            ColumnDef::new("name", ColumnType::Text),
            ColumnDef::new("country", ColumnType::Text).with_option("filter_param", "country"),
            amount,
            ColumnDef::new("city", ColumnType::Text).with_option("path", "$.address.city"),
        ],
    }
}

fn page_options() -> Vec<(&'static str, &'static str)> {
    vec![
        ("path", "/page/customers"),
        ("rows", "$.data[*]"),
        ("pagination", "page"),
        ("page_param", "_page"),
        ("page_size_param", "_limit"),
        ("page_size", "100"),
        ("sort_param", "_sort"),
        ("order_param", "_order"),
    ]
}

fn request(quals: Vec<Qual>, sorts: Vec<Sort>, limit: Option<Limit>) -> ScanRequest {
    ScanRequest { columns: vec![0, 1, 2, 3, 4], quals, sorts, limit }
}

fn run(
    base: &str,
    table: &TableDef,
    req: &ScanRequest,
    max_concurrency: usize,
) -> Result<Vec<Vec<crate::convert::Cell>>> {
    run_as(&server(base), &OptionMap::new(), table, req, max_concurrency)
}

fn run_as(
    server: &ServerDef,
    user: &OptionMap,
    table: &TableDef,
    req: &ScanRequest,
    max_concurrency: usize,
) -> Result<Vec<Vec<crate::convert::Cell>>> {
    validate_table(server, table)?;
    let t = Rest.open(server, table)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let http = Arc::new(http_client(server, user, None)?);
    let projector = Arc::new(Projector::new(table, &req.columns)?);
    let split = req.limit.map(|l| l.split(t.capabilities().supports_offset()));
    let settings =
        ScanSettings { max_concurrency, rows_needed: split.and_then(|s| s.source_rows), ..Default::default() };
    let mut scan = Scan::start(runtime.handle(), http, t.scan(req)?, projector, settings);
    let mut rows = Vec::new();
    loop {
        match scan.next_block(Duration::from_millis(100))? {
            Next::Block(b) => rows.extend((0..b.rows()).map(|i| b.row(i).to_vec())),
            Next::Waiting => {}
            Next::Done => return Ok(rows),
        }
    }
}

fn queries(mock: &mockapi::MockServer) -> Vec<String> {
    mock.requests().into_iter().map(|r| format!("{}?{}", r.path, r.query)).collect()
}

#[test]
fn filter_sort_and_limit_become_one_request() {
    let mock = mockapi::MockServer::start_blocking();
    let table = customers(&page_options());
    let req = request(
        vec![Qual { column: "country".into(), op: Op::Eq, value: V::Text("DE".into()) }],
        vec![Sort { column: "amount".into(), desc: true, nulls_first: true }],
        Some(Limit { count: Some(5), offset: 0 }),
    );
    let rows = run(&mock.url(), &table, &req, 4).unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(queries(&mock), vec!["/page/customers?country=DE&_sort=amount&_order=desc&_page=1&_limit=5"]);
    assert_eq!(
        Rest.open(&server(&mock.url()), &table).unwrap().describe(&req),
        vec![format!("GET {}/page/customers?country=DE&_sort=amount&_order=desc&_page=1&_limit=5", mock.url())]
    );
}

#[test]
fn every_paging_style_reads_the_whole_source_once() {
    let mock = mockapi::MockServer::start_blocking();
    let styles: Vec<Vec<(&str, &str)>> = vec![
        page_options(),
        vec![
            ("path", "/offset/customers"),
            ("rows", "$.items"),
            ("pagination", "offset"),
            ("limit_param", "limit"),
            ("total_path", "$.total"),
        ],
        vec![
            ("path", "/cursor/customers"),
            ("rows", "$.data"),
            ("pagination", "cursor"),
            ("page_size_param", "limit"),
            ("cursor_path", "$.next_cursor"),
            ("has_more_path", "$.has_more"),
        ],
        vec![("path", "/link/customers"), ("pagination", "link"), ("page_size_param", "per_page")],
        vec![("path", "/plain/customers")],
    ];
    for options in styles {
        mock.reset();
        let rows = run(&mock.url(), &customers(&options), &request(vec![], vec![], None), 4).unwrap();
        let mut ids: Vec<i64> = rows
            .iter()
            .map(|r| match r[0] {
                crate::convert::Cell::Int(i) => i,
                _ => panic!(),
            })
            .collect();
        ids.sort();
        assert_eq!(ids, (1..=2000).collect::<Vec<_>>(), "{options:?}");
        assert!(
            rows.iter().all(|r| matches!(&r[4], crate::convert::Cell::Text(city) if !city.is_empty())),
            "{options:?}: city comes from $.address.city"
        );
    }
}

#[test]
fn offset_paging_past_the_providers_page_cap_loses_no_rows() {
    // The mock caps `limit` at 100: asked for 150, each page holds 100, so page n starts at n × 100.
    let mock = mockapi::MockServer::start_blocking();
    let table = customers(&[
        ("path", "/offset/customers"),
        ("rows", "$.items"),
        ("pagination", "offset"),
        ("limit_param", "limit"),
        ("page_size", "150"),
    ]);
    let rows = run(&mock.url(), &table, &request(vec![], vec![], None), 1).unwrap();
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| match r[0] {
            crate::convert::Cell::Int(i) => i,
            _ => panic!(),
        })
        .collect();
    assert_eq!(ids.len(), 2000);
    assert_eq!(ids, (1..=2000).collect::<Vec<_>>());
    let offsets: Vec<String> = queries(&mock)
        .iter()
        .map(|q| q.split("offset=").nth(1).unwrap().split('&').next().unwrap().to_string())
        .collect();
    assert_eq!(offsets, (0..=20).map(|n| (n * 100).to_string()).collect::<Vec<_>>());
}

#[test]
fn offset_paging_pushes_offset_and_in_lists() {
    let mock = mockapi::MockServer::start_blocking();
    let table = customers(&[
        ("path", "/offset/customers"),
        ("rows", "$.items"),
        ("pagination", "offset"),
        ("limit_param", "limit"),
        ("page_size", "50"),
    ]);
    let req = request(
        vec![Qual {
            column: "country".into(),
            op: Op::In,
            value: V::List(vec![V::Text("DE".into()), V::Text("FR".into())]),
        }],
        vec![],
        Some(Limit { count: Some(3), offset: 10 }),
    );
    let rows = run(&mock.url(), &table, &req, 4).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(queries(&mock), vec!["/offset/customers?country=DE&country=FR&offset=10&limit=3"]);
}

/// Google's APIs refuse a request over a rate quota with 403 `rateLimitExceeded`, to be retried like a 429.
#[test]
fn googles_403_rate_limit_is_retried() {
    let mock = mockapi::MockServer::start_blocking();
    let req = request(vec![], vec![], None);
    let rows = run(&mock.url(), &customers(&[("path", "/fault/google403/1/plain/customers")]), &req, 1).unwrap();
    assert!(!rows.is_empty());
    assert_eq!(mock.request_count(), 2, "refused once, then served");
}

#[test]
fn bad_responses_are_named_errors() {
    let mock = mockapi::MockServer::start_blocking();
    let req = request(vec![], vec![], None);
    let e = run(&mock.url(), &customers(&[("path", "/fault/notjson/always/plain/customers")]), &req, 1).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadResponse);
    assert!(e.message.contains("is not valid JSON"), "{}", e.message);
    let e = run(&mock.url(), &customers(&[("path", "/nowhere")]), &req, 1).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.message.starts_with(&format!("GET {}/nowhere failed: HTTP 404", mock.url())), "{}", e.message);
    let e =
        run(&mock.url(), &customers(&[("path", "/page/customers"), ("rows", "$.nothing[*]")]), &req, 1).unwrap_err();
    assert!(e.message.contains("no records at rows path $.nothing[*]"), "{}", e.message);
    // A single scalar is not a record: a wrong shape, not a row of NULLs.
    let e = run(&mock.url(), &customers(&[("path", "/page/customers"), ("rows", "$.total")]), &req, 1).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadResponse);
    assert!(e.message.contains("no records at rows path $.total"), "{}", e.message);
}

#[test]
fn options_are_checked_as_a_whole() {
    let s = server("http://127.0.0.1:1");
    let e = validate_table(&s, &customers(&[("pagination", "page")])).unwrap_err();
    assert_eq!(e.message, "option \"path\" is required for a foreign table of connector \"rest\"");
    let e = validate_table(&s, &customers(&[("path", "/x"), ("pagination", "cursor")])).unwrap_err();
    assert!(e.message.contains("\"cursor_path\" is required"));
    let mut t = customers(&[("path", "/x")]);
    t.columns[3].options.insert("sortable".into(), "true".into());
    let e = validate_table(&s, &t).unwrap_err();
    assert!(e.message.contains("has no option \"sort_param\""), "{}", e.message);
    let mut t = customers(&[("path", "/x"), ("sort_param", "s")]);
    t.columns[0].options.insert("filter".into(), "id".into());
    let e = validate_table(&s, &t).unwrap_err();
    assert_eq!(e.message, "column \"id\": invalid option \"filter\"");
    assert!(e.hint.unwrap().contains("filter_param, filter_param_gt"));
}

#[test]
fn link_headers_are_parsed() {
    assert_eq!(
        next_link(r#"<https://a/x?page=3>; rel="next", <https://a/x?page=9>; rel="last""#),
        Some("https://a/x?page=3".into())
    );
    assert_eq!(next_link(r#"<https://a/x?page=1>; rel="prev""#), None);
    assert_eq!(next_link(r#"<https://a/x?a=1,2>; rel="last", <https://a/y>; rel=next"#), Some("https://a/y".into()));
}

#[test]
fn capabilities_follow_the_column_options() {
    let t = Rest.open(&server("http://x"), &customers(&page_options())).unwrap();
    let caps = t.capabilities();
    assert!(caps.filter_support("country", Op::In).is_some());
    assert!(caps.filter_support("amount", Op::Gt).is_none());
    assert!(caps.can_sort(&[Sort { column: "amount".into(), desc: false, nulls_first: false }]));
    assert!(caps.supports_limit() && !caps.supports_offset());
}

/// A server of the provider mocks, which want a bearer token.
fn provider_server(url: &str) -> (ServerDef, OptionMap) {
    let server =
        ServerDef { name: "p".into(), options: map(&[("connector", "rest"), ("base_url", url), ("auth", "bearer")]) };
    (server, map(&[("token", mockapi::TEST_TOKEN)]))
}

fn text_columns(names: &[&str]) -> Vec<ColumnDef> {
    names.iter().map(|n| ColumnDef::new(*n, ColumnType::Text)).collect()
}

fn all_columns(table: &TableDef) -> ScanRequest {
    ScanRequest { columns: (0..table.columns.len()).collect(), quals: vec![], sorts: vec![], limit: None }
}

fn dropbox_files() -> TableDef {
    TableDef {
        name: "files".into(),
        options: map(&[
            ("path", "/dropbox/2/files/list_folder"),
            ("method", "POST"),
            ("body", r#"{"path": "", "recursive": true}"#),
            ("rows", "$.entries"),
            ("pagination", "cursor"),
            ("cursor_in", "body"),
            ("cursor_param", "cursor"),
            ("cursor_path", "$.cursor"),
            ("has_more_path", "$.has_more"),
            ("next_path", "/dropbox/2/files/list_folder/continue"),
            ("page_size_param", "limit"),
            ("page_size", "4"),
        ]),
        columns: text_columns(&["name", "path_display"]),
    }
}

#[test]
fn post_reads_carry_the_cursor_in_the_body_to_a_continuation_endpoint() {
    let mock = mockapi::MockServer::start_blocking();
    let (server, user) = provider_server(&mock.url());
    let table = dropbox_files();
    let rows = run_as(&server, &user, &table, &all_columns(&table), 4).unwrap();
    assert_eq!(rows.len(), 11);
    let log = mock.requests();
    let sent: Vec<(&str, &str)> = log.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect();
    let continued = ("POST", "/dropbox/2/files/list_folder/continue");
    assert_eq!(sent, vec![("POST", "/dropbox/2/files/list_folder"), continued, continued]);
    assert_eq!(log[0].body, Some(serde_json::json!({"path": "", "recursive": true, "limit": 4})));
    for (previous, next) in log.iter().zip(&log[1..]) {
        assert_eq!(
            next.body.as_ref().unwrap().as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["cursor"],
            "a continuation sends the cursor alone"
        );
        assert_ne!(previous.body, next.body);
    }
    assert_eq!(
        Rest.open(&server, &table).unwrap().describe(&all_columns(&table)),
        vec![format!(
            "POST {}/dropbox/2/files/list_folder {{\"limit\":4,\"path\":\"\",\"recursive\":true}}",
            mock.url()
        )]
    );
}

fn graph_users(page_size: &str) -> TableDef {
    TableDef {
        name: "users".into(),
        options: map(&[
            ("path", "/graph/v1.0/users"),
            ("rows", "$.value"),
            ("pagination", "link"),
            ("page_size_param", "$top"),
            ("page_size", page_size),
            ("next_url_path", "$['@odata.nextLink']"),
        ]),
        columns: text_columns(&["id", "displayName"]),
    }
}

#[test]
fn next_page_urls_are_read_from_the_body_and_followed_on_the_same_origin_only() {
    let mock = mockapi::MockServer::start_blocking();
    let (server, user) = provider_server(&mock.url());
    let table = graph_users("3");
    let rows = run_as(&server, &user, &table, &all_columns(&table), 4).unwrap();
    assert_eq!(rows.len(), 7);
    let log = mock.requests();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|r| r.path == "/graph/v1.0/users" && r.param("$top").as_deref() == Some("3")));
    assert_eq!(log[0].param("$skiptoken"), None);
    assert!(log[1].param("$skiptoken").is_some() && log[2].param("$skiptoken").is_some());
    // The mock writes its links for 127.0.0.1; a server named by another host must not follow them.
    let (elsewhere, user) = provider_server(&mock.url().replace("127.0.0.1", "localhost"));
    let e = run_as(&elsewhere, &user, &table, &all_columns(&table), 4).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadResponse);
    assert!(
        e.message.starts_with("next-page URL at $['@odata.nextLink'] of foreign table \"users\" points to another host (http://127.0.0.1:"),
        "{}",
        e.message
    );
}

fn outlook_messages(filter_join: Option<&str>) -> TableDef {
    let mut options = map(&[("path", "/me/messages"), ("rows", "$.value")]);
    if let Some(join) = filter_join {
        options.insert("filter_join".into(), join.into());
    }
    TableDef {
        name: "messages".into(),
        options,
        columns: vec![
            ColumnDef::new("is_read", ColumnType::Bool).with_option("filter_param", "$filter=isRead eq {value}"),
            ColumnDef::new("subject", ColumnType::Text).with_option("filter_param", "$filter=subject eq '{value}'"),
            ColumnDef::new("received", ColumnType::TimestampTz)
                .with_option("filter_param_gte", "$filter=receivedDateTime ge {value}"),
            ColumnDef::new("tag", ColumnType::Text).with_option("filter_param", "tag"),
        ],
    }
}

#[test]
fn filter_templates_fill_one_joined_parameter() {
    let quals = vec![
        Qual { column: "is_read".into(), op: Op::Eq, value: V::Bool(false) },
        Qual { column: "subject".into(), op: Op::Eq, value: V::Text("it's".into()) },
        Qual { column: "received".into(), op: Op::Ge, value: V::TimestampTz("2024-03-05T00:00:00Z".into()) },
        Qual { column: "tag".into(), op: Op::In, value: V::List(vec![V::Text("a".into()), V::Text("b".into())]) },
    ];
    let req = ScanRequest { columns: vec![0], quals, sorts: vec![], limit: None };
    let joined = Rest.open(&server("http://x"), &outlook_messages(Some(" and "))).unwrap();
    let url = |t: &Arc<dyn Table>| Url::parse(t.describe(&req)[0].trim_start_matches("GET ")).unwrap();
    let params: Vec<(String, String)> = url(&joined).query_pairs().into_owned().collect();
    let filter = "isRead eq false and subject eq 'it''s' and receivedDateTime ge 2024-03-05T00:00:00Z";
    let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(params, vec![pair("$filter", filter), pair("tag", "a"), pair("tag", "b")]);
    let repeated = Rest.open(&server("http://x"), &outlook_messages(None)).unwrap();
    assert_eq!(url(&repeated).query_pairs().filter(|(k, _)| k == "$filter").count(), 3);
    // IN has no general form in a template.
    let caps = joined.capabilities();
    assert!(caps.filter_support("is_read", Op::Eq).is_some() && caps.filter_support("is_read", Op::In).is_none());
    assert!(caps.filter_support("tag", Op::In).is_some());
}

#[test]
fn new_options_are_checked_as_a_whole() {
    let s = server("http://127.0.0.1:1");
    let check = |options: &[(&str, &str)]| {
        let mut all = vec![("path", "/x")];
        all.extend_from_slice(options);
        validate_table(&s, &TableDef { name: "t".into(), options: map(&all), columns: text_columns(&["id"]) })
            .unwrap_err()
            .message
    };
    assert_eq!(check(&[("body", "{}")]), "option \"body\" is sent only with method 'POST'");
    assert_eq!(
        check(&[("method", "POST"), ("body", "[1]")]),
        "invalid value for option \"body\": it must be a JSON object"
    );
    assert!(
        check(&[("method", "POST"), ("body", "{x")]).starts_with("invalid value for option \"body\": it is not JSON")
    );
    assert_eq!(
        check(&[("pagination", "page"), ("cursor_in", "body")]),
        "option \"cursor_in\" applies to pagination 'cursor' only"
    );
    assert_eq!(
        check(&[("pagination", "cursor"), ("cursor_path", "$.c"), ("cursor_in", "body")]),
        "option \"cursor_in\" 'body' needs method 'POST'"
    );
    assert_eq!(check(&[("next_path", "/more")]), "option \"next_path\" applies to pagination 'cursor' only");
    assert_eq!(
        check(&[("pagination", "cursor"), ("cursor_path", "$.c"), ("next_url_path", "$.next")]),
        "option \"next_url_path\" applies to pagination 'link' only"
    );
    assert_eq!(
        check(&[("method", "DELETE")]),
        "invalid value for option \"method\": \"DELETE\" is not one of: GET, POST"
    );
    assert_eq!(
        check(&[("returning_members", "[\"$.channel\"]")]),
        "invalid value for option \"returning_members\": it is not a JSON object"
    );
    assert!(check(&[("returning_members", r#"{"channel": "$.x["}"#)])
        .starts_with("invalid value for option \"returning_members\": the path of \"channel\": JSONPath"));
    let column = |options: &[(&str, &str)]| {
        let mut c = ColumnDef::new("q", ColumnType::Text);
        for (k, v) in options {
            c = c.with_option(k, v);
        }
        validate_table(&s, &TableDef { name: "t".into(), options: map(&[("path", "/x")]), columns: vec![c] })
            .unwrap_err()
            .message
    };
    assert_eq!(
        column(&[("echo", "true")]),
        "option \"echo\" of column \"q\" needs filter_param: the column shows the value its = condition sends"
    );
    assert_eq!(
        column(&[("echo", "true"), ("filter_param", "q"), ("path", "$.a[0]")]),
        "option \"echo\" of column \"q\" needs a path of member names"
    );
    assert!(column(&[("filter_param", "$filter=x eq")])
        .starts_with("invalid value for option \"filter_param\": \"$filter=x eq\" is neither"));
}

#[test]
fn epoch_templates_round_so_that_the_condition_keeps_what_sql_keeps() {
    let epoch = |v: V, op| epoch_seconds(&v, op);
    let at = |t: &str| V::TimestampTz(t.into());
    assert_eq!(epoch(at("2024-01-01T00:00:00Z"), Op::Ge).as_deref(), Some("1704067200"));
    assert_eq!(epoch(at("2024-01-01T01:00:00+01:00"), Op::Ge).as_deref(), Some("1704067200"));
    assert_eq!(epoch(at("2024-01-01T00:00:00.25Z"), Op::Ge).as_deref(), Some("1704067201"));
    assert_eq!(epoch(at("2024-01-01T00:00:00.25Z"), Op::Lt).as_deref(), Some("1704067201"));
    assert_eq!(epoch(at("2024-01-01T00:00:00.25Z"), Op::Gt).as_deref(), Some("1704067200"));
    assert_eq!(epoch(at("2024-01-01T00:00:00.25Z"), Op::Le).as_deref(), Some("1704067200"));
    assert_eq!(epoch(at("1969-12-31T23:59:59.5Z"), Op::Ge).as_deref(), Some("0"));
    assert_eq!(epoch(at("1969-12-31T23:59:59.5Z"), Op::Gt).as_deref(), Some("-1"));
    assert_eq!(epoch(V::Timestamp("2024-01-01 00:00:00".into()), Op::Ge).as_deref(), Some("1704067200"));
    assert_eq!(epoch(V::Date("2024-01-02".into()), Op::Ge).as_deref(), Some("1704153600"));
    assert_eq!(epoch(V::Int(42), Op::Ge).as_deref(), Some("42"));
    assert_eq!(epoch(V::Text("soon".into()), Op::Ge), None);
    let filter = Filter::parse("created", Op::Ge, "filter_param_gte", "created[gte]={epoch}").unwrap();
    assert_eq!(
        (filter.param.as_str(), filter.render(&at("2024-01-01T00:00:00Z")).as_str()),
        ("created[gte]", "1704067200")
    );
}

#[test]
fn terms_quote_escape_and_round_their_values() {
    let terms = |escape: Option<&str>, minutes: bool| Terms {
        param: "q".into(),
        join: " ".into(),
        quote: "\"".into(),
        escape: escape.map(str::to_string),
        minutes,
        sort: None,
    };
    let term = |op: Op, template: &str| Term { column: "c".into(), op, template: template.into() };
    let plain = terms(None, true);
    let eq = term(Op::Eq, "name:{value}");
    assert_eq!(plain.render(&eq, &V::Text("Acme Inc".into())).as_deref(), Some("name:\"Acme Inc\""));
    assert_eq!(plain.render(&eq, &V::Int(42)).as_deref(), Some("name:42"));
    // Without an escape a quote or backslash cannot be written; with one both are escaped.
    assert_eq!(plain.render(&eq, &V::Text("say \"hi\"".into())), None);
    assert_eq!(plain.render(&eq, &V::Text("a\\b".into())), None);
    let escaping = terms(Some("\\"), false);
    assert_eq!(
        escaping.render(&eq, &V::Text("say \"hi\" \\o/".into())).as_deref(),
        Some("name:\"say \\\"hi\\\" \\\\o/\"")
    );
    // Times are UTC bounds rounded outward; equality on a time is not written.
    let at = V::TimestampTz("2024-01-01T10:20:30.5+01:00".into());
    assert_eq!(plain.render(&term(Op::Gt, "d>={value}"), &at).as_deref(), Some("d>=\"2024-01-01T09:20\""));
    assert_eq!(plain.render(&term(Op::Le, "d<={value}"), &at).as_deref(), Some("d<=\"2024-01-01T09:21\""));
    assert_eq!(escaping.render(&term(Op::Lt, "d<={value}"), &at).as_deref(), Some("d<=\"2024-01-01T09:20:31\""));
    assert_eq!(
        plain.render(&term(Op::Le, "d<={value}"), &V::TimestampTz("2024-01-01T09:21:00Z".into())).as_deref(),
        Some("d<=\"2024-01-01T09:21\"")
    );
    assert_eq!(plain.render(&term(Op::Eq, "d:{value}"), &at), None);
    assert_eq!(plain.render(&eq, &V::Json(serde_json::json!({}))), None);
}

#[test]
fn errors_reported_in_a_200_body_are_errors() {
    let open = |options: &[(&str, &str)]| {
        let mut all = vec![("path", "/x")];
        all.extend_from_slice(options);
        RestTable::new("rest", &server("http://x"), &TableDef { name: "t".into(), options: map(&all), columns: vec![] })
            .unwrap()
    };
    let slack = open(&[("success_path", "$.ok")]);
    let e = slack
        .reported_error(&serde_json::json!({"ok": false, "error": "channel_not_found"}), "GET http://x/x")
        .unwrap();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::Remote, "GET http://x/x failed: the response reports an error ($.ok is false)")
    );
    assert_eq!(e.detail.as_deref(), Some("provider said: channel_not_found"));
    assert!(slack.reported_error(&serde_json::json!({"ok": true, "channels": []}), "GET").is_none());
    assert!(slack.reported_error(&serde_json::json!({"channels": []}), "GET").is_none(), "only false is an error");
    let graphql = open(&[("error_path", "$.errors")]);
    let e = graphql
        .reported_error(&serde_json::json!({"data": null, "errors": [{"message": "Cannot query field \"x\""}]}), "POST")
        .unwrap();
    assert_eq!(e.message, "POST failed: the response reports an error (it has $.errors)");
    assert_eq!(e.detail.as_deref(), Some("provider said: Cannot query field \"x\""));
    assert!(graphql.reported_error(&serde_json::json!({"data": {}, "errors": []}), "POST").is_none());
    assert!(open(&[]).reported_error(&serde_json::json!({"ok": false}), "GET").is_none());
}

#[test]
fn required_conditions_say_what_to_write() {
    let open = |options: &[(&str, &str)]| {
        let mut column = ColumnDef::new("channel", ColumnType::Text)
            .with_option("filter_param", "channel")
            .with_option("required", "true");
        for (k, v) in options {
            column = column.with_option(k, v);
        }
        Rest.open(
            &server("http://x"),
            &TableDef { name: "messages".into(), options: map(&[("path", "/h")]), columns: vec![column] },
        )
    };
    let caps = open(&[]).unwrap().capabilities();
    let e = crate::pushdown::unmet_requirement(&caps, &[]).unwrap().error();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            ErrorKind::MissingCondition,
            "foreign table \"messages\" needs a condition on column \"channel\" (=): the provider requires it"
        )
    );
    assert_eq!(e.hint.as_deref(), Some("Add a condition such as WHERE channel = '…'."));
    let caps = open(&[("required_hint", "Add WHERE channel = 'C…'.")]).unwrap().capabilities();
    assert_eq!(
        crate::pushdown::unmet_requirement(&caps, &[]).unwrap().error().hint.as_deref(),
        Some("Add WHERE channel = 'C…'.")
    );
    let e = open(&[("required", "false"), ("required_hint", "x")]).err().unwrap();
    assert_eq!(e.message, "option \"required_hint\" of column \"channel\" needs required 'true'");
    let e = open(&[("search", "channel")]).err().unwrap();
    assert_eq!(e.message, "option \"search\" of column \"channel\" needs the table's search_path");
}

#[test]
fn write_options_are_checked() {
    let s = server("http://127.0.0.1:1");
    let check = |options: &[(&str, &str)]| {
        let mut all = vec![("path", "/x")];
        all.extend_from_slice(options);
        validate_table(&s, &TableDef { name: "t".into(), options: map(&all), columns: text_columns(&["id"]) })
    };
    assert_eq!(
        check(&[("write_operations", "insert,upsert")]).unwrap_err().message,
        "invalid value for option \"write_operations\": \"upsert\" is not one of: insert, update, delete"
    );
    assert!(check(&[("write_format", "xml")]).is_err());
    assert_eq!(
        check(&[("write_format", "form"), ("batch_size", "10")]).unwrap_err().message,
        "option \"write_format\" 'form' sends one record per request: it excludes batch_size above 1 and insert_wrapper"
    );
    assert!(check(&[
        ("write_operations", "insert"),
        ("write_format", "form"),
        ("insert_path", "/post"),
        ("item_lookup", "true")
    ])
    .is_ok());
    let table = Rest
        .open(
            &s,
            &TableDef {
                name: "t".into(),
                options: map(&[("path", "/list"), ("insert_path", "/post")]),
                columns: text_columns(&["id"]),
            },
        )
        .unwrap();
    assert_eq!(table.writer().unwrap().describe(WriteOp::Insert), "POST http://127.0.0.1:1/post");
}

#[test]
fn keys_that_are_dot_segments_are_refused_before_sending() {
    let mock = mockapi::MockServer::start_blocking();
    let s = server(&mock.url());
    let table = TableDef {
        name: "t".into(),
        options: map(&[("path", "/api/keys"), ("item_path", "/api/keys/{key}")]),
        columns: text_columns(&["id"]),
    };
    let writer = Rest.open(&s, &table).unwrap().writer().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let http = http_client(&s, &OptionMap::new(), None).unwrap();
    let counters = Counters::default();
    for key in [".", ".."] {
        let key = V::Text(key.into());
        let e = runtime.block_on(writer.delete(&http, &key, &counters)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidValue, "{e:?}");
        assert!(e.message.contains("key column \"id\""), "{}", e.message);
        let e = runtime.block_on(writer.update(&http, &key, serde_json::json!({"id": "x"}), &counters)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidValue, "{e:?}");
    }
    assert!(mock.requests().is_empty(), "nothing is sent: {:?}", queries(&mock));
}

#[test]
fn paths_that_leave_the_base_url_are_refused() {
    let s = server("http://127.0.0.1:1/api");
    let table = |name: &str, path: &str| TableDef {
        name: "t".into(),
        options: map(&[("path", "/items"), (name, path)]),
        columns: text_columns(&["id"]),
    };
    for (name, path) in [
        ("path", "/../../x"),
        ("path", "/items/%2e%2e/%2E%2E/x"),
        ("item_path", "/../keys/{key}"),
        ("insert_path", ".."),
    ] {
        let e = Rest.open(&s, &table(name, path)).err().expect(path);
        assert_eq!(e.kind, ErrorKind::InvalidOptionValue, "{path}: {e:?}");
        assert!(e.message.contains(&format!("option \"{name}\"")), "{}", e.message);
    }
    assert!(Rest.open(&s, &table("path", "/items/../items/x")).is_ok(), "staying under the base path is fine");
}
