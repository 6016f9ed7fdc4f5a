-- An unprivileged role against the extension (issue 12): options set by any command are checked where they
-- are used, push() needs INSERT, credentials go only to the server's origin and decrypt only where they
-- were stored, record keys and paths stay in their URL segment, NaN/infinity are never sent, a scalar is
-- not a row. (Roles are cluster-wide: named for this test, dropped at its end.)
\i :tests/helpers/setup.psql
\set VERBOSITY default
DROP ROLE IF EXISTS cfdw_sec_u;
CREATE ROLE cfdw_sec_u LOGIN;
CREATE SCHEMA sec AUTHORIZATION cfdw_sec_u;
CREATE SERVER files FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'file');
GRANT USAGE ON FOREIGN SERVER files, mock TO cfdw_sec_u;

-- 1. The attack: a harmless URL table, then ALTER TABLE to a server file. The event trigger fires for
-- ALTER TABLE too.
SET ROLE cfdw_sec_u;
CREATE FOREIGN TABLE sec.pwn (line text) SERVER files
  OPTIONS (url 'http://127.0.0.1:1/x', header 'false', delimiter E'\x01', quote E'\x02');
ALTER TABLE sec.pwn OPTIONS (DROP url, ADD path '/etc/passwd');
ALTER FOREIGN TABLE sec.pwn OPTIONS (DROP url, ADD path '/etc/passwd');
-- Column options are checked too.
ALTER TABLE sec.pwn ALTER COLUMN line OPTIONS (ADD bogus 'x');
RESET ROLE;

-- With event triggers not firing (replica mode, as a restore may run), the options reach the catalog:
-- every use checks them again, completely.
SET session_replication_role = replica;
SET ROLE cfdw_sec_u;
ALTER TABLE sec.pwn OPTIONS (DROP url, ADD path '/etc/passwd');
CREATE FOREIGN TABLE sec.zero (id int) SERVER mock OPTIONS (path '/page/customers', page_size '0');
CREATE FOREIGN TABLE sec.bogus (id int) SERVER mock OPTIONS (path '/page/customers', bogus 'x');
CREATE FOREIGN TABLE sec.sorts (id int OPTIONS (sortable 'true')) SERVER mock
  OPTIONS (path '/page/customers', sort_param '_sort', sort_max_keys '0');
CREATE FOREIGN TABLE sec.batch (id int, name text) SERVER mock OPTIONS (path '/page/customers', batch_size '0');
RESET ROLE;
RESET session_replication_role;
SET ROLE cfdw_sec_u;
SELECT * FROM sec.pwn LIMIT 1;
SELECT * FROM sec.zero LIMIT 1;
SELECT * FROM sec.bogus LIMIT 1;
SELECT * FROM sec.sorts ORDER BY id LIMIT 1;
INSERT INTO sec.batch (name) VALUES ('x');
SELECT * FROM connector_fdw.push('sec.batch', $$SELECT 'x' AS name$$);
RESET ROLE;
-- The table's owner decides what it reads: a superuser reading the role's table is refused as well.
SELECT * FROM sec.pwn LIMIT 1;
-- A superuser's file table may be granted; the path is the superuser's choice.
\set file :data '/people.csv'
CREATE FOREIGN TABLE public.granted (id int, name text) SERVER files OPTIONS (path :'file');
GRANT SELECT ON public.granted TO cfdw_sec_u;
SET ROLE cfdw_sec_u;
SELECT count(*) FROM public.granted;
RESET ROLE;

