//! The merchant's decisions, with no I/O: turn an order into a bill (the
//! orderer's ORDER block kept as received, with A, and a BILL block added),
//! ship on the bank's `settled`, cancel on its `rejected`.

use serde::Deserialize;

use crate::protocol::compose::{self, Draft};
use crate::protocol::item::{LineItem, MAX_DESCRIPTION};
use crate::protocol::message::{Bill, Body};
use crate::protocol::parse::Incoming;
use crate::protocol::reason::RejectReason;
use crate::protocol::{EmailAddress, Money, OrderTerms, Timestamp};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArticleEntry {
    description: String,
    /// `"600 JPY"`.
    price: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    #[serde(default, rename = "article")]
    articles: Vec<ArticleEntry>,
}

/// The catalogue: a TOML file of `[[article]]` tables with a
/// `description` and a `price` such as `"600 JPY"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    pub articles: Vec<(String, Money)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("the catalogue is not valid TOML with [[article]] tables of description and price: {0}")]
    Toml(String),
    #[error("the catalogue's price {price:?} for {description:?} is invalid: {why}")]
    Price { description: String, price: String, why: String },
}

impl Catalogue {
    pub fn from_toml(text: &str) -> Result<Catalogue, CatalogueError> {
        let file: CatalogueFile = toml::from_str(text).map_err(|e| CatalogueError::Toml(e.to_string()))?;
        let articles = file
            .articles
            .into_iter()
            .map(|a| match a.price.parse::<Money>() {
                Ok(price) => Ok((a.description, price)),
                Err(e) => Err(CatalogueError::Price {
                    description: a.description,
                    price: a.price,
                    why: e.to_string(),
                }),
            })
            .collect::<Result<_, _>>()?;
        Ok(Catalogue { articles })
    }

    pub fn price_of(&self, description: &str) -> Option<Money> {
        let wanted = description.trim().to_lowercase();
        self.articles.iter().find(|(d, _)| d.trim().to_lowercase() == wanted).map(|(_, p)| *p)
    }
}

/// How the merchant prices an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pricing {
    /// Bill what the orderer ordered at the prices he wrote.
    AsOrdered,
    /// Every item must be in the catalogue at the price the order states.
    Catalogue(Catalogue),
}

/// How an order stands at the merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    Billed,
    Shipped,
    Cancelled,
    /// Not billed: the order cannot be filled as written.
    Refused,
}

impl OrderState {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Billed => "billed",
            OrderState::Shipped => "shipped",
            OrderState::Cancelled => "cancelled",
            OrderState::Refused => "refused",
        }
    }

    pub fn parse(text: &str) -> Option<OrderState> {
        [OrderState::Billed, OrderState::Shipped, OrderState::Cancelled, OrderState::Refused]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

pub struct MerchantSide<'a> {
    pub address: &'a EmailAddress,
    /// The bank the merchant is paid through.
    pub bank: &'a EmailAddress,
    pub pricing: &'a Pricing,
}

/// What to do with one mail.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The order's new state, when it changes.
    pub state: Option<OrderState>,
    pub note: String,
    pub send: Option<Draft>,
}

fn note(text: impl Into<String>) -> Verdict {
    Verdict { state: None, note: text.into(), send: None }
}

fn refuse(text: impl Into<String>) -> Verdict {
    Verdict { state: Some(OrderState::Refused), note: text.into(), send: None }
}

