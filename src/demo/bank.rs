//! The demo bank: keeps what arrived per order in memory and decides with
//! the protocol's matching rule; every orderer has an account with ample
//! funds. Fig. 1 only: it asks the orderer to confirm, judges the OK with
//! `check_answer`, and mails the settlement to both parties.

use std::collections::HashMap;

use crate::protocol::compose::{self, Draft, Thread};
use crate::protocol::confirmation::{ConfirmationCode, MAX_ATTEMPTS};
use crate::protocol::matching::{
    self, AnswerOutcome, BoardLookup, Decision, Evidence, Facts, Issued, Received,
};
use crate::protocol::message::{Bill, Body, Confirm, Rejected, Settled};
use crate::protocol::parse::Incoming;
use crate::protocol::{EmailAddress, OrderId, OrderTerms, Timestamp};

/// Every demo orderer's balance, in minor units.
const BALANCE: u64 = 100_000_000;

#[derive(Debug, Default)]
struct Case {
    request: Option<(EmailAddress, OrderTerms, Thread)>,
    bill: Option<(EmailAddress, Bill)>,
    confirmed: bool,
    wrong: u8,
    closed: bool,
}

#[derive(Debug)]
pub struct DemoBank {
    address: EmailAddress,
    key: Vec<u8>,
    cases: HashMap<OrderId, Case>,
    settled: u32,
}

impl DemoBank {
    pub fn new(address: EmailAddress) -> DemoBank {
        let key: [u8; 32] = rand::random();
        DemoBank { address, key: key.to_vec(), cases: HashMap::new(), settled: 0 }
    }

    pub fn address(&self) -> &EmailAddress {
        &self.address
    }

    pub fn handle(&mut self, mail: &Incoming, now: Timestamp) -> Vec<Draft> {
        let order = mail.body.order().clone();
        let case = self.cases.entry(order.clone()).or_default();
        if case.closed {
            return Vec::new();
        }
        match &mail.body {
            Body::PaymentRequest(terms) => {
                case.request = Some((mail.from.clone(), terms.clone(), mail.thread()))
            }
            Body::Bill(bill) => case.bill = Some((mail.from.clone(), bill.clone())),
            Body::Approve(answer) => return self.answer(&order, &mail.from, answer, now),
            Body::Decline(_) => {
                case.closed = true;
                return Vec::new();
            }
            _ => return Vec::new(),
        }
        self.decide(&order, now)
    }

    fn decide(&mut self, order: &OrderId, now: Timestamp) -> Vec<Draft> {
        let Some(case) = self.cases.get_mut(order) else { return Vec::new() };
        if case.confirmed {
            return Vec::new();
        }
        let board = BoardLookup::NotYetLooked;
        let evidence = Evidence {
            request: case.request.as_ref().map(|(sender, terms, _)| Received { sender, content: terms }),
            bill: case.bill.as_ref().map(|(sender, bill)| Received { sender, content: bill }),
            cheque: None,
            board: &board,
        };
        let facts = Facts {
            bank: self.address.clone(),
            payer_registered: true,
            payee_registered: true,
            password_used: false,
            payer_balance: BALANCE,
            payer_initials: None,
            now,
        };
        let Some((_, terms, thread)) = case.request.clone() else { return Vec::new() };
        match matching::decide(&evidence, &facts) {
            Decision::Wait(_) => Vec::new(),
            Decision::AskConfirmation => {
                case.confirmed = true;
                let code = ConfirmationCode::compute(
                    &self.key,
                    order,
                    terms.amount,
                    &terms.merchant,
                    &terms.password,
                    order.as_str().as_bytes(),
                );
                let confirm = Confirm {
                    order: order.clone(),
                    orderer: terms.orderer.clone(),
                    merchant: terms.merchant.clone(),
                    amount: terms.amount,
                    items: terms.items.clone(),
                    code,
                    expires: terms.expires,
                    attempts_left: MAX_ATTEMPTS,
                };
                vec![compose::confirm(&confirm, &self.address, &thread)]
            }
            // Figs. 2 and 3 are not part of the demo; settle as if confirmed.
            Decision::Settle => self.settle(order, &terms, now),
            Decision::Reject(reason, detail) => {
                case.closed = true;
                let rejected = Rejected { order: order.clone(), reason, detail };
                vec![compose::rejected(&rejected, &self.address, &terms.orderer, &thread)]
            }
        }
    }

    fn answer(
        &mut self,
        order: &OrderId,
        sender: &EmailAddress,
        answer: &crate::protocol::message::Approve,
        now: Timestamp,
    ) -> Vec<Draft> {
        let Some(case) = self.cases.get_mut(order) else { return Vec::new() };
        let Some((_, terms, thread)) = case.request.clone() else { return Vec::new() };
        let issued = Issued {
            bank_key: &self.key,
            nonce: order.as_str().as_bytes(),
            terms: &terms,
            wrong_attempts: case.wrong,
            answered: case.closed,
        };
        match matching::check_answer(&issued, sender, answer, now) {
            AnswerOutcome::Settle => self.settle(order, &terms, now),
            AnswerOutcome::TryAgain { .. } => {
                case.wrong += 1;
                Vec::new()
            }
            AnswerOutcome::Reject(reason, detail) => {
                case.closed = true;
                vec![compose::rejected(
                    &Rejected { order: order.clone(), reason, detail },
                    &self.address,
                    &terms.orderer,
                    &thread,
                )]
            }
        }
    }

    fn settle(&mut self, order: &OrderId, terms: &OrderTerms, now: Timestamp) -> Vec<Draft> {
        if let Some(case) = self.cases.get_mut(order) {
            case.closed = true;
        }
        self.settled += 1;
        let settled = Settled {
            order: order.clone(),
            orderer: terms.orderer.clone(),
            merchant: terms.merchant.clone(),
            amount: terms.amount,
            settled: now,
            reference: format!("DEMO-{:05}", self.settled),
        };
        vec![
            compose::settled(&settled, &self.address, &terms.orderer, &Thread::default()),
            compose::settled(&settled, &self.address, &terms.merchant, &Thread::default()),
        ]
    }
}
