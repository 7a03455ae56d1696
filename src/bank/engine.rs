//! The bank's decisions, with no I/O: given what the ledger holds for one
//! order and one new mail (or a board lookup), say what to keep, how the
//! order stands now, whether money moves, and which mails to send.
//!
//! The matching itself is the protocol core's ([`matching::decide`],
//! [`matching::check_answer`]); this module feeds it the evidence and
//! turns its verdicts into mails. Nothing is answered that PROTOCOL.md
//! section 4 says must not be: a mail of a kind the bank does not expect
//! in the order's state is only reported.

use std::collections::HashMap;

use crate::protocol::cheque::{Cheque, ChequeError, PublicKey};
use crate::protocol::compose::{self, Draft};
use crate::protocol::confirmation::{MAX_ATTEMPTS, Proof};
use crate::protocol::matching::{
    self, AnswerOutcome, BoardLookup, Decision, Evidence, Facts, Issued, Received,
};
use crate::protocol::message::{Body, Confirm, Rejected, Settled};
use crate::protocol::parse::Incoming;
use crate::protocol::reason::RejectReason;
use crate::protocol::{EmailAddress, Money, OrderId, OrderTerms, Timestamp};

use super::order_file::{OrderFile, Role, Status};

/// An account as the engine needs it.
#[derive(Debug, Clone, Default)]
pub struct AccountInfo {
    pub initials: Option<String>,
    pub wallet_key: Option<PublicKey>,
    /// The merchant's registered board: the only one the bank reads.
    pub board: Option<String>,
    /// Balance per currency code, in minor units.
    pub balances: HashMap<String, u64>,
}

/// What the ledger looked up for this decision.
#[derive(Debug, Clone)]
pub struct Known {
    /// The accounts of every address the order's mails mention.
    pub accounts: HashMap<EmailAddress, AccountInfo>,
    /// The payment request's A was used by another order.
    pub password_used: bool,
    pub now: Timestamp,
}

/// The bank itself.
pub struct BankSide<'a> {
    pub address: &'a EmailAddress,
    pub identity: &'a age::x25519::Identity,
    /// The secret that binds confirmation codes (PROTOCOL.md 5.5).
    pub code_key: &'a [u8],
}

/// Money to move, exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub payer: EmailAddress,
    pub payee: EmailAddress,
    pub amount: Money,
    pub reference: String,
}

/// The engine's answer.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What the new mail is kept as (evidence roles change the file).
    pub role: Role,
    /// The order after this step.
    pub file: OrderFile,
    pub note: String,
    pub reason: Option<RejectReason>,
    pub mails: Vec<Draft>,
    pub transfer: Option<Transfer>,
    /// Look the order up on this board, then call [`on_board`].
    pub look_up_board: Option<String>,
}

impl Outcome {
    pub fn note(
        role: Role,
        file: &OrderFile,
        note: impl Into<String>,
        reason: Option<RejectReason>,
    ) -> Outcome {
        Outcome {
            role,
            file: file.clone(),
            note: note.into(),
            reason,
            mails: Vec::new(),
            transfer: None,
            look_up_board: None,
        }
    }
}

/// The bank's transaction reference for an order: one order settles once.
pub fn reference(order: &OrderId) -> String {
    format!("MP-{}", order.as_str())
}

