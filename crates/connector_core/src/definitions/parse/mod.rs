//! Validation of a definition document. Every error names the field at fault by its path in the document
//! (`resources[0].columns[3].path: …`); a field the format does not know is an error too, so a misspelt
//! setting cannot pass silently.

use super::{server_placeholders, AuthSpec, ColumnSpec, CustomFieldsSpec, Definition, ResourceSpec, ServerOptionSpec};
use crate::connectors::rest::{self, Rest, PAGINATIONS};
use crate::connectors::{Connector, CredentialShape, ServerDef, AUTH_KINDS};
use crate::error::{Error, ErrorKind, Result};
use crate::jsonpath::JsonPath;
use crate::model::{ColumnDef, ColumnType, TableDef};
use crate::options::{check_kind, Kind, OptionMap, OptionSpec, Pattern};
use serde_json::{Map, Value};

/// Column types a definition may declare: accepted spellings, and the name IMPORT FOREIGN SCHEMA uses.
const TYPES: [(&[&str], &str); 15] = [
    (&["text"], "text"),
    (&["smallint", "int2"], "smallint"),
    (&["integer", "int", "int4"], "integer"),
    (&["bigint", "int8"], "bigint"),
    (&["real", "float4"], "real"),
    (&["double precision", "float8"], "double precision"),
    (&["numeric"], "numeric"),
    (&["boolean", "bool"], "boolean"),
    (&["date"], "date"),
    (&["timestamp", "timestamp without time zone"], "timestamp"),
    (&["timestamptz", "timestamp with time zone"], "timestamptz"),
    (&["uuid"], "uuid"),
    (&["json"], "json"),
    (&["jsonb"], "jsonb"),
    (&["text[]"], "text[]"),
];

/// The pushable operators a column's `filters` may name, and the REST option each becomes.
const OPERATORS: [(&str, &str); 6] = [
    ("=", "filter_param"),
    ("<>", "filter_param_ne"),
    (">", "filter_param_gt"),
    (">=", "filter_param_gte"),
    ("<", "filter_param_lt"),
    ("<=", "filter_param_lte"),
];

/// The operators a column's `terms` may name, and the REST option each becomes.
const TERM_OPERATORS: [(&str, &str); 6] =
    [("=", "term"), ("<>", "term_ne"), (">", "term_gt"), (">=", "term_gte"), ("<", "term_lt"), ("<=", "term_lte")];

/// `pagination` fields: the REST option each is, and the styles that read it.
const PAGING_FIELDS: [(&str, &str, &[&str]); 13] = [
    ("page_size", "page_size", &["page", "offset", "cursor", "link"]),
    ("size_param", "page_size_param", &["page", "cursor", "link"]),
    ("page_param", "page_param", &["page"]),
    ("first_page", "first_page", &["page"]),
    ("offset_param", "offset_param", &["offset"]),
    ("limit_param", "limit_param", &["none", "offset"]),
    ("total_path", "total_path", &["page", "offset"]),
    ("has_more_path", "has_more_path", &["page", "offset", "cursor"]),
    ("cursor_param", "cursor_param", &["cursor"]),
    ("cursor_path", "cursor_path", &["cursor"]),
    ("cursor_in", "cursor_in", &["cursor"]),
    ("next_path", "next_path", &["cursor"]),
    ("next_url_path", "next_url_path", &["link"]),
];

/// `write` fields: the REST option each is.
const WRITE_FIELDS: [(&str, &str); 9] = [
    ("key_column", "key_column"),
    ("insert_method", "insert_method"),
    ("update_method", "update_method"),
    ("batch_size", "batch_size"),
    ("insert_wrapper", "insert_wrapper"),
    ("returning_path", "returning_path"),
    ("idempotency_key", "idempotency_key"),
    ("insert_path", "insert_path"),
    ("format", "write_format"),
];

fn invalid(path: &str, why: impl std::fmt::Display) -> Error {
    let path = if path.is_empty() { "definition" } else { path };
    Error::new(ErrorKind::InvalidOptionValue, format!("{path}: {why}"))
        .with_hint("The definition format is described in docs/definitions.md.")
}

