//! The desktop wallet's backend over a real Postfix + Dovecot (see
//! `tests/support/mailstack.rs`), Fig. 1 from Pay to "settled": the wallet
//! records and sends through SMTP with TLS, reads its inbox with the IMAP
//! watcher and answers the bank. The bank and the merchant on the other
//! accounts are the demo's (`src/demo/`), each reading its own inbox over
//! IMAP and sending over SMTP, standing in for the reference agents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/mailstack.rs"]
mod mailstack;

use std::time::Duration;

use mailpay::demo::bank::DemoBank;
use mailpay::demo::merchant::DemoMerchant;
use mailpay::mail::account::{Account, Security, Server};
use mailpay::mail::imap::{self, Received, Resume, WatchConfig, WatchEvent};
use mailpay::mail::smtp::Smtp;
use mailpay::paths::Paths;
use mailpay::protocol::compose::Draft;
use mailpay::protocol::parse::Incoming;
use mailpay::protocol::payment::State;
use mailpay::protocol::{EmailAddress, Method, OrderId};
use mailpay::store::book::{Bank, Merchant};
use mailpay::ui::backend::{self, Home, Session};
use mailpay::ui::screen::new_payment;

fn account(stack: &mailstack::MailStack, address: &str) -> (Account, String) {
    let user = stack.user(address);
    let account = Account {
        address: address.parse().unwrap(),
        username: user.address.clone(),
        smtp: Server { host: stack.host.clone(), port: stack.smtps_port, security: Security::Tls },
        imap: Server { host: stack.host.clone(), port: stack.imaps_port, security: Security::Tls },
        ca_file: Some(stack.ca_file.clone()),
    };
    (account, user.password.clone())
}

/// One party's inbox, read from where it stopped last time.
struct Inbox {
    config: WatchConfig,
    resume: Resume,
}

impl Inbox {
    fn new(account: &Account, password: &str) -> Inbox {
        let mut config = WatchConfig::new(account.clone(), password.to_string());
        config.mailpay_folder = None;
        config.max_backoff = Duration::from_secs(1);
        Inbox { config, resume: Resume::default() }
    }

    /// Waits until at least `want` new MailPay mails arrived; returns them.
    async fn take(&mut self, want: usize) -> Vec<(Incoming, Vec<u8>)> {
        let mut got = Vec::new();
        let watching = imap::watch(&self.config, &mut self.resume, |event| {
            match event {
                WatchEvent::Mail { raw, received: Received::MailPay(mail), .. } => got.push((*mail, raw)),
                WatchEvent::Mail { received: Received::Invalid(e), .. } => {
                    panic!("an invalid MailPay mail: {e}")
                }
                WatchEvent::Idle { .. } if got.len() >= want => return false,
                _ => {}
            }
            true
        });
        tokio::time::timeout(Duration::from_secs(60), watching)
            .await
            .expect("the mails arrive within a minute");
        got
    }
}

async fn send(smtp: &Smtp, drafts: Vec<Draft>) {
    let mut rng = rand::rng();
    let mails: Vec<_> = drafts.into_iter().map(|d| d.build(mailpay::wallet::now(), &mut rng)).collect();
    for dispatch in smtp.send_all(&mails).await {
        dispatch.result.expect("the agent's mail is accepted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fig_1_from_pay_to_settled_over_real_mail() {
    let stack = mailstack::shared();
    let (orderer, orderer_pw) = account(stack, "orderer@buyer.test");
    let (shop, shop_pw) = account(stack, "shop@shop.test");
    let (bank, bank_pw) = account(stack, "bank@bank.test");

    let dir = std::env::temp_dir().join(format!("mailpay-wallet-mailstack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let home = tokio::task::spawn_blocking(move || Home::open(Paths::under(&dir))).await.unwrap().unwrap();
    let session = Session::new(orderer.clone(), orderer_pw.clone());
    backend::save_bank(
        home.clone(),
        Bank {
            address: bank.address.clone(),
            name: "Bank".into(),
            age_recipient: None,
            account_ref: "1".into(),
        },
    )
    .await
    .unwrap();
    let book = backend::save_merchant(
        home.clone(),
        Merchant {
            address: shop.address.clone(),
            name: "Shop".into(),
            bank: Some(bank.address.clone()),
            board: None,
            figures: vec![Method::Confirm],
        },
    )
    .await
    .unwrap();

    // The orderer fills in New payment and presses Pay.
    let me: EmailAddress = orderer.address.clone();
    let mut form = new_payment::State::for_merchant(&shop.address, &book);
    let _ = form.update(new_payment::Message::Amount("1200".into()), Some(&me), &book);
    let order =
        form.order(Some(&me), &book, mailpay::wallet::now(), OrderId::generate(&mut rand::rng())).unwrap();
    let id = order.terms.order.clone();
    backend::place(home.clone(), order).await.unwrap();
    let sent = backend::dispatch(home.clone(), session.clone(), id.clone()).await.unwrap();
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    assert_eq!(backend::payment(home.clone(), id.clone()).await.unwrap().1, State::Sent);

    // The merchant bills; the bank matches A from both routes and asks.
    let (shop_smtp, bank_smtp) = (Smtp::new(&shop, &shop_pw).unwrap(), Smtp::new(&bank, &bank_pw).unwrap());
    let mut merchant = DemoMerchant::new(shop.address.clone());
    let mut banker = DemoBank::new(bank.address.clone());
    let (mut shop_inbox, mut bank_inbox, mut my_inbox) =
        (Inbox::new(&shop, &shop_pw), Inbox::new(&bank, &bank_pw), Inbox::new(&orderer, &orderer_pw));
    for (mail, _) in shop_inbox.take(1).await {
        send(&shop_smtp, merchant.handle(&mail, mailpay::wallet::now())).await;
    }
    let mut asked = Vec::new();
    for (mail, _) in bank_inbox.take(2).await {
        asked.extend(banker.handle(&mail, mailpay::wallet::now()));
    }
    assert_eq!(asked.len(), 1, "one confirmation once both routes are in");
    send(&bank_smtp, asked).await;

    // The wallet's inbox: the confirmation, checked against the record.
    for (mail, raw) in my_inbox.take(1).await {
        home.with(move |s| Ok(mailpay::wallet::receive(s, &mail, &raw, false)?)).await.unwrap();
    }
    let (_, state) = backend::payment(home.clone(), id.clone()).await.unwrap();
    assert!(
        matches!(state, State::AwaitingConfirmation { ref mismatches, .. } if mismatches.is_empty()),
        "{state:?}"
    );

    // Approve: OK + A over SMTP; the bank pays and tells both.
    let sent = backend::answer(home.clone(), session.clone(), id.clone(), true).await.unwrap();
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    for (mail, _) in bank_inbox.take(1).await {
        send(&bank_smtp, banker.handle(&mail, mailpay::wallet::now())).await;
    }
    for (mail, raw) in my_inbox.take(1).await {
        home.with(move |s| Ok(mailpay::wallet::receive(s, &mail, &raw, false)?)).await.unwrap();
    }
    let (_, state) = backend::payment(home.clone(), id.clone()).await.unwrap();
    assert!(matches!(state, State::Settled { .. }), "{state:?}");
    let kinds: Vec<_> =
        backend::timeline(home.clone(), id).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["order", "payment-request", "confirm", "approve", "settled"]);
}
