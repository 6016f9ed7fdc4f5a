-- Metadata for its owners only: two unprivileged roles sync and receive webhooks side by side; each sees
-- and writes its own sync state, runs, progress, statistics, webhook events and connector definitions, and
-- not the other's. Superusers see everything. (Roles are cluster-wide: named for this test, dropped at
-- its end.)
\i :tests/helpers/setup.psql
\set VERBOSITY default
-- Left over by an interrupted run, if any (its database is gone).
DROP ROLE IF EXISTS cfdw_meta_alice, cfdw_meta_bob;
CREATE ROLE cfdw_meta_alice LOGIN;
CREATE ROLE cfdw_meta_bob LOGIN;
GRANT USAGE ON FOREIGN DATA WRAPPER connector_fdw TO cfdw_meta_alice, cfdw_meta_bob;
CREATE SCHEMA alice AUTHORIZATION cfdw_meta_alice;
CREATE SCHEMA bob AUTHORIZATION cfdw_meta_bob;

-- Each owns a server and a foreign table of it, created as that role.
SET ROLE cfdw_meta_alice;
CREATE SERVER alice_api FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock');
CREATE FOREIGN TABLE alice.remote (id int, name text) SERVER alice_api OPTIONS (path '/n/30/page/customers',
  rows '$.data[*]', pagination 'page', page_param '_page', page_size_param '_limit', page_size '10');
CREATE FOREIGN TABLE alice.slow (id int, name text) SERVER alice_api OPTIONS (path '/delay/200/n/2000/page/customers',
  rows '$.data[*]', pagination 'page', page_param '_page', page_size_param '_limit', page_size '100');
RESET ROLE;
SET ROLE cfdw_meta_bob;
CREATE SERVER bob_api FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock');
CREATE FOREIGN TABLE bob.remote (id int, name text) SERVER bob_api OPTIONS (path '/n/20/page/customers',
  rows '$.data[*]', pagination 'page', page_param '_page', page_size_param '_limit', page_size '10');
RESET ROLE;

-- An unprivileged role syncs: into a new table of its schema, and again into it.
SET ROLE cfdw_meta_alice;
SELECT status, rows_inserted, message, run_by FROM connector_fdw.sync('alice.remote', 'alice.copy', key => '{id}', mode => 'full');
SELECT status, rows_fetched, rows_updated FROM connector_fdw.sync('alice.remote', 'alice.copy', mode => 'full');
RESET ROLE;
-- An unqualified target is the search_path's, and recorded schema-qualified.
SET ROLE cfdw_meta_bob;
SET search_path = bob, public;
SELECT status, rows_inserted, message FROM connector_fdw.sync('bob.remote', 'copy', key => '{id}', mode => 'full');
RESET search_path;
RESET ROLE;

-- Each sees its own metadata only.
SET ROLE cfdw_meta_alice;
SELECT target, status, run_by FROM connector_fdw.sync_runs ORDER BY run_id;
SELECT target, source FROM connector_fdw.sync_state;
SELECT server, requests > 0 AS requested FROM connector_fdw.stats;
SELECT server FROM connector_fdw.server_stats();
RESET ROLE;
SET ROLE cfdw_meta_bob;
SELECT target, status, run_by FROM connector_fdw.sync_runs ORDER BY run_id;
SELECT target, source FROM connector_fdw.sync_state;
SELECT server, requests > 0 AS requested FROM connector_fdw.stats;
RESET ROLE;
SELECT target, run_by FROM connector_fdw.sync_runs ORDER BY run_id;
SELECT server FROM connector_fdw.stats ORDER BY server;