/// A JSON object of the document, with its path for messages.
struct Object<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Object<'a> {
    /// `value` at `path` as an object whose members are all among `known`.
    fn new(path: String, value: &'a Value, known: &[&str]) -> Result<Object<'a>> {
        let Value::Object(map) = value else {
            return Err(invalid(&path, format!("must be a JSON object, not {}", describe(value))));
        };
        let object = Object { path, map };
        if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(invalid(&object.at(unknown), format!("unknown field (known: {})", known.join(", "))));
        }
        Ok(object)
    }

    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn required(&self, key: &str) -> Result<&'a Value> {
        self.get(key).ok_or_else(|| invalid(&self.at(key), "missing"))
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(invalid(&self.at(key), format!("must be a string, not {}", describe(other)))),
        }
    }

    fn required_string(&self, key: &str) -> Result<String> {
        self.required(key)?;
        let text = self.string(key)?.unwrap_or_default();
        if text.is_empty() {
            return Err(invalid(&self.at(key), "must not be empty"));
        }
        Ok(text)
    }

    /// A scalar as option text, checked against `kind` (numbers and booleans may be written as JSON).
    fn option(&self, key: &str, kind: &Kind) -> Result<Option<String>> {
        let text = match self.get(key) {
            None => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) if !matches!(kind, Kind::Text | Kind::OneOf(_) | Kind::JsonPath | Kind::Url) => {
                n.to_string()
            }
            Some(Value::Bool(b)) if *kind == Kind::Bool => b.to_string(),
            Some(other) => {
                return Err(invalid(&self.at(key), format!("must be {}, not {}", expected(kind), describe(other))))
            }
        };
        check_kind(kind, &text).map_err(|why| invalid(&self.at(key), why))?;
        Ok(Some(text))
    }

    fn array(&self, key: &str) -> Result<&'a Vec<Value>> {
        match self.required(key)? {
            Value::Array(items) if !items.is_empty() => Ok(items),
            Value::Array(_) => Err(invalid(&self.at(key), "must not be empty")),
            other => Err(invalid(&self.at(key), format!("must be an array, not {}", describe(other)))),
        }
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn expected(kind: &Kind) -> &'static str {
    match kind {
        Kind::Integer { .. } => "an integer",
        Kind::Number { .. } => "a number",
        Kind::Bool => "a boolean",
        _ => "a string",
    }
}

/// The form of a REST table option, as the REST connector declares it.
fn rest_kind(option: &str) -> Kind {
    Rest.table_options().into_iter().find(|s| s.name == option).map(|s| s.kind).unwrap_or(Kind::Text)
}

/// Names that become SQL identifiers and option values: lower-case letters, digits and `_`.
fn check_name(path: &str, name: &str) -> Result<()> {
    let ok = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            path,
            format!("\"{name}\" must be lower-case letters, digits and _, starting with a letter (at most 63)"),
        ))
    }
}

fn json_path(object: &Object, key: &str) -> Result<Option<String>> {
    match object.string(key)? {
        Some(text) => JsonPath::parse(&text).map(|_| Some(text)).map_err(|why| invalid(&object.at(key), why)),
        None => Ok(None),
    }
}

pub(super) fn definition(json: &Value) -> Result<Definition> {
    let top = Object::new(
        String::new(),
        json,
        &[
            "name",
            "version",
            "description",
            "base_url",
            "auth",
            "server_options",
            "headers",
            "rate_limit",
            "max_concurrency",
            "page_size",
            "resources",
        ],
    )?;
    let name = top.required_string("name")?;
    check_name("name", &name)?;
    let version = match top.required("version")? {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        other => return Err(invalid("version", format!("must be a non-empty string, not {}", describe(other)))),
    };
    let base_url = top.option("base_url", &Kind::Url)?;
    let auth = match top.get("auth") {
        Some(value) => auth(value)?,
        None => AuthSpec { kind: "none", options: OptionMap::new(), credential: None },
    };
    let mut server_options = match top.get("server_options") {
        Some(value) => server_options(value)?,
        None => Vec::new(),
    };
    let headers = match top.get("headers") {
        Some(value) => headers(value, &mut server_options)?,
        None => Vec::new(),
    };
    let number = |key: &str, kind: Kind| top.option(key, &kind);
    let rate_limit = number("rate_limit", crate::options::RATE_LIMIT)?.and_then(|n| n.parse().ok());
    let max_concurrency = number("max_concurrency", Kind::Integer { min: 1, max: 64 })?.and_then(|n| n.parse().ok());
    let page_size = number("page_size", Kind::Integer { min: 1, max: 100_000 })?.and_then(|n| n.parse().ok());
    let mut resources: Vec<ResourceSpec> = Vec::new();
    for (i, value) in top.array("resources")?.iter().enumerate() {
        let path = format!("resources[{i}]");
        let parsed = resource(&path, value, &name, base_url.as_deref())?;
        if resources.iter().any(|r| r.name == parsed.name) {
            return Err(invalid(&format!("{path}.name"), format!("\"{}\" names an earlier resource too", parsed.name)));
        }
        resources.push(parsed);
    }
    Ok(Definition {
        name,
        version,
        description: top.string("description")?.unwrap_or_default(),
        base_url,
        auth,
        server_options,
        headers,
        rate_limit,
        max_concurrency,
        page_size,
        resources,
    })
}

