//! `raas admin client …`: the OAuth 2.0 clients of the REST API (client credentials).

use clap::Subcommand;

use super::admin::cbe as enterprise_number;
use crate::domain::{Scope, Scopes};
use crate::service::admin;
use crate::store::Database;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Makes a client for an organisation and prints its id and secret (shown once: only a
    /// hash is kept)
    Add {
        /// The organisation's enterprise number (10 digits, e.g. 0202239951)
        #[arg(long)]
        cbe: String,
        /// A scope the client may ask for: mailbox:read, mailbox:download (repeatable;
        /// default both)
        #[arg(long = "scope", value_name = "SCOPE", value_parser = scope)]
        scopes: Vec<Scope>,
        /// The client authenticates with private_key_jwt (RFC 7523): the PEM public key
        /// (RSA, EC P-256/P-384 or Ed25519) its assertions are checked with; no secret
        #[arg(long = "public-key", value_name = "PEM_FILE")]
        public_key: Option<std::path::PathBuf>,
    },
    /// Lists an organisation's clients that are not revoked, with their scopes
    List {
        #[arg(long)]
        cbe: String,
    },
    /// Revokes a client: its next token request, and every request with its tokens, fail
    Revoke {
        #[arg(long)]
        cbe: String,
        #[arg(long = "client-id")]
        client_id: String,
    },
}

impl ClientCommand {
    pub fn only_reads(&self) -> bool {
        matches!(self, ClientCommand::List { .. })
    }
}

fn scope(value: &str) -> Result<Scope, String> {
    value.parse()
}

pub fn run(db: &Database, command: ClientCommand) -> anyhow::Result<()> {
    match command {
        ClientCommand::Add {
            cbe,
            scopes,
            public_key,
        } => {
            let scopes = if scopes.is_empty() {
                Scopes::all()
            } else {
                Scopes::new(scopes)
            };
            if let Some(path) = public_key {
                let pem = std::fs::read_to_string(&path).map_err(|e| {
                    anyhow::anyhow!("--public-key {}: cannot be read: {e}", path.display())
                })?;
                let client_id =
                    admin::add_key_client(db, &enterprise_number(&cbe)?, scopes.clone(), &pem)?;
                println!("client_id: {client_id}");
                println!("token_endpoint_auth_method: private_key_jwt");
                println!("scope: {scopes}");
                return Ok(());
            }
            let client = admin::add_client(db, &enterprise_number(&cbe)?, scopes)?;
            println!("client_id: {}", client.client_id);
            println!("client_secret: {}", client.client_secret);
            println!("scope: {}", client.scopes);
        }
        ClientCommand::List { cbe } => {
            for (client_id, scopes) in admin::clients(db, &enterprise_number(&cbe)?)? {
                println!("{client_id}\t{scopes}");
            }
        }
        ClientCommand::Revoke { cbe, client_id } => {
            if admin::revoke_client(db, &enterprise_number(&cbe)?, &client_id)? {
                println!("client {client_id} revoked");
            } else {
                anyhow::bail!("{cbe} has no active client {client_id}");
            }
        }
    }
    Ok(())
}
