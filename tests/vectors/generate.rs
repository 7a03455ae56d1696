//! Writes the mails of `tests/vectors/mails/` (write mode only): the mails
//! of one order per figure, as `protocol::compose` writes them with fixed
//! dates and Message-IDs, variants the matching rule must refuse, and
//! mails the parser must refuse. A mail is rewritten only when it changed;
//! a wallet mail keeps its age ciphertext (which is random) as long as it
//! still opens to the same cheque.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use mailpay::protocol::block::Block;
use mailpay::protocol::cheque::{Cheque, WalletKey};
use mailpay::protocol::compose::{self, Draft, Thread};
use mailpay::protocol::confirmation::{ConfirmationCode, Proof};
use mailpay::protocol::message::{Approve, Bill, Confirm, Decline, Rejected, Settled, WalletMail};
use mailpay::protocol::reason::RejectReason;
use mailpay::protocol::{
    Body, EmailAddress, Kind, Method, OrderId, OrderNonce, OrderTerms, PasswordA, Timestamp,
};

use crate::values::wallet_key;

/// The bank's secret for confirmation codes (matching.json `bank_key_hex`).
pub const BANK_KEY: &[u8] = b"the bank's confirmation key";
/// The nonce of each order's first confirmation (`confirm_nonce_hex`).
pub const CONFIRM_NONCE: &[u8] = b"nonce-1";
/// The bank's age identity, published with the vectors so that anyone can
/// open the cheques of the wallet mails (`bank_identity`).
pub const BANK_IDENTITY: &str = "AGE-SECRET-KEY-1HD6QMMJZYAH4FN4ZY6V5ZRCFYNAQ5QG00FPJ5P5YG5APYLHNP8GSEPS3GV";
/// The orderer's wallet key (seed), registered at the bank.
pub const ORDERER_SEED: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// Someone else's wallet key.
pub const STRANGER_SEED: &str = "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5";

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn address(text: &str) -> EmailAddress {
    text.parse().unwrap()
}

fn a(text: &str) -> PasswordA {
    PasswordA::parse(text).unwrap()
}

fn orderer() -> EmailAddress {
    address("orderer@buyer.test")
}
fn merchant() -> EmailAddress {
    address("shop@shop.test")
}
fn bank() -> EmailAddress {
    address("bank@bank.test")
}
fn stranger() -> EmailAddress {
    address("mallory@evil.test")
}

/// An order of `method` whose id its nonce binds to the orderer, valid a day.
fn terms(
    method: Method,
    nonce: &str,
    password: &str,
    amount: &str,
    items: &[&str],
    created: &str,
) -> OrderTerms {
    let nonce: OrderNonce = nonce.parse().unwrap();
    let created = at(created);
    OrderTerms {
        order: OrderId::bound(&orderer(), &nonce),
        orderer: orderer(),
        merchant: merchant(),
        bank: bank(),
        amount: amount.parse().unwrap(),
        items: items.iter().map(|i| i.parse().unwrap()).collect(),
        password: a(password),
        created,
        expires: created.plus_seconds(86_400),
        method,
        board: method.needs_board().then(|| "https://shop.test/board".to_string()),
        nonce: Some(nonce),
    }
}

/// The orders of Figs. 1 to 4. Fig. 1's is PROTOCOL.md's example order.
pub fn figure(n: u8) -> OrderTerms {
    match n {
        1 => terms(
            Method::Confirm,
            "8M2Q-4XKD-R7TW-0N3F-9HBV-C5PA-YE",
            "7KQ3-M9ZX-P2VD-H4TR-B8NC-QWER-TY",
            "1200 JPY",
            &["2 x Green tea 100g @ 600 JPY"],
            "2026-11-25T18:09:18Z",
        ),
        2 => terms(
            Method::Cheque,
            "3WQH-8KZD-M2XR-7TPV-N4FA-C9JY-B6",
            "R4NX-8QJV-TD2M-K7HW-C3PZ-9BGF-Y6",
            "25.00 USD",
            &["1 x Loose-leaf sampler @ 25.00 USD"],
            "2026-11-25T18:20:00Z",
        ),
        3 => terms(
            Method::Board,
            "6TCM-Q1WZ-H8RK-P3XD-V9NB-F2JA-T4",
            "M3TD-Q8XF-4KHZ-R9WB-N2CJ-6PVG-A7",
            "0.125 KWD",
            &["1 x Tea towel @ 0.125 KWD"],
            "2026-11-25T18:30:00Z",
        ),
        _ => terms(
            Method::All,
            "9DKP-4HRW-X7MQ-2NBT-Z5CF-J8VE-A3",
            "H6QW-2RZN-8TKD-C4XM-P9VB-F3JT-Y7",
            "8800 JPY",
            &[
                "1 x 緑茶 100g @ 1200 JPY",
                "2 x Sencha tin @ 400 JPY",
                "1 x Handmade cast-iron kyusu teapot with bamboo handle and stainless steel strainer @ 6800 JPY",
            ],
            "2026-11-25T18:40:00Z",
        ),
    }
}

