//! The wallet's records in SQLite: payments, the outbox of mails with their
//! Message-IDs made before sending, every mail received, and where the
//! inbox watcher stands. A payment and its mails are written in one
//! transaction before any mail leaves; a mail is marked sent only after
//! the server accepted it. WAL mode; the file is owner-only.
//!
//! When a payment ends and its password A is replaced by a hash, the
//! journal (the `-wal` file) and the database file still hold the pages as
//! they were, A included, until SQLite copies the new pages over them:
//! right after that transaction commits, the journal is checkpointed into
//! the database file and truncated to nothing (see [`Store::wipe_journal`]),
//! so that no byte of the wallet's files holds a used A, however the wallet
//! stops afterwards. Freed pages and cells are zeroed (`secure_delete`).

mod backup;
pub mod book;
pub mod history;
pub mod overview;
mod password;
mod schema;
pub mod state;

use std::cell::Cell;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::mail::imap::Resume;
use crate::paths::PathError;
use crate::protocol::compose::Outgoing;
use crate::protocol::payment::State;
use crate::protocol::{Kind, OrderId, OrderTerms, Timestamp};
use crate::sqlite::{self, OpenError};

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("the wallet database {path}: {reason}")]
    Sqlite { path: PathBuf, reason: String },
    #[error("{0}")]
    Path(#[from] PathError),
    #[error("the wallet database is from a newer MailPay (schema {found}, this one knows {known})")]
    TooNew { found: i64, known: i64 },
    #[error("{0} is not a MailPay wallet backup (no payments table): nothing was restored")]
    NotAWallet(PathBuf),
    #[error("no payment for order {0}")]
    NoPayment(String),
    #[error("the stored payment {0} cannot be read back: {1}")]
    Corrupt(String, String),
    #[error("the total spent in {0} is too large to count")]
    TotalTooLarge(String),
    #[error(
        "this password A was already used for order {0}: a used A is never accepted again, so make up a new one"
    )]
    PasswordReused(String),
    #[error(
        "the journal {path} still holds a used password A: another program kept the wallet open for a read \
         ({pending} pages not yet copied back); it is wiped at the wallet's next step or start, or close the \
         other MailPay window or command"
    )]
    JournalBusy { path: PathBuf, pending: i64 },
}

/// A mail in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    pub message_id: String,
    pub order: String,
    pub kind: String,
    pub sender: String,
    pub recipient: String,
    pub bytes: Vec<u8>,
    pub attempts: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

/// A received mail as [`Store::received_after`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRow {
    pub row: i64,
    pub order: Option<String>,
    /// What taking it did (the state it left its payment in, or why not).
    pub outcome: String,
    /// Its payment's orderer and state now; `None` without a payment.
    pub orderer: Option<String>,
    pub state: Option<String>,
}

