//! The claim-3 bulletin-board record: facts the orderer posts on the
//! merchant's board "like registered mail", which anyone may read. It never
//! carries password A. The orderer signs it with its wallet key, so a
//! record posted by someone else who learnt the order id counts for
//! nothing at a bank that knows the orderer's key (PROTOCOL.md 7).

use serde::{Deserialize, Serialize};

use super::cheque::{PublicKey, WalletKey};
use super::message::OrderTerms;
use super::order_id::OrderId;
use super::timestamp::Timestamp;

/// Longest initials accepted, in characters.
pub const MAX_INITIALS: usize = 8;
/// How far the posted order time may be from the order's Created time.
pub const TIME_TOLERANCE_SECONDS: i64 = 15 * 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoardError {
    #[error("initials must be 1 to {MAX_INITIALS} letters, optionally with dots and spaces, like \"T.S.\"")]
    Initials,
    #[error("the record is not valid JSON with order, initials and ordered_at: {0}")]
    Json(String),
    #[error("a signed record needs both key and signature")]
    HalfSigned,
    #[error("the record's signature is not valid for its key {0}: it was altered or signed by another key")]
    BadSignature(String),
    #[error("{0}")]
    BadKey(String),
}

/// One posted record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardRecord {
    /// The order id, as printed (`7KQ3-M9ZX-P2VD-H4TR`).
    pub order: String,
    pub initials: String,
    /// RFC 3339 UTC.
    pub ordered_at: String,
    /// The orderer's wallet key, `ed25519:BASE64`, for a signed record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The key's signature (base64) of the record's [`signed_text`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// A record whose fields have been checked (and its signature, if signed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRecord {
    pub order: OrderId,
    pub initials: String,
    pub ordered_at: Timestamp,
    /// The key that signed the record, and the signature.
    pub signed: Option<(PublicKey, String)>,
}

/// What a record's signature covers: each of the domain, the order (as
/// printed), the initials and the order time, prefixed by its length as a
/// u64 big-endian.
pub fn signed_text(order: &str, initials: &str, ordered_at: &str) -> Vec<u8> {
    let mut text = Vec::new();
    for part in ["MailPay-Board-Record-v1", order, initials, ordered_at] {
        text.extend_from_slice(&(part.len() as u64).to_be_bytes());
        text.extend_from_slice(part.as_bytes());
    }
    text
}

impl BoardRecord {
    /// The order's record, signed with the orderer's wallet key.
    pub fn for_order(terms: &OrderTerms, initials: &str, key: &WalletKey) -> Self {
        Self::signed(&terms.order.to_string(), initials.trim(), &terms.created.to_string(), key)
    }

    /// A record of these fields, signed as written: pass the canonical
    /// forms (see [`signed_text`]) for a signature that checks.
    pub fn signed(order: &str, initials: &str, ordered_at: &str, key: &WalletKey) -> Self {
        BoardRecord {
            order: order.to_string(),
            initials: initials.to_string(),
            ordered_at: ordered_at.to_string(),
            key: Some(key.public().to_string()),
            signature: Some(key.sign(&signed_text(order, initials, ordered_at))),
        }
    }

    pub fn from_json(json: &[u8]) -> Result<CheckedRecord, BoardError> {
        let record: BoardRecord =
            serde_json::from_slice(json).map_err(|e| BoardError::Json(e.to_string()))?;
        record.check()
    }

    /// Checks every field and, for a signed record, the signature (over
    /// the fields' canonical forms: the order id as printed, the initials
    /// trimmed, the time in RFC 3339 UTC).
    pub fn check(&self) -> Result<CheckedRecord, BoardError> {
        let initials = check_initials(&self.initials)?.to_string();
        let order: OrderId =
            self.order.parse().map_err(|e: super::order_id::OrderIdError| BoardError::Json(e.to_string()))?;
        let ordered_at: Timestamp = self
            .ordered_at
            .parse()
            .map_err(|e: super::timestamp::TimestampError| BoardError::Json(e.to_string()))?;
        let signed = match (&self.key, &self.signature) {
            (None, None) => None,
            (Some(key), Some(signature)) => {
                let key: PublicKey =
                    key.parse().map_err(|e: super::cheque::ChequeError| BoardError::BadKey(e.to_string()))?;
                let text = signed_text(&order.to_string(), &initials, &ordered_at.to_string());
                if !key.verifies(&text, signature) {
                    return Err(BoardError::BadSignature(key.to_string()));
                }
                Some((key, signature.trim().to_string()))
            }
            _ => return Err(BoardError::HalfSigned),
        };
        Ok(CheckedRecord { order, initials, ordered_at, signed })
    }
}

impl CheckedRecord {
    /// The record as posted and published.
    pub fn to_record(&self) -> BoardRecord {
        BoardRecord {
            order: self.order.to_string(),
            initials: self.initials.clone(),
            ordered_at: self.ordered_at.to_string(),
            key: self.signed.as_ref().map(|(key, _)| key.to_string()),
            signature: self.signed.as_ref().map(|(_, signature)| signature.clone()),
        }
    }
}

