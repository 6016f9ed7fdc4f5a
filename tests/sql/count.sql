-- count(*) from the provider's total: one request of the smallest page when every condition is pushed
-- and the table declares where answers tell the total (total_path, total_header).
\i :tests/helpers/setup.psql

-- The acceptance example: the filtered total comes with the first page (customers: total_path '$.total').
SELECT reset_mock();
SELECT count(*) FROM customers WHERE country = 'DE';
SELECT * FROM requests;
SELECT count(id) AS counted_locally FROM customers WHERE country = 'DE';
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM customers WHERE country = 'DE';
EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF)
SELECT count(*) FROM customers WHERE country = 'DE';

-- Without conditions, with several, with IN and parameters: one request each.
SELECT reset_mock();
SELECT count(*) FROM customers;
SELECT count(*) FROM customers WHERE country IN ('DE', 'FR') AND amount >= 5000 AND active;
SELECT count(*) FROM customers WHERE created_at > now() - interval '100 years' AND NOT active;
PREPARE count_by_country(text) AS SELECT count(*) FROM customers WHERE country = $1;
SET plan_cache_mode = force_generic_plan;
EXECUTE count_by_country('SE');
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE count_by_country('SE');
RESET plan_cache_mode;
SELECT regexp_replace(request, 'created_at_gt=[^&]+', 'created_at_gt=<now - 100 years>') AS request FROM requests;

-- Expressions over the count, the count twice, and what Postgres applies to its one row.
SELECT reset_mock();
SELECT count(*) + 1 AS plus_one, count(*) AS n, 'x' AS label FROM customers WHERE country = 'NL';
SELECT count(*) FROM customers WHERE country = 'NL' LIMIT 1;
SELECT count(*) FROM customers WHERE country = 'NL' OFFSET 1;
SELECT count(*) FROM customers WHERE country = 'NL' ORDER BY 1;
SELECT count(*) AS requests FROM mock_requests;
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM customers WHERE country = 'NL' LIMIT 1;

-- Each rescan counts again (the correlated condition is evaluated for each outer row).
SELECT reset_mock();
SELECT v.country, (SELECT count(*) FROM customers c WHERE c.country = v.country) AS n
FROM (VALUES ('DE'), ('FR'), ('XX')) v(country) ORDER BY 1;
SELECT * FROM requests;

-- A condition that cannot match asks nothing.
SELECT reset_mock();
SELECT count(*) FROM customers WHERE country = NULL;
SELECT count(*) AS requests FROM mock_requests;

-- A condition kept local (or rechecked: `>` goes as `>=`) would count rows Postgres drops: the rows are
-- read and counted by an Aggregate.
SELECT reset_mock();
SELECT count(*) FROM customers WHERE country = 'DE' AND name LIKE '%7';
SELECT count(*) FROM customers WHERE country = 'DE' AND amount > 9000;
SELECT count(*) AS requests, count(*) FILTER (WHERE query LIKE '%_limit=1&%' OR query LIKE '%_limit=1') AS smallest
FROM mock_requests;
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM customers WHERE country = 'DE' AND name LIKE '%7';

-- Only a plain count(*) without grouping is answered by the total.
EXPLAIN (COSTS OFF) SELECT count(id) FROM customers WHERE country = 'DE';
EXPLAIN (COSTS OFF) SELECT count(*) FILTER (WHERE active) FROM customers WHERE country = 'DE';
EXPLAIN (COSTS OFF) SELECT count(DISTINCT country) FROM customers;
EXPLAIN (COSTS OFF) SELECT count(*), max(amount) FROM customers WHERE country = 'DE';
EXPLAIN (COSTS OFF) SELECT country, count(*) FROM customers WHERE country = 'DE' GROUP BY country;
EXPLAIN (COSTS OFF) SELECT count(*) FROM customers WHERE country = 'DE' HAVING count(*) > 1;
EXPLAIN (COSTS OFF) SELECT count(*) FROM customers GROUP BY ();
EXPLAIN (COSTS OFF) SELECT count(*) FROM customers c JOIN customers d USING (id) WHERE c.country = 'DE';

