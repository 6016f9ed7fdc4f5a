//! Close CRM (`/close/api/v1/{lead|contact|opportunity|activity|user}/[{id}/]`): lists page with `_skip`
//! and `_limit` (default and at most 100) and say `has_more`; `_fields` picks members; each list takes its
//! filters (`lead_id`, `user_id`, `status_type`, `date_created__gt`, …; activities' `user_id` and `_type`
//! only with a `lead_id`), opportunities and activities sort by `_order_by` (`-date_created`); leads take
//! a `query` in the subset of Close's search language described at [`lead_query`]; one object is read,
//! created (POST), updated (PUT, a patch) and
//! deleted. Unknown parameters are refused. Authentication: HTTP Basic with the API key `test-token` as
//! the user and an empty password. Errors: `{"error": "…", "field-errors": {…}}`.
//!
//! Custom fields: `GET /api/v1/custom_field/{lead|contact|opportunity|activity}/[?_skip=&_limit=]` lists each object's (see
//! [`custom_fields`]: `{"has_more": false, "data": [{"id": "cf_…", "name", "type", "accepts_multiple_values"}]}`),
//! and records carry their values as `custom.cf_…` members (left out when unset, as Close does).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::{comparable_time, json, param, TEST_TOKEN};
use crate::handler::State;
use crate::http::{parse_query, percent_decode, Request, Response};

pub const LEADS: usize = 7;

/// One kind of Close object.
struct Kind {
    path: &'static str,
    prefix: &'static str,
    seed: fn() -> Vec<Value>,
    /// Equality filters.
    filters: &'static [&'static str],
    /// Date fields taking `__gt`, `__gte`, `__lt`, `__lte`.
    ranges: &'static [&'static str],
    /// Fields `_order_by` takes (`-field` descending).
    sorts: &'static [&'static str],
    writable: bool,
}

const KINDS: [Kind; 5] = [
    Kind { path: "lead", prefix: "lead", seed: leads, filters: &["query"], ranges: &[], sorts: &[], writable: true },
    Kind {
        path: "contact",
        prefix: "cont",
        seed: contacts,
        filters: &["lead_id"],
        ranges: &[],
        sorts: &[],
        writable: true,
    },
    Kind {
        path: "opportunity",
        prefix: "oppo",
        seed: opportunities,
        filters: &["lead_id", "user_id", "status_id", "status_type"],
        ranges: &["date_created", "date_updated", "date_won"],
        sorts: &["date_won", "date_updated", "date_created", "confidence", "value"],
        writable: true,
    },
    Kind {
        path: "activity",
        prefix: "acti",
        seed: activities,
        filters: &["lead_id", "user_id", "_type"],
        ranges: &["date_created"],
        sorts: &["date_created"],
        writable: false,
    },
    Kind { path: "user", prefix: "user", seed: users, filters: &[], ranges: &[], sorts: &[], writable: false },
];

fn object_id(prefix: &str, i: usize) -> String {
    format!("{prefix}_{i:04}")
}

/// Close's timestamps: microseconds and an explicit offset.
fn date(day: usize, hour: usize) -> String {
    format!("2024-01-{:02}T{:02}:00:00.000000+00:00", day, hour)
}

/// The custom fields of an object type: (id, name, type, accepts multiple values).
const CUSTOM_FIELDS: [(&str, &str, &str, &str, bool); 7] = [
    ("lead", "cf_LeadSrc01", "Lead Source", "choices", false),
    ("lead", "cf_Employees02", "Employees", "number", false),
    ("lead", "cf_Renewal03", "Renewal Date", "date", false),
    ("lead", "cf_LastTouch04", "Last Touch", "datetime", false),
    ("lead", "cf_Tags05", "Tags", "text", true),
    ("lead", "cf_Status06", "Status Label", "text", false),
    ("opportunity", "cf_WinProb07", "Win Probability %", "number", false),
];

