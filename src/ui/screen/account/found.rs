//! Where the account screen says the servers came from, the provider's
//! notes with their help pages, and what failed on the way to a guess.

use iced::widget::{button, column, row, text};
use iced::{Element, Fill};

use super::{Message, State};
use crate::autoconfig::Source;
use crate::i18n::Tr;
use crate::tr;
use crate::ui::widget;

/// The line that says where the servers came from.
pub(super) fn source_line(tr: &Tr, source: &Source) -> String {
    match source {
        Source::Bundled { provider } => tr!(tr, "account-source-bundled", provider = provider.clone()),
        Source::Autoconfig { url } => {
            let host = host_of(url);
            let domain = host.strip_prefix("autoconfig.").map_or(host.clone(), str::to_string);
            tr!(tr, "account-source-autoconfig", domain = domain)
        }
        Source::WellKnown { url } => tr!(tr, "account-source-well-known", domain = host_of(url)),
        Source::Srv => tr!(tr, "account-source-srv"),
        Source::Mx { provider, .. } => tr!(tr, "account-source-mx", provider = provider.clone()),
        Source::MxDomain { mx_host, .. } => tr!(tr, "account-source-mx-domain", host = mx_host.clone()),
        Source::Guess => tr!(tr, "account-source-guess"),
    }
}

/// The host of a URL (`https://autoconfig.example.com/mail/…` → `autoconfig.example.com`).
pub(super) fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or(rest).to_string()
}

impl State {
    /// Where the servers came from, what to know about the provider, and
    /// what failed on the way to a guess.
    pub(super) fn found_part<'a>(&'a self, tr: &Tr) -> Element<'a, Message> {
        let mut part = column![].spacing(4);
        if self.looking_up.is_some() {
            part = part.push(text(tr!(tr, "account-looking-up")).size(14));
        }
        if let Some(found) = &self.discovery {
            let line = source_line(tr, &found.source);
            part = part.push(if found.is_guess() { widget::error_text(line) } else { widget::ok_text(line) });
            for quirk in &found.quirks {
                let mut line =
                    row![text(quirk.text.clone()).size(13).width(Fill)].spacing(8).align_y(iced::Center);
                if let Some(url) = &quirk.url {
                    line = line.push(
                        button(text(tr!(tr, "account-help-link")).size(13))
                            .style(button::secondary)
                            .on_press(Message::OpenLink(url.clone())),
                    );
                }
                part = part.push(line);
            }
            if found.is_guess() {
                for failure in &found.failures {
                    part = part.push(
                        text(tr!(
                            tr,
                            "account-tried",
                            asked = failure.asked.clone(),
                            reason = failure.reason.clone()
                        ))
                        .size(11),
                    );
                }
            }
        }
        part.into()
    }
}
