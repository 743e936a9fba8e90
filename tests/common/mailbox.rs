//! Mailboxes in tests: DeliveryService requests (listDeliveries, getDelivery) built on the
//! register's [`Request`] (its credential, informationCustomer and legalContext, in the
//! Delivery namespace), their answers read into deliveries, and the operator's commands
//! (`raas admin publish`, `raas admin deliveries`, `raas admin expire-deliveries`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::answer::Answer;
use super::app::TestApp;
use super::soap::{Org, Request, REG_NS};
use super::xml::Node;

pub const DELIVERY_NS: &str = "urn:be:raas:types:Delivery:v1";
pub const DELIVERY_PATH: &str = "/soap/DeliveryService";
pub const DELIVERY_SERVICE: &str = "DeliveryService";
pub const BROADCAST: &str = "BROADCAST";

/// The children of a DeliveryType, in the order of xsd/Delivery.xsd.
pub const DELIVERY_FIELDS: [&str; 14] = [
    "id",
    "fileType",
    "fileName",
    "subject",
    "referenceDate",
    "sequenceNumber",
    "recordCount",
    "size",
    "sha256",
    "registered",
    "publishedAt",
    "expiresAt",
    "state",
    "firstDownload",
];

/// One DeliveryService request: the shared fields in `request` (written in the Delivery
/// namespace, still with the prefix `reg`), the operation's own fields in `fields`, in order
/// and as sent (a field may be given twice).
#[derive(Debug, Clone)]
pub struct DeliveryRequest {
    pub request: Request,
    pub fields: Vec<(String, String)>,
}

impl DeliveryRequest {
    fn new(operation: &'static str, org: &Org) -> DeliveryRequest {
        DeliveryRequest {
            request: Request {
                operation,
                ..Request::list_dossier_types(org)
            }
            .legal_context(None),
            fields: Vec::new(),
        }
    }

    /// A request of any operation (`consultRegister`: not one of this service's).
    pub fn operation(org: &Org, operation: &'static str) -> DeliveryRequest {
        DeliveryRequest::new(operation, org)
    }

    /// `listDeliveries` with no filter.
    pub fn list(org: &Org) -> DeliveryRequest {
        DeliveryRequest::new("listDeliveries", org)
    }

    /// `getDelivery` of `id` (any text: `7`, `abc`).
    pub fn get(org: &Org, id: impl ToString) -> DeliveryRequest {
        DeliveryRequest::new("getDelivery", org).field("id", &id.to_string())
    }

