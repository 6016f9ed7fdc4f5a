//! Pushed conditions, sorts and limits as request parameters: filters, terms of a search language and
//! the search endpoint, fields, and key lookups.

use super::write::RestWriter;
use super::{Pagination, RestTable};
use crate::error::{Error, Result};
use crate::jsonpath::JsonPath;
use crate::model::Value as SqlValue;
use crate::model::{Op, ScanRequest};
use reqwest::Method;
use url::Url;

/// A pushable condition: the column, its operator and the query parameter the value goes to.
#[derive(Clone, Debug)]
pub(super) struct Filter {
    pub(super) column: String,
    pub(super) op: Op,
    pub(super) param: String,
    /// From `param=template`: the value is written into the template at `{value}`, for filter languages
    /// (`$filter=isRead eq {value}`).
    pub(super) template: Option<String>,
}

impl Filter {
    pub(super) fn parse(column: &str, op: Op, option: &str, value: &str) -> Result<Filter> {
        let Some((param, template)) = value.split_once('=') else {
            return Ok(Filter { column: column.to_string(), op, param: value.to_string(), template: None });
        };
        if param.is_empty() || !(template.contains("{value}") || template.contains("{epoch}")) {
            return Err(Error::option_value(
                option,
                format!("\"{value}\" is neither a parameter name nor a template \"parameter=…{{value}}…\""),
            ));
        }
        Ok(Filter { column: column.to_string(), op, param: param.to_string(), template: Some(template.to_string()) })
    }

    /// The parameter's value for `value`. In a template, a value written between single quotes has its own
    /// single quotes doubled, as OData and SQL-like filter languages escape them.
    pub(super) fn render(&self, value: &SqlValue) -> String {
        let text = value.to_param();
        match &self.template {
            None => text,
            Some(template) => {
                let mut rendered =
                    template.replace("'{value}'", &format!("'{}'", text.replace('\'', "''"))).replace("{value}", &text);
                if rendered.contains("{epoch}") {
                    rendered = rendered.replace("{epoch}", &epoch_seconds(value, self.op).unwrap_or(text));
                }
                rendered
            }
        }
    }
}

/// A search language's combined query parameter (Close's `GET /api/v1/lead/?query=status:"Potential"
/// date_updated>="2024-01-01T00:00" sort:-date_created`): columns' conditions are terms of it, joined by
/// `join` and added to what a filter of the same parameter sent (an echoed `query` column's own text).
/// Such languages match loosely (words, case, coarse times), so terms are supersets that Postgres rechecks,
/// and a value a term cannot carry faithfully is left out of the request.
#[derive(Clone, Debug)]
pub(super) struct Terms {
    pub(super) param: String,
    pub(super) join: String,
    /// Written around text and time values.
    pub(super) quote: String,
    /// Written before a quote or an escape inside a value; without it such a value is not sent.
    pub(super) escape: Option<String>,
    /// Times are written to the minute (`2024-01-01T00:00`) or the second, in UTC.
    pub(super) minutes: bool,
    /// The term of a pushed sort, with `{field}` (`sort:{field}`); a descending key is `-field`.
    pub(super) sort: Option<String>,
}

/// A column's condition as a term: `status:{value}`, `date_updated>={value}`.
#[derive(Clone, Debug)]
pub(super) struct Term {
    pub(super) column: String,
    pub(super) op: Op,
    pub(super) template: String,
}

impl Terms {
    /// The term for `value`, or `None` when the value cannot be written faithfully (a quote without an
    /// escape, an equality on a time the precision would round, a value of another kind).
    pub(super) fn render(&self, term: &Term, value: &SqlValue) -> Option<String> {
        let literal = match value {
            SqlValue::Int(_) | SqlValue::Numeric(_) | SqlValue::Float(_) | SqlValue::Bool(_) => value.to_param(),
            SqlValue::Text(_) | SqlValue::Uuid(_) => self.quoted(&value.to_param())?,
            SqlValue::Date(_) | SqlValue::Timestamp(_) | SqlValue::TimestampTz(_) => {
                self.quoted(&self.time(value, term.op)?)?
            }
            _ => return None,
        };
        Some(term.template.replace("{value}", &literal))
    }

