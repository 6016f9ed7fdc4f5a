//! Google Sheets API v4 (`/sheets/v4/spreadsheets/…`): spreadsheet metadata (sheets with their grid
//! size), `values/{range}` and `values:batchGet` reads in A1 notation (quoted sheet titles, rows-only and
//! open-ended ranges; trailing empty rows and cells left out, as Sheets does; `valueRenderOption`),
//! `values/{range}:append` and `values:batchUpdate` writes, Google's error body
//! (`{"error": {"code", "message", "status"}}`), and a token endpoint for service accounts
//! (`POST /sheets/oauth2/token`, the JWT bearer grant). `/sheets/429/{k}/v4/…` refuses the first k
//! requests of each URL with Google's 429 (`RESOURCE_EXHAUSTED`, plus a `Retry-After: 1` Google does not
//! always send; `always`: every one).
//!
//! Reads honour `majorDimension` (`ROWS`, the default, or `COLUMNS`: one array per column, each without
//! its trailing empty cells, trailing empty columns left out).
//!
//! Spreadsheet `sheetMock1` has `Orders` (header row 1, 30 orders in rows 2–32, row 12 empty, 40 rows),
//! `Team's notes` (2 rows) and `Report` (a title in A1, a header at B3:C3, 3 rows under it); spreadsheet
//! `sheetMockOdd` has badly laid out sheets: `No header` (row 1 empty), `Twins` (the header `Amount` in
//! C1 and E1), `Gaps` (B1 empty, with data under it) and `Contacts` (Name, Phone, Email, City; rows
//! without an email among them: a note, a contact without one, an empty row).

use serde_json::{json, Value};

use super::{authorized, json, rate_knob};
use crate::handler::State;
use crate::http::{parse_query, percent_decode, Request, Response};

pub const SPREADSHEET: &str = "sheetMock1";
/// A spreadsheet of badly laid out sheets, for the connector's errors.
pub const ODD_SPREADSHEET: &str = "sheetMockOdd";
pub const ORDERS: usize = 30;

fn error(code: u16, status: &str, message: &str) -> Response {
    json(code, &json!({ "error": { "code": code, "message": message, "status": status } }))
}

/// (title, sheet id, collection, rows in the grid, columns in the grid, seed)
struct SheetSpec {
    title: &'static str,
    id: u64,
    collection: &'static str,
    rows: usize,
    cols: usize,
    seed: fn() -> Vec<Value>,
}

const SHEETS: [SheetSpec; 3] = [
    SheetSpec { title: "Orders", id: 0, collection: "sheets/orders", rows: 40, cols: 8, seed: orders },
    SheetSpec { title: "Team's notes", id: 1714, collection: "sheets/notes", rows: 10, cols: 4, seed: notes },
    SheetSpec { title: "Report", id: 2001, collection: "sheets/report", rows: 20, cols: 5, seed: report },
];

/// Rows 1.. of Orders: each a JSON array of cells (numbers, booleans, strings).
fn orders() -> Vec<Value> {
    let customers = ["Ada", "Grace", "O'Neil", "Linus"];
    let mut rows = vec![json!(["Order ID", "Customer", "Amount", "Paid", "Date"])];
    for i in 1..=ORDERS + 1 {
        if i == 11 {
            rows.push(json!([]));
            continue;
        }
        let n = if i > 11 { i - 1 } else { i };
        let amount = if n % 7 == 0 { json!("") } else { json!(n as f64 * 12.5) };
        rows.push(json!([1000 + n, customers[n % 4], amount, n % 2 == 0, format!("2024-02-{:02}", n % 28 + 1)]));
    }
    rows
}

/// `No header`: row 1 empty, data below it.
fn no_header() -> Vec<Value> {
    vec![json!([]), json!(["Ada", 1]), json!(["Grace", 2])]
}

/// `Twins`: the header `Amount` twice (C1 and E1).
fn twins() -> Vec<Value> {
    vec![json!(["Name", "Region", "Amount", "Note", "Amount"]), json!(["Ada", "North", 1, "x", 2])]
}

/// `Gaps`: an empty header in B1, with data under it.
fn gaps() -> Vec<Value> {
    vec![json!(["Name", "", "Amount"]), json!(["Ada", "hidden", 1])]
}

