# Webhooks end to end, in a cluster of its own (the listener is a postmaster setting): correctly and wrongly
# signed Stripe, Slack and GitHub-style deliveries sent with curl (signatures computed with openssl), the
# events table, redeliveries, NOTIFY, the README's Stripe trigger, hostile bodies and clients, statistics,
# and the worker coming back after it is killed. Run by tests/regress.sh (the extension is installed).
set -euo pipefail
source "$ROOT/scripts/lib.sh"
work="$(mktemp -d)"
listener_pid=""
cleanup() {
  # End of input ends the listening psql; it is killed only if it lingers.
  exec 3>&- 2>/dev/null || true
  [ -n "$listener_pid" ] && { timeout 10 tail --pid="$listener_pid" -f /dev/null || kill "$listener_pid"; } 2>/dev/null || true
  stop_cluster
  rm -rf "$work"
}
trap cleanup EXIT
port="$(free_port)"
start_cluster "shared_preload_libraries = 'connector_fdw'" "connector_fdw.webhook_listen = '127.0.0.1:$port'" \
  "connector_fdw.webhook_max_body = '4kB'"
url="http://127.0.0.1:$port"

fail() { echo "FAIL: $*"; exit 1; }
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
hmac_hex() { printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" | sed 's/^.*= //'; }
hmac_b64() { printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" -binary | base64; }
# post PATH BODY [HEADER…]: the answer's status; its body goes to $work/answer.
post() {
  local path=$1 body=$2 headers=()
  shift 2
  for h in "$@"; do headers+=(-H "$h"); done
  curl -s -o "$work/answer" -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' "${headers[@]}" \
    --data-binary "$body" "$url$path"
}
expect() { [ "$2" = "$1" ] || fail "$3: expected HTTP $1, got $2 ($(cat "$work/answer" 2>/dev/null))"; }
events() { sql "SELECT count(*) FROM connector_fdw.webhook_events WHERE server = '$1'"; }

stripe_secret='whsec_scenario_5f2c9e'
slack_secret='8f742231b10e8888abcd99yyyzzz85a5'
github_secret="It's a Secret to Everybody"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -v stripe="$stripe_secret" -v slack="$slack_secret" \
  -v github="$github_secret" >/dev/null <<'SQL'
CREATE EXTENSION connector_fdw;
CREATE SERVER stripe FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'stripe', webhook 'stripe');
SELECT connector_fdw.set_webhook_secret('stripe', :'stripe');
CREATE SERVER slack FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'slack', webhook 'slack');
SELECT connector_fdw.set_webhook_secret('slack', :'slack');
CREATE SERVER github FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url 'http://127.0.0.1:9',
  webhook 'hmac_sha256', webhook_event_id 'header:X-GitHub-Delivery', webhook_event_type 'header:X-GitHub-Event');
SELECT connector_fdw.set_webhook_secret('github', :'github');
CREATE SERVER shop FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url 'http://127.0.0.1:9',
  webhook 'hmac_sha256', webhook_signature_header 'X-Shopify-Hmac-Sha256', webhook_signature_encoding 'base64',
  webhook_event_id 'header:X-Shopify-Webhook-Id', webhook_event_type 'header:X-Shopify-Topic');
SELECT connector_fdw.set_webhook_secret('shop', 'shop-secret');
CREATE SERVER plain FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url 'http://127.0.0.1:9');
CREATE SERVER unsigned FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'rest', base_url 'http://127.0.0.1:9',
  webhook 'stripe');

-- The README's recipe: Stripe customers upserted into a local table by a trigger.
CREATE TABLE stripe_customers (id text PRIMARY KEY, email text, name text, changed_at timestamptz NOT NULL);
CREATE FUNCTION stripe_customer_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  customer jsonb := NEW.payload -> 'data' -> 'object';
  changed timestamptz := to_timestamp((NEW.payload ->> 'created')::bigint);
BEGIN
  IF NEW.event_type IN ('customer.created', 'customer.updated') THEN
    INSERT INTO public.stripe_customers AS c (id, email, name, changed_at)
    VALUES (customer ->> 'id', customer ->> 'email', customer ->> 'name', changed)
    ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name, changed_at = EXCLUDED.changed_at
      WHERE c.changed_at <= EXCLUDED.changed_at;
  ELSIF NEW.event_type = 'customer.deleted' THEN
    DELETE FROM public.stripe_customers WHERE id = customer ->> 'id';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER stripe_customers AFTER INSERT ON connector_fdw.webhook_events
  FOR EACH ROW WHEN (NEW.server = 'stripe') EXECUTE FUNCTION stripe_customer_event();
