//! `mailpay watch`: the inbox watcher on the command line, printing every
//! MailPay mail it sees and what it did.

use super::CliError;
use crate::mail::imap::{self, Flow, Received, WatchConfig, WatchEvent};
use crate::protocol::{EmailAddress, Kind, OrderId};
use crate::wallet::{self, Receipt};

fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

pub fn run(account: Option<&str>, once: bool, json: bool) -> Result<(), CliError> {
    let (carrier, wallet) = super::send::open(account)?;
    let servers = match carrier {
        super::send::Carrier::Servers(servers) => servers,
        super::send::Carrier::Thunderbird { address, .. } => {
            return Err(CliError::Usage(format!(
                "{address} is watched through Thunderbird: MailPay's add-on hands its MailPay mails to the wallet as they arrive"
            )));
        }
    };
    let account = servers.account().clone();
    let mut config = WatchConfig::with_login(account.clone(), servers.login().clone());
    config.expecting = servers.expecting().clone();
    let address = account.address.to_string();
    let folder = config.folder.clone();
    let mut resume = wallet.with_blocking(|s| s.resume(&address, &folder)).map_err(fail)?;
    let runtime = super::runtime()?;
    let mut failure: Option<CliError> = None;
    // Answers the wallet queued on its own (a payment approved in advance)
    // go out while the watch goes on; the command waits for them at the end.
    let mut answers = Vec::new();
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
            WatchEvent::Disconnected { reason, retry_in, .. } => {
                eprintln!("disconnected: {reason}; retrying in {retry_in:.1?}")
            }
            WatchEvent::Idle { resume: at } => {
                if let Err(e) = wallet.with_blocking(|s| s.save_resume(&address, &folder, at)) {
                    failure = Some(fail(e));
                    return Flow::Stop;
                }
                if once {
                    return Flow::Stop;
                }
            }
            WatchEvent::Mail { resume: at, raw, received } => {
                let uid = at.last_uid;
                let what = seen(&received);
                let taken = wallet.with_blocking(|s| {
                    let receipt = wallet::take(s, &raw, received)?;
                    s.save_resume(&address, &folder, at)?;
                    Ok::<_, wallet::WalletError>(receipt)
                });
                match taken {
                    Ok(receipt) => {
                        println!("{}", describe(uid, &what, &receipt, json));
                        if receipt.queued_answer()
                            && let Some(order) = receipt.order().cloned()
                        {
                            let (wallet, servers) = (wallet.clone(), servers.clone());
                            answers.push(tokio::spawn(async move {
                                let sent = wallet.dispatch(&servers, &order).await;
                                (order, sent)
                            }));
                        }
                    }
                    Err(e) => {
                        // One mail the wallet cannot take must not stop the
                        // watch, nor be read again after a restart.
                        let why = format!(
                            "could not be taken into the wallet: {e}; moved to {}",
                            imap::QUARANTINE_FOLDER
                        );
                        if json {
                            println!("{}", serde_json::json!({ "uid": uid, "set_aside": why }));
                        } else {
                            let what = match &what {
                                Seen::MailPay { kind, order, .. } => format!("{kind} for order {order}"),
                                Seen::Bounce { original, .. } => format!("the bounce of {original}"),
                                Seen::Invalid => "a mail".to_string(),
                            };
                            println!("uid {uid}: {what} {why}");
                        }
                        if let Err(e) = wallet.with_blocking(|s| s.save_resume(&address, &folder, at)) {
                            failure = Some(fail(e));
                            return Flow::Stop;
                        }
                        return Flow::SetAside;
                    }
                }
            }
        }
        Flow::Go
    }));
    for answer in answers {
        match runtime.block_on(answer) {
            Ok((order, Ok(sent))) => {
                for mail in sent {
                    match mail.result {
                        Ok(()) => println!(
                            "{} to {} for order {order}: accepted (approved in advance)",
                            mail.kind, mail.recipient
                        ),
                        Err(e) => println!(
                            "{} to {} for order {order}: NOT SENT: {e}; `mailpay retry {order}` sends it",
                            mail.kind, mail.recipient
                        ),
                    }
                }
            }
            Ok((order, Err(e))) => println!("order {order}: the answer was not sent: {e}"),
            Err(e) => println!("an answer could not be sent: {e}"),
        }
    }
    if let Some(f) = failure {
        return Err(f);
    }
    match error {
        imap::ImapError::Stopped => Ok(()),
        other => Err(CliError::Failed(other.to_string())),
    }
}

/// What the mail was, for the line about it.
enum Seen {
    MailPay { kind: Kind, order: OrderId, from: EmailAddress },
    Bounce { original: String, recipient: String, status: String },
    Invalid,
}

fn seen(received: &Received) -> Seen {
    match received {
        Received::MailPay(mail) => Seen::MailPay {
            kind: mail.body.kind(),
            order: mail.body.order().clone(),
            from: mail.from.clone(),
        },
        Received::Bounce(b) => Seen::Bounce {
            original: b.original_message_id.clone(),
            recipient: b.recipient.clone(),
            status: b.status.clone(),
        },
        Received::Invalid(_) => Seen::Invalid,
    }
}

fn describe(uid: u32, seen: &Seen, receipt: &Receipt, json: bool) -> String {
    let effect = effect_of(receipt);
    match (seen, json) {
        (Seen::MailPay { kind, order, from }, true) => serde_json::json!({
            "kind": kind.as_str(), "order_id": order.to_string(), "from": from.as_str(), "effect": effect
        })
        .to_string(),
        (Seen::MailPay { kind, order, from }, false) => {
            format!("{kind} for order {order} from {from}: {effect}")
        }
        (Seen::Bounce { original, status, .. }, true) => {
            serde_json::json!({ "uid": uid, "bounce": original, "status": status, "effect": effect })
                .to_string()
        }
        (Seen::Bounce { original, recipient, status }, false) => {
            format!("uid {uid}: {original} to {recipient} bounced ({status}): {effect}")
        }
        (Seen::Invalid, true) => {
            serde_json::json!({ "uid": uid, "valid": false, "error": effect }).to_string()
        }
        (Seen::Invalid, false) => format!("uid {uid}: not a valid MailPay mail: {effect}"),
    }
}

fn effect_of(receipt: &Receipt) -> String {
    match receipt {
        Receipt::Duplicate => "already seen".to_string(),
        Receipt::UnknownOrder(_) => "no such order in this wallet".to_string(),
        Receipt::NotForOrderer(_) => "not a mail the orderer acts on".to_string(),
        Receipt::Stepped { from, to, effects, .. } => format!(
            "{} -> {}{}",
            from.name(),
            to.name(),
            if effects.is_empty() { String::new() } else { format!(" ({effects:?})") }
        ),
        Receipt::Refused { reason, .. } => format!("refused: {reason}"),
        Receipt::Bounced { reason, .. } | Receipt::Invalid(reason) => reason.clone(),
    }
}
