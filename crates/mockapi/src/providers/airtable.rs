//! Airtable Web API v0 (`/airtable/v0/…`): list records of a base's tables with `pageSize` (at most 100),
//! `offset`, `maxRecords`, `fields[]`, `sort[n][field|direction]`, `view` and `filterByFormula` (a subset
//! of the formula language, evaluated: `AND`, `OR`, `NOT`, `BLANK`, `TRUE`, `FALSE`, `RECORD_ID`, `LOWER`,
//! comparisons, `&`, field references, quoted strings with backslash escapes, numbers, with Airtable's
//! blank semantics: an empty cell equals 0, "" and false); create, update (PATCH) and delete in batches of
//! at most 10; the Meta API's table list; Airtable's error bodies (`{"error": {"type", "message"}}`); and
//! its limit of 5 requests a second per base (429 `{"errors": [{"error": "RATE_LIMIT_REACHED", …}]}`, without
//! `Retry-After`, as Airtable sends none). `/airtable/429/{k}/v0/…` refuses the first k requests of each
//! URL with that 429 (`always`: every one).
//!
//! Base `appMockBase000001` holds `Projects` (25 records, views `Grid view` and `Open`) and `Team`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use super::{authorized, json, param, rate_knob, token, untoken};
use crate::handler::State;
use crate::http::{parse_query, percent_decode, Request, Response};

pub const BASE: &str = "appMockBase000001";
pub const PROJECTS: usize = 25;
/// Requests a base accepts per second.
const RATE: usize = 5;

fn error(status: u16, kind: &str, message: &str) -> Response {
    json(status, &json!({ "error": { "type": kind, "message": message } }))
}

fn invalid(message: &str) -> Response {
    error(422, "INVALID_REQUEST_UNKNOWN", message)
}

/// Airtable's 429, whose body (unlike its other errors) is a list: `{"errors": [{"error", "message"}]}`.
/// Airtable asks clients to wait 30 seconds and sends no `Retry-After`.
fn rate_limited() -> Response {
    json(
        429,
        &json!({ "errors": [{ "error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later" }] }),
    )
}

/// (table id, name, collection, seed, fields: (name, type, options))
struct TableSpec {
    id: &'static str,
    name: &'static str,
    collection: &'static str,
    seed: fn() -> Vec<Value>,
    fields: fn() -> Vec<Value>,
}

const TABLES: [TableSpec; 2] = [
    TableSpec {
        id: "tblProjects000001",
        name: "Projects",
        collection: "airtable/projects",
        seed: projects,
        fields: project_fields,
    },
    TableSpec { id: "tblTeam0000000001", name: "Team", collection: "airtable/team", seed: team, fields: team_fields },
];

fn field(id: &str, name: &str, kind: &str, options: Value) -> Value {
    let mut f = json!({ "id": id, "name": name, "type": kind });
    if !options.is_null() {
        f["options"] = options;
    }
    f
}

fn project_fields() -> Vec<Value> {
    let choices = |names: &[&str]| json!({ "choices": names.iter().map(|n| json!({ "name": n })).collect::<Vec<_>>() });
    vec![
        field("fldName", "Name", "singleLineText", Value::Null),
        field("fldStatus", "Status", "singleSelect", choices(&["Todo", "Doing", "Done"])),
        field("fldBudget", "Budget", "currency", json!({ "precision": 2, "symbol": "$" })),
        field("fldHours", "Hours", "number", json!({ "precision": 0 })),
        field("fldDone", "Done", "checkbox", json!({ "icon": "check", "color": "greenBright" })),
        field("fldDue", "Due date", "date", json!({ "dateFormat": { "name": "iso", "format": "YYYY-MM-DD" } })),
        field("fldTags", "Tags", "multipleSelects", choices(&["red", "green", "blue"])),
        field("fldOwner", "Owner", "singleCollaborator", Value::Null),
        field("fldNotes", "Notes", "multilineText", Value::Null),
        field(
            "fldScore",
            "Score",
            "formula",
            json!({ "formula": "{Hours}*2", "isValid": true, "result": { "type": "number", "options": { "precision": 0 } } }),
        ),
    ]
}