/// Takes one new mail about `file`'s order. `nonce` is fresh randomness for
/// a confirmation, used only if one is sent.
pub fn on_mail(
    bank: &BankSide<'_>,
    file: &OrderFile,
    known: &Known,
    mail: &Incoming,
    nonce: &[u8],
) -> Outcome {
    let slot = |f: &OrderFile| match &mail.body {
        Body::PaymentRequest(_) => Some((Role::Request, f.request.clone())),
        // The merchant answers an order with a bill or, in its place, a refusal.
        Body::Bill(_) => Some((Role::Bill, f.bill.clone())),
        Body::Rejected(r) if r.reason == RejectReason::MerchantRefused => Some((Role::Bill, f.bill.clone())),
        Body::Wallet(_) => Some((Role::Wallet, f.wallet.clone())),
        _ => None,
    };
    if let Some((role, existing)) = slot(file) {
        let strays: Vec<&Incoming> = file.strays.iter().filter(|m| slot_of(m) == role).collect();
        if strays.iter().any(|m| m.body == mail.body) {
            return Outcome::note(Role::Other, file, "the same mail again: nothing to do", None);
        }
        // Before the payment request, a bill (or refusal, or cheque) from
        // another sender than the first one's is kept beside it: the request
        // will say who is paid and who pays, so a stranger who learnt the
        // order id first cannot keep the real one out.
        let beside = role != Role::Request
            && file.terms().is_none()
            && existing.as_ref().is_some_and(|e| e.from != mail.from)
            && !strays.iter().any(|m| m.from == mail.from);
        if let Some(existing) = existing.filter(|_| !beside) {
            if existing.body == mail.body {
                return Outcome::note(Role::Other, file, "the same mail again: nothing to do", None);
            }
            let why = format!("a second, different {} for order {}", mail.body.kind(), file.order);
            let mut out = Outcome::note(Role::Other, file, why.clone(), Some(RejectReason::Duplicate));
            out.mails.push(rejected(bank, file, RejectReason::Duplicate, &why, &mail.from, mail));
            return out;
        }
        if file.status != Status::Collecting {
            let note =
                format!("a {} for an order already {}: not answered", mail.body.kind(), file.status.as_str());
            return Outcome::note(Role::Other, file, note, None);
        }
        if let Some((reason, why)) = sender_refused(file, known, mail) {
            // The sender is answered; the order itself is not theirs to end.
            let mut out = Outcome::note(Role::Other, file, format!("refused: {why}"), Some(reason));
            out.mails.push(rejected(bank, file, reason, &why, &mail.from, mail));
            return out;
        }
        let mut next = file.clone();
        if beside {
            next.strays.push(mail.clone());
            let note =
                "kept beside an earlier one from another sender: the payment request will say whose counts";
            return Outcome::note(role, &next, note, None);
        }
        match role {
            Role::Request => {
                next.request = Some(mail.clone());
                let (wallets, bills): (Vec<_>, Vec<_>) = (next.bill.take().into_iter())
                    .chain(next.wallet.take())
                    .chain(std::mem::take(&mut next.strays))
                    .partition(|m| slot_of(m) == Role::Wallet);
                next.sort_evidence(bills, wallets);
            }
            Role::Bill => next.bill = Some(mail.clone()),
            _ => next.wallet = Some(mail.clone()),
        }
        let mut out = evaluate(bank, &next, known, nonce);
        out.role = role;
        if let (Role::Request, Some(terms)) = (role, next.terms()) {
            // What came from others than the merchant paid and the orderer:
            // told once, now; it counts for nothing.
            for stray in &next.strays {
                let (reason, named) = match slot_of(stray) {
                    Role::Wallet => {
                        (RejectReason::PayerMismatch, format!("the orderer is {}", terms.orderer))
                    }
                    _ => (RejectReason::PayeeMismatch, format!("the orderer pays {}", terms.merchant)),
                };
                let why = format!("the {} came from {}; {named}", stray.body.kind(), stray.from);
                out.mails.push(rejected(bank, &next, reason, &why, &stray.from, stray));
            }
        }
        return out;
    }
    match &mail.body {
        Body::Approve(answer) => on_approve(bank, file, known, mail, answer),
        Body::Decline(_) => on_decline(bank, file, mail),
        other => Outcome::note(
            Role::Other,
            file,
            format!("a {} is not a mail the bank acts on: not answered", other.kind()),
            None,
        ),
    }
}

/// The slot a stray takes: a cheque's, or a bill's (a bill or a refusal).
fn slot_of(mail: &Incoming) -> Role {
    if matches!(mail.body, Body::Wallet(_)) { Role::Wallet } else { Role::Bill }
}

