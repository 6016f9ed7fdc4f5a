use super::*;

const SWAGGER: &[u8] = include_bytes!("../../../../../tests/data/openapi/petstore_swagger2.json");
const OPENAPI_31: &[u8] = include_bytes!("../../../../../tests/data/openapi/shop_openapi31.json");
const MALFORMED: &[u8] = include_bytes!("../../../../../tests/data/openapi/malformed.json");
const SWAGGER_YAML: &[u8] = include_bytes!("../../../../../tests/data/openapi/petstore_swagger2.yaml");

fn tables(body: &[u8], base_path: &str, paging: &[(&str, &str)]) -> Discovery {
    let paging: OptionMap = paging.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Document::parse(body, "doc", ErrorKind::BadFileFormat).unwrap().tables(base_path, &paging).unwrap()
}

fn table<'a>(found: &'a Discovery, name: &str) -> &'a Resource {
    found.resources.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no table {name}: {found:?}"))
}

/// `name type [options]` per column.
fn columns(resource: &Resource) -> Vec<String> {
    resource
        .columns
        .iter()
        .map(|c| {
            let options: Vec<String> = c.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{} {} {}", c.name, c.sql_type, options.join(",")).trim_end().to_string()
        })
        .collect()
}

fn options(pairs: &[(&str, &str)]) -> OptionMap {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn a_yaml_document_imports_like_its_json() {
    let (json, yaml) = (tables(SWAGGER, "/", &[]), tables(SWAGGER_YAML, "/", &[]));
    assert_eq!(json.resources, yaml.resources);
    assert_eq!(json.skipped, yaml.skipped);
    assert!(!yaml.resources.is_empty());
}

#[test]
fn swagger_2_lists_become_tables() {
    let found = tables(SWAGGER, "/", &[]);
    let names: Vec<&str> = found.resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["pets", "find_by_status", "stores"]);
    let by_status = table(&found, "find_by_status");
    assert_eq!(by_status.table_options, options(&[("path", "/api/pet/findByStatus")]));
    assert_eq!(columns(by_status)[2], "status text filter_param=status,required=true");
    let pets = table(&found, "pets");
    assert_eq!(pets.table_options, options(&[("path", "/api/pets")]));
    assert_eq!(pets.description, "GET /pets: List pets");
    assert_eq!(
        columns(pets),
        [
            "id bigint",
            "name text",
            "status text filter_param=status",
            "birth_day date path=$['birthDay']",
            "weight double precision",
            "tag jsonb",
            "photo_urls jsonb path=$['photoUrls']",
        ]
    );
    // A response by reference, the list in its only array member.
    let stores = table(&found, "stores");
    assert_eq!(stores.table_options, options(&[("path", "/api/stores"), ("rows", "$.results[*]")]));
    assert_eq!(columns(stores), ["id integer", "city text", "opened timestamptz", "open boolean"]);
    assert_eq!(
        found.skipped,
        [
            "operation GET /pets/{petId} is left out: it needs the path parameter \"petId\", which a foreign table cannot fill",
            "operation GET /store/inventory is left out: its response is not a list (neither an array nor an object with an array member)",
        ]
    );
}

#[test]
fn openapi_3_1_with_refs_all_of_and_collisions() {
    // The server's base URL ends in the document's server path (`/v1`): table paths are the operations'.
    let found = tables(OPENAPI_31, "/v1", &[("pagination", "page"), ("page_param", "page")]);
    let names: Vec<&str> = found.resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["customers", "v2_customers", "events", "tags"]);
    let customers = table(&found, "customers");
    assert_eq!(
        customers.table_options,
        options(&[("pagination", "page"), ("page_param", "page"), ("path", "/customers"), ("rows", "$.data[*]")])
    );
    assert_eq!(
        columns(customers),
        [
            "id bigint",
            "created_at timestamptz filter_param=createdAt,path=$['createdAt']",
            "name text",
            "country text filter_param=country",
            "balance numeric",
            "score double precision",
            "visits integer",
            "active boolean",
            "signup_date date path=$['signupDate']",
            "address jsonb",
            "tags jsonb",
            "external_id text path=$['external id']",
        ]
    );
    assert_eq!(table(&found, "v2_customers").table_options["path"], "/v2/customers");
    assert!(!table(&found, "v2_customers").table_options.contains_key("rows"));
    // A required parameter named like a column is required on the column; a JSON media type of its own.
    let events = table(&found, "events");
    assert_eq!(events.table_options["rows"], "$.items[*]");
    assert_eq!(columns(events), ["id text", "type text filter_param=type,required=true", "payload jsonb"]);
    // A list of scalars: one column with the whole item.
    assert_eq!(columns(table(&found, "tags")), ["value text path=$"]);
    let skipped = found.skipped.join("\n");
    assert!(skipped.contains("GET /customers/{id} is left out: it needs the path parameter \"id\""), "{skipped}");
    assert!(skipped.contains("GET /users/{id}/posts is left out"), "{skipped}");
    assert!(
        skipped.contains(
            "GET /audit is left out: it requires the query parameter \"since\", which no column or paging option sends"
        ),
        "{skipped}"
    );
    assert!(skipped.contains("GET /health is left out: its response is not a list"), "{skipped}");
    assert!(skipped.contains("GET /reports is left out: #/paths/~1reports/get/responses/200/content/application~1json/schema refers to \"https://example.com/schemas/report-list.json\", outside the document"), "{skipped}");
    // Under the origin, tables get the document's server path; a paging option sends a required parameter.
    let found = tables(OPENAPI_31, "/", &[("pagination", "offset"), ("offset_param", "since")]);
    assert_eq!(table(&found, "customers").table_options["path"], "/v1/customers");
    assert!(found.resources.iter().any(|r| r.name == "audit"));
}

