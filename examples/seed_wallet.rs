//! Fills a wallet folder with an address book and payments in every state,
//! each made the way the wallet makes it (placed, dispatched, and the bank's
//! mails composed and received through `wallet::receive`), so screenshots
//! and manual tests show real data:
//!
//! ```sh
//! cargo run --release --example seed_wallet -- /tmp/wallet taro@example.jp 40
//! MAILPAY_HOME=/tmp/wallet mailpay
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Instant;

use mailpay::mail::smtp::Dispatch;
use mailpay::paths::Paths;
use mailpay::protocol::compose::{self, Thread};
use mailpay::protocol::confirmation::ConfirmationCode;
use mailpay::protocol::item::LineItem;
use mailpay::protocol::message::{Confirm, Settled};
use mailpay::protocol::parse::parse;
use mailpay::protocol::{EmailAddress, Method, Money, OrderId, OrderTerms, PasswordA};
use mailpay::store::Store;
use mailpay::store::book::{Bank, Merchant};
use mailpay::wallet;

fn address(text: &str) -> EmailAddress {
    text.parse().unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let root = args.get(1).expect("usage: seed_wallet FOLDER [ORDERER] [PAYMENTS]");
    let orderer = address(args.get(2).map_or("taro@example.jp", String::as_str));
    let count: usize = args.get(3).map_or(40, |n| n.parse().expect("a number of payments"));
    let paths = Paths::under(Path::new(root));
    let mut store = Store::open(&paths.database()).unwrap();

    let bank = address("settle@bank.example");
    let key = age::x25519::Identity::generate().to_public().to_string();
    store
        .save_bank(&Bank {
            address: bank.clone(),
            name: "Example Bank".into(),
            age_recipient: Some(key),
            account_ref: "001-1234567".into(),
        })
        .unwrap();
    let shops = [
        Merchant {
            address: address("yamada@tea.example"),
            name: "山田茶舗".into(),
            bank: Some(bank.clone()),
            board: None,
            figures: vec![Method::Confirm, Method::Cheque],
        },
        Merchant {
            address: address("orders@books.example"),
            name: "Example Books".into(),
            bank: Some(bank.clone()),
            board: Some("https://books.example/mailpay/board".into()),
            figures: vec![Method::Confirm, Method::Board, Method::All],
        },
    ];
    for shop in &shops {
        store.save_merchant(shop).unwrap();
    }

    let mut rng = rand::rng();
    // Spread over the last six months, so that the spending overview has
    // a bar for each month.
    let span: i64 = 3600 * 24 * 182;
    let step = span / count.max(1) as i64;
    let start = mailpay::clock::now().plus_seconds(-span);
    let yen = "JPY".parse().unwrap();
    for i in 0..count {
        let shop = &shops[i % shops.len()];
        let created = start.plus_seconds(i as i64 * step);
        let amount = Money::new(500 + (i as u64 * 371) % 9000, yen).unwrap();
        let terms = OrderTerms {
            order: OrderId::generate(&mut rng),
            orderer: orderer.clone(),
            merchant: shop.address.clone(),
            bank: bank.clone(),
            amount,
            items: vec![LineItem::new(1, if i % 2 == 0 { "煎茶 100g" } else { "Paperback" }, None).unwrap()],
            password: PasswordA::generate(&mut rng),
            created,
            expires: created.plus_seconds(24 * 3600),
            method: Method::Confirm,
            board: None,
            nonce: None,
        }
        .bound(&mut rand::rng());
        wallet::place(&mut store, &terms, None, created).unwrap();
        // The last payment stays "sending": its mails wait in the outbox.
        if i + 1 == count {
            continue;
        }
        let queued = wallet::queued(&store, &terms.order).unwrap();
        let results: Vec<Dispatch> = queued
            .iter()
            .map(|(m, _)| Dispatch {
                message_id: m.message_id.clone(),
                sent_as: None,
                result: Ok(()),
                started: Instant::now(),
                finished: Instant::now(),
            })
            .collect();
        wallet::record_dispatch(&store, &terms.order, &queued, &results).unwrap();
        if i % 7 == 3 {
            continue; // sent, the bank has not answered yet
        }
        // The bank's confirmation; every 9th one differs from the order.
        let mut confirmed = amount;
        if i % 9 == 4 {
            confirmed = Money::new(amount.minor() * 10, yen).unwrap();
        }
        let code = ConfirmationCode::compute(
            b"demo bank key",
            &terms.order,
            confirmed,
            &terms.merchant,
            &terms.password,
            b"n",
        );
        let confirm = Confirm {
            order: terms.order.clone(),
            orderer: orderer.clone(),
            merchant: terms.merchant.clone(),
            amount: confirmed,
            items: terms.items.clone(),
            code,
            expires: terms.expires,
            attempts_left: 5,
            proof: Some(mailpay::protocol::confirmation::Proof::compute(&terms.password, &terms.order)),
        };
        let mail =
            compose::confirm(&confirm, &bank, &Thread::default()).build(created.plus_seconds(600), &mut rng);
        wallet::receive(&store, &parse(&mail.bytes).unwrap(), &mail.bytes, false).unwrap();
        if i % 9 == 4 || i % 5 == 1 {
            continue; // awaiting the orderer's answer
        }
        let settled = Settled {
            order: terms.order.clone(),
            orderer: orderer.clone(),
            merchant: terms.merchant.clone(),
            amount,
            settled: created.plus_seconds(900),
            reference: format!("TX{i:05}"),
        };
        wallet::act(&store, &terms.order, &mailpay::protocol::payment::Event::UserApprove, None, false)
            .unwrap();
        let queued = wallet::queued(&store, &terms.order).unwrap();
        let results: Vec<Dispatch> = queued
            .iter()
            .map(|(m, _)| Dispatch {
                message_id: m.message_id.clone(),
                sent_as: None,
                result: Ok(()),
                started: Instant::now(),
                finished: Instant::now(),
            })
            .collect();
        wallet::record_dispatch(&store, &terms.order, &queued, &results).unwrap();
        let mail = compose::settled(&settled, &bank, &orderer, &Thread::default())
            .build(created.plus_seconds(900), &mut rng);
        wallet::receive(&store, &parse(&mail.bytes).unwrap(), &mail.bytes, false).unwrap();
    }
    println!("{count} payments in {}", paths.database().display());
}
