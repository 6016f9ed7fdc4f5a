//! `IMPORT FOREIGN SCHEMA openapi FROM SERVER <rest server> INTO s OPTIONS (openapi_url '…' | openapi_file
//! '…', <paging options>)`: one foreign table per GET operation of an OpenAPI (Swagger 2.0, OpenAPI 3.0 or
//! 3.1) JSON or YAML document that returns a list, with columns from the list items' schema.
//!
//! A list is a JSON array, or an object with an array member (the table's `rows` then points into it).
//! Operations with path parameters (`/users/{id}/posts`) are left out with a warning: the REST connector
//! has no option that fills a path from a condition, so such a table could not be scanned. Declared query
//! parameters named like a column become that column's `filter_param` (`required` too when the operation
//! requires them); an operation requiring another parameter is left out, as every scan would fail.
//!
//! The document is read into [`Node`], which keeps members in the document's order so that columns and
//! tables come in the order the API declares them.

mod yaml;

use super::airtable::column_name;
use super::{unique_name, Connector, Discovery, Resource, ResourceColumn, ServerDef};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Counters, Http, Request};
use crate::options::{Kind, OptionMap, OptionSpec};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::io::Read;

/// The remote schema that asks for an OpenAPI import.
pub const REMOTE_SCHEMA: &str = "openapi";

/// Table options of the REST connector that an import passes on to every table it creates.
const PAGING_OPTIONS: [&str; 13] = [
    "pagination",
    "page_param",
    "page_size_param",
    "page_size",
    "first_page",
    "offset_param",
    "limit_param",
    "cursor_param",
    "cursor_path",
    "has_more_path",
    "next_url_path",
    "total_path",
    "total_header",
];

/// The paging options whose values name query parameters the scan itself sends.
const PARAMETER_OPTIONS: [&str; 5] = ["page_param", "page_size_param", "offset_param", "limit_param", "cursor_param"];

/// Members of a list response that hold its records, in order of preference when there are several arrays.
const ROWS_MEMBERS: [&str; 8] = ["data", "items", "results", "records", "value", "entries", "list", "rows"];

/// Where the document comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// An http(s) URL, or a path under the server's `base_url` (`/openapi.json`).
    Url(String),
    /// A file on the database server.
    File(String),
}

/// An import's options, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportRequest {
    pub source: Source,
    /// The paging options given, put on every table.
    pub paging: OptionMap,
}

/// The options `IMPORT FOREIGN SCHEMA openapi` accepts.
pub fn import_option_specs() -> Vec<OptionSpec> {
    let mut specs = vec![OptionSpec::text("openapi_url"), OptionSpec::new("openapi_file", Kind::AbsolutePath)];
    specs.extend(super::rest::Rest.table_options().into_iter().filter(|s| PAGING_OPTIONS.contains(&s.name.as_str())));
    specs
}

const CONTEXT: &str = "IMPORT FOREIGN SCHEMA openapi";

