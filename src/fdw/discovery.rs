//! What a provider exposes: IMPORT FOREIGN SCHEMA, `connector_fdw.list_resources(server)` and
//! `connector_fdw.test_connection(server)`.

use super::catalog;
use super::clients;
use super::exec::run_interruptibly;
use super::pg::{
    cstr, list_ptrs, make_list, options_to_map, pstrdup, quote_identifier as quote_ident, quote_literal, raise, OrRaise,
};
use connector_core::connectors::{self, openapi, Resource, ServerDef};
use connector_core::http::{Counters, Http, Request};
use connector_core::{Error, ErrorKind};
use pgrx::pg_sys;
use pgrx::prelude::*;
use std::sync::Arc;

/// A server of this wrapper by name, which the current user may use (USAGE, as for its tables).
pub(super) unsafe fn server_by_name(name: &str) -> (pg_sys::Oid, ServerDef) {
    let cname = std::ffi::CString::new(name).unwrap_or_default();
    let server = pg_sys::GetForeignServerByName(cname.as_ptr(), false);
    if !super::credentials::is_our_server(server) {
        raise(Error::option_value("server", format!("\"{name}\" is not a connector_fdw server")));
    }
    let oid = (*server).serverid;
    if !super::compat::server_usage_granted(oid) {
        raise(Error::new(ErrorKind::InsufficientPrivilege, format!("permission denied for foreign server {name}")));
    }
    super::definitions::refresh();
    (oid, catalog::server_def(oid))
}

/// The server's HTTP client for the current user (their mapping, or PUBLIC's).
pub(super) unsafe fn client(server_oid: pg_sys::Oid, server: &ServerDef) -> Arc<Http> {
    let user = pg_sys::GetUserId();
    let (mapping, options) = super::credentials::user_mapping(server_oid, user);
    clients::http_client(server_oid, user, mapping, server, &options)
}

/// A filter of table names: IMPORT FOREIGN SCHEMA's `LIMIT TO` / `EXCEPT`.
type Keep = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The resources the server's provider exposes (asking it, through the current user's mapping) whose
/// names `keep` keeps, after warnings for the sources left out.
unsafe fn resources(server_oid: pg_sys::Oid, server: &ServerDef, keep: Keep) -> Vec<Resource> {
    let connector = connectors::for_server(server).or_raise();
    if connector.lists_server_files(server) && !super::ddl::may_read_server_files(pg_sys::GetUserId()) {
        raise(list_files_privilege_error(server));
    }
    let http = client(server_oid, server);
    let server = server.clone();
    let found = run_interruptibly(async move { connector.discover_only(&server, &http, &*keep).await }).or_raise();
    for skipped in &found.skipped {
        pgrx::warning!("{skipped}");
    }
    found.resources
}

fn list_files_privilege_error(server: &ServerDef) -> Error {
    Error::new(
        ErrorKind::InsufficientPrivilege,
        format!("only superusers or members of pg_read_server_files may list the files of server \"{}\"", server.name),
    )
}

fn options_sql(options: &connector_core::options::OptionMap) -> String {
    if options.is_empty() {
        return String::new();
    }
    let items: Vec<String> = options.iter().map(|(k, v)| format!("{} {}", quote_ident(k), quote_literal(v))).collect();
    format!(" OPTIONS ({})", items.join(", "))
}

/// The CREATE FOREIGN TABLE command for a resource.
fn create_table_sql(resource: &Resource, server: &str) -> String {
    let columns: Vec<String> = resource
        .columns
        .iter()
        .map(|c| format!("{} {}{}", quote_ident(&c.name), c.sql_type, options_sql(&c.options)))
        .collect();
    format!(
        "CREATE FOREIGN TABLE {} ({}) SERVER {}{}",
        quote_ident(&resource.name),
        columns.join(", "),
        quote_ident(server),
        options_sql(&resource.table_options)
    )
}

#[pg_guard]
pub unsafe extern "C-unwind" fn import_foreign_schema(
    stmt: *mut pg_sys::ImportForeignSchemaStmt,
    server_oid: pg_sys::Oid,
) -> *mut pg_sys::List {
    super::definitions::refresh();
    let server = catalog::server_def(server_oid);
    let listed: Vec<String> =
        list_ptrs::<pg_sys::RangeVar>((*stmt).table_list).into_iter().map(|rv| cstr((*rv).relname)).collect();
    let list_type = (*stmt).list_type;
    let keep: Keep = Arc::new(move |name: &str| match list_type {
        pg_sys::ImportForeignSchemaType::FDW_IMPORT_SCHEMA_LIMIT_TO => listed.iter().any(|l| l == name),
        pg_sys::ImportForeignSchemaType::FDW_IMPORT_SCHEMA_EXCEPT => !listed.iter().any(|l| l == name),
        _ => true,
    });
    let options = options_to_map((*stmt).options);
    let remote_schema = cstr((*stmt).remote_schema);
    let connector = connectors::for_server(&server).or_raise();
    // A rest server imports only OpenAPI documents: the option naming one is enough, whatever the remote
    // schema is called.
    let names_document = options.contains_key("openapi_url") || options.contains_key("openapi_file");
    let found: Vec<Resource> =
        if connector.name() == "rest" && (remote_schema == openapi::REMOTE_SCHEMA || names_document) {
            import_openapi(server_oid, &server, &options).into_iter().filter(|r| keep(&r.name)).collect()
        } else {
            openapi::no_import_options(&options, connector.name()).or_raise();
            // The remote schema may scope the import (Airtable: `IMPORT FOREIGN SCHEMA "app…"` names the base).
            resources(server_oid, &connector.import_scope(&server, &remote_schema), keep)
        };
    let commands: Vec<*mut std::ffi::c_char> =
        found.iter().map(|r| pstrdup(&create_table_sql(r, &server.name))).collect();
    make_list(commands)
}

