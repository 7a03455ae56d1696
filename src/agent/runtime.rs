//! One loop for both reference agents: watch the agent's inbox (IMAP
//! IDLE), hand every mail to the agent's decisions or set it aside with
//! why, send what the decisions queued, and on a clock send again what
//! failed to go out. One line on stderr per mail says what was done.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::held_back;
use super::outbox::Book;
use crate::clock::now;
use crate::mail::account::Account;
use crate::mail::expecting::ANSWER_WINDOW;
use crate::mail::imap::{self, ImapError, Received, Resume, WatchConfig, WatchEvent};
use crate::mail::login::Login;
use crate::mail::smtp::Smtp;
use crate::protocol::Timestamp;
use crate::protocol::compose::Outgoing;
use crate::protocol::parse::Incoming;
use crate::task::AbortOnDrop;

/// What one agent decides: the bank's matching rule, the merchant's
/// billing. Everything else (the inbox, the outbox, bounces, invalid mail,
/// the clock) is the runtime's.
pub trait Decisions: Send + Sync + Sized + 'static {
    type Book: Book;
    /// What is left to do once a decision is recorded and the book released.
    type Decided: Send;

    /// Decides on one MailPay mail, recording it and the mails it queues in
    /// `book` in one transaction. Returns the line to log (what was done
    /// and why) and the rest for [`Decisions::act`]. An error is logged and
    /// the mail recorded as not handled.
    fn decide(
        &self,
        book: &mut Self::Book,
        mail: &Incoming,
        raw: &[u8],
        now: Timestamp,
    ) -> Result<(String, Self::Decided), String>;

    /// Carries a recorded decision out: at least sends its mails
    /// ([`Agent::send`]).
    fn act(&self, agent: &Arc<Agent<Self>>, decided: Self::Decided);

    /// On every tick of the agent's clock (the first at start), after
    /// unsent mail went out again.
    fn on_tick(&self, _agent: &Arc<Agent<Self>>) {}
}

/// A running agent: its decisions, its book and its mail connection.
pub struct Agent<D: Decisions> {
    /// `bank` or `merchant`: logs say `mailpay-ROLE:`, fault points
    /// `ROLE-processed-KIND`.
    role: &'static str,
    pub decisions: D,
    book: Mutex<D::Book>,
    smtp: Smtp,
    /// Message-IDs being sent now: a mail is never on its way twice.
    in_flight: Mutex<HashSet<String>>,
}

impl<D: Decisions> Agent<D> {
    pub fn new(role: &'static str, decisions: D, book: D::Book, smtp: Smtp) -> Arc<Self> {
        Arc::new(Agent {
            role,
            decisions,
            book: Mutex::new(book),
            smtp,
            in_flight: Mutex::new(HashSet::new()),
        })
    }

    pub fn say(&self, line: &str) {
        eprintln!("mailpay-{}: {line}", self.role);
    }