/// `Contacts`: rows 2–8 under Name, Phone, Email, City; rows 4 (a note), 5 (empty) and 6 (a contact) have
/// no email, row 7 has only one.
fn contacts() -> Vec<Value> {
    vec![
        json!(["Name", "Phone", "Email", "City"]),
        json!(["Ada", "555-0101", "ada@example.com", "London"]),
        json!(["Grace", "", "grace@example.com"]),
        json!(["Prices as of March"]),
        json!([]),
        json!(["Linus", "555-0106", "", "Helsinki"]),
        json!(["", "", "ken@example.com"]),
        json!(["Margaret", "555-0108", "margaret@example.com", "Boston"]),
    ]
}

const ODD_SHEETS: [SheetSpec; 4] = [
    SheetSpec { title: "No header", id: 10, collection: "sheets/no-header", rows: 5, cols: 3, seed: no_header },
    SheetSpec { title: "Twins", id: 11, collection: "sheets/twins", rows: 5, cols: 5, seed: twins },
    SheetSpec { title: "Gaps", id: 12, collection: "sheets/gaps", rows: 5, cols: 3, seed: gaps },
    SheetSpec { title: "Contacts", id: 13, collection: "sheets/contacts", rows: 10, cols: 5, seed: contacts },
];

fn specs(spreadsheet: &str) -> Option<&'static [SheetSpec]> {
    match spreadsheet {
        SPREADSHEET => Some(&SHEETS),
        ODD_SPREADSHEET => Some(&ODD_SHEETS),
        _ => None,
    }
}

fn notes() -> Vec<Value> {
    vec![json!(["Title", "Body"]), json!(["Welcome", "First note"]), json!(["Plans", ""])]
}

fn report() -> Vec<Value> {
    vec![
        json!(["Quarterly report"]),
        json!([]),
        json!(["", "Region", "Total"]),
        json!(["", "North", 120]),
        json!(["", "South", 80]),
        json!(["", "West", 45.5]),
    ]
}

/// A parsed A1 range: sheet title, columns and rows (0-based columns, 1-based rows), open ends as None.
#[derive(Debug, PartialEq)]
struct Range {
    sheet: String,
    first_col: Option<usize>,
    first_row: Option<usize>,
    last_col: Option<usize>,
    last_row: Option<usize>,
}

fn column_index(letters: &str) -> Option<usize> {
    if letters.is_empty() || letters.len() > 3 || !letters.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    Some(letters.bytes().fold(0usize, |n, b| n * 26 + (b.to_ascii_uppercase() - b'A' + 1) as usize) - 1)
}

