//! Writes: POST (or PUT) to the collection, PATCH/PUT/DELETE to the record's URL.

use super::spec::join;
use super::RestTable;
use crate::error::{Error, Result};
use crate::http::{redact_url, Counters, Http, Request};
use crate::jsonpath::JsonPath;
use crate::model::Value as SqlValue;
use crate::write::{WriteOp, Writer};
use async_trait::async_trait;
use serde_json::Value;
use url::Url;

/// How a REST table writes.
#[derive(Clone, Debug)]
pub(super) struct WriteConfig {
    pub(super) key_column: String,
    /// The server's base URL, which `item_path` is appended to.
    pub(super) base: Url,
    /// The record's URL: `{key}` is replaced by the key (default: the table's path + `/{key}`).
    pub(super) item_path: String,
    pub(super) insert_method: reqwest::Method,
    pub(super) update_method: reqwest::Method,
    pub(super) batch_size: usize,
    /// Batches are sent as `{"<wrapper>": [...]}` instead of a bare array.
    pub(super) insert_wrapper: Option<String>,
    pub(super) returning_path: Option<JsonPath>,
    /// Members set in each written record from elsewhere in the answer (Slack's top-level `channel`, beside
    /// the `message` at `returning_path`): (member, JSONPath in the answer).
    pub(super) returning_members: Vec<(String, JsonPath)>,
    pub(super) idempotency_key: bool,
    /// Where inserts go (default: the table's URL).
    pub(super) insert_path: Option<String>,
    /// Bodies are `application/x-www-form-urlencoded` (Stripe) rather than JSON.
    pub(super) form: bool,
    /// Which of insert, update, delete the provider accepts.
    pub(super) operations: [bool; 3],
}

/// `write_operations`: a comma-separated subset of insert, update, delete (default: all three).
pub(super) fn write_operations(option: Option<&str>) -> Result<[bool; 3]> {
    let Some(text) = option else { return Ok([true; 3]) };
    let mut allowed = [false; 3];
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match ["insert", "update", "delete"].iter().position(|op| *op == name) {
            Some(i) => allowed[i] = true,
            None => {
                return Err(Error::option_value(
                    "write_operations",
                    format!("\"{name}\" is not one of: insert, update, delete"),
                ))
            }
        }
    }
    Ok(allowed)
}

/// `returning_members`: a JSON object of member names and JSONPaths in a write's answer.
pub(super) fn returning_members(option: Option<&str>) -> Result<Vec<(String, JsonPath)>> {
    let Some(text) = option else { return Ok(Vec::new()) };
    let bad = |why: String| {
        Error::option_value("returning_members", why).with_hint(
            "Write a JSON object of members and JSONPaths in the answer, e.g. '{\"channel\": \"$.channel\"}'.",
        )
    };
    let Ok(Value::Object(members)) = serde_json::from_str::<Value>(text) else {
        return Err(bad("it is not a JSON object".into()));
    };
    members
        .into_iter()
        .map(|(member, path)| {
            let path = path.as_str().ok_or_else(|| bad(format!("the path of \"{member}\" is not a string")))?;
            let path = JsonPath::parse(path).map_err(|why| bad(format!("the path of \"{member}\": {why}")))?;
            Ok((member, path))
        })
        .collect()
}

/// Writes of a REST table: POST (or PUT) to the collection, PATCH/PUT/DELETE to the record's URL.
pub(super) struct RestWriter {
    pub(super) table: RestTable,
}

impl RestWriter {
    pub(super) fn config(&self) -> &WriteConfig {
        &self.table.writes
    }

    /// Where inserts go: `insert_path`, else the table's URL without paging or pushed parameters.
    fn collection(&self) -> Url {
        match &self.config().insert_path {
            Some(path) => join(&self.config().base, path),
            None => self.table.url.clone(),
        }
    }

    /// Refuse an operation `write_operations` leaves out.
    fn allowed(&self, op: usize) -> Result<()> {
        if self.config().operations[op] {
            return Ok(());
        }
        let name = ["INSERT", "UPDATE", "DELETE"][op];
        Err(Error::not_supported(format!(
            "foreign table \"{}\" does not accept {name}: the provider has no such operation",
            self.table.table_name
        )))
    }

