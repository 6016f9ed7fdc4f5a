//! The Google Sheets connector against the Sheets mock of crates/mockapi: the exact A1 ranges of scans
//! (header row, blocks of rows, a LIMIT's block), reads narrowed to the used columns by a required
//! column, header mapping, quoted sheet titles, sub-ranges, appends and cell updates, discovery, error
//! bodies and bad options.

mod common;

use common::*;
use connector_core::connectors::{http_client, validate_table, ServerDef};
use connector_core::convert::Cell;
use connector_core::http::Counters;
use connector_core::model::{ColumnDef, ColumnType, Limit, ScanRequest, TableDef, Value as V};
use connector_core::write::WriteOp;
use connector_core::ErrorKind;
use mockapi::MockServer;
use serde_json::json;
use std::sync::Arc;

/// A server on the Sheets mock, all requests through one client. The mock takes a bearer token; real servers
/// use auth 'oauth2' (the default).
fn start(token: &str) -> Provider {
    let options = [("auth", "bearer"), ("spreadsheet_id", "sheetMock1"), ("rate_limit", "100")];
    Provider::start("google_sheets", "/sheets/v4", &options, &[("token", token)]).keep_one_client()
}

/// The foreign table IMPORT FOREIGN SCHEMA creates for `name`, with the requests of the import forgotten.
fn imported(sheets: &Provider, name: &str, options: &[(&str, &str)]) -> TableDef {
    let table = sheets.imported(name, options);
    sheets.mock.reset();
    table
}

fn mockapi_decode(path: &str) -> String {
    percent_encoding::percent_decode_str(path).decode_utf8_lossy().into_owned()
}

/// `METHOD path?query`, percent-decoded, for reading A1 ranges.
fn sent(sheets: &Provider) -> Vec<String> {
    sheets
        .requests()
        .iter()
        .map(|r| {
            let query: Vec<String> = r.params().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{} {}?{}", r.method, mockapi_decode(&r.path), query.join("&"))
        })
        .collect()
}

const READ: &str = "majorDimension=ROWS&valueRenderOption=UNFORMATTED_VALUE&dateTimeRenderOption=FORMATTED_STRING";

#[test]
fn discovery_reads_sheets_and_their_header_rows() {
    let sheets = start(mockapi::TEST_TOKEN);
    let resources = sheets.resources();
    assert_eq!(
        sent(&sheets),
        vec![
            "GET /sheets/v4/spreadsheets/sheetMock1?fields=sheets.properties".to_string(),
            "GET /sheets/v4/spreadsheets/sheetMock1/values:batchGet?ranges='Orders'!1:2&ranges='Team''s notes'!1:2&ranges='Report'!1:2&valueRenderOption=UNFORMATTED_VALUE&dateTimeRenderOption=FORMATTED_STRING".to_string(),
        ]
    );
    assert_eq!(resources.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), vec!["orders", "team_s_notes", "report"]);
    let orders: Vec<(&str, &str, Option<&str>)> = resources[0]
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.sql_type.as_str(), c.options.get("header").map(String::as_str)))
        .collect();
    assert_eq!(
        orders,
        vec![
            ("row_number", "bigint", None),
            ("order_id", "numeric", Some("Order ID")),
            ("customer", "text", Some("Customer")),
            ("amount", "numeric", Some("Amount")),
            ("paid", "boolean", Some("Paid")),
            ("date", "text", Some("Date")),
        ]
    );
    assert_eq!(resources[1].table_options, map(&[("sheet", "Team's notes")]));
}

