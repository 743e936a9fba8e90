//! Building PersonRegisterService requests: envelopes, WS-Security headers, operations.

use std::sync::atomic::{AtomicU64, Ordering};

pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const REG_NS: &str = "urn:be:raas:types:PersonRegister:v1";
pub const COMMON_NS: &str = "urn:be:raas:types:common:v1";
pub const WSSE_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
pub const PASSWORD_TEXT: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText";
pub const PASSWORD_DIGEST: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";
pub const TIMESTAMP_SENT: &str = "2024-05-02T10:15:00.000Z";

/// An organisation of the register and the credential it calls with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub cbe: String,
    pub name: String,
    pub username: String,
    pub password: String,
}

impl Org {
    pub fn new(cbe: &str, name: &str, username: &str) -> Org {
        Org {
            cbe: cbe.into(),
            name: name.into(),
            username: username.into(),
            password: format!("{username}-secret-0123456789"),
        }
    }
}

/// How a request proves who calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    Text { username: String, password: String },
    Digest { username: String, password: String },
    None,
}

/// One request; the builders fill what an operation needs, the rest stays out.
#[derive(Debug, Clone)]
pub struct Request {
    pub operation: &'static str,
    pub security: Security,
    pub cbe: String,
    pub ticket: String,
    pub legal_context: Option<String>,
    pub ssin: Option<String>,
    pub dossier_type: Option<String>,
    /// In the `begin..end` / `begin..` notation of [`period_xml`].
    pub period: Option<String>,
    /// `personData`, as raw XML.
    pub person_data: Option<String>,
    /// Extra header blocks, as raw XML.
    pub extra_headers: String,
}

/// A client reference unique within the test run (at most 36 characters).
pub fn new_ticket() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "t-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Request {
    fn new(operation: &'static str, org: &Org) -> Request {
        Request {
            operation,
            security: Security::Text {
                username: org.username.clone(),
                password: org.password.clone(),
            },
            cbe: org.cbe.clone(),
            ticket: new_ticket(),
            legal_context: Some("PCSA:SOCIAL_INQUIRY".into()),
            ssin: None,
            dossier_type: None,
            period: None,
            person_data: None,
            extra_headers: String::new(),
        }
    }

    /// `personData`: last name, first name, birth date, gender (None: left out).
    pub fn person_data(
        mut self,
        last_name: &str,
        first_name: Option<&str>,
        birth_date: &str,
        gender: Option<&str>,
    ) -> Request {
        let mut xml = format!("<reg:personData>{}", leaf("reg:lastName", last_name));
        if let Some(first_name) = first_name {
            xml += &leaf("reg:firstName", first_name);
        }
        xml += &leaf("reg:birthDate", birth_date);
        if let Some(gender) = gender {
            xml += &leaf("reg:gender", gender);
        }
        self.person_data = Some(xml + "</reg:personData>");
        self
    }

    pub fn register(org: &Org, ssin: &str, dossier_type: &str, period: &str) -> Request {
        Request::new("registerPerson", org)
            .ssin(ssin)
            .dossier_type(dossier_type)
            .period(period)
    }

    /// Unregisters every line of the type, or only `period` of them.
    pub fn unregister(org: &Org, ssin: &str, dossier_type: &str, period: Option<&str>) -> Request {
        let request = Request::new("unregisterPerson", org)
            .ssin(ssin)
            .dossier_type(dossier_type);
        match period {
            Some(period) => request.period(period),
            None => request,
        }
    }

    /// Consults every line of the person; narrow with `dossier_type` / `period`.
    pub fn consult(org: &Org, ssin: &str) -> Request {
        Request::new("consultRegister", org).ssin(ssin)
    }

    pub fn list_dossier_types(org: &Org) -> Request {
        Request::new("listDossierTypes", org)
    }

    pub fn ssin(mut self, ssin: &str) -> Request {
        self.ssin = Some(ssin.into());
        self
    }

    pub fn dossier_type(mut self, code: &str) -> Request {
        self.dossier_type = Some(code.into());
        self
    }

    pub fn period(mut self, period: &str) -> Request {
        self.period = Some(period.into());
        self
    }

    pub fn cbe(mut self, cbe: &str) -> Request {
        self.cbe = cbe.into();
        self
    }

    pub fn ticket(mut self, ticket: &str) -> Request {
        self.ticket = ticket.into();
        self
    }

    pub fn legal_context(mut self, legal_context: Option<&str>) -> Request {
        self.legal_context = legal_context.map(Into::into);
        self
    }

    pub fn security(mut self, security: Security) -> Request {
        self.security = security;
        self
    }

    pub fn password(self, password: &str) -> Request {
        let username = match &self.security {
            Security::Text { username, .. } | Security::Digest { username, .. } => username.clone(),
            Security::None => panic!("no credential to change the password of"),
        };
        self.security(Security::Text {
            username,
            password: password.into(),
        })
    }

    pub fn header(mut self, block: &str) -> Request {
        self.extra_headers.push_str(block);
        self
    }

    /// The whole SOAP 1.1 envelope.
    pub fn to_xml(&self) -> String {
        let security = match &self.security {
            Security::Text { username, password } => {
                security_header(username, password, PASSWORD_TEXT)
            }
            Security::Digest { username, password } => {
                security_header(username, password, PASSWORD_DIGEST)
            }
            Security::None => String::new(),
        };
        envelope(
            &format!("{security}{}", self.extra_headers),
            &self.operation_xml(),
        )
    }

    /// The body's operation element.
    pub fn operation_xml(&self) -> String {
        let mut xml = format!(
            r#"<reg:{op}Request xmlns:reg="{REG_NS}" xmlns:common="{COMMON_NS}"><reg:informationCustomer><common:ticket>{ticket}</common:ticket><common:timestampSent>{TIMESTAMP_SENT}</common:timestampSent><common:customerIdentification><common:cbeNumber>{cbe}</common:cbeNumber></common:customerIdentification></reg:informationCustomer>"#,
            op = self.operation,
            ticket = escape(&self.ticket),
            cbe = escape(&self.cbe),
        );
        if let Some(legal_context) = &self.legal_context {
            xml += &leaf("reg:legalContext", legal_context);
        }
        if let Some(ssin) = &self.ssin {
            xml += &leaf("reg:ssin", ssin);
        }
        if let Some(code) = &self.dossier_type {
            xml += &leaf("reg:dossierType", code);
        }
        if let Some(period) = &self.period {
            xml += &period_xml("reg", period);
        }
        if let Some(person_data) = &self.person_data {
            xml += person_data;
        }
        xml + &format!("</reg:{}Request>", self.operation)
    }
}