    /// Adds `<name>value</name>` after the fields already given.
    pub fn field(mut self, name: &str, value: &str) -> DeliveryRequest {
        self.fields.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same request with its shared fields changed: `.with(|r| r.cbe(OTHER))`.
    pub fn with(self, change: impl FnOnce(Request) -> Request) -> DeliveryRequest {
        DeliveryRequest {
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
        let xml = self
            .request
            .operation_xml()
            .replacen(REG_NS, DELIVERY_NS, 1);
        let end = format!("</reg:{}Request>", self.request.operation);
        let mut fields = String::new();
        for (name, value) in &self.fields {
            let _ = write!(fields, "<reg:{name}>{}</reg:{name}>", escape(value));
        }
        xml.replacen(&end, &format!("{fields}{end}"), 1)
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The proof of receipt, as the mailbox shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub at: String,
    pub by: String,
}

/// A DeliveryType as answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub file_type: String,
    pub file_name: String,
    pub subject: Option<String>,
    pub reference_date: Option<String>,
    pub sequence_number: Option<i64>,
    pub record_count: Option<i64>,
    pub size: u64,
    pub sha256: String,
    pub registered: bool,
    pub published_at: String,
    pub expires_at: String,
    pub state: String,
    pub first_download: Option<Receipt>,
}

#[track_caller]
fn number<T: std::str::FromStr>(node: &Node, name: &str) -> Option<T>
where
    T::Err: std::fmt::Debug,
{
    node.child_text(name).map(|text| {
        text.parse()
            .unwrap_or_else(|e| panic!("<{name}>{text}</{name}> is not a number: {e:?}"))
    })
}

impl Delivery {
    /// Reads a `delivery` element, checking its children are those of the XSD, in its order,
    /// each at most once.
    #[track_caller]
    pub fn read(node: &Node) -> Delivery {
        let names: Vec<&str> = node.children.iter().map(|c| c.name.as_str()).collect();
        let positions: Vec<usize> = names
            .iter()
            .map(|name| {
                DELIVERY_FIELDS
                    .iter()
                    .position(|f| f == name)
                    .unwrap_or_else(|| panic!("<{name}> is not a field of a delivery: {names:?}"))
            })
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "a delivery's fields out of the XSD's order: {names:?}"
        );
        let required = |name: &str| {
            node.child_text(name)
                .unwrap_or_else(|| panic!("a delivery without <{name}>: {names:?}"))
        };
        let registered = required("registered");
        assert!(
            registered == "true" || registered == "false",
            "registered {registered:?}"
        );
        Delivery {
            id: number(node, "id").expect("an id"),
            file_type: required("fileType"),
            file_name: required("fileName"),
            subject: node.child_text("subject"),
            reference_date: node.child_text("referenceDate"),
            sequence_number: number(node, "sequenceNumber"),
            record_count: number(node, "recordCount"),
            size: number(node, "size").expect("a size"),
            sha256: required("sha256"),
            registered: registered == "true",
            published_at: required("publishedAt"),
            expires_at: required("expiresAt"),
            state: required("state"),
            first_download: node.child("firstDownload").map(|receipt| Receipt {
                at: receipt.child_text("at").expect("firstDownload/at"),
                by: receipt.child_text("by").expect("firstDownload/by"),
            }),
        }
    }

    /// The same delivery as it reads before any download (to compare a listing with a fetch).
    pub fn unread(&self) -> Delivery {
        Delivery {
            state: "AVAILABLE".into(),
            first_download: None,
            ..self.clone()
        }
    }
}

/// A listDeliveries answer.
#[derive(Debug, Clone)]
pub struct Listing {
    pub status: String,
    pub total_items: i64,
    pub page: u32,
    pub page_size: u32,
    pub deliveries: Vec<Delivery>,
}

impl Listing {
    #[track_caller]
    pub fn read(answer: &Answer) -> Listing {
        let response = answer
            .doc()
            .find(&["listDeliveriesResponse"])
            .unwrap_or_else(|| panic!("not a listDeliveriesResponse: {}", answer.body));
        let deliveries: Vec<Delivery> = response
            .children
            .iter()
            .filter(|c| c.name == "delivery")
            .map(Delivery::read)
            .collect();
        Listing {
            status: answer.status(),
            total_items: number(response, "totalItems").expect("totalItems"),
            page: number(response, "page").expect("page"),
            page_size: number(response, "pageSize").expect("pageSize"),
            deliveries,
        }
    }

    pub fn ids(&self) -> Vec<i64> {
        self.deliveries.iter().map(|d| d.id).collect()
    }
}

/// A getDelivery answer, its base64 fields decoded.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub delivery: Delivery,
    pub content: Vec<u8>,
    pub voucher: Option<Vec<u8>>,
    pub signature: Option<Vec<u8>>,
}

impl Fetched {
    #[track_caller]
    pub fn read(answer: &Answer) -> Fetched {
        let response = answer
            .doc()
            .find(&["getDeliveryResponse"])
            .unwrap_or_else(|| panic!("not a getDeliveryResponse: {}", answer.body));
        assert_eq!(answer.status(), "DATA_FOUND", "{}", answer.body);
        let decoded = |name: &str| {
            response
                .child_text(name)
                .map(|text| decode(&text).unwrap_or_else(|e| panic!("{name}: {e}")))
        };
        Fetched {
            delivery: Delivery::read(response.child("delivery").expect("a delivery")),
            content: decoded("content").expect("a content"),
            voucher: decoded("voucher"),
            signature: decoded("signature"),
        }
    }
}

/// Standard base64 (as xs:base64Binary, white space allowed).
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| e.to_string())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// An `xs:dateTime` of an answer (or a ledger), as a UTC instant.
#[track_caller]
pub fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not an xs:dateTime with a zone: {e}"))
        .with_timezone(&Utc)
}

impl TestApp {
    /// Sends a DeliveryService request.
    pub fn call_delivery(&self, request: &DeliveryRequest) -> Answer {
        self.post_to(
            DELIVERY_PATH,
            reqwest::blocking::Body::from(request.to_xml()),
        )
    }

