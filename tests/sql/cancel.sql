-- Query cancel and statement_timeout end a scan that waits on a slow or silent provider promptly (well before
-- the provider answers: the bounds leave room for a loaded machine), and the backend stays healthy.
\i :tests/helpers/setup.psql
CREATE FOREIGN TABLE slow (id int) SERVER mock OPTIONS (path '/delay/5000/plain/customers');
CREATE FOREIGN TABLE silent (id int) SERVER mock OPTIONS (path '/fault/hang/always/plain/customers');

CREATE TEMP TABLE clock (started timestamptz);
INSERT INTO clock SELECT clock_timestamp();
SET statement_timeout = '300ms';
SELECT count(*) FROM slow;
RESET statement_timeout;
SELECT clock_timestamp() - started < interval '3 s' AS ended_before_the_provider_answered FROM clock;

UPDATE clock SET started = clock_timestamp();
SET statement_timeout = '300ms';
SELECT count(*) FROM silent;
RESET statement_timeout;
SELECT clock_timestamp() - started < interval '10 s' AS ended_long_before_the_http_timeout FROM clock;
SELECT count(*) AS still_healthy FROM customers WHERE country = 'SE';

-- pg_cancel_backend from another session, on a scan running in a dblink connection.
CREATE EXTENSION dblink;
SELECT dblink_connect('other', 'dbname=' || current_database() || ' host=127.0.0.1 port=' || current_setting('port'));
SELECT dblink_send_query('other', 'SELECT count(*) FROM silent');
-- Wait (up to 30 s) until the other session runs the scan, rather than for a fixed time.
DO $$ BEGIN
  FOR i IN 1 .. 3000 LOOP
    EXIT WHEN EXISTS (SELECT FROM pg_stat_activity WHERE query = 'SELECT count(*) FROM silent' AND state = 'active');
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
UPDATE clock SET started = clock_timestamp();
SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT count(*) FROM silent' AND pid <> pg_backend_pid();
SELECT * FROM dblink_get_result('other') AS r(n bigint);
SELECT clock_timestamp() - started < interval '10 s' AS cancelled_long_before_the_http_timeout FROM clock;
SELECT * FROM dblink_get_result('other') AS r(n bigint);
SELECT * FROM dblink('other', 'SELECT count(*) FROM customers WHERE country = ''SE''') AS r(n bigint);
SELECT dblink_disconnect('other');
