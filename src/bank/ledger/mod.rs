//! The bank's ledger in SQLite: accounts and balances (integer minor units
//! per currency), payments with their state, every mail received and sent
//! (the trail), the hashes of every password A ever used, and the bank's
//! own keys. Each received mail is handled in one `IMMEDIATE` transaction:
//! the mail, the order's new state, any money moved and the mails to send
//! are written together or not at all, so a crash never pays twice and
//! never loses a notice. Mails are queued (with their Message-ID) before
//! they are sent and marked sent after.

mod orders;
mod schema;

use orders::{apply, known_for, load_file};

use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::engine::{self, BankSide, Outcome};
use super::order_file::Role;
use crate::agent::outbox::{self, Book};
use crate::protocol::compose::Outgoing;
use crate::protocol::matching::BoardLookup;
use crate::protocol::message::Body;
use crate::protocol::parse::Incoming;
use crate::protocol::reason::RejectReason;
use crate::protocol::{Currency, EmailAddress, OrderId, Timestamp};

#[derive(Debug, Clone, thiserror::Error)]
pub enum LedgerError {
    #[error("the ledger {path}: {reason}")]
    Sqlite { path: PathBuf, reason: String },
    #[error("the ledger {path} was made by a newer mailpay-bank (schema {found}, this one knows {known})")]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("the ledger's stored key is damaged: {0}")]
    Key(String),
    #[error("{0} has no account at this bank; open one with `mailpay-bank open-account {0}`")]
    NoAccount(String),
    #[error("no payment for order {0} in the ledger")]
    NoPayment(String),
    #[error("moving {amount} from {payer} failed: the balance changed under the decision")]
    Funds { payer: String, amount: String },
}

/// One payment as listed by `mailpay-bank payments`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PaymentRow {
    pub order: String,
    pub status: String,
    pub method: Option<String>,
    pub payer: Option<String>,
    pub payee: Option<String>,
    pub amount: Option<String>,
    pub reason: Option<String>,
    pub detail: Option<String>,
}

/// One line of an order's trail: a mail in or out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrailLine {
    pub at: i64,
    pub direction: &'static str,
    pub kind: String,
    pub party: String,
    pub message_id: String,
    pub outcome: String,
    pub reason: Option<String>,
}

/// What handling one mail (or board lookup) did.
#[derive(Debug, Clone, Default)]
pub struct Processed {
    pub order: Option<OrderId>,
    /// Seen before (same Message-ID): nothing done.
    pub duplicate: bool,
    pub note: String,
    pub reason: Option<RejectReason>,
    pub outgoing: Vec<Outgoing>,
    pub look_up_board: Option<String>,
}

pub struct Ledger {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ledger({})", self.path.display())
    }
}

pub(super) fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> LedgerError + '_ {
    move |e| LedgerError::Sqlite { path: path.to_path_buf(), reason: e.to_string() }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

