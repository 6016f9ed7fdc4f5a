//! The generic REST connector: any JSON API described by table and column options.
//!
//! Pushdown is declared by the DBA: `filter_param*` column options name the query parameter for each
//! operator, `sortable` columns plus the table's `sort_param`/`order_param` carry ORDER BY, and paging
//! options carry LIMIT/OFFSET. Page-number and offset paging are fetched concurrently; cursors and
//! `Link: rel="next"` headers are followed one page after another.

use super::{base_url, page_size, Connector, ServerDef, Table};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Counters, Http, Request};
use crate::jsonpath::JsonPath;
use crate::model::{Op, ScanRequest, TableDef};
use crate::options::{Kind, OptionSpec, Options, Scope};
use crate::prune::Shape;
use crate::pushdown::Capabilities;
use crate::scan::{Page, PageSource, PageToken, Paging};
use crate::model::Value as SqlValue;
use crate::write::{WriteOp, Writer};
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;
use url::Url;

pub struct Rest;

/// Column options naming the query parameter for each operator.
const FILTER_OPTIONS: [(&str, Op); 6] = [
    ("filter_param", Op::Eq),
    ("filter_param_ne", Op::Ne),
    ("filter_param_gt", Op::Gt),
    ("filter_param_gte", Op::Ge),
    ("filter_param_lt", Op::Lt),
    ("filter_param_lte", Op::Le),
];

const PAGINATIONS: [&str; 5] = ["none", "page", "offset", "cursor", "link"];

impl Connector for Rest {
    fn name(&self) -> &str {
        "rest"
    }

    fn table_options(&self) -> Vec<OptionSpec> {
        let text = OptionSpec::text;
        let path = |name: &str| OptionSpec::new(name, Kind::JsonPath);
        vec![
            text("path"),
            path("rows"),
            OptionSpec::one_of("pagination", &PAGINATIONS),
            text("page_param"),
            text("page_size_param"),
            OptionSpec::int("page_size", 1, 100_000),
            OptionSpec::int("first_page", 0, 1),
            text("offset_param"),
            text("limit_param"),
            text("cursor_param"),
            path("cursor_path"),
            path("has_more_path"),
            path("total_path"),
            text("sort_param"),
            text("order_param"),
            text("query"),
            // Writes.
            text("key_column"),
            text("item_path"),
            OptionSpec::one_of("insert_method", &["POST", "PUT"]),
            OptionSpec::one_of("update_method", &["PATCH", "PUT", "POST"]),
            OptionSpec::int("batch_size", 1, 1000),
            text("insert_wrapper"),
            path("returning_path"),
            OptionSpec::new("idempotency_key", Kind::Bool),
        ]
    }

    fn column_options(&self) -> Vec<OptionSpec> {
        let mut specs: Vec<OptionSpec> = FILTER_OPTIONS.iter().map(|(name, _)| OptionSpec::text(name)).collect();
        specs.push(OptionSpec::text("sortable"));
        specs
    }

