//! Credentials in user mappings: encrypted before they are stored, decrypted only to build a client.
//!
//! - `CREATE/ALTER USER MAPPING` on a connector_fdw server: a ProcessUtility hook replaces secret option
//!   values with ciphertext before the command runs, so plaintext never reaches the catalog or the WAL.
//!   The hook exists once the library is loaded (always, with shared_preload_libraries); for the first
//!   command of a session that loads it, the `ddl_command_end` trigger re-encrypts the stored options.
//! - The key is `$PGDATA/connector_fdw.key` (0600), created on first use; `connector_fdw.rotate_key()`
//!   adds a new key and re-encrypts every mapping of the current database.
//! - OAuth 2.0 tokens refreshed by the extension live in `$PGDATA/connector_fdw_tokens/`, encrypted with
//!   the same key (see `connector_core::oauth_tokens`).

use super::catalog;
use super::clients;
use super::pg::{cstr, list_ptrs, options_to_map, pstrdup, raise, OrRaise};
use connector_core::connectors;
use connector_core::credentials::{self as creds, is_secret_option, KeyFile};
use connector_core::oauth;
use connector_core::options::OptionMap;
use connector_core::secrets;
use connector_core::{Error, ErrorKind};
use once_cell::sync::OnceCell;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::spi::Spi;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

fn data_dir() -> PathBuf {
    // SAFETY: DataDir is set at startup to a NUL-terminated path and never freed.
    PathBuf::from(cstr(unsafe { pg_sys::DataDir }))
}

/// The cluster's key file.
pub fn key_file() -> Arc<KeyFile> {
    static KEYS: OnceCell<Arc<KeyFile>> = OnceCell::new();
    KEYS.get_or_init(|| Arc::new(KeyFile::new(data_dir().join("connector_fdw.key")))).clone()
}

/// Where the token file of a user mapping lives.
pub fn token_path(mapping: pg_sys::Oid) -> PathBuf {
    // SAFETY: MyDatabaseId is a plain global set at connection; read on the backend thread.
    let database = unsafe { pg_sys::MyDatabaseId }.to_u32();
    data_dir().join("connector_fdw_tokens").join(format!("{database}_{}.tok", mapping.to_u32()))
}

/// Whether a server belongs to this wrapper.
pub unsafe fn is_our_server(server: *mut pg_sys::ForeignServer) -> bool {
    let wrapper = pg_sys::GetForeignDataWrapper((*server).fdwid);
    cstr(pg_sys::get_func_name((*wrapper).fdwhandler)) == "connector_fdw_handler"
}

static mut PREVIOUS_PROCESS_UTILITY: pg_sys::ProcessUtility_hook_type = None;

pub fn install_hook() {
    // SAFETY: _PG_init runs once per process on its only Postgres thread; the previous hook is kept and called.
    unsafe {
        PREVIOUS_PROCESS_UTILITY = pg_sys::ProcessUtility_hook;
        pg_sys::ProcessUtility_hook = Some(process_utility);
    }
}

/// Encrypt the secret options of a CREATE/ALTER USER MAPPING on one of our servers, in place.
unsafe fn encrypt_statement(options: *mut pg_sys::List, servername: *mut std::ffi::c_char) {
    let server = pg_sys::GetForeignServerByName(servername, true);
    if server.is_null() || !is_our_server(server) {
        return;
    }
    let server_name = cstr((*server).servername);
    let mut ring = None;
    for def in list_ptrs::<pg_sys::DefElem>(options) {
        let arg = (*def).arg;
        if arg.is_null() || !is_secret_option(&cstr((*def).defname)) || !pgrx::is_a(arg, pg_sys::NodeTag::T_String) {
            continue;
        }
        let value = cstr((*(arg as *mut pg_sys::String)).sval);
        if secrets::is_ciphertext(&value) {
            continue;
        }
        let ring = match &ring {
            Some(ring) => ring,
            None => ring.insert(key_file().ring().or_raise()),
        };
        let binding = secrets::binding(&server_name, &cstr((*def).defname));
        (*def).arg = pg_sys::makeString(pstrdup(&secrets::encrypt_bound(ring, &value, &binding))) as *mut pg_sys::Node;
    }
}

