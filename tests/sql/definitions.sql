-- Connector definitions: shipped ones, define_connector() with versions and errors naming the field,
-- servers and IMPORT FOREIGN SCHEMA of defined connectors, and the API proxy connector_fdw.request().
\i :tests/helpers/setup.psql
\set VERBOSITY default
SELECT :'mock' || '/hubspot' AS hubspot_url, :'mock' || '/page' AS shop_url \gset

-- Every connector, built in or defined, with its resources.
SELECT name, kind, description <> '' AS described, resources FROM connector_fdw.connectors ORDER BY kind, name;

-- A shipped definition is a connector like the others: its options are checked, IMPORT FOREIGN SCHEMA
-- makes one table per resource.
CREATE SERVER hs FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'hubspot', base_uri 'x');
CREATE SERVER hs FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'hubspot', base_url :'hubspot_url', auth 'bearer');
CREATE USER MAPPING FOR CURRENT_USER SERVER hs OPTIONS (token 'test-token');
SELECT * FROM connector_fdw.list_resources('hs');
SELECT ok, detail FROM connector_fdw.test_connection('hs');
CREATE SCHEMA crm;
IMPORT FOREIGN SCHEMA hubspot LIMIT TO (contacts, deals) FROM SERVER hs INTO crm;
SELECT foreign_table_name, array_agg(option_name || '=' || option_value) AS options
  FROM information_schema.foreign_table_options WHERE foreign_table_schema = 'crm' GROUP BY 1 ORDER BY 1;
SELECT column_name, data_type FROM information_schema.columns
 WHERE table_schema = 'crm' AND table_name = 'contacts' ORDER BY ordinal_position;
SELECT reset_mock();
SELECT id, email, first_name, lifecycle_stage FROM crm.contacts ORDER BY id LIMIT 3;
SELECT request FROM requests;
CREATE FOREIGN TABLE crm.nothing (id text) SERVER hs OPTIONS (resource 'tickets');
INSERT INTO crm.contacts (email, first_name) VALUES ('nia@example.com', 'Nia') RETURNING email, first_name;

-- define_connector: a definition with an error is refused, naming the field.
SELECT connector_fdw.define_connector('acme_shop', '{"version": "1", "resources": []}');
SELECT connector_fdw.define_connector('acme_shop', '{"version": "1", "resources": [{"name": "a", "path": "/a",
  "pagination": {"style": "pages"}, "columns": [{"name": "id", "type": "int"}]}]}');
SELECT connector_fdw.define_connector('acme_shop', '{"version": "1", "resources": [{"name": "a", "path": "/a",
  "columns": [{"name": "id", "type": "int", "path": "$.x["}]}]}');
SELECT connector_fdw.define_connector('acme_shop', '{"version": "1", "resources": [{"name": "a",
  "columns": [{"name": "id", "type": "int"}]}]}');
SELECT connector_fdw.define_connector('acme_shop', '{"name": "other", "version": "1", "resources": []}');
SELECT connector_fdw.define_connector('rest', '{"version": "1", "resources": [{"name": "a", "path": "/a",
  "columns": [{"name": "id", "type": "int"}]}]}');

-- The example of docs/definitions.md (without its base_url: servers name the mock).
-- tests/data/acme_shop.json is the docs' example without base_url (a unit test keeps them equal).
SELECT pg_read_file(:'data' || '/acme_shop.json') AS acme \gset
SELECT connector_fdw.define_connector('acme_shop', :'acme');
SELECT name, kind, version, resources FROM connector_fdw.connectors WHERE name = 'acme_shop';

