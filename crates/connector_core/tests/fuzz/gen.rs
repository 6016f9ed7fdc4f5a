//! Generators for the fuzz properties. Each one mixes values a provider or a DBA plausibly writes with the
//! edges where parsers break: numbers past every range, dates at chrono's limits, text with multi-byte
//! characters where byte offsets are taken, and plain arbitrary input.

use connector_core::model::{ColumnType, Op, Value as SqlValue};
use connector_core::options::{Kind, OptionSpec};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Object keys: mostly a small set, so paths and projections find what they look for; sometimes anything.
pub static KEYS: [&str; 12] =
    ["id", "data", "items", "next_cursor", "total", "has_more", "a", "b", "name", "", "x y", "it's"];

pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(&KEYS[..]).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

/// Text of a JSON number as the grammar allows it, with far more digits and larger exponents than any
/// machine type holds ("1e999", "-0", "12345678901234567890123.5"); kept exactly thanks to serde_json's
/// arbitrary_precision.
pub fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,5})?",
        prop::sample::select(vec![
            "-0",
            "1e999",
            "-1e999",
            "1e-400",
            "0.0",
            "-0.0",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            "340282366920938463463374607431768211456",
            "3.4028236e38",
            "1E+2"
        ])
        .prop_map(str::to_string),
    ]
}

pub fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Non-finite floats become null, which is fine: null is a value too.
        any::<f64>().prop_map(Value::from),
        // Unix seconds up to ±1e13: past chrono's ±262143 years (about ±8.2e12 s) on both sides.
        (-10_000_000_000_000i64..10_000_000_000_000).prop_map(Value::from),
        (-1e13f64..1e13).prop_map(Value::from),
        number_text().prop_map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t))),
    ]
}

/// Strings that some conversion treats specially, or nearly so.
static ODD_STRINGS: [&str; 40] = [
    "",
    " ",
    "1e999",
    "-0",
    "NaN",
    "nan",
    "Infinity",
    "-inf",
    "+infinity",
    "inf",
    "1.5e3",
    " 42 ",
    "0x10",
    "12abc",
    ".",
    "-.5",
    "+1",
    "-",
    "--1",
    "1.2.3",
    "e5",
    "1e",
    "9223372036854775808",
    "-9223372036854775809",
    "340282366920938463463374607431768211456",
    "true",
    "t",
    "yes",
    "maybe",
    "946684801.000200",
    "1.5.5",
    "-946684801",
    "infinity",
    "Jan 1 2024",
    "{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}",
    // 32 bytes of "hex" with multi-byte characters where a byte pair is cut.
    "a0eebc999c0b4ef8bb6d6bb9bd380aé",
    "a0eebc999c0b4ef8bb6d6bb9bd380é1",
    "é0eebc999c0b4ef8bb6d6bb9bd380a11",
    "00000000-0000-0000-0000-000000000000",
    "ññññññññññññññññ",
];

pub fn odd_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&ODD_STRINGS[..]).prop_map(str::to_string),
        3 => datetime_text(),
        2 => "[0-9.\\-]{0,24}",
        1 => "[0-9a-fA-F{}\\-]{30,40}",
        3 => any::<String>(),
    ]
}

/// Years where formats and ranges change: 0, 4 vs 5 digits, chrono's ±262143, Postgres' 294276.
fn year() -> impl Strategy<Value = i64> {
    prop_oneof![
        prop::sample::select(vec![
            0i64, 1, -1, 999, 1969, 1970, 2000, 9999, 10000, 99999, 262143, 262144, -262144, -262145, 294276
        ]),
        1900i64..2100,
        -400_000i64..400_000,
    ]
}

fn year_text(y: i64, signed: bool) -> String {
    match y {
        0..=9999 if !signed => format!("{y:04}"),
        _ if y >= 0 && !signed => y.to_string(),
        _ => format!("{y:+05}"),
    }
}

/// ISO 8601-ish timestamps with out-of-range fields and odd offsets (`+99:99`, `-2400`, `z`).
pub fn datetime_text() -> impl Strategy<Value = String> {
    let time = prop::option::of((0u32..=25, 0u32..=61, 0u32..=61, prop::option::of("[0-9]{1,12}")));
    let offset = prop_oneof![
        Just(String::new()),
        Just("Z".to_string()),
        Just("z".to_string()),
        (any::<bool>(), 0u32..=99, 0u32..=99, prop::sample::select(vec![":", ""]))
            .prop_map(|(neg, h, m, sep)| format!("{}{h:02}{sep}{m:02}", if neg { '-' } else { '+' })),
    ];
    (year(), any::<bool>(), 0u32..=13, 0u32..=32, time, prop::sample::select(vec!["T", " ", "t"]), offset).prop_map(
        |(y, signed, mo, d, time, sep, offset)| {
            let date = format!("{}-{mo:02}-{d:02}", year_text(y, signed));
            match time {
                None => date,
                Some((h, mi, s, frac)) => {
                    let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
                    format!("{date}{sep}{h:02}:{mi:02}:{s:02}{frac}{offset}")
                }
            }
        },
    )
}