fn letters(mut index: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn end(text: &str) -> Option<(Option<usize>, Option<usize>)> {
    let split = text.find(|c: char| c.is_ascii_digit()).unwrap_or(text.len());
    let (col, row) = text.split_at(split);
    let col = if col.is_empty() { None } else { Some(column_index(col)?) };
    let row = if row.is_empty() { None } else { Some(row.parse().ok().filter(|r| *r >= 1)?) };
    (col.is_some() || row.is_some()).then_some((col, row))
}

fn parse_range(text: &str) -> Option<Range> {
    let (sheet, cells) = if let Some(quoted) = text.strip_prefix('\'') {
        // 'Team''s notes'!A1:B2
        let mut title = String::new();
        let mut chars = quoted.char_indices().peekable();
        loop {
            let (i, c) = chars.next()?;
            if c == '\'' {
                if chars.peek().map(|(_, c)| *c) == Some('\'') {
                    chars.next();
                    title.push('\'');
                    continue;
                }
                let rest = &quoted[i + 1..];
                let cells = match rest.strip_prefix('!') {
                    Some(cells) => cells,
                    None if rest.is_empty() => "",
                    None => return None,
                };
                break (title, cells);
            }
            title.push(c);
        }
    } else {
        match text.split_once('!') {
            Some((sheet, cells)) => (sheet.to_string(), cells),
            None => (text.to_string(), ""),
        }
    };
    if cells.is_empty() {
        return Some(Range { sheet, first_col: None, first_row: None, last_col: None, last_row: None });
    }
    let (from, to) = cells.split_once(':').unwrap_or((cells, cells));
    let (first_col, first_row) = end(from)?;
    let (last_col, last_row) = end(to)?;
    Some(Range { sheet, first_col, first_row, last_col, last_row })
}

pub fn handle(state: &State, req: &Request, path: &str) -> Response {
    if path == "/oauth2/token" && req.method == "POST" {
        return token(state, req);
    }
    if !authorized(state, req) {
        return error(401, "UNAUTHENTICATED", "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.");
    }
    let (refused, path) = rate_knob(state, "sheets", req, path);
    if refused {
        return error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'sheets.googleapis.com' for consumer 'project_number:1234567890'.",
        )
        .with_header("Retry-After", "1");
    }
    let decoded: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let params = parse_query(&req.query);
    let id = match segments.as_slice() {
        ["v4", "spreadsheets", id, ..] => *id,
        _ => return error(404, "NOT_FOUND", "Requested entity was not found."),
    };
    let Some(specs) = specs(id) else {
        return error(404, "NOT_FOUND", "Requested entity was not found.");
    };
    let store = &state.providers;
    let rows_of = |spec: &SheetSpec| store.with(spec.collection, spec.seed, |rows| rows.clone());
    let formatted = params.iter().any(|(k, v)| k == "valueRenderOption" && v == "FORMATTED_VALUE");
    let formulas = params.iter().any(|(k, v)| k == "valueRenderOption" && v == "FORMULA");
    let by_columns = match params.iter().find(|(k, _)| k == "majorDimension").map(|(_, v)| v.as_str()) {
        None | Some("ROWS") => false,
        Some("COLUMNS") => true,
        Some(other) => {
            return error(
                400,
                "INVALID_ARGUMENT",
                &format!(
                "Invalid value at 'major_dimension' (type.googleapis.com/google.apps.sheets.v4.Dimension), \"{other}\""
            ),
            )
        }
    };
    match (req.method.as_str(), &segments[3..]) {
        ("GET", []) => {
            let sheets: Vec<Value> = specs
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let rows = rows_of(s).len().max(s.rows);
                    json!({ "properties": { "sheetId": s.id, "title": s.title, "index": i, "sheetType": "GRID", "gridProperties": { "rowCount": rows, "columnCount": s.cols } } })
                })
                .collect();
            json(
                200,
                &json!({ "spreadsheetId": id, "properties": { "title": "Mock spreadsheet", "locale": "en_US" }, "sheets": sheets }),
            )
        }
        ("GET", ["values:batchGet"]) => {
            let mut ranges = Vec::new();
            for (_, text) in params.iter().filter(|(k, _)| k == "ranges") {
                match read(specs, text, &rows_of, (formatted, formulas), by_columns) {
                    Ok(r) => ranges.push(r),
                    Err(resp) => return resp,
                }
            }
            json(200, &json!({ "spreadsheetId": id, "valueRanges": ranges }))
        }
        ("GET", ["values", range]) => match read(specs, range, &rows_of, (formatted, formulas), by_columns) {
            Ok(r) => json(200, &r),
            Err(resp) => resp,
        },
        ("POST", ["values", target]) if target.ends_with(":append") => {
            let text = target.trim_end_matches(":append");
            let Some((range, spec)) = locate(specs, text) else {
                return error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {text}"));
            };
            let parse = match params.iter().find(|(k, _)| k == "valueInputOption").map(|(_, v)| v.as_str()) {
                Some("USER_ENTERED") => true,
                Some("RAW") => false,
                _ => return error(400, "INVALID_ARGUMENT", "'valueInputOption' is required but not specified"),
            };
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let Some(values) = body["values"].as_array() else {
                return error(400, "INVALID_ARGUMENT", "Invalid JSON payload: values is required");
            };
            store.with(spec.collection, spec.seed, |rows| {
                let last = rows.iter().rposition(|r| r.as_array().is_some_and(|c| c.iter().any(|v| v != "" && !v.is_null()))).map_or(0, |i| i + 1);
                rows.truncate(last);
                let first_col = range.first_col.unwrap_or(0);
                for value in values {
                    let cells = value.as_array().cloned().unwrap_or_default();
                    let cells = cells.into_iter().map(|c| entered(c, parse));
                    let mut row = vec![json!(""); first_col];
                    row.extend(cells);
                    rows.push(Value::Array(row));
                }
                let width = values.iter().filter_map(Value::as_array).map(Vec::len).max().unwrap_or(1).max(1);
                let updated = format!("'{}'!{}{}:{}{}", spec.title.replace('\'', "''"), letters(first_col), last + 1, letters(first_col + width - 1), last + values.len());
                json(200, &json!({ "spreadsheetId": id, "tableRange": format!("'{}'!A1:{}{last}", spec.title.replace('\'', "''"), letters(first_col + width - 1)),
                    "updates": { "spreadsheetId": id, "updatedRange": updated, "updatedRows": values.len(), "updatedColumns": width, "updatedCells": values.len() * width } }))
            })
        }
        ("POST", ["values:batchUpdate"]) => {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let parse = match body["valueInputOption"].as_str() {
                Some("USER_ENTERED") => true,
                Some("RAW") => false,
                _ => return error(400, "INVALID_ARGUMENT", "'valueInputOption' is required but not specified"),
            };
            let data = body["data"].as_array().cloned().unwrap_or_default();
            let mut cells = 0;
            for entry in &data {
                let text = entry["range"].as_str().unwrap_or_default();
                let Some((range, spec)) = locate(specs, text) else {
                    return error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {text}"));
                };
                let (Some(col), Some(row)) = (range.first_col, range.first_row) else {
                    return error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {text}"));
                };
                let value = entered(entry["values"][0][0].clone(), parse);
                store.with(spec.collection, spec.seed, |rows| {
                    while rows.len() < row {
                        rows.push(json!([]));
                    }
                    let cells_of_row = rows[row - 1].as_array_mut().expect("rows are arrays");
                    while cells_of_row.len() <= col {
                        cells_of_row.push(json!(""));
                    }
                    cells_of_row[col] = value;
                });
                cells += 1;
            }
            json(
                200,
                &json!({ "spreadsheetId": id, "totalUpdatedRows": data.len().min(1), "totalUpdatedCells": cells }),
            )
        }
        _ => error(404, "NOT_FOUND", "Requested entity was not found."),
    }
}

