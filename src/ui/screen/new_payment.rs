//! New payment: merchant and bank, items, an exact amount, password A
//! (generated, or the orderer's own with a strength check), the options
//! the merchant and bank support, a summary, and Pay. After Pay the
//! screen follows each mail: recorded, sending, accepted or failed with
//! the server's reason, and Retry sends only what did not go.

use iced::widget::{button, checkbox, column, container, row, scrollable, text, text_input};
use iced::{Element, Fill};

use crate::i18n::Tr;
use crate::protocol::item::LineItem;
use crate::protocol::link::Link;
use crate::protocol::password::PasswordA;
use crate::protocol::{
    Currency, EmailAddress, Kind, Method, Money, OrderId, OrderNonce, OrderTerms, Timestamp,
};
use crate::tr;
use crate::ui::backend::{Book, Order, waits_in_outbox};
use crate::ui::widget;
use crate::wallet::Sent;

/// How long the bank has to settle, from now.
const EXPIRES_IN_SECONDS: i64 = 24 * 3600;

pub const AMOUNT_INPUT: &str = "payment-amount";
pub const MERCHANT_INPUT: &str = "payment-merchant";
pub const BANK_INPUT: &str = "payment-bank";
pub const CURRENCY_INPUT: &str = "payment-currency";
pub const FROM_INPUT: &str = "payment-from";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailStatus {
    Sending,
    Accepted,
    Failed(String),
    /// Not sent yet: it waits in the outbox for Thunderbird (why), and
    /// leaves on its own when Thunderbird runs.
    Waiting(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailProgress {
    pub kind: Kind,
    pub recipient: EmailAddress,
    pub status: MailStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    Editing,
    /// Writing the payment and its mails to disk.
    Recording,
    /// Recorded as `order`; the mails are out or on their way.
    Sending {
        order: OrderId,
        mails: Vec<MailProgress>,
    },
}

pub struct State {
    merchant: Option<String>,
    bank: Option<String>,
    items: Vec<String>,
    amount: String,
    currency: Option<Currency>,
    reference: Option<String>,
    password: PasswordA,
    own_password: Option<String>,
    cheque: bool,
    board: bool,
    auto_confirm: bool,
    stage: Stage,
    /// Pay was refused for what the form held: from then on the form
    /// shows, each time it is drawn, what is still wrong, so a problem goes
    /// as soon as its field is right again.
    checked: bool,
    /// What went wrong recording or sending (not about a field).
    error: Option<String>,
    /// What is typed into the merchant, bank and currency fields while
    /// choosing (see [`widget::Choice`]).
    merchant_typed: Option<widget::Typing>,
    bank_typed: Option<widget::Typing>,
    currency_typed: Option<widget::Typing>,
    /// The account to pay from, when the wallet has several (else the
    /// first), and what is typed into its field.
    from: Option<EmailAddress>,
    from_typed: Option<widget::Typing>,
}

/// The form's fields, read and checked.
struct Fields {
    orderer: EmailAddress,
    merchant: EmailAddress,
    bank: EmailAddress,
    amount: Money,
    items: Vec<LineItem>,
    password: PasswordA,
    method: Method,
    cheque_for: Option<String>,
    board: Option<String>,
}

/// The fields chosen by typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Merchant,
    Bank,
    Currency,
    From,
}

impl Field {
    /// The id of the field's text input.
    fn input(self) -> &'static str {
        match self {
            Field::Merchant => MERCHANT_INPUT,
            Field::Bank => BANK_INPUT,
            Field::Currency => CURRENCY_INPUT,
            Field::From => FROM_INPUT,
        }
    }
}

