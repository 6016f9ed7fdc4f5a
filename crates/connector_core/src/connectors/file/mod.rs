//! The file connector: CSV, JSON and NDJSON from a file on the database server or an http(s) URL, the way
//! file_fdw reads files.
//!
//! Records stream: a scan parses one page at a time on a blocking thread and keeps only the open parser
//! between pages, so memory holds about a page whatever the size of the source, and a LIMIT stops reading
//! early. Records are JSON objects for the columns' JSONPaths: CSV fields keyed by the header's names (or,
//! without a header, by the table's columns in order) as unconverted text; JSON array elements and NDJSON
//! lines as they are.

mod directory;

use super::{page_size, Connector, Defaults, Discovery, Resource, ServerDef, Table};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Counters, Http, Request};
use crate::model::{ScanRequest, TableDef};
use crate::options::{Kind, OptionSpec, Options};
use crate::pushdown::Capabilities;
use crate::scan::{Page, PageSource, PageToken, Paging};
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::io::{StreamReader, SyncIoBridge};
use url::Url;

pub struct File;

const FORMATS: [&str; 3] = ["csv", "json", "ndjson"];

/// Options only the CSV format reads.
const CSV_OPTIONS: [&str; 4] = ["header", "delimiter", "quote", "null"];

impl Connector for File {
    fn name(&self) -> &str {
        "file"
    }

    fn description(&self) -> &str {
        "CSV, JSON and NDJSON files, on the database server or at a URL."
    }

    fn defaults(&self) -> Defaults {
        Defaults { page_size: 1000, ..Defaults::default() }
    }

    /// A server needs no `base_url`: tables name their own file or URL.
    fn uses_http(&self) -> bool {
        false
    }

    fn reads_server_files(&self, table: &TableDef) -> bool {
        table.option("path").is_some()
    }

    fn server_options(&self) -> Vec<OptionSpec> {
        vec![OptionSpec::new("directory", Kind::AbsolutePath)]
    }

    /// `IMPORT FOREIGN SCHEMA "/srv/exports"`: an absolute path names the directory to import.
    fn import_scope(&self, server: &ServerDef, remote_schema: &str) -> ServerDef {
        let mut scoped = server.clone();
        if remote_schema.starts_with('/') {
            scoped.options.insert("directory".into(), remote_schema.into());
        }
        scoped
    }

    fn lists_server_files(&self, _server: &ServerDef) -> bool {
        true
    }

    fn resources<'a>(
        &'a self,
        server: &'a ServerDef,
        http: &'a Http,
    ) -> futures::future::BoxFuture<'a, Result<Vec<Resource>>> {
        Box::pin(async move { Ok(self.discover(server, http).await?.resources) })
    }

    fn discover<'a>(
        &'a self,
        server: &'a ServerDef,
        _http: &'a Http,
    ) -> futures::future::BoxFuture<'a, Result<Discovery>> {
        let directory = server.option("directory").map(str::to_string);
        Box::pin(async move {
            let directory = directory.ok_or_else(|| {
                crate::options::missing_option(crate::options::Scope::Server, &super::connector_context("file"), "directory")
                    .with_hint("Name the directory to import: IMPORT FOREIGN SCHEMA \"/path/to/dir\" FROM SERVER …, or set the server option directory.")
            })?;
            tokio::task::spawn_blocking(move || directory::discover(&directory))
                .await
                .map_err(|e| Error::internal(format!("directory discovery stopped: {e}")))?
        })
    }

    fn table_options(&self) -> Vec<OptionSpec> {
        vec![
            OptionSpec::text("path"),
            OptionSpec::new("url", Kind::Url),
            OptionSpec::one_of("format", &FORMATS),
            OptionSpec::new("header", Kind::Bool),
            OptionSpec::text("delimiter"),
            OptionSpec::text("quote"),
            OptionSpec::text("null"),
            OptionSpec::int("page_size", 1, 100_000),
        ]
    }

    fn open(&self, server: &ServerDef, table: &TableDef) -> Result<Arc<dyn Table>> {
        Ok(Arc::new(FileTable::new(server, table)?))
    }
}