-- Bob can neither sync into Alice's table nor touch her metadata.
SET ROLE cfdw_meta_bob;
SELECT connector_fdw.sync('bob.remote', 'alice.copy', key => '{id}', mode => 'full');
RESET ROLE;
GRANT USAGE ON SCHEMA alice TO cfdw_meta_bob;
SET ROLE cfdw_meta_bob;
SELECT connector_fdw.sync('bob.remote', 'alice.copy', key => '{id}', mode => 'full');
WITH changed AS (UPDATE connector_fdw.sync_state SET last_cursor = 'x' WHERE target = 'alice.copy' RETURNING 1)
SELECT count(*) AS updated FROM changed;
WITH gone AS (DELETE FROM connector_fdw.sync_runs WHERE target = 'alice.copy' RETURNING 1)
SELECT count(*) AS deleted FROM gone;
INSERT INTO connector_fdw.sync_state (target, source) VALUES ('alice.copy', 'bob.remote');
INSERT INTO connector_fdw.sync_runs (target, mode, started_at, finished_at, status)
VALUES ('alice.copy', 'full', now(), now(), 'failed');
INSERT INTO connector_fdw.sync_runs (target, mode, started_at, finished_at, status, run_by)
VALUES ('bob.copy', 'full', now(), now(), 'failed', 'cfdw_meta_alice');
-- Junk is not a target name.
INSERT INTO connector_fdw.sync_state (target, source) VALUES ('x();', 'bob.remote');
-- Granted INSERT and UPDATE on her table, he may sync into it, and then sees its metadata.
RESET ROLE;
GRANT SELECT, INSERT, UPDATE ON alice.copy TO cfdw_meta_bob;
SET ROLE cfdw_meta_bob;
SELECT status, rows_fetched, run_by FROM connector_fdw.sync('bob.remote', 'alice.copy', mode => 'full');
SELECT target, run_by FROM connector_fdw.sync_runs ORDER BY run_id;
RESET ROLE;
REVOKE ALL ON alice.copy FROM cfdw_meta_bob;
REVOKE USAGE ON SCHEMA alice FROM cfdw_meta_bob;
-- Resetting one's own cursor.
SET ROLE cfdw_meta_alice;
WITH gone AS (DELETE FROM connector_fdw.sync_state WHERE target = 'alice.copy' RETURNING 1)
SELECT count(*) AS deleted FROM gone;
RESET ROLE;
SELECT count(*) AS states FROM connector_fdw.sync_state;

-- A running sync shows to its role and to superusers, not to others (the same filter holds when the
-- function behind the view is called directly).
CREATE EXTENSION dblink;
SELECT dblink_connect('alice', 'dbname=' || current_database() || ' user=cfdw_meta_alice host=127.0.0.1 port=' || current_setting('port'));
SELECT dblink_send_query('alice', $$SELECT status FROM connector_fdw.sync('alice.slow', 'alice.slow_copy', key => '{id}', mode => 'full')$$);
DO $$
BEGIN
  FOR i IN 1 .. 200 LOOP
    EXIT WHEN EXISTS (SELECT FROM connector_fdw.sync_progress);
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT source, target FROM connector_fdw.sync_progress;
SET ROLE cfdw_meta_bob;
SELECT count(*) AS bob_sees FROM connector_fdw.sync_progress;
SELECT count(*) AS bob_sees FROM connector_fdw.sync_progress_info();
RESET ROLE;
SET ROLE cfdw_meta_alice;
SELECT source, target FROM connector_fdw.sync_progress;
RESET ROLE;
SELECT * FROM dblink_get_result('alice') AS r(status text);
SELECT dblink_disconnect('alice');

-- Webhook events: a role sees those of servers it has USAGE on; a server's owner prunes them.
INSERT INTO connector_fdw.webhook_events (server, event_id, event_type, payload) VALUES
  ('alice_api', 'evt_a1', 'customer.created', '{"id": "evt_a1"}'),
  ('bob_api', 'evt_b1', 'customer.created', '{"id": "evt_b1"}'),
  ('mock', 'evt_m1', 'ping', '{}');
SET ROLE cfdw_meta_alice;
SELECT server, event_id FROM connector_fdw.webhook_events;
INSERT INTO connector_fdw.webhook_events (server, event_id, payload) VALUES ('alice_api', 'forged', '{}');
RESET ROLE;
GRANT USAGE ON FOREIGN SERVER alice_api TO cfdw_meta_bob;
SET ROLE cfdw_meta_bob;
SELECT server, event_id FROM connector_fdw.webhook_events ORDER BY 1;
WITH gone AS (DELETE FROM connector_fdw.webhook_events WHERE server = 'alice_api' RETURNING 1)
SELECT count(*) AS deleted FROM gone;
WITH gone AS (DELETE FROM connector_fdw.webhook_events WHERE server = 'bob_api' RETURNING 1)
SELECT count(*) AS deleted FROM gone;
RESET ROLE;
SELECT server, event_id FROM connector_fdw.webhook_events ORDER BY 1;

