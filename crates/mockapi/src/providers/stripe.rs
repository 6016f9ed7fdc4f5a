//! Stripe (`/stripe/v1/{object}[/{id}]`): list objects newest first with `limit` (1–100, default 10),
//! `starting_after`/`ending_before` (object ids), `created[gt|gte|lt|lte]` (Unix seconds) and each list's
//! documented equality filters; retrieve one object; create and update with form-encoded bodies
//! (`metadata[k]=v`), delete, all replayed for a repeated `Idempotency-Key`. Unknown parameters are
//! refused as Stripe refuses them. Authentication: `Bearer test-token` or `Bearer sk_test_mock` (a key of
//! Stripe's form, [`KEY`]), or Basic with either as the user and an empty password. Errors are Stripe's `{"error": {"type", "message", "param", "code"}}`.
//! `expand[]=data.<member>` (lists and searches) or `expand[]=<member>` (one object) replaces the member's id
//! by its object: `customer` of charges, invoices, subscriptions and payment intents, `payment_intent` and
//! `invoice` of charges, `subscription` of invoices, `latest_invoice` of subscriptions, `product` of prices;
//! other expansions are refused.
//! `GET /v1/{object}/search?query=…` (customers, charges, invoices, payment intents, prices, products,
//! subscriptions) takes Stripe's query language: clauses `field:'text'`, `field:123`, `field>123` (`>=`, `<`,
//! `<=`), `-field:…` (negation), `metadata['key']:'value'`, joined by ` AND `; `:` on text ignores case, as
//! Stripe's does. Pages of `limit` follow `page=<next_page>`; an unsearchable field is refused.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::{authorized, json, param, TEST_TOKEN};
use crate::handler::State;
use crate::http::{parse_query, percent_decode, Request, Response};

/// A secret key of Stripe's form (`sk_test_…`) the mock accepts, besides `test-token`.
pub const KEY: &str = "sk_test_mock";

/// 2024-01-01T00:00:00Z: the first object's `created`; each next one a day later.
pub const EPOCH: i64 = 1_704_067_200;
const DAY: i64 = 86_400;

/// One kind of Stripe object: its path, the collection the mock keeps it in, its seed, the equality
/// filters its list takes, and whether it can be written (and deleted).
struct Kind {
    path: &'static str,
    object: &'static str,
    collection: &'static str,
    seed: fn() -> Vec<Value>,
    filters: &'static [&'static str],
    /// Members `expand[]` replaces by their objects.
    expandable: &'static [&'static str],
    writable: bool,
    deletable: bool,
}

const KINDS: [Kind; 10] = [
    Kind {
        path: "customers",
        object: "customer",
        collection: "stripe/customers",
        seed: customers,
        filters: &["email"],
        expandable: &[],
        writable: true,
        deletable: true,
    },
    Kind {
        path: "subscriptions",
        object: "subscription",
        collection: "stripe/subscriptions",
        seed: subscriptions,
        filters: &["customer", "status", "price"],
        expandable: &["customer", "latest_invoice"],
        writable: true,
        deletable: true,
    },
    Kind {
        path: "charges",
        object: "charge",
        collection: "stripe/charges",
        seed: charges,
        filters: &["customer", "payment_intent"],
        expandable: &["customer", "invoice", "payment_intent"],
        writable: true,
        deletable: false,
    },
    Kind {
        path: "invoices",
        object: "invoice",
        collection: "stripe/invoices",
        seed: invoices,
        filters: &["customer", "status", "subscription"],
        expandable: &["customer", "subscription"],
        writable: true,
        deletable: true,
    },
    Kind {
        path: "products",
        object: "product",
        collection: "stripe/products",
        seed: products,
        filters: &["active"],
        expandable: &[],
        writable: true,
        deletable: true,
    },
    Kind {
        path: "plans",
        object: "plan",
        collection: "stripe/plans",
        seed: plans,
        filters: &["active", "product"],
        expandable: &[],
        writable: true,
        deletable: true,
    },
    Kind {
        path: "prices",
        object: "price",
        collection: "stripe/prices",
        seed: prices,
        filters: &["active", "product", "currency", "type"],
        expandable: &["product"],
        writable: true,
        deletable: false,
    },
    Kind {
        path: "payment_intents",
        object: "payment_intent",
        collection: "stripe/payment_intents",
        seed: payment_intents,
        filters: &["customer"],
        expandable: &["customer"],
        writable: true,
        deletable: false,
    },
    Kind {
        path: "balance_transactions",
        object: "balance_transaction",
        collection: "stripe/balance_transactions",
        seed: balance_transactions,
        filters: &["type", "source", "currency"],
        expandable: &[],
        writable: false,
        deletable: false,
    },
    Kind {
        path: "events",
        object: "event",
        collection: "stripe/events",
        seed: events,
        filters: &["type"],
        expandable: &[],
        writable: false,
        deletable: false,
    },
];

