//! Salesforce REST API (`/salesforce/services/data/vXX.X/…`, or `/services/…` at the mock's root):
//! - `GET query?q=<SOQL>` evaluates a subset of SOQL: `SELECT f, … FROM Object [WHERE …] [ORDER BY f
//!   [ASC|DESC] [NULLS FIRST|LAST], …] [LIMIT n]`, conditions of `=`, `!=`, `<`, `<=`, `>`, `>=`, `IN (…)`
//!   joined by `AND`, `OR`, `NOT` and parentheses, with SOQL's semantics: text compares without regard to
//!   case, `x != v` holds for NULL `x`, NULLs sort first by default. Literals are typed as SOQL types them:
//!   quoted strings with backslash escapes, unquoted dates and datetimes, numbers, `true`/`false`, `null`;
//!   a literal of the wrong type for its field is refused as Salesforce refuses it. Pages hold the
//!   `batchSize` of `Sforce-Query-Options` (200 to 2,000, default 2,000) and name the next with
//!   `nextRecordsUrl` (`GET query/<locator>-<offset>`); records carry `attributes` and the fields' own
//!   spelling whatever the query's.
//! - `GET sobjects` (`queryable` flags) and `GET sobjects/<Name>/describe` (fields and their `type`).
//! - sObject Collections: `POST`/`PATCH composite/sobjects` (`allOrNone`, `records` with `attributes`, at
//!   most 200) and `DELETE composite/sobjects?ids=…&allOrNone=…`, answering SaveResults whose errors have
//!   a `statusCode` (`REQUIRED_FIELD_MISSING`, `INVALID_FIELD`, `INVALID_FIELD_FOR_INSERT_UPDATE`,
//!   `ALL_OR_NONE_OPERATION_ROLLED_BACK`, `ENTITY_IS_DELETED`).
//! - `POST services/oauth2/token`: the mock's OAuth server, its answers with Salesforce's `instance_url`.
//! - Errors are lists: `[{"message", "errorCode"}]` (401 `INVALID_SESSION_ID`, 400 `INVALID_FIELD`,
//!   `INVALID_TYPE`, `MALFORMED_QUERY`, 404 `NOT_FOUND`); a path `/salesforce/exhausted/services/…`
//!   answers 403 `REQUEST_LIMIT_EXCEEDED`, as an organization past its daily API requests is answered.
//!
//! `Account` holds 450 records (`001Mock00000001AAA` …), `Contact` 12.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use super::{authorized, json};
use crate::handler::State;
use crate::http::{parse_query, percent_decode, Request, Response};

pub const ACCOUNTS: usize = 450;
const CONTACTS: usize = 12;

fn error(status: u16, code: &str, message: &str) -> Response {
    json(status, &json!([{ "message": message, "errorCode": code }]))
}

struct Spec {
    name: &'static str,
    prefix: &'static str,
    collection: &'static str,
    /// (name, describe type, required on create, createable)
    fields: &'static [(&'static str, &'static str, bool, bool)],
    seed: fn() -> Vec<Value>,
}

const OBJECTS: [Spec; 2] = [
    Spec {
        name: "Account",
        prefix: "001",
        collection: "salesforce.Account",
        fields: &[
            ("Id", "id", false, false),
            ("Name", "string", true, true),
            ("Industry", "picklist", false, true),
            ("AnnualRevenue", "currency", false, true),
            ("NumberOfEmployees", "int", false, true),
            ("CreatedDate", "datetime", false, false),
            ("LastActivityDate", "date", false, true),
            ("Active__c", "boolean", false, true),
            ("Description", "textarea", false, true),
            ("BillingAddress", "address", false, false),
            ("OwnerId", "reference", false, true),
        ],
        seed: accounts,
    },
    Spec {
        name: "Contact",
        prefix: "003",
        collection: "salesforce.Contact",
        fields: &[
            ("Id", "id", false, false),
            ("FirstName", "string", false, true),
            ("LastName", "string", true, true),
            ("Email", "email", false, true),
            ("AccountId", "reference", false, true),
            ("Birthdate", "date", false, true),
        ],
        seed: contacts,
    },
];

