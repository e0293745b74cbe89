//! YAML into the value model: one document, read the way PyYAML 6's
//! `safe_load` reads it.
//!
//! yaml-rust2's event parser does the scanning; everything that gives a YAML
//! node its meaning is here and in [`super::resolve`]: plain-scalar
//! resolution (YAML 1.1 rules), the standard tags, merge keys (`<<`, as
//! PyYAML's `flatten_mapping`), aliases, and non-string keys. The one idea to
//! keep in mind: the value built here must be the value the Python
//! orchestrator sees, or the input is refused with the pointer of the value.
//!
//! Aliases share nodes while the document is read (`Rc`), and every node
//! knows how many nodes it expands to, so an alias bomb is refused before any
//! expansion happens ([`MAX_NODES`]).

use super::resolve::{self, Plain};
use super::{
    ecmascript_number, Document, Error, Integer, KeyMarks, Mark, Pointer, Value, MAX_DEPTH,
    MAX_NODES,
};
use std::collections::HashMap;
use std::rc::Rc;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

/// Load one YAML document. No document (an empty file, only comments) is
/// null, as `yaml.safe_load("")` is None. A leading UTF-8 BOM is ignored.
/// [`Document::key_marks`] stays empty: see [`load_with_marks`].
pub fn load(bytes: &[u8], origin: &str) -> Result<Document, Error> {
    load_as(bytes, origin, KeyMarks::Skip)
}

/// [`load`], and also record where each mapping key starts, for messages
/// that point into the file. It costs a JSON Pointer per key, so only
/// readers that report such messages (rk.yaml) ask for it.
pub fn load_with_marks(bytes: &[u8], origin: &str) -> Result<Document, Error> {
    load_as(bytes, origin, KeyMarks::Record)
}

pub(super) fn load_as(bytes: &[u8], origin: &str, marks: KeyMarks) -> Result<Document, Error> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = super::utf8(bytes, origin)?;
    Loader {
        origin,
        frames: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        marks,
        key_marks: Vec::new(),
        legacy_unverifiable: None,
        timestamps: Vec::new(),
    }
    .run(text)
}

const YAML_TAG: &str = "tag:yaml.org,2002:";

/// A node as read, before aliases are expanded.
#[derive(Clone)]
enum Node {
    Scalar(Value),
    /// A plain `<<`: a merge key.
    Merge,
    Seq(Vec<Child>),
    Map(Vec<(Key, Child)>),
}

#[derive(Clone)]
struct NodeData {
    node: Node,
    /// How many nodes this expands to (saturating).
    size: u64,
    /// How many levels of arrays and objects it holds (a scalar is 0).
    height: usize,
    /// How many of its nodes come from expanding aliases (and merges of
    /// aliases): what an alias bomb inflates. Plain nodes never count.
    expanded: u64,
}

/// A node in its parent: its own, or shared with its anchor and aliases.
/// Only anchored nodes are shared, so the rest move into the value.
#[derive(Clone)]
enum Child {
    Own(NodeData),
    Shared(Rc<NodeData>),
    /// An alias: the anchored node again, counted as expansion.
    Alias(Rc<NodeData>),
}

impl Child {
    fn node(&self) -> &NodeData {
        match self {
            Child::Own(node) => node,
            Child::Shared(node) | Child::Alias(node) => node,
        }
    }

    /// The node itself, copied only when it is still shared.
    fn into_node(self) -> NodeData {
        match self {
            Child::Own(node) => node,
            Child::Shared(node) | Child::Alias(node) => Rc::unwrap_or_clone(node),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Child::Own(node) => node.into_value(),
            Child::Shared(node) | Child::Alias(node) => match Rc::try_unwrap(node) {
                Ok(node) => node.into_value(),
                Err(shared) => shared.to_value(),
            },
        }
    }
}

impl NodeData {
    fn scalar(value: Value) -> NodeData {
        NodeData {
            node: Node::Scalar(value),
            size: 1,
            height: 0,
            expanded: 0,
        }
    }

    fn into_value(self) -> Value {
        match self.node {
            Node::Scalar(v) => v,
            Node::Merge => Value::String("<<".into()),
            Node::Seq(items) => Value::Array(items.into_iter().map(Child::into_value).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.text, v.into_value()))
                    .collect(),
            ),
        }
    }

    fn to_value(&self) -> Value {
        match &self.node {
            Node::Scalar(v) => v.clone(),
            Node::Merge => Value::String("<<".into()),
            Node::Seq(items) => Value::Array(items.iter().map(|i| i.node().to_value()).collect()),
            Node::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.text.clone(), v.node().to_value()))
                    .collect(),
            ),
        }
    }
}

