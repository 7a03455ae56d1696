//! The claim-2 wallet cheque: amount, payee, order and A, signed with the
//! orderer's wallet key and encrypted to the bank's age key.
//!
//! age keeps anyone but the bank from reading the cheque and makes any
//! change to the ciphertext fail decryption; the ed25519 signature, by a key
//! the orderer registered with the bank, shows the orderer wrote it. The
//! bank refuses a cheque that fails either check.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use rand::CryptoRng;

use super::address::EmailAddress;
use super::block::{self, Block};
use super::message::{FieldError, Fields, OrderTerms, VERSION};
use super::money::Money;
use super::order_id::OrderId;
use super::password::PasswordA;
use super::timestamp::Timestamp;

const BLOCK: &str = "CHEQUE";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChequeError {
    #[error(
        "the cheque cannot be opened with this bank's key: it was encrypted to another key or altered ({0})"
    )]
    Decrypt(String),
    #[error("the cheque could not be encrypted: {0}")]
    Encrypt(String),
    #[error("the opened cheque holds no single CHEQUE block")]
    NoBlock,
    #[error("the cheque is malformed: {0}")]
    Block(#[from] block::BlockError),
    #[error("the cheque is malformed: {0}")]
    Field(#[from] FieldError),
    #[error("the cheque is signed with {found}, not with the orderer's registered key {registered}")]
    WrongKey { found: String, registered: String },
    #[error("the cheque's signature is not valid: it was altered after signing")]
    BadSignature,
    #[error("{0:?} is not an ed25519 public key in base64")]
    BadKey(String),
    #[error("no wallet key is registered for {0} at this bank, so no cheque of theirs can be verified")]
    NoRegisteredKey(String),
}

/// The orderer's signing key for cheques. `Debug` does not show it.
pub struct WalletKey(SigningKey);

impl WalletKey {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        WalletKey(SigningKey::from_bytes(&seed))
    }

    pub fn from_seed(seed: &[u8; 32]) -> Self {
        WalletKey(SigningKey::from_bytes(seed))
    }

    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half, as registered with the bank.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// An ed25519 signature of `message`, in base64.
    pub fn sign(&self, message: &[u8]) -> String {
        B64.encode(self.0.sign(message).to_bytes())
    }
}

impl std::fmt::Debug for WalletKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WalletKey({})", self.public())
    }
}

/// An orderer's registered cheque key, written `ed25519:BASE64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ed25519:{}", B64.encode(self.0.as_bytes()))
    }
}

impl PublicKey {
    /// Whether `signature` (base64) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Some(bytes) = B64.decode(signature.trim()).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
            return false;
        };
        self.0.verify(message, &Signature::from_bytes(&bytes)).is_ok()
    }
}

impl std::str::FromStr for PublicKey {
    type Err = ChequeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ChequeError::BadKey(text.to_string());
        let encoded = text.trim().strip_prefix("ed25519:").ok_or_else(bad)?;
        let bytes: [u8; 32] = B64.decode(encoded).map_err(|_| bad())?.try_into().map_err(|_| bad())?;
        VerifyingKey::from_bytes(&bytes).map(PublicKey).map_err(|_| bad())
    }
}

/// What the cheque says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cheque {
    pub order: OrderId,
    pub payer: EmailAddress,
    pub payee: EmailAddress,
    pub amount: Money,
    pub password: PasswordA,
    pub issued: Timestamp,
}

impl Cheque {
    /// The cheque for an order (claim 2): its payer, payee, amount and A,
    /// issued at `issued`.
    pub fn for_order(terms: &OrderTerms, issued: Timestamp) -> Cheque {
        Cheque {
            order: terms.order.clone(),
            payer: terms.orderer.clone(),
            payee: terms.merchant.clone(),
            amount: terms.amount,
            password: terms.password.clone(),
            issued,
        }
    }

    /// The signed CHEQUE block: the signature covers the block's canonical
    /// text (every field but Signature and Check).
    pub fn signed_block(&self, key: &WalletKey) -> Block {
        let mut b = Block::new(BLOCK);
        b.push("Version", VERSION)
            .push("Order", self.order.to_string())
            .push("Payer", self.payer.as_str())
            .push("Payee", self.payee.as_str())
            .push("Amount", self.amount.to_string())
            .push("Password-A", self.password.display())
            .push("Issued", self.issued.to_string())
            .push("Key", key.public().to_string());
        let signature = key.sign(b.canonical().as_bytes());
        b.push("Signature", signature);
        b
    }

