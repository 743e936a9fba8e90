//! `serve --demo`: a demo organisation with a fresh secret, a few dossier types and both
//! identification operations granted, and a synthetic population of 100 000 persons of
//! which a few are registered, so that a first SOAP call can be made right away. For the
//! batch engine: a signing key (made once, next to the database, when none is configured)
//! and a PERSON_MUTATIONS subscription of the demo organisation, so a file is made the next
//! night or at once with `raas batch run`.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rand::distr::{Alphanumeric, SampleString};

use anyhow::Context;

use crate::batch::BatchSettings;
use crate::config::Config;
use crate::domain::{DossierTypeCode, EnterpriseNumber, Period, Person, PersonStatus};
use crate::population::generate::Generator;
use crate::population::import::import_persons;
use crate::service::identification::Operation;
use crate::service::{admin, delivery};
use crate::service::{Call, Caller, Services};
use crate::store::{person, DatabaseUrl};

pub const DEMO_CBE: &str = "0202239951";
pub const DEMO_USERNAME: &str = "demo";
/// The demo organisation's OAuth client of the REST API.
pub const DEMO_CLIENT: &str = "demo-client";
/// The service the demo's registrations are audited under.
pub const DEMO_SERVICE: &str = "raas-demo";
const DEMO_TYPES: &[(&str, &str)] = &[
    ("EMPLOYEE", "Employees of the demo organisation's clients"),
    ("BENEFICIARY", "Beneficiaries of an allowance"),
    ("PROVISIONAL", "Provisional registration (quality code 902)"),
];

/// How many persons the demo source holds.
pub const DEMO_PERSONS: u64 = 100_000;
/// The seed of the demo population.
const DEMO_SEED: u64 = 1;
/// The day the demo population is generated for: fixed, so every demo has the same persons.
const DEMO_REFERENCE_DAY: (i32, u32, u32) = (2026, 1, 1);
/// How many of them are registered under EMPLOYEE.
const DEMO_REGISTERED: usize = 5;
/// The demo's signing key, next to the database (PostgreSQL: in the working folder).
pub const DEMO_KEY_FILE: &str = "raas-demo-key.pem";

/// What the demo seeded, to print.
pub struct Demo {
    pub secret: String,
    /// Persons in the source.
    pub persons: i64,
    /// Persons registered under EMPLOYEE: number and name.
    pub registered: Vec<(String, String)>,
    /// The key the vouchers are signed with (the configured one, or the demo's).
    pub signing_key: PathBuf,
    /// Whether the demo made that key now.
    pub key_made: bool,
    /// The OAuth client of the REST API (its secret new at each start).
    pub client: admin::NewClient,
    /// Deliveries in the demo organisation's mailbox.
    pub deliveries: i64,
    /// The options the batch commands need to work on the demo's data: the database (when
    /// not the default) and the key.
    pub batch_options: String,
}

/// Seeds the demo organisation (once), the population (when the source is empty) and gives
/// the credential a new secret. The demo persons are registered through the register use
/// case, as the demo organisation's credential, and audited (service `raas-demo`).
pub async fn seed(
    services: &Services,
    config: &Config,
    settings: &BatchSettings,
) -> anyhow::Result<Demo> {
    let db = &services.db;
    let secret = seed_organisation(db)?;
    let (signing_key, key_made) = match &settings.signing_key {
        Some(key) => (key.clone(), false),
        None => demo_key(&config.database_url)?,
    };
    subscribe(db, settings.today())?;
    let (year, month, day) = DEMO_REFERENCE_DAY;
    let today = NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| anyhow::anyhow!("the demo reference day is not a date"))?;
    let empty = person::count(&mut *db.connection()?)? == 0;
    if empty {
        import_persons(
            db,
            Generator::new(DEMO_PERSONS, DEMO_SEED, today)?,
            "raas serve --demo",
        )?;
    }
    let registered = demo_persons(today)?;
    if empty {
        register(services, &registered).await?;
    }
    let cbe = EnterpriseNumber::parse(DEMO_CBE)?;
    let client = admin::set_client(db, &cbe, DEMO_CLIENT, crate::domain::Scopes::all())?;
    let deliveries = welcome(services, &cbe)?;
    Ok(Demo {
        secret,
        persons: person::count(&mut *db.connection()?)?,
        registered: registered
            .iter()
            .map(|p| {
                let name = format!(
                    "{} {} ({})",
                    p.identity.first_names.join(" "),
                    p.identity.last_name,
                    p.identity.birth_date
                );
                (p.ssin.to_string(), name)
            })
            .collect(),
        batch_options: batch_options(config, &signing_key),
        signing_key,
        key_made,
        client,
        deliveries,
    })
}

