-- The salesforce connector against the mock's REST API: one SOQL query per scan (conditions, sort with
-- explicit NULL placement, limit), paging by nextRecordsUrl, IMPORT FOREIGN SCHEMA from describe, writes
-- through sObject Collections, Salesforce's errors.
\i :tests/helpers/setup.psql
\set VERBOSITY default
SELECT :'mock' || '/salesforce' AS sf_url, :'mock' || '/salesforce/exhausted' AS sf_exhausted \gset
-- The SOQL of each query the mock received, decoded.
CREATE FUNCTION url_decode(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE out bytea := ''; i int := 1;
BEGIN
  t := replace(t, '+', ' ');
  WHILE i <= length(t) LOOP
    IF substr(t, i, 1) = '%' THEN out := out || decode(substr(t, i + 1, 2), 'hex'); i := i + 3;
    ELSE out := out || convert_to(substr(t, i, 1), 'UTF8'); i := i + 1; END IF;
  END LOOP;
  RETURN convert_from(out, 'UTF8');
END $$;
CREATE VIEW soql AS
  SELECT method, path, url_decode(substring(query FROM 'q=([^&]*)')) AS soql, headers ->> 'sforce-query-options' AS options
  FROM mock_requests ORDER BY seq;

CREATE SERVER sf FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'salesforce', base_url :'sf_url', rate_limit '1000', max_concurrency '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER sf OPTIONS (token 'test-token');
SELECT name, kind, description FROM connector_fdw.connectors WHERE name = 'salesforce';

CREATE FOREIGN TABLE accounts (
  id text, name text, industry text,
  revenue numeric OPTIONS (field 'AnnualRevenue'),
  employees integer OPTIONS (field 'NumberOfEmployees'),
  created timestamptz OPTIONS (field 'CreatedDate'),
  last_activity date OPTIONS (field 'LastActivityDate'),
  active boolean OPTIONS (field 'Active__c')
) SERVER sf OPTIONS (object 'Account', page_size '200');

-- Everything pushed: one query, no local filter or sort.
SELECT reset_mock();
SELECT name, revenue, created FROM accounts
  WHERE revenue >= 3000 AND created < '2024-02-01T00:00:00Z' AND active <> false AND last_activity IS NOT NULL
  ORDER BY revenue DESC LIMIT 3;
SELECT soql, options FROM soql;
EXPLAIN (VERBOSE, COSTS OFF) SELECT name FROM accounts
  WHERE revenue BETWEEN 1000 AND 9000 AND last_activity = '2024-01-05' ORDER BY created DESC LIMIT 2;
SELECT same_without_pushdown($$SELECT name, revenue FROM accounts WHERE revenue <> 1500 AND employees IN (37, 74, 111)$$);
SELECT same_without_pushdown($$SELECT id, revenue FROM accounts ORDER BY revenue NULLS FIRST, id LIMIT 5$$, true);
SELECT same_without_pushdown($$SELECT id FROM accounts ORDER BY revenue DESC NULLS LAST LIMIT 5$$, true);
SELECT same_without_pushdown($$SELECT count(*) FROM accounts WHERE revenue IS NULL OR employees IS NULL$$);

-- Paging: 450 records at 200 a page are three requests, following nextRecordsUrl.
SELECT reset_mock();
SELECT count(*), count(revenue), min(created), max(created) FROM accounts;
SELECT method, regexp_replace(path, '01gMock[0-9]+', '01gMock…') AS path, options FROM soql;

-- Text: SOQL's = ignores case (rechecked by Postgres); quotes and backslashes are escaped.
SELECT reset_mock();
SELECT name FROM accounts WHERE name = 'acme';
SELECT name FROM accounts WHERE name IN ('ACME', 'O''Brien \ Sons') ORDER BY name;
SELECT name FROM accounts WHERE name = 'x'' OR Name != ''';
SELECT soql FROM soql;
EXPLAIN (VERBOSE, COSTS OFF) SELECT name FROM accounts WHERE name = 'acme' AND industry <> 'Retail' LIMIT 1;
SELECT same_without_pushdown($$SELECT name, industry FROM accounts WHERE industry = 'finance' OR industry IS NULL$$);

-- LIKE: SOQL's ignores case, so it is sent as a superset and rechecked; escaped wildcards stay literal,
-- a quote cannot end the literal; ILIKE is sent only for an ASCII pattern; 'x' LIKE column stays local.
SELECT reset_mock();
SELECT name FROM accounts WHERE name LIKE 'Acm_' ORDER BY name;
SELECT name FROM accounts WHERE name ILIKE 'acm%' ORDER BY name;
SELECT name FROM accounts WHERE name LIKE 'O''Brien \\%';
SELECT name FROM accounts WHERE name LIKE 'Account 00_\%';
SELECT name FROM accounts WHERE name ILIKE 'ıacme';
SELECT count(*) FROM accounts WHERE 'Account 001' LIKE name;
SELECT soql FROM soql;
EXPLAIN (VERBOSE, COSTS OFF) SELECT name FROM accounts WHERE name LIKE 'Acme%' LIMIT 1;
SELECT same_without_pushdown($$SELECT id, name FROM accounts WHERE name LIKE '%0_' AND industry ILIKE 'f%'$$);
SELECT same_without_pushdown($$SELECT id FROM accounts WHERE name NOT LIKE 'Account%'$$);

-- IMPORT FOREIGN SCHEMA: LIMIT TO describes only the object asked for.
CREATE SCHEMA crm;
SELECT reset_mock();
IMPORT FOREIGN SCHEMA salesforce LIMIT TO (contact) FROM SERVER sf INTO crm;
SELECT method, path FROM soql;
\d crm.contact
SELECT first_name, last_name, birthdate FROM crm.contact WHERE birthdate < '1982-01-01' ORDER BY birthdate;
IMPORT FOREIGN SCHEMA salesforce EXCEPT (contact) FROM SERVER sf INTO crm;
SELECT count(*) FROM crm.account WHERE annual_revenue > 600000;
SELECT * FROM connector_fdw.list_resources('sf');

-- Writes: sObject Collections, all or none.
SELECT reset_mock();
INSERT INTO accounts (name, revenue, active) VALUES ('New one', 10, true), ('Another', 20, false);
UPDATE accounts SET revenue = revenue + 1 WHERE name IN ('New one', 'Another');
SELECT name, revenue, active FROM accounts WHERE revenue IN (11, 21) ORDER BY revenue;
DELETE FROM accounts WHERE revenue IN (11, 21);
SELECT method, path, body FROM mock_requests WHERE method <> 'GET' ORDER BY seq;
INSERT INTO accounts (name) VALUES ('Kept?'), (NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM accounts WHERE name = 'Kept?';
INSERT INTO accounts (id, name) VALUES ('001Mock99999999AAA', 'x');

-- Errors: a field or an object Salesforce does not have, the daily request limit, a bad token.
CREATE FOREIGN TABLE bad_field (id text, nope text) SERVER sf OPTIONS (object 'Account');
SELECT * FROM bad_field;
CREATE FOREIGN TABLE bad_object (id text) SERVER sf OPTIONS (object 'Nope__c');
SELECT * FROM bad_object;
CREATE FOREIGN TABLE bad_name (id text) SERVER sf OPTIONS (object 'Account; DELETE');
CREATE SERVER sf_exhausted FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'salesforce', base_url :'sf_exhausted');
CREATE USER MAPPING FOR CURRENT_USER SERVER sf_exhausted OPTIONS (token 'test-token');
CREATE FOREIGN TABLE exhausted (id text) SERVER sf_exhausted OPTIONS (object 'Account');
SELECT * FROM exhausted;
\echo :LAST_ERROR_SQLSTATE
ALTER USER MAPPING FOR CURRENT_USER SERVER sf OPTIONS (SET token 'not-a-valid-token');
SELECT id FROM accounts LIMIT 1;
ALTER SERVER sf OPTIONS (ADD api_version 'latest');
ALTER FOREIGN TABLE accounts OPTIONS (SET page_size '50');

-- OAuth without base_url: the token response's instance_url is the API host (the mock's token endpoint
-- answers with its own /salesforce). Without OAuth, base_url stays required.
CREATE SERVER sf_nobase FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'salesforce');
SELECT :'sf_url' || '/services/oauth2/token' AS sf_token_url \gset
CREATE SERVER sf_oauth FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'salesforce', auth 'oauth2', token_url :'sf_token_url', rate_limit '1000');
CREATE USER MAPPING FOR CURRENT_USER SERVER sf_oauth OPTIONS (client_id 'mock-client', client_secret 'mock-secret');
CREATE FOREIGN TABLE oauth_accounts (id text, name text) SERVER sf_oauth OPTIONS (object 'Account');
EXPLAIN (VERBOSE, COSTS OFF) SELECT name FROM oauth_accounts WHERE name = 'acme';
SELECT reset_mock();
SELECT name FROM oauth_accounts WHERE name ILIKE 'acme' ORDER BY name;
SELECT method, regexp_replace(path, '01gMock[0-9]+', '01gMock…') AS path FROM mock_requests ORDER BY seq;
