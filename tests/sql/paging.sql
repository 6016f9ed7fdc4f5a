-- Every paging style reads every record exactly once.
\i :tests/helpers/setup.psql
CREATE FOREIGN TABLE by_page (id int) SERVER mock OPTIONS (path '/page/customers', rows '$.data[*]',
  pagination 'page', page_param '_page', page_size_param '_limit', page_size '100');
CREATE FOREIGN TABLE by_offset (id int) SERVER mock OPTIONS (path '/offset/customers', rows '$.items',
  pagination 'offset', limit_param 'limit', page_size '100', total_path '$.total');
CREATE FOREIGN TABLE by_offset_open_end (id int) SERVER mock OPTIONS (path '/offset/customers', rows '$.items',
  pagination 'offset', limit_param 'limit', page_size '100');
CREATE FOREIGN TABLE by_cursor (id int) SERVER mock OPTIONS (path '/cursor/customers', rows '$.data',
  pagination 'cursor', page_size_param 'limit', page_size '100', cursor_path '$.next_cursor', has_more_path '$.has_more');
CREATE FOREIGN TABLE by_link (id int, country text OPTIONS (filter_param 'country')) SERVER mock OPTIONS (path '/link/customers',
  pagination 'link', page_size_param 'per_page', page_size '100');
CREATE FOREIGN TABLE unpaged (id int) SERVER mock OPTIONS (path '/plain/customers');

CREATE FUNCTION check_scan(t regclass) RETURNS TABLE (rows bigint, distinct_ids bigint, id_sum bigint, requests bigint)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM reset_mock();
  RETURN QUERY EXECUTE format('SELECT count(*), count(DISTINCT id), sum(id), (SELECT count(*) FROM mock_requests) FROM %s', t);
END $$;
-- Page numbers: the provider tells the total (X-Total-Count), so exactly 20 requests.
SELECT * FROM check_scan('by_page');
-- Offsets with a total in the body: exactly 20 requests.
SELECT * FROM check_scan('by_offset');
-- Offsets with no known end: pages are fetched ahead until one comes back short, and a few past the
-- end are asked for (at most max_concurrency).
SELECT rows, distinct_ids, id_sum, requests BETWEEN 21 AND 24 AS bounded_overfetch FROM check_scan('by_offset_open_end');
-- Cursors and next links are followed one after another: 20 requests.
SELECT * FROM check_scan('by_cursor');
SELECT * FROM check_scan('by_link');
SELECT * FROM check_scan('unpaged');
-- The requests of a cursor walk, first and last.
SELECT reset_mock();
SELECT count(*) FROM by_cursor;
(SELECT query FROM mock_requests ORDER BY seq LIMIT 2) UNION ALL (SELECT query FROM mock_requests ORDER BY seq DESC LIMIT 1);
-- Link paging follows the provider's URLs, keeping the pushed parameters.
SELECT reset_mock();
SELECT count(*) FROM by_link WHERE country = 'SE';
SELECT query FROM mock_requests ORDER BY seq LIMIT 2;
