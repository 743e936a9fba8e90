//! The configuration: one typed [`Config`], read once at start-up from the command line, the
//! environment (`RAAS_…`) and an optional TOML file (`--config FILE` or `RAAS_CONFIG`).
//! Each key is given by the first of: its flag, its environment variable, the file, its
//! default. [`KEYS`] is the one list of keys: the flags, `--help` and the checks of the file
//! are made from it (README.md, "Configuration", has the same table).
//!
//! Refusals name the key and where its value came from: an unknown key of the file, a value
//! that is not of the key's type (`workers: invalid value "abc" from the environment variable
//! RAAS_WORKERS: …`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches};

/// The variable naming the configuration file, when `--config` is not given.
pub const CONFIG_ENV: &str = "RAAS_CONFIG";
/// The variable read for `database_url` after `RAAS_DATABASE_URL` (what other tools use).
pub const DATABASE_URL_ALIAS: &str = "DATABASE_URL";

pub use crate::telemetry::LogFormat;

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(value: &str) -> Result<LogFormat, String> {
        match value {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err("one of text, json".into()),
        }
    }
}

/// Everything raas is configured with. `Debug` shows the database URL without its password.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the data lives: a SQLite file or `postgres://…` (shown with its password
    /// redacted: see `store::DatabaseUrl`).
    pub database_url: String,
    /// Seconds to wait for a database connection. Used by the store's pool.
    pub db_connect_timeout_seconds: u64,
    /// `serve`: the address and port to listen on.
    pub listen: String,
    /// `serve`: the PEM certificate chain (HTTPS when set, with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// `serve`: the PEM private key of the certificate.
    pub tls_key: Option<PathBuf>,
    /// `serve`: the largest SOAP request accepted, in bytes.
    pub max_request_bytes: usize,
    /// `serve`: the base URL published in the WSDL.
    pub public_url: Option<String>,
    /// `serve`: HTTP worker threads (`None`: one per core).
    pub workers: Option<usize>,
    /// `serve`: database connections in the pool.
    pub db_connections: u32,
    /// `serve`: text or JSON log lines.
    pub log_format: LogFormat,
    /// `serve`: seconds a request's body may take to arrive. Used by the server's body
    /// deadline.
    pub body_timeout_seconds: u64,
    /// The batch engine: the folder the daily files are written to (`<outbox>/<cbe>/`).
    pub outbox: PathBuf,
    /// The batch engine: the folder feed files are picked up from (`<inbox>/nr-mutations/`,
    /// `<inbox>/dimona/`).
    pub inbox: PathBuf,
    /// The batch engine: the PEM (PKCS#8) Ed25519 key the vouchers are signed with.
    pub signing_key: Option<PathBuf>,
    /// The batch engine: the sender named in the files and vouchers.
    pub batch_sender: String,
    /// The batch engine: when `serve` makes the daily files (cron, seconds first).
    pub daily_schedule: String,
    /// The batch engine: when `serve` picks up the inbox (cron, seconds first).
    pub inbox_schedule: String,
    /// The batch engine: the time zone of reference dates and schedules.
    pub time_zone: chrono_tz::Tz,
    /// Mailboxes: how many days each kind of document stays.
    pub delivery_retention: crate::domain::Retention,
    /// Mailboxes: the largest file a SOAP `getDelivery` answer carries, in bytes.
    pub delivery_soap_max_bytes: u64,
    /// Mailboxes: when `serve` takes expired documents out of the mailboxes (cron).
    pub delivery_schedule: String,
    /// The REST API: the `iss` of raas's own access tokens.
    pub token_issuer: String,
    /// The REST API: the `aud` of raas's own access tokens.
    pub token_audience: String,
    /// The REST API: how long an access token is valid, in seconds.
    pub token_lifetime_seconds: u64,
    /// Webhooks: whether endpoints on loopback, private or link-local addresses are called.
    pub webhook_allow_private: bool,
    /// Mailboxes: days after publication a delivery never downloaded is reminded of.
    pub delivery_unread_reminder_days: u32,
    /// Mailboxes: days before expiry a delivery never downloaded is alerted of.
    pub delivery_expiry_alert_days: u32,
    /// E-mail: when `serve` makes the daily summaries of new deliveries (cron).
    pub notification_schedule: String,
    /// E-mail: the SMTP server (`None`: no e-mail is sent; they wait in the outbox).
    pub smtp_url: Option<String>,
    /// E-mail: the `From` of the notifications.
    pub mail_from: lettre::message::Mailbox,
    /// The REST API: the external OpenID Connect provider whose tokens are accepted.
    pub oidc_issuer: Option<String>,
    /// The REST API: the `aud` its tokens must carry (`None`: `token_audience`).
    pub oidc_audience: Option<String>,
    /// The REST API: the claim of its tokens naming the organisation.
    pub oidc_organisation_claim: String,
    /// The REST API: how often its JWKS is read again.
    pub oidc_jwks_refresh_seconds: u64,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field(
                "database_url",
                &crate::store::redact_url(&self.database_url),
            )
            .field(
                "db_connect_timeout_seconds",
                &self.db_connect_timeout_seconds,
            )
            .field("listen", &self.listen)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("public_url", &self.public_url)
            .field("workers", &self.workers)
            .field("db_connections", &self.db_connections)
            .field("log_format", &self.log_format)
            .field("body_timeout_seconds", &self.body_timeout_seconds)
            .field("outbox", &self.outbox)
            .field("inbox", &self.inbox)
            .field("signing_key", &self.signing_key)
            .field("batch_sender", &self.batch_sender)
            .field("daily_schedule", &self.daily_schedule)
            .field("inbox_schedule", &self.inbox_schedule)
            .field("time_zone", &self.time_zone)
            .field("delivery_retention", &self.delivery_retention)
            .field("delivery_soap_max_bytes", &self.delivery_soap_max_bytes)
            .field("delivery_schedule", &self.delivery_schedule)
            .field("token_issuer", &self.token_issuer)
            .field("token_audience", &self.token_audience)
            .field("token_lifetime_seconds", &self.token_lifetime_seconds)
            .field("webhook_allow_private", &self.webhook_allow_private)
            .field(
                "delivery_unread_reminder_days",
                &self.delivery_unread_reminder_days,
            )
            .field(
                "delivery_expiry_alert_days",
                &self.delivery_expiry_alert_days,
            )
            .field("notification_schedule", &self.notification_schedule)
            .field(
                "smtp_url",
                &self.smtp_url.as_deref().map(crate::store::redact_url),
            )
            .field("mail_from", &self.mail_from.to_string())
            .field("oidc_issuer", &self.oidc_issuer)
            .field("oidc_audience", &self.oidc_audience)
            .field("oidc_organisation_claim", &self.oidc_organisation_claim)
            .field("oidc_jwks_refresh_seconds", &self.oidc_jwks_refresh_seconds)
            .finish()
    }
}

