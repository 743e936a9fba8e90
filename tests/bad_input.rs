//! Envelopes the service must refuse: each gets HTTP 500 with a SOAP fault carrying its
//! stable reason code, leaves exactly one audit entry, writes nothing, and the server keeps
//! serving. And the contrast: equivalent spellings of a valid request are accepted.

#[macro_use]
mod common;

use common::refusal::{case, check, check_after, padded, replaced, valid, with_faultcode};
use common::soap::{envelope, REG_NS, SOAP11_NS, SOAP12_NS};
use common::{org_a, Backend, Request, TestApp, NISS_1};

fn refuses_bad_envelopes(backend: Backend) {
    let app = TestApp::start(backend);
    let xml = valid().to_xml();
    let op = valid().operation_xml();
    let with_header = |block: &str| valid().header(block).to_xml();
    let bomb = format!(
        r#"?><!DOCTYPE soapenv:Envelope [<!ENTITY lol "lol">{}]>"#,
        (2..=9)
            .map(|n| format!(
                r#"<!ENTITY lol{n} "{}">"#,
                format!("&lol{};", n - 1).repeat(10)
            ))
            .collect::<String>()
            .replace("&lol1;", "&lol;")
    );
    let deep = format!(
        "{}{}",
        r#"<d xmlns="urn:deep">"#.repeat(100),
        "</d>".repeat(100)
    );
    let many = format!(r#"<m xmlns="urn:many">{}</m>"#, "<e/>".repeat(10_001));
    let latin1: Vec<u8> = replaced(&xml, "encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"")
        .replace("PCSA:SOCIAL_INQUIRY", "S\u{e9}curit\u{e9}")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("Latin-1"))
        .collect();
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(xml.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let tracking =
        r#"<t:Tracking xmlns:t="urn:tracking" soapenv:mustUnderstand="1">42</t:Tracking>"#;
    let must_understand = |case| with_faultcode("soapenv:MustUnderstand", case);
    let malformed = "MALFORMED_REQUEST";
    let unknown = "UNKNOWN_OPERATION";

    check(
        &app,
        vec![
            case("truncated XML", &xml[..xml.len() / 2], malformed),
            case("not XML", "this is not XML", malformed),
            case("empty body", "", malformed),
            case(
                "mismatched end tag",
                replaced(&xml, "</reg:ssin>", "</reg:ssn>"),
                malformed,
            ),
            case("content after the root", format!("{xml}<x/>"), malformed),
            case(
                "unbound prefix",
                replaced(&xml, &format!(r#" xmlns:reg="{REG_NS}""#), ""),
                malformed,
            ),
            case(
                "unknown operation",
                replaced(&xml, "registerPersonRequest", "deletePersonRequest"),
                unknown,
            ),
            case(
                "operation without namespace",
                replaced(&xml, "reg:registerPersonRequest", "registerPersonRequest"),
                unknown,
            ),
            case(
                "operation of another version",
                replaced(&xml, REG_NS, "urn:be:raas:types:PersonRegister:v2"),
                unknown,
            ),
            case(
                "wrong envelope namespace",
                replaced(&xml, SOAP11_NS, "urn:not-soap"),
                malformed,
            ),
            with_faultcode(
                "soapenv:VersionMismatch",
                case(
                    "SOAP 1.2 envelope",
                    replaced(&xml, SOAP11_NS, SOAP12_NS),
                    "SOAP_VERSION_MISMATCH",
                ),
            ),
            case(
                "no Body",
                replaced(&envelope("", ""), "<soapenv:Body></soapenv:Body>", ""),
                malformed,
            ),
            case("empty Body", envelope("", ""), malformed),
            case(
                "two operations",
                envelope("", &format!("{op}{op}")),
                malformed,
            ),
            case(
                "entity expansion bomb",
                replaced(&xml, "?>", &bomb).replace("PCSA:SOCIAL_INQUIRY", "&lol9;"),
                malformed,
            ),
            case(
                "external entity",
                replaced(
                    &xml,
                    "?>",
                    r#"?><!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>"#,
                )
                .replace("PCSA:SOCIAL_INQUIRY", "&xxe;"),
                malformed,
            ),
            case(
                "undeclared entity",
                replaced(&xml, "PCSA:SOCIAL_INQUIRY", "&xxe;"),
                malformed,
            ),
            case("deep nesting", with_header(&deep), "REQUEST_TOO_LARGE"),
            case("too many elements", with_header(&many), "REQUEST_TOO_LARGE"),
            case("ISO-8859-1 body", latin1, malformed),
            case("UTF-16 body", utf16, malformed),
            must_understand(case(
                "unknown mustUnderstand header",
                with_header(tracking),
                "HEADER_NOT_UNDERSTOOD",
            )),
            must_understand(case(
                "mustUnderstand=\"true\"",
                with_header(&tracking.replace("\"1\"", "\"true\"")),
                "HEADER_NOT_UNDERSTOOD",
            )),
        ],
    );
}

fn refuses_a_body_over_the_size_limit(backend: Backend) {
    let app = TestApp::start_with(backend, &["--max-request-bytes", "2048"]);
    // Exactly at the limit is accepted (and recorded: one entry before the cases).
    let at_limit = padded(&Request::consult(&org_a(), NISS_1), 2048);
    assert_eq!(app.post(at_limit).ok().status(), "NO_DATA_FOUND");
    check_after(
        &app,
        1,
        vec![
            case("one byte over", padded(&valid(), 2049), "REQUEST_TOO_LARGE"),
            case("10 kB body", padded(&valid(), 10_000), "REQUEST_TOO_LARGE"),
        ],
    );
    // Without a Content-Length, the bytes are counted as they come.
    let chunked = app.post_chunked(padded(&valid(), 10_000));
    chunked.fault("REQUEST_TOO_LARGE");
    let small = app.post_chunked(valid().to_xml());
    assert_eq!(small.ok().lines(), ["EMPLOYEE 2024-01-01..2024-12-31"]);
}

fn refuses_a_body_over_the_default_size_limit(backend: Backend) {
    let app = TestApp::start(backend);
    check(
        &app,
        vec![case(
            "64 KiB + 1 body",
            padded(&valid(), 65_537),
            "REQUEST_TOO_LARGE",
        )],
    );
}

/// The contrast: equivalent spellings of a valid request are accepted.
fn accepts_equivalent_xml_forms(backend: Backend) {
    let app = TestApp::start(backend);
    let xml = valid().to_xml();
    let variants = [
        // Character references, CDATA, white space and comments around values.
        replaced(&xml, &format!(">{NISS_1}<"), "> &#56;5073003328 <"),
        replaced(
            &xml,
            &format!(">{NISS_1}<"),
            &format!("><![CDATA[{NISS_1}]]><"),
        ),
        replaced(
            &xml,
            "<reg:dossierType>",
            "<reg:dossierType><!-- the role -->",
        ),
        // Other prefixes, and default namespaces.
        replaced(&xml, "reg:", "r:").replace("xmlns:reg=", "xmlns:r="),
        replaced(&xml, "reg:", "").replace("xmlns:reg=", "xmlns="),
        replaced(&xml, "soapenv:", "S:").replace("xmlns:soapenv=", "xmlns:S="),
        // A header block we do not know, not marked mustUnderstand.
        valid()
            .header(r#"<t:Tracking xmlns:t="urn:tracking">42</t:Tracking>"#)
            .to_xml(),
        // A UTF-8 byte order mark, as some .NET clients send.
        format!("\u{feff}{xml}"),
        // Without the XML declaration and without legalContext.
        replaced(
            &valid().legal_context(None).to_xml(),
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "",
        ),
    ];
    for (i, body) in variants.into_iter().enumerate() {
        let answer = app.post(body.clone());
        assert_eq!(
            answer.http_status, 200,
            "variant {i}: {body}\n{}",
            answer.body
        );
        assert_eq!(
            answer.lines(),
            ["EMPLOYEE 2024-01-01..2024-12-31"],
            "variant {i}"
        );
    }
}

/// SOAP 1.1 §4.2.2-4.2.3: a header block addressed to another actor is not for this node,
/// so its mustUnderstand does not concern it.
fn ignores_must_understand_headers_for_another_actor(backend: Backend) {
    let app = TestApp::start(backend);
    let block = r#"<t:Route xmlns:t="urn:routing" soapenv:actor="urn:some-intermediary" soapenv:mustUnderstand="1">hop</t:Route>"#;
    let answer = app.call(&valid().header(block));
    assert_eq!(answer.http_status, 200, "{}", answer.body);
    // Addressed to the next node (this one), it must be understood.
    let next = block.replace(
        "urn:some-intermediary",
        "http://schemas.xmlsoap.org/soap/actor/next",
    );
    app.call(&valid().header(&next))
        .fault("HEADER_NOT_UNDERSTOOD");
}

backend_tests!(
    refuses_bad_envelopes,
    refuses_a_body_over_the_size_limit,
    refuses_a_body_over_the_default_size_limit,
    accepts_equivalent_xml_forms,
    ignores_must_understand_headers_for_another_actor,
);
