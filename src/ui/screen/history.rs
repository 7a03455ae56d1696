//! Every payment, newest first, with search and a state filter run in
//! SQL (see `store::history`); a detail with the timeline of every mail
//! sent and received, each raw mail viewable; CSV export; the spending
//! overview (`overview`) in a tab of its own.

use iced::widget::{button, column, container, row, scrollable, text, text_input};
use iced::{Element, Fill};

use crate::i18n::Tr;
use crate::protocol::payment::State as PaymentState;
use crate::protocol::reason::RejectReason;
use crate::protocol::{OrderId, Timestamp};
use crate::store::history::{Direction, Entry, Page, Query};
use crate::store::overview::OverviewQuery;
use crate::tr;
pub use crate::ui::screen::overview;
use crate::ui::{save_dialog, widget};
use crate::wallet::steps::{NOT_FOR_THE_ORDERER, UNKNOWN_ORDER};

/// Rows shown at once; the count says how many match in all.
pub const PAGE: usize = 200;
pub const STATE_FILTER: &str = "history-state";

/// A state filter choice, shown translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChoice {
    pub code: Option<&'static str>,
    pub label: String,
}

impl std::fmt::Display for StateChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

#[derive(Debug, Default)]
pub struct State {
    text: String,
    state: Option<&'static str>,
    /// What is typed into the state filter while choosing.
    state_typed: Option<widget::Typing>,
    page: Page,
    /// How long the last query took, in milliseconds.
    took_ms: u128,
    detail: Option<Detail>,
    note: Option<Result<String, String>>,
    /// Why the last export could not ask where to save, if it could not.
    no_dialog: Option<String>,
    /// Whether the spending overview is shown instead of the payments.
    spending: bool,
    overview: overview::State,
}

#[derive(Debug)]
struct Detail {
    order: String,
    entries: Vec<Entry>,
    raw: Option<usize>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Search(String),
    FilterTyped(String),
    /// An arrow key in the field with this id.
    Arrow(iced::widget::Id, widget::Move),
    Filter(StateChoice),
    Loaded(Result<(Page, u128), String>),
    Open(String),
    Timeline(String, Result<Vec<Entry>, String>),
    ShowRaw(usize),
    Close,
    Export,
    /// Where the user chose to save the export.
    Where(save_dialog::Answer),
    Exported(Result<String, String>),
    Answer(String),
    /// Send the mails still in the outbox (after a failure or a quit).
    Resend(String),
    /// Show the spending overview (or the payments again).
    Spending(bool),
    Overview(overview::Message),
}

pub enum Action {
    None,
    Load(Query),
    Timeline(OrderId),
    /// Ask the user where to save the export (of the spending overview,
    /// or of the payments).
    AskWhere {
        spending: bool,
    },
    /// Export to this file, or to the downloads folder.
    Export(Query, Option<std::path::PathBuf>),
    Approve(OrderId),
    Resend(OrderId),
    /// Load the spending overview.
    Overview(overview::Request),
    /// Export the overview shown to this file, or to the downloads folder.
    ExportOverview(OverviewQuery, Option<std::path::PathBuf>),
}

impl State {
    pub fn query(&self) -> Query {
        Query { text: self.text.clone(), state: self.state.map(str::to_string), limit: PAGE }
    }

