//! Option validation at CREATE/ALTER time.
//!
//! The FDW validator sees one catalog entry's options but not, for a table or column, which server (and so
//! which connector) it belongs to. It checks servers and user mappings completely. Tables and columns are
//! checked by an event trigger at the end of the command, when the server is known, so the error can list
//! the options valid for that connector. Every use of a table (planning, scans, writes, `push()`) checks
//! its options again, completely ([`check_options`]): whatever command set them, nothing unchecked is used.

use super::catalog;
use super::pg::{options_to_map, raise, OrRaise};
use connector_core::connectors::{self, ServerDef};
use connector_core::options::{self, OptionMap, Scope};
use connector_core::{Error, ErrorKind};
use pgrx::pg_sys;
use pgrx::spi::Spi;

/// `connector_fdw_validator(options text[], catalog oid)`.
pub unsafe fn validate(options_datum: pg_sys::Datum, catalog: pg_sys::Oid) {
    // A zero datum means "no options"; untransformRelOptions handles it.
    let options: OptionMap = options_to_map(pg_sys::untransformRelOptions(options_datum));
    if catalog == pg_sys::ForeignServerRelationId {
        super::definitions::refresh();
        let server = ServerDef { name: String::new(), options };
        if restoring_undefined_connector(&server) {
            return;
        }
        connectors::validate_server(&server).or_raise();
    } else if catalog == pg_sys::UserMappingRelationId {
        options::validate(Scope::UserMapping, "of connector_fdw", &options, &connectors::user_mapping_options())
            .or_raise();
    } else if catalog == pg_sys::ForeignDataWrapperRelationId {
        options::validate(Scope::Wrapper, "connector_fdw", &options, &[]).or_raise();
    }
}

/// A dump restores servers and foreign tables before the table data that holds users' connector
/// definitions, with `check_function_bodies` off (as it is for function bodies that refer to objects not
/// restored yet). Then a server of a connector not defined yet is taken as it is: it is checked when used.
fn restoring_undefined_connector(server: &ServerDef) -> bool {
    // SAFETY: check_function_bodies is a plain GUC variable; read on the backend thread.
    let restoring = unsafe { !pg_sys::check_function_bodies };
    restoring && server.option("connector").is_some() && connectors::for_server(server).is_err()
}

/// Whether a server belongs to this wrapper (other wrappers' DDL passes through the same trigger).
unsafe fn is_ours(server_oid: pg_sys::Oid) -> bool {
    let server = pg_sys::GetForeignServer(server_oid);
    let wrapper = pg_sys::GetForeignDataWrapper((*server).fdwid);
    super::pg::cstr(pg_sys::get_func_name((*wrapper).fdwhandler)) == "connector_fdw_handler"
}

/// Check one foreign table; `context` says why it is checked when that is not the command's own table.
unsafe fn check_table(relid: pg_sys::Oid, context: Option<&str>) {
    if pg_sys::get_rel_relkind(relid) != pg_sys::RELKIND_FOREIGN_TABLE as std::ffi::c_char {
        return;
    }
    let (server_oid, table, _) = catalog::table_def(relid);
    if !is_ours(server_oid) {
        return;
    }
    super::definitions::refresh();
    let server = catalog::server_def(server_oid);
    if restoring_undefined_connector(&server) {
        return;
    }
    let in_context = |e: Error| match context {
        Some(context) => e.with_detail(format!("{context}: foreign table \"{}\" does not fit", table.name)),
        None => e,
    };
    check_options(relid, &server, &table).map_err(in_context).or_raise();
    // The role setting a server file path needs the privilege itself, not only the table's owner.
    if reads_server_files(&server, &table) && !may_read_server_files(pg_sys::GetUserId()) {
        raise(file_privilege_error(&table));
    }
}

/// Everything a foreign table's options must satisfy, whatever command set them (CREATE, ALTER TABLE,
/// ALTER FOREIGN TABLE, IMPORT, a dump restored with event triggers off): the server's and the table's
/// option names and values, the connector's own checks, and the privilege a server file path needs, held
/// by the table's owner (the role that decides what the table reads; a superuser's file table may be
/// granted to others). Called when the command ends and again wherever the options are used.
pub unsafe fn check_options(
    relid: pg_sys::Oid,
    server: &ServerDef,
    table: &connector_core::model::TableDef,
) -> Result<(), Error> {
    connectors::validate_server(server)?;
    connectors::validate_table(server, table)?;
    if reads_server_files(server, table) && !may_read_server_files(table_owner(relid)) {
        return Err(file_privilege_error(table));
    }
    Ok(())
}

fn reads_server_files(server: &ServerDef, table: &connector_core::model::TableDef) -> bool {
    connectors::for_server(server).map(|c| c.reads_server_files(table)).unwrap_or(false)
}

pub(super) unsafe fn may_read_server_files(role: pg_sys::Oid) -> bool {
    pg_sys::superuser_arg(role) || pg_sys::has_privs_of_role(role, pg_sys::Oid::from(pg_sys::ROLE_PG_READ_SERVER_FILES))
}

unsafe fn table_owner(relid: pg_sys::Oid) -> pg_sys::Oid {
    let relation = pg_sys::RelationIdGetRelation(relid);
    if relation.is_null() {
        return pg_sys::InvalidOid;
    }
    let owner = (*(*relation).rd_rel).relowner;
    pg_sys::RelationClose(relation);
    owner
}

fn file_privilege_error(table: &connector_core::model::TableDef) -> Error {
    Error::new(
        ErrorKind::InsufficientPrivilege,
        format!(
            "only superusers or members of pg_read_server_files may give foreign table \"{}\" a server file path, and its owner must be one",
            table.name
        ),
    )
    .with_hint("Use the \"url\" option to read over HTTP, or ask an administrator to create the table.")
}

/// Event trigger at `ddl_command_end`: check every foreign table the command created or altered, and all
/// tables of an altered server (a new connector may not accept their options).
pub unsafe fn check_ddl() {
    let objects: Vec<(pg_sys::Oid, String)> = Spi::connect(|client| {
        client
            .select("SELECT objid, object_type FROM pg_event_trigger_ddl_commands()", None, &[])
            .map(|rows| {
                rows.filter_map(|row| {
                    let objid = row.get::<pg_sys::Oid>(1).ok().flatten()?;
                    let object_type = row.get::<String>(2).ok().flatten()?;
                    Some((objid, object_type))
                })
                .collect()
            })
            .unwrap_or_default()
    });
    for (objid, object_type) in objects {
        match object_type.as_str() {
            "foreign table" | "foreign table column" => check_table(objid, None),
            // Normally encrypted before it was stored (ProcessUtility hook); this covers a session whose
            // first such command loaded the library.
            "user mapping" => {
                super::credentials::encrypt_mapping(objid, super::credentials::Reencrypt::Plaintext);
            }
            "server" if is_ours(objid) => {
                let tables: Vec<pg_sys::Oid> = Spi::connect(|client| {
                    client
                        .select("SELECT ftrelid FROM pg_foreign_table WHERE ftserver = $1", None, &[objid.into()])
                        .map(|rows| rows.filter_map(|r| r.get::<pg_sys::Oid>(1).ok().flatten()).collect())
                        .unwrap_or_default()
                });
                let context = format!("after altering server \"{}\"", catalog::server_def(objid).name);
                for relid in tables {
                    check_table(relid, Some(&context));
                }
            }
            _ => {}
        }
    }
}
