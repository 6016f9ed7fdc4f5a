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

CREATE VIEW current_definitions AS
    SELECT DISTINCT ON (name) name, version, definition, defined_at, defined_by
      FROM definitions
     ORDER BY name, defined_at DESC;

-- Every role sees which connectors exist (definitions hold no secrets); defining one changes what servers
-- of that connector do, so it is for superusers and roles they grant it to.
GRANT SELECT ON definitions, current_definitions TO PUBLIC;
REVOKE EXECUTE ON FUNCTION define_connector(text, jsonb), drop_connector(text) FROM PUBLIC;

CREATE VIEW connectors AS SELECT * FROM _connectors();
GRANT SELECT ON connectors TO PUBLIC;
