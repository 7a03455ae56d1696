//! The orderer's wallet, one for every front end: the desktop app, the
//! command line, the demo and the benchmarks all drive it, and none of it
//! knows which (it imports nothing from `ui`, `cli` or `demo`).
//!
//! [`steps`] is each step of a payment recorded over the store: placing,
//! a user's action or the clock, a dispatch's outcome, and [`take`], the
//! one way a received mail comes in. [`Wallet`] ([`service`]) puts them
//! together for callers: place, post the board record, send with the
//! crash-safety points, retry, answer, expire. [`Transport`] is what
//! carries the mails out: the account's servers, or the demo's loop.
//! [`accounts`] keeps the mail accounts (config file and keyring).

pub mod accounts;
pub mod service;
pub mod steps;
pub mod transport;

pub use service::{Backoff, NewPayment, Progress, Wallet};
pub use steps::{
    ChequeKeys, Receipt, Sent, WalletError, act, bounced, place, place_sealed, queued, receive,
    record_dispatch, take,
};
pub use transport::{MailServers, Sending, Transport};
