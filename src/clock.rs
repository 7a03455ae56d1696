//! The wall clock, read at the edges only: the protocol core and the
//! agents' engines are given the time by their callers (tests move it
//! freely), and every program reads it here.

use crate::protocol::Timestamp;

/// Now, in whole seconds since the Unix epoch.
pub fn now() -> Timestamp {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Timestamp::from_unix(i64::try_from(secs).unwrap_or(i64::MAX))
}
