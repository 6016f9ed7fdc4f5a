//! The shipped `stripe` definition against mockapi's Stripe (`/stripe/v1/…`): cursor paging with
//! `starting_after`, pushed equality filters and `created` ranges in Unix seconds, `WHERE id = …` as one
//! retrieve, form-encoded writes with an Idempotency-Key, and Stripe's error bodies.

mod common;

use common::*;
use connector_core::connectors::{validate_server, validate_table, ServerDef};
use connector_core::convert::Cell;
use connector_core::model::{Op, Value as V};
use connector_core::pushdown::Placement;
use connector_core::ErrorKind;
use serde_json::json;

fn stripe() -> Provider {
    Provider::start("stripe", "/stripe", &[], &[("api_key", mockapi::STRIPE_KEY)])
}

#[test]
fn customers_page_with_starting_after_the_last_id() {
    let p = stripe();
    let table = p.imported("customers", &[("page_size", "5")]);
    let rows = p.scan(&table, vec![], None).unwrap();
    assert_eq!(rows.len(), 12);
    assert_eq!(
        p.sent(),
        vec![
            "GET /stripe/v1/customers?limit=5",
            "GET /stripe/v1/customers?limit=5&starting_after=cus_0008",
            "GET /stripe/v1/customers?limit=5&starting_after=cus_0003",
        ]
    );
    let first = &p.requests()[0];
    assert_eq!(first.header("authorization"), Some("Bearer sk_test_mock"));
    assert_eq!(first.header("stripe-version"), Some("2024-06-20"));
    let ids = texts(column(&table, &rows, "id"));
    assert_eq!((ids[0].as_str(), ids[11].as_str()), ("cus_0012", "cus_0001"), "newest first");
    // `created` is Unix seconds; the column is a timestamptz.
    assert!(matches!(column(&table, &rows, "created")[0], Cell::Timestamp(_)));
    // A pushed LIMIT shrinks the only page.
    p.mock.reset();
    assert_eq!(p.scan(&table, vec![], limit(2)).unwrap().len(), 2);
    assert_eq!(p.sent(), vec!["GET /stripe/v1/customers?limit=2"]);
}

