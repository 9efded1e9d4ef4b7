//! Reading pasted YAML into a small tree, within hard limits.
//!
//! saphyr-parser turns the text into events; this module builds the tree
//! itself so it can stop early: input size, document count, depth, nodes
//! and scalar bytes after alias expansion are all capped (see
//! [`super::error::limits`]), so an alias bomb or a huge document ends in a
//! coded error, never in unbounded memory or a panic. Merge keys (`<<`)
//! are applied as Kubernetes' YAML reader does; duplicate keys are refused.

use super::error::{DiagnoseError, limits};
use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::BTreeMap;

/// A YAML value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Scalar {
        value: String,
        /// Written without quotes: `true`, `1` and `null` are then not strings.
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// Plain scalars Kubernetes' YAML reader (YAML 1.1 rules) resolves to
/// something other than a string.
fn resolves_to_non_string(value: &str) -> bool {
    const WORDS: [&str; 20] = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "True", "False", "Yes",
        "No", "On", "Off", "TRUE", "FALSE", "Null", "NULL",
    ];
    value.is_empty() || WORDS.contains(&value) || value.parse::<f64>().is_ok()
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    /// Follows a path of keys.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }
    /// The scalar's text, whatever type it resolves to.
    pub fn text(&self) -> Option<&str> {
        match self {
            Node::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }
    /// The scalar's text when Kubernetes would read it as a string.
    pub fn string(&self) -> Option<&str> {
        match self {
            Node::Scalar { value, plain } if !*plain || !resolves_to_non_string(value) => {
                Some(value)
            }
            _ => None,
        }
    }
    pub fn entries(&self) -> &[(String, Node)] {
        match self {
            Node::Map(entries) => entries,
            _ => &[],
        }
    }
    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq(items) => items,
            _ => &[],
        }
    }
}

/// A collection being built.
enum Frame {
    Seq {
        items: Vec<Node>,
        anchor: usize,
        start: Cost,
    },
    Map {
        entries: Vec<(String, Node)>,
        merges: Vec<Node>,
        key: Option<(String, bool)>,
        anchor: usize,
        start: Cost,
    },
}

/// Nodes and scalar bytes produced so far (aliases counted in full).
#[derive(Clone, Copy, Default)]
struct Cost {
    nodes: usize,
    bytes: usize,
}

struct Builder {
    stack: Vec<Frame>,
    anchors: BTreeMap<usize, (Node, Cost)>,
    used: Cost,
    docs: Vec<Node>,
    documents_seen: usize,
    line: usize,
}

impl Builder {
    fn charge(&mut self, cost: Cost) -> Result<(), DiagnoseError> {
        self.used.nodes += cost.nodes;
        self.used.bytes += cost.bytes;
        if self.used.nodes > limits::MAX_NODES {
            return Err(DiagnoseError::TooManyNodes {
                max: limits::MAX_NODES,
            });
        }
        if self.used.bytes > limits::MAX_EXPANDED_BYTES {
            return Err(DiagnoseError::TooMuchText {
                max: limits::MAX_EXPANDED_BYTES,
            });
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame) -> Result<(), DiagnoseError> {
        self.charge(Cost { nodes: 1, bytes: 0 })?;
        if self.stack.len() >= limits::MAX_DEPTH {
            return Err(DiagnoseError::TooDeep {
                max: limits::MAX_DEPTH,
                line: self.line,
            });
        }
        self.stack.push(frame);
        Ok(())
    }

    fn cost_since(&self, start: Cost) -> Cost {
        Cost {
            nodes: self.used.nodes - start.nodes,
            bytes: self.used.bytes - start.bytes,
        }
    }

    /// A finished node goes to its parent (or becomes a document).
    fn finish(&mut self, node: Node, anchor: usize, cost: Cost) -> Result<(), DiagnoseError> {
        if anchor != 0 {
            self.anchors.insert(anchor, (node.clone(), cost));
        }
        let line = self.line;
        match self.stack.last_mut() {
            // An empty document is a null scalar: nothing to keep.
            None if matches!(&node, Node::Scalar { value, plain: true } if value.is_empty()) => {}
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                merges,
                key,
                ..
            }) => match key.take() {
                None => match node {
                    Node::Scalar { value, plain } => *key = Some((value, plain)),
                    _ => return Err(DiagnoseError::ComplexKey { line }),
                },
                Some((k, plain)) if plain && k == "<<" => merges.push(node),
                Some((k, _)) => {
                    if entries.iter().any(|(existing, _)| *existing == k) {
                        return Err(DiagnoseError::DuplicateKey { key: k, line });
                    }
                    entries.push((k, node));
                }
            },
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), DiagnoseError> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        match frame {
            Frame::Seq {
                items,
                anchor,
                start,
            } => {
                let cost = self.cost_since(start);
                self.finish(Node::Seq(items), anchor, cost)
            }
            Frame::Map {
                mut entries,
                merges,
                anchor,
                start,
                ..
            } => {
                // Explicit keys win over merged ones; earlier merges win
                // over later ones.
                for source in merges.iter().flat_map(|m| match m {
                    Node::Seq(items) => items.iter().collect::<Vec<_>>(),
                    other => vec![other],
                }) {
                    for (k, v) in source.entries() {
                        if !entries.iter().any(|(e, _)| e == k) {
                            entries.push((k.clone(), v.clone()));
                        }
                    }
                }
                let cost = self.cost_since(start);
                self.finish(Node::Map(entries), anchor, cost)
            }
        }
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), DiagnoseError> {
        match event {
            Event::DocumentStart(_) => {
                self.documents_seen += 1;
                if self.documents_seen > limits::MAX_DOCUMENTS {
                    return Err(DiagnoseError::TooManyDocuments {
                        max: limits::MAX_DOCUMENTS,
                    });
                }
            }
            Event::Scalar(value, style, anchor, _) => {
                let cost = Cost {
                    nodes: 1,
                    bytes: value.len(),
                };
                self.charge(cost)?;
                let node = Node::Scalar {
                    value: value.into_owned(),
                    plain: style == ScalarStyle::Plain,
                };
                self.finish(node, anchor, cost)?;
            }
            Event::Alias(id) => {
                let (node, cost) = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or(DiagnoseError::UnknownAlias { line: self.line })?;
                // Charge before anything more is built from the copy.
                self.charge(cost)?;
                self.finish(node, 0, cost)?;
            }
            Event::SequenceStart(anchor, _) => self.open(Frame::Seq {
                items: Vec::new(),
                anchor,
                start: self.used,
            })?,
            Event::MappingStart(anchor, _) => self.open(Frame::Map {
                entries: Vec::new(),
                merges: Vec::new(),
                key: None,
                anchor,
                start: self.used,
            })?,
            Event::SequenceEnd | Event::MappingEnd => self.close()?,
            Event::DocumentEnd => {
                // Anchors are local to their document.
                self.anchors.clear();
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
        }
        Ok(())
    }
}

