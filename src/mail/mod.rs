//! Real mail at the edge: accounts, TLS, SMTP dispatch and IMAP watching.
//!
//! Nothing here decides anything about payments: [`smtp`] sends the bytes
//! the protocol core built, [`imap`] hands raw mails back to
//! [`crate::protocol::parse::parse`].

pub mod account;
pub mod expecting;
pub mod imap;
pub mod smtp;
pub mod tls;
