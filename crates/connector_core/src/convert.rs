//! JSON values into Postgres-ready cells.
//!
//! Conversion runs on the scan's worker threads, so the Postgres backend only copies finished values into
//! datums. Dates and times are computed here in Postgres' own representation (days and microseconds since
//! 2000-01-01). Where Postgres' rules depend on session state (a timestamp without zone going into
//! timestamptz) or on a type this module does not know, the text goes to the type's input function instead.

use crate::error::{snippet, Error, ErrorKind};
use crate::model::ColumnType;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::Value;

/// A converted value, ready to become a datum.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    /// int2/int4/int8, already range-checked for the column's type.
    Int(i64),
    /// float4/float8.
    Float(f64),
    Text(String),
    /// Validated decimal text for numeric_in.
    Numeric(String),
    /// Days since 2000-01-01.
    Date(i32),
    /// Microseconds since 2000-01-01 00:00:00 (UTC for timestamptz).
    Timestamp(i64),
    Uuid([u8; 16]),
    /// json: the value's text.
    Json(String),
    Jsonb(Value),
    TextArray(Vec<Option<String>>),
    /// Text for the column type's input function.
    Input(String),
}

/// Why a value did not convert; the projector adds the table and column.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvertError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ConvertError {
    fn new(kind: ErrorKind, ty: &ColumnType, value: &Value, why: &str) -> Self {
        let shown = match value {
            Value::String(s) => format!("\"{}\"", snippet(s, 60)),
            other => snippet(&other.to_string(), 60),
        };
        ConvertError { kind, message: format!("{shown} is not a valid {}{why}", ty.sql_name()) }
    }

    pub fn into_error(self, table: &str, column: &str) -> Error {
        Error::new(self.kind, format!("column \"{column}\" of foreign table \"{table}\": {}", self.message))
    }
}

fn pg_epoch_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date")
}

fn pg_epoch() -> NaiveDateTime {
    pg_epoch_date().and_time(NaiveTime::MIN)
}

/// ISO 8601 text of a Postgres date (days since 2000-01-01).
pub fn date_to_iso(days: i32) -> Option<String> {
    pg_epoch_date().checked_add_signed(chrono::Duration::days(days.into())).map(|d| d.format("%Y-%m-%d").to_string())
}

/// ISO 8601 text of a Postgres timestamp (microseconds since 2000-01-01); with `utc`, as RFC 3339 in UTC.
pub fn timestamp_to_iso(micros: i64, utc: bool) -> Option<String> {
    let t = pg_epoch().checked_add_signed(chrono::Duration::microseconds(micros))?;
    let text = if t.and_utc().timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    };
    Some(if utc { text + "Z" } else { text })
}

/// Convert one JSON value (missing members arrive as `Null`) for a column of type `ty`.
pub fn convert(value: Value, ty: &ColumnType) -> Result<Cell, ConvertError> {
    if value.is_null() {
        return Ok(Cell::Null);
    }
    match ty {
        ColumnType::Text => Ok(Cell::Text(text_without_nul(value, ty)?)),
        ColumnType::Int2 => to_int(&value, ty, i16::MIN as i64, i16::MAX as i64),
        ColumnType::Int4 => to_int(&value, ty, i32::MIN as i64, i32::MAX as i64),
        ColumnType::Int8 => to_int(&value, ty, i64::MIN, i64::MAX),
        ColumnType::Float4 | ColumnType::Float8 => to_float(&value, ty),
        ColumnType::Numeric => to_numeric(value, ty),
        ColumnType::Bool => to_bool(&value, ty),
        ColumnType::Date => to_date(&value, ty),
        ColumnType::Timestamp => to_timestamp(value, ty, false),
        ColumnType::TimestampTz => to_timestamp(value, ty, true),
        ColumnType::Uuid => to_uuid(&value, ty),
        ColumnType::Json => Ok(Cell::Json(value.to_string())),
        ColumnType::Jsonb => Ok(Cell::Jsonb(value)),
        ColumnType::TextArray => match value {
            Value::Array(items) => Ok(Cell::TextArray(
                items
                    .into_iter()
                    .map(|v| if v.is_null() { Ok(None) } else { text_without_nul(v, ty).map(Some) })
                    .collect::<Result<_, _>>()?,
            )),
            other => Err(ConvertError::new(ErrorKind::InvalidValue, ty, &other, " (expected a JSON array)")),
        },
        ColumnType::Other(_) => Ok(Cell::Input(text_without_nul(value, ty)?)),
    }
}

