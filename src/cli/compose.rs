//! `mailpay compose KIND ...`: the mails of one step, written as .eml files.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{CliError, read_mail, write};
use crate::protocol::cheque::Cheque;
use crate::protocol::compose::{self as build, Draft};
use crate::protocol::confirmation::{ConfirmationCode, MAX_ATTEMPTS};
use crate::protocol::item::LineItem;
use crate::protocol::message::{Approve, Bill, Body, Confirm, Decline, Rejected, Settled, WalletMail};
use crate::protocol::reason::RejectReason;
use crate::protocol::{
    Currency, EmailAddress, Method, Money, OrderId, OrderTerms, PasswordA, Timestamp, base32,
};

#[derive(Debug, Args)]
pub struct Common {
    /// Folder the .eml files are written to.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// The current time (RFC 3339), for reproducible output.
    #[arg(long, hide = true)]
    now: Option<Timestamp>,
}

#[derive(Debug, Subcommand)]
pub enum Step {
    /// The order (to the merchant) and the payment request (to the bank), with the same A.
    Order {
        #[arg(long)]
        from: EmailAddress,
        #[arg(long)]
        merchant: EmailAddress,
        #[arg(long)]
        bank: EmailAddress,
        /// The amount in major units, e.g. 1200 (JPY) or 12.50 (USD).
        #[arg(long)]
        amount: String,
        #[arg(long)]
        currency: Currency,
        /// An item, "2 x Green tea @ 600 JPY" or just "Green tea"; repeatable.
        #[arg(long = "item")]
        items: Vec<String>,
        /// confirm (Fig. 1), cheque (Fig. 2), board (Fig. 3) or all (Fig. 4).
        #[arg(long, default_value = "confirm", value_parser = parse_method)]
        method: Method,
        /// Your own password A (at least 80 bits); one is generated otherwise.
        #[arg(long)]
        password: Option<String>,
        /// Hours until the order expires.
        #[arg(long, default_value_t = 24)]
        expires_in_hours: u32,
        /// The merchant's bulletin board URL (Figs. 3 and 4).
        #[arg(long)]
        board: Option<String>,
        /// The bank's age recipient (age1...): also write the wallet cheque mail.
        #[arg(long)]
        wallet_key: Option<age::x25519::Recipient>,
        /// File holding your cheque signing key; created if missing.
        #[arg(long, default_value = "cheque-signing.key")]
        signing_key: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// The merchant's bill to its bank, answering an order mail.
    Bill {
        #[arg(long)]
        reply_to: PathBuf,
        /// Billed items, "QTY x DESCRIPTION @ PRICE CUR"; by default the order's.
        #[arg(long = "item")]
        items: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
    /// The bank's confirmation to the orderer, answering a bill.
    Confirm {
        #[arg(long)]
        reply_to: PathBuf,
        /// File with the bank's confirmation secret; created if missing.
        #[arg(long, default_value = "bank-confirm.key")]
        secret: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// The orderer's OK with A, answering a confirmation.
    Approve {
        #[arg(long)]
        reply_to: PathBuf,
        #[arg(long)]
        password: String,
        #[command(flatten)]
        common: Common,
    },
    /// The orderer's refusal, answering a confirmation.
    Decline {
        #[arg(long)]
        reply_to: PathBuf,
        #[arg(long)]
        detail: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// The bank's notice that it paid, answering a bill (to merchant) or an approval (to orderer).
    Settled {
        #[arg(long)]
        reply_to: PathBuf,
        /// The bill, when answering an approval (for amount and payee).
        #[arg(long)]
        bill: Option<PathBuf>,
        #[arg(long)]
        reference: String,
        #[command(flatten)]
        common: Common,
    },
    /// The bank's refusal with a reason code, answering any mail of the order.
    Rejected {
        #[arg(long)]
        reply_to: PathBuf,
        #[arg(long)]
        reason: RejectReason,
        #[arg(long, default_value = "")]
        detail: String,
        #[command(flatten)]
        common: Common,
    },
}

fn parse_method(s: &str) -> Result<Method, String> {
    s.parse().map_err(|()| format!("{s:?}: expected confirm, cheque, board or all"))
}

fn usage(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

fn now(common: &Common) -> Timestamp {
    common.now.unwrap_or_else(|| {
        let secs =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Timestamp::from_unix(i64::try_from(secs).unwrap_or(i64::MAX))
    })
}

pub fn run(step: Step) -> Result<(), CliError> {
    let mut rng = rand::rng();
    let (drafts, common) = match step {
        Step::Order {
            from,
            merchant,
            bank,
            amount,
            currency,
            items,
            method,
            password,
            expires_in_hours,
            board,
            wallet_key,
            signing_key,
            common,
        } => {
            let created = now(&common);
            let password = match password {
                Some(p) => PasswordA::parse(&p).map_err(usage)?,
                None => PasswordA::generate(&mut rng),
            };
            let (order, nonce) = OrderId::for_orderer(&from, &mut rng);
            let terms = OrderTerms {
                order,
                orderer: from,
                merchant,
                bank,
                amount: Money::parse_major(&amount, currency).map_err(usage)?,
                items: items
                    .iter()
                    .map(|i| i.parse::<LineItem>())
                    .collect::<Result<_, _>>()
                    .map_err(usage)?,
                password,
                created,
                expires: created.plus_seconds(i64::from(expires_in_hours) * 3600),
                method,
                board,
                nonce: Some(nonce),
            };
            // Validate the same way a receiver will.
            OrderTerms::from_block(&terms.to_block(crate::protocol::Kind::Order)).map_err(usage)?;
            println!("order {}\npassword A {}", terms.order, terms.password.display());
            let mut drafts: Vec<Draft> = build::order(&terms).into();
            if let Some(recipient) = wallet_key {
                let key = crate::keys::load_or_create_key(&signing_key).map_err(usage)?;
                let sealed = Cheque::for_order(&terms, created).seal(&key, &recipient).map_err(usage)?;
                let wallet =
                    WalletMail { order: terms.order.clone(), orderer: terms.orderer.clone(), cheque: sealed };
                drafts.push(build::wallet(&wallet, &terms.bank));
                println!("cheque signed with {}", key.public());
            }
            (drafts, common)
        }
        Step::Bill { reply_to, items, common } => {
            let order = read_mail(&reply_to)?;
            let (Body::Order(terms), Some(block)) = (&order.body, &order.order_block) else {
                return Err(usage(format!(
                    "{} is a {} mail, not an order",
                    reply_to.display(),
                    order.body.kind()
                )));
            };
            let items: Vec<LineItem> = if items.is_empty() {
                terms.billed_as_ordered().map_err(usage)?
            } else {
                items.iter().map(|i| i.parse()).collect::<Result<_, _>>().map_err(usage)?
            };
            let total = Money::sum(items.iter().filter_map(LineItem::line_total))
                .ok_or_else(|| usage("every billed item needs a price in one currency"))?;
            let bill = Bill {
                order: terms.order.clone(),
                merchant: terms.merchant.clone(),
                orderer: terms.orderer.clone(),
                items,
                total,
                billed: now(&common),
                quoted_order: terms.clone(),
            };
            (vec![build::bill(&bill, block, &order.thread())], common)
        }
        Step::Confirm { reply_to, secret, common } => {
            let bill_mail = read_mail(&reply_to)?;
            let Body::Bill(bill) = &bill_mail.body else {
                return Err(usage(format!("{} is not a bill", reply_to.display())));
            };
            let key = crate::keys::load_or_create_secret(&secret).map_err(usage)?;
            let mut nonce = [0u8; 16];
            rand::Rng::fill_bytes(&mut rng, &mut nonce);
            let terms = &bill.quoted_order;
            let code = ConfirmationCode::compute(
                &key,
                &terms.order,
                bill.total,
                &bill.merchant,
                &terms.password,
                &nonce,
            );
            println!("code {code}\nnonce {}", base32::encode(&nonce));
            let confirm = Confirm {
                order: bill.order.clone(),
                orderer: terms.orderer.clone(),
                merchant: bill.merchant.clone(),
                amount: bill.total,
                items: bill.items.clone(),
                code,
                expires: terms.expires,
                attempts_left: MAX_ATTEMPTS,
                proof: Some(crate::protocol::confirmation::Proof::compute(&terms.password, &terms.order)),
            };
            // The orderer never saw the bill: thread under the orderer's own order mail.
            let thread = crate::protocol::compose::Thread {
                in_reply_to: bill_mail.in_reply_to.first().cloned(),
                references: bill_mail.references.clone(),
                subject: None,
            };
            (vec![build::confirm(&confirm, &terms.bank, &thread)], common)
        }
        Step::Approve { reply_to, password, common } => {
            let mail = read_mail(&reply_to)?;
            let Body::Confirm(confirm) = &mail.body else {
                return Err(usage(format!("{} is not a confirmation", reply_to.display())));
            };
            let approve = Approve {
                order: confirm.order.clone(),
                password: PasswordA::parse(&password).map_err(usage)?,
                code: confirm.code.clone(),
            };
            (vec![build::approve(&approve, &confirm.orderer, &mail.from, &mail.thread())], common)
        }
        Step::Decline { reply_to, detail, common } => {
            let mail = read_mail(&reply_to)?;
            let Body::Confirm(confirm) = &mail.body else {
                return Err(usage(format!("{} is not a confirmation", reply_to.display())));
            };
            let decline = Decline { order: confirm.order.clone(), detail };
            (vec![build::decline(&decline, &confirm.orderer, &mail.from, &mail.thread())], common)
        }
        Step::Settled { reply_to, bill, reference, common } => {
            let mail = read_mail(&reply_to)?;
            let bill_mail = match bill {
                Some(path) => read_mail(&path)?,
                None => mail.clone(),
            };
            let Body::Bill(bill) = &bill_mail.body else {
                return Err(usage("a settlement notice needs the bill: answer the bill, or pass --bill"));
            };
            let settled = Settled {
                order: bill.order.clone(),
                orderer: bill.orderer.clone(),
                merchant: bill.merchant.clone(),
                amount: bill.total,
                settled: now(&common),
                reference,
            };
            let bank = bill.quoted_order.bank.clone();
            (vec![build::settled(&settled, &bank, &mail.from, &mail.thread())], common)
        }
        Step::Rejected { reply_to, reason, detail, common } => {
            let mail = read_mail(&reply_to)?;
            let rejected = Rejected { order: mail.body.order().clone(), reason, detail };
            let bank =
                mail.to.first().cloned().ok_or_else(|| usage("the answered mail has no To address"))?;
            (vec![build::rejected(&rejected, &bank, &mail.from, &mail.thread())], common)
        }
    };
    let now = now(&common);
    for draft in drafts {
        let mail = draft.build(now, &mut rng);
        let path = common.out.join(format!("{}-{}.eml", mail.kind, mail.order.as_str()));
        // Every one holds A, a proof made from it, or the private mail of a
        // payment: owner-only.
        write(&path, &mail.bytes, true)?;
        println!("{} -> {}: {}", mail.from, mail.to, path.display());
    }
    Ok(())
}
