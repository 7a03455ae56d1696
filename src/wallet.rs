//! The orderer's side, wired: the protocol core's state machine driven by
//! the store and the mail edge. The command line and the desktop wallet
//! both go through here.
//!
//! Every step is: load the payment, run [`payment::step`], write the new
//! state together with any mail it wants sent (outbox, with its
//! Message-ID) in the store, then send, then record the server's answer.
//! A crash anywhere leaves either the old state or the new state with its
//! mails queued; queued mails go out on the next dispatch.

use std::time::Duration;

use crate::clock::now;
use crate::mail::smtp::{Dispatch, SendError, Smtp};
use sha2::Digest;

use crate::protocol::bounce::Bounce;
use crate::protocol::compose::{self, Draft, Outgoing};
use crate::protocol::message::{Approve, Body, Decline};
use crate::protocol::parse::Incoming;
use crate::protocol::payment::{self, Context, Effect, Event, Illegal, Outbound, State};
use crate::protocol::{OrderId, OrderTerms, Timestamp};
use crate::store::{OutboxMail, Store, StoreError, state::outbound_from_name};

#[derive(Debug, Clone, thiserror::Error)]
pub enum WalletError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Illegal(#[from] Illegal),
}

/// One mail's outcome in a dispatch.
#[derive(Debug, Clone)]
pub struct Sent {
    pub kind: String,
    pub recipient: String,
    pub message_id: String,
    pub result: Result<(), SendError>,
}

/// What a received mail did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// Seen before (same Message-ID): ignored.
    Duplicate,
    /// About an order this wallet does not know.
    UnknownOrder(String),
    /// Not something the orderer's side acts on (e.g. an order or a bill).
    NotForOrderer(String),
    /// Moved the payment on.
    Stepped { order: String, from: &'static str, to: &'static str, effects: Vec<Effect> },
    /// Refused by the state machine in the payment's state.
    Refused { order: String, reason: String },
    /// A bounce that changed no payment: of a mail this wallet did not
    /// send, or a notice that delivery is only delayed.
    Bounced { message_id: String, reason: String },
}

/// Records a new payment with its first mails (before anything is sent).
/// `extra` carries mails built outside the core's drafts (the wallet cheque).
pub fn place(
    store: &mut Store,
    terms: &OrderTerms,
    extra: Vec<Draft>,
    now: Timestamp,
) -> Result<State, WalletError> {
    let ctx = Context { terms, pre_approved: false };
    let (state, effects) = payment::step(&State::Draft, &ctx, &Event::Pay)?;
    let mut rng = rand::rng();
    let [order, request] = compose::order(terms);
    let mut mails: Vec<Outgoing> = Vec::new();
    for effect in &effects {
        let draft = match effect {
            Effect::Send(Outbound::Order) => Some(order.clone()),
            Effect::Send(Outbound::PaymentRequest) => Some(request.clone()),
            Effect::Send(Outbound::Wallet) => {
                extra.iter().find(|d| d.kind == crate::protocol::Kind::Wallet).cloned()
            }
            _ => None,
        };
        if let Some(draft) = draft {
            mails.push(draft.build(now, &mut rng));
        }
    }
    store.record_payment(terms, &state, &mails, now)?;
    crate::fault::halt("payment-recorded");
    Ok(state)
}

/// Sends every queued mail of `order` at once and records each outcome in
/// the payment's state.
pub async fn dispatch(store: &Store, smtp: &Smtp, order: &OrderId) -> Result<Vec<Sent>, WalletError> {
    let queued = queued(store, order)?;
    if queued.is_empty() {
        return Ok(Vec::new());
    }
    if crate::fault::armed("between-mails") && queued.len() > 1 {
        let first = &queued[..1];
        let results = smtp.send_all(&[first[0].1.clone()]).await;
        record_dispatch(store, order, first, &results)?;
        crate::fault::halt("between-mails");
    }
    let outgoing: Vec<Outgoing> = queued.iter().map(|(_, o)| o.clone()).collect();
    let results = smtp.send_all(&outgoing).await;
    if results.iter().all(|d| d.result.is_ok()) {
        crate::fault::halt("mails-accepted");
    }
    let sent = record_dispatch(store, order, &queued, &results)?;
    crate::fault::halt("mails-recorded");
    Ok(sent)
}

