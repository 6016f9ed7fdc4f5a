//! The shipped `benchling` definition against mockapi's Benchling (`/benchling/api/v2/…`): `nextToken`
//! paging that stops at an empty token, `modifiedAt`/`createdAt` ranges written in Benchling's
//! `> time AND < time` language, assay lists that need a schema, HTTP Basic with the API key as the user,
//! a 429 retried, and Benchling's error bodies.

mod common;

use common::*;
use connector_core::convert::Cell;
use connector_core::model::Op;
use connector_core::pushdown::Placement;
use connector_core::ErrorKind;

fn benchling_on(prefix: &str, options: &[(&str, &str)]) -> Provider {
    Provider::start("benchling", prefix, options, &[("user", mockapi::TEST_TOKEN), ("password", "")])
}

fn benchling() -> Provider {
    benchling_on("/benchling", &[])
}

#[test]
fn custom_entities_page_with_next_token_until_it_is_empty() {
    let p = benchling();
    let table = p.imported("custom_entities", &[("page_size", "2")]);
    let rows = p.scan(&table, vec![], None).unwrap();
    // Entity 6 is archived: Benchling lists unarchived entities unless archiveReason says otherwise.
    let ids = texts(column(&table, &rows, "id"));
    assert_eq!(ids, ["bfi_Ent00001", "bfi_Ent00002", "bfi_Ent00003", "bfi_Ent00004", "bfi_Ent00005", "bfi_Ent00007"]);
    let requests = p.requests();
    assert_eq!(requests.len(), 3, "three pages, none after the empty nextToken: {:?}", p.sent());
    assert!(requests.iter().all(|r| r.path == "/benchling/api/v2/custom-entities"));
    assert_eq!(requests[0].query, "pageSize=2");
    assert!(requests[1].param("nextToken").is_some_and(|t| !t.is_empty()));
    assert_ne!(requests[1].param("nextToken"), requests[2].param("nextToken"));
    // The API key is the Basic user, with an empty password.
    assert!(requests.iter().all(|r| r.header("authorization") == Some("Basic dGVzdC10b2tlbjo=")));
    // Columns: nested members, jsonb fields and timestamps.
    let first = &rows[0];
    let cell = |name: &str| first[table.columns.iter().position(|c| c.name == name).unwrap()].clone();
    assert_eq!(cell("schema_id"), Cell::Text("ts_Strain001".into()));
    assert_eq!(cell("entity_registry_id"), Cell::Text("STR001".into()));
    assert_eq!(cell("creator_id"), Cell::Text("ent_User0002".into()));
    assert_eq!(cell("archive_reason"), Cell::Null);
    match cell("fields") {
        Cell::Jsonb(fields) => assert_eq!(fields["Host Organism"]["value"], "S. cerevisiae"),
        other => panic!("fields: {other:?}"),
    }
    match cell("custom_fields") {
        Cell::Jsonb(fields) => assert_eq!(fields["Legacy ID"]["value"], "STR001"),
        other => panic!("custom_fields: {other:?}"),
    }
    // The table's query can ask for archived entities too.
    p.mock.reset();
    let all = p.imported("custom_entities", &[("query", "archiveReason=ANY_ARCHIVED_OR_NOT_ARCHIVED")]);
    let rows = p.scan(&all, vec![], None).unwrap();
    assert_eq!(rows.len(), 7);
    assert_eq!(column(&all, &rows, "archive_reason")[5], Cell::Text("Retired".into()));
}

#[test]
fn modified_at_ranges_are_written_in_benchlings_range_language() {
    let p = benchling();
    let table = p.imported("custom_entities", &[]);
    let quals = vec![
        qual("modified_at", Op::Gt, timestamptz("2024-01-03T09:00:00Z")),
        qual("modified_at", Op::Lt, timestamptz("2024-01-07T00:00:00Z")),
        eq("schema_id", "ts_Strain001"),
    ];
    assert_eq!(p.placements(&table, &quals), vec![Placement::Remote; 3]);
    let rows = p.scan(&table, quals, None).unwrap();
    // Strains modified after 2024-01-03T09:00 (entity 2, a cell line, was modified at that very time) and
    // before the 7th: 3 and 5.
    assert_eq!(texts(column(&table, &rows, "id")), ["bfi_Ent00003", "bfi_Ent00005"]);
    assert_eq!(
        p.sent(),
        ["GET /benchling/api/v2/custom-entities?modifiedAt=%3E+2024-01-03T09%3A00%3A00Z+AND+%3C+2024-01-07T00%3A00%3A00Z&schemaId=ts_Strain001&pageSize=100"]
    );
    // Benchling has no >= or <=: Postgres applies them.
    let table = p.imported("dna_sequences", &[]);
    let ge = [qual("modified_at", Op::Ge, timestamptz("2024-01-05T14:00:00Z"))];
    assert_eq!(p.placements(&table, &ge), vec![Placement::Local]);
    // createdAt alike, on DNA sequences.
    p.mock.reset();
    let rows = p.scan(&table, vec![qual("created_at", Op::Gt, timestamptz("2024-01-05T00:00:00Z"))], None).unwrap();
    assert_eq!(texts(column(&table, &rows, "name")), ["pPlasmid-3", "pPlasmid-4", "pPlasmid-5"]);
    assert_eq!(column(&table, &rows, "length")[0], Cell::Int(36));
    assert_eq!(p.requests()[0].param("createdAt").as_deref(), Some("> 2024-01-05T00:00:00Z"));
}

