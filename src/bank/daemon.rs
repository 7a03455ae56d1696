//! The bank agent: its decisions on the agent runtime ([`crate::agent`]).
//! Every MailPay mail goes to the ledger's matching rule; when an order
//! needs its board record, the registered board is read; on the clock,
//! orders past their expiry end.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::ledger::{Ledger, LedgerError, Processed};
use crate::agent::runtime::{self, Agent, Decisions};
use crate::board::client;
use crate::clock::now;
use crate::mail::account::Account;
use crate::mail::imap::ImapError;
use crate::mail::login::Login;
use crate::mail::smtp::{SendError, Smtp};
use crate::protocol::matching::BoardLookup;
use crate::protocol::parse::Incoming;
use crate::protocol::{EmailAddress, OrderId, Timestamp};

#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub account: Account,
    pub login: Login,
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

#[derive(Debug, Clone, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    Smtp(#[from] SendError),
    #[error("{0}")]
    Imap(#[from] ImapError),
}

/// The bank's decisions for the agent runtime: the ledger's matching
/// rule, and the board lookups it asks for.
pub struct Bank {
    address: EmailAddress,
    board_grace: Duration,
    /// Reads boards, trusting what the bank's mail account trusts.
    boards: client::Client,
}

impl Decisions for Bank {
    type Book = Ledger;
    type Decided = Processed;

    fn decide(
        &self,
        ledger: &mut Ledger,
        mail: &Incoming,
        raw: &[u8],
        now: Timestamp,
    ) -> Result<(String, Processed), String> {
        let done = ledger.process(&self.address, mail, raw, now).map_err(|e| e.to_string())?;
        Ok((line(&done), done))
    }

    /// Sends what was queued and starts a board lookup when one is due.
    fn act(&self, agent: &Arc<Agent<Self>>, done: Processed) {
        agent.send(done.outgoing);
        let (Some(url), Some(order)) = (done.look_up_board, done.order) else { return };
        let agent = agent.clone();
        tokio::spawn(async move {
            let bank = &agent.decisions;
            let lookup = look_up(&agent, &bank.boards, &url, &order, bank.board_grace).await;
            let result = agent.book().board_result(&bank.address, &order, lookup, now());
            match result {
                Ok(done) => {
                    agent.say(&format!("order {order}: board {url}: {}", line(&done)));
                    bank.act(&agent, done);
                }
                Err(e) => agent.say(&format!("order {order}: the board result could not be recorded: {e}")),
            }
        });
    }

    /// Ends open orders past their expiry.
    fn on_tick(&self, agent: &Arc<Agent<Self>>) {
        let expired = agent.book().expire_due(&self.address, now());
        match expired {
            Ok(done) => {
                for processed in done {
                    let order = processed.order.as_ref().map_or_else(|| "-".to_string(), OrderId::to_string);
                    agent.say(&format!("order {order}: clock: {}", line(&processed)));
                    self.act(agent, processed);
                }
            }
            Err(e) => agent.say(&format!("the expiry check failed: {e}")),
        }
    }
}

/// What the ledger did, and the reason code when it refused.
fn line(done: &Processed) -> String {
    let reason = done.reason.map(|r| format!(" [{r}]")).unwrap_or_default();
    format!("{}{reason}", done.note)
}

/// Runs until the watcher stops for good; returns why.
pub async fn run(config: DaemonConfig) -> DaemonError {
    let agent = match start(&config) {
        Ok(agent) => agent,
        Err(e) => return e,
    };
    let why = runtime::run(agent, &config.account, &config.login, config.expiry_check).await;
    DaemonError::Imap(why)
}

fn start(config: &DaemonConfig) -> Result<Arc<Agent<Bank>>, DaemonError> {
    let ledger = Ledger::open(&config.ledger)?;
    let smtp = Smtp::with_login(&config.account, config.login.clone())?;
    let bank = Bank {
        address: config.account.address.clone(),
        board_grace: config.board_grace,
        boards: client::Client::trusting(config.account.ca_file.as_deref()).restricted(config.boards),
    };
    let agent = Agent::new("bank", bank, ledger, smtp);
    let recipient = agent.book().recipient()?;
    agent.say(&format!("ledger {}; cheques are encrypted to {recipient}", config.ledger.display()));
    Ok(agent)
}

/// Reads `order`'s records on the registered board `url`, a second time
/// after `grace` when they are not there yet. A board the bank's policy
/// does not allow is not asked at all: its record counts as missing.
async fn look_up(
    agent: &Agent<Bank>,
    boards: &client::Client,
    url: &str,
    order: &OrderId,
    grace: Duration,
) -> BoardLookup {
    for attempt in 0..2 {
        match boards.fetch(url, order).await {
            Ok(records) if !records.is_empty() => return BoardLookup::Found(records),
            Ok(_) if attempt == 0 => tokio::time::sleep(grace).await,
            Ok(_) => return BoardLookup::Missing,
            Err(e @ (client::ClientError::NotAllowed { .. } | client::ClientError::Url(_))) => {
                agent.say(&format!("order {order}: {e}"));
                return BoardLookup::Unreadable(e.to_string());
            }
            Err(e) if attempt == 0 => {
                agent.say(&format!("order {order}: board {url}: {e}"));
                tokio::time::sleep(grace).await;
            }
            Err(e) => {
                agent.say(&format!("order {order}: board {url}: {e}"));
                return BoardLookup::Unreadable(e.to_string());
            }
        }
    }
    BoardLookup::Missing
}