/// `GET /api/v1/custom_field/{object}/?_skip=&_limit=`.
pub fn custom_fields(object: &str, skip: usize, limit: usize) -> Value {
    let all: Vec<_> = CUSTOM_FIELDS.iter().filter(|f| f.0 == object).collect();
    let has_more = skip + limit < all.len();
    let data: Vec<Value> = all
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(|(_, id, name, kind, multiple)| {
            json!({"id": id, "name": name, "type": kind, "accepts_multiple_values": multiple, "description": null,
                   "organization_id": "orga_mock", "date_created": date(1, 0), "date_updated": date(1, 0)})
        })
        .collect();
    json!({ "has_more": has_more, "data": data })
}

fn users() -> Vec<Value> {
    [("Ada", "Lovelace"), ("Brian", "Kernighan"), ("Chen", "Wei")]
        .iter()
        .enumerate()
        .map(|(i, (first, last))| {
            json!({"id": object_id("user", i + 1), "first_name": first, "last_name": last, "email": format!("{}@example.com", first.to_lowercase()),
                   "date_created": date(1, i), "date_updated": date(1, i + 1)})
        })
        .collect()
}

fn leads() -> Vec<Value> {
    let statuses = [("stat_potential", "Potential"), ("stat_qualified", "Qualified"), ("stat_customer", "Customer")];
    (1..=LEADS)
        .map(|i| {
            let (status_id, status_label) = statuses[i % 3];
            let mut lead = json!({"id": object_id("lead", i), "display_name": format!("Acme {i}"), "name": format!("Acme {i}"), "status_id": status_id,
                   "status_label": status_label, "description": format!("Lead number {i}"), "url": format!("https://acme{i}.example"),
                   "organization_id": "orga_mock", "created_by": object_id("user", i % 3 + 1), "date_created": date(i, 9), "date_updated": date(i + 1, 9)});
            // Custom fields: some on every lead, others on odd ones only (unset ones are left out).
            let lead = lead.as_object_mut().expect("an object");
            lead.insert("custom.cf_LeadSrc01".into(), json!(if i % 2 == 0 { "Referral" } else { "Web" }));
            lead.insert("custom.cf_Employees02".into(), json!(i * 10));
            if i % 2 == 1 {
                lead.insert("custom.cf_Renewal03".into(), json!(format!("2025-0{}-15", i.div_ceil(2))));
                lead.insert("custom.cf_LastTouch04".into(), json!(date(i + 2, 7)));
                lead.insert("custom.cf_Tags05".into(), json!(["vip", format!("t{i}")]));
            }
            lead.insert("custom.cf_Status06".into(), json!(format!("custom status {i}")));
            Value::Object(std::mem::take(lead))
        })
        .collect()
}

fn contacts() -> Vec<Value> {
    (1..=9)
        .map(|i| {
            json!({"id": object_id("cont", i), "lead_id": object_id("lead", (i - 1) % 4 + 1), "name": format!("Contact {i}"), "title": if i % 2 == 0 { json!("CTO") } else { Value::Null },
                   "emails": [{"type": "office", "email": format!("contact{i}@example.com")}], "phones": [],
                   "organization_id": "orga_mock", "date_created": date(i, 10), "date_updated": date(i, 12)})
        })
        .collect()
}

fn opportunities() -> Vec<Value> {
    let statuses = [("stat_active", "Active", "active"), ("stat_won", "Won", "won"), ("stat_lost", "Lost", "lost")];
    (1..=8)
        .map(|i| {
            let (status_id, label, kind) = statuses[i % 3];
            json!({"id": object_id("oppo", i), "lead_id": object_id("lead", (i - 1) % 5 + 1), "user_id": object_id("user", i % 3 + 1), "status_id": status_id,
                   "status_label": label, "status_type": kind, "value": i * 50_000, "value_currency": "USD", "value_period": "one_time",
                   "confidence": i * 10, "note": format!("Deal {i}"), "date_won": if kind == "won" { json!(date(i + 10, 15)) } else { Value::Null },
                   "organization_id": "orga_mock", "date_created": date(i, 11), "date_updated": date(i + 2, 8), "custom.cf_WinProb07": i as f64 * 12.5})
        })
        .collect()
}