/// A payment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    pub order: String,
    pub terms_block: String,
    pub state: String,
    pub detail: Option<String>,
    pub created: i64,
    pub updated: i64,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Set when a password A was taken out and the journal may still hold
    /// the pages as they were; cleared by a wipe that went through.
    unwiped: Cell<bool>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path.display())
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = sqlite::open(path, schema::MIGRATIONS).map_err(|e| match e {
            OpenError::Path(e) => StoreError::from(e),
            OpenError::TooNew { found, known } => StoreError::TooNew { found, known },
            OpenError::Sqlite(e) => StoreError::Sqlite { path: path.to_path_buf(), reason: e.to_string() },
        })?;
        // Sorts and statement journals stay in memory, never in a
        // temporary file that would hold a copy of A.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(|e| StoreError::Sqlite { path: path.to_path_buf(), reason: e.to_string() })?;
        // A wallet killed between a payment's end and its wipe left the
        // old pages in the journal: a wipe is due from the start (done by
        // the first commit, or just below). Another program holding the
        // wallet open may keep it busy; then the next step tries again.
        let store = Store { conn, path: path.to_path_buf(), unwiped: Cell::new(true) };
        // (One wipe after all the payments it tidied, not one for each.)
        store.tidy_passwords()?;
        store.after_commit();
        Ok(store)
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), reason: e.to_string() }
    }

    /// Records a new payment and its first mails in one transaction.
    pub fn record_payment(
        &mut self,
        terms: &OrderTerms,
        state: &State,
        mails: &[Outgoing],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if let Some(used_by) = self.password_used(&terms.password)? {
            return Err(StoreError::PasswordReused(used_by));
        }
        // IMMEDIATE: the write lock is taken (waiting for another writer)
        // at the start, not when the first INSERT upgrades a read, which
        // SQLite refuses at once when another connection wrote meanwhile.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| StoreError::Sqlite { path: self.path.clone(), reason: e.to_string() })?;
        let block = terms.to_block(Kind::PaymentRequest).render();
        tx.execute(
            "INSERT INTO payment (order_id, orderer, merchant, bank, amount_minor, currency, method, terms_block, state, state_data, created, updated, password_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)",
            params![
                terms.order.as_str(), terms.orderer.as_str(), terms.merchant.as_str(), terms.bank.as_str(),
                i64::try_from(terms.amount.minor()).unwrap_or(i64::MAX), terms.amount.currency().code(),
                terms.method.as_str(), block, state.name(), state::encode(state), now.unix(),
                terms.password.hash().to_hex()
            ],
        )
        .map_err(|e| StoreError::Sqlite { path: self.path.clone(), reason: e.to_string() })?;
        for mail in mails {
            insert_outbox(&tx, mail, now)
                .map_err(|e| StoreError::Sqlite { path: self.path.clone(), reason: e.to_string() })?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        self.after_commit();
        Ok(())
    }

    /// Runs `f` as one transaction: everything it writes is kept, or, if it
    /// fails (or the process dies before the end), nothing is. `f` must not
    /// call [`Store::record_payment`], which is a transaction of its own.
    pub fn atomically<T, E: From<StoreError>>(&self, f: impl FnOnce(&Store) -> Result<T, E>) -> Result<T, E> {
        self.transaction(true, f)
    }

    /// [`Store::atomically`]; `wipe`: whether a wipe due is done right
    /// after the commit (not between the many steps of one task, which
    /// does it once at its end).
    fn transaction<T, E: From<StoreError>>(
        &self,
        wipe: bool,
        f: impl FnOnce(&Store) -> Result<T, E>,
    ) -> Result<T, E> {
        let unwiped = self.unwiped.get();
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| self.err(e))?;
        match f(self) {
            Ok(value) => {
                self.conn.execute_batch("COMMIT").map_err(|e| self.err(e))?;
                if wipe {
                    self.after_commit();
                }
                Ok(value)
            }
            Err(e) => {
                // The error that made us stop is the one worth reporting.
                let _ = self.conn.execute_batch("ROLLBACK");
                // A taken out in the rolled-back transaction is still
                // needed, and in the database as before: nothing to wipe.
                self.unwiped.set(unwiped);
                Err(e)
            }
        }
    }

    /// Copies every page of the journal into the database file and
    /// truncates the journal to nothing (`PRAGMA wal_checkpoint(TRUNCATE)`):
    /// the old versions of pages a step rewrote, with the A it took out,
    /// are gone from the `-wal` file, and the database file holds the new
    /// versions. It waits (up to the busy timeout) for other connections'
    /// reads; a read still going on then is reported as
    /// [`StoreError::JournalBusy`]. Must be called outside a transaction.
    pub fn wipe_journal(&self) -> Result<(), StoreError> {
        let (busy, frames, copied): (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.err(e))?;
        if busy != 0 {
            let mut journal = self.path.as_os_str().to_owned();
            journal.push("-wal");
            return Err(StoreError::JournalBusy { path: journal.into(), pending: frames - copied });
        }
        self.unwiped.set(false);
        Ok(())
    }

    /// After a commit: wipes the journal if a password A was taken out
    /// since the last wipe. The step itself is committed, so a wipe that
    /// cannot be done now (another connection reading) does not undo or
    /// fail it: it stays due, and the next commit, the next open and the
    /// close try again.
    fn after_commit(&self) {
        if self.unwiped.get() && self.conn.is_autocommit() {
            let _ = self.wipe_journal();
        }
    }

    /// Whether a password A taken out may still be in the journal (a wipe
    /// is due and was not done yet).
    pub fn journal_unwiped(&self) -> bool {
        self.unwiped.get()
    }

    /// Adds a mail to the outbox of an existing payment.
    pub fn queue_mail(&self, mail: &Outgoing, now: Timestamp) -> Result<(), StoreError> {
        insert_outbox(&self.conn, mail, now).map(|_| ()).map_err(|e| self.err(e))
    }

    /// The mail was taken by the next hop; `sent_as` is the Message-ID it
    /// went out with when the carrier chose its own (a mail client).
    pub fn mark_sent(
        &self,
        message_id: &str,
        sent_as: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn
            .execute("UPDATE outbox SET sent_at = ?2, attempts = attempts + 1, last_error = NULL, sent_as = coalesce(?3, sent_as) WHERE message_id = ?1 AND sent_at IS NULL", params![message_id, now.unix(), sent_as])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// A try to send the mail failed; `temporary` when the same mail may
    /// go later (a server or the mail client not reachable now).
    pub fn mark_failed(&self, message_id: &str, error: &str, temporary: bool) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, failed_temporarily = ?3 WHERE message_id = ?1",
                params![message_id, error, temporary],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// A mail that was accepted and then came back undelivered: it is to
    /// be sent again (same bytes, same Message-ID); `false` if the outbox
    /// has no such mail marked sent. `message_id` is the outbox's own.
    pub fn mark_bounced(&self, message_id: &str, reason: &str) -> Result<bool, StoreError> {
        self.conn
            .execute(
                "UPDATE outbox SET sent_at = NULL, last_error = ?2 WHERE message_id = ?1 AND sent_at IS NOT NULL",
                params![message_id, reason],
            )
            .map(|changed| changed == 1)
            .map_err(|e| self.err(e))
    }

    /// The outbox mail with this Message-ID (its own, or the one a mail
    /// client sent it with), of any order.
    pub fn outbox_mail(&self, message_id: &str) -> Result<Option<OutboxMail>, StoreError> {
        self.conn
            .query_row(
                "SELECT message_id, order_id, kind, sender, recipient, bytes, attempts, sent_at, last_error FROM outbox
                 WHERE message_id = ?1 OR sent_as = ?1 ORDER BY message_id = ?1 DESC LIMIT 1",
                params![message_id],
                outbox_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The orders with mails from `sender` waiting to be sent: never tried,
    /// or whose last try failed only for now. Oldest first.
    pub fn waiting(&self, sender: &str) -> Result<Vec<OrderId>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT order_id FROM outbox WHERE sent_at IS NULL AND sender = ?1
                 GROUP BY order_id HAVING min(attempts = 0 OR failed_temporarily) = 1 ORDER BY min(rowid)",
            )
            .map_err(|e| self.err(e))?;
        let ids = stmt
            .query_map(params![sender], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        ids.iter()
            .map(|id| {
                id.parse()
                    .map_err(|_| StoreError::Corrupt(id.clone(), "the outbox names no valid order".into()))
            })
            .collect()
    }

    /// Mails of an order (all orders with `None`) not yet accepted by a server.
    pub fn unsent(&self, order: Option<&OrderId>) -> Result<Vec<OutboxMail>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT message_id, order_id, kind, sender, recipient, bytes, attempts, sent_at, last_error FROM outbox
                 WHERE sent_at IS NULL AND (?1 IS NULL OR order_id = ?1) ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![order.map(OrderId::as_str)], outbox_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    pub fn outbox(&self, order: &OrderId) -> Result<Vec<OutboxMail>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT message_id, order_id, kind, sender, recipient, bytes, attempts, sent_at, last_error FROM outbox WHERE order_id = ?1 ORDER BY rowid")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![order.as_str()], outbox_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    pub fn payment(&self, order: &OrderId) -> Result<Option<PaymentRow>, StoreError> {
        self.conn
            .query_row(
                "SELECT order_id, terms_block, state, detail, created, updated FROM payment WHERE order_id = ?1",
                params![order.as_str()],
                |r| Ok(PaymentRow { order: r.get(0)?, terms_block: r.get(1)?, state: r.get(2)?, detail: r.get(3)?, created: r.get(4)?, updated: r.get(5)? }),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The order's terms and its state machine's state.
    pub fn load(&self, order: &OrderId) -> Result<(OrderTerms, State), StoreError> {
        let (block_text, data, removed): (String, String, bool) = self
            .conn
            .query_row(
                "SELECT terms_block, state_data, password_removed FROM payment WHERE order_id = ?1",
                params![order.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| StoreError::NoPayment(order.to_string()))?;
        let terms = password::terms_from(order, &block_text, removed)?;
        let state =
            state::decode(&data, &terms).map_err(|why| StoreError::Corrupt(order.to_string(), why))?;
        Ok((terms, state))
    }

    /// Stores the state a step produced.
    pub fn save_state(&self, order: &OrderId, new: &State, now: Timestamp) -> Result<(), StoreError> {
        let detail = match new {
            State::Rejected { reason, detail } => Some(format!("{reason}: {}", reason.explain(detail))),
            State::Failed { reason, .. } => Some(reason.clone()),
            _ => None,
        };
        let changed = self
            .conn
            .execute(
                "UPDATE payment SET state = ?2, state_data = ?3, detail = ?4, updated = ?5 WHERE order_id = ?1",
                params![order.as_str(), new.name(), state::encode(new), detail, now.unix()],
            )
            .map_err(|e| self.err(e))?;
        if changed == 0 {
            return Err(StoreError::NoPayment(order.to_string()));
        }
        if new.is_final() {
            self.forget_password(order)?;
            // Called on its own, not in [`Store::atomically`]: each write
            // was its own transaction, already committed.
            self.after_commit();
        }
        Ok(())
    }

    /// Records a received mail once; `false` if its Message-ID was seen before.
    pub fn record_received(
        &self,
        message_id: &str,
        order: Option<&str>,
        kind: Option<&str>,
        raw: &[u8],
        outcome: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let inserted = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO received (message_id, order_id, kind, raw, outcome, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![message_id, order, kind, raw, outcome, now.unix()],
            )
            .map_err(|e| self.err(e))?;
        Ok(inserted == 1)
    }

    /// The row of the newest received mail (0 when none): where a reader
    /// of [`Store::received_after`] starts.
    pub fn last_received(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT coalesce(max(rowid), 0) FROM received", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// The mails received after row `after` (another program, such as the
    /// Thunderbird host, may have taken them in), oldest first, at most
    /// `limit`, each with its payment's orderer and state now. A range of
    /// the table's own key: cheap to ask often.
    pub fn received_after(&self, after: i64, limit: usize) -> Result<Vec<ReceivedRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.rowid, r.order_id, r.outcome, p.orderer, p.state FROM received r
                 LEFT JOIN payment p ON p.order_id = r.order_id
                 WHERE r.rowid > ?1 ORDER BY r.rowid LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![after, limit as i64], |r| {
            Ok(ReceivedRow {
                row: r.get(0)?,
                order: r.get(1)?,
                outcome: r.get(2)?,
                orderer: r.get(3)?,
                state: r.get(4)?,
            })
        })
        .map_err(|e| self.err(e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| self.err(e))
    }

    pub fn resume(&self, account: &str, folder: &str) -> Result<Resume, StoreError> {
        crate::sqlite::resume(&self.conn, account, folder).map_err(|e| self.err(e))
    }

    pub fn save_resume(&self, account: &str, folder: &str, resume: Resume) -> Result<(), StoreError> {
        crate::sqlite::save_resume(&self.conn, account, folder, resume).map_err(|e| self.err(e))
    }
}

impl Drop for Store {
    /// The last connection to close checkpoints and deletes the journal on
    /// its own; another program may still hold the wallet open, so a wipe
    /// still due is done here.
    fn drop(&mut self) {
        self.after_commit();
    }
}

fn insert_outbox(conn: &Connection, mail: &Outgoing, now: Timestamp) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO outbox (message_id, order_id, kind, sender, recipient, bytes, queued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![mail.message_id, mail.order.as_str(), mail.kind.as_str(), mail.from.as_str(), mail.to.as_str(), mail.bytes, now.unix()],
    )
}

fn outbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxMail> {
    Ok(OutboxMail {
        message_id: r.get(0)?,
        order: r.get(1)?,
        kind: r.get(2)?,
        sender: r.get(3)?,
        recipient: r.get(4)?,
        bytes: r.get(5)?,
        attempts: r.get(6)?,
        sent_at: r.get(7)?,
        last_error: r.get(8)?,
    })
}
