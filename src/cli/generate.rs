//! `raas generate …`: synthetic data.

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::feed::generate;
use crate::population::generate::{write_population_with_progress, Generator};

/// The environment variable that fixes the file's `createdAt` (RFC 3339), and so the day
/// the population is generated for: the same persons, seed and `RAAS_GENERATED_AT` give
/// the same bytes.
pub const GENERATED_AT_VAR: &str = "RAAS_GENERATED_AT";

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Writes a synthetic population file (xsd/Population.xsd)
    ///
    /// Realistic Belgian persons (names by language community, age pyramid, national
    /// register and BCSS numbers, addresses), in ascending number order, streamed in
    /// constant memory. The file's createdAt is now, or the RFC 3339 date-time in the
    /// environment variable RAAS_GENERATED_AT; nobody is born or deceased after that day.
    /// The same --persons, --seed and RAAS_GENERATED_AT give a byte-identical file.
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
    /// Writes a synthetic authentic-source feed (xsd/NrMutations.xsd)
    ///
    /// Out of 100 records: 70 new persons (from the population generator), 18 identity
    /// changes, 4 deceases, 6 replacements and 2 cancellations, over numbers the file creates
    /// itself, so it applies to a source that does not know them: an empty one, or the
    /// population `generate population --persons P` writes with the same --seed and
    /// RAAS_GENERATED_AT when --population P is given. Streamed in constant memory;
    /// createdAt as for `generate population`. The same options and RAAS_GENERATED_AT give a
    /// byte-identical file.
    ///
    /// With --existing FILE, a day of mutations of a source that exists: --records distinct
    /// persons drawn at random from FILE, out of each 100 97 identity changes (a last name or
    /// an address), 2 deceases and 1 replacement by a new person (its newPerson record comes
    /// just before, with a number FILE does not hold). FILE lists every number the source
    /// knows, one a line, in ascending order (e.g. `SELECT ssin FROM persons ORDER BY ssin`);
    /// a number alone on its line may be mutated, a number followed by a space or a tab and
    /// anything else only kept clear of (e.g. a canceled number).
    NrMutations {
        /// How many records (with --existing: how many persons mutated)
        #[arg(long)]
        records: u64,
        /// The seed: the same seed gives the same file
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Leave out the numbers of the population of this size (same seed and day)
        #[arg(long, default_value_t = 0, conflicts_with = "existing")]
        population: u64,
        /// Mutate the persons of the source whose numbers FILE lists (see above)
        #[arg(long, value_name = "FILE")]
        existing: Option<String>,
        /// The file's fileId (default GEN-<seed>-<records>)
        #[arg(long)]
        file_id: Option<String>,
        /// Where to write ("-" for standard output)
        #[arg(long, short, default_value = "-")]
        output: String,
    },
    /// Writes a synthetic Dimona file (xsd/Dimona.xsd)
    ///
    /// Out of 100 declarations: 70 IN (students, flexi-jobs, occasional and ordinary
    /// workers, …, of the workers listed), 15 OUT, 10 UPDATE and 5 CANCEL of periods the file
    /// created earlier, so it applies to a source that knows the workers. Period ids of seed
    /// S start at (S mod 99999 + 1) × 10^7 + 1, so files of different seeds never clash.
    /// Streamed in constant memory; createdAt as for `generate population`. The same
    /// options, list and RAAS_GENERATED_AT give a byte-identical file.
    Dimona {
        /// How many declarations
        #[arg(long)]
        declarations: u64,
        /// A file of worker NISS, one a line (a sample of at most 262144 is used)
        #[arg(long)]
        workers: std::path::PathBuf,
        /// The seed: the same seed gives the same file
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The file's fileId (default DIMONA-<seed>-<declarations>)
        #[arg(long)]
        file_id: Option<String>,
        /// Where to write ("-" for standard output)
        #[arg(long, short, default_value = "-")]
        output: String,
    },
}

pub fn run(command: GenerateCommand) -> anyhow::Result<()> {
    match command {
        GenerateCommand::Population {
            persons,
            seed,
            output,
        } => population(persons, seed, &output),
        GenerateCommand::NrMutations {
            records,
            seed,
            population,
            existing,
            file_id,
            output,
        } => {
            let file_id = file_id.unwrap_or_else(|| format!("GEN-{seed}-{records}"));
            nr_mutations(
                records,
                seed,
                population,
                existing.as_deref(),
                &file_id,
                &output,
            )
        }
        GenerateCommand::Dimona {
            declarations,
            workers,
            seed,
            file_id,
            output,
        } => {
            let file_id = file_id.unwrap_or_else(|| format!("DIMONA-{seed}-{declarations}"));
            dimona(declarations, &workers, seed, &file_id, &output)
        }
    }
}

/// Whom a generated feed mutates.
enum People {
    /// Persons the file creates itself, leaving out a generated population of this size.
    Created { population: u64 },
    /// Persons of an existing source, drawn from the numbers it knows.
    Existing(generate::ExistingPlan),
}

