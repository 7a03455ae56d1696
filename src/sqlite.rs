//! MailPay's SQLite databases, all opened one way: the wallet's store, the
//! bank's ledger, the merchant's shop book and the board's log.
//!
//! A database is created readable by its owner only (before SQLite first
//! writes to it), runs in WAL mode with full syncs, so that a committed
//! step survives a crash or a power cut, with foreign keys on; and it is
//! brought up to date by its own chain of migrations: step N moves it from
//! version N-1 to N (kept in `PRAGMA user_version`), each in a transaction
//! of its own. Released steps are never edited: a change is a new step.
//! Every program also keeps where its inbox watcher stands, one way
//! ([`resume`], [`save_resume`]).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::mail::imap::Resume;
use crate::paths::{self, PathError};

/// How long a writer waits for another one before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub enum OpenError {
    /// The folder or the file could not be made, or made owner-only.
    Path(PathError),
    /// Written by a newer MailPay: schema `found`, this one knows `known`.
    TooNew {
        found: i64,
        known: i64,
    },
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for OpenError {
    fn from(e: rusqlite::Error) -> Self {
        OpenError::Sqlite(e)
    }
}

/// Opens (creating if needed) the database at `path`, as the module
/// documentation says, and applies the `migrations` it has not seen yet.
pub fn open(path: &Path, migrations: &[&str]) -> Result<Connection, OpenError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        paths::create_private_dir(dir).map_err(OpenError::Path)?;
    }
    paths::private_database(path).map_err(OpenError::Path)?;
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // A database from a newer MailPay is refused before anything (even
    // its journal mode) is changed in it.
    version(&conn, migrations)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deleted and overwritten content (a password A taken out) is zeroed,
    // not left in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    migrate(&mut conn, migrations)?;
    Ok(conn)
}

/// The database's schema version; an error if it is newer than `migrations`.
fn version(conn: &Connection, migrations: &[&str]) -> Result<i64, OpenError> {
    let known = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > known {
        return Err(OpenError::TooNew { found, known });
    }
    Ok(found)
}

/// Applies the steps of `migrations` past the database's version, each in
/// a transaction that takes the write lock first (IMMEDIATE: waiting for
/// another writer rather than failing on upgrading a read) and reads the
/// version again under it, so that two programs opening an older
/// database at once apply each step once.
pub fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<(), OpenError> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let found = version(&tx, migrations)?;
        let Some(sql) = migrations.get(usize::try_from(found).unwrap_or(usize::MAX)) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
    }
}

/// Where the inbox watcher of `account` stands in `folder` (the table
/// `mailbox`, which the wallet's store and both agents' stores keep).
pub fn resume(conn: &Connection, account: &str, folder: &str) -> rusqlite::Result<Resume> {
    conn.query_row(
        "SELECT uid_validity, last_uid FROM mailbox WHERE account = ?1 AND folder = ?2",
        params![account, folder],
        |r| Ok(Resume { uid_validity: r.get(0)?, last_uid: r.get(1)? }),
    )
    .optional()
    .map(Option::unwrap_or_default)
}

pub fn save_resume(conn: &Connection, account: &str, folder: &str, resume: Resume) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO mailbox (account, folder, uid_validity, last_uid) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account, folder) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid",
        params![account, folder, resume.uid_validity, resume.last_uid],
    )
    .map(|_| ())
}
