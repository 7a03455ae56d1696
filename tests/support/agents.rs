//! A whole MailPay world on the test mail stack: the bank agent
//! (bank@bank.test) and the merchant agent (shop@shop.test, with its board
//! on loopback) running in-process on their own runtime, and orderers
//! driving the wallet library against real SMTP and reading their real
//! Maildir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailpay::bank::daemon::{self as bank_daemon, DaemonConfig as BankConfig};
use mailpay::bank::ledger::Ledger;
use mailpay::board::client::{self, BoardPolicy};
use mailpay::mail::account::{Account, Security, Server};
use mailpay::mail::login::Login;
use mailpay::mail::smtp::Smtp;
use mailpay::merchant::daemon::{self as merchant_daemon, DaemonConfig as MerchantConfig};
use mailpay::merchant::engine::Pricing;
use mailpay::paths::Paths;
use mailpay::protocol::board::BoardRecord;
use mailpay::protocol::cheque::{Cheque, WalletKey};
use mailpay::protocol::compose::{self, Outgoing};
use mailpay::protocol::item::LineItem;
use mailpay::protocol::message::WalletMail;
use mailpay::protocol::parse::{self, Incoming};
use mailpay::protocol::payment::{Event, State};
use mailpay::protocol::{Body, Currency, EmailAddress, Kind, Method, Money, OrderId, OrderTerms, PasswordA};
use mailpay::secrets::Secret;
use mailpay::store::Store;
use mailpay::wallet::{self, MailServers, Sent, Wallet, WalletError};

use super::mailstack::{self, MailStack};

pub const BANK: &str = "bank@bank.test";
pub const SHOP: &str = "shop@shop.test";
pub const ORDERER: &str = "orderer@buyer.test";
pub const ORDERER2: &str = "orderer2@buyer.test";
/// A merchant with an account at the bank but no agent: tests write its mails by hand.
pub const SHOP2: &str = "shop2@shop2.test";
/// Opening balance of each orderer, in yen.
pub const OPENING: u64 = 1_000_000;
pub const WAIT: Duration = Duration::from_secs(90);

pub fn jpy() -> Currency {
    "JPY".parse().unwrap()
}

pub fn addr(a: &str) -> EmailAddress {
    a.parse().unwrap()
}

