//! Attack: poison mail. Anyone can mail the bank, the shop and the
//! orderer. Three mails each, through the real Postfix + Dovecot: the
//! blockquote bomb (nothing in it says MailPay), the same dressed as
//! MailPay, and 100,000 tiny parts. The agents run as real processes under
//! an address-space cap, as a service manager would run them; the wallet
//! is the real `mailpay watch`.
//!
//! Before: the bomb made the bank build a 4 GB string per fetch (past
//! the cap: the agent died, and again on every restart); the parts cost
//! 24 s of CPU each time. Now each watcher reports what is MailPay's
//! business with its reason, moves it to the quarantine folder and goes
//! on; an honest order placed after the bombs settles, and a restarted
//! bank does not fetch them again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{agents, hostile, mailstack, processes};

use std::time::Duration;

use mailpay::mail::smtp::Smtp;
use mailpay::protocol::compose::Outgoing;
use mailpay::protocol::{Kind, OrderId};
use processes::{World, wait_for_text, watch_until};

const MALLORY: &str = "orderer2@buyer.test";
const BANK: &str = "bank@bank.test";
const SHOP: &str = "shop@shop.test";
const ORDERER: &str = "orderer@buyer.test";
/// 2 GiB: room for the agents' threads and libraries, not for an 800 MB
/// string that doubles as it grows.
const AGENT_ADDRESS_SPACE_KB: u64 = 2 * 1024 * 1024;

/// The three poison mails for `to`, each marked with `tag` in its subject.
fn poison(to: &str) -> Vec<(&'static str, Vec<u8>)> {
    let bomb = hostile::blockquote_bomb(MALLORY, to, 40_000, 50_000);
    let dressed = [b"MailPay-Version: 1\r\nMailPay-Kind: order\r\n".as_slice(), &bomb].concat();
    vec![("bomb", bomb), ("dressed", dressed), ("parts", hostile::many_parts(MALLORY, to, 100_000))]
}

fn send(stack: &mailstack::MailStack, runtime: &tokio::runtime::Runtime, to: &str) {
    let smtp = Smtp::new(&agents::account(stack, MALLORY), &stack.user(MALLORY).password).unwrap();
    for (tag, bytes) in poison(to) {
        let text = String::from_utf8(bytes).unwrap();
        let bytes = text.replacen("Subject: hello", &format!("Subject: poison-{tag}"), 1).into_bytes();
        let mail = Outgoing {
            kind: Kind::Order,
            order: OrderId::generate(&mut rand::rng()),
            message_id: format!("{tag}.{}@attacker.test", rand::random::<u64>()),
            from: agents::addr(MALLORY),
            to: agents::addr(to),
            bytes,
        };
        runtime.block_on(smtp.send(&mail)).unwrap();
    }
}

/// Where each poison mail addressed to `address` is now: (in the inbox,
/// in quarantine).
fn placed(stack: &mailstack::MailStack, address: &str, tag: &str) -> (usize, usize) {
    let subject = format!("Subject: poison-{tag}");
    let quarantined = stack.count_in_folder(address, Some("MailPay-Quarantine"), &subject);
    (stack.count_in_folder(address, None, &subject), quarantined)
}

/// Places an order of `amount` JPY with the real command line, approves
/// it once the bank asks, and waits until the wallet sees it settled.
fn settle(world: &World, amount: &str) -> String {
    let item = format!("1 x Green tea 100g @ {amount} JPY");
    let args = ["order", "--merchant", SHOP, "--bank", BANK, "--amount", amount, "JPY", "--item", &item];
    let order = processes::order_id(&world.mailpay(&args));
    watch_until(&world.home, &order, "awaiting-confirmation");
    world.mailpay(&["approve", &order]);
    watch_until(&world.home, &order, "-> settled");
    order
}

#[test]
fn poison_mail_is_set_aside_by_every_watcher_and_honest_orders_still_settle() {
    if !processes::in_session_keyring(
        "poison_mail_is_set_aside_by_every_watcher_and_honest_orders_still_settle",
    ) {
        return;
    }
    let stack = mailstack::shared();
    let world = World::new(stack, "poison", 10_000);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for to in [BANK, SHOP, ORDERER] {
        send(stack, &runtime, to);
    }
    for to in [BANK, SHOP, ORDERER] {
        for (tag, _) in poison(to) {
            let subject = format!("Subject: poison-{tag}");
            assert!(stack.wait_for_message(to, &subject, Duration::from_secs(60)).is_some(), "{tag} to {to}");
        }
    }
    let (bank_log, shop_log) = (world.dir.join("bank.log"), world.dir.join("shop.log"));
    let (bank, shop) = world.start_agents_within(AGENT_ADDRESS_SPACE_KB, &bank_log, &shop_log);

    let first = settle(&world, "300");
    assert!(
        world
            .bank(&["payments"])
            .lines()
            .any(|l| l.starts_with(&first.replace('-', "")) && l.contains("settled"))
    );

    // The agents' mailboxes are MailPay's alone: all three set aside, each
    // reported with its reason.
    for (address, log) in [(BANK, &bank_log), (SHOP, &shop_log)] {
        for tag in ["bomb", "dressed", "parts"] {
            assert_eq!(placed(stack, address, tag), (0, 1), "{tag} to {address}");
        }
        let text = wait_for_text(log, "more than 256 MIME parts", Duration::from_secs(30));
        assert_eq!(
            text.matches("nests quotations more than 64 levels deep").count(),
            2,
            "{address}:\n{text}"
        );
    }
    // The orderer's inbox is the orderer's: only the mail that claims to be
    // MailPay is MailPay's to set aside; the others stay where they are.
    assert_eq!(placed(stack, ORDERER, "dressed"), (0, 1));
    assert_eq!(placed(stack, ORDERER, "bomb"), (1, 0));
    assert_eq!(placed(stack, ORDERER, "parts"), (1, 0));

    // Restarted, the bank does not fetch them again, and still settles.
    drop(bank);
    let again_log = world.dir.join("bank-again.log");
    let (_bank, _shop) = {
        drop(shop);
        world.start_agents_within(AGENT_ADDRESS_SPACE_KB, &again_log, &world.dir.join("shop-again.log"))
    };
    let second = settle(&world, "200");
    let text = std::fs::read_to_string(&again_log).unwrap();
    assert!(!text.contains("not a valid MailPay mail"), "fetched again:\n{text}");
    assert!(
        world
            .bank(&["payments"])
            .lines()
            .any(|l| l.starts_with(&second.replace('-', "")) && l.contains("settled"))
    );
    assert_eq!(world.bank(&["balance", SHOP, "JPY"]).trim(), "500 JPY");
}
