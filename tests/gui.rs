//! The desktop wallet, driven through iced's own headless simulator
//! (`iced_test`): the real views, clicked and typed into, their messages fed
//! back into the real `update`. Run with `ICED_TEST_BACKEND=tiny-skia`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::app_driver::{self, texts};

use iced_test::simulator;
use mailpay::i18n::{Lang, Tr};
use mailpay::mail::smtp::SendError;
use mailpay::paths::Paths;
use mailpay::protocol::{EmailAddress, Kind, Method, Money, OrderId, OrderNonce};
use mailpay::store::book::{Bank, Merchant};
use mailpay::ui::app::{App, Message, Nav, Screen};
use mailpay::ui::backend::{self, Book, Home, Loaded};
use mailpay::ui::screen::{approval, history, new_payment, settings};
use mailpay::wallet::Sent;
use support::protocol::{confirm_for, money, terms};

fn shop() -> EmailAddress {
    "shop@example.com".parse().unwrap()
}

fn bank() -> EmailAddress {
    "settle@bank.example".parse().unwrap()
}

fn orderer() -> EmailAddress {
    "taro@example.jp".parse().unwrap()
}

fn book() -> Book {
    Book {
        banks: vec![Bank {
            address: bank(),
            name: "Example Bank".into(),
            age_recipient: None,
            account_ref: "001-1234567".into(),
        }],
        merchants: vec![Merchant {
            address: shop(),
            name: "Example Shop".into(),
            bank: Some(bank()),
            board: None,
            figures: vec![Method::Confirm],
        }],
    }
}

/// Feeds a simulator's messages to the form and keeps the actions.
fn apply(
    state: &mut new_payment::State,
    messages: impl IntoIterator<Item = new_payment::Message>,
    book: &Book,
) -> Vec<new_payment::Action> {
    messages.into_iter().map(|m| state.update(m, &[orderer()], book)).collect()
}

#[test]
fn fill_the_payment_form_press_pay_and_follow_each_mail() {
    let tr = Tr::new(Lang::En);
    let book = book();
    let mut state = new_payment::State::for_merchant(&shop(), &book);

    // Type the amount into the focused field.
    let mut ui = simulator(state.view(&tr, &[orderer()], &book));
    ui.click(iced_test::selector::id(new_payment::AMOUNT_INPUT)).expect("the amount field is on screen");
    let _ = ui.typewrite("1200");
    let messages: Vec<_> = ui.into_messages().collect();
    let _ = apply(&mut state, messages, &book);
    assert_eq!(state.amount(), Ok(Money::parse_major("1200", "JPY".parse().unwrap()).unwrap()));

    // The summary says what will happen; Pay produces the order to record.
    let mut ui = simulator(state.view(&tr, &[orderer()], &book));
    let summary = "Pay ¥1,200 to shop@example.com through settle@bank.example (Fig. 1).";
    assert!(ui.find(summary).is_ok(), "{:?}", texts(&mut ui));
    ui.click("Pay").expect("the Pay button is on screen");
    let messages: Vec<_> = ui.into_messages().collect();
    let actions = apply(&mut state, messages, &book);
    let order = actions
        .into_iter()
        .find_map(|a| match a {
            new_payment::Action::Place(order) => Some(order),
            _ => None,
        })
        .expect("Pay asks the app to record the payment");
    assert_eq!(order.terms.merchant, shop());
    assert_eq!(order.terms.bank, bank());
    assert_eq!(order.terms.orderer, orderer());
    assert_eq!(order.terms.amount.minor(), 1200);
    assert_eq!(order.terms.method, Method::Confirm);
    assert_eq!(state.stage(), &new_payment::Stage::Recording);

    // A second press while recording does nothing (no duplicate payment).
    let mut ui = simulator(state.view(&tr, &[orderer()], &book));
    let _ = ui.click("Recording…");
    assert!(
        ui.into_messages().all(|m| !matches!(m, new_payment::Message::Pay))
            || state.stage() == &new_payment::Stage::Recording
    );

    // Recorded: both mails are shown on their way, then one fails.
    let id = order.terms.order.clone();
    let mails = vec![(Kind::Order, shop()), (Kind::PaymentRequest, bank())];
    let action = state.update(new_payment::Message::Placed(Ok((id.clone(), mails))), &[orderer()], &book);
    assert!(matches!(action, new_payment::Action::Dispatch(ref o) if *o == id));
    let mut ui = simulator(state.view(&tr, &[orderer()], &book));
    assert!(ui.find("Order to the merchant → shop@example.com").is_ok());
    assert!(ui.find("Sending…").is_ok());
    drop(ui);

    let sent = vec![
        Sent { kind: Kind::Order, recipient: shop(), message_id: "<a@x>".into(), result: Ok(()) },
        Sent {
            kind: Kind::PaymentRequest,
            recipient: bank(),
            message_id: "<b@x>".into(),
            result: Err(SendError::Temporary { reply: "451 try later".into() }),
        },
    ];
    let _ = state.update(new_payment::Message::Dispatched(Ok(sent)), &[orderer()], &book);
    let mut ui = simulator(state.view(&tr, &[orderer()], &book));
    assert!(ui.find("Accepted by the mail server").is_ok());
    assert!(ui.find("Not sent: the server refused the mail for now, try again later: 451 try later").is_ok());
    ui.click("Retry the mails that failed").expect("Retry is offered after a failure");
    let messages: Vec<_> = ui.into_messages().collect();
    let actions = apply(&mut state, messages, &book);
    assert!(actions.iter().any(|a| matches!(a, new_payment::Action::Retry(o) if *o == id)));
}

#[test]
fn an_invalid_amount_is_refused_before_anything_is_recorded() {
    let tr = Tr::new(Lang::En);
    let book = book();
    let mut state = new_payment::State::for_merchant(&shop(), &book);
    let _ = state.update(new_payment::Message::Amount("12.5".into()), &[orderer()], &book);
    let mut ui = simulator(state.view(&tr, &[orderer()], &book));
    ui.click("Pay").unwrap();
    let messages: Vec<_> = ui.into_messages().collect();
    let actions = apply(&mut state, messages, &book);
    assert!(
        actions.iter().all(|a| !matches!(a, new_payment::Action::Place(_))),
        "JPY has no decimals: nothing is placed"
    );
    assert_eq!(state.stage(), &new_payment::Stage::Editing);
}

#[test]
fn approval_is_blocked_when_the_confirmation_differs() {
    let tr = Tr::new(Lang::En);
    let recorded = terms(Method::Confirm);
    let mut confirm = confirm_for(&recorded);
    confirm.amount = money("12000 JPY");
    let mut state = approval::State::new(recorded.clone(), confirm);
    assert!(!state.can_approve());

    let mut ui = simulator(state.view(&tr));
    assert!(ui.find("¥12,000").is_ok(), "the bank's figure is shown");
    assert!(ui.find("¥1,200").is_ok(), "beside the recorded one");
    assert!(ui.find(tr.dynamic("approval-blocked").as_str()).is_ok());
    let _ = ui.click("Approve (send OK + A)");
    let messages: Vec<_> = ui.into_messages().collect();
    assert!(
        messages.iter().all(|m| !matches!(m, approval::Message::Approve)),
        "a disabled button sends nothing"
    );
    // Even a forged Approve message is refused by update.
    assert!(matches!(state.update(approval::Message::Approve), approval::Action::None));

    // Decline stays possible.
    let mut ui = simulator(state.view(&tr));
    ui.click("Decline").unwrap();
    let actions: Vec<_> = ui.into_messages().map(|m| state.update(m)).collect();
    assert!(actions.iter().any(|a| matches!(a, approval::Action::Answer { approve: false, .. })));
}

#[test]
fn a_matching_confirmation_can_be_approved() {
    let tr = Tr::new(Lang::En);
    let recorded = terms(Method::Confirm);
    let mut state = approval::State::new(recorded.clone(), confirm_for(&recorded));
    let mut ui = simulator(state.view(&tr));
    assert!(ui.find(tr.dynamic("approval-blocked").as_str()).is_err());
    ui.click("Approve (send OK + A)").unwrap();
    let actions: Vec<_> = ui.into_messages().map(|m| state.update(m)).collect();
    assert!(
        actions.iter().any(
            |a| matches!(a, approval::Action::Answer { approve: true, order } if *order == recorded.order)
        )
    );
}