/// A mapping key: its text in the value model, what PyYAML compares it as
/// (`1`, `1.0` and `true` are one key to a Python dict), and where it is.
#[derive(Clone)]
struct Key {
    text: String,
    /// The number Python compares a key that is not a string in YAML as
    /// (`n1` for `1`, `1.0` and `true`); a string key is its text to Python.
    number: Option<String>,
    at: Mark,
}

/// The entries of a mapping, and what finds a key among them: a scan while
/// the mapping is small (most mappings of a config), a hash index once it
/// has [`INDEXED_FROM`] entries, so a huge mapping stays linear.
#[derive(Default)]
struct Entries {
    list: Vec<(Key, Child)>,
    by_text: Option<HashMap<String, usize>>,
    /// Keys that are not strings in YAML, by [`Key::number`].
    by_number: HashMap<String, usize>,
}

const INDEXED_FROM: usize = 16;

enum Slot {
    New,
    /// The same key as the entry at this index.
    Same(usize),
    /// A different key (to PyYAML) with the same text, or the same key to
    /// PyYAML with a different text: the entry at this index.
    Collides(usize),
}

impl Entries {
    fn slot(&self, key: &Key) -> Slot {
        // Texts are unique among the entries: a second one collides.
        let same_text = match &self.by_text {
            Some(index) => index.get(&key.text).copied(),
            None => self.list.iter().position(|(k, _)| k.text == key.text),
        };
        match &key.number {
            None => match same_text {
                Some(i) if self.list[i].0.number.is_none() => Slot::Same(i),
                Some(i) => Slot::Collides(i),
                None => Slot::New,
            },
            Some(number) => match self.by_number.get(number) {
                Some(&i) if self.list[i].0.text == key.text => Slot::Same(i),
                Some(&i) => Slot::Collides(i),
                None => same_text.map_or(Slot::New, Slot::Collides),
            },
        }
    }

    /// Add an entry whose key [`Entries::slot`] found new.
    fn push(&mut self, key: Key, value: Child) {
        let index = self.list.len();
        if let Some(number) = &key.number {
            self.by_number.insert(number.clone(), index);
        }
        if let Some(by_text) = &mut self.by_text {
            by_text.insert(key.text.clone(), index);
        }
        self.list.push((key, value));
        if self.by_text.is_none() && self.list.len() >= INDEXED_FROM {
            let by_text = self.list.iter().enumerate();
            self.by_text = Some(by_text.map(|(i, (k, _))| (k.text.clone(), i)).collect());
        }
    }
}

enum Pending {
    Key(Key),
    Merge(Mark),
}

enum FrameKind {
    Seq(Vec<Child>),
    Map {
        explicit: Entries,
        merges: Vec<(Child, Mark)>,
        pending: Option<Pending>,
    },
}

/// A sequence or mapping being read.
struct Frame {
    kind: FrameKind,
    anchor: usize,
}

struct Loader<'a> {
    origin: &'a str,
    frames: Vec<Frame>,
    anchors: HashMap<usize, Rc<NodeData>>,
    root: Option<Child>,
    marks: KeyMarks,
    key_marks: Vec<(Pointer, Mark)>,
    legacy_unverifiable: Option<String>,
    timestamps: Vec<Pointer>,
}

fn mark(m: Marker) -> Mark {
    Mark {
        line: m.line(),
        column: m.col() + 1,
    }
}