    fn open(&self, server: &ServerDef, table: &TableDef) -> Result<Arc<dyn Table>> {
        Ok(Arc::new(RestTable::new(server, table)?))
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Pagination {
    None,
    Page { page_param: String, size_param: Option<String>, first: u64 },
    Offset { offset_param: String, limit_param: Option<String> },
    Cursor { cursor_param: String, size_param: Option<String>, cursor_path: JsonPath },
    Link { size_param: Option<String> },
}

/// A REST table's parsed options.
#[derive(Clone, Debug)]
struct RestTable {
    table_name: String,
    url: Url,
    rows: Option<JsonPath>,
    pagination: Pagination,
    page_size: u64,
    has_more_path: Option<JsonPath>,
    total_path: Option<JsonPath>,
    /// (column, operator, query parameter)
    filters: Vec<(String, Op, String)>,
    /// (column, remote field name)
    sortable: Vec<(String, String)>,
    sort_param: Option<String>,
    order_param: Option<String>,
    limit_param: Option<String>,
    /// Each column's path inside a record, by column index.
    column_paths: Vec<JsonPath>,
    writes: WriteConfig,
}

/// How a REST table writes.
#[derive(Clone, Debug)]
struct WriteConfig {
    key_column: String,
    /// The server's base URL, which `item_path` is appended to.
    base: Url,
    /// The record's URL: `{key}` is replaced by the key (default: the table's path + `/{key}`).
    item_path: String,
    insert_method: reqwest::Method,
    update_method: reqwest::Method,
    batch_size: usize,
    /// Batches are sent as `{"<wrapper>": [...]}` instead of a bare array.
    insert_wrapper: Option<String>,
    returning_path: Option<JsonPath>,
    idempotency_key: bool,
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value.filter(|v| !v.is_empty()).map(str::to_string)
}

impl RestTable {
    fn new(server: &ServerDef, table: &TableDef) -> Result<Self> {
        let context = super::connector_context("rest");
        let options = Options::new(&table.options);
        let path = options.require(Scope::Table, &context, "path")?;
        let mut url = base_url(server, &Rest)?;
        let joined = format!("{}/{}", url.path().trim_end_matches('/'), path.trim_start_matches('/'));
        url.set_path(&joined);
        if let Some(query) = options.get("query") {
            url.query_pairs_mut().extend_pairs(url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes()));
        }
        let text = |name: &str| non_empty(options.get(name));
        let pagination = match options.get("pagination").unwrap_or("none") {
            "none" => Pagination::None,
            "page" => Pagination::Page {
                page_param: text("page_param").unwrap_or_else(|| "page".into()),
                size_param: text("page_size_param"),
                first: options.int("first_page")?.unwrap_or(1) as u64,
            },
            "offset" => Pagination::Offset {
                offset_param: text("offset_param").unwrap_or_else(|| "offset".into()),
                limit_param: text("limit_param"),
            },
            "cursor" => Pagination::Cursor {
                cursor_param: text("cursor_param").unwrap_or_else(|| "cursor".into()),
                size_param: text("page_size_param"),
                cursor_path: options.json_path("cursor_path")?.ok_or_else(|| {
                    crate::options::missing_option(Scope::Table, &context, "cursor_path")
                        .with_hint("Cursor paging needs the JSONPath of the next cursor in a response, e.g. '$.next_cursor' or '$.data[-1].id'.")
                })?,
            },
            "link" => Pagination::Link { size_param: text("page_size_param") },
            other => return Err(Error::option_value("pagination", format!("\"{other}\" is not one of: {}", PAGINATIONS.join(", ")))),
        };
        let mut filters = Vec::new();
        let mut sortable = Vec::new();
        for column in &table.columns {
            for (option, op) in FILTER_OPTIONS {
                if let Some(param) = non_empty(column.option(option)) {
                    filters.push((column.name.clone(), op, param));
                }
            }
            if let Some(sort) = column.option("sortable") {
                let remote = match crate::options::parse_bool(sort) {
                    Some(false) => continue,
                    Some(true) => JsonPath::key(&column.name)
                        .first_key()
                        .map(str::to_string)
                        .filter(|_| column.option("path").is_none())
                        .or_else(|| column.option("path").and_then(|p| JsonPath::parse(p).ok()).filter(JsonPath::is_single_key).and_then(|p| p.first_key().map(str::to_string)))
                        .unwrap_or_else(|| column.name.clone()),
                    None => sort.to_string(),
                };
                sortable.push((column.name.clone(), remote));
            }
        }
        let sort_param = text("sort_param");
        if sort_param.is_none() {
            if let Some((column, _)) = sortable.first() {
                return Err(Error::new(
                    ErrorKind::MissingOption,
                    format!("column \"{column}\" is sortable, but foreign table \"{}\" has no option \"sort_param\"", table.name),
                )
                .with_hint("Name the query parameter that sorts, e.g. OPTIONS (ADD sort_param 'sort')."));
            }
        }
        Ok(RestTable {
            table_name: table.name.clone(),
            url,
            rows: options.json_path("rows")?,
            pagination,
            page_size: page_size(server, table, &Rest)?,
            has_more_path: options.json_path("has_more_path")?,
            total_path: options.json_path("total_path")?,
            filters,
            sortable,
            sort_param,
            order_param: text("order_param"),
            limit_param: text("limit_param"),
            writes: WriteConfig {
                base: base_url(server, &Rest)?,
                key_column: text("key_column").unwrap_or_else(|| "id".into()),
                item_path: text("item_path").unwrap_or_else(|| format!("{}/{{key}}", path.trim_end_matches('/'))),
                insert_method: options.get("insert_method").unwrap_or("POST").parse().unwrap_or(reqwest::Method::POST),
                update_method: options.get("update_method").unwrap_or("PATCH").parse().unwrap_or(reqwest::Method::PATCH),
                batch_size: options.int("batch_size")?.unwrap_or(1).max(1) as usize,
                insert_wrapper: text("insert_wrapper"),
                returning_path: options.json_path("returning_path")?,
                idempotency_key: options.bool("idempotency_key")?.unwrap_or(false),
            },
            column_paths: table
                .columns
                .iter()
                .map(|c| match c.option("path") {
                    Some(p) => JsonPath::parse(p).map_err(|e| Error::option_value("path", e)),
                    None => Ok(JsonPath::key(&c.name)),
                })
                .collect::<Result<_>>()?,
        })
    }

    /// Query parameters for the pushed conditions and sort.
    fn pushed_params(&self, request: &ScanRequest) -> Vec<(String, String)> {
        let mut params = Vec::new();
        for qual in &request.quals {
            let param_for = |op: Op| self.filters.iter().find(|(c, o, _)| *c == qual.column && *o == op).map(|f| f.2.clone());
            match (&qual.op, &qual.value) {
                (Op::In, crate::model::Value::List(items)) => {
                    if let Some(param) = param_for(Op::Eq) {
                        params.extend(items.iter().map(|v| (param.clone(), v.to_param())));
                    }
                }
                (op, value) => {
                    if let Some(param) = param_for(*op) {
                        params.push((param, value.to_param()));
                    }
                }
            }
        }
        if let (Some(sort_param), false) = (&self.sort_param, request.sorts.is_empty()) {
            let remote = |column: &str| self.sortable.iter().find(|(c, _)| c == column).map(|s| s.1.clone()).unwrap_or_default();
            match &self.order_param {
                Some(order_param) => {
                    params.push((sort_param.clone(), request.sorts.iter().map(|s| remote(&s.column)).collect::<Vec<_>>().join(",")));
                    let orders: Vec<&str> = request.sorts.iter().map(|s| if s.desc { "desc" } else { "asc" }).collect();
                    params.push((order_param.clone(), orders.join(",")));
                }
                // Without an order parameter, descending keys carry a leading '-' (JSON:API style).
                None => params.push((
                    sort_param.clone(),
                    request
                        .sorts
                        .iter()
                        .map(|s| format!("{}{}", if s.desc { "-" } else { "" }, remote(&s.column)))
                        .collect::<Vec<_>>()
                        .join(","),
                )),
            }
        }
        params
    }

    fn source(&self, request: &ScanRequest) -> RestSource {
        let rows_needed = request.limit.and_then(|l| l.rows_needed());
        let offset_pushed = matches!(self.pagination, Pagination::Offset { .. }) && request.limit.is_some();
        let start_offset = if offset_pushed { request.limit.map_or(0, |l| l.offset) } else { 0 };
        // A pushed LIMIT shrinks the page when the provider lets us choose its size.
        let wanted = rows_needed.map(|n| n.saturating_sub(start_offset).max(1));
        let page_size = match wanted {
            Some(n) if self.size_param().is_some() => self.page_size.min(n),
            _ => self.page_size,
        };
        let mut url = self.url.clone();
        url.query_pairs_mut().extend_pairs(self.pushed_params(request));
        if let (Pagination::None, Some(limit_param), Some(n)) = (&self.pagination, &self.limit_param, wanted) {
            url.query_pairs_mut().append_pair(limit_param, &n.to_string());
        }
        // Parse only what this scan reads: the records' members its columns use, and the paging values.
        let cursor_path = match &self.pagination {
            Pagination::Cursor { cursor_path, .. } => Some(cursor_path),
            _ => None,
        };
        let kept = [cursor_path, self.has_more_path.as_ref(), self.total_path.as_ref()].into_iter().flatten();
        let read = request.columns.iter().filter_map(|&i| self.column_paths.get(i));
        let shape = Shape::new(self.rows.as_ref(), kept, read);
        RestSource { table: self.clone(), url, page_size, start_offset, shape }
    }

    fn size_param(&self) -> Option<&String> {
        match &self.pagination {
            Pagination::None => self.limit_param.as_ref(),
            Pagination::Page { size_param, .. } | Pagination::Cursor { size_param, .. } | Pagination::Link { size_param } => {
                size_param.as_ref()
            }
            Pagination::Offset { limit_param, .. } => limit_param.as_ref(),
        }
    }
}

impl Table for RestTable {
    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::new();
        for (column, op, _) in &self.filters {
            caps.add_filters(column, &[*op], crate::pushdown::Support::Exact);
            if *op == Op::Eq {
                caps.add_filters(column, &[Op::In], crate::pushdown::Support::Exact);
            }
        }
        for (column, _) in &self.sortable {
            caps.add_sortable(column);
        }
        let offset_too = matches!(self.pagination, Pagination::Offset { .. });
        caps.max_sort_keys(if self.sortable.is_empty() { 0 } else { 8 }).limit(offset_too)
    }

