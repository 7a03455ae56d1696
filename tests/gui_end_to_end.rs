//! The desktop wallet end to end: the real `App` (its `update`, the Tasks
//! it returns, run as iced runs them, and its inbox watcher's reports) on
//! a real Postfix + Dovecot (`tests/support/mailstack.rs`), paying the
//! reference merchant agent through the reference bank agent (both
//! daemons, `tests/support/agents.rs`) by Fig. 1, from Pay to "settled".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{agents, app_driver};

use std::time::Duration;

use agents::{BANK, ORDERER, SHOP, World};
use iced::futures::StreamExt;
use mailpay::config::Config;
use mailpay::i18n::Lang;
use mailpay::paths::Paths;
use mailpay::protocol::payment::State;
use mailpay::protocol::{Method, OrderId};
use mailpay::store::book::{Bank, Merchant};
use mailpay::ui::app::{App, Message, Nav, Screen};
use mailpay::ui::backend::{self, Home, Loaded, Session};
use mailpay::ui::screen::{approval, new_payment};
use mailpay::ui::watch::{self, Report};

/// Feeds the watcher's reports to the app until `done` holds.
async fn watch_until(
    app: &mut App,
    reports: &mut (impl iced::futures::Stream<Item = Report> + Unpin),
    mut done: impl FnMut(&App) -> bool,
) {
    let wait = async {
        while !done(app) {
            let report = reports.next().await.expect("the watcher keeps running");
            if let Report::Stopped(why) = &report {
                panic!("the watcher stopped: {why}");
            }
            app_driver::send(app, Message::Watch(agents::addr(ORDERER), report)).await;
        }
    };
    tokio::time::timeout(agents::WAIT, wait).await.expect("the bank answers in time");
}

#[test]
fn fig_1_in_the_app_from_pay_to_settled_with_the_reference_agents_over_real_mail() {
    let world = World::start("gui-e2e", Duration::from_secs(1));
    let (payer_before, shop_before) = (world.balance(ORDERER), world.balance(SHOP));
    let account = agents::account(world.stack, ORDERER);
    let session = Session::new(account.clone(), world.stack.user(ORDERER).password.clone());
    let dir = agents::temp_dir("gui-e2e-wallet");
    let home = Home::open(Paths::under(&dir)).unwrap();

    let order: OrderId = world.runtime.block_on(async {
        // The address book, as the orderer fills it in under Banks and merchants.
        let bank = Bank {
            address: agents::addr(BANK),
            name: "Reference Bank".into(),
            age_recipient: Some(world.bank_recipient.to_string()),
            account_ref: "001".into(),
        };
        backend::save_bank(home.clone(), bank).await.unwrap();
        let shop = Merchant {
            address: agents::addr(SHOP),
            name: "Reference Shop".into(),
            bank: Some(agents::addr(BANK)),
            board: Some(world.board_url.clone()),
            figures: vec![Method::Confirm],
        };
        let book = backend::save_merchant(home.clone(), shop).await.unwrap();

        // The app opens on the account, as after set-up.
        let mut app = App::new(Lang::En, None);
        let loaded = Loaded {
            home: home.clone(),
            config: Config { accounts: vec![account.clone()] },
            sessions: vec![session.clone()],
            keyring_problem: None,
            book,
            language: None,
            initials: None,
            wallet_key: Ok(mailpay::keys::load_or_create_key(&mailpay::keys::wallet_key_path(home.paths()))
                .unwrap()
                .public()
                .to_string()),
            background: Default::default(),
        };
        app_driver::send(&mut app, Message::Loaded(Ok(loaded))).await;
        assert!(matches!(app.screen(), Screen::History(_)));
        let mut reports = watch::stream(home.clone(), session.clone());

        // New payment: merchant, amount, Pay. Both mails go out over SMTP.
        app_driver::send(&mut app, Message::Nav(Nav::Pay)).await;
        for m in [
            new_payment::Message::Merchant(SHOP.into()),
            new_payment::Message::Bank(BANK.into()),
            new_payment::Message::Amount("1200".into()),
        ] {
            app_driver::send(&mut app, Message::Pay(m)).await;
        }
        let seen = app_driver::send(&mut app, Message::Pay(new_payment::Message::Pay)).await;
        let Screen::Pay(form) = app.screen() else { panic!("still on New payment: {seen:?}") };
        let new_payment::Stage::Sending { order, mails } = form.stage() else {
            panic!("not sending: {:?}", form.stage())
        };
        assert_eq!(mails.len(), 2);
        assert!(mails.iter().all(|m| m.status == new_payment::MailStatus::Accepted), "{mails:?}");
        let order = order.clone();
        assert_eq!(backend::payment(home.clone(), order.clone()).await.unwrap().1, State::Sent);

        // The merchant agent bills, the bank agent matches A and asks; the
        // watcher sees the confirmation and the banner offers a review.
        watch_until(&mut app, &mut reports, |app| {
            app.banner().is_some_and(|b| b.review.as_ref() == Some(&order))
        })
        .await;
        app_driver::send(&mut app, Message::Review(order.clone())).await;
        let Screen::Approval(review) = app.screen() else { panic!("no approval view") };
        assert!(review.can_approve(), "the bank's confirmation matches the record");

        // Approve: OK + A goes to the bank, which pays and tells the orderer.
        let seen = app_driver::send(&mut app, Message::Approval(approval::Message::Approve)).await;
        assert!(seen.iter().any(|m| m.starts_with("Approval(Answered(Ok(")), "{seen:?}");
        let id = order.clone();
        let settled = move |app: &App| app.banner().is_some_and(|b| b.text.contains(&id.to_string()) && b.text.contains("Settled"));
        watch_until(&mut app, &mut reports, settled).await;
        let (_, state) = backend::payment(home.clone(), order.clone()).await.unwrap();
        assert!(
            matches!(state, State::Settled { ref reference, .. } if *reference == format!("MP-{}", order.as_str())),
            "{state:?}"
        );
        let kinds: Vec<_> =
            backend::timeline(home.clone(), order.clone()).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["order", "payment-request", "confirm", "approve", "settled"]);
        order
    });

    // The bank moved the money once; the shop shipped.
    world.wait_status(&order, "settled");
    world.wait_shop_state(&order, "shipped");
    assert_eq!(world.balance(ORDERER), payer_before - 1200);
    assert_eq!(world.balance(SHOP), shop_before + 1200);
    let _ = std::fs::remove_dir_all(dir);
}
