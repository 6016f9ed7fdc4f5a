//! Sending: attempts, retries and their delays, redirects within the origin, response size limits and the
//! response cache.

use super::{add, form_encode, Auth, Counters, Download, Http, OAuth, Request, Response, Secret};
use crate::cache::ResponseCache;
use crate::error::{snippet, Error, ErrorKind, Result};
use futures::stream::StreamExt;
use rand::Rng;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::Url;

enum Retry {
    After(Duration),
    /// The failure is final (not retryable, or the request's own retries are spent).
    No,
    /// Retryable, but the scan as a whole has spent its retry budget.
    ScanBudgetSpent,
}

/// Why one attempt failed.
enum Failure {
    Status(Response),
    /// No response; `sent` tells whether the request may have reached the provider.
    Transport {
        error: reqwest::Error,
        sent: bool,
    },
    /// A 2xx response whose body is not what was asked for (truncated or not JSON): often a glitch on the
    /// way, so worth another try when the request is safe to repeat.
    Body(Error),
    /// A failure no retry can mend (a body over `max_response_bytes`).
    Final(Error),
}

impl Http {
    /// The cache and entry lifetime for `req` in this scan, when it is a read and caching is on.
    fn cache_for(&self, req: &Request, scan: &Counters) -> Option<(&ResponseCache, Duration)> {
        let cache = self.cache.as_deref()?;
        let ttl = scan.cache.ttl.unwrap_or(cache.server_ttl);
        (req.is_read() && !ttl.is_zero()).then_some((cache, ttl))
    }

    /// A fresh cached answer to `req`, counted as a hit.
    fn cached(&self, req: &Request, scan: &Counters, described: &str) -> Option<Response> {
        if scan.cache.refresh {
            return None;
        }
        let (cache, ttl) = self.cache_for(req, scan)?;
        let hit = cache.get(req, ttl)?;
        for counters in [&*self.counters, scan] {
            add(&counters.cache_hits, 1);
            add(&counters.cache_bytes, hit.body.len() as u64);
        }
        Some(Response {
            status: hit.status,
            headers: hit.headers,
            body: hit.body,
            request: described.to_string(),
            scrubber: self.scrubber(),
        })
    }

    fn keep(&self, req: &Request, scan: &Counters, response: &Response) {
        if let Some((cache, ttl)) = self.cache_for(req, scan) {
            cache.put(req, response.status, &response.headers, &response.body, ttl);
        }
    }

    /// Send a request, retrying what is safe to retry, and return a 2xx response. Other statuses become
    /// errors that name the (redacted) request and quote the provider's message.
    pub async fn send(&self, req: &Request, scan: &Counters) -> Result<Response> {
        let described = self.describe(req);
        if let Some(hit) = self.cached(req, scan, &described) {
            return Ok(hit);
        }
        let response = self.retrying(req, &described, scan, |token| self.attempt(req, &described, token)).await?;
        add(&self.counters.bytes, response.body.len() as u64);
        add(&scan.bytes, response.body.len() as u64);
        self.keep(req, scan, &response);
        Ok(response)
    }

    /// Send a request like `send` and return the provider's final answer whatever its status: for callers
    /// that show the status themselves (the SQL API proxy). Rate limits, server errors and a refused OAuth
    /// token are still retried as `send` retries them; a status that stays retryable beyond the retry
    /// budget is an error, as there.
    pub async fn exchange(&self, req: &Request, scan: &Counters) -> Result<Response> {
        let described = self.describe(req);
        let oauth = matches!(self.auth, Auth::OAuth2(_));
        let attempt = |token| {
            let described = described.as_str();
            async move {
                match self.attempt(req, described, token).await {
                    Err(Failure::Status(r))
                        if !(r.status == 429 || r.status >= 500 || r.status == 408 || (oauth && r.status == 401)) =>
                    {
                        Ok(r)
                    }
                    other => other,
                }
            }
        };
        let response = self.retrying(req, &described, scan, attempt).await?;
        add(&self.counters.bytes, response.body.len() as u64);
        add(&scan.bytes, response.body.len() as u64);
        Ok(response)
    }

