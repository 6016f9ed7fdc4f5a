//! Benchling API v2 (`/benchling/api/v2/{custom-entities|dna-sequences|entity-schemas|assay-runs|assay-results}`),
//! read-only lists as Benchling documents them: `pageSize` (default 50, at most 100) and an opaque
//! `nextToken` that is the empty string on the last page; records in `customEntities`, `dnaSequences`,
//! `entitySchemas`, `assayRuns`, `assayResults`. Custom entities and DNA sequences take `modifiedAt` and
//! `createdAt` as Benchling's range language (`> 2024-01-03T00:00:00Z AND < 2024-01-09`: `>` or `<`, one
//! space, an RFC 3339 time or a date, terms joined by ` AND `; `>=` is refused), `schemaId`, `folderId` and
//! `archiveReason` (`NOT_ARCHIVED` by default, `ANY_ARCHIVED`, `ANY_ARCHIVED_OR_NOT_ARCHIVED` or a reason).
//! Assay runs need `schemaId`; assay results need it too and take `modifiedAt.gt|gte|lt|lte` and
//! `createdAt.…`. Unknown parameters are refused (the mock is stricter than Benchling, to catch a
//! definition sending what Benchling would ignore). Times are UTC (`…+00:00`, as Benchling writes them).
//! Authentication: HTTP Basic with the API key `test-token` as the user and an empty password. Errors:
//! `{"error": {"message", "type", "userMessage"}}`. `/benchling/429/{k}/api/v2/…` refuses the first k
//! requests with Benchling's 429 (`Rate limit exceeded.`, `x-rate-limit-*` headers, no `Retry-After`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::{comparable_time, json, param, rate_knob, token, untoken, TEST_TOKEN};
use crate::handler::State;
use crate::http::{parse_query, percent_decode, Request, Response};

pub const CUSTOM_ENTITIES: usize = 7;
pub const DNA_SEQUENCES: usize = 5;
pub const ASSAY_RESULTS: usize = 6;
pub const STRAIN_SCHEMA: &str = "ts_Strain001";
pub const ASSAY_SCHEMA: &str = "assaysch_Elisa01";

fn error(status: u16, kind: &str, message: &str) -> Response {
    json(status, &json!({ "error": { "message": message, "type": kind, "userMessage": message } }))
}

fn bad_request(message: &str) -> Response {
    error(400, "invalid_request_error", message)
}

/// Benchling's times: microseconds and an explicit offset.
fn time(day: usize, hour: usize) -> String {
    format!("2024-01-{day:02}T{hour:02}:00:00.000000+00:00")
}

fn user(i: usize) -> Value {
    json!({"id": format!("ent_User{i:04}"), "handle": format!("user{i}"), "name": format!("User {i}")})
}

fn field(kind: &str, value: Value, display: &str) -> Value {
    json!({"value": value, "type": kind, "displayValue": display, "textValue": display, "isMulti": false})
}

/// Custom entities: strains (odd) and cell lines (even); entity 6 is archived.
fn custom_entities() -> Vec<Value> {
    (1..=CUSTOM_ENTITIES)
        .map(|i| {
            let (schema, schema_name, prefix) =
                if i % 2 == 1 { (STRAIN_SCHEMA, "Strain", "STR") } else { ("ts_CellLine02", "Cell Line", "CL") };
            let organism = ["E. coli", "S. cerevisiae", "B. subtilis"][i % 3];
            json!({
                "id": format!("bfi_Ent{i:05}"), "name": format!("{schema_name} {i}"), "aliases": [format!("{prefix}-{i}")],
                "apiURL": format!("https://acme.benchling.com/api/v2/custom-entities/bfi_Ent{i:05}"),
                "archiveRecord": if i == 6 { json!({"reason": "Retired"}) } else { Value::Null },
                "authors": [user(i % 2 + 1)], "creator": user(i % 2 + 1),
                "createdAt": time(i, 9), "modifiedAt": time(i + 1, 9),
                "customFields": {"Legacy ID": {"value": format!("{prefix}{i:03}")}},
                "entityRegistryId": if i <= 4 { json!(format!("{prefix}{i:03}")) } else { Value::Null },
                "registryId": if i <= 4 { json!("src_Registry1") } else { Value::Null },
                "fields": {
                    "Host Organism": field("text", json!(organism), organism),
                    "Passage": field("integer", json!(i * 2), &(i * 2).to_string()),
                },
                "folderId": if i <= 5 { "lib_Strains01" } else { "lib_Other0002" },
                "registrationOrigin": Value::Null,
                "schema": {"id": schema, "name": schema_name},
                "url": format!("{prefix}{i:03}"),
                "webURL": format!("https://acme.benchling.com/benchling/f/lib_Strains01/bfi_Ent{i:05}/edit"),
            })
        })
        .collect()
}

