//! OAuth 2.0 tokens of one user mapping, kept fresh for every backend.
//!
//! The mapping holds the tokens a DBA (or `oauth_exchange_code`) stored. Refreshed tokens go to a token
//! file instead, encrypted with the cluster's key: providers that rotate refresh tokens accept each one
//! once, so the new one must survive even when the query that refreshed rolls back, and every backend must
//! see it. An exclusive lock on the file serialises refreshes across backends: whoever gets the lock
//! second finds the fresh token in the file and does not refresh again.

use crate::credentials::{write_private_file, KeyFile};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Secret, TokenProvider};
use crate::oauth::{self, OAuthConfig, Tokens, DEFAULT_REFRESH_SKEW};
use crate::secrets;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

#[derive(Serialize, Deserialize)]
struct Stored {
    /// Which mapping contents these tokens descend from: a mapping given new credentials starts afresh.
    fingerprint: String,
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<i64>,
    /// Missing in files written before instance URLs were kept.
    #[serde(default)]
    instance_url: Option<String>,
}

/// The token file of one user mapping.
pub struct TokenFile {
    path: PathBuf,
    keys: Arc<KeyFile>,
}

impl TokenFile {
    pub fn new(path: impl Into<PathBuf>, keys: Arc<KeyFile>) -> Self {
        TokenFile { path: path.into(), keys }
    }

    fn io(&self, action: &str, e: std::io::Error) -> Error {
        Error::new(
            ErrorKind::Internal,
            format!("cannot {action} the OAuth token file \"{}\": {e}", self.path.display()),
        )
    }

    /// Hold the file's lock until the returned file is dropped (blocking; call off the async threads).
    fn lock(&self) -> Result<File> {
        let lock_path = self.path.with_extension("lock");
        if let Some(dir) = lock_path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.io("create the directory of", e))?;
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| self.io("open", e))?;
        file.lock().map_err(|e| self.io("lock", e))?;
        Ok(file)
    }

    fn load(&self, fingerprint: &str) -> Result<Option<Tokens>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("read", e)),
        };
        let plain = secrets::decrypt(&self.keys.ring()?, text.trim())?;
        let stored: Stored = serde_json::from_str(&plain)
            .map_err(|e| Error::internal(format!("OAuth token file \"{}\" is corrupt: {e}", self.path.display())))?;
        Ok((stored.fingerprint == fingerprint).then(|| Tokens {
            access_token: Secret::new(stored.access_token),
            refresh_token: stored.refresh_token.map(Secret::new),
            expires_at: stored.expires_at,
            instance_url: stored.instance_url,
        }))
    }

    fn save(&self, fingerprint: &str, tokens: &Tokens) -> Result<()> {
        let stored = Stored {
            fingerprint: fingerprint.to_string(),
            access_token: tokens.access_token.expose().to_string(),
            refresh_token: tokens.refresh_token.as_ref().map(|t| t.expose().to_string()),
            expires_at: tokens.expires_at,
            instance_url: tokens.instance_url.clone(),
        };
        let plain = serde_json::to_string(&stored).map_err(|e| Error::internal(e.to_string()))?;
        let encrypted = secrets::encrypt(&self.keys.ring()?, &plain);
        write_private_file(&self.path, &encrypted).map_err(|e| self.io("write", e))
    }
}

