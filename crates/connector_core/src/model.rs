//! The typed vocabulary between the FDW layer and connectors: tables, columns, conditions, sorts, limits.
//! Connectors never see Postgres internals; the FDW layer translates plans into these values.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A constant from a query condition, already evaluated (parameters included).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Exact decimal text, as Postgres prints it.
    Numeric(String),
    Text(String),
    /// `YYYY-MM-DD`.
    Date(String),
    /// ISO 8601 without zone: `YYYY-MM-DDTHH:MM:SS[.ffffff]`.
    Timestamp(String),
    /// RFC 3339 in UTC: `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`.
    TimestampTz(String),
    Uuid(String),
    Json(serde_json::Value),
    /// The right-hand side of `IN (…)` / `= ANY(…)`.
    List(Vec<Value>),
}

impl Value {
    /// How the value is written into a query string or a provider's filter language: plain text,
    /// no quoting.
    pub fn to_param(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Numeric(s)
            | Value::Text(s)
            | Value::Date(s)
            | Value::Timestamp(s)
            | Value::TimestampTz(s)
            | Value::Uuid(s) => s.clone(),
            Value::Json(v) => v.to_string(),
            Value::List(items) => items.iter().map(Value::to_param).collect::<Vec<_>>().join(","),
        }
    }

    /// The value as a JSON value, for providers whose filters are JSON documents.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
            Value::Numeric(s) => {
                s.parse::<serde_json::Number>().map(J::Number).unwrap_or_else(|_| J::String(s.clone()))
            }
            Value::Json(v) => v.clone(),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            other => J::String(other.to_param()),
        }
    }

    /// SQL-literal rendering, for EXPLAIN.
    pub fn to_sql(&self) -> String {
        match self {
            Value::Null => "NULL".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Numeric(s) => s.clone(),
            Value::List(items) => format!("({})", items.iter().map(Value::to_sql).collect::<Vec<_>>().join(", ")),
            Value::Json(v) => quote_literal(&v.to_string()),
            other => quote_literal(&other.to_param()),
        }
    }
}

impl Value {
    /// For NaN and infinities (numbers, dates, timestamps): whether Postgres orders the value above every
    /// finite one (`NaN`, `infinity`) or below (`-infinity`). `None` for every other value.
    pub fn non_finite(&self) -> Option<bool> {
        match self {
            Value::Float(f) if !f.is_finite() => Some(f.is_nan() || *f > 0.0),
            Value::Numeric(s) | Value::Date(s) | Value::Timestamp(s) | Value::TimestampTz(s) => {
                match s.to_ascii_lowercase().as_str() {
                    "nan" | "infinity" => Some(true),
                    "-infinity" => Some(false),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// What a condition with a NaN or infinite value says about the values a provider holds, which are all
/// finite (JSON has no such numbers, APIs no such dates): `Some(false)` when it holds for none of them
/// (`created > 'infinity'`), `Some(true)` when it holds for every non-NULL one (`created < 'infinity'`),
/// `None` when the value is finite. Such values are never sent: providers reject them or read them as
/// something else.
pub fn non_finite_condition(op: Op, value: &Value) -> Option<bool> {
    let above = value.non_finite()?;
    Some(match op {
        Op::Eq | Op::In => false,
        Op::Ne => true,
        Op::Lt | Op::Le => above,
        Op::Gt | Op::Ge => !above,
        Op::IsNull | Op::IsNotNull | Op::Like | Op::ILike => return None,
    })
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Comparison operators a connector may serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `col IN (…)` / `col = ANY(…)`; the value is a `Value::List`.
    In,
    IsNull,
    IsNotNull,
    /// `col LIKE pattern` (`~~`), the pattern with Postgres' default escape, the backslash.
    Like,
    /// `col ILIKE pattern` (`~~*`).
    ILike,
}

impl Op {
    /// The comparison operators (pattern matches are declared one by one).
    pub const ALL: [Op; 9] = [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::In, Op::IsNull, Op::IsNotNull];

    /// The weaker operator whose rows include this one's (`>=` for `>`), for providers without it.
    pub fn relaxed(self) -> Option<Op> {
        match self {
            Op::Gt => Some(Op::Ge),
            Op::Lt => Some(Op::Le),
            _ => None,
        }
    }

    pub fn from_sql(name: &str) -> Option<Op> {
        Some(match name {
            "=" => Op::Eq,
            "<>" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "~~" => Op::Like,
            "~~*" => Op::ILike,
            _ => return None,
        })
    }

    /// The operator with its operands swapped (`5 < col` is `col > 5`); none for a pattern match, where
    /// `'abc' LIKE col` makes the column the pattern.
    pub fn commuted(self) -> Option<Op> {
        Some(match self {
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
            Op::Like | Op::ILike => return None,
            other => other,
        })
    }

    pub fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "IN",
            Op::IsNull => "IS NULL",
            Op::IsNotNull => "IS NOT NULL",
            Op::Like => "LIKE",
            Op::ILike => "ILIKE",
        }
    }
}

/// A condition on one column, with its value evaluated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Qual {
    pub column: String,
    pub op: Op,
    pub value: Value,
}

impl fmt::Display for Qual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            Op::IsNull | Op::IsNotNull => write!(f, "{} {}", quote_ident(&self.column), self.op.sql()),
            _ => write!(f, "{} {} {}", quote_ident(&self.column), self.op.sql(), self.value.to_sql()),
        }
    }
}

