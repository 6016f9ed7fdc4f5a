//! End-to-end tests over real sockets.

mod client;

use std::collections::BTreeSet;
use std::io::Read;
use std::time::{Duration, Instant};

use client::Client;
use mockapi::MockServer;
use serde_json::{json, Value};

const N: u64 = 2000;

fn ids(records: &Value) -> Vec<u64> {
    records.as_array().expect("array").iter().map(|r| r["id"].as_u64().unwrap()).collect()
}

/// Asserts `seen` is exactly 1..=n in order.
fn assert_all_once(seen: &[u64], n: u64) {
    assert_eq!(seen.len() as u64, n);
    assert!(seen.iter().copied().eq(1..=n), "not 1..={n} in order");
}

fn setup() -> (MockServer, Client) {
    let m = MockServer::start_blocking();
    let c = Client::connect(&m.url());
    (m, c)
}

#[test]
fn page_style_walks_everything_once() {
    let (_m, mut c) = setup();
    let mut seen = Vec::new();
    for page in 1.. {
        let r = c.get(&format!("/page/customers?_page={page}&_limit=100"));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("x-total-count"), Some("2000"));
        let body = r.json();
        assert_eq!((body["page"].as_u64(), body["per_page"].as_u64()), (Some(page), Some(100)));
        assert_eq!(body["total"], 2000);
        let batch = ids(&body["data"]);
        if batch.is_empty() {
            break;
        }
        seen.extend(batch);
    }
    assert_all_once(&seen, N);
    // Defaults and clamping.
    assert_eq!(c.get("/page/customers").json()["data"].as_array().unwrap().len(), 10);
    let clamped = c.get("/page/customers?_limit=1000").json();
    assert_eq!((clamped["per_page"].as_u64(), clamped["data"].as_array().unwrap().len()), (Some(100), 100));
    assert_eq!(c.get("/page/customers?_page=0").status, 400);
}

#[test]
fn offset_style_walks_everything_once() {
    let (_m, mut c) = setup();
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let body = c.get(&format!("/offset/customers?offset={offset}&limit=70")).json();
        assert_eq!(body["total"], 2000);
        let batch = ids(&body["items"]);
        if batch.is_empty() {
            break;
        }
        offset += batch.len();
        seen.extend(batch);
    }
    assert_all_once(&seen, N);
}

#[test]
fn cursor_style_walks_everything_once() {
    let (_m, mut c) = setup();
    let mut seen = Vec::new();
    let mut target = "/cursor/customers?limit=100".to_string();
    loop {
        let body = c.get(&target).json();
        seen.extend(ids(&body["data"]));
        if body["has_more"] == false {
            assert_eq!(body["next_cursor"], Value::Null);
            break;
        }
        let cursor = body["next_cursor"].as_str().unwrap();
        assert!(!cursor.chars().all(|ch| ch.is_ascii_digit()), "cursor should be opaque");
        target = format!("/cursor/customers?limit=100&cursor={cursor}");
    }
    assert_all_once(&seen, N);
    let bad = c.get("/cursor/customers?cursor=garbage!");
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"]["message"].as_str().unwrap().contains("cursor"));
}

#[test]
fn link_style_walks_everything_once_and_keeps_params() {
    let (m, mut c) = setup();
    let mut seen = Vec::new();
    let mut target = "/link/customers".to_string();
    let mut pages = 0;
    loop {
        let r = c.get(&target);
        seen.extend(ids(&r.json()));
        pages += 1;
        let Some(link) = r.header("link") else { break };
        let next = link.split(", ").find(|l| l.ends_with("rel=\"next\"")).map(|l| {
            let url = &l[1..l.find('>').unwrap()];
            assert!(url.starts_with(&m.url()), "{url}");
            url[m.url().len()..].to_string()
        });
        match next {
            Some(n) => target = n,
            None => break,
        }
    }
    assert_eq!(pages, 67, "default per_page is 30");
    assert_all_once(&seen, N);

    let r = c.get("/n/50/link/customers?country=DE&per_page=2&_sort=id");
    let link = r.header("link").unwrap();
    let base = m.url();
    assert!(
        link.contains(&format!("<{base}/n/50/link/customers?page=2&per_page=2&country=DE&_sort=id>; rel=\"next\"")),
        "{link}"
    );
    assert!(link.contains("rel=\"last\""));
}

