# pg_cron schedules connector_fdw.sync(): the job runs, copies the rows and is logged in sync_runs and in
# cron.job_run_details. pg_cron 1.4 (Debian 12) schedules by the minute, so this waits for the next one.
# needs: pg_cron
set -euo pipefail
db=scenario_cron
psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
psql -X -q -d $db -v ON_ERROR_STOP=1 -v mock="$MOCK_URL" >/dev/null <<'SQL'
CREATE EXTENSION connector_fdw;
CREATE SERVER crm FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url :'mock');
CREATE FOREIGN TABLE leads (id int, name text, updated_at timestamptz OPTIONS (filter_param_gt 'updated_at_gt'))
  SERVER crm OPTIONS (path '/n/500/page/customers', rows '$.data[*]', pagination 'page', page_param '_page',
  page_size_param '_limit', page_size '100');
SQL
# The README's example, pointed at this database.
psql -X -q -d postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT cron.schedule_in_database('crm-sync', '* * * * *',
  \$\$SELECT connector_fdw.sync('public.leads', 'public.leads_copy', key => '{id}', cursor_column => 'updated_at')\$\$,
  '$db');
SQL
runs=0
for _ in $(seq 90); do
  runs=$(psql -X -q -At -d $db -c "SELECT count(*) FROM connector_fdw.sync_runs WHERE status = 'succeeded'")
  [ "$runs" -ge 1 ] && break
  sleep 1
done
psql -X -q -d postgres -c "SELECT cron.unschedule('crm-sync')" >/dev/null
[ "$runs" -ge 1 ] || { echo "no sync ran within 90 s"; psql -X -d postgres -c "SELECT * FROM cron.job_run_details"; exit 1; }
copied=$(psql -X -q -At -d $db -c "SELECT count(*) FROM leads_copy")
logged=$(psql -X -q -At -d $db -c "SELECT rows_inserted || ' rows inserted, ' || requests || ' requests' FROM connector_fdw.sync_runs ORDER BY run_id LIMIT 1")
cron_status=$(psql -X -q -At -d postgres -c "SELECT status FROM cron.job_run_details WHERE database = '$db' ORDER BY runid LIMIT 1")
psql -X -q -d postgres -c "DROP DATABASE $db" >/dev/null 2>&1 || true
[ "$copied" = 500 ] || { echo "expected 500 rows copied, found $copied"; exit 1; }
[ "$cron_status" = succeeded ] || { echo "cron.job_run_details says: $cron_status"; exit 1; }
echo "pg_cron ran the sync: $logged, 500 rows in leads_copy, job $cron_status"