#[derive(Clone, Debug)]
enum Location {
    Path(PathBuf),
    Url(Url),
}

#[derive(Clone, Debug)]
struct CsvOptions {
    header: bool,
    delimiter: u8,
    quote: u8,
    /// Unquoted fields with this text are NULL.
    null: String,
}

#[derive(Clone, Debug)]
enum Format {
    Csv(CsvOptions),
    Json,
    Ndjson,
}

impl Format {
    fn name(&self) -> &'static str {
        match self {
            Format::Csv(_) => "CSV",
            Format::Json => "JSON",
            Format::Ndjson => "NDJSON",
        }
    }
}

/// A file table's parsed options.
#[derive(Clone, Debug)]
struct FileTable {
    table_name: String,
    location: Location,
    /// The source as messages show it: `file "/data/x.csv"` or `URL https://…` (redacted).
    label: String,
    format: Format,
    columns: Vec<String>,
    page_size: u64,
}

impl FileTable {
    fn new(server: &ServerDef, table: &TableDef) -> Result<Self> {
        let options = Options::new(&table.options);
        let location = match (options.get("path"), options.get("url")) {
            (Some(path), None) => Location::Path(PathBuf::from(path)),
            (None, Some(url)) => Location::Url(parse_url(url)?),
            (Some(_), Some(_)) => {
                return Err(Error::new(
                    ErrorKind::InvalidOptionName,
                    format!("foreign table \"{}\" has both options \"path\" and \"url\"", table.name),
                )
                .with_hint("Keep \"path\" for a file on the database server or \"url\" for an http(s) download."))
            }
            (None, None) => {
                return Err(Error::new(
                    ErrorKind::MissingOption,
                    format!(
                        "option \"path\" or \"url\" is required for a foreign table {}",
                        super::connector_context("file")
                    ),
                ))
            }
        };
        let format_name = options.get("format").unwrap_or_else(|| inferred_format(&location));
        let format = match format_name {
            "csv" => Format::Csv(csv_options(&options)?),
            "json" => Format::Json,
            "ndjson" => Format::Ndjson,
            other => {
                return Err(Error::option_value("format", format!("\"{other}\" is not one of: {}", FORMATS.join(", "))))
            }
        };
        if !matches!(format, Format::Csv(_)) {
            if let Some(name) = CSV_OPTIONS.iter().find(|name| options.get(name).is_some()) {
                return Err(Error::new(
                    ErrorKind::InvalidOptionName,
                    format!(
                        "option \"{name}\" applies to format csv only, but foreign table \"{}\" reads {format_name}",
                        table.name
                    ),
                ));
            }
        }
        let label = match &location {
            Location::Path(path) => format!("file \"{}\"", path.display()),
            Location::Url(url) => format!("URL {}", redact_url(url, None)),
        };
        Ok(FileTable {
            table_name: table.name.clone(),
            location,
            label,
            format,
            columns: table.columns.iter().map(|c| c.name.clone()).collect(),
            page_size: page_size(server, table, &File)?,
        })
    }

    /// Read up to `size` records, opening the source first for the first page. Runs on a blocking thread.
    /// Returns the records and the body bytes received since the previous page.
    fn read_page(
        &self,
        state: &Mutex<Option<Reader>>,
        opening: Option<Opening>,
        size: usize,
    ) -> Result<(Vec<Value>, u64)> {
        let mut state =
            state.lock().map_err(|_| Error::internal(format!("the reader of {} failed earlier", self.label)))?;
        match opening {
            Some(Opening::File(path)) => {
                let file = std::fs::File::open(path).map_err(|e| self.io_error("open", e))?;
                *state = Some(Reader { records: self.parser(Box::new(file)), received: None, counted: 0 });
            }
            Some(Opening::Stream(body, received)) => {
                *state = Some(Reader { records: self.parser(body), received: Some(received), counted: 0 });
            }
            None => {}
        }
        let reader = state
            .as_mut()
            .ok_or_else(|| Error::internal(format!("a page of {} was asked for before the first", self.label)))?;
        let mut records = Vec::with_capacity(size);
        while records.len() < size {
            match reader.records.next_record().map_err(|e| self.read_error(e))? {
                Some(record) => records.push(record),
                None => break,
            }
        }
        let received = reader.received.as_ref().map_or(0, |r| r.load(Ordering::Relaxed));
        let new_bytes = received - std::mem::replace(&mut reader.counted, received);
        Ok((records, new_bytes))
    }