/// Whether an evidence mail comes from someone who may send it: the
/// payment request and the cheque from the orderer (with an account), the
/// bill or the merchant's refusal from the merchant the orderer pays (with
/// an account).
fn sender_refused(file: &OrderFile, known: &Known, mail: &Incoming) -> Option<(RejectReason, String)> {
    let registered = known.accounts.contains_key(&mail.from);
    let from = &mail.from;
    match (&mail.body, file.terms()) {
        (Body::PaymentRequest(_), _) if !registered => {
            Some((RejectReason::UnknownPayer, format!("{from} has no account at this bank")))
        }
        (Body::PaymentRequest(t), _) if *from != t.orderer => Some((
            RejectReason::PayerMismatch,
            format!("the payment request came from {from}, but names {} as orderer", t.orderer),
        )),
        // Nobody but the orderer an id is bound to can place an order under
        // it, whoever read the id off the board (PROTOCOL.md 2).
        (Body::PaymentRequest(t), _) if !t.is_bound() => Some((
            RejectReason::PayerMismatch,
            format!(
                "order {} is not bound to {from}: its Order-Nonce is missing or does not give that id",
                t.order
            ),
        )),
        (Body::Bill(_), _) if !registered => {
            Some((RejectReason::UnknownPayee, format!("{from} has no account at this bank")))
        }
        (Body::Bill(b), _) if *from != b.merchant => Some((
            RejectReason::PayeeMismatch,
            format!("the bill came from {from}, but names {} as merchant", b.merchant),
        )),
        (Body::Bill(_), Some(t)) if *from != t.merchant => Some((
            RejectReason::PayeeMismatch,
            format!("the bill came from {from}; the orderer pays {}", t.merchant),
        )),
        (Body::Rejected(_), _) if !registered => {
            Some((RejectReason::UnknownPayee, format!("{from} has no account at this bank")))
        }
        (Body::Rejected(_), Some(t)) if *from != t.merchant => Some((
            RejectReason::PayeeMismatch,
            format!("the refusal came from {from}; the orderer pays {}", t.merchant),
        )),
        (Body::Wallet(_), Some(t)) if *from != t.orderer => Some((
            RejectReason::PayerMismatch,
            format!("the cheque came from {from}, not from the orderer {}", t.orderer),
        )),
        _ => None,
    }
}

/// Takes the outcome of a board lookup for `file`'s order.
pub fn on_board(
    bank: &BankSide<'_>,
    file: &OrderFile,
    known: &Known,
    lookup: BoardLookup,
    nonce: &[u8],
) -> Outcome {
    if file.status != Status::Collecting {
        return Outcome::note(
            Role::Other,
            file,
            "board lookup for an order no longer collecting: ignored",
            None,
        );
    }
    let mut next = file.clone();
    next.board = lookup;
    evaluate(bank, &next, known, nonce)
}

/// The clock: an order still open past its `Expires` ends as `expired`.
pub fn on_clock(bank: &BankSide<'_>, file: &OrderFile, now: Timestamp) -> Option<Outcome> {
    let terms = file.terms()?;
    let open = matches!(file.status, Status::Collecting | Status::AwaitingAnswer);
    (open && now >= terms.expires).then(|| {
        reject_order(bank, file, RejectReason::Expired, &format!("the order expired at {}", terms.expires))
    })
}

fn facts(bank: &BankSide<'_>, file: &OrderFile, known: &Known) -> Facts {
    let account = |a: Option<&EmailAddress>| a.and_then(|a| known.accounts.get(a));
    let terms = file.terms();
    let payer = account(terms.map(|t| &t.orderer));
    let balance = terms.and_then(|t| payer?.balances.get(t.amount.currency().code()).copied()).unwrap_or(0);
    Facts {
        bank: bank.address.clone(),
        payer_registered: account(file.request.as_ref().map(|r| &r.from)).is_some(),
        payee_registered: account(file.bill.as_ref().map(|b| &b.from)).is_some(),
        password_used: known.password_used,
        payer_balance: balance,
        payer_initials: payer.and_then(|p| p.initials.clone()),
        payer_key: payer.and_then(|p| p.wallet_key),
        now: known.now,
    }
}

