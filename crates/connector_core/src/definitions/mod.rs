//! Connector definitions: a plain REST provider described entirely as data and run by the REST connector,
//! so adding one needs no Rust.
//!
//! A definition is a JSON document (the format is in `docs/definitions.md` and [`parse`]): the provider's
//! origin, authentication, documented limits and headers, and its resources — each the options of a REST
//! table (path, rows, paging, pushable filters, writes) under readable names, with typed columns.
//! [`Definition::parse`] refuses a document with a message naming the field at fault.
//!
//! [`DefinedConnector`] is the [`Connector`] of a definition: a foreign table names a `resource` and may
//! override a few settings; the resource's settings and the table's own columns and options become a REST
//! table. IMPORT FOREIGN SCHEMA gives columns the resource's options; a table made by hand may leave them
//! out, and its records are then re-keyed so that a column reads (and writes) the resource's path where the
//! table's own definition, which the FDW layer projects rows with, names the member of the column. Which
//! definitions are in effect (shipped with the extension, or registered at run time) is
//! [`crate::registry`]'s business.
//!
//! A resource may declare `custom_fields`: IMPORT FOREIGN SCHEMA then lists the provider's custom fields
//! (through the server's HTTP client) and adds a column for each ([`CustomFieldsSpec`]).

mod parse;

use crate::connectors::rest::{self, Rest};
use crate::connectors::{connector_context, Connector, Defaults, Resource, ResourceColumn, ServerDef, Table};
use crate::error::{Error, Result};
use crate::http::{Counters, Http};
use crate::jsonpath::JsonPath;
use crate::model::{ScanRequest, TableDef, Value as SqlValue};
use crate::options::{OptionMap, OptionSpec, Options, Scope};
use crate::pushdown::Capabilities;
use crate::scan::{Page, PageSource, PageToken, Paging, Partitioner, WalkOrder};
use crate::write::{WriteOp, Writer};
use async_trait::async_trait;
use once_cell::sync::Lazy;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// A validated connector definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    /// The connector's name, as servers give it (`connector 'gmail'`).
    pub name: String,
    pub version: String,
    pub description: String,
    /// The provider's API origin, the default of the server option `base_url`.
    pub base_url: Option<String>,
    pub auth: AuthSpec,
    /// Server options of the connector's own, beyond the common ones.
    pub server_options: Vec<ServerOptionSpec>,
    /// Headers every request carries (an API version, say); a value may name a server option as
    /// `{server.<name>}`.
    pub headers: Vec<(String, String)>,
    /// Requests per second the provider allows.
    pub rate_limit: Option<f64>,
    /// Requests in flight the provider allows.
    pub max_concurrency: Option<usize>,
    pub page_size: Option<u64>,
    pub resources: Vec<ResourceSpec>,
}

/// A server option a definition declares (Stripe's `stripe_version`): its name and form, and the value a
/// server that does not set it gets.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerOptionSpec {
    /// The name and the form (`Kind::Matches` with the definition's `pattern`) DDL checks.
    pub spec: OptionSpec,
    pub default: Option<String>,
    pub description: String,
}

/// How a defined connector authenticates by default.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthSpec {
    /// One of [`crate::connectors::AUTH_KINDS`].
    pub kind: &'static str,
    /// The server options the kind reads (`api_key_name`, `api_key_in`, `authorize_url`, `token_url`,
    /// `scopes`, `oauth_client_auth`), as defaults for servers that do not set them.
    pub options: OptionMap,
    /// The form of the static credential (`credential_pattern`, `credential_hint`), checked before any request.
    pub credential: Option<crate::connectors::CredentialShape>,
}

/// One resource of a definition: what a foreign table (or IMPORT FOREIGN SCHEMA) reads.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceSpec {
    pub name: String,
    pub description: String,
    /// The REST table options the resource stands for.
    pub options: OptionMap,
    /// The provider's page size for this resource (a server's or table's `page_size` wins).
    pub page_size: Option<u64>,
    pub columns: Vec<ColumnSpec>,
    /// Whether the definition declares writes; other resources are read-only.
    pub writable: bool,
    /// Columns IMPORT FOREIGN SCHEMA asks the provider for (custom fields), beyond `columns`.
    pub custom_fields: Option<CustomFieldsSpec>,
}

