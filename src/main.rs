//! `raas`: the person register service and its tools.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use raas::cli::{admin, demo, generate, import, niss_check};
use raas::server::{Application, ServerConfig, TlsFiles};
use raas::service::Services;
use raas::store::Database;
use raas::telemetry::{self, LogFormat};

#[derive(Debug, Parser)]
#[command(
    name = "raas",
    version,
    about = "A person register offered as a service"
)]
struct Cli {
    /// Where the data lives: a SQLite file (default) or postgres://…
    #[arg(long, global = true, env = "DATABASE_URL", default_value = "raas.db")]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the web services
    Serve {
        /// Address and port to listen on (port 0: any free port)
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Seeds a demo organisation, 100 000 synthetic persons, and prints the credentials
        #[arg(long)]
        demo: bool,
        /// PEM certificate chain: serve HTTPS
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of the certificate
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Largest SOAP request accepted, in bytes
        #[arg(long, default_value_t = 65_536)]
        max_request_bytes: usize,
        /// Base URL published in the WSDL (default: the address the WSDL is asked at)
        #[arg(long)]
        public_url: Option<String>,
        /// HTTP worker threads (default: one per core)
        #[arg(long)]
        workers: Option<usize>,
        /// Database connections in the pool
        #[arg(long, default_value_t = 16)]
        db_connections: u32,
        /// Log lines on standard error: text, or one JSON object per line
        #[arg(long, value_enum, default_value_t = LogFormat::Text)]
        log_format: LogFormat,
    },
    /// Applies the pending database migrations
    Migrate,
    /// National numbers (NISS)
    #[command(subcommand)]
    Niss(NissCommand),
    /// Administration: organisations, credentials, dossier types, grants
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Synthetic data for trials and benchmarks
    #[command(subcommand)]
    Generate(generate::GenerateCommand),
    /// Loads the authentic source's files
    #[command(subcommand)]
    Import(import::ImportCommand),
}

#[derive(Debug, Subcommand)]
enum NissCommand {
    /// Validates numbers (arguments, or one per line on standard input) and prints one JSON
    /// object per number
    Check { numbers: Vec<String> },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
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
            Database::open(&cli.database_url, 1)?;
            println!("migrations applied");
            Ok(())
        }
        Command::Admin(command) => admin::run(&Database::open(&cli.database_url, 2)?, command),
        Command::Generate(command) => generate::run(command),
        Command::Import(command) => import::run(&cli.database_url, command),
        Command::Serve {
            listen,
            demo,
            tls_cert,
            tls_key,
            max_request_bytes,
            public_url,
            workers,
            db_connections,
            log_format,
        } => {
            telemetry::init(log_format);
            let db = Database::open(&cli.database_url, db_connections)
                .with_context(|| format!("opening {}", cli.database_url))?;
            let demo = if demo { Some(demo::seed(&db)?) } else { None };
            let tls = tls_cert
                .zip(tls_key)
                .map(|(certificate_chain, private_key)| TlsFiles {
                    certificate_chain,
                    private_key,
                });
            let config = ServerConfig {
                listen: listen.clone(),
                max_request_bytes,
                tls,
                public_url,
                workers,
                ..ServerConfig::default()
            };
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(Services::new(db), config)?;
                let host = listen
                    .rsplit_once(':')
                    .map(|(h, _)| h)
                    .unwrap_or("127.0.0.1");
                let base = format!("{}://{}:{}", app.scheme(), host, app.port());
                let mut out = std::io::stdout().lock();
                writeln!(out, "raas listening on {base}")?;
                writeln!(out, "WSDL: {base}/soap/PersonRegisterService?wsdl")?;
                writeln!(out, "WSDL: {base}/soap/PersonIdentificationService?wsdl")?;
                if let Some(demo) = &demo {
                    writeln!(out, "{}", demo::describe(demo))?;
                }
                out.flush()?;
                drop(out);
                app.run().await?;
                Ok(())
            })
        }
    }
}
