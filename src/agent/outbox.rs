//! The reference agents' outbox, as the bank's ledger and the merchant's
//! shop book both keep it in SQLite: a mail is queued (with its
//! Message-ID) in the transaction that decided it, marked sent once the
//! server took it (each try counted in `attempts`), and put back when it
//! bounces, to wait until `not_before` (longer after each of its
//! `bounces`, see [`super::held_back`]). Mails that were not acted on are
//! recorded in `received` with why. The tables are the same in both
//! databases; each store gives the runtime its connection through
//! [`Book`], and the runtime does the rest.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::held_back::{self, Taken};
use crate::mail::imap::Resume;
use crate::protocol::compose::Outgoing;
use crate::protocol::{Kind, Timestamp};

/// The key a received mail is recorded under when it is not taken by its
/// Message-ID: the hash of its bytes.
pub fn raw_id(raw: &[u8]) -> String {
    let digest: String = Sha256::digest(raw).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{digest}")
}

/// Records a mail that was not acted on, with `outcome`, once (by its
/// bytes); `false` if it was recorded before.
pub fn record_unhandled(
    conn: &Connection,
    raw: &[u8],
    outcome: &str,
    now: Timestamp,
) -> rusqlite::Result<bool> {
    conn.execute(
        "INSERT OR IGNORE INTO received (message_id, raw, outcome, received_at) VALUES (?1, ?2, ?3, ?4)",
        params![raw_id(raw), raw, outcome, now.unix()],
    )
    .map(|n| n == 1)
}

/// Queues `mail` as part of the caller's transaction.
pub fn queue(conn: &Connection, mail: &Outgoing, now: Timestamp) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO outbox (message_id, order_id, kind, sender, recipient, bytes, queued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![mail.message_id, mail.order.as_str(), mail.kind.as_str(), mail.from.as_str(), mail.to.as_str(), mail.bytes, now.unix()],
    )
    .map(|_| ())
}

/// Mails not sent yet and not held back at `now`, oldest first; with
/// `failed_only`, only those whose sending failed (not those still on
/// their first way out).
pub fn unsent(conn: &Connection, failed_only: bool, now: Timestamp) -> rusqlite::Result<Vec<Outgoing>> {
    let sql = if failed_only {
        "SELECT kind, order_id, message_id, sender, recipient, bytes FROM outbox
         WHERE sent_at IS NULL AND last_error IS NOT NULL AND (not_before IS NULL OR not_before <= ?1)
         ORDER BY rowid"
    } else {
        "SELECT kind, order_id, message_id, sender, recipient, bytes FROM outbox
         WHERE sent_at IS NULL AND (not_before IS NULL OR not_before <= ?1) ORDER BY rowid"
    };
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map([now.unix()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Vec<u8>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, order, message_id, from, to, bytes) = row?;
        // Rows this program wrote always read back; anything else is skipped.
        if let (Ok(kind), Ok(order), Ok(from), Ok(to)) =
            (kind.parse::<Kind>(), order.parse(), from.parse(), to.parse())
        {
            out.push(Outgoing { kind, order, message_id, from, to, bytes });
        }
    }
    Ok(out)
}

pub fn mark_sent(conn: &Connection, message_id: &str, now: Timestamp) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE outbox SET sent_at = ?2, attempts = attempts + 1, last_error = NULL WHERE message_id = ?1",
        params![message_id, now.unix()],
    )
    .map(|_| ())
}

pub fn mark_failed(conn: &Connection, message_id: &str, error: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE message_id = ?1",
        params![message_id, error],
    )
    .map(|_| ())
}

/// Takes a bounce in one transaction: records the report once (by its
/// bytes) with `outcome`, and puts the mail it returns (sent, with this
/// Message-ID) back among those to send, same bytes and Message-ID, with
/// `reason` as its error, held back for longer after each bounce.
pub fn take_bounce(
    conn: &Connection,
    raw: &[u8],
    message_id: &str,
    outcome: &str,
    reason: &str,
    now: Timestamp,
) -> rusqlite::Result<Taken> {
    let tx = conn.unchecked_transaction()?;
    if !record_unhandled(&tx, raw, outcome, now)? {
        return Ok(Taken::Seen);
    }
    let put_back = tx
        .query_row(
            "UPDATE outbox SET sent_at = NULL, last_error = ?2, bounces = bounces + 1
             WHERE message_id = ?1 AND sent_at IS NOT NULL RETURNING order_id, kind, recipient, bounces",
            params![message_id, reason],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u32>(3)?,
                ))
            },
        )
        .optional()?;
    let taken = match put_back {
        None => Taken::NotOurs,
        Some((order, kind, recipient, bounces)) => {
            let wait = held_back::wait_after(bounces);
            let until = now.unix().saturating_add(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX));
            tx.execute(
                "UPDATE outbox SET not_before = ?2 WHERE message_id = ?1",
                params![message_id, until],
            )?;
            Taken::PutBack { order, kind, recipient, wait }
        }
    };
    tx.commit()?;
    Ok(taken)
}

/// An agent's database could not be read or written.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the agent's database {path}: {reason}")]
pub struct BookError {
    pub path: PathBuf,
    pub reason: String,
}

/// An agent's store (the bank's ledger, the merchant's shop book): the
/// database that holds the outbox and `received` tables above and the
/// inbox position ([`crate::sqlite::resume`]). The agent runtime reads and
/// writes them through these methods; the store implements the first two.
pub trait Book: Send + 'static {
    fn connection(&self) -> &Connection;

    /// The database file, for messages.
    fn path(&self) -> &Path;

    #[doc(hidden)]
    fn book_error(&self, e: rusqlite::Error) -> BookError {
        BookError { path: self.path().to_path_buf(), reason: e.to_string() }
    }

    /// See [`unsent`].
    fn unsent(&self, failed_only: bool, now: Timestamp) -> Result<Vec<Outgoing>, BookError> {
        unsent(self.connection(), failed_only, now).map_err(|e| self.book_error(e))
    }

    fn mark_sent(&self, message_id: &str, now: Timestamp) -> Result<(), BookError> {
        mark_sent(self.connection(), message_id, now).map_err(|e| self.book_error(e))
    }

    fn mark_failed(&self, message_id: &str, error: &str) -> Result<(), BookError> {
        mark_failed(self.connection(), message_id, error).map_err(|e| self.book_error(e))
    }

    /// See [`take_bounce`].
    fn take_bounce(
        &self,
        raw: &[u8],
        message_id: &str,
        outcome: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<Taken, BookError> {
        take_bounce(self.connection(), raw, message_id, outcome, reason, now).map_err(|e| self.book_error(e))
    }

    /// Records a mail that was not acted on, with why (reported, never
    /// answered), once; `false` if it was recorded before.
    fn record_unhandled(&self, raw: &[u8], outcome: &str, now: Timestamp) -> Result<bool, BookError> {
        record_unhandled(self.connection(), raw, outcome, now).map_err(|e| self.book_error(e))
    }

    /// Where the agent's inbox watcher stands in `folder`.
    fn resume(&self, account: &str, folder: &str) -> Result<Resume, BookError> {
        crate::sqlite::resume(self.connection(), account, folder).map_err(|e| self.book_error(e))
    }

    fn save_resume(&self, account: &str, folder: &str, at: Resume) -> Result<(), BookError> {
        crate::sqlite::save_resume(self.connection(), account, folder, at).map_err(|e| self.book_error(e))
    }
}
