//! The demo's private mail loop: a mail from the wallet is handed, as
//! bytes, to the reference bank or merchant it is addressed to, whose
//! answers go round again; mails for the orderer wait in an inbox the
//! wallet watches, as it would watch IMAP. A board lookup the bank asks
//! for is made over HTTP on the demo's board, as the bank agent makes it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::agent::Book;
use crate::bank::ledger::Ledger;
use crate::board::client;
use crate::board::log::BoardLog;
use crate::clock::now;
use crate::mail::smtp::{Dispatch, SendError};
use crate::merchant::engine::{MerchantSide, Pricing};
use crate::merchant::shop::Shop;
use crate::protocol::compose::Outgoing;
use crate::protocol::matching::BoardLookup;
use crate::protocol::message::Body;
use crate::protocol::{EmailAddress, OrderId, parse};
use crate::task::AbortOnDrop;

/// How long the demo's mail seems to take to reach the orderer (a real
/// one takes longer): the wallet records what it sent first.
const LATENCY: Duration = Duration::from_millis(600);

/// A reference agent taking part in the demo.
pub enum Party {
    Bank { address: EmailAddress, ledger: Ledger },
    Merchant { address: EmailAddress, bank: EmailAddress, shop: Shop, pricing: Pricing, own_board: BoardLog },
}

/// What one delivery did: mails to pass on, and a board to look at.
#[derive(Default)]
struct Step {
    outgoing: Vec<Outgoing>,
    board: Option<(String, OrderId)>,
}

impl Party {
    fn address(&self) -> &EmailAddress {
        match self {
            Party::Bank { address, .. } | Party::Merchant { address, .. } => address,
        }
    }

    /// Hands one mail to the agent, exactly as its daemon does, and marks
    /// its answers sent (the loop delivers them next).
    fn take(&mut self, raw: &[u8]) -> Result<Step, String> {
        let mail = parse::parse(raw).map_err(|e| e.to_string())?;
        let now = now();
        match self {
            Party::Bank { address, ledger } => {
                let done = ledger.process(address, &mail, raw, now).map_err(|e| e.to_string())?;
                mark_sent(&done.outgoing, |id| ledger.mark_sent(id, now).map_err(|e| e.to_string()))?;
                let board = done.look_up_board.zip(done.order);
                Ok(Step { outgoing: done.outgoing, board })
            }
            Party::Merchant { address, bank, shop, pricing, own_board } => {
                let side = MerchantSide { address, bank, pricing };
                let records = match &mail.body {
                    Body::Order(terms) => Some(own_board.records(&terms.order).map_err(|e| e.to_string())?),
                    _ => None,
                };
                let done =
                    shop.process(&side, &mail, records.as_deref(), raw, now).map_err(|e| e.to_string())?;
                mark_sent(&done.outgoing, |id| shop.mark_sent(id, now).map_err(|e| e.to_string()))?;
                Ok(Step { outgoing: done.outgoing, board: None })
            }
        }
    }

    /// The bank takes what its board lookup found.
    fn board_result(&mut self, order: &OrderId, lookup: BoardLookup) -> Result<Step, String> {
        let Party::Bank { address, ledger } = self else { return Ok(Step::default()) };
        let now = now();
        let done = ledger.board_result(address, order, lookup, now).map_err(|e| e.to_string())?;
        mark_sent(&done.outgoing, |id| ledger.mark_sent(id, now).map_err(|e| e.to_string()))?;
        Ok(Step { outgoing: done.outgoing, board: None })
    }
}

fn mark_sent(mails: &[Outgoing], mut mark: impl FnMut(&str) -> Result<(), String>) -> Result<(), String> {
    mails.iter().try_for_each(|m| mark(&m.message_id))
}

struct Inner {
    orderer: EmailAddress,
    parties: Mutex<Vec<Party>>,
    inbox: Mutex<VecDeque<Vec<u8>>>,
    arrived: Notify,
    /// The board server, stopped with the last handle on the loop.
    _board: AbortOnDrop,
}

/// A handle on the loop; clones share it.
#[derive(Clone)]
pub struct MailLoop(Arc<Inner>);

impl std::fmt::Debug for MailLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MailLoop({})", self.0.orderer)
    }
}

