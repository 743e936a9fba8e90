//! `raas generate …`: synthetic data.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Writes a synthetic population file (xsd/Population.xsd)
    Population {
        /// How many persons
        #[arg(long)]
        persons: u64,
        /// The seed: the same seed gives the same file
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where to write ("-" for standard output)
        #[arg(long, short, default_value = "-")]
        output: String,
    },
}

pub fn run(command: GenerateCommand) -> anyhow::Result<()> {
    match command {
        GenerateCommand::Population { .. } => anyhow::bail!("not available yet"),
    }
}