impl Ledger {
    /// Opens (creating if needed) the ledger; a new one gets the bank's age
    /// identity and confirmation-code key.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        let err = sqlite(path);
        let conn = crate::sqlite::open(path, schema::MIGRATIONS).map_err(|e| match e {
            crate::sqlite::OpenError::Path(e) => {
                LedgerError::Sqlite { path: path.to_path_buf(), reason: e.to_string() }
            }
            crate::sqlite::OpenError::TooNew { found, known } => {
                LedgerError::TooNew { path: path.to_path_buf(), found, known }
            }
            crate::sqlite::OpenError::Sqlite(e) => err(e),
        })?;
        let mut key = [0u8; 32];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut key);
        let identity = age::x25519::Identity::generate();
        conn.execute(
            "INSERT OR IGNORE INTO setting (key, value) VALUES ('age-identity', ?1), ('code-key', ?2)",
            params![identity.to_string().expose_secret(), hex(&key)],
        )
        .map_err(&err)?;
        Ok(Ledger { conn, path: path.to_path_buf() })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> LedgerError + '_ {
        sqlite(&self.path)
    }

    fn setting(&self, key: &str) -> Result<String, LedgerError> {
        self.conn
            .query_row("SELECT value FROM setting WHERE key = ?1", [key], |r| r.get(0))
            .map_err(self.err())
    }

    /// The bank's age identity: cheques are encrypted to its recipient.
    pub fn identity(&self) -> Result<age::x25519::Identity, LedgerError> {
        self.setting("age-identity")?.parse().map_err(|e: &str| LedgerError::Key(e.to_string()))
    }

    /// The age recipient (`age1...`) wallets encrypt cheques to.
    pub fn recipient(&self) -> Result<String, LedgerError> {
        Ok(self.identity()?.to_public().to_string())
    }

    fn code_key(&self) -> Result<Vec<u8>, LedgerError> {
        unhex(&self.setting("code-key")?)
            .ok_or_else(|| LedgerError::Key("the confirmation key is not hex".into()))
    }

    /// Opens an account, or updates its initials, wallet key and board.
    pub fn open_account(
        &self,
        address: &EmailAddress,
        initials: Option<&str>,
        wallet_key: Option<&str>,
        board: Option<&str>,
        now: Timestamp,
    ) -> Result<(), LedgerError> {
        self.conn
            .execute(
                "INSERT INTO account (address, initials, wallet_key, board, opened_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (address) DO UPDATE SET initials = coalesce(excluded.initials, initials),
                   wallet_key = coalesce(excluded.wallet_key, wallet_key), board = coalesce(excluded.board, board)",
                params![address.as_str(), initials, wallet_key, board, now.unix()],
            )
            .map_err(self.err())?;
        Ok(())
    }

    pub fn set_balance(
        &self,
        address: &EmailAddress,
        currency: Currency,
        minor: u64,
    ) -> Result<(), LedgerError> {
        let exists: Option<i64> = self
            .conn
            .query_row("SELECT 1 FROM account WHERE address = ?1", [address.as_str()], |r| r.get(0))
            .optional()
            .map_err(self.err())?;
        if exists.is_none() {
            return Err(LedgerError::NoAccount(address.to_string()));
        }
        let minor = i64::try_from(minor)
            .map_err(|_| LedgerError::Funds { payer: address.to_string(), amount: minor.to_string() })?;
        self.conn
            .execute(
                "INSERT INTO balance (address, currency, minor) VALUES (?1, ?2, ?3)
                 ON CONFLICT (address, currency) DO UPDATE SET minor = excluded.minor",
                params![address.as_str(), currency.code(), minor],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// An account's balance in minor units (0 when it holds none of it).
    pub fn balance(&self, address: &EmailAddress, currency: Currency) -> Result<u64, LedgerError> {
        let minor: Option<i64> = self
            .conn
            .query_row(
                "SELECT minor FROM balance WHERE address = ?1 AND currency = ?2",
                params![address.as_str(), currency.code()],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        Ok(minor.and_then(|m| u64::try_from(m).ok()).unwrap_or(0))
    }

    /// The sum of all balances in `currency`: moving money never changes it.
    pub fn total(&self, currency: Currency) -> Result<u64, LedgerError> {
        let sum: i64 = self
            .conn
            .query_row(
                "SELECT coalesce(sum(minor), 0) FROM balance WHERE currency = ?1",
                [currency.code()],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        Ok(u64::try_from(sum).unwrap_or(0))
    }

    pub fn transfers(&self) -> Result<usize, LedgerError> {
        let n: i64 =
            self.conn.query_row("SELECT count(*) FROM transfer", [], |r| r.get(0)).map_err(self.err())?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    pub fn payments(&self) -> Result<Vec<PaymentRow>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT order_id, status, method, payer, payee, amount, reason, detail FROM payment ORDER BY created, order_id",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(PaymentRow {
                    order: r.get(0)?,
                    status: r.get(1)?,
                    method: r.get(2)?,
                    payer: r.get(3)?,
                    payee: r.get(4)?,
                    amount: r.get(5)?,
                    reason: r.get(6)?,
                    detail: r.get(7)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }

    pub fn payment(&self, order: &OrderId) -> Result<PaymentRow, LedgerError> {
        self.payments()?
            .into_iter()
            .find(|p| p.order == order.as_str())
            .ok_or_else(|| LedgerError::NoPayment(order.to_string()))
    }

    /// Every mail in and out for `order`, oldest first.
    pub fn trail(&self, order: &OrderId) -> Result<Vec<TrailLine>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT received_at, 'in', coalesce(kind, '?'), sender, message_id, outcome, reason, rowid FROM received WHERE order_id = ?1
                 UNION ALL
                 SELECT queued_at, 'out', kind, recipient, message_id,
                        CASE WHEN sent_at IS NOT NULL THEN 'sent' WHEN last_error IS NOT NULL THEN 'failed: ' || last_error ELSE 'queued' END,
                        NULL, rowid + 1000000000 FROM outbox WHERE order_id = ?1
                 ORDER BY 1, 8",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([order.as_str()], |r| {
                let direction: String = r.get(1)?;
                Ok(TrailLine {
                    at: r.get(0)?,
                    direction: if direction == "in" { "in" } else { "out" },
                    kind: r.get(2)?,
                    party: r.get(3)?,
                    message_id: r.get(4)?,
                    outcome: r.get(5)?,
                    reason: r.get(6)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }

    /// Mails recorded without an order: refused by the parser or not handled.
    pub fn unhandled(&self) -> Result<Vec<String>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT outcome FROM received WHERE order_id IS NULL ORDER BY received_at, rowid")
            .map_err(self.err())?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }

    /// Handles one parsed mail (see the module documentation).
    pub fn process(
        &mut self,
        bank: &EmailAddress,
        mail: &Incoming,
        raw: &[u8],
        now: Timestamp,
    ) -> Result<Processed, LedgerError> {
        let identity = self.identity()?;
        let code_key = self.code_key()?;
        let path = self.path.clone();
        let err = sqlite(&path);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
        let id = mail.message_id.clone().unwrap_or_else(|| outbox::raw_id(raw));
        let order = mail.body.order().clone();
        let mut processed = Processed { order: Some(order.clone()), ..Processed::default() };
        let seen: Option<i64> = tx
            .query_row("SELECT 1 FROM received WHERE message_id = ?1", [&id], |r| r.get(0))
            .optional()
            .map_err(&err)?;
        if seen.is_some() {
            processed.duplicate = true;
            processed.note = "seen before: nothing done".into();
            return Ok(processed);
        }
        let file = load_file(&tx, &order).map_err(&err)?;
        let outcome = if mail.from_mailing_list_or_failed_auth() {
            let why = if mail.mailing_list {
                "came through a mailing list"
            } else {
                "failed sender authentication"
            };
            Outcome::note(Role::Other, &file, format!("{why}: ignored, not answered"), None)
        } else {
            let known = known_for(&tx, &file, Some(mail), now).map_err(&err)?;
            let nonce: [u8; 16] = rand::random();
            engine::on_mail(&side(bank, &identity, &code_key), &file, &known, mail, &nonce)
        };
        tx.execute(
            "INSERT INTO received (message_id, order_id, kind, sender, role, raw, outcome, reason, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                id,
                order.as_str(),
                mail.body.kind().as_str(),
                mail.from.as_str(),
                outcome.role.as_str(),
                raw,
                outcome.note,
                outcome.reason.map(RejectReason::code),
                now.unix()
            ],
        )
        .map_err(&err)?;
        if outcome.role == Role::Request
            && let Body::PaymentRequest(terms) = &mail.body
        {
            tx.execute(
                "INSERT OR IGNORE INTO used_password (hash, order_id, used_at) VALUES (?1, ?2, ?3)",
                params![terms.password.hash().to_hex(), order.as_str(), now.unix()],
            )
            .map_err(&err)?;
        }
        apply(&tx, &path, &outcome, now, &mut processed)?;
        tx.commit().map_err(&err)?;
        Ok(processed)
    }

    /// Takes the result of a board lookup for `order`.
    pub fn board_result(
        &mut self,
        bank: &EmailAddress,
        order: &OrderId,
        lookup: BoardLookup,
        now: Timestamp,
    ) -> Result<Processed, LedgerError> {
        let identity = self.identity()?;
        let code_key = self.code_key()?;
        let path = self.path.clone();
        let err = sqlite(&path);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
        let file = load_file(&tx, order).map_err(&err)?;
        let known = known_for(&tx, &file, None, now).map_err(&err)?;
        let nonce: [u8; 16] = rand::random();
        let outcome = engine::on_board(&side(bank, &identity, &code_key), &file, &known, lookup, &nonce);
        let mut processed = Processed { order: Some(order.clone()), ..Processed::default() };
        apply(&tx, &path, &outcome, now, &mut processed)?;
        tx.commit().map_err(&err)?;
        Ok(processed)
    }

    /// Ends every open order past its expiry (PROTOCOL.md 6.1, `expired`).
    pub fn expire_due(&mut self, bank: &EmailAddress, now: Timestamp) -> Result<Vec<Processed>, LedgerError> {
        let identity = self.identity()?;
        let code_key = self.code_key()?;
        let path = self.path.clone();
        let err = sqlite(&path);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
        let open: Vec<String> = {
            let mut stmt = tx
                .prepare("SELECT order_id FROM payment WHERE status IN ('collecting', 'awaiting-answer')")
                .map_err(&err)?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(&err)?;
            rows.collect::<Result<_, _>>().map_err(&err)?
        };
        let mut done = Vec::new();
        for order in open.iter().filter_map(|o| o.parse::<OrderId>().ok()) {
            let file = load_file(&tx, &order).map_err(&err)?;
            if let Some(outcome) = engine::on_clock(&side(bank, &identity, &code_key), &file, now) {
                let mut processed = Processed { order: Some(order), ..Processed::default() };
                apply(&tx, &path, &outcome, now, &mut processed)?;
                done.push(processed);
            }
        }
        tx.commit().map_err(&err)?;
        Ok(done)
    }
}

impl Book for Ledger {
    fn connection(&self) -> &Connection {
        &self.conn
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

fn side<'a>(bank: &'a EmailAddress, identity: &'a age::x25519::Identity, code_key: &'a [u8]) -> BankSide<'a> {
    BankSide { address: bank, identity, code_key }
}
