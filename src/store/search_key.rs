//! The phonetic search's index (`person_search_keys`): the keys of every active number, kept
//! in the same transaction as the person's row (`person::insert`, `insert_new`, `update`
//! call [`replace`]), so a search on any process sees a change as soon as it is committed.

use diesel::backend::Backend;
use diesel::dsl::SqlTypeOf;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, BigInt, HasSqlType, Integer, Text};
use diesel::sqlite::Sqlite;

use super::person::{PersonRow, FIRST_NAME_SEPARATOR};
use super::schema::person_search_keys;
use super::{DbConnection, StoreResult};
use crate::domain::name_search::{KeyMemo, QueryKeys};
use crate::domain::search_criteria::{birth_code, BirthWindow};
use crate::domain::IncompleteDate;

/// One row of the index: its primary key (`search_key`, `birth`, `ssin`) and the person's
/// `name_search::given_name_bits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Insertable)]
#[diesel(table_name = person_search_keys)]
pub struct KeyRow<'a> {
    pub search_key: i64,
    pub birth: i32,
    pub ssin: &'a str,
    pub given_name_bits: i32,
}

/// The index rows of a person as stored: none for a canceled number (never a candidate) or a
/// row whose birth date does not read (left to `PersonRow::person` to report).
pub fn rows_of(row: &PersonRow) -> Vec<KeyRow<'_>> {
    rows_remembered(&mut KeyMemo::default(), row)
}

/// [`rows_of`] for one of many persons, with the names' keys remembered in `memo`.
pub fn rows_remembered<'a>(memo: &mut KeyMemo, row: &'a PersonRow) -> Vec<KeyRow<'a>> {
    rows_of_fields(
        memo,
        &row.ssin,
        &row.status,
        &row.last_name,
        &row.first_names,
        &row.birth_date,
    )
}

/// [`rows_remembered`] from the columns the keys depend on, for readers that load only those
/// (a rebuild, a check).
pub fn rows_of_fields<'a>(
    memo: &mut KeyMemo,
    ssin: &'a str,
    status: &str,
    last_name: &str,
    first_names: &str,
    birth_date: &str,
) -> Vec<KeyRow<'a>> {
    if status != "ACTIVE" {
        return Vec::new();
    }
    let Some(birth) = IncompleteDate::parse(birth_date).map(birth_code) else {
        return Vec::new();
    };
    let keys = memo.person_keys(last_name, first_names, FIRST_NAME_SEPARATOR);
    keys.keys
        .into_iter()
        .map(|search_key| KeyRow {
            search_key,
            birth,
            ssin,
            given_name_bits: keys.given_name_bits,
        })
        .collect()
}

/// Adds the index rows of persons just stored.
pub fn insert(conn: &mut DbConnection, rows: &[PersonRow]) -> StoreResult<()> {
    let keys: Vec<KeyRow> = rows.iter().flat_map(rows_of).collect();
    super::insert_rows!(conn, person_search_keys::table, keys, 5_000);
    Ok(())
}

/// Replaces the index rows of a person whose row changes from `old` to `new` (only the rows
/// that differ are written).
pub fn replace(conn: &mut DbConnection, old: &PersonRow, new: &PersonRow) -> StoreResult<()> {
    let before = rows_of(old);
    let after = rows_of(new);
    for gone in before.iter().filter(|k| !after.contains(k)) {
        diesel::delete(person_search_keys::table.find((gone.search_key, gone.birth, gone.ssin)))
            .execute(conn)?;
    }
    let added: Vec<KeyRow> = after.into_iter().filter(|k| !before.contains(k)).collect();
    super::insert_rows!(conn, person_search_keys::table, added, 5_000);
    Ok(())
}

/// One index range a search reads: the rows of `search_key` with a birth code in
/// `from..=to`, each counting 2 for its number, and 1 more when its person's given-name bits
/// meet `given_name_bits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Probe {
    search_key: i64,
    from: i32,
    to: i32,
    given_name_bits: i32,
}

