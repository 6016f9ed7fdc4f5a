-- OAuth 2.0 from SQL: the authorization code flow (PKCE, state), tokens stored encrypted in the caller's
-- mapping, refreshed before expiry and once on a 401, rotated refresh tokens kept for the next session.
\i :tests/helpers/setup.psql
\set VERBOSITY default
\set authorize :mock '/oauth/authorize'
\set token_url :mock '/oauth/token'
\set short_token_url :mock '/oauth/expires/64/token'
CREATE SERVER crm FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock',
  auth 'oauth2', authorize_url :'authorize', token_url :'token_url', scopes 'read', max_retries '0');
CREATE FOREIGN TABLE leads (id int, country text) SERVER crm OPTIONS (path '/auth/oauth/page/customers',
  rows '$.data[*]', pagination 'page', page_param '_page', page_size_param '_limit', page_size '100');
CREATE VIEW token_requests AS
  SELECT body->>'grant_type' AS grant_type, count(*) FROM mock_requests
  WHERE path LIKE '/oauth/%token' GROUP BY 1 ORDER BY 1;

SELECT count(*) FROM leads;
CREATE USER MAPPING FOR CURRENT_USER SERVER crm OPTIONS (client_id 'mock-client', client_secret 'mock-secret');
SELECT count(*) FROM leads;

-- The authorization URL carries a PKCE challenge and a random state.
SELECT connector_fdw.oauth_authorize_url('crm', 'http://localhost/callback') AS url \gset
SELECT :'url' LIKE :'authorize' || '?%' AS at_provider, :'url' ~ 'code_challenge_method=S256' AS pkce,
       :'url' ~ '[?&]state=[A-Za-z0-9_-]{16,}' AS state, :'url' ~ 'scope=read' AS scopes;
-- The (mock) provider answers the user's visit with the code and the state.
SELECT split_part(:'url', '?', 2) AS query \gset
CREATE FOREIGN TABLE consent (code text, state text) SERVER mock OPTIONS (path '/oauth/authorize', query :'query');
SELECT code, state FROM consent \gset
SELECT connector_fdw.oauth_exchange_code('crm', :'code', :'state');
-- A state is good once.
SELECT connector_fdw.oauth_exchange_code('crm', :'code', :'state');
\echo :LAST_ERROR_SQLSTATE
SELECT option_name, option_value ~ '^cfdw2:' AS encrypted FROM pg_user_mapping m, pg_options_to_table(m.umoptions) o
WHERE m.umserver = (SELECT oid FROM pg_foreign_server WHERE srvname = 'crm') ORDER BY 1;
SELECT count(*) FROM leads;
SELECT * FROM token_requests;

-- Refused once (a revoked access token): refreshed and the request sent again.
ALTER USER MAPPING FOR CURRENT_USER SERVER crm OPTIONS (SET access_token 'revoked-by-the-provider');
SELECT count(*) FROM leads WHERE id <= 100;
SELECT * FROM token_requests;

-- Short-lived tokens (64 s, refreshed 60 s ahead) are refreshed before they expire, and the rotated
-- refresh token is kept (encrypted, outside the transaction) for other sessions.
CREATE SERVER crm_short FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock',
  auth 'oauth2', authorize_url :'authorize', token_url :'short_token_url', max_retries '0');
CREATE FOREIGN TABLE short_leads (id int) SERVER crm_short OPTIONS (path '/auth/oauth/plain/customers');
CREATE USER MAPPING FOR CURRENT_USER SERVER crm_short OPTIONS (client_id 'mock-client', client_secret 'mock-secret');
SELECT split_part(connector_fdw.oauth_authorize_url('crm_short', 'http://localhost/callback'), '?', 2) AS query \gset
ALTER FOREIGN TABLE consent OPTIONS (SET query :'query');
SELECT code, state FROM consent \gset
SELECT connector_fdw.oauth_exchange_code('crm_short', :'code', :'state') IS NOT NULL AS exchanged;
SELECT pg_sleep(4.2);
BEGIN;
SELECT count(*) FROM short_leads;
-- The refresh survives the rollback of the query that did it.
ROLLBACK;
\c
SELECT count(*) FROM short_leads;
SELECT * FROM token_requests;

-- A refresh token the provider no longer accepts: a clear error that says what to do.
ALTER USER MAPPING FOR CURRENT_USER SERVER crm OPTIONS (SET refresh_token 'made-up', SET token_expires_at '1');
SELECT count(*) FROM leads;
\echo :LAST_ERROR_SQLSTATE

-- The client credentials grant needs no user consent.
CREATE SERVER machine FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock',
  auth 'oauth2', token_url :'token_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER machine OPTIONS (client_id 'mock-client', client_secret 'mock-secret');
CREATE FOREIGN TABLE machine_leads (id int) SERVER machine OPTIONS (path '/auth/oauth/plain/customers');
SELECT count(*) FROM machine_leads;
