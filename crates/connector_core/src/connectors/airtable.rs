//! Airtable (Web API v0): one foreign table per Airtable table of a base.
//!
//! Reads list `GET /v0/{baseId}/{tableIdOrName}` with `offset` paging (chained). Conditions become one
//! `filterByFormula`, the ORDER BY `sort[n][field]`/`sort[n][direction]`, a pushed LIMIT `maxRecords`, the
//! columns a query reads `fields[]`. Writes use the batch endpoints (at most 10 records a request).
//! Discovery reads the Meta API (`GET /v0/meta/bases/{baseId}/tables`).
//!
//! Records come back flattened for the scan: a column reads its Airtable field (option `field`, default
//! the column's name); the names `id`, `created_time` and `fields` (without a `field` option) read the
//! record id, its creation time and all its fields as one object.
//!
//! Airtable's formulas treat an empty cell as 0, as "" and as false at once, and its responses leave empty
//! cells (and unchecked checkboxes) out. Every pushed condition therefore guards against blanks where SQL's
//! NULL would not match, so that what Airtable returns is exactly what Postgres would keep.

use super::{base_url, page_size, Connector, Defaults, Resource, ResourceColumn, ServerDef, Table};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Counters, Http, Request};
use crate::model::{ColumnType, Op, ScanRequest, TableDef, Value as SqlValue};
use crate::options::{Kind, OptionMap, OptionSpec, Options, Scope};
use crate::pushdown::{Capabilities, NullOrder, Support};
use crate::scan::{Page, PageSource, PageToken, Paging};
use crate::write::{WriteOp, Writer};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use url::Url;

pub struct Airtable;

/// Airtable's documented limits: 100 records a page, 10 records a write, 5 requests a second per base.
pub const MAX_PAGE_SIZE: u64 = 100;
pub const MAX_BATCH: usize = 10;

impl Connector for Airtable {
    fn name(&self) -> &str {
        "airtable"
    }

    fn description(&self) -> &str {
        "Airtable bases: records with filterByFormula, sort and maxRecords pushdown; writes; tables from the Meta API."
    }

    fn defaults(&self) -> Defaults {
        Defaults {
            base_url: Some("https://api.airtable.com/v0"),
            auth: "bearer",
            max_concurrency: 1,
            rate_limit: Some(5.0),
            page_size: MAX_PAGE_SIZE,
            // "You will need to wait 30 seconds before subsequent requests will succeed"; no Retry-After.
            retry_after: Some(std::time::Duration::from_secs(30)),
            options: OptionMap::new(),
        }
    }

    fn server_options(&self) -> Vec<OptionSpec> {
        vec![OptionSpec::text("base_id")]
    }

    fn table_options(&self) -> Vec<OptionSpec> {
        vec![
            OptionSpec::text("base_id"),
            OptionSpec::text("table"),
            OptionSpec::text("view"),
            OptionSpec::int("page_size", 1, MAX_PAGE_SIZE as i64),
            OptionSpec::int("batch_size", 1, MAX_BATCH as i64),
        ]
    }

    fn column_options(&self) -> Vec<OptionSpec> {
        vec![OptionSpec::text("field"), OptionSpec::new("sortable", Kind::Bool)]
    }

    fn open(&self, server: &ServerDef, table: &TableDef) -> Result<Arc<dyn Table>> {
        Ok(Arc::new(AirtableTable::new(server, table)?))
    }

    /// `IMPORT FOREIGN SCHEMA "appXXXXXXXXXXXXXX"` names the base (a personal access token covers many);
    /// another remote schema name leaves the server's `base_id`.
    fn import_scope(&self, server: &ServerDef, remote_schema: &str) -> ServerDef {
        let mut server = server.clone();
        if is_base_id(remote_schema) {
            server.options.insert("base_id".into(), remote_schema.to_string());
        }
        server
    }

