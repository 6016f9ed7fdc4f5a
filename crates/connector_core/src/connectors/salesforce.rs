//! Salesforce (REST API): one foreign table per sObject (table option `object`), read with one SOQL query.
//!
//! A scan sends `GET {instance}/services/data/{api_version}/query?q=SELECT <fields> FROM <object> WHERE …
//! ORDER BY … LIMIT n` with `Sforce-Query-Options: batchSize=<page_size>` and follows `nextRecordsUrl`.
//! Conditions are SOQL: strings quoted with backslash escapes, dates and datetimes as unquoted literals.
//! SOQL compares text without regard to case, so text `=`/`IN` return a superset that Postgres rechecks;
//! `x != v` keeps NULLs in SOQL, so `<>` is sent as `(x != v AND x != null)`. Sorts are pushed on numbers,
//! dates and datetimes (SOQL sorts text by the user's locale, without case) with explicit `NULLS FIRST` or
//! `NULLS LAST`, so the order is Postgres'.
//!
//! A column reads the field its option `field` names (default: the column's name; `Owner.Name` follows a
//! relationship). Field names are case-insensitive in SOQL and answers, so `name` reads `Name`.
//! Writes go through sObject Collections (`/composite/sobjects`, 200 records a request, `allOrNone`).
//! IMPORT FOREIGN SCHEMA lists the queryable sObjects and describes only those it creates tables for.

use super::{Connector, Defaults, Discovery, Resource, ResourceColumn, ServerDef, Table};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Counters, Http, Request};
use crate::model::{non_finite_condition, ColumnType, Op, ScanRequest, TableDef, Value as SqlValue};
use crate::options::{Kind, OptionMap, OptionSpec, Options, Pattern, Scope};
use crate::pushdown::{Capabilities, NullOrder, Support};
use crate::scan::{Page, PageSource, PageToken, Paging};
use crate::write::{WriteOp, Writer};
use async_trait::async_trait;
use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use url::Url;

pub struct Salesforce;

pub const DEFAULT_API_VERSION: &str = "v60.0";
/// `batchSize` of the query resource: 200 to 2,000 records a page (2,000 by default).
const MIN_BATCH: i64 = 200;
const MAX_BATCH: i64 = 2000;
/// sObject Collections take at most 200 records a request.
const MAX_WRITE_BATCH: usize = 200;
/// A condition no record meets: every record has an Id.
const NOTHING: &str = "Id = null";

impl Connector for Salesforce {
    fn name(&self) -> &str {
        "salesforce"
    }

    fn description(&self) -> &str {
        "Salesforce sObjects: one SOQL query per scan (conditions, sort, limit), writes through sObject Collections, tables from describe."
    }

    fn defaults(&self) -> Defaults {
        let options: OptionMap = [
            ("token_url", "https://login.salesforce.com/services/oauth2/token"),
            ("authorize_url", "https://login.salesforce.com/services/oauth2/authorize"),
            ("scopes", "api refresh_token"),
            ("oauth_client_auth", "body"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Defaults { auth: "bearer", page_size: MAX_BATCH as u64, options, ..Defaults::default() }
    }

    fn host_from_token(&self) -> bool {
        true
    }

    fn server_options(&self) -> Vec<OptionSpec> {
        let version = Pattern::new(r"v?[0-9]{2,3}\.0").expect("a valid pattern");
        vec![OptionSpec::new("api_version", Kind::Matches(version))]
    }

    fn table_options(&self) -> Vec<OptionSpec> {
        vec![
            OptionSpec::text("object"),
            OptionSpec::int("page_size", MIN_BATCH, MAX_BATCH),
            OptionSpec::int("batch_size", 1, MAX_WRITE_BATCH as i64),
        ]
    }

    fn column_options(&self) -> Vec<OptionSpec> {
        vec![OptionSpec::text("field")]
    }

    fn probe_path(&self, server: &ServerDef) -> Option<String> {
        Some(format!("{}/limits", api_path(server).ok()?))
    }

    fn open(&self, server: &ServerDef, table: &TableDef) -> Result<Arc<dyn Table>> {
        Ok(Arc::new(SfTable::new(server, table)?))
    }

    fn discover<'a>(&'a self, server: &'a ServerDef, http: &'a Http) -> BoxFuture<'a, Result<Discovery>> {
        self.discover_only(server, http, &|_| true)
    }