fn dna_sequences() -> Vec<Value> {
    (1..=DNA_SEQUENCES)
        .map(|i| {
            let bases = "ATGC".repeat(i * 3);
            json!({
                "id": format!("seq_Seq{i:05}"), "name": format!("pPlasmid-{i}"), "aliases": [], "annotations": [
                    {"name": "promoter", "start": 0, "end": 4, "strand": 1, "type": "promoter", "color": "#F58A5E"}],
                "apiURL": format!("https://acme.benchling.com/api/v2/dna-sequences/seq_Seq{i:05}"),
                "archiveRecord": Value::Null, "authors": [user(1)], "creator": user(1),
                "bases": bases, "length": bases.len(), "isCircular": i % 2 == 1,
                "createdAt": time(i + 2, 14), "modifiedAt": time(i + 3, 14),
                "customFields": {}, "dnaAlignmentIds": [], "entityRegistryId": Value::Null, "registryId": Value::Null,
                "fields": {"Resistance": field("text", json!("Amp"), "Amp")},
                "folderId": "lib_Plasmids3", "parts": [], "primers": [], "transcriptions": [], "translations": [],
                "registrationOrigin": Value::Null,
                "schema": {"id": "ts_Plasmid03", "name": "Plasmid"},
                "url": format!("pplasmid-{i}"), "webURL": format!("https://acme.benchling.com/benchling/s/seq_Seq{i:05}/edit"),
            })
        })
        .collect()
}

fn entity_schemas() -> Vec<Value> {
    [(STRAIN_SCHEMA, "Strain", "custom_entity", "STR"), ("ts_CellLine02", "Cell Line", "custom_entity", "CL"),
     ("ts_Plasmid03", "Plasmid", "dna_sequence", "PL")]
    .iter()
    .map(|(id, name, kind, prefix)| {
        json!({"id": id, "name": name, "type": kind, "prefix": prefix, "registryId": "src_Registry1",
               "archiveRecord": Value::Null, "modifiedAt": time(1, 8), "constraint": Value::Null,
               "containableType": "NONE", "fieldDefinitions": [
                   {"id": format!("tsf_{prefix}1"), "name": "Host Organism", "type": "text", "isMulti": false, "isRequired": false}]})
    })
    .collect()
}

fn assay_runs() -> Vec<Value> {
    (1..=3)
        .map(|i| {
            json!({"id": format!("run_Run{i:05}"), "apiURL": format!("https://acme.benchling.com/api/v2/assay-runs/run_Run{i:05}"),
                   "archiveRecord": Value::Null, "createdAt": time(i + 10, 10), "creator": user(2),
                   "entryId": "etr_Entry001", "equipmentId": Value::Null,
                   "fields": {"Plate Reader": field("text", json!(format!("Reader {i}")), &format!("Reader {i}"))},
                   "isReviewed": i == 1, "projectId": "src_Project1", "schema": {"id": ASSAY_SCHEMA, "name": "ELISA"},
                   "validationComment": Value::Null, "validationStatus": if i == 1 { "VALID" } else { "NOT_VALIDATED" }})
        })
        .collect()
}

fn assay_results() -> Vec<Value> {
    (1..=ASSAY_RESULTS)
        .map(|i| {
            json!({"id": format!("7f2b4c1e-0000-4000-8000-{i:012}"), "archiveRecord": Value::Null,
                   "createdAt": time(i + 10, 11), "modifiedAt": time(i + 11, 11), "creator": user(2),
                   "entryId": "etr_Entry001", "fieldValidation": {},
                   "fields": {"Sample": field("entity_link", json!(format!("bfi_Ent{:05}", i % 3 + 1)), &format!("Strain {}", i % 3 + 1)),
                              "OD450": field("float", json!(0.25 * i as f64), &format!("{}", 0.25 * i as f64))},
                   "isReviewed": false, "projectId": "src_Project1", "schema": {"id": ASSAY_SCHEMA, "name": "ELISA"},
                   "validationComment": "", "validationStatus": "NOT_VALIDATED"})
        })
        .collect()
}

