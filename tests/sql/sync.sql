-- connector_fdw.sync(): full and incremental copies into local tables, one transaction per run, every
-- run recorded.
\i :tests/helpers/setup.psql
\set VERBOSITY default
CREATE FOREIGN TABLE remote_customers (
  id int OPTIONS (filter_param 'id'), name text, country text, amount numeric,
  updated_at timestamptz OPTIONS (filter_param_gt 'updated_at_gt')
) SERVER mock OPTIONS (path '/n/10000/page/customers', rows '$.data[*]', pagination 'page',
  page_param '_page', page_size_param '_limit', page_size '100');
CREATE VIEW runs AS
  SELECT run_id, target, mode, status, rows_fetched, rows_inserted, rows_updated, rows_deleted, requests, message
  FROM connector_fdw.sync_runs ORDER BY run_id;
SELECT reset_mock();

-- The first run creates the target (key as primary key) and copies everything: 100 pages.
SELECT status, rows_fetched, rows_inserted, requests, message
FROM connector_fdw.sync('remote_customers', 'local_customers', key => '{id}', cursor_column => 'updated_at');
SELECT count(*), sum(id) FROM local_customers;
\d local_customers
SELECT target, cursor_column, last_cursor IS NOT NULL AS has_cursor FROM connector_fdw.sync_state;

-- 1 % of the source changes; the next run asks only for rows changed since the last cursor.
CREATE FOREIGN TABLE touch (touched int) SERVER mock OPTIONS (path '/__admin/touch', query 'n=10000&every=100');
SELECT reset_mock();
SELECT touched FROM touch;
SELECT status, rows_fetched, rows_inserted, rows_updated, requests
FROM connector_fdw.sync('remote_customers', 'local_customers', key => '{id}', cursor_column => 'updated_at');
SELECT regexp_replace(query, 'updated_at_gt=[^&]+', 'updated_at_gt=<last cursor>') AS requested FROM mock_requests;
-- Unchanged rows count as fetched but not updated; the cursor moved on.
SELECT status, rows_fetched, rows_updated, requests
FROM connector_fdw.sync('remote_customers', 'local_customers');

-- A full run with delete_missing removes rows gone at the source.
DELETE FROM remote_customers WHERE id IN (10, 20, 30);
SELECT status, rows_fetched, rows_inserted, rows_updated, rows_deleted
FROM connector_fdw.sync('remote_customers', 'local_customers', mode => 'full', delete_missing => true);
SELECT count(*) FROM local_customers WHERE id IN (10, 20, 30);

-- A fault in the middle of a run (a value that does not fit smallint, 33 pages in): nothing of it is
-- kept, the cursor stays, and the run is recorded. (The provider caps pages at 100 records although
-- 1,000 are asked for: the scan notices and goes on.)
CREATE FOREIGN TABLE breaking (id smallint, name text, country text, amount numeric, updated_at timestamptz)
  SERVER mock OPTIONS (path '/n/40000/page/customers', rows '$.data[*]', pagination 'page',
  page_param '_page', page_size_param '_limit', page_size '1000');
SELECT status, rows_fetched, message FROM connector_fdw.sync('breaking', 'local_breaking', key => '{id}', mode => 'full');
SELECT to_regclass('local_breaking') AS target_created;
CREATE TABLE kept AS SELECT * FROM local_customers;
SELECT last_cursor AS cursor_before FROM connector_fdw.sync_state WHERE target = 'public.local_customers' \gset
ALTER FOREIGN TABLE remote_customers OPTIONS (SET path '/n/10000/fault/500/always/page/customers');
SELECT status, rows_fetched, message FROM connector_fdw.sync('remote_customers', 'local_customers', mode => 'full');
SELECT (SELECT count(*) FROM (SELECT * FROM local_customers EXCEPT SELECT * FROM kept) d) AS rows_changed,
       (SELECT last_cursor FROM connector_fdw.sync_state WHERE target = 'public.local_customers') = :'cursor_before' AS cursor_kept;
ALTER FOREIGN TABLE remote_customers OPTIONS (SET path '/n/10000/page/customers');

-- Two runs on one target never both copy: the second one skips and says so.
CREATE EXTENSION dblink;
SELECT dblink_connect('other', 'dbname=' || current_database() || ' host=127.0.0.1 port=' || current_setting('port'));
SELECT dblink_exec('other', 'BEGIN');
SELECT status FROM dblink('other', $$SELECT status FROM connector_fdw.sync('remote_customers', 'local_customers')$$) AS r(status text);
SELECT status, message FROM connector_fdw.sync('remote_customers', 'local_customers');
SELECT dblink_exec('other', 'COMMIT');
-- A running sync shows in sync_progress, from any session, until it ends.
CREATE FOREIGN TABLE slow_customers (id int, name text) SERVER mock OPTIONS (path '/delay/200/n/2000/page/customers',
  rows '$.data[*]', pagination 'page', page_param '_page', page_size_param '_limit', page_size '100');
