//! Reading: the scan's source, its pages and their paging, detail requests, and partitioned windows.

use super::query::Recheck;
use super::spec::PartitionSpec;
use super::write::RestWriter;
use super::{Pagination, RestTable};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, Counters, Http, Request};
use crate::jsonpath::JsonPath;
use crate::model::Value as SqlValue;
use crate::model::{Op, Qual, ScanRequest};
use crate::prune::Shape;
use crate::scan::{Page, PageSource, PageToken, Paging, Partitioner, WalkOrder};
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;
use std::sync::Arc;
use url::Url;

/// A scan split into windows of the partition column (see [`Partitioner`]).
struct RestPartitioner {
    table: RestTable,
    spec: PartitionSpec,
    /// The scan's request without its range conditions on the column.
    request: ScanRequest,
    /// The query's range conditions on the column: the first window takes the lower ones, the last the
    /// upper ones.
    lower: Vec<Qual>,
    upper: Vec<Qual>,
    range: (i64, i64),
    /// A sort on the column is pushed (it is the first key).
    ordered: bool,
    descending: bool,
}

impl Partitioner for RestPartitioner {
    fn column(&self) -> &str {
        &self.spec.column
    }
    fn range(&self) -> (i64, i64) {
        self.range
    }
    fn unit(&self) -> i64 {
        crate::partition::unit(&self.spec.ty)
    }
    fn ordered(&self) -> bool {
        self.ordered
    }
    fn descending(&self) -> bool {
        self.descending
    }
    fn upper_inclusive(&self) -> bool {
        self.spec.upper_inclusive
    }
    fn window(&self, lower: Option<i64>, upper: Option<i64>) -> Arc<dyn PageSource> {
        let bound = |op: Op, key: i64| Qual {
            column: self.spec.column.clone(),
            op,
            value: crate::partition::value_of_key(&self.spec.ty, key),
        };
        let mut request = self.request.clone();
        match lower {
            Some(key) => request.quals.push(bound(Op::Ge, key)),
            None => request.quals.extend(self.lower.iter().cloned()),
        }
        match upper {
            Some(key) => request.quals.push(bound(if self.spec.upper_inclusive { Op::Le } else { Op::Lt }, key)),
            None => request.quals.extend(self.upper.iter().cloned()),
        }
        Arc::new(self.table.plain_source(&request))
    }
    fn key(&self, record: &Value) -> Option<i64> {
        crate::partition::key_of_json(&self.spec.ty, self.spec.path.get(record)?.clone())
    }
    fn walk_order(&self) -> Option<WalkOrder> {
        // A pushed sort orders the records itself.
        self.spec.order.filter(|_| !self.ordered)
    }
}

/// What a scan keeps of a response for explaining an error it reports in its body.
const ERROR_MESSAGE_PATHS: [&str; 3] = ["$.error", "$.errors", "$.message"];

/// Where such a response has its message, in order (Slack's `error`, GraphQL's `errors[0].message`).
const ERROR_MESSAGES: [&str; 4] = ["$.error.message", "$.error", "$.errors[0].message", "$.message"];

impl RestTable {
    /// The scan's source, split into windows of the partition column when the scan can be.
    pub(super) fn source(&self, request: &ScanRequest) -> RestSource {
        let source = self.plain_source(request);
        // A looked-up record or a search's results are one walk.
        let partitioner = match source.lookup.is_none() && self.searching(request).is_none() {
            true => self.partitioner(request, source.page_size).map(|p| Arc::new(p) as Arc<dyn Partitioner>),
            false => None,
        };
        RestSource { partitioner, ..source }
    }