#[test]
fn scans_read_the_header_then_blocks_of_rows() {
    let sheets = start(mockapi::TEST_TOKEN);
    let table = imported(&sheets, "orders", &[]);
    let rows = sheets.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(
        sent(&sheets),
        vec![
            "GET /sheets/v4/spreadsheets/sheetMock1?fields=sheets.properties".to_string(),
            format!("GET /sheets/v4/spreadsheets/sheetMock1/values/'Orders'!A1:H1?{READ}"),
            format!("GET /sheets/v4/spreadsheets/sheetMock1/values/'Orders'!A2:E40?{READ}"),
        ]
    );
    assert_eq!(rows.len(), 30, "the empty row 12 is not a record");
    let cell = |i: usize, column: &str| rows[i][at(&table, column)].clone();
    assert_eq!(
        (cell(0, "row_number"), cell(0, "order_id"), cell(0, "customer")),
        (Cell::Int(2), Cell::Numeric("1001".into()), Cell::Text("Grace".into()))
    );
    assert_eq!((cell(0, "amount"), cell(6, "amount")), (Cell::Numeric("12.5".into()), Cell::Null));
    assert_eq!((cell(0, "paid"), cell(1, "paid")), (Cell::Bool(false), Cell::Bool(true)));
    assert_eq!(cell(0, "date"), Cell::Text("2024-02-02".into()));
    assert_eq!((cell(10, "row_number"), cell(10, "order_id")), (Cell::Int(13), Cell::Numeric("1011".into())));
    assert_eq!(cell(1, "customer"), Cell::Text("O'Neil".into()));

    // Smaller blocks: one request each, up to the sheet's last row.
    sheets.mock.reset();
    let small = TableDef { options: map(&[("sheet", "Orders"), ("page_size", "10")]), ..table.clone() };
    assert_eq!(sheets.scan_planned(&small, vec![], vec![], None).unwrap().len(), 30);
    let data: Vec<String> = sheets
        .sent()
        .into_iter()
        .skip(2)
        .map(|s| s.split('?').next().unwrap().rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(data, vec!["'Orders'!A2:E11", "'Orders'!A12:E21", "'Orders'!A22:E31", "'Orders'!A32:E40"]);

    // A LIMIT reads a block of that many rows.
    sheets.mock.reset();
    let rows = sheets.scan_planned(&table, vec![], vec![], Some(Limit { count: Some(3), offset: 0 })).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(sent(&sheets)[2], format!("GET /sheets/v4/spreadsheets/sheetMock1/values/'Orders'!A2:E4?{READ}"));
    assert_eq!(sent(&sheets).len(), 3);

    // EXPLAIN.
    let opened = sheets.connector.open(&sheets.server, &table).unwrap();
    let request = ScanRequest {
        columns: vec![0],
        quals: vec![],
        sorts: vec![],
        limit: Some(Limit { count: Some(5), offset: 0 }),
    };
    let url = sheets.mock.url();
    assert_eq!(
        opened.describe(&request),
        vec![
            format!("GET {url}/sheets/v4/spreadsheets/sheetMock1?fields=sheets.properties"),
            format!("GET {url}/sheets/v4/spreadsheets/sheetMock1/values/'Orders'!A1:…1"),
            format!("GET {url}/sheets/v4/spreadsheets/sheetMock1/values/'Orders'!A2:…6 (then blocks of 5 rows)"),
        ]
    );
}

#[test]
fn headers_titles_and_ranges_locate_the_data() {
    let sheets = start(mockapi::TEST_TOKEN);
    // Columns made by hand: headers matched exactly, else ignoring case, or named by option header.
    let table = TableDef {
        name: "notes".into(),
        options: map(&[("sheet", "Team's notes")]),
        columns: vec![
            ColumnDef::new("title", ColumnType::Text),
            ColumnDef::new("text", ColumnType::Text).with_option("header", "Body"),
        ],
    };
    let rows = sheets.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(
        rows,
        vec![
            vec![Cell::Text("Welcome".into()), Cell::Text("First note".into())],
            vec![Cell::Text("Plans".into()), Cell::Null]
        ]
    );
    assert_eq!(sent(&sheets)[1], format!("GET /sheets/v4/spreadsheets/sheetMock1/values/'Team''s notes'!A1:D1?{READ}"));
    // A range: the header in its first row, the columns under it.
    sheets.mock.reset();
    let report = TableDef {
        name: "report".into(),
        options: map(&[("sheet", "Report"), ("range", "B3:C")]),
        columns: vec![
            ColumnDef::new("row_number", ColumnType::Int4),
            ColumnDef::new("region", ColumnType::Text),
            ColumnDef::new("total", ColumnType::Numeric),
        ],
    };
    let rows = sheets.scan_planned(&report, vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2], vec![Cell::Int(6), Cell::Text("West".into()), Cell::Numeric("45.5".into())]);
    let sent = sent(&sheets);
    assert!(sent[1].contains("/values/'Report'!B3:C3?"), "{}", sent[1]);
    assert!(sent[2].contains("/values/'Report'!B4:C20?"), "{}", sent[2]);
    // Formatted values on request.
    sheets.mock.reset();
    let formatted = TableDef {
        options: map(&[("sheet", "Report"), ("range", "B3:C"), ("value_render", "FORMATTED_VALUE")]),
        ..report.clone()
    };
    assert_eq!(sheets.scan_planned(&formatted, vec![], vec![], None).unwrap()[0][2], Cell::Numeric("120".into()));
    assert_eq!(sheets.requests()[2].param("valueRenderOption").as_deref(), Some("FORMATTED_VALUE"));
    // A header that is not there.
    let missing = TableDef { columns: vec![ColumnDef::new("nope", ColumnType::Text)], ..table.clone() };
    let e = sheets.scan_planned(&missing, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(
        e.message,
        "column \"nope\" of foreign table \"notes\": sheet \"Team's notes\" has no header \"nope\" in row 1"
    );
    assert_eq!(e.hint.as_deref(), Some("Its headers are: Title, Body."));
}

#[test]
fn rows_are_appended_and_cells_updated() {
    let sheets = start(mockapi::TEST_TOKEN);
    let table = imported(&sheets, "orders", &[]);
    let writer = sheets.connector.open(&sheets.server, &table).unwrap().writer().unwrap();
    assert_eq!((writer.batch_size(), writer.key_column()), (500, "row_number"));
    assert_eq!(
        writer.describe(WriteOp::Insert),
        format!("POST {}/sheets/v4/spreadsheets/sheetMock1/values/'Orders'!…:append", sheets.mock.url())
    );
    let (http, counters, runtime) = (sheets.http(), Counters::default(), runtime());
    let record = |values: &[(&str, serde_json::Value)]| {
        connector_core::write::record(
            &table,
            &values.iter().map(|(c, v)| (at(&table, c), v.clone())).collect::<Vec<_>>(),
        )
        .unwrap()
    };
    let records = vec![
        record(&[
            ("order_id", json!(1031)),
            ("customer", json!("Zed")),
            ("amount", json!(10)),
            ("paid", json!(true)),
            ("date", json!("2024-03-01")),
        ]),
        record(&[("order_id", json!(1032)), ("customer", json!("Yan"))]),
    ];
    let answers = runtime.block_on(writer.insert(&http, records, &counters)).unwrap();
    assert_eq!(
        (&answers[0]["row_number"], &answers[1]["row_number"], &answers[1]["customer"]),
        (&json!(33), &json!(34), &json!("Yan"))
    );
    let log = sheets.requests();
    let append = log.last().unwrap();
    assert_eq!(mockapi_decode(&append.path), "/sheets/v4/spreadsheets/sheetMock1/values/'Orders'!A1:E1:append");
    assert_eq!(append.query, "valueInputOption=USER_ENTERED&insertDataOption=INSERT_ROWS");
    assert_eq!(
        append.body,
        Some(
            // Text of text columns is quoted so Sheets keeps it as text (the imported `date` is text).
            json!({"majorDimension": "ROWS", "values": [[1031, "'Zed", 10, true, "'2024-03-01"], [1032, "'Yan", "", "", ""]]})
        )
    );

    let before = sheets.requests().len();
    runtime.block_on(writer.update(&http, &V::Int(13), json!({"amount": 99, "customer": "Zoe"}), &counters)).unwrap();
    let update = &sheets.requests()[before];
    assert_eq!(update.path, "/sheets/v4/spreadsheets/sheetMock1/values:batchUpdate");
    assert_eq!(
        update.body,
        Some(
            json!({"valueInputOption": "USER_ENTERED", "data": [{"range": "'Orders'!C13:C13", "values": [[99]]}, {"range": "'Orders'!B13:B13", "values": [["'Zoe"]]}]})
        )
    );
    let rows = sheets.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 32);
    let row13 = rows.iter().find(|r| r[0] == Cell::Int(13)).unwrap();
    assert_eq!(
        (&row13[at(&table, "customer")], &row13[at(&table, "amount")]),
        (&Cell::Text("Zoe".into()), &Cell::Numeric("99".into()))
    );
    assert_eq!(rows[31][at(&table, "row_number")], Cell::Int(34));

    let e = runtime.block_on(writer.delete(&http, &V::Int(13), &counters)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotSupported);
    let e = runtime.block_on(writer.update(&http, &V::Int(1), json!({"amount": 1}), &counters)).unwrap_err();
    assert_eq!(e.message, "\"1\" is not a data row number of sheet \"Orders\"");
    let e = runtime.block_on(writer.update(&http, &V::Int(13), json!({"row_number": 14}), &counters)).unwrap_err();
    assert!(e.message.contains("is the row's number"), "{}", e.message);
}

