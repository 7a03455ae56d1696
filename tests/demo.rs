//! The demo end to end, each figure to "settled", through the wallet's own
//! backend (the calls the app makes), the real store and protocol, and the
//! demo's mail loop with the reference bank and merchant and the board:
//! what "Try the demo" shows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mailpay::mail::imap::Received;
use mailpay::protocol::payment::State;
use mailpay::protocol::{EmailAddress, Money, OrderNonce};
use mailpay::ui::backend::{self, Session};
use mailpay::ui::screen::new_payment;

/// Takes the mails the loop delivered to the orderer into the wallet.
async fn deliver(session: &Session, home: &backend::Home) -> Vec<String> {
    let mail = session.demo_loop().expect("a demo session").clone();
    let mut outcomes = Vec::new();
    for raw in mail.receive().await {
        let incoming = mailpay::protocol::parse::parse(&raw).expect("the demo sends valid MailPay mail");
        let received = Received::MailPay(Box::new(incoming));
        let receipt = home.with(move |s| mailpay::wallet::take(s, &raw, received)).await.unwrap();
        outcomes.push(format!("{receipt:?}"));
    }
    outcomes
}

/// The demo's throw-away folder (wallet, bank, merchant), to remove.
fn demo_root(home: &backend::Home) -> std::path::PathBuf {
    home.paths().config_dir.parent().and_then(|p| p.parent()).unwrap().to_path_buf()
}

/// Pays the demo merchant by `figure` (1 to 4) from the form to
/// "settled", answering a confirmation when the bank asks for one, and
/// returns the order's timeline (mail kinds).
async fn pay_by_figure(figure: u8) -> Vec<String> {
    let loaded = backend::start_demo().await.expect("the demo starts");
    let session = loaded.sessions.first().cloned().expect("the demo has its orderer");
    let home = loaded.home.clone();
    let merchant = loaded.book.merchants.first().expect("a demo merchant").clone();

    // The New payment form, as the orderer fills it in.
    let mut form = new_payment::State::for_merchant(&merchant.address, &loaded.book);
    let orderer = session.account.address.clone();
    let book = &loaded.book;
    let _ = form.update(new_payment::Message::Amount("1200".into()), std::slice::from_ref(&orderer), book);
    let _ = form.update(
        new_payment::Message::Cheque(matches!(figure, 2 | 4)),
        std::slice::from_ref(&orderer),
        book,
    );
    let _ = form.update(
        new_payment::Message::Board(matches!(figure, 3 | 4)),
        std::slice::from_ref(&orderer),
        book,
    );
    let order = form
        .order(Some(&orderer), book, mailpay::clock::now(), OrderNonce::generate(&mut rand::rng()))
        .unwrap();
    assert_eq!(order.terms.method.figure(), figure);
    let id = order.terms.order.clone();

    // Pay: recorded, the board record posted if due, then the mails go out at once.
    backend::place(home.clone(), order).await.unwrap();
    let sent = backend::dispatch(home.clone(), vec![session.clone()], id.clone()).await.unwrap();
    assert_eq!(sent.len(), if matches!(figure, 2 | 4) { 3 } else { 2 });
    assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
    if matches!(figure, 3 | 4) {
        let board = merchant.board.as_deref().unwrap();
        let records = mailpay::board::client::Client::default().fetch(board, &id).await.unwrap();
        assert_eq!(records.len(), 1, "on the board once: {records:?}");
        assert_eq!(records[0].initials, mailpay::demo::INITIALS);
        let wallet_key =
            mailpay::keys::load_or_create_key(&mailpay::keys::wallet_key_path(home.paths())).unwrap();
        assert_eq!(
            records[0].signed.as_ref().map(|(k, _)| *k),
            Some(wallet_key.public()),
            "signed by the wallet"
        );
    }

    // The merchant billed; the bank matched A from both routes (and the
    // cheque, and the board) and either asks or settles.
    let outcomes = deliver(&session, &home).await;
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    let (terms, state) = backend::payment(home.clone(), id.clone()).await.unwrap();
    if let State::AwaitingConfirmation { confirm, mismatches } = state {
        assert!(mismatches.is_empty());
        assert_eq!(confirm.amount, terms.amount);
        assert_eq!(confirm.amount, Money::parse_major("1200", "JPY".parse().unwrap()).unwrap());
        // Approve: OK + A goes to the bank, which pays and tells the orderer.
        let sent = backend::answer(home.clone(), vec![session.clone()], id.clone(), true).await.unwrap();
        assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");
        let outcomes = deliver(&session, &home).await;
        assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    }
    let (_, state) = backend::payment(home.clone(), id.clone()).await.unwrap();
    let bank_reference = format!("MP-{}", id.as_str());
    assert!(
        matches!(state, State::Settled { ref reference, .. } if *reference == bank_reference),
        "{state:?}"
    );
    // The demo bank's own ledger moved the money, exactly once.
    let ledger = mailpay::bank::ledger::Ledger::open(&demo_root(&home).join("bank/ledger.sqlite")).unwrap();
    let yen = "JPY".parse().unwrap();
    assert_eq!(ledger.balance(&orderer, yen).unwrap(), mailpay::demo::BALANCE - 1200);
    assert_eq!(ledger.balance(&merchant.address, yen).unwrap(), 1200);
    assert_eq!(ledger.transfers().unwrap(), 1);
    let timeline = backend::timeline(home.clone(), id.clone()).await.unwrap();
    let _ = std::fs::remove_dir_all(demo_root(&home));
    timeline.into_iter().map(|e| e.kind).collect()
}

