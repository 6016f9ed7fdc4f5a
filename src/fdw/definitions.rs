//! Connector definitions registered from SQL: `connector_fdw.define_connector`, `drop_connector`, the
//! `connector_fdw.connectors` view, and loading the catalog's definitions into this backend.
//!
//! The catalog (`connector_fdw.definitions`, one row per name and version) is the truth; each backend
//! reloads it once per transaction that looks a connector up, so a definition made or dropped in another
//! session is seen from that session's commit on.

use super::pg::{raise, OrRaise};
use super::privileges::{as_owner_of, current_role_name};
use connector_core::definitions::Definition;
use connector_core::registry;
use connector_core::{Error, ErrorKind};
use pgrx::prelude::*;
use pgrx::spi::Spi;
use pgrx::{pg_sys, JsonB};
use std::cell::Cell;

thread_local! {
    /// The local transaction whose view of the catalog the registry holds.
    static LOADED_IN: Cell<Option<pg_sys::LocalTransactionId>> = const { Cell::new(None) };
}

/// The table of defined connectors.
const CATALOG: &str = "connector_fdw.definitions";

fn current_transaction() -> pg_sys::LocalTransactionId {
    // SAFETY: reads this backend's own PGPROC, which exists for the life of the backend.
    unsafe { super::compat::local_transaction_id() }
}

/// Whether this database has the extension's definitions table (not during CREATE EXTENSION's first steps,
/// nor in a database without the extension where the library is preloaded).
fn catalog_exists() -> bool {
    // SAFETY: static C strings; both lookups take missing_ok and return InvalidOid rather than raise.
    unsafe {
        let namespace = pg_sys::get_namespace_oid(c"connector_fdw".as_ptr(), true);
        namespace != pg_sys::InvalidOid
            && pg_sys::get_relname_relid(c"definitions".as_ptr(), namespace) != pg_sys::InvalidOid
    }
}

/// Load the current version of every defined connector into this backend's registry, once per transaction.
pub fn refresh() {
    let now = current_transaction();
    if LOADED_IN.with(Cell::get) == Some(now) {
        return;
    }
    // Every backend needs every definition, whatever documents its role may read.
    let rows: Vec<(String, JsonB)> = if catalog_exists() {
        as_owner_of(CATALOG, || {
            Spi::connect(|client| {
                client
                    .select("SELECT name, definition FROM connector_fdw.current_definitions", None, &[])
                    .map(|rows| {
                        rows.filter_map(|row| Some((row.get::<String>(1).ok()??, row.get::<JsonB>(2).ok()??))).collect()
                    })
                    .unwrap_or_default()
            })
        })
    } else {
        Vec::new()
    };
    // Stored definitions were validated when defined; one this version of the extension no longer accepts
    // is skipped with a warning instead of making every connector unusable.
    let parsed = rows
        .into_iter()
        .filter_map(|(name, JsonB(json))| match Definition::parse(&json) {
            Ok(_) if registry::is_builtin(&name) => {
                pgrx::warning!("connector definition \"{name}\" is ignored: a built-in connector has that name now");
                None
            }
            Ok(definition) => Some(definition),
            Err(e) => {
                pgrx::warning!("connector definition \"{name}\" is not valid for this version of connector_fdw and is ignored: {e}");
                None
            }
        })
        .collect();
    registry::replace_registered(parsed).or_raise();
    LOADED_IN.with(|loaded| loaded.set(Some(now)));
}

/// Forget what was loaded, so the next lookup reads the catalog again (after this session changed it).
fn invalidate() {
    LOADED_IN.with(|loaded| loaded.set(None));
}

fn definition_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOptionValue, message)
        .with_hint("The definition format is described in docs/definitions.md.")
}

/// `connector_fdw.define_connector(name, definition)`: validate a definition and make it the current
/// version of connector `name`. Redefining a version that exists with the same document makes it current
/// again (a roll-back); changing a version's document is refused: give it a new version. Whoever may execute
/// it may write the catalog (the grant is the privilege), so it does as the catalog's owner, in the caller's
/// name.
#[pg_extern(name = "define_connector", strict)]
pub fn define_connector(name: &str, definition: JsonB) -> String {
    let JsonB(mut json) = definition;
    match json.get("name") {
        None => {
            if let Some(members) = json.as_object_mut() {
                members.insert("name".into(), serde_json::Value::String(name.to_string()));
            }
        }
        Some(given) if given.as_str() == Some(name) => {}
        Some(given) => raise(definition_error(format!(
            "name: the definition says {given} but define_connector was called with \"{name}\""
        ))),
    }
    let parsed = Definition::parse(&json).or_raise();
    if registry::is_builtin(name) {
        raise(definition_error(format!("connector \"{name}\" is built in; a definition needs another name")));
    }
    let version = parsed.version.clone();
    let definer = current_role_name();
    as_owner_of(CATALOG, || store_definition(name, &version, json, &definer));
    invalidate();
    version
}

