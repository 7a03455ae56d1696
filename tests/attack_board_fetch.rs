//! The bank reads a board only where it trusts one (PROTOCOL.md 6.3, 6.4):
//! at the address the merchant registered, never at the order's `Board`
//! field, and by default only over `https://` at a public address. A
//! listener on loopback counts every connection that reaches it; orders
//! that point the bank at it, through their `Board` field or through a
//! registered board the bank may not read, must not reach it, and end
//! `board-missing`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::agents;

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use agents::{ORDERER, Orderer, SHOP, SHOP2, WAIT, World, addr};
use mailpay::bank::daemon::{self as bank_daemon, DaemonConfig};
use mailpay::bank::ledger::{Ledger, PaymentRow};
use mailpay::board::client::{BoardPolicy, Client};
use mailpay::protocol::board::BoardRecord;
use mailpay::protocol::{Method, OrderTerms};

const BANK2: &str = "bank2@bank2.test";
/// The banks' wait before a second look at a board.
const GRACE: Duration = Duration::from_secs(1);

/// A listener that answers nothing and notes the first bytes of every
/// connection that reaches it.
struct Trap {
    port: u16,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Trap {
    fn start() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let noted = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
                let mut first = [0u8; 200];
                let n = stream.read(&mut first).unwrap_or(0);
                let line = match first.first() {
                    _ if n == 0 => "(nothing sent)".to_string(),
                    Some(0x16) => "(a TLS handshake)".to_string(),
                    _ => String::from_utf8_lossy(&first[..n]).lines().next().unwrap_or("").to_string(),
                };
                noted.lock().unwrap().push(line);
            }
        });
        Trap { port, hits }
    }

    /// The connections that reached it since the last call.
    fn hits(&self) -> Vec<String> {
        std::mem::take(&mut *self.hits.lock().unwrap())
    }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World::start("attack-board-fetch", GRACE))
}

/// A second bank agent (bank2@bank2.test) on the world's runtime, with
/// the default board policy: https:// boards at public addresses only.
/// The orderer and shop2 have accounts there; shop2 registered no board.
fn strict_bank() -> PathBuf {
    let world = world();
    let ledger_path = world.dir.join("bank2/ledger.sqlite");
    let ledger = Ledger::open(&ledger_path).unwrap();
    let now = mailpay::clock::now();
    let key = agents::wallet_key(ORDERER).public().to_string();
    ledger.open_account(&addr(ORDERER), Some(agents::initials(ORDERER)), Some(&key), None, now).unwrap();
    ledger.set_balance(&addr(ORDERER), agents::jpy(), agents::OPENING).unwrap();
    ledger.open_account(&addr(SHOP2), None, None, None, now).unwrap();
    drop(ledger);
    let config = DaemonConfig {
        account: agents::account(world.stack, BANK2),
        login: mailpay::mail::login::Login::password(world.stack.user(BANK2).password.clone()),
        ledger: ledger_path.clone(),
        board_grace: GRACE,
        expiry_check: Duration::from_secs(1),
        boards: BoardPolicy::default(),
    };
    world.runtime.spawn(async move {
        let why = bank_daemon::run(config).await;
        panic!("the second bank agent stopped: {why}");
    });
    ledger_path
}