/// The first half of [`dispatch`]: the order's mails still to send. Callers
/// that must not hold the store across the network (the desktop wallet)
/// call this, send, then [`record_dispatch`].
pub fn queued(store: &Store, order: &OrderId) -> Result<Vec<(OutboxMail, Outgoing)>, WalletError> {
    Ok(store
        .unsent(Some(order))?
        .into_iter()
        .filter_map(|m| {
            let outgoing = Outgoing {
                kind: m.kind.parse().ok()?,
                order: order.clone(),
                message_id: m.message_id.clone(),
                from: m.sender.parse().ok()?,
                to: m.recipient.parse().ok()?,
                bytes: m.bytes.clone(),
            };
            Some((m, outgoing))
        })
        .collect())
}

/// The second half of [`dispatch`]: records each mail's outcome and moves
/// the payment on. `results` are in the order of `queued`.
pub fn record_dispatch(
    store: &Store,
    order: &OrderId,
    queued: &[(OutboxMail, Outgoing)],
    results: &[Dispatch],
) -> Result<Vec<Sent>, WalletError> {
    // Every outcome of the dispatch and the state it leads to are one
    // transaction: one disk sync, and no half-recorded dispatch.
    store.atomically(|store| {
        let (terms, mut state) = store.load(order)?;
        let ctx = Context { terms: &terms, pre_approved: false };
        let now = now();
        let mut sent = Vec::new();
        // Acceptances first: a failure moves the payment to Failed, where the
        // others' acceptance no longer applies.
        let mut ordered: Vec<_> = queued.iter().map(|(m, _)| m).zip(results).collect();
        ordered.sort_by_key(|(_, d)| d.result.is_err());
        for (mail, dispatch) in ordered {
            let role = outbound_from_name(&mail.kind);
            let event = match &dispatch.result {
                Ok(()) => {
                    store.mark_sent(&mail.message_id, now)?;
                    role.map(Event::Accepted)
                }
                Err(e) => {
                    store.mark_failed(&mail.message_id, &e.to_string())?;
                    role.map(|role| Event::SendFailed { mail: role, reason: e.to_string() })
                }
            };
            if let Some(Ok((next, _))) = event.map(|event| payment::step(&state, &ctx, &event)) {
                state = next;
            }
            sent.push(Sent {
                kind: mail.kind.clone(),
                recipient: mail.recipient.clone(),
                message_id: mail.message_id.clone(),
                result: dispatch.result.clone(),
            });
        }
        store.save_state(order, &state, now)?;
        Ok(sent)
    })
}

/// How [`dispatch_until_sent`] spaces its attempts.
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
}

/// [`dispatch`], again and again while the only failures are temporary (a
/// server down, a 4xx reply), waiting longer each time. Stops at the first
/// permanent failure (a refused login or recipient, an untrusted
/// certificate), when everything has left, or after `backoff.attempts`.
/// Returns the last attempt's outcomes.
pub async fn dispatch_until_sent(
    store: &Store,
    smtp: &Smtp,
    order: &OrderId,
    backoff: Backoff,
    mut report: impl FnMut(Progress),
) -> Result<Vec<Sent>, WalletError> {
    let mut wait = backoff.first;
    let mut attempt = 1;
    loop {
        let sent = dispatch(store, smtp, order).await?;
        report(Progress::Attempted { attempt, sent: sent.clone() });
        let errors: Vec<&SendError> = sent.iter().filter_map(|s| s.result.as_ref().err()).collect();
        let Some(first) = errors.first() else { return Ok(sent) };
        if attempt >= backoff.attempts || !errors.iter().all(|e| e.is_temporary()) {
            return Ok(sent);
        }
        let retry_in = jitter(wait);
        report(Progress::Waiting { retry_in, reason: first.to_string() });
        tokio::time::sleep(retry_in).await;
        act(store, order, &Event::Retry, None, false)?;
        wait = (wait * 2).min(backoff.max);
        attempt += 1;
    }
}

/// `base` ± 20 %, so that many wallets do not retry in step.
fn jitter(base: Duration) -> Duration {
    let spread = u64::try_from(base.as_millis() / 5).unwrap_or(u64::MAX).max(1);
    base - base / 5 + Duration::from_millis(rand::random_range(0..spread * 2))
}

