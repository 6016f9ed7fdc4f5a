//! JSONPath (RFC 9535) for `rows` and column `path` options.
//!
//! Every path is parsed by jsonpath-rust, so syntax errors read the same everywhere. The common shapes —
//! `$`, `$.a.b`, `$['a'][0]`, `$.data[*]` — are then compiled to direct lookups: they run once per cell on
//! the scan's hot path, where a general evaluator would cost more than the rest of the row.

use jsonpath_rust::parser::model::{JpQuery, Segment, Selector};
use serde_json::Value;
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(i64),
}

#[derive(Clone, Debug)]
enum Kind {
    /// Plain member/index steps; `wildcard` when the path ends in `[*]`.
    Steps {
        steps: Vec<Step>,
        wildcard: bool,
    },
    General(JpQuery),
}

#[derive(Clone, Debug)]
pub struct JsonPath {
    text: String,
    kind: Kind,
}

impl PartialEq for JsonPath {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl JsonPath {
    /// Parse a JSONPath; the error text explains what is wrong (the caller names the option).
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let trimmed = text.trim();
        if !trimmed.starts_with('$') {
            return Err(format!(
                "JSONPath \"{text}\" must start with \"$\" (e.g. \"$.data[*]\" or \"$.address.city\")"
            ));
        }
        let query = jsonpath_rust::parser::parse_json_path(trimmed)
            .map_err(|e| format!("JSONPath \"{text}\" does not parse: {}", one_line(&e.to_string())))?;
        Ok(JsonPath { text: trimmed.to_string(), kind: compile(query) })
    }

    /// The path of a top-level member: the default when a column has no `path` option.
    pub fn key(name: &str) -> JsonPath {
        JsonPath {
            text: format!("$['{}']", name.replace('\\', "\\\\").replace('\'', "\\'")),
            kind: Kind::Steps { steps: vec![Step::Key(name.to_string())], wildcard: false },
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `$`: the whole record.
    pub fn is_root(&self) -> bool {
        matches!(&self.kind, Kind::Steps { steps, wildcard: false } if steps.is_empty())
    }

    /// The top-level member a simple path starts with, if it is one: lets the projector move values out
    /// of a record instead of cloning them when no other column needs that member.
    pub fn first_key(&self) -> Option<&str> {
        match &self.kind {
            Kind::Steps { steps, .. } => match steps.first() {
                Some(Step::Key(k)) => Some(k),
                _ => None,
            },
            Kind::General(_) => None,
        }
    }

    /// The member names of a path made of member steps only (a trailing `[*]` allowed); `None` for
    /// anything else. `$` is `Some([])`.
    pub fn plain_keys(&self) -> Option<Vec<String>> {
        match &self.kind {
            Kind::Steps { steps, .. } => steps
                .iter()
                .map(|s| match s {
                    Step::Key(k) => Some(k.clone()),
                    Step::Index(_) => None,
                })
                .collect(),
            Kind::General(_) => None,
        }
    }

    /// The member names the path starts with, up to its first step of another kind (`$.data.x.edges[*].node`
    /// → data, x, edges).
    pub fn leading_keys(&self) -> Vec<String> {
        match &self.kind {
            Kind::Steps { steps, .. } => steps
                .iter()
                .map_while(|s| match s {
                    Step::Key(k) => Some(k.clone()),
                    Step::Index(_) => None,
                })
                .collect(),
            Kind::General(query) => query
                .segments
                .iter()
                .map_while(|s| match s {
                    Segment::Selector(Selector::Name(name)) => Some(name.clone()),
                    _ => None,
                })
                .collect(),
        }
    }

    /// The path of nested members (`$['data']['x']`).
    pub fn keys(names: &[String]) -> JsonPath {
        let text: String =
            names.iter().map(|n| format!("['{}']", n.replace('\\', "\\\\").replace('\'', "\\'"))).collect();
        JsonPath {
            text: format!("${text}"),
            kind: Kind::Steps { steps: names.iter().map(|n| Step::Key(n.clone())).collect(), wildcard: false },
        }
    }

    /// Whether the path is one top-level member and nothing else.
    pub fn is_single_key(&self) -> bool {
        matches!(&self.kind, Kind::Steps { steps, wildcard: false } if steps.len() == 1 && matches!(steps[0], Step::Key(_)))
    }

    /// The first value at this path, if any.
    pub fn get<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        match &self.kind {
            Kind::Steps { steps, wildcard: false } => walk(value, steps),
            _ => self.select(value).into_iter().next(),
        }
    }

    /// Like `get`, but moves the value out of `value` (leaving `null`) for a single-member path.
    pub fn take(&self, value: &mut Value) -> Option<Value> {
        if self.is_single_key() {
            if let (Kind::Steps { steps, .. }, Value::Object(map)) = (&self.kind, value) {
                if let Step::Key(k) = &steps[0] {
                    return map.get_mut(k.as_str()).map(Value::take);
                }
            }
            return None;
        }
        self.get(value).cloned()
    }

    /// Every value the path selects.
    pub fn select<'a>(&self, value: &'a Value) -> Vec<&'a Value> {
        match &self.kind {
            Kind::Steps { steps, wildcard } => match walk(value, steps) {
                None => Vec::new(),
                Some(v) if *wildcard => children(v),
                Some(v) => vec![v],
            },
            Kind::General(query) => jsonpath_rust::query::js_path_process(query, value)
                .map(|refs| refs.into_iter().map(|r| r.val).collect())
                .unwrap_or_default(),
        }
    }

    /// The records a `rows` path selects from a response body, moved out of it. A path that selects a
    /// single array (`$.data` as well as `$.data[*]`) yields the array's elements. `None` when a plain path
    /// leads nowhere or to a single scalar (the body is not shaped as the table says); `null` there means no
    /// records.
    pub fn select_rows(&self, mut body: Value) -> Option<Vec<Value>> {
        let selected = match &self.kind {
            Kind::Steps { steps, wildcard } => match walk_mut(&mut body, steps).map(Value::take)? {
                Value::Null => return Some(Vec::new()),
                v if *wildcard => return Some(into_children(v)),
                v => vec![v],
            },
            Kind::General(_) => self.select(&body).into_iter().cloned().collect(),
        };
        match <[Value; 1]>::try_from(selected) {
            Ok([Value::Array(items)]) => Some(items),
            Ok([record @ Value::Object(_)]) => Some(vec![record]),
            // One number or string is not a record: a path that misses the records, not a row of NULLs.
            Ok([_]) => None,
            Err(many) => Some(many),
        }
    }
}

