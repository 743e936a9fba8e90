//! The search-quality benchmark: a population generated and imported by the real binary,
//! queries drawn from its persons through the corruption model (`corruption.rs`), each
//! answered by `service::phonetic_search::find_candidates` (the function the SOAP
//! operation and `raas search` call) and, side by side, by what a PostgreSQL user would
//! write with `fuzzystrmatch` and `pg_trgm` (`tests/bench/search_quality.sql`).
//!
//! Settings (environment): `SEARCH_QUALITY_PERSONS` (1 000 000), `SEARCH_QUALITY_SEED` (1),
//! `SEARCH_QUALITY_QUERIES` per kind (200), `SEARCH_QUALITY_DIR` (`target/bench/search_quality`,
//! the imported database is kept there for reruns), `SEARCH_QUALITY_POSTGRES` or
//! `TEST_DATABASE_URL` (a PostgreSQL server for the baseline; the database
//! `raas_bench_quality_baseline` is created and dropped). The report is written to
//! `target/bench/search_quality.md`.

use std::collections::{BTreeMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use raas::domain::candidate_score::{LIKELY_EXISTING_SCORE, MIN_SCORE};
use raas::domain::identity_check::NameKey;
use raas::domain::name_search::{given_name_words, KEY_VERSION};
use raas::domain::search_criteria::birth_code;
use raas::domain::{Gender, IncompleteDate, Person, PersonStatus, SearchCriteria};
use raas::population::names::{first_names, last_name, Community};
use raas::population::Generator;
use raas::service::phonetic_search::find_candidates;
use raas::store::{person, Database};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::corruption::{Kind, Query, Source};

const GENERATED_AT: &str = "2026-01-01T00:00:00Z";
const BASELINE_DATABASE: &str = "raas_bench_quality_baseline";
/// Candidates asked for by every query (the operation's default).
const MAXIMUM: u32 = 10;

struct Settings {
    persons: u64,
    seed: u64,
    queries: usize,
    dir: PathBuf,
    postgres: Option<String>,
}

impl Settings {
    fn from_env() -> Settings {
        let number = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.replace(['_', ' '], "").parse().ok())
                .unwrap_or(default)
        };
        let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench");
        Settings {
            persons: number("SEARCH_QUALITY_PERSONS", 1_000_000),
            seed: number("SEARCH_QUALITY_SEED", 1),
            queries: number("SEARCH_QUALITY_QUERIES", 200) as usize,
            dir: std::env::var("SEARCH_QUALITY_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| target.join("search_quality")),
            postgres: std::env::var("SEARCH_QUALITY_POSTGRES")
                .or_else(|_| std::env::var("TEST_DATABASE_URL"))
                .ok()
                .filter(|u| !u.is_empty()),
        }
    }
}

fn raas(args: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_raas"))
        .args(args)
        .env("RAAS_GENERATED_AT", GENERATED_AT)
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "raas {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn today() -> NaiveDate {
    chrono::DateTime::parse_from_rfc3339(GENERATED_AT)
        .expect("a date-time")
        .date_naive()
}

/// The imported population's SQLite file, generated and imported by the binary unless a
/// previous run left it (its name holds the settings and the key version).
fn population_database(settings: &Settings) -> PathBuf {
    std::fs::create_dir_all(&settings.dir).expect("benchmark folder");
    let name = format!(
        "persons-{}-{}-keys{KEY_VERSION}.db",
        settings.persons, settings.seed
    );
    let db = settings.dir.join(&name);
    if db.exists() {
        return db;
    }
    let file = settings.dir.join("population.xml");
    let partial = settings.dir.join(format!("{name}.partial"));
    let _ = std::fs::remove_file(&partial);
    let started = Instant::now();
    raas(&[
        "generate",
        "population",
        "--persons",
        &settings.persons.to_string(),
        "--seed",
        &settings.seed.to_string(),
        "--output",
        path(&file),
    ]);
    raas(&[
        "import",
        "persons",
        "--quiet",
        "--database-url",
        &format!("sqlite://{}", path(&partial)),
        path(&file),
    ]);
    std::fs::remove_file(&file).expect("population file removed");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path(&partial)));
    }
    std::fs::rename(&partial, &db).expect("database in place");
    eprintln!(
        "generated and imported {} persons in {:.0} s",
        settings.persons,
        started.elapsed().as_secs_f64()
    );
    db
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Who a person is for the absence check of new persons: last name, first names and birth
/// date, normalised.
fn identity_hash(last: &str, first: &[String], birth: IncompleteDate) -> u64 {
    let mut h = DefaultHasher::new();
    NameKey::new(last).glued().hash(&mut h);
    for name in first {
        given_name_words(name).hash(&mut h);
    }
    birth.hash(&mut h);
    h.finish()
}

