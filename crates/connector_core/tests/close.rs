//! The shipped `close` definition against mockapi's Close (`/close/api/v1/…`): `_skip`/`_limit` offset
//! paging that stops at `has_more: false`, pushed filters and date ranges, `WHERE id = …` as one read,
//! JSON writes (POST, PUT, DELETE), HTTP Basic with the API key as the user, and Close's error bodies.

mod common;

use common::*;
use connector_core::convert::Cell;
use connector_core::model::{Limit, Op, Sort, Value as V};
use connector_core::pushdown::Placement;
use connector_core::ErrorKind;
use serde_json::json;

/// `_fields` for every column of the imported leads and opportunities (`query` is a search, not a field).
/// (The custom fields' columns read `custom.cf_…`.)
const LEAD_FIELDS: &str = "_fields=id%2Cname%2Cdisplay_name%2Cstatus_id%2Cstatus_label%2Cdescription%2Curl%2Ccreated_by%2Cdate_created%2Cdate_updated%2Ccustom.cf_LeadSrc01%2Ccustom.cf_Employees02%2Ccustom.cf_Renewal03%2Ccustom.cf_LastTouch04%2Ccustom.cf_Tags05%2Ccustom.cf_Status06";
const OPPORTUNITY_FIELDS: &str = "_fields=id%2Clead_id%2Cuser_id%2Cstatus_id%2Cstatus_label%2Cstatus_type%2Cvalue%2Cvalue_currency%2Cvalue_period%2Cconfidence%2Cnote%2Cdate_won%2Cdate_created%2Cdate_updated%2Ccustom.cf_WinProb07";

fn close() -> Provider {
    Provider::start("close", "/close", &[], &[("user", mockapi::TEST_TOKEN), ("password", "")])
}

/// The table IMPORT FOREIGN SCHEMA creates, with the requests of the import (the custom fields' lists)
/// forgotten.
fn imported(p: &Provider, resource: &str, options: &[(&str, &str)]) -> connector_core::model::TableDef {
    let table = p.imported(resource, options);
    p.mock.reset();
    table
}

#[test]
fn leads_page_with_skip_and_limit() {
    let p = close();
    let table = imported(&p, "leads", &[("page_size", "3")]);
    let rows = p.scan(&table, vec![], None).unwrap();
    let mut ids = texts(column(&table, &rows, "id"));
    ids.sort();
    assert_eq!(ids, (1..=7).map(|i| format!("lead_{i:04}")).collect::<Vec<_>>());
    let requests = p.requests();
    assert!(requests.iter().all(|r| r.path == "/close/api/v1/lead/" && r.param("_limit").as_deref() == Some("3")));
    let mut skips: Vec<u64> = requests.iter().map(|r| r.param("_skip").unwrap().parse().unwrap()).collect();
    skips.sort();
    assert_eq!(skips[..3], [0, 3, 6]);
    assert!(skips.len() <= 4, "no page long past has_more: false ({skips:?})");
    assert_eq!(requests[0].query, format!("{LEAD_FIELDS}&_skip=0&_limit=3"));
    // Close's key is the Basic user, with an empty password.
    assert_eq!(requests[0].header("authorization"), Some("Basic dGVzdC10b2tlbjo="));
    // LIMIT and OFFSET are pushed.
    p.mock.reset();
    let rows = p.scan(&table, vec![], Some(Limit { count: Some(2), offset: 4 })).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["lead_0005", "lead_0006"]);
    assert_eq!(p.sent(), vec![format!("GET /close/api/v1/lead/?{LEAD_FIELDS}&_skip=4&_limit=2")]);
}

