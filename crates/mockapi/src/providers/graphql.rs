//! A small GraphQL API (`POST /graphql`, GitHub-like): the root field `issues` is a Relay connection of
//! 9 issues (`id`, `number`, `title`, `state`, `createdAt`, `author { login }`) with `nodes`, `edges { cursor
//! node }`, `totalCount` and `pageInfo { hasNextPage endCursor }`. The mock does not execute the document:
//! it checks the fields it names and reads the variables `first` (required, 1–100), `after` (an
//! `endCursor`), `state` (`OPEN`/`CLOSED`) and `since` (issues created at or after an ISO 8601 time).
//! Errors are GraphQL's: HTTP 200 with `{"data": null, "errors": [{"message", …}]}`; a bad token is a 401
//! `{"message": "Bad credentials"}`.
//!
//! A second connection, `users` (5 users: `id`, `login`, `name`, `followers`, `score`, `isAdmin`, `role`,
//! `tags`, `createdAt`, `profile { bio location }`), has `edges { cursor node }` only and filters by the
//! variable `role` (`ADMIN`/`MEMBER`). A document containing `__schema` is answered with the schema's
//! introspection (see [`schema`]): the query type has `issues` and `users` (connections), `search` (a
//! connection with a required argument), `issue(number:)`, `viewer`, `issueList` and `issueCount` (not
//! connections).
//!
//! `issueList` is offset-paged, as Hasura's and PostGraphile's list fields are: a plain list of the issues,
//! filtered by `state`, from the variable `offset` (default 0), at most `limit` of them and never more than
//! [`ISSUE_LIST_CAP`] (a row limit the server sets, as Hasura's select permissions do, silently). The
//! document may select `issueCount` (the filtered count) beside it.

use serde_json::{json, Value};

use super::{authorized, comparable_time, json, token, untoken};
use crate::handler::State;
use crate::http::{Request, Response};

pub const ISSUES: usize = 9;
pub const USERS: usize = 5;
/// The most issues one `issueList` answer holds, whatever the `limit`.
pub const ISSUE_LIST_CAP: usize = 5;

/// Lower-case names a document may use: fields, arguments, keywords.
const KNOWN: [&str; 36] = [
    "query",
    "issues",
    "nodes",
    "edges",
    "node",
    "cursor",
    "pageInfo",
    "hasNextPage",
    "endCursor",
    "totalCount",
    "id",
    "number",
    "title",
    "state",
    "createdAt",
    "author",
    "login",
    "first",
    "after",
    "states",
    "since",
    "users",
    "name",
    "followers",
    "score",
    "isAdmin",
    "role",
    "tags",
    "profile",
    "bio",
    "location",
    "startCursor",
    "issueList",
    "issueCount",
    "limit",
    "offset",
];

fn issues() -> Vec<Value> {
    let logins = ["ada", "brian", "chen"];
    (1..=ISSUES)
        .map(|i| {
            json!({"id": format!("I_{i:04}"), "number": i, "title": format!("Issue {i}"), "state": if i % 3 == 0 { "CLOSED" } else { "OPEN" },
                   "createdAt": format!("2024-02-{i:02}T10:00:00Z"), "author": {"login": logins[i % 3]}})
        })
        .collect()
}

fn users() -> Vec<Value> {
    let names = ["Ada Lovelace", "Brian Kernighan", "Chen Wei", "Dana Scott", "Edsger Dijkstra"];
    (1..=USERS)
        .map(|i| {
            json!({"id": format!("U_{i:03}"), "login": names[i - 1].split(' ').next().unwrap_or_default().to_lowercase(), "name": names[i - 1],
                   "followers": i * 10, "score": i as f64 + 0.5, "isAdmin": i == 1, "role": if i <= 2 { "ADMIN" } else { "MEMBER" },
                   "tags": ["t", format!("tag{i}")], "createdAt": format!("2023-0{i}-01T08:00:00Z"),
                   "profile": {"bio": format!("Bio {i}"), "location": if i % 2 == 0 { Value::Null } else { json!("Earth") }}})
        })
        .collect()
}

