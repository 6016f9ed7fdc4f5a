//! Notion (API version 2022-06-28 by default): one foreign table per database.
//!
//! Reads query `POST /v1/databases/{id}/query` with `start_cursor`/`has_more`/`next_cursor` paging in the
//! body; conditions become Notion's typed filter objects (by the property's type), the ORDER BY `sorts`, a
//! pushed LIMIT the page size. Writes create pages (`POST /v1/pages`), update their properties (`PATCH
//! /v1/pages/{id}`) and archive them for DELETE. Discovery searches the databases the integration can see
//! (`POST /v1/search`).
//!
//! A column reads the property its option `property` names (default: the column's name), simplified for
//! its type (text for titles and rich text, the name of a select, an array of names for multi-selects, …);
//! a `json`/`jsonb` column gets the property value as Notion sends it. Without a `property` option the
//! names `id`, `created_time`, `last_edited_time`, `url`, `archived` and `properties` read the page's own
//! members. The property's Notion type (column option `type`, which IMPORT FOREIGN SCHEMA sets) decides
//! which conditions are pushed and how values are written.

mod properties;

use super::airtable::column_name;
use super::{base_url, page_size, Connector, Defaults, Resource, ResourceColumn, ServerDef, Table};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Counters, Http, Request};
use crate::model::{ScanRequest, TableDef, Value as SqlValue};
use crate::options::{Kind, OptionMap, OptionSpec, Options, Scope};
use crate::pushdown::{Capabilities, NullOrder};
use crate::scan::{Page, PageSource, PageToken, Paging};
use crate::write::{WriteOp, Writer};
use async_trait::async_trait;
use properties::{plain_text, Column, Source, MEMBERS};
pub use properties::{simplify, text_runs, MAX_RICH_TEXT_RUNS, MAX_RUN_LENGTH};
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use url::Url;

pub struct Notion;

pub const DEFAULT_VERSION: &str = "2022-06-28";
pub const MAX_PAGE_SIZE: u64 = 100;

/// Property types of Notion's API.
pub const PROPERTY_TYPES: [&str; 22] = [
    "title",
    "rich_text",
    "number",
    "select",
    "multi_select",
    "status",
    "date",
    "checkbox",
    "url",
    "email",
    "phone_number",
    "people",
    "relation",
    "formula",
    "rollup",
    "created_time",
    "last_edited_time",
    "created_by",
    "last_edited_by",
    "files",
    "unique_id",
    "verification",
];

/// Types Notion computes, which writes cannot set.
const READ_ONLY: [&str; 9] = [
    "formula",
    "rollup",
    "created_time",
    "last_edited_time",
    "created_by",
    "last_edited_by",
    "unique_id",
    "verification",
    "files",
];

impl Connector for Notion {
    fn name(&self) -> &str {
        "notion"
    }

    fn description(&self) -> &str {
        "Notion databases: queries with typed filters and sorts; every property type; page writes; databases from search."
    }

    fn defaults(&self) -> Defaults {
        Defaults {
            base_url: Some("https://api.notion.com/v1"),
            auth: "bearer",
            max_concurrency: 1,
            rate_limit: Some(3.0),
            page_size: MAX_PAGE_SIZE,
            retry_after: None,
            options: OptionMap::new(),
        }
    }

    fn server_options(&self) -> Vec<OptionSpec> {
        vec![OptionSpec::text("notion_version")]
    }

    fn fixed_headers(&self, server: &ServerDef) -> Vec<(String, String)> {
        let version = server.option("notion_version").filter(|v| !v.is_empty()).unwrap_or(DEFAULT_VERSION);
        vec![("Notion-Version".to_string(), version.to_string())]
    }

    fn table_options(&self) -> Vec<OptionSpec> {
        vec![OptionSpec::text("database_id"), OptionSpec::int("page_size", 1, MAX_PAGE_SIZE as i64)]
    }

    fn column_options(&self) -> Vec<OptionSpec> {
        vec![
            OptionSpec::text("property"),
            OptionSpec::one_of("type", &PROPERTY_TYPES),
            OptionSpec::new("sortable", Kind::Bool),
        ]
    }

    fn open(&self, server: &ServerDef, table: &TableDef) -> Result<Arc<dyn Table>> {
        Ok(Arc::new(NotionTable::new(server, table)?))
    }