SELECT dblink_send_query('other', $$SELECT status FROM connector_fdw.sync('slow_customers', 'local_slow', key => '{id}', mode => 'full')$$);
-- Wait (up to 30 s) for it to start rather than for a fixed time.
DO $$ BEGIN
  FOR i IN 1 .. 3000 LOOP
    EXIT WHEN EXISTS (SELECT FROM connector_fdw.sync_progress WHERE source::text = 'slow_customers');
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
SELECT source, target, pid <> pg_backend_pid() AS other_session, elapsed > '0' AS elapsing FROM connector_fdw.sync_progress;
SELECT * FROM dblink_get_result('other') AS r(status text);
SELECT * FROM dblink_get_result('other') AS r(status text);
SELECT count(*) AS running FROM connector_fdw.sync_progress;
SELECT count(*) FROM local_slow;
SELECT dblink_disconnect('other');

-- Every run is in sync_runs.
SELECT target, mode, status, rows_fetched, rows_inserted, rows_updated, rows_deleted, message FROM runs;

-- Bad input: clear errors, no run.
SELECT connector_fdw.sync('remote_customers', 'local_customers', mode => 'sometimes');
SELECT connector_fdw.sync('kept', 'copy_of_kept', key => '{id}');
SELECT connector_fdw.sync('remote_customers', 'other_target');
SELECT connector_fdw.sync('remote_customers', 'other_target', key => '{id}', cursor_column => 'created');
SELECT connector_fdw.sync('remote_customers', 'other_target', key => '{uuid}', mode => 'full');
SELECT connector_fdw.sync('remote_customers', 'other_target', key => '{id}', cursor_column => 'updated_at', delete_missing => true);
CREATE TABLE mismatched (id int PRIMARY KEY, name text, colour text);
SELECT connector_fdw.sync('remote_customers', 'mismatched', mode => 'full');
CREATE TABLE retyped (id int PRIMARY KEY, amount text);
SELECT connector_fdw.sync('remote_customers', 'retyped', mode => 'full');
CREATE TABLE unkeyed (id int, name text);
SELECT connector_fdw.sync('remote_customers', 'unkeyed', key => '{id}', mode => 'full');

-- The target is a table name, never SQL: text that is not one is refused and runs nothing; names with
-- any characters work when quoted, and are quoted wherever the sync uses them.
CREATE FOREIGN TABLE few (id int, name text) SERVER mock OPTIONS (path '/n/20/page/customers', rows '$.data[*]',
  pagination 'page', page_param '_page', page_size_param '_limit', page_size '10');
SELECT connector_fdw.sync('few', $$public.x();DO $do$BEGIN RAISE NOTICE 'injected'; END$do$;CREATE TABLE y$$,
  key => '{id}', mode => 'full');
SELECT connector_fdw.sync('few', 'x AS SELECT 1; CREATE TABLE y', key => '{id}', mode => 'full');
SELECT connector_fdw.sync('few', 'db.public.x', key => '{id}', mode => 'full');
SELECT to_regclass('public.x') AS x, to_regclass('public.y') AS y;
CREATE SCHEMA "Odd Schema";
SELECT status, rows_inserted, message
FROM connector_fdw.sync('few', '"Odd Schema"."Copy; DROP TABLE kept"', key => '{id}', mode => 'full');
SELECT count(*) FROM "Odd Schema"."Copy; DROP TABLE kept";
SELECT status, rows_fetched FROM connector_fdw.sync('few', '"Odd Schema"."Copy; DROP TABLE kept"', mode => 'full');
SELECT target FROM connector_fdw.sync_state WHERE target LIKE '%Odd%';
SELECT to_regclass('kept') IS NOT NULL AS kept_is_still_there;
-- Unqualified names are the search_path's, and recorded qualified whatever the session's search_path.
SET search_path = "Odd Schema", public;
SELECT status, message FROM connector_fdw.sync('few', 'Few_Copy', key => '{id}', mode => 'full');
SELECT status, rows_fetched FROM connector_fdw.sync('few', '"Odd Schema".few_copy', mode => 'full');
RESET search_path;
SELECT target, count(*) FROM connector_fdw.sync_runs WHERE target LIKE '"Odd Schema"%' GROUP BY target ORDER BY target;
-- A view is not a target.
SELECT connector_fdw.sync('few', 'runs', key => '{id}', mode => 'full');
