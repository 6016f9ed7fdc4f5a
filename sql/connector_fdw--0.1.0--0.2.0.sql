-- connector_fdw 0.1.0 → 0.2.0 (ALTER EXTENSION connector_fdw UPDATE). Every schema change of 0.2.0 goes here
-- too; tests/scenarios/upgrade.sh fails with the difference when the upgraded schema is not the one a fresh
-- 0.2.0 install creates. Runs in one transaction, as the extension's schema owner, search_path = connector_fdw.
\echo Use "ALTER EXTENSION connector_fdw UPDATE" to load this file. \quit

-- The DDL check also runs for ALTER TABLE, which alters foreign tables' options too (security: options set
-- with ALTER TABLE were never checked).
DROP EVENT TRIGGER connector_fdw_ddl_check;
CREATE EVENT TRIGGER connector_fdw_ddl_check ON ddl_command_end
    WHEN TAG IN ('CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE', 'ALTER TABLE', 'IMPORT FOREIGN SCHEMA',
                 'ALTER SERVER', 'CREATE USER MAPPING', 'ALTER USER MAPPING')
    EXECUTE FUNCTION ddl_check();

-- Ciphertexts bound to a server and option (cfdw2).
CREATE FUNCTION "encrypt_secret"(
	"plaintext" TEXT,
	"server" TEXT,
	"option" TEXT
) RETURNS TEXT
STRICT
LANGUAGE c
AS 'MODULE_PATHNAME', 'encrypt_secret_for_wrapper';

-- The response cache.
CREATE FUNCTION "cache_clear"(
	"server" TEXT DEFAULT NULL
) RETURNS bigint
LANGUAGE c
AS 'MODULE_PATHNAME', 'cache_clear_wrapper';

DROP VIEW stats;
DROP FUNCTION server_stats();
CREATE FUNCTION "server_stats"() RETURNS TABLE (
	"server" TEXT,
	"requests" bigint,
	"pages" bigint,
	"bytes" bigint,
	"errors" bigint,
	"retries" bigint,
	"throttled_ms" bigint,
	"in_flight" INT,
	"webhooks_accepted" bigint,
	"webhooks_rejected" bigint,
	"cache_hits" bigint,
	"cache_bytes" bigint
)
STRICT STABLE
LANGUAGE c
AS 'MODULE_PATHNAME', 'server_stats_wrapper';
CREATE VIEW stats AS SELECT * FROM server_stats() ORDER BY server;
GRANT SELECT ON stats TO PUBLIC;

-- sync() gains use_cache (a new signature: the old one goes).
DROP FUNCTION sync(regclass, text, text, text[], text, interval, boolean);
CREATE FUNCTION sync(
    source regclass,
    target text,
    mode text DEFAULT 'incremental',
    key text[] DEFAULT NULL,
    cursor_column text DEFAULT NULL,
    lookback interval DEFAULT '0',
    delete_missing boolean DEFAULT false,
    use_cache boolean DEFAULT false
) RETURNS connector_fdw.sync_runs
LANGUAGE plpgsql AS $sync$
DECLARE
    run connector_fdw.sync_runs;
    source_columns text[];
    source_types text[];
    target_parts text[];
    target_schema text;
    target_kind "char";
    target_oid regclass;
    target_name text;
    columns text[];
    nonkey text[];
    cursor_type text;
    last_cursor text;
    condition text := '';
    statement text;
    requests_before bigint;
    message text;
    detail text;
    created boolean := false;
    cache_setting text;
