//! Money as an integer count of minor units in an ISO 4217 currency.
//!
//! The currency fixes how many decimal places its major unit has (JPY none,
//! USD two, KWD three); amounts are printed and read with exactly that many,
//! so `1200 JPY` and `12.50 USD` are exact and no float is ever involved.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The largest amount accepted, in minor units: anything larger is a typo or
/// an attack, not a purchase by mail.
pub const MAX_MINOR: u64 = 999_999_999_999;

/// Active ISO 4217 codes and their minor-unit exponents.
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0:?} is not an ISO 4217 currency code")]
    UnknownCurrency(String),
    #[error("{0:?} is not an amount: write digits with at most one decimal point, like 1200 or 12.50")]
    NotANumber(String),
    #[error("{currency} has {exponent} decimal places; {text:?} has more")]
    TooManyDecimals { text: String, currency: Currency, exponent: u8 },
    #[error("the amount must be more than zero")]
    Zero,
    #[error("{0:?} is larger than any payment MailPay accepts")]
    TooLarge(String),
    #[error("{0:?} is not an amount with a currency, like \"1200 JPY\" or \"12.50 USD\"")]
    Malformed(String),
}

/// An ISO 4217 currency from the table of active codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(usize);

impl Currency {
    pub fn code(self) -> &'static str {
        CURRENCIES.get(self.0).map_or("XXX", |c| c.0)
    }

    /// Decimal places of the major unit.
    pub fn exponent(self) -> u8 {
        CURRENCIES.get(self.0).map_or(0, |c| c.1)
    }

    pub fn all() -> impl Iterator<Item = Currency> {
        (0..CURRENCIES.len()).map(Currency)
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        let upper = code.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .position(|(c, _)| *c == upper)
            .map(Currency)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        code.parse().map_err(serde::de::Error::custom)
    }
}

/// A positive amount: minor units in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: u64,
    currency: Currency,
}

impl Money {
    pub fn new(minor: u64, currency: Currency) -> Result<Self, MoneyError> {
        if minor == 0 {
            return Err(MoneyError::Zero);
        }
        if minor > MAX_MINOR {
            return Err(MoneyError::TooLarge(minor.to_string()));
        }
        Ok(Money { minor, currency })
    }

    pub fn minor(self) -> u64 {
        self.minor
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    /// Reads a major-unit amount such as `12.50` in `currency`, exactly.
    pub fn parse_major(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let text = text.trim();
        let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let (whole, fraction) = match text.split_once('.') {
            Some((w, f)) if digits_only(w) && digits_only(f) => (w, f),
            None if digits_only(text) => (text, ""),
            _ => return Err(MoneyError::NotANumber(text.to_string())),
        };
        let exponent = currency.exponent();
        if fraction.len() > usize::from(exponent) {
            return Err(MoneyError::TooManyDecimals { text: text.to_string(), currency, exponent });
        }
        let too_large = || MoneyError::TooLarge(text.to_string());
        let whole = whole.trim_start_matches('0');
        if whole.len() > 15 {
            return Err(too_large());
        }
        let mut minor: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| too_large())? };
        for i in 0..usize::from(exponent) {
            let digit = fraction.as_bytes().get(i).map_or(0, |b| u64::from(b - b'0'));
            minor = minor.checked_mul(10).and_then(|m| m.checked_add(digit)).ok_or_else(too_large)?;
        }
        Money::new(minor, currency)
    }

    /// The major-unit figure without the currency, e.g. `12.50`.
    pub fn major_string(self) -> String {
        let exponent = u32::from(self.currency.exponent());
        let scale = 10u64.pow(exponent);
        if exponent == 0 {
            self.minor.to_string()
        } else {
            format!("{}.{:0width$}", self.minor / scale, self.minor % scale, width = exponent as usize)
        }
    }

    /// `self × quantity`, or `None` past [`MAX_MINOR`].
    pub fn times(self, quantity: u32) -> Option<Money> {
        self.minor.checked_mul(u64::from(quantity)).and_then(|m| Money::new(m, self.currency).ok())
    }

    /// The sum of amounts in one currency; `None` for mixed currencies, an
    /// empty list, or a total past [`MAX_MINOR`].
    pub fn sum(amounts: impl IntoIterator<Item = Money>) -> Option<Money> {
        let mut total: Option<Money> = None;
        for m in amounts {
            total = Some(match total {
                None => m,
                Some(t) if t.currency == m.currency => {
                    Money::new(t.minor.checked_add(m.minor)?, t.currency).ok()?
                }
                Some(_) => return None,
            });
        }
        total
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.major_string(), self.currency)
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    /// Reads `"<amount> <CODE>"`, the form used in MailPay blocks.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(amount), Some(code), None) => Money::parse_major(amount, code.parse()?),
            _ => Err(MoneyError::Malformed(text.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        code.parse().unwrap()
    }

    #[test]
    fn exponents_follow_iso_4217() {
        assert_eq!(cur("JPY").exponent(), 0);
        assert_eq!(cur("usd").exponent(), 2);
        assert_eq!(cur("KWD").exponent(), 3);
        assert_eq!(cur("CLF").exponent(), 4);
        assert!("XYZ".parse::<Currency>().is_err());
    }

    #[test]
    fn parses_and_prints_exactly() {
        assert_eq!("1200 JPY".parse::<Money>().unwrap().minor(), 1200);
        assert_eq!("12.5 USD".parse::<Money>().unwrap().minor(), 1250);
        assert_eq!("12.50 USD".parse::<Money>().unwrap().to_string(), "12.50 USD");
        assert_eq!("0.001 KWD".parse::<Money>().unwrap().to_string(), "0.001 KWD");
        assert_eq!(Money::new(5, cur("EUR")).unwrap().to_string(), "0.05 EUR");
    }

    #[test]
    fn refuses_what_is_not_exact() {
        assert!(matches!("12.5 JPY".parse::<Money>(), Err(MoneyError::TooManyDecimals { .. })));
        assert!(matches!("1.234 USD".parse::<Money>(), Err(MoneyError::TooManyDecimals { .. })));
        assert!(matches!("1e3 USD".parse::<Money>(), Err(MoneyError::NotANumber(_))));
        assert!(matches!("-5 USD".parse::<Money>(), Err(MoneyError::NotANumber(_))));
        assert!(matches!("0 USD".parse::<Money>(), Err(MoneyError::Zero)));
        assert!(matches!("99999999999999999999 JPY".parse::<Money>(), Err(MoneyError::TooLarge(_))));
        assert!(matches!("1000000000000 JPY".parse::<Money>(), Err(MoneyError::TooLarge(_))));
        assert!(matches!("12 USD extra".parse::<Money>(), Err(MoneyError::Malformed(_))));
    }

    #[test]
    fn sums_only_one_currency() {
        let a = Money::new(100, cur("JPY")).unwrap();
        let b = Money::new(250, cur("JPY")).unwrap();
        assert_eq!(Money::sum([a, b]).unwrap().minor(), 350);
        assert_eq!(Money::sum([a, Money::new(1, cur("USD")).unwrap()]), None);
        assert_eq!(a.times(3).unwrap().minor(), 300);
    }
}
