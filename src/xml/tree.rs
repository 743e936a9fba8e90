//! A small, strict XML reader for incoming SOAP messages and the files raas reads:
//! namespace-resolved elements with their text, built with quick-xml's namespace-aware reader
//! ([`parse`] for a whole document, [`super::stream`] for a large one, child by child).
//! Anything such a document has no business carrying is refused: a DOCTYPE (and with it every
//! entity definition), references to entities other than the five predefined ones, and trees
//! deeper or larger than the limits.
//!
//! quick-xml tokenizes, but leaves most of XML 1.0's well-formedness rules to its user; the
//! builder checks them itself ([`XmlError::NotXml`]): characters outside XML 1.0's `Char`
//! (raw or as character references), `--` inside a comment, an XML declaration anywhere but
//! at the very start or declaring an encoding other than UTF-8, processing instructions named
//! `xml`, `<` in an attribute value, `]]>` in text, names that are not XML names or not
//! namespace-well-formed QNames, attributes with the same expanded name, and character data
//! or references outside the root element.

use quick_xml::events::{BytesDecl, BytesPI, BytesStart, Event};
use quick_xml::name::{NamespaceResolver, ResolveResult};
use quick_xml::NsReader;

use super::syntax::{
    attributes_separated, code, forbidden_char, is_blank, is_name, is_qname, is_xml_char,
    pseudo_attribute, wrong_binding,
};

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

    /// The first child element with this namespace and name (where several may occur, use
    /// [`Element::children_named`]; where one may, [`Element::single_child`]).
    pub fn child(&self, namespace: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(namespace, name))
    }

    /// The child elements with this namespace and name.
    pub fn children_named<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(namespace, name))
    }

    /// The child with this namespace and name where the schema allows at most one: a second
    /// one is refused ([`Duplicated`]) rather than silently ignored.
    pub fn single_child(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<&Element>, Duplicated> {
        let mut found = self.children.iter().filter(|c| c.is(namespace, name));
        match (found.next(), found.next()) {
            (first, None) => Ok(first),
            _ => Err(Duplicated),
        }
    }

    /// The text of an element that may hold text only (a leaf field), with surrounding XML
    /// white space removed: an element inside it is refused ([`NotText`] names it), so
    /// `<ssin>00121<b/>130362</ssin>` is not read as `00121130362`.
    pub fn leaf_value(&self) -> Result<&str, NotText<'_>> {
        match self.children.first() {
            None => Ok(self.value()),
            Some(child) => Err(NotText(child)),
        }
    }

    /// Whether the element holds only white space besides its child elements (a container
    /// such as a SOAP Body).
    pub fn has_no_text(&self) -> bool {
        trim_xml_space(&self.text).is_empty()
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

    /// The text content with surrounding XML white space (space, tab, CR, LF) removed; other
    /// spaces (a no-break space, …) are content and stay.
    pub fn value(&self) -> &str {
        trim_xml_space(&self.text)
    }

    /// `{namespace}name`, for diagnostics.
    pub fn expanded_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{{{ns}}}{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A second child where at most one is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duplicated;

/// An element found inside an element that may hold text only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotText<'a>(pub &'a Element);

/// XML white space: space, tab, CR and LF (XML 1.0 production `S`).
pub fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// `text` without surrounding XML white space.
pub fn trim_xml_space(text: &str) -> &str {
    text.trim_matches(is_xml_space)
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
    /// A well-formedness rule of XML 1.0 (or of its namespaces) is broken: `what` says
    /// which, `place` is the path of the element where (local names from the root, `/@name`
    /// for an attribute, `(prolog)` / `(epilog)` outside the root), `value` the offending
    /// text (characters that cannot be written back in XML are given as `U+XXXX`).
    #[error("the document is not well-formed XML: {what} (at {place})")]
    NotXml {
        what: String,
        place: String,
        value: String,
    },
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
    /// Whether no event was read yet (an XML declaration may only come first).
    at_start: bool,
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
            at_start: true,
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
        // Every character of the document is in some event: one pass over each refuses
        // what XML 1.0 does not allow anywhere.
        if let Some(forbidden) = forbidden_char(&event) {
            let what = format!(
                "the character {} is not allowed in XML 1.0",
                code(forbidden)
            );
            // In a start tag, the element is the place.
            let tag = match &event {
                Event::Start(start) => Some(start.local_name()),
                _ => None,
            };
            let tag = tag.as_ref().map(|name| name.as_ref());
            return Err(self.not_xml(what, tag, &code(forbidden)));
        }
        let at_start = std::mem::replace(&mut self.at_start, false);
        match &event {
            Event::Decl(decl) if at_start => self.check_decl(decl)?,
            Event::Decl(decl) => {
                return Err(self.not_xml(
                    "an XML declaration may only open the document".into(),
                    None,
                    &format!("<?{}?>", &**decl),
                ))
            }
            Event::PI(pi) => self.check_pi(pi)?,
            Event::Comment(comment) => {
                let text: &str = comment;
                if text.contains("--") || text.ends_with('-') {
                    return Err(self.not_xml(
                        "a comment may not contain -- nor end with -".into(),
                        None,
                        &format!("<!--{text}-->"),
                    ));
                }
            }
            Event::Text(text) if text.contains("]]>") => {
                return Err(self.not_xml("]]> may not appear in text".into(), None, "]]>"))
            }
            Event::CData(_) | Event::GeneralRef(_) if self.stack.is_empty() => {
                return Err(XmlError::Malformed(
                    "character data outside the root element".into(),
                ))
            }
            _ => {}
        }
        if self.place == Place::Epilog {
            // After the root element only comments, processing instructions and white space
            // may follow.
            return match event {
                Event::Eof => Ok(Step::End),
                Event::Comment(_) | Event::PI(_) => Ok(Step::Continue),
                Event::Text(text) if is_blank(&text) => Ok(Step::Continue),
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
                let not_a_char = |builder: &Self| {
                    builder.not_xml(
                        format!(
                            "the character reference &{}; names no character XML 1.0 allows",
                            &*reference
                        ),
                        None,
                        &format!("&{};", &*reference),
                    )
                };
                let resolved = match reference.resolve_char_ref() {
                    Ok(resolved) => resolved,
                    Err(_) if reference.starts_with('#') => return Err(not_a_char(self)),
                    Err(error) => return Err(malformed(error)),
                };
                match resolved {
                    Some(ch) if !is_xml_char(ch) => return Err(not_a_char(self)),
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

    /// A [`XmlError::NotXml`] at the current element, or at `below` it (a child element being
    /// opened, or `@name` for an attribute).
    fn not_xml(&self, what: String, below: Option<&str>, value: &str) -> XmlError {
        let mut place = String::new();
        for element in &self.stack {
            if !place.is_empty() {
                place.push('/');
            }
            place.push_str(&element.name);
        }
        match below {
            Some(below) if place.is_empty() && !below.starts_with('@') => {}
            _ if place.is_empty() => place.push_str(match self.place {
                Place::Epilog => "(epilog)",
                _ => "(prolog)",
            }),
            _ => {}
        }
        if let Some(below) = below {
            if !place.is_empty() {
                place.push('/');
            }
            place.push_str(below);
        }
        let value: String = value.chars().take(100).collect();
        XmlError::NotXml { what, place, value }
    }

    /// The XML declaration, read strictly (quick-xml only looks its pseudo-attributes up):
    /// `version` 1.x, then an optional `encoding` that must be UTF-8 (the bytes are read as
    /// UTF-8, so any other declared encoding is a lie), then an optional `standalone` yes or
    /// no, and nothing else.
    fn check_decl(&self, decl: &BytesDecl<'_>) -> Result<(), XmlError> {
        let content: &str = decl;
        let refuse = |what: &str| {
            self.not_xml(
                format!("the XML declaration is malformed: {what}"),
                None,
                &format!("<?{content}?>"),
            )
        };
        let mut rest = content
            .strip_prefix("xml")
            .ok_or_else(|| refuse("it must start with xml"))?;
        let mut seen = Vec::new();
        loop {
            let trimmed = rest.trim_start_matches(is_xml_space);
            if trimmed.is_empty() {
                break;
            }
            if trimmed.len() == rest.len() {
                return Err(refuse("white space must separate its parts"));
            }
            let (name, value, after) =
                pseudo_attribute(trimmed).ok_or_else(|| refuse("expected name=\"value\""))?;
            rest = after;
            let expected = ["version", "encoding", "standalone"];
            let position = expected.iter().position(|e| *e == name);
            match position {
                Some(p)
                    if seen.last().is_none_or(|last| *last < p) && (p == 0) == seen.is_empty() =>
                {
                    seen.push(p)
                }
                _ => return Err(refuse("version, encoding and standalone, in this order")),
            }
            match name {
                "version" => {
                    let minor = value.strip_prefix("1.");
                    if !minor
                        .is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
                    {
                        return Err(refuse("the version must be 1.0"));
                    }
                }
                "encoding" if !value.eq_ignore_ascii_case("UTF-8") => {
                    return Err(self.not_xml(
                        format!(
                            "the document declares the encoding {value}, but only UTF-8 is read"
                        ),
                        Some("@encoding"),
                        value,
                    ))
                }
                "standalone" if !matches!(value, "yes" | "no") => {
                    return Err(refuse("standalone must be yes or no"))
                }
                _ => {}
            }
        }
        if seen.is_empty() {
            return Err(refuse("it must give the version"));
        }
        Ok(())
    }

    /// A processing instruction: its target is a name, and not `xml` in any case.
    fn check_pi(&self, pi: &BytesPI<'_>) -> Result<(), XmlError> {
        let target = pi.target();
        if target.eq_ignore_ascii_case("xml") {
            return Err(self.not_xml(
                "a processing instruction may not be named xml (an XML declaration may only open the document)".into(),
                None,
                &format!("<?{}?>", &**pi),
            ));
        }
        if !is_name(target) || target.contains(':') {
            return Err(self.not_xml(
                "a processing instruction must start with a name".into(),
                None,
                &format!("<?{}?>", &**pi),
            ));
        }
        Ok(())
    }

    fn open(
        &mut self,
        resolver: &NamespaceResolver,
        start: &BytesStart<'_>,
    ) -> Result<Element, XmlError> {
        let qname = start.name();
        if !is_qname(qname.as_ref()) {
            return Err(self.not_xml(
                "an element name must be an XML name with at most one colon".into(),
                None,
                qname.as_ref(),
            ));
        }
        if !attributes_separated(start) {
            return Err(self.not_xml(
                "attributes must be separated by white space".into(),
                Some(qname.as_ref()),
                start,
            ));
        }
        let mut element = self.spare.pop().unwrap_or_default();
        let (resolved, local) = resolver.resolve_element(qname);
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
            if !is_qname(key.as_ref()) {
                return Err(self.not_xml_in(
                    element,
                    "an attribute name must be an XML name with at most one colon",
                    None,
                    key.as_ref(),
                ));
            }
            if attribute.value.contains('<') {
                return Err(self.not_xml_in(
                    element,
                    "< is not allowed in an attribute value",
                    Some(key.as_ref()),
                    &attribute.value,
                ));
            }
            if let Some(binding) = key.as_namespace_binding() {
                if let Some(what) = wrong_binding(binding, &attribute.value) {
                    return Err(self.not_xml_in(
                        element,
                        what,
                        Some(key.as_ref()),
                        &attribute.value,
                    ));
                }
                continue;
            }
            let (resolved, local) = resolver.resolve_attribute(key);
            let ns = bound(resolved)?.map(str::to_owned);
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(malformed)?;
            if let Some(forbidden) = value.chars().find(|c| !is_xml_char(*c)) {
                let what = format!(
                    "the character {} is not allowed in XML 1.0",
                    code(forbidden)
                );
                return Err(self.not_xml_in(element, &what, Some(key.as_ref()), &code(forbidden)));
            }
            if element
                .attributes
                .iter()
                .any(|(n, l, _)| *n == ns && l == local.as_ref())
            {
                return Err(self.not_xml_in(
                    element,
                    "an attribute appears twice (the same namespace and name)",
                    Some(key.as_ref()),
                    "",
                ));
            }
            element
                .attributes
                .push((ns, local.as_ref().to_owned(), value.into_owned()));
        }
        Ok(element)
    }

    /// [`TreeBuilder::not_xml`] at `element`, which is being opened.
    fn not_xml_in(
        &mut self,
        element: Element,
        what: &str,
        attribute: Option<&str>,
        value: &str,
    ) -> XmlError {
        self.stack.push(element);
        let attribute = attribute.map(|name| format!("@{name}"));
        let error = self.not_xml(what.into(), attribute.as_deref(), value);
        if let Some(element) = self.stack.pop() {
            self.recycle(element);
        }
        error
    }

    fn append_text(&mut self, text: &str) -> Result<(), XmlError> {
        match (self.mode, self.stack.len()) {
            (_, 0) if is_blank(text) => Ok(()),
            (_, 0) => Err(XmlError::Malformed("text outside the root element".into())),
            // The root of a stream keeps no content: white space between records goes.
            (Mode::Records, 1) if is_blank(text) => Ok(()),
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
mod tests;
