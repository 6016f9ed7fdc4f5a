//! Webhook settings and SQL: the GUCs that start and shape the listener, `connector_fdw.set_webhook_secret`,
//! and the one place that knows how a signing secret is stored (encrypted in the server option
//! `webhook_secret`, like the credentials of user mappings).

use super::credentials::{is_our_server, key_file};
use super::pg::{options_to_map, quote_identifier, quote_literal, raise, OrRaise};
use connector_core::webhooks::SECRET_OPTION;
use connector_core::{secrets, Error, ErrorKind};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::Spi;
use std::ffi::CString;

/// `connector_fdw.webhook_listen`: host:port the listener serves on; empty (the default) = no listener.
pub static LISTEN: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
/// `connector_fdw.webhook_database`: the database whose servers and `webhook_events` the listener uses.
pub static DATABASE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"postgres"));
/// `connector_fdw.webhook_max_body`: the largest delivery accepted, in bytes.
pub static MAX_BODY: GucSetting<i32> = GucSetting::<i32>::new(1024 * 1024);

pub fn init() {
    GucRegistry::define_int_guc(
        c"connector_fdw.webhook_max_body",
        c"The largest webhook delivery the listener accepts.",
        c"Larger bodies are answered 413 before they are read whole.",
        &MAX_BODY,
        1024,
        i32::MAX,
        GucContext::Sighup,
        GucFlags::UNIT_BYTE,
    );
    // Settings of the postmaster can only be defined while it loads shared_preload_libraries.
    // SAFETY: a plain global of the postmaster, read in _PG_init.
    if !unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        return;
    }
    GucRegistry::define_string_guc(
        c"connector_fdw.webhook_listen",
        c"Address (host:port) the webhook listener serves POST /webhooks/<server> on; empty: off.",
        c"Loopback is safest; put a TLS reverse proxy in front for providers on the internet.",
        &LISTEN,
        GucContext::Postmaster,
        GucFlags::default(),
    );
    GucRegistry::define_string_guc(
        c"connector_fdw.webhook_database",
        c"Database whose connector_fdw servers receive webhooks.",
        c"The listener looks servers up and stores connector_fdw.webhook_events there.",
        &DATABASE,
        GucContext::Postmaster,
        GucFlags::default(),
    );
    if listen_address().is_some() {
        super::webhook_worker::register();
    }
}

pub fn listen_address() -> Option<String> {
    LISTEN.get().map(|a| a.to_string_lossy().trim().to_string()).filter(|a| !a.is_empty())
}

pub fn database() -> String {
    DATABASE.get().map(|d| d.to_string_lossy().into_owned()).unwrap_or_else(|| "postgres".into())
}

pub fn max_body() -> u64 {
    MAX_BODY.get().max(0) as u64
}

/// The stored form of a server's signing secret (the value of its `webhook_secret` option), bound to the
/// server: copied to another server, it does not decrypt.
pub fn seal_secret(server: &str, secret: &str) -> String {
    secrets::encrypt_bound(&key_file().ring().or_raise(), secret, &secrets::binding(server, SECRET_OPTION))
}

/// The signing secret from its stored form (bound, or an unbound value of 0.1). Errors name no secret.
pub fn open_secret(server: &str, stored: &str) -> connector_core::Result<String> {
    secrets::decrypt_bound(&key_file().ring()?, stored, &secrets::binding(server, SECRET_OPTION))
}

/// After `ALTER SERVER … RENAME`: the signing secret bound to the old name, bound to the new one.
pub unsafe fn rebind_secret(server: pg_sys::Oid, old_name: &str, new_name: &str) {
    let options = options_to_map((*pg_sys::GetForeignServer(server)).options);
    let Some(stored) = options.get(SECRET_OPTION).filter(|v| secrets::is_bound(v)) else { return };
    store_secret(new_name, &open_named(old_name, stored));
}

/// After a key rotation: the signing secret under the current key, bound to its server.
pub unsafe fn reseal_secret(server: pg_sys::Oid) {
    let found = pg_sys::GetForeignServer(server);
    let name = super::pg::cstr((*found).servername);
    let options = options_to_map((*found).options);
    let Some(stored) = options.get(SECRET_OPTION) else { return };
    let current = key_file().ring().or_raise().current().id();
    if secrets::is_bound(stored) && secrets::key_id(stored) == Some(current.as_str()) {
        return;
    }
    store_secret(&name, &open_named(&name, stored));
}

/// The secret, or an error naming the option and server.
fn open_named(server: &str, stored: &str) -> String {
    open_secret(server, stored)
        .map_err(|e| Error {
            message: format!("option \"{SECRET_OPTION}\" of server \"{server}\": {}", e.message),
            ..e
        })
        .or_raise()
}

fn store_secret(server: &str, secret: &str) {
    let change = format!("SET {SECRET_OPTION} {}", quote_literal(&seal_secret(server, secret)));
    Spi::run(&format!("ALTER SERVER {} OPTIONS ({change})", quote_identifier(server)))
        .map_err(|e| Error::internal(format!("cannot store the webhook secret of server {server}: {e}")))
        .or_raise();
}

/// `connector_fdw.set_webhook_secret(server, secret)`: store the secret that signs a server's webhook
/// deliveries, encrypted; NULL removes it. For the server's owner, as ALTER SERVER is.
#[pg_extern(name = "set_webhook_secret")]
fn set_webhook_secret(server: Option<&str>, secret: Option<&str>) {
    let Some(server) = server else {
        raise(Error::new(ErrorKind::InvalidParameter, "set_webhook_secret needs a server name"))
    };
    let name = CString::new(server).unwrap_or_default();
    // SAFETY: a SQL function in a transaction; with missing_ok false a missing server raises, never NULL.
    let options = unsafe {
        let found = pg_sys::GetForeignServerByName(name.as_ptr(), false);
        if !is_our_server(found) {
            raise(Error::option_value("server", format!("\"{server}\" is not a connector_fdw server")));
        }
        let owner = Spi::get_one_with_args::<bool>(
            "SELECT pg_catalog.pg_has_role(srvowner, 'USAGE') FROM pg_catalog.pg_foreign_server WHERE oid = $1",
            &[(*found).serverid.into()],
        );
        if owner.ok().flatten() != Some(true) {
            raise(Error::new(ErrorKind::InsufficientPrivilege, format!("must be owner of foreign server {server}")));
        }
        options_to_map((*found).options)
    };
    let action = if options.contains_key(SECRET_OPTION) { "SET" } else { "ADD" };
    let change = match secret {
        Some("") => raise(Error::new(ErrorKind::InvalidParameter, "a webhook signing secret cannot be empty")),
        Some(secret) => format!("{action} {SECRET_OPTION} {}", quote_literal(&seal_secret(server, secret))),
        None if action == "SET" => format!("DROP {SECRET_OPTION}"),
        None => return,
    };
    Spi::run(&format!("ALTER SERVER {} OPTIONS ({change})", quote_identifier(server)))
        .map_err(|e| Error::internal(format!("cannot store the webhook secret of server {server}: {e}")))
        .or_raise();
}
