//! The HTTP server: routes, request size limit, TLS, the published contracts.

use std::net::TcpListener;
use std::path::PathBuf;

use actix_web::dev::Server;
use actix_web::http::header::ContentType;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures_util::StreamExt;

use crate::service::Services;
use crate::soap::fault::{Fault, ReasonCode};
use crate::soap::person_identification::PersonIdentification;
use crate::soap::person_register::PersonRegister;
use crate::soap::pipeline::{self, SoapService};
use crate::soap::Reply;

const PERSON_REGISTER_WSDL: &str = include_str!("../wsdl/PersonRegisterService.wsdl");
const PERSON_IDENTIFICATION_WSDL: &str = include_str!("../wsdl/PersonIdentificationService.wsdl");
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
    ("Population.xsd", include_str!("../xsd/Population.xsd")),
    ("NrMutations.xsd", include_str!("../xsd/NrMutations.xsd")),
];

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: String,
    /// Largest request body accepted, in bytes.
    pub max_request_bytes: usize,
    pub tls: Option<TlsFiles>,
    /// The base URL published in the WSDL (e.g. behind a proxy); by default the address
    /// the WSDL was asked at.
    pub public_url: Option<String>,
    pub workers: Option<usize>,
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
        let state = State {
            services,
            config: config.clone(),
        };
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .route("/livez", web::get().to(live))
                .configure(soap_service::<PersonRegister>(PERSON_REGISTER_WSDL))
                .configure(soap_service::<PersonIdentification>(
                    PERSON_IDENTIFICATION_WSDL,
                ))
                .route("/xsd/{name}", web::get().to(schema))
        });
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
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
    let body = match content_encoding(&request) {
        Ok(()) => read_limited(payload, state.config.max_request_bytes).await,
        Err(fault) => Err(fault),
    };
    // The peer itself: a forwarded-for header is not trusted.
    let client = request.peer_addr().map(|peer| peer.ip());
    let reply = pipeline::handle::<S>(
        &state.services,
        body.as_deref().map_err(Clone::clone),
        client,
    )
    .await;
    soap_response(reply)
}

fn soap_response(reply: Reply) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(reply.http_status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
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
async fn read_limited(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, Fault> {
    let too_large = || {
        Fault::new(
            ReasonCode::RequestTooLarge,
            format!("the request is larger than {limit} bytes"),
        )
    };
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => too_large(),
            other => Fault::new(
                ReasonCode::MalformedRequest,
                format!("the request body could not be read: {other}"),
            ),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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
