//! Google Sheets (API v4): one foreign table per sheet (tab) of a spreadsheet, its first row the header.
//!
//! A scan first reads the sheet's size (`GET /v4/spreadsheets/{id}`) and its header row (`GET
//! …/values/{range}`), then the data rows in blocks of `page_size` rows, until the sheet's last row; a
//! pushed LIMIT shrinks the block. Which rows are records must not depend on the query, so by default a
//! block is read across all the header's columns (A1 ranges like `'Orders'!A2:E1001`) and entirely empty
//! rows are not records. With the table option `required_column`, a row is a record exactly when that
//! column's cell is filled, so a block reads only the columns the query uses plus that one
//! (`…/values:batchGet`, a range per run of adjacent columns, `majorDimension=COLUMNS`). A column reads
//! the cells under the header its option `header` names (default: the column's name; matched exactly,
//! else ignoring case); `row_number` is the row's number in the sheet. INSERT appends rows
//! (`…/values/{range}:append`), UPDATE sets the changed cells of a row by its `row_number`
//! (`…/values:batchUpdate`); DELETE is refused, as deleting a row renumbers the rows after it. Discovery lists the sheets (`GET /v4/spreadsheets/{id}`) and reads their first two rows
//! (`…/values:batchGet`) for column names and types.

use super::airtable::column_name;
use super::{base_url, page_size, Connector, Defaults, Resource, ResourceColumn, ServerDef, Table};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Counters, Http, Request};
use crate::model::{ColumnType, ScanRequest, TableDef, Value as SqlValue};
use crate::options::{OptionMap, OptionSpec, Options, Scope};
use crate::pushdown::Capabilities;
use crate::scan::{Page, PageSource, PageToken, Paging};
use crate::write::{WriteOp, Writer};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use tokio::sync::OnceCell;
use url::Url;

pub struct GoogleSheets;

const VALUE_RENDERS: [&str; 2] = ["UNFORMATTED_VALUE", "FORMATTED_VALUE"];

impl Connector for GoogleSheets {
    fn name(&self) -> &str {
        "google_sheets"
    }

    fn description(&self) -> &str {
        "Google Sheets: a sheet or A1 range with a header row; append and update; sheets of a spreadsheet."
    }

