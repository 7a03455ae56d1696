//! Parser throughput: `cargo bench --bench parser`.
//!
//! Prints the median time to parse a typical MailPay mail and a 1 MB one
//! (a long quoted thread around the blocks), with throughput.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use mailpay::protocol::compose;
use mailpay::protocol::item::LineItem;
use mailpay::protocol::parse::parse;
use mailpay::protocol::{Method, Money, OrderId, OrderTerms, PasswordA, Timestamp};

fn terms() -> OrderTerms {
    let mut rng = rand::rng();
    let created = Timestamp::from_unix(1_795_630_158);
    OrderTerms {
        order: OrderId::generate(&mut rng),
        orderer: "orderer@buyer.test".parse().expect("address"),
        merchant: "shop@shop.test".parse().expect("address"),
        bank: "bank@bank.test".parse().expect("address"),
        amount: "1200 JPY".parse::<Money>().expect("money"),
        items: vec![
            "2 x Green tea 100g @ 500 JPY".parse::<LineItem>().expect("item"),
            "1 x 抹茶 30g @ 200 JPY".parse::<LineItem>().expect("item"),
        ],
        password: PasswordA::generate(&mut rng),
        created,
        expires: created.plus_seconds(86_400),
        method: Method::Confirm,
        board: None,
        nonce: None,
    }
    .bound(&mut rand::rng())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn measure(name: &str, mail: &[u8], rounds: usize) {
    assert!(parse(mail).is_ok(), "{name} must parse");
    let samples: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            black_box(parse(black_box(mail)).is_ok());
            start.elapsed()
        })
        .collect();
    let m = median(samples);
    let mb_per_s = mail.len() as f64 / m.as_secs_f64() / 1e6;
    let per_s = 1.0 / m.as_secs_f64();
    println!(
        "{name:<28} {:>9} bytes  median {:>10.1?}  {mb_per_s:>8.1} MB/s  {per_s:>10.0} mails/s",
        mail.len(),
        m
    );
}

fn main() {
    let mut rng = rand::rng();
    let now = Timestamp::from_unix(1_795_630_158);
    let [order, _] = compose::order(&terms());
    let typical = order.clone().build(now, &mut rng).bytes;

    let mut big = order;
    let line = "> > This is an earlier message in a long thread, quoted by every reply since.\n";
    while big.text.len() < 1_000_000 - 2_000 {
        big.text.push_str(line);
    }
    let big = big.build(now, &mut rng).bytes;

    println!("parser benchmark (release build, median of repeated runs)");
    measure("typical order mail", &typical, 2_000);
    measure("1 MB quoted-thread mail", &big, 30);
}
