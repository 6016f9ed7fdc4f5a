//! The generic REST connector: any JSON API described by table and column options.
//!
//! Pushdown is declared by the DBA: `filter_param*` column options name the query parameter for each
//! operator, `sortable` columns plus the table's `sort_param`/`order_param` carry ORDER BY, and paging
//! options carry LIMIT/OFFSET. Page-number and offset paging are fetched concurrently; cursors and next-page
//! links (a `Link: rel="next"` header or a URL in the body) are followed one page after another. Reads are
//! GETs, or POSTs with a JSON body for APIs that take a list's arguments (and its cursor) in the body.

use super::{base_url, page_size, Connector, Resource, ServerDef, Table};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Counters, EndpointLimit, Http, Request};
use crate::jsonpath::JsonPath;
use crate::model::Value as SqlValue;
use crate::model::{ColumnType, Op, Qual, ScanRequest, TableDef};
use crate::options::{Kind, OptionSpec, Options, Scope};
use crate::prune::Shape;
use crate::pushdown::Capabilities;
use crate::scan::{Page, PageSource, PageToken, Paging, Partitioner, WalkOrder};
use crate::write::{WriteOp, Writer};
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use reqwest::Method;
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

/// Column options writing each operator's condition as a term of the table's `terms_param`.
const TERM_OPTIONS: [(&str, Op); 6] = [
    ("term", Op::Eq),
    ("term_ne", Op::Ne),
    ("term_gt", Op::Gt),
    ("term_gte", Op::Ge),
    ("term_lt", Op::Lt),
    ("term_lte", Op::Le),
];

pub(crate) const PAGINATIONS: [&str; 5] = ["none", "page", "offset", "cursor", "link"];

impl Connector for Rest {
    fn name(&self) -> &str {
        "rest"
    }

    fn description(&self) -> &str {
        "Any JSON REST API, described by server, table and column options."
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
            text("total_header"),
            text("sort_param"),
            text("order_param"),
            OptionSpec::int("sort_max_keys", 1, 8),
            // A search language's combined parameter (Close's `query`), which columns' `term*` options fill.
            text("terms_param"),
            text("terms_join"),
            text("terms_quote"),
            text("terms_escape"),
            OptionSpec::one_of("terms_time_precision", &["second", "minute"]),
            text("terms_sort"),
            text("query"),
            // Requests per second a scan of this table may start, on top of the server's rate_limit
            // (Slack's per-method tiers).
            OptionSpec::new("rate_limit", crate::options::RATE_LIMIT),
            OptionSpec::one_of("method", &["GET", "POST"]),
            text("body"),
            OptionSpec::one_of("cursor_in", &["query", "body"]),
            text("next_path"),
            path("next_url_path"),
            text("filter_join"),
            path("success_path"),
            path("error_path"),
            OptionSpec::new("item_lookup", Kind::Bool),
            text("fields_param"),
            text("expand_param"),
            text("expand_prefix"),
            // A search endpoint for conditions the list cannot apply (Stripe's `/v1/charges/search`).
            text("search_path"),
            text("search_param"),
            text("search_join"),
            text("search_cursor_param"),
            path("search_cursor_path"),
            // Range partitioning of cursor scans: a column the provider filters by range, and where its
            // records start.
            text("partition_column"),
            text("partition_start"),
            OptionSpec::one_of("partition_order", &PARTITION_ORDERS),
            // Per-record detail requests for the columns marked `detail` (Gmail's messages.get).
            text("detail_query"),
            OptionSpec::one_of("detail_decoder", &DETAIL_DECODERS),
            // Writes.
            text("key_column"),
            text("item_path"),
            OptionSpec::one_of("insert_method", &["POST", "PUT"]),
            OptionSpec::one_of("update_method", &["PATCH", "PUT", "POST"]),
            OptionSpec::int("batch_size", 1, 1000),
            text("insert_wrapper"),
            path("returning_path"),
            text("returning_members"),
            OptionSpec::new("idempotency_key", Kind::Bool),
            text("insert_path"),
            OptionSpec::one_of("write_format", &["json", "form"]),
            text("write_operations"),
        ]
    }

    fn column_options(&self) -> Vec<OptionSpec> {
        let mut specs: Vec<OptionSpec> =
            FILTER_OPTIONS.iter().chain(&TERM_OPTIONS).map(|(name, _)| OptionSpec::text(name)).collect();
        specs.push(OptionSpec::text("sortable"));
        specs.push(OptionSpec::new("echo", Kind::Bool));
        specs.push(OptionSpec::new("required", Kind::Bool));
        specs.push(OptionSpec::text("required_hint"));
        specs.push(OptionSpec::text("search"));
        specs.push(OptionSpec::text("expand"));
        specs.push(OptionSpec::new("detail", Kind::Bool));
        specs.push(OptionSpec::text("detail_query"));
        specs
    }

    fn open(&self, server: &ServerDef, table: &TableDef) -> Result<Arc<dyn Table>> {
        open_table("rest", server, table)
    }

    /// A plain REST API says nothing about itself: its tables come from an OpenAPI document instead.
    fn resources<'a>(
        &'a self,
        server: &'a ServerDef,
        _http: &'a Http,
    ) -> futures::future::BoxFuture<'a, Result<Vec<Resource>>> {
        Box::pin(async move {
            Err(Error::not_supported("connector \"rest\" cannot list what the provider exposes without its OpenAPI document")
                .with_hint(format!("IMPORT FOREIGN SCHEMA openapi FROM SERVER {} INTO <schema> OPTIONS (openapi_url '…') creates tables from an OpenAPI document; or create foreign tables by hand.", server.name)))
        })
    }
}

/// A REST table opened for `connector` (the connector a definition describes), whose name messages show.
pub(crate) fn open_table(connector: &str, server: &ServerDef, table: &TableDef) -> Result<Arc<dyn Table>> {
    Ok(Arc::new(RestTable::new(connector, server, table)?))
}

#[derive(Clone, Debug, PartialEq)]
enum Pagination {
    None,
    Page {
        page_param: String,
        size_param: Option<String>,
        first: u64,
    },
    Offset {
        offset_param: String,
        limit_param: Option<String>,
    },
    Cursor {
        cursor_param: String,
        size_param: Option<String>,
        cursor_path: JsonPath,
        /// The cursor and the page size are members of the request body, not query parameters.
        in_body: bool,
        /// A continuation endpoint for the following pages, which then carry the cursor alone.
        next_url: Option<Url>,
    },
    /// The next page's URL from a `Link` header, or from the body at `next_url_path`.
    Link {
        size_param: Option<String>,
        next_url_path: Option<JsonPath>,
    },
}

/// A pushable condition: the column, its operator and the query parameter the value goes to.
#[derive(Clone, Debug)]
struct Filter {
    column: String,
    op: Op,
    param: String,
    /// From `param=template`: the value is written into the template at `{value}`, for filter languages
    /// (`$filter=isRead eq {value}`).
    template: Option<String>,
}

impl Filter {
    fn parse(column: &str, op: Op, option: &str, value: &str) -> Result<Filter> {
        let Some((param, template)) = value.split_once('=') else {
            return Ok(Filter { column: column.to_string(), op, param: value.to_string(), template: None });
        };
        if param.is_empty() || !(template.contains("{value}") || template.contains("{epoch}")) {
            return Err(Error::option_value(
                option,
                format!("\"{value}\" is neither a parameter name nor a template \"parameter=…{{value}}…\""),
            ));
        }
        Ok(Filter { column: column.to_string(), op, param: param.to_string(), template: Some(template.to_string()) })
    }

    /// The parameter's value for `value`. In a template, a value written between single quotes has its own
    /// single quotes doubled, as OData and SQL-like filter languages escape them.
    fn render(&self, value: &SqlValue) -> String {
        let text = value.to_param();
        match &self.template {
            None => text,
            Some(template) => {
                let mut rendered =
                    template.replace("'{value}'", &format!("'{}'", text.replace('\'', "''"))).replace("{value}", &text);
                if rendered.contains("{epoch}") {
                    rendered = rendered.replace("{epoch}", &epoch_seconds(value, self.op).unwrap_or(text));
                }
                rendered
            }
        }
    }
}

/// A search language's combined query parameter (Close's `GET /api/v1/lead/?query=status:"Potential"
/// date_updated>="2024-01-01T00:00" sort:-date_created`): columns' conditions are terms of it, joined by
/// `join` and added to what a filter of the same parameter sent (an echoed `query` column's own text).
/// Such languages match loosely (words, case, coarse times), so terms are supersets that Postgres rechecks,
/// and a value a term cannot carry faithfully is left out of the request.
#[derive(Clone, Debug)]
struct Terms {
    param: String,
    join: String,
    /// Written around text and time values.
    quote: String,
    /// Written before a quote or an escape inside a value; without it such a value is not sent.
    escape: Option<String>,
    /// Times are written to the minute (`2024-01-01T00:00`) or the second, in UTC.
    minutes: bool,
    /// The term of a pushed sort, with `{field}` (`sort:{field}`); a descending key is `-field`.
    sort: Option<String>,
}

/// A column's condition as a term: `status:{value}`, `date_updated>={value}`.
#[derive(Clone, Debug)]
struct Term {
    column: String,
    op: Op,
    template: String,
}

impl Terms {
    /// The term for `value`, or `None` when the value cannot be written faithfully (a quote without an
    /// escape, an equality on a time the precision would round, a value of another kind).
    fn render(&self, term: &Term, value: &SqlValue) -> Option<String> {
        let literal = match value {
            SqlValue::Int(_) | SqlValue::Numeric(_) | SqlValue::Float(_) | SqlValue::Bool(_) => value.to_param(),
            SqlValue::Text(_) | SqlValue::Uuid(_) => self.quoted(&value.to_param())?,
            SqlValue::Date(_) | SqlValue::Timestamp(_) | SqlValue::TimestampTz(_) => {
                self.quoted(&self.time(value, term.op)?)?
            }
            _ => return None,
        };
        Some(term.template.replace("{value}", &literal))
    }

    fn quoted(&self, text: &str) -> Option<String> {
        let escaped = match &self.escape {
            Some(escape) => text
                .replace(escape.as_str(), &format!("{escape}{escape}"))
                .replace(self.quote.as_str(), &format!("{escape}{}", self.quote)),
            // Without a declared escape a quote (or a backslash, which many languages read as one) cannot
            // be written inside a value.
            None if !self.quote.is_empty() && (text.contains(self.quote.as_str()) || text.contains('\\')) => {
                return None
            }
            None => text.to_string(),
        };
        Some(format!("{}{escaped}{}", self.quote, self.quote))
    }

    /// A time bound in UTC at the language's precision, rounded outward so that the term keeps every row the
    /// condition keeps: down for `>` and `>=`, up for `<` and `<=`. Other operators are not written.
    fn time(&self, value: &SqlValue, op: Op) -> Option<String> {
        let unit: i64 = if self.minutes { 60_000_000 } else { 1_000_000 };
        let micros = utc_micros(value)?;
        let rounded = match op {
            Op::Gt | Op::Ge => micros.div_euclid(unit) * unit,
            Op::Lt | Op::Le => (micros + unit - 1).div_euclid(unit) * unit,
            _ => return None,
        };
        let time = chrono::DateTime::from_timestamp_micros(rounded)?;
        Some(time.format(if self.minutes { "%Y-%m-%dT%H:%M" } else { "%Y-%m-%dT%H:%M:%S" }).to_string())
    }
}

/// A date or timestamp as microseconds since the Unix epoch (a timestamp without zone is taken as UTC).
fn utc_micros(value: &SqlValue) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    match value {
        SqlValue::TimestampTz(text) | SqlValue::Timestamp(text) => {
            let text = text.trim();
            let parsed = DateTime::parse_from_rfc3339(text).map(|t| t.naive_utc()).ok().or_else(|| {
                ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                    .iter()
                    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            })?;
            Some(parsed.and_utc().timestamp_micros())
        }
        SqlValue::Date(text) => Some(
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros(),
        ),
        _ => None,
    }
}

/// A date or timestamp as whole Unix seconds (`{epoch}` in a filter template), for APIs whose times are
/// integers (Stripe's `created[gte]`). A fraction of a second is rounded so that the integer condition
/// keeps the rows the SQL one keeps: up for `>=` and `<`, down otherwise. `None` for other values.
fn epoch_seconds(value: &SqlValue, op: Op) -> Option<String> {
    let micros = match value {
        SqlValue::Int(seconds) => return Some(seconds.to_string()),
        other => utc_micros(other)?,
    };
    let seconds = match op {
        Op::Ge | Op::Lt => micros.div_euclid(1_000_000) + i64::from(micros.rem_euclid(1_000_000) != 0),
        _ => micros.div_euclid(1_000_000),
    };
    Some(seconds.to_string())
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
    /// The response header that tells the total (`X-Total-Count`), declared: answers carry it.
    total_header: Option<String>,
    method: Method,
    /// The JSON object a POST read sends (paging members are set in a copy per page).
    body: Option<Value>,
    filters: Vec<Filter>,
    /// Joins the values of templated filters that fill the same parameter (`' and '`); without it the
    /// parameter is repeated.
    filter_join: Option<String>,
    /// A response whose value here is `false` is an error (Slack's `$.ok`).
    success_path: Option<JsonPath>,
    /// A response with a value here (not null, false or empty) is an error (GraphQL's `$.errors`).
    error_path: Option<JsonPath>,
    /// A scan whose only condition is `key_column = value` reads the record at `item_path`.
    item_lookup: bool,
    /// A search endpoint for conditions the list cannot apply, and the columns' fields in its language.
    search: Option<Search>,
    search_fields: Vec<SearchField>,
    /// Columns the provider needs a condition on (Slack's `channel`).
    required: Vec<String>,
    /// (column, what to write) of required columns with a `required_hint`.
    required_hints: Vec<(String, String)>,
    /// The parameter that names the members a response should carry (Close's `_fields`).
    fields_param: Option<String>,
    /// The limit of the table's endpoint (its path), shared by every table that reads it.
    endpoint_limit: Option<EndpointLimit>,
    /// The parameter that asks for a member's object instead of its id (Stripe's `expand[]`), and the prefix
    /// of the member's name in list requests (Stripe's `data.`).
    expand_param: String,
    expand_prefix: String,
    /// (column index, member) of columns that read an expanded member.
    expansions: Vec<(usize, String)>,
    /// The columns' names, by column index.
    column_names: Vec<String>,
    /// Columns that show the value their pushed `=` condition sent, and the members they are read at.
    echoes: Vec<(String, Vec<String>)>,
    /// The search language's combined parameter and the columns' terms in it.
    terms: Option<Terms>,
    column_terms: Vec<Term>,
    /// (column, remote field name)
    sortable: Vec<(String, String)>,
    /// How many ORDER BY keys the provider sorts by.
    max_sort_keys: usize,
    sort_param: Option<String>,
    order_param: Option<String>,
    limit_param: Option<String>,
    /// Each column's path inside a record, by column index.
    column_paths: Vec<JsonPath>,
    writes: WriteConfig,
    partition: Option<PartitionSpec>,
    detail: Option<DetailSpec>,
}

