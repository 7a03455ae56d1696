//! The orderer's payment as a state machine, with no I/O.
//!
//! [`step`] takes the current [`State`], the order it is about and one
//! [`Event`] (a user action, a mail outcome, a parsed mail, the clock) and
//! returns the next state with the [`Effect`]s the caller must carry out.
//! Events that make no sense in a state are errors, never panics.
//!
//! ```text
//! Draft ─Pay→ Sending ─all accepted→ Sent ─Confirm→ AwaitingConfirmation ─Approve→ Approved ─Settled→ Settled
//!                │                     │                      └─Decline→ Declined
//!                └─mail failed→ Failed ─Retry→ (where it stopped)      Rejected / Expired from any open state
//! ```
//! A rejection with reason `duplicate` or `already-answered` is not among
//! them: the bank refused one mail to its sender alone and left the order
//! as it was, so the payment stays where it is and the user is told.
//! Fig. 1 and Fig. 4 pass through the confirmation; Figs. 2 and 3 go from
//! Sent straight to Settled.

use super::address::EmailAddress;
use super::confirmation::ConfirmationCode;
use super::matching::item_differences;
use super::message::{Confirm, OrderTerms, Rejected, Settled};
use super::reason::RejectReason;
use super::timestamp::Timestamp;

/// A mail the orderer's side sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outbound {
    Order,
    PaymentRequest,
    /// The claim-2 cheque (Figs. 2 and 4).
    Wallet,
    Approve,
    Decline,
}

/// How a payment stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Draft,
    /// Dispatching: the mails (and board post) not yet accepted.
    Sending {
        pending: Vec<Outbound>,
        board_pending: bool,
    },
    /// Everything left; waiting for the bank.
    Sent,
    /// The bank's confirmation arrived; the user decides. Any mismatch with
    /// what the wallet recorded blocks approval.
    AwaitingConfirmation {
        confirm: Confirm,
        mismatches: Vec<Mismatch>,
    },
    /// OK + A sent with this code; waiting for the bank to pay.
    /// `attempts_left` is that of the confirmation answered: the bank asks
    /// again after a wrong answer with fewer left.
    Approved {
        code: ConfirmationCode,
        attempts_left: u8,
        sent: bool,
    },
    Settled {
        reference: String,
        at: Timestamp,
    },
    Rejected {
        reason: RejectReason,
        detail: String,
    },
    Declined {
        sent: bool,
    },
    Expired,
    /// A mail could not be sent; `resume` is where a retry continues.
    Failed {
        reason: String,
        resume: Box<State>,
    },
}

impl State {
    /// Every name [`State::name`] gives, in the order of the flow.
    pub const NAMES: [&'static str; 10] = [
        "draft",
        "sending",
        "sent",
        "awaiting-confirmation",
        "approved",
        "settled",
        "rejected",
        "declined",
        "expired",
        "failed",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Sending { .. } => "sending",
            State::Sent => "sent",
            State::AwaitingConfirmation { .. } => "awaiting-confirmation",
            State::Approved { .. } => "approved",
            State::Settled { .. } => "settled",
            State::Rejected { .. } => "rejected",
            State::Declined { .. } => "declined",
            State::Expired => "expired",
            State::Failed { .. } => "failed",
        }
    }

    pub fn is_final(&self) -> bool {
        matches!(
            self,
            State::Settled { .. } | State::Rejected { .. } | State::Declined { sent: true } | State::Expired
        )
    }
}

