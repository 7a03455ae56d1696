//! Routing between the screens: the side bar's places, and each screen's
//! `Action` turned into the `Task`s that do its work on the backend.

use iced::Task;

use super::{App, Message, Nav, Screen};
use crate::i18n::Tr;
use crate::tr;
use crate::ui::backend::{self, BackendError};
use crate::ui::screen::{account, approval, contacts, history, new_payment, settings, welcome};
use crate::wallet::Sent;

impl App {
    pub(super) fn navigate(&mut self, nav: Nav) -> Task<Message> {
        match nav {
            Nav::Pay => self.screen = Screen::Pay(new_payment::State::default()),
            Nav::Contacts => self.screen = Screen::Contacts(contacts::State::new()),
            Nav::Settings => self.screen = Screen::Settings(settings::State::default()),
            Nav::History => {
                let state = history::State::default();
                let query = state.query();
                self.screen = Screen::History(state);
                return self.load_history(query);
            }
        }
        Task::none()
    }

    pub(super) fn load_history(&self, query: crate::store::history::Query) -> Task<Message> {
        let Some(home) = self.home.clone() else { return Task::none() };
        Task::perform(
            async move {
                let started = std::time::Instant::now();
                let page = backend::history(home, query).await?;
                Ok::<_, BackendError>((page, started.elapsed().as_millis()))
            },
            |r| Message::History(history::Message::Loaded(r.map_err(|e| e.to_string()))),
        )
    }

    pub(super) fn welcome(&mut self, message: welcome::Message) -> Task<Message> {
        let Screen::Welcome(state) = &mut self.screen else { return Task::none() };
        match state.update(message) {
            welcome::Action::None => Task::none(),
            welcome::Action::SetUpAccount => {
                self.screen = Screen::Account(account::State::default());
                Task::none()
            }
            welcome::Action::StartDemo => Task::perform(backend::start_demo(), |r| match r {
                Ok(loaded) => Message::DemoStarted(loaded),
                Err(e) => Message::Welcome(welcome::Message::DemoFailed(e)),
            }),
        }
    }

    pub(super) fn account(&mut self, message: account::Message) -> Task<Message> {
        let Screen::Account(state) = &mut self.screen else { return Task::none() };
        match state.update(message) {
            account::Action::None => Task::none(),
            account::Action::Test(account, password) => {
                Task::perform(backend::test_connection(account, password), |r| {
                    Message::Account(account::Message::Tested(r))
                })
            }
            account::Action::TestSaved(account) => {
                Task::perform(backend::test_saved(account), |r| Message::Account(account::Message::Tested(r)))
            }
            account::Action::Settle(typed) => Task::perform(tokio::time::sleep(account::SETTLE), move |()| {
                Message::Account(account::Message::Settled(typed.clone()))
            }),
            account::Action::Discover(typed, address) => {
                Task::perform(backend::discover(address), move |found| {
                    Message::Account(account::Message::Discovered(typed.clone(), Box::new(found)))
                })
            }
            account::Action::OpenLink(url) => Task::perform(backend::open_link(url), Message::LinkOpened),
            account::Action::Copy(text) => iced::clipboard::write(text),
            account::Action::SignIn(account, provider) => match &self.home {
                Some(home) => Task::run(backend::sign_in(home.clone(), account, provider), Message::SignIn),
                None => Task::none(),
            },
            account::Action::Save(account, password) => match &self.home {
                Some(home) => Task::perform(
                    backend::save_account(home.clone(), account, password),
                    Message::AccountSaved,
                ),
                None => Task::none(),
            },
            account::Action::SaveThroughThunderbird(account) => match &self.home {
                Some(home) => Task::perform(
                    backend::save_account_through_thunderbird(home.clone(), account),
                    Message::AccountSaved,
                ),
                None => Task::none(),
            },
        }
    }

    pub(super) fn contacts(&mut self, message: contacts::Message) -> Task<Message> {
        let Screen::Contacts(state) = &mut self.screen else { return Task::none() };
        let Some(home) = self.home.clone() else { return Task::none() };
        match state.update(message, &self.book) {
            contacts::Action::None => Task::none(),
            contacts::Action::SaveBank(bank) => {
                Task::perform(backend::save_bank(home, bank), Message::BookSaved)
            }
            contacts::Action::SaveMerchant(merchant) => {
                Task::perform(backend::save_merchant(home, merchant), Message::BookSaved)
            }
            contacts::Action::Pay(merchant) => {
                self.screen = Screen::Pay(new_payment::State::for_merchant(&merchant, &self.book));
                Task::none()
            }
        }
    }

    pub(super) fn pay(&mut self, message: new_payment::Message) -> Task<Message> {
        let accounts = self.accounts();
        let Screen::Pay(state) = &mut self.screen else { return Task::none() };
        let action = state.update(message, &accounts, &self.book);
        let Some(home) = self.home.clone() else { return Task::none() };
        let to_pay = |r: Result<Vec<Sent>, BackendError>| {
            Message::Pay(new_payment::Message::Dispatched(r.map_err(|e| e.to_string())))
        };
        match action {
            new_payment::Action::None => Task::none(),
            new_payment::Action::Place(order) => Task::perform(
                async move {
                    let id = backend::place(home.clone(), *order).await?;
                    let mails = backend::pending(home, id.clone()).await?;
                    Ok::<_, BackendError>((id, mails))
                },
                |r| Message::Pay(new_payment::Message::Placed(r.map_err(|e| e.to_string()))),
            ),
            new_payment::Action::Dispatch(order) => {
                Task::perform(backend::dispatch(home, self.sessions.clone(), order), to_pay)
            }
            new_payment::Action::Retry(order) => {
                Task::perform(backend::retry(home, self.sessions.clone(), order), to_pay)
            }
        }
    }

