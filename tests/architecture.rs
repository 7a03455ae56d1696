//! The protocol core stays pure: no I/O, no clock, no GUI. This test reads
//! the sources of `src/protocol` and fails if any of them reaches out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::env",
    "SystemTime",
    "Instant::now",
    "tokio::",
    "iced::",
    "lettre::",
    "async_imap::",
    "rusqlite::",
    "keyring::",
    "println!",
    "eprintln!",
];

#[test]
fn protocol_core_does_no_io() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/protocol");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("src/protocol is readable") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source is UTF-8");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for word in FORBIDDEN {
                assert!(
                    !code.contains(word),
                    "{}:{} uses {word}: the protocol core must stay free of I/O",
                    path.display(),
                    number + 1
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 10, "expected the protocol modules, found {checked} files");
}