/// Waits until `ledger` holds `terms`' order in `status`.
fn wait_status(ledger: &PathBuf, terms: &OrderTerms, status: &str) -> PaymentRow {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(row) = Ledger::open(ledger).unwrap().payment(&terms.order)
            && row.status == status
        {
            return row;
        }
        if Instant::now() > deadline {
            let trail = Ledger::open(ledger).unwrap().trail(&terms.order).unwrap_or_default();
            panic!("order {} never reached {status} at {ledger:?}; trail: {trail:#?}", terms.order);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Places a Fig. 3 order from the orderer to shop2 at `bank`, naming
/// `board`, with no record anywhere, and has shop2 bill it.
fn order_to_shop2(bank: &str, board: String) -> OrderTerms {
    let world = world();
    let mut orderer = Orderer::new(world, ORDERER);
    let mut terms = orderer.terms(world, Method::Board, 1000);
    (terms.merchant, terms.bank, terms.board) = (addr(SHOP2), addr(bank), Some(board));
    orderer.pay_posting(world, &terms, vec![], None);
    world.send_as(SHOP2, &Orderer::bill(SHOP2, &terms, &terms, 1000));
    terms
}

/// The bank has had time for both of its looks at a board.
fn after_both_looks() {
    std::thread::sleep(GRACE * 2 + Duration::from_secs(2));
}

/// The order's own `Board` field is never fetched: with no registered
/// board the order ends at once; a registered board on loopback, by
/// address or by a name that resolves to it, is not read by a bank that
/// does not allow private boards, over https:// or http://.
#[test]
fn the_bank_reaches_no_board_it_does_not_trust() {
    let trap = Trap::start();
    let bank = strict_bank();
    let purge = format!("http://127.0.0.1:{}/internal/admin/purge?all=yes&then=", trap.port);
    let mut seen = Vec::new();

    // No board registered: the order's Board field is not read.
    let terms = order_to_shop2(BANK2, purge.clone());
    let row = wait_status(&bank, &terms, "rejected");
    after_both_looks();
    let detail = row.detail.clone().unwrap_or_default();
    seen.push(("no registered board".to_string(), row.reason.clone(), trap.hits()));

    // Registered boards on loopback, at a bank that reads public ones only.
    let registered = [
        format!("https://127.0.0.1:{}", trap.port),
        format!("https://localhost:{}/board", trap.port),
        format!("http://127.0.0.1:{}", trap.port),
    ];
    for board in registered {
        let now = mailpay::clock::now();
        Ledger::open(&bank).unwrap().open_account(&addr(SHOP2), None, None, Some(&board), now).unwrap();
        let terms = order_to_shop2(BANK2, purge.clone());
        let row = wait_status(&bank, &terms, "rejected");
        after_both_looks();
        let detail = row.detail.clone().unwrap_or_default();
        assert!(
            detail.contains("could not be read") && detail.contains("allow"),
            "{board}: says why: {detail}"
        );
        seen.push((format!("registered {board}"), row.reason, trap.hits()));
    }
    for (case, reason, hits) in &seen {
        println!("{case}: {reason:?}, connections to the trap: {hits:?}");
    }
    assert!(detail.contains("registered no board"), "the detail says why: {detail}");
    for (case, reason, hits) in &seen {
        assert_eq!(reason.as_deref(), Some("board-missing"), "{case}");
        assert!(hits.is_empty(), "{case}: the bank connected to an untrusted board: {hits:?}");
    }
}

/// A merchant that registered a board: the bank reads that one, finds
/// the orderer's record and settles, and never looks where the order's
/// `Board` field points.
#[test]
fn the_registered_board_is_read_and_the_orders_board_field_is_not() {
    let trap = Trap::start();
    let world = world();
    let mut orderer = Orderer::new(world, ORDERER);
    let mut terms = orderer.terms(world, Method::Board, 1000);
    let record = BoardRecord::for_order(&terms, agents::initials(ORDERER), &agents::wallet_key(ORDERER));
    world.runtime.block_on(Client::default().post(&world.board_url, &record)).unwrap();
    terms.board = Some(format!("http://127.0.0.1:{}/internal/admin/purge?all=yes&then=", trap.port));
    orderer.pay_posting(world, &terms, vec![], None);
    assert_eq!(terms.merchant, addr(SHOP));
    world.wait_status(&terms.order, "settled");
    after_both_looks();
    assert_eq!(trap.hits(), Vec::<String>::new(), "the order's Board field was fetched");
}

/// `mailpay-bank open-account --board` registers an http:// board, or one
/// at a loopback or private address, only when the bank's configuration
/// allows it, and says which setting does.
#[test]
fn registering_a_board_the_bank_would_not_read_is_refused() {
    let dir = agents::temp_dir("attack-board-register");
    let open = |config: &str, board: &str| {
        let toml = dir.join("bank.toml");
        std::fs::write(&toml, config).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_mailpay-bank"))
            .args(["--config", toml.to_str().unwrap(), "--data-dir", dir.to_str().unwrap()])
            .args(["open-account", SHOP, "--board", board])
            .output()
            .unwrap()
    };
    for (board, setting) in [
        ("http://shop.example/board", "allow_http_boards"),
        ("https://127.0.0.1:8025", "allow_private_boards"),
        ("https://[fd00::1]/board", "allow_private_boards"),
        ("https://169.254.169.254/latest", "allow_private_boards"),
    ] {
        let out = open("", board);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{board}: {stderr}");
        assert!(stderr.contains(setting), "{board}: {stderr}");
    }
    let out = open("", "https://shop.example/board?then=/internal");
    assert_eq!(out.status.code(), Some(2), "a query would carry the path elsewhere");
    for (config, board) in [
        ("", "https://shop.example/board"),
        ("allow_http_boards = true\n", "http://shop.example/board"),
        ("allow_private_boards = true\n", "https://127.0.0.1:8025"),
    ] {
        let out = open(config, board);
        assert!(out.status.success(), "{board}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
