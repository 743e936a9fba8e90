//! Writing XML: a string builder for elements with fixed prefixes, for SOAP answers (small,
//! built in one pass) and for files (written piecewise: `take` hands over what is built so far).
//! Text is escaped here and nowhere else.

use std::fmt::Write as _;

/// The SOAP 1.1 envelope namespace.
pub const SOAP_ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

#[derive(Debug, Default)]
pub struct XmlOut {
    buf: String,
}

impl XmlOut {
    /// Starts `<soapenv:Envelope>` declaring `namespaces` (prefix, URI) and opens the Body.
    pub fn envelope(namespaces: &[(&str, &str)]) -> XmlOut {
        let mut out = XmlOut {
            buf: String::with_capacity(2048),
        };
        out.buf
            .push_str(r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv=""#);
        out.buf.push_str(SOAP_ENVELOPE_NS);
        out.buf.push('"');
        for (prefix, uri) in namespaces {
            let _ = write!(out.buf, r#" xmlns:{prefix}="{uri}""#);
        }
        out.buf.push_str("><soapenv:Body>");
        out
    }

    /// An empty builder for a file or a fragment (no envelope).
    pub fn fragment() -> XmlOut {
        XmlOut {
            buf: String::with_capacity(64 * 1024),
        }
    }

    /// What was built so far, leaving the builder empty (to write a large file piecewise).
    pub fn take(&mut self) -> String {
        std::mem::take(&mut self.buf)
    }

    /// How many bytes are built and not yet taken.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is built.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends markup as it is (a prolog, a start tag with attributes). Never for data: use
    /// `leaf` or `attribute_value`, which escape.
    pub fn raw(&mut self, markup: &str) -> &mut Self {
        self.buf.push_str(markup);
        self
    }

    /// Appends `text` escaped for use between double quotes of an attribute.
    pub fn attribute_value(&mut self, text: &str) -> &mut Self {
        self.buf.push_str(&quick_xml::escape::escape(text));
        self
    }

    /// Closes the Body and the Envelope and gives the document.
    pub fn finish(mut self) -> String {
        self.buf.push_str("</soapenv:Body></soapenv:Envelope>");
        self.buf
    }

    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(tag);
        self.buf.push('>');
        self
    }

    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.buf.push_str("</");
        self.buf.push_str(tag);
        self.buf.push('>');
        self
    }

    /// `<tag>text</tag>`, the text escaped.
    pub fn leaf(&mut self, tag: &str, text: &str) -> &mut Self {
        self.open(tag);
        self.buf.push_str(&quick_xml::escape::escape(text));
        self.close(tag)
    }

    /// `<prefix:name>`, without building the tag name.
    pub fn open_ns(&mut self, prefix: &str, name: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(prefix);
        self.buf.push(':');
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }

    /// `</prefix:name>`.
    pub fn close_ns(&mut self, prefix: &str, name: &str) -> &mut Self {
        self.buf.push_str("</");
        self.buf.push_str(prefix);
        self.buf.push(':');
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }

    /// `<prefix:name>text</prefix:name>`, the text escaped; nothing when there is no text.
    pub fn leaf_ns(&mut self, prefix: &str, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.open_ns(prefix, name);
            self.buf.push_str(&quick_xml::escape::escape(text));
            self.close_ns(prefix, name);
        }
        self
    }

    /// A leaf only when there is a value.
    pub fn optional_leaf(&mut self, tag: &str, text: Option<&str>) -> &mut Self {
        if let Some(text) = text {
            self.leaf(tag, text);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_nests_elements() {
        let mut out = XmlOut::envelope(&[("a", "urn:a")]);
        out.open("a:x")
            .leaf("a:y", "<&>\"")
            .optional_leaf("a:z", None)
            .close("a:x");
        let xml = out.finish();
        assert!(xml.contains(r#"xmlns:a="urn:a""#));
        assert!(xml.contains("<a:x><a:y>&lt;&amp;&gt;&quot;</a:y></a:x>"));
        assert!(xml.ends_with("</soapenv:Body></soapenv:Envelope>"));
    }
}
