//! The Salesforce connector against the mock of crates/mockapi: one SOQL query per scan (conditions,
//! sort with explicit NULL placement, limit), paging by nextRecordsUrl with batchSize, IMPORT FOREIGN
//! SCHEMA from describe, writes through sObject Collections, Salesforce's errors with hints.

mod common;

use common::*;
use connector_core::convert::Cell;
use connector_core::model::{ColumnDef, ColumnType, Op, Sort, TableDef, Value as V};
use connector_core::pushdown::Placement;
use connector_core::ErrorKind;
use serde_json::json;

fn provider() -> Provider {
    Provider::start("salesforce", "/salesforce", &[("rate_limit", "1000")], &[("token", mockapi::TEST_TOKEN)])
}

fn accounts() -> TableDef {
    TableDef {
        name: "accounts".into(),
        options: map(&[("object", "Account"), ("page_size", "200")]),
        columns: vec![
            ColumnDef::new("id", ColumnType::Text),
            ColumnDef::new("name", ColumnType::Text),
            ColumnDef::new("revenue", ColumnType::Numeric).with_option("field", "AnnualRevenue"),
            ColumnDef::new("created", ColumnType::TimestampTz).with_option("field", "CreatedDate"),
            ColumnDef::new("active", ColumnType::Bool).with_option("field", "Active__c"),
        ],
    }
}

/// The SOQL of each query request, decoded.
fn soql(p: &Provider) -> Vec<String> {
    p.requests().iter().filter_map(|r| r.param("q")).collect()
}

#[test]
fn conditions_sort_and_limit_are_one_soql_query() {
    let p = provider();
    let table = accounts();
    let quals = vec![
        qual("revenue", Op::Ge, V::Numeric("3000".into())),
        qual("created", Op::Lt, timestamptz("2024-02-01T00:00:00Z")),
        qual("active", Op::Ne, V::Bool(false)),
    ];
    let sorts = vec![Sort { column: "revenue".into(), desc: true, nulls_first: true }];
    let rows = p.scan_sorted(&table, quals, sorts, limit(3)).unwrap();
    assert_eq!(
        soql(&p),
        ["SELECT id, name, AnnualRevenue, CreatedDate, Active__c FROM Account WHERE AnnualRevenue >= 3000 AND CreatedDate < 2024-02-01T00:00:00Z AND (Active__c != false AND Active__c != null) ORDER BY AnnualRevenue DESC NULLS FIRST LIMIT 3"]
    );
    assert_eq!(rows.len(), 3);
    // Account n was created n*5 hours into 2024: before February, n < 149; active: even n; n % 7 != 0.
    assert_eq!(column(&table, &rows, "name")[0], Cell::Text("Account 148".into()));
    assert_eq!(p.requests()[0].header("sforce-query-options"), Some("batchSize=200"));
}

#[test]
fn pages_follow_next_records_url() {
    let p = provider();
    let table = accounts();
    let rows = p.scan(&table, vec![], None).unwrap();
    assert_eq!(rows.len(), mockapi::SALESFORCE_ACCOUNTS);
    let sent = p.sent();
    assert_eq!(sent.len(), 3, "450 records at 200 a page: {sent:?}");
    assert!(sent[1].starts_with("GET /salesforce/services/data/v60.0/query/01gMock"), "{sent:?}");
    assert!(p.requests().iter().all(|r| r.header("sforce-query-options") == Some("batchSize=200")));
    // Fields are matched without regard to case; a column naming no field reads NULL.
    assert_eq!(column(&table, &rows, "name")[0], Cell::Text("Account 001".into()));
}

#[test]
fn text_equality_is_a_superset_and_values_are_escaped() {
    let p = provider();
    let table = accounts();
    assert_eq!(p.placements(&table, &[eq("name", "acme")]), vec![Placement::RemoteAndLocal]);
    assert_eq!(p.placements(&table, &[qual("name", Op::Ne, V::Text("x".into()))]), vec![Placement::Local]);
    assert_eq!(
        p.scan(&table, vec![eq("name", "acme")], None).unwrap().len(),
        2,
        "Acme and ACME, for Postgres to recheck"
    );
    let rows = p.scan(&table, vec![eq("name", r"O'Brien \ Sons")], None).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(soql(&p)[1].ends_with(r"WHERE name = 'O\'Brien \\ Sons'"), "{:?}", soql(&p));
    let rows = p.scan(&table, vec![eq("name", "x' OR Name != '")], None).unwrap();
    assert!(rows.is_empty(), "a quote does not end the literal");
}