/// Where a resource's custom fields are listed, and how each becomes a column: read at IMPORT FOREIGN SCHEMA
/// (`GET path?query`); each record of `rows` is a field, its `name` the column's (in snake_case), its `key`
/// filling `{key}` of `column_path`, its `type` looked up in `types`.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomFieldsSpec {
    /// Appended to the base URL.
    pub path: String,
    pub query: Option<String>,
    /// JSONPath of the field records (the response itself when it is an array).
    pub rows: Option<JsonPath>,
    /// Offset paging of the list: while the flag at `has_more_path` is true, the next page is asked for with
    /// `offset_param` set to the number of fields read so far.
    pub has_more_path: Option<JsonPath>,
    pub offset_param: Option<String>,
    /// JSONPaths inside a field record.
    pub name: JsonPath,
    pub key: JsonPath,
    pub type_path: Option<JsonPath>,
    /// A boolean that makes the column `jsonb` (a field holding several values).
    pub multiple: Option<JsonPath>,
    /// The column's JSONPath in a record, with `{key}`.
    pub column_path: String,
    /// Provider type → Postgres type.
    pub types: Vec<(String, String)>,
    /// The Postgres type of a provider type `types` does not name.
    pub default_type: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnSpec {
    pub name: String,
    /// A Postgres type name (`text`, `bigint`, `timestamptz`, …).
    pub sql_type: String,
    pub description: String,
    /// The REST column options: `path`, `filter_param*`, `sortable`, `echo`.
    pub options: OptionMap,
}

impl Definition {
    /// Validate a definition. The error names the field at fault (`resources[2].pagination.style: …`).
    pub fn parse(json: &Value) -> Result<Definition> {
        parse::definition(json)
    }

    pub fn resource(&self, name: &str) -> Option<&ResourceSpec> {
        self.resources.iter().find(|r| r.name == name)
    }
}

impl ResourceSpec {
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Table options a foreign table of a defined connector may set besides `resource`: where a DBA points a
/// resource elsewhere (another folder's path, extra query parameters, body members) or tunes it.
const TABLE_OVERRIDES: [&str; 10] = [
    "path",
    "query",
    "body",
    "page_size",
    "batch_size",
    "idempotency_key",
    "rate_limit",
    "partition_column",
    "partition_start",
    "partition_order",
];

/// The connector a definition describes.
pub struct DefinedConnector {
    definition: Arc<Definition>,
    defaults: Defaults,
}

impl DefinedConnector {
    pub fn new(definition: Definition) -> Self {
        let fallback = Defaults::default();
        let defaults = Defaults {
            base_url: definition.base_url.as_deref().map(intern),
            auth: definition.auth.kind,
            max_concurrency: definition.max_concurrency.unwrap_or(fallback.max_concurrency),
            rate_limit: definition.rate_limit,
            page_size: definition.page_size.unwrap_or(fallback.page_size),
            retry_after: None,
            options: definition.auth.options.clone(),
        };
        DefinedConnector { definition: Arc::new(definition), defaults }
    }

    /// The definition, shared (the registry hands it out without copying).
    pub(crate) fn shared_definition(&self) -> &Arc<Definition> {
        &self.definition
    }

    pub fn definition(&self) -> &Definition {
        &self.definition
    }

