//! Option declarations and their validation. Each connector lists its options per scope; validation refuses
//! unknown names with the list of valid ones (as postgres_fdw does) and checks each value's form.

use crate::error::{Error, ErrorKind, Result};
use crate::jsonpath::JsonPath;
use std::collections::BTreeMap;

/// Where an option is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Wrapper,
    Server,
    UserMapping,
    Table,
    Column,
}

impl Scope {
    pub fn describe(self) -> &'static str {
        match self {
            Scope::Wrapper => "foreign-data wrapper",
            Scope::Server => "server",
            Scope::UserMapping => "user mapping",
            Scope::Table => "foreign table",
            Scope::Column => "column",
        }
    }
}

/// The form an option's value must have.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Text,
    /// An integer in `min..=max`.
    Integer {
        min: i64,
        max: i64,
    },
    /// A number in `min..=max` (fractions allowed).
    Number {
        min: f64,
        max: f64,
    },
    Bool,
    OneOf(Vec<&'static str>),
    JsonPath,
    /// An absolute http(s) URL.
    Url,
    /// An absolute path on the database server.
    AbsolutePath,
    /// A credential: never printed, encrypted at rest.
    Secret,
    /// Text whose whole value matches a regular expression (a definition's server option).
    Matches(Pattern),
}

/// A regular expression the whole of a value must match; compared by its source text.
#[derive(Clone, Debug)]
pub struct Pattern {
    source: String,
    regex: regex::Regex,
}

impl Pattern {
    /// `source` anchored at both ends; the error is the regex crate's last line.
    pub fn new(source: &str) -> std::result::Result<Pattern, String> {
        let regex = regex::Regex::new(&format!("^(?:{source})$")).map_err(|e| {
            format!(
                "\"{source}\" is not a regular expression: {}",
                e.to_string().lines().last().unwrap_or_default().trim()
            )
        })?;
        Ok(Pattern { source: source.to_string(), regex })
    }

    pub fn is_match(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct OptionSpec {
    pub name: String,
    pub kind: Kind,
}

impl OptionSpec {
    pub fn new(name: &str, kind: Kind) -> Self {
        OptionSpec { name: name.to_string(), kind }
    }
    pub fn text(name: &str) -> Self {
        Self::new(name, Kind::Text)
    }
    pub fn int(name: &str, min: i64, max: i64) -> Self {
        Self::new(name, Kind::Integer { min, max })
    }
    pub fn one_of(name: &str, values: &[&'static str]) -> Self {
        Self::new(name, Kind::OneOf(values.to_vec()))
    }
}

/// A rate limit in requests per second: below one per 1000 s a limit only blocks, and the waits it
/// schedules would outlive any statement.
pub const RATE_LIMIT: Kind = Kind::Number { min: 0.001, max: 1_000_000.0 };

/// Options as given in a catalog entry.
pub type OptionMap = BTreeMap<String, String>;

pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "yes" | "1" | "t" => Some(true),
        "false" | "off" | "no" | "0" | "f" => Some(false),
        _ => None,
    }
}

/// Check one value against its declared form.
pub fn check_value(spec: &OptionSpec, value: &str) -> Result<()> {
    check_kind(&spec.kind, value).map_err(|why| Error::option_value(&spec.name, why))
}

/// What is wrong with `value` for a value of `kind`, for callers that name the value their own way.
pub fn check_kind(kind: &Kind, value: &str) -> std::result::Result<(), String> {
    match kind {
        Kind::Text | Kind::Secret => Ok(()),
        Kind::Integer { min, max } => match value.trim().parse::<i64>() {
            Ok(n) if (*min..=*max).contains(&n) => Ok(()),
            Ok(_) => Err(format!("\"{value}\" is outside {min}..{max}")),
            Err(_) => Err(format!("\"{value}\" is not an integer")),
        },
        Kind::Number { min, max } => match value.trim().parse::<f64>() {
            Ok(n) if (*min..=*max).contains(&n) => Ok(()),
            Ok(_) => Err(format!("\"{value}\" is outside {min}..{max}")),
            Err(_) => Err(format!("\"{value}\" is not a number")),
        },
        Kind::Bool => parse_bool(value).map(|_| ()).ok_or_else(|| format!("\"{value}\" is not a boolean")),
        Kind::OneOf(values) => {
            if values.contains(&value) {
                Ok(())
            } else {
                Err(format!("\"{value}\" is not one of: {}", values.join(", ")))
            }
        }
        Kind::JsonPath => JsonPath::parse(value).map(|_| ()),
        Kind::Matches(pattern) if pattern.is_match(value) => Ok(()),
        Kind::Matches(pattern) => Err(format!("\"{value}\" does not match the pattern {}", pattern.as_str())),
        Kind::AbsolutePath if value.starts_with('/') => Ok(()),
        Kind::AbsolutePath => Err(format!("\"{value}\" is not an absolute path")),
        Kind::Url => match url::Url::parse(value) {
            Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => Ok(()),
            Ok(_) => Err(format!("\"{value}\" is not an http or https URL")),
            Err(e) => Err(format!("\"{value}\" is not a URL ({e})")),
        },
    }
}

/// Validate a set of options against the specs of one scope: every name must be declared and every
/// value must have its declared form. The error for an unknown name lists the valid ones.
pub fn validate(scope: Scope, context: &str, given: &OptionMap, specs: &[OptionSpec]) -> Result<()> {
    for (name, value) in given {
        match specs.iter().find(|s| &s.name == name) {
            Some(spec) => check_value(spec, value)?,
            None => return Err(unknown_option(scope, context, name, specs)),
        }
    }
    Ok(())
}

pub fn unknown_option(scope: Scope, context: &str, name: &str, specs: &[OptionSpec]) -> Error {
    let mut names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let hint = if names.is_empty() {
        format!("There are no valid options for a {} {context}.", scope.describe())
    } else {
        format!("Valid options for a {} {context} are: {}.", scope.describe(), names.join(", "))
    };
    Error::new(ErrorKind::InvalidOptionName, format!("invalid option \"{name}\"")).with_hint(hint)
}

pub fn missing_option(scope: Scope, context: &str, name: &str) -> Error {
    Error::new(ErrorKind::MissingOption, format!("option \"{name}\" is required for a {} {context}", scope.describe()))
}

/// Typed access to an option map, with errors that name the option.
pub struct Options<'a> {
    map: &'a OptionMap,
}