    pub(super) fn approval(&mut self, message: approval::Message) -> Task<Message> {
        let Screen::Approval(state) = &mut self.screen else { return Task::none() };
        match state.update(message) {
            approval::Action::None => Task::none(),
            approval::Action::Answer { order, approve } => {
                let answered = |r: Result<Vec<Sent>, BackendError>| {
                    Message::Approval(approval::Message::Answered(r.map_err(|e| e.to_string())))
                };
                match self.home.clone() {
                    Some(home) => {
                        Task::perform(backend::answer(home, self.sessions.clone(), order, approve), answered)
                    }
                    None => Task::done(answered(Err(BackendError::NoAccount))),
                }
            }
        }
    }

    pub(super) fn history(&mut self, message: history::Message) -> Task<Message> {
        let Screen::History(state) = &mut self.screen else { return Task::none() };
        let Some(home) = self.home.clone() else { return Task::none() };
        match state.update(message) {
            history::Action::None => Task::none(),
            history::Action::Load(query) => self.load_history(query),
            history::Action::Timeline(order) => {
                let key = order.as_str().to_string();
                Task::perform(backend::timeline(home, order), move |r| {
                    Message::History(history::Message::Timeline(key.clone(), r.map_err(|e| e.to_string())))
                })
            }
            history::Action::AskWhere { spending } => Task::perform(
                crate::ui::save_dialog::ask(crate::ui::save_dialog::Question {
                    title: tr!(self.tr, "history-export-title"),
                    name: backend::export_name(spending),
                    folder: backend::downloads(),
                    filter: ("CSV", "csv"),
                }),
                |answer| Message::History(history::Message::Where(answer)),
            ),
            history::Action::Export(query, to) => Task::perform(backend::export(home, query, to), |r| {
                Message::History(history::Message::Exported(
                    r.map(|(path, _)| path.display().to_string()).map_err(|e| e.to_string()),
                ))
            }),
            history::Action::Overview(request) => {
                Task::perform(backend::overview(home, request, self.tr.zone().clone()), |r| {
                    Message::History(history::Message::Overview(history::overview::Message::Loaded(
                        r.map_err(|e| e.to_string()),
                    )))
                })
            }
            history::Action::ExportOverview(query, to) => {
                Task::perform(backend::export_overview(home, query, self.tr.zone().clone(), to), |r| {
                    Message::History(history::Message::Exported(
                        r.map(|(path, _)| path.display().to_string()).map_err(|e| e.to_string()),
                    ))
                })
            }
            history::Action::Approve(order) => Task::done(Message::Review(order)),
            history::Action::Resend(order) => {
                let reload = order.clone();
                Task::perform(backend::retry(home, self.sessions.clone(), order), Message::SentInBackground)
                    .chain(Task::done(Message::History(history::Message::Open(reload.as_str().to_string()))))
            }
        }
    }

    pub(super) fn settings(&mut self, message: settings::Message) -> Task<Message> {
        let Screen::Settings(state) = &mut self.screen else { return Task::none() };
        match state.update(message) {
            settings::Action::None => Task::none(),
            settings::Action::Copy(text) => {
                self.say(tr!(self.tr, "settings-copied"), false);
                iced::clipboard::write(text)
            }
            settings::Action::SetLanguage(lang) => {
                self.tr = Tr::new(lang);
                self.chosen_lang = Some(lang);
                match &self.home {
                    Some(home) => {
                        Task::perform(backend::set_language(home.clone(), lang.code()), Message::Saved)
                    }
                    None => Task::none(),
                }
            }
            settings::Action::EditInitials(text) => {
                self.initials = text;
                Task::none()
            }
            settings::Action::SaveInitials => match crate::protocol::board::check_initials(&self.initials) {
                Ok(initials) => {
                    let initials = initials.to_string();
                    self.initials = initials.clone();
                    self.say(tr!(self.tr, "settings-initials-saved", initials = initials.clone()), false);
                    match &self.home {
                        Some(home) => {
                            Task::perform(backend::set_initials(home.clone(), initials), Message::Saved)
                        }
                        None => Task::none(),
                    }
                }
                Err(e) => {
                    self.say(e.to_string(), true);
                    Task::none()
                }
            },
            settings::Action::EditAccount(address) => {
                self.screen =
                    Screen::Account(match self.config.accounts.iter().find(|a| a.address == address) {
                        Some(a) => account::State::editing(a),
                        None => account::State::default(),
                    });
                Task::none()
            }
            settings::Action::AddAccount => {
                self.screen = Screen::Account(account::State::default());
                Task::none()
            }
            settings::Action::SetQuitOnClose(on) => {
                self.background.quit_on_close = on;
                match &self.home {
                    Some(home) => Task::perform(backend::set_quit_on_close(home.clone(), on), Message::Saved),
                    None => Task::none(),
                }
            }
            settings::Action::SetStartAtLogin(on) => {
                Task::perform(backend::set_start_at_login(on), Message::StartAtLoginSet)
            }
            settings::Action::RemoveAccount(address) => match &self.home {
                Some(home) => {
                    Task::perform(backend::remove_account(home.clone(), address.clone()), move |r| {
                        Message::AccountRemoved(address.clone(), r)
                    })
                }
                None => Task::none(),
            },
        }
    }
}