    fn resource_names(&self) -> String {
        self.definition.resources.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The resource a foreign table reads.
    fn resource_of(&self, table: &TableDef) -> Result<&ResourceSpec> {
        let name = self.name();
        let hint = || format!("Resources of connector \"{name}\" are: {}.", self.resource_names());
        // `object` is the name some providers' docs use (Stripe, Close, Slack objects).
        let (option, wanted) = match table.options.get("object") {
            Some(object) if !table.options.contains_key("resource") => ("object", object.as_str()),
            _ => (
                "resource",
                Options::new(&table.options)
                    .require(Scope::Table, &connector_context(name), "resource")
                    .map_err(|e| e.with_hint(hint()))?,
            ),
        };
        self.definition.resource(wanted).ok_or_else(|| {
            Error::option_value(option, format!("\"{wanted}\" is not a resource of connector \"{name}\""))
                .with_hint(hint())
        })
    }

    /// The REST table a foreign table stands for: the resource's options under the table's own, the
    /// resource's column options under each column's own.
    fn rest_table(&self, resource: &ResourceSpec, table: &TableDef) -> Result<TableDef> {
        let mut options = resource.options.clone();
        for (name, value) in &table.options {
            match name.as_str() {
                "resource" | "object" => {}
                // Extra parameters add to the resource's, and body members to its body.
                "query" => {
                    let extra = value.trim_start_matches('?');
                    let merged = match options.get("query") {
                        Some(query) if !query.is_empty() => format!("{query}&{extra}"),
                        _ => extra.to_string(),
                    };
                    options.insert(name.clone(), merged);
                }
                "body" => {
                    let Ok(Value::Object(members)) = serde_json::from_str::<Value>(value) else {
                        return Err(Error::option_value("body", "it must be a JSON object"));
                    };
                    let mut body = match options.get("body").map(|b| serde_json::from_str::<Value>(b)) {
                        Some(Ok(Value::Object(base))) => base,
                        _ => serde_json::Map::new(),
                    };
                    body.extend(members);
                    options.insert(name.clone(), Value::Object(body).to_string());
                }
                _ => {
                    options.insert(name.clone(), value.clone());
                }
            }
        }
        let columns = table
            .columns
            .iter()
            .map(|column| {
                let mut column = column.clone();
                if let Some(spec) = resource.column(&column.name) {
                    for (name, value) in &spec.options {
                        column.options.entry(name.clone()).or_insert_with(|| value.clone());
                    }
                }
                column
            })
            .collect();
        // The resource's partition column partitions tables that have it; a table of some columns only is
        // read in one walk. A table's own partition_column is checked as given.
        if !table.options.contains_key("partition_column")
            && options.get("partition_column").is_some_and(|c| table.column(c).is_none())
        {
            options.remove("partition_column");
            options.remove("partition_order");
        }
        Ok(TableDef { name: table.name.clone(), options, columns })
    }

    /// The server with the definition's origin and the resource's page size where it sets neither.
    fn effective_server(&self, server: &ServerDef, resource: &ResourceSpec) -> ServerDef {
        let mut server = server.clone();
        match (server.option("base_url"), &self.definition.base_url) {
            (None, Some(url)) => {
                server.options.insert("base_url".into(), url.clone());
            }
            // An origin gets the definition's path (Gmail's `/gmail/v1`); the REST table sees the whole URL.
            (Some(given), Some(default)) => {
                let completed = crate::connectors::complete_base_url(given, Some(default));
                if let (Ok(url), Ok(as_given)) = (completed, url::Url::parse(given)) {
                    if url.path() != as_given.path() {
                        server.options.insert("base_url".into(), url.to_string());
                    }
                }
            }
            _ => {}
        }
        if let (None, Some(size)) = (server.option("page_size"), resource.page_size.or(self.definition.page_size)) {
            server.options.insert("page_size".into(), size.to_string());
        }
        server
    }
}

impl Connector for DefinedConnector {
    fn name(&self) -> &str {
        &self.definition.name
    }

    fn description(&self) -> &str {
        &self.definition.description
    }

    fn defaults(&self) -> Defaults {
        self.defaults.clone()
    }

    fn table_options(&self) -> Vec<OptionSpec> {
        let mut specs = vec![OptionSpec::text("resource"), OptionSpec::text("object")];
        specs.extend(Rest.table_options().into_iter().filter(|s| TABLE_OVERRIDES.contains(&s.name.as_str())));
        specs
    }

    fn column_options(&self) -> Vec<OptionSpec> {
        Rest.column_options()
    }

    fn server_options(&self) -> Vec<OptionSpec> {
        self.definition.server_options.iter().map(|o| o.spec.clone()).collect()
    }

    /// The definition's headers with `{server.<name>}` filled from the server's option or its default; a
    /// header naming an option that has neither is not sent.
    fn fixed_headers(&self, server: &ServerDef) -> Vec<(String, String)> {
        let value = |name: &str| {
            server
                .option(name)
                .map(str::to_string)
                .or_else(|| self.definition.server_options.iter().find(|o| o.spec.name == name)?.default.clone())
        };
        self.definition
            .headers
            .iter()
            .filter_map(|(name, template)| {
                let mut filled = template.clone();
                for option in server_placeholders(template) {
                    filled = filled.replace(&format!("{{server.{option}}}"), &value(option)?);
                }
                Some((name.clone(), filled))
            })
            .collect()
    }

