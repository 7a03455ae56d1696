//! The whole system against the real mail stack on loopback:
//! `cargo bench --bench settlement` (as root: it starts Postfix + Dovecot).
//!
//! 1. Confirmation latency: the bank's confirmation accepted by Postfix
//!    (sent here as the bank, timed from the end of the SMTP dialogue) to
//!    the orderer's wallet state changing, its watcher feeding
//!    `wallet::receive`: with IMAP IDLE and the eager window the wallet
//!    opens when it pays (MailPay as shipped, see `mail::expecting`), with
//!    IDLE alone, polling every 60 s (mails at random phase), and polling
//!    every 100 ms (a NOOP each time).
//! 2. One mail hop: submission of a mail to its recipient's watcher
//!    handing it over, with an eager window open and with IDLE alone. The
//!    floor of a figure is its hops on the critical path times the eager
//!    hop's median.
//! 3. Full settlement, Figs. 1 (pre-approved) to 4: "Pay" to the orderer's
//!    wallet showing "settled", through its IDLE watcher, with the bank and
//!    merchant agents running in this process.
//! 4. Bank throughput: 200 orders in flight from two orderers,
//!    orders of Figs. 1 (pre-approved) and 2 mixed (the merchant's board
//!    takes at most 30 posts a minute from one address); settlements per
//!    second at the bank. With
//!    `MAILPAY_BENCH_PERF=1` and `perf` installed, the machine is sampled
//!    during this phase and the CPU time is split by process and, for the
//!    agents' threads, by what they were doing.
//!
//! Medians and p99 over repeated rounds; one table at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

#[path = "../tests/support/mod.rs"]
mod support;

use support::{accounts, agents};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use agents::{ORDERER, ORDERER2, Orderer, World};
use mailpay::mail::expecting::{ANSWER_WINDOW, Expecting};
use mailpay::mail::imap::{self, Received, Resume, WatchConfig, WatchEvent};
use mailpay::mail::smtp::Smtp;
use mailpay::protocol::board::BoardRecord;
use mailpay::protocol::compose::{self, Thread};
use mailpay::protocol::confirmation::ConfirmationCode;
use mailpay::protocol::message::Confirm;
use mailpay::protocol::{Method, OrderId, OrderTerms};
use mailpay::store::Store;
use mailpay::wallet::{self, MailServers, Receipt, Wallet};

const IDLE_ROUNDS: usize = 30;
const FAST_POLL_ROUNDS: usize = 20;
const SLOW_POLL_MAILS: usize = 3;
const FIGURE_ROUNDS: usize = 6;
const IN_FLIGHT: usize = 200;
/// A bank and a merchant with no agent: the confirmation-latency rounds
/// play the bank themselves.
const BANK2: &str = "bank2@bank2.test";
const SHOP2: &str = "shop2@shop2.test";