/// Puts a welcome document in the demo mailbox when it is empty; tells how many deliveries
/// the mailbox holds.
fn welcome(services: &Services, cbe: &EnterpriseNumber) -> anyhow::Result<i64> {
    let db = &services.db;
    let count = || -> anyhow::Result<i64> { Ok(delivery::ledger(db, cbe, 1_000)?.len() as i64) };
    let present = count()?;
    if present > 0 {
        return Ok(present);
    }
    let folder = std::env::temp_dir().join(format!("raas-demo-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&folder)?;
    let file = folder.join("welcome.txt");
    let written = std::fs::write(
        &file,
        "Welcome to raas: this document is a delivery in your mailbox.\n\
         Fetch it with DeliveryService (SOAP) or GET /api/v1/deliveries (REST, OAuth 2.0).\n",
    );
    let published = written.map_err(anyhow::Error::from).and_then(|()| {
        delivery::broadcast(
            db,
            &services.mailboxes,
            &file,
            "Welcome to your raas mailbox",
            &delivery::Recipients::Organisations(vec![*cbe]),
            false,
            "raas serve --demo",
        )
        .map_err(anyhow::Error::from)
    });
    let _ = std::fs::remove_dir_all(&folder);
    published?;
    count()
}

/// `--database-url URL --signing-key FILE` (the URL only when not the default, its password
/// hidden).
fn batch_options(config: &Config, signing_key: &Path) -> String {
    let default_url = crate::config::KEYS
        .iter()
        .find(|key| key.name == "database_url")
        .and_then(|key| key.default);
    let mut options = String::new();
    if default_url != Some(config.database_url.as_str()) {
        options = format!(
            "--database-url {} ",
            crate::store::redact_url(&config.database_url)
        );
    }
    options + &format!("--signing-key {}", signing_key.display())
}

/// The demo's key: `raas-demo-key.pem` next to the database, made the first time.
fn demo_key(database_url: &str) -> anyhow::Result<(PathBuf, bool)> {
    let folder = match DatabaseUrl::parse(database_url)? {
        DatabaseUrl::Sqlite(path) => Path::new(&path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        DatabaseUrl::Postgres(_) => PathBuf::new(),
    };
    let key = folder.join(DEMO_KEY_FILE);
    if key.exists() {
        return Ok((key, false));
    }
    crate::batch::signing::SigningKey::generate_to(&key)
        .with_context(|| format!("cannot make the demo signing key {}", key.display()))?;
    Ok((key, true))
}

/// The demo organisation's PERSON_MUTATIONS subscription (every dossier type), from `today`,
/// made once.
fn subscribe(db: &crate::store::Database, today: NaiveDate) -> anyhow::Result<()> {
    use crate::domain::FileType;
    use crate::service::subscription::{self, NewSubscription};
    let cbe = EnterpriseNumber::parse(DEMO_CBE)?;
    let subscribed = subscription::list(db, &cbe)?.iter().any(|view| {
        view.subscription.file_type == FileType::PersonMutations
            && view.subscription.ends_on.is_none_or(|end| end >= today)
    });
    if !subscribed {
        let new = NewSubscription {
            file_type: FileType::PersonMutations,
            dossier_types: Vec::new(),
            authorisation: None,
        };
        subscription::add(db, &cbe, &new, today)?;
    }
    Ok(())
}

/// The persons the demo registers: living, active persons of the demo population, spread
/// over it.
fn demo_persons(today: NaiveDate) -> anyhow::Result<Vec<Person>> {
    let step = (DEMO_PERSONS as usize) / DEMO_REGISTERED;
    Ok(Generator::new(DEMO_PERSONS, DEMO_SEED, today)?
        .skip(step / 2)
        .step_by(step)
        .filter(|p| p.status == PersonStatus::Active && p.identity.decease_date.is_none())
        .collect())
}

/// Registers the demo persons under EMPLOYEE from 1 January of this year, as the demo
/// credential would over SOAP: each registration is checked and audited by the use case.
async fn register(services: &Services, persons: &[Person]) -> anyhow::Result<()> {
    use chrono::Datelike;
    let cbe = EnterpriseNumber::parse(DEMO_CBE)?;
    let organisation = admin::find_organisation(&services.db, &cbe)?
        .ok_or_else(|| anyhow::anyhow!("the demo organisation is missing"))?;
    let begin = NaiveDate::from_ymd_opt(chrono::Utc::now().year(), 1, 1)
        .ok_or_else(|| anyhow::anyhow!("no 1 January this year"))?;
    let caller = Caller {
        organisation_id: organisation.id,
        cbe_number: organisation.cbe_number.clone(),
        username: DEMO_USERNAME.to_owned(),
        scopes: None,
    };
    for person in persons {
        let call = Call {
            service: DEMO_SERVICE,
            operation: "registerPerson".into(),
            server_ticket: uuid::Uuid::new_v4().to_string(),
            claimed_cbe_number: Some(DEMO_CBE.to_owned()),
            username: Some(DEMO_USERNAME.to_owned()),
            ssin: Some(person.ssin.to_string()),
            ..Call::default()
        };
        services
            .register_person(
                &call,
                &caller,
                person.ssin,
                DossierTypeCode::parse("EMPLOYEE")?,
                Period::new(begin, None)?,
                None,
            )
            .await
            .with_context(|| format!("registering the demo person {}", person.ssin))?;
    }
    Ok(())
}

fn seed_organisation(db: &crate::store::Database) -> anyhow::Result<String> {
    let cbe = EnterpriseNumber::parse(DEMO_CBE)?;
    if admin::find_organisation(db, &cbe)?.is_none() {
        admin::add_organisation(db, &cbe, "Demo Integrator")?;
    }
    for (code, description) in DEMO_TYPES {
        admin::add_dossier_type(db, &cbe, &DossierTypeCode::parse(code)?, Some(description))?;
    }
    for operation in Operation::ALL {
        admin::set_grant(db, &cbe, operation, true)?;
    }
    let secret = Alphanumeric.sample_string(&mut rand::rng(), 24);
    admin::set_credential(db, &cbe, DEMO_USERNAME, &secret)?;
    Ok(secret)
}

pub fn describe(demo: &Demo, settings: &BatchSettings) -> String {
    let types: Vec<&str> = DEMO_TYPES.iter().map(|(code, _)| *code).collect();
    let mut text = format!(
        "demo organisation {DEMO_CBE} (Demo Integrator)\n  username: {DEMO_USERNAME}\n  password: {}\n  dossier types: {}\n  granted: {}\nauthentic source: {} persons; registered under EMPLOYEE:",
        demo.secret,
        types.join(", "),
        Operation::ALL.map(Operation::as_str).join(", "),
        demo.persons
    );
    for (ssin, name) in &demo.registered {
        text.push_str(&format!("\n  {ssin}  {name}"));
    }
    let today = settings.today();
    let options = &demo.batch_options;
    text.push_str(&format!(
        "\nbatch engine: on; signing key {}{}\n  subscription: PERSON_MUTATIONS for {DEMO_CBE} (every dossier type)\n  a file of today's changes now: raas {options} batch run --date {today}\n  files and vouchers: {}/{DEMO_CBE}/\n  the public key for receivers: raas {options} batch public-key",
        demo.signing_key.display(),
        if demo.key_made { " (made now)" } else { "" },
        settings.outbox.display(),
    ));
    text.push_str(&format!(
        "\nmailbox: {} deliveries (SOAP DeliveryService, REST /api/v1/)\n  OAuth client_id: {}\n  OAuth client_secret: {}\n  scope: {}",
        demo.deliveries, demo.client.client_id, demo.client.client_secret, demo.client.scopes,
    ));
    text
}