    fn describe(&self, request: &ScanRequest) -> Vec<String> {
        let source = self.source(request);
        let token = match source.paging() {
            Paging::Numbered { .. } => PageToken::Number(0),
            Paging::Chained => PageToken::First,
        };
        match source.request(&token) {
            Ok(req) => vec![format!("{} {}", req.method, redact_url(&req.url, None))],
            Err(e) => vec![format!("(cannot build the request: {e})")],
        }
    }

    fn scan(&self, request: &ScanRequest) -> Result<Arc<dyn PageSource>> {
        Ok(Arc::new(self.source(request)))
    }

    fn writer(&self) -> Option<Arc<dyn Writer>> {
        Some(Arc::new(RestWriter { table: self.clone() }))
    }
}

/// Writes of a REST table: POST (or PUT) to the collection, PATCH/PUT/DELETE to the record's URL.
struct RestWriter {
    table: RestTable,
}

impl RestWriter {
    fn config(&self) -> &WriteConfig {
        &self.table.writes
    }

    /// The collection URL: the table's URL without paging or pushed parameters.
    fn collection(&self) -> Url {
        self.table.url.clone()
    }

    fn item(&self, key: &SqlValue) -> Result<Url> {
        let key = key.to_param();
        if key.is_empty() {
            return Err(Error::new(ErrorKind::InvalidValue, format!("the key column \"{}\" is NULL or empty", self.config().key_column)));
        }
        let encoded = percent_encoding::utf8_percent_encode(&key, percent_encoding::NON_ALPHANUMERIC).to_string();
        let path = self.config().item_path.replace("{key}", &encoded);
        // Like the table's path, item_path is relative to the server's base URL.
        let mut url = self.config().base.clone();
        let joined = format!("{}/{}", url.path().trim_end_matches('/'), path.trim_start_matches('/'));
        url.set_path(&joined);
        Ok(url)
    }