    fn resources<'a>(&'a self, server: &'a ServerDef, http: &'a Http) -> BoxFuture<'a, Result<Vec<Resource>>> {
        Box::pin(async move { Ok(self.discover(server, http).await?.resources) })
    }

    fn discover_only<'a>(
        &'a self,
        server: &'a ServerDef,
        http: &'a Http,
        keep: &'a (dyn Fn(&str) -> bool + Send + Sync),
    ) -> BoxFuture<'a, Result<Discovery>> {
        Box::pin(async move {
            let api = Api::of(server)?.url(http).await?;
            let (_, body) = http.send_json(&Request::get(join(&api, &["sobjects"])), &Counters::default()).await?;
            let objects = body["sobjects"]
                .as_array()
                .ok_or_else(|| Error::bad_response("the sObjects list of Salesforce has no \"sobjects\""))?;
            let mut found = Discovery::default();
            for object in objects {
                let Some(name) = object["name"].as_str() else { continue };
                if object["queryable"] != Value::Bool(true) {
                    found.skipped.push(format!("sObject {name} is not queryable: no table made"));
                    continue;
                }
                if !keep(&sql_name(name)) {
                    continue;
                }
                let url = join(&api, &["sobjects", name, "describe"]);
                let (_, describe) = http.send_json(&Request::get(url), &Counters::default()).await?;
                found.resources.push(resource(name, &describe));
            }
            Ok(found)
        })
    }
}

/// `/services/data/{version}` after the server's base URL path.
fn api_path(server: &ServerDef) -> Result<String> {
    let base = super::base_url(server, &Salesforce)?;
    Ok(under(&base, &api_version(server)))
}

fn api_version(server: &ServerDef) -> String {
    let version = server.option("api_version").unwrap_or(DEFAULT_API_VERSION);
    if version.starts_with('v') {
        version.to_string()
    } else {
        format!("v{version}")
    }
}

fn under(instance: &Url, version: &str) -> String {
    format!("{}/services/data/{version}", instance.path().trim_end_matches('/'))
}

/// The REST API root: the instance, `/services/data/` and the API version. The instance is the server's
/// `base_url`, or, with `auth 'oauth2'` and no `base_url`, the `instance_url` of Salesforce's token response.
#[derive(Clone, Debug)]
struct Api {
    /// `None`: the token response's instance.
    fixed: Option<Url>,
    version: String,
}

impl Api {
    fn of(server: &ServerDef) -> Result<Api> {
        let fixed = if super::host_from_token(server, &Salesforce) {
            None
        } else {
            let mut url = super::base_url(server, &Salesforce)?;
            url.set_path(&api_path(server)?);
            Some(url)
        };
        Ok(Api { fixed, version: api_version(server) })
    }

    async fn url(&self, http: &Http) -> Result<Url> {
        if let Some(url) = &self.fixed {
            return Ok(url.clone());
        }
        let mut url = http.token_instance().await?.ok_or_else(|| {
            Error::new(ErrorKind::Authorization, "Salesforce's token response named no instance_url")
                .with_hint("Set the server's base_url to the org's instance URL (https://<domain>.my.salesforce.com).")
        })?;
        url.set_path(&under(&url, &self.version));
        url.set_query(None);
        url.set_fragment(None);
        Ok(url)
    }

    /// The root as EXPLAIN shows it, where the instance is not known before a token is.
    fn shown(&self, parts: &[&str]) -> String {
        match &self.fixed {
            Some(url) => join(url, parts).to_string(),
            None => format!("<instance_url>/services/data/{}/{}", self.version, parts.join("/")),
        }
    }
}

fn join(url: &Url, parts: &[&str]) -> Url {
    let mut url = url.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(parts);
    }
    url
}

/// A SQL name for a Salesforce API name: `CreatedDate` → `created_date`, `Region__c` → `region__c`.
pub fn sql_name(name: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit()) {
            out.push('_');
        }
        out.extend(c.to_lowercase());
        previous = Some(c);
    }
    out
}

/// The Postgres type of a field `type` of describe.
pub fn sql_type(field_type: &str) -> &'static str {
    match field_type {
        "boolean" => "boolean",
        "int" | "long" => "bigint",
        "double" | "currency" | "percent" => "numeric",
        "date" => "date",
        "datetime" => "timestamptz",
        "address" | "location" | "anyType" | "complexvalue" => "jsonb",
        _ => "text",
    }
}