/// `detail_decoder`: how a provider's record resource becomes columns.
pub const DETAIL_DECODERS: [&str; 1] = ["gmail"];

/// Columns with `detail` read each listed record's own resource (`item_path` with the record's key), fetched
/// concurrently for the records of each page when a scan reads one of them: lists that give ids only
/// (Gmail's messages.list) then show contents.
#[derive(Clone, Debug)]
struct DetailSpec {
    /// The columns that read the detail, each with its own `detail_query` if it has one (a column needing
    /// more of the record: Gmail's body needs `format=full`).
    columns: Vec<(usize, Option<String>)>,
    /// The table's `detail_query`, for columns without their own.
    query: String,
    /// `detail_decoder 'gmail'`: the decoded message's members join the record; without a decoder, the
    /// resource's own members do.
    gmail: bool,
}

impl DetailSpec {
    fn parse(options: &Options, table: &TableDef) -> Result<Option<Self>> {
        let mut columns = Vec::new();
        for (i, column) in table.columns.iter().enumerate() {
            match column.option("detail") {
                Some(flag) if flag.eq_ignore_ascii_case("true") => {
                    columns.push((i, column.option("detail_query").map(str::to_string)));
                }
                _ if column.option("detail_query").is_some() => {
                    return Err(misplaced("detail_query", "is a column option of columns with detail 'true'"));
                }
                _ => {}
            }
        }
        if columns.is_empty() {
            return Ok(None);
        }
        let query = options.get("detail_query").unwrap_or("").to_string();
        Ok(Some(DetailSpec { columns, query, gmail: options.get("detail_decoder") == Some("gmail") }))
    }

    /// The query of the detail requests of a scan reading `columns`: a read column's own, else the
    /// table's; `None` when the scan reads no detail column.
    fn query(&self, columns: &[usize]) -> Option<String> {
        let mut read = self.columns.iter().filter(|(i, _)| columns.contains(i)).peekable();
        read.peek()?;
        Some(read.find_map(|(_, own)| own.clone()).unwrap_or_else(|| self.query.clone()))
    }

    /// The members a record's detail adds to it.
    fn members(&self, detail: Value) -> serde_json::Map<String, Value> {
        match detail {
            _ if self.gmail => crate::gmail::decode_message(&detail),
            Value::Object(members) => members,
            _ => serde_json::Map::new(),
        }
    }
}

/// `partition_order`: the order of a list's records on its partition column (`asc` oldest first, `desc`
/// newest first, as Stripe's), so a long window can be split while it runs.
pub const PARTITION_ORDERS: [&str; 2] = ["asc", "desc"];

/// `partition_column`: a column the provider filters by range (`>=` and `<` or `<=`) and that never changes
/// for a record, which splits a cursor scan into windows walked concurrently.
#[derive(Clone, Debug)]
struct PartitionSpec {
    column: String,
    /// The column's index: windows read it to check each record against their range.
    index: usize,
    ty: ColumnType,
    path: JsonPath,
    /// `partition_start` as a key: where the records start when the query gives no lower bound.
    start: Option<i64>,
    /// Only `filter_param_lte` bounds the column from above.
    upper_inclusive: bool,
    /// `partition_order`: the order of a window's records on the column when no sort is pushed.
    order: Option<WalkOrder>,
}

impl PartitionSpec {
    fn parse(options: &Options, table: &TableDef, pagination: &Pagination, filters: &[Filter]) -> Result<Option<Self>> {
        let Some(name) = non_empty(options.get("partition_column")) else {
            for option in ["partition_start", "partition_order"] {
                if options.get(option).is_some() {
                    return Err(misplaced(option, "needs partition_column"));
                }
            }
            return Ok(None);
        };
        let Some(index) = table.columns.iter().position(|c| c.name == name) else {
            return Err(Error::option_value(
                "partition_column",
                format!("foreign table \"{}\" has no column \"{name}\"", table.name),
            ));
        };
        let column = &table.columns[index];
        if !crate::partition::partitionable(&column.ty) {
            return Err(Error::option_value(
                "partition_column",
                format!("column \"{name}\" is of type {}, which cannot be split into ranges", column.ty.sql_name()),
            )
            .with_hint("Name a column of an integer, date or timestamp type, such as a creation time."));
        }
        let declared = |op: Op| filters.iter().any(|f| f.column == name && f.op == op);
        if !declared(Op::Ge) || !(declared(Op::Lt) || declared(Op::Le)) {
            return Err(Error::option_value(
                "partition_column",
                format!("column \"{name}\" is not declared range-filterable"),
            )
            .with_hint({
                let mut missing = Vec::new();
                if !declared(Op::Ge) {
                    missing.push(format!("ADD filter_param_gte '{name}_gte'"));
                }
                if !(declared(Op::Lt) || declared(Op::Le)) {
                    missing.push(format!("ADD filter_param_lt '{name}_lt'"));
                }
                format!(
                    "Declare the provider's range parameters on the column (>= and < or <=), e.g. ALTER FOREIGN TABLE {} ALTER COLUMN {name} OPTIONS ({}).",
                    crate::model::quote_ident(&table.name),
                    missing.join(", ")
                )
            }));
        }
        if !matches!(pagination, Pagination::Cursor { .. } | Pagination::Link { .. }) {
            return Err(misplaced(
                "partition_column",
                "applies to pagination 'cursor' or 'link' (numbered pages are fetched concurrently already)",
            ));
        }
        let start = match options.get("partition_start") {
            None => None,
            Some(text) => Some(crate::partition::start_key(&column.ty, text).ok_or_else(|| {
                Error::option_value(
                    "partition_start",
                    format!("\"{text}\" is not a value of column \"{name}\" ({})", column.ty.sql_name()),
                )
            })?),
        };
        let path = match column.option("path") {
            Some(p) => JsonPath::parse(p).map_err(|e| Error::option_value("path", e))?,
            None => JsonPath::key(&name),
        };
        let upper_inclusive = !declared(Op::Lt);
        let order = match options.get("partition_order") {
            Some("asc") => Some(WalkOrder::Ascending),
            Some("desc") => Some(WalkOrder::Descending),
            _ => None,
        };
        Ok(Some(PartitionSpec { column: name, index, ty: column.ty.clone(), path, start, upper_inclusive, order }))
    }
}

/// A scan split into windows of the partition column (see [`Partitioner`]).
struct RestPartitioner {
    table: RestTable,
    spec: PartitionSpec,
    /// The scan's request without its range conditions on the column.
    request: ScanRequest,
    /// The query's range conditions on the column: the first window takes the lower ones, the last the
    /// upper ones.
    lower: Vec<Qual>,
    upper: Vec<Qual>,
    range: (i64, i64),
    /// A sort on the column is pushed (it is the first key).
    ordered: bool,
    descending: bool,
}

impl Partitioner for RestPartitioner {
    fn column(&self) -> &str {
        &self.spec.column
    }
    fn range(&self) -> (i64, i64) {
        self.range
    }
    fn unit(&self) -> i64 {
        crate::partition::unit(&self.spec.ty)
    }
    fn ordered(&self) -> bool {
        self.ordered
    }
    fn descending(&self) -> bool {
        self.descending
    }
    fn upper_inclusive(&self) -> bool {
        self.spec.upper_inclusive
    }
    fn window(&self, lower: Option<i64>, upper: Option<i64>) -> Arc<dyn PageSource> {
        let bound = |op: Op, key: i64| Qual {
            column: self.spec.column.clone(),
            op,
            value: crate::partition::value_of_key(&self.spec.ty, key),
        };
        let mut request = self.request.clone();
        match lower {
            Some(key) => request.quals.push(bound(Op::Ge, key)),
            None => request.quals.extend(self.lower.iter().cloned()),
        }
        match upper {
            Some(key) => request.quals.push(bound(if self.spec.upper_inclusive { Op::Le } else { Op::Lt }, key)),
            None => request.quals.extend(self.upper.iter().cloned()),
        }
        Arc::new(self.table.plain_source(&request))
    }
    fn key(&self, record: &Value) -> Option<i64> {
        crate::partition::key_of_json(&self.spec.ty, self.spec.path.get(record)?.clone())
    }
    fn walk_order(&self) -> Option<WalkOrder> {
        // A pushed sort orders the records itself.
        self.spec.order.filter(|_| !self.ordered)
    }
}

/// A search endpoint (Stripe's `GET /v1/charges/search?query=status:'failed' AND amount>1000`): its URL,
/// the parameter of the query, the text joining conditions, and its own cursor paging.
#[derive(Clone, Debug)]
struct Search {
    url: Url,
    param: String,
    join: String,
    cursor_param: String,
    cursor_path: JsonPath,
}

/// A column's field in the search language, and the operators it takes there (comparisons for numbers
/// and times, `=` and `<>` for the others).
#[derive(Clone, Debug)]
struct SearchField {
    column: String,
    field: String,
    ops: Vec<Op>,
    /// Text values are compared case-insensitively by search: text conditions the list would apply
    /// exactly are checked again on the search's records.
    text: bool,
    path: JsonPath,
}

impl SearchField {
    /// `field:'value'`, `-field:'value'`, `field>123`; times as Unix seconds. `None` for an operator or
    /// value search cannot express.
    fn clause(&self, op: Op, value: &SqlValue) -> Option<String> {
        let rendered = match value {
            SqlValue::Int(_) | SqlValue::Numeric(_) | SqlValue::Float(_) => value.to_param(),
            SqlValue::Date(_) | SqlValue::Timestamp(_) | SqlValue::TimestampTz(_) => epoch_seconds(value, op)?,
            SqlValue::Text(_) | SqlValue::Bool(_) | SqlValue::Uuid(_) => {
                format!("'{}'", value.to_param().replace('\\', "\\\\").replace('\'', "\\'"))
            }
            _ => return None,
        };
        if !self.ops.contains(&op) {
            return None;
        }
        let field = &self.field;
        Some(match op {
            Op::Eq => format!("{field}:{rendered}"),
            Op::Ne => format!("-{field}:{rendered}"),
            Op::Gt => format!("{field}>{rendered}"),
            Op::Ge => format!("{field}>={rendered}"),
            Op::Lt => format!("{field}<{rendered}"),
            Op::Le => format!("{field}<={rendered}"),
            _ => return None,
        })
    }
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
    /// Members set in each written record from elsewhere in the answer (Slack's top-level `channel`, beside
    /// the `message` at `returning_path`): (member, JSONPath in the answer).
    returning_members: Vec<(String, JsonPath)>,
    idempotency_key: bool,
    /// Where inserts go (default: the table's URL).
    insert_path: Option<String>,
    /// Bodies are `application/x-www-form-urlencoded` (Stripe) rather than JSON.
    form: bool,
    /// Which of insert, update, delete the provider accepts.
    operations: [bool; 3],
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value.filter(|v| !v.is_empty()).map(str::to_string)
}

/// `path` appended to the base URL's path (paths are relative to the server's base URL).
fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}/{}", url.path().trim_end_matches('/'), path.trim_start_matches('/'));
    url.set_path(&joined);
    url
}

/// Refuse a path option whose URL leaves the base URL's path once `.` and `..` segments (also
/// percent-encoded ones) are resolved, as the proxy refuses such paths: requests carry the server's
/// credentials, which are meant for the API under `base_url` only.
fn under_base(base: &Url, option: &str, path: &str) -> Result<()> {
    let base_path = base.path().trim_end_matches('/');
    let url = join(base, path);
    if base_path.is_empty() || url.path() == base_path || url.path().starts_with(&format!("{base_path}/")) {
        return Ok(());
    }
    Err(Error::option_value(
        option,
        format!("\"{path}\" leaves the server's base URL {} (it resolves to {})", redact_url(base, None), url.path()),
    )
    .with_hint("Paths are relative to base_url and must stay under it; give the server another base_url instead."))
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq | Op::In => "=",
        Op::Ne => "<>",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
        _ => "?",
    }
}

/// `write_operations`: a comma-separated subset of insert, update, delete (default: all three).
fn write_operations(option: Option<&str>) -> Result<[bool; 3]> {
    let Some(text) = option else { return Ok([true; 3]) };
    let mut allowed = [false; 3];
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match ["insert", "update", "delete"].iter().position(|op| *op == name) {
            Some(i) => allowed[i] = true,
            None => {
                return Err(Error::option_value(
                    "write_operations",
                    format!("\"{name}\" is not one of: insert, update, delete"),
                ))
            }
        }
    }
    Ok(allowed)
}

/// `returning_members`: a JSON object of member names and JSONPaths in a write's answer.
fn returning_members(option: Option<&str>) -> Result<Vec<(String, JsonPath)>> {
    let Some(text) = option else { return Ok(Vec::new()) };
    let bad = |why: String| {
        Error::option_value("returning_members", why).with_hint(
            "Write a JSON object of members and JSONPaths in the answer, e.g. '{\"channel\": \"$.channel\"}'.",
        )
    };
    let Ok(Value::Object(members)) = serde_json::from_str::<Value>(text) else {
        return Err(bad("it is not a JSON object".into()));
    };
    members
        .into_iter()
        .map(|(member, path)| {
            let path = path.as_str().ok_or_else(|| bad(format!("the path of \"{member}\" is not a string")))?;
            let path = JsonPath::parse(path).map_err(|why| bad(format!("the path of \"{member}\": {why}")))?;
            Ok((member, path))
        })
        .collect()
}

