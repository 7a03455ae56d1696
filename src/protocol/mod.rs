//! The MailPay protocol, with no I/O: types, the block format, building and
//! parsing mails, the claim-2 cheque, the payment state machine and the
//! bank's matching rule. Callers pass in the time and the randomness; the
//! wallet, the agents and the tests all drive this same code.
//!
//! Read in this order: [`message`] (what each mail says), [`block`] (how it
//! is written), [`compose`] and [`parse`] (whole mails), [`payment`] (the
//! orderer's state machine), [`matching`] (the bank's rule).

pub mod address;
pub mod base32;
pub mod block;
pub mod board;
pub mod bounce;
pub mod cheque;
pub mod compose;
pub mod confirmation;
pub mod flowed;
pub mod hand_answer;
pub mod headers;
pub mod item;
pub mod link;
pub mod matching;
pub mod message;
pub mod money;
pub mod order_id;
pub mod parse;
pub mod password;
pub mod payment;
pub mod reason;
pub mod redact;
pub mod timestamp;

pub use address::EmailAddress;
pub use message::{Body, Kind, Method, OrderTerms};
pub use money::{Currency, Money};
pub use order_id::{OrderId, OrderNonce};
pub use password::PasswordA;
pub use timestamp::Timestamp;