fn resource(object: &str, describe: &Value) -> Resource {
    let mut columns: Vec<ResourceColumn> = Vec::new();
    for field in describe["fields"].as_array().into_iter().flatten() {
        let Some(name) = field["name"].as_str() else { continue };
        let column = super::unique_name(sql_name(name), |c| columns.iter().any(|x| x.name == c));
        let options: OptionMap =
            if column == name { OptionMap::new() } else { [("field".to_string(), name.to_string())].into() };
        columns.push(ResourceColumn {
            name: column,
            sql_type: sql_type(field["type"].as_str().unwrap_or("")).into(),
            options,
        });
    }
    let label = describe["label"].as_str().unwrap_or(object);
    Resource {
        name: sql_name(object),
        description: format!("Salesforce {label} ({object})"),
        table_options: [("object".to_string(), object.to_string())].into(),
        columns,
    }
}

/// A string literal of SOQL: quotes and backslashes escaped, control characters as escapes, so no value
/// ends the literal.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    text.chars().for_each(|c| escape(c, &mut out));
    out.push('\'');
    out
}

/// One character inside a SOQL string literal.
fn escape(c: char, out: &mut String) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\'' => out.push_str("\\'"),
        '"' => out.push_str("\\\""),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push(c),
    }
}

/// A Postgres LIKE pattern (backslash escapes, the default) as a SOQL LIKE literal: the wildcards `%` and
/// `_` kept, escaped ones as SOQL's `\%` and `\_`, every other character escaped as in [`quote`]. `None` for
/// a pattern ending in a lone backslash, which Postgres itself refuses.
fn like_literal(pattern: &str) -> Option<String> {
    let mut out = String::with_capacity(pattern.len() + 2);
    out.push('\'');
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' | '_' => out.push(c),
            '\\' => match chars.next()? {
                c @ ('%' | '_') => {
                    out.push('\\');
                    out.push(c);
                }
                c => escape(c, &mut out),
            },
            c => escape(c, &mut out),
        }
    }
    out.push('\'');
    Some(out)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Class {
    Text,
    Number,
    Bool,
    Date,
    DateTime,
    /// JSON (compound fields): no condition is sent.
    Json,
    /// Other types: only NULL tests are sent.
    Other,
}

#[derive(Clone, Debug)]
struct Column {
    name: String,
    field: String,
    class: Class,
}

impl Column {
    fn new(def: &crate::model::ColumnDef) -> Column {
        let class = match def.ty {
            ColumnType::Text => Class::Text,
            ColumnType::Int2 | ColumnType::Int4 | ColumnType::Int8 => Class::Number,
            ColumnType::Float4 | ColumnType::Float8 | ColumnType::Numeric => Class::Number,
            ColumnType::Bool => Class::Bool,
            ColumnType::Date => Class::Date,
            ColumnType::TimestampTz => Class::DateTime,
            ColumnType::Json | ColumnType::Jsonb => Class::Json,
            _ => Class::Other,
        };
        let field = def.option("field").unwrap_or(&def.name).to_string();
        Column { name: def.name.clone(), field, class }
    }

    /// The operators pushed, and how exactly.
    fn operators(&self) -> (&'static [Op], Support) {
        const NULLS: [Op; 2] = [Op::IsNull, Op::IsNotNull];
        match self.class {
            Class::Number | Class::Date | Class::DateTime => (&Op::ALL, Support::Exact),
            Class::Bool => (&[Op::Eq, Op::Ne], Support::Exact),
            Class::Json => (&[], Support::Exact),
            Class::Text | Class::Other => (&NULLS, Support::Exact),
        }
    }

    fn sortable(&self) -> bool {
        matches!(self.class, Class::Number | Class::Date | Class::DateTime)
    }

    /// A value as a SOQL literal for this column; `None` when the value cannot be one.
    fn literal(&self, value: &SqlValue) -> Option<String> {
        match (self.class, value) {
            (_, SqlValue::Null | SqlValue::List(_)) => None,
            (Class::Number, SqlValue::Int(i)) => Some(i.to_string()),
            (Class::Number, SqlValue::Float(f)) if f.is_finite() => Some(f.to_string()),
            (Class::Number, SqlValue::Numeric(n)) if n.parse::<f64>().is_ok_and(f64::is_finite) => Some(n.clone()),
            (Class::Bool, SqlValue::Bool(b)) => Some(b.to_string()),
            (Class::Date, SqlValue::Date(d)) if is_date(d) => Some(d.clone()),
            (Class::DateTime, SqlValue::TimestampTz(t)) => datetime(t).map(|(whole, _)| whole),
            (Class::Text | Class::Other, v) => Some(quote(&v.to_param())),
            _ => None,
        }
    }