    fn quoted(&self, text: &str) -> Option<String> {
        let escaped = match &self.escape {
            Some(escape) => text
                .replace(escape.as_str(), &format!("{escape}{escape}"))
                .replace(self.quote.as_str(), &format!("{escape}{}", self.quote)),
            // Without a declared escape a quote (or a backslash, which many languages read as one) cannot
            // be written inside a value.
            None if !self.quote.is_empty() && (text.contains(self.quote.as_str()) || text.contains('\\')) => {
                return None
            }
            None => text.to_string(),
        };
        Some(format!("{}{escaped}{}", self.quote, self.quote))
    }

    /// A time bound in UTC at the language's precision, rounded outward so that the term keeps every row the
    /// condition keeps: down for `>` and `>=`, up for `<` and `<=`. Other operators are not written.
    fn time(&self, value: &SqlValue, op: Op) -> Option<String> {
        let unit: i64 = if self.minutes { 60_000_000 } else { 1_000_000 };
        let micros = utc_micros(value)?;
        let rounded = match op {
            Op::Gt | Op::Ge => micros.div_euclid(unit) * unit,
            Op::Lt | Op::Le => (micros + unit - 1).div_euclid(unit) * unit,
            _ => return None,
        };
        let time = chrono::DateTime::from_timestamp_micros(rounded)?;
        Some(time.format(if self.minutes { "%Y-%m-%dT%H:%M" } else { "%Y-%m-%dT%H:%M:%S" }).to_string())
    }
}

/// A date or timestamp as microseconds since the Unix epoch (a timestamp without zone is taken as UTC).
fn utc_micros(value: &SqlValue) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    match value {
        SqlValue::TimestampTz(text) | SqlValue::Timestamp(text) => {
            let text = text.trim();
            let parsed = DateTime::parse_from_rfc3339(text).map(|t| t.naive_utc()).ok().or_else(|| {
                ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                    .iter()
                    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            })?;
            Some(parsed.and_utc().timestamp_micros())
        }
        SqlValue::Date(text) => Some(
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros(),
        ),
        _ => None,
    }
}

/// A date or timestamp as whole Unix seconds (`{epoch}` in a filter template), for APIs whose times are
/// integers (Stripe's `created[gte]`). A fraction of a second is rounded so that the integer condition
/// keeps the rows the SQL one keeps: up for `>=` and `<`, down otherwise. `None` for other values.
pub(super) fn epoch_seconds(value: &SqlValue, op: Op) -> Option<String> {
    let micros = match value {
        SqlValue::Int(seconds) => return Some(seconds.to_string()),
        other => utc_micros(other)?,
    };
    let seconds = match op {
        Op::Ge | Op::Lt => micros.div_euclid(1_000_000) + i64::from(micros.rem_euclid(1_000_000) != 0),
        _ => micros.div_euclid(1_000_000),
    };
    Some(seconds.to_string())
}

/// A search endpoint (Stripe's `GET /v1/charges/search?query=status:'failed' AND amount>1000`): its URL,
/// the parameter of the query, the text joining conditions, and its own cursor paging.
#[derive(Clone, Debug)]
pub(super) struct Search {
    pub(super) url: Url,
    pub(super) param: String,
    pub(super) join: String,
    pub(super) cursor_param: String,
    pub(super) cursor_path: JsonPath,
}

/// A column's field in the search language, and the operators it takes there (comparisons for numbers
/// and times, `=` and `<>` for the others).
#[derive(Clone, Debug)]
pub(super) struct SearchField {
    pub(super) column: String,
    pub(super) field: String,
    pub(super) ops: Vec<Op>,
    /// Text values are compared case-insensitively by search: text conditions the list would apply
    /// exactly are checked again on the search's records.
    pub(super) text: bool,
    pub(super) path: JsonPath,
}

