//! HubSpot CRM v3 (`/hubspot/crm/v3/objects/{contacts|companies|deals}[/{id}]`): list with `limit`,
//! `after` (from `paging.next.after`), `properties` and `archived`; read, create, update and archive one
//! object; HubSpot's error body (`status`, `message`, `correlationId`, `category`).

use serde_json::{json, Map, Value};

use super::{authorized, json, param, query_string};
use crate::handler::State;
use crate::http::{parse_query, percent_decode, Request, Response};

pub const CONTACTS: usize = 25;
const FIRST: [&str; 5] = ["Ada", "Brian", "Chen", "Dana", "Emil"];
const LAST: [&str; 5] = ["Lovelace", "Kernighan", "Wei", "Scully", "Nolde"];
const STAGES: [&str; 3] = ["subscriber", "lead", "customer"];

/// Each object type: its collection, its seed and the properties a list returns when none are asked for.
struct ObjectType {
    name: &'static str,
    collection: &'static str,
    seed: fn() -> Vec<Value>,
    defaults: &'static [&'static str],
}

const TYPES: [ObjectType; 3] = [
    ObjectType {
        name: "contacts",
        collection: "hubspot/contacts",
        seed: contacts,
        defaults: &["email", "firstname", "lastname"],
    },
    ObjectType { name: "companies", collection: "hubspot/companies", seed: companies, defaults: &["name", "domain"] },
    ObjectType {
        name: "deals",
        collection: "hubspot/deals",
        seed: deals,
        defaults: &["dealname", "amount", "dealstage", "pipeline", "closedate"],
    },
];

/// Properties every object returns whatever is asked for.
const ALWAYS: [&str; 3] = ["createdate", "hs_object_id", "lastmodifieddate"];

fn timestamp(hours: usize) -> String {
    format!("2024-02-{:02}T{:02}:00:00.000Z", 1 + hours / 24, hours % 24)
}

/// An object with its properties (all strings, as HubSpot returns them).
fn object(id: usize, created_hours: usize, properties: &[(&str, String)]) -> Value {
    let created = timestamp(created_hours);
    let updated = timestamp(created_hours + 5);
    let mut props: Map<String, Value> =
        properties.iter().map(|(k, v)| (k.to_string(), Value::String(v.clone()))).collect();
    props.insert("createdate".into(), json!(created));
    props.insert("lastmodifieddate".into(), json!(updated));
    props.insert("hs_object_id".into(), json!(id.to_string()));
    json!({ "id": id.to_string(), "properties": props, "createdAt": created, "updatedAt": updated, "archived": false })
}

fn contacts() -> Vec<Value> {
    (1..=CONTACTS)
        .map(|i| {
            let (first, last) = (FIRST[i % 5], LAST[(i / 5) % 5]);
            object(
                1000 + i,
                i,
                &[
                    ("email", format!("{}.{}{i}@example.com", first.to_lowercase(), last.to_lowercase())),
                    ("firstname", first.to_string()),
                    ("lastname", last.to_string()),
                    ("phone", format!("+1 555 01{i:02}")),
                    ("company", format!("Company {}", i % 6 + 1)),
                    ("lifecyclestage", STAGES[i % 3].to_string()),
                ],
            )
        })
        .collect()
}

fn companies() -> Vec<Value> {
    let industries = ["COMPUTER_SOFTWARE", "RETAIL", "FINANCIAL_SERVICES"];
    (1..=6)
        .map(|i| {
            object(
                2000 + i,
                i * 2,
                &[
                    ("name", format!("Company {i}")),
                    ("domain", format!("company{i}.example")),
                    ("industry", industries[i % 3].to_string()),
                    ("city", ["Berlin", "Boston", "Paris"][i % 3].to_string()),
                    ("country", ["Germany", "United States", "France"][i % 3].to_string()),
                    ("numberofemployees", (i * 50).to_string()),
                ],
            )
        })
        .collect()
}

fn deals() -> Vec<Value> {
    let stages = ["appointmentscheduled", "qualifiedtobuy", "closedwon", "closedlost"];
    (1..=8)
        .map(|i| {
            object(
                3000 + i,
                i * 3,
                &[
                    ("dealname", format!("Deal {i}")),
                    ("amount", format!("{}.50", i * 1250)),
                    ("dealstage", stages[i % 4].to_string()),
                    ("pipeline", "default".to_string()),
                    ("closedate", format!("2024-06-{:02}T00:00:00Z", i)),
                ],
            )
        })
        .collect()
}

fn error(status: u16, category: &str, message: &str) -> Response {
    json(
        status,
        &json!({ "status": "error", "message": message, "correlationId": "0b5f6b6c-0000-4000-8000-00000000c0de", "category": category }),
    )
}

fn not_found(id: &str) -> Response {
    error(404, "OBJECT_NOT_FOUND", &format!("Object not found.  objectId are usually numeric. (id: {id})"))
}

