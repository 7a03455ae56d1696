//! Reading one order's file from the ledger and writing back what the
//! engine decided: the payment row, the money moved, the mails queued. All
//! of it runs inside the caller's transaction.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{OptionalExtension, Transaction, params};

use super::{LedgerError, Processed, sqlite};
use crate::agent::outbox;
use crate::bank::engine::{AccountInfo, Known, Outcome};
use crate::bank::order_file::{OrderFile, Status};
use crate::protocol::board::{BoardRecord, CheckedRecord};
use crate::protocol::matching::BoardLookup;
use crate::protocol::message::Body;
use crate::protocol::parse::{self, Incoming};
use crate::protocol::reason::RejectReason;
use crate::protocol::{EmailAddress, OrderId, Timestamp};

/// Rebuilds an order's file from the payment row and its kept mails.
pub(super) fn load_file(tx: &Transaction<'_>, order: &OrderId) -> rusqlite::Result<OrderFile> {
    let mut file = OrderFile::new(order.clone());
    type Row = (String, String, Option<String>, Option<Vec<u8>>, i64);
    let row: Option<Row> = tx
        .query_row(
            "SELECT status, board, board_record, nonce, wrong_attempts FROM payment WHERE order_id = ?1",
            [order.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    if let Some((status, board, record, nonce, wrong)) = row {
        file.status = Status::parse(&status).unwrap_or(Status::Rejected);
        file.board = match (board.as_str(), record) {
            ("missing", _) => BoardLookup::Missing,
            ("unreadable", why) => BoardLookup::Unreadable(why.unwrap_or_default()),
            ("found", Some(json)) => {
                records_from_json(&json).map_or(BoardLookup::Missing, BoardLookup::Found)
            }
            _ => BoardLookup::NotYetLooked,
        };
        file.nonce = nonce;
        file.wrong_attempts = u8::try_from(wrong).unwrap_or(u8::MAX);
    }
    let mut stmt = tx.prepare(
        "SELECT role, raw FROM received WHERE order_id = ?1 AND role IN ('request', 'bill', 'wallet') ORDER BY rowid",
    )?;
    let kept = stmt.query_map([order.as_str()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
    let (mut bills, mut wallets) = (Vec::new(), Vec::new());
    for row in kept {
        let (role, raw) = row?;
        let Ok(mail) = parse::parse(&raw) else { continue };
        match role.as_str() {
            "request" => file.request = Some(mail),
            "bill" => bills.push(mail),
            _ => wallets.push(mail),
        }
    }
    file.sort_evidence(bills, wallets);
    Ok(file)
}

/// Looks up the accounts of every address the order's mails mention, and
/// whether the request's A was used by another order.
pub(super) fn known_for(
    tx: &Transaction<'_>,
    file: &OrderFile,
    mail: Option<&Incoming>,
    now: Timestamp,
) -> rusqlite::Result<Known> {
    let mut addresses: Vec<EmailAddress> = Vec::new();
    let mails = [file.request.as_ref(), file.bill.as_ref(), file.wallet.as_ref(), mail];
    let mut request_terms = file.terms().cloned();
    for m in mails.into_iter().flatten() {
        addresses.push(m.from.clone());
        match &m.body {
            Body::PaymentRequest(t) | Body::Order(t) => {
                addresses.extend([t.orderer.clone(), t.merchant.clone()]);
                if request_terms.is_none() && matches!(m.body, Body::PaymentRequest(_)) {
                    request_terms = Some(t.clone());
                }
            }
            Body::Bill(b) => addresses.extend([b.orderer.clone(), b.merchant.clone()]),
            _ => {}
        }
    }
    let mut accounts = HashMap::new();
    for address in addresses {
        if accounts.contains_key(&address) {
            continue;
        }
        let row: Option<(Option<String>, Option<String>, Option<String>)> = tx
            .query_row(
                "SELECT initials, wallet_key, board FROM account WHERE address = ?1",
                [address.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((initials, wallet_key, board)) = row else { continue };
        let mut balances = HashMap::new();
        let mut stmt = tx.prepare("SELECT currency, minor FROM balance WHERE address = ?1")?;
        for b in stmt.query_map([address.as_str()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (currency, minor) = b?;
            balances.insert(currency, u64::try_from(minor).unwrap_or(0));
        }
        let wallet_key = wallet_key.and_then(|k| k.parse().ok());
        accounts.insert(address, AccountInfo { initials, wallet_key, board, balances });
    }
    let password_used = match request_terms {
        Some(t) => tx
            .query_row(
                "SELECT 1 FROM used_password WHERE hash = ?1 AND order_id <> ?2",
                params![t.password.hash().to_hex(), t.order.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .is_some(),
        None => false,
    };
    Ok(Known { accounts, password_used, now })
}

/// Writes an outcome: the order's row, the money, the queued mails.
pub(super) fn apply(
    tx: &Transaction<'_>,
    path: &Path,
    outcome: &Outcome,
    now: Timestamp,
    processed: &mut Processed,
) -> Result<(), LedgerError> {
    let err = sqlite(path);
    let file = &outcome.file;
    let (board, record) = match &file.board {
        BoardLookup::NotYetLooked => ("not-looked", None),
        BoardLookup::Missing => ("missing", None),
        // The record column holds the reason.
        BoardLookup::Unreadable(why) => ("unreadable", Some(why.clone())),
        BoardLookup::Found(records) => ("found", Some(records_json(records))),
    };
    let rejected = outcome.reason.filter(|_| file.status.is_final() && file.status != Status::Settled);
    // A mail that brought no evidence (a stray notice, a list mail) makes no payment.
    let evidence = file.request.is_some() || file.bill.is_some() || file.wallet.is_some();
    if evidence {
        upsert_payment(tx, path, outcome, now, (board, record), rejected)?;
    }
    if let Some(t) = &outcome.transfer {
        let amount = i64::try_from(t.amount.minor())
            .map_err(|_| LedgerError::Funds { payer: t.payer.to_string(), amount: t.amount.to_string() })?;
        let currency = t.amount.currency().code();
        let debited = tx
            .execute(
                "UPDATE balance SET minor = minor - ?3 WHERE address = ?1 AND currency = ?2 AND minor >= ?3",
                params![t.payer.as_str(), currency, amount],
            )
            .map_err(&err)?;
        if debited != 1 {
            return Err(LedgerError::Funds { payer: t.payer.to_string(), amount: t.amount.to_string() });
        }
        tx.execute(
            "INSERT INTO balance (address, currency, minor) VALUES (?1, ?2, ?3)
             ON CONFLICT (address, currency) DO UPDATE SET minor = minor + excluded.minor",
            params![t.payee.as_str(), currency, amount],
        )
        .map_err(&err)?;
        tx.execute(
            "INSERT INTO transfer (reference, order_id, payer, payee, amount_minor, currency, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![t.reference, file.order.as_str(), t.payer.as_str(), t.payee.as_str(), amount, currency, now.unix()],
        )
        .map_err(&err)?;
    }
    let mut rng = rand::rng();
    for draft in &outcome.mails {
        let mail = draft.clone().build(now, &mut rng);
        outbox::queue(tx, &mail, now).map_err(&err)?;
        processed.outgoing.push(mail);
    }
    processed.note = outcome.note.clone();
    processed.reason = outcome.reason;
    processed.look_up_board = outcome.look_up_board.clone();
    Ok(())
}

fn upsert_payment(
    tx: &Transaction<'_>,
    path: &Path,
    outcome: &Outcome,
    now: Timestamp,
    (board, record): (&str, Option<String>),
    rejected: Option<RejectReason>,
) -> Result<(), LedgerError> {
    let err = sqlite(path);
    let file = &outcome.file;
    let terms = file.terms();
    tx.execute(
        "INSERT INTO payment (order_id, status, method, payer, payee, amount, reason, detail, board, board_record, nonce,
                              wrong_attempts, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)
         ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, method = excluded.method, payer = excluded.payer,
           payee = excluded.payee, amount = excluded.amount, reason = coalesce(excluded.reason, reason),
           detail = coalesce(excluded.detail, detail), board = excluded.board, board_record = excluded.board_record,
           nonce = excluded.nonce, wrong_attempts = excluded.wrong_attempts, updated = excluded.updated",
        params![
            file.order.as_str(),
            file.status.as_str(),
            terms.map(|t| t.method.as_str()),
            terms.map(|t| t.orderer.to_string()),
            terms.map(|t| t.merchant.to_string()),
            terms.map(|t| t.amount.to_string()),
            rejected.map(RejectReason::code),
            rejected.map(|_| outcome.note.clone()),
            board,
            record,
            file.nonce,
            i64::from(file.wrong_attempts),
            now.unix()
        ],
    )
    .map_err(&err)?;
    Ok(())
}

/// An order's board records as kept in `payment.board_record`: a JSON
/// array (schema 1 kept one record, a JSON object, read as a list of one).
fn records_json(records: &[CheckedRecord]) -> String {
    serde_json::to_string(&records.iter().map(CheckedRecord::to_record).collect::<Vec<_>>())
        .unwrap_or_default()
}

fn records_from_json(json: &str) -> Option<Vec<CheckedRecord>> {
    let records: Vec<BoardRecord> = match serde_json::from_str(json) {
        Ok(records) => records,
        Err(_) => vec![serde_json::from_str(json).ok()?],
    };
    records.iter().map(|r| r.check().ok()).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::protocol::cheque::WalletKey;

    #[test]
    fn board_records_are_kept_as_a_list_and_a_single_one_of_schema_1_is_read() {
        let key = WalletKey::from_seed(&[9; 32]);
        let signed = BoardRecord::signed("7KQ3-M9ZX-P2VD-H4TR", "T.S.", "2026-11-25T18:09:18Z", &key);
        let unsigned = BoardRecord { key: None, signature: None, initials: "X.Y.".into(), ..signed.clone() };
        let records = vec![signed.check().unwrap(), unsigned.check().unwrap()];
        assert_eq!(records_from_json(&records_json(&records)), Some(records.clone()));
        let old = serde_json::to_string(&unsigned).unwrap();
        assert_eq!(records_from_json(&old), Some(vec![records[1].clone()]));
        assert_eq!(records_from_json("{\"order\":1}"), None);
    }
}