pub const CUSTOMERS: usize = 12;

fn object_id(prefix: &str, i: usize) -> String {
    format!("{prefix}_{i:04}")
}

fn created(i: usize) -> i64 {
    EPOCH + i as i64 * DAY
}

/// Objects newest first, as Stripe lists them.
fn newest_first(mut objects: Vec<Value>) -> Vec<Value> {
    objects.sort_by_key(|o| std::cmp::Reverse(o["created"].as_i64()));
    objects
}

fn customers() -> Vec<Value> {
    let names = ["Ada Lovelace", "Brian Kernighan", "Chen Wei", "Dana Scully", "Emil Nolde", "Frida Kahlo"];
    newest_first(
        (1..=CUSTOMERS)
            .map(|i| {
                json!({
                    "id": object_id("cus", i), "object": "customer", "name": names[i % names.len()],
                    "email": format!("customer{i}@example.com"), "description": null,
                    "currency": if i % 3 == 0 { "eur" } else { "usd" }, "balance": (i as i64 - 6) * 100,
                    "delinquent": i % 5 == 0, "created": created(i), "livemode": false,
                    "metadata": if i % 2 == 0 { json!({"tier": "gold"}) } else { json!({}) }
                })
            })
            .collect(),
    )
}

fn products() -> Vec<Value> {
    newest_first(
        (1..=5)
            .map(|i| {
                json!({"id": object_id("prod", i), "object": "product", "name": format!("Product {i}"), "active": i % 4 != 0,
                       "description": format!("The {i}th product"), "default_price": object_id("price", i), "created": created(i),
                       "updated": created(i) + 3600, "livemode": false, "metadata": {}})
            })
            .collect(),
    )
}

fn prices() -> Vec<Value> {
    newest_first(
        (1..=8)
            .map(|i| {
                let recurring = if i % 2 == 0 { json!({"interval": "month", "interval_count": 1}) } else { Value::Null };
                json!({"id": object_id("price", i), "object": "price", "product": object_id("prod", (i - 1) % 5 + 1), "unit_amount": i * 500,
                       "currency": if i % 4 == 0 { "eur" } else { "usd" }, "active": i != 7,
                       "type": if i % 2 == 0 { "recurring" } else { "one_time" }, "recurring": recurring,
                       "nickname": null, "created": created(i), "livemode": false, "metadata": {}})
            })
            .collect(),
    )
}

fn plans() -> Vec<Value> {
    newest_first(
        (1..=3)
            .map(|i| {
                json!({"id": object_id("plan", i), "object": "plan", "product": object_id("prod", i), "amount": i * 1000, "currency": "usd",
                       "interval": if i == 3 { "year" } else { "month" }, "interval_count": 1, "active": true,
                       "nickname": format!("Plan {i}"), "created": created(i), "livemode": false, "metadata": {}})
            })
            .collect(),
    )
}

fn subscriptions() -> Vec<Value> {
    let statuses = ["active", "trialing", "canceled", "past_due", "active", "canceled"];
    newest_first(
        (1..=6)
            .map(|i| {
                json!({"id": object_id("sub", i), "object": "subscription", "customer": object_id("cus", i), "status": statuses[i - 1],
                       "currency": "usd", "cancel_at_period_end": false, "start_date": created(i), "created": created(i),
                       "current_period_start": created(i + 30), "current_period_end": created(i + 60),
                       "items": {"object": "list", "data": [{"id": object_id("si", i), "price": {"id": object_id("price", 2)}}], "has_more": false},
                       // The newest of its invoices (invoice k belongs to subscription (k - 1) % 3 + 1).
                       "latest_invoice": match i { 1 => json!("in_0007"), 2 => json!("in_0005"), 3 => json!("in_0006"), _ => Value::Null },
                       "livemode": false, "metadata": {}})
            })
            .collect(),
    )
}