fn auth(value: &Value) -> Result<AuthSpec> {
    const FIELDS: [&str; 9] = [
        "kind",
        "api_key_name",
        "api_key_in",
        "authorize_url",
        "token_url",
        "scopes",
        "client_auth",
        "credential_pattern",
        "credential_hint",
    ];
    let object = Object::new("auth".into(), value, &FIELDS)?;
    let kind_text =
        object.option("kind", &Kind::OneOf(AUTH_KINDS.to_vec()))?.ok_or_else(|| invalid("auth.kind", "missing"))?;
    let kind = AUTH_KINDS.into_iter().find(|k| *k == kind_text).unwrap_or("none");
    let used: &[&str] = match kind {
        "api_key" => &["api_key_name", "api_key_in", "credential_pattern", "credential_hint"],
        "bearer" => &["credential_pattern", "credential_hint"],
        "oauth2" => &["authorize_url", "token_url", "scopes", "client_auth"],
        _ => &[],
    };
    if let Some(unused) = FIELDS[1..].iter().find(|f| object.has(f) && !used.contains(f)) {
        return Err(invalid(&object.at(unused), format!("is not used with kind \"{kind}\"")));
    }
    let mut options = OptionMap::new();
    let mut put = |option: &str, value: Option<String>| {
        if let Some(value) = value {
            options.insert(option.to_string(), value);
        }
    };
    put("api_key_name", object.string("api_key_name")?);
    put("api_key_in", object.option("api_key_in", &Kind::OneOf(vec!["header", "query"]))?);
    put("authorize_url", object.option("authorize_url", &Kind::Url)?);
    put("oauth_client_auth", object.option("client_auth", &Kind::OneOf(vec!["basic", "body"]))?);
    if kind == "oauth2" {
        put(
            "token_url",
            Some(
                object
                    .option("token_url", &Kind::Url)?
                    .ok_or_else(|| invalid("auth.token_url", "missing (OAuth 2.0 needs the token endpoint)"))?,
            ),
        );
    }
    let scopes = match object.get("scopes") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, s)| match s {
                    Value::String(s) if !s.is_empty() && !s.contains(char::is_whitespace) => Ok(s.clone()),
                    _ => Err(invalid(&format!("auth.scopes[{i}]"), "must be a scope name (a string without spaces)")),
                })
                .collect::<Result<Vec<_>>>()?
                .join(" "),
        ),
        Some(other) => {
            return Err(invalid("auth.scopes", format!("must be an array of strings, not {}", describe(other))))
        }
    };
    put("scopes", scopes);
    let credential = match (object.string("credential_pattern")?, object.string("credential_hint")?) {
        (None, None) => None,
        (None, Some(_)) => return Err(invalid("auth.credential_hint", "is shown only with \"credential_pattern\"")),
        (Some(_), None) => {
            return Err(invalid(
                "auth.credential_hint",
                "missing (say what a valid credential looks like, e.g. \"Keys look like key_….\")",
            ))
        }
        (Some(pattern), Some(hint)) => {
            // The whole credential must match.
            let pattern = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                invalid(
                    "auth.credential_pattern",
                    format!(
                        "\"{pattern}\" is not a regular expression: {}",
                        e.to_string().lines().last().unwrap_or_default().trim()
                    ),
                )
            })?;
            Some(CredentialShape { pattern, hint })
        }
    };
    Ok(AuthSpec { kind, options, credential })
}

/// `server_options`: `{"<name>": {"default": …, "description": …, "pattern": …}}`.
fn server_options(value: &Value) -> Result<Vec<ServerOptionSpec>> {
    let Value::Object(map) = value else {
        return Err(invalid("server_options", format!("must be a JSON object, not {}", describe(value))));
    };
    let common: Vec<String> = crate::connectors::common_server_options().into_iter().map(|s| s.name).collect();
    map.iter()
        .map(|(name, value)| {
            let path = format!("server_options.{name}");
            check_name(&path, name)?;
            if common.contains(name) {
                return Err(invalid(&path, "is an option of every server; a definition sets its default elsewhere (base_url, auth, rate_limit, …)"));
            }
            let object = Object::new(path, value, &["default", "description", "pattern"])?;
            let kind = match object.string("pattern")? {
                Some(source) => Kind::Matches(Pattern::new(&source).map_err(|why| invalid(&object.at("pattern"), why))?),
                None => Kind::Text,
            };
            let default = object.option("default", &kind)?;
            Ok(ServerOptionSpec { spec: OptionSpec::new(name, kind), default, description: object.string("description")?.unwrap_or_default() })
        })
        .collect()
}

