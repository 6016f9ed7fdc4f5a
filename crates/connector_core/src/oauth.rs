//! The client side of OAuth 2.0 (RFC 6749, with PKCE from RFC 7636): start the authorization code flow,
//! exchange the code, refresh tokens, and the client credentials grant.
//!
//! Nothing is stored here: callers keep the returned [`Tokens`] (encrypted, see [`crate::secrets`]), check
//! the `state` the provider hands back against [`AuthorizationStart::state`], and call [`refresh`] when
//! [`Tokens::needs_refresh`] says so. Providers that rotate refresh tokens accept each one once, so two
//! backends refreshing with the same token at once lose one of them: callers must serialise refreshes.

use crate::error::{snippet, Error, ErrorKind, Result};
use crate::http::{redact_url, Secret};
use crate::scrub::{Credential, Scrubber};
use oauth2::basic::{
    BasicClient, BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, HttpClientError, HttpRequest, HttpResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Refresh when less than this remains of an access token's life, so a token does not expire mid-scan.
pub const DEFAULT_REFRESH_SKEW: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_secs(30);
/// Token responses are a few hundred bytes; a hostile endpoint must not make a backend hold more.
pub(crate) const TOKEN_RESPONSE_LIMIT: usize = 1 << 20;
const AUTHORIZE_AGAIN: &str =
    "run the authorization flow again with connector_fdw.oauth_authorize_url and connector_fdw.oauth_exchange_code";

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic, which RFC 6749 §2.3.1 requires every provider to accept.
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body, for providers that accept only that.
    RequestBody,
}

/// One OAuth client registration at one provider.
#[derive(Clone, Debug, PartialEq)]
pub struct OAuthConfig {
    /// Needed only for the authorization code flow.
    pub authorize_url: Option<String>,
    pub token_url: String,
    pub client_id: String,
    /// None for a public client.
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
    /// The default redirect URI of the authorization code flow.
    pub redirect_uri: Option<String>,
    pub client_auth: ClientAuth,
}

impl OAuthConfig {
    pub fn new(token_url: impl Into<String>, client_id: impl Into<String>) -> Self {
        OAuthConfig {
            authorize_url: None,
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret: None,
            scopes: Vec::new(),
            redirect_uri: None,
            client_auth: ClientAuth::Basic,
        }
    }
}

/// What a token endpoint granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tokens {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    /// Unix seconds; None when the provider did not say (then only a 401 tells the token is stale).
    pub expires_at: Option<i64>,
    /// The API host the tokens are for, where the provider names it in its token response (Salesforce's
    /// `instance_url`); unchecked here (see [`checked_instance`]).
    pub instance_url: Option<String>,
}

/// Members of a token response beyond RFC 6749's that a provider may add.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ProviderFields {
    #[serde(default)]
    instance_url: Option<String>,
}

impl ExtraTokenFields for ProviderFields {}

type ProviderTokenResponse = StandardTokenResponse<ProviderFields, BasicTokenType>;

/// An instance URL the token endpoint at `token_url` named, if it may receive the tokens: an https URL, or
/// one on the token endpoint's own scheme and host (a test server's plain http). The token endpoint is
/// trusted with the credentials; a plain-http host it names is not.
pub fn checked_instance(text: &str, token_url: &str) -> Result<url::Url> {
    let refused = |why: &str| {
        let shown = url::Url::parse(token_url).map(|u| redact_url(&u, None)).unwrap_or_default();
        Error::bad_response(format!("the OAuth token endpoint {shown} named an instance URL that {why}"))
    };
    let url = url::Url::parse(text).map_err(|_| refused("is not a URL"))?;
    let same_host = url::Url::parse(token_url).is_ok_and(|t| t.scheme() == url.scheme() && t.host() == url.host());
    if url.scheme() != "https" && !same_host {
        return Err(refused("is not https"));
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(refused("has no plain host"));
    }
    Ok(url)
}