-- A table without a declared total counts rows (X-Total-Count helps its paging, not its count).
CREATE FOREIGN TABLE undeclared (id int, country text OPTIONS (filter_param 'country'))
  SERVER mock OPTIONS (path '/n/50/page/customers', rows '$.data[*]', pagination 'page', page_param '_page',
  page_size_param '_limit', page_size '100');
EXPLAIN (COSTS OFF) SELECT count(*) FROM undeclared;
-- total_header declares the header: one request.
CREATE FOREIGN TABLE by_header (id int, country text OPTIONS (filter_param 'country'))
  SERVER mock OPTIONS (path '/n/50/page/customers', rows '$.data[*]', pagination 'page', page_param '_page',
  page_size_param '_limit', page_size '100', total_header 'X-Total-Count');
SELECT reset_mock();
SELECT count(*) FROM by_header WHERE country = 'DE';
SELECT * FROM requests;

-- A total that is missing, capped ("10000+") or negative is no count: every page is then read and its rows
-- counted (one request more than without the count pushed). Never a wrong count.
CREATE FOREIGN TABLE total_missing (id int, country text OPTIONS (filter_param 'country'))
  SERVER mock OPTIONS (path '/n/50/total/missing/page/customers', rows '$.data[*]', pagination 'page',
  page_param '_page', page_size_param '_limit', page_size '100', total_path '$.total');
CREATE FOREIGN TABLE total_capped (id int, country text OPTIONS (filter_param 'country'))
  SERVER mock OPTIONS (path '/n/50/total/capped/page/customers', rows '$.data[*]', pagination 'page',
  page_param '_page', page_size_param '_limit', page_size '100', total_header 'X-Total-Count');
CREATE FOREIGN TABLE total_negative (id int, country text OPTIONS (filter_param 'country'))
  SERVER mock OPTIONS (path '/n/50/total/negative/offset/customers', rows '$.items[*]', pagination 'offset',
  offset_param 'offset', limit_param 'limit', page_size '100', total_path '$.total');
SELECT reset_mock();
SELECT count(*) FROM total_missing;
SELECT * FROM requests;
SELECT reset_mock();
SELECT count(*) FROM total_capped WHERE country = 'DE';
SELECT * FROM requests;
SELECT reset_mock();
SELECT count(*) FROM total_negative WHERE country = 'DE';
SELECT * FROM requests;
SELECT (SELECT count(id) FROM total_missing) AS all_rows, (SELECT count(id) FROM total_missing WHERE country = 'DE') AS de_rows;
EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) SELECT count(*) FROM total_capped;
-- The fallback is logged at DEBUG1.
SET client_min_messages = debug1;
SELECT count(*) FROM total_negative;
RESET client_min_messages;

-- connector_fdw.pushdown = off counts rows: every page, no smallest page.
SET connector_fdw.pushdown = off;
SELECT reset_mock();
SELECT count(*) FROM by_header WHERE country = 'DE';
SELECT * FROM requests;
RESET connector_fdw.pushdown;

-- The same counts with and without pushdown.
SELECT same_without_pushdown($$SELECT count(*) FROM customers WHERE country = 'DE'$$);
SELECT same_without_pushdown($$SELECT count(*) FROM customers$$);
SELECT same_without_pushdown($$SELECT count(*), count(*) * 2 FROM customers WHERE country IN ('FR', 'IT') AND amount <= 5000$$);
SELECT same_without_pushdown($$SELECT count(*) FROM customers WHERE note IS NULL AND active$$);
SELECT same_without_pushdown($$SELECT count(*) FROM customers WHERE country = 'DE' AND amount > 9000$$);
SELECT same_without_pushdown($$SELECT count(*) FROM customers WHERE country = 'DE' LIMIT 1 OFFSET 1$$);
SELECT same_without_pushdown($$SELECT count(*) FROM customers WHERE country = 'ZZ'$$);
SELECT same_without_pushdown($$SELECT count(*) FROM total_missing WHERE country = 'DE'$$);
SELECT same_without_pushdown($$SELECT count(*) FROM total_capped$$);
SELECT same_without_pushdown($$SELECT count(*) FROM total_negative WHERE country = 'FR'$$);
