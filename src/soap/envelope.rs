//! Opening a SOAP 1.1 envelope: the header blocks and the one operation element of the body.

use super::fault::{Fault, ReasonCode};
use super::security::WSSE_NS;
use crate::xml::writer::SOAP_ENVELOPE_NS;
use crate::xml::{self, Element, Limits, XmlError};

const SOAP12_ENVELOPE_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
const NEXT_ACTOR: &str = "http://schemas.xmlsoap.org/soap/actor/next";

/// A request as it arrived: its header (if any) and the body's operation element.
#[derive(Debug)]
pub struct Envelope {
    pub header: Option<Element>,
    pub operation: Element,
}

impl Envelope {
    pub fn parse(body: &[u8]) -> Result<Envelope, Fault> {
        let text = std::str::from_utf8(body).map_err(|_| {
            Fault::new(
                ReasonCode::MalformedRequest,
                "the message must be encoded in UTF-8",
            )
        })?;
        let root = xml::parse(text, Limits::default()).map_err(|e| {
            let reason = match e {
                XmlError::TooDeep(_) | XmlError::TooManyElements(_) => ReasonCode::RequestTooLarge,
                _ => ReasonCode::MalformedRequest,
            };
            let fault = Fault::new(reason, e.to_string());
            match &e {
                XmlError::NotXml { place, value, .. } => fault.field(place, value),
                _ => fault,
            }
        })?;
        if root.is(SOAP12_ENVELOPE_NS, "Envelope") {
            return Err(Fault::new(
                ReasonCode::SoapVersionMismatch,
                "only SOAP 1.1 envelopes are accepted",
            ));
        }
        if !root.is(SOAP_ENVELOPE_NS, "Envelope") {
            return Err(Fault::new(
                ReasonCode::MalformedRequest,
                format!(
                    "the root element must be {{{SOAP_ENVELOPE_NS}}}Envelope, not {}",
                    root.expanded_name()
                ),
            ));
        }
        only_elements(&root, "Envelope")?;
        let mut header = None;
        let mut body = None;
        for child in root.children {
            let twice = |name: &str| {
                Fault::new(
                    ReasonCode::MalformedRequest,
                    format!("the envelope has more than one {name}"),
                )
                .field(name, "")
            };
            if child.is(SOAP_ENVELOPE_NS, "Header") {
                if header.is_some() {
                    return Err(twice("Header"));
                }
                if body.is_some() {
                    return Err(Fault::new(
                        ReasonCode::MalformedRequest,
                        "the Header must come before the Body",
                    )
                    .field("Header", ""));
                }
                header = Some(child);
            } else if child.is(SOAP_ENVELOPE_NS, "Body") {
                if body.is_some() {
                    return Err(twice("Body"));
                }
                body = Some(child);
            } else {
                return Err(Fault::new(
                    ReasonCode::MalformedRequest,
                    format!(
                        "unexpected element {} in the envelope",
                        child.expanded_name()
                    ),
                ));
            }
        }
        if let Some(header) = &header {
            only_elements(header, "Header")?;
            check_must_understand(header)?;
        }
        let body = body
            .ok_or_else(|| Fault::new(ReasonCode::MalformedRequest, "the envelope has no Body"))?;
        only_elements(&body, "Body")?;
        let mut elements = body.children.into_iter();
        match (elements.next(), elements.next()) {
            (Some(operation), None) => {
                only_elements(&operation, &operation.name)?;
                Ok(Envelope { header, operation })
            }
            (None, _) => Err(Fault::new(
                ReasonCode::MalformedRequest,
                "the Body carries no operation",
            )),
            (Some(_), Some(_)) => Err(Fault::new(
                ReasonCode::MalformedRequest,
                "the Body must carry exactly one operation element",
            )),
        }
    }
}

/// The Envelope, Header, Body and operation elements hold elements, and only white space
/// beside them.
fn only_elements(element: &Element, name: &str) -> Result<(), Fault> {
    if element.has_no_text() {
        return Ok(());
    }
    Err(Fault::new(
        ReasonCode::MalformedRequest,
        format!("text is not allowed directly inside {name}"),
    )
    .field(name, element.value()))
}

/// SOAP 1.1 §4.2.3: a header block meant for us (no actor, or the "next" actor) marked
/// mustUnderstand="1" that we do not process must refuse the message.
fn check_must_understand(header: &Element) -> Result<(), Fault> {
    for block in &header.children {
        let must = block.attribute_ns(SOAP_ENVELOPE_NS, "mustUnderstand");
        let for_us = matches!(
            block.attribute_ns(SOAP_ENVELOPE_NS, "actor"),
            None | Some(NEXT_ACTOR)
        );
        let understood = block.is(WSSE_NS, "Security");
        if matches!(must, Some("1") | Some("true")) && for_us && !understood {
            return Err(Fault::new(
                ReasonCode::HeaderNotUnderstood,
                format!(
                    "the header block {} is not understood",
                    block.expanded_name()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(inner: &str) -> String {
        format!(r#"<s:Envelope xmlns:s="{SOAP_ENVELOPE_NS}">{inner}</s:Envelope>"#)
    }

    #[test]
    fn finds_header_and_operation() {
        let xml = envelope(r#"<s:Header/><s:Body><op xmlns="urn:x"/></s:Body>"#);
        let env = Envelope::parse(xml.as_bytes()).unwrap();
        assert!(env.header.is_some());
        assert!(env.operation.is("urn:x", "op"));
    }

    #[test]
    fn refuses_wrong_envelopes() {
        let reason = |xml: &str| Envelope::parse(xml.as_bytes()).unwrap_err().reason;
        assert_eq!(
            reason(
                r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>"#
            ),
            ReasonCode::SoapVersionMismatch
        );
        assert_eq!(
            reason(r#"<s:Envelope xmlns:s="urn:wrong"><s:Body/></s:Envelope>"#),
            ReasonCode::MalformedRequest
        );
        assert_eq!(reason(&envelope("<s:Body/>")), ReasonCode::MalformedRequest);
        assert_eq!(
            reason(&envelope(
                r#"<s:Body><a xmlns="urn:x"/><b xmlns="urn:x"/></s:Body>"#
            )),
            ReasonCode::MalformedRequest
        );
        assert_eq!(
            reason(&envelope(
                r#"<s:Header><h xmlns="urn:h" s:mustUnderstand="1"/></s:Header><s:Body><a xmlns="urn:x"/></s:Body>"#
            )),
            ReasonCode::HeaderNotUnderstood
        );
        assert_eq!(
            Envelope::parse(b"\xff<a/>").unwrap_err().reason,
            ReasonCode::MalformedRequest
        );
    }
}
