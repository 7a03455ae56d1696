//! Any bytes at all given to the receive entry point: an error is fine,
//! a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailpay::protocol::parse;

fuzz_target!(|data: &[u8]| {
    let _ = parse::parse(data);
});
