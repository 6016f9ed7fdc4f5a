//! The per-backend resources built from the catalogs' values: the I/O runtime, and the HTTP client of each
//! server and role, kept across queries until the options it was built from change.

use super::pg::OrRaise;
use connector_core::connectors::{self, ServerDef};
use connector_core::http::{Http, OAuth, ServerCounters};
use connector_core::oauth_tokens::{MappingTokens, TokenFile};
use connector_core::options::OptionMap;
use once_cell::sync::OnceCell;
use pgrx::pg_sys;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// The backend's runtime for network work. Its threads block all signals, so Postgres' handlers only
/// ever run on the backend thread, and they never call into Postgres.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceCell<tokio::runtime::Runtime> = OnceCell::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(4)
            .thread_name("connector_fdw")
            .on_thread_start(super::pg::block_signals_in_this_thread)
            .enable_all()
            .build()
            .unwrap_or_else(|e| {
                super::pg::raise(connector_core::Error::internal(format!("cannot start the I/O runtime: {e}")))
            })
    })
}

/// The token provider of a mapping on a server with `auth 'oauth2'`.
fn oauth_provider(mapping: Option<pg_sys::Oid>, server: &ServerDef, user: &OptionMap) -> Option<OAuth> {
    let connector = connectors::for_server(server).ok()?;
    if connectors::auth_kind(server, connector.as_ref()) != "oauth2" {
        return None;
    }
    let config = connectors::oauth_config(server, user).or_raise();
    let Some(mapping) = mapping else {
        super::pg::raise(
            connector_core::Error::new(
                connector_core::ErrorKind::Authorization,
                format!("server \"{}\" uses auth 'oauth2', but there is no user mapping for it", server.name),
            )
            .with_hint("CREATE USER MAPPING FOR CURRENT_USER SERVER … OPTIONS (client_id '…', client_secret '…'), then authorize with connector_fdw.oauth_authorize_url."),
        )
    };
    let file = TokenFile::new(super::credentials::token_path(mapping), super::credentials::key_file());
    Some(OAuth(Arc::new(MappingTokens::new(config, connectors::mapping_tokens(user), file))))
}

/// HTTP clients by (server oid, user oid), each with the fingerprint of the options it was built from.
type ClientCache = HashMap<(u32, u32), (String, Arc<Http>)>;

thread_local! {
    /// Kept across queries so connections are reused. The fingerprint (all options) detects ALTER SERVER /
    /// ALTER USER MAPPING.
    static CLIENTS: RefCell<ClientCache> = RefCell::new(HashMap::new());
}

/// The HTTP client for a server and role, built once per backend and options version. `mapping` is the
/// user mapping the options come from (its OAuth tokens are kept by its oid).
pub fn http_client(
    server_oid: pg_sys::Oid,
    userid: pg_sys::Oid,
    mapping: Option<pg_sys::Oid>,
    server: &ServerDef,
    user: &OptionMap,
) -> Arc<Http> {
    let key = (server_oid.to_u32(), userid.to_u32());
    let fingerprint = format!("{:?}{:?}{}", server.options, user, super::cache::fingerprint());
    CLIENTS.with(|clients| {
        let mut clients = clients.borrow_mut();
        if let Some((seen, http)) = clients.get(&key) {
            if *seen == fingerprint {
                return http.clone();
            }
        }
        // Building a client starts no threads, but its connection pool needs a runtime context.
        let _guard = runtime().enter();
        let oauth = oauth_provider(mapping, server, user);
        let http = connectors::http_client(server, user, oauth).or_raise();
        let mut http = super::cache::attach(http, server_oid, userid, mapping, &server.options);
        // With the library preloaded, limits and counters are the server's, across all backends.
        if let Some((index, slot)) = super::shared::slot(server_oid) {
            let gate = Arc::new(super::shared::SharedGate::new(index, slot, http.settings()));
            http = http.with_gate(gate).with_counters(ServerCounters::Shared(&slot.counters));
        }
        if let Some(gates) = super::shared::endpoint_gates(server_oid) {
            http = http.with_endpoint_gates(gates);
        }
        let http = Arc::new(http);
        clients.insert(key, (fingerprint, http.clone()));
        http
    })
}
