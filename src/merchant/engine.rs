//! The merchant's decisions, with no I/O: turn an order into a bill (the
//! orderer's ORDER block kept as received, with A, and a BILL block added),
//! ship on the bank's `settled`, cancel on its `rejected`. An order that
//! asks for a board record (Figs. 3 and 4) is billed only if the shop's
//! own board holds a record that agrees with it (claim 3). An order the
//! shop will not bill is refused to the bank in the bill's place, so the
//! bank ends it and tells the orderer why (PROTOCOL.md 5.9).

use serde::Deserialize;

use crate::protocol::board::{self, CheckedRecord};
use crate::protocol::compose::{self, Draft};
use crate::protocol::item::LineItem;
use crate::protocol::message::{Bill, Body, Rejected};
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

/// Refuses an order for this shop and its bank: the bank gets the
/// refusal in the bill's place.
fn refuse(side: &MerchantSide<'_>, mail: &Incoming, terms: &OrderTerms, why: impl Into<String>) -> Verdict {
    let why = why.into();
    let refusal =
        Rejected { order: terms.order.clone(), reason: RejectReason::MerchantRefused, detail: why.clone() };
    Verdict {
        state: Some(OrderState::Refused),
        note: why,
        send: Some(compose::rejected(&refusal, side.address, side.bank, &mail.thread())),
    }
}

/// Refuses an order this shop's bank has no part in: nobody to tell.
fn refuse_quietly(why: String) -> Verdict {
    Verdict { state: Some(OrderState::Refused), note: why, send: None }
}