#[test]
fn plain_style_returns_everything_and_items_work() {
    let (_m, mut c) = setup();
    assert_all_once(&ids(&c.get("/plain/customers").json()), N);
    let rec = c.get("/page/customers/14").json();
    assert_eq!(rec["id"], 14);
    assert_eq!(rec["name"], "Customer 14");
    assert_eq!(rec["email"], "customer14@example.com");
    assert_eq!(rec["note"], Value::Null, "every 7th note is null");
    assert_eq!(rec["created_at"], "2024-01-01T00:14:00Z");
    assert!(rec["updated_at"].as_str().unwrap() >= rec["created_at"].as_str().unwrap());
    assert_eq!(rec["address"]["zip"].as_str().unwrap().len(), 5);
    assert_eq!(rec["uuid"].as_str().unwrap().len(), 36);
    assert_eq!(c.get("/cursor/customers/14").json(), rec, "same record in every style");
    assert_eq!(c.get("/page/customers/2001").status, 404);
    assert_eq!(c.get("/page/customers/abc").status, 404);
    // Deterministic across servers.
    let (_m2, mut c2) = setup();
    assert_eq!(c2.get("/plain/customers?id=14").json()[0], rec);
}

#[test]
fn filters() {
    let (_m, mut c) = setup();
    let mut count = |q: &str| -> u64 {
        let r = c.get(&format!("/offset/customers?limit=1&{q}"));
        assert_eq!(r.status, 200, "{q}: {}", r.text());
        r.json()["total"].as_u64().unwrap()
    };
    let de = count("country=DE");
    let fr = count("country=FR");
    assert!((200..300).contains(&de), "{de}");
    assert_eq!(count("country=DE&country=FR"), de + fr);
    assert_eq!(count("country_ne=DE"), N - de);
    assert_eq!(count("id=5"), 1);
    assert_eq!(count("id=5&id=6&id=99999"), 2);
    assert_eq!(count("id_gt=1990"), 10);
    assert_eq!(count("id_gte=1990&id_lt=1995"), 5);
    assert_eq!(count("id_lte=9"), 9, "numeric, not string, comparison");
    assert_eq!(count("note_null=true"), N / 7);
    assert_eq!(count("note_null=false"), N - N / 7);
    assert_eq!(count("note_ne=x"), N - N / 7, "NULL never matches a comparison");
    assert_eq!(count("active=true") + count("active=false"), N);
    assert_eq!(count("created_at_lt=2024-01-01T00%3A10%3A00Z"), 9);
    assert_eq!(count("signup_date_gte=2000-01-01"), N);
    let rich = count("amount_gte=5000");
    assert!((800..1200).contains(&rich), "{rich}");
    assert_eq!(count("amount_gte=5000") + count("amount_lt=5000"), N);

    let r = c.get("/plain/customers?country=SE&active=true");
    for rec in r.json().as_array().unwrap() {
        assert_eq!((rec["country"].as_str(), rec["active"].as_bool()), (Some("SE"), Some(true)));
    }
    let bad = c.get("/page/customers?x=1");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json(), json!({"error": {"message": "unknown parameter 'x'"}}));
    assert_eq!(c.get("/page/customers?nope_gt=1").status, 400);
    assert_eq!(c.get("/page/customers?limit=5").status, 400, "another style's parameter");
    assert_eq!(c.get("/page/customers?_sort=bogus").status, 400);
    assert_eq!(c.get("/page/customers?note_null=maybe").status, 400);
}

#[test]
fn sorting_matches_postgres() {
    let (_m, mut c) = setup();
    let asc = c.get("/plain/customers?_sort=note&id_lte=30").json();
    let notes: Vec<&Value> = asc.as_array().unwrap().iter().map(|r| &r["note"]).collect();
    assert_eq!(notes.len(), 30);
    assert!(notes[..26].iter().all(|n| n.is_string()) && notes[26..].iter().all(|n| n.is_null()));
    let tail = ids(&Value::Array(asc.as_array().unwrap()[26..].to_vec()));
    assert_eq!(tail, vec![7, 14, 21, 28], "nulls last, ties by id");
    let strings: Vec<&str> = notes[..26].iter().map(|n| n.as_str().unwrap()).collect();
    assert!(strings.windows(2).all(|w| w[0].as_bytes() <= w[1].as_bytes()));

    let desc = c.get("/plain/customers?_sort=note&_order=desc&id_lte=30").json();
    assert_eq!(ids(&Value::Array(desc.as_array().unwrap()[..4].to_vec())), vec![7, 14, 21, 28]);

    let multi = c.get("/plain/customers?_sort=country,amount&_order=asc,desc").json();
    let rows = multi.as_array().unwrap();
    assert_eq!(rows.len() as u64, N);
    for w in rows.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (ca, cb) = (a["country"].as_str().unwrap(), b["country"].as_str().unwrap());
        assert!(ca <= cb);
        if ca == cb {
            assert!(a["amount"].as_f64() >= b["amount"].as_f64());
        }
    }
    let by_id_desc = c.get("/page/customers?_sort=id&_order=desc&_limit=3").json();
    assert_eq!(ids(&by_id_desc["data"]), vec![2000, 1999, 1998]);
    // Paging a sorted, filtered result is stable and complete.
    let mut seen = Vec::new();
    for p in 1..=10 {
        let body = c.get(&format!("/page/customers?_sort=amount&country=DE&_page={p}&_limit=50")).json();
        seen.extend(ids(&body["data"]));
    }
    let total = c.get("/page/customers?country=DE").json()["total"].as_u64().unwrap();
    assert_eq!(seen.len() as u64, total);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len() as u64, total);
}

