//! Connectors and what they share: the trait a connector implements, the options every server accepts,
//! and how a server's options and a user mapping become an authenticated HTTP client.
//!
//! Adding a connector in Rust means adding one module here that implements [`Connector`] and listing it in
//! [`crate::registry::builtin`]; a plain REST provider is better added as a definition (see
//! [`crate::definitions`]). docs/adding-a-connector.md has the whole checklist.

pub mod airtable;
pub mod file;
pub mod google_docs;
pub mod google_sheets;
pub mod graphql;
pub mod notion;
pub mod openapi;
pub mod rest;
pub mod salesforce;

use crate::error::{Error, ErrorKind, Result};
use crate::http::{Auth, CredentialScope, Http, HttpSettings, Secret};
use crate::model::{ScanRequest, TableDef};
use crate::options::{Kind, OptionMap, OptionSpec, Options, Scope};
use crate::pushdown::Capabilities;
use crate::registry;
use crate::scan::PageSource;
use std::sync::Arc;
use std::time::Duration;

/// A foreign server's name and options.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerDef {
    pub name: String,
    pub options: OptionMap,
}

impl ServerDef {
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }
}

/// Defaults a connector gives the common server options.
#[derive(Clone, Debug, PartialEq)]
pub struct Defaults {
    /// The provider's public API origin; `None` when the server must name one.
    pub base_url: Option<&'static str>,
    pub auth: &'static str,
    pub max_concurrency: usize,
    /// Requests per second the provider documents.
    pub rate_limit: Option<f64>,
    pub page_size: u64,
    /// The wait after a 429 that names none (no `Retry-After`), when the provider documents one.
    pub retry_after: Option<Duration>,
    /// Other server options the provider fixes (`api_key_name`, `token_url`, `scopes`, …), used where the
    /// server does not set them.
    pub options: OptionMap,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            base_url: None,
            auth: "none",
            max_concurrency: 4,
            rate_limit: None,
            page_size: 100,
            retry_after: None,
            options: OptionMap::new(),
        }
    }
}

