//! Microsoft Graph v1.0 (`/graph/v1.0/…`): users, the signed-in user's drive root children and Outlook
//! messages, with the OData options the definition uses (`$select`, `$top`, `$filter`, `$skiptoken` in
//! `@odata.nextLink`) and Graph's error bodies.

use serde_json::{json, Map, Value};

use super::{authorized, bearer, comparable_time, json, param, query_string, token, untoken};
use crate::handler::State;
use crate::http::{parse_query, percent_decode, Request, Response};

const USERS: [(&str, &str, &str, &str, bool); 7] = [
    ("Adele Vance", "adele", "Retail Manager", "Retail", true),
    ("Alex Wilber", "alex", "Marketing Assistant", "Marketing", true),
    ("Diego Siciliani", "diego", "HR Manager", "HR", false),
    ("Grady Archie", "grady", "Designer", "R&D", true),
    ("Isaiah Langer", "isaiah", "Sales Rep", "Sales", true),
    ("Johanna Lorenz", "johanna", "Senior Engineer", "Engineering", false),
    ("Lee Gu", "lee", "Director", "Manufacturing", true),
];

pub const MESSAGES: usize = 12;

/// What can be filtered, how: a property, its operators, and whether its values are text (compared
/// case-insensitively, as Graph does), booleans or timestamps.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Bool,
    Time,
}

/// One collection: its records, the filterable properties, and its page sizes.
struct Collection {
    /// The OData type, for messages (`microsoft.graph.user`).
    odata_type: &'static str,
    records: Vec<Value>,
    filters: &'static [(&'static str, &'static [&'static str], Kind)],
    default_top: usize,
    max_top: usize,
}

fn guid(kind: u32, i: usize) -> String {
    format!("{kind:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", i * 17, i * 3, i * 5, i * 7919)
}

fn users() -> Collection {
    let records = USERS
        .iter()
        .enumerate()
        .map(|(i, (name, local, job, department, enabled))| {
            json!({
                "id": guid(0x5a1e, i + 1), "displayName": name, "givenName": name.split(' ').next(), "surname": name.split(' ').nth(1),
                "mail": format!("{local}@contoso.example"), "userPrincipalName": format!("{local}@contoso.example"),
                "jobTitle": job, "department": department, "accountEnabled": enabled, "officeLocation": null
            })
        })
        .collect();
    const FILTERS: &[(&str, &[&str], Kind)] = &[
        ("accountEnabled", &["eq", "ne"], Kind::Bool),
        ("mail", &["eq"], Kind::Text),
        ("displayName", &["eq"], Kind::Text),
        ("department", &["eq"], Kind::Text),
        ("userPrincipalName", &["eq"], Kind::Text),
    ];
    Collection { odata_type: "user", records, filters: FILTERS, default_top: 100, max_top: 999 }
}

fn drive_items() -> Collection {
    let parent = json!({ "driveId": "b!mockdrive", "driveType": "business", "id": "01BYE5RZ56Y2GOVW7725BZO354PWSELRRZ", "path": "/drive/root:" });
    // (name, file's MIME type and size, folder's child count)
    type Entry = (&'static str, Option<(&'static str, u64)>, u64);
    let entries: [Entry; 5] = [
        ("Documents", None, 3),
        ("Photos", None, 2),
        ("budget.xlsx", Some(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 24_576)), 0),
        ("notes.txt", Some(("text/plain", 1_200)), 0),
        ("report.pdf", Some(("application/pdf", 88_000)), 0),
    ];
    let records = entries
        .iter()
        .enumerate()
        .map(|(i, (name, file, children))| {
            let mut item = json!({
                "id": format!("01BYE5RZ{:026X}", (i + 1) * 104_729),
                "name": name,
                "size": file.map_or(0, |(_, size)| size) + children * 4096,
                "createdDateTime": format!("2024-01-{:02}T08:00:00Z", i + 2),
                "lastModifiedDateTime": format!("2024-02-{:02}T17:30:00Z", i + 10),
                "webUrl": format!("https://contoso-my.sharepoint.com/personal/me/Documents/{name}"),
                "parentReference": parent,
            });
            match file {
                Some((mime, _)) => item["file"] = json!({ "mimeType": mime }),
                None => item["folder"] = json!({ "childCount": children }),
            }
            item
        })
        .collect();
    Collection { odata_type: "driveItem", records, filters: &[], default_top: 200, max_top: 1000 }
}

