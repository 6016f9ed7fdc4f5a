//! Property-based fuzz tests: no input a DBA, a file or a provider can produce makes connector_core panic.
//!
//! A panic in a backend must reach Postgres as an ERROR at worst, never as a crash; on the scan's workers a
//! panic is caught and turned into an `Internal` error, so for scans "no panic" means "no error of kind
//! Internal". Each property also checks what the output must be where that is known (ranges, round trips,
//! agreement with a reference), so a test that swallowed everything would still fail.
//!
//! Run: `cargo test -p connector_core --test fuzz` (add `--release` for speed). `PROPTEST_CASES=N` sets the
//! number of cases of every property.

#[path = "fuzz/gen.rs"]
mod gen;
#[path = "fuzz/server.rs"]
mod server;
#[path = "fuzz/support.rs"]
mod support;

use connector_core::connectors::{self, ServerDef};
use connector_core::convert::{convert, date_to_iso, into_text, timestamp_to_iso, Cell};
use connector_core::jsonpath::JsonPath;
use connector_core::model::{ColumnDef, ColumnType, Limit, Qual, ScanRequest, Sort, TableDef};
use connector_core::options::{self, Kind, OptionMap, OptionSpec, Scope};
use connector_core::registry;
use connector_core::scan::{Projector, Scan, ScanSettings};
use connector_core::{ErrorKind, Result};
use gen::*;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Value};
use server::{Canned, Framing};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use support::{config, drain, map, runtime};

/// The options `scope` ("server", "table", "column" or "user") of `connector` declares.
fn specs(scope: &str, connector: &str) -> &'static [OptionSpec] {
    static SPECS: OnceLock<BTreeMap<String, Vec<OptionSpec>>> = OnceLock::new();
    let all = SPECS.get_or_init(|| {
        let mut all = BTreeMap::new();
        for c in registry::builtin() {
            all.insert(format!("server {}", c.name()), connectors::server_option_specs(c.as_ref()));
            all.insert(format!("table {}", c.name()), connectors::table_option_specs(c.as_ref()));
            all.insert(format!("column {}", c.name()), connectors::column_option_specs(c.as_ref()));
        }
        all.insert("user".to_string(), connectors::user_mapping_options());
        all
    });
    let key = if scope == "user" { scope.to_string() } else { format!("{scope} {connector}") };
    &all[&key]
}

/// The text between the first pair of double quotes of an error message: the option or column it names.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('"')? + 1;
    let len = message[start..].find('"')?;
    Some(&message[start..start + len])
}

fn is_option_error(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::InvalidOptionName | ErrorKind::InvalidOptionValue | ErrorKind::MissingOption)
}

/// Validate, open and scan a table of `server` reading every column.
fn scan_table(server: &ServerDef, table: &TableDef, settings: ScanSettings) -> Result<Vec<Vec<Cell>>> {
    connectors::validate_server(server)?;
    connectors::validate_table(server, table)?;
    let connector = connectors::for_server(server)?;
    let opened = connector.open(server, table)?;
    let request =
        ScanRequest { columns: (0..table.columns.len()).collect(), quals: vec![], sorts: vec![], limit: None };
    let http = Arc::new(connectors::http_client(server, &OptionMap::new(), None)?);
    let projector = Arc::new(Projector::new(table, &request.columns)?);
    drain(Scan::start(runtime().handle(), http, opened.scan(&request)?, projector, settings))
}

// ---------------------------------------------------------------------------------------------------------
// 1. Options
// ---------------------------------------------------------------------------------------------------------

fn connector_name() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(Some("rest".to_string())),
        3 => Just(Some("file".to_string())),
        1 => Just(None),
        1 => "[a-z]{0,6}".prop_map(Some),
    ]
}

const COLUMN_NAMES: [&str; 6] = ["id", "name", "a", "b", "data", "x y"];

fn column_name() -> impl Strategy<Value = String> {
    prop::sample::select(COLUMN_NAMES.to_vec()).prop_map(str::to_string)
}

fn scan_request() -> impl Strategy<Value = ScanRequest> {
    let qual = (column_name(), op(), sql_value()).prop_map(|(column, op, value)| Qual { column, op, value });
    let sort = (column_name(), any::<bool>(), any::<bool>()).prop_map(|(column, desc, nulls_first)| Sort {
        column,
        desc,
        nulls_first,
    });
    let limit = (prop::option::of(any::<u64>()), prop_oneof![Just(0u64), any::<u64>()])
        .prop_map(|(count, offset)| Limit { count, offset });
    (prop::collection::vec(qual, 0..4), prop::collection::vec(sort, 0..3), prop::option::of(limit))
        .prop_map(|(quals, sorts, limit)| ScanRequest { columns: vec![], quals, sorts, limit })
}

