//! The bank's matching rule (claim 1), pure.
//!
//! The bank holds what arrived for one order id: the payment request from
//! the orderer, the bill from the merchant (carrying the orderer's order
//! with A), and, where the method asks, the opened cheque and the board
//! record. [`decide`] says whether to wait, ask the orderer to confirm,
//! settle, or reject with a reason. [`check_answer`] judges the OK.
//! [`item_differences`] is the rule for items, which the orderer's wallet
//! applies to the confirmation in the same way.

use std::fmt;

use super::address::EmailAddress;
use super::board::{self, CheckedRecord};
use super::cheque::{Cheque, ChequeError, PublicKey};
use super::confirmation::{ConfirmationCode, MAX_ATTEMPTS};
use super::item::LineItem;
use super::message::{Approve, Bill, OrderTerms};
use super::password::PasswordA;
use super::reason::RejectReason;
use super::timestamp::Timestamp;

/// What the bank's ledger knows, looked up before deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The bank's own address: orders must name it.
    pub bank: EmailAddress,
    /// Whether the payment request's sender has an account.
    pub payer_registered: bool,
    /// Whether the bill's sender has an account.
    pub payee_registered: bool,
    /// Whether the hash of this A is among the used ones.
    pub password_used: bool,
    /// The payer's balance in the order's currency, in minor units.
    pub payer_balance: u64,
    /// The payer's registered initials, for the board check.
    pub payer_initials: Option<String>,
    /// The payer's registered wallet key: only a board record it signed
    /// counts.
    pub payer_key: Option<PublicKey>,
    pub now: Timestamp,
}

/// A mail's content with the address it came from.
#[derive(Debug)]
pub struct Received<'a, T> {
    pub sender: &'a EmailAddress,
    pub content: &'a T,
}

impl<T> Clone for Received<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Received<'_, T> {}

/// The board lookup's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoardLookup {
    NotYetLooked,
    Missing,
    /// The bank would not read the merchant's board, or could not: why.
    Unreadable(String),
    /// The order's records, oldest first (see [`board::pick`]).
    Found(Vec<CheckedRecord>),
}

/// Everything received for one order.
#[derive(Debug, Clone)]
pub struct Evidence<'a> {
    pub request: Option<Received<'a, OrderTerms>>,
    pub bill: Option<Received<'a, Bill>>,
    pub cheque: Option<&'a Result<Cheque, ChequeError>>,
    pub board: &'a BoardLookup,
}

/// What is still to come before the bank can decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaited {
    PaymentRequest,
    Bill,
    Cheque,
    Board,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Wait(Vec<Awaited>),
    /// Fig. 1 and 4: mail the orderer a confirmation.
    AskConfirmation,
    /// Figs. 2 and 3: everything matched; pay now.
    Settle,
    Reject(RejectReason, String),
}

fn reject(reason: RejectReason, detail: String) -> Decision {
    Decision::Reject(reason, detail)
}

