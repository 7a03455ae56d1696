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

/// The mail-server lookup's XML parser and provider database are pure as
/// well: its network steps stay in `src/autoconfig/mod.rs` and `dns.rs`.
#[test]
fn autoconfig_parsing_does_no_io() {
    for file in ["src/autoconfig/config_xml.rs", "src/autoconfig/providers.rs"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let text = std::fs::read_to_string(&path).expect("source is UTF-8");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for word in FORBIDDEN {
                assert!(
                    !code.contains(word),
                    "{file}:{} uses {word}: parsing must stay free of I/O",
                    number + 1
                );
            }
        }
    }
}

/// Only `src/ui` knows about the GUI toolkit: the wallet, store, mail edge
/// and protocol stay usable by the command line and the agents.
#[test]
fn only_the_ui_uses_iced() {
    fn walk(dir: &Path, found: &mut Vec<String>, checked: &mut usize) {
        for entry in std::fs::read_dir(dir).expect("source folder is readable") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "ui") {
                    continue;
                }
                walk(&path, found, checked);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source is UTF-8");
                *checked += 1;
                for (number, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or_default();
                    let word = |w: &str| {
                        code.match_indices(w).any(|(at, _)| {
                            at == 0 || !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                        })
                    };
                    if word("iced::") || word("iced_") || word("iced ") {
                        found.push(format!("{}:{}", path.display(), number + 1));
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    let mut checked = 0;
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found, &mut checked);
    assert!(checked >= 30, "expected the crate's sources, found {checked} files");
    assert!(found.is_empty(), "iced used outside src/ui: {found:?}");
}

/// The wallet is one for every front end: nothing under `src/wallet`
/// reaches into the desktop app, the command line or the demo (they drive
/// it, never the other way), so a new front end or transport is a caller,
/// not a fork.
#[test]
fn the_wallet_knows_no_front_end() {
    const FRONT_ENDS: &[&str] = &["crate::ui", "crate::cli", "crate::demo", "super::ui", "iced"];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/wallet");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("src/wallet is a folder") {
        let path = entry.expect("directory entry").path();
        let text = std::fs::read_to_string(&path).expect("source is UTF-8");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for word in FRONT_ENDS {
                assert!(!code.contains(word), "{}:{} uses {word}", path.display(), number + 1);
            }
        }
        checked += 1;
    }
    assert!(checked >= 3, "expected the wallet's modules, found {checked} files");
}

/// The OAuth2 protocol core (providers, the grant, the tokens' state, SASL)
/// does no I/O either: the HTTP call is handed in, the time passed in.
/// Its unit tests (after `#[cfg(test)]`) may run on tokio.
#[test]
fn oauth_core_does_no_io() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/oauth");
    for name in ["provider.rs", "grant.rs", "tokens.rs", "sasl.rs"] {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).expect("source is UTF-8");
        let core = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (number, line) in core.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for word in FORBIDDEN {
                assert!(
                    !code.contains(word),
                    "{}:{} uses {word}: the OAuth2 core must stay free of I/O",
                    path.display(),
                    number + 1
                );
            }
        }
    }
}
