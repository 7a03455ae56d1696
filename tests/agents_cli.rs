//! The two agents' command lines behave alike (src/agent/cli.rs): a wrong
//! command line or configuration exits 2 with what to fix, `--help` exits
//! 0, and a configuration without a mail account names the table to add.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

const AGENTS: [(&str, &str); 2] =
    [(env!("CARGO_BIN_EXE_mailpay-bank"), "bank"), (env!("CARGO_BIN_EXE_mailpay-merchant"), "shop")];

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).env_remove("MAILPAY_HOME").output().unwrap()
}

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mailpay-agents-cli-{}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn usage_and_configuration_errors_exit_2_in_both_agents() {
    let dir = dir();
    let data = dir.to_str().unwrap();
    let empty = dir.join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "account = 3\n").unwrap();
    for (program, whose) in AGENTS {
        let help = run(program, &["--help"]);
        assert_eq!(help.status.code(), Some(0), "{program} --help");

        let unknown = run(program, &["no-such-command"]);
        assert_eq!(unknown.status.code(), Some(2), "{program}: an unknown command");

        let no_account = run(program, &["--data-dir", data, "--config", empty.to_str().unwrap(), "run"]);
        let stderr = String::from_utf8_lossy(&no_account.stderr);
        assert_eq!(no_account.status.code(), Some(2), "{program}: {stderr}");
        assert!(
            stderr.contains(&format!("[account] table for the {whose}'s mailbox")),
            "{program}: {stderr}"
        );

        let invalid = run(program, &["--data-dir", data, "--config", broken.to_str().unwrap(), "run"]);
        let stderr = String::from_utf8_lossy(&invalid.stderr);
        assert_eq!(invalid.status.code(), Some(2), "{program}: {stderr}");
        assert!(stderr.contains("is not a valid"), "{program}: {stderr}");

        let missing = dir.join("missing.toml");
        let unreadable = run(program, &["--data-dir", data, "--config", missing.to_str().unwrap(), "run"]);
        assert_eq!(unreadable.status.code(), Some(2), "{program}: a configuration file that is not there");
    }
    let _ = std::fs::remove_dir_all(dir);
}
