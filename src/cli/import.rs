//! `raas import …`: loading the authentic source's files.

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Loads a population file (xsd/Population.xsd) into the persons of the source
    Persons {
        /// The population file
        file: PathBuf,
        /// Hide the progress bar
        #[arg(long)]
        quiet: bool,
    },
    /// Applies an authentic-source feed file (xsd/NrMutations.xsd), whole or not at all
    NrMutations {
        /// The feed file
        file: PathBuf,
    },
    /// Applies a Dimona file of employment declarations (xsd/Dimona.xsd), whole or not at all
    Dimona {
        /// The Dimona file
        file: PathBuf,
    },
}

pub fn run(database_url: &str, command: ImportCommand) -> anyhow::Result<()> {
    match command {
        ImportCommand::Persons { file, quiet } => {
            super::import_persons::run(database_url, &file, quiet)
        }
        ImportCommand::NrMutations { file } => super::import_nr_mutations::run(database_url, &file),
        ImportCommand::Dimona { file } => super::import_dimona::run(database_url, &file),
    }
}