/// Password A (generated or typed) never shows.
impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("new_payment::State")
            .field("merchant", &self.merchant)
            .field("bank", &self.bank)
            .field("amount", &self.amount)
            .field("currency", &self.currency)
            .field("password", &"<redacted>")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub enum Message {
    /// Typed into the merchant, bank or currency field.
    Typed(Field, String),
    /// An arrow key in the field with this id.
    Arrow(iced::widget::Id, widget::Move),
    /// The account to pay from.
    From(EmailAddress),
    Merchant(String),
    Bank(String),
    Item(usize, String),
    AddItem,
    RemoveItem(usize),
    Amount(String),
    Currency(Currency),
    Regenerate,
    UseOwnPassword(bool),
    OwnPassword(String),
    Cheque(bool),
    Board(bool),
    AutoConfirm(bool),
    Pay,
    Placed(Result<(OrderId, Vec<(Kind, EmailAddress)>), String>),
    Dispatched(Result<Vec<Sent>, String>),
    Retry,
    Another,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::OwnPassword(_) => f.write_str("OwnPassword(<redacted>)"),
            Message::Typed(field, text) => write!(f, "Typed({field:?}, {text:?})"),
            Message::Arrow(id, by) => write!(f, "Arrow({id:?}, {by:?})"),
            Message::Merchant(m) => write!(f, "Merchant({m:?})"),
            Message::Amount(a) => write!(f, "Amount({a:?})"),
            Message::Pay => f.write_str("Pay"),
            Message::Placed(r) => write!(f, "Placed({r:?})"),
            Message::Dispatched(r) => write!(f, "Dispatched({r:?})"),
            Message::Retry => f.write_str("Retry"),
            _ => f.write_str("PaymentField"),
        }
    }
}

pub enum Action {
    None,
    Place(Box<Order>),
    Dispatch(OrderId),
    Retry(OrderId),
}

impl Default for State {
    fn default() -> Self {
        State {
            merchant: None,
            bank: None,
            items: vec![String::new()],
            amount: String::new(),
            currency: "JPY".parse().ok(),
            reference: None,
            password: PasswordA::generate(&mut rand::rng()),
            own_password: None,
            cheque: false,
            board: false,
            auto_confirm: false,
            stage: Stage::Editing,
            checked: false,
            error: None,
            merchant_typed: None,
            bank_typed: None,
            currency_typed: None,
            from: None,
            from_typed: None,
        }
    }
}

impl State {
    /// A form for `merchant` with its designated bank.
    pub fn for_merchant(merchant: &EmailAddress, book: &Book) -> State {
        let bank = book
            .merchants
            .iter()
            .find(|m| &m.address == merchant)
            .and_then(|m| m.bank.as_ref())
            .map(ToString::to_string);
        State { merchant: Some(merchant.to_string()), bank, ..State::default() }
    }

    /// A form filled from a merchant's `mailpay:` link.
    pub fn from_link(link: &Link, book: &Book) -> State {
        let mut state = State::for_merchant(&link.merchant, book);
        if let Some(bank) = &link.bank {
            state.bank = Some(bank.to_string());
        }
        if let Some(amount) = link.amount {
            state.amount = amount.major_string();
            state.currency = Some(amount.currency());
        }
        state.reference = link.reference.clone();
        state
    }

    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    fn method(&self) -> Method {
        match (self.cheque, self.board) {
            (false, false) => Method::Confirm,
            (true, false) => Method::Cheque,
            (false, true) => Method::Board,
            (true, true) => Method::All,
        }
    }

    /// The exact amount typed, or why it is not one.
    pub fn amount(&self) -> Result<Money, String> {
        let currency = self.currency.ok_or_else(|| "choose the currency".to_string())?;
        Money::parse_major(&self.amount, currency).map_err(|e| e.to_string())
    }

    fn password(&self) -> Result<PasswordA, String> {
        match &self.own_password {
            Some(typed) => PasswordA::parse(typed).map_err(|e| e.to_string()),
            None => Ok(self.password.clone()),
        }
    }

    /// What is wrong with the form as it is, for paying from `orderer`.
    pub fn problems(&self, orderer: Option<&EmailAddress>, book: &Book) -> Vec<String> {
        self.checked_fields(orderer, book).err().unwrap_or_default()
    }

