//! Machine-readable reasons for a rejection, as carried in `Reason:`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

macro_rules! reasons {
    ($($variant:ident = $code:literal : $text:literal,)*) => {
        /// Why the bank refused an order. The code is stable on the wire;
        /// the text is for people.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum RejectReason { $($variant,)* }

        impl RejectReason {
            pub const ALL: &[RejectReason] = &[$(RejectReason::$variant,)*];

            pub fn code(self) -> &'static str {
                match self { $(RejectReason::$variant => $code,)* }
            }

            pub fn describe(self) -> &'static str {
                match self { $(RejectReason::$variant => $text,)* }
            }

            /// What a person is told of a rejection: its `Detail`, or the
            /// reason's meaning where the mail has none (PROTOCOL.md 5.9).
            pub fn explain(self, detail: &str) -> &str {
                if detail.trim().is_empty() { self.describe() } else { detail }
            }
        }

        impl FromStr for RejectReason {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim() {
                    $($code => Ok(RejectReason::$variant),)*
                    other => Err(format!("{other:?} is not a rejection reason code")),
                }
            }
        }
    };
}

reasons! {
    PasswordMismatch = "password-mismatch": "password A in the bill differs from the one in the payment request",
    AmountMismatch = "amount-mismatch": "the billed amount or currency differs from the payment request",
    PayeeMismatch = "payee-mismatch": "the bill comes from another merchant than the payment request names",
    PayerMismatch = "payer-mismatch": "the payment request or bill names another orderer than the sender",
    OrderMismatch = "order-mismatch": "the order the merchant forwarded differs from the payment request",
    ItemsMismatch = "items-mismatch": "the bill lists other items than the order: another line, quantity, description or price",
    UnknownPayer = "unknown-payer": "the orderer's address has no account at this bank",
    UnknownPayee = "unknown-payee": "the merchant's address has no account at this bank",
    WrongBank = "wrong-bank": "the order names another bank",
    PasswordReused = "password-reused": "password A was used before",
    Expired = "expired": "the order expired before it could be settled",
    InsufficientFunds = "insufficient-funds": "the orderer's balance does not cover the amount",
    ChequeInvalid = "cheque-invalid": "the wallet cheque could not be opened or its signature is wrong",
    ChequeMismatch = "cheque-mismatch": "the wallet cheque disagrees with the payment request",
    BoardMissing = "board-missing": "no bulletin-board record for the order",
    BoardMismatch = "board-mismatch": "the bulletin-board record contradicts the mails",
    CodeMismatch = "code-mismatch": "the answer's confirmation code or password A is wrong",
    TooManyAttempts = "too-many-attempts": "too many wrong answers: the order is blocked",
    AlreadyAnswered = "already-answered": "the order was already approved or declined",
    Declined = "declined": "the orderer declined the payment",
    MerchantRefused = "merchant-refused": "the merchant refused the order",
    Duplicate = "duplicate": "a second, different mail for the same order and step",
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in RejectReason::ALL {
            assert_eq!(r.code().parse::<RejectReason>(), Ok(*r));
            assert!(seen.insert(r.code()));
        }
        assert!("nope".parse::<RejectReason>().is_err());
    }

    #[test]
    fn a_rejection_without_detail_is_explained_by_its_meaning() {
        let r = RejectReason::PasswordMismatch;
        assert_eq!(r.explain(""), r.describe());
        assert_eq!(r.explain("  "), r.describe());
        assert_eq!(r.explain("A was typed by hand"), "A was typed by hand");
    }
}