fn temp_home(name: &str) -> (Home, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("mailpay-gui-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    (Home::open(Paths::under(&dir)).unwrap(), dir)
}

fn loaded(home: Home) -> Loaded {
    Loaded {
        home,
        config: Default::default(),
        sessions: Vec::new(),
        keyring_problem: None,
        book: book(),
        language: None,
        initials: None,
        wallet_key: Ok(test_wallet_key()),
        background: Default::default(),
    }
}

fn test_wallet_key() -> String {
    mailpay::protocol::cheque::WalletKey::from_seed(&[1; 32]).public().to_string()
}

#[test]
fn switching_the_language_redraws_in_japanese() {
    let (home, dir) = temp_home("lang");
    let mut app = App::new(Lang::En, None);
    let _ = app.loaded(loaded(home));
    assert!(matches!(app.screen(), Screen::Welcome(_)), "no account yet: the welcome screen");
    let _ = app.update(Message::Nav(Nav::Settings));

    let mut ui = simulator(app.view());
    assert!(ui.find("Language").is_ok());
    drop(ui);
    let _ = app.update(Message::Settings(settings::Message::Language(Lang::Ja)));
    assert_eq!(app.lang(), Lang::Ja);
    let mut ui = simulator(app.view());
    assert!(ui.find("言語").is_ok(), "the settings are now in Japanese");
    assert!(ui.find("新しい支払い").is_ok(), "and so is the side bar");
    assert!(ui.find("Language").is_err());
    drop(ui);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_mailpay_link_opens_new_payment_filled_in() {
    let (home, dir) = temp_home("link");
    let mut app = App::new(
        Lang::En,
        Some("mailpay:shop@example.com?bank=settle@bank.example&amount=19.99&currency=EUR&ref=INV-42".into()),
    );
    let _ = app.loaded(loaded(home));
    let Screen::Pay(form) = app.screen() else { panic!("expected New payment, got {:?}", app.screen()) };
    assert_eq!(form.amount().unwrap().minor(), 1999);
    let mut ui = simulator(app.view());
    assert!(ui.find("Merchant's reference: INV-42").is_ok(), "{:?}", texts(&mut ui));
    drop(ui);

    let mut bad = App::new(Lang::En, Some("mailpay:shop@example.com?tip=5".into()));
    let (home, dir2) = temp_home("badlink");
    let _ = bad.loaded(loaded(home));
    assert!(
        bad.banner().is_some_and(|b| b.error && b.text.contains("tip")),
        "a bad link is explained, not ignored"
    );
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(dir2);
}

/// The backend against a real store: placing records the payment and its
/// two mails before anything is sent, so quitting now loses nothing.
#[test]
fn placing_records_the_payment_and_queues_both_mails() {
    let (home, dir) = temp_home("place");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let book = book();
    let state = {
        let mut s = new_payment::State::for_merchant(&shop(), &book);
        let _ = s.update(new_payment::Message::Amount("1200".into()), &[orderer()], &book);
        s
    };
    let order = state
        .order(Some(&orderer()), &book, mailpay::clock::now(), OrderNonce::generate(&mut rand::rng()))
        .unwrap();
    let id = order.terms.order.clone();
    let placed = runtime.block_on(backend::place(home.clone(), order)).unwrap();
    assert_eq!(placed, id);
    let pending = runtime.block_on(backend::pending(home.clone(), id.clone())).unwrap();
    let kinds: Vec<_> = pending.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["order", "payment-request"]);
    let page = runtime
        .block_on(backend::history(
            home.clone(),
            mailpay::store::history::Query { limit: 10, ..Default::default() },
        ))
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.rows[0].state, "sending");
    let _ = std::fs::remove_dir_all(dir);
}

/// At the smallest window size the form still works from the keyboard:
/// type the amount, press Enter, and the payment is placed.
#[test]
fn at_800_by_600_the_amount_and_enter_pay() {
    let tr = Tr::new(Lang::En);
    let book = book();
    let mut state = new_payment::State::for_merchant(&shop(), &book);
    let view = state.view(&tr, &[orderer()], &book);
    let mut ui = iced_test::Simulator::with_size(iced::Settings::default(), (800.0, 600.0), view);
    ui.click(iced_test::selector::id(new_payment::AMOUNT_INPUT))
        .expect("the amount field is visible at 800x600");
    let _ = ui.typewrite("1200");
    let _ = ui.tap_key(iced::keyboard::key::Named::Enter);
    let messages: Vec<_> = ui.into_messages().collect();
    let actions = apply(&mut state, messages, &book);
    assert!(
        actions.iter().any(|a| matches!(a, new_payment::Action::Place(o) if o.terms.amount.minor() == 1200))
    );
}

/// A confirmation arriving while the app runs raises a banner that leads to
/// the approval view.
#[test]
fn a_confirmation_from_the_watcher_offers_a_review() {
    use mailpay::ui::watch::Report;
    use mailpay::wallet::Receipt;
    let (home, dir) = temp_home("watch");
    let mut app = App::new(Lang::En, None);
    let _ = app.loaded(loaded(home));
    let order = OrderId::generate(&mut rand::rng());
    let waiting = mailpay::protocol::payment::State::AwaitingConfirmation {
        confirm: confirm_for(&terms(Method::Confirm)),
        mismatches: vec![],
    };
    let receipt = Receipt::Stepped {
        order: order.clone(),
        from: Box::new(mailpay::protocol::payment::State::Sent),
        to: Box::new(waiting),
        effects: vec![],
    };
    let _ = app
        .update(Message::Watch(orderer(), Report::Received { order: order.as_str().to_string(), receipt }));
    let banner = app.banner().expect("a banner");
    assert!(!banner.error);
    assert_eq!(banner.review.as_ref(), Some(&order));
    let mut ui = simulator(app.view());
    ui.click("Review").expect("the banner offers Review");
    let messages: Vec<_> = ui.into_messages().collect();
    assert!(messages.iter().any(|m| matches!(m, Message::Review(o) if *o == order)));
    let _ = std::fs::remove_dir_all(dir);
}

/// Password A never shows in a message's or an order's debug output (they
/// may end up in logs).
#[test]
fn password_a_is_redacted_in_debug_output() {
    let typed = "7K3M9QX2WD8F4HJT6NRB";
    assert!(!format!("{:?}", new_payment::Message::OwnPassword(typed.into())).contains(typed));
    let book = book();
    let mut state = new_payment::State::for_merchant(&shop(), &book);
    let _ = state.update(new_payment::Message::Amount("1200".into()), &[orderer()], &book);
    let _ = state.update(new_payment::Message::UseOwnPassword(true), &[orderer()], &book);
    let _ = state.update(new_payment::Message::OwnPassword(typed.into()), &[orderer()], &book);
    let order = state
        .order(Some(&orderer()), &book, mailpay::clock::now(), OrderNonce::generate(&mut rand::rng()))
        .unwrap();
    assert_eq!(order.terms.password.expose(), typed);
    assert!(!format!("{order:?}").contains(typed));
    assert!(!format!("{state:?}").contains(typed), "nor in the form's state");
}