    /// The order this form describes, or every problem with it.
    pub fn order(
        &self,
        orderer: Option<&EmailAddress>,
        book: &Book,
        now: Timestamp,
        nonce: OrderNonce,
    ) -> Result<Order, Vec<String>> {
        let Fields { orderer, merchant, bank, amount, items, password, method, cheque_for, board } =
            self.checked_fields(orderer, book)?;
        let terms = OrderTerms {
            order: OrderId::bound(&orderer, &nonce),
            orderer,
            merchant,
            bank,
            amount,
            items,
            password,
            created: now,
            expires: now.plus_seconds(EXPIRES_IN_SECONDS),
            method,
            board,
            nonce: Some(nonce),
        };
        // The same check the merchant and bank will make on the block.
        OrderTerms::from_block(&terms.to_block(Kind::Order)).map_err(|e| vec![e.to_string()])?;
        Ok(Order { terms, cheque_for, pre_approved: self.auto_confirm && method.needs_confirmation() })
    }

    /// Every field read and checked, or every problem with them.
    fn checked_fields(&self, orderer: Option<&EmailAddress>, book: &Book) -> Result<Fields, Vec<String>> {
        let mut problems = Vec::new();
        let orderer = orderer.cloned();
        if orderer.is_none() {
            problems.push("set up your mail account first".to_string());
        }
        let merchant = self.merchant.as_deref().map(str::parse::<EmailAddress>);
        let merchant = match merchant {
            Some(Ok(m)) => Some(m),
            Some(Err(e)) => {
                problems.push(e.to_string());
                None
            }
            None => {
                problems.push("choose the merchant".to_string());
                None
            }
        };
        let bank = match self.bank.as_deref().map(str::parse::<EmailAddress>) {
            Some(Ok(b)) => Some(b),
            _ => {
                problems.push("choose the bank that pays the merchant".to_string());
                None
            }
        };
        let amount = self.amount().map_err(|e| problems.push(e)).ok();
        let items: Vec<LineItem> = self
            .items
            .iter()
            .chain(self.reference.iter())
            .filter(|line| !line.trim().is_empty())
            .filter_map(|line| line.parse::<LineItem>().map_err(|e| problems.push(e.to_string())).ok())
            .collect();
        let password = self.password().map_err(|e| problems.push(e)).ok();
        let method = self.method();
        let known = merchant.as_ref().and_then(|m| book.merchants.iter().find(|k| &k.address == m));
        if let Some(known) = known
            && !known.accepts(method)
        {
            problems.push(format!("{} does not accept figure {}", known.name, method.figure()));
        }
        let cheque_for = if method.needs_cheque() {
            let key = bank
                .as_ref()
                .and_then(|b| book.banks.iter().find(|k| &k.address == b))
                .and_then(|b| b.age_recipient.clone());
            if key.is_none() {
                problems.push(
                    "the wallet cheque needs the bank's age public key (Banks and merchants)".to_string(),
                );
            }
            key
        } else {
            None
        };
        let board = known.and_then(|k| k.board.clone());
        if method.needs_board() && board.is_none() {
            problems.push("the board record needs the merchant's board address".to_string());
        }
        let (Some(orderer), Some(merchant), Some(bank), Some(amount), Some(password), true) =
            (orderer, merchant, bank, amount, password, problems.is_empty())
        else {
            return Err(problems);
        };
        let board = if method.needs_board() { board } else { None };
        Ok(Fields { orderer, merchant, bank, amount, items, password, method, cheque_for, board })
    }