/// `headers`; an option a header names takes only what a header can carry when it declares no pattern.
fn headers(value: &Value, options: &mut [ServerOptionSpec]) -> Result<Vec<(String, String)>> {
    let Value::Object(map) = value else {
        return Err(invalid("headers", format!("must be a JSON object, not {}", describe(value))));
    };
    map.iter()
        .map(|(name, value)| {
            let path = format!("headers.{name}");
            let Value::String(text) = value else {
                return Err(invalid(&path, format!("must be a string, not {}", describe(value))));
            };
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(&path, "is not a valid header name"))?;
            let mut filled = text.clone();
            for option in server_placeholders(text) {
                let spec = options.iter_mut().find(|o| o.spec.name == option).ok_or_else(|| {
                    invalid(&path, format!("{{server.{option}}} names no option of \"server_options\""))
                })?;
                if spec.spec.kind == Kind::Text {
                    spec.spec.kind = Kind::Matches(Pattern::new("[\\x20-\\x7e]*").expect("a valid pattern"));
                }
                filled = filled.replace(&format!("{{server.{option}}}"), spec.default.as_deref().unwrap_or_default());
            }
            reqwest::header::HeaderValue::from_str(&filled)
                .map_err(|_| invalid(&path, "is not a valid header value"))?;
            Ok((name.clone(), text.clone()))
        })
        .collect()
}

