//! The payment state machine's [`State`] as stored: JSON in the payment
//! row, with the bank's confirmation kept as its block text.

use serde::{Deserialize, Serialize};

use crate::protocol::Timestamp;
use crate::protocol::block;
use crate::protocol::message::{Confirm, OrderTerms};
use crate::protocol::payment::{Outbound, State, compare};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
enum Stored {
    Draft,
    Sending {
        pending: Vec<String>,
        board_pending: bool,
    },
    Sent,
    AwaitingConfirmation {
        confirm_block: String,
    },
    Approved {
        code: String,
        sent: bool,
        /// Absent in rows written before it was kept: any confirmation
        /// with the same code then counts as the bank asking again.
        #[serde(default = "unknown_attempts")]
        attempts_left: u8,
    },
    Settled {
        reference: String,
        at: i64,
    },
    Rejected {
        reason: String,
        detail: String,
    },
    Declined {
        sent: bool,
    },
    Expired,
    Failed {
        reason: String,
        resume: Box<Stored>,
    },
}

fn unknown_attempts() -> u8 {
    u8::MAX
}

fn outbound_name(o: Outbound) -> &'static str {
    match o {
        Outbound::Order => "order",
        Outbound::PaymentRequest => "payment-request",
        Outbound::Wallet => "wallet",
        Outbound::Approve => "approve",
        Outbound::Decline => "decline",
    }
}

pub fn outbound_from_name(name: &str) -> Option<Outbound> {
    [Outbound::Order, Outbound::PaymentRequest, Outbound::Wallet, Outbound::Approve, Outbound::Decline]
        .into_iter()
        .find(|o| outbound_name(*o) == name)
}

fn to_stored(state: &State) -> Stored {
    match state {
        State::Draft => Stored::Draft,
        State::Sending { pending, board_pending } => Stored::Sending {
            pending: pending.iter().map(|o| outbound_name(*o).to_string()).collect(),
            board_pending: *board_pending,
        },
        State::Sent => Stored::Sent,
        State::AwaitingConfirmation { confirm, .. } => {
            Stored::AwaitingConfirmation { confirm_block: confirm.to_block().render() }
        }
        State::Approved { code, attempts_left, sent } => {
            Stored::Approved { code: code.to_string(), sent: *sent, attempts_left: *attempts_left }
        }
        State::Settled { reference, at } => Stored::Settled { reference: reference.clone(), at: at.unix() },
        State::Rejected { reason, detail } => {
            Stored::Rejected { reason: reason.code().to_string(), detail: detail.clone() }
        }
        State::Declined { sent } => Stored::Declined { sent: *sent },
        State::Expired => Stored::Expired,
        State::Failed { reason, resume } => {
            Stored::Failed { reason: reason.clone(), resume: Box::new(to_stored(resume)) }
        }
    }
}

fn from_stored(stored: Stored, terms: &OrderTerms) -> Result<State, String> {
    Ok(match stored {
        Stored::Draft => State::Draft,
        Stored::Sending { pending, board_pending } => State::Sending {
            pending: pending
                .iter()
                .map(|p| outbound_from_name(p).ok_or_else(|| format!("unknown mail {p:?}")))
                .collect::<Result<_, _>>()?,
            board_pending,
        },
        Stored::Sent => State::Sent,
        Stored::AwaitingConfirmation { confirm_block } => {
            let blocks = block::scan(&confirm_block).map_err(|e| e.to_string())?;
            let first = blocks.first().ok_or("no confirmation block")?;
            let confirm = Confirm::from_block(first).map_err(|e| e.to_string())?;
            let mismatches = compare(terms, &confirm);
            State::AwaitingConfirmation { confirm, mismatches }
        }
        Stored::Approved { code, sent, attempts_left } => State::Approved {
            code: code.parse().map_err(|e: crate::protocol::confirmation::CodeError| e.to_string())?,
            attempts_left,
            sent,
        },
        Stored::Settled { reference, at } => State::Settled { reference, at: Timestamp::from_unix(at) },
        Stored::Rejected { reason, detail } => State::Rejected { reason: reason.parse()?, detail },
        Stored::Declined { sent } => State::Declined { sent },
        Stored::Expired => State::Expired,
        Stored::Failed { reason, resume } => {
            State::Failed { reason, resume: Box::new(from_stored(*resume, terms)?) }
        }
    })
}

pub fn encode(state: &State) -> String {
    serde_json::to_string(&to_stored(state)).unwrap_or_default()
}

pub fn decode(json: &str, terms: &OrderTerms) -> Result<State, String> {
    let stored: Stored = serde_json::from_str(json).map_err(|e| e.to_string())?;
    from_stored(stored, terms)
}