    /// What is being chosen in `field`; one field at a time, so the others
    /// close their lists.
    fn typing(&mut self, field: Field) -> &mut Option<widget::Typing> {
        let [merchant, bank, currency, from] =
            [&mut self.merchant_typed, &mut self.bank_typed, &mut self.currency_typed, &mut self.from_typed];
        let (this, others) = match field {
            Field::Merchant => (merchant, [bank, currency, from]),
            Field::Bank => (bank, [merchant, currency, from]),
            Field::Currency => (currency, [merchant, bank, from]),
            Field::From => (from, [merchant, bank, currency]),
        };
        for other in others {
            *other = None;
        }
        this
    }

    /// The account the payment goes from: the one chosen, else the first.
    pub fn orderer<'x>(&self, accounts: &'x [EmailAddress]) -> Option<&'x EmailAddress> {
        self.from.as_ref().and_then(|f| accounts.iter().find(|a| *a == f)).or(accounts.first())
    }

    /// `accounts`: the addresses the wallet can pay from.
    pub fn update(&mut self, message: Message, accounts: &[EmailAddress], book: &Book) -> Action {
        match message {
            Message::Typed(field, text) => *self.typing(field) = Some(widget::Typing::new(text)),
            Message::Arrow(id, by) => {
                let field = [Field::Merchant, Field::Bank, Field::Currency, Field::From]
                    .into_iter()
                    .find(|f| id == iced::widget::Id::new(f.input()));
                if let Some(field) = field {
                    widget::Typing::step(self.typing(field), by);
                }
            }
            Message::From(address) => {
                self.from_typed = None;
                self.from = Some(address);
            }
            Message::Merchant(m) => {
                // The merchant's bank comes with it.
                (self.merchant_typed, self.bank_typed) = (None, None);
                self.bank = book
                    .merchants
                    .iter()
                    .find(|k| k.address.as_str() == m)
                    .and_then(|k| k.bank.as_ref())
                    .map(ToString::to_string)
                    .or(self.bank.take());
                self.merchant = Some(m);
                self.cheque = false;
                self.board = false;
            }
            Message::Bank(b) => {
                self.bank_typed = None;
                self.bank = Some(b);
            }
            Message::Item(i, text) => {
                if let Some(item) = self.items.get_mut(i) {
                    *item = text;
                }
            }
            Message::AddItem => self.items.push(String::new()),
            Message::RemoveItem(i) => {
                if self.items.len() > 1 && i < self.items.len() {
                    self.items.remove(i);
                }
            }
            Message::Amount(a) => self.amount = a,
            Message::Currency(c) => {
                self.currency_typed = None;
                self.currency = Some(c);
            }
            Message::Regenerate => self.password = PasswordA::generate(&mut rand::rng()),
            Message::UseOwnPassword(on) => self.own_password = on.then(String::new),
            Message::OwnPassword(p) => self.own_password = Some(p),
            Message::Cheque(on) => self.cheque = on,
            Message::Board(on) => self.board = on,
            Message::AutoConfirm(on) => self.auto_confirm = on,
            Message::Pay => {
                if self.stage != Stage::Editing {
                    return Action::None;
                }
                let now = crate::clock::now();
                let orderer = self.orderer(accounts);
                match self.order(orderer, book, now, OrderNonce::generate(&mut rand::rng())) {
                    Ok(order) => {
                        self.stage = Stage::Recording;
                        (self.checked, self.error) = (false, None);
                        return Action::Place(Box::new(order));
                    }
                    Err(problems) => {
                        // The fields' problems are shown by the view for as
                        // long as they last; what no field says (the order
                        // as a whole) until the next Pay.
                        self.checked = true;
                        self.error = self.problems(orderer, book).is_empty().then(|| problems.join("; "));
                    }
                }
            }
            Message::Placed(Ok((order, mails))) => {
                let mails = mails
                    .into_iter()
                    .map(|(kind, recipient)| MailProgress { kind, recipient, status: MailStatus::Sending })
                    .collect();
                self.stage = Stage::Sending { order: order.clone(), mails };
                return Action::Dispatch(order);
            }
            Message::Placed(Err(e)) => {
                self.stage = Stage::Editing;
                self.error = Some(e);
            }
            Message::Dispatched(result) => {
                if let Stage::Sending { mails, .. } = &mut self.stage {
                    match result {
                        Ok(sent) => {
                            self.error = None;
                            for s in sent {
                                if let Some(m) =
                                    mails.iter_mut().find(|m| m.kind == s.kind && m.recipient == s.recipient)
                                {
                                    m.status = match s.result {
                                        Ok(()) => MailStatus::Accepted,
                                        Err(e) if waits_in_outbox(&e) => MailStatus::Waiting(e.to_string()),
                                        Err(e) => MailStatus::Failed(e.to_string()),
                                    };
                                }
                            }
                        }
                        Err(e) => {
                            for m in mails.iter_mut().filter(|m| m.status == MailStatus::Sending) {
                                m.status = MailStatus::Failed(e.clone());
                            }
                            self.error = Some(e);
                        }
                    }
                }
            }
            Message::Retry => {
                if let Stage::Sending { order, mails } = &mut self.stage {
                    let mut any = false;
                    for m in mails
                        .iter_mut()
                        .filter(|m| matches!(m.status, MailStatus::Failed(_) | MailStatus::Waiting(_)))
                    {
                        m.status = MailStatus::Sending;
                        any = true;
                    }
                    if any {
                        return Action::Retry(order.clone());
                    }
                }
            }
            Message::Another => *self = State::default(),
        }
        Action::None
    }

    pub fn view<'a>(&'a self, tr: &Tr, accounts: &[EmailAddress], book: &'a Book) -> Element<'a, Message> {
        if let Stage::Sending { order, mails } = &self.stage {
            return self.progress(tr, order, mails);
        }
        let mut merchants: Vec<String> = book.merchants.iter().map(|m| m.address.to_string()).collect();
        merchants.extend(self.merchant.clone().filter(|m| !merchants.contains(m)));
        let mut banks: Vec<String> = book.banks.iter().map(|b| b.address.to_string()).collect();
        banks.extend(self.bank.clone().filter(|b| !banks.contains(b)));
        let currencies: Vec<Currency> = Currency::all().collect();
        let search = tr!(tr, "payment-search");
        let known =
            self.merchant.as_deref().and_then(|m| book.merchants.iter().find(|k| k.address.as_str() == m));
        let bank_key = self
            .bank
            .as_deref()
            .and_then(|b| book.banks.iter().find(|k| k.address.as_str() == b))
            .and_then(|b| b.age_recipient.as_ref());
        let cheque_possible =
            known.is_some_and(|k| k.accepts(Method::Cheque) || k.accepts(Method::All)) && bank_key.is_some();
        let board_possible =
            known.is_some_and(|k| (k.accepts(Method::Board) || k.accepts(Method::All)) && k.board.is_some());

        let items = self.items.iter().enumerate().fold(column![].spacing(4), |col, (i, item)| {
            col.push(
                row![
                    text_input(&tr!(tr, "payment-item-placeholder"), item)
                        .on_input(move |t| Message::Item(i, t))
                        .padding(6),
                    button(text("−"))
                        .style(button::text)
                        .on_press_maybe((self.items.len() > 1).then_some(Message::RemoveItem(i))),
                ]
                .spacing(4),
            )
        });
        // The amount is checked as it is typed; the rest once Pay was refused.
        let amount_problem = (self.checked || !self.amount.is_empty()).then(|| self.amount().err()).flatten();
        let mut problems =
            if self.checked { self.problems(self.orderer(accounts), book) } else { Vec::new() };
        problems.retain(|p| Some(p) != amount_problem.as_ref());
        let password_row: Element<'a, Message> = match &self.own_password {
            None => row![
                text(self.password.display()).font(crate::ui::fonts::mono()).size(18).width(Fill),
                button(text(tr!(tr, "payment-regenerate")))
                    .style(button::secondary)
                    .on_press(Message::Regenerate),
            ]
            .spacing(8)
            .into(),
            Some(typed) => {
                let strength: Element<'a, Message> = match PasswordA::parse(typed) {
                    Ok(_) => widget::ok_text(tr!(tr, "payment-password-strong")),
                    Err(e) if typed.is_empty() => text(e.to_string()).size(13).into(),
                    Err(e) => widget::error_text(e.to_string()),
                };
                column![
                    text_input("", typed).secure(true).on_input(Message::OwnPassword).padding(6),
                    strength
                ]
                .spacing(4)
                .into()
            }
        };
        let orderer_line: Element<'a, Message> = match (self.orderer(accounts), accounts.len()) {
            (None, _) => widget::error_text(tr!(tr, "payment-no-account")),
            (Some(a), 1) => text(tr!(tr, "payment-from", address = a.to_string())).size(13).into(),
            (Some(a), _) => column![
                text(tr!(tr, "payment-from-choice")).size(14),
                widget::Choice {
                    id: Field::From.input(),
                    options: accounts,
                    chosen: Some(a),
                    typing: self.from_typed.as_ref(),
                }
                .view(&search, |t| Message::Typed(Field::From, t), Message::From)
            ]
            .spacing(4)
            .into(),
        };
        let mut form = column![
            widget::heading(tr!(tr, "payment-title")),
            orderer_line,
            row![
                column![
                    text(tr!(tr, "payment-merchant")).size(14),
                    widget::Choice {
                        id: Field::Merchant.input(),
                        options: &merchants,
                        chosen: self.merchant.as_ref(),
                        typing: self.merchant_typed.as_ref(),
                    }
                    .view(
                        &search,
                        |t| Message::Typed(Field::Merchant, t),
                        Message::Merchant
                    )
                ]
                .spacing(4)
                .width(Fill),
                column![
                    text(tr!(tr, "payment-bank")).size(14),
                    widget::Choice {
                        id: Field::Bank.input(),
                        options: &banks,
                        chosen: self.bank.as_ref(),
                        typing: self.bank_typed.as_ref(),
                    }
                    .view(&search, |t| Message::Typed(Field::Bank, t), Message::Bank)
                ]
                .spacing(4)
                .width(Fill),
            ]
            .spacing(8),
            text(tr!(tr, "payment-items")).size(14),
            items,
            button(text(tr!(tr, "payment-add-item"))).style(button::text).on_press(Message::AddItem),
            row![
                column![
                    text(tr!(tr, "payment-amount")).size(14),
                    text_input("1200", &self.amount)
                        .id(AMOUNT_INPUT)
                        .on_input(Message::Amount)
                        .on_submit(Message::Pay)
                        .padding(6)
                ]
                .spacing(4)
                .width(Fill),
                column![
                    text(tr!(tr, "payment-currency")).size(14),
                    container(
                        widget::Choice {
                            id: Field::Currency.input(),
                            options: &currencies,
                            chosen: self.currency.as_ref(),
                            typing: self.currency_typed.as_ref(),
                        }
                        .view(
                            "JPY",
                            |t| Message::Typed(Field::Currency, t),
                            Message::Currency
                        )
                    )
                    .width(120)
                ]
                .spacing(4),
            ]
            .spacing(8),
        ]
        .spacing(10);
        if let Some(problem) = amount_problem {
            form = form.push(widget::error_text(problem));
        }
        if let Some(reference) = &self.reference {
            form = form.push(text(tr!(tr, "payment-reference", reference = reference.clone())).size(13));
        }
        form = form.push(widget::card(
            column![
                text(tr!(tr, "payment-password")).size(14),
                password_row,
                checkbox(self.own_password.is_some())
                    .label(tr!(tr, "payment-own-password"))
                    .on_toggle(Message::UseOwnPassword),
            ]
            .spacing(6),
        ));
        form = form.push(widget::card(
            column![
                text(tr!(tr, "payment-options")).size(14),
                checkbox(self.cheque)
                    .label(tr!(tr, "payment-option-cheque"))
                    .on_toggle_maybe(cheque_possible.then_some(Message::Cheque)),
                checkbox(self.board)
                    .label(tr!(tr, "payment-option-board"))
                    .on_toggle_maybe(board_possible.then_some(Message::Board)),
                checkbox(self.auto_confirm)
                    .label(tr!(tr, "payment-option-auto"))
                    .on_toggle_maybe(self.method().needs_confirmation().then_some(Message::AutoConfirm)),
            ]
            .spacing(6),
        ));
        let summary = match self.amount() {
            Ok(amount) => tr!(
                tr,
                "payment-summary",
                amount = tr.money(&amount),
                merchant = self.merchant.clone().unwrap_or_default(),
                bank = self.bank.clone().unwrap_or_default(),
                figure = self.method().figure()
            ),
            Err(_) => String::new(),
        };
        form = form.push(text(summary).size(15));
        let can_pay = self.stage == Stage::Editing;
        form = form.push(
            button(text(if can_pay { tr!(tr, "payment-pay") } else { tr!(tr, "payment-recording") }))
                .padding([10, 24])
                .on_press_maybe(can_pay.then_some(Message::Pay)),
        );
        if !problems.is_empty() {
            form = form.push(widget::error_text(problems.join("; ")));
        }
        if let Some(e) = &self.error {
            form = form.push(widget::error_text(e.clone()));
        }
        scrollable(form.padding(16).width(Fill)).into()
    }

    fn progress<'a>(&'a self, tr: &Tr, order: &OrderId, mails: &'a [MailProgress]) -> Element<'a, Message> {
        let done = mails.iter().all(|m| m.status == MailStatus::Accepted);
        let title = if done { tr!(tr, "payment-sent-title") } else { tr!(tr, "payment-sending-title") };
        let mut list =
            column![widget::heading(title), text(tr!(tr, "payment-order", order = order.to_string()))]
                .spacing(10);
        for m in mails {
            let status: Element<'a, Message> = match &m.status {
                MailStatus::Sending => text(tr!(tr, "mail-sending")).into(),
                MailStatus::Accepted => widget::ok_text(tr!(tr, "mail-accepted")),
                MailStatus::Failed(e) => widget::error_text(tr!(tr, "mail-failed", reason = e.clone())),
                MailStatus::Waiting(why) => column![
                    text(tr!(tr, "mail-waiting")),
                    text(tr!(tr, "mail-waiting-why", reason = why.clone())).size(12)
                ]
                .spacing(2)
                .into(),
            };
            list = list.push(widget::card(
                column![
                    text(format!("{} → {}", tr.dynamic(&format!("kind-{}", m.kind.as_str())), m.recipient)),
                    status
                ]
                .spacing(4),
            ));
        }
        let failed = mails.iter().any(|m| matches!(m.status, MailStatus::Failed(_)));
        let waiting = mails.iter().any(|m| matches!(m.status, MailStatus::Waiting(_)));

        if failed {
            list = list.push(button(text(tr!(tr, "payment-retry"))).on_press(Message::Retry));
        } else if waiting {
            list = list.push(
                button(text(tr!(tr, "payment-send-now"))).style(button::secondary).on_press(Message::Retry),
            );
        }
        if done {
            list = list.push(widget::ok_text(tr!(tr, "payment-sent")));
        }
        // Nothing left to do here: what waits leaves without the user.
        let over = mails.iter().all(|m| matches!(m.status, MailStatus::Accepted | MailStatus::Waiting(_)));
        if over {
            list = list.push(
                button(text(tr!(tr, "payment-another"))).style(button::secondary).on_press(Message::Another),
            );
        }
        if let Some(e) = &self.error {
            list = list.push(widget::error_text(e.clone()));
        }
        container(scrollable(list.padding(16).width(Fill))).into()
    }
}