/// How a tag is written, for messages: `!!int`, `!local`, `!<verbatim>`.
fn tag_name(tag: &Tag) -> String {
    if tag.handle == YAML_TAG {
        format!("!!{}", tag.suffix)
    } else if tag.handle.is_empty() && tag.suffix.starts_with(YAML_TAG) {
        format!("!!{}", &tag.suffix[YAML_TAG.len()..])
    } else if tag.handle.is_empty() {
        format!("!<{}>", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

/// The standard tag a tag names (`str`, `int`, …), when it is one.
fn standard_tag(tag: &Tag) -> Option<&str> {
    if tag.handle == YAML_TAG {
        Some(&tag.suffix)
    } else if tag.handle.is_empty() {
        tag.suffix.strip_prefix(YAML_TAG)
    } else {
        None
    }
}

/// The non-specific tag `!`.
fn is_non_specific(tag: &Tag) -> bool {
    tag.handle.is_empty() && tag.suffix == "!"
}

impl Loader<'_> {
    fn run(mut self, text: &str) -> Result<Document, Error> {
        let mut parser = Parser::new_from_str(text);
        let mut documents = 0;
        loop {
            let (event, marker) = parser.next_token().map_err(|e| self.scan_error(&e, text))?;
            let at = mark(marker);
            match event {
                Event::StreamEnd => break,
                Event::DocumentStart => {
                    documents += 1;
                    if documents > 1 {
                        return Err(Error::MultipleDocuments {
                            origin: self.origin.to_string(),
                            mark: at,
                        });
                    }
                }
                Event::Scalar(value, style, anchor, tag) => {
                    let node = self.scalar(value, style, tag.as_ref(), at)?;
                    self.finish(node, anchor, at)?;
                }
                Event::Alias(id) => {
                    let Some(node) = self.anchors.get(&id).cloned() else {
                        return Err(self.refuse(
                            self.pointer(),
                            at,
                            "alias refers to a node that contains it (a recursive structure)",
                        ));
                    };
                    if matches!(node.node, Node::Seq(_) | Node::Map(_)) {
                        let reason = format!(
                            "{} is an alias of a sequence or mapping; PyYAML's dump would write anchors",
                            display(&self.pointer())
                        );
                        self.unverifiable(reason);
                    }
                    self.attach(Child::Alias(node), at)?;
                }
                Event::SequenceStart(anchor, tag) => self.start(true, anchor, tag.as_ref(), at)?,
                Event::MappingStart(anchor, tag) => self.start(false, anchor, tag.as_ref(), at)?,
                Event::SequenceEnd | Event::MappingEnd => {
                    let frame = self
                        .frames
                        .pop()
                        .expect("the parser balances start and end");
                    let node = self.build(frame.kind)?;
                    self.finish(node, frame.anchor, at)?;
                }
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            }
        }
        // With the anchors gone, a node shared by no alias moves into the value.
        self.anchors.clear();
        let value = self.root.map_or(Value::Null, Child::into_value);
        Ok(Document {
            value,
            key_marks: self.key_marks,
            legacy_unverifiable: self.legacy_unverifiable,
            timestamps: self.timestamps,
        })
    }

    fn scan_error(&self, e: &ScanError, text: &str) -> Error {
        if e.info().contains("unknown anchor") {
            let name: String = text
                .chars()
                .skip(e.marker().index())
                .skip_while(|&c| c == '*')
                .take_while(|c| !c.is_whitespace() && !",[]{}".contains(*c))
                .collect();
            return Error::Syntax {
                origin: self.origin.to_string(),
                mark: mark(*e.marker()),
                message: format!("alias *{name} names no anchor &{name} defined before it"),
            };
        }
        if e.info() == "recursion limit exceeded" {
            return self.refuse(
                self.pointer(),
                mark(*e.marker()),
                format!("nesting deeper than {MAX_DEPTH} levels"),
            );
        }
        Error::Syntax {
            origin: self.origin.to_string(),
            mark: mark(*e.marker()),
            message: e.info().to_string(),
        }
    }

    fn refuse(&self, pointer: Pointer, at: Mark, reason: impl Into<String>) -> Error {
        Error::Refused {
            origin: self.origin.to_string(),
            pointer,
            mark: Some(at),
            reason: reason.into(),
        }
    }

    fn unverifiable(&mut self, reason: String) {
        self.legacy_unverifiable.get_or_insert(reason);
    }

    /// Where the next node goes: the pointer of each enclosing container's
    /// current child. A mapping waiting for a key adds nothing.
    fn pointer(&self) -> Pointer {
        let mut p = Pointer::root();
        for frame in &self.frames {
            match &frame.kind {
                FrameKind::Seq(items) => p.push(items.len().to_string()),
                FrameKind::Map { pending, .. } => match pending {
                    Some(Pending::Key(k)) => p.push(k.text.clone()),
                    Some(Pending::Merge(_)) => p.push("<<"),
                    None => {}
                },
            }
        }
        p
    }

    /// Whether the next node is a mapping key.
    fn at_key(&self) -> bool {
        matches!(
            self.frames.last(),
            Some(Frame {
                kind: FrameKind::Map { pending: None, .. },
                ..
            })
        )
    }

    fn start(
        &mut self,
        seq: bool,
        anchor: usize,
        tag: Option<&Tag>,
        at: Mark,
    ) -> Result<(), Error> {
        let kind = if seq { "sequence" } else { "mapping" };
        if let Some(tag) = tag {
            let fits = match standard_tag(tag) {
                Some("seq") => seq,
                Some("map") => !seq,
                _ => is_non_specific(tag),
            };
            if !fits {
                return Err(self.refuse(self.pointer(), at, self.tag_reason(tag, kind)));
            }
        }
        if self.at_key() {
            return Err(self.refuse(
                self.pointer(),
                at,
                format!("a {kind} as a mapping key (keys must be strings)"),
            ));
        }
        if self.frames.len() + 1 > MAX_DEPTH {
            return Err(self.refuse(
                self.pointer(),
                at,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        let kind = if seq {
            FrameKind::Seq(Vec::new())
        } else {
            FrameKind::Map {
                explicit: Entries::default(),
                merges: Vec::new(),
                pending: None,
            }
        };
        self.frames.push(Frame { kind, anchor });
        Ok(())
    }

    fn tag_reason(&self, tag: &Tag, kind: &str) -> String {
        match standard_tag(tag) {
            Some("str" | "int" | "float" | "bool" | "null" | "seq" | "map") => {
                format!("tag {} does not fit a {kind}", tag_name(tag))
            }
            Some(_) => format!(
                "tag {} is not supported (rk reads !!str, !!int, !!float, !!bool, !!null, !!seq, !!map)",
                tag_name(tag)
            ),
            None => format!("custom tag {}", tag_name(tag)),
        }
    }

    /// Resolve a scalar the way PyYAML's SafeLoader does.
    fn scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        tag: Option<&Tag>,
        at: Mark,
    ) -> Result<NodeData, Error> {
        let here = || {
            let mut p = self.pointer();
            if self.at_key() {
                p.push(text.clone());
            }
            p
        };
        let resolved = match tag {
            Some(tag) if is_non_specific(tag) => Plain::Str,
            Some(tag) => match standard_tag(tag) {
                Some("str") => Plain::Str,
                Some("null") => Plain::Null,
                Some("bool") => match resolve::construct_bool(&text) {
                    Some(b) => Plain::Bool(b),
                    None => {
                        return Err(self.refuse(
                            here(),
                            at,
                            format!("!!bool value {text:?} is not a boolean"),
                        ))
                    }
                },
                Some("int") if resolve::is_int(&text) => Plain::Int,
                Some("int") => {
                    return Err(self.refuse(
                        here(),
                        at,
                        format!("!!int value {text:?} is not an integer"),
                    ))
                }
                Some("float") => Plain::Float,
                _ => return Err(self.refuse(here(), at, self.tag_reason(tag, "scalar"))),
            },
            None if style == TScalarStyle::Plain => resolve::resolve_plain(&text),
            None => Plain::Str,
        };
        let value = match resolved {
            Plain::Null => Value::Null,
            Plain::Bool(b) => Value::Bool(b),
            Plain::Str => Value::String(text),
            Plain::Int => match resolve::construct_int(&text) {
                Ok(n) => Value::Int(n),
                Err(why) => {
                    return Err(self.refuse(here(), at, format!("{why} (PyYAML cannot read it)")))
                }
            },
            Plain::Float => match resolve::construct_float(&text) {
                Ok(f) if f.is_nan() => {
                    return Err(self.refuse(here(), at, format!("NaN ({text}) has no canonical form")))
                }
                Ok(f) if f.is_infinite() => {
                    return Err(self.refuse(
                        here(),
                        at,
                        format!("Infinity ({text}) has no canonical form"),
                    ))
                }
                Ok(f) => Value::Float(f),
                Err(why) => return Err(self.refuse(here(), at, why)),
            },
            Plain::Timestamp => {
                let at_pointer = here();
                let reason = format!(
                    "{} is a YAML timestamp ({text}); PyYAML would load a datetime",
                    display(&at_pointer)
                );
                self.timestamps.push(at_pointer);
                self.unverifiable(reason);
                Value::String(text)
            }
            Plain::Merge => {
                return Ok(NodeData {
                    node: Node::Merge,
                    size: 1,
                    height: 0,
                    expanded: 0,
                })
            }
            Plain::ValueKey => {
                return Err(self.refuse(
                    here(),
                    at,
                    "a plain `=` is YAML 1.1's value key, which PyYAML's safe_load cannot read (quote it)",
                ))
            }
        };
        Ok(NodeData::scalar(value))
    }

    /// A node is complete: check its size and depth, remember its anchor, and
    /// put it in its parent.
    fn finish(&mut self, node: NodeData, anchor: usize, at: Mark) -> Result<(), Error> {
        // Only what aliases add counts: a large plain document is bounded by
        // the size of its file, not refused as a bomb.
        if node.expanded > MAX_NODES {
            return Err(self.refuse(
                self.pointer(),
                at,
                format!("aliases expand to more than {MAX_NODES} nodes (an alias bomb)"),
            ));
        }
        let node = if anchor == 0 {
            Child::Own(node)
        } else {
            let node = Rc::new(node);
            self.anchors.insert(anchor, Rc::clone(&node));
            Child::Shared(node)
        };
        self.attach(node, at)
    }

    fn attach(&mut self, node: Child, at: Mark) -> Result<(), Error> {
        if self.frames.len() + node.node().height > MAX_DEPTH {
            return Err(self.refuse(
                self.pointer(),
                at,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        let at_key = self.at_key();
        if matches!(node.node().node, Node::Merge) && !at_key {
            return Err(self.refuse(
                self.pointer(),
                at,
                "a plain `<<` is a YAML merge key and can only be a mapping key (quote it to mean the string)",
            ));
        }
        if at_key {
            return self.attach_key(node, at);
        }
        match self.frames.last_mut() {
            None => self.root = Some(node),
            Some(frame) => match &mut frame.kind {
                FrameKind::Seq(items) => items.push(node),
                FrameKind::Map {
                    explicit,
                    merges,
                    pending,
                } => match pending.take() {
                    Some(Pending::Key(key)) => explicit.push(key, node),
                    Some(Pending::Merge(merge_at)) => merges.push((node, merge_at)),
                    None => unreachable!("at_key handled a missing key"),
                },
            },
        }
        Ok(())
    }

    /// The pointer of a key of the mapping being read.
    fn key_pointer(&self, key: &Key) -> Pointer {
        let mut pointer = self.pointer();
        pointer.push(key.text.clone());
        pointer
    }

    fn attach_key(&mut self, node: Child, at: Mark) -> Result<(), Error> {
        let value = match node.into_node().node {
            Node::Merge => {
                self.set_pending(Pending::Merge(at));
                return Ok(());
            }
            Node::Scalar(v) => v,
            Node::Seq(_) | Node::Map(_) => {
                return Err(self.refuse(
                    self.pointer(),
                    at,
                    "a sequence or mapping as a mapping key (keys must be strings)",
                ))
            }
        };
        let key = match value {
            Value::String(text) => Key {
                text,
                number: None,
                at,
            },
            Value::Null => {
                return Err(self.refuse(
                    self.pointer(),
                    at,
                    "a null mapping key (keys must be strings)",
                ))
            }
            other => {
                let key = numeric_key(&other, at);
                let kind = other.kind();
                let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                let reason = format!(
                    "key {} of {} is {article} {kind} in YAML, not a string",
                    key.text,
                    display(&self.pointer()),
                );
                self.unverifiable(reason);
                key
            }
        };
        if let Some(Frame {
            kind: FrameKind::Map { explicit, .. },
            ..
        }) = self.frames.last()
        {
            match explicit.slot(&key) {
                Slot::New => {}
                Slot::Same(_) => {
                    return Err(self.refuse(self.key_pointer(&key), at, "duplicate key"))
                }
                Slot::Collides(i) => {
                    let reason = collision(&explicit.list[i].0, &key);
                    return Err(self.refuse(self.key_pointer(&key), at, reason));
                }
            }
        }
        if self.marks == KeyMarks::Record {
            self.key_marks.push((self.key_pointer(&key), at));
        }
        self.set_pending(Pending::Key(key));
        Ok(())
    }

    fn set_pending(&mut self, key: Pending) {
        if let Some(Frame {
            kind: FrameKind::Map { pending, .. },
            ..
        }) = self.frames.last_mut()
        {
            *pending = Some(key);
        }
    }

    /// A finished sequence or mapping; a mapping's merge keys are applied as
    /// PyYAML's `flatten_mapping` does: merged entries first (of a list of
    /// mappings, earlier ones win), then the explicit keys, which win over
    /// merged ones.
    fn build(&mut self, kind: FrameKind) -> Result<NodeData, Error> {
        let mut merged_in = 0;
        let node = match kind {
            FrameKind::Seq(items) => Node::Seq(items),
            FrameKind::Map {
                explicit, merges, ..
            } => {
                if merges.is_empty() {
                    Node::Map(explicit.list)
                } else {
                    // A merge of an alias copies the alias's entries.
                    merged_in = merges
                        .iter()
                        .filter(|(c, _)| matches!(c, Child::Alias(_)))
                        .fold(0u64, |n, (c, _)| n.saturating_add(c.node().size));
                    Node::Map(self.merge(explicit, merges)?)
                }
            }
        };
        let (size, height, expanded) = match &node {
            Node::Seq(items) => measure(items.iter()),
            Node::Map(entries) => measure(entries.iter().map(|(_, v)| v)),
            Node::Scalar(_) | Node::Merge => (1, 0, 0),
        };
        Ok(NodeData {
            node,
            size,
            height,
            expanded: expanded.saturating_add(merged_in),
        })
    }

    fn merge(
        &mut self,
        explicit: Entries,
        merges: Vec<(Child, Mark)>,
    ) -> Result<Vec<(Key, Child)>, Error> {
        let bad = |at| {
            let mut pointer = self.pointer();
            pointer.push("<<");
            self.refuse(
                pointer,
                at,
                "a merge key `<<` takes a mapping or a list of mappings",
            )
        };
        let mut merged: Vec<(Key, Child, Mark)> = Vec::new();
        for (source, at) in merges {
            match source.into_node().node {
                Node::Map(entries) => merged.extend(entries.into_iter().map(|(k, v)| (k, v, at))),
                Node::Seq(items) => {
                    for item in items.into_iter().rev() {
                        let Node::Map(entries) = item.into_node().node else {
                            return Err(bad(at));
                        };
                        merged.extend(entries.into_iter().map(|(k, v)| (k, v, at)));
                    }
                }
                _ => return Err(bad(at)),
            }
        }
        let explicit = explicit.list.into_iter().map(|(k, v)| {
            let at = k.at;
            (k, v, at)
        });
        let mut out = Entries::default();
        for (key, value, at) in merged.into_iter().chain(explicit) {
            match out.slot(&key) {
                Slot::New => out.push(key, value),
                Slot::Same(i) => out.list[i].1 = value,
                Slot::Collides(i) => {
                    let reason = collision(&out.list[i].0, &key);
                    let mut pointer = self.pointer();
                    pointer.push(key.text);
                    return Err(self.refuse(pointer, at, reason));
                }
            }
        }
        Ok(out.list)
    }
}

/// The size, height and alias expansion of a sequence or mapping with these
/// children.
fn measure<'a>(children: impl Iterator<Item = &'a Child>) -> (u64, usize, u64) {
    children.fold((1, 1, 0), |(size, height, expanded), child| {
        let added = match child {
            Child::Alias(node) => node.size,
            Child::Own(node) => node.expanded,
            Child::Shared(node) => node.expanded,
        };
        let child = child.node();
        (
            size.saturating_add(child.size),
            height.max(1 + child.height),
            expanded.saturating_add(added),
        )
    })
}

/// The key of a non-string scalar: its canonical text, and the number Python
/// compares it as.
fn numeric_key(value: &Value, at: Mark) -> Key {
    let (text, number) = match value {
        Value::Bool(b) => (b.to_string(), if *b { "n1" } else { "n0" }.to_string()),
        Value::Int(i) => (i.as_str().to_string(), format!("n{}", i.as_str())),
        Value::Float(f) => {
            let text = ecmascript_number(*f);
            let python = if f.fract() == 0.0 {
                let exact = format!("{f:.0}");
                format!(
                    "n{}",
                    Integer::from_decimal(&exact).map_or(exact, |i| i.as_str().to_string())
                )
            } else {
                format!("f{text}")
            };
            (text, python)
        }
        other => (other.kind().to_string(), format!("?{}", other.kind())),
    };
    Key {
        text,
        number: Some(number),
        at,
    }
}

fn collision(a: &Key, b: &Key) -> String {
    if a.text == b.text {
        format!("two different keys both become {:?} as strings", b.text)
    } else {
        format!("keys {} and {} are the same key to PyYAML", a.text, b.text)
    }
}

fn display(p: &Pointer) -> String {
    let s = p.to_string();
    if s.is_empty() {
        "the top level".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canon::canonical_bytes;

    fn doc(s: &str) -> Document {
        load(s.as_bytes(), "t.yaml").unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn canon(s: &str) -> String {
        String::from_utf8(canonical_bytes(&doc(s).value)).unwrap()
    }

    fn err(s: &str) -> String {
        match load(s.as_bytes(), "t.yaml") {
            Ok(d) => panic!("{s:?} loaded as {:?}", d.value),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn scalars_resolve_as_pyyaml() {
        assert_eq!(
            canon("a: yes\nb: No\nc: ~\nd:\ne: 0755\nf: 0x1F\ng: 1e5\nh: 1.0e+5\ni: 1:30\nj: .5\nk: '1'\nl: \"true\"\nm: 1_000\nn: -0\no: 3.0\n"),
            r#"{"a":true,"b":false,"c":null,"d":null,"e":493,"f":31,"g":"1e5","h":100000,"i":90,"j":0.5,"k":"1","l":"true","m":1000,"n":0,"o":3}"#
        );
        assert_eq!(
            canon("s: |\n  yes\nt: >\n  12\n"),
            r#"{"s":"yes\n","t":"12\n"}"#
        );
        assert_eq!(canon("18446744073709551557"), "18446744073709551557");
        assert_eq!(canon("0xFFFFFFFFFFFFFFFFFFFF"), "1208925819614629174706175");
        assert_eq!(
            canon("[+.5, -.5, 1.5e3, 1.5e+3]"),
            r#"["+.5","-.5","1.5e3",1500]"#
        );
    }

    #[test]
    fn empty_and_comment_only_input_is_null() {
        assert_eq!(canon(""), "null");
        assert_eq!(canon("# nothing\n"), "null");
        assert_eq!(canon("---\n"), "null");
        assert_eq!(canon("--- 5\n...\n"), "5");
    }

    #[test]
    fn tags() {
        assert_eq!(
            canon("a: !!str 1\nb: !!int '7'\nc: !!float 1\nd: !!bool 'ON'\ne: !!null x\nf: !<tag:yaml.org,2002:int> 0b11\ng: ! 12\nh: !!float 1e5\ni: !!seq [1]\nj: !!map {k: 1}\n"),
            r#"{"a":"1","b":7,"c":1,"d":true,"e":null,"f":3,"g":"12","h":100000,"i":[1],"j":{"k":1}}"#
        );
        assert_eq!(err("a: !foo 1\n"), "t.yaml:1:9: custom tag !foo at /a");
        assert_eq!(
            err("a:\n  b: !!int x\n"),
            "t.yaml:2:12: !!int value \"x\" is not an integer at /a/b"
        );
        assert!(err("a: !!bool maybe").contains("is not a boolean at /a"));
        assert!(err("a: !!float abc").contains("is not a float at /a"));
        assert!(err("a: !!binary aGk=").contains("tag !!binary is not supported"));
        assert!(err("a: !!map [1]").contains("tag !!map does not fit a sequence at /a"));
        assert!(err("a: !!str [1]").contains("tag !!str does not fit a sequence"));
        assert!(err("a: !!seq x").contains("tag !!seq does not fit a scalar"));
        assert!(err("a: !!set {x}").contains("tag !!set is not supported"));
        assert!(err("a: !local {x: 1}").contains("custom tag !local at /a"));
    }

    #[test]
    fn nan_and_infinity_are_refused() {
        assert_eq!(
            err("model:\n  lr: .nan\n"),
            "t.yaml:2:7: NaN (.nan) has no canonical form at /model/lr"
        );
        assert_eq!(
            err("x: [1, -.inf]"),
            "t.yaml:1:8: Infinity (-.inf) has no canonical form at /x/1"
        );
        assert!(err("x: 1.0e+999").contains("Infinity (1.0e+999)"));
        assert!(err("x: !!float .NaN").contains("NaN"));
        assert!(err("x: 0b_").contains("(PyYAML cannot read it) at /x"));
        assert!(err("x: =").contains("value key"));
    }

    #[test]
    fn timestamps_are_strings_but_unverifiable() {
        let d = doc("a:\n  when: 2001-12-14\n  other: 2001-1-1\n");
        assert_eq!(
            String::from_utf8(canonical_bytes(&d.value)).unwrap(),
            r#"{"a":{"other":"2001-1-1","when":"2001-12-14"}}"#
        );
        assert_eq!(
            d.legacy_unverifiable.as_deref(),
            Some("/a/when is a YAML timestamp (2001-12-14); PyYAML would load a datetime")
        );
        assert!(doc("a: '2001-12-14'").legacy_unverifiable.is_none());
        assert!(doc("2001-12-14: x")
            .legacy_unverifiable
            .unwrap()
            .contains("/2001-12-14"));
    }

    #[test]
    fn merge_keys() {
        let src = "base: &b {x: 1, y: 2}\nmore: &m {y: 3, z: 4}\none:\n  <<: *b\n  y: 9\nboth:\n  <<: [*b, *m]\nlater:\n  <<: *b\n  <<: *m\n";
        assert_eq!(
            canon(src),
            r#"{"base":{"x":1,"y":2},"both":{"x":1,"y":2,"z":4},"later":{"x":1,"y":3,"z":4},"more":{"y":3,"z":4},"one":{"x":1,"y":9}}"#
        );
        assert_eq!(canon("a: {<<: {b: 1}, c: 2}"), r#"{"a":{"b":1,"c":2}}"#);
        assert_eq!(canon("a: {'<<': 1}"), r#"{"a":{"<<":1}}"#);
        assert!(err("a: {<<: 1}").contains("takes a mapping or a list of mappings at /a/<<"));
        assert!(err("a: {<<: [1]}").contains("takes a mapping or a list of mappings"));
        assert!(err("a: <<").contains("merge key"));
        // A duplicate among explicit keys is still refused.
        assert_eq!(
            err("a:\n  <<: {b: 1}\n  c: 1\n  c: 2\n"),
            "t.yaml:4:3: duplicate key at /a/c"
        );
        // Nested merges flatten.
        assert_eq!(
            canon("x: &x {a: 1}\ny: &y {<<: *x, b: 2}\nz: {<<: *y, c: 3}"),
            r#"{"x":{"a":1},"y":{"a":1,"b":2},"z":{"a":1,"b":2,"c":3}}"#
        );
    }

    #[test]
    fn keys() {
        assert_eq!(err("a: 1\nb: 2\na: 3\n"), "t.yaml:3:1: duplicate key at /a");
        assert_eq!(
            err("{x: {a: 1, a: 2}}"),
            "t.yaml:1:12: duplicate key at /x/a"
        );
        let d = doc("7: a\ntrue: b\n2.5: c\n2.0: d\n");
        assert_eq!(
            String::from_utf8(canonical_bytes(&d.value)).unwrap(),
            r#"{"2":"d","2.5":"c","7":"a","true":"b"}"#
        );
        assert_eq!(
            d.legacy_unverifiable.as_deref(),
            Some("key 7 of the top level is an integer in YAML, not a string")
        );
        assert_eq!(
            err("1: a\n'1': b\n"),
            "t.yaml:2:1: two different keys both become \"1\" as strings at /1"
        );
        assert!(err("1: a\n0x1: b\n").contains("duplicate key at /1"));
        assert!(err("1: a\nyes: b\ntrue: c\n")
            .contains("keys 1 and true are the same key to PyYAML at /true"));
        assert!(err("2: a\n2.0: b\n").contains("duplicate key at /2"));
        assert!(err("{a: 1, <<: {'1': 2, 1: 3}}").contains("two different keys both become \"1\""));
        assert_eq!(
            err("~: a\n"),
            "t.yaml:1:1: a null mapping key (keys must be strings) at the top level (\"\")"
        );
        assert!(err("? [a]\n: 1\n").contains("a sequence as a mapping key"));
        assert!(err("? {a: 1}\n: 1\n").contains("a mapping as a mapping key"));
        assert!(
            err("x: &k [1]\ny: {*k : 1}\n").contains("mapping key (keys must be strings) at /y")
        );
        assert_eq!(
            canon("x: &k key\ny: {*k : 1}\n"),
            r#"{"x":"key","y":{"key":1}}"#
        );
    }

    #[test]
    fn key_marks() {
        let d = load_with_marks(b"a:\n  b: 1\n  c:\n    - {d: 2}\n", "t.yaml").unwrap();
        assert!(doc("a: 1").key_marks.is_empty());
        let at = |p: &str| {
            let m = d.mark_of(&Pointer::parse(p).unwrap()).unwrap();
            (m.line, m.column)
        };
        assert_eq!(at("/a"), (1, 1));
        assert_eq!(at("/a/b"), (2, 3));
        assert_eq!(at("/a/c"), (3, 3));
        assert_eq!(at("/a/c/0/d"), (4, 8));
    }

    #[test]
    fn aliases() {
        assert_eq!(canon("a: &x [1, 2]\nb: *x\n"), r#"{"a":[1,2],"b":[1,2]}"#);
        assert!(doc("a: &x [1, 2]\nb: *x\n")
            .legacy_unverifiable
            .unwrap()
            .contains("/b is an alias"));
        assert!(doc("a: &x 1\nb: *x\n").legacy_unverifiable.is_none());
        assert_eq!(
            err("a: *nope\n"),
            "t.yaml:1:4: alias *nope names no anchor &nope defined before it"
        );
        assert!(err("a: [*é, 1]\n").contains("alias *é names"));
        assert!(err("a: &x [1, *x]\n").contains("recursive"));
    }

    #[test]
    fn alias_bomb_is_refused_fast() {
        let mut src = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 9].join(",");
            src.push_str(&format!("{}: &{} [{}]\n", w[1], w[1], refs));
        }
        let started = std::time::Instant::now();
        let e = err(&src);
        assert!(e.contains("alias bomb"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn depth_limit() {
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(load(ok.as_bytes(), "t").is_ok());
        let deep = format!("{}{}", "[".repeat(129), "]".repeat(129));
        let e = err(&deep);
        assert!(
            e.starts_with("t.yaml:1:129: nesting deeper than 128 levels at /0/0"),
            "{e}"
        );
        assert!(err(&"[".repeat(100_000)).contains("nesting deeper"));
        // Through an alias.
        let nested = format!("a: &a {}1{}\nb: [*a]\n", "[".repeat(127), "]".repeat(127));
        assert!(err(&nested).contains("nesting deeper than 128 levels at /b/0"));
    }

    #[test]
    fn documents_and_syntax() {
        assert_eq!(
            err("a: 1\n---\nb: 2\n"),
            "t.yaml:2:1: more than one YAML document; a config is one document"
        );
        assert!(err("a: 1\n--- \n").contains("more than one YAML document"));
        let e = err("a: [1, 2\nb: 3\n");
        assert!(e.starts_with("t.yaml:"), "{e}");
        assert_eq!(
            err("a: b: c\n"),
            "t.yaml:1:5: mapping values are not allowed in this context"
        );
        assert_eq!(
            err("a:\n\tb: 1\n"),
            "t.yaml:2:2: tabs disallowed within this context (block indentation)"
        );
    }

    #[test]
    fn bom_and_utf8() {
        assert_eq!(canon("\u{feff}a: 1\n"), r#"{"a":1}"#);
        let e = load(b"a: 1\nb: \"x\xc3\x28\"\n", "t.yaml").unwrap_err();
        assert_eq!(e.to_string(), "t.yaml:2:6: invalid UTF-8");
    }
}