-- 2. push() needs what INSERT needs: INSERT on the table (or on each column written).
CREATE FOREIGN TABLE public.outbox (id int, name text, email text) SERVER mock OPTIONS (path '/n/50/page/customers');
SELECT reset_mock();
SET ROLE cfdw_sec_u;
SELECT * FROM connector_fdw.push('public.outbox', $$SELECT 'Pwned' AS name$$);
RESET ROLE;
GRANT INSERT (name) ON public.outbox TO cfdw_sec_u;
SET ROLE cfdw_sec_u;
SELECT * FROM connector_fdw.push('public.outbox', $$SELECT 'Pwned' AS name, 'p@example.com' AS email$$);
RESET ROLE;
SELECT count(*) AS posts FROM mock_requests WHERE method = 'POST';
SET ROLE cfdw_sec_u;
SELECT rows_sent FROM connector_fdw.push('public.outbox', $$SELECT 'Granted' AS name$$);
RESET ROLE;
SELECT count(*) AS posts FROM mock_requests WHERE method = 'POST';
-- A relation that is not a foreign table of the extension: a clear error.
CREATE TABLE public.plain (name text);
SELECT * FROM connector_fdw.push('public.plain', $$SELECT 'x' AS name$$);

-- 3. Credentials go to the origin of the server's base_url only.
SELECT replace(:'mock', '127.0.0.1', 'localhost') AS other_origin \gset
CREATE SERVER files_api FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'file', base_url :'mock', auth 'bearer');
CREATE USER MAPPING FOR PUBLIC SERVER files_api OPTIONS (token 'test-token');
SELECT :'mock' || '/auth/bearer/n/3/plain/customers' AS same_url, :'other_origin' || '/n/3/plain/customers' AS other_url \gset
CREATE FOREIGN TABLE same_origin (id int) SERVER files_api OPTIONS (url :'same_url', format 'json');
CREATE FOREIGN TABLE other_origin (id int) SERVER files_api OPTIONS (url :'other_url', format 'json');
SELECT reset_mock();
SELECT count(*) FROM same_origin;
SELECT count(*) FROM other_origin;
SELECT path, headers ? 'authorization' AS credentials FROM mock_requests ORDER BY seq;
-- A file server without base_url sends none.
CREATE SERVER files_anon FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'file', auth 'bearer');
CREATE USER MAPPING FOR PUBLIC SERVER files_anon OPTIONS (token 'test-token');
CREATE FOREIGN TABLE anon (id int) SERVER files_anon OPTIONS (url :'same_url', format 'json');
SELECT count(*) FROM anon;

-- Ciphertexts are bound to their server and option: copied elsewhere they do not decrypt, and the error
-- quotes neither value.
SELECT split_part(umoptions[1], ':', 1) AS format FROM pg_user_mapping um JOIN pg_foreign_server s ON s.oid = um.umserver
  WHERE s.srvname = 'files_api';
SELECT substr(umoptions[1], 7) AS copied FROM pg_user_mapping um JOIN pg_foreign_server s ON s.oid = um.umserver
  WHERE s.srvname = 'files_api' \gset
CREATE SERVER thief FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'file', base_url :'mock', auth 'bearer');
CREATE USER MAPPING FOR PUBLIC SERVER thief OPTIONS (token :'copied');
CREATE FOREIGN TABLE stolen (id int) SERVER thief OPTIONS (url :'same_url', format 'json');
SELECT count(*) FROM stolen;
-- encrypt_secret(plaintext, server, option) makes the bound value a mapping stores; the old form still reads.
SELECT connector_fdw.encrypt_secret('test-token', 'thief', 'token') AS bound \gset
ALTER USER MAPPING FOR PUBLIC SERVER thief OPTIONS (SET token :'bound');
SELECT count(*) FROM stolen;
SELECT connector_fdw.encrypt_secret('test-token') AS unbound \gset
ALTER USER MAPPING FOR PUBLIC SERVER thief OPTIONS (SET token :'unbound');
SELECT count(*) FROM stolen;
-- rotate_key() binds unbound values.
SELECT connector_fdw.rotate_key() > 0 AS rotated;
SELECT split_part(umoptions[1], ':', 1) AS format FROM pg_user_mapping um JOIN pg_foreign_server s ON s.oid = um.umserver
  WHERE s.srvname = 'thief';
