//! Request log, so tests can assert exactly what a client pushed down.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::{parse_query, Request};

/// Headers worth asserting on; others are not recorded.
const LOGGED_HEADERS: [&str; 8] = [
    "authorization",
    "x-api-key",
    "content-type",
    "idempotency-key",
    "notion-version",
    "stripe-version",
    "x-api-version",
    "sforce-query-options",
];

/// One received request, as served by `GET /__admin/requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// 1-based, restarts after a reset.
    pub seq: u64,
    pub method: String,
    /// Path as received, including knob prefixes (`/n/100/page/customers`).
    pub path: String,
    /// Raw query string as received, "" if none.
    pub query: String,
    /// Lower-case names; only the headers listed in the README.
    pub headers: BTreeMap<String, String>,
    /// The body parsed as JSON, or a form-encoded body as an object of its
    /// fields; `None` (null) if empty or neither.
    pub body: Option<Value>,
    /// Milliseconds since the mock started when the request arrived, so tests
    /// can check the spacing a rate limit imposes.
    #[serde(default)]
    pub at_ms: f64,
}

impl RecordedRequest {
    /// Percent-decoded query parameters in order, repeats kept.
    pub fn params(&self) -> Vec<(String, String)> {
        parse_query(&self.query)
    }

    /// First value of a query parameter, decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        self.params().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

struct Inner {
    next_seq: u64,
    entries: VecDeque<RecordedRequest>,
    /// Requests being answered now (delays included), and the most at once since the last reset.
    in_flight: u64,
    max_in_flight: u64,
}

/// Bounded so a long benchmark cannot grow memory without limit; the oldest
/// entries are dropped first, `seq` keeps counting.
pub struct RequestLog {
    inner: Mutex<Inner>,
    limit: usize,
    started: std::time::Instant,
}

impl RequestLog {
    pub fn new(limit: usize) -> Self {
        RequestLog {
            inner: Mutex::new(Inner { next_seq: 1, entries: VecDeque::new(), in_flight: 0, max_in_flight: 0 }),
            limit,
            started: std::time::Instant::now(),
        }
    }

    pub fn record(&self, req: &Request) {
        let headers = req.headers.iter().filter(|(n, _)| LOGGED_HEADERS.contains(&n.as_str())).cloned().collect();
        // Form bodies (OAuth token requests) are recorded as an object of their fields.
        let body = serde_json::from_slice(&req.body).ok().or_else(|| form_body(req));
        let mut inner = self.inner.lock().unwrap();
        let entry = RecordedRequest {
            seq: inner.next_seq,
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            headers,
            body,
            at_ms: self.started.elapsed().as_secs_f64() * 1000.0,
        };
        inner.next_seq += 1;
        if inner.entries.len() >= self.limit {
            inner.entries.pop_front();
        }
        inner.entries.push_back(entry);
    }

    pub fn entries(&self) -> Vec<RecordedRequest> {
        self.inner.lock().unwrap().entries.iter().cloned().collect()
    }

    /// Requests received since the last reset (including any dropped entries).
    pub fn count(&self) -> u64 {
        self.inner.lock().unwrap().next_seq - 1
    }

    pub fn reset(&self) {
        let mut inner = self.inner.lock().unwrap();
        inner.entries.clear();
        inner.next_seq = 1;
        inner.max_in_flight = inner.in_flight;
    }

    /// A request starts being answered; the guard ends it.
    pub fn begin(&self) -> InFlight<'_> {
        let mut inner = self.inner.lock().unwrap();
        inner.in_flight += 1;
        inner.max_in_flight = inner.max_in_flight.max(inner.in_flight);
        InFlight(self)
    }

    /// The most requests answered at once since the last reset.
    pub fn max_in_flight(&self) -> u64 {
        self.inner.lock().unwrap().max_in_flight
    }
}

pub struct InFlight<'a>(&'a RequestLog);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.inner.lock().unwrap().in_flight -= 1;
    }
}

fn form_body(req: &Request) -> Option<Value> {
    let form = req.header("content-type")?.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded");
    form.then(|| {
        let fields = parse_query(&String::from_utf8_lossy(&req.body));
        Value::Object(fields.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
    })
}