/// A fingerprint of the credentials a mapping holds (never the credentials themselves).
pub fn fingerprint(client_id: &str, refresh_token: Option<&Secret>, access_token: Option<&Secret>) -> String {
    let mut hash = Sha256::new();
    for part in [Some(client_id), refresh_token.map(Secret::expose), access_token.map(Secret::expose)] {
        hash.update(part.unwrap_or("").as_bytes());
        hash.update([0]);
    }
    hash.finalize().iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// The token provider of one user mapping.
pub struct MappingTokens {
    config: OAuthConfig,
    /// What the mapping holds: the start, when the token file has nothing newer.
    initial: Option<Tokens>,
    file: TokenFile,
    fingerprint: String,
    current: tokio::sync::Mutex<Option<Tokens>>,
    secrets: std::sync::Mutex<Vec<String>>,
    /// The current tokens' instance URL, readable without waiting for a refresh.
    instance_url: std::sync::Mutex<Option<String>>,
}

impl MappingTokens {
    pub fn new(config: OAuthConfig, initial: Option<Tokens>, file: TokenFile) -> Self {
        let fingerprint = fingerprint(
            &config.client_id,
            initial.as_ref().and_then(|t| t.refresh_token.as_ref()),
            initial.as_ref().map(|t| &t.access_token),
        );
        MappingTokens {
            config,
            initial,
            file,
            fingerprint,
            current: tokio::sync::Mutex::new(None),
            secrets: std::sync::Mutex::new(Vec::new()),
            instance_url: std::sync::Mutex::new(None),
        }
    }

    fn usable(tokens: &Tokens, refused: Option<&Secret>) -> bool {
        !tokens.needs_refresh(SystemTime::now(), DEFAULT_REFRESH_SKEW) && Some(&tokens.access_token) != refused
    }

    /// Fresh tokens: from the token file if another backend refreshed, else from the provider.
    async fn obtain(&self, known: Option<&Tokens>, refused: Option<&Secret>) -> Result<Tokens> {
        let file = TokenFile { path: self.file.path.clone(), keys: self.file.keys.clone() };
        let lock = tokio::task::spawn_blocking(move || file.lock())
            .await
            .map_err(|e| Error::internal(format!("token file lock task failed: {e}")))??;
        let stored = self.file.load(&self.fingerprint)?;
        let newest = stored.clone().or_else(|| known.cloned()).or_else(|| self.initial.clone());
        if let Some(tokens) = newest.as_ref().filter(|t| Self::usable(t, refused)) {
            return Ok(tokens.clone());
        }
        let refresh_token = newest.as_ref().and_then(|t| t.refresh_token.clone());
        let mut fresh = match (&refresh_token, &self.config.client_secret) {
            (Some(refresh_token), _) => oauth::refresh(&self.config, refresh_token).await?,
            (None, Some(_)) => oauth::client_credentials(&self.config).await?,
            (None, None) => {
                return Err(Error::new(ErrorKind::Authorization, "the user mapping holds no OAuth refresh token and no client secret")
                    .with_hint("Run SELECT connector_fdw.oauth_authorize_url(server, redirect_uri), then connector_fdw.oauth_exchange_code(server, code, state)."))
            }
        };
        // A refresh answer may leave out the instance the tokens were first issued for.
        if fresh.instance_url.is_none() {
            fresh.instance_url = newest.and_then(|t| t.instance_url);
        }
        self.file.save(&self.fingerprint, &fresh)?;
        drop(lock);
        Ok(fresh)
    }

    fn remember(&self, tokens: &Tokens) {
        *self.instance_url.lock().unwrap_or_else(|p| p.into_inner()) = tokens.instance_url.clone();
        let mut secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        secrets.push(tokens.access_token.expose().to_string());
        if let Some(refresh) = &tokens.refresh_token {
            secrets.push(refresh.expose().to_string());
        }
    }

    /// Store tokens obtained outside a refresh (the authorization code exchange).
    pub fn store(&self, tokens: &Tokens) -> Result<()> {
        let file = TokenFile { path: self.file.path.clone(), keys: self.file.keys.clone() };
        let _lock = file.lock()?;
        self.file.save(&self.fingerprint, tokens)
    }
}

#[async_trait::async_trait]
impl TokenProvider for MappingTokens {
    async fn access_token(&self) -> Result<Secret> {
        let mut current = self.current.lock().await;
        if let Some(tokens) = current.as_ref().filter(|t| Self::usable(t, None)) {
            return Ok(tokens.access_token.clone());
        }
        let fresh = self.obtain(current.as_ref(), None).await?;
        self.remember(&fresh);
        let token = fresh.access_token.clone();
        *current = Some(fresh);
        Ok(token)
    }

    async fn refused(&self, refused: &Secret) -> Result<()> {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|t| &t.access_token != refused) {
            return Ok(());
        }
        let fresh = self.obtain(current.as_ref(), Some(refused)).await?;
        self.remember(&fresh);
        *current = Some(fresh);
        Ok(())
    }

    fn current_secrets(&self) -> Vec<String> {
        let mut all = self.secrets.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(initial) = &self.initial {
            all.push(initial.access_token.expose().to_string());
            all.extend(initial.refresh_token.as_ref().map(|t| t.expose().to_string()));
        }
        all
    }

    fn instance(&self) -> Result<Option<url::Url>> {
        let instance = self.instance_url.lock().unwrap_or_else(|p| p.into_inner()).clone();
        instance.map(|text| oauth::checked_instance(&text, &self.config.token_url)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::ClientAuth;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cfdw-tokens-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn config(mock: &mockapi::MockServer) -> OAuthConfig {
        let mut config = OAuthConfig::new(format!("{}/oauth/expires/3600/token", mock.url()), "mock-client");
        config.client_secret = Some(Secret::new("mock-secret"));
        config.client_auth = ClientAuth::Basic;
        config
    }

    /// A refresh token the mock issued, via the client credentials grant's sibling: a full code flow.
    async fn issued_tokens(mock: &mockapi::MockServer, config: &OAuthConfig) -> Tokens {
        let start = oauth::authorize_url(
            &OAuthConfig { authorize_url: Some(format!("{}/oauth/authorize", mock.url())), ..config.clone() },
            Some("http://localhost/cb"),
        )
        .unwrap();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let answer: serde_json::Value = client.get(&start.url).send().await.unwrap().json().await.unwrap();
        oauth::exchange_code(
            config,
            answer["code"].as_str().unwrap(),
            &start.pkce_verifier,
            Some("http://localhost/cb"),
        )
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expired_tokens_are_refreshed_once_and_shared_through_the_file() {
        let mock = mockapi::MockServer::start().await;
        let dir = temp_dir("shared");
        let keys = Arc::new(KeyFile::new(dir.join("key")));
        let config = config(&mock);
        let mut granted = issued_tokens(&mock, &config).await;
        granted.expires_at = Some(0);
        // Two providers for the same mapping (two backends) with an expired token.
        let a =
            MappingTokens::new(config.clone(), Some(granted.clone()), TokenFile::new(dir.join("m.tok"), keys.clone()));
        let b =
            MappingTokens::new(config.clone(), Some(granted.clone()), TokenFile::new(dir.join("m.tok"), keys.clone()));
        let (ta, tb) = tokio::join!(a.access_token(), b.access_token());
        let (ta, tb) = (ta.unwrap(), tb.unwrap());
        assert_eq!(ta, tb, "the second waited for the first's refresh");
        let refreshes = mock
            .requests()
            .iter()
            .filter(|r| r.body.as_ref().is_some_and(|b| b["grant_type"] == "refresh_token"))
            .count();
        assert_eq!(refreshes, 1);
        // The file is encrypted: no token appears in it.
        let stored = std::fs::read_to_string(dir.join("m.tok")).unwrap();
        assert!(secrets::is_ciphertext(stored.trim()));
        assert!(!stored.contains(ta.expose()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refused_token_is_replaced_and_a_spent_refresh_token_is_a_clear_error() {
        let mock = mockapi::MockServer::start().await;
        let dir = temp_dir("refused");
        let keys = Arc::new(KeyFile::new(dir.join("key")));
        let config = config(&mock);
        let granted = issued_tokens(&mock, &config).await;
        let provider =
            MappingTokens::new(config.clone(), Some(granted.clone()), TokenFile::new(dir.join("m.tok"), keys.clone()));
        let first = provider.access_token().await.unwrap();
        assert_eq!(first, granted.access_token);
        provider.refused(&first).await.unwrap();
        let second = provider.access_token().await.unwrap();
        assert_ne!(second, first);
        // A second refusal of the already replaced token does not refresh again.
        provider.refused(&first).await.unwrap();
        assert_eq!(provider.access_token().await.unwrap(), second);
        // Without the token file, the mapping's (now rotated away) refresh token is spent.
        let fresh_dir = temp_dir("refused-empty");
        let stale = MappingTokens::new(
            config,
            Some(Tokens { expires_at: Some(0), ..granted }),
            TokenFile::new(fresh_dir.join("m.tok"), keys),
        );
        let e = stale.access_token().await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Authorization);
        assert!(e.message.contains("invalid_grant"), "{}", e.message);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn client_credentials_need_no_refresh_token() {
        let mock = mockapi::MockServer::start().await;
        let dir = temp_dir("cc");
        let provider = MappingTokens::new(
            config(&mock),
            None,
            TokenFile::new(dir.join("m.tok"), Arc::new(KeyFile::new(dir.join("key")))),
        );
        assert!(!provider.access_token().await.unwrap().expose().is_empty());
    }
}