#[pg_guard]
#[allow(clippy::too_many_arguments)]
unsafe extern "C-unwind" fn process_utility(
    pstmt: *mut pg_sys::PlannedStmt,
    query: *const std::ffi::c_char,
    read_only_tree: bool,
    context: pg_sys::ProcessUtilityContext::Type,
    params: pg_sys::ParamListInfo,
    env: *mut pg_sys::QueryEnvironment,
    dest: *mut pg_sys::DestReceiver,
    qc: *mut pg_sys::QueryCompletion,
) {
    let mut pstmt = pstmt;
    let node = (*pstmt).utilityStmt;
    let create = pgrx::is_a(node, pg_sys::NodeTag::T_CreateUserMappingStmt);
    let alter = pgrx::is_a(node, pg_sys::NodeTag::T_AlterUserMappingStmt);
    if create || alter {
        // A cached plan's tree must not be changed: work on a copy.
        if read_only_tree {
            pstmt = pg_sys::copyObjectImpl(pstmt as *const _) as *mut pg_sys::PlannedStmt;
        }
        let node = (*pstmt).utilityStmt;
        if create {
            let stmt = node as *mut pg_sys::CreateUserMappingStmt;
            encrypt_statement((*stmt).options, (*stmt).servername);
        } else {
            let stmt = node as *mut pg_sys::AlterUserMappingStmt;
            encrypt_statement((*stmt).options, (*stmt).servername);
        }
    }
    let renamed = renamed_server((*pstmt).utilityStmt);
    match PREVIOUS_PROCESS_UTILITY {
        Some(previous) => previous(pstmt, query, false, context, params, env, dest, qc),
        None => pg_sys::standard_ProcessUtility(pstmt, query, false, context, params, env, dest, qc),
    }
    if let Some((server, old_name)) = renamed {
        pg_sys::CommandCounterIncrement();
        rebind_server(server, &old_name);
    }
}

/// `ALTER SERVER … RENAME TO …` of one of our servers: its oid and current name.
unsafe fn renamed_server(node: *mut pg_sys::Node) -> Option<(pg_sys::Oid, String)> {
    if !pgrx::is_a(node, pg_sys::NodeTag::T_RenameStmt) {
        return None;
    }
    let stmt = node as *mut pg_sys::RenameStmt;
    if (*stmt).renameType != pg_sys::ObjectType::OBJECT_FOREIGN_SERVER || (*stmt).object.is_null() {
        return None;
    }
    let name = (*((*stmt).object as *mut pg_sys::String)).sval;
    let server = pg_sys::GetForeignServerByName(name, true);
    if server.is_null() || !is_our_server(server) {
        return None;
    }
    Some(((*server).serverid, cstr((*server).servername)))
}

/// A user mapping's server and options, by the mapping's oid.
unsafe fn mapping(mapping: pg_sys::Oid) -> Option<(pg_sys::Oid, OptionMap)> {
    let cache = pg_sys::SysCacheIdentifier::USERMAPPINGOID as i32;
    let tuple = pg_sys::SearchSysCache1(cache, pg_sys::Datum::from(mapping));
    if tuple.is_null() {
        return None;
    }
    let form = super::pg::tuple_struct::<pg_sys::FormData_pg_user_mapping>(tuple);
    let server = (*form).umserver;
    let mut is_null = false;
    let datum = pg_sys::SysCacheGetAttr(cache, tuple, pg_sys::Anum_pg_user_mapping_umoptions as i16, &mut is_null);
    let options = if is_null { OptionMap::new() } else { options_to_map(pg_sys::untransformRelOptions(datum)) };
    pg_sys::ReleaseSysCache(tuple);
    Some((server, options))
}

/// Replace a user mapping's stored options.
unsafe fn store_mapping_options(mapping: pg_sys::Oid, options: &OptionMap) {
    let relation = pg_sys::table_open(pg_sys::UserMappingRelationId, pg_sys::RowExclusiveLock as i32);
    let cache = pg_sys::SysCacheIdentifier::USERMAPPINGOID as i32;
    let zero = pg_sys::Datum::from(0);
    let tuple = pg_sys::SearchSysCacheCopy(cache, pg_sys::Datum::from(mapping), zero, zero, zero);
    if tuple.is_null() {
        raise(Error::internal(format!("user mapping {} vanished", mapping.to_u32())));
    }
    let natts = pg_sys::Natts_pg_user_mapping as usize;
    let mut values = vec![zero; natts];
    let mut nulls = vec![false; natts];
    let mut replace = vec![false; natts];
    let column = pg_sys::Anum_pg_user_mapping_umoptions as usize - 1;
    let items: Vec<String> = options.iter().map(|(k, v)| format!("{k}={v}")).collect();
    values[column] = items.into_datum().expect("a text array");
    replace[column] = true;
    let updated = pg_sys::heap_modify_tuple(
        tuple,
        (*relation).rd_att,
        values.as_mut_ptr(),
        nulls.as_mut_ptr(),
        replace.as_mut_ptr(),
    );
    pg_sys::CatalogTupleUpdate(relation, &mut (*updated).t_self, updated);
    pg_sys::table_close(relation, pg_sys::RowExclusiveLock as i32);
    pg_sys::CommandCounterIncrement();
}

