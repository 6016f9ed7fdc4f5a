//! Notion API (`/notion/v1/…`, `Notion-Version` header required): query a database (`POST
//! /v1/databases/{id}/query` with `filter`, evaluated for the property's type, `sorts`, `page_size` at
//! most 100, `start_cursor`), search databases (`POST /v1/search`), create pages (`POST /v1/pages`),
//! update and archive them (`PATCH /v1/pages/{id}`); Notion's error body (`object`, `status`, `code`,
//! `message`) and its limit of 3 requests a second (429 `rate_limited` with `Retry-After`);
//! `/notion/429/{k}/v1/…` refuses the first k requests of each URL with that 429 (`always`: every one).
//! `GET /v1/databases/{id}` retrieves a database (its properties).
//!
//! Database `Tasks` has a property of every type and 12 pages; `Contacts` has 3.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::{authorized, json, rate_knob, status_knob, token, untoken};
use crate::handler::State;
use crate::http::{percent_decode, Request, Response};

pub const TASKS: &str = "5a1ad3b1-0000-4000-8000-0000000000a1";
pub const CONTACTS: &str = "5a1ad3b1-0000-4000-8000-0000000000c2";
pub const TASK_PAGES: usize = 12;
const RATE: usize = 3;

fn error(status: u16, code: &str, message: &str) -> Response {
    json(status, &json!({ "object": "error", "status": status, "code": code, "message": message }))
}

fn invalid(message: &str) -> Response {
    error(400, "validation_error", message)
}

fn page_id(n: usize) -> String {
    format!("0b1ec7a5-0000-4000-8000-{n:012}")
}

fn user_id(n: usize) -> String {
    format!("a11ce000-0000-4000-8000-{n:012}")
}

const USERS: [&str; 3] = ["Ada Lovelace", "Grace Hopper", "Alan Turing"];

fn user(n: usize) -> Value {
    json!({ "object": "user", "id": user_id(n), "name": USERS[n % 3], "avatar_url": null, "type": "person", "person": { "email": format!("user{n}@example.com") } })
}

fn rich(text: &str) -> Value {
    if text.is_empty() {
        return json!([]);
    }
    json!([{
        "type": "text", "text": { "content": text, "link": null },
        "annotations": { "bold": false, "italic": false, "strikethrough": false, "underline": false, "code": false, "color": "default" },
        "plain_text": text, "href": null
    }])
}

fn option(name: &str) -> Value {
    json!({ "id": format!("opt-{}", name.to_lowercase().replace(' ', "-")), "name": name, "color": "default" })
}

/// (name, type, configuration) of the Tasks database's properties.
fn task_schema() -> Vec<(&'static str, &'static str, Value)> {
    let options = |names: &[&str]| json!({ "options": names.iter().map(|n| option(n)).collect::<Vec<_>>() });
    vec![
        ("Name", "title", json!({})),
        ("Notes", "rich_text", json!({})),
        ("Estimate", "number", json!({ "format": "number" })),
        ("Priority", "select", options(&["High", "Medium", "Low"])),
        ("Tags", "multi_select", options(&["bug", "feature", "docs"])),
        ("Status", "status", options(&["Not started", "In progress", "Done"])),
        ("Due", "date", json!({})),
        ("Done", "checkbox", json!({})),
        ("Link", "url", json!({})),
        ("Email", "email", json!({})),
        ("Phone", "phone_number", json!({})),
        ("Assignee", "people", json!({})),
        ("Related", "relation", json!({ "database_id": TASKS, "type": "single_property", "single_property": {} })),
        ("Score", "formula", json!({ "expression": "prop(\"Estimate\") * 2" })),
        (
            "Related count",
            "rollup",
            json!({ "rollup_property_name": "Name", "relation_property_name": "Related", "function": "count" }),
        ),
        ("Created", "created_time", json!({})),
        ("Edited", "last_edited_time", json!({})),
        ("Creator", "created_by", json!({})),
        ("Editor", "last_edited_by", json!({})),
        ("Attachments", "files", json!({})),
        ("Task ID", "unique_id", json!({ "prefix": "TASK" })),
    ]
}

fn contact_schema() -> Vec<(&'static str, &'static str, Value)> {
    vec![("Name", "title", json!({})), ("Email", "email", json!({}))]
}