#[test]
fn bad_documents_say_where() {
    let e = Document::parse(MALFORMED, "OpenAPI document \"/x.json\"", ErrorKind::BadFileFormat).err().unwrap();
    assert_eq!(e.kind, ErrorKind::BadFileFormat);
    assert_eq!(
        e.message,
        "OpenAPI document \"/x.json\" does not parse as JSON: expected `,` or `}` at line 7 column 55"
    );
    let e = Document::parse(b"openapi: 3.1.0\npaths: {a: [1\n", "doc", ErrorKind::BadResponse).err().unwrap();
    assert_eq!(e.kind, ErrorKind::BadResponse);
    assert!(e.message.starts_with("doc does not parse as YAML: "), "{}", e.message);
    assert!(e.message.contains(" line 3 column "), "{}", e.message);
    let e = Document::parse(br#"{"openapi": "3.2.0"}"#, "doc", ErrorKind::BadResponse).err().unwrap();
    assert_eq!(e.kind, ErrorKind::NotSupported);
    assert_eq!(
        e.message,
        "doc has version \"3.2.0\" (#/openapi), which is not supported: Swagger 2.0, OpenAPI 3.0 and 3.1 are"
    );
    let e = Document::parse(br#"{"swagger": "1.2"}"#, "doc", ErrorKind::BadResponse).err().unwrap();
    assert_eq!(e.kind, ErrorKind::NotSupported);
    let e = Document::parse(br#"{"info": {}}"#, "doc", ErrorKind::BadResponse).err().unwrap();
    assert_eq!(e.message, "doc is not an OpenAPI document: it has neither an \"openapi\" nor a \"swagger\" member");
    let e = Document::parse(br#"[1]"#, "doc", ErrorKind::BadResponse).err().unwrap();
    assert!(e.message.ends_with("its top level is not an object"));
    let doc = Document::parse(br#"{"openapi": "3.0.1", "paths": []}"#, "doc", ErrorKind::BadResponse).unwrap();
    let e = doc.tables("/", &OptionMap::new()).err().unwrap();
    assert_eq!(e.message, "doc is malformed at #/paths: it is not an object");
    // A reference cycle is a warning about its operation, not a hang.
    let cyclic = br##"{"openapi": "3.0.0", "paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json":
            {"schema": {"$ref": "#/components/schemas/A"}}}}}}}}, "components": {"schemas": {"A": {"$ref": "#/components/schemas/A"}}}}"##;
    let found = Document::parse(cyclic, "doc", ErrorKind::BadResponse).unwrap().tables("/", &OptionMap::new()).unwrap();
    assert!(found.resources.is_empty());
    assert!(found.skipped[0].contains("too many references"), "{:?}", found.skipped);
}

#[test]
fn import_options_are_checked() {
    let e = import_request(&options(&[("openapi_url", "/o.json"), ("rows", "$.x")])).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidOptionName);
    assert_eq!(e.message, "invalid option \"rows\" for IMPORT FOREIGN SCHEMA openapi");
    assert_eq!(e.hint.unwrap(), "Valid options are: openapi_url, openapi_file, pagination, page_param, page_size_param, page_size, first_page, offset_param, limit_param, cursor_param, cursor_path, has_more_path, total_path, total_header, next_url_path.");
    assert_eq!(import_request(&OptionMap::new()).unwrap_err().kind, ErrorKind::MissingOption);
    let both = options(&[("openapi_url", "/o.json"), ("openapi_file", "/o.json")]);
    assert_eq!(import_request(&both).unwrap_err().kind, ErrorKind::InvalidOptionValue);
    let e = import_request(&options(&[("openapi_file", "o.json")])).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidOptionValue);
    let e = import_request(&options(&[("openapi_url", "/o.json"), ("pagination", "pages")])).unwrap_err();
    assert!(e.message.starts_with("invalid value for option \"pagination\""), "{}", e.message);
    let request = import_request(&options(&[("openapi_file", "/o.json"), ("page_size", "50")])).unwrap();
    assert_eq!(request.source, Source::File("/o.json".into()));
    assert_eq!(request.paging, options(&[("page_size", "50")]));
    assert!(no_import_options(&OptionMap::new(), "file").is_ok());
    assert_eq!(no_import_options(&options(&[("x", "1")]), "file").unwrap_err().kind, ErrorKind::InvalidOptionName);
}

