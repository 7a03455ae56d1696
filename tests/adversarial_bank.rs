//! Adversarial mail at the bank's ledger (real SQLite, mails built and
//! parsed by the protocol core): bills and OKs that must never move money.
//! Each case starts from an order the bank has confirmed (Fig. 1) and
//! checks that no transfer happens and no `settled` notice is queued; a
//! genuine OK, the control, settles.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mailpay::bank::ledger::{Ledger, Processed};
use mailpay::protocol::compose::{self, Outgoing, Thread};
use mailpay::protocol::confirmation::ConfirmationCode;
use mailpay::protocol::item::LineItem;
use mailpay::protocol::message::{Approve, Bill, Body, Decline, Rejected};
use mailpay::protocol::parse::{Incoming, parse};
use mailpay::protocol::reason::RejectReason;
use mailpay::protocol::{
    Currency, EmailAddress, Kind, Method, Money, OrderId, OrderTerms, PasswordA, Timestamp,
};

const NOW: Timestamp = Timestamp(1_795_630_158);

fn addr(a: &str) -> EmailAddress {
    a.parse().unwrap()
}

fn jpy() -> Currency {
    "JPY".parse().unwrap()
}

fn bank() -> EmailAddress {
    addr("bank@bank.test")
}

/// A ledger with the orderer (5000 JPY) and the shop.
fn ledger() -> Ledger {
    let dir = std::env::temp_dir().join(format!(
        "mailpay-advbank-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let ledger = Ledger::open(&dir.join("ledger.sqlite")).unwrap();
    ledger.open_account(&addr("t@buyer.test"), Some("T.S."), None, None, NOW).unwrap();
    ledger.open_account(&addr("shop@shop.test"), None, None, None, NOW).unwrap();
    ledger.set_balance(&addr("t@buyer.test"), jpy(), 5000).unwrap();
    ledger
}

fn terms() -> OrderTerms {
    let amount = Money::new(1200, jpy()).unwrap();
    OrderTerms {
        order: OrderId::generate(&mut rand::rng()),
        orderer: addr("t@buyer.test"),
        merchant: addr("shop@shop.test"),
        bank: bank(),
        amount,
        items: vec![LineItem::new(2, "Green tea", Some(Money::new(600, jpy()).unwrap())).unwrap()],
        password: PasswordA::generate(&mut rand::rng()),
        created: NOW,
        expires: NOW.plus_seconds(3600),
        method: Method::Confirm,
        board: None,
        nonce: None,
    }
    .bound(&mut rand::rng())
}

fn built(draft: compose::Draft) -> Outgoing {
    draft.build(NOW, &mut rand::rng())
}

/// The raw mail after `edit`, parsed; `None` if it is not MailPay any more
/// (refused before the ledger sees it).
fn mail(raw: &[u8], edit: impl Fn(String) -> String) -> Option<(Incoming, Vec<u8>)> {
    let raw = edit(String::from_utf8(raw.to_vec()).unwrap()).into_bytes();
    parse(&raw).ok().map(|m| (m, raw))
}

fn with_from(from: &str) -> impl Fn(String) -> String {
    let from = from.to_string();
    move |text: String| {
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let head: Vec<String> = head
            .split("\r\n")
            .map(|l| {
                if l.to_ascii_lowercase().starts_with("from:") {
                    format!("From: {from}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        format!("{}\r\n\r\n{body}", head.join("\r\n"))
    }
}

fn with_header(line: &str) -> impl Fn(String) -> String {
    let line = line.to_string();
    move |text: String| format!("{line}\r\n{text}")
}

/// A new Message-ID in front of the old one (the first one counts).
fn with_id(id: &str) -> impl Fn(String) -> String {
    let line = format!("Message-ID: <{id}@x.test>");
    move |text: String| format!("{line}\r\n{text}")
}

struct Order {
    terms: OrderTerms,
    order_mail: Incoming,
    bill: Outgoing,
    code: Option<ConfirmationCode>,
}

/// Fig. 1 up to the confirmation: the request and the order reach the
/// bank and the shop; the bill is built. With `bill_too`, the bank takes
/// the bill and confirms.
fn confirmed(ledger: &mut Ledger, bill_too: bool) -> Order {
    let terms = terms();
    let [order, request] = compose::order(&terms);
    let request = built(request);
    let order_mail = parse(&built(order).bytes).unwrap();
    ledger.process(&bank(), &parse(&request.bytes).unwrap(), &request.bytes, NOW).unwrap();
    let bill = Bill {
        order: terms.order.clone(),
        merchant: terms.merchant.clone(),
        orderer: terms.orderer.clone(),
        items: terms.items.clone(),
        total: terms.amount,
        billed: NOW,
        quoted_order: terms.clone(),
    };
    let bill = built(compose::bill(&bill, order_mail.order_block.as_ref().unwrap(), &order_mail.thread()));
    let mut code = None;
    if bill_too {
        let done = ledger.process(&bank(), &parse(&bill.bytes).unwrap(), &bill.bytes, NOW).unwrap();
        let confirm = done.outgoing.iter().find(|m| m.kind == Kind::Confirm).expect("a confirmation");
        let Body::Confirm(c) = parse(&confirm.bytes).unwrap().body else { panic!("not a confirmation") };
        code = Some(c.code);
    }
    Order { terms, order_mail, bill, code }
}

fn approve_mail(order: &Order, password: &PasswordA, code: &ConfirmationCode) -> Outgoing {
    let approve =
        Approve { order: order.terms.order.clone(), password: password.clone(), code: code.clone() };
    built(compose::approve(&approve, &order.terms.orderer, &bank(), &Thread::default()))
}

fn settles(done: &Processed) -> bool {
    done.outgoing.iter().any(|m| m.kind == Kind::Settled)
}

/// Takes the mail if it still parses; true if money moved or a settled
/// notice was queued.
fn moved(ledger: &mut Ledger, mail: Option<(Incoming, Vec<u8>)>) -> bool {
    let before = ledger.transfers().unwrap();
    let Some((mail, raw)) = mail else { return false };
    let done = ledger.process(&bank(), &mail, &raw, NOW).unwrap();
    settles(&done) || ledger.transfers().unwrap() != before
}

#[test]
fn a_genuine_ok_settles_once() {
    let mut ledger = ledger();
    let order = confirmed(&mut ledger, true);
    let ok = approve_mail(&order, &order.terms.password, order.code.as_ref().unwrap());
    assert!(moved(&mut ledger, mail(&ok.bytes, |t| t)), "the control case settles");
    assert_eq!(ledger.balance(&addr("t@buyer.test"), jpy()).unwrap(), 3800);
    assert!(!moved(&mut ledger, mail(&ok.bytes, |t| t)), "the same OK again");
}

/// The orderer declined himself, so only the merchant hears of it
/// (PROTOCOL.md 5.7): a `rejected` to the orderer is noise his wallet
/// cannot use. A second decline is refused to its sender alone.
#[test]
fn a_decline_is_told_to_the_merchant_alone() {
    let mut ledger = ledger();
    let order = confirmed(&mut ledger, true);
    let decline = Decline { order: order.terms.order.clone(), detail: None };
    let no = built(compose::decline(&decline, &order.terms.orderer, &bank(), &Thread::default()));
    let done = ledger.process(&bank(), &parse(&no.bytes).unwrap(), &no.bytes, NOW).unwrap();
    assert_eq!(done.reason, Some(RejectReason::Declined), "{}", done.note);
    let told: Vec<_> = done.outgoing.iter().map(|m| (m.kind, m.to.as_str().to_string())).collect();
    assert_eq!(told, vec![(Kind::Rejected, "shop@shop.test".to_string())]);
    let Body::Rejected(notice) = parse(&done.outgoing[0].bytes).unwrap().body else { panic!("not rejected") };
    assert_eq!(notice.reason, RejectReason::Declined);

    let again = built(compose::decline(&decline, &order.terms.orderer, &bank(), &Thread::default()));
    let done = ledger.process(&bank(), &parse(&again.bytes).unwrap(), &again.bytes, NOW).unwrap();
    let told: Vec<_> = done.outgoing.iter().map(|m| m.to.as_str().to_string()).collect();
    assert_eq!(told, vec!["t@buyer.test".to_string()], "already-answered goes to its sender");
    assert_eq!(done.reason, Some(RejectReason::AlreadyAnswered));
}

#[test]
fn adversarial_oks_never_move_money() {
    let mut refused = 0;
    let mut ledger = ledger();
    type Case = (&'static str, Box<dyn Fn(&Order, &Outgoing) -> Option<(Incoming, Vec<u8>)>>);
    let cases: Vec<Case> = vec![
        ("forged From", Box::new(|_, ok| mail(&ok.bytes, with_from("mallory@evil.test")))),
        (
            "look-alike sender (Cyrillic a)",
            Box::new(|_, ok| mail(&ok.bytes, with_from("t@buy\u{435}r.test"))),
        ),
        ("look-alike sender (digit)", Box::new(|_, ok| mail(&ok.bytes, with_from("t@buyer.te5t")))),
        (
            "dkim=fail",
            Box::new(|_, ok| mail(&ok.bytes, with_header("Authentication-Results: mx.bank.test; dkim=fail"))),
        ),
        (
            "dmarc=fail",
            Box::new(|_, ok| {
                mail(&ok.bytes, with_header("Authentication-Results: mx.bank.test; dmarc=fail"))
            }),
        ),
        (
            "spf=fail",
            Box::new(|_, ok| mail(&ok.bytes, with_header("Authentication-Results: mx.bank.test; spf=fail"))),
        ),
        ("through a mailing list", Box::new(|_, ok| mail(&ok.bytes, with_header("List-Id: <l.buyer.test>")))),
        (
            "wrong password A",
            Box::new(|o, _| {
                let wrong = approve_mail(o, &PasswordA::generate(&mut rand::rng()), o.code.as_ref().unwrap());
                mail(&wrong.bytes, |t| t)
            }),
        ),
        (
            "wrong confirmation code",
            Box::new(|o, _| {
                let code: ConfirmationCode = "AAAA2222".parse().unwrap();
                mail(&approve_mail(o, &o.terms.password, &code).bytes, |t| t)
            }),
        ),
    ];
    for (name, make) in &cases {
        let order = confirmed(&mut ledger, true);
        let ok = approve_mail(&order, &order.terms.password, order.code.as_ref().unwrap());
        assert!(!moved(&mut ledger, make(&order, &ok)), "{name}: money moved");
        refused += 1;
    }

    // An OK before the bill: nothing confirmed yet, nothing to approve.
    let early = confirmed(&mut ledger, false);
    let other = confirmed(&mut ledger, true);
    let ok = approve_mail(&early, &early.terms.password, other.code.as_ref().unwrap());
    assert!(!moved(&mut ledger, mail(&ok.bytes, |t| t)), "an OK before any confirmation");
    refused += 1;
    // Another order's A and code, under this order's id.
    let ok = approve_mail(&other, &early.terms.password, other.code.as_ref().unwrap());
    assert!(!moved(&mut ledger, mail(&ok.bytes, |t| t)), "another order's A");
    refused += 1;
    // An OK for an order the bank never heard of.
    let mut unknown = confirmed(&mut ledger, true);
    unknown.terms.order = OrderId::generate(&mut rand::rng());
    let ok = approve_mail(&unknown, &unknown.terms.password, unknown.code.as_ref().unwrap());
    assert!(!moved(&mut ledger, mail(&ok.bytes, |t| t)), "an unknown order");
    refused += 1;
    // A settled order: the OK replayed under a new Message-ID, and a second
    // bill for it.
    let paid = confirmed(&mut ledger, true);
    let ok = approve_mail(&paid, &paid.terms.password, paid.code.as_ref().unwrap());
    assert!(moved(&mut ledger, mail(&ok.bytes, |t| t)));
    assert!(!moved(&mut ledger, mail(&ok.bytes, with_id("replay-ok"))), "a replayed OK");
    assert!(!moved(&mut ledger, mail(&paid.bill.bytes, with_id("replay-bill"))), "a replayed bill");
    refused += 2;
    // The old A of the settled order, on a new request and bill.
    let reuse = paid.terms.clone().bound(&mut rand::rng());
    let [_, request] = compose::order(&reuse);
    let request = built(request);
    let done = ledger.process(&bank(), &parse(&request.bytes).unwrap(), &request.bytes, NOW).unwrap();
    assert!(!settles(&done) && done.outgoing.iter().all(|m| m.kind != Kind::Confirm), "old A: {}", done.note);
    refused += 1;
    println!("adversarial OKs refused: {refused}");
    assert_eq!(refused, cases.len() + 6);
}

#[test]
fn adversarial_bills_never_lead_to_a_confirmation() {
    let mut ledger = ledger();
    let mut refused = 0;
    type Edit = Box<dyn Fn(String) -> String>;
    let edits: Vec<(&str, Edit)> = vec![
        ("forged From", Box::new(with_from("mallory@evil.test"))),
        ("look-alike merchant (Cyrillic o)", Box::new(with_from("sh\u{43e}p@shop.test"))),
        ("another shop", Box::new(with_from("shop@shop2.test"))),
        (
            "dkim=fail",
            Box::new(with_header("Authentication-Results: mx.bank.test; dkim=fail header.d=shop.test")),
        ),
        ("spf=fail", Box::new(with_header("Authentication-Results: mx.bank.test; spf=fail"))),
        ("through a mailing list", Box::new(with_header("List-Id: <l.shop.test>"))),
    ];
    for (name, edit) in &edits {
        let order = confirmed(&mut ledger, false);
        let Some((bill, raw)) = mail(&order.bill.bytes, edit) else {
            refused += 1;
            continue;
        };
        let done = ledger.process(&bank(), &bill, &raw, NOW).unwrap();
        assert!(done.outgoing.iter().all(|m| m.kind != Kind::Confirm), "{name}: confirmed ({})", done.note);
        refused += 1;
    }
    // A bill for more than the order, and a bill to another payee.
    for (name, total, merchant) in [
        ("amount raised in the bill", Money::new(9999, jpy()).unwrap(), addr("shop@shop.test")),
        ("another payee in the bill", Money::new(1200, jpy()).unwrap(), addr("shop@shop2.test")),
    ] {
        let order = confirmed(&mut ledger, false);
        let bill = Bill {
            order: order.terms.order.clone(),
            merchant: merchant.clone(),
            orderer: order.terms.orderer.clone(),
            items: vec![LineItem::new(1, "Green tea", Some(total)).unwrap()],
            total,
            billed: NOW,
            quoted_order: order.terms.clone(),
        };
        let bill =
            compose::bill(&bill, order.order_mail.order_block.as_ref().unwrap(), &order.order_mail.thread());
        let bill = built(bill);
        let Some((bill, raw)) = mail(&bill.bytes, with_from(merchant.as_str())) else {
            refused += 1;
            continue;
        };
        let done = ledger.process(&bank(), &bill, &raw, NOW).unwrap();
        assert!(done.outgoing.iter().all(|m| m.kind != Kind::Confirm), "{name}: confirmed ({})", done.note);
        refused += 1;
    }
    println!("adversarial bills refused: {refused}");
    assert_eq!(refused, edits.len() + 2);
}

/// The merchant's refusal in the bill's place (PROTOCOL.md 5.9): the bank
/// ends the order and tells the orderer why, whichever of the payment
/// request and the refusal comes first. A refusal from anyone but the
/// merchant the orderer pays is refused to its sender and ends nothing.
#[test]
fn the_merchants_refusal_ends_the_order_and_tells_the_orderer_why() {
    let refusal = |terms: &OrderTerms, from: &str| {
        let why = "\"Sencha\" is not in the catalogue".to_string();
        let refusal =
            Rejected { order: terms.order.clone(), reason: RejectReason::MerchantRefused, detail: why };
        built(compose::rejected(&refusal, &addr(from), &bank(), &Thread::default()))
    };
    let take = |ledger: &mut Ledger, mail: &Outgoing| {
        ledger.process(&bank(), &parse(&mail.bytes).unwrap(), &mail.bytes, NOW).unwrap()
    };
    // What the bank told `to`, as "reason detail".
    let told = |done: &Processed, to: &str| {
        done.outgoing.iter().find(|m| m.kind == Kind::Rejected && m.to == addr(to)).map(|m| {
            let Body::Rejected(r) = parse(&m.bytes).unwrap().body else { panic!("a rejected block") };
            format!("{} {}", r.reason, r.detail)
        })
    };
    let mut ledger = ledger();
    ledger.open_account(&addr("shop@shop2.test"), None, None, None, NOW).unwrap();

    // After the payment request; a bill coming after it changes nothing.
    let order = confirmed(&mut ledger, false);
    let done = take(&mut ledger, &refusal(&order.terms, "shop@shop.test"));
    let to_orderer = told(&done, "t@buyer.test").unwrap_or_default();
    assert!(
        to_orderer.starts_with("merchant-refused shop@shop.test will not fill the order"),
        "{to_orderer}"
    );
    assert!(to_orderer.contains("not in the catalogue"), "{to_orderer}");
    assert_eq!(told(&done, "shop@shop.test"), None, "the shop decided it: it is not told (PROTOCOL.md 6.4)");
    assert_eq!(done.outgoing.len(), 1, "{}", done.note);
    assert_eq!(ledger.payment(&order.terms.order).unwrap().status, "rejected");
    let done = take(&mut ledger, &order.bill);
    assert!(done.outgoing.iter().all(|m| m.kind != Kind::Confirm), "{}", done.note);

    // Before the payment request: kept, and acted on when it comes.
    let terms = terms();
    let done = take(&mut ledger, &refusal(&terms, "shop@shop.test"));
    assert!(done.outgoing.is_empty(), "nothing to say before the request: {}", done.note);
    let [_, request] = compose::order(&terms);
    let done = take(&mut ledger, &built(request));
    assert!(told(&done, "t@buyer.test").is_some_and(|t| t.starts_with("merchant-refused")), "{}", done.note);
    assert_eq!(told(&done, "shop@shop.test"), None, "{}", done.note);

    // From another shop with an account, and from a stranger.
    let order = confirmed(&mut ledger, false);
    for (from, reason) in [("shop@shop2.test", "payee-mismatch"), ("mallory@evil.test", "unknown-payee")] {
        let done = take(&mut ledger, &refusal(&order.terms, from));
        assert!(told(&done, from).is_some_and(|t| t.starts_with(reason)), "{from}: {}", done.note);
        assert_eq!(told(&done, "t@buyer.test"), None, "{from}: the orderer is not told");
    }
    assert_eq!(ledger.payment(&order.terms.order).unwrap().status, "collecting");
    let done = take(&mut ledger, &order.bill);
    assert!(done.outgoing.iter().any(|m| m.kind == Kind::Confirm), "the order goes on: {}", done.note);
}

/// A shop that bills other goods at the ordered total, or the ordered
/// goods in another quantity: amount, parties and the forwarded order all
/// agree, only the items do not. The bank asks nothing, moves nothing, ends
/// the order with `items-mismatch` and tells the orderer and the shop which
/// line differs. The bill for the ordered items, the control, is confirmed
/// with exactly those items.
#[test]
fn a_bill_for_other_items_at_the_ordered_total_is_rejected_with_items_mismatch() {
    let mut ledger = ledger();
    let price = |minor| Money::new(minor, jpy()).unwrap();
    let cases = [
        (
            "other goods",
            vec![LineItem::new(1, "Annual premium subscription, auto-renewing", Some(price(1200))).unwrap()],
        ),
        ("another quantity", vec![LineItem::new(1, "Green tea", Some(price(1200))).unwrap()]),
        (
            "an extra line",
            vec![
                LineItem::new(2, "Green tea", Some(price(500))).unwrap(),
                LineItem::new(1, "Gift wrapping", Some(price(200))).unwrap(),
            ],
        ),
    ];
    for (name, items) in cases {
        let order = confirmed(&mut ledger, false);
        let bill = Bill {
            order: order.terms.order.clone(),
            merchant: order.terms.merchant.clone(),
            orderer: order.terms.orderer.clone(),
            items,
            total: order.terms.amount,
            billed: NOW,
            quoted_order: order.terms.clone(),
        };
        let bill =
            compose::bill(&bill, order.order_mail.order_block.as_ref().unwrap(), &order.order_mail.thread());
        let bill = built(bill);
        let before = ledger.transfers().unwrap();
        let done = ledger.process(&bank(), &parse(&bill.bytes).unwrap(), &bill.bytes, NOW).unwrap();
        assert!(done.outgoing.iter().all(|m| m.kind != Kind::Confirm), "{name}: confirmed ({})", done.note);
        assert_eq!(ledger.transfers().unwrap(), before, "{name}: money moved");
        let payment = ledger.payment(&order.terms.order).unwrap();
        assert_eq!(
            (payment.status.as_str(), payment.reason.as_deref()),
            ("rejected", Some("items-mismatch")),
            "{name}"
        );
        for to in ["t@buyer.test", "shop@shop.test"] {
            let told = done.outgoing.iter().find(|m| m.kind == Kind::Rejected && m.to == addr(to));
            let told = told.unwrap_or_else(|| panic!("{name}: {to} is not told ({})", done.note));
            let Body::Rejected(r) = parse(&told.bytes).unwrap().body else { panic!("a rejected block") };
            assert_eq!(r.reason, RejectReason::ItemsMismatch, "{name}");
            assert!(r.detail.contains("line 1") || r.detail.contains("line 2"), "{name}: {}", r.detail);
        }
    }
    let order = confirmed(&mut ledger, true);
    let confirm = ledger.payment(&order.terms.order).unwrap();
    assert_eq!(confirm.status, "awaiting-answer", "the control is confirmed");
}