    fn request(&self, method: reqwest::Method, url: Url) -> Request {
        let mut request = Request::new(method, url);
        if self.config().idempotency_key {
            request.idempotency_key = Some(idempotency_key());
        }
        request
    }

    /// The records a write response holds.
    fn returned(&self, body: Value) -> Vec<Value> {
        match &self.config().returning_path {
            Some(path) => path.select_rows(body).unwrap_or_default(),
            None => match body {
                Value::Array(items) => items,
                Value::Null => Vec::new(),
                other => vec![other],
            },
        }
    }
}

/// A random key for providers that deduplicate retried writes (Stripe's Idempotency-Key).
fn idempotency_key() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl Writer for RestWriter {
    fn batch_size(&self) -> usize {
        self.config().batch_size
    }

    fn key_column(&self) -> &str {
        &self.config().key_column
    }

    fn describe(&self, op: WriteOp) -> String {
        let item = || self.item(&SqlValue::Text("{key}".into())).map(|u| redact_url(&u, None).replace("%7Bkey%7D", "{key}")).unwrap_or_default();
        match op {
            WriteOp::Insert => format!("{} {}", self.config().insert_method, redact_url(&self.collection(), None)),
            WriteOp::Update => format!("{} {}", self.config().update_method, item()),
            WriteOp::Delete => format!("DELETE {}", item()),
        }
    }

    async fn insert(&self, http: &Http, records: Vec<Value>, counters: &Counters) -> Result<Vec<Value>> {
        let count = records.len();
        let body = match (&self.config().insert_wrapper, self.config().batch_size) {
            (Some(wrapper), _) => serde_json::json!({ wrapper.as_str(): records }),
            (None, 1) if count == 1 => records.into_iter().next().unwrap_or(Value::Null),
            (None, _) => Value::Array(records),
        };
        let request = self.request(self.config().insert_method.clone(), self.collection()).json(body);
        let (_, answer) = http.send_json(&request, counters).await?;
        let mut returned = self.returned(answer);
        returned.resize(count, Value::Null);
        Ok(returned)
    }

    async fn update(&self, http: &Http, key: &SqlValue, changes: Value, counters: &Counters) -> Result<Value> {
        let request = self.request(self.config().update_method.clone(), self.item(key)?).json(changes);
        let (_, answer) = http.send_json(&request, counters).await?;
        Ok(self.returned(answer).into_iter().next().unwrap_or(Value::Null))
    }

    async fn delete(&self, http: &Http, key: &SqlValue, counters: &Counters) -> Result<Value> {
        let request = self.request(reqwest::Method::DELETE, self.item(key)?);
        let (_, answer) = http.send_json(&request, counters).await?;
        Ok(self.returned(answer).into_iter().next().unwrap_or(Value::Null))
    }
}

