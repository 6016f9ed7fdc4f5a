-- Webhook events received by the listener (connector_fdw.webhook_listen): one row per event and server,
-- stored once. A redelivery (same server and event id) is acknowledged and not stored again. Each event is
-- committed before the provider gets its 2xx, and then channel connector_fdw_webhook is notified with the
-- server's name.

CREATE TABLE webhook_events (
    server name NOT NULL,
    event_id text NOT NULL,
    event_type text,
    received_at timestamptz NOT NULL DEFAULT now(),
    payload jsonb NOT NULL,
    PRIMARY KEY (server, event_id)
);
-- For pruning old events.
CREATE INDEX webhook_events_received_at ON webhook_events (received_at);
SELECT pg_catalog.pg_extension_config_dump('webhook_events', '');

-- A role sees the events of servers it has USAGE on (what it could read through their tables anyway), and
-- a server's owner may delete them. Events of a dropped server are left to superusers.
CREATE FUNCTION _may_use_server(server name) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT FROM pg_foreign_server s WHERE s.srvname = server AND has_server_privilege(s.oid, 'USAGE'))
$$;
CREATE FUNCTION _owns_server(server name) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT FROM pg_foreign_server s WHERE s.srvname = server AND pg_has_role(s.srvowner, 'USAGE'))
$$;
ALTER TABLE webhook_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY webhook_events_visible ON webhook_events FOR SELECT USING (connector_fdw._may_use_server(server));
CREATE POLICY webhook_events_pruned ON webhook_events FOR DELETE USING (connector_fdw._owns_server(server));
GRANT SELECT, DELETE ON webhook_events TO PUBLIC;
