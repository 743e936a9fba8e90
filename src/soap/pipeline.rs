//! The request pipeline every raas SOAP service shares: open the envelope, find the
//! operation, read `informationCustomer` and `legalContext`, authenticate the UsernameToken,
//! check that the caller acts for the enterprise it names, write the answer's echo and
//! `informationServer`, and record every refusal in the audit trail. A service
//! ([`SoapService`]) only reads its operation's own fields, calls its use case and writes the
//! rest of the answer.

use std::net::IpAddr;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use tracing::field::{display, Empty};
use tracing::{Instrument, Span};

use super::envelope::Envelope;
use super::fault::{Fault, ReasonCode};
use super::fields::{self, required};
use super::kszbcss::{self, InformationCustomer, InformationServer};
use super::security::UsernameToken;
use super::Reply;
use crate::domain::Niss;
use crate::service::{Call, Caller, ServiceError, Services};
use crate::xml::{Element, XmlOut};

/// One SOAP web service: what the pipeline needs to know of it.
///
/// Its futures need not be `Send`: actix-web runs each request on one worker thread.
#[allow(async_fn_in_trait)]
pub trait SoapService {
    /// The service's name: its endpoint `/soap/{NAME}` and the service of its audit entries.
    const NAME: &'static str;
    /// The namespace of its messages.
    const TYPES_NS: &'static str;
    /// The prefix its answers give [`Self::TYPES_NS`].
    const PREFIX: &'static str;
    /// Every namespace its answers declare (prefix, URI), its own and `common` included.
    const NAMESPACES: &'static [(&'static str, &'static str)];
    /// Whether its requests must carry a `legalContext`.
    const LEGAL_CONTEXT_REQUIRED: bool;

    type Operation: Copy + 'static;
    /// Its operations; the request element of each is `{name}Request` in [`Self::TYPES_NS`].
    const OPERATIONS: &'static [Self::Operation];

    /// The operation's name, as in the WSDL and the audit trail.
    fn name(operation: Self::Operation) -> &'static str;

    /// What a request is about beyond a person, for its audit entry (`delivery:42`), read
    /// from the request as sent (before any check).
    fn target(request: &Element) -> Option<String> {
        let _ = request;
        None
    }

    /// Reads the operation's own fields, runs its use case and writes the answer after the
    /// `informationServer` element (status and data).
    async fn answer(
        services: &Services,
        exchange: &mut Exchange<'_>,
        operation: Self::Operation,
    ) -> Result<(), Refusal>;
}

/// An authenticated request on its way through a service's operation.
pub struct Exchange<'a> {
    /// What the audit trail will say of the call.
    pub call: &'a Call,
    pub caller: &'a Caller,
    /// The body's operation element.
    pub request: &'a Element,
    /// The answer, written up to `informationServer`.
    pub out: &'a mut XmlOut,
    namespace: &'static str,
}

impl Exchange<'_> {
    /// A required child of the request (in the service's namespace), named by `name`.
    pub fn required(&self, name: &str) -> Result<&Element, Fault> {
        required(self.request, self.namespace, name, name)
    }

    /// An optional child of the request.
    pub fn optional(&self, name: &str) -> Option<&Element> {
        self.request.child(self.namespace, name)
    }

    /// The request's required `ssin`, checked.
    pub fn ssin(&self) -> Result<Niss, Fault> {
        fields::ssin(self.required("ssin")?, "ssin", today())
    }
}

/// A refusal, and whether the use case already recorded it in the audit trail.
pub struct Refusal {
    pub fault: Fault,
    recorded: bool,
}

impl From<Fault> for Refusal {
    fn from(fault: Fault) -> Refusal {
        Refusal {
            fault,
            recorded: false,
        }
    }
}

/// A use case's refusal: it recorded the call itself.
impl From<ServiceError> for Refusal {
    fn from(error: ServiceError) -> Refusal {
        Refusal {
            fault: Fault::from(error),
            recorded: true,
        }
    }
}

/// Today as far as any caller can be concerned (`service::latest_today`).
pub fn today() -> NaiveDate {
    crate::service::latest_today()
}

/// Answers one request to service `S`: an envelope already read within the size limit, or
/// the fault that reading it gave.
/// `client` is the address the request came from, when known (for login throttling).
pub async fn handle<S: SoapService>(
    services: &Services,
    body: Result<&[u8], Fault>,
    client: Option<IpAddr>,
) -> Reply {
    let received = Utc::now();
    let started = Instant::now();
    let mut call = Call {
        service: S::NAME,
        operation: "unknown".into(),
        server_ticket: uuid::Uuid::new_v4().to_string(),
        ..Call::default()
    };
    let span = tracing::info_span!(
        "soap",
        service = S::NAME,
        server_ticket = %call.server_ticket,
        operation = Empty,
        client_ticket = Empty,
        organisation = Empty,
        outcome = Empty,
        duration_ms = Empty,
    );
    let mut caller = None;
    let outcome = match body {
        Ok(body) => {
            process::<S>(services, &mut call, &mut caller, body, received, client)
                .instrument(span.clone())
                .await
        }
        Err(fault) => Err(fault.into()),
    };
    let (reply, fault) = match outcome {
        Ok(body) => (
            Reply {
                http_status: 200,
                body,
            },
            None,
        ),
        Err(refusal) => {
            if !refusal.recorded {
                services
                    .record_refusal(&call, caller.as_ref(), refusal.fault.reason.as_str())
                    .instrument(span.clone())
                    .await;
            }
            let reply = Reply {
                http_status: 500,
                body: refusal
                    .fault
                    .to_xml(&call.server_ticket, &kszbcss::timestamp(Utc::now())),
            };
            (reply, Some(refusal.fault))
        }
    };
    observe(&span, &call, fault.as_ref(), started);
    reply
}