fn team_fields() -> Vec<Value> {
    vec![
        field("fldTName", "Name", "singleLineText", Value::Null),
        field("fldEmail", "Email", "email", Value::Null),
        field("fldStarted", "Started", "dateTime", json!({ "timeZone": "utc" })),
        field("fldProjects", "Projects", "multipleRecordLinks", json!({ "linkedTableId": "tblProjects000001" })),
        field("fldPhoto", "Photo", "multipleAttachments", Value::Null),
    ]
}

/// Fields computed by Airtable, which writes may not set.
const COMPUTED: [&str; 1] = ["Score"];

fn record_id(n: usize) -> String {
    format!("recMock{n:010}")
}

fn created(n: usize) -> String {
    format!("2024-01-{:02}T{:02}:00:00.000Z", 1 + n / 24, n % 24)
}

/// 25 projects. Empty cells are left out, as Airtable does: blank budgets (every 7th), no notes (even
/// ones), unchecked boxes; budgets of 0 (every 5th) are not blank.
fn projects() -> Vec<Value> {
    let statuses = ["Todo", "Doing", "Done"];
    let tags = ["red", "green", "blue"];
    (1..=PROJECTS)
        .map(|i| {
            let mut fields = Map::new();
            let name = match i {
                3 => "O'Brien's plan".to_string(),
                7 => "Say \"hi\"".to_string(),
                11 => "Back\\slash".to_string(),
                _ => format!("Project {i}"),
            };
            fields.insert("Name".into(), json!(name));
            fields.insert("Status".into(), json!(statuses[i % 3]));
            if i % 7 != 0 {
                let budget = if i % 5 == 0 { "0".to_string() } else { format!("{}.5", i * 100) };
                fields.insert("Budget".into(), serde_json::from_str::<Value>(&budget).unwrap_or(Value::Null));
            }
            fields.insert("Hours".into(), json!(i * 3 % 17));
            if i % 3 == 0 {
                fields.insert("Done".into(), json!(true));
            }
            fields.insert("Due date".into(), json!(format!("2024-{:02}-{:02}", 1 + i % 12, i)));
            fields.insert("Tags".into(), json!(tags.iter().take(i % 4).collect::<Vec<_>>()));
            if i % 4 == 0 {
                fields.remove("Tags");
            }
            fields.insert(
                "Owner".into(),
                json!({ "id": format!("usr{i:014}"), "email": format!("owner{}@example.com", i % 3), "name": format!("Owner {}", i % 3) }),
            );
            if i % 2 == 1 {
                fields.insert("Notes".into(), json!(format!("Notes of project {i}\nsecond line")));
            }
            fields.insert("Score".into(), json!(i * 3 % 17 * 2));
            json!({ "id": record_id(i), "createdTime": created(i), "fields": fields })
        })
        .collect()
}

fn team() -> Vec<Value> {
    let people = ["Ada", "Grace", "Linus", "Barbara"];
    people
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({
                "id": record_id(100 + i),
                "createdTime": created(30 + i),
                "fields": {
                    "Name": name,
                    "Email": format!("{}@example.com", name.to_lowercase()),
                    "Started": format!("2023-0{}-01T09:30:00.000Z", i + 1),
                    "Projects": [record_id(i + 1), record_id(i + 2)],
                    "Photo": [{ "id": format!("att{i:014}"), "url": format!("https://dl.airtable.example/{name}.png"), "filename": format!("{name}.png"), "size": 1000 + i, "type": "image/png" }]
                }
            })
        })
        .collect()
}

fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