/// Runs the matching rule on the file and acts on its decision.
fn evaluate(bank: &BankSide<'_>, file: &OrderFile, known: &Known, nonce: &[u8]) -> Outcome {
    if let Some(out) = merchant_refusal(bank, file) {
        return out;
    }
    let facts = facts(bank, file, known);
    let cheque: Option<Result<Cheque, ChequeError>> = match (&file.wallet, file.terms()) {
        (Some(wallet), Some(terms)) => Some(match &wallet.body {
            Body::Wallet(w) => match known.accounts.get(&terms.orderer).and_then(|a| a.wallet_key.as_ref()) {
                Some(key) => Cheque::open(&w.cheque, bank.identity, key),
                None => Err(ChequeError::NoRegisteredKey(terms.orderer.to_string())),
            },
            _ => Err(ChequeError::NoBlock),
        }),
        _ => None,
    };
    let request = file.request.as_ref().and_then(|r| match &r.body {
        Body::PaymentRequest(t) => Some(Received { sender: &r.from, content: t }),
        _ => None,
    });
    let bill = file.bill.as_ref().and_then(|b| match &b.body {
        Body::Bill(bill) => Some(Received { sender: &b.from, content: bill }),
        _ => None,
    });
    let evidence = Evidence { request, bill, cheque: cheque.as_ref(), board: &file.board };
    let decision = matching::decide(&evidence, &facts);
    let mut out = Outcome::note(Role::Other, file, String::new(), None);
    match decision {
        Decision::Wait(awaited) => {
            let board_awaited = awaited.contains(&matching::Awaited::Board);
            out.note = format!("waiting for {awaited:?}");
            if board_awaited && file.board == BoardLookup::NotYetLooked {
                match file.terms().and_then(|t| board_url(t, known)) {
                    Some(url) => out.look_up_board = Some(url),
                    None => {
                        let why = "the merchant registered no board with the bank, \
                                   and the bank reads no other (never the one an order names)";
                        return reject_order(bank, file, RejectReason::BoardMissing, why);
                    }
                }
            }
        }
        Decision::Reject(reason, detail) => return reject_order(bank, file, reason, &detail),
        Decision::AskConfirmation => {
            let (Some(terms), Some(request)) = (file.terms(), &file.request) else { return out };
            let mut next = file.clone();
            next.status = Status::AwaitingAnswer;
            next.nonce = Some(nonce.to_vec());
            let confirm = confirmation(bank, &next, terms);
            out.mails.push(compose::confirm(&confirm, bank.address, &request.thread()));
            out.note = format!("matched; confirmation sent to {}", terms.orderer);
            out.file = next;
        }
        Decision::Settle => return settle(bank, file, None, known.now),
    }
    out
}

/// The board to read for the order: the one its merchant registered, and
/// no other. The order's `Board` field is the sender's word and is never
/// fetched (PROTOCOL.md 6.3).
fn board_url(terms: &OrderTerms, known: &Known) -> Option<String> {
    known.accounts.get(&terms.merchant).and_then(|a| a.board.clone())
}

/// The confirmation for the order as the ledger holds it.
fn confirmation(bank: &BankSide<'_>, file: &OrderFile, terms: &OrderTerms) -> Confirm {
    let nonce = file.nonce.clone().unwrap_or_default();
    let issued = Issued {
        bank_key: bank.code_key,
        nonce: &nonce,
        terms,
        wrong_attempts: file.wrong_attempts,
        answered: false,
    };
    let items = match file.bill.as_ref().map(|b| &b.body) {
        Some(Body::Bill(bill)) => bill.items.clone(),
        _ => terms.items.clone(),
    };
    Confirm {
        order: terms.order.clone(),
        orderer: terms.orderer.clone(),
        merchant: terms.merchant.clone(),
        amount: terms.amount,
        items,
        code: matching::expected_code(&issued, &terms.password),
        expires: terms.expires,
        attempts_left: MAX_ATTEMPTS.saturating_sub(file.wrong_attempts),
        proof: Some(Proof::compute(&terms.password, &terms.order)),
    }
}