#[test]
fn fault_429_twice_then_ok_and_reset() {
    let (m, mut c) = setup();
    let path = "/fault/429/2/page/customers?_limit=1";
    for _ in 0..2 {
        let r = c.get(path);
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after"), Some("1"));
        assert!(r.json()["error"]["message"].is_string());
    }
    assert_eq!(c.get(path).status, 200);
    assert_eq!(c.get(path).status, 200);
    // Counters are per path+query.
    assert_eq!(c.get("/fault/429/2/page/customers?_limit=2").status, 429);
    m.reset();
    assert_eq!(c.get(path).status, 429);
    assert_eq!(c.get("/__admin/reset").text(), "[]");
    assert_eq!(c.get(path).status, 429);

    for _ in 0..3 {
        assert_eq!(c.get("/fault/503/always/page/customers").status, 503);
    }
    assert_eq!(c.get("/fault/500/1/page/customers").status, 500);
    assert_eq!(c.get("/fault/502/1/page/customers").status, 502);
    let rl = c.get("/fault/ratelimit/1/page/customers");
    assert_eq!(rl.status, 429);
    assert!(rl.header("retry-after").is_none());
    let reset_at: u64 = rl.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset_at > 1_700_000_000);
}

#[test]
fn faults_that_mangle_the_response() {
    let (m, mut c) = setup();
    let r = c.get("/fault/truncate/1/page/customers");
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    let full = c.get("/fault/truncate/1/page/customers");
    assert_eq!(full.body.len() / 2, r.body.len());

    let html = c.get("/fault/notjson/1/page/customers");
    assert_eq!(html.status, 200);
    assert!(html.header("content-type").unwrap().starts_with("text/html"));
    assert!(html.text().starts_with("<!DOCTYPE html>"));

    // reset: full Content-Length announced, half the body, then an error.
    let mut rc = Client::connect(&m.url());
    rc.send("GET", "/fault/reset/1/page/customers?_limit=100", &[], None).unwrap();
    assert!(rc.read_response().is_err());
    let mut rc = Client::connect(&m.url());
    assert_eq!(rc.get("/fault/reset/1/page/customers?_limit=100").status, 200);

    // hang: nothing arrives; the server keeps the socket open.
    let mut hc = Client::connect(&m.url());
    hc.stream().set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    hc.send("GET", "/fault/hang/1/page/customers", &[], None).unwrap();
    let err = hc.read_response().unwrap_err();
    assert!(matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut), "{err}");

    // drip: one byte per 200 ms.
    let mut dc = Client::connect(&m.url());
    dc.send("GET", "/fault/drip/1/page/customers/1", &[], None).unwrap();
    let mut stream = dc.stream().try_clone().unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    while start.elapsed() < Duration::from_millis(700) {
        let mut b = [0u8; 64];
        if let Ok(n) = stream.read(&mut b) {
            got.extend_from_slice(&b[..n]);
        }
    }
    assert!((2..=6).contains(&got.len()), "{} bytes", got.len());
    assert!(b"HTTP/1.1".starts_with(&got[..got.len().min(8)]));
}