    fn defaults(&self) -> Defaults {
        let options: OptionMap = [
            ("token_url", "https://oauth2.googleapis.com/token"),
            ("authorize_url", "https://accounts.google.com/o/oauth2/v2/auth"),
            ("scopes", "https://www.googleapis.com/auth/spreadsheets"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        // Sheets allows 60 read requests a minute per user.
        Defaults {
            base_url: Some("https://sheets.googleapis.com/v4"),
            auth: "oauth2",
            max_concurrency: 1,
            rate_limit: Some(1.0),
            page_size: 1000,
            retry_after: None,
            options,
        }
    }

    fn server_options(&self) -> Vec<OptionSpec> {
        vec![OptionSpec::text("spreadsheet_id")]
    }

    fn table_options(&self) -> Vec<OptionSpec> {
        vec![
            OptionSpec::text("spreadsheet_id"),
            OptionSpec::text("sheet"),
            OptionSpec::text("range"),
            OptionSpec::text("required_column"),
            OptionSpec::one_of("value_render", &VALUE_RENDERS),
            OptionSpec::int("page_size", 1, 100_000),
            OptionSpec::int("batch_size", 1, 10_000),
        ]
    }

    fn column_options(&self) -> Vec<OptionSpec> {
        vec![OptionSpec::text("header")]
    }

    fn open(&self, server: &ServerDef, table: &TableDef) -> Result<Arc<dyn Table>> {
        Ok(Arc::new(SheetTable::new(server, table)?))
    }

    fn resources<'a>(
        &'a self,
        server: &'a ServerDef,
        http: &'a Http,
    ) -> futures::future::BoxFuture<'a, Result<Vec<Resource>>> {
        Box::pin(async move {
            let id = server.option("spreadsheet_id").filter(|s| !s.is_empty()).ok_or_else(|| {
                crate::options::missing_option(
                    Scope::Server,
                    &super::connector_context("google_sheets"),
                    "spreadsheet_id",
                )
                .with_hint("Discovery lists the sheets of one spreadsheet: set the server option spreadsheet_id.")
            })?;
            let base = base_url(server, self)?;
            let counters = Counters::default();
            let sheets = sheet_properties(http, &base, id, &counters).await.map_err(|e| {
                if e.hint.is_none() && (e.kind == ErrorKind::NotFound || e.message.contains("HTTP 403")) {
                    let hint = format!("Spreadsheet \"{id}\" (server option spreadsheet_id) does not exist or is not shared with this account.");
                    e.with_hint(hint)
                } else {
                    e
                }
            })?;
            if sheets.is_empty() {
                return Ok(Vec::new());
            }
            let mut url = base.clone();
            segments(&mut url, &["spreadsheets", id, "values:batchGet"]);
            {
                let mut query = url.query_pairs_mut();
                for (title, _, _) in &sheets {
                    query.append_pair("ranges", &format!("{}!1:2", quote_sheet(title)));
                }
                query.append_pair("valueRenderOption", "UNFORMATTED_VALUE");
                query.append_pair("dateTimeRenderOption", "FORMATTED_STRING");
            }
            let (_, body) = http.send_json(&Request::get(url), &counters).await?;
            let ranges = body["valueRanges"].as_array().cloned().unwrap_or_default();
            let mut resources: Vec<Resource> = Vec::new();
            for ((title, _, _), range) in sheets.iter().zip(ranges.iter().chain(std::iter::repeat(&Value::Null))) {
                let rows = range["values"].as_array().cloned().unwrap_or_default();
                let header = rows.first().and_then(Value::as_array).cloned().unwrap_or_default();
                let sample = rows.get(1).and_then(Value::as_array).cloned().unwrap_or_default();
                let mut columns = vec![ResourceColumn {
                    name: "row_number".into(),
                    sql_type: "bigint".into(),
                    options: OptionMap::new(),
                }];
                for (i, name) in header.iter().enumerate() {
                    let name = crate::convert::into_text(name.clone());
                    if name.is_empty() {
                        continue;
                    }
                    let column = super::unique_name(column_name(&name), |c| columns.iter().any(|o| o.name == c));
                    let sql_type = match sample.get(i) {
                        Some(Value::Number(_)) => "numeric",
                        Some(Value::Bool(_)) => "boolean",
                        _ => "text",
                    };
                    columns.push(ResourceColumn {
                        name: column,
                        sql_type: sql_type.into(),
                        options: [("header".to_string(), name)].into(),
                    });
                }
                let name = super::unique_name(column_name(title), |n| resources.iter().any(|r| r.name == n));
                resources.push(Resource {
                    name,
                    description: format!("sheet {title}"),
                    table_options: [("sheet".to_string(), title.clone())].into(),
                    columns,
                });
            }
            Ok(resources)
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

/// A sheet's title as A1 notation wants it: in single quotes, its own quotes doubled.
pub fn quote_sheet(title: &str) -> String {
    format!("'{}'", title.replace('\'', "''"))
}

/// Column letters for a 0-based column index: 0 is A, 25 Z, 26 AA.
pub fn letters(mut index: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The 0-based index of column letters.
fn column_index(letters: &str) -> Option<usize> {
    if letters.is_empty() || !letters.bytes().all(|b| b.is_ascii_alphabetic()) || letters.len() > 3 {
        return None;
    }
    Some(letters.bytes().fold(0usize, |n, b| n * 26 + (b.to_ascii_uppercase() - b'A' + 1) as usize) - 1)
}

/// `C3` → (2, Some(3)); `C` → (2, None).
fn cell(text: &str) -> Option<(usize, Option<usize>)> {
    let split = text.find(|c: char| c.is_ascii_digit()).unwrap_or(text.len());
    let (col, row) = text.split_at(split);
    let row = if row.is_empty() { None } else { Some(row.parse::<usize>().ok().filter(|r| *r >= 1)?) };
    Some((column_index(col)?, row))
}

/// The index of the column the option `required_column` names: one that reads a header's cells.
fn required_column(columns: &[(String, Source)], name: &str, table: &str) -> Result<usize> {
    let readable: Vec<&str> =
        columns.iter().filter(|(_, s)| *s != Source::RowNumber).map(|(n, _)| n.as_str()).collect();
    let hint = format!(
        "Name the column whose cell every record fills, such as an id or an email; the columns are: {}.",
        readable.join(", ")
    );
    match columns.iter().position(|(n, _)| n == name) {
        Some(i) if columns[i].1 != Source::RowNumber => Ok(i),
        Some(_) => Err(Error::option_value(
            "required_column",
            format!("column \"{name}\" of foreign table \"{table}\" is the row's number, never empty"),
        )
        .with_hint(hint)),
        None => {
            Err(Error::option_value("required_column", format!("foreign table \"{table}\" has no column \"{name}\""))
                .with_hint(hint))
        }
    }
}

/// Ascending column indexes as runs of adjacent ones: (first, last) each.
fn runs(columns: &[usize]) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &column in columns {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == column => *last = column,
            _ => runs.push((column, column)),
        }
    }
    runs
}

fn empty_cell(cell: &Value) -> bool {
    cell.is_null() || cell.as_str() == Some("")
}

/// Where a table's data lies: the header row, and the columns and rows below it.
#[derive(Clone, Debug, PartialEq)]
struct Area {
    first_col: usize,
    last_col: Option<usize>,
    header_row: usize,
    last_row: Option<usize>,
}

impl Area {
    /// The `range` option: `B3:F`, `B3:F200` (the first row is the header).
    fn parse(range: Option<&str>) -> Result<Area> {
        let Some(range) = range.filter(|r| !r.is_empty()) else {
            return Ok(Area { first_col: 0, last_col: None, header_row: 1, last_row: None });
        };
        let bad = || {
            Error::option_value(
                "range",
                format!("\"{range}\" is not an A1 range like 'B3:F' or 'A1:D200' (the sheet is the option sheet)"),
            )
        };
        let (from, to) = range.split_once(':').ok_or_else(bad)?;
        let (first_col, header_row) = cell(from).ok_or_else(bad)?;
        let (last_col, last_row) = cell(to).ok_or_else(bad)?;
        if last_col < first_col || last_row.is_some_and(|r| r <= header_row.unwrap_or(1)) {
            return Err(bad());
        }
        Ok(Area { first_col, last_col: Some(last_col), header_row: header_row.unwrap_or(1), last_row })
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Source {
    RowNumber,
    Header(String),
}

/// A sheet's parsed options.
#[derive(Clone, Debug)]
struct SheetTable {
    table_name: String,
    /// `…/v4`.
    base: Url,
    spreadsheet_id: String,
    sheet: String,
    area: Area,
    value_render: String,
    page_size: u64,
    batch_size: usize,
    columns: Vec<(String, Source)>,
    /// Whether each column is written as text, which Sheets must not parse (see [`SheetWriter::cell_value`]).
    text: Vec<bool>,
    /// The column (index into `columns`) whose filled cell makes a row a record (option `required_column`).
    required: Option<usize>,
}

/// (title, row count, column count) of each sheet of a spreadsheet.
async fn sheet_properties(
    http: &Http,
    base: &Url,
    id: &str,
    counters: &Counters,
) -> Result<Vec<(String, usize, usize)>> {
    let mut url = base.clone();
    segments(&mut url, &["spreadsheets", id]);
    url.query_pairs_mut().append_pair("fields", "sheets.properties");
    let (_, body) = http.send_json(&Request::get(url), counters).await?;
    Ok(body["sheets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let p = &s["properties"];
            let grid = &p["gridProperties"];
            Some((
                p["title"].as_str()?.to_string(),
                grid["rowCount"].as_u64().unwrap_or(0) as usize,
                grid["columnCount"].as_u64().unwrap_or(0) as usize,
            ))
        })
        .collect())
}

/// What a scan or a write learns from the sheet before it reads: the header's columns and the last row.
#[derive(Clone, Debug)]
struct Layout {
    /// Absolute 0-based column of each table column (None for `row_number`).
    positions: Vec<Option<usize>>,
    first_col: usize,
    last_col: usize,
    last_row: usize,
}

impl SheetTable {
    fn new(server: &ServerDef, table: &TableDef) -> Result<Self> {
        let context = super::connector_context("google_sheets");
        let options = Options::new(&table.options);
        let spreadsheet_id =
            options.get("spreadsheet_id").or(server.option("spreadsheet_id")).filter(|s| !s.is_empty()).ok_or_else(
                || {
                    crate::options::missing_option(Scope::Table, &context, "spreadsheet_id")
                        .with_hint("Set spreadsheet_id on the foreign table or on its server.")
                },
            )?;
        let sheet = options.require(Scope::Table, &context, "sheet")?.to_string();
        let mut columns = Vec::new();
        let mut text = Vec::new();
        for column in &table.columns {
            if column.option("path").is_some() {
                return Err(Error::new(
                    ErrorKind::InvalidOptionValue,
                    format!(
                        "column \"{}\": option \"path\" does not apply to connector \"google_sheets\"",
                        column.name
                    ),
                )
                .with_hint("Name the column's header with the column option header."));
            }
            let source = match (column.option("header"), column.name.as_str()) {
                (Some(header), _) => Source::Header(header.to_string()),
                (None, "row_number") => Source::RowNumber,
                (None, name) => Source::Header(name.to_string()),
            };
            columns.push((column.name.clone(), source));
            text.push(written_as_text(&column.ty));
        }
        let required =
            options.get("required_column").map(|name| required_column(&columns, name, &table.name)).transpose()?;
        Ok(SheetTable {
            table_name: table.name.clone(),
            base: base_url(server, &GoogleSheets)?,
            spreadsheet_id: spreadsheet_id.to_string(),
            sheet,
            area: Area::parse(options.get("range"))?,
            value_render: options.get("value_render").unwrap_or("UNFORMATTED_VALUE").to_string(),
            page_size: page_size(server, table, &GoogleSheets)?,
            batch_size: options.int("batch_size")?.map_or(500, |n| n.max(1) as usize),
            columns,
            text,
            required,
        })
    }

    fn values_url(&self, range: &str, suffix: &str) -> Url {
        let mut url = self.base.clone();
        segments(&mut url, &["spreadsheets", &self.spreadsheet_id, "values", &format!("{range}{suffix}")]);
        url
    }

    fn a1(&self, first_col: usize, first_row: usize, last_col: usize, last_row: usize) -> String {
        format!("{}!{}{first_row}:{}{last_row}", quote_sheet(&self.sheet), letters(first_col), letters(last_col))
    }

    fn read_url(&self, range: &str) -> Url {
        let mut url = self.values_url(range, "");
        url.query_pairs_mut()
            .append_pair("majorDimension", "ROWS")
            .append_pair("valueRenderOption", &self.value_render)
            .append_pair("dateTimeRenderOption", "FORMATTED_STRING");
        url
    }

    fn batch_get_url(&self) -> Url {
        let mut url = self.base.clone();
        segments(&mut url, &["spreadsheets", &self.spreadsheet_id, "values:batchGet"]);
        url
    }

    /// Read the sheet's size and header row, and place every column.
    async fn layout(&self, http: &Http, counters: &Counters) -> Result<Layout> {
        let sheets = sheet_properties(http, &self.base, &self.spreadsheet_id, counters).await.map_err(|e| match e.kind {
            _ if e.hint.is_none() && (e.kind == ErrorKind::NotFound || e.message.contains("HTTP 403")) => {
                let hint = format!(
                    "Spreadsheet \"{}\" (option spreadsheet_id of foreign table \"{}\" or its server) does not exist or is not shared with this account.",
                    self.spreadsheet_id, self.table_name
                );
                e.with_hint(hint)
            }
            _ => e,
        })?;
        let Some((_, rows, cols)) = sheets.iter().find(|(t, _, _)| *t == self.sheet) else {
            let titles: Vec<&str> = sheets.iter().map(|(t, _, _)| t.as_str()).collect();
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "spreadsheet {} has no sheet \"{}\" (foreign table \"{}\")",
                    self.spreadsheet_id, self.sheet, self.table_name
                ),
            )
            .with_hint(format!("Its sheets are: {}.", titles.join(", "))));
        };
        let last_col = self.area.last_col.unwrap_or(cols.saturating_sub(1)).max(self.area.first_col);
        let last_row = self.area.last_row.unwrap_or(*rows).min(*rows);
        let header_range = self.a1(self.area.first_col, self.area.header_row, last_col, self.area.header_row);
        let (_, body) = http.send_json(&Request::get(self.read_url(&header_range)), counters).await?;
        let header: Vec<String> =
            body["values"][0].as_array().into_iter().flatten().map(|v| crate::convert::into_text(v.clone())).collect();
        let row = self.area.header_row;
        let cell_name = |i: usize| format!("{}{row}", letters(self.area.first_col + i));
        if header.iter().all(String::is_empty) {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "sheet \"{}\" has no header row: {}:{} is empty (foreign table \"{}\")",
                    self.sheet,
                    cell_name(0),
                    cell_name(last_col - self.area.first_col),
                    self.table_name
                ),
            )
            .with_hint("Put the column names in that row, or set the table option range to where the header lies (for example 'B3:F')."));
        }
        let mut positions = Vec::new();
        for (name, source) in &self.columns {
            positions.push(match source {
                Source::RowNumber => None,
                Source::Header(wanted) => {
                    let exact: Vec<usize> = (0..header.len()).filter(|&i| header[i] == *wanted).collect();
                    let matches = if exact.is_empty() {
                        (0..header.len()).filter(|&i| header[i].to_lowercase() == wanted.to_lowercase()).collect()
                    } else {
                        exact
                    };
                    if matches.len() > 1 {
                        let cells: Vec<String> = matches.iter().map(|&i| cell_name(i)).collect();
                        return Err(Error::new(
                            ErrorKind::InvalidValue,
                            format!(
                                "column \"{name}\" of foreign table \"{}\": sheet \"{}\" has the header \"{wanted}\" {} times in row {row} ({})",
                                self.table_name,
                                self.sheet,
                                matches.len(),
                                cells.join(", ")
                            ),
                        )
                        .with_hint("Rename all but one of them in the sheet, or set the table option range to leave the others out."));
                    }
                    let Some(&found) = matches.first() else {
                        let width = header.iter().rposition(|h| !h.is_empty()).map_or(0, |i| i + 1);
                        let empty: Vec<String> = (0..width).filter(|&i| header[i].is_empty()).map(cell_name).collect();
                        let mut hint = format!(
                            "Its headers are: {}.",
                            header.iter().filter(|h| !h.is_empty()).cloned().collect::<Vec<_>>().join(", ")
                        );
                        if !empty.is_empty() {
                            hint.push_str(&format!(
                                " {} {} empty: name the column in the sheet to read it.",
                                empty.join(", "),
                                if empty.len() == 1 { "is" } else { "are" }
                            ));
                        }
                        return Err(Error::new(
                            ErrorKind::NotFound,
                            format!(
                                "column \"{name}\" of foreign table \"{}\": sheet \"{}\" has no header \"{wanted}\" in row {row}",
                                self.table_name, self.sheet
                            ),
                        )
                        .with_hint(hint));
                    };
                    Some(self.area.first_col + found)
                }
            });
        }
        // Rows are read across the header's columns, so whether a row is empty does not depend on the
        // columns a query reads.
        let width = header.iter().rposition(|h| !h.is_empty()).map_or(1, |i| i + 1);
        Ok(Layout { positions, first_col: self.area.first_col, last_col: self.area.first_col + width - 1, last_row })
    }

    /// A sheet row as a record of the table's columns; `cell` gives the row's cell in an absolute column.
    fn record<'a>(&self, layout: &Layout, row_number: usize, cell: impl Fn(usize) -> Option<&'a Value>) -> Value {
        let mut out = Map::new();
        for ((name, _), position) in self.columns.iter().zip(&layout.positions) {
            let value = match position {
                None => json!(row_number),
                Some(col) => match cell(*col) {
                    Some(Value::String(s)) if s.is_empty() => Value::Null,
                    Some(v) => v.clone(),
                    None => Value::Null,
                },
            };
            out.insert(name.clone(), value);
        }
        Value::Object(out)
    }
}