/// A difference between the bank's confirmation and the wallet's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    Amount {
        recorded: String,
        confirmed: String,
    },
    Payee {
        recorded: String,
        confirmed: String,
    },
    Orderer {
        recorded: String,
        confirmed: String,
    },
    /// The confirmed items are not the ordered ones by the bank's own rule
    /// ([`item_differences`]): both lists, each line in its canonical text.
    Items {
        recorded: Vec<String>,
        confirmed: Vec<String>,
    },
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The user pressed Pay.
    Pay,
    /// The mail server accepted this mail.
    Accepted(Outbound),
    /// This mail could not be sent (the edge gave up retrying).
    SendFailed {
        mail: Outbound,
        reason: String,
    },
    BoardPosted,
    BoardFailed {
        reason: String,
    },
    /// A mail the server had accepted came back undelivered (a bounce:
    /// the recipient's mailbox is full, the address is gone).
    Bounced {
        mail: Outbound,
        reason: String,
    },
    /// The user asks to try again after a failure.
    Retry,
    /// A parsed confirmation, with its From address.
    ConfirmReceived {
        from: EmailAddress,
        confirm: Confirm,
    },
    SettledReceived {
        from: EmailAddress,
        settled: Settled,
    },
    RejectedReceived {
        from: EmailAddress,
        rejected: Rejected,
    },
    UserApprove,
    UserDecline,
    /// The clock, for expiry.
    Tick(Timestamp),
}

/// What the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Send(Outbound),
    PostBoard,
    Notify(Notice),
}

/// What the user should be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    ConfirmationArrived,
    /// A mail that claims to be about this order but must not be trusted.
    Suspicious(String),
    Settled,
    Rejected(RejectReason),
    /// The bank refused one mail of this order to its sender alone and
    /// left the order as it was (`duplicate`: a second, different mail for
    /// a step; `already-answered`: an OK or NO after the order was
    /// answered), with its detail.
    RefusedAlone {
        reason: RejectReason,
        detail: String,
    },
    Expired,
    Failed(String),
}

/// The payment's fixed facts that steps are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context<'a> {
    pub terms: &'a OrderTerms,
    /// Approve a confirmation at once when it matches the record exactly.
    pub pre_approved: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event} is not possible while the payment is {state}")]
pub struct Illegal {
    pub state: &'static str,
    pub event: String,
}

/// The result of one step.
pub type Step = (State, Vec<Effect>);