    /// Send a request like `send` (same authentication, gate and retries) but return once the response
    /// headers arrive, with the body as a stream: for sources too large to hold in memory. Retries end with
    /// the headers; a body that breaks off fails the read. The gate admits the request only, so a slow
    /// reader does not hold a slot of the server's concurrency.
    pub async fn download(&self, req: &Request, scan: &Counters) -> Result<Download> {
        let described = self.describe(req);
        let response =
            self.retrying(req, &described, scan, |token| self.attempt_download(req, &described, token)).await?;
        let received = Arc::new(AtomicU64::new(0));
        let (server, counted) = (self.counters.clone(), received.clone());
        let timeout = self.settings.timeout;
        let mut scrubbing = self.scrubber().stream();
        let limit = self.settings.max_response_bytes;
        let too_large = too_large(&described, limit);
        // An empty chunk after the body flushes what the scrubber holds back.
        let body = response
            .bytes_stream()
            .map(Some)
            .chain(futures::stream::iter([None]))
            .map(move |chunk| match chunk {
                None => Ok(bytes::Bytes::from(scrubbing.push(&[], true))),
                Some(Ok(bytes)) => {
                    add(&server.bytes, bytes.len() as u64);
                    // A stream holds little at a time, but one record of a decompressed body may be huge.
                    if counted.fetch_add(bytes.len() as u64, Ordering::Relaxed) + bytes.len() as u64 > limit {
                        return Err(std::io::Error::other(too_large.clone()));
                    }
                    Ok(bytes::Bytes::from(scrubbing.push(&bytes, false)))
                }
                Some(Err(error)) => {
                    add(&server.errors, 1);
                    let why = if error.is_timeout() {
                        format!("no data within {} ms", timeout.as_millis())
                    } else {
                        "the connection broke off".to_string()
                    };
                    Err(std::io::Error::other(format!("{described} failed: {why}")))
                }
            })
            .boxed();
        Ok(Download { body, received })
    }