#[test]
fn request_log_records_what_was_sent() {
    let (m, mut c) = setup();
    c.request(
        "GET",
        "/auth/bearer/page/customers?_page=1&_limit=5&country=DE",
        &[("Authorization", "Bearer test-token"), ("X-Other", "x"), ("Stripe-Version", "2024-06-20")],
        None,
    );
    c.request("POST", "/page/customers", &[("Idempotency-Key", "k1")], Some(r#"{"name":"New"}"#));
    c.get("/nowhere");
    c.get("/__admin/count");
    let log = m.requests();
    assert_eq!(log.len(), 3, "admin requests are not logged");
    assert_eq!(log.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, "/auth/bearer/page/customers");
    assert_eq!(log[0].query, "_page=1&_limit=5&country=DE");
    assert_eq!(log[0].param("country").as_deref(), Some("DE"));
    assert_eq!(log[0].header("authorization"), Some("Bearer test-token"));
    assert_eq!(log[0].header("stripe-version"), Some("2024-06-20"));
    assert_eq!(log[0].headers.len(), 2, "only the listed headers: {:?}", log[0].headers);
    assert_eq!(log[0].body, None);
    assert_eq!(log[1].body, Some(json!({"name": "New"})));
    assert_eq!(log[1].header("idempotency-key"), Some("k1"));
    assert_eq!(log[1].header("content-type"), Some("application/json"));
    assert_eq!(log[2].query, "");

    let over_http = c.get("/__admin/requests").json();
    assert_eq!(over_http, serde_json::to_value(&log).unwrap());
    assert_eq!(over_http[2]["body"], Value::Null);
    assert_eq!(c.get("/__admin/count").json(), json!([{"requests": 3, "max_in_flight": 1}]));
    m.reset();
    assert!(m.requests().is_empty());
    c.get("/page/customers");
    assert_eq!(m.requests()[0].seq, 1);
    assert_eq!(m.request_count(), 1);
}

#[test]
fn writes_and_batch_limit() {
    let (m, mut c) = setup();
    let max_updated = |c: &mut Client| -> String {
        let r = c.get("/page/customers?_sort=updated_at&_order=desc&_limit=1").json();
        r["data"][0]["updated_at"].as_str().unwrap().to_string()
    };
    let before = max_updated(&mut c);

    let r = c.request("POST", "/page/customers", &[], Some(r#"{"name":"Zed","country":"DE"}"#));
    assert_eq!(r.status, 201);
    let created = r.json();
    assert_eq!(created["id"], 2001);
    assert_eq!(created["email"], Value::Null);
    assert!(created["updated_at"].as_str().unwrap() > before.as_str());
    assert_eq!(c.get("/offset/customers/2001").json(), created);
    assert_eq!(c.get("/page/customers").json()["total"], 2001);

    let batch: Vec<Value> = (0..3).map(|i| json!({"name": format!("B{i}")})).collect();
    let r = c.request("POST", "/page/customers", &[], Some(&Value::Array(batch).to_string()));
    assert_eq!(r.status, 201);
    assert_eq!(ids(&r.json()), vec![2002, 2003, 2004]);

    let too_many = Value::Array((0..11).map(|_| json!({})).collect()).to_string();
    let r = c.request("POST", "/page/customers", &[], Some(&too_many));
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), json!({"error": {"message": "at most 10 records per request"}}));
    assert_eq!(c.request("POST", "/page/customers", &[], Some("{oops")).status, 400);

    let patched = c.request("PATCH", "/page/customers/5", &[], Some(r#"{"name":"Five","id":99}"#)).json();
    assert_eq!((patched["id"].as_u64(), patched["name"].as_str()), (Some(5), Some("Five")));
    assert_eq!(patched["email"], "customer5@example.com", "PATCH merges");
    let after_patch = max_updated(&mut c);
    assert_eq!(patched["updated_at"].as_str(), Some(after_patch.as_str()));
    assert_eq!(c.get("/plain/customers?name=Five").json()[0]["id"], 5);

    let put = c.request("PUT", "/page/customers/6", &[], Some(r#"{"name":"Six"}"#)).json();
    assert_eq!((put["name"].as_str(), put["email"].is_null()), (Some("Six"), true));
    assert!(put["updated_at"].as_str().unwrap() > after_patch.as_str());

    assert_eq!(c.request("DELETE", "/page/customers/7", &[], None).status, 204);
    assert_eq!(c.request("DELETE", "/page/customers/7", &[], None).status, 404);
    assert_eq!(c.get("/page/customers/7").status, 404);
    assert_eq!(c.request("PATCH", "/page/customers/7", &[], Some("{}")).status, 404);
    let all = ids(&c.get("/plain/customers").json());
    assert_eq!(all.len(), 2003);
    assert!(!all.contains(&7) && all.contains(&2004));
    let mut walked = Vec::new();
    for p in 1..=21 {
        walked.extend(ids(&c.get(&format!("/page/customers?_limit=100&_page={p}")).json()["data"]));
    }
    assert_eq!(walked, all, "paging after deletes");

    // Datasets of other sizes are untouched.
    assert_eq!(c.get("/n/2000/page/customers/7").status, 404, "/n/2000 is the default dataset");
    assert_eq!(c.get("/n/1999/page/customers/7").status, 200);
    assert_eq!(c.get("/n/100/page/customers").json()["total"], 100);

    assert_eq!(c.request("HEAD", "/page/customers", &[], None).status, 405);
    m.reset();
    assert_eq!(c.get("/page/customers/7").status, 200);
    assert_eq!(c.get("/page/customers").json()["total"], 2000);
}

#[test]
fn touch_advances_updated_at() {
    let (_m, mut c) = setup();
    let newest = c.get("/page/customers?_sort=updated_at&_order=desc&_limit=1").json();
    let watermark = newest["data"][0]["updated_at"].as_str().unwrap().to_string();
    assert_eq!(c.get("/__admin/touch?n=2000&every=100").json(), json!([{"touched": 20}]));
    let changed = c.get(&format!("/plain/customers?updated_at_gt={watermark}")).json();
    assert_eq!(ids(&changed), (1..=20).map(|k| k * 100).collect::<Vec<_>>());
    assert_eq!(c.get("/__admin/touch").json(), json!([{"touched": 20}]));
    let again = c.get(&format!("/plain/customers?updated_at_gt={}", changed[0]["updated_at"].as_str().unwrap()));
    assert_eq!(again.json().as_array().unwrap().len(), 20, "strictly later each time");
    assert_eq!(c.get("/__admin/touch?n=100000&every=100").json(), json!([{"touched": 1000}]));
}

#[test]
fn auth_modes() {
    let (_m, mut c) = setup();
    let basic = "Basic YWxpY2U6czNjcmV0"; // alice:s3cret
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        ("/auth/bearer/page/customers", &[("Authorization", "Bearer test-token")], "Bearer"),
        ("/auth/basic/page/customers", &[("Authorization", basic)], "Basic"),
        ("/auth/header/page/customers", &[("X-API-Key", "test-key")], "ApiKey"),
        ("/auth/query/page/customers?api_key=test-key&country=DE", &[], "ApiKey"),
    ];
    for (path, headers, scheme) in cases {
        assert_eq!(c.request("GET", path, headers, None).status, 200, "{path}");
        let denied = c.get(&path.replace("test-key", "wrong"));
        assert_eq!(denied.status, 401, "{path}");
        assert_eq!(denied.json(), json!({"error": {"message": "invalid credentials"}}));
        assert!(denied.header("www-authenticate").unwrap().starts_with(scheme));
    }
    let wrong = [("Authorization", "Bearer nope")];
    assert_eq!(c.request("GET", "/auth/bearer/page/customers", &wrong, None).status, 401);
}

#[test]
fn errors_and_connection_close() {
    let (m, mut c) = setup();
    let r = c.get("/x");
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"error": {"message": "not found: /x"}}));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = c.request("DELETE", "/page/customers", &[], None);
    assert_eq!(r.status, 405);
    assert!(r.json()["error"]["message"].is_string());

    let mut closing = Client::connect(&m.url());
    let r = closing.request("GET", "/page/customers/1", &[("Connection", "close")], None);
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    let mut rest = Vec::new();
    closing.stream().try_clone().unwrap().read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "server closed the connection");
}

#[test]
fn delays_overlap() {
    let m = MockServer::start_blocking();
    let start = Instant::now();
    let threads: Vec<_> = (0..20)
        .map(|i| {
            let url = m.url();
            std::thread::spawn(move || {
                Client::connect(&url).get(&format!("/delay/300/page/customers/{}", i + 1)).status
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(1500), "{took:?}");
}

#[test]
fn huge_dataset_pages_are_cheap() {
    let (_m, mut c) = setup();
    let start = Instant::now();
    let body = c.get("/n/1000000/page/customers?_page=10000&_limit=100").json();
    let took = start.elapsed();
    assert_eq!(body["total"], 1_000_000);
    assert_eq!(ids(&body["data"]), (999_901..=1_000_000).collect::<Vec<_>>());
    assert!(took < Duration::from_millis(500), "{took:?}");
    let last = c.get("/n/1000000/cursor/customers/1000000").json();
    assert_eq!(last["name"], "Customer 1000000");
}

#[tokio::test]
async fn async_start_serves_on_the_current_runtime() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let m = MockServer::start().await;
    assert!(m.url().starts_with("http://127.0.0.1:"));
    let mut s = tokio::net::TcpStream::connect(m.addr()).await.unwrap();
    s.write_all(b"GET /page/customers/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains(r#""name":"Customer 3""#));
    assert_eq!(m.requests().len(), 1);
}
