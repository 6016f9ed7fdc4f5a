//! Request dispatch: admin routes, logging, faults, auth, reads and writes.
//! Pure (no I/O): returns what the connection should send and when.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::dataset::{Store, DEFAULT_N, MAX_N};
use crate::faults::{self, Action, FaultCounters};
use crate::http::{parse_query, Request, Response};
use crate::log::RequestLog;
use crate::oauth::OAuthServer;
use crate::providers::{self, Collections};
use crate::query::unknown;
use crate::route::{self, Auth, Route};
use crate::styles::{self, ListCtx};

/// At most this many records per create request, like many SaaS batch APIs.
const MAX_BATCH: usize = 10;

/// Shared server state.
pub struct State {
    pub store: Store,
    pub log: RequestLog,
    pub faults: FaultCounters,
    pub oauth: OAuthServer,
    /// What the provider mocks' writes changed.
    pub providers: Collections,
    /// `http://127.0.0.1:PORT`, for absolute URLs in `Link` headers and next-page links.
    pub base_url: String,
}

impl State {
    pub fn new(base_url: String, log_limit: usize) -> Self {
        State {
            store: Store::default(),
            log: RequestLog::new(log_limit),
            faults: FaultCounters::default(),
            oauth: OAuthServer::default(),
            providers: Collections::default(),
            base_url,
        }
    }

    /// Clears the request log, fault counters, all mutations (provider mocks'
    /// included) and OAuth codes and tokens.
    pub fn reset(&self) {
        self.log.reset();
        self.faults.reset();
        self.store.reset();
        self.oauth.reset();
        self.providers.reset();
    }
}

/// What to do with a request, after waiting `delay`.
pub struct Reply {
    pub action: Action,
    pub delay: Duration,
}

impl Reply {
    fn now(resp: Response) -> Self {
        Reply { action: Action::Send(resp), delay: Duration::ZERO }
    }
}

pub fn handle(state: &State, req: &Request) -> Reply {
    if let Some(cmd) = req.path.strip_prefix("/__admin/") {
        return Reply::now(admin(state, cmd, req));
    }
    state.log.record(req);
    if let Some(rest) = req.path.strip_prefix("/oauth/") {
        return Reply::now(state.oauth.handle(rest, req));
    }
    if let Some(rest) = req.path.strip_prefix("/hostile/") {
        return Reply::now(crate::hostile::handle(&state.base_url, req, rest));
    }
    if let Some(resp) = providers::handle(state, req) {
        return Reply::now(resp);
    }
    let Some(route) = route::parse(&req.path) else {
        return Reply::now(Response::error(404, &format!("not found: {}", req.path)));
    };
    let delay = Duration::from_millis(route.delay_ms);
    let fault = route.fault.filter(|f| {
        let key = format!("{}?{}", req.path, req.query);
        state.faults.hit(&key, f)
    });
    if let Some(action) = fault.and_then(|f| faults::early(f.kind)) {
        return Reply { action, delay };
    }
    let resp = serve(state, &route, req).unwrap_or_else(|e| e);
    let action = match fault {
        Some(f) => faults::late(f.kind, resp),
        None => Action::Send(resp),
    };
    Reply { action, delay }
}

fn bad_request(msg: &str) -> Response {
    Response::error(400, msg)
}

/// Err carries the error response, so `?` can be used throughout.
fn serve(state: &State, route: &Route, req: &Request) -> Result<Response, Response> {
    let mut params = parse_query(&req.query);
    check_auth(state, route.auth, req, &mut params)?;
    if route.ignore_ranges {
        params.retain(|(name, _)| !["_gt", "_gte", "_lt", "_lte"].iter().any(|s| name.ends_with(s)));
    }
    let n = route.n;
    let Some(id) = &route.id else {
        return match req.method.as_str() {
            "GET" => {
                let cx = ListCtx {
                    ds: &state.store.dataset(n),
                    store: &state.store,
                    self_url: &format!("{}{}", state.base_url, req.path),
                    raw_query: &req.query,
                    total: route.total,
                };
                styles::list(route.style, params, &cx).map_err(|e| bad_request(&e))
            }
            "POST" => {
                no_params(&params)?;
                create(&state.store, n, json_body(req)?)
            }
            _ => Err(Response::error(405, "method not allowed").with_header("Allow", "GET, POST")),
        };
    };
    let allow = "GET, PATCH, PUT, DELETE";
    if !allow.split(", ").any(|m| m == req.method) {
        return Err(Response::error(405, "method not allowed").with_header("Allow", allow));
    }
    no_params(&params)?;
    let not_found = || Response::error(404, &format!("customer {id} not found"));
    let id: u64 = id.parse().map_err(|_| not_found())?;
    let store = &state.store;
    let found = match req.method.as_str() {
        "GET" => styles::item(&store.dataset(n), id),
        "DELETE" => store.delete(n, id).then(Response::no_content),
        method => {
            let Value::Object(body) = json_body(req)? else {
                return Err(bad_request("body must be a JSON object"));
            };
            let rec = store.update(n, id, body, method == "PUT");
            rec.map(|r| Response::json(200, r.to_string()))
        }
    };
    found.ok_or_else(not_found)
}