/// Which commands take a key as a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every command (`raas --database-url … admin …`).
    Global,
    /// `raas serve`.
    Serve,
}

/// The TOML type a key's value has in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
}

/// One configuration key.
#[derive(Debug)]
pub struct Key {
    /// Its name in the file; the flag is `--` and the name with `-` for `_`.
    pub name: &'static str,
    pub env: &'static str,
    pub default: Option<&'static str>,
    pub value_name: &'static str,
    pub help: &'static str,
    pub scope: Scope,
    kind: Kind,
}

impl Key {
    pub fn flag(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }
}

/// Every key, in the order of `--help` and the README.
pub const KEYS: &[Key] = &[
    Key {
        name: "database_url",
        env: "RAAS_DATABASE_URL",
        default: Some("raas.db"),
        value_name: "URL",
        help: "Where the data lives: a SQLite file, sqlite://PATH or postgres://USER@HOST/DB \
               (DATABASE_URL is read too, after RAAS_DATABASE_URL)",
        scope: Scope::Global,
        kind: Kind::Text,
    },
    Key {
        name: "db_connect_timeout_seconds",
        env: "RAAS_DB_CONNECT_TIMEOUT_SECONDS",
        default: Some("2"),
        value_name: "SECONDS",
        help: "Seconds a caller waits for a database connection (then SERVICE_UNAVAILABLE)",
        scope: Scope::Global,
        kind: Kind::Integer,
    },
    Key {
        name: "listen",
        env: "RAAS_LISTEN",
        default: Some("127.0.0.1:8080"),
        value_name: "ADDR:PORT",
        help: "Address and port to listen on (port 0: any free port, printed)",
        scope: Scope::Serve,
        kind: Kind::Text,
    },
    Key {
        name: "tls_cert",
        env: "RAAS_TLS_CERT",
        default: None,
        value_name: "FILE",
        help: "PEM certificate chain: serve HTTPS (with --tls-key)",
        scope: Scope::Serve,
        kind: Kind::Text,
    },
    Key {
        name: "tls_key",
        env: "RAAS_TLS_KEY",
        default: None,
        value_name: "FILE",
        help: "PEM private key of the certificate (with --tls-cert)",
        scope: Scope::Serve,
        kind: Kind::Text,
    },
    Key {
        name: "max_request_bytes",
        env: "RAAS_MAX_REQUEST_BYTES",
        default: Some("65536"),
        value_name: "BYTES",
        help: "Largest SOAP request accepted, in bytes",
        scope: Scope::Serve,
        kind: Kind::Integer,
    },
    Key {
        name: "public_url",
        env: "RAAS_PUBLIC_URL",
        default: None,
        value_name: "URL",
        help: "Base URL published in the WSDL (default: the address the WSDL is asked at)",
        scope: Scope::Serve,
        kind: Kind::Text,
    },
    Key {
        name: "workers",
        env: "RAAS_WORKERS",
        default: None,
        value_name: "N",
        help: "HTTP worker threads (default: one per core)",
        scope: Scope::Serve,
        kind: Kind::Integer,
    },
    Key {
        name: "db_connections",
        env: "RAAS_DB_CONNECTIONS",
        default: Some("16"),
        value_name: "N",
        help: "Database connections in the pool",
        scope: Scope::Serve,
        kind: Kind::Integer,
    },
    Key {
        name: "log_format",
        env: "RAAS_LOG_FORMAT",
        default: Some("text"),
        value_name: "FORMAT",
        help: "Log lines on standard error: text or json (filtered by RUST_LOG, default info)",
        scope: Scope::Serve,
        kind: Kind::Text,
    },
    Key {
        name: "body_timeout_seconds",
        env: "RAAS_BODY_TIMEOUT_SECONDS",
        default: Some("10"),
        value_name: "SECONDS",
        help: "Seconds a request's body may take to arrive",
        scope: Scope::Serve,
        kind: Kind::Integer,
    },
    Key {
        name: "outbox",
        env: "RAAS_OUTBOX",
        default: Some("outbox"),
        value_name: "DIR",
        help: "Folder of the daily files: <outbox>/<cbe>/<TYPE>_<cbe>_<YYYYMMDD>_<seq>.xml",
        scope: Scope::Global,
        kind: Kind::Text,
    },
    Key {
        name: "inbox",
        env: "RAAS_INBOX",
        default: Some("inbox"),
        value_name: "DIR",
        help: "Folder feed files are picked up from: <inbox>/nr-mutations/, <inbox>/dimona/",
        scope: Scope::Global,
        kind: Kind::Text,
    },
    Key {
        name: "signing_key",
        env: "RAAS_SIGNING_KEY",
        default: None,
        value_name: "FILE",
        help: "PEM Ed25519 private key signing the vouchers (made by `raas batch keygen`)",
        scope: Scope::Global,
        kind: Kind::Text,
    },
    Key {
        name: "batch_sender",
        env: "RAAS_BATCH_SENDER",
        default: Some("raas"),
        value_name: "NAME",
        help: "Sender named in the daily files and their vouchers",
        scope: Scope::Global,
        kind: Kind::Text,
    },
    Key {
        name: "daily_schedule",
        env: "RAAS_DAILY_SCHEDULE",
        default: Some("0 30 2 * * *"),
        value_name: "CRON",
        help: "When serve makes the daily files of the day before (cron: sec min hour day month weekday)",
        scope: Scope::Global,
        kind: Kind::Text,
    },
    Key {
        name: "inbox_schedule",
        env: "RAAS_INBOX_SCHEDULE",
        default: Some("0 */5 * * * *"),
        value_name: "CRON",
        help: "When serve picks up the inbox's feed files (cron: sec min hour day month weekday)",
        scope: Scope::Global,
        kind: Kind::Text,
    },
    Key {
        name: "time_zone",
        env: "RAAS_TIME_ZONE",
        default: Some("Europe/Brussels"),
        value_name: "ZONE",
        help: "Time zone of the reference dates and the schedules (IANA name)",
        scope: Scope::Global,
        kind: Kind::Text,
    },
    Key {
        name: "delivery_retention",
        env: "RAAS_DELIVERY_RETENTION",
        default: Some("PERSON_MUTATIONS=60,DIMONA_MUTATIONS=60,BROADCAST=90"),
        value_name: "TYPE=DAYS,…",
        help: "Days a delivery stays in the mailboxes, per file type (PERSON_MUTATIONS, DIMONA_MUTATIONS, BROADCAST)",
        scope: Scope::Global,
        kind: Kind::Text,
    },
    Key {
        name: "delivery_soap_max_bytes",
        env: "RAAS_DELIVERY_SOAP_MAX_BYTES",
        default: Some("16777216"),
        value_name: "BYTES",
        help: "Largest file a SOAP getDelivery answer carries (larger ones: the REST API)",
        scope: Scope::Serve,
        kind: Kind::Integer,
    },
    Key {
        name: "delivery_schedule",
        env: "RAAS_DELIVERY_SCHEDULE",
        default: Some("0 15 * * * *"),
        value_name: "CRON",
        help: "When serve sweeps the mailboxes: expiry, then the reminders and alerts owed (cron: sec min hour day month weekday)",
        scope: Scope::Global,
        kind: Kind::Text,
    },
    Key {
        name: "token_issuer",
        env: "RAAS_TOKEN_ISSUER",
        default: Some("urn:raas"),
        value_name: "ISS",
        help: "The iss of the REST API's access tokens from /oauth/token",
        scope: Scope::Serve,
        kind: Kind::Text,
    },
    Key {
        name: "token_audience",
        env: "RAAS_TOKEN_AUDIENCE",
        default: Some("urn:raas:api"),
        value_name: "AUD",
        help: "The aud of the REST API's access tokens (required in every token)",
        scope: Scope::Serve,
        kind: Kind::Text,
    },
    Key {
        name: "token_lifetime_seconds",
        env: "RAAS_TOKEN_LIFETIME_SECONDS",
        default: Some("300"),
        value_name: "SECONDS",
        help: "How long an access token from /oauth/token is valid",
        scope: Scope::Serve,
        kind: Kind::Integer,
    },
    Key {
        name: "webhook_allow_private",
        env: "RAAS_WEBHOOK_ALLOW_PRIVATE",
        default: Some("false"),
        value_name: "BOOL",
        help: "Call webhook endpoints on loopback, private or link-local addresses (refused by default)",
        scope: Scope::Serve,
        kind: Kind::Text,
    },
    Key {
        name: "delivery_unread_reminder_days",
        env: "RAAS_DELIVERY_UNREAD_REMINDER_DAYS",
        default: Some("15"),
        value_name: "DAYS",
        help: "Days after publication a delivery never downloaded is reminded of (event, webhook, e-mail)",
        scope: Scope::Global,
        kind: Kind::Integer,
    },
    Key {
        name: "delivery_expiry_alert_days",
        env: "RAAS_DELIVERY_EXPIRY_ALERT_DAYS",
        default: Some("7"),
        value_name: "DAYS",
        help: "Days before expiry a delivery never downloaded is alerted of (event, webhook, e-mail)",
        scope: Scope::Global,
        kind: Kind::Integer,
    },
    Key {
        name: "notification_schedule",
        env: "RAAS_NOTIFICATION_SCHEDULE",
        default: Some("0 0 7 * * *"),
        value_name: "CRON",
        help: "When serve e-mails the daily summaries of new deliveries (cron: sec min hour day month weekday)",
        scope: Scope::Global,
        kind: Kind::Text,
    },
    Key {
        name: "smtp_url",
        env: "RAAS_SMTP_URL",
        default: None,
        value_name: "URL",
        help: "SMTP server of the e-mail notifications: smtp://host:port, smtps://user:password@host (unset: none sent)",
        scope: Scope::Serve,
        kind: Kind::Text,
    },
    Key {
        name: "mail_from",
        env: "RAAS_MAIL_FROM",
        default: Some("raas <raas@localhost>"),
        value_name: "MAILBOX",
        help: "From of the e-mail notifications (Name <address>)",
        scope: Scope::Serve,
        kind: Kind::Text,
    },
    Key {
        name: "oidc_issuer",
        env: "RAAS_OIDC_ISSUER",
        default: None,
        value_name: "URL",
        help: "Issuer URL of an external OpenID Connect provider whose access tokens the REST API accepts (discovery, JWKS)",
        scope: Scope::Serve,
        kind: Kind::Text,
    },
    Key {
        name: "oidc_audience",
        env: "RAAS_OIDC_AUDIENCE",
        default: None,
        value_name: "AUD",
        help: "The aud the external provider's tokens must carry (default: token_audience)",
        scope: Scope::Serve,
        kind: Kind::Text,
    },
    Key {
        name: "oidc_organisation_claim",
        env: "RAAS_OIDC_ORGANISATION_CLAIM",
        default: Some("org"),
        value_name: "CLAIM",
        help: "The claim of the external provider's tokens holding the organisation's enterprise number",
        scope: Scope::Serve,
        kind: Kind::Text,
    },
    Key {
        name: "oidc_jwks_refresh_seconds",
        env: "RAAS_OIDC_JWKS_REFRESH_SECONDS",
        default: Some("300"),
        value_name: "SECONDS",
        help: "How often the external provider's JWKS is read again (an unknown kid: at once)",
        scope: Scope::Serve,
        kind: Kind::Integer,
    },
];