/// A named type reference of the introspection.
fn named(kind: &str, name: &str) -> Value {
    json!({ "kind": kind, "name": name, "ofType": null })
}

fn non_null(inner: Value) -> Value {
    json!({ "kind": "NON_NULL", "name": null, "ofType": inner })
}

fn list(inner: Value) -> Value {
    json!({ "kind": "LIST", "name": null, "ofType": inner })
}

fn scalar(name: &str) -> Value {
    named("SCALAR", name)
}

fn object(name: &str) -> Value {
    named("OBJECT", name)
}

/// A field of the introspection: name, type and arguments (`(name, type)`).
fn field(name: &str, ty: Value, args: &[(&str, Value)]) -> Value {
    let args: Vec<Value> = args.iter().map(|(n, t)| json!({ "name": n, "type": t })).collect();
    json!({ "name": name, "description": format!("The {name}."), "args": args, "type": ty })
}

fn object_type(name: &str, fields: Vec<Value>) -> Value {
    json!({ "kind": "OBJECT", "name": name, "fields": fields })
}

/// The answer to an introspection query.
pub fn schema() -> Value {
    let paging = || vec![("first", scalar("Int")), ("after", scalar("String"))];
    let mut issue_args = paging();
    issue_args.extend([("state", named("ENUM", "IssueState")), ("since", scalar("DateTime"))]);
    let mut user_args = paging();
    user_args.push(("role", named("ENUM", "Role")));
    let mut search_args = paging();
    search_args.push(("query", non_null(scalar("String"))));
    let list_args = [("limit", scalar("Int")), ("offset", scalar("Int")), ("state", named("ENUM", "IssueState"))];
    let types = vec![
        object_type(
            "Query",
            vec![
                field("issues", non_null(object("IssueConnection")), &issue_args),
                field("users", non_null(object("UserConnection")), &user_args),
                field("search", non_null(object("IssueConnection")), &search_args),
                field("issue", object("Issue"), &[("number", non_null(scalar("Int")))]),
                field("viewer", non_null(object("User")), &[]),
                field("issueList", non_null(list(non_null(object("Issue")))), &list_args),
                field("issueCount", non_null(scalar("Int")), &list_args[2..]),
            ],
        ),
        object_type(
            "IssueConnection",
            vec![
                field("nodes", list(object("Issue")), &[]),
                field("edges", list(object("IssueEdge")), &[]),
                field("totalCount", non_null(scalar("Int")), &[]),
                field("pageInfo", non_null(object("PageInfo")), &[]),
            ],
        ),
        object_type(
            "IssueEdge",
            vec![field("cursor", non_null(scalar("String")), &[]), field("node", object("Issue"), &[])],
        ),
        object_type(
            "Issue",
            vec![
                field("id", non_null(scalar("ID")), &[]),
                field("number", non_null(scalar("Int")), &[]),
                field("title", non_null(scalar("String")), &[]),
                field("state", non_null(named("ENUM", "IssueState")), &[]),
                field("createdAt", non_null(scalar("DateTime")), &[]),
                field("author", object("Actor"), &[]),
                field("timeline", non_null(object("IssueConnection")), &[("first", non_null(scalar("Int")))]),
            ],
        ),
        object_type("Actor", vec![field("login", non_null(scalar("String")), &[])]),
        object_type(
            "UserConnection",
            vec![
                field("edges", non_null(list(non_null(object("UserEdge")))), &[]),
                field("pageInfo", non_null(object("PageInfo")), &[]),
            ],
        ),
        object_type(
            "UserEdge",
            vec![field("cursor", non_null(scalar("String")), &[]), field("node", non_null(object("User")), &[])],
        ),
        object_type(
            "User",
            vec![
                field("id", non_null(scalar("ID")), &[]),
                field("login", non_null(scalar("String")), &[]),
                field("name", scalar("String"), &[]),
                field("followers", non_null(scalar("Int")), &[]),
                field("score", scalar("Float"), &[]),
                field("isAdmin", non_null(scalar("Boolean")), &[]),
                field("role", non_null(named("ENUM", "Role")), &[]),
                field("tags", non_null(list(non_null(scalar("String")))), &[]),
                field("createdAt", non_null(scalar("DateTime")), &[]),
                field("profile", object("Profile"), &[]),
            ],
        ),
        object_type("Profile", vec![field("bio", scalar("String"), &[]), field("location", scalar("String"), &[])]),
        object_type(
            "PageInfo",
            vec![
                field("hasNextPage", non_null(scalar("Boolean")), &[]),
                field("endCursor", scalar("String"), &[]),
                field("startCursor", scalar("String"), &[]),
            ],
        ),
        json!({ "kind": "ENUM", "name": "IssueState", "fields": null }),
        json!({ "kind": "ENUM", "name": "Role", "fields": null }),
        json!({ "kind": "SCALAR", "name": "DateTime", "fields": null }),
        json!({ "kind": "SCALAR", "name": "String", "fields": null }),
        json!({ "kind": "SCALAR", "name": "Int", "fields": null }),
        json!({ "kind": "SCALAR", "name": "Float", "fields": null }),
        json!({ "kind": "SCALAR", "name": "Boolean", "fields": null }),
        json!({ "kind": "SCALAR", "name": "ID", "fields": null }),
    ];
    json!({ "data": { "__schema": { "queryType": { "name": "Query" }, "types": types } } })
}