fn authorized(req: &Request) -> bool {
    req.header("authorization")
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, v)| STANDARD.decode(v.trim()).ok())
        .is_some_and(|creds| creds == format!("{TEST_TOKEN}:").as_bytes())
}

/// One list: its records' member, its records, and the filters it takes.
struct List {
    member: &'static str,
    seed: fn() -> Vec<Value>,
    /// `modifiedAt`/`createdAt` in the range language, `folderId`, `archiveReason` (entities).
    entity_filters: bool,
    /// `modifiedAt.gt`, … (results).
    dotted_ranges: bool,
    schema_required: bool,
}

fn list_of(name: &str) -> Option<List> {
    let (member, seed, entity_filters, dotted_ranges, schema_required): (_, fn() -> Vec<Value>, _, _, _) = match name {
        "custom-entities" => ("customEntities", custom_entities, true, false, false),
        "dna-sequences" => ("dnaSequences", dna_sequences, true, false, false),
        "entity-schemas" => ("entitySchemas", entity_schemas, false, false, false),
        "assay-runs" => ("assayRuns", assay_runs, false, false, true),
        "assay-results" => ("assayResults", assay_results, false, true, true),
        _ => return None,
    };
    Some(List { member, seed, entity_filters, dotted_ranges, schema_required })
}

pub fn handle(state: &State, req: &Request, path: &str) -> Response {
    if !authorized(req) {
        return error(
            401,
            "invalid_request_error",
            "Invalid API key. Use it as the username of HTTP Basic authentication.",
        );
    }
    let (refused, path) = rate_knob(state, "benchling", req, path);
    if refused {
        return error(429, "invalid_request_error", "Rate limit exceeded.")
            .with_header("x-rate-limit-limit", "60")
            .with_header("x-rate-limit-remaining", "0")
            .with_header("x-rate-limit-reset", "1");
    }
    let decoded: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let name = match decoded.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["api", "v2", name] => name.to_string(),
        _ => return error(404, "invalid_request_error", &format!("Not found: {path}")),
    };
    let Some(list) = list_of(&name) else { return error(404, "invalid_request_error", &format!("Not found: {path}")) };
    if req.method != "GET" {
        return error(
            405,
            "invalid_request_error",
            &format!("Method {} not allowed (the mock is read-only)", req.method),
        );
    }
    let params = parse_query(&req.query);
    match select(&list, &params) {
        Ok(records) => page(&name, list.member, records, &params),
        Err(message) => bad_request(&message),
    }
}

/// The records a list's filters keep, in the list's order.
fn select(list: &List, params: &[(String, String)]) -> Result<Vec<Value>, String> {
    let mut records = (list.seed)();
    if list.schema_required && param(params, "schemaId").is_none() {
        return Err("schemaId is required".into());
    }
    if list.entity_filters {
        let archive = param(params, "archiveReason").unwrap_or("NOT_ARCHIVED");
        records.retain(|r| {
            let reason = r["archiveRecord"]["reason"].as_str();
            match archive {
                "NOT_ARCHIVED" => reason.is_none(),
                "ANY_ARCHIVED" => reason.is_some(),
                "ANY_ARCHIVED_OR_NOT_ARCHIVED" => true,
                wanted => reason == Some(wanted),
            }
        });
    }
    for (name, value) in params {
        match name.as_str() {
            "pageSize" | "nextToken" => {}
            "archiveReason" if list.entity_filters => {}
            "schemaId" => records.retain(|r| r["schema"]["id"] == value.as_str()),
            "folderId" if list.entity_filters => records.retain(|r| r["folderId"] == value.as_str()),
            "modifiedAt" | "createdAt" if list.entity_filters => {
                let bounds = range(value).map_err(|why| format!("Invalid {name} filter \"{value}\": {why}"))?;
                records.retain(|r| {
                    let at = r[name.as_str()].as_str().map(utc).unwrap_or_default();
                    bounds.iter().all(|(greater, bound)| if *greater { at > *bound } else { at < *bound })
                });
            }
            dotted if list.dotted_ranges && dotted.contains('.') => {
                let (field, op) = dotted.split_once('.').expect("a dot");
                if !["modifiedAt", "createdAt"].contains(&field) {
                    return Err(format!("Unknown parameter: {name}"));
                }
                let bound =
                    instant(value).ok_or_else(|| format!("Invalid {name}: \"{value}\" is not an RFC 3339 time"))?;
                let keep: fn(&str, &str) -> bool = match op {
                    "gt" => |t, b| t > b,
                    "gte" => |t, b| t >= b,
                    "lt" => |t, b| t < b,
                    "lte" => |t, b| t <= b,
                    _ => return Err(format!("Unknown parameter: {name}")),
                };
                records.retain(|r| r[field].as_str().is_some_and(|t| keep(&utc(t), &bound)));
            }
            _ => return Err(format!("Unknown parameter: {name}")),
        }
    }
    Ok(records)
}

