//! Bulk writing of the phonetic search's index (`person_search_keys`): the keys of a
//! population load or of a rebuild, inside the caller's write transaction. Inserting tens of
//! millions of keys one by one lands each in a random place of the index (the keys are
//! hashes); both backends build it in key order instead:
//!
//! - PostgreSQL: when the index is built from scratch, it is emptied and its primary key
//!   dropped at the start, the rows are copied in as they come (`COPY`, frozen when the
//!   transaction allows it: no later rewrite to set their hint bits), beside the persons'
//!   load, and the key is built again at the end (one sort); otherwise plain `COPY` into the
//!   indexed table.
//! - SQLite has no sorted build of a `WITHOUT ROWID` table's key, so the load keeps the keys
//!   in memory, packed in 20 bytes each (`PackedKey`, ordered as the index orders its rows,
//!   and the given-name bits), in sorted runs of [`RUN_KEYS`]; at the end it merges the runs
//!   and inserts the keys in the index's order, each page of the index written once, filled,
//!   after the previous one (20 bytes a key, 2.75 keys a person: 1.1 GB for 20 million
//!   persons, freed at the end). Into an index that already holds keys this is still correct (the new numbers'
//!   keys are merged in order).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write as _;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::{CopyFormat, PgConnection};
use diesel::prelude::*;
use diesel::sql_types::{Binary, Text};

use super::schema::person_search_keys;
use super::search_key::KeyRow;
use super::{DbConnection, StoreResult};

/// Keys sorted together as one run while a load goes on (80 MiB): the sort of a run is spread
/// over the load, the merge at the end reads each key once.
const RUN_KEYS: usize = 1 << 22;

/// Keys per `INSERT` on SQLite ([`SQLITE_INSERT_ROWS`]).
const SQLITE_KEYS_PER_INSERT: usize = 10_000;

/// Bytes of a key in [`SQLITE_INSERT_ROWS`]'s data: the search key in 20 characters, the
/// birth code in 8, the number in 11, the given-name bits in 11, a space.
const SQLITE_ROW_BYTES: usize = 51;

/// Inserts the keys of `?1`, a blob of [`SQLITE_ROW_BYTES`] a key (`encode_sqlite_row`),
/// unpacked in SQL: one parameter a statement rather than three a row (binding each value
/// costs more than SQLite's insertion of the row), and `substr` of a blob is a slice, not a
/// scan. `?2` is a JSON array of as many elements as keys (`row_numbers`), whose rows in
/// `json_each` number the keys (`key`, from 0): a quarter cheaper than numbering them with a
/// recursive CTE, which queues every number in a table of its own.
const SQLITE_INSERT_ROWS: &str =
    "INSERT INTO person_search_keys (search_key, birth, ssin, given_name_bits) \
     SELECT CAST(substr(?1, key * 51 + 1, 20) AS INTEGER), \
     CAST(substr(?1, key * 51 + 21, 8) AS INTEGER), CAST(substr(?1, key * 51 + 29, 11) AS TEXT), \
     CAST(substr(?1, key * 51 + 40, 11) AS INTEGER) FROM json_each(?2)";

/// Memory for PostgreSQL's build of the index's primary key.
const POSTGRES_INDEX_BUILD_MEMORY: &str = "1GB";

/// What a finished load of keys did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeysLoaded {
    /// The rows added to the index.
    pub rows: u64,
    /// The time the index's build at the end took (PostgreSQL: the primary key; SQLite: the
    /// keys merged and inserted in order), the copy of the rows during the load excluded.
    pub build: Duration,
}

/// A load of keys in progress: [`start`](KeyLoad::start) it inside a write transaction,
/// [`add`](KeyLoad::add) keys, then [`finish`](KeyLoad::finish) before the commit. A rollback
/// leaves nothing of it (the emptied index and its dropped key included).
pub struct KeyLoad {
    /// The index was emptied at the start and is built whole at the end.
    from_scratch: bool,
    /// PostgreSQL: the rows are copied frozen.
    freeze: bool,
    /// PostgreSQL: the `COPY` data of a batch, reused.
    copy_data: Vec<u8>,
    /// SQLite: the keys added, in sorted runs.
    runs: SortedRuns,
    rows: u64,
}

