//! The reference agents' outbox and inbox position, as the bank's ledger
//! and the merchant's shop book both keep them in SQLite: a mail is queued
//! (with its Message-ID) in the transaction that decided it, marked sent
//! once the server took it (each try counted in `attempts`), and put back
//! when it bounces, to wait until `not_before` (longer after each of its
//! `bounces`, see [`crate::mail::held_back`]). The tables are
//! the same in both databases (`outbox`, `received`, `mailbox`); each
//! store wraps these functions with its own error type. The wallet's
//! store keeps its inbox position in the same `mailbox` table and uses
//! [`resume`] and [`save_resume`] too.

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::mail::held_back::{self, Taken};
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

/// Where the inbox watcher of `account` stands in `folder`.
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