/// Advances a payment by one event.
pub fn step(state: &State, ctx: &Context<'_>, event: &Event) -> Result<Step, Illegal> {
    use Event as E;
    use State as S;
    let terms = ctx.terms;
    let illegal = || Illegal { state: state.name(), event: event_name(event).to_string() };
    let unchanged = |effects: Vec<Effect>| Ok((state.clone(), effects));
    let suspicious = |why: String| unchanged(vec![Effect::Notify(Notice::Suspicious(why))]);
    let failed = |reason: &String| {
        Ok((
            S::Failed { reason: reason.clone(), resume: Box::new(state.clone()) },
            vec![Effect::Notify(Notice::Failed(reason.clone()))],
        ))
    };
    if let (Some(from), false) = (sender(event), state.is_final())
        && *from != terms.bank
    {
        return suspicious(format!(
            "a bank notice for this order came from {from}, not from the bank {}",
            terms.bank
        ));
    }
    match (state, event) {
        (S::Draft, E::Pay) => {
            let mut pending = vec![Outbound::Order, Outbound::PaymentRequest];
            if terms.method.needs_cheque() {
                pending.push(Outbound::Wallet);
            }
            let board_pending = terms.method.needs_board();
            let mut effects: Vec<Effect> = pending.iter().copied().map(Effect::Send).collect();
            if board_pending {
                effects.push(Effect::PostBoard);
            }
            Ok((S::Sending { pending, board_pending }, effects))
        }
        (S::Sending { pending, board_pending }, E::Accepted(mail)) if pending.contains(mail) => {
            let pending: Vec<Outbound> = pending.iter().copied().filter(|m| m != mail).collect();
            Ok((sending_or_sent(pending, *board_pending), vec![]))
        }
        (S::Sending { pending, board_pending: true }, E::BoardPosted) => {
            Ok((sending_or_sent(pending.clone(), false), vec![]))
        }
        // Only a mail (or board post) still outstanding can fail: a late report
        // about another must not lead a retry to send a mail in flight again.
        (S::Sending { pending, .. }, E::SendFailed { mail, reason }) if pending.contains(mail) => {
            failed(reason)
        }
        (S::Sending { board_pending: true, .. }, E::BoardFailed { reason }) => failed(reason),
        (S::Failed { resume, .. }, E::Retry) => Ok(((**resume).clone(), resend(resume))),
        // Pay hands out every mail at once: those still in flight when one
        // failed are recorded in the resumed state, so that a retry sends only
        // what is missing; their own failure changes nothing more.
        // Once nothing is left to send (the failed mail went after all: sent
        // again by the wallet while another attempt was still being
        // recorded), the failure is over.
        (S::Failed { reason, resume }, E::Accepted(_) | E::BoardPosted) => match step(resume, ctx, event) {
            Ok((resumed, effects)) if nothing_to_send(&resumed) => Ok((resumed, effects)),
            Ok((resumed, effects)) => {
                Ok((S::Failed { reason: reason.clone(), resume: Box::new(resumed) }, effects))
            }
            Err(_) => Err(illegal()),
        },
        (S::Failed { resume, .. }, E::SendFailed { .. } | E::BoardFailed { .. })
            if step(resume, ctx, event).is_ok() =>
        {
            unchanged(vec![])
        }
        // A bounce puts the mail back among those to send: a retry sends
        // that very mail again, and only it.
        (
            S::Sending { .. } | S::Sent | S::Approved { sent: true, .. } | S::Declined { sent: true },
            E::Bounced { mail, reason },
        ) => match unsent_again(state, *mail) {
            Some(resume) => Ok((
                S::Failed { reason: reason.clone(), resume: Box::new(resume) },
                vec![Effect::Notify(Notice::Failed(reason.clone()))],
            )),
            None => Err(illegal()),
        },
        (S::Failed { resume, .. }, E::Bounced { mail, reason }) => match unsent_again(resume, *mail) {
            Some(resumed) => Ok((
                S::Failed { reason: reason.clone(), resume: Box::new(resumed) },
                vec![Effect::Notify(Notice::Failed(reason.clone()))],
            )),
            None => Err(illegal()),
        },
        // The very confirmation already answered (or waiting for the user),
        // replayed under a new Message-ID: nothing changes, nothing is sent.
        (S::Approved { code, attempts_left, .. }, E::ConfirmReceived { confirm, .. })
            if confirm.code == *code
                && confirm.attempts_left >= *attempts_left
                && terms.method.needs_confirmation() =>
        {
            suspicious(format!(
                "a confirmation already answered arrived again (order {}, code {}): it was not answered a second time",
                confirm.order, confirm.code
            ))
        }
        (S::AwaitingConfirmation { confirm: waiting, .. }, E::ConfirmReceived { confirm, .. })
            if confirm.code == waiting.code
                && confirm.attempts_left >= waiting.attempts_left
                && terms.method.needs_confirmation() =>
        {
            suspicious(format!(
                "the confirmation for order {} (code {}) arrived again: the one already shown stands",
                confirm.order, confirm.code
            ))
        }
        // In Sending too: the bank can answer before the wallet has heard
        // that its mails left (a mail client that sends for the wallet
        // reports late); the confirmation shows that they did.
        (
            S::Sending { .. } | S::Sent | S::Approved { .. } | S::AwaitingConfirmation { .. },
            E::ConfirmReceived { confirm, .. },
        ) if terms.method.needs_confirmation() => {
            if confirm.order != terms.order {
                return suspicious(format!(
                    "the confirmation names order {}, not {}",
                    confirm.order, terms.order
                ));
            }
            if !confirm.proof.as_ref().is_some_and(|p| p.verifies(&terms.password, &terms.order)) {
                return suspicious(
                    "the confirmation does not prove that its sender knows your password A: \
                     it did not come from your bank, whatever its From line says"
                        .to_string(),
                );
            }
            // In Approved, a confirmation with another code, or with fewer
            // attempts left, is the bank asking again after a wrong answer:
            // the user reviews it, never the wallet.
            let mismatches = compare(terms, confirm);
            if mismatches.is_empty() && ctx.pre_approved && matches!(state, S::Sent | S::Sending { .. }) {
                let code = confirm.code.clone();
                let attempts_left = confirm.attempts_left;
                return Ok((
                    S::Approved { code, attempts_left, sent: false },
                    vec![Effect::Send(Outbound::Approve)],
                ));
            }
            let notice = if mismatches.is_empty() {
                Notice::ConfirmationArrived
            } else {
                Notice::Suspicious(format!("the confirmation differs from the order: {mismatches:?}"))
            };
            Ok((
                S::AwaitingConfirmation { confirm: confirm.clone(), mismatches },
                vec![Effect::Notify(notice)],
            ))
        }
        (S::AwaitingConfirmation { confirm, mismatches }, E::UserApprove) if mismatches.is_empty() => Ok((
            S::Approved { code: confirm.code.clone(), attempts_left: confirm.attempts_left, sent: false },
            vec![Effect::Send(Outbound::Approve)],
        )),
        (S::AwaitingConfirmation { .. }, E::UserDecline) => {
            Ok((S::Declined { sent: false }, vec![Effect::Send(Outbound::Decline)]))
        }
        (S::Approved { code, attempts_left, sent: false }, E::Accepted(Outbound::Approve)) => {
            Ok((S::Approved { code: code.clone(), attempts_left: *attempts_left, sent: true }, vec![]))
        }
        (S::Declined { sent: false }, E::Accepted(Outbound::Decline)) => {
            Ok((S::Declined { sent: true }, vec![]))
        }
        (S::Approved { sent: false, .. }, E::SendFailed { mail: Outbound::Approve, reason })
        | (S::Declined { sent: false }, E::SendFailed { mail: Outbound::Decline, reason }) => failed(reason),
        (S::Sending { .. } | S::Sent | S::Approved { .. }, E::SettledReceived { settled, .. }) => {
            if matches!(state, S::Sending { .. } | S::Sent) && terms.method.needs_confirmation() {
                return suspicious("the bank reports payment before this order was approved".to_string());
            }
            if settled.order != terms.order
                || settled.amount != terms.amount
                || settled.merchant != terms.merchant
                || settled.orderer != terms.orderer
            {
                return suspicious(format!(
                    "the settlement notice differs from the order: {} to {}",
                    settled.amount, settled.merchant
                ));
            }
            Ok((
                S::Settled { reference: settled.reference.clone(), at: settled.settled },
                vec![Effect::Notify(Notice::Settled)],
            ))
        }
        (
            S::Sending { .. }
            | S::Sent
            | S::AwaitingConfirmation { .. }
            | S::Approved { .. }
            | S::Failed { .. },
            E::RejectedReceived { rejected, .. },
        ) => {
            if rejected.order != terms.order {
                return suspicious(format!(
                    "the rejection names order {}, not {}",
                    rejected.order, terms.order
                ));
            }
            // The bank answers a second, different mail for a step, or an
            // answer after the order was answered, to its sender only and
            // leaves the order as it was (PROTOCOL.md 6.4): the payment goes
            // on (its settlement may still be on its way), the notice is
            // kept for the user.
            if matches!(rejected.reason, RejectReason::Duplicate | RejectReason::AlreadyAnswered) {
                let (reason, detail) = (rejected.reason, rejected.detail.clone());
                return unchanged(vec![Effect::Notify(Notice::RefusedAlone { reason, detail })]);
            }
            Ok((
                S::Rejected { reason: rejected.reason, detail: rejected.detail.clone() },
                vec![Effect::Notify(Notice::Rejected(rejected.reason))],
            ))
        }
        // A bank may acknowledge the orderer's own decline (PROTOCOL.md
        // 5.7): the payment is declined already, nothing changes.
        (S::Declined { .. }, E::RejectedReceived { rejected, .. })
            if rejected.reason == RejectReason::Declined && rejected.order == terms.order =>
        {
            unchanged(vec![])
        }
        (_, E::Tick(now)) => {
            let open = matches!(
                state,
                S::Sending { .. } | S::Sent | S::AwaitingConfirmation { .. } | S::Failed { .. }
            );
            if open && *now >= terms.expires {
                Ok((S::Expired, vec![Effect::Notify(Notice::Expired)]))
            } else {
                unchanged(vec![])
            }
        }
        _ => Err(illegal()),
    }
}