#[tokio::test]
async fn figure_1_from_pay_to_settled_on_the_reference_agents() {
    assert_eq!(pay_by_figure(1).await, ["order", "payment-request", "confirm", "approve", "settled"]);
}

#[tokio::test]
async fn figure_2_the_cheque_replaces_the_confirmation() {
    assert_eq!(pay_by_figure(2).await, ["order", "payment-request", "wallet", "settled"]);
}

#[tokio::test]
async fn figure_3_the_board_record_replaces_the_confirmation() {
    assert_eq!(pay_by_figure(3).await, ["order", "payment-request", "settled"]);
}

#[tokio::test]
async fn figure_4_all_combined_cheque_board_and_confirmation() {
    assert_eq!(
        pay_by_figure(4).await,
        ["order", "payment-request", "wallet", "confirm", "approve", "settled"]
    );
}

#[tokio::test]
async fn the_demo_refuses_mail_to_strangers() {
    let loaded = backend::start_demo().await.unwrap();
    let session = loaded.sessions.first().cloned().unwrap();
    let mut form = new_payment::State::default();
    let orderer = session.account.address.clone();
    let book = loaded.book.clone();
    let _ = form.update(
        new_payment::Message::Merchant("elsewhere@shop.example".into()),
        std::slice::from_ref(&orderer),
        &book,
    );
    let _ = form.update(
        new_payment::Message::Bank(mailpay::demo::BANK.into()),
        std::slice::from_ref(&orderer),
        &book,
    );
    let _ = form.update(new_payment::Message::Amount("500".into()), std::slice::from_ref(&orderer), &book);
    let order = form
        .order(Some(&orderer), &book, mailpay::clock::now(), OrderNonce::generate(&mut rand::rng()))
        .unwrap();
    let id = order.terms.order.clone();
    backend::place(loaded.home.clone(), order).await.unwrap();
    let sent = backend::dispatch(loaded.home.clone(), vec![session], id.clone()).await.unwrap();
    let refused: Vec<_> = sent.iter().filter(|s| s.result.is_err()).map(|s| s.recipient.as_str()).collect();
    assert_eq!(refused, ["elsewhere@shop.example"]);
    let (_, state) = backend::payment(loaded.home.clone(), id).await.unwrap();
    assert!(matches!(state, State::Failed { .. }), "{state:?}");
    let _ = std::fs::remove_dir_all(demo_root(&loaded.home));
}

