//! The mailboxes' use cases: an organisation lists its deliveries and fetches one (the first
//! fetch is the proof of receipt), an operator broadcasts a document to many mailboxes and
//! reads the sender's ledger, and expired documents leave every mailbox (their files
//! removed, their ledger rows kept). Only the caller's own mailbox is ever read: a delivery
//! of another organisation is answered as unknown. Every call is audited, naming the
//! delivery (`delivery:<id>`).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use super::error::ServiceError;
use super::execution::off_workers;
use super::register::OK;
use super::{Call, Caller, Services, Success};
use crate::domain::delivery::Receipt;
use crate::domain::{
    Delivery, DeliveryQuery, DocumentType, EnterpriseNumber, NoticePolicy, Retention,
};
use crate::store::delivery::{self as mailbox, Locations, MailboxEvent, NewDocument, Summary};
use crate::store::{audit, Database, StoreError};

/// The folder of the outbox broadcasts are stored in (`<outbox>/broadcasts/<id>/<name>`);
/// receivers' folders are enterprise numbers, so the name is free.
pub const BROADCASTS: &str = "broadcasts";

/// Documents expired in one transaction.
const EXPIRY_BATCH: i64 = 1000;

/// What the mailboxes are configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxSettings {
    /// The folder the documents' locations are relative to.
    pub outbox: PathBuf,
    pub retention: Retention,
    /// The largest file a SOAP answer carries.
    pub soap_max_bytes: u64,
    /// When deliveries never downloaded are reminded and alerted of.
    pub notices: NoticePolicy,
}

impl Default for MailboxSettings {
    fn default() -> MailboxSettings {
        MailboxSettings {
            outbox: PathBuf::from("outbox"),
            retention: Retention::default(),
            soap_max_bytes: 16 << 20,
            notices: NoticePolicy::default(),
        }
    }
}

/// A delivery with its files' bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// As it is after the fetch (its receipt recorded).
    pub delivery: Delivery,
    pub content: Vec<u8>,
    /// A daily file's voucher and its signature (the `.voucher.sig` file: base64 text).
    pub voucher: Option<Vec<u8>>,
    pub signature: Option<String>,
}

/// The target of a delivery's audit entries.
pub fn target(id: i64) -> String {
    format!("delivery:{id}")
}

impl Services {
    /// A page of the caller's mailbox, and how many deliveries the query selects in all.
    pub async fn list_deliveries(
        &self,
        call: &Call,
        caller: &Caller,
        query: DeliveryQuery,
    ) -> Result<(i64, Vec<Delivery>), ServiceError> {
        let (db, organisation_id) = (self.db.clone(), caller.organisation_id);
        let result = super::execution::on_database(&self.db, move || {
            let mut conn = db.connection()?;
            Ok(mailbox::list(&mut conn, organisation_id, &query)?)
        })
        .await;
        self.conclude(call, caller, result, Success::ToRecord).await
    }

    /// One delivery of the caller's mailbox with its files, no larger than the SOAP limit.
    /// The first fetch records the receipt (who, when) and its event in the same transaction
    /// as its audit entry; later ones are audited like any read.
    pub async fn get_delivery(
        &self,
        call: &Call,
        caller: &Caller,
        id: i64,
    ) -> Result<Fetched, ServiceError> {
        let limit = self.mailboxes.soap_max_bytes;
        let outbox = self.mailboxes.outbox.clone();
        let (db, who) = (self.db.clone(), caller.clone());
        let entry = call.audit_entry(Some(caller.organisation_id), OK);
        let result = off_workers(move || {
            let (delivery, locations) = open(&db, &who, id)?;
            if delivery.size < 0 || delivery.size as u64 > limit {
                return Err(ServiceError::DeliveryTooLarge {
                    id,
                    size: delivery.size,
                    limit,
                });
            }
            let files = read_files(&outbox, &delivery, &locations)?;
            let recorded = receive(&db, delivery, &who.username, Some(entry))?;
            Ok((recorded, files))
        })
        .await;
        match result {
            Ok(((delivery, recorded), (content, voucher, signature))) => {
                let fetched = Fetched {
                    delivery,
                    content,
                    voucher,
                    signature,
                };
                let success = if recorded {
                    Success::Recorded
                } else {
                    Success::ToRecord
                };
                self.conclude(call, caller, Ok(fetched), success).await
            }
            Err(e) => self.conclude(call, caller, Err(e), Success::ToRecord).await,
        }
    }
}

