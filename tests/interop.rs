//! The interoperability kit (`tests/interop/README.md`): Fig. 1 (method
//! confirm), Fig. 2 (method cheque) and a merchant's refusal run end to end
//! over the real Postfix + Dovecot, with one role played by an outside
//! program and everything else by the reference implementation.
//!
//! * The merchant's role: `MAILPAY_INTEROP_MERCHANT="<command line>"`, by
//!   default the Python merchant `tests/interop/merchant.py`.
//! * The bank's role: `MAILPAY_INTEROP_BANK="<command line>"`, by default
//!   `tests/interop/reference-bank.sh`, which runs `mailpay-bank` from the
//!   same contract, so both sides of the contract are exercised.
//!
//! The program is told its account and servers in `MAILPAY_INTEROP_*`
//! variables and stopped with SIGTERM at the end; each step is waited for
//! by its own route (the wallet's inbox, the reference party's state, the
//! program's stdout) and printed with the time it took. A step that does
//! not happen in time fails the test with the program's stderr.
//!
//! Two more tests hold the Python merchant to the reference without mail:
//! `tests/vectors/values.json` recomputed with its functions
//! (`tests/interop/check_vectors.py`), and its block reader run over the
//! corpus and vector mails (`tests/interop/read_mails.py`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{accounts, mailstack, processes};

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailstack::MailStack;
use processes::{Agent, BANK, MAILPAY, MERCHANT, ok};

/// How long each step may take.
const STEP: Duration = Duration::from_secs(60);
/// The orderer's opening balance, in yen.
const OPENING: u64 = 100_000;
/// The one article the merchant sells, in every run.
const TEA: &str = "Green tea 100g";

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Debian's Python, which the mail stack's installation brings.
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" }
}

fn canonical(order: &str) -> String {
    order.replace('-', "").to_uppercase()
}

/// An outside program playing one role, started with the contract's
/// environment in its own process group, its stdout read line by line.
struct External {
    role: &'static str,
    command_line: String,
    child: Arc<Mutex<Child>>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr_log: PathBuf,
}

impl External {
    fn start(role: &'static str, command_line: &str, env: &[(String, String)], dir: &Path) -> External {
        let stderr_log = dir.join(format!("{role}.stderr"));
        let stderr = std::fs::File::create(&stderr_log).unwrap();
        let mut command = Command::new("sh");
        command
            .args(["-c", command_line])
            .current_dir(repository())
            .env_remove("MAILPAY_INTEROP_MERCHANT")
            .env_remove("MAILPAY_INTEROP_BANK")
            .envs(env.iter().map(|(k, v)| (k, v)))
            // Not part of the contract: where reference-bank.sh finds the bank.
            .env("MAILPAY_BANK_BIN", BANK)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .process_group(0);
        let mut child =
            command.spawn().unwrap_or_else(|e| panic!("cannot start the {role} {command_line:?}: {e}"));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let pipe = child.stdout.take().unwrap();
        let lines = Arc::clone(&stdout);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        println!("[{role}] started: {command_line}");
        External {
            role,
            command_line: command_line.to_string(),
            child: Arc::new(Mutex::new(child)),
            stdout,
            stderr_log,
        }
    }

    /// Whether the program printed a line that `matches`.
    fn printed(&self, matches: impl Fn(&str) -> bool) -> bool {
        self.stdout.lock().unwrap().iter().any(|l| matches(l.trim()))
    }

    /// `Some(status)` once the program has ended.
    fn exited(&self) -> Option<std::process::ExitStatus> {
        self.child.lock().unwrap().try_wait().unwrap()
    }