/// The record that counts among an order's records on the board: the
/// oldest signed with the orderer's registered wallet key when the bank
/// knows one (records by anyone else are ignored), else the oldest.
pub fn pick<'a>(records: &'a [CheckedRecord], registered: Option<&PublicKey>) -> Option<&'a CheckedRecord> {
    match registered {
        Some(key) => records.iter().find(|r| r.signed.as_ref().is_some_and(|(k, _)| k == key)),
        None => records.first(),
    }
}

/// Initials as a record may carry them (trimmed): 1 to [`MAX_INITIALS`]
/// characters, letters with optional dots and spaces.
pub fn check_initials(text: &str) -> Result<&str, BoardError> {
    let initials = text.trim();
    let letters = initials.chars().filter(|c| c.is_alphabetic()).count();
    let ok = (1..=MAX_INITIALS).contains(&initials.chars().count())
        && letters >= 1
        && initials.chars().all(|c| c.is_alphabetic() || c == '.' || c == ' ');
    if ok { Ok(initials) } else { Err(BoardError::Initials) }
}

/// Initials compared loosely: letters only, case-insensitive.
pub fn same_initials(a: &str, b: &str) -> bool {
    let letters =
        |s: &str| s.chars().filter(|c| c.is_alphabetic()).flat_map(char::to_lowercase).collect::<String>();
    letters(a) == letters(b)
}

/// What contradicts the order in a board record, if anything.
pub fn contradiction(
    record: &CheckedRecord,
    terms: &OrderTerms,
    registered_initials: Option<&str>,
) -> Option<String> {
    if record.order != terms.order {
        return Some(format!("the record is for order {}", record.order));
    }
    if (record.ordered_at.unix() - terms.created.unix()).abs() > TIME_TOLERANCE_SECONDS {
        return Some(format!(
            "the record says the order was placed at {}, the mails say {}",
            record.ordered_at, terms.created
        ));
    }
    match registered_initials {
        Some(initials) if !same_initials(initials, &record.initials) => {
            Some(format!("the record's initials {:?} are not the orderer's", record.initials))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_initials_and_json() {
        let ok = br#"{"order":"7KQ3-M9ZX-P2VD-H4TR","initials":"T.S.","ordered_at":"2026-11-25T18:09:18Z"}"#;
        assert_eq!(BoardRecord::from_json(ok).unwrap().initials, "T.S.");
        let long = br#"{"order":"7KQ3-M9ZX-P2VD-H4TR","initials":"7KQ3M9ZXP2VD","ordered_at":"2026-11-25T18:09:18Z"}"#;
        assert_eq!(BoardRecord::from_json(long), Err(BoardError::Initials));
        assert!(matches!(BoardRecord::from_json(b"{}"), Err(BoardError::Json(_))));
        assert!(same_initials("T.S.", "ts"));
        assert!(!same_initials("T.S.", "T.K."));
    }

    fn record(key: &WalletKey) -> BoardRecord {
        BoardRecord::signed("7KQ3-M9ZX-P2VD-H4TR", "T.S.", "2026-11-25T18:09:18Z", key)
    }

    #[test]
    fn a_signed_record_checks_only_as_signed() {
        let key = WalletKey::from_seed(&[5; 32]);
        let good = record(&key);
        let checked = good.check().unwrap();
        assert_eq!(checked.signed.as_ref().map(|(k, _)| *k), Some(key.public()));
        assert_eq!(checked.to_record(), good, "published again as posted");
        // Written differently but the same (spaces, lower case): still valid.
        let spaced =
            BoardRecord { initials: " T.S. ".into(), order: good.order.to_lowercase(), ..good.clone() };
        assert_eq!(spaced.check().unwrap(), checked);
        for altered in [
            BoardRecord { initials: "T.K.".into(), ..good.clone() },
            BoardRecord { ordered_at: "2026-11-25T18:09:19Z".into(), ..good.clone() },
            BoardRecord { key: Some(WalletKey::from_seed(&[6; 32]).public().to_string()), ..good.clone() },
        ] {
            assert!(matches!(altered.check(), Err(BoardError::BadSignature(_))), "{altered:?}");
        }
        let half = BoardRecord { signature: None, ..good.clone() };
        assert_eq!(half.check(), Err(BoardError::HalfSigned));
        let junk = BoardRecord { key: Some("ed25519:AAAA".into()), ..good };
        assert!(matches!(junk.check(), Err(BoardError::BadKey(_))));
    }

    #[test]
    fn the_record_signed_with_the_registered_key_is_picked() {
        let (orderer, stranger) = (WalletKey::from_seed(&[5; 32]), WalletKey::from_seed(&[6; 32]));
        let unsigned = BoardRecord { key: None, signature: None, ..record(&orderer) }.check().unwrap();
        let records = [record(&stranger).check().unwrap(), unsigned, record(&orderer).check().unwrap()];
        assert_eq!(pick(&records, Some(&orderer.public())), Some(&records[2]));
        assert_eq!(pick(&records[..2], Some(&orderer.public())), None);
        assert_eq!(pick(&records, None), Some(&records[0]), "no key known: the oldest");
        assert_eq!(pick(&[], None), None);
    }
}
