//! `mailpay watch`: the inbox watcher on the command line, printing every
//! MailPay mail it sees and what it did.

use super::CliError;
use crate::mail::imap::{self, Flow, Received, WatchConfig, WatchEvent};
use crate::wallet::{self, Receipt};

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

pub fn run(account: Option<&str>, once: bool, json: bool) -> Result<(), CliError> {
    let (account, password, mut store) = super::send::open(account)?;
    let config = WatchConfig::new(account.clone(), password);
    let mut resume = store.resume(account.address.as_str(), &config.folder).map_err(fail)?;
    let runtime = super::runtime()?;
    let mut failure: Option<CliError> = None;
    let address = account.address.to_string();
    let folder = config.folder.clone();
    let error = runtime.block_on(imap::watch(&config, &mut resume, |event| {
        match event {
            WatchEvent::Connected { uid_validity, idle } => {
                eprintln!(
                    "watching {address} {folder} (UIDVALIDITY {uid_validity}, {})",
                    if idle { "IDLE" } else { "polling" }
                );
            }
            WatchEvent::UidValidityChanged { old, new } => {
                eprintln!("{folder} was recreated (UIDVALIDITY {old} -> {new}); reading it again")
            }
            WatchEvent::Disconnected { reason, retry_in } => {
                eprintln!("disconnected: {reason}; retrying in {retry_in:.1?}")
            }
            WatchEvent::Idle { resume: at } => {
                if let Err(e) = store.save_resume(&address, &folder, at) {
                    failure = Some(fail(e));
                    return Flow::Stop;
                }
                if once {
                    return Flow::Stop;
                }
            }
            WatchEvent::Mail { resume: at, raw, received } => {
                let uid = at.last_uid;
                // `&mut`: the watcher's callback must be Send, which a unique
                // borrow of the store is and a shared one is not.
                #[allow(clippy::unnecessary_mut_passed)]
                let line = match received {
                    Received::MailPay(mail) => match wallet::receive(&mut store, &mail, &raw, false) {
                        Ok(receipt) => describe(&mail, &receipt, json),
                        Err(e) => {
                            // One mail the wallet cannot take must not stop
                            // the watch, nor be read again after a restart.
                            let why = format!("could not be taken into the wallet: {e}; moved to {}", imap::QUARANTINE_FOLDER);
                            if json {
                                println!("{}", serde_json::json!({ "uid": uid, "set_aside": why }));
                            } else {
                                println!("uid {uid}: {} for order {} {why}", mail.body.kind(), mail.body.order());
                            }
                            if let Err(e) = store.save_resume(&address, &folder, at) {
                                failure = Some(fail(e));
                                return Flow::Stop;
                            }
                            return Flow::SetAside;
                        }
                    },
                    Received::Bounce(bounce) => match wallet::bounced(&store, &bounce, &raw) {
                        Ok(receipt) => {
                            let effect = effect_of(&receipt);
                            let original = &bounce.original_message_id;
                            if json {
                                serde_json::json!({ "uid": uid, "bounce": original, "status": bounce.status, "effect": effect })
                                    .to_string()
                            } else {
                                format!("uid {uid}: {original} to {} bounced ({}): {effect}", bounce.recipient, bounce.status)
                            }
                        }
                        Err(e) => {
                            failure = Some(fail(e));
                            return Flow::Stop;
                        }
                    },
                    Received::Invalid(e) => {
                        if json {
                            serde_json::json!({ "uid": uid, "valid": false, "error": e.to_string() })
                                .to_string()
                        } else {
                            format!("uid {uid}: not a valid MailPay mail: {e}")
                        }
                    }
                };
                println!("{line}");
                if let Err(e) = store.save_resume(&address, &folder, at) {
                    failure = Some(fail(e));
                    return Flow::Stop;
                }
            }
        }
        Flow::Go
    }));
    if let Some(f) = failure {
        return Err(f);
    }
    match error {
        imap::ImapError::Stopped => Ok(()),
        other => Err(CliError::Failed(other.to_string())),
    }
}

fn describe(mail: &crate::protocol::parse::Incoming, receipt: &Receipt, json: bool) -> String {
    let kind = mail.body.kind();
    let order = mail.body.order();
    let effect = effect_of(receipt);
    if json {
        serde_json::json!({ "kind": kind.as_str(), "order_id": order.to_string(), "from": mail.from.as_str(), "effect": effect }).to_string()
    } else {
        format!("{kind} for order {order} from {}: {effect}", mail.from)
    }
}

fn effect_of(receipt: &Receipt) -> String {
    match receipt {
        Receipt::Duplicate => "already seen".to_string(),
        Receipt::UnknownOrder(_) => "no such order in this wallet".to_string(),
        Receipt::NotForOrderer(_) => "not a mail the orderer acts on".to_string(),
        Receipt::Stepped { from, to, effects, .. } => format!(
            "{from} -> {to}{}",
            if effects.is_empty() { String::new() } else { format!(" ({effects:?})") }
        ),
        Receipt::Refused { reason, .. } => format!("refused: {reason}"),
        Receipt::Bounced { reason, .. } => reason.clone(),
    }
}