fn activities() -> Vec<Value> {
    let types = ["Note", "Call", "Email"];
    (1..=10)
        .map(|i| {
            json!({"id": object_id("acti", i), "_type": types[i % 3], "lead_id": object_id("lead", (i - 1) % 3 + 1), "user_id": object_id("user", i % 3 + 1),
                   "note": format!("Activity {i}"), "organization_id": "orga_mock", "date_created": date(i + 3, 14), "date_updated": date(i + 3, 16)})
        })
        .collect()
}

fn error(status: u16, message: &str) -> Response {
    json(status, &json!({ "error": message, "field-errors": {} }))
}

fn authorized(req: &Request) -> bool {
    req.header("authorization")
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, v)| STANDARD.decode(v.trim()).ok())
        .is_some_and(|creds| creds == format!("{TEST_TOKEN}:").as_bytes())
}

pub fn handle(state: &State, req: &Request, path: &str) -> Response {
    if !authorized(req) {
        return error(
            401,
            "The API key is not valid or is missing. Use it as the username of HTTP Basic authentication.",
        );
    }
    let decoded: Vec<String> =
        path.trim_start_matches('/').trim_end_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let (name, id) = match segments.as_slice() {
        ["api", "v1", name] => (*name, None),
        ["api", "v1", name, id] => (*name, Some(*id)),
        _ => return error(404, &format!("Not found: {path}")),
    };
    if name == "custom_field" {
        return match (req.method.as_str(), id) {
            ("GET", Some(object @ ("lead" | "contact" | "opportunity" | "activity"))) => {
                let params = parse_query(&req.query);
                let number = |name: &str, default: usize| {
                    param(&params, name).map_or(Some(default), |v| v.parse::<usize>().ok())
                };
                match (number("_skip", 0), number("_limit", 100)) {
                    (Some(skip), Some(limit)) if (1..=100).contains(&limit) => {
                        json(200, &custom_fields(object, skip, limit))
                    }
                    _ => error(400, "_skip and _limit must be integers, _limit between 1 and 100"),
                }
            }
            ("GET", _) => error(404, &format!("Not found: {path}")),
            _ => error(405, &format!("Method \"{}\" not allowed.", req.method)),
        };
    }
    let Some(kind) = KINDS.iter().find(|k| k.path == name) else { return error(404, &format!("Not found: {path}")) };
    let collection: &'static str = match kind.path {
        "lead" => "close/lead",
        "contact" => "close/contact",
        "opportunity" => "close/opportunity",
        "activity" => "close/activity",
        _ => "close/user",
    };
    let store = &state.providers;
    let params = parse_query(&req.query);
    let not_found = |id: &str| error(404, &format!("Empty query: {} matching query does not exist. ({id})", kind.path));
    match (req.method.as_str(), id) {
        ("GET", None) => store.with(collection, kind.seed, |all| list(kind, all, &params)),
        ("GET", Some(id)) => store.with(collection, kind.seed, |all| match all.iter().find(|o| o["id"] == id) {
            Some(found) => json(200, &fields(found, param(&params, "_fields"))),
            None => not_found(id),
        }),
        ("POST", None) if kind.writable => {
            let body = match object_body(req) {
                Ok(b) => b,
                Err(resp) => return resp,
            };
            if kind.path == "lead" && body.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
                return json(400, &json!({"errors": [], "field-errors": {"name": "This field is required."}}));
            }
            store.with(collection, kind.seed, |all| {
                let next = 1 + all.iter().filter_map(|o| o["id"].as_str()?.rsplit('_').next()?.parse::<usize>().ok()).max().unwrap_or(0);
                let mut created = json!({"id": object_id(kind.prefix, next), "organization_id": "orga_mock", "date_created": date(28, 9), "date_updated": date(28, 9)});
                for (k, v) in body {
                    created[k] = v;
                }
                if kind.path == "lead" {
                    created["display_name"] = created["name"].clone();
                }
                all.push(created.clone());
                json(200, &created)
            })
        }
        ("PUT", Some(id)) if kind.writable => {
            let body = match object_body(req) {
                Ok(b) => b,
                Err(resp) => return resp,
            };
            store.with(collection, kind.seed, |all| match all.iter_mut().find(|o| o["id"] == id) {
                Some(found) => {
                    for (k, v) in body {
                        if k != "id" {
                            found[k] = v;
                        }
                    }
                    found["date_updated"] = json!(date(29, 9));
                    json(200, found)
                }
                None => not_found(id),
            })
        }
        ("DELETE", Some(id)) if kind.writable => {
            store.with(collection, kind.seed, |all| match all.iter().position(|o| o["id"] == id) {
                Some(at) => {
                    all.remove(at);
                    json(200, &json!({}))
                }
                None => not_found(id),
            })
        }
        _ => error(405, &format!("Method \"{}\" not allowed.", req.method)),
    }
}