fn rejected(
    bank: &BankSide<'_>,
    file: &OrderFile,
    reason: RejectReason,
    detail: &str,
    to: &EmailAddress,
    answering: &Incoming,
) -> Draft {
    let notice = Rejected { order: file.order.clone(), reason, detail: detail.to_string() };
    compose::rejected(&notice, bank.address, to, &answering.thread())
}

/// Ends the order with `reason`, telling the senders of its request and bill.
fn reject_order(bank: &BankSide<'_>, file: &OrderFile, reason: RejectReason, detail: &str) -> Outcome {
    let mut next = file.clone();
    next.status = Status::Rejected;
    let mut out = Outcome::note(Role::Other, &next, format!("rejected: {detail}"), Some(reason));
    let mut told: Vec<&EmailAddress> = Vec::new();
    for mail in [&file.request, &file.bill].into_iter().flatten() {
        if !told.contains(&&mail.from) {
            told.push(&mail.from);
            out.mails.push(rejected(bank, file, reason, detail, &mail.from, mail));
        }
    }
    out
}

/// The merchant refused the order in the bill's place (PROTOCOL.md 5.9):
/// once the payment request shows that merchant is the one paid, the
/// order ends and the orderer (only he: the merchant decided it) is told
/// why.
fn merchant_refusal(bank: &BankSide<'_>, file: &OrderFile) -> Option<Outcome> {
    let refusal = file.bill.as_ref()?;
    let Body::Rejected(r) = &refusal.body else { return None };
    let terms = file.terms().filter(|t| t.merchant == refusal.from)?;
    let request = file.request.as_ref()?;
    let why = format!("{} will not fill the order: {}", terms.merchant, r.reason.explain(&r.detail));
    let mut next = file.clone();
    next.status = Status::Rejected;
    let reason = RejectReason::MerchantRefused;
    let mut out = Outcome::note(Role::Other, &next, format!("rejected: {why}"), Some(reason));
    out.mails.push(rejected(bank, file, reason, &why, &request.from, request));
    Some(out)
}

/// Pays: the transfer plus `settled` to orderer and merchant.
fn settle(bank: &BankSide<'_>, file: &OrderFile, approve: Option<&Incoming>, now: Timestamp) -> Outcome {
    let Some(terms) = file.terms() else {
        return Outcome::note(Role::Other, file, "nothing to settle", None);
    };
    let mut next = file.clone();
    next.status = Status::Settled;
    let reference = reference(&file.order);
    let notice = Settled {
        order: file.order.clone(),
        orderer: terms.orderer.clone(),
        merchant: terms.merchant.clone(),
        amount: terms.amount,
        settled: now,
        reference: reference.clone(),
    };
    let mut out = Outcome::note(Role::Other, &next, format!("settled {} as {reference}", terms.amount), None);
    let orderer_thread = approve.or(file.request.as_ref()).map(Incoming::thread).unwrap_or_default();
    let merchant_thread = file.bill.as_ref().map(Incoming::thread).unwrap_or_default();
    out.mails.push(compose::settled(&notice, bank.address, &terms.orderer, &orderer_thread));
    out.mails.push(compose::settled(&notice, bank.address, &terms.merchant, &merchant_thread));
    out.transfer = Some(Transfer {
        payer: terms.orderer.clone(),
        payee: terms.merchant.clone(),
        amount: terms.amount,
        reference,
    });
    out
}