    /// Send a write; a response that reports an error in its body is one.
    async fn send(&self, http: &Http, request: Request, counters: &Counters) -> Result<Value> {
        let request = Request { form: self.config().form, ..request };
        let (response, answer) = http.send_json(&request, counters).await?;
        match self.table.reported_error(&answer, &response.request) {
            Some(error) => Err(error),
            None => Ok(answer),
        }
    }

    pub(super) fn item(&self, key: &SqlValue) -> Result<Url> {
        let key = key.to_param();
        crate::connectors::item_segment(&self.config().key_column, &key)?;
        const SEGMENT: &percent_encoding::AsciiSet =
            &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');
        let encoded = percent_encoding::utf8_percent_encode(&key, SEGMENT).to_string();
        // Like the table's path, item_path is relative to the server's base URL.
        Ok(join(&self.config().base, &self.config().item_path.replace("{key}", &encoded)))
    }

    fn request(&self, method: reqwest::Method, url: Url) -> Request {
        // DELETE is idempotent by itself (Stripe: a key on a DELETE has no effect).
        let keyed = self.config().idempotency_key && method != reqwest::Method::DELETE;
        let mut request = Request::new(method, url);
        if keyed {
            request.idempotency_key = Some(idempotency_key());
        }
        request
    }

    /// The records a write response holds, with the members `returning_members` takes from the answer.
    fn returned(&self, body: Value) -> Vec<Value> {
        let extra: Vec<(&String, Value)> = self
            .config()
            .returning_members
            .iter()
            .filter_map(|(member, path)| Some((member, path.get(&body)?.clone())))
            .collect();
        let mut records = match &self.config().returning_path {
            Some(path) => path.select_rows(body).unwrap_or_default(),
            None => match body {
                Value::Array(items) => items,
                Value::Null => Vec::new(),
                other => vec![other],
            },
        };
        for record in records.iter_mut().filter_map(Value::as_object_mut) {
            for (member, value) in &extra {
                record.insert((*member).clone(), value.clone());
            }
        }
        records
    }
}

/// A random key for providers that deduplicate retried writes (Stripe's Idempotency-Key).
fn idempotency_key() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl Writer for RestWriter {
    fn batch_size(&self) -> usize {
        self.config().batch_size
    }

    fn key_column(&self) -> &str {
        &self.config().key_column
    }

    fn describe(&self, op: WriteOp) -> String {
        let item = || {
            self.item(&SqlValue::Text("{key}".into()))
                .map(|u| redact_url(&u, None).replace("%7Bkey%7D", "{key}"))
                .unwrap_or_default()
        };
        match op {
            WriteOp::Insert => format!("{} {}", self.config().insert_method, redact_url(&self.collection(), None)),
            WriteOp::Update => format!("{} {}", self.config().update_method, item()),
            WriteOp::Delete => format!("DELETE {}", item()),
        }
    }

    async fn insert(&self, http: &Http, records: Vec<Value>, counters: &Counters) -> Result<Vec<Value>> {
        let count = records.len();
        let body = match (&self.config().insert_wrapper, self.config().batch_size) {
            (Some(wrapper), _) => serde_json::json!({ wrapper.as_str(): records }),
            (None, 1) if count == 1 => records.into_iter().next().unwrap_or(Value::Null),
            (None, _) => Value::Array(records),
        };
        self.allowed(0)?;
        let request = self.request(self.config().insert_method.clone(), self.collection()).json(body);
        let answer = self.send(http, request, counters).await?;
        let mut returned = self.returned(answer);
        returned.resize(count, Value::Null);
        Ok(returned)
    }

    async fn update(&self, http: &Http, key: &SqlValue, changes: Value, counters: &Counters) -> Result<Value> {
        self.allowed(1)?;
        let request = self.request(self.config().update_method.clone(), self.item(key)?).json(changes);
        let answer = self.send(http, request, counters).await?;
        Ok(self.returned(answer).into_iter().next().unwrap_or(Value::Null))
    }

    async fn delete(&self, http: &Http, key: &SqlValue, counters: &Counters) -> Result<Value> {
        self.allowed(2)?;
        let request = self.request(reqwest::Method::DELETE, self.item(key)?);
        let answer = self.send(http, request, counters).await?;
        Ok(self.returned(answer).into_iter().next().unwrap_or(Value::Null))
    }
}
