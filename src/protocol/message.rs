//! The typed content of each MailPay mail, and its block form.
//!
//! Each kind maps to one block name (PROTOCOL.md lists the fields). Reading
//! a block checks every field and says which one is wrong and why.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::address::EmailAddress;
use super::block::Block;
use super::confirmation::{ConfirmationCode, Proof};
use super::item::{ItemError, LineItem, MAX_DESCRIPTION, MAX_ITEMS};
use super::money::Money;
use super::order_id::{OrderId, OrderNonce, OrderNonceError};
use super::password::PasswordA;
use super::reason::RejectReason;
use super::timestamp::Timestamp;

/// The wire format version written in every block and header.
pub const VERSION: &str = "1";

/// The kinds of MailPay mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Order,
    PaymentRequest,
    Wallet,
    Bill,
    Confirm,
    Approve,
    Decline,
    Settled,
    Rejected,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Order,
        Kind::PaymentRequest,
        Kind::Wallet,
        Kind::Bill,
        Kind::Confirm,
        Kind::Approve,
        Kind::Decline,
        Kind::Settled,
        Kind::Rejected,
    ];

    /// The name in `MailPay-Kind` headers and Message-IDs.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Order => "order",
            Kind::PaymentRequest => "payment-request",
            Kind::Wallet => "wallet",
            Kind::Bill => "bill",
            Kind::Confirm => "confirm",
            Kind::Approve => "approve",
            Kind::Decline => "decline",
            Kind::Settled => "settled",
            Kind::Rejected => "rejected",
        }
    }

    /// The name in `-----BEGIN MAILPAY NAME-----`.
    pub fn block_name(self) -> &'static str {
        match self {
            Kind::Order => "ORDER",
            Kind::PaymentRequest => "PAYMENT-REQUEST",
            Kind::Wallet => "WALLET",
            Kind::Bill => "BILL",
            Kind::Confirm => "CONFIRM",
            Kind::Approve => "APPROVE",
            Kind::Decline => "DECLINE",
            Kind::Settled => "SETTLED",
            Kind::Rejected => "REJECTED",
        }
    }

    pub fn from_block_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.block_name() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Kind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s.trim())).ok_or(())
    }
}

/// Which figure of the patent an order follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Fig. 1: the bank mails a confirmation, the orderer replies OK + A.
    Confirm,
    /// Fig. 2: a signed, age-encrypted cheque replaces the confirmation.
    Cheque,
    /// Fig. 3: a bulletin-board record replaces the confirmation.
    Board,
    /// Fig. 4: confirmation, cheque and board record together.
    All,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Confirm => "confirm",
            Method::Cheque => "cheque",
            Method::Board => "board",
            Method::All => "all",
        }
    }

    pub fn figure(self) -> u8 {
        match self {
            Method::Confirm => 1,
            Method::Cheque => 2,
            Method::Board => 3,
            Method::All => 4,
        }
    }

    /// The method of figure `1` to `4`, as links and the wallet's book
    /// write it.
    pub fn from_figure(figure: &str) -> Option<Method> {
        match figure.trim() {
            "1" => Some(Method::Confirm),
            "2" => Some(Method::Cheque),
            "3" => Some(Method::Board),
            "4" => Some(Method::All),
            _ => None,
        }
    }

    pub fn needs_confirmation(self) -> bool {
        matches!(self, Method::Confirm | Method::All)
    }

    pub fn needs_cheque(self) -> bool {
        matches!(self, Method::Cheque | Method::All)
    }

    pub fn needs_board(self) -> bool {
        matches!(self, Method::Board | Method::All)
    }
}

impl FromStr for Method {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "confirm" => Ok(Method::Confirm),
            "cheque" => Ok(Method::Cheque),
            "board" => Ok(Method::Board),
            "all" => Ok(Method::All),
            _ => Err(()),
        }
    }
}

/// What the orderer asks for: carried by the order (to the merchant) and,
/// identically, by the payment request (to the bank).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTerms {
    pub order: OrderId,
    pub orderer: EmailAddress,
    pub merchant: EmailAddress,
    pub bank: EmailAddress,
    pub amount: Money,
    pub items: Vec<LineItem>,
    pub password: PasswordA,
    pub created: Timestamp,
    pub expires: Timestamp,
    pub method: Method,
    /// The merchant's bulletin board, for Figs. 3 and 4.
    pub board: Option<String>,
    /// Binds `order` to `orderer` (PROTOCOL.md 2): the bank and the merchant
    /// take an order only when it is there and binds the two.
    pub nonce: Option<OrderNonce>,
}