/// `address`'s account on `stack`: submission with STARTTLS, IMAP over
/// implicit TLS, trusting the stack's CA.
pub fn account(stack: &MailStack, address: &str) -> Account {
    Account {
        address: addr(address),
        username: address.to_string(),
        smtp: Server { host: "localhost".into(), port: stack.submission_port, security: Security::Starttls },
        imap: Server { host: "localhost".into(), port: stack.imaps_port, security: Security::Tls },
        ca_file: Some(stack.ca_file.clone()),
        route: Default::default(),
        auth: Default::default(),
        oauth2: None,
    }
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("mailpay-{name}-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Initials registered at the bank for each orderer.
pub fn initials(orderer: &str) -> &'static str {
    if orderer == ORDERER { "O.B." } else { "O.T." }
}

/// The orderer's cheque-signing key (fixed per orderer, registered at the bank).
pub fn wallet_key(orderer: &str) -> WalletKey {
    let mut seed = [7u8; 32];
    seed[0] = orderer.len() as u8;
    seed[1] = orderer.as_bytes()[7];
    WalletKey::from_seed(&seed)
}

pub struct World {
    pub stack: &'static MailStack,
    pub runtime: tokio::runtime::Runtime,
    pub dir: PathBuf,
    pub ledger_path: PathBuf,
    pub shop_db: PathBuf,
    pub board_db: PathBuf,
    pub board_url: String,
    pub bank_recipient: age::x25519::Recipient,
    bank: BankConfig,
    bank_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn spawn_bank(runtime: &tokio::runtime::Runtime, config: BankConfig) -> tokio::task::JoinHandle<()> {
    runtime.spawn(async move {
        let why = bank_daemon::run(config).await;
        panic!("the bank agent stopped: {why}");
    })
}

impl World {
    /// Opens the accounts, starts both agents; `grace` is the bank's wait
    /// before a second look at the board.
    pub fn start(name: &str, grace: Duration) -> World {
        World::start_with(name, grace, |_, _| {})
    }

    /// Like [`World::start`], letting `adjust` change the bank's mail
    /// account (with the runtime the agents will run on) before it starts.
    pub fn start_with(
        name: &str,
        grace: Duration,
        adjust: impl FnOnce(&tokio::runtime::Runtime, &mut Account),
    ) -> World {
        World::start_on(mailstack::shared(), name, grace, adjust)
    }

    /// Like [`World::start_with`], on `stack` (a private one) instead of
    /// the shared stack.
    pub fn start_on(
        stack: &'static MailStack,
        name: &str,
        grace: Duration,
        adjust: impl FnOnce(&tokio::runtime::Runtime, &mut Account),
    ) -> World {
        let dir = temp_dir(name);
        // The agents' threads are named, so that a profile can tell them apart.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("agents")
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let board_url = format!("http://{}", listener.local_addr().unwrap());
        let ledger_path = dir.join("bank/ledger.sqlite");
        let ledger = Ledger::open(&ledger_path).unwrap();
        let now = mailpay::clock::now();
        for orderer in [ORDERER, ORDERER2] {
            let key = wallet_key(orderer).public().to_string();
            ledger.open_account(&addr(orderer), Some(initials(orderer)), Some(&key), None, now).unwrap();
            ledger.set_balance(&addr(orderer), jpy(), OPENING).unwrap();
        }
        // The bank reads only the board a merchant registered: both shops
        // registered the shop agent's (shop2, whose mails tests write by
        // hand, bills orders placed with the same board record).
        for shop in [SHOP, SHOP2] {
            ledger.open_account(&addr(shop), None, None, Some(&board_url), now).unwrap();
            ledger.set_balance(&addr(shop), jpy(), 0).unwrap();
        }
        let bank_recipient: age::x25519::Recipient = ledger.recipient().unwrap().parse().unwrap();
        drop(ledger);
        let mut bank_account = account(stack, BANK);
        adjust(&runtime, &mut bank_account);
        let bank = BankConfig {
            account: bank_account,
            login: Login::Password(Secret::new(stack.user(BANK).password.clone())),
            ledger: ledger_path.clone(),
            board_grace: grace,
            expiry_check: Duration::from_secs(1),
            // Everything here runs on loopback, over plain HTTP.
            boards: BoardPolicy { allow_http: true, allow_private: true },
        };
        let bank_task = std::sync::Mutex::new(Some(spawn_bank(&runtime, bank.clone())));
        let shop_db = dir.join("shop/shop.sqlite");
        let board_db = dir.join("shop/board.sqlite");
        let merchant = MerchantConfig {
            account: account(stack, SHOP),
            login: Login::Password(Secret::new(stack.user(SHOP).password.clone())),
            bank: addr(BANK),
            pricing: Pricing::AsOrdered,
            shop_db: shop_db.clone(),
            board_db: board_db.clone(),
            board_limits: Default::default(),
            board_tls: None,
            retry_every: Duration::from_secs(2),
        };
        runtime.spawn(async move {
            let why = merchant_daemon::run(merchant, Some(listener)).await;
            panic!("the merchant agent stopped: {why}");
        });
        World {
            stack,
            runtime,
            dir,
            ledger_path,
            shop_db,
            board_db,
            board_url,
            bank_recipient,
            bank,
            bank_task,
        }
    }

    /// Stops the bank agent, as a crash would (its tasks end, its mailbox
    /// connection drops).
    pub fn stop_bank(&self) {
        if let Some(task) = self.bank_task.lock().unwrap().take() {
            task.abort();
            let _ = self.runtime.block_on(task);
        }
    }

    /// Starts the bank agent again on the same ledger.
    pub fn start_bank(&self) {
        let mut task = self.bank_task.lock().unwrap();
        assert!(task.is_none(), "the bank agent is running");
        *task = Some(spawn_bank(&self.runtime, self.bank.clone()));
    }

    /// A fresh connection to the bank's ledger (WAL: reads while the agent writes).
    pub fn ledger(&self) -> Ledger {
        Ledger::open(&self.ledger_path).unwrap()
    }

    pub fn balance(&self, address: &str) -> u64 {
        self.ledger().balance(&addr(address), jpy()).unwrap()
    }

    /// Waits until the bank's payment for `order` has `status`; returns its reason.
    pub fn wait_status(&self, order: &OrderId, status: &str) -> Option<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(p) = self.ledger().payment(order)
                && p.status == status
            {
                return p.reason;
            }
            if Instant::now() > deadline {
                let trail = self.ledger().trail(order).unwrap_or_default();
                panic!("order {order} did not reach {status} at the bank; trail: {trail:#?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until every mail of `kind` the bank queued for `order` is
    /// marked sent (the bank marks them after the server took them all,
    /// which may be after they arrived); returns those trail lines.
    pub fn wait_sent(&self, order: &OrderId, kind: &str) -> Vec<mailpay::bank::ledger::TrailLine> {
        let deadline = Instant::now() + WAIT;
        loop {
            let trail = self.ledger().trail(order).unwrap();
            let out: Vec<_> =
                trail.iter().filter(|l| l.direction == "out" && l.kind == kind).cloned().collect();
            if !out.is_empty() && out.iter().all(|l| l.outcome == "sent") {
                return out;
            }
            assert!(Instant::now() < deadline, "{kind} for {order} never marked sent: {trail:#?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the trail of `order` to show a received mail of `kind` with `reason`.
    pub fn wait_trail_reason(&self, order: &OrderId, kind: &str, reason: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let trail = self.ledger().trail(order).unwrap_or_default();
            if trail
                .iter()
                .any(|l| l.direction == "in" && l.kind == kind && l.reason.as_deref() == Some(reason))
            {
                return;
            }
            if Instant::now() > deadline {
                panic!("order {order}: no {kind} with reason {reason} in the trail: {trail:#?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `order` as the shop's book has it.
    pub fn shop_order(&self, order: &OrderId) -> Option<mailpay::merchant::shop::OrderRow> {
        let shop = mailpay::merchant::shop::Shop::open(&self.shop_db).unwrap();
        shop.orders().unwrap().into_iter().find(|o| o.order == order.as_str())
    }

    pub fn shop_state(&self, order: &OrderId) -> Option<String> {
        self.shop_order(order).map(|o| o.state)
    }

    /// What the shop noted on `order`'s last change.
    pub fn shop_note(&self, order: &OrderId) -> Option<String> {
        self.shop_order(order).map(|o| o.note)
    }

    pub fn wait_shop_state(&self, order: &OrderId, state: &str) {
        let deadline = Instant::now() + WAIT;
        while self.shop_state(order).as_deref() != Some(state) {
            assert!(
                Instant::now() < deadline,
                "order {order} never reached {state} at the shop: {:?}",
                self.shop_state(order)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends a hand-made mail as `from` (whose password is on the stack).
    pub fn send_as(&self, from: &str, mail: &Outgoing) {
        let smtp = Smtp::new(&account(self.stack, from), &self.stack.user(from).password).unwrap();
        self.runtime.block_on(smtp.send(mail)).unwrap();
    }
}

/// An orderer using the wallet library on its own store.
pub struct Orderer {
    pub address: String,
    /// The wallet's store, to look into; [`Orderer::wallet`] drives it.
    pub store: Store,
    /// The wallet as every front end drives it, over the same database.
    pub wallet: Wallet,
    servers: MailServers,
    smtp: Smtp,
    pub dir: PathBuf,
}

impl Orderer {
    pub fn new(world: &World, address: &str) -> Orderer {
        let dir = temp_dir("orderer");
        let paths = Paths::under(&dir);
        let store = Store::open(&paths.database()).unwrap();
        let wallet = Wallet::open(paths).unwrap();
        let password = &world.stack.user(address).password;
        let servers = MailServers::new(account(world.stack, address), password);
        let smtp = Smtp::new(&account(world.stack, address), password).unwrap();
        Orderer { address: address.to_string(), store, wallet, servers, smtp, dir }
    }

    /// Terms of a new order of `amount` yen from this orderer at the shop.
    pub fn terms(&self, world: &World, method: Method, amount: u64) -> OrderTerms {
        let mut rng = rand::rng();
        let created = mailpay::clock::now();
        let money = Money::new(amount, jpy()).unwrap();
        OrderTerms {
            order: OrderId::generate(&mut rng),
            orderer: addr(&self.address),
            merchant: addr(SHOP),
            bank: addr(BANK),
            amount: money,
            items: vec![LineItem::new(1, "Green tea 100g", Some(money)).unwrap()],
            password: PasswordA::generate(&mut rng),
            created,
            expires: created.plus_seconds(24 * 3600),
            method,
            board: method.needs_board().then(|| world.board_url.clone()),
            nonce: None,
        }
        .bound(&mut rand::rng())
    }

    /// The claim-2 cheque mail for `terms`, sealed to `recipient`.
    pub fn cheque_mail(&self, terms: &OrderTerms, recipient: &age::x25519::Recipient) -> compose::Draft {
        let cheque = Cheque::for_order(terms, terms.created);
        let sealed = cheque.seal(&wallet_key(&self.address), recipient).unwrap();
        compose::wallet(
            &WalletMail { order: terms.order.clone(), orderer: terms.orderer.clone(), cheque: sealed },
            &terms.bank,
        )
    }

    /// Records the order, posts the board record when the method needs one,
    /// and sends the order, the payment request (and cheque) at once.
    pub fn pay(&mut self, world: &World, terms: &OrderTerms) {
        let extra = if terms.method.needs_cheque() {
            vec![self.cheque_mail(terms, &world.bank_recipient)]
        } else {
            vec![]
        };
        self.pay_with(world, terms, extra);
    }

    pub fn pay_with(&mut self, world: &World, terms: &OrderTerms, extra: Vec<compose::Draft>) {
        let record = terms
            .method
            .needs_board()
            .then(|| BoardRecord::for_order(terms, initials(&self.address), &wallet_key(&self.address)));
        self.pay_posting(world, terms, extra, record);
    }

    /// Like [`Orderer::pay`] with the cheque and the board record (if any)
    /// chosen by the caller.
    pub fn pay_posting(
        &mut self,
        world: &World,
        terms: &OrderTerms,
        extra: Vec<compose::Draft>,
        record: Option<BoardRecord>,
    ) {
        self.place_posting(world, terms, extra, record.as_ref());
        self.send_placed(world, &terms.order);
        if record.is_some() || !terms.method.needs_board() {
            assert_eq!(self.state(&terms.order).name(), "sent");
        }
    }

    /// The first half of [`Orderer::pay_posting`]: records the order and
    /// posts the board record, sends nothing.
    pub fn place_posting(
        &mut self,
        world: &World,
        terms: &OrderTerms,
        extra: Vec<compose::Draft>,
        record: Option<&BoardRecord>,
    ) {
        let mut extra = extra.into_iter();
        let cheque = |_: &OrderTerms| extra.next().ok_or(WalletError::Cheque("no cheque given".into()));
        wallet::place_sealed(&mut self.store, terms, cheque, mailpay::clock::now()).unwrap();
        if let Some(record) = record {
            world
                .runtime
                .block_on(client::Client::default().post(terms.board.as_deref().unwrap(), record))
                .unwrap();
        }
        // Without a record, this stands for a record that never reached the
        // board: the wallet goes on as if it had (the bank's check is what
        // is tested), where a real one stops at a refused post.
        if terms.method.needs_board() {
            wallet::act(&self.store, &terms.order, &Event::BoardPosted, None, false).unwrap();
        }
    }

    /// The wallet's database (its store's, and its wallet's).
    pub fn database(&self) -> PathBuf {
        self.wallet.paths().database()
    }

    /// Sends the order's queued mails, as every front end does.
    pub fn dispatch(&self, world: &World, order: &OrderId) -> Vec<Sent> {
        world.runtime.block_on(self.wallet.dispatch(&self.servers, order)).unwrap()
    }

    /// The second half: sends the placed order's mails.
    pub fn send_placed(&mut self, world: &World, order: &OrderId) {
        let sent = self.dispatch(world, order);
        for s in &sent {
            assert!(s.result.is_ok(), "{} to {} not sent: {:?}", s.kind, s.recipient, s.result);
        }
    }

    /// The bill `merchant` would send for `terms`, with `order_terms` as
    /// the forwarded ORDER block (normally `terms` itself) and `total`.
    pub fn bill(merchant: &str, terms: &OrderTerms, order_terms: &OrderTerms, total: u64) -> Outgoing {
        let money = Money::new(total, jpy()).unwrap();
        let bill = mailpay::protocol::message::Bill {
            order: terms.order.clone(),
            merchant: addr(merchant),
            orderer: terms.orderer.clone(),
            items: vec![LineItem::new(1, "Green tea 100g", Some(money)).unwrap()],
            total: money,
            billed: mailpay::clock::now(),
            quoted_order: order_terms.clone(),
        };
        let block = order_terms.to_block(Kind::Order);
        let mut draft = compose::bill(&bill, &block, &Default::default());
        draft.from = addr(merchant);
        draft.build(mailpay::clock::now(), &mut rand::rng())
    }

    pub fn state(&self, order: &OrderId) -> State {
        self.store.load(order).unwrap().1
    }

    /// Waits for a mail of `kind` about `order` in this orderer's inbox that
    /// `pick` accepts; returns it with its bytes.
    pub fn wait_mail(
        &self,
        world: &World,
        kind: Kind,
        order: &OrderId,
        pick: impl Fn(&Incoming) -> bool,
    ) -> (Incoming, Vec<u8>) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(found) = find_mail(&world.stack.maildir(&self.address), kind, order, &pick) {
                return found;
            }
            assert!(Instant::now() < deadline, "no {kind} for order {order} reached {}", self.address);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every mail of `kind` about `order` in the inbox now.
    pub fn mails(&self, world: &World, kind: Kind, order: &OrderId) -> Vec<Incoming> {
        all_mails(&world.stack.maildir(&self.address), order)
            .into_iter()
            .map(|(m, _)| m)
            .filter(|m| m.body.kind() == kind && m.body.order() == order)
            .collect()
    }

    /// Takes a received mail into the wallet.
    pub fn receive(&mut self, mail: &Incoming, raw: &[u8]) {
        wallet::receive(&self.store, mail, raw, false).unwrap();
    }

    /// Approves the confirmation `confirm` (already received) and sends the OK.
    pub fn approve(&mut self, world: &World, confirm: &Incoming) {
        let order = confirm.body.order().clone();
        wallet::act(&self.store, &order, &Event::UserApprove, Some(confirm), false).unwrap();
        let sent = self.dispatch(world, &order);
        assert!(sent.iter().all(|s| s.result.is_ok()), "approve not sent: {sent:?}");
    }

    /// Waits for the bank's confirmation of `order`, approves it by hand,
    /// waits until the order is settled and shipped, then checks that the
    /// confirmation reached the orderer once and left the bank once: the
    /// same mail, however many times the bank had to try.
    pub fn approve_and_settle_once(&mut self, world: &World, order: &OrderId) {
        let (confirm, raw) = self.wait_mail(world, Kind::Confirm, order, |_| true);
        self.receive(&confirm, &raw);
        self.approve(world, &confirm);
        self.wait_mail(world, Kind::Settled, order, |_| true);
        world.wait_shop_state(order, "shipped");
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(self.mails(world, Kind::Confirm, order).len(), 1, "the confirmation arrived once");
        let confirms = world.wait_sent(order, "confirm");
        assert_eq!(confirms.len(), 1, "the same mail, sent again: {confirms:#?}");
    }

    pub fn send(&self, world: &World, mail: &Outgoing) {
        world.runtime.block_on(self.smtp.send(mail)).unwrap();
    }
}

/// The parsed mails of a Maildir whose raw text mentions `needle` (cheap
/// filter before parsing).
fn mails_mentioning(maildir: &Path, needle: &str) -> Vec<(Incoming, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(maildir.join(sub)) else { continue };
        for entry in entries.filter_map(Result::ok) {
            if let Ok(raw) = std::fs::read(entry.path())
                && String::from_utf8_lossy(&raw).contains(needle)
                && let Ok(mail) = parse::parse(&raw)
            {
                out.push((mail, raw));
            }
        }
    }
    out
}

fn all_mails(maildir: &Path, order: &OrderId) -> Vec<(Incoming, Vec<u8>)> {
    mails_mentioning(maildir, order.as_str())
}

fn find_mail(
    maildir: &Path,
    kind: Kind,
    order: &OrderId,
    pick: &impl Fn(&Incoming) -> bool,
) -> Option<(Incoming, Vec<u8>)> {
    all_mails(maildir, order)
        .into_iter()
        .find(|(m, _)| m.body.kind() == kind && m.body.order() == order && pick(m))
}

/// The reason code of a `rejected` mail.
pub fn reason_of(mail: &Incoming) -> String {
    match &mail.body {
        Body::Rejected(r) => r.reason.code().to_string(),
        other => panic!("expected a rejection, got {}", other.kind()),
    }
}
