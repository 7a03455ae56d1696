//! MailPay inside Thunderbird. Thunderbird holds the user's mail account
//! (and its password or OAuth token); its MailPay add-on
//! (`packaging/thunderbird/addon`) hands the wallet the MailPay mails that
//! arrive and sends the wallet's mails from the user's own account. The
//! add-on stays thin: the wallet decides.
//!
//! - [`frame`]: length-prefixed JSON, with its limits;
//! - [`messages`]: the bridge's messages, version 1;
//! - [`host`]: the native-messaging host (`mailpay-thunderbird`), which
//!   runs the wallet for the add-on;
//! - [`endpoint`]: the wallet's local socket, where the app and the
//!   command line reach the host, and their [`endpoint::ThroughThunderbird`]
//!   transport;
//! - [`outgoing`]: a MailPay mail taken apart for Thunderbird's compose API;
//! - [`manifest`]: the native-messaging manifest and where each system
//!   looks for it.

pub mod endpoint;
pub mod frame;
pub mod host;
pub mod manifest;
pub mod messages;
pub mod outgoing;

pub use endpoint::ThroughThunderbird;
