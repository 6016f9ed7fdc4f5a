-- Options are checked when servers, user mappings, tables and columns are created or altered.
\i :tests/helpers/setup.psql
\set VERBOSITY default

-- Servers: a known connector, known options, values of the right form.
CREATE SERVER s0 FOREIGN DATA WRAPPER connector_fdw;
\echo :LAST_ERROR_SQLSTATE
CREATE SERVER s1 FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'soap');
\echo :LAST_ERROR_SQLSTATE
CREATE SERVER s2 FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url 'http://x', timeout '5');
\echo :LAST_ERROR_SQLSTATE
CREATE SERVER s3 FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url 'http://x', timeout_ms 'soon');
\echo :LAST_ERROR_SQLSTATE
CREATE SERVER s4 FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url 'ftp://x');
CREATE SERVER s5 FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url 'http://x', auth 'kerberos');
CREATE SERVER s6 FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest');
\echo :LAST_ERROR_SQLSTATE
CREATE SERVER s7 FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url 'http://x', max_concurrency '0');
CREATE SERVER files FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'file');
ALTER SERVER files OPTIONS (ADD rate_limit 'fast');
ALTER SERVER files OPTIONS (ADD rate_limit '2.5', timeout_ms '1000');

-- User mappings: credential options only.
CREATE USER MAPPING FOR CURRENT_USER SERVER mock OPTIONS (tokn 'x');
\echo :LAST_ERROR_SQLSTATE
CREATE USER MAPPING FOR CURRENT_USER SERVER mock OPTIONS (api_key_in 'cookie');
CREATE USER MAPPING FOR CURRENT_USER SERVER mock OPTIONS (token 'x');
ALTER USER MAPPING FOR CURRENT_USER SERVER mock OPTIONS (ADD colour 'blue');
DROP USER MAPPING FOR CURRENT_USER SERVER mock;

-- Tables: checked against the server's connector when the command ends.
CREATE FOREIGN TABLE t1 (id int) SERVER mock OPTIONS (path '/page/customers', pagesize '10');
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE t2 (id int) SERVER mock OPTIONS (rows '$.data[*]');
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE t3 (id int) SERVER mock OPTIONS (path '/x', rows '$.data[');
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE t4 (id int) SERVER mock OPTIONS (path '/x', pagination 'cursor');
CREATE FOREIGN TABLE t5 (id int) SERVER mock OPTIONS (path '/x', pagination 'pages');
CREATE FOREIGN TABLE t6 (id int OPTIONS (filter 'id')) SERVER mock OPTIONS (path '/x');
CREATE FOREIGN TABLE t7 (id int OPTIONS (path 'id')) SERVER mock OPTIONS (path '/x');
CREATE FOREIGN TABLE t8 (id int OPTIONS (sortable 'true')) SERVER mock OPTIONS (path '/x');
CREATE FOREIGN TABLE t9 (id int) SERVER files OPTIONS (path '/tmp/x.csv', delimiter ';;');
CREATE FOREIGN TABLE t10 (id int) SERVER files OPTIONS (url 'http://x/a.json', delimiter ';');
-- A rest option is not a file option, and the other way round.
CREATE FOREIGN TABLE t11 (id int) SERVER files OPTIONS (path '/tmp/x.csv', page_param 'p');
SELECT count(*) AS tables_created FROM pg_foreign_table;

-- ALTER is checked too, for tables and columns.
CREATE FOREIGN TABLE ok (id int, name text) SERVER mock OPTIONS (path '/page/customers', rows '$.data[*]');
ALTER FOREIGN TABLE ok OPTIONS (ADD pagination 'sideways');
ALTER FOREIGN TABLE ok ALTER COLUMN name OPTIONS (ADD filter_parm 'name');
ALTER FOREIGN TABLE ok ALTER COLUMN name OPTIONS (ADD filter_param 'name');
SELECT ftoptions FROM pg_foreign_table WHERE ftrelid = 'ok'::regclass;

-- A server whose connector changes must still fit its tables.
ALTER SERVER mock OPTIONS (SET connector 'file');
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'mock';

-- Reading server files needs superuser or pg_read_server_files, as with file_fdw.
CREATE ROLE reader;
GRANT USAGE ON FOREIGN SERVER files TO reader;
GRANT CREATE ON SCHEMA public TO reader;
SET ROLE reader;
CREATE FOREIGN TABLE secrets (line text) SERVER files OPTIONS (path '/etc/passwd', format 'csv', header 'false');
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE remote_file (line text) SERVER files OPTIONS (url 'http://127.0.0.1:1/lines.csv', header 'false');
RESET ROLE;
GRANT pg_read_server_files TO reader;
SET ROLE reader;
CREATE FOREIGN TABLE server_file (line text) SERVER files OPTIONS (path '/tmp/lines.csv', header 'false');
RESET ROLE;
DROP FOREIGN TABLE remote_file, server_file;
REVOKE ALL ON SCHEMA public FROM reader;
REVOKE USAGE ON FOREIGN SERVER files FROM reader;
DROP ROLE reader;

-- The wrapper itself takes no options.
ALTER FOREIGN DATA WRAPPER connector_fdw OPTIONS (ADD debug 'on');
\echo :LAST_ERROR_SQLSTATE