proptest! {
    #![proptest_config(config(2000))]

    /// Any server options: validation answers with an option error naming the right option, and a server
    /// that passes always yields HTTP settings and a client (the options are used as validated).
    #[test]
    fn server_options_validate_without_panic(
        (connector, pairs) in connector_name().prop_flat_map(|c| {
            // An unknown or missing connector is checked against the REST connector's names.
            let declared = specs("server", if c.as_deref() == Some("file") { "file" } else { "rest" });
            (Just(c), options(declared, 6))
        }),
        base_url in prop::option::of(prop_oneof![Just("http://127.0.0.1:1/v1".to_string()), option_value()]),
        user in options(specs("user", ""), 4),
    ) {
        let mut given: OptionMap = pairs.into_iter().collect();
        given.extend(connector.map(|c| ("connector".to_string(), c)));
        given.extend(base_url.map(|u| ("base_url".to_string(), u)));
        let server = ServerDef { name: "s".into(), options: given.clone() };
        match connectors::validate_server(&server) {
            Err(e) => {
                prop_assert!(is_option_error(e.kind), "{e:?}");
                let named = quoted(&e.message).unwrap_or_default();
                match e.kind {
                    ErrorKind::InvalidOptionName => {
                        let declared = connectors::server_option_specs(connectors::for_server(&server).unwrap().as_ref());
                        prop_assert!(given.contains_key(named) && !declared.iter().any(|s| s.name == named), "{e:?}");
                    }
                    ErrorKind::InvalidOptionValue => prop_assert!(given.contains_key(named), "{e:?}"),
                    _ => prop_assert!(!given.contains_key(named), "{e:?}"),
                }
            }
            Ok(()) => {
                let connector = connectors::for_server(&server).unwrap();
                let specs = connectors::server_option_specs(connector.as_ref());
                for (name, value) in &given {
                    let spec = specs.iter().find(|s| &s.name == name);
                    prop_assert!(spec.is_some(), "undeclared option {name:?} passed");
                    prop_assert!(options::check_value(spec.unwrap(), value).is_ok());
                }
                prop_assert!(connectors::http_settings(&server, connector.as_ref()).is_ok());
                // OAuth 2.0 servers get their token provider from the FDW layer, which this test does not
                // build; the client is checked for every other kind of auth.
                if server.option("auth") == Some("oauth2") {
                    return Ok(());
                }
                // Without credentials only an auth that needs one may fail.
                if let Err(e) = connectors::http_client(&server, &OptionMap::new(), None) {
                    prop_assert_eq!(e.kind, ErrorKind::Authorization, "{:?}", e);
                }
                // The user mapping is validated on its own scope first, as CREATE USER MAPPING does.
                let user: OptionMap = user.into_iter().collect();
                if options::validate(Scope::UserMapping, "", &user, &connectors::user_mapping_options()).is_ok() {
                    if let Err(e) = connectors::http_client(&server, &user, None) {
                        // Only a missing credential may stop a validated server.
                        prop_assert_eq!(e.kind, ErrorKind::Authorization, "{:?}", e);
                    }
                }
            }
        }
    }

    /// Any table and column options for "rest" and "file": an option error, or a table that opens, plans
    /// (EXPLAIN) and starts a scan for any request.
    #[test]
    fn table_options_validate_without_panic(
        (connector, pairs, columns) in prop::sample::select(vec!["rest", "file"]).prop_flat_map(|c| (
            Just(c),
            options(specs("table", c), 6),
            prop::collection::btree_map(column_name(), (column_type(), options(specs("column", c), 3)), 0..4),
        )),
        // The option that names the source is required and mostly present, so validation goes past it.
        location in prop::option::of(prop::sample::select(vec![("path", "/r"), ("path", "/data/x.csv"), ("path", "/x.json"), ("url", "https://h/x.ndjson")])),
        request in scan_request(),
    ) {
        let server = match connector {
            "rest" => ServerDef { name: "s".into(), options: map(&[("connector", "rest"), ("base_url", "http://127.0.0.1:1/v1")]) },
            _ => ServerDef { name: "s".into(), options: map(&[("connector", "file")]) },
        };
        let mut given: OptionMap = pairs.into_iter().collect();
        if let Some((name, value)) = location {
            given.entry(name.to_string()).or_insert(value.to_string());
        }
        let columns: Vec<ColumnDef> = columns
            .into_iter()
            .map(|(name, (ty, options))| ColumnDef { name, ty, options: options.into_iter().collect() })
            .collect();
        let table = TableDef { name: "t".into(), options: given.clone(), columns };
        match connectors::validate_table(&server, &table) {
            Err(e) => prop_assert!(is_option_error(e.kind), "{e:?}"),
            Ok(()) => {
                let c = connectors::for_server(&server).unwrap();
                prop_assert!(given.keys().all(|k| connectors::table_option_specs(c.as_ref()).iter().any(|s| &s.name == k)));
                let opened = c.open(&server, &table).unwrap();
                prop_assert!(!opened.describe(&request).is_empty());
                prop_assert!(opened.scan(&request).is_ok());
                let _ = opened.capabilities();
            }
        }
    }

    /// Integer options take exactly the integers of their range; positive numbers are finite and > 0.
    #[test]
    fn option_values_are_checked_by_kind(
        bounds in (any::<i64>(), any::<i64>()),
        value in prop_oneof![option_value(), any::<i64>().prop_map(|n| n.to_string()), (-5i64..5).prop_map(|n| format!(" {n}"))],
    ) {
        let (min, max) = (bounds.0.min(bounds.1), bounds.0.max(bounds.1));
        let spec = OptionSpec::int("n", min, max);
        let in_range = value.trim().parse::<i64>().is_ok_and(|n| (min..=max).contains(&n));
        let checked = options::check_value(&spec, &value);
        prop_assert_eq!(checked.is_ok(), in_range, "{:?}", checked);
        if let Err(e) = checked {
            prop_assert_eq!(e.kind, ErrorKind::InvalidOptionValue);
            prop_assert!(e.message.starts_with("invalid value for option \"n\""));
        }
        let rate = options::check_value(&OptionSpec::new("rate", options::RATE_LIMIT), &value).is_ok();
        prop_assert_eq!(rate, value.trim().parse::<f64>().is_ok_and(|f| (0.001..=1_000_000.0).contains(&f)));
        for kind in [Kind::Bool, Kind::Url, Kind::JsonPath, Kind::OneOf(vec!["a", "b"]), Kind::Text, Kind::Secret] {
            let _ = options::check_value(&OptionSpec::new("k", kind), &value);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// 2. Conversion
// ---------------------------------------------------------------------------------------------------------

fn int_range(ty: &ColumnType) -> Option<(i64, i64)> {
    match ty {
        ColumnType::Int2 => Some((i16::MIN.into(), i16::MAX.into())),
        ColumnType::Int4 => Some((i32::MIN.into(), i32::MAX.into())),
        ColumnType::Int8 => Some((i64::MIN, i64::MAX)),
        _ => None,
    }
}

/// What must hold of one conversion; returns the reason it does not.
fn check_conversion(value: &Value, ty: &ColumnType) -> std::result::Result<(), TestCaseError> {
    let result = convert(value.clone(), ty);
    if value.is_null() {
        prop_assert_eq!(result, Ok(Cell::Null));
        return Ok(());
    }
    let cell = match result {
        Ok(cell) => cell,
        Err(e) => {
            let expected: &[ErrorKind] = match ty {
                ColumnType::Int2 | ColumnType::Int4 | ColumnType::Int8 | ColumnType::Float4 | ColumnType::Float8 => {
                    &[ErrorKind::InvalidValue, ErrorKind::OutOfRange]
                }
                ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz => &[ErrorKind::InvalidDatetime],
                ColumnType::Numeric | ColumnType::Bool | ColumnType::Uuid | ColumnType::TextArray => {
                    &[ErrorKind::InvalidValue]
                }
                _ => &[],
            };
            prop_assert!(expected.contains(&e.kind), "{:?} into {:?}: {:?}", value, ty, e);
            // Messages quote the value, but cut: a huge remote value must not become a huge error.
            prop_assert!(e.message.chars().count() < 200, "{}", e.message);
            return Ok(());
        }
    };
    // A string the date/time conversions do not understand goes to Postgres' input function; only strings.
    if let Cell::Input(text) = &cell {
        let passes_through =
            matches!(ty, ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz | ColumnType::Other(_));
        prop_assert!(passes_through, "{:?} into {:?} became input text {:?}", value, ty, text);
        if !matches!(ty, ColumnType::Other(_)) {
            prop_assert!(value.is_string());
        }
        return Ok(());
    }
    match (ty, &cell) {
        (ColumnType::Text, Cell::Text(t)) => prop_assert_eq!(t, &into_text(value.clone())),
        (ColumnType::Int2 | ColumnType::Int4 | ColumnType::Int8, Cell::Int(i)) => {
            let (min, max) = int_range(ty).unwrap();
            prop_assert!((min..=max).contains(i), "{} outside {:?}", i, ty);
        }
        (ColumnType::Float4, Cell::Float(f)) => prop_assert!(!f.is_finite() || f.abs() <= f32::MAX as f64),
        (ColumnType::Float8, Cell::Float(_)) => {}
        (ColumnType::Numeric, Cell::Numeric(text)) => {
            let unsigned = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
            let special = ["nan", "infinity", "inf"].contains(&unsigned.as_str());
            let decimal = text.chars().any(|c| c.is_ascii_digit())
                && text.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c));
            prop_assert!(special || decimal, "numeric text {:?}", text);
        }
        (ColumnType::Bool, Cell::Bool(_)) => {}
        (ColumnType::Date, Cell::Date(days)) => {
            // Every date produced prints, and its ISO text converts back to the same day. Only for years
            // 0000-9999: others print as "-0001" or "+10000", which convert leaves to Postgres' parser.
            let iso = date_to_iso(*days);
            prop_assert!(iso.is_some(), "date {} does not print", days);
            let iso = iso.unwrap();
            if iso.starts_with(|c: char| c.is_ascii_digit()) {
                prop_assert_eq!(convert(Value::String(iso.clone()), ty), Ok(Cell::Date(*days)), "via {:?}", iso);
            }
        }
        (ColumnType::Timestamp | ColumnType::TimestampTz, Cell::Timestamp(micros)) => {
            let zoned = *ty == ColumnType::TimestampTz;
            // Where chrono can print it (Postgres' range reaches further) with a four-digit year, the text
            // converts back.
            if let Some(iso) =
                timestamp_to_iso(*micros, zoned).filter(|iso| iso.starts_with(|c: char| c.is_ascii_digit()))
            {
                prop_assert_eq!(convert(Value::String(iso.clone()), ty), Ok(Cell::Timestamp(*micros)), "via {:?}", iso);
            }
        }
        (ColumnType::Uuid, Cell::Uuid(bytes)) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let given = value
                .as_str()
                .unwrap_or_default()
                .trim()
                .trim_start_matches('{')
                .trim_end_matches('}')
                .replace('-', "");
            prop_assert_eq!(hex, given.to_ascii_lowercase());
        }
        (ColumnType::Json, Cell::Json(text)) => {
            prop_assert_eq!(&serde_json::from_str::<Value>(text).ok(), &Some(value.clone()))
        }
        (ColumnType::Jsonb, Cell::Jsonb(v)) => prop_assert_eq!(v, value),
        (ColumnType::TextArray, Cell::TextArray(items)) => {
            prop_assert_eq!(Some(items.len()), value.as_array().map(Vec::len))
        }
        (ty, cell) => prop_assert!(false, "{:?} into {:?} gave {:?}", value, ty, cell),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(4000))]

    /// Any JSON value into every column type: a cell that keeps its type's invariants, or a conversion
    /// error of the right kind.
    #[test]
    fn any_value_converts_or_fails_cleanly(value in json()) {
        for ty in all_column_types() {
            check_conversion(&value, &ty)?;
        }
    }

    /// Strings and numbers that look like integers convert exactly when they fit.
    #[test]
    fn integers_convert_exactly_when_they_fit(value in prop_oneof![number(), odd_string().prop_map(Value::String)]) {
        let exact = match &value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        for ty in [ColumnType::Int2, ColumnType::Int4, ColumnType::Int8] {
            let (min, max) = int_range(&ty).unwrap();
            if let Some(n) = exact.filter(|n| (min..=max).contains(n)) {
                prop_assert_eq!(convert(value.clone(), &ty), Ok(Cell::Int(n)));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// 3. JSONPath
// ---------------------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(3000))]

    /// Any text parses or is refused with a message; every parsed path evaluates on any document, and its
    /// accessors agree with one another.
    #[test]
    fn any_path_parses_and_evaluates_without_panic(text in path_text(), doc in json()) {
        let path = match JsonPath::parse(&text) {
            Ok(path) => path,
            Err(message) => {
                prop_assert!(message.starts_with("JSONPath \""), "{}", message);
                return Ok(());
            }
        };
        prop_assert_eq!(path.as_str(), text.trim());
        prop_assert!(JsonPath::parse(path.as_str()).is_ok(), "the path's own text must parse again");
        let first = path.get(&doc).cloned();
        prop_assert_eq!(&first, &path.select(&doc).first().map(|v| (*v).clone()), "get is select's first value");
        let mut moved = doc.clone();
        prop_assert_eq!(&path.take(&mut moved), &first, "take returns what get does");
        let _ = path.select_rows(doc.clone());
        let _ = (path.is_root(), path.first_key(), path.is_single_key());
    }

    /// Plain member/index paths (compiled to direct lookups) agree with the general evaluator.
    #[test]
    fn simple_paths_agree_with_jsonpath_rust(text in simple_path(), wildcard in any::<bool>(), doc in json()) {
        let text = if wildcard { format!("{text}[*]") } else { text };
        let path = JsonPath::parse(&text).unwrap();
        let reference = jsonpath_rust::query::js_path_vals(&text, &doc).unwrap();
        prop_assert_eq!(path.select(&doc), reference.clone(), "{}", text);
        prop_assert_eq!(path.get(&doc), reference.first().copied(), "{}", text);
    }

    /// `key` quotes any column name into a path that parses and finds that member.
    #[test]
    fn key_paths_round_trip(name in any::<String>(), value in leaf()) {
        let path = JsonPath::key(&name);
        let doc = json!({ name.clone(): value.clone() });
        prop_assert_eq!(path.get(&doc), Some(&value));
        let parsed = JsonPath::parse(path.as_str());
        prop_assert!(parsed.is_ok(), "{:?}", parsed);
        prop_assert_eq!(parsed.unwrap().get(&doc), Some(&value));
    }
}

// ---------------------------------------------------------------------------------------------------------
// 4. Projection
// ---------------------------------------------------------------------------------------------------------

/// Columns with distinct names, random types and (sometimes) a path of any shape.
fn table_columns() -> impl Strategy<Value = Vec<ColumnDef>> {
    prop::collection::btree_map(column_name(), (column_type(), prop::option::of(path())), 1..6).prop_map(|columns| {
        columns
            .into_iter()
            .map(|(name, (ty, path))| {
                let column = ColumnDef::new(name, ty);
                match path {
                    Some(p) => column.with_option("path", &p),
                    None => column,
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(config(1500))]

    /// Any records through any projection give what converting each column's value on its own gives: the
    /// same cells, or the first failure as an error naming table and column. (Moving values out of records
    /// instead of cloning them must never change a result.)
    #[test]
    fn projection_matches_per_cell_conversion(
        columns in table_columns(),
        picks in prop::collection::vec(any::<Index>(), 0..8),
        records in prop::collection::vec(record(), 0..6),
    ) {
        let table = TableDef { name: "t".into(), options: BTreeMap::new(), columns };
        let selected: Vec<usize> = picks.iter().map(|i| i.index(table.columns.len())).collect();
        let projector = Projector::new(&table, &selected).unwrap();
        let columns = &table.columns;
        let expected: Result<Vec<Cell>> = records
            .iter()
            .flat_map(|record| selected.iter().map(move |&i| (record, &columns[i])))
            .map(|(record, column)| {
                let path = match column.option("path") {
                    Some(p) => JsonPath::parse(p).unwrap(),
                    None => JsonPath::key(&column.name),
                };
                convert(path.get(record).cloned().unwrap_or(Value::Null), &column.ty)
                    .map_err(|e| e.into_error(&table.name, &column.name))
            })
            .collect();
        match (projector.project(records.clone()), expected) {
            (Ok(block), Ok(cells)) => {
                prop_assert_eq!(block.rows(), records.len());
                prop_assert_eq!(block.width, selected.len());
                // Compared as Debug text, where NaN equals NaN ("NaN" converts to one) and -0.0 differs from 0.0.
                prop_assert_eq!(format!("{:?}", block.cells), format!("{:?}", cells));
            }
            (Err(e), Err(expected)) => {
                prop_assert!(e.message.starts_with("column \""), "{}", e.message);
                prop_assert_eq!(e, expected);
            }
            (got, expected) => prop_assert!(false, "projected {:?}, expected {:?}", got, expected),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// 5. Files
// ---------------------------------------------------------------------------------------------------------

/// A file under the temp directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(extension: &str, content: &[u8]) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name =
            format!("connector_fdw_fuzz_{}_{}.{extension}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, content).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn file_server() -> ServerDef {
    ServerDef { name: "files".into(), options: map(&[("connector", "file")]) }
}

fn file_settings() -> ScanSettings {
    ScanSettings { max_concurrency: 2, rows_needed: None, ..Default::default() }
}

/// A CSV table: its options, header names and fields, written the way PostgreSQL's COPY would.
#[derive(Clone, Debug)]
struct Csv {
    delimiter: u8,
    quote: u8,
    header: bool,
    crlf: bool,
    names: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    /// Quote what would otherwise split, end the record or read as NULL (the default null marker is the
    /// empty unquoted field, and a lone empty field would be a blank line).
    fn field(&self, text: &str) -> String {
        let (d, q) = (self.delimiter as char, self.quote as char);
        if text.is_empty() || text.contains([d, q, '\n', '\r']) {
            format!("{q}{}{q}", text.replace(q, &format!("{q}{q}")))
        } else {
            text.to_string()
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let newline = if self.crlf { "\r\n" } else { "\n" };
        let line = |fields: &[String]| {
            fields.iter().map(|f| self.field(f)).collect::<Vec<_>>().join(&(self.delimiter as char).to_string())
                + newline
        };
        let mut out = String::new();
        if self.header {
            out += &line(&self.names);
        }
        for row in &self.rows {
            out += &line(row);
        }
        out.into_bytes()
    }

    fn options(&self) -> Pairs {
        vec![
            ("delimiter".into(), (self.delimiter as char).to_string()),
            ("quote".into(), (self.quote as char).to_string()),
            ("header".into(), self.header.to_string()),
        ]
    }
}

fn csv_field() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z0-9 ]{0,6}",
        2 => prop::sample::select(vec!["", " ", ",", ";", "|", "\t", "\"", "'", "\"\"", "\n", "\r\n", "\r", "a\"b", "x,y", "é", "NA", "\\N"]).prop_map(str::to_string),
        2 => any::<String>(),
    ]
}

fn csv() -> impl Strategy<Value = Csv> {
    let names = prop::collection::btree_set(
        prop_oneof!["[a-zA-Z_][a-zA-Z0-9_ ]{0,6}", "\\PC{1,6}", Just("a,b".to_string()), Just("q\"t".to_string())],
        1..5,
    );
    (
        prop::sample::select(b",;\t|".to_vec()),
        prop::sample::select(b"\"'".to_vec()),
        any::<bool>(),
        any::<bool>(),
        names,
    )
        .prop_flat_map(|(delimiter, quote, header, crlf, names)| {
            let width = names.len();
            let rows = prop::collection::vec(prop::collection::vec(csv_field(), width), 0..12);
            (Just(Csv { delimiter, quote, header, crlf, names: names.into_iter().collect(), rows: vec![] }), rows)
        })
        .prop_map(|(csv, rows)| Csv { rows, ..csv })
}

/// One way to damage a file.
#[derive(Clone, Debug)]
enum Mutation {
    Truncate(Index),
    Insert(Index, &'static [u8]),
    Delete(Index, usize),
    Duplicate(Index, usize),
    /// A very long line of one byte: unbalanced brackets, an unclosed string, a field without end.
    HugeLine(Index, u8, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let bytes: Vec<&'static [u8]> = vec![
        b"\"", b"'", b",", b";", b"\n", b"\r", b"\r\n", b"[", b"]", b"{", b"}", b"\\", b"\xff", b"\xc3", b"\"\"",
        b"\0", b":", b"\n\n", b"null",
    ];
    prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), prop::sample::select(bytes)).prop_map(|(at, b)| Mutation::Insert(at, b)),
        (any::<Index>(), 1usize..16).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<Index>(), 1usize..64).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
        (any::<Index>(), prop::sample::select(b"a[{\",\n".to_vec()), 1_000usize..200_000)
            .prop_map(|(at, b, n)| Mutation::HugeLine(at, b, n)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let at = |i: &Index, len: usize| i.index(len + 1);
        match m {
            Mutation::Truncate(i) => bytes.truncate(at(i, bytes.len())),
            Mutation::Insert(i, b) => {
                let p = at(i, bytes.len());
                bytes.splice(p..p, b.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let p = at(i, bytes.len());
                bytes.drain(p..(p + n).min(bytes.len()));
            }
            Mutation::Duplicate(i, n) => {
                let p = at(i, bytes.len());
                let piece = bytes[p..(p + n).min(bytes.len())].to_vec();
                bytes.splice(p..p, piece);
            }
            Mutation::HugeLine(i, b, n) => {
                let p = at(i, bytes.len());
                bytes.splice(p..p, std::iter::repeat_n(*b, *n));
            }
        }
    }
    bytes
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    Csv,
    Json,
    Ndjson,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Json => "JSON",
            Format::Ndjson => "NDJSON",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
        }
    }
}

/// Table options as (name, value) pairs.
type Pairs = Vec<(String, String)>;

/// A valid file of the format with its table options.
fn valid_file(format: Format) -> BoxedStrategy<(Vec<u8>, Pairs)> {
    match format {
        Format::Csv => csv().prop_map(|c| (c.bytes(), c.options())).boxed(),
        Format::Json => (prop::collection::vec(record(), 0..6), any::<bool>())
            .prop_map(|(records, pretty)| {
                let array = Value::Array(records);
                let text = if pretty { serde_json::to_vec_pretty(&array) } else { serde_json::to_vec(&array) };
                (text.unwrap(), vec![])
            })
            .boxed(),
        Format::Ndjson => prop::collection::vec(record(), 0..6)
            .prop_map(|records| (records.iter().map(|r| r.to_string() + "\n").collect::<String>().into_bytes(), vec![]))
            .boxed(),
    }
}

fn format() -> impl Strategy<Value = Format> {
    prop::sample::select(vec![Format::Csv, Format::Json, Format::Ndjson])
}

/// A file of some format: arbitrary bytes, or a valid file damaged by a few mutations; with the CSV options
/// the valid file was written with.
fn damaged_file() -> impl Strategy<Value = (Format, Vec<u8>, Pairs)> {
    format().prop_flat_map(|f| {
        let content = prop_oneof![
            1 => prop::collection::vec(any::<u8>(), 0..512).prop_map(|b| (b, vec![])),
            3 => (valid_file(f), prop::collection::vec(mutation(), 1..4)).prop_map(|((bytes, options), m)| (mutate(bytes, &m), options)),
        ];
        (Just(f), content).prop_map(|(f, (bytes, options))| (f, bytes, options))
    })
}

/// A table over `location` ("path" or "url") whose columns accept any value (text and jsonb), so every
/// error a scan reports must be about the source.
fn lenient_table(
    format: Format,
    location: (&str, &str),
    csv_options: &[(String, String)],
    header: bool,
    page_size: u64,
) -> TableDef {
    let mut options: OptionMap = csv_options.iter().cloned().collect();
    if format == Format::Csv && !options.contains_key("header") {
        options.insert("header".into(), header.to_string());
    }
    options.insert(location.0.into(), location.1.into());
    options.insert("page_size".into(), page_size.to_string());
    let columns = vec![
        ColumnDef::new("id", ColumnType::Text),
        ColumnDef::new("name", ColumnType::Text),
        ColumnDef::new("raw", ColumnType::Jsonb).with_option("path", "$"),
        ColumnDef::new("deep", ColumnType::Text).with_option("path", "$.a.b"),
    ];
    TableDef { name: "t".into(), options, columns }
}

proptest! {
    #![proptest_config(config(800))]

    /// Valid CSV of any content, delimiter and quote reads back as the same fields.
    #[test]
    fn csv_round_trips(csv in csv(), page_size in 1u64..5) {
        let file = TempFile::new("csv", &csv.bytes());
        let mut options: OptionMap = csv.options().into_iter().collect();
        options.insert("path".into(), file.path().into());
        options.insert("page_size".into(), page_size.to_string());
        let columns = csv.names.iter().map(|n| ColumnDef::new(n.clone(), ColumnType::Text)).collect();
        let table = TableDef { name: "t".into(), options, columns };
        let rows = scan_table(&file_server(), &table, file_settings());
        let expected: Vec<Vec<Cell>> = csv.rows.iter().map(|r| r.iter().map(|f| Cell::Text(f.clone())).collect()).collect();
        prop_assert_eq!(rows, Ok(expected));
    }

    /// Valid JSON arrays and NDJSON read back as the same records.
    #[test]
    fn json_files_round_trip(format in prop::sample::select(vec![Format::Json, Format::Ndjson]), records in prop::collection::vec(record(), 0..6), page_size in 1u64..5) {
        let text = match format {
            Format::Json => serde_json::to_string_pretty(&records).unwrap(),
            _ => records.iter().map(|r| r.to_string() + "\n").collect(),
        };
        let file = TempFile::new(format.extension(), text.as_bytes());
        let table = TableDef {
            name: "t".into(),
            options: map(&[("path", file.path()), ("page_size", &page_size.to_string())]),
            columns: vec![ColumnDef::new("raw", ColumnType::Jsonb).with_option("path", "$")],
        };
        let expected: Vec<Vec<Cell>> = records.into_iter().map(|r| vec![if r.is_null() { Cell::Null } else { Cell::Jsonb(r) }]).collect();
        prop_assert_eq!(scan_table(&file_server(), &table, file_settings()), Ok(expected));
    }

    /// Arbitrary bytes, and valid files damaged in every way, give rows or a BadFileFormat error naming the
    /// format, file and table (or, for a NUL in a text value, an error naming the column); never a panic
    /// or a hang.
    #[test]
    fn damaged_files_fail_cleanly((format, content, csv_options) in damaged_file(), page_size in 1u64..5, header in any::<bool>()) {
        let file = TempFile::new(format.extension(), &content);
        let table = lenient_table(format, ("path", file.path()), &csv_options, header, page_size);
        if let Err(e) = scan_table(&file_server(), &table, file_settings()) {
            if e.kind == ErrorKind::UntranslatableCharacter {
                prop_assert!(e.message.starts_with("column \"") && e.message.contains("\\u0000"), "{}", e.message);
                return Ok(());
            }
            prop_assert_eq!(e.kind, ErrorKind::BadFileFormat, "{:?}", e);
            let prefix = format!("invalid {} in file \"{}\" of foreign table \"t\", ", format.name(), file.path());
            prop_assert!(e.message.starts_with(&prefix), "{}", e.message);
        }
    }

    /// The same bytes downloaded from a URL (any status, any framing) give rows or an error, never a
    /// panic or a hang; a complete 200 response reads exactly as the local file does.
    #[test]
    fn urls_read_like_files(
        (format, content, csv_options) in damaged_file(),
        page_size in 1u64..5,
        header in any::<bool>(),
        status in status(),
        framing in framing(),
    ) {
        static SERVER: OnceLock<Canned> = OnceLock::new();
        let server = loopback_server(&SERVER);
        server.respond_with(server::response(status, &[], &content, framing));
        // No retries: a 5xx would otherwise back off for seconds.
        let no_retries = ServerDef { name: "files".into(), options: map(&[("connector", "file"), ("max_retries", "0")]) };
        let url = format!("{}/export.{}", server.base, format.extension());
        let table = lenient_table(format, ("url", &url), &csv_options, header, page_size);
        let from_url = scan_table(&no_retries, &table, file_settings());
        if let Err(e) = &from_url {
            prop_assert!(e.kind != ErrorKind::Internal, "{:?}", e);
        }
        if status == 200 && matches!(framing, Framing::Exact | Framing::UntilClose) {
            let file = TempFile::new(format.extension(), &content);
            let table = lenient_table(format, ("path", file.path()), &csv_options, header, page_size);
            match (scan_table(&file_server(), &table, file_settings()), from_url) {
                (Ok(from_file), Ok(from_url)) => prop_assert_eq!(from_file, from_url),
                (Err(from_file), Err(from_url)) => prop_assert_eq!(from_file.kind, from_url.kind, "{:?}", from_url),
                (from_file, from_url) => prop_assert!(false, "file: {:?}, URL: {:?}", from_file, from_url),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// 6. REST responses
// ---------------------------------------------------------------------------------------------------------

/// One REST table and the response its server gives to every request.
#[derive(Clone, Debug)]
struct RestCase {
    pagination: &'static str,
    rows: Option<&'static str>,
    cursor_path: &'static str,
    total_path: Option<&'static str>,
    has_more_path: Option<&'static str>,
    page_size: u64,
    size_param: bool,
    columns: Vec<(ColumnType, Option<String>)>,
    rows_needed: u64,
    concurrency: usize,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    framing: Framing,
}

fn link_header() -> impl Strategy<Value = String> {
    let target = prop::sample::select(vec![
        "/r?page=2",
        "/v1/r",
        "?cursor=abc",
        "",
        "https://elsewhere.invalid/r",
        "//other.invalid/r",
        "http://127.0.0.1:1/r",
        "http://[::1",
        "data:,x",
        "javascript:x",
        "%zz",
        "/r?page=é",
        "<",
        "a>b",
    ]);
    let rel = prop::sample::select(vec![
        "rel=\"next\"",
        "rel=next",
        "rel=\"prev\"",
        "rel=\"next last\"",
        "rel=NEXT",
        "rel=",
        "",
        "title=\"x;y,z\"; rel=next",
    ]);
    prop_oneof![
        3 => prop::collection::vec((target, rel), 1..4)
            .prop_map(|links| links.iter().map(|(t, r)| format!("<{t}>; {r}")).collect::<Vec<_>>().join(", ")),
        1 => "[<>;,=\" a-z/:?.0-9]{0,40}",
    ]
}

fn number_header() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        (0u64..100).prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "-1",
            " 7 ",
            "0",
            "1e300",
            "inf",
            "-inf",
            "NaN",
            "1e19",
            "18446744073709551616",
            "0.000001",
            "1e-300",
            "soon",
            "",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Sat, 01 Jan 0000 00:00:00 +2359",
        ])
        .prop_map(str::to_string),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let header = prop_oneof![
        2 => link_header().prop_map(|v| ("Link".to_string(), v)),
        2 => number_header().prop_map(|v| ("X-Total-Count".to_string(), v)),
        2 => number_header().prop_map(|v| ("Retry-After".to_string(), v)),
        1 => number_header().prop_map(|v| ("X-RateLimit-Reset".to_string(), v)),
        1 => prop::sample::select(vec!["application/json", "text/html", "application/json; charset=latin1"]).prop_map(|v| ("Content-Type".to_string(), v.to_string())),
    ];
    prop::collection::vec(header, 0..4)
}

/// A body shaped like an API's page (records under a member, cursor, total, has_more of any type), or a
/// bare array of records.
fn shaped_body() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(record(), 0..6),
        prop::sample::select(vec!["data", "items", "results"]),
        prop::option::of(leaf()),
        prop::option::of(leaf()),
        prop::option::of(leaf()),
        any::<bool>(),
    )
        .prop_map(|(records, member, cursor, total, has_more, wrapped)| {
            if !wrapped {
                return Value::Array(records);
            }
            let mut body = serde_json::Map::new();
            body.insert(member.to_string(), Value::Array(records));
            body.extend(cursor.map(|v| ("next_cursor".to_string(), v)));
            body.extend(total.map(|v| ("total".to_string(), v)));
            body.extend(has_more.map(|v| ("has_more".to_string(), v)));
            Value::Object(body)
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => shaped_body().prop_map(|v| v.to_string().into_bytes()),
        2 => json().prop_map(|v| v.to_string().into_bytes()),
        1 => (shaped_body(), any::<Index>()).prop_map(|(v, cut)| {
            let mut bytes = v.to_string().into_bytes();
            bytes.truncate(cut.index(bytes.len() + 1));
            bytes
        }),
        1 => prop::collection::vec(any::<u8>(), 0..256),
    ]
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        8 => Just(200u16),
        3 => prop::sample::select(vec![201u16, 204, 206, 301, 304, 400, 401, 403, 404, 408, 429, 500, 502, 503, 504]),
        1 => 100u16..1000,
    ]
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        6 => Just(Framing::Exact),
        1 => Just(Framing::UntilClose),
        1 => Just(Framing::TooLong),
        1 => Just(Framing::TooShort),
    ]
}

fn maybe_path() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec![
        "$.data",
        "$.data[*]",
        "$.items",
        "$",
        "$.total",
        "$.next_cursor",
        "$.has_more",
        "$..id",
        "$.data[0]",
        "$.data[?@.id]",
        "$[*]",
    ]))
}

