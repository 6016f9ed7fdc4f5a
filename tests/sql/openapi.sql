-- IMPORT FOREIGN SCHEMA openapi: a rest server's tables from an OpenAPI document (URL under the server, or a
-- server file), one per GET operation that returns a list; paging options given to the import go on every
-- table; operations a table cannot serve are left out with a WARNING saying why.
\i :tests/helpers/setup.psql
\set VERBOSITY default
CREATE VIEW imported AS
  SELECT c.relnamespace::regnamespace AS schema, c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
         a.attfdwoptions
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
  WHERE c.relkind = 'f' AND c.relnamespace::regnamespace::text IN ('api', 'sw', 'files', 'priv')
  ORDER BY 1, 2, a.attnum;
CREATE VIEW imported_tables AS
  SELECT c.relnamespace::regnamespace AS schema, c.relname, replace(ft.ftoptions::text, :'data', 'DATA') AS ftoptions
  FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
  WHERE c.relnamespace::regnamespace::text IN ('api', 'sw', 'files', 'priv') ORDER BY 1, 2;

-- OpenAPI 3.1 from the mock (a path under the server's base_url): the paged list, with the paging options.
CREATE SCHEMA api;
IMPORT FOREIGN SCHEMA openapi LIMIT TO (customers) FROM SERVER mock INTO api
  OPTIONS (openapi_url '/openapi/customers.json', pagination 'page', page_param '_page', page_size_param '_limit',
           page_size '50', total_path '$.total');
-- The plain array list, without paging (the mock refuses another style's paging parameters).
IMPORT FOREIGN SCHEMA openapi EXCEPT (customers) FROM SERVER mock INTO api OPTIONS (openapi_url '/openapi/customers.json');
SELECT * FROM imported_tables;
SELECT * FROM imported WHERE schema = 'api'::regnamespace;

-- The imported tables read the mock; declared query parameters are pushed down.
SELECT reset_mock();
SELECT id, name, country, amount, score, active, address->>'city' AS city, tags, note, created_at, signup_date
  FROM api.customers WHERE country = 'DE' LIMIT 3;
SELECT count(*) FROM api.customers;
SELECT id, name, country FROM api.plain_customers WHERE country = 'FR' AND active ORDER BY id LIMIT 2;
SELECT request FROM requests;
SELECT same_without_pushdown($$SELECT id, amount FROM api.customers WHERE country = 'GB' AND id < 200$$);

-- The same document in YAML imports the same tables (the differences of the two imports: none).
CREATE SCHEMA api_yaml;
IMPORT FOREIGN SCHEMA openapi LIMIT TO (customers) FROM SERVER mock INTO api_yaml
  OPTIONS (openapi_url '/openapi/customers.yaml', pagination 'page', page_param '_page', page_size_param '_limit',
           page_size '50', total_path '$.total');
IMPORT FOREIGN SCHEMA openapi EXCEPT (customers) FROM SERVER mock INTO api_yaml OPTIONS (openapi_url '/openapi/customers.yaml');
CREATE VIEW import_columns AS
  SELECT c.relnamespace::regnamespace::text AS schema, c.relname, a.attnum, a.attname,
         format_type(a.atttypid, a.atttypmod) AS type, a.attfdwoptions, ft.ftoptions
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 JOIN pg_foreign_table ft ON ft.ftrelid = c.oid;
SELECT count(*) AS yaml_columns FROM import_columns WHERE schema = 'api_yaml';
(SELECT relname, attnum, attname, type, attfdwoptions, ftoptions FROM import_columns WHERE schema = 'api'
 EXCEPT SELECT relname, attnum, attname, type, attfdwoptions, ftoptions FROM import_columns WHERE schema = 'api_yaml')
UNION ALL
(SELECT relname, attnum, attname, type, attfdwoptions, ftoptions FROM import_columns WHERE schema = 'api_yaml'
 EXCEPT SELECT relname, attnum, attname, type, attfdwoptions, ftoptions FROM import_columns WHERE schema = 'api');
SELECT count(*) FROM api_yaml.customers;

-- Swagger 2.0 from a server file (what a file table's path needs: superuser or pg_read_server_files).
CREATE SCHEMA sw;
\set swagger :data '/openapi/petstore_swagger2.json'
IMPORT FOREIGN SCHEMA openapi FROM SERVER mock INTO sw OPTIONS (openapi_file :'swagger');
SELECT * FROM imported_tables WHERE schema = 'sw'::regnamespace;
SELECT * FROM imported WHERE schema = 'sw'::regnamespace;
-- The mock's own Swagger document by absolute URL, offset-paged.
CREATE SCHEMA files;
\set swagger_url :mock '/openapi/swagger.json'
IMPORT FOREIGN SCHEMA openapi FROM SERVER mock INTO files
  OPTIONS (openapi_url :'swagger_url', pagination 'offset', offset_param 'offset', limit_param 'limit',
           total_path '$.total');
SELECT * FROM imported_tables WHERE schema = 'files'::regnamespace;
SELECT reset_mock();
SELECT id, name, country, address FROM files.customers WHERE country = 'SE' ORDER BY id LIMIT 2;
SELECT count(*) FROM files.customers WHERE country = 'SE';
SELECT request FROM requests ORDER BY request;  -- pages are fetched concurrently

-- The document is fetched with the server's client and credentials (sent to the server's origin only).
CREATE SERVER private FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', auth 'bearer');
CREATE SCHEMA priv;
IMPORT FOREIGN SCHEMA openapi FROM SERVER private INTO priv OPTIONS (openapi_url '/openapi/private/customers.json');
\echo :LAST_ERROR_SQLSTATE
CREATE USER MAPPING FOR CURRENT_USER SERVER private OPTIONS (token 'wrong-token');
IMPORT FOREIGN SCHEMA openapi FROM SERVER private INTO priv OPTIONS (openapi_url '/openapi/private/customers.json');
\echo :LAST_ERROR_SQLSTATE
ALTER USER MAPPING FOR CURRENT_USER SERVER private OPTIONS (SET token 'test-token');
IMPORT FOREIGN SCHEMA openapi LIMIT TO (plain_customers) FROM SERVER private INTO priv
  OPTIONS (openapi_url '/openapi/private/customers.json');
SELECT * FROM imported_tables WHERE schema = 'priv'::regnamespace;
SELECT id, name FROM priv.plain_customers WHERE country = 'NL' ORDER BY id LIMIT 2;
-- The same document at another origin (localhost for 127.0.0.1) is fetched without the token, and refused.
SELECT FROM set_config('test.elsewhere', replace(:'mock', '127.0.0.1', 'localhost') || '/openapi/private/customers.json', false);
DO $$ BEGIN
  EXECUTE format('IMPORT FOREIGN SCHEMA openapi FROM SERVER private INTO priv OPTIONS (openapi_url %L)',
                 current_setting('test.elsewhere'));
EXCEPTION WHEN others THEN RAISE WARNING 'refused: %', SQLSTATE;
END $$;

-- Bad input: unknown or missing options, a document that does not parse or has an unsupported version,
-- a missing file, a document that is not there.
IMPORT FOREIGN SCHEMA openapi FROM SERVER mock INTO api OPTIONS (openapi_url '/openapi/customers.json', rows '$.data[*]');
\echo :LAST_ERROR_SQLSTATE
IMPORT FOREIGN SCHEMA openapi FROM SERVER mock INTO api OPTIONS (pagination 'page');
\echo :LAST_ERROR_SQLSTATE
IMPORT FOREIGN SCHEMA openapi FROM SERVER mock INTO api OPTIONS (openapi_url '/openapi/customers.json', pagination 'pages');
\echo :LAST_ERROR_SQLSTATE
IMPORT FOREIGN SCHEMA openapi FROM SERVER mock INTO api OPTIONS (openapi_file 'relative.json');
\echo :LAST_ERROR_SQLSTATE
IMPORT FOREIGN SCHEMA openapi FROM SERVER mock INTO api OPTIONS (openapi_url '/openapi/broken.json');
\echo :LAST_ERROR_SQLSTATE
\set malformed :data '/openapi/malformed.json'
IMPORT FOREIGN SCHEMA openapi FROM SERVER mock INTO api OPTIONS (openapi_file :'malformed');
\echo :LAST_ERROR_SQLSTATE
\set missing :data '/openapi/missing.json'
IMPORT FOREIGN SCHEMA openapi FROM SERVER mock INTO api OPTIONS (openapi_file :'missing');
\echo :LAST_ERROR_SQLSTATE
IMPORT FOREIGN SCHEMA openapi FROM SERVER mock INTO api OPTIONS (openapi_url '/openapi/v4.json');
\echo :LAST_ERROR_SQLSTATE
IMPORT FOREIGN SCHEMA openapi FROM SERVER mock INTO api OPTIONS (openapi_url '/openapi/nothing.json');
\echo :LAST_ERROR_SQLSTATE
-- Another remote schema on a rest server without a document, and import options where a connector takes none.
IMPORT FOREIGN SCHEMA public FROM SERVER mock INTO api;
\echo :LAST_ERROR_SQLSTATE
CREATE SERVER files FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'file');
IMPORT FOREIGN SCHEMA "/tmp" FROM SERVER files INTO api OPTIONS (openapi_url '/openapi/customers.json');
\echo :LAST_ERROR_SQLSTATE
-- On a rest server the option naming a document is enough, whatever the remote schema is called.
CREATE SCHEMA other;
IMPORT FOREIGN SCHEMA shop LIMIT TO (customers) FROM SERVER mock INTO other OPTIONS (openapi_url '/openapi/customers.json');
SELECT relname FROM pg_class WHERE relnamespace = 'other'::regnamespace;

-- A server file needs the privilege a file table's path needs, whatever the role's USAGE.
CREATE ROLE cfdw_openapi_user;
GRANT USAGE ON FOREIGN SERVER mock TO cfdw_openapi_user;
GRANT CREATE ON SCHEMA api TO cfdw_openapi_user;
SET ROLE cfdw_openapi_user;
IMPORT FOREIGN SCHEMA openapi FROM SERVER mock INTO api OPTIONS (openapi_file :'swagger');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP OWNED BY cfdw_openapi_user;
DROP ROLE cfdw_openapi_user;
