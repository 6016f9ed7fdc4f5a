use super::*;
use serde_json::json;

/// A small valid definition; tests break one field at a time.
fn valid() -> Value {
    json!({
        "name": "shop",
        "version": "1",
        "base_url": "https://api.shop.example/v1",
        "auth": { "kind": "api_key", "api_key_name": "X-Shop-Key" },
        "headers": { "Shop-Version": "2024-06" },
        "rate_limit": 5,
        "resources": [{
            "name": "orders",
            "path": "/orders",
            "rows": "$.data",
            "sort": { "param": "sort" },
            "pagination": { "style": "cursor", "cursor_param": "after", "cursor_path": "$.next", "size_param": "limit", "page_size": 50 },
            "columns": [
                { "name": "id", "type": "bigint", "filters": { "=": "id" } },
                { "name": "total", "type": "numeric", "path": "$.amount.total", "filters": { ">=": "min_total" }, "sortable": "amount" },
                { "name": "status", "type": "text" }
            ],
            "write": { "key_column": "id", "batch_size": 10, "insert_wrapper": "orders" }
        }]
    })
}

/// `valid()` with the member at `pointer` set to `value` (or removed for null).
fn with(pointer: &str, value: Value) -> Value {
    let mut doc = valid();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = doc.pointer_mut(parent).unwrap();
    match (target, value) {
        (Value::Object(map), Value::Null) => {
            map.remove(key);
        }
        (Value::Object(map), value) => {
            map.insert(key.to_string(), value);
        }
        (Value::Array(items), value) => items[key.parse::<usize>().unwrap()] = value,
        _ => panic!("{pointer}"),
    }
    doc
}

fn error(doc: Value) -> String {
    let e = definition(&doc).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidOptionValue);
    e.message
}

#[test]
fn a_valid_definition_becomes_rest_options() {
    let d = definition(&valid()).unwrap();
    assert_eq!((d.name.as_str(), d.version.as_str(), d.rate_limit), ("shop", "1", Some(5.0)));
    assert_eq!(d.auth.kind, "api_key");
    assert_eq!(d.auth.options, [("api_key_name".to_string(), "X-Shop-Key".to_string())].into());
    assert_eq!(d.headers, vec![("Shop-Version".to_string(), "2024-06".to_string())]);
    let r = &d.resources[0];
    assert_eq!(r.page_size, Some(50));
    assert!(r.writable);
    let option = |name: &str| r.options.get(name).map(String::as_str);
    assert_eq!(option("pagination"), Some("cursor"));
    assert_eq!(option("cursor_param"), Some("after"));
    assert_eq!(option("page_size_param"), Some("limit"));
    assert_eq!(option("sort_param"), Some("sort"));
    assert_eq!(option("batch_size"), Some("10"));
    assert_eq!(option("page_size"), None, "the resource's page size yields to a server's");
    let total = r.column("total").unwrap();
    assert_eq!(total.sql_type, "numeric");
    assert_eq!(total.options.get("filter_param_gte").map(String::as_str), Some("min_total"));
    assert_eq!(total.options.get("sortable").map(String::as_str), Some("amount"));
    assert_eq!(total.options.get("path").map(String::as_str), Some("$.amount.total"));
}

#[test]
fn query_objects_and_type_spellings_are_accepted() {
    let doc = with("/resources/0/query", json!({ "$select": "id,total", "expand": true }));
    let d = definition(&doc).unwrap();
    assert_eq!(d.resources[0].options["query"], "%24select=id%2Ctotal&expand=true");
    let d = definition(&with("/resources/0/columns/2/type", json!("TIMESTAMP WITH TIME ZONE"))).unwrap();
    assert_eq!(d.resources[0].columns[2].sql_type, "timestamptz");
}