fn messages() -> Collection {
    let senders = [
        ("Adele Vance", "adele@contoso.example"),
        ("Megan Bowen", "megan@contoso.example"),
        ("Microsoft", "no-reply@microsoft.example"),
    ];
    let records = (1..=MESSAGES)
        .rev()
        .map(|i| {
            let (name, address) = senders[i % 3];
            json!({
                "id": format!("AAMkAGI2TG93AAA{i:03}="),
                "subject": format!("Weekly update {i}"),
                "from": { "emailAddress": { "name": name, "address": address } },
                "receivedDateTime": format!("2024-03-{i:02}T09:00:00Z"),
                "isRead": i % 3 != 0,
                "hasAttachments": i % 4 == 0,
                "bodyPreview": format!("Preview of message {i}"),
                "conversationId": format!("AAQkAGI2-conv-{}", i.div_ceil(2)),
                "webLink": format!("https://outlook.office365.com/owa/?ItemID=AAMk{i}&exvsurl=1&viewmodel=ReadMessageItem"),
            })
        })
        .collect();
    const FILTERS: &[(&str, &[&str], Kind)] = &[
        ("isRead", &["eq", "ne"], Kind::Bool),
        ("hasAttachments", &["eq", "ne"], Kind::Bool),
        ("receivedDateTime", &["eq", "ne", "gt", "ge", "lt", "le"], Kind::Time),
    ];
    Collection { odata_type: "message", records, filters: FILTERS, default_top: 10, max_top: 1000 }
}

fn error(status: u16, code: &str, message: &str) -> Response {
    let inner = json!({ "date": "2024-03-15T12:00:00", "request-id": "00000000-0000-4000-8000-00000000beef", "client-request-id": "00000000-0000-4000-8000-00000000beef" });
    json(status, &json!({ "error": { "code": code, "message": message, "innerError": inner } }))
}

pub fn handle(state: &State, req: &Request, path: &str) -> Response {
    if !authorized(state, req) {
        let message = if bearer(req).is_none() { "Access token is empty." } else { "Access token validation failure." };
        return error(401, "InvalidAuthenticationToken", message);
    }
    let Some(rest) = path.strip_prefix("/v1.0/") else { return error(400, "BadRequest", "Invalid version.") };
    if req.method != "GET" {
        return error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.");
    }
    // Ids may arrive percent-encoded (`Label%5F3`).
    let decoded: Vec<String> = rest.split('/').map(percent_decode).collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let (collection, item, missing) = match segments.as_slice() {
        ["users"] => (users(), None, ""),
        ["users", id] => (users(), Some(*id), "Request_ResourceNotFound"),
        ["me", "drive", "root", "children"] => (drive_items(), None, ""),
        ["me", "drive", "items", id] => (drive_items(), Some(*id), "itemNotFound"),
        ["me", "messages"] => (messages(), None, ""),
        ["me", "messages", id] => (messages(), Some(*id), "ErrorItemNotFound"),
        _ => return error(400, "BadRequest", &format!("Resource not found for the segment '{}'.", segments[0])),
    };
    match item {
        Some(id) => match collection.records.iter().find(|r| r["id"] == id) {
            Some(record) => json(200, record),
            None => error(
                404,
                missing,
                &format!(
                    "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
                ),
            ),
        },
        None => list(state, req, &collection),
    }
}

