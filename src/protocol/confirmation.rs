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
}