/// What one pass over the generated persons gives: a uniform sample of them, the identities
/// present, and (for the baseline) a CSV file of every person.
struct Population {
    sample: Vec<Person>,
    present: HashSet<u64>,
}

fn read_population(settings: &Settings, sample_size: usize, csv: Option<&Path>) -> Population {
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed ^ 0x5eed);
    let mut sample: Vec<Person> = Vec::with_capacity(sample_size);
    let mut present = HashSet::with_capacity(settings.persons as usize);
    let mut out = csv.map(|p| std::io::BufWriter::new(std::fs::File::create(p).expect("csv")));
    let generator = Generator::new(settings.persons, settings.seed, today()).expect("a population");
    for (seen, person) in generator.enumerate() {
        let identity = &person.identity;
        present.insert(identity_hash(
            &identity.last_name,
            &identity.first_names,
            identity.birth_date,
        ));
        if let Some(out) = out.as_mut() {
            let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            writeln!(
                out,
                "{},{},{},{},{}",
                person.ssin.as_str(),
                quote(&identity.last_name),
                quote(&identity.first_names.join(" ")),
                birth_code(identity.birth_date),
                identity.gender.map_or("", |g| g.as_str())
            )
            .expect("csv written");
        }
        if person.status != PersonStatus::Active {
            continue;
        }
        // Reservoir sampling.
        if sample.len() < sample_size {
            sample.push(person);
        } else {
            let j = rng.random_range(0..=seen);
            if j < sample_size {
                sample[j] = person;
            }
        }
    }
    if let Some(mut out) = out {
        out.flush().expect("csv flushed");
    }
    Population { sample, present }
}

/// A query and the number it should find (none for a new person).
struct Case {
    kind: Option<Kind>,
    query: Query,
    expected: Option<String>,
}

fn criteria(query: &Query) -> Option<SearchCriteria> {
    SearchCriteria::new(
        &query.last_name,
        query.first_name.as_deref(),
        None,
        query.birth_date,
        query.tolerance,
        query.gender,
        Some(MAXIMUM),
    )
    .ok()
}

fn draw_cases(settings: &Settings, population: &Population) -> Vec<Case> {
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed ^ 0xca5e);
    let mut cases = Vec::new();
    for kind in Kind::ALL {
        let mut order: Vec<usize> = (0..population.sample.len()).collect();
        order.shuffle(&mut rng);
        let mut made = 0;
        for i in order {
            if made == settings.queries {
                break;
            }
            let person = &population.sample[i];
            let source = Source {
                last_name: &person.identity.last_name,
                first_names: &person.identity.first_names,
                birth_date: person.identity.birth_date,
                gender: person.identity.gender,
            };
            if let Some(query) = kind.apply(&source, &mut rng) {
                if criteria(&query).is_some() {
                    cases.push(Case {
                        kind: Some(kind),
                        query,
                        expected: Some(person.ssin.as_str().to_string()),
                    });
                    made += 1;
                }
            }
        }
    }
    // New persons: names drawn as the generator draws them, birth date and gender of a
    // person of the population (the same distributions), absent from the population.
    let mut made = 0;
    while made < settings.queries * 2 {
        let x: f64 = rng.random();
        let community = if x < Community::Dutch.share() {
            Community::Dutch
        } else if x < Community::Dutch.share() + Community::French.share() {
            Community::French
        } else {
            Community::German
        };
        let like = &population.sample[rng.random_range(0..population.sample.len())];
        let gender = like.identity.gender.unwrap_or(Gender::Female);
        let last = last_name(&mut rng, community);
        let first = first_names(&mut rng, community, gender);
        let birth = like.identity.birth_date;
        if population
            .present
            .contains(&identity_hash(&last, &first, birth))
        {
            continue;
        }
        let query = Query {
            last_name: last,
            first_name: first.first().cloned(),
            birth_date: birth,
            tolerance: birth.day().is_none().then_some(1),
            gender: like.identity.gender,
        };
        if criteria(&query).is_some() {
            cases.push(Case {
                kind: None,
                query,
                expected: None,
            });
            made += 1;
        }
    }
    cases
}

/// What one engine answered to one case.
#[derive(Clone, Debug, Default)]
struct Outcome {
    /// Position of the expected number among the candidates (0 = first).
    rank: Option<usize>,
    candidates: usize,
    best_score: Option<u8>,
    /// The expected person is answered with at least `LIKELY_EXISTING_SCORE`.
    expected_likely: bool,
    took: Duration,
}

