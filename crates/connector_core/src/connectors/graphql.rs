//! The generic GraphQL connector: a table is a query document, its variables and the JSONPath of the records
//! in the answer.
//!
//! Reads POST `{"query", "variables"}` to the server's endpoint. Relay-style connections are paged: with
//! `page_info_path` (the connection's `pageInfo`), the page size goes in the variable `first` and the cursor
//! in `after` (both renamable), following `endCursor` while `hasNextPage` is true. Lists taking an offset
//! (Hasura's and PostGraphile's `limit`/`offset`) are paged with `offset_variable`: the page size goes in
//! `limit` (renamable), pages are independent and fetched concurrently, and the data ends at a short page
//! or at the count `total_path` finds. `total_path` on a Relay connection (its `totalCount`) answers
//! `count(*)` in one request. A column's
//! `filter_variable` (and `_ne`, `_gt`, `_gte`, `_lt`, `_lte`) names the variable its condition sets, so a
//! condition is pushed when the query declares a variable for it; values are sent as JSON (numbers,
//! booleans, strings). GraphQL reports errors with HTTP 200 and an `errors` array: they are errors here.
//! Mutations (writes) are not supported.
//!
//! IMPORT FOREIGN SCHEMA introspects the schema ([`INTROSPECTION_QUERY`]) and makes a table of each query
//! field that returns a Relay connection (paged by `first`/`after`, no other required argument): a generated
//! query selecting the node's scalar fields (objects one level deep, as JSON), typed columns, and
//! `filter_variable` for optional arguments named like a node's scalar field of the same type.

use super::{base_url, page_size, Connector, Resource, ResourceColumn, ServerDef, Table};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Counters, Http, Request};
use crate::jsonpath::JsonPath;
use crate::model::{Op, ScanRequest, TableDef};
use crate::options::{Kind, OptionMap, OptionSpec, Options, Scope};
use crate::pushdown::{Capabilities, Support};
use crate::scan::{Page, PageSource, PageToken, Paging};
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::sync::Arc;
use url::Url;

pub struct GraphQl;

/// Column options naming the variable each operator sets.
const FILTER_OPTIONS: [(&str, Op); 6] = [
    ("filter_variable", Op::Eq),
    ("filter_variable_ne", Op::Ne),
    ("filter_variable_gt", Op::Gt),
    ("filter_variable_gte", Op::Ge),
    ("filter_variable_lt", Op::Lt),
    ("filter_variable_lte", Op::Le),
];

impl Connector for GraphQl {
    fn name(&self) -> &str {
        "graphql"
    }

    fn description(&self) -> &str {
        "Any GraphQL API: a query per table, Relay cursor or offset paging, conditions as declared variables."
    }

    fn table_options(&self) -> Vec<OptionSpec> {
        let text = OptionSpec::text;
        vec![
            text("query"),
            text("variables"),
            text("path"),
            OptionSpec::new("rows", Kind::JsonPath),
            OptionSpec::one_of("pagination", &["none", "cursor", "offset"]),
            OptionSpec::new("page_info_path", Kind::JsonPath),
            text("page_size_variable"),
            text("cursor_variable"),
            text("offset_variable"),
            OptionSpec::new("total_path", Kind::JsonPath),
            OptionSpec::int("page_size", 1, 100_000),
        ]
    }

    fn column_options(&self) -> Vec<OptionSpec> {
        FILTER_OPTIONS.iter().map(|(name, _)| OptionSpec::text(name)).collect()
    }

    fn open(&self, server: &ServerDef, table: &TableDef) -> Result<Arc<dyn Table>> {
        Ok(Arc::new(GraphQlTable::new(server, table)?))
    }

    /// The query fields that return Relay connections, from the schema's introspection: one table each,
    /// its query selecting the node's leaf fields (and one level of objects, as JSON), paged with
    /// `first`/`after`.
    fn resources<'a>(
        &'a self,
        server: &'a ServerDef,
        http: &'a Http,
    ) -> futures::future::BoxFuture<'a, Result<Vec<Resource>>> {
        Box::pin(async move {
            let url = base_url(server, self)?;
            let request = Request::new(reqwest::Method::POST, url)
                .json(serde_json::json!({ "query": INTROSPECTION_QUERY }))
                .read_only();
            let (response, body) = http.send_json(&request, &Counters::default()).await?;
            if let Some(error) = reported_error(&body, &response.request) {
                return Err(error);
            }
            introspected_resources(&body)
        })
    }
}

