//! Reading foreign servers, tables and user mappings from the catalogs into connector_core's plain
//! values (the per-backend runtime and HTTP clients built from them are in clients.rs).

use super::pg::{cstr, options_to_map, OrRaise};
use connector_core::connectors::{self, Connector, ServerDef, Table};
use connector_core::model::{ColumnDef, ColumnType, TableDef};
use connector_core::options::OptionMap;
use pgrx::pg_sys;
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
        // SAFETY: format_type_with_typemod returns a palloc'd string for any type; cstr copies it.
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