impl Table for SheetTable {
    fn capabilities(&self) -> Capabilities {
        // The values API filters and sorts nothing; a LIMIT shrinks the block of rows read.
        Capabilities::new().max_sort_keys(0).limit(false)
    }

    fn describe(&self, request: &ScanRequest) -> Vec<String> {
        // The last column and row are known once the sheet's size and header are read.
        let block = self.block(request) as usize;
        let (first, header) = (letters(self.area.first_col), self.area.header_row);
        let last = self.area.last_col.map_or("…".to_string(), letters);
        let values = redact_url(&self.values_url("", ""), None);
        vec![
            format!(
                "GET {}?fields=sheets.properties",
                redact_url(
                    &{
                        let mut u = self.base.clone();
                        segments(&mut u, &["spreadsheets", &self.spreadsheet_id]);
                        u
                    },
                    None
                )
            ),
            format!("GET {values}{}!{first}{header}:{last}{header}", quote_sheet(&self.sheet)),
            match self.required {
                None => format!(
                    "GET {values}{}!{first}{}:{last}{} (then blocks of {block} rows)",
                    quote_sheet(&self.sheet),
                    header + 1,
                    header + block
                ),
                Some(required) => {
                    let read: Vec<&str> = (0..self.columns.len())
                        .filter(|i| {
                            *i == required || (request.columns.contains(i) && self.columns[*i].1 != Source::RowNumber)
                        })
                        .map(|i| self.columns[i].0.as_str())
                        .collect();
                    format!(
                        "GET {}?majorDimension=COLUMNS (rows {}:{} of the columns of {}; then blocks of {block} rows)",
                        redact_url(&self.batch_get_url(), None),
                        header + 1,
                        header + block,
                        read.join(", ")
                    )
                }
            },
        ]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Arc<dyn PageSource>> {
        Ok(Arc::new(SheetSource {
            table: self.clone(),
            block: self.block(request),
            used: request.columns.clone(),
            layout: OnceCell::new(),
        }))
    }

    fn writer(&self) -> Option<Arc<dyn Writer>> {
        Some(Arc::new(SheetWriter { table: self.clone(), layout: OnceCell::new() }))
    }
}

impl SheetTable {
    fn block(&self, request: &ScanRequest) -> u64 {
        request.limit.and_then(|l| l.rows_needed()).map_or(self.page_size, |n| self.page_size.min(n.max(1)))
    }
}

struct SheetSource {
    table: SheetTable,
    block: u64,
    /// The columns the query uses (indexes into the table's columns).
    used: Vec<usize>,
    layout: OnceCell<Layout>,
}

impl SheetSource {
    /// Rows `start..=end` across the header's columns; entirely empty rows are not records.
    async fn whole_rows(
        &self,
        http: &Http,
        layout: &Layout,
        start: usize,
        end: usize,
        counters: &Counters,
    ) -> Result<Vec<Value>> {
        let range = self.table.a1(layout.first_col, start, layout.last_col, end);
        let (_, body) = http.send_json(&Request::get(self.table.read_url(&range)), counters).await?;
        Ok(body["values"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, row)| {
                let cells = row.as_array()?;
                (!cells.iter().all(empty_cell))
                    .then(|| self.table.record(layout, start + i, |col| cells.get(col - layout.first_col)))
            })
            .collect())
    }