#[test]
fn missing_fields_are_named_by_their_path() {
    assert_eq!(error(with("/name", Value::Null)), "name: missing");
    assert_eq!(error(with("/resources/0/path", Value::Null)), "resources[0].path: missing");
    assert_eq!(error(with("/resources/0/columns/1/type", Value::Null)), "resources[0].columns[1].type: missing");
    assert_eq!(error(with("/resources", json!([]))), "resources: must not be empty");
    assert_eq!(
        error(with("/resources/0/pagination/cursor_path", Value::Null)),
        "resources[0].pagination.cursor_path: missing (cursor paging reads the next cursor there, e.g. \"$.next_cursor\")"
    );
    assert_eq!(
        error(with("/auth", json!({ "kind": "oauth2" }))),
        "auth.token_url: missing (OAuth 2.0 needs the token endpoint)"
    );
}

#[test]
fn bad_values_are_named_by_their_path() {
    assert_eq!(
        error(with("/resources/0/pagination/style", json!("pages"))),
        "resources[0].pagination.style: \"pages\" is not one of: none, page, offset, cursor, link"
    );
    assert_eq!(
        error(with("/resources/0/columns/2/path", json!("$.x["))),
        "resources[0].columns[2].path: JSONPath \"$.x[\" does not parse: at position 5: expected selector"
    );
    assert_eq!(
        error(with("/resources/0/columns/2/type", json!("strng"))),
        "resources[0].columns[2].type: \"strng\" is not one of: text, smallint, integer, bigint, real, double precision, numeric, boolean, date, timestamp, timestamptz, uuid, json, jsonb, text[]"
    );
    assert_eq!(error(with("/rate_limit", json!("fast"))), "rate_limit: \"fast\" is not a number");
    assert_eq!(error(with("/base_url", json!("ftp://x"))), "base_url: \"ftp://x\" is not an http or https URL");
    assert_eq!(
        error(with("/resources/0/pagination/page_size", json!(0))),
        "resources[0].pagination.page_size: \"0\" is outside 1..100000"
    );
    assert_eq!(
        error(with("/resources/0/write/insert_method", json!("GET"))),
        "resources[0].write.insert_method: \"GET\" is not one of: POST, PUT"
    );
    assert_eq!(error(with("/resources/0/rows", json!(5))), "resources[0].rows: must be a string, not a number");
    assert_eq!(
        error(with("/name", json!("Shop!"))),
        "name: \"Shop!\" must be lower-case letters, digits and _, starting with a letter (at most 63)"
    );
    assert_eq!(error(with("/headers", json!({ "Bad Header": "x" }))), "headers.Bad Header: is not a valid header name");
    assert_eq!(
        error(with("/resources/0/columns/0/filters", json!({ "=": "$filter=id eq" }))),
        "resources[0].columns[0].filters.=: \"$filter=id eq\" is neither a parameter name nor a template \"parameter=…{value}…\""
    );
    assert_eq!(
        error(with("/resources/0/columns/0/filters", json!({ "~": "q" }))),
        "resources[0].columns[0].filters.~: unknown field (known: =, <>, >, >=, <, <=)"
    );
}

#[test]
fn unknown_fields_are_refused() {
    let mut doc = valid();
    doc["resources"][0]["paginaton"] = json!({});
    assert_eq!(
        error(doc),
        "resources[0].paginaton: unknown field (known: name, description, path, rows, query, method, body, item_path, filter_join, sort, pagination, columns, write, item_lookup, success_path, error_path, fields_param, custom_fields, expand, search, terms, rate_limit, partition_column, partition_order, detail)"
    );
    let mut doc = valid();
    doc["resources"][0]["columns"][0]["filter"] = json!("id");
    assert!(error(doc).starts_with("resources[0].columns[0].filter: unknown field"));
}

