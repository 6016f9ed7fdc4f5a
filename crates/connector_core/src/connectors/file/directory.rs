//! Discovery for the file connector: one foreign table per CSV, JSON or NDJSON file of a directory on the
//! database server (`IMPORT FOREIGN SCHEMA "/srv/exports" FROM SERVER files INTO s`, or the server option
//! `directory`), with column names from the header or the first records and types inferred from a sample.
//!
//! Only the first records of each file are read. A file that does not parse is left out with a warning
//! naming it, as one bad export should not stop the import of the others.

use super::{csv_options, inferred_format, CsvRecords, JsonArray, Location, Ndjson, ReadError, Records};
use crate::connectors::airtable::column_name;
use crate::connectors::{unique_name, Discovery, Resource, ResourceColumn};
use crate::error::{Error, ErrorKind, Result};
use crate::options::{OptionMap, Options};
use serde_json::Value;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Records read from each file to name and type its columns.
const SAMPLE_RECORDS: usize = 1000;

/// The extensions of the files a directory import considers.
const EXTENSIONS: [&str; 4] = ["csv", "json", "ndjson", "jsonl"];

/// The tables of the data files directly in `directory` (not its subdirectories), by file name.
pub(super) fn discover(directory: &str) -> Result<Discovery> {
    let path = Path::new(directory);
    if !path.is_absolute() {
        return Err(Error::option_value("directory", format!("\"{directory}\" is not an absolute path")));
    }
    let entries = std::fs::read_dir(path).map_err(|e| {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::FileNotFound,
            std::io::ErrorKind::PermissionDenied => ErrorKind::InsufficientPrivilege,
            _ => ErrorKind::Remote,
        };
        Error::new(kind, format!("cannot list directory \"{directory}\": {e}"))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && has_data_extension(p))
        .collect();
    files.sort();
    let mut discovery = Discovery::default();
    for file in files {
        match resource(&file) {
            Ok(mut resource) => {
                resource.name = unique_name(resource.name, |n| discovery.resources.iter().any(|r| r.name == n));
                discovery.resources.push(resource);
            }
            Err(e) => discovery.skipped.push(format!("file \"{}\" is left out: {}", file.display(), e.message)),
        }
    }
    Ok(discovery)
}

fn has_data_extension(path: &Path) -> bool {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    extension.is_some_and(|e| EXTENSIONS.contains(&e.as_str()))
}

/// The table of one file: its name from the file's, its columns from a sample of its records.
fn resource(file: &Path) -> Result<Resource> {
    let format = inferred_format(&Location::Path(file.to_path_buf()));
    let input = std::fs::File::open(file).map_err(|e| Error::new(ErrorKind::Remote, format!("cannot open it: {e}")))?;
    let input = BufReader::with_capacity(64 * 1024, input);
    let problem = |e: ReadError| match e {
        ReadError::Io(e) => Error::new(ErrorKind::Remote, format!("cannot read it: {e}")),
        ReadError::Format(problem) => Error::new(ErrorKind::BadFileFormat, format!("invalid {format}, {problem}")),
    };
    let mut sample = Sample::default();
    if format == "csv" {
        let mut records = CsvRecords::new(input, csv_options(&Options::new(&OptionMap::new()))?, &[]);
        sample.read(&mut records).map_err(problem)?;
        // The header names the columns, in its order, even of a file without records.
        sample.columns = records.keys.iter().map(|key| (key.clone(), sample.seen(key))).collect();
    } else if format == "json" {
        sample.read(&mut JsonArray::new(input)).map_err(problem)?;
    } else {
        sample.read(&mut Ndjson::new(input)).map_err(problem)?;
    }
    if sample.columns.is_empty() {
        return Err(Error::new(ErrorKind::BadFileFormat, "it has no columns: no header and no records".to_string()));
    }
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("file");
    let mut columns: Vec<ResourceColumn> = Vec::new();
    for (key, seen) in &sample.columns {
        let name = unique_name(column_name(key), |n| columns.iter().any(|c| c.name == n));
        let mut options = OptionMap::new();
        if name != *key {
            options.insert("path".into(), crate::jsonpath::JsonPath::key(key).as_str().to_string());
        }
        columns.push(ResourceColumn { name, sql_type: seen.sql_type().into(), options });
    }
    Ok(Resource {
        name: column_name(stem),
        description: format!("{format} file {}", file.display()),
        table_options: [("path".to_string(), file.display().to_string())].into(),
        columns,
    })
}

/// The columns of sampled records in the order they first appear (JSON objects' members come in name order,
/// as the parser keeps them), with what their values looked like.
#[derive(Default)]
struct Sample {
    columns: Vec<(String, Seen)>,
}

