//! The HTTP server: routes, request size limit and deadlines, connection limits, TLS, the
//! published contracts, and the operations surface (`/livez`, `/readyz`, `/metrics`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::header::ContentType;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures_util::StreamExt;

use crate::batch::scheduler::{self, BatchStatus};
use crate::rest::token::PublicBase;
use crate::rest::Api;
use crate::service::access_token::{TokenSettings, Tokens};
use crate::service::external_token::ExternalIssuer;
use crate::service::Services;
use crate::soap::delivery::DeliveryMailbox;
use crate::soap::fault::{Fault, ReasonCode};
use crate::soap::person_identification::PersonIdentification;
use crate::soap::person_register::PersonRegister;
use crate::soap::pipeline::{self, SoapService};
use crate::soap::Reply;

const PERSON_REGISTER_WSDL: &str = include_str!("../wsdl/PersonRegisterService.wsdl");
const PERSON_IDENTIFICATION_WSDL: &str = include_str!("../wsdl/PersonIdentificationService.wsdl");
const DELIVERY_WSDL: &str = include_str!("../wsdl/DeliveryService.wsdl");
/// The base of the endpoint address each WSDL file names, rewritten to the address the WSDL
/// is fetched at (or `--public-url`).
const WSDL_BASE: &str = "http://localhost:8080";
/// The schemas the WSDLs import, and the public file formats that share their types.
const SCHEMAS: &[(&str, &str)] = &[
    ("Common.xsd", include_str!("../xsd/Common.xsd")),
    (
        "PersonRegister.xsd",
        include_str!("../xsd/PersonRegister.xsd"),
    ),
    ("Person.xsd", include_str!("../xsd/Person.xsd")),
    (
        "PersonIdentification.xsd",
        include_str!("../xsd/PersonIdentification.xsd"),
    ),
    ("Delivery.xsd", include_str!("../xsd/Delivery.xsd")),
    ("Population.xsd", include_str!("../xsd/Population.xsd")),
    ("NrMutations.xsd", include_str!("../xsd/NrMutations.xsd")),
];

/// A request's head (line and headers) must arrive within this after the connection opens
/// or the previous answer (actix-web answers 408 and closes otherwise).
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// A client that closes its side gets this long to take the rest of the answer.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// `/readyz` waits this long for a database connection and its `SELECT 1`.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: String,
    /// Largest request body accepted, in bytes.
    pub max_request_bytes: usize,
    /// The whole body must arrive within this once the head has: a slower one is refused
    /// with REQUEST_TIMEOUT and its connection closed.
    pub body_timeout: Duration,
    /// An idle keep-alive connection is closed after this.
    pub keep_alive: Duration,
    /// Connections open at once, over all workers; past it new ones wait in the listen
    /// backlog until one closes.
    pub max_connections: usize,
    /// Connections the kernel queues while none can be accepted.
    pub backlog: u32,
    /// Whether `GET /metrics` is served (without authentication, on the same port).
    pub metrics_enabled: bool,
    pub tls: Option<TlsFiles>,
    /// The base URL published in the WSDL (e.g. behind a proxy); by default the address
    /// the WSDL was asked at.
    pub public_url: Option<String>,
    pub workers: Option<usize>,
    /// The batch engine's scheduler, reported by `/readyz` and `/metrics` (off by default).
    pub batch: BatchStatus,
    /// What raas's own token endpoint writes into the access tokens.
    pub tokens: TokenSettings,
    /// The external OpenID Connect provider whose access tokens are accepted too.
    pub external_tokens: Option<crate::service::external_token::ExternalSettings>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            max_request_bytes: 65_536,
            body_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(5),
            max_connections: 2_048,
            backlog: 1_024,
            metrics_enabled: true,
            tls: None,
            public_url: None,
            workers: None,
            batch: BatchStatus::off(),
            tokens: TokenSettings::default(),
            external_tokens: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub certificate_chain: PathBuf,
    pub private_key: PathBuf,
}

#[derive(Clone)]
struct State {
    services: Services,
    config: ServerConfig,
}

/// A bound, not yet running server.
pub struct Application {
    server: Server,
    port: u16,
    scheme: &'static str,
}

