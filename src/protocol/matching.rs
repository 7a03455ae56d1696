//! The bank's matching rule (claim 1), pure.
//!
//! The bank holds what arrived for one order id: the payment request from
//! the orderer, the bill from the merchant (carrying the orderer's order
//! with A), and, where the method asks, the opened cheque and the board
//! record. [`decide`] says whether to wait, ask the orderer to confirm,
//! settle, or reject with a reason. [`check_answer`] judges the OK.

use super::address::EmailAddress;
use super::board::{self, CheckedRecord};
use super::cheque::{Cheque, ChequeError, PublicKey};
use super::confirmation::{ConfirmationCode, MAX_ATTEMPTS};
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
