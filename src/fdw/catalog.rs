//! Reading foreign servers, tables and user mappings from the catalogs into connector_core's plain
//! values, plus the per-backend resources built from them (the runtime and cached HTTP clients).

use super::pg::{cstr, options_to_map, OrRaise};
use connector_core::connectors::{self, Connector, ServerDef, Table};
use connector_core::http::{Http, ServerCounters};
use connector_core::model::{ColumnDef, ColumnType, TableDef};
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
        let attr = (*desc).attrs.as_ptr().add(i);
        let name = cstr((*attr).attname.data.as_ptr());
        let dropped = (*attr).attisdropped;
        let options = if dropped { OptionMap::new() } else { options_to_map(pg_sys::GetForeignColumnOptions(relid, (i + 1) as i16)) };
        let ty = if dropped { ColumnType::Text } else { column_type((*attr).atttypid, (*attr).atttypmod) };
        columns.push(ColumnDef { name, ty, options });
        attrs.push(Attr { type_oid: (*attr).atttypid, typmod: (*attr).atttypmod, dropped });
    }
    let name = cstr((*(*relation).rd_rel).relname.data.as_ptr());
    pg_sys::RelationClose(relation);
    let table = TableDef { name, options: options_to_map((*foreign).options), columns };
    ((*foreign).serverid, table, attrs)
}

/// Load a foreign table for planning or scanning; its options are checked as a whole here too, so a
/// table created while validation was bypassed still fails with a clear message.
pub unsafe fn load(relid: pg_sys::Oid) -> Foreign {
    let (server_oid, table, attrs) = table_def(relid);
    let server = server_def(server_oid);
    let connector = connectors::for_server(&server).or_raise();
    let handle = connector.open(&server, &table).or_raise();
    Foreign { relid, server_oid, server, table, attrs, connector, handle }
}

/// The options of the user mapping `userid` (or PUBLIC) has for a server; empty when there is none, since
/// servers without authentication need no mapping.
pub unsafe fn user_options(server_oid: pg_sys::Oid, userid: pg_sys::Oid) -> OptionMap {
    for user in [userid, pg_sys::InvalidOid] {
        let tuple = pg_sys::SearchSysCache2(
            pg_sys::SysCacheIdentifier::USERMAPPINGUSERSERVER as i32,
            pg_sys::Datum::from(user),
            pg_sys::Datum::from(server_oid),
        );
        if tuple.is_null() {
            continue;
        }
        let mut is_null = false;
        let datum = pg_sys::SysCacheGetAttr(
            pg_sys::SysCacheIdentifier::USERMAPPINGUSERSERVER as i32,
            tuple,
            pg_sys::Anum_pg_user_mapping_umoptions as pg_sys::AttrNumber,
            &mut is_null,
        );
        let options = if is_null { OptionMap::new() } else { options_to_map(pg_sys::untransformRelOptions(datum)) };
        pg_sys::ReleaseSysCache(tuple);
        return options;
    }
    OptionMap::new()
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
            .unwrap_or_else(|e| super::pg::raise(connector_core::Error::internal(format!("cannot start the I/O runtime: {e}"))))
    })
}

thread_local! {
    /// HTTP clients by (server, user), kept across queries so connections are reused. The fingerprint
    /// (all options) detects ALTER SERVER / ALTER USER MAPPING.
    static CLIENTS: RefCell<HashMap<(u32, u32), (String, Arc<Http>)>> = RefCell::new(HashMap::new());
}

/// The HTTP client for a server and role, built once per backend and options version.
pub fn http_client(server_oid: pg_sys::Oid, userid: pg_sys::Oid, server: &ServerDef, user: &OptionMap) -> Arc<Http> {
    let key = (server_oid.to_u32(), userid.to_u32());
    let fingerprint = format!("{:?}{:?}", server.options, user);
    CLIENTS.with(|clients| {
        let mut clients = clients.borrow_mut();
        if let Some((seen, http)) = clients.get(&key) {
            if *seen == fingerprint {
                return http.clone();
            }
        }
        // Building a client starts no threads, but its connection pool needs a runtime context.
        let _guard = runtime().enter();
        let mut http = connectors::http_client(server, user).or_raise();
        // With the library preloaded, limits and counters are the server's, across all backends.
        if let Some((index, slot)) = super::shared::slot(server_oid) {
            let gate = Arc::new(super::shared::SharedGate::new(index, slot, http.settings()));
            http = http.with_gate(gate).with_counters(ServerCounters::Shared(&slot.counters));
        }
        let http = Arc::new(http);
        clients.insert(key, (fingerprint, http.clone()));
        http
    })
}
