//! `mailpay backup FILE` and `mailpay restore FILE`: the whole wallet
//! (payments, mails, address book, settings) copied with SQLite's online
//! backup, and put back. Passwords are in the keyring, not in the copy;
//! password A of payments still open is, so keep the file as private as
//! the wallet (it is written owner-only).

use std::path::Path;

use super::CliError;
use crate::paths::Paths;
use crate::store::Store;

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

fn payments(store: &Store) -> Result<i64, CliError> {
    store.payment_count().map_err(fail)
}

pub fn backup(file: &Path) -> Result<(), CliError> {
    let paths = Paths::from_env().map_err(fail)?;
    let store = Store::open(&paths.database()).map_err(fail)?;
    store.backup_to(file).map_err(fail)?;
    println!("{} payments backed up to {}", payments(&store)?, file.display());
    Ok(())
}

pub fn restore(file: &Path, replace: bool) -> Result<(), CliError> {
    if !file.is_file() {
        return Err(CliError::Usage(format!(
            "{} is not a file: give the backup `mailpay backup` wrote",
            file.display()
        )));
    }
    let paths = Paths::from_env().map_err(fail)?;
    let database = paths.database();
    if database.exists() && !replace {
        let current = payments(&Store::open(&database).map_err(fail)?)?;
        if current > 0 {
            return Err(CliError::Usage(format!(
                "this wallet holds {current} payments: `mailpay restore {} --replace` replaces them with the backup's \
                 (`mailpay backup FILE` first keeps a copy)",
                file.display()
            )));
        }
    }
    let store = Store::restore(&database, file).map_err(fail)?;
    println!("{} payments restored from {}", payments(&store)?, file.display());
    Ok(())
}