/// "Confirm automatically when the bank's confirmation matches": the
/// confirmation is answered without the orderer, and the payment settles.
#[tokio::test]
async fn a_pre_approved_order_is_answered_when_it_matches() {
    let loaded = backend::start_demo().await.unwrap();
    let session = loaded.sessions.first().cloned().unwrap();
    let home = loaded.home.clone();
    let merchant = loaded.book.merchants.first().unwrap().address.clone();
    let orderer = session.account.address.clone();
    let mut form = new_payment::State::for_merchant(&merchant, &loaded.book);
    let _ =
        form.update(new_payment::Message::Amount("800".into()), std::slice::from_ref(&orderer), &loaded.book);
    let _ =
        form.update(new_payment::Message::AutoConfirm(true), std::slice::from_ref(&orderer), &loaded.book);
    let order = form
        .order(Some(&orderer), &loaded.book, mailpay::clock::now(), OrderNonce::generate(&mut rand::rng()))
        .unwrap();
    assert!(order.pre_approved);
    let id = order.terms.order.clone();
    backend::place(home.clone(), order).await.unwrap();
    backend::dispatch(home.clone(), vec![session.clone()], id.clone()).await.unwrap();

    // The watcher's path: the stored flag decides.
    deliver(&session, &home).await;
    let (_, state) = backend::payment(home.clone(), id.clone()).await.unwrap();
    assert!(matches!(state, State::Approved { sent: false, .. }), "approved without asking: {state:?}");
    backend::dispatch(home.clone(), vec![session.clone()], id.clone()).await.unwrap();
    deliver(&session, &home).await;
    let (_, state) = backend::payment(home.clone(), id).await.unwrap();
    assert!(matches!(state, State::Settled { .. }), "{state:?}");
    let _ = std::fs::remove_dir_all(demo_root(&home));
}

/// With several accounts, a payment's mails go from the account that
/// placed it, whatever the order of the accounts; a payment whose account
/// is gone says so instead of sending from another.
#[tokio::test]
async fn mails_go_from_the_account_that_placed_the_payment() {
    let loaded = backend::start_demo().await.unwrap();
    let demo = loaded.sessions.first().cloned().unwrap();
    // Another account, first in the list: were its server used, sending
    // would fail (nothing listens on port 1).
    let mut other = mailpay::mail::account::Account::guess("hanako@example.jp".parse().unwrap());
    other.smtp.host = "127.0.0.1".into();
    other.smtp.port = 1;
    let other = Session::new(other, "not-a-password".into());
    let accounts = [other.account.address.clone(), demo.account.address.clone()];

    let merchant = loaded.book.merchants.first().unwrap().address.clone();
    // Places 700 to the demo's merchant from `from`, or from the form's
    // default account; returns the order and the account it is from.
    let place = async |from: Option<&EmailAddress>| {
        let mut form = new_payment::State::for_merchant(&merchant, &loaded.book);
        if let Some(from) = from {
            let _ = form.update(new_payment::Message::From(from.clone()), &accounts, &loaded.book);
        }
        let _ = form.update(new_payment::Message::Amount("700".into()), &accounts, &loaded.book);
        let orderer = form.orderer(&accounts).cloned();
        let nonce = OrderNonce::generate(&mut rand::rng());
        let order = form.order(orderer.as_ref(), &loaded.book, mailpay::clock::now(), nonce).unwrap();
        let id = order.terms.order.clone();
        backend::place(loaded.home.clone(), order).await.unwrap();
        (id, orderer)
    };

    let (id, orderer) = place(Some(&demo.account.address)).await;
    assert_eq!(orderer.as_ref(), Some(&demo.account.address), "the chosen account");
    let sent =
        backend::dispatch(loaded.home.clone(), vec![other.clone(), demo.clone()], id.clone()).await.unwrap();
    assert!(sent.iter().all(|s| s.result.is_ok()), "sent from the demo account: {sent:?}");

    // The same with the other account first by default, but its account gone.
    let (id, orderer) = place(None).await;
    assert_eq!(orderer.as_ref(), Some(&other.account.address), "the first account by default");
    let err = backend::dispatch(loaded.home.clone(), vec![demo.clone()], id).await.unwrap_err();
    assert!(
        err.to_string().contains("cannot send from hanako@example.jp: it is not an account of this wallet"),
        "{err}"
    );
}