#[test]
fn the_api_version_is_a_server_option() {
    let p =
        Provider::start("stripe", "/stripe", &[("stripe_version", "2023-10-16")], &[("api_key", mockapi::STRIPE_KEY)]);
    let table = p.imported("customers", &[]);
    p.scan(&table, vec![], limit(1)).unwrap();
    let version =
        |p: &Provider| p.requests().iter().map(|r| r.header("stripe-version").map(str::to_string)).collect::<Vec<_>>();
    assert_eq!(version(&p), vec![Some("2023-10-16".to_string())]);
    // A named version (Stripe's newer form) is accepted too; the default is the one the columns follow.
    let named = Provider::start(
        "stripe",
        "/stripe",
        &[("stripe_version", "2024-09-30.acacia")],
        &[("api_key", mockapi::STRIPE_KEY)],
    );
    named.scan(&named.imported("customers", &[]), vec![], limit(1)).unwrap();
    assert_eq!(version(&named), vec![Some("2024-09-30.acacia".to_string())]);
    let default = stripe();
    default.scan(&default.imported("customers", &[]), vec![], limit(1)).unwrap();
    assert_eq!(version(&default), vec![Some("2024-06-20".to_string())]);
    // CREATE SERVER refuses a value of another form, and an unknown option with the list of valid ones.
    let server =
        |option: (&str, &str)| ServerDef { name: "s".into(), options: map(&[("connector", "stripe"), option]) };
    let e = validate_server(&server(("stripe_version", "June 2024"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidOptionValue);
    assert_eq!(e.message, "invalid value for option \"stripe_version\": \"June 2024\" does not match the pattern [0-9]{4}-[0-9]{2}-[0-9]{2}(\\.[a-z]+)?");
    let e = validate_server(&server(("stripe_verison", "2023-10-16"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidOptionName);
    let hint = e.hint.unwrap();
    assert!(
        hint.starts_with("Valid options for a server of connector \"stripe\" are: ")
            && hint.contains(", stripe_version, "),
        "{hint}"
    );
}

#[test]
fn equality_filters_and_created_ranges_are_pushed_as_unix_seconds() {
    let p = stripe();
    let table = p.imported("customers", &[]);
    let quals = vec![
        eq("email", "customer3@example.com"),
        qual("created", Op::Ge, timestamptz("2024-01-02T00:00:00Z")),
        qual("created", Op::Lt, timestamptz("2024-01-10T00:00:00.5Z")),
    ];
    assert_eq!(p.placements(&table, &quals), vec![Placement::Remote; 3]);
    let rows = p.scan(&table, quals, None).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["cus_0003"]);
    // A fraction of a second rounds so that the whole-second condition keeps what SQL keeps. `created` is the
    // lists' partition column: the range is walked in 4 windows (max_concurrency), split on whole seconds,
    // the first and last taking the query's own bounds.
    let mut sent = p.sent();
    sent.sort();
    let window = |gte: &str, lt: &str| {
        format!("GET /stripe/v1/customers?email=customer3%40example.com&created%5Bgte%5D={gte}&created%5Blt%5D={lt}&limit=100")
    };
    assert_eq!(
        sent,
        vec![
            window("1704153600", "1704326400"),
            window("1704326400", "1704499200"),
            window("1704499200", "1704672000"),
            window("1704672000", "1704844801"),
        ]
    );
    p.mock.reset();
    // cus_0003 was created at 1704326400 exactly: not after 1704326400.5. One walk, to see its request.
    let rows = p
        .scan_with(
            &table,
            vec![
                qual("created", Op::Gt, timestamptz("2024-01-04T00:00:00.5Z")),
                qual("created", Op::Le, timestamptz("2024-01-06T00:00:00Z")),
            ],
            vec![],
            None,
            1,
        )
        .unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["cus_0005", "cus_0004"]);
    assert_eq!(p.requests()[0].query, "created%5Bgt%5D=1704326400&created%5Blte%5D=1704499200&limit=100");
    // Equality filters of other lists.
    p.mock.reset();
    let prices = p.imported("prices", &[]);
    let rows = p.scan(&prices, vec![qual("active", Op::Eq, V::Bool(true)), eq("type", "recurring")], None).unwrap();
    assert_eq!(texts(column(&prices, &rows, "id")), vec!["price_0008", "price_0006", "price_0004", "price_0002"]);
    assert_eq!(texts(column(&prices, &rows, "recurring_interval")), vec!["month"; 4]);
    assert_eq!(p.requests()[0].query, "active=true&type=recurring&expand%5B%5D=data.product&limit=100");
    let charges = p.imported("charges", &[]);
    let caps = p.open(&charges).capabilities();
    assert!(caps.filter_support("customer", Op::Eq).is_some());
    assert!(caps.filter_support("customer", Op::In).is_none(), "Stripe takes one value per filter");
    assert_eq!(
        caps.filter_support("status", Op::Eq),
        Some(connector_core::pushdown::Support::Superset),
        "the charges list has no status filter: search has"
    );
}

#[test]
fn where_id_is_one_retrieve() {
    let p = stripe();
    let table = p.imported("customers", &[]);
    // The list cannot filter by id: the condition is served by a retrieve, or rechecked by Postgres.
    assert_eq!(p.placements(&table, &[eq("id", "cus_0003")]), vec![Placement::RemoteAndLocal]);
    let rows = p.scan(&table, vec![eq("id", "cus_0003")], None).unwrap();
    assert_eq!(texts(column(&table, &rows, "email")), vec!["customer3@example.com"]);
    assert_eq!(p.sent(), vec!["GET /stripe/v1/customers/cus_0003?"]);
    assert_eq!(
        p.describe(&table, vec![eq("id", "cus_0003")]),
        vec![format!("GET {}/stripe/v1/customers/cus_0003", p.mock.url())]
    );
    // No such object: no rows.
    p.mock.reset();
    assert!(p.scan(&table, vec![eq("id", "cus_9999")], None).unwrap().is_empty());
    assert_eq!(p.sent(), vec!["GET /stripe/v1/customers/cus_9999?"]);
    // With another condition the list is read (Postgres rechecks the id).
    p.mock.reset();
    let rows = p.scan(&table, vec![eq("id", "cus_0003"), eq("email", "customer4@example.com")], None).unwrap();
    assert_eq!(texts(column(&table, &rows, "id")), vec!["cus_0004"], "the list's rows; Postgres drops this one");
    assert_eq!(p.sent(), vec!["GET /stripe/v1/customers?email=customer4%40example.com&limit=100"]);
}

#[test]
fn subscriptions_list_every_status() {
    let p = stripe();
    let table = p.imported("subscriptions", &[]);
    let rows = p.scan(&table, vec![], None).unwrap();
    assert_eq!(rows.len(), 6, "canceled ones too");
    assert!(texts(column(&table, &rows, "status")).contains(&"canceled".to_string()));
    // Every column is read, customer_object and latest_invoice_object too: both are expanded.
    assert_eq!(p.sent(), vec!["GET /stripe/v1/subscriptions?status=all&expand%5B%5D=data.customer&expand%5B%5D=data.latest_invoice&limit=100"]);
    p.mock.reset();
    let rows = p.scan(&table, vec![eq("customer", "cus_0003")], None).unwrap();
    assert_eq!(texts(column(&table, &rows, "status")), vec!["canceled"]);
    assert_eq!(p.sent(), vec!["GET /stripe/v1/subscriptions?status=all&customer=cus_0003&expand%5B%5D=data.customer&expand%5B%5D=data.latest_invoice&limit=100"]);
}

#[test]
fn every_resource_reads_its_list() {
    let p = stripe();
    let expected = [
        ("customers", 12),
        ("subscriptions", 6),
        ("charges", 10),
        ("invoices", 7),
        ("products", 5),
        ("plans", 3),
        ("prices", 8),
        ("payment_intents", 6),
        ("balance_transactions", 8),
        ("events", 9),
    ];
    for (resource, count) in expected {
        p.mock.reset();
        let table = p.imported(resource, &[]);
        let rows = p.scan(&table, vec![], None).unwrap();
        assert_eq!(rows.len(), count, "{resource}");
        assert!(texts(column(&table, &rows, "id")).iter().all(|id| !id.is_empty()), "{resource}");
        assert_eq!(p.requests()[0].path, format!("/stripe/v1/{resource}"));
    }
    let events = p.imported("events", &[]);
    let rows = p.scan(&events, vec![], limit(1)).unwrap();
    assert_eq!(texts(column(&events, &rows, "object_id")), vec!["cus_0009"]);
    for read_only in ["balance_transactions", "events"] {
        assert!(p.open(&p.imported(read_only, &[])).writer().is_none(), "{read_only}");
    }
}

#[test]
fn customers_are_written_with_forms_and_idempotency_keys() {
    let p = stripe();
    let table = p.imported("customers", &[]);
    let writer = p.writer(&table);
    let http = p.http();
    let record = record(
        &table,
        &[("email", json!("new@example.com")), ("name", json!("Nia Okafor")), ("metadata", json!({"tier": "silver"}))],
    );
    let created = block(writer.insert(&http, vec![record], &counters())).unwrap();
    assert_eq!(created[0]["id"], "cus_0013");
    assert_eq!(created[0]["metadata"], json!({"tier": "silver"}));
    let changed = block(writer.update(
        &http,
        &V::Text("cus_0013".into()),
        json!({"description": "VIP", "metadata": {"tier": "gold"}}),
        &counters(),
    ))
    .unwrap();
    assert_eq!((&changed["description"], &changed["metadata"]["tier"]), (&json!("VIP"), &json!("gold")));
    let deleted = block(writer.delete(&http, &V::Text("cus_0013".into()), &counters())).unwrap();
    assert_eq!(deleted["deleted"], true);
    assert_eq!(
        p.sent(),
        vec![
            "POST /stripe/v1/customers?",
            "POST /stripe/v1/customers/cus_0013?",
            "DELETE /stripe/v1/customers/cus_0013?"
        ]
    );
    let log = p.requests();
    assert_eq!(log[0].header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(
        log[0].body,
        Some(json!({"email": "new@example.com", "name": "Nia Okafor", "metadata[tier]": "silver"}))
    );
    assert_eq!(log[1].body, Some(json!({"description": "VIP", "metadata[tier]": "gold"})));
    let keys: Vec<Option<&str>> = log.iter().map(|r| r.header("idempotency-key")).collect();
    assert!(
        keys[0].is_some_and(|k| k.len() == 32) && keys[1].is_some_and(|k| k.len() == 32) && keys[0] != keys[1],
        "{keys:?}"
    );
    assert_eq!(keys[2], None, "a DELETE needs no key");
    assert_eq!(
        writer.describe(connector_core::write::WriteOp::Update),
        format!("POST {}/stripe/v1/customers/{{key}}", p.mock.url())
    );
}

#[test]
fn writes_follow_each_resource_s_operations() {
    let p = stripe();
    let (http, counters) = (p.http(), counters());
    let prices = p.imported("prices", &[]);
    let writer = p.writer(&prices);
    let record = record(
        &prices,
        &[
            ("product", json!("prod_0001")),
            ("unit_amount", json!(900)),
            ("currency", json!("usd")),
            ("recurring_interval", json!("month")),
        ],
    );
    let created = block(writer.insert(&http, vec![record], &counters)).unwrap();
    assert_eq!((&created[0]["unit_amount"], &created[0]["recurring"]["interval"]), (&json!(900), &json!("month")));
    assert_eq!(
        p.requests()[0].body,
        Some(json!({"product": "prod_0001", "unit_amount": "900", "currency": "usd", "recurring[interval]": "month"}))
    );
    // Prices cannot be deleted; the request is not sent.
    let e = block(writer.delete(&http, &V::Text("price_0001".into()), &counters)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotSupported);
    assert_eq!(e.message, "foreign table \"prices\" does not accept DELETE: the provider has no such operation");
    assert_eq!(p.requests().len(), 1);
    // Deleting a subscription cancels it.
    let subscriptions = p.imported("subscriptions", &[]);
    let canceled = block(p.writer(&subscriptions).delete(&http, &V::Text("sub_0001".into()), &counters)).unwrap();
    assert_eq!(canceled["status"], "canceled");
}

#[test]
fn nested_values_are_form_encoded_with_brackets() {
    let body =
        json!({"items": [{"price": "price_1", "quantity": 2}], "metadata": {"a b": "x&y"}, "off": false, "note": null});
    assert_eq!(
        connector_core::http::form_encode(&body),
        "items%5B0%5D%5Bprice%5D=price_1&items%5B0%5D%5Bquantity%5D=2&metadata%5Ba+b%5D=x%26y&note=&off=false"
    );
}

#[test]
fn stripe_errors_keep_their_messages() {
    let p = stripe();
    // Stripe refuses parameters it does not know, with {"error": {"type", "message", "param"}}.
    let table = p.imported("customers", &[("query", "colour=red")]);
    let e = p.scan(&table, vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert!(e.message.contains("HTTP 400"), "{}", e.message);
    assert_eq!(e.detail.as_deref(), Some("provider said: Received unknown parameter: colour"));
    // A read-only field in an insert.
    let writer = p.writer(&p.imported("customers", &[]));
    let e = block(writer.insert(&p.http(), vec![json!({"id": "cus_x", "email": "x@example.com"})], &counters()))
        .unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("provider said: Received unknown parameter: id"));
    // A wrong key of the right form.
    let wrong = Provider::start("stripe", "/stripe", &[], &[("api_key", "sk_test_wrong")]);
    let e = wrong.scan(&wrong.imported("charges", &[]), vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    assert_eq!(e.detail.as_deref(), Some("provider said: Invalid API Key provided: ********"));
    // A resource the definition does not have.
    let mut bad = p.imported("customers", &[]);
    bad.options.insert("resource".into(), "refunds".into());
    let e = validate_table(&p.server, &bad).unwrap_err();
    assert_eq!(
        e.message,
        "invalid value for option \"resource\": \"refunds\" is not a resource of connector \"stripe\""
    );
    assert!(e.hint.unwrap().contains("customers, subscriptions, charges, invoices, products, plans, prices, payment_intents, balance_transactions, events"));
}

#[test]
fn keys_of_the_wrong_form_are_refused_before_any_request() {
    use connector_core::connectors::http_client;
    let p = stripe();
    let hint = "Stripe needs a secret key (sk_live_… or sk_test_…) or a restricted key (rk_live_… or rk_test_…), from the Dashboard's API keys page; a publishable key (pk_…) cannot read the API. Change it with ALTER USER MAPPING FOR CURRENT_USER SERVER stripe OPTIONS (SET api_key '…').";
    for key in
        ["pk_test_51Hsecret", "test-token", "sk_test_", "sk_test_abc def", " sk_test_abc", "whsec_abc", "sk_test_abc\n"]
    {
        let e = http_client(&p.server, &map(&[("api_key", key)]), None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidOptionValue, "{key:?}");
        assert_eq!(
            e.message,
            "invalid value for option \"api_key\": the user mapping's api_key for server \"stripe\" does not have the form connector \"stripe\" expects (the value is not shown)"
        );
        assert_eq!(e.hint.as_deref(), Some(hint));
        // (`sk_test_` alone is in the hint's own examples.)
        assert!(key == "sk_test_" || !format!("{e:?}").contains(key.trim()), "the key is never shown: {e:?}");
    }
    // The option the key came from is named.
    let e = http_client(&p.server, &map(&[("token", "pk_live_x")]), None).unwrap_err();
    assert!(e.message.starts_with("invalid value for option \"token\": the user mapping's token"), "{}", e.message);
    assert!(e.hint.unwrap().ends_with("OPTIONS (SET token '…')."));
    for key in ["sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_test_mock", "rk_live_abc123", "rk_test_ABC"] {
        assert!(http_client(&p.server, &map(&[("api_key", key)]), None).is_ok(), "{key}");
    }
    assert!(p.requests().is_empty(), "nothing is sent");
    // A server that authenticates otherwise (Basic, below) is not checked.
    let basic = p.server.options.clone().into_iter().chain([("auth".to_string(), "basic".to_string())]).collect();
    let server = connector_core::connectors::ServerDef { name: "stripe".into(), options: basic };
    assert!(http_client(&server, &map(&[("user", "anything"), ("password", "")]), None).is_ok());
}

#[test]
fn the_secret_key_may_be_a_basic_user() {
    let p =
        Provider::start("stripe", "/stripe", &[("auth", "basic")], &[("user", mockapi::TEST_TOKEN), ("password", "")]);
    let table = p.imported("products", &[]);
    assert_eq!(p.scan(&table, vec![qual("active", Op::Eq, V::Bool(false))], None).unwrap().len(), 1);
    assert!(p.requests()[0].header("authorization").unwrap().starts_with("Basic "));
}

#[test]
fn a_repeated_idempotency_key_creates_once() {
    // What a retried insert relies on: the mock, like Stripe, answers a known key with the first answer.
    let p = stripe();
    let http = p.http();
    let url = url::Url::parse(&format!("{}/stripe/v1/customers", p.mock.url())).unwrap();
    let mut request =
        connector_core::http::Request::new(reqwest::Method::POST, url).json(json!({"email": "once@example.com"}));
    request.form = true;
    request.idempotency_key = Some("key-1".into());
    let (_, first) = block(http.send_json(&request, &counters())).unwrap();
    let (second_response, second) = block(http.send_json(&request, &counters())).unwrap();
    assert_eq!(first["id"], "cus_0013");
    assert_eq!(second, first);
    assert_eq!(second_response.header("idempotent-replayed"), Some("true"));
    let table = p.imported("customers", &[]);
    assert_eq!(p.scan(&table, vec![eq("email", "once@example.com")], None).unwrap().len(), 1);
}

#[test]
fn customer_objects_are_expanded_when_their_column_is_read() {
    use connector_core::model::{ColumnDef, ColumnType, ScanRequest};
    let p = stripe();
    let mut charges = p.imported("charges", &[]);
    // The charge's other expandable members are another test's.
    charges.columns.retain(|c| !["payment_intent_object", "invoice_object"].contains(&c.name.as_str()));
    for c in &mut charges.columns {
        if c.name == "customer_object" {
            c.ty = ColumnType::Jsonb;
        }
    }
    let describe = |columns: Vec<usize>, quals| {
        p.open(&charges).describe(&ScanRequest { columns, quals, sorts: vec![], limit: None })
    };
    // Only a query that reads customer_object asks for the expansion.
    assert_eq!(
        describe(vec![at(&charges, "id"), at(&charges, "customer")], vec![]),
        vec![format!("GET {}/stripe/v1/charges?limit=100", p.mock.url())]
    );
    assert_eq!(
        describe(vec![at(&charges, "id"), at(&charges, "customer_object")], vec![]),
        vec![format!("GET {}/stripe/v1/charges?expand%5B%5D=data.customer&limit=100", p.mock.url())]
    );
    let rows = p.scan(&charges, vec![], limit(3)).unwrap();
    assert_eq!(p.sent(), vec!["GET /stripe/v1/charges?expand%5B%5D=data.customer&limit=3"]);
    // The id column keeps the id; the object column has the customer.
    let ids = texts(column(&charges, &rows, "customer"));
    assert!(ids.iter().all(|id| id.starts_with("cus_")), "{ids:?}");
    for (id, object) in ids.iter().zip(column(&charges, &rows, "customer_object")) {
        let Cell::Jsonb(object) = object else { panic!("not jsonb: {object:?}") };
        assert_eq!((&object["id"], &object["object"]), (&json!(id), &json!("customer")));
        assert!(object["email"].as_str().unwrap().ends_with("@example.com"));
    }
    // One charge: retrieve with expand[]=customer.
    p.mock.reset();
    let charge = texts(column(&charges, &rows, "id"))[0].clone();
    let rows = p.scan(&charges, vec![eq("id", &charge)], None).unwrap();
    assert_eq!(p.sent(), vec![format!("GET /stripe/v1/charges/{charge}?expand%5B%5D=customer")]);
    assert_eq!(texts(column(&charges, &rows, "customer")), vec![ids[0].clone()]);
    assert!(matches!(&column(&charges, &rows, "customer_object")[0], Cell::Jsonb(o) if o["id"] == json!(ids[0])));
    // Two columns of the same expansion ask for it once; a path reads inside the column's object.
    p.mock.reset();
    let mut both = charges.clone();
    both.columns.push(
        ColumnDef::new("customer_email", ColumnType::Text)
            .with_option("expand", "customer")
            .with_option("path", "$.customer_email.email"),
    );
    let rows = p.scan(&both, vec![eq("id", &charge)], None).unwrap();
    assert_eq!(p.sent(), vec![format!("GET /stripe/v1/charges/{charge}?expand%5B%5D=customer")]);
    let email = texts(column(&both, &rows, "customer_email"));
    assert!(matches!(&column(&both, &rows, "customer_object")[0], Cell::Jsonb(o) if o["email"] == json!(email[0])));
    p.mock.reset();
    assert_eq!(p.scan(&both, vec![], limit(2)).unwrap().len(), 2);
    assert_eq!(p.sent(), vec!["GET /stripe/v1/charges?expand%5B%5D=data.customer&limit=2"]);
    // A member Stripe cannot expand is Stripe's error.
    p.mock.reset();
    let mut customers = p.imported("customers", &[]);
    customers.columns.push(ColumnDef::new("balance_object", ColumnType::Jsonb).with_option("expand", "balance"));
    let e = p.scan(&customers, vec![], None).unwrap_err();
    assert_eq!(e.detail.as_deref(), Some("provider said: This property cannot be expanded (data.balance)."));
    assert_eq!(p.sent(), vec!["GET /stripe/v1/customers?expand%5B%5D=data.balance&limit=100"]);
}

/// An imported table with its `jsonb` columns typed as Postgres types them.
fn with_jsonb(mut table: connector_core::model::TableDef) -> connector_core::model::TableDef {
    for c in &mut table.columns {
        if c.ty.sql_name() == "jsonb" {
            c.ty = connector_core::model::ColumnType::Jsonb;
        }
    }
    table
}

/// The `jsonb` object of each row in `name`, or null.
fn objects(table: &connector_core::model::TableDef, rows: &[Vec<Cell>], name: &str) -> Vec<serde_json::Value> {
    column(table, rows, name)
        .into_iter()
        .map(|c| match c {
            Cell::Jsonb(o) => o,
            Cell::Null => serde_json::Value::Null,
            other => panic!("not jsonb: {other:?}"),
        })
        .collect()
}

#[test]
fn invoices_subscriptions_intents_and_products_are_expanded_when_read() {
    use connector_core::model::ScanRequest;
    let p = stripe();
    // A list asks only for the members whose columns the query reads, with Stripe's data. prefix.
    let invoices = with_jsonb(p.imported("invoices", &[]));
    let describe = |table: &connector_core::model::TableDef, columns: Vec<usize>| {
        p.open(table).describe(&ScanRequest { columns, quals: vec![], sorts: vec![], limit: None })
    };
    assert_eq!(
        describe(&invoices, vec![at(&invoices, "id"), at(&invoices, "subscription")]),
        vec![format!("GET {}/stripe/v1/invoices?limit=100", p.mock.url())]
    );
    assert_eq!(
        describe(&invoices, vec![at(&invoices, "subscription_object")]),
        vec![format!("GET {}/stripe/v1/invoices?expand%5B%5D=data.subscription&limit=100", p.mock.url())]
    );
    let rows = p.scan(&invoices, vec![eq("status", "void")], None).unwrap();
    assert_eq!(
        p.sent(),
        vec!["GET /stripe/v1/invoices?status=void&expand%5B%5D=data.customer&expand%5B%5D=data.subscription&limit=100"]
    );
    assert_eq!(texts(column(&invoices, &rows, "subscription")), vec!["sub_0001"], "the id column keeps the id");
    let subscription = &objects(&invoices, &rows, "subscription_object")[0];
    assert_eq!((&subscription["object"], &subscription["customer"]), (&json!("subscription"), &json!("cus_0001")));
    // Charges: the payment intent and the invoice (null where the charge has none).
    p.mock.reset();
    let charges = with_jsonb(p.imported("charges", &[]));
    let rows = p.scan(&charges, vec![eq("customer", "cus_0004")], None).unwrap();
    assert_eq!(p.sent(), vec!["GET /stripe/v1/charges?customer=cus_0004&expand%5B%5D=data.customer&expand%5B%5D=data.payment_intent&expand%5B%5D=data.invoice&limit=100"]);
    assert_eq!(texts(column(&charges, &rows, "id")), vec!["ch_0008", "ch_0004"]);
    let intents: Vec<serde_json::Value> =
        objects(&charges, &rows, "payment_intent_object").iter().map(|o| o["id"].clone()).collect();
    assert_eq!(intents, vec![json!("pi_0002"), json!("pi_0004")]);
    let invoice_objects = objects(&charges, &rows, "invoice_object");
    assert_eq!((&invoice_objects[0], &invoice_objects[1]["number"]), (&serde_json::Value::Null, &json!("INV-0004")));
    assert_eq!(column(&charges, &rows, "invoice")[0], Cell::Null);
    // Subscriptions: the latest invoice; one retrieve asks without the prefix.
    p.mock.reset();
    let subscriptions = with_jsonb(p.imported("subscriptions", &[]));
    let rows = p.scan(&subscriptions, vec![eq("id", "sub_0002")], None).unwrap();
    assert_eq!(
        p.sent(),
        vec!["GET /stripe/v1/subscriptions/sub_0002?expand%5B%5D=customer&expand%5B%5D=latest_invoice"]
    );
    assert_eq!(objects(&subscriptions, &rows, "latest_invoice_object")[0]["id"], json!("in_0005"));
    assert_eq!(texts(column(&subscriptions, &rows, "latest_invoice")), vec!["in_0005"]);
    // Prices: the product.
    p.mock.reset();
    let prices = with_jsonb(p.imported("prices", &[]));
    let rows = p.scan(&prices, vec![eq("product", "prod_0003")], None).unwrap();
    assert_eq!(p.sent(), vec!["GET /stripe/v1/prices?product=prod_0003&expand%5B%5D=data.product&limit=100"]);
    assert!(objects(&prices, &rows, "product_object")
        .iter()
        .all(|o| o["id"] == json!("prod_0003") && o["object"] == json!("product")));
    assert_eq!(rows.len(), 2);
}

#[test]
fn conditions_only_search_applies_read_the_search_api() {
    let p = stripe();
    let charges = p.imported("charges", &[]);
    // `status` has no list filter: search applies it, and Postgres checks it again (search is not exact).
    assert_eq!(p.placements(&charges, &[eq("status", "failed")]), vec![Placement::RemoteAndLocal]);
    assert_eq!(p.placements(&charges, &[eq("customer", "cus_0002")]), vec![Placement::Remote]);
    let rows = p.scan(&charges, vec![eq("status", "failed")], None).unwrap();
    assert_eq!(texts(column(&charges, &rows, "id")), vec!["ch_0010", "ch_0005"]);
    assert_eq!(p.sent(), vec!["GET /stripe/v1/charges/search?query=status%3A%27failed%27&expand%5B%5D=data.customer&expand%5B%5D=data.payment_intent&expand%5B%5D=data.invoice&limit=100"]);
    // Every pushed condition goes into the query, times as Unix seconds, text quoted and escaped.
    p.mock.reset();
    let quals = vec![
        eq("status", "failed"),
        eq("customer", "cus_0002"),
        qual("amount", Op::Gt, V::Int(4000)),
        qual("created", Op::Ge, timestamptz("2024-01-05T00:00:00Z")),
    ];
    let rows = p.scan(&charges, quals.clone(), None).unwrap();
    assert_eq!(texts(column(&charges, &rows, "id")), vec!["ch_0010"]);
    assert_eq!(
        p.requests()[0].param("query").as_deref(),
        Some("status:'failed' AND customer:'cus_0002' AND amount>4000 AND created>=1704412800")
    );
    assert_eq!(
        p.describe(&charges, vec![eq("status", "it's \\ odd")]),
        vec![format!("GET {}/stripe/v1/charges/search?query=status%3A%27it%5C%27s+%5C%5C+odd%27&expand%5B%5D=data.customer&expand%5B%5D=data.payment_intent&expand%5B%5D=data.invoice&limit=100", p.mock.url())]
    );
    // Negation; paging with page=<next_page>.
    p.mock.reset();
    let customers = p.imported("customers", &[("page_size", "5")]);
    let rows = p.scan(&customers, vec![qual("name", Op::Ne, V::Text("Nobody".into()))], None).unwrap();
    assert_eq!(rows.len(), 12);
    assert_eq!(
        p.sent(),
        vec![
            "GET /stripe/v1/customers/search?query=-name%3A%27Nobody%27&limit=5",
            "GET /stripe/v1/customers/search?query=-name%3A%27Nobody%27&limit=5&page=page_5",
            "GET /stripe/v1/customers/search?query=-name%3A%27Nobody%27&limit=5&page=page_10",
        ]
    );
}

#[test]
fn search_keeps_what_the_list_would_keep() {
    let p = stripe();
    let customers = p.imported("customers", &[]);
    // Search compares text without case; the list's exact `email =` is checked again on its records.
    let rows = p.scan(&customers, vec![eq("email", "CUSTOMER3@example.com"), eq("name", "Dana Scully")], None).unwrap();
    assert!(rows.is_empty(), "{rows:?}");
    assert_eq!(p.requests()[0].param("query").as_deref(), Some("email:'CUSTOMER3@example.com' AND name:'Dana Scully'"));
    p.mock.reset();
    let rows = p.scan(&customers, vec![eq("email", "customer3@example.com"), eq("name", "dana scully")], None).unwrap();
    assert_eq!(
        texts(column(&customers, &rows, "id")),
        vec!["cus_0003"],
        "Postgres drops this row: its name differs in case"
    );
    // A pushed condition search cannot express (subscriptions search has no customer field) reads the
    // list; the condition only search applies is left to Postgres.
    p.mock.reset();
    let subscriptions = p.imported("subscriptions", &[]);
    let rows = p.scan(&subscriptions, vec![eq("customer", "cus_0003"), eq("status", "active")], None).unwrap();
    assert_eq!(texts(column(&subscriptions, &rows, "status")), vec!["canceled"], "Postgres drops it");
    assert_eq!(p.sent(), vec!["GET /stripe/v1/subscriptions?status=all&customer=cus_0003&expand%5B%5D=data.customer&expand%5B%5D=data.latest_invoice&limit=100"]);
    // Conditions the list applies keep reading the list; `WHERE id = …` alone stays a retrieve.
    p.mock.reset();
    p.scan(&customers, vec![eq("email", "customer3@example.com")], None).unwrap();
    p.scan(&customers, vec![eq("id", "cus_0003")], None).unwrap();
    assert_eq!(
        p.sent(),
        vec!["GET /stripe/v1/customers?email=customer3%40example.com&limit=100", "GET /stripe/v1/customers/cus_0003?"]
    );
    // Subscriptions search (no fixed status=all: search lists every status).
    p.mock.reset();
    let rows = p.scan(&subscriptions, vec![eq("status", "canceled")], None).unwrap();
    assert_eq!(texts(column(&subscriptions, &rows, "id")), vec!["sub_0006", "sub_0003"]);
    assert_eq!(p.sent(), vec!["GET /stripe/v1/subscriptions/search?query=status%3A%27canceled%27&expand%5B%5D=data.customer&expand%5B%5D=data.latest_invoice&limit=100"]);
    // A metadata key as a column of one's own.
    p.mock.reset();
    let mut tiered = customers.clone();
    tiered.columns.push(
        connector_core::model::ColumnDef::new("tier", connector_core::model::ColumnType::Text)
            .with_option("path", "$.metadata.tier")
            .with_option("search", "metadata['tier']"),
    );
    let rows = p.scan(&tiered, vec![eq("tier", "gold")], None).unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(p.requests()[0].param("query").as_deref(), Some("metadata['tier']:'gold'"));
}