/// Fig. 2 from the form: with the bank's age key and a merchant that takes
/// cheques, the option is offered and the signed, encrypted cheque is
/// queued as a third mail to the bank.
#[test]
fn the_wallet_cheque_goes_with_the_payment_when_chosen() {
    let (home, dir) = temp_home("cheque");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut book = book();
    book.banks[0].age_recipient = Some(age::x25519::Identity::generate().to_public().to_string());
    book.merchants[0].figures = vec![Method::Confirm, Method::Cheque];
    let mut state = new_payment::State::for_merchant(&shop(), &book);
    let _ = state.update(new_payment::Message::Amount("1200".into()), &[orderer()], &book);

    let tr = Tr::new(Lang::En);
    let mut ui = simulator(state.view(&tr, &[orderer()], &book));
    ui.click("Send the signed wallet cheque to the bank (Fig. 2)").expect("the cheque option is offered");
    let messages: Vec<_> = ui.into_messages().collect();
    let _ = apply(&mut state, messages, &book);

    let order = state
        .order(Some(&orderer()), &book, mailpay::clock::now(), OrderNonce::generate(&mut rand::rng()))
        .unwrap();
    assert_eq!(order.terms.method, Method::Cheque);
    assert!(order.cheque_for.is_some());
    let id = runtime.block_on(backend::place(home.clone(), order)).unwrap();
    let pending = runtime.block_on(backend::pending(home, id)).unwrap();
    let kinds: Vec<_> = pending.iter().map(|(k, r)| (k.as_str(), r.as_str())).collect();
    assert_eq!(
        kinds,
        [
            ("order", "shop@example.com"),
            ("payment-request", "settle@bank.example"),
            ("wallet", "settle@bank.example")
        ]
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The language chosen in Settings is kept in the wallet and used at the
/// next start, whatever the system's language.
#[test]
fn the_chosen_language_is_kept_for_the_next_start() {
    let dir = std::env::temp_dir().join(format!("mailpay-gui-keep-lang-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let first = runtime.block_on(backend::load(Paths::under(&dir))).unwrap();
    assert_eq!(first.language, None, "a new wallet follows the system");
    runtime.block_on(backend::set_language(first.home.clone(), Lang::Ja.code())).unwrap();
    drop(first);
    let again = runtime.block_on(backend::load(Paths::under(&dir))).unwrap();
    assert_eq!(again.language.as_deref(), Some("ja"));
    let mut app = App::new(Lang::En, None);
    let _ = app.loaded(again);
    assert_eq!(app.lang(), Lang::Ja);
    let _ = std::fs::remove_dir_all(dir);
}

/// The clock: a tick after a payment's time limit makes it expired (and
/// says so); a tick before leaves it as it was.
#[test]
fn a_clock_tick_expires_an_overdue_payment() {
    let (home, dir) = temp_home("tick");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let book = book();
    let mut form = new_payment::State::for_merchant(&shop(), &book);
    let _ = form.update(new_payment::Message::Amount("300".into()), &[orderer()], &book);
    let placed_at = mailpay::clock::now().plus_seconds(-3 * 24 * 3600);
    let order =
        form.order(Some(&orderer()), &book, placed_at, OrderNonce::generate(&mut rand::rng())).unwrap();
    let (id, expires) = (order.terms.order.clone(), order.terms.expires);
    runtime.block_on(backend::place(home.clone(), order)).unwrap();

    let mut app = App::new(Lang::En, None);
    let _ = app.loaded(loaded(home.clone()));
    // A minute before the limit: still open.
    runtime.block_on(app_driver::send(&mut app, Message::Tick(expires.plus_seconds(-60))));
    let (_, state) = runtime.block_on(backend::payment(home.clone(), id.clone())).unwrap();
    assert_eq!(state.name(), "sending");
    assert!(app.banner().is_none());
    // At the limit: expired, and the banner names the order.
    let seen = runtime.block_on(app_driver::send(&mut app, Message::Tick(expires)));
    assert!(seen.iter().any(|m| m.starts_with("Expired(Ok([")), "{seen:?}");
    let (_, state) = runtime.block_on(backend::payment(home.clone(), id.clone())).unwrap();
    assert_eq!(state.name(), "expired");
    let banner = app.banner().expect("the expiry is said");
    assert!(banner.text.contains(&id.to_string()), "{}", banner.text);
    assert!(!banner.error);
    let _ = std::fs::remove_dir_all(dir);
}

/// Settings → Initials: what is not initials is refused with the rule;
/// good initials are kept for the next start (board records carry them).
#[test]
fn initials_for_board_records_are_checked_and_kept() {
    let (home, dir) = temp_home("initials");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mut app = App::new(Lang::En, None);
    let _ = app.loaded(loaded(home.clone()));
    let _ = app.update(Message::Nav(Nav::Settings));
    let mut ui = simulator(app.view());
    ui.click("T.S.").expect("the initials field is on screen");
    let _ = ui.typewrite("R2-D2");
    let _ = ui.tap_key(iced::keyboard::key::Named::Enter);
    for message in ui.into_messages().collect::<Vec<_>>() {
        runtime.block_on(app_driver::send(&mut app, message));
    }
    let banner = app.banner().expect("the rule is said");
    assert!(banner.error && banner.text.contains("initials must be"), "{banner:?}");
    assert_eq!(runtime.block_on(backend::load(Paths::under(&dir))).unwrap().initials, None);

    runtime.block_on(app_driver::send(
        &mut app,
        Message::Settings(settings::Message::Initials(" T.S. ".into())),
    ));
    runtime.block_on(app_driver::send(&mut app, Message::Settings(settings::Message::SaveInitials)));
    assert!(!app.banner().unwrap().error);
    let again = runtime.block_on(backend::load(Paths::under(&dir))).unwrap();
    assert_eq!(again.initials.as_deref(), Some("T.S."));
    let _ = std::fs::remove_dir_all(dir);
}

/// Types `text` into the field `id` of a screen, one key at a time, each
/// on the screen as the last key left it (as the app shows it), then
/// presses Enter in it. Returns the texts on screen before Enter and what
/// `update` made of every message.
fn type_and_enter<S, M, A>(
    state: &mut S,
    view: impl Fn(&S) -> iced::Element<'_, M>,
    mut update: impl FnMut(&mut S, M) -> A,
    id: &'static str,
    text: &str,
) -> (Vec<String>, Vec<A>) {
    let mut actions = Vec::new();
    for key in text.chars() {
        let mut ui = simulator(view(state));
        ui.click(iced_test::selector::id(id)).expect("the field is on screen");
        let _ = ui.tap_key(iced::keyboard::key::Named::End);
        let _ = ui.typewrite(&key.to_string());
        let messages: Vec<_> = ui.into_messages().collect();
        actions.extend(messages.into_iter().map(|m| update(state, m)));
    }
    let mut ui = simulator(view(state));
    let listed = texts(&mut ui);
    ui.click(iced_test::selector::id(id)).expect("the field is on screen");
    let _ = ui.tap_key(iced::keyboard::key::Named::Enter);
    let messages: Vec<_> = ui.into_messages().collect();
    actions.extend(messages.into_iter().map(|m| update(state, m)));
    (listed, actions)
}

/// Merchant and currency are chosen from the keyboard: typing lists the
/// matches (replacing the value shown), Enter takes the first.
#[test]
fn merchant_and_currency_are_chosen_by_typing() {
    // The form's view borrows the book for as long as it borrows the form:
    // a book that lasts the whole test.
    static BOOK: std::sync::LazyLock<Book> = std::sync::LazyLock::new(|| {
        let mut book = book();
        book.merchants.push(Merchant {
            address: "tea@leaves.example".parse().unwrap(),
            name: "Leaves".into(),
            bank: Some(bank()),
            board: None,
            figures: vec![Method::Confirm],
        });
        book
    });
    let (tr, book) = (Tr::new(Lang::En), &*BOOK);
    let mut state = new_payment::State::default();

    let choose = |state: &mut new_payment::State, id, text| {
        type_and_enter(
            state,
            |s: &new_payment::State| s.view(&tr, &[orderer()], book),
            |s: &mut new_payment::State, m| s.update(m, &[orderer()], book),
            id,
            text,
        )
        .0
    };
    let listed = choose(&mut state, new_payment::MERCHANT_INPUT, "LEAV");
    assert!(listed.iter().any(|t| t == "tea@leaves.example"), "the match is listed: {listed:?}");
    assert!(!listed.iter().any(|t| t == "shop@example.com"), "the other merchant is not: {listed:?}");
    let listed = choose(&mut state, new_payment::CURRENCY_INPUT, "usd");
    assert!(listed.iter().any(|t| t == "USD"), "{listed:?}");

    let _ = state.update(new_payment::Message::Amount("12.50".into()), &[orderer()], book);
    let order = state
        .order(Some(&orderer()), book, mailpay::clock::now(), OrderNonce::generate(&mut rand::rng()))
        .unwrap();
    assert_eq!(order.terms.merchant.as_str(), "tea@leaves.example");
    assert_eq!(order.terms.bank, bank(), "the merchant's bank came with it");
    assert_eq!(order.terms.amount, Money::parse_major("12.50", "USD".parse().unwrap()).unwrap());
    let mut ui = simulator(state.view(&tr, &[orderer()], book));
    let shown = texts(&mut ui);
    assert!(!shown.iter().any(|t| t == "USD"), "the list is gone once chosen: {shown:?}");
}

/// The history's state filter is chosen from the keyboard too: "sett",
/// Enter, and the list is reloaded with only settled payments.
#[test]
fn the_history_state_filter_is_chosen_by_typing() {
    let tr = Tr::new(Lang::En);
    let mut state = history::State::default();
    let (listed, actions) = type_and_enter(
        &mut state,
        |s: &history::State| s.view(&tr),
        |s: &mut history::State, m| s.update(m),
        history::STATE_FILTER,
        "sett",
    );
    assert!(listed.iter().any(|t| t == "Settled"), "{listed:?}");
    assert!(!listed.iter().any(|t| t == "Declined"), "{listed:?}");
    let query = actions
        .into_iter()
        .find_map(|a| match a {
            history::Action::Load(query) => Some(query),
            _ => None,
        })
        .expect("Enter reloads the list");
    assert_eq!(query.state.as_deref(), Some("settled"));
    assert_eq!(state.query().state.as_deref(), Some("settled"));
}

/// A rejected payment's detail says the bank's reason in words, in the
/// user's language, with the why that came with it.
#[test]
fn a_rejection_in_the_history_says_its_reason_in_words() {
    let order = OrderId::generate(&mut rand::rng());
    let why = "shop@shop.test will not fill the order: \"Sencha\" is not in the catalogue";
    let row = mailpay::store::history::Row {
        order: order.as_str().to_string(),
        merchant: shop().to_string(),
        merchant_name: None,
        amount: Some(money("100 JPY")),
        state: "rejected".into(),
        detail: Some(format!("merchant-refused: {why}")),
        created: 1_795_630_158,
    };
    for (lang, words) in
        [(Lang::En, "The merchant will not fill the order"), (Lang::Ja, "加盟店が注文を断りました")]
    {
        let tr = Tr::new(lang);
        let mut state = history::State::default();
        let page = mailpay::store::history::Page { rows: vec![row.clone()], total: 1 };
        let _ = state.update(history::Message::Loaded(Ok((page, 1))));
        let _ = state.update(history::Message::Open(order.as_str().to_string()));
        let mut ui = simulator(state.view(&tr));
        let shown = texts(&mut ui);
        assert!(shown.contains(&format!("{words} — {why}")), "{lang:?}: {shown:?}");
        assert!(!shown.iter().any(|t| t.contains("merchant-refused")), "no bare code: {shown:?}");
    }
}

/// The history in the user's time zone and language: times, money grouped
/// with its symbol, and in the timeline each mail's kind and what became
/// of it in words, never a state code or a UTC stamp.
#[test]
fn the_history_writes_times_money_and_states_as_the_language_does() {
    use mailpay::store::history::{Direction, Entry, Page, Row};
    let order = OrderId::generate(&mut rand::rng());
    let created: mailpay::protocol::Timestamp = "2026-12-06T03:00:41Z".parse().unwrap();
    let row = Row {
        order: order.as_str().to_string(),
        merchant: shop().to_string(),
        merchant_name: Some("Example Shop".into()),
        amount: Some(money("1234567 JPY")),
        state: "awaiting-confirmation".into(),
        detail: None,
        created: created.unix(),
    };
    let entry = |after: i64, direction, kind: &str, peer: EmailAddress, status: &str| Entry {
        at: created.unix() + after,
        direction,
        kind: kind.into(),
        peer: peer.to_string(),
        status: status.into(),
        message_id: String::new(),
        raw: Vec::new(),
    };
    let timeline = vec![
        entry(0, Direction::Sent, "order", shop(), "accepted"),
        entry(0, Direction::Sent, "payment-request", bank(), "queued"),
        entry(600, Direction::Received, "confirm", bank(), "awaiting-confirmation"),
    ];
    let cases = [
        (
            Lang::En,
            "America/New_York",
            ["5 Dec 2026, 22:00", "¥1,234,567", "Awaiting your confirmation"],
            [
                "shop@example.com · ¥1,234,567 · Awaiting your confirmation",
                "Order to the merchant → shop@example.com",
                "Accepted by the mail server",
                "Waiting to be sent",
                "5 Dec 2026, 22:10",
                "The payment is now: Awaiting your confirmation",
            ],
        ),
        (
            Lang::Ja,
            "Asia/Tokyo",
            ["2026年12月6日 12:00", "1,234,567円", "確認待ち"],
            [
                "shop@example.com · 1,234,567円 · 確認待ち",
                "注文先への注文 → shop@example.com",
                "メールサーバーが受け付けました",
                "送信待ち",
                "2026年12月6日 12:10",
                "支払いの状態：確認待ち",
            ],
        ),
    ];
    for (lang, zone, listed, detailed) in cases {
        let tr = Tr::new(lang).in_zone(jiff::tz::TimeZone::get(zone).unwrap());
        let mut state = history::State::default();
        let page = Page { rows: vec![row.clone()], total: 1 };
        let _ = state.update(history::Message::Loaded(Ok((page, 1))));
        let mut ui = simulator(state.view(&tr));
        let shown = texts(&mut ui);
        for text in listed {
            assert!(shown.iter().any(|t| t == text), "{lang:?}: {text:?} in {shown:?}");
        }
        drop(ui);
        let _ = state.update(history::Message::Open(order.as_str().to_string()));
        let _ = state.update(history::Message::Timeline(order.as_str().to_string(), Ok(timeline.clone())));
        let mut ui = simulator(state.view(&tr));
        let shown = texts(&mut ui);
        for text in detailed {
            assert!(shown.iter().any(|t| t == text), "{lang:?}: {text:?} in {shown:?}");
        }
        for code in ["awaiting-confirmation", "queued", "accepted", "JPY", "2026-12-06T"] {
            assert!(!shown.iter().any(|t| t.contains(code)), "{lang:?}: no {code:?} in {shown:?}");
        }
    }
}

/// The approval view gives the amounts as the language writes them and the
/// time limit in the user's zone, with how long is left.
#[test]
fn the_approval_says_the_amount_and_the_deadline_in_the_users_language() {
    let recorded = terms(Method::Confirm);
    let confirm = confirm_for(&recorded);
    // 23 hours and 2 minutes before the bank's time limit.
    let now = confirm.expires.plus_seconds(-(23 * 3600 + 120));
    let cases = [
        (
            Lang::En,
            "Asia/Tokyo",
            "¥1,200",
            "Answer before 27 Nov 2026, 03:09 (in 23 hours); 5 attempts left.",
        ),
        (
            Lang::Ja,
            "Asia/Tokyo",
            "1,200円",
            "2026年11月27日 03:09（23時間後） までに回答してください。残り 5 回。",
        ),
        (
            Lang::En,
            "America/New_York",
            "¥1,200",
            "Answer before 26 Nov 2026, 13:09 (in 23 hours); 5 attempts left.",
        ),
    ];
    for (lang, zone, amount, deadline) in cases {
        let tr = Tr::new(lang).in_zone(jiff::tz::TimeZone::get(zone).unwrap()).stopped_at(now);
        let state = approval::State::new(recorded.clone(), confirm.clone());
        let mut ui = simulator(state.view(&tr));
        let shown = texts(&mut ui);
        assert_eq!(shown.iter().filter(|t| *t == amount).count(), 2, "recorded and confirmed: {shown:?}");
        let tea =
            if lang == Lang::Ja { "2 × Green tea 100g @ 600円" } else { "2 × Green tea 100g @ ¥600" };
        assert_eq!(shown.iter().filter(|t| *t == tea).count(), 2, "the items' prices too: {shown:?}");
        assert!(shown.iter().any(|t| t == deadline), "{lang:?} {zone}: {shown:?}");
    }
    // Past the limit, it says how long ago.
    let tr =
        Tr::new(Lang::En).in_zone(jiff::tz::TimeZone::UTC).stopped_at(confirm.expires.plus_seconds(7200));
    let state = approval::State::new(recorded.clone(), confirm.clone());
    let mut ui = simulator(state.view(&tr));
    let past = "Answer before 26 Nov 2026, 18:09 (2 hours ago); 5 attempts left.";
    assert!(ui.find(past).is_ok(), "{:?}", texts(&mut ui));
}

/// The problem with the amount that Pay refused goes as soon as the amount
/// typed is one, not at the next Pay; a problem with another field stays
/// until that field is right.
#[test]
fn an_amount_problem_goes_as_soon_as_the_amount_is_right() {
    let tr = Tr::new(Lang::En);
    let book = book();
    let mut state = new_payment::State::for_merchant(&shop(), &book);
    let no_account: &[EmailAddress] = &[];
    let mut ui = simulator(state.view(&tr, no_account, &book));
    assert!(!texts(&mut ui).iter().any(|t| t.contains("is not an amount")), "nothing said before Pay");
    ui.click("Pay").unwrap();
    let messages: Vec<_> = ui.into_messages().collect();
    for m in messages {
        let _ = state.update(m, no_account, &book);
    }
    let mut ui = simulator(state.view(&tr, no_account, &book));
    let shown = texts(&mut ui);
    assert!(shown.iter().any(|t| t.starts_with("\"\" is not an amount")), "{shown:?}");
    assert!(shown.iter().any(|t| t == "set up your mail account first"), "{shown:?}");

    ui.click(iced_test::selector::id(new_payment::AMOUNT_INPUT)).unwrap();
    let _ = ui.typewrite("1200");
    let messages: Vec<_> = ui.into_messages().collect();
    for m in messages {
        let _ = state.update(m, no_account, &book);
    }
    let mut ui = simulator(state.view(&tr, no_account, &book));
    let shown = texts(&mut ui);
    assert!(!shown.iter().any(|t| t.contains("is not an amount")), "gone without another Pay: {shown:?}");
    assert!(shown.iter().any(|t| t == "set up your mail account first"), "still true, still said: {shown:?}");
    drop(ui);

    // A wrong amount again is said at once, as the form is typed.
    let _ = state.update(new_payment::Message::Amount("12.5".into()), no_account, &book);
    let mut ui = simulator(state.view(&tr, no_account, &book));
    assert!(ui.find("JPY has 0 decimal places; \"12.5\" has more").is_ok(), "{:?}", texts(&mut ui));
}

/// The history's Spending tab over a real store: the settled payments of
/// the last 12 months in the first currency spent in, a figure per month
/// and per merchant; another currency, another period and the export are
/// each a load on the backend; the same in Japanese.
#[test]
fn the_spending_tab_shows_the_totals_per_month_and_merchant() {
    use history::overview::{Message as Overview, Request};
    use mailpay::store::overview::Period;
    let (home, dir) = temp_home("spending");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let now = mailpay::clock::now().unix();
    let day = 86_400;
    let conn = rusqlite::Connection::open(home.paths().database()).unwrap();
    conn.execute("INSERT INTO merchant (address, name) VALUES ('yamada@tea.example', '山田茶園')", [])
        .unwrap();
    for (order, merchant, minor, currency, state, created) in [
        ("S1", "yamada@tea.example", 1250, "EUR", "settled", now - 40 * day),
        ("S2", "yamada@tea.example", 250, "EUR", "settled", now - 5 * day),
        ("S3", "shop@example.com", 999, "EUR", "settled", now - 5 * day),
        ("S4", "shop@example.com", 5000, "EUR", "rejected", now - 5 * day),
        ("S5", "shop@example.com", 3240, "JPY", "settled", now - 5 * day),
        ("S6", "shop@example.com", 700, "EUR", "settled", now - 500 * day),
    ] {
        conn.execute(
            "INSERT INTO payment (order_id, orderer, merchant, bank, amount_minor, currency, method, terms_block, state, state_data, created, updated)
             VALUES (?1, 'taro@example.jp', ?2, 'settle@bank.example', ?3, ?4, 'confirm', '', ?5, '{}', ?6, ?6)",
            rusqlite::params![order, merchant, minor, currency, state, created],
        )
        .unwrap();
    }
    let month = |t: i64| mailpay::protocol::Timestamp::from_unix(t).to_string()[..7].to_string();
    let load = |request: Request| {
        runtime.block_on(backend::overview(home.clone(), request, jiff::tz::TimeZone::UTC)).unwrap()
    };
    let tr = Tr::new(Lang::En);
    let mut state = history::State::default();
    let history::Action::Overview(request) = state.update(history::Message::Spending(true)) else {
        panic!("the Spending tab loads the overview")
    };
    assert_eq!(request, Request { period: Period::Last12Months, currency: None });
    let _ = state.update(history::Message::Overview(Overview::Loaded(Ok(load(request)))));

    let mut ui = simulator(state.view(&tr));
    let shown = texts(&mut ui);
    for expected in ["3 settled payments, €24.99 in all", "EUR", "JPY", "山田茶園", "€15.00", "2 paid"]
    {
        assert!(shown.iter().any(|t| t == expected), "{expected:?} in {shown:?}");
    }
    for (m, total) in [(month(now - 40 * day), "€12.50"), (month(now - 5 * day), "€12.49")] {
        let at = shown.iter().position(|t| *t == m).unwrap_or_else(|| panic!("{m} in {shown:?}"));
        assert_eq!(shown[at + 1], total, "the figure beside {m}");
    }
    let at = shown.iter().position(|t| t == "shop@example.com").expect("a merchant not in the book");
    assert_eq!(shown[at + 1..at + 3], ["1 paid".to_string(), "€9.99".to_string()]);
    assert!(!shown.iter().any(|t| t.contains("50.00")), "the rejected payment is not spending: {shown:?}");
    ui.click("JPY").expect("the currencies spent in are offered");
    let messages: Vec<_> = ui.into_messages().collect();
    let mut requests = messages.into_iter().filter_map(|m| match state.update(m) {
        history::Action::Overview(request) => Some(request),
        _ => None,
    });
    let jpy = requests.next().expect("choosing JPY loads it");
    drop(requests);
    let _ = state.update(history::Message::Overview(Overview::Loaded(Ok(load(jpy)))));
    let shown = texts(&mut simulator(state.view(&tr)));
    assert!(shown.iter().any(|t| t == "1 settled payment, ¥3,240 in all"), "{shown:?}");

    let mut ui = simulator(state.view(&tr));
    ui.click("EUR").unwrap();
    let _ = ui.into_messages().map(|m| state.update(m)).count();
    let mut ui = simulator(state.view(&tr));
    ui.click("All time").expect("the periods are offered");
    let all = ui
        .into_messages()
        .find_map(|m| match state.update(m) {
            history::Action::Overview(request) => Some(request),
            _ => None,
        })
        .expect("another period loads it");
    assert_eq!(all, Request { period: Period::All, currency: Some("EUR".parse().unwrap()) });
    let _ = state.update(history::Message::Overview(Overview::Loaded(Ok(load(all)))));
    let ja = Tr::new(Lang::Ja);
    let shown = texts(&mut simulator(state.view(&ja)));
    assert!(shown.iter().any(|t| t == "決済済み 4 件、合計 €31.99"), "{shown:?}");
    assert!(shown.iter().any(|t| t == "支出") && shown.iter().any(|t| t == "すべて"), "{shown:?}");

    // The export writes the overview shown.
    assert!(matches!(state.update(history::Message::Export), history::Action::AskWhere { spending: true }));
    let chosen = dir.join("spending.csv");
    let history::Action::ExportOverview(query, Some(to)) =
        state.update(history::Message::Where(mailpay::ui::save_dialog::Answer::Chosen(chosen.clone())))
    else {
        panic!("the export of the overview")
    };
    let (path, rows) = runtime
        .block_on(backend::export_overview(home.clone(), query, jiff::tz::TimeZone::UTC, Some(to)))
        .unwrap();
    assert_eq!(path, chosen);
    let csv = std::fs::read_to_string(&path).unwrap();
    assert!(csv.contains("merchant,yamada@tea.example,山田茶園,EUR,2,15.00"), "{csv}");
    assert!(rows >= 4, "{csv}");
    let _ = std::fs::remove_dir_all(dir);
}

/// An arrow key pressed in the field `id` of the app's window: the key goes
/// through the real widgets (a text field leaves it alone) and the app's own
/// key map; the focused field is then found as iced's find-focused
/// operation finds it (operations need a window, the simulator stands in).
fn arrow(app: &mut App, id: &'static str, key: iced::keyboard::key::Named) {
    let mut ui = simulator(app.view());
    ui.click(iced_test::selector::id(id)).expect("the field is on screen");
    let press = iced_test::simulator::press_key(key, None);
    let statuses = ui.simulate([press.clone(), iced_test::simulator::release_key(key)]);
    let Some(Message::Arrow(by)) = mailpay::ui::app::key(&press, statuses[0]) else {
        panic!("the arrow key reaches the app: {statuses:?}");
    };
    let focused = match ui.find(iced_test::selector::is_focused()).expect("a field has the focus") {
        iced_test::selector::Target::Focusable { id: Some(id), .. } => id,
        other => panic!("the focus is in a field with an id: {other:?}"),
    };
    assert_eq!(focused, iced::widget::Id::new(id));
    drop(ui);
    let _ = app.update(Message::ArrowIn(focused, by));
}

/// Enter in the field `id`: the messages it makes, fed back to the app.
fn enter(app: &mut App, id: &'static str) {
    let mut ui = simulator(app.view());
    ui.click(iced_test::selector::id(id)).expect("the field is on screen");
    let _ = ui.tap_key(iced::keyboard::key::Named::Enter);
    let messages: Vec<_> = ui.into_messages().collect();
    assert!(!messages.is_empty(), "Enter takes the marked option");
    for message in messages {
        let _ = app.update(message);
    }
}

/// The arrow keys open a choice field's list and move the mark through it
/// (wrapping around); Enter takes the marked option.
#[test]
fn arrow_keys_move_through_a_choice_and_enter_takes_it() {
    use iced::keyboard::key::Named::{ArrowDown, ArrowUp};
    use mailpay::protocol::Currency;
    let (home, dir) = temp_home("arrows");
    let mut app = App::new(Lang::En, None);
    let _ = app.loaded(loaded(home));
    let _ = app.update(Message::Nav(Nav::Pay));
    let currencies: Vec<String> = Currency::all().map(|c| c.to_string()).collect();

    arrow(&mut app, new_payment::CURRENCY_INPUT, ArrowDown);
    let mut ui = simulator(app.view());
    let shown = texts(&mut ui);
    drop(ui);
    assert!(
        shown.contains(&currencies[0]) && shown.contains(&currencies[5]),
        "Down opens every option: {shown:?}"
    );
    assert!(!shown.contains(&currencies[6]), "six at most are listed: {shown:?}");
    arrow(&mut app, new_payment::CURRENCY_INPUT, ArrowDown);
    enter(&mut app, new_payment::CURRENCY_INPUT);
    let mut ui = simulator(app.view());
    let field = ui.find(iced_test::selector::id(new_payment::CURRENCY_INPUT)).unwrap();
    let iced_test::selector::Target::TextInput { content, .. } = field else { panic!("{field:?}") };
    assert_eq!(content, currencies[1], "Down, Down, Enter: the second");
    assert!(!texts(&mut ui).contains(&currencies[5]), "the list closed");
    drop(ui);

    // Up opens the list at its last; past the last comes the first.
    arrow(&mut app, new_payment::CURRENCY_INPUT, ArrowUp);
    enter(&mut app, new_payment::CURRENCY_INPUT);
    let mut ui = simulator(app.view());
    assert!(ui.find(currencies[5].as_str()).is_ok(), "Up, Enter: the last listed");
    drop(ui);
    for _ in 0..7 {
        arrow(&mut app, new_payment::CURRENCY_INPUT, ArrowDown);
    }
    enter(&mut app, new_payment::CURRENCY_INPUT);
    let mut ui = simulator(app.view());
    let field = ui.find(iced_test::selector::id(new_payment::CURRENCY_INPUT)).unwrap();
    let iced_test::selector::Target::TextInput { content, .. } = field else { panic!("{field:?}") };
    assert_eq!(content, currencies[0], "seven steps down six: round to the first");
    drop(ui);

    // The language in Settings is a choice too.
    let _ = app.update(Message::Nav(Nav::Settings));
    arrow(&mut app, settings::LANGUAGE_INPUT, ArrowDown);
    arrow(&mut app, settings::LANGUAGE_INPUT, ArrowDown);
    enter(&mut app, settings::LANGUAGE_INPUT);
    assert_eq!(app.lang(), Lang::Ja);
    let _ = std::fs::remove_dir_all(dir);
}

/// The account's TLS choice is made from the keyboard.
#[test]
fn the_account_security_is_chosen_by_typing() {
    use mailpay::mail::account::Security;
    use mailpay::ui::screen::account;
    let tr = Tr::new(Lang::En);
    let mut state = account::State::default();
    let _ = state.update(account::Message::Address("taro@example.jp".into()));
    assert_eq!(state.account().unwrap().imap.security, Security::Tls, "guessed from the address");
    let (listed, _) = type_and_enter(
        &mut state,
        |s: &account::State| s.view(&tr),
        |s: &mut account::State, m| s.update(m),
        account::IMAP_SECURITY_INPUT,
        "start",
    );
    assert!(listed.iter().any(|t| t == "STARTTLS"), "{listed:?}");
    let account = state.account().unwrap();
    assert_eq!(account.imap.security, Security::Starttls);
    assert_eq!(account.smtp.security, Security::Tls, "the other server keeps its own");
}

/// Export CSV asks the desktop where to save; the file goes where chosen,
/// nothing happens on cancel, and without a dialog it goes to the
/// downloads folder with a word on why.
#[test]
fn the_history_is_exported_where_the_user_chose() {
    use mailpay::ui::save_dialog::Answer;
    let tr = Tr::new(Lang::En);
    let (home, dir) = temp_home("export");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let book = book();
    let mut form = new_payment::State::for_merchant(&shop(), &book);
    let _ = form.update(new_payment::Message::Amount("1200".into()), &[orderer()], &book);
    let order =
        form.order(Some(&orderer()), &book, mailpay::clock::now(), OrderNonce::generate(&mut rand::rng()));
    let id = runtime.block_on(backend::place(home.clone(), order.unwrap())).unwrap();

    let mut state = history::State::default();
    assert!(matches!(state.update(history::Message::Export), history::Action::AskWhere { spending: false }));
    assert!(backend::export_name(false).starts_with("mailpay-history-20"), "{}", backend::export_name(false));
    assert!(backend::export_name(true).starts_with("mailpay-spending-20"), "{}", backend::export_name(true));
    let chosen = dir.join("chosen.csv");
    let history::Action::Export(query, to) =
        state.update(history::Message::Where(Answer::Chosen(chosen.clone())))
    else {
        panic!("a chosen file is exported to");
    };
    assert_eq!(to.as_ref(), Some(&chosen));
    let (path, rows) = runtime.block_on(backend::export(home.clone(), query, to)).unwrap();
    assert_eq!((path.as_path(), rows), (chosen.as_path(), 1));
    let csv = std::fs::read_to_string(&chosen).unwrap();
    assert!(csv.lines().nth(1).is_some_and(|l| l.starts_with(id.as_str())), "{csv}");
    let _ = state.update(history::Message::Exported(Ok(path.display().to_string())));
    let mut ui = simulator(state.view(&tr));
    assert!(ui.find(format!("Exported to {}", chosen.display()).as_str()).is_ok());
    assert!(!texts(&mut ui).iter().any(|t| t.starts_with("No save dialog")));
    drop(ui);

    assert!(matches!(state.update(history::Message::Where(Answer::Cancelled)), history::Action::None));
    let unavailable = state.update(history::Message::Where(Answer::Unavailable("no session bus".into())));
    assert!(matches!(unavailable, history::Action::Export(_, None)), "to the downloads folder");
    let _ = state.update(history::Message::Exported(Ok("/home/taro/Downloads/h.csv".into())));
    let mut ui = simulator(state.view(&tr));
    let shown = texts(&mut ui);
    assert!(
        shown.iter().any(|t| t.starts_with("No save dialog on this desktop (no session bus)")),
        "{shown:?}"
    );
    drop(ui);
    let _ = std::fs::remove_dir_all(dir);
}

/// Settings show the wallet's key, to register at the bank, and copy it.
#[test]
fn settings_show_the_wallet_key_and_copy_it() {
    let (home, dir) = temp_home("wallet-key");
    let mut app = App::new(Lang::En, None);
    let _ = app.loaded(loaded(home));
    let _ = app.update(Message::Nav(Nav::Settings));
    let mut ui = simulator(app.view());
    assert!(ui.find(test_wallet_key().as_str()).is_ok(), "the key is shown");
    ui.click("Copy").expect("a Copy button");
    let messages: Vec<_> = ui.into_messages().collect();
    assert!(
        matches!(messages.as_slice(), [Message::Settings(settings::Message::Copy(k))] if *k == test_wallet_key()),
        "{messages:?}"
    );
    for message in messages {
        let _ = app.update(message);
    }
    let mut ui = simulator(app.view());
    assert!(ui.find("Copied to the clipboard.").is_ok(), "the banner says so");
    drop(ui);

    // The key shown is the one the wallet signs with.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let real = runtime.block_on(backend::load(Paths::under(&dir))).unwrap();
    let key =
        mailpay::keys::load_or_create_key(&mailpay::keys::wallet_key_path(&Paths::under(&dir))).unwrap();
    assert_eq!(real.wallet_key, Ok(key.public().to_string()));
    let _ = std::fs::remove_dir_all(dir);
}

/// With two accounts the form asks which to pay from (by typing, as the
/// other choices); with one it just says which.
#[test]
fn the_account_to_pay_from_is_chosen_when_there_are_several() {
    static BOOK: std::sync::LazyLock<Book> = std::sync::LazyLock::new(book);
    let tr = Tr::new(Lang::En);
    let second: EmailAddress = "hanako@example.jp".parse().unwrap();
    let accounts = [orderer(), second.clone()];
    let mut state = new_payment::State::for_merchant(&shop(), &BOOK);
    let mut ui = simulator(state.view(&tr, &[orderer()], &BOOK));
    assert!(ui.find("Paying from taro@example.jp").is_ok(), "one account: no choice");
    drop(ui);
    let (listed, _) = type_and_enter(
        &mut state,
        |s: &new_payment::State| s.view(&tr, &accounts, &BOOK),
        |s: &mut new_payment::State, m| s.update(m, &accounts, &BOOK),
        new_payment::FROM_INPUT,
        "hana",
    );
    assert!(listed.iter().any(|t| t == "hanako@example.jp"), "{listed:?}");
    assert_eq!(state.orderer(&accounts), Some(&second));
    let _ = state.update(new_payment::Message::Amount("1200".into()), &accounts, &BOOK);
    let pay = state.update(new_payment::Message::Pay, &accounts, &BOOK);
    let new_payment::Action::Place(order) = pay else { panic!("Pay places the order") };
    assert_eq!(order.terms.orderer, second, "the order is from the chosen account");
}

/// Settings list every account; removing one takes a second click.
#[test]
fn settings_list_the_accounts_and_remove_one_after_asking() {
    use mailpay::mail::account::Account;
    let (home, dir) = temp_home("accounts");
    let second = Account::guess("hanako@example.jp".parse().unwrap());
    let mut app = App::new(Lang::En, None);
    let mut start = loaded(home);
    start.config.accounts = vec![Account::guess(orderer()), second.clone()];
    let _ = app.loaded(start);
    let _ = app.update(Message::Nav(Nav::Settings));
    let mut ui = simulator(app.view());
    let shown = texts(&mut ui);
    assert!(shown.iter().any(|t| t.starts_with("taro@example.jp (IMAP")), "{shown:?}");
    assert!(shown.iter().any(|t| t.starts_with("hanako@example.jp (IMAP")), "{shown:?}");
    drop(ui);
    let _ = app.update(Message::Settings(settings::Message::RemoveAccount(second.address.clone())));
    let mut ui = simulator(app.view());
    assert!(ui.find("Keep").is_ok(), "asks first");
    drop(ui);
    let _ = app.update(Message::Settings(settings::Message::KeepAccount));
    let mut ui = simulator(app.view());
    assert!(ui.find("Keep").is_err(), "kept");
    drop(ui);
    let _ = app.update(Message::Settings(settings::Message::RemoveAccount(second.address.clone())));
    // The confirmed removal runs in the backend (config file and keyring,
    // as `mailpay account remove`); its answer updates the list.
    let _ = app.update(Message::Settings(settings::Message::ConfirmRemove));
    let config = mailpay::config::Config { accounts: vec![Account::guess(orderer())] };
    let _ = app.update(Message::AccountRemoved(second.address.clone(), Ok(config)));
    let mut ui = simulator(app.view());
    let shown = texts(&mut ui);
    assert!(!shown.iter().any(|t| t.starts_with("hanako@example.jp (IMAP")), "{shown:?}");
    assert!(ui.find("hanako@example.jp was removed.").is_ok());
    drop(ui);
    let _ = std::fs::remove_dir_all(dir);
}

/// The view drawn by the headless renderer the simulator uses, at the
/// simulator's size (1024x768) and scale 1: RGBA rows of 1024 pixels.
fn draw<'a, M>(view: iced::Element<'a, M>, theme: &iced::Theme) -> Vec<u8> {
    use iced::advanced::renderer::Headless;
    let backend = std::env::var("ICED_TEST_BACKEND").ok();
    let mut renderer = iced::futures::executor::block_on(<iced::Renderer as Headless>::new(
        iced::Font::with_name("Fira Sans"),
        iced::Pixels(16.0),
        backend.as_deref(),
    ))
    .expect("a headless renderer");
    let size = iced::Size::new(1024.0, 768.0);
    let mut ui = iced_runtime::UserInterface::build(view, size, Default::default(), &mut renderer);
    let style = iced::advanced::renderer::Style { text_color: theme.palette().text };
    ui.draw(&mut renderer, theme, &style, iced::mouse::Cursor::Unavailable);
    renderer.screenshot(iced::Size::new(1024, 768), 1.0, theme.palette().background)
}

/// Where the text `content` is on screen.
fn bounds_of<M>(ui: &mut iced_test::Simulator<'_, M>, content: &str) -> iced::Rectangle {
    let mut found = None;
    let _ = ui.find(|candidate: iced_test::selector::Candidate<'_>| {
        if let iced_test::selector::Candidate::Text { content: c, bounds, visible_bounds, .. } = candidate
            && c == content
        {
            found = Some(visible_bounds.unwrap_or(bounds));
        }
        None::<()>
    });
    found.unwrap_or_else(|| panic!("{content:?} is not on screen: {:?}", texts(ui)))
}

/// How many pixels inside `area` are drawn in the theme's danger red.
fn red_pixels(rgba: &[u8], area: iced::Rectangle, theme: &iced::Theme) -> usize {
    let red = theme.extended_palette().danger.base.color.into_rgba8();
    let close = |a: u8, b: u8| a.abs_diff(b) <= 48;
    let (x0, y0) = (area.x.floor().max(0.0) as usize, area.y.floor().max(0.0) as usize);
    let (x1, y1) = (
        ((area.x + area.width).ceil() as usize).min(1024),
        ((area.y + area.height).ceil() as usize).min(768),
    );
    let mut count = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let p = &rgba[(y * 1024 + x) * 4..(y * 1024 + x) * 4 + 4];
            if close(p[0], red[0]) && close(p[1], red[1]) && close(p[2], red[2]) {
                count += 1;
            }
        }
    }
    count
}

