//! Connector definitions end to end: the shipped definitions parse, each of their resources scans its
//! provider's mock (crates/mockapi) with exactly the requests the provider documents, writes go through
//! where a definition declares them, runtime registration is visible to `registry::find`, and the
//! complete example of docs/definitions.md works as written.

mod common;

use common::*;
use connector_core::connectors::{validate_server, validate_table, ServerDef};
use connector_core::convert::Cell;
use connector_core::definitions::Definition;
use connector_core::http::Counters;
use connector_core::model::{ColumnDef, ColumnType, Limit, Op, Qual, Sort, TableDef, Value as V};
use connector_core::registry;
use connector_core::ErrorKind;
use mockapi::MockServer;
use serde_json::{json, Value};

/// A mock and a server of a defined connector on it. Provider mocks take a bearer token, so the server
/// overrides the definitions' OAuth 2.0.
fn start(connector: &str, prefix: &str) -> Provider {
    Provider::start(connector, prefix, &[("auth", "bearer")], &[("token", mockapi::TEST_TOKEN)])
}

#[test]
fn every_shipped_definition_parses_and_is_found_by_name() {
    let shipped = registry::shipped();
    let names: Vec<&str> = shipped.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, vec!["benchling", "close", "dropbox", "gmail", "hubspot", "microsoft_graph", "slack", "stripe"]);
    for definition in &shipped {
        // The file's name is the connector's; parsing it again gives the same definition.
        let file = format!("{}/definitions/{}.json", env!("CARGO_MANIFEST_DIR"), definition.name);
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(&Definition::parse(&json).unwrap(), definition.as_ref());
        // Providers with static keys (Stripe, Slack, Close, Benchling) take them as bearer or basic credentials.
        let static_key = ["benchling", "close", "slack", "stripe"].contains(&definition.name.as_str());
        assert_eq!(
            definition.auth.kind,
            if static_key {
                if ["benchling", "close"].contains(&definition.name.as_str()) {
                    "basic"
                } else {
                    "bearer"
                }
            } else {
                "oauth2"
            },
            "{}",
            definition.name
        );
        for option in ["authorize_url", "token_url", "scopes"].iter().filter(|_| !static_key) {
            assert!(definition.auth.options.contains_key(*option), "{}: {option}", definition.name);
        }
        let connector = registry::find(&definition.name).unwrap();
        assert_eq!(connector.name(), definition.name);
        assert_eq!(connector.defaults().base_url, definition.base_url.as_deref());
        assert!(registry::names().contains(&definition.name));
    }
    let names = registry::names();
    assert_eq!(&names[..2], ["rest", "file"], "built-in connectors come first");
}

#[test]
fn table_options_name_a_resource_and_a_few_overrides() {
    let p = start("gmail", "/gmail/v1");
    let mut table = p.imported("messages", &[]);
    table.options.remove("resource");
    let e = validate_table(&p.server, &table).unwrap_err();
    assert_eq!(e.message, "option \"resource\" is required for a foreign table of connector \"gmail\"");
    assert_eq!(e.hint.as_deref(), Some("Resources of connector \"gmail\" are: messages, threads, labels."));
    table.options.insert("resource".into(), "drafts".into());
    let e = validate_table(&p.server, &table).unwrap_err();
    assert_eq!(e.message, "invalid value for option \"resource\": \"drafts\" is not a resource of connector \"gmail\"");
    table.options.insert("resource".into(), "messages".into());
    table.options.insert("rows".into(), "$.x".into());
    let e = validate_table(&p.server, &table).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidOptionName);
    assert_eq!(
        e.hint.as_deref(),
        Some("Valid options for a foreign table of connector \"gmail\" are: batch_size, body, cache_ttl, idempotency_key, object, page_size, partition_column, partition_order, partition_start, path, query, rate_limit, resource.")
    );
    // `object` names the resource as well (the word Stripe, Close and Slack use).
    table.options.remove("rows");
    table.options.remove("resource");
    table.options.insert("object".into(), "labels".into());
    let e = validate_table(&p.server, &table).err();
    assert_eq!(e, None);
    table.options.insert("object".into(), "drafts".into());
    let e = validate_table(&p.server, &table).unwrap_err();
    assert_eq!(e.message, "invalid value for option \"object\": \"drafts\" is not a resource of connector \"gmail\"");
}