/// One kind of remote system.
pub trait Connector: Send + Sync {
    fn name(&self) -> &str;
    /// One line for `connector_fdw.connectors`.
    fn description(&self) -> &str {
        ""
    }
    fn defaults(&self) -> Defaults {
        Defaults::default()
    }
    /// Server options beyond the common ones.
    fn server_options(&self) -> Vec<OptionSpec> {
        Vec::new()
    }
    fn table_options(&self) -> Vec<OptionSpec>;
    /// Column options beyond `path`.
    fn column_options(&self) -> Vec<OptionSpec> {
        Vec::new()
    }
    /// Whether the connector talks HTTP to `base_url` (the file connector may not).
    fn uses_http(&self) -> bool {
        true
    }
    /// Whether, with `auth 'oauth2'` and no `base_url`, the API host is the instance the token endpoint
    /// names (Salesforce's `instance_url`).
    fn host_from_token(&self) -> bool {
        false
    }
    /// Whether scanning this table reads a file on the database server: Postgres then requires the
    /// table's creator to be a superuser or a member of pg_read_server_files, as file_fdw does.
    fn reads_server_files(&self, _table: &TableDef) -> bool {
        false
    }
    /// A cheap read that needs the credentials, as a path (with query) under the base URL: what
    /// `connector_fdw.test_connection` requests. `None`: the base URL itself.
    fn probe_path(&self, _server: &ServerDef) -> Option<String> {
        None
    }
    /// API roots of the provider besides `base_url` that get the server's credentials too (Google Docs
    /// lists documents through Drive).
    fn other_api_urls(&self, _server: &ServerDef) -> Result<Vec<url::Url>> {
        Ok(Vec::new())
    }
    /// Headers every request of this server carries.
    fn fixed_headers(&self, _server: &ServerDef) -> Vec<(String, String)> {
        Vec::new()
    }
    /// The form the provider's static credential has (Stripe's `sk_live_…`), checked when an HTTP client is
    /// built so that a wrong kind of key fails before any request.
    fn credential_shape(&self) -> Option<&CredentialShape> {
        None
    }
    /// Check a table's options as a whole (required options, combinations), beyond each value's form.
    fn check_table(&self, server: &ServerDef, table: &TableDef) -> Result<()> {
        self.open(server, table).map(|_| ())
    }
    /// Prepare a table for planning and scanning.
    fn open(&self, server: &ServerDef, table: &TableDef) -> Result<Arc<dyn Table>>;
    /// The server as IMPORT FOREIGN SCHEMA's remote schema scopes it (Airtable: the base the schema names),
    /// before [`Connector::resources`]; by default the remote schema names nothing.
    fn import_scope(&self, server: &ServerDef, _remote_schema: &str) -> ServerDef {
        server.clone()
    }
    /// What the provider exposes as tables, for IMPORT FOREIGN SCHEMA and `connector_fdw.list_resources`
    /// (may ask the provider, through `http`). Connectors without discovery return an error that says so.
    fn resources<'a>(
        &'a self,
        _server: &'a ServerDef,
        _http: &'a Http,
    ) -> futures::future::BoxFuture<'a, Result<Vec<Resource>>> {
        let name = self.name().to_string();
        Box::pin(async move {
            Err(Error::not_supported(format!(
                "connector \"{name}\" cannot list what the provider exposes; create foreign tables by hand"
            )))
        })
    }
    /// [`Connector::resources`] and the sources discovery left out, each with why (IMPORT FOREIGN SCHEMA
    /// shows them as warnings).
    fn discover<'a>(
        &'a self,
        server: &'a ServerDef,
        http: &'a Http,
    ) -> futures::future::BoxFuture<'a, Result<Discovery>> {
        Box::pin(async move { Ok(Discovery { resources: self.resources(server, http).await?, skipped: Vec::new() }) })
    }
    /// [`Connector::discover`] for IMPORT FOREIGN SCHEMA's `LIMIT TO` / `EXCEPT`: `keep` tells which foreign
    /// table names are wanted, so a connector that reads each table's schema with a request of its own
    /// reads only theirs. By default everything is discovered, then filtered.
    fn discover_only<'a>(
        &'a self,
        server: &'a ServerDef,
        http: &'a Http,
        keep: &'a (dyn Fn(&str) -> bool + Send + Sync),
    ) -> futures::future::BoxFuture<'a, Result<Discovery>> {
        Box::pin(async move {
            let mut found = self.discover(server, http).await?;
            found.resources.retain(|r| keep(&r.name));
            Ok(found)
        })
    }
    /// Whether discovery on this server reads the database server's file system (a directory import): the
    /// role asking then needs the privilege a server file path needs.
    fn lists_server_files(&self, _server: &ServerDef) -> bool {
        false
    }
}

/// The form of a provider's static credential (`auth` `bearer` or `api_key`): a regular expression the
/// whole value must match, and what a valid one looks like.
#[derive(Clone, Debug)]
pub struct CredentialShape {
    pub pattern: regex::Regex,
    /// Says what to write instead (never the value given).
    pub hint: String,
}

impl PartialEq for CredentialShape {
    fn eq(&self, other: &Self) -> bool {
        self.pattern.as_str() == other.pattern.as_str() && self.hint == other.hint
    }
}

impl CredentialShape {
    /// Refuse a credential (from the mapping's `option`) without the provider's form. The error names the
    /// option and shows what a valid value looks like, never the value itself.
    pub fn check(&self, server: &ServerDef, connector: &str, option: &str, value: &Secret) -> Result<()> {
        if self.pattern.is_match(value.expose()) {
            return Ok(());
        }
        Err(Error::option_value(
            option,
            format!("the user mapping's {option} for server \"{}\" does not have the form connector \"{connector}\" expects (the value is not shown)", server.name),
        )
        .with_hint(format!("{} Change it with ALTER USER MAPPING FOR CURRENT_USER SERVER {} OPTIONS (SET {option} '…').", self.hint, server.name)))
    }
}