fn schema_of(database: &str) -> Option<Vec<(&'static str, &'static str, Value)>> {
    match database {
        TASKS => Some(task_schema()),
        CONTACTS => Some(contact_schema()),
        _ => None,
    }
}

fn property_id(name: &str) -> String {
    if name == "Name" {
        "title".into()
    } else {
        name.chars().filter(|c| c.is_ascii_alphanumeric()).take(4).collect::<String>().to_lowercase()
    }
}

fn database(id: &str, title: &str) -> Value {
    let properties: Map<String, Value> = schema_of(id)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, kind, config)| {
            (name.to_string(), json!({ "id": property_id(name), "name": name, "type": kind, kind: config }))
        })
        .collect();
    json!({
        "object": "database", "id": id, "title": rich(title), "description": [], "properties": properties,
        "created_time": "2024-01-01T00:00:00.000Z", "last_edited_time": "2024-02-01T00:00:00.000Z",
        "url": format!("https://www.notion.so/{}", id.replace('-', "")), "archived": false, "is_inline": false,
        "parent": { "type": "workspace", "workspace": true }
    })
}

fn timestamp(n: usize) -> String {
    // Days wrap within March so that pages created later (high numbers) still get valid dates.
    format!("2024-03-{:02}T{:02}:{:02}:00.000Z", 1 + (n / 6) % 31, 8 + n % 6, (n * 7) % 60)
}

fn page(database: &str, n: usize, properties: Map<String, Value>) -> Value {
    json!({
        "object": "page", "id": page_id(n), "created_time": timestamp(n), "last_edited_time": timestamp(n + 40),
        "created_by": { "object": "user", "id": user_id(n % 3) }, "last_edited_by": { "object": "user", "id": user_id((n + 1) % 3) },
        "cover": null, "icon": null, "parent": { "type": "database_id", "database_id": database },
        "archived": false, "in_trash": false, "properties": properties,
        "url": format!("https://www.notion.so/Task-{}", page_id(n).replace('-', "")), "public_url": null
    })
}

/// A property value as the API returns it.
/// A property's value in a page that never set it, as Notion returns it.
fn empty_value(kind: &str) -> Value {
    match kind {
        "title" | "rich_text" | "multi_select" | "people" | "relation" | "files" => json!([]),
        "checkbox" => json!(false),
        "formula" => json!({ "type": "number", "number": null }),
        "rollup" => json!({ "type": "number", "number": 0, "function": "count" }),
        "created_time" | "last_edited_time" => json!("2024-06-01T00:00:00.000Z"),
        "created_by" | "last_edited_by" => json!({ "object": "user", "id": user_id(0) }),
        "unique_id" => json!({ "prefix": "TASK", "number": null }),
        _ => Value::Null,
    }
}

fn value(name: &str, kind: &str, inner: Value) -> (String, Value) {
    (name.to_string(), json!({ "id": property_id(name), "type": kind, kind: inner }))
}