/// The ranges of a search, one per key and window: the last-name keys in every window, with
/// the asked given names' bits (a person sharing a given name ranks first, however many
/// share the last name over years of births); the given-name keys in the narrow windows
/// only (they catch the slips in the last name no encoder forgives, but a first name alone
/// over a wide window is tens of thousands of rows).
fn probes(keys: &QueryKeys, windows: &[BirthWindow]) -> Vec<Probe> {
    let mut probes = Vec::new();
    for window in windows {
        let mut probe = |search_key: i64, given_name_bits: i32| {
            probes.push(Probe {
                search_key,
                from: window.from,
                to: window.to,
                given_name_bits,
            })
        };
        for &key in &keys.last_name {
            probe(key, keys.given_name_bits);
        }
        if window.narrow {
            for &key in &keys.given_names {
                probe(key, 0);
            }
        }
    }
    probes
}

/// The rows of the persons having one of `keys` with a birth date in one of `windows`, at
/// most `limit`, in no particular order: the likeliest numbers of the index, read with their
/// rows in the same statement. Numbers are ranked by their total weight (a person sharing
/// the last name *and* a given name comes before one sharing the last name only), then by
/// how near their birth code is to `target`: when a frequent name over a wide window gives
/// more numbers than `limit`, those read are the likeliest ones, not an arbitrary part.
pub fn candidates(
    conn: &mut DbConnection,
    keys: &QueryKeys,
    windows: &[BirthWindow],
    target: i32,
    limit: usize,
) -> StoreResult<Vec<PersonRow>> {
    let probes = probes(keys, windows);
    if probes.is_empty() {
        return Ok(Vec::new());
    }
    let rows = match conn {
        DbConnection::Postgres(pg) => PgCandidates::new(&probes, target, limit).load(pg)?,
        DbConnection::Sqlite(sqlite) => {
            SqliteCandidates::new(&probes, target, limit).load(sqlite)?
        }
    };
    Ok(rows)
}

/// The statement of [`candidates`] on PostgreSQL. Its text is the same for every search,
/// the probes bound as four arrays, so that each connection prepares and plans it once and
/// keeps it in its statement cache (diesel never caches a `sql_query`, whose text it cannot
/// know to be fixed). Each probe is a range of the index's primary key, read index-only.
struct PgCandidates {
    columns: PersonColumns<Pg>,
    search_keys: Vec<i64>,
    from: Vec<i32>,
    to: Vec<i32>,
    given_name_bits: Vec<i32>,
    target: i32,
    limit: usize,
}

impl PgCandidates {
    fn new(probes: &[Probe], target: i32, limit: usize) -> PgCandidates {
        PgCandidates {
            columns: <PersonRow as Selectable<Pg>>::construct_selection(),
            search_keys: probes.iter().map(|p| p.search_key).collect(),
            from: probes.iter().map(|p| p.from).collect(),
            to: probes.iter().map(|p| p.to).collect(),
            given_name_bits: probes.iter().map(|p| p.given_name_bits).collect(),
            target,
            limit,
        }
    }
}

impl QueryFragment<Pg> for PgCandidates {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        push_person_columns(&mut out, &self.columns)?;
        out.push_sql(" FROM (SELECT found.ssin FROM unnest(");
        out.push_bind_param::<Array<BigInt>, _>(&self.search_keys)?;
        out.push_sql("::bigint[], ");
        out.push_bind_param::<Array<Integer>, _>(&self.from)?;
        out.push_sql("::int[], ");
        out.push_bind_param::<Array<Integer>, _>(&self.to)?;
        out.push_sql("::int[], ");
        out.push_bind_param::<Array<Integer>, _>(&self.given_name_bits)?;
        out.push_sql(
            "::int[]) AS probe(search_key, born_from, born_to, given_name_bits) \
             CROSS JOIN LATERAL (SELECT k.ssin, k.birth, k.given_name_bits \
             FROM person_search_keys AS k \
             WHERE k.search_key = probe.search_key \
             AND k.birth BETWEEN probe.born_from AND probe.born_to) AS found",
        );
        push_ranking(&mut out, &self.target, self.limit)
    }
}