/// A SOAP 1.1 envelope around header blocks (none: no Header) and a body.
pub fn envelope(header: &str, body: &str) -> String {
    let header = if header.is_empty() {
        String::new()
    } else {
        format!("<soapenv:Header>{header}</soapenv:Header>")
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP11_NS}">{header}<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

pub fn security_header(username: &str, password: &str, password_type: &str) -> String {
    format!(
        r#"<wsse:Security xmlns:wsse="{WSSE_NS}" soapenv:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>{}</wsse:Username><wsse:Password Type="{password_type}">{}</wsse:Password></wsse:UsernameToken></wsse:Security>"#,
        escape(username),
        escape(password)
    )
}

fn leaf(tag: &str, text: &str) -> String {
    format!("<{tag}>{}</{tag}>", escape(text))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `2024-01-01..2024-03-31` (end included) or `2024-01-01..` (open) as a PeriodType.
pub fn period_xml(prefix: &str, period: &str) -> String {
    let (begin, end) = period
        .split_once("..")
        .unwrap_or_else(|| panic!("a period is written begin..end or begin..: {period}"));
    let end = if end.is_empty() {
        String::new()
    } else {
        leaf(&format!("{prefix}:endDate"), end)
    };
    format!(
        "<{prefix}:period>{}{end}</{prefix}:period>",
        leaf(&format!("{prefix}:beginDate"), begin)
    )
}

// --- PersonIdentificationService ------------------------------------------------------------

pub const IDENT_NS: &str = "urn:be:raas:types:PersonIdentification:v1";
pub const IDENT_PERSON_NS: &str = "urn:be:raas:types:Person:v1";
pub const IDENT_PATH: &str = "/soap/PersonIdentificationService";

/// One PersonIdentificationService request: the fields it shares with the register's
/// requests (informationCustomer, legalContext, ssin, security) in `request`, written in the
/// identification namespace (still with the prefix `reg`: a prefix is only a name).
#[derive(Debug, Clone)]
pub struct IdentRequest {
    pub request: Request,
    /// The content of `changes` (an IdentityChangesType, prefix `p`), for updateBisIdentity.
    pub changes: Option<String>,
}

impl IdentRequest {
    fn new(operation: &'static str, org: &Org, ssin: &str) -> IdentRequest {
        IdentRequest {
            request: Request {
                operation,
                ..Request::list_dossier_types(org)
            }
            .ssin(ssin),
            changes: None,
        }
    }

    pub fn identify(org: &Org, ssin: &str) -> IdentRequest {
        IdentRequest::new("identifyPerson", org, ssin)
    }

    /// `changes` is the content of the IdentityChangesType with prefix `p`, e.g.
    /// `<p:lastName>Peeters</p:lastName>`.
    pub fn update_bis(org: &Org, ssin: &str, changes: &str) -> IdentRequest {
        IdentRequest {
            changes: Some(changes.into()),
            ..IdentRequest::new("updateBisIdentity", org, ssin)
        }
    }

    /// The same request with its shared fields changed: `.with(|r| r.cbe(OTHER))`.
    pub fn with(self, change: impl FnOnce(Request) -> Request) -> IdentRequest {
        IdentRequest {
            request: change(self.request),
            ..self
        }
    }

    /// The whole SOAP 1.1 envelope.
    pub fn to_xml(&self) -> String {
        self.request
            .to_xml()
            .replacen(&self.request.operation_xml(), &self.operation_xml(), 1)
    }

    /// The body's operation element.
    pub fn operation_xml(&self) -> String {
        let xml = self.request.operation_xml().replacen(REG_NS, IDENT_NS, 1);
        match &self.changes {
            None => xml,
            Some(changes) => {
                let end = format!("</reg:{}Request>", self.request.operation);
                let changes = format!(
                    r#"<reg:changes xmlns:p="{IDENT_PERSON_NS}">{changes}</reg:changes>{end}"#
                );
                xml.replacen(&end, &changes, 1)
            }
        }
    }
}

impl super::app::TestApp {
    /// POSTs a raw body to PersonIdentificationService.
    pub fn post_ident(&self, body: impl Into<Vec<u8>>) -> super::answer::Answer {
        self.post_to(IDENT_PATH, reqwest::blocking::Body::from(body.into()))
    }

    /// Sends a PersonIdentificationService request.
    pub fn call_ident(&self, request: &IdentRequest) -> super::answer::Answer {
        self.post_ident(request.to_xml())
    }

    /// `raas admin grant --cbe CBE --operation OP`.
    pub fn grant(&self, cbe: &str, operation: &str) {
        self.admin(&["grant", "--cbe", cbe, "--operation", operation], "");
    }
}
