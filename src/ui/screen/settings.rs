//! Settings: the mail accounts (change, add, remove), the wallet key to
//! give the bank, the initials put on board records (claim 3),
//! the language (the system's by default), background mode (quit when the
//! window is closed, start at login), and a word on the theme, which
//! follows the system's light or dark setting.

use iced::widget::{button, checkbox, column, container, row, scrollable, text, text_input};
use iced::{Element, Fill};

use crate::i18n::{Lang, Tr};
use crate::mail::account::{Account, Route};
use crate::protocol::EmailAddress;
use crate::tr;
use crate::ui::backend::Background;
use crate::ui::widget;

/// The id of the language field (a choice field: the arrow keys move through its options).
pub const LANGUAGE_INPUT: &str = "settings-language";

#[derive(Debug, Default)]
pub struct State {
    /// What is typed into the language field while choosing.
    language_typed: Option<widget::Typing>,
    /// The account whose removal waits for a second click.
    removing: Option<EmailAddress>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Language(Lang),
    LanguageTyped(String),
    /// An arrow key in the field with this id.
    Arrow(iced::widget::Id, widget::Move),
    EditAccount(EmailAddress),
    AddAccount,
    /// Asks to confirm the removal.
    RemoveAccount(EmailAddress),
    ConfirmRemove,
    KeepAccount,
    Initials(String),
    SaveInitials,
    /// Copy this text (the wallet key) to the clipboard.
    Copy(String),
    QuitOnClose(bool),
    StartAtLogin(bool),
}

pub enum Action {
    None,
    Copy(String),
    SetLanguage(Lang),
    EditAccount(EmailAddress),
    AddAccount,
    RemoveAccount(EmailAddress),
    EditInitials(String),
    SaveInitials,
    SetQuitOnClose(bool),
    SetStartAtLogin(bool),
}

