//! The SQL API proxy (`connector_fdw.request`): one authenticated request to any endpoint of a server, for
//! the calls its tables do not cover. Everything here keeps the request on the server's base URL: the
//! server's credentials must never travel to another host or outside the API's path.

use crate::error::{Error, ErrorKind, Result};
use crate::http::Request;
use reqwest::Method;
use serde_json::Value;
use url::Url;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The request `method path?query` with `body`, on the server whose API starts at `base`.
///
/// `path` is relative to the base URL (`/users/me` under `https://api.example.com/v1` is
/// `https://api.example.com/v1/users/me`) or a full URL under it; `query` is a JSON object whose members
/// become parameters (arrays repeat the parameter). A path that leaves the base URL — another host, port
/// or scheme, or `..` above the base path — is refused before anything is sent.
pub fn build_request(
    base: &Url,
    method: &str,
    path: &str,
    body: Option<Value>,
    query: Option<&Value>,
) -> Result<Request> {
    let upper = method.trim().to_ascii_uppercase();
    if !METHODS.contains(&upper.as_str()) {
        return Err(Error::new(
            ErrorKind::InvalidParameter,
            format!("\"{method}\" is not an HTTP method the proxy sends"),
        )
        .with_hint(format!("Methods are: {}.", METHODS.join(", "))));
    }
    let method = Method::from_bytes(upper.as_bytes()).expect("listed methods are valid");
    let mut url = resolve(base, path)?;
    match query {
        None | Some(Value::Null) => {}
        Some(Value::Object(members)) => {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in members {
                match value {
                    Value::Array(items) => items.iter().for_each(|item| {
                        pairs.append_pair(name, &parameter(item));
                    }),
                    Value::Null => {}
                    other => {
                        pairs.append_pair(name, &parameter(other));
                    }
                }
            }
        }
        Some(_) => return Err(Error::new(ErrorKind::InvalidParameter, "query must be a JSON object of parameters")),
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    let mut request = Request::new(method, url);
    request.body = body.filter(|b| !b.is_null());
    Ok(request)
}

fn parameter(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `path` on `base`, refused when it would leave it.
fn resolve(base: &Url, path: &str) -> Result<Url> {
    let outside = |why: &str| {
        let shown = crate::http::redact_url(base, None);
        Error::new(
            ErrorKind::InvalidParameter,
            format!("path \"{path}\" is outside the server's base URL {shown}: {why}"),
        )
        .with_hint("The proxy sends requests only to the server's base_url and the paths under it.".to_string())
    };
    let base_path = base.path().trim_end_matches('/').to_string();
    let url = if path.contains("://") || path.starts_with("//") {
        let url = Url::parse(path).map_err(|_| outside("it is not a URL"))?;
        if url.scheme() != base.scheme()
            || url.host_str() != base.host_str()
            || url.port_or_known_default() != base.port_or_known_default()
        {
            return Err(outside("another host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(outside("it carries credentials"));
        }
        url
    } else {
        let (path_part, query_part) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let mut url = base.clone();
        url.set_path(&format!("{base_path}/{}", path_part.trim_start_matches('/')));
        url.set_query(query_part.or(base.query()));
        url
    };
    // The URL parser has resolved `.` and `..` (also percent-encoded ones): what is left must still be
    // under the base path.
    let under = url.path() == base_path || url.path().starts_with(&format!("{base_path}/")) || base_path.is_empty();
    if !under {
        return Err(outside("it leaves the base path"));
    }
    Ok(url)
}

/// A response body as SQL shows it: its JSON, a JSON string for other text, null when empty.
pub fn body_json(body: &[u8]) -> Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Url {
        Url::parse("https://api.example.com/v1").unwrap()
    }

    fn url(path: &str, query: Option<Value>) -> Result<String> {
        build_request(&base(), "get", path, None, query.as_ref()).map(|r| r.url.to_string())
    }

    #[test]
    fn paths_are_relative_to_the_base_url() {
        assert_eq!(url("/users/me", None).unwrap(), "https://api.example.com/v1/users/me");
        assert_eq!(url("users/me?x=1", None).unwrap(), "https://api.example.com/v1/users/me?x=1");
        assert_eq!(url("https://api.example.com/v1/a", None).unwrap(), "https://api.example.com/v1/a");
        assert_eq!(url("", None).unwrap(), "https://api.example.com/v1/");
    }

    #[test]
    fn query_objects_become_parameters() {
        let built = url("/search", Some(json!({"q": "a b", "n": 5, "tag": ["x", "y"], "skip": null}))).unwrap();
        // Members come in name order (serde_json's maps are sorted).
        assert_eq!(built, "https://api.example.com/v1/search?n=5&q=a+b&tag=x&tag=y");
        let err = url("/search", Some(json!(["q"]))).unwrap_err();
        assert!(err.message.contains("JSON object"), "{}", err.message);
    }

    #[test]
    fn paths_that_leave_the_base_url_are_refused() {
        for path in [
            "https://evil.example.com/v1/a",
            "http://api.example.com/v1/a",
            "https://api.example.com:8443/v1/a",
            "https://api.example.com/v2/a",
            "https://user:pw@api.example.com/v1/a",
            "//evil.example.com/v1",
            "/../v2/a",
            "/a/../../v2",
            "/%2e%2e/v2",
            "../../etc",
        ] {
            let err = url(path, None).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidParameter, "{path}");
            assert!(err.message.contains("outside the server's base URL"), "{path}: {}", err.message);
        }
        // `..` that stays under the base path is fine.
        assert_eq!(url("/a/../b", None).unwrap(), "https://api.example.com/v1/b");
    }

    #[test]
    fn methods_are_checked() {
        let err = build_request(&base(), "TRACE", "/", None, None).unwrap_err();
        assert!(err.message.contains("\"TRACE\""), "{}", err.message);
        assert!(err.hint.as_deref().unwrap_or("").contains("GET, POST"));
        let req = build_request(&base(), "post", "/x", Some(json!({"a": 1})), None).unwrap();
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.body, Some(json!({"a": 1})));
    }

    #[test]
    fn bodies_become_json_values() {
        assert_eq!(body_json(b""), Value::Null);
        assert_eq!(body_json(b"{\"a\":1}"), json!({"a": 1}));
        assert_eq!(body_json(b"plain text"), json!("plain text"));
    }
}