    /// The windows' partitioner for `request`, when the table has a partition column, the scan has a lower
    /// bound on it (the query's or `partition_start`), no condition picks single values of it, any pushed
    /// sort starts with it, and a pushed LIMIT needs more than one page.
    fn partitioner(&self, request: &ScanRequest, page_size: u64) -> Option<RestPartitioner> {
        let spec = self.partition.clone()?;
        if request.sorts.first().is_some_and(|s| s.column != spec.column)
            || request.limit.and_then(|l| l.rows_needed()).is_some_and(|n| n <= page_size)
        {
            return None;
        }
        let mut base = request.clone();
        let (mut lower, mut upper) = (Vec::new(), Vec::new());
        base.quals.clear();
        // Windows read the column (`fields_param`, pruned parsing) whether or not the query does.
        if !base.columns.contains(&spec.index) {
            base.columns.push(spec.index);
        }
        for qual in &request.quals {
            match qual.op {
                _ if qual.column != spec.column => base.quals.push(qual.clone()),
                Op::Ge | Op::Gt => lower.push(qual.clone()),
                Op::Lt | Op::Le => upper.push(qual.clone()),
                Op::Ne | Op::IsNotNull => base.quals.push(qual.clone()),
                Op::Eq | Op::In | Op::IsNull | Op::Like | Op::ILike => return None,
            }
        }
        let key = |q: &Qual| crate::partition::key_of_value(&spec.ty, &q.value);
        let keys = |quals: &[Qual]| quals.iter().map(key).collect::<Option<Vec<i64>>>();
        let low = keys(&lower)?.into_iter().max().or(spec.start)?;
        let high = keys(&upper)?.into_iter().min().unwrap_or_else(|| crate::partition::now_key(&spec.ty));
        let (ordered, descending) = (!request.sorts.is_empty(), request.sorts.first().is_some_and(|s| s.desc));
        Some(RestPartitioner {
            table: self.clone(),
            spec,
            request: base,
            lower,
            upper,
            range: (low, high),
            ordered,
            descending,
        })
    }

    /// The scan's source, read in one walk.
    fn plain_source(&self, request: &ScanRequest) -> RestSource {
        if let Some((table, recheck)) = self.searching(request) {
            return RestSource { recheck, ..table.plain_source(request) };
        }
        let rows_needed = request.limit.and_then(|l| l.rows_needed());
        let offset_pushed = matches!(self.pagination, Pagination::Offset { .. }) && request.limit.is_some();
        let start_offset = if offset_pushed { request.limit.map_or(0, |l| l.offset) } else { 0 };
        // A pushed LIMIT shrinks the page when the provider lets us choose its size.
        let wanted = rows_needed.map(|n| n.saturating_sub(start_offset).max(1));
        let page_size = match wanted {
            Some(n) if self.size_param().is_some() => self.page_size.min(n),
            _ => self.page_size,
        };
        let mut url = self.url.clone();
        url.query_pairs_mut().extend_pairs(self.pushed_params(request));
        let fields = self.fields(request);
        if let Some((param, fields)) = &fields {
            url.query_pairs_mut().append_pair(param, fields);
        }
        // Expanded members: (member, column), asked for in lists with the prefix, in lookups without.
        let mut expanded: Vec<(String, String)> = Vec::new();
        for &(i, ref member) in &self.expansions {
            if request.columns.contains(&i) {
                if !expanded.iter().any(|(m, _)| m == member) {
                    url.query_pairs_mut().append_pair(&self.expand_param, &format!("{}{member}", self.expand_prefix));
                }
                expanded.push((member.clone(), self.column_names[i].clone()));
            }
        }
        if let (Pagination::None, Some(limit_param), Some(n)) = (&self.pagination, &self.limit_param, wanted) {
            url.query_pairs_mut().append_pair(limit_param, &n.to_string());
        }
        // Parse only what this scan reads: the records' members its columns use, and the paging values.
        let next_path = match &self.pagination {
            Pagination::Cursor { cursor_path, .. } => Some(cursor_path),
            Pagination::Link { next_url_path, .. } => next_url_path.as_ref(),
            _ => None,
        };
        let expanded_paths: Vec<JsonPath> = expanded.iter().map(|(member, _)| JsonPath::key(member)).collect();
        // An error in a 200 response is told by its flag, and explained by its message.
        let explained: Vec<JsonPath> = match (&self.success_path, &self.error_path) {
            (None, None) => Vec::new(),
            _ => ERROR_MESSAGE_PATHS.iter().filter_map(|p| JsonPath::parse(p).ok()).collect(),
        };
        let kept = [
            next_path,
            self.has_more_path.as_ref(),
            self.total_path.as_ref(),
            self.success_path.as_ref(),
            self.error_path.as_ref(),
        ]
        .into_iter()
        .flatten()
        .chain(&explained);
        let read = request.columns.iter().filter_map(|&i| self.column_paths.get(i)).chain(&expanded_paths);
        let mut lookup = self.lookup_url(request);
        if let (Some(lookup), Some((param, fields))) = (&mut lookup, &fields) {
            lookup.query_pairs_mut().append_pair(param, fields);
        }
        if let Some(lookup) = &mut lookup {
            let mut members: Vec<&String> = Vec::new();
            for (member, _) in &expanded {
                if !members.contains(&member) {
                    members.push(member);
                }
            }
            for member in members {
                lookup.query_pairs_mut().append_pair(&self.expand_param, member);
            }
        }
        let detail_query = self.detail.as_ref().and_then(|d| d.query(&request.columns));
        // A looked-up record is its own detail.
        if let (Some(lookup), Some(query)) = (&mut lookup, &detail_query) {
            lookup.query_pairs_mut().extend_pairs(url::form_urlencoded::parse(query.as_bytes()));
        }
        // A looked-up record is the whole body.
        let rows = if lookup.is_some() { None } else { self.rows.as_ref() };
        let shape = Shape::new(rows, kept, read);
        let echoes = request
            .quals
            .iter()
            .filter(|q| q.op == Op::Eq)
            .filter_map(|q| {
                self.echoes.iter().find(|(c, _)| *c == q.column).map(|(_, keys)| (keys.clone(), q.value.to_json()))
            })
            .collect();
        RestSource {
            table: self.clone(),
            url,
            page_size,
            start_offset,
            shape,
            echoes,
            lookup,
            expanded,
            recheck: Vec::new(),
            partitioner: None,
            detail_query,
        }
    }

