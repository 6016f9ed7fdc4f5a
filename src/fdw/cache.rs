//! The response cache's place in the cluster: files under `$PGDATA/connector_fdw_cache`, shared by every
//! backend; its size (`connector_fdw.cache_size`), whether scans read it (`connector_fdw.use_cache`), and
//! `connector_fdw.cache_clear()`.

use super::pg::raise;
use super::privileges::may_use_server;
use connector_core::cache::{self, ResponseCache};
use connector_core::connectors;
use connector_core::http::{CachePolicy, Http};
use connector_core::options::OptionMap;
use connector_core::{Error, ErrorKind};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::path::PathBuf;

/// Upper bound of the cache's size in kB (the GUC's unit).
pub static CACHE_SIZE: GucSetting<i32> = GucSetting::<i32>::new(64 * 1024);
/// Off: scans fetch fresh responses (and keep them for later scans).
pub static USE_CACHE: GucSetting<bool> = GucSetting::<bool>::new(true);

pub fn init() {
    GucRegistry::define_int_guc(
        c"connector_fdw.cache_size",
        c"Upper bound of the response cache's size, for the whole cluster.",
        c"Least recently used responses are evicted past it; 0 keeps nothing.",
        &CACHE_SIZE,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_KB,
    );
    GucRegistry::define_bool_guc(
        c"connector_fdw.use_cache",
        c"Serve scans from the response cache of tables and servers with cache_ttl.",
        c"When off, scans fetch fresh responses from the provider (and keep them for later scans).",
        &USE_CACHE,
        GucContext::Userset,
        GucFlags::default(),
    );
}

/// The cluster's cache directory (beside the data files: the cluster's owner only may read it).
fn root() -> PathBuf {
    // SAFETY: DataDir is set at startup to a NUL-terminated path and never freed.
    let data_dir = unsafe { std::ffi::CStr::from_ptr(pg_sys::DataDir) };
    PathBuf::from(data_dir.to_string_lossy().as_ref()).join("connector_fdw_cache")
}

fn max_bytes() -> u64 {
    CACHE_SIZE.get().max(0) as u64 * 1024
}

/// What a client's fingerprint must include so a changed cache setting rebuilds it.
pub fn fingerprint() -> String {
    format!("cache {}", max_bytes())
}

/// `http` with the cache of `server` for the role `userid` using `mapping`: entries are keyed by both, so
/// another role (or the same role through another mapping) never reads them.
pub fn attach(
    http: Http,
    server_oid: pg_sys::Oid,
    userid: pg_sys::Oid,
    mapping: Option<pg_sys::Oid>,
    options: &OptionMap,
) -> Http {
    let ttl = connectors::cache_ttl(options).ok().flatten().unwrap_or_default();
    let identity = format!("role {} mapping {}", userid.to_u32(), mapping.map_or(0, |m| m.to_u32()));
    // SAFETY: MyDatabaseId is a plain global set at connection; read on the backend thread.
    let database = unsafe { pg_sys::MyDatabaseId }.to_u32();
    http.with_cache(ResponseCache::new(root(), database, server_oid.to_u32(), identity, ttl, max_bytes()))
}

/// How a scan of a table with `options` uses the cache.
pub fn policy(table_options: &OptionMap) -> CachePolicy {
    let ttl = connectors::cache_ttl(table_options).ok().flatten();
    CachePolicy { ttl, refresh: !USE_CACHE.get() || max_bytes() == 0 }
}

/// Whether scans of a table with these options use the cache (EXPLAIN shows its hits then).
pub fn caches(server_options: &OptionMap, table_options: &OptionMap) -> bool {
    let ttl = |options| connectors::cache_ttl(options).ok().flatten();
    ttl(table_options).or(ttl(server_options)).is_some_and(|t| !t.is_zero())
}

/// Drop the cached responses of `server`, or of every server of the current database the role may use;
/// returns how many were dropped.
#[pg_extern(name = "cache_clear")]
fn cache_clear(server: default!(Option<&str>, "NULL")) -> i64 {
    // SAFETY: MyDatabaseId is a plain global set at connection; read on the backend thread.
    let database = unsafe { pg_sys::MyDatabaseId }.to_u32();
    let servers: Vec<pg_sys::Oid> = match server {
        Some(name) => {
            let name = std::ffi::CString::new(name).unwrap_or_default();
            // SAFETY: `name` is a live C string; with missing_ok false a missing server raises, so `found` is never NULL.
            let found = unsafe { pg_sys::GetForeignServerByName(name.as_ptr(), false) };
            // SAFETY: `found` is the non-NULL ForeignServer just returned.
            vec![unsafe { (*found).serverid }]
        }
        None => Spi::connect(|client| {
            client
                .select("SELECT oid FROM pg_foreign_server", None, &[])
                .map(|rows| rows.filter_map(|row| row.get::<pg_sys::Oid>(1).ok().flatten()).collect())
                .unwrap_or_default()
        }),
    };
    let mut removed = 0;
    for oid in servers {
        if !may_use_server(oid) {
            if server.is_some() {
                raise(Error::new(
                    ErrorKind::InsufficientPrivilege,
                    format!("permission denied for foreign server {}", server.unwrap_or_default()),
                ));
            }
            continue;
        }
        match cache::clear_dir(&ResponseCache::server_dir(&root(), database, oid.to_u32())) {
            Ok(n) => removed += n as i64,
            Err(e) => raise(e),
        }
    }
    removed
}
