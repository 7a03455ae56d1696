//! Every kind of MailPay mail survives the wire: typed content →
//! `compose` → `Draft::build` → `parse::parse` gives the same typed content
//! back, for random amounts in every currency, item lists in any script,
//! methods, passwords A and addresses. Orders and confirmations also survive
//! being quoted in a reply, the way people answer by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::protocol as protocol_support;

use mailpay::protocol::block::Origin;
use mailpay::protocol::cheque::{Cheque, WalletKey};
use mailpay::protocol::compose::{self, Draft, Outgoing, Thread};
use mailpay::protocol::confirmation::ConfirmationCode;
use mailpay::protocol::item::LineItem;
use mailpay::protocol::message::{
    Approve, Bill, Body, Confirm, Decline, Kind, Rejected, Settled, WalletMail,
};
use mailpay::protocol::money::MAX_MINOR;
use mailpay::protocol::parse::{Incoming, parse};
use mailpay::protocol::reason::RejectReason;
use mailpay::protocol::{Currency, EmailAddress, Method, Money, OrderId, OrderTerms, PasswordA, Timestamp};
use proptest::prelude::*;
use protocol_support::METHODS;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// 64 cases unless `PROPTEST_CASES` asks for more: quick in debug builds.
/// No regression files are written into the source tree.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig { failure_persistence: None, ..ProptestConfig::default() };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 64;
    }
    config
}

// ---------------------------------------------------------------- strategies

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::all().collect::<Vec<_>>())
}

fn amount(currency: Currency) -> impl Strategy<Value = Money> {
    prop_oneof![4 => 1..=MAX_MINOR, 2 => 1..=10_000u64, 1 => Just(MAX_MINOR), 1 => Just(1u64)]
        .prop_map(move |minor| Money::new(minor, currency).expect("1..=MAX_MINOR is a valid amount"))
}

/// Prices small enough that 20 lines of 9999 never pass [`MAX_MINOR`].
const MAX_PRICE: u64 = MAX_MINOR / (20 * 9999);

const JAPANESE: &[&str] = &[
    "緑茶",
    "抹茶",
    "ほうじ茶",
    "湯呑み",
    "急須",
    "煎茶100g",
    "お茶の葉",
    "日本語テキスト",
    "、",
    "「特選」",
];
const OTHER_SCRIPTS: &[&str] =
    &["🍵", "🎁", "👍🏽", "👨‍👩‍👧", "Grüße", "ñandú", "Ωmega", "中文", "한국어", "عربى", "café"];
/// Words that mean something to the item, block or reply syntax.
const TRICKY: &[&str] = &[
    "@",
    "@",
    ":",
    "Note:",
    "a:b",
    "@home",
    "x",
    "×",
    "X",
    "1200",
    "12.50",
    "JPY",
    "USD",
    "100%",
    "#1",
    "\"quoted\"",
    "it's",
    ">",
    ">>",
    "> quoted",
    "Item:",
    "Total:",
    "Code:",
    "Check:",
    "Amount:",
    "order:",
    "-----",
    "OK",
    "NO",
    "wrote:",
    "-->",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => "[A-Za-z0-9]{1,12}",
        3 => prop::sample::select(JAPANESE).prop_map(str::to_string),
        2 => prop::sample::select(OTHER_SCRIPTS).prop_map(str::to_string),
        3 => prop::sample::select(TRICKY).prop_map(str::to_string),
    ]
}

/// Free text of at most `max` characters, with single spaces (as every
/// block value is read back), or one unbroken run of Japanese longer than
/// `max` bytes.
fn text(max: usize) -> impl Strategy<Value = String> {
    let kana: Vec<char> =
        "あいうえおかきくけこさしすせそたちつてとなにぬねのアイウエオ漢字緑茶抹茶急須".chars().collect();
    prop_oneof![
        6 => prop::collection::vec(word(), 1..40).prop_map(move |words| fit(&words.join(" "), max)),
        1 => prop::collection::vec(prop::sample::select(kana), (max / 3 + 1)..=max)
            .prop_map(|chars| chars.into_iter().collect::<String>()),
    ]
}

/// The first `max` characters, without a space at either end.
fn fit(text: &str, max: usize) -> String {
    text.chars().take(max).collect::<String>().trim().to_string()
}

/// Up to 20 lines in `currency`; priced lines only when `all_priced`, else
/// some priced and some not.
fn items(currency: Currency, all_priced: bool) -> impl Strategy<Value = Vec<LineItem>> {
    let price = if all_priced {
        (1..=MAX_PRICE).prop_map(Some).boxed()
    } else {
        prop::option::weighted(0.7, 1..=MAX_PRICE).boxed()
    };
    let quantity = prop_oneof![3 => 1..=12u32, 1 => 1..=9999u32];
    prop::collection::vec((quantity, text(200), price), 0..20).prop_map(move |lines| {
        lines
            .into_iter()
            // An unpriced line whose description ends in "@ <figure>" could
            // not be told from a priced one: `LineItem::new` refuses it.
            .filter_map(|(q, d, p)| {
                LineItem::new(q, &d, p.map(|m| Money::new(m, currency).expect("valid"))).ok()
            })
            .collect()
    })
}

