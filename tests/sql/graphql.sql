-- The graphql connector against the mock's GraphQL API: Relay paging with first/after, conditions as the
-- variables columns declare, LIMIT as a smaller first, errors in a 200 answer.
\i :tests/helpers/setup.psql
\set VERBOSITY default
SELECT :'mock' || '/graphql' AS graphql_url \gset
CREATE SERVER gh FOREIGN DATA WRAPPER connector_fdw OPTIONS (connector 'graphql', base_url :'graphql_url', auth 'bearer');
CREATE USER MAPPING FOR CURRENT_USER SERVER gh OPTIONS (token 'test-token');
CREATE FOREIGN TABLE issues (
  id text, number bigint, title text,
  state text OPTIONS (filter_variable 'state'),
  created_at timestamptz OPTIONS (path '$.createdAt', filter_variable_gte 'since'),
  author text OPTIONS (path '$.author.login')
) SERVER gh OPTIONS (
  query 'query Issues($first: Int!, $after: String, $state: IssueState, $since: DateTime) {
  issues(first: $first, after: $after, states: [$state], since: $since) {
    nodes { id number title state createdAt author { login } }
    pageInfo { hasNextPage endCursor }
  }
}', rows '$.data.issues.nodes', page_info_path '$.data.issues.pageInfo', page_size '4');

SELECT reset_mock();
SELECT count(*) FROM issues;
SELECT method, path, body -> 'variables' AS variables FROM mock_requests ORDER BY seq;
SELECT reset_mock();
SELECT title FROM issues WHERE state = 'OPEN' AND created_at >= '2024-02-04' ORDER BY number;
SELECT number, title FROM issues LIMIT 2;
SELECT body -> 'variables' AS variables FROM mock_requests ORDER BY seq;
EXPLAIN (VERBOSE, COSTS OFF) SELECT title FROM issues WHERE state = 'OPEN' AND created_at >= '2024-02-04';
SELECT same_without_pushdown($$SELECT id, title, author FROM issues WHERE state = 'CLOSED'$$);

-- A table whose query lacks a variable a column declares is refused; errors in the answer are errors.
CREATE FOREIGN TABLE no_var (id text, title text OPTIONS (filter_variable 'title')) SERVER gh OPTIONS (
  query 'query Q($first: Int!, $after: String) { issues(first: $first, after: $after) { nodes { id title } pageInfo { hasNextPage endCursor } } }',
  rows '$.data.issues.nodes', page_info_path '$.data.issues.pageInfo');
CREATE FOREIGN TABLE bad_field (id text) SERVER gh OPTIONS (
  query 'query Q($first: Int!, $after: String) { issues(first: $first, after: $after) { nodes { id labels } pageInfo { hasNextPage endCursor } } }',
  rows '$.data.issues.nodes', page_info_path '$.data.issues.pageInfo');
SELECT * FROM bad_field;

-- IMPORT FOREIGN SCHEMA from introspection: one table per Relay connection of the query type.
SELECT name, columns FROM connector_fdw.list_resources('gh');
CREATE SCHEMA gq;
SELECT reset_mock();
IMPORT FOREIGN SCHEMA graphql FROM SERVER gh INTO gq;
SELECT count(*) AS introspection_requests FROM mock_requests;
SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'gq' ORDER BY table_name, ordinal_position;
SELECT reset_mock();
SELECT login FROM gq.users WHERE role = 'ADMIN' ORDER BY login;
SELECT body -> 'variables' AS variables FROM mock_requests ORDER BY seq;
SELECT id, author ->> 'login' AS author FROM gq.issues WHERE state = 'CLOSED' ORDER BY id;
ALTER FOREIGN TABLE gq.users OPTIONS (ADD page_size '2');
SELECT reset_mock();
SELECT count(*) FROM gq.users;
SELECT count(*) AS requests FROM mock_requests;

-- Offset paging (Hasura/PostGraphile-style limit/offset lists): pages sent with their offsets, LIMIT/OFFSET
-- pushed, a server that caps its pages below the size asked for loses no rows.
CREATE FOREIGN TABLE issue_list (id text, number int, title text, state text OPTIONS (filter_variable 'state')) SERVER gh OPTIONS (
  query 'query($limit: Int, $offset: Int, $state: IssueState) { issueList(limit: $limit, offset: $offset, state: $state) { id number title state } }',
  rows '$.data.issueList', offset_variable 'offset', page_size '4');
