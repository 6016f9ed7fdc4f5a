//! Webhooks: providers' signed deliveries, verified as each provider documents, and the HTTP listener that
//! receives them ([`listener`]). Nothing here knows Postgres: the FDW layer's background worker resolves
//! servers and stores events through [`listener::Backend`].
//!
//! A server takes webhooks when it has the option `webhook`:
//! - `stripe`: `Stripe-Signature: t=<unix time>,v1=<hex>[,v1=…]`, HMAC-SHA256 of `<t>.<body>`; other schemes
//!   (`v0`) are ignored against downgrades; the event is the body's `id` and `type`.
//! - `slack`: `X-Slack-Signature: v0=<hex>`, HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<body>`; the
//!   `url_verification` handshake is answered with its challenge; the event is `event_id` and `event.type`.
//! - `hmac_sha256`: HMAC-SHA256 of the body in a header (`webhook_signature_header`, default GitHub's
//!   `X-Hub-Signature-256`), hex or base64 (`webhook_signature_encoding`), an optional `sha256=` prefix; the
//!   event id and type come from a header (`header:X-GitHub-Delivery`) or a JSONPath (`$.id`).
//!
//! Signed timestamps must be within five minutes of now (both providers document that window). Signatures
//! are compared in constant time (`Mac::verify_slice`).

pub mod listener;

use crate::error::{Error, Result};
use crate::jsonpath::JsonPath;
use crate::options::{Kind, OptionMap, OptionSpec};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::sync::atomic::AtomicU64;

type HmacSha256 = Hmac<Sha256>;

/// How far a signed timestamp may be from now, in seconds (Stripe's and Slack's documented 5 minutes).
pub const TOLERANCE_SECONDS: i64 = 300;

/// The values of the server option `webhook`.
pub const PROVIDERS: [&str; 3] = ["stripe", "slack", "hmac_sha256"];

/// The server option that holds the signing secret, encrypted (set by `connector_fdw.set_webhook_secret`).
pub const SECRET_OPTION: &str = "webhook_secret";

/// Options of the generic `hmac_sha256` scheme only.
const GENERIC_OPTIONS: [&str; 4] =
    ["webhook_signature_header", "webhook_signature_encoding", "webhook_event_id", "webhook_event_type"];

/// Server options for webhooks, valid on every connector's servers.
pub fn server_options() -> Vec<OptionSpec> {
    vec![
        OptionSpec::one_of("webhook", &PROVIDERS),
        OptionSpec::new(SECRET_OPTION, Kind::Secret),
        OptionSpec::text("webhook_signature_header"),
        OptionSpec::one_of("webhook_signature_encoding", &["hex", "base64"]),
        OptionSpec::text("webhook_event_id"),
        OptionSpec::text("webhook_event_type"),
    ]
}

/// Accepted and rejected deliveries of one server (shared memory in the extension).
#[derive(Default)]
pub struct WebhookCounters {
    pub accepted: AtomicU64,
    pub rejected: AtomicU64,
}

/// Where the generic scheme finds an event's id or type.
#[derive(Clone, Debug, PartialEq)]
pub enum Locator {
    Header(String),
    Path(JsonPath),
}

impl Locator {
    fn parse(option: &str, text: &str) -> Result<Locator> {
        match text.strip_prefix("header:") {
            Some(name) if is_header_name(name) => Ok(Locator::Header(name.to_string())),
            Some(name) => Err(Error::option_value(option, format!("\"{name}\" is not an HTTP header name"))),
            None => JsonPath::parse(text).map(Locator::Path).map_err(|e| {
                Error::option_value(option, e)
                    .with_hint("Give a JSONPath into the body (\"$.id\") or a header (\"header:X-GitHub-Delivery\").")
            }),
        }
    }

    fn find(&self, header: &dyn Fn(&str) -> Option<String>, body: &Value) -> Option<String> {
        let value = match self {
            Locator::Header(name) => header(name),
            Locator::Path(path) => match path.get(body)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            },
        };
        value.filter(|v| !v.is_empty())
    }

    fn describe(&self) -> String {
        match self {
            Locator::Header(name) => format!("header {name}"),
            Locator::Path(path) => path.to_string(),
        }
    }
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Base64,
}

/// How a server's deliveries are signed.
#[derive(Clone, Debug, PartialEq)]
pub enum Scheme {
    Stripe,
    Slack,
    HmacSha256 { header: String, encoding: Encoding, event_id: Locator, event_type: Option<Locator> },
}