    /// Run `attempt` through the gate until it succeeds or its failure is final, counting into the
    /// server's and the scan's counters.
    async fn retrying<T, F>(
        &self,
        req: &Request,
        described: &str,
        scan: &Counters,
        attempt: impl Fn(Option<Secret>) -> F,
    ) -> Result<T>
    where
        F: Future<Output = Result<T, Failure>>,
    {
        // A write may change what any read of the server answers: its cached entries go, whatever the outcome
        // (a failed or cancelled write may still have been applied).
        struct Invalidate<'a>(Option<&'a ResponseCache>);
        impl Drop for Invalidate<'_> {
            fn drop(&mut self) {
                if let Some(cache) = self.0 {
                    let _ = cache.invalidate();
                }
            }
        }
        let _invalidate = Invalidate(self.cache.as_deref().filter(|_| !req.is_read()));
        let mut retries: u32 = 0;
        let mut token_refused = false;
        loop {
            let oauth_token = match &self.auth {
                Auth::OAuth2(OAuth(provider)) if self.credentials_for(&req.url) => Some(provider.access_token().await?),
                _ => None,
            };
            // The endpoint's limit first, so no slot of the server is held while it waits.
            let endpoint_wait = match &req.endpoint_limit {
                Some(limit) => self.endpoint_gate(limit).enter().await.1,
                None => Duration::ZERO,
            };
            let (permit, throttled) = self.gate.enter().await;
            let throttled_us = (endpoint_wait + throttled).as_micros() as u64;
            add(&self.counters.throttled_us, throttled_us);
            add(&scan.throttled_us, throttled_us);
            add(&self.counters.requests, 1);
            add(&scan.requests, 1);
            let outcome = attempt(oauth_token.clone()).await;
            drop(permit);
            let failure = match outcome {
                Ok(done) => return Ok(done),
                Err(failure) => failure,
            };
            add(&self.counters.errors, 1);
            add(&scan.errors, 1);
            // A refused OAuth token is refreshed once and the request sent again at once.
            if let (Failure::Status(r), Auth::OAuth2(OAuth(provider)), Some(token)) =
                (&failure, &self.auth, &oauth_token)
            {
                if r.status == 401 && !token_refused {
                    token_refused = true;
                    provider.refused(token).await?;
                    retries += 1;
                    add(&self.counters.retries, 1);
                    add(&scan.retries, 1);
                    continue;
                }
            }
            match self.retry_delay(req, &failure, retries, scan) {
                Retry::After(delay) => {
                    retries += 1;
                    add(&self.counters.retries, 1);
                    add(&scan.retries, 1);
                    tokio::time::sleep(delay).await;
                }
                Retry::No => return Err(self.failure_error(failure, described, retries)),
                Retry::ScanBudgetSpent => {
                    let budget = self.settings.scan_retry_budget;
                    return Err(self.failure_error(failure, described, retries).with_hint(format!(
                        "The scan had used up its budget of {budget} retries; the provider keeps failing."
                    )));
                }
            }
        }
    }

    /// Send and parse the body as JSON; a body that does not parse is retried like a failed request.
    pub async fn send_json(&self, req: &Request, scan: &Counters) -> Result<(Response, Value)> {
        self.send_json_shaped(req, scan, None).await
    }

    /// Like `send_json`, materializing only what `shape` reads.
    pub async fn send_json_shaped(
        &self,
        req: &Request,
        scan: &Counters,
        shape: Option<&crate::prune::Shape>,
    ) -> Result<(Response, Value)> {
        let described = self.describe(req);
        if let Some(hit) = self.cached(req, scan, &described) {
            let body = if hit.body.is_empty() { Value::Null } else { hit.json_shaped(shape)? };
            return Ok((hit, body));
        }
        let described_ref = described.as_str();
        let attempt = |token: Option<Secret>| async move {
            let response = self.attempt(req, described_ref, token).await?;
            add(&self.counters.bytes, response.body.len() as u64);
            add(&scan.bytes, response.body.len() as u64);
            let body = if response.body.is_empty() {
                Value::Null
            } else {
                response.json_shaped(shape).map_err(Failure::Body)?
            };
            Ok((response, body))
        };
        let (response, body) = self.retrying(req, &described, scan, attempt).await?;
        self.keep(req, scan, &response);
        Ok((response, body))
    }

    async fn attempt(&self, req: &Request, described: &str, token: Option<Secret>) -> Result<Response, Failure> {
        let response = self.read_response(dispatch(self.builder(req, token.as_ref())).await?, described).await?;
        if (200..300).contains(&response.status) {
            Ok(response)
        } else {
            Err(Failure::Status(response))
        }
    }

    /// One attempt of a download: the response once its headers are in.
    async fn attempt_download(
        &self,
        req: &Request,
        described: &str,
        token: Option<Secret>,
    ) -> Result<reqwest::Response, Failure> {
        // No total timeout (tokio caps the sleep): the body lasts as long as its reader takes; the client's
        // read timeout bounds each wait.
        let response = dispatch(self.builder(req, token.as_ref()).timeout(Duration::MAX)).await?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(Failure::Status(self.read_response(response, described).await?))
        }
    }

    /// The request with authentication, headers and body.
    fn builder(&self, req: &Request, oauth_token: Option<&Secret>) -> reqwest::RequestBuilder {
        let mut url = req.url.clone();
        let mut builder = self.client.request(req.method.clone(), url.clone());
        let credentials = self.credentials_for(&req.url);
        match &self.auth {
            _ if !credentials => {}
            Auth::None => {}
            Auth::OAuth2(_) => {
                if let Some(token) = oauth_token {
                    builder = builder.bearer_auth(token.expose());
                }
            }
            Auth::Bearer(token) => builder = builder.bearer_auth(token.expose()),
            Auth::Basic { user, password } => builder = builder.basic_auth(user, Some(password.expose())),
            Auth::ApiKey { name, value, in_query: false } => builder = builder.header(name.as_str(), value.expose()),
            Auth::ApiKey { name, value, in_query: true } => {
                url.query_pairs_mut().append_pair(name, value.expose());
                builder = self.client.request(req.method.clone(), url);
            }
        }
        let fixed = if credentials { &self.fixed_headers[..] } else { &[] };
        for (name, value) in fixed.iter().chain(req.headers.iter()) {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(key) = &req.idempotency_key {
            builder = builder.header("Idempotency-Key", key.as_str());
        }
        match &req.body {
            Some(body) if req.form => {
                builder = builder
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form_encode(body));
            }
            Some(body) => builder = builder.json(body),
            None => {}
        }
        builder
    }

    /// Whether and when to retry a failed attempt.
    fn retry_delay(&self, req: &Request, failure: &Failure, attempt: u32, scan: &Counters) -> Retry {
        let told = match failure {
            Failure::Status(r) if matches!(r.status, 429 | 529 | 503) || google_rate_limited(r) => {
                if !req.retry_safe() && r.status == 503 {
                    return Retry::No;
                }
                // A 429, or Notion's 529 `service_overload` (documented like a 429: back off, honour
                // Retry-After), was refused before any work, so even a POST may be resent.
                provider_delay(&r.headers).or(if r.status == 503 { None } else { self.settings.retry_after })
            }
            Failure::Status(r) if matches!(r.status, 500 | 502 | 504 | 408) && req.retry_safe() => None,
            Failure::Status(_) => return Retry::No,
            Failure::Transport { sent, .. } if *sent && !req.retry_safe() => return Retry::No,
            Failure::Transport { .. } => None,
            Failure::Body(_) if req.retry_safe() => None,
            Failure::Body(_) | Failure::Final(_) => return Retry::No,
        };
        if attempt >= self.settings.max_retries {
            return Retry::No;
        }
        if scan.retries.load(Ordering::Relaxed) >= u64::from(self.settings.scan_retry_budget) {
            return Retry::ScanBudgetSpent;
        }
        let backoff = told.unwrap_or_else(|| {
            // Full jitter: a random wait up to an exponentially growing ceiling.
            let ceiling = self.settings.base_backoff.saturating_mul(1 << attempt.min(10));
            let ceiling = ceiling.min(self.settings.max_backoff);
            Duration::from_micros(rand::rng().random_range(ceiling.as_micros() as u64 / 2..=ceiling.as_micros() as u64))
        });
        Retry::After(backoff.min(self.settings.max_backoff))
    }

    fn failure_error(&self, failure: Failure, described: &str, retries: u32) -> Error {
        let after = match retries {
            0 => String::new(),
            1 => " after 1 retry".to_string(),
            n => format!(" after {n} retries"),
        };
        match failure {
            Failure::Status(r) => {
                let kind = match r.status {
                    401 | 403 => ErrorKind::Authorization,
                    404 => ErrorKind::NotFound,
                    _ => ErrorKind::Remote,
                };
                let reason =
                    reqwest::StatusCode::from_u16(r.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
                // Scrubbed whole (as bytes, then the decoded message) before it is cut.
                let message = r.scrubber.text(&provider_message(&r.scrubber.bytes(&r.body)));
                let status = format!("HTTP {} {reason}", r.status);
                let mut error = Error::new(kind, format!("{described} failed{after}: {}", status.trim_end()));
                if !message.is_empty() {
                    error = error.with_detail(format!("provider said: {}", snippet(&message, 300)));
                }
                if let Some(location) = r.header("location").filter(|_| (300..400).contains(&r.status)) {
                    let to = Url::parse(&described_url(described)).and_then(|base| base.join(location));
                    let to = to.map(|u| r.scrubber.text(&self.redact_url(&u))).unwrap_or_else(|_| "elsewhere".into());
                    error = error.with_hint(format!(
                        "The provider redirected to {to}; redirects are followed only within the origin \
                         (scheme, host and port) of the request, so credentials never leave it."
                    ));
                }
                error
            }
            Failure::Final(error) => error,
            Failure::Body(error) => {
                let message = match retries {
                    0 => error.message,
                    _ => format!("{} ({} tries)", error.message, retries + 1),
                };
                Error { message, ..error }
            }
            Failure::Transport { error, .. } => {
                let why = if error.is_timeout() {
                    if error.is_connect() {
                        format!("could not connect within {} ms", self.settings.connect_timeout.as_millis())
                    } else {
                        format!("no complete response within {} ms", self.settings.timeout.as_millis())
                    }
                } else if error.is_connect() {
                    "could not connect".to_string()
                } else {
                    "the connection broke off".to_string()
                };
                let mut source = String::new();
                let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&error);
                while let Some(c) = cause {
                    source = c.to_string();
                    cause = c.source();
                }
                let mut e = Error::new(ErrorKind::Connection, format!("{described} failed{after}: {why}"));
                if !source.is_empty() {
                    e = e.with_detail(self.scrub(&source));
                }
                e
            }
        }
    }
}

