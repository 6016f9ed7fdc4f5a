-- A directory of CSV, JSON and NDJSON files on the database server becomes one foreign table per file:
-- columns from the header or the first records, types inferred from a sample; a file that does not parse
-- is left out with a WARNING naming it; other files (readme.txt) are not considered.
\i :tests/helpers/setup.psql
\set VERBOSITY default
CREATE SERVER files FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'file');
\set dir :data '/import'

CREATE SCHEMA imported;
IMPORT FOREIGN SCHEMA :"dir" FROM SERVER files INTO imported;
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attfdwoptions
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
  WHERE c.relnamespace = 'imported'::regnamespace ORDER BY c.relname, a.attnum;
-- (Paths print as DATA/…: psql aligns on the real, longer path.)
SELECT c.relname, replace(ft.ftoptions::text, :'data', 'DATA') AS ftoptions FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
  WHERE c.relnamespace = 'imported'::regnamespace ORDER BY 1;
SELECT * FROM imported.orders_2024 ORDER BY order_id;
SELECT id, kind, at, meta FROM imported.events ORDER BY id;
SELECT * FROM imported.products ORDER BY sku;

-- LIMIT TO and EXCEPT name the tables as they would be created.
CREATE SCHEMA picked;
IMPORT FOREIGN SCHEMA :"dir" LIMIT TO (products) FROM SERVER files INTO picked;
IMPORT FOREIGN SCHEMA :"dir" EXCEPT (products, orders_2024) FROM SERVER files INTO public;
SELECT relnamespace::regnamespace, relname FROM pg_class
  WHERE relname IN ('products', 'orders_2024', 'events') AND relkind = 'f' ORDER BY 1, 2;

-- A server may name its directory; list_resources and test_connection answer for it.
CREATE SERVER exports FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'file', directory :'dir');
SELECT name, replace(description, :'data', 'DATA') AS description, columns
  FROM connector_fdw.list_resources('exports') ORDER BY name;
SELECT ok, replace(detail, :'dir', 'DIR') FROM connector_fdw.test_connection('exports');
SELECT * FROM connector_fdw.list_resources('files');

-- A directory that does not exist, a relative one.
\set missing :data '/no_such_dir'
IMPORT FOREIGN SCHEMA :"missing" FROM SERVER files INTO imported;
\echo :LAST_ERROR_SQLSTATE
ALTER SERVER exports OPTIONS (SET directory 'relative/dir');
\set relative '\"relative/dir\"'
IMPORT FOREIGN SCHEMA :relative FROM SERVER files INTO imported;
ALTER SERVER exports OPTIONS (SET directory :'missing');
SELECT ok, replace(detail, :'data', 'DATA') FROM connector_fdw.test_connection('exports');

-- Reading the server's file system needs what a server file path needs: a role without it cannot list
-- or import a directory, even with USAGE on the server.
CREATE ROLE cfdw_dir_reader;
GRANT USAGE ON FOREIGN SERVER files TO cfdw_dir_reader;
GRANT CREATE ON SCHEMA imported TO cfdw_dir_reader;
SET ROLE cfdw_dir_reader;
IMPORT FOREIGN SCHEMA :"dir" FROM SERVER files INTO imported;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP OWNED BY cfdw_dir_reader;
DROP ROLE cfdw_dir_reader;
