//! Reading a large document in constant memory: the root element is opened (its name and
//! attributes are known at once), then each child of the root is handed out as a tree of its
//! own, under the same rules as [`super::parse`] (no DOCTYPE, predefined entities only, bound
//! prefixes) with the [`Limits`] applying to each child.

use std::io::BufRead;

use quick_xml::NsReader;

use super::tree::{malformed, Mode, Step, TreeBuilder};
use super::{Element, Limits, XmlError};

/// The children of a document's root, one by one. Ends (`None`) after the root is closed and
/// the rest of the document checked; after an error, yields nothing more.
pub struct ElementStream<R> {
    reader: NsReader<R>,
    buf: Vec<u8>,
    builder: TreeBuilder,
    /// The reader's position before the element being read (or the last one handed out).
    element_start: u64,
    finished: bool,
}

impl<R: BufRead> ElementStream<R> {
    /// Reads the document up to the root's start tag.
    pub fn new(input: R, limits: Limits) -> Result<ElementStream<R>, XmlError> {
        let mut reader = NsReader::from_reader(input);
        reader.config_mut().expand_empty_elements = true;
        let mut stream = ElementStream {
            reader,
            buf: Vec::with_capacity(4096),
            builder: TreeBuilder::new(limits, Mode::Records),
            element_start: 0,
            finished: false,
        };
        loop {
            match stream.step()? {
                Step::Opened => return Ok(stream),
                Step::Continue => {}
                // The builder opens the root before anything else can happen.
                Step::Closed(_) | Step::End => return Err(XmlError::Empty),
            }
        }
    }

    /// The root element: its name, namespace and attributes (never children).
    pub fn root(&self) -> &Element {
        // `new` returns only once the root is open, and the builder keeps it.
        static NONE: Element = Element {
            namespace: None,
            name: String::new(),
            attributes: Vec::new(),
            children: Vec::new(),
            text: String::new(),
        };
        self.builder.root().unwrap_or(&NONE)
    }

    /// How many bytes of the input were read.
    pub fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    /// Where, in bytes from the start of the input, the last element handed out (or the
    /// element being read when an error occurred) starts, near enough: the end of the event
    /// before its start tag.
    pub fn element_position(&self) -> u64 {
        self.element_start
    }

    /// Gives back an element handed out whose content is no longer needed: its memory serves
    /// the next ones (a stream of similar elements then allocates almost nothing).
    pub fn recycle(&mut self, element: Element) {
        self.builder.recycle(element);
    }

    fn step(&mut self) -> Result<Step, XmlError> {
        self.buf.clear();
        let before = self.reader.buffer_position();
        let event = self
            .reader
            .read_event_into(&mut self.buf)
            .map_err(malformed)?;
        if self.builder.depth() == 1 {
            self.element_start = before;
        }
        self.builder.feed(self.reader.resolver(), event)
    }
}