fn sender(event: &Event) -> Option<&EmailAddress> {
    match event {
        Event::ConfirmReceived { from, .. }
        | Event::SettledReceived { from, .. }
        | Event::RejectedReceived { from, .. } => Some(from),
        _ => None,
    }
}

/// `state` with `mail` to be sent again, where that mail had been accepted.
fn unsent_again(state: &State, mail: Outbound) -> Option<State> {
    match (state, mail) {
        (
            State::Sending { pending, board_pending },
            Outbound::Order | Outbound::PaymentRequest | Outbound::Wallet,
        ) if !pending.contains(&mail) => {
            let mut pending = pending.clone();
            pending.push(mail);
            pending.sort_unstable();
            Some(State::Sending { pending, board_pending: *board_pending })
        }
        (State::Sent, Outbound::Order | Outbound::PaymentRequest | Outbound::Wallet) => {
            Some(State::Sending { pending: vec![mail], board_pending: false })
        }
        (State::Approved { code, attempts_left, sent: true }, Outbound::Approve) => {
            Some(State::Approved { code: code.clone(), attempts_left: *attempts_left, sent: false })
        }
        (State::Declined { sent: true }, Outbound::Decline) => Some(State::Declined { sent: false }),
        _ => None,
    }
}

/// Whether a state has no mail (or board post) of its own still to send.
fn nothing_to_send(state: &State) -> bool {
    !matches!(
        state,
        State::Sending { .. } | State::Approved { sent: false, .. } | State::Declined { sent: false }
    )
}