/// The `--config` flag, global.
pub fn config_arg() -> Arg {
    Arg::new("config")
        .long("config")
        .env(CONFIG_ENV)
        .hide_env_values(true)
        .value_name("FILE")
        .value_parser(clap::value_parser!(PathBuf))
        .global(true)
        .help("TOML file of configuration keys (the flags' names with '_' for '-')")
}

/// The flags of the keys of `scope`. Values are read as text here and parsed by
/// [`Config::load`], which names where a wrong one came from.
pub fn args(scope: Scope) -> impl Iterator<Item = Arg> {
    KEYS.iter()
        .filter(move |k| k.scope == scope)
        .map(move |key| {
            let arg = Arg::new(key.name)
                .long(key.name.replace('_', "-"))
                .env(key.env)
                // `--help` would show the variable's value: a database password.
                .hide_env_values(true)
                .value_name(key.value_name)
                .help(key.help)
                .global(scope == Scope::Global);
            match key.default {
                Some(default) => arg.default_value(default),
                None => arg,
            }
        })
}

/// Where a value came from, to name it in a refusal.
enum Source<'a> {
    Flag(String),
    Env(&'a str),
    File(&'a Path),
    Default,
}

impl fmt::Display for Source<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "from the flag {flag}"),
            Source::Env(name) => write!(f, "from the environment variable {name}"),
            Source::File(path) => write!(f, "from the file {}", path.display()),
            Source::Default => f.write_str("by default"),
        }
    }
}