pub fn on_mail(
    side: &MerchantSide<'_>,
    mail: &Incoming,
    current: Option<OrderState>,
    now: Timestamp,
) -> Verdict {
    match &mail.body {
        Body::Order(terms) => match current {
            Some(state) => note(format!("the order was seen before ({}): nothing to do", state.as_str())),
            None => bill(side, mail, terms, now),
        },
        Body::Settled(s) if mail.from == *side.bank => {
            if s.merchant != *side.address {
                return note(format!("a settlement notice for another merchant ({}): ignored", s.merchant));
            }
            match current {
                Some(OrderState::Billed) => Verdict {
                    state: Some(OrderState::Shipped),
                    note: format!("paid {} (reference {}): shipped", s.amount, s.reference),
                    send: None,
                },
                Some(state) => note(format!("a settlement notice for an order already {}", state.as_str())),
                None => note("a settlement notice for an order this shop never billed"),
            }
        }
        Body::Rejected(r) if mail.from == *side.bank && r.reason == RejectReason::Duplicate => {
            note(format!("the bank refused a second, different mail for this order: {}", r.detail))
        }
        Body::Rejected(r) if mail.from == *side.bank => match current {
            Some(OrderState::Billed) => Verdict {
                state: Some(OrderState::Cancelled),
                note: format!("the bank refused the payment ({}): {}", r.reason, r.detail),
                send: None,
            },
            _ => note(format!("a rejection ({}) for an order not awaiting payment", r.reason)),
        },
        Body::Settled(_) | Body::Rejected(_) => note(format!(
            "a bank notice from {}, not from this shop's bank {}: ignored",
            mail.from, side.bank
        )),
        other => note(format!("a {} is not a mail the merchant acts on", other.kind())),
    }
}

fn bill(side: &MerchantSide<'_>, mail: &Incoming, terms: &OrderTerms, now: Timestamp) -> Verdict {
    if terms.merchant != *side.address {
        return refuse(format!(
            "the order is addressed to the merchant {}, not to this shop",
            terms.merchant
        ));
    }
    if terms.bank != *side.bank {
        return refuse(format!(
            "the order names the bank {}; this shop is paid through {}",
            terms.bank, side.bank
        ));
    }
    if mail.from != terms.orderer {
        return refuse(format!("the order came from {} but names {} as orderer", mail.from, terms.orderer));
    }
    if now >= terms.expires {
        return refuse(format!("the order expired at {}", terms.expires));
    }
    let Some(order_block) = &mail.order_block else {
        return refuse("the mail holds no ORDER block to forward");
    };
    let items = match price(side.pricing, terms) {
        Ok(items) => items,
        Err(why) => return refuse(why),
    };
    let bill = Bill {
        order: terms.order.clone(),
        merchant: side.address.clone(),
        orderer: terms.orderer.clone(),
        items,
        total: terms.amount,
        billed: now,
        quoted_order: terms.clone(),
    };
    Verdict {
        state: Some(OrderState::Billed),
        note: format!("billed {} to {} through {}", terms.amount, terms.orderer, terms.bank),
        send: Some(compose::bill(&bill, order_block, &mail.thread())),
    }
}