/// Where a Relay connection's `pageInfo` is, from the `rows` path into its `nodes` or `edges`.
fn connection_page_info(rows: &JsonPath) -> Result<JsonPath> {
    let keys = rows.leading_keys();
    match keys.iter().rposition(|k| k == "nodes" || k == "edges") {
        Some(at) if at > 0 => {
            let mut path = keys[..at].to_vec();
            path.push("pageInfo".into());
            Ok(JsonPath::keys(&path))
        }
        _ => Err(Error::option_value(
            "pagination",
            format!("'cursor' finds pageInfo beside the connection's nodes or edges, and rows {rows} reads neither"),
        )
        .with_hint("Point rows into the connection ('$.data.issues.nodes[*]' or '$.data.issues.edges[*].node'), or set page_info_path.")),
    }
}

/// A variable a condition sets.
#[derive(Clone, Debug)]
struct Filter {
    column: String,
    op: Op,
    variable: String,
}

#[derive(Clone, Debug)]
struct GraphQlTable {
    table_name: String,
    url: Url,
    query: String,
    variables: Map<String, Value>,
    rows: JsonPath,
    paging: GraphQlPaging,
    /// The variable of the page size, when the table is paged.
    page_size_variable: String,
    page_size: u64,
    filters: Vec<Filter>,
}

#[derive(Clone, Debug)]
enum GraphQlPaging {
    /// One request.
    Single,
    /// A Relay connection: where its `pageInfo` is, the variable of the cursor, and where the answer tells
    /// the connection's total count (`totalCount`), which only a count uses.
    Relay { page_info: JsonPath, cursor_variable: String, total: Option<JsonPath> },
    /// A list read from an offset: the variable of the offset, and where the answer tells the total count.
    Offset { offset_variable: String, total: Option<JsonPath> },
}

/// A GraphQL variable name: a letter or `_`, then letters, digits and `_`.
fn check_variable(option: &str, name: &str) -> Result<String> {
    let name = name.trim_start_matches('$');
    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(name.to_string())
    } else {
        Err(Error::option_value(option, format!("\"{name}\" is not a GraphQL variable name")))
    }
}

/// Whether a query declares the variable `name` (`$after:` in the operation's variable definitions, before
/// the first `{`) and whether it uses it (`$after` after that), as a whole name (`$after`, not `$afterX`).
fn variable_use(query: &str, name: &str) -> (bool, bool) {
    let wanted = format!("${name}");
    let selection = query.find('{').unwrap_or(query.len());
    let mut declared = false;
    let mut used = false;
    for (at, _) in query.match_indices(&wanted) {
        let after = &query[at + wanted.len()..];
        if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if at < selection {
            declared |= after.trim_start().starts_with(':');
        } else {
            used = true;
        }
    }
    (declared, used)
}

/// A paging variable must be declared and passed to an argument; `hint` says how.
fn check_paging_variable(query: &str, option: &str, name: &str, paging: &str, hint: String) -> Result<()> {
    let problem = match variable_use(query, name) {
        (false, _) => format!("the query declares no variable ${name} for {paging}"),
        (true, false) => format!("the query declares ${name} but passes it to no argument; {paging} needs it"),
        (true, true) => return Ok(()),
    };
    Err(Error::option_value(option, problem).with_hint(hint))
}