-- The webhook secret: set by the server's owner only, stored encrypted, never plain in the catalog.
ALTER SERVER alice_api OPTIONS (ADD webhook 'stripe');
SET ROLE cfdw_meta_alice;
SELECT connector_fdw.set_webhook_secret('alice_api', 'whsec_alice_plain_8c1e');
RESET ROLE;
SET ROLE cfdw_meta_bob;
SELECT connector_fdw.set_webhook_secret('alice_api', 'whsec_bob');
ALTER SERVER alice_api OPTIONS (SET webhook_secret 'whsec_bob');
RESET ROLE;
SELECT option_name, option_value ~ '^cfdw2:[0-9a-f]{8}:' AS encrypted
  FROM pg_options_to_table((SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'alice_api'))
 WHERE option_name = 'webhook_secret';
SELECT count(*) AS plaintext_in_catalog FROM pg_foreign_server WHERE srvoptions::text LIKE '%whsec_alice_plain%';
-- Plaintext is refused in the option itself, without being quoted; empty and NULL secrets.
ALTER SERVER alice_api OPTIONS (SET webhook_secret 'whsec_typed_in_plain');
SELECT connector_fdw.set_webhook_secret('alice_api', '');
SELECT connector_fdw.set_webhook_secret('alice_api', NULL);
SELECT count(*) AS secrets FROM pg_options_to_table((SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'alice_api'))
 WHERE option_name = 'webhook_secret';
SELECT connector_fdw.set_webhook_secret('nowhere', 'x');
CREATE FOREIGN DATA WRAPPER cfdw_meta_other;
CREATE SERVER other_wrapper FOREIGN DATA WRAPPER cfdw_meta_other;
SELECT connector_fdw.set_webhook_secret('other_wrapper', 'x');
-- Webhook options are checked together.
ALTER SERVER bob_api OPTIONS (ADD webhook 'github');
ALTER SERVER bob_api OPTIONS (ADD webhook 'stripe', webhook_event_id '$.id');
ALTER SERVER bob_api OPTIONS (ADD webhook 'hmac_sha256', webhook_event_id 'header:X-GitHub-Delivery',
  webhook_event_type 'header:X-GitHub-Event', webhook_signature_encoding 'hex');

-- Definitions: every role sees which connectors exist; a document is for its definer, the roles with USAGE
-- on a server of it, and superusers. A role granted define_connector defines in its own name.
SELECT connector_fdw.define_connector('cfdw_meta_shop', '{"version": "1", "base_url": "http://shop.invalid",
  "resources": [{"name": "orders", "path": "/orders", "columns": [{"name": "id", "type": "int"}]}]}');
GRANT EXECUTE ON FUNCTION connector_fdw.define_connector(text, jsonb) TO cfdw_meta_bob;
SET ROLE cfdw_meta_bob;
SELECT connector_fdw.define_connector('cfdw_meta_bobs', '{"version": "1", "base_url": "http://bob.invalid",
  "resources": [{"name": "notes", "path": "/notes", "columns": [{"name": "id", "type": "int"}]}]}');
SELECT name, defined_by FROM connector_fdw.current_definitions ORDER BY name;
RESET ROLE;
SET ROLE cfdw_meta_alice;
SELECT name, defined_by FROM connector_fdw.definitions ORDER BY name;
SELECT name, kind FROM connector_fdw.connectors WHERE name LIKE 'cfdw_meta%' ORDER BY name;
RESET ROLE;
CREATE SERVER shop FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'cfdw_meta_shop');
GRANT USAGE ON FOREIGN SERVER shop TO cfdw_meta_alice;
SET ROLE cfdw_meta_alice;
SELECT name, defined_by FROM connector_fdw.current_definitions ORDER BY name;
-- Loading definitions does not depend on the documents a role may read: Alice can use Bob's connector
-- (and, with a server of it, read its document).
CREATE SERVER alice_notes FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'cfdw_meta_bobs');
SELECT name, defined_by FROM connector_fdw.current_definitions ORDER BY name;
RESET ROLE;
SELECT name, defined_by FROM connector_fdw.definitions ORDER BY name;

-- Clean up the cluster-wide roles.
SET client_min_messages = warning;
DROP SCHEMA alice, bob CASCADE;
DROP SERVER shop, other_wrapper;
DROP FOREIGN DATA WRAPPER cfdw_meta_other;
DROP OWNED BY cfdw_meta_alice, cfdw_meta_bob CASCADE;
DROP ROLE cfdw_meta_alice, cfdw_meta_bob;
