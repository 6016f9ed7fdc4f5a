//! Webhook signatures as Stripe, Slack and GitHub document them (their published examples where there
//! are some; otherwise values computed with `openssl dgst -sha256 -hmac`), and the listener's answers to
//! good and hostile deliveries.

use connector_core::options::OptionMap;
use connector_core::secrets;
use connector_core::webhooks::listener::{serve, Backend, Endpoint, Resolution, Settings, Stored};
use connector_core::webhooks::{validate_options, verify, Event, Rejection, Scheme, Verified, WebhookCounters};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn options(pairs: &[(&str, &str)]) -> OptionMap {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn scheme(pairs: &[(&str, &str)]) -> Scheme {
    Scheme::from_options(&options(pairs)).unwrap().unwrap()
}

fn headers(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect();
    move |name: &str| map.iter().find(|(k, _)| *k == name.to_ascii_lowercase()).map(|(_, v)| v.clone())
}

fn unauthorized(result: Result<Verified, Rejection>) -> String {
    match result {
        Err(Rejection::Unauthorized(reason)) => reason,
        other => panic!("expected a 401 rejection, got {other:?}"),
    }
}

const STRIPE_SECRET: &[u8] = b"whsec_test_secret";
const STRIPE_T: i64 = 1492774577;
const STRIPE_BODY: &str = r#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"customer.created","data":{"object":{"id":"cus_1","email":"ada@example.com"}}}"#;
// printf '%s' "1492774577.$STRIPE_BODY" | openssl dgst -sha256 -hmac whsec_test_secret
const STRIPE_V1: &str = "83bf2ae5b28db83de5a18e08daaaac7ab7088371b2251a7002ac465a0af1b9d1";

#[test]
fn stripe_signatures_are_checked_as_documented() {
    let stripe = scheme(&[("webhook", "stripe")]);
    let check = |header: &str, now: i64| {
        verify(&stripe, STRIPE_SECRET, &headers(&[("Stripe-Signature", header)]), STRIPE_BODY.as_bytes(), now)
    };
    let good = format!("t={STRIPE_T},v1={STRIPE_V1}");
    assert_eq!(
        check(&good, STRIPE_T + 10).unwrap(),
        Verified::Event(Event {
            id: "evt_1NG8Du2eZvKYlo2CUI79vXWy".into(),
            event_type: Some("customer.created".into()),
            payload: STRIPE_BODY.into(),
        })
    );
    // A rolled secret: Stripe signs with the old and the new one; either may match. v0 (test mode) and
    // unknown schemes are ignored.
    let other = "5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd";
    assert!(check(&format!("t={STRIPE_T},v1={other},v1={STRIPE_V1},v0={other}"), STRIPE_T).is_ok());
    assert!(check(&format!("t={STRIPE_T}, v1={STRIPE_V1}"), STRIPE_T).is_ok());
    // Wrong, absent, downgraded or stale.
    assert_eq!(unauthorized(check(&format!("t={STRIPE_T},v1={other}"), STRIPE_T)), "no v1 signature matches the body");
    assert_eq!(
        unauthorized(check(&format!("t={STRIPE_T},v0={STRIPE_V1}"), STRIPE_T)),
        "Stripe-Signature has no v1 signature"
    );
    assert_eq!(unauthorized(check(&format!("v1={STRIPE_V1}"), STRIPE_T)), "Stripe-Signature has no timestamp (t=)");
    assert!(unauthorized(check(&format!("t={},v1={STRIPE_V1}", STRIPE_T + 1), STRIPE_T)).contains("no v1 signature"));
    assert!(unauthorized(check(&good, STRIPE_T + 301)).contains("more than 300 seconds"));
    assert!(unauthorized(check(&good, STRIPE_T - 301)).contains("more than 300 seconds"));
    assert!(check(&good, STRIPE_T + 300).is_ok());
    let missing = verify(&stripe, STRIPE_SECRET, &headers(&[]), STRIPE_BODY.as_bytes(), STRIPE_T);
    assert_eq!(unauthorized(missing), "the Stripe-Signature header is missing");
    // The same signature with another secret or another body.
    let wrong_secret =
        verify(&stripe, b"whsec_other", &headers(&[("Stripe-Signature", &good)]), STRIPE_BODY.as_bytes(), STRIPE_T);
    assert!(matches!(wrong_secret, Err(Rejection::Unauthorized(_))));
    let tampered = STRIPE_BODY.replace("ada@", "eve@");
    let tampered =
        verify(&stripe, STRIPE_SECRET, &headers(&[("Stripe-Signature", &good)]), tampered.as_bytes(), STRIPE_T);
    assert!(matches!(tampered, Err(Rejection::Unauthorized(_))));
}

// Slack's worked example (docs: "Verifying requests from Slack"): a slash command's form body.
const SLACK_SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
const SLACK_T: &str = "1531420618";
const SLACK_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SLACK_SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

#[test]
fn slack_signatures_are_checked_as_documented() {
    let slack = scheme(&[("webhook", "slack")]);
    let now = SLACK_T.parse::<i64>().unwrap() + 60;
    let signed = headers(&[("X-Slack-Request-Timestamp", SLACK_T), ("X-Slack-Signature", SLACK_SIGNATURE)]);
    // The signature matches; the form body is not an Events API JSON event, so it is a bad request.
    assert!(matches!(verify(&slack, SLACK_SECRET, &signed, SLACK_BODY.as_bytes(), now), Err(Rejection::BadRequest(_))));
    let wrong = headers(&[
        ("X-Slack-Request-Timestamp", SLACK_T),
        ("X-Slack-Signature", &SLACK_SIGNATURE.replace("a21", "a22")),
    ]);
    assert_eq!(
        unauthorized(verify(&slack, SLACK_SECRET, &wrong, SLACK_BODY.as_bytes(), now)),
        "X-Slack-Signature does not match the body"
    );
    let stale = verify(&slack, SLACK_SECRET, &signed, SLACK_BODY.as_bytes(), now + 300);
    assert!(unauthorized(stale).contains("more than 300 seconds"));
    let unversioned = headers(&[("X-Slack-Request-Timestamp", SLACK_T), ("X-Slack-Signature", &SLACK_SIGNATURE[3..])]);
    assert_eq!(
        unauthorized(verify(&slack, SLACK_SECRET, &unversioned, SLACK_BODY.as_bytes(), now)),
        "X-Slack-Signature is not v0=<hex>"
    );
    let no_time = headers(&[("X-Slack-Signature", SLACK_SIGNATURE)]);
    assert_eq!(
        unauthorized(verify(&slack, SLACK_SECRET, &no_time, SLACK_BODY.as_bytes(), now)),
        "the X-Slack-Request-Timestamp header is missing"
    );
}

#[test]
fn slack_events_and_the_url_verification_handshake() {
    let slack = scheme(&[("webhook", "slack")]);
    let now = 1531420618;
    let deliver = |body: &str, signature: &str| {
        let h = headers(&[("X-Slack-Request-Timestamp", SLACK_T), ("X-Slack-Signature", signature)]);
        verify(&slack, SLACK_SECRET, &h, body.as_bytes(), now)
    };
    let challenge =
        r#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    // printf 'v0:1531420618:%s' "$challenge" | openssl dgst -sha256 -hmac 8f742231b10e8888abcd99yyyzzz85a5
    let challenge_signature = "v0=9815b856719f49294457425f6c73f1ccbe3172750a83b6066a7f04c0fdcabec4";
    let event = r#"{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"message","text":"hi"}}"#;
    let event_signature = "v0=85d505603cd78242080ccc699266f5d6d63cc09a701e03ba40862ad6aab37ea6";
    assert_eq!(
        deliver(challenge, challenge_signature).unwrap(),
        Verified::Challenge("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".into())
    );
    assert_eq!(
        deliver(event, event_signature).unwrap(),
        Verified::Event(Event { id: "Ev08MFMKH6".into(), event_type: Some("message".into()), payload: event.into() })
    );
    // An unsigned handshake gets no answer.
    assert!(matches!(deliver(challenge, event_signature), Err(Rejection::Unauthorized(_))));
}

#[test]
fn generic_hmac_follows_github_and_base64_senders() {
    let github = scheme(&[
        ("webhook", "hmac_sha256"),
        ("webhook_event_id", "header:X-GitHub-Delivery"),
        ("webhook_event_type", "header:X-GitHub-Event"),
    ]);
    // GitHub's published test values (docs: "Validating webhook deliveries").
    let secret = b"It's a Secret to Everybody";
    let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let h =
        headers(&[("X-Hub-Signature-256", signature), ("X-GitHub-Delivery", "72d3162e"), ("X-GitHub-Event", "ping")]);
    // The signature matches GitHub's example body; that body is not JSON.
    assert_eq!(
        verify(&github, secret, &h, b"Hello, World!", 0),
        Err(Rejection::BadRequest("the body is not JSON: expected value at line 1 column 1".into()))
    );
    assert!(matches!(verify(&github, secret, &h, b"Hello, World?", 0), Err(Rejection::Unauthorized(_))));
    let bare = headers(&[("X-Hub-Signature-256", &signature[7..])]);
    assert!(matches!(verify(&github, secret, &bare, b"Hello, World!", 0), Err(Rejection::BadRequest(_))));

    // Shopify-style: a bare base64 digest in its own header, the event id in the body.
    let shop = scheme(&[
        ("webhook", "hmac_sha256"),
        ("webhook_signature_header", "X-Shopify-Hmac-Sha256"),
        ("webhook_signature_encoding", "base64"),
        ("webhook_event_type", "$.topic"),
    ]);
    // printf '%s' '{"id":1}' | openssl dgst -sha256 -hmac shop-secret -binary | base64
    let h = headers(&[("X-Shopify-Hmac-Sha256", "plW8VGqq0nDMIEhDqaNNW99asdUCy7EIqLZVcQwtAZ0=")]);
    assert_eq!(
        verify(&shop, b"shop-secret", &h, br#"{"id":1}"#, 0).unwrap(),
        Verified::Event(Event { id: "1".into(), event_type: None, payload: r#"{"id":1}"#.into() })
    );
    let hex = headers(&[("X-Shopify-Hmac-Sha256", "a655bc546aaad270cc204843a9a34d5bdf5ab1d502cbb108a8b655710c2d019d")]);
    assert_eq!(
        unauthorized(verify(&shop, b"shop-secret", &hex, br#"{"id":1}"#, 0)),
        "X-Shopify-Hmac-Sha256 does not match the body"
    );
    let missing = verify(&shop, b"shop-secret", &headers(&[]), br#"{"id":1}"#, 0);
    assert_eq!(unauthorized(missing), "the X-Shopify-Hmac-Sha256 header is missing");
}

#[test]
fn webhook_options_are_checked_together() {
    let check = |pairs: &[(&str, &str)]| validate_options(&options(pairs)).map_err(|e| e.message);
    assert!(check(&[]).is_ok());
    assert!(check(&[("webhook", "stripe")]).is_ok());
    assert_eq!(
        check(&[("webhook", "stripe"), ("webhook_event_id", "$.id")]).unwrap_err(),
        "invalid value for option \"webhook_event_id\": applies to webhook 'hmac_sha256' only; webhook 'stripe' is verified as the provider documents"
    );
    assert_eq!(
        check(&[("webhook_signature_header", "X-Sig")]).unwrap_err(),
        "invalid value for option \"webhook_signature_header\": needs the server option webhook 'hmac_sha256'"
    );
    assert!(check(&[("webhook", "hmac_sha256"), ("webhook_event_id", "id")])
        .unwrap_err()
        .contains("must start with \"$\""));
    assert!(check(&[("webhook", "hmac_sha256"), ("webhook_event_id", "header:Bad Name")])
        .unwrap_err()
        .contains("not an HTTP header name"));
    // A plaintext secret in the server's options is refused without being quoted.
    let plaintext = check(&[("webhook", "slack"), ("webhook_secret", "whsec_plain")]).unwrap_err();
    assert_eq!(
        plaintext,
        "invalid value for option \"webhook_secret\": must be set with connector_fdw.set_webhook_secret()"
    );
    let sealed = secrets::encrypt(&secrets::KeyRing::new(secrets::Key::generate()), "whsec_plain");
    assert!(check(&[("webhook", "slack"), ("webhook_secret", &sealed)]).is_ok());
}

/// A backend with servers of every scheme, storing events in memory.
struct Memory {
    stored: Mutex<HashSet<(String, String)>>,
    counters: &'static WebhookCounters,
    /// Every store fails (a trigger raised).
    fail_store: bool,
}

#[async_trait::async_trait]
impl Backend for Memory {
    async fn resolve(&self, server: &str) -> Resolution {
        let scheme = match server {
            "stripe" => scheme(&[("webhook", "stripe")]),
            "github" => scheme(&[("webhook", "hmac_sha256"), ("webhook_event_id", "header:X-GitHub-Delivery")]),
            "nosecret" => return Resolution::Unavailable,
            _ => return Resolution::NotFound,
        };
        Resolution::Found(Endpoint { scheme, secret: STRIPE_SECRET.to_vec(), counters: Some(self.counters) })
    }

    async fn store(&self, server: &str, event: Event) -> Stored {
        if self.fail_store {
            return Stored::Failed;
        }
        match self.stored.lock().unwrap().insert((server.to_string(), event.id)) {
            true => Stored::New,
            false => Stored::Duplicate,
        }
    }
}

struct Running {
    url: String,
    address: std::net::SocketAddr,
    backend: Arc<Memory>,
}

async fn start(max_body: u64, fail_store: bool) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let backend =
        Arc::new(Memory { stored: Mutex::new(HashSet::new()), counters: Box::leak(Box::default()), fail_store });
    let settings = Arc::new(Settings {
        max_body: Arc::new(AtomicU64::new(max_body)),
        header_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        max_connections: 16,
    });
    tokio::spawn(serve(listener, backend.clone(), settings));
    Running { url: format!("http://{address}"), address, backend }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn stripe_header(body: &str) -> String {
    use hmac::{Hmac, Mac};
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(STRIPE_SECRET).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

async fn post(running: &Running, path: &str, body: &str, signature: Option<&str>) -> (u16, String) {
    let mut request = client().post(format!("{}{path}", running.url)).body(body.to_string());
    if let Some(signature) = signature {
        request = request.header("Stripe-Signature", signature);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_listener_stores_verified_events_once() {
    let running = start(1 << 20, false).await;
    let body = r#"{"id":"evt_1","type":"invoice.paid"}"#;
    let signature = stripe_header(body);
    assert_eq!(post(&running, "/webhooks/stripe", body, Some(&signature)).await, (200, "stored\n".into()));
    assert_eq!(post(&running, "/webhooks/stripe", body, Some(&signature)).await, (200, "already stored\n".into()));
    let (status, text) = post(&running, "/webhooks/stripe", body, Some("t=1,v1=00")).await;
    assert_eq!((status, text.as_str()), (401, "signature verification failed: no v1 signature matches the body\n"));
    assert_eq!(post(&running, "/webhooks/stripe", body, None).await.0, 401);
    let not_json = "not json";
    assert_eq!(post(&running, "/webhooks/stripe", not_json, Some(&stripe_header(not_json))).await.0, 400);
    assert_eq!(post(&running, "/webhooks/unknown", body, Some(&signature)).await.0, 404);
    assert_eq!(post(&running, "/webhooks/nosecret", body, Some(&signature)).await.0, 503);
    assert_eq!(post(&running, "/elsewhere", body, Some(&signature)).await.0, 404);
    let get = client().get(format!("{}/webhooks/stripe", running.url)).send().await.unwrap();
    assert_eq!((get.status().as_u16(), get.headers()["allow"].to_str().unwrap()), (405, "POST"));
    assert_eq!(running.backend.stored.lock().unwrap().len(), 1);
    assert_eq!(running.backend.counters.accepted.load(Ordering::Relaxed), 2);
    assert_eq!(running.backend.counters.rejected.load(Ordering::Relaxed), 3);

    // The event id from a header (GitHub's X-GitHub-Delivery).
    let github = client()
        .post(format!("{}/webhooks/github", running.url))
        .header("X-Hub-Signature-256", "sha256=0000")
        .header("X-GitHub-Delivery", "d1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(github.status().as_u16(), 401);
}

#[tokio::test]
async fn failed_stores_are_not_acknowledged() {
    let running = start(1 << 20, true).await;
    let body = r#"{"id":"evt_2"}"#;
    assert_eq!(post(&running, "/webhooks/stripe", body, Some(&stripe_header(body))).await.0, 500);
}

#[tokio::test]
async fn large_bodies_are_refused_before_they_are_read_whole() {
    let running = start(1000, false).await;
    let big = format!(r#"{{"id":"evt_big","pad":"{}"}}"#, "x".repeat(2000));
    // Announced by Content-Length: refused at once.
    assert_eq!(post(&running, "/webhooks/stripe", &big, Some(&stripe_header(&big))).await.0, 413);
    // Chunked, without a length: cut off once the cap is passed.
    let chunks: Vec<Result<String, std::io::Error>> = (0..40).map(|_| Ok("x".repeat(100))).collect();
    let response = client()
        .post(format!("{}/webhooks/stripe", running.url))
        .header("Stripe-Signature", "t=1,v1=00")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    // A body within the limit still passes.
    let small = r#"{"id":"evt_small"}"#;
    assert_eq!(post(&running, "/webhooks/stripe", small, Some(&stripe_header(small))).await.0, 200);
    assert_eq!(running.backend.counters.rejected.load(Ordering::Relaxed), 2);
}

/// Read until the server closes the connection; what it sent.
async fn read_to_close(stream: &mut tokio::net::TcpStream) -> String {
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received))
        .await
        .expect("the listener closes a slow connection")
        .unwrap();
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn slow_clients_time_out_without_holding_others_back() {
    let running = start(1 << 20, false).await;
    // Half-open: connected, nothing sent. Slow headers: a request line and no end of headers.
    let mut silent = tokio::net::TcpStream::connect(running.address).await.unwrap();
    let mut slow_headers = tokio::net::TcpStream::connect(running.address).await.unwrap();
    slow_headers.write_all(b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // Slow body: headers announce 100 bytes, 10 arrive.
    let mut slow_body = tokio::net::TcpStream::connect(running.address).await.unwrap();
    slow_body
        .write_all(b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"id\":\"e\"")
        .await
        .unwrap();
    // Meanwhile a delivery goes through.
    let body = r#"{"id":"evt_during"}"#;
    assert_eq!(post(&running, "/webhooks/stripe", body, Some(&stripe_header(body))).await.0, 200);
    assert_eq!(read_to_close(&mut silent).await, "");
    let _ = read_to_close(&mut slow_headers).await;
    assert!(read_to_close(&mut slow_body).await.starts_with("HTTP/1.1 408"));
}