impl GraphQlTable {
    fn new(server: &ServerDef, table: &TableDef) -> Result<Self> {
        let context = super::connector_context("graphql");
        let options = Options::new(&table.options);
        let query = options.require(Scope::Table, &context, "query")?;
        if query.trim().is_empty() {
            return Err(Error::option_value("query", "it is empty"));
        }
        let variables = match options.get("variables") {
            None => Map::new(),
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(members)) => members,
                Ok(_) => return Err(Error::option_value("variables", "it must be a JSON object")),
                Err(e) => return Err(Error::option_value("variables", format!("it is not JSON ({e})"))),
            },
        };
        let rows = options.json_path("rows")?.ok_or_else(|| {
            crate::options::missing_option(Scope::Table, &context, "rows")
                .with_hint("Name the records in the answer, e.g. rows '$.data.repository.issues.nodes'.")
        })?;
        let mut url = base_url(server, &GraphQl)?;
        if let Some(path) = options.get("path").filter(|p| !p.is_empty()) {
            let joined = format!("{}/{}", url.path().trim_end_matches('/'), path.trim_start_matches('/'));
            url.set_path(&joined);
        }
        let variable = |option: &str, default: &str| check_variable(option, options.get(option).unwrap_or(default));
        let pagination = options.get("pagination");
        let mut page_info = options.json_path("page_info_path")?;
        let mut offset_variable = options.get("offset_variable");
        match (pagination, page_info.is_some(), offset_variable) {
            (Some("none" | "offset"), true, _) => {
                return Err(Error::option_value(
                    "page_info_path",
                    format!("it pages by cursor, and the table's pagination is '{}'", pagination.unwrap_or_default()),
                )
                .with_hint("Drop page_info_path, or set pagination 'cursor'."))
            }
            (Some("none" | "cursor"), _, Some(_)) => {
                return Err(Error::option_value(
                    "offset_variable",
                    format!("it pages by offset, and the table's pagination is '{}'", pagination.unwrap_or_default()),
                )
                .with_hint("Drop offset_variable, or set pagination 'offset'."))
            }
            // Relay: `pageInfo` is a member of the connection the rows are read from (`$.data.x.nodes[*]`
            // or `$.data.x.edges[*].node` → `$.data.x.pageInfo`).
            (Some("cursor"), false, _) => page_info = Some(connection_page_info(&rows)?),
            (Some("offset"), _, None) => offset_variable = Some("offset"),
            _ => {}
        }
        let total = options.json_path("total_path")?;
        let (paging, page_size_variable) = match (page_info, offset_variable) {
            (Some(_), Some(_)) => {
                return Err(Error::option_value(
                    "offset_variable",
                    "a table pages by cursor (page_info_path) or by offset (offset_variable), not both",
                )
                .with_hint(
                    "Drop page_info_path to page by offset, or offset_variable to follow the connection's endCursor.",
                ))
            }
            (Some(page_info), None) => {
                let page_size_variable = variable("page_size_variable", "first")?;
                let cursor_variable = variable("cursor_variable", "after")?;
                let example = "query($first: Int, $after: String) { items(first: $first, after: $after) { … } }";
                for (option, name, ty, argument) in [
                    ("page_size_variable", &page_size_variable, "Int", "first"),
                    ("cursor_variable", &cursor_variable, "String", "after"),
                ] {
                    check_paging_variable(
                        query,
                        option,
                        name,
                        "Relay paging (page_info_path)",
                        format!(
                            "Declare ${name}: {ty} and pass {argument}: ${name} to the connection, e.g. {example}."
                        ),
                    )?;
                }
                (GraphQlPaging::Relay { page_info, cursor_variable, total: total.clone() }, page_size_variable)
            }
            (None, Some(offset_variable)) => {
                let offset_variable = check_variable("offset_variable", offset_variable)?;
                let page_size_variable = variable("page_size_variable", "limit")?;
                if options.get("cursor_variable").is_some() {
                    return Err(Error::option_value(
                        "cursor_variable",
                        "offset paging (offset_variable) sends no cursor",
                    )
                    .with_hint("Drop cursor_variable."));
                }
                let example = format!("query(${page_size_variable}: Int, ${offset_variable}: Int) {{ items(limit: ${page_size_variable}, offset: ${offset_variable}) {{ … }} }}");
                for (option, name, argument) in [
                    ("page_size_variable", &page_size_variable, "limit"),
                    ("offset_variable", &offset_variable, "offset"),
                ] {
                    check_paging_variable(
                        query,
                        option,
                        name,
                        "offset paging (offset_variable)",
                        format!("Declare ${name}: Int and pass {argument}: ${name} to the list, e.g. {example}."),
                    )?;
                }
                (GraphQlPaging::Offset { offset_variable, total }, page_size_variable)
            }
            (None, None) => (GraphQlPaging::Single, variable("page_size_variable", "first")?),
        };
        if options.get("total_path").is_some() && matches!(paging, GraphQlPaging::Single) {
            return Err(Error::option_value(
                "total_path",
                "the total count serves paged tables: offset paging (offset_variable) or a Relay connection",
            )
            .with_hint("Set pagination 'offset' or 'cursor', or drop total_path."));
        }
        let mut filters = Vec::new();
        for column in &table.columns {
            for (option, op) in FILTER_OPTIONS {
                if let Some(name) = column.option(option).filter(|v| !v.is_empty()) {
                    let name = check_variable(option, name)?;
                    if !variable_use(query, &name).0 {
                        return Err(Error::option_value(option, format!("column \"{}\": the query declares no variable ${name}", column.name)).with_hint(format!(
                            "Declare ${name} with its type in the query's variables (query(…, ${name}: String)) and pass it to the argument that filters, or drop the column's {option}."
                        )));
                    }
                    filters.push(Filter { column: column.name.clone(), op, variable: name });
                }
            }
        }
        Ok(GraphQlTable {
            table_name: table.name.clone(),
            url,
            query: query.to_string(),
            variables,
            rows,
            paging,
            page_size_variable,
            page_size: page_size(server, table, &GraphQl)?,
            filters,
        })
    }

    fn source(&self, request: &ScanRequest) -> GraphQlSource {
        let mut variables = self.variables.clone();
        for qual in &request.quals {
            if let Some(filter) = self.filters.iter().find(|f| f.column == qual.column && f.op == qual.op) {
                variables.insert(filter.variable.clone(), qual.value.to_json());
            }
        }
        // Offset paging applies a pushed OFFSET itself; Relay paging reads the skipped rows too.
        let (start_offset, rows_wanted) = match (&self.paging, request.limit) {
            (GraphQlPaging::Offset { .. }, Some(limit)) => (limit.offset, limit.count),
            (_, limit) => (0, limit.and_then(|l| l.rows_needed())),
        };
        let paged = !matches!(self.paging, GraphQlPaging::Single);
        // A pushed LIMIT shrinks the page, so LIMIT 1 is one small request.
        let page_size = match rows_wanted {
            Some(n) if paged => self.page_size.min(n.max(1)),
            _ => self.page_size,
        };
        if paged {
            variables.insert(self.page_size_variable.clone(), Value::from(page_size));
        }
        GraphQlSource { table: self.clone(), variables, page_size, start_offset }
    }
}

