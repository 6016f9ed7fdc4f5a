//! Google Docs (API v1): one row per document, `(document_id, title, revision_id, text, body)`.
//!
//! `WHERE document_id = …` (or `IN (…)`) reads exactly those documents, one `documents.get` each (`GET
//! /v1/documents/{id}`); an unknown id is no row (as a scan without the condition would find none). Without
//! it, a scan lists the Google Docs of the account through Drive (`GET /drive/v3/files?q=mimeType=
//! 'application/vnd.google-apps.document' and trashed = false`, `page_size` files a page, `pageToken`) and
//! reads the documents of each page concurrently, within the server's `max_concurrency` and `rate_limit`.
//! When a query reads neither `text` nor `body`, documents are read with the mask
//! `fields=documentId,title,revisionId`.
//!
//! `text` is the document's plain text in reading order: the text runs of each paragraph concatenated (they
//! carry their own `\n`), a table row by row with its cells' text (each cell's trailing newline dropped)
//! separated by a tab and each row ending in a newline, a table of contents by its content; inline objects
//! (images) and section breaks have no text. Documents with tabs are read as `documents.get` gives them
//! without `includeTabsContent`: the first tab.

use super::{base_url, page_size, Connector, Defaults, ServerDef, Table};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Counters, Http, Request};
use crate::model::{Op, ScanRequest, TableDef, Value as SqlValue};
use crate::options::{Kind, OptionMap, OptionSpec};
use crate::pushdown::Capabilities;
use crate::scan::{Page, PageSource, PageToken, Paging};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::Arc;
use url::Url;

pub struct GoogleDocs;

const DRIVE_URL: &str = "https://www.googleapis.com/drive/v3";
const DOCUMENT_QUERY: &str = "mimeType = 'application/vnd.google-apps.document' and trashed = false";
const COLUMNS: [&str; 5] = ["document_id", "title", "revision_id", "text", "body"];

impl Connector for GoogleDocs {
    fn name(&self) -> &str {
        "google_docs"
    }

    fn description(&self) -> &str {
        "Google Docs: documents (id, title, revision, plain text, body) by id or listed through Drive."
    }

    fn defaults(&self) -> Defaults {
        let options: OptionMap = [
            ("token_url", "https://oauth2.googleapis.com/token"),
            ("authorize_url", "https://accounts.google.com/o/oauth2/v2/auth"),
            (
                "scopes",
                "https://www.googleapis.com/auth/documents.readonly https://www.googleapis.com/auth/drive.metadata.readonly",
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        // Docs allows 300 read requests a minute per user.
        Defaults {
            base_url: Some("https://docs.googleapis.com/v1"),
            auth: "oauth2",
            max_concurrency: 4,
            rate_limit: Some(5.0),
            page_size: 100,
            retry_after: None,
            options,
        }
    }

    fn server_options(&self) -> Vec<OptionSpec> {
        vec![OptionSpec::new("drive_url", Kind::Url)]
    }

    fn table_options(&self) -> Vec<OptionSpec> {
        // Drive answers at most 1000 files a page.
        vec![OptionSpec::int("page_size", 1, 1000)]
    }

    fn other_api_urls(&self, server: &ServerDef) -> Result<Vec<Url>> {
        Ok(vec![drive_url(server)?])
    }

    fn open(&self, server: &ServerDef, table: &TableDef) -> Result<Arc<dyn Table>> {
        Ok(Arc::new(DocsTable::new(server, table)?))
    }
}

/// The server's Drive API root (option `drive_url`, default Google's).
fn drive_url(server: &ServerDef) -> Result<Url> {
    let text = server.option("drive_url").unwrap_or(DRIVE_URL);
    Url::parse(text).map_err(|e| Error::option_value("drive_url", format!("\"{text}\" is not a URL ({e})")))
}

fn push_segments(url: &mut Url, parts: &[&str]) {
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        for part in parts {
            path.push(part);
        }
    }
}

/// A document's plain text: its body's structural elements in reading order.
pub fn plain_text(body: &Value) -> String {
    let mut out = String::new();
    elements_text(&body["content"], &mut out);
    out
}

fn elements_text(elements: &Value, out: &mut String) {
    for element in elements.as_array().into_iter().flatten() {
        if let Some(paragraph) = element.get("paragraph") {
            for run in paragraph["elements"].as_array().into_iter().flatten() {
                if let Some(text) = run["textRun"]["content"].as_str() {
                    out.push_str(text);
                }
            }
        } else if let Some(table) = element.get("table") {
            for row in table["tableRows"].as_array().into_iter().flatten() {
                let cells: Vec<String> = row["tableCells"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|cell| {
                        let mut text = String::new();
                        elements_text(&cell["content"], &mut text);
                        // A cell's last paragraph ends in a newline, which the row's layout replaces.
                        text.strip_suffix('\n').map(str::to_string).unwrap_or(text)
                    })
                    .collect();
                out.push_str(&cells.join("\t"));
                out.push('\n');
            }
        } else if let Some(toc) = element.get("tableOfContents") {
            elements_text(&toc["content"], out);
        }
    }
}

#[derive(Clone, Debug)]
struct DocsTable {
    table_name: String,
    /// `…/v1`.
    base: Url,
    /// `…/drive/v3`.
    drive: Url,
    page_size: u64,
    /// The table's column names, each one of [`COLUMNS`].
    columns: Vec<String>,
}

impl DocsTable {
    fn new(server: &ServerDef, table: &TableDef) -> Result<Self> {
        let mut columns = Vec::new();
        for column in &table.columns {
            if column.option("path").is_some() {
                return Err(Error::new(
                    ErrorKind::InvalidOptionValue,
                    format!("column \"{}\": option \"path\" does not apply to connector \"google_docs\"", column.name),
                )
                .with_hint(format!("Name the column after what it holds: {}.", COLUMNS.join(", "))));
            }
            if !COLUMNS.contains(&column.name.as_str()) {
                return Err(Error::new(
                    ErrorKind::InvalidOptionValue,
                    format!(
                        "foreign table \"{}\" has column \"{}\", which connector \"google_docs\" does not provide",
                        table.name, column.name
                    ),
                )
                .with_hint(format!("The columns of a google_docs table are: {}.", COLUMNS.join(", "))));
            }
            columns.push(column.name.clone());
        }
        Ok(DocsTable {
            table_name: table.name.clone(),
            base: base_url(server, &GoogleDocs)?,
            drive: drive_url(server)?,
            page_size: page_size(server, table, &GoogleDocs)?.min(1000),
            columns,
        })
    }

