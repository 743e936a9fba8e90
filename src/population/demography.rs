//! The demographic model: a Belgian-like age pyramid from 0 to [`MAX_AGE`], the deceased
//! kept in the register, the gender ratio by age, and the share of each kind of number.
//!
//! Ages are counted in calendar years (`today`'s year minus the birth year): age 0 is a
//! person born this year.

use std::sync::LazyLock;

use crate::domain::NissKind;

/// The oldest age generated.
pub const MAX_AGE: u32 = 105;

/// Share of the deceased among the persons with a national register number.
pub const DECEASED_SHARE: f64 = 0.065;

/// Living inhabitants by age, in thousands (shape of the Statbel pyramid of the 2020s:
/// the baby boom in the fifties and sixties, few centenarians). Linear in between.
const LIVING: [(u32, f64); 23] = [
    (0, 113.0),
    (5, 122.0),
    (10, 131.0),
    (15, 130.0),
    (20, 132.0),
    (25, 140.0),
    (30, 148.0),
    (35, 152.0),
    (40, 152.0),
    (45, 150.0),
    (50, 158.0),
    (55, 165.0),
    (60, 162.0),
    (65, 145.0),
    (70, 125.0),
    (75, 108.0),
    (80, 75.0),
    (85, 52.0),
    (90, 28.0),
    (95, 8.0),
    (100, 1.5),
    (103, 0.4),
    (105, 0.1),
];

/// The deceased kept in the register, by the age they would have today (relative shape:
/// mostly persons born before 1950 who died in the last decades).
const DECEASED: [(u32, f64); 12] = [
    (0, 0.3),
    (20, 0.5),
    (40, 2.0),
    (50, 5.0),
    (60, 12.0),
    (70, 25.0),
    (80, 45.0),
    (90, 60.0),
    (95, 55.0),
    (100, 35.0),
    (103, 22.0),
    (105, 15.0),
];

/// Holders of a BCSS (bis) number: mostly working-age foreigners, few children.
const BIS: [(u32, f64); 13] = [
    (0, 0.15),
    (15, 0.3),
    (18, 1.0),
    (25, 2.6),
    (35, 3.0),
    (45, 2.4),
    (55, 1.5),
    (65, 0.7),
    (75, 0.35),
    (85, 0.12),
    (95, 0.02),
    (100, 0.005),
    (105, 0.002),
];

/// Share of men among the living, by age (more women among the old).
const MALE_SHARE: [(u32, f64); 8] = [
    (0, 0.512),
    (50, 0.505),
    (60, 0.49),
    (70, 0.47),
    (80, 0.42),
    (90, 0.33),
    (100, 0.2),
    (105, 0.15),
];

/// Share of men among the deceased kept in the register.
const DECEASED_MALE_SHARE: f64 = 0.52;

/// Share of each kind of number: national register 96 %, BCSS numbers 4 % (1 % attributed
/// without gender, month + 20; 3 % with gender, month + 40).
pub fn kind_share(kind: NissKind) -> f64 {
    match kind {
        NissKind::Rn => 0.96,
        NissKind::Bis => 0.01,
        NissKind::Ter => 0.03,
    }
}

/// How much of a birth date is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    /// `1975-06-08`.
    Full,
    /// `1975-06-00`.
    Month,
    /// `1975-00-00`.
    Year,
}

/// Share of each precision among the numbers of a kind: national register numbers always
/// have a full date here; 5 % of BCSS numbers know only the month, 5 % only the year.
pub fn precision_share(kind: NissKind, precision: Precision) -> f64 {
    match (kind, precision) {
        (NissKind::Rn, Precision::Full) => 1.0,
        (NissKind::Rn, _) => 0.0,
        (_, Precision::Full) => 0.90,
        (_, Precision::Month | Precision::Year) => 0.05,
    }
}

/// The tables by single year of age.
struct Tables {
    /// Persons with a national register number (living and deceased), summing to 1.
    rn: Vec<f64>,
    /// Persons with a BCSS number, summing to 1.
    bis: Vec<f64>,
    /// Probability that a person of that age is deceased.
    deceased: Vec<f64>,
    /// Share of men among the persons of that age, living and deceased.
    male: Vec<f64>,
}