/// Benchling's range language: `> time`, `< time`, or both joined by ` AND `; an operator and its value
/// are separated by one space. Returns (is `>`, bound).
fn range(value: &str) -> Result<Vec<(bool, String)>, String> {
    value
        .split(" AND ")
        .map(|term| {
            let (greater, rest) = match term.split_at_checked(2) {
                Some(("> ", rest)) => (true, rest),
                Some(("< ", rest)) => (false, rest),
                _ => return Err(format!("\"{term}\" is not \"> time\" or \"< time\" (only > and < are supported)")),
            };
            instant(rest).map(|bound| (greater, bound)).ok_or_else(|| format!("\"{rest}\" is not an RFC 3339 time"))
        })
        .collect()
}

/// A bound as comparable UTC text: a date (midnight), or a time in UTC (`Z`, `+00:00` or no offset, which
/// Benchling reads as UTC). Other offsets are not supported by the mock.
fn instant(text: &str) -> Option<String> {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let date = text.get(..10)?;
    let ok_date = date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-';
    if !ok_date || !digits(&date[..4]) || !digits(&date[5..7]) || !digits(&date[8..]) {
        return None;
    }
    if text.len() == 10 {
        return Some(comparable_time(&format!("{date}T00:00:00")));
    }
    let rest = text[10..].strip_prefix('T')?;
    let clock = rest.strip_suffix('Z').or_else(|| rest.strip_suffix("+00:00")).unwrap_or(rest);
    let valid = clock.len() >= 8 && clock.bytes().all(|b| b.is_ascii_digit() || b == b':' || b == b'.');
    valid.then(|| comparable_time(&format!("{date}T{clock}")))
}

fn utc(text: &str) -> String {
    instant(text).unwrap_or_default()
}

fn page(name: &str, member: &str, records: Vec<Value>, params: &[(String, String)]) -> Response {
    let size = match param(params, "pageSize").map(str::parse::<usize>) {
        None => 50,
        Some(Ok(n)) if n <= 100 => n,
        Some(_) => return bad_request("pageSize must be an integer between 0 and 100"),
    };
    let start = match param(params, "nextToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match untoken(name, t) {
            Some(position) => position,
            None => return bad_request("Invalid nextToken"),
        },
    };
    let end = (start + size).min(records.len());
    let rows: Vec<Value> = records.get(start..end).unwrap_or_default().to_vec();
    // Benchling writes an empty nextToken on the last page.
    let next = if end < records.len() { token(name, end) } else { String::new() };
    json(200, &json!({ member: rows, "nextToken": next }))
        .with_header("Result-Count", records.len().to_string())
        .with_header("x-rate-limit-limit", "60")
        .with_header("x-rate-limit-remaining", "59")
        .with_header("x-rate-limit-reset", "30")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_as_benchling_documents_them() {
        assert_eq!(range("> 2022-03-01").unwrap(), vec![(true, comparable_time("2022-03-01T00:00:00"))]);
        let both = range("> 2022-03-01T10:00:00Z AND < 2022-04-01").unwrap();
        assert_eq!(both.len(), 2);
        assert!(range(">= 2022-03-01").is_err());
        assert!(range(">2022-03-01").is_err());
        assert!(range("> 2020-12-31T21:07:14-05:00").is_err(), "other offsets are not supported by the mock");
    }

    #[test]
    fn utc_times_compare() {
        assert!(utc("2024-01-03T09:00:00.000001+00:00") > utc("2024-01-03T09:00:00Z"));
        assert_eq!(utc("2024-01-03T09:00:00.000000+00:00"), utc("2024-01-03T09:00:00Z"));
    }
}