fn rest_case() -> impl Strategy<Value = RestCase> {
    let table = (
        prop::sample::select(vec!["none", "page", "offset", "cursor", "link"]),
        maybe_path(),
        prop::sample::select(vec!["$.next_cursor", "$.data[-1].id", "$.data", "$", "$..next_cursor", "$.total"]),
        maybe_path(),
        maybe_path(),
        1u64..5,
        any::<bool>(),
        prop::collection::vec((column_type(), prop::option::of(path())), 1..5),
    );
    let scan = (1u64..30, 1usize..4);
    let response = (status(), headers(), body(), framing());
    // Boxed parts keep the value tree off the stack: unboxed, this one tuple overflows a debug test thread.
    (table.boxed(), scan, response.boxed()).prop_map(
        |(
            (pagination, rows, cursor_path, total_path, has_more_path, page_size, size_param, columns),
            (rows_needed, concurrency),
            (status, headers, body, framing),
        )| RestCase {
            pagination,
            rows,
            cursor_path,
            total_path,
            has_more_path,
            page_size,
            size_param,
            columns,
            rows_needed,
            concurrency,
            status,
            headers,
            body,
            framing,
        },
    )
}

impl RestCase {
    fn server(&self, base: &str) -> ServerDef {
        // No retries: a 429 with Retry-After would otherwise sleep; the header is parsed either way.
        let options = map(&[
            ("connector", "rest"),
            ("base_url", &format!("{base}/v1")),
            ("timeout_ms", "5000"),
            ("max_retries", "0"),
        ]);
        ServerDef { name: "api".into(), options }
    }