/// The statement of [`candidates`] on SQLite: one text whatever the probes, bound as one
/// JSON array of `[key, from, to, given-name bits]` read by `json_each` (SQLite binds no arrays), so
/// that each connection prepares it once and keeps it (diesel never caches a `sql_query`).
/// The probes are read out of the JSON once, into a small temporary table (`MATERIALIZED`:
/// otherwise each index row found would extract its probe's bits from the text again),
/// and are the outer loop (`CROSS JOIN` fixes SQLite's join order), each a range of the
/// index's primary key.
struct SqliteCandidates {
    columns: PersonColumns<Sqlite>,
    probes: String,
    target: i32,
    limit: usize,
}

impl SqliteCandidates {
    fn new(probes: &[Probe], target: i32, limit: usize) -> SqliteCandidates {
        let probes: Vec<String> = probes
            .iter()
            .map(|p| {
                format!(
                    "[{},{},{},{}]",
                    p.search_key, p.from, p.to, p.given_name_bits
                )
            })
            .collect();
        SqliteCandidates {
            columns: <PersonRow as Selectable<Sqlite>>::construct_selection(),
            probes: format!("[{}]", probes.join(",")),
            target,
            limit,
        }
    }
}

impl QueryFragment<Sqlite> for SqliteCandidates {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(
            "WITH probe(search_key, born_from, born_to, given_name_bits) AS MATERIALIZED \
             (SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(",
        );
        out.push_bind_param::<Text, _>(&self.probes)?;
        out.push_sql(")) ");
        push_person_columns(&mut out, &self.columns)?;
        out.push_sql(
            " FROM (SELECT found.ssin FROM probe CROSS JOIN person_search_keys AS found \
             WHERE found.search_key = probe.search_key \
             AND found.birth BETWEEN probe.born_from AND probe.born_to",
        );
        push_ranking(&mut out, &self.target, self.limit)
    }
}

/// `SELECT` and the columns of [`PersonRow`], in its fields' order.
fn push_person_columns<'b, DB>(
    out: &mut AstPass<'_, 'b, DB>,
    columns: &'b PersonColumns<DB>,
) -> QueryResult<()>
where
    DB: Backend,
    PersonRow: Selectable<DB>,
    PersonColumns<DB>: QueryFragment<DB>,
{
    out.push_sql("SELECT ");
    columns.walk_ast(out.reborrow())
}

/// The end of both statements, after the index rows found (`found`, joined to their
/// `probe`): one number per person, the likeliest `limit` of them (2 a row found, 1 more
/// for a given name shared, then the nearest birth), then their rows.
fn push_ranking<'b, DB>(
    out: &mut AstPass<'_, 'b, DB>,
    target: &'b i32,
    limit: usize,
) -> QueryResult<()>
where
    DB: Backend + HasSqlType<Integer>,
    i32: ToSql<Integer, DB>,
{
    out.push_sql(
        " GROUP BY found.ssin ORDER BY SUM(CASE WHEN (found.given_name_bits & \
         probe.given_name_bits) = 0 THEN 2 ELSE 3 END) DESC, MIN(ABS(found.birth - ",
    );
    out.push_bind_param::<Integer, _>(target)?;
    // The limit is written, not bound: SQLite plans a bound LIMIT for the value it had, so
    // every new binding would make it prepare the statement again.
    out.push_sql(&format!(
        ")), found.ssin LIMIT {limit}) AS candidate \
         CROSS JOIN persons WHERE persons.ssin = candidate.ssin"
    ));
    Ok(())
}

/// The columns both statements read: a [`PersonRow`] each.
type PersonColumns<DB> = <PersonRow as Selectable<DB>>::SelectExpression;

impl Query for PgCandidates {
    type SqlType = SqlTypeOf<PersonColumns<Pg>>;
}

impl Query for SqliteCandidates {
    type SqlType = SqlTypeOf<PersonColumns<Sqlite>>;
}

/// Kept in the statement cache under their text (one per limit, in practice one).
impl QueryId for PgCandidates {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryId for SqliteCandidates {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Conn> RunQueryDsl<Conn> for PgCandidates {}
impl<Conn> RunQueryDsl<Conn> for SqliteCandidates {}