fn resource(path: &str, value: &Value, connector: &str, base_url: Option<&str>) -> Result<ResourceSpec> {
    let object = Object::new(
        path.to_string(),
        value,
        &[
            "name",
            "description",
            "path",
            "rows",
            "query",
            "method",
            "body",
            "item_path",
            "filter_join",
            "sort",
            "pagination",
            "columns",
            "write",
            "item_lookup",
            "success_path",
            "error_path",
            "fields_param",
            "custom_fields",
            "expand",
            "search",
            "terms",
            "rate_limit",
            "partition_column",
            "partition_order",
            "detail",
        ],
    )?;
    let name = object.required_string("name")?;
    check_name(&object.at("name"), &name)?;
    let mut options = OptionMap::new();
    let resource_path = object.required_string("path")?;
    if resource_path.contains('?') {
        return Err(invalid(&object.at("path"), "must not contain a query string; put parameters in \"query\""));
    }
    options.insert("path".into(), resource_path);
    if let Some(rows) = json_path(&object, "rows")? {
        options.insert("rows".into(), rows);
    }
    if let Some(query) = query(&object)? {
        options.insert("query".into(), query);
    }
    let method = object.option("method", &rest_kind("method"))?;
    let post = method.as_deref() == Some("POST");
    if let Some(method) = method {
        options.insert("method".into(), method);
    }
    match object.get("body") {
        None => {}
        Some(_) if !post => return Err(invalid(&object.at("body"), "is sent only with \"method\": \"POST\"")),
        Some(body @ Value::Object(_)) => {
            options.insert("body".into(), body.to_string());
        }
        Some(other) => {
            return Err(invalid(&object.at("body"), format!("must be a JSON object, not {}", describe(other))))
        }
    }
    if let Some(item_path) = object.string("item_path")? {
        if !item_path.contains("{key}") {
            return Err(invalid(
                &object.at("item_path"),
                format!("\"{item_path}\" has no {{key}} for the record's key"),
            ));
        }
        options.insert("item_path".into(), item_path);
    }
    if let Some(join) = object.string("filter_join")? {
        options.insert("filter_join".into(), join);
    }
    for field in ["success_path", "error_path"] {
        if let Some(p) = json_path(&object, field)? {
            options.insert(field.into(), p);
        }
    }
    if let Some(lookup) = object.option("item_lookup", &Kind::Bool)? {
        options.insert("item_lookup".into(), lookup);
    }
    if let Some(fields) = object.string("fields_param")? {
        options.insert("fields_param".into(), fields);
    }
    if let Some(rate) = object.option("rate_limit", &crate::options::RATE_LIMIT)? {
        options.insert("rate_limit".into(), rate);
    }
    // Checked with the columns when the table opens: a range-filterable integer, date or timestamp.
    if let Some(column) = object.string("partition_column")? {
        options.insert("partition_column".into(), column);
    }
    let orders = Kind::OneOf(crate::connectors::rest::PARTITION_ORDERS.to_vec());
    if let Some(order) = object.option("partition_order", &orders)? {
        options.insert("partition_order".into(), order);
    }
    // Each record's own resource at item_path, for the columns marked "detail".
    if let Some(detail) = object.get("detail") {
        let detail = Object::new(object.at("detail"), detail, &["query", "decoder"])?;
        if let Some(query) = detail.string("query")? {
            options.insert("detail_query".into(), query);
        }
        let decoders = Kind::OneOf(crate::connectors::rest::DETAIL_DECODERS.to_vec());
        if let Some(decoder) = detail.option("decoder", &decoders)? {
            options.insert("detail_decoder".into(), decoder);
        }
    }
    if let Some(expand) = object.get("expand") {
        let expand = Object::new(object.at("expand"), expand, &["param", "prefix"])?;
        options.insert("expand_param".into(), expand.required_string("param")?);
        if let Some(prefix) = expand.string("prefix")? {
            options.insert("expand_prefix".into(), prefix);
        }
    }
    if let Some(search) = object.get("search") {
        let search =
            Object::new(object.at("search"), search, &["path", "query_param", "join", "cursor_param", "cursor_path"])?;
        let search_path = search.required_string("path")?;
        if search_path.contains('?') {
            return Err(invalid(&search.at("path"), "must not contain a query string"));
        }
        options.insert("search_path".into(), search_path);
        for (field, option) in
            [("query_param", "search_param"), ("join", "search_join"), ("cursor_param", "search_cursor_param")]
        {
            if let Some(text) = search.string(field)? {
                options.insert(option.into(), text);
            }
        }
        if let Some(p) = json_path(&search, "cursor_path")? {
            options.insert("search_cursor_path".into(), p);
        }
    }
    if let Some(terms) = object.get("terms") {
        let terms =
            Object::new(object.at("terms"), terms, &["param", "join", "quote", "escape", "time_precision", "sort"])?;
        options.insert("terms_param".into(), terms.required_string("param")?);
        for (field, option) in [("join", "terms_join"), ("quote", "terms_quote"), ("escape", "terms_escape")] {
            if let Some(text) = terms.string(field)? {
                options.insert(option.into(), text);
            }
        }
        if let Some(precision) = terms.option("time_precision", &rest_kind("terms_time_precision"))? {
            options.insert("terms_time_precision".into(), precision);
        }
        if let Some(sort) = terms.string("sort")? {
            if !sort.contains("{field}") {
                return Err(invalid(&terms.at("sort"), format!("\"{sort}\" has no {{field}} for the sorted field")));
            }
            options.insert("terms_sort".into(), sort);
        }
    }
    if let Some(sort) = object.get("sort") {
        let sort = Object::new(object.at("sort"), sort, &["param", "order_param", "max_keys"])?;
        options.insert("sort_param".into(), sort.required_string("param")?);
        if let Some(order) = sort.string("order_param")? {
            options.insert("order_param".into(), order);
        }
        if let Some(keys) = sort.option("max_keys", &rest_kind("sort_max_keys"))? {
            options.insert("sort_max_keys".into(), keys);
        }
    }
    let page_size = match object.get("pagination") {
        Some(value) => pagination(&object.at("pagination"), value, post, &mut options)?,
        None => None,
    };
    let writable = match object.get("write") {
        Some(value) => {
            let mut known = WRITE_FIELDS.map(|(f, _)| f).to_vec();
            known.extend(["operations", "returning_members"]);
            let write = Object::new(object.at("write"), value, &known)?;
            for (field, option) in WRITE_FIELDS {
                if let Some(text) = write.option(field, &rest_kind(option))? {
                    options.insert(option.into(), text);
                }
            }
            if let Some(operations) = write.get("operations") {
                let at = write.at("operations");
                let names = match operations {
                    Value::Array(items) if !items.is_empty() => items
                        .iter()
                        .map(|i| match i.as_str() {
                            Some(name @ ("insert" | "update" | "delete")) => Ok(name),
                            _ => Err(invalid(&at, format!("{i} is not one of: \"insert\", \"update\", \"delete\""))),
                        })
                        .collect::<Result<Vec<_>>>()?,
                    other => {
                        return Err(invalid(
                            &at,
                            format!("must be a non-empty array of operations, not {}", describe(other)),
                        ))
                    }
                };
                options.insert("write_operations".into(), names.join(","));
            }
            if let Some(members) = write.get("returning_members") {
                let at = write.at("returning_members");
                let Value::Object(map) = members else {
                    return Err(invalid(&at, format!("must be a JSON object, not {}", describe(members))));
                };
                for (member, path) in map {
                    let Value::String(path) = path else {
                        return Err(invalid(
                            &format!("{at}.{member}"),
                            format!("must be a JSONPath string, not {}", describe(path)),
                        ));
                    };
                    JsonPath::parse(path).map_err(|why| invalid(&format!("{at}.{member}"), why))?;
                }
                options.insert("returning_members".into(), members.to_string());
            }
            true
        }
        None => false,
    };
    let sortable = options.contains_key("sort_param") || options.contains_key("terms_sort");
    let searchable = options.contains_key("search_path");
    let termed = options.contains_key("terms_param");
    let mut columns: Vec<ColumnSpec> = Vec::new();
    for (i, value) in object.array("columns")?.iter().enumerate() {
        let column = column(&format!("{path}.columns[{i}]"), value, sortable)?;
        if column.options.contains_key("search") && !searchable {
            return Err(invalid(
                &format!("{path}.columns[{i}].search"),
                "needs \"search\": {\"path\": …} on the resource",
            ));
        }
        if TERM_OPERATORS.iter().any(|(_, option)| column.options.contains_key(*option)) && !termed {
            return Err(invalid(
                &format!("{path}.columns[{i}].terms"),
                "needs \"terms\": {\"param\": …} on the resource",
            ));
        }
        if columns.iter().any(|c| c.name == column.name) {
            return Err(invalid(
                &format!("{path}.columns[{i}].name"),
                format!("\"{}\" names an earlier column too", column.name),
            ));
        }
        columns.push(column);
    }
    if let Some(key) = options.get("key_column").filter(|_| writable) {
        if !columns.iter().any(|c| c.name == *key) {
            return Err(invalid(
                &format!("{path}.write.key_column"),
                format!("\"{key}\" is not a column of the resource"),
            ));
        }
    }
    let custom_fields = match object.get("custom_fields") {
        Some(value) => Some(custom_fields(&object.at("custom_fields"), value)?),
        None => None,
    };
    let spec = ResourceSpec {
        name,
        description: object.string("description")?.unwrap_or_default(),
        options,
        page_size,
        columns,
        writable,
        custom_fields,
    };
    check_as_rest_table(path, connector, base_url, &spec)?;
    Ok(spec)
}