/// Whether the base has taken `RATE` requests within the last second (this one is then refused). The
/// window is a little shorter than a second, so that a client spacing its requests at exactly the limit
/// is not refused for a millisecond of jitter.
fn over_rate(state: &State, base: &str) -> bool {
    let key: &'static str = if base == BASE { "airtable/rate" } else { "airtable/rate-other" };
    let now = now_ms();
    state.providers.with(key, Vec::new, |times| {
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
        return error(401, "AUTHENTICATION_REQUIRED", "Authentication required");
    }
    let (refused, path) = rate_knob(state, "airtable", req, path);
    if refused {
        return rate_limited();
    }
    let decoded: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let (base, table) = match segments.as_slice() {
        ["v0", "meta", "bases", base, "tables"] if req.method == "GET" => {
            if *base != BASE {
                return error(404, "NOT_FOUND", "Could not find what you are looking for");
            }
            let tables: Vec<Value> = TABLES
                .iter()
                .map(|t| json!({ "id": t.id, "name": t.name, "primaryFieldId": (t.fields)()[0]["id"], "fields": (t.fields)(), "views": views(t) }))
                .collect();
            return json(200, &json!({ "tables": tables }));
        }
        ["v0", base, table] => (*base, *table),
        _ => return error(404, "NOT_FOUND", "Could not find what you are looking for"),
    };
    if over_rate(state, base) {
        return rate_limited();
    }
    let Some(spec) = TABLES.iter().find(|t| base == BASE && (t.id == table || t.name == table)) else {
        return error(404, "TABLE_NOT_FOUND", &format!("Could not find table {table} in application {base}"));
    };
    let params = parse_query(&req.query);
    let store = &state.providers;
    match req.method.as_str() {
        "GET" => store.with(spec.collection, spec.seed, |all| list(spec, all, &params)),
        "POST" => {
            let records = match batch(req, false) {
                Ok(r) => r,
                Err(resp) => return resp,
            };
            store.with(spec.collection, spec.seed, |all| {
                let mut created_records = Vec::new();
                for (_, fields) in &records {
                    if let Err(resp) = check_fields(spec, fields) {
                        return resp;
                    }
                }
                for (_, fields) in records {
                    let n = all
                        .iter()
                        .filter_map(|r| r["id"].as_str()?.strip_prefix("recMock")?.parse::<usize>().ok())
                        .max()
                        .unwrap_or(0)
                        + 1;
                    let record =
                        json!({ "id": record_id(n), "createdTime": created(200 + n), "fields": compact(fields) });
                    all.push(record.clone());
                    created_records.push(record);
                }
                json(200, &json!({ "records": created_records }))
            })
        }
        "PATCH" => {
            let records = match batch(req, true) {
                Ok(r) => r,
                Err(resp) => return resp,
            };
            store.with(spec.collection, spec.seed, |all| {
                for (id, fields) in &records {
                    if let Err(resp) = check_fields(spec, fields) {
                        return resp;
                    }
                    if !all.iter().any(|r| r["id"] == id.as_str()) {
                        return error(404, "NOT_FOUND", &format!("Record not found: {id}"));
                    }
                }
                let mut updated = Vec::new();
                for (id, fields) in records {
                    let record = all.iter_mut().find(|r| r["id"] == id.as_str()).expect("checked above");
                    let mut merged = record["fields"].as_object().cloned().unwrap_or_default();
                    merged.extend(fields);
                    record["fields"] = Value::Object(compact(merged));
                    updated.push(record.clone());
                }
                json(200, &json!({ "records": updated }))
            })
        }
        "DELETE" => {
            let ids: Vec<&str> =
                params.iter().filter(|(k, _)| k == "records[]" || k == "records").map(|(_, v)| v.as_str()).collect();
            if ids.is_empty() || ids.len() > 10 {
                return invalid("Provide between 1 and 10 records[] to delete");
            }
            store.with(spec.collection, spec.seed, |all| {
                if let Some(missing) = ids.iter().find(|id| !all.iter().any(|r| r["id"] == **id)) {
                    return error(404, "NOT_FOUND", &format!("Record not found: {missing}"));
                }
                all.retain(|r| !ids.iter().any(|id| r["id"] == *id));
                let deleted: Vec<Value> = ids.iter().map(|id| json!({ "id": id, "deleted": true })).collect();
                json(200, &json!({ "records": deleted }))
            })
        }
        _ => error(405, "METHOD_NOT_ALLOWED", "Method not allowed"),
    }
}

fn views(spec: &TableSpec) -> Value {
    let mut views = vec![json!({ "id": "viwGrid0000000001", "name": "Grid view", "type": "grid" })];
    if spec.name == "Projects" {
        views.push(json!({ "id": "viwOpen0000000001", "name": "Open", "type": "grid" }));
    }
    Value::Array(views)
}

/// Airtable leaves empty values out of a record.
fn compact(fields: Map<String, Value>) -> Map<String, Value> {
    fields
        .into_iter()
        .filter(|(_, v)| !(v.is_null() || v == "" || *v == json!(false) || v.as_array().is_some_and(Vec::is_empty)))
        .collect()
}

/// (record id, fields) of a write.
type Records = Vec<(String, Map<String, Value>)>;

/// `{"records": [{"id"?, "fields": {…}}]}` with 1 to 10 records.
fn batch(req: &Request, with_ids: bool) -> Result<Records, Response> {
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|_| error(422, "INVALID_REQUEST_BODY", "Could not parse request body"))?;
    let records = body["records"].as_array().ok_or_else(|| invalid("Missing required field \"records\""))?;
    if records.is_empty() || records.len() > 10 {
        return Err(error(422, "INVALID_RECORDS", "You must provide an array of up to 10 record objects"));
    }
    records
        .iter()
        .map(|r| {
            let fields =
                r["fields"].as_object().cloned().ok_or_else(|| invalid("Each record needs an object \"fields\""))?;
            let id = match (with_ids, r["id"].as_str()) {
                (true, Some(id)) => id.to_string(),
                (true, None) => return Err(invalid("Each record to update needs an \"id\"")),
                (false, _) => String::new(),
            };
            Ok((id, fields))
        })
        .collect()
}