/// The merchant's bill: its own lines, plus the order as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub order: OrderId,
    pub merchant: EmailAddress,
    pub orderer: EmailAddress,
    pub items: Vec<LineItem>,
    pub total: Money,
    pub billed: Timestamp,
    /// The orderer's ORDER block, kept intact with A.
    pub quoted_order: OrderTerms,
}

/// The mail that carries the claim-2 cheque as an age attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletMail {
    pub order: OrderId,
    pub orderer: EmailAddress,
    /// The age-encrypted cheque, exactly as attached.
    pub cheque: Vec<u8>,
}

/// The bank's confirmation to the orderer (Fig. 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub order: OrderId,
    pub orderer: EmailAddress,
    pub merchant: EmailAddress,
    pub amount: Money,
    pub items: Vec<LineItem>,
    pub code: ConfirmationCode,
    pub expires: Timestamp,
    pub attempts_left: u8,
    /// That the sender knows A (see [`Proof`]); `None` when the mail
    /// carries none, which the wallet refuses.
    pub proof: Option<Proof>,
}

/// The orderer's OK with A and the confirmation code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approve {
    pub order: OrderId,
    pub password: PasswordA,
    pub code: ConfirmationCode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decline {
    pub order: OrderId,
    pub detail: Option<String>,
}

/// The bank's notice that the money moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub order: OrderId,
    pub orderer: EmailAddress,
    pub merchant: EmailAddress,
    pub amount: Money,
    pub settled: Timestamp,
    pub reference: String,
}

/// The bank's notice that it refused, with a machine-readable reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub order: OrderId,
    pub reason: RejectReason,
    pub detail: String,
}

/// The typed content of one MailPay mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Order(OrderTerms),
    PaymentRequest(OrderTerms),
    Wallet(WalletMail),
    Bill(Bill),
    Confirm(Confirm),
    Approve(Approve),
    Decline(Decline),
    Settled(Settled),
    Rejected(Rejected),
}

impl Body {
    pub fn kind(&self) -> Kind {
        match self {
            Body::Order(_) => Kind::Order,
            Body::PaymentRequest(_) => Kind::PaymentRequest,
            Body::Wallet(_) => Kind::Wallet,
            Body::Bill(_) => Kind::Bill,
            Body::Confirm(_) => Kind::Confirm,
            Body::Approve(_) => Kind::Approve,
            Body::Decline(_) => Kind::Decline,
            Body::Settled(_) => Kind::Settled,
            Body::Rejected(_) => Kind::Rejected,
        }
    }

    pub fn order(&self) -> &OrderId {
        match self {
            Body::Order(t) | Body::PaymentRequest(t) => &t.order,
            Body::Wallet(w) => &w.order,
            Body::Bill(b) => &b.order,
            Body::Confirm(c) => &c.order,
            Body::Approve(a) => &a.order,
            Body::Decline(d) => &d.order,
            Body::Settled(s) => &s.order,
            Body::Rejected(r) => &r.order,
        }
    }
}

