-- EXPLAIN shows the connector and the remote request; VERBOSE adds what was pushed and what was not;
-- ANALYZE adds requests, pages and bytes.
\i :tests/helpers/setup.psql
EXPLAIN (COSTS OFF) SELECT * FROM customers WHERE country = 'NL';
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, name FROM customers WHERE country IN ('NL', 'SE') AND amount >= 100 AND score > 0.5;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM customers ORDER BY created_at DESC, id LIMIT 10 OFFSET 5;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM customers WHERE active AND NOT (id = 3) LIMIT 2;
EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
  SELECT id, name FROM customers WHERE country = 'DE';
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) SELECT id FROM customers ORDER BY amount DESC LIMIT 3;
-- Structured formats carry the same properties.
\pset format unaligned
EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) SELECT id FROM customers WHERE country = 'FR' LIMIT 1;
\pset format aligned
-- A rescanned scan (inside a LATERAL subquery) evaluates its parameter again for each outer row; EXPLAIN
-- ANALYZE counts the requests of all scans.
SELECT reset_mock();
SELECT v.country, s.id FROM (VALUES ('DE'), ('FR')) v(country),
  LATERAL (SELECT id FROM customers c WHERE c.country = v.country ORDER BY id LIMIT 2) s;
SELECT * FROM requests;
EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
SELECT v.country, s.id FROM (VALUES ('DE'), ('FR')) v(country),
  LATERAL (SELECT id FROM customers c WHERE c.country = v.country ORDER BY id LIMIT 2) s;