/// A refusal of the configuration.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

/// The file's keys and values, as text.
struct File {
    path: PathBuf,
    values: toml::Table,
}

impl File {
    fn read(path: &Path) -> Result<File, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        let values: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e.span().map_or(1, |span| {
                1 + text.as_bytes()[..span.start.min(text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
            });
            ConfigError(format!(
                "cannot read {}: line {line}: {}",
                path.display(),
                e.message().trim_end()
            ))
        })?;
        for (name, value) in &values {
            let Some(key) = KEYS.iter().find(|k| k.name == name) else {
                let names: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
                return Err(ConfigError(format!(
                    "{}: unknown key {name} (the keys are {})",
                    path.display(),
                    names.join(", ")
                )));
            };
            let fits = match key.kind {
                Kind::Text => value.is_str(),
                Kind::Integer => value.is_integer(),
            };
            if !fits {
                let wanted = match key.kind {
                    Kind::Text => "a string",
                    Kind::Integer => "an integer",
                };
                return Err(ConfigError(format!(
                    "{name}: invalid value {value} from the file {}: {wanted} is expected",
                    path.display()
                )));
            }
        }
        Ok(File {
            path: path.to_owned(),
            values,
        })
    }

    fn get(&self, name: &str) -> Option<String> {
        self.values.get(name).map(|value| match value {
            toml::Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    }
}

/// What the command line gave: the top-level matches and, for `serve`, its own.
pub struct Given<'a> {
    pub global: &'a ArgMatches,
    pub serve: Option<&'a ArgMatches>,
}