/// A table a provider exposes: what IMPORT FOREIGN SCHEMA creates.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// The foreign table's name.
    pub name: String,
    /// A line for `list_resources`.
    pub description: String,
    pub table_options: OptionMap,
    pub columns: Vec<ResourceColumn>,
}

/// `base`, else `base_2`, `base_3`, …: the first name `taken` does not hold (columns and tables that
/// discovery names after the provider's, which may collide once made SQL names).
pub(crate) fn unique_name(base: String, taken: impl Fn(&str) -> bool) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while taken(&name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

/// What discovery found: the tables, and the sources it left out with why.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    pub resources: Vec<Resource>,
    pub skipped: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResourceColumn {
    pub name: String,
    /// A Postgres type name (`text`, `bigint`, `timestamptz`, `jsonb`, …).
    pub sql_type: String,
    pub options: OptionMap,
}

/// A foreign table of a connector.
pub trait Table: Send + Sync {
    /// What this table can push down.
    fn capabilities(&self) -> Capabilities;
    /// The remote request(s) a scan would start with, for EXPLAIN; credentials are never part of them.
    fn describe(&self, request: &ScanRequest) -> Vec<String>;
    /// A page source for one scan.
    fn scan(&self, request: &ScanRequest) -> Result<Arc<dyn PageSource>>;
    /// The most records one request returns (the page size) when the provider pages, `None` when one
    /// request returns them all: the planner's count of requests a full scan costs.
    fn rows_per_request(&self) -> Option<u64> {
        None
    }
    /// How a scan of `request` is split into range windows, for EXPLAIN (see [`PageSource::partitioner`]).
    fn partitioner(&self, _request: &ScanRequest) -> Option<Arc<dyn crate::scan::Partitioner>> {
        None
    }
    /// The write side, when the provider accepts writes.
    fn writer(&self) -> Option<Arc<dyn crate::write::Writer>> {
        None
    }
}

pub const AUTH_KINDS: [&str; 6] = ["none", "bearer", "basic", "api_key", "oauth2", "service_account"];

/// Options every server accepts.
pub fn common_server_options() -> Vec<OptionSpec> {
    vec![
        OptionSpec::text("connector"),
        OptionSpec::new("base_url", Kind::Url),
        OptionSpec::one_of("auth", &AUTH_KINDS),
        OptionSpec::int("timeout_ms", 1, 3_600_000),
        OptionSpec::int("connect_timeout_ms", 1, 600_000),
        OptionSpec::int("max_retries", 0, 100),
        OptionSpec::int("max_scan_retries", 0, 100_000),
        OptionSpec::int("max_concurrency", 1, 64),
        OptionSpec::new("rate_limit", crate::options::RATE_LIMIT),
        OptionSpec::int("max_response_bytes", 1, i64::MAX),
        OptionSpec::int("retry_after_ms", 0, 3_600_000),
        OptionSpec::int("page_size", 1, 100_000),
        OptionSpec::text("api_key_name"),
        OptionSpec::one_of("api_key_in", &["header", "query"]),
        OptionSpec::new("authorize_url", Kind::Url),
        OptionSpec::new("token_url", Kind::Url),
        OptionSpec::text("scopes"),
        OptionSpec::one_of("oauth_client_auth", &["basic", "body"]),
        cache_ttl_option(),
    ]
    .into_iter()
    .chain(crate::webhooks::server_options())
    .collect()
}

/// Seconds a read response is kept and served again (0: not cached); at most a year.
fn cache_ttl_option() -> OptionSpec {
    OptionSpec::int("cache_ttl", 0, 31_536_000)
}

/// All options valid on a foreign table of `connector`.
pub fn table_option_specs(connector: &dyn Connector) -> Vec<OptionSpec> {
    let mut specs = connector.table_options();
    specs.push(cache_ttl_option());
    specs
}

/// The `cache_ttl` of a server or table, if set.
pub fn cache_ttl(options: &OptionMap) -> Result<Option<Duration>> {
    Ok(Options::new(options).int("cache_ttl")?.map(|s| Duration::from_secs(s.max(0) as u64)))
}

/// Options a user mapping accepts, whatever the connector.
pub fn user_mapping_options() -> Vec<OptionSpec> {
    let secret = |name: &str| OptionSpec::new(name, Kind::Secret);
    vec![
        secret("token"),
        OptionSpec::text("user"),
        secret("password"),
        secret("api_key"),
        OptionSpec::text("api_key_name"),
        OptionSpec::one_of("api_key_in", &["header", "query"]),
        OptionSpec::text("client_id"),
        secret("client_secret"),
        secret("refresh_token"),
        secret("access_token"),
        secret("service_account_key"),
        OptionSpec::int("token_expires_at", 0, i64::MAX),
    ]
}

/// All options valid on a server of `connector`.
pub fn server_option_specs(connector: &dyn Connector) -> Vec<OptionSpec> {
    let mut specs = common_server_options();
    specs.extend(connector.server_options());
    specs
}

pub fn column_option_specs(connector: &dyn Connector) -> Vec<OptionSpec> {
    let mut specs = vec![OptionSpec::new("path", Kind::JsonPath)];
    specs.extend(connector.column_options());
    specs
}

pub fn connector_context(connector: &str) -> String {
    format!("of connector \"{connector}\"")
}

/// Look up the connector a server names, with an error listing the valid names.
pub fn for_server(server: &ServerDef) -> Result<Arc<dyn Connector>> {
    let name = server.option("connector").ok_or_else(|| {
        crate::options::missing_option(Scope::Server, "of connector_fdw", "connector")
            .with_hint(format!("Valid connectors are: {}.", registry::names().join(", ")))
    })?;
    registry::find(name).ok_or_else(|| {
        Error::option_value("connector", format!("\"{name}\" is not a known connector"))
            .with_hint(format!("Valid connectors are: {}.", registry::names().join(", ")))
    })
}

/// Validate a server's options: the connector exists, every option is known to it, every value has its
/// form.
pub fn validate_server(server: &ServerDef) -> Result<()> {
    let connector = for_server(server)?;
    let context = connector_context(connector.name());
    crate::options::validate(Scope::Server, &context, &server.options, &server_option_specs(connector.as_ref()))?;
    crate::webhooks::validate_options(&server.options)?;
    if connector.uses_http()
        && connector.defaults().base_url.is_none()
        && server.option("base_url").is_none()
        && !host_from_token(server, connector.as_ref())
    {
        return Err(crate::options::missing_option(Scope::Server, &context, "base_url"));
    }
    Ok(())
}

/// Validate a foreign table against its server's connector: option names and forms, then the
/// connector's own checks.
pub fn validate_table(server: &ServerDef, table: &TableDef) -> Result<()> {
    let connector = for_server(server)?;
    let context = connector_context(connector.name());
    crate::options::validate(Scope::Table, &context, &table.options, &table_option_specs(connector.as_ref()))?;
    let column_specs = column_option_specs(connector.as_ref());
    for column in &table.columns {
        crate::options::validate(Scope::Column, &context, &column.options, &column_specs)
            .map_err(|e| Error { message: format!("column \"{}\": {}", column.name, e.message), ..e })?;
    }
    connector.check_table(server, table)
}

/// A record key as one segment of an item's URL path. URL parsing collapses `.` and `..` segments (also
/// percent-encoded), so such a key would address the collection or its parent instead of the item: refused,
/// naming the key, before anything is sent. Callers percent-encode the key (`/` included).
pub fn item_segment(key_column: &str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::new(ErrorKind::InvalidValue, format!("the key column \"{key_column}\" is NULL or empty")));
    }
    if key == "." || key == ".." {
        return Err(Error::new(
            ErrorKind::InvalidValue,
            format!("the row with key column \"{key_column}\" = \"{key}\" cannot be addressed: \"{key}\" is not an item of a URL path"),
        )
        .with_hint("Nothing was sent. A provider's record key must not be \".\" or \"..\"."));
    }
    Ok(())
}

