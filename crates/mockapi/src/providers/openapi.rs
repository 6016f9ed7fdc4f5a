//! OpenAPI documents describing the mock's own customers routes, for `IMPORT FOREIGN SCHEMA openapi`:
//!
//! - `GET /openapi/customers.json`: OpenAPI 3.1 — `/page/customers` (an object whose `data` member is the
//!   list, `$ref`s and `allOf`), `/plain/customers` (an array), `/page/customers/{id}` (a path parameter),
//!   `/page/customers/stats` (not a list), a POST;
//! - `GET /openapi/customers.yaml`: the same document in YAML;
//! - `GET /openapi/swagger.json`: Swagger 2.0 — `/offset/customers` (`items` member, `basePath` `/`);
//! - `GET /openapi/private/customers.json`: the 3.1 document, only with `Authorization: Bearer test-token`;
//! - `GET /openapi/broken.json`: JSON cut off in the middle; `GET /openapi/v4.json`: `"openapi": "4.0.0"`.

use super::{bearer, TEST_TOKEN};
use crate::handler::State;
use crate::http::{Request, Response};

// Kept as files, not built with `json!`, so that members stay in the order an API document has them.
const OPENAPI_31: &str = include_str!("openapi/customers.json");
const SWAGGER_2: &str = include_str!("openapi/swagger.json");
const OPENAPI_31_YAML: &str = include_str!("openapi/customers.yaml");

pub fn handle(_state: &State, req: &Request, path: &str) -> Response {
    if req.method != "GET" {
        return Response::error(405, &format!("Method {} not allowed", req.method));
    }
    match path {
        "/customers.json" => Response::json(200, OPENAPI_31),
        "/customers.yaml" => Response::new(200, "application/yaml", OPENAPI_31_YAML.into()),
        "/private/customers.json" if bearer(req) == Some(TEST_TOKEN) => Response::json(200, OPENAPI_31),
        "/private/customers.json" => Response::error(401, "missing or invalid bearer token"),
        "/swagger.json" => Response::json(200, SWAGGER_2),
        "/broken.json" => Response::json(200, r#"{"openapi": "3.1.0", "paths": {"/plain/customers": {"get": {"#),
        "/v4.json" => {
            Response::json(200, r#"{"openapi": "4.0.0", "info": {"title": "future", "version": "1"}, "paths": {}}"#)
        }
        _ => Response::error(404, &format!("not found: /openapi{path}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn get(path: &str, token: Option<&str>) -> Response {
        let state = State::new("http://127.0.0.1:1".into(), 10);
        let mut headers = Vec::new();
        if let Some(token) = token {
            headers.push(("authorization".to_string(), format!("Bearer {token}")));
        }
        let req = Request {
            method: "GET".into(),
            path: format!("/openapi{path}"),
            query: String::new(),
            headers,
            body: Vec::new(),
            keep_alive: false,
        };
        handle(&state, &req, path)
    }

    #[test]
    fn serves_the_documents_and_guards_the_private_one() {
        let doc: Value = serde_json::from_slice(&get("/customers.json", None).body).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/page/customers"]["get"].is_object());
        let doc: Value = serde_json::from_slice(&get("/swagger.json", None).body).unwrap();
        assert_eq!(doc["swagger"], "2.0");
        assert_eq!(get("/private/customers.json", None).status, 401);
        assert_eq!(get("/private/customers.json", Some("nope")).status, 401);
        assert_eq!(get("/private/customers.json", Some(TEST_TOKEN)).status, 200);
        assert!(serde_json::from_slice::<Value>(&get("/broken.json", None).body).is_err());
        assert_eq!(get("/nothing.json", None).status, 404);
    }
}