impl Table for GraphQlTable {
    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::new();
        for filter in &self.filters {
            caps.add_filters(&filter.column, &[filter.op], Support::Exact);
        }
        let counted = matches!(
            self.paging,
            GraphQlPaging::Offset { total: Some(_), .. } | GraphQlPaging::Relay { total: Some(_), .. }
        );
        if counted {
            caps = caps.total();
        }
        caps.limit(matches!(self.paging, GraphQlPaging::Offset { .. }))
    }

    fn describe(&self, request: &ScanRequest) -> Vec<String> {
        let source = self.source(request);
        let first_page = match source.paging() {
            Paging::Numbered { .. } => PageToken::Number { page: 0, offset: 0 },
            Paging::Chained => PageToken::First,
        };
        vec![format!("POST {} variables {}", redact_url(&self.url, None), Value::Object(source.variables(&first_page)))]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Arc<dyn PageSource>> {
        Ok(Arc::new(self.source(request)))
    }

    fn rows_per_request(&self) -> Option<u64> {
        (!matches!(self.paging, GraphQlPaging::Single)).then_some(self.page_size)
    }
}

struct GraphQlSource {
    table: GraphQlTable,
    /// The variables every page sends (fixed ones, pushed conditions, the page size).
    variables: Map<String, Value>,
    page_size: u64,
    /// Offset paging: the pushed OFFSET, where the first page starts.
    start_offset: u64,
}

impl GraphQlSource {
    /// The variables of the page `token` names: the cursor or the offset added.
    fn variables(&self, token: &PageToken) -> Map<String, Value> {
        let mut variables = self.variables.clone();
        match (&self.table.paging, token) {
            (GraphQlPaging::Relay { cursor_variable, .. }, PageToken::Next(cursor)) => {
                variables.insert(cursor_variable.clone(), Value::from(cursor.as_str()));
            }
            (GraphQlPaging::Offset { offset_variable, .. }, PageToken::Number { offset, .. }) => {
                variables.insert(offset_variable.clone(), Value::from(self.start_offset + offset));
            }
            _ => {}
        }
        variables
    }

    fn request(&self, token: &PageToken) -> Request {
        let body = serde_json::json!({ "query": self.table.query, "variables": self.variables(token) });
        // A query changes nothing: it is as safe to repeat as a GET.
        Request::new(reqwest::Method::POST, self.table.url.clone()).json(body).read_only()
    }
}

/// The error an answer reports in `errors` (HTTP 200), with the first messages.
fn reported_error(body: &Value, request: &str) -> Option<Error> {
    let errors = body.get("errors")?.as_array().filter(|e| !e.is_empty())?;
    let messages: Vec<&str> = errors.iter().filter_map(|e| e.get("message").and_then(Value::as_str)).take(3).collect();
    let mut error =
        Error::new(ErrorKind::Remote, format!("{request} failed: the answer has {} GraphQL error(s)", errors.len()));
    if !messages.is_empty() {
        error = error.with_detail(format!("provider said: {}", messages.join("; ")));
    }
    Some(error)
}