impl Given<'_> {
    /// The value and source of a key given by flag or by clap's reading of its variable.
    fn flag_or_env(&self, key: &Key) -> Option<(String, ValueSource)> {
        let matches = match key.scope {
            Scope::Global => self.global,
            Scope::Serve => self.serve?,
        };
        let source = matches.value_source(key.name)?;
        let value = matches.get_one::<String>(key.name)?;
        Some((value.clone(), source))
    }
}

impl Config {
    /// Reads the configuration: flags, then variables, then the file, then defaults.
    pub fn load(given: &Given<'_>) -> Result<Config, ConfigError> {
        let path = given.global.get_one::<PathBuf>("config");
        let file = path.map(|p| File::read(p)).transpose()?;
        let layers = Layers {
            given,
            file: file.as_ref(),
        };
        let config = Config {
            database_url: layers.get("database_url", |s| Ok::<_, String>(s.to_owned()))?,
            db_connect_timeout_seconds: layers.get("db_connect_timeout_seconds", positive)?,
            listen: layers.get("listen", |s| Ok::<_, String>(s.to_owned()))?,
            tls_cert: layers.optional("tls_cert", |s| Ok::<_, String>(PathBuf::from(s)))?,
            tls_key: layers.optional("tls_key", |s| Ok::<_, String>(PathBuf::from(s)))?,
            max_request_bytes: layers.get("max_request_bytes", positive)?,
            public_url: layers.optional("public_url", |s| Ok::<_, String>(s.to_owned()))?,
            workers: layers.optional("workers", positive)?,
            db_connections: layers.get("db_connections", positive)?,
            log_format: layers.get("log_format", LogFormat::from_str)?,
            body_timeout_seconds: layers.get("body_timeout_seconds", positive)?,
            outbox: layers.get("outbox", |s| Ok::<_, String>(PathBuf::from(s)))?,
            inbox: layers.get("inbox", |s| Ok::<_, String>(PathBuf::from(s)))?,
            signing_key: layers.optional("signing_key", |s| Ok::<_, String>(PathBuf::from(s)))?,
            batch_sender: layers.get("batch_sender", |s| Ok::<_, String>(s.to_owned()))?,
            daily_schedule: layers.get("daily_schedule", |s| Ok::<_, String>(s.to_owned()))?,
            inbox_schedule: layers.get("inbox_schedule", |s| Ok::<_, String>(s.to_owned()))?,
            time_zone: layers.get("time_zone", |s| {
                s.parse::<chrono_tz::Tz>()
                    .map_err(|_| "an IANA time zone name (e.g. Europe/Brussels) is expected")
            })?,
            delivery_retention: layers.get("delivery_retention", |s| s.parse())?,
            delivery_soap_max_bytes: layers.get("delivery_soap_max_bytes", positive)?,
            delivery_schedule: layers
                .get("delivery_schedule", |s| Ok::<_, String>(s.to_owned()))?,
            token_issuer: layers.get("token_issuer", non_empty)?,
            token_audience: layers.get("token_audience", non_empty)?,
            token_lifetime_seconds: layers.get("token_lifetime_seconds", positive)?,
            webhook_allow_private: layers.get("webhook_allow_private", |s| match s.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err("true or false is expected"),
            })?,
            delivery_unread_reminder_days: layers.get("delivery_unread_reminder_days", days)?,
            delivery_expiry_alert_days: layers.get("delivery_expiry_alert_days", days)?,
            notification_schedule: layers
                .get("notification_schedule", |s| Ok::<_, String>(s.to_owned()))?,
            smtp_url: layers.optional("smtp_url", non_empty)?,
            mail_from: layers.get("mail_from", |s| {
                s.trim()
                    .parse::<lettre::message::Mailbox>()
                    .map_err(|e| format!("a mailbox (raas <raas@example.be>) is expected: {e}"))
            })?,
            oidc_issuer: layers.optional("oidc_issuer", |s| {
                let url = non_empty(s)?;
                match reqwest::Url::parse(&url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(url),
                    _ => Err("an http or https URL is expected".to_owned()),
                }
            })?,
            oidc_audience: layers.optional("oidc_audience", non_empty)?,
            oidc_organisation_claim: layers.get("oidc_organisation_claim", non_empty)?,
            oidc_jwks_refresh_seconds: layers.get("oidc_jwks_refresh_seconds", positive)?,
        };
        match (&config.tls_cert, &config.tls_key) {
            (Some(_), None) => Err(ConfigError(
                "tls_cert is set without tls_key: HTTPS needs both".into(),
            )),
            (None, Some(_)) => Err(ConfigError(
                "tls_key is set without tls_cert: HTTPS needs both".into(),
            )),
            _ => Ok(config),
        }
    }
}

