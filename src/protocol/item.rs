//! A line of an order or bill: `2 x Green tea 100g @ 600 JPY`.

use std::fmt;
use std::str::FromStr;

use super::money::{Money, MoneyError};

/// Longest description accepted, in characters.
pub const MAX_DESCRIPTION: usize = 200;
/// Most items one order or bill may list.
pub const MAX_ITEMS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error(
        "{0:?} is not an item line; write \"QUANTITY x DESCRIPTION\" or \"QUANTITY x DESCRIPTION @ PRICE CURRENCY\""
    )]
    Malformed(String),
    #[error("the quantity of {0:?} must be a whole number from 1 to 9999")]
    Quantity(String),
    #[error("an item description is empty")]
    EmptyDescription,
    #[error("an item description is longer than {MAX_DESCRIPTION} characters")]
    LongDescription,
    #[error("the price of item {item:?}: {source}")]
    Price { item: String, source: MoneyError },
}

/// Quantity, description and (in bills, optionally in orders) unit price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    pub quantity: u32,
    pub description: String,
    pub unit_price: Option<Money>,
}

impl LineItem {
    pub fn new(quantity: u32, description: &str, unit_price: Option<Money>) -> Result<Self, ItemError> {
        let description = description.split_whitespace().collect::<Vec<_>>().join(" ");
        if description.is_empty() {
            return Err(ItemError::EmptyDescription);
        }
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(ItemError::LongDescription);
        }
        if !(1..=9999).contains(&quantity) {
            return Err(ItemError::Quantity(quantity.to_string()));
        }
        // Printed without a price, "tea @ 600 JPY" would be read back as priced.
        let reads_as_priced =
            description.rsplit_once(" @ ").is_some_and(|(_, p)| p.starts_with(|c: char| c.is_ascii_digit()));
        if unit_price.is_none() && reads_as_priced {
            return Err(ItemError::Malformed(description));
        }
        Ok(LineItem { quantity, description, unit_price })
    }

    /// Quantity × unit price, when priced.
    pub fn line_total(&self) -> Option<Money> {
        self.unit_price.and_then(|p| p.times(self.quantity))
    }
}

impl fmt::Display for LineItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} x {}", self.quantity, self.description)?;
        if let Some(price) = self.unit_price {
            write!(f, " @ {price}")?;
        }
        Ok(())
    }
}

impl FromStr for LineItem {
    type Err = ItemError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // Runs of white space count as one space, as in a block: a tab before
        // "@" must not hide a price that the printed line would show.
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let text = text.as_str();
        // A bare description means one of it.
        let (quantity, rest) = match text.split_once(' ') {
            Some((q, rest)) if q.bytes().all(|b| b.is_ascii_digit()) => {
                let rest = rest.trim_start();
                // The sign stands alone: "2 xylophone" is not 2 × "ylophone".
                let rest = rest
                    .strip_prefix(['x', 'X', '×'])
                    .filter(|r| r.is_empty() || r.starts_with(' '))
                    .map(str::trim_start)
                    .ok_or_else(|| ItemError::Malformed(text.to_string()))?;
                (q.parse::<u32>().map_err(|_| ItemError::Quantity(q.to_string()))?, rest)
            }
            _ => (1, text),
        };
        // " @ " starts a price only when a figure follows it.
        let (description, price) = match rest.rsplit_once(" @ ") {
            Some((d, p)) if p.trim_start().starts_with(|c: char| c.is_ascii_digit()) => {
                let price =
                    p.parse::<Money>().map_err(|source| ItemError::Price { item: d.to_string(), source })?;
                (d, Some(price))
            }
            _ => (rest, None),
        };
        LineItem::new(quantity, description, price)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_times_sign_stands_alone() {
        assert!(matches!("2 xylophone".parse::<LineItem>(), Err(ItemError::Malformed(_))));
        let i: LineItem = "2 x xylophone".parse().unwrap();
        assert_eq!((i.quantity, i.description.as_str()), (2, "xylophone"));
        let i: LineItem = "3 × 抹茶".parse().unwrap();
        assert_eq!((i.quantity, i.description.as_str()), (3, "抹茶"));
    }

    #[test]
    fn parses_priced_and_unpriced_lines() {
        let i: LineItem = "2 x Green tea 100g @ 600 JPY".parse().unwrap();
        assert_eq!((i.quantity, i.description.as_str()), (2, "Green tea 100g"));
        assert_eq!(i.line_total().unwrap().minor(), 1200);
        let j: LineItem = "Book: \"A @ B\"".parse().unwrap();
        assert_eq!((j.quantity, j.unit_price), (1, None));
        assert_eq!("3 × 抹茶".parse::<LineItem>().unwrap().to_string(), "3 x 抹茶");
    }

    #[test]
    fn refuses_bad_lines() {
        assert!(matches!("0 x tea".parse::<LineItem>(), Err(ItemError::Quantity(_))));
        assert!(matches!("99999999999 x tea".parse::<LineItem>(), Err(ItemError::Quantity(_))));
        assert!(matches!("2 tea".parse::<LineItem>(), Err(ItemError::Malformed(_))));
        assert!(matches!("2 x tea @ 1.5 JPY".parse::<LineItem>(), Err(ItemError::Price { .. })));
        assert!(matches!("2 x  ".parse::<LineItem>(), Err(ItemError::EmptyDescription)));
    }

    #[test]
    fn white_space_reads_as_printed() {
        let i: LineItem = "2\tx tea\t@\n600 JPY".parse().unwrap();
        assert_eq!(i.to_string(), "2 x tea @ 600 JPY");
        assert_eq!(i.to_string().parse::<LineItem>(), Ok(i));
    }
}