    fn resources<'a>(
        &'a self,
        server: &'a ServerDef,
        http: &'a Http,
    ) -> futures::future::BoxFuture<'a, Result<Vec<Resource>>> {
        Box::pin(async move {
            let base_id = server.option("base_id").filter(|b| !b.is_empty()).ok_or_else(|| {
                Error::new(
                    ErrorKind::MissingOption,
                    format!("server \"{}\" names no Airtable base to list the tables of", server.name),
                )
                .with_hint(format!(
                    "Name the base as the remote schema: IMPORT FOREIGN SCHEMA \"appXXXXXXXXXXXXXX\" FROM SERVER {} INTO …; or set the server option base_id ('app…') for list_resources.",
                    server.name
                ))
            })?;
            let mut url = base_url(server, self)?;
            segments(&mut url, &["meta", "bases", base_id, "tables"]);
            let (_, body) = http.send_json(&Request::get(url), &Counters::default()).await.map_err(|e| {
                if e.hint.is_none() && (e.kind == ErrorKind::NotFound || e.message.contains("HTTP 403")) {
                    let hint = format!("Base \"{base_id}\" does not exist, or the token cannot read its schema (it needs the scope schema.bases:read and access to the base).");
                    e.with_hint(hint)
                } else {
                    e
                }
            })?;
            let tables = body
                .get("tables")
                .and_then(Value::as_array)
                .ok_or_else(|| Error::bad_response("the Airtable Meta API answered without \"tables\""))?;
            // Imported tables carry their base, so one server serves the bases of one token.
            Ok(tables
                .iter()
                .filter_map(resource)
                .map(|mut r| {
                    r.table_options.insert("base_id".into(), base_id.to_string());
                    r
                })
                .collect())
        })
    }
}

/// Whether a name is an Airtable base id: `app` and 14 letters or digits.
pub fn is_base_id(name: &str) -> bool {
    name.len() == 17 && name.starts_with("app") && name.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Append path segments (percent-encoded) to a URL.
fn segments(url: &mut Url, parts: &[&str]) {
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        for part in parts {
            path.push(part);
        }
    }
}

/// A column name for an Airtable name: lower case, runs of other characters as one `_`.
pub(crate) fn column_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    match out.chars().next() {
        None => "field".to_string(),
        Some(c) if c.is_ascii_digit() => format!("_{out}"),
        Some(_) => out,
    }
}

/// The Postgres type for an Airtable field (its `type` and `options` from the Meta API).
pub fn sql_type(field: &Value) -> &'static str {
    let options = &field["options"];
    match field["type"].as_str().unwrap_or_default() {
        "singleLineText" | "multilineText" | "richText" | "email" | "url" | "phoneNumber" | "singleSelect" => "text",
        "number" if options["precision"].as_u64() == Some(0) => "bigint",
        "number" | "currency" | "percent" | "duration" => "numeric",
        "autoNumber" | "count" => "bigint",
        "rating" => "integer",
        "checkbox" => "boolean",
        "date" => "date",
        "dateTime" | "createdTime" | "lastModifiedTime" => "timestamptz",
        "multipleSelects" | "multipleRecordLinks" => "text[]",
        // Computed fields take the type of their result.
        "formula" | "rollup" => match options.get("result") {
            Some(result) if result.is_object() => sql_type(result),
            _ => "jsonb",
        },
        // Attachments, collaborators, lookups, barcodes, buttons, AI text: objects and arrays.
        _ => "jsonb",
    }
}

/// The foreign table IMPORT FOREIGN SCHEMA makes of one Airtable table.
fn resource(table: &Value) -> Option<Resource> {
    let (id, name) = (table["id"].as_str()?, table["name"].as_str()?);
    let mut columns = vec![
        ResourceColumn { name: "id".into(), sql_type: "text".into(), options: OptionMap::new() },
        ResourceColumn { name: "created_time".into(), sql_type: "timestamptz".into(), options: OptionMap::new() },
    ];
    for field in table["fields"].as_array().into_iter().flatten() {
        let Some(field_name) = field["name"].as_str() else { continue };
        let column = super::unique_name(column_name(field_name), |name| columns.iter().any(|c| c.name == name));
        let mut options = OptionMap::new();
        if column != field_name || matches!(column.as_str(), "id" | "created_time" | "fields") {
            options.insert("field".into(), field_name.to_string());
        }
        columns.push(ResourceColumn { name: column, sql_type: sql_type(field).into(), options });
    }
    let description = table["description"]
        .as_str()
        .map(|d| format!("{name}: {d}"))
        .unwrap_or_else(|| format!("Airtable table {name}"));
    Some(Resource {
        name: column_name(name),
        description,
        table_options: [("table".to_string(), id.to_string())].into(),
        columns,
    })
}