/// An `ORDER BY` key on a plain column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sort {
    pub column: String,
    pub desc: bool,
    pub nulls_first: bool,
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", quote_ident(&self.column), if self.desc { " DESC" } else { "" })?;
        if self.nulls_first != self.desc {
            f.write_str(if self.nulls_first { " NULLS FIRST" } else { " NULLS LAST" })?;
        }
        Ok(())
    }
}

/// A sort the provider serves in two phases because it places NULLs elsewhere than Postgres: first the rows
/// where `column` is NULL (when Postgres puts NULLs first) or is not, then the others, each phase sorted by
/// the provider and sent with the pushed conditions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NullSplit {
    pub column: String,
    pub nulls_first: bool,
}

impl NullSplit {
    /// The condition each phase adds on `column`, in phase order.
    pub fn phase_ops(&self) -> [Op; 2] {
        if self.nulls_first {
            [Op::IsNull, Op::IsNotNull]
        } else {
            [Op::IsNotNull, Op::IsNull]
        }
    }

    /// The request of phase `phase` (0 or 1): `request` with the phase's condition, and a pushed LIMIT of
    /// `rows` (the rows still needed, the offset already skipped by the scan).
    pub fn phase(&self, request: &ScanRequest, phase: usize, rows: Option<u64>) -> ScanRequest {
        let mut quals = request.quals.clone();
        quals.push(Qual { column: self.column.clone(), op: self.phase_ops()[phase], value: Value::Null });
        let limit = request.limit.map(|_| Limit { count: rows, offset: 0 });
        ScanRequest { quals, limit, ..request.clone() }
    }
}

/// `LIMIT count OFFSET offset`, pushed only when the remote result equals the local one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    pub count: Option<u64>,
    pub offset: u64,
}

impl Limit {
    /// Rows the scan must produce before the limit is satisfied, offset included.
    pub fn rows_needed(&self) -> Option<u64> {
        self.count.map(|c| c.saturating_add(self.offset))
    }

    /// How a pushed limit is carried out: rows the source must deliver and rows the scan skips itself.
    /// When the provider applies the offset, nothing is skipped locally.
    pub fn split(&self, provider_applies_offset: bool) -> LimitSplit {
        if provider_applies_offset {
            LimitSplit { source_rows: self.count, skip: 0, emit: self.count }
        } else {
            LimitSplit { source_rows: self.rows_needed(), skip: self.offset, emit: self.count }
        }
    }
}

/// A pushed limit, divided between provider and scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitSplit {
    /// Rows the source must produce (it may produce more; the scan stops reading).
    pub source_rows: Option<u64>,
    /// Rows the scan drops before emitting.
    pub skip: u64,
    /// Rows the scan emits at most.
    pub emit: Option<u64>,
}

/// Quote an identifier the way Postgres would print it.
pub fn quote_ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// The Postgres type of a column, as far as conversion cares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnType {
    Text,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Bool,
    Date,
    Timestamp,
    TimestampTz,
    Uuid,
    Json,
    Jsonb,
    TextArray,
    /// Any other type (varchar(n), enums, domains, intervals, …): converted by the type's own input
    /// function from the value's text, so Postgres enforces its rules.
    Other(String),
}

impl ColumnType {
    /// The type of a name as definitions and IMPORT FOREIGN SCHEMA spell it (`timestamptz`, `bigint`).
    pub fn from_name(name: &str) -> ColumnType {
        match name {
            "text" => ColumnType::Text,
            "smallint" => ColumnType::Int2,
            "integer" => ColumnType::Int4,
            "bigint" => ColumnType::Int8,
            "real" => ColumnType::Float4,
            "double precision" => ColumnType::Float8,
            "numeric" => ColumnType::Numeric,
            "boolean" => ColumnType::Bool,
            "date" => ColumnType::Date,
            "timestamp" => ColumnType::Timestamp,
            "timestamptz" => ColumnType::TimestampTz,
            "uuid" => ColumnType::Uuid,
            "json" => ColumnType::Json,
            "jsonb" => ColumnType::Jsonb,
            "text[]" => ColumnType::TextArray,
            other => ColumnType::Other(other.to_string()),
        }
    }

