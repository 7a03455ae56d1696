//! The field parsers on arbitrary text, one piece per line: errors are
//! fine, a panic is a bug, and every value read prints in a form that is
//! read back as the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailpay::protocol::confirmation::ConfirmationCode;
use mailpay::protocol::item::LineItem;
use mailpay::protocol::{EmailAddress, Money, OrderId, PasswordA, Timestamp};

/// `value` printed and read back with `FromStr` equals `value`.
fn round_trips<T>(value: &T)
where
    T: std::fmt::Display + std::str::FromStr + PartialEq + std::fmt::Debug,
    T::Err: std::fmt::Debug,
{
    let shown = value.to_string();
    match shown.parse::<T>() {
        Ok(back) => assert_eq!(&back, value, "{shown:?} reads back as another value"),
        Err(e) => panic!("{value:?} prints as {shown:?}, which does not read back: {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for piece in text.split('\n').take(64) {
        if let Ok(m) = piece.parse::<Money>() {
            round_trips(&m);
            let _ = m.times(9999);
        }
        if let Ok(item) = piece.parse::<LineItem>() {
            round_trips(&item);
            let _ = item.line_total();
        }
        if let Ok(t) = piece.parse::<Timestamp>() {
            round_trips(&t);
        }
        if let Ok(id) = piece.parse::<OrderId>() {
            round_trips(&id);
        }
        if let Ok(a) = piece.parse::<EmailAddress>() {
            round_trips(&a);
        }
        if let Ok(code) = piece.parse::<ConfirmationCode>() {
            round_trips(&code);
        }
        if let Ok(a) = PasswordA::parse(piece) {
            // PasswordA prints only through `display`, in groups of four.
            assert!(PasswordA::parse(&a.display()).is_ok_and(|b| b == a), "a password does not read back");
            let _ = a.hash().to_hex();
        }
    }
});