fn charges() -> Vec<Value> {
    newest_first(
        (1..=10)
            .map(|i| {
                json!({"id": object_id("ch", i), "object": "charge", "amount": i * 1000, "amount_refunded": 0, "currency": "usd",
                       "customer": object_id("cus", (i - 1) % 4 + 1), "payment_intent": object_id("pi", (i - 1) % 6 + 1),
                       "invoice": if i <= 7 { json!(object_id("in", i)) } else { Value::Null },
                       "status": if i % 5 == 0 { "failed" } else { "succeeded" }, "paid": i % 5 != 0,
                       "description": format!("Charge {i}"), "created": created(i), "livemode": false, "metadata": {}})
            })
            .collect(),
    )
}

fn invoices() -> Vec<Value> {
    let statuses = ["paid", "open", "draft", "void", "paid", "uncollectible", "paid"];
    newest_first(
        (1..=7)
            .map(|i| {
                let status = statuses[i - 1];
                json!({"id": object_id("in", i), "object": "invoice", "customer": object_id("cus", (i - 1) % 3 + 1),
                       "subscription": object_id("sub", (i - 1) % 3 + 1), "status": status, "amount_due": i * 2000,
                       "amount_paid": if status == "paid" { i * 2000 } else { 0 }, "total": i * 2000, "currency": "usd",
                       "number": format!("INV-{i:04}"), "created": created(i), "livemode": false, "metadata": {}})
            })
            .collect(),
    )
}

fn payment_intents() -> Vec<Value> {
    let statuses = ["succeeded", "requires_payment_method", "succeeded", "canceled", "processing", "succeeded"];
    newest_first(
        (1..=6)
            .map(|i| {
                json!({"id": object_id("pi", i), "object": "payment_intent", "amount": i * 1500, "currency": "usd",
                       "customer": object_id("cus", (i - 1) % 4 + 1), "status": statuses[i - 1], "description": null,
                       "created": created(i), "livemode": false, "metadata": {}})
            })
            .collect(),
    )
}

fn balance_transactions() -> Vec<Value> {
    newest_first(
        (1..=8)
            .map(|i| {
                let payout = i % 4 == 0;
                let amount = if payout { -(i as i64) * 1000 } else { i as i64 * 1000 };
                let fee = if payout { 0 } else { 29 + i as i64 * 30 };
                json!({"id": object_id("txn", i), "object": "balance_transaction", "amount": amount, "fee": fee, "net": amount - fee,
                       "currency": "usd", "type": if payout { "payout" } else { "charge" }, "status": "available",
                       "source": if payout { object_id("po", i) } else { object_id("ch", i) }, "created": created(i),
                       "available_on": created(i + 2), "description": null})
            })
            .collect(),
    )
}

fn events() -> Vec<Value> {
    let types = ["customer.created", "charge.succeeded", "invoice.paid", "customer.updated", "charge.failed"];
    newest_first(
        (1..=9)
            .map(|i| {
                let kind = types[(i - 1) % types.len()];
                json!({"id": object_id("evt", i), "object": "event", "type": kind, "api_version": "2024-06-20",
                       "data": {"object": {"id": format!("{}_{i:04}", if kind.starts_with("customer") { "cus" } else if kind.starts_with("charge") { "ch" } else { "in" })}},
                       "pending_webhooks": 0, "created": created(i), "livemode": false})
            })
            .collect(),
    )
}

fn error(status: u16, kind: &str, message: &str, param: Option<&str>, code: Option<&str>) -> Response {
    let mut error = json!({ "type": kind, "message": message });
    if let Some(param) = param {
        error["param"] = json!(param);
    }
    if let Some(code) = code {
        error["code"] = json!(code);
    }
    json(status, &json!({ "error": error }))
}

fn invalid(message: &str, param: Option<&str>) -> Response {
    error(400, "invalid_request_error", message, param, None)
}

fn missing(kind: &Kind, id: &str) -> Response {
    error(
        404,
        "invalid_request_error",
        &format!("No such {}: '{id}'", kind.object),
        Some("id"),
        Some("resource_missing"),
    )
}

fn unrecognized(req: &Request) -> Response {
    error(404, "invalid_request_error", &format!("Unrecognized request URL ({} {}).", req.method, req.path), None, None)
}