/// A Postgres type name of a definition, in the spelling IMPORT FOREIGN SCHEMA uses.
fn sql_type(path: &str, given: &str) -> Result<String> {
    TYPES
        .iter()
        .find(|(spellings, _)| spellings.contains(&given.to_ascii_lowercase().as_str()))
        .map(|(_, name)| name.to_string())
        .ok_or_else(|| {
            let names: Vec<&str> = TYPES.iter().map(|(_, n)| *n).collect();
            invalid(path, format!("\"{given}\" is not one of: {}", names.join(", ")))
        })
}

/// `custom_fields`: where a resource's custom fields are listed and how each becomes a column.
fn custom_fields(path: &str, value: &Value) -> Result<CustomFieldsSpec> {
    let object = Object::new(
        path.to_string(),
        value,
        &[
            "path",
            "query",
            "rows",
            "has_more_path",
            "offset_param",
            "name",
            "key",
            "type",
            "multiple",
            "column_path",
            "types",
            "default_type",
        ],
    )?;
    let list_path = object.required_string("path")?;
    if list_path.contains('?') {
        return Err(invalid(&object.at("path"), "must not contain a query string; put parameters in \"query\""));
    }
    let parsed = |key: &str| -> Result<Option<JsonPath>> {
        Ok(json_path(&object, key)?.map(|text| JsonPath::parse(&text).expect("checked by json_path")))
    };
    let required = |key: &str| -> Result<JsonPath> {
        object.required(key)?;
        parsed(key)?.ok_or_else(|| invalid(&object.at(key), "missing"))
    };
    let column_path = object.required_string("column_path")?;
    if !column_path.contains("{key}") {
        return Err(invalid(
            &object.at("column_path"),
            format!("\"{column_path}\" has no {{key}} for the field's key"),
        ));
    }
    JsonPath::parse(&column_path.replace("{key}", "key")).map_err(|why| invalid(&object.at("column_path"), why))?;
    let mut types = Vec::new();
    if let Some(value) = object.get("types") {
        let Value::Object(map) = value else {
            return Err(invalid(&object.at("types"), format!("must be a JSON object, not {}", describe(value))));
        };
        for (provider_type, sql) in map {
            let at = format!("{}.{provider_type}", object.at("types"));
            let Value::String(sql) = sql else {
                return Err(invalid(&at, format!("must be a string, not {}", describe(sql))));
            };
            types.push((provider_type.clone(), sql_type(&at, sql)?));
        }
    }
    let default_type = match object.string("default_type")? {
        Some(given) => sql_type(&object.at("default_type"), &given)?,
        None => "text".to_string(),
    };
    let has_more_path = parsed("has_more_path")?;
    let offset_param = object.string("offset_param")?.filter(|p| !p.is_empty());
    if has_more_path.is_some() != offset_param.is_some() {
        let (present, absent) =
            if has_more_path.is_some() { ("has_more_path", "offset_param") } else { ("offset_param", "has_more_path") };
        return Err(invalid(&object.at(present), format!("pages only with \"{absent}\" too")));
    }
    Ok(CustomFieldsSpec {
        path: list_path,
        query: query(&object)?,
        rows: parsed("rows")?,
        has_more_path,
        offset_param,
        name: required("name")?,
        key: required("key")?,
        type_path: parsed("type")?,
        multiple: parsed("multiple")?,
        column_path,
        types,
        default_type,
    })
}