fn run_raas(db: &Database, cases: &[Case]) -> Vec<Outcome> {
    let mut conn = db.connection().expect("a connection");
    cases
        .iter()
        .map(|case| {
            let criteria = criteria(&case.query).expect("drawn valid");
            let started = Instant::now();
            let found = find_candidates(&mut conn, &criteria, MIN_SCORE).expect("a search");
            let took = started.elapsed();
            let rank = case
                .expected
                .as_ref()
                .and_then(|e| found.iter().position(|c| c.person.ssin.as_str() == e));
            Outcome {
                rank,
                candidates: found.len(),
                best_score: found.first().map(|c| c.score),
                expected_likely: rank.is_some_and(|r| found[r].score >= LIKELY_EXISTING_SCORE),
                took,
            }
        })
        .collect()
}

#[derive(QueryableByName)]
struct BaselineRow {
    #[diesel(sql_type = Text)]
    ssin: String,
}

/// The birth-code range a PostgreSQL user would write: the tolerance around the date, in
/// its unit (persons whose own date is incomplete fall inside month and year ranges).
fn baseline_window(query: &Query) -> (i32, i32) {
    let date = query.birth_date;
    let t = query.tolerance.unwrap_or(0);
    match (date.month(), date.day(), date.to_date()) {
        (Some(_), Some(_), Some(d)) => {
            let lo = d - chrono::Days::new(u64::from(t));
            let hi = d + chrono::Days::new(u64::from(t));
            let code = |d: NaiveDate| birth_code(IncompleteDate::from_date(d).expect("a date"));
            (code(lo), code(hi))
        }
        (Some(m), None, _) => {
            let months = date.year() * 12 + m as i32 - 1;
            let (lo, hi) = (months - t as i32, months + t as i32);
            (
                (lo / 12) * 10_000 + (lo % 12 + 1) * 100,
                (hi / 12) * 10_000 + (hi % 12 + 1) * 100 + 99,
            )
        }
        _ => (
            (date.year() - t as i32) * 10_000,
            (date.year() + t as i32) * 10_000 + 1299,
        ),
    }
}

const BASELINE_QUERY: &str = "\
SELECT ssin FROM bench_persons \
WHERE (dmetaphone(last_name) = dmetaphone($1) OR soundex(last_name) = soundex($1) \
       OR last_name % $1) \
  AND birth_code BETWEEN $2 AND $3 \
ORDER BY similarity(last_name, $1) + similarity(first_names, $4) DESC, ssin \
LIMIT $5";

fn psql(url: &str, args: &[&str]) {
    psql_with_input(url, args, None);
}