#[test]
fn opportunity_filters_and_date_ranges_are_pushed() {
    let p = close();
    let table = imported(&p, "opportunities", &[]);
    let quals = vec![
        eq("status_type", "won"),
        qual("date_created", Op::Ge, timestamptz("2024-01-03T00:00:00Z")),
        qual("date_updated", Op::Lt, timestamptz("2024-01-09T00:00:00Z")),
    ];
    assert_eq!(p.placements(&table, &quals), vec![Placement::Remote; 3]);
    let rows = p.scan(&table, quals, None).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["oppo_0004"]);
    assert_eq!(column(&table, &rows, "value"), vec![Cell::Int(200_000)]);
    assert_eq!(
        p.sent(),
        vec![format!("GET /close/api/v1/opportunity/?status_type=won&date_created__gte=2024-01-03T00%3A00%3A00Z&date_updated__lt=2024-01-09T00%3A00%3A00Z&{OPPORTUNITY_FIELDS}&_skip=0&_limit=100")]
    );
    p.mock.reset();
    assert!(
        p.open(&table).capabilities().filter_support("lead_id", Op::In).is_none(),
        "Close takes one value per filter"
    );
    let rows = p.scan(&table, vec![eq("lead_id", "lead_0001"), eq("user_id", "user_0001")], None).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["oppo_0006"]);
    assert_eq!(
        p.requests()[0].query,
        format!("lead_id=lead_0001&user_id=user_0001&{OPPORTUNITY_FIELDS}&_skip=0&_limit=100")
    );
    // Activities: a lead's, and date_created only as > and <.
    p.mock.reset();
    let activities = imported(&p, "activities", &[]);
    let rows = p
        .scan(
            &activities,
            vec![eq("lead_id", "lead_0001"), qual("date_created", Op::Gt, timestamptz("2024-01-05T00:00:00Z"))],
            None,
        )
        .unwrap();
    assert_eq!(texts(column(&activities, &rows, "id")), vec!["acti_0004", "acti_0007", "acti_0010"]);
    assert_eq!(
        p.requests()[0].query,
        "lead_id=lead_0001&date_created__gt=2024-01-05T00%3A00%3A00Z&_fields=id%2C_type%2Clead_id%2Cuser_id%2Cnote%2Cdate_created%2Cdate_updated&_skip=0&_limit=100"
    );
    let caps = p.open(&activities).capabilities();
    assert!(caps.filter_support("date_created", Op::Ge).is_none());
    // Close takes _type and user_id for one lead's activities only, so they are not pushed.
    assert!(caps.filter_support("type", Op::Eq).is_none() && caps.filter_support("user_id", Op::Eq).is_none());
}

#[test]
fn where_id_reads_one_object_and_query_searches_leads() {
    let p = close();
    let table = imported(&p, "leads", &[]);
    let rows = p.scan(&table, vec![eq("id", "lead_0002")], None).unwrap();
    assert_eq!(texts(column(&table, &rows, "name")), vec!["Acme 2"]);
    assert_eq!(p.sent(), vec![format!("GET /close/api/v1/lead/lead_0002/?{LEAD_FIELDS}")]);
    p.mock.reset();
    assert!(p.scan(&table, vec![eq("id", "lead_0099")], None).unwrap().is_empty());
    p.mock.reset();
    let rows = p.scan(&table, vec![eq("query", "acme 3")], None).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["lead_0003"]);
    assert_eq!(texts(column(&table, &rows, "query")), vec!["acme 3"], "the search is echoed");
    assert_eq!(p.sent(), vec![format!("GET /close/api/v1/lead/?query=acme+3&{LEAD_FIELDS}&_skip=0&_limit=100")]);
    let contacts = imported(&p, "contacts", &[]);
    let rows = p.scan(&contacts, vec![eq("lead_id", "lead_0002")], None).unwrap();
    assert_eq!(texts(column(&contacts, &rows, "email")), vec!["contact2@example.com", "contact6@example.com"]);
}

fn order(column: &str, desc: bool) -> Sort {
    Sort { column: column.into(), desc, nulls_first: desc }
}