/// `query`: a query string, or an object of parameters.
fn query(object: &Object) -> Result<Option<String>> {
    match object.get("query") {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.trim_start_matches('?').to_string())),
        Some(Value::Object(params)) => {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in params {
                let text = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(invalid(
                            &format!("{}.{name}", object.at("query")),
                            format!("must be a string, number or boolean, not {}", describe(other)),
                        ))
                    }
                };
                query.append_pair(name, &text);
            }
            Ok(Some(query.finish()))
        }
        Some(other) => {
            Err(invalid(&object.at("query"), format!("must be a string or an object, not {}", describe(other))))
        }
    }
}

/// Put a `pagination` object's settings into `options`; returns its page size.
fn pagination(path: &str, value: &Value, post: bool, options: &mut OptionMap) -> Result<Option<u64>> {
    let mut known = vec!["style"];
    known.extend(PAGING_FIELDS.iter().map(|(f, _, _)| *f));
    let object = Object::new(path.to_string(), value, &known)?;
    let style = object
        .option("style", &Kind::OneOf(PAGINATIONS.to_vec()))?
        .ok_or_else(|| invalid(&object.at("style"), "missing"))?;
    let mut page_size = None;
    for (field, option, styles) in PAGING_FIELDS {
        if !object.has(field) {
            continue;
        }
        if !styles.contains(&style.as_str()) {
            return Err(invalid(
                &object.at(field),
                format!("is not used with style \"{style}\" (only with {})", styles.join(", ")),
            ));
        }
        let text = match option {
            "page_size" => object.option(field, &Kind::Integer { min: 1, max: 100_000 })?,
            _ => object.option(field, &rest_kind(option))?,
        };
        match (option, text) {
            ("page_size", Some(size)) => page_size = size.parse().ok(),
            (option, Some(text)) => {
                options.insert(option.to_string(), text);
            }
            (_, None) => {}
        }
    }
    if style == "cursor" && !object.has("cursor_path") {
        return Err(invalid(
            &object.at("cursor_path"),
            "missing (cursor paging reads the next cursor there, e.g. \"$.next_cursor\")",
        ));
    }
    if options.get("cursor_in").map(String::as_str) == Some("body") && !post {
        return Err(invalid(&object.at("cursor_in"), "\"body\" needs \"method\": \"POST\""));
    }
    options.insert("pagination".into(), style);
    Ok(page_size)
}

