//! Real mail at the edge: accounts, TLS, SMTP dispatch and IMAP watching.
//!
//! Nothing here decides anything about payments: [`smtp`] sends the bytes
//! the protocol core built; [`imap`] watches a mailbox (IDLE, or polling)
//! and hands each mail over as raw bytes with what it is
//! ([`imap::Received::of`]: a bounce, MailPay, or invalid with why), setting
//! aside what cannot be read; [`expecting`] is the window in which the
//! watcher looks for an answer eagerly after a mail left; [`account`] and
//! [`tls`] are the servers and their certificates, [`tcp`] the connections
//! to them.

pub mod account;
pub mod expecting;
pub mod imap;
pub mod login;
pub mod smtp;
pub mod tcp;
pub mod tls;
