//! `serve --demo`: a demo organisation with a fresh secret and a few dossier types, so that
//! a first SOAP call can be made right away.

use rand::distr::{Alphanumeric, SampleString};

use crate::domain::{DossierTypeCode, EnterpriseNumber};
use crate::service::admin;
use crate::store::Database;

pub const DEMO_CBE: &str = "0202239951";
pub const DEMO_USERNAME: &str = "demo";
const DEMO_TYPES: &[(&str, &str)] = &[
    ("EMPLOYEE", "Employees of the demo organisation's clients"),
    ("BENEFICIARY", "Beneficiaries of an allowance"),
    ("PROVISIONAL", "Provisional registration (quality code 902)"),
];

/// Seeds the demo organisation (once) and gives its credential a new secret, returned.
pub fn seed(db: &Database) -> anyhow::Result<String> {
    let cbe = EnterpriseNumber::parse(DEMO_CBE)?;
    if admin::find_organisation(db, &cbe)?.is_none() {
        admin::add_organisation(db, &cbe, "Demo Integrator")?;
    }
    for (code, description) in DEMO_TYPES {
        admin::add_dossier_type(db, &cbe, &DossierTypeCode::parse(code)?, Some(description))?;
    }
    let secret = Alphanumeric.sample_string(&mut rand::rng(), 24);
    admin::set_credential(db, &cbe, DEMO_USERNAME, &secret)?;
    Ok(secret)
}

pub fn describe(secret: &str) -> String {
    let types: Vec<&str> = DEMO_TYPES.iter().map(|(code, _)| *code).collect();
    format!(
        "demo organisation {DEMO_CBE} (Demo Integrator)\n  username: {DEMO_USERNAME}\n  password: {secret}\n  dossier types: {}",
        types.join(", ")
    )
}