#[async_trait]
impl PageSource for GraphQlSource {
    fn paging(&self) -> Paging {
        match self.table.paging {
            GraphQlPaging::Offset { .. } => Paging::Numbered { page_size: self.page_size },
            _ => Paging::Chained,
        }
    }

    async fn fetch(&self, http: &Http, token: PageToken, counters: &Counters) -> Result<Page> {
        let request = self.request(&token);
        let (response, body) = http.send_json(&request, counters).await?;
        if let Some(error) = reported_error(&body, &response.request) {
            return Err(error);
        }
        // Offset pages end at a short page or at the total (counted from the pushed OFFSET); the scan knows.
        // A connection's total answers a count. Only an exact non-negative integer is a total.
        let total = match &self.table.paging {
            GraphQlPaging::Offset { total: Some(path), .. } | GraphQlPaging::Relay { total: Some(path), .. } => path
                .get(&body)
                .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())))
                .map(|total| total.saturating_sub(self.start_offset)),
            _ => None,
        };
        let page_info = match &self.table.paging {
            GraphQlPaging::Relay { page_info, .. } => Some(page_info),
            _ => None,
        };
        let next = page_info
            .and_then(|p| p.get(&body))
            .filter(|info| info.get("hasNextPage") == Some(&Value::Bool(true)))
            .and_then(|info| info.get("endCursor").and_then(Value::as_str))
            .filter(|cursor| !cursor.is_empty())
            .map(str::to_string);
        let rows = &self.table.rows;
        let records = rows.select_rows(body).ok_or_else(|| {
            Error::bad_response(format!(
                "answer to {} has nothing at rows path {rows} (foreign table \"{}\")",
                response.request, self.table.table_name
            ))
        })?;
        if let (Some(next), PageToken::Next(previous)) = (&next, &token) {
            if next == previous {
                return Err(Error::bad_response(format!(
                    "answer to {} repeats the cursor it was asked for; paging would never end",
                    response.request
                )));
            }
        }
        let next = if records.is_empty() { None } else { next };
        let last = match self.table.paging {
            GraphQlPaging::Offset { .. } => false,
            _ => next.is_none(),
        };
        Ok(Page { last, total, next, records })
    }
}

/// The introspection query `resources()` sends: the root query type's name and every type's fields, with
/// their arguments and types (three wrappers deep: `[Issue!]!` is NON_NULL, LIST, NON_NULL, OBJECT).
pub const INTROSPECTION_QUERY: &str =
    "query ConnectorFdwIntrospection { __schema { queryType { name } types { kind name \
fields { name description args { name type { ...TypeRef } } type { ...TypeRef } } } } } \
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// A type reference of the introspection answer.
#[derive(Clone, Debug)]
struct TypeRef {
    kind: String,
    name: Option<String>,
    of_type: Option<Box<TypeRef>>,
}

/// Whether a name of an introspection answer is a GraphQL name (`[_A-Za-z][_0-9A-Za-z]*`): others would make
/// a query and JSONPaths that do not parse, so fields, arguments and types named otherwise are left out.
fn graphql_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl TypeRef {
    fn from_json(value: &Value) -> Option<TypeRef> {
        let name = match value.get("name").filter(|n| !n.is_null()) {
            None => None,
            Some(name) => Some(name.as_str().filter(|n| graphql_name(n))?.to_string()),
        };
        Some(TypeRef {
            kind: value.get("kind")?.as_str()?.to_string(),
            name,
            of_type: value.get("ofType").filter(|t| !t.is_null()).and_then(TypeRef::from_json).map(Box::new),
        })
    }

    /// The named type under the NON_NULL and LIST wrappers, and whether a LIST is among them.
    fn named(&self) -> (&TypeRef, bool) {
        let (mut at, mut list) = (self, false);
        while let Some(inner) = &at.of_type {
            list |= at.kind == "LIST";
            at = inner;
        }
        (at, list)
    }

    fn non_null(&self) -> bool {
        self.kind == "NON_NULL"
    }

    /// As GraphQL writes it in a variable declaration: `Int`, `[IssueState!]`, `String!`.
    fn render(&self) -> String {
        match (self.kind.as_str(), &self.of_type) {
            ("NON_NULL", Some(inner)) => format!("{}!", inner.render()),
            ("LIST", Some(inner)) => format!("[{}]", inner.render()),
            _ => self.name.clone().unwrap_or_default(),
        }
    }
}

#[derive(Clone, Debug)]
struct Field {
    name: String,
    description: String,
    args: Vec<(String, TypeRef)>,
    ty: TypeRef,
}