#[test]
fn lead_conditions_and_order_are_terms_of_the_search_query() {
    let p = close();
    let table = imported(&p, "leads", &[]);
    let quals = vec![eq("status_label", "Potential"), qual("date_updated", Op::Ge, V::Date("2024-01-04".into()))];
    // Close's search matches loosely (case, words, minutes): Postgres checks the conditions again.
    assert_eq!(p.placements(&table, &quals), vec![Placement::RemoteAndLocal; 2]);
    let rows = p.scan_sorted(&table, quals, vec![order("date_created", true)], None).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["lead_0006", "lead_0003"]);
    assert_eq!(
        p.sent(),
        vec![format!("GET /close/api/v1/lead/?query=status%3A%22Potential%22+date_updated%3E%3D%222024-01-04T00%3A00%22+sort%3A-date_created&{LEAD_FIELDS}&_skip=0&_limit=100")]
    );
    // The query column's own search comes first; times are rounded outward to Close's minutes.
    p.mock.reset();
    let quals = vec![
        eq("query", "acme"),
        eq("name", "Acme 6"),
        qual("date_created", Op::Lt, timestamptz("2024-01-06T09:00:30Z")),
    ];
    let rows = p.scan(&table, quals, None).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["lead_0006"]);
    assert_eq!(texts(column(&table, &rows, "query")), vec!["acme"], "the query column shows its own search");
    assert_eq!(
        p.requests()[0].param("query").as_deref(),
        Some("acme name:\"Acme 6\" date_created<=\"2024-01-06T09:01\"")
    );
    p.mock.reset();
    let rows = p.scan(&table, vec![qual("date_updated", Op::Gt, timestamptz("2024-01-07T09:00:30Z"))], None).unwrap();
    assert_eq!(p.requests()[0].param("query").as_deref(), Some("date_updated>=\"2024-01-07T09:00\""));
    assert_eq!(
        texts(column(&table, &rows, "id")),
        vec!["lead_0006", "lead_0007"],
        "lead_0006 (09:00:00) is Postgres' to drop"
    );
    // A value with a quote cannot be written in Close's language: it is not sent, and Postgres filters.
    p.mock.reset();
    let rows = p.scan(&table, vec![eq("name", "Acme \"6\""), eq("status_label", "Customer")], None).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["lead_0002", "lead_0005"]);
    assert_eq!(p.requests()[0].param("query").as_deref(), Some("status:\"Customer\""));
    let caps = p.open(&table).capabilities();
    assert!(caps.filter_support("name", Op::In).is_none() && caps.filter_support("description", Op::Eq).is_none());
    assert!(!caps.can_sort(&[order("date_created", true), order("date_updated", true)]), "one sort: term");
    assert!(!caps.can_sort(&[order("name", false)]));
    let decision = connector_core::pushdown::decide(
        &caps,
        &[Some(connector_core::pushdown::Candidate { column: "status_label".into(), op: Op::Eq })],
        &[order("date_created", true)],
        true,
        true,
    );
    assert!(decision.sort_pushed && !decision.limit_pushable, "a rechecked term keeps LIMIT local");
}

#[test]
fn opportunities_and_activities_sort_with_order_by() {
    let p = close();
    let table = imported(&p, "opportunities", &[]);
    let rows =
        p.scan_sorted(&table, vec![eq("status_type", "won")], vec![order("date_created", true)], limit(2)).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["oppo_0007", "oppo_0004"]);
    assert_eq!(p.sent(), vec![format!("GET /close/api/v1/opportunity/?status_type=won&_order_by=-date_created&{OPPORTUNITY_FIELDS}&_skip=0&_limit=2")]);
    let caps = p.open(&table).capabilities();
    assert!(caps.can_sort(&[order("date_updated", false)]));
    // One key; and nullable or unlisted fields keep their order to Postgres.
    assert!(!caps.can_sort(&[order("date_created", true), order("date_updated", true)]));
    assert!(!caps.can_sort(&[order("date_won", false)]) && !caps.can_sort(&[order("value", false)]));
    p.mock.reset();
    let activities = imported(&p, "activities", &[]);
    let rows =
        p.scan_sorted(&activities, vec![eq("lead_id", "lead_0002")], vec![order("date_created", false)], None).unwrap();
    assert_eq!(texts(column(&activities, &rows, "id")), vec!["acti_0002", "acti_0005", "acti_0008"]);
    assert_eq!(p.requests()[0].query, "lead_id=lead_0002&_order_by=date_created&_fields=id%2C_type%2Clead_id%2Cuser_id%2Cnote%2Cdate_created%2Cdate_updated&_skip=0&_limit=100");
}

