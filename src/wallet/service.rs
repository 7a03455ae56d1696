//! The wallet as every front end drives it: the desktop app, the command
//! line, the demo and the benchmarks call these, and only these, to place,
//! post, send, retry, answer and expire payments. A [`Wallet`] is the
//! wallet's folder and its store; each call is `async`, runs the store's
//! work on tokio's blocking pool and the network on the runtime, and never
//! holds the store across the network.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::steps::{self, ChequeKeys, Sent, WalletError};
use super::transport::Transport;
use crate::board::client::Client;
use crate::keys;
use crate::mail::smtp::SendError;
use crate::paths::Paths;
use crate::protocol::board::BoardRecord;
use crate::protocol::payment::{Event, State};
use crate::protocol::{OrderId, OrderTerms, Timestamp};
use crate::store::Store;
use crate::store::book::Setting;

/// The wallet's folder and its store, shared by every task.
#[derive(Clone)]
pub struct Wallet {
    paths: Paths,
    store: Arc<Mutex<Store>>,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Wallet({})", self.paths.data_dir.display())
    }
}

/// What to pay, as the user decided it.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub terms: OrderTerms,
    /// The bank's age recipient, for methods that send the claim-2 cheque.
    pub bank_key: Option<age::x25519::Recipient>,
    /// Answer the bank's confirmation on its own when it states exactly
    /// what was ordered.
    pub pre_approved: bool,
}

/// How [`Wallet::dispatch_until_sent`] spaces its attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait; each next one doubles, up to `max`.
    pub first: Duration,
    pub max: Duration,
    /// Attempts in all, the first one included.
    pub attempts: u32,
}

impl Default for Backoff {
    /// About an hour of trying: 2 s, 4 s, ... then every 5 minutes.
    fn default() -> Self {
        Backoff { first: Duration::from_secs(2), max: Duration::from_secs(300), attempts: 16 }
    }
}

/// What a retrying dispatch tells its caller (and so the user).
#[derive(Debug, Clone)]
pub enum Progress {
    /// An attempt ended; `sent` holds each mail it tried.
    Attempted { attempt: u32, sent: Vec<Sent> },
    /// Every failure was temporary: trying again after `retry_in`.
    Waiting { retry_in: Duration, reason: String },
    /// The order's record is on the merchant's board at `url`.
    BoardPosted { url: String },
}