/// Twelve tasks: every property type, with empty values where a task has none.
fn tasks() -> Vec<Value> {
    let priorities = ["High", "Medium", "Low"];
    let statuses = ["Not started", "In progress", "Done"];
    let tags = ["bug", "feature", "docs"];
    (1..=TASK_PAGES)
        .map(|i| {
            let name = match i {
                4 => "Fix \"quotes\" & 'apostrophes'".to_string(),
                _ => format!("Task {i}"),
            };
            let estimate = if i % 5 == 0 { Value::Null } else { json!(i as f64 * 1.5) };
            let due = match i % 4 {
                0 => Value::Null,
                1 => json!({ "start": format!("2024-04-{i:02}"), "end": null, "time_zone": null }),
                2 => json!({ "start": format!("2024-04-{i:02}T10:30:00.000+02:00"), "end": null, "time_zone": null }),
                _ => json!({ "start": format!("2024-04-{i:02}"), "end": format!("2024-04-{:02}", i + 2), "time_zone": null }),
            };
            let related: Vec<Value> = if i % 3 == 0 { vec![] } else { vec![json!({ "id": page_id(i % TASK_PAGES + 1) })] };
            let files = if i == 1 {
                json!([
                    { "name": "spec.pdf", "type": "file", "file": { "url": "https://files.notion.example/spec.pdf", "expiry_time": "2024-05-01T00:00:00.000Z" } },
                    { "name": "site", "type": "external", "external": { "url": "https://example.com" } }
                ])
            } else {
                json!([])
            };
            let properties: Map<String, Value> = [
                value("Name", "title", rich(&name)),
                value("Notes", "rich_text", rich(if i % 2 == 0 { "" } else { "Some notes" })),
                value("Estimate", "number", estimate.clone()),
                value("Priority", "select", if i % 4 == 3 { Value::Null } else { option(priorities[i % 3]) }),
                value("Tags", "multi_select", Value::Array(tags.iter().take(i % 3).map(|t| option(t)).collect())),
                value("Status", "status", option(statuses[i % 3])),
                value("Due", "date", due),
                value("Done", "checkbox", json!(i % 3 == 2)),
                value("Link", "url", if i % 2 == 1 { json!(format!("https://example.com/tasks/{i}")) } else { Value::Null }),
                value("Email", "email", json!(format!("owner{}@example.com", i % 3))),
                value("Phone", "phone_number", if i == 2 { json!("+1 555 0100") } else { Value::Null }),
                value("Assignee", "people", if i % 2 == 0 { json!([user(i % 3)]) } else { json!([]) }),
                ("Related".to_string(), json!({ "id": "rela", "type": "relation", "relation": related.clone(), "has_more": false })),
                value("Score", "formula", match estimate.as_f64() {
                    Some(e) => json!({ "type": "number", "number": e * 2.0 }),
                    None => json!({ "type": "number", "number": null }),
                }),
                value("Related count", "rollup", json!({ "type": "number", "number": related.len(), "function": "count" })),
                value("Created", "created_time", json!(timestamp(i))),
                value("Edited", "last_edited_time", json!(timestamp(i + 40))),
                value("Creator", "created_by", user(i % 3)),
                value("Editor", "last_edited_by", user((i + 1) % 3)),
                value("Attachments", "files", files),
                value("Task ID", "unique_id", json!({ "prefix": "TASK", "number": i })),
            ]
            .into_iter()
            .collect();
            page(TASKS, i, properties)
        })
        .collect()
}

fn contacts() -> Vec<Value> {
    ["Ada", "Grace", "Alan"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let properties = [
                value("Name", "title", rich(name)),
                value("Email", "email", json!(format!("{}@example.com", name.to_lowercase()))),
            ]
            .into_iter()
            .collect();
            page(CONTACTS, 100 + i, properties)
        })
        .collect()
}

fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

/// At most `RATE` requests within (a little less than) a second; the next one is refused.
fn over_rate(state: &State) -> bool {
    let now = now_ms();
    state.providers.with("notion/rate", Vec::new, |times| {
        times.retain(|t| t.as_f64().is_some_and(|t| now - t < 900.0));
        if times.len() >= RATE {
            return true;
        }
        times.push(json!(now));
        false
    })
}