-- Versions: a new one becomes current; an existing version cannot change; defining an old version again
-- makes it current.
SELECT connector_fdw.define_connector('acme_shop', jsonb_set(:'acme', '{version}', '"1.1.0"')
  #- '{resources,1}');
SELECT connector_fdw.define_connector('acme_shop', jsonb_set(:'acme', '{description}', '"changed"'));
SELECT version, jsonb_array_length(definition -> 'resources') AS resources FROM connector_fdw.definitions ORDER BY defined_at;
SELECT version, resources FROM connector_fdw.connectors WHERE name = 'acme_shop';
SELECT connector_fdw.define_connector('acme_shop', :'acme');
SELECT version, resources FROM connector_fdw.connectors WHERE name = 'acme_shop';

-- A server of the defined connector: options checked, tables imported, conditions, sorts and limits pushed.
CREATE SERVER shop FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'acme_shop');
CREATE SERVER shop FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'acme_shop', base_url :'shop_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER shop OPTIONS (api_key 'shop-key-1234');
CREATE SCHEMA shop;
IMPORT FOREIGN SCHEMA acme_shop EXCEPT (active_customers) FROM SERVER shop INTO shop;
SELECT foreign_table_name FROM information_schema.foreign_tables WHERE foreign_table_schema = 'shop';
SELECT reset_mock();
SELECT id, name, country, amount FROM shop.customers WHERE country = 'DE' AND amount >= 9000 ORDER BY amount DESC LIMIT 3;
SELECT request, headers ->> 'x-api-version' AS api_version FROM requests, mock_requests WHERE seq = 1;
EXPLAIN (VERBOSE, COSTS OFF)
SELECT id, name FROM shop.customers WHERE country = 'DE' AND amount >= 9000 AND name LIKE 'C%' ORDER BY amount DESC LIMIT 3;
SELECT same_without_pushdown($$SELECT id, name, city FROM shop.customers WHERE country <> 'DE' AND amount <= 100 AND id < 400$$);
CREATE FOREIGN TABLE shop.german (id bigint, name text, country text)
  SERVER shop OPTIONS (resource 'customers', query 'country=DE', page_size '50');
SELECT count(*), min(country), max(country) FROM shop.german;
CREATE FOREIGN TABLE shop.bad (id bigint) SERVER shop OPTIONS (resource 'orders');
CREATE FOREIGN TABLE shop.bad (id bigint) SERVER shop OPTIONS (resource 'customers', rows '$.x');

-- Another session loads the definition from the catalog.
\c
SELECT count(*) FROM shop.customers WHERE id = 7;

-- Only superusers (and roles granted it) define connectors.
CREATE ROLE definer_test;
SET ROLE definer_test;
SELECT connector_fdw.define_connector('mine', :'acme');
SELECT name, kind FROM connector_fdw.connectors WHERE kind = 'defined';
RESET ROLE;

-- pg_dump restores servers before the definitions they use, with check_function_bodies off: a server of a
-- connector not defined (yet) is then accepted, and checked when it is used.
SET check_function_bodies = off;
CREATE SERVER restored FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'defined_later', base_url 'http://x');
CREATE FOREIGN TABLE restored_t (id int) SERVER restored OPTIONS (resource 'r');
RESET check_function_bodies;
SELECT * FROM restored_t;
CREATE SERVER not_restoring FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'defined_later', base_url 'http://x');
DROP SERVER restored CASCADE;

-- A connector in use cannot be dropped.
SELECT connector_fdw.drop_connector('acme_shop');
SELECT connector_fdw.drop_connector('gmail');
DROP SERVER shop CASCADE;
SELECT connector_fdw.drop_connector('acme_shop');
SELECT count(*) FROM connector_fdw.definitions;

-- The API proxy: one request through a server's authentication, retries and limits.
SELECT reset_mock();
SELECT jsonb_array_length(r -> 'results') AS results, r #>> '{paging,next,after}' AS after
  FROM connector_fdw.request('hs', 'GET', '/crm/v3/objects/deals', query => '{"limit": 2}') r;
SELECT connector_fdw.request('hs', 'post', '/crm/v3/objects/companies', '{"properties": {"name": "Proxy Ltd"}}')
  #>> '{properties,name}' AS created;
SELECT method, path, query, headers ->> 'authorization' AS authorization FROM mock_requests ORDER BY seq;
SELECT status, headers ->> 'content-type' AS content_type, body ->> 'category' AS category
  FROM connector_fdw.request_full('hs', 'GET', '/crm/v3/objects/deals/999999');
SELECT connector_fdw.request('hs', 'GET', '/crm/v3/objects/deals/999999');
-- Nothing leaves the server's base URL.
SELECT connector_fdw.request('hs', 'GET', 'http://example.com/crm/v3/objects/deals');
SELECT connector_fdw.request('hs', 'GET', '/../page/customers');
SELECT connector_fdw.request('hs', 'TRACE', '/crm');
SELECT connector_fdw.request('hs', 'GET', NULL);
SELECT connector_fdw.request('nosuch', 'GET', '/');
SELECT count(*) AS sent_after_refusals FROM mock_requests;
