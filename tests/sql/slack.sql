-- The shipped slack definition against the mock's Slack Web API: cursor paging, a required channel
-- condition, ts ranges as oldest/latest, {"ok": false} as errors, 429 with Retry-After, chat.postMessage.
\i :tests/helpers/setup.psql
\set VERBOSITY default
SELECT :'mock' || '/slack/api' AS slack_url \gset
CREATE SERVER slack FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'slack', base_url :'slack_url', rate_limit '100');
CREATE USER MAPPING FOR CURRENT_USER SERVER slack OPTIONS (token 'test-token');
CREATE SCHEMA sl;
IMPORT FOREIGN SCHEMA slack FROM SERVER slack INTO sl;
SELECT foreign_table_name FROM information_schema.foreign_tables WHERE foreign_table_schema = 'sl' ORDER BY 1;

SELECT reset_mock();
SELECT count(*) FROM sl.channels;
SELECT count(*) FROM sl.users;
SELECT request FROM requests;

-- History needs a channel; a ts range becomes oldest/latest.
SELECT count(*) FROM sl.messages;
SELECT reset_mock();
SELECT count(*) FROM sl.messages WHERE channel = 'C0GENERAL' AND ts > 1709253000 AND ts < 1709254800;
SELECT request FROM requests;
SELECT count(*) FROM sl.messages WHERE channel = 'C0GENERAL' AND ts >= 1709253000 AND text LIKE '%e%';
SELECT * FROM sl.messages WHERE channel = 'C0NOPE';
-- With pushdown off, the channel Slack requires is still sent (and rechecked): the rows are the same.
SELECT same_without_pushdown($$SELECT ts, text FROM sl.messages WHERE channel = 'C0GENERAL' AND ts > 1709253000$$);
-- Rate limited once (429 with Retry-After): retried.
SELECT reset_mock();
SELECT count(*) FROM sl.messages WHERE channel = 'C0RATELIM';
SELECT count(*) AS requests FROM mock_requests;
-- Each method keeps to its own tier (conversations.history: Tier 3, 50 calls a minute), from scan to scan and
-- across backends; users.list is another method and starts at once.
SELECT reset_mock();
SELECT count(*) FROM sl.messages WHERE channel = 'C0GENERAL';
SELECT count(*) FROM sl.messages WHERE channel = 'C0GENERAL';
SELECT count(*) FROM sl.users;
SELECT path, round((at_ms - lag(at_ms) OVER (ORDER BY seq))::numeric / 1000, 1) >= 1.2 AS tier_gap FROM mock_requests ORDER BY seq;

-- INSERT posts with chat.postMessage; messages cannot be updated or deleted through the table.
SELECT reset_mock();
INSERT INTO sl.messages (channel, text) VALUES ('C0GENERAL', 'Hello from SQL') RETURNING channel, text, ts IS NOT NULL AS has_ts;
SELECT method, path FROM mock_requests ORDER BY seq;
DELETE FROM sl.messages WHERE channel = 'C0GENERAL';
