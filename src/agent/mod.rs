//! What the reference agents (the bank, the merchant) share: one runtime
//! that watches the agent's inbox and sends its outbox, so each agent
//! keeps only its decisions.
//!
//! [`runtime`] is the loop: every mail from the IMAP watcher is a bounce
//! (its mail goes out again after a wait, [`held_back`]), invalid (recorded
//! with why, never answered) or MailPay (handed to the agent's
//! [`runtime::Decisions`], which records it and queues its answers in one
//! transaction); queued mail is sent concurrently, at most once at a time
//! per mail, and what failed goes out again on the agent's clock and
//! whenever the inbox is quiet. [`outbox`] is the tables behind it, the
//! same in the ledger and the shop book. [`cli`] is what the two programs'
//! command lines share: the run arguments, the configuration file, the
//! mail password and the exit codes.

pub mod cli;
pub mod held_back;
pub mod outbox;
pub mod runtime;

pub use outbox::{Book, BookError};
pub use runtime::{Agent, Decisions};
