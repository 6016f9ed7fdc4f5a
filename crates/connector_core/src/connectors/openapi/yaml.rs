//! OpenAPI documents written in YAML, read into the same [`Node`]s as JSON ones.
//!
//! The document is built from yaml-rust2's parser events rather than its loader, so that an alias costs what
//! it expands to: a document whose aliases would expand past [`NODE_LIMIT`] nodes (a "billion laughs") or
//! that nests deeper than [`DEPTH_LIMIT`] is refused instead of built. Scalars are read as OpenAPI needs
//! them: `true`/`false` as booleans, null forms as nothing, every other scalar as text (so an unquoted
//! `openapi: 3.1` or a response code `200:` key reads as the text it is written as).

use super::Node;
use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Nodes a document may expand to, aliases counted at their full size.
const NODE_LIMIT: usize = 1_000_000;
/// Sequences and mappings open at once (serde_json's recursion limit is 128 too).
const DEPTH_LIMIT: usize = 128;

/// A sequence or mapping being read.
struct Open {
    node: Node,
    anchor: usize,
    /// Nodes counted before it opened, so that its size is known when it closes.
    counted_before: usize,
    /// A mapping's key, read, waiting for its value.
    key: Option<String>,
}

#[derive(Default)]
struct Builder {
    open: Vec<Open>,
    anchors: HashMap<usize, (Node, usize)>,
    document: Option<Node>,
    counted: usize,
    refused: Option<String>,
}

impl Builder {
    fn count(&mut self, nodes: usize) {
        self.counted = self.counted.saturating_add(nodes);
        if self.counted > NODE_LIMIT {
            self.refused = Some(format!("it expands to more than {NODE_LIMIT} nodes (through its aliases)"));
        }
    }

    /// A complete node: kept under its anchor, then placed in what is open (or as the document).
    fn place(&mut self, node: Node, anchor: usize, size: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), size));
        }
        let Some(parent) = self.open.last_mut() else {
            // Only the first document of a stream is read.
            self.document.get_or_insert(node);
            return;
        };
        match &mut parent.node {
            Node::Seq(items) => items.push(node),
            Node::Map(entries) => match parent.key.take() {
                Some(key) => entries.push((key, node)),
                None => self.refused = Some("it has a mapping key that is not a scalar".into()),
            },
            _ => unreachable!("only sequences and mappings are open"),
        }
    }

    fn start(&mut self, node: Node, anchor: usize) {
        if self.open.len() >= DEPTH_LIMIT {
            self.refused = Some(format!("it nests deeper than {DEPTH_LIMIT} levels"));
            return;
        }
        self.count(1);
        self.open.push(Open { node, anchor, counted_before: self.counted - 1, key: None });
    }

    fn end(&mut self) {
        if let Some(open) = self.open.pop() {
            let size = self.counted - open.counted_before;
            self.place(open.node, open.anchor, size);
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, _: Marker) {
        if self.refused.is_some() {
            return;
        }
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                // A scalar where a mapping waits for a key is the key, as written.
                if let Some(open @ Open { node: Node::Map(_), key: None, .. }) = self.open.last_mut() {
                    open.key = Some(text);
                    return;
                }
                self.count(1);
                let plain = style == TScalarStyle::Plain && tag.is_none();
                let node = match text.as_str() {
                    "" | "~" | "null" | "Null" | "NULL" if plain => Node::Other,
                    "true" | "True" | "TRUE" if plain => Node::Bool(true),
                    "false" | "False" | "FALSE" if plain => Node::Bool(false),
                    _ => Node::Str(text),
                };
                self.place(node, anchor, 1);
            }
            Event::SequenceStart(anchor, _) => self.start(Node::Seq(Vec::new()), anchor),
            Event::MappingStart(anchor, _) => self.start(Node::Map(Vec::new()), anchor),
            Event::SequenceEnd | Event::MappingEnd => self.end(),
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some((node, size)) => {
                    self.count(size);
                    if self.refused.is_none() {
                        self.place(node, 0, size);
                    }
                }
                None => self.refused = Some("it has an alias to no anchor".into()),
            },
            _ => {}
        }
    }
}

/// The first document of a YAML text; the error says what is wrong and where.
pub fn parse(text: &str) -> Result<Node, String> {
    let mut builder = Builder::default();
    let parsed = Parser::new_from_str(text).load(&mut builder, false);
    // What the builder refused is said first: the parser may stumble later on a document refused already.
    if let Some(why) = builder.refused {
        return Err(why);
    }
    parsed.map_err(|e| e.to_string())?;
    builder.document.ok_or_else(|| "it holds no document".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn str(s: &str) -> Node {
        Node::Str(s.into())
    }

    #[test]
    fn scalars_read_as_openapi_needs_them() {
        let doc = parse("openapi: 3.1\nresponses:\n  200: {description: ok}\nflags: [true, 'true', ~, 12]\n").unwrap();
        let Node::Map(entries) = doc else { panic!("{doc:?}") };
        assert_eq!(entries[0], ("openapi".into(), str("3.1")));
        assert_eq!(entries[1].1, Node::Map(vec![("200".into(), Node::Map(vec![("description".into(), str("ok"))]))]));
        assert_eq!(entries[2].1, Node::Seq(vec![Node::Bool(true), str("true"), Node::Other, str("12")]));
    }

    #[test]
    fn aliases_are_expanded_within_a_budget() {
        let doc = parse("a: &x {type: string}\nb: *x\n").unwrap();
        let Node::Map(entries) = doc else { panic!() };
        assert_eq!(entries[0].1, entries[1].1);
        // Nine levels of ten aliases each: 10^9 nodes if expanded.
        let mut bomb = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let refs = vec![format!("*l{}", level - 1); 10].join(", ");
            bomb.push_str(&format!("l{level}: &l{level} [{refs}]\n"));
        }
        assert_eq!(parse(&bomb).unwrap_err(), "it expands to more than 1000000 nodes (through its aliases)");
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(parse(&deep).unwrap_err(), "it nests deeper than 128 levels");
        assert_eq!(
            parse("a: *nope\n").unwrap_err().split(" at ").next(),
            Some("while parsing node, found unknown anchor")
        );
        assert!(parse("a: [1, 2\n").unwrap_err().contains("line"));
    }
}