    /// One pushed condition as SOQL.
    fn condition(&self, op: Op, value: &SqlValue) -> Option<String> {
        let f = &self.field;
        if let Some(holds) = non_finite_condition(op, value) {
            // NaN and infinities: no Salesforce value is one.
            return Some(if holds { format!("{f} != null") } else { NOTHING.into() });
        }
        if let (Class::DateTime, SqlValue::TimestampTz(t)) = (self.class, value) {
            if let Some((whole, false)) = datetime(t) {
                // Salesforce keeps milliseconds: a bound between two of them falls on the lower one.
                return Some(match op {
                    Op::Eq => NOTHING.into(),
                    Op::Ne => format!("{f} != null"),
                    Op::Gt | Op::Ge => format!("{f} > {whole}"),
                    Op::Lt | Op::Le => format!("{f} <= {whole}"),
                    _ => return None,
                });
            }
        }
        let sign = match op {
            Op::Eq => "=",
            Op::Ne => return Some(format!("({f} != {} AND {f} != null)", self.literal(value)?)),
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::IsNull => return Some(format!("{f} = null")),
            Op::IsNotNull => return Some(format!("{f} != null")),
            // SOQL's LIKE ignores case, so it returns a superset of LIKE's rows, and of ILIKE's where case
            // is ASCII's (other scripts may fold case differently). Otherwise, and for a pattern Postgres
            // will refuse, the superset sent is every non-null value.
            Op::Like | Op::ILike => {
                let SqlValue::Text(pattern) = value else { return None };
                return Some(match like_literal(pattern) {
                    Some(literal) if op == Op::Like || pattern.is_ascii() => format!("{f} LIKE {literal}"),
                    _ => format!("{f} != null"),
                });
            }
            Op::In => {
                let SqlValue::List(items) = value else { return None };
                let items: Vec<String> = items
                    .iter()
                    .filter(|v| **v != SqlValue::Null && non_finite_condition(Op::Eq, v).is_none())
                    .filter(|v| !matches!((self.class, v), (Class::DateTime, SqlValue::TimestampTz(t)) if datetime(t).is_some_and(|(_, exact)| !exact)))
                    .map(|v| self.literal(v))
                    .collect::<Option<_>>()?;
                return Some(if items.is_empty() { NOTHING.into() } else { format!("{f} IN ({})", items.join(", ")) });
            }
        };
        Some(format!("{f} {sign} {}", self.literal(value)?))
    }
}

fn is_date(text: &str) -> bool {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() && text.len() == 10
}

/// A `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` value as a SOQL datetime (whole seconds, or milliseconds when it has
/// a fraction), and whether that is the value exactly (false: it had a part below the millisecond, cut).
fn datetime(text: &str) -> Option<(String, bool)> {
    let body = text.strip_suffix('Z')?;
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    chrono::NaiveDateTime::parse_from_str(whole, "%Y-%m-%dT%H:%M:%S").ok().filter(|_| whole.len() == 19)?;
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        return Some((format!("{whole}Z"), true));
    }
    let ms = format!("{fraction:0<3}");
    Some((format!("{whole}.{}Z", &ms[..3]), ms.len() == 3))
}

#[derive(Clone, Debug)]
struct SfTable {
    table_name: String,
    object: String,
    api: Api,
    page_size: i64,
    batch_size: usize,
    columns: Vec<Column>,
}