impl Tokens {
    /// Whether at most `skew` (usually [`DEFAULT_REFRESH_SKEW`]) remains before the access token expires;
    /// an expired token needs refreshing whatever the skew.
    pub fn needs_refresh(&self, now: SystemTime, skew: Duration) -> bool {
        let Some(expires_at) = self.expires_at else { return false };
        let skew = i64::try_from(skew.as_secs()).unwrap_or(i64::MAX);
        expires_at.saturating_sub(unix_seconds(now)) <= skew
    }
}

/// The start of an authorization code flow: send the user to `url`; keep `state` and `pkce_verifier` for
/// [`exchange_code`].
#[derive(Clone, Debug)]
pub struct AuthorizationStart {
    pub url: String,
    /// Random; the provider returns it with the code, and a different value means a forged callback.
    pub state: String,
    pub pkce_verifier: Secret,
}

/// The authorization URL with a random `state` and a PKCE S256 challenge. `redirect_uri` overrides the
/// config's; [`exchange_code`] must be given the same one.
pub fn authorize_url(config: &OAuthConfig, redirect_uri: Option<&str>) -> Result<AuthorizationStart> {
    let url = config.authorize_url.as_deref().ok_or_else(|| {
        Error::new(ErrorKind::MissingOption, "the OAuth authorization code flow needs an authorization URL")
    })?;
    let url = AuthUrl::new(url.to_string()).map_err(|e| invalid_url("authorization", url, e))?;
    let client = BasicClient::new(ClientId::new(config.client_id.clone())).set_auth_uri(url);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(config.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge);
    if let Some(uri) = redirect(config, redirect_uri)? {
        request = request.set_redirect_uri(Cow::Owned(uri));
    }
    let (url, state) = request.url();
    Ok(AuthorizationStart {
        url: url.to_string(),
        state: state.secret().clone(),
        pkce_verifier: Secret::new(verifier.secret().clone()),
    })
}

/// Exchange an authorization code (with the PKCE verifier of its [`AuthorizationStart`]) for tokens.
pub async fn exchange_code(
    config: &OAuthConfig,
    code: &str,
    pkce_verifier: &Secret,
    redirect_uri: Option<&str>,
) -> Result<Tokens> {
    let client = token_client(config)?;
    let endpoint = Endpoint::new(config, Grant::AuthorizationCode, vec![code, pkce_verifier.expose()])?;
    let mut request = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.expose().to_string()));
    if let Some(uri) = redirect(config, redirect_uri)? {
        request = request.set_redirect_uri(Cow::Owned(uri));
    }
    endpoint.tokens(request.request_async(&endpoint).await)
}

/// New tokens for a refresh token. A refresh token in the answer replaces the old one (rotation: the old
/// one is then spent); without one, the old one stays.
pub async fn refresh(config: &OAuthConfig, refresh_token: &Secret) -> Result<Tokens> {
    let client = token_client(config)?;
    let endpoint = Endpoint::new(config, Grant::RefreshToken, vec![refresh_token.expose()])?;
    let token = RefreshToken::new(refresh_token.expose().to_string());
    let mut tokens = endpoint.tokens(client.exchange_refresh_token(&token).request_async(&endpoint).await)?;
    tokens.refresh_token.get_or_insert_with(|| refresh_token.clone());
    Ok(tokens)
}

/// Tokens for the client itself (no user), with the config's scopes.
pub async fn client_credentials(config: &OAuthConfig) -> Result<Tokens> {
    let client = token_client(config)?;
    let endpoint = Endpoint::new(config, Grant::ClientCredentials, vec![])?;
    let request = client.exchange_client_credentials().add_scopes(config.scopes.iter().cloned().map(Scope::new));
    endpoint.tokens(request.request_async(&endpoint).await)
}

/// A client whose token responses keep the provider's extra members.
type ProviderClient<HasTokenUrl = EndpointNotSet> = oauth2::Client<
    BasicErrorResponse,
    ProviderTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    HasTokenUrl,
>;
type TokenClient = ProviderClient<EndpointSet>;

