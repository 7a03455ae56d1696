//! Secrets over a whole Fig. 1 payment, with the programs as processes
//! against the real mail stack: neither password A nor any mail password
//! appears in what `mailpay`, `mailpay-bank` and `mailpay-merchant` print
//! or log; every database and the wallet's config file are owner-only; and
//! every database is in WAL mode.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{mailstack, processes};

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use mailpay::protocol::PasswordA;
use processes::{World, order_id, watch_until};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn mode(path: &Path) -> u32 {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    meta.permissions().mode() & 0o777
}

#[test]
fn no_secret_in_any_output_and_every_file_owner_only() {
    if !processes::in_session_keyring("no_secret_in_any_output_and_every_file_owner_only") {
        return;
    }
    let stack = mailstack::shared();
    let world = World::new(stack, "secrets", 10_000);
    let bank_log = world.dir.join("bank.log");
    let shop_log = world.dir.join("shop.log");
    let bank = world.start_bank(&bank_log, None);
    let shop = world.start_shop(&shop_log);
    let password = PasswordA::generate(&mut rand::rng());
    let shown = password.display().to_string();
    let mut printed = String::new();
    printed.push_str(&world.mailpay(&[
        "order",
        "--merchant",
        "shop@shop.test",
        "--bank",
        "bank@bank.test",
        "--amount",
        "700",
        "JPY",
        "--item",
        "Green tea",
        "--password",
        &shown,
    ]));
    let order = order_id(&printed);
    printed.push_str(&watch_until(&world.home, &order, "awaiting-confirmation"));
    printed.push_str(&world.mailpay(&["approve", &order]));
    printed.push_str(&watch_until(&world.home, &order, "-> settled"));
    printed.push_str(&world.mailpay(&["watch", "--once", "--json"]));
    printed.push_str(&world.bank(&["payments"]));
    printed.push_str(&world.bank(&["trail", &order]));
    printed.push_str(&world.shop(&["orders"]));
    drop(bank);
    drop(shop);
    assert!(printed.contains("settled"), "the payment went through:\n{printed}");

    let logs = [
        ("the command line's output", printed),
        ("the bank's log", std::fs::read_to_string(&bank_log).unwrap()),
        ("the merchant's log", std::fs::read_to_string(&shop_log).unwrap()),
    ];
    let canonical: String = shown.chars().filter(|c| *c != '-').collect();
    let mut secrets = vec![("password A".to_string(), shown.clone()), ("password A".to_string(), canonical)];
    for address in ["orderer@buyer.test", "bank@bank.test", "shop@shop.test"] {
        secrets.push((format!("{address}'s mail password"), stack.user(address).password.clone()));
    }
    let mut checks = 0;
    for (where_, text) in &logs {
        assert!(!text.is_empty(), "{where_} is empty");
        for (what, secret) in &secrets {
            assert!(!text.contains(secret.as_str()), "{what} appears in {where_}:\n{text}");
            checks += 1;
        }
    }

    // Owner-only files and folders; WAL databases.
    let mut all = Vec::new();
    let folders = [
        world.home.join("config"),
        world.home.join("data"),
        world.dir.join("bank-data"),
        world.dir.join("shop-data"),
    ];
    for dir in folders {
        assert_eq!(mode(&dir) & 0o077, 0, "{} is {:o}", dir.display(), mode(&dir));
        files(&dir, &mut all);
    }
    let mut databases = 0;
    // (-wal and -shm files go away when the last connection closes.)
    let mut checked = 0;
    for file in &all {
        let Ok(meta) = std::fs::metadata(file) else { continue };
        let mode = meta.permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", file.display());
        checked += 1;
        let name = file.to_string_lossy();
        if name.ends_with(".sqlite") || name.ends_with(".sqlite3") {
            let db = rusqlite::Connection::open(file).unwrap();
            let journal: String = db.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
            assert_eq!(journal, "wal", "{name}");
            databases += 1;
        }
    }
    assert!(all.iter().any(|f| f.ends_with("config/config.toml")), "{all:?}");
    assert!(databases >= 3, "the wallet's, the bank's and the merchant's databases: {all:?}");
    println!("secrets checked: {checks} (absent); files owner-only: {checked}; WAL databases: {databases}");
}

fn keyctl(args: &[&str]) -> std::process::Output {
    std::process::Command::new("keyctl").args(args).output().unwrap()
}

/// README, "Where passwords live": with keyutils a password is a `user`
/// key linked into the session keyring and the user's persistent keyring,
/// and `mailpay account remove` takes it out of both.
#[test]
fn a_keyutils_password_is_in_the_session_and_persistent_keyrings_until_removed() {
    if !processes::in_session_keyring(
        "a_keyutils_password_is_in_the_session_and_persistent_keyrings_until_removed",
    ) {
        return;
    }
    let home = std::env::temp_dir().join(format!("mailpay-keyutils-{}", rand::random::<u64>()));
    let address = format!("keys-{}@buyer.test", rand::random::<u32>());
    let add = ["account", "add", address.as_str(), "--smtp", "localhost:25", "--imap", "localhost:993"];
    let out = processes::run(processes::MAILPAY, &home, &add, "not-a-real-password\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let name = format!("keyring:{address}@mailpay");
    let found = keyctl(&["search", "@s", "user", &name]);
    assert!(found.status.success(), "the key is not reachable from the session keyring");
    let key = String::from_utf8_lossy(&found.stdout).trim().to_string();
    let persistent = keyctl(&["get_persistent", "@s"]);
    assert!(persistent.status.success(), "no persistent keyring");
    let persistent = String::from_utf8_lossy(&persistent.stdout).trim().to_string();
    for (ring, what) in [("@s", "session"), (persistent.as_str(), "persistent")] {
        let listed = String::from_utf8_lossy(&keyctl(&["rlist", ring]).stdout).to_string();
        assert!(
            listed.split_whitespace().any(|id| id == key),
            "key {key} not in the {what} keyring: {listed}"
        );
    }
    let description = String::from_utf8_lossy(&keyctl(&["rdescribe", &persistent]).stdout).to_string();
    let uid = String::from_utf8_lossy(&std::process::Command::new("id").arg("-u").output().unwrap().stdout)
        .trim()
        .to_string();
    assert!(description.trim_end().ends_with(&format!("_persistent.{uid}")), "{description}");

    let out = processes::run(processes::MAILPAY, &home, &["account", "remove", address.as_str()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!keyctl(&["search", "@s", "user", &name]).status.success(), "removed from the session keyring");
    let listed = String::from_utf8_lossy(&keyctl(&["rlist", &persistent]).stdout).to_string();
    assert!(!listed.split_whitespace().any(|id| id == key), "removed from the persistent keyring: {listed}");
    let _ = std::fs::remove_dir_all(&home);
}