/// The sum of the lines when every line is priced, as blocks require.
fn priced_total(items: &[LineItem]) -> Option<Money> {
    if items.is_empty() || items.iter().any(|i| i.unit_price.is_none()) {
        return None;
    }
    Money::sum(items.iter().filter_map(LineItem::line_total))
}

/// Lines and an amount that agree with them.
fn priced_lines(all_priced: bool) -> impl Strategy<Value = (Vec<LineItem>, Money)> {
    currency().prop_flat_map(move |c| (items(c, all_priced), amount(c))).prop_map(|(items, amount)| {
        let amount = priced_total(&items).unwrap_or(amount);
        (items, amount)
    })
}

fn address() -> impl Strategy<Value = EmailAddress> {
    (
        "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,12}(\\.[a-zA-Z0-9_+-]{1,8}){0,2}",
        "[a-z0-9]{1,10}(-[a-z0-9]{1,5})?(\\.[a-z0-9]{1,10}){0,2}\\.[a-zA-Z]{2,6}",
    )
        .prop_filter_map("a valid address", |(local, domain)| format!("{local}@{domain}").parse().ok())
}

/// 16 Crockford symbols, typed in any case, with or without hyphens.
fn order_id() -> impl Strategy<Value = OrderId> {
    ("[0-9A-HJKMNP-TV-Z]{16}", any::<bool>(), any::<bool>()).prop_map(|(symbols, lower, grouped)| {
        let mut typed = if grouped { mailpay::protocol::base32::group(&symbols, 4) } else { symbols };
        if lower {
            typed = typed.to_lowercase();
        }
        typed.parse().expect("16 symbols are an order id")
    })
}