/// The delivery `id` of the caller's mailbox and where its files are; an expired one is
/// refused as such.
pub fn open(
    db: &Database,
    caller: &Caller,
    id: i64,
) -> Result<(Delivery, Locations), ServiceError> {
    let mut conn = db.connection()?;
    let (delivery, locations) = mailbox::find(&mut conn, caller.organisation_id, id)?
        .ok_or(ServiceError::DeliveryUnknown(id))?;
    if delivery.expired {
        return Err(ServiceError::DeliveryExpired(id));
    }
    Ok((delivery, locations))
}

/// Records the receipt of a delivery if none was recorded yet, with `entry` (the call's audit
/// entry) in the same transaction; tells the delivery as it now is, and whether `entry` was
/// written. An expired delivery (expired since it was opened) is refused.
pub fn receive(
    db: &Database,
    delivery: Delivery,
    by: &str,
    entry: Option<audit::AuditEntry>,
) -> Result<(Delivery, bool), ServiceError> {
    if delivery.receipt.is_some() {
        return Ok((delivery, false));
    }
    let receipt = Receipt {
        at: crate::store::now(),
        by: by.to_owned(),
    };
    db.write(|conn| {
        let held = mailbox::lock(conn)?;
        let (current, _) = mailbox::find(conn, delivery.organisation_id, delivery.id)?
            .ok_or(ServiceError::DeliveryUnknown(delivery.id))?;
        if current.expired {
            return Err(ServiceError::DeliveryExpired(delivery.id));
        }
        if current.receipt.is_some() {
            // Another fetch recorded it first.
            return Ok((current, false));
        }
        mailbox::record_receipt(conn, &held, &current, &receipt)?;
        let written = match &entry {
            Some(entry) => {
                audit::append(conn, std::slice::from_ref(entry))?;
                true
            }
            None => false,
        };
        Ok((
            Delivery {
                receipt: Some(receipt.clone()),
                ..current
            },
            written,
        ))
    })
}

type Files = (Vec<u8>, Option<Vec<u8>>, Option<String>);

/// The bytes of a delivery's file, voucher and signature, the file checked against its size.
fn read_files(
    outbox: &Path,
    delivery: &Delivery,
    locations: &Locations,
) -> Result<Files, ServiceError> {
    let missing = |path: &Path, e: io::Error| {
        ServiceError::Storage(StoreError::Corrupt(format!(
            "delivery {}: cannot read {}: {e}",
            delivery.id,
            path.display()
        )))
    };
    let read = |location: &str| {
        let path = outbox.join(location);
        fs::read(&path).map_err(|e| missing(&path, e))
    };
    let content = read(&locations.file)?;
    if content.len() as i64 != delivery.size {
        return Err(ServiceError::Storage(StoreError::Corrupt(format!(
            "delivery {}: {} is {} bytes, {} were published",
            delivery.id,
            locations.file,
            content.len(),
            delivery.size
        ))));
    }
    let voucher = locations.voucher.as_deref().map(read).transpose()?;
    let signature = locations
        .signature
        .as_deref()
        .map(read)
        .transpose()?
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned());
    Ok((content, voucher, signature))
}

/// Where a broadcast goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipients {
    All,
    Organisations(Vec<EnterpriseNumber>),
}

/// What a broadcast did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broadcast {
    pub document_id: i64,
    pub mailboxes: usize,
    pub size: i64,
    pub sha256: String,
    pub expires_at: NaiveDateTime,
}