pub fn handle(state: &State, req: &Request, path: &str) -> Response {
    if !authorized(state, req) {
        let message = "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview";
        return error(401, "INVALID_AUTHENTICATION", message);
    }
    // Ids may arrive percent-encoded (`Label%5F3`).
    let decoded: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let (kind, id) = match segments.as_slice() {
        ["crm", "v3", "objects", kind] => (*kind, None),
        ["crm", "v3", "objects", kind, id] => (*kind, Some(*id)),
        _ => return error(404, "OBJECT_NOT_FOUND", &format!("Unable to infer object type from: {path}")),
    };
    let Some(object_type) = TYPES.iter().find(|t| t.name == kind) else {
        return error(400, "VALIDATION_ERROR", &format!("Unable to infer object type from: {kind}"));
    };
    let (store, collection) = (&state.providers, object_type.collection);
    let params = parse_query(&req.query);
    // `properties` may be repeated, each a comma-separated list.
    let requested = |params: &[(String, String)]| -> Vec<String> {
        let lists: Vec<&str> = params.iter().filter(|(k, _)| k == "properties").map(|(_, v)| v.as_str()).collect();
        if lists.is_empty() {
            return object_type.defaults.iter().map(|p| p.to_string()).collect();
        }
        lists.iter().flat_map(|l| l.split(',')).map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect()
    };
    match (req.method.as_str(), id) {
        ("GET", None) => {
            store.with(collection, object_type.seed, |all| list(state, req, all, &params, &requested(&params)))
        }
        ("GET", Some(id)) => store.with(collection, object_type.seed, |all| {
            match all.iter().find(|o| o["id"] == id && o["archived"] == false) {
                Some(found) => json(200, &shown(found, &requested(&params))),
                None => not_found(id),
            }
        }),
        ("POST", None) => {
            let properties = match properties(req) {
                Ok(p) => p,
                Err(resp) => return resp,
            };
            store.with(collection, object_type.seed, |all| {
                if let Some(email) = properties.get("email").and_then(Value::as_str) {
                    if let Some(existing) = all.iter().find(|o| o["properties"]["email"] == email && kind == "contacts")
                    {
                        return error(
                            409,
                            "CONFLICT",
                            &format!(
                                "Contact already exists. Existing ID: {}",
                                existing["id"].as_str().unwrap_or_default()
                            ),
                        );
                    }
                }
                let next = all.iter().filter_map(|o| o["id"].as_str()?.parse::<usize>().ok()).max().unwrap_or(0) + 1;
                let hours = 24 * 20 + all.len();
                let mut created = object(next, hours, &[]);
                merge(&mut created, properties);
                all.push(created.clone());
                json(201, &created)
            })
        }
        ("PATCH", Some(id)) => {
            let properties = match properties(req) {
                Ok(p) => p,
                Err(resp) => return resp,
            };
            store.with(collection, object_type.seed, |all| {
                let now = timestamp(24 * 25 + all.len());
                match all.iter_mut().find(|o| o["id"] == id && o["archived"] == false) {
                    Some(found) => {
                        merge(found, properties);
                        found["updatedAt"] = json!(now);
                        found["properties"]["lastmodifieddate"] = json!(now);
                        json(200, found)
                    }
                    None => not_found(id),
                }
            })
        }
        ("DELETE", Some(id)) => store.with(collection, object_type.seed, |all| {
            match all.iter_mut().find(|o| o["id"] == id && o["archived"] == false) {
                Some(found) => {
                    found["archived"] = json!(true);
                    Response::no_content()
                }
                None => not_found(id),
            }
        }),
        _ => error(405, "VALIDATION_ERROR", "Method not allowed"),
    }
}

/// An object with only the requested properties (and those always returned); unknown ones are ignored.
fn shown(object: &Value, requested: &[String]) -> Value {
    let mut shown = object.clone();
    let props = &object["properties"];
    shown["properties"] = Value::Object(
        requested
            .iter()
            .map(String::as_str)
            .chain(ALWAYS)
            .map(|p| (p.to_string(), props.get(p).cloned().unwrap_or(Value::Null)))
            .collect(),
    );
    shown
}

/// `limit` (default 10, at most 100), `after` (an object id, as `paging.next.after` gives it),
/// `properties`, `archived`.
fn list(state: &State, req: &Request, all: &[Value], params: &[(String, String)], requested: &[String]) -> Response {
    let limit = match param(params, "limit").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return error(400, "VALIDATION_ERROR", "limit must be an integer between 1 and 100"),
    };
    let archived = param(params, "archived") == Some("true");
    let selected: Vec<&Value> = all.iter().filter(|o| o["archived"] == archived).collect();
    let start = match param(params, "after") {
        None => 0,
        Some(after) => match after.parse::<usize>() {
            Ok(after) => selected
                .iter()
                .position(|o| o["id"].as_str().and_then(|i| i.parse::<usize>().ok()) >= Some(after))
                .unwrap_or(selected.len()),
            Err(_) => return error(400, "VALIDATION_ERROR", &format!("Invalid paging cursor: {after}")),
        },
    };
    let page: Vec<Value> = selected.iter().skip(start).take(limit).map(|o| shown(o, requested)).collect();
    let mut body = json!({ "results": page });
    if let Some(next) = selected.get(start + limit) {
        let after = next["id"].as_str().unwrap_or_default().to_string();
        let mut query: Vec<(String, String)> = params.iter().filter(|(k, _)| k != "after").cloned().collect();
        query.push(("after".into(), after.clone()));
        let link = format!("{}{}?{}", state.base_url, req.path, query_string(&query));
        body["paging"] = json!({ "next": { "after": after, "link": link } });
    }
    json(200, &body)
}

/// The `properties` of a create or update body (null values dropped), or HubSpot's 400.
fn properties(req: &Request) -> Result<Map<String, Value>, Response> {
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| error(400, "VALIDATION_ERROR", &format!("Invalid input JSON: {e}")))?;
    match body.get("properties") {
        Some(Value::Object(props)) => {
            Ok(props.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect())
        }
        _ => Err(error(
            400,
            "VALIDATION_ERROR",
            "Invalid input JSON: \"properties\" must be an object of property values",
        )),
    }
}

/// Set properties (HubSpot keeps every value as a string).
fn merge(object: &mut Value, properties: Map<String, Value>) {
    for (name, value) in properties {
        let text = match value {
            Value::String(s) => s,
            other => other.to_string(),
        };
        object["properties"][name] = Value::String(text);
    }
}