fn object_body(req: &Request) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(members)) => Ok(members),
        _ => Err(error(400, "Invalid JSON: the body must be a JSON object.")),
    }
}

/// Only the members `_fields` names (all without it).
fn fields(object: &Value, wanted: Option<&str>) -> Value {
    match wanted {
        None => object.clone(),
        Some(list) => Value::Object(
            list.split(',').map(str::trim).filter_map(|f| Some((f.to_string(), object.get(f)?.clone()))).collect(),
        ),
    }
}

fn list(kind: &Kind, all: &[Value], params: &[(String, String)]) -> Response {
    let number = |name: &str, default: usize| {
        param(params, name).map_or(Ok(default), |v| {
            v.parse::<usize>().map_err(|_| error(400, &format!("{name} must be a non-negative integer")))
        })
    };
    let (skip, limit) = match (number("_skip", 0), number("_limit", 100)) {
        (Ok(s), Ok(l)) if (1..=100).contains(&l) => (s, l),
        (Ok(_), Ok(l)) => return error(400, &format!("_limit must be between 1 and 100, not {l}")),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let mut selected: Vec<&Value> = all.iter().collect();
    for (name, value) in params {
        if ["_skip", "_limit", "_fields"].contains(&name.as_str()) {
            continue;
        }
        if let Some((field, op)) = name.rsplit_once("__").filter(|(f, _)| kind.ranges.contains(f)) {
            let at = comparable_time(&normalize(value));
            let keep: fn(&str, &str) -> bool = match op {
                "gt" => |t, at| t > at,
                "gte" => |t, at| t >= at,
                "lt" => |t, at| t < at,
                "lte" => |t, at| t <= at,
                _ => return error(400, &format!("Unknown filter: {name}")),
            };
            selected.retain(|o| o[field].as_str().is_some_and(|t| keep(&comparable_time(&normalize(t)), &at)));
            continue;
        }
        if name == "_order_by" {
            let field = value.strip_prefix('-').unwrap_or(value);
            if !kind.sorts.contains(&field) {
                return error(400, &format!("Cannot order by {field}"));
            }
            sort(&mut selected, value);
            continue;
        }
        if !kind.filters.contains(&name.as_str()) {
            return error(400, &format!("Unknown filter: {name}"));
        }
        // Close: some activity filters apply to one lead's activities only.
        if kind.path == "activity"
            && ["user_id", "_type"].contains(&name.as_str())
            && param(params, "lead_id").is_none()
        {
            return error(
                400,
                &format!("{name} can only be used when listing the activities of a single lead (lead_id)"),
            );
        }
        match name.as_str() {
            "query" => {
                if let Err(why) = lead_query(&mut selected, value) {
                    return error(400, &why);
                }
            }
            field => selected.retain(|o| o[field].as_str() == Some(value.as_str())),
        }
    }
    let page: Vec<Value> =
        selected.iter().skip(skip).take(limit).map(|o| fields(o, param(params, "_fields"))).collect();
    let mut body = json!({ "has_more": skip + page.len() < selected.len(), "data": page });
    if kind.path == "opportunity" {
        body["total_results"] = json!(selected.len());
    }
    json(200, &body)
}

/// Order by `field`, or `-field` descending (numbers, then times).
fn sort(selected: &mut [&Value], order: &str) {
    let (desc, field) = match order.strip_prefix('-') {
        Some(f) => (true, f),
        None => (false, order),
    };
    let key = |o: &&Value| match &o[field] {
        Value::Number(n) => format!("{:020}", n.as_u64().unwrap_or(0)),
        Value::String(s) => comparable_time(&normalize(s)),
        _ => String::new(),
    };
    selected.sort_by_key(key);
    if desc {
        selected.reverse();
    }
}

/// The lead search `query`: terms separated by spaces (a value may be quoted), all of which a lead must
/// match — `name:"Acme 1"` (the name contains it, ignoring case), `status:"Potential"` (the status label,
/// ignoring case), `date_created>="2024-01-04T00:00"` and `date_updated` with `>`, `>=`, `<`, `<=` (to the
/// minute, as Close compares them), `sort:date_created` / `sort:-date_updated`, and bare words (the display
/// name contains them). Other keywords, and a quote inside a value, are refused.
fn lead_query(selected: &mut Vec<&Value>, query: &str) -> Result<(), String> {
    let mut terms: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in query.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                terms.extend((!current.is_empty()).then(|| std::mem::take(&mut current)))
            }
            c => current.push(c),
        }
    }
    terms.extend((!current.is_empty()).then_some(current));
    if quoted {
        return Err(format!("Unbalanced quotes in query: {query}"));
    }
    let unquote = |value: &str| -> Result<String, String> {
        let inner = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        if inner.contains('"') {
            return Err(format!("Cannot parse the value {value}"));
        }
        Ok(inner.to_string())
    };
    let mut order = None;
    for term in &terms {
        let comparison = ["date_created", "date_updated"].iter().find_map(|field| {
            let rest = term.strip_prefix(field)?;
            let op = [">=", "<=", ">", "<"].into_iter().find(|op| rest.starts_with(op))?;
            Some((*field, op, &rest[op.len()..]))
        });
        if let Some((field, op, value)) = comparison {
            let bound = unquote(value)?;
            if bound.len() != 16 {
                return Err(format!("Cannot parse the date {value}: write YYYY-MM-DDTHH:MM"));
            }
            let minute = |o: &Value| o[field].as_str().and_then(|t| normalize(t).get(..16).map(str::to_string));
            selected.retain(|o| {
                minute(o).is_some_and(|m| match op {
                    ">=" => m >= bound,
                    "<=" => m <= bound,
                    ">" => m > bound,
                    _ => m < bound,
                })
            });
            continue;
        }
        match term.split_once(':') {
            Some(("sort", field)) => {
                if !["date_created", "date_updated"].contains(&field.trim_start_matches('-')) {
                    return Err(format!("Cannot sort by {field}"));
                }
                order = Some(field.to_string());
            }
            Some(("name", value)) => {
                let wanted = unquote(value)?.to_lowercase();
                selected.retain(|o| o["name"].as_str().is_some_and(|n| n.to_lowercase().contains(&wanted)));
            }
            Some(("status", value)) => {
                let wanted = unquote(value)?.to_lowercase();
                selected.retain(|o| o["status_label"].as_str().is_some_and(|l| l.to_lowercase() == wanted));
            }
            Some((keyword, _)) => return Err(format!("The mock does not know the search keyword {keyword}")),
            None => {
                let word = unquote(term)?.to_lowercase();
                selected.retain(|o| o["display_name"].as_str().is_some_and(|n| n.to_lowercase().contains(&word)));
            }
        }
    }
    if let Some(order) = order {
        sort(selected, &order);
    }
    Ok(())
}

/// A UTC timestamp with `Z` (Close writes `+00:00`; clients send either, or a date alone).
fn normalize(text: &str) -> String {
    let text = text.trim();
    if text.len() == 10 {
        return format!("{text}T00:00:00Z");
    }
    match text.strip_suffix("+00:00") {
        Some(utc) => format!("{utc}Z"),
        None => text.to_string(),
    }
}
