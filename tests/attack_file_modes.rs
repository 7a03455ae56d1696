//! Attack: another user of the same machine reads the files `mailpay`
//! writes. Under the common umask 022 a file made with the default mode is
//! readable by everyone, and the order, payment request, bill, cheque and
//! OK mails hold password A. Every file the command line writes with a
//! secret in it must be owner-only (0600) from its first byte, also when
//! it replaces a world-readable file that was there before.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `mailpay ARGS` started by a shell whose umask is 022, so that a file
/// created without an explicit mode comes out 0644.
fn mailpay_umask_022(home: &Path, args: &[&str]) -> Output {
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_mailpay"))
        .args(args)
        .env("MAILPAY_HOME", home)
        .output()
        .expect("sh runs mailpay");
    assert!(
        out.status.success(),
        "mailpay {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

fn only_file(dir: &Path, prefix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix)))
        .collect();
    assert_eq!(found.len(), 1, "one {prefix} file in {}: {found:?}", dir.display());
    found.into_iter().next().unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mailpay-attack-modes-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The shell really applies umask 022: a file it makes is 0644. Without
/// this, the test below could pass for the wrong reason.
#[test]
fn the_shell_used_makes_world_readable_files() {
    let dir = temp_dir("control");
    let file = dir.join("plain");
    let status = Command::new("sh").arg("-c").arg("umask 022; : > \"$0\"").arg(&file).status().unwrap();
    assert!(status.success());
    assert_eq!(mode(&file), 0o644);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_mail_and_key_compose_writes_is_owner_only_under_umask_022() {
    let dir = temp_dir("compose");
    let home = dir.join("home");
    let out_dir = dir.join("out");
    let out = out_dir.to_str().unwrap();
    let keys = dir.join("keys");
    let signing_key = keys.join("cheque-signing.key");
    let bank_secret = keys.join("bank-confirm.key");
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let password = "7KQ3-M9ZX-P2VD-H4TR-B8NC";

    let printed = mailpay_umask_022(
        &home,
        &[
            "compose",
            "order",
            "--from",
            "orderer@buyer.test",
            "--merchant",
            "shop@shop.test",
            "--bank",
            "bank@bank.test",
            "--amount",
            "1200",
            "--currency",
            "JPY",
            "--password",
            password,
            "--wallet-key",
            &recipient,
            "--signing-key",
            signing_key.to_str().unwrap(),
            "--out",
            out,
        ],
    );
    let printed = String::from_utf8(printed.stdout).unwrap();
    let order_id =
        printed.lines().find_map(|l| l.strip_prefix("order ")).expect("the order id is printed").to_string();
    let order = only_file(&out_dir, "order-");
    let request = only_file(&out_dir, "payment-request-");
    let cheque = only_file(&out_dir, "wallet-");
    let holds_a = |mail: &Path| {
        let text = std::fs::read_to_string(mail).unwrap();
        text.contains(password) || text.contains(&password.replace('-', ""))
    };
    for mail in [&order, &request] {
        assert!(holds_a(mail), "{} holds A", mail.display());
    }

    // A world-readable file already where the bill goes: it is replaced by
    // an owner-only one, not written into with its old mode.
    let stale_bill = out_dir.join(format!("bill-{}.eml", order_id.replace('-', "")));
    std::fs::write(&stale_bill, "an old bill\n").unwrap();
    std::fs::set_permissions(&stale_bill, std::fs::Permissions::from_mode(0o644)).unwrap();
    mailpay_umask_022(&home, &["compose", "bill", "--reply-to", order.to_str().unwrap(), "--out", out]);
    let bill = only_file(&out_dir, "bill-");
    assert_eq!(bill, stale_bill);
    assert!(holds_a(&bill), "the new bill quotes the order");

    mailpay_umask_022(
        &home,
        &[
            "compose",
            "confirm",
            "--reply-to",
            bill.to_str().unwrap(),
            "--secret",
            bank_secret.to_str().unwrap(),
            "--out",
            out,
        ],
    );
    let confirm = only_file(&out_dir, "confirm-");
    mailpay_umask_022(
        &home,
        &[
            "compose",
            "approve",
            "--reply-to",
            confirm.to_str().unwrap(),
            "--password",
            password,
            "--out",
            out,
        ],
    );
    let approve = only_file(&out_dir, "approve-");
    assert!(holds_a(&approve), "the OK carries A");

    let written = [&order, &request, &cheque, &bill, &confirm, &approve, &signing_key, &bank_secret];
    let modes: Vec<(String, String)> = written
        .iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), format!("{:o}", mode(p))))
        .collect();
    let open: Vec<&(String, String)> = modes.iter().filter(|(_, m)| m != "600").collect();
    assert!(open.is_empty(), "files not owner-only (0600): {open:?}; all: {modes:?}");
    // Nothing else was left in the folder (no temporary file).
    let names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names.len(), 6, "six mails and nothing else: {names:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The wallet's own files (database, its backup) stay owner-only under
/// umask 022 too.
#[test]
fn the_wallet_and_its_backup_are_owner_only_under_umask_022() {
    let dir = temp_dir("backup");
    let home = dir.join("home");
    let backup = dir.join("wallet.backup");
    mailpay_umask_022(&home, &["backup", backup.to_str().unwrap()]);
    mailpay_umask_022(&home, &["wallet-key"]);
    assert_eq!(mode(&backup), 0o600, "the backup");
    let mut checked = 0;
    for folder in [home.join("data"), home.join("config")].into_iter().filter(|f| f.exists()) {
        assert_eq!(mode(&folder) & 0o077, 0, "{} is {:o}", folder.display(), mode(&folder));
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 2, "the database and the wallet key were checked: {checked}");
    let _ = std::fs::remove_dir_all(&dir);
}
