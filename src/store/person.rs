//! Persons of the authentic source: one row per number with its current status and identity
//! data. Their history is in the mutation journal (`journal`).

use chrono::NaiveDate;
use diesel::prelude::*;

use super::schema::persons;
use super::{search_key, DbConnection, StoreError, StoreResult};
use crate::domain::{Address, Gender, Identity, IncompleteDate, Niss, Person, PersonStatus};

/// Separates first names in the `first_names` column (names never contain it).
pub const FIRST_NAME_SEPARATOR: char = ';';

/// One row of `persons`, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Queryable, Selectable, AsChangeset)]
#[diesel(table_name = persons)]
#[diesel(treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct PersonRow {
    pub ssin: String,
    pub status: String,
    pub replaced_by: Option<String>,
    pub last_name: String,
    pub first_names: String,
    pub birth_date: String,
    pub gender: Option<String>,
    pub nationality: Option<String>,
    pub birth_place: Option<String>,
    pub street: Option<String>,
    pub house_number: Option<String>,
    pub post_box: Option<String>,
    pub postal_code: Option<String>,
    pub municipality: Option<String>,
    pub country: Option<String>,
    pub decease_date: Option<String>,
    pub version: i32,
    pub source: String,
    pub updated_at: chrono::NaiveDateTime,
}

impl PersonRow {
    /// The row of `person`, at `version`, last changed by `source` at `updated_at`.
    pub fn new(
        person: &Person,
        version: i32,
        source: &str,
        updated_at: chrono::NaiveDateTime,
    ) -> PersonRow {
        let identity = &person.identity;
        let address = identity.address.as_ref();
        PersonRow {
            ssin: person.ssin.as_str().to_string(),
            status: person.status.as_str().to_string(),
            replaced_by: person.status.replaced_by().map(|n| n.as_str().to_string()),
            last_name: identity.last_name.clone(),
            first_names: identity.first_names.join(&FIRST_NAME_SEPARATOR.to_string()),
            birth_date: identity.birth_date.to_string(),
            gender: identity.gender.map(|g| g.as_str().to_string()),
            nationality: identity.nationality.clone(),
            birth_place: identity.birth_place.clone(),
            street: address.map(|a| a.street.clone()),
            house_number: address.map(|a| a.house_number.clone()),
            post_box: address.and_then(|a| a.post_box.clone()),
            postal_code: address.map(|a| a.postal_code.clone()),
            municipality: address.map(|a| a.municipality.clone()),
            country: address.map(|a| a.country.clone()),
            decease_date: identity.decease_date.map(|d| d.to_string()),
            version,
            source: source.to_string(),
            updated_at,
        }
    }

    /// The person this row holds. A row that does not read back is a storage fault.
    pub fn person(&self) -> StoreResult<Person> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("person {}: unreadable {what}", self.ssin));
        // Stored numbers were valid when written; no birth date bound applies to them.
        let number = |s: &str| Niss::parse(s, NaiveDate::MAX).map_err(|_| corrupt("number"));
        let date = |s: &str| IncompleteDate::parse(s).ok_or_else(|| corrupt("date"));
        let status = read_status(&self.ssin, &self.status, self.replaced_by.as_deref())?;
        let gender = match self.gender.as_deref() {
            None => None,
            Some("M") => Some(Gender::Male),
            Some("F") => Some(Gender::Female),
            Some(_) => return Err(corrupt("gender")),
        };
        let address = match (
            &self.street,
            &self.house_number,
            &self.postal_code,
            &self.municipality,
            &self.country,
        ) {
            (
                Some(street),
                Some(house_number),
                Some(postal_code),
                Some(municipality),
                Some(country),
            ) => Some(Address {
                street: street.clone(),
                house_number: house_number.clone(),
                post_box: self.post_box.clone(),
                postal_code: postal_code.clone(),
                municipality: municipality.clone(),
                country: country.clone(),
            }),
            _ => None,
        };
        Ok(Person {
            ssin: number(&self.ssin)?,
            status,
            identity: Identity {
                last_name: self.last_name.clone(),
                first_names: self
                    .first_names
                    .split(FIRST_NAME_SEPARATOR)
                    .map(str::to_string)
                    .collect(),
                birth_date: date(&self.birth_date)?,
                gender,
                nationality: self.nationality.clone(),
                birth_place: self.birth_place.clone(),
                address,
                decease_date: self.decease_date.as_deref().map(date).transpose()?,
            },
        })
    }
}