/// Stores the file at `source` once in the outbox and delivers it to every recipient's
/// mailbox, in one transaction (an unknown enterprise number refuses the whole broadcast, and
/// a refused one leaves no file behind). `operator` names who published it.
pub fn broadcast(
    db: &Database,
    settings: &MailboxSettings,
    source: &Path,
    subject: &str,
    recipients: &Recipients,
    registered: bool,
    operator: &str,
) -> Result<Broadcast, ServiceError> {
    let subject = subject.trim();
    if subject.is_empty() || subject.chars().any(char::is_control) || subject.len() > 256 {
        return Err(ServiceError::InvalidInput(
            "the subject must be 1 to 256 bytes of text without control characters".into(),
        ));
    }
    let file_name = stored_name(source)?;
    let organisation_ids = match recipients {
        Recipients::All => None,
        Recipients::Organisations(numbers) => Some(
            numbers
                .iter()
                .map(|number| super::admin::organisation_id(db, number))
                .collect::<Result<Vec<i32>, _>>()?,
        ),
    };
    let folder = Path::new(BROADCASTS).join(uuid::Uuid::new_v4().to_string());
    let location = folder.join(&file_name);
    let copied = store_copy(source, &settings.outbox.join(&location));
    let (size, sha256) = match copied {
        Ok(copied) => copied,
        Err(e) => {
            // Nothing of a refused broadcast stays: neither its folder nor a partial copy.
            let _ = fs::remove_dir_all(settings.outbox.join(&folder));
            return Err(e);
        }
    };
    let published_at = crate::store::now();
    let kind = DocumentType::Broadcast;
    let document = NewDocument {
        file_type: kind.as_str().to_owned(),
        file_name,
        subject: Some(subject.to_owned()),
        location: location.to_string_lossy().into_owned(),
        voucher_location: None,
        signature_location: None,
        batch_file_id: None,
        reference_date: None,
        sequence_number: None,
        records: None,
        size,
        sha256: sha256.clone(),
        registered,
        published_by: operator.to_owned(),
        published_at,
        expires_at: settings.retention.expiry(kind, published_at),
    };
    let stored = db.write(|conn| {
        let held = mailbox::lock(conn)?;
        Ok::<_, ServiceError>(mailbox::publish_broadcast(
            conn,
            &held,
            &document,
            organisation_ids.as_deref(),
        )?)
    });
    match stored {
        Ok((document_id, mailboxes)) => Ok(Broadcast {
            document_id,
            mailboxes,
            size,
            sha256,
            expires_at: document.expires_at,
        }),
        Err(e) => {
            let _ = fs::remove_dir_all(settings.outbox.join(&folder));
            Err(e)
        }
    }
}

/// The name a broadcast file is stored and delivered under: the source's own, if it is a
/// plain file name.
fn stored_name(source: &Path) -> Result<String, ServiceError> {
    let name = source
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if plain {
        Ok(name.to_owned())
    } else {
        Err(ServiceError::InvalidInput(format!(
            "{}: the file name must be letters, digits, '.', '_' or '-' (not starting with '.')",
            source.display()
        )))
    }
}

/// Copies `source` to `target` durably (a temporary name, `fsync`, rename), telling its size
/// and SHA-256.
fn store_copy(source: &Path, target: &Path) -> Result<(i64, String), ServiceError> {
    let failed =
        |path: &Path, e: io::Error| ServiceError::InvalidInput(format!("{}: {e}", path.display()));
    let folder = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(folder).map_err(|e| failed(folder, e))?;
    let mut input = File::open(source).map_err(|e| failed(source, e))?;
    let partial = folder.join(".broadcast.partial");
    let mut output = File::create(&partial).map_err(|e| failed(&partial, e))?;
    let mut digest = Sha256::new();
    let mut size = 0i64;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = input.read(&mut buffer).map_err(|e| failed(source, e))?;
        if n == 0 {
            break;
        }
        digest.update(&buffer[..n]);
        output
            .write_all(&buffer[..n])
            .map_err(|e| failed(&partial, e))?;
        size += n as i64;
    }
    output.sync_all().map_err(|e| failed(&partial, e))?;
    fs::rename(&partial, target).map_err(|e| failed(target, e))?;
    File::open(folder)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| failed(folder, e))?;
    Ok((size, format!("{:x}", digest.finalize())))
}

/// What an expiry sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Documents that expired now.
    pub expired: usize,
    /// Documents whose files were removed (now or left by an earlier sweep).
    pub removed: usize,
}

/// Takes the documents whose retention is over at `now` out of every mailbox, then removes
/// their files (a sweep stopped between the two removes them the next time). The ledger
/// rows stay.
pub fn expire(
    db: &Database,
    settings: &MailboxSettings,
    now: NaiveDateTime,
) -> Result<Sweep, ServiceError> {
    let mut sweep = Sweep::default();
    loop {
        let expired = db.write(|conn| {
            let held = mailbox::lock(conn)?;
            mailbox::expire_due(conn, &held, now, EXPIRY_BATCH)
        })?;
        sweep.expired += expired;
        if (expired as i64) < EXPIRY_BATCH {
            break;
        }
    }
    loop {
        let due = {
            let mut conn = db.connection()?;
            mailbox::to_remove(&mut conn, EXPIRY_BATCH)?
        };
        for document in &due {
            remove_files(&settings.outbox, &document.locations)?;
        }
        let ids: Vec<i64> = due.iter().map(|d| d.id).collect();
        db.write(|conn| mailbox::mark_removed(conn, &ids, crate::store::now()))?;
        sweep.removed += ids.len();
        if (due.len() as i64) < EXPIRY_BATCH {
            break;
        }
    }
    Ok(sweep)
}