/// The Message-ID of a vector mail: `KIND.ORDER.VECnnnnn@DOMAIN`.
fn id(kind: Kind, order: &OrderId, from: &EmailAddress, n: u32) -> String {
    format!("{}.{}.VEC{n:05}@{}", kind.as_str(), order.as_str(), from.domain())
}

fn reply_to(parent: &str) -> Thread {
    Thread { in_reply_to: Some(parent.to_string()), references: vec![parent.to_string()], subject: None }
}

fn build(draft: Draft, now: Timestamp, n: u32) -> Vec<u8> {
    let message_id = id(draft.kind, &draft.order, &draft.from, n);
    draft.build_with_id(now, message_id).bytes
}

/// A mail of `kind` carrying `blocks` as given.
fn draft(kind: Kind, order: &OrderId, from: &EmailAddress, blocks: Vec<Block>, thread: Thread) -> Draft {
    Draft {
        kind,
        order: order.clone(),
        from: from.clone(),
        to: bank(),
        subject: format!("{kind} {order}"),
        text: String::new(),
        blocks,
        attachment: None,
        thread,
        automated: false,
    }
}

fn set(block: &mut Block, key: &str, value: &str) {
    match block.fields.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => *v = value.to_string(),
        None => block.fields.push((key.to_string(), value.to_string())),
    }
}

fn bill_for(t: &OrderTerms) -> Bill {
    Bill {
        order: t.order.clone(),
        merchant: t.merchant.clone(),
        orderer: t.orderer.clone(),
        items: t.items.clone(),
        total: t.amount,
        billed: t.created.plus_seconds(300),
        quoted_order: t.clone(),
    }
}

fn code(t: &OrderTerms) -> ConfirmationCode {
    ConfirmationCode::compute(BANK_KEY, &t.order, t.amount, &t.merchant, &t.password, CONFIRM_NONCE)
}

