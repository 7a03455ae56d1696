//! The demo's private mail loop: mails from the wallet are handed to the
//! demo merchant or bank, whose answers go round again; mails for the
//! orderer wait in an inbox the wallet watches, as it would watch IMAP.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::bank::DemoBank;
use super::merchant::DemoMerchant;
use crate::mail::smtp::{Dispatch, SendError};
use crate::protocol::EmailAddress;
use crate::protocol::compose::{Draft, Outgoing};
use crate::protocol::parse;

/// How long the demo bank seems to take before its mail reaches the
/// orderer (a real one takes longer): the wallet records what it sent first.
const LATENCY: Duration = Duration::from_millis(600);

struct Parties {
    bank: DemoBank,
    merchant: DemoMerchant,
}

/// A handle on the loop; clones share it.
#[derive(Clone)]
pub struct MailLoop {
    orderer: EmailAddress,
    parties: Arc<Mutex<Parties>>,
    inbox: Arc<Mutex<VecDeque<Vec<u8>>>>,
    arrived: Arc<Notify>,
}

impl std::fmt::Debug for MailLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MailLoop({})", self.orderer)
    }
}

impl MailLoop {
    pub fn new(orderer: EmailAddress, bank: DemoBank, merchant: DemoMerchant) -> MailLoop {
        MailLoop {
            orderer,
            parties: Arc::new(Mutex::new(Parties { bank, merchant })),
            inbox: Arc::new(Mutex::new(VecDeque::new())),
            arrived: Arc::new(Notify::new()),
        }
    }

    /// Delivers the wallet's mails, like `Smtp::send_all`: each is accepted
    /// once its recipient has it. Answers travel on through the loop.
    pub async fn send_all(&self, mails: &[Outgoing]) -> Vec<Dispatch> {
        let mut results = Vec::new();
        let mut for_orderer = Vec::new();
        let mut queue: VecDeque<Outgoing> = VecDeque::new();
        for mail in mails {
            let started = Instant::now();
            let result = if mail.to == self.orderer { Ok(()) } else { self.check_recipient(&mail.to) };
            if result.is_ok() {
                queue.push_back(mail.clone());
            }
            results.push(Dispatch {
                message_id: mail.message_id.clone(),
                result,
                started,
                finished: Instant::now(),
            });
        }
        while let Some(mail) = queue.pop_front() {
            if mail.to == self.orderer {
                for_orderer.push(mail.bytes);
                continue;
            }
            let Ok(incoming) = parse::parse(&mail.bytes) else { continue };
            let now = crate::wallet::now();
            let answers: Vec<Draft> = {
                let mut parties = self.parties.lock().unwrap_or_else(PoisonError::into_inner);
                if mail.to == *parties.bank.address() {
                    parties.bank.handle(&incoming, now)
                } else if mail.to == *parties.merchant.address() {
                    parties.merchant.handle(&incoming, now)
                } else {
                    Vec::new()
                }
            };
            let mut rng = rand::rng();
            queue.extend(answers.into_iter().map(|d| d.build(now, &mut rng)));
        }
        if !for_orderer.is_empty() {
            let (inbox, arrived) = (self.inbox.clone(), self.arrived.clone());
            tokio::spawn(async move {
                tokio::time::sleep(LATENCY).await;
                inbox.lock().unwrap_or_else(PoisonError::into_inner).extend(for_orderer);
                arrived.notify_one();
            });
        }
        results
    }

    fn check_recipient(&self, to: &EmailAddress) -> Result<(), SendError> {
        let parties = self.parties.lock().unwrap_or_else(PoisonError::into_inner);
        if to == parties.bank.address() || to == parties.merchant.address() {
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
                self.inbox.lock().unwrap_or_else(PoisonError::into_inner).drain(..).collect();
            if !taken.is_empty() {
                return taken;
            }
            self.arrived.notified().await;
        }
    }

    pub fn orderer(&self) -> &EmailAddress {
        &self.orderer
    }
}
