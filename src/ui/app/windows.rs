//! The window and the wallet's life without it: opening or raising the
//! window on what a later start, the status icon or a notification asks
//! for, what closing it means (background mode or quitting), and the
//! status icon's menu.

use iced::{Task, window};

use super::{App, Message, Screen, Start, window_settings};
use crate::protocol::link;
use crate::tr;
use crate::ui::background::{self, tray};
use crate::ui::screen::new_payment;

impl App {
    /// New payment filled in from a `mailpay:` link; `false` (and the
    /// banner says why) when the link cannot be read.
    pub(super) fn open_link(&mut self, text: &str) -> bool {
        match link::parse(text) {
            Ok(l) => {
                self.screen = Screen::Pay(new_payment::State::from_link(&l, &self.book));
                true
            }
            Err(e) => {
                self.say(e.to_string(), true);
                false
            }
        }
    }

    /// Opens (or raises) the window on what `start` asks for.
    pub(super) fn show(&mut self, start: Start) -> Task<Message> {
        let loaded = self.home.is_some();
        let go = match start {
            Start::Background => return Task::none(),
            Start::Home => Task::none(),
            Start::Link(text) if loaded => {
                self.open_link(&text);
                Task::none()
            }
            Start::Link(text) => {
                self.link = Some(text);
                Task::none()
            }
            Start::Review(order) if loaded => self.update(Message::Review(order)),
            Start::Review(order) => {
                self.review = Some(order);
                Task::none()
            }
        };
        Task::batch([self.open_window(), go])
    }

    pub(super) fn open_window(&mut self) -> Task<Message> {
        match self.window {
            // Brought back if minimized, then to the front.
            Some(id) => window::minimize(id, false).chain(window::gain_focus(id)),
            None => {
                let (id, opened) = window::open(window_settings());
                self.window = Some(id);
                opened.map(Message::WindowOpened)
            }
        }
    }

    /// The window closed: the wallet stays in the background, or quits.
    pub(super) fn window_closed(&mut self, id: window::Id) -> Task<Message> {
        if self.window != Some(id) {
            return Task::none();
        }
        self.window = None;
        if background::stays_open(self.background.quit_on_close, self.no_tray.is_none(), self.listening) {
            Task::none()
        } else {
            iced::exit()
        }
    }

    pub(super) fn tray(&mut self, event: tray::Event) -> Task<Message> {
        match event {
            tray::Event::Open => self.show(Start::Home),
            tray::Event::Quit => iced::exit(),
            tray::Event::Pause(paused) => {
                self.paused = paused;
                for session in &self.sessions {
                    let address = session.account.address.clone();
                    if paused {
                        self.watch_status.insert(address, tr!(self.tr, "background-paused"));
                    } else {
                        // The watcher says how it is once it is back.
                        self.watch_status.remove(&address);
                    }
                }
                Task::none()
            }
            // Said once on standard error, and in Settings beside the
            // choice it bears on (not in a banner at every start).
            tray::Event::Unavailable(why) => {
                if self.no_tray.is_none() {
                    eprintln!("mailpay: {}", tr!(self.tr, "background-no-tray", reason = why.clone()));
                }
                self.no_tray = Some(why);
                Task::none()
            }
        }
    }

    pub(super) fn tray_menu(&self) -> tray::Menu {
        tray::Menu {
            tooltip: tr!(self.tr, "app-name"),
            open: tr!(self.tr, "background-open"),
            pause: tr!(self.tr, "background-pause"),
            resume: tr!(self.tr, "background-resume"),
            quit: tr!(self.tr, "background-quit"),
            paused: self.paused,
        }
    }
}
