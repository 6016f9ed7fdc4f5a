//! json-server style filters and sorting, with PostgreSQL semantics where they
//! differ (NULL never matches a comparison; NULLS LAST ascending, C collation),
//! so a pushed-down query returns exactly what Postgres would compute locally.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::dataset::{is_field, Dataset, Row, Store, Val};

#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// `field=a&field=b`: IN (a, b).
    In(Vec<String>),
    Ne(String),
    Gt(String),
    Gte(String),
    Lt(String),
    Lte(String),
    /// `field_null=true` is IS NULL, `false` IS NOT NULL.
    Null(bool),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    field: String,
    op: Op,
}

#[derive(Debug, Clone, PartialEq)]
struct SortKey {
    field: String,
    desc: bool,
}

/// Filters and sort order parsed from the query parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    filters: Vec<Filter>,
    sort: Vec<SortKey>,
}

pub fn unknown(name: &str) -> String {
    format!("unknown parameter '{name}'")
}

impl Query {
    /// Parses everything that is not a paging parameter; anything that is
    /// neither `_sort`/`_order` nor a filter on a known field is an error.
    pub fn parse(params: &[(String, String)]) -> Result<Query, String> {
        let mut q = Query::default();
        let (mut sort, mut order) = (None, None);
        for (name, value) in params {
            match name.as_str() {
                "_sort" => sort = Some(value.as_str()),
                "_order" => order = Some(value.as_str()),
                _ => q.add_filter(name, value)?,
            }
        }
        if let Some(sort) = sort {
            q.sort = parse_sort(sort, order.unwrap_or("asc"))?;
        } else if order.is_some() {
            return Err("'_order' requires '_sort'".into());
        }
        Ok(q)
    }

    fn add_filter(&mut self, name: &str, value: &str) -> Result<(), String> {
        if is_field(name) {
            let existing = self.filters.iter_mut().find(|f| f.field == name);
            match existing.map(|f| &mut f.op) {
                Some(Op::In(values)) => values.push(value.to_string()),
                _ => self.filters.push(Filter { field: name.to_string(), op: Op::In(vec![value.to_string()]) }),
            }
            return Ok(());
        }
        let (field, suffix) = name.rsplit_once('_').ok_or_else(|| unknown(name))?;
        // `_gt` etc. attach to a field name that may itself contain '_'.
        if !is_field(field) {
            return Err(unknown(name));
        }
        let v = value.to_string();
        let op = match suffix {
            "ne" => Op::Ne(v),
            "gt" => Op::Gt(v),
            "gte" => Op::Gte(v),
            "lt" => Op::Lt(v),
            "lte" => Op::Lte(v),
            "null" => match value {
                "true" => Op::Null(true),
                "false" => Op::Null(false),
                _ => return Err(format!("'{name}' must be true or false")),
            },
            _ => return Err(unknown(name)),
        };
        self.filters.push(Filter { field: field.to_string(), op });
        Ok(())
    }

    pub fn matches(&self, row: &Row) -> bool {
        self.filters.iter().all(|f| {
            let v = row.get(&f.field);
            if let Op::Null(is_null) = f.op {
                return (v == Val::Null) == is_null;
            }
            if v == Val::Null {
                return false;
            }
            match &f.op {
                Op::In(values) => values.iter().any(|x| equals(&v, x)),
                Op::Ne(x) => !equals(&v, x),
                Op::Gt(x) => compare(&v, x).is_gt(),
                Op::Gte(x) => compare(&v, x).is_ge(),
                Op::Lt(x) => compare(&v, x).is_lt(),
                Op::Lte(x) => compare(&v, x).is_le(),
                Op::Null(_) => unreachable!(),
            }
        })
    }

    /// Sorted by the first key `id` (unique), i.e. natural order or its reverse.
    fn id_order(&self) -> Option<bool> {
        match self.sort.first() {
            None => Some(false),
            Some(k) if k.field == "id" => Some(k.desc),
            Some(_) => None,
        }
    }

    fn cmp_rows(&self, a: &(Vec<Val>, u64), b: &(Vec<Val>, u64)) -> Ordering {
        for (k, (x, y)) in self.sort.iter().zip(a.0.iter().zip(&b.0)) {
            let o = cmp_vals(x, y);
            let o = if k.desc { o.reverse() } else { o };
            if o.is_ne() {
                return o;
            }
        }
        a.1.cmp(&b.1)
    }

    /// The records this query selects, in order.
    pub fn select(&self, ds: &Dataset, store: &Store) -> Selection {
        if self.filters.is_empty() && ds.is_dense() {
            if let Some(desc) = self.id_order() {
                // No scan: positions map straight to ids.
                return Selection::Dense { total: ds.len(), desc };
            }
        }
        let key = format!("{}/{}/{:?}", ds.n, ds.version(), self);
        Selection::Ids(store.selection(key, || self.scan(ds)))
    }

    fn scan(&self, ds: &Dataset) -> Vec<u64> {
        let rows = ds.ids().filter_map(|id| ds.get(id)).filter(|r| self.matches(r));
        if self.sort.is_empty() {
            return rows.map(|r| id_of(&r)).collect();
        }
        let mut keyed: Vec<(Vec<Val>, u64)> =
            rows.map(|r| (self.sort.iter().map(|k| r.get(&k.field)).collect(), id_of(&r))).collect();
        keyed.sort_by(|a, b| self.cmp_rows(a, b));
        keyed.into_iter().map(|(_, id)| id).collect()
    }
}