/// The bill's items: priced lines that add up to the order's amount.
fn price(pricing: &Pricing, terms: &OrderTerms) -> Result<Vec<LineItem>, String> {
    let items: Vec<LineItem> = match pricing {
        Pricing::AsOrdered => {
            if !terms.items.is_empty() && terms.items.iter().all(|i| i.unit_price.is_some()) {
                terms.items.clone()
            } else {
                let text = format!("Order {}", terms.order);
                let description: String = text.chars().take(MAX_DESCRIPTION).collect();
                vec![LineItem::new(1, &description, Some(terms.amount)).map_err(|e| e.to_string())?]
            }
        }
        Pricing::Catalogue(catalogue) => {
            if terms.items.is_empty() {
                return Err("the order lists no items to price from the catalogue".into());
            }
            let mut priced = Vec::new();
            for item in &terms.items {
                let price = catalogue
                    .price_of(&item.description)
                    .ok_or_else(|| format!("{:?} is not in the catalogue", item.description))?;
                if item.unit_price.is_some_and(|p| p != price) {
                    return Err(format!(
                        "the order prices {:?} differently from the catalogue ({price})",
                        item.description
                    ));
                }
                priced.push(
                    LineItem::new(item.quantity, &item.description, Some(price))
                        .map_err(|e| e.to_string())?,
                );
            }
            priced
        }
    };
    let total = Money::sum(items.iter().filter_map(LineItem::line_total));
    if total != Some(terms.amount) {
        let total = total.map_or_else(|| "an amount out of range".to_string(), |t| t.to_string());
        return Err(format!("the items come to {total}, but the order says {}", terms.amount));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse::parse;
    use crate::protocol::{Method, OrderId, PasswordA};

    fn order(items: &[&str], amount: &str) -> Incoming {
        let created = Timestamp(1_795_630_158);
        let terms = OrderTerms {
            order: OrderId::generate(&mut rand::rng()),
            orderer: "orderer@buyer.test".parse().unwrap(),
            merchant: "shop@shop.test".parse().unwrap(),
            bank: "bank@bank.test".parse().unwrap(),
            amount: amount.parse().unwrap(),
            items: items.iter().map(|i| i.parse().unwrap()).collect(),
            password: PasswordA::generate(&mut rand::rng()),
            created,
            expires: created.plus_seconds(3600),
            method: Method::Confirm,
            board: None,
        };
        let [mail, _] = compose::order(&terms);
        parse(&mail.build(created, &mut rand::rng()).bytes).unwrap()
    }

    fn catalogue() -> Pricing {
        let text = "[[article]]\ndescription = \"Green tea 100g\"\nprice = \"600 JPY\"\n";
        Pricing::Catalogue(Catalogue::from_toml(text).unwrap())
    }

    fn verdict(pricing: &Pricing, mail: &Incoming) -> Verdict {
        let (shop, bank) = ("shop@shop.test".parse().unwrap(), "bank@bank.test".parse().unwrap());
        on_mail(&MerchantSide { address: &shop, bank: &bank, pricing }, mail, None, Timestamp(1_795_630_200))
    }

    #[test]
    fn bills_catalogue_prices_and_keeps_the_order_block() {
        let mail = order(&["2 x green tea 100g"], "1200 JPY");
        let v = verdict(&catalogue(), &mail);
        assert_eq!(v.state, Some(OrderState::Billed), "{}", v.note);
        let bill = v.send.unwrap();
        assert_eq!(bill.to.as_str(), "bank@bank.test");
        assert!(
            bill.blocks.iter().any(|b| Some(b) == mail.order_block.as_ref()),
            "the ORDER block goes on unchanged"
        );
        let sent = parse(&bill.build(Timestamp(1_795_630_200), &mut rand::rng()).bytes).unwrap();
        let Body::Bill(b) = sent.body else { panic!("a bill") };
        assert_eq!(b.total.to_string(), "1200 JPY");
        assert_eq!(b.items[0].unit_price.map(|p| p.to_string()).as_deref(), Some("600 JPY"));
    }

    #[test]
    fn refuses_what_the_catalogue_does_not_price_so() {
        let cheap = verdict(&catalogue(), &order(&["2 x Green tea 100g @ 500 JPY"], "1000 JPY"));
        assert_eq!(cheap.state, Some(OrderState::Refused));
        assert!(cheap.note.contains("differently from the catalogue"), "{}", cheap.note);
        let unknown = verdict(&catalogue(), &order(&["Sencha"], "600 JPY"));
        assert!(unknown.note.contains("not in the catalogue") && unknown.send.is_none(), "{}", unknown.note);
        let short = verdict(&catalogue(), &order(&["Green tea 100g"], "1000 JPY"));
        assert!(short.note.contains("come to 600 JPY"), "{}", short.note);
        assert!(Catalogue::from_toml("[[article]]\ndescription = \"x\"\nprice = \"12.345 JPY\"\n").is_err());
    }

    #[test]
    fn bills_as_ordered_without_a_catalogue() {
        let v = verdict(&Pricing::AsOrdered, &order(&["Something unpriced"], "777 JPY"));
        assert_eq!(v.state, Some(OrderState::Billed), "{}", v.note);
    }
}