fn token_client(config: &OAuthConfig) -> Result<TokenClient> {
    let url = TokenUrl::new(config.token_url.clone()).map_err(|e| invalid_url("token", &config.token_url, e))?;
    let auth_type = match config.client_auth {
        ClientAuth::Basic => AuthType::BasicAuth,
        ClientAuth::RequestBody => AuthType::RequestBody,
    };
    let mut client =
        ProviderClient::new(ClientId::new(config.client_id.clone())).set_token_uri(url).set_auth_type(auth_type);
    if let Some(secret) = &config.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
    }
    Ok(client)
}

fn redirect(config: &OAuthConfig, given: Option<&str>) -> Result<Option<RedirectUrl>> {
    given
        .or(config.redirect_uri.as_deref())
        .map(|uri| RedirectUrl::new(uri.to_string()).map_err(|e| invalid_url("redirect", uri, e)))
        .transpose()
}

fn invalid_url(which: &str, url: &str, error: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidOptionValue, format!("invalid OAuth {which} URL \"{url}\": {error}"))
}

fn unix_seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Which grant a token request was, for the hint of its error.
#[derive(Clone, Copy)]
enum Grant {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

type TokenResult =
    std::result::Result<ProviderTokenResponse, RequestTokenError<HttpClientError<reqwest::Error>, BasicErrorResponse>>;

/// One request to the token endpoint: the HTTP client, the status of its response (so an error whose body
/// is not an OAuth error can still say what the endpoint answered), and what errors must not quote.
struct Endpoint {
    client: reqwest::Client,
    status: AtomicU16,
    /// The response was longer than `TOKEN_RESPONSE_LIMIT` (and was not read further).
    too_large: AtomicBool,
    /// The token URL as errors show it.
    shown: String,
    grant: Grant,
    /// Credentials this request sent (in every form), removed from any text of the provider's that errors
    /// quote.
    scrubber: Scrubber,
}

impl Endpoint {
    fn new(config: &OAuthConfig, grant: Grant, sent: Vec<&str>) -> Result<Endpoint> {
        let client = reqwest::Client::builder()
            // Proxy variables in a backend's environment must not reroute credentials (or loopback tests).
            .no_proxy()
            // A redirect could carry the client's credentials to another host; the oauth2 crate requires
            // clients that do not follow them.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .user_agent(concat!("connector_fdw/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("cannot build HTTP client: {e}")))?;
        let shown = url::Url::parse(&config.token_url)
            .map(|u| redact_url(&u, None))
            .map_err(|e| invalid_url("token", &config.token_url, e))?;
        let mut credentials: Vec<Credential> = sent.into_iter().map(|s| Credential::Plain(s.to_string())).collect();
        if let Some(secret) = &config.client_secret {
            // Sent as HTTP Basic (form-encoded id and secret, RFC 6749 §2.3.1) or in the form body.
            credentials.push(Credential::Basic {
                user: config.client_id.clone(),
                password: secret.expose().to_string(),
                form_encoded: true,
            });
        }
        Ok(Endpoint {
            client,
            status: AtomicU16::new(0),
            too_large: AtomicBool::new(false),
            shown,
            grant,
            scrubber: Scrubber::new(&credentials),
        })
    }

    /// The provider's answer as tokens or an error that names the endpoint and never a credential.
    fn tokens(&self, result: TokenResult) -> Result<Tokens> {
        let status = self.status.load(Ordering::Relaxed);
        match result {
            Ok(response) => Ok(tokens_of(&response, SystemTime::now())),
            Err(RequestTokenError::ServerResponse(error)) => Err(self.refused(&error)),
            Err(RequestTokenError::Request(error)) => Err(self.transport(error)),
            Err(RequestTokenError::Parse(error, body)) => {
                // Some providers (GitHub among them) answer 200 with an RFC 6749 error object.
                if let Ok(refusal) = serde_json::from_slice::<BasicErrorResponse>(&body) {
                    return Err(self.refused(&refusal));
                }
                if status != 200 {
                    return Err(self.status_error(status, &body));
                }
                // The body holds tokens: name where it went wrong, never a value.
                Err(Error::bad_response(format!(
                    "token endpoint {} answered with a body that is not a token response (at \"{}\")",
                    self.shown,
                    error.path()
                )))
            }
            Err(RequestTokenError::Other(_)) if status != 200 => Err(self.status_error(status, &[])),
            Err(RequestTokenError::Other(why)) => {
                Err(Error::bad_response(format!("token endpoint {} answered unexpectedly: {why}", self.shown)))
            }
        }
    }