/// A cell as written with `valueInputOption` `USER_ENTERED` (`parse`) or `RAW`. USER_ENTERED reads text
/// as the Sheets UI does: a leading `'` keeps the rest as text, `=` starts a formula (here: integers
/// added and subtracted), `TRUE`/`FALSE` are booleans, numbers (`007`, `+1`, `-1.5`) numbers and
/// `YYYY-M-D` dates; RAW stores every value as given.
fn entered(cell: Value, parse: bool) -> Value {
    let Value::String(text) = &cell else { return cell };
    if !parse {
        return cell;
    }
    if let Some(rest) = text.strip_prefix('\'') {
        return json!(rest);
    }
    if let Some(formula) = text.strip_prefix('=') {
        return json!({ "formula": text, "value": evaluate(formula) });
    }
    if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") {
        return json!(text.eq_ignore_ascii_case("true"));
    }
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.bytes().any(|b| b.is_ascii_digit()) && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        if let Ok(n) = text.trim_start_matches('+').parse::<f64>() {
            return if n.fract() == 0.0 && n.abs() < 1e15 { json!(n as i64) } else { json!(n) };
        }
    }
    let parts: Vec<&str> = text.split('-').collect();
    if let [y, m, d] = parts.as_slice() {
        let number = |p: &str, len: std::ops::RangeInclusive<usize>| {
            (len.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse::<u32>().ok()).flatten()
        };
        if let (Some(y), Some(m @ 1..=12), Some(d @ 1..=31)) = (number(y, 4..=4), number(m, 1..=2), number(d, 1..=2)) {
            return json!({ "date": format!("{y:04}-{m:02}-{d:02}") });
        }
    }
    cell
}

/// A formula's value: integers joined by `+` and `-`; `#ERROR!` for anything else.
fn evaluate(formula: &str) -> Value {
    let mut total: i64 = 0;
    let mut sign = 1;
    let mut number = String::new();
    for c in formula.chars().chain(['+']) {
        match c {
            '0'..='9' => number.push(c),
            '+' | '-' => {
                if !number.is_empty() {
                    let Ok(n) = number.parse::<i64>() else { return json!("#ERROR!") };
                    total += sign * n;
                    number.clear();
                } else if c == '+' && total == 0 && sign == 1 {
                    continue;
                }
                sign = if c == '-' { -1 } else { 1 };
            }
            ' ' => {}
            _ => return json!("#ERROR!"),
        }
    }
    json!(total)
}

