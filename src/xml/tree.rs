//! A small, strict XML reader for incoming SOAP messages and the files raas reads:
//! namespace-resolved elements with their text, built with quick-xml's namespace-aware reader
//! ([`parse`] for a whole document, [`super::stream`] for a large one, child by child).
//! Anything such a document has no business carrying is refused: a DOCTYPE (and with it every
//! entity definition), references to entities other than the five predefined ones, and trees
//! deeper or larger than the limits.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{NamespaceResolver, ResolveResult};
use quick_xml::NsReader;

/// An element with its namespace, attributes, children and text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub namespace: Option<String>,
    pub name: String,
    /// Attributes by (namespace, local name); `xmlns` declarations are left out.
    pub attributes: Vec<(Option<String>, String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        self.name == name && self.namespace.as_deref() == Some(namespace)
    }

    /// The first child element with this namespace and name.
    pub fn child(&self, namespace: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(namespace, name))
    }

    /// An attribute without namespace, by local name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(ns, local, _)| ns.is_none() && local == name)
            .map(|(_, _, value)| value.as_str())
    }

    /// An attribute in a namespace, by local name.
    pub fn attribute_ns(&self, namespace: &str, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(ns, local, _)| ns.as_deref() == Some(namespace) && local == name)
            .map(|(_, _, value)| value.as_str())
    }

    /// The text content with surrounding white space removed.
    pub fn value(&self) -> &str {
        self.text.trim()
    }

    /// `{namespace}name`, for diagnostics.
    pub fn expanded_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{{{ns}}}{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// How much structure a message may have.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 32,
            max_elements: 10_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("the document is not well-formed XML: {0}")]
    Malformed(String),
    #[error("a DOCTYPE is not allowed")]
    Doctype,
    #[error("the entity reference &{0}; is not allowed")]
    Entity(String),
    #[error("the prefix {0} is not bound to a namespace")]
    UnboundPrefix(String),
    #[error("the document nests elements deeper than {0} levels")]
    TooDeep(usize),
    #[error("the document has more than {0} elements")]
    TooManyElements(usize),
    #[error("the document has no root element")]
    Empty,
}

/// Parses a whole document into its root element.
pub fn parse(xml: &str, limits: Limits) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    let mut builder = TreeBuilder::new(limits, Mode::Document);
    let mut root = None;
    loop {
        let event = reader.read_event().map_err(malformed)?;
        match builder.feed(reader.resolver(), event)? {
            Step::Closed(element) => root = Some(element),
            Step::End => return root.ok_or(XmlError::Empty),
            Step::Continue | Step::Opened => {}
        }
    }
}

pub(crate) fn malformed(error: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(error.to_string())
}

/// What a [`TreeBuilder`] hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The root, with all its descendants, when it closes.
    Document,
    /// Each child of the root, with its descendants, when it closes; the root keeps no
    /// children (a stream of records in constant memory).
    Records,
}

/// What one event did.
#[derive(Debug)]
pub(crate) enum Step {
    /// Nothing to hand out.
    Continue,
    /// The root element was opened: [`TreeBuilder::root`] has its name and attributes.
    Opened,
    /// A tree is complete: the root ([`Mode::Document`]) or a child of the root
    /// ([`Mode::Records`]).
    Closed(Element),
    /// The document ended after its root element.
    End,
}

/// Where the reader is in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Before the root element.
    Prolog,
    /// Inside the root element.
    Content,
    /// After the root element.
    Epilog,
}

/// Builds element trees from quick-xml events, the same way for a whole document ([`parse`])
/// and for a stream of records ([`super::stream`]), enforcing the same rules: no DOCTYPE,
/// only the predefined entities, bound prefixes, and the [`Limits`] (per record in a stream).
/// Elements handed back with [`TreeBuilder::recycle`] are reused, so a stream of records of
/// the same shape allocates almost nothing once warm.
pub(crate) struct TreeBuilder {
    limits: Limits,
    mode: Mode,
    place: Place,
    /// The open elements, the root first.
    stack: Vec<Element>,
    /// Elements opened in the current tree (the document, or the current record).
    count: usize,
    /// Emptied elements ready for reuse.
    spare: Vec<Element>,
}