    /// An RFC 6749 §5.2 error response.
    fn refused(&self, error: &BasicErrorResponse) -> Error {
        let code = error.error();
        let mut message = format!("OAuth token request to {} was refused: {code}", self.shown);
        if let Some(description) = error.error_description() {
            message.push_str(&format!(" ({})", snippet(&self.scrub(description), 300)));
        }
        let hint = match (code, self.grant) {
            (BasicErrorResponseType::InvalidGrant, Grant::RefreshToken) => Some(format!(
                "the refresh token was revoked, has expired or was already used (providers that rotate refresh \
                 tokens accept each one once); {AUTHORIZE_AGAIN}"
            )),
            (BasicErrorResponseType::InvalidGrant, Grant::AuthorizationCode) => Some(format!(
                "the code is unknown, expired or already used, or the PKCE verifier or redirect URI differs from \
                 the authorization request; {AUTHORIZE_AGAIN}"
            )),
            (BasicErrorResponseType::InvalidClient, _) => Some(
                "check the client id and secret; some providers take them only in the request body, others only \
                 as HTTP Basic"
                    .to_string(),
            ),
            (BasicErrorResponseType::InvalidScope, _) => {
                Some("request only scopes the client is registered for".to_string())
            }
            (BasicErrorResponseType::UnauthorizedClient | BasicErrorResponseType::UnsupportedGrantType, _) => {
                Some("allow this grant type in the client's settings at the provider".to_string())
            }
            _ => None,
        };
        let error = Error::new(ErrorKind::Authorization, message);
        match hint {
            Some(hint) => error.with_hint(hint),
            None => error,
        }
    }

    /// A non-200 answer that is not an OAuth error (a proxy's page, a wrong URL, a redirect).
    fn status_error(&self, status: u16, body: &[u8]) -> Error {
        let kind = match status {
            401 | 403 => ErrorKind::Authorization,
            404 => ErrorKind::NotFound,
            _ => ErrorKind::Remote,
        };
        let mut error = Error::new(kind, format!("OAuth token request to {} failed: HTTP {status}", self.shown));
        if (300..400).contains(&status) {
            error = error
                .with_hint("redirects are not followed for token requests: set the token URL to its final address");
        }
        // Scrubbed whole before it is cut, so no cut leaves part of a credential.
        let text = self.scrubber.lossy(body);
        if !text.trim().is_empty() {
            error = error.with_detail(format!("provider said: {}", snippet(&self.scrub(text.trim()), 300)));
        }
        error
    }

    fn transport(&self, error: HttpClientError<reqwest::Error>) -> Error {
        if self.too_large.load(Ordering::Relaxed) {
            return Error::new(
                ErrorKind::LimitExceeded,
                format!("OAuth token response from {} is larger than {TOKEN_RESPONSE_LIMIT} bytes", self.shown),
            )
            .with_hint("Check the server's token_url: a token endpoint answers a small JSON document.");
        }
        let why = match &error {
            HttpClientError::Reqwest(e) if e.is_timeout() => {
                format!("no complete response within {} s", TIMEOUT.as_secs())
            }
            HttpClientError::Reqwest(e) if e.is_connect() => "could not connect".to_string(),
            HttpClientError::Http(e) => return Error::internal(format!("cannot build OAuth token request: {e}")),
            _ => "the connection broke off".to_string(),
        };
        // The innermost cause (e.g. "Connection refused") says most.
        let mut cause: &dyn std::error::Error = &error;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        Error::new(ErrorKind::Connection, format!("OAuth token request to {} failed: {why}", self.shown))
            .with_detail(self.scrub(&cause.to_string()))
    }