fn list(state: &State, req: &Request, collection: &Collection) -> Response {
    let params = parse_query(&req.query);
    if let Some((name, _)) = params
        .iter()
        .find(|(k, _)| k.starts_with('$') && !["$select", "$top", "$filter", "$skiptoken"].contains(&k.as_str()))
    {
        return error(400, "BadRequest", &format!("Query option '{name}' is not allowed."));
    }
    let top = match param(&params, "$top").map(str::parse::<usize>) {
        None => collection.default_top,
        Some(Ok(n)) if (1..=collection.max_top).contains(&n) => n,
        Some(_) => {
            let given = param(&params, "$top").unwrap_or_default();
            let max = collection.max_top;
            return error(
                400,
                "Request_UnsupportedQuery",
                &format!("Invalid page size specified: '{given}'. Must be between 1 and {max} inclusive."),
            );
        }
    };
    let start = match param(&params, "$skiptoken") {
        None => 0,
        Some(t) => match untoken(collection.odata_type, t) {
            Some(start) => start,
            None => return error(400, "Request_BadRequest", "Invalid skip token."),
        },
    };
    let mut records = collection.records.clone();
    if let Some(filter) = param(&params, "$filter") {
        let clauses = match parse_filter(filter, collection) {
            Ok(clauses) => clauses,
            Err(resp) => return resp,
        };
        records.retain(|r| clauses.iter().all(|c| c.matches(r)));
    }
    let selected: Option<Vec<&str>> = param(&params, "$select").map(|s| s.split(',').map(str::trim).collect());
    if let Some(unknown) = selected.iter().flatten().find(|p| !collection.records.iter().any(|r| r.get(**p).is_some()))
    {
        let message =
            format!("Could not find a property named '{unknown}' on type 'microsoft.graph.{}'.", collection.odata_type);
        return error(400, "BadRequest", &message);
    }
    let total = records.len();
    let page: Vec<Value> = records
        .into_iter()
        .skip(start)
        .take(top)
        .map(|r| match &selected {
            Some(props) => Value::Object(
                props.iter().filter_map(|p| r.get(*p).map(|v| (p.to_string(), v.clone()))).collect::<Map<_, _>>(),
            ),
            None => r,
        })
        .collect();
    let end = start + page.len();
    let context = format!("https://graph.microsoft.com/v1.0/$metadata#{}s", collection.odata_type);
    let mut body = json!({ "@odata.context": context, "value": page });
    if end < total {
        // Graph's next link repeats the query with the page size and a skip token.
        let mut next: Vec<(String, String)> =
            params.iter().filter(|(k, _)| k != "$skiptoken" && k != "$top").cloned().collect();
        next.push(("$top".into(), top.to_string()));
        next.push(("$skiptoken".into(), token(collection.odata_type, end)));
        body["@odata.nextLink"] = json!(format!("{}{}?{}", state.base_url, req.path, query_string(&next)));
    }
    json(200, &body)
}

/// One `property op literal` clause of a `$filter`.
struct Clause {
    property: String,
    op: String,
    literal: Value,
    kind: Kind,
}

impl Clause {
    fn matches(&self, record: &Value) -> bool {
        let value = &record[&self.property];
        let ordering = match (self.kind, value, &self.literal) {
            (Kind::Bool, Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Kind::Text, Value::String(a), Value::String(b)) => a.to_lowercase().cmp(&b.to_lowercase()),
            (Kind::Time, Value::String(a), Value::String(b)) => comparable_time(a).cmp(&comparable_time(b)),
            _ => return false,
        };
        match self.op.as_str() {
            "eq" => ordering.is_eq(),
            "ne" => ordering.is_ne(),
            "gt" => ordering.is_gt(),
            "ge" => ordering.is_ge(),
            "lt" => ordering.is_lt(),
            _ => ordering.is_le(),
        }
    }
}

/// `clause and clause …`: what the definition sends. Literals are `true`/`false`, `'text'` (quotes
/// doubled inside) and bare ISO 8601 timestamps.
fn parse_filter(filter: &str, collection: &Collection) -> Result<Vec<Clause>, Response> {
    let invalid = || error(400, "BadRequest", &format!("Invalid filter clause: syntax error in '{filter}'."));
    let mut clauses = Vec::new();
    let mut rest = filter.trim();
    while !rest.is_empty() {
        let (property, after) = rest.split_once(' ').ok_or_else(invalid)?;
        let (op, after) = after.trim_start().split_once(' ').ok_or_else(invalid)?;
        let after = after.trim_start();
        let (literal, after) = if let Some(text) = after.strip_prefix('\'') {
            let (text, after) = quoted(text).ok_or_else(invalid)?;
            (Value::String(text), after)
        } else {
            let (word, after) = after.split_once(' ').unwrap_or((after, ""));
            let literal = match word {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                other => Value::String(other.to_string()),
            };
            (literal, after)
        };
        let Some((_, ops, kind)) = collection.filters.iter().find(|(p, _, _)| *p == property) else {
            return Err(unsupported(property, collection));
        };
        if !ops.contains(&op) {
            return Err(unsupported(property, collection));
        }
        clauses.push(Clause { property: property.to_string(), op: op.to_string(), literal, kind: *kind });
        rest = after.trim_start();
        if !rest.is_empty() {
            rest = rest.strip_prefix("and ").ok_or_else(invalid)?.trim_start();
        }
    }
    Ok(clauses)
}

/// A quoted literal's text (after the opening quote, `''` for a quote) and what follows its closing quote.
fn quoted(text: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' if text[i + 1..].starts_with('\'') => {
                value.push('\'');
                chars.next();
            }
            '\'' => return Some((value, &text[i + 1..])),
            c => value.push(c),
        }
    }
    None
}

fn unsupported(property: &str, collection: &Collection) -> Response {
    let message = format!(
        "Unsupported or invalid query filter clause specified for property '{property}' of resource '{}'.",
        collection.odata_type
    );
    error(400, "Request_UnsupportedQuery", &message)
}