    /// Signs, then encrypts to the bank: the bytes of the attachment.
    pub fn seal(&self, key: &WalletKey, bank: &age::x25519::Recipient) -> Result<Vec<u8>, ChequeError> {
        let text = self.signed_block(key).render();
        age::encrypt(bank, text.as_bytes()).map_err(|e| ChequeError::Encrypt(e.to_string()))
    }

    /// Decrypts with the bank's identity and checks the signature against
    /// the key the orderer registered.
    pub fn open(
        sealed: &[u8],
        bank: &age::x25519::Identity,
        registered: &PublicKey,
    ) -> Result<Cheque, ChequeError> {
        let plain = age::decrypt(bank, sealed).map_err(|e| ChequeError::Decrypt(e.to_string()))?;
        let text = String::from_utf8(plain).map_err(|_| ChequeError::NoBlock)?;
        let blocks = block::scan(&text)?;
        let [b] = blocks.as_slice() else { return Err(ChequeError::NoBlock) };
        if b.name != BLOCK {
            return Err(ChequeError::NoBlock);
        }
        let f = Fields::new(b)?;
        let found: PublicKey = f.one("Key")?.parse()?;
        if found != *registered {
            return Err(ChequeError::WrongKey {
                found: found.to_string(),
                registered: registered.to_string(),
            });
        }
        if !registered.verifies(b.canonical().as_bytes(), f.one("Signature")?) {
            return Err(ChequeError::BadSignature);
        }
        Ok(Cheque {
            order: f.parse("Order")?,
            payer: f.parse("Payer")?,
            payee: f.parse("Payee")?,
            amount: f.parse("Amount")?,
            password: f.password()?,
            issued: f.parse("Issued")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheque() -> Cheque {
        Cheque {
            order: "7KQ3-M9ZX-P2VD-H4TR".parse().unwrap(),
            payer: "orderer@buyer.test".parse().unwrap(),
            payee: "shop@shop.test".parse().unwrap(),
            amount: "1200 JPY".parse().unwrap(),
            password: PasswordA::parse("7KQ3-M9ZX-P2VD-H4TR-B8NC").unwrap(),
            issued: Timestamp(1_795_630_158),
        }
    }

    #[test]
    fn seals_and_opens() {
        let key = WalletKey::generate(&mut rand::rng());
        let bank = age::x25519::Identity::generate();
        let sealed = cheque().seal(&key, &bank.to_public()).unwrap();
        assert_eq!(Cheque::open(&sealed, &bank, &key.public()).unwrap(), cheque());
        assert_eq!(key.public().to_string().parse::<PublicKey>().unwrap(), key.public());
        assert!(!String::from_utf8_lossy(&sealed).contains("shop@shop.test"));
    }

    #[test]
    fn refuses_wrong_recipient_altered_bytes_and_foreign_key() {
        let key = WalletKey::generate(&mut rand::rng());
        let bank = age::x25519::Identity::generate();
        let other_bank = age::x25519::Identity::generate();
        let sealed = cheque().seal(&key, &bank.to_public()).unwrap();
        assert!(matches!(Cheque::open(&sealed, &other_bank, &key.public()), Err(ChequeError::Decrypt(_))));
        let mut altered = sealed.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(matches!(Cheque::open(&altered, &bank, &key.public()), Err(ChequeError::Decrypt(_))));
        let stranger = WalletKey::generate(&mut rand::rng());
        assert!(matches!(
            Cheque::open(&sealed, &bank, &stranger.public()),
            Err(ChequeError::WrongKey { .. })
        ));
    }

    #[test]
    fn refuses_a_cheque_re_signed_content() {
        // Someone who can encrypt to the bank but lacks the wallet key edits the amount.
        let key = WalletKey::generate(&mut rand::rng());
        let bank = age::x25519::Identity::generate();
        let text = cheque().signed_block(&key).render();
        let mut b = block::scan(&text).unwrap().remove(0);
        for (k, v) in &mut b.fields {
            if k == "Amount" {
                *v = "9999 JPY".to_string();
            }
        }
        let forged = age::encrypt(&bank.to_public(), b.render().as_bytes()).unwrap();
        assert!(matches!(Cheque::open(&forged, &bank, &key.public()), Err(ChequeError::BadSignature)));
    }
}
