//! Builds complete RFC 5322 messages for each MailPay step.
//!
//! A [`Draft`] is what a step wants to say; [`Draft::build`] turns it into
//! bytes with mail-builder, with a Message-ID made before anything is sent
//! so that an outbox can record it and never send twice.

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use rand::CryptoRng;

use super::address::EmailAddress;
use super::base32;
use super::block::Block;
use super::headers::Header;
use super::message::{
    Approve, Bill, Confirm, Decline, Kind, OrderTerms, Rejected, Settled, VERSION, WalletMail,
    cheque_filename,
};
use super::order_id::OrderId;
use super::timestamp::Timestamp;

/// The place in a thread a new mail answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Thread {
    /// Message-ID (without angle brackets) of the mail answered.
    pub in_reply_to: Option<String>,
    /// The answered mail's References, then its Message-ID.
    pub references: Vec<String>,
    pub subject: Option<String>,
}

/// One mail to be built.
#[derive(Debug, Clone)]
pub struct Draft {
    pub kind: Kind,
    pub order: OrderId,
    pub from: EmailAddress,
    pub to: EmailAddress,
    pub subject: String,
    /// The human text above the blocks.
    pub text: String,
    pub blocks: Vec<Block>,
    pub attachment: Option<Vec<u8>>,
    pub thread: Thread,
    /// Sent by an agent with no person deciding: `Auto-Submitted: auto-generated`.
    pub automated: bool,
}

/// A built mail, ready for SMTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub kind: Kind,
    pub order: OrderId,
    /// Without angle brackets.
    pub message_id: String,
    pub from: EmailAddress,
    pub to: EmailAddress,
    pub bytes: Vec<u8>,
}

/// `<kind.ORDERID.nonce@sender-domain>`: the order id in every Message-ID,
/// so that replies from any mail client can be matched to their order.
pub fn message_id(kind: Kind, order: &OrderId, sender: &EmailAddress, rng: &mut impl CryptoRng) -> String {
    let mut nonce = [0u8; 5];
    rng.fill_bytes(&mut nonce);
    format!("{}.{}.{}@{}", kind.as_str(), order.as_str(), base32::encode(&nonce), sender.domain())
}

/// The order id inside a MailPay Message-ID, if it is one.
pub fn order_in_message_id(id: &str) -> Option<OrderId> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, _) = id.rsplit_once('@')?;
    let mut parts = local.split('.');
    let (kind, order, _nonce) = (parts.next()?, parts.next()?, parts.next()?);
    (parts.next().is_none() && kind.parse::<Kind>().is_ok()).then_some(())?;
    order.parse().ok()
}

impl Draft {
    pub fn build(self, now: Timestamp, rng: &mut impl CryptoRng) -> Outgoing {
        let message_id = message_id(self.kind, &self.order, &self.from, rng);
        self.build_with_id(now, message_id)
    }

    /// Builds with a Message-ID chosen before (an outbox resending after a crash).
    pub fn build_with_id(self, now: Timestamp, message_id: String) -> Outgoing {
        let mut text = self.text.clone();
        for block in &self.blocks {
            if !text.is_empty() && !text.ends_with("\n\n") {
                text.push('\n');
            }
            text.push_str(&block.render());
        }
        let mut builder = MessageBuilder::new()
            .from(Address::new_address(None::<&str>, self.from.as_str()))
            .to(Address::new_address(None::<&str>, self.to.as_str()))
            .subject(self.subject.as_str())
            .date(Date::new(now.unix()))
            .message_id(MessageId::new(message_id.as_str()))
            .header(Header::Version.name(), Raw::new(VERSION))
            .header(Header::Kind.name(), Raw::new(self.kind.as_str()))
            .header(Header::Order.name(), Raw::new(self.order.as_str()));
        if self.automated {
            builder = builder.header(Header::AutoSubmitted.name(), Raw::new("auto-generated"));
        }
        if let Some(parent) = &self.thread.in_reply_to {
            builder = builder.in_reply_to(MessageId::new(parent.as_str()));
        }
        if !self.thread.references.is_empty() {
            builder =
                builder.references(MessageId::new_list(self.thread.references.iter().map(String::as_str)));
        }
        builder = builder.text_body(text);
        if let Some(bytes) = self.attachment {
            builder = builder.attachment("application/vnd.age", cheque_filename(&self.order), bytes);
        }
        let bytes = builder.write_to_vec().unwrap_or_default();
        Outgoing { kind: self.kind, order: self.order, message_id, from: self.from, to: self.to, bytes }
    }
}