impl Scheme {
    /// The webhook scheme of a server's options; `None` when the server takes no webhooks. The options'
    /// combinations are checked here, so CREATE/ALTER SERVER refuses what a delivery could not use.
    pub fn from_options(options: &OptionMap) -> Result<Option<Scheme>> {
        let given = |name: &str| options.get(name).map(String::as_str);
        let Some(provider) = given("webhook") else {
            if let Some(name) = GENERIC_OPTIONS.iter().find(|n| options.contains_key(**n)) {
                return Err(Error::option_value(name, "needs the server option webhook 'hmac_sha256'"));
            }
            return Ok(None);
        };
        if provider != "hmac_sha256" {
            if let Some(name) = GENERIC_OPTIONS.iter().find(|n| options.contains_key(**n)) {
                return Err(Error::option_value(
                    name,
                    format!("applies to webhook 'hmac_sha256' only; webhook '{provider}' is verified as the provider documents"),
                ));
            }
        }
        Ok(Some(match provider {
            "stripe" => Scheme::Stripe,
            "slack" => Scheme::Slack,
            "hmac_sha256" => {
                let header = given("webhook_signature_header").unwrap_or("X-Hub-Signature-256");
                if !is_header_name(header) {
                    return Err(Error::option_value(
                        "webhook_signature_header",
                        format!("\"{header}\" is not an HTTP header name"),
                    ));
                }
                let encoding = match given("webhook_signature_encoding") {
                    None | Some("hex") => Encoding::Hex,
                    Some("base64") => Encoding::Base64,
                    Some(other) => {
                        return Err(Error::option_value(
                            "webhook_signature_encoding",
                            format!("\"{other}\" is not one of: hex, base64"),
                        ))
                    }
                };
                Scheme::HmacSha256 {
                    header: header.to_string(),
                    encoding,
                    event_id: Locator::parse("webhook_event_id", given("webhook_event_id").unwrap_or("$.id"))?,
                    event_type: given("webhook_event_type")
                        .map(|t| Locator::parse("webhook_event_type", t))
                        .transpose()?,
                }
            }
            other => {
                return Err(Error::option_value(
                    "webhook",
                    format!("\"{other}\" is not one of: {}", PROVIDERS.join(", ")),
                ))
            }
        }))
    }
}

/// Check a server's webhook options: their combinations, and a secret that is ciphertext (plaintext would
/// be readable in the catalog by every role).
pub fn validate_options(options: &OptionMap) -> Result<()> {
    Scheme::from_options(options)?;
    if options.get(SECRET_OPTION).is_some_and(|v| !crate::secrets::is_ciphertext(v)) {
        return Err(Error::option_value(SECRET_OPTION, "must be set with connector_fdw.set_webhook_secret()")
            .with_hint(
                "SELECT connector_fdw.set_webhook_secret('<server>', '<signing secret>') stores it encrypted.",
            ));
    }
    Ok(())
}

/// One event of a verified delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: String,
    pub event_type: Option<String>,
    /// The body as received (valid UTF-8 JSON).
    pub payload: String,
}

/// What a verified delivery asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Verified {
    Event(Event),
    /// Slack's `url_verification` handshake: answer with the challenge; nothing is stored.
    Challenge(String),
}

/// Why a delivery is refused. The reasons name no secret and no signature.
#[derive(Clone, Debug, PartialEq)]
pub enum Rejection {
    /// The signature is missing, malformed, does not match, or its timestamp is stale (401).
    Unauthorized(String),
    /// The body is not what the provider sends: not JSON, no event id (400).
    BadRequest(String),
}

/// Verify one delivery: `header` looks a request header up by name (case-insensitively), `now` is the Unix
/// time. The signature is checked before anything in the body is looked at.
pub fn verify(
    scheme: &Scheme,
    secret: &[u8],
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    now: i64,
) -> std::result::Result<Verified, Rejection> {
    match scheme {
        Scheme::Stripe => verify_stripe(secret, header, body, now)?,
        Scheme::Slack => verify_slack(secret, header, body, now)?,
        Scheme::HmacSha256 { header: name, encoding, .. } => verify_generic(secret, name, *encoding, header, body)?,
    }
    let text = std::str::from_utf8(body).map_err(|_| Rejection::BadRequest("the body is not UTF-8".into()))?;
    let json: Value =
        serde_json::from_str(text).map_err(|e| Rejection::BadRequest(format!("the body is not JSON: {e}")))?;
    let (id, event_type) = match scheme {
        Scheme::Stripe => (
            Locator::Path(JsonPath::key("id")).find(header, &json),
            Locator::Path(JsonPath::key("type")).find(header, &json),
        ),
        Scheme::Slack => {
            if json.get("type").and_then(Value::as_str) == Some("url_verification") {
                let challenge = json
                    .get("challenge")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Rejection::BadRequest("a url_verification request without a challenge".into()))?;
                return Ok(Verified::Challenge(challenge.to_string()));
            }
            let inner_type = json.get("event").and_then(|e| e.get("type")).and_then(Value::as_str);
            let outer_type = json.get("type").and_then(Value::as_str);
            (Locator::Path(JsonPath::key("event_id")).find(header, &json), inner_type.or(outer_type).map(String::from))
        }
        Scheme::HmacSha256 { event_id, event_type, .. } => {
            let id = event_id.find(header, &json).ok_or_else(|| {
                Rejection::BadRequest(format!("the delivery has no event id at {}", event_id.describe()))
            })?;
            (Some(id), event_type.as_ref().and_then(|t| t.find(header, &json)))
        }
    };
    let id = id.ok_or_else(|| Rejection::BadRequest("the event has no id".into()))?;
    Ok(Verified::Event(Event { id, event_type, payload: text.to_string() }))
}

