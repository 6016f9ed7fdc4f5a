//! An OAuth 2.0 authorization server (RFC 6749 with PKCE, RFC 7636) that
//! behaves as providers document: single-use codes, expiring access tokens
//! and refresh tokens that rotate on every use, so clients' token handling
//! (and double refreshes) can be tested.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::http::{parse_query, percent_decode, Request, Response};

/// The one registered (confidential) client.
pub const CLIENT_ID: &str = "mock-client";
pub const CLIENT_SECRET: &str = "mock-secret";
const DEFAULT_EXPIRES_IN: u64 = 3600;
/// Longest lifetime `/oauth/expires/{seconds}/token` accepts (a year).
const MAX_EXPIRES_IN: u64 = 365 * 24 * 3600;

/// Who a token or code was issued to, and for what.
#[derive(Clone)]
struct Grant {
    client_id: String,
    scope: String,
}

struct Code {
    grant: Grant,
    redirect_uri: Option<String>,
    challenge: String,
}

struct Access {
    grant: Grant,
    expires_at: Instant,
}

#[derive(Default)]
struct Inner {
    /// Numbers codes and tokens; not reset, so a token from before a reset
    /// is never issued again.
    issued: u64,
    codes: HashMap<String, Code>,
    access: HashMap<String, Access>,
    refresh: HashMap<String, Grant>,
}

impl Inner {
    fn next(&mut self) -> u64 {
        self.issued += 1;
        self.issued
    }

    /// A token response: an access token for `access` and, for grants that
    /// have one, a new refresh token for `refresh`.
    fn issue(&mut self, access: Grant, refresh: Option<Grant>, expires_in: u64) -> Response {
        let n = self.next();
        let access_token = format!("mock-access-{n}");
        let mut body = json!({ "access_token": access_token, "token_type": "Bearer", "expires_in": expires_in });
        if !access.scope.is_empty() {
            body["scope"] = Value::from(access.scope.as_str());
        }
        if let Some(grant) = refresh {
            let token = format!("mock-refresh-{n}");
            body["refresh_token"] = Value::from(token.as_str());
            self.refresh.insert(token, grant);
        }
        let expires_at = Instant::now() + Duration::from_secs(expires_in);
        self.access.insert(access_token, Access { grant: access, expires_at });
        no_store(Response::json(200, body.to_string()))
    }
}

/// Codes and tokens issued so far.
#[derive(Default)]
pub struct OAuthServer {
    inner: Mutex<Inner>,
}

impl OAuthServer {
    /// Forgets every code and token.
    pub fn reset(&self) {
        let mut inner = self.inner.lock().unwrap();
        inner.codes.clear();
        inner.access.clear();
        inner.refresh.clear();
    }

    /// A request to `/oauth/{rest}`.
    pub fn handle(&self, rest: &str, req: &Request) -> Response {
        let segs: Vec<&str> = rest.split('/').collect();
        match (req.method.as_str(), segs.as_slice()) {
            ("GET", ["authorize"]) => self.authorize(req),
            ("GET", ["me"]) => match self.bearer(req) {
                Ok(grant) => Response::json(
                    200,
                    json!({ "ok": true, "client_id": grant.client_id, "scope": grant.scope }).to_string(),
                ),
                Err(resp) => resp,
            },
            ("POST", ["token"]) => self.token(req, DEFAULT_EXPIRES_IN),
            ("POST", ["expires", secs, "token"]) => match secs.parse().ok().filter(|s| *s <= MAX_EXPIRES_IN) {
                Some(secs) => self.token(req, secs),
                None => Response::error(404, &format!("not found: {}", req.path)),
            },
            (_, ["authorize"] | ["me"]) => Response::error(405, "method not allowed").with_header("Allow", "GET"),
            (_, ["token"] | ["expires", _, "token"]) => {
                Response::error(405, "method not allowed").with_header("Allow", "POST")
            }
            _ => Response::error(404, &format!("not found: {}", req.path)),
        }
    }

