-- The file connector: CSV, JSON and NDJSON from a server file or a URL, streamed.
\i :tests/helpers/setup.psql
\set VERBOSITY default
CREATE SERVER files FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'file');

\set file :data '/people.csv'
CREATE FOREIGN TABLE people (id int, name text, city text, joined date, score numeric, active boolean)
  SERVER files OPTIONS (path :'file');
SELECT * FROM people ORDER BY id;
EXPLAIN (COSTS OFF) SELECT * FROM people;

-- Without a header fields map to columns in order; a NULL marker and a delimiter of one's own.
\set file :data '/people_no_header.csv'
CREATE FOREIGN TABLE people_plain (id int, name text, city text)
  SERVER files OPTIONS (path :'file', header 'false', delimiter ';', null '-');
SELECT * FROM people_plain;

\set file :data '/people.json'
CREATE FOREIGN TABLE people_json (id int, name text, city text OPTIONS (path '$.address.city'))
  SERVER files OPTIONS (path :'file');
SELECT * FROM people_json;
\set file :data '/people.ndjson'
CREATE FOREIGN TABLE people_ndjson (id int, name text) SERVER files OPTIONS (path :'file');
SELECT * FROM people_ndjson;
SELECT * FROM people_ndjson LIMIT 1;

-- Over HTTP: the mock's customers as a JSON array.
\set url :mock '/plain/customers'
CREATE FOREIGN TABLE remote_customers (id int, country text) SERVER files OPTIONS (url :'url', format 'json');
SELECT count(*), count(DISTINCT id), min(id), max(id) FROM remote_customers;

-- Broken files name the file, the line and what is wrong.
\set file :data '/nothing_here.csv'
CREATE FOREIGN TABLE absent (id int) SERVER files OPTIONS (path :'file');
SELECT * FROM absent;
\echo :LAST_ERROR_SQLSTATE
\set file :data '/broken_quote.csv'
CREATE FOREIGN TABLE broken_quote (id int, name text) SERVER files OPTIONS (path :'file');
SELECT * FROM broken_quote;
\echo :LAST_ERROR_SQLSTATE
\set file :data '/broken_fields.csv'
CREATE FOREIGN TABLE broken_fields (id int, name text) SERVER files OPTIONS (path :'file');
SELECT * FROM broken_fields;
\echo :LAST_ERROR_SQLSTATE
\set file :data '/broken.ndjson'
CREATE FOREIGN TABLE broken_ndjson (id int) SERVER files OPTIONS (path :'file');
SELECT * FROM broken_ndjson;
\echo :LAST_ERROR_SQLSTATE
