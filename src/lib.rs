//! MailPay: pay a merchant by e-mail with a one-time password A, after
//! Japanese patent application H10-320471 (see PROTOCOL.md).
//!
//! [`protocol`] is the whole protocol with no I/O: the types, the MailPay
//! block, building and parsing each mail, the claim-2 cheque, the orderer's
//! payment state machine and the bank's matching rule. Everything that
//! touches the world sits at the edges and drives that core: [`cli`] reads
//! and writes files for people working by hand; [`bank`] and [`merchant`]
//! are the reference agents of the other two parties, and [`board`] the
//! merchant's bulletin board; [`ui`] is the orderer's desktop wallet
//! (iced), the only module that knows about the GUI, driving [`wallet`],
//! [`store`] and [`mail`] through tasks off the UI thread.

pub mod agent;
pub mod bank;
pub mod board;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod fault;
pub mod i18n;
pub mod keys;
pub mod mail;
pub mod merchant;
pub mod paths;
pub mod protocol;
pub mod secrets;
pub mod sqlite;
pub mod store;
pub mod task;
pub mod ui;
pub mod wallet;