fn unauthorized(reason: impl Into<String>) -> Rejection {
    Rejection::Unauthorized(reason.into())
}

fn mac(secret: &[u8]) -> HmacSha256 {
    HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length")
}

fn check_timestamp(timestamp: i64, now: i64) -> std::result::Result<(), Rejection> {
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(unauthorized(format!(
            "the signed timestamp is more than {TOLERANCE_SECONDS} seconds away from now"
        )));
    }
    Ok(())
}

fn header_value(header: &dyn Fn(&str) -> Option<String>, name: &str) -> std::result::Result<String, Rejection> {
    header(name).ok_or_else(|| unauthorized(format!("the {name} header is missing")))
}

/// Stripe: every `v1` signature is tried (a rolled secret signs with both for a while).
fn verify_stripe(
    secret: &[u8],
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    now: i64,
) -> std::result::Result<(), Rejection> {
    let value = header_value(header, "Stripe-Signature")?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for element in value.split(',') {
        match element.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", signature)) => signatures.push(signature),
            _ => {}
        }
    }
    let t = timestamp.ok_or_else(|| unauthorized("Stripe-Signature has no timestamp (t=)"))?;
    let seconds: i64 = t.parse().map_err(|_| unauthorized("the Stripe-Signature timestamp is not a number"))?;
    if signatures.is_empty() {
        return Err(unauthorized("Stripe-Signature has no v1 signature"));
    }
    let mut signed = mac(secret);
    signed.update(t.as_bytes());
    signed.update(b".");
    signed.update(body);
    let matches =
        signatures.iter().filter_map(|s| decode_hex(s)).any(|expected| signed.clone().verify_slice(&expected).is_ok());
    if !matches {
        return Err(unauthorized("no v1 signature matches the body"));
    }
    check_timestamp(seconds, now)
}

/// Slack: the timestamp is checked first, as Slack's guide does, against replays.
fn verify_slack(
    secret: &[u8],
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    now: i64,
) -> std::result::Result<(), Rejection> {
    let timestamp = header_value(header, "X-Slack-Request-Timestamp")?;
    let signature = header_value(header, "X-Slack-Signature")?;
    let seconds: i64 =
        timestamp.trim().parse().map_err(|_| unauthorized("X-Slack-Request-Timestamp is not a number"))?;
    check_timestamp(seconds, now)?;
    let expected = signature
        .strip_prefix("v0=")
        .and_then(decode_hex)
        .ok_or_else(|| unauthorized("X-Slack-Signature is not v0=<hex>"))?;
    let mut signed = mac(secret);
    signed.update(b"v0:");
    signed.update(timestamp.as_bytes());
    signed.update(b":");
    signed.update(body);
    signed.verify_slice(&expected).map_err(|_| unauthorized("X-Slack-Signature does not match the body"))
}

fn verify_generic(
    secret: &[u8],
    name: &str,
    encoding: Encoding,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> std::result::Result<(), Rejection> {
    let value = header_value(header, name)?;
    let value = value.trim();
    let digest = match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha256=") => &value[7..],
        _ => value,
    };
    let expected = match encoding {
        Encoding::Hex => decode_hex(digest),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(digest)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(digest))
            .ok(),
    }
    .ok_or_else(|| {
        let form = if encoding == Encoding::Hex { "hex" } else { "base64" };
        unauthorized(format!("{name} is not a {form} digest"))
    })?;
    let mut signed = mac(secret);
    signed.update(body);
    signed.verify_slice(&expected).map_err(|_| unauthorized(format!("{name} does not match the body")))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}
