//! Datums to connector values (for pushed conditions) and converted cells to datums (for scanned rows).

use super::pg::cstr;
use connector_core::convert::{date_to_iso, timestamp_to_iso, Cell};
use connector_core::model::Value;
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::ffi::CString;

/// A condition's constant as a connector value. Dates and times are formatted here, not by Postgres'
/// output functions, so DateStyle and TimeZone cannot change what reaches a provider.
pub unsafe fn datum_to_value(datum: pg_sys::Datum, is_null: bool, type_oid: pg_sys::Oid) -> Value {
    use pg_sys::BuiltinOid as B;
    if is_null {
        return Value::Null;
    }
    match B::from_u32(type_oid.to_u32()) {
        Ok(B::BOOLOID) => Value::Bool(bool::from_datum(datum, false).unwrap_or(false)),
        Ok(B::INT2OID) => Value::Int(i16::from_datum(datum, false).unwrap_or(0).into()),
        Ok(B::INT4OID) => Value::Int(i32::from_datum(datum, false).unwrap_or(0).into()),
        Ok(B::INT8OID) => Value::Int(i64::from_datum(datum, false).unwrap_or(0)),
        Ok(B::FLOAT4OID) => Value::Float(f32::from_datum(datum, false).unwrap_or(0.0).into()),
        Ok(B::FLOAT8OID) => Value::Float(f64::from_datum(datum, false).unwrap_or(0.0)),
        Ok(B::NUMERICOID) => Value::Numeric(output_text(datum, type_oid)),
        // `infinity` and `-infinity` (the extreme values) keep their type, so they are known as such
        // (`Value::non_finite`) and never sent.
        Ok(B::DATEOID) => match datum.value() as i32 {
            i32::MAX => Value::Date("infinity".into()),
            i32::MIN => Value::Date("-infinity".into()),
            days => date_to_iso(days).map(Value::Date).unwrap_or_else(|| Value::Text(output_text(datum, type_oid))),
        },
        Ok(B::TIMESTAMPOID | B::TIMESTAMPTZOID) => {
            let tz = type_oid == pg_sys::TIMESTAMPTZOID;
            let typed = if tz { Value::TimestampTz } else { Value::Timestamp };
            match datum.value() as i64 {
                i64::MAX => typed("infinity".into()),
                i64::MIN => typed("-infinity".into()),
                micros => {
                    timestamp_to_iso(micros, tz).map(typed).unwrap_or_else(|| Value::Text(output_text(datum, type_oid)))
                }
            }
        }
        Ok(B::UUIDOID) => Value::Uuid(output_text(datum, type_oid)),
        Ok(B::JSONOID | B::JSONBOID) => {
            let text = output_text(datum, type_oid);
            serde_json::from_str(&text).map(Value::Json).unwrap_or(Value::Text(text))
        }
        _ => {
            let element = pg_sys::get_element_type(type_oid);
            if element != pg_sys::InvalidOid {
                Value::List(array_values(datum, element))
            } else {
                Value::Text(output_text(datum, type_oid))
            }
        }
    }
}

/// The elements of an array datum (NULL elements dropped: they never match `= ANY`).
unsafe fn array_values(datum: pg_sys::Datum, element: pg_sys::Oid) -> Vec<Value> {
    let array = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut pg_sys::ArrayType;
    let (mut typlen, mut typbyval, mut typalign) = (0i16, false, 0 as std::ffi::c_char);
    pg_sys::get_typlenbyvalalign(element, &mut typlen, &mut typbyval, &mut typalign);
    let mut values: *mut pg_sys::Datum = std::ptr::null_mut();
    let mut nulls: *mut bool = std::ptr::null_mut();
    let mut count = 0;
    pg_sys::deconstruct_array(array, element, typlen.into(), typbyval, typalign, &mut values, &mut nulls, &mut count);
    (0..count as usize).filter(|&i| !*nulls.add(i)).map(|i| datum_to_value(*values.add(i), false, element)).collect()
}

/// A datum's text by its type's output function.
pub unsafe fn output_text(datum: pg_sys::Datum, type_oid: pg_sys::Oid) -> String {
    let mut output: pg_sys::Oid = pg_sys::InvalidOid;
    let mut varlena = false;
    pg_sys::getTypeOutputInfo(type_oid, &mut output, &mut varlena);
    cstr(pg_sys::OidOutputFunctionCall(output, datum))
}

/// How one projected column becomes a datum: its slot position and, for cells that go through an input
/// function, the function looked up once per scan.
pub struct OutColumn {
    pub slot: usize,
    pub name: String,
    type_oid: pg_sys::Oid,
    typmod: i32,
    input: Option<(Box<pg_sys::FmgrInfo>, pg_sys::Oid)>,
}

impl OutColumn {
    pub unsafe fn new(slot: usize, name: String, type_oid: pg_sys::Oid, typmod: i32) -> Self {
        let mut function = pg_sys::InvalidOid;
        let mut io_param = pg_sys::InvalidOid;
        pg_sys::getTypeInputInfo(type_oid, &mut function, &mut io_param);
        let mut info: Box<pg_sys::FmgrInfo> = Box::new(std::mem::zeroed());
        pg_sys::fmgr_info(function, info.as_mut());
        OutColumn { slot, name, type_oid, typmod, input: Some((info, io_param)) }
    }

