//! Validation of a definition document. Every error names the field at fault by its path in the document
//! (`resources[0].columns[3].path: …`); a field the format does not know is an error too, so a misspelt
//! setting cannot pass silently.

mod resources;

use super::{server_placeholders, AuthSpec, Definition, ResourceSpec, ServerOptionSpec};
use crate::connectors::rest::Rest;
use crate::connectors::{Connector, CredentialShape, AUTH_KINDS};
use crate::error::{Error, ErrorKind, Result};
use crate::jsonpath::JsonPath;
use crate::options::{check_kind, Kind, OptionMap, OptionSpec, Pattern};
use resources::resource;
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

#[cfg(test)]
mod tests;