impl KeyLoad {
    /// Prepares the load. With `from_scratch`, every key the index holds is removed first:
    /// for a load into a register without persons, and for a rebuild. The caller holds what
    /// keeps other writers of persons (hence of keys) out until the commit. `freeze`
    /// (PostgreSQL, from scratch only): copy the rows frozen, which the transaction must
    /// allow (no cursor open).
    pub fn start(
        conn: &mut DbConnection,
        from_scratch: bool,
        freeze: bool,
    ) -> StoreResult<KeyLoad> {
        if from_scratch {
            match conn {
                DbConnection::Postgres(pg) => {
                    // TRUNCATE lets COPY write the rows frozen; the ALTER makes readers of the
                    // index wait until the commit.
                    pg.batch_execute(&format!(
                        "SET LOCAL maintenance_work_mem = '{POSTGRES_INDEX_BUILD_MEMORY}'; \
                         TRUNCATE person_search_keys; \
                         ALTER TABLE person_search_keys DROP CONSTRAINT person_search_keys_pkey"
                    ))?;
                }
                DbConnection::Sqlite(sqlite) => {
                    sqlite.batch_execute("DELETE FROM person_search_keys")?;
                }
            }
        }
        Ok(KeyLoad {
            from_scratch,
            freeze: from_scratch && freeze,
            copy_data: Vec::new(),
            runs: SortedRuns::default(),
            rows: 0,
        })
    }

    /// Adds `keys`, which must differ from each other, from those added before and (unless
    /// the load started from scratch) from those the index holds.
    pub fn add(&mut self, conn: &mut DbConnection, keys: &[KeyRow]) -> StoreResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        match conn {
            DbConnection::Postgres(pg) => {
                self.copy_data.clear();
                for key in keys {
                    encode_copy_row(&mut self.copy_data, key);
                }
                copy_in(pg, &self.copy_data, self.freeze)?;
            }
            DbConnection::Sqlite(_) => {
                // A key that does not pack (not a stored person's number) is written at once.
                let mut unpacked = Vec::new();
                for key in keys {
                    match PackedRow::pack(key) {
                        Some(packed) => self.runs.push(packed),
                        None => unpacked.push(*key),
                    }
                }
                super::insert_rows!(conn, person_search_keys::table, unpacked, 5_000);
            }
        }
        self.rows += keys.len() as u64;
        Ok(())
    }

    /// Builds the index from what was added (see the module's comment) and tells what the
    /// load did. The caller commits.
    pub fn finish(self, conn: &mut DbConnection) -> StoreResult<KeysLoaded> {
        let started = Instant::now();
        match conn {
            DbConnection::Postgres(pg) => {
                if self.from_scratch {
                    pg.batch_execute(
                        "ALTER TABLE person_search_keys ADD CONSTRAINT person_search_keys_pkey \
                         PRIMARY KEY (search_key, birth, ssin) INCLUDE (given_name_bits)",
                    )?;
                }
                pg.batch_execute("ANALYZE person_search_keys")?;
            }
            DbConnection::Sqlite(sqlite) => {
                let mut keys = self.runs.merged();
                let mut data = Vec::with_capacity(SQLITE_KEYS_PER_INSERT * SQLITE_ROW_BYTES);
                loop {
                    data.clear();
                    let mut count = 0;
                    for key in keys.by_ref().take(SQLITE_KEYS_PER_INSERT) {
                        encode_sqlite_row(&mut data, key);
                        count += 1;
                    }
                    if count == 0 {
                        break;
                    }
                    diesel::sql_query(SQLITE_INSERT_ROWS)
                        .bind::<Binary, _>(&data)
                        .bind::<Text, _>(row_numbers(count))
                        .execute(sqlite)?;
                }
            }
        }
        Ok(KeysLoaded {
            rows: self.rows,
            build: started.elapsed(),
        })
    }
}

/// A key row in 128 bits whose order is the index's: the search key (its sign bit flipped, so
/// that unsigned order is signed order), the birth code (27 bits), the number (37 bits; its
/// eleven digits, leading zeros included, order as the number does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct PackedKey(u128);

/// Bits of the number in a [`PackedKey`]: 10^11 < 2^37.
const NUMBER_BITS: u32 = 37;

/// The largest birth code a key packs (a birth code is at most 99 991 231): eight digits, the
/// width of its field in [`SQLITE_INSERT_ROWS`]'s data, in 27 bits of a [`PackedKey`].
const MAX_BIRTH_CODE: u64 = 99_999_999;

impl PackedKey {
    /// `key` packed, if its number is eleven digits and its birth code fits.
    fn pack(key: &KeyRow) -> Option<PackedKey> {
        let ssin = key.ssin.as_bytes();
        if ssin.len() != 11 || !ssin.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let number = ssin
            .iter()
            .fold(0u64, |n, digit| n * 10 + u64::from(digit - b'0'));
        let birth = u64::try_from(key.birth)
            .ok()
            .filter(|b| *b <= MAX_BIRTH_CODE)?;
        let search_key = (key.search_key as u64) ^ (1 << 63);
        Some(PackedKey(
            u128::from(search_key) << 64 | u128::from(birth << NUMBER_BITS | number),
        ))
    }