#[test]
fn snake_names() {
    assert_eq!(snake_name("createdAt"), "created_at");
    assert_eq!(snake_name("photoURLs"), "photo_urls");
    assert_eq!(snake_name("address2Line"), "address2_line");
    assert_eq!(snake_name("id"), "id");
    assert_eq!(rows_path("data"), "$.data[*]");
    assert_eq!(rows_path("the list"), "$['the list'][*]");
}

fn server(mock: &mockapi::MockServer, auth: &str) -> ServerDef {
    ServerDef {
        name: "s".into(),
        options: options(&[
            ("connector", "rest"),
            ("base_url", &mock.url()),
            ("auth", auth),
            ("max_response_bytes", "100000"),
        ]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_through_the_servers_client() {
    let mock = mockapi::MockServer::start().await;
    let s = server(&mock, "bearer");
    let token = options(&[("token", mockapi::TEST_TOKEN)]);
    let http = super::super::http_client(&s, &token, None).unwrap();
    let request =
        import_request(&options(&[("openapi_url", "/openapi/private/customers.json"), ("pagination", "page")]))
            .unwrap();
    let found = import(&s, &http, &request).await.unwrap();
    let names: Vec<&str> = found.resources.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["customers", "plain_customers"]);
    let sent = mock.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/openapi/private/customers.json");
    // Credentials go to the server's origin only: the same document at another origin is fetched
    // without them, and refused.
    let other = mock.url().replace("127.0.0.1", "localhost");
    let request =
        import_request(&options(&[("openapi_url", &format!("{other}/openapi/private/customers.json"))])).unwrap();
    let e = import(&s, &http, &request).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Authorization, "{e:?}");
    // A response larger than max_response_bytes is refused.
    let small = ServerDef {
        options: {
            let mut o = s.options.clone();
            o.insert("max_response_bytes".into(), "100".into());
            o
        },
        ..s.clone()
    };
    let http = super::super::http_client(&small, &token, None).unwrap();
    let request = import_request(&options(&[("openapi_url", "/openapi/customers.json")])).unwrap();
    assert_eq!(import(&small, &http, &request).await.unwrap_err().kind, ErrorKind::LimitExceeded);
    // A malformed document names its URL.
    let http = super::super::http_client(&s, &token, None).unwrap();
    let request = import_request(&options(&[("openapi_url", "/openapi/broken.json")])).unwrap();
    let e = import(&s, &http, &request).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadResponse);
    assert!(
        e.message.starts_with(&format!(
            "OpenAPI document at {}/openapi/broken.json does not parse as JSON: EOF while parsing",
            mock.url()
        )),
        "{}",
        e.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_a_server_file() {
    let mock = mockapi::MockServer::start().await;
    let s = server(&mock, "none");
    let http = super::super::http_client(&s, &OptionMap::new(), None).unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/openapi");
    let request = import_request(&options(&[("openapi_file", &format!("{dir}/petstore_swagger2.json"))])).unwrap();
    let found = import(&s, &http, &request).await.unwrap();
    assert_eq!(found.resources.len(), 3);
    assert!(mock.requests().is_empty());
    let request = import_request(&options(&[("openapi_file", &format!("{dir}/malformed.json"))])).unwrap();
    let e = import(&s, &http, &request).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadFileFormat);
    assert!(
        e.message.starts_with(&format!("OpenAPI document \"{dir}/malformed.json\" does not parse as JSON")),
        "{}",
        e.message
    );
    let request = import_request(&options(&[("openapi_file", &format!("{dir}/missing.json"))])).unwrap();
    assert_eq!(import(&s, &http, &request).await.unwrap_err().kind, ErrorKind::FileNotFound);
    // The server's max_response_bytes bounds a file too.
    let small = ServerDef {
        options: {
            let mut o = s.options.clone();
            o.insert("max_response_bytes".into(), "10".into());
            o
        },
        ..s.clone()
    };
    let http = super::super::http_client(&small, &OptionMap::new(), None).unwrap();
    let request = import_request(&options(&[("openapi_file", &format!("{dir}/petstore_swagger2.json"))])).unwrap();
    assert_eq!(import(&small, &http, &request).await.unwrap_err().kind, ErrorKind::LimitExceeded);
}
