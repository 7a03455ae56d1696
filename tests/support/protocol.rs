//! Shared builders for the protocol tests (`payment`, `matching`,
//! `roundtrip`): the parties, an order's terms for each figure, and the
//! mails the bank and the merchant send about it.

use mailpay::protocol::confirmation::ConfirmationCode;
use mailpay::protocol::item::LineItem;
use mailpay::protocol::message::{Bill, Confirm, Rejected, Settled};
use mailpay::protocol::reason::RejectReason;
use mailpay::protocol::{EmailAddress, Method, Money, OrderId, OrderTerms, PasswordA, Timestamp};

/// 2026-11-25T18:09:18Z: when the orders in these tests are made.
pub const CREATED: Timestamp = Timestamp(1_795_630_158);
/// How long an order stays valid.
pub const VALIDITY: i64 = 24 * 3600;
/// The bank's key for confirmation codes.
pub const BANK_KEY: &[u8] = b"the bank's confirmation key";
/// The nonce of the bank's first confirmation.
pub const NONCE: &[u8] = b"nonce-1";

pub const METHODS: [Method; 4] = [Method::Confirm, Method::Cheque, Method::Board, Method::All];

/// Parses a fixed test value, naming it when it does not parse.
pub fn must<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Display,
{
    match text.parse() {
        Ok(v) => v,
        Err(e) => panic!("{text:?} does not parse: {e}"),
    }
}

pub fn address(text: &str) -> EmailAddress {
    must(text)
}

pub fn orderer() -> EmailAddress {
    address("taro@buyer.test")
}

pub fn merchant() -> EmailAddress {
    address("shop@shop.test")
}

pub fn bank() -> EmailAddress {
    address("pay@bank.test")
}

/// Someone who is neither party nor bank.
pub fn stranger() -> EmailAddress {
    address("mallory@evil.test")
}

pub fn other_merchant() -> EmailAddress {
    address("sales@other-shop.test")
}

pub fn money(text: &str) -> Money {
    must(text)
}

pub fn order_id() -> OrderId {
    must("7KQ3-M9ZX-P2VD-H4TR")
}

pub fn other_order_id() -> OrderId {
    must("9ZZ9-AB12-CD34-EF56")
}

pub fn password(text: &str) -> PasswordA {
    match PasswordA::parse(text) {
        Ok(p) => p,
        Err(e) => panic!("{text:?} is not a password A: {e}"),
    }
}

/// The orderer's password A for the order of these tests.
pub fn password_a() -> PasswordA {
    password("7KQ3-M9ZX-P2VD-H4TR-B8NC")
}

/// Another strong password, as a merchant would invent.
pub fn other_password_a() -> PasswordA {
    password("Q4XJ-8RTW-2KMV-9HZC-6PNB")
}

pub fn item(text: &str) -> LineItem {
    must(text)
}

/// Two packs of tea for 1200 JPY, created at [`CREATED`], valid for a day.
pub fn terms(method: Method) -> OrderTerms {
    OrderTerms {
        order: order_id(),
        orderer: orderer(),
        merchant: merchant(),
        bank: bank(),
        amount: money("1200 JPY"),
        items: vec![item("2 x Green tea 100g @ 600 JPY")],
        password: password_a(),
        created: CREATED,
        expires: CREATED.plus_seconds(VALIDITY),
        method,
        board: method.needs_board().then(|| "https://shop.test/mailpay/board".to_string()),
        nonce: None,
    }
}

/// The code the bank puts in its confirmation for these terms.
pub fn code_for(terms: &OrderTerms) -> ConfirmationCode {
    ConfirmationCode::compute(BANK_KEY, &terms.order, terms.amount, &terms.merchant, &terms.password, NONCE)
}

/// The bank's confirmation of exactly these terms.
pub fn confirm_for(terms: &OrderTerms) -> Confirm {
    Confirm {
        order: terms.order.clone(),
        orderer: terms.orderer.clone(),
        merchant: terms.merchant.clone(),
        amount: terms.amount,
        items: terms.items.clone(),
        code: code_for(terms),
        expires: terms.expires,
        attempts_left: 5,
        proof: Some(mailpay::protocol::confirmation::Proof::compute(&terms.password, &terms.order)),
    }
}

/// The bank's notice that these terms were paid.
pub fn settled_for(terms: &OrderTerms) -> Settled {
    Settled {
        order: terms.order.clone(),
        orderer: terms.orderer.clone(),
        merchant: terms.merchant.clone(),
        amount: terms.amount,
        settled: terms.created.plus_seconds(600),
        reference: "TX-2026-000042".to_string(),
    }
}

pub fn rejected_for(terms: &OrderTerms, reason: RejectReason) -> Rejected {
    Rejected { order: terms.order.clone(), reason, detail: format!("refused: {}", reason.describe()) }
}

/// The merchant's bill for exactly these terms, carrying the order as received.
pub fn bill_for(terms: &OrderTerms) -> Bill {
    Bill {
        order: terms.order.clone(),
        merchant: terms.merchant.clone(),
        orderer: terms.orderer.clone(),
        items: vec![item("2 x Green tea 100g @ 600 JPY")],
        total: terms.amount,
        billed: terms.created.plus_seconds(300),
        quoted_order: terms.clone(),
    }
}