#[test]
fn combinations_are_checked() {
    assert_eq!(
        error(with("/resources/0/pagination/page_param", json!("p"))),
        "resources[0].pagination.page_param: is not used with style \"cursor\" (only with page)"
    );
    assert_eq!(
        error(with("/resources/0/body", json!({ "a": 1 }))),
        "resources[0].body: is sent only with \"method\": \"POST\""
    );
    assert_eq!(
        error(with("/resources/0/pagination/cursor_in", json!("body"))),
        "resources[0].pagination.cursor_in: \"body\" needs \"method\": \"POST\""
    );
    assert_eq!(
        error(with("/auth/token_url", json!("https://x/token"))),
        "auth.token_url: is not used with kind \"api_key\""
    );
    assert_eq!(
        error(with("/resources/0/sort", Value::Null)),
        "resources[0].columns[1].sortable: needs \"sort\": {\"param\": …} or \"terms\": {\"sort\": …} on the resource"
    );
    assert_eq!(
        error(with("/resources/0/columns/2/echo", json!(true))),
        "resources[0].columns[2].echo: needs an \"=\" filter: the column shows the value its = condition sends"
    );
    assert_eq!(
        error(with("/resources/0/item_path", json!("/orders/id"))),
        "resources[0].item_path: \"/orders/id\" has no {key} for the record's key"
    );
    assert_eq!(
        error(with("/resources/0/write/key_column", json!("number"))),
        "resources[0].write.key_column: \"number\" is not a column of the resource"
    );
    let mut doc = valid();
    let again = doc["resources"][0].clone();
    doc["resources"].as_array_mut().unwrap().push(again);
    assert_eq!(error(doc), "resources[1].name: \"orders\" names an earlier resource too");
    assert_eq!(
        error(with("/resources/0/path", json!("/orders?x=1"))),
        "resources[0].path: must not contain a query string; put parameters in \"query\""
    );
}

#[test]
fn expansions_become_rest_options() {
    let mut doc = valid();
    doc["resources"][0]["expand"] = json!({ "param": "expand[]", "prefix": "data." });
    doc["resources"][0]["columns"][2]["expand"] = json!("customer");
    let d = definition(&doc).unwrap();
    let option = |name: &str| d.resources[0].options.get(name).map(String::as_str);
    assert_eq!((option("expand_param"), option("expand_prefix")), (Some("expand[]"), Some("data.")));
    assert_eq!(d.resources[0].columns[2].options["expand"], "customer");
    doc["resources"][0]["columns"][2]["path"] = json!("$.customer");
    assert_eq!(
        error(doc.clone()),
        "resources[0].columns[2].expand: the column reads the expanded object at its own name: leave out \"path\""
    );
    doc["resources"][0]["expand"] = json!({ "prefix": "data." });
    assert_eq!(error(doc.clone()), "resources[0].expand.param: missing");
    doc["resources"][0]["expand"] = json!({ "param": "expand", "list_prefix": "data." });
    assert!(error(doc).starts_with("resources[0].expand.list_prefix: unknown field"));
}

#[test]
fn custom_fields_are_checked() {
    let fields = json!({ "path": "/fields/orders", "query": { "limit": 100 }, "rows": "$.data", "name": "$.label", "key": "$.id",
                         "type": "$.kind", "multiple": "$.many", "column_path": "$.custom[\"{key}\"]",
                         "types": { "number": "NUMERIC", "when": "timestamp with time zone" }, "default_type": "jsonb" });
    let d = definition(&with("/resources/0/custom_fields", fields.clone())).unwrap();
    let spec = d.resources[0].custom_fields.clone().unwrap();
    assert_eq!(
        (spec.path.as_str(), spec.query.as_deref(), spec.column_path.as_str()),
        ("/fields/orders", Some("limit=100"), "$.custom[\"{key}\"]")
    );
    assert_eq!(
        spec.types,
        vec![("number".to_string(), "numeric".to_string()), ("when".to_string(), "timestamptz".to_string())]
    );
    assert_eq!((spec.name.to_string(), spec.default_type.as_str()), ("$.label".to_string(), "jsonb"));
    assert!(definition(&valid()).unwrap().resources[0].custom_fields.is_none());
    let broken = |member: &str, value: Value| {
        let mut doc = with("/resources/0/custom_fields", fields.clone());
        doc["resources"][0]["custom_fields"][member] = value;
        error(doc)
    };
    assert_eq!(
        broken("column_path", json!("$.custom.cf")),
        "resources[0].custom_fields.column_path: \"$.custom.cf\" has no {key} for the field's key"
    );
    assert_eq!(
        broken("types", json!({ "number": "decimal" })).split(" is not").next(),
        Some("resources[0].custom_fields.types.number: \"decimal\"")
    );
    assert_eq!(broken("key", Value::Null), "resources[0].custom_fields.key: missing");
    assert!(broken("name", json!("$.x[")).starts_with("resources[0].custom_fields.name: JSONPath"));
    assert!(broken("typ", json!("$.t")).starts_with("resources[0].custom_fields.typ: unknown field (known: path, query, rows, has_more_path, offset_param, name, key, type,"));
    assert_eq!(
        broken("has_more_path", json!("$.has_more")),
        "resources[0].custom_fields.has_more_path: pages only with \"offset_param\" too"
    );
    assert_eq!(
        broken("path", json!("/f?x=1")),
        "resources[0].custom_fields.path: must not contain a query string; put parameters in \"query\""
    );
}