fn check_fields(spec: &TableSpec, fields: &Map<String, Value>) -> Result<(), Response> {
    let known = (spec.fields)();
    for name in fields.keys() {
        if !known.iter().any(|f| f["name"] == name.as_str()) {
            return Err(error(422, "UNKNOWN_FIELD_NAME", &format!("Unknown field name: \"{name}\"")));
        }
        if COMPUTED.contains(&name.as_str()) {
            return Err(error(
                422,
                "INVALID_VALUE_FOR_COLUMN",
                &format!("Field \"{name}\" cannot accept a value because the field is computed"),
            ));
        }
    }
    Ok(())
}

fn list(spec: &TableSpec, all: &[Value], params: &[(String, String)]) -> Response {
    let known: Vec<String> = (spec.fields)().iter().filter_map(|f| f["name"].as_str().map(str::to_string)).collect();
    let page_size = match param(params, "pageSize").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => return invalid("The pageSize parameter must be a number between 1 and 100"),
    };
    let max_records = match param(params, "maxRecords").map(str::parse::<usize>) {
        None => None,
        Some(Ok(n)) if n > 0 => Some(n),
        Some(_) => return invalid("The maxRecords parameter must be a positive number"),
    };
    let mut selected: Vec<&Value> = all.iter().collect();
    match param(params, "view") {
        None | Some("Grid view") | Some("viwGrid0000000001") => {}
        Some("Open") | Some("viwOpen0000000001") if spec.name == "Projects" => {
            selected.retain(|r| r["fields"]["Done"] != true)
        }
        Some(view) => return error(422, "VIEW_NAME_NOT_FOUND", &format!("Could not find view {view}")),
    }
    if let Some(formula) = param(params, "filterByFormula") {
        let parsed = match Parser::new(formula).parse_all() {
            Ok(p) => p,
            Err(e) => {
                return error(
                    422,
                    "INVALID_FILTER_BY_FORMULA",
                    &format!("The formula for filtering records is invalid: {e}"),
                )
            }
        };
        if let Some(unknown) = parsed.fields().into_iter().find(|f| !known.contains(f)) {
            return error(
                422,
                "INVALID_FILTER_BY_FORMULA",
                &format!("The formula for filtering records is invalid: Unknown field names: {unknown}"),
            );
        }
        selected.retain(|r| parsed.eval(r).truthy());
    }
    // sort[n][field], sort[n][direction], in n order.
    let mut sorts: Vec<(usize, String, bool)> = Vec::new();
    for (key, value) in params {
        let Some(rest) = key.strip_prefix("sort[") else { continue };
        let Some((n, member)) = rest.split_once("][") else { return invalid(&format!("Invalid sort parameter {key}")) };
        let Ok(n) = n.parse::<usize>() else { return invalid(&format!("Invalid sort parameter {key}")) };
        let entry = match sorts.iter_mut().find(|s| s.0 == n) {
            Some(e) => e,
            None => {
                sorts.push((n, String::new(), false));
                sorts.last_mut().expect("pushed")
            }
        };
        match member {
            "field]" => entry.1 = value.clone(),
            "direction]" if value == "asc" || value == "desc" => entry.2 = value == "desc",
            _ => return invalid(&format!("Invalid sort parameter {key}={value}")),
        }
    }
    sorts.sort_by_key(|s| s.0);
    if let Some((_, unknown, _)) = sorts.iter().find(|(_, f, _)| !known.contains(f)) {
        return error(422, "UNKNOWN_FIELD_NAME", &format!("Unknown field name: \"{unknown}\""));
    }
    if !sorts.is_empty() {
        // Empty cells sort before every value ascending (after, descending); ties keep creation order.
        selected.sort_by(|a, b| {
            for (_, field, desc) in &sorts {
                let order = compare_cells(&a["fields"][field.as_str()], &b["fields"][field.as_str()]);
                let order = if *desc { order.reverse() } else { order };
                if order != std::cmp::Ordering::Equal {
                    return order;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    if let Some(max) = max_records {
        selected.truncate(max);
    }
    let start = match param(params, "offset") {
        None => 0,
        Some(offset) => match untoken("airtable", offset) {
            Some(n) => n,
            None => return invalid(&format!("Invalid offset: {offset}")),
        },
    };
    let wanted: Vec<String> =
        params.iter().filter(|(k, _)| k == "fields[]" || k == "fields").map(|(_, v)| v.clone()).collect();
    if let Some(unknown) = wanted.iter().find(|f| !known.contains(f)) {
        return error(422, "UNKNOWN_FIELD_NAME", &format!("Unknown field name: \"{unknown}\""));
    }
    let end = (start + page_size).min(selected.len());
    let records: Vec<Value> = selected
        .get(start.min(end)..end)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let mut shown = (*r).clone();
            if !wanted.is_empty() {
                let fields = r["fields"].as_object().cloned().unwrap_or_default();
                shown["fields"] = Value::Object(fields.into_iter().filter(|(k, _)| wanted.contains(k)).collect());
            }
            shown
        })
        .collect();
    let mut body = json!({ "records": records });
    if end < selected.len() {
        body["offset"] = json!(token("airtable", end));
    }
    json(200, &body)
}

fn compare_cells(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => Cell::of(a).text().cmp(&Cell::of(b).text()),
        },
    }
}