/// Send a built request; a failure before any response says whether the request may have reached the
/// provider.
async fn dispatch(builder: reqwest::RequestBuilder) -> Result<reqwest::Response, Failure> {
    builder.send().await.map_err(|error| {
        let sent = !error.is_connect();
        Failure::Transport { error, sent }
    })
}

fn too_large(described: &str, limit: u64) -> Error {
    Error::new(
        ErrorKind::LimitExceeded,
        format!("response to {described} is larger than max_response_bytes ({limit} bytes, after decompression)"),
    )
    .with_hint("Raise the server option max_response_bytes if the provider's answers are this large.")
}

/// The URL part of a request as `describe` prints it.
fn described_url(described: &str) -> String {
    described.split_once(' ').map_or(described, |(_, url)| url).to_string()
}

impl Http {
    /// Read a response's whole body, decompressed, failing as soon as it grows past `max_response_bytes`
    /// (before it is held in memory: a small gzip may expand a thousandfold).
    async fn read_response(&self, mut response: reqwest::Response, described: &str) -> Result<Response, Failure> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let limit = self.settings.max_response_bytes;
        let announced = response.content_length().unwrap_or(0).min(limit);
        let mut body = bytes::BytesMut::with_capacity(announced as usize);
        while let Some(chunk) = response.chunk().await.map_err(|error| Failure::Transport { error, sent: true })? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(Failure::Final(too_large(described, limit)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, headers, body: body.freeze(), request: described.to_string(), scrubber: self.scrubber() })
    }
}

