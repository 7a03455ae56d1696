//! Inputs the fuzz targets (fuzz/) found, kept as tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mailpay::protocol::link::{self, LinkError};

/// fuzz target `link`: a board address with NUL and other control
/// characters was accepted, and printed back (percent-encoded) past the
/// length limit.
#[test]
fn a_board_address_with_control_characters_is_refused() {
    let nul = format!("mailpay:shop@ex.com?board=https%3A%2F%2Fshop.test%2F{}", "%00".repeat(40));
    assert!(matches!(link::parse(&nul), Err(LinkError::Invalid { key: "board", .. })));
    let spaced = "mailpay:shop@ex.com?board=https%3A%2F%2Fshop.test%2Fa%20b";
    assert!(matches!(link::parse(spaced), Err(LinkError::Invalid { key: "board", .. })));
    let fine = link::parse("mailpay:shop@ex.com?board=https%3A%2F%2Fshop.test%2Fboard").unwrap();
    assert_eq!(fine.board.as_deref(), Some("https://shop.test/board"));
}

/// A link whose values print longer than the limit is refused as too long
/// when read again, never misread.
#[test]
fn a_link_printed_past_the_limit_reads_as_too_long() {
    let name = "\u{1d11e}".repeat(200);
    let read = link::parse(&format!("mailpay:shop@ex.com?name={name}")).unwrap();
    let printed = read.to_string();
    assert!(printed.len() > link::MAX_LEN, "{}", printed.len());
    assert_eq!(link::parse(&printed), Err(LinkError::TooLong));
}