    pub fn page(&self) -> &Page {
        &self.page
    }

    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Search(t) => {
                self.text = t;
                return Action::Load(self.query());
            }
            Message::FilterTyped(t) => self.state_typed = Some(widget::Typing::new(t)),
            Message::Arrow(id, by) => {
                if id == iced::widget::Id::new(STATE_FILTER) {
                    widget::Typing::step(&mut self.state_typed, by);
                }
            }
            Message::Filter(choice) => {
                self.state_typed = None;
                self.state = choice.code;
                return Action::Load(self.query());
            }
            Message::Loaded(Ok((page, ms))) => {
                self.page = page;
                self.took_ms = ms;
            }
            Message::Loaded(Err(e)) => self.note = Some(Err(e)),
            Message::Open(order) => {
                if let Ok(id) = order.parse::<OrderId>() {
                    self.detail = Some(Detail { order, entries: Vec::new(), raw: None });
                    return Action::Timeline(id);
                }
            }
            Message::Timeline(order, result) => match (&mut self.detail, result) {
                (Some(d), Ok(entries)) if d.order == order => d.entries = entries,
                (_, Err(e)) => self.note = Some(Err(e)),
                _ => {}
            },
            Message::ShowRaw(i) => {
                if let Some(d) = &mut self.detail {
                    d.raw = if d.raw == Some(i) { None } else { Some(i) };
                }
            }
            Message::Close => self.detail = None,
            Message::Export => return Action::AskWhere { spending: self.spending },
            Message::Where(answer) => {
                self.no_dialog = None;
                if let (true, Some(shown)) = (self.spending, self.overview.shown()) {
                    return match answer {
                        save_dialog::Answer::Chosen(path) => Action::ExportOverview(shown, Some(path)),
                        save_dialog::Answer::Cancelled => Action::None,
                        save_dialog::Answer::Unavailable(why) => {
                            self.no_dialog = Some(why);
                            Action::ExportOverview(shown, None)
                        }
                    };
                }
                match answer {
                    save_dialog::Answer::Chosen(path) => return Action::Export(self.query(), Some(path)),
                    save_dialog::Answer::Cancelled => {}
                    save_dialog::Answer::Unavailable(why) => {
                        self.no_dialog = Some(why);
                        return Action::Export(self.query(), None);
                    }
                }
            }
            Message::Exported(result) => self.note = Some(result),
            Message::Answer(order) => {
                if let Ok(id) = order.parse() {
                    return Action::Approve(id);
                }
            }
            Message::Resend(order) => {
                if let Ok(id) = order.parse() {
                    return Action::Resend(id);
                }
            }
            Message::Spending(shown) => {
                self.spending = shown;
                self.note = None;
                if shown {
                    return Action::Overview(self.overview.request());
                }
            }
            Message::Overview(m) => {
                if let Some(request) = self.overview.update(m) {
                    return Action::Overview(request);
                }
            }
        }
        Action::None
    }

    pub fn view<'a>(&'a self, tr: &Tr) -> Element<'a, Message> {
        if let Some(detail) = &self.detail {
            return self.detail_view(tr, detail);
        }
        let tabs = overview::tabs(tr, self.spending, Message::Spending);
        let export =
            button(text(tr!(tr, "history-export"))).style(button::secondary).on_press(Message::Export);
        if self.spending {
            let mut content =
                column![widget::heading(tr!(tr, "history-title")), row![tabs, export].spacing(8)];
            match &self.note {
                Some(Ok(path)) => {
                    content = content.push(widget::ok_text(tr!(tr, "history-exported", path = path.clone())))
                }
                Some(Err(e)) => content = content.push(widget::error_text(e.clone())),
                None => {}
            }
            let overview = self.overview.view(tr).map(Message::Overview);
            return container(content.push(overview).spacing(10).padding(16)).into();
        }
        let mut choices = vec![StateChoice { code: None, label: tr!(tr, "history-all-states") }];
        choices.extend(
            PaymentState::NAMES
                .iter()
                .map(|s| StateChoice { code: Some(*s), label: tr.dynamic(&format!("state-{s}")) }),
        );
        let selected = choices.iter().find(|c| c.code == self.state);
        let controls = row![
            text_input(&tr!(tr, "history-search"), &self.text)
                .on_input(Message::Search)
                .padding(6)
                .width(Fill),
            container(
                widget::Choice {
                    id: STATE_FILTER,
                    options: &choices,
                    chosen: selected,
                    typing: self.state_typed.as_ref(),
                }
                .view(&tr!(tr, "payment-search"), Message::FilterTyped, Message::Filter)
            )
            .width(220),
            export,
        ]
        .spacing(8);
        let rows = self.page.rows.iter().fold(column![].spacing(2), |col, r| {
            let amount = r.amount.map(|a| tr.money(&a)).unwrap_or_default();
            let state = tr.dynamic(&format!("state-{}", r.state));
            let answer: Element<'a, Message> = if r.state == "awaiting-confirmation" {
                button(text(tr!(tr, "history-answer"))).on_press(Message::Answer(r.order.clone())).into()
            } else {
                iced::widget::space::horizontal().width(0).into()
            };
            let line = row![
                text(tr.time(Timestamp::from_unix(r.created))).width(190).size(13),
                text(r.merchant_name.clone().unwrap_or_else(|| r.merchant.clone())).width(Fill),
                text(amount).width(110),
                text(state).width(170),
                container(answer).width(90),
                button(text(tr!(tr, "history-details")))
                    .style(button::text)
                    .on_press(Message::Open(r.order.clone())),
            ]
            .spacing(8)
            .align_y(iced::Center);
            col.push(line)
        });
        let mut content = column![
            widget::heading(tr!(tr, "history-title")),
            tabs,
            controls,
            text(tr!(
                tr,
                "history-count",
                shown = self.page.rows.len(),
                total = self.page.total,
                ms = self.took_ms.to_string()
            ))
            .size(12),
        ]
        .spacing(10);
        if self.page.total == 0 {
            content = content.push(text(tr!(tr, "history-empty")));
        }
        match &self.note {
            Some(Ok(path)) => {
                content = content.push(widget::ok_text(tr!(tr, "history-exported", path = path.clone())))
            }
            Some(Err(e)) => content = content.push(widget::error_text(e.clone())),
            None => {}
        }
        if let (Some(why), Some(Ok(_))) = (&self.no_dialog, &self.note) {
            content = content.push(text(tr!(tr, "history-no-dialog", reason = why.clone())).size(13));
        }
        content = content.push(scrollable(rows).height(Fill));
        container(content.padding(16)).into()
    }

    fn detail_view<'a>(&'a self, tr: &Tr, detail: &'a Detail) -> Element<'a, Message> {
        let row_of = self.page.rows.iter().find(|r| r.order == detail.order);
        let mut content = column![
            row![
                widget::heading(tr!(
                    tr,
                    "history-detail-title",
                    order = detail
                        .order
                        .parse::<OrderId>()
                        .map_or_else(|_| detail.order.clone(), |o| o.to_string())
                )),
                button(text(tr!(tr, "back"))).style(button::secondary).on_press(Message::Close)
            ]
            .spacing(12),
        ]
        .spacing(10);
        if let Some(r) = row_of {
            let state = tr.dynamic(&format!("state-{}", r.state));
            content = content.push(text(format!(
                "{} · {} · {}",
                r.merchant,
                r.amount.map(|a| tr.money(&a)).unwrap_or_default(),
                state
            )));
            if let Some(d) = &r.detail {
                content = content.push(widget::error_text(in_words(tr, d)));
            }
            if matches!(r.state.as_str(), "sending" | "failed" | "approved" | "declined")
                && detail.entries.iter().any(|e| e.direction == Direction::Sent && e.status != "accepted")
            {
                content = content.push(
                    button(text(tr!(tr, "history-resend"))).on_press(Message::Resend(detail.order.clone())),
                );
            }
        }
        for (i, e) in detail.entries.iter().enumerate() {
            let kind = kind_in_words(tr, &e.kind);
            let arrow = match e.direction {
                Direction::Sent => tr!(tr, "timeline-sent", kind = kind, peer = e.peer.clone()),
                Direction::Received => tr!(tr, "timeline-received", kind = kind, peer = e.peer.clone()),
            };
            let mut item = column![
                row![
                    text(tr.time(Timestamp::from_unix(e.at))).size(13).width(200),
                    text(arrow).width(Fill),
                    button(text(tr!(tr, "timeline-raw"))).style(button::text).on_press(Message::ShowRaw(i))
                ]
                .spacing(8),
                text(status_in_words(tr, e)).size(13),
            ]
            .spacing(4);
            if detail.raw == Some(i) {
                item = item.push(
                    text(String::from_utf8_lossy(&e.raw).into_owned())
                        .font(crate::ui::fonts::mono())
                        .size(12),
                );
            }
            content = content.push(widget::card(item));
        }
        scrollable(content.padding(16).width(Fill)).into()
    }
}