    /// An error for a response that reports one with status 200 (`success_path` false, or a value at
    /// `error_path`).
    pub(super) fn reported_error(&self, body: &Value, request: &str) -> Option<Error> {
        let failed = self.success_path.as_ref().and_then(|p| p.get(body)).is_some_and(|v| *v == Value::Bool(false));
        let flagged = self.error_path.as_ref().and_then(|p| p.get(body)).filter(|v| match v {
            Value::Null | Value::Bool(false) => false,
            Value::Array(items) => !items.is_empty(),
            Value::Object(members) => !members.is_empty(),
            Value::String(s) => !s.is_empty(),
            _ => true,
        });
        let path = match (failed, flagged) {
            (true, _) => self.success_path.as_ref()?,
            (false, Some(_)) => self.error_path.as_ref()?,
            (false, None) => return None,
        };
        let message = ERROR_MESSAGES
            .iter()
            .filter_map(|p| JsonPath::parse(p).ok())
            .find_map(|p| p.get(body).and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| path.get(body).map(Value::to_string).unwrap_or_default());
        let why = if failed { format!("{path} is false") } else { format!("it has {path}") };
        let mut error =
            Error::new(ErrorKind::Remote, format!("{request} failed: the response reports an error ({why})"));
        if !message.is_empty() {
            error = error.with_detail(format!("provider said: {}", message.chars().take(300).collect::<String>()));
        }
        Some(error)
    }
}

pub(super) struct RestSource {
    table: RestTable,
    /// The resource URL with the pushed parameters.
    url: Url,
    page_size: u64,
    start_offset: u64,
    shape: Shape,
    /// Values of echoed columns, set in every record: (member names, value).
    echoes: Vec<(Vec<String>, Value)>,
    /// The one record's URL, when the scan looks up a key (`item_lookup`).
    lookup: Option<Url>,
    /// (member, column) of the expanded members the scan reads.
    expanded: Vec<(String, String)>,
    /// Text conditions checked again on a search's records.
    recheck: Vec<Recheck>,
    pub(super) partitioner: Option<Arc<dyn Partitioner>>,
    /// The query of each record's detail request, when the scan reads a `detail` column.
    detail_query: Option<String>,
}

