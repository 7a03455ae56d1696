//! Signing in with the provider on the account screen: where a sign-in
//! stands, its problems in words, and the part of the form that holds the
//! password or the provider's sign-in.

use iced::widget::{button, column, row, text, text_input};
use iced::{Element, Fill};

use super::{Message, State};
use crate::i18n::Tr;
use crate::oauth::provider::OAuth2Settings;
use crate::oauth::{OAuthError, SignInCanceller};
use crate::tr;
use crate::ui::widget;

/// Where a sign-in with the provider stands.
#[derive(Debug, Clone, Default)]
pub enum SignInStatus {
    #[default]
    Idle,
    /// Preparing (the loopback listener, the URL).
    Starting,
    /// The browser is on the provider's page (or should be).
    Waiting {
        url: String,
        browser: Option<String>,
        canceller: SignInCanceller,
    },
    /// What went wrong.
    Failed(SignInProblem),
    Done,
}

/// Why a sign-in with the provider did not work, shown in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInProblem {
    /// This build has no client registration with the provider (its name).
    NoClientId(String),
    Declined(String),
    TimedOut,
    Cancelled,
    Other(String),
}

pub(super) fn sign_in_failure(e: &OAuthError, settings: &OAuth2Settings) -> SignInProblem {
    match e {
        OAuthError::NoClientId { .. } => SignInProblem::NoClientId(settings.describe()),
        OAuthError::Declined { reason } => SignInProblem::Declined(reason.clone()),
        OAuthError::TimedOut { .. } => SignInProblem::TimedOut,
        OAuthError::Cancelled => SignInProblem::Cancelled,
        other => SignInProblem::Other(other.to_string()),
    }
}

impl State {
    /// The password, or the provider's sign-in; then Test and Save.
    pub(super) fn login_part<'a>(&'a self, tr: &Tr, ready: bool) -> Element<'a, Message> {
        let valid = self.account().is_ok();
        let mut part = column![].spacing(8);
        let settings = self.oauth_settings();
        let provider = settings.as_ref().map(OAuth2Settings::describe).unwrap_or_default();
        if self.signs_in_with_provider() {
            let waiting = matches!(self.sign_in, SignInStatus::Starting | SignInStatus::Waiting { .. });
            if self.signed_in.is_some() {
                part = part.push(widget::ok_text(tr!(
                    tr,
                    "account-signed-in-with",
                    provider = provider.clone()
                )));
            }
            let label = if self.signed_in.is_some() {
                tr!(tr, "account-sign-in-again")
            } else {
                tr!(tr, "account-sign-in-with", provider = provider.clone())
            };
            let mut buttons = row![
                button(text(label))
                    .style(button::primary)
                    .on_press_maybe((valid && !waiting && !self.busy).then_some(Message::SignIn)),
                button(text(tr!(tr, "account-use-app-password")))
                    .style(button::secondary)
                    .on_press(Message::UsePassword(true)),
            ]
            .spacing(8);
            if self.signed_in.is_some() {
                buttons = buttons.push(
                    button(text(tr!(tr, "account-test")))
                        .style(button::secondary)
                        .on_press_maybe((valid && !waiting && !self.busy).then_some(Message::Test)),
                );
            }
            part = part.push(buttons);
            match &self.sign_in {
                SignInStatus::Idle => {}
                SignInStatus::Starting => part = part.push(text(tr!(tr, "account-sign-in-waiting"))),
                SignInStatus::Waiting { url, browser, .. } => {
                    part = part.push(
                        row![
                            text(tr!(tr, "account-sign-in-waiting")),
                            button(text(tr!(tr, "account-cancel")))
                                .style(button::secondary)
                                .on_press(Message::CancelSignIn),
                        ]
                        .spacing(12)
                        .align_y(iced::Center),
                    );
                    let hint = match browser {
                        Some(why) => tr!(tr, "account-browser-failed", reason = why.clone()),
                        None => tr!(tr, "account-browser-hint"),
                    };
                    part = part.push(text(hint).size(13));
                    part = part.push(
                        row![
                            text_input("", url).size(12).padding(4).width(Fill),
                            button(text(tr!(tr, "account-copy")))
                                .style(button::secondary)
                                .on_press(Message::CopyUrl),
                        ]
                        .spacing(8),
                    );
                }
                SignInStatus::Failed(problem) => {
                    let line = match problem {
                        SignInProblem::NoClientId(who) => {
                            tr!(tr, "account-no-client-id", provider = who.clone())
                        }
                        SignInProblem::Declined(reason) => {
                            tr!(tr, "account-sign-in-declined", reason = reason.clone())
                        }
                        SignInProblem::TimedOut => tr!(tr, "account-sign-in-timed-out"),
                        SignInProblem::Cancelled => tr!(tr, "account-sign-in-cancelled"),
                        SignInProblem::Other(reason) => {
                            tr!(tr, "account-sign-in-failed", reason = reason.clone())
                        }
                    };
                    part = part.push(widget::error_text(line));
                }
                SignInStatus::Done => part = part.push(widget::ok_text(tr!(tr, "account-signed-in"))),
            }
            return part.into();
        }
        part = part.push(
            column![
                text(tr!(tr, "account-password")).size(14),
                text_input("", &self.password).secure(true).on_input(Message::Password).padding(6),
                text(tr!(tr, "account-password-hint")).size(12),
            ]
            .spacing(4),
        );
        if settings.is_some() {
            part = part.push(
                button(text(tr!(tr, "account-sign-in-with", provider = provider)))
                    .style(button::secondary)
                    .on_press(Message::UsePassword(false)),
            );
        }
        part = part.push(
            row![
                button(text(tr!(tr, "account-test")))
                    .style(button::secondary)
                    .on_press_maybe(ready.then_some(Message::Test)),
                button(text(tr!(tr, "account-save"))).on_press_maybe(ready.then_some(Message::Save)),
            ]
            .spacing(8),
        );
        part.into()
    }
}