/// What a column reads from an Airtable record.
#[derive(Clone, Debug, PartialEq)]
enum Source {
    RecordId,
    CreatedTime,
    /// Every field, as one object.
    AllFields,
    Field(String),
}

#[derive(Clone, Debug)]
struct Column {
    name: String,
    source: Source,
    ty: ColumnType,
    sortable: bool,
}

impl Column {
    fn is_number(&self) -> bool {
        matches!(
            self.ty,
            ColumnType::Int2
                | ColumnType::Int4
                | ColumnType::Int8
                | ColumnType::Float4
                | ColumnType::Float8
                | ColumnType::Numeric
        )
    }

    /// The field reference in a formula, or None when the name cannot be written as one.
    fn reference(&self) -> Option<String> {
        match &self.source {
            Source::Field(f) if !f.is_empty() && !f.contains(['{', '}', '\\']) => Some(format!("{{{f}}}")),
            _ => None,
        }
    }

    /// Operators pushed for this column, exactly.
    fn operators(&self) -> &'static [Op] {
        const NULLS: [Op; 2] = [Op::IsNull, Op::IsNotNull];
        match (&self.source, &self.ty) {
            (Source::RecordId, _) => &[Op::Eq, Op::In],
            (Source::Field(_), _) if self.reference().is_none() => &[],
            (Source::Field(_), ColumnType::Text) => &[Op::Eq, Op::Ne, Op::In, Op::IsNull, Op::IsNotNull],
            (Source::Field(_), ColumnType::Bool) => &[Op::Eq],
            (Source::Field(_), _) if self.is_number() => &Op::ALL,
            (Source::Field(_), ColumnType::Jsonb | ColumnType::Json) => &[],
            (Source::Field(_), _) => &NULLS,
            _ => &[],
        }
    }
}

/// A string literal of Airtable's formula language: single quotes, backslash escapes.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A value as a formula literal for a column.
fn literal(column: &Column, value: &SqlValue) -> Option<String> {
    match value {
        SqlValue::Int(i) => Some(i.to_string()),
        SqlValue::Float(f) if f.is_finite() => Some(f.to_string()),
        SqlValue::Numeric(n) if n.parse::<f64>().is_ok_and(f64::is_finite) => Some(n.clone()),
        SqlValue::Bool(b) => Some(if *b { "TRUE()" } else { "FALSE()" }.to_string()),
        SqlValue::Null | SqlValue::List(_) | SqlValue::Float(_) | SqlValue::Numeric(_) => None,
        _ if column.is_number() => None,
        other => Some(quote(&other.to_param())),
    }
}

/// For NaN and ±Infinity: whether the value is above every finite number (NaN, Infinity) or below.
pub(crate) fn non_finite(value: &SqlValue) -> Option<bool> {
    let f = match value {
        SqlValue::Float(f) => *f,
        SqlValue::Numeric(n) => n.parse::<f64>().ok()?,
        _ => return None,
    };
    (!f.is_finite()).then_some(f.is_nan() || f > 0.0)
}

