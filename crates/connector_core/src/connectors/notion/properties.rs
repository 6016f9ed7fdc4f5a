//! Property values by their Notion type: simplified for reading, as filter objects for pushed conditions,
//! and as property values for writes.

use super::READ_ONLY;
use crate::connectors::airtable::non_finite;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{ColumnType, Op, Value as SqlValue};
use crate::pushdown::Support;
use serde_json::{json, Value};

/// Concatenated plain text of a rich text array.
pub(super) fn plain_text(items: &Value) -> String {
    items
        .as_array()
        .map(|items| {
            items.iter().filter_map(|t| t["plain_text"].as_str().or_else(|| t["text"]["content"].as_str())).collect()
        })
        .unwrap_or_default()
}

/// A user as text: the name, else the id.
fn user(value: &Value) -> Value {
    value.get("name").filter(|n| n.is_string()).or_else(|| value.get("id")).cloned().unwrap_or(Value::Null)
}

fn non_empty(items: Vec<Value>) -> Value {
    if items.is_empty() {
        Value::Null
    } else {
        Value::Array(items)
    }
}

/// A property value simplified: text, numbers, booleans, timestamps, arrays of names or ids. Empty text
/// and empty lists are NULL, as Notion's `is_empty` sees them.
pub fn simplify(property: &Value) -> Value {
    let kind = property["type"].as_str().unwrap_or_default();
    let value = &property[kind];
    match kind {
        "title" | "rich_text" => match plain_text(value) {
            text if text.is_empty() => Value::Null,
            text => Value::String(text),
        },
        "number" | "checkbox" | "url" | "email" | "phone_number" | "created_time" | "last_edited_time" => value.clone(),
        "select" | "status" => value.get("name").cloned().unwrap_or(Value::Null),
        "multi_select" => {
            non_empty(value.as_array().into_iter().flatten().filter_map(|o| o.get("name").cloned()).collect())
        }
        "date" => value.get("start").cloned().unwrap_or(Value::Null),
        "people" => non_empty(value.as_array().into_iter().flatten().map(user).collect()),
        "relation" => non_empty(value.as_array().into_iter().flatten().filter_map(|o| o.get("id").cloned()).collect()),
        "created_by" | "last_edited_by" => user(value),
        "files" => non_empty(
            value
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| {
                    f["file"]["url"].as_str().or_else(|| f["external"]["url"].as_str()).or_else(|| f["name"].as_str())
                })
                .map(|u| Value::String(u.to_string()))
                .collect(),
        ),
        "unique_id" => match (value["prefix"].as_str(), &value["number"]) {
            (_, Value::Null) => Value::Null,
            (Some(prefix), number) if !prefix.is_empty() => Value::String(format!("{prefix}-{number}")),
            (_, number) => number.clone(),
        },
        // Computed values carry their own type.
        "formula" | "rollup" => match value["type"].as_str() {
            Some("array") => non_empty(
                value["array"].as_array().into_iter().flatten().map(simplify).filter(|v| !v.is_null()).collect(),
            ),
            Some("date") => value["date"].get("start").cloned().unwrap_or(Value::Null),
            Some("incomplete") | Some("unsupported") | None => Value::Null,
            Some(inner) => value[inner].clone(),
        },
        _ => value.clone(),
    }
}

/// What a column reads from a page.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Source {
    Member(&'static str),
    /// All properties, as Notion sends them.
    Properties,
    Property {
        name: String,
        kind: Option<String>,
    },
}

#[derive(Clone, Debug)]
pub(super) struct Column {
    pub(super) name: String,
    pub(super) source: Source,
    pub(super) ty: ColumnType,
    pub(super) sortable: bool,
}