    /// Rows `start..=end`, reading only the used columns and the required one (`required_col`, absolute),
    /// in one `values:batchGet` with a range per run of adjacent columns; rows whose required cell is
    /// empty are not records.
    async fn rows_by_required(
        &self,
        http: &Http,
        layout: &Layout,
        required_col: usize,
        start: usize,
        end: usize,
        counters: &Counters,
    ) -> Result<Vec<Value>> {
        let mut read: Vec<usize> = self
            .used
            .iter()
            .filter_map(|&i| layout.positions.get(i).copied().flatten())
            .chain([required_col])
            .collect();
        read.sort_unstable();
        read.dedup();
        let runs = runs(&read);
        let mut url = self.table.batch_get_url();
        {
            let mut query = url.query_pairs_mut();
            for &(first, last) in &runs {
                query.append_pair("ranges", &self.table.a1(first, start, last, end));
            }
            query
                .append_pair("majorDimension", "COLUMNS")
                .append_pair("valueRenderOption", &self.table.value_render)
                .append_pair("dateTimeRenderOption", "FORMATTED_STRING");
        }
        let (_, body) = http.send_json(&Request::get(url), counters).await?;
        let ranges = body["valueRanges"].as_array().map(Vec::as_slice).unwrap_or_default();
        if ranges.len() != runs.len() {
            return Err(Error::bad_response(format!(
                "values:batchGet answered {} ranges for the {} asked (sheet \"{}\")",
                ranges.len(),
                runs.len(),
                self.table.sheet
            )));
        }
        // The cells of each column read (by its place in `read`) from row `start` on; Sheets leaves out
        // trailing empty cells and columns.
        let mut cells_of: Vec<&[Value]> = vec![&[]; read.len()];
        for (&(first, _), range) in runs.iter().zip(ranges) {
            for (offset, cells) in range["values"].as_array().into_iter().flatten().enumerate() {
                if let (Ok(k), Some(cells)) = (read.binary_search(&(first + offset)), cells.as_array()) {
                    cells_of[k] = cells;
                }
            }
        }
        let cell = |col: usize, i: usize| read.binary_search(&col).ok().and_then(|k| cells_of[k].get(i));
        Ok((0..=end - start)
            .filter(|&i| cell(required_col, i).is_some_and(|c| !empty_cell(c)))
            .map(|i| self.table.record(layout, start + i, |col| cell(col, i)))
            .collect())
    }
}