/// A formula value.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Blank,
    Num(f64),
    Text(String),
}

impl Cell {
    fn of(value: &Value) -> Cell {
        match value {
            Value::Null => Cell::Blank,
            Value::Bool(b) => Cell::Num(if *b { 1.0 } else { 0.0 }),
            Value::Number(n) => Cell::Num(n.as_f64().unwrap_or(0.0)),
            Value::String(s) if s.is_empty() => Cell::Blank,
            Value::String(s) => Cell::Text(s.clone()),
            Value::Array(items) if items.is_empty() => Cell::Blank,
            Value::Array(items) => Cell::Text(items.iter().map(|i| Cell::of(i).text()).collect::<Vec<_>>().join(", ")),
            Value::Object(o) => {
                Cell::Text(o.get("name").or(o.get("email")).and_then(Value::as_str).unwrap_or("").to_string())
            }
        }
    }

    fn text(&self) -> String {
        match self {
            Cell::Blank => String::new(),
            Cell::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Num(n) => n.to_string(),
            Cell::Text(s) => s.clone(),
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Cell::Blank => false,
            Cell::Num(n) => *n != 0.0,
            Cell::Text(s) => !s.is_empty(),
        }
    }

    /// Airtable's comparison: a blank is 0 to a number and "" to a text.
    fn compare(&self, other: &Cell) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Cell::Blank, Cell::Blank) => Some(std::cmp::Ordering::Equal),
            (Cell::Num(a), Cell::Num(b)) => a.partial_cmp(b),
            (Cell::Blank, Cell::Num(b)) => 0.0f64.partial_cmp(b),
            (Cell::Num(a), Cell::Blank) => a.partial_cmp(&0.0),
            (Cell::Num(a), Cell::Text(b)) => b.trim().parse::<f64>().ok().and_then(|b| a.partial_cmp(&b)),
            (Cell::Text(a), Cell::Num(b)) => a.trim().parse::<f64>().ok().and_then(|a| a.partial_cmp(b)),
            (a, b) => Some(a.text().cmp(&b.text())),
        }
    }
}

