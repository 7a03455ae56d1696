//! The merchant's bulletin board (claim 3): orderers post a record of their
//! order (initials, order time, order id; never A), anyone reads it, the
//! bank checks it. [`log`] keeps the records append-only with a hash chain,
//! [`server`] serves them over HTTP, [`page`] renders the web page and
//! [`client`] is what the wallet and the bank use to post and read;
//! [`input`] reads the HTTP input (routes and posted records) without I/O;
//! [`guard`] keeps the server's connections within their caps and time
//! limits.

pub mod client;
pub mod guard;
pub mod input;
pub mod log;
pub mod page;
pub mod server;