#[test]
fn server_options_fill_headers() {
    let mut doc = valid();
    doc["server_options"] = json!({ "shop_version": { "default": "2024-06", "pattern": "[0-9]{4}-[0-9]{2}", "description": "API version" },
                                   "shop_account": {} });
    doc["headers"] = json!({ "Shop-Version": "v={server.shop_version}", "Shop-Account": "{server.shop_account}" });
    let d = definition(&doc).unwrap();
    let version = &d.server_options.iter().find(|o| o.spec.name == "shop_version").unwrap();
    assert_eq!((version.default.as_deref(), version.description.as_str()), (Some("2024-06"), "API version"));
    assert_eq!(version.spec.kind, Kind::Matches(Pattern::new("[0-9]{4}-[0-9]{2}").unwrap()));
    // An option a header names without a pattern takes what a header can carry.
    let account = &d.server_options.iter().find(|o| o.spec.name == "shop_account").unwrap();
    assert_eq!(account.spec.kind, Kind::Matches(Pattern::new("[\\x20-\\x7e]*").unwrap()));
    assert_eq!(d.headers[1], ("Shop-Version".to_string(), "v={server.shop_version}".to_string()));
    let broken = |options: Value, headers: Value| {
        let mut doc = valid();
        doc["server_options"] = options;
        doc["headers"] = headers;
        error(doc)
    };
    assert_eq!(
        broken(json!({ "v": { "default": "2024", "pattern": "[0-9]{4}-[0-9]{2}" } }), json!({})),
        "server_options.v.default: \"2024\" does not match the pattern [0-9]{4}-[0-9]{2}"
    );
    assert_eq!(
        broken(json!({ "v": { "pattern": "[0-9" } }), json!({})).split(':').next(),
        Some("server_options.v.pattern")
    );
    assert_eq!(
        broken(json!({}), json!({ "X-V": "{server.v}" })),
        "headers.X-V: {server.v} names no option of \"server_options\""
    );
    assert_eq!(
        broken(json!({ "page_size": {} }), json!({})),
        "server_options.page_size: is an option of every server; a definition sets its default elsewhere (base_url, auth, rate_limit, …)"
    );
    assert!(broken(json!({ "v": { "dflt": "x" } }), json!({}))
        .starts_with("server_options.v.dflt: unknown field (known: default, description, pattern)"));
    assert_eq!(
        broken(json!({ "V": {} }), json!({})),
        "server_options.V: \"V\" must be lower-case letters, digits and _, starting with a letter (at most 63)"
    );
}