/// Every mail of the vectors, by file name.
fn mails() -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut put = |name: &str, bytes: Vec<u8>| {
        out.insert(format!("{name}.eml"), bytes);
    };
    let t = figure(1);
    let (order_id, request_id) =
        (id(Kind::Order, &t.order, &orderer(), 1), id(Kind::PaymentRequest, &t.order, &orderer(), 2));
    let [order, request] = compose::order(&t);
    put("fig1-order", build(order, t.created.plus_seconds(1), 1));
    put("fig1-payment-request", build(request.clone(), t.created.plus_seconds(1), 2));
    let bill = |b: &Bill, block: &Block, n: u32| {
        build(compose::bill(b, block, &reply_to(&order_id)), t.created.plus_seconds(300), n)
    };
    let order_block = t.to_block(Kind::Order);
    put("fig1-bill", bill(&bill_for(&t), &order_block, 3));
    let confirm = Confirm {
        order: t.order.clone(),
        orderer: t.orderer.clone(),
        merchant: t.merchant.clone(),
        amount: t.amount,
        items: t.items.clone(),
        code: code(&t),
        expires: t.expires,
        attempts_left: 5,
        proof: Some(Proof::compute(&t.password, &t.order)),
    };
    let confirm_id = id(Kind::Confirm, &t.order, &bank(), 4);
    put(
        "fig1-confirm",
        build(compose::confirm(&confirm, &bank(), &reply_to(&request_id)), t.created.plus_seconds(301), 4),
    );
    let approve = |from: &EmailAddress, code: ConfirmationCode, n: u32| {
        let answer = Approve { order: t.order.clone(), password: t.password.clone(), code };
        build(
            compose::approve(&answer, from, &bank(), &reply_to(&confirm_id)),
            t.created.plus_seconds(400),
            n,
        )
    };
    put("fig1-approve", approve(&orderer(), code(&t), 5));
    put("fig1-approve-wrong-code", approve(&orderer(), "4F7K-Q2MX".parse().unwrap(), 6));
    put("fig1-approve-from-stranger", approve(&stranger(), code(&t), 7));
    let decline = Decline { order: t.order.clone(), detail: Some("I did not order this.".into()) };
    put(
        "fig1-decline",
        build(
            compose::decline(&decline, &orderer(), &bank(), &reply_to(&confirm_id)),
            t.created.plus_seconds(400),
            8,
        ),
    );
    let settled = Settled {
        order: t.order.clone(),
        orderer: t.orderer.clone(),
        merchant: t.merchant.clone(),
        amount: t.amount,
        settled: t.created.plus_seconds(420),
        reference: format!("MP-{}", t.order.as_str()),
    };
    let approve_id = id(Kind::Approve, &t.order, &orderer(), 5);
    put(
        "fig1-settled",
        build(compose::settled(&settled, &bank(), &orderer(), &reply_to(&approve_id)), settled.settled, 9),
    );
    let rejected = Rejected {
        order: t.order.clone(),
        reason: RejectReason::InsufficientFunds,
        detail: "the balance does not cover 1200 JPY".into(),
    };
    put(
        "fig1-rejected",
        build(
            compose::rejected(&rejected, &bank(), &orderer(), &reply_to(&request_id)),
            t.created.plus_seconds(301),
            10,
        ),
    );

    // Bills the matching rule refuses (their blocks are valid).
    let other_a = OrderTerms { password: a("Q4XJ-8RTW-2KMV-9HZC-6PNB-T7WD-K3"), ..t.clone() };
    put("fig1-bill-other-a", bill(&bill_for(&other_a), &other_a.to_block(Kind::Order), 11));
    let more = Bill {
        items: vec!["2 x Green tea 100g @ 650 JPY".parse().unwrap()],
        total: "1300 JPY".parse().unwrap(),
        ..bill_for(&t)
    };
    put("fig1-bill-more", bill(&more, &order_block, 12));
    let other_items = Bill { items: vec!["1 x Green tea 200g @ 1200 JPY".parse().unwrap()], ..bill_for(&t) };
    put("fig1-bill-other-items", bill(&other_items, &order_block, 13));
    let later = OrderTerms { expires: t.expires.plus_seconds(86_400), ..t.clone() };
    put("fig1-bill-altered-order", bill(&bill_for(&later), &later.to_block(Kind::Order), 14));
    put(
        "fig1-bill-names-other-orderer",
        bill(&Bill { orderer: stranger(), ..bill_for(&t) }, &order_block, 15),
    );
    let other_shop = address("sales@other-shop.test");
    put("fig1-bill-from-other-shop", bill(&Bill { merchant: other_shop, ..bill_for(&t) }, &order_block, 16));

    // Payment requests the matching rule refuses.
    put(
        "fig1-request-from-stranger",
        build(Draft { from: stranger(), ..request.clone() }, t.created.plus_seconds(2), 17),
    );
    let squatted =
        OrderTerms { orderer: stranger(), password: a("W8PN-3KXT-Z6RD-M2QH-J9VC-4BFA-E5"), ..t.clone() };
    put("fig1-request-squatted", build(compose::order(&squatted)[1].clone(), t.created.plus_seconds(2), 18));
    let elsewhere = OrderTerms { bank: address("pay@other-bank.test"), ..t.clone() };
    put(
        "fig1-request-other-bank",
        build(compose::order(&elsewhere)[1].clone(), t.created.plus_seconds(2), 19),
    );

    for n in 2..=4u8 {
        let t = figure(n);
        let base = 20 + 10 * u32::from(n);
        let [_, request] = compose::order(&t);
        put(&format!("fig{n}-payment-request"), build(request, t.created.plus_seconds(1), base + 1));
        let order_id = id(Kind::Order, &t.order, &orderer(), base);
        let bill = compose::bill(&bill_for(&t), &t.to_block(Kind::Order), &reply_to(&order_id));
        put(&format!("fig{n}-bill"), build(bill, t.created.plus_seconds(300), base + 2));
    }
    out.extend(refusals(&t, &confirm_id));
    out
}