impl MailLoop {
    pub fn new(orderer: EmailAddress, bank: Party, merchant: Party, board: AbortOnDrop) -> MailLoop {
        MailLoop(Arc::new(Inner {
            orderer,
            parties: Mutex::new(vec![bank, merchant]),
            inbox: Mutex::new(VecDeque::new()),
            arrived: Notify::new(),
            _board: board,
        }))
    }

    pub fn orderer(&self) -> &EmailAddress {
        &self.0.orderer
    }

    /// Delivers the wallet's mails, like `Smtp::send_all`: each is accepted
    /// once its recipient has it. Answers travel on through the loop.
    pub async fn send_all(&self, mails: &[Outgoing]) -> Vec<Dispatch> {
        let mut results = Vec::new();
        let mut queue: VecDeque<Outgoing> = VecDeque::new();
        for mail in mails {
            let started = Instant::now();
            let result = self.check_recipient(&mail.to);
            if result.is_ok() {
                queue.push_back(mail.clone());
            }
            results.push(Dispatch::of(mail, result.map(|()| None), started));
        }
        let mut for_orderer = Vec::new();
        while let Some(mail) = queue.pop_front() {
            if mail.to == self.0.orderer {
                for_orderer.push(mail.bytes);
                continue;
            }
            let to = mail.to.clone();
            let mut step = self.with_party(to.clone(), move |p| p.take(&mail.bytes)).await;
            while let Some((url, order)) = step.board.take() {
                let lookup = match client::Client::default().fetch(&url, &order).await {
                    Ok(records) if !records.is_empty() => BoardLookup::Found(records),
                    Ok(_) => BoardLookup::Missing,
                    Err(e) => BoardLookup::Unreadable(e.to_string()),
                };
                let more = self.with_party(to.clone(), move |p| p.board_result(&order, lookup)).await;
                step.outgoing.extend(more.outgoing);
            }
            queue.extend(step.outgoing);
        }
        if !for_orderer.is_empty() {
            let inner = self.0.clone();
            tokio::spawn(async move {
                tokio::time::sleep(LATENCY).await;
                inner.inbox.lock().unwrap_or_else(PoisonError::into_inner).extend(for_orderer);
                inner.arrived.notify_one();
            });
        }
        results
    }

    /// Runs `f` on the agent at `to` on the blocking pool (its books are
    /// SQLite). A failure is said on stderr, as the agents' daemons say it.
    async fn with_party(
        &self,
        to: EmailAddress,
        f: impl FnOnce(&mut Party) -> Result<Step, String> + Send + 'static,
    ) -> Step {
        let inner = self.0.clone();
        let done = tokio::task::spawn_blocking(move || {
            let mut parties = inner.parties.lock().unwrap_or_else(PoisonError::into_inner);
            match parties.iter_mut().find(|p| *p.address() == to) {
                Some(party) => f(party).map_err(|e| format!("{to}: {e}")),
                None => Ok(Step::default()),
            }
        })
        .await;
        match done {
            Ok(Ok(step)) => step,
            Ok(Err(e)) => {
                eprintln!("mailpay demo: {e}");
                Step::default()
            }
            Err(e) => {
                eprintln!("mailpay demo: an agent stopped: {e}");
                Step::default()
            }
        }
    }

    fn check_recipient(&self, to: &EmailAddress) -> Result<(), SendError> {
        let parties = self.0.parties.lock().unwrap_or_else(PoisonError::into_inner);
        if *to == self.0.orderer || parties.iter().any(|p| p.address() == to) {
            Ok(())
        } else {
            Err(SendError::RecipientRefused {
                recipient: to.to_string(),
                reply: "550 the demo knows only its own bank and merchant".into(),
            })
        }
    }

    /// Waits for mail to the orderer and takes it all, oldest first.
    pub async fn receive(&self) -> Vec<Vec<u8>> {
        loop {
            let taken: Vec<Vec<u8>> =
                self.0.inbox.lock().unwrap_or_else(PoisonError::into_inner).drain(..).collect();
            if !taken.is_empty() {
                return taken;
            }
            self.0.arrived.notified().await;
        }
    }
}

impl crate::wallet::Transport for MailLoop {
    fn send<'a>(&'a self, mails: &'a [Outgoing]) -> crate::wallet::transport::Sending<'a> {
        Box::pin(self.send_all(mails))
    }
}
