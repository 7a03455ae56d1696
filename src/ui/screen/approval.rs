//! The bank's confirmation beside the order as the wallet recorded it.
//! Any difference is shown in red and approval is impossible: the only
//! way on is Decline. Approve sends OK + A; Decline sends a decline.

use iced::widget::{Column, button, column, row, scrollable, text};
use iced::{Element, Fill, Theme};

use crate::i18n::Tr;
use crate::protocol::item::LineItem;
use crate::protocol::matching::item_differences;
use crate::protocol::message::Confirm;
use crate::protocol::payment::{Mismatch, compare};
use crate::protocol::{OrderId, OrderTerms};
use crate::tr;
use crate::ui::backend::waits_in_outbox;
use crate::ui::widget;
use crate::wallet::Sent;

#[derive(Debug)]
pub struct State {
    terms: OrderTerms,
    confirm: Confirm,
    mismatches: Vec<Mismatch>,
    /// The item lines (counted from 1) where the confirmation departs from
    /// the order: shown in red on both sides.
    item_lines: Vec<usize>,
    busy: bool,
    outcome: Option<Outcome>,
}

/// What became of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Sent,
    /// It waits in the outbox for Thunderbird, and leaves when it runs.
    Waiting,
    Failed(String),
}

#[derive(Debug, Clone)]
pub enum Message {
    Approve,
    Decline,
    Answered(Result<Vec<Sent>, String>),
}

pub enum Action {
    None,
    Answer { order: OrderId, approve: bool },
}

/// Which line of the comparison a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    Amount,
    Payee,
    Orderer,
}

impl State {
    /// The mismatches are computed here again from the two records, not
    /// taken on trust from whoever built the state.
    pub fn new(terms: OrderTerms, confirm: Confirm) -> State {
        let mismatches = compare(&terms, &confirm);
        let item_lines = item_differences(&terms.items, &confirm.items).iter().map(|d| d.line).collect();
        State { terms, confirm, mismatches, item_lines, busy: false, outcome: None }
    }

    pub fn order(&self) -> &OrderId {
        &self.terms.order
    }

    pub fn can_approve(&self) -> bool {
        self.mismatches.is_empty() && !self.busy && self.outcome.is_none()
    }

    fn differs(&self, line: Line) -> bool {
        self.mismatches.iter().any(|m| {
            matches!(
                (m, line),
                (Mismatch::Amount { .. }, Line::Amount)
                    | (Mismatch::Payee { .. }, Line::Payee)
                    | (Mismatch::Orderer { .. }, Line::Orderer)
            )
        })
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Approve if self.can_approve() => {
                self.busy = true;
                Action::Answer { order: self.terms.order.clone(), approve: true }
            }
            Message::Decline if !self.busy && self.outcome.is_none() => {
                self.busy = true;
                Action::Answer { order: self.terms.order.clone(), approve: false }
            }
            Message::Approve | Message::Decline => Action::None,
            Message::Answered(result) => {
                self.busy = false;
                self.outcome = Some(match result {
                    Ok(sent) => match sent.iter().find_map(|s| s.result.as_ref().err()) {
                        Some(e) if waits_in_outbox(e) => Outcome::Waiting,
                        Some(e) => Outcome::Failed(e.to_string()),
                        None => Outcome::Sent,
                    },
                    Err(e) => Outcome::Failed(e),
                });
                Action::None
            }
        }
    }

    pub fn view<'a>(&'a self, tr: &Tr) -> Element<'a, Message> {
        let cell = |value: String, red: bool| -> Element<'a, Message> {
            if red { widget::error_text(value) } else { text(value).into() }
        };
        let line = |label: String, recorded: String, confirmed: String, red: bool| {
            row![
                text(label).width(140),
                column![cell(recorded, red)].width(Fill),
                column![cell(confirmed, red)].width(Fill)
            ]
            .spacing(8)
        };
        // One text per item line, red where that line differs; a list with
        // no line says so, red when the other side has lines it lacks.
        let items = |items: &'a [LineItem], other_has_lines: bool| -> Element<'a, Message> {
            if items.is_empty() {
                let red = other_has_lines && !self.item_lines.is_empty();
                return cell(tr!(tr, "approval-no-items"), red);
            }
            Column::with_children(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| cell(tr.item(item), self.item_lines.contains(&(i + 1)))),
            )
            .into()
        };
        let table = column![
            row![
                text("").width(140),
                text(tr!(tr, "approval-recorded")).size(16).width(Fill),
                text(tr!(tr, "approval-confirmed")).size(16).width(Fill)
            ]
            .spacing(8),
            line(
                tr!(tr, "approval-order"),
                self.terms.order.to_string(),
                self.confirm.order.to_string(),
                self.terms.order != self.confirm.order
            ),
            line(
                tr!(tr, "approval-amount"),
                tr.money(&self.terms.amount),
                tr.money(&self.confirm.amount),
                self.differs(Line::Amount)
            ),
            line(
                tr!(tr, "approval-merchant"),
                self.terms.merchant.to_string(),
                self.confirm.merchant.to_string(),
                self.differs(Line::Payee)
            ),
            line(
                tr!(tr, "approval-orderer"),
                self.terms.orderer.to_string(),
                self.confirm.orderer.to_string(),
                self.differs(Line::Orderer)
            ),
            row![
                text(tr!(tr, "approval-items")).width(140),
                column![items(&self.terms.items, !self.confirm.items.is_empty())].width(Fill),
                column![items(&self.confirm.items, !self.terms.items.is_empty())].width(Fill)
            ]
            .spacing(8),
        ]
        .spacing(8);
        let mut content =
            column![widget::heading(tr!(tr, "approval-title")), widget::card(table)].spacing(12);
        if !self.mismatches.is_empty() {
            content = content.push(widget::error_text(tr!(tr, "approval-blocked")));
        } else if self.terms.items.is_empty() && !self.confirm.items.is_empty() {
            // Nothing to compare them with: the user is the check.
            content = content.push(text(tr!(tr, "approval-items-unordered")));
        }
        content = content.push(
            text(tr!(
                tr,
                "approval-expires",
                expires = tr.deadline(self.confirm.expires, tr.now()),
                attempts = self.confirm.attempts_left
            ))
            .size(13),
        );
        content = content.push(
            row![
                button(text(tr!(tr, "approval-approve")))
                    .padding([8, 20])
                    .on_press_maybe(self.can_approve().then_some(Message::Approve)),
                button(text(tr!(tr, "approval-decline")))
                    .padding([8, 20])
                    .style(|theme: &Theme, status| button::danger(theme, status))
                    .on_press_maybe((!self.busy && self.outcome.is_none()).then_some(Message::Decline)),
            ]
            .spacing(12),
        );
        if self.busy {
            content = content.push(text(tr!(tr, "working")));
        }
        match &self.outcome {
            Some(Outcome::Sent) => content = content.push(widget::ok_text(tr!(tr, "approval-answered"))),
            Some(Outcome::Waiting) => content = content.push(text(tr!(tr, "approval-waiting"))),
            Some(Outcome::Failed(e)) => content = content.push(widget::error_text(e.clone())),
            None => {}
        }
        scrollable(content.padding(16).width(Fill)).into()
    }
}