/// A number of days from 1 to ten years.
fn days(text: &str) -> Result<u32, String> {
    let days: u32 = positive(text)?;
    if days > crate::domain::Retention::MAX_DAYS {
        return Err(format!(
            "at most {} days are accepted",
            crate::domain::Retention::MAX_DAYS
        ));
    }
    Ok(days)
}

/// Text that is not empty.
fn non_empty(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("a non-empty value is expected".into());
    }
    Ok(text.to_owned())
}

/// A whole number of at least 1.
fn positive<T: FromStr + PartialOrd + From<u8>>(text: &str) -> Result<T, String>
where
    T::Err: fmt::Display,
{
    let value: T = text.trim().parse().map_err(|e: T::Err| e.to_string())?;
    if value < T::from(1) {
        return Err("at least 1 is expected".into());
    }
    Ok(value)
}

struct Layers<'a> {
    given: &'a Given<'a>,
    file: Option<&'a File>,
}

impl Layers<'_> {
    /// The text of a key given by its flag or its variable, and which.
    fn given_text(&self, key: &Key) -> Option<(String, Source<'static>)> {
        match self.given.flag_or_env(key) {
            Some((value, ValueSource::CommandLine)) => Some((value, Source::Flag(key.flag()))),
            Some((value, ValueSource::EnvVariable)) => Some((value, Source::Env(key.env))),
            // A default of the command line, or a key of another command: the variable is
            // read here.
            _ => std::env::var(key.env)
                .ok()
                .map(|value| (value, Source::Env(key.env))),
        }
    }

    fn resolve<T, E: fmt::Display>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Option<T>, ConfigError> {
        let key = KEYS
            .iter()
            .find(|k| k.name == name)
            .ok_or_else(|| ConfigError(format!("{name} is not a configuration key")))?;
        let found: Option<(String, String)> = self
            .given_text(key)
            .map(|(value, source)| (value, source.to_string()))
            .or_else(|| {
                (key.name == "database_url")
                    .then(|| std::env::var(DATABASE_URL_ALIAS).ok())
                    .flatten()
                    .map(|value| (value, Source::Env(DATABASE_URL_ALIAS).to_string()))
            })
            .or_else(|| {
                let file = self.file?;
                file.get(key.name)
                    .map(|value| (value, Source::File(&file.path).to_string()))
            })
            .or_else(|| {
                key.default
                    .map(|value| (value.to_owned(), Source::Default.to_string()))
            });
        match found {
            None => Ok(None),
            Some((value, source)) => parse(&value).map(Some).map_err(|e| {
                ConfigError(format!(
                    "{name}: invalid value {value:?} {source}: {e}",
                    name = key.name
                ))
            }),
        }
    }

    fn get<T, E: fmt::Display>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<T, ConfigError> {
        self.resolve(name, parse)?
            .ok_or_else(|| ConfigError(format!("{name} has no value")))
    }

    fn optional<T, E: fmt::Display>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Option<T>, ConfigError> {
        self.resolve(name, parse)
    }
}

