-- What is pushed down, and that results never depend on it.
\i :tests/helpers/setup.psql

-- The acceptance example: filter, sort and limit in exactly one request with a page size of 5.
SELECT reset_mock();
SELECT id, country, amount FROM customers WHERE country = 'DE' ORDER BY amount DESC LIMIT 5;
SELECT * FROM requests;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id, country, amount FROM customers WHERE country = 'DE' ORDER BY amount DESC LIMIT 5;

-- LIMIT 1 is one request for one record.
SELECT reset_mock();
SELECT id, name FROM customers LIMIT 1;
SELECT * FROM requests;

-- An OFFSET the provider cannot skip is fetched and skipped locally: one request of offset + limit rows.
SELECT reset_mock();
SELECT id FROM customers ORDER BY id LIMIT 3 OFFSET 4;
SELECT * FROM requests;

-- A condition the connector did not declare stays local, and so does LIMIT: no _limit=3 is sent.
SELECT reset_mock();
SELECT id, name FROM customers WHERE country = 'DE' AND name LIKE 'Customer 19%' ORDER BY amount DESC LIMIT 3;
SELECT bool_or(query LIKE '%_limit=3%') AS limit_sent, min(query) AS first_query FROM mock_requests;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id, name FROM customers WHERE country = 'DE' AND name LIKE 'Customer 19%' ORDER BY amount DESC LIMIT 3;

-- An ORDER BY on a column that is not sortable is done by Postgres (a Sort node above the scan).
EXPLAIN (COSTS OFF) SELECT id FROM customers ORDER BY name LIMIT 3;

-- IN lists, booleans, commuted operands, inequality and IS NULL.
SELECT reset_mock();
SELECT count(*) FROM customers WHERE country IN ('DE', 'FR');
SELECT count(*) FROM customers WHERE country = ANY (ARRAY['SE', 'NL']);
SELECT count(*) FROM customers WHERE active;
SELECT count(*) FROM customers WHERE NOT active;
SELECT count(*) FROM customers WHERE 9900 <= amount;
SELECT count(*) FROM customers WHERE country <> 'DE' AND country <> 'FR';
SELECT count(*) FROM customers WHERE note IS NULL;
SELECT DISTINCT regexp_replace(query, '&?_page=[0-9]+', '') AS pushed FROM mock_requests ORDER BY 1;

-- `>` and `<` where the provider has only `>=`/`<=`: sent through them, rechecked by Postgres (the
-- provider's rows equal to the bound are dropped), and LIMIT stays local.
SELECT reset_mock();
SELECT count(*) FROM customers WHERE amount > 9990 AND amount < 9999.5;
SELECT DISTINCT regexp_replace(query, '&?_page=[0-9]+', '') AS pushed FROM mock_requests ORDER BY 1;
SELECT (SELECT amount FROM customers WHERE amount >= 9990 ORDER BY amount LIMIT 1) AS lowest,
       (SELECT count(*) FROM customers WHERE amount > (SELECT min(amount) FROM customers WHERE amount >= 9990)) AS above_it;
SELECT same_without_pushdown($$SELECT id FROM customers WHERE amount > 9990 AND amount < 9999.5$$);
SELECT same_without_pushdown($$SELECT id, amount FROM customers WHERE amount > 9000 ORDER BY amount DESC, id LIMIT 4$$, true);
EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM customers WHERE amount > 9990 LIMIT 3;

-- A condition that cannot match (= NULL, an empty IN list) sends nothing.
SELECT reset_mock();
SELECT count(*) FROM customers WHERE country = NULL;
SELECT count(*) FROM customers WHERE country = ANY ('{}'::text[]);
SELECT count(*) AS requests FROM mock_requests;

-- Parameters are evaluated when the scan starts, also in generic plans.
PREPARE by_country(text, int) AS
  SELECT id, amount FROM customers WHERE country = $1 ORDER BY amount DESC, id LIMIT $2;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE by_country('FR', 2);
SELECT reset_mock();
EXECUTE by_country('FR', 2);
EXECUTE by_country('IT', 1);
SELECT * FROM requests;
RESET plan_cache_mode;

-- So are stable expressions such as now().
SELECT reset_mock();
SELECT count(*) FROM customers WHERE created_at > now() - interval '100 years' AND country = 'ES';
SELECT regexp_replace(query, 'created_at_gt=[^&]+', 'created_at_gt=<now - 100 years>') AS query FROM mock_requests LIMIT 1;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT count(*) FROM customers WHERE created_at > now() - interval '100 years' AND country = 'ES';

-- connector_fdw.pushdown = off sends no conditions.
SET connector_fdw.pushdown = off;
SELECT reset_mock();
SELECT id FROM customers WHERE country = 'DE' ORDER BY amount DESC LIMIT 2;
SELECT DISTINCT regexp_replace(query, '_page=[0-9]+', '_page=N') AS query FROM mock_requests;
RESET connector_fdw.pushdown;

-- The same rows with and without pushdown.
SELECT same_without_pushdown($$SELECT * FROM customers WHERE country = 'DE'$$);
SELECT same_without_pushdown($$SELECT * FROM customers WHERE country IN ('DE', 'FR') AND amount >= 5000$$);
SELECT same_without_pushdown($$SELECT * FROM customers WHERE amount >= 5000 AND amount <= 6000$$);
SELECT same_without_pushdown($$SELECT * FROM customers WHERE amount > 5000$$);
SELECT same_without_pushdown($$SELECT * FROM customers WHERE active AND country <> 'US'$$);
SELECT same_without_pushdown($$SELECT * FROM customers WHERE NOT active$$);
SELECT same_without_pushdown($$SELECT * FROM customers WHERE id = 42$$);
SELECT same_without_pushdown($$SELECT * FROM customers WHERE country = 'DE' OR amount > 9990$$);
SELECT same_without_pushdown($$SELECT * FROM customers WHERE note IS NULL AND country = 'GB'$$);
SELECT same_without_pushdown($$SELECT id, amount FROM customers WHERE country = 'DE' ORDER BY amount DESC, id LIMIT 5$$, true);
SELECT same_without_pushdown($$SELECT id, amount FROM customers ORDER BY amount, id LIMIT 5 OFFSET 10$$, true);
SELECT same_without_pushdown($$SELECT id FROM customers ORDER BY country DESC, id LIMIT 7$$, true);
SELECT same_without_pushdown($$SELECT id FROM customers WHERE name LIKE '%7' ORDER BY amount DESC, id LIMIT 4$$, true);
SELECT same_without_pushdown($$SELECT upper(name), amount * 2 FROM customers WHERE country = 'SE' ORDER BY amount, id LIMIT 3$$, true);
SELECT same_without_pushdown($$SELECT country, count(*), sum(amount) FROM customers GROUP BY country$$);
SELECT same_without_pushdown($$SELECT c.id FROM customers c JOIN (VALUES ('DE'), ('NL')) v(country) USING (country) WHERE c.amount >= 9000$$);
SELECT same_without_pushdown($$SELECT id FROM customers WHERE created_at > '2024-01-01 10:00+00' AND created_at <= '2024-01-01 12:00+00'$$);