/// Mails the parser refuses: each breaks one rule of PROTOCOL.md 3 to 5.
fn refusals(t: &OrderTerms, confirm_id: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let request = |edit: &dyn Fn(&mut Block)| {
        let mut b = t.to_block(Kind::PaymentRequest);
        edit(&mut b);
        draft(Kind::PaymentRequest, &t.order, &orderer(), vec![b], Thread::default())
    };
    let mut put = |name: &str, d: Draft, n: u32| {
        out.push((format!("refuse-{name}.eml"), build(d, t.created.plus_seconds(5), n)))
    };
    put(
        "unknown-currency",
        request(&|b| {
            b.fields.retain(|(k, _)| k != "Item");
            set(b, "Amount", "1200 XYZ")
        }),
        101,
    );
    put("expires-not-after-created", request(&|b| set(b, "Expires", &t.created.to_string())), 102);
    put("items-disagree-with-amount", request(&|b| set(b, "Amount", "1300 JPY")), 103);
    put(
        "repeated-amount",
        request(&|b| {
            b.push("Amount", "1200 JPY");
        }),
        104,
    );
    put("unknown-method", request(&|b| set(b, "Method", "express")), 105);
    put("short-order-id", request(&|b| set(b, "Order", "99GP-0D1Y")), 106);
    put(
        "too-many-items",
        request(&|b| {
            b.fields.retain(|(k, _)| k != "Item");
            for i in 1..=101 {
                b.push("Item", format!("1 x Tea sample {i}"));
            }
        }),
        107,
    );
    let mut header = request(&|_| {});
    header.order = "7KQ3-M9ZX-P2VD-H4TR".parse().unwrap();
    let header_id = id(Kind::PaymentRequest, &t.order, &orderer(), 114);
    let bytes = header.build_with_id(t.created.plus_seconds(5), header_id).bytes;
    out.push(("refuse-order-header-names-another-order.eml".into(), bytes));
    let mut put = |name: &str, bytes: Vec<u8>| out.push((format!("refuse-{name}.eml"), bytes));
    let rendered = t.to_block(Kind::PaymentRequest).render();
    let not_a_field = rendered.replacen("-----\n", "-----\nPlease pay the following:\n", 1);
    let text = Draft { text: not_a_field, blocks: vec![], ..request(&|_| {}) };
    put("line-before-first-field", build(text, t.created.plus_seconds(5), 108));
    let approve = Approve { order: t.order.clone(), password: t.password.clone(), code: code(t) };
    let elsewhere = Thread {
        in_reply_to: Some("confirm.7KQ3M9ZXP2VDH4TR.VEC00004@bank.test".into()),
        ..reply_to(confirm_id)
    };
    put(
        "in-reply-to-names-another-order",
        build(compose::approve(&approve, &orderer(), &bank(), &elsewhere), t.created.plus_seconds(400), 109),
    );
    let mut no = approve.to_block();
    set(&mut no, "Answer", "NO");
    put(
        "approve-answer-no",
        build(
            draft(Kind::Approve, &t.order, &orderer(), vec![no], reply_to(confirm_id)),
            t.created.plus_seconds(400),
            110,
        ),
    );
    let unpriced = Bill { items: vec!["2 x Green tea 100g".parse().unwrap()], ..bill_for(t) };
    let order_block = t.to_block(Kind::Order);
    put(
        "bill-unpriced-item",
        build(compose::bill(&unpriced, &order_block, &Thread::default()), t.created.plus_seconds(300), 111),
    );
    let bill = build(
        compose::bill(&bill_for(t), &order_block, &Thread::default()),
        t.created.plus_seconds(300),
        112,
    );
    let edited = String::from_utf8(bill).unwrap().replace(
        "Password-A: 7KQ3-M9ZX-P2VD-H4TR-B8NC-QWER-TY",
        "Password-A: 7KQ3-M9ZX-P2VD-H4TR-B8NC-QWER-TZ",
    );
    put("bill-order-block-a-edited", edited.into_bytes());
    let request_bytes = build(request(&|_| {}), t.created.plus_seconds(5), 113);
    let no_from: String = String::from_utf8(request_bytes)
        .unwrap()
        .split_inclusive("\r\n")
        .filter(|l| !l.starts_with("From:"))
        .collect();
    put("no-from", no_from.into_bytes());
    out
}

