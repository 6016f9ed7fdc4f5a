//! `connector_fdw.push(target, query)`: send a query's rows to a provider through the target foreign
//! table's write path, and report what was sent and what failed.
//!
//! Rows go in batches of the provider's size. A batch the provider refuses is sent again one row at a
//! time, so one bad row does not cost the others and each failure has its own reason. A provider that
//! cannot be reached at all ends the push with an error (no row could succeed). Providers that apply part
//! of a refused batch should be given `batch_size '1'`.

use super::catalog;
use super::clients;
use super::datum::datum_to_json;
use super::exec::run_interruptibly;
use super::pg::{raise, OrRaise};
use connector_core::http::Counters;
use connector_core::write;
use connector_core::{Error, ErrorKind};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::Spi;
use serde_json::{json, Value as Json};
use std::sync::Arc;

struct Failure {
    row: u64,
    key: Json,
    error: Error,
}

#[pg_extern(name = "_push")]
fn push(
    target: pg_sys::Oid,
    query: &str,
    stop_on_error: bool,
) -> TableIterator<'static, (name!(rows_sent, i64), name!(rows_failed, i64), name!(failures, pgrx::datum::JsonB))> {
    check_target(target);
    // SAFETY: check_target made sure `target` is a foreign table of ours; in this function's transaction.
    let foreign = unsafe { catalog::load(target) };
    let writer = foreign.handle.writer().unwrap_or_else(|| {
        raise(Error::not_supported(format!(
            "foreign table \"{}\" is read-only: connector \"{}\" does not write",
            foreign.table.name,
            foreign.connector.name()
        )))
    });
    // SAFETY: catalog lookups of the server just loaded and the current role, in this transaction.
    let http = unsafe {
        let user = pg_sys::GetUserId();
        let (mapping, options) = super::credentials::user_mapping(foreign.server_oid, user);
        clients::http_client(foreign.server_oid, user, mapping, &foreign.server, &options)
    };
    let counters = Arc::new(Counters::default());
    let batch_size = writer.batch_size().max(1);
    let (mut sent, mut row): (u64, u64) = (0, 0);
    let mut failures: Vec<Failure> = Vec::new();

    Spi::connect(|client| {
        let mut cursor = client.open_cursor(query, &[]);
        // Each query column goes to the target column of the same name.
        let mut mapping: Option<Vec<(usize, pg_sys::Oid)>> = None;
        let key_position = std::cell::Cell::new(None);
        loop {
            let mut table = cursor.fetch(batch_size as libc::c_long).or_raise_spi();
            if table.is_empty() {
                break;
            }
            let columns = mapping.get_or_insert_with(|| {
                let count = table.columns().or_raise_spi();
                (1..=count)
                    .map(|i| {
                        let name = table.column_name(i).or_raise_spi();
                        let index = foreign
                            .table
                            .columns
                            .iter()
                            .enumerate()
                            .position(|(j, c)| c.name == name && !foreign.attrs[j].dropped);
                        let Some(index) = index else {
                            let valid: Vec<&str> = foreign.table.columns.iter().map(|c| c.name.as_str()).collect();
                            raise(
                                Error::new(
                                    ErrorKind::InvalidValue,
                                    format!(
                                        "the query's column \"{name}\" is not a column of foreign table \"{}\"",
                                        foreign.table.name
                                    ),
                                )
                                .with_hint(format!(
                                    "Name the query's columns after the target's: {}.",
                                    valid.join(", ")
                                )),
                            )
                        };
                        may_insert_column(target, &foreign.table.name, &name);
                        if name == writer.key_column() {
                            key_position.set(Some(i - 1));
                        }
                        (index, table.column_type_oid(i).or_raise_spi().value())
                    })
                    .collect()
            });
            let mut records = Vec::new();
            let mut keys = Vec::new();
            while table.next().is_some() {
                let fields: Vec<(usize, Json)> = columns
                    .iter()
                    .enumerate()
                    .map(|(i, (index, type_oid))| {
                        let datum = table.get_datum_by_ordinal(i + 1).or_raise_spi();
                        // SAFETY: SPI returned `datum` for a column of type `type_oid`; it stays valid while the SPI connection is open.
                        (*index, unsafe {
                            datum_to_json(datum.unwrap_or(pg_sys::Datum::from(0)), datum.is_none(), *type_oid)
                        })
                    })
                    .collect();
                keys.push(key_position.get().map(|k| fields[k].1.clone()).unwrap_or(Json::Null));
                records.push(write::record(&foreign.table, &fields).or_raise());
            }
            let first_row = row + 1;
            row += records.len() as u64;
            let send = |records: Vec<Json>| {
                let (writer, http, counters) = (writer.clone(), http.clone(), counters.clone());
                run_interruptibly(async move { writer.insert(&http, records, &counters).await })
            };
            let outcome = send(records.clone());
            let refused = match outcome {
                Ok(_) => {
                    sent += records.len() as u64;
                    continue;
                }
                Err(e) if e.kind == ErrorKind::Connection => raise(e),
                Err(e) if records.len() == 1 => vec![(0, e)],
                // Find which rows the provider refuses.
                Err(_) => records
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, record)| match send(vec![record]) {
                        Ok(_) => {
                            sent += 1;
                            None
                        }
                        Err(e) if e.kind == ErrorKind::Connection => raise(e),
                        Err(e) => Some((i, e)),
                    })
                    .collect(),
            };
            for (i, error) in refused {
                if stop_on_error {
                    raise(Error {
                        message: format!("row {} was refused: {}", first_row + i as u64, error.message),
                        hint: Some(format!("{sent} rows were sent before it; they stay sent.")),
                        ..error
                    });
                }
                failures.push(Failure { row: first_row + i as u64, key: keys[i].clone(), error });
            }
        }
    });

    let report: Vec<Json> = failures
        .iter()
        .map(|f| {
            let mut reason = f.error.message.clone();
            if let Some(detail) = &f.error.detail {
                reason = format!("{reason} ({detail})");
            }
            let mut entry = json!({"row": f.row, "error": reason});
            if !f.key.is_null() {
                entry["key"] = f.key.clone();
            }
            entry
        })
        .collect();
    TableIterator::new(vec![(sent as i64, failures.len() as i64, pgrx::datum::JsonB(Json::Array(report)))])
}