#[test]
fn provider_errors_keep_their_messages() {
    let sheets = start(mockapi::TEST_TOKEN);
    let table = TableDef {
        name: "t".into(),
        options: map(&[("sheet", "Orders")]),
        columns: vec![ColumnDef::new("customer", ColumnType::Text)],
    };
    let wrong = start("wrong");
    let e = wrong.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    assert!(e.detail.unwrap().starts_with("provider said: Request is missing required authentication credential."));
    let other = TableDef { options: map(&[("sheet", "Orders"), ("spreadsheet_id", "nope")]), ..table.clone() };
    let e = sheets.scan_planned(&other, vec![], vec![], None).unwrap_err();
    assert_eq!(
        (e.kind, e.detail.as_deref()),
        (ErrorKind::NotFound, Some("provider said: Requested entity was not found."))
    );
    let no_sheet = TableDef { options: map(&[("sheet", "Sales")]), ..table.clone() };
    let e = sheets.scan_planned(&no_sheet, vec![], vec![], None).unwrap_err();
    assert_eq!(e.message, "spreadsheet sheetMock1 has no sheet \"Sales\" (foreign table \"t\")");
    assert_eq!(e.hint.as_deref(), Some("Its sheets are: Orders, Team's notes, Report."));
}

#[test]
fn options_are_checked() {
    let sheets = start(mockapi::TEST_TOKEN);
    let check = |options: &[(&str, &str)], column: ColumnDef| {
        validate_table(&sheets.server, &TableDef { name: "t".into(), options: map(options), columns: vec![column] })
            .unwrap_err()
            .message
    };
    let c = || ColumnDef::new("c", ColumnType::Text);
    assert_eq!(check(&[], c()), "option \"sheet\" is required for a foreign table of connector \"google_sheets\"");
    assert!(check(&[("sheet", "S"), ("range", "C3:A")], c()).starts_with("invalid value for option \"range\""));
    assert!(check(&[("sheet", "S"), ("value_render", "RAW")], c()).contains("value_render"));
    assert_eq!(
        check(&[("sheet", "S")], ColumnDef::new("c", ColumnType::Text).with_option("path", "$.c")),
        "column \"c\": option \"path\" does not apply to connector \"google_sheets\""
    );
    let mut no_id = sheets.server.clone();
    no_id.options.remove("spreadsheet_id");
    let e = validate_table(&no_id, &TableDef { name: "t".into(), options: map(&[("sheet", "S")]), columns: vec![c()] })
        .unwrap_err();
    assert!(e.message.contains("\"spreadsheet_id\" is required"), "{}", e.message);
    // Nothing is filtered or sorted remotely.
    let caps = sheets
        .connector
        .open(&sheets.server, &TableDef { name: "t".into(), options: map(&[("sheet", "S")]), columns: vec![c()] })
        .unwrap()
        .capabilities();
    assert_eq!(caps.declared_filters().count(), 0);
    assert!(caps.supports_limit());
    // Google's OAuth endpoints are the defaults.
    let defaults = sheets.connector.defaults();
    assert_eq!(
        (defaults.auth, defaults.options.get("token_url").map(String::as_str)),
        ("oauth2", Some("https://oauth2.googleapis.com/token"))
    );
}

