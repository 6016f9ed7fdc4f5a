//! Google Docs API v1 and the Drive v3 file list it is used with (`/gdocs/v1/documents/{id}`,
//! `/gdocs/drive/v3/files`): `documents.get` answers a Document (`documentId`, `title`, `revisionId`,
//! `body.content[]` of StructuralElements: paragraphs of text runs and inline objects, tables of cells
//! holding StructuralElements, a table of contents, section breaks), with the `fields` mask (top-level
//! fields) and `includeTabsContent` (the content then in `tabs[].documentTab`, no `body`); `files.list`
//! evaluates `q` terms `mimeType = '…'` and `trashed = false|true` joined by `and`, pages by `pageSize`
//! (default 100, at most 1000) and an opaque `pageToken`, and keeps the `files(…)` members `fields` names.
//! Errors have Google's body (`{"error": {"code", "message", "status"}}`): 404 for an unknown document,
//! 403 `PERMISSION_DENIED` for `docSecret` (a document not shared with the caller, so not in Drive's
//! list either), 400 for a `q` the mock does not understand. `/gdocs/429/{k}/…` refuses the first k
//! requests of each URL with Google's 429 (`RESOURCE_EXHAUSTED`, plus a `Retry-After: 1` Google does not
//! always send; `always`: every one).
//!
//! Drive holds, in this order: `docMock1` (Meeting notes: multi-run paragraphs, a bulleted list, an inline
//! image, a 2×2 table), a spreadsheet, `docMock2` (Plan: a table of contents, a table nested in a cell),
//! a trashed document, `docMock3` (Empty).

use serde_json::{json, Map, Value};

use super::{authorized, json, param, rate_knob, token, untoken};
use crate::handler::State;
use crate::http::{parse_query, percent_decode, Request, Response};

pub const DOCUMENT_MIME: &str = "application/vnd.google-apps.document";
/// The document every request is refused with 403.
pub const SECRET: &str = "docSecret";

fn error(code: u16, status: &str, message: &str) -> Response {
    json(code, &json!({ "error": { "code": code, "message": message, "status": status } }))
}

/// A paragraph of text runs (each run's text as given: the last carries the paragraph's `\n`).
fn paragraph(runs: &[&str]) -> Value {
    let elements: Vec<Value> =
        runs.iter().map(|text| json!({ "textRun": { "content": text, "textStyle": {} } })).collect();
    json!({ "paragraph": { "elements": elements, "paragraphStyle": { "namedStyleType": "NORMAL_TEXT" } } })
}

fn bullet(text: &str) -> Value {
    let mut p = paragraph(&[text]);
    p["paragraph"]["bullet"] = json!({ "listId": "kix.list1", "nestingLevel": 0 });
    p
}

fn table(rows: Vec<Vec<Vec<Value>>>) -> Value {
    let columns = rows.first().map_or(0, Vec::len);
    let table_rows: Vec<Value> = rows
        .into_iter()
        .map(|cells| {
            let cells: Vec<Value> = cells.into_iter().map(|content| json!({ "content": content })).collect();
            json!({ "tableCells": cells })
        })
        .collect();
    json!({ "table": { "rows": table_rows.len(), "columns": columns, "tableRows": table_rows } })
}

fn section_break() -> Value {
    json!({ "sectionBreak": { "sectionStyle": { "sectionType": "CONTINUOUS" } } })
}

/// (id, title, revision, body content); Docs numbers elements by `startIndex`, which the connector ignores.
fn documents() -> Vec<(&'static str, &'static str, &'static str, Vec<Value>)> {
    vec![
        (
            "docMock1",
            "Meeting notes",
            "ALm37BVrev1",
            vec![
                section_break(),
                paragraph(&["Weekly ", "sync", " notes\n"]),
                bullet("Budget approved\n"),
                bullet("Hire two engineers\n"),
                json!({ "paragraph": { "elements": [
                    { "textRun": { "content": "Logo: " } },
                    { "inlineObjectElement": { "inlineObjectId": "kix.img1" } },
                    { "textRun": { "content": "\n" } }
                ] } }),
                table(vec![
                    vec![vec![paragraph(&["Owner\n"])], vec![paragraph(&["Task\n"])]],
                    vec![vec![paragraph(&["Ada\n"])], vec![paragraph(&["Ship ", "v2\n"])]],
                ]),
                paragraph(&["End\n"]),
            ],
        ),
        (
            "docMock2",
            "Plan",
            "ALm37BVrev7",
            vec![
                section_break(),
                json!({ "tableOfContents": { "content": [paragraph(&["Goals\n"])] } }),
                paragraph(&["Goals\n"]),
                table(vec![vec![
                    vec![paragraph(&["Q1\n"])],
                    vec![table(vec![vec![vec![paragraph(&["a\n"])], vec![paragraph(&["b\n"])]]])],
                ]]),
            ],
        ),
        ("docMock3", "Empty", "ALm37BVrev2", vec![section_break(), paragraph(&["\n"])]),
        ("docTrashed", "Old draft", "ALm37BVrev9", vec![section_break(), paragraph(&["Gone\n"])]),
    ]
}

/// Drive's files in listing order: (id, name, mimeType, modifiedTime, trashed).
const FILES: [(&str, &str, &str, &str, bool); 5] = [
    ("docMock1", "Meeting notes", DOCUMENT_MIME, "2024-03-05T09:00:00.000Z", false),
    ("sheetMock1", "Mock spreadsheet", "application/vnd.google-apps.spreadsheet", "2024-03-01T08:00:00.000Z", false),
    ("docMock2", "Plan", DOCUMENT_MIME, "2024-03-04T10:30:00.000Z", false),
    ("docTrashed", "Old draft", DOCUMENT_MIME, "2024-01-02T12:00:00.000Z", true),
    ("docMock3", "Empty", DOCUMENT_MIME, "2024-02-29T16:45:00.000Z", false),
];

