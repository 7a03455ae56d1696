//! Parties are named by their registered e-mail address.
//!
//! Addresses are compared in lowercase ASCII. Internationalised addresses are
//! refused rather than normalised: a look-alike Unicode address must never
//! pass for a registered one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("{0:?} is not an e-mail address like name@example.com")]
    Malformed(String),
    #[error(
        "{0:?} contains characters outside ASCII; MailPay accepts only plain ASCII addresses so that look-alikes cannot pass for registered ones"
    )]
    NotAscii(String),
}

/// A syntactically valid, lowercase `local@domain` address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

impl FromStr for EmailAddress {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        // Accept the bracketed form of a header, `<a@b>`.
        let bare = trimmed.strip_prefix('<').and_then(|s| s.strip_suffix('>')).unwrap_or(trimmed);
        if !bare.is_ascii() {
            return Err(AddressError::NotAscii(text.to_string()));
        }
        let malformed = || AddressError::Malformed(text.to_string());
        let (local, domain) = bare.rsplit_once('@').ok_or_else(malformed)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(is_atext));
        let domain_ok = domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(malformed());
        }
        Ok(EmailAddress(bare.to_ascii_lowercase()))
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_brackets() {
        let a: EmailAddress = "<Shop@Shop.TEST>".parse().unwrap();
        assert_eq!(a.as_str(), "shop@shop.test");
        assert_eq!(a.domain(), "shop.test");
    }

    #[test]
    fn refuses_malformed_and_look_alikes() {
        for bad in [
            "",
            "shop",
            "shop@",
            "@shop.test",
            "a..b@shop.test",
            "shop@localhost",
            "shop@-x.test",
            "a b@shop.test",
        ] {
            assert!(matches!(bad.parse::<EmailAddress>(), Err(AddressError::Malformed(_))), "{bad}");
        }
        // Cyrillic "о" in place of the Latin "o".
        assert!(matches!("sh\u{43e}p@shop.test".parse::<EmailAddress>(), Err(AddressError::NotAscii(_))));
    }
}