pub fn handle(state: &State, req: &Request, path: &str) -> Response {
    if !authorized(state, req) {
        return error(401, "unauthorized", "API token is invalid.");
    }
    if req.header("notion-version").is_none() {
        return error(
            400,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.",
        );
    }
    // Notion's 529: "Notion is overloaded", to be retried like a 429.
    let (overloaded, path) = status_knob(state, "notion", "529", req, path);
    if overloaded {
        return error(529, "service_overload", "Notion is overloaded. Please try again later.")
            .with_header("Retry-After", "1");
    }
    let (refused, path) = rate_knob(state, "notion", req, path);
    if refused || over_rate(state) {
        return error(429, "rate_limited", "You have been rate limited. Please try again in a few minutes.")
            .with_header("Retry-After", "1");
    }
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(b) => b,
            Err(_) => return error(400, "invalid_json", "Error parsing JSON body."),
        }
    };
    let decoded: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let store = &state.providers;
    match (req.method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "databases", id, "query"]) => {
            let (collection, seed): (&'static str, fn() -> Vec<Value>) = match *id {
                TASKS => ("notion/tasks", tasks),
                CONTACTS => ("notion/contacts", contacts),
                other => return error(404, "object_not_found", &format!("Could not find database with ID: {other}. Make sure the relevant pages and databases are shared with your integration.")),
            };
            let schema = schema_of(id).unwrap_or_default();
            store.with(collection, seed, |all| query(&schema, all, &body))
        }
        ("POST", ["v1", "search"]) => search(&body),
        ("GET", ["v1", "databases", id]) => match *id {
            TASKS => json(200, &database(TASKS, "Tasks")),
            CONTACTS => json(200, &database(CONTACTS, "Contacts")),
            other => error(404, "object_not_found", &format!("Could not find database with ID: {other}. Make sure the relevant pages and databases are shared with your integration.")),
        },
        ("POST", ["v1", "pages"]) => {
            let Some(database) = body["parent"]["database_id"].as_str() else {
                return invalid("body.parent.database_id should be defined, instead was `undefined`.");
            };
            let (collection, seed, schema): (&'static str, fn() -> Vec<Value>, _) = match database {
                TASKS => ("notion/tasks", tasks as fn() -> Vec<Value>, task_schema()),
                CONTACTS => ("notion/contacts", contacts as fn() -> Vec<Value>, contact_schema()),
                other => return error(404, "object_not_found", &format!("Could not find database with ID: {other}.")),
            };
            let mut properties = match stored_properties(&schema, &body["properties"]) {
                Ok(p) => p,
                Err(resp) => return resp,
            };
            // A page of a database has every property of its schema, empty where nothing was given.
            for (name, kind, _) in &schema {
                if !properties.contains_key(*name) {
                    let (key, value) = value(name, kind, empty_value(kind));
                    properties.insert(key, value);
                }
            }
            store.with(collection, seed, |all| {
                let n = 500 + all.len();
                let mut created = page(database, n, properties);
                if body["archived"] == true {
                    created["archived"] = json!(true);
                }
                all.push(created.clone());
                json(200, &created)
            })
        }
        ("PATCH", ["v1", "pages", id]) => {
            for (collection, seed, schema) in
                [("notion/tasks", tasks as fn() -> Vec<Value>, task_schema()), ("notion/contacts", contacts, contact_schema())]
            {
                let found = store.with(collection, seed, |all| {
                    let page = all.iter_mut().find(|p| p["id"] == *id)?;
                    Some(update(&schema, page, &body))
                });
                if let Some(resp) = found {
                    return resp;
                }
            }
            error(
                404,
                "object_not_found",
                &format!("Could not find page with ID: {id}. Make sure the relevant pages and databases are shared with your integration."),
            )
        }
        _ => error(400, "invalid_request_url", "Invalid request URL."),
    }
}

fn update(schema: &[(&str, &str, Value)], page: &mut Value, body: &Value) -> Response {
    if page["archived"] == true && body["archived"] != false {
        return invalid("Can't edit block that is archived. You must unarchive the block before editing.");
    }
    let changes = match stored_properties(schema, &body["properties"]) {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    if let Some(properties) = page["properties"].as_object_mut() {
        properties.extend(changes);
    }
    if let Some(archived) = body["archived"].as_bool() {
        page["archived"] = json!(archived);
    }
    page["last_edited_time"] = json!("2024-06-01T00:00:00.000Z");
    json(200, page)
}

/// Property values of a write, as the API stores and returns them; Notion's message for what it refuses.
fn stored_properties(schema: &[(&str, &str, Value)], given: &Value) -> Result<Map<String, Value>, Response> {
    let mut out = Map::new();
    let Some(given) = given.as_object() else {
        return if given.is_null() { Ok(out) } else { Err(invalid("body.properties should be an object.")) };
    };
    for (name, given_value) in given {
        let Some((_, kind, _)) = schema.iter().find(|(n, _, _)| n == name) else {
            return Err(invalid(&format!("{name} is not a property that exists.")));
        };
        let Some(inner) = given_value.get(*kind) else {
            return Err(invalid(&format!("{name} is expected to be {kind}.")));
        };
        // Notion's request limits: 100 rich text runs of at most 2,000 characters (UTF-16 units) each.
        if let ("title" | "rich_text", Some(runs)) = (*kind, inner.as_array()) {
            if runs.len() > 100 {
                return Err(invalid(&format!(
                    "body.properties.{name}.{kind}.length should be ≤ `100`, instead was `{}`.",
                    runs.len()
                )));
            }
            for (i, run) in runs.iter().enumerate() {
                let length = run["text"]["content"].as_str().map_or(0, |c| c.encode_utf16().count());
                if length > 2000 {
                    return Err(invalid(&format!(
                        "body.properties.{name}.{kind}[{i}].text.content.length should be ≤ `2000`, instead was `{length}`."
                    )));
                }
            }
        }
        let stored = match *kind {
            "title" | "rich_text" => rich(
                &inner
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t["text"]["content"].as_str())
                    .collect::<String>(),
            ),
            "select" | "status" if inner.is_null() => Value::Null,
            "select" | "status" => option(
                inner["name"].as_str().ok_or_else(|| invalid(&format!("{name}.{kind}.name should be defined.")))?,
            ),
            "multi_select" => Value::Array(
                inner.as_array().into_iter().flatten().filter_map(|o| o["name"].as_str()).map(option).collect(),
            ),
            "people" => Value::Array(
                inner.as_array().into_iter().flatten().map(|p| json!({ "object": "user", "id": p["id"] })).collect(),
            ),
            "relation" => {
                Value::Array(inner.as_array().into_iter().flatten().map(|p| json!({ "id": p["id"] })).collect())
            }
            "date" if inner.is_null() => Value::Null,
            "date" => {
                json!({ "start": inner["start"], "end": inner.get("end").cloned().unwrap_or(Value::Null), "time_zone": null })
            }
            "number" if !(inner.is_number() || inner.is_null()) => {
                return Err(invalid(&format!("{name} is expected to be number.")))
            }
            "checkbox" if !inner.is_boolean() => return Err(invalid(&format!("{name} is expected to be checkbox."))),
            "number" | "checkbox" | "url" | "email" | "phone_number" => inner.clone(),
            other => return Err(invalid(&format!("{name} is a {other} property and cannot be updated."))),
        };
        let (key, stored) = value(name, kind, stored);
        out.insert(key, stored);
    }
    Ok(out)
}