fn all_of(parts: Vec<String>) -> String {
    match parts.len() {
        0 => "TRUE()".into(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("AND({})", parts.join(",")),
    }
}

fn any_of(parts: Vec<String>) -> String {
    match parts.len() {
        0 => "FALSE()".into(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("OR({})", parts.join(",")),
    }
}

/// One pushed condition as a formula; None if it cannot be written (the scan then refuses it).
fn condition(column: &Column, op: Op, value: &SqlValue) -> Option<String> {
    if column.source == Source::RecordId {
        let id = |v: &SqlValue| match v {
            SqlValue::Null => None,
            v => Some(format!("RECORD_ID()={}", quote(&v.to_param()))),
        };
        return match (op, value) {
            (Op::Eq, v) => id(v),
            (Op::In, SqlValue::List(items)) => Some(any_of(items.iter().filter_map(id).collect())),
            _ => None,
        };
    }
    let field = column.reference()?;
    let text = column.ty == ColumnType::Text;
    // Blank cells: BLANK() for text; numbers compare a blank equal to 0, so their text form tells.
    let (blank, present) = if text {
        (format!("{field}=BLANK()"), format!("{field}!=BLANK()"))
    } else {
        (format!("{field}&''=''"), format!("{field}&''!=''"))
    };
    let compare = |sign: &str, v: &SqlValue| -> Option<String> {
        // Empty text is never stored (Airtable leaves it out), so `= ''` matches nothing.
        if text && sign == "=" && v.to_param().is_empty() {
            return Some("FALSE()".into());
        }
        Some(format!("{field}{sign}{}", literal(column, v)?))
    };
    let sign = match op {
        Op::Eq => "=",
        Op::Ne => "!=",
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::IsNull => return Some(blank),
        Op::IsNotNull => return Some(present),
        Op::Like | Op::ILike => return None,
        Op::In => {
            let SqlValue::List(items) = value else { return None };
            // NaN and infinities equal no number Airtable holds.
            let items =
                items.iter().filter(|v| **v != SqlValue::Null && !(column.is_number() && non_finite(v).is_some()));
            let options = items.map(|v| compare("=", v)).collect::<Option<Vec<_>>>()?;
            let any = any_of(options);
            return Some(if text { any } else { all_of(vec![present, any]) });
        }
    };
    if column.ty == ColumnType::Bool {
        // Unchecked boxes are blank, and blank equals FALSE().
        return compare(sign, value);
    }
    if let (true, Some(above)) = (column.is_number(), non_finite(value)) {
        // Postgres orders NaN and Infinity above every number (-Infinity below); Airtable has neither.
        let holds = match op {
            Op::Ne => true,
            Op::Lt | Op::Le => above,
            Op::Gt | Op::Ge => !above,
            _ => false,
        };
        return Some(if holds { present } else { "FALSE()".into() });
    }
    let compared = compare(sign, value)?;
    Some(match (text, op) {
        (true, Op::Eq) => compared,
        _ => all_of(vec![present, compared]),
    })
}

/// An Airtable table's parsed options.
#[derive(Clone, Debug)]
struct AirtableTable {
    table_name: String,
    base_id: String,
    /// The table option: the Airtable table's id or name.
    airtable_table: String,
    /// `…/v0/{baseId}/{table}`.
    url: Url,
    view: Option<String>,
    page_size: u64,
    batch_size: usize,
    columns: Vec<Column>,
}

impl AirtableTable {
    fn new(server: &ServerDef, table: &TableDef) -> Result<Self> {
        let context = super::connector_context("airtable");
        let options = Options::new(&table.options);
        let base_id =
            options.get("base_id").or(server.option("base_id")).filter(|b| !b.is_empty()).ok_or_else(|| {
                crate::options::missing_option(Scope::Table, &context, "base_id")
                    .with_hint("Set base_id ('app…') on the foreign table or on its server.")
            })?;
        let airtable_table = options.require(Scope::Table, &context, "table")?;
        let mut url = base_url(server, &Airtable)?;
        segments(&mut url, &[base_id, airtable_table]);
        let mut columns = Vec::new();
        for column in &table.columns {
            if column.option("path").is_some() {
                return Err(Error::new(
                    ErrorKind::InvalidOptionValue,
                    format!("column \"{}\": option \"path\" does not apply to connector \"airtable\"", column.name),
                )
                .with_hint("Name the Airtable field with the column option field."));
            }
            let source = match (column.option("field"), column.name.as_str()) {
                (Some(field), _) => Source::Field(field.to_string()),
                (None, "id") => Source::RecordId,
                (None, "created_time") => Source::CreatedTime,
                (None, "fields") => Source::AllFields,
                (None, name) => Source::Field(name.to_string()),
            };
            let sortable_by_type =
                matches!(column.ty, ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz);
            let mut parsed = Column { name: column.name.clone(), source, ty: column.ty.clone(), sortable: false };
            let by_default = parsed.is_number() || sortable_by_type;
            let declared = Options::new(&column.options).bool("sortable")?;
            parsed.sortable = matches!(parsed.source, Source::Field(_)) && declared.unwrap_or(by_default);
            columns.push(parsed);
        }
        Ok(AirtableTable {
            table_name: table.name.clone(),
            base_id: base_id.to_string(),
            airtable_table: airtable_table.to_string(),
            url,
            view: options.get("view").filter(|v| !v.is_empty()).map(str::to_string),
            page_size: page_size(server, table, &Airtable)?.min(MAX_PAGE_SIZE),
            batch_size: options.int("batch_size")?.map_or(MAX_BATCH, |n| n.clamp(1, MAX_BATCH as i64) as usize),
            columns,
        })
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// A hint for what Airtable refused in a list request: the base or table (404, 403), a formula or a
    /// field (422).
    fn explain(&self, error: Error, url: &Url) -> Error {
        if error.hint.is_some() {
            return error;
        }
        let detail = error.detail.as_deref().unwrap_or_default();
        let (base, table, foreign) = (&self.base_id, &self.airtable_table, &self.table_name);
        if error.kind == ErrorKind::NotFound || error.message.contains("HTTP 403") {
            let hint = format!(
                "Base \"{base}\" has no table \"{table}\", or the base does not exist or is not shared with the token: check the options base_id and table of foreign table \"{foreign}\" (IMPORT FOREIGN SCHEMA sets them)."
            );
            return error.with_hint(hint);
        }
        if error.message.contains("HTTP 422") {
            if detail.contains("formula") {
                let formula = url
                    .query_pairs()
                    .find(|(k, _)| k == "filterByFormula")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                let hint = format!(
                    "Airtable refused the formula made of the query's conditions on foreign table \"{foreign}\": {formula}. Check the columns' field options, or SET connector_fdw.pushdown = off to filter in Postgres."
                );
                return error.with_hint(hint);
            }
            if let (Some(view), true) = (&self.view, detail.contains("view")) {
                let hint = format!(
                    "Table \"{table}\" has no view \"{view}\": check the option view of foreign table \"{foreign}\"."
                );
                return error.with_hint(hint);
            }
            if detail.contains("field") {
                let hint = format!(
                    "A column of foreign table \"{foreign}\" names a field table \"{table}\" does not have: check the columns' field options (IMPORT FOREIGN SCHEMA sets them)."
                );
                return error.with_hint(hint);
            }
        }
        error
    }

    /// The formula of the pushed conditions, if any.
    fn formula(&self, request: &ScanRequest) -> Result<Option<String>> {
        let mut parts = Vec::new();
        for qual in &request.quals {
            let written = self.column(&qual.column).and_then(|c| condition(c, qual.op, &qual.value));
            parts.push(written.ok_or_else(|| {
                Error::internal(format!("condition {qual} cannot be written as an Airtable formula"))
            })?);
        }
        Ok((!parts.is_empty()).then(|| all_of(parts)))
    }

    /// The first page's URL: every pushed parameter but the offset.
    fn list_url(&self, request: &ScanRequest) -> Result<Url> {
        let mut url = self.url.clone();
        let rows_needed = request.limit.and_then(|l| l.rows_needed());
        {
            let mut query = url.query_pairs_mut();
            let used: Vec<&Column> = request.columns.iter().filter_map(|&i| self.columns.get(i)).collect();
            if !used.iter().any(|c| c.source == Source::AllFields) {
                let mut fields: Vec<&str> = Vec::new();
                for column in &used {
                    if let Source::Field(f) = &column.source {
                        if !fields.contains(&f.as_str()) {
                            fields.push(f);
                        }
                    }
                }
                for field in fields {
                    query.append_pair("fields[]", field);
                }
            }
            if let Some(formula) = self.formula(request)? {
                query.append_pair("filterByFormula", &formula);
            }
            for (i, sort) in request.sorts.iter().enumerate() {
                let Some(Source::Field(field)) = self.column(&sort.column).map(|c| &c.source) else {
                    return Err(Error::internal(format!("column \"{}\" cannot be sorted by Airtable", sort.column)));
                };
                query.append_pair(&format!("sort[{i}][field]"), field);
                query.append_pair(&format!("sort[{i}][direction]"), if sort.desc { "desc" } else { "asc" });
            }
            if let Some(view) = &self.view {
                query.append_pair("view", view);
            }
            if let Some(n) = rows_needed {
                query.append_pair("maxRecords", &n.max(1).to_string());
            }
            let size = rows_needed.map_or(self.page_size, |n| self.page_size.min(n.max(1)));
            query.append_pair("pageSize", &size.to_string());
        }
        Ok(url)
    }

    /// A record as the scan and RETURNING read it: one member per column.
    fn flatten(&self, record: &Value, columns: &[usize]) -> Value {
        let mut out = Map::new();
        let fields = &record["fields"];
        for column in columns.iter().filter_map(|&i| self.columns.get(i)) {
            let value = match &column.source {
                Source::RecordId => record["id"].clone(),
                Source::CreatedTime => record["createdTime"].clone(),
                Source::AllFields => fields.clone(),
                Source::Field(f) => match fields.get(f) {
                    Some(v) => v.clone(),
                    // Airtable leaves unchecked boxes out.
                    None if column.ty == ColumnType::Bool => Value::Bool(false),
                    None => Value::Null,
                },
            };
            out.insert(column.name.clone(), value);
        }
        Value::Object(out)
    }
}

impl Table for AirtableTable {
    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::new();
        for column in &self.columns {
            caps.add_filters(&column.name, column.operators(), Support::Exact);
            if column.sortable {
                caps.add_sortable(&column.name);
            }
        }
        // Airtable sorts empty cells before any value, ascending.
        caps.max_sort_keys(8).null_order(NullOrder::Smallest).limit(false)
    }

    fn describe(&self, request: &ScanRequest) -> Vec<String> {
        match self.list_url(request) {
            Ok(url) => vec![format!("GET {}", redact_url(&url, None))],
            Err(e) => vec![format!("(cannot build the request: {e})")],
        }
    }

    fn scan(&self, request: &ScanRequest) -> Result<Arc<dyn PageSource>> {
        Ok(Arc::new(AirtableSource {
            table: self.clone(),
            url: self.list_url(request)?,
            columns: request.columns.clone(),
        }))
    }

    fn rows_per_request(&self) -> Option<u64> {
        Some(self.page_size)
    }

    fn writer(&self) -> Option<Arc<dyn Writer>> {
        Some(Arc::new(AirtableWriter { table: self.clone() }))
    }
}

struct AirtableSource {
    table: AirtableTable,
    url: Url,
    columns: Vec<usize>,
}

#[async_trait]
impl PageSource for AirtableSource {
    fn paging(&self) -> Paging {
        Paging::Chained
    }

    async fn fetch(&self, http: &Http, token: PageToken, counters: &Counters) -> Result<Page> {
        let mut url = self.url.clone();
        if let PageToken::Next(offset) = &token {
            url.query_pairs_mut().append_pair("offset", offset);
        }
        let (response, body) =
            http.send_json(&Request::get(url.clone()), counters).await.map_err(|e| self.table.explain(e, &url))?;
        let records = body.get("records").and_then(Value::as_array).ok_or_else(|| {
            Error::bad_response(format!(
                "response to {} has no \"records\" (foreign table \"{}\")",
                response.request, self.table.table_name
            ))
        })?;
        let next = body.get("offset").and_then(Value::as_str).filter(|o| !o.is_empty()).map(str::to_string);
        if let (Some(next), PageToken::Next(previous)) = (&next, &token) {
            if next == previous {
                return Err(Error::bad_response(format!(
                    "response to {} repeats the offset it was asked for",
                    response.request
                )));
            }
        }
        let records: Vec<Value> = records.iter().map(|r| self.table.flatten(r, &self.columns)).collect();
        let next = if records.is_empty() { None } else { next };
        Ok(Page { records, next, ..Page::default() })
    }
}

/// Creates, updates and deletes through Airtable's batch endpoints.
struct AirtableWriter {
    table: AirtableTable,
}

impl AirtableWriter {
    /// The `fields` object of a flat record (one member per column); the record id and creation time are
    /// Airtable's to set.
    fn fields(&self, record: Value) -> Result<Value> {
        let Value::Object(members) = record else {
            return Err(Error::new(ErrorKind::InvalidValue, "an Airtable record must be a JSON object"));
        };
        let mut fields = Map::new();
        for (name, value) in members {
            let source = self.table.column(&name).map(|c| c.source.clone()).unwrap_or(Source::Field(name.clone()));
            match source {
                Source::Field(f) => {
                    fields.insert(f, value);
                }
                Source::AllFields => match value {
                    Value::Object(all) => fields.extend(all),
                    Value::Null => {}
                    other => {
                        return Err(Error::new(
                            ErrorKind::InvalidValue,
                            format!("column \"{name}\" holds all fields, so it must be a JSON object, not {other}"),
                        ))
                    }
                },
                Source::RecordId | Source::CreatedTime if value.is_null() => {}
                Source::RecordId | Source::CreatedTime => {
                    return Err(Error::new(
                        ErrorKind::InvalidValue,
                        format!(
                            "column \"{name}\" of foreign table \"{}\" is set by Airtable and cannot be written",
                            self.table.table_name
                        ),
                    ))
                }
            }
        }
        Ok(Value::Object(fields))
    }

    fn all_columns(&self) -> Vec<usize> {
        (0..self.table.columns.len()).collect()
    }

    fn answered(&self, body: &Value) -> Vec<Value> {
        let all = self.all_columns();
        body["records"]
            .as_array()
            .map(|records| records.iter().map(|r| self.table.flatten(r, &all)).collect())
            .unwrap_or_default()
    }

    fn key(key: &SqlValue) -> Result<String> {
        let key = key.to_param();
        if key.is_empty() {
            return Err(Error::new(ErrorKind::InvalidValue, "the record id is NULL or empty"));
        }
        Ok(key)
    }
}

#[async_trait]
impl Writer for AirtableWriter {
    fn batch_size(&self) -> usize {
        self.table.batch_size
    }

    fn key_column(&self) -> &str {
        self.table.columns.iter().find(|c| c.source == Source::RecordId).map_or("id", |c| c.name.as_str())
    }

    fn describe(&self, op: WriteOp) -> String {
        let url = redact_url(&self.table.url, None);
        match op {
            WriteOp::Insert => format!("POST {url}"),
            WriteOp::Update => format!("PATCH {url}"),
            WriteOp::Delete => format!("DELETE {url}?records[]={{key}}"),
        }
    }

    async fn insert(&self, http: &Http, records: Vec<Value>, counters: &Counters) -> Result<Vec<Value>> {
        let mut answers = Vec::with_capacity(records.len());
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            let batch = records
                .by_ref()
                .take(self.table.batch_size)
                .map(|r| Ok(json!({ "fields": self.fields(r)? })))
                .collect::<Result<Vec<_>>>()?;
            let count = batch.len();
            let request = Request::new(Method::POST, self.table.url.clone()).json(json!({ "records": batch }));
            let (_, body) = http.send_json(&request, counters).await?;
            let mut created = self.answered(&body);
            created.resize(count, Value::Null);
            answers.extend(created);
        }
        Ok(answers)
    }

    async fn update(&self, http: &Http, key: &SqlValue, changes: Value, counters: &Counters) -> Result<Value> {
        let answer = self.patch(http, vec![(key.clone(), changes)], counters).await?;
        Ok(self.answered(&answer).into_iter().next().unwrap_or(Value::Null))
    }

    async fn delete(&self, http: &Http, key: &SqlValue, counters: &Counters) -> Result<Value> {
        let answer = self.remove(http, vec![key.clone()], counters).await?;
        let deleted = answer["records"][0]["id"].clone();
        Ok(if deleted.is_null() { Value::Null } else { json!({ self.key_column(): deleted }) })
    }

    fn change_batch_size(&self) -> usize {
        self.table.batch_size
    }

    async fn update_batch(&self, http: &Http, rows: Vec<(SqlValue, Value)>, counters: &Counters) -> Result<()> {
        self.patch(http, rows, counters).await.map(drop)
    }

    async fn delete_batch(&self, http: &Http, keys: Vec<SqlValue>, counters: &Counters) -> Result<()> {
        self.remove(http, keys, counters).await.map(drop)
    }
}

impl AirtableWriter {
    /// One `PATCH` of up to `batch_size` records (Airtable's limit is 10 a request).
    async fn patch(&self, http: &Http, rows: Vec<(SqlValue, Value)>, counters: &Counters) -> Result<Value> {
        let records = rows
            .into_iter()
            .map(|(key, changes)| Ok(json!({ "id": Self::key(&key)?, "fields": self.fields(changes)? })))
            .collect::<Result<Vec<_>>>()?;
        let request = Request::new(Method::PATCH, self.table.url.clone()).json(json!({ "records": records }));
        Ok(http.send_json(&request, counters).await?.1)
    }

    /// One `DELETE` of up to `batch_size` records, named by `records[]` parameters.
    async fn remove(&self, http: &Http, keys: Vec<SqlValue>, counters: &Counters) -> Result<Value> {
        let mut url = self.table.url.clone();
        for key in &keys {
            url.query_pairs_mut().append_pair("records[]", &Self::key(key)?);
        }
        Ok(http.send_json(&Request::new(Method::DELETE, url), counters).await?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, ty: ColumnType) -> Column {
        Column { name: name.into(), source: Source::Field(name.into()), ty, sortable: false }
    }

    #[test]
    fn strings_are_quoted_with_backslashes() {
        assert_eq!(quote("O'Brien"), r"'O\'Brien'");
        assert_eq!(quote(r#"a\b "c""#), r#"'a\\b "c"'"#);
    }

    #[test]
    fn conditions_guard_against_blanks() {
        let name = column("Name", ColumnType::Text);
        let budget = column("Budget", ColumnType::Numeric);
        let text = |s: &str| SqlValue::Text(s.into());
        assert_eq!(condition(&name, Op::Eq, &text("it's")).unwrap(), r"{Name}='it\'s'");
        assert_eq!(condition(&name, Op::Eq, &text("")).unwrap(), "FALSE()");
        assert_eq!(condition(&name, Op::Ne, &text("x")).unwrap(), "AND({Name}!=BLANK(),{Name}!='x')");
        assert_eq!(condition(&name, Op::IsNull, &SqlValue::Null).unwrap(), "{Name}=BLANK()");
        assert_eq!(
            condition(&budget, Op::Ge, &SqlValue::Numeric("0".into())).unwrap(),
            "AND({Budget}&''!='',{Budget}>=0)"
        );
        assert_eq!(condition(&budget, Op::IsNull, &SqlValue::Null).unwrap(), "{Budget}&''=''");
        assert_eq!(
            condition(&budget, Op::In, &SqlValue::List(vec![SqlValue::Int(1), SqlValue::Int(2)])).unwrap(),
            "AND({Budget}&''!='',OR({Budget}=1,{Budget}=2))"
        );
        // A number column is not compared with text.
        assert_eq!(condition(&budget, Op::Eq, &text("1")), None);
        // NaN and infinities: Postgres' order, where Airtable has no such numbers.
        let nan = SqlValue::Numeric("NaN".into());
        assert_eq!(condition(&budget, Op::Eq, &nan).unwrap(), "FALSE()");
        assert_eq!(condition(&budget, Op::Lt, &nan).unwrap(), "{Budget}&''!=''");
        assert_eq!(condition(&budget, Op::Gt, &SqlValue::Float(f64::NEG_INFINITY)).unwrap(), "{Budget}&''!=''");
        assert_eq!(condition(&budget, Op::Le, &SqlValue::Float(f64::NEG_INFINITY)).unwrap(), "FALSE()");
        assert_eq!(
            condition(&budget, Op::In, &SqlValue::List(vec![nan, SqlValue::Int(3)])).unwrap(),
            "AND({Budget}&''!='',{Budget}=3)"
        );
        assert_eq!(column_name("Due date (UTC)"), "due_date_utc");
        assert_eq!(column_name("2024 Plan"), "_2024_plan");
    }
}