/// The target is a connector_fdw foreign table the caller may INSERT into: `push()` writes as INSERT
/// does, so it needs what INSERT needs (the privilege on the table, or on each column written, checked
/// with the query's columns), and nothing is sent otherwise.
fn check_target(target: pg_sys::Oid) {
    // SAFETY: get_rel_relkind returns 0 for an oid that is no relation.
    let relkind = unsafe { pg_sys::get_rel_relkind(target) };
    if relkind != pg_sys::RELKIND_FOREIGN_TABLE as std::ffi::c_char
        // SAFETY: reached only for a foreign table (relkind checked first), so its catalog entries exist.
        || !unsafe {
            super::credentials::is_our_server(pg_sys::GetForeignServer((*pg_sys::GetForeignTable(target)).serverid))
        }
    {
        let name = relation_name(target);
        raise(
            Error::new(ErrorKind::InvalidParameter, format!("\"{name}\" is not a foreign table of connector_fdw"))
                .with_hint("push() writes through a foreign table of a connector_fdw server."),
        );
    }
    let allowed =
        Spi::get_one_with_args::<bool>("SELECT pg_catalog.has_any_column_privilege($1, 'INSERT')", &[target.into()])
            .ok()
            .flatten()
            .unwrap_or(false);
    if !allowed {
        raise(Error::new(
            ErrorKind::InsufficientPrivilege,
            format!("permission denied for foreign table {}: push() needs INSERT on it", relation_name(target)),
        ));
    }
}

fn may_insert_column(target: pg_sys::Oid, table: &str, column: &str) {
    let allowed = Spi::get_one_with_args::<bool>(
        "SELECT pg_catalog.has_column_privilege($1, $2, 'INSERT')",
        &[target.into(), column.into()],
    )
    .ok()
    .flatten()
    .unwrap_or(false);
    if !allowed {
        raise(Error::new(
            ErrorKind::InsufficientPrivilege,
            format!("permission denied for column \"{column}\" of foreign table {table}: push() needs INSERT on it"),
        ));
    }
}

/// A relation's name as messages show it ("relation 1234" for a dropped one).
fn relation_name(relid: pg_sys::Oid) -> String {
    // SAFETY: get_rel_name returns NULL for an unknown oid, checked below.
    let name = unsafe { pg_sys::get_rel_name(relid) };
    if name.is_null() {
        format!("relation {}", relid.to_u32())
    } else {
        super::pg::cstr(name)
    }
}

/// SPI errors as Postgres errors.
trait OrRaiseSpi<T> {
    fn or_raise_spi(self) -> T;
}

impl<T> OrRaiseSpi<T> for Result<T, pgrx::spi::SpiError> {
    fn or_raise_spi(self) -> T {
        self.unwrap_or_else(|e| raise(Error::internal(format!("SPI: {e}"))))
    }
}

extension_sql!(
    r#"
CREATE FUNCTION push(target regclass, query text, stop_on_error boolean DEFAULT false)
    RETURNS TABLE (rows_sent bigint, rows_failed bigint, failures jsonb)
    LANGUAGE sql AS $$ SELECT * FROM connector_fdw._push(target::oid, query, stop_on_error) $$;
"#,
    name = "push",
    requires = [push]
);