/// The wallet mails: a cheque signed with `seed`, sealed to the bank.
fn wallets(existing: &dyn Fn(&str) -> Option<Vec<u8>>) -> Vec<(String, Vec<u8>)> {
    let bank_identity: age::x25519::Identity = BANK_IDENTITY.parse().unwrap();
    let t2 = figure(2);
    let cheque = |t: &OrderTerms| Cheque {
        order: t.order.clone(),
        payer: t.orderer.clone(),
        payee: t.merchant.clone(),
        amount: t.amount,
        password: t.password.clone(),
        issued: t.created.plus_seconds(30),
    };
    let cases = [
        ("fig2-wallet", t2.clone(), cheque(&t2), ORDERER_SEED, 53),
        ("fig2-wallet-foreign-key", t2.clone(), cheque(&t2), STRANGER_SEED, 54),
        (
            "fig2-wallet-other-amount",
            t2.clone(),
            Cheque { amount: "250.00 USD".parse().unwrap(), ..cheque(&t2) },
            ORDERER_SEED,
            55,
        ),
        ("fig4-wallet", figure(4), cheque(&figure(4)), ORDERER_SEED, 73),
    ];
    cases
        .into_iter()
        .map(|(name, t, cheque, seed, n)| {
            let key: WalletKey = wallet_key(seed);
            let text = cheque.signed_block(&key).render();
            let file = format!("{name}.eml");
            let sealed = existing(&file)
                .filter(|old| age::decrypt(&bank_identity, old).is_ok_and(|plain| plain == text.as_bytes()))
                .unwrap_or_else(|| cheque.seal(&key, &bank_identity.to_public()).unwrap());
            let wallet = WalletMail { order: t.order.clone(), orderer: t.orderer.clone(), cheque: sealed };
            (file, wallet_mail(&wallet, t.created.plus_seconds(31), n))
        })
        .collect()
}

/// A wallet mail with a fixed MIME boundary (mail-builder draws a random one).
fn wallet_mail(wallet: &WalletMail, now: Timestamp, n: u32) -> Vec<u8> {
    let draft = compose::wallet(wallet, &bank());
    let text = format!("{}{}", draft.text, draft.blocks[0].render()).replace('\n', "\r\n");
    let attachment: Vec<String> = B64
        .encode(&wallet.cheque)
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let order = wallet.order.as_str();
    let date = rfc5322_date(now);
    let boundary = "mailpay-vector-boundary";
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}>\r\n\
         MailPay-Version: 1\r\nMailPay-Kind: wallet\r\nMailPay-Order: {order}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{text}\r\n\
         --{boundary}\r\nContent-Type: application/vnd.age\r\n\
         Content-Disposition: attachment; filename=\"cheque-{order}.age\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {body}\r\n--{boundary}--\r\n",
        from = wallet.orderer,
        to = bank(),
        subject = draft.subject,
        id = id(Kind::Wallet, &wallet.order, &wallet.orderer, n),
        body = attachment.join("\r\n"),
    )
    .into_bytes()
}

fn rfc5322_date(t: Timestamp) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let iso = t.to_string();
    let month: usize = iso[5..7].parse().unwrap();
    let day = DAYS[usize::try_from(t.unix().div_euclid(86_400).rem_euclid(7)).unwrap()];
    format!("{day}, {} {} {} {} +0000", &iso[8..10], MONTHS[month - 1], &iso[..4], &iso[11..19])
}

/// Writes every mail whose bytes changed.
pub fn write_mails() {
    let dir = crate::dir().join("mails");
    std::fs::create_dir_all(&dir).unwrap();
    let existing = |name: &str| -> Option<Vec<u8>> {
        let raw = std::fs::read(dir.join(name)).ok()?;
        match mailpay::protocol::parse::parse(&raw).ok()?.body {
            Body::Wallet(w) => Some(w.cheque),
            _ => None,
        }
    };
    let mut all = mails();
    all.extend(wallets(&existing));
    for (name, bytes) in all {
        let path = dir.join(&name);
        if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            std::fs::write(&path, bytes).unwrap();
        }
    }
}
