//! Selective parsing of response bodies: only what a scan reads becomes a `serde_json::Value`.
//!
//! A page of 100 records with a dozen members each is thousands of allocations when parsed whole, most of
//! them for members no column reads. A [`Shape`] says what is read: the records at the `rows` path (cut
//! down to the members the query's columns start with) and a few paths kept whole (cursor, total,
//! has_more). The body is walked as raw JSON slices and only those parts are materialized, into a `Value`
//! with the same layout as the full body, so JSONPaths evaluate on it exactly as on the original.

use crate::jsonpath::JsonPath;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
enum Node {
    /// Keep the whole value.
    Whole,
    /// An object of which only these members are kept.
    Members(BTreeMap<String, Node>),
    /// Records: an array of them (each pruned by the inner node), or one record.
    Records(Box<Node>),
}

/// What a scan reads of each response body.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    root: Node,
}

impl Shape {
    /// `rows`: the table's rows path (`None`: the body is the records). `kept`: paths read whole (paging).
    /// `record_paths`: the paths of the columns the query reads, inside a record.
    pub fn new<'a>(
        rows: Option<&JsonPath>,
        kept: impl IntoIterator<Item = &'a JsonPath>,
        record_paths: impl IntoIterator<Item = &'a JsonPath>,
    ) -> Shape {
        let mut record = Node::Members(BTreeMap::new());
        for path in record_paths {
            match path.plain_keys() {
                Some(keys) if !keys.is_empty() => merge(&mut record, &keys[..1], Node::Whole),
                _ => record = Node::Whole,
            }
        }
        let mut root = Node::Members(BTreeMap::new());
        match rows.map(JsonPath::plain_keys) {
            None => root = Node::Records(Box::new(record)),
            Some(Some(keys)) if keys.is_empty() => root = Node::Records(Box::new(record)),
            Some(Some(keys)) => merge(&mut root, &keys, Node::Records(Box::new(record))),
            Some(None) => root = Node::Whole,
        }
        for path in kept {
            match path.plain_keys() {
                Some(keys) if !keys.is_empty() => merge(&mut root, &keys, Node::Whole),
                _ => root = Node::Whole,
            }
        }
        Shape { root }
    }

    /// Whether pruning keeps everything (then a plain parse is as good).
    pub fn is_whole(&self) -> bool {
        self.root == Node::Whole
    }

    /// Parse `body`, keeping what the shape reads.
    pub fn parse(&self, body: &[u8]) -> serde_json::Result<Value> {
        if self.is_whole() {
            return serde_json::from_slice(body);
        }
        let raw: &RawValue = serde_json::from_slice(body)?;
        prune(raw, &self.root)
    }
}

/// Add `leaf` at `keys` below `node`. Where paths meet a node that already keeps more, the larger need wins.
fn merge(node: &mut Node, keys: &[String], leaf: Node) {
    let Some((first, rest)) = keys.split_first() else {
        *node = match (std::mem::replace(node, Node::Whole), leaf) {
            (Node::Members(m), Node::Members(_)) if m.is_empty() => Node::Whole,
            (Node::Members(_), leaf) => leaf,
            _ => Node::Whole,
        };
        return;
    };
    match node {
        Node::Whole => {}
        Node::Records(_) => *node = Node::Whole,
        Node::Members(members) => {
            let child = members.entry(first.clone()).or_insert_with(|| Node::Members(BTreeMap::new()));
            if rest.is_empty() {
                *child = match (std::mem::replace(child, Node::Whole), leaf) {
                    (Node::Members(m), leaf) if m.is_empty() => leaf,
                    _ => Node::Whole,
                };
            } else {
                merge(child, rest, leaf);
            }
        }
    }
}

fn first_byte(raw: &RawValue) -> u8 {
    raw.get().bytes().find(|b| !b.is_ascii_whitespace()).unwrap_or(b'n')
}

