//! The merchant's book in SQLite: orders with their state, every mail
//! received (by Message-ID, so a mail handled twice does nothing the
//! second time), the outbox (bills are queued before they are sent) and
//! the watcher's position. One transaction per mail.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::engine::{self, MerchantSide, OrderState};
use crate::agent::outbox::{self, Book};
use crate::protocol::board::CheckedRecord;
use crate::protocol::compose::Outgoing;
use crate::protocol::parse::Incoming;
use crate::protocol::{OrderId, Timestamp};

const MIGRATIONS: &[&str] = &[
    // 1: orders, received mail, outbox, watcher position.
    "CREATE TABLE shop_order (
        order_id TEXT PRIMARY KEY,
        orderer TEXT NOT NULL,
        amount TEXT NOT NULL,
        state TEXT NOT NULL,
        note TEXT NOT NULL,
        updated INTEGER NOT NULL
    );
    CREATE TABLE received (
        message_id TEXT PRIMARY KEY,
        order_id TEXT,
        kind TEXT,
        sender TEXT,
        raw BLOB NOT NULL,
        outcome TEXT NOT NULL,
        received_at INTEGER NOT NULL
    );
    CREATE TABLE outbox (
        message_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        bytes BLOB NOT NULL,
        queued_at INTEGER NOT NULL,
        sent_at INTEGER,
        last_error TEXT
    );
    CREATE TABLE mailbox (
        account TEXT NOT NULL,
        folder TEXT NOT NULL,
        uid_validity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,
        PRIMARY KEY (account, folder)
    );",
    // 2: each try to send counted; a bounced mail's count of bounces and
    // the time it waits until, kept so that a restart does not send it early.
    "ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN bounces INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox ADD COLUMN not_before INTEGER;",
];

#[derive(Debug, Clone, thiserror::Error)]
pub enum ShopError {
    #[error("the shop database {path}: {reason}")]
    Sqlite { path: PathBuf, reason: String },
    #[error(
        "the shop database {path} was made by a newer mailpay-merchant (schema {found}, this one knows {known})"
    )]
    TooNew { path: PathBuf, found: i64, known: i64 },
}

/// One order as listed by `mailpay-merchant orders`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrderRow {
    pub order: String,
    pub orderer: String,
    pub amount: String,
    pub state: String,
    pub note: String,
}

/// What handling one mail did.
#[derive(Debug, Clone, Default)]
pub struct Handled {
    pub duplicate: bool,
    pub note: String,
    pub outgoing: Vec<Outgoing>,
}

pub struct Shop {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Shop({})", self.path.display())
    }
}

impl Shop {
    pub fn open(path: &Path) -> Result<Shop, ShopError> {
        let conn = crate::sqlite::open(path, MIGRATIONS).map_err(|e| match e {
            crate::sqlite::OpenError::Path(e) => {
                ShopError::Sqlite { path: path.to_path_buf(), reason: e.to_string() }
            }
            crate::sqlite::OpenError::TooNew { found, known } => {
                ShopError::TooNew { path: path.to_path_buf(), found, known }
            }
            crate::sqlite::OpenError::Sqlite(e) => {
                ShopError::Sqlite { path: path.to_path_buf(), reason: e.to_string() }
            }
        })?;
        Ok(Shop { conn, path: path.to_path_buf() })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> ShopError + '_ {
        |e| ShopError::Sqlite { path: self.path.clone(), reason: e.to_string() }
    }

    pub fn orders(&self) -> Result<Vec<OrderRow>, ShopError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT order_id, orderer, amount, state, note FROM shop_order ORDER BY updated, order_id",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(OrderRow {
                    order: r.get(0)?,
                    orderer: r.get(1)?,
                    amount: r.get(2)?,
                    state: r.get(3)?,
                    note: r.get(4)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<Vec<_>, _>>().map_err(self.err())
    }

    pub fn state(&self, order: &OrderId) -> Result<Option<OrderState>, ShopError> {
        let state: Option<String> = self
            .conn
            .query_row("SELECT state FROM shop_order WHERE order_id = ?1", [order.as_str()], |r| r.get(0))
            .optional()
            .map_err(self.err())?;
        Ok(state.as_deref().and_then(OrderState::parse))
    }

    /// Handles one parsed mail in one transaction.
    pub fn process(
        &mut self,
        side: &MerchantSide<'_>,
        mail: &Incoming,
        own_board: Option<&[CheckedRecord]>,
        raw: &[u8],
        now: Timestamp,
    ) -> Result<Handled, ShopError> {
        let path = self.path.clone();
        let err = |e: rusqlite::Error| ShopError::Sqlite { path: path.clone(), reason: e.to_string() };
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let id = mail.message_id.clone().unwrap_or_else(|| outbox::raw_id(raw));
        let seen: Option<i64> = tx
            .query_row("SELECT 1 FROM received WHERE message_id = ?1", [&id], |r| r.get(0))
            .optional()
            .map_err(err)?;
        if seen.is_some() {
            return Ok(Handled {
                duplicate: true,
                note: "seen before: nothing done".into(),
                outgoing: vec![],
            });
        }
        let order = mail.body.order().clone();
        let current: Option<String> = tx
            .query_row("SELECT state FROM shop_order WHERE order_id = ?1", [order.as_str()], |r| r.get(0))
            .optional()
            .map_err(err)?;
        let verdict = if mail.from_mailing_list_or_failed_auth() {
            engine::Verdict {
                state: None,
                note: "came through a list or failed authentication: ignored".into(),
                send: None,
            }
        } else {
            engine::on_mail(side, mail, current.as_deref().and_then(OrderState::parse), own_board, now)
        };
        tx.execute(
            "INSERT INTO received (message_id, order_id, kind, sender, raw, outcome, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, order.as_str(), mail.body.kind().as_str(), mail.from.as_str(), raw, verdict.note, now.unix()],
        )
        .map_err(err)?;
        if let Some(state) = verdict.state {
            let (orderer, amount) = match &mail.body {
                crate::protocol::Body::Order(t) => (t.orderer.to_string(), t.amount.to_string()),
                _ => (String::new(), String::new()),
            };
            tx.execute(
                "INSERT INTO shop_order (order_id, orderer, amount, state, note, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (order_id) DO UPDATE SET state = excluded.state, note = excluded.note, updated = excluded.updated",
                params![order.as_str(), orderer, amount, state.as_str(), verdict.note, now.unix()],
            )
            .map_err(err)?;
        }
        let mut outgoing = Vec::new();
        if let Some(draft) = verdict.send {
            let mail = draft.build(now, &mut rand::rng());
            outbox::queue(&tx, &mail, now).map_err(err)?;
            outgoing.push(mail);
        }
        tx.commit().map_err(err)?;
        Ok(Handled { duplicate: false, note: verdict.note, outgoing })
    }
}

impl Book for Shop {
    fn connection(&self) -> &Connection {
        &self.conn
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