/// Check an import's options: known names, valid values, exactly one source.
pub fn import_request(options: &OptionMap) -> Result<ImportRequest> {
    let specs = import_option_specs();
    for (name, value) in options {
        match specs.iter().find(|s| &s.name == name) {
            Some(spec) => crate::options::check_value(spec, value)?,
            None => {
                let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
                return Err(Error::new(
                    ErrorKind::InvalidOptionName,
                    format!("invalid option \"{name}\" for {CONTEXT}"),
                )
                .with_hint(format!("Valid options are: {}.", names.join(", "))));
            }
        }
    }
    let source = match (options.get("openapi_url"), options.get("openapi_file")) {
        (Some(url), None) => Source::Url(url.clone()),
        (None, Some(file)) => Source::File(file.clone()),
        (Some(_), Some(_)) => {
            return Err(Error::option_value("openapi_file", "give either openapi_url or openapi_file, not both"))
        }
        (None, None) => {
            return Err(Error::new(ErrorKind::MissingOption, format!("option \"openapi_url\" or \"openapi_file\" is required for {CONTEXT}"))
                .with_hint("IMPORT FOREIGN SCHEMA openapi FROM SERVER s INTO x OPTIONS (openapi_url 'https://api.example.com/openapi.json')"))
        }
    };
    let paging = options
        .iter()
        .filter(|(k, _)| PAGING_OPTIONS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(ImportRequest { source, paging })
}

/// Read the document (through the server's client: its credentials go only to the server's origin, and
/// `max_response_bytes` bounds what is read, a file's too) and make its tables.
pub async fn import(server: &ServerDef, http: &Http, request: &ImportRequest) -> Result<Discovery> {
    let base = super::base_url(server, &super::rest::Rest)?;
    let limit = http.settings().max_response_bytes;
    let (body, origin, malformed) = match &request.source {
        Source::Url(text) => {
            let absolute = url::Url::parse(text).ok();
            let get = match absolute {
                Some(url) => {
                    crate::options::check_kind(&Kind::Url, text)
                        .map_err(|why| Error::option_value("openapi_url", why))?;
                    Request::get(url)
                }
                None => crate::proxy::build_request(&base, "GET", text, None, None)
                    .map_err(|e| Error::option_value("openapi_url", e.message))?,
            };
            let origin = http.redact_url(&get.url);
            let response = http.send(&get, &Counters::default()).await?;
            (response.body.to_vec(), format!("OpenAPI document at {origin}"), ErrorKind::BadResponse)
        }
        Source::File(path) => {
            let origin = format!("OpenAPI document \"{path}\"");
            let path = path.clone();
            let body = tokio::task::spawn_blocking(move || read_file(&path, limit))
                .await
                .map_err(|e| Error::internal(format!("reading the OpenAPI document stopped: {e}")))??;
            (body, origin, ErrorKind::BadFileFormat)
        }
    };
    let document = Document::parse(&body, &origin, malformed)?;
    document.tables(base.path(), &request.paging)
}

fn read_file(path: &str, limit: u64) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::FileNotFound,
            std::io::ErrorKind::PermissionDenied => ErrorKind::InsufficientPrivilege,
            _ => ErrorKind::BadFileFormat,
        };
        Error::new(kind, format!("cannot open OpenAPI document \"{path}\": {e}"))
    })?;
    let mut body = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| Error::new(ErrorKind::BadFileFormat, format!("cannot read OpenAPI document \"{path}\": {e}")))?;
    if body.len() as u64 > limit {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            format!("OpenAPI document \"{path}\" is larger than the server's max_response_bytes ({limit})"),
        ));
    }
    Ok(body)
}

