-- The shipped benchling definition against the mock's Benchling API v2: nextToken paging, modifiedAt and
-- createdAt ranges in Benchling's "> t AND < t" language (and pushed by an incremental sync), assay lists
-- that need a schema, the API key as the Basic user, Benchling's error bodies.
\i :tests/helpers/setup.psql
\set VERBOSITY default
SELECT name, kind, resources FROM connector_fdw.connectors WHERE name = 'benchling';
-- A tenant's API is https://<tenant>.benchling.com: the server names it.
CREATE SERVER nowhere FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'benchling');
SELECT :'mock' || '/benchling' AS benchling_url \gset
CREATE SERVER benchling FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'benchling', base_url :'benchling_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER benchling OPTIONS (user 'test-token', password '');
CREATE SCHEMA b;
IMPORT FOREIGN SCHEMA benchling FROM SERVER benchling INTO b;
SELECT foreign_table_name FROM information_schema.foreign_tables WHERE foreign_table_schema = 'b' ORDER BY 1;

-- nextToken paging: three pages of two, none after the empty nextToken; the key is the Basic user.
ALTER FOREIGN TABLE b.custom_entities OPTIONS (ADD page_size '2');
SELECT reset_mock();
SELECT id, name, schema_id, entity_registry_id, fields -> 'Host Organism' ->> 'value' AS organism,
       custom_fields -> 'Legacy ID' ->> 'value' AS legacy_id, modified_at
  FROM b.custom_entities ORDER BY id;
SELECT path, query, headers ->> 'authorization' AS authorization FROM mock_requests ORDER BY seq;
ALTER FOREIGN TABLE b.custom_entities OPTIONS (DROP page_size);

-- Ranges: > and < become one modifiedAt parameter; >= and <= are Postgres's (Benchling has neither).
SELECT reset_mock();
SELECT id, name FROM b.custom_entities
 WHERE modified_at > '2024-01-03 09:00:00+00' AND modified_at < '2024-01-07+00' AND schema_id = 'ts_Strain001' ORDER BY id;
SELECT name FROM b.dna_sequences WHERE created_at > '2024-01-05+00' AND modified_at >= '2024-01-08 14:00+00' ORDER BY name;
SELECT request FROM requests;
SELECT same_without_pushdown($$SELECT id FROM b.custom_entities WHERE modified_at > '2024-01-04 09:00:00.5+00' AND created_at < '2024-01-06+00'$$);
SELECT same_without_pushdown($$SELECT id, length, is_circular FROM b.dna_sequences WHERE modified_at < '2024-01-07 14:00:00.000001+00'$$);

-- Archived entities are listed when the table's query asks for them.
CREATE FOREIGN TABLE every_entity (id text, name text, archive_reason text)
  SERVER benchling OPTIONS (resource 'custom_entities', query 'archiveReason=ANY_ARCHIVED_OR_NOT_ARCHIVED');
SELECT id, archive_reason FROM every_entity WHERE archive_reason IS NOT NULL;

-- A column of one schema field, declared by hand (as docs/connectors/benchling.md shows).
ALTER FOREIGN TABLE b.custom_entities ADD COLUMN passage integer OPTIONS (path '$.fields["Passage"].value');
SELECT id, passage FROM b.custom_entities WHERE schema_id = 'ts_Strain001' ORDER BY id;
ALTER FOREIGN TABLE b.custom_entities DROP COLUMN passage;

-- Assay runs and results are listed per schema.
SELECT id FROM b.assay_runs;
SELECT reset_mock();
SELECT id, validation_status, fields -> 'Plate Reader' ->> 'value' AS reader FROM b.assay_runs WHERE schema_id = 'assaysch_Elisa01';
SELECT id, fields -> 'OD450' ->> 'value' AS od450 FROM b.assay_results
 WHERE schema_id = 'assaysch_Elisa01' AND modified_at >= '2024-01-14 11:00+00' ORDER BY id;
SELECT request FROM requests;
SELECT same_without_pushdown($$SELECT id FROM b.assay_results WHERE schema_id = 'assaysch_Elisa01' AND created_at <= '2024-01-13 11:00+00'$$);

-- An incremental sync: the first run reads everything, the next asks only for what was modified after the
-- last cursor, in Benchling's range language.
SELECT reset_mock();
SELECT status, rows_fetched, rows_inserted
  FROM connector_fdw.sync('b.custom_entities', 'entities_copy', key => '{id}', cursor_column => 'modified_at');
SELECT target, last_cursor FROM connector_fdw.sync_state;
SELECT status, rows_fetched, rows_inserted, rows_updated
  FROM connector_fdw.sync('b.custom_entities', 'entities_copy', key => '{id}', cursor_column => 'modified_at');
SELECT request FROM requests;
SELECT count(*), count(DISTINCT schema_id) FROM entities_copy;

-- Benchling's errors: a wrong key, a parameter Benchling does not know.
CREATE SERVER wrong_key FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'benchling', base_url :'benchling_url');
CREATE USER MAPPING FOR CURRENT_USER SERVER wrong_key OPTIONS (user 'sk_wrong', password '');
CREATE FOREIGN TABLE wrong_schemas (id text) SERVER wrong_key OPTIONS (resource 'entity_schemas');
SELECT id FROM wrong_schemas;
CREATE FOREIGN TABLE colours (id text) SERVER benchling OPTIONS (resource 'dna_sequences', query 'colour=red');
SELECT id FROM colours;