    /// A listDeliveries request that must succeed, read.
    #[track_caller]
    pub fn list_deliveries(&self, request: &DeliveryRequest) -> Listing {
        let answer = self.call_delivery(request).ok();
        let listing = Listing::read(&answer);
        let expected = if listing.deliveries.is_empty() {
            "NO_RESULT"
        } else {
            "DATA_FOUND"
        };
        assert_eq!(listing.status, expected, "{}", answer.body);
        listing
    }

    /// The whole mailbox of an organisation as its own credential lists it (one page of
    /// 100), oldest first.
    #[track_caller]
    pub fn mailbox(&self, org: &Org) -> Vec<Delivery> {
        let listing = self.list_deliveries(&DeliveryRequest::list(org).field("pageSize", "100"));
        assert_eq!(
            listing.total_items,
            listing.deliveries.len() as i64,
            "more than a page in the mailbox of {}",
            org.cbe
        );
        listing.deliveries
    }

    /// getDelivery by the organisation's own credential, which must succeed.
    #[track_caller]
    pub fn fetch(&self, org: &Org, id: i64) -> Fetched {
        Fetched::read(&self.call_delivery(&DeliveryRequest::get(org, id)).ok())
    }

    /// `raas [GLOBAL…] admin publish ARGS…` (the broadcast's files given as they are).
    pub fn publish(&self, global: &[&str], args: &[&str]) -> Output {
        let all: Vec<&str> = global
            .iter()
            .copied()
            .chain(["admin", "publish"])
            .chain(args.iter().copied())
            .collect();
        self.run(&all, "")
    }

    /// A broadcast that must succeed: gives its document's id and the mailboxes it reached,
    /// as printed.
    #[track_caller]
    pub fn publish_ok(&self, global: &[&str], args: &[&str]) -> (i64, usize) {
        let output = self.publish(global, args);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "raas admin publish {args:?} failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let words: Vec<&str> = stdout.split_whitespace().collect();
        match words[..] {
            ["document", id, "published", "to", mailboxes, "mailbox(es):", ..] => (
                id.parse().expect("a document id"),
                mailboxes.parse().expect("a number of mailboxes"),
            ),
            _ => panic!("raas admin publish printed {stdout:?}"),
        }
    }

    /// `raas admin deliveries --cbe CBE --json`: the sender's ledger, newest first.
    #[track_caller]
    pub fn ledger(&self, cbe: &str) -> Vec<serde_json::Value> {
        self.admin(&["deliveries", "--cbe", cbe, "--json"], "")
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }

    /// `raas admin expire-deliveries`: what it printed.
    #[track_caller]
    pub fn expire_deliveries(&self) -> String {
        self.admin(&["expire-deliveries"], "").trim().to_owned()
    }

    /// Makes the documents of these deliveries due: their expiry moved to the moment they
    /// were published (retention is whole days, so no command can).
    pub fn make_due(&self, delivery_ids: &[i64]) {
        let ids: Vec<String> = delivery_ids.iter().map(i64::to_string).collect();
        super::batch::execute_sql(
            self.database_url(),
            &format!(
                "UPDATE documents SET expires_at = published_at WHERE id IN \
                 (SELECT document_id FROM deliveries WHERE id IN ({}))",
                ids.join(", ")
            ),
        );
    }

    /// The mailbox events of a delivery of one kind (`delivery.downloaded`, …), counted in the
    /// database: the pull feed has no reader yet.
    pub fn mailbox_events(&self, delivery_id: i64, kind: &str) -> i64 {
        super::db::query_i64(
            self.database_url(),
            &format!(
                "SELECT CAST(COUNT(*) AS TEXT) AS value FROM mailbox_events \
                 WHERE delivery_id = {delivery_id} AND kind = '{kind}'"
            ),
        )
    }

    /// `outbox/broadcasts` of the server's outbox.
    pub fn broadcasts(&self) -> PathBuf {
        self.path("outbox").join("broadcasts")
    }
}

/// Everything under a folder, directories too (relative paths, sorted; `name/` for a
/// directory): empty when it does not exist.
pub fn entries(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
        let Ok(read) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in read.flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .expect("under the root")
                .display()
                .to_string();
            if path.is_dir() {
                found.push(format!("{relative}/"));
                walk(root, &path, found);
            } else {
                found.push(relative);
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}
