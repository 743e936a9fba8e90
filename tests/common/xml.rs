//! Reading answers: a tiny tree of elements by local name (namespaces are ignored), enough
//! to pick texts out of an envelope.

use quick_xml::events::Event;
use quick_xml::Reader;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// The local name (prefix dropped).
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Node>,
    pub text: String,
}

impl Node {
    /// Parses a whole document into its root element.
    pub fn parse(xml: &str) -> Result<Node, String> {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().expand_empty_elements = true;
        let mut stack: Vec<Node> = Vec::new();
        loop {
            match reader.read_event().map_err(|e| e.to_string())? {
                Event::Start(start) => {
                    let mut attributes = Vec::new();
                    for attribute in start.attributes() {
                        let attribute = attribute.map_err(|e| e.to_string())?;
                        let value = attribute
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .map_err(|e| e.to_string())?;
                        let key = attribute.key.local_name().as_ref().to_owned();
                        attributes.push((key, value.into_owned()));
                    }
                    stack.push(Node {
                        name: start.local_name().as_ref().to_owned(),
                        attributes,
                        ..Node::default()
                    });
                }
                Event::End(_) => {
                    let node = stack.pop().ok_or("unexpected end tag")?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => return Ok(node),
                    }
                }
                Event::Text(text) => push_text(&mut stack, &text.xml10_content()),
                Event::CData(data) => push_text(&mut stack, &data.xml10_content()),
                Event::GeneralRef(reference) => {
                    let text = match reference.resolve_char_ref().map_err(|e| e.to_string())? {
                        Some(ch) => ch.to_string(),
                        None => {
                            let name = reference.xml10_content();
                            quick_xml::escape::resolve_predefined_entity(&name)
                                .ok_or_else(|| format!("unknown entity &{name};"))?
                                .to_owned()
                        }
                    };
                    push_text(&mut stack, &text);
                }
                Event::Eof => return Err("the document ends inside an element".into()),
                _ => {}
            }
        }
    }

    /// The first direct child with this local name.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The trimmed text of the first direct child with this local name.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.trim().to_owned())
    }

    /// Every element with this local name, in document order (self included).
    pub fn all(&self, name: &str) -> Vec<&Node> {
        let mut found = Vec::new();
        self.collect(name, &mut found);
        found
    }

    fn collect<'a>(&'a self, name: &str, found: &mut Vec<&'a Node>) {
        if self.name == name {
            found.push(self);
        }
        for child in &self.children {
            child.collect(name, found);
        }
    }

    /// The first element reached by a path of local names, each step a descendant of the
    /// previous one's direct children: `find(&["informationServer", "ticket"])`.
    pub fn find(&self, path: &[&str]) -> Option<&Node> {
        let (first, rest) = path.split_first()?;
        self.all(first)
            .into_iter()
            .find_map(|start| rest.iter().try_fold(start, |node, step| node.child(step)))
    }

    /// The trimmed text at a path (see [`Node::find`]).
    pub fn text_at(&self, path: &[&str]) -> Option<String> {
        self.find(path).map(|n| n.text.trim().to_owned())
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

fn push_text(stack: &mut [Node], text: &str) {
    if let Some(node) = stack.last_mut() {
        node.text.push_str(text);
    }
}