impl SearchField {
    /// `field:'value'`, `-field:'value'`, `field>123`; times as Unix seconds. `None` for an operator or
    /// value search cannot express.
    fn clause(&self, op: Op, value: &SqlValue) -> Option<String> {
        let rendered = match value {
            SqlValue::Int(_) | SqlValue::Numeric(_) | SqlValue::Float(_) => value.to_param(),
            SqlValue::Date(_) | SqlValue::Timestamp(_) | SqlValue::TimestampTz(_) => epoch_seconds(value, op)?,
            SqlValue::Text(_) | SqlValue::Bool(_) | SqlValue::Uuid(_) => {
                format!("'{}'", value.to_param().replace('\\', "\\\\").replace('\'', "\\'"))
            }
            _ => return None,
        };
        if !self.ops.contains(&op) {
            return None;
        }
        let field = &self.field;
        Some(match op {
            Op::Eq => format!("{field}:{rendered}"),
            Op::Ne => format!("-{field}:{rendered}"),
            Op::Gt => format!("{field}>{rendered}"),
            Op::Ge => format!("{field}>={rendered}"),
            Op::Lt => format!("{field}<{rendered}"),
            Op::Le => format!("{field}<={rendered}"),
            _ => return None,
        })
    }
}

pub(super) fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq | Op::In => "=",
        Op::Ne => "<>",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Lt => "<",
        Op::Le => "<=",
        _ => "?",
    }
}

/// A text condition checked again on a search's records: (path, `=` or `<>`, value).
pub(super) type Recheck = (JsonPath, Op, String);

impl RestTable {
    /// Query parameters for the pushed conditions and sort.
    pub(super) fn pushed_params(&self, request: &ScanRequest) -> Vec<(String, String)> {
        // (parameter, value, filled from a template)
        let mut filled: Vec<(String, String, bool)> = Vec::new();
        for qual in &request.quals {
            let filter_for = |op: Op| self.filters.iter().find(|f| f.column == qual.column && f.op == op);
            let pushed: Vec<(&Filter, &SqlValue)> = match (&qual.op, &qual.value) {
                (Op::In, SqlValue::List(items)) => {
                    filter_for(Op::Eq).map(|f| items.iter().map(|v| (f, v)).collect()).unwrap_or_default()
                }
                (op, value) => filter_for(*op).map(|f| vec![(f, value)]).unwrap_or_default(),
            };
            for (filter, value) in pushed {
                let text = filter.render(value);
                let templated = filter.template.is_some();
                let joined = match (&self.filter_join, templated) {
                    (Some(join), true) => {
                        filled.iter_mut().find(|(p, _, t)| *t && *p == filter.param).map(|(_, existing, _)| {
                            existing.push_str(join);
                            existing.push_str(&text);
                        })
                    }
                    _ => None,
                };
                if joined.is_none() {
                    filled.push((filter.param.clone(), text, templated));
                }
            }
        }
        let mut params: Vec<(String, String)> = filled.into_iter().map(|(p, v, _)| (p, v)).collect();
        let remote =
            |column: &str| self.sortable.iter().find(|(c, _)| c == column).map(|s| s.1.clone()).unwrap_or_default();
        if let Some(terms) = &self.terms {
            // Conditions a filter serves are sent as the filter; the others of a term's column as terms.
            let filtered = |column: &str, op: Op| self.filters.iter().any(|f| f.column == column && f.op == op);
            let mut written: Vec<String> = request
                .quals
                .iter()
                .filter(|q| !filtered(&q.column, q.op))
                .filter_map(|q| {
                    terms.render(self.column_terms.iter().find(|t| t.column == q.column && t.op == q.op)?, &q.value)
                })
                .collect();
            if let Some(template) = terms.sort.as_ref().filter(|_| !request.sorts.is_empty()) {
                written.extend(request.sorts.iter().map(|s| {
                    template.replace("{field}", &format!("{}{}", if s.desc { "-" } else { "" }, remote(&s.column)))
                }));
            }
            if !written.is_empty() {
                let joined = written.join(&terms.join);
                match params.iter_mut().find(|(p, _)| *p == terms.param) {
                    Some((_, value)) => {
                        value.push_str(&terms.join);
                        value.push_str(&joined);
                    }
                    None => params.push((terms.param.clone(), joined)),
                }
            }
        }
        if let (Some(sort_param), false) = (&self.sort_param, request.sorts.is_empty()) {
            match &self.order_param {
                Some(order_param) => {
                    params.push((
                        sort_param.clone(),
                        request.sorts.iter().map(|s| remote(&s.column)).collect::<Vec<_>>().join(","),
                    ));
                    let orders: Vec<&str> = request.sorts.iter().map(|s| if s.desc { "desc" } else { "asc" }).collect();
                    params.push((order_param.clone(), orders.join(",")));
                }
                // Without an order parameter, descending keys carry a leading '-' (JSON:API style).
                None => params.push((
                    sort_param.clone(),
                    request
                        .sorts
                        .iter()
                        .map(|s| format!("{}{}", if s.desc { "-" } else { "" }, remote(&s.column)))
                        .collect::<Vec<_>>()
                        .join(","),
                )),
            }
        }
        params
    }

