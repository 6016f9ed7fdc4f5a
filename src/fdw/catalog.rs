//! Reading foreign servers, tables and user mappings from the catalogs into connector_core's plain
//! values, plus the per-backend resources built from them (the runtime and cached HTTP clients).

use super::pg::{cstr, options_to_map, OrRaise};
use connector_core::connectors::{self, Connector, ServerDef, Table};
use connector_core::http::{Http, OAuth, ServerCounters};
use connector_core::model::{ColumnDef, ColumnType, TableDef};
use connector_core::oauth_tokens::{MappingTokens, TokenFile};
use connector_core::options::OptionMap;
use once_cell::sync::OnceCell;
use pgrx::pg_sys;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// A foreign table's attribute as Postgres stores it.
#[derive(Clone, Debug)]
pub struct Attr {
    pub type_oid: pg_sys::Oid,
    pub typmod: i32,
    pub collation: pg_sys::Oid,
    pub dropped: bool,
}

/// A foreign table with its server and connector, ready to plan or scan.
pub struct Foreign {
    pub relid: pg_sys::Oid,
    pub server_oid: pg_sys::Oid,
    pub server: ServerDef,
    pub table: TableDef,
    /// One per attribute of the relation, by attnum - 1 (so `table.columns[i]` is attribute i + 1).
    pub attrs: Vec<Attr>,
    pub connector: Arc<dyn Connector>,
    pub handle: Arc<dyn Table>,
}

/// The connector's view of a Postgres type. Types with a typmod that matters (varchar(n), timestamp(0))
/// go through their input function so Postgres applies it.
pub fn column_type(type_oid: pg_sys::Oid, typmod: i32) -> ColumnType {
    use pg_sys::BuiltinOid as B;
    let plain = typmod < 0;
    match B::from_u32(type_oid.to_u32()) {
        Ok(B::BOOLOID) => ColumnType::Bool,
        Ok(B::INT2OID) => ColumnType::Int2,
        Ok(B::INT4OID) => ColumnType::Int4,
        Ok(B::INT8OID) => ColumnType::Int8,
        Ok(B::FLOAT4OID) => ColumnType::Float4,
        Ok(B::FLOAT8OID) => ColumnType::Float8,
        Ok(B::NUMERICOID) => ColumnType::Numeric,
        Ok(B::TEXTOID) => ColumnType::Text,
        Ok(B::VARCHAROID) if plain => ColumnType::Text,
        Ok(B::DATEOID) => ColumnType::Date,
        Ok(B::TIMESTAMPOID) if plain => ColumnType::Timestamp,
        Ok(B::TIMESTAMPTZOID) if plain => ColumnType::TimestampTz,
        Ok(B::UUIDOID) => ColumnType::Uuid,
        Ok(B::JSONOID) => ColumnType::Json,
        Ok(B::JSONBOID) => ColumnType::Jsonb,
        Ok(B::TEXTARRAYOID) => ColumnType::TextArray,
        _ => ColumnType::Other(unsafe { cstr(pg_sys::format_type_with_typemod(type_oid, typmod)) }),
    }
}

/// A server's name and options.
pub unsafe fn server_def(server_oid: pg_sys::Oid) -> ServerDef {
    let server = pg_sys::GetForeignServer(server_oid);
    ServerDef { name: cstr((*server).servername), options: options_to_map((*server).options) }
}