fn column(path: &str, value: &Value, sortable_resource: bool) -> Result<ColumnSpec> {
    let object = Object::new(
        path.to_string(),
        value,
        &[
            "name",
            "type",
            "path",
            "description",
            "filters",
            "terms",
            "sortable",
            "echo",
            "required",
            "required_hint",
            "expand",
            "search",
            "detail",
        ],
    )?;
    let name = object.required_string("name")?;
    let given_type = object.required_string("type")?;
    let sql_type = TYPES
        .iter()
        .find(|(spellings, _)| spellings.contains(&given_type.to_ascii_lowercase().as_str()))
        .map(|(_, name)| name.to_string())
        .ok_or_else(|| {
            let names: Vec<&str> = TYPES.iter().map(|(_, n)| *n).collect();
            invalid(&object.at("type"), format!("\"{given_type}\" is not one of: {}", names.join(", ")))
        })?;
    let mut options = OptionMap::new();
    if let Some(p) = json_path(&object, "path")? {
        options.insert("path".into(), p);
    }
    if let Some(filters) = object.get("filters") {
        let filters = Object::new(object.at("filters"), filters, &OPERATORS.map(|(op, _)| op))?;
        for (op, option) in OPERATORS {
            let Some(param) = filters.string(op)? else { continue };
            let template_ok = match param.split_once('=') {
                Some((name, template)) => {
                    !name.is_empty() && (template.contains("{value}") || template.contains("{epoch}"))
                }
                None => !param.is_empty(),
            };
            if !template_ok {
                return Err(invalid(
                    &filters.at(op),
                    format!("\"{param}\" is neither a parameter name nor a template \"parameter=…{{value}}…\""),
                ));
            }
            options.insert(option.to_string(), param);
        }
    }
    if let Some(terms) = object.get("terms") {
        let terms = Object::new(object.at("terms"), terms, &TERM_OPERATORS.map(|(op, _)| op))?;
        for (op, option) in TERM_OPERATORS {
            let Some(template) = terms.string(op)? else { continue };
            if !template.contains("{value}") {
                return Err(invalid(
                    &terms.at(op),
                    format!("\"{template}\" has no {{value}} for the condition's value"),
                ));
            }
            options.insert(option.to_string(), template);
        }
    }
    match object.get("sortable") {
        None | Some(Value::Bool(false)) => {}
        Some(_) if !sortable_resource => {
            return Err(invalid(
                &object.at("sortable"),
                "needs \"sort\": {\"param\": …} or \"terms\": {\"sort\": …} on the resource",
            ))
        }
        Some(Value::Bool(true)) => {
            options.insert("sortable".into(), "true".into());
        }
        Some(Value::String(remote)) if !remote.is_empty() => {
            options.insert("sortable".into(), remote.clone());
        }
        Some(other) => {
            return Err(invalid(
                &object.at("sortable"),
                format!("must be true or the remote field name, not {}", describe(other)),
            ))
        }
    }
    if let Some(echo) = object.option("echo", &Kind::Bool)? {
        if !options.contains_key("filter_param") {
            return Err(invalid(
                &object.at("echo"),
                "needs an \"=\" filter: the column shows the value its = condition sends",
            ));
        }
        options.insert("echo".into(), echo);
    }
    if let Some(member) = object.string("expand")? {
        if member.is_empty() {
            return Err(invalid(&object.at("expand"), "must not be empty"));
        }
        if options.contains_key("path") {
            return Err(invalid(
                &object.at("expand"),
                "the column reads the expanded object at its own name: leave out \"path\"",
            ));
        }
        options.insert("expand".into(), member);
    }
    if let Some(required) = object.option("required", &Kind::Bool)? {
        if crate::options::parse_bool(&required) == Some(true)
            && !OPERATORS.iter().any(|(_, option)| options.contains_key(*option))
        {
            return Err(invalid(&object.at("required"), "needs \"filters\": the condition it requires must be pushed"));
        }
        options.insert("required".into(), required);
    }
    // true, or the detail query this column needs (more of the record than the resource's query gives).
    match object.get("detail") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            options.insert("detail".into(), "true".into());
        }
        Some(Value::String(query)) if !query.is_empty() => {
            options.insert("detail".into(), "true".into());
            options.insert("detail_query".into(), query.clone());
        }
        Some(other) => {
            return Err(invalid(
                &object.at("detail"),
                format!("must be true or the query the column's detail needs, not {}", describe(other)),
            ))
        }
    }
    if let Some(field) = object.string("search")? {
        if field.is_empty() {
            return Err(invalid(&object.at("search"), "must not be empty"));
        }
        options.insert("search".into(), field);
    }
    if let Some(hint) = object.string("required_hint")? {
        if options.get("required").and_then(|r| crate::options::parse_bool(r)) != Some(true) {
            return Err(invalid(&object.at("required_hint"), "is shown only with \"required\": true"));
        }
        options.insert("required_hint".into(), hint);
    }
    Ok(ColumnSpec { name, sql_type, description: object.string("description")?.unwrap_or_default(), options })
}

/// Open the resource as a REST table (no request is made), so whatever the REST connector would refuse is
/// refused now, naming the resource.
fn check_as_rest_table(path: &str, connector: &str, base_url: Option<&str>, resource: &ResourceSpec) -> Result<()> {
    let server = ServerDef {
        name: connector.to_string(),
        options: [("base_url".to_string(), base_url.unwrap_or("http://definition.invalid").to_string())].into(),
    };
    let columns = resource
        .columns
        .iter()
        .map(|c| ColumnDef { name: c.name.clone(), ty: ColumnType::from_name(&c.sql_type), options: c.options.clone() })
        .collect();
    let table = TableDef { name: resource.name.clone(), options: resource.options.clone(), columns };
    rest::open_table(connector, &server, &table).map(|_| ()).map_err(|e| invalid(path, e.message))
}

#[cfg(test)]
mod tests;