pub fn handle(state: &State, req: &Request, path: &str) -> Response {
    if !authorized(state, req) {
        return error(401, "UNAUTHENTICATED", "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.");
    }
    let (refused, path) = rate_knob(state, "gdocs", req, path);
    if refused {
        return error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of service 'docs.googleapis.com' for consumer 'project_number:1234567890'.",
        )
        .with_header("Retry-After", "1");
    }
    let decoded: Vec<String> = path.trim_start_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let params = parse_query(&req.query);
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["v1", "documents", id]) => get_document(id, &params),
        ("GET", ["drive", "v3", "files"]) => list_files(&params),
        _ => error(404, "NOT_FOUND", "Requested entity was not found."),
    }
}

fn get_document(id: &str, params: &[(String, String)]) -> Response {
    if id == SECRET {
        return error(403, "PERMISSION_DENIED", "The caller does not have permission");
    }
    let Some((id, title, revision, content)) = documents().into_iter().find(|d| d.0 == id) else {
        return error(404, "NOT_FOUND", "Requested entity was not found.");
    };
    let body = json!({ "content": content });
    let mut document = json!({ "documentId": id, "title": title, "revisionId": revision,
        "documentStyle": { "pageSize": { "width": { "magnitude": 612, "unit": "PT" } } } });
    if param(params, "includeTabsContent") == Some("true") {
        document["tabs"] = json!([{ "tabProperties": { "tabId": "t.0", "title": "Tab 1", "index": 0 },
            "documentTab": { "body": body } }]);
    } else {
        document["body"] = body;
    }
    // The mask's top-level fields (`documentId,title`; a sub-selection `body(content)` keeps the whole member).
    if let Some(fields) = param(params, "fields") {
        let wanted: Vec<&str> = fields.split(',').map(|f| f.split(['(', '/']).next().unwrap_or("").trim()).collect();
        if let Value::Object(members) = &mut document {
            members.retain(|k, _| wanted.contains(&k.as_str()));
        }
    }
    json(200, &document)
}

/// A `q` of `mimeType = '…'` and `trashed = …` terms joined by `and`, as a predicate on a file.
fn query(q: &str) -> Option<Vec<(String, String)>> {
    let mut terms = Vec::new();
    for term in q.split(" and ") {
        let (field, value) = term.split_once('=')?;
        let (field, value) = (field.trim(), value.trim());
        match field {
            "mimeType" => terms.push((field.into(), value.strip_prefix('\'')?.strip_suffix('\'')?.into())),
            "trashed" if value == "true" || value == "false" => terms.push((field.into(), value.into())),
            _ => return None,
        }
    }
    Some(terms)
}

fn list_files(params: &[(String, String)]) -> Response {
    let invalid = |location: &str| {
        json(
            400,
            &json!({ "error": { "code": 400, "message": "Invalid Value", "errors": [{ "domain": "global",
                "reason": "invalid", "message": "Invalid Value", "locationType": "parameter", "location": location }] } }),
        )
    };
    let terms = match param(params, "q") {
        Some(q) => match query(q) {
            Some(terms) => terms,
            None => return invalid("q"),
        },
        None => Vec::new(),
    };
    let page_size = match param(params, "pageSize").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return invalid("pageSize"),
    };
    let start = match param(params, "pageToken") {
        None => 0,
        Some(t) => match untoken("drive", t) {
            Some(n) => n,
            None => return invalid("pageToken"),
        },
    };
    let matching: Vec<Value> = FILES
        .iter()
        .filter(|(_, _, mime, _, trashed)| {
            terms.iter().all(|(field, value)| match field.as_str() {
                "mimeType" => mime == value,
                _ => trashed.to_string() == *value,
            })
        })
        .map(|(id, name, mime, modified, trashed)| {
            json!({ "kind": "drive#file", "id": id, "name": name, "mimeType": mime, "modifiedTime": modified, "trashed": trashed })
        })
        .collect();
    // `fields=nextPageToken,files(id,name)`: only those members of each file.
    let kept: Option<Vec<&str>> = param(params, "fields").and_then(|f| {
        let inner = f.split_once("files(")?.1.split_once(')')?.0;
        Some(inner.split(',').map(str::trim).collect())
    });
    let files: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(page_size)
        .map(|file| match (&kept, file) {
            (Some(kept), Value::Object(members)) => Value::Object(
                members
                    .iter()
                    .filter(|(k, _)| kept.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Map<_, _>>(),
            ),
            _ => file.clone(),
        })
        .collect();
    let mut answer = json!({ "kind": "drive#fileList", "incompleteSearch": false, "files": files });
    if start + page_size < matching.len() {
        answer["nextPageToken"] = json!(token("drive", start + page_size));
    }
    json(200, &answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_the_terms_the_mock_evaluates() {
        assert_eq!(
            query("mimeType = 'application/vnd.google-apps.document' and trashed = false").unwrap(),
            vec![("mimeType".to_string(), DOCUMENT_MIME.to_string()), ("trashed".to_string(), "false".to_string())]
        );
        assert!(query("name contains 'x'").is_none());
        assert!(query("trashed = maybe").is_none());
    }
}
