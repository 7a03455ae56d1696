//! Password A in the wallet's records: kept in clear only while the
//! payment may still need it (to resend a mail, to answer the bank's
//! confirmation). When the payment ends, A is taken out of the stored
//! terms and out of every stored copy of its mails; only its hash stays,
//! so that a used A is refused if it is typed again.

use rusqlite::params;

use super::{Store, StoreError};
use crate::protocol::block::{self, Block};
use crate::protocol::password::PasswordA;
use crate::protocol::{Kind, OrderId, OrderTerms, redact};

impl Store {
    /// The order that already used `password`, if one did.
    pub fn password_used(&self, password: &PasswordA) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(
                "SELECT order_id FROM payment WHERE password_hash = ?1 LIMIT 1",
                params![password.hash().to_hex()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Takes A out of a finished payment's terms and stored mails.
    pub(super) fn forget_password(&self, order: &OrderId) -> Result<(), StoreError> {
        let (block_text, removed): (String, bool) = self
            .conn
            .query_row(
                "SELECT terms_block, password_removed FROM payment WHERE order_id = ?1",
                params![order.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| self.err(e))?;
        if removed {
            return Ok(());
        }
        let terms = terms_from(order, &block_text, false)?;
        let mut block = terms.to_block(Kind::PaymentRequest);
        block.fields.retain(|(k, _)| !k.eq_ignore_ascii_case("Password-A"));
        for (table, key, column) in [("outbox", "message_id", "bytes"), ("received", "message_id", "raw")] {
            let rows: Vec<(String, Vec<u8>)> = {
                let mut stmt = self
                    .conn
                    .prepare(&format!("SELECT {key}, {column} FROM {table} WHERE order_id = ?1"))
                    .map_err(|e| self.err(e))?;
                stmt.query_map(params![order.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(|e| self.err(e))?
                    .collect::<Result<_, _>>()
                    .map_err(|e| self.err(e))?
            };
            for (id, raw) in rows {
                if let Some(clean) = redact::mail(&raw, &terms.password) {
                    self.conn
                        .execute(
                            &format!("UPDATE {table} SET {column} = ?2 WHERE {key} = ?1"),
                            params![id, clean],
                        )
                        .map_err(|e| self.err(e))?;
                }
            }
        }
        // The caller's step is one transaction: the removal and the state
        // that called for it are kept together, or neither is.
        self.conn
            .execute(
                "UPDATE payment SET terms_block = ?2, password_removed = 1, password_hash = ?3 WHERE order_id = ?1",
                params![order.as_str(), block.render(), terms.password.hash().to_hex()],
            )
            .map_err(|e| self.err(e))?;
        // The journal still holds the pages as they were: wiped once the
        // caller's transaction has committed.
        self.unwiped.set(true);
        Ok(())
    }

    /// Run at open: hashes for payments recorded before hashes were kept,
    /// and A taken out of those that had ended. Every payment recorded
    /// since has its hash from the start, and a payment gets its hash here
    /// in the same transaction as its removal, so the payments still to do
    /// are exactly those without a hash: an index lookup, not a scan. The
    /// journal is wiped once after them all, by [`Store::open`].
    pub(super) fn tidy_passwords(&self) -> Result<(), StoreError> {
        let rows: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT order_id FROM payment WHERE password_hash IS NULL")
                .map_err(|e| self.err(e))?;
            stmt.query_map([], |r| r.get(0))
                .map_err(|e| self.err(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.err(e))?
        };
        for order in rows {
            let Ok(order) = order.parse::<OrderId>() else { continue };
            self.transaction(false, |store| {
                // A payment that cannot be read back is shown as such in the
                // history; it must not keep the wallet from opening.
                let (terms, state) = match store.load(&order) {
                    Ok(loaded) => loaded,
                    Err(StoreError::Corrupt(..)) => return Ok(()),
                    Err(e) => return Err(e),
                };
                store
                    .conn
                    .execute(
                        "UPDATE payment SET password_hash = ?2 WHERE order_id = ?1 AND password_hash IS NULL",
                        params![order.as_str(), terms.password.hash().to_hex()],
                    )
                    .map_err(|e| store.err(e))?;
                if state.is_final() { store.forget_password(&order) } else { Ok(()) }
            })?;
        }
        Ok(())
    }
}

/// The terms stored for `order`. Once A has been removed, they come back
/// with a freshly made A that was never used anywhere: the real one is
/// gone, and a finished payment sends nothing that would carry it.
pub(super) fn terms_from(order: &OrderId, block_text: &str, removed: bool) -> Result<OrderTerms, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt(order.to_string(), why);
    let blocks = block::scan(block_text).map_err(|e| corrupt(e.to_string()))?;
    let first: &Block = blocks.first().ok_or_else(|| corrupt("no terms block".into()))?;
    if !removed {
        return OrderTerms::from_block(first).map_err(|e| corrupt(e.to_string()));
    }
    let mut block = first.clone();
    block.push("Password-A", PasswordA::generate(&mut rand::rng()).display());
    OrderTerms::from_block(&block).map_err(|e| corrupt(e.to_string()))
}
