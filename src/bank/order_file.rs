//! What the bank holds for one order: how it stands, and the mails that
//! are its evidence, sorted by who may send them. Pure data, no I/O: the
//! ledger fills it from SQLite, the engine decides on it.

use crate::protocol::matching::BoardLookup;
use crate::protocol::message::Body;
use crate::protocol::parse::Incoming;
use crate::protocol::{EmailAddress, OrderId, OrderTerms};

/// How an order stands at the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Gathering the payment request, bill, cheque and board record.
    Collecting,
    /// The confirmation went out; waiting for OK or NO.
    AwaitingAnswer,
    Settled,
    Rejected,
    Declined,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Collecting => "collecting",
            Status::AwaitingAnswer => "awaiting-answer",
            Status::Settled => "settled",
            Status::Rejected => "rejected",
            Status::Declined => "declined",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [Status::Collecting, Status::AwaitingAnswer, Status::Settled, Status::Rejected, Status::Declined]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    pub fn is_final(self) -> bool {
        matches!(self, Status::Settled | Status::Rejected | Status::Declined)
    }
}

/// The role a received mail plays for its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Request,
    Bill,
    Wallet,
    Answer,
    /// Recorded in the trail, no evidence.
    Other,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Request => "request",
            Role::Bill => "bill",
            Role::Wallet => "wallet",
            Role::Answer => "answer",
            Role::Other => "other",
        }
    }
}

/// Everything the ledger holds for one order.
#[derive(Debug, Clone)]
pub struct OrderFile {
    pub order: OrderId,
    pub status: Status,
    pub request: Option<Incoming>,
    /// The merchant's answer to the order: its bill, or its refusal.
    pub bill: Option<Incoming>,
    /// Bills, refusals and cheques from other senders than the first, kept
    /// from before the payment request said who the merchant and the
    /// orderer are: none of them counts.
    pub strays: Vec<Incoming>,
    pub wallet: Option<Incoming>,
    pub board: BoardLookup,
    /// The confirmation's nonce, once one was sent.
    pub nonce: Option<Vec<u8>>,
    pub wrong_attempts: u8,
}

impl OrderFile {
    pub fn new(order: OrderId) -> Self {
        OrderFile {
            order,
            status: Status::Collecting,
            request: None,
            bill: None,
            strays: Vec::new(),
            wallet: None,
            board: BoardLookup::NotYetLooked,
            nonce: None,
            wrong_attempts: 0,
        }
    }

    /// Takes the order's bills (or refusals) and cheques, oldest first:
    /// those count that come from the merchant and the orderer the payment
    /// request names (before the request, the first of each); the others
    /// are strays.
    pub fn sort_evidence(&mut self, mut bills: Vec<Incoming>, mut wallets: Vec<Incoming>) {
        let sender = |mails: &[Incoming], who: Option<&EmailAddress>| match who {
            Some(who) => mails.iter().position(|m| m.from == *who),
            None => (!mails.is_empty()).then_some(0),
        };
        let (merchant, orderer) =
            (self.terms().map(|t| t.merchant.clone()), self.terms().map(|t| t.orderer.clone()));
        self.bill = sender(&bills, merchant.as_ref()).map(|i| bills.remove(i));
        self.wallet = sender(&wallets, orderer.as_ref()).map(|i| wallets.remove(i));
        self.strays = bills.into_iter().chain(wallets).collect();
    }

    pub fn terms(&self) -> Option<&OrderTerms> {
        match &self.request.as_ref()?.body {
            Body::PaymentRequest(t) => Some(t),
            _ => None,
        }
    }
}