    fn parser(&self, input: Box<dyn Read + Send>) -> Box<dyn Records> {
        let input = BufReader::with_capacity(64 * 1024, input);
        match &self.format {
            Format::Csv(options) => Box::new(CsvRecords::new(input, options.clone(), &self.columns)),
            Format::Json => Box::new(JsonArray::new(input)),
            Format::Ndjson => Box::new(Ndjson::new(input)),
        }
    }

    /// An I/O error opening or reading the source.
    fn io_error(&self, doing: &str, e: io::Error) -> Error {
        // A download that stopped for a reason of its own (a body over max_response_bytes) keeps its kind.
        if let Some(inner) = e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
            let message =
                format!("cannot {doing} {} of foreign table \"{}\": {}", self.label, self.table_name, inner.message);
            return Error { message, ..inner.clone() };
        }
        let kind = match (&self.location, e.kind()) {
            (Location::Url(_), _) => ErrorKind::Connection,
            (Location::Path(_), io::ErrorKind::NotFound) => ErrorKind::FileNotFound,
            (Location::Path(_), io::ErrorKind::PermissionDenied) => ErrorKind::InsufficientPrivilege,
            // Other failures (a directory, a disk error) have no kind of their own: the generic FDW error.
            (Location::Path(_), _) => ErrorKind::Remote,
        };
        Error::new(kind, format!("cannot {doing} {} of foreign table \"{}\": {e}", self.label, self.table_name))
    }

    fn read_error(&self, e: ReadError) -> Error {
        match e {
            ReadError::Io(e) => self.io_error("read", e),
            ReadError::Format(problem) => Error::new(
                ErrorKind::BadFileFormat,
                format!(
                    "invalid {} in {} of foreign table \"{}\", {problem}",
                    self.format.name(),
                    self.label,
                    self.table_name
                ),
            ),
        }
    }
}

/// The format a source's extension names: .json, .ndjson or .jsonl, else CSV.
fn inferred_format(location: &Location) -> &'static str {
    let path = match location {
        Location::Path(path) => path.as_path(),
        Location::Url(url) => Path::new(url.path()),
    };
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("json") => "json",
        Some("ndjson" | "jsonl") => "ndjson",
        _ => "csv",
    }
}

fn parse_url(text: &str) -> Result<Url> {
    crate::options::check_value(&OptionSpec::new("url", Kind::Url), text)?;
    Url::parse(text).map_err(|e| Error::option_value("url", e))
}

fn csv_options(options: &Options) -> Result<CsvOptions> {
    let delimiter = one_byte(options, "delimiter", b',')?;
    let quote = one_byte(options, "quote", b'"')?;
    if delimiter == quote {
        return Err(Error::option_value("quote", "it must differ from the delimiter"));
    }
    Ok(CsvOptions {
        header: options.bool("header")?.unwrap_or(true),
        delimiter,
        quote,
        null: options.get("null").unwrap_or("").to_string(),
    })
}

/// A one-character option. The parser splits bytes, so the character must be one byte (as COPY requires).
fn one_byte(options: &Options, name: &str, default: u8) -> Result<u8> {
    let Some(value) = options.get(name) else { return Ok(default) };
    match value.as_bytes() {
        [b] if b.is_ascii() && !matches!(b, b'\n' | b'\r') => Ok(*b),
        _ => Err(Error::option_value(name, format!("\"{value}\" is not a single one-byte character"))),
    }
}