    /// The document ids a pushed `document_id = …` / `IN (…)` names, sorted and without repeats; `None`
    /// when nothing was pushed (a Drive listing).
    fn ids(request: &ScanRequest) -> Option<Vec<String>> {
        let mut found: Option<Vec<String>> = None;
        for qual in request.quals_on("document_id") {
            let ids: Vec<String> = match (&qual.op, &qual.value) {
                (Op::Eq, SqlValue::Null) => Vec::new(),
                (Op::Eq, value) => vec![value.to_param()],
                (Op::In, SqlValue::List(items)) => {
                    items.iter().filter(|v| !matches!(v, SqlValue::Null)).map(SqlValue::to_param).collect()
                }
                _ => continue,
            };
            // Two conditions on the id (`= 'a' AND IN ('a', 'b')`): the documents both name.
            found = Some(match found {
                None => ids,
                Some(before) => before.into_iter().filter(|id| ids.contains(id)).collect(),
            });
        }
        found.map(|mut ids| {
            ids.sort();
            ids.dedup();
            ids
        })
    }

    fn document_url(&self, id: &str, content: bool) -> Url {
        let mut url = self.base.clone();
        push_segments(&mut url, &["documents", id]);
        if !content {
            url.query_pairs_mut().append_pair("fields", "documentId,title,revisionId");
        }
        url
    }

    fn files_url(&self, page_size: u64, page_token: Option<&str>) -> Url {
        let mut url = self.drive.clone();
        push_segments(&mut url, &["files"]);
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("q", DOCUMENT_QUERY)
                .append_pair("pageSize", &page_size.to_string())
                .append_pair("fields", "nextPageToken,files(id)");
            if let Some(token) = page_token {
                query.append_pair("pageToken", token);
            }
        }
        url
    }

    fn reads_content(&self, request: &ScanRequest) -> bool {
        request.columns.iter().any(|&i| matches!(self.columns.get(i).map(String::as_str), Some("text" | "body")))
    }

    fn block(&self, request: &ScanRequest) -> u64 {
        request.limit.and_then(|l| l.rows_needed()).map_or(self.page_size, |n| self.page_size.min(n.max(1)))
    }
}

impl Table for DocsTable {
    fn capabilities(&self) -> Capabilities {
        // Documents are read by id exactly; a LIMIT shrinks Drive's page.
        Capabilities::new().filter("document_id", &[Op::Eq, Op::In]).max_sort_keys(0).limit(false)
    }