BEGIN
    run.started_at := clock_timestamp();
    run.mode := mode;
    run.source := source;
    IF mode NOT IN ('full', 'incremental') THEN
        RAISE EXCEPTION 'sync mode must be ''full'' or ''incremental'', not %', quote_literal(mode)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (
        SELECT FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver
        JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
        WHERE ft.ftrelid = source AND w.fdwhandler = 'connector_fdw.connector_fdw_handler'::regproc
    ) THEN
        RAISE EXCEPTION '% is not a connector_fdw foreign table', source USING ERRCODE = 'wrong_object_type';
    END IF;
    SELECT array_agg(a.attname::text ORDER BY a.attnum), array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
      INTO source_columns, source_types
      FROM pg_attribute a WHERE a.attrelid = source AND a.attnum > 0 AND NOT a.attisdropped;

    -- The target is a table name, possibly schema-qualified, never SQL: parsed as identifiers and used
    -- only as schema.table with both parts quoted. Its metadata is keyed by that name.
    BEGIN
        target_parts := parse_ident(target);
    EXCEPTION WHEN invalid_parameter_value THEN
        RAISE EXCEPTION 'sync target % is not a table name', quote_literal(target)
            USING ERRCODE = 'invalid_name', HINT = 'Name it table or schema.table; double-quote names with other characters ("My Table").';
    END;
    IF cardinality(target_parts) > 2 THEN
        RAISE EXCEPTION 'sync target % is not a table name: give at most schema.table', quote_literal(target)
            USING ERRCODE = 'invalid_name';
    END IF;
    IF cardinality(target_parts) = 2 THEN
        target_schema := target_parts[1];
        target_oid := to_regclass(format('%I.%I', target_parts[1], target_parts[2]));
    ELSE
        -- Unqualified: the table the search_path finds, or a new one where CREATE TABLE would put it.
        target_schema := current_schema();
        target_oid := to_regclass(quote_ident(target_parts[1]));
    END IF;
    IF target_oid IS NOT NULL THEN
        SELECT format('%I.%I', n.nspname, c.relname), c.relkind INTO target_name, target_kind
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target_oid;
        IF target_kind NOT IN ('r', 'p') THEN
            RAISE EXCEPTION 'sync target % is not a table', target_name USING ERRCODE = 'wrong_object_type';
        END IF;
        IF NOT connector_fdw._may_sync(target_name) THEN
            RAISE EXCEPTION 'permission denied to sync into %', target_name
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'A sync needs ownership of its target, or INSERT and UPDATE on it (and DELETE for delete_missing).';
        END IF;
    ELSIF target_schema IS NULL THEN
        RAISE EXCEPTION 'no schema has been selected to create sync target % in', quote_ident(target_parts[1])
            USING ERRCODE = 'invalid_schema_name';
    ELSE
        target_name := format('%I.%I', target_schema, target_parts[cardinality(target_parts)]);
    END IF;

    -- The target: its columns must be the source's (by name and type); the key identifies rows.
    IF target_oid IS NOT NULL THEN
        SELECT array_agg(a.attname::text ORDER BY a.attnum) INTO columns
          FROM pg_attribute a WHERE a.attrelid = target_oid AND a.attnum > 0 AND NOT a.attisdropped;
        FOR i IN 1 .. cardinality(columns) LOOP
            IF NOT columns[i] = ANY (source_columns) THEN
                RAISE EXCEPTION 'column "%" of % is not a column of foreign table %', columns[i], target_name, source
                    USING ERRCODE = 'datatype_mismatch', HINT = 'The target''s columns must all be columns of the source.';
            END IF;
            IF (SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = target_oid AND attname = columns[i])
               <> source_types[array_position(source_columns, columns[i])] THEN
                RAISE EXCEPTION 'column "%" of % has another type than in foreign table %', columns[i], target_name, source
                    USING ERRCODE = 'datatype_mismatch';
            END IF;
        END LOOP;
        IF key IS NULL THEN
            SELECT array_agg(a.attname::text ORDER BY k.ord) INTO key
              FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              WHERE i.indrelid = target_oid AND i.indisprimary;
        END IF;
    ELSE
        columns := source_columns;
    END IF;
    IF key IS NULL OR cardinality(key) = 0 THEN
        RAISE EXCEPTION 'sync of % needs a key: the columns that identify a row', target_name
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass key => ''{id}'' (or give the target a primary key).';
    END IF;
    FOR i IN 1 .. cardinality(key) LOOP
        IF NOT key[i] = ANY (columns) THEN
            RAISE EXCEPTION 'key column "%" is not a column of %', key[i], CASE WHEN target_oid IS NULL THEN source::text ELSE target_name END
                USING ERRCODE = 'undefined_column';
        END IF;
    END LOOP;
    IF target_oid IS NOT NULL AND NOT EXISTS (
        SELECT FROM pg_index i WHERE i.indrelid = target_oid AND i.indisunique AND i.indpred IS NULL
          AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM unnest(i.indkey::int2[]) k(attnum)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum)
              = (SELECT array_agg(x ORDER BY x) FROM unnest(key) x)
    ) THEN
        RAISE EXCEPTION '% has no primary key or unique index on (%)', target_name, array_to_string(key, ', ')
            USING ERRCODE = 'invalid_object_definition', HINT = 'Rows are upserted on the key: add a unique index on it.';
    END IF;
    nonkey := ARRAY(SELECT c FROM unnest(columns) c WHERE NOT c = ANY (key));

    -- Incremental runs read only rows whose cursor is past the last run's (minus the lookback). Full runs
    -- keep the cursor moving too, so an incremental run can follow them.
    cursor_column := coalesce(cursor_column, (SELECT s.cursor_column FROM connector_fdw.sync_state s WHERE s.target = target_name));
    IF cursor_column IS NOT NULL AND NOT cursor_column = ANY (source_columns) THEN
        RAISE EXCEPTION 'cursor column "%" is not a column of foreign table %', cursor_column, source
            USING ERRCODE = 'undefined_column';
    END IF;
    IF mode = 'incremental' THEN
        IF delete_missing THEN
            RAISE EXCEPTION 'delete_missing needs a full sync: an incremental run does not see every row'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF cursor_column IS NULL THEN
            RAISE EXCEPTION 'an incremental sync needs a cursor_column: a column that grows when a row changes'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass cursor_column => ''updated_at'', or mode => ''full''.';
        END IF;
        cursor_type := source_types[array_position(source_columns, cursor_column)];
        IF lookback <> '0' AND cursor_type NOT IN ('timestamp with time zone', 'timestamp without time zone', 'date') THEN
            RAISE EXCEPTION 'a lookback needs a date or timestamp cursor column, and "%" is %', cursor_column, cursor_type
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;

    -- One run per target at a time.
    IF NOT pg_try_advisory_xact_lock(hashtext('connector_fdw.sync'), hashtext(target_name)) THEN
        run.target := target_name;
        run.status := 'skipped';
        run.message := 'another sync of this target is running';
        run.finished_at := clock_timestamp();
        RAISE NOTICE 'connector_fdw.sync of % skipped: another run of it is in progress', run.target;
        INSERT INTO connector_fdw.sync_runs (source, target, mode, started_at, finished_at, status, message)
        VALUES (run.source, run.target, run.mode, run.started_at, run.finished_at, run.status, run.message)
        RETURNING * INTO run;
        RETURN run;
    END IF;

    PERFORM connector_fdw._sync_begin(source::oid, target_name);
    requests_before := connector_fdw._backend_requests();
    -- A sync reads what the provider holds now, unless told that cached responses will do.
    cache_setting := current_setting('connector_fdw.use_cache', true);
    PERFORM set_config('connector_fdw.use_cache', CASE WHEN use_cache THEN 'on' ELSE 'off' END, true);
    BEGIN
        IF target_oid IS NULL THEN
            EXECUTE format('CREATE TABLE %s AS SELECT * FROM %s WITH NO DATA', target_name, source);
            target_oid := to_regclass(target_name);
            EXECUTE format('ALTER TABLE %s ADD PRIMARY KEY (%s)', target_name,
                           (SELECT string_agg(quote_ident(k), ', ') FROM unnest(key) k));
            created := true;
        END IF;
        run.target := target_name;
        SELECT s.last_cursor INTO last_cursor FROM connector_fdw.sync_state s WHERE s.target = target_name FOR UPDATE;
        IF mode = 'incremental' AND last_cursor IS NOT NULL THEN
            condition := format('WHERE %I > ($1::%s - $2)', cursor_column, cursor_type);
            IF lookback = '0' THEN
                condition := format('WHERE %I > $1::%s', cursor_column, cursor_type);
            END IF;
        END IF;
        run.cursor_from := CASE WHEN mode = 'incremental' THEN last_cursor END;
        statement := format(
            $q$WITH src AS MATERIALIZED (SELECT %1$s FROM %2$s %3$s),
                    up AS (INSERT INTO %4$s AS t (%1$s) SELECT %1$s FROM src
                           ON CONFLICT (%5$s) %6$s RETURNING (xmax = 0) AS inserted)
                    %7$s
               SELECT (SELECT count(*) FROM src), (SELECT count(*) FROM up WHERE inserted),
                      (SELECT count(*) FROM up WHERE NOT inserted), %8$s, %9$s$q$,
            (SELECT string_agg(quote_ident(c), ', ') FROM unnest(columns) c),
            source, condition, target_name,
            (SELECT string_agg(quote_ident(k), ', ') FROM unnest(key) k),
            CASE WHEN cardinality(nonkey) = 0 THEN 'DO NOTHING' ELSE format(
                'DO UPDATE SET (%s) = ROW(%s) WHERE (%s) IS DISTINCT FROM (%s)',
                (SELECT string_agg(quote_ident(c), ', ') FROM unnest(nonkey) c),
                (SELECT string_agg('EXCLUDED.' || quote_ident(c), ', ') FROM unnest(nonkey) c),
                (SELECT string_agg('t.' || quote_ident(c), ', ') FROM unnest(nonkey) c),
                (SELECT string_agg('EXCLUDED.' || quote_ident(c), ', ') FROM unnest(nonkey) c)) END,
            CASE WHEN delete_missing THEN format(
                ', gone AS (DELETE FROM %s t WHERE NOT EXISTS (SELECT FROM src WHERE (%s) = (%s)) RETURNING 1)',
                target_name,
                (SELECT string_agg('src.' || quote_ident(k), ', ') FROM unnest(key) k),
                (SELECT string_agg('t.' || quote_ident(k), ', ') FROM unnest(key) k)) ELSE '' END,
            CASE WHEN delete_missing THEN '(SELECT count(*) FROM gone)' ELSE '0' END,
            CASE WHEN cursor_column IS NOT NULL AND cursor_column = ANY (columns)
                 THEN format('(SELECT max(%I)::text FROM src)', cursor_column) ELSE 'NULL' END);
        EXECUTE statement INTO run.rows_fetched, run.rows_inserted, run.rows_updated, run.rows_deleted, run.cursor_to
            USING last_cursor, lookback;
        run.cursor_to := coalesce(run.cursor_to, last_cursor);
        INSERT INTO connector_fdw.sync_state AS s (target, source, cursor_column, last_cursor, updated_at)
        VALUES (target_name, source, cursor_column, run.cursor_to, now())
        ON CONFLICT ON CONSTRAINT sync_state_pkey DO UPDATE
            SET source = EXCLUDED.source, cursor_column = EXCLUDED.cursor_column,
                last_cursor = EXCLUDED.last_cursor, updated_at = EXCLUDED.updated_at;
        run.status := 'succeeded';
        run.message := CASE WHEN created THEN 'created ' || target_name END;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
        run.status := 'failed';
        run.message := message || coalesce(' (' || nullif(detail, '') || ')', '');
        run.rows_fetched := 0; run.rows_inserted := 0; run.rows_updated := 0; run.rows_deleted := 0;
        run.cursor_to := NULL;
        run.target := target_name;
        RAISE WARNING 'connector_fdw.sync of % failed and changed nothing: %', run.target, run.message;
    END;
    PERFORM set_config('connector_fdw.use_cache', coalesce(cache_setting, 'on'), true);
    run.requests := connector_fdw._backend_requests() - requests_before;
    run.finished_at := clock_timestamp();
    INSERT INTO connector_fdw.sync_runs (source, target, mode, started_at, finished_at, status, rows_fetched, rows_inserted,
                           rows_updated, rows_deleted, requests, cursor_from, cursor_to, message)
    VALUES (run.source, run.target, run.mode, run.started_at, run.finished_at, run.status, run.rows_fetched,
            run.rows_inserted, run.rows_updated, run.rows_deleted, run.requests, run.cursor_from, run.cursor_to,
            run.message)
    RETURNING * INTO run;
    IF run.status = 'succeeded' THEN
        UPDATE connector_fdw.sync_state s SET last_run = run.run_id WHERE s.target = run.target;
    END IF;
    PERFORM connector_fdw._sync_end();
    RETURN run;
END
$sync$;
