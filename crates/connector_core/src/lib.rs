//! connector_core: everything connector_fdw does that does not need Postgres.
//!
//! The FDW layer (the `connector_fdw` crate) turns a Postgres plan into a [`model::ScanRequest`], asks the
//! table's [`pushdown::Capabilities`] what may be pushed (through [`pushdown::decide`]), and reads converted
//! rows from a [`scan::Scan`]. Connectors live in [`connectors`]; REST providers described as data, in
//! [`definitions`]; which of them exist, in [`registry`]. They build HTTP requests through [`http::Http`], which owns authentication, retries,
//! limits and redaction.

// Everything that needs `unsafe` (Postgres) lives in the extension crate's src/fdw.
#![forbid(unsafe_code)]

pub mod cache;
pub mod connectors;
pub mod convert;
pub mod credentials;
pub mod definitions;
pub mod error;
pub mod gmail;
pub mod http;
pub mod jsonpath;
pub mod model;
pub mod oauth;
pub mod oauth_tokens;
pub mod options;
pub mod partition;
pub mod proxy;
pub mod prune;
pub mod pushdown;
pub mod registry;
pub mod scan;
pub mod scrub;
pub mod secrets;
pub mod service_account;
pub mod webhooks;
pub mod write;

pub use error::{Error, ErrorKind, Result};
