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

/// (what, place, value) of a refusal for breaking an XML 1.0 rule.
fn not_xml(xml: &str) -> (String, String, String) {
    match parse_default(xml) {
        Err(XmlError::NotXml { what, place, value }) => (what, place, value),
        other => panic!("{xml}: {other:?}"),
    }
}

#[test]
fn refuses_characters_xml_does_not_allow() {
    for (xml, place, value) in [
        ("<r><t>a\u{0}b</t></r>", "r/t", "U+0000"),
        ("<r><t>a\u{7}b</t></r>", "r/t", "U+0007"),
        ("<r a=\"\u{1b}\"/>", "r", "U+001B"),
        ("<r>\u{FFFE}</r>", "r", "U+FFFE"),
        ("<r>\u{FFFF}</r>", "r", "U+FFFF"),
        ("<r><!-- \u{1} --></r>", "r", "U+0001"),
        ("\u{8}<r/>", "(prolog)", "U+0008"),
        ("<r/><!-- \u{8} -->", "(epilog)", "U+0008"),
    ] {
        let (what, at, got) = not_xml(xml);
        assert!(what.contains("not allowed in XML 1.0"), "{xml}: {what}");
        assert_eq!((at.as_str(), got.as_str()), (place, value), "{xml}");
    }
    for (xml, place, value) in [
        ("<r><t>&#x7;</t></r>", "r/t", "&#x7;"),
        ("<r>&#xFFFE;</r>", "r", "&#xFFFE;"),
        ("<r>&#1;</r>", "r", "&#1;"),
    ] {
        let (what, at, got) = not_xml(xml);
        assert!(what.contains("names no character XML 1.0 allows"), "{what}");
        assert_eq!((at.as_str(), got.as_str()), (place, value), "{xml}");
    }
    assert_eq!(not_xml("<r a=\"&#x7;\"/>").1, "r/@a");
    for refused in [
        "<r>&#0;</r>",
        "<r>&#xD800;</r>",
        "<r>&#x110000;</r>",
        "<r>&#X41;</r>",
        "<r>&#-1;</r>",
    ] {
        let (_, place, value) = not_xml(refused);
        assert_eq!(place, "r", "{refused}");
        assert_eq!(format!("<r>{value}</r>"), refused);
    }
    // Tab, CR, LF and everything from U+0020 on (but U+FFFE/F) are characters.
    let root = parse_default("<r a=\"&#9;\">\t\u{a0}\u{FFFD}\u{10FFFF}&#x1F600;&#10;</r>").unwrap();
    assert_eq!(root.text, "\t\u{a0}\u{FFFD}\u{10FFFF}\u{1F600}\n");
}