fn errors(message: &str) -> Response {
    json(200, &json!({ "data": null, "errors": [{ "message": message, "locations": [{ "line": 1, "column": 1 }] }] }))
}

/// The first lower-case name of the document that is neither known nor a variable (`$x`).
fn unknown_field(query: &str) -> Option<String> {
    let mut previous = ' ';
    let mut word = String::new();
    let mut words = Vec::new();
    let mut variable = false;
    for c in query.chars().chain([' ']) {
        if c.is_ascii_alphanumeric() || c == '_' {
            if word.is_empty() {
                variable = previous == '$';
            }
            word.push(c);
        } else if !word.is_empty() {
            if !variable {
                words.push(std::mem::take(&mut word));
            }
            word.clear();
        }
        previous = c;
    }
    words.into_iter().find(|w| {
        w.starts_with(|c: char| c.is_ascii_lowercase())
            && !KNOWN.contains(&w.as_str())
            && !["true", "false", "null"].contains(&w.as_str())
    })
}

pub fn handle(state: &State, req: &Request, path: &str) -> Response {
    if path != "/" && !path.is_empty() {
        return Response::error(404, "not found");
    }
    if !authorized(state, req) {
        return json(401, &json!({ "message": "Bad credentials" }));
    }
    if req.method != "POST" {
        return errors("GraphQL queries are POSTed as JSON");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return json(400, &json!({ "errors": [{ "message": "Problems parsing JSON" }] }));
    };
    let Some(query) = body["query"].as_str().filter(|q| !q.trim().is_empty()) else {
        return errors("A query attribute must be specified and must be a string.");
    };
    if query.contains("__schema") {
        return json(200, &schema());
    }
    if let Some(field) = unknown_field(query) {
        return errors(&format!("Field '{field}' doesn't exist on type 'Query'"));
    }
    let variables = body.get("variables").cloned().unwrap_or(Value::Null);
    if query.contains("issueList") {
        return issue_list(&variables, query.contains("issueCount"));
    }
    let connection = if query.contains("issues") {
        "issues"
    } else if query.contains("users") {
        "users"
    } else {
        return errors("The document selects no field of type 'Query'");
    };
    let first = match variables.get("first") {
        Some(Value::Number(n)) if n.as_u64().is_some_and(|n| (1..=100).contains(&n)) => n.as_u64().unwrap_or(1) as usize,
        Some(_) => return errors(&format!("Requesting a value outside 1..100 for the `first` argument on the `{connection}` connection is not permitted.")),
        None => return errors(&format!("You must provide a `first` value to properly paginate the `{connection}` connection.")),
    };
    if connection == "users" {
        return users_page(&variables, first);
    }
    let mut selected = match issues_in_state(&variables) {
        Ok(selected) => selected,
        Err(response) => return response,
    };
    if let Some(since) = variables.get("since").and_then(Value::as_str) {
        let since = comparable_time(since);
        selected.retain(|i| i["createdAt"].as_str().is_some_and(|c| comparable_time(c) >= since));
    }
    let start = match variables.get("after").filter(|a| !a.is_null()) {
        None => 0,
        Some(after) => match after.as_str().and_then(|a| untoken("issue", a)) {
            Some(at) => at,
            None => return errors(&format!("`{after}` does not appear to be a valid cursor.")),
        },
    };
    let total = selected.len();
    let page: Vec<Value> = selected.into_iter().skip(start).take(first).collect();
    let end = start + page.len();
    let edges: Vec<Value> = page
        .iter()
        .enumerate()
        .map(|(k, node)| json!({ "cursor": token("issue", start + k + 1), "node": node }))
        .collect();
    let page_info = json!({ "hasNextPage": end < total, "endCursor": if page.is_empty() { Value::Null } else { json!(token("issue", end)) } });
    json(
        200,
        &json!({ "data": { "issues": { "totalCount": total, "nodes": page, "edges": edges, "pageInfo": page_info } } }),
    )
}

