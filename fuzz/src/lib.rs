//! The protocol core of `mailpay`, compiled from the main crate's sources
//! so that the fuzz targets exercise exactly the code that ships, without
//! building the main crate's I/O dependencies (see Cargo.toml).

#[path = "../../src/protocol/mod.rs"]
pub mod protocol;
