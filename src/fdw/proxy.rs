//! `connector_fdw.request(...)` and `connector_fdw.request_full(...)`: one authenticated request through a
//! server, for endpoints and actions its tables do not cover. The request goes through the server's HTTP
//! client (auth, token refresh, retries, shared rate limit, redaction) and never off its base URL.

use super::discovery::{client, server_by_name};
use super::exec::run_interruptibly;
use super::pg::{raise, OrRaise};
use connector_core::connectors;
use connector_core::http::{Counters, Http, Request};
use connector_core::proxy;
use connector_core::{Error, ErrorKind};
use pgrx::prelude::*;
use pgrx::JsonB;

fn required<T>(value: Option<T>, name: &str) -> T {
    value.unwrap_or_else(|| raise(Error::new(ErrorKind::InvalidParameter, format!("{name} must not be null"))))
}

/// The server's client and the request, checked against the server's base URL.
fn prepare(
    server: Option<&str>,
    method: Option<&str>,
    path: Option<&str>,
    body: Option<JsonB>,
    query: Option<JsonB>,
) -> (std::sync::Arc<Http>, Request) {
    let (server, method, path) = (required(server, "server"), required(method, "method"), required(path, "path"));
    // SAFETY: a SQL function: on the backend thread, in a transaction, as the catalog lookups need.
    let (oid, def) = unsafe { server_by_name(server) };
    let connector = connectors::for_server(&def).or_raise();
    if !connector.uses_http() {
        raise(Error::not_supported(format!(
            "server \"{server}\" reads files (connector \"{}\"); it has no API to call",
            connector.name()
        )));
    }
    let base = connectors::base_url(&def, connector.as_ref()).or_raise();
    let request =
        proxy::build_request(&base, method, path, body.map(|JsonB(b)| b), query.map(|JsonB(q)| q).as_ref()).or_raise();
    // SAFETY: `oid` and `def` are the server just looked up in this transaction.
    let http = unsafe { client(oid, &def) };
    // A proxied POST/PATCH has no idempotency key: it is resent only when it never reached the provider.
    (http, request)
}

/// The response body as JSON, with the server's credentials replaced should the provider echo them: in
/// the bytes (text and non-UTF-8 bodies), then in the decoded JSON strings (any mix of escapes).
fn shown_body(http: &Http, body: &[u8]) -> serde_json::Value {
    let scrubber = http.scrubber();
    let mut json = proxy::body_json(&scrubber.bytes(body));
    scrubber.json(body, &mut json);
    json
}

/// Send a request through `server` and return the provider's JSON answer (null for an empty body); a
/// status other than 2xx is an error quoting the provider's message.
#[pg_extern(name = "request")]
fn request(
    server: Option<&str>,
    method: Option<&str>,
    path: Option<&str>,
    body: default!(Option<JsonB>, "NULL"),
    query: default!(Option<JsonB>, "NULL"),
) -> Option<JsonB> {
    let (http, request) = prepare(server, method, path, body, query);
    let response = {
        let http = http.clone();
        run_interruptibly(async move { http.send(&request, &Counters::default()).await }).or_raise()
    };
    match shown_body(&http, &response.body) {
        serde_json::Value::Null => None,
        json => Some(JsonB(json)),
    }
}

/// Like `request`, but any final status is returned with the response headers instead of raised.
#[pg_extern(name = "request_full")]
fn request_full(
    server: Option<&str>,
    method: Option<&str>,
    path: Option<&str>,
    body: default!(Option<JsonB>, "NULL"),
    query: default!(Option<JsonB>, "NULL"),
) -> TableIterator<'static, (name!(status, i32), name!(headers, JsonB), name!(body, Option<JsonB>))> {
    let (http, request) = prepare(server, method, path, body, query);
    let response = {
        let http = http.clone();
        run_interruptibly(async move { http.exchange(&request, &Counters::default()).await }).or_raise()
    };
    let headers: serde_json::Map<String, serde_json::Value> = response
        .headers
        .keys()
        .map(|name| {
            let values: Vec<&str> = response.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
            (name.as_str().to_string(), serde_json::Value::String(http.scrub(&values.join(", "))))
        })
        .collect();
    let body = match shown_body(&http, &response.body) {
        serde_json::Value::Null => None,
        json => Some(JsonB(json)),
    };
    TableIterator::once((i32::from(response.status), JsonB(serde_json::Value::Object(headers)), body))
}
