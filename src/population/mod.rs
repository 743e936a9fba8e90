//! Synthetic populations: `raas generate population` writes a file of `xsd/Population.xsd`
//! with realistic Belgian persons, deterministically for a seed.
//!
//! - [`names`]: the reference name lists (Statbel frequencies, embedded in the binary) and
//!   weighted sampling;
//! - [`tail`]: the long tail of last names below the frequent lists;
//! - [`address`]: municipalities, streets, postal codes, birth places and nationalities;
//! - [`demography`]: the age pyramid, deaths, gender ratio and the share of each kind of
//!   number;
//! - [`numbers`]: the allocation of numbers, prefix by prefix in ascending order, so the
//!   population streams sorted in constant memory;
//! - [`generate`]: the [`Generator`] (an iterator of persons) and [`write_population`];
//! - [`import`]: loading a population file into the register.

pub mod address;
pub mod demography;
pub mod generate;
pub mod import;
pub mod names;
pub mod numbers;
pub mod tail;

pub use generate::{write_population, GenerateError, Generator};