    /// With a search endpoint, the table that reads it for `request`: when a condition only search applies is
    /// pushed, and search can express every pushed condition (else the list is read, and Postgres checks
    /// the conditions only search applies, which are pushed as supersets). Text conditions the list would
    /// apply exactly are checked again on the records, as search compares text case-insensitively.
    pub(super) fn searching(&self, request: &ScanRequest) -> Option<(RestTable, Vec<Recheck>)> {
        let search = self.search.as_ref()?;
        if !request.sorts.is_empty() || self.lookup_url(request).is_some() {
            return None;
        }
        let listed = |column: &str, op: Op| {
            self.filters.iter().any(|f| f.column == column && (f.op == op || (op == Op::In && f.op == Op::Eq)))
        };
        let termed = |column: &str, op: Op| self.column_terms.iter().any(|t| t.column == column && t.op == op);
        if !request.quals.iter().any(|q| !listed(&q.column, q.op) && !termed(&q.column, q.op)) {
            return None;
        }
        let mut clauses = Vec::new();
        let mut recheck = Vec::new();
        for qual in &request.quals {
            let field = self.search_fields.iter().find(|f| f.column == qual.column)?;
            clauses.push(field.clause(qual.op, &qual.value)?);
            if field.text && listed(&qual.column, qual.op) {
                recheck.push((field.path.clone(), qual.op, qual.value.to_param()));
            }
        }
        let mut url = search.url.clone();
        url.query_pairs_mut().append_pair(&search.param, &clauses.join(&search.join));
        let size_param = self.size_param().cloned();
        let table = RestTable {
            url,
            pagination: Pagination::Cursor {
                cursor_param: search.cursor_param.clone(),
                size_param,
                cursor_path: search.cursor_path.clone(),
                in_body: false,
                next_url: None,
            },
            method: Method::GET,
            body: None,
            filters: Vec::new(),
            terms: None,
            column_terms: Vec::new(),
            search: None,
            item_lookup: false,
            total_path: None,
            total_header: None,
            limit_param: None,
            ..self.clone()
        };
        Some((table, recheck))
    }

    /// With `fields_param`, the parameter and the top-level members the scan's columns read (echoed columns
    /// are not members; the key column stands in when no column is read). `None` when a column reads the
    /// whole record or a path that does not start with a member.
    pub(super) fn fields(&self, request: &ScanRequest) -> Option<(String, String)> {
        let param = self.fields_param.as_ref()?;
        let mut members: Vec<&str> = Vec::new();
        for &i in &request.columns {
            let name = self.column_names.get(i)?;
            if self.echoes.iter().any(|(c, _)| c == name) {
                continue;
            }
            // An expanded column reads its member's object.
            let member = match self.expansions.iter().find(|(at, _)| *at == i) {
                Some((_, member)) => member.as_str(),
                None => self.column_paths.get(i)?.first_key()?,
            };
            if !members.contains(&member) {
                members.push(member);
            }
        }
        if members.is_empty() {
            members.push(&self.writes.key_column);
        }
        Some((param.clone(), members.join(",")))
    }

    /// With `item_lookup`, the record's URL when the scan's only condition is `key_column = value`.
    pub(super) fn lookup_url(&self, request: &ScanRequest) -> Option<Url> {
        let [qual] = request.quals.as_slice() else { return None };
        if !self.item_lookup
            || qual.op != Op::Eq
            || qual.column != self.writes.key_column
            || matches!(qual.value, SqlValue::List(_))
        {
            return None;
        }
        RestWriter { table: self.clone() }.item(&qual.value).ok()
    }

    pub(super) fn size_param(&self) -> Option<&String> {
        match &self.pagination {
            Pagination::None => self.limit_param.as_ref(),
            Pagination::Page { size_param, .. }
            | Pagination::Cursor { size_param, .. }
            | Pagination::Link { size_param, .. } => size_param.as_ref(),
            Pagination::Offset { limit_param, .. } => limit_param.as_ref(),
        }
    }
}