/// The server's base URL: its `base_url` option or the connector's default, completed by
/// [`complete_base_url`].
pub fn base_url(server: &ServerDef, connector: &dyn Connector) -> Result<url::Url> {
    let default = connector.defaults().base_url;
    let text = server.option("base_url").or(default).ok_or_else(|| {
        crate::options::missing_option(Scope::Server, &connector_context(connector.name()), "base_url")
    })?;
    complete_base_url(text, default)
}

/// A `base_url` as the server gives it, made whole: an origin (`https://api.airtable.com`, a proxy's
/// `http://127.0.0.1:8080`) gets the path of the connector's default URL, its documented version prefix
/// (`/v0`); a URL with a path (`https://api.airtable.com/v0`, a mirror's own layout) is used as is.
pub fn complete_base_url(text: &str, default: Option<&str>) -> Result<url::Url> {
    let parse = |text: &str| {
        url::Url::parse(text).map_err(|e| Error::option_value("base_url", format!("\"{text}\" is not a URL ({e})")))
    };
    let mut url = parse(text)?;
    let prefix = match default.map(parse).transpose()? {
        Some(default) => default.path().trim_end_matches('/').to_string(),
        None => String::new(),
    };
    if !prefix.is_empty() && matches!(url.path(), "" | "/") {
        url.set_path(&prefix);
    }
    Ok(url)
}

