//! The board's records: an append-only log in SQLite with a hash chain.
//!
//! Record `n` stores `hash_n = SHA-256("MailPay-Board-v1", hash_{n-1}, seq,
//! order, initials, ordered_at, posted_at)`, each part prefixed by its
//! length as a u64 big-endian, with `hash_0`'s predecessor 32 zero bytes.
//! The last hash (the **head**) is shown on the page and in the JSON, so a
//! reader who noted the head earlier can check later that the board only
//! grew. Triggers refuse `UPDATE` and `DELETE`; whoever edits the file by
//! other means breaks the chain, and [`BoardLog::verify`] (run on every
//! open) names the first record that no longer fits.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::protocol::board::CheckedRecord;
use crate::protocol::{OrderId, Timestamp};

const MIGRATIONS: &[&str] = &[
    // 1: the records and the triggers that keep them append-only.
    "CREATE TABLE record (
        seq INTEGER PRIMARY KEY,
        order_id TEXT NOT NULL UNIQUE,
        initials TEXT NOT NULL,
        ordered_at TEXT NOT NULL,
        posted_at TEXT NOT NULL,
        poster TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TRIGGER record_no_update BEFORE UPDATE ON record
        BEGIN SELECT RAISE(ABORT, 'the board is append-only: records cannot be changed'); END;
    CREATE TRIGGER record_no_delete BEFORE DELETE ON record
        BEGIN SELECT RAISE(ABORT, 'the board is append-only: records cannot be removed'); END;",
];

#[derive(Debug, Clone, thiserror::Error)]
pub enum LogError {
    #[error("the board database {path}: {reason}")]
    Sqlite { path: PathBuf, reason: String },
    #[error("the board database {path} was made by a newer MailPay (schema {found}, this one knows {known})")]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("the board at {path} was tampered with: record {seq} does not match the hash chain ({why})")]
    Tampered { path: PathBuf, seq: i64, why: String },
    #[error("order {0} is already on the board")]
    Duplicate(String),
}

/// One record as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub seq: i64,
    pub order: String,
    pub initials: String,
    pub ordered_at: String,
    pub posted_at: String,
    pub hash: String,
}

pub struct BoardLog {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for BoardLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BoardLog({})", self.path.display())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The chain hash of a record after `previous` (hex).
pub fn chain_hash(
    previous: &str,
    seq: i64,
    order: &str,
    initials: &str,
    ordered_at: &str,
    posted_at: &str,
) -> String {
    let mut sha = Sha256::new();
    let seq = seq.to_string();
    for part in ["MailPay-Board-v1", previous, &seq, order, initials, ordered_at, posted_at] {
        sha.update((part.len() as u64).to_be_bytes());
        sha.update(part.as_bytes());
    }
    hex(&sha.finalize())
}

/// The predecessor of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl BoardLog {
    /// Opens (creating if needed) the log and verifies the whole chain.
    pub fn open(path: &Path) -> Result<BoardLog, LogError> {
        let conn = crate::sqlite::open(path, MIGRATIONS).map_err(|e| match e {
            crate::sqlite::OpenError::Path(e) => {
                LogError::Sqlite { path: path.to_path_buf(), reason: e.to_string() }
            }
            crate::sqlite::OpenError::TooNew { found, known } => {
                LogError::TooNew { path: path.to_path_buf(), found, known }
            }
            crate::sqlite::OpenError::Sqlite(e) => {
                LogError::Sqlite { path: path.to_path_buf(), reason: e.to_string() }
            }
        })?;
        let log = BoardLog { conn, path: path.to_path_buf() };
        log.verify()?;
        Ok(log)
    }

    fn err(&self, e: rusqlite::Error) -> LogError {
        LogError::Sqlite { path: self.path.clone(), reason: e.to_string() }
    }

    /// Every record, oldest first.
    pub fn entries(&self) -> Result<Vec<Entry>, LogError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, order_id, initials, ordered_at, posted_at, hash FROM record ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Entry {
                    seq: r.get(0)?,
                    order: r.get(1)?,
                    initials: r.get(2)?,
                    ordered_at: r.get(3)?,
                    posted_at: r.get(4)?,
                    hash: r.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Recomputes the chain; the first record that does not fit is an error.
    pub fn verify(&self) -> Result<String, LogError> {
        let mut previous = GENESIS.to_string();
        for (expected_seq, e) in (1..).zip(self.entries()?) {
            let tampered = |why: String| LogError::Tampered { path: self.path.clone(), seq: e.seq, why };
            if e.seq != expected_seq {
                return Err(tampered(format!("expected record {expected_seq}: a record was removed")));
            }
            let hash = chain_hash(&previous, e.seq, &e.order, &e.initials, &e.ordered_at, &e.posted_at);
            if hash != e.hash {
                return Err(tampered("its content or an earlier record was changed".into()));
            }
            previous = hash;
        }
        Ok(previous)
    }

    /// The head hash (GENESIS for an empty board) and the record count.
    pub fn head(&self) -> Result<(String, i64), LogError> {
        let row: Option<(String, i64)> = self
            .conn
            .query_row("SELECT hash, seq FROM record ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(row.unwrap_or((GENESIS.to_string(), 0)))
    }

    pub fn find(&self, order: &OrderId) -> Result<Option<Entry>, LogError> {
        self.conn
            .query_row(
                "SELECT seq, order_id, initials, ordered_at, posted_at, hash FROM record WHERE order_id = ?1",
                [order.to_string()],
                |r| {
                    Ok(Entry {
                        seq: r.get(0)?,
                        order: r.get(1)?,
                        initials: r.get(2)?,
                        ordered_at: r.get(3)?,
                        posted_at: r.get(4)?,
                        hash: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Appends a record; a second record for the same order is refused.
    pub fn append(
        &mut self,
        record: &CheckedRecord,
        poster: &str,
        now: Timestamp,
    ) -> Result<Entry, LogError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| LogError::Sqlite { path: path.clone(), reason: e.to_string() };
        let tx =
            self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(err)?;
        let order = record.order.to_string();
        let exists: bool = tx
            .query_row("SELECT 1 FROM record WHERE order_id = ?1", [&order], |_| Ok(()))
            .optional()
            .map_err(err)?
            .is_some();
        if exists {
            return Err(LogError::Duplicate(order));
        }
        let last: Option<(String, i64)> = tx
            .query_row("SELECT hash, seq FROM record ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(err)?;
        let (previous, last_seq) = last.unwrap_or((GENESIS.to_string(), 0));
        let seq = last_seq + 1;
        let ordered_at = record.ordered_at.to_string();
        let posted_at = now.to_string();
        let hash = chain_hash(&previous, seq, &order, &record.initials, &ordered_at, &posted_at);
        tx.execute(
            "INSERT INTO record (seq, order_id, initials, ordered_at, posted_at, poster, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![seq, order, record.initials, ordered_at, posted_at, poster, hash],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Entry { seq, order, initials: record.initials.clone(), ordered_at, posted_at, hash })
    }
}
