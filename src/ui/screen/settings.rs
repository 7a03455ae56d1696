//! Settings: the account, the initials put on board records (claim 3),
//! the language (the system's by default), and a word on the theme, which
//! follows the system's light or dark setting.

use iced::widget::{button, column, pick_list, row, scrollable, text, text_input};
use iced::{Element, Fill};

use crate::i18n::{Lang, Tr};
use crate::mail::account::Account;
use crate::tr;
use crate::ui::widget;

#[derive(Debug, Clone)]
pub enum Message {
    Language(Lang),
    EditAccount,
    Initials(String),
    SaveInitials,
}

pub enum Action {
    SetLanguage(Lang),
    EditAccount,
    EditInitials(String),
    SaveInitials,
}

pub fn update(message: Message) -> Action {
    match message {
        Message::Language(lang) => Action::SetLanguage(lang),
        Message::EditAccount => Action::EditAccount,
        Message::Initials(text) => Action::EditInitials(text),
        Message::SaveInitials => Action::SaveInitials,
    }
}

/// `initials`: the field as typed.
pub fn view<'a>(tr: &Tr, account: Option<&'a Account>, initials: &'a str) -> Element<'a, Message> {
    let account_line = match account {
        Some(a) => text(tr!(
            tr,
            "settings-account-line",
            address = a.address.to_string(),
            imap = a.imap.host.clone(),
            smtp = a.smtp.host.clone()
        )),
        None => text(tr!(tr, "payment-no-account")),
    };
    let content = column![
        widget::heading(tr!(tr, "settings-title")),
        widget::card(
            column![
                text(tr!(tr, "settings-account")).size(18),
                account_line,
                text(tr!(tr, "settings-keyring")).size(13),
                button(text(tr!(tr, "settings-edit-account")))
                    .style(button::secondary)
                    .on_press(Message::EditAccount),
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
                text(tr!(tr, "settings-language")).size(18),
                pick_list(Lang::ALL, Some(tr.lang()), Message::Language).padding(6),
                text(tr!(tr, "settings-language-hint")).size(13),
            ]
            .spacing(8)
        ),
        widget::card(
            column![text(tr!(tr, "settings-theme")).size(18), text(tr!(tr, "settings-theme-hint")).size(13)]
                .spacing(8)
        ),
    ]
    .spacing(12);
    scrollable(content.padding(16).width(Fill)).into()
}