fn on_approve(
    bank: &BankSide<'_>,
    file: &OrderFile,
    known: &Known,
    mail: &Incoming,
    answer: &crate::protocol::message::Approve,
) -> Outcome {
    let Some(terms) = file.terms() else {
        return Outcome::note(
            Role::Other,
            file,
            "an answer for an order the bank has no request for: not answered",
            None,
        );
    };
    match file.status {
        Status::Collecting => {
            return Outcome::note(
                Role::Other,
                file,
                "an answer before any confirmation was sent: not answered",
                None,
            );
        }
        Status::Rejected => {
            return Outcome::note(Role::Other, file, "an answer for a rejected order: not answered", None);
        }
        Status::AwaitingAnswer | Status::Settled | Status::Declined => {}
    }
    let nonce = file.nonce.clone().unwrap_or_default();
    let issued = Issued {
        bank_key: bank.code_key,
        nonce: &nonce,
        terms,
        wrong_attempts: file.wrong_attempts,
        answered: file.status != Status::AwaitingAnswer,
    };
    match matching::check_answer(&issued, &mail.from, answer, known.now) {
        AnswerOutcome::Settle => {
            // The balance may have changed since the confirmation went out.
            let balance = known
                .accounts
                .get(&terms.orderer)
                .and_then(|a| a.balances.get(terms.amount.currency().code()).copied())
                .unwrap_or(0);
            if balance < terms.amount.minor() {
                let why = format!("the balance no longer covers {}", terms.amount);
                let mut out = reject_order(bank, file, RejectReason::InsufficientFunds, &why);
                out.role = Role::Answer;
                return out;
            }
            let mut out = settle(bank, file, Some(mail), known.now);
            out.role = Role::Answer;
            out
        }
        AnswerOutcome::TryAgain { attempts_left } => {
            let mut next = file.clone();
            next.wrong_attempts = file.wrong_attempts.saturating_add(1);
            let confirm = confirmation(bank, &next, terms);
            let mut out = Outcome::note(
                Role::Answer,
                &next,
                format!("wrong code or password A; confirmation sent again, {attempts_left} attempts left"),
                Some(RejectReason::CodeMismatch),
            );
            out.mails.push(compose::confirm(&confirm, bank.address, &mail.thread()));
            out
        }
        AnswerOutcome::Reject(
            reason @ (RejectReason::AlreadyAnswered | RejectReason::PayerMismatch),
            detail,
        ) => {
            // The order stands; only the orderer hears about it.
            let mut out = Outcome::note(Role::Answer, file, format!("refused: {detail}"), Some(reason));
            if mail.from == terms.orderer {
                out.mails.push(rejected(bank, file, reason, &detail, &mail.from, mail));
            }
            out
        }
        AnswerOutcome::Reject(reason, detail) => {
            let mut out = reject_order(bank, file, reason, &detail);
            out.role = Role::Answer;
            out
        }
    }
}

fn on_decline(bank: &BankSide<'_>, file: &OrderFile, mail: &Incoming) -> Outcome {
    let Some(terms) = file.terms() else {
        return Outcome::note(
            Role::Other,
            file,
            "a decline for an order the bank has no request for: not answered",
            None,
        );
    };
    if mail.from != terms.orderer {
        return Outcome::note(
            Role::Other,
            file,
            format!("a decline from {}, not the orderer: ignored", mail.from),
            None,
        );
    }
    match file.status {
        Status::AwaitingAnswer => {
            // Only the merchant is told: the orderer declined himself
            // (PROTOCOL.md 5.7).
            let mut next = file.clone();
            next.status = Status::Declined;
            let mut out =
                Outcome::note(Role::Answer, &next, "declined by the orderer", Some(RejectReason::Declined));
            if let Some(bill) = &file.bill {
                let why = "the orderer declined the payment";
                out.mails.push(rejected(bank, file, RejectReason::Declined, why, &bill.from, bill));
            }
            out
        }
        Status::Settled | Status::Declined => {
            let detail = format!("this order was already {}", file.status.as_str());
            let mut out =
                Outcome::note(Role::Answer, file, detail.clone(), Some(RejectReason::AlreadyAnswered));
            out.mails.push(rejected(bank, file, RejectReason::AlreadyAnswered, &detail, &mail.from, mail));
            out
        }
        Status::Collecting | Status::Rejected => Outcome::note(
            Role::Other,
            file,
            "a decline before any confirmation or after a rejection: not answered",
            None,
        ),
    }
}
