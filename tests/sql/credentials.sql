-- Credentials in user mappings are stored encrypted; only the owner of a mapping uses it; the key can be
-- rotated.
\i :tests/helpers/setup.psql
\set VERBOSITY default
CREATE SERVER keyed FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'rest', base_url :'mock', auth 'api_key', max_retries '0');
CREATE FOREIGN TABLE keyed_customers (id int) SERVER keyed OPTIONS (path '/auth/header/plain/customers');
CREATE VIEW stored AS
  SELECT u.usename, o.option_name,
         CASE WHEN o.option_value ~ '^cfdw[12]:[0-9a-f]{8}:' THEN 'ciphertext, key ' || split_part(o.option_value, ':', 2)
              ELSE o.option_value END AS stored
  FROM pg_user_mapping m LEFT JOIN pg_user u ON u.usesysid = m.umuser, pg_options_to_table(m.umoptions) o
  WHERE m.umserver = (SELECT oid FROM pg_foreign_server WHERE srvname = 'keyed');

-- Plain values in, ciphertext stored; non-secret options stay readable.
CREATE USER MAPPING FOR CURRENT_USER SERVER keyed OPTIONS (api_key 'test-key', api_key_name 'X-API-Key');
SELECT option_name, regexp_replace(stored, 'key [0-9a-f]{8}', 'key K1') AS stored FROM stored ORDER BY 1;
SELECT count(*) FROM pg_user_mappings WHERE srvname = 'keyed' AND array_to_string(umoptions, ',') LIKE '%test-key%';
SELECT count(*) FROM keyed_customers;
-- ALTER encrypts too.
ALTER USER MAPPING FOR CURRENT_USER SERVER keyed OPTIONS (SET api_key 'wrong-key-1234');
SELECT count(*) FROM keyed_customers;
ALTER USER MAPPING FOR CURRENT_USER SERVER keyed OPTIONS (SET api_key 'test-key', ADD password 'also-secret');
SELECT option_name, stored ~ '^ciphertext' AS encrypted FROM stored ORDER BY 1;
SELECT count(*) FROM keyed_customers;

-- Ciphertext given as a value (e.g. by a dump being restored) is kept as it is.
SELECT connector_fdw.encrypt_secret('test-key') AS ciphertext \gset
SELECT :'ciphertext' ~ '^cfdw1:[0-9a-f]{8}:' AS looks_encrypted, :'ciphertext' <> connector_fdw.encrypt_secret('test-key') AS fresh_nonce;
ALTER USER MAPPING FOR CURRENT_USER SERVER keyed OPTIONS (SET api_key :'ciphertext');
SELECT (SELECT option_value FROM pg_user_mapping m, pg_options_to_table(m.umoptions)
        WHERE m.umserver = (SELECT oid FROM pg_foreign_server WHERE srvname = 'keyed') AND option_name = 'api_key') = :'ciphertext' AS kept;
SELECT count(*) FROM keyed_customers;

-- Rotation: a new key, every mapping re-encrypted; old ciphertext keeps working until re-encrypted.
SELECT split_part(stored, ' ', 3) AS old_key FROM stored WHERE option_name = 'api_key' \gset
SELECT connector_fdw.rotate_key() AS reencrypted;
SELECT count(DISTINCT stored) AS keys_in_use, bool_and(stored <> 'ciphertext, key ' || :'old_key') AS all_on_new_key
FROM stored WHERE option_name IN ('api_key', 'password');
SELECT count(*) FROM keyed_customers;
ALTER USER MAPPING FOR CURRENT_USER SERVER keyed OPTIONS (SET api_key :'ciphertext');
SELECT count(*) FROM keyed_customers;

-- A value that does not decrypt is an error that names the option, never a plaintext fallback.
ALTER USER MAPPING FOR CURRENT_USER SERVER keyed OPTIONS (SET api_key 'cfdw1:0badc0de:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
SELECT count(*) FROM keyed_customers;
\echo :LAST_ERROR_SQLSTATE
SELECT overlay(:'ciphertext' placing 'AAAA' from 30 for 4) AS tampered \gset
ALTER USER MAPPING FOR CURRENT_USER SERVER keyed OPTIONS (SET api_key :'tampered');
SELECT count(*) FROM keyed_customers;
ALTER USER MAPPING FOR CURRENT_USER SERVER keyed OPTIONS (SET api_key 'test-key');

-- Two roles, two mappings: each role's requests carry its own credential, and neither can read the
-- other's options, the catalog or the key file.
CREATE SERVER per_role FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock', auth 'bearer');
CREATE FOREIGN TABLE whoami (id int) SERVER per_role OPTIONS (path '/page/customers', rows '$.data[*]', query '_limit=1');
CREATE ROLE alice; CREATE ROLE bob;
GRANT USAGE ON FOREIGN SERVER per_role TO alice, bob;
GRANT SELECT ON whoami, mock_requests, mock_reset TO alice, bob;
GRANT EXECUTE ON FUNCTION reset_mock() TO alice, bob;
CREATE USER MAPPING FOR alice SERVER per_role OPTIONS (token 'alice-token-1');
CREATE USER MAPPING FOR bob SERVER per_role OPTIONS (token 'bob-token-2');
SELECT reset_mock();
SET ROLE alice; SELECT count(*) FROM whoami; RESET ROLE;
SET ROLE bob; SELECT count(*) FROM whoami; RESET ROLE;
SELECT headers->>'authorization' AS sent FROM mock_requests ORDER BY seq;
SET ROLE alice;
SELECT usename, umoptions IS NULL AS options_hidden FROM pg_user_mappings WHERE srvname = 'per_role' ORDER BY usename;
SELECT umoptions FROM pg_user_mapping;
SELECT pg_read_file('connector_fdw.key');
SELECT connector_fdw.rotate_key();
RESET ROLE;
-- A role without a mapping of its own, on a server that needs one, is told what to do.
CREATE ROLE carol; GRANT USAGE ON FOREIGN SERVER per_role TO carol; GRANT SELECT ON whoami TO carol;
SET ROLE carol; SELECT count(*) FROM whoami; RESET ROLE;
DROP OWNED BY alice, bob, carol; DROP ROLE alice, bob, carol;