/// A JSON value with object members in document order. Numbers and nulls are [`Node::Other`]: nothing
/// an import reads is a number.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Other,
    Bool(bool),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        self.entries().iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Node::Str(s)) => Some(s),
            _ => None,
        }
    }

    fn entries(&self) -> &[(String, Node)] {
        match self {
            Node::Map(entries) => entries,
            _ => &[],
        }
    }

    fn items(&self) -> &[Node] {
        match self {
            Node::Seq(items) => items,
            _ => &[],
        }
    }

    /// The node at a local reference (`#/components/schemas/Customer`, JSON Pointer escapes and percent
    /// encoding undone).
    fn pointer(&self, reference: &str) -> Option<&Node> {
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(self);
        }
        let mut node = self;
        for token in pointer.strip_prefix('/')?.split('/') {
            let token = percent_encoding::percent_decode_str(token).decode_utf8_lossy();
            let token = token.replace("~1", "/").replace("~0", "~");
            node = match node {
                Node::Map(_) => node.get(&token)?,
                Node::Seq(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Node, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_unit<E>(self) -> std::result::Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_none<E>(self) -> std::result::Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Node, E> {
                Ok(Node::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Node, E> {
                Ok(Node::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            // serde_json's arbitrary_precision hands numbers over as a one-member map: harmless here, as
            // no number is read.
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Node>()? {
                    entries.push((key, value));
                }
                Ok(Node::Map(entries))
            }
        }
        deserializer.deserialize_any(NodeVisitor)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Version {
    Swagger2,
    OpenApi3,
}

/// A parsed OpenAPI document.
pub struct Document {
    root: Node,
    version: Version,
    /// How errors name the document.
    origin: String,
    /// The error kind of a document that does not parse or has the wrong shape.
    malformed: ErrorKind,
}

/// A JSON Pointer token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// An operation left out of the import, and why.
type Skip = String;

impl Document {
    /// Parse `body` as an OpenAPI document, JSON (it starts with `{`) or YAML; `origin` names it in errors.
    pub fn parse(body: &[u8], origin: &str, malformed: ErrorKind) -> Result<Document> {
        let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
        let root: Node = if matches!(first, Some(b'{') | Some(b'[')) {
            serde_json::from_slice(body)
                .map_err(|e| Error::new(malformed, format!("{origin} does not parse as JSON: {e}")))?
        } else {
            let text = std::str::from_utf8(body)
                .map_err(|e| Error::new(malformed, format!("{origin} is not UTF-8 text: {e}")))?;
            yaml::parse(text).map_err(|why| Error::new(malformed, format!("{origin} does not parse as YAML: {why}")))?
        };
        let not_openapi = |why: &str| Error::new(malformed, format!("{origin} is not an OpenAPI document: {why}"));
        if !matches!(root, Node::Map(_)) {
            return Err(not_openapi("its top level is not an object"));
        }
        let version = match (root.get("swagger"), root.get("openapi")) {
            (Some(Node::Str(v)), _) if v == "2.0" => Version::Swagger2,
            (_, Some(Node::Str(v))) if v == "3.0" || v.starts_with("3.0.") || v == "3.1" || v.starts_with("3.1.") => {
                Version::OpenApi3
            }
            (Some(Node::Str(v)), _) | (_, Some(Node::Str(v))) => {
                let member = if root.get("swagger").is_some() { "swagger" } else { "openapi" };
                return Err(Error::not_supported(format!(
                    "{origin} has version \"{v}\" (#/{member}), which is not supported: Swagger 2.0, OpenAPI 3.0 and 3.1 are"
                )));
            }
            (Some(_), _) | (_, Some(_)) => {
                return Err(not_openapi("its version (#/openapi or #/swagger) is not a string"))
            }
            (None, None) => return Err(not_openapi("it has neither an \"openapi\" nor a \"swagger\" member")),
        };
        Ok(Document { root, version, origin: origin.to_string(), malformed })
    }

    fn malformed(&self, at: &str, why: &str) -> Error {
        Error::new(self.malformed, format!("{} is malformed at {at}: {why}", self.origin))
    }

    /// The path the document's operations are under (Swagger's `basePath`, the path of OpenAPI 3's first
    /// server URL with its variables' defaults).
    fn base_path(&self) -> String {
        let path = match self.version {
            Version::Swagger2 => self.root.str("basePath").unwrap_or_default().to_string(),
            Version::OpenApi3 => {
                let Some(server) = self.root.get("servers").and_then(|s| s.items().first()) else {
                    return String::new();
                };
                let mut url = server.str("url").unwrap_or_default().to_string();
                for (name, variable) in server.get("variables").map(Node::entries).unwrap_or_default() {
                    if let Some(default) = variable.str("default") {
                        url = url.replace(&format!("{{{name}}}"), default);
                    }
                }
                match url.find("://") {
                    Some(at) => url[at + 3..].find('/').map(|p| url[at + 3 + p..].to_string()).unwrap_or_default(),
                    None => url,
                }
            }
        };
        path.trim_end_matches('/').to_string()
    }

    /// The tables of the document's list operations, for a server whose base URL has the path
    /// `base_path`; `paging` goes on every table.
    pub fn tables(&self, base_path: &str, paging: &OptionMap) -> Result<Discovery> {
        let paths = match self.root.get("paths") {
            None => return Ok(Discovery::default()),
            Some(paths @ Node::Map(_)) => paths,
            Some(_) => return Err(self.malformed("#/paths", "it is not an object")),
        };
        // Operations' paths are appended to the server's base URL, which may already end in the
        // document's base path (`https://api.example.com/v1`) or not (`https://api.example.com`).
        let doc_base = self.base_path();
        let prefix = if base_path.trim_end_matches('/').ends_with(&doc_base) { String::new() } else { doc_base };
        let mut discovery = Discovery::default();
        for (path, item) in paths.entries() {
            let Some(operation) = item.get("get") else { continue };
            let at = format!("#/paths/{}/get", escape(path));
            match self.table(path, item, operation, &at, paging) {
                Ok(mut resource) => {
                    resource.table_options.insert("path".into(), format!("{prefix}{path}"));
                    let taken = |n: &str| discovery.resources.iter().any(|r| r.name == n);
                    if taken(&resource.name) {
                        // `/v2/customers` beside `/v1/customers`: named after all of its path.
                        resource.name = column_name(path);
                    }
                    resource.name = unique_name(resource.name, taken);
                    discovery.resources.push(resource);
                }
                Err(why) => discovery.skipped.push(format!("operation GET {path} is left out: {why}")),
            }
        }
        Ok(discovery)
    }

    /// The table of one GET operation, or why it is left out.
    fn table(
        &self,
        path: &str,
        item: &Node,
        operation: &Node,
        at: &str,
        paging: &OptionMap,
    ) -> std::result::Result<Resource, Skip> {
        let parameters = self.parameters(item, operation, at)?;
        if let Some(p) = parameters.iter().find(|p| p.location == "path") {
            return Err(format!("it needs the path parameter \"{}\", which a foreign table cannot fill", p.name));
        }
        if path.contains('{') {
            return Err("its path has parameters, which a foreign table cannot fill".into());
        }
        let (schema, schema_at) = self.response_schema(operation, at)?;
        let response = self.resolve(schema, &schema_at)?;
        let (rows, items) = if response.is_array() {
            (None, response.items.ok_or_else(|| format!("its response array at {schema_at} has no items schema"))?)
        } else {
            let mut arrays = Vec::new();
            for (name, node, node_at) in &response.properties {
                if self.resolve(node, node_at)?.is_array() {
                    arrays.push(name.as_str());
                }
            }
            let member = match arrays.as_slice() {
                [] => {
                    return Err(
                        "its response is not a list (neither an array nor an object with an array member)".into()
                    )
                }
                [one] => *one,
                several => {
                    ROWS_MEMBERS.iter().find_map(|m| several.iter().find(|a| **a == *m)).copied().ok_or_else(|| {
                        format!(
                            "its response has several array members ({}) and none is the obvious list",
                            several.join(", ")
                        )
                    })?
                }
            };
            let (_, node, node_at) =
                response.properties.iter().find(|(n, _, _)| n == member).expect("member found above");
            let array = self.resolve(node, node_at)?;
            let items = array.items.ok_or_else(|| format!("the array at {node_at} has no items schema"))?;
            (Some(rows_path(member)), items)
        };
        let record = self.resolve(items.0, &items.1)?;
        let mut columns: Vec<ResourceColumn> = Vec::new();
        let mut params_used = Vec::new();
        if record.properties.is_empty() {
            columns.push(ResourceColumn {
                name: "value".into(),
                sql_type: self.sql_type(&record).into(),
                options: [("path".to_string(), "$".to_string())].into(),
            });
        }
        for (property, node, node_at) in &record.properties {
            let schema = self.resolve(node, node_at)?;
            let name = unique_name(snake_name(property), |n| columns.iter().any(|c| c.name == n));
            let mut options = OptionMap::new();
            if name != *property {
                options.insert("path".into(), crate::jsonpath::JsonPath::key(property).as_str().to_string());
            }
            if let Some(p) = parameters.iter().find(|p| p.location == "query" && p.name == *property) {
                options.insert("filter_param".into(), p.name.clone());
                if p.required {
                    options.insert("required".into(), "true".into());
                }
                params_used.push(p.name.clone());
            }
            columns.push(ResourceColumn { name, sql_type: self.sql_type(&schema).into(), options });
        }
        let sent_by_scan: Vec<&str> =
            PARAMETER_OPTIONS.iter().filter_map(|o| paging.get(*o)).map(String::as_str).collect();
        if let Some(p) = parameters.iter().find(|p| {
            p.required
                && p.location == "query"
                && !params_used.contains(&p.name)
                && !sent_by_scan.contains(&p.name.as_str())
        }) {
            return Err(format!(
                "it requires the query parameter \"{}\", which no column or paging option sends",
                p.name
            ));
        }
        let mut table_options = paging.clone();
        if let Some(rows) = rows {
            table_options.insert("rows".into(), rows);
        }
        let literal: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let summary = operation.str("summary").or_else(|| operation.str("operationId")).unwrap_or_default();
        Ok(Resource {
            name: snake_name(literal.last().copied().unwrap_or("root")),
            description: if summary.is_empty() { format!("GET {path}") } else { format!("GET {path}: {summary}") },
            table_options,
            columns,
        })
    }

    /// The operation's parameters and its path item's (the operation's win on the same name and place).
    fn parameters(&self, item: &Node, operation: &Node, at: &str) -> std::result::Result<Vec<Parameter>, Skip> {
        let mut found: Vec<Parameter> = Vec::new();
        let item_at = at.trim_end_matches("/get");
        for (list, list_at) in [
            (operation.get("parameters"), format!("{at}/parameters")),
            (item.get("parameters"), format!("{item_at}/parameters")),
        ] {
            for (i, parameter) in list.map(Node::items).unwrap_or_default().iter().enumerate() {
                let (parameter, _) = self.follow(parameter, &format!("{list_at}/{i}"))?;
                let (Some(name), Some(location)) = (parameter.str("name"), parameter.str("in")) else { continue };
                if found.iter().any(|p| p.name == name && p.location == location) {
                    continue;
                }
                let required = matches!(parameter.get("required"), Some(Node::Bool(true))) || location == "path";
                found.push(Parameter { name: name.into(), location: location.into(), required });
            }
        }
        Ok(found)
    }

    /// The schema of the operation's success response (200, else the first 2xx), and where it is.
    fn response_schema<'a>(&'a self, operation: &'a Node, at: &str) -> std::result::Result<(&'a Node, String), Skip> {
        let responses = operation.get("responses").map(Node::entries).unwrap_or_default();
        let success = responses
            .iter()
            .find(|(code, _)| code == "200")
            .or_else(|| responses.iter().find(|(code, _)| code.starts_with('2')))
            .ok_or("it declares no success response")?;
        let (response, response_at) = self.follow(&success.1, &format!("{at}/responses/{}", escape(&success.0)))?;
        let schema = match self.version {
            Version::Swagger2 => response.get("schema").map(|s| (s, format!("{response_at}/schema"))),
            Version::OpenApi3 => {
                let content = response.get("content").map(Node::entries).unwrap_or_default();
                let json = content
                    .iter()
                    .find(|(media, _)| media == "application/json")
                    .or_else(|| content.iter().find(|(media, _)| media.contains("json") || media == "*/*"));
                json.and_then(|(media, body)| {
                    body.get("schema").map(|s| (s, format!("{response_at}/content/{}/schema", escape(media))))
                })
            }
        };
        schema.ok_or_else(|| format!("its {} response has no JSON schema", success.0))
    }

    /// `node`, or what its `$ref` points to (references to references followed), with where it is.
    fn follow<'a>(&'a self, node: &'a Node, at: &str) -> std::result::Result<(&'a Node, String), Skip> {
        let (mut node, mut at) = (node, at.to_string());
        for _ in 0..32 {
            let Some(reference) = node.str("$ref") else { return Ok((node, at)) };
            if !reference.starts_with('#') {
                return Err(format!("{at} refers to \"{reference}\", outside the document, which is not read"));
            }
            node = self
                .root
                .pointer(reference)
                .ok_or_else(|| format!("{at} refers to \"{reference}\", which the document does not have"))?;
            at = reference.to_string();
        }
        Err(format!("{at}: too many references in a row (a cycle?)"))
    }

    /// A schema with its references followed and its `allOf` parts merged in.
    fn resolve<'a>(&'a self, node: &'a Node, at: &str) -> std::result::Result<Schema<'a>, Skip> {
        self.resolve_within(node, at, 0)
    }

    fn resolve_within<'a>(&'a self, node: &'a Node, at: &str, depth: usize) -> std::result::Result<Schema<'a>, Skip> {
        if depth > 32 {
            return Err(format!("{at}: allOf nests too deep (a cycle?)"));
        }
        let (node, at) = self.follow(node, at)?;
        let mut schema = Schema::default();
        match node.get("type") {
            Some(Node::Str(t)) => schema.types.push(t),
            Some(Node::Seq(types)) => schema.types.extend(types.iter().filter_map(|t| match t {
                Node::Str(t) if t != "null" => Some(t.as_str()),
                _ => None,
            })),
            _ => {}
        }
        schema.types.retain(|t| *t != "null");
        schema.format = node.str("format");
        schema.combined = node.get("oneOf").is_some() || node.get("anyOf").is_some();
        for (name, property) in node.get("properties").map(Node::entries).unwrap_or_default() {
            schema.properties.push((name.clone(), property, format!("{at}/properties/{}", escape(name))));
        }
        schema.items = node.get("items").map(|items| (items, format!("{at}/items")));
        for (i, part) in node.get("allOf").map(Node::items).unwrap_or_default().iter().enumerate() {
            let part = self.resolve_within(part, &format!("{at}/allOf/{i}"), depth + 1)?;
            if schema.types.is_empty() {
                schema.types = part.types;
            }
            schema.format = schema.format.or(part.format);
            schema.combined |= part.combined;
            for property in part.properties {
                if !schema.properties.iter().any(|(n, _, _)| *n == property.0) {
                    schema.properties.push(property);
                }
            }
            schema.items = schema.items.or(part.items);
        }
        Ok(schema)
    }

    /// The column type of a schema: integers, numbers, booleans, dates and times as themselves, other
    /// strings as text, objects, arrays and anything undecided as jsonb.
    fn sql_type(&self, schema: &Schema) -> &'static str {
        match (schema.types.as_slice(), schema.format) {
            _ if schema.combined => "jsonb",
            (["integer"], Some("int32")) => "integer",
            (["integer"], _) => "bigint",
            (["number"], Some("float" | "double")) => "double precision",
            (["number"], _) => "numeric",
            (["boolean"], _) => "boolean",
            (["string"], Some("date")) => "date",
            (["string"], Some("date-time")) => "timestamptz",
            (["string"], _) => "text",
            _ => "jsonb",
        }
    }
}

struct Parameter {
    name: String,
    /// `query`, `path`, `header`, …
    location: String,
    required: bool,
}

/// A schema as an import reads it.
#[derive(Default)]
struct Schema<'a> {
    /// Its types other than `null`.
    types: Vec<&'a str>,
    format: Option<&'a str>,
    /// `oneOf`/`anyOf`: its values may have several forms.
    combined: bool,
    properties: Vec<(String, &'a Node, String)>,
    items: Option<(&'a Node, String)>,
}

impl Schema<'_> {
    fn is_array(&self) -> bool {
        self.types == ["array"] || (self.types.is_empty() && self.items.is_some())
    }
}

/// The `rows` path of a list in the member `name`.
fn rows_path(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("$.{name}[*]")
    } else {
        format!("{}[*]", crate::jsonpath::JsonPath::key(name).as_str())
    }
}

/// A column name for a property: camelCase split into words (`createdAt` → `created_at`).
fn snake_name(property: &str) -> String {
    let mut words = String::new();
    let mut previous: Option<char> = None;
    for c in property.chars() {
        if c.is_uppercase() && previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()) {
            words.push('_');
        }
        words.push(c);
        previous = Some(c);
    }
    column_name(&words)
}

/// The options of an import that is not an OpenAPI one: there are none.
pub fn no_import_options(options: &OptionMap, connector: &str) -> Result<()> {
    match options.keys().next() {
        None => Ok(()),
        Some(name) => Err(Error::new(
            ErrorKind::InvalidOptionName,
            format!("invalid option \"{name}\": IMPORT FOREIGN SCHEMA takes no options for connector \"{connector}\""),
        )
        .with_hint("A rest server imports an OpenAPI document: IMPORT FOREIGN SCHEMA openapi FROM SERVER s INTO x OPTIONS (openapi_url '…').")),
    }
}

#[cfg(test)]
mod tests;