fn id(prefix: &str, n: usize) -> String {
    format!("{prefix}Mock{n:08}AAA")
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm), and back.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Milliseconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM|±HHMM)`.
fn epoch_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let days = days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?);
    let mut ms = ((days * 24 + num(11..13)?) * 60 + num(14..16)?) * 60_000 + num(17..19)? * 1000;
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.chars().take_while(char::is_ascii_digit).count();
        ms += format!("{:0<3}", &fraction[..digits.min(3)]).parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" => 0,
        _ => {
            let sign = match rest.chars().next()? {
                '+' => 1,
                '-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 {
                return None;
            }
            sign * (digits[..2].parse::<i64>().ok()? * 60 + digits[2..].parse::<i64>().ok()?)
        }
    };
    Some(ms - offset * 60_000)
}

fn datetime(ms: i64) -> String {
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (h, m, s, f) = (rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000);
    format!("{}T{h:02}:{m:02}:{s:02}.{f:03}+0000", date(days))
}

fn accounts() -> Vec<Value> {
    let start = days_from_civil(2024, 1, 1);
    (1..=ACCOUNTS)
        .map(|n| {
            let name = match n {
                7 => "O'Brien \\ Sons".to_string(),
                9 => "Acme".to_string(),
                10 => "ACME".to_string(),
                _ => format!("Account {n:03}"),
            };
            let industry = ["Technology", "Finance", "Retail", "", "Energy"][n % 5];
            json!({
                "Id": id("001", n),
                "Name": name,
                "Industry": if industry.is_empty() { Value::Null } else { json!(industry) },
                "AnnualRevenue": if n % 7 == 0 { Value::Null } else { json!((n * 1500) as f64) },
                "NumberOfEmployees": if n % 11 == 0 { Value::Null } else { json!(n * 37 % 1000) },
                "CreatedDate": datetime((start * 24 + n as i64 * 5) * 3_600_000),
                "LastActivityDate": if n % 4 == 0 { Value::Null } else { json!(date(start + n as i64)) },
                "Active__c": n % 2 == 0,
                "Description": if n == 3 { json!("Line one\nLine two") } else { Value::Null },
                "BillingAddress": if n % 3 == 0 { json!({ "city": "Oslo", "country": "NO" }) } else { Value::Null },
                "OwnerId": id("005", 1 + n % 3),
            })
        })
        .collect()
}

fn contacts() -> Vec<Value> {
    let first = ["Ada", "Alan", "Grace", "Edsger"];
    (1..=CONTACTS)
        .map(|n| {
            json!({
                "Id": id("003", n),
                "FirstName": first[n % 4],
                "LastName": format!("Person{n}"),
                "Email": format!("person{n}@example.com"),
                "AccountId": id("001", n),
                "Birthdate": date(days_from_civil(1980, 1, 1) + n as i64 * 400),
            })
        })
        .collect()
}

/// A request under the mock's `/salesforce` (`prefix`), `path` the rest.
pub fn handle(state: &State, req: &Request, path: &str, prefix: &str) -> Response {
    if path == "/services/oauth2/token" {
        // The mock's OAuth server, answering as Salesforce does: with the instance's URL.
        let response = state.oauth.handle("token", req);
        let Ok(mut body) = serde_json::from_slice::<Value>(&response.body) else { return response };
        if response.status == 200 {
            body["instance_url"] = json!(format!("{}{prefix}", state.base_url));
            // Salesforce's token responses say nothing of when the token expires.
            if let Some(members) = body.as_object_mut() {
                members.remove("expires_in");
            }
        }
        return json(response.status, &body);
    }
    if !authorized(state, req) {
        return error(401, "INVALID_SESSION_ID", "Session expired or invalid");
    }
    if path.starts_with("/exhausted/") {
        return error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
    }
    let segments: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let ["services", "data", version, rest @ ..] = segments.as_slice() else {
        return error(404, "NOT_FOUND", "The requested resource does not exist");
    };
    let versioned = version.strip_prefix('v').and_then(|v| v.parse::<f64>().ok()).is_some();
    let params = parse_query(&req.query);
    match (req.method.as_str(), rest) {
        _ if !versioned => error(404, "NOT_FOUND", "The requested resource does not exist"),
        ("GET", ["limits"]) => json(200, &json!({ "DailyApiRequests": { "Max": 15000, "Remaining": 14990 } })),
        ("GET", ["sobjects"]) => {
            let mut list: Vec<Value> = OBJECTS
                .iter()
                .map(|o| json!({ "name": o.name, "label": o.name, "queryable": true, "createable": true, "custom": false }))
                .collect();
            list.push(
                json!({ "name": "AggregateResult", "label": "Aggregate Result", "queryable": false, "custom": false }),
            );
            json(200, &json!({ "encoding": "UTF-8", "maxBatchSize": 200, "sobjects": list }))
        }
        ("GET", ["sobjects", name, "describe"]) => match spec(name) {
            Some(spec) => {
                let fields: Vec<Value> = spec
                    .fields
                    .iter()
                    .map(|(n, t, required, createable)| json!({ "name": n, "label": n, "type": t, "nillable": !required && *n != "Id", "createable": createable, "updateable": createable }))
                    .collect();
                json(200, &json!({ "name": spec.name, "label": spec.name, "queryable": true, "fields": fields }))
            }
            None => error(404, "NOT_FOUND", "The requested resource does not exist"),
        },
        ("GET", ["query"]) => {
            let Some(soql) = params.iter().find(|(k, _)| k == "q").map(|(_, v)| v.clone()) else {
                return error(400, "MALFORMED_QUERY", "A query string has to be specified");
            };
            let batch = batch_size(req);
            let locator = state.providers.with("salesforce.cursors", Vec::new, |cursors| {
                cursors.push(json!({ "soql": soql, "batch": batch }));
                format!("01gMock{:011}", cursors.len())
            });
            page(state, &format!("{prefix}/services/data/{version}"), &soql, batch, &locator, 0)
        }
        ("GET", ["query", next]) => {
            let Some((locator, offset)) = next.split_once('-') else {
                return error(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
            };
            let cursor = state.providers.with("salesforce.cursors", Vec::new, |cursors| {
                let n: usize = locator.strip_prefix("01gMock")?.parse().ok()?;
                cursors.get(n.checked_sub(1)?).cloned()
            });
            match (cursor, offset.parse::<usize>()) {
                (Some(c), Ok(offset)) => {
                    let (soql, batch) =
                        (c["soql"].as_str().unwrap_or(""), c["batch"].as_u64().unwrap_or(2000) as usize);
                    page(state, &format!("{prefix}/services/data/{version}"), soql, batch, locator, offset)
                }
                _ => error(400, "INVALID_QUERY_LOCATOR", "invalid query locator"),
            }
        }
        (method, ["composite", "sobjects"]) => collections(state, req, method, &params),
        _ => error(404, "NOT_FOUND", "The requested resource does not exist"),
    }
}

fn spec(name: &str) -> Option<&'static Spec> {
    OBJECTS.iter().find(|o| o.name.eq_ignore_ascii_case(name))
}

fn batch_size(req: &Request) -> usize {
    let given = req.header("sforce-query-options").and_then(|h| {
        h.split(',').find_map(|o| o.trim().strip_prefix("batchSize=")).and_then(|n| n.trim().parse::<usize>().ok())
    });
    given.unwrap_or(2000).clamp(200, 2000)
}

fn page(state: &State, api: &str, soql: &str, batch: usize, locator: &str, offset: usize) -> Response {
    let query = match Query::parse(soql) {
        Ok(q) => q,
        Err(e) => return e,
    };
    let rows = match state.providers.with(query.spec.collection, query.spec.seed, |all| query.run(all)) {
        Ok(rows) => rows,
        Err(e) => return e,
    };
    let end = (offset + batch).min(rows.len());
    let mut body =
        json!({ "totalSize": rows.len(), "done": end >= rows.len(), "records": rows.get(offset..end).unwrap_or(&[]) });
    if end < rows.len() {
        body["nextRecordsUrl"] = json!(format!("{api}/query/{locator}-{end}"));
    }
    json(200, &body)
}

#[derive(Clone, Debug, PartialEq)]
enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Date(String),
    DateTime(i64),
}

#[derive(Debug)]
enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    Cmp(String, String, Lit),
    In(String, Vec<Lit>),
    Like(String, Vec<Piece>),
}

/// A decoded character of a string literal; in a LIKE pattern, the unescaped wildcards.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Piece {
    Char(char),
    AnyRun,
    AnyOne,
}

/// A string literal's text as written between the quotes, decoded by SOQL's escape rules.
fn decode(raw: &str, like: bool) -> Result<Vec<Piece>, Response> {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        out.push(match c {
            '%' if like => Piece::AnyRun,
            '_' if like => Piece::AnyOne,
            '\\' => {
                let escaped = chars.get(i).copied();
                i += 1;
                Piece::Char(match escaped {
                    Some('n' | 'N') => '\n',
                    Some('r' | 'R') => '\r',
                    Some('t' | 'T') => '\t',
                    Some('b' | 'B') => '\u{8}',
                    Some('f' | 'F') => '\u{c}',
                    Some(c @ ('\'' | '"' | '\\')) => c,
                    Some(c @ ('%' | '_')) if like => c,
                    Some('u') => {
                        let hex: String = chars.get(i..i + 4).unwrap_or(&[]).iter().collect();
                        i += 4;
                        u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| malformed("bad \\u escape"))?
                    }
                    _ => return Err(malformed("Invalid string literal: illegal escape sequence")),
                })
            }
            c => Piece::Char(c),
        });
    }
    Ok(out)
}

fn text(pieces: &[Piece]) -> String {
    pieces.iter().map(|p| if let Piece::Char(c) = p { *c } else { '?' }).collect()
}

/// SOQL LIKE: `%` any run, `_` any one character, the rest without regard to case.
fn like(value: &[char], pattern: &[Piece]) -> bool {
    match pattern.split_first() {
        None => value.is_empty(),
        Some((Piece::AnyRun, rest)) => (0..=value.len()).any(|skip| like(&value[skip..], rest)),
        Some((piece, rest)) => value.split_first().is_some_and(|(c, value)| {
            let same = match piece {
                Piece::Char(p) => p.to_lowercase().eq(c.to_lowercase()),
                _ => true,
            };
            same && like(value, rest)
        }),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Lit(Lit),
    /// A string literal as written.
    Str(String),
    Sym(String),
}

fn malformed(message: &str) -> Response {
    error(400, "MALFORMED_QUERY", message)
}

fn tokens(text: &str) -> Result<Vec<Tok>, Response> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            // Kept as written: escapes are decoded where the literal is used (`\%` is valid in LIKE only).
            let mut raw = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(malformed("unterminated string literal")),
                    Some('\'') => break,
                    Some('\\') => {
                        raw.extend(chars.get(i..(i + 2).min(chars.len())).unwrap_or(&[]));
                        i += 2;
                        continue;
                    }
                    Some(c) => raw.push(*c),
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Str(raw));
        } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            i += 1;
            while chars.get(i).is_some_and(|c| c.is_ascii_digit() || ".:-+TZ".contains(*c)) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let lit = if word.len() == 10 && word.as_bytes()[4] == b'-' {
                Lit::Date(word)
            } else if let Some(ms) = epoch_ms(&word) {
                Lit::DateTime(ms)
            } else {
                Lit::Num(word.parse().map_err(|_| malformed(&format!("unexpected token: '{word}'")))?)
            };
            out.push(Tok::Lit(lit));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while chars.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(match word.to_ascii_lowercase().as_str() {
                "null" => Tok::Lit(Lit::Null),
                "true" => Tok::Lit(Lit::Bool(true)),
                "false" => Tok::Lit(Lit::Bool(false)),
                _ => Tok::Word(word),
            });
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let sym = if ["!=", "<>", "<=", ">="].contains(&two.as_str()) { two } else { c.to_string() };
            if !["!=", "<>", "<=", ">=", "=", "<", ">", "(", ")", ","].contains(&sym.as_str()) {
                return Err(malformed(&format!("unexpected token: '{sym}'")));
            }
            i += sym.chars().count();
            out.push(Tok::Sym(sym));
        }
    }
    Ok(out)
}

struct Query {
    spec: &'static Spec,
    fields: Vec<&'static str>,
    filter: Option<Cond>,
    order: Vec<(&'static str, bool, bool)>,
    limit: Option<usize>,
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    spec: Option<&'static Spec>,
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.toks.get(self.at), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn word(&mut self, word: &str) -> Result<(), Response> {
        if self.peek_word(word) {
            self.at += 1;
            Ok(())
        } else {
            Err(malformed(&format!("expecting {word}")))
        }
    }

    fn sym(&mut self, sym: &str) -> bool {
        let found = self.toks.get(self.at) == Some(&Tok::Sym(sym.into()));
        self.at += usize::from(found);
        found
    }

    fn name(&mut self) -> Result<String, Response> {
        match self.toks.get(self.at).cloned() {
            Some(Tok::Word(w)) => {
                self.at += 1;
                Ok(w)
            }
            other => Err(malformed(&format!("unexpected token: {other:?}"))),
        }
    }

    /// A field of the object, by its own spelling; Salesforce's error for one it does not have.
    fn field(&mut self) -> Result<(&'static str, &'static str), Response> {
        let name = self.name()?;
        let spec = self.spec.expect("FROM is read first");
        spec.fields.iter().find(|f| f.0.eq_ignore_ascii_case(&name)).map(|f| (f.0, f.1)).ok_or_else(|| {
            error(400, "INVALID_FIELD", &format!("No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", spec.name))
        })
    }

    fn literal(&mut self, field: (&str, &str)) -> Result<Lit, Response> {
        let lit = match self.toks.get(self.at).cloned() {
            Some(Tok::Lit(lit)) => lit,
            Some(Tok::Str(raw)) => Lit::Str(text(&decode(&raw, false)?)),
            _ => return Err(malformed("expecting a value")),
        };
        self.at += 1;
        let expected = match field.1 {
            "boolean" => "boolean",
            "int" | "double" | "currency" | "percent" => "number",
            "date" => "date",
            "datetime" => "datetime",
            "address" => {
                return Err(error(
                    400,
                    "INVALID_FIELD",
                    &format!("field '{}' can not be filtered in a query call", field.0),
                ))
            }
            _ => "string",
        };
        let given = match &lit {
            Lit::Null => return Ok(lit),
            Lit::Bool(_) => "boolean",
            Lit::Num(_) => "number",
            Lit::Str(_) => "string",
            Lit::Date(_) => "date",
            Lit::DateTime(_) => "datetime",
        };
        if given != expected {
            let quoted =
                if expected == "string" { "should be enclosed in quotes" } else { "should not be enclosed in quotes" };
            return Err(error(
                400,
                "INVALID_FIELD",
                &format!("value of filter criterion for field '{}' must be of type {expected} and {quoted}", field.0),
            ));
        }
        Ok(lit)
    }

    fn or(&mut self) -> Result<Cond, Response> {
        let mut left = self.and()?;
        while self.peek_word("OR") {
            self.at += 1;
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Cond, Response> {
        let mut left = self.unary()?;
        while self.peek_word("AND") {
            self.at += 1;
            left = Cond::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Cond, Response> {
        if self.peek_word("NOT") {
            self.at += 1;
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        if self.sym("(") {
            let inner = self.or()?;
            return if self.sym(")") { Ok(inner) } else { Err(malformed("expecting ')'")) };
        }
        let field = self.field()?;
        if self.peek_word("IN") {
            self.at += 1;
            if !self.sym("(") {
                return Err(malformed("expecting '('"));
            }
            let mut items = vec![self.literal(field)?];
            while self.sym(",") {
                items.push(self.literal(field)?);
            }
            return if self.sym(")") { Ok(Cond::In(field.0.into(), items)) } else { Err(malformed("expecting ')'")) };
        }
        if self.peek_word("LIKE") {
            self.at += 1;
            if !matches!(field.1, "string" | "id" | "reference" | "email" | "phone" | "url" | "picklist" | "textarea") {
                return Err(error(400, "INVALID_FIELD", &format!("invalid operator on field '{}': LIKE", field.0)));
            }
            let Some(Tok::Str(raw)) = self.toks.get(self.at).cloned() else {
                return Err(malformed("expecting a string value for LIKE"));
            };
            self.at += 1;
            return Ok(Cond::Like(field.0.into(), decode(&raw, true)?));
        }
        let op = match self.toks.get(self.at) {
            Some(Tok::Sym(s)) if ["=", "!=", "<>", "<", "<=", ">", ">="].contains(&s.as_str()) => s.clone(),
            _ => return Err(malformed("expecting an operator")),
        };
        self.at += 1;
        Ok(Cond::Cmp(field.0.into(), op, self.literal(field)?))
    }
}

impl Query {
    fn parse(soql: &str) -> Result<Query, Response> {
        let mut p = Parser { toks: tokens(soql)?, at: 0, spec: None };
        p.word("SELECT")?;
        let from = p.toks.iter().position(|t| matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case("FROM")));
        let object = match from.and_then(|i| p.toks.get(i + 1)) {
            Some(Tok::Word(w)) => w.clone(),
            _ => return Err(malformed("expecting FROM")),
        };
        p.spec = Some(spec(&object).ok_or_else(|| {
            error(400, "INVALID_TYPE", &format!("sObject type '{object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."))
        })?);
        let mut fields = vec![p.field()?.0];
        while p.sym(",") {
            fields.push(p.field()?.0);
        }
        p.word("FROM")?;
        p.at += 1;
        let filter = if p.peek_word("WHERE") {
            p.at += 1;
            Some(p.or()?)
        } else {
            None
        };
        let mut order = Vec::new();
        if p.peek_word("ORDER") {
            p.at += 1;
            p.word("BY")?;
            loop {
                let field = p.field()?.0;
                let desc = p.peek_word("DESC");
                if desc || p.peek_word("ASC") {
                    p.at += 1;
                }
                let mut nulls_first = true;
                if p.peek_word("NULLS") {
                    p.at += 1;
                    nulls_first = p.peek_word("FIRST");
                    if !nulls_first && !p.peek_word("LAST") {
                        return Err(malformed("expecting FIRST or LAST"));
                    }
                    p.at += 1;
                }
                order.push((field, desc, nulls_first));
                if !p.sym(",") {
                    break;
                }
            }
        }
        let mut limit = None;
        if p.peek_word("LIMIT") {
            p.at += 1;
            match p.toks.get(p.at) {
                Some(Tok::Lit(Lit::Num(n))) if *n >= 0.0 && n.fract() == 0.0 => limit = Some(*n as usize),
                _ => return Err(malformed("expecting a number after LIMIT")),
            }
            p.at += 1;
        }
        if p.at != p.toks.len() {
            return Err(malformed(&format!("unexpected token: {:?}", p.toks[p.at])));
        }
        Ok(Query { spec: p.spec.expect("set above"), fields, filter, order, limit })
    }

    fn run(&self, all: &[Value]) -> Result<Vec<Value>, Response> {
        let mut rows: Vec<&Value> = all.iter().filter(|r| self.filter.as_ref().is_none_or(|c| holds(c, r))).collect();
        rows.sort_by(|a, b| {
            self.order
                .iter()
                .map(|(f, desc, nulls_first)| match (a[*f].is_null(), b[*f].is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => {
                        if *nulls_first {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    (false, true) => {
                        if *nulls_first {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    _ => {
                        let o = compare(&a[*f], &lit_of(&b[*f])).unwrap_or(Ordering::Equal);
                        if *desc {
                            o.reverse()
                        } else {
                            o
                        }
                    }
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
        rows.truncate(self.limit.unwrap_or(usize::MAX));
        Ok(rows
            .into_iter()
            .map(|r| {
                let mut out = Map::new();
                let url =
                    format!("/services/data/v60.0/sobjects/{}/{}", self.spec.name, r["Id"].as_str().unwrap_or(""));
                out.insert("attributes".into(), json!({ "type": self.spec.name, "url": url }));
                for f in &self.fields {
                    out.insert(f.to_string(), r[*f].clone());
                }
                Value::Object(out)
            })
            .collect())
    }
}

/// A stored value as a literal, to compare two stored values.
fn lit_of(value: &Value) -> Lit {
    match value {
        Value::Bool(b) => Lit::Bool(*b),
        Value::Number(n) => Lit::Num(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => match epoch_ms(s) {
            Some(ms) => Lit::DateTime(ms),
            None => Lit::Str(s.clone()),
        },
        _ => Lit::Null,
    }
}

/// A stored (non-null) value against a literal: text without regard to case.
fn compare(value: &Value, lit: &Lit) -> Option<Ordering> {
    match (value, lit) {
        (Value::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
        (Value::Number(a), Lit::Num(b)) => a.as_f64()?.partial_cmp(b),
        (Value::String(a), Lit::Date(b)) => Some(a.as_str().cmp(b.as_str())),
        (Value::String(a), Lit::DateTime(b)) => Some(epoch_ms(a)?.cmp(b)),
        (Value::String(a), Lit::Str(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        _ => None,
    }
}

fn holds(cond: &Cond, record: &Value) -> bool {
    match cond {
        Cond::And(a, b) => holds(a, record) && holds(b, record),
        Cond::Or(a, b) => holds(a, record) || holds(b, record),
        Cond::Not(a) => !holds(a, record),
        Cond::Like(f, pattern) => {
            record[f.as_str()].as_str().is_some_and(|v| like(&v.chars().collect::<Vec<_>>(), pattern))
        }
        Cond::In(f, items) => items.iter().any(|l| holds(&Cond::Cmp(f.clone(), "=".into(), l.clone()), record)),
        Cond::Cmp(f, op, lit) => {
            let value = &record[f.as_str()];
            match (value.is_null(), lit == &Lit::Null, op.as_str()) {
                (null, true, "=") => null,
                (null, true, "!=" | "<>") => !null,
                (_, true, _) => false,
                // SOQL: a NULL field is unequal to every value.
                (true, false, "!=" | "<>") => true,
                (true, false, _) => false,
                _ => match (compare(value, lit), op.as_str()) {
                    (Some(o), "=") => o == Ordering::Equal,
                    (Some(o), "!=" | "<>") => o != Ordering::Equal,
                    (Some(o), "<") => o == Ordering::Less,
                    (Some(o), "<=") => o != Ordering::Greater,
                    (Some(o), ">") => o == Ordering::Greater,
                    (Some(o), ">=") => o != Ordering::Less,
                    _ => false,
                },
            }
        }
    }
}

fn rolled_back() -> Value {
    json!({ "id": null, "success": false, "errors": [{ "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all records were valid and the request was using AllOrNone header", "fields": [] }] })
}

fn failed(id: Value, code: &str, message: &str, fields: &[&str]) -> Value {
    json!({ "id": id, "success": false, "errors": [{ "statusCode": code, "message": message, "fields": fields }] })
}

/// sObject Collections: create, update and delete up to 200 records, all or none when asked.
fn collections(state: &State, req: &Request, method: &str, params: &[(String, String)]) -> Response {
    if method == "DELETE" {
        let ids: Vec<String> = params
            .iter()
            .filter(|(k, _)| k == "ids")
            .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect();
        let all_or_none = params.iter().any(|(k, v)| k == "allOrNone" && v == "true");
        if ids.is_empty() || ids.len() > 200 {
            return error(400, "INVALID_FIELD", "ids: between 1 and 200 record ids are required");
        }
        let mut results = Vec::new();
        for id in &ids {
            let spec = OBJECTS.iter().find(|o| id.starts_with(o.prefix));
            let found = spec.is_some_and(|s| {
                state.providers.with(s.collection, s.seed, |all| all.iter().any(|r| r["Id"] == id.as_str()))
            });
            results.push(if found {
                json!({ "id": id, "success": true, "errors": [] })
            } else {
                failed(json!(id), "ENTITY_IS_DELETED", "entity is deleted", &[])
            });
        }
        let refused = results.iter().any(|r| r["success"] == false);
        if refused && all_or_none {
            return json(
                200,
                &Value::Array(
                    results.into_iter().map(|r| if r["success"] == true { rolled_back() } else { r }).collect(),
                ),
            );
        }
        for spec in &OBJECTS {
            state
                .providers
                .with(spec.collection, spec.seed, |all| all.retain(|r| !ids.iter().any(|id| r["Id"] == id.as_str())));
        }
        return json(200, &Value::Array(results));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return error(400, "JSON_PARSER_ERROR", "The request body is not JSON");
    };
    let (Some(records), all_or_none) = (body["records"].as_array(), body["allOrNone"] == true) else {
        return error(400, "INVALID_FIELD", "records: a list of sObjects is required");
    };
    if records.len() > 200 {
        return error(400, "EXCEEDED_ID_LIMIT", "record limit exceeded: 200 records at most");
    }
    let update = method == "PATCH";
    if !update && method != "POST" {
        return error(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed");
    }
    // Check every record, then save the good ones (none if one failed and allOrNone is set).
    let mut results = Vec::new();
    let mut good = Vec::new();
    for record in records {
        let Some(spec) = record["attributes"]["type"].as_str().and_then(spec) else {
            results.push(failed(Value::Null, "INVALID_TYPE", "sObject type is missing or not supported", &[]));
            continue;
        };
        // Field names are not case-sensitive: stored by their own spelling.
        let fields: Map<String, Value> = record
            .as_object()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k != "attributes" && !(update && k == "id"))
            .map(|(k, v)| (spec.fields.iter().find(|f| f.0.eq_ignore_ascii_case(&k)).map_or(k, |f| f.0.to_string()), v))
            .collect();
        let id = record["id"].as_str().map(str::to_string);
        let unknown: Vec<&str> =
            fields.keys().filter(|k| !spec.fields.iter().any(|f| f.0 == k.as_str())).map(String::as_str).collect();
        let locked: Vec<&str> = fields
            .keys()
            .filter(|k| spec.fields.iter().any(|f| f.0 == k.as_str() && !f.3))
            .map(String::as_str)
            .collect();
        let missing: Vec<&str> = spec
            .fields
            .iter()
            .filter(|f| f.2 && (fields.get(f.0).is_some_and(Value::is_null) || (!update && !fields.contains_key(f.0))))
            .map(|f| f.0)
            .collect();
        let exists = id.as_ref().is_some_and(|id| {
            state.providers.with(spec.collection, spec.seed, |all| all.iter().any(|r| r["Id"] == id.as_str()))
        });
        results.push(if let Some(field) = unknown.first() {
            failed(Value::Null, "INVALID_FIELD", &format!("No such column '{field}' on sobject of type {}", spec.name), &[])
        } else if !locked.is_empty() {
            failed(Value::Null, "INVALID_FIELD_FOR_INSERT_UPDATE", &format!("Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", locked.join(", ")), &locked)
        } else if !missing.is_empty() {
            failed(Value::Null, "REQUIRED_FIELD_MISSING", &format!("Required fields are missing: [{}]", missing.join(", ")), &missing)
        } else if update && !exists {
            failed(json!(id), "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", &[])
        } else {
            good.push((spec, id, fields));
            json!({ "success": true, "errors": [] })
        });
    }
    let refused = results.iter().any(|r| r["success"] == false);
    if refused && all_or_none {
        return json(
            200,
            &Value::Array(results.into_iter().map(|r| if r["success"] == true { rolled_back() } else { r }).collect()),
        );
    }
    let mut saved = good.into_iter();
    for result in results.iter_mut().filter(|r| r["success"] == true) {
        let Some((spec, existing, fields)) = saved.next() else { break };
        let saved_id = state.providers.with(spec.collection, spec.seed, |all| match existing {
            Some(existing) => {
                if let Some(Value::Object(r)) = all.iter_mut().find(|r| r["Id"] == existing.as_str()) {
                    r.extend(fields);
                }
                existing
            }
            None => {
                let n =
                    all.iter().filter_map(|r| r["Id"].as_str()?.get(7..15)?.parse::<usize>().ok()).max().unwrap_or(0)
                        + 1;
                let mut record: Map<String, Value> = spec
                    .fields
                    .iter()
                    .map(|f| (f.0.to_string(), if f.1 == "boolean" { json!(false) } else { Value::Null }))
                    .collect();
                record.insert("Id".into(), json!(id(spec.prefix, n)));
                record.insert("CreatedDate".into(), json!("2025-01-01T00:00:00.000+0000"));
                record.retain(|k, _| spec.fields.iter().any(|f| f.0 == k));
                record.extend(fields);
                all.push(Value::Object(record));
                id(spec.prefix, n)
            }
        });
        result["id"] = json!(saved_id);
    }
    json(200, &Value::Array(results))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(soql: &str) -> Result<Vec<Value>, u16> {
        let q = Query::parse(soql).map_err(|r| r.status)?;
        q.run(&accounts()).map_err(|r| r.status)
    }

    #[test]
    fn soql_follows_salesforce_semantics() {
        assert_eq!(epoch_ms("1970-01-02T00:00:00Z"), Some(86_400_000));
        assert_eq!(epoch_ms("1970-01-02T01:00:00.500+01:00"), Some(86_400_500));
        assert_eq!(datetime(86_400_500), "1970-01-02T00:00:00.500+0000");
        // Text compares without regard to case; != keeps NULLs.
        assert_eq!(run("SELECT Id FROM Account WHERE Name = 'acme'").unwrap().len(), 2);
        assert_eq!(run("SELECT Name FROM Account WHERE Name = 'O\\'Brien \\\\ Sons'").unwrap().len(), 1);
        let ne = run("SELECT Id FROM Account WHERE AnnualRevenue != 1500").unwrap().len();
        assert_eq!(ne, ACCOUNTS - 1);
        let all = run("SELECT Id, AnnualRevenue FROM Account ORDER BY AnnualRevenue DESC NULLS LAST LIMIT 3").unwrap();
        assert_eq!(all[0]["AnnualRevenue"], json!(450.0 * 1500.0));
        let first = run("SELECT Id FROM Account ORDER BY AnnualRevenue").unwrap();
        assert_eq!(first[0]["Id"], id("001", 7), "NULLs first by default");
        assert_eq!(run("SELECT Id FROM Account WHERE CreatedDate > 2024-01-01T05:00:00Z").unwrap().len(), ACCOUNTS - 1);
        // Literals of the wrong type, unknown fields and objects are refused.
        assert_eq!(run("SELECT Id FROM Account WHERE CreatedDate > '2024-01-01'"), Err(400));
        assert_eq!(run("SELECT Nope FROM Account"), Err(400));
        assert_eq!(run("SELECT Id FROM Nope"), Err(400));
        assert_eq!(run("SELECT Id FROM Account WHERE Name = 'a\\q'"), Err(400));
        // LIKE ignores case; `\%` and `\_` are literal there, and only there.
        assert_eq!(run("SELECT Id FROM Account WHERE Name LIKE 'ACM_%'").unwrap().len(), 2);
        assert_eq!(run("SELECT Id FROM Account WHERE Name LIKE 'o\\'brien%'").unwrap().len(), 1);
        assert_eq!(run("SELECT Id FROM Account WHERE Name LIKE 'Acme\\%'").unwrap().len(), 0);
        assert_eq!(run("SELECT Id FROM Account WHERE Name = 'Acme\\%'"), Err(400));
        assert_eq!(run("SELECT Id FROM Account WHERE AnnualRevenue LIKE '1%'"), Err(400));
    }
}
