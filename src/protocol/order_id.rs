//! The order id: 80 random bits in 16 Crockford symbols, printed
//! `XXXX-XXXX-XXXX-XXXX`. It names one order in every mail, Message-ID and
//! ledger row; it is not a secret.

use std::fmt;
use std::str::FromStr;

use rand::CryptoRng;

use super::base32;

const SYMBOLS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an order id: expected 16 symbols like 7KQ3-M9ZX-P2VD-H4TR")]
pub struct OrderIdError(pub String);

/// A canonical order id (16 uppercase Crockford symbols, no hyphens).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderId(String);

impl OrderId {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; 10];
        rng.fill_bytes(&mut bytes);
        OrderId(base32::encode(&bytes))
    }

    /// The canonical symbols, as used inside Message-IDs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for OrderId {
    type Err = OrderIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match base32::normalize(text) {
            Ok(s) if s.len() == SYMBOLS => Ok(OrderId(s)),
            _ => Err(OrderIdError(text.to_string())),
        }
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base32::group(&self.0, 4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_print_and_parse_back() {
        let id = OrderId::generate(&mut rand::rng());
        let shown = id.to_string();
        assert_eq!(shown.len(), 19);
        assert_eq!(shown.parse::<OrderId>(), Ok(id.clone()));
        assert_eq!(shown.to_lowercase().replace('-', " ").parse::<OrderId>(), Ok(id));
    }

    #[test]
    fn wrong_length_or_symbols_are_refused() {
        assert!("7KQ3-M9ZX".parse::<OrderId>().is_err());
        assert!("7KQ3-M9ZX-P2VD-H4T!".parse::<OrderId>().is_err());
    }
}