    pub fn sql_name(&self) -> &str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Int2 => "smallint",
            ColumnType::Int4 => "integer",
            ColumnType::Int8 => "bigint",
            ColumnType::Float4 => "real",
            ColumnType::Float8 => "double precision",
            ColumnType::Numeric => "numeric",
            ColumnType::Bool => "boolean",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp without time zone",
            ColumnType::TimestampTz => "timestamp with time zone",
            ColumnType::Uuid => "uuid",
            ColumnType::Json => "json",
            ColumnType::Jsonb => "jsonb",
            ColumnType::TextArray => "text[]",
            ColumnType::Other(name) => name,
        }
    }
}

/// A foreign table column with its options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub ty: ColumnType,
    pub options: BTreeMap<String, String>,
}

impl ColumnDef {
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Self {
        ColumnDef { name: name.into(), ty, options: BTreeMap::new() }
    }
    pub fn with_option(mut self, name: &str, value: &str) -> Self {
        self.options.insert(name.into(), value.into());
        self
    }
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }
}

/// A foreign table as the connector sees it: its name (for messages), options and columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    pub name: String,
    pub options: BTreeMap<String, String>,
    pub columns: Vec<ColumnDef>,
}

impl TableDef {
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// What one scan asks of a connector. `quals`, `sorts` and `limit` hold only what the framework decided
/// to push down (from the connector's own capability declaration), with values evaluated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScanRequest {
    /// Indexes into `TableDef::columns` of the columns the query reads; the rest may be left out.
    pub columns: Vec<usize>,
    pub quals: Vec<Qual>,
    pub sorts: Vec<Sort>,
    pub limit: Option<Limit>,
}

impl ScanRequest {
    pub fn quals_on<'a>(&'a self, column: &'a str) -> impl Iterator<Item = &'a Qual> + 'a {
        self.quals.iter().filter(move |q| q.column == column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quals_print_as_sql() {
        let q = Qual { column: "country".into(), op: Op::Eq, value: Value::Text("D'E".into()) };
        assert_eq!(q.to_string(), "country = 'D''E'");
        let q = Qual { column: "Amount".into(), op: Op::In, value: Value::List(vec![Value::Int(1), Value::Int(2)]) };
        assert_eq!(q.to_string(), "\"Amount\" IN (1, 2)");
        let q = Qual { column: "note".into(), op: Op::IsNull, value: Value::Null };
        assert_eq!(q.to_string(), "note IS NULL");
    }

    #[test]
    fn sorts_print_non_default_nulls_only() {
        let s = Sort { column: "amount".into(), desc: true, nulls_first: true };
        assert_eq!(s.to_string(), "amount DESC");
        let s = Sort { column: "amount".into(), desc: false, nulls_first: true };
        assert_eq!(s.to_string(), "amount NULLS FIRST");
    }

    #[test]
    fn commuting_swaps_inequalities_only() {
        assert_eq!(Op::Lt.commuted(), Some(Op::Gt));
        assert_eq!(Op::Ge.commuted(), Some(Op::Le));
        assert_eq!(Op::Eq.commuted(), Some(Op::Eq));
        assert_eq!(Op::Like.commuted(), None);
    }

    #[test]
    fn limit_counts_offset() {
        assert_eq!(Limit { count: Some(5), offset: 10 }.rows_needed(), Some(15));
        assert_eq!(Limit { count: None, offset: 10 }.rows_needed(), None);
        let l = Limit { count: Some(5), offset: 10 };
        assert_eq!(l.split(true), LimitSplit { source_rows: Some(5), skip: 0, emit: Some(5) });
        assert_eq!(l.split(false), LimitSplit { source_rows: Some(15), skip: 10, emit: Some(5) });
    }

    #[test]
    fn values_render_for_json_filters() {
        // Exact decimal text survives into JSON filters.
        assert_eq!(Value::Numeric("12.50".into()).to_json().to_string(), "12.50");
        assert_eq!(Value::Date("2024-01-02".into()).to_json(), serde_json::json!("2024-01-02"));
    }

    #[test]
    fn non_finite_conditions_are_decided_without_the_provider() {
        use super::{non_finite_condition, Op, Value};
        let inf = Value::TimestampTz("infinity".into());
        assert_eq!(non_finite_condition(Op::Gt, &inf), Some(false));
        assert_eq!(non_finite_condition(Op::Lt, &inf), Some(true));
        assert_eq!(non_finite_condition(Op::Ge, &Value::Date("-infinity".into())), Some(true));
        assert_eq!(non_finite_condition(Op::Eq, &Value::Float(f64::NAN)), Some(false));
        assert_eq!(non_finite_condition(Op::Le, &Value::Numeric("-Infinity".into())), Some(false));
        assert_eq!(non_finite_condition(Op::Gt, &Value::TimestampTz("2024-01-01T00:00:00Z".into())), None);
        assert_eq!(non_finite_condition(Op::Gt, &Value::Text("infinity".into())), None, "text is just text");
    }
}
