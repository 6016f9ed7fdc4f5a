use super::send::{provider_delay, provider_message};
use super::*;
use crate::error::ErrorKind;
use std::time::{SystemTime, UNIX_EPOCH};

#[test]
fn credentials_go_to_their_origin_only() {
    let (home, other) = (mockapi::MockServer::start_blocking(), mockapi::MockServer::start_blocking());
    let origin = Url::parse(&home.url()).unwrap().origin();
    let auth = Auth::ApiKey { name: "X-API-Key".into(), value: Secret::new("k-123456"), in_query: false };
    let http = Http::new(HttpSettings::default(), auth, vec![("X-Fixed".into(), "f".into())])
        .unwrap()
        .with_credential_scope(CredentialScope::Origin(origin));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for mock in [&home, &other] {
        let url = Url::parse(&format!("{}/page/customers?_limit=1", mock.url())).unwrap();
        runtime.block_on(http.send(&Request::get(url), &Counters::default())).unwrap();
    }
    let key = |mock: &mockapi::MockServer| mock.requests()[0].headers.get("x-api-key").cloned();
    assert_eq!(key(&home).as_deref(), Some("k-123456"));
    assert_eq!(key(&other), None, "another port is another origin: no credentials");
    let nowhere = Http::new(HttpSettings::default(), Auth::Bearer(Secret::new("tok-123456")), vec![])
        .unwrap()
        .with_credential_scope(CredentialScope::Nowhere);
    let url = Url::parse(&format!("{}/page/customers?_limit=1", other.url())).unwrap();
    runtime.block_on(nowhere.send(&Request::get(url), &Counters::default())).unwrap();
    assert_eq!(other.requests()[1].headers.get("authorization"), None);
}

#[test]
fn secrets_do_not_print() {
    let auth = Auth::Bearer(Secret::new("sk_live_abc"));
    assert!(!format!("{auth:?}").contains("sk_live_abc"));
}

#[test]
fn urls_are_redacted() {
    let url = Url::parse("https://u:p@api.example.com/x?api_key=k1&country=DE&sig=zz").unwrap();
    assert_eq!(
        redact_url(&url, Some("sig")),
        "https://REDACTED@api.example.com/x?api_key=REDACTED&country=DE&sig=REDACTED"
    );
}

#[test]
fn provider_delays_are_read() {
    let mut h = HeaderMap::new();
    h.insert("retry-after", "2".parse().unwrap());
    assert_eq!(provider_delay(&h), Some(Duration::from_secs(2)));
    let mut h = HeaderMap::new();
    h.insert("x-ratelimit-reset", "3".parse().unwrap());
    assert_eq!(provider_delay(&h), Some(Duration::from_secs(3)));
    let future = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 5;
    let mut h = HeaderMap::new();
    h.insert("x-ratelimit-reset", future.to_string().parse().unwrap());
    let d = provider_delay(&h).unwrap();
    assert!(d <= Duration::from_secs(5) && d >= Duration::from_secs(3));
    assert_eq!(provider_delay(&HeaderMap::new()), None);
}

#[test]
fn huge_provider_delays_saturate_instead_of_panicking() {
    for value in ["1e300", "inf", "18446744073709551616"] {
        let mut h = HeaderMap::new();
        h.insert("retry-after", value.parse().unwrap());
        assert_eq!(provider_delay(&h), Some(Duration::MAX), "{value}");
    }
    let mut h = HeaderMap::new();
    h.insert("retry-after", "NaN".parse().unwrap());
    assert_eq!(provider_delay(&h), Some(Duration::ZERO));
    let mut h = HeaderMap::new();
    h.insert("x-ratelimit-reset", "1e300".parse().unwrap());
    assert_eq!(provider_delay(&h), Some(Duration::MAX));
}