/// The attack of a shop that bills other goods at the ordered total: the
/// approval view shows the Items row in red, beside the order's, and
/// approval is impossible. The amount row, which agrees, stays unmarked.
#[test]
fn approval_shows_other_items_in_red_and_cannot_be_approved() {
    let tr = Tr::new(Lang::En);
    let theme = iced::Theme::Light;
    let recorded = terms(Method::Confirm);
    let mut confirm = confirm_for(&recorded);
    confirm.items = vec!["1 x Annual premium subscription, auto-renewing @ 1200 JPY".parse().unwrap()];
    // As the view writes them, the price as English writes it.
    let billed = "1 × Annual premium subscription, auto-renewing @ ¥1,200";
    let ordered = "2 × Green tea 100g @ ¥600";
    assert_eq!(recorded.items[0].to_string(), "2 x Green tea 100g @ 600 JPY");
    let mut state = approval::State::new(recorded.clone(), confirm.clone());
    assert!(!state.can_approve(), "other items block approval");

    let mut ui = simulator(state.view(&tr));
    assert!(ui.find(tr.dynamic("approval-blocked").as_str()).is_ok(), "{:?}", texts(&mut ui));
    let billed_at = bounds_of(&mut ui, billed);
    let ordered_at = bounds_of(&mut ui, ordered);
    let amount_at = bounds_of(&mut ui, "¥1,200");
    let _ = ui.click("Approve (send OK + A)");
    assert!(ui.into_messages().all(|m| !matches!(m, approval::Message::Approve)), "Approve is disabled");
    assert!(matches!(state.update(approval::Message::Approve), approval::Action::None));

    let pixels = draw(state.view(&tr), &theme);
    assert!(red_pixels(&pixels, billed_at, &theme) > 20, "the billed items are drawn in red");
    assert!(red_pixels(&pixels, ordered_at, &theme) > 20, "and the ordered ones beside them");
    assert_eq!(red_pixels(&pixels, amount_at, &theme), 0, "the amount agrees and is not red");

    // The control: the same items as ordered are not red, and can be approved.
    let same = approval::State::new(recorded.clone(), confirm_for(&recorded));
    assert!(same.can_approve());
    let mut ui = simulator(same.view(&tr));
    let items_at = bounds_of(&mut ui, ordered);
    let pixels = draw(same.view(&tr), &theme);
    assert_eq!(red_pixels(&pixels, items_at, &theme), 0, "agreeing items are not red");
}

