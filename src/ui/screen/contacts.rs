//! Banks and merchants: the address book a payment is made from. A
//! merchant can be imported from its `mailpay:` link.

use iced::widget::{button, checkbox, column, row, scrollable, text};
use iced::{Element, Fill};

use crate::i18n::Tr;
use crate::protocol::link;
use crate::protocol::{EmailAddress, Method};
use crate::store::book::{Bank, Merchant};
use crate::tr;
use crate::ui::backend::Book;
use crate::ui::widget;

pub const MERCHANT_BANK_INPUT: &str = "contacts-merchant-bank";

const FIGURES: [Method; 4] = [Method::Confirm, Method::Cheque, Method::Board, Method::All];

#[derive(Debug, Default)]
pub struct State {
    bank_address: String,
    bank_name: String,
    bank_key: String,
    bank_account: String,
    merchant_address: String,
    merchant_name: String,
    merchant_bank: Option<String>,
    /// What is typed into the merchant's bank field while choosing.
    merchant_bank_typed: Option<widget::Typing>,
    merchant_board: String,
    figures: [bool; 4],
    link: String,
    refused: Refused,
    /// Why the book could not be saved (not about a field).
    problem: Option<String>,
    note: Option<String>,
}

/// The parts whose save or import was refused: from then on the form
/// shows, each time it is drawn, what is still wrong with them, so a
/// problem goes as soon as its fields are right again.
#[derive(Debug, Default)]
struct Refused {
    bank: bool,
    merchant: bool,
    link: bool,
}

#[derive(Debug, Clone)]
pub enum Message {
    BankAddress(String),
    BankName(String),
    BankKey(String),
    BankAccount(String),
    SaveBank,
    EditBank(usize),
    MerchantAddress(String),
    MerchantName(String),
    MerchantBankTyped(String),
    /// An arrow key in the field with this id.
    Arrow(iced::widget::Id, widget::Move),
    MerchantBank(String),
    MerchantBoard(String),
    Figure(usize, bool),
    SaveMerchant,
    EditMerchant(usize),
    Pay(usize),
    Link(String),
    ImportLink,
    Saved(Result<(), String>),
}

pub enum Action {
    None,
    SaveBank(Bank),
    SaveMerchant(Merchant),
    Pay(EmailAddress),
}

impl State {
    pub fn new() -> State {
        State { figures: [true, false, false, false], ..State::default() }
    }

    pub fn bank(&self) -> Result<Bank, String> {
        let address: EmailAddress = self
            .bank_address
            .trim()
            .parse()
            .map_err(|e: crate::protocol::address::AddressError| e.to_string())?;
        let key = self.bank_key.trim();
        if !key.is_empty() {
            key.parse::<age::x25519::Recipient>()
                .map_err(|e| format!("the age public key is invalid: {e}"))?;
        }
        let name = if self.bank_name.trim().is_empty() {
            address.domain().to_string()
        } else {
            self.bank_name.trim().to_string()
        };
        Ok(Bank {
            address,
            name,
            age_recipient: (!key.is_empty()).then(|| key.to_string()),
            account_ref: self.bank_account.trim().to_string(),
        })
    }

    pub fn merchant(&self) -> Result<Merchant, String> {
        let address: EmailAddress = self
            .merchant_address
            .trim()
            .parse()
            .map_err(|e: crate::protocol::address::AddressError| e.to_string())?;
        let bank = self
            .merchant_bank
            .as_deref()
            .map(str::parse::<EmailAddress>)
            .transpose()
            .map_err(|e| e.to_string())?;
        let board = self.merchant_board.trim();
        if !board.is_empty() && !board.starts_with("https://") {
            return Err("the board must be an https:// address".into());
        }
        let figures: Vec<Method> =
            FIGURES.iter().zip(self.figures).filter(|(_, on)| *on).map(|(m, _)| *m).collect();
        if figures.is_empty() {
            return Err("choose at least one figure the merchant accepts".into());
        }
        if figures.iter().any(|f| f.needs_board()) && board.is_empty() {
            return Err("figures 3 and 4 need the merchant's board address".into());
        }
        let name = if self.merchant_name.trim().is_empty() {
            address.to_string()
        } else {
            self.merchant_name.trim().to_string()
        };
        Ok(Merchant { address, name, bank, board: (!board.is_empty()).then(|| board.to_string()), figures })
    }