-- A trigger that fails, for one event type.
CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the downstream table is locked'; END $$;
CREATE TRIGGER refuse AFTER INSERT ON connector_fdw.webhook_events
  FOR EACH ROW WHEN (NEW.event_type = 'refuse.me') EXECUTE FUNCTION refuse_event();
SQL

# The listener answers (bounded wait: the worker starts with the cluster).
for _ in $(seq 150); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/" || true)" = 404 ] && break
  sleep 0.2
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/")" = 404 ] || fail "the listener did not start"

# A session listening on the channel.
mkfifo "$work/listen.in"
psql -X -d postgres <"$work/listen.in" >"$work/notifications" 2>&1 &
listener_pid=$!
exec 3>"$work/listen.in"
echo "LISTEN connector_fdw_webhook;" >&3

# Stripe: a signed event is stored, committed before the answer (read at once by another session), once.
now=$(date +%s)
created=$((now - 60))
body='{"id":"evt_1","object":"event","type":"customer.created","created":'$created',"data":{"object":{"id":"cus_1","email":"ada@example.com","name":"Ada"}}}'
signature="t=$now,v1=$(hmac_hex "$stripe_secret" "$now.$body")"
expect 200 "$(post /webhooks/stripe "$body" "Stripe-Signature: $signature")" "signed Stripe event"
[ "$(sql "SELECT event_type || ' ' || (payload->'data'->'object'->>'email') FROM connector_fdw.webhook_events WHERE event_id = 'evt_1'")" = "customer.created ada@example.com" ] \
  || fail "the Stripe event was not committed before the answer"
expect 200 "$(post /webhooks/stripe "$body" "Stripe-Signature: $signature")" "redelivered Stripe event"
grep -q "already stored" "$work/answer" || fail "a redelivery is not reported as such"
[ "$(events stripe)" = 1 ] || fail "a redelivery was stored twice"
# A rolled secret: Stripe signs with the old and the new one.
body2='{"id":"evt_2","object":"event","type":"customer.updated","created":'$now',"data":{"object":{"id":"cus_1","email":"ada@new.example","name":"Ada L."}}}'
two="t=$now,v1=$(hmac_hex whsec_old_secret "$now.$body2"),v1=$(hmac_hex "$stripe_secret" "$now.$body2")"
expect 200 "$(post /webhooks/stripe "$body2" "Stripe-Signature: $two")" "Stripe event with two v1 signatures"
# The trigger of the README keeps the customer up to date; an older event arriving late loses.
old='{"id":"evt_0","object":"event","type":"customer.updated","created":'$((now - 3600))',"data":{"object":{"id":"cus_1","email":"stale@example.com","name":"Old"}}}'
expect 200 "$(post /webhooks/stripe "$old" "Stripe-Signature: t=$now,v1=$(hmac_hex "$stripe_secret" "$now.$old")")" "late Stripe event"
[ "$(sql "SELECT email || ' ' || name FROM stripe_customers WHERE id = 'cus_1'")" = "ada@new.example Ada L." ] \
  || fail "the README's trigger did not upsert the customer: $(sql 'SELECT * FROM stripe_customers')"