struct Stats {
    median: Duration,
    p99: Duration,
    n: usize,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    assert!(!samples.is_empty());
    samples.sort();
    let at = |p: f64| samples[(((samples.len() - 1) as f64) * p).round() as usize];
    Stats { median: at(0.5), p99: at(0.99), n: samples.len() }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// What an orderer's watcher saw: a state change of `order` at `at`.
struct Seen {
    at: Instant,
    order: String,
    to: &'static str,
}

/// An orderer's inbox watcher on a thread of its own, feeding
/// `wallet::receive` on its own connection to the wallet's database, as the
/// desktop wallet does; an automatic OK (pre-approval) is sent at once
/// from another thread.
struct WalletWatch {
    seen: mpsc::Receiver<Seen>,
    /// Reports taken off the channel while waiting for another one.
    backlog: std::cell::RefCell<Vec<Seen>>,
    /// The watcher's window for eager looks, opened as the wallet does
    /// when it sends.
    expecting: Expecting,
    /// The wallet's servers, sharing that window: what it pays through.
    servers: MailServers,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WalletWatch {
    fn start(world: &World, address: &str, store_path: &Path, mut config: WatchConfig) -> WalletWatch {
        let (seen_tx, seen) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (send_tx, send_rx) = mpsc::channel::<OrderId>();
        // The wallet sends as it does everywhere (Wallet::dispatch), and
        // its servers open the watcher's window for eager looks.
        let servers = orderer_servers(world, address);
        config.expecting = servers.expecting().clone();
        let sender = accounts::wallet_over(store_path);
        let sending = servers.clone();
        std::thread::Builder::new()
            .name("wallet-send".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                while let Ok(order) = send_rx.recv() {
                    let sent = runtime.block_on(sender.dispatch(&sending, &order)).unwrap();
                    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
                }
            })
            .unwrap();
        let store = Store::open(store_path).unwrap();
        let expecting = config.expecting.clone();
        let thread = std::thread::Builder::new()
            .name("wallet-watch".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                let mut resume = Resume::default();
                runtime.block_on(async move {
                    let watching = imap::watch(&config, &mut resume, move |event| {
                        let seen = match event {
                            WatchEvent::Idle { .. } => {
                                Seen { at: Instant::now(), order: String::new(), to: "idle" }
                            }
                            WatchEvent::Mail { raw, received: received @ Received::MailPay(_), .. } => {
                                // The wallet's one way in, as every front end takes mail.
                                let receipt = wallet::take(&store, &raw, received).unwrap();
                                let at = Instant::now();
                                let answer = receipt.queued_answer();
                                let Receipt::Stepped { order, to, .. } = receipt else { return true };
                                if answer {
                                    send_tx.send(order.clone()).unwrap();
                                }
                                Seen { at, order: order.as_str().to_string(), to: to.name() }
                            }
                            _ => return true,
                        };
                        seen_tx.send(seen).is_ok()
                    });
                    tokio::select! {
                        error = watching => panic!("the wallet's watcher stopped: {error}"),
                        _ = stopped => {}
                    }
                });
            })
            .unwrap();
        let watch = WalletWatch {
            seen,
            backlog: std::cell::RefCell::new(Vec::new()),
            expecting,
            servers,
            stop: Some(stop),
            thread: Some(thread),
        };
        watch.wait(|s| s.to == "idle", Duration::from_secs(30));
        watch
    }

