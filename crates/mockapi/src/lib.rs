//! `mockapi`: a fast, deterministic mock of a paged REST data provider with
//! fault injection, for connector_fdw's tests, demo and benchmark, plus mocks
//! of the providers connector_fdw ships definitions for (Gmail, Microsoft
//! Graph, Dropbox, HubSpot).
//!
//! Routes and knobs are documented in the crate's README.md.
//!
//! ```no_run
//! # async fn demo() {
//! let m = mockapi::MockServer::start().await;
//! let url = format!("{}/page/customers?_page=1&_limit=5", m.url());
//! // ... call `url` with any HTTP client ...
//! assert_eq!(m.requests().len(), 1);
//! # }
//! ```

#![forbid(unsafe_code)]

mod dataset;
mod faults;
mod handler;
mod hostile;
mod http;
mod log;
mod oauth;
mod providers;
mod query;
mod route;
mod server;
mod styles;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use crate::log::RecordedRequest;
pub use crate::providers::SALESFORCE_ACCOUNTS;
pub use crate::providers::STRIPE_KEY;
pub use crate::providers::TEST_TOKEN;
use handler::State;

/// Default cap on retained request-log entries (older ones are dropped).
pub const DEFAULT_LOG_LIMIT: usize = 1_000_000;

/// A running mock server on 127.0.0.1. Stops when dropped.
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: watch::Sender<bool>,
    /// Runtime thread of [`MockServer::start_blocking`].
    thread: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Starts on a free port, served by the current tokio runtime.
    pub async fn start() -> MockServer {
        Self::start_on(0).await.expect("bind 127.0.0.1:0")
    }

    /// Starts on `port` (0 = any free port) on the current tokio runtime.
    pub async fn start_on(port: u16) -> io::Result<MockServer> {
        Self::start_with(port, DEFAULT_LOG_LIMIT).await
    }

    /// Like [`MockServer::start_on`], keeping at most `log_limit` log entries.
    pub async fn start_with(port: u16, log_limit: usize) -> io::Result<MockServer> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(format!("http://{addr}"), log_limit));
        let (shutdown, stop) = watch::channel(false);
        tokio::spawn(server::serve(listener, state.clone(), stop));
        Ok(MockServer { addr, state, shutdown, thread: None })
    }

    /// Starts on a free port with its own runtime thread, for synchronous
    /// tests and for async tests that use blocking clients.
    pub fn start_blocking() -> MockServer {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("mockapi".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("mockapi runtime");
                rt.block_on(async move {
                    let server = MockServer::start().await;
                    let mut stop = server.shutdown.subscribe();
                    tx.send(server).expect("mockapi start");
                    let _ = stop.wait_for(|stop| *stop).await;
                });
            })
            .expect("spawn mockapi thread");
        let mut server = rx.recv().expect("mockapi start");
        server.thread = Some(thread);
        server
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests received since the last reset, in arrival order (`/__admin/*`
    /// excluded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.log.entries()
    }

    /// Number of requests received since the last reset.
    pub fn request_count(&self) -> u64 {
        self.state.log.count()
    }

    /// Clears the request log, fault counters, all mutations (provider mocks'
    /// included) and OAuth codes and tokens.
    pub fn reset(&self) {
        self.state.reset();
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