impl Wallet {
    /// Opens the wallet in `paths` (blocking: call from a blocking task).
    pub fn open(paths: Paths) -> Result<Wallet, WalletError> {
        let store = Store::open(&paths.database())?;
        Ok(Wallet { paths, store: Arc::new(Mutex::new(store)) })
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// Runs `f` with the store right here, blocking: only for threads of
    /// their own (an inbox watcher, the command line), never on a UI's
    /// executor.
    pub fn with_blocking<T, E>(&self, f: impl FnOnce(&mut Store) -> Result<T, E>) -> Result<T, E> {
        // A panic elsewhere while holding the lock leaves the data as
        // SQLite committed it: carry on with it.
        let mut guard = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// Runs `f` with the store on the blocking pool.
    pub async fn with<T: Send + 'static, E: From<WalletError> + Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let wallet = self.clone();
        tokio::task::spawn_blocking(move || wallet.with_blocking(f))
            .await
            .map_err(|e| E::from(WalletError::Join(e.to_string())))?
    }

    /// Records the payment and its mails (nothing is sent yet): after this,
    /// quitting loses nothing, the mails wait in the outbox. The cheque is
    /// signed with the wallet's key and sealed when the method sends one.
    pub async fn place(&self, payment: NewPayment) -> Result<State, WalletError> {
        let key_path = keys::wallet_key_path(&self.paths);
        self.with(move |store| {
            let terms = &payment.terms;
            let key = match terms.method.needs_cheque() {
                true => Some(
                    keys::load_or_create_key(&key_path).map_err(|e| WalletError::Cheque(e.to_string()))?,
                ),
                false => None,
            };
            let cheque = key.as_ref().map(|key| ChequeKeys { bank: payment.bank_key.as_ref(), key });
            let state = steps::place(store, terms, cheque, terms.created)?;
            store.set_pre_approved(&terms.order, payment.pre_approved)?;
            Ok(state)
        })
        .await
    }

    /// Sends every queued mail of `order` at once through `transport` and
    /// records each outcome; first posts the order's board record when the
    /// payment waits for it (a refusal stops the payment before any mail
    /// leaves). The crash-test points `between-mails`, `mails-accepted` and
    /// `mails-recorded` (src/fault.rs) are on this one path.
    pub async fn dispatch(
        &self,
        transport: &dyn Transport,
        order: &OrderId,
    ) -> Result<Vec<Sent>, WalletError> {
        self.post_board_if_due(transport, order).await?;
        self.send_queued(transport, order).await
    }

    /// The second half of [`Wallet::dispatch`], once the board record (if
    /// any) is posted: sends the queued mails and records each outcome.
    async fn send_queued(
        &self,
        transport: &dyn Transport,
        order: &OrderId,
    ) -> Result<Vec<Sent>, WalletError> {
        let o = order.clone();
        let queued = self.with(move |s| steps::queued(s, &o)).await?;
        if queued.is_empty() {
            return Ok(Vec::new());
        }
        if crate::fault::armed("between-mails") && queued.len() > 1 {
            let first = vec![queued[0].clone()];
            let results = transport.send(std::slice::from_ref(&first[0].1)).await;
            let o = order.clone();
            self.with(move |s| steps::record_dispatch(s, &o, &first, &results)).await?;
            crate::fault::halt("between-mails");
        }
        let outgoing: Vec<_> = queued.iter().map(|(_, o)| o.clone()).collect();
        let results = transport.send(&outgoing).await;
        if results.iter().all(|d| d.result.is_ok()) {
            crate::fault::halt("mails-accepted");
        }
        let o = order.clone();
        let sent = self.with(move |s| steps::record_dispatch(s, &o, &queued, &results)).await?;
        crate::fault::halt("mails-recorded");
        Ok(sent)
    }

    /// [`Wallet::dispatch`], again and again while the only failures are
    /// temporary (a server down, a 4xx reply), waiting longer each time.
    /// Stops at the first permanent failure (a refused login or recipient,
    /// an untrusted certificate), when everything has left, or after
    /// `backoff.attempts`; also when an OAuth2 sign-in was revoked or has
    /// expired: the mails wait in the outbox (a temporary failure) until
    /// the user has signed in again, which no retry now can bring about.
    /// Returns the last attempt's outcomes.
    pub async fn dispatch_until_sent(
        &self,
        transport: &dyn Transport,
        order: &OrderId,
        backoff: Backoff,
        mut report: impl FnMut(Progress) + Send,
    ) -> Result<Vec<Sent>, WalletError> {
        if let Some(url) = self.post_board_if_due(transport, order).await? {
            report(Progress::BoardPosted { url });
        }
        let mut wait = backoff.first;
        let mut attempt = 1;
        loop {
            // A retry resumes after the board post (it went before any
            // mail), so each attempt only sends.
            let sent = self.send_queued(transport, order).await?;
            report(Progress::Attempted { attempt, sent: sent.clone() });
            let errors: Vec<&SendError> = sent.iter().filter_map(|s| s.result.as_ref().err()).collect();
            let Some(first) = errors.first() else { return Ok(sent) };
            let waits_for_sign_in = errors.iter().any(|e| e.needs_sign_in());
            if attempt >= backoff.attempts || !errors.iter().all(|e| e.is_temporary()) || waits_for_sign_in {
                return Ok(sent);
            }
            let retry_in = jitter(wait);
            report(Progress::Waiting { retry_in, reason: first.to_string() });
            tokio::time::sleep(retry_in).await;
            self.act(order, Event::Retry).await?;
            wait = (wait * 2).min(backoff.max);
            attempt += 1;
        }
    }

    /// A retry after a failure: the payment goes back to where it stopped
    /// (only mails not taken stay queued), then they are sent.
    pub async fn retry(&self, transport: &dyn Transport, order: &OrderId) -> Result<Vec<Sent>, WalletError> {
        self.resume_failed(order).await?;
        self.dispatch(transport, order).await
    }

    /// Moves a failed payment back to where it stopped; any other payment
    /// stays as it is.
    pub async fn resume_failed(&self, order: &OrderId) -> Result<(), WalletError> {
        let o = order.clone();
        self.with(move |s| {
            let (_, state) = s.load(&o)?;
            if matches!(state, State::Failed { .. }) {
                steps::act(s, &o, &Event::Retry, None, false)?;
            }
            Ok(())
        })
        .await
    }

    /// The orderer's answer to a confirmation: OK + A, or a decline;
    /// queued, then sent.
    pub async fn answer(
        &self,
        transport: &dyn Transport,
        order: &OrderId,
        approve: bool,
    ) -> Result<Vec<Sent>, WalletError> {
        self.queue_answer(order, approve).await?;
        self.dispatch(transport, order).await
    }

    /// Queues the orderer's answer without sending it (a caller that sends
    /// with [`Wallet::dispatch_until_sent`]).
    pub async fn queue_answer(&self, order: &OrderId, approve: bool) -> Result<(), WalletError> {
        self.act(order, if approve { Event::UserApprove } else { Event::UserDecline }).await?;
        crate::fault::halt("approve-queued");
        Ok(())
    }

    /// The clock: every open payment past its expiry becomes `expired`
    /// (the state machine decides); returns the orders that did.
    pub async fn expire_overdue(&self, now: Timestamp) -> Result<Vec<OrderId>, WalletError> {
        self.with(move |s| {
            let mut expired = Vec::new();
            for order in s.open_orders()? {
                let (state, _) = steps::act(s, &order, &Event::Tick(now), None, false)?;
                if state == State::Expired {
                    expired.push(order);
                }
            }
            Ok(expired)
        })
        .await
    }

    async fn act(&self, order: &OrderId, event: Event) -> Result<State, WalletError> {
        let o = order.clone();
        self.with(move |s| steps::act(s, &o, &event, None, false).map(|(state, _)| state)).await
    }

    /// Posts the order's record on the merchant's board (claim 3) when the
    /// payment waits for it, signed with the wallet's key and the initials
    /// kept in the wallet (Setting::Initials). An `https://` board is
    /// trusted as the account's mail servers are.
    /// Returns the board's URL when it posted the record.
    async fn post_board_if_due(
        &self,
        transport: &dyn Transport,
        order: &OrderId,
    ) -> Result<Option<String>, WalletError> {
        let o = order.clone();
        let key_path = keys::wallet_key_path(&self.paths);
        let due = self
            .with(move |s| {
                let (terms, state) = s.load(&o)?;
                let pending = matches!(state, State::Sending { board_pending: true, .. });
                Ok::<_, WalletError>(pending.then_some((terms, s.setting(Setting::Initials)?)))
            })
            .await?;
        let Some((terms, initials)) = due else { return Ok(None) };
        let posted = match (terms.board.as_deref(), initials) {
            (Some(url), Some(initials)) => match keys::load_or_create_key(&key_path) {
                Ok(key) => Client::trusting(transport.extra_ca())
                    .post(url, &BoardRecord::for_order(&terms, &initials, &key))
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            (None, _) => Err("the order names no board to post its record on".to_string()),
            (_, None) => {
                Err("your initials for the board record are not set (Settings → Initials)".to_string())
            }
        };
        let event = match &posted {
            Ok(()) => Event::BoardPosted,
            Err(reason) => Event::BoardFailed { reason: reason.clone() },
        };
        self.act(order, event).await?;
        posted.map(|()| terms.board.clone()).map_err(WalletError::Board)
    }
}

/// `base` ± 20 %, so that many wallets do not retry in step.
fn jitter(base: Duration) -> Duration {
    let spread = u64::try_from(base.as_millis() / 5).unwrap_or(u64::MAX).max(1);
    base - base / 5 + Duration::from_millis(rand::random_range(0..spread * 2))
}
