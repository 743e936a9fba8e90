//! The mailbox over REST (`/api/v1/`): its summary, its deliveries (paged, filtered), one
//! delivery, its files streamed (`content`, `voucher`, `signature`, with `ETag`, `Range` and
//! conditional requests), and the pull feed of its events. Scopes: `mailbox:read` for the
//! metadata and events, `mailbox:download` for the files.

use actix_files::NamedFile;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpRequest, HttpResponse};

use super::body::{DeliveryBody, DeliveryPage, ErrorBody, EventBody, EventPage, MailboxBody};
use super::{authorise, token, Api, ApiError, Authorised};
use crate::domain::{DeliveryQuery, DocumentType, Scope};
use crate::service::delivery::{target, Part};

/// Events answered at most at once.
const MAX_EVENTS: i64 = 1000;

/// The API's routes, with the token endpoint's.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/oauth/token", web::post().to(token::token))
        .route("/oauth/jwks.json", web::get().to(token::jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            web::get().to(token::metadata),
        )
        .route("/api/v1/mailbox", web::get().to(summary))
        .route("/api/v1/deliveries", web::get().to(list))
        .route("/api/v1/deliveries/{id}", web::get().to(one))
        .route("/api/v1/deliveries/{id}/content", web::get().to(content))
        .route("/api/v1/deliveries/{id}/voucher", web::get().to(voucher))
        .route(
            "/api/v1/deliveries/{id}/signature",
            web::get().to(signature),
        )
        .route("/api/v1/events", web::get().to(events))
        .route(
            "/api/v1/openapi.json",
            web::get().to(super::openapi::document),
        );
}

/// The query's parameters, each known and given once.
fn parameters(request: &HttpRequest, known: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(request.query_string())
        .map_err(|e| ApiError::invalid("query", request.query_string(), e.to_string()))?;
    for (i, (name, value)) in pairs.iter().enumerate() {
        if !known.contains(&name.as_str()) {
            return Err(ApiError::invalid(
                name,
                value,
                format!("{name} is not a parameter here ({})", known.join(", ")),
            ));
        }
        if pairs[..i].iter().any(|(other, _)| other == name) {
            return Err(ApiError::invalid(
                name,
                value,
                format!("{name} is given more than once"),
            ));
        }
    }
    Ok(pairs)
}

fn value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn number<T: std::str::FromStr>(name: &str, text: &str) -> Result<T, ApiError> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(
            name,
            text,
            format!("{name} must be a whole number"),
        ));
    }
    text.parse()
        .map_err(|_| ApiError::invalid(name, text, format!("{name} is out of range")))
}

/// The request's parameters read by `read`, once the caller is known: a refusal is
/// recorded in the audit trail as the caller's.
async fn checked<T>(
    api: &Api,
    auth: &Authorised,
    read: impl FnOnce() -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let read = read();
    if let Err(error) = &read {
        api.services
            .record_refusal(&auth.call, Some(&auth.caller), error.code)
            .await;
    }
    read
}

/// The audit target of a per-delivery route: the delivery its id reads as, or the text
/// given.
fn path_target(path: &web::Path<String>) -> String {
    match path.parse::<i64>() {
        Ok(id) if path.bytes().all(|b| b.is_ascii_digit()) => target(id),
        _ => format!("delivery:{}", path.chars().take(24).collect::<String>()),
    }
}

fn id_of(path: &web::Path<String>) -> Result<i64, ApiError> {
    number("id", path.as_str())
}

/// The caller's mailbox at a glance.
#[utoipa::path(get, path = "/api/v1/mailbox", tag = "mailbox",
    security(("oauth2" = ["mailbox:read"])),
    responses(
        (status = 200, body = MailboxBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ))]
pub async fn summary(api: web::Data<Api>, request: HttpRequest) -> HttpResponse {
    let answer = async {
        let auth = authorise(&api, &request, "mailboxSummary", Scope::MailboxRead, None).await?;
        checked(&api, &auth, || parameters(&request, &[])).await?;
        let summary = api
            .services
            .mailbox_summary(&auth.call, &auth.caller)
            .await?;
        Ok::<_, ApiError>(MailboxBody::new(&auth.caller.cbe_number, &summary))
    };
    json_answer(answer.await)
}

