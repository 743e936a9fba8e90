//! The lexical rules of XML 1.0 (fifth edition) and Namespaces in XML 1.0 that quick-xml
//! leaves to its caller: which characters and names are allowed, how attributes are
//! separated, what a namespace declaration may bind.

use quick_xml::name::PrefixDeclaration;

use super::tree::is_xml_space;

const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// What is wrong with a namespace declaration (Namespaces in XML 1.0, §3), if anything.
pub(super) fn wrong_binding(binding: PrefixDeclaration<'_>, value: &str) -> Option<&'static str> {
    if value.contains(['&', '\t', '\n', '\r']) {
        // quick-xml resolves prefixes to the namespace name as written, not normalized: one
        // written with references, tabs or line breaks would not be the name it means.
        return Some(
            "a namespace name written with references, tabs or line breaks is not accepted",
        );
    }
    match binding {
        PrefixDeclaration::Named("xmlns") => Some("the prefix xmlns may not be declared"),
        PrefixDeclaration::Named("xml") if value != XML_NS => {
            Some("the prefix xml may only be bound to its own namespace")
        }
        PrefixDeclaration::Named("xml") => None,
        PrefixDeclaration::Named(_) if value.is_empty() => {
            Some("a prefix may not be bound to an empty namespace name")
        }
        _ if value == XML_NS || value == XMLNS_NS => {
            Some("the namespaces of xml and xmlns may not be bound to another prefix")
        }
        _ => None,
    }
}

/// `name = "value"` (or single quotes) at the start of `text`: name, value, what follows.
pub(super) fn pseudo_attribute(text: &str) -> Option<(&str, &str, &str)> {
    let name_end = text.find(|c: char| !c.is_ascii_alphabetic())?;
    let (name, rest) = text.split_at(name_end);
    let rest = rest.trim_start_matches(is_xml_space).strip_prefix('=')?;
    let rest = rest.trim_start_matches(is_xml_space);
    let quote = rest.chars().next().filter(|q| matches!(q, '"' | '\''))?;
    let rest = &rest[1..];
    let end = rest.find(quote)?;
    Some((name, &rest[..end], &rest[end + 1..]))
}

/// Whether, in the content of a start tag, every attribute value is followed by white
/// space, `/` or the end of the tag (quick-xml reads `a="1"b="2"` as two attributes).
pub(super) fn attributes_separated(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => {
                quote = None;
                let next = bytes.get(i + 1).copied().unwrap_or(b' ');
                if !matches!(next, b' ' | b'\t' | b'\n' | b'\r' | b'/') {
                    return false;
                }
            }
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None => {}
        }
    }
    true
}

/// Whether `text` is XML white space only.
pub(super) fn is_blank(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// XML 1.0 `Char`: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
/// (a Rust `char` is never a surrogate).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{FFFD}' | '\u{10000}'..)
}

/// The first character of `text` that XML 1.0 does not allow, found on the bytes: a C0
/// control other than tab, LF and CR, or U+FFFE / U+FFFF (EF BF BE / EF BF BF).
pub(super) fn forbidden_char(text: &str) -> Option<char> {
    let bytes = text.as_bytes();
    let at = bytes.iter().enumerate().position(|(i, &b)| {
        (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
            || (b == 0xEF
                && bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)))
    })?;
    text[at..].chars().next()
}

/// `U+XXXX`, how a character that cannot be written in XML is named.
pub(super) fn code(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// XML 1.0 (fifth edition) `NameStartChar`.
pub(super) fn is_name_start(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 (fifth edition) `NameChar`.
pub(super) fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// An XML `Name`. Names are nearly always ASCII: those are checked byte by byte (a tenth
/// of the cost of decoding and classifying each character, which counts in a file of
/// millions of elements).
pub(super) fn is_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_ascii() {
        let start = |b: &u8| matches!(b, b':' | b'A'..=b'Z' | b'_' | b'a'..=b'z');
        return bytes.first().is_some_and(start)
            && bytes[1..]
                .iter()
                .all(|b| start(b) || matches!(b, b'-' | b'.' | b'0'..=b'9'));
    }
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// A namespace-well-formed QName: a name with at most one colon, neither first nor last.
pub(super) fn is_qname(name: &str) -> bool {
    let mut parts = name.splitn(2, ':');
    let valid = |part: Option<&str>| part.is_some_and(|p| is_name(p) && !p.contains(':'));
    let prefix = parts.next();
    match parts.next() {
        None => valid(prefix),
        local => valid(prefix) && valid(local),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The ASCII path of `is_name` says what the XML grammar's character classes say.
        #[test]
        fn ascii_names_are_checked_as_the_grammar_says(name in "[ -~]{0,12}|\\PC{0,6}") {
            let mut chars = name.chars();
            let expected = chars.next().is_some_and(is_name_start) && chars.all(is_name_char);
            prop_assert_eq!(is_name(&name), expected);
        }
    }

    #[test]
    fn names_start_with_a_letter_underscore_or_colon() {
        for name in ["person", "p:ssin", "_x", "a-b.c9", "été"] {
            assert!(is_name(name), "{name}");
        }
        for name in ["", "9a", "-a", ".a", "a b", "a\u{0}"] {
            assert!(!is_name(name), "{name:?}");
        }
    }
}
