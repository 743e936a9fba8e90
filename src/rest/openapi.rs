//! The REST API's OpenAPI 3.1 document, derived from the handlers and bodies
//! (`GET /api/v1/openapi.json`).

use actix_web::HttpResponse;
use utoipa::openapi::security::{ClientCredentials, Flow, OAuth2, Scopes, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::body::{
    DeliveryBody, DeliveryPage, DownloadBody, ErrorBody, EventBody, EventPage, FieldBody,
    MailboxBody, OAuthErrorBody, TokenBody,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "raas mailbox API",
        version = "1",
        description = "The deliveries of an organisation's mailbox: the daily files with their \
                       vouchers and signatures, and the operators' broadcasts. OAuth 2.0 \
                       client credentials at /oauth/token."
    ),
    paths(
        super::mailbox::summary,
        super::mailbox::list,
        super::mailbox::one,
        super::mailbox::content,
        super::mailbox::voucher,
        super::mailbox::signature,
        super::mailbox::events,
        super::token::token,
    ),
    components(schemas(
        DeliveryBody, DeliveryPage, DownloadBody, ErrorBody, EventBody, EventPage, FieldBody,
        MailboxBody, OAuthErrorBody, TokenBody
    )),
    modifiers(&Security),
    tags(
        (name = "mailbox", description = "the caller's mailbox"),
        (name = "oauth", description = "raas's own authorization server"),
    )
)]
pub struct ApiDocument;

/// The `oauth2` security scheme the paths name.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scopes = Scopes::from_iter([
            (
                "mailbox:read",
                "list the deliveries, read their metadata and events",
            ),
            (
                "mailbox:download",
                "download the files (records the receipt)",
            ),
        ]);
        let flow = Flow::ClientCredentials(ClientCredentials::new("/oauth/token", scopes));
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("oauth2", SecurityScheme::OAuth2(OAuth2::new([flow])));
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDocument::openapi())
}