/// Put each expanded member's object under its column's name and set the member back to the object's `id`,
/// so that columns reading the member see the id whether or not the scan expands it. A member that did not
/// come back as an object leaves the column null.
fn place_expanded(record: &mut Value, expanded: &[(String, String)]) {
    let Value::Object(members) = record else { return };
    // Every column's object is taken before any member is set back to its id.
    let objects: Vec<Option<Value>> =
        expanded.iter().map(|(member, _)| members.get(member).filter(|v| v.is_object()).cloned()).collect();
    for ((member, column), object) in expanded.iter().zip(objects) {
        if column == member {
            continue;
        }
        // A column named like the member shows the object: the member stays expanded.
        let shown = expanded.iter().any(|(m, c)| m == member && c == member);
        if let Some(id) = object.as_ref().and_then(|o| o.get("id")).cloned().filter(|_| !shown) {
            members.insert(member.clone(), id);
        }
        members.insert(column.clone(), object.unwrap_or(Value::Null));
    }
}

impl RestSource {
    pub(super) fn request(&self, token: &PageToken) -> Result<Request> {
        if let Some(url) = &self.lookup {
            return Ok(Request::get(url.clone()));
        }
        let read = |url: Url, body: Option<Value>| Request {
            body,
            ..Request::new(self.table.method.clone(), url).read_only()
        };
        // A continuation endpoint takes the cursor alone: the first request's arguments live on in it.
        if let (Pagination::Cursor { cursor_param, in_body, next_url: Some(next_url), .. }, PageToken::Next(cursor)) =
            (&self.table.pagination, token)
        {
            let mut url = next_url.clone();
            if *in_body {
                return Ok(read(url, Some(serde_json::json!({ cursor_param.as_str(): cursor }))));
            }
            url.query_pairs_mut().append_pair(cursor_param, cursor);
            return Ok(read(url, None));
        }
        let mut url = self.url.clone();
        let mut body = self.table.body.clone();
        let size = self.page_size.to_string();
        {
            let mut query = url.query_pairs_mut();
            match (&self.table.pagination, token) {
                (Pagination::None, _) => {}
                (Pagination::Page { page_param, size_param, first }, PageToken::Number { page, .. }) => {
                    query.append_pair(page_param, &(first + page).to_string());
                    if let Some(p) = size_param {
                        query.append_pair(p, &size);
                    }
                }
                (Pagination::Offset { offset_param, limit_param }, PageToken::Number { offset, .. }) => {
                    query.append_pair(offset_param, &(self.start_offset + offset).to_string());
                    if let Some(p) = limit_param {
                        query.append_pair(p, &size);
                    }
                }
                (Pagination::Cursor { cursor_param, size_param, in_body: true, .. }, token) => {
                    let members = body.get_or_insert_with(|| Value::Object(Default::default()));
                    if let Some(p) = size_param {
                        members[p.as_str()] = Value::from(self.page_size);
                    }
                    if let PageToken::Next(cursor) = token {
                        members[cursor_param.as_str()] = Value::from(cursor.as_str());
                    }
                }
                (Pagination::Cursor { cursor_param, size_param, .. }, token) => {
                    if let Some(p) = size_param {
                        query.append_pair(p, &size);
                    }
                    if let PageToken::Next(cursor) = token {
                        query.append_pair(cursor_param, cursor);
                    }
                }
                (Pagination::Link { size_param, .. }, PageToken::First) => {
                    if let Some(p) = size_param {
                        query.append_pair(p, &size);
                    }
                }
                (Pagination::Link { .. }, PageToken::Next(_)) => {}
                (_, token) => {
                    return Err(Error::internal(format!("page token {token:?} does not fit the paging style")))
                }
            }
        }
        if let (Pagination::Link { .. }, PageToken::Next(next)) = (&self.table.pagination, token) {
            url = self.same_origin(next)?;
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(read(url, body))
    }

    /// A next-page URL (Link header or body), refused if it leaves the server's host: requests carry
    /// credentials, and a provider's response must not be able to send them elsewhere.
    fn same_origin(&self, link: &str) -> Result<Url> {
        let source = match &self.table.pagination {
            Pagination::Link { next_url_path: Some(path), .. } => format!("next-page URL at {path}"),
            _ => "Link header".to_string(),
        };
        let next =
            self.url.join(link).map_err(|e| Error::bad_response(format!("{source} has a bad URL \"{link}\": {e}")))?;
        if next.origin() != self.url.origin() {
            return Err(Error::bad_response(format!(
                "{source} of foreign table \"{}\" points to another host ({}); it is not followed",
                self.table.table_name,
                redact_url(&next, None)
            )));
        }
        Ok(next)
    }

    fn records(&self, body: Value, request: &str) -> Result<Vec<Value>> {
        match &self.table.rows {
            Some(rows) => rows.select_rows(body).ok_or_else(|| {
                Error::bad_response(format!(
                    "response to {request} has no records at rows path {rows}: nothing there, or a single value that is not an object (foreign table \"{}\")",
                    self.table.table_name
                ))
            }),
            None => match body {
                Value::Array(items) => Ok(items),
                Value::Null => Ok(Vec::new()),
                record @ Value::Object(_) => Ok(vec![record]),
                other => Err(Error::bad_response(format!(
                    "response to {request} is a single value ({}), not records (foreign table \"{}\")",
                    if other.is_string() { "a string" } else { "a number or boolean" },
                    self.table.table_name
                ))
                .with_hint("Point the table's \"rows\" option at the array of records.")),
            },
        }
    }

    fn has_more(&self, body: &Value) -> Option<bool> {
        self.table.has_more_path.as_ref().and_then(|p| p.get(body)).and_then(|v| match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) => crate::options::parse_bool(s),
            _ => None,
        })
    }
}