/// The introspected schema: the query type's name and the fields of each object type.
struct Schema {
    query_type: String,
    types: std::collections::HashMap<String, (String, Vec<Field>)>,
}

impl Schema {
    fn parse(body: &Value) -> Result<Schema> {
        let schema = body.pointer("/data/__schema").filter(|s| s.is_object()).ok_or_else(|| {
            Error::bad_response("the answer to the introspection query has no data.__schema (is introspection disabled on this server?)")
        })?;
        let query_type = schema.pointer("/queryType/name").and_then(Value::as_str).unwrap_or("Query").to_string();
        let mut types = std::collections::HashMap::new();
        for t in schema.get("types").and_then(Value::as_array).into_iter().flatten() {
            let (Some(kind), Some(name)) =
                (t.get("kind").and_then(Value::as_str), t.get("name").and_then(Value::as_str))
            else {
                continue;
            };
            let fields = t
                .get("fields")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|f| {
                    Some(Field {
                        name: f.get("name")?.as_str().filter(|n| graphql_name(n))?.to_string(),
                        description: f.get("description").and_then(Value::as_str).unwrap_or_default().to_string(),
                        args: f
                            .get("args")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(|a| {
                                Some((
                                    a.get("name")?.as_str().filter(|n| graphql_name(n))?.to_string(),
                                    TypeRef::from_json(a.get("type")?)?,
                                ))
                            })
                            .collect(),
                        ty: TypeRef::from_json(f.get("type")?)?,
                    })
                })
                .collect();
            types.insert(name.to_string(), (kind.to_string(), fields));
        }
        Ok(Schema { query_type, types })
    }

    /// The fields of the object type `name`.
    fn object(&self, name: &str) -> Option<&[Field]> {
        self.types
            .get(name)
            .filter(|(kind, _)| kind == "OBJECT" || kind == "INTERFACE")
            .map(|(_, fields)| fields.as_slice())
    }

    /// The object type a field's type names (through wrappers).
    fn object_of<'a>(&'a self, field: &Field) -> Option<(&'a str, &'a [Field])> {
        let (named, _) = field.ty.named();
        let name = named.name.as_deref()?;
        self.types
            .get_key_value(name)
            .filter(|(_, (kind, _))| kind == "OBJECT" || kind == "INTERFACE")
            .map(|(n, (_, f))| (n.as_str(), f.as_slice()))
    }

    /// Whether an object type is a Relay connection: `pageInfo { hasNextPage endCursor }`, and the node type
    /// with where it is (`nodes`, or `edges { node }`).
    fn connection(&self, fields: &[Field]) -> Option<(&[Field], &'static str)> {
        let find = |fields: &'_ [Field], name: &str| fields.iter().find(|f| f.name == name).cloned();
        let page_info = self.object_of(&find(fields, "pageInfo")?)?.1;
        if find(page_info, "hasNextPage").is_none() || find(page_info, "endCursor").is_none() {
            return None;
        }
        if let Some(nodes) = find(fields, "nodes") {
            return Some((self.object_of(&nodes)?.1, "nodes"));
        }
        let edges = self.object_of(&find(fields, "edges")?)?.1;
        Some((self.object_of(&find(edges, "node")?)?.1, "edges"))
    }

    fn is_leaf(&self, ty: &TypeRef) -> bool {
        matches!(ty.named().0.kind.as_str(), "SCALAR" | "ENUM")
    }
}

/// `createdAt` → `created_at`, `HTTPStatus` → `http_status`; other characters as `_`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let after_lower = i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let before_lower =
                i > 0 && chars[i - 1].is_ascii_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if (after_lower || before_lower) && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{out}")
    } else {
        out
    }
}

/// The Postgres type of a leaf (scalar or enum) field, by the GraphQL type's name.
fn leaf_sql_type(ty: &TypeRef) -> &'static str {
    let (named, list) = ty.named();
    if list {
        return "jsonb";
    }
    if named.kind == "ENUM" {
        return "text";
    }
    let name = named.name.as_deref().unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    match name {
        "ID" | "String" => "text",
        "Int" => "bigint",
        "Float" => "double precision",
        "Boolean" => "boolean",
        _ if lower.contains("datetime") || lower.contains("timestamp") || lower == "instant" => "timestamptz",
        _ if lower == "date" => "date",
        _ if lower.starts_with("json") => "jsonb",
        _ => "text",
    }
}

/// Whether a field can be selected without arguments (it has no required ones).
fn needs_no_arguments(field: &Field) -> bool {
    field.args.iter().all(|(_, ty)| !ty.non_null())
}