#[async_trait]
impl PageSource for SheetSource {
    fn paging(&self) -> Paging {
        Paging::Chained
    }

    async fn fetch(&self, http: &Http, token: PageToken, counters: &Counters) -> Result<Page> {
        let layout = self.layout.get_or_try_init(|| self.table.layout(http, counters)).await?;
        let start = match &token {
            PageToken::Next(row) => {
                row.parse::<usize>().map_err(|_| Error::internal(format!("bad row token {row}")))?
            }
            _ => self.table.area.header_row + 1,
        };
        if start > layout.last_row {
            return Ok(Page::default());
        }
        let end = (start + self.block as usize - 1).min(layout.last_row);
        let records = match self.table.required {
            None => self.whole_rows(http, layout, start, end, counters).await?,
            Some(required) => {
                // A column that reads a header (as option checks made sure) has a place in the sheet.
                let required_col =
                    layout.positions[required].ok_or_else(|| Error::internal("the required column has no place"))?;
                self.rows_by_required(http, layout, required_col, start, end, counters).await?
            }
        };
        let next = (end < layout.last_row).then(|| (end + 1).to_string());
        Ok(Page { records, next, ..Page::default() })
    }
}

/// Appends rows; sets the changed cells of a row by its number.
struct SheetWriter {
    table: SheetTable,
    layout: OnceCell<Layout>,
}