struct RestSource {
    table: RestTable,
    /// The resource URL with the pushed parameters.
    url: Url,
    page_size: u64,
    start_offset: u64,
    shape: Shape,
}

impl RestSource {
    fn request(&self, token: &PageToken) -> Result<Request> {
        let mut url = self.url.clone();
        let size = self.page_size.to_string();
        {
            let mut query = url.query_pairs_mut();
            match (&self.table.pagination, token) {
                (Pagination::None, _) => {}
                (Pagination::Page { page_param, size_param, first }, PageToken::Number(n)) => {
                    query.append_pair(page_param, &(first + n).to_string());
                    if let Some(p) = size_param {
                        query.append_pair(p, &size);
                    }
                }
                (Pagination::Offset { offset_param, limit_param }, PageToken::Number(n)) => {
                    query.append_pair(offset_param, &(self.start_offset + n * self.page_size).to_string());
                    if let Some(p) = limit_param {
                        query.append_pair(p, &size);
                    }
                }
                (Pagination::Cursor { cursor_param, size_param, .. }, token) => {
                    if let Some(p) = size_param {
                        query.append_pair(p, &size);
                    }
                    if let PageToken::Next(cursor) = token {
                        query.append_pair(cursor_param, cursor);
                    }
                }
                (Pagination::Link { size_param }, PageToken::First) => {
                    if let Some(p) = size_param {
                        query.append_pair(p, &size);
                    }
                }
                (Pagination::Link { .. }, PageToken::Next(_)) => {}
                (_, token) => return Err(Error::internal(format!("page token {token:?} does not fit the paging style"))),
            }
        }
        if let (Pagination::Link { .. }, PageToken::Next(next)) = (&self.table.pagination, token) {
            url = self.same_origin(next)?;
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(Request::get(url))
    }

    /// A next-page URL from a Link header, refused if it leaves the server's host: requests carry
    /// credentials, and a provider's response must not be able to send them elsewhere.
    fn same_origin(&self, link: &str) -> Result<Url> {
        let next = self.url.join(link).map_err(|e| Error::bad_response(format!("Link header has a bad URL \"{link}\": {e}")))?;
        if next.origin() != self.url.origin() {
            return Err(Error::bad_response(format!(
                "Link header of foreign table \"{}\" points to another host ({}); it is not followed",
                self.table.table_name,
                redact_url(&next, None)
            )));
        }
        Ok(next)
    }

    fn records(&self, body: Value, request: &str) -> Result<Vec<Value>> {
        match &self.table.rows {
            Some(rows) => rows.select_rows(body).ok_or_else(|| {
                Error::bad_response(format!(
                    "response to {request} has nothing at rows path {rows} (foreign table \"{}\")",
                    self.table.table_name
                ))
            }),
            None => Ok(match body {
                Value::Array(items) => items,
                Value::Null => Vec::new(),
                other => vec![other],
            }),
        }
    }

    fn has_more(&self, body: &Value) -> Option<bool> {
        self.table.has_more_path.as_ref().and_then(|p| p.get(body)).and_then(|v| match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) => crate::options::parse_bool(s),
            _ => None,
        })
    }
}

