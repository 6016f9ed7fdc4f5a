-- Credentials come from the user mapping and are sent the way the server says; they never appear in
-- EXPLAIN or errors.
\i :tests/helpers/setup.psql
\set VERBOSITY default
CREATE SERVER bearer FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', auth 'bearer', max_retries '0');
CREATE FOREIGN TABLE bearer_customers (id int) SERVER bearer OPTIONS (path '/auth/bearer/plain/customers');
SELECT count(*) FROM bearer_customers;
\echo :LAST_ERROR_SQLSTATE
CREATE USER MAPPING FOR CURRENT_USER SERVER bearer OPTIONS (token 'not-the-token-8f3a');
SELECT count(*) FROM bearer_customers;
\echo :LAST_ERROR_SQLSTATE
ALTER USER MAPPING FOR CURRENT_USER SERVER bearer OPTIONS (SET token 'test-token');
SELECT reset_mock();
SELECT count(*) FROM bearer_customers;
SELECT headers->>'authorization' AS sent FROM mock_requests;

CREATE SERVER basic FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', auth 'basic');
CREATE USER MAPPING FOR CURRENT_USER SERVER basic OPTIONS (user 'alice', password 's3cret');
CREATE FOREIGN TABLE basic_customers (id int) SERVER basic OPTIONS (path '/auth/basic/plain/customers');
SELECT count(*) FROM basic_customers;

CREATE SERVER key_header FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'rest', base_url :'mock', auth 'api_key', api_key_name 'X-API-Key');
CREATE USER MAPPING FOR CURRENT_USER SERVER key_header OPTIONS (api_key 'test-key');
CREATE FOREIGN TABLE header_customers (id int) SERVER key_header OPTIONS (path '/auth/header/plain/customers');
SELECT count(*) FROM header_customers;

CREATE SERVER key_query FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'rest', base_url :'mock', auth 'api_key', api_key_in 'query', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER key_query OPTIONS (api_key 'test-key');
CREATE FOREIGN TABLE query_customers (id int, country text OPTIONS (filter_param 'country'))
  SERVER key_query OPTIONS (path '/auth/query/plain/customers');
SELECT count(*) FROM query_customers WHERE country = 'DE';
EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) SELECT count(*) FROM query_customers WHERE country = 'DE';
-- A wrong key in the query string: the error shows the request without it.
ALTER USER MAPPING FOR CURRENT_USER SERVER key_query OPTIONS (SET api_key 'wrong-key-77');
SELECT count(*) FROM query_customers WHERE country = 'DE';
-- A key given in a fixed query string is redacted too.
CREATE FOREIGN TABLE keyed_query (id int) SERVER mock OPTIONS (path '/nowhere', query 'api_key=fixed-key-55&x=1');
EXPLAIN (COSTS OFF) SELECT * FROM keyed_query;
SELECT * FROM keyed_query;