impl SheetWriter {
    /// A cell as written with `valueInputOption=USER_ENTERED`, so numbers, booleans and dates keep their
    /// types: text of a text column gets a leading `'`, which makes Sheets keep it as text (`'007` stays
    /// `007`, `'=1+1` is not a formula: no formula injection) and reads back without the `'`.
    fn cell_value(value: Value, text: bool) -> Value {
        let value = match value {
            Value::Null => return json!(""),
            Value::Array(_) | Value::Object(_) => Value::String(value.to_string()),
            other => other,
        };
        match value {
            Value::String(s) if text && !s.is_empty() => Value::String(format!("'{s}")),
            other => other,
        }
    }
}

/// Whether a column of this type holds text, which Sheets must store as given; numbers, booleans, dates
/// and timestamps are left to Sheets' parsing, which gives them their types.
fn written_as_text(ty: &ColumnType) -> bool {
    !matches!(
        ty,
        ColumnType::Int2
            | ColumnType::Int4
            | ColumnType::Int8
            | ColumnType::Float4
            | ColumnType::Float8
            | ColumnType::Numeric
            | ColumnType::Bool
            | ColumnType::Date
            | ColumnType::Timestamp
            | ColumnType::TimestampTz
    )
}

#[async_trait]
impl Writer for SheetWriter {
    fn batch_size(&self) -> usize {
        self.table.batch_size
    }