impl Application {
    pub fn build(services: Services, config: ServerConfig) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(&config.listen)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
        let port = listener.local_addr()?.port();
        if config.metrics_enabled {
            crate::metrics::install();
        }
        let api = Api {
            tokens: Arc::new(Tokens::open(services.db.clone(), config.tokens.clone())?),
            external: match &config.external_tokens {
                Some(settings) => Some(Arc::new(ExternalIssuer::new(
                    services.db.clone(),
                    settings.clone(),
                )?)),
                None => None,
            },
            services: services.clone(),
            body_timeout: config.body_timeout,
        };
        let public_base = PublicBase(config.public_url.clone());
        let state = State {
            services,
            config: config.clone(),
        };
        let metrics_enabled = config.metrics_enabled;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .app_data(web::Data::new(api.clone()))
                .app_data(web::Data::new(public_base.clone()))
                .configure(crate::rest::mailbox::routes)
                .route("/livez", web::get().to(live))
                .route("/readyz", web::get().to(ready))
                .configure(|routes| {
                    if metrics_enabled {
                        routes.route("/metrics", web::get().to(metrics));
                    }
                })
                .configure(soap_service::<PersonRegister>(PERSON_REGISTER_WSDL))
                .configure(soap_service::<PersonIdentification>(
                    PERSON_IDENTIFICATION_WSDL,
                ))
                .configure(soap_service::<DeliveryMailbox>(DELIVERY_WSDL))
                .route("/xsd/{name}", web::get().to(schema))
        });
        let workers = config.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        server = server
            .workers(workers)
            // actix-web counts connections per worker.
            .max_connections(config.max_connections.div_ceil(workers).max(1))
            .backlog(config.backlog)
            .keep_alive(config.keep_alive)
            .client_request_timeout(HEADER_TIMEOUT)
            .client_disconnect_timeout(DISCONNECT_TIMEOUT);
        let (server, scheme) = match &config.tls {
            Some(files) => (
                server.listen_rustls_0_23(listener, tls_config(files)?)?,
                "https",
            ),
            None => (server.listen(listener)?, "http"),
        };
        Ok(Application {
            server: server.run(),
            port,
            scheme,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn tls_config(files: &TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let chain = CertificateDer::pem_file_iter(&files.certificate_chain)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", files.certificate_chain.display()))?;
    let key = PrivateKeyDer::from_pem_file(&files.private_key)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", files.private_key.display()))?;
    Ok(rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)?)
}

async fn live() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body("ok")
}

/// Ready when the database answers `SELECT 1` within [`READY_TIMEOUT`]; the check runs on
/// the blocking pool, never on a worker. The plain answer is `ready`; asked for JSON
/// (`Accept: application/json`), it also reports the batch engine — whose state never makes
/// the service unready.
async fn ready(state: web::Data<State>, request: HttpRequest) -> HttpResponse {
    let json = wants_json(&request);
    let db = state.services.db.clone();
    let check = tokio::task::spawn_blocking(move || {
        db.ping(READY_TIMEOUT)?;
        // Only asked for the JSON answer, and never a reason to be unready.
        Ok::<_, crate::store::StoreError>(if json {
            scheduler::last_success(&db).ok().flatten()
        } else {
            None
        })
    });
    let (problem, last_success) =
        match tokio::time::timeout(READY_TIMEOUT + Duration::from_millis(500), check).await {
            Ok(Ok(Ok(last))) => (None, last),
            Ok(Ok(Err(e))) => (Some(e.to_string()), None),
            Ok(Err(e)) => (Some(format!("the check failed: {e}")), None),
            Err(_) => (
                Some(format!(
                    "no answer within {} s",
                    READY_TIMEOUT.as_secs_f64()
                )),
                None,
            ),
        };
    if let Some(problem) = &problem {
        tracing::warn!(%problem, "not ready: the database is unreachable");
    }
    let mut response = match problem {
        None => HttpResponse::Ok(),
        Some(_) => HttpResponse::ServiceUnavailable(),
    };
    if json {
        let batch = state.config.batch.report(last_success).await;
        let body = serde_json::json!({
            "status": if problem.is_none() { "ready" } else { "not ready" },
            "database": if problem.is_none() { "ok" } else { "unreachable" },
            "batch": batch,
        });
        return response
            .content_type(ContentType::json())
            .body(body.to_string());
    }
    response
        .content_type(ContentType::plaintext())
        .body(match problem {
            None => "ready",
            Some(_) => "not ready: the database is unreachable\n",
        })
}

