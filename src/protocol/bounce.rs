//! Delivery status notifications (RFC 3464), with no I/O.
//!
//! A mail the server accepted can still fail on the way: the recipient's
//! mailbox is full (`552 5.2.2` at final delivery), the address is gone.
//! The server then mails the sender a `multipart/report;
//! report-type=delivery-status` with a `message/delivery-status` part and
//! the original message (`message/rfc822`) or only its headers
//! (`text/rfc822-headers`) attached. [`parse`] reads which mail bounced (its
//! Message-ID), for whom, and why.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

/// Mails larger than this are not read as bounces (a report is small;
/// the original it carries is cut by the server's bounce size limit).
const MAX_REPORT_BYTES: usize = 4 * 1024 * 1024;

/// One failed (or delayed) delivery of a mail this side sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The report's own Message-ID, if it has one.
    pub report_message_id: Option<String>,
    /// The Message-ID of the mail that bounced, without angle brackets.
    pub original_message_id: String,
    /// The recipient the delivery failed for (`Final-Recipient`).
    pub recipient: String,
    /// The enhanced status code (RFC 3463), e.g. `5.2.2`.
    pub status: String,
    /// The receiving server's own words (`Diagnostic-Code`), if given.
    pub diagnostic: String,
    /// `Action: failed` with a 5.x.x status: the server gave up. Otherwise
    /// (`delayed`) it is still trying.
    pub permanent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BounceError {
    #[error("not a mail")]
    NotAMail,
    #[error("not a delivery status notification (no multipart/report; report-type=delivery-status)")]
    NotAReport,
    #[error("the delivery report has no message/delivery-status part")]
    NoStatus,
    #[error("the delivery report names no recipient with an action and a status")]
    NoRecipient,
    #[error("the delivery report does not carry the original message's Message-ID")]
    NoOriginal,
    #[error("the delivery report is larger than {0} bytes")]
    TooLarge(usize),
}

impl Bounce {
    /// What happened, in a few words: "the mailbox is full (5.2.2)".
    pub fn summary(&self) -> String {
        let what = match self.detail_code() {
            ("2", "2") => "the mailbox is full",
            ("1", "1" | "6") => "the address does not exist",
            ("2", "1") => "the mailbox is disabled",
            ("2", "3") | ("3", "4") => "the mail is too large for the mailbox",
            ("7", _) => "the receiving server refused the mail",
            _ if self.permanent => "the mail could not be delivered",
            _ => "the delivery is delayed",
        };
        format!("{what} ({})", self.status)
    }

    /// Whether the recipient can fix it by making room.
    pub fn mailbox_full(&self) -> bool {
        self.detail_code() == ("2", "2")
    }

    fn detail_code(&self) -> (&str, &str) {
        let mut parts = self.status.split('.').skip(1);
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
    }
}

/// Reads a delivery status notification; any other mail is an error.
pub fn parse(raw: &[u8]) -> Result<Bounce, BounceError> {
    if raw.len() > MAX_REPORT_BYTES {
        return Err(BounceError::TooLarge(MAX_REPORT_BYTES));
    }
    // The headers tell whether it is a report; most mail is not, and is
    // not parsed any further here.
    let headers = MessageParser::default().parse_headers(raw).ok_or(BounceError::NotAMail)?;
    let is_report = headers.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct.attribute("report-type").is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    });
    if !is_report {
        return Err(BounceError::NotAReport);
    }
    let message = MessageParser::default().parse(raw).ok_or(BounceError::NotAMail)?;
    let mut status_text = None;
    let mut original_id = None;
    for part in message.parts.iter().skip(1) {
        let Some(ct) = part.content_type() else { continue };
        let (ctype, subtype) =
            (ct.ctype().to_ascii_lowercase(), ct.subtype().unwrap_or("").to_ascii_lowercase());
        match (ctype.as_str(), subtype.as_str(), &part.body) {
            ("message", "delivery-status" | "global-delivery-status", _) if status_text.is_none() => {
                status_text = Some(String::from_utf8_lossy(part.contents()).into_owned());
            }
            (_, _, PartType::Message(original)) if original_id.is_none() => {
                original_id = original.message_id().map(str::to_string);
            }
            ("text" | "message", "rfc822-headers" | "global-headers", _) if original_id.is_none() => {
                original_id = headers_message_id(part.contents());
            }
            _ => {}
        }
    }
    let fields = status_fields(&status_text.ok_or(BounceError::NoStatus)?);
    let original_message_id = original_id.ok_or(BounceError::NoOriginal)?;
    // The first recipient that failed, else the first reported.
    let recipient = fields
        .iter()
        .find(|r| r.action.eq_ignore_ascii_case("failed"))
        .or_else(|| fields.first())
        .ok_or(BounceError::NoRecipient)?;
    Ok(Bounce {
        report_message_id: message.message_id().map(str::to_string),
        original_message_id,
        recipient: recipient.recipient.clone(),
        status: recipient.status.clone(),
        diagnostic: recipient.diagnostic.clone(),
        permanent: recipient.action.eq_ignore_ascii_case("failed") && recipient.status.starts_with('5'),
    })
}

fn headers_message_id(headers: &[u8]) -> Option<String> {
    let mut text = headers.to_vec();
    text.extend_from_slice(b"\r\n\r\n");
    let parsed: Option<Message<'_>> = MessageParser::default().parse_headers(&text);
    parsed.and_then(|m| m.message_id().map(str::to_string))
}