#[test]
fn assay_lists_need_a_schema_and_results_take_dotted_ranges() {
    let p = benchling();
    let runs = p.imported("assay_runs", &[]);
    let caps = p.open(&runs).capabilities();
    let required: Vec<&str> = caps.requirements().iter().map(|r| r.column.as_str()).collect();
    assert_eq!(required, ["schema_id"], "assay runs need WHERE schema_id = …");
    assert!(caps.requirements()[0].hint.as_deref().is_some_and(|h| h.contains("WHERE schema_id = 'assaysch_")));
    let rows = p.scan(&runs, vec![eq("schema_id", "assaysch_Elisa01")], None).unwrap();
    assert_eq!(texts(column(&runs, &rows, "validation_status")), ["VALID", "NOT_VALIDATED", "NOT_VALIDATED"]);
    assert_eq!(p.sent(), ["GET /benchling/api/v2/assay-runs?schemaId=assaysch_Elisa01&pageSize=100"]);

    p.mock.reset();
    let results = p.imported("assay_results", &[]);
    let quals = vec![
        eq("schema_id", "assaysch_Elisa01"),
        qual("modified_at", Op::Ge, timestamptz("2024-01-14T11:00:00Z")),
        qual("created_at", Op::Lt, timestamptz("2024-01-16T00:00:00Z")),
    ];
    assert_eq!(p.placements(&results, &quals), vec![Placement::Remote; 3]);
    let rows = p.scan(&results, quals, None).unwrap();
    assert_eq!(rows.len(), 3, "results 3, 4 and 5");
    assert_eq!(
        p.sent(),
        ["GET /benchling/api/v2/assay-results?schemaId=assaysch_Elisa01&modifiedAt.gte=2024-01-14T11%3A00%3A00Z&createdAt.lt=2024-01-16T00%3A00%3A00Z&pageSize=100"]
    );
}

#[test]
fn a_429_is_retried_after_benchlings_reset() {
    let p = benchling();
    let table = p.imported("entity_schemas", &[]);
    let expected = p.scan(&table, vec![], None).unwrap();
    assert_eq!(texts(column(&table, &expected, "name")), ["Strain", "Cell Line", "Plasmid"]);
    // The mock refuses the first request with Benchling's 429 and x-rate-limit-reset: 1 (no Retry-After).
    let throttled = benchling_on("/benchling/429/1", &[]);
    let rows = throttled.scan(&table, vec![], None).unwrap();
    assert_eq!(rows, expected);
    let log = throttled.requests();
    assert_eq!(log.len(), 2, "one refused request, one retry: {log:?}");
    assert_eq!((&log[0].path, &log[0].query), (&log[1].path, &log[1].query));
    assert!(log[1].at_ms - log[0].at_ms >= 1000.0, "x-rate-limit-reset was honoured");
    // Refused beyond max_retries: the error quotes Benchling's message.
    let refusing = benchling_on("/benchling/429/always", &[("max_retries", "0")]);
    let e = refusing.scan(&table, vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert_eq!(e.detail.as_deref(), Some("provider said: Rate limit exceeded."));
    let settings = connector_core::connectors::http_settings(&p.server, p.connector.as_ref()).unwrap();
    assert_eq!(settings.rate_limit, Some(2.0), "Benchling's documented 60 requests per 30 s");
}

#[test]
fn benchling_errors_keep_their_messages() {
    let wrong = Provider::start("benchling", "/benchling", &[], &[("user", "sk_wrong"), ("password", "")]);
    let table = wrong.imported("entity_schemas", &[]);
    let e = wrong.scan(&table, vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    assert!(e.detail.unwrap().starts_with("provider said: Invalid API key."));
    let p = benchling();
    let e = p.scan(&p.imported("custom_entities", &[("query", "colour=red")]), vec![], None).unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("provider said: Unknown parameter: colour"));
    // Without a base_url (the tenant's), a server is refused.
    let e = connector_core::connectors::validate_server(&connector_core::connectors::ServerDef {
        name: "b".into(),
        options: map(&[("connector", "benchling")]),
    })
    .unwrap_err();
    assert_eq!(e.message, "option \"base_url\" is required for a server of connector \"benchling\"");
}