/// A value's text for a text-like column. Postgres text cannot hold NUL (`\u0000`): it would silently cut
/// the value, so it is an error, as in COPY and jsonb.
fn text_without_nul(value: Value, ty: &ColumnType) -> Result<String, ConvertError> {
    let text = into_text(value);
    if text.contains('\0') {
        let shown = Value::String(text.replace('\0', "\\u0000"));
        return Err(ConvertError::new(
            ErrorKind::UntranslatableCharacter,
            ty,
            &shown,
            " (\\u0000 cannot be converted to text)",
        ));
    }
    Ok(text)
}

/// A value's text the way `->>` shows it: strings unquoted, everything else as JSON.
pub fn into_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn to_int(value: &Value, ty: &ColumnType, min: i64, max: i64) -> Result<Cell, ConvertError> {
    let parsed: Option<i128> = match value {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e19).map(|f| f as i128)),
        Value::String(s) => s.trim().parse::<i128>().ok(),
        _ => None,
    };
    match parsed {
        None => Err(ConvertError::new(ErrorKind::InvalidValue, ty, value, "")),
        Some(i) if i < min as i128 || i > max as i128 => {
            Err(ConvertError::new(ErrorKind::OutOfRange, ty, value, " (out of range)"))
        }
        Some(i) => Ok(Cell::Int(i as i64)),
    }
}

fn to_float(value: &Value, ty: &ColumnType) -> Result<Cell, ConvertError> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_ascii_lowercase(),
        _ => String::new(),
    };
    let f = match text.as_str() {
        "nan" => f64::NAN,
        "infinity" | "inf" | "+infinity" | "+inf" => f64::INFINITY,
        "-infinity" | "-inf" => f64::NEG_INFINITY,
        digits => {
            let f = digits.parse::<f64>().map_err(|_| ConvertError::new(ErrorKind::InvalidValue, ty, value, ""))?;
            // Written digits that overflow or underflow the type are out of range, as float8in/float4in
            // say, not Infinity or 0 ("inf" parses too, but only the words above mean it).
            let nonzero = digits.split(['e', 'E']).next().unwrap_or("").bytes().any(|b| (b'1'..=b'9').contains(&b));
            let (overflow, underflow) = match ty {
                ColumnType::Float4 => (f.abs() > f32::MAX as f64, nonzero && (f as f32) == 0.0),
                _ => (f.is_infinite(), nonzero && f == 0.0),
            };
            if overflow || underflow || digits.contains("inf") || digits.contains("nan") {
                let kind = if overflow || underflow { ErrorKind::OutOfRange } else { ErrorKind::InvalidValue };
                let why = if kind == ErrorKind::OutOfRange { " (out of range)" } else { "" };
                return Err(ConvertError::new(kind, ty, value, why));
            }
            f
        }
    };
    Ok(Cell::Float(f))
}

fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    if ["nan", "infinity", "inf"].contains(&s.to_ascii_lowercase().as_str()) {
        return true;
    }
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next().unwrap_or("");
    let digits_ok = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = (!int.is_empty() || !frac.is_empty()) && digits_ok(int) && digits_ok(frac);
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits_ok(e)
    });
    mantissa_ok && exponent_ok
}

fn to_numeric(value: Value, ty: &ColumnType) -> Result<Cell, ConvertError> {
    match value {
        Value::Number(n) => Ok(Cell::Numeric(n.to_string())),
        Value::String(s) if is_decimal(s.trim()) => Ok(Cell::Numeric(s.trim().to_string())),
        other => Err(ConvertError::new(ErrorKind::InvalidValue, ty, &other, "")),
    }
}

fn to_bool(value: &Value, ty: &ColumnType) -> Result<Cell, ConvertError> {
    let parsed = match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "on" | "1" => Some(true),
            "false" | "f" | "no" | "n" | "off" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    };
    parsed.map(Cell::Bool).ok_or_else(|| ConvertError::new(ErrorKind::InvalidValue, ty, value, ""))
}

/// Seconds since 1970 from a JSON number or a numeric string (Slack's `ts` is "1712345678.000200").
fn epoch_seconds(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// Microseconds since 2000-01-01 UTC from Unix seconds, with microsecond precision kept for
/// fractional input.
fn micros_from_epoch(seconds: f64) -> Option<i64> {
    const PG_EPOCH_UNIX: i64 = 946_684_800;
    if !seconds.is_finite() {
        return None;
    }
    let whole = seconds.trunc();
    let micros = ((seconds - whole) * 1e6).round() as i64;
    let whole = whole as i64;
    whole.checked_sub(PG_EPOCH_UNIX)?.checked_mul(1_000_000)?.checked_add(micros)
}

pub(crate) fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    const FORMATS: [&str; 4] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"];
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(|d| d.and_time(NaiveTime::MIN)))
}