    fn credential_shape(&self) -> Option<&crate::connectors::CredentialShape> {
        self.definition.auth.credential.as_ref()
    }

    /// The first resource's first page.
    fn probe_path(&self, _server: &ServerDef) -> Option<String> {
        let resource = self.definition.resources.first()?;
        let path = resource.options.get("path")?;
        Some(match resource.options.get("query").filter(|q| !q.is_empty()) {
            Some(query) => format!("{path}?{query}"),
            None => path.clone(),
        })
    }

    fn open(&self, server: &ServerDef, table: &TableDef) -> Result<Arc<dyn Table>> {
        let resource = self.resource_of(table)?;
        let rest_table = self.rest_table(resource, table)?;
        let inner = rest::open_table(self.name(), &self.effective_server(server, resource), &rest_table)?;
        let renames = table
            .columns
            .iter()
            .filter(|c| c.option("path").is_none())
            .filter_map(|c| {
                Some((c.name.clone(), JsonPath::parse(resource.column(&c.name)?.options.get("path")?).ok()?))
            })
            .collect();
        Ok(Arc::new(DefinedTable { inner, writable: resource.writable, renames: Arc::new(renames) }))
    }

    /// The definition's resources, each a table naming its `resource`, its columns with their options; a
    /// resource with `custom_fields` asks the provider for its custom fields and adds a column for each.
    fn resources<'a>(
        &'a self,
        server: &'a ServerDef,
        http: &'a Http,
    ) -> futures::future::BoxFuture<'a, Result<Vec<Resource>>> {
        Box::pin(async move {
            let mut resources = Vec::new();
            for r in &self.definition.resources {
                let mut columns: Vec<ResourceColumn> = r
                    .columns
                    .iter()
                    .map(|c| ResourceColumn {
                        name: c.name.clone(),
                        sql_type: c.sql_type.clone(),
                        options: c.options.clone(),
                    })
                    .collect();
                if let Some(custom) = &r.custom_fields {
                    let base = crate::connectors::base_url(&self.effective_server(server, r), self)?;
                    let fields = custom_fields(http, &base, custom).await?;
                    add_custom_columns(&mut columns, custom, &fields);
                }
                resources.push(Resource {
                    name: r.name.clone(),
                    description: r.description.clone(),
                    table_options: [("resource".to_string(), r.name.clone())].into(),
                    columns,
                });
            }
            Ok(resources)
        })
    }
}

/// The field records of a resource's custom fields.
async fn custom_fields(http: &Http, base: &url::Url, spec: &CustomFieldsSpec) -> Result<Vec<Value>> {
    /// Pages read at most, so that a provider that always says "more" cannot hold an import forever.
    const MAX_PAGES: usize = 100;
    let mut url = base.clone();
    let joined = format!("{}/{}", url.path().trim_end_matches('/'), spec.path.trim_start_matches('/'));
    url.set_path(&joined);
    url.set_query(spec.query.as_deref().filter(|q| !q.is_empty()));
    let mut fields = Vec::new();
    for page in 0..MAX_PAGES {
        let mut page_url = url.clone();
        if let (Some(param), true) = (&spec.offset_param, page > 0) {
            page_url.query_pairs_mut().append_pair(param, &fields.len().to_string());
        }
        let (response, body) =
            http.send_json(&crate::http::Request::get(page_url).read_only(), &Counters::default()).await?;
        let more = spec.has_more_path.as_ref().and_then(|p| p.get(&body)) == Some(&Value::Bool(true));
        let records = match &spec.rows {
            Some(rows) => rows.select_rows(body),
            None => body.as_array().cloned(),
        };
        let records = records.ok_or_else(|| {
            let rows = spec.rows.as_ref().map(|r| r.to_string()).unwrap_or_else(|| "an array".into());
            Error::bad_response(format!(
                "answer to {} has no custom fields where the definition says ({rows})",
                response.request
            ))
        })?;
        let empty = records.is_empty();
        fields.extend(records);
        if !more || empty || spec.offset_param.is_none() {
            break;
        }
    }
    Ok(fields)
}