    /// Passes a request carrying a valid, unexpired access token; else the
    /// RFC 6750 401.
    pub fn check_bearer(&self, req: &Request) -> Result<(), Response> {
        self.bearer(req).map(|_| ())
    }

    fn bearer(&self, req: &Request) -> Result<Grant, Response> {
        let refuse = |challenge: &str| {
            Response::error(401, "invalid or expired token").with_header("WWW-Authenticate", challenge)
        };
        let token = req
            .header("authorization")
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        // RFC 6750 §3.1: no error code when the request carried no token.
        let Some(token) = token else {
            return Err(refuse("Bearer realm=\"mockapi\""));
        };
        let inner = self.inner.lock().unwrap();
        match inner.access.get(token) {
            Some(access) if Instant::now() < access.expires_at => Ok(access.grant.clone()),
            _ => Err(refuse("Bearer realm=\"mockapi\", error=\"invalid_token\"")),
        }
    }

    /// Answers with the code as JSON instead of redirecting, so a test can
    /// play the user's browser with one GET.
    fn authorize(&self, req: &Request) -> Response {
        let params = parse_query(&req.query);
        let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let fail = |code: &str, description: &str| oauth_error(400, code, description);
        if get("response_type").as_deref() != Some("code") {
            return fail("unsupported_response_type", "response_type must be 'code'");
        }
        if get("client_id").as_deref() != Some(CLIENT_ID) {
            return fail("invalid_request", "unknown client_id");
        }
        let Some(challenge) = get("code_challenge").filter(|c| (43..=128).contains(&c.len())) else {
            return fail("invalid_request", "PKCE is required: code_challenge (43-128 characters) is missing");
        };
        if get("code_challenge_method").as_deref() != Some("S256") {
            return fail("invalid_request", "code_challenge_method must be S256");
        }
        let grant = Grant { client_id: CLIENT_ID.to_string(), scope: get("scope").unwrap_or_default() };
        let mut inner = self.inner.lock().unwrap();
        let code = format!("mock-code-{}", inner.next());
        let redirect_uri = get("redirect_uri");
        inner.codes.insert(code.clone(), Code { grant, redirect_uri, challenge });
        Response::json(200, json!({ "code": code, "state": get("state") }).to_string())
    }

    fn token(&self, req: &Request, expires_in: u64) -> Response {
        self.grant(req, expires_in).unwrap_or_else(no_store)
    }