/// Removes a document's files (those already gone are no error), and a broadcast's folder.
fn remove_files(outbox: &Path, locations: &Locations) -> Result<(), ServiceError> {
    let all = std::iter::once(&locations.file)
        .chain(locations.voucher.as_ref())
        .chain(locations.signature.as_ref());
    for location in all {
        let path = outbox.join(location);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(ServiceError::Internal(format!(
                    "cannot remove {}: {e}",
                    path.display()
                )))
            }
        }
    }
    let folder = Path::new(&locations.file).parent();
    if let Some(folder) =
        folder.filter(|f| f.starts_with(BROADCASTS) && f != &Path::new(BROADCASTS))
    {
        let _ = fs::remove_dir(outbox.join(folder));
    }
    Ok(())
}

/// The sender's view of a mailbox: every delivery, expired ones too, newest first.
pub fn ledger(
    db: &Database,
    cbe: &EnterpriseNumber,
    limit: i64,
) -> Result<Vec<Delivery>, ServiceError> {
    let organisation_id = super::admin::organisation_id(db, cbe)?;
    Ok(mailbox::ledger(
        &mut *db.connection()?,
        organisation_id,
        limit,
    )?)
}

/// One file of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The file itself: its first download is the proof of receipt.
    Content,
    Voucher,
    Signature,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Content => "content",
            Part::Voucher => "voucher",
            Part::Signature => "signature",
        }
    }
}

impl Services {
    /// The caller's mailbox at a glance.
    pub async fn mailbox_summary(
        &self,
        call: &Call,
        caller: &Caller,
    ) -> Result<Summary, ServiceError> {
        let (db, organisation_id) = (self.db.clone(), caller.organisation_id);
        let result = super::execution::on_database(&self.db, move || {
            let mut conn = db.connection()?;
            Ok(mailbox::summary(&mut conn, organisation_id)?)
        })
        .await;
        self.conclude(call, caller, result, Success::ToRecord).await
    }

    /// One delivery of the caller's mailbox, without its files.
    pub async fn delivery(
        &self,
        call: &Call,
        caller: &Caller,
        id: i64,
    ) -> Result<Delivery, ServiceError> {
        let (db, who) = (self.db.clone(), caller.clone());
        let result =
            super::execution::on_database(&self.db, move || Ok(open(&db, &who, id)?.0)).await;
        self.conclude(call, caller, result, Success::ToRecord).await
    }

    /// Where one file of a delivery of the caller's mailbox is, for streaming it; the
    /// first download of its content records the receipt, with the call's audit entry.
    pub async fn download(
        &self,
        call: &Call,
        caller: &Caller,
        id: i64,
        part: Part,
    ) -> Result<(Delivery, PathBuf), ServiceError> {
        let outbox = self.mailboxes.outbox.clone();
        let (db, who) = (self.db.clone(), caller.clone());
        let entry = call.audit_entry(Some(caller.organisation_id), OK);
        let result = off_workers(move || {
            let (delivery, locations) = open(&db, &who, id)?;
            let location = match part {
                Part::Content => Some(&locations.file),
                Part::Voucher => locations.voucher.as_ref(),
                Part::Signature => locations.signature.as_ref(),
            }
            .ok_or(ServiceError::NoSuchPart(id, part.as_str()))?;
            let path = outbox.join(location);
            if part != Part::Content {
                return Ok((delivery, path, false));
            }
            let (delivery, recorded) = receive(&db, delivery, &who.username, Some(entry))?;
            Ok((delivery, path, recorded))
        })
        .await;
        match result {
            Ok((delivery, path, true)) => Ok((delivery, path)),
            Ok((delivery, path, false)) => {
                self.conclude(call, caller, Ok((delivery, path)), Success::ToRecord)
                    .await
            }
            Err(e) => self.conclude(call, caller, Err(e), Success::ToRecord).await,
        }
    }

    /// The events of the caller's mailbox numbered after `after`, at most `limit`.
    pub async fn mailbox_events(
        &self,
        call: &Call,
        caller: &Caller,
        after: i64,
        limit: i64,
    ) -> Result<Vec<MailboxEvent>, ServiceError> {
        let (db, organisation_id) = (self.db.clone(), caller.organisation_id);
        let result = super::execution::on_database(&self.db, move || {
            let mut conn = db.connection()?;
            Ok(mailbox::events_after(
                &mut conn,
                organisation_id,
                after,
                limit,
            )?)
        })
        .await;
        self.conclude(call, caller, result, Success::ToRecord).await
    }
}
