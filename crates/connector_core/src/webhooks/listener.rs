//! The webhook listener: HTTP/1.1 on one address, `POST /webhooks/<server name>` and nothing else.
//!
//! Each delivery is resolved (is there such a server, taking webhooks?), size-checked (Content-Length, then
//! a streaming cap while the body is read), verified, and handed to the [`Backend`], whose answer (stored,
//! or already stored) is awaited before the 2xx goes out. Clients that send their headers or body too
//! slowly are cut off; each connection is its own task, so a slow one holds no other back.

use super::{verify, Event, Rejection, Scheme, Verified, WebhookCounters};
use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// A server that takes webhooks, as the backend found it.
pub struct Endpoint {
    pub scheme: Scheme,
    pub secret: Vec<u8>,
    /// Where accepted and rejected deliveries are counted (`connector_fdw.stats`).
    pub counters: Option<&'static WebhookCounters>,
}

pub enum Resolution {
    Found(Endpoint),
    /// No such server, or it takes no webhooks: 404.
    NotFound,
    /// The listener cannot serve it now (no secret set, the database is not ready): 503.
    Unavailable,
}

/// What storing an event came to.
pub enum Stored {
    New,
    /// The server already has an event with this id: acknowledged, not stored twice.
    Duplicate,
    /// The database refused the payload (e.g. JSON that jsonb does not take): 400.
    Refused(String),
    /// Storing failed (a trigger raised, the database is shutting down): 500, so the provider retries.
    Failed,
}

/// The database side: looks servers up and stores events, committing before it answers.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn resolve(&self, server: &str) -> Resolution;
    async fn store(&self, server: &str, event: Event) -> Stored;
}

pub struct Settings {
    /// The largest body accepted, in bytes (`connector_fdw.webhook_max_body`; changes on reload).
    pub max_body: Arc<AtomicU64>,
    /// How long a client may take to send a request's headers (and between requests on a kept connection).
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body.
    pub body_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
}

/// Serve deliveries on `listener` until the future is dropped.
pub async fn serve(listener: TcpListener, backend: Arc<dyn Backend>, settings: Arc<Settings>) {
    let slots = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of descriptors and the like: give connections a moment to close.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let backend = backend.clone();
        let settings = settings.clone();
        tokio::spawn(async move {
            let service = service_fn(|request| {
                let (backend, settings) = (backend.clone(), settings.clone());
                async move { Ok::<_, Infallible>(handle(request, backend.as_ref(), &settings).await) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(settings.header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(slot);
        });
    }
}

fn answer(status: StatusCode, text: impl Into<String>) -> Response<Full<Bytes>> {
    let mut text = text.into();
    text.push('\n');
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn count(endpoint: &Endpoint, accepted: bool) {
    if let Some(counters) = endpoint.counters {
        let counter = if accepted { &counters.accepted } else { &counters.rejected };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The server name of a `/webhooks/<name>` path (percent-decoded), if that is the path.
fn server_name(path: &str) -> Option<String> {
    let encoded = path.strip_prefix("/webhooks/")?;
    let name = percent_encoding::percent_decode_str(encoded).decode_utf8().ok()?;
    (!name.is_empty() && !encoded.contains('/')).then(|| name.into_owned())
}

async fn handle(request: Request<Incoming>, backend: &dyn Backend, settings: &Settings) -> Response<Full<Bytes>> {
    let Some(server) = server_name(request.uri().path()) else {
        return answer(StatusCode::NOT_FOUND, "not found: deliveries go to POST /webhooks/<server name>");
    };
    if request.method() != Method::POST {
        let mut response = answer(StatusCode::METHOD_NOT_ALLOWED, "webhook deliveries are POST requests");
        response.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let endpoint = match backend.resolve(&server).await {
        Resolution::Found(endpoint) => endpoint,
        Resolution::NotFound => return answer(StatusCode::NOT_FOUND, "no server takes webhooks at this address"),
        Resolution::Unavailable => {
            return answer(StatusCode::SERVICE_UNAVAILABLE, "webhooks of this server cannot be received now")
        }
    };
    let max_body = settings.max_body.load(Ordering::Relaxed);
    let too_large = || answer(StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than {max_body} bytes"));
    let declared = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_body) {
        count(&endpoint, false);
        return too_large();
    }
    let (parts, body) = request.into_parts();
    let limit = usize::try_from(max_body).unwrap_or(usize::MAX);
    let body = match tokio::time::timeout(settings.body_timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            count(&endpoint, false);
            return too_large();
        }
        Ok(Err(_)) => {
            count(&endpoint, false);
            return answer(StatusCode::BAD_REQUEST, "the body could not be read");
        }
        Err(_) => {
            count(&endpoint, false);
            return answer(StatusCode::REQUEST_TIMEOUT, "the body was not received in time");
        }
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let event = match verify(&endpoint.scheme, &endpoint.secret, &header, &body, unix_now()) {
        Ok(Verified::Event(event)) => event,
        Ok(Verified::Challenge(challenge)) => return answer(StatusCode::OK, challenge),
        Err(Rejection::Unauthorized(reason)) => {
            count(&endpoint, false);
            return answer(StatusCode::UNAUTHORIZED, format!("signature verification failed: {reason}"));
        }
        Err(Rejection::BadRequest(reason)) => {
            count(&endpoint, false);
            return answer(StatusCode::BAD_REQUEST, reason);
        }
    };
    match backend.store(&server, event).await {
        Stored::New => {
            count(&endpoint, true);
            answer(StatusCode::OK, "stored")
        }
        Stored::Duplicate => {
            count(&endpoint, true);
            answer(StatusCode::OK, "already stored")
        }
        Stored::Refused(reason) => {
            count(&endpoint, false);
            answer(StatusCode::BAD_REQUEST, reason)
        }
        Stored::Failed => {
            count(&endpoint, false);
            answer(StatusCode::INTERNAL_SERVER_ERROR, "the event could not be stored; deliver it again later")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::server_name;

    #[test]
    fn paths_name_one_server() {
        assert_eq!(server_name("/webhooks/stripe").as_deref(), Some("stripe"));
        assert_eq!(server_name("/webhooks/my%20shop").as_deref(), Some("my shop"));
        assert_eq!(server_name("/webhooks/"), None);
        assert_eq!(server_name("/webhooks/a/b"), None);
        assert_eq!(server_name("/other/stripe"), None);
        assert_eq!(server_name("/webhooks/%FF"), None);
    }
}