    fn table(&self) -> TableDef {
        let mut options =
            map(&[("path", "/r"), ("pagination", self.pagination), ("page_size", &self.page_size.to_string())]);
        if self.pagination == "cursor" {
            options.insert("cursor_path".into(), self.cursor_path.into());
        }
        if self.size_param {
            options.insert("page_size_param".into(), "limit".into());
        }
        for (name, value) in
            [("rows", self.rows), ("total_path", self.total_path), ("has_more_path", self.has_more_path)]
        {
            options.extend(value.map(|v| (name.to_string(), v.to_string())));
        }
        let columns = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, (ty, path))| {
                let column = ColumnDef::new(COLUMN_NAMES[i % COLUMN_NAMES.len()], ty.clone());
                match path {
                    Some(p) => column.with_option("path", p),
                    None => column,
                }
            })
            .collect();
        TableDef { name: "t".into(), options, columns }
    }

    fn settings(&self) -> ScanSettings {
        // A static response may say "more" forever; the LIMIT bounds how many pages a scan asks for.
        ScanSettings { max_concurrency: self.concurrency, rows_needed: Some(self.rows_needed), ..Default::default() }
    }
}

/// The canned-response server of one test (each test its own: tests run in parallel, cases in sequence).
fn loopback_server(slot: &'static OnceLock<Canned>) -> &'static Canned {
    slot.get_or_init(|| Canned::start(runtime()))
}

proptest! {
    #![proptest_config(config(800))]

    /// Any status, headers and body, under every paging style and rows/cursor/total path: rows or an
    /// error, never a panic or a hang; error statuses map to their kinds.
    #[test]
    fn any_response_gives_rows_or_an_error(case in rest_case()) {
        static SERVER: OnceLock<Canned> = OnceLock::new();
        let server = loopback_server(&SERVER);
        server.respond_with(server::response(case.status, &case.headers, &case.body, case.framing));
        let result = scan_table(&case.server(&server.base), &case.table(), case.settings());
        match result {
            Ok(rows) => prop_assert!((200..300).contains(&case.status), "HTTP {} gave {} rows", case.status, rows.len()),
            Err(e) => {
                prop_assert!(e.kind != ErrorKind::Internal, "{:?}", e);
                if case.status >= 400 && matches!(case.framing, Framing::Exact) {
                    let expected = match case.status {
                        401 | 403 => ErrorKind::Authorization,
                        404 => ErrorKind::NotFound,
                        _ => ErrorKind::Remote,
                    };
                    prop_assert_eq!(e.kind, expected, "{:?}", e);
                }
            }
        }
    }

    /// A plain `rows` path that finds nothing in the body is a BadResponse naming the path, whatever the
    /// body is instead.
    #[test]
    fn rows_path_to_nothing_is_a_bad_response(
        doc in json().prop_filter("the rows member must be missing", |d| d.get("data").is_none()),
        rows in prop::sample::select(vec!["$.data[*]", "$.data.items", "$.data[0]", "$['data'][-1].x"]),
    ) {
        static SERVER: OnceLock<Canned> = OnceLock::new();
        let server = loopback_server(&SERVER);
        let body = doc.to_string().into_bytes();
        server.respond_with(server::response(200, &[], &body, Framing::Exact));
        let case_server = ServerDef { name: "api".into(), options: map(&[("connector", "rest"), ("base_url", &server.base)]) };
        let table = TableDef {
            name: "t".into(),
            options: map(&[("path", "/r"), ("rows", rows)]),
            columns: vec![ColumnDef::new("id", ColumnType::Int8)],
        };
        let settings = ScanSettings { max_concurrency: 1, rows_needed: None, ..Default::default() };
        let e = scan_table(&case_server, &table, settings).err();
        prop_assert!(e.is_some(), "a body without its rows read as rows");
        let e = e.unwrap();
        prop_assert_eq!(e.kind, ErrorKind::BadResponse, "{:?}", e);
        prop_assert!(e.message.contains(&format!("no records at rows path {rows}")), "{}", e.message);
    }

    /// A well-formed JSON body without paging reads as its records, one row each; a body that is a single
    /// scalar holds no records and is a BadResponse (never one row of it).
    #[test]
    fn plain_json_bodies_read_as_their_records(doc in json().prop_filter("an empty body has no JSON", |d| !d.is_null())) {
        static SERVER: OnceLock<Canned> = OnceLock::new();
        let server = loopback_server(&SERVER);
        server.respond_with(server::response(200, &[], doc.to_string().as_bytes(), Framing::Exact));
        let case_server = ServerDef { name: "api".into(), options: map(&[("connector", "rest"), ("base_url", &server.base)]) };
        let table = TableDef {
            name: "t".into(),
            options: map(&[("path", "/r")]),
            columns: vec![ColumnDef::new("raw", ColumnType::Jsonb).with_option("path", "$")],
        };
        let settings = ScanSettings { max_concurrency: 1, rows_needed: None, ..Default::default() };
        let records = match doc {
            Value::Array(items) => items,
            record @ Value::Object(_) => vec![record],
            _ => {
                let e = scan_table(&case_server, &table, settings).unwrap_err();
                prop_assert_eq!(e.kind, ErrorKind::BadResponse, "{:?}", e);
                prop_assert!(e.message.contains("not records"), "{}", e.message);
                return Ok(());
            }
        };
        let expected: Vec<Vec<Cell>> = records.into_iter().map(|r| vec![if r.is_null() { Cell::Null } else { Cell::Jsonb(r) }]).collect();
        prop_assert_eq!(scan_table(&case_server, &table, settings), Ok(expected));
    }
}

/// A `Link` header of links whose targets hold none of `<>,;`, and whether one of them is `rel="next"`
/// (the parser must find exactly those).
fn clean_links() -> impl Strategy<Value = (String, bool)> {
    let target = prop::sample::select(vec![
        "/v1/r?page=2",
        "?page=3",
        "",
        "%zz",
        "https://elsewhere.invalid/r",
        "//other.invalid/r",
        "http://[::1",
        "data:x",
    ]);
    let rel = prop::sample::select(vec![
        ("rel=\"next\"", true),
        ("rel=next", true),
        ("rel=\"next last\"", true),
        ("rel=NEXT", true),
        ("title=\"a;b,c\"; rel=next", true),
        ("rel=\"prev\"", false),
        ("rel=\"last\"", false),
        ("rel=", false),
        ("", false),
        ("rel=\"nextpage\"", false),
    ]);
    prop::collection::vec((target, rel), 0..4).prop_map(|links| {
        let header = links.iter().map(|(t, (r, _))| format!("<{t}>; {r}")).collect::<Vec<_>>().join(", ");
        (header, links.iter().any(|(_, (_, next))| *next))
    })
}

fn single_page_table(pagination: &str) -> TableDef {
    TableDef {
        name: "t".into(),
        options: map(&[("path", "/r"), ("pagination", pagination)]),
        columns: vec![ColumnDef::new("id", ColumnType::Int8)],
    }
}

proptest! {
    #![proptest_config(config(500))]

    /// Link headers of any text are followed or refused: a response whose Link names a next page (a
    /// static server repeats it, or it leaves the host, or it is no URL) ends in a BadResponse; one without
    /// gives its single row.
    #[test]
    fn link_headers_are_followed_or_refused(
        (header, has_next) in prop_oneof![
            3 => clean_links(),
            1 => link_header().prop_map(|h| (h, false)),
            // Any text a header may carry: visible ASCII, tabs and (as obs-text) non-ASCII.
            1 => "[ -~\t\u{80}-\u{10FFFF}]{0,60}".prop_map(|h| (h, false)),
        ],
        clean in any::<bool>(),
    ) {
        static SERVER: OnceLock<Canned> = OnceLock::new();
        let server = loopback_server(&SERVER);
        let headers = vec![("Link".to_string(), header.clone())];
        server.respond_with(server::response(200, &headers, br#"[{"id": 1}]"#, Framing::Exact));
        let options = map(&[("connector", "rest"), ("base_url", &format!("{}/v1", server.base)), ("max_retries", "0")]);
        let case_server = ServerDef { name: "api".into(), options };
        let settings = ScanSettings { max_concurrency: 1, rows_needed: None, ..Default::default() };
        let result = scan_table(&case_server, &single_page_table("link"), settings);
        match &result {
            Ok(rows) => prop_assert_eq!(rows, &vec![vec![Cell::Int(1)]]),
            Err(e) => prop_assert_eq!(e.kind, ErrorKind::BadResponse, "{:?}", e),
        }
        // Only for the headers whose links are known is the outcome known.
        if clean && has_next {
            prop_assert!(result.is_err(), "{:?} names a next page that was not followed", header);
        }
    }

    /// 429 and 503 with any Retry-After or rate-limit reset: an error saying the status (no retries are
    /// allowed here), never a panic from reading the wait.
    #[test]
    fn throttling_headers_are_read_without_panic(
        status in prop::sample::select(vec![429u16, 503]),
        headers in prop::collection::vec(
            (prop::sample::select(vec!["Retry-After", "X-RateLimit-Reset", "X-Rate-Limit-Reset", "RateLimit-Reset"]), number_header())
                .prop_map(|(name, value)| (name.to_string(), value)),
            1..3,
        ),
    ) {
        static SERVER: OnceLock<Canned> = OnceLock::new();
        let server = loopback_server(&SERVER);
        server.respond_with(server::response(status, &headers, b"{\"error\": {\"message\": \"slow down\"}}", Framing::Exact));
        let options = map(&[("connector", "rest"), ("base_url", &server.base), ("max_retries", "0")]);
        let case_server = ServerDef { name: "api".into(), options };
        let settings = ScanSettings { max_concurrency: 1, rows_needed: None, ..Default::default() };
        let e = scan_table(&case_server, &single_page_table("none"), settings).err();
        prop_assert!(e.is_some());
        let e = e.unwrap();
        prop_assert_eq!(e.kind, ErrorKind::Remote, "{:?}", e);
        prop_assert!(e.message.contains(&format!("failed: HTTP {status}")), "{}", e.message);
        prop_assert_eq!(e.detail.as_deref(), Some("provider said: slow down"));
    }
}