#[test]
fn terms_and_sort_keys_become_rest_options() {
    let mut doc = valid();
    doc["resources"][0]["terms"] = json!({ "param": "q", "join": " ", "quote": "\"", "escape": "\\", "time_precision": "minute", "sort": "sort:{field}" });
    doc["resources"][0]["sort"] = json!({ "param": "order", "max_keys": 1 });
    doc["resources"][0]["columns"][2]["terms"] = json!({ "=": "status:{value}", ">=": "status>={value}" });
    let d = definition(&doc).unwrap();
    let option = |name: &str| d.resources[0].options.get(name).map(String::as_str);
    assert_eq!(
        [
            option("terms_param"),
            option("terms_join"),
            option("terms_quote"),
            option("terms_escape"),
            option("terms_time_precision"),
            option("terms_sort"),
            option("sort_max_keys")
        ],
        [Some("q"), Some(" "), Some("\""), Some("\\"), Some("minute"), Some("sort:{field}"), Some("1")]
    );
    let status = &d.resources[0].columns[2].options;
    assert_eq!((status["term"].as_str(), status["term_gte"].as_str()), ("status:{value}", "status>={value}"));
    // A sort in the terms makes columns sortable without a sort parameter.
    let mut terms_sorted = doc.clone();
    terms_sorted["resources"][0]["sort"] = Value::Null;
    assert!(definition(&terms_sorted).is_ok());
    let broken = |pointer: &str, value: Value| {
        let mut broken = doc.clone();
        *broken.pointer_mut(pointer).unwrap() = value;
        error(broken)
    };
    assert_eq!(
        broken("/resources/0/columns/2/terms", json!({ "=": "status" })),
        "resources[0].columns[2].terms.=: \"status\" has no {value} for the condition's value"
    );
    assert!(broken("/resources/0/columns/2/terms", json!({ "~": "s:{value}" }))
        .starts_with("resources[0].columns[2].terms.~: unknown field (known: =, <>, >, >=, <, <=)"));
    assert_eq!(
        broken("/resources/0/terms/sort", json!("sort:")),
        "resources[0].terms.sort: \"sort:\" has no {field} for the sorted field"
    );
    assert_eq!(
        broken("/resources/0/terms/time_precision", json!("hour")),
        "resources[0].terms.time_precision: \"hour\" is not one of: second, minute"
    );
    assert_eq!(broken("/resources/0/sort/max_keys", json!(0)), "resources[0].sort.max_keys: \"0\" is outside 1..8");
    assert_eq!(
        broken("/resources/0/terms", Value::Null),
        "resources[0].columns[2].terms: needs \"terms\": {\"param\": …} on the resource"
    );
}

#[test]
fn errors_point_to_the_format() {
    let e = definition(&json!([])).unwrap_err();
    assert_eq!(e.message, "definition: must be a JSON object, not an array");
    assert!(e.hint.unwrap().contains("docs/definitions.md"));
}