fn search(body: &Value) -> Response {
    let databases = [database(TASKS, "Tasks"), database(CONTACTS, "Contacts")];
    // Only databases are searchable here: pages are found by querying them.
    match &body["filter"] {
        Value::Null => {}
        f if f["property"] == "object" && f["value"] == "database" => {}
        f if f["property"] == "object" && f["value"] == "page" => {
            return json(200, &json!({ "object": "list", "results": [], "next_cursor": null, "has_more": false }))
        }
        _ => return invalid("body.filter.value should be `\"page\"` or `\"database\"`."),
    }
    page_of(&databases.iter().collect::<Vec<_>>(), body, "search")
}

/// One page of a list response, by `page_size` and `start_cursor`.
fn page_of(items: &[&Value], body: &Value, kind: &str) -> Response {
    let size = match &body["page_size"] {
        Value::Null => 100,
        v => match v.as_u64() {
            Some(n) if (1..=100).contains(&n) => n as usize,
            _ => return invalid("body.page_size should be a number between 1 and 100."),
        },
    };
    let start = match body["start_cursor"].as_str() {
        None => 0,
        Some(cursor) => match untoken(kind, cursor) {
            Some(n) => n,
            None => return invalid("body.start_cursor should be a valid cursor."),
        },
    };
    let end = (start + size).min(items.len());
    let results: Vec<&Value> = items.get(start.min(end)..end).unwrap_or_default().to_vec();
    let more = end < items.len();
    json(
        200,
        &json!({ "object": "list", "results": results, "next_cursor": if more { json!(token(kind, end)) } else { Value::Null }, "has_more": more, "type": "page_or_database", "page_or_database": {} }),
    )
}