    fn grant(&self, req: &Request, expires_in: u64) -> Result<Response, Response> {
        let form_encoded = req
            .header("content-type")
            .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        if !form_encoded {
            return Err(invalid_request("the body must be application/x-www-form-urlencoded"));
        }
        let mut fields = HashMap::new();
        for (name, value) in parse_query(&String::from_utf8_lossy(&req.body)) {
            // RFC 6749 §3.2: parameters must not be repeated.
            if fields.insert(name.clone(), value).is_some() {
                return Err(invalid_request(&format!("parameter '{name}' given more than once")));
            }
        }
        let client_id = authenticate(req, &fields)?;
        let param = |name: &str| fields.get(name).map(String::as_str);
        let mut inner = self.inner.lock().unwrap();
        match param("grant_type") {
            Some("authorization_code") => {
                let code = param("code").ok_or_else(|| invalid_request("code is missing"))?;
                // Single use whatever the outcome, as RFC 6749 §4.1.2 asks.
                let issued = inner
                    .codes
                    .remove(code)
                    .ok_or_else(|| invalid_grant("authorization code is invalid, expired or already used"))?;
                if issued.grant.client_id != client_id {
                    return Err(invalid_grant("authorization code was issued to another client"));
                }
                if issued.redirect_uri.is_some() && issued.redirect_uri.as_deref() != param("redirect_uri") {
                    return Err(invalid_grant("redirect_uri does not match the authorization request"));
                }
                let verifier = param("code_verifier").ok_or_else(|| invalid_grant("code_verifier is missing"))?;
                if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != issued.challenge {
                    return Err(invalid_grant("code_verifier does not match the code_challenge"));
                }
                Ok(inner.issue(issued.grant.clone(), Some(issued.grant), expires_in))
            }
            Some("refresh_token") => {
                let token = param("refresh_token").ok_or_else(|| invalid_request("refresh_token is missing"))?;
                // Rotation: this refresh token is spent, its successor is returned.
                let grant = inner
                    .refresh
                    .remove(token)
                    .ok_or_else(|| invalid_grant("refresh token is invalid, expired, revoked or already used"))?;
                if grant.client_id != client_id {
                    // Another client's token stays valid for its owner.
                    inner.refresh.insert(token.to_string(), grant);
                    return Err(invalid_grant("refresh token was issued to another client"));
                }
                let access = match param("scope") {
                    None => grant.clone(),
                    Some(scope) => {
                        let granted: Vec<&str> = grant.scope.split(' ').collect();
                        if !scope.split(' ').all(|s| granted.contains(&s)) {
                            return Err(oauth_error(400, "invalid_scope", "scope exceeds the original grant"));
                        }
                        Grant { client_id: grant.client_id.clone(), scope: scope.to_string() }
                    }
                };
                Ok(inner.issue(access, Some(grant), expires_in))
            }
            Some("client_credentials") => {
                let grant = Grant { client_id, scope: param("scope").unwrap_or("").to_string() };
                // RFC 6749 §4.4.3: no refresh token for this grant.
                Ok(inner.issue(grant, None, expires_in))
            }
            Some(other) => {
                Err(oauth_error(400, "unsupported_grant_type", &format!("grant_type '{other}' is not supported")))
            }
            None => Err(invalid_request("grant_type is missing")),
        }
    }
}

/// The authenticated client's id, from HTTP Basic (id and secret each
/// form-urlencoded first, RFC 6749 §2.3.1) or from client_id/client_secret
/// in the body; not both at once.
fn authenticate(req: &Request, fields: &HashMap<String, String>) -> Result<String, Response> {
    let basic = match req.header("authorization") {
        None => None,
        Some(value) => {
            let credentials = value
                .split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
                .and_then(|(_, b64)| STANDARD.decode(b64.trim()).ok())
                .and_then(|raw| String::from_utf8(raw).ok())
                .and_then(|text| text.split_once(':').map(|(id, secret)| (percent_decode(id), percent_decode(secret))));
            Some(credentials.ok_or_else(|| invalid_client("malformed Basic credentials"))?)
        }
    };
    let (id, secret) = match (basic, fields.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(invalid_request("use one client authentication method: Basic or client_secret, not both"))
        }
        (Some((id, secret)), None) => {
            if fields.get("client_id").is_some_and(|body_id| *body_id != id) {
                return Err(invalid_request("client_id differs from the Basic credentials"));
            }
            (id, Some(secret))
        }
        (None, secret) => {
            let id = fields.get("client_id").ok_or_else(|| invalid_client("client authentication is required"))?;
            (id.clone(), secret.cloned())
        }
    };
    match id == CLIENT_ID && secret.as_deref() == Some(CLIENT_SECRET) {
        true => Ok(id),
        false => Err(invalid_client("client authentication failed")),
    }
}

/// Token responses must not be cached (RFC 6749 §5.1).
fn no_store(resp: Response) -> Response {
    resp.with_header("Cache-Control", "no-store").with_header("Pragma", "no-cache")
}

/// `{"error": code, "error_description": …}`, the RFC 6749 §5.2 shape.
fn oauth_error(status: u16, code: &str, description: &str) -> Response {
    Response::json(status, json!({ "error": code, "error_description": description }).to_string())
}

fn invalid_request(description: &str) -> Response {
    oauth_error(400, "invalid_request", description)
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(400, "invalid_grant", description)
}

