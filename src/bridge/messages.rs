//! The messages of the bridge, version 1: between the Thunderbird add-on
//! and the host (`FromAddon`, `ToAddon`), and between the wallet's other
//! front ends and the host over the local socket (`Request`, `Reply`).
//! Every message is a JSON object whose `type` names it; a type this end
//! does not know is refused, never guessed at.

use serde::{Deserialize, Serialize};

/// The bridge's version; the add-on and the host say theirs in `hello`
/// and `welcome`.
pub const VERSION: u32 = 1;

/// A sending identity of Thunderbird (an address it can send from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub id: String,
    pub email: String,
    #[serde(default)]
    pub account: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FromAddon {
    /// First, and again when Thunderbird's accounts change.
    Hello {
        version: String,
        #[serde(default)]
        bridge: Option<u32>,
        identities: Vec<Identity>,
        /// Thunderbird's language (`en-US`), for the texts of the host's
        /// answers when the wallet has none chosen.
        #[serde(default)]
        locale: Option<String>,
    },
    /// A mail the add-on found to be MailPay's (a MailPay header or block),
    /// its raw source in base64.
    Mail {
        id: String,
        #[serde(default)]
        account: Option<String>,
        raw: String,
    },
    /// A `send` was sent; `message_id` is the Message-ID Thunderbird gave it.
    Sent { request: String, message_id: String },
    SendFailed {
        request: String,
        reason: String,
        #[serde(default)]
        temporary: bool,
    },
    /// The user asked to review this order's confirmation in the wallet.
    Review { order: String },
    /// The user asked to pay with this `mailpay:` link.
    Pay { link: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToAddon {
    /// The answer to `hello`: the wallet account served, or why none.
    /// `standby`: another Thunderbird already carries this wallet's mails.
    Welcome {
        version: String,
        bridge: u32,
        account: Option<String>,
        standby: bool,
        text: String,
    },
    /// What the wallet made of a `mail`. `review`: the user has to decide
    /// (the add-on shows its banner on that mail).
    Taken {
        id: String,
        outcome: Outcome,
        order: Option<String>,
        review: bool,
        text: String,
    },
    Send(SendRequest),
    /// A frame the host could not take, and why.
    Error {
        text: String,
    },
}

/// What became of a mail handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// It moved its payment on.
    Stepped,
    /// The bank's confirmation: the user decides.
    NeedsReview,
    /// The bank's confirmation of a payment approved in advance: answered.
    Answered,
    /// Seen before: nothing changed.
    Duplicate,
    /// MailPay, but not about a payment of this wallet, or not something
    /// the orderer acts on.
    NotOurs,
    /// Not possible in its payment's state.
    Refused,
    /// It claims to be MailPay and is not valid.
    Invalid,
    /// A delivery report about a mail of this wallet.
    Bounce,
    /// Not a MailPay mail at all: the add-on should not have sent it.
    #[serde(rename = "not-mailpay")]
    NotMailPay,
}

/// One mail for Thunderbird to send from `identity`; `request` is the
/// mail's Message-ID in the wallet's outbox, the same for every attempt,
/// so that the add-on sends each mail once. `reply_to` is the
/// Message-ID of the mail it answers (Thunderbird threads it), `headers`
/// are `X-MailPay-*` headers, `body` is the text as MailPay wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRequest {
    pub request: String,
    pub identity: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub reply_to: Option<String>,
    pub headers: Vec<(String, String)>,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    #[serde(rename = "type")]
    pub content_type: String,
    pub base64: String,
}

/// A mail of the wallet's outbox, as a front end hands it to the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireMail {
    pub kind: String,
    pub order: String,
    pub message_id: String,
    pub from: String,
    pub to: String,
    /// The whole mail as MailPay built it, in base64.
    pub bytes: String,
}

/// What the host says of one mail: sent (as `sent_as`), or why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireResult {
    pub message_id: String,
    pub sent_as: Option<String>,
    pub error: Option<String>,
    #[serde(default)]
    pub temporary: bool,
}

/// A front end (the app, the command line) to the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Request {
    /// Send these mails through Thunderbird.
    Send { mails: Vec<WireMail> },
    /// Who is connected.
    Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Reply {
    /// One result per mail, in the order given.
    Sent {
        results: Vec<WireResult>,
    },
    Status {
        account: Option<String>,
        addon: Option<String>,
        standby: bool,
    },
    Error {
        text: String,
    },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn messages_are_spelled_as_the_add_on_writes_them() {
        let hello: FromAddon = serde_json::from_str(
            r#"{"type":"hello","version":"1.0.0","identities":[{"id":"id1","email":"a@b.test","account":"account1"}]}"#,
        )
        .unwrap();
        assert!(matches!(hello, FromAddon::Hello { identities, .. } if identities[0].email == "a@b.test"));
        let failed: FromAddon = serde_json::from_str(
            r#"{"type":"send-failed","request":"r-1","reason":"offline","temporary":true}"#,
        )
        .unwrap();
        assert!(matches!(failed, FromAddon::SendFailed { temporary: true, .. }));
        let send = ToAddon::Send(SendRequest {
            request: "r-1".into(),
            identity: "a@b.test".into(),
            to: "bank@bank.test".into(),
            subject: "s".into(),
            body: "b".into(),
            reply_to: None,
            headers: vec![("X-MailPay-Kind".into(), "approve".into())],
            attachments: vec![Attachment {
                name: "w.age".into(),
                content_type: "t/x".into(),
                base64: "AA==".into(),
            }],
        });
        let json = serde_json::to_value(&send).unwrap();
        assert_eq!(json["type"], "send");
        assert_eq!(json["headers"][0][0], "X-MailPay-Kind");
        assert_eq!(json["attachments"][0]["type"], "t/x");
        let taken = serde_json::to_value(ToAddon::Taken {
            id: "7".into(),
            outcome: Outcome::NeedsReview,
            order: None,
            review: true,
            text: String::new(),
        })
        .unwrap();
        assert_eq!(taken["outcome"], "needs-review");
    }

    #[test]
    fn an_unknown_type_is_refused() {
        assert!(serde_json::from_str::<FromAddon>(r#"{"type":"format-disk"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"type":"hello"}"#).is_err());
    }
}
