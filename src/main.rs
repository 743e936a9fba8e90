//! `raas`: the person register service and its tools.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use raas::cli::{admin, batch, demo, generate, import, niss_check, search, voucher};
use raas::config::{Config, Given, GlobalKeys, ServeKeys};
use raas::server::{Application, ServerConfig, TlsFiles};
use raas::service::Services;
use raas::store::{redact_url, Database};

/// Every key can also be given by its environment variable or in the --config file; a flag
/// wins over its variable, which wins over the file.
#[derive(Debug, Parser)]
#[command(
    name = "raas",
    version,
    about = "A person register offered as a service",
    after_help = "Every key can be given by its flag, its environment variable (shown) or a line \
                  `key = value` of the --config TOML file, in that order of precedence."
)]
struct Cli {
    #[command(flatten)]
    _keys: GlobalKeys,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the web services (creates the database and applies the migrations if needed)
    Serve {
        /// Seeds a demo organisation, 100 000 synthetic persons, and prints the credentials
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        _keys: ServeKeys,
    },
    /// Creates the database if needed and applies the pending migrations
    Migrate,
    /// National numbers (NISS)
    #[command(subcommand)]
    Niss(NissCommand),
    /// Administration: organisations, credentials, dossier types, grants, subscriptions
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Synthetic data for trials and benchmarks
    #[command(subcommand)]
    Generate(generate::GenerateCommand),
    /// Loads the authentic source's files
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// The daily mutation files: runs on demand, their state, the signing key
    #[command(subcommand)]
    Batch(batch::BatchCommand),
    /// Operators' phonetic search of persons by name and birth date (recorded in the audit
    /// trail under the operator's name)
    Search(search::SearchArgs),
    /// For receivers of the daily files: checks the files against their signed vouchers
    #[command(subcommand)]
    Voucher(voucher::VoucherCommand),
}

#[derive(Debug, Subcommand)]
enum NissCommand {
    /// Validates numbers (arguments, or one per line on standard input; blank lines are
    /// skipped) and prints one JSON object per number
    Check {
        /// The numbers; none: read standard input
        numbers: Vec<String>,
    },
}

/// Ordinary errors are one line on standard error, `error: ` and the causes separated by
/// `: `, exit status 1, never a backtrace.
fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let config = Config::load(&Given {
        global: &matches,
        serve: matches.subcommand_matches("serve"),
    })?;
    match cli.command {
        Command::Niss(NissCommand::Check { numbers }) => {
            let today = chrono::Utc::now().date_naive();
            let stdin = std::io::stdin();
            let stdout = std::io::stdout();
            match niss_check::run(&numbers, stdin.lock(), stdout.lock(), today) {
                // The reader went away (`| head`): what it wanted was written.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                result => result.map(|_| ()).map_err(Into::into),
            }
        }
        Command::Migrate => {
            open(&config, 1)?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin(command) => {
            // Commands that only read never create a database nor migrate one.
            let db = if command.only_reads() {
                Database::open_existing(&config.database_url, 2)
                    .map(|db| db.with_checkout_timeout(connect_timeout(&config)))
                    .with_context(|| cannot_open(&config))?
            } else {
                open(&config, 2)?
            };
            admin::run(&db, command, &config)
        }
        Command::Generate(command) => generate::run(command),
        Command::Import(command) => import::run(&config.database_url, command),
        Command::Serve { demo, .. } => serve(config, demo),
        Command::Batch(command) => batch::run(&config, command),
        Command::Voucher(command) => voucher::run(&config, command),
        Command::Search(args) => {
            let db = Database::open_existing(&config.database_url, 1)
                .map(|db| db.with_checkout_timeout(connect_timeout(&config)))
                .with_context(|| cannot_open(&config))?;
            search::run(&db, args)
        }
    }
}

fn connect_timeout(config: &Config) -> Duration {
    Duration::from_secs(config.db_connect_timeout_seconds)
}

fn cannot_open(config: &Config) -> String {
    format!(
        "cannot open the database {}",
        redact_url(&config.database_url)
    )
}