impl Sample {
    fn read(&mut self, records: &mut dyn Records) -> std::result::Result<(), ReadError> {
        for _ in 0..SAMPLE_RECORDS {
            match records.next_record()? {
                Some(Value::Object(record)) => {
                    for (key, value) in record {
                        self.column(&key).add(&value);
                    }
                }
                Some(_) => return Err(ReadError::Format("its records are not objects".into())),
                None => break,
            }
        }
        Ok(())
    }

    fn seen(&self, key: &str) -> Seen {
        self.columns.iter().find(|(k, _)| k == key).map_or(Seen::Nothing, |(_, seen)| *seen)
    }

    fn column(&mut self, key: &str) -> &mut Seen {
        let at = match self.columns.iter().position(|(k, _)| k == key) {
            Some(at) => at,
            None => {
                self.columns.push((key.to_string(), Seen::default()));
                self.columns.len() - 1
            }
        };
        &mut self.columns[at].1
    }
}

/// The narrowest type every non-null sampled value of a column fits, widening as values come.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum Seen {
    /// Only NULLs (or nothing) so far.
    #[default]
    Nothing,
    Bigint,
    Numeric,
    Boolean,
    Date,
    /// A date and time without a zone.
    Timestamp,
    Timestamptz,
    Jsonb,
    Text,
}

impl Seen {
    fn add(&mut self, value: &Value) {
        let this = match value {
            Value::Null => return,
            Value::Bool(_) => Seen::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() && n.as_u64().is_some_and(|u| u <= i64::MAX as u64) => {
                Seen::Bigint
            }
            Value::Number(_) => Seen::Numeric,
            Value::String(s) => of_text(s),
            Value::Array(_) | Value::Object(_) => Seen::Jsonb,
        };
        *self = self.widen(this);
    }

    fn widen(self, other: Seen) -> Seen {
        use Seen::*;
        match (self, other) {
            (Nothing, x) | (x, Nothing) => x,
            (a, b) if a == b => a,
            (Bigint, Numeric) | (Numeric, Bigint) => Numeric,
            (Date, Timestamp) | (Timestamp, Date) => Timestamp,
            (Date, Timestamptz) | (Timestamptz, Date) => Timestamptz,
            _ => Text,
        }
    }

    fn sql_type(self) -> &'static str {
        match self {
            Seen::Bigint => "bigint",
            Seen::Numeric => "numeric",
            Seen::Boolean => "boolean",
            Seen::Date => "date",
            Seen::Timestamp => "timestamp",
            Seen::Timestamptz => "timestamptz",
            Seen::Jsonb => "jsonb",
            Seen::Nothing | Seen::Text => "text",
        }
    }
}

/// What a text value (every CSV field, and JSON strings) reads as. Integers with leading zeros stay text
/// (`007` is a code, not 7), as do numbers Postgres' numeric would not take back unchanged.
fn of_text(s: &str) -> Seen {
    let t = s.trim();
    if t.is_empty() || t.len() != s.len() {
        return Seen::Text;
    }
    let digits = t.strip_prefix('-').unwrap_or(t);
    let leading_zero = digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.");
    if !leading_zero && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return if t.parse::<i64>().is_ok() { Seen::Bigint } else { Seen::Numeric };
    }
    if !leading_zero && is_decimal(digits) {
        return Seen::Numeric;
    }
    if matches!(t.to_ascii_lowercase().as_str(), "true" | "false") {
        return Seen::Boolean;
    }
    if chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok() && t.len() == 10 {
        return Seen::Date;
    }
    if crate::convert::parse_zoned(t).is_some() {
        return Seen::Timestamptz;
    }
    if crate::convert::parse_naive(t).is_some() {
        return Seen::Timestamp;
    }
    Seen::Text
}