fn reply_subject(thread: &Thread, fallback: String) -> String {
    match &thread.subject {
        Some(s) if s.to_ascii_lowercase().starts_with("re:") => s.clone(),
        Some(s) => format!("Re: {s}"),
        None => fallback,
    }
}

fn item_lines(items: &[super::item::LineItem]) -> String {
    items.iter().map(|i| format!("  {i}\n")).collect()
}

/// The order (to the merchant) and the payment request (to the bank),
/// carrying the same terms and the same A: the two routes of claim 1.
pub fn order(terms: &OrderTerms) -> [Draft; 2] {
    let items = item_lines(&terms.items);
    let order_text = format!(
        "Hello,\n\nI order the following from {merchant}, paid through {bank} with MailPay:\n\n{items}  Amount: {amount}\n\n\
         To bill this order, send your bank the block below unchanged together with\nyour BILL block \
         (see PROTOCOL.md, \"Working by hand\"), or run:\n  mailpay compose bill --reply-to THIS-MAIL.eml\n\n",
        merchant = terms.merchant,
        bank = terms.bank,
        amount = terms.amount,
    );
    let request_text = format!(
        "Hello,\n\nPlease pay {amount} to {merchant} for order {order} when the merchant's bill\n\
         carries the same password A.\n\n{items}\n",
        amount = terms.amount,
        merchant = terms.merchant,
        order = terms.order,
    );
    let draft = |kind: Kind, to: &EmailAddress, subject: String, text: String| Draft {
        kind,
        order: terms.order.clone(),
        from: terms.orderer.clone(),
        to: to.clone(),
        subject,
        text,
        blocks: vec![terms.to_block(kind)],
        attachment: None,
        thread: Thread::default(),
        automated: false,
    };
    [
        draft(Kind::Order, &terms.merchant, format!("Order {}: {}", terms.order, terms.amount), order_text),
        draft(
            Kind::PaymentRequest,
            &terms.bank,
            format!("Payment request {}: {} to {}", terms.order, terms.amount, terms.merchant),
            request_text,
        ),
    ]
}

/// The claim-2 mail carrying the sealed cheque (see `cheque`).
pub fn wallet(wallet: &WalletMail, bank: &EmailAddress) -> Draft {
    Draft {
        kind: Kind::Wallet,
        order: wallet.order.clone(),
        from: wallet.orderer.clone(),
        to: bank.clone(),
        subject: format!("Wallet cheque for order {}", wallet.order),
        text: "The attached cheque is encrypted to the bank's key and signed with mine.\n\
               It is void if opened or altered by anyone else.\n\n"
            .to_string(),
        blocks: vec![wallet.to_block()],
        attachment: Some(wallet.cheque.clone()),
        thread: Thread::default(),
        automated: false,
    }
}

/// The merchant's bill to its bank: its BILL block, then the orderer's
/// ORDER block exactly as received (with A).
pub fn bill(bill: &Bill, order_block: &Block, answering: &Thread) -> Draft {
    let terms = &bill.quoted_order;
    Draft {
        kind: Kind::Bill,
        order: bill.order.clone(),
        from: bill.merchant.clone(),
        to: terms.bank.clone(),
        subject: format!("Bill for order {}: {}", bill.order, bill.total),
        text: format!(
            "Bill for order {} from {}:\n\n{}  Total: {}\n\nThe orderer's order follows unchanged.\n\n",
            bill.order,
            bill.orderer,
            item_lines(&bill.items),
            bill.total
        ),
        blocks: vec![bill.to_block(), order_block.clone()],
        attachment: None,
        thread: answering.clone(),
        automated: true,
    }
}