/// An ISO 8601 string with an explicit zone (`Z`, `+02:00`, `+0200`).
pub(crate) fn parse_zoned(s: &str) -> Option<DateTime<chrono::FixedOffset>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .or_else(|| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z").ok())
        .or_else(|| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%#z").ok())
}

fn micros_since_pg_epoch(t: NaiveDateTime) -> Option<i64> {
    (t - pg_epoch()).num_microseconds()
}

fn to_timestamp(value: Value, ty: &ColumnType, zoned: bool) -> Result<Cell, ConvertError> {
    let invalid = |v: &Value| ConvertError::new(ErrorKind::InvalidDatetime, ty, v, "");
    if let Some(seconds) = epoch_seconds(&value) {
        return micros_from_epoch(seconds).map(Cell::Timestamp).ok_or_else(|| invalid(&value));
    }
    let Value::String(s) = &value else { return Err(invalid(&value)) };
    let s = s.trim();
    if let Some(t) = parse_zoned(s) {
        // Postgres drops the zone of a zoned literal going into timestamp without time zone.
        let naive = if zoned { t.naive_utc() } else { t.naive_local() };
        return micros_since_pg_epoch(naive).map(Cell::Timestamp).ok_or_else(|| invalid(&value));
    }
    match parse_naive(s) {
        // A zone-less time for timestamptz means the session's zone, which only Postgres knows.
        Some(_) if zoned => Ok(Cell::Input(s.to_string())),
        Some(t) => micros_since_pg_epoch(t).map(Cell::Timestamp).ok_or_else(|| invalid(&value)),
        // Other spellings ('infinity', 'Jan 1 2024') are left to Postgres' parser.
        None => Ok(Cell::Input(s.to_string())),
    }
}

fn to_date(value: &Value, ty: &ColumnType) -> Result<Cell, ConvertError> {
    let invalid = || ConvertError::new(ErrorKind::InvalidDatetime, ty, value, "");
    let date = match value {
        Value::String(s) => {
            let s = s.trim();
            match NaiveDate::parse_from_str(s, "%Y-%m-%d").ok() {
                Some(d) => d,
                None => match parse_zoned(s).map(|t| t.naive_local()).or_else(|| parse_naive(s)) {
                    Some(t) => t.date(),
                    None => return Ok(Cell::Input(s.to_string())),
                },
            }
        }
        other => {
            let micros = epoch_seconds(other).and_then(micros_from_epoch).ok_or_else(invalid)?;
            // Microseconds reach about ±292,000 years, chrono's dates ±262,143: adding may overflow.
            pg_epoch().checked_add_signed(chrono::Duration::microseconds(micros)).ok_or_else(invalid)?.date()
        }
    };
    i32::try_from((date - pg_epoch_date()).num_days()).map(Cell::Date).map_err(|_| invalid())
}

fn to_uuid(value: &Value, ty: &ColumnType) -> Result<Cell, ConvertError> {
    let invalid = || ConvertError::new(ErrorKind::InvalidValue, ty, value, "");
    let Value::String(s) = value else { return Err(invalid()) };
    let hex: Vec<u8> = s.trim().trim_start_matches('{').trim_end_matches('}').bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 {
        return Err(invalid());
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).map_err(|_| invalid())?;
        out[i] = u8::from_str_radix(text, 16).map_err(|_| invalid())?;
    }
    Ok(Cell::Uuid(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(v: Value, ty: ColumnType) -> Cell {
        convert(v, &ty).unwrap()
    }

    fn err(v: Value, ty: ColumnType) -> ConvertError {
        convert(v, &ty).unwrap_err()
    }

    #[test]
    fn nulls_stay_null() {
        assert_eq!(ok(Value::Null, ColumnType::Int4), Cell::Null);
    }

    #[test]
    fn integers_accept_numbers_and_digit_strings_within_range() {
        assert_eq!(ok(json!(42), ColumnType::Int4), Cell::Int(42));
        assert_eq!(ok(json!("-7"), ColumnType::Int2), Cell::Int(-7));
        assert_eq!(ok(json!(3.0), ColumnType::Int8), Cell::Int(3));
        assert_eq!(err(json!(3.5), ColumnType::Int4).kind, ErrorKind::InvalidValue);
        assert_eq!(err(json!(40000), ColumnType::Int2).kind, ErrorKind::OutOfRange);
        assert_eq!(err(json!(u64::MAX), ColumnType::Int8).kind, ErrorKind::OutOfRange);
        let e = err(json!("abc"), ColumnType::Int4);
        assert_eq!(e.message, "\"abc\" is not a valid integer");
        assert_eq!(
            e.into_error("customers", "id").message,
            "column \"id\" of foreign table \"customers\": \"abc\" is not a valid integer"
        );
    }

    #[test]
    fn floats_and_numerics() {
        assert_eq!(ok(json!(0.125), ColumnType::Float8), Cell::Float(0.125));
        assert!(matches!(ok(json!("NaN"), ColumnType::Float8), Cell::Float(f) if f.is_nan()));
        assert_eq!(err(json!(1e300), ColumnType::Float4).kind, ErrorKind::OutOfRange);
        // Digits beyond the type are out of range, not Infinity or 0.
        for (text, ty) in [
            ("1e400", ColumnType::Float8),
            ("-1e400", ColumnType::Float8),
            ("1e-400", ColumnType::Float8),
            ("1e39", ColumnType::Float4),
            ("1e-50", ColumnType::Float4),
        ] {
            let e = err(json!(text), ty.clone());
            assert_eq!((e.kind, e.message.ends_with("(out of range)")), (ErrorKind::OutOfRange, true), "{text}");
            let number: Value = serde_json::from_str(text).unwrap();
            assert_eq!(err(number, ty).kind, ErrorKind::OutOfRange, "{text} as a JSON number");
        }
        assert_eq!(ok(json!("0e-400"), ColumnType::Float8), Cell::Float(0.0));
        assert_eq!(ok(json!("-Infinity"), ColumnType::Float4), Cell::Float(f64::NEG_INFINITY));
        assert_eq!(err(json!("infinityx"), ColumnType::Float8).kind, ErrorKind::InvalidValue);
        assert_eq!(ok(json!(1234.56), ColumnType::Numeric), Cell::Numeric("1234.56".into()));
        // Numbers keep their exact text (serde_json's arbitrary_precision): no detour through f64.
        let exact: Value = serde_json::from_str("12345678901234567890.123456789").unwrap();
        assert_eq!(ok(exact, ColumnType::Numeric), Cell::Numeric("12345678901234567890.123456789".into()));
        let big: Value = serde_json::from_str("9223372036854775807").unwrap();
        assert_eq!(ok(big, ColumnType::Int8), Cell::Int(i64::MAX));
        assert_eq!(ok(json!(" 1.5e3 "), ColumnType::Numeric), Cell::Numeric("1.5e3".into()));
        assert_eq!(ok(json!("-.5"), ColumnType::Numeric), Cell::Numeric("-.5".into()));
        assert_eq!(err(json!("12abc"), ColumnType::Numeric).kind, ErrorKind::InvalidValue);
        assert_eq!(err(json!("."), ColumnType::Numeric).kind, ErrorKind::InvalidValue);
        assert_eq!(err(json!(true), ColumnType::Numeric).kind, ErrorKind::InvalidValue);
    }

    #[test]
    fn text_takes_anything() {
        assert_eq!(ok(json!("x"), ColumnType::Text), Cell::Text("x".into()));
        assert_eq!(ok(json!(12), ColumnType::Text), Cell::Text("12".into()));
        assert_eq!(ok(json!({"a": 1}), ColumnType::Text), Cell::Text("{\"a\":1}".into()));
    }

    #[test]
    fn nul_in_text_is_an_error_not_a_cut() {
        for ty in [ColumnType::Text, ColumnType::TextArray, ColumnType::Other("citext".into())] {
            let value = if ty == ColumnType::TextArray { json!(["ok", "a\u{0}b"]) } else { json!("a\u{0}b") };
            let e = err(value, ty);
            assert_eq!(e.kind, ErrorKind::UntranslatableCharacter);
            assert_eq!(e.kind.sqlstate(), "22P05");
        }
        let e = err(json!("a\u{0}b"), ColumnType::Text).into_error("t", "note");
        assert!(e.message.starts_with("column \"note\" of foreign table \"t\": \"a\\u0000b\""), "{}", e.message);
    }

    #[test]
    fn booleans() {
        assert_eq!(ok(json!(true), ColumnType::Bool), Cell::Bool(true));
        assert_eq!(ok(json!("f"), ColumnType::Bool), Cell::Bool(false));
        assert_eq!(ok(json!(1), ColumnType::Bool), Cell::Bool(true));
        assert_eq!(err(json!("maybe"), ColumnType::Bool).kind, ErrorKind::InvalidValue);
    }

    #[test]
    fn timestamps_from_iso_and_epoch() {
        // 2000-01-01T00:00:01Z is one second after Postgres' epoch.
        assert_eq!(ok(json!("2000-01-01T00:00:01Z"), ColumnType::TimestampTz), Cell::Timestamp(1_000_000));
        assert_eq!(ok(json!("2000-01-01T02:00:01+02:00"), ColumnType::TimestampTz), Cell::Timestamp(1_000_000));
        assert_eq!(ok(json!(946_684_801), ColumnType::TimestampTz), Cell::Timestamp(1_000_000));
        assert_eq!(ok(json!("946684801.000200"), ColumnType::TimestampTz), Cell::Timestamp(1_000_200));
        // Zone-less into timestamptz goes through Postgres for the session's zone.
        assert_eq!(
            ok(json!("2024-01-01 10:00:00"), ColumnType::TimestampTz),
            Cell::Input("2024-01-01 10:00:00".into())
        );
        // Into timestamp, a zone is dropped as Postgres does.
        assert_eq!(ok(json!("2000-01-01T00:00:01+05:00"), ColumnType::Timestamp), Cell::Timestamp(1_000_000));
        assert_eq!(ok(json!("2000-01-01"), ColumnType::Timestamp), Cell::Timestamp(0));
        assert_eq!(ok(json!("infinity"), ColumnType::Timestamp), Cell::Input("infinity".into()));
        assert_eq!(err(json!(true), ColumnType::Timestamp).kind, ErrorKind::InvalidDatetime);
    }

    #[test]
    fn dates() {
        assert_eq!(ok(json!("2000-01-02"), ColumnType::Date), Cell::Date(1));
        assert_eq!(ok(json!("1999-12-31T23:00:00-05:00"), ColumnType::Date), Cell::Date(-1));
        assert_eq!(ok(json!(946_684_800 + 86_400), ColumnType::Date), Cell::Date(1));
        assert_eq!(err(json!([1]), ColumnType::Date).kind, ErrorKind::InvalidDatetime);
    }

    #[test]
    fn epoch_dates_past_chronos_range_are_errors_not_panics() {
        // Unix seconds within i64 microseconds but beyond year ±262,143.
        assert_eq!(err(json!(-8_334_601_228_801i64), ColumnType::Date).kind, ErrorKind::InvalidDatetime);
        assert_eq!(err(json!(9_000_000_000_000i64), ColumnType::Date).kind, ErrorKind::InvalidDatetime);
    }

    #[test]
    fn postgres_times_format_as_iso() {
        assert_eq!(date_to_iso(1).unwrap(), "2000-01-02");
        assert_eq!(date_to_iso(-1).unwrap(), "1999-12-31");
        assert_eq!(timestamp_to_iso(1_000_000, true).unwrap(), "2000-01-01T00:00:01Z");
        assert_eq!(timestamp_to_iso(1_000_200, false).unwrap(), "2000-01-01T00:00:01.000200");
        assert_eq!(date_to_iso(i32::MAX), None);
    }

    #[test]
    fn uuids() {
        let cell = ok(json!("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"), ColumnType::Uuid);
        assert!(matches!(cell, Cell::Uuid(b) if b[0] == 0xa0 && b[15] == 0x11));
        assert_eq!(err(json!("not-a-uuid"), ColumnType::Uuid).kind, ErrorKind::InvalidValue);
    }

    #[test]
    fn json_arrays_and_other_types() {
        assert_eq!(ok(json!({"a": [1]}), ColumnType::Json), Cell::Json("{\"a\":[1]}".into()));
        assert_eq!(ok(json!("s"), ColumnType::Jsonb), Cell::Jsonb(json!("s")));
        assert_eq!(
            ok(json!(["a", null, 3]), ColumnType::TextArray),
            Cell::TextArray(vec![Some("a".into()), None, Some("3".into())])
        );
        assert_eq!(err(json!("a"), ColumnType::TextArray).kind, ErrorKind::InvalidValue);
        assert_eq!(ok(json!(5), ColumnType::Other("interval".into())), Cell::Input("5".into()));
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(500);
        assert!(err(json!(long), ColumnType::Int4).message.len() < 100);
    }
}