/// The wait a provider asks for: `Retry-After` (seconds or an HTTP date) or an `X-RateLimit-Reset`-style
/// header (Unix seconds, or seconds from now when small).
pub(super) fn provider_delay(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(value) = get("retry-after") {
        if let Ok(seconds) = value.parse::<f64>() {
            return Some(saturating_seconds(seconds));
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(value) {
            let now = chrono::Utc::now();
            return Some((at.with_timezone(&chrono::Utc) - now).to_std().unwrap_or(Duration::ZERO));
        }
    }
    for name in ["x-ratelimit-reset", "x-rate-limit-reset", "ratelimit-reset"] {
        if let Some(Ok(value)) = get(name).map(str::parse::<f64>) {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
            let wait = if value > 1_000_000_000.0 { value - now } else { value };
            return Some(saturating_seconds(wait));
        }
    }
    None
}

/// Seconds as a wait: negative and NaN are no wait; more than a Duration holds ("1e300", "inf") is the
/// longest wait, which the caller caps. `Duration::from_secs_f64` would panic on those.
fn saturating_seconds(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX)
}

/// The human part of a provider's error body: common JSON shapes first, else the text.
pub(super) fn provider_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let Ok(json) = serde_json::from_slice::<Value>(body) else { return text.trim().to_string() };
    // Salesforce answers a list of errors, each with its code: `[{"message": …, "errorCode": …}]`.
    if let Some(message) = json.pointer("/0/message").and_then(Value::as_str) {
        return match json.pointer("/0/errorCode").and_then(Value::as_str) {
            Some(code) => format!("{code}: {message}"),
            None => message.to_string(),
        };
    }
    let candidates = [
        "/error/message",
        "/error_description",
        "/message",
        "/error",
        "/errors/0/message",
        "/detail",
        "/error_summary",
    ];
    candidates
        .iter()
        .find_map(|p| json.pointer(p).and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| json.to_string())
}

/// Google's APIs (Gmail, Sheets, Drive) refuse a request over a rate quota with a 403 whose reason is
/// `rateLimitExceeded` or `userRateLimitExceeded`, and document it like a 429: back off and retry.
fn google_rate_limited(response: &Response) -> bool {
    if response.status != 403 {
        return false;
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&response.body) else { return false };
    let reasons = body.pointer("/error/errors").and_then(|e| e.as_array());
    reasons.into_iter().flatten().any(|e| {
        matches!(e.get("reason").and_then(|r| r.as_str()), Some("rateLimitExceeded" | "userRateLimitExceeded"))
    })
}