# Wrong, missing, downgraded and stale signatures: 401, nothing stored.
body3='{"id":"evt_3","object":"event","type":"customer.created","created":'$now',"data":{"object":{"id":"cus_3"}}}'
expect 401 "$(post /webhooks/stripe "$body3" "Stripe-Signature: t=$now,v1=$(hmac_hex wrong "$now.$body3")")" "wrong Stripe secret"
expect 401 "$(post /webhooks/stripe "$body3")" "no Stripe-Signature"
expect 401 "$(post /webhooks/stripe "$body3" "Stripe-Signature: t=$now,v0=$(hmac_hex "$stripe_secret" "$now.$body3")")" "v0 only"
stale=$((now - 600))
expect 401 "$(post /webhooks/stripe "$body3" "Stripe-Signature: t=$stale,v1=$(hmac_hex "$stripe_secret" "$stale.$body3")")" "stale Stripe timestamp"
grep -q "seconds away from now" "$work/answer" || fail "a stale timestamp is not named: $(cat "$work/answer")"
tampered="${body3/cus_3/cus_4}"
expect 401 "$(post /webhooks/stripe "$tampered" "Stripe-Signature: t=$now,v1=$(hmac_hex "$stripe_secret" "$now.$body3")")" "tampered body"
# Signed but not JSON, or JSON that jsonb refuses: 400.
junk='{"id": "evt_4",'
expect 400 "$(post /webhooks/stripe "$junk" "Stripe-Signature: t=$now,v1=$(hmac_hex "$stripe_secret" "$now.$junk")")" "malformed JSON"
nul='{"id":"evt_5","type":"x","note":"a\u0000b"}'
expect 400 "$(post /webhooks/stripe "$nul" "Stripe-Signature: t=$now,v1=$(hmac_hex "$stripe_secret" "$now.$nul")")" "JSON jsonb refuses"
# A trigger that fails: 500 (the provider delivers again), nothing stored.
refused='{"id":"evt_6","type":"refuse.me"}'
expect 500 "$(post /webhooks/stripe "$refused" "Stripe-Signature: t=$now,v1=$(hmac_hex "$stripe_secret" "$now.$refused")")" "failing trigger"
[ "$(events stripe)" = 3 ] || fail "refused deliveries were stored: $(sql 'SELECT event_id FROM connector_fdw.webhook_events')"

