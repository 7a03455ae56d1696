//! A mail of the wallet's outbox taken apart into what a mail client's
//! compose API takes: subject, text, the message answered, `X-MailPay-*`
//! headers and the attachment. Thunderbird builds the MIME again around
//! them (its own Message-ID, format=flowed text); PROTOCOL.md 4.1 says
//! what a reader gets on this route.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mail_parser::{MessageParser, MimeHeaders};

use super::messages::{Attachment, SendRequest};
use crate::protocol::compose::Outgoing;
use crate::protocol::headers::Header;

/// `mail` as a request for the mail client, with the request id `request`.
pub fn send_request(mail: &Outgoing, request: String) -> Result<SendRequest, String> {
    let message = MessageParser::default()
        .parse(&mail.bytes)
        .ok_or_else(|| "the mail MailPay built cannot be read back".to_string())?;
    // Line ends as a script's strings have them; Thunderbird writes CRLF.
    let body = message
        .body_text(0)
        .ok_or_else(|| "the mail MailPay built has no text".to_string())?
        .replace("\r\n", "\n");
    let headers = [Header::Version, Header::Kind, Header::Order]
        .into_iter()
        .filter_map(|header| {
            let value = message.header_raw(header.name())?.trim();
            Some((format!("X-{}", header.name()), value.to_string()))
        })
        .collect();
    let reply_to = message.in_reply_to().as_text().map(|id| id.trim_matches(['<', '>']).to_string());
    let attachments = message
        .attachments()
        .map(|part| Attachment {
            name: part.attachment_name().unwrap_or("attachment").to_string(),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into()),
            base64: STANDARD.encode(part.contents()),
        })
        .collect();
    Ok(SendRequest {
        request,
        identity: mail.from.to_string(),
        to: mail.to.to_string(),
        subject: message.subject().unwrap_or_default().to_string(),
        body,
        reply_to,
        headers,
        attachments,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::protocol::compose;
    use crate::protocol::message::WalletMail;
    use crate::protocol::{OrderId, Timestamp};

    #[test]
    fn a_wallet_mail_keeps_its_text_headers_and_cheque() {
        let order: OrderId = "99GP-0D1Y-7S9V-BDTZ".parse().unwrap();
        let mail = WalletMail {
            order: order.clone(),
            orderer: "orderer@buyer.test".parse().unwrap(),
            cheque: b"age-encryption.org/v1\n\x00\xff binary".to_vec(),
        };
        let outgoing = compose::wallet(&mail, &"bank@bank.test".parse().unwrap())
            .build_with_id(Timestamp::from_unix(0), "id@buyer.test".into());
        let request = send_request(&outgoing, "r-1".into()).unwrap();
        assert_eq!(request.identity, "orderer@buyer.test");
        assert_eq!(request.to, "bank@bank.test");
        assert!(request.subject.contains(&order.to_string()), "{}", request.subject);
        assert!(request.body.contains("-----BEGIN MAILPAY WALLET-----"), "{}", request.body);
        assert!(
            request.headers.contains(&("X-MailPay-Kind".into(), "wallet".into())),
            "{:?}",
            request.headers
        );
        assert!(request.headers.contains(&("X-MailPay-Order".into(), order.as_str().to_string())));
        assert_eq!(request.reply_to, None);
        assert!(!request.body.contains('\r'), "LF line ends");
        assert_eq!(request.attachments.len(), 1);
        assert_eq!(request.attachments[0].content_type, "application/vnd.age");
        assert_eq!(STANDARD.decode(&request.attachments[0].base64).unwrap(), mail.cheque);
    }
}