impl SfTable {
    fn new(server: &ServerDef, table: &TableDef) -> Result<Self> {
        let context = super::connector_context("salesforce");
        let options = Options::new(&table.options);
        let object = options.require(Scope::Table, &context, "object")?;
        if !is_name(object) {
            return Err(Error::option_value("object", format!("\"{object}\" is not an sObject API name"))
                .with_hint("An API name has letters, digits and underscores, such as Account or Invoice__c."));
        }
        let columns: Vec<Column> = table.columns.iter().map(Column::new).collect();
        if let Some(bad) = columns.iter().find(|c| !c.field.split('.').all(is_name)) {
            return Err(Error::option_value(
                "field",
                format!("column \"{}\" names \"{}\", which is not a Salesforce field API name", bad.name, bad.field),
            ));
        }
        Ok(SfTable {
            table_name: table.name.clone(),
            object: object.to_string(),
            api: Api::of(server)?,
            page_size: super::page_size(server, table, &Salesforce)?.clamp(MIN_BATCH as u64, MAX_BATCH as u64) as i64,
            batch_size: options.int("batch_size")?.map_or(MAX_WRITE_BATCH, |n| n.clamp(1, 200) as usize),
            columns,
        })
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The one SOQL query of a scan.
    fn soql(&self, request: &ScanRequest) -> Result<String> {
        let mut fields: Vec<&str> = Vec::new();
        for column in request.columns.iter().filter_map(|&i| self.columns.get(i)) {
            if !fields.iter().any(|f| f.eq_ignore_ascii_case(&column.field)) {
                fields.push(&column.field);
            }
        }
        if fields.is_empty() {
            fields.push("Id");
        }
        let mut soql = format!("SELECT {} FROM {}", fields.join(", "), self.object);
        let conditions = request
            .quals
            .iter()
            .map(|q| {
                self.column(&q.column).and_then(|c| c.condition(q.op, &q.value)).ok_or_else(|| {
                    Error::internal(format!(
                        "condition {q} cannot be written in SOQL (foreign table \"{}\")",
                        self.table_name
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if !conditions.is_empty() {
            soql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        let keys = request
            .sorts
            .iter()
            .map(|s| {
                let field = self.column(&s.column).map(|c| c.field.as_str()).unwrap_or(&s.column);
                let direction = if s.desc { "DESC" } else { "ASC" };
                format!("{field} {direction} NULLS {}", if s.nulls_first { "FIRST" } else { "LAST" })
            })
            .collect::<Vec<_>>();
        if !keys.is_empty() {
            soql.push_str(&format!(" ORDER BY {}", keys.join(", ")));
        }
        if let Some(n) = request.limit.and_then(|l| l.rows_needed()) {
            soql.push_str(&format!(" LIMIT {n}"));
        }
        Ok(soql)
    }

    /// Salesforce's error with a hint: the object or a field it does not know, a refused query, the org's
    /// daily API requests spent.
    fn explain(&self, error: Error) -> Error {
        let detail = error.detail.clone().unwrap_or_default();
        let (table, object) = (&self.table_name, &self.object);
        let hint = if detail.contains("INVALID_TYPE") {
            format!("Salesforce has no sObject \"{object}\" the user can query: check the option object of foreign table \"{table}\", or run IMPORT FOREIGN SCHEMA.")
        } else if detail.contains("INVALID_FIELD") {
            format!("A column of foreign table \"{table}\" names a field sObject {object} does not have: check the column names and their field options (IMPORT FOREIGN SCHEMA sets them).")
        } else if detail.contains("MALFORMED_QUERY") {
            format!("Salesforce refused the SOQL made of the query on foreign table \"{table}\"; SET connector_fdw.pushdown = off filters in Postgres instead.")
        } else if detail.contains("REQUEST_LIMIT_EXCEEDED") {
            let hint = "The organization has used its API requests of the last 24 hours; Salesforce accepts more as the window moves on.";
            return Error { kind: ErrorKind::LimitExceeded, ..error }.with_hint(hint);
        } else {
            return error;
        };
        if error.hint.is_some() {
            error
        } else {
            error.with_hint(hint)
        }
    }

    /// A record as the scan reads it: one member per column, fields matched without regard to case.
    fn flatten(&self, record: &Value, columns: &[usize]) -> Value {
        let mut out = Map::new();
        for column in columns.iter().filter_map(|&i| self.columns.get(i)) {
            let value = column.field.split('.').try_fold(record, |v, part| member(v, part)).cloned();
            out.insert(column.name.clone(), value.unwrap_or(Value::Null));
        }
        Value::Object(out)
    }
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A member of an object by name, without regard to case.
fn member<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    let object = value.as_object()?;
    object.get(name).or_else(|| object.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

impl Table for SfTable {
    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::new();
        for column in &self.columns {
            let (ops, support) = column.operators();
            caps.add_filters(&column.name, ops, support);
            if column.class == Class::Text {
                // SOQL's `=`, `IN` and `LIKE` ignore case.
                caps.add_filters(&column.name, &[Op::Eq, Op::In, Op::Like, Op::ILike], Support::Superset);
            }
            if column.sortable() {
                caps.add_sortable(&column.name);
            }
        }
        caps.max_sort_keys(32).null_order(NullOrder::AsAsked).limit(false)
    }

    fn describe(&self, request: &ScanRequest) -> Vec<String> {
        match self.soql(request) {
            Ok(soql) => vec![format!("GET {}?q={soql}", self.api.shown(&["query"]))],
            Err(e) => vec![format!("(cannot build the request: {e})")],
        }
    }

    fn scan(&self, request: &ScanRequest) -> Result<Arc<dyn PageSource>> {
        let soql = self.soql(request)?;
        Ok(Arc::new(SfSource { table: self.clone(), soql, columns: request.columns.clone() }))
    }

    fn rows_per_request(&self) -> Option<u64> {
        Some(self.page_size as u64)
    }

    fn writer(&self) -> Option<Arc<dyn Writer>> {
        Some(Arc::new(SfWriter { table: self.clone() }))
    }
}

struct SfSource {
    table: SfTable,
    soql: String,
    columns: Vec<usize>,
}

#[async_trait]
impl PageSource for SfSource {
    fn paging(&self) -> Paging {
        Paging::Chained
    }

    async fn fetch(&self, http: &Http, token: PageToken, counters: &Counters) -> Result<Page> {
        let previous = match &token {
            PageToken::Next(next) => Some(next.as_str()),
            _ => None,
        };
        let api = self.table.api.url(http).await?;
        let url =
            match previous {
                // `nextRecordsUrl` is a path on the instance; anything else is not followed.
                Some(next) => api.join(next).ok().filter(|u| u.origin() == api.origin()).ok_or_else(|| {
                    Error::bad_response(format!("Salesforce named a next page off the instance: {next}"))
                })?,
                None => {
                    let mut url = join(&api, &["query"]);
                    url.query_pairs_mut().append_pair("q", &self.soql);
                    url
                }
            };
        let request = Request::get(url).header("Sforce-Query-Options", &format!("batchSize={}", self.table.page_size));
        let (response, body) = http.send_json(&request, counters).await.map_err(|e| self.table.explain(e))?;
        let records = body["records"].as_array().ok_or_else(|| {
            Error::bad_response(format!(
                "response to {} has no \"records\" (foreign table \"{}\")",
                response.request, self.table.table_name
            ))
        })?;
        let next = match (body["done"].as_bool(), body["nextRecordsUrl"].as_str()) {
            (Some(false), Some(next)) if !records.is_empty() => Some(next.to_string()),
            _ => None,
        };
        if next.is_some() && next.as_deref() == previous {
            return Err(Error::bad_response(format!("response to {} names itself as the next page", response.request)));
        }
        let records = records.iter().map(|r| self.table.flatten(r, &self.columns)).collect();
        Ok(Page { records, next, ..Page::default() })
    }
}

/// Creates, updates and deletes through sObject Collections, all or none of each request.
struct SfWriter {
    table: SfTable,
}

impl SfWriter {
    async fn url(&self, http: &Http) -> Result<Url> {
        Ok(join(&self.table.api.url(http).await?, &["composite", "sobjects"]))
    }

    /// An sObject of a flat record (one member per column), fields by their API names.
    fn sobject(&self, record: Value, id: Option<String>) -> Result<Value> {
        let Value::Object(members) = record else {
            return Err(Error::new(ErrorKind::InvalidValue, "a Salesforce record must be a JSON object"));
        };
        let mut out = Map::new();
        out.insert("attributes".into(), json!({ "type": self.table.object }));
        for (name, value) in members {
            let field = self.table.column(&name).map_or(name.clone(), |c| c.field.clone());
            if field.eq_ignore_ascii_case("Id") {
                if value.is_null() {
                    continue;
                }
                return Err(Error::new(
                    ErrorKind::InvalidValue,
                    format!(
                        "column \"{name}\" of foreign table \"{}\" is the record Id, which Salesforce sets",
                        self.table.table_name
                    ),
                ));
            }
            out.insert(field, value);
        }
        if let Some(id) = id {
            out.insert("id".into(), Value::String(id));
        }
        Ok(Value::Object(out))
    }

    fn id(key: &SqlValue) -> Result<String> {
        match key.to_param() {
            k if is_name(&k) => Ok(k),
            k if k.is_empty() => Err(Error::new(ErrorKind::InvalidValue, "the record Id is NULL or empty")),
            k => Err(Error::new(ErrorKind::InvalidValue, format!("\"{k}\" is not a Salesforce record Id"))),
        }
    }

    /// Send one collection request and check every record's result: one refused record fails the
    /// statement with Salesforce's `statusCode` and message (and, with `allOrNone`, nothing was saved).
    async fn send(&self, http: &Http, request: Request, counters: &Counters) -> Result<Vec<Value>> {
        let (response, body) = http.send_json(&request, counters).await.map_err(|e| self.table.explain(e))?;
        let results = body
            .as_array()
            .cloned()
            .ok_or_else(|| Error::bad_response(format!("response to {} is not a list of results", response.request)))?;
        let refused = results.iter().enumerate().find(|(_, r)| {
            r["success"] != Value::Bool(true)
                && r["errors"][0]["statusCode"] != Value::String("ALL_OR_NONE_OPERATION_ROLLED_BACK".into())
        });
        if let Some((i, result)) =
            refused.or_else(|| results.iter().enumerate().find(|(_, r)| r["success"] != Value::Bool(true)))
        {
            let error = &result["errors"][0];
            let code = error["statusCode"].as_str().unwrap_or("UNKNOWN_ERROR");
            let message = http.scrub(error["message"].as_str().unwrap_or(""));
            let mut e = Error::new(
                ErrorKind::Remote,
                format!(
                    "{} refused record {} of {} of foreign table \"{}\": {code}: {message}",
                    response.request,
                    i + 1,
                    results.len(),
                    self.table.table_name
                ),
            );
            if let Some(fields) = error["fields"].as_array().filter(|f| !f.is_empty()) {
                let fields: Vec<&str> = fields.iter().filter_map(Value::as_str).collect();
                e = e.with_detail(format!("fields: {}", fields.join(", ")));
            }
            return Err(e.with_hint("allOrNone is set: no record of this request was saved."));
        }
        Ok(results)
    }

    async fn patch(&self, http: &Http, rows: Vec<(SqlValue, Value)>, counters: &Counters) -> Result<Vec<Value>> {
        let records = rows
            .into_iter()
            .map(|(key, changes)| self.sobject(changes, Some(Self::id(&key)?)))
            .collect::<Result<Vec<_>>>()?;
        let body = json!({ "allOrNone": true, "records": records });
        self.send(http, Request::new(Method::PATCH, self.url(http).await?).json(body), counters).await
    }

    async fn remove(&self, http: &Http, keys: Vec<SqlValue>, counters: &Counters) -> Result<Vec<Value>> {
        let ids = keys.iter().map(Self::id).collect::<Result<Vec<_>>>()?;
        let mut url = self.url(http).await?;
        url.query_pairs_mut().append_pair("ids", &ids.join(",")).append_pair("allOrNone", "true");
        self.send(http, Request::new(Method::DELETE, url), counters).await
    }
}

#[async_trait]
impl Writer for SfWriter {
    fn batch_size(&self) -> usize {
        self.table.batch_size
    }

    fn key_column(&self) -> &str {
        self.table.columns.iter().find(|c| c.field.eq_ignore_ascii_case("Id")).map_or("id", |c| c.name.as_str())
    }

    fn describe(&self, op: WriteOp) -> String {
        let url = self.table.api.shown(&["composite", "sobjects"]);
        match op {
            WriteOp::Insert => format!("POST {url}"),
            WriteOp::Update => format!("PATCH {url}"),
            WriteOp::Delete => format!("DELETE {url}?ids={{key}}&allOrNone=true"),
        }
    }

    async fn insert(&self, http: &Http, records: Vec<Value>, counters: &Counters) -> Result<Vec<Value>> {
        let mut answers = Vec::with_capacity(records.len());
        for chunk in records.chunks(self.table.batch_size) {
            let objects = chunk.iter().map(|r| self.sobject(r.clone(), None)).collect::<Result<Vec<_>>>()?;
            let body = json!({ "allOrNone": true, "records": objects });
            let results =
                self.send(http, Request::new(Method::POST, self.url(http).await?).json(body), counters).await?;
            // Salesforce answers the new Ids: RETURNING sees the row as sent, with its Id.
            for (record, result) in chunk.iter().zip(results) {
                let mut answered = record.clone();
                if let Value::Object(members) = &mut answered {
                    members.insert(self.key_column().to_string(), result["id"].clone());
                }
                answers.push(answered);
            }
        }
        Ok(answers)
    }

    async fn update(&self, http: &Http, key: &SqlValue, changes: Value, counters: &Counters) -> Result<Value> {
        self.patch(http, vec![(key.clone(), changes)], counters).await?;
        Ok(Value::Null)
    }

    async fn delete(&self, http: &Http, key: &SqlValue, counters: &Counters) -> Result<Value> {
        self.remove(http, vec![key.clone()], counters).await?;
        Ok(Value::Null)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn column(field: &str, class: Class) -> Column {
        Column { name: field.to_lowercase(), field: field.into(), class }
    }

    #[test]
    fn strings_are_escaped_never_ended() {
        assert_eq!(quote(r"O'Brien \ Co"), r"'O\'Brien \\ Co'");
        assert_eq!(quote("a\nb\t\"c\"\u{1}"), r#"'a\nb\t\"c\"\u0001'"#);
    }

    #[test]
    fn conditions_are_soql() {
        let amount = column("AnnualRevenue", Class::Number);
        let name = column("Name", Class::Text);
        let created = column("CreatedDate", Class::DateTime);
        let day = column("CloseDate", Class::Date);
        let n = |s: &str| SqlValue::Numeric(s.into());
        assert_eq!(amount.condition(Op::Ne, &n("5")).unwrap(), "(AnnualRevenue != 5 AND AnnualRevenue != null)");
        assert_eq!(amount.condition(Op::Ge, &n("NaN")).unwrap(), "Id = null");
        assert_eq!(amount.condition(Op::Lt, &n("NaN")).unwrap(), "AnnualRevenue != null");
        assert_eq!(name.condition(Op::Eq, &SqlValue::Text("it's".into())).unwrap(), r"Name = 'it\'s'");
        assert_eq!(name.condition(Op::IsNull, &SqlValue::Null).unwrap(), "Name = null");
        let list = SqlValue::List(vec![SqlValue::Text("a".into()), SqlValue::Null]);
        assert_eq!(name.condition(Op::In, &list).unwrap(), "Name IN ('a')");
        assert_eq!(name.condition(Op::In, &SqlValue::List(vec![SqlValue::Null])).unwrap(), "Id = null");
        let at = |s: &str| SqlValue::TimestampTz(s.into());
        assert_eq!(
            created.condition(Op::Gt, &at("2024-01-31T10:00:00Z")).unwrap(),
            "CreatedDate > 2024-01-31T10:00:00Z"
        );
        assert_eq!(
            created.condition(Op::Le, &at("2024-01-31T10:00:00.25Z")).unwrap(),
            "CreatedDate <= 2024-01-31T10:00:00.250Z"
        );
        assert_eq!(
            created.condition(Op::Ge, &at("2024-01-31T10:00:00.2501Z")).unwrap(),
            "CreatedDate > 2024-01-31T10:00:00.250Z"
        );
        assert_eq!(created.condition(Op::Eq, &at("2024-01-31T10:00:00.2501Z")).unwrap(), "Id = null");
        assert_eq!(day.condition(Op::Eq, &SqlValue::Date("2024-01-31".into())).unwrap(), "CloseDate = 2024-01-31");
        let like = |op: Op, p: &str| name.condition(op, &SqlValue::Text(p.into())).unwrap();
        assert_eq!(like(Op::Like, "Ac%me_"), "Name LIKE 'Ac%me_'");
        // Escaped wildcards stay literal, a quote cannot end the literal, an escaped backslash stays one.
        assert_eq!(like(Op::Like, r"100\%\_x' OR Id != null"), r"Name LIKE '100\%\_x\' OR Id != null'");
        assert_eq!(like(Op::Like, r"a\\%"), r"Name LIKE 'a\\%'");
        assert_eq!(like(Op::Like, r"\a"), "Name LIKE 'a'");
        assert_eq!(like(Op::Like, "a\\"), "Name != null", "Postgres refuses a trailing escape");
        assert_eq!(like(Op::ILike, "acme%"), "Name LIKE 'acme%'");
        assert_eq!(like(Op::ILike, "ı%"), "Name != null", "case folding outside ASCII may differ");
        assert_eq!(day.condition(Op::Eq, &SqlValue::Date("0044-03-15 BC".into())), None);
        assert_eq!(sql_name("CreatedDate"), "created_date");
        assert_eq!(sql_name("Region__c"), "region__c");
        assert_eq!(sql_name("BillingAddress2"), "billing_address2");
    }
}