pub fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        4 => number(),
        4 => odd_string().prop_map(Value::String),
    ]
    .boxed()
}

/// Any JSON document, a few levels deep.
pub fn json() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
            ]
        })
        .boxed()
}

/// A record as an API returns it: an object over the usual keys (occasionally something else entirely).
pub fn record() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => prop::collection::vec((key(), json()), 0..6).prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        1 => json(),
    ]
    .boxed()
}

pub fn column_type() -> impl Strategy<Value = ColumnType> {
    prop::sample::select(all_column_types())
}

pub fn all_column_types() -> Vec<ColumnType> {
    vec![
        ColumnType::Text,
        ColumnType::Int2,
        ColumnType::Int4,
        ColumnType::Int8,
        ColumnType::Float4,
        ColumnType::Float8,
        ColumnType::Numeric,
        ColumnType::Bool,
        ColumnType::Date,
        ColumnType::Timestamp,
        ColumnType::TimestampTz,
        ColumnType::Uuid,
        ColumnType::Json,
        ColumnType::Jsonb,
        ColumnType::TextArray,
        ColumnType::Other("interval".into()),
    ]
}

/// Valid JSONPaths of every shape the module distinguishes: root, plain members and indexes, a trailing
/// wildcard (all compiled to direct lookups), and general queries (descendants, filters, slices, unions).
pub static PATHS: [&str; 24] = [
    "$",
    "$.id",
    "$.a.b",
    "$['x y']",
    "$['it\\'s']",
    "$.data[0]",
    "$.data[-1]",
    "$.data[*]",
    "$.data",
    "$.items",
    "$.data[0].id",
    "$.a[1].b",
    "$[*]",
    "$[0]",
    "$..id",
    "$.data[?@.id > 1]",
    "$.data[0:2]",
    "$.data[::-1]",
    "$.data[*].id",
    "$['a','b']",
    "$[?length(@) > 1]",
    "$.total",
    "$.next_cursor",
    "$.data[-1].id",
];

pub fn path() -> impl Strategy<Value = String> {
    prop::sample::select(&PATHS[..]).prop_map(str::to_string)
}

/// Pieces of JSONPath syntax, glued at random after a `$`: mostly near-valid queries, which reach deeper
/// into the parser than random characters do.
static PATH_TOKENS: [&str; 44] = [
    ".",
    "..",
    "[",
    "]",
    "*",
    "?",
    "@",
    "$",
    "'",
    "\"",
    "\\",
    ",",
    ":",
    "(",
    ")",
    "0",
    "-1",
    "1",
    "2",
    "9007199254740991",
    "9007199254740992",
    "-9007199254740992",
    "99999999999999999999",
    "-0",
    "id",
    "a",
    "data",
    " ",
    "==",
    "!=",
    "<",
    ">=",
    "&&",
    "||",
    "!",
    "length(",
    "count(",
    "match(",
    "search(",
    "value(",
    "true",
    "null",
    "1e400",
    "é",
];

pub fn path_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(prop::sample::select(&PATH_TOKENS[..]), 0..16).prop_map(|t| format!("${}", t.concat())),
        1 => "\\$[\\[\\]\\.\\*\\?@'\"0-9:,a-z \\-()<>=!&|]{0,24}",
        1 => any::<String>(),
        1 => path(),
    ]
}

#[derive(Clone, Debug)]
enum Step {
    Key(&'static str),
    Index(i64),
}

/// A plain member/index path over the usual keys, written the way a DBA might: dots where the name allows,
/// brackets (with escaped quotes) elsewhere, negative indexes from the end.
pub fn simple_path() -> impl Strategy<Value = String> {
    let step = prop_oneof![
        3 => prop::sample::select(vec!["id", "data", "items", "a", "b", "x y", "it's"]).prop_map(Step::Key),
        2 => (-4i64..4).prop_map(Step::Index),
    ];
    (prop::collection::vec(step, 0..5), any::<bool>()).prop_map(|(steps, dots)| {
        let mut text = "$".to_string();
        for step in steps {
            match step {
                Step::Key(k) if dots && k.chars().all(|c| c.is_ascii_alphanumeric()) => text += &format!(".{k}"),
                Step::Key(k) => text += &format!("['{}']", k.replace('\'', "\\'")),
                Step::Index(i) => text += &format!("[{i}]"),
            }
        }
        text
    })
}

/// Option values each kind of option finds hard: range edges, numbers too small for `1/x`, URLs without
/// hosts, paths that do not parse, characters that are not one byte.
static OPTION_VALUES: [&str; 62] = [
    "",
    " ",
    "0",
    "1",
    "-1",
    "2",
    "64",
    "65",
    "100000",
    "100001",
    "3600000",
    "3600001",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    " 42 ",
    "1e-20",
    "1e-320",
    "5e-324",
    "1e308",
    "inf",
    "NaN",
    "0.0",
    "-0.0",
    "0.5",
    "true",
    "on",
    "off",
    "maybe",
    "none",
    "page",
    "offset",
    "cursor",
    "link",
    "bearer",
    "basic",
    "api_key",
    "header",
    "query",
    "csv",
    "json",
    "ndjson",
    "xml",
    "http://127.0.0.1:1/v1",
    "https://x",
    "ftp://x",
    "http://",
    "http:x",
    "not a url",
    "$",
    "$.data[*]",
    "$.data[",
    "$..id",
    "data",
    "/x.csv",
    "/data/x.json",
    ",",
    ";",
    "\t",
    "||",
    "\"",
    "é",
];

pub fn option_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(&OPTION_VALUES[..]).prop_map(str::to_string),
        1 => path_text(),
        1 => any::<String>(),
    ]
}