/// The parser's multi-line report (a caret diagram) as one line: "at position 8: expected selector".
fn one_line(report: &str) -> String {
    let position = report
        .lines()
        .find_map(|l| l.split("--> ").nth(1))
        .and_then(|at| at.rsplit(':').next())
        .map(|column| format!("at position {column}: "));
    let expected = report.lines().find_map(|l| l.trim().strip_prefix("= ")).map(str::trim);
    match (position, expected) {
        (Some(position), Some(expected)) => format!("{position}{expected}"),
        _ => report.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

fn compile(query: JpQuery) -> Kind {
    let mut steps = Vec::new();
    let count = query.segments.len();
    for (i, segment) in query.segments.iter().enumerate() {
        match segment {
            Segment::Selector(Selector::Name(name)) => steps.push(Step::Key(name.clone())),
            Segment::Selector(Selector::Index(index)) => steps.push(Step::Index(*index)),
            Segment::Selector(Selector::Wildcard) if i + 1 == count => {
                return Kind::Steps { steps, wildcard: true };
            }
            _ => return Kind::General(query),
        }
    }
    Kind::Steps { steps, wildcard: false }
}

fn index_of(len: usize, index: i64) -> Option<usize> {
    let i = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&i).then_some(i as usize)
}

fn walk<'a>(mut value: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    for step in steps {
        value = match (step, value) {
            (Step::Key(k), Value::Object(map)) => map.get(k.as_str())?,
            (Step::Index(i), Value::Array(items)) => &items[index_of(items.len(), *i)?],
            _ => return None,
        };
    }
    Some(value)
}

fn walk_mut<'a>(mut value: &'a mut Value, steps: &[Step]) -> Option<&'a mut Value> {
    for step in steps {
        value = match (step, value) {
            (Step::Key(k), Value::Object(map)) => map.get_mut(k.as_str())?,
            (Step::Index(i), Value::Array(items)) => {
                let at = index_of(items.len(), *i)?;
                &mut items[at]
            }
            _ => return None,
        };
    }
    Some(value)
}

fn children(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(map) => map.values().collect(),
        _ => Vec::new(),
    }
}