/// Decides on the evidence so far. Rejections found on partial evidence are
/// returned at once; settling needs every piece the method asks for.
pub fn decide(evidence: &Evidence<'_>, facts: &Facts) -> Decision {
    use RejectReason as R;
    if let Some(request) = evidence.request {
        let terms = request.content;
        if !facts.payer_registered {
            return reject(R::UnknownPayer, format!("{} has no account", request.sender));
        }
        if *request.sender != terms.orderer {
            return reject(
                R::PayerMismatch,
                format!(
                    "the payment request came from {}, but names {} as orderer",
                    request.sender, terms.orderer
                ),
            );
        }
        if terms.bank != facts.bank {
            return reject(R::WrongBank, format!("the order names {} as bank", terms.bank));
        }
        if facts.password_used {
            return reject(R::PasswordReused, "this password A was already used".into());
        }
        if facts.now >= terms.expires {
            return reject(R::Expired, format!("the order expired at {}", terms.expires));
        }
    }
    if let Some(bill) = evidence.bill {
        if !facts.payee_registered {
            return reject(R::UnknownPayee, format!("{} has no account", bill.sender));
        }
        if *bill.sender != bill.content.merchant {
            return reject(
                R::PayeeMismatch,
                format!(
                    "the bill came from {}, but names {} as merchant",
                    bill.sender, bill.content.merchant
                ),
            );
        }
    }
    let (Some(request), Some(bill)) = (evidence.request, evidence.bill) else {
        let mut awaited = Vec::new();
        if evidence.request.is_none() {
            awaited.push(Awaited::PaymentRequest);
        }
        if evidence.bill.is_none() {
            awaited.push(Awaited::Bill);
        }
        return Decision::Wait(awaited);
    };
    let (terms, bill) = (request.content, bill.content);
    if bill.quoted_order.password != terms.password {
        return reject(R::PasswordMismatch, "password A in the merchant's copy of the order differs".into());
    }
    if bill.merchant != terms.merchant {
        return reject(
            R::PayeeMismatch,
            format!("the bill is from {}, the orderer pays {}", bill.merchant, terms.merchant),
        );
    }
    if bill.orderer != terms.orderer {
        return reject(R::PayerMismatch, format!("the bill names {} as orderer", bill.orderer));
    }
    if bill.total != terms.amount {
        return reject(
            R::AmountMismatch,
            format!("the bill asks {}, the orderer agreed to {}", bill.total, terms.amount),
        );
    }
    if bill.quoted_order != *terms {
        return reject(
            R::OrderMismatch,
            "the order the merchant forwarded differs from the payment request".into(),
        );
    }
    if bill.order != terms.order {
        let why = format!("the bill is for order {}, the payment request for {}", bill.order, terms.order);
        return reject(R::OrderMismatch, why);
    }
    let differences = item_differences(&terms.items, &bill.items);
    if !differences.is_empty() {
        return reject(R::ItemsMismatch, describe_item_differences(&terms.items, &bill.items, &differences));
    }
    let mut awaited = Vec::new();
    if terms.method.needs_cheque() {
        match evidence.cheque {
            None => awaited.push(Awaited::Cheque),
            Some(Err(e)) => return reject(R::ChequeInvalid, e.to_string()),
            Some(Ok(cheque)) => {
                if let Some(why) = cheque_disagrees(cheque, terms) {
                    return reject(R::ChequeMismatch, why);
                }
            }
        }
    }
    if terms.method.needs_board() {
        match evidence.board {
            BoardLookup::NotYetLooked => awaited.push(Awaited::Board),
            BoardLookup::Missing => {
                return reject(R::BoardMissing, "the merchant's board has no record of this order".into());
            }
            BoardLookup::Unreadable(why) => {
                return reject(R::BoardMissing, format!("the merchant's board could not be read: {why}"));
            }
            BoardLookup::Found(records) => match board::pick(records, facts.payer_key.as_ref()) {
                None => {
                    let why = "the merchant's board has no record of this order signed with the orderer's wallet key";
                    return reject(R::BoardMissing, why.into());
                }
                Some(record) => {
                    if let Some(why) = board::contradiction(record, terms, facts.payer_initials.as_deref()) {
                        return reject(R::BoardMismatch, why);
                    }
                }
            },
        }
    }
    if !awaited.is_empty() {
        return Decision::Wait(awaited);
    }
    if facts.payer_balance < terms.amount.minor() {
        return reject(R::InsufficientFunds, format!("the balance does not cover {}", terms.amount));
    }
    if terms.method.needs_confirmation() { Decision::AskConfirmation } else { Decision::Settle }
}

/// One place where a bill's (or a confirmation's) item lines depart from
/// the order's: `line` counts from 1; `ordered` or `billed` is `None` where
/// that list has no line there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemDifference {
    pub line: usize,
    pub ordered: Option<LineItem>,
    pub billed: Option<LineItem>,
}

impl fmt::Display for ItemDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match (&self.ordered, &self.billed) {
            (Some(o), Some(b)) => write!(f, "ordered \"{o}\", billed \"{b}\""),
            (Some(o), None) => write!(f, "ordered \"{o}\", not billed"),
            (None, Some(b)) => write!(f, "not ordered, billed \"{b}\""),
            (None, None) => f.write_str("no line on either side"),
        }
    }
}

/// Whether `billed` bills the order's line `ordered`: the same quantity and
/// description (their canonical text, as the block carries them: white
/// space collapsed, letter case kept) and, where the order gives a unit
/// price, that price. Where the order leaves the price out, the merchant's
/// stands.
pub fn item_agrees(ordered: &LineItem, billed: &LineItem) -> bool {
    ordered.quantity == billed.quantity
        && ordered.description == billed.description
        && ordered.unit_price.is_none_or(|price| billed.unit_price == Some(price))
}

