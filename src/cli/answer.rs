//! `mailpay approve` and `mailpay decline`: the orderer's answer to the
//! bank's confirmation. Both first show what the bank asks to be paid, the
//! items beside the order's, and mark every line that differs.

use super::CliError;
use crate::paths::Paths;
use crate::protocol::matching::item_differences;
use crate::protocol::message::Confirm;
use crate::protocol::payment::{Event, Mismatch, State};
use crate::protocol::{OrderId, OrderTerms};
use crate::store::Store;

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

pub fn approve(order: &str, account: Option<&str>) -> Result<(), CliError> {
    answer(order, account, Event::UserApprove)
}

pub fn decline(order: &str, account: Option<&str>) -> Result<(), CliError> {
    answer(order, account, Event::UserDecline)
}

fn answer(order: &str, account: Option<&str>, event: Event) -> Result<(), CliError> {
    let order: OrderId = order.parse().map_err(fail)?;
    // What is answered is shown before anything else is needed (the mail
    // account, its password), and a confirmation that differs from the
    // order is refused before anything is queued.
    {
        let paths = Paths::from_env().map_err(fail)?;
        let store = Store::open(&paths.database()).map_err(fail)?;
        let (terms, state) = store.load(&order).map_err(fail)?;
        let State::AwaitingConfirmation { confirm, mismatches } = &state else {
            return Err(CliError::Usage(format!(
                "order {order} is {}: only a payment whose confirmation arrived can be answered \
                 (`mailpay watch --once` fetches the bank's mail)",
                state.name()
            )));
        };
        print!("{}", describe(&terms, confirm, mismatches));
        if event == Event::UserApprove && !mismatches.is_empty() {
            let what: Vec<&str> = mismatches.iter().map(mismatch_name).collect();
            return Err(CliError::Failed(format!(
                "the bank's confirmation differs from your order ({}, marked ! above): it cannot be \
                 approved; `mailpay decline {order}` refuses it",
                what.join(", ")
            )));
        }
    }
    let (carrier, wallet) = super::send::open(account)?;
    let runtime = super::runtime()?;
    let approve = event == Event::UserApprove;
    runtime.block_on(wallet.queue_answer(&order, approve)).map_err(fail)?;
    super::send::send(&runtime, &carrier, &wallet, &order)
}

fn mismatch_name(mismatch: &Mismatch) -> &'static str {
    match mismatch {
        Mismatch::Amount { .. } => "the amount",
        Mismatch::Payee { .. } => "the payee",
        Mismatch::Orderer { .. } => "the payer",
        Mismatch::Items { .. } => "the items",
    }
}

/// The confirmation as the command line shows it: amount, payee and code,
/// the differences the wallet found (`mismatches`, from
/// [`crate::protocol::payment::compare`]), then the items the bank
/// confirms, each line that differs from the order marked `!` with the
/// order's line beside it.
fn describe(terms: &OrderTerms, confirm: &Confirm, mismatches: &[Mismatch]) -> String {
    let mut out = format!(
        "{} to {} for order {} (code {})\n",
        confirm.amount, confirm.merchant, terms.order, confirm.code
    );
    let mark = |differs: bool| if differs { "!" } else { " " };
    for mismatch in mismatches {
        match mismatch {
            Mismatch::Amount { recorded, .. } => out.push_str(&format!("! amount: you ordered {recorded}\n")),
            Mismatch::Payee { recorded, .. } => {
                out.push_str(&format!("! payee: you ordered from {recorded}\n"))
            }
            Mismatch::Orderer { recorded, confirmed } => {
                out.push_str(&format!("! payer: the bank names {confirmed}, not you ({recorded})\n"))
            }
            // Shown line by line below.
            Mismatch::Items { .. } => {}
        }
    }
    let differences = item_differences(&terms.items, &confirm.items);
    if terms.items.is_empty() {
        out.push_str("items (your order listed none: these are the merchant's):\n");
    } else {
        out.push_str("items (! marks a line that is not as you ordered it):\n");
    }
    if confirm.items.is_empty() && terms.items.is_empty() {
        out.push_str("    (none)\n");
    }
    let lines = confirm.items.len().max(terms.items.len());
    for line in 1..=lines {
        let difference = differences.iter().find(|d| d.line == line);
        match (confirm.items.get(line - 1), difference) {
            (Some(item), None) => out.push_str(&format!("{}   {item}\n", mark(false))),
            (Some(item), Some(d)) => {
                out.push_str(&format!("{}   {item}\n", mark(true)));
                match &d.ordered {
                    Some(ordered) => out.push_str(&format!("{}     you ordered: {ordered}\n", mark(true))),
                    None => out.push_str(&format!("{}     you did not order it\n", mark(true))),
                }
            }
            (None, Some(d)) => {
                if let Some(ordered) = &d.ordered {
                    out.push_str(&format!("{}   (missing) you ordered: {ordered}\n", mark(true)));
                }
            }
            (None, None) => {}
        }
    }
    out
}