// Accounts whose mail goes through Thunderbird (`route = "thunderbird"`).

mod thunderbird {
    use super::*;

    use std::time::Duration;

    use iced::futures::StreamExt;
    use mailpay::mail::account::{Account, Route};
    use mailpay::mail::imap::Received;
    use mailpay::mail::smtp::Dispatch;
    use mailpay::protocol::OrderTerms;
    use mailpay::protocol::compose::{self, Outgoing, Thread};
    use mailpay::ui::backend::Session;
    use mailpay::ui::watch::{self, Link, Report, Took};
    use mailpay::wallet::{Receipt, Sending, Transport};
    use serde_json::json;
    use support::native_host::NativeHost;

    const WAIT: Duration = Duration::from_secs(20);

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
    }

    /// `address`'s account as the app keeps one through Thunderbird.
    fn through_thunderbird(address: &EmailAddress) -> Account {
        let mut account = Account::guess(address.clone());
        account.route = Route::Thunderbird;
        account
    }

    /// The app opened on one account through Thunderbird.
    fn app_with(home: &Home, session: &Session) -> App {
        let mut app = App::new(Lang::En, None);
        let mut start = loaded(home.clone());
        start.config.accounts = vec![session.account.clone()];
        start.sessions = vec![session.clone()];
        let _ = app.loaded(start);
        app
    }

    /// The watcher's next report, within `WAIT`.
    fn next(
        runtime: &tokio::runtime::Runtime,
        reports: &mut (impl iced::futures::Stream<Item = Report> + Unpin),
    ) -> Report {
        runtime
            .block_on(async { tokio::time::timeout(WAIT, reports.next()).await })
            .expect("the watcher reports in time")
            .expect("the watcher keeps running")
    }

    /// Feeds every message of a simulator to the app, with what follows.
    fn feed(runtime: &tokio::runtime::Runtime, app: &mut App, messages: Vec<Message>) {
        for message in messages {
            runtime.block_on(app_driver::send(app, message));
        }
    }

    /// Settings → change an account with its own servers → "through
    /// Thunderbird" → Save: kept with route thunderbird, its password out
    /// of the keyring, and the app (now and at the next start) sends
    /// through Thunderbird without asking the keyring.
    #[test]
    fn choosing_through_thunderbird_keeps_the_account_without_a_password() {
        use mailpay::secrets::{Keyring, SecretError};
        if !support::processes::in_session_keyring(
            "thunderbird::choosing_through_thunderbird_keeps_the_account_without_a_password",
        ) {
            return;
        }
        let (home, dir) = temp_home("tb-account");
        let paths = home.paths().clone();
        drop(home);
        let runtime = runtime();
        // A fresh address: keyutils' persistent keyring outlives the session.
        let address: EmailAddress = format!("tb{}@example.jp", rand::random::<u32>()).parse().unwrap();
        mailpay::wallet::accounts::add(&paths, Account::guess(address.clone()), "hunter2").unwrap();
        let keyring = Keyring::system().unwrap();
        assert_eq!(keyring.password(address.as_str()).unwrap(), "hunter2");

        let mut app = App::new(Lang::En, None);
        let _ = app.loaded(runtime.block_on(backend::load(paths.clone())).unwrap());
        assert!(app.sessions()[0].servers().is_some());
        let _ = app.update(Message::Nav(Nav::Settings));
        let _ = app.update(Message::Settings(settings::Message::EditAccount(address.clone())));
        let Screen::Account(form) = app.screen() else { panic!("{:?}", app.screen()) };
        assert_eq!(form.route(), Route::Servers, "the account's own way is shown");
        let mut ui = simulator(app.view());
        assert!(ui.find("Password").is_ok());
        assert!(ui.find("through my mail servers").is_ok());
        ui.click("through Thunderbird").expect("the choice is on screen");
        let messages: Vec<_> = ui.into_messages().collect();
        feed(&runtime, &mut app, messages);

        // No password and no servers to fill in; what it means, in words.
        let mut ui = simulator(app.view());
        let shown = texts(&mut ui);
        assert!(!shown.iter().any(|t| t == "Password" || t.starts_with("Incoming mail")), "{shown:?}");
        assert!(
            shown.iter().any(|t| t.contains("no password")
                && t.contains("add-on in Thunderbird")
                && t.contains("mailpay thunderbird install")),
            "{shown:?}"
        );
        ui.click("Save").expect("Save is offered without a password");
        let messages: Vec<_> = ui.into_messages().collect();
        feed(&runtime, &mut app, messages);
        let mut ui = simulator(app.view());
        assert!(
            ui.find("The account is saved; its mail goes through Thunderbird, and no password is kept.")
                .is_ok(),
            "{:?}",
            texts(&mut ui)
        );
        drop(ui);

        let config = mailpay::config::Config::load(&paths.config_file()).unwrap();
        assert_eq!(config.accounts.len(), 1);
        assert_eq!(config.accounts[0].route, Route::Thunderbird);
        assert!(std::fs::read_to_string(paths.config_file()).unwrap().contains("route = \"thunderbird\""));
        let password = keyring.password(address.as_str());
        assert!(matches!(password, Err(SecretError::Missing(_))), "the keyring keeps nothing: {password:?}");

        let session = &app.sessions()[0];
        assert!(session.thunderbird().is_some() && session.servers().is_none(), "{session:?}");
        let again = runtime.block_on(backend::load(paths.clone())).unwrap();
        assert_eq!(again.keyring_problem, None, "no password is looked for");
        assert!(again.sessions[0].thunderbird().is_some() && again.sessions[0].servers().is_none());

        // Settings say so, and changing it again shows its way.
        let _ = app.update(Message::Nav(Nav::Settings));
        let mut ui = simulator(app.view());
        assert!(ui.find(format!("{address} (through Thunderbird)").as_str()).is_ok(), "{:?}", texts(&mut ui));
        drop(ui);
        let _ = app.update(Message::Settings(settings::Message::EditAccount(address.clone())));
        let Screen::Account(form) = app.screen() else { panic!("{:?}", app.screen()) };
        assert_eq!(form.route(), Route::Thunderbird);
        let mut ui = simulator(app.view());
        assert!(ui.find("Password").is_err());
        drop(ui);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// No host listens: the side bar says Thunderbird is not running, and
    /// a payment made now is recorded with its mails waiting in the
    /// outbox, said as news (not in red, no "Not sent").
    #[test]
    fn with_thunderbird_closed_the_app_says_so_and_the_mails_wait() {
        let (home, dir) = temp_home("tb-closed");
        let runtime = runtime();
        let session = Session::through_thunderbird(through_thunderbird(&orderer()), home.paths());
        assert!(session.thunderbird().is_some() && session.servers().is_none());
        let mut app = app_with(&home, &session);

        let mut reports = watch::stream(home.clone(), session.clone());
        let report = next(&runtime, &mut reports);
        assert!(matches!(report, Report::Thunderbird(Link::NotRunning)), "{report:?}");
        runtime.block_on(app_driver::send(&mut app, Message::Watch(orderer(), report)));
        assert_eq!(app.watch_status(&orderer()), Some("Thunderbird not running: mails wait in the outbox"));
        let mut ui = simulator(app.view());
        assert!(ui.find("Thunderbird not running: mails wait in the outbox").is_ok(), "{:?}", texts(&mut ui));
        drop(ui);

        let _ = app.update(Message::Nav(Nav::Pay));
        for message in [
            new_payment::Message::Merchant(shop().to_string()),
            new_payment::Message::Amount("1200".into()),
            new_payment::Message::Pay,
        ] {
            runtime.block_on(app_driver::send(&mut app, Message::Pay(message)));
        }
        let Screen::Pay(form) = app.screen() else { panic!("{:?}", app.screen()) };
        let new_payment::Stage::Sending { order, mails } = form.stage() else { panic!("{:?}", form.stage()) };
        assert_eq!(mails.len(), 2);
        assert!(mails.iter().all(|m| matches!(m.status, new_payment::MailStatus::Waiting(_))), "{mails:?}");
        let order = order.clone();
        let unsent = home.with_blocking(|s| s.unsent(Some(&order))).unwrap();
        assert_eq!(unsent.len(), 2, "both wait in the outbox");

        let (tr, theme, book, accounts) = (Tr::new(Lang::En), iced::Theme::Light, book(), [orderer()]);
        let Screen::Pay(form) = app.screen() else { unreachable!() };
        let view = || form.view(&tr, &accounts, &book);
        let mut ui = simulator(view());
        let shown = texts(&mut ui);
        let waiting = "Waits in the outbox: it leaves when Thunderbird runs.";
        assert_eq!(shown.iter().filter(|t| *t == waiting).count(), 2, "{shown:?}");
        assert!(!shown.iter().any(|t| t.starts_with("Not sent")), "{shown:?}");
        assert!(ui.find("New payment").is_ok(), "nothing is left to do here");
        let at = bounds_of(&mut ui, waiting);
        drop(ui);
        assert_eq!(red_pixels(&draw(view(), &theme), at, &theme), 0, "not drawn in red");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Accepts every mail, as a mail server that is up.
    struct Accepting;

    impl Transport for Accepting {
        fn send<'a>(&'a self, mails: &'a [Outgoing]) -> Sending<'a> {
            Box::pin(async move {
                let now = std::time::Instant::now();
                mails
                    .iter()
                    .map(|m| Dispatch {
                        message_id: m.message_id.clone(),
                        sent_as: None,
                        result: Ok(()),
                        started: now,
                        finished: now,
                    })
                    .collect()
            })
        }
    }

    /// An order of 1200 JPY at the example shop from `from`.
    fn order_from(from: &EmailAddress) -> backend::Order {
        let book = book();
        let mut form = new_payment::State::for_merchant(&shop(), &book);
        let _ = form.update(new_payment::Message::Amount("1200".into()), std::slice::from_ref(from), &book);
        form.order(Some(from), &book, mailpay::clock::now(), OrderNonce::generate(&mut rand::rng())).unwrap()
    }

    /// The bank's confirmation of exactly `terms`, as a raw mail.
    fn confirmation(terms: &OrderTerms) -> Vec<u8> {
        compose::confirm(&confirm_for(terms), &terms.bank, &Thread::default())
            .build(mailpay::clock::now(), &mut rand::rng())
            .bytes
    }

    /// Takes `raw` into the wallet as Thunderbird's host does.
    fn take(home: &Home, raw: &[u8]) -> Receipt {
        let received = Received::of(raw, false).expect("a MailPay mail");
        home.with_blocking(|s| mailpay::wallet::take(s, raw, received)).unwrap()
    }

    /// A mail Thunderbird's host took into the store (the same database,
    /// written by another program) raises the review banner of its order
    /// when it awaits the orderer's confirmation; one of a payment of
    /// another account is not this watcher's to tell.
    #[test]
    fn a_confirmation_thunderbird_took_in_offers_a_review() {
        let (home, dir) = temp_home("tb-took");
        let runtime = runtime();
        let hanako: EmailAddress = "hanako@example.jp".parse().unwrap();
        let mut placed = Vec::new();
        for from in [orderer(), hanako] {
            let order = order_from(&from);
            let terms = order.terms.clone();
            let id = runtime.block_on(backend::place(home.clone(), order)).unwrap();
            runtime.block_on(home.dispatch(&Accepting, &id)).unwrap();
            placed.push(terms);
        }
        let session = Session::through_thunderbird(through_thunderbird(&orderer()), home.paths());
        let mut app = app_with(&home, &session);
        let _ = app.update(Message::Nav(Nav::History));
        let mut reports = watch::stream(home.clone(), session);
        let report = next(&runtime, &mut reports);
        assert!(matches!(report, Report::Thunderbird(Link::NotRunning)), "{report:?}");

        // Hanako's confirmation first, then this account's.
        for terms in placed.iter().rev() {
            let receipt = take(&home, &confirmation(terms));
            assert!(matches!(&receipt, Receipt::Stepped { to, .. } if to.name() == "awaiting-confirmation"));
        }
        let mine = placed[0].order.clone();
        let report = next(&runtime, &mut reports);
        assert!(
            matches!(&report, Report::Took { order, what: Took::Awaiting } if *order == mine.to_string()),
            "{report:?}"
        );
        let seen = runtime.block_on(app_driver::send(&mut app, Message::Watch(orderer(), report)));
        assert!(
            seen.iter().any(|m| m.starts_with("History(Loaded(Ok")),
            "the history is read again: {seen:?}"
        );
        let banner = app.banner().expect("a banner");
        assert!(!banner.error);
        assert_eq!(banner.review.as_ref(), Some(&mine));
        assert_eq!(banner.text, format!("Your bank asks you to confirm order {mine}."));
        let mut ui = simulator(app.view());
        ui.click("Review").expect("the banner offers Review");
        let messages: Vec<_> = ui.into_messages().collect();
        feed(&runtime, &mut app, messages);
        let Screen::Approval(approval) = app.screen() else { panic!("{:?}", app.screen()) };
        assert_eq!(approval.order(), &mine);

        let more = runtime
            .block_on(async { tokio::time::timeout(3 * watch::THUNDERBIRD_POLL, reports.next()).await });
        assert!(more.is_err(), "nothing of the other account's payment: {more:?}");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// With Thunderbird running: the side bar says connected, Pay's mails
    /// go out through the add-on, and the bank's confirmation the add-on
    /// hands over raises the review banner in the app.
    #[test]
    fn with_thunderbird_running_the_app_pays_through_it_and_reviews_what_it_took_in() {
        use base64::Engine;
        let (home, dir) = temp_home("tb-host");
        let runtime = runtime();
        let address: EmailAddress = "orderer@buyer.test".parse().unwrap();
        let (_, session) = runtime
            .block_on(backend::save_account_through_thunderbird(home.clone(), through_thunderbird(&address)))
            .unwrap();
        let mut app = app_with(&home, &session);
        let mut reports = watch::stream(home.clone(), session.clone());

        let mut host = NativeHost::start(&dir);
        host.send(json!({"type": "hello", "version": "t", "identities": [{"id": "i", "email": "orderer@buyer.test"}]}));
        while host.expect("welcome").0["standby"] != false {}
        loop {
            let report = next(&runtime, &mut reports);
            let connected = matches!(report, Report::Thunderbird(Link::Connected));
            runtime.block_on(app_driver::send(&mut app, Message::Watch(address.clone(), report)));
            if connected {
                break;
            }
        }
        let mut ui = simulator(app.view());
        assert!(ui.find("Through Thunderbird: connected").is_ok(), "{:?}", texts(&mut ui));
        drop(ui);

        // Pay: the app hands both mails to the host; Thunderbird sends them.
        let order = order_from(&address);
        let terms = order.terms.clone();
        let id = runtime.block_on(backend::place(home.clone(), order)).unwrap();
        let sending = runtime.spawn(backend::dispatch(home.clone(), vec![session.clone()], id.clone()));
        for n in 0..2 {
            let (send, _) = host.expect("send");
            assert_eq!(send["identity"], "orderer@buyer.test");
            host.send(json!({"type": "sent", "request": send["request"], "message_id": format!("<tb-{n}@buyer.test>")}));
        }
        let sent = runtime.block_on(sending).unwrap().unwrap();
        assert!(sent.iter().all(|s| s.result.is_ok()), "{sent:?}");

        // The bank's confirmation arrives in Thunderbird; the add-on hands it over.
        let raw = base64::engine::general_purpose::STANDARD.encode(confirmation(&terms));
        host.send(json!({"type": "mail", "id": "m1", "raw": raw}));
        let (taken, _) = host.expect("taken");
        assert_eq!(taken["review"], true, "{taken}");
        let report = loop {
            match next(&runtime, &mut reports) {
                Report::Thunderbird(_) => continue,
                report => break report,
            }
        };
        assert!(matches!(&report, Report::Took { what: Took::Awaiting, .. }), "{report:?}");
        runtime.block_on(app_driver::send(&mut app, Message::Watch(address.clone(), report)));
        let banner = app.banner().expect("a banner");
        assert_eq!(banner.review.as_ref(), Some(&id));
        drop(host);
        let _ = std::fs::remove_dir_all(dir);
    }
}