#[test]
fn lookups_body_errors_and_write_variants_become_rest_options() {
    let mut doc = valid();
    doc["resources"][0]["item_lookup"] = json!(true);
    doc["resources"][0]["success_path"] = json!("$.ok");
    doc["resources"][0]["columns"][1]["filters"] = json!({ ">=": "created[gte]={epoch}" });
    doc["resources"][0]["write"] =
        json!({ "format": "form", "insert_path": "/orders/new", "operations": ["insert", "update"] });
    let d = definition(&doc).unwrap();
    let option = |name: &str| d.resources[0].options.get(name).map(String::as_str);
    assert_eq!((option("item_lookup"), option("success_path")), (Some("true"), Some("$.ok")));
    assert_eq!(
        (option("write_format"), option("insert_path"), option("write_operations")),
        (Some("form"), Some("/orders/new"), Some("insert,update"))
    );
    assert_eq!(d.resources[0].columns[1].options["filter_param_gte"], "created[gte]={epoch}");
    doc["resources"][0]["write"]["returning_members"] = json!({ "channel": "$.channel" });
    assert_eq!(definition(&doc).unwrap().resources[0].options["returning_members"], r#"{"channel":"$.channel"}"#);
    doc["resources"][0]["write"]["returning_members"] = json!({ "channel": "$.x[" });
    assert!(error(doc.clone()).starts_with("resources[0].write.returning_members.channel: JSONPath"));
    doc["resources"][0]["write"]["returning_members"] = json!(["$.channel"]);
    assert_eq!(error(doc.clone()), "resources[0].write.returning_members: must be a JSON object, not an array");
    doc["resources"][0]["write"]["returning_members"] = Value::Null;
    doc["resources"][0]["write"]["operations"] = json!(["insert", "upsert"]);
    assert_eq!(
        error(doc.clone()),
        "resources[0].write.operations: \"upsert\" is not one of: \"insert\", \"update\", \"delete\""
    );
    doc["resources"][0]["write"]["operations"] = json!("insert");
    assert_eq!(
        error(doc.clone()),
        "resources[0].write.operations: must be a non-empty array of operations, not a string"
    );
    doc["resources"][0]["write"] = json!({ "format": "xml" });
    assert_eq!(error(doc.clone()), "resources[0].write.format: \"xml\" is not one of: json, form");
    doc["resources"][0]["write"] = json!({});
    doc["resources"][0]["columns"][2]["required"] = json!(true);
    assert_eq!(
        error(doc.clone()),
        "resources[0].columns[2].required: needs \"filters\": the condition it requires must be pushed"
    );
    doc["resources"][0]["columns"][0]["required"] = json!(true);
    doc["resources"][0]["columns"][2]["required"] = json!(false);
    assert_eq!(definition(&doc).unwrap().resources[0].columns[0].options["required"], "true");
    doc["resources"][0]["error_path"] = json!("$.errors[");
    assert!(error(doc).starts_with("resources[0].error_path: JSONPath"));
}

#[test]
fn credential_shapes_and_required_hints_are_checked() {
    let auth = |members: Value| error(with("/auth", members));
    let shaped =
        json!({ "kind": "bearer", "credential_pattern": "sk_[a-z]+", "credential_hint": "Keys look like sk_…." });
    let d = definition(&with("/auth", shaped)).unwrap();
    let shape = d.auth.credential.unwrap();
    // The whole credential must match.
    assert!(
        shape.pattern.is_match("sk_abc") && !shape.pattern.is_match("xsk_abc") && !shape.pattern.is_match("sk_abc1")
    );
    assert_eq!(shape.hint, "Keys look like sk_….");
    assert_eq!(
        auth(json!({ "kind": "bearer", "credential_pattern": "sk_[a-z" , "credential_hint": "x" })).split(':').next(),
        Some("auth.credential_pattern")
    );
    assert_eq!(
        auth(json!({ "kind": "bearer", "credential_pattern": "sk_.*" })),
        "auth.credential_hint: missing (say what a valid credential looks like, e.g. \"Keys look like key_….\")"
    );
    assert_eq!(
        auth(json!({ "kind": "bearer", "credential_hint": "x" })),
        "auth.credential_hint: is shown only with \"credential_pattern\""
    );
    assert_eq!(
        auth(json!({ "kind": "basic", "credential_pattern": "x", "credential_hint": "x" })),
        "auth.credential_pattern: is not used with kind \"basic\""
    );
    assert!(definition(&valid()).unwrap().auth.credential.is_none());
    let mut doc = valid();
    doc["resources"][0]["columns"][0]["required"] = json!(true);
    doc["resources"][0]["columns"][0]["required_hint"] = json!("Add WHERE id = 1.");
    assert_eq!(definition(&doc).unwrap().resources[0].columns[0].options["required_hint"], "Add WHERE id = 1.");
    doc["resources"][0]["columns"][0]["required"] = json!(false);
    assert_eq!(error(doc), "resources[0].columns[0].required_hint: is shown only with \"required\": true");
}

#[test]
fn search_endpoints_become_rest_options() {
    let mut doc = valid();
    doc["resources"][0]["search"] = json!({ "path": "/orders/search", "query_param": "q", "join": " && ", "cursor_param": "p", "cursor_path": "$.next" });
    doc["resources"][0]["columns"][2]["search"] = json!("status");
    let d = definition(&doc).unwrap();
    let option = |name: &str| d.resources[0].options.get(name).map(String::as_str);
    assert_eq!(
        (
            option("search_path"),
            option("search_param"),
            option("search_join"),
            option("search_cursor_param"),
            option("search_cursor_path")
        ),
        (Some("/orders/search"), Some("q"), Some(" && "), Some("p"), Some("$.next"))
    );
    assert_eq!(d.resources[0].columns[2].options["search"], "status");
    doc["resources"][0]["search"] = json!({ "query_param": "q" });
    assert_eq!(error(doc.clone()), "resources[0].search.path: missing");
    doc["resources"][0]["search"] = json!({ "path": "/s", "cursor": "p" });
    assert!(error(doc.clone()).starts_with("resources[0].search.cursor: unknown field"));
    doc["resources"][0]["search"] = Value::Null;
    assert_eq!(error(doc), "resources[0].columns[2].search: needs \"search\": {\"path\": …} on the resource");
}