# Slack: the url_verification handshake is answered with its challenge; events are stored by event_id.
challenge='{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}'
slack_sig() { echo "v0=$(hmac_hex "$slack_secret" "v0:$1:$2")"; }
expect 200 "$(post /webhooks/slack "$challenge" "X-Slack-Request-Timestamp: $now" "X-Slack-Signature: $(slack_sig "$now" "$challenge")")" "Slack url_verification"
[ "$(cat "$work/answer")" = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" ] || fail "the challenge was not answered: $(cat "$work/answer")"
event='{"type":"event_callback","event_id":"Ev08MFMKH6","event_time":'$now',"event":{"type":"app_mention","text":"hi"}}'
expect 200 "$(post /webhooks/slack "$event" "X-Slack-Request-Timestamp: $now" "X-Slack-Signature: $(slack_sig "$now" "$event")")" "Slack event"
expect 200 "$(post /webhooks/slack "$event" "X-Slack-Request-Timestamp: $now" "X-Slack-Signature: $(slack_sig "$now" "$event")" "X-Slack-Retry-Num: 1")" "Slack retry"
expect 401 "$(post /webhooks/slack "$event" "X-Slack-Request-Timestamp: $now" "X-Slack-Signature: $(slack_sig "$((now + 1))" "$event")")" "Slack signature of another timestamp"
expect 401 "$(post /webhooks/slack "$event" "X-Slack-Request-Timestamp: $stale" "X-Slack-Signature: $(slack_sig "$stale" "$event")")" "stale Slack timestamp"
expect 401 "$(post /webhooks/slack "$challenge" "X-Slack-Request-Timestamp: $now")" "unsigned handshake"
[ "$(sql "SELECT string_agg(event_id || ' ' || event_type, ',') FROM connector_fdw.webhook_events WHERE server = 'slack'")" = "Ev08MFMKH6 app_mention" ] \
  || fail "Slack events: $(sql "SELECT event_id FROM connector_fdw.webhook_events WHERE server = 'slack'")"

# Generic HMAC: GitHub (X-Hub-Signature-256, hex with sha256=, id and type in headers) and Shopify (base64).
push='{"ref":"refs/heads/main","after":"abc"}'
expect 200 "$(post /webhooks/github "$push" "X-Hub-Signature-256: sha256=$(hmac_hex "$github_secret" "$push")" "X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958" "X-GitHub-Event: push")" "GitHub delivery"
expect 401 "$(post /webhooks/github "$push" "X-Hub-Signature-256: sha256=$(hmac_hex wrong "$push")" "X-GitHub-Delivery: d2" "X-GitHub-Event: push")" "wrong GitHub signature"
expect 400 "$(post /webhooks/github "$push" "X-Hub-Signature-256: sha256=$(hmac_hex "$github_secret" "$push")" "X-GitHub-Event: push")" "GitHub delivery without its id"
order='{"id":820982911946154500,"email":"jon@example.com"}'
expect 200 "$(post /webhooks/shop "$order" "X-Shopify-Hmac-Sha256: $(hmac_b64 shop-secret "$order")" "X-Shopify-Webhook-Id: b54557e4" "X-Shopify-Topic: orders/create")" "Shopify delivery"
[ "$(sql "SELECT string_agg(server || ':' || event_id || ':' || event_type, ',' ORDER BY server) FROM connector_fdw.webhook_events WHERE server IN ('github', 'shop')")" \
  = "github:72d3162e-cc78-11e3-81ab-4c9367dc0958:push,shop:b54557e4:orders/create" ] || fail "generic events: $(sql 'TABLE connector_fdw.webhook_events')"

# Not an endpoint: 404 (unknown server, a server without webhook, another path), 405, 503 without a secret.
expect 404 "$(post /webhooks/nowhere "$body")" "unknown server"
expect 404 "$(post /webhooks/plain "$body")" "server without webhook"
expect 404 "$(post /stripe "$body")" "another path"
expect 405 "$(curl -s -o "$work/answer" -w '%{http_code}' "$url/webhooks/stripe")" "GET"
expect 503 "$(post /webhooks/unsigned "$body" "Stripe-Signature: $signature")" "server without a secret"

# Bodies over connector_fdw.webhook_max_body (4kB here): 413, announced or streamed.
big=$(printf '{"id":"evt_big","pad":"%08000d"}' 0)
expect 413 "$(post /webhooks/stripe "$big" "Stripe-Signature: t=$now,v1=$(hmac_hex "$stripe_secret" "$now.$big")")" "large body"
printf '%s' "$big" >"$work/big.json"
expect 413 "$(curl -s -o "$work/answer" -w '%{http_code}' -H 'Transfer-Encoding: chunked' -H "Stripe-Signature: t=$now,v1=00" \
  --data-binary @"$work/big.json" "$url/webhooks/stripe")" "large chunked body"

# A client that sends part of its headers and stalls does not hold others back.
exec 4<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n' >&4
body7='{"id":"evt_7","type":"invoice.paid"}'
expect 200 "$(post /webhooks/stripe "$body7" "Stripe-Signature: t=$now,v1=$(hmac_hex "$stripe_secret" "$now.$body7")")" "delivery beside a stalled client"
exec 4>&-

# The listening session was notified with the server's name.
for _ in $(seq 100); do
  echo "SELECT 1;" >&3
  grep -q 'payload "github"' "$work/notifications" && break
  sleep 0.1
done
for server in stripe slack github shop; do
  grep -q "notification \"connector_fdw_webhook\" with payload \"$server\"" "$work/notifications" \
    || fail "no notification for $server: $(cat "$work/notifications")"
done

# Statistics: accepted (stored or redelivered) and rejected deliveries per server.
stats=$(sql "SELECT webhooks_accepted || '/' || webhooks_rejected FROM connector_fdw.stats WHERE server = 'stripe'")
[ "$stats" = "5/10" ] || fail "stripe's webhook counters are $stats, expected 5/10"

# The worker survives being killed: the postmaster starts it again and deliveries go on.
pid=$(sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'connector_fdw webhook listener'")
[ -n "$pid" ] || fail "no listener in pg_stat_activity"
[ "$(sql "SELECT pg_terminate_backend($pid)")" = t ] || fail "could not terminate the listener"
body8='{"id":"evt_8","type":"invoice.paid"}'
status=""
for _ in $(seq 150); do
  status=$(post /webhooks/stripe "$body8" "Stripe-Signature: t=$now,v1=$(hmac_hex "$stripe_secret" "$now.$body8")" || true)
  [ "$status" = 200 ] && break
  sleep 0.2
done
expect 200 "$status" "delivery after the listener was restarted"
new_pid=$(sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'connector_fdw webhook listener'")
[ -n "$new_pid" ] && [ "$new_pid" != "$pid" ] || fail "the listener was not restarted (pid $pid, now '$new_pid')"

# Secrets appear nowhere: not in the catalog, not in the server log.
for secret in "$stripe_secret" "$slack_secret" "$github_secret" shop-secret; do
  [ "$(sql "SELECT count(*) FROM pg_foreign_server WHERE srvoptions::text LIKE '%' || \$\$$secret\$\$ || '%'")" = 0 ] \
    || fail "a webhook secret is in the catalog"
  ! grep -qF "$secret" "$CLUSTER_DIR/server.log" || fail "a webhook secret is in the server log"
done
grep -q "connector_fdw webhook listener on http://127.0.0.1:$port" "$CLUSTER_DIR/server.log" || fail "the listener's start is not logged"

echo "webhooks: $(sql 'SELECT count(*) FROM connector_fdw.webhook_events') events stored once each, 401/400/404/405/413/503 as documented, notified, listener restarted"
