//! The bank agent's loop: watch the bank's inbox (IMAP IDLE), hand every
//! mail to the ledger, send what it queued, look up boards when an order
//! needs it; on a clock, end orders past their expiry and send again what
//! failed to go out. One line on stderr per mail says what was done and why.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::ledger::{Ledger, LedgerError, Processed};
use crate::board::client;
use crate::mail::account::Account;
use crate::mail::expecting::ANSWER_WINDOW;
use crate::mail::held_back;
use crate::mail::imap::{self, ImapError, Received, WatchConfig, WatchEvent};
use crate::mail::smtp::{SendError, Smtp};
use crate::protocol::compose::Outgoing;
use crate::protocol::matching::BoardLookup;
use crate::protocol::{EmailAddress, OrderId};
use crate::task::AbortOnDrop;
use crate::wallet::now;

#[derive(Clone)]
pub struct DaemonConfig {
    pub account: Account,
    pub password: String,
    pub ledger: PathBuf,
    /// How long to wait before looking at a board a second time when the
    /// record was not there yet (the orderer posts it as he sends the order).
    pub board_grace: Duration,
    /// How often open orders are checked for expiry.
    pub expiry_check: Duration,
    /// Which registered boards the bank reads (https:// at public
    /// addresses unless this allows more).
    pub boards: client::BoardPolicy,
}