/// Decides on one mail. `own_board` holds the order's records on the
/// shop's own board, when the shop keeps one (`None`: it keeps none).
pub fn on_mail(
    side: &MerchantSide<'_>,
    mail: &Incoming,
    current: Option<OrderState>,
    own_board: Option<&[CheckedRecord]>,
    now: Timestamp,
) -> Verdict {
    match &mail.body {
        Body::Order(terms) => match current {
            Some(state) => note(format!("the order was seen before ({}): nothing to do", state.as_str())),
            None => bill(side, mail, terms, own_board, now),
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
        Body::Rejected(r) if mail.from == *side.bank && r.reason == RejectReason::Duplicate => note(format!(
            "the bank refused a second, different mail for this order: {}",
            r.reason.explain(&r.detail)
        )),
        Body::Rejected(r) if mail.from == *side.bank => match current {
            Some(OrderState::Billed) => Verdict {
                state: Some(OrderState::Cancelled),
                note: format!("the bank refused the payment ({}): {}", r.reason, r.reason.explain(&r.detail)),
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

fn bill(
    side: &MerchantSide<'_>,
    mail: &Incoming,
    terms: &OrderTerms,
    own_board: Option<&[CheckedRecord]>,
    now: Timestamp,
) -> Verdict {
    if mail.from != terms.orderer {
        // Not the orderer's own mail: it neither takes the order id nor
        // reaches the bank, so it cannot stand in the way of the real order.
        return note(format!(
            "the order came from {} but names {} as orderer: ignored",
            mail.from, terms.orderer
        ));
    }
    if !terms.is_bound() {
        // An id read off the board, under someone else's order: it is not
        // theirs to take (PROTOCOL.md 2).
        return note(format!(
            "order {} is not bound to {}: its Order-Nonce is missing or does not give that id; ignored",
            terms.order, terms.orderer
        ));
    }
    if terms.merchant != *side.address {
        return refuse_quietly(format!(
            "the order is addressed to the merchant {}, not to this shop",
            terms.merchant
        ));
    }
    if terms.bank != *side.bank {
        return refuse_quietly(format!(
            "the order names the bank {}; this shop is paid through {}",
            terms.bank, side.bank
        ));
    }
    if now >= terms.expires {
        return refuse(side, mail, terms, format!("the order expired at {}", terms.expires));
    }
    let Some(order_block) = &mail.order_block else {
        return refuse(side, mail, terms, "the mail holds no ORDER block to forward");
    };
    if let Some(records) = own_board.filter(|_| terms.method.needs_board())
        && let Err(why) = board_agrees(records, terms)
    {
        return refuse(side, mail, terms, why);
    }
    let items = match price(side.pricing, terms) {
        Ok(items) => items,
        Err(why) => return refuse(side, mail, terms, why),
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

/// Whether the shop's board bears the order out: some record of it whose
/// time agrees with the mail's. (Whose key signed it is the bank's check:
/// only the bank knows the orderer's registered wallet key.)
fn board_agrees(records: &[CheckedRecord], terms: &OrderTerms) -> Result<(), String> {
    if records.is_empty() {
        return Err(format!(
            "the order asks for a board record (method {}) and this shop's board has none for it: \
             it may not be from {}",
            terms.method.as_str(),
            terms.orderer
        ));
    }
    let contradictions: Vec<String> =
        records.iter().filter_map(|r| board::contradiction(r, terms, None)).collect();
    match contradictions.first() {
        Some(why) if contradictions.len() == records.len() => {
            Err(format!("this shop's board contradicts the order: {why}"))
        }
        _ => Ok(()),
    }
}

/// The bill's items: priced lines that add up to the order's amount.
fn price(pricing: &Pricing, terms: &OrderTerms) -> Result<Vec<LineItem>, String> {
    let items: Vec<LineItem> = match pricing {
        Pricing::AsOrdered => terms.billed_as_ordered()?,
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
    use crate::protocol::board::BoardRecord;
    use crate::protocol::cheque::WalletKey;
    use crate::protocol::parse::parse;
    use crate::protocol::{Method, OrderId, PasswordA};

    fn order(items: &[&str], amount: &str) -> Incoming {
        order_by(Method::Confirm, items, amount)
    }

    fn order_by(method: Method, items: &[&str], amount: &str) -> Incoming {
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
            method,
            board: None,
            nonce: None,
        }
        .bound(&mut rand::rng());
        let [mail, _] = compose::order(&terms);
        parse(&mail.build(created, &mut rand::rng()).bytes).unwrap()
    }

    fn catalogue() -> Pricing {
        let text = "[[article]]\ndescription = \"Green tea 100g\"\nprice = \"600 JPY\"\n";
        Pricing::Catalogue(Catalogue::from_toml(text).unwrap())
    }

    fn verdict(pricing: &Pricing, mail: &Incoming) -> Verdict {
        verdict_with(pricing, mail, None)
    }

    fn verdict_with(pricing: &Pricing, mail: &Incoming, own_board: Option<&[CheckedRecord]>) -> Verdict {
        let (shop, bank) = ("shop@shop.test".parse().unwrap(), "bank@bank.test".parse().unwrap());
        let side = MerchantSide { address: &shop, bank: &bank, pricing };
        on_mail(&side, mail, None, own_board, Timestamp(1_795_630_200))
    }

    /// The refusal a verdict sends the bank in the bill's place.
    fn refusal(verdict: &Verdict) -> Rejected {
        let draft = verdict.send.as_ref().expect("a refusal to the bank");
        assert_eq!((draft.from.as_str(), draft.to.as_str()), ("shop@shop.test", "bank@bank.test"));
        let sent = parse(&draft.clone().build(Timestamp(1_795_630_200), &mut rand::rng()).bytes).unwrap();
        let Body::Rejected(r) = sent.body else { panic!("a rejected block: {:?}", sent.body) };
        assert_eq!(r.reason, RejectReason::MerchantRefused);
        r
    }

    #[test]
    fn an_order_not_from_its_orderer_is_ignored_and_told_to_nobody() {
        let mut mail = order(&["Tea"], "600 JPY");
        mail.from = "someone@else.test".parse().unwrap();
        let v = verdict(&Pricing::AsOrdered, &mail);
        assert_eq!((v.state, v.send.is_none()), (None, true), "{}", v.note);
        assert!(v.note.contains("names orderer@buyer.test as orderer"), "{}", v.note);
    }

    #[test]
    fn bills_a_board_order_only_if_the_shops_board_bears_it_out() {
        let mail = order_by(Method::Board, &["Tea"], "600 JPY");
        let Body::Order(terms) = &mail.body else { panic!("an order") };
        let key = WalletKey::from_seed(&[3; 32]);
        let posted = |at: Timestamp| {
            BoardRecord::signed(&terms.order.to_string(), "O.B.", &at.to_string(), &key).check().unwrap()
        };
        let (right, wrong) = (posted(terms.created), posted(terms.created.plus_seconds(3600)));
        let billed = |board: Option<&[CheckedRecord]>| verdict_with(&Pricing::AsOrdered, &mail, board);

        assert_eq!(billed(Some(std::slice::from_ref(&right))).state, Some(OrderState::Billed));
        assert_eq!(billed(None).state, Some(OrderState::Billed), "a shop without a board cannot check");
        let empty = billed(Some(&[]));
        assert_eq!(empty.state, Some(OrderState::Refused));
        assert!(empty.note.contains("board has none for it"), "{}", empty.note);
        assert_eq!(refusal(&empty).detail, empty.note, "the bank is told why");
        let contradicted = billed(Some(std::slice::from_ref(&wrong)));
        assert_eq!(contradicted.state, Some(OrderState::Refused));
        assert!(contradicted.note.contains("contradicts the order"), "{}", contradicted.note);
        let both = [wrong.clone(), right.clone()];
        assert_eq!(billed(Some(&both)).state, Some(OrderState::Billed), "one record agrees");
        // A Fig. 1 order asks for no record: an empty board is no reason to refuse.
        let confirm = order(&["Tea"], "600 JPY");
        assert_eq!(verdict_with(&Pricing::AsOrdered, &confirm, Some(&[])).state, Some(OrderState::Billed));
    }

    /// The items of the bill a verdict sends.
    fn billed_items(verdict: Verdict) -> Vec<String> {
        let bill = verdict.send.expect("a bill");
        let sent = parse(&bill.build(Timestamp(1_795_630_200), &mut rand::rng()).bytes).unwrap();
        let Body::Bill(b) = sent.body else { panic!("a bill: {:?}", sent.body) };
        b.items.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn bills_the_ordered_lines_as_ordered_pricing_one_unpriced_line_from_the_amount() {
        let bill =
            |items: &[&str], amount: &str| billed_items(verdict(&Pricing::AsOrdered, &order(items, amount)));
        assert_eq!(bill(&["2 x Tea @ 300 JPY"], "600 JPY"), ["2 x Tea @ 300 JPY"]);
        assert_eq!(bill(&["2 x Tea"], "600 JPY"), ["2 x Tea @ 300 JPY"]);
        assert_eq!(
            bill(&["Cup @ 100 JPY", "3 x Tea"], "700 JPY"),
            ["1 x Cup @ 100 JPY", "3 x Tea @ 200 JPY"]
        );
        let none = bill(&[], "600 JPY");
        assert_eq!(none.len(), 1);
        assert!(none[0].starts_with("1 x Order ") && none[0].ends_with("@ 600 JPY"), "{none:?}");
        // Lines it cannot price are refused, never billed under another name.
        for (items, why) in [
            (&["Tea", "Cup"][..], "2 lines without one"),
            (&["3 x Tea"][..], "no whole price for its 3 units"),
        ] {
            let v = verdict(&Pricing::AsOrdered, &order(items, "1000 JPY"));
            assert_eq!(v.state, Some(OrderState::Refused), "{items:?}");
            assert!(v.note.contains(why), "{}", v.note);
            assert_eq!(refusal(&v).detail, v.note);
        }
    }

    #[test]
    fn an_order_whose_id_is_not_bound_to_its_orderer_is_ignored() {
        let mail = order(&["Tea @ 600 JPY"], "600 JPY");
        let Body::Order(terms) = &mail.body else { panic!("an order") };
        // Another orderer's id (read off the board), with a nonce of one's own.
        let squatted = OrderTerms { order: OrderId::generate(&mut rand::rng()), ..terms.clone() };
        let [squat, _] = compose::order(&squatted);
        let squat = parse(&squat.build(squatted.created, &mut rand::rng()).bytes).unwrap();
        let v = verdict(&Pricing::AsOrdered, &squat);
        assert_eq!((v.state, v.send.is_none()), (None, true), "{}", v.note);
        assert!(v.note.contains("is not bound to orderer@buyer.test"), "{}", v.note);
        assert_eq!(verdict(&Pricing::AsOrdered, &mail).state, Some(OrderState::Billed));
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
        assert!(unknown.note.contains("not in the catalogue"), "{}", unknown.note);
        assert_eq!(refusal(&unknown).detail, unknown.note);
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
