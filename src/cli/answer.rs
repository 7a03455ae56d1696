//! `mailpay approve` and `mailpay decline`: the orderer's answer to the
//! bank's confirmation.

use super::CliError;
use crate::protocol::OrderId;
use crate::protocol::payment::{Event, State};
use crate::wallet;

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
    let (account, password, store) = super::send::open(account)?;
    let (_, state) = store.load(&order).map_err(fail)?;
    let State::AwaitingConfirmation { confirm, mismatches } = &state else {
        return Err(CliError::Usage(format!(
            "order {order} is {}: only a payment whose confirmation arrived can be answered \
             (`mailpay watch --once` fetches the bank's mail)",
            state.name()
        )));
    };
    if event == Event::UserApprove && !mismatches.is_empty() {
        return Err(CliError::Failed(format!(
            "the bank's confirmation differs from your order ({mismatches:?}): it cannot be approved; \
             `mailpay decline {order}` refuses it"
        )));
    }
    println!("{} to {} for order {order} (code {})", confirm.amount, confirm.merchant, confirm.code);
    wallet::act(&store, &order, &event, None, false).map_err(fail)?;
    crate::fault::halt("approve-queued");
    super::send::send(&account, &password, &store, &order)
}