impl Table for FileTable {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new().limit(false)
    }

    fn describe(&self, _request: &ScanRequest) -> Vec<String> {
        let format = match &self.format {
            Format::Csv(options) if options.header => "csv, header",
            Format::Csv(_) => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
        };
        vec![match &self.location {
            Location::Path(path) => format!("read file {} ({format})", path.display()),
            Location::Url(url) => format!("GET {} ({format})", redact_url(url, None)),
        }]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Arc<dyn PageSource>> {
        // A pushed LIMIT shrinks the page, so a small LIMIT parses no more than it returns.
        let size = request.limit.and_then(|l| l.rows_needed()).map_or(self.page_size, |n| n.clamp(1, self.page_size));
        Ok(Arc::new(FileSource { table: Arc::new(self.clone()), page_size: size as usize, state: Arc::default() }))
    }
}

struct FileSource {
    table: Arc<FileTable>,
    page_size: usize,
    /// The open parser, from the first page on; the mutex hands it to each page's blocking thread.
    state: Arc<Mutex<Option<Reader>>>,
}

/// What a scan keeps between pages.
struct Reader {
    records: Box<dyn Records>,
    /// URL sources: body bytes received so far, and how many of them the scan's counters have been told.
    received: Option<Arc<AtomicU64>>,
    counted: u64,
}

/// How the first page gets its input.
enum Opening {
    File(PathBuf),
    Stream(Box<dyn Read + Send>, Arc<AtomicU64>),
}

#[async_trait]
impl PageSource for FileSource {
    fn paging(&self) -> Paging {
        Paging::Chained
    }

    async fn fetch(&self, http: &Http, token: PageToken, counters: &Counters) -> Result<Page> {
        let opening = match (&token, &self.table.location) {
            (PageToken::First, Location::Path(path)) => Some(Opening::File(path.clone())),
            (PageToken::First, Location::Url(url)) => {
                let download = http.download(&Request::get(url.clone()), counters).await.map_err(|e| Error {
                    message: format!(
                        "cannot read {} of foreign table \"{}\": {}",
                        self.table.label, self.table.table_name, e.message
                    ),
                    ..e
                })?;
                // The bridge lets the blocking parser read the async body; it keeps this runtime's handle.
                let body = SyncIoBridge::new(StreamReader::new(download.body));
                Some(Opening::Stream(Box::new(body), download.received))
            }
            _ => None,
        };
        let (table, state, size) = (self.table.clone(), self.state.clone(), self.page_size);
        let (records, new_bytes) =
            tokio::task::spawn_blocking(move || table.read_page(&state, opening, size))
                .await
                .map_err(|e| Error::internal(format!("reading {} failed: {e}", self.table.label)))??;
        counters.bytes.fetch_add(new_bytes, Ordering::Relaxed);
        // A full page may be the last one; the next fetch then finds the end and returns none.
        let next = (records.len() == size).then(|| "more".to_string());
        Ok(Page { records, next, ..Page::default() })
    }
}

/// Why the next record could not be read; `FileTable::read_error` names the table and source.
#[derive(Debug)]
enum ReadError {
    Io(io::Error),
    /// Malformed input: where (line, record) and what.
    Format(String),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// A parser that yields its source's records one at a time.
trait Records: Send {
    fn next_record(&mut self) -> Result<Option<Value>, ReadError>;
}

/// One CSV field as read: quoted text is never NULL, as in PostgreSQL's CSV format.
#[derive(Default)]
struct Field {
    text: Vec<u8>,
    quoted: bool,
}

/// CSV as PostgreSQL reads it: quotes may span lines and are doubled inside quotes; every record has as
/// many fields as the first (the header, when there is one). Blank lines are skipped.
struct CsvRecords<R> {
    input: R,
    options: CsvOptions,
    /// The field names: the header's once read, or the table's columns.
    keys: Vec<String>,
    header_pending: bool,
    /// The field count every record must have, once known.
    width: Option<usize>,
    /// Lines read so far.
    line: u64,
    buf: Vec<u8>,
}

impl<R: BufRead + Send> CsvRecords<R> {
    fn new(input: R, options: CsvOptions, columns: &[String]) -> Self {
        let header_pending = options.header;
        let keys = if header_pending { Vec::new() } else { columns.to_vec() };
        CsvRecords { input, options, keys, header_pending, width: None, line: 0, buf: Vec::new() }
    }

