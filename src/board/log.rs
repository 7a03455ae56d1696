//! The board's records: an append-only log in SQLite with a hash chain.
//!
//! Record `n` stores `hash_n = SHA-256("MailPay-Board-v1", hash_{n-1}, seq,
//! order, initials, ordered_at, posted_at[, key, signature])`, each part
//! prefixed by its length as a u64 big-endian, with `hash_0`'s predecessor
//! 32 zero bytes; key and signature are parts only of a signed record.
//! The last hash (the **head**) is shown on the page and in the JSON, so a
//! reader who noted the head earlier can check later that the board only
//! grew. Triggers refuse `UPDATE` and `DELETE`; whoever edits the file by
//! other means breaks the chain, and [`BoardLog::verify`] (run on every
//! open) names the first record that no longer fits.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::protocol::board::{BoardRecord, CheckedRecord};
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
    // 2: signed records (PROTOCOL.md 7): an order may have several records,
    // one per key ('' for an unsigned one), so that a record posted by
    // someone else first cannot keep the orderer's own off the board. The
    // table is rebuilt to change its UNIQUE constraint; DROP TABLE fires no
    // DELETE trigger, and the triggers are made again.
    "CREATE TABLE record_v2 (
        seq INTEGER PRIMARY KEY,
        order_id TEXT NOT NULL,
        initials TEXT NOT NULL,
        ordered_at TEXT NOT NULL,
        posted_at TEXT NOT NULL,
        poster TEXT NOT NULL,
        key TEXT NOT NULL DEFAULT '',
        signature TEXT NOT NULL DEFAULT '',
        hash TEXT NOT NULL,
        UNIQUE (order_id, key)
    );
    INSERT INTO record_v2 (seq, order_id, initials, ordered_at, posted_at, poster, hash)
        SELECT seq, order_id, initials, ordered_at, posted_at, poster, hash FROM record;
    DROP TABLE record;
    ALTER TABLE record_v2 RENAME TO record;
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
    #[error("order {0} already has a different record with this key (or unsigned) on the board")]
    Duplicate(String),
}

/// What [`BoardLog::append`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    New(Entry),
    /// The same record was posted before (a retry): nothing was added.
    Again(Entry),
}

/// One record as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub seq: i64,
    pub order: String,
    pub initials: String,
    pub ordered_at: String,
    pub posted_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    pub hash: String,
}

impl Entry {
    /// The record as it was posted, checked again (a record the log
    /// holds was checked when posted; `None` only for a log altered
    /// behind its back, which [`BoardLog::verify`] reports).
    fn record(&self) -> Option<CheckedRecord> {
        BoardRecord {
            order: self.order.clone(),
            initials: self.initials.clone(),
            ordered_at: self.ordered_at.clone(),
            key: self.key.clone(),
            signature: self.signature.clone(),
        }
        .check()
        .ok()
    }
}

const COLUMNS: &str = "seq, order_id, initials, ordered_at, posted_at, key, signature, hash";

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let optional = |text: String| Some(text).filter(|t| !t.is_empty());
    Ok(Entry {
        seq: r.get(0)?,
        order: r.get(1)?,
        initials: r.get(2)?,
        ordered_at: r.get(3)?,
        posted_at: r.get(4)?,
        key: optional(r.get(5)?),
        signature: optional(r.get(6)?),
        hash: r.get(7)?,
    })
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

/// The chain hash of `entry` after `previous` (hex); `entry.hash` is not
/// read.
pub fn chain_hash(previous: &str, entry: &Entry) -> String {
    let mut sha = Sha256::new();
    let seq = entry.seq.to_string();
    let signed = entry.key.as_deref().into_iter().chain(entry.signature.as_deref());
    let parts = [
        "MailPay-Board-v1",
        previous,
        &seq,
        &entry.order,
        &entry.initials,
        &entry.ordered_at,
        &entry.posted_at,
    ];
    for part in parts.into_iter().chain(signed) {
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
        let log = Self::connect(path)?;
        log.verify()?;
        Ok(log)
    }

    /// Another connection to this log, for a reader beside the server that
    /// appends to it; the chain was verified when this one was opened.
    pub fn reader(&self) -> Result<BoardLog, LogError> {
        Self::connect(&self.path)
    }

    fn connect(path: &Path) -> Result<BoardLog, LogError> {
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
        Ok(BoardLog { conn, path: path.to_path_buf() })
    }

    fn err(&self, e: rusqlite::Error) -> LogError {
        LogError::Sqlite { path: self.path.clone(), reason: e.to_string() }
    }

    /// Every record, oldest first.
    pub fn entries(&self) -> Result<Vec<Entry>, LogError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM record ORDER BY seq"))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], entry).map_err(|e| self.err(e))?;
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
            let hash = chain_hash(&previous, &e);
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

    /// The order's records, oldest first.
    pub fn find(&self, order: &OrderId) -> Result<Vec<Entry>, LogError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM record WHERE order_id = ?1 ORDER BY seq"))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([order.to_string()], entry).map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// The order's records as posted, oldest first.
    pub fn records(&self, order: &OrderId) -> Result<Vec<CheckedRecord>, LogError> {
        Ok(self.find(order)?.iter().filter_map(Entry::record).collect())
    }

    /// Appends a record. An order has at most one record per key (and one
    /// unsigned): the same record posted again is [`Appended::Again`], a
    /// different one refused.
    pub fn append(
        &mut self,
        record: &CheckedRecord,
        poster: &str,
        now: Timestamp,
    ) -> Result<Appended, LogError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| LogError::Sqlite { path: path.clone(), reason: e.to_string() };
        let tx =
            self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(err)?;
        let posted = record.to_record();
        let order = posted.order.clone();
        let key = posted.key.clone().unwrap_or_default();
        let earlier = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM record WHERE order_id = ?1 AND key = ?2"),
                [&order, &key],
                entry,
            )
            .optional()
            .map_err(err)?;
        if let Some(earlier) = earlier {
            let same = (&earlier.initials, &earlier.ordered_at, &earlier.signature)
                == (&posted.initials, &posted.ordered_at, &posted.signature);
            return if same { Ok(Appended::Again(earlier)) } else { Err(LogError::Duplicate(order)) };
        }
        let last: Option<(String, i64)> = tx
            .query_row("SELECT hash, seq FROM record ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(err)?;
        let (previous, last_seq) = last.unwrap_or((GENESIS.to_string(), 0));
        let mut new = Entry {
            seq: last_seq + 1,
            order,
            initials: posted.initials,
            ordered_at: posted.ordered_at,
            posted_at: now.to_string(),
            key: posted.key,
            signature: posted.signature,
            hash: String::new(),
        };
        new.hash = chain_hash(&previous, &new);
        tx.execute(
            "INSERT INTO record (seq, order_id, initials, ordered_at, posted_at, poster, key, signature, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                new.seq,
                new.order,
                new.initials,
                new.ordered_at,
                new.posted_at,
                poster,
                key,
                new.signature.clone().unwrap_or_default(),
                new.hash
            ],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Appended::New(new))
    }
}