/// Bearer `test-token` or [`KEY`], or Basic with either as the user (Stripe's secret key, empty password).
fn stripe_authorized(state: &State, req: &Request) -> bool {
    let basic = req
        .header("authorization")
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, v)| STANDARD.decode(v.trim()).ok())
        .is_some_and(|creds| creds == format!("{TEST_TOKEN}:").as_bytes() || creds == format!("{KEY}:").as_bytes());
    basic || super::bearer(req) == Some(KEY) || authorized(state, req)
}

pub fn handle(state: &State, req: &Request, path: &str) -> Response {
    if !stripe_authorized(state, req) {
        return error(401, "invalid_request_error", "Invalid API Key provided: ********", None, None);
    }
    let decoded: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    if let ["v1", name, "search"] = segments.as_slice() {
        let Some(kind) = KINDS.iter().find(|k| k.path == *name) else { return unrecognized(req) };
        if req.method != "GET" {
            return unrecognized(req);
        }
        let params = parse_query(&req.query);
        let members = match expansions(kind, &params, true) {
            Ok(members) => members,
            Err(refused) => return refused,
        };
        let response = state.providers.with(kind.collection, kind.seed, |all| search(kind, all, &params));
        return expand(state, response, &members, true);
    }
    let (name, id) = match segments.as_slice() {
        ["v1", name] => (*name, None),
        ["v1", name, id] => (*name, Some(*id)),
        _ => return unrecognized(req),
    };
    let Some(kind) = KINDS.iter().find(|k| k.path == name) else { return unrecognized(req) };
    let store = &state.providers;
    let params = parse_query(&req.query);
    if params.iter().any(|(k, _)| k == "expand[]") && req.method == "GET" {
        let members = match expansions(kind, &params, id.is_none()) {
            Ok(members) => members,
            Err(refused) => return refused,
        };
        let response = match id {
            None => store.with(kind.collection, kind.seed, |all| list(kind, all, &params)),
            Some(id) => store.with(kind.collection, kind.seed, |all| match all.iter().find(|o| o["id"] == id) {
                Some(found) => json(200, found),
                None => missing(kind, id),
            }),
        };
        return expand(state, response, &members, id.is_none());
    }
    match (req.method.as_str(), id) {
        ("GET", None) => store.with(kind.collection, kind.seed, |all| list(kind, all, &params)),
        ("GET", Some(id)) => store.with(kind.collection, kind.seed, |all| match all.iter().find(|o| o["id"] == id) {
            Some(found) => json(200, found),
            None => missing(kind, id),
        }),
        ("POST", _) if kind.writable => {
            idempotent(state, req, || store.with(kind.collection, kind.seed, |all| write(kind, all, req, id)))
        }
        ("DELETE", Some(id)) if kind.deletable => store.with(kind.collection, kind.seed, |all| {
            let Some(at) = all.iter().position(|o| o["id"] == id) else { return missing(kind, id) };
            // Deleting a subscription cancels it; other objects are gone.
            if kind.path == "subscriptions" {
                all[at]["status"] = json!("canceled");
                return json(200, &all[at]);
            }
            all.remove(at);
            json(200, &json!({ "id": id, "object": kind.object, "deleted": true }))
        }),
        _ => unrecognized(req),
    }
}

/// The members `expand[]` asks for: `data.<member>` in lists and searches, `<member>` for one object, each
/// one the kind can expand; another is refused as Stripe refuses it.
fn expansions<'a>(kind: &Kind, params: &'a [(String, String)], list: bool) -> Result<Vec<&'a str>, Response> {
    let prefix = if list { "data." } else { "" };
    params
        .iter()
        .filter(|(k, _)| k == "expand[]")
        .map(|(_, asked)| match asked.strip_prefix(prefix).filter(|m| kind.expandable.contains(m)) {
            Some(member) => Ok(member),
            None => Err(invalid(&format!("This property cannot be expanded ({asked})."), Some("expand"))),
        })
        .collect()
}

/// The kind of object an expandable member holds the id of.
fn expanded_kind(member: &str) -> Option<&'static Kind> {
    let path = match member {
        "customer" => "customers",
        "subscription" => "subscriptions",
        "invoice" | "latest_invoice" => "invoices",
        "payment_intent" => "payment_intents",
        "product" => "products",
        _ => return None,
    };
    KINDS.iter().find(|k| k.path == path)
}

