//! A real Postfix + Dovecot mail stack for integration tests.
//!
//! The stack is driven by `tests/mailstack/mailstack.sh` (see its header for
//! what it builds): Postfix takes SMTP submission with STARTTLS and implicit
//! TLS (AUTH required on both) on 127.0.0.1 and delivers over LMTP into
//! Dovecot, which serves IMAP (STARTTLS and implicit TLS, with IDLE). The
//! certificates are signed by a CA made at start, whose PEM is [`MailStack::ca_file`].
//!
//! Use it from a test crate with
//!
//! ```ignore
//! mod support;
//! use support::mailstack;
//!
//! let stack = mailstack::shared();
//! let shop = stack.user("shop@shop.test");
//! ```
//!
//! [`shared`] starts one stack per test binary (lazily, on first use) and a
//! watchdog that stops it once the test process has exited. Tests that stop
//! or restart a server (fault injection) should use their own stack from
//! [`MailStack::start_private`], which is stopped when it is dropped, so that
//! other tests running at the same time are not disturbed.
//!
//! Nothing is skipped: if the stack cannot be installed or started (e.g. not
//! running as root), the test panics with the script's output. Stack folders
//! (`$TMPDIR/mailstack-<pid>-<port base>`, with the servers' logs) are removed
//! when the stack stops unless `MAILSTACK_KEEP=1` is set.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The test domains' users, in the order the script lists them.
pub const USERS: &[&str] = &[
    "orderer@buyer.test",
    "orderer2@buyer.test",
    "shop@shop.test",
    "shop2@shop2.test",
    "bank@bank.test",
    "bank2@bank2.test",
    "oauth@buyer.test",
];

/// The users who also log in with an OAuth2 access token (see
/// `support::oauth`). Dovecot checks any user's token the same way; this
/// one is the OAuth2 tests' own, so that no other test sees its mail.
pub const OAUTH_USER: &str = "oauth@buyer.test";

/// Exit code of `mailstack.sh start` when one of the chosen ports is taken.
const EXIT_PORT_BUSY: i32 = 3;
/// Port bases are 20000 + slot * 100, kept below Linux's ephemeral range.
const PORT_SLOTS: u32 = 120;
const START_ATTEMPTS: u32 = 6;

/// A virtual mailbox of the stack; `address` is also its login name.
#[derive(Clone, Debug)]
pub struct User {
    pub address: String,
    pub password: String,
}

/// A running stack (see the module documentation).
#[derive(Debug)]
pub struct MailStack {
    /// The stack's private folder: configs, logs, queue and maildirs.
    pub dir: PathBuf,
    /// Where every service listens: 127.0.0.1.
    pub host: String,
    /// SMTP submission, STARTTLS required before AUTH.
    pub submission_port: u16,
    /// SMTP submission over implicit TLS.
    pub smtps_port: u16,
    /// IMAP with STARTTLS.
    pub imap_port: u16,
    /// IMAP over implicit TLS.
    pub imaps_port: u16,
    /// PEM of the CA that signed the servers' certificate (valid for
    /// `localhost`, `127.0.0.1` and `mail.test`).
    pub ca_file: PathBuf,
    users: Vec<User>,
    vars: HashMap<String, String>,
    /// Stop the stack on drop (private stacks only; statics are never dropped).
    stop_on_drop: bool,
}

/// The stack shared by all tests of this test binary, started on first use.
///
/// Panics, with the script's output, if it cannot be installed or started.
pub fn shared() -> &'static MailStack {
    static SHARED: OnceLock<Result<MailStack, String>> = OnceLock::new();
    match SHARED.get_or_init(|| MailStack::launch(false, "50M")) {
        Ok(stack) => stack,
        Err(message) => panic!("the shared mail stack is not available:\n{message}"),
    }
}

/// Path of `tests/mailstack/mailstack.sh`.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mailstack/mailstack.sh")
}

