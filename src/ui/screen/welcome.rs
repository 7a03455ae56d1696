//! First run: try the demo, or set up a real mail account.

use iced::widget::{button, center, column, text};
use iced::{Center, Element};

use crate::i18n::Tr;
use crate::tr;
use crate::ui::widget;

#[derive(Debug, Default)]
pub struct State {
    starting_demo: bool,
    demo_error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    TryDemo,
    SetUp,
    DemoFailed(String),
}

pub enum Action {
    None,
    StartDemo,
    SetUpAccount,
}

impl State {
    pub fn update(&mut self, message: Message) -> Action {
        match message {
            Message::TryDemo => {
                self.starting_demo = true;
                self.demo_error = None;
                Action::StartDemo
            }
            Message::SetUp => Action::SetUpAccount,
            Message::DemoFailed(reason) => {
                self.starting_demo = false;
                self.demo_error = Some(reason);
                Action::None
            }
        }
    }

    pub fn view<'a>(&'a self, tr: &Tr) -> Element<'a, Message> {
        let demo = button(text(tr!(tr, "welcome-try-demo")))
            .padding(10)
            .on_press_maybe((!self.starting_demo).then_some(Message::TryDemo));
        let setup = button(text(tr!(tr, "welcome-set-up")))
            .padding(10)
            .style(button::secondary)
            .on_press(Message::SetUp);
        let mut content = column![
            widget::heading(tr!(tr, "welcome-title")),
            text(tr!(tr, "welcome-intro")),
            demo,
            text(tr!(tr, "welcome-demo-hint")).size(13),
            setup,
        ]
        .spacing(16)
        .align_x(Center)
        .max_width(560);
        if let Some(error) = &self.demo_error {
            content = content.push(widget::error_text(error.clone()));
        }
        center(content).padding(24).into()
    }
}