/// The global keys as clap arguments (`#[command(flatten)]`); their values are read from
/// the matches by [`Config::load`].
#[derive(Debug, Clone, Copy)]
pub struct GlobalKeys;

/// The keys of `serve` as clap arguments (`#[command(flatten)]`).
#[derive(Debug, Clone, Copy)]
pub struct ServeKeys;

macro_rules! keys_as_args {
    ($name:ident, $augment:expr) => {
        impl clap::FromArgMatches for $name {
            fn from_arg_matches(_: &ArgMatches) -> Result<Self, clap::Error> {
                Ok($name)
            }
            fn update_from_arg_matches(&mut self, _: &ArgMatches) -> Result<(), clap::Error> {
                Ok(())
            }
        }
        impl clap::Args for $name {
            fn augment_args(cmd: clap::Command) -> clap::Command {
                $augment(cmd)
            }
            fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
                $augment(cmd)
            }
        }
    };
}

keys_as_args!(GlobalKeys, |cmd: clap::Command| cmd
    .arg(config_arg())
    .args(args(Scope::Global)));
keys_as_args!(ServeKeys, |cmd: clap::Command| cmd.args(args(Scope::Serve)));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_in_the_readme_table() {
        let readme = include_str!("../README.md");
        for key in KEYS {
            let row = format!("| `{}` | `{}` | `{}` |", key.name, key.flag(), key.env);
            assert!(readme.contains(&row), "README.md lacks the row {row}");
        }
    }

    #[test]
    fn env_names_are_the_keys_in_capitals() {
        for key in KEYS {
            assert_eq!(key.env, format!("RAAS_{}", key.name.to_uppercase()));
        }
    }

    #[test]
    fn positive_refuses_zero_and_words() {
        assert_eq!(positive::<u32>("3"), Ok(3));
        assert_eq!(
            positive::<u32>("0"),
            Err("at least 1 is expected".to_string())
        );
        assert_eq!(
            positive::<usize>("abc"),
            Err("invalid digit found in string".to_string())
        );
    }
}
