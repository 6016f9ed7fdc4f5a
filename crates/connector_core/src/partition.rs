//! Keys of a range partition column (`partition_column`): integers, dates and timestamps as integers, so
//! that windows are split and checked exactly. Integers are themselves (Unix seconds when the scan's start
//! time bounds them, as Stripe's `created`), dates are days and timestamps microseconds since 2000-01-01,
//! as Postgres stores them.

use crate::convert::{convert, timestamp_to_iso, Cell};
use crate::model::{ColumnType, Value as SqlValue};
use serde_json::Value;

/// Seconds from the Unix epoch to 2000-01-01.
const POSTGRES_EPOCH: i64 = 946_684_800;

/// Whether windows can be split on a column of this type.
pub fn partitionable(ty: &ColumnType) -> bool {
    matches!(
        ty,
        ColumnType::Int2
            | ColumnType::Int4
            | ColumnType::Int8
            | ColumnType::Date
            | ColumnType::Timestamp
            | ColumnType::TimestampTz
    )
}

/// Split points are multiples of this: whole seconds for timestamps (providers that take Unix seconds,
/// or times to the second, then get them exactly).
pub fn unit(ty: &ColumnType) -> i64 {
    match ty {
        ColumnType::Timestamp | ColumnType::TimestampTz => 1_000_000,
        _ => 1,
    }
}

/// The key of a record's value; `None` for null or a value that does not convert.
pub fn key_of_json(ty: &ColumnType, value: Value) -> Option<i64> {
    match convert(value, ty).ok()? {
        Cell::Int(i) => Some(i),
        Cell::Date(days) => Some(days.into()),
        Cell::Timestamp(micros) => Some(micros),
        _ => None,
    }
}

/// The key of a condition's value (an option's text is given as `Text`).
pub fn key_of_value(ty: &ColumnType, value: &SqlValue) -> Option<i64> {
    let json = match value {
        SqlValue::Int(i) => Value::from(*i),
        SqlValue::Text(s) | SqlValue::Date(s) | SqlValue::Timestamp(s) | SqlValue::TimestampTz(s) => {
            Value::String(s.clone())
        }
        _ => return None,
    };
    key_of_json(ty, json)
}

/// The key of `partition_start`. It only places split points (the first window is open below), so a
/// time without a zone, or a date, is read as UTC midnight for a timestamptz column.
pub fn start_key(ty: &ColumnType, text: &str) -> Option<i64> {
    let value = |t: &str| SqlValue::Text(t.to_string());
    key_of_value(ty, &value(text)).or_else(|| match ty {
        ColumnType::Timestamp | ColumnType::TimestampTz => {
            let naive = &ColumnType::Timestamp;
            key_of_value(naive, &value(text))
                .or_else(|| key_of_value(naive, &value(&format!("{}T00:00:00", text.trim()))))
        }
        _ => None,
    })
}

/// The condition value of a key, as the planner would have given it.
pub fn value_of_key(ty: &ColumnType, key: i64) -> SqlValue {
    match ty {
        ColumnType::Date => {
            let date = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
                .and_then(|d| d.checked_add_signed(chrono::Duration::days(key)))
                .unwrap_or_default();
            SqlValue::Date(date.format("%Y-%m-%d").to_string())
        }
        ColumnType::Timestamp => SqlValue::Timestamp(timestamp_to_iso(key, false).unwrap_or_default()),
        ColumnType::TimestampTz => SqlValue::TimestampTz(timestamp_to_iso(key, true).unwrap_or_default()),
        _ => SqlValue::Int(key),
    }
}

/// The key of the scan's start time: the upper bound of the range when the query gives none. Records
/// created later are still read, by the last window, which has no upper bound.
pub fn now_key(ty: &ColumnType) -> i64 {
    let now = chrono::Utc::now();
    match ty {
        ColumnType::Date => (now.timestamp() - POSTGRES_EPOCH).div_euclid(86_400) + 1,
        ColumnType::Timestamp | ColumnType::TimestampTz => now.timestamp_micros() - POSTGRES_EPOCH * 1_000_000,
        _ => now.timestamp(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_round_trip_through_condition_values() {
        for (ty, value) in [
            (ColumnType::Int8, SqlValue::Int(1_700_000_000)),
            (ColumnType::Date, SqlValue::Date("2024-02-29".into())),
            (ColumnType::Timestamp, SqlValue::Timestamp("2024-01-01T00:10:00".into())),
            (ColumnType::TimestampTz, SqlValue::TimestampTz("2024-01-01T00:10:00Z".into())),
            (ColumnType::TimestampTz, SqlValue::TimestampTz("2024-01-01T00:10:00.250001Z".into())),
        ] {
            let key = key_of_value(&ty, &value).unwrap();
            assert_eq!(value_of_key(&ty, key), value, "{ty:?}");
        }
        assert_eq!(key_of_value(&ColumnType::Date, &SqlValue::Date("2000-01-02".into())), Some(1));
        assert_eq!(key_of_value(&ColumnType::Int4, &SqlValue::Text("x".into())), None);
        let midnight = key_of_value(&ColumnType::TimestampTz, &SqlValue::TimestampTz("2024-01-01T00:00:00Z".into()));
        assert_eq!(start_key(&ColumnType::TimestampTz, "2024-01-01"), midnight);
        assert_eq!(start_key(&ColumnType::TimestampTz, "2024-01-01 00:00:00"), midnight);
        assert_eq!(start_key(&ColumnType::TimestampTz, "2024-01-01 01:00:00+01"), midnight);
        assert_eq!(start_key(&ColumnType::Date, "2000-01-03"), Some(2));
        assert_eq!(start_key(&ColumnType::Int8, "soon"), None);
    }

    #[test]
    fn record_values_become_keys() {
        let ty = ColumnType::TimestampTz;
        let a = key_of_json(&ty, json!("2024-01-01T00:01:00Z")).unwrap();
        let b = key_of_json(&ty, json!("2024-01-01T01:01:00+01:00")).unwrap();
        assert_eq!(a, b, "offsets are normalised");
        assert_eq!(key_of_json(&ty, Value::Null), None);
        assert_eq!(key_of_json(&ColumnType::Int8, json!(17)), Some(17));
        assert!(now_key(&ColumnType::TimestampTz) > a);
    }
}
