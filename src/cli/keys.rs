//! The keys of claim 2: `mailpay wallet-key` prints the orderer's
//! cheque-signing key (to register at the bank); `mailpay bank-key` keeps
//! each bank's age recipient (as the bank publishes it), so that cheques
//! are encrypted to it without naming it on every order.

use std::path::PathBuf;

use clap::Subcommand;

use super::CliError;
use crate::paths::Paths;
use crate::protocol::EmailAddress;

#[derive(Debug, Subcommand)]
pub enum BankKeyCommand {
    /// Keep BANK's age recipient (`age1...`, from `mailpay-bank recipient`).
    Set { bank: EmailAddress, recipient: age::x25519::Recipient },
    /// Print the age recipient kept for BANK.
    Show { bank: EmailAddress },
}

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

/// The wallet's key, which signs cheques and board records (made on first
/// use).
pub fn load_wallet_key() -> Result<crate::protocol::cheque::WalletKey, CliError> {
    let path = crate::keys::wallet_key_path(&Paths::from_env().map_err(fail)?);
    crate::keys::load_or_create_key(&path).map_err(fail)
}

pub fn wallet_key() -> Result<(), CliError> {
    println!("{}", load_wallet_key()?.public());
    Ok(())
}

fn recipient_file(bank: &EmailAddress) -> Result<PathBuf, CliError> {
    Ok(Paths::from_env().map_err(fail)?.data_dir.join("banks").join(format!("{bank}.age-recipient")))
}

/// The recipient kept for `bank`, if any.
pub fn bank_recipient(bank: &EmailAddress) -> Result<Option<age::x25519::Recipient>, CliError> {
    let path = recipient_file(bank)?;
    match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().map(Some).map_err(|e: &str| {
            CliError::Failed(format!("{} does not hold an age recipient ({e}): set it again", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CliError::Read { path, source }),
    }
}

pub fn bank_key(command: BankKeyCommand) -> Result<(), CliError> {
    match command {
        BankKeyCommand::Set { bank, recipient } => {
            let path = recipient_file(&bank)?;
            super::write(&path, format!("{recipient}\n").as_bytes(), false)?;
            println!("cheques for {bank} will be encrypted to {recipient}");
            Ok(())
        }
        BankKeyCommand::Show { bank } => match bank_recipient(&bank)? {
            Some(recipient) => {
                println!("{recipient}");
                Ok(())
            }
            None => Err(CliError::Failed(format!(
                "no age recipient is kept for {bank}: `mailpay bank-key set {bank} age1...`"
            ))),
        },
    }
}