/// The most emptied elements kept for reuse.
const MAX_SPARE: usize = 4096;

impl TreeBuilder {
    pub(crate) fn new(limits: Limits, mode: Mode) -> TreeBuilder {
        TreeBuilder {
            limits,
            mode,
            place: Place::Prolog,
            stack: Vec::new(),
            count: 0,
            spare: Vec::new(),
        }
    }

    /// The root element once opened (in [`Mode::Records`], without children).
    pub(crate) fn root(&self) -> Option<&Element> {
        self.stack.first()
    }

    /// How many elements are open.
    pub(crate) fn depth(&self) -> usize {
        self.stack.len()
    }

    /// Takes one event of the document; `resolver` is the reader's, after reading it.
    pub(crate) fn feed(
        &mut self,
        resolver: &NamespaceResolver,
        event: Event<'_>,
    ) -> Result<Step, XmlError> {
        if self.place == Place::Epilog {
            // After the root element only comments, processing instructions and white space
            // may follow.
            return match event {
                Event::Eof => Ok(Step::End),
                Event::Comment(_) | Event::PI(_) => Ok(Step::Continue),
                Event::Text(text) if text.xml10_content().trim().is_empty() => Ok(Step::Continue),
                Event::DocType(_) => Err(XmlError::Doctype),
                _ => Err(XmlError::Malformed("content after the root element".into())),
            };
        }
        match event {
            Event::Start(start) => {
                self.count += 1;
                if self.count > self.limits.max_elements {
                    return Err(XmlError::TooManyElements(self.limits.max_elements));
                }
                if self.stack.len() >= self.limits.max_depth {
                    return Err(XmlError::TooDeep(self.limits.max_depth));
                }
                let element = self.open(resolver, &start)?;
                self.stack.push(element);
                if self.stack.len() == 1 {
                    self.place = Place::Content;
                    if self.mode == Mode::Records {
                        // The limits apply to each record, not to the root.
                        self.count = 0;
                    }
                    return Ok(Step::Opened);
                }
            }
            Event::End(_) => {
                let element = self
                    .stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unexpected end tag".into()))?;
                match (self.mode, self.stack.len()) {
                    (_, 0) => {
                        self.place = Place::Epilog;
                        return Ok(match self.mode {
                            Mode::Document => Step::Closed(element),
                            Mode::Records => Step::Continue,
                        });
                    }
                    (Mode::Records, 1) => {
                        self.count = 0;
                        return Ok(Step::Closed(element));
                    }
                    _ => {
                        if let Some(parent) = self.stack.last_mut() {
                            parent.children.push(element);
                        }
                    }
                }
            }
            Event::Text(text) => self.append_text(&text.xml10_content())?,
            Event::CData(data) => self.append_text(&data.xml10_content())?,
            Event::GeneralRef(reference) => {
                match reference.resolve_char_ref().map_err(malformed)? {
                    Some(ch) => self.append_text(ch.encode_utf8(&mut [0; 4]))?,
                    None => {
                        let name = reference.xml10_content();
                        let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| XmlError::Entity(name.to_string()))?;
                        self.append_text(resolved)?;
                    }
                }
            }
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            // `expand_empty_elements` turns every empty element into Start + End.
            Event::Empty(_) => {
                return Err(XmlError::Malformed("unexpected empty element event".into()))
            }
            Event::Eof => {
                return Err(if self.stack.is_empty() {
                    XmlError::Empty
                } else {
                    XmlError::Malformed("the document ends inside an element".into())
                })
            }
        }
        Ok(Step::Continue)
    }

    /// Gives back a tree handed out by [`TreeBuilder::feed`] whose content is no longer
    /// needed: its elements (and their strings' memory) serve the next records.
    pub(crate) fn recycle(&mut self, mut element: Element) {
        for child in element.children.drain(..) {
            self.recycle(child);
        }
        if self.spare.len() < MAX_SPARE {
            element.name.clear();
            element.text.clear();
            element.attributes.clear();
            self.spare.push(element);
        }
    }

    fn open(
        &mut self,
        resolver: &NamespaceResolver,
        start: &BytesStart<'_>,
    ) -> Result<Element, XmlError> {
        let mut element = self.spare.pop().unwrap_or_default();
        let (resolved, local) = resolver.resolve_element(start.name());
        match bound(resolved)? {
            Some(ns) => {
                let namespace = element.namespace.get_or_insert_with(String::new);
                namespace.clear();
                namespace.push_str(ns);
            }
            None => element.namespace = None,
        }
        element.name.push_str(local.as_ref());
        for attribute in start.attributes() {
            let attribute = attribute.map_err(malformed)?;
            let key = attribute.key;
            if key.as_namespace_binding().is_some() {
                continue;
            }
            let (resolved, local) = resolver.resolve_attribute(key);
            let ns = bound(resolved)?.map(str::to_owned);
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(malformed)?;
            element
                .attributes
                .push((ns, local.as_ref().to_owned(), value.into_owned()));
        }
        Ok(element)
    }

    fn append_text(&mut self, text: &str) -> Result<(), XmlError> {
        match (self.mode, self.stack.len()) {
            (_, 0) if text.trim().is_empty() => Ok(()),
            (_, 0) => Err(XmlError::Malformed("text outside the root element".into())),
            // The root of a stream keeps no content: white space between records goes.
            (Mode::Records, 1) if text.trim().is_empty() => Ok(()),
            (Mode::Records, 1) => Err(XmlError::Malformed(
                "text between the elements of the root".into(),
            )),
            _ => {
                if let Some(element) = self.stack.last_mut() {
                    element.text.push_str(text);
                }
                Ok(())
            }
        }
    }
}