/// A mail's kind as the timeline names it ("bounce" and unknown kinds
/// included).
fn kind_in_words(tr: &Tr, kind: &str) -> String {
    let id = format!("kind-{kind}");
    if tr.loader().has(&id) { tr.dynamic(&id) } else { tr!(tr, "kind-other") }
}

/// What became of a mail, as the timeline says it: a sent mail accepted
/// or waiting (else the server's error); a received one's effect on the
/// payment, a rejection's reason in words.
fn status_in_words(tr: &Tr, entry: &Entry) -> String {
    let status = entry.status.as_str();
    match (entry.direction, status) {
        (Direction::Sent, "accepted") => tr!(tr, "mail-accepted"),
        (Direction::Sent, "queued") => tr!(tr, "mail-queued"),
        (Direction::Sent, _) => status.to_string(),
        (Direction::Received, NOT_FOR_THE_ORDERER) => tr!(tr, "timeline-not-for-orderer"),
        (Direction::Received, UNKNOWN_ORDER) => tr!(tr, "timeline-unknown-order"),
        (Direction::Received, state) if PaymentState::NAMES.contains(&state) => {
            tr!(tr, "timeline-state", state = tr.dynamic(&format!("state-{state}")))
        }
        (Direction::Received, _) => in_words(tr, status),
    }
}

/// A payment's detail as the user reads it: a rejection's reason code
/// ("merchant-refused: …") in words, in the user's language.
fn in_words(tr: &Tr, detail: &str) -> String {
    match detail.split_once(": ") {
        Some((code, why)) if code.parse::<RejectReason>().is_ok() => {
            let words = tr.dynamic(&format!("reason-{code}"));
            if why.trim().is_empty() { words } else { format!("{words} — {why}") }
        }
        _ => detail.to_string(),
    }
}