fn id_of(row: &Row) -> u64 {
    match row.get("id") {
        Val::Num(n) => n as u64,
        _ => 0,
    }
}

fn parse_sort(sort: &str, order: &str) -> Result<Vec<SortKey>, String> {
    let fields: Vec<&str> = sort.split(',').collect();
    let orders: Vec<&str> = order.split(',').collect();
    if orders.len() > fields.len() {
        return Err("more '_order' values than '_sort' fields".into());
    }
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if !is_field(f) {
                return Err(format!("unknown sort field '{f}'"));
            }
            // One order value applies to all fields; otherwise missing ones are asc.
            let o = match orders.len() {
                1 => orders[0],
                _ => orders.get(i).copied().unwrap_or("asc"),
            };
            let desc = match o.to_ascii_lowercase().as_str() {
                "asc" => false,
                "desc" => true,
                _ => return Err(format!("invalid '_order' value '{o}'")),
            };
            Ok(SortKey { field: f.to_string(), desc })
        })
        .collect()
}

fn num(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn val_num(v: &Val) -> Option<f64> {
    match v {
        Val::Num(n) => Some(*n),
        Val::Str(s) => num(s),
        _ => None,
    }
}

/// Equality on the string form, or numerically (`amount=12.5` matches 12.50).
fn equals(v: &Val, x: &str) -> bool {
    v.text() == x || matches!((val_num(v), num(x)), (Some(a), Some(b)) if a == b)
}

/// Numbers numerically when both sides are numbers, otherwise bytewise.
fn compare(v: &Val, x: &str) -> Ordering {
    match (val_num(v), num(x)) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        _ => v.text().as_bytes().cmp(x.as_bytes()),
    }
}

/// Ascending order with NULLs last, like PostgreSQL's default.
fn cmp_vals(a: &Val, b: &Val) -> Ordering {
    fn rank(v: &Val) -> u8 {
        match v {
            Val::Bool(_) => 0,
            Val::Num(_) => 1,
            Val::Str(_) => 2,
            Val::Json(_) => 3,
            Val::Null => 4,
        }
    }
    match (a, b) {
        (Val::Bool(x), Val::Bool(y)) => x.cmp(y),
        (Val::Num(x), Val::Num(y)) => x.total_cmp(y),
        (Val::Str(x), Val::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Val::Json(x), Val::Json(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// The ordered result of a query, sliceable by position.
pub enum Selection {
    /// Unfiltered, in id order (or reversed): computed per position.
    Dense { total: u64, desc: bool },
    /// Materialised (and cached) ids of a filtered and/or sorted query.
    Ids(Arc<Vec<u64>>),
}

impl Selection {
    pub fn total(&self) -> u64 {
        match self {
            Selection::Dense { total, .. } => *total,
            Selection::Ids(ids) => ids.len() as u64,
        }
    }

    /// Ids at positions `offset..offset + limit` (fewer at the end).
    pub fn slice(&self, ds: &Dataset, offset: u64, limit: u64) -> Vec<u64> {
        let end = self.total().min(offset.saturating_add(limit));
        match self {
            Selection::Dense { total, desc } => {
                (offset..end).filter_map(|pos| ds.id_at(if *desc { total - 1 - pos } else { pos })).collect()
            }
            Selection::Ids(ids) => ids.get(offset as usize..end as usize).map(<[u64]>::to_vec).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(params: &[(&str, &str)]) -> Result<Query, String> {
        let owned: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Query::parse(&owned)
    }

    #[test]
    fn parses_suffixes_on_underscored_fields() {
        let query = q(&[("created_at_gte", "2024"), ("signup_date", "x"), ("note_null", "true")]).unwrap();
        assert_eq!(query.filters[0].field, "created_at");
        assert_eq!(query.filters[0].op, Op::Gte("2024".into()));
        assert_eq!(query.filters[1].op, Op::In(vec!["x".into()]));
        assert_eq!(query.filters[2].op, Op::Null(true));
        assert_eq!(q(&[("bogus", "1")]).unwrap_err(), "unknown parameter 'bogus'");
        assert_eq!(q(&[("bogus_gt", "1")]).unwrap_err(), "unknown parameter 'bogus_gt'");
        assert_eq!(q(&[("id_like", "1")]).unwrap_err(), "unknown parameter 'id_like'");
        assert!(q(&[("_sort", "nope")]).is_err());
    }

    #[test]
    fn null_sorts_last_ascending_and_first_descending() {
        let n = Val::Null;
        let s = Val::Str("a".into());
        assert_eq!(cmp_vals(&s, &n), Ordering::Less);
        assert_eq!(cmp_vals(&Val::Num(2.0), &Val::Num(10.0)), Ordering::Less);
        assert_eq!(cmp_vals(&Val::Str("B".into()), &Val::Str("a".into())), Ordering::Less);
    }

    #[test]
    fn compares_numbers_numerically_and_strings_bytewise() {
        assert!(equals(&Val::Num(12.5), "12.50"));
        assert!(compare(&Val::Num(9.0), "10").is_lt());
        assert!(compare(&Val::Str("9".into()), "10").is_lt());
        assert!(compare(&Val::Str("2024-01-02T00:00:00Z".into()), "2024-01-10").is_lt());
    }
}