/// The bank asks the orderer to confirm (Fig. 1). The text tells a person
/// answering by hand exactly what to write, and that the answer may stand
/// above or below the quotation (PROTOCOL.md 5.5, 9). Its lines stay short
/// (at most 62 characters), so that a client that quotes and re-wraps
/// them at 72 columns never leaves a word such as NO alone on a line
/// outside the quotation.
pub fn confirm(confirm: &Confirm, bank: &EmailAddress, answering: &Thread) -> Draft {
    Draft {
        kind: Kind::Confirm,
        order: confirm.order.clone(),
        from: bank.clone(),
        to: confirm.orderer.clone(),
        subject: format!("Confirm payment {}: {} to {}", confirm.order, confirm.amount, confirm.merchant),
        text: format!(
            "{merchant} bills you {amount} for order {order}:\n\n{items}\n\
             To pay, reply to this mail and write these three lines, each\n\
             on a line of its own, with your password A for this order in\n\
             the second line:\n\n  OK\n  Password-A: <your password A for this order>\n  Code: {code}\n\n\
             To refuse, reply and write just the word NO on a line of its\nown.\n\n\
             Your answer may stand above or below the quoted text of this\n\
             mail, wherever your mail program puts it. Do not write both OK\n\
             and NO. You have {left} attempts; the code expires at\n{expires}.\n\n",
            merchant = confirm.merchant,
            amount = confirm.amount,
            order = confirm.order,
            items = item_lines(&confirm.items),
            code = confirm.code,
            left = confirm.attempts_left,
            expires = confirm.expires,
        ),
        blocks: vec![confirm.to_block()],
        attachment: None,
        thread: answering.clone(),
        automated: true,
    }
}

/// The orderer's OK, with A and the code (claim 1, "appends OK and A").
pub fn approve(approve: &Approve, orderer: &EmailAddress, bank: &EmailAddress, answering: &Thread) -> Draft {
    Draft {
        kind: Kind::Approve,
        order: approve.order.clone(),
        from: orderer.clone(),
        to: bank.clone(),
        subject: reply_subject(answering, format!("OK: order {}", approve.order)),
        text: "OK\n\n".to_string(),
        blocks: vec![approve.to_block()],
        attachment: None,
        thread: answering.clone(),
        automated: false,
    }
}

pub fn decline(decline: &Decline, orderer: &EmailAddress, bank: &EmailAddress, answering: &Thread) -> Draft {
    Draft {
        kind: Kind::Decline,
        order: decline.order.clone(),
        from: orderer.clone(),
        to: bank.clone(),
        subject: reply_subject(answering, format!("NO: order {}", decline.order)),
        text: "NO\n\n".to_string(),
        blocks: vec![decline.to_block()],
        attachment: None,
        thread: answering.clone(),
        automated: false,
    }
}

/// The bank's notice that it paid, to the orderer or the merchant.
pub fn settled(settled: &Settled, bank: &EmailAddress, to: &EmailAddress, answering: &Thread) -> Draft {
    Draft {
        kind: Kind::Settled,
        order: settled.order.clone(),
        from: bank.clone(),
        to: to.clone(),
        subject: format!("Paid: order {}, {} to {}", settled.order, settled.amount, settled.merchant),
        text: format!(
            "{amount} moved from {payer} to {payee} for order {order} (reference {reference}).\n\n",
            amount = settled.amount,
            payer = settled.orderer,
            payee = settled.merchant,
            order = settled.order,
            reference = settled.reference,
        ),
        blocks: vec![settled.to_block()],
        attachment: None,
        thread: answering.clone(),
        automated: true,
    }
}

/// A refusal with its reason code: the bank's, to the orderer or the
/// merchant, or the merchant's (`merchant-refused`), to the bank.
pub fn rejected(rejected: &Rejected, from: &EmailAddress, to: &EmailAddress, answering: &Thread) -> Draft {
    Draft {
        kind: Kind::Rejected,
        order: rejected.order.clone(),
        from: from.clone(),
        to: to.clone(),
        subject: format!("Refused: order {} ({})", rejected.order, rejected.reason),
        text: format!(
            "Order {} was refused: {}.\n{}\n\n",
            rejected.order,
            rejected.reason.describe(),
            rejected.detail
        ),
        blocks: vec![rejected.to_block()],
        attachment: None,
        thread: answering.clone(),
        automated: true,
    }
}