fn psql_with_input(url: &str, args: &[&str], input: Option<&Path>) {
    let stdin = match input {
        Some(file) => std::process::Stdio::from(std::fs::File::open(file).expect("input")),
        None => std::process::Stdio::null(),
    };
    let output = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-q"])
        .args(args)
        .stdin(stdin)
        .output()
        .expect("psql runs");
    assert!(
        output.status.success(),
        "psql {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn database_url(server: &str, database: &str) -> String {
    let base = server.split('?').next().unwrap_or(server);
    let root = base.rsplit_once('/').map_or(base, |(r, _)| r);
    format!("{root}/{database}")
}

fn run_baseline(server: &str, csv: &Path, cases: &[Case]) -> (Vec<Outcome>, Duration) {
    psql(
        server,
        &[
            "-c",
            &format!("DROP DATABASE IF EXISTS {BASELINE_DATABASE}"),
        ],
    );
    psql(
        server,
        &["-c", &format!("CREATE DATABASE {BASELINE_DATABASE}")],
    );
    let url = database_url(server, BASELINE_DATABASE);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bench/search_quality.sql");
    let started = Instant::now();
    psql_with_input(&url, &["-f", path(&script)], Some(csv));
    let load = started.elapsed();
    let mut conn = PgConnection::establish(&url).expect("baseline connection");
    let outcomes = cases
        .iter()
        .map(|case| {
            let (from, to) = baseline_window(&case.query);
            let started = Instant::now();
            let found: Vec<BaselineRow> = diesel::sql_query(BASELINE_QUERY)
                .bind::<Text, _>(&case.query.last_name)
                .bind::<Integer, _>(from)
                .bind::<Integer, _>(to)
                .bind::<Text, _>(case.query.first_name.as_deref().unwrap_or(""))
                .bind::<Integer, _>(MAXIMUM as i32)
                .load(&mut conn)
                .expect("baseline query");
            let took = started.elapsed();
            let rank = case
                .expected
                .as_ref()
                .and_then(|e| found.iter().position(|r| &r.ssin == e));
            Outcome {
                rank,
                candidates: found.len(),
                best_score: None,
                expected_likely: false,
                took,
            }
        })
        .collect();
    drop(conn);
    psql(
        server,
        &["-c", &format!("DROP DATABASE {BASELINE_DATABASE}")],
    );
    (outcomes, load)
}

#[derive(Default)]
struct Tally {
    queries: usize,
    at1: usize,
    at10: usize,
    candidates: usize,
    best_likely: usize,
    expected_likely: usize,
    proposed: usize,
}

impl Tally {
    fn add(&mut self, o: &Outcome) {
        self.queries += 1;
        self.at1 += usize::from(o.rank == Some(0));
        self.at10 += usize::from(o.rank.is_some_and(|r| r < 10));
        self.candidates += o.candidates;
        self.best_likely += usize::from(o.best_score.is_some_and(|s| s >= LIKELY_EXISTING_SCORE));
        self.expected_likely += usize::from(o.expected_likely);
        self.proposed += usize::from(o.candidates > 0);
    }

    fn share(&self, n: usize) -> f64 {
        n as f64 / self.queries.max(1) as f64
    }
}

fn percentile(times: &mut [Duration], p: f64) -> f64 {
    if times.is_empty() {
        return 0.0;
    }
    times.sort();
    let i = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1;
    times[i].as_secs_f64() * 1e3
}

pub fn run() -> String {
    let settings = Settings::from_env();
    let started = Instant::now();
    let db_path = population_database(&settings);
    let csv = settings.dir.join("baseline_persons.csv");
    let sample_size = (settings.queries * Kind::ALL.len() * 4).max(5_000);
    let population = read_population(
        &settings,
        sample_size,
        settings.postgres.as_ref().map(|_| csv.as_path()),
    );
    let cases = draw_cases(&settings, &population);
    drop(population);
    let db = Database::open(&format!("sqlite://{}", path(&db_path)), 2).expect("the database");
    {
        let mut conn = db.connection().expect("a connection");
        let expected: Vec<String> = cases.iter().filter_map(|c| c.expected.clone()).collect();
        let stored = person::find_many(&mut conn, &expected).expect("persons read");
        assert_eq!(
            stored.len(),
            expected.iter().collect::<HashSet<_>>().len(),
            "the imported file holds the generated persons"
        );
    }
    let ours = run_raas(&db, &cases);
    let baseline = settings
        .postgres
        .as_ref()
        .map(|server| run_baseline(server, &csv, &cases));
    let _ = std::fs::remove_file(&csv);
    let report = report(
        &settings,
        &cases,
        &ours,
        baseline.as_ref(),
        started.elapsed(),
    );
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench/search_quality.md");
    std::fs::create_dir_all(out.parent().expect("a folder")).expect("report folder");
    std::fs::write(&out, &report).expect("report written");
    report
}

fn report(
    settings: &Settings,
    cases: &[Case],
    ours: &[Outcome],
    baseline: Option<&(Vec<Outcome>, Duration)>,
    took: Duration,
) -> String {
    let mut by_kind: BTreeMap<Kind, (Tally, Tally)> = BTreeMap::new();
    let (mut all, mut all_base, mut fresh, mut fresh_base) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    for (i, case) in cases.iter().enumerate() {
        let base = baseline.map(|(b, _)| &b[i]);
        match case.kind {
            Some(kind) => {
                let entry = by_kind.entry(kind).or_default();
                entry.0.add(&ours[i]);
                all.add(&ours[i]);
                if let Some(b) = base {
                    entry.1.add(b);
                    all_base.add(b);
                }
            }
            None => {
                fresh.add(&ours[i]);
                if let Some(b) = base {
                    fresh_base.add(b);
                }
            }
        }
    }
    let mut md = String::new();
    md.push_str("# Phonetic search quality\n\n");
    md.push_str(&format!(
        "{} persons generated with seed {} (`raas generate population`, createdAt {GENERATED_AT}) \
         and imported into SQLite (`raas import persons`); {} queries per corruption kind drawn \
         from a uniform sample of the persons (`tests/search_quality/corruption.rs` documents the \
         model), {} new persons (names drawn like the generator's, birth date and gender of a \
         person of the population, identity checked absent). Every query asks for {MAXIMUM} \
         candidates; raas answers those scoring ≥ {MIN_SCORE}. Key version {KEY_VERSION}. \
         Run took {:.0} s.\n\n",
        settings.persons,
        settings.seed,
        settings.queries,
        fresh.queries,
        took.as_secs_f64()
    ));
    let has_base = baseline.is_some();
    md.push_str("| kind | queries | raas recall@1 | raas recall@10 | raas mean candidates | expected ≥ likely-existing |");
    if has_base {
        md.push_str(" baseline recall@1 | baseline recall@10 | baseline mean candidates |");
    }
    md.push_str("\n|---|---|---|---|---|---|");
    if has_base {
        md.push_str("---|---|---|");
    }
    md.push('\n');
    let line = |md: &mut String, label: &str, t: &Tally, b: &Tally| {
        md.push_str(&format!(
            "| {label} | {} | {:.3} | {:.3} | {:.2} | {:.3} |",
            t.queries,
            t.share(t.at1),
            t.share(t.at10),
            t.candidates as f64 / t.queries.max(1) as f64,
            t.share(t.expected_likely)
        ));
        if has_base {
            md.push_str(&format!(
                " {:.3} | {:.3} | {:.2} |",
                b.share(b.at1),
                b.share(b.at10),
                b.candidates as f64 / b.queries.max(1) as f64
            ));
        }
        md.push('\n');
    };
    for (kind, (t, b)) in &by_kind {
        line(&mut md, kind.label(), t, b);
    }
    line(&mut md, "**overall**", &all, &all_base);
    md.push_str(&format!(
        "\nGoals: recall@10 ≥ 0.995 (measured {:.4}), recall@1 ≥ 0.97 (measured {:.4}).\n\n",
        all.share(all.at10),
        all.share(all.at1)
    ));
    md.push_str("## Persons not in the population\n\n");
    md.push_str(&format!(
        "| engine | queries | some candidate proposed | mean candidates | best candidate ≥ {LIKELY_EXISTING_SCORE} (createBisNumber blocked) |\n|---|---|---|---|---|\n\
         | raas | {} | {:.3} | {:.2} | {:.3} |\n",
        fresh.queries,
        fresh.share(fresh.proposed),
        fresh.candidates as f64 / fresh.queries.max(1) as f64,
        fresh.share(fresh.best_likely)
    ));
    if has_base {
        md.push_str(&format!(
            "| baseline | {} | {:.3} | {:.2} | – (no score) |\n",
            fresh_base.queries,
            fresh_base.share(fresh_base.proposed),
            fresh_base.candidates as f64 / fresh_base.queries.max(1) as f64
        ));
    }
    md.push_str(&format!(
        "\n## createBisNumber\n\nCorrupted duplicates (every query above of a person present) \
         whose best candidate reaches LIKELY_EXISTING_SCORE ({LIKELY_EXISTING_SCORE}): **{:.4}** \
         (goal ≥ 0.99); whose *own* person is answered with that score: {:.4}. Genuinely new \
         persons blocked (best candidate ≥ {LIKELY_EXISTING_SCORE}): **{:.4}** (goal ≤ 0.02).\n\n",
        all.share(all.best_likely),
        all.share(all.expected_likely),
        fresh.share(fresh.best_likely)
    ));
    md.push_str("## Latency per query (same run, same queries, one client)\n\n| engine | p50 ms | p99 ms | max ms |\n|---|---|---|---|\n");
    let mut times: Vec<Duration> = ours.iter().map(|o| o.took).collect();
    md.push_str(&format!(
        "| raas `find_candidates`, SQLite | {:.2} | {:.2} | {:.2} |\n",
        percentile(&mut times, 0.5),
        percentile(&mut times, 0.99),
        percentile(&mut times, 1.0)
    ));
    if let Some((b, load)) = baseline {
        let mut times: Vec<Duration> = b.iter().map(|o| o.took).collect();
        md.push_str(&format!(
            "| baseline, PostgreSQL | {:.2} | {:.2} | {:.2} |\n\nBaseline load and indexing: {:.0} s.\n",
            percentile(&mut times, 0.5),
            percentile(&mut times, 0.99),
            percentile(&mut times, 1.0),
            load.as_secs_f64()
        ));
        md.push_str(&format!("\nBaseline query (`tests/bench/search_quality.sql` has the table and its indexes), \
             the birth-date range being the tolerance around the date in its unit:\n\n```sql\n{BASELINE_QUERY}\n```\n"));
    } else {
        md.push_str("\nNo PostgreSQL server given (SEARCH_QUALITY_POSTGRES / TEST_DATABASE_URL): no baseline.\n");
    }
    md
}