/// The deliveries still in the caller's mailbox, oldest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "mailbox",
    security(("oauth2" = ["mailbox:read"])),
    params(
        ("fileType" = Option<String>, Query, description = "PERSON_MUTATIONS, DIMONA_MUTATIONS or BROADCAST"),
        ("receivedAfter" = Option<String>, Query, description = "RFC 3339: published strictly after"),
        ("downloaded" = Option<bool>, Query, description = "only those downloaded (true) or not (false)"),
        ("afterSequence" = Option<i64>, Query, description = "daily files whose sequence number is greater"),
        ("page" = Option<u32>, Query, description = "from 1"),
        ("pageSize" = Option<u32>, Query, description = "1 to 100, default 20"),
    ),
    responses(
        (status = 200, body = DeliveryPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
pub async fn list(api: web::Data<Api>, request: HttpRequest) -> HttpResponse {
    let answer = async {
        let auth = authorise(&api, &request, "listDeliveries", Scope::MailboxRead, None).await?;
        let query = checked(&api, &auth, || {
            let pairs = parameters(
                &request,
                &[
                    "fileType",
                    "receivedAfter",
                    "downloaded",
                    "afterSequence",
                    "page",
                    "pageSize",
                ],
            )?;
            delivery_query(&pairs)
        })
        .await?;
        let (page, page_size) = (query.page, query.page_size);
        let (total, found) = api
            .services
            .list_deliveries(&auth.call, &auth.caller, query)
            .await?;
        Ok::<_, ApiError>(DeliveryPage {
            items: found.iter().map(DeliveryBody::from).collect(),
            total_items: total,
            page,
            page_size,
        })
    };
    json_answer(answer.await)
}

fn delivery_query(pairs: &[(String, String)]) -> Result<DeliveryQuery, ApiError> {
    let kind = value(pairs, "fileType")
        .map(|t| {
            t.parse::<DocumentType>()
                .map_err(|why| ApiError::invalid("fileType", t, why))
        })
        .transpose()?;
    let received_after = value(pairs, "receivedAfter")
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|at| at.naive_utc())
                .map_err(|_| {
                    ApiError::invalid(
                        "receivedAfter",
                        t,
                        "receivedAfter must be an RFC 3339 date and time (2026-12-01T08:00:00Z)",
                    )
                })
        })
        .transpose()?;
    let downloaded = value(pairs, "downloaded")
        .map(|t| match t {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(ApiError::invalid(
                "downloaded",
                other,
                "downloaded must be true or false",
            )),
        })
        .transpose()?;
    let after_sequence = value(pairs, "afterSequence")
        .map(|t| number::<i64>("afterSequence", t))
        .transpose()?;
    let page = |name: &str| {
        value(pairs, name)
            .map(|t| number::<u32>(name, t))
            .transpose()
    };
    let (page_number, page_size) = (page("page")?, page("pageSize")?);
    DeliveryQuery::filtered(kind, received_after, downloaded, after_sequence)
        .paged(page_number, page_size)
        .map_err(|e| {
            let given = value(pairs, e.field).unwrap_or_default();
            ApiError::invalid(e.field, given, e.to_string())
        })
}

/// One delivery of the caller's mailbox.
#[utoipa::path(get, path = "/api/v1/deliveries/{id}", tag = "mailbox",
    security(("oauth2" = ["mailbox:read"])),
    params(("id" = i64, Path, description = "the delivery's id")),
    responses(
        (status = 200, body = DeliveryBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 410, body = ErrorBody),
    ))]
pub async fn one(
    api: web::Data<Api>,
    request: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let answer = async {
        let auth = authorise(
            &api,
            &request,
            "getDelivery",
            Scope::MailboxRead,
            Some(path_target(&path)),
        )
        .await?;
        let id = checked(&api, &auth, || {
            parameters(&request, &[])?;
            id_of(&path)
        })
        .await?;
        let found = api.services.delivery(&auth.call, &auth.caller, id).await?;
        Ok::<_, ApiError>(DeliveryBody::from(&found))
    };
    json_answer(answer.await)
}

/// The delivery's file, streamed (ETag, Range, If-None-Match); its first download is the
/// proof of receipt.
#[utoipa::path(get, path = "/api/v1/deliveries/{id}/content", tag = "mailbox",
    security(("oauth2" = ["mailbox:download"])),
    params(("id" = i64, Path, description = "the delivery's id")),
    responses(
        (status = 200, description = "the file", content_type = "application/octet-stream"),
        (status = 206, description = "the range asked"),
        (status = 304, description = "not modified (If-None-Match)"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody),
    ))]
pub async fn content(
    api: web::Data<Api>,
    request: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    file(api, request, path, Part::Content).await
}

/// A daily file's voucher, streamed.
#[utoipa::path(get, path = "/api/v1/deliveries/{id}/voucher", tag = "mailbox",
    security(("oauth2" = ["mailbox:download"])),
    params(("id" = i64, Path, description = "the delivery's id")),
    responses(
        (status = 200, description = "the voucher (XML)", content_type = "text/xml"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody),
    ))]