/// Opens the database, creating it and applying the migrations if needed.
fn open(config: &Config, connections: u32) -> anyhow::Result<Database> {
    Database::open(&config.database_url, connections)
        .map(|db| db.with_checkout_timeout(connect_timeout(config)))
        .with_context(|| cannot_open(config))
}

/// Sets the log subscriber.
// Where `raas::telemetry::init(config.log_format)` takes over.
fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    raas::telemetry::init(config.log_format);
    // A schedule that cannot run refuses the start, before anything is opened.
    let schedules = raas::batch::scheduler::Schedules::from_config(&config)?;
    let db = open(&config, config.db_connections)?;
    let tls = config.tls_cert.clone().zip(config.tls_key.clone()).map(
        |(certificate_chain, private_key)| TlsFiles {
            certificate_chain,
            private_key,
        },
    );
    let mut server_config = ServerConfig {
        listen: config.listen.clone(),
        max_request_bytes: config.max_request_bytes,
        tls,
        public_url: config.public_url.clone(),
        workers: config.workers,
        body_timeout: Duration::from_secs(config.body_timeout_seconds),
        tokens: raas::service::access_token::TokenSettings {
            issuer: config.token_issuer.clone(),
            audience: config.token_audience.clone(),
            lifetime: Duration::from_secs(config.token_lifetime_seconds),
        },
        external_tokens: config.oidc_issuer.clone().map(|issuer| {
            raas::service::external_token::ExternalSettings {
                issuer,
                audience: config
                    .oidc_audience
                    .clone()
                    .unwrap_or_else(|| config.token_audience.clone()),
                organisation_claim: config.oidc_organisation_claim.clone(),
                jwks_refresh: Duration::from_secs(config.oidc_jwks_refresh_seconds),
            }
        }),
        ..ServerConfig::default()
    };
    let mut settings = raas::batch::BatchSettings::from_config(&config);
    let batch = raas::batch::scheduler::BatchStatus::default();
    server_config.batch = batch.clone();
    actix_web::rt::System::new().block_on(async move {
        let services = Services::new(db, raas::cli::mailbox::settings(&config));
        let demo = if demo {
            let demo = demo::seed(&services, &config, &settings).await?;
            settings.signing_key.get_or_insert(demo.signing_key.clone());
            Some(demo)
        } else {
            None
        };
        let db = services.db.clone();
        let app = Application::build(services, server_config)?;
        // Once the port is bound: the webhooks owed are sent.
        actix_web::rt::spawn(raas::service::webhook::dispatch(
            db.clone(),
            raas::service::webhook::WebhookSettings {
                allow_private: config.webhook_allow_private,
                ..Default::default()
            },
        ));
        // Once the port is bound: the e-mails owed are sent (none without an SMTP server).
        match &config.smtp_url {
            Some(url) => {
                let mail = raas::service::mail::MailSettings {
                    smtp_url: url.clone(),
                    from: config.mail_from.clone(),
                    timeout: Duration::from_secs(30),
                    poll: Duration::from_secs(1),
                };
                let transport = raas::service::mail::transport(&mail)?;
                actix_web::rt::spawn(raas::service::mail::dispatch(db.clone(), mail, transport));
            }
            None => tracing::warn!(
                "e-mail off: no smtp_url configured (the notifications wait in the outbox)"
            ),
        }
        // Once the port is bound: a service that cannot start makes no run.
        raas::batch::scheduler::start(
            &batch,
            db,
            settings.clone(),
            config.inbox.clone(),
            raas::cli::mailbox::settings(&config),
            &schedules,
        )
        .await?;
        let host = config
            .listen
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or("127.0.0.1");
        let base = format!("{}://{}:{}", app.scheme(), host, app.port());
        let mut out = std::io::stdout().lock();
        writeln!(out, "raas listening on {base}")?;
        writeln!(out, "WSDL: {base}/soap/PersonRegisterService?wsdl")?;
        writeln!(out, "WSDL: {base}/soap/PersonIdentificationService?wsdl")?;
        writeln!(out, "WSDL: {base}/soap/DeliveryService?wsdl")?;
        if let Some(demo) = &demo {
            writeln!(out, "{}", demo::describe(demo, &settings))?;
        }
        out.flush()?;
        drop(out);
        app.run().await?;
        Ok(())
    })
}