/// Logs the request's end in its span and counts it in the metrics: an answer at DEBUG, a
/// refusal at INFO, a Server fault (an error of the service) at ERROR, with its diagnostic
/// and the server ticket the caller was given.
fn observe(span: &Span, call: &Call, fault: Option<&Fault>, started: Instant) {
    let took = started.elapsed();
    let outcome = fault.map_or("OK", |f| f.reason.as_str());
    span.record("outcome", outcome);
    span.record("duration_ms", took.as_secs_f64() * 1000.0);
    crate::metrics::request(call.service, &call.operation, outcome, took);
    let _entered = span.enter();
    match fault {
        // Every answer is in the audit trail, with its tickets: the log shows them on demand.
        None => tracing::debug!("answered"),
        Some(fault)
            if matches!(
                fault.reason,
                ReasonCode::ServiceUnavailable | ReasonCode::InternalError
            ) =>
        {
            tracing::error!(
                server_ticket = %call.server_ticket,
                diagnostic = %printable(&fault.diagnostic),
                "failed"
            )
        }
        Some(fault) => tracing::info!(diagnostic = %printable(&fault.diagnostic), "refused"),
    }
}

/// A value from outside, with its control characters escaped so that it stays on its line.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// The operation a body element asks for.
fn operation_of<S: SoapService>(request: &Element) -> Result<S::Operation, Fault> {
    let asked = Some(request)
        .filter(|r| r.namespace.as_deref() == Some(S::TYPES_NS))
        .and_then(|r| r.name.strip_suffix("Request"));
    S::OPERATIONS
        .iter()
        .copied()
        .find(|op| asked == Some(S::name(*op)))
        .ok_or_else(|| {
            Fault::new(
                ReasonCode::UnknownOperation,
                format!(
                    "{} is not an operation of {} v1",
                    request.expanded_name(),
                    S::NAME
                ),
            )
        })
}

async fn process<S: SoapService>(
    services: &Services,
    call: &mut Call,
    caller_slot: &mut Option<Caller>,
    body: &[u8],
    received: DateTime<Utc>,
    client: Option<IpAddr>,
) -> Result<String, Refusal> {
    let envelope = Envelope::parse(body)?;
    let request = &envelope.operation;
    let operation = operation_of::<S>(request)?;
    call.operation = S::name(operation).to_owned();
    Span::current().record("operation", S::name(operation));
    if let Some(ssin) = request.child(S::TYPES_NS, "ssin") {
        call.ssin = Some(ssin.value().chars().take(32).collect());
    }
    call.target = S::target(request);
    let customer = InformationCustomer::parse(request, S::TYPES_NS)?;
    call.client_ticket = Some(customer.ticket.clone());
    Span::current().record("client_ticket", display(printable(&customer.ticket)));
    call.claimed_cbe_number = Some(customer.cbe_number.to_string());
    call.legal_context = if S::LEGAL_CONTEXT_REQUIRED {
        let path = "legalContext";
        Some(fields::required_text(request, S::TYPES_NS, path, path, 64)?.to_owned())
    } else {
        kszbcss::legal_context(request, S::TYPES_NS)?
    };
    let token = UsernameToken::from_header(envelope.header.as_ref())?;
    call.username = Some(token.username.chars().take(64).collect());
    let caller = services
        .authenticator
        .authenticate(&token.username, &token.password, client)
        .await
        .map_err(|e| Refusal::from(Fault::from(e)))?;
    if caller.scopes.is_some() {
        // An OAuth client of the REST API: its secret is for the token endpoint only.
        return Err(Refusal::from(Fault::from(ServiceError::NotAuthenticated)));
    }
    *caller_slot = Some(caller.clone());
    Span::current().record("organisation", caller.cbe_number.as_str());
    caller
        .check_acts_for(&customer.cbe_number)
        .map_err(|e| Refusal::from(Fault::from(e)))?;

    let server = InformationServer {
        ticket: call.server_ticket.clone(),
        received,
    };
    let mut out = XmlOut::envelope(S::NAMESPACES);
    let tag = |name: &str| format!("{}:{name}", S::PREFIX);
    let response = tag(&format!("{}Response", S::name(operation)));
    out.open(&response);
    customer.write(&mut out, &tag("informationCustomer"));
    server.write(&mut out, &tag("informationServer"));
    let mut exchange = Exchange {
        call,
        caller: &caller,
        request,
        out: &mut out,
        namespace: S::TYPES_NS,
    };
    S::answer(services, &mut exchange, operation).await?;
    out.close(&response);
    Ok(out.finish())
}