/// One per-recipient group of a delivery-status part.
#[derive(Debug, Default)]
struct RecipientStatus {
    recipient: String,
    action: String,
    status: String,
    diagnostic: String,
}

/// The per-recipient groups (those with an `Action` and a `Status`) of a
/// `message/delivery-status` body: groups of `Name: value` lines separated
/// by empty lines, continuation lines starting with white space.
fn status_fields(text: &str) -> Vec<RecipientStatus> {
    let mut out = Vec::new();
    for group in text.replace("\r\n", "\n").split("\n\n") {
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in group.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = fields.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            } else if let Some((name, value)) = line.split_once(':') {
                fields.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let get = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        let (Some(action), Some(status)) = (get("action"), get("status")) else { continue };
        // `rfc822; shop@shop.test`: the address after the type.
        let address = |v: String| v.split_once(';').map_or(v.clone(), |(_, a)| a.trim().to_string());
        let diagnostic = get("diagnostic-code").map(address).unwrap_or_default();
        out.push(RecipientStatus {
            recipient: get("final-recipient")
                .or_else(|| get("original-recipient"))
                .map(address)
                .unwrap_or_default(),
            action,
            status: status.split_whitespace().next().unwrap_or("").to_string(),
            diagnostic,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Real Postfix bounces, captured from the test mail stack.
    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../tests/fixtures/bounce/", $name)).to_vec()
        };
    }

    #[test]
    fn a_postfix_bounce_with_the_original_attached() {
        let bounce = parse(&fixture!("postfix-quota-rfc822.eml")).unwrap();
        assert_eq!(bounce.original_message_id, "order.TEST.ABC@buyer.test");
        assert_eq!(bounce.report_message_id.as_deref(), Some("20261127022441.60C7499228D@mail.test"));
        assert_eq!(bounce.recipient, "shop@shop.test");
        assert_eq!(bounce.status, "5.2.2");
        assert!(bounce.permanent);
        assert!(bounce.mailbox_full());
        assert!(
            bounce.diagnostic.starts_with("552 5.2.2 <shop@shop.test> Quota exceeded"),
            "{}",
            bounce.diagnostic
        );
        assert!(bounce.diagnostic.ends_with("(mailbox for user is full)"), "joined: {}", bounce.diagnostic);
        assert_eq!(bounce.summary(), "the mailbox is full (5.2.2)");
    }

    #[test]
    fn a_postfix_bounce_with_only_the_original_headers() {
        let bounce = parse(&fixture!("postfix-quota-headers.eml")).unwrap();
        assert_eq!(bounce.original_message_id, "order.BIG.XYZ@buyer.test");
        assert_eq!(bounce.status, "5.2.2");
        assert!(bounce.permanent);
    }

    fn report(status_part: &str, original: &str) -> Vec<u8> {
        format!(
            "From: MAILER-DAEMON@mail.test\r\nTo: a@b.test\r\nMessage-ID: <dsn.1@mail.test>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
             --B\r\nContent-Type: text/plain\r\n\r\nIt failed.\r\n\
             --B\r\nContent-Type: message/delivery-status\r\n\r\n{status_part}\r\n\
             --B\r\nContent-Type: message/rfc822\r\n\r\n{original}\r\n--B--\r\n"
        )
        .into_bytes()
    }

    const ORIGINAL: &str = "From: a@b.test\r\nTo: c@d.test\r\nMessage-ID: <x.1@b.test>\r\n\r\nhello\r\n";

    #[test]
    fn a_delay_notice_is_not_permanent() {
        let status = "Reporting-MTA: dns; mail.test\r\n\r\nFinal-Recipient: rfc822; c@d.test\r\n\
                      Action: delayed\r\nStatus: 4.4.1\r\n";
        let bounce = parse(&report(status, ORIGINAL)).unwrap();
        assert!(!bounce.permanent);
        assert_eq!(bounce.summary(), "the delivery is delayed (4.4.1)");
    }

    #[test]
    fn the_failed_recipient_is_reported_when_several_are_listed() {
        let status = "Reporting-MTA: dns; mail.test\r\n\r\nFinal-Recipient: rfc822; ok@d.test\r\n\
                      Action: delivered\r\nStatus: 2.0.0\r\n\r\nFinal-Recipient: rfc822; gone@d.test\r\n\
                      Action: failed\r\nStatus: 5.1.1\r\n";
        let bounce = parse(&report(status, ORIGINAL)).unwrap();
        assert_eq!(bounce.recipient, "gone@d.test");
        assert_eq!(bounce.summary(), "the address does not exist (5.1.1)");
    }

    #[test]
    fn what_is_not_a_bounce_says_why() {
        let plain = b"From: a@b.test\r\nTo: c@d.test\r\nSubject: hi\r\n\r\nhello\r\n";
        assert_eq!(parse(plain), Err(BounceError::NotAReport));
        let status = "Reporting-MTA: dns; mail.test\r\n";
        assert_eq!(parse(&report(status, ORIGINAL)), Err(BounceError::NoRecipient));
        let status = "Final-Recipient: rfc822; c@d.test\r\nAction: failed\r\nStatus: 5.2.2\r\n";
        let no_id = "From: a@b.test\r\nTo: c@d.test\r\n\r\nhello\r\n";
        assert_eq!(parse(&report(status, no_id)), Err(BounceError::NoOriginal));
    }
}
