//! The agents' engines stay pure like the protocol core: the bank's and
//! the merchant's decisions read no clock, touch no file, network or
//! database; the ledger, the shop's book and the daemons do that.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::env",
    "SystemTime",
    "Instant::now",
    "clock::now",
    "tokio::",
    "hyper",
    "lettre::",
    "async_imap::",
    "rusqlite::",
    "crate::mail",
    "crate::board::client",
    "println!",
    "eprintln!",
];

#[test]
fn bank_and_merchant_engines_do_no_io() {
    for file in ["src/bank/engine.rs", "src/bank/order_file.rs", "src/merchant/engine.rs"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.lines().count() > 100, "{file} holds the engine's code");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for word in FORBIDDEN {
                assert!(
                    !code.contains(word),
                    "{file}:{} uses {word}: the engine must stay free of I/O",
                    number + 1
                );
            }
        }
    }
}