impl<'a> Options<'a> {
    pub fn new(map: &'a OptionMap) -> Self {
        Options { map }
    }

    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.map.get(name).map(String::as_str)
    }

    pub fn require(&self, scope: Scope, context: &str, name: &str) -> Result<&'a str> {
        self.get(name).ok_or_else(|| missing_option(scope, context, name))
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>> {
        self.get(name)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| Error::option_value(name, format!("\"{v}\" is not an integer")))
            })
            .transpose()
    }

    pub fn number(&self, name: &str) -> Result<Option<f64>> {
        self.get(name)
            .map(|v| v.trim().parse::<f64>().map_err(|_| Error::option_value(name, format!("\"{v}\" is not a number"))))
            .transpose()
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>> {
        self.get(name)
            .map(|v| parse_bool(v).ok_or_else(|| Error::option_value(name, format!("\"{v}\" is not a boolean"))))
            .transpose()
    }

    pub fn json_path(&self, name: &str) -> Result<Option<JsonPath>> {
        self.get(name).map(|v| JsonPath::parse(v).map_err(|e| Error::option_value(name, e))).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> OptionMap {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn specs() -> Vec<OptionSpec> {
        vec![
            OptionSpec::text("path"),
            OptionSpec::int("page_size", 1, 1000),
            OptionSpec::one_of("pagination", &["none", "page"]),
            OptionSpec::new("rows", Kind::JsonPath),
            OptionSpec::new("base_url", Kind::Url),
            OptionSpec::new("rate_limit", RATE_LIMIT),
        ]
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        let e = validate(Scope::Table, "of connector \"rest\"", &map(&[("pagesize", "10")]), &specs()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidOptionName);
        assert_eq!(e.message, "invalid option \"pagesize\"");
        assert_eq!(
            e.hint.unwrap(),
            "Valid options for a foreign table of connector \"rest\" are: base_url, page_size, pagination, path, rate_limit, rows."
        );
    }

    #[test]
    fn values_are_checked_by_kind() {
        let check = |k: &str, v: &str| validate(Scope::Table, "", &map(&[(k, v)]), &specs());
        assert!(check("page_size", "100").is_ok());
        assert_eq!(
            check("page_size", "0").unwrap_err().message,
            "invalid value for option \"page_size\": \"0\" is outside 1..1000"
        );
        assert!(check("page_size", "ten").unwrap_err().message.contains("not an integer"));
        assert!(check("pagination", "pages").unwrap_err().message.contains("not one of: none, page"));
        assert!(check("rows", "$.data[").unwrap_err().message.contains("does not parse"));
        assert!(check("base_url", "ftp://x").unwrap_err().message.contains("not an http"));
        assert!(check("base_url", "http://127.0.0.1:8080/v1").is_ok());
        assert!(check("rate_limit", "0.5").is_ok());
        assert!(check("rate_limit", "-1").is_err());
        assert_eq!(
            check("rate_limit", "0.0000001").unwrap_err().message,
            "invalid value for option \"rate_limit\": \"0.0000001\" is outside 0.001..1000000"
        );
        assert!(check("rate_limit", "NaN").is_err() && check("rate_limit", "inf").is_err());
    }

    #[test]
    fn typed_access_names_the_option() {
        let m = map(&[("n", "x"), ("flag", "on")]);
        let o = Options::new(&m);
        assert!(o.int("n").unwrap_err().message.contains("\"n\""));
        assert_eq!(o.bool("flag").unwrap(), Some(true));
        assert_eq!(o.int("absent").unwrap(), None);
        let e = o.require(Scope::Table, "of connector \"rest\"", "path").unwrap_err();
        assert_eq!(e.kind, ErrorKind::MissingOption);
        assert_eq!(e.message, "option \"path\" is required for a foreign table of connector \"rest\"");
    }
}