    fn describe(&self, request: &ScanRequest) -> Vec<String> {
        let content = self.reads_content(request);
        match Self::ids(request) {
            Some(ids) => {
                ids.iter().map(|id| format!("GET {}", redact_url(&self.document_url(id, content), None))).collect()
            }
            None => vec![
                format!("GET {}", redact_url(&self.files_url(self.block(request), None), None)),
                format!(
                    "GET {} for each document listed",
                    redact_url(&self.document_url("{documentId}", content), None)
                        .replace("%7B", "{")
                        .replace("%7D", "}")
                ),
            ],
        }
    }

    fn scan(&self, request: &ScanRequest) -> Result<Arc<dyn PageSource>> {
        Ok(Arc::new(DocsSource {
            table: self.clone(),
            ids: Self::ids(request),
            content: self.reads_content(request),
            block: self.block(request),
        }))
    }
}

struct DocsSource {
    table: DocsTable,
    /// The documents a pushed condition names; `None`: those Drive lists.
    ids: Option<Vec<String>>,
    /// Whether the query reads `text` or `body` (else the documents are read with a fields mask).
    content: bool,
    block: u64,
}

impl DocsSource {
    /// A document as a record, or `None` when it does not exist (404: deleted, or a wrong id).
    async fn document(&self, http: &Http, id: &str, counters: &Counters) -> Result<Option<Value>> {
        let url = self.table.document_url(id, self.content);
        let body = match http.send_json(&Request::get(url), counters).await {
            Ok((_, body)) => body,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
            Err(e) if e.kind == ErrorKind::Authorization && e.message.contains("HTTP 403") => {
                return Err(Error {
                    message: format!(
                        "Google Docs document \"{id}\" cannot be read (foreign table \"{}\"): {}",
                        self.table.table_name, e.message
                    ),
                    hint: Some(format!(
                        "Share document \"{id}\" with the account of the server's credentials (for a service account, its client_email), or leave it out of the query."
                    )),
                    ..e
                })
            }
            Err(e) => return Err(e),
        };
        let document_body = body.get("body").cloned().unwrap_or(Value::Null);
        let mut record = json!({
            "document_id": body["documentId"].as_str().unwrap_or(id),
            "title": body["title"].clone(),
            "revision_id": body["revisionId"].clone(),
        });
        if self.content {
            record["text"] = json!(plain_text(&document_body));
            record["body"] = document_body;
        }
        Ok(Some(record))
    }

    /// The documents of `ids`, read concurrently (the server's gate bounds how many at once), in order.
    async fn documents(&self, http: &Http, ids: &[String], counters: &Counters) -> Result<Vec<Value>> {
        let reads = ids.iter().map(|id| self.document(http, id, counters));
        Ok(futures::future::try_join_all(reads).await?.into_iter().flatten().collect())
    }
}

#[async_trait]
impl PageSource for DocsSource {
    fn paging(&self) -> Paging {
        Paging::Chained
    }

    async fn fetch(&self, http: &Http, token: PageToken, counters: &Counters) -> Result<Page> {
        if let Some(ids) = &self.ids {
            return Ok(Page { records: self.documents(http, ids, counters).await?, ..Page::default() });
        }
        let page_token = match &token {
            PageToken::Next(t) => Some(t.as_str()),
            _ => None,
        };
        let (_, list) = http.send_json(&Request::get(self.table.files_url(self.block, page_token)), counters).await?;
        let files = list["files"]
            .as_array()
            .ok_or_else(|| Error::bad_response("Drive's files.list answered without \"files\"".to_string()))?;
        let ids: Vec<String> = files.iter().filter_map(|f| f["id"].as_str().map(str::to_string)).collect();
        let records = self.documents(http, &ids, counters).await?;
        let next = list["nextPageToken"].as_str().filter(|t| !t.is_empty()).map(str::to_string);
        Ok(Page { records, next, ..Page::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_follows_reading_order() {
        let run = |t: &str| json!({ "textRun": { "content": t } });
        let para = |runs: Vec<Value>| json!({ "paragraph": { "elements": runs } });
        let cell = |t: &str| json!({ "content": [para(vec![run(t)])] });
        let body = json!({ "content": [
            { "sectionBreak": {} },
            para(vec![run("Hello "), json!({ "inlineObjectElement": { "inlineObjectId": "i" } }), run("world\n")]),
            { "table": { "tableRows": [
                { "tableCells": [cell("a\n"), cell("b\n")] },
                { "tableCells": [cell("c\n"), { "content": [para(vec![run("d1\n")]), para(vec![run("d2\n")])] }] }
            ] } },
            { "tableOfContents": { "content": [para(vec![run("Intro\n")])] } }
        ] });
        assert_eq!(plain_text(&body), "Hello world\na\tb\nc\td1\nd2\nIntro\n");
        assert_eq!(plain_text(&json!({})), "");
    }
}
