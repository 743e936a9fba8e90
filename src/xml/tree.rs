//! A small, strict XML reader for incoming SOAP messages: namespace-resolved elements with
//! their text, built with quick-xml's namespace-aware reader. Anything a SOAP message has no
//! business carrying is refused: a DOCTYPE (and with it every entity definition), references
//! to entities other than the five predefined ones, and trees deeper or larger than the limits.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
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
    #[error("the message is not well-formed XML: {0}")]
    Malformed(String),
    #[error("a DOCTYPE is not allowed in a SOAP message")]
    Doctype,
    #[error("the entity reference &{0}; is not allowed")]
    Entity(String),
    #[error("the prefix {0} is not bound to a namespace")]
    UnboundPrefix(String),
    #[error("the message nests elements deeper than {0} levels")]
    TooDeep(usize),
    #[error("the message has more than {0} elements")]
    TooManyElements(usize),
    #[error("the message has no root element")]
    Empty,
}

/// Parses a whole document into its root element.
pub fn parse(xml: &str, limits: Limits) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut count = 0usize;
    loop {
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        let namespace = match resolved {
            ResolveResult::Bound(ns) => Some(ns.0.to_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => return Err(XmlError::UnboundPrefix(prefix)),
        };
        match event {
            Event::Start(start) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                let element = open(&reader, &start, namespace)?;
                stack.push(element);
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unexpected end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => return finish(&mut reader, element),
                }
            }
            Event::Text(text) => append_text(&mut stack, &text.xml10_content())?,
            Event::CData(data) => append_text(&mut stack, &data.xml10_content())?,
            Event::GeneralRef(reference) => {
                let resolved = match reference
                    .resolve_char_ref()
                    .map_err(|e| XmlError::Malformed(e.to_string()))?
                {
                    Some(ch) => ch.to_string(),
                    None => {
                        let name = reference.xml10_content();
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| XmlError::Entity(name.to_string()))?
                            .to_owned()
                    }
                };
                append_text(&mut stack, &resolved)?;
            }
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            // `expand_empty_elements` turns every empty element into Start + End.
            Event::Empty(_) => {
                return Err(XmlError::Malformed("unexpected empty element event".into()))
            }
            Event::Eof => {
                return Err(if stack.is_empty() {
                    XmlError::Empty
                } else {
                    XmlError::Malformed("the document ends inside an element".into())
                })
            }
        }
    }
}

fn open(
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    namespace: Option<String>,
) -> Result<Element, XmlError> {
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| XmlError::Malformed(e.to_string()))?;
        let key = attribute.key;
        if key.as_namespace_binding().is_some() {
            continue;
        }
        let (resolved, local) = reader.resolver().resolve_attribute(key);
        let ns = match resolved {
            ResolveResult::Bound(ns) => Some(ns.0.to_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => return Err(XmlError::UnboundPrefix(prefix)),
        };
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        attributes.push((ns, local.as_ref().to_owned(), value.into_owned()));
    }
    Ok(Element {
        namespace,
        name: start.local_name().as_ref().to_owned(),
        attributes,
        children: Vec::new(),
        text: String::new(),
    })
}

fn append_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(element) => {
            element.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError::Malformed("text outside the root element".into())),
    }
}

/// After the root element only comments, processing instructions and white space may follow.
fn finish(reader: &mut NsReader<&[u8]>, root: Element) -> Result<Element, XmlError> {
    loop {
        match reader
            .read_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?
        {
            Event::Eof => return Ok(root),
            Event::Comment(_) | Event::PI(_) => {}
            Event::Text(text) if text.xml10_content().trim().is_empty() => {}
            Event::DocType(_) => return Err(XmlError::Doctype),
            _ => return Err(XmlError::Malformed("content after the root element".into())),
        }
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