/// Names no scope declares, near misses included.
fn unknown_option_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["pagesize", "timeout", "PATH", "url ", "", "filter", "token "])
            .prop_map(str::to_string),
        "[a-z_]{1,12}",
    ]
}

/// A value of the form `kind` asks for, sometimes just past its edges; the caller mixes in values of any
/// form.
fn value_for(kind: &Kind) -> BoxedStrategy<String> {
    match kind {
        Kind::Text => {
            prop_oneof!["[a-z_/.]{0,8}", Just("/data/x.json".to_string()), Just("/x.ndjson".to_string())].boxed()
        }
        Kind::Secret => any::<String>().boxed(),
        Kind::AbsolutePath => {
            prop::sample::select(vec!["/srv/exports", "/", "relative/dir", "", " /x"]).prop_map(str::to_string).boxed()
        }
        // Definitions' patterned options (Stripe's dated API versions).
        Kind::Matches(_) => {
            prop_oneof!["[0-9a-z_.-]{0,12}", Just("2024-06-20".to_string()), Just("2024-06-20\n".to_string())].boxed()
        }
        Kind::Integer { min, max } => {
            let (min, max) = (*min, *max);
            prop_oneof![
                3 => (min..=max).prop_map(|n| n.to_string()),
                1 => prop::sample::select(vec![min, max, min.saturating_sub(1), max.saturating_add(1)]).prop_map(|n| n.to_string()),
            ]
            .boxed()
        }
        Kind::Number { .. } => number_option_value().boxed(),
        Kind::Bool => prop::sample::select(vec!["true", "off", "1", "t", "NO", " yes ", "false", "maybe", ""])
            .prop_map(str::to_string)
            .boxed(),
        Kind::OneOf(values) => prop::sample::select(values.clone()).prop_map(str::to_string).boxed(),
        Kind::JsonPath => prop_oneof![3 => path(), 1 => path_text()].boxed(),
        Kind::Url => prop::sample::select(vec![
            "http://127.0.0.1:1/v1",
            "https://h/x.csv",
            "http://h/x.json",
            "https://u:p@h/e.jsonl?token=abc",
            "https://[::1]:1/x",
            "HTTP://H/X.NDJSON",
            "ftp://x",
            "http://",
            "http:x",
        ])
        .prop_map(str::to_string)
        .boxed(),
    }
}

/// Numbers for numeric options: tiny rates whose inverse overflows a Duration, huge and negative counts.
pub fn number_option_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0", "1", "-1", "64", "100", "100000", "3600000", "1e-20", "1e-320", "5e-324", "1e-9", "0.001", "1e308",
            "inf", "NaN", "1.5"
        ])
        .prop_map(str::to_string),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        (1u32..400).prop_map(|e| format!("1e-{e}")),
    ]
}

/// Options for a scope whose declared options are `specs`: mostly declared names with values of their form,
/// sometimes a value of any form or a name nobody declares, so every branch of validation is reached.
pub fn options(specs: &'static [OptionSpec], max: usize) -> impl Strategy<Value = Vec<(String, String)>> {
    let declared = prop::sample::select(specs).prop_flat_map(|spec| {
        (Just(spec.name.clone()), prop_oneof![6 => value_for(&spec.kind), 1 => option_value().boxed()])
    });
    let pair = prop_oneof![12 => declared, 1 => (unknown_option_name(), option_value())];
    prop::collection::vec(pair, 0..max)
}

pub fn sql_value() -> impl Strategy<Value = SqlValue> {
    let scalar = prop_oneof![
        Just(SqlValue::Null),
        any::<bool>().prop_map(SqlValue::Bool),
        any::<i64>().prop_map(SqlValue::Int),
        any::<f64>().prop_map(SqlValue::Float),
        number_text().prop_map(SqlValue::Numeric),
        any::<String>().prop_map(SqlValue::Text),
        datetime_text().prop_map(SqlValue::Timestamp),
        json().prop_map(SqlValue::Json),
    ];
    prop_oneof![
        4 => scalar.clone(),
        1 => prop::collection::vec(scalar, 0..4).prop_map(SqlValue::List),
    ]
}

pub fn op() -> impl Strategy<Value = Op> {
    prop::sample::select(Op::ALL.to_vec())
}