/// A generated password A, or a strong one typed by hand (any case,
/// hyphens, spaces, the look-alikes I, L and O).
fn password() -> impl Strategy<Value = PasswordA> {
    prop_oneof![
        any::<u64>().prop_map(|seed| PasswordA::generate(&mut StdRng::seed_from_u64(seed))),
        "[0-9A-Za-z]{4}([- ][0-9A-Za-z]{4}){3,8}"
            .prop_filter_map("a strong password", |typed| PasswordA::parse(&typed).ok()),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop::sample::select(METHODS.to_vec())
}

/// Anything from 1970 to 9989.
fn instant() -> impl Strategy<Value = Timestamp> {
    (0..=253_086_000_000i64).prop_map(Timestamp)
}

fn code() -> impl Strategy<Value = ConfirmationCode> {
    "[0-9A-HJKMNP-TV-Z]{8}".prop_map(|s| s.parse().expect("8 symbols are a code"))
}

prop_compose! {
    fn terms()(
        (items, amount) in priced_lines(false),
        order in order_id(),
        orderer in address(),
        merchant in address(),
        bank in address(),
        password in password(),
        created in instant(),
        valid_for in 1..=10 * 365 * 86_400i64,
        method in method(),
        board in prop::option::of("https://[a-z]{1,10}\\.test/[a-z0-9/_-]{0,20}"),
    ) -> OrderTerms {
        OrderTerms {
            order, orderer, merchant, bank, amount, items, password, created,
            expires: created.plus_seconds(valid_for), method, board,
            nonce: None,
        }
    }
}

// ---------------------------------------------------------------- helpers

const NOW: Timestamp = protocol_support::CREATED;

fn build(draft: Draft, seed: u64) -> Outgoing {
    draft.build(NOW, &mut StdRng::seed_from_u64(seed))
}

fn read(bytes: &[u8]) -> Incoming {
    parse(bytes).unwrap_or_else(|e| panic!("{e}\n--- the mail ---\n{}", String::from_utf8_lossy(bytes)))
}

/// Builds the draft, parses the bytes, and checks the envelope and content.
fn round_trip(draft: Draft, seed: u64, expected: &Body) -> (Outgoing, Incoming) {
    let (kind, from, to, order) = (draft.kind, draft.from.clone(), draft.to.clone(), draft.order.clone());
    let out = build(draft, seed);
    assert_eq!((out.kind, &out.order), (kind, &order));
    let incoming = read(&out.bytes);
    assert_eq!(&incoming.body, expected);
    assert_eq!(incoming.body.kind(), kind);
    assert_eq!(incoming.from, from);
    assert_eq!(incoming.to, vec![to]);
    assert_eq!(incoming.message_id.as_deref(), Some(out.message_id.as_str()));
    assert!(incoming.blocks.iter().any(|b| b.block == kind.block_name() && b.origin == Origin::Own));
    (out, incoming)
}

/// The text body of a built mail, as a mail client shows it.
fn text_body(bytes: &[u8]) -> String {
    let message = mail_parser::MessageParser::default().parse(bytes).expect("a mail");
    message.body_text(0).expect("a text body").into_owned()
}

/// Every line of `text` behind `depth` quotation marks.
fn quote(text: &str, depth: usize) -> String {
    text.lines().map(|line| format!("{}{line}\n", "> ".repeat(depth))).collect()
}

/// A reply as a mail client writes it: no MailPay headers, own text above
/// the quotation.
fn reply(from: &EmailAddress, to: &EmailAddress, answering: &Outgoing, body: &str) -> Vec<u8> {
    let body = body.replace('\n', "\r\n");
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: Re: your mail\r\nDate: Wed, 25 Nov 2026 19:00:00 +0900\r\n\
         In-Reply-To: <{id}>\r\nReferences: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
        id = answering.message_id,
    )
    .into_bytes()
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(config())]

    #[test]
    fn order_and_payment_request(terms in terms(), seed in any::<u64>()) {
        let [order, request] = compose::order(&terms);
        prop_assert_eq!(&order.to, &terms.merchant);
        prop_assert_eq!(&request.to, &terms.bank);
        let (_, incoming) = round_trip(order, seed, &Body::Order(terms.clone()));
        prop_assert_eq!(incoming.order_block.map(|b| b.same_content(&terms.to_block(Kind::Order))), Some(true));
        round_trip(request, seed ^ 1, &Body::PaymentRequest(terms.clone()));
    }

    #[test]
    fn bill_with_the_order_block_as_received(
        terms in terms(),
        (lines, total) in priced_lines(true),
        billed in instant(),
        seed in any::<u64>(),
    ) {
        let [order, _] = compose::order(&terms);
        let order_mail = build(order, seed);
        let received = read(&order_mail.bytes);
        let order_block = received.order_block.clone().expect("the order mail carries its block");
        let bill = Bill {
            order: terms.order.clone(),
            merchant: terms.merchant.clone(),
            orderer: terms.orderer.clone(),
            items: lines,
            total,
            billed,
            quoted_order: terms.clone(),
        };
        let draft = compose::bill(&bill, &order_block, &received.thread());
        prop_assert_eq!(&draft.to, &terms.bank);
        let (_, incoming) = round_trip(draft, seed ^ 1, &Body::Bill(bill));
        prop_assert_eq!(incoming.in_reply_to, vec![order_mail.message_id]);
    }

    #[test]
    fn confirm(
        terms in terms(),
        (lines, amount) in priced_lines(false),
        key in prop::collection::vec(any::<u8>(), 1..64),
        nonce in any::<[u8; 8]>(),
        attempts_left in any::<u8>(),
        seed in any::<u64>(),
    ) {
        let confirm = Confirm {
            order: terms.order.clone(),
            orderer: terms.orderer.clone(),
            merchant: terms.merchant.clone(),
            amount,
            items: lines,
            code: ConfirmationCode::compute(&key, &terms.order, amount, &terms.merchant, &terms.password, &nonce),
            expires: terms.expires,
            attempts_left,
            proof: Some(mailpay::protocol::confirmation::Proof::compute(&terms.password, &terms.order)),
        };
        round_trip(compose::confirm(&confirm, &terms.bank, &Thread::default()), seed, &Body::Confirm(confirm));
    }

    #[test]
    fn approve_and_decline(
        order in order_id(),
        orderer in address(),
        bank in address(),
        password in password(),
        code in code(),
        detail in prop::option::of(text(200)),
        seed in any::<u64>(),
    ) {
        let approve = Approve { order: order.clone(), password, code };
        let draft = compose::approve(&approve, &orderer, &bank, &Thread::default());
        round_trip(draft, seed, &Body::Approve(approve));
        let decline = Decline { order, detail };
        let draft = compose::decline(&decline, &orderer, &bank, &Thread::default());
        round_trip(draft, seed ^ 1, &Body::Decline(decline));
    }

    #[test]
    fn settled(
        terms in terms(),
        settled_at in instant(),
        reference in text(60),
        to_merchant in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let settled = Settled {
            order: terms.order.clone(),
            orderer: terms.orderer.clone(),
            merchant: terms.merchant.clone(),
            amount: terms.amount,
            settled: settled_at,
            reference,
        };
        let to = if to_merchant { &terms.merchant } else { &terms.orderer };
        round_trip(compose::settled(&settled, &terms.bank, to, &Thread::default()), seed, &Body::Settled(settled));
    }

    #[test]
    fn rejected_with_every_reason(
        order in order_id(),
        bank in address(),
        to in address(),
        detail in prop::option::of(text(200)),
        seed in any::<u64>(),
    ) {
        for (i, reason) in RejectReason::ALL.iter().enumerate() {
            let rejected = Rejected { order: order.clone(), reason: *reason, detail: detail.clone().unwrap_or_default() };
            let draft = compose::rejected(&rejected, &bank, &to, &Thread::default());
            round_trip(draft, seed ^ i as u64, &Body::Rejected(rejected));
        }
    }

    #[test]
    fn wallet_with_a_sealed_cheque(terms in terms(), seed in any::<[u8; 32]>(), issued in instant()) {
        let bank_identity = age::x25519::Identity::generate();
        let wallet_key = WalletKey::from_seed(&seed);
        let cheque = Cheque::for_order(&terms, issued);
        let sealed = cheque.seal(&wallet_key, &bank_identity.to_public()).expect("sealing works");
        let wallet = WalletMail { order: terms.order.clone(), orderer: terms.orderer.clone(), cheque: sealed };
        let draft = compose::wallet(&wallet, &terms.bank);
        let (_, incoming) = round_trip(draft, u64::from(seed[0]), &Body::Wallet(wallet));
        let Body::Wallet(received) = incoming.body else { unreachable!("checked by round_trip") };
        prop_assert_eq!(Cheque::open(&received.cheque, &bank_identity, &wallet_key.public()), Ok(cheque));
    }

    #[test]
    fn an_order_quoted_in_a_reply(terms in terms(), depth in 1..=3usize, seed in any::<u64>()) {
        let [order, _] = compose::order(&terms);
        let sent = build(order, seed);
        let body = format!(
            "Thank you for your order.\n\nOn Wed, 25 Nov 2026 18:09, {} wrote:\n{}",
            terms.orderer,
            quote(&text_body(&sent.bytes), depth)
        );
        let incoming = read(&reply(&terms.merchant, &terms.merchant, &sent, &body));
        prop_assert_eq!(&incoming.body, &Body::Order(terms.clone()));
        let found: Vec<Origin> = incoming.blocks.iter().map(|b| b.origin).collect();
        prop_assert_eq!(found, vec![Origin::Quoted { depth }]);
    }

    #[test]
    fn a_bill_written_by_hand_above_the_quoted_order(
        terms in terms(),
        billed in instant(),
        seed in any::<u64>(),
    ) {
        let [order, _] = compose::order(&terms);
        let sent = build(order, seed);
        let bill = Bill {
            order: terms.order.clone(),
            merchant: terms.merchant.clone(),
            orderer: terms.orderer.clone(),
            items: vec![],
            total: terms.amount,
            billed,
            quoted_order: terms.clone(),
        };
        let body = format!(
            "{}\n{} のメッセージ:\n{}",
            bill.to_block().render(),
            terms.orderer,
            quote(&text_body(&sent.bytes), 1)
        );
        let incoming = read(&reply(&terms.merchant, &terms.bank, &sent, &body));
        prop_assert_eq!(incoming.body, Body::Bill(bill));
    }

    #[test]
    fn a_confirmation_quoted_in_the_answer(
        terms in terms(),
        code in code(),
        answer in prop::sample::select(vec!["OK", "ok", "NO", "", "Decline."]),
        seed in any::<u64>(),
    ) {
        let confirm = Confirm {
            order: terms.order.clone(),
            orderer: terms.orderer.clone(),
            merchant: terms.merchant.clone(),
            amount: terms.amount,
            items: terms.items.clone(),
            code: code.clone(),
            expires: terms.expires,
            attempts_left: 5,
            proof: Some(mailpay::protocol::confirmation::Proof::compute(&terms.password, &terms.order)),
        };
        let sent = build(compose::confirm(&confirm, &terms.bank, &Thread::default()), seed);
        // The orderer types A and the code in his own way.
        let own = match answer {
            "OK" | "ok" => format!(
                "{answer}\nPassword-A: {}\nCode: {}\n",
                terms.password.display().to_lowercase().replace('-', " "),
                code.to_string().to_lowercase()
            ),
            "" => String::new(),
            other => format!("{other}\n"),
        };
        let body = format!(
            "{own}\nOn Wed, 25 Nov 2026 18:09, {} wrote:\n{}",
            terms.bank,
            quote(&text_body(&sent.bytes), 1)
        );
        let incoming = read(&reply(&terms.orderer, &terms.bank, &sent, &body));
        let expected = match answer {
            "OK" | "ok" => Body::Approve(Approve { order: terms.order.clone(), password: terms.password.clone(), code }),
            "" => Body::Confirm(confirm),
            _ => Body::Decline(Decline { order: terms.order.clone(), detail: None }),
        };
        prop_assert_eq!(incoming.body, expected);
    }
}