fn nr_mutations(
    records: u64,
    seed: u64,
    population: u64,
    existing: Option<&str>,
    file_id: &str,
    output: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        crate::xml::record_file::is_record_id(file_id),
        "--file-id {file_id:?} is not 1 to 64 letters, digits or _.:-"
    );
    let created_at = created_at()?;
    let people = match existing {
        None => People::Created { population },
        Some(path) => {
            let file = File::open(path).with_context(|| format!("cannot open {path}"))?;
            let reader = std::io::BufReader::with_capacity(1 << 20, file);
            let plan = generate::plan_existing(reader, records, seed, created_at.date_naive())
                .map_err(|e| anyhow::anyhow!("--existing {path}: {e}"))?;
            People::Existing(plan)
        }
    };
    let write = |out: &mut dyn Write| match &people {
        People::Existing(plan) => {
            generate::write_existing_feed(out, file_id, plan, seed, created_at, |_| {})
        }
        People::Created { population } => {
            generate::write_feed(out, file_id, records, seed, *population, created_at, |_| {})
        }
    };
    let counts = if output == "-" {
        let stdout = std::io::stdout();
        let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
        write(&mut out).context("cannot write to standard output")?
    } else {
        let file = File::create(output).with_context(|| format!("cannot create {output}"))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        write(&mut out).with_context(|| format!("cannot write {output}"))?
    };
    eprintln!(
        "{file_id}: {} records ({} new persons, {} identity changes, {} deceases, {} replacements, {} cancellations){}",
        counts.records,
        counts.new_persons,
        counts.identity_changes,
        counts.deceases,
        counts.replacements,
        counts.cancellations,
        if output == "-" { String::new() } else { format!(" written to {output}") }
    );
    Ok(())
}

fn dimona(
    declarations: u64,
    workers: &std::path::Path,
    seed: u64,
    file_id: &str,
    output: &str,
) -> anyhow::Result<()> {
    use crate::dimona::generate::{read_workers, write_dimona};
    anyhow::ensure!(
        crate::xml::record_file::is_record_id(file_id),
        "--file-id {file_id:?} is not 1 to 64 letters, digits or _.:-"
    );
    let created_at = created_at()?;
    let list = File::open(workers).with_context(|| format!("cannot read {}", workers.display()))?;
    let workers = read_workers(std::io::BufReader::new(list), seed)
        .map_err(|e| anyhow::anyhow!("{}: {e}", workers.display()))?;
    let write =
        |out: &mut dyn Write| write_dimona(out, file_id, declarations, seed, &workers, created_at);
    let counts = if output == "-" {
        let stdout = std::io::stdout();
        write(&mut BufWriter::with_capacity(1 << 20, stdout.lock()))
            .context("cannot write to standard output")?
    } else {
        let file = File::create(output).with_context(|| format!("cannot create {output}"))?;
        write(&mut BufWriter::with_capacity(1 << 20, file))
            .with_context(|| format!("cannot write {output}"))?
    };
    eprintln!(
        "{file_id}: {} declarations ({} IN, {} OUT, {} UPDATE, {} CANCEL){}",
        counts.declarations,
        counts.ins,
        counts.outs,
        counts.updates,
        counts.cancels,
        if output == "-" {
            String::new()
        } else {
            format!(" written to {output}")
        }
    );
    Ok(())
}

/// `createdAt`: `RAAS_GENERATED_AT` if set, else now.
fn created_at() -> anyhow::Result<DateTime<Utc>> {
    match std::env::var(GENERATED_AT_VAR) {
        Ok(text) => Ok(DateTime::parse_from_rfc3339(text.trim())
            .with_context(|| {
                format!("{GENERATED_AT_VAR}={text:?} is not an RFC 3339 date-time (e.g. 2025-06-15T10:00:00Z)")
            })?
            .with_timezone(&Utc)),
        Err(std::env::VarError::NotPresent) => Ok(Utc::now()),
        Err(std::env::VarError::NotUnicode(_)) => {
            anyhow::bail!("{GENERATED_AT_VAR} is not valid UTF-8")
        }
    }
}

fn population(persons: u64, seed: u64, output: &str) -> anyhow::Result<()> {
    let created_at = created_at()?;
    let generator = Generator::new(persons, seed, created_at.date_naive())?;
    let bar = ProgressBar::with_draw_target(Some(persons), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {human_pos}/{human_len} persons, {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = |written: u64| bar.set_position(written);
    let written = if output == "-" {
        let stdout = std::io::stdout();
        let out = BufWriter::with_capacity(1 << 20, stdout.lock());
        write_population_with_progress(out, generator, seed, created_at, progress)
            .context("cannot write to standard output")?
    } else {
        let file = File::create(output).with_context(|| format!("cannot create {output}"))?;
        // write_population flushes at the end, so a write error is not lost in a drop.
        let out = BufWriter::with_capacity(1 << 20, file);
        write_population_with_progress(out, generator, seed, created_at, progress)
            .with_context(|| format!("cannot write {output}"))?
    };
    bar.finish_and_clear();
    if output != "-" {
        eprintln!("{written} persons written to {output}");
    }
    std::io::stderr().flush().ok();
    Ok(())
}
