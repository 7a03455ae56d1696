//! The bank's reference agent (`mailpay-bank`): [`engine`] decides with no
//! I/O on an [`order_file`], [`ledger`] keeps accounts, payments and the
//! mail trail in SQLite, [`daemon`] watches the bank's mailbox and sends
//! what the ledger queued.

pub mod daemon;
pub mod engine;
pub mod ledger;
pub mod order_file;