    /// The number's eleven digits.
    fn number(self) -> [u8; 11] {
        let mut n = (self.0 as u64) & ((1 << NUMBER_BITS) - 1);
        let mut digits = [b'0'; 11];
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (n % 10) as u8;
            n /= 10;
        }
        digits
    }

    /// The row, with `number` (this key's [`number`](PackedKey::number)) and the person's
    /// given-name bits.
    fn row(self, number: &[u8; 11], given_name_bits: i32) -> KeyRow<'_> {
        KeyRow {
            search_key: (((self.0 >> 64) as u64) ^ (1 << 63)) as i64,
            birth: ((self.0 as u64) >> NUMBER_BITS) as i32,
            // Eleven ASCII digits.
            ssin: std::str::from_utf8(number).unwrap_or_default(),
            given_name_bits,
        }
    }
}

/// A key row packed: its [`PackedKey`] (which orders it) and its given-name bits, in 20
/// bytes (the 16-byte alignment of a `u128` would make it 32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(C, packed(4))]
struct PackedRow {
    key: PackedKey,
    given_name_bits: i32,
}

impl PackedRow {
    /// `key` packed, if its number is eleven digits and its birth code fits.
    fn pack(key: &KeyRow) -> Option<PackedRow> {
        Some(PackedRow {
            key: PackedKey::pack(key)?,
            given_name_bits: key.given_name_bits,
        })
    }
}

/// Keys in sorted runs of at most [`RUN_KEYS`], the last one still filling.
#[derive(Default)]
struct SortedRuns {
    sorted: Vec<Vec<PackedRow>>,
    filling: Vec<PackedRow>,
}

impl SortedRuns {
    fn push(&mut self, key: PackedRow) {
        self.filling.push(key);
        if self.filling.len() == RUN_KEYS {
            self.seal();
        }
    }

    fn seal(&mut self) {
        if !self.filling.is_empty() {
            let mut run = std::mem::take(&mut self.filling);
            run.sort_unstable();
            self.sorted.push(run);
        }
    }

    /// Every key, in order.
    fn merged(mut self) -> Merge {
        self.seal();
        let heap = self
            .sorted
            .iter()
            .enumerate()
            .filter_map(|(run, keys)| keys.first().map(|k| Reverse((*k, run))))
            .collect();
        Merge {
            next: vec![1; self.sorted.len()],
            runs: self.sorted,
            heap,
        }
    }
}

/// The keys of sorted runs in order: the smallest head of the runs each time.
struct Merge {
    runs: Vec<Vec<PackedRow>>,
    /// The position of each run's next key.
    next: Vec<usize>,
    heap: BinaryHeap<Reverse<(PackedRow, usize)>>,
}

impl Iterator for Merge {
    type Item = PackedRow;

    fn next(&mut self) -> Option<PackedRow> {
        let Reverse((key, run)) = self.heap.pop()?;
        if let Some(following) = self.runs[run].get(self.next[run]) {
            self.heap.push(Reverse((*following, run)));
            self.next[run] += 1;
        } else {
            // A run read to its end gives its memory back.
            self.runs[run] = Vec::new();
        }
        Some(key)
    }
}

/// Runs one `COPY person_search_keys FROM STDIN` with `data`, rows in text format.
fn copy_in(pg: &mut PgConnection, data: &[u8], freeze: bool) -> QueryResult<usize> {
    diesel::copy_from(person_search_keys::table)
        .from_raw_data(person_search_keys::table, |out: &mut dyn std::io::Write| {
            out.write_all(data)
                .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
        })
        .with_format(CopyFormat::Text)
        .with_freeze(freeze)
        .execute(pg)
}

/// A JSON array of `count` elements, which [`SQLITE_INSERT_ROWS`] numbers its keys with.
fn row_numbers(count: usize) -> String {
    let mut numbers = "0,".repeat(count);
    numbers.pop();
    format!("[{numbers}]")
}

/// Appends `packed` to `out` as [`SQLITE_INSERT_ROWS`] reads it.
fn encode_sqlite_row(out: &mut Vec<u8>, packed: PackedRow) {
    let key = packed.key;
    let number = key.number();
    let row = key.row(&number, packed.given_name_bits);
    push_right_aligned::<20>(out, row.search_key);
    push_right_aligned::<8>(out, i64::from(row.birth));
    out.extend_from_slice(&number);
    push_right_aligned::<11>(out, i64::from(row.given_name_bits));
    out.push(b' ');
}