fn sending_or_sent(pending: Vec<Outbound>, board_pending: bool) -> State {
    if pending.is_empty() && !board_pending { State::Sent } else { State::Sending { pending, board_pending } }
}

/// What a retry must send again: only what had not been accepted.
fn resend(state: &State) -> Vec<Effect> {
    match state {
        State::Sending { pending, board_pending } => {
            let mut effects: Vec<Effect> = pending.iter().copied().map(Effect::Send).collect();
            if *board_pending {
                effects.push(Effect::PostBoard);
            }
            effects
        }
        State::Approved { sent: false, .. } => vec![Effect::Send(Outbound::Approve)],
        State::Declined { sent: false } => vec![Effect::Send(Outbound::Decline)],
        _ => vec![],
    }
}

/// The differences between a confirmation and the order as recorded:
/// amount, payee, orderer and items (the items by the bank's matching
/// rule, so that what the bank may confirm is exactly what the wallet may
/// approve).
pub fn compare(terms: &OrderTerms, confirm: &Confirm) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if confirm.amount != terms.amount {
        out.push(Mismatch::Amount {
            recorded: terms.amount.to_string(),
            confirmed: confirm.amount.to_string(),
        });
    }
    if confirm.merchant != terms.merchant {
        out.push(Mismatch::Payee {
            recorded: terms.merchant.to_string(),
            confirmed: confirm.merchant.to_string(),
        });
    }
    if confirm.orderer != terms.orderer {
        out.push(Mismatch::Orderer {
            recorded: terms.orderer.to_string(),
            confirmed: confirm.orderer.to_string(),
        });
    }
    if !item_differences(&terms.items, &confirm.items).is_empty() {
        let lines = |items: &[super::item::LineItem]| items.iter().map(ToString::to_string).collect();
        out.push(Mismatch::Items { recorded: lines(&terms.items), confirmed: lines(&confirm.items) });
    }
    out
}

pub fn event_name(event: &Event) -> &'static str {
    match event {
        Event::Pay => "pay",
        Event::Accepted(_) => "mail accepted",
        Event::SendFailed { .. } => "send failed",
        Event::BoardPosted => "board posted",
        Event::BoardFailed { .. } => "board post failed",
        Event::Bounced { .. } => "mail bounced",
        Event::Retry => "retry",
        Event::ConfirmReceived { .. } => "confirmation received",
        Event::SettledReceived { .. } => "settlement received",
        Event::RejectedReceived { .. } => "rejection received",
        Event::UserApprove => "approve",
        Event::UserDecline => "decline",
        Event::Tick(_) => "clock tick",
    }
}
