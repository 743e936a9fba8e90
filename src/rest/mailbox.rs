//! The mailbox over REST (`/api/v1/`): its summary, its deliveries (paged, filtered), one
//! delivery, its files streamed (`content`, `voucher`, `signature`, with `ETag`, `Range` and
//! conditional requests), and the pull feed of its events. Scopes: `mailbox:read` for the
//! metadata and events, `mailbox:download` for the files.

use actix_files::NamedFile;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;

use super::{authorise, token, Api, ApiError};
use crate::domain::{Delivery, DeliveryQuery, DocumentType, Scope};
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
        .route(
            "/api/v1/deliveries/{id}/content",
            web::get().to(|a, r, p| file(a, r, p, Part::Content)),
        )
        .route(
            "/api/v1/deliveries/{id}/voucher",
            web::get().to(|a, r, p| file(a, r, p, Part::Voucher)),
        )
        .route(
            "/api/v1/deliveries/{id}/signature",
            web::get().to(|a, r, p| file(a, r, p, Part::Signature)),
        )
        .route("/api/v1/events", web::get().to(events));
}

/// A stored UTC time as RFC 3339, to the microsecond.
pub fn utc(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A delivery as the API and `raas admin deliveries --json` show it.
pub fn delivery_json(d: &Delivery) -> serde_json::Value {
    serde_json::json!({
        "id": d.id,
        "fileType": d.kind.as_str(),
        "fileName": d.file_name,
        "subject": d.subject,
        "referenceDate": d.reference_date.map(|day| day.to_string()),
        "sequenceNumber": d.sequence_number,
        "recordCount": d.records,
        "size": d.size,
        "sha256": d.sha256,
        "registered": d.registered,
        "publishedAt": utc(d.published_at),
        "expiresAt": utc(d.expires_at),
        "state": d.state().as_str(),
        "firstDownload": d.receipt.as_ref().map(|r| serde_json::json!({
            "at": utc(r.at),
            "by": r.by,
        })),
    })
}

/// The query's parameters, each known and given once.
fn parameters<'q>(
    request: &'q HttpRequest,
    known: &[&str],
) -> Result<Vec<(String, String)>, ApiError> {
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

fn id_of(path: &web::Path<String>) -> Result<i64, ApiError> {
    number("id", path.as_str())
}

/// `GET /api/v1/mailbox`.
async fn summary(api: web::Data<Api>, request: HttpRequest) -> HttpResponse {
    let answer = async {
        parameters(&request, &[])?;
        let auth = authorise(&api, &request, "mailboxSummary", Scope::MailboxRead, None).await?;
        let summary = api
            .services
            .mailbox_summary(&auth.call, &auth.caller)
            .await?;
        Ok::<_, ApiError>(serde_json::json!({
            "organisation": auth.caller.cbe_number,
            "totalItems": summary.deliveries,
            "notDownloaded": summary.not_downloaded,
            "lastEventSequence": summary.last_event,
        }))
    };
    json_answer(answer.await)
}

/// `GET /api/v1/deliveries?fileType&receivedAfter&downloaded&afterSequence&page&pageSize`.
async fn list(api: web::Data<Api>, request: HttpRequest) -> HttpResponse {
    let answer = async {
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
        let query = delivery_query(&pairs)?;
        let (page, page_size) = (query.page, query.page_size);
        let auth = authorise(&api, &request, "listDeliveries", Scope::MailboxRead, None).await?;
        let (total, found) = api
            .services
            .list_deliveries(&auth.call, &auth.caller, query)
            .await?;
        let items: Vec<serde_json::Value> = found.iter().map(delivery_json).collect();
        Ok::<_, ApiError>(serde_json::json!({
            "items": items,
            "totalItems": total,
            "page": page,
            "pageSize": page_size,
        }))
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
    DeliveryQuery {
        kind,
        received_after,
        downloaded,
        after_sequence,
        ..DeliveryQuery::all()
    }
    .paged(page_number, page_size)
    .map_err(|e| {
        let given = value(pairs, e.field).unwrap_or_default();
        ApiError::invalid(e.field, given, e.to_string())
    })
}

/// `GET /api/v1/deliveries/{id}`.
async fn one(api: web::Data<Api>, request: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let answer = async {
        parameters(&request, &[])?;
        let id = id_of(&path)?;
        let auth = authorise(
            &api,
            &request,
            "getDelivery",
            Scope::MailboxRead,
            Some(target(id)),
        )
        .await?;
        let found = api.services.delivery(&auth.call, &auth.caller, id).await?;
        Ok::<_, ApiError>(delivery_json(&found))
    };
    json_answer(answer.await)
}

/// `GET /api/v1/deliveries/{id}/content|voucher|signature`: the file, streamed.
async fn file(
    api: web::Data<Api>,
    request: HttpRequest,
    path: web::Path<String>,
    part: Part,
) -> HttpResponse {
    let answer = async {
        parameters(&request, &[])?;
        let id = id_of(&path)?;
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
            Some(target(id)),
        )
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
                .into_response(&request),
        )
    };
    match answer.await {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

/// `GET /api/v1/events?afterSequence=N&limit=M`: the mailbox's events after N, in order.
async fn events(api: web::Data<Api>, request: HttpRequest) -> HttpResponse {
    let answer = async {
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
        let auth = authorise(&api, &request, "listEvents", Scope::MailboxRead, None).await?;
        let found = api
            .services
            .mailbox_events(&auth.call, &auth.caller, after, limit)
            .await?;
        let last = found.last().map_or(after, |e| e.sequence);
        let items: Vec<serde_json::Value> = found
            .iter()
            .map(|e| {
                serde_json::json!({
                    "sequence": e.sequence,
                    "type": e.kind.as_str(),
                    "deliveryId": e.delivery_id,
                    "at": utc(e.at),
                })
            })
            .collect();
        Ok::<_, ApiError>(serde_json::json!({ "items": items, "lastSequence": last }))
    };
    json_answer(answer.await)
}

fn json_answer(answer: Result<serde_json::Value, ApiError>) -> HttpResponse {
    match answer {
        Ok(body) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(body),
        Err(error) => error.response(),
    }
}
