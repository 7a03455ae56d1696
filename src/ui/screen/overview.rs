//! The history's spending overview: what the settled payments of a period
//! came to in one currency, as a bar per month with the figures beside it
//! and a list per merchant (see `store::overview`). Loaded by the app on
//! the backend; drawn with plain widgets (a bar is a sized container).

use iced::widget::{button, column, container, row, scrollable, space, text};
use iced::{Element, Fill, Theme};

use crate::i18n::Tr;
use crate::protocol::Currency;
use crate::store::overview::{Overview, OverviewQuery, Period, Total};
use crate::tr;

/// The height of the tallest bar, in logical pixels.
const CHART_HEIGHT: f32 = 140.0;

/// What the overview asks the backend for: `period` in `currency`, or in
/// the first currency spent in when that is none or was never spent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Request {
    pub period: Period,
    pub currency: Option<Currency>,
}

/// What the backend answers: the currencies spent in, and the overview
/// (none when nothing was ever spent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loaded {
    pub currencies: Vec<Currency>,
    pub overview: Option<Overview>,
}

#[derive(Debug, Default)]
pub struct State {
    request: Request,
    loaded: Loaded,
    error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Period(Period),
    Currency(Currency),
    Loaded(Result<Loaded, String>),
}

impl State {
    pub fn request(&self) -> Request {
        self.request
    }

    /// The overview shown, which an export writes.
    pub fn shown(&self) -> Option<OverviewQuery> {
        self.loaded.overview.as_ref().map(|o| o.query)
    }

    /// Takes `message`; what to load next, if anything.
    pub fn update(&mut self, message: Message) -> Option<Request> {
        match message {
            Message::Period(period) => {
                self.request.period = period;
                return Some(self.request);
            }
            Message::Currency(currency) => {
                self.request.currency = Some(currency);
                return Some(self.request);
            }
            Message::Loaded(Ok(loaded)) => {
                self.request.currency = loaded.overview.as_ref().map(|o| o.query.currency);
                self.loaded = loaded;
                self.error = None;
            }
            Message::Loaded(Err(e)) => self.error = Some(e),
        }
        None
    }

    pub fn view<'a>(&'a self, tr: &Tr) -> Element<'a, Message> {
        let choice = |label: String, chosen: bool, message: Message| {
            let style = if chosen { button::primary } else { button::secondary };
            button(text(label).size(13)).style(style).on_press(message)
        };
        let periods = Period::ALL.iter().fold(row![text(tr!(tr, "overview-period")).size(13)], |r, &p| {
            r.push(choice(period_text(tr, p), p == self.request.period, Message::Period(p)))
        });
        let currencies =
            self.loaded.currencies.iter().fold(row![text(tr!(tr, "overview-currency")).size(13)], |r, &c| {
                r.push(choice(c.code().to_string(), Some(c) == self.request.currency, Message::Currency(c)))
            });
        let controls = row![
            periods.spacing(6).align_y(iced::Center),
            space::horizontal(),
            currencies.spacing(6).align_y(iced::Center)
        ]
        .spacing(12);
        let mut content = column![controls].spacing(12);
        if let Some(e) = &self.error {
            content = content.push(crate::ui::widget::error_text(e.clone()));
        }
        match &self.loaded.overview {
            Some(overview) if overview.payments > 0 => content = content.push(figures(tr, overview)),
            _ => content = content.push(text(tr!(tr, "overview-none"))),
        }
        content.into()
    }
}

/// The history's two tabs: the payments, and the spending overview.
pub fn tabs<'a, M: Clone + 'a>(tr: &Tr, spending: bool, on: impl Fn(bool) -> M) -> Element<'a, M> {
    let tab = |label: String, this: bool| {
        let style = if this == spending { button::primary } else { button::text };
        button(text(label)).style(style).on_press(on(this))
    };
    row![tab(tr!(tr, "history-tab-payments"), false), tab(tr!(tr, "history-tab-spending"), true)]
        .spacing(4)
        .into()
}

fn period_text(tr: &Tr, period: Period) -> String {
    match period {
        Period::Last12Months => tr!(tr, "overview-last-12-months"),
        Period::ThisYear => tr!(tr, "overview-this-year"),
        Period::All => tr!(tr, "overview-all-time"),
    }
}

/// An amount as the overview shows it: every figure goes through here.
fn money_text(tr: &Tr, total: Total) -> String {
    match i128::try_from(total.minor) {
        Ok(minor) => tr.minor_units(minor, total.currency),
        // Past 2^127 minor units: the figure as the CSV writes it.
        Err(_) => format!("{} {}", total.major_string(), total.currency.code()),
    }
}

/// A bar's share of the tallest one, for drawing only (the figures are
/// the exact totals).
fn share(total: Total, largest: Total) -> f32 {
    if largest.minor == 0 { 0.0 } else { (total.minor as f64 / largest.minor as f64) as f32 }
}

fn bar<'a>(length: f32, horizontal: bool) -> Element<'a, Message> {
    let bar = container(space::horizontal()).style(|theme: &Theme| {
        container::Style::default().background(theme.extended_palette().primary.base.color)
    });
    if horizontal { bar.width(length).height(10).into() } else { bar.width(Fill).height(length).into() }
}

fn figures<'a>(tr: &Tr, overview: &'a Overview) -> Element<'a, Message> {
    let largest = overview.months.iter().map(|m| m.total).max().unwrap_or(overview.total);
    // Past two years of bars, only January is labelled (the list beside
    // the chart names every month).
    let every = overview.months.len() <= 24;
    let bars = overview.months.iter().fold(row![].spacing(4).height(CHART_HEIGHT + 20.0), |r, m| {
        let shown = every || m.month.ends_with("-01");
        let label = if shown { m.month.get(2..).unwrap_or(&m.month).to_string() } else { String::new() };
        r.push(
            column![
                space::vertical(),
                bar(CHART_HEIGHT * share(m.total, largest), false),
                text(label).size(10)
            ]
            .align_x(iced::Center)
            .width(Fill),
        )
    });
    let months = overview.months.iter().rev().fold(column![].spacing(2), |c, m| {
        c.push(
            row![text(m.month.clone()).size(13).width(70), text(money_text(tr, m.total)).size(13)].spacing(8),
        )
    });
    let largest = overview.merchants.first().map_or(overview.total, |m| m.total);
    let merchants = overview.merchants.iter().fold(column![].spacing(4), |c, m| {
        c.push(
            row![
                text(m.name.clone().unwrap_or_else(|| m.merchant.clone())).width(Fill),
                container(bar(160.0 * share(m.total, largest), true)).width(170),
                text(tr!(tr, "overview-payments", count = m.payments)).size(13).width(80),
                text(money_text(tr, m.total)).width(170),
            ]
            .spacing(8)
            .align_y(iced::Center),
        )
    });
    column![
        text(tr!(tr, "overview-total", payments = overview.payments, total = money_text(tr, overview.total))),
        row![container(bars).width(Fill), scrollable(months).height(CHART_HEIGHT + 20.0).width(220)]
            .spacing(16),
        text(tr!(tr, "overview-by-merchant")).size(16),
        scrollable(merchants).height(Fill),
    ]
    .spacing(10)
    .into()
}
