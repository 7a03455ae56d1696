//! Small view helpers shared by the screens.

use iced::widget::{button, column, container, text, text_input};
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

/// An arrow key pressed in a [`Choice`]'s field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Up,
    Down,
}

/// A choice being made: what is typed, and which of the listed matches is
/// marked (the arrow keys move the mark, Enter takes it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typing {
    pub text: String,
    /// Steps from the first match shown, wrapping around the list.
    marked: isize,
}

impl Typing {
    pub fn new(text: String) -> Typing {
        Typing { text, marked: 0 }
    }

    /// An arrow key in a choice's field: moves the mark through the list,
    /// or, with no list open, opens one with every option, marked at the
    /// first (Down) or the last (Up).
    pub fn step(typing: &mut Option<Typing>, by: Move) {
        let by = match by {
            Move::Up => -1,
            Move::Down => 1,
        };
        match typing {
            Some(typing) => typing.marked += by,
            None => *typing = Some(Typing { text: String::new(), marked: by.min(0) }),
        }
    }

    /// Which of `shown` matches is marked.
    fn mark(&self, shown: usize) -> Option<usize> {
        let shown = isize::try_from(shown).ok().filter(|&n| n > 0)?;
        usize::try_from(self.marked.rem_euclid(shown)).ok()
    }
}

/// A choice made from the keyboard as well as with the mouse: the field
/// (reached with Tab) shows what is chosen; typing into it lists the
/// options containing what was typed, the arrow keys (see [`Typing::step`])
/// move a mark through them, Enter takes the marked one and a click any.
pub struct Choice<'a, T> {
    pub id: &'static str,
    pub options: &'a [T],
    pub chosen: Option<&'a T>,
    /// What is typed and marked, while choosing.
    pub typing: Option<&'a Typing>,
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
    /// the field is empty; none when nothing is being chosen.
    pub fn matches(&self) -> Vec<&'a T> {
        let Some(typing) = self.typing else { return Vec::new() };
        let typed = typing.text.trim().to_lowercase();
        self.options.iter().filter(|o| o.to_string().to_lowercase().contains(&typed)).collect()
    }

    /// `placeholder` shows in the empty field; while choosing, the chosen
    /// value shows there instead.
    pub fn view<'e, M: Clone + 'e>(
        self,
        placeholder: &str,
        on_type: impl Fn(String) -> M + 'e,
        on_pick: impl Fn(T) -> M,
    ) -> Element<'e, M> {
        let matches = self.matches();
        let shown = &matches[..matches.len().min(MATCHES_SHOWN)];
        let mark = self.typing.and_then(|t| t.mark(shown.len()));
        let chosen = self.chosen.map(ToString::to_string);
        let choosing = self.typing.is_some();
        let (value, placeholder) = match self.typing {
            Some(typing) => (typing.text.clone(), chosen.clone().unwrap_or_else(|| placeholder.to_string())),
            None => (chosen.clone().unwrap_or_default(), placeholder.to_string()),
        };
        let marked = mark.map(|i| on_pick(shown[i].clone()));
        let input = text_input(&placeholder, &value)
            .id(self.id)
            .on_input(move |text| on_type(typed_into(choosing, chosen.as_deref(), text)))
            .on_submit_maybe(marked)
            .padding(6);
        let list = shown.iter().enumerate().fold(column![], |list, (i, option)| {
            let style = if Some(i) == mark { button::secondary } else { button::text };
            list.push(
                button(text(option.to_string()).size(14))
                    .style(style)
                    .padding([2, 6])
                    .width(Fill)
                    .on_press(on_pick((*option).clone())),
            )
        });
        column![input, list].width(Fill).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_key_replaces_the_chosen_value() {
        assert_eq!(typed_into(false, Some("JPY"), "JPYu".into()), "u");
        assert_eq!(typed_into(true, Some("JPY"), "JPYu".into()), "JPYu");
        assert_eq!(typed_into(false, Some("JPY"), "JP".into()), "JP");
        assert_eq!(typed_into(false, None, "u".into()), "u");
    }

    #[test]
    fn arrows_open_the_list_and_move_the_mark_around_it() {
        let mut typing = None;
        Typing::step(&mut typing, Move::Down);
        let t = typing.clone().unwrap();
        assert_eq!((t.text.as_str(), t.mark(3)), ("", Some(0)));
        Typing::step(&mut typing, Move::Down);
        Typing::step(&mut typing, Move::Down);
        assert_eq!(typing.as_ref().unwrap().mark(3), Some(2));
        Typing::step(&mut typing, Move::Down);
        assert_eq!(typing.as_ref().unwrap().mark(3), Some(0), "past the last comes the first");
        assert_eq!(typing.as_ref().unwrap().mark(0), None, "nothing to mark in an empty list");

        let mut typing = None;
        Typing::step(&mut typing, Move::Up);
        assert_eq!(typing.as_ref().unwrap().mark(4), Some(3), "Up opens at the last");
        // Typing starts the mark again at the first match.
        assert_eq!(Typing::new("ab".into()).mark(4), Some(0));
    }
}
