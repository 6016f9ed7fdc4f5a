//! connector_fdw: foreign tables over REST/GraphQL APIs, SaaS providers and files.
//!
//! Connector logic lives in the `connector_core` crate (plain Rust, tested without Postgres); this crate
//! is the Postgres side: the FDW callbacks, catalogs, SQL functions and settings.

use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

mod fdw;

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    fdw::init();
}

extension_sql!(
    r#"
-- The schema holds views and functions meant for every role (stats, OAuth); privileged ones revoke.
GRANT USAGE ON SCHEMA connector_fdw TO PUBLIC;
CREATE FUNCTION connector_fdw_handler() RETURNS fdw_handler
    AS 'MODULE_PATHNAME', 'connector_fdw_handler' LANGUAGE C STRICT;
CREATE FUNCTION connector_fdw_validator(text[], oid) RETURNS void
    AS 'MODULE_PATHNAME', 'connector_fdw_validator' LANGUAGE C STRICT;
CREATE FOREIGN DATA WRAPPER connector_fdw HANDLER connector_fdw_handler VALIDATOR connector_fdw_validator;

-- Table and column options depend on the server's connector, which the validator cannot see:
-- they are checked when the command ends (ALTER TABLE too: it alters foreign tables' options), and again
-- wherever they are used. User mappings are encrypted then if they were not already.
CREATE FUNCTION ddl_check() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'connector_fdw_ddl_check' LANGUAGE C;
CREATE EVENT TRIGGER connector_fdw_ddl_check ON ddl_command_end
    WHEN TAG IN ('CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE', 'ALTER TABLE', 'IMPORT FOREIGN SCHEMA',
                 'ALTER SERVER', 'CREATE USER MAPPING', 'ALTER USER MAPPING')
    EXECUTE FUNCTION ddl_check();
"#,
    name = "connector_fdw_objects"
);

extension_sql_file!(
    "../sql/sync.sql",
    name = "sync",
    requires = [
        "connector_fdw_objects",
        fdw::progress::sync_begin,
        fdw::progress::sync_end,
        fdw::progress::backend_requests,
        fdw::progress::sync_progress_info,
    ]
);

extension_sql_file!(
    "../sql/definitions.sql",
    name = "definitions",
    requires = [
        "connector_fdw_objects",
        fdw::definitions::define_connector,
        fdw::definitions::drop_connector,
        fdw::definitions::connector_list,
    ]
);

extension_sql_file!("../sql/webhooks.sql", name = "webhooks", requires = ["connector_fdw_objects"]);