/// The page size a table asks for: table option, else server option, else the connector's default.
pub fn page_size(server: &ServerDef, table: &TableDef, connector: &dyn Connector) -> Result<u64> {
    let from_table = Options::new(&table.options).int("page_size")?;
    let from_server = Options::new(&server.options).int("page_size")?;
    Ok(from_table.or(from_server).map(|n| n.max(1) as u64).unwrap_or(connector.defaults().page_size))
}

/// Timeouts, retries and limits from the server's options and the connector's defaults.
pub fn http_settings(server: &ServerDef, connector: &dyn Connector) -> Result<HttpSettings> {
    let options = Options::new(&server.options);
    let defaults = connector.defaults();
    let mut settings = HttpSettings {
        max_concurrency: defaults.max_concurrency,
        rate_limit: defaults.rate_limit,
        retry_after: defaults.retry_after,
        ..HttpSettings::default()
    };
    if let Some(ms) = options.int("timeout_ms")? {
        settings.timeout = Duration::from_millis(ms as u64);
    }
    if let Some(ms) = options.int("connect_timeout_ms")? {
        settings.connect_timeout = Duration::from_millis(ms as u64);
    }
    if let Some(n) = options.int("max_retries")? {
        settings.max_retries = n as u32;
    }
    if let Some(n) = options.int("max_scan_retries")? {
        settings.scan_retry_budget = n as u32;
    }
    if let Some(n) = options.int("max_concurrency")? {
        settings.max_concurrency = n as usize;
    }
    if let Some(text) = options.get("rate_limit") {
        // Checked where used too: a limit set around validation would block every request of the server.
        crate::options::check_value(&OptionSpec::new("rate_limit", crate::options::RATE_LIMIT), text)?;
        settings.rate_limit = options.number("rate_limit")?;
    }
    if let Some(n) = options.int("max_response_bytes")? {
        settings.max_response_bytes = n.max(1) as u64;
    }
    if let Some(ms) = options.int("retry_after_ms")? {
        settings.retry_after = Some(Duration::from_millis(ms as u64));
    }
    Ok(settings)
}

/// The auth kind a server uses: its `auth` option or the connector's default.
pub fn auth_kind<'a>(server: &'a ServerDef, connector: &dyn Connector) -> &'a str {
    server.option("auth").unwrap_or(connector.defaults().auth)
}

