//! The one HTTP path every connector uses: authentication, timeouts, retries with backoff, the server's
//! concurrency and rate limit, counters, and redaction of credentials wherever a request is printed.

use crate::cache::ResponseCache;
use crate::error::{snippet, Error, ErrorKind, Result};
use crate::scrub::{Credential, Scrubber};
use futures::stream::{BoxStream, StreamExt};
use rand::Rng;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
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
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http").field("settings", &self.settings).field("auth", &self.auth).finish()
    }
}

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
        }
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

/// Redirects followed within one origin before a request fails.
const MAX_REDIRECTS: usize = 10;

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
fn provider_delay(headers: &HeaderMap) -> Option<Duration> {
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

/// The human part of a provider's error body: common JSON shapes first, else the text.
fn provider_message(body: &[u8]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
