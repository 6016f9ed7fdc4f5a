//! The one HTTP path every connector uses: authentication, timeouts, retries with backoff, the server's
//! concurrency and rate limit, counters, and redaction of credentials wherever a request is printed.

mod send;

use crate::cache::ResponseCache;
use crate::error::{snippet, Error, Result};
use crate::scrub::{Credential, Scrubber};
use futures::stream::BoxStream;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

/// A credential. It cannot be printed by accident: Debug and Display show a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(REDACTED)")
    }
}

pub use crate::scrub::REDACTED;

/// Query parameters redacted in printed URLs whatever the server's settings.
const SECRET_PARAMS: [&str; 9] =
    ["api_key", "apikey", "key", "token", "access_token", "client_secret", "password", "secret", "refresh_token"];

/// Where OAuth 2.0 access tokens come from: it refreshes them before they expire, and once more when a
/// provider refuses one.
#[async_trait::async_trait]
pub trait TokenProvider: Send + Sync {
    /// A token to send now.
    async fn access_token(&self) -> Result<Secret>;
    /// The provider refused `refused` (401): get a new one, unless another request already did.
    async fn refused(&self, refused: &Secret) -> Result<()>;
    /// The credentials it holds now, so messages quoting remote data can be scrubbed of them.
    fn current_secrets(&self) -> Vec<String>;
    /// The API host the token endpoint named with the current tokens (Salesforce's `instance_url`), once
    /// one was obtained; an error when it named one that may not receive them.
    fn instance(&self) -> Result<Option<Url>> {
        Ok(None)
    }
}

/// A token provider in an `Auth`: compared by identity, never printed.
#[derive(Clone)]
pub struct OAuth(pub Arc<dyn TokenProvider>);

impl fmt::Debug for OAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OAuth(REDACTED)")
    }
}

impl PartialEq for OAuth {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// How requests authenticate.
#[derive(Clone, Debug, PartialEq)]
pub enum Auth {
    None,
    Bearer(Secret),
    Basic {
        user: String,
        password: Secret,
    },
    /// A key in a header (`name: value`) or in the query string (`?name=value`).
    ApiKey {
        name: String,
        value: Secret,
        in_query: bool,
    },
    /// OAuth 2.0 bearer tokens from a provider.
    OAuth2(OAuth),
}

impl Auth {
    /// The credentials requests carry, in the form they are sent.
    fn credentials(&self) -> Vec<Credential> {
        match self {
            Auth::None => vec![],
            Auth::Bearer(s) => vec![Credential::Plain(s.expose().to_string())],
            Auth::Basic { user, password } => vec![Credential::Basic {
                user: user.clone(),
                password: password.expose().to_string(),
                form_encoded: false,
            }],
            Auth::ApiKey { value, .. } => vec![Credential::Plain(value.expose().to_string())],
            Auth::OAuth2(OAuth(provider)) => provider.current_secrets().into_iter().map(Credential::Plain).collect(),
        }
    }
}

/// Timeouts, retries and limits of one server.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpSettings {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries of one request after its first attempt.
    pub max_retries: u32,
    /// Retries one scan may spend in all, so a failing provider is not hammered page after page.
    pub scan_retry_budget: u32,
    /// Requests in flight at once.
    pub max_concurrency: usize,
    /// Requests per second.
    pub rate_limit: Option<f64>,
    /// The wait after a 429 without `Retry-After` (else the usual backoff).
    pub retry_after: Option<Duration>,
    /// Upper bound of one backoff wait, Retry-After included.
    pub max_backoff: Duration,
    pub base_backoff: Duration,
    /// The largest response body (after decompression) read into memory; a larger one fails the request.
    pub max_response_bytes: u64,
}

/// The default of `max_response_bytes`: 64 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 << 20;

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_retries: 3,
            scan_retry_budget: 100,
            max_concurrency: 4,
            rate_limit: None,
            retry_after: None,
            max_backoff: Duration::from_secs(30),
            base_backoff: Duration::from_millis(200),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Request counters, kept per scan (EXPLAIN ANALYZE) and per server (connector_fdw.stats).
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub bytes: AtomicU64,
    pub errors: AtomicU64,
    pub retries: AtomicU64,
    pub throttled_us: AtomicU64,
    pub pages: AtomicU64,
    /// Responses served from the response cache, and their bytes (not counted in `requests`/`bytes`).
    pub cache_hits: AtomicU64,
    pub cache_bytes: AtomicU64,
    /// Windows a range-partitioned scan walked (0 when it walked sequentially).
    pub windows: AtomicU64,
    /// How this scan uses the response cache (a scan's own; server counters leave it at its default).
    pub cache: CachePolicy,
}