#[test]
fn nulls_and_not_equal_follow_sql() {
    let p = provider();
    let table = accounts();
    let ne = p.scan(&table, vec![qual("revenue", Op::Ne, V::Numeric("1500".into()))], None).unwrap();
    let nulls = p.scan(&table, vec![qual("revenue", Op::IsNull, V::Null)], None).unwrap();
    assert_eq!(nulls.len(), mockapi::SALESFORCE_ACCOUNTS / 7);
    assert_eq!(ne.len() + nulls.len() + 1, mockapi::SALESFORCE_ACCOUNTS, "<> keeps no NULL");
    let sorts = vec![Sort { column: "revenue".into(), desc: false, nulls_first: false }];
    assert!(p.open(&table).capabilities().can_sort(&sorts));
    let rows = p.scan_sorted(&table, vec![], sorts, None).unwrap();
    assert_eq!(column(&table, &rows, "revenue").last(), Some(&Cell::Null), "ASC puts NULLs last, as Postgres");
    let text_sort = [Sort { column: "name".into(), desc: false, nulls_first: false }];
    assert!(!p.open(&table).capabilities().can_sort(&text_sort), "SOQL sorts text without case");
}

#[test]
fn import_describes_only_the_tables_kept() {
    let p = provider();
    let http = p.http();
    let keep = |name: &str| name == "contact";
    let found = block(p.connector.discover_only(&p.server, &http, &keep)).unwrap();
    assert_eq!(found.resources.len(), 1);
    let contact = &found.resources[0];
    assert_eq!(contact.table_options.get("object").map(String::as_str), Some("Contact"));
    let columns: Vec<(String, String)> = contact.columns.iter().map(|c| (c.name.clone(), c.sql_type.clone())).collect();
    assert_eq!(columns[1], ("first_name".into(), "text".into()));
    assert_eq!(columns[5], ("birthdate".into(), "date".into()));
    assert_eq!(contact.columns[1].options.get("field").map(String::as_str), Some("FirstName"));
    assert_eq!(found.skipped, ["sObject AggregateResult is not queryable: no table made"]);
    let describes: Vec<String> = p.sent().into_iter().filter(|s| s.contains("describe")).collect();
    assert_eq!(describes, ["GET /salesforce/services/data/v60.0/sobjects/Contact/describe?"]);
    let account = p.imported("account", &[]);
    let types: Vec<&str> = account.columns.iter().map(|c| c.ty.sql_name()).collect();
    assert_eq!(types[..4], ["text", "text", "text", "numeric"]);
    assert_eq!(
        p.scan(&account, vec![qual("annual_revenue", Op::Gt, V::Numeric("673000".into()))], None).unwrap().len(),
        2
    );
}