/// A throwaway RSA key made for this test (openssl genpkey -algorithm RSA), in a service account's JSON key.
const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCw0MIaPb1Vatik\nNItVp2RjNCTv0+cWbloZARiTVYMVbUo1hUPmYJ5RS3z4s1K1dQ7U50QPLuYnHx2B\nCZMsDbDTx8csivJNh1fVXs5RUTfLfW6k1q9n5uIgegXCCs+ZGLUfdwHY/DQ97eMX\ncS8PVarjckQKkVitVL7P2bg12NhJWu03PCzyRsxJXeUV1e4TiV/quCtApKFVl9es\n1l3AEut0foXSxuGKOtgCr8cqP4xL8Q+4IEDag2c9OwAwfAOT/b9nS6g0nD+KQTEl\nkqWx/9Yo3ig6o6MEologn37oTD+NhgaSm5TBmdrw91eLebgH5tKCr9xtBNFegFYK\nhX60fKU3AgMBAAECggEAUpSFez0HnwvCd9qkktIV1DFn6Oz2mmbaxJ/a6wD+snSz\nOpDtt/y7JGvVx8/02pP749rJUjAMxQvGu1wN9P7F7ft53idc6HHER366bIc6wFrq\nYKl2DdhrF1D2PHzRHYdJHJN39PBBtATVUb8GhCp2IDlfZvIgUP/qCGh+nQOUbJl2\nnQ40mwsLGi9cF9DUkQbeSIl6CVvYbinnip6Iqn9OPzOzHJfeXok21lfe7CkMdB6U\nEaIVSufP9a8ECh3HxLZ4ToBtRfuNTptCjAPzl+euCV6GWKntimfPyJ2VzEN0G6Ey\nOrehnl/XrJ/JGrXZfVWUKV897WmviwiUbLNZbYd7ZQKBgQD2ZTfOunHeF3ASrp4c\n5T8Sd4TiX+8C021Pio1rE45x9t+IJnkXtn/MFA/B9DASCQwNms5U5QmjGyHQt5CM\nPaWxWGBkZvhcefz1sD0qbROJQ+px9e4wgVVBjbb0srkJ2t4zycMmxyxc6ynEvnWq\n9lAcOmUveOCB0ebxrSluDrXCOwKBgQC3tTOUaJYuPxbuaFS/g4M6NtzMoM/VLowf\nLHEofnV45ZYbJf/5EfbTv6HHWD473NLmOEiEch5sWRK367AWz97daT6xzaRCywKs\nFNvX4a5wVtkklouRkII3ZQjcsXj+rkqWDWZKrNAf9wMdqci/I3P3Ena7ps1GPRST\ntp984yRdNQKBgCo1nsDYacdNJpLcvRNgJlToiqgpHQ3T4Gb+6kkMmZtmWla9mIL6\nbZwtV6G3TkDYsermuTAL6IG7lShnOej8apUd+a1ZgnR9JVuFbIUHGJCsRM5u/fXr\nQgqv10bGEzLf/q7KgpbzCeOFGautoQS/m2uqiUj/oR48Mh72tiE3feWfAoGAZrHo\n76G3soqaKxQvrA+8oCJjNBEBnc6zjgmuCFEJIlhVnT+U5ItiS+TobyOpRpWfYAs+\nnquczjzM9fvPKDF0CJn47jRjCuOpzsCqVPhYJ3ylTorJ4snBwW29koGzfcu47kD3\nWe9ZOUVAfKiZDCCphwjPTv9j6Uvj4N9KMOpZPbECgYEAtM6I2NTQ9odGZwESoAHK\nhgbemBRKUVjwXQXV3lipGnCtsy8a1S5nafGULSIn8DUcIQgl7+QW+27WZxvOXTht\nbDmYnrgHvnvaj21EToA51HVQGYBVaWeHQmfbC+Yhlj5yJvAewQYaEs0zKwgJbTJI\nmAm5cAW8hvw6s9ZuWZH5VKI=\n-----END PRIVATE KEY-----";