/// What `encrypt_mapping` re-encrypts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reencrypt {
    /// Plaintext secrets only: ciphertext is kept as it is, so a restored dump stays what it was.
    Plaintext,
    /// Everything not under the current key (rotation).
    NotCurrent,
}

/// Encrypt a mapping's secrets under the current key; returns whether it changed.
pub unsafe fn encrypt_mapping(umid: pg_sys::Oid, which: Reencrypt) -> bool {
    let Some((server, options)) = mapping(umid) else { return false };
    let server = pg_sys::GetForeignServer(server);
    if !is_our_server(server) {
        return false;
    }
    let server_name = cstr((*server).servername);
    let ring = key_file().ring().or_raise();
    let needed = match which {
        Reencrypt::Plaintext => options.iter().any(|(k, v)| is_secret_option(k) && !secrets::is_ciphertext(v)),
        Reencrypt::NotCurrent => creds::needs_encryption(&ring, &options, is_secret_option),
    };
    if !needed {
        return false;
    }
    let encrypted = match which {
        Reencrypt::Plaintext => {
            let plaintext =
                |name: &str| is_secret_option(name) && options.get(name).is_some_and(|v| !secrets::is_ciphertext(v));
            creds::encrypt_options(&ring, &server_name, &options, plaintext).or_raise()
        }
        Reencrypt::NotCurrent => creds::encrypt_options(&ring, &server_name, &options, is_secret_option).or_raise(),
    };
    store_mapping_options(umid, &encrypted);
    true
}

/// The options of the mapping `userid` (or PUBLIC) has for a server, secrets decrypted, with the
/// mapping's oid; empty when there is none.
pub unsafe fn user_mapping(server: pg_sys::Oid, userid: pg_sys::Oid) -> (Option<pg_sys::Oid>, OptionMap) {
    let (mapping, options) = catalog::stored_user_mapping(server, userid);
    if options.values().any(|v| secrets::is_ciphertext(v)) {
        let ring = key_file().ring().or_raise();
        let server_name = cstr((*pg_sys::GetForeignServer(server)).servername);
        return (mapping, creds::decrypt_options(&ring, &server_name, &options).or_raise());
    }
    (mapping, options)
}

extension_sql!(
    r#"
REVOKE EXECUTE ON FUNCTION rotate_key() FROM PUBLIC;
"#,
    name = "credential_grants",
    requires = [rotate_key]
);

/// `connector_fdw.encrypt_secret(text)`: an unbound (`cfdw1`) ciphertext, as 0.1 made; it decrypts in any
/// mapping, and `rotate_key()` binds it where it is stored. Kept for scripts written for 0.1.
#[pg_extern(name = "encrypt_secret", strict)]
fn encrypt_secret(plaintext: &str) -> String {
    secrets::encrypt(&key_file().ring().or_raise(), plaintext)
}

/// `connector_fdw.encrypt_secret(text, server, option)`: the ciphertext a user mapping of `server` stores
/// for `option` (`cfdw2`, bound to both: it decrypts there only), for scripts.
#[pg_extern(name = "encrypt_secret", strict)]
fn encrypt_secret_for(plaintext: &str, server: &str, option: &str) -> String {
    secrets::encrypt_bound(&key_file().ring().or_raise(), plaintext, &secrets::binding(server, option))
}

/// A server is renamed: its mappings' credentials are bound to the old name, so they are decrypted with it
/// and bound to the new one (called after the rename, in the same transaction).
pub unsafe fn rebind_server(server: pg_sys::Oid, old_name: &str) {
    let new_name = cstr((*pg_sys::GetForeignServer(server)).servername);
    let mappings: Vec<pg_sys::Oid> = Spi::connect(|client| {
        client
            .select("SELECT oid FROM pg_catalog.pg_user_mapping WHERE umserver = $1", None, &[server.into()])
            .map(|rows| rows.filter_map(|r| r.get::<pg_sys::Oid>(1).ok().flatten()).collect())
            .unwrap_or_default()
    });
    let ring = key_file().ring().or_raise();
    for umid in mappings {
        let Some((_, options)) = mapping(umid) else { continue };
        if !options.iter().any(|(k, v)| is_secret_option(k) && secrets::is_bound(v)) {
            continue;
        }
        let plain = creds::decrypt_options(&ring, old_name, &options).or_raise();
        let secret =
            |name: &str| is_secret_option(name) && options.get(name).is_some_and(|v| secrets::is_ciphertext(v));
        store_mapping_options(umid, &creds::encrypt_options(&ring, &new_name, &plain, secret).or_raise());
    }
    super::webhook::rebind_secret(server, old_name, &new_name);
}

