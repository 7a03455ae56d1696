//! Small view helpers shared by the screens.

use iced::widget::{column, container, text, text_input};
use iced::{Color, Element, Fill, Theme};

/// The red used for errors and mismatches, readable on light and dark.
pub fn danger(theme: &Theme) -> Color {
    theme.extended_palette().danger.base.color
}

pub fn success(theme: &Theme) -> Color {
    theme.extended_palette().success.base.color
}

pub fn error_text<'a, M: 'a>(message: impl text::IntoFragment<'a>) -> Element<'a, M> {
    text(message).style(|theme: &Theme| text::Style { color: Some(danger(theme)) }).into()
}

pub fn ok_text<'a, M: 'a>(message: impl text::IntoFragment<'a>) -> Element<'a, M> {
    text(message).style(|theme: &Theme| text::Style { color: Some(success(theme)) }).into()
}

pub fn heading<'a, M: 'a>(title: impl text::IntoFragment<'a>) -> Element<'a, M> {
    text(title).size(24).into()
}

/// A labelled text field.
pub fn field<'a, M: Clone + 'a>(
    label: impl text::IntoFragment<'a>,
    placeholder: &str,
    value: &str,
    on_input: impl Fn(String) -> M + 'a,
) -> Element<'a, M> {
    column![text(label).size(14), text_input(placeholder, value).on_input(on_input).padding(6)]
        .spacing(4)
        .width(Fill)
        .into()
}

/// A bordered box around a section.
pub fn card<'a, M: 'a>(content: impl Into<Element<'a, M>>) -> Element<'a, M> {
    container(content).padding(12).width(Fill).style(container::bordered_box).into()
}
