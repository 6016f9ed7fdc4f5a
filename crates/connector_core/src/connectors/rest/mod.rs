//! The generic REST connector: any JSON API described by table and column options.
//!
//! Pushdown is declared by the DBA: `filter_param*` column options name the query parameter for each
//! operator, `sortable` columns plus the table's `sort_param`/`order_param` carry ORDER BY, and paging
//! options carry LIMIT/OFFSET. Page-number and offset paging are fetched concurrently; cursors and next-page
//! links (a `Link: rel="next"` header or a URL in the body) are followed one page after another. Reads are
//! GETs, or POSTs with a JSON body for APIs that take a list's arguments (and its cursor) in the body.

mod query;
mod source;
mod spec;
#[cfg(test)]
mod tests;
mod write;

use super::{base_url, page_size, Connector, Resource, ServerDef, Table};
use crate::error::{Error, Result};
use crate::http::{redact_url, EndpointLimit, Http};
use crate::jsonpath::JsonPath;
use crate::model::{Op, ScanRequest, TableDef};
use crate::options::{Kind, OptionSpec};
use crate::pushdown::Capabilities;
use crate::scan::{PageSource, PageToken, Paging, Partitioner};
use crate::write::Writer;
use query::{op_text, Filter, Search, SearchField, Term, Terms};
use reqwest::Method;
use serde_json::Value;
use spec::{DetailSpec, PartitionSpec};
use std::sync::Arc;
use url::Url;
use write::{RestWriter, WriteConfig};

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

/// `partition_order`: the order of a list's records on its partition column (`asc` oldest first, `desc`
/// newest first, as Stripe's), so a long window can be split while it runs.
pub const PARTITION_ORDERS: [&str; 2] = ["asc", "desc"];

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
