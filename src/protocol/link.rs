//! `mailpay:` links: a merchant's "pay by mail" link (PROTOCOL.md, section 11).
//!
//! ```text
//! mailpay:shop@example.com?name=Example%20Shop&bank=settle@bank.example&amount=1200&currency=JPY&ref=INV-42
//! ```
//! The path is the merchant's address; the query carries the rest, each
//! key at most once, values percent-encoded as UTF-8. Unknown keys are an
//! error: a link that means more than this wallet understands is refused,
//! not half-read.

use std::fmt;

use super::address::EmailAddress;
use super::message::Method;
use super::money::{Currency, Money};

/// Longest link accepted, in bytes.
pub const MAX_LEN: usize = 2048;

/// What a `mailpay:` link says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub merchant: EmailAddress,
    /// The merchant's display name.
    pub name: Option<String>,
    /// The bank the merchant is paid through.
    pub bank: Option<EmailAddress>,
    /// The amount asked for; present only together with its currency.
    pub amount: Option<Money>,
    /// The merchant's reference for this purchase (invoice, cart).
    pub reference: Option<String>,
    /// The merchant's bulletin board (claim 3).
    pub board: Option<String>,
    /// The figures of the method the merchant accepts; empty = not said.
    pub figures: Vec<Method>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("a MailPay link starts with \"mailpay:\"")]
    Scheme,
    #[error("the link is longer than {MAX_LEN} bytes")]
    TooLong,
    #[error("the link's merchant address is invalid: {0}")]
    Merchant(String),
    #[error("the link's {key} is invalid: {why}")]
    Invalid { key: &'static str, why: String },
    #[error("the link gives {0} more than once")]
    Repeated(String),
    #[error("the link has a key this wallet does not know: {0}")]
    Unknown(String),
    #[error("the link gives an amount without its currency (or a currency without an amount)")]
    HalfAmount,
    #[error("the link has a broken %-escape")]
    Escape,
}

/// Reads a link.
pub fn parse(text: &str) -> Result<Link, LinkError> {
    let text = text.trim();
    if text.len() > MAX_LEN {
        return Err(LinkError::TooLong);
    }
    let rest = strip_scheme(text).ok_or(LinkError::Scheme)?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let merchant: EmailAddress = decode(path)?
        .parse()
        .map_err(|e: super::address::AddressError| LinkError::Merchant(e.to_string()))?;
    let mut link = Link {
        merchant,
        name: None,
        bank: None,
        amount: None,
        reference: None,
        board: None,
        figures: Vec::new(),
    };
    let mut seen: Vec<String> = Vec::new();
    let (mut amount, mut currency) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(key)?;
        if seen.contains(&key) {
            return Err(LinkError::Repeated(key));
        }
        let value = decode(value)?;
        match key.as_str() {
            "name" => link.name = Some(text_value("name", value)?),
            "bank" => {
                link.bank = Some(value.parse().map_err(|e: super::address::AddressError| {
                    LinkError::Invalid { key: "bank", why: e.to_string() }
                })?)
            }
            "amount" => amount = Some(value),
            "currency" => {
                currency = Some(
                    value
                        .parse::<Currency>()
                        .map_err(|e| LinkError::Invalid { key: "currency", why: e.to_string() })?,
                )
            }
            "ref" => link.reference = Some(text_value("ref", value)?),
            "board" => {
                if !value.starts_with("https://") {
                    return Err(LinkError::Invalid {
                        key: "board",
                        why: "the board must be an https:// address".into(),
                    });
                }
                if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
                    return Err(LinkError::Invalid {
                        key: "board",
                        why: "control characters and spaces are not allowed in the board's address".into(),
                    });
                }
                link.board = Some(value);
            }
            "figs" => {
                for figure in value.split(',') {
                    let Some(method) = Method::from_figure(figure) else {
                        return Err(LinkError::Invalid {
                            key: "figs",
                            why: format!("{:?} is not a figure 1 to 4", figure.trim()),
                        });
                    };
                    if !link.figures.contains(&method) {
                        link.figures.push(method);
                    }
                }
            }
            _ => return Err(LinkError::Unknown(key)),
        }
        seen.push(key);
    }
    link.amount = match (amount, currency) {
        (Some(figure), Some(currency)) => Some(
            Money::parse_major(&figure, currency)
                .map_err(|e| LinkError::Invalid { key: "amount", why: e.to_string() })?,
        ),
        (None, None) => None,
        _ => return Err(LinkError::HalfAmount),
    };
    Ok(link)
}

fn strip_scheme(text: &str) -> Option<&str> {
    let (scheme, rest) = text.split_once(':')?;
    scheme.eq_ignore_ascii_case("mailpay").then_some(rest.trim_start_matches("//"))
}

fn text_value(key: &'static str, value: String) -> Result<String, LinkError> {
    if value.chars().any(char::is_control) {
        return Err(LinkError::Invalid { key, why: "control characters are not allowed".into() });
    }
    if value.chars().count() > 200 {
        return Err(LinkError::Invalid { key, why: "longer than 200 characters".into() });
    }
    Ok(value)
}