fn query(schema: &[(&str, &str, Value)], all: &[Value], body: &Value) -> Response {
    let mut selected: Vec<&Value> = all.iter().filter(|p| p["archived"] != true).collect();
    if !body["filter"].is_null() {
        if let Err(message) = check_filter(schema, &body["filter"], 0) {
            return invalid(&message);
        }
        selected.retain(|p| matches(&body["filter"], p));
    }
    if let Some(sorts) = body["sorts"].as_array() {
        for sort in sorts {
            let known = match (sort["property"].as_str(), sort["timestamp"].as_str()) {
                (Some(p), None) => schema.iter().any(|(n, _, _)| *n == p),
                (None, Some(t)) => t == "created_time" || t == "last_edited_time",
                _ => false,
            };
            if !known || !matches!(sort["direction"].as_str(), Some("ascending" | "descending")) {
                return invalid(&format!("Could not find sort property: {sort}."));
            }
        }
        selected.sort_by(|a, b| {
            for sort in sorts {
                let key = |p: &Value| match (sort["property"].as_str(), sort["timestamp"].as_str()) {
                    (Some(name), _) => sort_key(&p["properties"][name]),
                    (_, Some(t)) => Key::Text(p[t].as_str().unwrap_or_default().to_string()),
                    _ => Key::Empty,
                };
                let (ka, kb) = (key(a), key(b));
                // Empty values last, whichever the direction.
                let order = match (&ka, &kb) {
                    (Key::Empty, Key::Empty) => std::cmp::Ordering::Equal,
                    (Key::Empty, _) => std::cmp::Ordering::Greater,
                    (_, Key::Empty) => std::cmp::Ordering::Less,
                    _ if sort["direction"] == "descending" => kb.partial_cmp(&ka).unwrap_or(std::cmp::Ordering::Equal),
                    _ => ka.partial_cmp(&kb).unwrap_or(std::cmp::Ordering::Equal),
                };
                if order != std::cmp::Ordering::Equal {
                    return order;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    page_of(&selected, body, "notion")
}

#[derive(PartialEq, PartialOrd)]
enum Key {
    Empty,
    Num(f64),
    Text(String),
}

fn sort_key(property: &Value) -> Key {
    match comparable(property) {
        Value::Null => Key::Empty,
        Value::Number(n) => Key::Num(n.as_f64().unwrap_or(0.0)),
        Value::Bool(b) => Key::Num(if b { 1.0 } else { 0.0 }),
        other => Key::Text(other.as_str().map(str::to_string).unwrap_or_else(|| other.to_string())),
    }
}

/// A property's value as filters compare it: text, number, boolean, date start, or null when empty.
fn comparable(property: &Value) -> Value {
    let kind = property["type"].as_str().unwrap_or_default();
    let inner = &property[kind];
    match kind {
        "title" | "rich_text" => {
            let text: String =
                inner.as_array().into_iter().flatten().filter_map(|t| t["plain_text"].as_str()).collect();
            if text.is_empty() {
                Value::Null
            } else {
                json!(text)
            }
        }
        "select" | "status" => inner["name"].clone(),
        "date" => inner["start"].clone(),
        "multi_select" | "people" | "relation" | "files" => match inner.as_array() {
            Some(items) if !items.is_empty() => inner.clone(),
            _ => Value::Null,
        },
        "formula" | "rollup" => inner[inner["type"].as_str().unwrap_or_default()].clone(),
        _ => inner.clone(),
    }
}

/// Filter types a property type accepts, and the conditions of each.
fn conditions(filter_type: &str) -> &'static [&'static str] {
    match filter_type {
        "title" | "rich_text" | "url" | "email" | "phone_number" => &[
            "equals",
            "does_not_equal",
            "contains",
            "does_not_contain",
            "starts_with",
            "ends_with",
            "is_empty",
            "is_not_empty",
        ],
        "number" => &[
            "equals",
            "does_not_equal",
            "greater_than",
            "less_than",
            "greater_than_or_equal_to",
            "less_than_or_equal_to",
            "is_empty",
            "is_not_empty",
        ],
        "checkbox" => &["equals", "does_not_equal"],
        "select" | "status" => &["equals", "does_not_equal", "is_empty", "is_not_empty"],
        "multi_select" | "people" | "relation" => &["contains", "does_not_contain", "is_empty", "is_not_empty"],
        "files" => &["is_empty", "is_not_empty"],
        "date" => &["equals", "before", "after", "on_or_before", "on_or_after", "is_empty", "is_not_empty"],
        _ => &[],
    }
}

/// Validate a filter as Notion does: known properties, the filter type of the property's type, known
/// conditions, compound filters nested at most two deep.
fn check_filter(schema: &[(&str, &str, Value)], filter: &Value, depth: usize) -> Result<(), String> {
    for compound in ["and", "or"] {
        if let Some(parts) = filter.get(compound) {
            if depth >= 2 {
                return Err("body.filter compound filters can be nested at most two levels deep.".into());
            }
            let parts = parts.as_array().ok_or(format!("body.filter.{compound} should be an array."))?;
            return parts.iter().try_for_each(|p| check_filter(schema, p, depth + 1));
        }
    }
    let name = filter["property"].as_str().ok_or("body.filter.property should be defined.")?;
    let (_, kind, _) =
        schema.iter().find(|(n, _, _)| *n == name).ok_or(format!("Could not find property with name or id: {name}"))?;
    let object = filter.as_object().ok_or("body.filter should be an object.")?;
    let (filter_type, condition) =
        object.iter().find(|(k, _)| *k != "property").ok_or("body.filter should define a type.")?;
    if filter_type != kind {
        return Err(format!(
            "body.filter.{filter_type} should be not present, instead was `{condition}`. Property {name} is of type {kind}."
        ));
    }
    let (condition, _) =
        condition.as_object().and_then(|c| c.iter().next()).ok_or("body.filter condition should be an object.")?;
    if !conditions(filter_type).contains(&condition.as_str()) {
        return Err(format!("body.filter.{filter_type}.{condition} is not a valid condition."));
    }
    Ok(())
}

fn matches(filter: &Value, page: &Value) -> bool {
    if let Some(parts) = filter["and"].as_array() {
        return parts.iter().all(|p| matches(p, page));
    }
    if let Some(parts) = filter["or"].as_array() {
        return parts.iter().any(|p| matches(p, page));
    }
    let name = filter["property"].as_str().unwrap_or_default();
    let property = &page["properties"][name];
    let value = comparable(property);
    let Some((_, condition)) = filter.as_object().and_then(|o| o.iter().find(|(k, _)| *k != "property")) else {
        return false;
    };
    let Some((op, operand)) = condition.as_object().and_then(|c| c.iter().next()) else { return false };
    let is_date = property["type"] == "date";
    // Dates compare by their day, as filters on date properties do.
    let day = |v: &Value| v.as_str().map(|s| s.chars().take(10).collect::<String>());
    let order = || -> Option<std::cmp::Ordering> {
        match (&value, operand) {
            (Value::Null, _) => None,
            (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (a, b) if is_date => Some(day(a)?.cmp(&day(b)?)),
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            _ => None,
        }
    };
    use std::cmp::Ordering::*;
    match op.as_str() {
        "is_empty" => value.is_null() || value == false,
        "is_not_empty" => !(value.is_null() || value == false),
        "equals" => order() == Some(Equal),
        // Notion keeps empty values for "does not equal".
        "does_not_equal" => order() != Some(Equal),
        "greater_than" | "after" => order() == Some(Greater),
        "less_than" | "before" => order() == Some(Less),
        "greater_than_or_equal_to" | "on_or_after" => matches!(order(), Some(Greater | Equal)),
        "less_than_or_equal_to" | "on_or_before" => matches!(order(), Some(Less | Equal)),
        "contains" => match (&value, operand) {
            (Value::String(a), Value::String(b)) => a.contains(b.as_str()),
            (Value::Array(items), Value::String(b)) => items.iter().any(|i| i["name"] == *b || i["id"] == *b),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked_and_evaluated() {
        let schema = task_schema();
        let all = tasks();
        let run = |filter: Value| -> Vec<usize> {
            check_filter(&schema, &filter, 0).unwrap();
            all.iter().enumerate().filter(|(_, p)| matches(&filter, p)).map(|(i, _)| i + 1).collect()
        };
        assert_eq!(run(json!({"property": "Estimate", "number": {"is_empty": true}})), vec![5, 10]);
        assert_eq!(
            run(json!({"property": "Priority", "select": {"does_not_equal": "High"}})).len(),
            9,
            "empty priorities are kept"
        );
        assert_eq!(run(json!({"property": "Done", "checkbox": {"equals": true}})), vec![2, 5, 8, 11]);
        assert_eq!(run(json!({"property": "Due", "date": {"on_or_after": "2024-04-10"}})), vec![10, 11]);
        assert!(check_filter(&schema, &json!({"property": "Estimate", "rich_text": {"equals": "1"}}), 0).is_err());
        assert!(check_filter(&schema, &json!({"property": "Nope", "number": {"equals": 1}}), 0).is_err());
        let deep = json!({"and": [{"or": [{"and": [{"property": "Done", "checkbox": {"equals": true}}]}]}]});
        assert!(check_filter(&schema, &deep, 0).is_err());
    }
}