/// Digits with one decimal point and digits on both sides (`1.5`; not `1.`, `.5` or `1e5`).
fn is_decimal(s: &str) -> bool {
    match s.split_once('.') {
        Some((whole, fraction)) => {
            !whole.is_empty()
                && !fraction.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory under the temp directory with the given files, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn with(files: &[(&str, &str)]) -> TempDir {
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("connector_fdw_dir_{}_{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            for (name, content) in files {
                std::fs::write(dir.join(name), content).unwrap();
            }
            TempDir(dir)
        }

        fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn columns(resource: &Resource) -> Vec<(String, String, Option<String>)> {
        resource.columns.iter().map(|c| (c.name.clone(), c.sql_type.clone(), c.options.get("path").cloned())).collect()
    }

    fn col(name: &str, sql_type: &str, path: Option<&str>) -> (String, String, Option<String>) {
        (name.into(), sql_type.into(), path.map(str::to_string))
    }

    #[test]
    fn each_data_file_is_a_table_with_inferred_types() {
        let dir = TempDir::with(&[
            (
                "Orders 2024.csv",
                "Order ID,amount,paid,placed on,at,code,note\n1,9.50,true,2024-01-31,2024-01-31T10:00:00Z,007,\n\
                 2,12,false,2024-02-01,2024-02-01T11:30:00+01:00,042,x\n",
            ),
            (
                "people.ndjson",
                "{\"id\": 1, \"tags\": [\"a\"], \"score\": 1.5}\n{\"id\": 2, \"name\": \"B\", \"score\": 2}\n",
            ),
            ("events.json", "[{\"when\": \"2024-05-01\"}, {\"when\": \"2024-05-01T08:00:00Z\"}, {\"when\": null}]"),
            ("empty.csv", "a,b\n"),
            ("notes.txt", "not data"),
        ]);
        std::fs::create_dir(dir.0.join("nested.csv")).unwrap();
        let found = discover(dir.path()).unwrap();
        assert!(found.skipped.is_empty(), "{:?}", found.skipped);
        let names: Vec<&str> = found.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["orders_2024", "empty", "events", "people"]);
        let orders = &found.resources[0];
        assert_eq!(orders.table_options.get("path").unwrap(), &format!("{}/Orders 2024.csv", dir.path()));
        assert_eq!(
            columns(orders),
            [
                col("order_id", "bigint", Some("$['Order ID']")),
                col("amount", "numeric", None),
                col("paid", "boolean", None),
                col("placed_on", "date", Some("$['placed on']")),
                col("at", "timestamptz", None),
                col("code", "text", None),
                col("note", "text", None),
            ]
        );
        assert_eq!(columns(&found.resources[1]), [col("a", "text", None), col("b", "text", None)]);
        assert_eq!(columns(&found.resources[2]), [col("when", "timestamptz", None)]);
        assert_eq!(
            columns(&found.resources[3]),
            [
                col("id", "bigint", None),
                col("score", "numeric", None),
                col("tags", "jsonb", None),
                col("name", "text", None)
            ]
        );
    }

    #[test]
    fn a_file_that_does_not_parse_is_left_out_with_its_reason() {
        let dir = TempDir::with(&[
            ("good.csv", "id\n1\n"),
            ("broken.csv", "id,name\n1\n"),
            ("scalars.json", "[1, 2]"),
            ("bad.ndjson", "{\"id\": 1}\n{oops\n"),
        ]);
        let found = discover(dir.path()).unwrap();
        assert_eq!(found.resources.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["good"]);
        assert_eq!(found.skipped.len(), 3, "{:?}", found.skipped);
        assert!(found.skipped[0].contains("bad.ndjson\" is left out: invalid ndjson"), "{:?}", found.skipped);
        assert!(found.skipped[1].contains("broken.csv\" is left out: invalid csv, line 2: expected 2 fields, found 1"));
        assert!(found.skipped[2].contains("scalars.json\" is left out: invalid json, its records are not objects"));
    }

    #[test]
    fn a_directory_that_cannot_be_listed_is_an_error_naming_it() {
        let e = discover("/no/such/connector_fdw/dir").unwrap_err();
        assert_eq!(e.kind, ErrorKind::FileNotFound);
        assert!(e.message.contains("cannot list directory \"/no/such/connector_fdw/dir\""), "{e}");
        assert_eq!(discover("relative/dir").unwrap_err().kind, ErrorKind::InvalidOptionValue);
    }

    #[test]
    fn text_values_are_typed_conservatively() {
        for (text, seen) in [
            ("42", Seen::Bigint),
            ("-7", Seen::Bigint),
            ("99999999999999999999", Seen::Numeric),
            ("3.25", Seen::Numeric),
            ("007", Seen::Text),
            ("0", Seen::Bigint),
            ("0.5", Seen::Numeric),
            ("1e5", Seen::Text),
            (".5", Seen::Text),
            (" 1", Seen::Text),
            ("TRUE", Seen::Boolean),
            ("yes", Seen::Text),
            ("2024-02-30", Seen::Text),
            ("2024-02-29", Seen::Date),
            ("2024-02-29 10:00", Seen::Timestamp),
            ("2024-02-29 10:00:00+00", Seen::Timestamptz),
            ("29/02/2024", Seen::Text),
            ("2024-02-29T10:00:00.5+02:00", Seen::Timestamptz),
        ] {
            assert_eq!(of_text(text), seen, "{text}");
        }
        assert_eq!(Seen::Bigint.widen(Seen::Boolean), Seen::Text);
        assert_eq!(Seen::Nothing.widen(Seen::Date), Seen::Date);
    }
}