    /// The first report `want` accepts; others are kept for later waits.
    fn wait(&self, want: impl Fn(&Seen) -> bool, timeout: Duration) -> Seen {
        {
            let mut backlog = self.backlog.borrow_mut();
            if let Some(i) = backlog.iter().position(&want) {
                return backlog.remove(i);
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.seen.recv_timeout(left) {
                Ok(seen) if want(&seen) => return seen,
                Ok(seen) if seen.to != "idle" => self.backlog.borrow_mut().push(seen),
                Ok(_) => {}
                Err(e) => panic!("the wallet's watcher reported nothing wanted within {timeout:?}: {e}"),
            }
        }
    }

    fn wait_state(&self, order: &OrderId, to: &str, timeout: Duration) -> Instant {
        self.wait(|s| s.order == order.as_str() && s.to == to, timeout).at
    }
}

impl Drop for WalletWatch {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn watch_config(world: &World, address: &str) -> WatchConfig {
    let mut config =
        WatchConfig::new(agents::account(world.stack, address), world.stack.user(address).password.clone());
    config.poll_interval = Duration::from_secs(3600);
    config.max_backoff = Duration::from_secs(1);
    config
}

fn polling(world: &World, address: &str, every: Duration) -> WatchConfig {
    let mut config = watch_config(world, address);
    config.force_polling = true;
    config.poll_interval = every;
    config
}

/// A wallet database of its own.
fn wallet_store() -> (Store, PathBuf) {
    accounts::temp_store("bench-wallet")
}

/// "Pay" as the wallet does it: the payment recorded (pre-approved when
/// asked), the board record posted when the method needs one, every mail
/// sent at once.
fn pay(
    runtime: &tokio::runtime::Runtime,
    world: &World,
    orderer: &mut Orderer,
    servers: &MailServers,
    terms: &OrderTerms,
    pre_approved: bool,
) {
    let extra = if terms.method.needs_cheque() {
        vec![orderer.cheque_mail(terms, &world.bank_recipient)]
    } else {
        vec![]
    };
    let record = terms.method.needs_board().then(|| {
        BoardRecord::for_order(
            terms,
            agents::initials(&orderer.address),
            &agents::wallet_key(&orderer.address),
        )
    });
    orderer.place_posting(world, terms, extra, record.as_ref());
    orderer.store.set_pre_approved(&terms.order, pre_approved).unwrap();
    let sent = runtime.block_on(orderer.wallet.dispatch(servers, &terms.order)).unwrap();
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
}

fn orderer_smtp(world: &World, address: &str) -> Smtp {
    Smtp::new(&agents::account(world.stack, address), &world.stack.user(address).password).unwrap()
}

/// The orderer's mail servers, as the wallet sends through them.
fn orderer_servers(world: &World, address: &str) -> MailServers {
    MailServers::new(agents::account(world.stack, address), &world.stack.user(address).password)
}

/// A payment of the orderer's, in state "sent", at the bank with no agent.
fn sent_payment(
    runtime: &tokio::runtime::Runtime,
    store: &mut Store,
    wallet: &Wallet,
    servers: &MailServers,
) -> OrderTerms {
    let terms = accounts::terms(ORDERER, SHOP2, BANK2, 1200);
    wallet::place(store, &terms, None, mailpay::clock::now()).unwrap();
    let sent = runtime.block_on(wallet.dispatch(servers, &terms.order)).unwrap();
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    terms
}

/// The bank's confirmation for `terms`, ready to send.
fn confirmation(terms: &OrderTerms) -> compose::Outgoing {
    let nonce: [u8; 16] = rand::random();
    let confirm = Confirm {
        order: terms.order.clone(),
        orderer: terms.orderer.clone(),
        merchant: terms.merchant.clone(),
        amount: terms.amount,
        items: terms.items.clone(),
        code: ConfirmationCode::compute(
            b"bench key",
            &terms.order,
            terms.amount,
            &terms.merchant,
            &terms.password,
            &nonce,
        ),
        expires: terms.expires,
        attempts_left: 5,
        proof: Some(mailpay::protocol::confirmation::Proof::compute(&terms.password, &terms.order)),
    };
    compose::confirm(&confirm, &terms.bank, &Thread::default()).build(mailpay::clock::now(), &mut rand::rng())
}

/// Confirmation latency with the watcher `config`: `rounds` confirmations,
/// each sent `gap()` after the previous one was taken in. `eager`: the
/// wallet opens its window for eager looks as it pays (what it does).
fn confirmation_latency(
    runtime: &tokio::runtime::Runtime,
    world: &World,
    config: WatchConfig,
    eager: bool,
    rounds: usize,
    mut gap: impl FnMut() -> Duration,
) -> Vec<Duration> {
    let (mut store, path) = wallet_store();
    let (wallet, servers) = (accounts::wallet_over(&path), orderer_servers(world, ORDERER));
    let bank = orderer_smtp(world, BANK2);
    let watch = WalletWatch::start(world, ORDERER, &path, config);
    let mut samples = Vec::new();
    for _ in 0..rounds {
        let terms = sent_payment(runtime, &mut store, &wallet, &servers);
        if eager {
            watch.expecting.expect_within(ANSWER_WINDOW);
        }
        let mail = confirmation(&terms);
        std::thread::sleep(gap());
        runtime.block_on(bank.send(&mail)).unwrap();
        let accepted = Instant::now();
        let changed = watch.wait_state(&terms.order, "awaiting-confirmation", Duration::from_secs(200));
        samples.push(changed - accepted);
    }
    samples
}

/// Confirmation latency of a client polling every `every`: `mails`
/// confirmations sent at random moments of one polling period.
fn polling_latency(
    runtime: &tokio::runtime::Runtime,
    world: &World,
    every: Duration,
    mails: usize,
) -> Vec<Duration> {
    let (mut store, path) = wallet_store();
    let (wallet, servers) = (accounts::wallet_over(&path), orderer_servers(world, ORDERER));
    let bank = orderer_smtp(world, BANK2);
    let watch = WalletWatch::start(world, ORDERER, &path, polling(world, ORDERER, every));
    let period = u64::try_from(every.as_millis()).unwrap();
    let mut at: Vec<u64> = (0..mails).map(|_| rand::random_range(0..period)).collect();
    at.sort_unstable();
    let pending: Vec<(OrderTerms, compose::Outgoing)> = (0..mails)
        .map(|_| {
            let terms = sent_payment(runtime, &mut store, &wallet, &servers);
            let mail = confirmation(&terms);
            (terms, mail)
        })
        .collect();
    let start = Instant::now();
    let mut accepted = Vec::new();
    for ((terms, mail), offset) in pending.iter().zip(at) {
        let due = start + Duration::from_millis(offset);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        runtime.block_on(bank.send(mail)).unwrap();
        accepted.push((terms.order.clone(), Instant::now()));
    }
    accepted
        .into_iter()
        .map(|(order, accepted)| {
            watch.wait_state(&order, "awaiting-confirmation", every * 3 + Duration::from_secs(30)) - accepted
        })
        .collect()
}

/// One mail hop: from the start of its submission to the recipient's IDLE
/// watcher handing it over (SMTP, Postfix, LMTP into Dovecot, Dovecot's
/// notification, FETCH and parse).
struct HopWatch {
    address: &'static str,
    handed: mpsc::Receiver<(Instant, String)>,
    task: tokio::task::JoinHandle<()>,
    /// The recipient's window, opened before each hop as its own last
    /// mail out would have opened it; `None`: IDLE alone.
    expecting: Option<Expecting>,
}

fn hop_watch(
    runtime: &tokio::runtime::Runtime,
    world: &World,
    address: &'static str,
    eager: bool,
) -> HopWatch {
    let config = watch_config(world, address);
    let expecting = eager.then(|| config.expecting.clone());
    let (tx, handed) = mpsc::channel();
    let (ready_tx, ready) = mpsc::channel();
    let task = runtime.spawn(async move {
        let mut resume = Resume::default();
        let error = imap::watch(&config, &mut resume, |event| {
            match event {
                WatchEvent::Idle { .. } => {
                    let _ = ready_tx.send(());
                }
                WatchEvent::Mail { received: Received::MailPay(mail), .. } => {
                    let _ = tx.send((Instant::now(), mail.body.order().as_str().to_string()));
                }
                _ => {}
            }
            true
        })
        .await;
        panic!("the hop watcher stopped: {error}");
    });
    ready.recv_timeout(Duration::from_secs(30)).unwrap();
    HopWatch { address, handed, task, expecting }
}

fn hop(runtime: &tokio::runtime::Runtime, smtp: &Smtp, watch: &HopWatch) -> Duration {
    let terms = accounts::terms(ORDERER, watch.address, agents::BANK, 100);
    let [order, _] = compose::order(&terms);
    let mail = order.build(mailpay::clock::now(), &mut rand::rng());
    if let Some(expecting) = &watch.expecting {
        expecting.expect_within(ANSWER_WINDOW);
    }
    let started = Instant::now();
    runtime.block_on(smtp.send(&mail)).unwrap();
    loop {
        let (at, order) = watch.handed.recv_timeout(Duration::from_secs(30)).unwrap();
        if order == terms.order.as_str() {
            return at - started;
        }
    }
}

/// Mail hops on the critical path of each figure: the order to the
/// merchant, its bill to the bank, (the confirmation to the orderer, the
/// OK to the bank,) the settled notice to the orderer. The payment
/// request and the cheque travel beside the order.
fn hops(method: Method) -> u32 {
    if method.needs_confirmation() { 5 } else { 3 }
}

fn settled_count(world: &World) -> usize {
    world.ledger().payments().unwrap().iter().filter(|p| p.status == "settled").count()
}

/// A perf recording of the whole machine while it runs, when asked.
struct Profile {
    child: Option<std::process::Child>,
    data: PathBuf,
}

impl Profile {
    fn start() -> Profile {
        let data = std::env::temp_dir().join(format!("mailpay-bench-{}.perf", std::process::id()));
        let wanted = std::env::var_os("MAILPAY_BENCH_PERF").is_some_and(|v| v == "1");
        let child = wanted
            .then(|| {
                std::process::Command::new("perf")
                    .args(["record", "-a", "-F", "499", "-q", "-o"])
                    .arg(&data)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .ok()
            })
            .flatten();
        if child.is_some() {
            std::thread::sleep(Duration::from_millis(500));
        }
        Profile { child, data }
    }

