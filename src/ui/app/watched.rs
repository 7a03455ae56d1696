//! What the inbox watchers report, as the app takes it: the side bar's
//! status per account, the banner, the answers queued by receiving, a
//! confirmation announced (banner and notification), and a sign-in with
//! the provider needed again.

use iced::Task;

use super::{App, Banner, Message, Screen};
use crate::protocol::{EmailAddress, OrderId};
use crate::tr;
use crate::ui::backend;
use crate::ui::watch::{self, Report};
use crate::wallet::Sent;

impl App {
    pub(super) fn watched(&mut self, account: EmailAddress, report: Report) -> Task<Message> {
        let mut task = Task::none();
        if let (Some(order), Some(home)) = (report.to_send(), self.home.clone())
            && let Ok(order) = order.parse::<OrderId>()
        {
            task = Task::perform(
                backend::dispatch(home, self.sessions.clone(), order),
                Message::SentInBackground,
            );
        }
        match &report {
            Report::Demo => {
                self.watch_status.insert(account, tr!(self.tr, "watch-demo"));
            }
            Report::Connected { idle } => {
                let status = if *idle { tr!(self.tr, "watch-idle") } else { tr!(self.tr, "watch-polling") };
                self.watch_status.insert(account, status);
            }
            Report::Disconnected { reason, retry_in_secs } => {
                let seconds = retry_in_secs.to_string();
                let status = tr!(self.tr, "watch-disconnected", reason = reason.clone(), seconds = seconds);
                self.watch_status.insert(account, status);
            }
            Report::Stopped(reason) => self.say(reason.clone(), true),
            Report::SignInAgain(_) => {
                self.watch_status.insert(account.clone(), tr!(self.tr, "watch-sign-in-again"));
                self.ask_sign_in(account);
            }
            Report::Invalid(reason) => self.say(tr!(self.tr, "watch-invalid", reason = reason.clone()), true),
            Report::SetAside(reason) => {
                self.say(tr!(self.tr, "watch-set-aside", reason = reason.clone()), true)
            }
            Report::Thunderbird(link) => {
                let status = match link {
                    watch::Link::Connected => tr!(self.tr, "watch-thunderbird"),
                    watch::Link::NotRunning => tr!(self.tr, "watch-thunderbird-closed"),
                    watch::Link::OtherAccount => tr!(self.tr, "watch-thunderbird-other"),
                };
                self.watch_status.insert(account, status);
                // Back: what waited in the outbox leaves now.
                if let (watch::Link::Connected, Screen::History(state)) = (link, &self.screen) {
                    return Task::batch([task, self.load_history(state.query())]);
                }
            }
            Report::Took { order, what } => {
                match what {
                    watch::Took::Awaiting => task = Task::batch([task, self.confirmation(order)]),
                    watch::Took::Stepped(state) => {
                        let state = self.tr.dynamic(&format!("state-{state}"));
                        self.say(tr!(self.tr, "watch-stepped", order = order.clone(), state = state), false);
                    }
                    watch::Took::Refused(reason) => self.say(reason.clone(), true),
                }
                if let Screen::History(state) = &self.screen {
                    return Task::batch([task, self.load_history(state.query())]);
                }
            }
            Report::Received { order, receipt } => {
                if report.awaiting().is_some() {
                    task = Task::batch([task, self.confirmation(order)]);
                } else if let crate::wallet::Receipt::Stepped { to, .. } = receipt {
                    let state = self.tr.dynamic(&format!("state-{}", to.name()));
                    self.say(tr!(self.tr, "watch-stepped", order = order.clone(), state = state), false);
                } else if let crate::wallet::Receipt::Refused { reason, .. }
                | crate::wallet::Receipt::Bounced { reason, .. } = receipt
                {
                    self.say(reason.clone(), true);
                }
                if let Screen::History(state) = &self.screen {
                    return Task::batch([task, self.load_history(state.query())]);
                }
            }
        }
        task
    }

    /// Whether a send failed because an account's sign-in with its
    /// provider is needed again: if so, the banner says so and leads to it
    /// (the mails wait in the outbox, and go with the retry after).
    pub(super) fn check_sign_in(&mut self, sent: &[Sent]) -> bool {
        let Some(who) = sent.iter().find_map(|s| s.result.as_ref().err().and_then(backend::sign_in_needed))
        else {
            return false;
        };
        let account = who.parse::<EmailAddress>().ok().or_else(|| {
            self.sessions
                .iter()
                .find(|s| s.account.auth == crate::mail::account::Auth::OAuth2)
                .map(|s| s.account.address.clone())
        });
        match account {
            Some(account) => self.ask_sign_in(account),
            None => self.say(tr!(self.tr, "sign-in-needed", address = who), true),
        }
        true
    }

    pub(super) fn ask_sign_in(&mut self, account: EmailAddress) {
        let text = tr!(self.tr, "sign-in-needed", address = account.to_string());
        self.banner = Some(Banner { text, error: true, review: None, sign_in: Some(account) });
    }

    /// The bank asks to confirm `order`: a banner that leads to the
    /// approval view, and a desktop notification whose Review opens it.
    pub(super) fn confirmation(&mut self, order: &str) -> Task<Message> {
        use crate::ui::notify;
        let text = tr!(self.tr, "watch-confirmation", order = order.to_string());
        let summary = tr!(self.tr, "app-name");
        let notice = match order.parse::<OrderId>() {
            Ok(id) => Task::perform(
                notify::ask_review(summary, text.clone(), tr!(self.tr, "review")),
                move |chosen| Message::NotificationAnswered(id.clone(), chosen),
            ),
            Err(_) => Task::perform(notify::show(summary, text.clone()), Message::Notified),
        };
        self.banner = Some(Banner { text, error: false, review: order.parse().ok(), sign_in: None });
        notice
    }
}