pub async fn voucher(
    api: web::Data<Api>,
    request: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    file(api, request, path, Part::Voucher).await
}

/// The base64 Ed25519 signature of a daily file's voucher, streamed.
#[utoipa::path(get, path = "/api/v1/deliveries/{id}/signature", tag = "mailbox",
    security(("oauth2" = ["mailbox:download"])),
    params(("id" = i64, Path, description = "the delivery's id")),
    responses(
        (status = 200, description = "the signature (base64 text)", content_type = "text/plain"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody),
    ))]
pub async fn signature(
    api: web::Data<Api>,
    request: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    file(api, request, path, Part::Signature).await
}

/// One file of a delivery, streamed.
async fn file(
    api: web::Data<Api>,
    request: HttpRequest,
    path: web::Path<String>,
    part: Part,
) -> HttpResponse {
    let answer = async {
        let operation = match part {
            Part::Content => "downloadContent",
            Part::Voucher => "downloadVoucher",
            Part::Signature => "downloadSignature",
        };
        let auth = authorise(
            &api,
            &request,
            operation,
            Scope::MailboxDownload,
            Some(path_target(&path)),
        )
        .await?;
        let id = checked(&api, &auth, || {
            parameters(&request, &[])?;
            id_of(&path)
        })
        .await?;
        let (delivery, file) = api
            .services
            .download(&auth.call, &auth.caller, id, part)
            .await?;
        let opened = NamedFile::open_async(&file).await.map_err(|e| {
            ApiError::from(crate::service::ServiceError::Internal(format!(
                "delivery {id}: cannot open {}: {e}",
                file.display()
            )))
        })?;
        let name = match part {
            Part::Content => delivery.file_name.clone(),
            Part::Voucher => format!("{}.voucher.xml", delivery.file_name),
            Part::Signature => format!("{}.voucher.sig", delivery.file_name),
        };
        let content_type = match part {
            Part::Signature => actix_web::mime::TEXT_PLAIN,
            _ if name.ends_with(".xml") => actix_web::mime::TEXT_XML,
            _ => actix_web::mime::APPLICATION_OCTET_STREAM,
        };
        Ok::<_, ApiError>(
            opened
                .set_content_type(content_type)
                .set_content_disposition(ContentDisposition {
                    disposition: DispositionType::Attachment,
                    parameters: vec![DispositionParam::Filename(name)],
                })
                .use_last_modified(false)
                // Chunks read on the worker itself rather than each handed to the blocking
                // pool: 64 KiB from the page cache takes microseconds, and the hand-off per
                // chunk halved the rate (tests/bench/download.sh).
                .read_mode_threshold(u64::MAX)
                .into_response(&request),
        )
    };
    match answer.await {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

/// The pull feed: the mailbox's events numbered after `afterSequence`, in commit order.
#[utoipa::path(get, path = "/api/v1/events", tag = "mailbox",
    security(("oauth2" = ["mailbox:read"])),
    params(
        ("afterSequence" = Option<i64>, Query, description = "default 0"),
        ("limit" = Option<i64>, Query, description = "1 to 1000, default 100"),
    ),
    responses(
        (status = 200, body = EventPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
pub async fn events(api: web::Data<Api>, request: HttpRequest) -> HttpResponse {
    let answer = async {
        let auth = authorise(&api, &request, "listEvents", Scope::MailboxRead, None).await?;
        let (after, limit) = checked(&api, &auth, || {
            let pairs = parameters(&request, &["afterSequence", "limit"])?;
            let after = value(&pairs, "afterSequence")
                .map(|t| number::<i64>("afterSequence", t))
                .transpose()?
                .unwrap_or(0);
            let limit = value(&pairs, "limit")
                .map(|t| number::<i64>("limit", t))
                .transpose()?
                .unwrap_or(100);
            if !(1..=MAX_EVENTS).contains(&limit) {
                return Err(ApiError::invalid(
                    "limit",
                    &limit.to_string(),
                    format!("limit must be from 1 to {MAX_EVENTS}"),
                ));
            }
            Ok((after, limit))
        })
        .await?;
        let found = api
            .services
            .mailbox_events(&auth.call, &auth.caller, after, limit)
            .await?;
        let last = found.last().map_or(after, |e| e.sequence);
        Ok::<_, ApiError>(EventPage {
            items: found.iter().map(EventBody::from).collect(),
            last_sequence: last,
        })
    };
    json_answer(answer.await)
}

fn json_answer<T: serde::Serialize>(answer: Result<T, ApiError>) -> HttpResponse {
    match answer {
        Ok(body) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(body),
        Err(error) => error.response(),
    }
}