fn line_of(span: &Span) -> usize {
    span.start.line()
}

/// Every document of `text`, in order; an empty document is skipped.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, DiagnoseError> {
    if text.len() > limits::MAX_INPUT_BYTES {
        return Err(DiagnoseError::TooLarge {
            field: "manifests",
            len: text.len(),
            max: limits::MAX_INPUT_BYTES,
        });
    }
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: BTreeMap::new(),
        used: Cost::default(),
        docs: Vec::new(),
        documents_seen: 0,
        line: 1,
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| DiagnoseError::YamlSyntax {
            problem: e.info().to_owned(),
            line: e.marker().line(),
        })?;
        builder.line = line_of(&span);
        builder.event(event)?;
    }
    Ok(builder.docs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CoreError;

    #[test]
    fn reads_documents_quoting_and_merges() {
        let docs = parse_documents(
            "a: &base {x: 1, y: \"2\"}\nb:\n  <<: *base\n  x: 3\nc: [true, 'true']\n---\n---\nkind: Pod\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2, "the empty document is skipped");
        let b = docs[0].get("b").unwrap();
        assert_eq!(b.get("x").unwrap().text(), Some("3"));
        assert_eq!(b.get("y").unwrap().string(), Some("2"));
        let c = docs[0].get("c").unwrap().items();
        assert_eq!(c[0].string(), None, "plain true is a boolean");
        assert_eq!(c[1].string(), Some("true"));
        assert_eq!(docs[1].get("kind").unwrap().string(), Some("Pod"));
    }

    #[test]
    fn hostile_input_is_a_coded_error() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert_eq!(
            parse_documents(&bomb).unwrap_err().code(),
            "yaml_too_many_nodes"
        );
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(matches!(
            parse_documents(&deep).unwrap_err().code(),
            "yaml_too_deep" | "yaml_syntax"
        ));
        let block_deep: String = (0..100).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert_eq!(
            parse_documents(&block_deep).unwrap_err().code(),
            "yaml_too_deep"
        );
        let big = "a".repeat(limits::MAX_INPUT_BYTES + 1);
        assert_eq!(parse_documents(&big).unwrap_err().code(), "input_too_large");
        let text_bomb = format!(
            "a: &a \"{}\"\nb: [{}]\n",
            "x".repeat(100_000),
            vec!["*a"; 100].join(", ")
        );
        assert_eq!(
            parse_documents(&text_bomb).unwrap_err().code(),
            "yaml_too_much_text"
        );
        let docs = "---\na: 1\n".repeat(limits::MAX_DOCUMENTS + 1);
        assert_eq!(
            parse_documents(&docs).unwrap_err().code(),
            "yaml_too_many_documents"
        );
        for (text, code) in [
            ("a: *nope\n", "yaml_syntax"),
            ("a: &x 1\n---\nb: *x\n", "yaml_unknown_alias"),
            ("? [a]\n: b\n", "yaml_complex_key"),
            ("a: 1\na: 2\n", "yaml_duplicate_key"),
            ("a: [\n", "yaml_syntax"),
            ("a: b: c\n", "yaml_syntax"),
        ] {
            assert_eq!(parse_documents(text).unwrap_err().code(), code, "{text:?}");
        }
    }
}
