//! The orderer's address book: banks (with their age key for the claim-2
//! cheque and the orderer's account reference there) and merchants (with
//! their bank, board and the figures they accept), plus small settings.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};
use crate::protocol::{EmailAddress, Method};

/// The wallet's small settings, kept in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// The language the user chose (`en`, `ja`), over the system's.
    Language,
    /// The orderer's initials, put on board records (claim 3).
    Initials,
    /// `yes` when closing the window quits the wallet (background mode off).
    QuitOnClose,
}

impl Setting {
    /// The key it is stored under (kept stable across versions).
    pub fn key(self) -> &'static str {
        match self {
            Setting::Language => "language",
            Setting::Initials => "initials",
            Setting::QuitOnClose => "quit-on-close",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bank {
    pub address: EmailAddress,
    pub name: String,
    /// The bank's age X25519 recipient (`age1…`), for the wallet cheque.
    pub age_recipient: Option<String>,
    /// The orderer's account at this bank, as the bank names it.
    pub account_ref: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    pub address: EmailAddress,
    pub name: String,
    /// The bank the merchant is paid through.
    pub bank: Option<EmailAddress>,
    pub board: Option<String>,
    /// The figures of the method it accepts (never empty: Fig. 1 at least).
    pub figures: Vec<Method>,
}

impl Merchant {
    pub fn accepts(&self, method: Method) -> bool {
        self.figures.contains(&method)
    }
}

fn figures_to_text(figures: &[Method]) -> String {
    figures.iter().map(|m| m.figure().to_string()).collect::<Vec<_>>().join(",")
}

fn figures_from_text(text: &str) -> Vec<Method> {
    let figures: Vec<Method> = text.split(',').filter_map(Method::from_figure).collect();
    if figures.is_empty() { vec![Method::Confirm] } else { figures }
}

fn address(text: String, column: usize) -> rusqlite::Result<EmailAddress> {
    text.parse().map_err(|e: crate::protocol::address::AddressError| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl Store {
    pub fn save_bank(&self, bank: &Bank) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO bank (address, name, age_recipient, account_ref) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (address) DO UPDATE SET name = excluded.name, age_recipient = excluded.age_recipient, account_ref = excluded.account_ref",
                params![bank.address.as_str(), bank.name, bank.age_recipient, bank.account_ref],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    pub fn banks(&self) -> Result<Vec<Bank>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT address, name, age_recipient, account_ref FROM bank ORDER BY name, address")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Bank {
                    address: address(r.get(0)?, 0)?,
                    name: r.get(1)?,
                    age_recipient: r.get(2)?,
                    account_ref: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    pub fn delete_bank(&self, address: &EmailAddress) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM bank WHERE address = ?1", params![address.as_str()])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    pub fn save_merchant(&self, merchant: &Merchant) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO merchant (address, name, bank, board, figures) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (address) DO UPDATE SET name = excluded.name, bank = excluded.bank, board = excluded.board, figures = excluded.figures",
                params![
                    merchant.address.as_str(),
                    merchant.name,
                    merchant.bank.as_ref().map(EmailAddress::as_str),
                    merchant.board,
                    figures_to_text(&merchant.figures)
                ],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    pub fn merchants(&self) -> Result<Vec<Merchant>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT address, name, bank, board, figures FROM merchant ORDER BY name, address")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let bank: Option<String> = r.get(2)?;
                Ok(Merchant {
                    address: address(r.get(0)?, 0)?,
                    name: r.get(1)?,
                    bank: bank.map(|b| address(b, 2)).transpose()?,
                    board: r.get(3)?,
                    figures: figures_from_text(&r.get::<_, String>(4)?),
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    pub fn delete_merchant(&self, address: &EmailAddress) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM merchant WHERE address = ?1", params![address.as_str()])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    pub fn setting(&self, setting: Setting) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM setting WHERE key = ?1", params![setting.key()], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn set_setting(&self, setting: Setting, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute("INSERT INTO setting (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", params![setting.key(), value])
            .map(|_| ())
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn banks_and_merchants_round_trip_and_update_in_place() {
        let dir = std::env::temp_dir().join(format!("mailpay-book-{}", std::process::id()));
        let store = Store::open(&dir.join("w.sqlite3")).unwrap();
        let bank = Bank {
            address: "settle@bank.example".parse().unwrap(),
            name: "Bank".into(),
            age_recipient: None,
            account_ref: "123".into(),
        };
        store.save_bank(&bank).unwrap();
        store.save_bank(&Bank { account_ref: "456".into(), ..bank.clone() }).unwrap();
        assert_eq!(store.banks().unwrap().len(), 1);
        assert_eq!(store.banks().unwrap()[0].account_ref, "456");
        let merchant = Merchant {
            address: "shop@example.com".parse().unwrap(),
            name: "山田商店".into(),
            bank: Some(bank.address.clone()),
            board: Some("https://shop.example/board".into()),
            figures: vec![Method::Confirm, Method::Board],
        };
        store.save_merchant(&merchant).unwrap();
        assert_eq!(store.merchants().unwrap(), vec![merchant.clone()]);
        store.delete_merchant(&merchant.address).unwrap();
        assert!(store.merchants().unwrap().is_empty());
        store.set_setting(Setting::Language, "ja").unwrap();
        assert_eq!(store.setting(Setting::Language).unwrap().as_deref(), Some("ja"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
