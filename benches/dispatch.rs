//! Dispatch against the real mail stack on loopback:
//! `cargo bench --bench dispatch` (as root: it starts Postfix + Dovecot).
//!
//! From "Pay" (the payment recorded, both mails queued) to both mails
//! accepted by Postfix and recorded, next to one mail sent alone, with
//! MailPay's SMTP client and with lettre's own transport (the obvious way)
//! in the same run. The goal: Pay costs at most twice one mail alone (the
//! two mails go on two connections at once). Medians and
//! p99 over repeated rounds, interleaved so that all sides see the same
//! machine.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use support::{accounts, mailstack};

use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use mailpay::mail::smtp::Smtp;
use mailpay::protocol::compose;
use mailpay::wallet::{MailServers, NewPayment};

const ROUNDS: usize = 40;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let median = percentile(&samples, 0.5);
    println!(
        "{name:<44} median {:>9.2?}  p99 {:>9.2?}  (n={})",
        median,
        percentile(&samples, 0.99),
        samples.len()
    );
    median
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs bench
    // binaries without it, and this one needs a minute and a mail stack.
    if !std::env::args().any(|a| a == "--bench") {
        println!("dispatch benchmark: run it with `cargo bench --bench dispatch`");
        return;
    }
    let stack = mailstack::MailStack::start_private();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let orderer = "orderer@buyer.test";
    let account = accounts::account(&stack, orderer);
    let password = accounts::password(&stack, orderer);
    let smtp = Smtp::new(&account, &password).unwrap();
    // "Pay" as every front end does it: the wallet places the payment, then
    // sends through the account's servers.
    let (_, db) = accounts::temp_store("bench-dispatch");
    let wallet = accounts::wallet_over(&db);
    let servers = MailServers::new(account.clone(), &password);

    // The obvious alternative: lettre's transport, STARTTLS, same account.
    let pem = std::fs::read(&stack.ca_file).unwrap();
    let tls = TlsParameters::builder("localhost".into())
        .add_root_certificate(Certificate::from_pem(&pem).unwrap())
        .build_rustls()
        .unwrap();
    let lettre = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("localhost")
        .port(stack.submission_port)
        .tls(Tls::Required(tls))
        .credentials(Credentials::new(orderer.into(), password.clone()))
        .build();

    let mut both = Vec::new();
    let mut alone = Vec::new();
    let mut alone_lettre = Vec::new();
    for round in 0..ROUNDS + 3 {
        let terms = accounts::terms(orderer, "shop@shop.test", "bank@bank.test", 1200);
        let started = Instant::now();
        let payment = NewPayment { terms: terms.clone(), bank_key: None, pre_approved: false };
        let sent = runtime.block_on(async {
            wallet.place(payment).await.unwrap();
            wallet.dispatch(&servers, &terms.order).await.unwrap()
        });
        let elapsed = started.elapsed();
        assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");

        let single = accounts::terms(orderer, "shop2@shop2.test", "bank@bank.test", 1200);
        let [order, _] = compose::order(&single);
        let mail = order.build(accounts::now(), &mut rand::rng());
        let started = Instant::now();
        runtime.block_on(smtp.send(&mail)).unwrap();
        let single_elapsed = started.elapsed();

        let envelope =
            Envelope::new(Some(orderer.parse().unwrap()), vec!["shop2@shop2.test".parse().unwrap()]).unwrap();
        let started = Instant::now();
        runtime.block_on(lettre.send_raw(&envelope, &mail.bytes)).unwrap();
        let lettre_elapsed = started.elapsed();
        // The first rounds warm up caches and Postfix's process pool.
        if round >= 3 {
            both.push(elapsed);
            alone.push(single_elapsed);
            alone_lettre.push(lettre_elapsed);
        }
    }
    println!("dispatch, {ROUNDS} rounds on loopback (STARTTLS + AUTH per connection):");
    let both = report("Pay -> both mails accepted and recorded", both);
    let one = report("one mail alone, MailPay's SMTP client", alone);
    let lettre = report("one mail alone, lettre's transport", alone_lettre);
    println!("{:<44} {:.2}", "ratio to one mail alone (goal <= 2)", both.as_secs_f64() / one.as_secs_f64());
    println!("{:<44} {:.2}", "ratio to lettre alone", both.as_secs_f64() / lettre.as_secs_f64());
}