SELECT reset_mock();
SELECT number FROM issue_list ORDER BY number;
-- Pages are fetched concurrently (listed here by offset); without a total, how many are asked for past the
-- end depends on timing, so only those holding rows are shown.
SELECT body -> 'variables' AS variables FROM mock_requests
  WHERE (body #>> '{variables,offset}')::int < 9 ORDER BY (body #>> '{variables,offset}')::int;
SELECT reset_mock();
SELECT number, state FROM issue_list WHERE state = 'CLOSED' LIMIT 2 OFFSET 1;
SELECT body -> 'variables' AS variables FROM mock_requests ORDER BY seq;
SELECT same_without_pushdown($$SELECT id, state FROM issue_list WHERE state = 'OPEN'$$);
CREATE FOREIGN TABLE no_offset (id text) SERVER gh OPTIONS (
  query 'query($limit: Int, $state: IssueState) { issueList(limit: $limit, state: $state) { id } }',
  rows '$.data.issueList', offset_variable 'offset');

-- pagination 'cursor': Relay paging with pageInfo found beside the connection rows points into (nodes or
-- edges); 'offset' pages by $offset; page_info_path stays for other shapes.
CREATE FOREIGN TABLE issues_cursor (id text, number bigint) SERVER gh OPTIONS (
  query 'query($first: Int!, $after: String) { issues(first: $first, after: $after) { nodes { id number } pageInfo { hasNextPage endCursor } } }',
  rows '$.data.issues.nodes[*]', pagination 'cursor', page_size '4');
SELECT reset_mock();
SELECT count(*), max(number) FROM issues_cursor;
SELECT body -> 'variables' AS variables FROM mock_requests ORDER BY seq;
CREATE FOREIGN TABLE users_cursor (login text) SERVER gh OPTIONS (
  query 'query($first: Int, $after: String) { users(first: $first, after: $after) { edges { cursor node { login } } pageInfo { hasNextPage endCursor } } }',
  rows '$.data.users.edges[*].node', pagination 'cursor', page_size '2');
SELECT reset_mock();
SELECT string_agg(login, ',' ORDER BY login) FROM users_cursor;
SELECT count(*) AS requests FROM mock_requests;
CREATE FOREIGN TABLE issue_list_offset (number int) SERVER gh OPTIONS (
  query 'query($limit: Int, $offset: Int) { issueList(limit: $limit, offset: $offset) { number } }',
  rows '$.data.issueList', pagination 'offset', page_size '4');
SELECT count(*) FROM issue_list_offset;
CREATE FOREIGN TABLE not_a_connection (id text) SERVER gh OPTIONS (
  query 'query($first: Int!, $after: String) { issues(first: $first, after: $after) { nodes { id } } }',
  rows '$.data.issues', pagination 'cursor');
CREATE FOREIGN TABLE both_ways (id text) SERVER gh OPTIONS (
  query 'query($first: Int!, $after: String) { issues(first: $first, after: $after) { nodes { id } } }',
  rows '$.data.issues.nodes', pagination 'cursor', offset_variable 'offset');

-- A Relay connection's totalCount (total_path) answers count(*): one request with first = 1.
CREATE FOREIGN TABLE counted_issues (id text, state text OPTIONS (filter_variable 'state')) SERVER gh OPTIONS (
  query 'query($first: Int!, $after: String, $state: IssueState) { issues(first: $first, after: $after, states: [$state]) { totalCount nodes { id state } pageInfo { hasNextPage endCursor } } }',
  rows '$.data.issues.nodes', pagination 'cursor', page_size '4', total_path '$.data.issues.totalCount');
SELECT reset_mock();
SELECT count(*) FROM counted_issues WHERE state = 'OPEN';
SELECT body -> 'variables' AS variables FROM mock_requests ORDER BY seq;
SELECT count(id) AS counted_locally FROM counted_issues WHERE state = 'OPEN';
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM counted_issues WHERE state = 'OPEN';
SELECT same_without_pushdown($$SELECT count(*) FROM counted_issues$$);
SELECT same_without_pushdown($$SELECT count(*) FROM counted_issues WHERE state = 'CLOSED'$$);
