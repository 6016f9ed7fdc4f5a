-- connector_fdw 0.1.0 → 0.2.0 (ALTER EXTENSION connector_fdw UPDATE). Every schema change of 0.2.0 goes here
-- too; tests/scenarios/upgrade.sh fails with the difference when the upgraded schema is not the one a fresh
-- 0.2.0 install creates. Runs in one transaction, as the extension's schema owner, search_path = connector_fdw.
\echo Use "ALTER EXTENSION connector_fdw UPDATE" to load this file. \quit