/// A successful answer with each object's `members` ids replaced by their objects (in `data` for a list);
/// a null member stays null.
fn expand(state: &State, response: Response, members: &[&str], list: bool) -> Response {
    if response.status != 200 || members.is_empty() {
        return response;
    }
    let Ok(mut body) = serde_json::from_slice::<Value>(&response.body) else { return response };
    for member in members {
        let Some(target) = expanded_kind(member) else { continue };
        let objects = state.providers.with(target.collection, target.seed, |all| all.clone());
        let expand = |object: &mut Value| {
            if let Some(found) = object[*member].as_str().and_then(|id| objects.iter().find(|o| o["id"] == id)) {
                object[*member] = found.clone();
            }
        };
        if list {
            body["data"].as_array_mut().into_iter().flatten().for_each(expand);
        } else {
            expand(&mut body);
        }
    }
    json(200, &body)
}

/// A POST with an `Idempotency-Key` seen before gets the first answer again, as Stripe replays it.
fn idempotent(state: &State, req: &Request, write: impl FnOnce() -> Response) -> Response {
    let Some(key) = req.header("idempotency-key").map(str::to_string) else { return write() };
    let seen = state.providers.with("stripe/idempotency", Vec::new, |keys| {
        keys.iter()
            .find(|k| k["key"] == key.as_str())
            .map(|k| (k["status"].as_u64().unwrap_or(200) as u16, k["body"].to_string()))
    });
    if let Some((status, body)) = seen {
        return Response::json(status, body).with_header("Idempotent-Replayed", "true");
    }
    let response = write();
    let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    state.providers.with("stripe/idempotency", Vec::new, |keys| {
        keys.push(json!({ "key": key, "status": response.status, "body": body }))
    });
    response
}

/// Text of a field for comparing with a parameter (`true`, `42`, `usd`).
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
        _ => None,
    }
}

fn list(kind: &Kind, all: &[Value], params: &[(String, String)]) -> Response {
    let limit = match param(params, "limit").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return invalid("Invalid integer: limit must be between 1 and 100", Some("limit")),
    };
    let mut selected: Vec<&Value> = all.iter().collect();
    // Subscriptions: without a status, canceled ones are left out; `all` lists every status.
    if kind.path == "subscriptions" && param(params, "status").is_none() {
        selected.retain(|o| o["status"] != "canceled");
    }
    for (name, value) in params {
        let bound = |op: &str| name.strip_prefix("created[").and_then(|r| r.strip_suffix(']')) == Some(op);
        if ["limit", "starting_after", "ending_before", "expand[]"].contains(&name.as_str()) {
            continue;
        }
        if name == "created" || name.starts_with("created[") {
            let Ok(at) = value.parse::<i64>() else { return invalid(&format!("Invalid integer: {value}"), Some(name)) };
            let keep: fn(i64, i64) -> bool = if bound("gt") {
                |c, at| c > at
            } else if bound("gte") {
                |c, at| c >= at
            } else if bound("lt") {
                |c, at| c < at
            } else if bound("lte") {
                |c, at| c <= at
            } else if name == "created" {
                |c, at| c == at
            } else {
                return invalid(&format!("Received unknown parameter: {name}"), Some(name));
            };
            selected.retain(|o| o["created"].as_i64().is_some_and(|c| keep(c, at)));
            continue;
        }
        if !kind.filters.contains(&name.as_str()) {
            return invalid(&format!("Received unknown parameter: {name}"), Some(name));
        }
        match (kind.path, name.as_str(), value.as_str()) {
            ("subscriptions", "status", "all") => {}
            // Event types take a wildcard suffix: `charge.*`.
            ("events", "type", pattern) if pattern.ends_with(".*") => {
                let prefix = &pattern[..pattern.len() - 1];
                selected.retain(|o| o["type"].as_str().is_some_and(|t| t.starts_with(prefix)));
            }
            ("subscriptions", "price", price) => selected.retain(|o| {
                o["items"]["data"].as_array().is_some_and(|items| items.iter().any(|i| i["price"]["id"] == price))
            }),
            (_, field, wanted) => selected.retain(|o| text_of(&o[field]).as_deref() == Some(wanted)),
        }
    }
    let start = match (param(params, "starting_after"), param(params, "ending_before")) {
        (Some(_), Some(_)) => {
            return invalid("You may only specify one of these parameters: starting_after, ending_before.", None)
        }
        (Some(after), None) => match selected.iter().position(|o| o["id"] == after) {
            Some(at) => at + 1,
            None => return invalid(&format!("No such {}: '{after}'", kind.object), Some("starting_after")),
        },
        (None, Some(before)) => match selected.iter().position(|o| o["id"] == before) {
            Some(at) => {
                let first = at.saturating_sub(limit);
                selected.truncate(at);
                first
            }
            None => return invalid(&format!("No such {}: '{before}'", kind.object), Some("ending_before")),
        },
        (None, None) => 0,
    };
    let page: Vec<Value> = selected.iter().skip(start).take(limit).map(|o| (*o).clone()).collect();
    let has_more = start + page.len() < selected.len();
    json(200, &json!({ "object": "list", "url": format!("/v1/{}", kind.path), "has_more": has_more, "data": page }))
}

