-- The shipped gmail definition against the mock's Gmail API: message contents from messages.get for each
-- listed message (format=metadata for headers, full for body_text), charsets and encoded words decoded,
-- WHERE id = … as one request, no messages.get when no content column is read.
\i :tests/helpers/setup.psql
\set VERBOSITY default
SELECT :'mock' || '/gmail/v1' AS gmail_url \gset
-- The mock takes a bearer token: the server overrides the definition's OAuth 2.0.
CREATE SERVER gmail FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'gmail', base_url :'gmail_url', auth 'bearer', rate_limit '1000');
CREATE USER MAPPING FOR CURRENT_USER SERVER gmail OPTIONS (token 'test-token');
CREATE SCHEMA gm;
IMPORT FOREIGN SCHEMA gmail LIMIT TO (messages) FROM SERVER gmail INTO gm;
SELECT column_name, data_type FROM information_schema.columns
  WHERE table_schema = 'gm' AND table_name = 'messages' ORDER BY ordinal_position;

-- Ids alone: the list requests only.
SELECT reset_mock();
SELECT count(*), count(DISTINCT thread_id) FROM gm.messages;
SELECT request FROM requests;

-- Headers, date and labels: one format=metadata request per message, only for the rows a LIMIT needs.
SELECT reset_mock();
SELECT subject, "from", "to", cc, date, labels FROM gm.messages LIMIT 3;
SELECT regexp_replace(request, 'messages/[0-9a-f]+', 'messages/ID') AS request FROM requests ORDER BY 1;
-- An RFC 2047 encoded subject, decoded.
SELECT subject, cc FROM gm.messages WHERE subject LIKE 'Caf%';

-- Bodies: format=full; plain text preferred, HTML without markup, Latin-1 read in its charset.
SELECT reset_mock();
-- Messages 23 to 20: plain UTF-8, Latin-1, HTML only, plain and HTML alternatives with an attachment.
SELECT subject, body_text FROM gm.messages LIMIT 4;
SELECT count(*) FILTER (WHERE query = 'format=full') AS full_gets, count(*) AS requests FROM mock_requests;

-- WHERE id = … reads that message alone, with the query its columns need.
SELECT id AS newest FROM gm.messages LIMIT 1 \gset
SELECT reset_mock();
SELECT subject, snippet, body_text IS NOT NULL AS has_body FROM gm.messages WHERE id = :'newest';
SELECT regexp_replace(request, 'messages/[0-9a-f]+', 'messages/ID') AS request FROM requests;
SELECT count(*) FROM gm.messages WHERE id = '18cffffffffffff';

-- Contents filtered locally give the same rows as without pushdown.
SELECT same_without_pushdown($$SELECT id, subject, date, labels FROM gm.messages WHERE subject LIKE '%message 1%' AND 'UNREAD' = ANY (labels)$$);