/// Whether the request's `Accept` header names JSON.
fn wants_json(request: &HttpRequest) -> bool {
    request
        .headers()
        .get_all(actix_web::http::header::ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            item.split(';')
                .next()
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// The Prometheus exposition of [`crate::metrics`], the gauges read now (the age of the last
/// successful daily run from the database, off the workers).
async fn metrics(state: web::Data<State>) -> HttpResponse {
    let db = state.services.db.clone();
    let last = tokio::task::spawn_blocking(move || scheduler::last_success(&db));
    let batch_last_success_age = match tokio::time::timeout(READY_TIMEOUT, last).await {
        Ok(Ok(Ok(Some((_, finished_at))))) => {
            let age = chrono::Utc::now().naive_utc() - finished_at;
            Some(age.num_milliseconds().max(0) as f64 / 1000.0)
        }
        _ => None,
    };
    let now = crate::metrics::Snapshot {
        pool: state.services.db.pool_state(),
        audit_pending: state.services.audit.pending(),
        batch_enabled: state.config.batch.is_on(),
        batch_last_success_age,
    };
    match crate::metrics::render(now) {
        Some(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(text),
        None => HttpResponse::ServiceUnavailable()
            .content_type(ContentType::plaintext())
            .body("metrics are not recorded in this process\n"),
    }
}

/// `/soap/{NAME}` of a service: SOAP requests by POST, its WSDL by GET `?wsdl`.
fn soap_service<S: SoapService + 'static>(
    wsdl_file: &'static str,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        let path = format!("/soap/{}", S::NAME);
        config
            .route(&path, web::post().to(soap_endpoint::<S>))
            .route(
                &path,
                web::get().to(move |state, request| wsdl(state, request, S::NAME, wsdl_file)),
            );
    }
}

async fn soap_endpoint<S: SoapService>(
    state: web::Data<State>,
    request: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let deadline = state.config.body_timeout;
    let body = match content_encoding(&request) {
        Ok(()) => read_body(payload, state.config.max_request_bytes, deadline)
            .await
            .map_err(Fault::from),
        Err(fault) => Err(fault),
    };
    // A body not read to its end leaves the connection unusable: it is closed.
    let close = body.is_err();
    // The peer itself: a forwarded-for header is not trusted.
    let client = request.peer_addr().map(|peer| peer.ip());
    let reply = pipeline::handle::<S>(
        &state.services,
        body.as_deref().map_err(Clone::clone),
        client,
    )
    .await;
    soap_response(reply, close)
}

fn soap_response(reply: Reply, close: bool) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(reply.http_status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if close {
        response.force_close();
    }
    response
        .content_type("text/xml; charset=utf-8")
        .body(reply.body)
}

/// Compressed bodies are refused: their size limit could not be checked before inflating.
fn content_encoding(request: &HttpRequest) -> Result<(), Fault> {
    match request
        .headers()
        .get(actix_web::http::header::CONTENT_ENCODING)
    {
        None => Ok(()),
        Some(value) if value.as_bytes().eq_ignore_ascii_case(b"identity") => Ok(()),
        Some(value) => Err(Fault::new(
            ReasonCode::MalformedRequest,
            "compressed request bodies are not accepted: send the envelope uncompressed",
        )
        .field(
            "Content-Encoding",
            &String::from_utf8_lossy(value.as_bytes()),
        )),
    }
}

/// Reads the request body, refusing it as soon as it passes the limit.
/// Why a request body was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Over the limit (bytes).
    TooLarge(usize),
    /// Not all there within the deadline.
    Late(Duration),
    /// The connection broke or the framing was wrong.
    Broken(String),
}

/// Reads a body of at most `limit` bytes that must arrive within `deadline` (the head's own
/// timeout does not cover the body): a slow or endless body is cut off.
pub async fn read_body(
    mut payload: web::Payload,
    limit: usize,
    deadline: Duration,
) -> Result<Vec<u8>, BodyError> {
    let read = async {
        let mut body = Vec::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| match e {
                actix_web::error::PayloadError::Overflow => BodyError::TooLarge(limit),
                other => BodyError::Broken(other.to_string()),
            })?;
            if body.len() + chunk.len() > limit {
                return Err(BodyError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(deadline, read)
        .await
        .unwrap_or(Err(BodyError::Late(deadline)))
}

impl From<BodyError> for Fault {
    fn from(error: BodyError) -> Fault {
        match error {
            BodyError::TooLarge(limit) => Fault::new(
                ReasonCode::RequestTooLarge,
                format!("the request is larger than {limit} bytes"),
            ),
            BodyError::Late(deadline) => Fault::new(
                ReasonCode::RequestTimeout,
                format!(
                    "the request body did not arrive within {} s",
                    deadline.as_secs_f64()
                ),
            ),
            BodyError::Broken(why) => Fault::new(
                ReasonCode::MalformedRequest,
                format!("the request body could not be read: {why}"),
            ),
        }
    }
}

async fn wsdl(
    state: web::Data<State>,
    request: HttpRequest,
    service: &'static str,
    wsdl_file: &'static str,
) -> HttpResponse {
    if !request.query_string().eq_ignore_ascii_case("wsdl") {
        return HttpResponse::MethodNotAllowed()
            .content_type(ContentType::plaintext())
            .body("POST SOAP requests here; GET ?wsdl for the contract\n");
    }
    let base = match &state.config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let info = request.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    };
    let path = format!("/soap/{service}");
    let wsdl = wsdl_file.replace(&format!("{WSDL_BASE}{path}"), &format!("{base}{path}"));
    HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(wsdl)
}

async fn schema(name: web::Path<String>) -> HttpResponse {
    match SCHEMAS.iter().find(|(file, _)| *file == name.as_str()) {
        Some((_, text)) => HttpResponse::Ok()
            .content_type("text/xml; charset=utf-8")
            .body(*text),
        None => HttpResponse::NotFound()
            .content_type(ContentType::plaintext())
            .body("no such schema\n"),
    }
}
