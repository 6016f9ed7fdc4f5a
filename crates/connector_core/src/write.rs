//! The write side of foreign tables: INSERT, UPDATE and DELETE become provider requests.
//!
//! A row becomes a JSON record by placing each column's value at the column's path (`$.address.city`
//! builds `{"address": {"city": …}}`; a `$` column holding an object is merged in whole). What the provider
//! answers (the created record, say) comes back through the same paths for `RETURNING`.

use crate::error::{Error, ErrorKind, Result};
use crate::http::{Counters, Http};
use crate::jsonpath::JsonPath;
use crate::model::{TableDef, Value};
use async_trait::async_trait;
use serde_json::{Map, Value as Json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOp {
    Insert,
    Update,
    Delete,
}

/// A foreign table that accepts writes.
#[async_trait]
pub trait Writer: Send + Sync {
    /// Records per insert request: the provider's limit (1 sends each record alone).
    fn batch_size(&self) -> usize;
    /// The column that identifies a row for UPDATE and DELETE.
    fn key_column(&self) -> &str;
    /// The request an operation sends, for EXPLAIN (credentials never part of it).
    fn describe(&self, op: WriteOp) -> String;
    /// Create records; returns what the provider answered for each, in order (`Json::Null` when it
    /// answered nothing for a record).
    async fn insert(&self, http: &Http, records: Vec<Json>, counters: &Counters) -> Result<Vec<Json>>;
    /// Change the record `key` has; returns the provider's answer, if any.
    async fn update(&self, http: &Http, key: &Value, changes: Json, counters: &Counters) -> Result<Json>;
    /// Delete the record `key` has; returns the provider's answer, if any.
    async fn delete(&self, http: &Http, key: &Value, counters: &Counters) -> Result<Json>;
    /// Rows per UPDATE or DELETE request when nobody needs each row's answer (1: each row alone).
    fn change_batch_size(&self) -> usize {
        1
    }
    /// Change several records (distinct keys, at most `change_batch_size` of them).
    async fn update_batch(&self, http: &Http, rows: Vec<(Value, Json)>, counters: &Counters) -> Result<()> {
        for (key, changes) in rows {
            self.update(http, &key, changes, counters).await?;
        }
        Ok(())
    }
    /// Delete several records (distinct keys, at most `change_batch_size` of them).
    async fn delete_batch(&self, http: &Http, keys: Vec<Value>, counters: &Counters) -> Result<()> {
        for key in keys {
            self.delete(http, &key, counters).await?;
        }
        Ok(())
    }
}

/// The path a column's value is written at, as member names; an error for paths that cannot be written.
pub fn write_path(table: &TableDef, column: usize) -> Result<Vec<String>> {
    let def = &table.columns[column];
    let path = match def.option("path") {
        Some(p) => JsonPath::parse(p).map_err(|e| Error::option_value("path", e))?,
        None => JsonPath::key(&def.name),
    };
    path.plain_keys().ok_or_else(|| {
        Error::not_supported(format!(
            "column \"{}\" of foreign table \"{}\" cannot be written: its path {path} is not a plain member path",
            def.name, table.name
        ))
    })
}

/// Build a record from column values (`None` values are JSON null).
pub fn record(table: &TableDef, values: &[(usize, Json)]) -> Result<Json> {
    let mut record = Json::Object(Map::new());
    for (column, value) in values {
        let keys = write_path(table, *column)?;
        if keys.is_empty() {
            // The whole record: an object is merged in, anything else is not a record.
            match value {
                Json::Object(members) => {
                    for (k, v) in members {
                        set(&mut record, std::slice::from_ref(k), v.clone());
                    }
                }
                Json::Null => {}
                other => {
                    return Err(Error::new(
                        ErrorKind::InvalidValue,
                        format!(
                            "column \"{}\" of foreign table \"{}\" holds the whole record, so it must be a JSON object, not {other}",
                            table.columns[*column].name, table.name
                        ),
                    ))
                }
            }
        } else {
            set(&mut record, &keys, value.clone());
        }
    }
    Ok(record)
}

/// Put `value` at the member path `keys` of `target`, making objects on the way.
pub(crate) fn set(target: &mut Json, keys: &[String], value: Json) {
    let Some((first, rest)) = keys.split_first() else {
        *target = value;
        return;
    };
    if !target.is_object() {
        *target = Json::Object(Map::new());
    }
    let Json::Object(map) = target else { unreachable!("made an object above") };
    let slot = map.entry(first.clone()).or_insert(Json::Null);
    if rest.is_empty() {
        *slot = value;
    } else {
        set(slot, rest, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ColumnDef, ColumnType};
    use serde_json::json;

    fn table() -> TableDef {
        TableDef {
            name: "people".into(),
            options: Default::default(),
            columns: vec![
                ColumnDef::new("id", ColumnType::Int4),
                ColumnDef::new("city", ColumnType::Text).with_option("path", "$.address.city"),
                ColumnDef::new("zip", ColumnType::Text).with_option("path", "$['address']['zip']"),
                ColumnDef::new("extra", ColumnType::Jsonb).with_option("path", "$"),
                ColumnDef::new("first", ColumnType::Text).with_option("path", "$.names[0]"),
            ],
        }
    }

    #[test]
    fn values_land_at_their_paths() {
        let r = record(&table(), &[(0, json!(7)), (1, json!("Oslo")), (2, json!("0150"))]).unwrap();
        assert_eq!(r, json!({"id": 7, "address": {"city": "Oslo", "zip": "0150"}}));
    }

    #[test]
    fn a_whole_record_column_is_merged() {
        let r = record(&table(), &[(3, json!({"note": "x", "id": 1})), (0, json!(2))]).unwrap();
        assert_eq!(r, json!({"note": "x", "id": 2}));
        let e = record(&table(), &[(3, json!("text"))]).unwrap_err();
        assert!(e.message.contains("must be a JSON object"), "{}", e.message);
    }

    #[test]
    fn paths_with_indexes_cannot_be_written() {
        let e = record(&table(), &[(4, json!("Ada"))]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotSupported);
        assert!(e.message.contains("column \"first\""), "{}", e.message);
    }
}