/// The `rel="next"` target of an RFC 8288 Link header.
pub(super) fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>')?;
        let target = &rest[start + 1..end];
        let params_end = rest[end..].find('<').map_or(rest.len(), |i| end + i);
        let params = &rest[end + 1..params_end];
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.strip_prefix("rel=")
                .is_some_and(|v| v.trim_matches('"').split_whitespace().any(|r| r.eq_ignore_ascii_case("next")))
        });
        if is_next {
            return Some(target.to_string());
        }
        rest = &rest[params_end..];
    }
    None
}

#[async_trait]
impl PageSource for RestSource {
    fn partitioner(&self) -> Option<Arc<dyn Partitioner>> {
        self.partitioner.clone()
    }

    fn paging(&self) -> Paging {
        match self.table.pagination {
            _ if self.lookup.is_some() => Paging::Chained,
            Pagination::Page { .. } | Pagination::Offset { .. } => Paging::Numbered { page_size: self.page_size },
            _ => Paging::Chained,
        }
    }

    async fn fetch(&self, http: &Http, token: PageToken, counters: &Counters) -> Result<Page> {
        let request = self.request(&token)?.limited(self.table.endpoint_limit.clone());
        let (response, body) = match http.send_json_shaped(&request, counters, Some(&self.shape)).await {
            // A key that names no record is no rows.
            Err(e) if e.kind == ErrorKind::NotFound && self.lookup.is_some() => {
                return Ok(Page { last: true, total: Some(0), next: None, records: Vec::new() })
            }
            other => other?,
        };
        if let Some(error) = self.table.reported_error(&body, &response.request) {
            return Err(error);
        }
        if self.lookup.is_some() {
            let mut records = if body.is_null() { Vec::new() } else { vec![body] };
            if let (Some(detail), Some(_)) = (&self.table.detail, &self.detail_query) {
                for record in &mut records {
                    let members = detail.members(record.clone());
                    if let Value::Object(record) = record {
                        record.extend(members);
                    }
                }
            }
            for record in &mut records {
                place_expanded(record, &self.expanded);
            }
            for (keys, value) in &self.echoes {
                for record in &mut records {
                    crate::write::set(record, keys, value.clone());
                }
            }
            // The lookup's answer is the whole result.
            let total = Some(records.len() as u64);
            return Ok(Page { last: true, total, next: None, records });
        }
        // Only an exact non-negative integer is a total ("10000+", -1 or 12.5 are none).
        let header = self.table.total_header.as_deref().unwrap_or("x-total-count");
        let total = self
            .table
            .total_path
            .as_ref()
            .and_then(|p| p.get(&body))
            .and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
            .or_else(|| response.header(header).and_then(|v| v.trim().parse().ok()))
            .map(|total: u64| total.saturating_sub(self.start_offset));
        let has_more = self.has_more(&body);
        let next = match &self.table.pagination {
            Pagination::Cursor { cursor_path, .. } if has_more != Some(false) => {
                cursor_path.get(&body).and_then(|v| match v {
                    Value::String(s) if !s.is_empty() => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            }
            Pagination::Link { next_url_path: Some(path), .. } => {
                path.get(&body).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
            }
            Pagination::Link { next_url_path: None, .. } => response.header("link").and_then(next_link),
            _ => None,
        };
        let mut records = self.records(body, &response.request)?;
        for record in &mut records {
            place_expanded(record, &self.expanded);
        }
        // A page the recheck empties is not the end: whether there is more is known before.
        let listed = records.len();
        records.retain(|record| {
            self.recheck.iter().all(|(path, op, wanted)| {
                let text = path.get(record).and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                });
                match op {
                    Op::Ne => text.is_some_and(|t| t != *wanted),
                    _ => text.as_deref() == Some(wanted.as_str()),
                }
            })
        });
        for (keys, value) in &self.echoes {
            for record in &mut records {
                crate::write::set(record, keys, value.clone());
            }
        }
        if let (Some(next), PageToken::Next(previous)) = (&next, &token) {
            if next == previous {
                return Err(Error::bad_response(format!(
                    "response to {} repeats the cursor it was asked for; paging would never end",
                    response.request
                )));
            }
        }
        let next = if listed == 0 { None } else { next };
        if let Some(query) = &self.detail_query {
            records = self.with_details(http, counters, records, query).await?;
        }
        Ok(Page { last: has_more == Some(false), total, next, records })
    }
}