/// A page of the `users` connection (`edges` only), filtered by the variable `role`.
fn users_page(variables: &Value, first: usize) -> Response {
    let mut selected = users();
    if let Some(role) = variables.get("role").filter(|r| !r.is_null()) {
        match role.as_str() {
            Some(r @ ("ADMIN" | "MEMBER")) => selected.retain(|u| u["role"] == r),
            _ => return errors(&format!("Variable $role of type Role was provided invalid value {role}")),
        }
    }
    let start = match variables.get("after").filter(|a| !a.is_null()) {
        None => 0,
        Some(after) => match after.as_str().and_then(|a| untoken("user", a)) {
            Some(at) => at,
            None => return errors(&format!("`{after}` does not appear to be a valid cursor.")),
        },
    };
    let total = selected.len();
    let page: Vec<Value> = selected.into_iter().skip(start).take(first).collect();
    let end = start + page.len();
    let edges: Vec<Value> = page
        .iter()
        .enumerate()
        .map(|(k, node)| json!({ "cursor": token("user", start + k + 1), "node": node }))
        .collect();
    let page_info = json!({ "hasNextPage": end < total, "endCursor": if page.is_empty() { Value::Null } else { json!(token("user", end)) } });
    json(200, &json!({ "data": { "users": { "edges": edges, "pageInfo": page_info } } }))
}

/// The issues in the variable `state`'s state (all without one).
fn issues_in_state(variables: &Value) -> Result<Vec<Value>, Response> {
    let mut selected = issues();
    if let Some(state) = variables.get("state").filter(|s| !s.is_null()) {
        match state.as_str() {
            Some(s @ ("OPEN" | "CLOSED")) => selected.retain(|i| i["state"] == s),
            _ => return Err(errors(&format!("Variable $state of type IssueState was provided invalid value {state}"))),
        }
    }
    Ok(selected)
}

/// An `issueList` answer: the issues from `offset`, at most `limit` and [`ISSUE_LIST_CAP`] of them, with
/// `issueCount` when the document selects it.
fn issue_list(variables: &Value, with_count: bool) -> Response {
    let int = |name: &str, default: usize| match variables.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(value) => value
            .as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| errors(&format!("Variable ${name} of type Int was provided invalid value {value}"))),
    };
    let (offset, limit) = match (int("offset", 0), int("limit", ISSUE_LIST_CAP)) {
        (Ok(offset), Ok(limit)) => (offset, limit),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    let selected = match issues_in_state(variables) {
        Ok(selected) => selected,
        Err(response) => return response,
    };
    let total = selected.len();
    let page: Vec<Value> = selected.into_iter().skip(offset).take(limit.min(ISSUE_LIST_CAP)).collect();
    let mut data = json!({ "issueList": page });
    if with_count {
        data["issueCount"] = json!(total);
    }
    json(200, &json!({ "data": data }))
}
