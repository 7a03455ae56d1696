//! Password A: the one-time secret the orderer makes up for one order.
//!
//! A travels by two routes (orderer → bank directly, orderer → merchant →
//! bank) and the bank settles only when both copies agree. A generated A
//! carries 130 bits from the OS-seeded CSPRNG (26 Crockford symbols); one the
//! orderer types himself must reach [`MIN_BITS`]. A is printed in groups of
//! four and read back ignoring case, hyphens and spaces.

use std::fmt;

use rand::CryptoRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use super::base32;

/// Symbols in a generated password (26 × 5 = 130 bits).
pub const GENERATED_SYMBOLS: usize = 26;
/// The least estimated strength accepted for a password the orderer types.
pub const MIN_BITS: u32 = 80;
/// Longer passwords are refused: nobody types more, and blocks stay short.
pub const MAX_SYMBOLS: usize = 64;

/// Why a typed password A is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password A is empty")]
    Empty,
    #[error("password A may only use the digits 0-9 and the letters A-Z except I, L, O and U (found {0:?})")]
    BadSymbol(char),
    #[error(
        "password A is too weak: about {bits} bits, at least {MIN_BITS} are needed; use the generated one or type at least 16 varied symbols"
    )]
    TooWeak { bits: u32 },
    #[error("password A is longer than {MAX_SYMBOLS} symbols")]
    TooLong,
}

/// A one-time password A in canonical form (uppercase Crockford symbols).
/// `Debug` never shows it; the memory is wiped on drop.
#[derive(Clone)]
pub struct PasswordA(String);

impl PasswordA {
    /// A fresh password from a cryptographically secure generator.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut symbols = String::with_capacity(GENERATED_SYMBOLS);
        let mut bytes = [0u8; GENERATED_SYMBOLS];
        rng.fill_bytes(&mut bytes);
        for byte in bytes {
            // 256 is a multiple of 32: taking the low five bits is unbiased.
            symbols.push_str(&base32::encode(&[byte << 3])[..1]);
        }
        bytes.zeroize();
        PasswordA(symbols)
    }

    /// Reads a password as a person typed it, checking its strength.
    pub fn parse(text: &str) -> Result<Self, PasswordError> {
        let canonical = base32::normalize(text).map_err(PasswordError::BadSymbol)?;
        if canonical.is_empty() {
            return Err(PasswordError::Empty);
        }
        if canonical.len() > MAX_SYMBOLS {
            return Err(PasswordError::TooLong);
        }
        let bits = estimate_bits(&canonical);
        if bits < MIN_BITS {
            return Err(PasswordError::TooWeak { bits });
        }
        Ok(PasswordA(canonical))
    }

    /// The canonical symbols, as compared and hashed.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The password as printed for people: groups of four.
    pub fn display(&self) -> String {
        base32::group(&self.0, 4)
    }

    /// The hash kept once A is used, so reuse can be refused without keeping A.
    pub fn hash(&self) -> PasswordHash {
        let mut hasher = Sha256::new();
        hasher.update(b"MailPay-A-v1\0");
        hasher.update(self.0.as_bytes());
        PasswordHash(hasher.finalize().into())
    }
}

impl PartialEq for PasswordA {
    /// Compares in time independent of where the passwords differ.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}
impl Eq for PasswordA {}

impl fmt::Debug for PasswordA {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordA(<redacted>)")
    }
}

impl Drop for PasswordA {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// SHA-256 of a used password A (domain-separated), shown as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PasswordHash(pub [u8; 32]);

impl PasswordHash {
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(PasswordHash(out))
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasswordHash({})", self.to_hex())
    }
}

/// A conservative strength estimate for a typed password: five bits for a
/// symbol that continues no pattern, one bit for a repeat or a step of one
/// from the symbol before, and a ceiling from the number of distinct symbols
/// used (a password of two alternating symbols is weak however long).
pub fn estimate_bits(canonical: &str) -> u32 {
    let values: Vec<i16> = canonical.chars().filter_map(|c| base32::value(c).map(i16::from)).collect();
    let mut bits = 0u32;
    let mut distinct = [false; 32];
    for (i, &v) in values.iter().enumerate() {
        distinct[usize::try_from(v).unwrap_or(0) & 31] = true;
        let patterned = i > 0 && values.get(i - 1).is_some_and(|&p| (v - p).abs() <= 1);
        let repeats_pair = i > 2 && values.get(i - 2) == Some(&v) && values.get(i - 1) == values.get(i - 3);
        bits += if patterned || repeats_pair { 1 } else { 5 };
    }
    let variety = u32::try_from(distinct.iter().filter(|d| **d).count()).unwrap_or(0);
    bits.min(variety * 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_strong_and_distinct() {
        let mut rng = rand::rng();
        let a = PasswordA::generate(&mut rng);
        let b = PasswordA::generate(&mut rng);
        assert_eq!(a.expose().len(), GENERATED_SYMBOLS);
        assert_ne!(a, b);
        assert!(PasswordA::parse(&a.display()).is_ok_and(|p| p == a));
        assert_eq!(a.display().len(), GENERATED_SYMBOLS + 6);
    }

    #[test]
    fn typed_back_ignoring_case_and_separators() {
        let a = PasswordA::parse("7KQ3-M9ZX-P2VD-H4TR-B8NC").unwrap();
        let b = PasswordA::parse("7kq3 m9zx p2vd h4tr b8nc").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.hash(), b.hash());
    }

    #[test]
    fn weak_and_malformed_passwords_are_refused() {
        assert_eq!(PasswordA::parse(" - "), Err(PasswordError::Empty));
        assert_eq!(PasswordA::parse("HELLO-WORLD-U"), Err(PasswordError::BadSymbol('U')));
        assert!(matches!(PasswordA::parse("AAAAAAAAAAAAAAAAAAAAAAAA"), Err(PasswordError::TooWeak { .. })));
        assert!(matches!(PasswordA::parse("0123456789ABCDEFGHJK"), Err(PasswordError::TooWeak { .. })));
        assert!(matches!(PasswordA::parse("ABABABABABABABABABABABAB"), Err(PasswordError::TooWeak { .. })));
        assert!(matches!(PasswordA::parse("7KQ3M9ZX"), Err(PasswordError::TooWeak { bits: 40 })));
        assert_eq!(PasswordA::parse(&"7KQ3M9ZX".repeat(9)), Err(PasswordError::TooLong));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let a = PasswordA::parse("7KQ3-M9ZX-P2VD-H4TR-B8NC").unwrap();
        assert!(!format!("{a:?}").contains("7KQ3"));
    }

    #[test]
    fn hash_round_trips_through_hex() {
        let h = PasswordA::parse("7KQ3-M9ZX-P2VD-H4TR-B8NC").unwrap().hash();
        assert_eq!(PasswordHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(PasswordHash::from_hex("zz"), None);
    }
}
