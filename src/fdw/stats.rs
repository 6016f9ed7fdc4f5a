//! `connector_fdw.stats`: per-server request counters across all backends, from shared memory.

use super::pg::{cstr, raise};
use super::privileges::may_use_server;
use super::shared;
use connector_core::{Error, ErrorKind};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::sync::atomic::Ordering;

fn require_shared_memory() {
    if !shared::available() {
        raise(
            Error::new(
                ErrorKind::NotSupported,
                "connector_fdw statistics need connector_fdw in shared_preload_libraries",
            )
            .with_hint("Add connector_fdw to shared_preload_libraries in postgresql.conf and restart PostgreSQL."),
        );
    }
}

/// The counters of every server of the current database that has sent requests or received webhooks since
/// the server started (or since `connector_fdw.stats_reset()`), of the servers the current role has USAGE on.
#[pg_extern(name = "server_stats", stable)]
#[allow(clippy::type_complexity)]
fn server_stats() -> TableIterator<
    'static,
    (
        name!(server, String),
        name!(requests, i64),
        name!(pages, i64),
        name!(bytes, i64),
        name!(errors, i64),
        name!(retries, i64),
        name!(throttled_ms, i64),
        name!(in_flight, i32),
        name!(webhooks_accepted, i64),
        name!(webhooks_rejected, i64),
        name!(cache_hits, i64),
        name!(cache_bytes, i64),
    ),
> {
    require_shared_memory();
    let rows: Vec<_> = shared::database_slots()
        .into_iter()
        .filter_map(|(oid, slot)| {
            // SAFETY: with FSV_MISSING_OK a dropped server is NULL, checked below.
            let server = unsafe { pg_sys::GetForeignServerExtended(oid, pg_sys::FSV_MISSING_OK as pg_sys::bits16) };
            if server.is_null() || !may_use_server(oid) {
                return None;
            }
            let c = &slot.counters;
            let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as i64;
            Some((
                // SAFETY: `server` is not NULL (checked above) and palloc'd in this function's context.
                cstr(unsafe { (*server).servername }),
                get(&c.requests),
                get(&c.pages),
                get(&c.bytes),
                get(&c.errors),
                get(&c.retries),
                get(&c.throttled_us) / 1000,
                slot.in_flight() as i32,
                get(&slot.webhooks.accepted),
                get(&slot.webhooks.rejected),
                get(&c.cache_hits),
                get(&c.cache_bytes),
            ))
        })
        .collect();
    TableIterator::new(rows)
}

/// Zero the counters of the current database's servers (superusers, and roles they grant it to).
#[pg_extern(name = "stats_reset")]
fn stats_reset() {
    require_shared_memory();
    for (_, slot) in shared::database_slots() {
        slot.reset_counters();
    }
}

extension_sql!(
    r#"
CREATE VIEW stats AS SELECT * FROM server_stats() ORDER BY server;
-- Every role may look; server_stats() shows each the servers it has USAGE on.
GRANT SELECT ON stats TO PUBLIC;
REVOKE EXECUTE ON FUNCTION stats_reset() FROM PUBLIC;
"#,
    name = "stats_view",
    requires = [server_stats, stats_reset]
);