    /// What is wrong with the parts whose save or import was refused, as
    /// they are now.
    pub fn problems(&self) -> Vec<String> {
        let link = || link::parse(&self.link).err().map(|e| e.to_string());
        [
            self.refused.bank.then(|| self.bank().err()).flatten(),
            self.refused.merchant.then(|| self.merchant().err()).flatten(),
            self.refused.link.then(link).flatten(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    pub fn update(&mut self, message: Message, book: &Book) -> Action {
        self.note = None;
        match message {
            Message::BankAddress(v) => self.bank_address = v,
            Message::BankName(v) => self.bank_name = v,
            Message::BankKey(v) => self.bank_key = v,
            Message::BankAccount(v) => self.bank_account = v,
            Message::SaveBank => {
                self.refused.bank = self.bank().is_err();
                if let Ok(bank) = self.bank() {
                    return Action::SaveBank(bank);
                }
            }
            Message::EditBank(i) => {
                if let Some(b) = book.banks.get(i) {
                    self.bank_address = b.address.to_string();
                    self.bank_name = b.name.clone();
                    self.bank_key = b.age_recipient.clone().unwrap_or_default();
                    self.bank_account = b.account_ref.clone();
                }
            }
            Message::MerchantAddress(v) => self.merchant_address = v,
            Message::MerchantName(v) => self.merchant_name = v,
            Message::MerchantBankTyped(v) => self.merchant_bank_typed = Some(widget::Typing::new(v)),
            Message::Arrow(id, by) => {
                if id == iced::widget::Id::new(MERCHANT_BANK_INPUT) {
                    widget::Typing::step(&mut self.merchant_bank_typed, by);
                }
            }
            Message::MerchantBank(v) => {
                self.merchant_bank_typed = None;
                self.merchant_bank = Some(v);
            }
            Message::MerchantBoard(v) => self.merchant_board = v,
            Message::Figure(i, on) => {
                if let Some(f) = self.figures.get_mut(i) {
                    *f = on;
                }
            }
            Message::SaveMerchant => {
                self.refused.merchant = self.merchant().is_err();
                if let Ok(merchant) = self.merchant() {
                    return Action::SaveMerchant(merchant);
                }
            }
            Message::EditMerchant(i) => {
                if let Some(m) = book.merchants.get(i) {
                    self.merchant_address = m.address.to_string();
                    self.merchant_name = m.name.clone();
                    self.merchant_bank = m.bank.as_ref().map(ToString::to_string);
                    self.merchant_bank_typed = None;
                    self.merchant_board = m.board.clone().unwrap_or_default();
                    self.figures = FIGURES.map(|f| m.accepts(f));
                }
            }
            Message::Pay(i) => {
                if let Some(m) = book.merchants.get(i) {
                    return Action::Pay(m.address.clone());
                }
            }
            Message::Link(v) => self.link = v,
            Message::ImportLink => match link::parse(&self.link) {
                Ok(l) => {
                    self.merchant_address = l.merchant.to_string();
                    self.merchant_name = l.name.unwrap_or_default();
                    self.merchant_board = l.board.unwrap_or_default();
                    if !l.figures.is_empty() {
                        self.figures = FIGURES.map(|f| l.figures.contains(&f));
                    }
                    if let Some(bank) = l.bank {
                        if !book.banks.iter().any(|b| b.address == bank) {
                            self.bank_address = bank.to_string();
                        }
                        self.merchant_bank = Some(bank.to_string());
                        self.merchant_bank_typed = None;
                    }
                    self.refused.link = false;
                }
                Err(_) => self.refused.link = true,
            },
            Message::Saved(result) => match result {
                Ok(()) => {
                    self.problem = None;
                    self.note = Some(String::new());
                }
                Err(e) => self.problem = Some(e),
            },
        }
        Action::None
    }

    pub fn view<'a>(&'a self, tr: &Tr, book: &'a Book) -> Element<'a, Message> {
        let banks = book.banks.iter().enumerate().fold(column![].spacing(4), |col, (i, b)| {
            let key = if b.age_recipient.is_some() { tr!(tr, "contacts-has-key") } else { String::new() };
            col.push(row![
                text(format!("{} <{}> {key}", b.name, b.address)).width(Fill),
                button(text(tr!(tr, "edit"))).style(button::text).on_press(Message::EditBank(i))
            ])
        });
        let merchants = book.merchants.iter().enumerate().fold(column![].spacing(4), |col, (i, m)| {
            let figs: Vec<String> = m.figures.iter().map(|f| f.figure().to_string()).collect();
            col.push(
                row![
                    text(format!(
                        "{} <{}> · {}",
                        m.name,
                        m.address,
                        tr!(tr, "contacts-figures-short", figures = figs.join(","))
                    ))
                    .width(Fill),
                    button(text(tr!(tr, "edit"))).style(button::text).on_press(Message::EditMerchant(i)),
                    button(text(tr!(tr, "contacts-pay"))).on_press(Message::Pay(i)),
                ]
                .spacing(6),
            )
        });
        let bank_choices: Vec<String> = book.banks.iter().map(|b| b.address.to_string()).collect();
        let figure_boxes = FIGURES.iter().enumerate().fold(row![].spacing(12), |r, (i, f)| {
            r.push(
                checkbox(self.figures.get(i).copied().unwrap_or(false))
                    .label(tr!(tr, "figure", number = f.figure()))
                    .on_toggle(move |on| Message::Figure(i, on)),
            )
        });
        let mut content = column![
            widget::heading(tr!(tr, "contacts-title")),
            widget::card(column![text(tr!(tr, "contacts-banks")).size(18), banks].spacing(8)),
            widget::card(
                column![
                    text(tr!(tr, "contacts-add-bank")).size(18),
                    row![
                        widget::field(
                            tr!(tr, "contacts-address"),
                            "settle@bank.example",
                            &self.bank_address,
                            Message::BankAddress
                        ),
                        widget::field(tr!(tr, "contacts-name"), "", &self.bank_name, Message::BankName),
                    ]
                    .spacing(8),
                    widget::field(tr!(tr, "contacts-age-key"), "age1…", &self.bank_key, Message::BankKey),
                    widget::field(
                        tr!(tr, "contacts-account-ref"),
                        "",
                        &self.bank_account,
                        Message::BankAccount
                    ),
                    button(text(tr!(tr, "contacts-save-bank"))).on_press(Message::SaveBank),
                ]
                .spacing(8)
            ),
            widget::card(column![text(tr!(tr, "contacts-merchants")).size(18), merchants].spacing(8)),
            widget::card(
                column![
                    text(tr!(tr, "contacts-add-merchant")).size(18),
                    row![
                        widget::field(
                            tr!(tr, "contacts-link"),
                            "mailpay:shop@example.com?…",
                            &self.link,
                            Message::Link
                        ),
                        button(text(tr!(tr, "contacts-import")))
                            .style(button::secondary)
                            .on_press(Message::ImportLink),
                    ]
                    .spacing(8)
                    .align_y(iced::Bottom),
                    row![
                        widget::field(
                            tr!(tr, "contacts-address"),
                            "shop@example.com",
                            &self.merchant_address,
                            Message::MerchantAddress
                        ),
                        widget::field(
                            tr!(tr, "contacts-name"),
                            "",
                            &self.merchant_name,
                            Message::MerchantName
                        ),
                    ]
                    .spacing(8),
                    column![
                        text(tr!(tr, "contacts-merchant-bank")).size(14),
                        widget::Choice {
                            id: MERCHANT_BANK_INPUT,
                            options: &bank_choices,
                            chosen: self.merchant_bank.as_ref(),
                            typing: self.merchant_bank_typed.as_ref(),
                        }
                        .view(
                            &tr!(tr, "payment-search"),
                            Message::MerchantBankTyped,
                            Message::MerchantBank
                        )
                    ]
                    .spacing(4),
                    widget::field(
                        tr!(tr, "contacts-board"),
                        "https://shop.example/board",
                        &self.merchant_board,
                        Message::MerchantBoard
                    ),
                    text(tr!(tr, "contacts-figures")).size(14),
                    figure_boxes,
                    button(text(tr!(tr, "contacts-save-merchant"))).on_press(Message::SaveMerchant),
                ]
                .spacing(8)
            ),
        ]
        .spacing(12);
        for problem in self.problems().into_iter().chain(self.problem.clone()) {
            content = content.push(widget::error_text(problem));
        }
        if self.note.is_some() {
            content = content.push(widget::ok_text(tr!(tr, "saved")));
        }
        scrollable(content.padding(16).width(Fill)).into()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_link_fills_the_merchant_form() {
        let mut state = State::new();
        let book = Book::default();
        let _ = state.update(Message::Link("mailpay:shop@example.com?name=Shop&bank=settle@bank.example&board=https://shop.example/b&figs=1,3".into()), &book);
        let _ = state.update(Message::ImportLink, &book);
        let merchant = state.merchant().unwrap();
        assert_eq!(merchant.name, "Shop");
        assert_eq!(merchant.figures, vec![Method::Confirm, Method::Board]);
        assert_eq!(state.bank_address, "settle@bank.example", "an unknown bank is offered for adding");
        let _ = state.update(Message::Link("mailpay:nobody".into()), &book);
        let _ = state.update(Message::ImportLink, &book);
        assert_eq!(state.problems().len(), 1, "the link is refused");
        let _ = state.update(Message::Link("mailpay:shop@example.com".into()), &book);
        assert!(state.problems().is_empty(), "the problem goes once the link is right, before Import");
    }

    #[test]
    fn a_refused_save_shows_its_problem_until_the_field_is_right() {
        let mut state = State::new();
        let book = Book::default();
        let _ = state.update(Message::BankAddress("settle@".into()), &book);
        assert!(state.problems().is_empty(), "nothing said before Save");
        assert!(matches!(state.update(Message::SaveBank, &book), Action::None));
        assert_eq!(state.problems().len(), 1);
        let _ = state.update(Message::MerchantAddress("not an address".into()), &book);
        assert_eq!(state.problems().len(), 1, "another form's field says nothing yet");
        let _ = state.update(Message::BankAddress("settle@bank.example".into()), &book);
        assert!(state.problems().is_empty(), "gone as soon as the address is right");
        assert!(matches!(state.update(Message::SaveBank, &book), Action::SaveBank(_)));
    }

    #[test]
    fn board_figures_need_a_board() {
        let mut state = State::new();
        let book = Book::default();
        let _ = state.update(Message::MerchantAddress("shop@example.com".into()), &book);
        let _ = state.update(Message::Figure(2, true), &book);
        assert!(state.merchant().is_err());
        let _ = state.update(Message::MerchantBoard("https://shop.example/board".into()), &book);
        assert!(state.merchant().is_ok());
    }
}