fn key_json(email: &str, token_uri: &str) -> String {
    json!({
        "type": "service_account", "project_id": "mock", "private_key_id": "k1", "private_key": TEST_KEY,
        "client_email": email, "client_id": "1", "token_uri": token_uri
    })
    .to_string()
}

#[test]
fn service_accounts_sign_a_jwt_for_their_token() {
    use base64::Engine as _;
    let mock = MockServer::start_blocking();
    let base_url = format!("{}/sheets/v4", mock.url());
    let token_uri = format!("{}/sheets/oauth2/token", mock.url());
    let server = ServerDef {
        name: "sheets".into(),
        options: map(&[
            ("connector", "google_sheets"),
            ("base_url", &base_url),
            ("auth", "service_account"),
            ("spreadsheet_id", "sheetMock1"),
            ("rate_limit", "100"),
        ]),
    };
    let user = map(&[("service_account_key", &key_json("fdw@mock.iam.gserviceaccount.com", &token_uri))]);
    let sheets = Provider::with(mock, server.clone(), user).keep_one_client();
    let table = TableDef {
        name: "t".into(),
        options: map(&[("sheet", "Orders")]),
        columns: vec![ColumnDef::new("customer", ColumnType::Text)],
    };
    assert_eq!(sheets.scan_planned(&table, vec![], vec![], None).unwrap().len(), 30);
    assert_eq!(sheets.scan_planned(&table, vec![], vec![], None).unwrap().len(), 30);
    let log = sheets.requests();
    // One token for every request while it is valid.
    assert_eq!(log.iter().filter(|r| r.path == "/sheets/oauth2/token").count(), 1);
    assert_eq!(log[0].path, "/sheets/oauth2/token");
    assert!(log[1..].iter().all(|r| r.header("authorization") == Some("Bearer test-token")));
    // The assertion: RS256 over header and claims, with the key's id, the account, this endpoint, the scope.
    let form = log[0].body.clone().unwrap();
    assert_eq!(form["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    let assertion = form["assertion"].as_str().unwrap();
    let parts: Vec<&str> = assertion.split('.').collect();
    let decode = |p: &str| -> serde_json::Value {
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
    };
    assert_eq!(decode(parts[0]), json!({"alg": "RS256", "typ": "JWT", "kid": "k1"}));
    let claims = decode(parts[1]);
    assert_eq!(
        (claims["iss"].as_str(), claims["aud"].as_str()),
        (Some("fdw@mock.iam.gserviceaccount.com"), Some(token_uri.as_str()))
    );
    assert_eq!(claims["scope"], "https://www.googleapis.com/auth/spreadsheets");
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 3600);
    let key =
        connector_core::service_account::ServiceAccountKey::parse(&key_json("x@y.iam.gserviceaccount.com", &token_uri))
            .unwrap();
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        key.public_key().unwrap(),
    );
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    public
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("the signature verifies with the key's public half");
    assert!(public.verify(format!("{}.{}x", parts[0], parts[1]).as_bytes(), &signature).is_err());

    // A refused assertion is an authorization error with the endpoint's words; a bad key never shows itself.
    let refused = map(&[("service_account_key", &key_json("fdw@example.com", &token_uri))]);
    // The same mock: credentials (and so the token) go only to the server's origin.
    let e = Provider { kept: Some(Arc::new(http_client(&server, &refused, None).unwrap())), ..sheets }.scan_planned(
        &table,
        vec![],
        vec![],
        None,
    );
    let e = e.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    assert_eq!(e.detail.as_deref(), Some("token endpoint said: Invalid JWT Signature."));
    let broken = key_json("fdw@mock.iam.gserviceaccount.com", &token_uri).replace("MII", "XII");
    let e = http_client(&server, &map(&[("service_account_key", &broken)]), None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    assert!(
        e.message.starts_with(
            "the user mapping's option \"service_account_key\" is not a usable service account key: its private_key is not an RSA key"
        ),
        "{}",
        e.message
    );
    assert!(!e.message.contains("MII") && !e.message.contains("XII"), "{}", e.message);
    let e = http_client(&server, &map(&[("token", "t")]), None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    assert!(e.hint.unwrap().contains("service_account_key"));
}

/// A hostile token endpoint that answers 200 with a body that never ends: the scan fails with a clear limit
/// error instead of holding it all.
#[test]
fn an_endless_token_response_is_cut_off() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let token_uri = format!("http://{}/token", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut socket in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = socket.read(&mut [0u8; 8192]);
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                let chunk = format!("{:x}\r\n{}\r\n", 65536, " ".repeat(65536));
                let _ = socket.write_all(head.as_bytes());
                // Until the client hangs up.
                while socket.write_all(chunk.as_bytes()).is_ok() {}
            });
        }
    });
    let mock = MockServer::start_blocking();
    let server = ServerDef {
        name: "sheets".into(),
        options: map(&[
            ("connector", "google_sheets"),
            ("base_url", &format!("{}/sheets/v4", mock.url())),
            ("auth", "service_account"),
            ("spreadsheet_id", "sheetMock1"),
        ]),
    };
    let user = map(&[("service_account_key", &key_json("fdw@mock.iam.gserviceaccount.com", &token_uri))]);
    let sheets = Provider::with(mock, server.clone(), user).keep_one_client();
    let table = TableDef {
        name: "t".into(),
        options: map(&[("sheet", "Orders")]),
        columns: vec![ColumnDef::new("customer", ColumnType::Text)],
    };
    let e = sheets.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LimitExceeded, "{e}");
    assert!(e.message.contains("token response is larger than 1048576 bytes"), "{e}");
}