/// How one scan uses the response cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CachePolicy {
    /// The table's `cache_ttl`, which wins over the server's.
    pub ttl: Option<Duration>,
    /// Read fresh responses (and keep them): `connector_fdw.use_cache` off, or `sync()`.
    pub refresh: bool,
}

/// A point-in-time copy of `Counters`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    pub requests: u64,
    pub bytes: u64,
    pub errors: u64,
    pub retries: u64,
    pub throttled_us: u64,
    pub pages: u64,
    pub cache_hits: u64,
    pub cache_bytes: u64,
    pub windows: u64,
}

impl Counters {
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled_us: self.throttled_us.load(Ordering::Relaxed),
            pages: self.pages.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cache_bytes: self.cache_bytes.load(Ordering::Relaxed),
            windows: self.windows.load(Ordering::Relaxed),
        }
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Server-wide counters: owned by one client, or living elsewhere for the whole process (the extension
/// keeps them in shared memory so every backend adds to the same ones).
#[derive(Clone, Debug)]
pub enum ServerCounters {
    Owned(Arc<Counters>),
    Shared(&'static Counters),
}

impl Default for ServerCounters {
    fn default() -> Self {
        ServerCounters::Owned(Arc::default())
    }
}

impl std::ops::Deref for ServerCounters {
    type Target = Counters;
    fn deref(&self) -> &Counters {
        match self {
            ServerCounters::Owned(c) => c,
            ServerCounters::Shared(c) => c,
        }
    }
}

/// Ends an admitted request when dropped.
pub struct Permit(#[allow(dead_code)] Box<dyn Send>);

impl Permit {
    pub fn new(guard: impl Send + 'static) -> Self {
        Permit(Box::new(guard))
    }
}

/// Admission of requests to one server: how many may be in flight and how often one may start.
#[async_trait::async_trait]
pub trait Admission: Send + Sync {
    /// Wait until a request may start. Returns its permit and how long it was held back.
    async fn enter(&self) -> (Permit, Duration);
}

/// Admission within one process: at most `max_concurrency` in flight and, with a rate limit, one start per
/// `1/rate` seconds.
#[derive(Debug)]
pub struct Gate {
    slots: Arc<Semaphore>,
    interval: Option<Duration>,
    next_start: std::sync::Mutex<Instant>,
}

impl Gate {
    pub fn new(max_concurrency: usize, rate_limit: Option<f64>) -> Self {
        Gate {
            slots: Arc::new(Semaphore::new(max_concurrency.max(1))),
            // In nanoseconds, saturating as the shared admission does: `from_secs_f64` panics on a rate so
            // small (1e-20/s) that its interval exceeds a Duration.
            interval: rate_limit.filter(|r| *r > 0.0).map(|r| Duration::from_nanos((1e9 / r) as u64)),
            next_start: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// A rate limit alone, for an endpoint's own limit; the server's gate bounds the requests in flight.
    pub fn rate_only(rate: f64) -> Self {
        Gate::new(Semaphore::MAX_PERMITS, Some(rate))
    }
}

#[async_trait::async_trait]
impl Admission for Gate {
    async fn enter(&self) -> (Permit, Duration) {
        let waiting = Instant::now();
        let permit: OwnedSemaphorePermit =
            self.slots.clone().acquire_owned().await.expect("gate semaphore is never closed");
        let queued = waiting.elapsed();
        let Some(interval) = self.interval else { return (Permit::new(permit), queued) };
        let (start, wait) = {
            let mut next = self.next_start.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + interval;
            (start, start - now)
        };
        if !wait.is_zero() {
            // A waiter cancelled before its start gives the start back, unless a later one was claimed.
            let give_back = scopeguard::guard((), |()| {
                let mut next = self.next_start.lock().unwrap_or_else(|e| e.into_inner());
                if *next == start + interval {
                    *next = start;
                }
            });
            tokio::time::sleep(wait).await;
            scopeguard::ScopeGuard::into_inner(give_back);
        }
        (Permit::new(permit), queued + wait)
    }
}

/// One request, before authentication is added.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// Makes a POST/PATCH safe to retry: the provider deduplicates on it.
    pub idempotency_key: Option<String>,
    /// A read sent as POST (list and search endpoints that take their arguments in a body): it changes
    /// nothing, so it is as safe to repeat as a GET.
    pub read_only: bool,
    /// Send `body` as `application/x-www-form-urlencoded` (nested members in brackets, Stripe's
    /// `metadata[plan]=pro`) instead of JSON.
    pub form: bool,
    /// The endpoint's own rate limit, kept on top of the server's.
    pub endpoint_limit: Option<EndpointLimit>,
}

/// A rate limit of one endpoint of a server (Slack's per-method tiers): requests to `endpoint` start at
/// most `rate` times a second, whatever else the server is asked meanwhile.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointLimit {
    pub endpoint: String,
    pub rate: f64,
}

/// Makes the admission of one endpoint limit (the extension's is shared by every backend).
pub type EndpointGates = Arc<dyn Fn(&EndpointLimit) -> Arc<dyn Admission> + Send + Sync>;

impl Request {
    pub fn get(url: Url) -> Self {
        Request::new(Method::GET, url)
    }

    pub fn new(method: Method, url: Url) -> Self {
        Request {
            method,
            url,
            headers: Vec::new(),
            body: None,
            idempotency_key: None,
            read_only: false,
            form: false,
            endpoint_limit: None,
        }
    }

    /// Count the request against its endpoint's own rate limit too.
    pub fn limited(mut self, limit: Option<EndpointLimit>) -> Self {
        self.endpoint_limit = limit;
        self
    }

    /// Mark a request that only reads, whatever its method.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Only reads: a GET or HEAD, or a request marked `read_only`.
    pub fn is_read(&self) -> bool {
        matches!(self.method, Method::GET | Method::HEAD) || self.read_only
    }

    /// Safe to send twice: the method is idempotent or the provider deduplicates on a key.
    fn retry_safe(&self) -> bool {
        matches!(self.method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS)
            || self.idempotency_key.is_some()
            || self.read_only
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
    /// The request as printed in errors: method and redacted URL.
    pub request: String,
    /// The credentials of the request, removed from anything quoted of the body.
    pub scrubber: Arc<Scrubber>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, or an error naming the request and showing how the body starts.
    pub fn json(&self) -> Result<Value> {
        self.json_shaped(None)
    }

    /// The body as JSON, keeping only what `shape` reads (see `prune`), with the request's credentials
    /// removed from its values should the provider echo them.
    pub fn json_shaped(&self, shape: Option<&crate::prune::Shape>) -> Result<Value> {
        let parsed = match shape {
            Some(shape) => shape.parse(&self.body),
            None => serde_json::from_slice(&self.body),
        };
        let mut value = parsed.map_err(|e| {
            Error::bad_response(format!("response to {} is not valid JSON: {e}", self.request))
                .with_detail(format!("body starts with: {}", snippet(&self.scrubber.lossy(&self.body), 120)))
        })?;
        self.scrubber.json(&self.body, &mut value);
        Ok(value)
    }
}

/// A 2xx response whose body is read as it arrives (see [`Http::download`]).
pub struct Download {
    /// The body's chunks; an error names the request and why the body stopped.
    pub body: BoxStream<'static, std::io::Result<bytes::Bytes>>,
    /// Body bytes received so far. The server's counters count them as they arrive; the scan's are the
    /// reader's to update, as the stream outlives any one page.
    pub received: Arc<AtomicU64>,
}

/// The HTTP client of one server for one database role.
pub struct Http {
    client: reqwest::Client,
    settings: HttpSettings,
    auth: Auth,
    /// The scrubber of `auth`'s credentials; for OAuth, rebuilt when its tokens change.
    scrubber: std::sync::Mutex<(Vec<String>, Arc<Scrubber>)>,
    /// Headers every request to this server carries (e.g. Notion-Version).
    fixed_headers: Vec<(String, String)>,
    gate: Arc<dyn Admission>,
    /// The gates of endpoint limits, made on first use.
    endpoint_gates: std::sync::Mutex<std::collections::HashMap<String, Arc<dyn Admission>>>,
    make_endpoint_gate: EndpointGates,
    /// Server-wide counters (connector_fdw.stats).
    pub counters: ServerCounters,
    /// Where read responses are kept and served again (server or table option `cache_ttl`).
    cache: Option<Arc<ResponseCache>>,
    /// Where credentials (and the server's fixed headers) may go.
    credentials_to: CredentialScope,
}

/// The requests that carry a server's credentials.
#[derive(Clone, Debug, PartialEq)]
pub enum CredentialScope {
    /// Every request (clients built without a server, e.g. in tests).
    Anywhere,
    /// Requests to this origin (scheme, host, port): the server's `base_url`.
    Origin(url::Origin),
    /// Requests to any of these origins: a provider whose API spans hosts (Docs and Drive).
    Origins(Vec<url::Origin>),
    /// None: the server has no `base_url` (a file server's URLs are anyone's).
    Nowhere,
    /// Requests to the origin of the instance the OAuth token endpoint named (see [`Http::token_instance`]).
    TokenInstance,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http").field("settings", &self.settings).field("auth", &self.auth).finish()
    }
}

impl Http {
    pub fn new(settings: HttpSettings, auth: Auth, fixed_headers: Vec<(String, String)>) -> Result<Self> {
        let client = reqwest::Client::builder()
            // Proxy variables in a backend's environment must not reroute requests (or loopback tests).
            .no_proxy()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            // Bounds each wait for data: within `timeout` for `send`, the only bound of a download's body.
            .read_timeout(settings.timeout)
            .pool_max_idle_per_host(settings.max_concurrency.max(1))
            .tcp_nodelay(true)
            .user_agent(concat!("connector_fdw/", env!("CARGO_PKG_VERSION")))
            // A redirect may carry the credentials (a key header, a key in the query, a Referer quoting it)
            // only where the request was sent: redirects are followed within its origin, never off it.
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                let first = attempt.previous().first().map(Url::origin);
                if attempt.previous().len() > MAX_REDIRECTS {
                    attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
                } else if first.is_some_and(|origin| origin == attempt.url().origin()) {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            }))
            .referer(false)
            .build()
            .map_err(|e| Error::internal(format!("cannot build HTTP client: {e}")))?;
        let gate = Arc::new(Gate::new(settings.max_concurrency, settings.rate_limit));
        let scrubber = Arc::new(Scrubber::new(&auth.credentials()));
        Ok(Http {
            client,
            settings,
            scrubber: std::sync::Mutex::new((Vec::new(), scrubber)),
            auth,
            fixed_headers,
            gate,
            endpoint_gates: Default::default(),
            make_endpoint_gate: Arc::new(|limit: &EndpointLimit| {
                Arc::new(Gate::rate_only(limit.rate)) as Arc<dyn Admission>
            }),
            counters: ServerCounters::default(),
            cache: None,
            credentials_to: CredentialScope::Anywhere,
        })
    }

    /// Send credentials only where `scope` says: a table's URL, a path option or a provider's answer may
    /// name another host, which must not receive them.
    pub fn with_credential_scope(mut self, scope: CredentialScope) -> Self {
        self.credentials_to = scope;
        self
    }

    fn credentials_for(&self, url: &Url) -> bool {
        match &self.credentials_to {
            CredentialScope::Anywhere => true,
            CredentialScope::Origin(origin) => url.origin() == *origin,
            CredentialScope::Origins(origins) => origins.contains(&url.origin()),
            CredentialScope::Nowhere => false,
            CredentialScope::TokenInstance => match &self.auth {
                Auth::OAuth2(OAuth(provider)) => {
                    provider.instance().ok().flatten().is_some_and(|instance| instance.origin() == url.origin())
                }
                _ => false,
            },
        }
    }

    /// The API host the OAuth token endpoint named for this server's tokens (Salesforce's instance URL),
    /// obtaining a token first if none is held; None without OAuth or when the endpoint named none.
    pub async fn token_instance(&self) -> Result<Option<Url>> {
        let Auth::OAuth2(OAuth(provider)) = &self.auth else { return Ok(None) };
        provider.access_token().await?;
        provider.instance()
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Admit requests through `gate` (the extension passes one in shared memory, used by every backend).
    pub fn with_gate(mut self, gate: Arc<dyn Admission>) -> Self {
        self.gate = gate;
        self
    }

    /// Admit requests with an endpoint limit through gates `make` makes (the extension's share them).
    pub fn with_endpoint_gates(mut self, make: EndpointGates) -> Self {
        self.make_endpoint_gate = make;
        self
    }

    fn endpoint_gate(&self, limit: &EndpointLimit) -> Arc<dyn Admission> {
        let mut gates = self.endpoint_gates.lock().unwrap_or_else(|e| e.into_inner());
        gates.entry(limit.endpoint.clone()).or_insert_with(|| (self.make_endpoint_gate)(limit)).clone()
    }

    pub fn with_counters(mut self, counters: ServerCounters) -> Self {
        self.counters = counters;
        self
    }

    /// Keep read responses in `cache` and serve them again while they are fresh.
    pub fn with_cache(mut self, cache: ResponseCache) -> Self {
        self.cache = Some(Arc::new(cache));
        self
    }

    /// The URL as it may be shown: credentials in the query string and userinfo replaced.
    pub fn redact_url(&self, url: &Url) -> String {
        let key_param = match &self.auth {
            Auth::ApiKey { name, in_query: true, .. } => Some(name.as_str()),
            _ => None,
        };
        redact_url(url, key_param)
    }

    /// The scrubber of this client's credentials, for anything that quotes remote data.
    pub fn scrubber(&self) -> Arc<Scrubber> {
        let mut cached = self.scrubber.lock().unwrap_or_else(|e| e.into_inner());
        if let Auth::OAuth2(OAuth(provider)) = &self.auth {
            let now = provider.current_secrets();
            if now != cached.0 {
                let scrubber = Arc::new(Scrubber::of_secrets(now.iter().map(String::as_str)));
                *cached = (now, scrubber);
            }
        }
        cached.1.clone()
    }

    /// `text` with every credential of this client replaced, for messages that quote remote data.
    pub fn scrub(&self, text: &str) -> String {
        self.scrubber().text(text)
    }

    pub fn describe(&self, req: &Request) -> String {
        format!("{} {}", req.method, self.redact_url(&req.url))
    }
}

/// Redirects followed within one origin before a request fails.
const MAX_REDIRECTS: usize = 10;

/// Read at most `limit` bytes of a response body: `None` when it is longer (for answers that are small by
/// nature, such as OAuth token responses, read outside `Http`'s `max_response_bytes`).
pub(crate) async fn body_within(mut response: reqwest::Response, limit: usize) -> reqwest::Result<Option<Vec<u8>>> {
    let mut body = Vec::with_capacity(response.content_length().unwrap_or(0).min(limit as u64) as usize);
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// A JSON object as a form body: nested objects and arrays in brackets (`a[b]=1`, `items[0][price]=p`),
/// null as an empty value (which clears a field in APIs that take forms).
pub fn form_encode(body: &Value) -> String {
    fn add(out: &mut url::form_urlencoded::Serializer<String>, name: &str, value: &Value) {
        match value {
            Value::Object(members) => members.iter().for_each(|(k, v)| add(out, &format!("{name}[{k}]"), v)),
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| add(out, &format!("{name}[{i}]"), v)),
            Value::String(s) => {
                out.append_pair(name, s);
            }
            Value::Null => {
                out.append_pair(name, "");
            }
            other => {
                out.append_pair(name, &other.to_string());
            }
        }
    }
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    if let Value::Object(members) = body {
        for (k, v) in members {
            add(&mut out, k, v);
        }
    }
    out.finish()
}

/// A URL with its userinfo and credential-looking query parameters replaced by `REDACTED`.
pub fn redact_url(url: &Url, extra_secret_param: Option<&str>) -> String {
    let mut shown = url.clone();
    if !shown.username().is_empty() || shown.password().is_some() {
        let _ = shown.set_username(REDACTED);
        let _ = shown.set_password(None);
    }
    if shown.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let secret =
                    SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()) || Some(k.as_ref()) == extra_secret_param;
                (k.into_owned(), if secret { REDACTED.to_string() } else { v.into_owned() })
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.to_string()
}

#[cfg(test)]
mod tests;