fn require_superuser(what: &str) {
    // SAFETY: a SQL function: on the backend thread, in a transaction, as catalog lookups need.
    if !unsafe { pg_sys::superuser() } {
        raise(Error::new(ErrorKind::InsufficientPrivilege, format!("only superusers may {what}")));
    }
}

/// `connector_fdw.rotate_key()`: a new key for the cluster, and every mapping (and webhook secret) of this
/// database re-encrypted with it, bound to its server and option (other databases keep working with the old key until rotated there too).
#[pg_extern(name = "rotate_key")]
fn rotate_key() -> i64 {
    require_superuser("rotate the connector_fdw key");
    key_file().rotate().or_raise();
    let mappings: Vec<pg_sys::Oid> = Spi::connect(|client| {
        client
            .select(
                "SELECT um.oid FROM pg_user_mapping um JOIN pg_foreign_server s ON s.oid = um.umserver
                 JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
                 WHERE w.fdwhandler = 'connector_fdw.connector_fdw_handler'::regproc",
                None,
                &[],
            )
            .map(|rows| rows.filter_map(|r| r.get::<pg_sys::Oid>(1).ok().flatten()).collect())
            .unwrap_or_default()
    });
    let servers: Vec<pg_sys::Oid> = Spi::connect(|client| {
        client
            .select(
                "SELECT s.oid FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
                 WHERE w.fdwhandler = 'connector_fdw.connector_fdw_handler'::regproc",
                None,
                &[],
            )
            .map(|rows| rows.filter_map(|r| r.get::<pg_sys::Oid>(1).ok().flatten()).collect())
            .unwrap_or_default()
    });
    for server in servers {
        // SAFETY: `server` is an oid read from the catalog in this transaction.
        unsafe { super::webhook::reseal_secret(server) };
    }
    // SAFETY: each mapping oid was just read from pg_user_mapping in this transaction.
    mappings.into_iter().filter(|m| unsafe { encrypt_mapping(*m, Reencrypt::NotCurrent) }).count() as i64
}

/// An authorization code flow waiting for its code, by `state`.
#[derive(Serialize, Deserialize)]
struct Pending {
    server: u32,
    user: u32,
    verifier: String,
    redirect_uri: String,
    created: u64,
}

const PENDING_SECONDS: u64 = 15 * 60;