/// A parsed formula.
#[derive(Debug)]
enum Expr {
    Num(f64),
    Text(String),
    Field(String),
    Call(String, Vec<Expr>),
    Binary(String, Box<Expr>, Box<Expr>),
}

impl Expr {
    fn fields(&self) -> Vec<String> {
        match self {
            Expr::Field(f) => vec![f.clone()],
            Expr::Call(_, args) => args.iter().flat_map(Expr::fields).collect(),
            Expr::Binary(_, a, b) => a.fields().into_iter().chain(b.fields()).collect(),
            _ => vec![],
        }
    }

    fn eval(&self, record: &Value) -> Cell {
        let bool_cell = |b: bool| Cell::Num(if b { 1.0 } else { 0.0 });
        match self {
            Expr::Num(n) => Cell::Num(*n),
            Expr::Text(s) if s.is_empty() => Cell::Blank,
            Expr::Text(s) => Cell::Text(s.clone()),
            Expr::Field(f) => Cell::of(&record["fields"][f.as_str()]),
            Expr::Call(name, args) => match name.as_str() {
                "AND" => bool_cell(args.iter().all(|a| a.eval(record).truthy())),
                "OR" => bool_cell(args.iter().any(|a| a.eval(record).truthy())),
                "NOT" => bool_cell(!args.first().is_some_and(|a| a.eval(record).truthy())),
                "BLANK" => Cell::Blank,
                "TRUE" => Cell::Num(1.0),
                "FALSE" => Cell::Num(0.0),
                "RECORD_ID" => Cell::Text(record["id"].as_str().unwrap_or_default().to_string()),
                "LOWER" => Cell::Text(args.first().map(|a| a.eval(record).text().to_lowercase()).unwrap_or_default()),
                _ => Cell::Blank,
            },
            Expr::Binary(op, a, b) => {
                let (a, b) = (a.eval(record), b.eval(record));
                if op == "&" {
                    return Cell::Text(a.text() + &b.text());
                }
                let order = a.compare(&b);
                use std::cmp::Ordering::*;
                bool_cell(match op.as_str() {
                    "=" => order == Some(Equal),
                    "!=" => order != Some(Equal),
                    "<" => order == Some(Less),
                    "<=" => matches!(order, Some(Less | Equal)),
                    ">" => order == Some(Greater),
                    ">=" => matches!(order, Some(Greater | Equal)),
                    _ => false,
                })
            }
        }
    }
}