#[test]
fn provider_messages_come_from_common_shapes() {
    assert_eq!(provider_message(br#"{"error":{"message":"bad key"}}"#), "bad key");
    assert_eq!(provider_message(br#"{"message":"nope"}"#), "nope");
    assert_eq!(provider_message(br#"{"error":"invalid_grant","error_description":"expired"}"#), "expired");
    assert_eq!(provider_message(b"<html>oops</html>"), "<html>oops</html>");
    assert_eq!(
        provider_message(br#"[{"message":"No such column 'x'","errorCode":"INVALID_FIELD"}]"#),
        "INVALID_FIELD: No such column 'x'"
    );
    // Dropbox: a tagged union under "error", the readable form beside it.
    assert_eq!(
        provider_message(br#"{"error_summary":"path/not_found/..","error":{".tag":"path"}}"#),
        "path/not_found/.."
    );
}

#[test]
fn scrub_removes_credentials_from_text() {
    let http = Http::new(HttpSettings::default(), Auth::Bearer(Secret::new("tok-123456")), vec![]).unwrap();
    assert_eq!(http.scrub("echo tok-123456!"), "echo REDACTED!");
}

#[test]
fn tiny_rate_limits_saturate_instead_of_panicking() {
    for rate in [1e-20, 5e-324] {
        let gate = Gate::new(1, Some(rate));
        assert_eq!(gate.interval, Some(Duration::from_nanos(u64::MAX)), "{rate}");
    }
    assert_eq!(Gate::new(1, Some(20.0)).interval, Some(Duration::from_millis(50)));
}

#[tokio::test]
async fn a_cancelled_waiter_gives_its_start_back() {
    let gate = Gate::new(4, Some(0.001));
    let _first = gate.enter().await;
    let after_first = *gate.next_start.lock().unwrap();
    // The second start is 1000 s away: cancelled while it waits.
    assert!(tokio::time::timeout(Duration::from_millis(10), gate.enter()).await.is_err());
    assert_eq!(*gate.next_start.lock().unwrap(), after_first);
}

fn mock_url(m: &mockapi::MockServer, path: &str) -> Url {
    Url::parse(&format!("{}{path}", m.url())).unwrap()
}

#[tokio::test]
async fn redirects_are_followed_within_the_origin_only() {
    let m = mockapi::MockServer::start().await;
    let key = Auth::ApiKey { name: "X-API-Key".into(), value: Secret::new("test-key"), in_query: false };
    let http = Http::new(HttpSettings { max_retries: 0, ..HttpSettings::default() }, key, vec![]).unwrap();
    let same = Request::get(mock_url(&m, "/hostile/redirect/same/auth/header/plain/customers"));
    let (_, rows) = http.send_json(&same, &Counters::default()).await.unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(2000));
    m.reset();
    // `localhost` is another origin than `127.0.0.1`.
    let away = Request::get(mock_url(&m, "/hostile/redirect/localhost/auth/header/plain/customers"));
    let err = http.send(&away, &Counters::default()).await.unwrap_err();
    assert!(err.message.ends_with("HTTP 302 Found"), "{err}");
    assert!(err.hint.as_deref().is_some_and(|h| h.contains("redirected to http://localhost:")), "{err:?}");
    let paths: Vec<String> = m.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/hostile/redirect/localhost/auth/header/plain/customers"]);
}

#[tokio::test]
async fn bodies_past_the_limit_fail_counted_after_decompression() {
    let m = mockapi::MockServer::start().await;
    let settings = HttpSettings { max_response_bytes: 1 << 20, max_retries: 0, ..HttpSettings::default() };
    let http = Http::new(settings, Auth::None, vec![]).unwrap();
    for path in ["/hostile/gzip/8192", "/hostile/big/2048"] {
        let err = http.send(&Request::get(mock_url(&m, path)), &Counters::default()).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::LimitExceeded, "{path}: {err}");
        assert!(err.message.contains("max_response_bytes (1048576 bytes"), "{err}");
    }
    let (_, fits) =
        http.send_json(&Request::get(mock_url(&m, "/hostile/gzip/512")), &Counters::default()).await.unwrap();
    assert_eq!(fits[0]["pad"].as_str().map(str::len), Some(512 * 1024));
}

#[tokio::test]
async fn echoed_credentials_are_scrubbed_from_errors_and_values() {
    let m = mockapi::MockServer::start().await;
    let token = "SEKRET-token-0123456789";
    let settings = HttpSettings { max_retries: 0, ..HttpSettings::default() };
    let http = Http::new(settings, Auth::Bearer(Secret::new(token)), vec![]).unwrap();
    let (_, rows) =
        http.send_json(&Request::get(mock_url(&m, "/hostile/echo.json")), &Counters::default()).await.unwrap();
    assert!(rows[0]["echo"].as_str().unwrap().contains("authorization: Bearer REDACTED"), "{rows}");
    assert_eq!(rows[0]["escaped"], rows[0]["echo"]);
    // The token straddles the 300th character of the provider's message, and the body is not UTF-8.
    for path in ["/hostile/echo/401/pad/270", "/hostile/echo.bin/400", "/hostile/echo"] {
        let err = http.send_json(&Request::get(mock_url(&m, path)), &Counters::default()).await.unwrap_err();
        let shown = format!("{err:?}");
        assert!(!shown.contains("SEKRET"), "{path}: {shown}");
        assert!(shown.contains("Bearer REDACTED"), "{path}: {shown}");
    }
}

#[tokio::test]
async fn each_endpoint_has_one_gate_of_its_own() {
    let http = Http::new(HttpSettings::default(), Auth::None, Vec::new()).unwrap();
    let limit = |endpoint: &str| EndpointLimit { endpoint: endpoint.into(), rate: 1.0 };
    let history = http.endpoint_gate(&limit("/conversations.history"));
    assert!(Arc::ptr_eq(&history, &http.endpoint_gate(&limit("/conversations.history"))));
    assert!(!Arc::ptr_eq(&history, &http.endpoint_gate(&limit("/users.list"))));
}

#[tokio::test]
async fn the_gate_spaces_requests_at_the_rate_limit() {
    let gate = Gate::new(4, Some(20.0));
    let start = Instant::now();
    for _ in 0..5 {
        let _ = gate.enter().await;
    }
    // Five starts at 20/s need four intervals of 50 ms.
    assert!(start.elapsed() >= Duration::from_millis(195), "{:?}", start.elapsed());
}