/// The row of one number, if the source knows it.
pub fn find(conn: &mut DbConnection, ssin: &str) -> StoreResult<Option<PersonRow>> {
    Ok(persons::table
        .find(ssin)
        .select(PersonRow::as_select())
        .first(conn)
        .optional()?)
}

/// A number's status as stored (`status`, `replaced_by`); one that does not read back is a
/// storage fault.
pub fn read_status(
    ssin: &str,
    status: &str,
    replaced_by: Option<&str>,
) -> StoreResult<PersonStatus> {
    let corrupt = || StoreError::Corrupt(format!("person {ssin}: unreadable status"));
    match (status, replaced_by) {
        ("ACTIVE", None) => Ok(PersonStatus::Active),
        ("CANCELED", replaced_by) => Ok(PersonStatus::Canceled {
            // Stored numbers were valid when written; no birth date bound applies to them.
            replaced_by: replaced_by
                .map(|n| Niss::parse(n, NaiveDate::MAX).map_err(|_| corrupt()))
                .transpose()?,
        }),
        _ => Err(corrupt()),
    }
}

/// The status of one number, if the source knows it: what every register operation checks,
/// without reading the identity data.
pub fn status(conn: &mut DbConnection, ssin: &str) -> StoreResult<Option<PersonStatus>> {
    let stored: Option<(String, Option<String>)> = persons::table
        .find(ssin)
        .select((persons::status, persons::replaced_by))
        .first(conn)
        .optional()?;
    stored
        .map(|(status, replaced_by)| read_status(ssin, &status, replaced_by.as_deref()))
        .transpose()
}

/// Adds a person not known yet.
pub fn insert(conn: &mut DbConnection, row: &PersonRow) -> StoreResult<()> {
    diesel::insert_into(persons::table)
        .values(row)
        .execute(conn)?;
    search_key::insert(conn, std::slice::from_ref(row))
}

/// Inserts persons, leaving out those whose number the source knows already; returns the
/// numbers inserted. One statement per 512 rows (19 parameters a row: within both
/// backends' limits).
pub fn insert_new(conn: &mut DbConnection, rows: &[PersonRow]) -> StoreResult<Vec<String>> {
    let mut inserted = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(512) {
        let numbers: Vec<String> = match conn {
            DbConnection::Postgres(pg) => diesel::insert_into(persons::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .returning(persons::ssin)
                .get_results(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::insert_into(persons::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .returning(persons::ssin)
                .get_results(sqlite)?,
        };
        let new: std::collections::HashSet<&str> = numbers.iter().map(String::as_str).collect();
        let added: Vec<PersonRow> = chunk
            .iter()
            .filter(|row| new.contains(row.ssin.as_str()))
            .cloned()
            .collect();
        search_key::insert(conn, &added)?;
        inserted.extend(numbers);
    }
    Ok(inserted)
}

/// Rewrites a known person's row (its number does not change).
/// `old` is the row as the caller read it in this transaction (under its locks): the search
/// keys follow the change from it (`search_key::replace`) without reading the row again.
pub fn update(conn: &mut DbConnection, old: &PersonRow, row: &PersonRow) -> StoreResult<()> {
    debug_assert_eq!(old.ssin, row.ssin);
    diesel::update(persons::table.find(&row.ssin))
        .set(row)
        .execute(conn)?;
    search_key::replace(conn, old, row)
}

/// The rows of the numbers in `ssins` that the source knows, in no particular order.
pub fn find_many(conn: &mut DbConnection, ssins: &[String]) -> StoreResult<Vec<PersonRow>> {
    let mut rows = Vec::with_capacity(ssins.len());
    for chunk in ssins.chunks(500) {
        rows.extend(
            persons::table
                .filter(persons::ssin.eq_any(chunk))
                .select(PersonRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

/// How many persons the source holds.
pub fn count(conn: &mut DbConnection) -> StoreResult<i64> {
    Ok(persons::table.count().get_result(conn)?)
}

/// The most links a replacement chain can have: more means the data loop, a storage fault.
const MAX_CHAIN: usize = 64;

/// The end of the replacement chain that starts at `replaced_by` (A→B, then B→C: C).
pub fn final_number(conn: &mut DbConnection, replaced_by: &str) -> StoreResult<String> {
    let mut current = replaced_by.to_string();
    for _ in 0..MAX_CHAIN {
        match status(conn, &current)? {
            Some(PersonStatus::Canceled {
                replaced_by: Some(next),
            }) => current = next.as_str().to_string(),
            _ => return Ok(current),
        }
    }
    Err(StoreError::Corrupt(format!(
        "the replacement chain from {replaced_by} is longer than {MAX_CHAIN} numbers"
    )))
}