/// Percent-decoding as UTF-8; `+` stays a plus (this is not a form).
fn decode(text: &str) -> Result<String, LinkError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(LinkError::Escape)?;
            let hex = std::str::from_utf8(hex).map_err(|_| LinkError::Escape)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| LinkError::Escape)?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| LinkError::Escape)
}

fn encode(text: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            write!(f, "{}", b as char)?;
        } else {
            write!(f, "%{b:02X}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mailpay:")?;
        encode(self.merchant.as_str(), f)?;
        let mut sep = '?';
        let mut pair = |f: &mut fmt::Formatter<'_>, key: &str, value: &str| -> fmt::Result {
            write!(f, "{sep}{key}=")?;
            sep = '&';
            encode(value, f)
        };
        if let Some(name) = &self.name {
            pair(f, "name", name)?;
        }
        if let Some(bank) = &self.bank {
            pair(f, "bank", bank.as_str())?;
        }
        if let Some(amount) = self.amount {
            pair(f, "amount", &amount.major_string())?;
            pair(f, "currency", amount.currency().code())?;
        }
        if let Some(reference) = &self.reference {
            pair(f, "ref", reference)?;
        }
        if let Some(board) = &self.board {
            pair(f, "board", board)?;
        }
        if !self.figures.is_empty() {
            let figs: Vec<String> = self.figures.iter().map(|m| m.figure().to_string()).collect();
            pair(f, "figs", &figs.join(","))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn reads_a_full_link() {
        let link = parse("mailpay:shop@example.com?name=Example%20Shop&bank=settle@bank.example&amount=1200&currency=JPY&ref=INV-42&board=https%3A%2F%2Fshop.example%2Fboard&figs=1,3").unwrap();
        assert_eq!(link.merchant.as_str(), "shop@example.com");
        assert_eq!(link.name.as_deref(), Some("Example Shop"));
        assert_eq!(link.bank.as_ref().map(EmailAddress::as_str), Some("settle@bank.example"));
        let amount = link.amount.unwrap();
        assert_eq!((amount.minor(), amount.currency().code()), (1200, "JPY"));
        assert_eq!(link.reference.as_deref(), Some("INV-42"));
        assert_eq!(link.board.as_deref(), Some("https://shop.example/board"));
        assert_eq!(link.figures, vec![Method::Confirm, Method::Board]);
    }

    #[test]
    fn amounts_are_exact_in_minor_units() {
        let link = parse("mailpay:shop@example.com?amount=19.99&currency=EUR").unwrap();
        assert_eq!(link.amount.unwrap().minor(), 1999);
        assert!(matches!(
            parse("mailpay:shop@example.com?amount=1.5&currency=JPY"),
            Err(LinkError::Invalid { key: "amount", .. })
        ));
        assert_eq!(parse("mailpay:shop@example.com?amount=10"), Err(LinkError::HalfAmount));
    }

    #[test]
    fn japanese_names_survive_encoding() {
        let link = Link {
            merchant: "shop@example.jp".parse().unwrap(),
            name: Some("山田商店 & Co".into()),
            bank: None,
            amount: None,
            reference: Some("注文 7".into()),
            board: None,
            figures: vec![Method::All],
        };
        let text = link.to_string();
        assert!(text.is_ascii(), "{text}");
        assert_eq!(parse(&text).unwrap(), link);
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        assert_eq!(parse("mailto:shop@example.com"), Err(LinkError::Scheme));
        assert!(matches!(parse("mailpay:not-an-address"), Err(LinkError::Merchant(_))));
        assert_eq!(parse("mailpay:shop@example.com?tip=5"), Err(LinkError::Unknown("tip".into())));
        assert_eq!(parse("mailpay:shop@example.com?ref=a&ref=b"), Err(LinkError::Repeated("ref".into())));
        assert_eq!(parse("mailpay:shop@example.com?name=%E3%8"), Err(LinkError::Escape));
        assert!(matches!(
            parse("mailpay:shop@example.com?board=http://x"),
            Err(LinkError::Invalid { key: "board", .. })
        ));
        assert!(matches!(
            parse("mailpay:shop@example.com?figs=5"),
            Err(LinkError::Invalid { key: "figs", .. })
        ));
        assert!(matches!(
            parse("mailpay:shop@example.com?name=a%0Ab"),
            Err(LinkError::Invalid { key: "name", .. })
        ));
        assert_eq!(
            parse(&format!("mailpay:shop@example.com?ref={}", "x".repeat(MAX_LEN))),
            Err(LinkError::TooLong)
        );
    }

    #[test]
    fn scheme_is_case_insensitive_and_slashes_are_tolerated() {
        assert_eq!(parse("MAILPAY://shop@example.com").unwrap().merchant.as_str(), "shop@example.com");
    }
}