/// The fields each object's search takes (Stripe's documented search fields).
fn search_fields(kind: &Kind) -> Option<&'static [&'static str]> {
    Some(match kind.path {
        "customers" => &["email", "name", "phone", "created", "metadata"],
        "charges" => &["amount", "currency", "customer", "payment_intent", "status", "created", "metadata", "refunded"],
        "invoices" => &["customer", "subscription", "status", "total", "currency", "number", "created", "metadata"],
        "payment_intents" => &["amount", "currency", "customer", "status", "created", "metadata"],
        "prices" => &["product", "active", "currency", "type", "lookup_key", "metadata"],
        "products" => &["name", "active", "description", "created", "metadata"],
        "subscriptions" => &["status", "created", "metadata"],
        _ => return None,
    })
}

/// One clause of a search query: `[-]field(:|>|>=|<|<=)value`, a value a quoted text or a number.
fn clause(text: &str) -> Option<(bool, String, &str, Value)> {
    let (negated, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let field_end = if text.starts_with("metadata['") {
        text.find("']")? + 2
    } else {
        text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))?
    };
    let (field, rest) = text.split_at(field_end);
    let op = [">=", "<=", ":", ">", "<"].into_iter().find(|op| rest.starts_with(op))?;
    let raw = &rest[op.len()..];
    let value = match raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        Some(quoted) => {
            let mut out = String::new();
            let mut chars = quoted.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.push(chars.next()?),
                    '\'' => return None,
                    c => out.push(c),
                }
            }
            Value::String(out)
        }
        None => Value::from(raw.parse::<f64>().ok()?),
    };
    Some((negated, field.to_string(), op, value))
}

/// `GET /v1/{object}/search`: the objects the query's clauses all keep, `limit` at a time from `page`.
fn search(kind: &Kind, all: &[Value], params: &[(String, String)]) -> Response {
    let Some(fields) = search_fields(kind) else {
        return error(
            404,
            "invalid_request_error",
            &format!("Unrecognized request URL (GET /v1/{}/search).", kind.path),
            None,
            None,
        );
    };
    if let Some((name, _)) = params.iter().find(|(k, _)| !["query", "limit", "page", "expand[]"].contains(&k.as_str()))
    {
        return invalid(&format!("Received unknown parameter: {name}"), Some(name));
    }
    let limit = match param(params, "limit").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return invalid("Invalid integer: limit must be between 1 and 100", Some("limit")),
    };
    let Some(query) = param(params, "query") else { return invalid("Missing required param: query.", Some("query")) };
    let mut clauses = Vec::new();
    for text in query.split(" AND ") {
        let Some((negated, field, op, value)) = clause(text.trim()) else {
            return invalid(&format!("We were unable to parse your search query. Try using the format `metadata[\"key\"]:\"value\"` to query for metadata or `key:\"value\"` to query for other fields. ({text})"), Some("query"));
        };
        let base = field.split('[').next().unwrap_or_default();
        if !fields.contains(&base) || (base == "metadata" && !field.starts_with("metadata['")) {
            return invalid(
                &format!("Field `{field}` is an unsupported search field for resource `{}s`.", kind.object),
                Some("query"),
            );
        }
        clauses.push((negated, field, op, value));
    }
    let keeps = |object: &Value| {
        clauses.iter().all(|(negated, field, op, wanted)| {
            let have = match field.strip_prefix("metadata['").and_then(|k| k.strip_suffix("']")) {
                Some(key) => &object["metadata"][key],
                None => &object[field.as_str()],
            };
            let matched = match (*op, wanted) {
                (":", Value::String(text)) => text_of(have).is_some_and(|h| h.to_lowercase() == text.to_lowercase()),
                (":", number) => have.as_f64() == number.as_f64(),
                (op, number) => match (have.as_f64(), number.as_f64()) {
                    (Some(h), Some(w)) => match op {
                        ">" => h > w,
                        ">=" => h >= w,
                        "<" => h < w,
                        _ => h <= w,
                    },
                    _ => false,
                },
            };
            matched != *negated
        })
    };
    let selected: Vec<&Value> = all.iter().filter(|o| keeps(o)).collect();
    let start = match param(params, "page") {
        None => 0,
        Some(token) => match token.strip_prefix("page_").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return invalid(&format!("Invalid page: {token}"), Some("page")),
        },
    };
    let page: Vec<Value> = selected.iter().skip(start).take(limit).map(|o| (*o).clone()).collect();
    let has_more = start + page.len() < selected.len();
    let next_page = if has_more { json!(format!("page_{}", start + page.len())) } else { Value::Null };
    json(
        200,
        &json!({ "object": "search_result", "url": format!("/v1/{}/search", kind.path), "has_more": has_more, "next_page": next_page, "data": page }),
    )
}

