//! What the integration tests share: a test application running the real binary on a fresh
//! database, request builders and answer readers. Each test crate uses a part of it.
#![allow(dead_code, unused_imports)]

pub mod answer;
pub mod app;
pub mod batch;
pub mod db;
pub mod dimona;
pub mod mailbox;
pub mod outbox;
pub mod peak_memory;
pub mod private_postgres;
pub mod refusal;
pub mod search;
pub mod soap;
pub mod source;
pub mod xml;

pub use answer::{fields, Answer};
pub use app::{org_a, org_b, TestApp};
pub use db::Backend;
pub use soap::{Org, Request, Security};
pub use source::{Feed, PersonData};

/// Valid NISS from DOMAIN.md §2.
pub const NISS_1: &str = "85073003328";
pub const NISS_2: &str = "17073003384";
pub const NISS_3: &str = "75060898009";
pub const NISS_BIS: &str = "98472899765";
pub const NISS_BIS_20: &str = "75260898052";

/// A NISS from a birth date `YYMMDD` and a serial, with check digits computed for a birth
/// in the 1900s or, when `born_2000s`, in the 2000s (DOMAIN.md §2).
pub fn niss(yymmdd: &str, serial: u32, born_2000s: bool) -> String {
    let nine = format!("{yymmdd}{serial:03}");
    let base: u64 = nine.parse().expect("digits");
    let base = if born_2000s {
        2_000_000_000 + base
    } else {
        base
    };
    format!("{nine}{:02}", 97 - base % 97)
}

/// Generates, for each named test function `fn name(backend: Backend)`, the tests
/// `sqlite::name` and `postgres::name` (the latter passes with a note when
/// `TEST_DATABASE_URL` is not set, and fails then when `CI` or `REQUIRE_POSTGRES` is set).
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(crate::common::Backend::Sqlite)
                }
            )+
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if crate::common::Backend::Postgres.available() {
                        super::$name(crate::common::Backend::Postgres)
                    }
                }
            )+
        }
    };
}