/// The selection of a node's fields: leaves as themselves, objects (one level) with their leaves. Returns
/// the selection text and the columns.
fn node_selection(schema: &Schema, node: &[Field]) -> (Vec<String>, Vec<ResourceColumn>) {
    let mut selection = Vec::new();
    let mut columns: Vec<ResourceColumn> = Vec::new();
    for field in node.iter().filter(|f| needs_no_arguments(f) && !f.name.starts_with("__")) {
        let (text, sql_type) = if schema.is_leaf(&field.ty) {
            (field.name.clone(), leaf_sql_type(&field.ty))
        } else {
            // An object (or list of objects): its leaves, as JSON.
            let Some((_, inner)) = schema.object_of(field) else { continue };
            let leaves: Vec<&str> = inner
                .iter()
                .filter(|f| needs_no_arguments(f) && schema.is_leaf(&f.ty) && !f.name.starts_with("__"))
                .map(|f| f.name.as_str())
                .collect();
            if leaves.is_empty() {
                continue;
            }
            (format!("{} {{ {} }}", field.name, leaves.join(" ")), "jsonb")
        };
        let name = snake_case(&field.name);
        if name.is_empty() || columns.iter().any(|c| c.name == name) {
            continue;
        }
        let mut options = OptionMap::new();
        if name != field.name {
            options.insert("path".into(), format!("$.{}", field.name));
        }
        selection.push(text);
        columns.push(ResourceColumn { name, sql_type: sql_type.to_string(), options });
    }
    (selection, columns)
}

/// The table of a query field returning a Relay connection, if it is one that can be paged with `first` and
/// `after` and has no other required argument.
fn connection_resource(schema: &Schema, field: &Field) -> Option<Resource> {
    let (_, fields) = schema.object_of(field)?;
    let (node, shape) = schema.connection(fields)?;
    let arg = |name: &str| field.args.iter().find(|(n, _)| n == name).map(|(_, t)| t);
    let (first, after) = (arg("first")?, arg("after")?);
    if field.args.iter().any(|(name, ty)| ty.non_null() && name != "first" && name != "after") {
        return None;
    }
    let (selection, mut columns) = node_selection(schema, node);
    if columns.is_empty() {
        return None;
    }
    // Optional arguments named like a leaf column of the same (non-list) type filter it by equality.
    let mut declarations = vec![format!("$first: {}", first.render()), format!("$after: {}", after.render())];
    let mut arguments = vec!["first: $first".to_string(), "after: $after".to_string()];
    for (name, ty) in &field.args {
        if name == "first" || name == "after" || ty.named().1 {
            continue;
        }
        let Some(node_field) = node.iter().find(|f| f.name == *name && schema.is_leaf(&f.ty) && !f.ty.named().1) else {
            continue;
        };
        if node_field.ty.named().0.name != ty.named().0.name {
            continue;
        }
        let Some(column) = columns.iter_mut().find(|c| c.name == snake_case(name)) else { continue };
        column.options.insert("filter_variable".into(), name.clone());
        declarations.push(format!("${name}: {}", ty.render()));
        arguments.push(format!("{name}: ${name}"));
    }
    let records = match shape {
        "nodes" => format!("nodes {{ {} }}", selection.join(" ")),
        _ => format!("edges {{ node {{ {} }} }}", selection.join(" ")),
    };
    let query = format!(
        "query({}) {{ {}({}) {{ {records} pageInfo {{ hasNextPage endCursor }} }} }}",
        declarations.join(", "),
        field.name,
        arguments.join(", ")
    );
    let rows = match shape {
        "nodes" => format!("$.data.{}.nodes", field.name),
        _ => format!("$.data.{}.edges[*].node", field.name),
    };
    let table_options: OptionMap = [
        ("query".to_string(), query),
        ("rows".to_string(), rows),
        ("page_info_path".to_string(), format!("$.data.{}.pageInfo", field.name)),
    ]
    .into();
    Some(Resource { name: snake_case(&field.name), description: field.description.clone(), table_options, columns })
}