/// What a scan keeps of a response for explaining an error it reports in its body.
const ERROR_MESSAGE_PATHS: [&str; 3] = ["$.error", "$.errors", "$.message"];

/// Where such a response has its message, in order (Slack's `error`, GraphQL's `errors[0].message`).
const ERROR_MESSAGES: [&str; 4] = ["$.error.message", "$.error", "$.errors[0].message", "$.message"];

/// An option that does not fit the table's other options.
fn misplaced(option: &str, why: &str) -> Error {
    Error::new(ErrorKind::InvalidOptionValue, format!("option \"{option}\" {why}"))
}

impl RestTable {
    fn new(connector: &str, server: &ServerDef, table: &TableDef) -> Result<Self> {
        let context = super::connector_context(connector);
        let options = Options::new(&table.options);
        let path = options.require(Scope::Table, &context, "path")?;
        let base = base_url(server, &Rest)?;
        for name in ["path", "next_path", "search_path", "insert_path", "item_path"] {
            if let Some(value) = options.get(name) {
                under_base(&base, name, &value.replace("{key}", "key"))?;
            }
        }
        let mut url = join(&base, path);
        if let Some(query) = options.get("query") {
            url.query_pairs_mut().extend_pairs(url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes()));
        }
        let text = |name: &str| non_empty(options.get(name));
        let style = options.get("pagination").unwrap_or("none");
        let method = match options.get("method").unwrap_or("GET") {
            "GET" => Method::GET,
            "POST" => Method::POST,
            other => return Err(Error::option_value("method", format!("\"{other}\" is not one of: GET, POST"))),
        };
        let body = match options.get("body") {
            None => None,
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(body @ Value::Object(_)) if method == Method::POST => Some(body),
                Ok(Value::Object(_)) => return Err(misplaced("body", "is sent only with method 'POST'")),
                Ok(_) => return Err(Error::option_value("body", "it must be a JSON object")),
                Err(e) => return Err(Error::option_value("body", format!("it is not JSON ({e})"))),
            },
        };
        let in_body = match options.get("cursor_in") {
            None => false,
            Some(_) if style != "cursor" => return Err(misplaced("cursor_in", "applies to pagination 'cursor' only")),
            Some("query") => false,
            Some("body") if method == Method::POST => true,
            Some("body") => return Err(misplaced("cursor_in", "'body' needs method 'POST'")),
            Some(other) => {
                return Err(Error::option_value("cursor_in", format!("\"{other}\" is not one of: query, body")))
            }
        };
        if options.get("next_path").is_some() && style != "cursor" {
            return Err(misplaced("next_path", "applies to pagination 'cursor' only"));
        }
        if options.get("next_url_path").is_some() && style != "link" {
            return Err(misplaced("next_url_path", "applies to pagination 'link' only"));
        }
        let pagination = match style {
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
                in_body,
                next_url: text("next_path").map(|p| join(&base, &p)),
            },
            "link" => Pagination::Link { size_param: text("page_size_param"), next_url_path: options.json_path("next_url_path")? },
            other => return Err(Error::option_value("pagination", format!("\"{other}\" is not one of: {}", PAGINATIONS.join(", ")))),
        };
        let mut filters = Vec::new();
        let mut sortable = Vec::new();
        let mut echoes = Vec::new();
        for column in &table.columns {
            for (option, op) in FILTER_OPTIONS {
                if let Some(param) = non_empty(column.option(option)) {
                    filters.push(Filter::parse(&column.name, op, option, &param)?);
                }
            }
            if Options::new(&column.options).bool("echo")? == Some(true) {
                if column.option("filter_param").is_none() {
                    return Err(misplaced(
                        "echo",
                        &format!(
                            "of column \"{}\" needs filter_param: the column shows the value its = condition sends",
                            column.name
                        ),
                    ));
                }
                let keys = match column.option("path") {
                    Some(p) => JsonPath::parse(p)
                        .map_err(|e| Error::option_value("path", e))?
                        .plain_keys()
                        .filter(|k| !k.is_empty()),
                    None => Some(vec![column.name.clone()]),
                };
                let keys = keys.ok_or_else(|| {
                    misplaced("echo", &format!("of column \"{}\" needs a path of member names", column.name))
                })?;
                echoes.push((column.name.clone(), keys));
            }
            if let Some(sort) = column.option("sortable") {
                let remote = match crate::options::parse_bool(sort) {
                    Some(false) => continue,
                    Some(true) => JsonPath::key(&column.name)
                        .first_key()
                        .map(str::to_string)
                        .filter(|_| column.option("path").is_none())
                        .or_else(|| {
                            column
                                .option("path")
                                .and_then(|p| JsonPath::parse(p).ok())
                                .filter(JsonPath::is_single_key)
                                .and_then(|p| p.first_key().map(str::to_string))
                        })
                        .unwrap_or_else(|| column.name.clone()),
                    None => sort.to_string(),
                };
                sortable.push((column.name.clone(), remote));
            }
        }
        let partition = PartitionSpec::parse(&options, table, &pagination, &filters)?;
        if options.get("write_format") == Some("form")
            && (options.int("batch_size")?.unwrap_or(1) > 1 || options.get("insert_wrapper").is_some())
        {
            return Err(misplaced(
                "write_format",
                "'form' sends one record per request: it excludes batch_size above 1 and insert_wrapper",
            ));
        }
        let mut required = Vec::new();
        for column in &table.columns {
            if Options::new(&column.options).bool("required")? == Some(true) {
                if !filters.iter().any(|f| f.column == column.name) {
                    return Err(misplaced(
                        "required",
                        &format!(
                            "of column \"{}\" needs a filter option: the condition it requires must be pushed",
                            column.name
                        ),
                    ));
                }
                required.push(column.name.clone());
            } else if column.option("required_hint").is_some() {
                return Err(misplaced(
                    "required_hint",
                    &format!("of column \"{}\" needs required 'true'", column.name),
                ));
            }
        }
        let search = match non_empty(options.get("search_path")) {
            Some(search_path) => Some(Search {
                url: join(&base, &search_path),
                param: text("search_param").unwrap_or_else(|| "query".into()),
                join: options.get("search_join").filter(|j| !j.is_empty()).unwrap_or(" AND ").to_string(),
                cursor_param: text("search_cursor_param").unwrap_or_else(|| "page".into()),
                cursor_path: options.json_path("search_cursor_path")?.unwrap_or_else(|| JsonPath::key("next_page")),
            }),
            None => None,
        };
        let mut search_fields = Vec::new();
        for column in &table.columns {
            let Some(field) = non_empty(column.option("search")) else { continue };
            if search.is_none() {
                return Err(misplaced(
                    "search",
                    &format!("of column \"{}\" needs the table's search_path", column.name),
                ));
            }
            let ordered = matches!(
                column.ty.sql_name(),
                "smallint"
                    | "integer"
                    | "bigint"
                    | "real"
                    | "double precision"
                    | "numeric"
                    | "date"
                    | "timestamp"
                    | "timestamptz"
                    | "timestamp without time zone"
                    | "timestamp with time zone"
            );
            let ops = if ordered { vec![Op::Eq, Op::Ne, Op::Gt, Op::Ge, Op::Lt, Op::Le] } else { vec![Op::Eq, Op::Ne] };
            let path = match column.option("path") {
                Some(p) => JsonPath::parse(p).map_err(|e| Error::option_value("path", e))?,
                None => JsonPath::key(&column.name),
            };
            search_fields.push(SearchField {
                column: column.name.clone(),
                field,
                ops,
                text: !ordered && column.ty.sql_name() != "boolean",
                path,
            });
        }
        let required_hints = table
            .columns
            .iter()
            .filter(|c| required.contains(&c.name))
            .filter_map(|c| Some((c.name.clone(), non_empty(c.option("required_hint"))?)))
            .collect();
        let terms = text("terms_param").map(|param| Terms {
            param,
            join: options.get("terms_join").filter(|j| !j.is_empty()).unwrap_or(" ").to_string(),
            quote: options.get("terms_quote").unwrap_or("\"").to_string(),
            escape: text("terms_escape"),
            minutes: options.get("terms_time_precision") == Some("minute"),
            sort: text("terms_sort"),
        });
        let mut column_terms = Vec::new();
        for column in &table.columns {
            for (option, op) in TERM_OPTIONS {
                let Some(template) = non_empty(column.option(option)) else { continue };
                if terms.is_none() {
                    return Err(misplaced(
                        option,
                        &format!("of column \"{}\" needs the table's terms_param", column.name),
                    ));
                }
                if !template.contains("{value}") {
                    return Err(Error::option_value(
                        option,
                        format!("\"{template}\" has no {{value}} for the condition's value"),
                    ));
                }
                column_terms.push(Term { column: column.name.clone(), op, template });
            }
        }
        if let Some(template) = terms.as_ref().and_then(|t| t.sort.as_ref()).filter(|t| !t.contains("{field}")) {
            return Err(Error::option_value(
                "terms_sort",
                format!("\"{template}\" has no {{field}} for the sorted field"),
            ));
        }
        let sorts_in_terms = terms.as_ref().is_some_and(|t| t.sort.is_some());
        let sort_param = text("sort_param");
        if sort_param.is_none() && !sorts_in_terms {
            if let Some((column, _)) = sortable.first() {
                return Err(Error::new(
                    ErrorKind::MissingOption,
                    format!(
                        "column \"{column}\" is sortable, but foreign table \"{}\" has no option \"sort_param\"",
                        table.name
                    ),
                )
                .with_hint("Name the query parameter that sorts, e.g. OPTIONS (ADD sort_param 'sort')."));
            }
        }
        if let Some(text) = options.get("rate_limit") {
            crate::options::check_value(&OptionSpec::new("rate_limit", crate::options::RATE_LIMIT), text)?;
        }
        let endpoint_limit =
            options.number("rate_limit")?.map(|rate| EndpointLimit { endpoint: url.path().to_string(), rate });
        Ok(RestTable {
            table_name: table.name.clone(),
            url,
            rows: options.json_path("rows")?,
            pagination,
            page_size: page_size(server, table, &Rest)?,
            has_more_path: options.json_path("has_more_path")?,
            total_path: options.json_path("total_path")?,
            total_header: text("total_header"),
            method,
            body,
            filters,
            filter_join: options.get("filter_join").map(str::to_string),
            success_path: options.json_path("success_path")?,
            error_path: options.json_path("error_path")?,
            item_lookup: options.bool("item_lookup")?.unwrap_or(false),
            search,
            search_fields,
            required,
            required_hints,
            fields_param: text("fields_param"),
            endpoint_limit,
            expand_param: text("expand_param").unwrap_or_else(|| "expand[]".into()),
            expand_prefix: text("expand_prefix").unwrap_or_default(),
            expansions: table
                .columns
                .iter()
                .enumerate()
                .filter_map(|(i, c)| Some((i, non_empty(c.option("expand"))?)))
                .collect(),
            column_names: table.columns.iter().map(|c| c.name.clone()).collect(),
            echoes,
            terms,
            column_terms,
            sortable,
            // A sort written as a term has one key.
            max_sort_keys: if sorts_in_terms { 1 } else { options.int("sort_max_keys")?.unwrap_or(8) as usize },
            sort_param,
            order_param: text("order_param"),
            limit_param: text("limit_param"),
            writes: WriteConfig {
                base,
                key_column: text("key_column").unwrap_or_else(|| "id".into()),
                item_path: text("item_path").unwrap_or_else(|| format!("{}/{{key}}", path.trim_end_matches('/'))),
                insert_method: options.get("insert_method").unwrap_or("POST").parse().unwrap_or(reqwest::Method::POST),
                update_method: options
                    .get("update_method")
                    .unwrap_or("PATCH")
                    .parse()
                    .unwrap_or(reqwest::Method::PATCH),
                batch_size: options.int("batch_size")?.unwrap_or(1).max(1) as usize,
                insert_wrapper: text("insert_wrapper"),
                returning_path: options.json_path("returning_path")?,
                returning_members: returning_members(options.get("returning_members"))?,
                idempotency_key: options.bool("idempotency_key")?.unwrap_or(false),
                insert_path: text("insert_path"),
                form: options.get("write_format") == Some("form"),
                operations: write_operations(options.get("write_operations"))?,
            },
            column_paths: table
                .columns
                .iter()
                .map(|c| match c.option("path") {
                    Some(p) => JsonPath::parse(p).map_err(|e| Error::option_value("path", e)),
                    None => Ok(JsonPath::key(&c.name)),
                })
                .collect::<Result<_>>()?,
            partition,
            detail: DetailSpec::parse(&options, table)?,
        })
    }

    /// Query parameters for the pushed conditions and sort.
    fn pushed_params(&self, request: &ScanRequest) -> Vec<(String, String)> {
        // (parameter, value, filled from a template)
        let mut filled: Vec<(String, String, bool)> = Vec::new();
        for qual in &request.quals {
            let filter_for = |op: Op| self.filters.iter().find(|f| f.column == qual.column && f.op == op);
            let pushed: Vec<(&Filter, &SqlValue)> = match (&qual.op, &qual.value) {
                (Op::In, SqlValue::List(items)) => {
                    filter_for(Op::Eq).map(|f| items.iter().map(|v| (f, v)).collect()).unwrap_or_default()
                }
                (op, value) => filter_for(*op).map(|f| vec![(f, value)]).unwrap_or_default(),
            };
            for (filter, value) in pushed {
                let text = filter.render(value);
                let templated = filter.template.is_some();
                let joined = match (&self.filter_join, templated) {
                    (Some(join), true) => {
                        filled.iter_mut().find(|(p, _, t)| *t && *p == filter.param).map(|(_, existing, _)| {
                            existing.push_str(join);
                            existing.push_str(&text);
                        })
                    }
                    _ => None,
                };
                if joined.is_none() {
                    filled.push((filter.param.clone(), text, templated));
                }
            }
        }
        let mut params: Vec<(String, String)> = filled.into_iter().map(|(p, v, _)| (p, v)).collect();
        let remote =
            |column: &str| self.sortable.iter().find(|(c, _)| c == column).map(|s| s.1.clone()).unwrap_or_default();
        if let Some(terms) = &self.terms {
            // Conditions a filter serves are sent as the filter; the others of a term's column as terms.
            let filtered = |column: &str, op: Op| self.filters.iter().any(|f| f.column == column && f.op == op);
            let mut written: Vec<String> = request
                .quals
                .iter()
                .filter(|q| !filtered(&q.column, q.op))
                .filter_map(|q| {
                    terms.render(self.column_terms.iter().find(|t| t.column == q.column && t.op == q.op)?, &q.value)
                })
                .collect();
            if let Some(template) = terms.sort.as_ref().filter(|_| !request.sorts.is_empty()) {
                written.extend(request.sorts.iter().map(|s| {
                    template.replace("{field}", &format!("{}{}", if s.desc { "-" } else { "" }, remote(&s.column)))
                }));
            }
            if !written.is_empty() {
                let joined = written.join(&terms.join);
                match params.iter_mut().find(|(p, _)| *p == terms.param) {
                    Some((_, value)) => {
                        value.push_str(&terms.join);
                        value.push_str(&joined);
                    }
                    None => params.push((terms.param.clone(), joined)),
                }
            }
        }
        if let (Some(sort_param), false) = (&self.sort_param, request.sorts.is_empty()) {
            match &self.order_param {
                Some(order_param) => {
                    params.push((
                        sort_param.clone(),
                        request.sorts.iter().map(|s| remote(&s.column)).collect::<Vec<_>>().join(","),
                    ));
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

    /// With a search endpoint, the table that reads it for `request`: when a condition only search applies is
    /// pushed, and search can express every pushed condition (else the list is read, and Postgres checks
    /// the conditions only search applies, which are pushed as supersets). Text conditions the list would
    /// apply exactly are checked again on the records, as search compares text case-insensitively.
    fn searching(&self, request: &ScanRequest) -> Option<(RestTable, Vec<Recheck>)> {
        let search = self.search.as_ref()?;
        if !request.sorts.is_empty() || self.lookup_url(request).is_some() {
            return None;
        }
        let listed = |column: &str, op: Op| {
            self.filters.iter().any(|f| f.column == column && (f.op == op || (op == Op::In && f.op == Op::Eq)))
        };
        let termed = |column: &str, op: Op| self.column_terms.iter().any(|t| t.column == column && t.op == op);
        if !request.quals.iter().any(|q| !listed(&q.column, q.op) && !termed(&q.column, q.op)) {
            return None;
        }
        let mut clauses = Vec::new();
        let mut recheck = Vec::new();
        for qual in &request.quals {
            let field = self.search_fields.iter().find(|f| f.column == qual.column)?;
            clauses.push(field.clause(qual.op, &qual.value)?);
            if field.text && listed(&qual.column, qual.op) {
                recheck.push((field.path.clone(), qual.op, qual.value.to_param()));
            }
        }
        let mut url = search.url.clone();
        url.query_pairs_mut().append_pair(&search.param, &clauses.join(&search.join));
        let size_param = self.size_param().cloned();
        let table = RestTable {
            url,
            pagination: Pagination::Cursor {
                cursor_param: search.cursor_param.clone(),
                size_param,
                cursor_path: search.cursor_path.clone(),
                in_body: false,
                next_url: None,
            },
            method: Method::GET,
            body: None,
            filters: Vec::new(),
            terms: None,
            column_terms: Vec::new(),
            search: None,
            item_lookup: false,
            total_path: None,
            total_header: None,
            limit_param: None,
            ..self.clone()
        };
        Some((table, recheck))
    }

    /// The scan's source, split into windows of the partition column when the scan can be.
    fn source(&self, request: &ScanRequest) -> RestSource {
        let source = self.plain_source(request);
        // A looked-up record or a search's results are one walk.
        let partitioner = match source.lookup.is_none() && self.searching(request).is_none() {
            true => self.partitioner(request, source.page_size).map(|p| Arc::new(p) as Arc<dyn Partitioner>),
            false => None,
        };
        RestSource { partitioner, ..source }
    }

    /// The windows' partitioner for `request`, when the table has a partition column, the scan has a lower
    /// bound on it (the query's or `partition_start`), no condition picks single values of it, any pushed
    /// sort starts with it, and a pushed LIMIT needs more than one page.
    fn partitioner(&self, request: &ScanRequest, page_size: u64) -> Option<RestPartitioner> {
        let spec = self.partition.clone()?;
        if request.sorts.first().is_some_and(|s| s.column != spec.column)
            || request.limit.and_then(|l| l.rows_needed()).is_some_and(|n| n <= page_size)
        {
            return None;
        }
        let mut base = request.clone();
        let (mut lower, mut upper) = (Vec::new(), Vec::new());
        base.quals.clear();
        // Windows read the column (`fields_param`, pruned parsing) whether or not the query does.
        if !base.columns.contains(&spec.index) {
            base.columns.push(spec.index);
        }
        for qual in &request.quals {
            match qual.op {
                _ if qual.column != spec.column => base.quals.push(qual.clone()),
                Op::Ge | Op::Gt => lower.push(qual.clone()),
                Op::Lt | Op::Le => upper.push(qual.clone()),
                Op::Ne | Op::IsNotNull => base.quals.push(qual.clone()),
                Op::Eq | Op::In | Op::IsNull | Op::Like | Op::ILike => return None,
            }
        }
        let key = |q: &Qual| crate::partition::key_of_value(&spec.ty, &q.value);
        let keys = |quals: &[Qual]| quals.iter().map(key).collect::<Option<Vec<i64>>>();
        let low = keys(&lower)?.into_iter().max().or(spec.start)?;
        let high = keys(&upper)?.into_iter().min().unwrap_or_else(|| crate::partition::now_key(&spec.ty));
        let (ordered, descending) = (!request.sorts.is_empty(), request.sorts.first().is_some_and(|s| s.desc));
        Some(RestPartitioner {
            table: self.clone(),
            spec,
            request: base,
            lower,
            upper,
            range: (low, high),
            ordered,
            descending,
        })
    }

    /// The scan's source, read in one walk.
    fn plain_source(&self, request: &ScanRequest) -> RestSource {
        if let Some((table, recheck)) = self.searching(request) {
            return RestSource { recheck, ..table.plain_source(request) };
        }
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
        let fields = self.fields(request);
        if let Some((param, fields)) = &fields {
            url.query_pairs_mut().append_pair(param, fields);
        }
        // Expanded members: (member, column), asked for in lists with the prefix, in lookups without.
        let mut expanded: Vec<(String, String)> = Vec::new();
        for &(i, ref member) in &self.expansions {
            if request.columns.contains(&i) {
                if !expanded.iter().any(|(m, _)| m == member) {
                    url.query_pairs_mut().append_pair(&self.expand_param, &format!("{}{member}", self.expand_prefix));
                }
                expanded.push((member.clone(), self.column_names[i].clone()));
            }
        }
        if let (Pagination::None, Some(limit_param), Some(n)) = (&self.pagination, &self.limit_param, wanted) {
            url.query_pairs_mut().append_pair(limit_param, &n.to_string());
        }
        // Parse only what this scan reads: the records' members its columns use, and the paging values.
        let next_path = match &self.pagination {
            Pagination::Cursor { cursor_path, .. } => Some(cursor_path),
            Pagination::Link { next_url_path, .. } => next_url_path.as_ref(),
            _ => None,
        };
        let expanded_paths: Vec<JsonPath> = expanded.iter().map(|(member, _)| JsonPath::key(member)).collect();
        // An error in a 200 response is told by its flag, and explained by its message.
        let explained: Vec<JsonPath> = match (&self.success_path, &self.error_path) {
            (None, None) => Vec::new(),
            _ => ERROR_MESSAGE_PATHS.iter().filter_map(|p| JsonPath::parse(p).ok()).collect(),
        };
        let kept = [
            next_path,
            self.has_more_path.as_ref(),
            self.total_path.as_ref(),
            self.success_path.as_ref(),
            self.error_path.as_ref(),
        ]
        .into_iter()
        .flatten()
        .chain(&explained);
        let read = request.columns.iter().filter_map(|&i| self.column_paths.get(i)).chain(&expanded_paths);
        let mut lookup = self.lookup_url(request);
        if let (Some(lookup), Some((param, fields))) = (&mut lookup, &fields) {
            lookup.query_pairs_mut().append_pair(param, fields);
        }
        if let Some(lookup) = &mut lookup {
            let mut members: Vec<&String> = Vec::new();
            for (member, _) in &expanded {
                if !members.contains(&member) {
                    members.push(member);
                }
            }
            for member in members {
                lookup.query_pairs_mut().append_pair(&self.expand_param, member);
            }
        }
        let detail_query = self.detail.as_ref().and_then(|d| d.query(&request.columns));
        // A looked-up record is its own detail.
        if let (Some(lookup), Some(query)) = (&mut lookup, &detail_query) {
            lookup.query_pairs_mut().extend_pairs(url::form_urlencoded::parse(query.as_bytes()));
        }
        // A looked-up record is the whole body.
        let rows = if lookup.is_some() { None } else { self.rows.as_ref() };
        let shape = Shape::new(rows, kept, read);
        let echoes = request
            .quals
            .iter()
            .filter(|q| q.op == Op::Eq)
            .filter_map(|q| {
                self.echoes.iter().find(|(c, _)| *c == q.column).map(|(_, keys)| (keys.clone(), q.value.to_json()))
            })
            .collect();
        RestSource {
            table: self.clone(),
            url,
            page_size,
            start_offset,
            shape,
            echoes,
            lookup,
            expanded,
            recheck: Vec::new(),
            partitioner: None,
            detail_query,
        }
    }

    /// With `fields_param`, the parameter and the top-level members the scan's columns read (echoed columns
    /// are not members; the key column stands in when no column is read). `None` when a column reads the
    /// whole record or a path that does not start with a member.
    fn fields(&self, request: &ScanRequest) -> Option<(String, String)> {
        let param = self.fields_param.as_ref()?;
        let mut members: Vec<&str> = Vec::new();
        for &i in &request.columns {
            let name = self.column_names.get(i)?;
            if self.echoes.iter().any(|(c, _)| c == name) {
                continue;
            }
            // An expanded column reads its member's object.
            let member = match self.expansions.iter().find(|(at, _)| *at == i) {
                Some((_, member)) => member.as_str(),
                None => self.column_paths.get(i)?.first_key()?,
            };
            if !members.contains(&member) {
                members.push(member);
            }
        }
        if members.is_empty() {
            members.push(&self.writes.key_column);
        }
        Some((param.clone(), members.join(",")))
    }

    /// With `item_lookup`, the record's URL when the scan's only condition is `key_column = value`.
    fn lookup_url(&self, request: &ScanRequest) -> Option<Url> {
        let [qual] = request.quals.as_slice() else { return None };
        if !self.item_lookup
            || qual.op != Op::Eq
            || qual.column != self.writes.key_column
            || matches!(qual.value, SqlValue::List(_))
        {
            return None;
        }
        RestWriter { table: self.clone() }.item(&qual.value).ok()
    }

    /// An error for a response that reports one with status 200 (`success_path` false, or a value at
    /// `error_path`).
    fn reported_error(&self, body: &Value, request: &str) -> Option<Error> {
        let failed = self.success_path.as_ref().and_then(|p| p.get(body)).is_some_and(|v| *v == Value::Bool(false));
        let flagged = self.error_path.as_ref().and_then(|p| p.get(body)).filter(|v| match v {
            Value::Null | Value::Bool(false) => false,
            Value::Array(items) => !items.is_empty(),
            Value::Object(members) => !members.is_empty(),
            Value::String(s) => !s.is_empty(),
            _ => true,
        });
        let path = match (failed, flagged) {
            (true, _) => self.success_path.as_ref()?,
            (false, Some(_)) => self.error_path.as_ref()?,
            (false, None) => return None,
        };
        let message = ERROR_MESSAGES
            .iter()
            .filter_map(|p| JsonPath::parse(p).ok())
            .find_map(|p| p.get(body).and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| path.get(body).map(Value::to_string).unwrap_or_default());
        let why = if failed { format!("{path} is false") } else { format!("it has {path}") };
        let mut error =
            Error::new(ErrorKind::Remote, format!("{request} failed: the response reports an error ({why})"));
        if !message.is_empty() {
            error = error.with_detail(format!("provider said: {}", message.chars().take(300).collect::<String>()));
        }
        Some(error)
    }

    fn size_param(&self) -> Option<&String> {
        match &self.pagination {
            Pagination::None => self.limit_param.as_ref(),
            Pagination::Page { size_param, .. }
            | Pagination::Cursor { size_param, .. }
            | Pagination::Link { size_param, .. } => size_param.as_ref(),
            Pagination::Offset { limit_param, .. } => limit_param.as_ref(),
        }
    }
}

impl Table for RestTable {
    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::new();
        for filter in &self.filters {
            caps.add_filters(&filter.column, &[filter.op], crate::pushdown::Support::Exact);
            // IN repeats a plain parameter; a template has no general form for it, and an echoed column
            // has one value per scan.
            let echoed = self.echoes.iter().any(|(c, _)| *c == filter.column);
            if filter.op == Op::Eq && filter.template.is_none() && !echoed {
                caps.add_filters(&filter.column, &[Op::In], crate::pushdown::Support::Exact);
            }
        }
        // Terms of a search language match loosely: Postgres checks them again.
        for term in &self.column_terms {
            if caps.filter_support(&term.column, term.op).is_none() {
                caps.add_filters(&term.column, &[term.op], crate::pushdown::Support::Superset);
            }
        }
        // Conditions only the search endpoint applies (and case-insensitively): Postgres checks them again.
        for field in self.search_fields.iter().filter(|_| self.search.is_some()) {
            for op in &field.ops {
                if caps.filter_support(&field.column, *op).is_none() {
                    caps.add_filters(&field.column, &[*op], crate::pushdown::Support::Superset);
                }
            }
        }
        for column in &self.required {
            let ops: Vec<Op> = self.filters.iter().filter(|f| f.column == *column).map(|f| f.op).collect();
            let shown: Vec<&str> = ops.iter().map(|op| op_text(*op)).collect();
            let message = format!(
                "foreign table \"{}\" needs a condition on column \"{column}\" ({}): the provider requires it",
                self.table_name,
                shown.join(", ")
            );
            // What to write: the column's hint, else a condition of its first operator.
            let hint = match self.required_hints.iter().find(|(c, _)| c == column) {
                Some((_, hint)) => hint.clone(),
                None => {
                    format!("Add a condition such as WHERE {column} {} '…'.", shown.first().copied().unwrap_or("="))
                }
            };
            caps = caps.require(column, &ops, &message).requirement_hint(column, &hint);
        }
        // A lookup serves `key = value` alone; with other conditions the list is read, so Postgres rechecks.
        let key = &self.writes.key_column;
        if self.item_lookup && !self.filters.iter().any(|f| f.column == *key && f.op == Op::Eq) {
            caps.add_filters(key, &[Op::Eq], crate::pushdown::Support::Superset);
            caps.add_lookup_only(key);
        }
        for (column, _) in &self.sortable {
            caps.add_sortable(column);
        }
        // A declared total (member or header) answers count(*); an undeclared X-Total-Count only helps paging.
        if self.total_path.is_some() || self.total_header.is_some() {
            caps = caps.total();
        }
        let offset_too = matches!(self.pagination, Pagination::Offset { .. });
        caps.max_sort_keys(if self.sortable.is_empty() { 0 } else { self.max_sort_keys }).limit(offset_too)
    }

    fn describe(&self, request: &ScanRequest) -> Vec<String> {
        let source = self.source(request);
        let token = match source.paging() {
            Paging::Numbered { .. } => PageToken::Number { page: 0, offset: 0 },
            Paging::Chained => PageToken::First,
        };
        match source.request(&token) {
            Ok(req) => vec![match &req.body {
                Some(body) => format!("{} {} {body}", req.method, redact_url(&req.url, None)),
                None => format!("{} {}", req.method, redact_url(&req.url, None)),
            }],
            Err(e) => vec![format!("(cannot build the request: {e})")],
        }
    }

    fn scan(&self, request: &ScanRequest) -> Result<Arc<dyn PageSource>> {
        Ok(Arc::new(self.source(request)))
    }

    fn rows_per_request(&self) -> Option<u64> {
        (!matches!(self.pagination, Pagination::None)).then_some(self.page_size)
    }

    fn partitioner(&self, request: &ScanRequest) -> Option<Arc<dyn Partitioner>> {
        self.source(request).partitioner
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

    /// Where inserts go: `insert_path`, else the table's URL without paging or pushed parameters.
    fn collection(&self) -> Url {
        match &self.config().insert_path {
            Some(path) => join(&self.config().base, path),
            None => self.table.url.clone(),
        }
    }

    /// Refuse an operation `write_operations` leaves out.
    fn allowed(&self, op: usize) -> Result<()> {
        if self.config().operations[op] {
            return Ok(());
        }
        let name = ["INSERT", "UPDATE", "DELETE"][op];
        Err(Error::not_supported(format!(
            "foreign table \"{}\" does not accept {name}: the provider has no such operation",
            self.table.table_name
        )))
    }

    /// Send a write; a response that reports an error in its body is one.
    async fn send(&self, http: &Http, request: Request, counters: &Counters) -> Result<Value> {
        let request = Request { form: self.config().form, ..request };
        let (response, answer) = http.send_json(&request, counters).await?;
        match self.table.reported_error(&answer, &response.request) {
            Some(error) => Err(error),
            None => Ok(answer),
        }
    }

    fn item(&self, key: &SqlValue) -> Result<Url> {
        let key = key.to_param();
        super::item_segment(&self.config().key_column, &key)?;
        const SEGMENT: &percent_encoding::AsciiSet =
            &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');
        let encoded = percent_encoding::utf8_percent_encode(&key, SEGMENT).to_string();
        // Like the table's path, item_path is relative to the server's base URL.
        Ok(join(&self.config().base, &self.config().item_path.replace("{key}", &encoded)))
    }

    fn request(&self, method: reqwest::Method, url: Url) -> Request {
        // DELETE is idempotent by itself (Stripe: a key on a DELETE has no effect).
        let keyed = self.config().idempotency_key && method != reqwest::Method::DELETE;
        let mut request = Request::new(method, url);
        if keyed {
            request.idempotency_key = Some(idempotency_key());
        }
        request
    }

    /// The records a write response holds, with the members `returning_members` takes from the answer.
    fn returned(&self, body: Value) -> Vec<Value> {
        let extra: Vec<(&String, Value)> = self
            .config()
            .returning_members
            .iter()
            .filter_map(|(member, path)| Some((member, path.get(&body)?.clone())))
            .collect();
        let mut records = match &self.config().returning_path {
            Some(path) => path.select_rows(body).unwrap_or_default(),
            None => match body {
                Value::Array(items) => items,
                Value::Null => Vec::new(),
                other => vec![other],
            },
        };
        for record in records.iter_mut().filter_map(Value::as_object_mut) {
            for (member, value) in &extra {
                record.insert((*member).clone(), value.clone());
            }
        }
        records
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
        let item = || {
            self.item(&SqlValue::Text("{key}".into()))
                .map(|u| redact_url(&u, None).replace("%7Bkey%7D", "{key}"))
                .unwrap_or_default()
        };
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
        self.allowed(0)?;
        let request = self.request(self.config().insert_method.clone(), self.collection()).json(body);
        let answer = self.send(http, request, counters).await?;
        let mut returned = self.returned(answer);
        returned.resize(count, Value::Null);
        Ok(returned)
    }

    async fn update(&self, http: &Http, key: &SqlValue, changes: Value, counters: &Counters) -> Result<Value> {
        self.allowed(1)?;
        let request = self.request(self.config().update_method.clone(), self.item(key)?).json(changes);
        let answer = self.send(http, request, counters).await?;
        Ok(self.returned(answer).into_iter().next().unwrap_or(Value::Null))
    }

    async fn delete(&self, http: &Http, key: &SqlValue, counters: &Counters) -> Result<Value> {
        self.allowed(2)?;
        let request = self.request(reqwest::Method::DELETE, self.item(key)?);
        let answer = self.send(http, request, counters).await?;
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
    /// Values of echoed columns, set in every record: (member names, value).
    echoes: Vec<(Vec<String>, Value)>,
    /// The one record's URL, when the scan looks up a key (`item_lookup`).
    lookup: Option<Url>,
    /// (member, column) of the expanded members the scan reads.
    expanded: Vec<(String, String)>,
    /// Text conditions checked again on a search's records.
    recheck: Vec<Recheck>,
    partitioner: Option<Arc<dyn Partitioner>>,
    /// The query of each record's detail request, when the scan reads a `detail` column.
    detail_query: Option<String>,
}

/// A text condition checked again on a search's records: (path, `=` or `<>`, value).
type Recheck = (JsonPath, Op, String);

/// Put each expanded member's object under its column's name and set the member back to the object's `id`,
/// so that columns reading the member see the id whether or not the scan expands it. A member that did not
/// come back as an object leaves the column null.
fn place_expanded(record: &mut Value, expanded: &[(String, String)]) {
    let Value::Object(members) = record else { return };
    // Every column's object is taken before any member is set back to its id.
    let objects: Vec<Option<Value>> =
        expanded.iter().map(|(member, _)| members.get(member).filter(|v| v.is_object()).cloned()).collect();
    for ((member, column), object) in expanded.iter().zip(objects) {
        if column == member {
            continue;
        }
        // A column named like the member shows the object: the member stays expanded.
        let shown = expanded.iter().any(|(m, c)| m == member && c == member);
        if let Some(id) = object.as_ref().and_then(|o| o.get("id")).cloned().filter(|_| !shown) {
            members.insert(member.clone(), id);
        }
        members.insert(column.clone(), object.unwrap_or(Value::Null));
    }
}

impl RestSource {
    fn request(&self, token: &PageToken) -> Result<Request> {
        if let Some(url) = &self.lookup {
            return Ok(Request::get(url.clone()));
        }
        let read = |url: Url, body: Option<Value>| Request {
            body,
            ..Request::new(self.table.method.clone(), url).read_only()
        };
        // A continuation endpoint takes the cursor alone: the first request's arguments live on in it.
        if let (Pagination::Cursor { cursor_param, in_body, next_url: Some(next_url), .. }, PageToken::Next(cursor)) =
            (&self.table.pagination, token)
        {
            let mut url = next_url.clone();
            if *in_body {
                return Ok(read(url, Some(serde_json::json!({ cursor_param.as_str(): cursor }))));
            }
            url.query_pairs_mut().append_pair(cursor_param, cursor);
            return Ok(read(url, None));
        }
        let mut url = self.url.clone();
        let mut body = self.table.body.clone();
        let size = self.page_size.to_string();
        {
            let mut query = url.query_pairs_mut();
            match (&self.table.pagination, token) {
                (Pagination::None, _) => {}
                (Pagination::Page { page_param, size_param, first }, PageToken::Number { page, .. }) => {
                    query.append_pair(page_param, &(first + page).to_string());
                    if let Some(p) = size_param {
                        query.append_pair(p, &size);
                    }
                }
                (Pagination::Offset { offset_param, limit_param }, PageToken::Number { offset, .. }) => {
                    query.append_pair(offset_param, &(self.start_offset + offset).to_string());
                    if let Some(p) = limit_param {
                        query.append_pair(p, &size);
                    }
                }
                (Pagination::Cursor { cursor_param, size_param, in_body: true, .. }, token) => {
                    let members = body.get_or_insert_with(|| Value::Object(Default::default()));
                    if let Some(p) = size_param {
                        members[p.as_str()] = Value::from(self.page_size);
                    }
                    if let PageToken::Next(cursor) = token {
                        members[cursor_param.as_str()] = Value::from(cursor.as_str());
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
                (Pagination::Link { size_param, .. }, PageToken::First) => {
                    if let Some(p) = size_param {
                        query.append_pair(p, &size);
                    }
                }
                (Pagination::Link { .. }, PageToken::Next(_)) => {}
                (_, token) => {
                    return Err(Error::internal(format!("page token {token:?} does not fit the paging style")))
                }
            }
        }
        if let (Pagination::Link { .. }, PageToken::Next(next)) = (&self.table.pagination, token) {
            url = self.same_origin(next)?;
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(read(url, body))
    }

    /// A next-page URL (Link header or body), refused if it leaves the server's host: requests carry
    /// credentials, and a provider's response must not be able to send them elsewhere.
    fn same_origin(&self, link: &str) -> Result<Url> {
        let source = match &self.table.pagination {
            Pagination::Link { next_url_path: Some(path), .. } => format!("next-page URL at {path}"),
            _ => "Link header".to_string(),
        };
        let next =
            self.url.join(link).map_err(|e| Error::bad_response(format!("{source} has a bad URL \"{link}\": {e}")))?;
        if next.origin() != self.url.origin() {
            return Err(Error::bad_response(format!(
                "{source} of foreign table \"{}\" points to another host ({}); it is not followed",
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
                    "response to {request} has no records at rows path {rows}: nothing there, or a single value that is not an object (foreign table \"{}\")",
                    self.table.table_name
                ))
            }),
            None => match body {
                Value::Array(items) => Ok(items),
                Value::Null => Ok(Vec::new()),
                record @ Value::Object(_) => Ok(vec![record]),
                other => Err(Error::bad_response(format!(
                    "response to {request} is a single value ({}), not records (foreign table \"{}\")",
                    if other.is_string() { "a string" } else { "a number or boolean" },
                    self.table.table_name
                ))
                .with_hint("Point the table's \"rows\" option at the array of records.")),
            },
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
            p.strip_prefix("rel=")
                .is_some_and(|v| v.trim_matches('"').split_whitespace().any(|r| r.eq_ignore_ascii_case("next")))
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
    fn partitioner(&self) -> Option<Arc<dyn Partitioner>> {
        self.partitioner.clone()
    }

    fn paging(&self) -> Paging {
        match self.table.pagination {
            _ if self.lookup.is_some() => Paging::Chained,
            Pagination::Page { .. } | Pagination::Offset { .. } => Paging::Numbered { page_size: self.page_size },
            _ => Paging::Chained,
        }
    }

    async fn fetch(&self, http: &Http, token: PageToken, counters: &Counters) -> Result<Page> {
        let request = self.request(&token)?.limited(self.table.endpoint_limit.clone());
        let (response, body) = match http.send_json_shaped(&request, counters, Some(&self.shape)).await {
            // A key that names no record is no rows.
            Err(e) if e.kind == ErrorKind::NotFound && self.lookup.is_some() => {
                return Ok(Page { last: true, total: Some(0), next: None, records: Vec::new() })
            }
            other => other?,
        };
        if let Some(error) = self.table.reported_error(&body, &response.request) {
            return Err(error);
        }
        if self.lookup.is_some() {
            let mut records = if body.is_null() { Vec::new() } else { vec![body] };
            if let (Some(detail), Some(_)) = (&self.table.detail, &self.detail_query) {
                for record in &mut records {
                    let members = detail.members(record.clone());
                    if let Value::Object(record) = record {
                        record.extend(members);
                    }
                }
            }
            for record in &mut records {
                place_expanded(record, &self.expanded);
            }
            for (keys, value) in &self.echoes {
                for record in &mut records {
                    crate::write::set(record, keys, value.clone());
                }
            }
            // The lookup's answer is the whole result.
            let total = Some(records.len() as u64);
            return Ok(Page { last: true, total, next: None, records });
        }
        // Only an exact non-negative integer is a total ("10000+", -1 or 12.5 are none).
        let header = self.table.total_header.as_deref().unwrap_or("x-total-count");
        let total = self
            .table
            .total_path
            .as_ref()
            .and_then(|p| p.get(&body))
            .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
            .or_else(|| response.header(header).and_then(|v| v.trim().parse().ok()))
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
            Pagination::Link { next_url_path: Some(path), .. } => {
                path.get(&body).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
            }
            Pagination::Link { next_url_path: None, .. } => response.header("link").and_then(next_link),
            _ => None,
        };
        let mut records = self.records(body, &response.request)?;
        for record in &mut records {
            place_expanded(record, &self.expanded);
        }
        // A page the recheck empties is not the end: whether there is more is known before.
        let listed = records.len();
        records.retain(|record| {
            self.recheck.iter().all(|(path, op, wanted)| {
                let text = path.get(record).and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                });
                match op {
                    Op::Ne => text.is_some_and(|t| t != *wanted),
                    _ => text.as_deref() == Some(wanted.as_str()),
                }
            })
        });
        for (keys, value) in &self.echoes {
            for record in &mut records {
                crate::write::set(record, keys, value.clone());
            }
        }
        if let (Some(next), PageToken::Next(previous)) = (&next, &token) {
            if next == previous {
                return Err(Error::bad_response(format!(
                    "response to {} repeats the cursor it was asked for; paging would never end",
                    response.request
                )));
            }
        }
        let next = if listed == 0 { None } else { next };
        if let Some(query) = &self.detail_query {
            records = self.with_details(http, counters, records, query).await?;
        }
        Ok(Page { last: has_more == Some(false), total, next, records })
    }
}

/// How many detail requests of a page are prepared at once; the server's `max_concurrency` and rate limit
/// decide how many are in flight.
const DETAIL_REQUESTS_AHEAD: usize = 16;

impl RestSource {
    /// Each record with its detail's members added (`detail` columns): the record at `item_path` with the
    /// record's key, asked for with `query`. A record deleted since it was listed (404) is left out, as a
    /// later list would not show it.
    async fn with_details(
        &self,
        http: &Http,
        counters: &Counters,
        records: Vec<Value>,
        query: &str,
    ) -> Result<Vec<Value>> {
        let Some(detail) = &self.table.detail else { return Ok(records) };
        let writer = RestWriter { table: self.table.clone() };
        let key_column = &writer.config().key_column;
        let key_path = match self.table.column_names.iter().position(|c| c == key_column) {
            Some(i) => self.table.column_paths[i].clone(),
            None => JsonPath::key(key_column),
        };
        let requests = records.into_iter().map(|record| {
            let key = match key_path.get(&record) {
                Some(Value::String(s)) => Some(SqlValue::Text(s.clone())),
                Some(Value::Number(n)) => Some(SqlValue::Text(n.to_string())),
                _ => None,
            };
            let url = key.map(|key| writer.item(&key)).transpose();
            async move {
                let Some(mut url) = url? else {
                    return Err(Error::bad_response(format!(
                        "a record listed by {} has no key \"{key_column}\" to read its detail with",
                        redact_url(&self.url, None)
                    )));
                };
                url.query_pairs_mut().extend_pairs(url::form_urlencoded::parse(query.as_bytes()));
                let request = Request::get(url).read_only().limited(self.table.endpoint_limit.clone());
                match http.send_json_shaped(&request, counters, None).await {
                    Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                    Ok((_, body)) => {
                        let mut record = record;
                        if let Value::Object(members) = &mut record {
                            members.extend(detail.members(body));
                        }
                        Ok(Some(record))
                    }
                }
            }
        });
        let detailed: Vec<Option<Value>> =
            futures::stream::iter(requests).buffered(DETAIL_REQUESTS_AHEAD).try_collect().await?;
        Ok(detailed.into_iter().flatten().collect())
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

    fn run(
        base: &str,
        table: &TableDef,
        req: &ScanRequest,
        max_concurrency: usize,
    ) -> Result<Vec<Vec<crate::convert::Cell>>> {
        run_as(&server(base), &OptionMap::new(), table, req, max_concurrency)
    }

    fn run_as(
        server: &ServerDef,
        user: &OptionMap,
        table: &TableDef,
        req: &ScanRequest,
        max_concurrency: usize,
    ) -> Result<Vec<Vec<crate::convert::Cell>>> {
        validate_table(server, table)?;
        let t = Rest.open(server, table)?;
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let http = Arc::new(http_client(server, user, None)?);
        let projector = Arc::new(Projector::new(table, &req.columns)?);
        let split = req.limit.map(|l| l.split(t.capabilities().supports_offset()));
        let settings =
            ScanSettings { max_concurrency, rows_needed: split.and_then(|s| s.source_rows), ..Default::default() };
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
            vec![
                ("path", "/offset/customers"),
                ("rows", "$.items"),
                ("pagination", "offset"),
                ("limit_param", "limit"),
                ("total_path", "$.total"),
            ],
            vec![
                ("path", "/cursor/customers"),
                ("rows", "$.data"),
                ("pagination", "cursor"),
                ("page_size_param", "limit"),
                ("cursor_path", "$.next_cursor"),
                ("has_more_path", "$.has_more"),
            ],
            vec![("path", "/link/customers"), ("pagination", "link"), ("page_size_param", "per_page")],
            vec![("path", "/plain/customers")],
        ];
        for options in styles {
            mock.reset();
            let rows = run(&mock.url(), &customers(&options), &request(vec![], vec![], None), 4).unwrap();
            let mut ids: Vec<i64> = rows
                .iter()
                .map(|r| match r[0] {
                    crate::convert::Cell::Int(i) => i,
                    _ => panic!(),
                })
                .collect();
            ids.sort();
            assert_eq!(ids, (1..=2000).collect::<Vec<_>>(), "{options:?}");
            assert!(
                rows.iter().all(|r| matches!(&r[4], crate::convert::Cell::Text(city) if !city.is_empty())),
                "{options:?}: city comes from $.address.city"
            );
        }
    }

    /// The mock's cursor listing, with `id` and `created_at` range-filterable.
    fn partitioned_customers(path: &str, partition: &[(&'static str, &'static str)]) -> TableDef {
        let mut options = vec![
            ("path", path),
            ("rows", "$.data"),
            ("pagination", "cursor"),
            ("page_size_param", "limit"),
            ("page_size", "10"),
            ("cursor_path", "$.next_cursor"),
        ];
        options.extend_from_slice(partition);
        TableDef {
            name: "customers".into(),
            options: map(&options),
            columns: vec![
                ColumnDef::new("id", ColumnType::Int4)
                    .with_option("filter_param_gte", "id_gte")
                    .with_option("filter_param_lt", "id_lt"),
                ColumnDef::new("name", ColumnType::Text),
                ColumnDef::new("created_at", ColumnType::TimestampTz)
                    .with_option("filter_param_gte", "created_at_gte")
                    .with_option("filter_param_lte", "created_at_lte"),
            ],
        }
    }

    /// Ids in delivery order, the scan's warnings and the windows it walked.
    fn run_windows(
        base: &str,
        table: &TableDef,
        req: &ScanRequest,
        max_concurrency: usize,
    ) -> (Vec<i64>, Vec<String>, u64) {
        let t = Rest.open(&server(base), table).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let http = Arc::new(http_client(&server(base), &OptionMap::new(), None).unwrap());
        let projector = Arc::new(Projector::new(table, &req.columns).unwrap());
        let rows_needed = req.limit.and_then(|l| l.rows_needed());
        let settings = ScanSettings { max_concurrency, rows_needed, ..Default::default() };
        let mut scan = Scan::start(runtime.handle(), http, t.scan(req).unwrap(), projector, settings);
        let mut ids = Vec::new();
        loop {
            match scan.next_block(Duration::from_millis(100)).unwrap() {
                Next::Block(b) => ids.extend((0..b.rows()).map(|i| match b.row(i)[0] {
                    crate::convert::Cell::Int(id) => id,
                    ref other => panic!("{other:?}"),
                })),
                Next::Waiting => {}
                Next::Done => return (ids, scan.take_warnings(), scan.counters.snapshot().windows),
            }
        }
    }

    fn qual(column: &str, op: Op, value: V) -> Qual {
        Qual { column: column.into(), op, value }
    }

    /// Every record in the first of 8 windows: with the list's order declared, the idle windows' slots take
    /// over the part of it not yet read.
    #[test]
    fn a_dense_window_is_split_when_the_order_is_declared() {
        let mock = mockapi::MockServer::start_blocking();
        let quals = vec![qual("id", Op::Ge, V::Int(1)), qual("id", Op::Lt, V::Int(100_000))];
        let req = ScanRequest { columns: vec![0, 1, 2], quals, sorts: vec![], limit: None };
        for (order, split) in [(None, false), (Some("asc"), true)] {
            let mut options = vec![("partition_column", "id")];
            options.extend(order.map(|o| ("partition_order", o)));
            let table = partitioned_customers("/n/1000/cursor/customers", &options);
            let (mut ids, warnings, windows) = run_windows(&mock.url(), &table, &req, 8);
            ids.sort();
            assert_eq!(ids, (1..=1000).collect::<Vec<_>>(), "{order:?}");
            assert!(warnings.is_empty(), "{warnings:?}");
            assert_eq!(windows > 8, split, "{order:?}: {windows} windows");
        }
    }

    #[test]
    fn partitioned_cursor_scans_read_every_record_once() {
        let mock = mockapi::MockServer::start_blocking();
        let columns = vec![0, 1, 2];
        // On `id` with `<`; on `created_at` (a record every minute) with `<=` only, split on whole minutes so
        // that records lie exactly on every boundary.
        let cases: Vec<(TableDef, Vec<Qual>, Vec<i64>)> = vec![
            (
                partitioned_customers("/n/1000/cursor/customers", &[("partition_column", "id")]),
                vec![qual("id", Op::Ge, V::Int(1)), qual("id", Op::Lt, V::Int(1001))],
                (1..=1000).collect(),
            ),
            (
                partitioned_customers(
                    "/n/1000/cursor/customers",
                    &[("partition_column", "id"), ("partition_start", "0")],
                ),
                vec![qual("id", Op::Lt, V::Int(801))],
                (1..=800).collect(),
            ),
            (
                partitioned_customers(
                    "/n/1000/cursor/customers",
                    &[("partition_column", "created_at"), ("partition_start", "2024-01-01 00:00:00+00")],
                ),
                vec![qual("created_at", Op::Le, V::TimestampTz("2024-01-01T16:00:00Z".into()))],
                (1..=960).collect(),
            ),
        ];
        for (table, quals, expected) in cases {
            let req = ScanRequest { columns: columns.clone(), quals, sorts: vec![], limit: None };
            mock.reset();
            let (sequential, warnings, windows) = run_windows(&mock.url(), &table, &req, 1);
            assert_eq!((sequential.clone(), warnings.len(), windows), (expected.clone(), 0, 0), "{:?}", table.options);
            assert_eq!(mock.request_count(), expected.len() as u64 / 10, "one walk");
            mock.reset();
            let (mut partitioned, warnings, windows) = run_windows(&mock.url(), &table, &req, 8);
            assert!(warnings.is_empty(), "{warnings:?}");
            assert_eq!(windows, 8, "{:?}", table.options);
            partitioned.sort();
            assert_eq!(partitioned, expected, "{:?}", table.options);
            let asked = queries(&mock);
            assert!(asked.iter().all(|q| q.contains("_gte=") || q.contains("_lt")), "{asked:?}");
        }
        // A query that does not read the column: windows still read it to check their records.
        mock.reset();
        let table = partitioned_customers(
            "/n/1000/cursor/customers",
            &[("partition_column", "created_at"), ("partition_start", "2024-01-01")],
        );
        let req = ScanRequest { columns: vec![0], quals: vec![], sorts: vec![], limit: None };
        let (mut ids, warnings, windows) = run_windows(&mock.url(), &table, &req, 8);
        ids.sort();
        assert_eq!((ids, warnings, windows > 0), ((1..=1000).collect::<Vec<_>>(), vec![], true));
        // The window requests.
        mock.reset();
        let table = partitioned_customers("/n/1000/cursor/customers", &[("partition_column", "id")]);
        let req = ScanRequest {
            columns: columns.clone(),
            quals: vec![qual("id", Op::Ge, V::Int(1)), qual("id", Op::Lt, V::Int(1001))],
            sorts: vec![],
            limit: None,
        };
        let (mut ids, _, _) = run_windows(&mock.url(), &table, &req, 4);
        ids.sort();
        assert_eq!(ids, (1..=1000).collect::<Vec<_>>());
        let mut firsts: Vec<String> = queries(&mock).into_iter().filter(|q| !q.contains("cursor=")).collect();
        firsts.sort();
        assert_eq!(
            firsts,
            vec![
                "/n/1000/cursor/customers?id_gte=1&id_lt=251&limit=10",
                "/n/1000/cursor/customers?id_gte=251&id_lt=501&limit=10",
                "/n/1000/cursor/customers?id_gte=501&id_lt=751&limit=10",
                "/n/1000/cursor/customers?id_gte=751&id_lt=1001&limit=10",
            ]
        );
    }

    #[test]
    fn a_provider_ignoring_range_parameters_is_read_in_one_walk() {
        let mock = mockapi::MockServer::start_blocking();
        let table = partitioned_customers("/norange/n/300/cursor/customers", &[("partition_column", "id")]);
        let req = ScanRequest {
            columns: vec![0],
            quals: vec![qual("id", Op::Ge, V::Int(1)), qual("id", Op::Lt, V::Int(301))],
            sorts: vec![],
            limit: None,
        };
        let (ids, warnings, windows) = run_windows(&mock.url(), &table, &req, 8);
        assert_eq!(ids, (1..=300).collect::<Vec<_>>(), "no row lost or duplicated");
        assert_eq!(windows, 0);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("the provider ignored the range of partition column \"id\""),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn scans_without_a_lower_bound_or_with_single_values_walk_once() {
        let server = server("http://127.0.0.1:1");
        let table = partitioned_customers("/cursor/customers", &[("partition_column", "id")]);
        let t = Rest.open(&server, &table).unwrap();
        let req = |quals: Vec<Qual>, sorts: Vec<Sort>, limit: Option<Limit>| ScanRequest {
            columns: vec![0],
            quals,
            sorts,
            limit,
        };
        let lower = || qual("id", Op::Ge, V::Int(1));
        assert!(t.partitioner(&req(vec![], vec![], None)).is_none(), "no lower bound");
        assert!(t.partitioner(&req(vec![lower()], vec![], None)).is_some());
        let by_name = Sort { column: "name".into(), desc: false, nulls_first: false };
        assert!(t.partitioner(&req(vec![lower()], vec![by_name], None)).is_none(), "another order");
        let by_id = Sort { column: "id".into(), desc: true, nulls_first: true };
        assert!(t.partitioner(&req(vec![lower()], vec![by_id], None)).is_some_and(|p| p.descending()));
        let one_page = Some(Limit { count: Some(10), offset: 0 });
        assert!(t.partitioner(&req(vec![lower()], vec![], one_page)).is_none(), "a LIMIT of one page");
        let started =
            partitioned_customers("/cursor/customers", &[("partition_column", "id"), ("partition_start", "1")]);
        let t = Rest.open(&server, &started).unwrap();
        let p = t.partitioner(&req(vec![], vec![], None)).unwrap();
        assert_eq!(p.range().0, 1);
        assert!(p.range().1 > 1_700_000_000, "integers are bounded by the start time in Unix seconds");
    }

    #[test]
    fn partition_options_are_checked() {
        let s = server("http://127.0.0.1:1");
        let check = |path: &str, options: &[(&'static str, &'static str)]| {
            let mut table = partitioned_customers(path, options);
            table.columns.push(
                ColumnDef::new("note", ColumnType::Text)
                    .with_option("filter_param_gte", "note_gte")
                    .with_option("filter_param_lt", "note_lt"),
            );
            table
                .columns
                .push(ColumnDef::new("amount", ColumnType::Int4).with_option("filter_param_gte", "amount_gte"));
            validate_table(&s, &table).map_err(|e| (e.message, e.hint.unwrap_or_default()))
        };
        assert!(check("/c", &[("partition_column", "created_at"), ("partition_start", "2024-01-01")]).is_ok());
        assert_eq!(
            check("/c", &[("partition_column", "nope")]).unwrap_err().0,
            "invalid value for option \"partition_column\": foreign table \"customers\" has no column \"nope\""
        );
        let (message, hint) = check("/c", &[("partition_column", "note")]).unwrap_err();
        assert_eq!(message, "invalid value for option \"partition_column\": column \"note\" is of type text, which cannot be split into ranges");
        assert_eq!(hint, "Name a column of an integer, date or timestamp type, such as a creation time.");
        let (message, hint) = check("/c", &[("partition_column", "amount")]).unwrap_err();
        assert_eq!(
            message,
            "invalid value for option \"partition_column\": column \"amount\" is not declared range-filterable"
        );
        assert!(hint.ends_with("OPTIONS (ADD filter_param_lt 'amount_lt')."), "{hint}");
        assert_eq!(
            check("/c", &[("partition_column", "id"), ("partition_start", "soon")]).unwrap_err().0,
            "invalid value for option \"partition_start\": \"soon\" is not a value of column \"id\" (integer)"
        );
        assert_eq!(
            check("/c", &[("partition_start", "1")]).unwrap_err().0,
            "option \"partition_start\" needs partition_column"
        );
        assert_eq!(
            check("/c", &[("partition_order", "desc")]).unwrap_err().0,
            "option \"partition_order\" needs partition_column"
        );
        assert!(check("/c", &[("partition_column", "id"), ("partition_order", "desc")]).is_ok());
        let mut paged = partitioned_customers("/c", &[("partition_column", "id")]);
        paged.options.insert("pagination".into(), "page".into());
        paged.options.remove("cursor_path");
        assert_eq!(
            validate_table(&s, &paged).unwrap_err().message,
            "option \"partition_column\" applies to pagination 'cursor' or 'link' (numbered pages are fetched concurrently already)"
        );
    }

    #[test]
    fn offset_paging_past_the_providers_page_cap_loses_no_rows() {
        // The mock caps `limit` at 100: asked for 150, each page holds 100, so page n starts at n × 100.
        let mock = mockapi::MockServer::start_blocking();
        let table = customers(&[
            ("path", "/offset/customers"),
            ("rows", "$.items"),
            ("pagination", "offset"),
            ("limit_param", "limit"),
            ("page_size", "150"),
        ]);
        let rows = run(&mock.url(), &table, &request(vec![], vec![], None), 1).unwrap();
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| match r[0] {
                crate::convert::Cell::Int(i) => i,
                _ => panic!(),
            })
            .collect();
        assert_eq!(ids.len(), 2000);
        assert_eq!(ids, (1..=2000).collect::<Vec<_>>());
        let offsets: Vec<String> = queries(&mock)
            .iter()
            .map(|q| q.split("offset=").nth(1).unwrap().split('&').next().unwrap().to_string())
            .collect();
        assert_eq!(offsets, (0..=20).map(|n| (n * 100).to_string()).collect::<Vec<_>>());
    }

    #[test]
    fn offset_paging_pushes_offset_and_in_lists() {
        let mock = mockapi::MockServer::start_blocking();
        let table = customers(&[
            ("path", "/offset/customers"),
            ("rows", "$.items"),
            ("pagination", "offset"),
            ("limit_param", "limit"),
            ("page_size", "50"),
        ]);
        let req = request(
            vec![Qual {
                column: "country".into(),
                op: Op::In,
                value: V::List(vec![V::Text("DE".into()), V::Text("FR".into())]),
            }],
            vec![],
            Some(Limit { count: Some(3), offset: 10 }),
        );
        let rows = run(&mock.url(), &table, &req, 4).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(queries(&mock), vec!["/offset/customers?country=DE&country=FR&offset=10&limit=3"]);
    }

    /// Google's APIs refuse a request over a rate quota with 403 `rateLimitExceeded`, to be retried like a 429.
    #[test]
    fn googles_403_rate_limit_is_retried() {
        let mock = mockapi::MockServer::start_blocking();
        let req = request(vec![], vec![], None);
        let rows = run(&mock.url(), &customers(&[("path", "/fault/google403/1/plain/customers")]), &req, 1).unwrap();
        assert!(!rows.is_empty());
        assert_eq!(mock.request_count(), 2, "refused once, then served");
    }

    #[test]
    fn bad_responses_are_named_errors() {
        let mock = mockapi::MockServer::start_blocking();
        let req = request(vec![], vec![], None);
        let e =
            run(&mock.url(), &customers(&[("path", "/fault/notjson/always/plain/customers")]), &req, 1).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert!(e.message.contains("is not valid JSON"), "{}", e.message);
        let e = run(&mock.url(), &customers(&[("path", "/nowhere")]), &req, 1).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert!(e.message.starts_with(&format!("GET {}/nowhere failed: HTTP 404", mock.url())), "{}", e.message);
        let e = run(&mock.url(), &customers(&[("path", "/page/customers"), ("rows", "$.nothing[*]")]), &req, 1)
            .unwrap_err();
        assert!(e.message.contains("no records at rows path $.nothing[*]"), "{}", e.message);
        // A single scalar is not a record: a wrong shape, not a row of NULLs.
        let e = run(&mock.url(), &customers(&[("path", "/page/customers"), ("rows", "$.total")]), &req, 1).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert!(e.message.contains("no records at rows path $.total"), "{}", e.message);
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
        assert_eq!(
            next_link(r#"<https://a/x?a=1,2>; rel="last", <https://a/y>; rel=next"#),
            Some("https://a/y".into())
        );
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

    /// A server of the provider mocks, which want a bearer token.
    fn provider_server(url: &str) -> (ServerDef, OptionMap) {
        let server = ServerDef {
            name: "p".into(),
            options: map(&[("connector", "rest"), ("base_url", url), ("auth", "bearer")]),
        };
        (server, map(&[("token", mockapi::TEST_TOKEN)]))
    }

    fn text_columns(names: &[&str]) -> Vec<ColumnDef> {
        names.iter().map(|n| ColumnDef::new(*n, ColumnType::Text)).collect()
    }

    fn all_columns(table: &TableDef) -> ScanRequest {
        ScanRequest { columns: (0..table.columns.len()).collect(), quals: vec![], sorts: vec![], limit: None }
    }

    fn dropbox_files() -> TableDef {
        TableDef {
            name: "files".into(),
            options: map(&[
                ("path", "/dropbox/2/files/list_folder"),
                ("method", "POST"),
                ("body", r#"{"path": "", "recursive": true}"#),
                ("rows", "$.entries"),
                ("pagination", "cursor"),
                ("cursor_in", "body"),
                ("cursor_param", "cursor"),
                ("cursor_path", "$.cursor"),
                ("has_more_path", "$.has_more"),
                ("next_path", "/dropbox/2/files/list_folder/continue"),
                ("page_size_param", "limit"),
                ("page_size", "4"),
            ]),
            columns: text_columns(&["name", "path_display"]),
        }
    }

    #[test]
    fn post_reads_carry_the_cursor_in_the_body_to_a_continuation_endpoint() {
        let mock = mockapi::MockServer::start_blocking();
        let (server, user) = provider_server(&mock.url());
        let table = dropbox_files();
        let rows = run_as(&server, &user, &table, &all_columns(&table), 4).unwrap();
        assert_eq!(rows.len(), 11);
        let log = mock.requests();
        let sent: Vec<(&str, &str)> = log.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect();
        let continued = ("POST", "/dropbox/2/files/list_folder/continue");
        assert_eq!(sent, vec![("POST", "/dropbox/2/files/list_folder"), continued, continued]);
        assert_eq!(log[0].body, Some(serde_json::json!({"path": "", "recursive": true, "limit": 4})));
        for (previous, next) in log.iter().zip(&log[1..]) {
            assert_eq!(
                next.body.as_ref().unwrap().as_object().unwrap().keys().collect::<Vec<_>>(),
                vec!["cursor"],
                "a continuation sends the cursor alone"
            );
            assert_ne!(previous.body, next.body);
        }
        assert_eq!(
            Rest.open(&server, &table).unwrap().describe(&all_columns(&table)),
            vec![format!(
                "POST {}/dropbox/2/files/list_folder {{\"limit\":4,\"path\":\"\",\"recursive\":true}}",
                mock.url()
            )]
        );
    }

    fn graph_users(page_size: &str) -> TableDef {
        TableDef {
            name: "users".into(),
            options: map(&[
                ("path", "/graph/v1.0/users"),
                ("rows", "$.value"),
                ("pagination", "link"),
                ("page_size_param", "$top"),
                ("page_size", page_size),
                ("next_url_path", "$['@odata.nextLink']"),
            ]),
            columns: text_columns(&["id", "displayName"]),
        }
    }

    #[test]
    fn next_page_urls_are_read_from_the_body_and_followed_on_the_same_origin_only() {
        let mock = mockapi::MockServer::start_blocking();
        let (server, user) = provider_server(&mock.url());
        let table = graph_users("3");
        let rows = run_as(&server, &user, &table, &all_columns(&table), 4).unwrap();
        assert_eq!(rows.len(), 7);
        let log = mock.requests();
        assert_eq!(log.len(), 3);
        assert!(log.iter().all(|r| r.path == "/graph/v1.0/users" && r.param("$top").as_deref() == Some("3")));
        assert_eq!(log[0].param("$skiptoken"), None);
        assert!(log[1].param("$skiptoken").is_some() && log[2].param("$skiptoken").is_some());
        // The mock writes its links for 127.0.0.1; a server named by another host must not follow them.
        let (elsewhere, user) = provider_server(&mock.url().replace("127.0.0.1", "localhost"));
        let e = run_as(&elsewhere, &user, &table, &all_columns(&table), 4).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert!(
            e.message.starts_with("next-page URL at $['@odata.nextLink'] of foreign table \"users\" points to another host (http://127.0.0.1:"),
            "{}",
            e.message
        );
    }

    fn outlook_messages(filter_join: Option<&str>) -> TableDef {
        let mut options = map(&[("path", "/me/messages"), ("rows", "$.value")]);
        if let Some(join) = filter_join {
            options.insert("filter_join".into(), join.into());
        }
        TableDef {
            name: "messages".into(),
            options,
            columns: vec![
                ColumnDef::new("is_read", ColumnType::Bool).with_option("filter_param", "$filter=isRead eq {value}"),
                ColumnDef::new("subject", ColumnType::Text).with_option("filter_param", "$filter=subject eq '{value}'"),
                ColumnDef::new("received", ColumnType::TimestampTz)
                    .with_option("filter_param_gte", "$filter=receivedDateTime ge {value}"),
                ColumnDef::new("tag", ColumnType::Text).with_option("filter_param", "tag"),
            ],
        }
    }

    #[test]
    fn filter_templates_fill_one_joined_parameter() {
        let quals = vec![
            Qual { column: "is_read".into(), op: Op::Eq, value: V::Bool(false) },
            Qual { column: "subject".into(), op: Op::Eq, value: V::Text("it's".into()) },
            Qual { column: "received".into(), op: Op::Ge, value: V::TimestampTz("2024-03-05T00:00:00Z".into()) },
            Qual { column: "tag".into(), op: Op::In, value: V::List(vec![V::Text("a".into()), V::Text("b".into())]) },
        ];
        let req = ScanRequest { columns: vec![0], quals, sorts: vec![], limit: None };
        let joined = Rest.open(&server("http://x"), &outlook_messages(Some(" and "))).unwrap();
        let url = |t: &Arc<dyn Table>| Url::parse(t.describe(&req)[0].trim_start_matches("GET ")).unwrap();
        let params: Vec<(String, String)> = url(&joined).query_pairs().into_owned().collect();
        let filter = "isRead eq false and subject eq 'it''s' and receivedDateTime ge 2024-03-05T00:00:00Z";
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(params, vec![pair("$filter", filter), pair("tag", "a"), pair("tag", "b")]);
        let repeated = Rest.open(&server("http://x"), &outlook_messages(None)).unwrap();
        assert_eq!(url(&repeated).query_pairs().filter(|(k, _)| k == "$filter").count(), 3);
        // IN has no general form in a template.
        let caps = joined.capabilities();
        assert!(caps.filter_support("is_read", Op::Eq).is_some() && caps.filter_support("is_read", Op::In).is_none());
        assert!(caps.filter_support("tag", Op::In).is_some());
    }

    #[test]
    fn new_options_are_checked_as_a_whole() {
        let s = server("http://127.0.0.1:1");
        let check = |options: &[(&str, &str)]| {
            let mut all = vec![("path", "/x")];
            all.extend_from_slice(options);
            validate_table(&s, &TableDef { name: "t".into(), options: map(&all), columns: text_columns(&["id"]) })
                .unwrap_err()
                .message
        };
        assert_eq!(check(&[("body", "{}")]), "option \"body\" is sent only with method 'POST'");
        assert_eq!(
            check(&[("method", "POST"), ("body", "[1]")]),
            "invalid value for option \"body\": it must be a JSON object"
        );
        assert!(check(&[("method", "POST"), ("body", "{x")])
            .starts_with("invalid value for option \"body\": it is not JSON"));
        assert_eq!(
            check(&[("pagination", "page"), ("cursor_in", "body")]),
            "option \"cursor_in\" applies to pagination 'cursor' only"
        );
        assert_eq!(
            check(&[("pagination", "cursor"), ("cursor_path", "$.c"), ("cursor_in", "body")]),
            "option \"cursor_in\" 'body' needs method 'POST'"
        );
        assert_eq!(check(&[("next_path", "/more")]), "option \"next_path\" applies to pagination 'cursor' only");
        assert_eq!(
            check(&[("pagination", "cursor"), ("cursor_path", "$.c"), ("next_url_path", "$.next")]),
            "option \"next_url_path\" applies to pagination 'link' only"
        );
        assert_eq!(
            check(&[("method", "DELETE")]),
            "invalid value for option \"method\": \"DELETE\" is not one of: GET, POST"
        );
        assert_eq!(
            check(&[("returning_members", "[\"$.channel\"]")]),
            "invalid value for option \"returning_members\": it is not a JSON object"
        );
        assert!(check(&[("returning_members", r#"{"channel": "$.x["}"#)])
            .starts_with("invalid value for option \"returning_members\": the path of \"channel\": JSONPath"));
        let column = |options: &[(&str, &str)]| {
            let mut c = ColumnDef::new("q", ColumnType::Text);
            for (k, v) in options {
                c = c.with_option(k, v);
            }
            validate_table(&s, &TableDef { name: "t".into(), options: map(&[("path", "/x")]), columns: vec![c] })
                .unwrap_err()
                .message
        };
        assert_eq!(
            column(&[("echo", "true")]),
            "option \"echo\" of column \"q\" needs filter_param: the column shows the value its = condition sends"
        );
        assert_eq!(
            column(&[("echo", "true"), ("filter_param", "q"), ("path", "$.a[0]")]),
            "option \"echo\" of column \"q\" needs a path of member names"
        );
        assert!(column(&[("filter_param", "$filter=x eq")])
            .starts_with("invalid value for option \"filter_param\": \"$filter=x eq\" is neither"));
    }

    #[test]
    fn epoch_templates_round_so_that_the_condition_keeps_what_sql_keeps() {
        let epoch = |v: V, op| epoch_seconds(&v, op);
        let at = |t: &str| V::TimestampTz(t.into());
        assert_eq!(epoch(at("2024-01-01T00:00:00Z"), Op::Ge).as_deref(), Some("1704067200"));
        assert_eq!(epoch(at("2024-01-01T01:00:00+01:00"), Op::Ge).as_deref(), Some("1704067200"));
        assert_eq!(epoch(at("2024-01-01T00:00:00.25Z"), Op::Ge).as_deref(), Some("1704067201"));
        assert_eq!(epoch(at("2024-01-01T00:00:00.25Z"), Op::Lt).as_deref(), Some("1704067201"));
        assert_eq!(epoch(at("2024-01-01T00:00:00.25Z"), Op::Gt).as_deref(), Some("1704067200"));
        assert_eq!(epoch(at("2024-01-01T00:00:00.25Z"), Op::Le).as_deref(), Some("1704067200"));
        assert_eq!(epoch(at("1969-12-31T23:59:59.5Z"), Op::Ge).as_deref(), Some("0"));
        assert_eq!(epoch(at("1969-12-31T23:59:59.5Z"), Op::Gt).as_deref(), Some("-1"));
        assert_eq!(epoch(V::Timestamp("2024-01-01 00:00:00".into()), Op::Ge).as_deref(), Some("1704067200"));
        assert_eq!(epoch(V::Date("2024-01-02".into()), Op::Ge).as_deref(), Some("1704153600"));
        assert_eq!(epoch(V::Int(42), Op::Ge).as_deref(), Some("42"));
        assert_eq!(epoch(V::Text("soon".into()), Op::Ge), None);
        let filter = Filter::parse("created", Op::Ge, "filter_param_gte", "created[gte]={epoch}").unwrap();
        assert_eq!(
            (filter.param.as_str(), filter.render(&at("2024-01-01T00:00:00Z")).as_str()),
            ("created[gte]", "1704067200")
        );
    }

    #[test]
    fn terms_quote_escape_and_round_their_values() {
        let terms = |escape: Option<&str>, minutes: bool| Terms {
            param: "q".into(),
            join: " ".into(),
            quote: "\"".into(),
            escape: escape.map(str::to_string),
            minutes,
            sort: None,
        };
        let term = |op: Op, template: &str| Term { column: "c".into(), op, template: template.into() };
        let plain = terms(None, true);
        let eq = term(Op::Eq, "name:{value}");
        assert_eq!(plain.render(&eq, &V::Text("Acme Inc".into())).as_deref(), Some("name:\"Acme Inc\""));
        assert_eq!(plain.render(&eq, &V::Int(42)).as_deref(), Some("name:42"));
        // Without an escape a quote or backslash cannot be written; with one both are escaped.
        assert_eq!(plain.render(&eq, &V::Text("say \"hi\"".into())), None);
        assert_eq!(plain.render(&eq, &V::Text("a\\b".into())), None);
        let escaping = terms(Some("\\"), false);
        assert_eq!(
            escaping.render(&eq, &V::Text("say \"hi\" \\o/".into())).as_deref(),
            Some("name:\"say \\\"hi\\\" \\\\o/\"")
        );
        // Times are UTC bounds rounded outward; equality on a time is not written.
        let at = V::TimestampTz("2024-01-01T10:20:30.5+01:00".into());
        assert_eq!(plain.render(&term(Op::Gt, "d>={value}"), &at).as_deref(), Some("d>=\"2024-01-01T09:20\""));
        assert_eq!(plain.render(&term(Op::Le, "d<={value}"), &at).as_deref(), Some("d<=\"2024-01-01T09:21\""));
        assert_eq!(escaping.render(&term(Op::Lt, "d<={value}"), &at).as_deref(), Some("d<=\"2024-01-01T09:20:31\""));
        assert_eq!(
            plain.render(&term(Op::Le, "d<={value}"), &V::TimestampTz("2024-01-01T09:21:00Z".into())).as_deref(),
            Some("d<=\"2024-01-01T09:21\"")
        );
        assert_eq!(plain.render(&term(Op::Eq, "d:{value}"), &at), None);
        assert_eq!(plain.render(&eq, &V::Json(serde_json::json!({}))), None);
    }

    #[test]
    fn errors_reported_in_a_200_body_are_errors() {
        let open = |options: &[(&str, &str)]| {
            let mut all = vec![("path", "/x")];
            all.extend_from_slice(options);
            RestTable::new(
                "rest",
                &server("http://x"),
                &TableDef { name: "t".into(), options: map(&all), columns: vec![] },
            )
            .unwrap()
        };
        let slack = open(&[("success_path", "$.ok")]);
        let e = slack
            .reported_error(&serde_json::json!({"ok": false, "error": "channel_not_found"}), "GET http://x/x")
            .unwrap();
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::Remote, "GET http://x/x failed: the response reports an error ($.ok is false)")
        );
        assert_eq!(e.detail.as_deref(), Some("provider said: channel_not_found"));
        assert!(slack.reported_error(&serde_json::json!({"ok": true, "channels": []}), "GET").is_none());
        assert!(slack.reported_error(&serde_json::json!({"channels": []}), "GET").is_none(), "only false is an error");
        let graphql = open(&[("error_path", "$.errors")]);
        let e = graphql
            .reported_error(
                &serde_json::json!({"data": null, "errors": [{"message": "Cannot query field \"x\""}]}),
                "POST",
            )
            .unwrap();
        assert_eq!(e.message, "POST failed: the response reports an error (it has $.errors)");
        assert_eq!(e.detail.as_deref(), Some("provider said: Cannot query field \"x\""));
        assert!(graphql.reported_error(&serde_json::json!({"data": {}, "errors": []}), "POST").is_none());
        assert!(open(&[]).reported_error(&serde_json::json!({"ok": false}), "GET").is_none());
    }

    #[test]
    fn required_conditions_say_what_to_write() {
        let open = |options: &[(&str, &str)]| {
            let mut column = ColumnDef::new("channel", ColumnType::Text)
                .with_option("filter_param", "channel")
                .with_option("required", "true");
            for (k, v) in options {
                column = column.with_option(k, v);
            }
            Rest.open(
                &server("http://x"),
                &TableDef { name: "messages".into(), options: map(&[("path", "/h")]), columns: vec![column] },
            )
        };
        let caps = open(&[]).unwrap().capabilities();
        let e = crate::pushdown::unmet_requirement(&caps, &[]).unwrap().error();
        assert_eq!(
            (e.kind, e.message.as_str()),
            (
                ErrorKind::MissingCondition,
                "foreign table \"messages\" needs a condition on column \"channel\" (=): the provider requires it"
            )
        );
        assert_eq!(e.hint.as_deref(), Some("Add a condition such as WHERE channel = '…'."));
        let caps = open(&[("required_hint", "Add WHERE channel = 'C…'.")]).unwrap().capabilities();
        assert_eq!(
            crate::pushdown::unmet_requirement(&caps, &[]).unwrap().error().hint.as_deref(),
            Some("Add WHERE channel = 'C…'.")
        );
        let e = open(&[("required", "false"), ("required_hint", "x")]).err().unwrap();
        assert_eq!(e.message, "option \"required_hint\" of column \"channel\" needs required 'true'");
        let e = open(&[("search", "channel")]).err().unwrap();
        assert_eq!(e.message, "option \"search\" of column \"channel\" needs the table's search_path");
    }

    #[test]
    fn write_options_are_checked() {
        let s = server("http://127.0.0.1:1");
        let check = |options: &[(&str, &str)]| {
            let mut all = vec![("path", "/x")];
            all.extend_from_slice(options);
            validate_table(&s, &TableDef { name: "t".into(), options: map(&all), columns: text_columns(&["id"]) })
        };
        assert_eq!(
            check(&[("write_operations", "insert,upsert")]).unwrap_err().message,
            "invalid value for option \"write_operations\": \"upsert\" is not one of: insert, update, delete"
        );
        assert!(check(&[("write_format", "xml")]).is_err());
        assert_eq!(
            check(&[("write_format", "form"), ("batch_size", "10")]).unwrap_err().message,
            "option \"write_format\" 'form' sends one record per request: it excludes batch_size above 1 and insert_wrapper"
        );
        assert!(check(&[
            ("write_operations", "insert"),
            ("write_format", "form"),
            ("insert_path", "/post"),
            ("item_lookup", "true")
        ])
        .is_ok());
        let table = Rest
            .open(
                &s,
                &TableDef {
                    name: "t".into(),
                    options: map(&[("path", "/list"), ("insert_path", "/post")]),
                    columns: text_columns(&["id"]),
                },
            )
            .unwrap();
        assert_eq!(table.writer().unwrap().describe(WriteOp::Insert), "POST http://127.0.0.1:1/post");
    }

    #[test]
    fn keys_that_are_dot_segments_are_refused_before_sending() {
        let mock = mockapi::MockServer::start_blocking();
        let s = server(&mock.url());
        let table = TableDef {
            name: "t".into(),
            options: map(&[("path", "/api/keys"), ("item_path", "/api/keys/{key}")]),
            columns: text_columns(&["id"]),
        };
        let writer = Rest.open(&s, &table).unwrap().writer().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let http = http_client(&s, &OptionMap::new(), None).unwrap();
        let counters = Counters::default();
        for key in [".", ".."] {
            let key = V::Text(key.into());
            let e = runtime.block_on(writer.delete(&http, &key, &counters)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidValue, "{e:?}");
            assert!(e.message.contains("key column \"id\""), "{}", e.message);
            let e =
                runtime.block_on(writer.update(&http, &key, serde_json::json!({"id": "x"}), &counters)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidValue, "{e:?}");
        }
        assert!(mock.requests().is_empty(), "nothing is sent: {:?}", queries(&mock));
    }

    #[test]
    fn paths_that_leave_the_base_url_are_refused() {
        let s = server("http://127.0.0.1:1/api");
        let table = |name: &str, path: &str| TableDef {
            name: "t".into(),
            options: map(&[("path", "/items"), (name, path)]),
            columns: text_columns(&["id"]),
        };
        for (name, path) in [
            ("path", "/../../x"),
            ("path", "/items/%2e%2e/%2E%2E/x"),
            ("item_path", "/../keys/{key}"),
            ("insert_path", ".."),
        ] {
            let e = Rest.open(&s, &table(name, path)).err().expect(path);
            assert_eq!(e.kind, ErrorKind::InvalidOptionValue, "{path}: {e:?}");
            assert!(e.message.contains(&format!("option \"{name}\"")), "{}", e.message);
        }
        assert!(Rest.open(&s, &table("path", "/items/../items/x")).is_ok(), "staying under the base path is fine");
    }
}
