-- Range-partitioned cursor scans: a partition_column splits a cursor walk into windows walked concurrently,
-- with the same rows as one sequential walk.
\i :tests/helpers/setup.psql
CREATE SERVER sequential FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', max_concurrency '1');
CREATE SERVER concurrent FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', max_concurrency '8');
-- The same table on both servers: the mock's 2,000 customers by cursor, 50 a page; `id` filtered with
-- >= and <, `created_at` (one record a minute from 2024-01-01) with >= and <= only.
CREATE FUNCTION cursor_table(name text, server text, path text, partition text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format($f$CREATE FOREIGN TABLE %I (
      id int OPTIONS (filter_param_gte 'id_gte', filter_param_lt 'id_lt', filter_param 'id', sortable 'true'),
      name text,
      country text OPTIONS (filter_param 'country'),
      created_at timestamptz OPTIONS (filter_param_gte 'created_at_gte', filter_param_lte 'created_at_lte', sortable 'true'))
    SERVER %I OPTIONS (path %L, rows '$.data', pagination 'cursor', page_size_param 'limit', page_size '50',
      cursor_path '$.next_cursor', sort_param '_sort', order_param '_order', partition_column %L)$f$,
    name, server, path, partition);
END $$;
SELECT cursor_table('by_id_1', 'sequential', '/cursor/customers', 'id');
SELECT cursor_table('by_id_8', 'concurrent', '/cursor/customers', 'id');
SELECT cursor_table('by_time_1', 'sequential', '/cursor/customers', 'created_at');
SELECT cursor_table('by_time_8', 'concurrent', '/cursor/customers', 'created_at');
ALTER FOREIGN TABLE by_time_1 OPTIONS (ADD partition_start '2024-01-01');
ALTER FOREIGN TABLE by_time_8 OPTIONS (ADD partition_start '2024-01-01');
SELECT cursor_table('ignores_ranges', 'concurrent', '/norange/cursor/customers', 'id');

-- 'same N rows' when a query returns the same rows on max_concurrency 1 and 8 (in order when ordered).
CREATE FUNCTION same_on_both(one text, eight text, rest text, ordered boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  agg text := CASE WHEN ordered THEN 'array_agg(t::text)' ELSE 'array_agg(t::text ORDER BY t::text)' END;
  a text[];
  b text[];
BEGIN
  EXECUTE format('SELECT coalesce(%s, ''{}'') FROM (SELECT * FROM %I %s) t', agg, one, rest) INTO a;
  EXECUTE format('SELECT coalesce(%s, ''{}'') FROM (SELECT * FROM %I %s) t', agg, eight, rest) INTO b;
  IF a IS DISTINCT FROM b THEN
    RETURN format('DIFFERENT: %s rows vs %s', cardinality(a), cardinality(b));
  END IF;
  RETURN format('same %s rows', cardinality(a));
END $$;

-- Windows on `id` from the query's bounds: 8 windows of 250 records, each walked by cursor.
EXPLAIN (COSTS OFF) SELECT * FROM by_id_8 WHERE id >= 1 AND id < 2001;
EXPLAIN (COSTS OFF) SELECT * FROM by_id_1 WHERE id >= 1 AND id < 2001;
SELECT same_on_both('by_id_1', 'by_id_8', 'WHERE id >= 1 AND id < 2001');
SELECT reset_mock();
SELECT count(*), count(DISTINCT id), sum(id) FROM by_id_8 WHERE id >= 1 AND id < 2001;
SELECT query FROM mock_requests WHERE query NOT LIKE '%cursor=%' ORDER BY query;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) SELECT * FROM by_id_8 WHERE id >= 1 AND id < 2001;
-- Strict bounds, a window edge on the last record, other conditions, windows narrower than a page.
SELECT same_on_both('by_id_1', 'by_id_8', 'WHERE id > 10 AND id <= 2000');
SELECT same_on_both('by_id_1', 'by_id_8', 'WHERE id >= 1990 AND id < 2001 AND country = ''DE''');
SELECT same_on_both('by_id_1', 'by_id_8', 'WHERE id >= 1000 AND id < 1003');
-- A pushed order on the column delivers the windows in that order; a pushed LIMIT stops early.
SELECT same_on_both('by_id_1', 'by_id_8', 'WHERE id >= 1 AND id < 2001 ORDER BY id DESC', true);
SELECT same_on_both('by_id_1', 'by_id_8', 'WHERE id >= 1 AND id < 2001 ORDER BY id DESC LIMIT 120', true);
SELECT reset_mock();
SELECT max(id), min(id) FROM (SELECT id FROM by_id_8 WHERE id >= 1 AND id < 2001 ORDER BY id DESC LIMIT 120) t;
-- Each of the 8 windows stops after the 3 pages of 50 the limit needs (a whole scan is 40 requests).
SELECT count(*) <= 8 * 3 AS stopped_early FROM mock_requests;
-- A LIMIT within one page is one walk.
EXPLAIN (COSTS OFF) SELECT id FROM by_id_8 WHERE id >= 1 AND id < 2001 ORDER BY id DESC LIMIT 3;
-- Without a lower bound (and no partition_start), or with a single value, one sequential walk.
EXPLAIN (COSTS OFF) SELECT * FROM by_id_8 WHERE id < 100;
EXPLAIN (COSTS OFF) SELECT * FROM by_id_8 WHERE id = 5;
SELECT same_on_both('by_id_1', 'by_id_8', 'WHERE id < 100');

-- Windows on a timestamptz from partition_start up to the query's bound, asked for with <= (records lie on
-- every window edge: a record each minute, edges on whole minutes), and up to the scan's start time.
EXPLAIN (COSTS OFF) SELECT * FROM by_time_8 WHERE created_at <= '2024-01-02 09:20:00+00';
SELECT same_on_both('by_time_1', 'by_time_8', 'WHERE created_at <= ''2024-01-02 09:20:00+00''');
SELECT same_on_both('by_time_1', 'by_time_8', '');
SELECT same_on_both('by_time_1', 'by_time_8', 'ORDER BY created_at', true);
SELECT count(*), count(DISTINCT id) FROM by_time_8;
SELECT count(*) FROM by_time_8 WHERE created_at < '2024-01-02';
-- Without pushdown the windows still split the walk, with the same rows.
SELECT same_without_pushdown('SELECT * FROM by_time_8 WHERE created_at < ''2024-01-01 12:00:00+00''');