    fn resources<'a>(
        &'a self,
        server: &'a ServerDef,
        http: &'a Http,
    ) -> futures::future::BoxFuture<'a, Result<Vec<Resource>>> {
        Box::pin(async move {
            let mut url = base_url(server, self)?;
            segments(&mut url, &["search"]);
            let counters = Counters::default();
            let mut resources: Vec<Resource> = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut body =
                    json!({ "filter": { "property": "object", "value": "database" }, "page_size": MAX_PAGE_SIZE });
                if let Some(c) = &cursor {
                    body["start_cursor"] = json!(c);
                }
                let request = Request::new(Method::POST, url.clone()).read_only().json(body);
                let (_, answer) = http.send_json(&request, &counters).await?;
                for database in answer["results"].as_array().into_iter().flatten() {
                    if let Some(mut resource) = resource(database) {
                        resource.name = super::unique_name(resource.name, |n| resources.iter().any(|r| r.name == n));
                        resources.push(resource);
                    }
                }
                match answer["next_cursor"].as_str() {
                    Some(next) if answer["has_more"] == true && Some(next) != cursor.as_deref() => {
                        cursor = Some(next.to_string())
                    }
                    _ => return Ok(resources),
                }
            }
        })
    }
}

fn segments(url: &mut Url, parts: &[&str]) {
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        for part in parts {
            path.push(part);
        }
    }
}

/// The Postgres type for a database property (its schema object from the API).
pub fn sql_type(property: &Value) -> &'static str {
    match property["type"].as_str().unwrap_or_default() {
        "title" | "rich_text" | "url" | "email" | "phone_number" | "select" | "status" | "created_by"
        | "last_edited_by" | "unique_id" => "text",
        "number" => "numeric",
        "checkbox" => "boolean",
        "date" => "date",
        "created_time" | "last_edited_time" => "timestamptz",
        "multi_select" | "people" | "relation" | "files" => "text[]",
        // A formula's result type is not in the schema; its simplified value reads as text.
        "formula" => "text",
        "rollup" => match property["rollup"]["function"].as_str().unwrap_or_default() {
            "show_original" | "show_unique" => "jsonb",
            "earliest_date" | "latest_date" | "date_range" => "jsonb",
            "checked" | "unchecked" | "percent_checked" | "percent_unchecked" | "empty" | "not_empty"
            | "percent_empty" | "percent_not_empty" | "count" | "count_values" | "unique" | "sum" | "average"
            | "median" | "min" | "max" | "range" => "numeric",
            _ => "jsonb",
        },
        _ => "jsonb",
    }
}

/// The foreign table IMPORT FOREIGN SCHEMA makes of one database.
fn resource(database: &Value) -> Option<Resource> {
    let id = database["id"].as_str()?;
    let title = plain_text(&database["title"]);
    let mut columns = ["id:text", "created_time:timestamptz", "last_edited_time:timestamptz", "url:text"]
        .iter()
        .map(|c| {
            let (name, ty) = c.split_once(':').unwrap_or_default();
            ResourceColumn { name: name.into(), sql_type: ty.into(), options: OptionMap::new() }
        })
        .collect::<Vec<_>>();
    let mut properties: Vec<(&String, &Value)> = database["properties"].as_object()?.iter().collect();
    // The title first, then by name.
    properties.sort_by_key(|(name, p)| (p["type"] != "title", name.to_string()));
    for (name, property) in properties {
        let kind = property["type"].as_str().unwrap_or_default();
        let column = super::unique_name(column_name(name), |c| columns.iter().any(|o| o.name == c));
        let mut options: OptionMap = [("property".to_string(), name.clone())].into();
        if PROPERTY_TYPES.contains(&kind) {
            options.insert("type".into(), kind.to_string());
        }
        columns.push(ResourceColumn { name: column, sql_type: sql_type(property).into(), options });
    }
    let name = if title.is_empty() { format!("database_{}", id.replace('-', "")) } else { column_name(&title) };
    Some(Resource {
        name,
        description: format!("Notion database {title}"),
        table_options: [("database_id".to_string(), id.to_string())].into(),
        columns,
    })
}

/// A Notion database's parsed options.
#[derive(Clone, Debug)]
struct NotionTable {
    table_name: String,
    /// `…/v1/databases/{id}/query`.
    query_url: Url,
    /// `…/v1/pages`.
    pages_url: Url,
    database_id: String,
    page_size: u64,
    columns: Vec<Column>,
}