    /// The next record's fields and the line it starts on; `None` at the end.
    fn read_fields(&mut self) -> Result<Option<(Vec<Field>, u64)>, ReadError> {
        loop {
            self.buf.clear();
            if self.input.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(None);
            }
            self.line += 1;
            if !self.buf.iter().all(|b| matches!(b, b'\n' | b'\r')) {
                break;
            }
        }
        let (start, quote, delimiter) = (self.line, self.options.quote, self.options.delimiter);
        let mut fields = Vec::new();
        let mut field = Field::default();
        let mut in_quotes = false;
        let mut i = 0;
        loop {
            while let Some(&b) = self.buf.get(i) {
                i += 1;
                if in_quotes {
                    if b != quote {
                        field.text.push(b);
                    } else if self.buf.get(i) == Some(&quote) {
                        field.text.push(b);
                        i += 1;
                    } else {
                        in_quotes = false;
                    }
                } else if b == quote {
                    in_quotes = true;
                    field.quoted = true;
                } else if b == delimiter {
                    fields.push(std::mem::take(&mut field));
                } else if !(b == b'\n' || (b == b'\r' && matches!(self.buf.get(i), Some(b'\n') | None))) {
                    field.text.push(b);
                }
            }
            if !in_quotes {
                break;
            }
            // The quoted field goes on in the next line, appended to the buffer.
            if self.input.read_until(b'\n', &mut self.buf)? == 0 {
                return Err(ReadError::Format(format!(
                    "line {start}: a quoted field is not closed before the end of the file"
                )));
            }
            self.line += 1;
        }
        fields.push(field);
        Ok(Some((fields, start)))
    }
}

fn utf8(bytes: Vec<u8>, line: u64) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| ReadError::Format(format!("line {line}: invalid UTF-8 ({})", e.utf8_error())))
}

impl<R: BufRead + Send> Records for CsvRecords<R> {
    fn next_record(&mut self) -> Result<Option<Value>, ReadError> {
        if self.header_pending {
            let Some((fields, line)) = self.read_fields()? else { return Ok(None) };
            for (i, field) in fields.into_iter().enumerate() {
                let name = utf8(field.text, line)?;
                if name.is_empty() {
                    return Err(ReadError::Format(format!(
                        "line {line}: the header has an empty name (field {})",
                        i + 1
                    )));
                }
                if self.keys.contains(&name) {
                    return Err(ReadError::Format(format!("line {line}: the header names \"{name}\" twice")));
                }
                self.keys.push(name);
            }
            self.width = Some(self.keys.len());
            self.header_pending = false;
        }
        let Some((fields, line)) = self.read_fields()? else { return Ok(None) };
        let width = *self.width.get_or_insert(fields.len());
        if fields.len() != width {
            return Err(ReadError::Format(format!("line {line}: expected {width} fields, found {}", fields.len())));
        }
        // Without a header, fields beyond the table's columns are dropped here.
        let mut record = Map::with_capacity(self.keys.len());
        for (key, field) in self.keys.iter().zip(fields) {
            let quoted = field.quoted;
            let text = utf8(field.text, line)?;
            let value = if !quoted && text == self.options.null { Value::Null } else { Value::String(text) };
            record.insert(key.clone(), value);
        }
        Ok(Some(Value::Object(record)))
    }
}

enum ArrayState {
    Start,
    Items,
    Done,
}

/// A top-level JSON array, read element by element: each element's bytes are found by tracking strings
/// and nesting, then parsed alone, so memory holds one record however long the array.
struct JsonArray<R> {
    input: R,
    state: ArrayState,
    /// The line the input is at (from 1).
    line: u64,
    records: u64,
}

impl<R: BufRead + Send> JsonArray<R> {
    fn new(input: R) -> Self {
        JsonArray { input, state: ArrayState::Start, line: 1, records: 0 }
    }

