-- Connector definitions registered with define_connector(): every version is kept; the current one is the
-- version defined (or re-defined) last. Backends load the current versions once per transaction.

CREATE TABLE definitions (
    name text NOT NULL,
    version text NOT NULL,
    definition jsonb NOT NULL,
    defined_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    defined_by name NOT NULL DEFAULT current_user,
    PRIMARY KEY (name, version)
);
-- Definitions are the user's data: pg_dump keeps them.
SELECT pg_catalog.pg_extension_config_dump('definitions', '');

-- Whether the current role may read a definition's document: it defined it (or has its definer's
-- privileges), or it has USAGE on a server of that connector. Which connectors exist is public
-- (connector_fdw.connectors); a document may describe a private API.
CREATE FUNCTION _may_read_definition(connector text, definer name) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT FROM pg_roles r WHERE r.rolname = definer AND pg_has_role(r.oid, 'USAGE'))
        OR EXISTS (SELECT FROM pg_foreign_server s JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
                    WHERE w.fdwhandler = 'connector_fdw.connector_fdw_handler'::regproc
                      AND s.srvoptions @> ARRAY['connector=' || connector]
                      AND has_server_privilege(s.oid, 'USAGE'))
$$;
ALTER TABLE definitions ENABLE ROW LEVEL SECURITY;
CREATE POLICY definitions_readable ON definitions FOR SELECT
    USING (connector_fdw._may_read_definition(name, defined_by));

CREATE VIEW current_definitions WITH (security_invoker = true) AS
    SELECT DISTINCT ON (name) name, version, definition, defined_at, defined_by
      FROM definitions
     ORDER BY name, defined_at DESC;

-- Defining a connector changes what servers of that connector do, so it is for superusers and roles they
-- grant it to (define_connector and drop_connector write the catalog for them).
GRANT SELECT ON definitions, current_definitions TO PUBLIC;
REVOKE EXECUTE ON FUNCTION define_connector(text, jsonb), drop_connector(text) FROM PUBLIC;

CREATE VIEW connectors AS SELECT * FROM _connectors();
GRANT SELECT ON connectors TO PUBLIC;