/// The OAuth 2.0 client of a server (`auth 'oauth2'`) and mapping: endpoints and scopes from the server,
/// the client's identity from the mapping.
pub fn oauth_config(server: &ServerDef, user: &OptionMap) -> Result<crate::oauth::OAuthConfig> {
    let context = connector_context(server.option("connector").unwrap_or(""));
    let defaults = for_server(server).map(|c| c.defaults()).unwrap_or_default();
    let option = |name: &str| server_option(server, &defaults, name);
    let token_url =
        option("token_url").ok_or_else(|| crate::options::missing_option(Scope::Server, &context, "token_url"))?;
    let client_id = user.get("client_id").ok_or_else(|| {
        let problem = if user.is_empty() { "there is no user mapping for the current user" } else { "the user mapping has no option \"client_id\"" };
        Error::new(ErrorKind::Authorization, format!("server \"{}\" uses auth 'oauth2', but {problem}", server.name)).with_hint(format!(
            "CREATE USER MAPPING FOR CURRENT_USER SERVER {} OPTIONS (client_id '…', client_secret '…'), then authorize with connector_fdw.oauth_authorize_url.",
            server.name
        ))
    })?;
    let mut config = crate::oauth::OAuthConfig::new(token_url, client_id.clone());
    config.authorize_url = option("authorize_url").map(str::to_string);
    config.client_secret = user.get("client_secret").map(|s| Secret::new(s.clone()));
    config.scopes = option("scopes")
        .map(|s| s.split([' ', ',']).filter(|x| !x.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    if option("oauth_client_auth") == Some("body") {
        config.client_auth = crate::oauth::ClientAuth::RequestBody;
    }
    Ok(config)
}

/// A server option, or the connector's default for it.
fn server_option<'a>(server: &'a ServerDef, defaults: &'a Defaults, name: &str) -> Option<&'a str> {
    server.option(name).or_else(|| defaults.options.get(name).map(String::as_str))
}

/// The tokens a user mapping holds, if any.
pub fn mapping_tokens(user: &OptionMap) -> Option<crate::oauth::Tokens> {
    let access_token = user.get("access_token").map(|t| Secret::new(t.clone()));
    let refresh_token = user.get("refresh_token").map(|t| Secret::new(t.clone()));
    let expires_at = user.get("token_expires_at").and_then(|t| t.parse().ok());
    match (access_token, refresh_token) {
        (Some(access_token), refresh_token) => {
            Some(crate::oauth::Tokens { access_token, refresh_token, expires_at, instance_url: None })
        }
        // Only a refresh token: treat the (absent) access token as expired so the first use refreshes.
        (None, Some(refresh_token)) => Some(crate::oauth::Tokens {
            access_token: Secret::new(""),
            refresh_token: Some(refresh_token),
            expires_at: Some(0),
            instance_url: None,
        }),
        (None, None) => None,
    }
}

/// The authentication a server uses, with credentials from the user mapping (`user`): the server's `auth`
/// option or the connector's default. A missing credential is an error that says which option to set.
/// `auth 'oauth2'` needs `oauth`, the token provider the caller keeps for the mapping.
pub fn auth(
    server: &ServerDef,
    connector: &dyn Connector,
    user: &OptionMap,
    oauth: Option<crate::http::OAuth>,
) -> Result<Auth> {
    let kind = auth_kind(server, connector);
    let missing = |name: &str| {
        // No options at all: the role has no mapping (or an empty one) and must create it.
        let (problem, hint) = if user.is_empty() {
            (
                "there is no user mapping for the current user",
                format!("CREATE USER MAPPING FOR CURRENT_USER SERVER {} OPTIONS ({name} '…')", server.name),
            )
        } else {
            (
                "the user mapping has no option",
                format!("ALTER USER MAPPING FOR CURRENT_USER SERVER {} OPTIONS (ADD {name} '…')", server.name),
            )
        };
        let problem = if user.is_empty() { problem.to_string() } else { format!("{problem} \"{name}\"") };
        Error::new(ErrorKind::Authorization, format!("server \"{}\" uses auth '{kind}', but {problem}", server.name))
            .with_hint(hint)
    };
    let credential = |name: &str| user.get(name).map(|v| Secret::new(v.clone())).ok_or_else(|| missing(name));
    // A static credential of the wrong form fails here, before any request.
    let shaped = |name: &str, secret: Secret| -> Result<Secret> {
        if let Some(shape) = connector.credential_shape() {
            shape.check(server, connector.name(), name, &secret)?;
        }
        Ok(secret)
    };
    // Where the key goes may be set on the server (how the provider wants it) or the mapping.
    let defaults = connector.defaults();
    let setting = |name: &str| user.get(name).map(String::as_str).or_else(|| server_option(server, &defaults, name));
    Ok(match kind {
        "none" => Auth::None,
        // Provider connectors take their static credential as `api_key`; generic bearer servers as `token`.
        "bearer" => {
            let (name, secret) = match (credential("token"), credential("api_key")) {
                (Ok(token), _) => ("token", token),
                (_, Ok(key)) => ("api_key", key),
                _ => return Err(missing("token")),
            };
            Auth::Bearer(shaped(name, secret)?)
        }
        "basic" => Auth::Basic {
            user: user.get("user").cloned().ok_or_else(|| missing("user"))?,
            password: credential("password")?,
        },
        "oauth2" => Auth::OAuth2(oauth.ok_or_else(|| Error::internal("auth 'oauth2' without a token provider"))?),
        // Google service accounts: tokens from the mapping's JSON key, for the server's scopes.
        "service_account" => {
            let key = crate::service_account::ServiceAccountKey::parse(credential("service_account_key")?.expose())?;
            let scopes = server_option(server, &defaults, "scopes")
                .map(|s| s.split([' ', ',']).filter(|x| !x.is_empty()).map(str::to_string).collect())
                .unwrap_or_default();
            Auth::OAuth2(crate::http::OAuth(Arc::new(crate::service_account::ServiceAccount::new(key, scopes)?)))
        }
        "api_key" => {
            let in_query = setting("api_key_in") == Some("query");
            let default_name = if in_query { "api_key" } else { "X-API-Key" };
            Auth::ApiKey {
                name: setting("api_key_name").unwrap_or(default_name).to_string(),
                value: shaped("api_key", credential("api_key")?)?,
                in_query,
            }
        }
        other => {
            return Err(Error::option_value("auth", format!("\"{other}\" is not one of: {}", AUTH_KINDS.join(", "))))
        }
    })
}

/// Whether the server's API host comes from its OAuth token responses (see [`Connector::host_from_token`]).
pub fn host_from_token(server: &ServerDef, connector: &dyn Connector) -> bool {
    connector.host_from_token()
        && server.option("base_url").is_none()
        && server.option("auth").unwrap_or(connector.defaults().auth) == "oauth2"
}

/// An HTTP client for a server and a role's mapping (`oauth`: the mapping's token provider, for servers
/// with `auth 'oauth2'`).
pub fn http_client(server: &ServerDef, user: &OptionMap, oauth: Option<crate::http::OAuth>) -> Result<Http> {
    let connector = for_server(server)?;
    let settings = http_settings(server, connector.as_ref())?;
    let auth = auth(server, connector.as_ref(), user, oauth)?;
    // Credentials are for the API at the server's base URL only (a file server without one sends none).
    let scope = match server.option("base_url").or(connector.defaults().base_url) {
        Some(_) => {
            let origin = base_url(server, connector.as_ref())?.origin();
            let others: Vec<url::Origin> = connector.other_api_urls(server)?.iter().map(url::Url::origin).collect();
            if others.is_empty() {
                CredentialScope::Origin(origin)
            } else {
                CredentialScope::Origins([vec![origin], others].concat())
            }
        }
        None if host_from_token(server, connector.as_ref()) => CredentialScope::TokenInstance,
        None => CredentialScope::Nowhere,
    };
    Ok(Http::new(settings, auth, connector.fixed_headers(server))?.with_credential_scope(scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(pairs: &[(&str, &str)]) -> ServerDef {
        ServerDef { name: "s".into(), options: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    #[test]
    fn servers_name_a_known_connector() {
        let e = validate_server(&server(&[])).unwrap_err();
        assert_eq!(e.kind, ErrorKind::MissingOption);
        assert!(e.hint.unwrap().contains("rest"));
        let e = validate_server(&server(&[("connector", "nope")])).unwrap_err();
        assert_eq!(e.message, "invalid value for option \"connector\": \"nope\" is not a known connector");
    }

    #[test]
    fn server_options_are_checked_for_the_connector() {
        let e =
            validate_server(&server(&[("connector", "rest"), ("base_url", "http://x"), ("timeout", "5")])).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidOptionName);
        assert!(e.hint.unwrap().starts_with("Valid options for a server of connector \"rest\" are: api_key_in, api_key_name, auth, authorize_url, base_url,"));
        let e = validate_server(&server(&[("connector", "rest")])).unwrap_err();
        assert_eq!(e.message, "option \"base_url\" is required for a server of connector \"rest\"");
        assert!(
            validate_server(&server(&[("connector", "rest"), ("base_url", "http://x"), ("timeout_ms", "5")])).is_ok()
        );
    }

    #[test]
    fn auth_reads_the_mapping_and_says_what_is_missing() {
        let s = server(&[("connector", "rest"), ("base_url", "http://x"), ("auth", "bearer")]);
        let user: OptionMap = [("token".to_string(), "t0k".to_string())].into();
        assert_eq!(auth(&s, &rest::Rest, &user, None).unwrap(), Auth::Bearer(Secret::new("t0k")));
        let e = auth(&s, &rest::Rest, &OptionMap::new(), None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Authorization);
        assert!(e.message.ends_with("there is no user mapping for the current user"), "{}", e.message);
        assert!(e.hint.unwrap().starts_with("CREATE USER MAPPING"));
        let e = auth(&s, &rest::Rest, &[("user".to_string(), "u".to_string())].into(), None).unwrap_err();
        assert!(e.message.contains("no option \"token\""), "{}", e.message);
        let s =
            server(&[("connector", "rest"), ("base_url", "http://x"), ("auth", "api_key"), ("api_key_in", "query")]);
        let user: OptionMap = [("api_key".to_string(), "k".to_string())].into();
        assert_eq!(
            auth(&s, &rest::Rest, &user, None).unwrap(),
            Auth::ApiKey { name: "api_key".into(), value: Secret::new("k"), in_query: true }
        );
    }

    #[test]
    fn an_origin_gets_the_documented_prefix_and_a_path_is_kept() {
        let url = |given: &str, default: Option<&str>| complete_base_url(given, default).unwrap().to_string();
        let airtable = Some("https://api.airtable.com/v0");
        assert_eq!(url("https://api.airtable.com", airtable), "https://api.airtable.com/v0");
        assert_eq!(url("http://127.0.0.1:8080/", airtable), "http://127.0.0.1:8080/v0");
        assert_eq!(url("https://api.airtable.com/v0", airtable), "https://api.airtable.com/v0");
        assert_eq!(url("https://mirror.example/airtable/v0/", airtable), "https://mirror.example/airtable/v0/");
        let graph = Some("https://graph.microsoft.com/v1.0");
        assert_eq!(url("https://graph.microsoft.com/beta", graph), "https://graph.microsoft.com/beta");
        assert_eq!(url("https://graph.microsoft.com", graph), "https://graph.microsoft.com/v1.0");
        // Origins as defaults (Stripe's `/v1/…` paths are the resources') and generic connectors add nothing.
        assert_eq!(url("http://mock:1", Some("https://api.stripe.com")), "http://mock:1/");
        assert_eq!(url("http://mock:1", None), "http://mock:1/");
        let s = server(&[("connector", "notion"), ("base_url", "http://127.0.0.1:9")]);
        assert_eq!(base_url(&s, &notion::Notion).unwrap().as_str(), "http://127.0.0.1:9/v1");
        let s = server(&[("connector", "google_sheets"), ("base_url", "http://127.0.0.1:9")]);
        assert_eq!(base_url(&s, &google_sheets::GoogleSheets).unwrap().as_str(), "http://127.0.0.1:9/v4");
    }

    #[test]
    fn settings_come_from_options() {
        let s =
            server(&[("connector", "rest"), ("timeout_ms", "1500"), ("max_concurrency", "8"), ("rate_limit", "2.5")]);
        let h = http_settings(&s, &rest::Rest).unwrap();
        assert_eq!(h.timeout, Duration::from_millis(1500));
        assert_eq!(h.max_concurrency, 8);
        assert_eq!(h.rate_limit, Some(2.5));
    }
}
