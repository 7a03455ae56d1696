//! MailPay: pay a merchant by e-mail with a one-time password A, after
//! Japanese patent application H10-320471 (see PROTOCOL.md).
//!
//! The core, with no I/O: [`protocol`] is the whole protocol (the types,
//! the MailPay block, building and parsing each mail, the claim-2 cheque,
//! the orderer's payment state machine and the bank's matching rule), given
//! its clock by its callers.
//!
//! The three parties, each driving that core:
//! - [`wallet`]: the orderer's wallet, one for every front end (placing,
//!   sending with its crash-safety points, answering, expiring, the one
//!   way a received mail comes in) over [`store`], its SQLite store, and a
//!   [`wallet::Transport`] that carries the mails.
//! - [`agent`]: the runtime the reference agents share (inbox loop,
//!   outbox, bounces, clock, command line); [`bank`] and [`merchant`] are
//!   their decisions, [`board`] the merchant's bulletin board.
//!
//! The front ends: [`ui`], the desktop wallet (iced; the only module that
//! knows the GUI, its backend a thin adapter over [`wallet`]); [`cli`], the
//! `mailpay` command line; [`demo`], the app's embedded demo, whose bank
//! and merchant run in-process on a mail loop of their own.
//!
//! The edges: [`mail`] (accounts, TLS, SMTP out, IMAP IDLE in),
//! [`autoconfig`] (finding an address's mail servers), [`http`] (the one
//! HTTP client, for boards and autoconfig), [`sqlite`]
//! (every database opened one way), [`secrets`] (passwords in the OS
//! keyring), [`keys`] (the wallet's signing key in a file), [`config`] (the
//! accounts file), [`paths`] (where files live), [`clock`] (the one wall
//! clock), [`i18n`] (translations), [`task`] (background tasks tied to a
//! loop) and [`fault`] (the crash tests' halting points).

pub mod agent;
pub mod autoconfig;
pub mod bank;
pub mod board;
pub mod bridge;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod fault;
pub mod http;
pub mod i18n;
pub mod keys;
pub mod local_socket;
pub mod mail;
pub mod merchant;
pub mod oauth;
pub mod paths;
pub mod protocol;
pub mod secrets;
pub mod sqlite;
pub mod store;
pub mod task;
pub mod ui;
pub mod wallet;