    /// The book, also after a panic while it was held: the watcher caught
    /// that panic and set the mail aside, and the book's open transaction
    /// was rolled back when the panic dropped it.
    pub fn book(&self) -> MutexGuard<'_, D::Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends mails concurrently in the background, skipping any already on
    /// its way; each is marked in the book once the server took it (or
    /// with the error, to go out again later).
    pub fn send(self: &Arc<Self>, mails: Vec<Outgoing>) {
        let mails: Vec<Outgoing> = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
            mails.into_iter().filter(|m| in_flight.insert(m.message_id.clone())).collect()
        };
        if mails.is_empty() {
            return;
        }
        let agent = self.clone();
        tokio::spawn(async move {
            let results = agent.smtp.send_all(&mails).await;
            let book = agent.book();
            for (mail, dispatch) in mails.iter().zip(results) {
                let marked = match &dispatch.result {
                    Ok(()) => book.mark_sent(&mail.message_id, now()),
                    Err(e) => {
                        agent.say(&format!(
                            "order {}: {} to {} not sent: {e}",
                            mail.order, mail.kind, mail.to
                        ));
                        book.mark_failed(&mail.message_id, &e.to_string())
                    }
                };
                if let Err(e) = marked {
                    agent.say(&format!("cannot record the sending of {}: {e}", mail.message_id));
                }
                agent.in_flight.lock().unwrap_or_else(PoisonError::into_inner).remove(&mail.message_id);
            }
        });
    }

    /// Sends what is queued and not held back: after a crash, a failed
    /// send, or a bounce whose wait is over.
    pub fn send_unsent(self: &Arc<Self>) {
        let unsent = self.book().unsent(false, now());
        match unsent {
            Ok(mails) => self.send(mails),
            Err(e) => self.say(&format!("cannot read the outbox: {e}")),
        }
    }

    fn save_resume(&self, address: &str, folder: &str, at: Resume) {
        if let Err(e) = self.book().save_resume(address, folder, at) {
            self.say(&format!("cannot save the mailbox position: {e}"));
        }
    }

    fn handle(self: &Arc<Self>, raw: &[u8], received: Received) {
        match received {
            Received::Bounce(bounce) => {
                let book = self.book();
                let take =
                    |id: &str, outcome: &str, reason: &str| book.take_bounce(raw, id, outcome, reason, now());
                if let Some(line) = held_back::on_bounce(&bounce, take) {
                    self.say(&line);
                }
            }
            Received::Invalid(e) => {
                let recorded = self.book().record_unhandled(raw, &format!("not valid MailPay: {e}"), now());
                if let Ok(true) = recorded {
                    self.say(&format!("not a valid MailPay mail, not answered: {e}"));
                }
            }
            Received::MailPay(mail) => {
                let (order, kind, from) = (mail.body.order(), mail.body.kind(), &mail.from);
                let decided = {
                    let mut book = self.book();
                    self.decisions.decide(&mut book, &mail, raw, now())
                };
                match decided {
                    Ok((line, decided)) => {
                        self.say(&format!("order {order}: {kind} from {from}: {line}"));
                        crate::fault::halt(&format!("{}-processed-{kind}", self.role));
                        self.decisions.act(self, decided);
                    }
                    Err(e) => {
                        let why = format!("could not be handled: {e}");
                        self.say(&format!("order {order}: {kind} from {from} {why}"));
                        if let Err(e) = self.book().record_unhandled(raw, &why, now()) {
                            self.say(&format!("cannot record it either: {e}"));
                        }
                    }
                }
            }
        }
    }
}

/// Watches `account`'s inbox for the agent until the watcher stops for
/// good, ticking the agent's clock every `tick`; returns why it stopped.
/// The mailbox is the agent's alone: whatever cannot be read is set aside.
pub async fn run<D: Decisions>(
    agent: Arc<Agent<D>>,
    account: &Account,
    login: &Login,
    tick: Duration,
) -> ImapError {
    let address = account.address.to_string();
    let mut watch = WatchConfig::with_login(account.clone(), login.clone());
    watch.dedicated = true;
    // Business comes in bursts: after each mail, answers are looked for
    // eagerly for a while (see mail::expecting).
    let expecting = watch.expecting.clone();
    let folder = watch.folder.clone();
    let mut resume = agent.book().resume(&address, &folder).unwrap_or_default();
    let _clock = AbortOnDrop(tokio::spawn(clock(agent.clone(), tick)));
    imap::watch(&watch, &mut resume, |event| {
        match event {
            WatchEvent::Connected { uid_validity, idle } => agent.say(&format!(
                "watching {address} (UIDVALIDITY {uid_validity}, {})",
                if idle { "IDLE" } else { "polling" }
            )),
            WatchEvent::UidValidityChanged { old, new } => {
                agent.say(&format!("{folder} was recreated ({old} -> {new})"))
            }
            WatchEvent::Disconnected { reason, retry_in, .. } => {
                agent.say(&format!("disconnected: {reason}; retrying in {retry_in:.1?}"))
            }
            WatchEvent::Idle { resume: at } => {
                agent.save_resume(&address, &folder, at);
                agent.send_unsent();
            }
            WatchEvent::Mail { resume: at, raw, received } => {
                expecting.expect_within(ANSWER_WINDOW);
                agent.handle(&raw, received);
                agent.save_resume(&address, &folder, at);
            }
        }
        true
    })
    .await
}

/// The agent's clock: unsent mail goes out again (those in flight are
/// skipped), then the agent's own work (the bank's expiry check). The
/// first tick is at start.
async fn clock<D: Decisions>(agent: Arc<Agent<D>>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        agent.send_unsent();
        agent.decisions.on_tick(&agent);
    }
}