/// Applies a user action or the clock to a payment, queueing what it sends.
pub fn act(
    store: &Store,
    order: &OrderId,
    event: &Event,
    answering: Option<&Incoming>,
    pre_approved: bool,
) -> Result<(State, Vec<Effect>), WalletError> {
    store.atomically(|store| {
        let (terms, state) = store.load(order)?;
        let ctx = Context { terms: &terms, pre_approved };
        let (next, effects) = payment::step(&state, &ctx, event)?;
        queue_effects(store, &terms, &next, &effects, answering)?;
        store.save_state(order, &next, now())?;
        Ok((next, effects))
    })
}

fn queue_effects(
    store: &Store,
    terms: &OrderTerms,
    next: &State,
    effects: &[Effect],
    answering: Option<&Incoming>,
) -> Result<(), WalletError> {
    let thread = answering.map(Incoming::thread).unwrap_or_default();
    let mut rng = rand::rng();
    for effect in effects {
        let draft = match (effect, next) {
            (Effect::Send(Outbound::Approve), State::Approved { code, .. }) => {
                let approve = Approve {
                    order: terms.order.clone(),
                    password: terms.password.clone(),
                    code: code.clone(),
                };
                compose::approve(&approve, &terms.orderer, &terms.bank, &thread)
            }
            (Effect::Send(Outbound::Decline), _) => compose::decline(
                &Decline { order: terms.order.clone(), detail: None },
                &terms.orderer,
                &terms.bank,
                &thread,
            ),
            _ => continue,
        };
        // A retry after a failed or bounced answer sends that very mail
        // again (it is still in the outbox): never a second one.
        if store.unsent(Some(&terms.order))?.iter().any(|m| m.kind == draft.kind.as_str()) {
            continue;
        }
        store.queue_mail(&draft.build(now(), &mut rng), now())?;
    }
    Ok(())
}

/// Takes one received mail: deduplicates it by Message-ID, records it, and
/// moves its payment on.
pub fn receive(
    store: &Store,
    mail: &Incoming,
    raw: &[u8],
    pre_approved: bool,
) -> Result<Receipt, WalletError> {
    let order = mail.body.order().clone();
    let event = match &mail.body {
        Body::Confirm(c) => Event::ConfirmReceived { from: mail.from.clone(), confirm: c.clone() },
        Body::Settled(s) => Event::SettledReceived { from: mail.from.clone(), settled: s.clone() },
        Body::Rejected(r) => Event::RejectedReceived { from: mail.from.clone(), rejected: r.clone() },
        other => {
            record(store, mail, raw, "not for the orderer")?;
            return Ok(Receipt::NotForOrderer(other.kind().to_string()));
        }
    };
    // A failed DKIM, SPF or DMARC verdict, or a mailing list, and the mail
    // moves nothing: an OK must never answer a sender that may be forged.
    if mail.from_mailing_list_or_failed_auth() {
        let reason = if mail.mailing_list {
            "suspicious: it came through a mailing list, not from the bank".to_string()
        } else {
            format!("suspicious: the sender failed authentication ({})", mail.auth_failures.join(", "))
        };
        if !record(store, mail, raw, &reason)? {
            return Ok(Receipt::Duplicate);
        }
        return Ok(Receipt::Refused { order: order.to_string(), reason });
    }
    if store.payment(&order)?.is_none() {
        record(store, mail, raw, "unknown order")?;
        return Ok(Receipt::UnknownOrder(order.to_string()));
    }
    // The mail's record, the new state and any answer it queues are one
    // transaction: a crash leaves the mail unrecorded, so it is taken again.
    store.atomically(|store| {
        let (terms, state) = store.load(&order)?;
        let ctx = Context { terms: &terms, pre_approved };
        match payment::step(&state, &ctx, &event) {
            Ok((next, effects)) => {
                if !record(store, mail, raw, &outcome(&next, &effects))? {
                    return Ok(Receipt::Duplicate);
                }
                queue_effects(store, &terms, &next, &effects, Some(mail))?;
                store.save_state(&order, &next, now())?;
                Ok(Receipt::Stepped {
                    order: order.to_string(),
                    from: state.name(),
                    to: next.name(),
                    effects,
                })
            }
            Err(illegal) => {
                if !record(store, mail, raw, &illegal.to_string())? {
                    return Ok(Receipt::Duplicate);
                }
                Ok(Receipt::Refused { order: order.to_string(), reason: illegal.to_string() })
            }
        }
    })
}