fn orders_table() -> TableDef {
    TableDef {
        name: "orders".into(),
        options: map(&[("sheet", "Orders")]),
        columns: vec![
            ColumnDef::new("row_number", ColumnType::Int8),
            ColumnDef::new("customer", ColumnType::Text).with_option("header", "Customer"),
        ],
    }
}

#[test]
fn a_429_is_retried_after_its_retry_after() {
    let sheets = start(mockapi::TEST_TOKEN);
    let expected = sheets.scan_planned(&orders_table(), vec![], vec![], None).unwrap();
    assert_eq!(expected.len(), 30);
    let sheets = start(mockapi::TEST_TOKEN);
    let url = format!("{}/sheets/429/1/v4", sheets.mock.url());
    let sheets = sheets.with_options(&[("base_url", &url)]);
    assert_eq!(sheets.scan_planned(&orders_table(), vec![], vec![], None).unwrap(), expected);
    // Metadata, header and rows: each refused once, then sent again after Retry-After.
    let log = sheets.requests();
    assert_eq!(log.len(), 6, "{log:?}");
    for pair in log.chunks(2) {
        assert_eq!((&pair[0].path, &pair[0].query), (&pair[1].path, &pair[1].query));
        assert!(
            pair[1].at_ms - pair[0].at_ms >= 1000.0,
            "Retry-After: 1 was honoured: {} ms",
            pair[1].at_ms - pair[0].at_ms
        );
    }

    let sheets = start(mockapi::TEST_TOKEN);
    let url = format!("{}/sheets/429/always/v4", sheets.mock.url());
    let sheets = sheets.with_options(&[("base_url", &url), ("max_retries", "1")]);
    let e = sheets.scan_planned(&orders_table(), vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert!(e.message.ends_with("failed after 1 retry: HTTP 429 Too Many Requests"), "{}", e.message);
    assert_eq!(
        e.detail.as_deref(),
        Some("provider said: Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'sheets.googleapis.com' for consumer 'project_number:1234567890'.")
    );
    let log = sheets.requests();
    assert_eq!(log.len(), 2);
    assert!(log[1].at_ms - log[0].at_ms >= 1000.0);
}

#[test]
fn bad_ids_and_headers_are_named() {
    let sheets = start(mockapi::TEST_TOKEN);
    // An unknown spreadsheet: Google's message, a hint naming the id.
    let mut table = orders_table();
    table.options.insert("spreadsheet_id".into(), "sheetNope".into());
    let e = sheets.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(
        (e.kind, e.detail.as_deref()),
        (ErrorKind::NotFound, Some("provider said: Requested entity was not found."))
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("Spreadsheet \"sheetNope\" (option spreadsheet_id of foreign table \"orders\" or its server) does not exist or is not shared with this account.")
    );
    let mut other = sheets.server.clone();
    other.options.insert("spreadsheet_id".into(), "sheetNope".into());
    let e = runtime().block_on(sheets.connector.resources(&other, &sheets.http())).unwrap_err();
    assert_eq!(
        e.hint.as_deref(),
        Some("Spreadsheet \"sheetNope\" (server option spreadsheet_id) does not exist or is not shared with this account.")
    );
    let odd = |sheet: &str, header: &str| TableDef {
        name: "t".into(),
        options: map(&[("sheet", sheet), ("spreadsheet_id", "sheetMockOdd")]),
        columns: vec![ColumnDef::new("c", ColumnType::Text).with_option("header", header)],
    };
    // No header row.
    let e = sheets.scan_planned(&odd("No header", "Name"), vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.message, "sheet \"No header\" has no header row: A1:C1 is empty (foreign table \"t\")");
    assert_eq!(
        e.hint.as_deref(),
        Some("Put the column names in that row, or set the table option range to where the header lies (for example 'B3:F').")
    );
    // The same header twice: which one a column reads is not guessed.
    let e = sheets.scan_planned(&odd("Twins", "amount"), vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidValue);
    assert_eq!(
        e.message,
        "column \"c\" of foreign table \"t\": sheet \"Twins\" has the header \"amount\" 2 times in row 1 (C1, E1)"
    );
    assert!(e.hint.unwrap().starts_with("Rename all but one of them in the sheet"));
    assert_eq!(
        sheets.scan_planned(&odd("Twins", "Region"), vec![], vec![], None).unwrap(),
        vec![vec![Cell::Text("North".into())]]
    );
    // A range leaving one of them out settles it.
    let mut twins = odd("Twins", "Amount");
    twins.options.insert("range".into(), "A1:D".into());
    assert_eq!(sheets.scan_planned(&twins, vec![], vec![], None).unwrap(), vec![vec![Cell::Text("1".into())]]);
    // An empty header: named by its cell when a column is not found.
    let e = sheets.scan_planned(&odd("Gaps", "Notes"), vec![], vec![], None).unwrap_err();
    assert_eq!(e.message, "column \"c\" of foreign table \"t\": sheet \"Gaps\" has no header \"Notes\" in row 1");
    assert_eq!(
        e.hint.as_deref(),
        Some("Its headers are: Name, Amount. B1 is empty: name the column in the sheet to read it.")
    );
}

/// Sheet `Contacts` of the odd spreadsheet: rows 2–8, rows 4 (a note), 5 (empty) and 6 without an email.
fn contacts(options: &[(&str, &str)]) -> TableDef {
    let mut table_options = map(&[("sheet", "Contacts"), ("spreadsheet_id", "sheetMockOdd")]);
    table_options.extend(map(options));
    TableDef {
        name: "contacts".into(),
        options: table_options,
        columns: ["row_number", "name", "phone", "email", "city"]
            .iter()
            .map(|&c| ColumnDef::new(c, if c == "row_number" { ColumnType::Int8 } else { ColumnType::Text }))
            .collect(),
    }
}

/// The A1 ranges of each data request (after the metadata and the header row).
fn data_ranges(sheets: &Provider) -> Vec<Vec<String>> {
    sheets.requests()[2..]
        .iter()
        .map(|r| r.params().into_iter().filter(|(k, _)| k == "ranges").map(|(_, v)| v).collect())
        .collect()
}

#[test]
fn a_required_column_narrows_reads_to_the_used_columns() {
    let sheets = start(mockapi::TEST_TOKEN);
    const BY_COLUMNS: &str =
        "majorDimension=COLUMNS&valueRenderOption=UNFORMATTED_VALUE&dateTimeRenderOption=FORMATTED_STRING";
    let batch_get = "GET /sheets/v4/spreadsheets/sheetMockOdd/values:batchGet";

    // By default every row is read across all header columns, whichever columns the query uses, and
    // only the entirely empty row 5 is left out.
    let table = contacts(&[]);
    let everything = sheets.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(
        sent(&sheets),
        vec![
            "GET /sheets/v4/spreadsheets/sheetMockOdd?fields=sheets.properties".to_string(),
            format!("GET /sheets/v4/spreadsheets/sheetMockOdd/values/'Contacts'!A1:E1?{READ}"),
            format!("GET /sheets/v4/spreadsheets/sheetMockOdd/values/'Contacts'!A2:D10?{READ}"),
        ]
    );
    assert_eq!(everything.iter().map(|r| r[0].clone()).collect::<Vec<_>>(), [2, 3, 4, 6, 7, 8].map(Cell::Int).to_vec());
    sheets.mock.reset();
    assert_eq!(
        sheets.scan_planned_columns(&table, &["name"], vec![], vec![], None).unwrap(),
        vec![
            vec![text_cell("Ada")],
            vec![text_cell("Grace")],
            vec![text_cell("Prices as of March")],
            vec![text_cell("Linus")],
            vec![Cell::Null],
            vec![text_cell("Margaret")]
        ]
    );
    assert_eq!(sent(&sheets)[2], format!("GET /sheets/v4/spreadsheets/sheetMockOdd/values/'Contacts'!A2:D10?{READ}"));

    // With required_column: the name and email columns only, in one request; a row is a record when
    // its email is filled, even with its name empty (row 7).
    let keyed = contacts(&[("required_column", "email")]);
    sheets.mock.reset();
    let names = sheets.scan_planned_columns(&keyed, &["row_number", "name"], vec![], vec![], None).unwrap();
    assert_eq!(
        sent(&sheets)[2..],
        [format!("{batch_get}?ranges='Contacts'!A2:A10&ranges='Contacts'!C2:C10&{BY_COLUMNS}")]
    );
    assert_eq!(
        names,
        vec![
            vec![Cell::Int(2), text_cell("Ada")],
            vec![Cell::Int(3), text_cell("Grace")],
            vec![Cell::Int(7), Cell::Null],
            vec![Cell::Int(8), text_cell("Margaret")]
        ]
    );
    // Every column: the same records as the unnarrowed read's rows that have an email.
    sheets.mock.reset();
    let with_email: Vec<Vec<Cell>> =
        everything.iter().filter(|r| r[at(&table, "email")] != Cell::Null).cloned().collect();
    assert_eq!(sheets.scan_planned(&keyed, vec![], vec![], None).unwrap(), with_email);
    assert_eq!(data_ranges(&sheets), vec![vec!["'Contacts'!A2:D10"]]);
    // Adjacent columns share a range; count(*) reads the required column alone.
    sheets.mock.reset();
    assert_eq!(sheets.scan_planned_columns(&keyed, &["phone", "name"], vec![], vec![], None).unwrap().len(), 4);
    assert_eq!(data_ranges(&sheets), vec![vec!["'Contacts'!A2:C10"]]);
    sheets.mock.reset();
    assert_eq!(sheets.scan_planned_columns(&keyed, &[], vec![], vec![], None).unwrap(), vec![Vec::<Cell>::new(); 4]);
    assert_eq!(data_ranges(&sheets), vec![vec!["'Contacts'!C2:C10"]]);

    // Blocks keep their rows: row_number stays right across them.
    sheets.mock.reset();
    let paged = contacts(&[("required_column", "email"), ("page_size", "3")]);
    let rows = sheets.scan_planned_columns(&paged, &["row_number", "city"], vec![], vec![], None).unwrap();
    assert_eq!(
        rows,
        vec![
            vec![Cell::Int(2), text_cell("London")],
            vec![Cell::Int(3), Cell::Null],
            vec![Cell::Int(7), Cell::Null],
            vec![Cell::Int(8), text_cell("Boston")]
        ]
    );
    assert_eq!(
        data_ranges(&sheets),
        vec![vec!["'Contacts'!C2:D4"], vec!["'Contacts'!C5:D7"], vec!["'Contacts'!C8:D10"]]
    );
    // A LIMIT: one data request of that many rows.
    sheets.mock.reset();
    assert_eq!(
        sheets
            .scan_planned_columns(&keyed, &["name"], vec![], vec![], Some(Limit { count: Some(1), offset: 0 }))
            .unwrap(),
        vec![vec![text_cell("Ada")]]
    );
    assert_eq!(sent(&sheets).len(), 3);
    assert_eq!(data_ranges(&sheets), vec![vec!["'Contacts'!A2:A2", "'Contacts'!C2:C2"]]);

    // EXPLAIN names the columns read.
    let opened = sheets.connector.open(&sheets.server, &keyed).unwrap();
    let request = ScanRequest {
        columns: vec![1],
        quals: vec![],
        sorts: vec![],
        limit: Some(Limit { count: Some(5), offset: 0 }),
    };
    assert_eq!(
        opened.describe(&request)[2],
        format!(
            "GET {}/sheets/v4/spreadsheets/sheetMockOdd/values:batchGet?majorDimension=COLUMNS (rows 2:6 of the columns of name, email; then blocks of 5 rows)",
            sheets.mock.url()
        )
    );
}

#[test]
fn a_required_column_must_be_a_column_of_cells() {
    let sheets = start(mockapi::TEST_TOKEN);
    let hint = "Name the column whose cell every record fills, such as an id or an email; the columns are: name, phone, email, city.";
    // The option names a column of the table, not a header.
    let e = sheets.scan_planned(&contacts(&[("required_column", "Email")]), vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidOptionValue);
    assert_eq!(
        e.message,
        "invalid value for option \"required_column\": foreign table \"contacts\" has no column \"Email\""
    );
    assert_eq!(e.hint.as_deref(), Some(hint));
    let e = sheets.scan_planned(&contacts(&[("required_column", "row_number")]), vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidOptionValue);
    assert_eq!(
        e.message,
        "invalid value for option \"required_column\": column \"row_number\" of foreign table \"contacts\" is the row's number, never empty"
    );
    assert_eq!(e.hint.as_deref(), Some(hint));
    assert!(sheets.requests().is_empty(), "refused before any request");
}
