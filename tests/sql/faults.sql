-- The fault suite: within the retry budget every fault gives the same rows as a healthy provider;
-- beyond it, a clear error (see errors.sql for each one's message).
\i :tests/helpers/setup.psql
CREATE SERVER faulty FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'rest', base_url :'mock', max_retries '2', timeout_ms '1000');
CREATE FUNCTION paged_table(name text, path text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format($f$CREATE FOREIGN TABLE %I (id int, name text, amount numeric, created_at timestamptz)
    SERVER faulty OPTIONS (path %L, rows '$.data[*]', pagination 'page', page_param '_page',
    page_size_param '_limit', page_size '100')$f$, name, path);
END $$;
-- 300 customers in 3 pages; the first request for each page fails, later ones succeed.
SELECT paged_table('healthy', '/n/300/page/customers');
SELECT paged_table('f' || kind, '/n/300/fault/' || kind || '/1/page/customers')
FROM unnest(ARRAY['429', 'ratelimit', '500', '502', '503', 'reset', 'truncate', 'notjson', 'drip', 'hang']) kind;
CREATE FUNCTION fingerprint(t regclass) RETURNS text LANGUAGE plpgsql AS $$
DECLARE result text;
BEGIN
  EXECUTE format('SELECT count(*) || '' rows, md5 '' || md5(string_agg(t::text, '','' ORDER BY id)) FROM %s t', t) INTO result;
  RETURN result;
END $$;
SELECT fingerprint('healthy');
SELECT kind, fingerprint(('f' || kind)::regclass) = fingerprint('healthy') AS same_rows
FROM unnest(ARRAY['429', 'ratelimit', '500', '502', '503', 'reset', 'truncate', 'notjson', 'drip', 'hang']) kind;
-- Each page was asked for twice: the failure, then the retry.
SELECT reset_mock();
SELECT count(*) FROM f503;
SELECT count(*) AS requests, count(DISTINCT query) AS pages FROM mock_requests;
-- The server's counters show the retries (connector_fdw.stats needs the library preloaded, as here).
SELECT server, requests, pages, retries, errors > 0 AS had_errors FROM connector_fdw.stats WHERE server = 'faulty';