    unsafe fn input(&mut self, text: &str) -> pg_sys::Datum {
        let c = CString::new(text.replace('\0', "")).expect("NULs removed");
        let (info, io_param) = self.input.as_mut().expect("input function looked up");
        pg_sys::InputFunctionCall(info.as_mut(), c.as_ptr() as *mut _, *io_param, self.typmod)
    }

    /// The datum for a converted cell (`None` for NULL).
    pub unsafe fn datum(&mut self, cell: &Cell) -> Option<pg_sys::Datum> {
        use pg_sys::BuiltinOid as B;
        Some(match cell {
            Cell::Null => return None,
            Cell::Bool(b) => pg_sys::Datum::from(*b),
            Cell::Int(i) => match B::from_u32(self.type_oid.to_u32()) {
                Ok(B::INT2OID) => pg_sys::Datum::from(*i as i16),
                Ok(B::INT4OID) => pg_sys::Datum::from(*i as i32),
                _ => pg_sys::Datum::from(*i),
            },
            Cell::Float(f) => match B::from_u32(self.type_oid.to_u32()) {
                Ok(B::FLOAT4OID) => (*f as f32).into_datum()?,
                _ => f.into_datum()?,
            },
            // json is stored as its text.
            Cell::Text(s) | Cell::Json(s) => text_datum(s),
            Cell::Numeric(s) | Cell::Input(s) => self.input(s),
            Cell::Jsonb(v) => self.input(&v.to_string()),
            Cell::Date(days) => pg_sys::Datum::from(*days),
            Cell::Timestamp(micros) => pg_sys::Datum::from(*micros),
            Cell::Uuid(bytes) => {
                let ptr = pg_sys::palloc(16) as *mut u8;
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, 16);
                pg_sys::Datum::from(ptr)
            }
            Cell::TextArray(items) => items.clone().into_datum()?,
        })
    }
}

pub unsafe fn text_datum(s: &str) -> pg_sys::Datum {
    pg_sys::Datum::from(pg_sys::cstring_to_text_with_len(s.as_ptr() as *const _, s.len() as i32))
}

/// Store one row of converted cells into a slot (columns not among `columns` are NULL). Errors raised by
/// Postgres' input functions are raised again naming the column and table.
pub unsafe fn store_cells(columns: &mut [OutColumn], cells: &[Cell], slot: *mut pg_sys::TupleTableSlot, table: &str) {
    let natts = (*(*slot).tts_tupleDescriptor).natts as usize;
    let values = std::slice::from_raw_parts_mut((*slot).tts_values, natts);
    let nulls = std::slice::from_raw_parts_mut((*slot).tts_isnull, natts);
    nulls.fill(true);
    for (column, cell) in columns.iter_mut().zip(cells) {
        let datum = if matches!(cell, Cell::Input(_) | Cell::Numeric(_) | Cell::Jsonb(_)) {
            let name = column.name.clone();
            let column = std::panic::AssertUnwindSafe(&mut *column);
            PgTryBuilder::new(move || {
                let column = column;
                column.0.datum(cell)
            })
            .catch_others(|caught| match caught {
                pg_sys::panic::CaughtError::PostgresError(report) => {
                    let mut again = pg_sys::panic::ErrorReport::new(
                        report.sql_error_code(),
                        format!("column \"{name}\" of foreign table \"{table}\": {}", report.message()),
                        "connector_fdw",
                    );
                    if let Some(detail) = report.detail() {
                        again = again.set_detail(detail.to_string());
                    }
                    if let Some(hint) = report.hint() {
                        again = again.set_hint(hint.to_string());
                    }
                    again.report(PgLogLevel::ERROR);
                    unreachable!("ERROR does not return")
                }
                other => other.rethrow(),
            })
            .execute()
        } else {
            column.datum(cell)
        };
        if let Some(datum) = datum {
            values[column.slot] = datum;
            nulls[column.slot] = false;
        }
    }
    pg_sys::ExecStoreVirtualTuple(slot);
}

/// A datum as JSON for a request body: arrays keep their NULL elements, numerics their exact digits.
pub unsafe fn datum_to_json(datum: pg_sys::Datum, is_null: bool, type_oid: pg_sys::Oid) -> serde_json::Value {
    if is_null {
        return serde_json::Value::Null;
    }
    let element = pg_sys::get_element_type(type_oid);
    if element != pg_sys::InvalidOid {
        let array = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut pg_sys::ArrayType;
        let (mut typlen, mut typbyval, mut typalign) = (0i16, false, 0 as std::ffi::c_char);
        pg_sys::get_typlenbyvalalign(element, &mut typlen, &mut typbyval, &mut typalign);
        let mut values: *mut pg_sys::Datum = std::ptr::null_mut();
        let mut nulls: *mut bool = std::ptr::null_mut();
        let mut count = 0;
        pg_sys::deconstruct_array(
            array,
            element,
            typlen.into(),
            typbyval,
            typalign,
            &mut values,
            &mut nulls,
            &mut count,
        );
        return serde_json::Value::Array(
            (0..count as usize).map(|i| datum_to_json(*values.add(i), *nulls.add(i), element)).collect(),
        );
    }
    datum_to_value(datum, false, type_oid).to_json()
}
