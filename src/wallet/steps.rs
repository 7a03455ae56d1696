//! Each step of a payment, recorded: the protocol core's state machine
//! driven over the wallet's store. Every step is: load the payment, run
//! [`payment::step`], write the new state together with any mail it wants
//! sent (outbox, with its Message-ID), in one transaction. A crash
//! anywhere leaves either the old state or the new state with its mails
//! queued; queued mails go out on the next dispatch ([`super::Wallet`]).

use sha2::Digest;

use crate::clock::now;
use crate::mail::imap::Received;
use crate::mail::smtp::{Dispatch, SendError};
use crate::protocol::bounce::Bounce;
use crate::protocol::cheque::{Cheque, WalletKey};
use crate::protocol::compose::{self, Draft, Outgoing};
use crate::protocol::message::{Approve, Body, Decline, WalletMail};
use crate::protocol::parse::Incoming;
use crate::protocol::payment::{self, Context, Effect, Event, Illegal, Outbound, State};
use crate::protocol::{EmailAddress, Kind, OrderId, OrderTerms, Timestamp};
use crate::store::{OutboxMail, Store, StoreError, state::outbound_from_name};

#[derive(Debug, Clone, thiserror::Error)]
pub enum WalletError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Illegal(#[from] Illegal),
    #[error("the wallet cheque cannot be made: {0}")]
    Cheque(String),
    #[error("the board record was not posted, so no mail was sent: {0}; Retry posts it again")]
    Board(String),
    #[error("an internal task stopped unexpectedly: {0}")]
    Join(String),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Secret(#[from] crate::secrets::SecretError),
}

/// What the claim-2 cheque is made with, when the payment sends one: the
/// bank's age recipient and the wallet's signing key.
pub struct ChequeKeys<'a> {
    pub bank: Option<&'a age::x25519::Recipient>,
    pub key: &'a WalletKey,
}

/// One mail's outcome in a dispatch.
#[derive(Debug, Clone)]
pub struct Sent {
    pub kind: Kind,
    pub recipient: EmailAddress,
    pub message_id: String,
    pub result: Result<(), SendError>,
}

/// What a received mail did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// Seen before (same Message-ID): ignored.
    Duplicate,
    /// About an order this wallet does not know.
    UnknownOrder(OrderId),
    /// Not something the orderer's side acts on (e.g. an order or a bill).
    NotForOrderer(Kind),
    /// Moved the payment on.
    Stepped { order: OrderId, from: Box<State>, to: Box<State>, effects: Vec<Effect> },
    /// Refused by the state machine in the payment's state.
    Refused { order: OrderId, reason: String },
    /// A bounce that changed no payment: of a mail this wallet did not
    /// send, or a notice that delivery is only delayed.
    Bounced { message_id: String, reason: String },
    /// It claims to be MailPay but is not valid: why.
    Invalid(String),
}

impl Receipt {
    /// The order the mail moved or was refused for, if any.
    pub fn order(&self) -> Option<&OrderId> {
        match self {
            Receipt::Stepped { order, .. } | Receipt::Refused { order, .. } => Some(order),
            Receipt::UnknownOrder(order) => Some(order),
            _ => None,
        }
    }

    /// Whether taking the mail queued an answer to send (an OK the user
    /// approved in advance).
    pub fn queued_answer(&self) -> bool {
        matches!(self, Receipt::Stepped { effects, .. }
            if effects.iter().any(|e| matches!(e, Effect::Send(Outbound::Approve | Outbound::Decline))))
    }
}

/// Takes one received mail into the wallet: the one way in, whatever
/// brought it (the IMAP watcher, the demo's mail loop), as the watcher
/// classified it ([`Received::of`]). A bounce puts its mail back to send;
/// a MailPay mail steps its payment, answered on its own when the user
/// approved the payment in advance; an invalid one is reported.
pub fn take(store: &Store, raw: &[u8], received: Received) -> Result<Receipt, WalletError> {
    match received {
        Received::MailPay(mail) => {
            let order = mail.body.order();
            let pre_approved = store.payment(order)?.is_some() && store.pre_approved(order)?;
            receive(store, &mail, raw, pre_approved)
        }
        Received::Bounce(bounce) => bounced(store, &bounce, raw),
        Received::Invalid(e) => Ok(Receipt::Invalid(e.to_string())),
    }
}

/// Records a new payment with its first mails (before anything is sent).
/// The cheque is sealed when the state machine sends one (claims 2 and 4),
/// with `cheque`; a payment that needs one without the bank's key is
/// refused before anything is recorded.
pub fn place(
    store: &mut Store,
    terms: &OrderTerms,
    cheque: Option<ChequeKeys<'_>>,
    now: Timestamp,
) -> Result<State, WalletError> {
    place_sealed(store, terms, |terms| sealed(terms, cheque.as_ref()), now)
}