/// Linear interpolation in a table of (age, value) sorted by age.
fn interpolate(table: &[(u32, f64)], age: u32) -> f64 {
    let i = table.partition_point(|&(a, _)| a <= age);
    if i == 0 {
        return table[0].1;
    }
    if i == table.len() {
        return table[table.len() - 1].1;
    }
    let (a0, v0) = table[i - 1];
    let (a1, v1) = table[i];
    v0 + (v1 - v0) * f64::from(age - a0) / f64::from(a1 - a0)
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let ages = 0..=MAX_AGE;
    let living: Vec<f64> = ages.clone().map(|a| interpolate(&LIVING, a)).collect();
    let dead_shape: Vec<f64> = ages.clone().map(|a| interpolate(&DECEASED, a)).collect();
    let living_total: f64 = living.iter().sum();
    let dead_total: f64 = dead_shape.iter().sum();
    // Scale the deceased so they are DECEASED_SHARE of all.
    let scale = DECEASED_SHARE / (1.0 - DECEASED_SHARE) * living_total / dead_total;
    let dead: Vec<f64> = dead_shape.iter().map(|d| d * scale).collect();
    let all: Vec<f64> = living.iter().zip(&dead).map(|(l, d)| l + d).collect();
    let all_total: f64 = all.iter().sum();
    let bis: Vec<f64> = ages.clone().map(|a| interpolate(&BIS, a)).collect();
    let bis_total: f64 = bis.iter().sum();
    Tables {
        rn: all.iter().map(|x| x / all_total).collect(),
        bis: bis.iter().map(|x| x / bis_total).collect(),
        deceased: dead.iter().zip(&all).map(|(d, a)| d / a).collect(),
        male: ages
            .map(|a| {
                let i = a as usize;
                (living[i] * interpolate(&MALE_SHARE, a) + dead[i] * DECEASED_MALE_SHARE) / all[i]
            })
            .collect(),
    }
});

/// The share of the persons holding a number of `kind` who are `age` (0 beyond
/// [`MAX_AGE`]). Sums to 1 over the ages.
pub fn age_density(kind: NissKind, age: u32) -> f64 {
    let table = match kind {
        NissKind::Rn => &TABLES.rn,
        NissKind::Bis | NissKind::Ter => &TABLES.bis,
    };
    table.get(age as usize).copied().unwrap_or(0.0)
}

/// The probability that a person of `age` is deceased.
pub fn deceased_probability(age: u32) -> f64 {
    TABLES.deceased.get(age as usize).copied().unwrap_or(1.0)
}

/// The share of men among the persons of `age`.
pub fn male_share(age: u32) -> f64 {
    TABLES.male.get(age as usize).copied().unwrap_or(0.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn densities_sum_to_one() {
        for kind in [NissKind::Rn, NissKind::Bis] {
            let total: f64 = (0..=MAX_AGE + 5).map(|a| age_density(kind, a)).sum();
            assert!((total - 1.0).abs() < 1e-9, "{kind}: {total}");
        }
    }

    #[test]
    fn deceased_are_the_expected_share_and_mostly_old() {
        let share: f64 = (0..=MAX_AGE)
            .map(|a| age_density(NissKind::Rn, a) * deceased_probability(a))
            .sum();
        assert!((share - DECEASED_SHARE).abs() < 1e-9, "{share}");
        assert!(deceased_probability(10) < 0.01);
        assert!(deceased_probability(95) > 0.5);
    }

    #[test]
    fn the_pyramid_is_belgian_like() {
        // The fifties' baby boom outnumbers the newborns; centenarians are rare.
        assert!(age_density(NissKind::Rn, 57) > age_density(NissKind::Rn, 0));
        assert!(age_density(NissKind::Rn, 102) < age_density(NissKind::Rn, 0) / 3.0);
        assert!(male_share(90) < 0.45 && male_share(10) > 0.5);
        assert!(interpolate(&LIVING, 2) > 113.0 && interpolate(&LIVING, 2) < 122.0);
    }
}
