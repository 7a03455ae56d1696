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

/// How many matches a [`Choice`] lists under its field.
const MATCHES_SHOWN: usize = 6;

/// A choice made from the keyboard as well as with the mouse: the field
/// (reached with Tab) shows what is chosen; typing into it lists the
/// options containing what was typed, Enter takes the first of them and a
/// click any one.
pub struct Choice<'a, T> {
    pub id: &'static str,
    pub options: &'a [T],
    pub chosen: Option<&'a T>,
    /// What is typed, while choosing.
    pub typed: Option<&'a str>,
}

/// What a [`Choice`]'s field holds after a key left `text` in it: the
/// first key typed after the chosen value (nothing typed yet) replaces
/// it, as if it were selected.
fn typed_into(typing: bool, chosen: Option<&str>, text: String) -> String {
    match chosen {
        Some(chosen) if !typing && text.len() > chosen.len() && text.starts_with(chosen) => {
            text[chosen.len()..].to_string()
        }
        _ => text,
    }
}

impl<'a, T: ToString + Clone> Choice<'a, T> {
    /// The options containing what is typed (any case), every option when
    /// the field was emptied; none when nothing is being typed.
    pub fn matches(&self) -> Vec<&'a T> {
        let Some(typed) = self.typed else { return Vec::new() };
        let typed = typed.trim().to_lowercase();
        self.options.iter().filter(|o| o.to_string().to_lowercase().contains(&typed)).collect()
    }

    pub fn view<'e, M: Clone + 'e>(
        self,
        placeholder: &str,
        on_type: impl Fn(String) -> M + 'e,
        on_pick: impl Fn(T) -> M,
    ) -> Element<'e, M> {
        let matches = self.matches();
        let chosen = self.chosen.map(ToString::to_string);
        let typing = self.typed.is_some();
        let shown = self.typed.map(str::to_string).or_else(|| chosen.clone()).unwrap_or_default();
        let first = matches.first().map(|m| on_pick((*m).clone()));
        let input = text_input(placeholder, &shown)
            .id(self.id)
            .on_input(move |text| on_type(typed_into(typing, chosen.as_deref(), text)))
            .on_submit_maybe(first)
            .padding(6);
        let list = matches.iter().take(MATCHES_SHOWN).fold(column![], |list, option| {
            list.push(
                iced::widget::button(text(option.to_string()).size(14))
                    .style(iced::widget::button::text)
                    .padding([2, 6])
                    .width(Fill)
                    .on_press(on_pick((*option).clone())),
            )
        });
        column![input, list].width(Fill).into()
    }
}