/// The `rel="next"` target of an RFC 8288 Link header.
fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>')?;
        let target = &rest[start + 1..end];
        let params_end = rest[end..].find('<').map_or(rest.len(), |i| end + i);
        let params = &rest[end + 1..params_end];
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.strip_prefix("rel=").is_some_and(|v| v.trim_matches('"').split_whitespace().any(|r| r.eq_ignore_ascii_case("next")))
        });
        if is_next {
            return Some(target.to_string());
        }
        rest = &rest[params_end..];
    }
    None
}

#[async_trait]
impl PageSource for RestSource {
    fn paging(&self) -> Paging {
        match self.table.pagination {
            Pagination::Page { .. } | Pagination::Offset { .. } => Paging::Numbered { page_size: self.page_size },
            _ => Paging::Chained,
        }
    }

    async fn fetch(&self, http: &Http, token: PageToken, counters: &Counters) -> Result<Page> {
        let request = self.request(&token)?;
        let (response, body) = http.send_json_shaped(&request, counters, Some(&self.shape)).await?;
        let total = self
            .table
            .total_path
            .as_ref()
            .and_then(|p| p.get(&body))
            .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
            .or_else(|| response.header("x-total-count").and_then(|v| v.trim().parse().ok()))
            .map(|total: u64| total.saturating_sub(self.start_offset));
        let has_more = self.has_more(&body);
        let next = match &self.table.pagination {
            Pagination::Cursor { cursor_path, .. } if has_more != Some(false) => {
                cursor_path.get(&body).and_then(|v| match v {
                    Value::String(s) if !s.is_empty() => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            }
            Pagination::Link { .. } => response.header("link").and_then(next_link),
            _ => None,
        };
        let records = self.records(body, &response.request)?;
        if let (Some(next), PageToken::Next(previous)) = (&next, &token) {
            if next == previous {
                return Err(Error::bad_response(format!(
                    "response to {} repeats the cursor it was asked for; paging would never end",
                    response.request
                )));
            }
        }
        let next = if records.is_empty() { None } else { next };
        Ok(Page { last: has_more == Some(false), total, next, records })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{http_client, validate_table};
    use crate::model::{ColumnDef, ColumnType, Limit, Qual, Sort, Value as V};
    use crate::options::OptionMap;
    use crate::scan::{Next, Projector, Scan, ScanSettings};
    use std::time::Duration;

    fn map(pairs: &[(&str, &str)]) -> OptionMap {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn server(url: &str) -> ServerDef {
        ServerDef { name: "demo".into(), options: map(&[("connector", "rest"), ("base_url", url)]) }
    }

    /// The mock's customers; `amount` is sortable when the table names a sort parameter.
    fn customers(table_options: &[(&str, &str)]) -> TableDef {
        let mut amount = ColumnDef::new("amount", ColumnType::Numeric)
            .with_option("filter_param_gte", "amount_gte")
            .with_option("filter_param_lte", "amount_lte");
        if table_options.iter().any(|(k, _)| *k == "sort_param") {
            amount = amount.with_option("sortable", "true");
        }
        TableDef {
            name: "customers".into(),
            options: map(table_options),
            columns: vec![
                ColumnDef::new("id", ColumnType::Int4).with_option("filter_param", "id"),
                ColumnDef::new("name", ColumnType::Text),
                ColumnDef::new("country", ColumnType::Text).with_option("filter_param", "country"),
                amount,
                ColumnDef::new("city", ColumnType::Text).with_option("path", "$.address.city"),
            ],
        }
    }

    fn page_options() -> Vec<(&'static str, &'static str)> {
        vec![
            ("path", "/page/customers"),
            ("rows", "$.data[*]"),
            ("pagination", "page"),
            ("page_param", "_page"),
            ("page_size_param", "_limit"),
            ("page_size", "100"),
            ("sort_param", "_sort"),
            ("order_param", "_order"),
        ]
    }

    fn request(quals: Vec<Qual>, sorts: Vec<Sort>, limit: Option<Limit>) -> ScanRequest {
        ScanRequest { columns: vec![0, 1, 2, 3, 4], quals, sorts, limit }
    }

    fn run(base: &str, table: &TableDef, req: &ScanRequest, max_concurrency: usize) -> Result<Vec<Vec<crate::convert::Cell>>> {
        let server = server(base);
        validate_table(&server, table)?;
        let t = Rest.open(&server, table)?;
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let http = Arc::new(http_client(&server, &OptionMap::new(), None)?);
        let projector = Arc::new(Projector::new(table, &req.columns)?);
        let split = req.limit.map(|l| l.split(t.capabilities().supports_offset()));
        let settings = ScanSettings { max_concurrency, rows_needed: split.and_then(|s| s.source_rows) };
        let mut scan = Scan::start(runtime.handle(), http, t.scan(req)?, projector, settings);
        let mut rows = Vec::new();
        loop {
            match scan.next_block(Duration::from_millis(100))? {
                Next::Block(b) => rows.extend((0..b.rows()).map(|i| b.row(i).to_vec())),
                Next::Waiting => {}
                Next::Done => return Ok(rows),
            }
        }
    }

    fn queries(mock: &mockapi::MockServer) -> Vec<String> {
        mock.requests().into_iter().map(|r| format!("{}?{}", r.path, r.query)).collect()
    }

    #[test]
    fn filter_sort_and_limit_become_one_request() {
        let mock = mockapi::MockServer::start_blocking();
        let table = customers(&page_options());
        let req = request(
            vec![Qual { column: "country".into(), op: Op::Eq, value: V::Text("DE".into()) }],
            vec![Sort { column: "amount".into(), desc: true, nulls_first: true }],
            Some(Limit { count: Some(5), offset: 0 }),
        );
        let rows = run(&mock.url(), &table, &req, 4).unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(queries(&mock), vec!["/page/customers?country=DE&_sort=amount&_order=desc&_page=1&_limit=5"]);
        assert_eq!(
            Rest.open(&server(&mock.url()), &table).unwrap().describe(&req),
            vec![format!("GET {}/page/customers?country=DE&_sort=amount&_order=desc&_page=1&_limit=5", mock.url())]
        );
    }

    #[test]
    fn every_paging_style_reads_the_whole_source_once() {
        let mock = mockapi::MockServer::start_blocking();
        let styles: Vec<Vec<(&str, &str)>> = vec![
            page_options(),
            vec![("path", "/offset/customers"), ("rows", "$.items"), ("pagination", "offset"), ("limit_param", "limit"), ("total_path", "$.total")],
            vec![("path", "/cursor/customers"), ("rows", "$.data"), ("pagination", "cursor"), ("page_size_param", "limit"), ("cursor_path", "$.next_cursor"), ("has_more_path", "$.has_more")],
            vec![("path", "/link/customers"), ("pagination", "link"), ("page_size_param", "per_page")],
            vec![("path", "/plain/customers")],
        ];
        for options in styles {
            mock.reset();
            let rows = run(&mock.url(), &customers(&options), &request(vec![], vec![], None), 4).unwrap();
            let mut ids: Vec<i64> = rows.iter().map(|r| match r[0] { crate::convert::Cell::Int(i) => i, _ => panic!() }).collect();
            ids.sort();
            assert_eq!(ids, (1..=2000).collect::<Vec<_>>(), "{options:?}");
            assert!(rows.iter().all(|r| matches!(&r[4], crate::convert::Cell::Text(city) if !city.is_empty())), "{options:?}: city comes from $.address.city");
        }
    }

    #[test]
    fn offset_paging_pushes_offset_and_in_lists() {
        let mock = mockapi::MockServer::start_blocking();
        let table = customers(&[("path", "/offset/customers"), ("rows", "$.items"), ("pagination", "offset"), ("limit_param", "limit"), ("page_size", "50")]);
        let req = request(
            vec![Qual { column: "country".into(), op: Op::In, value: V::List(vec![V::Text("DE".into()), V::Text("FR".into())]) }],
            vec![],
            Some(Limit { count: Some(3), offset: 10 }),
        );
        let rows = run(&mock.url(), &table, &req, 4).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(queries(&mock), vec!["/offset/customers?country=DE&country=FR&offset=10&limit=3"]);
    }

    #[test]
    fn bad_responses_are_named_errors() {
        let mock = mockapi::MockServer::start_blocking();
        let req = request(vec![], vec![], None);
        let e = run(&mock.url(), &customers(&[("path", "/fault/notjson/always/plain/customers")]), &req, 1).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert!(e.message.contains("is not valid JSON"), "{}", e.message);
        let e = run(&mock.url(), &customers(&[("path", "/nowhere")]), &req, 1).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert!(e.message.starts_with(&format!("GET {}/nowhere failed: HTTP 404", mock.url())), "{}", e.message);
        let e = run(&mock.url(), &customers(&[("path", "/page/customers"), ("rows", "$.nothing[*]")]), &req, 1).unwrap_err();
        assert!(e.message.contains("nothing at rows path $.nothing[*]"), "{}", e.message);
    }

    #[test]
    fn options_are_checked_as_a_whole() {
        let s = server("http://127.0.0.1:1");
        let e = validate_table(&s, &customers(&[("pagination", "page")])).unwrap_err();
        assert_eq!(e.message, "option \"path\" is required for a foreign table of connector \"rest\"");
        let e = validate_table(&s, &customers(&[("path", "/x"), ("pagination", "cursor")])).unwrap_err();
        assert!(e.message.contains("\"cursor_path\" is required"));
        let mut t = customers(&[("path", "/x")]);
        t.columns[3].options.insert("sortable".into(), "true".into());
        let e = validate_table(&s, &t).unwrap_err();
        assert!(e.message.contains("has no option \"sort_param\""), "{}", e.message);
        let mut t = customers(&[("path", "/x"), ("sort_param", "s")]);
        t.columns[0].options.insert("filter".into(), "id".into());
        let e = validate_table(&s, &t).unwrap_err();
        assert_eq!(e.message, "column \"id\": invalid option \"filter\"");
        assert!(e.hint.unwrap().contains("filter_param, filter_param_gt"));
    }

    #[test]
    fn link_headers_are_parsed() {
        assert_eq!(
            next_link(r#"<https://a/x?page=3>; rel="next", <https://a/x?page=9>; rel="last""#),
            Some("https://a/x?page=3".into())
        );
        assert_eq!(next_link(r#"<https://a/x?page=1>; rel="prev""#), None);
        assert_eq!(next_link(r#"<https://a/x?a=1,2>; rel="last", <https://a/y>; rel=next"#), Some("https://a/y".into()));
    }

    #[test]
    fn capabilities_follow_the_column_options() {
        let t = Rest.open(&server("http://x"), &customers(&page_options())).unwrap();
        let caps = t.capabilities();
        assert!(caps.filter_support("country", Op::In).is_some());
        assert!(caps.filter_support("amount", Op::Gt).is_none());
        assert!(caps.can_sort(&[Sort { column: "amount".into(), desc: false, nulls_first: false }]));
        assert!(caps.supports_limit() && !caps.supports_offset());
    }
}
