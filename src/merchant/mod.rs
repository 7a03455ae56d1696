//! The merchant's reference agent (`mailpay-merchant`): [`engine`] turns
//! orders into bills with no I/O, [`shop`] keeps orders and mails in
//! SQLite, [`daemon`] watches the shop's mailbox and serves the board.

pub mod daemon;
pub mod engine;
pub mod shop;