impl std::fmt::Debug for DaemonConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonConfig")
            .field("account", &self.account)
            .field("password", &"<hidden>")
            .field("ledger", &self.ledger)
            .field("board_grace", &self.board_grace)
            .field("expiry_check", &self.expiry_check)
            .field("boards", &self.boards)
            .finish()
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    Smtp(#[from] SendError),
    #[error("{0}")]
    Imap(#[from] ImapError),
}

struct Shared {
    ledger: Mutex<Ledger>,
    smtp: Smtp,
    bank: EmailAddress,
    in_flight: Mutex<HashSet<String>>,
    board_grace: Duration,
    /// Reads boards, trusting what the bank's mail account trusts.
    boards: client::Client,
}

impl Shared {
    /// The ledger, also after a panic while it was held: the watcher caught
    /// that panic and set the mail aside, and the ledger's open transaction
    /// was rolled back when the panic dropped it.
    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn say(line: &str) {
    eprintln!("mailpay-bank: {line}");
}

/// Runs until the watcher stops for good; returns why.
pub async fn run(config: DaemonConfig) -> DaemonError {
    match start(&config) {
        Ok(shared) => watch(&config, shared).await,
        Err(e) => e,
    }
}

fn start(config: &DaemonConfig) -> Result<Arc<Shared>, DaemonError> {
    let ledger = Ledger::open(&config.ledger)?;
    say(&format!("ledger {}; cheques are encrypted to {}", config.ledger.display(), ledger.recipient()?));
    let smtp = Smtp::new(&config.account, &config.password)?;
    Ok(Arc::new(Shared {
        ledger: Mutex::new(ledger),
        smtp,
        bank: config.account.address.clone(),
        in_flight: Mutex::new(HashSet::new()),
        board_grace: config.board_grace,
        boards: client::Client::trusting(config.account.ca_file.as_deref()).restricted(config.boards),
    }))
}

async fn watch(config: &DaemonConfig, shared: Arc<Shared>) -> DaemonError {
    let address = config.account.address.to_string();
    let mut watch = WatchConfig::new(config.account.clone(), config.password.clone());
    // The agent's mailbox is MailPay's alone: whatever cannot be read is set aside.
    watch.dedicated = true;
    // Business comes in bursts: after each mail, answers are looked for
    // eagerly for a while (see mail::expecting).
    let expecting = watch.expecting.clone();
    let folder = watch.folder.clone();
    let mut resume = shared.ledger().resume(&address, &folder).unwrap_or_default();
    send_unsent(&shared);
    let _clock = AbortOnDrop(tokio::spawn(expire_periodically(shared.clone(), config.expiry_check)));
    let error = imap::watch(&watch, &mut resume, |event| {
        match event {
            WatchEvent::Connected { uid_validity, idle } => {
                say(&format!(
                    "watching {address} (UIDVALIDITY {uid_validity}, {})",
                    if idle { "IDLE" } else { "polling" }
                ));
            }
            WatchEvent::UidValidityChanged { old, new } => {
                say(&format!("{folder} was recreated ({old} -> {new})"))
            }
            WatchEvent::Disconnected { reason, retry_in } => {
                say(&format!("disconnected: {reason}; retrying in {retry_in:.1?}"))
            }
            WatchEvent::Idle { resume: at } => {
                save_resume(&shared, &address, &folder, at);
                send_unsent(&shared);
            }
            WatchEvent::Mail { resume: at, raw, received } => {
                expecting.expect_within(ANSWER_WINDOW);
                handle(&shared, &raw, received);
                save_resume(&shared, &address, &folder, at);
            }
        }
        true
    })
    .await;
    DaemonError::Imap(error)
}

/// The bank's clock: expiry of open orders, and retries of failed sends.
async fn expire_periodically(shared: Arc<Shared>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        // Mails whose sending failed go out again (those in flight are skipped).
        send_unsent(&shared);
        let expired = shared.ledger().expire_due(&shared.bank, now());
        match expired {
            Ok(done) => {
                for processed in done {
                    report("clock", &processed);
                    follow_up(&shared, processed);
                }
            }
            Err(e) => say(&format!("the expiry check failed: {e}")),
        }
    }
}

fn save_resume(shared: &Shared, address: &str, folder: &str, at: imap::Resume) {
    if let Err(e) = shared.ledger().save_resume(address, folder, at) {
        say(&format!("cannot save the mailbox position: {e}"));
    }
}

fn handle(shared: &Arc<Shared>, raw: &[u8], received: Received) {
    let mut ledger = shared.ledger();
    match received {
        Received::Bounce(bounce) => {
            let take =
                |id: &str, outcome: &str, reason: &str| ledger.take_bounce(raw, id, outcome, reason, now());
            if let Some(line) = held_back::on_bounce(&bounce, take) {
                say(&line);
            }
        }
        Received::Invalid(e) => {
            if let Ok(true) = ledger.record_unhandled(raw, &format!("not valid MailPay: {e}"), now()) {
                say(&format!("not a valid MailPay mail, not answered: {e}"));
            }
        }
        Received::MailPay(mail) => match ledger.process(&shared.bank, &mail, raw, now()) {
            Ok(done) => {
                let what = format!("{} from {}", mail.body.kind(), mail.from);
                report(&what, &done);
                drop(ledger);
                crate::fault::halt(&format!("bank-processed-{}", mail.body.kind()));
                follow_up(shared, done);
            }
            Err(e) => {
                let why = format!("could not be handled: {e}");
                say(&format!("order {}: {} from {} {why}", mail.body.order(), mail.body.kind(), mail.from));
                if let Err(e) = ledger.record_unhandled(raw, &why, now()) {
                    say(&format!("cannot record it either: {e}"));
                }
            }
        },
    }
}

fn report(what: &str, done: &Processed) {
    let order = done.order.as_ref().map_or_else(|| "-".to_string(), OrderId::to_string);
    let reason = done.reason.map(|r| format!(" [{r}]")).unwrap_or_default();
    say(&format!("order {order}: {what}: {}{reason}", done.note));
}

/// Sends what was queued and starts a board lookup when one is due.
fn follow_up(shared: &Arc<Shared>, done: Processed) {
    send(shared, done.outgoing);
    if let (Some(url), Some(order)) = (done.look_up_board, done.order) {
        let shared = shared.clone();
        tokio::spawn(async move {
            let lookup = look_up(&shared.boards, &url, &order, shared.board_grace).await;
            let result = shared.ledger().board_result(&shared.bank, &order, lookup, now());
            match result {
                Ok(done) => {
                    report(&format!("board {url}"), &done);
                    follow_up(&shared, done);
                }
                Err(e) => say(&format!("order {order}: the board result could not be recorded: {e}")),
            }
        });
    }
}

/// Reads `order`'s records on the registered board `url`, a second time
/// after `grace` when they are not there yet. A board the bank's policy
/// does not allow is not asked at all: its record counts as missing.
async fn look_up(boards: &client::Client, url: &str, order: &OrderId, grace: Duration) -> BoardLookup {
    for attempt in 0..2 {
        match boards.fetch(url, order).await {
            Ok(records) if !records.is_empty() => return BoardLookup::Found(records),
            Ok(_) if attempt == 0 => tokio::time::sleep(grace).await,
            Ok(_) => return BoardLookup::Missing,
            Err(e @ (client::ClientError::NotAllowed { .. } | client::ClientError::Url(_))) => {
                say(&format!("order {order}: {e}"));
                return BoardLookup::Unreadable(e.to_string());
            }
            Err(e) if attempt == 0 => {
                say(&format!("order {order}: board {url}: {e}"));
                tokio::time::sleep(grace).await;
            }
            Err(e) => {
                say(&format!("order {order}: board {url}: {e}"));
                return BoardLookup::Unreadable(e.to_string());
            }
        }
    }
    BoardLookup::Missing
}

fn send_unsent(shared: &Arc<Shared>) {
    let Ok(unsent) = shared.ledger().unsent(now()) else { return };
    send(shared, unsent);
}

/// Sends mails concurrently in the background; each is marked in the
/// ledger once the server took it (or with the error, to retry later).
fn send(shared: &Arc<Shared>, mails: Vec<Outgoing>) {
    let mails: Vec<Outgoing> = {
        let mut in_flight = shared.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
        mails.into_iter().filter(|m| in_flight.insert(m.message_id.clone())).collect()
    };
    if mails.is_empty() {
        return;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        let results = shared.smtp.send_all(&mails).await;
        let ledger = shared.ledger();
        for (mail, dispatch) in mails.iter().zip(results) {
            let marked = match &dispatch.result {
                Ok(()) => ledger.mark_sent(&mail.message_id, now()),
                Err(e) => {
                    say(&format!("order {}: {} to {} not sent: {e}", mail.order, mail.kind, mail.to));
                    ledger.mark_failed(&mail.message_id, &e.to_string())
                }
            };
            if let Err(e) = marked {
                say(&format!("cannot record the sending of {}: {e}", mail.message_id));
            }
            shared.in_flight.lock().unwrap_or_else(PoisonError::into_inner).remove(&mail.message_id);
        }
    });
}