/// [`place`] with the wallet mail made by `wallet_mail`, called only when
/// the state machine sends one (the attack tests seal altered cheques
/// with it).
pub fn place_sealed(
    store: &mut Store,
    terms: &OrderTerms,
    wallet_mail: impl FnOnce(&OrderTerms) -> Result<Draft, WalletError>,
    now: Timestamp,
) -> Result<State, WalletError> {
    let ctx = Context { terms, pre_approved: false };
    let (state, effects) = payment::step(&State::Draft, &ctx, &Event::Pay)?;
    let mut rng = rand::rng();
    let [order, request] = compose::order(terms);
    let mut mails: Vec<Outgoing> = Vec::new();
    let mut wallet_mail = Some(wallet_mail);
    for effect in &effects {
        let draft = match effect {
            Effect::Send(Outbound::Order) => order.clone(),
            Effect::Send(Outbound::PaymentRequest) => request.clone(),
            Effect::Send(Outbound::Wallet) => match wallet_mail.take() {
                Some(make) => make(terms)?,
                None => continue,
            },
            _ => continue,
        };
        mails.push(draft.build(now, &mut rng));
    }
    store.record_payment(terms, &state, &mails, now)?;
    crate::fault::halt("payment-recorded");
    Ok(state)
}

/// The wallet mail: the cheque for `terms`, signed and sealed to the bank.
fn sealed(terms: &OrderTerms, keys: Option<&ChequeKeys<'_>>) -> Result<Draft, WalletError> {
    let (Some(bank), Some(key)) = (keys.and_then(|k| k.bank), keys.map(|k| k.key)) else {
        return Err(WalletError::Cheque(format!(
            "method {} sends a cheque encrypted to the bank's age key, and none is known for {}",
            terms.method.as_str(),
            terms.bank
        )));
    };
    let cheque = Cheque::for_order(terms, terms.created);
    let sealed = cheque.seal(key, bank).map_err(|e| WalletError::Cheque(e.to_string()))?;
    let mail = WalletMail { order: terms.order.clone(), orderer: terms.orderer.clone(), cheque: sealed };
    Ok(compose::wallet(&mail, &terms.bank))
}

/// The order's mails still to send (the first half of a dispatch: the
/// store is not held across the network).
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

/// Records each mail's outcome and moves the payment on (the second half
/// of a dispatch). `results` are in the order of `queued`.
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
        let mut ordered: Vec<_> = queued.iter().zip(results).collect();
        ordered.sort_by_key(|(_, d)| d.result.is_err());
        for ((mail, outgoing), dispatch) in ordered {
            let role = outbound_from_name(&mail.kind);
            let event = match &dispatch.result {
                Ok(()) => {
                    store.mark_sent(&mail.message_id, dispatch.sent_as.as_deref(), now)?;
                    role.map(Event::Accepted)
                }
                Err(e) => {
                    store.mark_failed(&mail.message_id, &e.to_string(), e.is_temporary())?;
                    role.map(|role| Event::SendFailed { mail: role, reason: e.to_string() })
                }
            };
            if let Some(Ok((next, _))) = event.map(|event| payment::step(&state, &ctx, &event)) {
                state = next;
            }
            sent.push(Sent {
                kind: outgoing.kind,
                recipient: outgoing.to.clone(),
                message_id: mail.message_id.clone(),
                result: dispatch.result.clone(),
            });
        }
        store.save_state(order, &state, now)?;
        Ok(sent)
    })
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

/// The outcome recorded for a mail that is not for the orderer to take (an
/// order or a bill copied to the orderer).
pub const NOT_FOR_THE_ORDERER: &str = "not for the orderer";

/// The outcome recorded for a mail about an order this wallet has no
/// record of.
pub const UNKNOWN_ORDER: &str = "unknown order";

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
            record(store, mail, raw, NOT_FOR_THE_ORDERER)?;
            return Ok(Receipt::NotForOrderer(other.kind()));
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
        return Ok(Receipt::Refused { order: order.clone(), reason });
    }
    if store.payment(&order)?.is_none() {
        record(store, mail, raw, UNKNOWN_ORDER)?;
        return Ok(Receipt::UnknownOrder(order.clone()));
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
                    order: order.clone(),
                    from: Box::new(state),
                    to: Box::new(next),
                    effects,
                })
            }
            Err(illegal) => {
                if !record(store, mail, raw, &illegal.to_string())? {
                    return Ok(Receipt::Duplicate);
                }
                Ok(Receipt::Refused { order: order.clone(), reason: illegal.to_string() })
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
                store.mark_bounced(&mail.message_id, &reason)?;
                store.save_state(&order, &next, now())?;
                Ok(Receipt::Stepped {
                    order: order.clone(),
                    from: Box::new(state),
                    to: Box::new(next),
                    effects,
                })
            }
            Err(illegal) => {
                let outcome = format!("{reason} ({illegal})");
                if !store.record_received(&id, Some(order.as_str()), Some("bounce"), raw, &outcome, now())? {
                    return Ok(Receipt::Duplicate);
                }
                Ok(Receipt::Refused { order: order.clone(), reason: outcome })
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
