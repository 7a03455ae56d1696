//! Backup and restore of the wallet with SQLite's online backup: a
//! consistent copy taken while the wallet may be in use, owner-only, that
//! restores to the same payments, mails and settings.

use std::path::Path;
use std::time::Duration;

use rusqlite::backup::Backup;
use rusqlite::{Connection, OpenFlags};

use super::{Store, StoreError, schema};

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::Sqlite { path: path.to_path_buf(), reason: e.to_string() }
}

fn copy(from: &Connection, to: &mut Connection, to_path: &Path) -> Result<(), StoreError> {
    let backup = Backup::new(from, to).map_err(sqlite(to_path))?;
    backup.run_to_completion(256, Duration::from_millis(10), None).map_err(sqlite(to_path))
}

impl Store {
    /// How many payments the wallet holds.
    pub fn payment_count(&self) -> Result<i64, StoreError> {
        self.conn.query_row("SELECT COUNT(*) FROM payment", [], |r| r.get(0)).map_err(sqlite(&self.path))
    }

    /// Writes a copy of the whole wallet to `file` (a new owner-only SQLite
    /// file; an existing one is replaced).
    pub fn backup_to(&self, file: &Path) -> Result<(), StoreError> {
        crate::paths::private_database(file)?;
        let mut to = Connection::open(file).map_err(sqlite(file))?;
        copy(&self.conn, &mut to, file)?;
        to.pragma_update(None, "journal_mode", "DELETE").map_err(sqlite(file))?;
        Ok(())
    }

    /// Replaces the wallet at `path` with the backup in `file`, checked to
    /// be a MailPay wallet this version can read; the restored wallet is
    /// then brought up to the current schema. Returns it opened.
    pub fn restore(path: &Path, file: &Path) -> Result<Store, StoreError> {
        let from =
            Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite(file))?;
        let version: i64 =
            from.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sqlite(file))?;
        let has_payments = from
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'payment'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(sqlite(file))?;
        if version < 1 || has_payments != 1 {
            return Err(StoreError::NotAWallet(file.to_path_buf()));
        }
        if version > schema::known() {
            return Err(StoreError::TooNew { found: version, known: schema::known() });
        }
        let mut store = Store::open(path)?;
        copy(&from, &mut store.conn, path)?;
        drop(store);
        Store::open(path)
    }
}
