//! Every header MailPay writes or reads, in one place.

/// A header with a meaning in MailPay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// `MailPay-Version: 1` marks a MailPay mail (PROTOCOL.md, "Headers").
    Version,
    /// `MailPay-Kind: order` lets receivers filter without reading the body.
    Kind,
    /// `MailPay-Order: 7KQ3M9ZXP2VDH4TR`, the order id in canonical form.
    Order,
    /// RFC 3834: set on every mail an agent sends without a person.
    AutoSubmitted,
    /// RFC 2919: mail from a list is never answered automatically.
    ListId,
    /// RFC 8601: verdicts of the receiving server (DKIM, SPF, DMARC).
    AuthenticationResults,
}

impl Header {
    pub fn name(self) -> &'static str {
        match self {
            Header::Version => "MailPay-Version",
            Header::Kind => "MailPay-Kind",
            Header::Order => "MailPay-Order",
            Header::AutoSubmitted => "Auto-Submitted",
            Header::ListId => "List-Id",
            Header::AuthenticationResults => "Authentication-Results",
        }
    }

    /// The name a mail client extension writes instead (Thunderbird's
    /// lets it write only headers that begin with `X-`, and re-cases them
    /// to `X-Mailpay-Kind`): readers take it, in any case, exactly as the
    /// MailPay header (PROTOCOL.md 4).
    pub fn x_name(self) -> Option<&'static str> {
        match self {
            Header::Version => Some("X-MailPay-Version"),
            Header::Kind => Some("X-MailPay-Kind"),
            Header::Order => Some("X-MailPay-Order"),
            _ => None,
        }
    }
}