    /// Skip whitespace; the next byte (not consumed), `None` at the end.
    fn skip_whitespace(&mut self) -> io::Result<Option<u8>> {
        loop {
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                return Ok(None);
            }
            let next = chunk.iter().position(|b| !b.is_ascii_whitespace());
            let skipped = next.unwrap_or(chunk.len());
            let found = next.map(|i| chunk[i]);
            self.line += chunk[..skipped].iter().filter(|b| **b == b'\n').count() as u64;
            self.input.consume(skipped);
            if found.is_some() {
                return Ok(found);
            }
        }
    }

    /// The bytes of the next element, the line they start on, and whether the array ends after it.
    fn element(&mut self) -> Result<(Vec<u8>, u64, bool), ReadError> {
        let start = self.line;
        let mut bytes = Vec::new();
        let (mut depth, mut in_string, mut escaped) = (0u64, false, false);
        loop {
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                return Err(ReadError::Format(format!(
                    "line {}: the file ends inside the array (no closing ']')",
                    self.line
                )));
            }
            let mut end = None;
            for (i, &b) in chunk.iter().enumerate() {
                if b == b'\n' {
                    self.line += 1;
                }
                if in_string {
                    match b {
                        _ if escaped => escaped = false,
                        b'\\' => escaped = true,
                        b'"' => in_string = false,
                        _ => {}
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b',' | b']' if depth == 0 => {
                        end = Some((i, b == b']'));
                        break;
                    }
                    // Unbalanced closers are left for the parser to report.
                    b'}' | b']' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            let used = end.map_or(chunk.len(), |(i, _)| i);
            bytes.extend_from_slice(&chunk[..used]);
            match end {
                Some((_, last)) => {
                    self.input.consume(used + 1);
                    return Ok((bytes, start, last));
                }
                None => self.input.consume(used),
            }
        }
    }

    /// Only whitespace may follow the closing bracket.
    fn end(&mut self) -> Result<(), ReadError> {
        self.state = ArrayState::Done;
        match self.skip_whitespace()? {
            None => Ok(()),
            Some(_) => Err(ReadError::Format(format!("line {}: unexpected data after the array", self.line))),
        }
    }
}

impl<R: BufRead + Send> Records for JsonArray<R> {
    fn next_record(&mut self) -> Result<Option<Value>, ReadError> {
        match self.state {
            ArrayState::Done => return Ok(None),
            ArrayState::Items => {}
            ArrayState::Start => {
                match self.skip_whitespace()? {
                    Some(b'[') => self.input.consume(1),
                    Some(other) => {
                        return Err(ReadError::Format(format!(
                        "line {}: expected an array of records, found '{}' (format ndjson reads one value per line)",
                        self.line,
                        char::from(other)
                    )))
                    }
                    None => return Err(ReadError::Format("expected an array of records, found an empty file".into())),
                }
                if self.skip_whitespace()? == Some(b']') {
                    self.input.consume(1);
                    self.end()?;
                    return Ok(None);
                }
                self.state = ArrayState::Items;
            }
        }
        let (bytes, line, last) = self.element()?;
        self.records += 1;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ReadError::Format(format!("record {} (line {line}): expected a value", self.records)));
        }
        let record = serde_json::from_slice(&bytes).map_err(|e| {
            let at = line + (e.line() as u64).saturating_sub(1);
            ReadError::Format(format!("record {} (line {at}): {}", self.records, json_problem(&e)))
        })?;
        if last {
            self.end()?;
        }
        Ok(Some(record))
    }
}

/// One JSON value per line; blank lines are skipped.
struct Ndjson<R> {
    input: R,
    line: u64,
    buf: Vec<u8>,
}

impl<R: BufRead + Send> Ndjson<R> {
    fn new(input: R) -> Self {
        Ndjson { input, line: 0, buf: Vec::new() }
    }
}

impl<R: BufRead + Send> Records for Ndjson<R> {
    fn next_record(&mut self) -> Result<Option<Value>, ReadError> {
        loop {
            self.buf.clear();
            if self.input.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(None);
            }
            self.line += 1;
            if !self.buf.iter().all(u8::is_ascii_whitespace) {
                return serde_json::from_slice(&self.buf)
                    .map(Some)
                    .map_err(|e| ReadError::Format(format!("line {}: {}", self.line, json_problem(&e))));
            }
        }
    }
}

/// serde_json's message without its position, which counts from the record, not the file.
fn json_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&position).unwrap_or(&text).to_string()
}

#[cfg(test)]
mod tests;
