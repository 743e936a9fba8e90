//! The batch engine: the daily mutation files and their signed vouchers, written to the
//! outbox for each subscription; the inbox of feed files; the schedule that runs both.

pub mod dimona_mutations;
pub mod inbox;
pub mod outbox;
pub mod person_mutations;
pub mod scheduler;
pub mod signing;
pub mod verify;
pub mod voucher;