fn pending_path(state: &str) -> PathBuf {
    let safe: String = state.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    data_dir().join("connector_fdw_tokens").join(format!("pending-{safe}"))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

unsafe fn oauth_server(name: &str) -> (pg_sys::Oid, connectors::ServerDef) {
    let cname = std::ffi::CString::new(name).unwrap_or_default();
    let server = pg_sys::GetForeignServerByName(cname.as_ptr(), false);
    if !is_our_server(server) {
        raise(Error::option_value("server", format!("\"{name}\" is not a connector_fdw server")));
    }
    super::definitions::refresh();
    let def = catalog::server_def((*server).serverid);
    let connector = connectors::for_server(&def).or_raise();
    if connectors::auth_kind(&def, connector.as_ref()) != "oauth2" {
        raise(Error::option_value("auth", format!("server \"{name}\" does not use auth 'oauth2'")));
    }
    ((*server).serverid, def)
}

/// `connector_fdw.oauth_authorize_url(server, redirect_uri)`: the URL to open to grant access (PKCE and a
/// random state); `oauth_exchange_code` completes the flow within 15 minutes.
#[pg_extern(name = "oauth_authorize_url", strict)]
fn oauth_authorize_url(server: &str, redirect_uri: &str) -> String {
    // SAFETY: a SQL function: on the backend thread, in a transaction, as the catalog lookups need.
    unsafe {
        let (server_oid, def) = oauth_server(server);
        let user = pg_sys::GetUserId();
        let (_, options) = user_mapping(server_oid, user);
        let config = connectors::oauth_config(&def, &options).or_raise();
        if config.authorize_url.is_none() {
            raise(crate::fdw::pg::missing_server_option(&def, "authorize_url"));
        }
        let start = oauth::authorize_url(&config, Some(redirect_uri)).or_raise();
        let pending = Pending {
            server: server_oid.to_u32(),
            user: user.to_u32(),
            verifier: start.pkce_verifier.expose().to_string(),
            redirect_uri: redirect_uri.to_string(),
            created: unix_now(),
        };
        let ring = key_file().ring().or_raise();
        let text = secrets::encrypt(&ring, &serde_json::to_string(&pending).unwrap_or_default());
        let path = pending_path(&start.state);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        creds::write_private_file(&path, &text)
            .map_err(|e| Error::internal(format!("cannot keep the OAuth state: {e}")))
            .or_raise();
        start.url
    }
}

/// `connector_fdw.oauth_exchange_code(server, code, state)`: exchange the code the provider returned and
/// store the tokens (encrypted) in the caller's user mapping.
#[pg_extern(name = "oauth_exchange_code", strict)]
fn oauth_exchange_code(server: &str, code: &str, state: &str) -> String {
    // SAFETY: a SQL function: on the backend thread, in a transaction, as the catalog lookups need.
    unsafe {
        let (server_oid, def) = oauth_server(server);
        let user = pg_sys::GetUserId();
        let invalid_state = || {
            Error::new(ErrorKind::Authorization, "unknown or expired OAuth state")
                .with_hint("Start again with connector_fdw.oauth_authorize_url(server, redirect_uri); a state is valid for 15 minutes and once.")
        };
        let path = pending_path(state);
        let text = std::fs::read_to_string(&path).map_err(|_| invalid_state()).or_raise();
        let _ = std::fs::remove_file(&path);
        let ring = key_file().ring().or_raise();
        let pending: Pending = secrets::decrypt(&ring, text.trim())
            .ok()
            .and_then(|plain| serde_json::from_str(&plain).ok())
            .ok_or_else(invalid_state)
            .or_raise();
        if pending.server != server_oid.to_u32()
            || pending.user != user.to_u32()
            || unix_now() > pending.created + PENDING_SECONDS
        {
            raise(invalid_state());
        }
        let (own_mapping, options) = user_mapping(server_oid, user);
        let config = connectors::oauth_config(&def, &options).or_raise();
        let verifier = connector_core::http::Secret::new(pending.verifier);
        let tokens = clients::runtime()
            .block_on(oauth::exchange_code(&config, code, &verifier, Some(&pending.redirect_uri)))
            .or_raise();
        let mut stored = options.clone();
        stored.insert("access_token".into(), tokens.access_token.expose().to_string());
        match &tokens.refresh_token {
            Some(refresh) => stored.insert("refresh_token".into(), refresh.expose().to_string()),
            None => stored.remove("refresh_token"),
        };
        match tokens.expires_at {
            Some(at) => stored.insert("token_expires_at".into(), at.to_string()),
            None => stored.remove("token_expires_at"),
        };
        let stored = creds::encrypt_options(&ring, &def.name, &stored, is_secret_option).or_raise();
        let mine = own_mapping.filter(|m| mapping(*m).is_some_and(|_| catalog::mapping_user(*m) == Some(user)));
        save_own_mapping(mine, server, &stored);
        format!(
            "OAuth tokens stored in the user mapping of {} for server {server}",
            cstr(pg_sys::GetUserNameFromId(user, false))
        )
    }
}

/// Write the caller's own mapping: altered when it exists, else created (copying what PUBLIC's held).
unsafe fn save_own_mapping(existing: Option<pg_sys::Oid>, server: &str, options: &OptionMap) {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let ident = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let sql = match existing {
        Some(m) => {
            let (_, current) = mapping(m).unwrap_or_default();
            let changes: Vec<String> = options
                .iter()
                .filter(|(k, v)| current.get(*k) != Some(*v))
                .map(|(k, v)| format!("{} {} {}", if current.contains_key(k) { "SET" } else { "ADD" }, k, quote(v)))
                .chain(current.keys().filter(|k| !options.contains_key(*k)).map(|k| format!("DROP {k}")))
                .collect();
            if changes.is_empty() {
                return;
            }
            format!("ALTER USER MAPPING FOR CURRENT_USER SERVER {} OPTIONS ({})", ident(server), changes.join(", "))
        }
        None => {
            let all: Vec<String> = options.iter().map(|(k, v)| format!("{k} {}", quote(v))).collect();
            format!("CREATE USER MAPPING FOR CURRENT_USER SERVER {} OPTIONS ({})", ident(server), all.join(", "))
        }
    };
    Spi::run(&sql).map_err(|e| Error::internal(format!("cannot store the OAuth tokens: {e}"))).or_raise();
}