/// What a read shows of a stored cell: a formula's value (its text with `valueRenderOption=FORMULA`), a
/// date as `YYYY-MM-DD` (`dateTimeRenderOption=FORMATTED_STRING`, all the connector asks for).
fn shown(cell: Value, formulas: bool) -> Value {
    match cell {
        Value::Object(mut cell) => match (cell.remove("formula"), cell.remove("value"), cell.remove("date")) {
            (Some(formula), _, _) if formulas => formula,
            (Some(_), Some(value), _) => value,
            (_, _, Some(date)) => date,
            _ => Value::Null,
        },
        other => other,
    }
}

/// Google's token endpoint for service accounts (`/sheets/oauth2/token`): the JWT bearer grant. The
/// assertion's header and claims are checked (RS256, an `…iam.gserviceaccount.com` issuer, this endpoint as
/// audience, a scope, at most an hour of validity); its signature is not (the mock has no keys). The token
/// is `test-token`.
fn token(state: &State, req: &Request) -> Response {
    let refuse =
        |error: &str, description: &str| json(400, &json!({ "error": error, "error_description": description }));
    let form = parse_query(std::str::from_utf8(&req.body).unwrap_or_default());
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if field("grant_type") != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return refuse(
            "unsupported_grant_type",
            &format!("Invalid grant_type: {}", field("grant_type").unwrap_or_default()),
        );
    }
    let parts: Vec<&str> = field("assertion").unwrap_or_default().split('.').collect();
    let decode = |part: &str| -> Value {
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, part)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or(Value::Null)
    };
    if parts.len() != 3 || parts[2].is_empty() {
        return refuse(
            "invalid_request",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
        );
    }
    let (header, claims) = (decode(parts[0]), decode(parts[1]));
    let audience = format!("{}/sheets/oauth2/token", state.base_url);
    let lifetime = claims["exp"].as_u64().zip(claims["iat"].as_u64()).map(|(exp, iat)| exp.saturating_sub(iat));
    if header["alg"] != "RS256" || !lifetime.is_some_and(|l| l > 0 && l <= 3600) {
        return refuse(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
        );
    }
    if !claims["iss"].as_str().is_some_and(|i| i.ends_with(".iam.gserviceaccount.com")) {
        return refuse("invalid_grant", "Invalid JWT Signature.");
    }
    if claims["aud"] != audience.as_str() {
        return refuse("invalid_grant", "Invalid JWT: Failed audience check.");
    }
    if claims["scope"].as_str().is_none_or(|s| s.is_empty()) {
        return refuse("invalid_scope", "Invalid OAuth scope or ID token audience provided.");
    }
    json(200, &json!({ "access_token": super::TEST_TOKEN, "expires_in": 3599, "token_type": "Bearer" }))
}

fn locate(specs: &'static [SheetSpec], text: &str) -> Option<(Range, &'static SheetSpec)> {
    let range = parse_range(text)?;
    let spec = specs.iter().find(|s| s.title == range.sheet)?;
    Some((range, spec))
}