#[test]
fn gmail_messages_page_with_page_tokens() {
    let p = start("gmail", "/gmail/v1");
    let mut table = p.imported("messages", &[("page_size", "10")]);
    // The list alone: content columns are tests/gmail.rs's.
    table.columns.retain(|c| !c.options.contains_key("detail"));
    let rows = p.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 23);
    let requests = p.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.method == "GET" && r.path == "/gmail/v1/users/me/messages"));
    assert_eq!(requests[0].query, "maxResults=10");
    let tokens: Vec<Option<String>> = requests.iter().map(|r| r.param("pageToken")).collect();
    assert!(tokens[0].is_none() && tokens[1].is_some() && tokens[2].is_some() && tokens[1] != tokens[2]);
    assert!(requests.iter().all(|r| r.param("maxResults").as_deref() == Some("10")));
    assert_eq!(requests[0].header("authorization"), Some("Bearer test-token"));
    // Newest first; the thread id of a first message is its own id.
    let ids = texts(column(&table, &rows, "id"));
    let threads = texts(column(&table, &rows, "thread_id"));
    assert_eq!(ids.last(), threads.last());
}

#[test]
fn gmail_search_and_label_are_pushed_and_echoed() {
    let p = start("gmail", "/gmail/v1");
    let mut table = p.imported("messages", &[]);
    table.columns.retain(|c| !c.options.contains_key("detail"));
    let caps = p.open(&table).capabilities();
    assert!(caps.filter_support("q", Op::Eq).is_some());
    assert!(caps.filter_support("label_id", Op::In).is_none(), "Gmail ANDs repeated labelIds; IN cannot be pushed");
    let rows = p.scan_planned(&table, vec![eq("q", "from:alice"), eq("label_id", "UNREAD")], vec![], None).unwrap();
    assert_eq!(p.sent(), vec!["GET /gmail/v1/users/me/messages?q=from%3Aalice&labelIds=UNREAD&maxResults=500"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(texts(column(&table, &rows, "q")), vec!["from:alice"]);
    assert_eq!(texts(column(&table, &rows, "label_id")), vec!["UNREAD"]);
    // Gmail leaves the list out of an empty result: no rows, not an error.
    p.mock.reset();
    let rows = p.scan_planned(&table, vec![eq("q", "from:nobody")], vec![], None).unwrap();
    assert!(rows.is_empty());
    assert_eq!(p.sent(), vec!["GET /gmail/v1/users/me/messages?q=from%3Anobody&maxResults=500"]);
}

#[test]
fn gmail_threads_and_labels() {
    let p = start("gmail", "/gmail/v1");
    let threads = p.imported("threads", &[("page_size", "5")]);
    let rows = p.scan_planned(&threads, vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 8);
    assert!(column(&threads, &rows, "history_id").iter().all(|c| matches!(c, Cell::Int(n) if *n > 5000)));
    assert_eq!(p.requests().len(), 2);
    p.mock.reset();
    let labels = p.imported("labels", &[]);
    let rows = p.scan_planned(&labels, vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(p.sent(), vec!["GET /gmail/v1/users/me/labels?"]);
    assert!(p.open(&p.imported("messages", &[])).writer().is_none(), "resources without writes are read-only");
}

#[test]
fn gmail_labels_are_written_through_the_definition() {
    let p = start("gmail", "/gmail/v1");
    let table = p.imported("labels", &[]);
    let writer = p.open(&table).writer().expect("labels declare writes");
    assert_eq!(writer.key_column(), "id");
    let http = p.http();
    let counters = Counters::default();
    let runtime = runtime();
    let name = table.columns.iter().position(|c| c.name == "name").unwrap();
    let record = connector_core::write::record(&table, &[(name, json!("Travel"))]).unwrap();
    let created = runtime.block_on(writer.insert(&http, vec![record], &counters)).unwrap();
    assert_eq!(created[0]["id"], "Label_3");
    let renamed =
        runtime.block_on(writer.update(&http, &text("Label_3"), json!({"name": "Trips"}), &counters)).unwrap();
    assert_eq!(renamed["name"], "Trips");
    runtime.block_on(writer.delete(&http, &text("Label_3"), &counters)).unwrap();
    assert_eq!(
        p.sent(),
        vec![
            "POST /gmail/v1/users/me/labels?",
            "PATCH /gmail/v1/users/me/labels/Label_3?",
            "DELETE /gmail/v1/users/me/labels/Label_3?"
        ]
    );
    assert_eq!(p.requests()[0].body, Some(json!({"name": "Travel"})));
    let e = runtime.block_on(writer.delete(&http, &text("INBOX"), &counters)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert_eq!(e.detail.as_deref(), Some("provider said: Invalid delete request"));
}

#[test]
fn graph_users_follow_odata_next_links() {
    let p = start("microsoft_graph", "/graph/v1.0");
    let table = p.imported("users", &[("page_size", "3")]);
    let rows = p.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 7);
    let requests = p.requests();
    assert_eq!(requests.len(), 3);
    let select = "id,displayName,mail,userPrincipalName,jobTitle,department,accountEnabled";
    assert_eq!(requests[0].query, format!("%24select={}&%24top=3", select.replace(',', "%2C")));
    for r in &requests {
        assert_eq!(
            (r.path.as_str(), r.param("$select").as_deref(), r.param("$top").as_deref()),
            ("/graph/v1.0/users", Some(select), Some("3"))
        );
    }
    assert!(requests[0].param("$skiptoken").is_none() && requests[1].param("$skiptoken").is_some());
    assert_eq!(texts(column(&table, &rows, "display_name"))[0], "Adele Vance");
}

#[test]
fn graph_filters_become_one_odata_filter() {
    let p = start("microsoft_graph", "/graph/v1.0");
    let users = p.imported("users", &[]);
    let rows = p.scan_planned(&users, vec![qual("account_enabled", Op::Eq, V::Bool(false))], vec![], None).unwrap();
    assert_eq!(texts(column(&users, &rows, "display_name")), vec!["Diego Siciliani", "Johanna Lorenz"]);
    assert_eq!(p.requests()[0].param("$filter").as_deref(), Some("accountEnabled eq false"));
    p.mock.reset();
    let messages = p.imported("messages", &[]);
    let quals = vec![
        qual("is_read", Op::Eq, V::Bool(false)),
        Qual { column: "received_at".into(), op: Op::Ge, value: V::TimestampTz("2024-03-05T00:00:00Z".into()) },
    ];
    let rows = p.scan_planned(&messages, quals.clone(), vec![], None).unwrap();
    assert_eq!(
        texts(column(&messages, &rows, "subject")),
        vec!["Weekly update 12", "Weekly update 9", "Weekly update 6"]
    );
    let sent = &p.requests()[0];
    assert_eq!(sent.path, "/graph/v1.0/me/messages");
    assert_eq!(sent.param("$filter").as_deref(), Some("isRead eq false and receivedDateTime ge 2024-03-05T00:00:00Z"));
    assert_eq!(sent.param("$top").as_deref(), Some("1000"));
    // A pushed LIMIT shrinks the first (and only) page.
    p.mock.reset();
    let rows = p.scan_planned(&messages, quals, vec![], Some(Limit { count: Some(2), offset: 0 })).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(p.requests().len(), 1);
    assert_eq!(p.requests()[0].param("$top").as_deref(), Some("2"));
}

#[test]
fn graph_drive_items_keep_facets_apart() {
    let p = start("microsoft_graph", "/graph/v1.0");
    let table = p.imported("drive_items", &[]);
    let rows = p.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(p.sent(), vec!["GET /graph/v1.0/me/drive/root/children?%24top=200"]);
    assert_eq!(
        texts(column(&table, &rows, "name")),
        vec!["Documents", "Photos", "budget.xlsx", "notes.txt", "report.pdf"]
    );
    let mime = column(&table, &rows, "mime_type");
    let children = column(&table, &rows, "child_count");
    assert_eq!((&mime[0], &children[0]), (&Cell::Null, &Cell::Int(3)));
    assert_eq!((&mime[4], &children[4]), (&Cell::Text("application/pdf".into()), &Cell::Null));
}

#[test]
fn dropbox_lists_folders_with_post_and_continue() {
    let p = start("dropbox", "/dropbox");
    let table = p.imported("files", &[("page_size", "2")]);
    let rows = p.scan_planned(&table, vec![], vec![], None).unwrap();
    assert_eq!(
        texts(column(&table, &rows, "name")),
        vec!["Documents", "Photos", "budget.xlsx", "readme.md", "todo.txt"]
    );
    assert_eq!(texts(column(&table, &rows, "tag"))[..3], ["folder", "folder", "file"]);
    let requests = p.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "/dropbox/2/files/list_folder",
            "/dropbox/2/files/list_folder/continue",
            "/dropbox/2/files/list_folder/continue"
        ]
    );
    assert!(requests.iter().all(|r| r.method == "POST" && r.query.is_empty()));
    assert_eq!(requests[0].body, Some(json!({"path": "", "recursive": false, "limit": 2})));
    assert!(requests[1..]
        .iter()
        .all(|r| r.body.as_ref().unwrap().as_object().unwrap().len() == 1
            && r.body.as_ref().unwrap()["cursor"].is_string()));
    // A table points the resource at another folder by body members; the rest of the template stays.
    p.mock.reset();
    let documents = p.imported("all_files", &[("body", r#"{"path": "/Documents"}"#)]);
    let rows = p.scan_planned(&documents, vec![], vec![], None).unwrap();
    assert_eq!(
        texts(column(&documents, &rows, "path_display")),
        vec!["/Documents/Archive", "/Documents/notes.txt", "/Documents/report.pdf", "/Documents/Archive/2023.zip"]
    );
    assert_eq!(p.requests()[0].body, Some(json!({"path": "/Documents", "recursive": true, "limit": 2000})));
    // Dropbox's route errors are 409s with a summary.
    let missing = p.imported("files", &[("body", r#"{"path": "/nope"}"#)]);
    let e = p.scan_planned(&missing, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Remote);
    assert!(e.message.contains("failed: HTTP 409"), "{}", e.message);
    assert_eq!(e.detail.as_deref(), Some("provider said: path/not_found/.."));
}

#[test]
fn hubspot_objects_page_with_after() {
    let p = start("hubspot", "/hubspot");
    let contacts = p.imported("contacts", &[("page_size", "10")]);
    let rows = p.scan_planned(&contacts, vec![], vec![], None).unwrap();
    assert_eq!(rows.len(), 25);
    let fixed = "archived=false&properties=email%2Cfirstname%2Clastname%2Cphone%2Ccompany%2Clifecyclestage";
    assert_eq!(
        p.sent(),
        vec![
            format!("GET /hubspot/crm/v3/objects/contacts?{fixed}&limit=10"),
            format!("GET /hubspot/crm/v3/objects/contacts?{fixed}&limit=10&after=1011"),
            format!("GET /hubspot/crm/v3/objects/contacts?{fixed}&limit=10&after=1021"),
        ]
    );
    assert_eq!(texts(column(&contacts, &rows, "first_name"))[0], "Brian");
    for (resource, count) in [("companies", 6), ("deals", 8)] {
        let table = p.imported(resource, &[]);
        assert_eq!(p.scan_planned(&table, vec![], vec![], None).unwrap().len(), count, "{resource}");
    }
    let deals = p.imported("deals", &[]);
    let rows = p.scan_planned(&deals, vec![], vec![], None).unwrap();
    assert_eq!(column(&deals, &rows, "amount")[0], Cell::Numeric("1250.50".into()));
}

#[test]
fn hubspot_contacts_are_created_updated_and_archived() {
    let p = start("hubspot", "/hubspot");
    let table = p.imported("contacts", &[]);
    let writer = p.open(&table).writer().expect("contacts declare writes");
    let (http, counters, runtime) = (p.http(), Counters::default(), runtime());
    let at = |name: &str| table.columns.iter().position(|c| c.name == name).unwrap();
    let record = connector_core::write::record(
        &table,
        &[(at("email"), json!("new@example.com")), (at("first_name"), json!("Nia"))],
    )
    .unwrap();
    let created = runtime.block_on(writer.insert(&http, vec![record], &counters)).unwrap();
    assert_eq!(created[0]["id"], "1026");
    assert_eq!(created[0]["properties"]["firstname"], "Nia");
    let changes = connector_core::write::record(&table, &[(at("last_name"), json!("Okafor"))]).unwrap();
    let updated = runtime.block_on(writer.update(&http, &text("1026"), changes, &counters)).unwrap();
    assert_eq!(updated["properties"]["lastname"], "Okafor");
    runtime.block_on(writer.delete(&http, &text("1026"), &counters)).unwrap();
    let log = p.requests();
    assert_eq!(
        p.sent(),
        vec![
            // Inserts go to the table's URL, fixed query included (as for any REST table).
            "POST /hubspot/crm/v3/objects/contacts?archived=false&properties=email%2Cfirstname%2Clastname%2Cphone%2Ccompany%2Clifecyclestage",
            "PATCH /hubspot/crm/v3/objects/contacts/1026?",
            "DELETE /hubspot/crm/v3/objects/contacts/1026?"
        ]
    );
    assert_eq!(log[0].body, Some(json!({"properties": {"email": "new@example.com", "firstname": "Nia"}})));
    assert_eq!(log[1].body, Some(json!({"properties": {"lastname": "Okafor"}})));
    // Archived, the contact is gone from the list; a second one with the same email is refused as HubSpot does.
    assert_eq!(p.scan_planned(&table, vec![], vec![], None).unwrap().len(), 25);
    let duplicate =
        connector_core::write::record(&table, &[(at("email"), json!("ada.kernighan5@example.com"))]).unwrap();
    let e = runtime.block_on(writer.insert(&http, vec![duplicate], &counters)).unwrap_err();
    assert!(e.message.contains("HTTP 409"), "{}", e.message);
    assert_eq!(e.detail.as_deref(), Some("provider said: Contact already exists. Existing ID: 1005"));
}

#[test]
fn tables_made_by_hand_read_and_write_the_resource_paths() {
    let p = start("hubspot", "/hubspot");
    // Some of the resource's columns, without options, and one of the table's own.
    let table = TableDef {
        name: "my_contacts".into(),
        options: map(&[("resource", "contacts")]),
        columns: vec![
            ColumnDef::new("id", ColumnType::Text),
            ColumnDef::new("first_name", ColumnType::Text),
            ColumnDef::new("email", ColumnType::Text),
            ColumnDef::new("nickname", ColumnType::Text),
            ColumnDef::new("created", ColumnType::TimestampTz).with_option("path", "$.createdAt"),
        ],
    };
    let rows = p.scan_planned(&table, vec![], vec![], Some(Limit { count: Some(2), offset: 0 })).unwrap();
    assert_eq!(
        rows[0][..4],
        [
            Cell::Text("1001".into()),
            Cell::Text("Brian".into()),
            Cell::Text("brian.lovelace1@example.com".into()),
            Cell::Null
        ]
    );
    assert!(matches!(rows[0][4], Cell::Timestamp(_)));
    let writer = p.open(&table).writer().unwrap();
    let (http, counters, runtime) = (p.http(), Counters::default(), runtime());
    let record = connector_core::write::record(&table, &[(1, json!("Nia")), (2, json!("nia@example.com"))]).unwrap();
    assert_eq!(
        record,
        json!({"first_name": "Nia", "email": "nia@example.com"}),
        "the FDW layer builds records from the table's columns"
    );
    let created = runtime.block_on(writer.insert(&http, vec![record], &counters)).unwrap();
    assert_eq!(
        p.requests().last().unwrap().body,
        Some(json!({"properties": {"firstname": "Nia", "email": "nia@example.com"}}))
    );
    assert_eq!(
        (&created[0]["first_name"], &created[0]["email"]),
        (&json!("Nia"), &json!("nia@example.com")),
        "answers read back like rows"
    );
    let updated =
        runtime.block_on(writer.update(&http, &text("1026"), json!({"first_name": "Nina"}), &counters)).unwrap();
    assert_eq!(p.requests().last().unwrap().body, Some(json!({"properties": {"firstname": "Nina"}})));
    assert_eq!(updated["first_name"], "Nina");
}

#[test]
fn provider_errors_keep_their_messages() {
    let p = start("hubspot", "/hubspot");
    let unauthorized = Provider::with(MockServer::start_blocking(), p.server.clone(), map(&[("token", "wrong")]));
    let table = unauthorized.imported("contacts", &[]);
    let e = unauthorized.scan_planned(&table, vec![], vec![], None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization);
    assert!(e.detail.unwrap().starts_with("provider said: Authentication credentials not found."));
    let g = start("gmail", "/gmail/v1");
    let bad = g.imported("messages", &[("query", "format=full")]);
    let e = g.scan_planned(&bad, vec![], vec![], None).unwrap_err();
    assert!(e.detail.unwrap().contains("Unknown name \"format\": Cannot bind query parameter."));
}

#[test]
fn definitions_registered_at_run_time_are_found_and_can_be_removed() {
    let json = json!({
        "name": "registry_test", "version": "1", "base_url": "https://api.example.com",
        "resources": [{ "name": "things", "path": "/things", "columns": [{ "name": "id", "type": "text" }] }]
    });
    assert!(registry::find("registry_test").is_none());
    registry::register(Definition::parse(&json).unwrap()).unwrap();
    let found = registry::find("registry_test").unwrap();
    assert_eq!(found.defaults().base_url, Some("https://api.example.com"));
    assert!(registry::names().contains(&"registry_test".to_string()));
    assert!(registry::definitions().iter().any(|d| d.name == "registry_test"));
    assert!(validate_server(&ServerDef { name: "s".into(), options: map(&[("connector", "registry_test")]) }).is_ok());
    assert!(registry::unregister("registry_test"));
    assert!(!registry::unregister("registry_test"));
    assert!(registry::find("registry_test").is_none());

    let mut rest = json.clone();
    rest["name"] = json!("rest");
    let e = registry::register(Definition::parse(&rest).unwrap()).unwrap_err();
    assert_eq!(e.message, "connector \"rest\" is built in; a definition needs another name");
    assert!(registry::find("rest").unwrap().defaults().base_url.is_none());

    // A registered definition replaces a shipped one of its name until it is removed.
    let mut gmail = json.clone();
    gmail["name"] = json!("gmail");
    gmail["version"] = json!("99");
    registry::register(Definition::parse(&gmail).unwrap()).unwrap();
    assert!(registry::definitions().iter().any(|d| d.name == "gmail" && d.version == "99"));
    assert_eq!(registry::find("gmail").unwrap().defaults().base_url, Some("https://api.example.com"));
    registry::unregister("gmail");
    assert_eq!(registry::find("gmail").unwrap().defaults().base_url, Some("https://gmail.googleapis.com/gmail/v1"));
}

#[test]
fn server_options_of_a_definition_fill_its_headers() {
    let json = json!({
        "name": "headers_test", "version": "1", "base_url": "https://api.example.com",
        "server_options": { "tenant": { "description": "The tenant every request names" }, "api_version": { "default": "v2" } },
        "headers": { "X-Tenant": "{server.tenant}", "X-Version": "{server.api_version}" },
        "resources": [{ "name": "things", "path": "/things", "columns": [{ "name": "id", "type": "text" }] }]
    });
    registry::register(Definition::parse(&json).unwrap()).unwrap();
    let connector = registry::find("headers_test").unwrap();
    let server = |pairs: &[(&str, &str)]| {
        let mut options = map(&[("connector", "headers_test")]);
        options.extend(map(pairs));
        ServerDef { name: "s".into(), options }
    };
    let pairs = |headers: Vec<(String, String)>| headers.iter().map(|(n, v)| format!("{n}: {v}")).collect::<Vec<_>>();
    // Without a value (no option, no default) the header is left out.
    assert_eq!(pairs(connector.fixed_headers(&server(&[]))), vec!["X-Version: v2"]);
    let both = server(&[("tenant", "acme"), ("api_version", "v3")]);
    validate_server(&both).unwrap();
    assert_eq!(pairs(connector.fixed_headers(&both)), vec!["X-Tenant: acme", "X-Version: v3"]);
    // A value no header can carry is refused by CREATE SERVER.
    let e = validate_server(&server(&[("tenant", "acme\r\nX-Evil: 1")])).unwrap_err();
    assert_eq!(
        e.message,
        "invalid value for option \"tenant\": \"acme\r\nX-Evil: 1\" does not match the pattern [\\x20-\\x7e]*"
    );
    registry::unregister("headers_test");
}

/// The last ```json block after `marker` in docs/definitions.md.
fn docs_example(marker: &str) -> Value {
    let docs = include_str!("../../../docs/definitions.md");
    let after = &docs[docs.find(marker).expect("marker in docs/definitions.md")..];
    let start = after.find("```json\n").unwrap() + "```json\n".len();
    let end = start + after[start..].find("\n```").unwrap();
    serde_json::from_str(&after[start..end]).unwrap()
}

#[test]
fn the_sql_tests_define_the_docs_example() {
    let mut example = docs_example("<!-- complete example -->");
    example.as_object_mut().unwrap().remove("base_url");
    let in_tests: Value = serde_json::from_str(include_str!("../../../tests/data/acme_shop.json")).unwrap();
    assert_eq!(in_tests, example, "tests/data/acme_shop.json must be the docs' example without base_url");
}

#[test]
fn the_docs_example_runs_as_written() {
    let definition = Definition::parse(&docs_example("<!-- complete example -->")).unwrap();
    assert_eq!(definition.name, "acme_shop");
    registry::register(definition).unwrap();
    // The mock's customers stand in for the shop: page style, key in a header.
    let mock = MockServer::start_blocking();
    let base_url = format!("{}/auth/header/page", mock.url());
    let server =
        ServerDef { name: "shop".into(), options: map(&[("connector", "acme_shop"), ("base_url", &base_url)]) };
    let p = Provider::with(mock, server, map(&[("api_key", "test-key")]));
    let customers = p.imported("customers", &[]);
    let quals =
        vec![eq("country", "DE"), Qual { column: "amount".into(), op: Op::Ge, value: V::Numeric("5000".into()) }];
    let sorts = vec![Sort { column: "amount".into(), desc: true, nulls_first: true }];
    let rows = p.scan_planned(&customers, quals, sorts, Some(Limit { count: Some(5), offset: 0 })).unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        p.sent(),
        vec!["GET /auth/header/page/customers?country=DE&amount_gte=5000&_sort=amount&_order=desc&_page=1&_limit=5"]
    );
    let sent = &p.requests()[0];
    assert_eq!((sent.header("x-api-key"), sent.header("x-api-version")), (Some("test-key"), Some("2024-06-01")));
    p.mock.reset();
    let active = p.imported("active_customers", &[("page_size", "100")]);
    let rows = p.scan_planned(&active, vec![], vec![], None).unwrap();
    assert!(rows.len() > 1000 && rows.len() < 2000, "{}", rows.len());
    assert!(p.requests().iter().all(|r| r.param("active").as_deref() == Some("true")));
    assert!(p.open(&active).writer().is_none());
    let writer = p.open(&customers).writer().unwrap();
    assert_eq!(writer.batch_size(), 10);
    registry::unregister("acme_shop");
}