#[test]
fn refuses_what_quick_xml_lets_through() {
    let cases = [
        ("<r><!-- a -- b --></r>", "r", "<!-- a -- b -->"),
        ("<r><!-- a ---></r>", "r", "<!-- a --->"),
        ("<!-- a -- b --><r/>", "(prolog)", "<!-- a -- b -->"),
        (
            "<r><?xml version=\"1.0\"?></r>",
            "r",
            "<?xml version=\"1.0\"?>",
        ),
        (
            " <?xml version=\"1.0\"?><r/>",
            "(prolog)",
            "<?xml version=\"1.0\"?>",
        ),
        (
            "<r/><?xml version=\"1.0\"?>",
            "(epilog)",
            "<?xml version=\"1.0\"?>",
        ),
        ("<r><?XML x?></r>", "r", "<?XML x?>"),
        ("<r><b a=\"1\"c='2'/></r>", "r/b", "b a=\"1\"c='2'"),
        ("<r xmlns:p=\"\"/>", "r/@xmlns:p", ""),
        ("<r xmlns:p=\"urn:\ta\"/>", "r/@xmlns:p", "urn:\ta"),
        ("<r><?Xml?></r>", "r", "<?Xml?>"),
        ("<r a=\"<\"/>", "r/@a", "<"),
        ("<r><b c='x<y'/></r>", "r/b/@c", "x<y"),
        ("<r>a]]>b</r>", "r", "]]>"),
        (
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>",
            "(prolog)/@encoding",
            "ISO-8859-1",
        ),
        (
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?><r/>",
            "(prolog)/@encoding",
            "UTF-16",
        ),
        (
            "<?xml version=\"2.0\"?><r/>",
            "(prolog)",
            "<?xml version=\"2.0\"?>",
        ),
        (
            "<?xml version=\"1.0\" standalone=\"maybe\"?><r/>",
            "(prolog)",
            "<?xml version=\"1.0\" standalone=\"maybe\"?>",
        ),
        (
            "<?xml version=\"1.0\" e%ncoding=\"UTF-8\"?><r/>",
            "(prolog)",
            "<?xml version=\"1.0\" e%ncoding=\"UTF-8\"?>",
        ),
        (
            "<?xml encoding=\"UTF-8\" version=\"1.0\"?><r/>",
            "(prolog)",
            "<?xml encoding=\"UTF-8\" version=\"1.0\"?>",
        ),
        (
            "<?xml version=\"1.0\"encoding=\"UTF-8\"?><r/>",
            "(prolog)",
            "<?xml version=\"1.0\"encoding=\"UTF-8\"?>",
        ),
        ("<?xml?><r/>", "(prolog)", "<?xml?>"),
        ("<r xmlns:p=\"urn:&amp;\"/>", "r/@xmlns:p", "urn:&amp;"),
        ("<r><1a/></r>", "r", "1a"),
        ("<r><a:b:c xmlns:a=\"urn:a\"/></r>", "r", "a:b:c"),
        ("<r><:a/></r>", "r", ":a"),
        ("<r -a=\"1\"/>", "r", "-a"),
        (
            "<r xmlns:p=\"urn:p\" xmlns:q=\"urn:p\" p:a=\"1\" q:a=\"2\"/>",
            "r/@q:a",
            "",
        ),
    ];
    for (xml, place, value) in cases {
        let (_, at, got) = not_xml(xml);
        assert_eq!((at.as_str(), got.as_str()), (place, value), "{xml}");
    }
    for refused in ["<![CDATA[ ]]><r/>", "&#32;<r/>", "<r/>&#32;"] {
        assert!(parse_default(refused).is_err(), "{refused}");
    }
    // What stays accepted: a declaration first (any case of UTF-8), other processing
    // instructions, comments, `>` and `]]` in text, `-` inside a comment, names with
    // dots, digits and non-ASCII letters.
    for accepted in [
        "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?><r/>",
        "\u{feff}<?xml version=\"1.0\"?><r/>",
        "<?xml version='1.0'?><!-- a - b --><?xml-stylesheet href=\"a\"?><r/>",
        "<r>a > b ]] c<!--a-b--><é.1-x/></r>",
        "<r a=\"x > y\" b='&lt;'/>",
    ] {
        assert!(
            parse_default(accepted).is_ok(),
            "{accepted}: {:?}",
            parse_default(accepted)
        );
    }
}

#[test]
fn accessors_refuse_duplicates_and_elements_in_text() {
    let root =
        parse_default("<r><a>1</a><a>2</a><b> 00121<x/>130362 </b><c>\u{a0}1 </c></r>").unwrap();
    assert_eq!(root.single_child("", "a"), Ok(None));
    let root = parse_default(
        r#"<r xmlns="urn:r"><a>1</a><a>2</a><b> 00121<x/>130362 </b><c>&#xa0;1 </c></r>"#,
    )
    .unwrap();
    assert_eq!(root.single_child("urn:r", "a"), Err(Duplicated));
    assert_eq!(root.single_child("urn:r", "z"), Ok(None));
    let b = root.single_child("urn:r", "b").unwrap().unwrap();
    assert_eq!(b.leaf_value().unwrap_err().0.name, "x");
    let c = root.single_child("urn:r", "c").unwrap().unwrap();
    assert_eq!(c.leaf_value(), Ok("\u{a0}1"));
    assert!(root.has_no_text());
    assert!(!parse_default("<r>x<a/></r>").unwrap().has_no_text());
    assert!(parse_default("<r>\n <a/>\t</r>").unwrap().has_no_text());
    assert_eq!(root.children_named("urn:r", "a").count(), 2);
}