/// The namespace of a resolved name, refusing unbound prefixes.
fn bound(resolved: ResolveResult<'_>) -> Result<Option<&str>, XmlError> {
    match resolved {
        ResolveResult::Bound(ns) => Ok(Some(ns.0)),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(XmlError::UnboundPrefix(prefix)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_default(xml: &str) -> Result<Element, XmlError> {
        parse(xml, Limits::default())
    }

    #[test]
    fn resolves_namespaces_of_elements_and_attributes() {
        let root = parse_default(
            r#"<?xml version="1.0"?><a:root xmlns:a="urn:a" xmlns:b="urn:b" b:x="1" y="2"><b:child>t&amp;&#65;<![CDATA[<c>]]></b:child><plain/></a:root>"#,
        )
        .unwrap();
        assert!(root.is("urn:a", "root"));
        assert_eq!(root.attribute_ns("urn:b", "x"), Some("1"));
        assert_eq!(root.attribute("y"), Some("2"));
        assert_eq!(root.child("urn:b", "child").unwrap().text, "t&A<c>");
        assert_eq!(root.children[1].namespace, None);
        assert_eq!(root.children[1].name, "plain");
    }

    #[test]
    fn default_namespace_applies_to_children() {
        let root = parse_default(r#"<root xmlns="urn:d"><child/></root>"#).unwrap();
        assert!(root.children[0].is("urn:d", "child"));
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>"#;
        assert_eq!(parse_default(bomb), Err(XmlError::Doctype));
        assert_eq!(
            parse_default("<r>&a;</r>"),
            Err(XmlError::Entity("a".into()))
        );
    }

    #[test]
    fn refuses_unbound_prefixes_and_broken_documents() {
        assert!(matches!(
            parse_default("<x:r/>"),
            Err(XmlError::UnboundPrefix(_))
        ));
        assert!(matches!(
            parse_default("<r><a></r>"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(parse_default("<r>"), Err(XmlError::Malformed(_))));
        assert!(matches!(
            parse_default("<r/><r/>"),
            Err(XmlError::Malformed(_))
        ));
        assert_eq!(parse_default(""), Err(XmlError::Empty));
    }

    #[test]
    fn enforces_limits() {
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert_eq!(parse_default(&deep), Err(XmlError::TooDeep(32)));
        let wide = format!("<a>{}</a>", "<b/>".repeat(20));
        assert_eq!(
            parse(
                &wide,
                Limits {
                    max_depth: 4,
                    max_elements: 10
                }
            ),
            Err(XmlError::TooManyElements(10))
        );
    }
}