impl MailStack {
    /// Starts a stack of its own (own folder, ports and server processes),
    /// stopped when the value is dropped or, at the latest, when the test
    /// process exits. Panics with the script's output if it cannot start.
    pub fn start_private() -> MailStack {
        MailStack::start_private_with_quota("50M")
    }

    /// [`MailStack::start_private`] with this storage quota per user
    /// (`MAILSTACK_QUOTA`, e.g. `"100k"`).
    pub fn start_private_with_quota(quota: &str) -> MailStack {
        match MailStack::launch(true, quota) {
            Ok(stack) => stack,
            Err(message) => panic!("cannot start a private mail stack:\n{message}"),
        }
    }

    /// The user with this address; panics if the stack has no such user.
    pub fn user(&self, address: &str) -> &User {
        match self.users.iter().find(|u| u.address == address) {
            Some(user) => user,
            None => panic!(
                "the mail stack has no user {address:?}; it has {:?}",
                self.users.iter().map(|u| u.address.as_str()).collect::<Vec<_>>()
            ),
        }
    }

    /// All users of the stack.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// A value of `DIR/env` (e.g. `"POSTFIX_LOG"`).
    pub fn var(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// The Maildir that holds `address`'s INBOX (`new/`, `cur/`, `tmp/`,
    /// created on first delivery).
    pub fn maildir(&self, address: &str) -> PathBuf {
        let Some((local, domain)) = address.split_once('@') else {
            panic!("not a mail address: {address:?}");
        };
        self.dir.join("mail").join(domain).join(local)
    }

    /// How many messages in one folder of `address`'s mailbox (`None`: the
    /// INBOX; `new/` and `cur/`) contain `needle`.
    pub fn count_in_folder(&self, address: &str, folder: Option<&str>, needle: &str) -> usize {
        let maildir = self.maildir(address);
        let dir = folder.map_or(maildir.clone(), |f| maildir.join(format!(".{f}")));
        ["cur", "new"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(dir.join(sub)).ok())
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| {
                std::fs::read(e.path()).is_ok_and(|raw| String::from_utf8_lossy(&raw).contains(needle))
            })
            .count()
    }

