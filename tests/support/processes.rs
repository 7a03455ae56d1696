//! The programs as processes against the real mail stack, for tests that
//! kill them or read what they print: the orderer's `mailpay` (password in
//! the kernel keyring), `mailpay-bank` and `mailpay-merchant` from TOML
//! files with `--password-file`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::mailstack::MailStack;

pub const MAILPAY: &str = env!("CARGO_BIN_EXE_mailpay");
pub const BANK: &str = env!("CARGO_BIN_EXE_mailpay-bank");
pub const MERCHANT: &str = env!("CARGO_BIN_EXE_mailpay-merchant");

/// Runs the test body under `keyctl session -` (a session keyring for the
/// kernel keyutils store, which the wallet is made to use, never a
/// desktop's own). `test` is the test's path in its binary. Returns true
/// inside, false in the outer run (which has then asserted that the inner
/// one passed).
pub fn in_session_keyring(test: &str) -> bool {
    in_session_keyring_with(test, &[])
}

/// [`in_session_keyring`], the inner run with `envs` set as well.
pub fn in_session_keyring_with(test: &str, envs: &[(&str, &str)]) -> bool {
    const INSIDE: &str = "MAILPAY_TEST_IN_SESSION_KEYRING";
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let out = Command::new("keyctl")
        .args(["session", "-"])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .envs(envs.iter().copied())
        .env(INSIDE, "1")
        .env("MAILPAY_KEYRING", "keyutils")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap_or_else(|e| panic!("keyctl (Debian package keyutils) is needed to run this test: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "{test} in a session keyring:\n{text}");
    // What the inner run measured, for `-- --nocapture` readers.
    for line in text.lines().filter(|l| l.starts_with("measured: ")) {
        eprintln!("{line}");
    }
    false
}

pub fn command(program: &str, home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command
        .args(args)
        .env("MAILPAY_HOME", home)
        .env("MAILPAY_KEYRING", "keyutils")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("MAILPAY_FAULT_HALT");
    command
}

pub fn run(program: &str, home: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = command(program, home, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs and asserts success; returns stdout and stderr together.
pub fn ok(program: &str, home: &Path, args: &[&str]) -> String {
    let out = run(program, home, args, "");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{program} {args:?} failed:\n{text}");
    text
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mailpay-proc-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn account_toml(stack: &MailStack, address: &str) -> String {
    format!(
        "[account]\naddress = \"{address}\"\nusername = \"{address}\"\nca_file = \"{ca}\"\n\
         smtp = {{ host = \"localhost\", port = {smtp}, security = \"starttls\" }}\n\
         imap = {{ host = \"localhost\", port = {imap}, security = \"tls\" }}\n",
        ca = stack.ca_file.display(),
        smtp = stack.submission_port,
        imap = stack.imaps_port,
    )
}

/// Writes `address`'s password to an owner-only file for `--password-file`.
pub fn password_file(stack: &MailStack, dir: &Path, address: &str) -> PathBuf {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(format!("{address}.password"));
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path).unwrap();
    writeln!(file, "{}", stack.user(address).password).unwrap();
    path
}

/// A spawned process, killed (SIGKILL) when dropped.
pub struct Agent(pub Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `file` contains `needle`; panics with its text after `timeout`.
pub fn wait_for_text(file: &Path, needle: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(Instant::now() < deadline, "no {needle:?} in {}:\n{text}", file.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `mailpay watch --once` until its output shows `needle` for `order`.
pub fn watch_until(home: &Path, order: &str, needle: &str) -> String {
    watch_until_all(home, &[order], needle)
}

/// Runs `mailpay watch --once` until its output shows `needle` for each of
/// `orders`.
pub fn watch_until_all(home: &Path, orders: &[&str], needle: &str) -> String {
    watch_with(|| ok(MAILPAY, home, &["watch", "--once"]), orders, needle)
}

/// Runs `watch_once` (a `mailpay watch --once`, on this system or
/// another) until what it printed shows `needle` for each of `orders`,
/// for at most 90 s; returns all it printed.
pub fn watch_with(mut watch_once: impl FnMut() -> String, orders: &[&str], needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen = String::new();
    loop {
        seen.push_str(&watch_once());
        if orders.iter().all(|order| seen.lines().any(|l| l.contains(order) && l.contains(needle))) {
            return seen;
        }
        assert!(Instant::now() < deadline, "no {needle:?} for all of {orders:?} in:\n{seen}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The arguments of `mailpay order` to `merchant` through `bank` for
/// `amount` (`"1200 JPY"`), then `extra` (`--item`, `--method` and so on).
pub fn order_args<'a>(merchant: &'a str, bank: &'a str, amount: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["order", "--merchant", merchant, "--bank", bank, "--amount"];
    args.extend(amount.split(' '));
    args.extend_from_slice(extra);
    args
}

pub fn order_id(output: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix("order "))
        .unwrap_or_else(|| panic!("no order id in:\n{output}"))
        .to_string()
}

/// The messages anywhere in `address`'s mailbox (INBOX and every folder,
/// `new/` and `cur/`) whose unfolded header contains `needle`.
pub fn count_in_mailbox(stack: &MailStack, address: &str, needle: &str) -> usize {
    fn walk(dir: &Path, needle: &str, count: &mut usize) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                if name != "tmp" {
                    walk(&path, needle, count);
                }
                continue;
            }
            let in_mail_dir =
                path.parent().and_then(Path::file_name).is_some_and(|p| p == "new" || p == "cur");
            if !in_mail_dir {
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).replace('\r', "");
            let header =
                text.split("\n\n").next().unwrap_or_default().replace("\n ", " ").replace("\n\t", " ");
            if header.contains(needle) {
                *count += 1;
            }
        }
    }
    let mut count = 0;
    walk(&stack.maildir(address), needle, &mut count);
    count
}

/// Waits until `count_in_mailbox` is `expected`, then a second more to see
/// that no extra copy arrives; panics otherwise.
pub fn expect_in_mailbox(stack: &MailStack, address: &str, needle: &str, expected: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while count_in_mailbox(stack, address, needle) < expected {
        assert!(Instant::now() < deadline, "{address} never got {expected} of {needle:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(count_in_mailbox(stack, address, needle), expected, "{needle:?} at {address}");
}

/// `mailpay account add ADDRESS` with the stack's servers (submission with
/// STARTTLS, IMAP over TLS) and its CA; the password goes on stdin.
pub fn account_add_args(stack: &MailStack, address: &str) -> Vec<String> {
    [
        "account",
        "add",
        address,
        "--smtp",
        &format!("localhost:{}", stack.submission_port),
        "--smtp-security",
        "starttls",
        "--imap",
        &format!("localhost:{}", stack.imaps_port),
        "--imap-security",
        "tls",
        "--ca-file",
        stack.ca_file.to_str().unwrap(),
    ]
    .map(str::to_string)
    .to_vec()
}

/// An orderer wallet, a bank agent and a merchant agent, configured.
pub struct World {
    pub dir: PathBuf,
    pub home: PathBuf,
    pub bank_toml: PathBuf,
    pub shop_toml: PathBuf,
    pub bank_password: PathBuf,
    pub shop_password: PathBuf,
}

impl World {
    /// Sets everything up (the orderer holds `balance` JPY); starts nothing.
    pub fn new(stack: &MailStack, name: &str, balance: u32) -> World {
        let world = World::agents(stack, name, balance);
        let add = account_add_args(stack, "orderer@buyer.test");
        let add: Vec<&str> = add.iter().map(String::as_str).collect();
        let out =
            run(MAILPAY, &world.home, &add, &format!("{}\n", stack.user("orderer@buyer.test").password));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        world
    }

    /// The bank and the merchant configured, with the orderer's account at
    /// the bank holding `balance` JPY; the orderer's wallet (`home`) is
    /// left to the caller; starts nothing.
    pub fn agents(stack: &MailStack, name: &str, balance: u32) -> World {
        let dir = temp_dir(name);
        let home = dir.join("orderer");
        let bank_toml = dir.join("bank.toml");
        std::fs::write(
            &bank_toml,
            format!(
                "data_dir = \"{}\"\nboard_grace_seconds = 2\n{}",
                dir.join("bank-data").display(),
                account_toml(stack, "bank@bank.test")
            ),
        )
        .unwrap();
        let shop_toml = dir.join("shop.toml");
        std::fs::write(
            &shop_toml,
            format!(
                "bank = \"bank@bank.test\"\ndata_dir = \"{}\"\nboard_listen = \"off\"\n{}",
                dir.join("shop-data").display(),
                account_toml(stack, "shop@shop.test")
            ),
        )
        .unwrap();
        let world = World {
            bank_password: password_file(stack, &dir, "bank@bank.test"),
            shop_password: password_file(stack, &dir, "shop@shop.test"),
            dir,
            home,
            bank_toml,
            shop_toml,
        };
        world.bank(&["open-account", "orderer@buyer.test", "--initials", "O.B."]);
        world.bank(&["open-account", "shop@shop.test"]);
        world.bank(&["set-balance", "orderer@buyer.test", &balance.to_string(), "JPY"]);
        world.bank(&["set-balance", "shop@shop.test", "0", "JPY"]);
        world
    }

    /// An admin command of the bank agent.
    pub fn bank(&self, args: &[&str]) -> String {
        let mut all = vec!["--config", self.bank_toml.to_str().unwrap()];
        all.extend_from_slice(args);
        ok(BANK, &self.dir, &all)
    }

    /// An admin command of the merchant agent.
    pub fn shop(&self, args: &[&str]) -> String {
        let mut all = vec!["--config", self.shop_toml.to_str().unwrap()];
        all.extend_from_slice(args);
        ok(MERCHANT, &self.dir, &all)
    }

    /// `mailpay ARGS` in the orderer's wallet, asserted to succeed.
    pub fn mailpay(&self, args: &[&str]) -> String {
        ok(MAILPAY, &self.home, args)
    }

    /// Starts the bank agent, its stderr to `log`; `halt` arms a fault hook.
    pub fn start_bank(&self, log: &Path, halt: Option<&str>) -> Agent {
        let args = ["--config", self.bank_toml.to_str().unwrap(), "run", "--password-file"];
        self.start(BANK, &args, &self.bank_password, log, halt)
    }

    /// Starts the merchant agent, its stderr to `log`.
    pub fn start_shop(&self, log: &Path) -> Agent {
        let args = ["--config", self.shop_toml.to_str().unwrap(), "run", "--password-file"];
        self.start(MERCHANT, &args, &self.shop_password, log, None)
    }

    /// Starts the bank and the merchant agent as a service manager would
    /// that caps their address space at `limit_kb` (`ulimit -v`), their
    /// stderr to `bank_log` and `shop_log`.
    pub fn start_agents_within(&self, limit_kb: u64, bank_log: &Path, shop_log: &Path) -> (Agent, Agent) {
        let bank = ["--config", self.bank_toml.to_str().unwrap(), "run", "--password-file"];
        let shop = ["--config", self.shop_toml.to_str().unwrap(), "run", "--password-file"];
        (
            self.start_within(BANK, &bank, &self.bank_password, bank_log, Some(limit_kb)),
            self.start_within(MERCHANT, &shop, &self.shop_password, shop_log, Some(limit_kb)),
        )
    }

    fn start(&self, program: &str, args: &[&str], password: &Path, log: &Path, halt: Option<&str>) -> Agent {
        let mut command = agent_command(program, &self.dir, args, password, log);
        if let Some(step) = halt {
            command.env("MAILPAY_FAULT_HALT", step);
        }
        Agent(command.spawn().unwrap())
    }

    fn start_within(
        &self,
        program: &str,
        args: &[&str],
        password: &Path,
        log: &Path,
        limit_kb: Option<u64>,
    ) -> Agent {
        let Some(limit_kb) = limit_kb else { return self.start(program, args, password, log, None) };
        let file = std::fs::File::create(log).unwrap();
        let mut all = vec!["-c", "ulimit -v \"$0\"; exec \"$@\""];
        let limit = limit_kb.to_string();
        all.push(&limit);
        all.push(program);
        all.extend_from_slice(args);
        let mut command = command("sh", &self.dir, &all);
        // glibc's per-thread arenas reserve address space, not memory.
        command.env("MALLOC_ARENA_MAX", "2");
        command.arg(password).stdout(file.try_clone().unwrap()).stderr(file);
        Agent(command.spawn().unwrap())
    }
}

/// `program ARGS PASSWORD_FILE` (the agent's `run --password-file`) in
/// `dir`, its output to `log`.
fn agent_command(program: &str, dir: &Path, args: &[&str], password: &Path, log: &Path) -> Command {
    let file = std::fs::File::create(log).unwrap();
    let mut command = command(program, dir, args);
    command.arg(password).stdout(file.try_clone().unwrap()).stderr(file);
    command
}

/// Starts an agent (`mailpay-bank` or `mailpay-merchant`) with the
/// configuration `toml` and the password in `password`, its output to `log`.
pub fn start_agent(program: &str, dir: &Path, toml: &Path, password: &Path, log: &Path) -> Agent {
    let args = ["--config", toml.to_str().unwrap(), "run", "--password-file"];
    Agent(agent_command(program, dir, &args, password, log).spawn().unwrap())
}

/// The Message-ID the wallet in `home` made for `order`'s mail of `kind`.
pub fn message_id(home: &Path, order: &str, kind: &str) -> String {
    let db = rusqlite::Connection::open(home.join("data/mailpay.sqlite3")).unwrap();
    db.query_row(
        "SELECT message_id FROM outbox WHERE replace(order_id, '-', '') = replace(?1, '-', '') AND kind = ?2",
        [order, kind],
        |r| r.get(0),
    )
    .unwrap()
}