/// A column name for a field's name: lower case, other characters as one `_`, at most 63 bytes.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower && !out.ends_with('_') {
            out.push('_');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
    }
    let mut out = out.trim_matches('_').to_string();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out.truncate(63);
    out
}

/// `{key}` of a column path template filled with a key, quoted for a JSONPath string.
fn fill_key(template: &str, key: &str) -> String {
    template.replace("{key}", &key.replace('\\', "\\\\").replace('"', "\\\"").replace('\'', "\\'"))
}

/// Add a column for each custom field whose name, key and path are usable; a name an earlier column has gets
/// the key as a suffix.
fn add_custom_columns(columns: &mut Vec<ResourceColumn>, spec: &CustomFieldsSpec, fields: &[Value]) {
    let text = |path: &JsonPath, record: &Value| match path.get(record) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    for field in fields {
        let (Some(name), Some(key)) = (text(&spec.name, field), text(&spec.key, field)) else { continue };
        let path = fill_key(&spec.column_path, &key);
        if JsonPath::parse(&path).is_err() {
            continue;
        }
        let mut column = snake_case(&name);
        if column.is_empty() || columns.iter().any(|c| c.name == column) {
            column = snake_case(&format!("{column}_{key}"));
        }
        if column.is_empty() || columns.iter().any(|c| c.name == column) {
            continue;
        }
        let multiple = spec.multiple.as_ref().and_then(|m| m.get(field)) == Some(&Value::Bool(true));
        let provider_type = spec.type_path.as_ref().and_then(|t| text(t, field));
        let sql_type = match provider_type {
            _ if multiple => "jsonb".to_string(),
            Some(t) => spec
                .types
                .iter()
                .find(|(name, _)| *name == t)
                .map(|(_, sql)| sql.clone())
                .unwrap_or_else(|| spec.default_type.clone()),
            None => spec.default_type.clone(),
        };
        columns.push(ResourceColumn { name: column, sql_type, options: [("path".to_string(), path)].into() });
    }
}

/// (column, the resource's path for it) for columns the table reads by their name.
type Renames = Arc<Vec<(String, JsonPath)>>;

/// A REST table that refuses writes unless its resource declares them, and re-keys records for columns
/// that read the resource's path.
struct DefinedTable {
    inner: Arc<dyn Table>,
    writable: bool,
    renames: Renames,
}

impl Table for DefinedTable {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn describe(&self, request: &ScanRequest) -> Vec<String> {
        self.inner.describe(request)
    }

    fn scan(&self, request: &ScanRequest) -> Result<Arc<dyn PageSource>> {
        let inner = self.inner.scan(request)?;
        if self.renames.is_empty() {
            return Ok(inner);
        }
        Ok(Arc::new(Rekeyed { inner, renames: self.renames.clone() }))
    }

    fn rows_per_request(&self) -> Option<u64> {
        self.inner.rows_per_request()
    }

    fn partitioner(&self, request: &ScanRequest) -> Option<Arc<dyn Partitioner>> {
        let inner = self.inner.partitioner(request)?;
        if self.renames.is_empty() {
            return Some(inner);
        }
        Some(Arc::new(RekeyedPartitioner { inner, renames: self.renames.clone() }))
    }

    fn writer(&self) -> Option<Arc<dyn Writer>> {
        let inner = self.inner.writer().filter(|_| self.writable)?;
        if self.renames.is_empty() {
            return Some(inner);
        }
        Some(Arc::new(RekeyedWriter { inner, renames: self.renames.clone() }))
    }
}

/// Set each renamed column's member to the value at the resource's path (all read before any is set).
fn rekey(record: &mut Value, renames: &[(String, JsonPath)]) {
    let values: Vec<Value> = renames.iter().map(|(_, path)| path.get(record).cloned().unwrap_or(Value::Null)).collect();
    if let Value::Object(members) = record {
        for ((column, _), value) in renames.iter().zip(values) {
            members.insert(column.clone(), value);
        }
    }
}

/// Move each renamed column's member of a record to write to the resource's path.
fn unkey(mut record: Value, renames: &[(String, JsonPath)]) -> Result<Value> {
    for (column, path) in renames {
        let Some(value) = record.as_object_mut().and_then(|members| members.remove(column)) else { continue };
        let keys = path.plain_keys().filter(|keys| !keys.is_empty()).ok_or_else(|| {
            Error::not_supported(format!(
                "column \"{column}\" cannot be written: its path {path} is not a plain member path"
            ))
        })?;
        crate::write::set(&mut record, &keys, value);
    }
    Ok(record)
}