fn into_children(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"data": [{"id": 1, "address": {"city": "Berlin"}, "tags": ["a", "b"]}, {"id": 2, "address": null}], "total": 2})
    }

    #[test]
    fn simple_paths_compile_to_steps() {
        for p in ["$", "$.a.b", "$['a b'][0]", "$.data[*]", "$.data[-1]"] {
            assert!(matches!(JsonPath::parse(p).unwrap().kind, Kind::Steps { .. }), "{p}");
        }
        for p in ["$..id", "$.data[?@.id > 1]", "$.data[0:2]", "$.data[*].id"] {
            assert!(matches!(JsonPath::parse(p).unwrap().kind, Kind::General(_)), "{p}");
        }
    }

    #[test]
    fn bad_paths_explain_themselves() {
        assert!(JsonPath::parse("data[*]").unwrap_err().contains("must start with"));
        assert_eq!(
            JsonPath::parse("$.data[").unwrap_err(),
            "JSONPath \"$.data[\" does not parse: at position 8: expected selector"
        );
    }

    #[test]
    fn get_follows_members_and_indexes() {
        let d = doc();
        assert_eq!(JsonPath::parse("$.data[0].address.city").unwrap().get(&d), Some(&json!("Berlin")));
        assert_eq!(JsonPath::parse("$.data[-1].id").unwrap().get(&d), Some(&json!(2)));
        assert_eq!(JsonPath::parse("$.data[1].address.city").unwrap().get(&d), None);
        assert_eq!(JsonPath::parse("$.data[5]").unwrap().get(&d), None);
        assert_eq!(JsonPath::parse("$").unwrap().get(&d), Some(&d));
        assert_eq!(JsonPath::parse("$..city").unwrap().get(&d), Some(&json!("Berlin")));
    }

    #[test]
    fn rows_come_from_wildcards_arrays_and_filters() {
        let rows = |p: &str, body: Value| JsonPath::parse(p).unwrap().select_rows(body);
        assert_eq!(rows("$.data[*]", doc()).unwrap().len(), 2);
        assert_eq!(rows("$.data", doc()).unwrap().len(), 2);
        assert_eq!(rows("$", json!([1, 2, 3])).unwrap().len(), 3);
        assert_eq!(rows("$.data[?@.id > 1]", doc()).unwrap(), vec![json!({"id": 2, "address": null})]);
        assert_eq!(rows("$.missing[*]", doc()), None);
        assert_eq!(rows("$.data[*]", json!({"data": null})), Some(vec![]));
        assert_eq!(rows("$.total", doc()), None, "a scalar is not a record");
        assert_eq!(rows("$.data[0]", doc()).unwrap().len(), 1, "an object is one record");
    }

    #[test]
    fn take_moves_single_members_only() {
        let mut rec = json!({"id": 1, "address": {"city": "Berlin"}});
        assert_eq!(JsonPath::key("id").take(&mut rec), Some(json!(1)));
        assert_eq!(rec["id"], Value::Null);
        assert_eq!(JsonPath::parse("$.address.city").unwrap().take(&mut rec), Some(json!("Berlin")));
        assert_eq!(rec["address"]["city"], json!("Berlin"));
    }

    #[test]
    fn plain_keys_are_member_steps_only() {
        assert_eq!(JsonPath::parse("$.data[*]").unwrap().plain_keys(), Some(vec!["data".to_string()]));
        assert_eq!(JsonPath::parse("$").unwrap().plain_keys(), Some(vec![]));
        assert_eq!(JsonPath::parse("$.data[-1].id").unwrap().plain_keys(), None);
        assert_eq!(JsonPath::parse("$..id").unwrap().plain_keys(), None);
    }

    #[test]
    fn leading_keys_stop_at_the_first_other_step() {
        let keys = |p: &str| JsonPath::parse(p).unwrap().leading_keys();
        assert_eq!(keys("$.data.x.nodes[*]"), ["data", "x", "nodes"]);
        assert_eq!(keys("$.data.x.edges[*].node"), ["data", "x", "edges"]);
        assert_eq!(keys("$['data']['it\\'s']"), ["data", "it's"]);
        assert!(keys("$..nodes").is_empty());
        let path = JsonPath::keys(&["data".into(), "it's".into()]);
        assert_eq!(path.as_str(), "$['data']['it\\'s']");
        assert_eq!(JsonPath::parse(path.as_str()).unwrap().leading_keys(), ["data", "it's"]);
        assert_eq!(path.get(&serde_json::json!({"data": {"it's": 1}})), Some(&serde_json::json!(1)));
    }

    #[test]
    fn key_paths_quote_names() {
        assert_eq!(JsonPath::key("it's").as_str(), "$['it\\'s']");
        assert!(JsonPath::parse(JsonPath::key("it's").as_str()).is_ok());
        assert_eq!(JsonPath::key("x").first_key(), Some("x"));
    }
}