/// Item routes and POST take no query parameters (besides auth's api_key,
/// already removed).
fn no_params(params: &[(String, String)]) -> Result<(), Response> {
    match params.first() {
        Some((name, _)) => Err(bad_request(&unknown(name))),
        None => Ok(()),
    }
}

fn json_body(req: &Request) -> Result<Value, Response> {
    serde_json::from_slice(&req.body).map_err(|e| bad_request(&format!("invalid JSON body: {e}")))
}

fn create(store: &Store, n: u64, body: Value) -> Result<Response, Response> {
    let as_object = |v: Value| match v {
        Value::Object(m) => Ok(m),
        _ => Err(bad_request("records must be JSON objects")),
    };
    let (records, single) = match body {
        Value::Array(items) if items.len() > MAX_BATCH => {
            return Err(bad_request(&format!("at most {MAX_BATCH} records per request")))
        }
        Value::Array(items) if items.is_empty() => return Err(bad_request("no records given")),
        Value::Array(items) => {
            let records: Result<Vec<Map<String, Value>>, _> = items.into_iter().map(as_object).collect();
            (records?, false)
        }
        other => (vec![as_object(other)?], true),
    };
    // Like a provider's validation: one bad record refuses the whole request and creates nothing.
    for (i, record) in records.iter().enumerate() {
        if let Some(Value::String(email)) = record.get("email") {
            if !email.contains('@') {
                let message = format!("record {}: email \"{email}\" is not an email address", i + 1);
                return Err(Response::json(422, json!({"error": {"message": message}}).to_string()));
            }
        }
    }
    let created = store.create(n, records);
    let body = match single {
        true => created[0].to_string(),
        false => Value::Array(created).to_string(),
    };
    Ok(Response::json(201, body))
}

fn check_auth(
    state: &State,
    auth: Option<Auth>,
    req: &Request,
    params: &mut Vec<(String, String)>,
) -> Result<(), Response> {
    let Some(auth) = auth else { return Ok(()) };
    let scheme_value = |scheme: &str| {
        let (s, v) = req.header("authorization")?.split_once(' ')?;
        s.eq_ignore_ascii_case(scheme).then(|| v.trim().to_string())
    };
    let (ok, challenge) = match auth {
        Auth::Bearer => (scheme_value("bearer").is_some_and(|t| t == "test-token"), "Bearer realm=\"mockapi\""),
        Auth::Basic => (
            scheme_value("basic").and_then(|v| STANDARD.decode(v).ok()).is_some_and(|creds| creds == b"alice:s3cret"),
            "Basic realm=\"mockapi\"",
        ),
        Auth::Header => (req.header("x-api-key") == Some("test-key"), "ApiKey realm=\"mockapi\", header=\"X-API-Key\""),
        Auth::Query => {
            // api_key is a credential here, never a filter.
            let mut key = None;
            params.retain(|(k, v)| {
                if k == "api_key" {
                    key = Some(v.clone());
                }
                k != "api_key"
            });
            (key.as_deref() == Some("test-key"), "ApiKey realm=\"mockapi\", param=\"api_key\"")
        }
        Auth::OAuthToken => return state.oauth.check_bearer(req),
    };
    match ok {
        true => Ok(()),
        false => Err(Response::error(401, "invalid credentials").with_header("WWW-Authenticate", challenge)),
    }
}

fn admin(state: &State, cmd: &str, req: &Request) -> Response {
    match cmd {
        "requests" => Response::json(200, serde_json::to_string(&state.log.entries()).unwrap()),
        "reset" => {
            state.reset();
            Response::json(200, "[]")
        }
        "count" => Response::json(
            200,
            json!([{ "requests": state.log.count(), "max_in_flight": state.log.max_in_flight() }]).to_string(),
        ),
        "touch" => {
            let params = parse_query(&req.query);
            let get = |name: &str, default: u64| match params.iter().rev().find(|(k, _)| k == name) {
                None => Some(default),
                Some((_, v)) => v.parse::<u64>().ok(),
            };
            let (Some(n), Some(every)) = (get("n", DEFAULT_N), get("every", 100)) else {
                return bad_request("'n' and 'every' must be integers");
            };
            if n > MAX_N || every == 0 {
                return bad_request("'n' must be <= 100000000 and 'every' >= 1");
            }
            let touched = state.store.touch(n, every);
            Response::json(200, json!([{ "touched": touched }]).to_string())
        }
        _ => Response::error(404, &format!("not found: {}", req.path)),
    }
}