struct Rekeyed {
    inner: Arc<dyn PageSource>,
    renames: Renames,
}

#[async_trait]
impl PageSource for Rekeyed {
    fn paging(&self) -> Paging {
        self.inner.paging()
    }

    async fn fetch(&self, http: &Http, token: PageToken, counters: &Counters) -> Result<Page> {
        let mut page = self.inner.fetch(http, token, counters).await?;
        for record in &mut page.records {
            rekey(record, &self.renames);
        }
        Ok(page)
    }

    fn partitioner(&self) -> Option<Arc<dyn Partitioner>> {
        Some(Arc::new(RekeyedPartitioner { inner: self.inner.partitioner()?, renames: self.renames.clone() }))
    }
}

/// Windows whose records are renamed like the table's, so keys are read where the columns read them.
struct RekeyedPartitioner {
    inner: Arc<dyn Partitioner>,
    renames: Renames,
}

impl Partitioner for RekeyedPartitioner {
    fn column(&self) -> &str {
        self.inner.column()
    }
    fn range(&self) -> (i64, i64) {
        self.inner.range()
    }
    fn unit(&self) -> i64 {
        self.inner.unit()
    }
    fn ordered(&self) -> bool {
        self.inner.ordered()
    }
    fn descending(&self) -> bool {
        self.inner.descending()
    }
    fn upper_inclusive(&self) -> bool {
        self.inner.upper_inclusive()
    }
    fn window(&self, lower: Option<i64>, upper: Option<i64>) -> Arc<dyn PageSource> {
        Arc::new(Rekeyed { inner: self.inner.window(lower, upper), renames: self.renames.clone() })
    }
    fn walk_order(&self) -> Option<WalkOrder> {
        self.inner.walk_order()
    }
    fn key(&self, record: &Value) -> Option<i64> {
        self.inner.key(record)
    }
}

struct RekeyedWriter {
    inner: Arc<dyn Writer>,
    renames: Renames,
}

impl RekeyedWriter {
    fn answer(&self, mut answer: Value) -> Value {
        rekey(&mut answer, &self.renames);
        answer
    }
}

#[async_trait]
impl Writer for RekeyedWriter {
    fn batch_size(&self) -> usize {
        self.inner.batch_size()
    }

    fn key_column(&self) -> &str {
        self.inner.key_column()
    }

    fn describe(&self, op: WriteOp) -> String {
        self.inner.describe(op)
    }

    async fn insert(&self, http: &Http, records: Vec<Value>, counters: &Counters) -> Result<Vec<Value>> {
        let records = records.into_iter().map(|r| unkey(r, &self.renames)).collect::<Result<Vec<_>>>()?;
        let answers = self.inner.insert(http, records, counters).await?;
        Ok(answers.into_iter().map(|a| self.answer(a)).collect())
    }

    async fn update(&self, http: &Http, key: &SqlValue, changes: Value, counters: &Counters) -> Result<Value> {
        let answer = self.inner.update(http, key, unkey(changes, &self.renames)?, counters).await?;
        Ok(self.answer(answer))
    }

    async fn delete(&self, http: &Http, key: &SqlValue, counters: &Counters) -> Result<Value> {
        Ok(self.answer(self.inner.delete(http, key, counters).await?))
    }
}

/// The server options a header value names as `{server.<name>}`.
pub(crate) fn server_placeholders(template: &str) -> Vec<&str> {
    template.split("{server.").skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).collect()
}

/// Base URLs as `Defaults` holds them. Definitions are few and re-registered with the same texts, so each
/// distinct text is kept once for the life of the process.
fn intern(text: &str) -> &'static str {
    static TEXTS: Lazy<Mutex<HashSet<&'static str>>> = Lazy::new(Default::default);
    let mut texts = TEXTS.lock().unwrap_or_else(|e| e.into_inner());
    match texts.get(text) {
        Some(kept) => kept,
        None => {
            let kept: &'static str = Box::leak(text.to_string().into_boxed_str());
            texts.insert(kept);
            kept
        }
    }
}
