//! A `mailpay:` link as a web page or another program hands it over: an
//! error is fine, a panic is a bug, and a link read is printed back to one
//! that reads as the same link (or, percent-encoded past the length limit,
//! is refused as too long: never misread).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailpay::protocol::link;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(read) = link::parse(text) {
        let printed = read.to_string();
        let again = link::parse(&printed);
        if printed.len() > link::MAX_LEN {
            assert_eq!(again, Err(link::LinkError::TooLong), "{printed}");
        } else {
            assert_eq!(again.as_ref(), Ok(&read), "{printed}");
        }
    }
});