/// Why a block does not make a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("the {block} block has no {field} field")]
    Missing { block: String, field: &'static str },
    #[error("the {block} block has {field} more than once")]
    Repeated { block: String, field: &'static str },
    #[error("the {block} block's {field} field {value:?} is invalid: {why}")]
    Invalid { block: String, field: &'static str, value: String, why: String },
    #[error("the {block} block is version {0}, this MailPay reads version {VERSION}", .version)]
    Version { block: String, version: String },
    #[error("the {block} block lists {count} items; at most {MAX_ITEMS} are allowed")]
    TooManyItems { block: String, count: usize },
    #[error("the {block} block's items add up to {sum}, not to its amount {amount}")]
    ItemsDisagree { block: String, sum: String, amount: String },
}

/// Reads typed fields out of a block, naming the block in every error.
pub struct Fields<'a> {
    block: &'a Block,
}

impl<'a> Fields<'a> {
    pub fn new(block: &'a Block) -> Result<Self, FieldError> {
        let fields = Fields { block };
        let version = fields.one("Version")?;
        if version != VERSION {
            return Err(FieldError::Version { block: block.name.clone(), version: version.to_string() });
        }
        Ok(fields)
    }

    fn name(&self) -> String {
        self.block.name.clone()
    }

    /// The one value of a field that must appear exactly once.
    pub fn one(&self, field: &'static str) -> Result<&'a str, FieldError> {
        let mut values = self.block.all(field);
        let first = values.next().ok_or(FieldError::Missing { block: self.name(), field })?;
        if values.next().is_some() {
            return Err(FieldError::Repeated { block: self.name(), field });
        }
        Ok(first)
    }

    pub fn optional(&self, field: &'static str) -> Result<Option<&'a str>, FieldError> {
        match self.one(field) {
            Ok(v) => Ok(Some(v)),
            Err(FieldError::Missing { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Parses the one value of `field` with `FromStr`.
    pub fn parse<T: FromStr>(&self, field: &'static str) -> Result<T, FieldError>
    where
        T::Err: fmt::Display,
    {
        let value = self.one(field)?;
        value.parse().map_err(|e: T::Err| self.invalid(field, value, e.to_string()))
    }

    pub fn invalid(&self, field: &'static str, value: &str, why: String) -> FieldError {
        FieldError::Invalid { block: self.name(), field, value: value.to_string(), why }
    }

    pub fn items(&self) -> Result<Vec<LineItem>, FieldError> {
        let items: Vec<LineItem> = self
            .block
            .all("Item")
            .map(|v| v.parse().map_err(|e: ItemError| self.invalid("Item", v, e.to_string())))
            .collect::<Result<_, _>>()?;
        if items.len() > MAX_ITEMS {
            return Err(FieldError::TooManyItems { block: self.name(), count: items.len() });
        }
        Ok(items)
    }

    pub fn password(&self) -> Result<PasswordA, FieldError> {
        let value = self.one("Password-A")?;
        PasswordA::parse(value).map_err(|e| self.invalid("Password-A", "<hidden>", e.to_string()))
    }

    pub fn method(&self) -> Result<Method, FieldError> {
        let value = self.one("Method")?;
        value
            .parse()
            .map_err(|()| self.invalid("Method", value, "expected confirm, cheque, board or all".into()))
    }

    /// Checks that priced items add up to `amount` (all must be priced).
    pub fn check_items_total(&self, items: &[LineItem], amount: Money) -> Result<(), FieldError> {
        if items.is_empty() || items.iter().any(|i| i.unit_price.is_none()) {
            return Ok(());
        }
        let sum = Money::sum(items.iter().filter_map(LineItem::line_total));
        match sum {
            Some(s) if s == amount && items.iter().all(|i| i.line_total().is_some()) => Ok(()),
            other => Err(FieldError::ItemsDisagree {
                block: self.name(),
                sum: other.map_or_else(|| "an invalid sum".to_string(), |s| s.to_string()),
                amount: amount.to_string(),
            }),
        }
    }
}

fn with_version(kind: Kind) -> Block {
    let mut block = Block::new(kind.block_name());
    block.push("Version", VERSION);
    block
}

fn push_items(block: &mut Block, items: &[LineItem]) {
    for item in items {
        block.push("Item", item.to_string());
    }
}

impl OrderTerms {
    /// The ORDER or PAYMENT-REQUEST block (`kind` picks which).
    pub fn to_block(&self, kind: Kind) -> Block {
        let mut b = with_version(kind);
        b.push("Order", self.order.to_string())
            .push("Orderer", self.orderer.as_str())
            .push("Merchant", self.merchant.as_str())
            .push("Bank", self.bank.as_str())
            .push("Amount", self.amount.to_string());
        push_items(&mut b, &self.items);
        b.push("Method", self.method.as_str());
        if let Some(board) = &self.board {
            b.push("Board", board.as_str());
        }
        if let Some(nonce) = &self.nonce {
            b.push("Order-Nonce", nonce.to_string());
        }
        b.push("Password-A", self.password.display())
            .push("Created", self.created.to_string())
            .push("Expires", self.expires.to_string());
        b
    }

    /// What a merchant without a catalogue bills for this order: its own
    /// lines, since the bank compares them (PROTOCOL.md 6.1 step 3). An
    /// order without items is billed as one line naming it; a single line
    /// without a price takes what the priced ones leave of the amount,
    /// when that is a whole price per unit. Otherwise the lines cannot be
    /// priced, and the error says why (the merchant refuses the order).
    pub fn billed_as_ordered(&self) -> Result<Vec<LineItem>, String> {
        if self.items.is_empty() {
            let description: String = format!("Order {}", self.order).chars().take(MAX_DESCRIPTION).collect();
            return LineItem::new(1, &description, Some(self.amount))
                .map(|i| vec![i])
                .map_err(|e| e.to_string());
        }
        let unpriced: Vec<&LineItem> = self.items.iter().filter(|i| i.unit_price.is_none()).collect();
        let [line] = unpriced.as_slice() else {
            if unpriced.is_empty() {
                return Ok(self.items.clone());
            }
            return Err(format!(
                "the order's items carry no prices ({} lines without one) and this shop has no catalogue to price them",
                unpriced.len()
            ));
        };
        let priced = Money::sum(self.items.iter().filter_map(LineItem::line_total)).map_or(0, Money::minor);
        let left = self.amount.minor().checked_sub(priced).filter(|left| *left > 0);
        let per_unit = left
            .filter(|left| left % u64::from(line.quantity) == 0)
            .map(|left| left / u64::from(line.quantity))
            .and_then(|minor| Money::new(minor, self.amount.currency()).ok());
        let Some(price) = per_unit else {
            return Err(format!(
                "\"{line}\" has no price, and what the priced lines leave of {} is no whole price for its {} units",
                self.amount, line.quantity
            ));
        };
        Ok(self
            .items
            .iter()
            .map(|i| {
                if i.unit_price.is_none() {
                    LineItem { unit_price: Some(price), ..i.clone() }
                } else {
                    i.clone()
                }
            })
            .collect())
    }

    /// Whether the order id is the one the nonce binds to the orderer.
    pub fn is_bound(&self) -> bool {
        self.nonce.as_ref().is_some_and(|nonce| self.order.is_bound_to(&self.orderer, nonce))
    }

    /// The same terms under a fresh id bound to the orderer.
    pub fn bound(mut self, rng: &mut impl rand::CryptoRng) -> Self {
        let (order, nonce) = OrderId::for_orderer(&self.orderer, rng);
        (self.order, self.nonce) = (order, Some(nonce));
        self
    }

    pub fn from_block(block: &Block) -> Result<Self, FieldError> {
        let f = Fields::new(block)?;
        let amount: Money = f.parse("Amount")?;
        let items = f.items()?;
        f.check_items_total(&items, amount)?;
        let created: Timestamp = f.parse("Created")?;
        let expires: Timestamp = f.parse("Expires")?;
        if expires <= created {
            return Err(f.invalid("Expires", &expires.to_string(), "it is not after Created".into()));
        }
        Ok(OrderTerms {
            order: f.parse("Order")?,
            orderer: f.parse("Orderer")?,
            merchant: f.parse("Merchant")?,
            bank: f.parse("Bank")?,
            amount,
            items,
            password: f.password()?,
            created,
            expires,
            method: f.method()?,
            board: f.optional("Board")?.map(str::to_string),
            nonce: f
                .optional("Order-Nonce")?
                .map(|v| v.parse().map_err(|e: OrderNonceError| f.invalid("Order-Nonce", v, e.to_string())))
                .transpose()?,
        })
    }
}

impl Bill {
    /// The merchant's own BILL block (the ORDER block travels beside it).
    pub fn to_block(&self) -> Block {
        let mut b = with_version(Kind::Bill);
        b.push("Order", self.order.to_string())
            .push("Merchant", self.merchant.as_str())
            .push("Orderer", self.orderer.as_str());
        push_items(&mut b, &self.items);
        b.push("Total", self.total.to_string()).push("Billed", self.billed.to_string());
        b
    }

    pub fn from_blocks(bill: &Block, order: &Block) -> Result<Self, FieldError> {
        let f = Fields::new(bill)?;
        let total: Money = f.parse("Total")?;
        let items = f.items()?;
        if let Some(unpriced) = items.iter().find(|i| i.unit_price.is_none()) {
            return Err(f.invalid("Item", &unpriced.to_string(), "a bill's items need a price".into()));
        }
        f.check_items_total(&items, total)?;
        Ok(Bill {
            order: f.parse("Order")?,
            merchant: f.parse("Merchant")?,
            orderer: f.parse("Orderer")?,
            items,
            total,
            billed: f.parse("Billed")?,
            quoted_order: OrderTerms::from_block(order)?,
        })
    }
}

impl WalletMail {
    pub fn to_block(&self) -> Block {
        let mut b = with_version(Kind::Wallet);
        b.push("Order", self.order.to_string())
            .push("Orderer", self.orderer.as_str())
            .push("Attachment", cheque_filename(&self.order));
        b
    }
}

/// The attachment name of an order's cheque.
pub fn cheque_filename(order: &OrderId) -> String {
    format!("cheque-{}.age", order.as_str())
}

impl Confirm {
    pub fn to_block(&self) -> Block {
        let mut b = with_version(Kind::Confirm);
        b.push("Order", self.order.to_string())
            .push("Orderer", self.orderer.as_str())
            .push("Payee", self.merchant.as_str())
            .push("Amount", self.amount.to_string());
        push_items(&mut b, &self.items);
        b.push("Code", self.code.to_string())
            .push("Expires", self.expires.to_string())
            .push("Attempts-Left", self.attempts_left.to_string());
        if let Some(proof) = &self.proof {
            b.push("Proof", proof.to_string());
        }
        b
    }

    pub fn from_block(block: &Block) -> Result<Self, FieldError> {
        let f = Fields::new(block)?;
        let amount: Money = f.parse("Amount")?;
        let items = f.items()?;
        f.check_items_total(&items, amount)?;
        Ok(Confirm {
            order: f.parse("Order")?,
            orderer: f.parse("Orderer")?,
            merchant: f.parse("Payee")?,
            amount,
            items,
            code: f.parse("Code")?,
            expires: f.parse("Expires")?,
            attempts_left: f.parse("Attempts-Left")?,
            proof: match f.optional("Proof")? {
                Some(_) => Some(f.parse("Proof")?),
                None => None,
            },
        })
    }
}

impl Approve {
    pub fn to_block(&self) -> Block {
        let mut b = with_version(Kind::Approve);
        b.push("Order", self.order.to_string())
            .push("Answer", "OK")
            .push("Password-A", self.password.display())
            .push("Code", self.code.to_string());
        b
    }

    pub fn from_block(block: &Block) -> Result<Self, FieldError> {
        let f = Fields::new(block)?;
        let answer = f.one("Answer")?;
        if !answer.eq_ignore_ascii_case("OK") {
            return Err(f.invalid("Answer", answer, "an APPROVE block answers OK".into()));
        }
        Ok(Approve { order: f.parse("Order")?, password: f.password()?, code: f.parse("Code")? })
    }
}

impl Decline {
    pub fn to_block(&self) -> Block {
        let mut b = with_version(Kind::Decline);
        b.push("Order", self.order.to_string()).push("Answer", "NO");
        if let Some(detail) = &self.detail {
            b.push("Detail", detail.as_str());
        }
        b
    }

    pub fn from_block(block: &Block) -> Result<Self, FieldError> {
        let f = Fields::new(block)?;
        Ok(Decline { order: f.parse("Order")?, detail: f.optional("Detail")?.map(str::to_string) })
    }
}

impl Settled {
    pub fn to_block(&self) -> Block {
        let mut b = with_version(Kind::Settled);
        b.push("Order", self.order.to_string())
            .push("Payer", self.orderer.as_str())
            .push("Payee", self.merchant.as_str())
            .push("Amount", self.amount.to_string())
            .push("Settled", self.settled.to_string())
            .push("Reference", self.reference.as_str());
        b
    }

    pub fn from_block(block: &Block) -> Result<Self, FieldError> {
        let f = Fields::new(block)?;
        Ok(Settled {
            order: f.parse("Order")?,
            orderer: f.parse("Payer")?,
            merchant: f.parse("Payee")?,
            amount: f.parse("Amount")?,
            settled: f.parse("Settled")?,
            reference: f.one("Reference")?.to_string(),
        })
    }
}

impl Rejected {
    pub fn to_block(&self) -> Block {
        let mut b = with_version(Kind::Rejected);
        b.push("Order", self.order.to_string()).push("Reason", self.reason.code());
        // Detail is optional: a rejection with nothing to add leaves it out
        // (readers then show the reason's meaning, PROTOCOL.md 5.9).
        if !self.detail.trim().is_empty() {
            b.push("Detail", self.detail.as_str());
        }
        b
    }

    pub fn from_block(block: &Block) -> Result<Self, FieldError> {
        let f = Fields::new(block)?;
        Ok(Rejected {
            order: f.parse("Order")?,
            reason: f.parse("Reason")?,
            detail: f.optional("Detail")?.unwrap_or_default().to_string(),
        })
    }
}
