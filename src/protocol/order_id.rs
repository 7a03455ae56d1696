//! The order id: 80 bits in 16 Crockford symbols, printed
//! `XXXX-XXXX-XXXX-XXXX`. It names one order in every mail, Message-ID and
//! ledger row; it is not a secret.
//!
//! An order's id is bound to its orderer: it is the first 80 bits of a
//! SHA-256 over the orderer's address and a random [`OrderNonce`] that
//! travels in the order and the payment request (PROTOCOL.md 2). Anyone
//! can read an id off the public board, but nobody can make an order of
//! their own with that id: the bank and the merchant take an order only
//! from the orderer its id is bound to.

use std::fmt;
use std::str::FromStr;

use rand::CryptoRng;
use sha2::{Digest, Sha256};

use super::address::EmailAddress;
use super::base32;

const SYMBOLS: usize = 16;
const NONCE_SYMBOLS: usize = 26;
/// What the hash that binds an id starts with.
const BINDING_DOMAIN: &[u8] = b"MailPay order id 1\n";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an order id: expected 16 symbols like 7KQ3-M9ZX-P2VD-H4TR")]
pub struct OrderIdError(pub String);

/// A canonical order id (16 uppercase Crockford symbols, no hyphens).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderId(String);

impl OrderId {
    /// 80 random bits: an id bound to nobody, for what is not an order
    /// (tests of the board, records that are not orders).
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; 10];
        rng.fill_bytes(&mut bytes);
        OrderId(base32::encode(&bytes))
    }

    /// A new order's id, bound to `orderer` by a fresh nonce.
    pub fn for_orderer(orderer: &EmailAddress, rng: &mut impl CryptoRng) -> (OrderId, OrderNonce) {
        let nonce = OrderNonce::generate(rng);
        (OrderId::bound(orderer, &nonce), nonce)
    }

    /// The id that `nonce` binds to `orderer`: the first 80 bits of
    /// SHA-256("MailPay order id 1" LF, address, LF, nonce symbols).
    pub fn bound(orderer: &EmailAddress, nonce: &OrderNonce) -> OrderId {
        let digest = Sha256::new()
            .chain_update(BINDING_DOMAIN)
            .chain_update(orderer.as_str().as_bytes())
            .chain_update(b"\n")
            .chain_update(nonce.0.as_bytes())
            .finalize();
        OrderId(base32::encode(digest.get(..10).unwrap_or_default()))
    }

    /// Whether this id is the one `nonce` binds to `orderer`.
    pub fn is_bound_to(&self, orderer: &EmailAddress, nonce: &OrderNonce) -> bool {
        *self == OrderId::bound(orderer, nonce)
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

/// The random half of an order id's binding: 128 bits in 26 Crockford
/// symbols, printed in groups of four like the id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderNonce(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an order nonce: expected 26 Crockford symbols")]
pub struct OrderNonceError(pub String);

impl OrderNonce {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        OrderNonce(base32::encode(&bytes))
    }

    /// The canonical symbols.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for OrderNonce {
    type Err = OrderNonceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match base32::normalize(text) {
            Ok(s) if s.len() == NONCE_SYMBOLS => Ok(OrderNonce(s)),
            _ => Err(OrderNonceError(text.to_string())),
        }
    }
}

impl fmt::Display for OrderNonce {
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
    fn an_id_is_bound_to_one_orderer_by_its_nonce() {
        let taro: EmailAddress = "taro@home.test".parse().unwrap_or_else(|e| panic!("{e}"));
        let mallory: EmailAddress = "mallory@evil.test".parse().unwrap_or_else(|e| panic!("{e}"));
        let (id, nonce) = OrderId::for_orderer(&taro, &mut rand::rng());
        assert!(id.is_bound_to(&taro, &nonce));
        assert!(!id.is_bound_to(&mallory, &nonce));
        assert!(!id.is_bound_to(&taro, &OrderNonce::generate(&mut rand::rng())));
        assert_eq!(nonce.to_string().parse::<OrderNonce>(), Ok(nonce));
    }

    #[test]
    fn wrong_length_or_symbols_are_refused() {
        assert!("7KQ3-M9ZX".parse::<OrderId>().is_err());
        assert!("7KQ3-M9ZX-P2VD-H4T!".parse::<OrderId>().is_err());
    }
}