pub(super) const MEMBERS: [&str; 5] = ["id", "created_time", "last_edited_time", "url", "archived"];

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

    /// The property's Notion type: declared, else inferred from the column type where that is unambiguous.
    pub(super) fn kind(&self) -> Option<&str> {
        match &self.source {
            Source::Property { kind: Some(kind), .. } => Some(kind),
            Source::Property { kind: None, .. } if self.ty == ColumnType::Bool => Some("checkbox"),
            Source::Property { kind: None, .. } if self.is_number() => Some("number"),
            _ => None,
        }
    }

    /// Pushed operators, and whether Notion applies them exactly.
    pub(super) fn operators(&self) -> Vec<(Op, Support)> {
        use Op::*;
        let exact = |ops: &[Op]| ops.iter().map(|&op| (op, Support::Exact)).collect::<Vec<_>>();
        let raw = matches!(self.ty, ColumnType::Json | ColumnType::Jsonb);
        match self.kind() {
            _ if raw => vec![],
            Some("number") if self.is_number() => exact(&Op::ALL),
            Some("checkbox") if self.ty == ColumnType::Bool => exact(&[Eq, Ne]),
            Some("select" | "status") if self.ty == ColumnType::Text => exact(&[Eq, Ne, In, IsNull, IsNotNull]),
            // Text matching is Notion's (its case and whitespace rules): Postgres rechecks.
            Some("title" | "rich_text" | "url" | "email" | "phone_number") if self.ty == ColumnType::Text => {
                let mut ops = exact(&[IsNull, IsNotNull]);
                ops.extend([(Eq, Support::Superset), (In, Support::Superset)]);
                ops
            }
            Some("date") if self.ty == ColumnType::Date => {
                let mut ops = exact(&[IsNull, IsNotNull]);
                ops.extend([Eq, Lt, Le, Gt, Ge].map(|op| (op, Support::Superset)));
                ops
            }
            Some("multi_select" | "people" | "relation" | "files") => exact(&[IsNull, IsNotNull]),
            _ => vec![],
        }
    }

    /// The value a column shows for a page.
    pub(super) fn read(&self, page: &Value) -> Value {
        match &self.source {
            Source::Member(member) => page.get(*member).cloned().unwrap_or(Value::Null),
            Source::Properties => page["properties"].clone(),
            Source::Property { name, .. } => {
                let Some(property) = page["properties"].get(name) else { return Value::Null };
                match self.ty {
                    ColumnType::Json | ColumnType::Jsonb => property.clone(),
                    // A date column shows the date as written (a start with a time keeps its own day).
                    ColumnType::Date => match simplify(property) {
                        Value::String(s) if s.len() > 10 => Value::String(s.chars().take(10).collect()),
                        other => other,
                    },
                    _ => simplify(property),
                }
            }
        }
    }

    /// One condition as a Notion filter object.
    pub(super) fn filter(&self, op: Op, value: &SqlValue) -> Option<Value> {
        let Source::Property { name, .. } = &self.source else { return None };
        let kind = self.kind()?;
        let single = |condition: &str, v: Value| json!({ "property": name, kind: { condition: v } });
        let present = || single("is_not_empty", json!(true));
        let as_json = |v: &SqlValue| -> Option<Value> {
            match (kind, v) {
                (_, SqlValue::Null | SqlValue::List(_)) => None,
                ("number", SqlValue::Int(_) | SqlValue::Float(_) | SqlValue::Numeric(_)) => {
                    Some(v.to_json()).filter(Value::is_number)
                }
                ("number", _) => None,
                ("checkbox", SqlValue::Bool(b)) => Some(json!(b)),
                ("checkbox", _) => None,
                (_, v) => Some(Value::String(v.to_param())),
            }
        };
        let equals = |v: &SqlValue| match (kind, v) {
            // Empty text reads as NULL, so `= ''` matches nothing; Postgres rechecks what is_empty returns.
            ("title" | "rich_text" | "url" | "email" | "phone_number", SqlValue::Text(t)) if t.is_empty() => {
                Some(single("is_empty", json!(true)))
            }
            _ => as_json(v).map(|v| single("equals", v)),
        };
        // A filter no page passes.
        let never = || json!({ "and": [single("is_empty", json!(true)), present()] });
        if let (true, Some(above)) = (kind == "number", non_finite(value)) {
            // Postgres orders NaN and Infinity above every number (-Infinity below); Notion has neither.
            return Some(match op {
                Op::Ne | Op::IsNotNull => present(),
                Op::Lt | Op::Le if above => present(),
                Op::Gt | Op::Ge if !above => present(),
                _ => never(),
            });
        }
        Some(match op {
            Op::IsNull => single("is_empty", json!(true)),
            Op::IsNotNull => present(),
            Op::Like | Op::ILike => return None,
            Op::Eq => equals(value)?,
            Op::In => {
                let SqlValue::List(items) = value else { return None };
                let items =
                    items.iter().filter(|v| **v != SqlValue::Null && !(kind == "number" && non_finite(v).is_some()));
                let options = items.map(equals).collect::<Option<Vec<_>>>()?;
                match options.len() {
                    0 => never(),
                    1 => options.into_iter().next()?,
                    _ => json!({ "or": options }),
                }
            }
            // "Does not equal" keeps empty values, which SQL's <> does not.
            Op::Ne if kind == "checkbox" => single("does_not_equal", as_json(value)?),
            Op::Ne => json!({ "and": [single("does_not_equal", as_json(value)?), present()] }),
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                let condition = match (kind, op) {
                    ("date", Op::Lt) => "before",
                    ("date", Op::Le) => "on_or_before",
                    ("date", Op::Gt) => "after",
                    ("date", _) => "on_or_after",
                    (_, Op::Lt) => "less_than",
                    (_, Op::Le) => "less_than_or_equal_to",
                    (_, Op::Gt) => "greater_than",
                    _ => "greater_than_or_equal_to",
                };
                let compared = single(condition, as_json(value)?);
                if kind == "number" {
                    json!({ "and": [compared, present()] })
                } else {
                    compared
                }
            }
        })
    }

    /// The property value a write sends for a column value.
    pub(super) fn write(&self, value: Value, table: &str) -> Result<Value> {
        let kind = self.kind().or(match self.ty {
            ColumnType::Text => Some("rich_text"),
            ColumnType::TextArray => Some("multi_select"),
            ColumnType::Date | ColumnType::Timestamp | ColumnType::TimestampTz => Some("date"),
            ColumnType::Json | ColumnType::Jsonb => None,
            _ => None,
        });
        if matches!(self.ty, ColumnType::Json | ColumnType::Jsonb) && value.is_object() {
            // A raw property value, as the column reads it.
            return Ok(value);
        }
        let refuse = |why: &str| {
            Error::new(ErrorKind::InvalidValue, format!("column \"{}\" of foreign table \"{table}\" {why}", self.name))
        };
        let kind = kind.ok_or_else(|| refuse("has no Notion property type: set its column option type"))?;
        if READ_ONLY.contains(&kind) {
            return Err(refuse(&format!("is a {kind} property, which Notion computes and writes cannot set")));
        }
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let list = |v: &Value| -> Vec<Value> {
            match v {
                Value::Array(items) => items.clone(),
                Value::Null => vec![],
                other => vec![other.clone()],
            }
        };
        // Notion's request limits: what exceeds one is refused here, naming the column, not with a 400.
        let over = |what: &str, limit: usize| {
            refuse(&format!("holds more than Notion accepts in a {kind} property: at most {limit} {what}"))
        };
        let counted = |items: Vec<Value>, limit: usize| {
            if items.len() > limit {
                Err(over("items", limit))
            } else {
                Ok(items)
            }
        };
        let body = match (kind, &value) {
            ("title" | "rich_text", Value::Null) => json!([]),
            ("title" | "rich_text", v) => {
                let runs = text_runs(&text(v));
                if runs.len() > MAX_RICH_TEXT_RUNS {
                    return Err(over(
                        &format!(
                            "text runs of {MAX_RUN_LENGTH} characters ({} characters)",
                            MAX_RICH_TEXT_RUNS * MAX_RUN_LENGTH
                        ),
                        MAX_RICH_TEXT_RUNS,
                    ));
                }
                Value::Array(
                    runs.into_iter().map(|run| json!({ "type": "text", "text": { "content": run } })).collect(),
                )
            }
            ("url" | "email" | "phone_number", Value::String(s)) => {
                let limit = if kind == "url" { MAX_RUN_LENGTH } else { 200 };
                if utf16_len(s) > limit {
                    return Err(over("characters", limit));
                }
                value.clone()
            }
            ("multi_select", v) => {
                Value::Array(counted(list(v), 100)?.iter().map(|n| json!({ "name": text(n) })).collect())
            }
            ("people" | "relation", v) => {
                Value::Array(counted(list(v), 100)?.iter().map(|id| json!({ "id": text(id) })).collect())
            }
            ("select" | "status", Value::Null) => Value::Null,
            ("select" | "status", v) => json!({ "name": text(v) }),
            ("date", Value::Null) => Value::Null,
            ("date", v) => json!({ "start": text(v) }),
            ("number" | "checkbox" | "url" | "email" | "phone_number", v) => v.clone(),
            (other, _) => return Err(refuse(&format!("is a {other} property, which this connector does not write"))),
        };
        Ok(json!({ kind: body }))
    }
}

/// Notion's limits on a rich text array: 2,000 characters a run (`text.content`), 100 runs.
pub const MAX_RUN_LENGTH: usize = 2000;
pub const MAX_RICH_TEXT_RUNS: usize = 100;

/// Length as Notion counts it (JavaScript's UTF-16 code units).
fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Text as rich text runs of at most [`MAX_RUN_LENGTH`] UTF-16 units each, split between characters;
/// reading joins them again.
pub fn text_runs(text: &str) -> Vec<String> {
    let mut runs = vec![String::new()];
    let mut units = 0;
    for c in text.chars() {
        if units + c.len_utf16() > MAX_RUN_LENGTH {
            runs.push(String::new());
            units = 0;
        }
        units += c.len_utf16();
        runs.last_mut().expect("never empty").push(c);
    }
    runs
}