impl<R: BufRead> Iterator for ElementStream<R> {
    type Item = Result<Element, XmlError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            match self.step() {
                Ok(Step::Closed(element)) => return Some(Ok(element)),
                Ok(Step::End) => self.finished = true,
                Ok(Step::Continue | Step::Opened) => {}
                Err(error) => {
                    self.finished = true;
                    return Some(Err(error));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(xml: &str) -> Result<ElementStream<&[u8]>, XmlError> {
        ElementStream::new(xml.as_bytes(), Limits::default())
    }

    fn all(xml: &str) -> Result<Vec<Element>, XmlError> {
        stream(xml)?.collect()
    }

    #[test]
    fn hands_out_the_children_of_the_root_one_by_one() {
        let xml = r#"<?xml version="1.0"?>
<!-- a comment -->
<r:list xmlns:r="urn:r" xmlns="urn:d" n="2">
  <item id="1"><name>a&amp;b</name></item>
  <r:item><name><![CDATA[<c>]]>&#65;</name></r:item>
</r:list>
<!-- the end -->
"#;
        let mut items = stream(xml).unwrap();
        assert!(items.root().is("urn:r", "list"));
        assert_eq!(items.root().attribute("n"), Some("2"));
        let first = items.next().unwrap().unwrap();
        assert!(first.is("urn:d", "item"));
        assert_eq!(first.attribute("id"), Some("1"));
        assert_eq!(first.child("urn:d", "name").unwrap().text, "a&b");
        assert!(xml[items.element_position() as usize..]
            .trim_start()
            .starts_with("<item"));
        items.recycle(first);
        let second = items.next().unwrap().unwrap();
        assert!(second.is("urn:r", "item"));
        assert_eq!(second.child("urn:d", "name").unwrap().text, "<c>A");
        assert!(second.attributes.is_empty());
        assert!(items.next().is_none());
        assert!(items.root().children.is_empty());
        assert!(items.next().is_none());
    }

    #[test]
    fn an_empty_root_has_no_children() {
        assert_eq!(all(r#"<list a="1"/>"#).unwrap(), vec![]);
        assert_eq!(all("<list>\n</list>").unwrap(), vec![]);
    }

    #[test]
    fn refuses_what_the_document_parser_refuses() {
        let doctype = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>"#;
        assert_eq!(stream(doctype).err(), Some(XmlError::Doctype));
        assert_eq!(all("<r><i>&a;</i></r>"), Err(XmlError::Entity("a".into())));
        assert!(matches!(
            all("<r><x:i/></r>"),
            Err(XmlError::UnboundPrefix(_))
        ));
        assert!(matches!(all("<r><i></r>"), Err(XmlError::Malformed(_))));
        assert!(matches!(all("<r><i/>"), Err(XmlError::Malformed(_))));
        assert!(matches!(
            all("<r><i/></r><r/>"),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(
            all("<r>text<i/></r>"),
            Err(XmlError::Malformed(_))
        ));
        assert_eq!(stream("").err(), Some(XmlError::Empty));
        assert_eq!(stream("  <!-- nothing -->").err(), Some(XmlError::Empty));
    }

    #[test]
    fn refuses_what_is_not_xml_in_records() {
        let not_xml = |xml: &str| match all(xml) {
            Err(XmlError::NotXml { place, value, .. }) => (place, value),
            other => panic!("{xml}: {other:?}"),
        };
        let place = |p: &str, v: &str| (p.to_string(), v.to_string());
        assert_eq!(
            not_xml("<r><i><n>a\u{0}b</n></i></r>"),
            place("r/i/n", "U+0000")
        );
        assert_eq!(not_xml("<r><i>&#x7;</i></r>"), place("r/i", "&#x7;"));
        assert_eq!(
            not_xml("<r><i/><!-- a -- b --></r>"),
            place("r", "<!-- a -- b -->")
        );
        assert_eq!(
            not_xml("<r><?xml version=\"1.0\"?><i/></r>"),
            place("r", "<?xml version=\"1.0\"?>")
        );
        assert_eq!(not_xml("<r><i a=\"<\"/></r>"), place("r/i/@a", "<"));
        let latin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>";
        assert!(matches!(
            stream(latin1).err(),
            Some(XmlError::NotXml { place, .. }) if place == "(prolog)/@encoding"
        ));
        // A record with an element inside a text field is read as such: the record's
        // reader refuses it (`Element::leaf_value`).
        let items = all("<r><i><n>1<b/>2</n></i></r>").unwrap();
        let n = &items[0].children[0];
        assert_eq!(n.leaf_value().unwrap_err().0.name, "b");
    }

    #[test]
    fn stops_after_an_error() {
        let mut items = stream("<r><i/><i></r><i/>").unwrap();
        assert!(items.next().unwrap().is_ok());
        assert!(items.next().unwrap().is_err());
        assert!(items.next().is_none());
    }

    #[test]
    fn limits_apply_to_each_child() {
        let limits = Limits {
            max_depth: 3,
            max_elements: 3,
        };
        let children = "<i><a/><b/></i>".repeat(5);
        let xml = format!("<r>{children}</r>");
        let items: Result<Vec<_>, _> = ElementStream::new(xml.as_bytes(), limits)
            .unwrap()
            .collect();
        assert_eq!(items.unwrap().len(), 5);
        let xml = "<r><i><a/><b/><c/></i></r>";
        let items: Result<Vec<_>, _> = ElementStream::new(xml.as_bytes(), limits)
            .unwrap()
            .collect();
        assert_eq!(items, Err(XmlError::TooManyElements(3)));
        let xml = "<r><i><a><b/></a></i></r>";
        let items: Result<Vec<_>, _> = ElementStream::new(xml.as_bytes(), limits)
            .unwrap()
            .collect();
        assert_eq!(items, Err(XmlError::TooDeep(3)));
    }

    #[test]
    fn recycled_elements_come_back_empty() {
        let xml = r#"<r><i a="1"><n>x</n><m>y</m></i><j><k/></j></r>"#;
        let mut items = stream(xml).unwrap();
        let first = items.next().unwrap().unwrap();
        items.recycle(first);
        let second = items.next().unwrap().unwrap();
        assert_eq!(
            second,
            Element {
                namespace: None,
                name: "j".into(),
                attributes: vec![],
                children: vec![Element {
                    name: "k".into(),
                    ..Element::default()
                }],
                text: String::new(),
            }
        );
    }
}
