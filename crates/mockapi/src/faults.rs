//! Fault injection: `/fault/{kind}/{k}` makes the first k requests to each
//! distinct path+query fail, so clients' retry logic can be tested
//! deterministically.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::http::Response;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// 429 with `Retry-After: 1`.
    TooManyRequests,
    /// 429 with `X-RateLimit-Reset: <unix now + 1>` and no Retry-After.
    RateLimit,
    /// Google's rate-quota refusal: 403 with reason `rateLimitExceeded`.
    GoogleRateLimit,
    /// 500, 502 or 503 with a JSON error body.
    Status(u16),
    /// Head with the full Content-Length, half the body, then a TCP RST.
    Reset,
    /// Valid HTTP whose JSON body is cut in half.
    Truncate,
    /// The correct response, one byte every 200 ms.
    Drip,
    /// Never answer; hold the socket until the client gives up.
    Hang,
    /// 200 with an HTML body.
    NotJson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// Failures per distinct path+query; `None` = always.
    pub times: Option<u64>,
}

impl Fault {
    pub fn parse(kind: &str, times: &str) -> Option<Fault> {
        let kind = match kind {
            "429" => FaultKind::TooManyRequests,
            "ratelimit" => FaultKind::RateLimit,
            "google403" => FaultKind::GoogleRateLimit,
            "500" => FaultKind::Status(500),
            "502" => FaultKind::Status(502),
            "503" => FaultKind::Status(503),
            "reset" => FaultKind::Reset,
            "truncate" => FaultKind::Truncate,
            "drip" => FaultKind::Drip,
            "hang" => FaultKind::Hang,
            "notjson" => FaultKind::NotJson,
            _ => return None,
        };
        let times = match times {
            "always" => None,
            k => Some(k.parse().ok()?),
        };
        Some(Fault { kind, times })
    }
}

/// How many requests each path+query has seen while a fault knob was on it.
#[derive(Default)]
pub struct FaultCounters(Mutex<HashMap<String, u64>>);

impl FaultCounters {
    /// Counts this request and says whether it is one of the failing ones.
    pub fn hit(&self, key: &str, fault: &Fault) -> bool {
        let Some(times) = fault.times else {
            return true;
        };
        let mut seen = self.0.lock().unwrap();
        let count = seen.entry(key.to_string()).or_insert(0);
        *count += 1;
        *count <= times
    }

    pub fn reset(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// What the connection should do with a request.
#[derive(Debug)]
pub enum Action {
    Send(Response),
    /// Send the head and half the body, then reset the connection.
    Reset(Response),
    /// Send the response one byte every 200 ms.
    Drip(Response),
    Hang,
}

/// Faults that replace the response outright; the request is not processed
/// (a failed POST creates nothing).
pub fn early(kind: FaultKind) -> Option<Action> {
    let resp = match kind {
        FaultKind::TooManyRequests => Response::error(429, "rate limit exceeded").with_header("Retry-After", "1"),
        FaultKind::RateLimit => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
            Response::error(429, "rate limit exceeded")
                .with_header("X-RateLimit-Reset", (now.as_secs() + 1).to_string())
        }
        FaultKind::GoogleRateLimit => {
            let body = serde_json::json!({ "error": { "code": 403, "message": "Rate Limit Exceeded", "status": "PERMISSION_DENIED",
                "errors": [{ "message": "Rate Limit Exceeded", "domain": "usageLimits", "reason": "rateLimitExceeded" }] } });
            Response::new(403, "application/json; charset=UTF-8", body.to_string().into_bytes())
        }
        FaultKind::Status(code) => Response::error(code, &format!("injected fault {code}")),
        FaultKind::NotJson => Response::new(
            200,
            "text/html; charset=utf-8",
            b"<!DOCTYPE html><html><body><h1>Maintenance</h1><p>Try again later.</p></body></html>".to_vec(),
        ),
        FaultKind::Hang => return Some(Action::Hang),
        FaultKind::Reset | FaultKind::Truncate | FaultKind::Drip => return None,
    };
    Some(Action::Send(resp))
}

/// Faults that mangle the real response (the request was processed).
pub fn late(kind: FaultKind, mut resp: Response) -> Action {
    match kind {
        FaultKind::Reset => Action::Reset(resp),
        FaultKind::Drip => Action::Drip(resp),
        FaultKind::Truncate => {
            resp.body.truncate(resp.body.len() / 2);
            Action::Send(resp)
        }
        _ => Action::Send(resp),
    }
}