-- A provider that ignores the range parameters is detected before any row is delivered: one sequential
-- walk, with a warning.
SELECT count(*), count(DISTINCT id), sum(id) FROM ignores_ranges WHERE id >= 1 AND id < 2001;
-- EXPLAIN ANALYZE: the planned windows and none walked (how many pages the windows read before they were
-- dropped varies).
CREATE FUNCTION explain_windows(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || query LOOP
    IF line ~ '(Partitions|Windows):' THEN
      RETURN NEXT trim(line);
    END IF;
  END LOOP;
END $$;
SELECT explain_windows('SELECT count(*) FROM ignores_ranges WHERE id >= 1 AND id < 2001');

-- A long window is split while it runs when the list's order on the column is declared (partition_order):
-- every record lies in the first of 8 windows, and the idle slots take over the part it has not reached.
SELECT cursor_table('dense_8', 'concurrent', '/cursor/customers', 'id');
ALTER FOREIGN TABLE dense_8 OPTIONS (ADD partition_order 'asc');
SELECT same_on_both('by_id_1', 'dense_8', 'WHERE id >= 1 AND id < 100000');
SELECT line FROM explain_windows('SELECT * FROM dense_8 WHERE id >= 1 AND id < 100000') line WHERE line LIKE 'Partitions:%';
SELECT (regexp_match(line, 'Windows: (\d+)'))[1]::int > 8 AS split_while_running
  FROM explain_windows('SELECT * FROM dense_8 WHERE id >= 1 AND id < 100000') line WHERE line LIKE 'Windows:%';

-- Bad options are refused when the table is defined.
ALTER FOREIGN TABLE by_id_8 OPTIONS (SET partition_column 'name');
CREATE FOREIGN TABLE lower_only (id int OPTIONS (filter_param_gte 'id_gte')) SERVER concurrent
  OPTIONS (path '/cursor/customers', pagination 'cursor', cursor_path '$.next_cursor', partition_column 'id');
ALTER FOREIGN TABLE by_id_8 OPTIONS (SET partition_column 'nope');
ALTER FOREIGN TABLE by_id_8 OPTIONS (ADD partition_start 'yesterday');
ALTER FOREIGN TABLE by_id_8 OPTIONS (ADD partition_order 'newest');
ALTER FOREIGN TABLE by_id_8 OPTIONS (SET pagination 'page');
CREATE FOREIGN TABLE started_only (id int) SERVER concurrent OPTIONS (path '/cursor/customers', pagination 'cursor',
  cursor_path '$.next_cursor', partition_start '1');
CREATE FOREIGN TABLE ordered_only (id int) SERVER concurrent OPTIONS (path '/cursor/customers', pagination 'cursor',
  cursor_path '$.next_cursor', partition_order 'desc');