fn prune(raw: &RawValue, node: &Node) -> serde_json::Result<Value> {
    match node {
        Node::Whole => serde_json::from_str(raw.get()),
        Node::Members(wanted) => {
            if first_byte(raw) != b'{' {
                // Not the object the paths expect: whatever it is, the paths find nothing in a scalar and
                // select nothing from an array member by name, so keep it as is for the error messages.
                return serde_json::from_str(raw.get());
            }
            let Entries(entries) = serde_json::from_str(raw.get())?;
            let mut kept = Map::new();
            for (key, value) in entries {
                if let Some(child) = wanted.get(key.as_ref()) {
                    kept.insert(key.into_owned(), prune(value, child)?);
                }
            }
            Ok(Value::Object(kept))
        }
        Node::Records(record) => match first_byte(raw) {
            b'[' => {
                let items: Vec<&RawValue> = serde_json::from_str(raw.get())?;
                items.into_iter().map(|item| prune(item, record)).collect::<serde_json::Result<_>>().map(Value::Array)
            }
            b'{' => prune(raw, record),
            _ => serde_json::from_str(raw.get()),
        },
    }
}

/// An object's members as borrowed slices (keys borrowed unless they contain escapes).
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((Key(key), value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    entries.push((key, value));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> JsonPath {
        JsonPath::parse(p).unwrap()
    }

    fn body() -> Vec<u8> {
        br#"{"data": [{"id": 1, "name": "A\"b", "address": {"city": "Oslo"}, "tags": ["x"], "amount": 12345678901234567890.5},
                     {"id": 2, "name": "C", "address": null}],
             "total": 2, "next": {"cursor": "c2"}, "noise": [1, 2, 3]}"#
            .to_vec()
    }

    #[test]
    fn only_what_is_read_is_kept() {
        let shape = Shape::new(
            Some(&path("$.data[*]")),
            [&path("$.total"), &path("$.next.cursor")],
            [&JsonPath::key("id"), &path("$.address.city")],
        );
        let pruned = shape.parse(&body()).unwrap();
        assert_eq!(
            pruned,
            json!({"data": [{"id": 1, "address": {"city": "Oslo"}}, {"id": 2, "address": null}], "total": 2, "next": {"cursor": "c2"}})
        );
    }

    #[test]
    fn paths_evaluate_the_same_on_the_pruned_body() {
        let shape =
            Shape::new(Some(&path("$.data")), [&path("$.total")], [&JsonPath::key("amount"), &JsonPath::key("name")]);
        let full: Value = serde_json::from_slice(&body()).unwrap();
        let pruned = shape.parse(&body()).unwrap();
        assert_eq!(path("$.total").get(&pruned), path("$.total").get(&full));
        let rows = path("$.data").select_rows(pruned).unwrap();
        assert_eq!(rows[0]["name"], json!("A\"b"));
        // Exact number text survives.
        assert_eq!(rows[0]["amount"].to_string(), "12345678901234567890.5");
    }

    #[test]
    fn whole_records_and_general_paths_keep_everything_needed() {
        let shape = Shape::new(Some(&path("$.data[*]")), [], [&path("$")]);
        let rows = path("$.data[*]").select_rows(shape.parse(&body()).unwrap()).unwrap();
        assert_eq!(rows[0]["tags"], json!(["x"]));
        let shape = Shape::new(Some(&path("$..data")), [], [&JsonPath::key("id")]);
        assert!(shape.is_whole());
    }

    #[test]
    fn queries_reading_no_column_keep_empty_records() {
        let shape = Shape::new(Some(&path("$.data[*]")), [], []);
        assert_eq!(shape.parse(&body()).unwrap(), json!({"data": [{}, {}]}));
    }

    #[test]
    fn bodies_that_are_the_records() {
        let shape = Shape::new(None, [], [&JsonPath::key("id")]);
        assert_eq!(shape.parse(br#"[{"id": 1, "x": 2}]"#).unwrap(), json!([{"id": 1}]));
        assert_eq!(shape.parse(br#"{"id": 1, "x": 2}"#).unwrap(), json!({"id": 1}));
    }

    #[test]
    fn unexpected_shapes_are_kept_for_the_error_and_bad_json_fails() {
        let shape = Shape::new(Some(&path("$.data[*]")), [], [&JsonPath::key("id")]);
        assert_eq!(shape.parse(b"[1, 2]").unwrap(), json!([1, 2]));
        assert!(shape.parse(br#"{"data": [{"id": 1}"#).is_err());
        assert!(shape.parse(b"<html>").is_err());
    }

    #[test]
    fn overlapping_paths_keep_the_larger_need() {
        // The cursor is read from inside the records: the records keep that member too.
        let shape = Shape::new(Some(&path("$.data")), [&path("$.data")], [&JsonPath::key("id")]);
        assert!(matches!(shape.root, Node::Members(ref m) if m["data"] == Node::Whole));
    }
}
