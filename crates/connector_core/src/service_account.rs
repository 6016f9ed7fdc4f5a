//! Google service accounts: access tokens from a JSON key by the JWT bearer grant (RFC 7523), for servers
//! with `auth 'service_account'` whose user mapping holds `service_account_key`.
//!
//! The key's private key (PKCS#8 PEM) signs an RS256 assertion (`iss` the account's email, `scope` the
//! server's scopes, `aud` the key's `token_uri`, valid an hour), which the token endpoint exchanges for an
//! access token. Tokens are kept in memory and fetched again a minute before they expire or when a provider
//! refuses one; nothing is stored, as the key itself can always make a new one.

use crate::error::{snippet, Error, ErrorKind, Result};
use crate::http::{Secret, TokenProvider};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// The grant type of RFC 7523.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const LIFETIME: u64 = 3600;
const SKEW: u64 = 60;

/// The parts of a service account's JSON key that matter here.
#[derive(Clone, Debug)]
pub struct ServiceAccountKey {
    pub client_email: String,
    pub token_uri: String,
    pub private_key_id: Option<String>,
    /// The PKCS#8 DER of the private key.
    private_key: Secret,
}

/// A key that cannot be used: a credential error (28000), as a missing or refused one is.
fn key_error(why: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Authorization,
        format!("the user mapping's option \"service_account_key\" is not a usable service account key: {why}"),
    )
    .with_hint("Paste the JSON key file of a Google service account (with client_email, private_key and token_uri).")
}

impl ServiceAccountKey {
    /// Read a JSON key; the error never quotes the key.
    pub fn parse(text: &str) -> Result<ServiceAccountKey> {
        let json: Value = serde_json::from_str(text).map_err(|_| key_error("it is not JSON"))?;
        let field = |name: &str| json[name].as_str().filter(|s| !s.is_empty()).map(str::to_string);
        let client_email = field("client_email").ok_or_else(|| key_error("it has no client_email"))?;
        let pem = field("private_key").ok_or_else(|| key_error("it has no private_key"))?;
        let body: String = pem.lines().map(str::trim).filter(|l| !l.starts_with("-----")).collect();
        if !pem.contains("-----BEGIN PRIVATE KEY-----") {
            return Err(key_error("its private_key is not a PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----)"));
        }
        let der = STANDARD.decode(body.as_bytes()).map_err(|_| key_error("its private_key is not valid base64"))?;
        ring::signature::RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| key_error(format!("its private_key is not an RSA key ({e})")))?;
        Ok(ServiceAccountKey {
            client_email,
            token_uri: field("token_uri").unwrap_or_else(|| "https://oauth2.googleapis.com/token".to_string()),
            private_key_id: field("private_key_id"),
            private_key: Secret::new(STANDARD.encode(&der)),
        })
    }

    /// A signed assertion for `scopes`, issued at `now`.
    pub fn assertion(&self, scopes: &[String], now: SystemTime) -> Result<String> {
        let iat = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut header = json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = &self.private_key_id {
            header["kid"] = json!(kid);
        }
        let claims = json!({ "iss": self.client_email, "scope": scopes.join(" "), "aud": self.token_uri, "iat": iat, "exp": iat + LIFETIME });
        let signed =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let der = STANDARD
            .decode(self.private_key.expose())
            .map_err(|_| Error::internal("service account key lost its encoding"))?;
        let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).map_err(key_error)?;
        let mut signature = vec![0; pair.public().modulus_len()];
        pair.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .map_err(|_| Error::internal("signing the service account assertion failed"))?;
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// The DER of the public key (PKCS#1 RSAPublicKey), to check assertions with.
    pub fn public_key(&self) -> Result<Vec<u8>> {
        let der = STANDARD
            .decode(self.private_key.expose())
            .map_err(|_| Error::internal("service account key lost its encoding"))?;
        let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).map_err(key_error)?;
        use ring::signature::KeyPair as _;
        Ok(pair.public_key().as_ref().to_vec())
    }
}

/// Access tokens of one service account for one set of scopes.
pub struct ServiceAccount {
    key: ServiceAccountKey,
    scopes: Vec<String>,
    client: reqwest::Client,
    /// The current token and when it expires (Unix seconds).
    current: Mutex<Option<(Secret, u64)>>,
    /// A copy for `current_secrets`, which cannot wait on the lock.
    shown: std::sync::Mutex<Option<String>>,
}

impl ServiceAccount {
    pub fn new(key: ServiceAccountKey, scopes: Vec<String>) -> Result<ServiceAccount> {
        let client = reqwest::Client::builder()
            .no_proxy()
            // The signed assertion is a credential: it goes to the key's token_uri and nowhere else.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::internal(format!("cannot build HTTP client: {e}")))?;
        Ok(ServiceAccount { key, scopes, client, current: Mutex::new(None), shown: std::sync::Mutex::new(None) })
    }

    /// Ask the token endpoint for a new token.
    async fn fetch(&self) -> Result<(Secret, u64)> {
        let assertion = self.key.assertion(&self.scopes, SystemTime::now())?;
        let form = [("grant_type", JWT_BEARER), ("assertion", assertion.as_str())];
        let described = format!(
            "POST {}",
            crate::http::redact_url(
                &url::Url::parse(&self.key.token_uri)
                    .map_err(|e| key_error(format!("its token_uri is not a URL ({e})")))?,
                None
            )
        );
        let response = self.client.post(&self.key.token_uri).form(&form).send().await.map_err(|e| {
            Error::new(
                ErrorKind::Connection,
                format!(
                    "{described} failed: {}",
                    if e.is_timeout() { "no response in time" } else { "could not connect" }
                ),
            )
        })?;
        let status = response.status();
        let scrubber = crate::scrub::Scrubber::of_secrets([assertion.as_str()]);
        let body = match crate::http::body_within(response, crate::oauth::TOKEN_RESPONSE_LIMIT).await {
            Ok(Some(body)) => scrubber.lossy(&body),
            Ok(None) => {
                return Err(Error::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "{described}: the token response is larger than {} bytes",
                        crate::oauth::TOKEN_RESPONSE_LIMIT
                    ),
                ))
            }
            Err(_) => String::new(),
        };
        let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if !status.is_success() {
            let said = json["error_description"]
                .as_str()
                .or(json["error"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| snippet(&body, 200));
            let kind = if status.as_u16() == 400 || status.as_u16() == 401 {
                ErrorKind::Authorization
            } else {
                ErrorKind::Remote
            };
            return Err(Error::new(kind, format!("{described} failed: HTTP {}", status.as_u16()))
                .with_detail(format!("token endpoint said: {said}"))
                .with_hint(format!(
                    "Check that service account {} exists, its key is active, and it may use the scopes.",
                    self.key.client_email
                )));
        }
        let token = json["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::bad_response(format!("response to {described} has no access_token")))?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Ok((Secret::new(token), now + json["expires_in"].as_u64().unwrap_or(LIFETIME)))
    }
}

#[async_trait::async_trait]
impl TokenProvider for ServiceAccount {
    async fn access_token(&self) -> Result<Secret> {
        let mut current = self.current.lock().await;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if let Some((token, expires)) = current.as_ref() {
            if *expires > now + SKEW {
                return Ok(token.clone());
            }
        }
        let (token, expires) = self.fetch().await?;
        *self.shown.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.expose().to_string());
        *current = Some((token.clone(), expires));
        Ok(token)
    }

    async fn refused(&self, refused: &Secret) -> Result<()> {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|(token, _)| token == refused) {
            *current = None;
        }
        Ok(())
    }

    fn current_secrets(&self) -> Vec<String> {
        self.shown.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
    }
}