/// The tables of an introspection answer: one per query field returning a Relay connection.
fn introspected_resources(body: &Value) -> Result<Vec<Resource>> {
    let schema = Schema::parse(body)?;
    let root = schema.object(&schema.query_type).ok_or_else(|| {
        Error::bad_response(format!("the introspected schema has no query type \"{}\"", schema.query_type))
    })?;
    let mut resources: Vec<Resource> = Vec::new();
    for field in root {
        if let Some(resource) = connection_resource(&schema, field) {
            if !resources.iter().any(|r| r.name == resource.name) {
                resources.push(resource);
            }
        }
    }
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_become_snake_case() {
        for (name, expected) in [
            ("createdAt", "created_at"),
            ("isAdmin", "is_admin"),
            ("HTTPStatus", "http_status"),
            ("id", "id"),
            ("url2Text", "url2_text"),
            ("a-b", "a_b"),
            ("9lives", "_9lives"),
        ] {
            assert_eq!(snake_case(name), expected, "{name}");
        }
    }

    #[test]
    fn leaf_types_map_to_postgres_types() {
        let named = |kind: &str, name: &str| TypeRef { kind: kind.into(), name: Some(name.into()), of_type: None };
        let wrap =
            |kind: &str, inner: TypeRef| TypeRef { kind: kind.into(), name: None, of_type: Some(Box::new(inner)) };
        let cases = [
            (named("SCALAR", "ID"), "text"),
            (wrap("NON_NULL", named("SCALAR", "Int")), "bigint"),
            (named("SCALAR", "Float"), "double precision"),
            (named("SCALAR", "Boolean"), "boolean"),
            (named("SCALAR", "DateTime"), "timestamptz"),
            (named("SCALAR", "ISO8601DateTime"), "timestamptz"),
            (named("SCALAR", "Date"), "date"),
            (named("SCALAR", "JSON"), "jsonb"),
            (named("SCALAR", "URI"), "text"),
            (named("ENUM", "IssueState"), "text"),
            (wrap("NON_NULL", wrap("LIST", named("SCALAR", "String"))), "jsonb"),
        ];
        for (ty, expected) in cases {
            assert_eq!(leaf_sql_type(&ty), expected, "{ty:?}");
        }
        assert_eq!(wrap("NON_NULL", wrap("LIST", wrap("NON_NULL", named("ENUM", "S")))).render(), "[S!]!");
    }

    #[test]
    fn names_that_are_not_graphql_names_are_left_out() {
        let named = |kind: &str, name: &str| json!({"kind": kind, "name": name, "ofType": null});
        let field = |name: &str, args: Value, ty: Value| json!({"name": name, "args": args, "type": ty});
        let paging = json!([{"name": "first", "type": named("SCALAR", "Int")}, {"name": "after", "type": named("SCALAR", "String")},
                            {"name": "-x", "type": named("SCALAR", "String")}]);
        let schema = json!({"data": {"__schema": {"queryType": {"name": "Query"}, "types": [
            {"kind": "OBJECT", "name": "Query", "fields": [field("items", paging, named("OBJECT", "Conn"))]},
            {"kind": "OBJECT", "name": "Conn", "fields": [field("nodes", json!([]), named("OBJECT", "Item")), field("pageInfo", json!([]), named("OBJECT", "PageInfo"))]},
            {"kind": "OBJECT", "name": "PageInfo", "fields": [field("hasNextPage", json!([]), named("SCALAR", "Boolean")), field("endCursor", json!([]), named("SCALAR", "String"))]},
            {"kind": "OBJECT", "name": "Item", "fields": [field("id", json!([]), named("SCALAR", "ID")), field("-inf", json!([]), named("SCALAR", "String")),
                                                          field("odd", json!([]), named("SCALAR", "Odd Type"))]}
        ]}}});
        let resources = introspected_resources(&schema).unwrap();
        assert_eq!(resources.len(), 1);
        assert_eq!(resources[0].columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), vec!["id"]);
        assert_eq!(
            resources[0].table_options["query"],
            "query($first: Int, $after: String) { items(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }"
        );
    }

    #[test]
    fn answers_without_a_schema_are_bad_responses() {
        let e = introspected_resources(&json!({"data": null})).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadResponse);
        assert!(e.message.contains("no data.__schema"), "{}", e.message);
        let e = introspected_resources(&json!({"data": {"__schema": {"queryType": {"name": "Root"}, "types": []}}}))
            .unwrap_err();
        assert_eq!(e.message, "the introspected schema has no query type \"Root\"");
        // A schema without connections has no tables.
        let schema = json!({"data": {"__schema": {"queryType": {"name": "Query"}, "types": [
            {"kind": "OBJECT", "name": "Query", "fields": [{"name": "ping", "args": [], "type": {"kind": "SCALAR", "name": "String", "ofType": null}}]}
        ]}}});
        assert_eq!(introspected_resources(&schema).unwrap(), vec![]);
    }
}