#[test]
fn writes_go_through_collections_all_or_none() {
    let p = provider();
    let table = accounts();
    let writer = p.writer(&table);
    let created = block(writer.insert(
        &p.http(),
        vec![record(&table, &[("name", json!("New one")), ("revenue", json!(10))])],
        &counters(),
    ))
    .unwrap();
    let id = created[0]["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("001Mock"), "{id}");
    let body = p.requests().last().unwrap().body.clone().unwrap();
    assert_eq!(
        body,
        json!({ "allOrNone": true, "records": [{ "attributes": { "type": "Account" }, "name": "New one", "AnnualRevenue": 10 }] })
    );
    block(writer.update_batch(&p.http(), vec![(V::Text(id.clone()), json!({ "revenue": 20 }))], &counters())).unwrap();
    let rows = p.scan(&table, vec![qual("revenue", Op::Eq, V::Int(20))], None).unwrap();
    assert_eq!(column(&table, &rows, "name"), [Cell::Text("New one".into())]);
    // A record without its required Name: Salesforce's statusCode, and nothing of the batch saved.
    let e = block(writer.insert(
        &p.http(),
        vec![record(&table, &[("name", json!("Fine"))]), record(&table, &[("revenue", json!(1))])],
        &counters(),
    ))
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert!(
        e.message.contains("refused record 2 of 2") && e.message.contains("REQUIRED_FIELD_MISSING"),
        "{}",
        e.message
    );
    assert!(p.scan(&table, vec![eq("name", "Fine")], None).unwrap().is_empty());
    block(writer.delete_batch(&p.http(), vec![V::Text(id)], &counters())).unwrap();
    assert!(p
        .sent()
        .last()
        .unwrap()
        .starts_with("DELETE /salesforce/services/data/v60.0/composite/sobjects?ids=001Mock"));
    assert!(p.scan(&table, vec![qual("revenue", Op::Eq, V::Int(20))], None).unwrap().is_empty());
}

#[test]
fn errors_carry_salesforce_codes_and_hints() {
    let p = provider();
    let mut table = accounts();
    table.columns.push(ColumnDef::new("nope", ColumnType::Text));
    let e = p.scan(&table, vec![], None).unwrap_err();
    assert!(
        e.detail.as_deref().unwrap_or("").starts_with("provider said: INVALID_FIELD: No such column 'nope'"),
        "{e:?}"
    );
    assert!(e.hint.unwrap().contains("IMPORT FOREIGN SCHEMA"));
    let mut table = accounts();
    table.options.insert("object".into(), "Nope__c".into());
    let e = p.scan(&table, vec![], None).unwrap_err();
    assert!(e.detail.unwrap().contains("INVALID_TYPE"));
    assert!(e.hint.unwrap().contains("option object"));
    let exhausted = Provider::start("salesforce", "/salesforce/exhausted", &[], &[("token", mockapi::TEST_TOKEN)]);
    let e = exhausted.scan(&accounts(), vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LimitExceeded);
    let e = Provider::start("salesforce", "/salesforce", &[], &[("token", "wrong")]).scan(&accounts(), vec![], None);
    assert_eq!(e.unwrap_err().kind, ErrorKind::Authorization);
}

/// A server with `auth 'oauth2'` and no `base_url`: the API host is the `instance_url` of Salesforce's token
/// response, and the token goes to that host only.
#[test]
fn without_base_url_the_token_response_names_the_instance() {
    use connector_core::connectors::{self, http_client, oauth_config, validate_server, ServerDef};
    use connector_core::credentials::KeyFile;
    use connector_core::http::OAuth;
    use connector_core::model::ScanRequest;
    use connector_core::oauth_tokens::{MappingTokens, TokenFile};
    use connector_core::scan::PageToken;
    use std::sync::Arc;

    let mock = mockapi::MockServer::start_blocking();
    let token_url = format!("{}/salesforce/services/oauth2/token", mock.url());
    let options = [("connector", "salesforce"), ("auth", "oauth2"), ("token_url", token_url.as_str())];
    let server = ServerDef { name: "sf".into(), options: map(&options) };
    validate_server(&server).unwrap();
    // Without OAuth there is no token response to name the instance: base_url stays required.
    let bearer = ServerDef { name: "sf".into(), options: map(&[("connector", "salesforce")]) };
    assert_eq!(validate_server(&bearer).unwrap_err().kind, ErrorKind::MissingOption);

    let user = map(&[("client_id", "mock-client"), ("client_secret", "mock-secret")]);
    let dir = std::env::temp_dir().join(format!("cfdw-sf-instance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keys = Arc::new(KeyFile::new(dir.join("key")));
    let tokens = MappingTokens::new(oauth_config(&server, &user).unwrap(), None, TokenFile::new(dir.join("t"), keys));
    let http = http_client(&server, &user, Some(OAuth(Arc::new(tokens)))).unwrap();

    let connector = connectors::for_server(&server).unwrap();
    let table = connector.open(&server, &accounts()).unwrap();
    let quals = vec![qual("name", Op::Eq, V::Text("Acme".into()))];
    let request = ScanRequest { columns: vec![0, 1], quals, sorts: vec![], limit: None };
    assert_eq!(
        table.describe(&request),
        ["GET <instance_url>/services/data/v60.0/query?q=SELECT id, name FROM Account WHERE name = 'Acme'"]
    );
    let page = block(table.scan(&request).unwrap().fetch(&http, PageToken::First, &counters())).unwrap();
    assert_eq!(page.records.len(), 2, "Acme and ACME");
    let requests = mock.requests();
    let query = requests.iter().find(|r| r.path.ends_with("/query")).unwrap();
    assert_eq!(query.path, "/salesforce/services/data/v60.0/query", "under the instance the token response named");
    assert!(query.header("authorization").is_some_and(|h| h.starts_with("Bearer ")));
    std::fs::remove_dir_all(&dir).ok();
}
