//! One error type for everything a connector can report. Each kind carries the SQLSTATE that Postgres will
//! show, so the choice of code lives next to the reason rather than in every call site.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// An option name no connector in this context accepts (postgres_fdw uses the same code).
    InvalidOptionName,
    /// An option whose value does not parse or is out of range.
    InvalidOptionValue,
    /// A required option is absent.
    MissingOption,
    /// The remote host could not be reached or the exchange broke off (refused, DNS, reset, timeout).
    Connection,
    /// The provider rejected the credentials (401/403).
    Authorization,
    /// The provider answered with an error status.
    Remote,
    /// The remote resource does not exist (404).
    NotFound,
    /// A response body that is not what the connector documents (not JSON, truncated, wrong shape).
    BadResponse,
    /// A remote value that does not convert to the column's type.
    InvalidValue,
    /// A number that does not fit the column's type.
    OutOfRange,
    /// A date or time value that does not parse.
    InvalidDatetime,
    /// A malformed line in a CSV/NDJSON file.
    BadFileFormat,
    /// A local file that does not exist.
    FileNotFound,
    /// The caller lacks a privilege (e.g. reading server files).
    InsufficientPrivilege,
    /// Something the connector or provider cannot do (e.g. writes on a read-only source).
    NotSupported,
    /// The query is missing a condition the provider requires (e.g. Slack history without a channel).
    MissingCondition,
    /// The scan was cancelled (query cancel, statement_timeout).
    Cancelled,
    /// A function argument that is not acceptable (a proxy path outside the server, an unknown method).
    InvalidParameter,

    /// A NUL character in text, which Postgres text cannot hold.
    UntranslatableCharacter,
    /// A limit of the server's was passed (e.g. a response larger than `max_response_bytes`).
    LimitExceeded,

    /// A bug: a panic or an impossible state.
    Internal,
}

impl ErrorKind {
    /// The five-character SQLSTATE Postgres reports for this kind.
    pub fn sqlstate(self) -> &'static str {
        match self {
            ErrorKind::InvalidOptionName => "HV00D",
            ErrorKind::InvalidOptionValue => "HV024",
            ErrorKind::MissingOption => "HV00J",
            ErrorKind::Connection => "HV00N",
            ErrorKind::Authorization => "28000",
            ErrorKind::Remote => "HV000",
            ErrorKind::NotFound => "HV00R",
            ErrorKind::BadResponse => "HV00M",
            ErrorKind::InvalidValue => "22P02",
            ErrorKind::OutOfRange => "22003",
            ErrorKind::InvalidDatetime => "22007",
            ErrorKind::BadFileFormat => "22P04",
            ErrorKind::FileNotFound => "58P01",
            ErrorKind::InsufficientPrivilege => "42501",
            ErrorKind::NotSupported => "0A000",
            ErrorKind::MissingCondition => "HV002",
            ErrorKind::Cancelled => "57014",
            ErrorKind::InvalidParameter => "22023",
            ErrorKind::UntranslatableCharacter => "22P05",
            ErrorKind::LimitExceeded => "54000",
            ErrorKind::Internal => "XX000",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), detail: None, hint: None }
    }
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn option_value(option: &str, message: impl fmt::Display) -> Self {
        Error::new(ErrorKind::InvalidOptionValue, format!("invalid value for option \"{option}\": {message}"))
    }
    pub fn bad_response(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::BadResponse, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }
    pub fn not_supported(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotSupported, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The first `max` characters of `text` (on a char boundary), with an ellipsis when cut: error messages
/// quote remote data, and a 1 MB body must not become a 1 MB error.
pub fn snippet(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_are_five_characters() {
        for kind in [ErrorKind::InvalidOptionName, ErrorKind::Connection, ErrorKind::BadFileFormat, ErrorKind::Internal]
        {
            assert_eq!(kind.sqlstate().len(), 5);
        }
    }

    #[test]
    fn snippet_cuts_on_char_boundary() {
        assert_eq!(snippet("héllo wörld", 4), "héll…");
        assert_eq!(snippet("short", 10), "short");
    }
}