/// How many detail requests of a page are prepared at once; the server's `max_concurrency` and rate limit
/// decide how many are in flight.
const DETAIL_REQUESTS_AHEAD: usize = 16;

impl RestSource {
    /// Each record with its detail's members added (`detail` columns): the record at `item_path` with the
    /// record's key, asked for with `query`. A record deleted since it was listed (404) is left out, as a
    /// later list would not show it.
    async fn with_details(
        &self,
        http: &Http,
        counters: &Counters,
        records: Vec<Value>,
        query: &str,
    ) -> Result<Vec<Value>> {
        let Some(detail) = &self.table.detail else { return Ok(records) };
        let writer = RestWriter { table: self.table.clone() };
        let key_column = &writer.config().key_column;
        let key_path = match self.table.column_names.iter().position(|c| c == key_column) {
            Some(i) => self.table.column_paths[i].clone(),
            None => JsonPath::key(key_column),
        };
        let requests = records.into_iter().map(|record| {
            let key = match key_path.get(&record) {
                Some(Value::String(s)) => Some(SqlValue::Text(s.clone())),
                Some(Value::Number(n)) => Some(SqlValue::Text(n.to_string())),
                _ => None,
            };
            let url = key.map(|key| writer.item(&key)).transpose();
            async move {
                let Some(mut url) = url? else {
                    return Err(Error::bad_response(format!(
                        "a record listed by {} has no key \"{key_column}\" to read its detail with",
                        redact_url(&self.url, None)
                    )));
                };
                url.query_pairs_mut().extend_pairs(url::form_urlencoded::parse(query.as_bytes()));
                let request = Request::get(url).read_only().limited(self.table.endpoint_limit.clone());
                match http.send_json_shaped(&request, counters, None).await {
                    Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                    Ok((_, body)) => {
                        let mut record = record;
                        if let Value::Object(members) = &mut record {
                            members.extend(detail.members(body));
                        }
                        Ok(Some(record))
                    }
                }
            }
        });
        let detailed: Vec<Option<Value>> =
            futures::stream::iter(requests).buffered(DETAIL_REQUESTS_AHEAD).try_collect().await?;
        Ok(detailed.into_iter().flatten().collect())
    }
}