/// What receiving a mail did, as the payment's timeline shows it: the
/// state it left the payment in, and why when it changed nothing.
fn outcome(next: &State, effects: &[Effect]) -> String {
    let refused = effects.iter().find_map(|e| match e {
        Effect::Notify(payment::Notice::RefusedAlone { reason, detail }) => Some((reason, detail)),
        _ => None,
    });
    match refused {
        Some((reason, detail)) => format!(
            "{reason}: the bank refused one mail of this order and left the order as it was ({}); the payment stays {}",
            reason.explain(detail),
            next.name()
        ),
        None => next.name().to_string(),
    }
}

/// Takes one bounce (a delivery status notification): a mail of this
/// wallet's outbox that came back undelivered is put back among the mails
/// to send, with the reason as its error, and its payment fails so that
/// Retry sends that very mail again. A bounce of any other mail, or a mere
/// delay notice, is recorded and reported.
pub fn bounced(store: &Store, bounce: &Bounce, raw: &[u8]) -> Result<Receipt, WalletError> {
    let id = bounce.report_message_id.clone().unwrap_or_else(|| {
        let digest = sha2::Sha256::digest(raw);
        format!("bounce-{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
    });
    let original = &bounce.original_message_id;
    let mail = store.outbox_mail(original)?;
    let role = mail.as_ref().and_then(|m| outbound_from_name(&m.kind));
    let (Some(mail), Some(role), true) = (mail, role, bounce.permanent) else {
        let reason = format!(
            "a mail ({original}) to {} was not delivered: {}: {}",
            bounce.recipient,
            bounce.summary(),
            bounce.diagnostic
        );
        let reason = if bounce.permanent {
            format!("{reason}; this wallet has no record of sending it")
        } else {
            format!("{reason}; the mail server is still trying")
        };
        if !store.record_received(&id, None, Some("bounce"), raw, &reason, now())? {
            return Ok(Receipt::Duplicate);
        }
        return Ok(Receipt::Bounced { message_id: original.clone(), reason });
    };
    let order: OrderId = mail
        .order
        .parse()
        .map_err(|_| StoreError::Corrupt(mail.order.clone(), "the outbox names no valid order".into()))?;
    let reason = bounce_reason(&mail, role, bounce);
    store.atomically(|store| {
        let (terms, state) = store.load(&order)?;
        let ctx = Context { terms: &terms, pre_approved: false };
        let event = Event::Bounced { mail: role, reason: reason.clone() };
        match payment::step(&state, &ctx, &event) {
            Ok((next, effects)) => {
                if !store.record_received(&id, Some(order.as_str()), Some("bounce"), raw, &reason, now())? {
                    return Ok(Receipt::Duplicate);
                }
                store.mark_bounced(original, &reason)?;
                store.save_state(&order, &next, now())?;
                Ok(Receipt::Stepped {
                    order: order.to_string(),
                    from: state.name(),
                    to: next.name(),
                    effects,
                })
            }
            Err(illegal) => {
                let outcome = format!("{reason} ({illegal})");
                if !store.record_received(&id, Some(order.as_str()), Some("bounce"), raw, &outcome, now())? {
                    return Ok(Receipt::Duplicate);
                }
                Ok(Receipt::Refused { order: order.to_string(), reason: outcome })
            }
        }
    })
}

/// What the user reads about a bounce, and what to do.
fn bounce_reason(mail: &OutboxMail, role: Outbound, bounce: &Bounce) -> String {
    let whose = if role == Outbound::Order { "the merchant's" } else { "the bank's" };
    let what = if bounce.mailbox_full() {
        format!("{whose} mailbox is full ({})", bounce.status)
    } else {
        format!("the {} to {} came back: {}", mail.kind, mail.recipient, bounce.summary())
    };
    let advice = if bounce.mailbox_full() {
        "Retry when they have made room"
    } else if bounce.status.starts_with("5.1.") {
        "check the address with them, then Retry"
    } else {
        "Retry later"
    };
    format!("{what}: {}; {advice}", bounce.diagnostic)
}

fn record(store: &Store, mail: &Incoming, raw: &[u8], outcome: &str) -> Result<bool, WalletError> {
    let id = mail.message_id.clone().unwrap_or_else(|| format!("no-id-{}", mail.body.order().as_str()));
    Ok(store.record_received(
        &id,
        Some(mail.body.order().as_str()),
        Some(mail.body.kind().as_str()),
        raw,
        outcome,
        now(),
    )?)
}
