//! The protocol core of `mailpay`, compiled from the main crate's sources
//! so that the fuzz targets exercise exactly the code that ships, without
//! building the main crate's I/O dependencies (see Cargo.toml).

#[path = "../../src/protocol/mod.rs"]
pub mod protocol;

/// The board's HTTP input (routes, posted records), from the main crate.
#[path = "../../src/board/input.rs"]
#[doc(hidden)]
pub mod board_input;

pub mod board {
    pub use super::board_input as input;
}