impl NotionTable {
    fn new(server: &ServerDef, table: &TableDef) -> Result<Self> {
        let context = super::connector_context("notion");
        let options = Options::new(&table.options);
        let database_id = options.require(Scope::Table, &context, "database_id")?.to_string();
        let base = base_url(server, &Notion)?;
        let mut query_url = base.clone();
        segments(&mut query_url, &["databases", &database_id, "query"]);
        let mut pages_url = base;
        segments(&mut pages_url, &["pages"]);
        let mut columns = Vec::new();
        for column in &table.columns {
            if column.option("path").is_some() {
                return Err(Error::new(
                    ErrorKind::InvalidOptionValue,
                    format!("column \"{}\": option \"path\" does not apply to connector \"notion\"", column.name),
                )
                .with_hint("Name the Notion property with the column option property."));
            }
            let kind = column.option("type").map(str::to_string);
            let source = match (column.option("property"), column.name.as_str()) {
                (Some(property), _) => Source::Property { name: property.to_string(), kind },
                (None, "properties") => Source::Properties,
                (None, name) => match MEMBERS.iter().find(|m| **m == name) {
                    Some(member) if kind.is_none() => Source::Member(member),
                    _ => Source::Property { name: name.to_string(), kind },
                },
            };
            let declared = Options::new(&column.options).bool("sortable")?;
            let sortable = match &source {
                Source::Member(m) => matches!(*m, "created_time" | "last_edited_time"),
                Source::Property { .. } => declared == Some(true),
                Source::Properties => false,
            };
            columns.push(Column { name: column.name.clone(), source, ty: column.ty.clone(), sortable });
        }
        Ok(NotionTable {
            table_name: table.name.clone(),
            query_url,
            pages_url,
            database_id,
            page_size: page_size(server, table, &Notion)?.min(MAX_PAGE_SIZE),
            columns,
        })
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The query's body for its first page.
    fn body(&self, request: &ScanRequest) -> Result<Value> {
        let mut body = Map::new();
        let mut filters = Vec::new();
        for qual in &request.quals {
            let filter = self.column(&qual.column).and_then(|c| c.filter(qual.op, &qual.value));
            filters
                .push(filter.ok_or_else(|| {
                    Error::internal(format!("condition {qual} cannot be written as a Notion filter"))
                })?);
        }
        match filters.len() {
            0 => {}
            1 => {
                body.insert("filter".into(), filters.remove(0));
            }
            _ => {
                body.insert("filter".into(), json!({ "and": filters }));
            }
        }
        if !request.sorts.is_empty() {
            let sorts = request
                .sorts
                .iter()
                .map(|s| {
                    let direction = if s.desc { "descending" } else { "ascending" };
                    match self.column(&s.column).map(|c| &c.source) {
                        Some(Source::Member(m)) => Ok(json!({ "timestamp": m, "direction": direction })),
                        Some(Source::Property { name, .. }) => Ok(json!({ "property": name, "direction": direction })),
                        _ => Err(Error::internal(format!("column \"{}\" cannot be sorted by Notion", s.column))),
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            body.insert("sorts".into(), Value::Array(sorts));
        }
        let size = request.limit.and_then(|l| l.rows_needed()).map_or(self.page_size, |n| self.page_size.min(n.max(1)));
        body.insert("page_size".into(), json!(size));
        Ok(Value::Object(body))
    }

    /// A page as the scan and RETURNING read it: one member per column.
    fn flatten(&self, page: &Value, columns: &[usize]) -> Value {
        Value::Object(
            columns.iter().filter_map(|&i| self.columns.get(i)).map(|c| (c.name.clone(), c.read(page))).collect(),
        )
    }

    /// The first column that reads a property `properties` (a page's, or the database's schema) lacks, or
    /// whose declared type (with `inferred`, also the type guessed from its column type) is not the
    /// property's.
    fn mismatch(&self, properties: &Map<String, Value>, inferred: bool) -> Option<Error> {
        for column in &self.columns {
            let Source::Property { name, kind: declared } = &column.source else { continue };
            let (table, database) = (&self.table_name, &self.database_id);
            let Some(property) = properties.get(name) else {
                let known: Vec<String> =
                    properties.iter().map(|(n, p)| format!("{n} ({})", p["type"].as_str().unwrap_or("?"))).collect();
                return Some(
                    Error::new(
                        ErrorKind::NotFound,
                        format!("column \"{}\" of foreign table \"{table}\": Notion database {database} has no property \"{name}\"", column.name),
                    )
                    .with_hint(format!("Its properties are: {}. Name the property with the column option property.", known.join(", "))),
                );
            };
            let Some(actual) = property["type"].as_str().filter(|t| !t.is_empty()) else { continue };
            let expected = if inferred { column.kind() } else { declared.as_deref() };
            match expected {
                Some(expected) if expected != actual => {
                    let why = if declared.is_some() {
                        "as the column option type says".to_string()
                    } else {
                        "as the column's type implies without the option type".to_string()
                    };
                    return Some(
                        Error::new(
                            ErrorKind::InvalidOptionValue,
                            format!(
                                "column \"{}\" of foreign table \"{table}\": Notion property \"{name}\" is of type {actual}, not {expected} {why}",
                                column.name
                            ),
                        )
                        .with_hint(format!("Set the column option type to '{actual}' (IMPORT FOREIGN SCHEMA sets it).")),
                    );
                }
                _ => {}
            }
        }
        None
    }

    /// A refused query explained: a 404 names the database option; a 400 (a filter or sort Notion refused)
    /// reads the database's schema once to name the column whose property is missing or of another type.
    async fn explain(&self, error: Error, http: &Http, counters: &Counters) -> Error {
        if error.hint.is_some() {
            return error;
        }
        if error.kind == ErrorKind::NotFound {
            let hint = format!(
                "Notion database \"{}\" (option database_id of foreign table \"{}\") does not exist or is not shared with the integration (share it from the database's Connections menu).",
                self.database_id, self.table_name
            );
            return error.with_hint(hint);
        }
        if !error.message.contains("HTTP 400") {
            return error;
        }
        let mut url = self.pages_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop();
            path.push("databases");
            path.push(&self.database_id);
        }
        let Ok((_, database)) = http.send_json(&Request::get(url), counters).await else { return error };
        match database["properties"].as_object().and_then(|p| self.mismatch(p, true)) {
            Some(found) => match error.detail {
                Some(detail) => found.with_detail(detail),
                None => found,
            },
            None => error,
        }
    }

    fn page_url(&self, key: &SqlValue) -> Result<Url> {
        let id = key.to_param();
        super::item_segment("id", &id)?;
        let mut url = self.pages_url.clone();
        segments(&mut url, &[&id]);
        Ok(url)
    }
}

impl Table for NotionTable {
    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::new();
        for column in &self.columns {
            for (op, support) in column.operators() {
                caps.add_filters(&column.name, &[op], support);
            }
            match (&column.source, column.sortable) {
                (Source::Member(_), true) => caps.add_never_null(&column.name),
                (_, true) => caps.add_sortable(&column.name),
                _ => {}
            }
        }
        // Timestamps are never empty; properties are sortable only where the DBA vouches for the order.
        // Notion sorts empty values last in both directions.
        caps.max_sort_keys(8).null_order(NullOrder::Last).limit(false)
    }

    fn describe(&self, request: &ScanRequest) -> Vec<String> {
        match self.body(request) {
            Ok(body) => vec![format!("POST {} {body}", redact_url(&self.query_url, None))],
            Err(e) => vec![format!("(cannot build the request: {e})")],
        }
    }

    fn scan(&self, request: &ScanRequest) -> Result<Arc<dyn PageSource>> {
        Ok(Arc::new(NotionSource { table: self.clone(), body: self.body(request)?, columns: request.columns.clone() }))
    }

    fn rows_per_request(&self) -> Option<u64> {
        Some(self.page_size)
    }

    fn writer(&self) -> Option<Arc<dyn Writer>> {
        Some(Arc::new(NotionWriter { table: self.clone() }))
    }
}

struct NotionSource {
    table: NotionTable,
    body: Value,
    columns: Vec<usize>,
}

#[async_trait]
impl PageSource for NotionSource {
    fn paging(&self) -> Paging {
        Paging::Chained
    }

    async fn fetch(&self, http: &Http, token: PageToken, counters: &Counters) -> Result<Page> {
        let mut body = self.body.clone();
        if let PageToken::Next(cursor) = &token {
            body["start_cursor"] = json!(cursor);
        }
        let request = Request::new(Method::POST, self.table.query_url.clone()).read_only().json(body);
        let (response, answer) = match http.send_json(&request, counters).await {
            Ok(answered) => answered,
            Err(e) => return Err(self.table.explain(e, http, counters).await),
        };
        let results = answer["results"].as_array().ok_or_else(|| {
            Error::bad_response(format!(
                "response to {} has no \"results\" (foreign table \"{}\")",
                response.request, self.table.table_name
            ))
        })?;
        // Every page of a database carries all its properties: the first tells whether the columns fit.
        if let Some(mismatch) =
            results.first().and_then(|p| p["properties"].as_object()).and_then(|p| self.table.mismatch(p, false))
        {
            return Err(mismatch);
        }
        let next = match answer["next_cursor"].as_str() {
            Some(next) if answer["has_more"] == true && !next.is_empty() => Some(next.to_string()),
            _ => None,
        };
        if let (Some(next), PageToken::Next(previous)) = (&next, &token) {
            if next == previous {
                return Err(Error::bad_response(format!(
                    "response to {} repeats the cursor it was asked for",
                    response.request
                )));
            }
        }
        let records: Vec<Value> = results.iter().map(|page| self.table.flatten(page, &self.columns)).collect();
        let next = if records.is_empty() { None } else { next };
        Ok(Page { records, next, ..Page::default() })
    }
}

/// Creates pages in the database, updates their properties, archives them for DELETE.
struct NotionWriter {
    table: NotionTable,
}

impl NotionWriter {
    /// The `properties` of a flat record, and whether it sets `archived`.
    fn properties(&self, record: Value) -> Result<(Map<String, Value>, Option<bool>)> {
        let Value::Object(members) = record else {
            return Err(Error::new(ErrorKind::InvalidValue, "a Notion page must be a JSON object"));
        };
        let mut properties = Map::new();
        let mut archived = None;
        for (name, value) in members {
            let Some(column) = self.table.column(&name) else { continue };
            match &column.source {
                Source::Property { name: property, .. } => {
                    properties.insert(property.clone(), column.write(value, &self.table.table_name)?);
                }
                Source::Properties => match value {
                    Value::Object(all) => properties.extend(all),
                    Value::Null => {}
                    other => {
                        return Err(Error::new(
                            ErrorKind::InvalidValue,
                            format!("column \"{name}\" holds all properties, so it must be a JSON object, not {other}"),
                        ))
                    }
                },
                Source::Member("archived") => archived = value.as_bool(),
                Source::Member(_) if value.is_null() => {}
                Source::Member(member) => {
                    return Err(Error::new(
                        ErrorKind::InvalidValue,
                        format!(
                            "column \"{name}\" of foreign table \"{}\" is the page's {member}, which Notion sets",
                            self.table.table_name
                        ),
                    ))
                }
            }
        }
        Ok((properties, archived))
    }

    fn answer(&self, page: &Value) -> Value {
        if page.is_object() {
            self.table.flatten(page, &(0..self.table.columns.len()).collect::<Vec<_>>())
        } else {
            Value::Null
        }
    }
}

#[async_trait]
impl Writer for NotionWriter {
    fn batch_size(&self) -> usize {
        1
    }

    fn key_column(&self) -> &str {
        self.table.columns.iter().find(|c| c.source == Source::Member("id")).map_or("id", |c| c.name.as_str())
    }

    fn describe(&self, op: WriteOp) -> String {
        let pages = redact_url(&self.table.pages_url, None);
        match op {
            WriteOp::Insert => format!("POST {pages}"),
            WriteOp::Update => format!("PATCH {pages}/{{key}}"),
            WriteOp::Delete => format!("PATCH {pages}/{{key}} {{\"archived\":true}}"),
        }
    }

    async fn insert(&self, http: &Http, records: Vec<Value>, counters: &Counters) -> Result<Vec<Value>> {
        let mut answers = Vec::with_capacity(records.len());
        for record in records {
            let (properties, archived) = self.properties(record)?;
            let mut body = json!({ "parent": { "database_id": self.table.database_id }, "properties": properties });
            if archived == Some(true) {
                body["archived"] = json!(true);
            }
            let (_, page) =
                http.send_json(&Request::new(Method::POST, self.table.pages_url.clone()).json(body), counters).await?;
            answers.push(self.answer(&page));
        }
        Ok(answers)
    }

    async fn update(&self, http: &Http, key: &SqlValue, changes: Value, counters: &Counters) -> Result<Value> {
        let (properties, archived) = self.properties(changes)?;
        let mut body = json!({ "properties": properties });
        if let Some(archived) = archived {
            body["archived"] = json!(archived);
        }
        let (_, page) =
            http.send_json(&Request::new(Method::PATCH, self.table.page_url(key)?).json(body), counters).await?;
        Ok(self.answer(&page))
    }

    async fn delete(&self, http: &Http, key: &SqlValue, counters: &Counters) -> Result<Value> {
        let request = Request::new(Method::PATCH, self.table.page_url(key)?).json(json!({ "archived": true }));
        let (_, page) = http.send_json(&request, counters).await?;
        Ok(self.answer(&page))
    }
}

#[cfg(test)]
mod tests;