/// The tables of an OpenAPI document (`IMPORT FOREIGN SCHEMA openapi … OPTIONS (openapi_url | openapi_file
/// …)`), after warnings for the operations left out. A document on the server's file system needs what a
/// file table's path needs.
unsafe fn import_openapi(
    server_oid: pg_sys::Oid,
    server: &ServerDef,
    options: &connector_core::options::OptionMap,
) -> Vec<Resource> {
    let request = openapi::import_request(options).or_raise();
    if let openapi::Source::File(path) = &request.source {
        if !super::ddl::may_read_server_files(pg_sys::GetUserId()) {
            raise(Error::new(
                ErrorKind::InsufficientPrivilege,
                format!(
                    "only superusers or members of pg_read_server_files may import the OpenAPI document \"{path}\""
                ),
            ));
        }
    }
    let http = client(server_oid, server);
    let server = server.clone();
    let found = run_interruptibly(async move { openapi::import(&server, &http, &request).await }).or_raise();
    for skipped in &found.skipped {
        pgrx::warning!("{skipped}");
    }
    found.resources
}

/// `connector_fdw.list_resources(server)`: what IMPORT FOREIGN SCHEMA would create.
#[pg_extern(name = "list_resources", strict)]
fn list_resources(
    server: &str,
) -> TableIterator<'static, (name!(name, String), name!(description, String), name!(columns, i32))> {
    // SAFETY: a SQL function: on the backend thread, in a transaction, as the catalog lookups need.
    let rows: Vec<_> = unsafe {
        let (oid, def) = server_by_name(server);
        resources(oid, &def, Arc::new(|_: &str| true))
    }
    .into_iter()
    .map(|r| (r.name, r.description, r.columns.len() as i32))
    .collect();
    TableIterator::new(rows)
}

/// `connector_fdw.test_connection(server)`: whether the provider can be reached with the current user's
/// credentials, and what it said.
#[pg_extern(name = "test_connection", strict)]
fn test_connection(server: &str) -> TableIterator<'static, (name!(ok, bool), name!(detail, String))> {
    // SAFETY: a SQL function: on the backend thread, in a transaction, as the catalog lookups need.
    let (oid, def) = unsafe { server_by_name(server) };
    let connector = connectors::for_server(&def).or_raise();
    if let (true, Some(directory)) = (connector.lists_server_files(&def), def.option("directory")) {
        // A directory server: whether its directory can be listed, and what an import would make of it.
        // SAFETY: a catalog lookup of the current role, in this function's transaction.
        if !unsafe { super::ddl::may_read_server_files(pg_sys::GetUserId()) } {
            raise(list_files_privilege_error(&def));
        }
        let (directory, server) = (directory.to_string(), def.clone());
        // SAFETY: `oid` and `def` are the server just looked up in this transaction.
        let http = unsafe { client(oid, &def) };
        let row = match run_interruptibly(async move { connector.discover(&server, &http).await }) {
            Ok(found) => (
                true,
                format!(
                    "directory \"{directory}\": {} table(s) to import, {} file(s) left out",
                    found.resources.len(),
                    found.skipped.len()
                ),
            ),
            Err(e) => (false, e.message),
        };
        return TableIterator::new(vec![row]);
    }
    if !connector.uses_http() {
        return TableIterator::new(vec![(
            true,
            format!("connector \"{}\" reads files; there is nothing to connect to", connector.name()),
        )]);
    }
    // SAFETY: `oid` and `def` are the server just looked up in this transaction.
    let http = unsafe { client(oid, &def) };
    let base = connectors::base_url(&def, connector.as_ref()).or_raise();
    let request = match connector.probe_path(&def) {
        Some(path) => connector_core::proxy::build_request(&base, "GET", &path, None, None).or_raise(),
        None => Request::get(base),
    };
    let described = http.describe(&request);
    let outcome = run_interruptibly(async move { http.send(&request, &Counters::default()).await.map(|r| r.status) });
    let row = match outcome {
        Ok(status) => (true, format!("{described}: HTTP {status}")),
        Err(e) => match e.kind {
            ErrorKind::Authorization | ErrorKind::Connection => (false, e.message),
            // The provider answered: reachable, and the credentials were not refused.
            _ => (true, format!("{} (the provider answered; credentials were not refused)", e.message)),
        },
    };
    TableIterator::new(vec![row])
}