/// A `ValueRange` for a range: its rows (or columns, `by_columns`), each without its trailing empty cells,
/// the trailing empty ones left out.
fn read(
    specs: &'static [SheetSpec],
    text: &str,
    rows_of: &dyn Fn(&SheetSpec) -> Vec<Value>,
    (formatted, formulas): (bool, bool),
    by_columns: bool,
) -> Result<Value, Response> {
    let Some((range, spec)) = locate(specs, text) else {
        return Err(error(400, "INVALID_ARGUMENT", &format!("Unable to parse range: {text}")));
    };
    let rows = rows_of(spec);
    let grid_rows = rows.len().max(spec.rows);
    let first_row = range.first_row.unwrap_or(1);
    let last_row = range.last_row.unwrap_or(grid_rows).min(grid_rows);
    let first_col = range.first_col.unwrap_or(0);
    let last_col = range.last_col.unwrap_or(spec.cols - 1);
    if last_col >= spec.cols || first_row > grid_rows {
        return Err(error(
            400,
            "INVALID_ARGUMENT",
            &format!(
                "Range ('{}'!{}{first_row}:{}{last_row}) exceeds grid limits. Max rows: {grid_rows}, max columns: {}",
                spec.title,
                letters(first_col),
                letters(last_col),
                spec.cols
            ),
        ));
    }
    let empty = |v: &Value| v.is_null() || v == "";
    let render = |c: Value| match (formatted, shown(c, formulas)) {
        (true, Value::Bool(b)) => json!(if b { "TRUE" } else { "FALSE" }),
        (true, Value::Number(n)) => json!(n.to_string()),
        (_, c) => c,
    };
    let grid: Vec<Vec<Value>> = (first_row..=last_row)
        .map(|r| {
            let cells = rows.get(r - 1).and_then(Value::as_array).cloned().unwrap_or_default();
            let mut cells: Vec<Value> = cells.into_iter().skip(first_col).take(last_col + 1 - first_col).collect();
            cells.resize(last_col + 1 - first_col, json!(""));
            cells.into_iter().map(render).collect()
        })
        .collect();
    let lines: Vec<Vec<Value>> = if by_columns {
        (0..=last_col - first_col).map(|c| grid.iter().map(|row| row[c].clone()).collect()).collect()
    } else {
        grid
    };
    let mut values: Vec<Value> = lines
        .into_iter()
        .map(|mut cells| {
            while cells.last().is_some_and(empty) {
                cells.pop();
            }
            Value::Array(cells)
        })
        .collect();
    while values.last().is_some_and(|r| r.as_array().is_some_and(Vec::is_empty)) {
        values.pop();
    }
    let shown = format!(
        "'{}'!{}{first_row}:{}{last_row}",
        spec.title.replace('\'', "''"),
        letters(first_col),
        letters(last_col)
    );
    let mut body = json!({ "range": shown, "majorDimension": if by_columns { "COLUMNS" } else { "ROWS" } });
    if !values.is_empty() {
        body["values"] = Value::Array(values);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_entered_values_are_parsed_as_the_ui_does_and_raw_ones_are_not() {
        let ue = |v: Value| shown(entered(v, true), false);
        assert_eq!(ue(json!("007")), json!(7));
        assert_eq!(ue(json!("+1")), json!(1));
        assert_eq!(ue(json!("-1")), json!(-1));
        assert_eq!(ue(json!("12.5")), json!(12.5));
        assert_eq!(ue(json!("TRUE")), json!(true));
        assert_eq!(ue(json!("=1+1")), json!(2));
        assert_eq!(ue(json!("=IMPORTXML(\"x\")")), json!("#ERROR!"));
        assert_eq!(shown(entered(json!("=1+1"), true), true), json!("=1+1"));
        assert_eq!(ue(json!("2024-3-5")), json!("2024-03-05"));
        assert_eq!(ue(json!("@x")), json!("@x"));
        assert_eq!(ue(json!("'007")), json!("007"));
        assert_eq!(ue(json!("'=1+1")), json!("=1+1"));
        assert_eq!(ue(json!("a-b-c")), json!("a-b-c"));
        assert_eq!(ue(json!(12)), json!(12));
        for raw in ["007", "=1+1", "'x", "TRUE"] {
            assert_eq!(shown(entered(json!(raw), false), false), json!(raw));
        }
    }

    #[test]
    fn ranges_parse() {
        let r = parse_range("'Team''s notes'!B2:C").unwrap();
        assert_eq!(
            (r.sheet.as_str(), r.first_col, r.first_row, r.last_col, r.last_row),
            ("Team's notes", Some(1), Some(2), Some(2), None)
        );
        let r = parse_range("Orders!1:2").unwrap();
        assert_eq!((r.first_col, r.first_row, r.last_col, r.last_row), (None, Some(1), None, Some(2)));
        assert_eq!(parse_range("Orders").unwrap().first_row, None);
        assert!(parse_range("'Orders!A1").is_none());
        assert!(parse_range("Orders!A1:?").is_none());
        assert_eq!((letters(27), column_index("AB")), ("AB".to_string(), Some(27)));
    }
}