    fn report(&self) -> String {
        let stderr = std::fs::read_to_string(&self.stderr_log).unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        let stdout = self.stdout.lock().unwrap().join("\n");
        format!(
            "the {} `{}`:\n--- stdout ---\n{stdout}\n--- stderr (last {} lines) ---\n{}",
            self.role,
            self.command_line,
            tail.len(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }

    /// Sends `signal` to the program's process group; whether any
    /// process of the group was there to take it.
    fn signal(&self, signal: &str) -> bool {
        let group = format!("-{}", self.child.lock().unwrap().id());
        Command::new("kill")
            .args([signal, "--", &group])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// SIGTERM to the program's process group; its status once it and
    /// every process of its group ended.
    fn stop(&self) -> Option<std::process::ExitStatus> {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.exited()
                && !self.signal("-0")
            {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for External {
    fn drop(&mut self) {
        self.signal("-KILL");
        let _ = self.child.lock().unwrap().wait();
    }
}

/// The contract's environment for `address` on `stack` (README.md here).
fn contract_env(stack: &MailStack, role: &str, address: &str, state: &Path) -> Vec<(String, String)> {
    std::fs::create_dir_all(state).unwrap();
    [
        ("ROLE", role.to_string()),
        ("ADDRESS", address.to_string()),
        ("USER", address.to_string()),
        ("PASSWORD", stack.user(address).password.clone()),
        ("IMAP_HOST", "localhost".into()),
        ("IMAP_PORT", stack.imaps_port.to_string()),
        ("IMAP_SECURITY", "tls".into()),
        ("SMTP_HOST", "localhost".into()),
        ("SMTP_PORT", stack.submission_port.to_string()),
        ("SMTP_SECURITY", "starttls".into()),
        ("CA_FILE", stack.ca_file.display().to_string()),
        ("STATE_DIR", state.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("MAILPAY_INTEROP_{k}"), v))
    .collect()
}

/// The orderer's `mailpay` command line, its transcript of `watch --once`.
struct Wallet {
    home: PathBuf,
    seen: String,
}

impl Wallet {
    fn new(stack: &MailStack, dir: &Path, address: &str) -> Wallet {
        let home = dir.join("wallet");
        let add = processes::account_add_args(stack, address);
        let add: Vec<&str> = add.iter().map(String::as_str).collect();
        let out = processes::run(MAILPAY, &home, &add, &format!("{}\n", stack.user(address).password));
        assert!(out.status.success(), "account add: {}", String::from_utf8_lossy(&out.stderr));
        Wallet { home, seen: String::new() }
    }

    fn run(&self, args: &[&str]) -> String {
        ok(MAILPAY, &self.home, args)
    }

    /// Reads the inbox once; whether a line so far names `order` and says `needle`.
    fn shows(&mut self, order: &str, needle: &str) -> bool {
        let out = self.run(&["watch", "--once"]);
        self.seen.push_str(&out);
        self.has_shown(order, needle)
    }

    fn has_shown(&self, order: &str, needle: &str) -> bool {
        self.seen.lines().any(|l| l.contains(order) && l.contains(needle))
    }

    /// Places an order; its id (printed form).
    fn order(&self, merchant: &str, bank: &str, amount: &str, item: &str, method: &str) -> String {
        let placed = self.run(&[
            "order",
            "--merchant",
            merchant,
            "--bank",
            bank,
            "--amount",
            amount,
            "--item",
            item,
            "--method",
            method,
        ]);
        processes::order_id(&placed)
    }
}

/// The reference bank as a process, from a configuration of its own.
struct ReferenceBank {
    dir: PathBuf,
    toml: PathBuf,
    log: PathBuf,
    _agent: Agent,
}

impl ReferenceBank {
    fn start(
        stack: &MailStack,
        dir: &Path,
        address: &str,
        accounts: &[(&str, Option<&str>)],
    ) -> ReferenceBank {
        let toml = dir.join("bank.toml");
        let config = format!(
            "data_dir = \"{}\"\n{}",
            dir.join("bank-data").display(),
            processes::account_toml(stack, address)
        );
        std::fs::write(&toml, config).unwrap();
        let log = dir.join("bank.log");
        let password = processes::password_file(stack, dir, address);
        let bank = |args: &[&str]| {
            let mut all = vec!["--config", toml.to_str().unwrap()];
            all.extend_from_slice(args);
            ok(BANK, dir, &all)
        };
        for (account, wallet_key) in accounts {
            let mut args = vec!["open-account", account, "--initials", "O.B."];
            if let Some(key) = wallet_key {
                args.extend(["--wallet-key", key]);
            }
            bank(&args);
            let balance = if wallet_key.is_some() { OPENING.to_string() } else { "0".to_string() };
            bank(&["set-balance", account, &balance, "JPY"]);
        }
        let agent = processes::start_agent(BANK, dir, &toml, &password, &log);
        ReferenceBank { dir: dir.to_path_buf(), toml, log, _agent: agent }
    }

    fn admin(&self, args: &[&str]) -> String {
        let mut all = vec!["--config", self.toml.to_str().unwrap()];
        all.extend_from_slice(args);
        ok(BANK, &self.dir, &all)
    }

    fn balance(&self, address: &str) -> u64 {
        let shown = self.admin(&["balance", address, "JPY"]);
        shown.trim().trim_end_matches(" JPY").parse().unwrap_or_else(|e| panic!("balance {shown:?}: {e}"))
    }

    /// The bank's record of `order` (`payments --json`).
    fn payment(&self, order: &str) -> Option<serde_json::Value> {
        let payments: serde_json::Value = serde_json::from_str(&self.admin(&["payments", "--json"])).unwrap();
        payments.as_array()?.iter().find(|p| p["order"] == canonical(order).as_str()).cloned()
    }
}

/// The reference merchant as a process, selling what `catalogue` lists.
struct ReferenceShop {
    dir: PathBuf,
    toml: PathBuf,
    log: PathBuf,
    _agent: Agent,
}

impl ReferenceShop {
    fn start(stack: &MailStack, dir: &Path, address: &str, bank: &str) -> ReferenceShop {
        let catalogue = dir.join("catalogue.toml");
        std::fs::write(&catalogue, format!("[[article]]\ndescription = \"{TEA}\"\nprice = \"600 JPY\"\n"))
            .unwrap();
        let toml = dir.join("shop.toml");
        let config = format!(
            "bank = \"{bank}\"\ndata_dir = \"{}\"\ncatalogue = \"{}\"\nboard_listen = \"off\"\nretry_seconds = 5\n{}",
            dir.join("shop-data").display(),
            catalogue.display(),
            processes::account_toml(stack, address)
        );
        std::fs::write(&toml, config).unwrap();
        let log = dir.join("shop.log");
        let password = processes::password_file(stack, dir, address);
        let agent = processes::start_agent(MERCHANT, dir, &toml, &password, &log);
        ReferenceShop { dir: dir.to_path_buf(), toml, log, _agent: agent }
    }

    /// Whether `mailpay-merchant orders` lists `order` as `state`.
    fn lists(&self, order: &str, state: &str) -> bool {
        let orders = ok(MERCHANT, &self.dir, &["--config", self.toml.to_str().unwrap(), "orders"]);
        orders.lines().any(|l| l.starts_with(&canonical(order)) && l.contains(state))
    }
}

/// The parties of one run: one outside program, the other role reference.
struct Parties<'a> {
    stack: &'a MailStack,
    orderer: &'a str,
    merchant: &'a str,
    bank: &'a str,
    external: &'a External,
    reference_bank: Option<&'a ReferenceBank>,
    reference_shop: Option<&'a ReferenceShop>,
}

impl Parties<'_> {
    /// Whether the bank holds the merchant's `kind` mail (bill or rejected)
    /// for `order`: in the reference bank's trail, or, for an outside bank,
    /// in its mailbox (the reference merchant's Message-ID names kind and order).
    fn bank_has(&self, order: &str, kind: &str) -> bool {
        match self.reference_bank {
            Some(bank) => {
                // Before the bank has taken a mail of the order, `trail` fails.
                let args = ["--config", bank.toml.to_str().unwrap(), "trail", order];
                let out = processes::run(BANK, &bank.dir, &args, "");
                String::from_utf8_lossy(&out.stdout).contains(&format!("<- {kind}"))
            }
            None => {
                processes::count_in_mailbox(self.stack, self.bank, &format!("<{kind}.{}.", canonical(order)))
                    > 0
            }
        }
    }

    /// Whether the merchant shipped `order`: the outside merchant printed
    /// `shipped ORDER`, or the reference merchant lists it shipped.
    fn shipped(&self, order: &str) -> bool {
        match self.reference_shop {
            Some(shop) => shop.lists(order, "shipped"),
            None => self.external.printed(|l| {
                l.strip_prefix("shipped ").is_some_and(|o| canonical(o.trim()) == canonical(order))
            }),
        }
    }

    /// Whether the merchant cancelled `order`: the outside merchant printed
    /// `cancelled ORDER REASON`, or the reference merchant lists it cancelled.
    fn cancelled(&self, order: &str, reason: &str) -> bool {
        match self.reference_shop {
            Some(shop) => shop.lists(order, "cancelled"),
            None => self.external.printed(|l| {
                let mut words = l.split_whitespace();
                words.next() == Some("cancelled")
                    && words.next().is_some_and(|o| canonical(o) == canonical(order))
                    && words.next() == Some(reason)
            }),
        }
    }

    fn logs(&self) -> String {
        let mut text = self.external.report();
        let reference = [self.reference_bank.map(|b| &b.log), self.reference_shop.map(|s| &s.log)];
        for log in reference.into_iter().flatten() {
            let all = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = all.lines().rev().take(20).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            text.push_str(&format!("\n--- {} (last lines) ---\n{}", log.display(), tail.join("\n")));
        }
        text
    }
}

/// Numbered steps of one figure, each waited for within [`STEP`].
struct Steps<'a> {
    label: String,
    total: usize,
    done: usize,
    parties: &'a Parties<'a>,
}

impl<'a> Steps<'a> {
    fn new(figure: &str, total: usize, parties: &'a Parties<'a>) -> Steps<'a> {
        let label = format!("{} {figure}", parties.external.role);
        Steps { label, total, done: 0, parties }
    }

    /// Polls `happened` until it is true; prints the step and its time, or
    /// fails with the outside program's output.
    fn wait(&mut self, what: &str, mut happened: impl FnMut() -> bool) {
        self.done += 1;
        let started = Instant::now();
        loop {
            if happened() {
                let took = started.elapsed().as_secs_f64();
                println!("[{}] {}/{} {what} ({took:.2} s)", self.label, self.done, self.total);
                return;
            }
            let ended = self.parties.external.exited();
            if ended.is_some() || started.elapsed() > STEP {
                let why = match ended {
                    Some(status) => format!("the {} ended ({status})", self.parties.external.role),
                    None => format!("not within {} s", STEP.as_secs()),
                };
                panic!(
                    "[{}] step {}/{} did not happen: {what} ({why})\n{}",
                    self.label,
                    self.done,
                    self.total,
                    self.parties.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A step that is one action (it happened when it returned).
    fn did(&mut self, what: &str, started: Instant) {
        self.done += 1;
        let took = started.elapsed().as_secs_f64();
        println!("[{}] {}/{} {what} ({took:.2} s)", self.label, self.done, self.total);
    }
}

/// The orderer's and the merchant's balances at the reference bank, when
/// the bank is the reference one.
struct Balances(Option<(u64, u64)>);

impl Balances {
    fn now(parties: &Parties) -> Balances {
        Balances(parties.reference_bank.map(|b| (b.balance(parties.orderer), b.balance(parties.merchant))))
    }

    /// `order` settled, and exactly `amount` moved from the orderer to the
    /// merchant since `self` was taken.
    fn paid_once(&self, parties: &Parties, order: &str, amount: u64) {
        let (Some(bank), Some((payer, payee))) = (parties.reference_bank, self.0) else { return };
        assert_eq!(bank.payment(order).unwrap()["status"], "settled");
        assert_eq!(bank.balance(parties.orderer), payer - amount, "the orderer paid once");
        assert_eq!(bank.balance(parties.merchant), payee + amount, "the merchant was paid once");
    }
}

/// Fig. 1: order and payment request, bill, confirmation, OK, settled.
fn fig1(parties: &Parties, wallet: &mut Wallet) {
    let before = Balances::now(parties);
    let mut steps = Steps::new("fig1", 6, parties);
    let started = Instant::now();
    let order =
        wallet.order(parties.merchant, parties.bank, "1200 JPY", &format!("2 x {TEA} @ 600 JPY"), "confirm");
    steps.did(&format!("the wallet sent order {order} and its payment request"), started);
    steps.wait("the bank has the bill", || parties.bank_has(&order, "bill"));
    steps.wait("the wallet has the confirmation", || wallet.shows(&order, "awaiting-confirmation"));
    let approving = Instant::now();
    let approved = wallet.run(&["approve", &order]);
    assert!(approved.contains(&format!("1200 JPY to {}", parties.merchant)), "{approved}");
    steps.did("the wallet sent its OK", approving);
    steps.wait("the wallet has the settled notice", || wallet.shows(&order, "-> settled"));
    steps.wait("the merchant shipped", || parties.shipped(&order));
    println!("[{}] settled and shipped in {:.2} s", steps.label, started.elapsed().as_secs_f64());
    before.paid_once(parties, &order, 1200);
}

/// Fig. 2: order, payment request and wallet cheque; bill; settled, with
/// no confirmation.
fn fig2(parties: &Parties, wallet: &mut Wallet) {
    let before = Balances::now(parties);
    let mut steps = Steps::new("fig2", 4, parties);
    let started = Instant::now();
    // One unpriced line: the merchant bills its own price.
    let order = wallet.order(parties.merchant, parties.bank, "600 JPY", TEA, "cheque");
    steps.did(&format!("the wallet sent order {order}, its payment request and its cheque"), started);
    steps.wait("the bank has the bill", || parties.bank_has(&order, "bill"));
    steps.wait("the wallet has the settled notice", || wallet.shows(&order, "-> settled"));
    steps.wait("the merchant shipped", || parties.shipped(&order));
    println!("[{}] settled and shipped in {:.2} s", steps.label, started.elapsed().as_secs_f64());
    assert!(
        !wallet.has_shown(&order, "awaiting-confirmation"),
        "no confirmation in Fig. 2:\n{}",
        wallet.seen
    );
    before.paid_once(parties, &order, 600);
}

/// Fig. 1 declined by the orderer: the bank ends the order `declined` and
/// tells the merchant, who cancels it.
fn declined(parties: &Parties, wallet: &mut Wallet) {
    let mut steps = Steps::new("decline", 5, parties);
    let started = Instant::now();
    let order =
        wallet.order(parties.merchant, parties.bank, "600 JPY", &format!("1 x {TEA} @ 600 JPY"), "confirm");
    steps.did(&format!("the wallet sent order {order} and its payment request"), started);
    steps.wait("the bank has the bill", || parties.bank_has(&order, "bill"));
    steps.wait("the wallet has the confirmation", || wallet.shows(&order, "awaiting-confirmation"));
    let declining = Instant::now();
    wallet.run(&["decline", &order]);
    steps.did("the wallet sent its NO", declining);
    steps.wait("the merchant cancelled the order", || parties.cancelled(&order, "declined"));
    if let Some(bank) = parties.reference_bank {
        assert_eq!(bank.payment(&order).unwrap()["status"], "declined");
    }
    assert!(!parties.shipped(&order), "a declined order is not shipped");
}

/// An item the merchant does not sell: the merchant refuses the order to
/// the bank, which ends it `merchant-refused` and tells the orderer.
fn refusal(parties: &Parties, wallet: &mut Wallet) {
    let mut steps = Steps::new("refusal", 3, parties);
    let started = Instant::now();
    let order = wallet.order(parties.merchant, parties.bank, "900 JPY", "3 x Sencha @ 300 JPY", "confirm");
    steps.did(&format!("the wallet sent order {order} for an item the merchant does not sell"), started);
    steps.wait("the bank has the merchant's refusal", || parties.bank_has(&order, "rejected"));
    steps.wait("the wallet has the rejection, merchant-refused", || wallet.shows(&order, "-> rejected"));
    let rejection =
        wallet.seen.lines().find(|l| l.contains(order.as_str()) && l.contains("-> rejected")).unwrap();
    let reason = rejection.to_lowercase().replace('-', "");
    assert!(reason.contains("merchantrefused"), "the wallet's reason: {rejection}");
    if let Some(bank) = parties.reference_bank {
        let payment = bank.payment(&order).unwrap();
        assert_eq!(payment["reason"], "merchant-refused", "{payment}");
        assert!(!payment["detail"].as_str().unwrap_or_default().is_empty(), "the merchant's why: {payment}");
    }
    assert!(!parties.shipped(&order), "a refused order is not shipped");
}

/// Runs the test body under `keyctl session -` (the wallet keeps its mail
/// password in the kernel keyring), passing its output on line by line so
/// that each step shows as it happens. True inside, false in the outer run
/// (which has then asserted that the inner one passed).
fn in_session_keyring(test: &str) -> bool {
    const INSIDE: &str = "MAILPAY_TEST_IN_SESSION_KEYRING";
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let mut child = Command::new("keyctl")
        .args(["session", "-"])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(INSIDE, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("keyctl (Debian package keyutils) is needed to run this test: {e}"));
    let stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let mut text = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok) {
        println!("{line}");
        text.push_str(&line);
        text.push('\n');
    }
    let status = child.wait().unwrap();
    let errors = errors.join().unwrap();
    assert!(status.success() && text.contains("1 passed"), "{test} in a session keyring:\n{text}{errors}");
    false
}

/// Submits `bytes` as they are, logged in as `login` (the envelope
/// sender); the headers, From included, are whatever `bytes` say.
fn submit(stack: &MailStack, login: &str, to: &str, bytes: Vec<u8>) {
    use mailpay::mail::smtp::Smtp;
    use mailpay::protocol::compose::Outgoing;
    use mailpay::protocol::{Kind, OrderId};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let smtp = Smtp::new(&accounts::account(stack, login), &stack.user(login).password).unwrap();
    let mail = Outgoing {
        kind: Kind::Order,
        order: OrderId::generate(&mut rand::rng()),
        message_id: String::new(),
        from: login.parse().unwrap(),
        to: to.parse().unwrap(),
        bytes,
    };
    runtime.block_on(smtp.send(&mail)).unwrap_or_else(|e| panic!("submitting as {login} to {to}: {e}"));
}

/// Mails a merchant must not answer (PROTOCOL.md 4, 5.1, 5.9): an order
/// whose From is not its Orderer (an order id squatted), an order whose
/// block was changed after its Check was written, and an order for
/// another merchant. Returns their order ids.
fn send_unusable_orders(parties: &Parties, wallet: &Wallet, dir: &Path) -> Vec<String> {
    let started = Instant::now();
    let compose = |name: &str, merchant: &str| -> (String, String) {
        let out = dir.join(name);
        let printed = wallet.run(&[
            "compose",
            "order",
            "--from",
            parties.orderer,
            "--merchant",
            merchant,
            "--bank",
            parties.bank,
            "--amount",
            "1200",
            "--currency",
            "JPY",
            "--item",
            &format!("2 x {TEA} @ 600 JPY"),
            "--out",
            out.to_str().unwrap(),
        ]);
        let order = processes::order_id(&printed);
        let file = out.join(format!("order-{}.eml", canonical(&order)));
        (order, std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())))
    };
    let squatter = "orderer2@buyer.test";
    let (squatted, mail) = compose("squatted", parties.merchant);
    let forged = mail.replace(&format!("From: <{}>", parties.orderer), &format!("From: <{squatter}>"));
    assert_ne!(forged, mail, "the From line is replaced");
    submit(parties.stack, squatter, parties.merchant, forged.into_bytes());
    let (altered, mail) = compose("altered", parties.merchant);
    let changed = mail.replace("Amount: 1200 JPY", "Amount: 1100 JPY");
    assert_ne!(changed, mail, "the amount is changed");
    submit(parties.stack, parties.orderer, parties.merchant, changed.into_bytes());
    let (elsewhere, mail) = compose("elsewhere", "shop2@shop2.test");
    submit(parties.stack, parties.orderer, parties.merchant, mail.into_bytes());
    let mut steps = Steps::new("unusable", 2, parties);
    steps.did(
        &format!(
            "sent a squatted order {squatted}, an altered {altered} and one for another shop {elsewhere}"
        ),
        started,
    );
    vec![squatted, altered, elsewhere]
}

/// After every later order was answered: the merchant answered none of
/// the unusable orders, to the bank or to anyone else.
fn none_answered(parties: &Parties, unusable: &[String]) {
    for order in unusable {
        let needle = canonical(order);
        for mailbox in [parties.bank, parties.orderer, "orderer2@buyer.test"] {
            let mails = processes::count_in_mailbox(parties.stack, mailbox, &needle);
            assert_eq!(mails, 0, "{mailbox} has a mail about the unusable order {order}\n{}", parties.logs());
        }
        assert!(
            !parties.external.printed(|l| canonical(l).contains(&needle)),
            "the merchant acted on the unusable order {order}\n{}",
            parties.logs()
        );
    }
    println!("[{} unusable] 2/2 none of them was answered", parties.external.role);
}

fn stop(external: &External) {
    let status = external.stop();
    assert!(
        status.is_some(),
        "the {} did not end within 10 s of SIGTERM\n{}",
        external.role,
        external.report()
    );
    println!("[{}] stopped with SIGTERM ({})", external.role, status.unwrap());
}

#[test]
fn an_outside_merchant_is_paid_by_fig_1_and_fig_2_and_refuses_what_it_does_not_sell() {
    if !in_session_keyring("an_outside_merchant_is_paid_by_fig_1_and_fig_2_and_refuses_what_it_does_not_sell")
    {
        return;
    }
    let stack = mailstack::shared();
    let (orderer, merchant, bank) = ("orderer@buyer.test", "shop@shop.test", "bank@bank.test");
    let dir = processes::temp_dir("interop-merchant");
    let mut wallet = Wallet::new(stack, &dir, orderer);
    let wallet_key = wallet.run(&["wallet-key"]).trim().to_string();
    let reference_bank =
        ReferenceBank::start(stack, &dir, bank, &[(orderer, Some(&wallet_key)), (merchant, None)]);
    let recipient = reference_bank.admin(&["recipient"]).trim().to_string();
    wallet.run(&["bank-key", "set", bank, &recipient]);

    let catalogue = dir.join("catalogue.json");
    std::fs::write(&catalogue, serde_json::json!([{"description": TEA, "price": "600 JPY"}]).to_string())
        .unwrap();
    let mut env = contract_env(stack, "merchant", merchant, &dir.join("merchant-state"));
    env.push(("MAILPAY_INTEROP_BANK_ADDRESS".into(), bank.into()));
    env.push(("MAILPAY_INTEROP_CATALOGUE".into(), catalogue.display().to_string()));
    let command_line = std::env::var("MAILPAY_INTEROP_MERCHANT")
        .unwrap_or_else(|_| format!("{} tests/interop/merchant.py", python()));
    let external = External::start("merchant", &command_line, &env, &dir);
    let parties = Parties {
        stack,
        orderer,
        merchant,
        bank,
        external: &external,
        reference_bank: Some(&reference_bank),
        reference_shop: None,
    };
    let unusable = send_unusable_orders(&parties, &wallet, &dir);
    fig1(&parties, &mut wallet);
    fig2(&parties, &mut wallet);
    declined(&parties, &mut wallet);
    refusal(&parties, &mut wallet);
    none_answered(&parties, &unusable);
    stop(&external);
}

#[test]
fn an_outside_bank_settles_fig_1_and_fig_2_and_passes_on_a_refusal() {
    if !in_session_keyring("an_outside_bank_settles_fig_1_and_fig_2_and_passes_on_a_refusal") {
        return;
    }
    let stack = mailstack::shared();
    let (orderer, merchant, bank) = ("orderer2@buyer.test", "shop2@shop2.test", "bank2@bank2.test");
    let dir = processes::temp_dir("interop-bank");
    let mut wallet = Wallet::new(stack, &dir, orderer);
    let wallet_key = wallet.run(&["wallet-key"]).trim().to_string();
    let reference_shop = ReferenceShop::start(stack, &dir, merchant, bank);

    let accounts = dir.join("accounts.json");
    let listed = serde_json::json!([
        {"address": orderer, "balance": format!("{OPENING} JPY"), "wallet_key": wallet_key, "initials": "O.B."},
        {"address": merchant, "balance": "0 JPY", "wallet_key": null, "initials": null},
    ]);
    std::fs::write(&accounts, listed.to_string()).unwrap();
    let recipient_file = dir.join("bank.age-recipient");
    let mut env = contract_env(stack, "bank", bank, &dir.join("bank-state"));
    env.push(("MAILPAY_INTEROP_ACCOUNTS".into(), accounts.display().to_string()));
    env.push(("MAILPAY_INTEROP_AGE_RECIPIENT".into(), recipient_file.display().to_string()));
    let command_line = std::env::var("MAILPAY_INTEROP_BANK")
        .unwrap_or_else(|_| "bash tests/interop/reference-bank.sh".to_string());
    let external = External::start("bank", &command_line, &env, &dir);
    let parties = Parties {
        stack,
        orderer,
        merchant,
        bank,
        external: &external,
        reference_bank: None,
        reference_shop: Some(&reference_shop),
    };
    let mut steps = Steps::new("start", 1, &parties);
    let mut recipient = String::new();
    steps.wait("the bank published its age recipient", || {
        recipient = std::fs::read_to_string(&recipient_file).unwrap_or_default().trim().to_string();
        recipient.starts_with("age1")
    });
    wallet.run(&["bank-key", "set", bank, &recipient]);
    fig1(&parties, &mut wallet);
    fig2(&parties, &mut wallet);
    declined(&parties, &mut wallet);
    refusal(&parties, &mut wallet);
    stop(&external);
}

#[test]
fn the_python_merchant_agrees_with_the_test_vectors() {
    let values = repository().join("tests/vectors/values.json");
    assert!(
        values.is_file(),
        "{} is missing: the vectors are checked by a second implementation",
        values.display()
    );
    let out = Command::new(python())
        .arg(repository().join("tests/interop/check_vectors.py"))
        .arg(&values)
        .output()
        .unwrap_or_else(|e| panic!("{} runs: {e}", python()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "check_vectors.py: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" vectors agree, 0 differ"), "{stdout}");
    assert!(!stdout.contains("MISMATCH"), "{stdout}");
}

/// Where the reference's `inspect --json` says a block stood, in
/// `read_mails.py`'s words.
fn position(origin: &str) -> String {
    match origin {
        "own text" => "own".into(),
        "attached message" => "attached".into(),
        quoted if quoted.starts_with("quoted") => "quoted".into(),
        other => other.into(),
    }
}

#[test]
fn the_python_reader_finds_the_blocks_the_reference_finds() {
    let mut mails = Vec::new();
    for dir in ["tests/fixtures/corpus/accept", "tests/fixtures/corpus/refuse", "tests/vectors/mails"] {
        let entries = std::fs::read_dir(repository().join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
        mails
            .extend(entries.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "eml")));
    }
    mails.sort();
    let out = Command::new(python())
        .arg(repository().join("tests/interop/read_mails.py"))
        .args(&mails)
        .output()
        .unwrap_or_else(|e| panic!("{} runs: {e}", python()));
    assert!(out.status.success(), "read_mails.py: {}", String::from_utf8_lossy(&out.stderr));
    let python_read: Vec<serde_json::Value> = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(python_read.len(), mails.len(), "one line per mail");
    let home = processes::temp_dir("interop-read");
    let (mut compared, mut differ) = (0, Vec::new());
    for (mail, python_read) in mails.iter().zip(&python_read) {
        let inspected = processes::run(MAILPAY, &home, &["inspect", "--json", mail.to_str().unwrap()], "");
        if !inspected.status.success() {
            // Refused by the reference: mostly for what the blocks say, which
            // is not the reader's business.
            continue;
        }
        let reference: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
        let want: std::collections::BTreeSet<(String, String)> = reference["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["block"].as_str().unwrap().to_string(), position(b["origin"].as_str().unwrap())))
            .collect();
        let got: Option<std::collections::BTreeSet<(String, String)>> =
            python_read["blocks"].as_array().map(|blocks| {
                blocks
                    .iter()
                    .map(|b| (b[0].as_str().unwrap().to_string(), b[1].as_str().unwrap().to_string()))
                    .collect()
            });
        compared += 1;
        if got.as_ref() != Some(&want) {
            differ
                .push(format!("{}: the reference reads {want:?}, merchant.py {python_read}", mail.display()));
        }
    }
    println!("{compared} mails read alike by the reference and merchant.py");
    assert!(compared >= 20, "only {compared} mails compared");
    assert!(differ.is_empty(), "the readers differ:\n{}", differ.join("\n"));
}