    fn key_column(&self) -> &str {
        self.table.columns.iter().find(|(_, s)| *s == Source::RowNumber).map_or("row_number", |(n, _)| n.as_str())
    }

    fn describe(&self, op: WriteOp) -> String {
        let values = format!(
            "{}/spreadsheets/{}/values",
            redact_url(&self.table.base, None).trim_end_matches('/'),
            self.table.spreadsheet_id
        );
        match op {
            WriteOp::Insert => format!("POST {values}/{}!…:append", quote_sheet(&self.table.sheet)),
            WriteOp::Update => format!("POST {values}:batchUpdate"),
            WriteOp::Delete => "(not supported)".to_string(),
        }
    }

    async fn insert(&self, http: &Http, records: Vec<Value>, counters: &Counters) -> Result<Vec<Value>> {
        let layout = self.layout.get_or_try_init(|| self.table.layout(http, counters)).await?;
        let width = layout.last_col - layout.first_col + 1;
        let mut rows = Vec::with_capacity(records.len());
        for record in &records {
            let mut row = vec![json!(""); width];
            for (((name, source), position), text) in
                self.table.columns.iter().zip(&layout.positions).zip(&self.table.text)
            {
                let value = record.get(name).cloned().unwrap_or(Value::Null);
                match (source, position) {
                    (Source::Header(_), Some(col)) if *col <= layout.last_col => {
                        row[col - layout.first_col] = Self::cell_value(value, *text)
                    }
                    (Source::RowNumber, _) if value.is_null() => {}
                    _ => {
                        return Err(Error::new(
                            ErrorKind::InvalidValue,
                            format!(
                                "column \"{name}\" of foreign table \"{}\" cannot be written",
                                self.table.table_name
                            ),
                        ))
                    }
                }
            }
            rows.push(Value::Array(row));
        }
        let range =
            self.table.a1(layout.first_col, self.table.area.header_row, layout.last_col, self.table.area.header_row);
        let mut url = self.table.values_url(&range, ":append");
        url.query_pairs_mut()
            .append_pair("valueInputOption", "USER_ENTERED")
            .append_pair("insertDataOption", "INSERT_ROWS");
        let body = json!({ "majorDimension": "ROWS", "values": rows });
        let (_, answer) = http.send_json(&Request::new(Method::POST, url).json(body), counters).await?;
        // `updates.updatedRange` ('Orders'!A32:E33) tells the rows the records landed in.
        let first_row = answer["updates"]["updatedRange"]
            .as_str()
            .and_then(|r| r.rsplit_once('!'))
            .and_then(|(_, cells)| cell(cells.split(':').next()?))
            .and_then(|(_, row)| row);
        Ok(records
            .into_iter()
            .enumerate()
            .map(|(i, mut record)| {
                if let (Some(first), Some((name, _))) =
                    (first_row, self.table.columns.iter().find(|(_, s)| *s == Source::RowNumber))
                {
                    record[name.as_str()] = json!(first + i);
                }
                record
            })
            .collect())
    }