/// 401 with a challenge, which RFC 6749 §5.2 requires when the client tried
/// Basic (harmless otherwise).
fn invalid_client(description: &str) -> Response {
    oauth_error(401, "invalid_client", description).with_header("WWW-Authenticate", "Basic realm=\"mockapi\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::Action;
    use crate::handler::{handle, State};

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    /// S256 of VERIFIER, from RFC 7636 appendix B.
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
            keep_alive: true,
        }
    }

    fn send(state: &State, req: Request) -> (u16, Value, Response) {
        let Action::Send(resp) = handle(state, &req).action else { panic!("not a plain response") };
        let body = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        (resp.status, body, resp)
    }

    fn basic() -> (&'static str, String) {
        ("authorization", format!("Basic {}", STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))))
    }

    fn token(state: &State, path: &str, form: &str) -> (u16, Value) {
        let (name, value) = basic();
        let headers = [("content-type", "application/x-www-form-urlencoded"), (name, value.as_str())];
        let (status, body, _) = send(state, request("POST", path, &headers, form));
        (status, body)
    }

    fn authorize(state: &State) -> String {
        let target = format!(
            "/oauth/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri=http%3A%2F%2Flocalhost%2Fcb\
             &scope=read+write&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256"
        );
        let (status, body, _) = send(state, request("GET", &target, &[], ""));
        assert_eq!((status, body["state"].as_str()), (200, Some("xyz")), "{body}");
        body["code"].as_str().unwrap().to_string()
    }

    fn me(state: &State, path: &str, token: &str) -> (u16, Option<String>) {
        let auth = format!("Bearer {token}");
        let (status, _, resp) = send(state, request("GET", path, &[("authorization", &auth)], ""));
        let challenge = resp.headers.iter().find(|(n, _)| n == "WWW-Authenticate").map(|(_, v)| v.clone());
        (status, challenge)
    }

    #[test]
    fn code_flow_with_pkce_and_rotating_refresh_tokens() {
        let state = State::new("http://127.0.0.1:1".into(), 100);
        let code = authorize(&state);
        let exchange = |verifier: &str, code: &str| {
            token(
                &state,
                "/oauth/token",
                &format!("grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&code_verifier={verifier}"),
            )
        };
        let (status, tokens) = exchange(VERIFIER, &code);
        assert_eq!(status, 200, "{tokens}");
        assert_eq!((tokens["token_type"].as_str(), tokens["expires_in"].as_u64()), (Some("Bearer"), Some(3600)));
        assert_eq!(tokens["scope"], "read write");
        let access = tokens["access_token"].as_str().unwrap();
        assert_eq!(me(&state, "/oauth/me", access).0, 200);
        assert_eq!(me(&state, "/auth/oauth/page/customers", access).0, 200);
        // The code is spent.
        let (status, again) = exchange(VERIFIER, &code);
        assert_eq!((status, again["error"].as_str()), (400, Some("invalid_grant")));
        // A wrong verifier fails (and spends the code too).
        let code = authorize(&state);
        assert_eq!(exchange(&"x".repeat(43), &code).1["error"], "invalid_grant");

        let old = tokens["refresh_token"].as_str().unwrap();
        let (status, fresh) = token(&state, "/oauth/token", &format!("grant_type=refresh_token&refresh_token={old}"));
        assert_eq!(status, 200, "{fresh}");
        assert_ne!(fresh["refresh_token"].as_str(), Some(old));
        let (status, reused) = token(&state, "/oauth/token", &format!("grant_type=refresh_token&refresh_token={old}"));
        assert_eq!((status, reused["error"].as_str()), (400, Some("invalid_grant")));
        assert!(reused["error_description"].as_str().unwrap().contains("already used"));
        let newer = fresh["refresh_token"].as_str().unwrap();
        let form = format!("grant_type=refresh_token&refresh_token={newer}&scope=admin");
        assert_eq!(token(&state, "/oauth/token", &form).1["error"], "invalid_scope");
    }

    #[test]
    fn pkce_is_required() {
        let state = State::new("http://127.0.0.1:1".into(), 100);
        let target = format!("/oauth/authorize?response_type=code&client_id={CLIENT_ID}");
        let (status, body, _) = send(&state, request("GET", &target, &[], ""));
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
        let plain = format!("{target}&code_challenge={CHALLENGE}&code_challenge_method=plain");
        assert_eq!(send(&state, request("GET", &plain, &[], "")).0, 400);
    }

    #[test]
    fn client_authentication() {
        let state = State::new("http://127.0.0.1:1".into(), 100);
        let form_type = ("content-type", "application/x-www-form-urlencoded");
        let in_body = format!("grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}");
        let (status, body, resp) = send(&state, request("POST", "/oauth/token", &[form_type], &in_body));
        assert_eq!(status, 200, "{body}");
        assert!(body.get("refresh_token").is_none());
        assert!(resp.headers.contains(&("Cache-Control".into(), "no-store".into())));

        let wrong = format!("Basic {}", STANDARD.encode(format!("{CLIENT_ID}:nope")));
        let (status, body, resp) = send(
            &state,
            request("POST", "/oauth/token", &[form_type, ("authorization", &wrong)], "grant_type=client_credentials"),
        );
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
        assert!(resp.headers.iter().any(|(n, _)| n == "WWW-Authenticate"));
        let wrong_body = in_body.replace(CLIENT_SECRET, "nope");
        assert_eq!(send(&state, request("POST", "/oauth/token", &[form_type], &wrong_body)).0, 401);
        let (name, value) = basic();
        let both = send(&state, request("POST", "/oauth/token", &[form_type, (name, &value)], &in_body));
        assert_eq!(both.1["error"], "invalid_request");
        assert_eq!(send(&state, request("POST", "/oauth/token", &[], &in_body)).1["error"], "invalid_request");
        assert_eq!(token(&state, "/oauth/token", "grant_type=password").1["error"], "unsupported_grant_type");
        assert_eq!(send(&state, request("GET", "/oauth/token", &[], "")).0, 405);
    }

    #[test]
    fn access_tokens_expire_and_bad_tokens_are_refused() {
        let state = State::new("http://127.0.0.1:1".into(), 100);
        let (_, body) = token(&state, "/oauth/expires/0/token", "grant_type=client_credentials");
        assert_eq!(body["expires_in"], 0);
        let expired = body["access_token"].as_str().unwrap();
        let (status, challenge) = me(&state, "/oauth/me", expired);
        assert_eq!(status, 401);
        assert_eq!(challenge.as_deref(), Some("Bearer realm=\"mockapi\", error=\"invalid_token\""));
        assert_eq!(me(&state, "/auth/oauth/plain/customers/1", expired).0, 401);
        assert_eq!(me(&state, "/oauth/me", "test-token").0, 401);
        assert_eq!(send(&state, request("GET", "/oauth/me", &[], "")).0, 401);

        let (_, body) = token(&state, "/oauth/token", "grant_type=client_credentials");
        let valid = body["access_token"].as_str().unwrap();
        assert_eq!(me(&state, "/oauth/me", valid).0, 200);
        state.reset();
        assert_eq!(me(&state, "/oauth/me", valid).0, 401);
        assert_eq!(token(&state, "/oauth/expires/x/token", "grant_type=client_credentials").0, 404);
    }

    #[test]
    fn token_requests_are_logged_with_their_form() {
        let state = State::new("http://127.0.0.1:1".into(), 100);
        token(&state, "/oauth/token", "grant_type=client_credentials&scope=read");
        let logged = state.log.entries();
        assert_eq!(logged[0].path, "/oauth/token");
        assert_eq!(logged[0].body, Some(json!({ "grant_type": "client_credentials", "scope": "read" })));
        assert!(logged[0].header("authorization").is_some_and(|v| v.starts_with("Basic ")));
    }
}