impl State {
    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::Language(lang) => {
                self.language_typed = None;
                return Action::SetLanguage(lang);
            }
            Message::LanguageTyped(text) => self.language_typed = Some(widget::Typing::new(text)),
            Message::Arrow(id, by) => {
                if id == iced::widget::Id::new(LANGUAGE_INPUT) {
                    widget::Typing::step(&mut self.language_typed, by);
                }
            }
            Message::EditAccount(address) => return Action::EditAccount(address),
            Message::AddAccount => return Action::AddAccount,
            Message::RemoveAccount(address) => self.removing = Some(address),
            Message::KeepAccount => self.removing = None,
            Message::ConfirmRemove => {
                if let Some(address) = self.removing.take() {
                    return Action::RemoveAccount(address);
                }
            }
            Message::Initials(text) => return Action::EditInitials(text),
            Message::SaveInitials => return Action::SaveInitials,
            Message::Copy(text) => return Action::Copy(text),
            Message::QuitOnClose(on) => return Action::SetQuitOnClose(on),
            Message::StartAtLogin(on) => return Action::SetStartAtLogin(on),
        }
        Action::None
    }

    /// `initials`: the field as typed; `wallet_key`: the wallet's public
    /// key, or why it could not be read; `background`: background mode as
    /// set; `no_tray`: what the desktop's lack of a status icon means, if
    /// it has none.
    pub fn view<'a>(
        &'a self,
        tr: &Tr,
        accounts: &'a [Account],
        initials: &'a str,
        wallet_key: Result<&'a str, &'a str>,
        background: Background,
        no_tray: Option<String>,
    ) -> Element<'a, Message> {
        let mut account_lines = column![].spacing(6);
        for a in accounts {
            let line = match a.route {
                Route::Servers => text(tr!(
                    tr,
                    "settings-account-line",
                    address = a.address.to_string(),
                    imap = a.imap.host.clone(),
                    smtp = a.smtp.host.clone()
                )),
                Route::Thunderbird => {
                    text(tr!(tr, "settings-account-line-thunderbird", address = a.address.to_string()))
                }
            }
            .width(Fill);
            let buttons: Element<'a, Message> = if self.removing.as_ref() == Some(&a.address) {
                row![
                    widget::error_text(tr!(tr, "settings-remove-confirm", address = a.address.to_string())),
                    button(text(tr!(tr, "settings-remove")))
                        .style(button::danger)
                        .on_press(Message::ConfirmRemove),
                    button(text(tr!(tr, "settings-keep")))
                        .style(button::secondary)
                        .on_press(Message::KeepAccount),
                ]
                .spacing(8)
                .align_y(iced::Center)
                .into()
            } else {
                row![
                    button(text(tr!(tr, "settings-edit-account")))
                        .style(button::secondary)
                        .on_press(Message::EditAccount(a.address.clone())),
                    button(text(tr!(tr, "settings-remove")))
                        .style(button::text)
                        .on_press(Message::RemoveAccount(a.address.clone())),
                ]
                .spacing(8)
                .into()
            };
            account_lines = account_lines.push(column![line, buttons].spacing(4));
        }
        if accounts.is_empty() {
            account_lines = account_lines.push(text(tr!(tr, "payment-no-account")));
        }
        let languages: &'static [Lang] = &Lang::ALL;
        let content = column![
            widget::heading(tr!(tr, "settings-title")),
            widget::card(
                column![
                    text(tr!(tr, "settings-account")).size(18),
                    account_lines,
                    text(tr!(tr, "settings-keyring")).size(13),
                    button(text(tr!(tr, "settings-add-account")))
                        .style(button::secondary)
                        .on_press(Message::AddAccount),
                ]
                .spacing(8)
            ),
            widget::card(
                column![
                    text(tr!(tr, "settings-initials")).size(18),
                    row![
                        text_input("T.S.", initials)
                            .on_input(Message::Initials)
                            .on_submit(Message::SaveInitials)
                            .padding(6)
                            .width(160),
                        button(text(tr!(tr, "settings-initials-save")))
                            .style(button::secondary)
                            .on_press(Message::SaveInitials),
                    ]
                    .spacing(8),
                    text(tr!(tr, "settings-initials-hint")).size(13),
                ]
                .spacing(8)
            ),
            widget::card(
                column![
                    text(tr!(tr, "settings-wallet-key")).size(18),
                    match wallet_key {
                        Ok(key) => row![
                            text(key).font(crate::ui::fonts::mono()).size(13).width(Fill),
                            button(text(tr!(tr, "settings-copy")))
                                .style(button::secondary)
                                .on_press(Message::Copy(key.to_string())),
                        ]
                        .spacing(8)
                        .align_y(iced::Center)
                        .into(),
                        Err(why) => widget::error_text(why.to_string()),
                    },
                    text(tr!(tr, "settings-wallet-key-hint")).size(13),
                ]
                .spacing(8)
            ),
            widget::card(
                column![
                    text(tr!(tr, "settings-language")).size(18),
                    container(
                        widget::Choice {
                            id: LANGUAGE_INPUT,
                            options: languages,
                            chosen: languages.iter().find(|l| **l == tr.lang()),
                            typing: self.language_typed.as_ref(),
                        }
                        .view(
                            &tr!(tr, "payment-search"),
                            Message::LanguageTyped,
                            Message::Language
                        )
                    )
                    .width(220),
                    text(tr!(tr, "settings-language-hint")).size(13),
                ]
                .spacing(8)
            ),
            widget::card(
                column![
                    text(tr!(tr, "settings-background")).size(18),
                    checkbox(background.quit_on_close)
                        .label(tr!(tr, "settings-quit-on-close"))
                        .on_toggle(Message::QuitOnClose),
                    checkbox(background.start_at_login)
                        .label(tr!(tr, "settings-start-at-login"))
                        .on_toggle(Message::StartAtLogin),
                    text(tr!(tr, "settings-background-hint")).size(13),
                ]
                .push(no_tray.map(|why| text(why).size(13)))
                .spacing(8)
            ),
            widget::card(
                column![
                    text(tr!(tr, "settings-theme")).size(18),
                    text(tr!(tr, "settings-theme-hint")).size(13)
                ]
                .spacing(8)
            ),
        ]
        .spacing(12);
        scrollable(content.padding(16).width(Fill)).into()
    }
}