#[test]
fn leads_are_created_updated_and_deleted() {
    let p = close();
    let table = imported(&p, "leads", &[]);
    let writer = p.writer(&table);
    let (http, counters) = (p.http(), counters());
    let created = block(writer.insert(
        &http,
        vec![record(&table, &[("name", json!("Globex")), ("url", json!("https://globex.example"))])],
        &counters,
    ))
    .unwrap();
    assert_eq!((&created[0]["id"], &created[0]["display_name"]), (&json!("lead_0008"), &json!("Globex")));
    let updated =
        block(writer.update(&http, &V::Text("lead_0008".into()), json!({"description": "Big one"}), &counters))
            .unwrap();
    assert_eq!(updated["description"], "Big one");
    block(writer.delete(&http, &V::Text("lead_0008".into()), &counters)).unwrap();
    assert_eq!(
        p.sent(),
        vec![
            "POST /close/api/v1/lead/?",
            "PUT /close/api/v1/lead/lead_0008/?",
            "DELETE /close/api/v1/lead/lead_0008/?"
        ]
    );
    let log = p.requests();
    assert_eq!(log[0].body, Some(json!({"name": "Globex", "url": "https://globex.example"})));
    assert_eq!(log[1].body, Some(json!({"description": "Big one"})));
    assert!(log.iter().all(|r| r.header("idempotency-key").is_none()));
    // Close's validation error names the field.
    let e = block(writer.insert(&http, vec![json!({"url": "https://nameless.example"})], &counters)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert!(e.message.contains("HTTP 400"), "{}", e.message);
    assert!(e.detail.unwrap().contains("This field is required."));
    for read_only in ["activities", "users"] {
        assert!(p.open(&imported(&p, read_only, &[])).writer().is_none(), "{read_only}");
    }
}

#[test]
fn close_errors_keep_their_messages() {
    let wrong = Provider::start("close", "/close", &[], &[("user", "api_wrong"), ("password", "")]);
    // IMPORT FOREIGN SCHEMA asks for the custom fields, so a wrong key fails it.
    let e = block(wrong.connector.resources(&wrong.server, &wrong.http())).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    assert_eq!(wrong.sent(), vec!["GET /close/api/v1/custom_field/lead/?"]);
    let e = wrong.scan(&imported(&close(), "users", &[]), vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    assert!(e.detail.unwrap().starts_with("provider said: The API key is not valid"));
    let p = close();
    let e = p.scan(&imported(&p, "users", &[("query", "colour=red")]), vec![], None).unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("provider said: Unknown filter: colour"));
    let rows = p.scan(&imported(&p, "users", &[]), vec![], None).unwrap();
    assert_eq!(rows.len(), 3);
    // Activity types are filtered within one lead only.
    let e = p.scan(&imported(&p, "activities", &[("query", "_type=Call")]), vec![], None).unwrap_err();
    assert_eq!(
        e.detail.as_deref(),
        Some("provider said: _type can only be used when listing the activities of a single lead (lead_id)")
    );
    let calls = imported(&p, "activities", &[("query", "_type=Call")]);
    assert_eq!(
        p.scan(&calls, vec![eq("lead_id", "lead_0001")], None).unwrap().len(),
        4,
        "all of lead_0001's are calls"
    );
    assert!(p.scan(&calls, vec![eq("lead_id", "lead_0002")], None).unwrap().is_empty(), "lead_0002 has emails only");
    // Without a password the mapping is incomplete.
    let p = Provider::start("close", "/close", &[], &[("user", mockapi::TEST_TOKEN)]);
    let e = connector_core::connectors::http_client(&p.server, &p.user, None).unwrap_err();
    assert!(e.message.contains("no option \"password\""), "{}", e.message);
}

#[test]
fn fields_name_only_the_members_a_query_reads() {
    let p = close();
    let contacts = imported(&p, "contacts", &[]);
    let describe = |columns: Vec<usize>| {
        let request = connector_core::model::ScanRequest { columns, quals: vec![], sorts: vec![], limit: None };
        p.open(&contacts).describe(&request)
    };
    // `email` reads the first of `emails`.
    assert_eq!(
        describe(vec![at(&contacts, "name"), at(&contacts, "email"), at(&contacts, "emails")]),
        vec![format!("GET {}/close/api/v1/contact/?_fields=name%2Cemails&_skip=0&_limit=100", p.mock.url())]
    );
    // count(*) reads no column: the id alone is asked for.
    assert_eq!(
        describe(vec![]),
        vec![format!("GET {}/close/api/v1/contact/?_fields=id&_skip=0&_limit=100", p.mock.url())]
    );
    // A column reading the whole record needs every member.
    let mut whole = contacts.clone();
    whole.columns.push(
        connector_core::model::ColumnDef::new("raw", connector_core::model::ColumnType::Other("jsonb".into()))
            .with_option("path", "$"),
    );
    let request = connector_core::model::ScanRequest {
        columns: vec![0, whole.columns.len() - 1],
        quals: vec![],
        sorts: vec![],
        limit: None,
    };
    assert_eq!(
        p.open(&whole).describe(&request),
        vec![format!("GET {}/close/api/v1/contact/?_skip=0&_limit=100", p.mock.url())]
    );
    // The mock answers with those members only.
    let rows = p.scan(&contacts, vec![eq("lead_id", "lead_0003")], None).unwrap();
    assert_eq!(texts(column(&contacts, &rows, "email")), vec!["contact3@example.com", "contact7@example.com"]);
}

#[test]
fn custom_fields_become_columns() {
    let p = close();
    let resources = block(p.connector.resources(&p.server, &p.http())).unwrap();
    // One list per object that has custom fields, with the API key.
    assert_eq!(
        p.sent(),
        vec![
            "GET /close/api/v1/custom_field/lead/?",
            "GET /close/api/v1/custom_field/contact/?",
            "GET /close/api/v1/custom_field/opportunity/?",
            "GET /close/api/v1/custom_field/activity/?"
        ]
    );
    assert!(p.requests().iter().all(|r| r.header("authorization") == Some("Basic dGVzdC10b2tlbjo=")));
    let custom = |name: &str| -> Vec<(String, String, String)> {
        let r = resources.iter().find(|r| r.name == name).unwrap();
        r.columns
            .iter()
            .filter(|c| c.options.get("path").is_some_and(|p| p.contains("custom.")))
            .map(|c| (c.name.clone(), c.sql_type.clone(), c.options["path"].clone()))
            .collect()
    };
    let col = |name: &str, ty: &str, key: &str| (name.to_string(), ty.to_string(), format!("$[\"custom.{key}\"]"));
    assert_eq!(
        custom("leads"),
        vec![
            col("lead_source", "text", "cf_LeadSrc01"),
            col("employees", "numeric", "cf_Employees02"),
            col("renewal_date", "date", "cf_Renewal03"),
            col("last_touch", "timestamptz", "cf_LastTouch04"),
            col("tags", "jsonb", "cf_Tags05"),
            // "Status Label" is a column already: the key tells them apart.
            col("status_label_cf_status06", "text", "cf_Status06"),
        ]
    );
    assert_eq!(custom("opportunities"), vec![col("win_probability", "numeric", "cf_WinProb07")]);
    assert!(custom("contacts").is_empty() && custom("activities").is_empty() && custom("users").is_empty());
    let leads = resources.iter().find(|r| r.name == "leads").unwrap();
    assert_eq!(leads.columns.len(), 11 + 6, "the definition's columns come first, then the custom ones");
}

#[test]
fn custom_field_columns_read_and_write_their_members() {
    let p = close();
    let table = imported(&p, "leads", &[]);
    let rows = p.scan(&table, vec![], limit(3)).unwrap();
    assert_eq!(texts(column(&table, &rows, "lead_source")), vec!["Web", "Referral", "Web"]);
    assert_eq!(
        column(&table, &rows, "employees"),
        vec![Cell::Numeric("10".into()), Cell::Numeric("20".into()), Cell::Numeric("30".into())]
    );
    assert!(matches!(column(&table, &rows, "renewal_date")[..], [Cell::Date(_), Cell::Null, Cell::Date(_)]));
    assert!(matches!(column(&table, &rows, "last_touch")[0], Cell::Timestamp(_)));
    assert_eq!(column(&table, &rows, "tags")[..2], [Cell::Jsonb(json!(["vip", "t1"])), Cell::Null]);
    assert_eq!(texts(column(&table, &rows, "status_label_cf_status06"))[0], "custom status 1");
    assert_eq!(texts(column(&table, &rows, "status_label"))[0], "Qualified");
    // _fields names the custom members the query reads.
    let request = connector_core::model::ScanRequest {
        columns: vec![at(&table, "id"), at(&table, "employees"), at(&table, "tags")],
        quals: vec![],
        sorts: vec![],
        limit: None,
    };
    assert_eq!(
        p.open(&table).describe(&request),
        vec![format!(
            "GET {}/close/api/v1/lead/?_fields=id%2Ccustom.cf_Employees02%2Ccustom.cf_Tags05&_skip=0&_limit=100",
            p.mock.url()
        )]
    );
    // UPDATE sets the member.
    p.mock.reset();
    let changes = record(&table, &[("employees", json!(99)), ("lead_source", json!("Event"))]);
    block(p.writer(&table).update(&p.http(), &V::Text("lead_0002".into()), changes, &counters())).unwrap();
    assert_eq!(p.requests()[0].body, Some(json!({"custom.cf_Employees02": 99, "custom.cf_LeadSrc01": "Event"})));
    let rows = p.scan(&table, vec![eq("id", "lead_0002")], None).unwrap();
    assert_eq!(column(&table, &rows, "employees"), vec![Cell::Numeric("99".into())]);
    assert_eq!(texts(column(&table, &rows, "lead_source")), vec!["Event"]);
    let opportunities = imported(&p, "opportunities", &[]);
    let rows = p.scan(&opportunities, vec![eq("id", "oppo_0002")], None).unwrap();
    assert_eq!(column(&opportunities, &rows, "win_probability"), vec![Cell::Numeric("25.0".into())]);
}

#[test]
fn custom_field_lists_are_paged_with_skip() {
    use connector_core::definitions::Definition;
    use connector_core::registry;
    // The shipped definition, asking for the custom fields four at a time.
    let mut doc: serde_json::Value = serde_json::from_str(include_str!("../definitions/close.json")).unwrap();
    doc["name"] = json!("close_paged_fields");
    for resource in doc["resources"].as_array_mut().unwrap() {
        if resource.get("custom_fields").is_some() {
            resource["custom_fields"]["query"] = json!({"_limit": 4});
        }
    }
    registry::register(Definition::parse(&doc).unwrap()).unwrap();
    let p = Provider::start("close_paged_fields", "/close", &[], &[("user", mockapi::TEST_TOKEN), ("password", "")]);
    let resources = block(p.connector.resources(&p.server, &p.http())).unwrap();
    registry::unregister("close_paged_fields");
    let leads = resources.iter().find(|r| r.name == "leads").unwrap();
    let custom: Vec<&str> = leads.columns[11..].iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        custom,
        vec!["lead_source", "employees", "renewal_date", "last_touch", "tags", "status_label_cf_status06"]
    );
    assert_eq!(
        p.sent(),
        vec![
            "GET /close/api/v1/custom_field/lead/?_limit=4",
            "GET /close/api/v1/custom_field/lead/?_limit=4&_skip=4",
            "GET /close/api/v1/custom_field/contact/?_limit=4",
            "GET /close/api/v1/custom_field/opportunity/?_limit=4",
            "GET /close/api/v1/custom_field/activity/?_limit=4"
        ]
    );
}
