//! The confirmation code of Fig. 1, with dynamic linking (PSD2 RTS Art. 5).
//!
//! A is made before the merchant bills, so A alone cannot be bound to the
//! amount. The bank's confirmation therefore carries a fresh code computed
//! with a key only the bank holds over the order id, the amount, the payee,
//! A and a nonce; the orderer's OK must echo it. Change the amount or the
//! payee and the code the bank recomputes no longer matches.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::address::EmailAddress;
use super::base32;
use super::money::Money;
use super::order_id::OrderId;
use super::password::PasswordA;

/// Symbols in a code: 8 × 5 = 40 bits, at most 5 guesses allowed.
const SYMBOLS: usize = 8;
/// Wrong answers after which the bank blocks the order.
pub const MAX_ATTEMPTS: u8 = 5;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a confirmation code: expected 8 symbols like 4F7K-Q2MX")]
pub struct CodeError(pub String);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConfirmationCode(String);

impl ConfirmationCode {
    /// The code for this order, amount, payee and A under the bank's key.
    pub fn compute(
        bank_key: &[u8],
        order: &OrderId,
        amount: Money,
        payee: &EmailAddress,
        password: &PasswordA,
        nonce: &[u8],
    ) -> Self {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(bank_key) else {
            unreachable!("HMAC takes keys of any length")
        };
        for part in [
            b"MailPay-Confirm-v1".as_slice(),
            order.as_str().as_bytes(),
            amount.minor().to_string().as_bytes(),
            amount.currency().code().as_bytes(),
            payee.as_str().as_bytes(),
            &password.hash().0,
            nonce,
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        let tag = mac.finalize().into_bytes();
        let symbols = base32::encode(tag.get(..5).unwrap_or_default());
        ConfirmationCode(symbols)
    }

    /// Compares in time independent of where the codes differ.
    pub fn matches(&self, other: &ConfirmationCode) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl FromStr for ConfirmationCode {
    type Err = CodeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match base32::normalize(text) {
            Ok(s) if s.len() == SYMBOLS => Ok(ConfirmationCode(s)),
            _ => Err(CodeError(text.to_string())),
        }
    }
}

impl fmt::Display for ConfirmationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base32::group(&self.0, 4))
    }
}

/// The bank's proof, in its confirmation, that it knows the order's A
/// (it read it in the payment request): an HMAC under A of the order id.
/// Whoever forges the bank's From without knowing A cannot make it, so
/// the wallet never answers such a mail, even with no DKIM verdict at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof(String);

/// Symbols in a proof: 16 × 5 = 80 bits.
const PROOF_SYMBOLS: usize = 16;

impl Proof {
    pub fn compute(password: &PasswordA, order: &OrderId) -> Self {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(password.expose().as_bytes()) else {
            unreachable!("HMAC takes keys of any length")
        };
        mac.update(b"MailPay-A-Proof-v1\0");
        mac.update(order.as_str().as_bytes());
        let tag = mac.finalize().into_bytes();
        Proof(base32::encode(tag.get(..10).unwrap_or_default()))
    }

    /// Whether this proof was made with `password` for `order`; in time
    /// independent of where it differs.
    pub fn verifies(&self, password: &PasswordA, order: &OrderId) -> bool {
        let expected = Proof::compute(password, order);
        let (a, b) = (self.0.as_bytes(), expected.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a proof: expected 16 symbols like 4F7K-Q2MX-9ZPA-H3TR")]
pub struct ProofError(pub String);

impl FromStr for Proof {
    type Err = ProofError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match base32::normalize(text) {
            Ok(s) if s.len() == PROOF_SYMBOLS => Ok(Proof(s)),
            _ => Err(ProofError(text.to_string())),
        }
    }
}

impl fmt::Display for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base32::group(&self.0, 4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_bound_to_amount_payee_a_and_nonce() {
        let order: OrderId = "7KQ3-M9ZX-P2VD-H4TR".parse().unwrap();
        let a = PasswordA::parse("7KQ3-M9ZX-P2VD-H4TR-B8NC").unwrap();
        let other_a = PasswordA::parse("9KQ3-M9ZX-P2VD-H4TR-B8NC").unwrap();
        let shop: EmailAddress = "shop@shop.test".parse().unwrap();
        let thief: EmailAddress = "thief@shop.test".parse().unwrap();
        let yen: Money = "1200 JPY".parse().unwrap();
        let more: Money = "1201 JPY".parse().unwrap();
        let key = b"bank secret";
        let code = ConfirmationCode::compute(key, &order, yen, &shop, &a, b"n1");
        assert_eq!(code.to_string().len(), 9);
        assert!(code.matches(&code.to_string().to_lowercase().parse().unwrap()));
        for other in [
            ConfirmationCode::compute(key, &order, more, &shop, &a, b"n1"),
            ConfirmationCode::compute(key, &order, yen, &thief, &a, b"n1"),
            ConfirmationCode::compute(key, &order, yen, &shop, &other_a, b"n1"),
            ConfirmationCode::compute(key, &order, yen, &shop, &a, b"n2"),
            ConfirmationCode::compute(b"other key", &order, yen, &shop, &a, b"n1"),
        ] {
            assert!(!code.matches(&other));
        }
    }

    #[test]
    fn a_proof_shows_a_for_its_order_only() {
        let order: OrderId = "7KQ3-M9ZX-P2VD-H4TR".parse().unwrap();
        let other_order: OrderId = "9KQ3-M9ZX-P2VD-H4TR".parse().unwrap();
        let a = PasswordA::parse("7KQ3-M9ZX-P2VD-H4TR-B8NC").unwrap();
        let other_a = PasswordA::parse("9KQ3-M9ZX-P2VD-H4TR-B8NC").unwrap();
        let proof = Proof::compute(&a, &order);
        let read: Proof = proof.to_string().to_lowercase().parse().unwrap();
        assert!(read.verifies(&a, &order));
        assert!(!proof.verifies(&other_a, &order));
        assert!(!proof.verifies(&a, &other_order));
        assert!("4F7K-Q2MX".parse::<Proof>().is_err());
    }
}