fn store_definition(name: &str, version: &str, json: serde_json::Value, definer: &str) {
    let stored: Option<JsonB> = Spi::get_one_with_args(
        "SELECT definition FROM connector_fdw.definitions WHERE name = $1 AND version = $2",
        &[name.into(), version.into()],
    )
    .unwrap_or(None);
    match stored {
        Some(JsonB(existing)) if existing != json => raise(definition_error(format!(
            "version: connector \"{name}\" version {version} is already defined with a different document; give the new one another version"
        ))),
        Some(_) => {
            Spi::run_with_args(
                "UPDATE connector_fdw.definitions SET defined_at = clock_timestamp(), defined_by = $3
                 WHERE name = $1 AND version = $2",
                &[name.into(), version.into(), definer.into()],
            )
            .map_err(|e| Error::internal(format!("cannot store the definition: {e}")))
            .or_raise();
        }
        None => {
            Spi::run_with_args(
                "INSERT INTO connector_fdw.definitions (name, version, definition, defined_by) VALUES ($1, $2, $3, $4)",
                &[name.into(), version.into(), JsonB(json).into(), definer.into()],
            )
            .map_err(|e| Error::internal(format!("cannot store the definition: {e}")))
            .or_raise();
        }
    }
}

/// `connector_fdw.drop_connector(name)`: remove every version of a defined connector. Refused while a
/// server uses it, as DROP refuses to drop what others depend on.
#[pg_extern(name = "drop_connector", strict)]
pub fn drop_connector(name: &str) {
    let users: Option<String> = Spi::get_one_with_args(
        "SELECT string_agg(quote_ident(s.srvname), ', ' ORDER BY s.srvname)
           FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
          WHERE w.fdwhandler = 'connector_fdw.connector_fdw_handler'::regproc
            AND s.srvoptions @> ARRAY['connector=' || $1]",
        &[name.into()],
    )
    .unwrap_or(None);
    if let Some(servers) = users {
        raise(
            Error::new(
                ErrorKind::InvalidParameter,
                format!("cannot drop connector \"{name}\": servers use it: {servers}"),
            )
            .with_hint("Drop or change those servers first."),
        );
    }
    let deleted: Option<i64> = as_owner_of(CATALOG, || {
        Spi::get_one_with_args(
            "WITH d AS (DELETE FROM connector_fdw.definitions WHERE name = $1 RETURNING 1) SELECT count(*) FROM d",
            &[name.into()],
        )
        .unwrap_or(None)
    });
    if deleted.unwrap_or(0) == 0 {
        let hint = if registry::shipped().iter().any(|d| d.name == name) || registry::is_builtin(name) {
            "It ships with the extension and cannot be dropped."
        } else {
            "See connector_fdw.connectors for the connectors there are."
        };
        raise(
            Error::new(
                ErrorKind::InvalidParameter,
                format!("connector \"{name}\" was not defined with define_connector"),
            )
            .with_hint(hint),
        );
    }
    invalidate();
}

/// The rows of the `connector_fdw.connectors` view.
#[pg_extern(name = "_connectors", stable)]
#[allow(clippy::type_complexity)]
pub fn connector_list() -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(kind, String),
        name!(version, String),
        name!(description, String),
        name!(resources, Vec<String>),
    ),
> {
    refresh();
    let mut rows: Vec<_> = registry::builtin()
        .iter()
        .map(|c| {
            (
                c.name().to_string(),
                "built-in".to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
                c.description().to_string(),
                Vec::new(),
            )
        })
        .collect();
    let registered = registry::registered_names();
    rows.extend(registry::definitions().iter().map(|d| {
        let kind = if registered.contains(&d.name) { "defined" } else { "shipped" };
        (
            d.name.clone(),
            kind.to_string(),
            d.version.clone(),
            d.description.clone(),
            d.resources.iter().map(|r| r.name.clone()).collect(),
        )
    }));
    TableIterator::new(rows)
}
