-- The google_docs connector against the mock's Docs and Drive APIs: documents by id (one documents.get
-- each), the Google Docs of the account listed through Drive, plain text, the fields mask, errors.
\i :tests/helpers/setup.psql
\set VERBOSITY default
SELECT :'mock' || '/gdocs/v1' AS docs_url, :'mock' || '/gdocs/drive/v3' AS drive_url \gset
-- max_concurrency 1: documents are read one at a time, so the request log has one order.
CREATE SERVER gd FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'google_docs', base_url :'docs_url', drive_url :'drive_url', auth 'bearer',
           rate_limit '100', max_concurrency '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER gd OPTIONS (token 'test-token');
SELECT name, kind, description FROM connector_fdw.connectors WHERE name = 'google_docs';
CREATE FOREIGN TABLE docs (document_id text, title text, revision_id text, text text, body jsonb)
  SERVER gd OPTIONS (page_size '2');

-- By id: one documents.get, no Drive call; text joins runs and flattens the table (tab between cells).
SELECT reset_mock();
SELECT document_id, title, revision_id, text FROM docs WHERE document_id = 'docMock1';
SELECT jsonb_array_length(body -> 'content') AS elements FROM docs WHERE document_id = 'docMock1';
SELECT title FROM docs WHERE document_id IN ('docMock3', 'docMock2', 'nope');
SELECT request FROM requests;
EXPLAIN (COSTS OFF) SELECT title FROM docs WHERE document_id IN ('docMock3', 'docMock2');

-- Listed through Drive (2 files a page): only Google Docs, not trashed.
SELECT reset_mock();
SELECT document_id, title, length(text) AS chars FROM docs ORDER BY document_id;
SELECT request FROM requests;
EXPLAIN (COSTS OFF) SELECT title FROM docs;
SELECT same_without_pushdown($$SELECT document_id, title, text FROM docs WHERE document_id = 'docMock2'$$);
SELECT same_without_pushdown($$SELECT title FROM docs WHERE document_id IN ('docMock1', 'nope')$$);
SELECT count(*) FROM docs WHERE text LIKE '%Ada%';

-- Errors: a document not shared with the account (403), a column the connector does not provide.
SELECT title FROM docs WHERE document_id = 'docSecret';
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE bad (document_id text, owner text) SERVER gd;
ALTER FOREIGN TABLE docs OPTIONS (SET page_size '5000');

-- A service account's JSON key, exchanged for a token (JWT grant) at the mock's Google token endpoint.
SELECT jsonb_set(pg_read_file(:'data' || '/service_account.json')::jsonb, '{token_uri}',
                 to_jsonb(:'mock' || '/sheets/oauth2/token'))::text AS sa_key \gset
CREATE SERVER gd_sa FOREIGN DATA WRAPPER connector_fdw
  OPTIONS (connector 'google_docs', base_url :'docs_url', drive_url :'drive_url', auth 'service_account', rate_limit '100');
CREATE USER MAPPING FOR CURRENT_USER SERVER gd_sa OPTIONS (service_account_key :'sa_key');
CREATE FOREIGN TABLE docs_sa (document_id text, title text) SERVER gd_sa;
SELECT reset_mock();
SELECT title FROM docs_sa WHERE document_id = 'docMock3';
SELECT method, path FROM mock_requests ORDER BY seq;