/// A foreign table's definition: name, options, columns with their options and types.
pub unsafe fn table_def(relid: pg_sys::Oid) -> (pg_sys::Oid, TableDef, Vec<Attr>) {
    let foreign = pg_sys::GetForeignTable(relid);
    let relation = pg_sys::RelationIdGetRelation(relid);
    let desc = (*relation).rd_att;
    let mut columns = Vec::new();
    let mut attrs = Vec::new();
    for i in 0..(*desc).natts as usize {
        let attr = super::compat::tuple_desc_attr(desc, i);
        let name = cstr((*attr).attname.data.as_ptr());
        let dropped = (*attr).attisdropped;
        let options = if dropped {
            OptionMap::new()
        } else {
            options_to_map(pg_sys::GetForeignColumnOptions(relid, (i + 1) as i16))
        };
        let ty = if dropped { ColumnType::Text } else { column_type((*attr).atttypid, (*attr).atttypmod) };
        columns.push(ColumnDef { name, ty, options });
        attrs.push(Attr {
            type_oid: (*attr).atttypid,
            typmod: (*attr).atttypmod,
            collation: (*attr).attcollation,
            dropped,
        });
    }
    let name = cstr((*(*relation).rd_rel).relname.data.as_ptr());
    pg_sys::RelationClose(relation);
    let table = TableDef { name, options: options_to_map((*foreign).options), columns };
    ((*foreign).serverid, table, attrs)
}

/// Load a foreign table for planning, scanning or writing; its options are checked completely here
/// (`ddl::check_options`), so options set by any command, or while validation was bypassed, are never used
/// unchecked.
pub unsafe fn load(relid: pg_sys::Oid) -> Foreign {
    super::definitions::refresh();
    let (server_oid, table, attrs) = table_def(relid);
    let server = server_def(server_oid);
    super::ddl::check_options(relid, &server, &table).or_raise();
    let connector = connectors::for_server(&server).or_raise();
    let handle = connector.open(&server, &table).or_raise();
    Foreign { relid, server_oid, server, table, attrs, connector, handle }
}

/// Like `load`, but `None` where a table's options do not open (for callers that must not fail).
pub unsafe fn try_load(relid: pg_sys::Oid) -> Option<Foreign> {
    super::definitions::refresh();
    let (server_oid, table, attrs) = table_def(relid);
    let server = server_def(server_oid);
    super::ddl::check_options(relid, &server, &table).ok()?;
    let connector = connectors::for_server(&server).ok()?;
    let handle = connector.open(&server, &table).ok()?;
    Some(Foreign { relid, server_oid, server, table, attrs, connector, handle })
}

/// The user mapping `userid` (or PUBLIC) has for a server, as stored (secrets encrypted): its oid and
/// options; none and empty when there is no mapping, since servers without authentication need none.
pub unsafe fn stored_user_mapping(server_oid: pg_sys::Oid, userid: pg_sys::Oid) -> (Option<pg_sys::Oid>, OptionMap) {
    let cache = pg_sys::SysCacheIdentifier::USERMAPPINGUSERSERVER as i32;
    for user in [userid, pg_sys::InvalidOid] {
        let tuple = pg_sys::SearchSysCache2(cache, pg_sys::Datum::from(user), pg_sys::Datum::from(server_oid));
        if tuple.is_null() {
            continue;
        }
        let oid = (*super::pg::tuple_struct::<pg_sys::FormData_pg_user_mapping>(tuple)).oid;
        let mut is_null = false;
        let datum = pg_sys::SysCacheGetAttr(
            cache,
            tuple,
            pg_sys::Anum_pg_user_mapping_umoptions as pg_sys::AttrNumber,
            &mut is_null,
        );
        let options = if is_null { OptionMap::new() } else { options_to_map(pg_sys::untransformRelOptions(datum)) };
        pg_sys::ReleaseSysCache(tuple);
        return (Some(oid), options);
    }
    (None, OptionMap::new())
}

/// The role a user mapping is for (InvalidOid for PUBLIC).
pub unsafe fn mapping_user(mapping: pg_sys::Oid) -> Option<pg_sys::Oid> {
    let cache = pg_sys::SysCacheIdentifier::USERMAPPINGOID as i32;
    let tuple = pg_sys::SearchSysCache1(cache, pg_sys::Datum::from(mapping));
    if tuple.is_null() {
        return None;
    }
    let user = (*super::pg::tuple_struct::<pg_sys::FormData_pg_user_mapping>(tuple)).umuser;
    pg_sys::ReleaseSysCache(tuple);
    Some(user)
}

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
