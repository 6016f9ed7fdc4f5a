//! `RestTable::new`: the table's options parsed and checked as a whole.

use super::query::{Filter, Search, SearchField, Term, Terms};
use super::write::{returning_members, write_operations, WriteConfig};
use super::{base_url, page_size, Pagination, Rest, RestTable, FILTER_OPTIONS, PAGINATIONS, TERM_OPTIONS};
use crate::connectors::ServerDef;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, EndpointLimit};
use crate::jsonpath::JsonPath;
use crate::model::{ColumnType, Op, TableDef};
use crate::options::{OptionSpec, Options, Scope};
use crate::scan::WalkOrder;
use reqwest::Method;
use serde_json::Value;
use url::Url;

/// Columns with `detail` read each listed record's own resource (`item_path` with the record's key), fetched
/// concurrently for the records of each page when a scan reads one of them: lists that give ids only
/// (Gmail's messages.list) then show contents.
#[derive(Clone, Debug)]
pub(super) struct DetailSpec {
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
    pub(super) fn query(&self, columns: &[usize]) -> Option<String> {
        let mut read = self.columns.iter().filter(|(i, _)| columns.contains(i)).peekable();
        read.peek()?;
        Some(read.find_map(|(_, own)| own.clone()).unwrap_or_else(|| self.query.clone()))
    }

    /// The members a record's detail adds to it.
    pub(super) fn members(&self, detail: Value) -> serde_json::Map<String, Value> {
        match detail {
            _ if self.gmail => crate::gmail::decode_message(&detail),
            Value::Object(members) => members,
            _ => serde_json::Map::new(),
        }
    }
}

/// `partition_column`: a column the provider filters by range (`>=` and `<` or `<=`) and that never changes
/// for a record, which splits a cursor scan into windows walked concurrently.
#[derive(Clone, Debug)]
pub(super) struct PartitionSpec {
    pub(super) column: String,
    /// The column's index: windows read it to check each record against their range.
    pub(super) index: usize,
    pub(super) ty: ColumnType,
    pub(super) path: JsonPath,
    /// `partition_start` as a key: where the records start when the query gives no lower bound.
    pub(super) start: Option<i64>,
    /// Only `filter_param_lte` bounds the column from above.
    pub(super) upper_inclusive: bool,
    /// `partition_order`: the order of a window's records on the column when no sort is pushed.
    pub(super) order: Option<WalkOrder>,
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

fn non_empty(value: Option<&str>) -> Option<String> {
    value.filter(|v| !v.is_empty()).map(str::to_string)
}

/// `path` appended to the base URL's path (paths are relative to the server's base URL).
pub(super) fn join(base: &Url, path: &str) -> Url {
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

/// An option that does not fit the table's other options.
fn misplaced(option: &str, why: &str) -> Error {
    Error::new(ErrorKind::InvalidOptionValue, format!("option \"{option}\" {why}"))
}

impl RestTable {
    pub(super) fn new(connector: &str, server: &ServerDef, table: &TableDef) -> Result<Self> {
        let context = crate::connectors::connector_context(connector);
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
}