/// The rule for items (PROTOCOL.md 6.1, step 3): when the order lists
/// items, the bill lists exactly those, line for line and in the same
/// order, each agreeing by [`item_agrees`]. When the order lists none there
/// is nothing to compare: the bill's items are what the orderer sees in the
/// confirmation and approves. Returns every place that differs; empty when
/// the bill may go on.
pub fn item_differences(ordered: &[LineItem], billed: &[LineItem]) -> Vec<ItemDifference> {
    if ordered.is_empty() {
        return Vec::new();
    }
    (0..ordered.len().max(billed.len()))
        .filter_map(|i| {
            let (o, b) = (ordered.get(i), billed.get(i));
            match (o, b) {
                (Some(o), Some(b)) if item_agrees(o, b) => None,
                _ => Some(ItemDifference { line: i + 1, ordered: o.cloned(), billed: b.cloned() }),
            }
        })
        .collect()
}

/// How many differences a rejection's detail spells out.
const DIFFERENCES_SHOWN: usize = 3;

/// The detail of an `items-mismatch`: what the order and the bill list, and
/// the first few lines that differ.
fn describe_item_differences(
    ordered: &[LineItem],
    billed: &[LineItem],
    differences: &[ItemDifference],
) -> String {
    let count = |n: usize| if n == 1 { "1 item".to_string() } else { format!("{n} items") };
    let mut parts = Vec::new();
    if ordered.len() != billed.len() {
        parts.push(format!("the order lists {}, the bill {}", count(ordered.len()), count(billed.len())));
    }
    parts.extend(differences.iter().take(DIFFERENCES_SHOWN).map(ToString::to_string));
    if differences.len() > DIFFERENCES_SHOWN {
        parts.push(format!("and {} more lines differ", differences.len() - DIFFERENCES_SHOWN));
    }
    format!("the bill's items are not those ordered: {}", parts.join("; "))
}

fn cheque_disagrees(cheque: &Cheque, terms: &OrderTerms) -> Option<String> {
    let what = if cheque.order != terms.order {
        "order"
    } else if cheque.payer != terms.orderer {
        "payer"
    } else if cheque.payee != terms.merchant {
        "payee"
    } else if cheque.amount != terms.amount {
        "amount"
    } else if cheque.password != terms.password {
        "password A"
    } else {
        return None;
    };
    Some(format!("the cheque's {what} differs from the payment request"))
}

/// The confirmation as the bank issued it, with what it needs to judge
/// the answer.
#[derive(Debug, Clone)]
pub struct Issued<'a> {
    pub bank_key: &'a [u8],
    pub nonce: &'a [u8],
    pub terms: &'a OrderTerms,
    /// Wrong answers so far.
    pub wrong_attempts: u8,
    pub answered: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerOutcome {
    Settle,
    /// Wrong code or A; the orderer may try again this many times.
    TryAgain {
        attempts_left: u8,
    },
    Reject(RejectReason, String),
}

/// Judges an OK: the code is recomputed from the order as it stands, so any
/// change to amount or payee since the confirmation fails it (dynamic
/// linking); after [`MAX_ATTEMPTS`] wrong answers the order is blocked.
pub fn check_answer(
    issued: &Issued<'_>,
    sender: &EmailAddress,
    answer: &Approve,
    now: Timestamp,
) -> AnswerOutcome {
    let terms = issued.terms;
    if issued.answered {
        return AnswerOutcome::Reject(
            RejectReason::AlreadyAnswered,
            "this order was already answered".into(),
        );
    }
    if *sender != terms.orderer {
        return AnswerOutcome::Reject(
            RejectReason::PayerMismatch,
            format!("the answer came from {sender}, not from {}", terms.orderer),
        );
    }
    if now >= terms.expires {
        return AnswerOutcome::Reject(
            RejectReason::Expired,
            format!("the order expired at {}", terms.expires),
        );
    }
    if issued.wrong_attempts >= MAX_ATTEMPTS {
        return AnswerOutcome::Reject(RejectReason::TooManyAttempts, format!("{MAX_ATTEMPTS} wrong answers"));
    }
    let expected = expected_code(issued, &terms.password);
    if answer.code.matches(&expected) && answer.password == terms.password && answer.order == terms.order {
        return AnswerOutcome::Settle;
    }
    let wrong = issued.wrong_attempts.saturating_add(1);
    if wrong >= MAX_ATTEMPTS {
        AnswerOutcome::Reject(
            RejectReason::TooManyAttempts,
            format!("{MAX_ATTEMPTS} wrong answers: the order is blocked"),
        )
    } else {
        AnswerOutcome::TryAgain { attempts_left: MAX_ATTEMPTS - wrong }
    }
}

/// The code the bank puts in its confirmation for these terms.
pub fn expected_code(issued: &Issued<'_>, password: &PasswordA) -> ConfirmationCode {
    let terms = issued.terms;
    ConfirmationCode::compute(
        issued.bank_key,
        &terms.order,
        terms.amount,
        &terms.merchant,
        password,
        issued.nonce,
    )
}
