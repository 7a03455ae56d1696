//! The claim-3 bulletin-board record: facts the orderer posts on the
//! merchant's board "like registered mail", which anyone may read. It never
//! carries password A.

use serde::{Deserialize, Serialize};

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
}

/// One posted record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardRecord {
    /// The order id, as printed (`7KQ3-M9ZX-P2VD-H4TR`).
    pub order: String,
    pub initials: String,
    /// RFC 3339 UTC.
    pub ordered_at: String,
}

/// A record whose fields have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRecord {
    pub order: OrderId,
    pub initials: String,
    pub ordered_at: Timestamp,
}

impl BoardRecord {
    pub fn for_order(terms: &OrderTerms, initials: &str) -> Self {
        BoardRecord {
            order: terms.order.to_string(),
            initials: initials.trim().to_string(),
            ordered_at: terms.created.to_string(),
        }
    }

    pub fn from_json(json: &[u8]) -> Result<CheckedRecord, BoardError> {
        let record: BoardRecord =
            serde_json::from_slice(json).map_err(|e| BoardError::Json(e.to_string()))?;
        record.check()
    }

    pub fn check(&self) -> Result<CheckedRecord, BoardError> {
        let initials = check_initials(&self.initials)?;
        Ok(CheckedRecord {
            order: self
                .order
                .parse()
                .map_err(|e: super::order_id::OrderIdError| BoardError::Json(e.to_string()))?,
            initials: initials.to_string(),
            ordered_at: self
                .ordered_at
                .parse()
                .map_err(|e: super::timestamp::TimestampError| BoardError::Json(e.to_string()))?,
        })
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
}