    async fn update(&self, http: &Http, key: &SqlValue, changes: Value, counters: &Counters) -> Result<Value> {
        let layout = self.layout.get_or_try_init(|| self.table.layout(http, counters)).await?;
        let row: usize = key.to_param().parse().ok().filter(|r| *r > self.table.area.header_row).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidValue,
                format!("\"{}\" is not a data row number of sheet \"{}\"", key.to_param(), self.table.sheet),
            )
        })?;
        let Value::Object(members) = changes else { return Err(Error::internal("changes must be an object")) };
        let mut data = Vec::new();
        for (name, value) in members {
            let Some(i) = self.table.columns.iter().position(|(n, _)| *n == name) else { continue };
            match layout.positions[i] {
                Some(col) => data.push(json!({
                    "range": self.table.a1(col, row, col, row),
                    "values": [[Self::cell_value(value, self.table.text[i])]],
                })),
                None => {
                    return Err(Error::new(
                        ErrorKind::InvalidValue,
                        format!("column \"{name}\" is the row's number and cannot be changed"),
                    ))
                }
            }
        }
        let mut url = self.table.base.clone();
        segments(&mut url, &["spreadsheets", &self.table.spreadsheet_id, "values:batchUpdate"]);
        let body = json!({ "valueInputOption": "USER_ENTERED", "data": data });
        http.send_json(&Request::new(Method::POST, url).json(body), counters).await?;
        Ok(Value::Null)
    }

    async fn delete(&self, _http: &Http, _key: &SqlValue, _counters: &Counters) -> Result<Value> {
        Err(Error::not_supported(format!(
            "rows of foreign table \"{}\" cannot be deleted: deleting a sheet row renumbers the rows after it",
            self.table.table_name
        )))
    }
}

#[cfg(test)]
mod tests;