/// Appends `value` in decimal, right-aligned in `WIDTH` bytes padded with spaces (as
/// `{:>WIDTH}` would, a fifth of the cost: a load writes tens of millions of rows). `WIDTH`
/// must hold the value's digits and sign.
fn push_right_aligned<const WIDTH: usize>(out: &mut Vec<u8>, value: i64) {
    let mut field = [b' '; WIDTH];
    let mut magnitude = value.unsigned_abs();
    let mut at = WIDTH;
    loop {
        at -= 1;
        field[at] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if value < 0 {
        field[at - 1] = b'-';
    }
    out.extend_from_slice(&field);
}

/// Appends `key` to `out` in `COPY`'s text format. The number needs no escaping: it is the
/// digits of a stored person's number (anything else is written escaped all the same).
fn encode_copy_row(out: &mut Vec<u8>, key: &KeyRow) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{}\t{}\t", key.search_key, key.birth);
    for byte in key.ssin.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(byte),
        }
    }
    let _ = writeln!(out, "\t{}", key.given_name_bits);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(search_key: i64, birth: i32, ssin: &str) -> KeyRow<'_> {
        KeyRow {
            search_key,
            birth,
            ssin,
            given_name_bits: 0,
        }
    }

    #[test]
    fn copy_rows_are_key_birth_and_number() {
        let mut out = Vec::new();
        let mut key = row(-42, 19_850_730, "85073003328");
        key.given_name_bits = i32::MIN;
        encode_copy_row(&mut out, &key);
        assert_eq!(out, b"-42\t19850730\t85073003328\t-2147483648\n");
    }

    proptest! {
        /// The fixed-width fields read as `format!("{:>WIDTH}")` writes them.
        #[test]
        fn fields_are_right_aligned_as_format_would(value in any::<i64>(), small in any::<i32>()) {
            let mut out = Vec::new();
            push_right_aligned::<20>(&mut out, value);
            let expected = format!("{value:>20}");
            prop_assert_eq!(out.as_slice(), expected.as_bytes());
            out.clear();
            push_right_aligned::<11>(&mut out, i64::from(small));
            let expected = format!("{small:>11}");
            prop_assert_eq!(out.as_slice(), expected.as_bytes());
        }
    }

    /// The rows are of the width and at the offsets `SQLITE_INSERT_ROWS` reads, whatever
    /// the values.
    #[test]
    fn sqlite_rows_are_fixed_width() {
        let mut out = Vec::new();
        for (key, birth, bits) in [
            (i64::MIN, 99_991_231, i32::MIN),
            (i64::MAX, 0, i32::MAX),
            (-42, 19_850_730, 0),
        ] {
            let mut key_row = row(key, birth, "00000000001");
            key_row.given_name_bits = bits;
            let packed = PackedRow::pack(&key_row).expect("packs");
            out.clear();
            encode_sqlite_row(&mut out, packed);
            assert_eq!(out.len(), SQLITE_ROW_BYTES);
            let text = std::str::from_utf8(&out).expect("ASCII");
            assert_eq!(text[..20].trim().parse::<i64>(), Ok(key));
            assert_eq!(text[20..28].trim().parse::<i32>(), Ok(birth));
            assert_eq!(&text[28..39], "00000000001");
            assert_eq!(text[39..50].trim().parse::<i32>(), Ok(bits));
        }
    }

    #[test]
    fn only_stored_numbers_pack() {
        assert!(PackedKey::pack(&row(1, 19_850_730, "8507300332")).is_none());
        assert!(PackedKey::pack(&row(1, 19_850_730, "8507300332x")).is_none());
        assert!(PackedKey::pack(&row(1, -1, "85073003328")).is_none());
        assert!(PackedKey::pack(&row(1, 100_000_000, "85073003328")).is_none());
        assert!(PackedKey::pack(&row(1, 0, "00000000000")).is_some());
    }

    proptest! {
        /// Packing keeps every field and the index's order (key, birth, number as text).
        #[test]
        fn packed_keys_order_as_the_index(
            a in (any::<i64>(), 0i32..100_000_000, 0u64..100_000_000_000),
            b in (any::<i64>(), 0i32..100_000_000, 0u64..100_000_000_000),
        ) {
            let (na, nb) = (format!("{:011}", a.2), format!("{:011}", b.2));
            let (ra, rb) = (row(a.0, a.1, &na), row(b.0, b.1, &nb));
            let (pa, pb) = (PackedKey::pack(&ra).unwrap(), PackedKey::pack(&rb).unwrap());
            let digits = pa.number();
            prop_assert_eq!(pa.row(&digits, 0), ra);
            prop_assert_eq!(pa.cmp(&pb), ra.cmp(&rb));
        }

        /// The merge of the runs gives every key once, in order.
        #[test]
        fn runs_merge_in_order(keys in proptest::collection::vec(any::<u128>(), 0..3000), run in 1usize..700) {
            let mut runs = SortedRuns::default();
            for chunk in keys.chunks(run) {
                runs.filling.extend(chunk.iter().map(|k| PackedRow {
                    key: PackedKey(*k),
                    given_name_bits: *k as i32,
                }));
                runs.seal();
            }
            let merged: Vec<u128> = runs.merged().map(|r| { let key = r.key; key.0 }).collect();
            let mut expected = keys.clone();
            expected.sort_unstable();
            prop_assert_eq!(merged, expected);
        }
    }
}