const FUNCTIONS: [&str; 8] = ["AND", "OR", "NOT", "BLANK", "TRUE", "FALSE", "RECORD_ID", "LOWER"];

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser { chars: text.chars().peekable() }
    }

    fn skip_space(&mut self) {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.chars.next();
        }
    }

    fn parse_all(mut self) -> Result<Expr, String> {
        let expr = self.comparison()?;
        self.skip_space();
        match self.chars.next() {
            None => Ok(expr),
            Some(c) => Err(format!("unexpected '{c}'")),
        }
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let left = self.concat()?;
        self.skip_space();
        let op = match self.chars.peek() {
            Some('=') => "=",
            Some('!') => "!=",
            Some('<') => "<",
            Some('>') => ">",
            _ => return Ok(left),
        };
        self.chars.next();
        let op = match (op, self.chars.peek()) {
            ("!", _) | ("!=", Some('=')) => {
                self.chars.next();
                "!="
            }
            ("!=", _) => return Err("expected '=' after '!'".into()),
            ("<", Some('=')) => {
                self.chars.next();
                "<="
            }
            (">", Some('=')) => {
                self.chars.next();
                ">="
            }
            (op, _) => op,
        };
        let right = self.concat()?;
        Ok(Expr::Binary(op.to_string(), Box::new(left), Box::new(right)))
    }

    fn concat(&mut self) -> Result<Expr, String> {
        let mut left = self.primary()?;
        loop {
            self.skip_space();
            if self.chars.peek() != Some(&'&') {
                return Ok(left);
            }
            self.chars.next();
            let right = self.primary()?;
            left = Expr::Binary("&".into(), Box::new(left), Box::new(right));
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        self.skip_space();
        match self.chars.peek().copied() {
            None => Err("unexpected end of formula".into()),
            Some('(') => {
                self.chars.next();
                let inner = self.comparison()?;
                self.skip_space();
                (self.chars.next() == Some(')')).then_some(inner).ok_or_else(|| "expected ')'".to_string())
            }
            Some(quote @ ('\'' | '"')) => {
                self.chars.next();
                let mut text = String::new();
                loop {
                    match self.chars.next() {
                        None => return Err("unterminated string".into()),
                        Some('\\') => match self.chars.next() {
                            Some('n') => text.push('\n'),
                            Some(c) => text.push(c),
                            None => return Err("unterminated string".into()),
                        },
                        Some(c) if c == quote => return Ok(Expr::Text(text)),
                        Some(c) => text.push(c),
                    }
                }
            }
            Some('{') => {
                self.chars.next();
                let mut name = String::new();
                loop {
                    match self.chars.next() {
                        None => return Err("unterminated field reference".into()),
                        Some('}') => return Ok(Expr::Field(name)),
                        Some(c) => name.push(c),
                    }
                }
            }
            Some(c) if c.is_ascii_digit() || c == '-' || c == '.' => {
                let mut number = String::new();
                while self
                    .chars
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || *c == '.' || *c == '-' || *c == 'e' || *c == 'E')
                {
                    number.push(self.chars.next().unwrap_or_default());
                }
                number.parse().map(Expr::Num).map_err(|_| format!("bad number {number}"))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let mut name = String::new();
                while self.chars.peek().is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                    name.push(self.chars.next().unwrap_or_default());
                }
                if !FUNCTIONS.contains(&name.as_str()) {
                    return Err(format!("unknown function {name}"));
                }
                self.skip_space();
                if self.chars.next() != Some('(') {
                    return Err(format!("expected '(' after {name}"));
                }
                let mut args = Vec::new();
                self.skip_space();
                if self.chars.peek() == Some(&')') {
                    self.chars.next();
                    return Ok(Expr::Call(name, args));
                }
                loop {
                    args.push(self.comparison()?);
                    self.skip_space();
                    match self.chars.next() {
                        Some(',') => continue,
                        Some(')') => return Ok(Expr::Call(name, args)),
                        _ => return Err(format!("expected ',' or ')' in {name}(…)")),
                    }
                }
            }
            Some(c) => Err(format!("unexpected '{c}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matching(formula: &str) -> Vec<usize> {
        let expr = Parser::new(formula).parse_all().unwrap();
        projects().iter().enumerate().filter(|(_, r)| expr.eval(r).truthy()).map(|(i, _)| i + 1).collect()
    }

    #[test]
    fn formulas_follow_airtable_blank_semantics() {
        // Blank budgets (7, 14, 21) equal 0 like the zero budgets (5, 10, 15, 20, 25).
        assert_eq!(matching("{Budget}=0"), vec![5, 7, 10, 14, 15, 20, 21, 25]);
        assert_eq!(matching("AND({Budget}&''!='',{Budget}=0)"), vec![5, 10, 15, 20, 25]);
        assert_eq!(matching("{Budget}&''=''"), vec![7, 14, 21]);
        assert_eq!(matching(r"{Name}='O\'Brien\'s plan'"), vec![3]);
        assert_eq!(matching(r#"OR({Name}="Say \"hi\"",{Name}='Back\\slash')"#), vec![7, 11]);
        assert_eq!(matching("AND({Done}=TRUE(),{Hours}>10)"), vec![15, 21]);
        assert_eq!(matching("RECORD_ID()='recMock0000000002'"), vec![2]);
        assert!(Parser::new("AND({Name}='x'").parse_all().is_err());
        assert!(Parser::new("SEARCH('x',{Name})").parse_all().is_err());
    }
}