SELECT count(*) FROM stolen;
-- Renaming a server binds its mappings' values (and its webhook secret) to the new name; so does a rotation.
SELECT connector_fdw.set_webhook_secret('thief', 'whsec_test');
ALTER SERVER thief RENAME TO owner;
SELECT count(*) FROM stolen;
SELECT connector_fdw.rotate_key() > 0 AS rotated;
SELECT count(*) FROM stolen;
SELECT option_name, split_part(option_value, ':', 1) AS format FROM pg_foreign_server, pg_options_to_table(srvoptions)
  WHERE srvname = 'owner' AND option_name = 'webhook_secret';
-- A webhook secret copied to another server does not decrypt there: renaming that server shows it.
SELECT option_value AS webhook_copy FROM pg_foreign_server, pg_options_to_table(srvoptions)
  WHERE srvname = 'owner' AND option_name = 'webhook_secret' \gset
ALTER SERVER files_anon OPTIONS (ADD webhook_secret :'webhook_copy');
ALTER SERVER files_anon RENAME TO files_anon2;

-- 9. Record keys '.' and '..' would leave the item's path segment: an error naming the row, nothing sent.
-- (The mock keeps the records' extra member "slug" until it is reset.)
CREATE FOREIGN TABLE maker (slug text, name text) SERVER mock OPTIONS (path '/n/5/plain/customers');
SELECT reset_mock();
INSERT INTO maker VALUES ('..', 'two dots'), ('.', 'one dot');
CREATE FOREIGN TABLE dotted (id text OPTIONS (path '$.slug'), name text) SERVER mock
  OPTIONS (path '/n/5/plain/customers', item_path '/n/5/plain/customers/{key}');
SELECT id, name FROM dotted WHERE id IS NOT NULL ORDER BY name;
DELETE FROM dotted WHERE name = 'two dots';
UPDATE dotted SET name = 'x' WHERE name = 'one dot';
SELECT count(*) AS writes FROM mock_requests WHERE method IN ('PATCH', 'PUT', 'DELETE');

-- A table path that leaves the server's base path is refused, as the proxy refuses it.
SELECT :'mock' || '/n/5' AS n5 \gset
CREATE SERVER n5 FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'n5');
CREATE FOREIGN TABLE escape (id int) SERVER n5 OPTIONS (path '/../../__admin/reset');
CREATE FOREIGN TABLE escape (id int) SERVER n5 OPTIONS (path '/plain/customers', item_path '/%2e%2e/x/{key}');

-- A rows path that selects a single scalar is a wrong shape, not one row of NULLs.
CREATE FOREIGN TABLE scalar_rows (id int) SERVER mock OPTIONS (path '/page/customers', rows '$.total');
SELECT * FROM scalar_rows;

-- NaN and infinities are never sent: a condition no value meets is answered here, one every value meets
-- stays local.
SELECT reset_mock();
SELECT count(*) FROM customers WHERE created_at > 'infinity';
SELECT count(*) FROM customers WHERE created_at > '-infinity' AND id <= 3;
SELECT count(*) FROM customers WHERE amount >= 'NaN';
SELECT count(*) AS requests, count(*) FILTER (WHERE query ~* 'infinity|nan') AS non_finite_sent FROM mock_requests;
SELECT :'mock' || '/stripe' AS stripe_url \gset
CREATE SERVER stripe FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'stripe', base_url :'stripe_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER stripe OPTIONS (api_key 'sk_test_mock');
CREATE SCHEMA s;
IMPORT FOREIGN SCHEMA stripe LIMIT TO (customers) FROM SERVER stripe INTO s;
SELECT reset_mock();
SELECT count(*) FROM s.customers WHERE created > 'infinity';
PREPARE created_after(timestamptz) AS SELECT count(*) FROM s.customers WHERE created > $1;
SET plan_cache_mode = force_generic_plan;
EXECUTE created_after('infinity');
RESET plan_cache_mode;
SELECT count(*) AS requests FROM mock_requests;

RESET ROLE;
DROP SCHEMA sec CASCADE;
DROP OWNED BY cfdw_sec_u;
DROP ROLE cfdw_sec_u;
