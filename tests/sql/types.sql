-- JSON values into Postgres types, and what happens when they do not fit.
\i :tests/helpers/setup.psql
CREATE SERVER files FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'file');
\set file :data '/types.ndjson'
CREATE FOREIGN TABLE typed (
  label text, i2 smallint, i4 int, i8 bigint, f4 real, f8 double precision, n numeric, n2 numeric(6,2),
  b boolean, d date, ts timestamp, tstz timestamptz, u uuid, j json, jb jsonb, arr text[], vc varchar(5),
  iv interval, deep text OPTIONS (path '$.a.b'), whole jsonb OPTIONS (path '$')
) SERVER files OPTIONS (path :'file');
\x on
SELECT * FROM typed WHERE label <> 'zone-less timestamptz';
\x off

-- A timestamp without zone going into timestamptz is in the session's TimeZone, as in Postgres.
SET timezone = 'America/New_York';
CREATE FOREIGN TABLE zoneless (label text, tstz timestamptz OPTIONS (path '$.ts')) SERVER files
  OPTIONS (path :'file');
SELECT tstz FROM zoneless WHERE label = 'strings';
RESET timezone;

-- A value that does not convert names the table, the column and the value.
\set VERBOSITY default
SELECT i4 FROM typed WHERE false;
\set file :data '/bad_int.ndjson'
ALTER FOREIGN TABLE typed OPTIONS (SET path :'file');
SELECT i4 FROM typed;
\echo :LAST_ERROR_SQLSTATE
\set file :data '/overflow.ndjson'
ALTER FOREIGN TABLE typed OPTIONS (SET path :'file');
SELECT i2 FROM typed;
\echo :LAST_ERROR_SQLSTATE
\set file :data '/bad_date.ndjson'
ALTER FOREIGN TABLE typed OPTIONS (SET path :'file');
SELECT d FROM typed;
\echo :LAST_ERROR_SQLSTATE
\set file :data '/bad_uuid.ndjson'
ALTER FOREIGN TABLE typed OPTIONS (SET path :'file');
SELECT u FROM typed;
\echo :LAST_ERROR_SQLSTATE
-- Types with a modifier go through Postgres' own input functions; the context names the column.
\set file :data '/long_varchar.ndjson'
ALTER FOREIGN TABLE typed OPTIONS (SET path :'file');
SELECT vc FROM typed;
\echo :LAST_ERROR_SQLSTATE
\set file :data '/numeric_overflow.ndjson'
ALTER FOREIGN TABLE typed OPTIONS (SET path :'file');
SELECT n2 FROM typed;
\echo :LAST_ERROR_SQLSTATE
-- Unread columns are not converted.
SELECT label FROM typed;
-- NUL cannot be in Postgres text: an error naming the column, as COPY and jsonb give, not a cut value.
\set file :data '/nul_text.ndjson'
ALTER FOREIGN TABLE typed OPTIONS (SET path :'file');
SELECT label FROM typed;
\echo :LAST_ERROR_SQLSTATE
-- Digits beyond real and double precision are out of range, not Infinity.
\set file :data '/float_overflow.ndjson'
ALTER FOREIGN TABLE typed OPTIONS (SET path :'file');
SELECT f8 FROM typed;
\echo :LAST_ERROR_SQLSTATE
SELECT f4 FROM typed;
\echo :LAST_ERROR_SQLSTATE