/// A form body as an object: `a=1&metadata[k]=v` → `{"a": "1", "metadata": {"k": "v"}}`.
fn form(req: &Request) -> Result<Map<String, Value>, Response> {
    if !req.header("content-type").unwrap_or("").starts_with("application/x-www-form-urlencoded")
        && !req.body.is_empty()
    {
        return Err(invalid("Invalid request: Stripe takes application/x-www-form-urlencoded bodies", None));
    }
    let text = std::str::from_utf8(&req.body).map_err(|_| invalid("Invalid request body", None))?;
    let mut fields = Map::new();
    for (name, value) in parse_query(text) {
        match name.split_once('[') {
            Some((outer, inner)) if inner.ends_with(']') => {
                let entry = fields.entry(outer.to_string()).or_insert_with(|| json!({}));
                entry[inner.trim_end_matches(']')] = json!(value);
            }
            _ => {
                fields.insert(name, json!(value));
            }
        }
    }
    Ok(fields)
}

/// Create (no id) or update an object from a form body. Read-only and unknown fields are refused.
fn write(kind: &Kind, all: &mut Vec<Value>, req: &Request, id: Option<&str>) -> Response {
    let fields = match form(req) {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let template = (kind.seed)().into_iter().next().unwrap_or_else(|| json!({}));
    for name in fields.keys() {
        if ["id", "object", "created", "livemode"].contains(&name.as_str()) || template.get(name).is_none() {
            return invalid(&format!("Received unknown parameter: {name}"), Some(name));
        }
    }
    // Form values are text; fields that are numbers or booleans in the object become those again.
    let typed = |name: &str, value: Value| -> Value {
        match (&template[name], value) {
            (Value::Number(_), Value::String(s)) => s.parse::<i64>().map(Value::from).unwrap_or(Value::String(s)),
            (Value::Bool(_), Value::String(s)) => s.parse::<bool>().map(Value::from).unwrap_or(Value::String(s)),
            (_, Value::String(s)) if s.is_empty() => Value::Null,
            (_, value) => value,
        }
    };
    match id {
        None => {
            let next = 1 + all
                .iter()
                .filter_map(|o| o["id"].as_str()?.rsplit('_').next()?.parse::<usize>().ok())
                .max()
                .unwrap_or(0);
            let prefix = template["id"].as_str().and_then(|i| i.split('_').next()).unwrap_or("obj").to_string();
            let mut created = template.clone();
            if let Value::Object(members) = &mut created {
                for value in members.values_mut() {
                    if !value.is_object() {
                        *value = Value::Null;
                    }
                }
            }
            created["id"] = json!(object_id(&prefix, next));
            created["object"] = json!(kind.object);
            created["created"] = json!(EPOCH + 100 * DAY + next as i64);
            created["livemode"] = json!(false);
            created["metadata"] = json!({});
            for (name, value) in fields {
                created[&name] = typed(&name, value);
            }
            all.insert(0, created.clone());
            json(200, &created)
        }
        Some(id) => match all.iter_mut().find(|o| o["id"] == id) {
            Some(found) => {
                for (name, value) in fields {
                    if name == "metadata" {
                        for (k, v) in value.as_object().cloned().unwrap_or_default() {
                            found["metadata"][k] = v;
                        }
                    } else {
                        found[&name] = typed(&name, value);
                    }
                }
                json(200, found)
            }
            None => missing(kind, id),
        },
    }
}