    fn scrub(&self, text: &str) -> String {
        self.scrubber.text(text)
    }
}

impl<'c> AsyncHttpClient<'c> for Endpoint {
    type Error = HttpClientError<reqwest::Error>;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self.client.execute(request.try_into().map_err(Box::new)?).await.map_err(Box::new)?;
            self.status.store(response.status().as_u16(), Ordering::Relaxed);
            let mut builder = oauth2::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            match crate::http::body_within(response, TOKEN_RESPONSE_LIMIT).await.map_err(Box::new)? {
                Some(body) => Ok(builder.body(body)?),
                None => {
                    self.too_large.store(true, Ordering::Relaxed);
                    Err(HttpClientError::Other(format!("response larger than {TOKEN_RESPONSE_LIMIT} bytes")))
                }
            }
        })
    }
}

fn tokens_of(response: &ProviderTokenResponse, now: SystemTime) -> Tokens {
    let lifetime = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    Tokens {
        access_token: Secret::new(response.access_token().secret().clone()),
        refresh_token: response.refresh_token().map(|t| Secret::new(t.secret().clone())),
        expires_at: response.expires_in().map(|d| unix_seconds(now).saturating_add(lifetime(d))),
        instance_url: response.extra_fields().instance_url.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mockapi::MockServer;
    use serde_json::Value;

    const CLIENT_SECRET: &str = "mock-secret";

    #[test]
    fn an_instance_url_must_be_https_or_the_token_endpoints_own_host() {
        let token_url = "http://127.0.0.1:9/services/oauth2/token";
        let ok = |text: &str| checked_instance(text, token_url).map(|u| u.to_string());
        assert_eq!(ok("https://acme.my.salesforce.com").unwrap(), "https://acme.my.salesforce.com/");
        assert_eq!(ok("http://127.0.0.1:9/sf").unwrap(), "http://127.0.0.1:9/sf");
        for refused in ["http://evil.example", "http://localhost:9/sf", "https://u:p@acme.my.salesforce.com", "acme"] {
            let e = ok(refused).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadResponse, "{refused}");
            assert!(e.message.starts_with("the OAuth token endpoint http://127.0.0.1:9/services/oauth2/token named"));
        }
    }

    fn config(m: &MockServer) -> OAuthConfig {
        OAuthConfig {
            authorize_url: Some(format!("{}/oauth/authorize", m.url())),
            client_secret: Some(Secret::new(CLIENT_SECRET)),
            scopes: vec!["read".into(), "write".into()],
            redirect_uri: Some("http://localhost:5555/callback".into()),
            ..OAuthConfig::new(format!("{}/oauth/token", m.url()), "mock-client")
        }
    }

    async fn get(url: &str, bearer: Option<&Secret>) -> (u16, Value) {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut request = client.get(url);
        if let Some(token) = bearer {
            request = request.bearer_auth(token.expose());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Plays the user's browser: the mock answers the authorization URL with the code as JSON.
    async fn authorize(config: &OAuthConfig) -> (AuthorizationStart, String) {
        let start = authorize_url(config, None).unwrap();
        let (status, body) = get(&start.url, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["state"].as_str(), Some(start.state.as_str()));
        (start, body["code"].as_str().unwrap().to_string())
    }

    fn assert_no_secret(error: &Error, secrets: &[&str]) {
        let shown = format!("{error:?} {error}");
        for secret in secrets {
            assert!(!shown.contains(secret), "{shown} contains {secret}");
        }
    }

    #[tokio::test]
    async fn code_flow_with_pkce() {
        let m = MockServer::start().await;
        let config = config(&m);
        let (start, code) = authorize(&config).await;
        assert!(
            start.url.contains("code_challenge_method=S256") && start.url.contains("scope=read+write"),
            "{}",
            start.url
        );
        assert!(!start.url.contains(start.pkce_verifier.expose()));
        assert!(!format!("{start:?}").contains(start.pkce_verifier.expose()));

        let tokens = exchange_code(&config, &code, &start.pkce_verifier, None).await.unwrap();
        assert!(tokens.refresh_token.is_some());
        let expires_in = tokens.expires_at.unwrap() - unix_seconds(SystemTime::now());
        assert!((3590..=3600).contains(&expires_in), "{expires_in}");
        assert!(!tokens.needs_refresh(SystemTime::now(), DEFAULT_REFRESH_SKEW));
        assert_eq!(get(&format!("{}/oauth/me", m.url()), Some(&tokens.access_token)).await.0, 200);
        let data = format!("{}/auth/oauth/plain/customers/1", m.url());
        assert_eq!(get(&data, Some(&tokens.access_token)).await.0, 200);

        let exchange = m.requests().into_iter().find(|r| r.path == "/oauth/token").unwrap();
        let form = exchange.body.clone().unwrap();
        assert_eq!(form["grant_type"], "authorization_code");
        assert_eq!(form["code_verifier"].as_str(), Some(start.pkce_verifier.expose()));
        assert_eq!(form["redirect_uri"], "http://localhost:5555/callback");
        assert!(exchange.header("authorization").is_some_and(|v| v.starts_with("Basic ")));

        // A code is single-use.
        let err = exchange_code(&config, &code, &start.pkce_verifier, None).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Authorization);
        assert!(err.message.contains("invalid_grant") && err.message.contains("/oauth/token"), "{err}");
        assert!(err.hint.as_deref().unwrap().contains("oauth_authorize_url"));
        assert_no_secret(&err, &[&code, start.pkce_verifier.expose(), CLIENT_SECRET]);

        // A verifier of another flow does not fit.
        let (_, code) = authorize(&config).await;
        let err = exchange_code(&config, &code, &start.pkce_verifier, None).await.unwrap_err();
        assert!(err.message.contains("invalid_grant") && err.message.contains("code_verifier"), "{err}");
    }

    #[tokio::test]
    async fn refresh_rotates_and_a_spent_token_fails_clearly() {
        let m = MockServer::start().await;
        let config = config(&m);
        let (start, code) = authorize(&config).await;
        let first = exchange_code(&config, &code, &start.pkce_verifier, None).await.unwrap();
        let old = first.refresh_token.clone().unwrap();

        let second = refresh(&config, &old).await.unwrap();
        let new = second.refresh_token.clone().unwrap();
        assert_ne!(new, old);
        assert_ne!(second.access_token, first.access_token);
        assert_eq!(get(&format!("{}/oauth/me", m.url()), Some(&second.access_token)).await.0, 200);

        // What a second backend refreshing with the same token would see.
        let err = refresh(&config, &old).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Authorization);
        assert!(err.message.contains("invalid_grant") && err.message.contains("already used"), "{err}");
        let hint = err.hint.as_deref().unwrap();
        assert!(hint.contains("already used") && hint.contains("oauth_exchange_code"), "{hint}");
        assert_no_secret(&err, &[old.expose(), new.expose(), CLIENT_SECRET]);

        assert!(refresh(&config, &new).await.is_ok());
    }

    #[tokio::test]
    async fn client_credentials_with_either_client_authentication() {
        let m = MockServer::start().await;
        for client_auth in [ClientAuth::Basic, ClientAuth::RequestBody] {
            let config = OAuthConfig { client_auth, ..config(&m) };
            let tokens = client_credentials(&config).await.unwrap();
            assert_eq!(tokens.refresh_token, None);
            let (status, me) = get(&format!("{}/oauth/me", m.url()), Some(&tokens.access_token)).await;
            assert_eq!((status, me["scope"].as_str()), (200, Some("read write")));
        }
        let logged: Vec<_> = m.requests().into_iter().filter(|r| r.path == "/oauth/token").collect();
        assert!(
            logged[0].header("authorization").is_some()
                && logged[0].body.as_ref().unwrap().get("client_secret").is_none()
        );
        assert!(
            logged[1].header("authorization").is_none()
                && logged[1].body.as_ref().unwrap()["client_secret"] == CLIENT_SECRET
        );
    }

    #[tokio::test]
    async fn a_wrong_client_secret_is_refused_without_quoting_it() {
        let m = MockServer::start().await;
        for client_auth in [ClientAuth::Basic, ClientAuth::RequestBody] {
            let config = OAuthConfig { client_auth, client_secret: Some(Secret::new("wrong-secret")), ..config(&m) };
            let err = client_credentials(&config).await.unwrap_err();
            assert_eq!(err.kind, ErrorKind::Authorization);
            assert!(err.message.contains("invalid_client"), "{err}");
            assert!(err.hint.as_deref().unwrap().contains("client id and secret"));
            assert_no_secret(&err, &["wrong-secret"]);
        }
    }

    #[tokio::test]
    async fn expiry_is_detected() {
        let m = MockServer::start().await;
        let short = OAuthConfig { token_url: format!("{}/oauth/expires/30/token", m.url()), ..config(&m) };
        let tokens = client_credentials(&short).await.unwrap();
        let now = SystemTime::now();
        assert!(tokens.needs_refresh(now, DEFAULT_REFRESH_SKEW));
        assert!(!tokens.needs_refresh(now, Duration::from_secs(10)));
        assert!(tokens.needs_refresh(now + Duration::from_secs(31), Duration::ZERO));

        let expired = OAuthConfig { token_url: format!("{}/oauth/expires/0/token", m.url()), ..config(&m) };
        let tokens = client_credentials(&expired).await.unwrap();
        assert!(tokens.needs_refresh(SystemTime::now(), Duration::ZERO));
        let (status, body) = get(&format!("{}/oauth/me", m.url()), Some(&tokens.access_token)).await;
        assert_eq!((status, body["error"]["message"].as_str()), (401, Some("invalid or expired token")));

        let unknown =
            Tokens { access_token: Secret::new("t"), refresh_token: None, expires_at: None, instance_url: None };
        assert!(!unknown.needs_refresh(SystemTime::now(), DEFAULT_REFRESH_SKEW));
    }

    /// A hostile token endpoint: answers 200 with a body that never ends. Returns its base URL.
    async fn endless_server() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    let head =
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                    if socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    let chunk = format!("{:x}\r\n{}\r\n", 65536, " ".repeat(65536));
                    // Until the client hangs up.
                    while socket.write_all(chunk.as_bytes()).await.is_ok() {}
                });
            }
        });
        url
    }

    #[test]
    fn futures_are_send() {
        // Callers run token requests on a multi-threaded runtime.
        fn send<T: Send>(_: &T) {}
        let config = OAuthConfig::new("http://127.0.0.1:1/token", "c");
        let secret = Secret::new("s");
        send(&exchange_code(&config, "code", &secret, None));
        send(&refresh(&config, &secret));
        send(&client_credentials(&config));
    }

    #[tokio::test]
    async fn endpoint_failures_map_to_their_kinds() {
        let m = MockServer::start().await;
        let missing = OAuthConfig { token_url: format!("{}/oauth/nowhere", m.url()), ..config(&m) };
        let err = client_credentials(&missing).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
        assert!(err.message.contains("HTTP 404") && err.detail.as_deref().unwrap().contains("not found"), "{err:?}");

        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let closed = OAuthConfig { token_url: format!("http://127.0.0.1:{port}/oauth/token"), ..config(&m) };
        let err = client_credentials(&closed).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Connection);
        assert!(
            err.message.contains(&format!("127.0.0.1:{port}/oauth/token")) && err.message.contains("could not connect"),
            "{err}"
        );

        let endless = endless_server().await;
        let hostile = OAuthConfig { token_url: format!("{endless}/oauth/token"), ..config(&m) };
        let err = client_credentials(&hostile).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::LimitExceeded, "{err}");
        assert!(err.message.contains("larger than 1048576 bytes"), "{err}");

        let bad = OAuthConfig { token_url: "not a url".into(), ..config(&m) };
        assert_eq!(client_credentials(&bad).await.unwrap_err().kind, ErrorKind::InvalidOptionValue);
        let no_authorize = OAuthConfig { authorize_url: None, ..config(&m) };
        assert_eq!(authorize_url(&no_authorize, None).unwrap_err().kind, ErrorKind::MissingOption);
    }
}