    /// Stops the recording; the CPU split as table rows.
    fn finish(mut self) -> Vec<(String, String)> {
        let Some(mut child) = self.child.take() else { return Vec::new() };
        // SIGINT makes perf write its data out and exit.
        let _ = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        let _ = child.wait();
        let out = std::process::Command::new("perf")
            .args(["report", "--no-children", "--sort", "comm,dso,sym", "--stdio", "-q", "-i"])
            .arg(&self.data)
            .output();
        if std::env::var_os("MAILPAY_BENCH_PERF_KEEP").is_none() {
            let _ = std::fs::remove_file(&self.data);
        }
        let Ok(out) = out else { return Vec::new() };
        split(&String::from_utf8_lossy(&out.stdout))
    }
}

/// Sorts `perf report --sort comm,dso,sym` lines into processes and, for
/// the agents' threads (named "agents": the bank and the merchant), into
/// kinds of work.
fn split(report: &str) -> Vec<(String, String)> {
    let mut by_process: BTreeMap<String, f64> = BTreeMap::new();
    let mut by_work: BTreeMap<&str, f64> = BTreeMap::new();
    for line in report.lines() {
        let mut fields = line.split_whitespace();
        let Some(share) = fields.next().and_then(|p| p.trim_end_matches('%').parse::<f64>().ok()) else {
            continue;
        };
        let comm = fields.next().unwrap_or("");
        let dso = fields.next().unwrap_or("");
        let sym: String = fields.collect::<Vec<_>>().join(" ");
        let process = match comm {
            "agents" => "agents (bank + merchant)".to_string(),
            "wallet-watch" | "wallet-send" | "orderer" => "orderers (wallets)".to_string(),
            c if c.starts_with("settlement") => "orderers (wallets)".to_string(),
            "smtpd" | "cleanup" | "qmgr" | "lmtp" | "trivial-rewrite" | "master" | "tlsmgr" | "anvil"
            | "proxymap" | "imap" | "imap-login" | "auth" | "config" | "stats" | "log" | "indexer"
            | "indexer-worker" => format!("mail server: {comm}"),
            c if c.starts_with("dovecot") || c.starts_with("postfix") => format!("mail server: {comm}"),
            "swapper" => "idle".to_string(),
            _ => "other (builds, perf, ...)".to_string(),
        };
        *by_process.entry(process).or_default() += share;
        if comm == "agents" {
            let s = sym.to_lowercase();
            let work = if dso.contains("kernel") || s.starts_with("[k]") {
                "kernel (network, fsync, scheduling)"
            } else if s.contains("sqlite") {
                "SQLite (ledger, shop book)"
            } else if ["ring::", "ring_core", "rustls", "aes", "sha2", "sha256", "sha512", "chacha", "x25519"]
                .iter()
                .any(|k| s.contains(k))
                || ["p256", "bn_mul", "ecp_nistz", "gcm"].iter().any(|k| s.contains(k))
            {
                "TLS (SMTP and IMAP sessions)"
            } else if s.contains("mail_parser")
                || s.contains("protocol::parse")
                || s.contains("protocol::block")
            {
                "parsing"
            } else if s.contains("async_imap") || s.contains("imap_proto") || s.contains("nom::") {
                "IMAP protocol"
            } else if s.contains("lettre") || s.contains("mail::smtp") || s.contains("mail_builder") {
                "SMTP protocol, composing"
            } else if s.contains("age::")
                || s.contains("curve25519")
                || s.contains("ed25519")
                || s.contains("scrypt")
            {
                "cheques (age, ed25519)"
            } else if s.contains("malloc")
                || s.contains("free")
                || s.contains("memcpy")
                || s.contains("memmove")
            {
                "allocation, copying"
            } else if s.contains("tokio") {
                "tokio"
            } else {
                "other"
            };
            *by_work.entry(work).or_default() += share;
        }
    }
    let agents = by_work.values().sum::<f64>().max(f64::MIN_POSITIVE);
    let mut rows = vec![("CPU samples, machine-wide (perf -a, 499 Hz)".to_string(), String::new())];
    let mut processes: Vec<_> = by_process.into_iter().collect();
    processes.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (process, share) in processes {
        rows.push((format!("  {process}"), format!("{share:.1} %")));
    }
    rows.push(("agents' CPU by kind of work".to_string(), String::new()));
    let mut works: Vec<_> = by_work.into_iter().collect();
    works.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (work, share) in works {
        rows.push((format!("  {work}"), format!("{:.0} %", share * 100.0 / agents)));
    }
    rows
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs bench
    // binaries without it, and this one needs minutes and a mail stack.
    if !std::env::args().any(|a| a == "--bench") {
        println!("settlement benchmark: run it with `cargo bench --bench settlement`");
        return;
    }
    let mut table: Vec<(String, String)> = Vec::new();
    let row = |table: &mut Vec<(String, String)>, name: &str, s: &Stats| {
        table.push((
            name.to_string(),
            format!("median {:>7}  p99 {:>7}  (n={})", ms(s.median), ms(s.p99), s.n),
        ));
    };
    let world = World::start("bench-settlement", Duration::from_secs(2));
    // The orderers' own runtime, so that the agents' threads do only the
    // agents' work.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("orderer")
        .enable_all()
        .build()
        .unwrap();

    eprintln!("confirmation latency, IDLE with the wallet's eager window ...");
    let eager =
        confirmation_latency(&runtime, &world, watch_config(&world, ORDERER), true, IDLE_ROUNDS, || {
            Duration::from_millis(rand::random_range(0..200))
        });
    eprintln!("confirmation latency, IDLE alone ...");
    let idle =
        confirmation_latency(&runtime, &world, watch_config(&world, ORDERER), false, IDLE_ROUNDS, || {
            Duration::from_millis(rand::random_range(0..200))
        });
    eprintln!("confirmation latency, polling every 100 ms ...");
    let fast = confirmation_latency(
        &runtime,
        &world,
        polling(&world, ORDERER, Duration::from_millis(100)),
        false,
        FAST_POLL_ROUNDS,
        || Duration::from_millis(rand::random_range(0..100)),
    );
    eprintln!("confirmation latency, polling every 60 s ({SLOW_POLL_MAILS} mails at random phase) ...");
    let slow = polling_latency(&runtime, &world, Duration::from_secs(60), SLOW_POLL_MAILS);

    for (name, samples) in [("IDLE + eager", &eager), ("IDLE", &idle), ("100 ms", &fast), ("60 s", &slow)] {
        let s = stats(samples.clone());
        eprintln!("confirmation latency, {name}: median {} p99 {}", ms(s.median), ms(s.p99));
    }
    eprintln!("full settlement, Figs. 1 to 4, {FIGURE_ROUNDS} rounds ...");
    let hop_smtp = orderer_smtp(&world, ORDERER);
    let hop_watcher = hop_watch(&runtime, &world, SHOP2, true);
    let idle_hop_watcher = hop_watch(&runtime, &world, BANK2, false);
    let mut orderer = Orderer::new(&world, ORDERER);
    let store_path = orderer.database();
    let watch = WalletWatch::start(&world, ORDERER, &store_path, watch_config(&world, ORDERER));
    let methods = [Method::Confirm, Method::Cheque, Method::Board, Method::All];
    let mut figures: Vec<Vec<Duration>> = vec![Vec::new(); methods.len()];
    let mut hop_samples: Vec<Duration> = Vec::new();
    let mut idle_hop_samples: Vec<Duration> = Vec::new();
    for round in 0..FIGURE_ROUNDS + 1 {
        for (i, method) in methods.iter().enumerate() {
            let terms = orderer.terms(&world, *method, 1000 + i as u64);
            let started = Instant::now();
            pay(&runtime, &world, &mut orderer, &watch.servers, &terms, true);
            let settled = watch.wait_state(&terms.order, "settled", Duration::from_secs(120));
            // The first round warms up caches and Postfix's process pool.
            if round > 0 {
                figures[i].push(settled - started);
            }
            hop_samples.push(hop(&runtime, &hop_smtp, &hop_watcher));
            idle_hop_samples.push(hop(&runtime, &hop_smtp, &idle_hop_watcher));
        }
    }
    drop(watch);
    hop_watcher.task.abort();
    idle_hop_watcher.task.abort();
    eprintln!(
        "one hop: median {} with an eager window, {} with IDLE alone",
        ms(stats(hop_samples.clone()).median),
        ms(stats(idle_hop_samples.clone()).median)
    );
    for (method, samples) in methods.iter().zip(&figures) {
        eprintln!("Fig. {}: median {}", method.figure(), ms(stats(samples.clone()).median));
    }

    eprintln!("bank throughput, {IN_FLIGHT} orders in flight ...");
    let settled_before = settled_count(&world);
    let profile = Profile::start();
    let started = Instant::now();
    let (placed, bank_done): (Vec<(Duration, Vec<OrderTerms>)>, Duration) = std::thread::scope(|scope| {
        let world_ = &world;
        // The bank's side: when its last settlement is recorded.
        let monitor = scope.spawn(move || {
            while settled_count(world_) < settled_before + IN_FLIGHT {
                std::thread::sleep(Duration::from_millis(20));
            }
            started.elapsed()
        });
        let handles: Vec<_> = [ORDERER, ORDERER2]
            .into_iter()
            .map(|address| {
                let (world, runtime) = (&world, &runtime);
                scope.spawn(move || {
                    let mut orderer = Orderer::new(world, address);
                    let path = orderer.database();
                    let watch = WalletWatch::start(world, address, &path, watch_config(world, address));
                    let mut placed = Vec::new();
                    for i in 0..IN_FLIGHT / 2 {
                        // Figs. 1 and 2: the merchant's board takes at most 30
                        // posts a minute from one address (its default limit).
                        let terms = orderer.terms(world, methods[i % 2], 100 + i as u64);
                        pay(runtime, world, &mut orderer, &watch.servers, &terms, true);
                        placed.push(terms);
                    }
                    let placing = started.elapsed();
                    for terms in &placed {
                        watch.wait_state(&terms.order, "settled", Duration::from_secs(600));
                    }
                    (placing, placed)
                })
            })
            .collect();
        let placed = handles.into_iter().map(|h| h.join().unwrap()).collect();
        (placed, monitor.join().unwrap())
    });
    let all_seen = started.elapsed();
    let profile_rows = profile.finish();
    let placing = placed.iter().map(|(d, _)| *d).max().unwrap();

    let hops_stats = stats(hop_samples);
    let hop_median = hops_stats.median;
    row(&mut table, "confirmation latency, IDLE + eager window (MailPay)", &stats(eager));
    row(&mut table, "confirmation latency, IDLE alone", &stats(idle));
    row(&mut table, "confirmation latency, polling every 60 s", &stats(slow));
    row(&mut table, "confirmation latency, polling every 100 ms", &stats(fast));
    row(&mut table, "one mail hop, eager window (submission -> hand-over)", &hops_stats);
    row(&mut table, "one mail hop, IDLE alone", &stats(idle_hop_samples));
    for (method, samples) in methods.iter().zip(figures) {
        let s = stats(samples);
        let floor = hop_median * hops(*method);
        table.push((
            format!("settlement Fig. {} ({})", method.figure(), method.as_str()),
            format!(
                "median {:>7}  p99 {:>7}  (n={})  floor {} hops = {}, ratio {:.2}",
                ms(s.median),
                ms(s.p99),
                s.n,
                hops(*method),
                ms(floor),
                s.median.as_secs_f64() / floor.as_secs_f64()
            ),
        ));
    }
    table.push((
        format!("bank throughput, {IN_FLIGHT} in flight (Figs. 1 and 2)"),
        format!(
            "{:.1} settlements/s ({IN_FLIGHT} in {:.1} s; all placed after {:.1} s; orderers saw all at {:.1} s)",
            IN_FLIGHT as f64 / bank_done.as_secs_f64(),
            bank_done.as_secs_f64(),
            placing.as_secs_f64(),
            all_seen.as_secs_f64()
        ),
    ));
    table.extend(profile_rows);
    let width = table.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    println!("settlement, on loopback (Postfix + Dovecot, STARTTLS + AUTH per SMTP connection):");
    for (name, value) in &table {
        println!("{name:<width$}  {value}");
    }
}