    /// Files of the messages in `address`'s INBOX (`new/` and `cur/`).
    pub fn inbox_files(&self, address: &str) -> Vec<PathBuf> {
        let maildir = self.maildir(address);
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(maildir.join(sub)) {
                files.extend(entries.filter_map(Result::ok).map(|e| e.path()));
            }
        }
        files.sort();
        files
    }

    /// Waits until a message of `address`'s INBOX contains `needle` (e.g. a
    /// unique Subject line); returns its path, or `None` after `timeout`.
    pub fn wait_for_message(&self, address: &str, needle: &str, timeout: Duration) -> Option<PathBuf> {
        let deadline = Instant::now() + timeout;
        loop {
            for file in self.inbox_files(address) {
                if let Ok(bytes) = std::fs::read(&file)
                    && String::from_utf8_lossy(&bytes).contains(needle)
                {
                    return Some(file);
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The `iss` of the OAuth2 tokens Dovecot takes.
    pub fn oauth_issuer(&self) -> &str {
        self.var("OAUTH_ISSUER").unwrap_or_else(|| panic!("{} has no OAUTH_ISSUER", self.dir.display()))
    }

    /// The file with the (base64) HS256 key the OAuth2 tokens are signed with.
    pub fn oauth_key_file(&self) -> PathBuf {
        PathBuf::from(
            self.var("OAUTH_KEY_FILE")
                .unwrap_or_else(|| panic!("{} has no OAUTH_KEY_FILE", self.dir.display())),
        )
    }

    /// Ends `address`'s IMAP sessions (`doveadm kick`), as a server does
    /// that restarts or limits a session's time: clients log in again.
    pub fn kick(&self, address: &str) {
        let conf = self.dir.join("dovecot/dovecot.conf");
        let out = Command::new("doveadm").arg("-c").arg(&conf).args(["kick", address]).output();
        match out {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!("doveadm kick {address} failed: {}", output_text(&out)),
            Err(e) => panic!("cannot run doveadm: {e}"),
        }
    }

    /// Postfix's log file.
    pub fn postfix_log(&self) -> PathBuf {
        self.dir.join("postfix.log")
    }

    /// Dovecot's (IMAP and LMTP) log file.
    pub fn dovecot_log(&self) -> PathBuf {
        self.dir.join("dovecot.log")
    }

    /// Stops Postfix (SMTP submission refused); queued mail is kept.
    pub fn stop_postfix(&self) {
        self.control("stop-postfix");
    }

    /// Starts Postfix again and waits until its ports answer.
    pub fn start_postfix(&self) {
        self.control("start-postfix");
    }

    /// Stops Dovecot's IMAP and LMTP (mail submitted meanwhile waits in
    /// Postfix's queue; SMTP AUTH keeps working). Mail data is kept.
    pub fn stop_dovecot(&self) {
        self.control("stop-dovecot");
    }

    /// Makes Postfix answer `RCPT TO:<address>` with `451 4.3.2` (a
    /// temporary refusal) until [`MailStack::accept_recipient`].
    pub fn defer_recipient(&self, address: &str) {
        self.control_with("defer-recipient", address);
    }

    pub fn accept_recipient(&self, address: &str) {
        self.control_with("accept-recipient", address);
    }

    /// Gives `address`'s INBOX a new UIDVALIDITY, as when a folder is
    /// recreated: every UID a client kept is void.
    pub fn set_uid_validity(&self, address: &str, value: u32) {
        self.control_args("set-uid-validity", &[address, &value.to_string()]);
    }

    /// Starts Dovecot's IMAP and LMTP again and waits until they answer.
    pub fn start_dovecot(&self) {
        self.control("start-dovecot");
    }

    pub fn restart_postfix(&self) {
        self.control("restart-postfix");
    }

    pub fn restart_dovecot(&self) {
        self.control("restart-dovecot");
    }

    /// Asks Postfix to retry deferred mail now (it also retries every 5 s).
    pub fn flush_queue(&self) {
        self.control("flush");
    }

    /// Whether every server of the stack answers.
    pub fn is_up(&self) -> bool {
        run_script(&["status", &self.dir.to_string_lossy()], &[]).is_ok_and(|o| o.status.success())
    }

    /// Stops every server of the stack (idempotent). Shared stacks are
    /// stopped by their watchdog when the test process exits.
    pub fn stop(&self) {
        self.control("stop");
    }

    fn control(&self, command: &str) {
        self.control_with(command, "");
    }

    fn control_with(&self, command: &str, argument: &str) {
        self.control_args(command, &[argument]);
    }

    fn control_args(&self, command: &str, arguments: &[&str]) {
        let dir = self.dir.to_string_lossy();
        let args: Vec<&str> = [command, dir.as_ref()]
            .into_iter()
            .chain(arguments.iter().copied())
            .filter(|a| !a.is_empty())
            .collect();
        match run_script(&args, &[]) {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!("mailstack.sh {command} {dir} failed ({}):\n{}", out.status, output_text(&out)),
            Err(e) => panic!("cannot run mailstack.sh {command} {dir}: {e}"),
        }
    }

    fn launch(private: bool, quota: &str) -> Result<MailStack, String> {
        static LAUNCHES: AtomicU32 = AtomicU32::new(0);
        let install = run_script(&["install"], &[])?;
        if !install.status.success() {
            return Err(format!(
                "mailstack.sh install failed ({}):\n{}",
                install.status,
                output_text(&install)
            ));
        }
        let pid = std::process::id();
        let keep = keep_dirs();
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let n = LAUNCHES.fetch_add(1, Ordering::Relaxed);
            let slot = (pid.wrapping_add(n.wrapping_mul(37))) % PORT_SLOTS;
            let base = 20000 + slot * 100;
            let dir = std::env::temp_dir().join(format!("mailstack-{pid}-{base}"));
            let dir_arg = dir.to_string_lossy().into_owned();
            if dir.exists() {
                // Left by an earlier process with the same pid (kept or
                // killed hard): it cannot be in use by a live process.
                let _ = run_script(&["stop", &dir_arg], &[]);
                let _ = std::fs::remove_dir_all(&dir);
            }
            let pid_arg = pid.to_string();
            let mut args = vec!["start", dir_arg.as_str(), "--owner-pid", pid_arg.as_str()];
            if !keep {
                args.push("--remove-on-exit");
            }
            let base_arg = base.to_string();
            let out =
                run_script(&args, &[("MAILSTACK_PORT_BASE", base_arg.as_str()), ("MAILSTACK_QUOTA", quota)])?;
            if out.status.success() {
                let mut stack = MailStack::from_env_file(&dir)?;
                stack.stop_on_drop = private;
                return Ok(stack);
            }
            let text = output_text(&out);
            failures.push(format!("port base {base}, {dir_arg}: {}\n{text}", out.status));
            if !keep {
                let _ = std::fs::remove_dir_all(&dir);
            }
            let busy = out.status.code() == Some(EXIT_PORT_BUSY) || text.contains("Address already in use");
            if !busy {
                break;
            }
        }
        Err(failures.join("\n"))
    }

    /// Reads `DIR/env` as written by `mailstack.sh start`.
    pub fn from_env_file(dir: &Path) -> Result<MailStack, String> {
        let path = dir.join("env");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut vars = HashMap::new();
        for line in text.lines() {
            if let Some((key, value)) = line.split_once('=') {
                vars.insert(key.trim().to_owned(), value.trim().trim_matches('"').to_owned());
            }
        }
        let get = |key: &str| -> Result<String, String> {
            vars.get(key).cloned().ok_or_else(|| format!("{} has no {key}", path.display()))
        };
        let port = |key: &str| -> Result<u16, String> {
            let value = get(key)?;
            value.parse().map_err(|e| format!("{} has a bad {key}={value}: {e}", path.display()))
        };
        let mut users = Vec::new();
        for address in get("MAILSTACK_USERS")?.split_whitespace() {
            let key = address.replace(['@', '.'], "_");
            users.push(User { address: address.to_owned(), password: get(&format!("PASS_{key}"))? });
        }
        Ok(MailStack {
            dir: PathBuf::from(get("MAILSTACK_DIR")?),
            host: get("SMTP_HOST")?,
            submission_port: port("SMTP_SUBMISSION_PORT")?,
            smtps_port: port("SMTPS_PORT")?,
            imap_port: port("IMAP_PORT")?,
            imaps_port: port("IMAPS_PORT")?,
            ca_file: PathBuf::from(get("CA_FILE")?),
            users,
            vars,
            stop_on_drop: false,
        })
    }
}

impl Drop for MailStack {
    fn drop(&mut self) {
        if self.stop_on_drop {
            let dir = self.dir.to_string_lossy().into_owned();
            // Best effort: a failing stop must not turn into a double panic.
            let _ = run_script(&["stop", &dir], &[]);
            if !keep_dirs() {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
        }
    }
}

/// `MAILSTACK_KEEP=1` keeps stack folders (logs, maildirs) after the tests.
fn keep_dirs() -> bool {
    std::env::var_os("MAILSTACK_KEEP").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Runs the script with `bash`; stdin is closed, stdout and stderr captured
/// (the servers and the watchdog it starts write to files, never to these
/// pipes, so this returns as soon as the script is done).
fn run_script(args: &[&str], envs: &[(&str, &str)]) -> Result<std::process::Output, String> {
    let script = script();
    let mut command = Command::new("bash");
    command.arg(&script).args(args).stdin(Stdio::null());
    for (key, value) in envs {
        command.env(key, value);
    }
    command.output().map_err(|e| format!("cannot run bash {}: {e}", script.display()))
}

fn output_text(out: &std::process::Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.trim().is_empty() {
        text.push_str("\n[stdout]\n");
        text.push_str(&stdout);
    }
    text
}
