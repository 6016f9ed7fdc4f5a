//! Mocks of real providers' APIs, for the connector definitions connector_fdw ships: each reproduces the
//! documented list responses, paging tokens and error bodies of the routes a definition uses, over a
//! small deterministic dataset. Routed by the first path segment (`/gmail/…`, `/graph/…`, `/dropbox/…`,
//! `/hubspot/…`, `/gdocs/…`); knob prefixes do not apply. Documented in the crate's README.md.

mod airtable;
mod benchling;
mod close;
mod docs;
mod dropbox;
mod gmail;
mod graph;
mod graphql;
mod hubspot;
mod notion;
mod openapi;
mod salesforce;
mod sheets;
mod slack;
mod stripe;

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

use crate::handler::State;
use crate::http::{Request, Response};

/// The token every provider mock accepts besides those the mock's OAuth server issued.
pub const TEST_TOKEN: &str = "test-token";

/// A Stripe secret key of Stripe's form (`sk_test_…`) the Stripe mock accepts, besides `test-token`.
pub use stripe::KEY as STRIPE_KEY;

/// Records of the Salesforce mock's `Account` object.
pub use salesforce::ACCOUNTS as SALESFORCE_ACCOUNTS;

/// Records the provider mocks change (labels, CRM objects), seeded on first use; `reset` restores the seeds.
#[derive(Default)]
pub struct Collections(Mutex<HashMap<&'static str, Vec<Value>>>);

impl Collections {
    /// Run `f` on the collection `name`, seeding it with `seed()` if it is not there yet.
    fn with<T>(&self, name: &'static str, seed: fn() -> Vec<Value>, f: impl FnOnce(&mut Vec<Value>) -> T) -> T {
        let mut map = self.0.lock().unwrap();
        f(map.entry(name).or_insert_with(seed))
    }

    pub fn reset(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// The provider mock a path belongs to, if any.
pub fn handle(state: &State, req: &Request) -> Option<Response> {
    let mut segments = req.path.splitn(3, '/').skip(1);
    let provider = segments.next()?;
    let rest = format!("/{}", segments.next().unwrap_or(""));
    match provider {
        "gmail" => Some(gmail::handle(state, req, &rest)),
        "graph" => Some(graph::handle(state, req, &rest)),
        "dropbox" => Some(dropbox::handle(state, req, &rest)),
        "hubspot" => Some(hubspot::handle(state, req, &rest)),
        "stripe" => Some(stripe::handle(state, req, &rest)),
        "slack" => Some(slack::handle(state, req, &rest)),
        "close" => Some(close::handle(state, req, &rest)),
        "benchling" => Some(benchling::handle(state, req, &rest)),
        "graphql" => Some(graphql::handle(state, req, &rest)),
        "airtable" => Some(airtable::handle(state, req, &rest)),
        "notion" => Some(notion::handle(state, req, &rest)),
        "sheets" => Some(sheets::handle(state, req, &rest)),
        "gdocs" => Some(docs::handle(state, req, &rest)),
        "openapi" => Some(openapi::handle(state, req, &rest)),
        "salesforce" => Some(salesforce::handle(state, req, &rest, "/salesforce")),
        // The providers' own paths at the mock's root, for servers whose base_url is the mock's origin.
        "v0" => Some(airtable::handle(state, req, &req.path)),
        "v1" => Some(notion::handle(state, req, &req.path)),
        "v4" => Some(sheets::handle(state, req, &req.path)),
        "services" => Some(salesforce::handle(state, req, &req.path, "")),
        _ => None,
    }
}

/// The bearer token of a request, if it has one.
fn bearer(req: &Request) -> Option<&str> {
    let (scheme, token) = req.header("authorization")?.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Whether the request carries `test-token` or a live token of the mock's OAuth server.
fn authorized(state: &State, req: &Request) -> bool {
    match bearer(req) {
        Some(TEST_TOKEN) => true,
        Some(_) => state.oauth.check_bearer(req).is_ok(),
        None => false,
    }
}

fn json(status: u16, body: &Value) -> Response {
    Response::json(status, body.to_string())
}

/// An opaque paging token for a position (providers' tokens are opaque; clients must not build them).
fn token(kind: &str, position: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{position}"))
}

fn untoken(kind: &str, token: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    std::str::from_utf8(&bytes).ok()?.strip_prefix(kind)?.strip_prefix(':')?.parse().ok()
}

/// Percent-encoding for query components in the next-page links the mocks write (`$` and `,` kept, as
/// Microsoft Graph and HubSpot write them).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'$' | b',' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `name=value&…`, encoded.
fn query_string(params: &[(String, String)]) -> String {
    params.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// The last value of a query parameter.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The rate-limit knob of the Airtable, Notion and Sheets mocks: a path `/429/{k}/rest…` (or
/// `/429/always/rest…`) makes the first k requests to each distinct method, path and query refused with
/// the provider's own 429 (and `Retry-After: 1`). Returns whether this request is one of them, and the
/// path without the knob.
fn rate_knob<'a>(state: &State, provider: &str, req: &Request, path: &'a str) -> (bool, &'a str) {
    status_knob(state, provider, "429", req, path)
}

/// Like [`rate_knob`] for another refusal status (`/529/{k}/…`: Notion's `service_overload`).
fn status_knob<'a>(state: &State, provider: &str, status: &str, req: &Request, path: &'a str) -> (bool, &'a str) {
    let Some(rest) = path.strip_prefix(&format!("/{status}/")) else { return (false, path) };
    let (times, rest) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let Some(fault) = crate::faults::Fault::parse("429", times) else { return (false, path) };
    let key = format!("{provider} {status} {} {rest}?{}", req.method, req.query);
    (state.faults.hit(&key, &fault), rest)
}

/// ISO 8601 UTC timestamps in one fixed form, so they compare as text (`2024-03-05T09:00:00Z` and
/// `2024-03-05T09:00:00.5Z` alike).
fn comparable_time(text: &str) -> String {
    let text = text.trim_end_matches('Z');
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    format!("{whole}.{fraction:0<9}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_kind_specific() {
        assert_eq!(untoken("g", &token("g", 20)), Some(20));
        assert_eq!(untoken("h", &token("g", 20)), None);
        assert_eq!(untoken("g", "garbage!"), None);
    }

    #[test]
    fn times_compare_as_text() {
        assert!(comparable_time("2024-03-05T09:00:00.5Z") > comparable_time("2024-03-05T09:00:00Z"));
        assert!(comparable_time("2024-03-05T09:00:01Z") > comparable_time("2024-03-05T09:00:00.5Z"));
        assert_eq!(encode("isRead eq false"), "isRead%20eq%20false");
    }
}
