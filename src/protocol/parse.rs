//! Reads raw mail bytes into a typed MailPay message, or says exactly why
//! they are not one, within fixed limits (PROTOCOL.md 3.3). [`parse`] is
//! what every reader of MailPay mail calls: the IMAP watcher's
//! classification (`mail::imap::Received::of`), `mailpay inspect`, the
//! demo's loop and the tests.

use mail_parser::{MessageParser, MimeHeaders};

use super::address::{AddressError, EmailAddress};
use super::block::{self, Block, BlockError, Origin};
use super::compose::{Thread, order_in_message_id};
use super::flowed;
use super::hand_answer::{BareAnswer, HandText, Unclear};
use super::headers::Header;
use super::message::{
    Approve, Bill, Body, Confirm, Decline, FieldError, Kind, OrderTerms, Rejected, Settled, VERSION,
    WalletMail, cheque_filename,
};
use super::order_id::OrderId;
use super::timestamp::Timestamp;

/// Larger mails are refused before parsing: no MailPay mail comes near it.
pub const MAX_MAIL_BYTES: usize = 4 << 20;
/// MIME parts in the whole mail, attached messages' parts included.
pub const MAX_PARTS: usize = 256;
/// Levels of multipart nesting, attached messages included.
pub const MAX_DEPTH: usize = 16;
/// Header fields in one part.
pub const MAX_HEADERS: usize = 512;
/// Text the parser may produce from the mail's parts (decoded text parts
/// and HTML turned into lines), all parts together. Counted as it is
/// produced: the parser stops at the limit instead of building more.
pub const MAX_TEXT_BYTES: usize = 4 << 20;
/// Levels of `<blockquote>` nesting in an HTML part.
pub const MAX_QUOTE_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the data is not an e-mail message")]
    NotAMail,
    #[error("the mail is {0} bytes; MailPay reads mails of at most {MAX_MAIL_BYTES} bytes")]
    TooLarge(usize),
    #[error("the mail has more than {MAX_PARTS} MIME parts; MailPay reads at most {MAX_PARTS}")]
    TooManyParts,
    #[error(
        "the mail's MIME parts nest more than {MAX_DEPTH} levels deep; MailPay reads at most {MAX_DEPTH}"
    )]
    TooDeep,
    #[error(
        "a part of the mail has more than {MAX_HEADERS} header fields; MailPay reads at most {MAX_HEADERS}"
    )]
    TooManyHeaders,
    #[error(
        "the mail's text comes to more than {MAX_TEXT_BYTES} bytes once decoded; MailPay reads at most {MAX_TEXT_BYTES}"
    )]
    TooMuchText,
    #[error(
        "the mail's HTML nests quotations more than {MAX_QUOTE_DEPTH} levels deep; MailPay reads at most {MAX_QUOTE_DEPTH}"
    )]
    QuotesTooDeep,
    #[error("the mail has no From address")]
    NoSender,
    #[error("the From address is unusable: {0}")]
    BadSender(#[from] AddressError),
    #[error("not a MailPay mail: it has no MailPay block and no MailPay-Version header")]
    NotMailPay,
    #[error("the mail is MailPay version {0}; this MailPay reads version {VERSION}")]
    Version(String),
    #[error("{0}")]
    Block(#[from] BlockError),
    #[error("{0}")]
    Field(#[from] FieldError),
    #[error("the mail carries two MAILPAY {0} blocks that disagree")]
    Conflict(String),
    #[error("a {kind} mail must carry a MAILPAY {block} block{hint}")]
    Missing { kind: Kind, block: &'static str, hint: &'static str },
    #[error("the MailPay-Kind header says {header:?} but the mail's content is a {found}")]
    KindMismatch { header: String, found: Kind },
    #[error("the MailPay-Kind header {0:?} names no MailPay step")]
    UnknownKind(String),
    /// The same MailPay header twice, under one spelling or both
    /// (`MailPay-Kind` and `X-MailPay-Kind`), saying different things.
    #[error("the {first} header says {first_value:?} but the {second} header says {second_value:?}")]
    HeaderConflict { first: &'static str, first_value: String, second: &'static str, second_value: String },
    #[error("the mail names order {first} in {first_place} but order {second} in {second_place}")]
    OrderConflict { first: String, first_place: &'static str, second: String, second_place: &'static str },
    #[error("the wallet mail has no application/vnd.age attachment {0}")]
    NoCheque(String),
    #[error("the reply says {answer} but {missing}")]
    BareAnswer { answer: &'static str, missing: &'static str },
    /// The sender's own text tries to answer but says no one clear thing
    /// (PROTOCOL.md 9); the reason says what to write instead.
    #[error("the reply is no clear answer: {0}")]
    UnclearAnswer(Unclear),
    /// Not the parser's own verdict: a receiver's, when reading or
    /// handling the mail failed inside MailPay (a defect, caught).
    #[error("MailPay could not take this mail ({0}); it was set aside")]
    Failed(String),
}

impl ParseError {
    /// The mail went past one of the limits on what MailPay reads: it may
    /// be anyone's mail, not one that tried to be MailPay.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            ParseError::TooLarge(_)
                | ParseError::TooManyParts
                | ParseError::TooDeep
                | ParseError::TooManyHeaders
                | ParseError::TooMuchText
                | ParseError::QuotesTooDeep
                | ParseError::Block(BlockError::TooLarge(_))
        )
    }
}

/// A block found in the mail, for reports (`mailpay inspect`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Found {
    pub block: String,
    pub order: Option<String>,
    pub origin: Origin,
}

/// A MailPay mail as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub message_id: Option<String>,
    pub from: EmailAddress,
    pub to: Vec<EmailAddress>,
    pub subject: Option<String>,
    pub date: Option<Timestamp>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// `Auto-Submitted` other than `no` (RFC 3834).
    pub auto_submitted: bool,
    /// Came through a mailing list (`List-Id`).
    pub mailing_list: bool,
    /// Authentication-Results verdicts that failed (`dkim=fail`, ...).
    pub auth_failures: Vec<String>,
    pub body: Body,
    /// The ORDER block as received, for a merchant to forward unchanged.
    pub order_block: Option<Block>,
    pub blocks: Vec<Found>,
}

impl Incoming {
    /// Where an answer to this mail goes in the thread.
    pub fn thread(&self) -> Thread {
        let mut references = self.references.clone();
        references.extend(self.message_id.clone());
        Thread { in_reply_to: self.message_id.clone(), references, subject: self.subject.clone() }
    }

    /// RFC 3834: an automated MailPay agent takes a protocol step on this
    /// mail, but never sends anything in answer to a mail that is
    /// auto-submitted by a stranger, comes from a list, or failed sender
    /// authentication. The protocol steps themselves decide what is valid.
    pub fn from_mailing_list_or_failed_auth(&self) -> bool {
        self.mailing_list || !self.auth_failures.is_empty()
    }
}

/// Parses one raw mail.
pub fn parse(raw: &[u8]) -> Result<Incoming, ParseError> {
    if raw.len() > MAX_MAIL_BYTES {
        return Err(ParseError::TooLarge(raw.len()));
    }
    let message = MessageParser::default().parse(raw).ok_or(ParseError::NotAMail)?;
    // Binary junk still "parses" into headers with impossible names.
    let field_name = |name: &str| !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
    if !message.headers().iter().any(|h| field_name(h.name())) {
        return Err(ParseError::NotAMail);
    }
    check_shape(&message)?;
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .ok_or(ParseError::NoSender)?
        .parse::<EmailAddress>()?;
    if let Some((version, _)) = mailpay_header(&message, Header::Version)?
        && version != VERSION
    {
        return Err(ParseError::Version(version));
    }
    let kind_header = match mailpay_header(&message, Header::Kind)? {
        Some((k, _)) => Some(k.parse::<Kind>().map_err(|()| ParseError::UnknownKind(k.clone()))?),
        None => None,
    };

    let mut budget = MAX_TEXT_BYTES;
    let mut blocks = Vec::new();
    let mut own_text = Vec::new();
    for i in 0..message.text_body_count() {
        if let Some(text) = body_text(&message, i, &mut budget)? {
            blocks.extend(block::scan(&text)?);
            if i == 0 {
                own_text = block::own_text(&text).into_iter().map(str::to_string).collect();
            }
        }
    }
    // The HTML alternative is what most mail clients show: a block there
    // must agree with the text part's (checked below with the others), or
    // the reader would see other figures than those MailPay acts on.
    let mut shown = Vec::new();
    let text_parts: std::collections::HashSet<_> = message.text_body.iter().collect();
    for id in message.html_body.iter().filter(|id| !text_parts.contains(id)) {
        if let Some(mail_parser::PartType::Html(html)) = message.part(*id).map(|p| &p.body) {
            shown.extend(block::scan(&html_lines(html, &mut budget)?)?);
        }
    }
    for part in message.attachments().filter_map(|p| p.message()) {
        for i in 0..part.text_body_count() {
            if let Some(text) = body_text(part, i, &mut budget)? {
                blocks.extend(block::scan(&text)?.into_iter().map(|mut b| {
                    b.origin = Origin::Attached;
                    b
                }));
            }
        }
    }
    // Agreeing is transitive: comparing each block with the first of its name
    // is enough, and stays linear where comparing every pair took minutes on
    // a mail of many small blocks.
    let mut first_of_name = std::collections::HashMap::new();
    for b in &blocks {
        let first = first_of_name.entry(b.name.as_str()).or_insert_with(|| b.canonical());
        if *first != b.canonical() {
            return Err(ParseError::Conflict(b.name.clone()));
        }
    }
    for b in &shown {
        if first_of_name.get(b.name.as_str()).is_some_and(|first| *first != b.canonical()) {
            return Err(ParseError::Conflict(b.name.clone()));
        }
    }
    let found = blocks
        .iter()
        .map(|b| Found { block: b.name.clone(), order: b.get("Order").map(str::to_string), origin: b.origin })
        .collect();

    let ids = |v: &mail_parser::HeaderValue<'_>| -> Vec<String> {
        match v {
            mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
            mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
            _ => Vec::new(),
        }
    };
    let in_reply_to = ids(message.in_reply_to());
    let references = ids(message.references());
    let thread_order =
        in_reply_to.iter().chain(references.iter().rev()).find_map(|id| order_in_message_id(id));

    // A bare OK or NO counts only in a mail tied to MailPay: an ordinary
    // "OK" in an ordinary thread is not an answer to anything. Own text
    // that tries to answer must answer clearly: it is never passed over
    // for a block it quotes (PROTOCOL.md 9).
    let tied = !blocks.is_empty() || kind_header.is_some() || thread_order.is_some();
    let hand = HandText::read(&own_text);
    let hand = (hand.answers() && (tied || hand.has_fields())).then(|| hand.verdict());
    let answering = kind_header.is_none_or(|k| matches!(k, Kind::Approve | Kind::Decline));
    let bare = match hand {
        Some(Err(why)) if answering => return Err(ParseError::UnclearAnswer(why)),
        Some(Ok(bare)) if answering => Some(bare),
        _ => None,
    };
    let kind = match kind_header {
        Some(k) => k,
        None => infer_kind(&blocks, bare.as_ref()).ok_or(ParseError::NotMailPay)?,
    };
    // The header must name what the sender's own blocks are.
    if let (Some(header_kind), Some(found)) = (kind_header, infer_kind(&blocks, None))
        && found != header_kind
        && blocks.iter().any(|b| b.origin == Origin::Own)
    {
        return Err(ParseError::KindMismatch { header: header_kind.to_string(), found });
    }
    let body = body_for(kind, &blocks, bare, thread_order.clone(), &message)?;
    if let Some(header_kind) = kind_header
        && body.kind() != header_kind
    {
        return Err(ParseError::KindMismatch { header: header_kind.to_string(), found: body.kind() });
    }
    let message_id = message.message_id().map(str::to_string);
    if let Some((order, spelled)) = mailpay_header(&message, Header::Order)? {
        let place = if spelled == Header::Order.name() {
            "the MailPay-Order header"
        } else {
            "the X-MailPay-Order header"
        };
        check_order(body.order(), "the MailPay block", order.parse().ok(), place)?;
    }
    check_order(
        body.order(),
        "the MailPay block",
        message_id.as_deref().and_then(order_in_message_id),
        "the Message-ID",
    )?;
    check_order(
        body.order(),
        "the MailPay block",
        in_reply_to.first().and_then(|i| order_in_message_id(i)),
        "In-Reply-To",
    )?;

    let auto_submitted = message
        .header_raw(Header::AutoSubmitted.name())
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("no"));
    let auth_failures = message
        .headers()
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(Header::AuthenticationResults.name()))
        .filter_map(|h| message.raw_message().get(h.offset_start() as usize..h.offset_end() as usize))
        .flat_map(|raw| auth_failures(&String::from_utf8_lossy(raw)))
        .collect();
    let to = message
        .to()
        .map(|a| a.iter().filter_map(|a| a.address()?.parse().ok()).collect())
        .unwrap_or_default();
    let order_block = blocks.iter().find(|b| b.name == Kind::Order.block_name()).cloned();
    Ok(Incoming {
        message_id,
        from,
        to,
        subject: message.subject().map(str::to_string),
        date: message.date().map(|d| Timestamp(d.to_timestamp())),
        in_reply_to,
        references,
        auto_submitted,
        mailing_list: message.header_raw(Header::ListId.name()).is_some(),
        auth_failures,
        body,
        order_block,
        blocks: found,
    })
}

/// The value of a MailPay header (PROTOCOL.md 4) and the name it was
/// read under, `MailPay-Kind` or `X-MailPay-Kind`: a mail client
/// extension may only write headers whose names begin with `X-`, so both
/// spellings mean the same, in any case. Every occurrence of either must
/// agree (an order id in any form it is read in; a `MailPay-Order` that
/// is no order id is ignored, as always).
fn mailpay_header(
    message: &mail_parser::Message<'_>,
    header: Header,
) -> Result<Option<(String, &'static str)>, ParseError> {
    let name = header.name();
    let x_name = header.x_name().unwrap_or(name);
    let same = |a: &str, b: &str| match header {
        Header::Kind => a.eq_ignore_ascii_case(b),
        Header::Order => a.parse::<OrderId>().ok() == b.parse::<OrderId>().ok(),
        _ => a == b,
    };
    let mut found: Option<(String, &'static str)> = None;
    for h in message.headers() {
        let spelled = if h.name().eq_ignore_ascii_case(name) {
            name
        } else if h.name().eq_ignore_ascii_case(x_name) {
            x_name
        } else {
            continue;
        };
        let raw = message.raw_message().get(h.offset_start() as usize..h.offset_end() as usize);
        let value = String::from_utf8_lossy(raw.unwrap_or_default()).trim().to_string();
        if header == Header::Order && value.parse::<OrderId>().is_err() {
            continue;
        }
        match &found {
            Some((first, first_name)) if !same(first, &value) => {
                return Err(ParseError::HeaderConflict {
                    first: first_name,
                    first_value: first.clone(),
                    second: spelled,
                    second_value: value,
                });
            }
            Some(_) => {}
            None => found = Some((value, spelled)),
        }
    }
    Ok(found)
}

/// The mail's MIME structure within [`MAX_PARTS`], [`MAX_DEPTH`] and
/// [`MAX_HEADERS`], attached messages included. One pass over the parts.
fn check_shape(message: &mail_parser::Message<'_>) -> Result<(), ParseError> {
    let mut parts = 0usize;
    // (message, its first part's depth)
    let mut messages = vec![(message, 1usize)];
    while let Some((message, depth)) = messages.pop() {
        // Parts come in document order: a multipart before its children.
        let mut depths = vec![depth; message.parts.len()];
        for (id, part) in message.parts.iter().enumerate() {
            let depth = depths.get(id).copied().unwrap_or(depth);
            if depth > MAX_DEPTH {
                return Err(ParseError::TooDeep);
            }
            if part.headers.len() > MAX_HEADERS {
                return Err(ParseError::TooManyHeaders);
            }
            match &part.body {
                mail_parser::PartType::Multipart(children) => {
                    for child in children {
                        if let Some(d) = depths.get_mut(*child as usize) {
                            *d = depth + 1;
                        }
                    }
                }
                mail_parser::PartType::Message(inner) => messages.push((inner, depth + 1)),
                _ => {}
            }
        }
        parts += message.parts.len();
        if parts > MAX_PARTS {
            return Err(ParseError::TooManyParts);
        }
    }
    Ok(())
}

/// Takes `len` bytes of text out of the parse's budget.
fn spend(budget: &mut usize, len: usize) -> Result<(), ParseError> {
    *budget = budget.checked_sub(len).ok_or(ParseError::TooMuchText)?;
    Ok(())
}

/// A text body part, paid for out of `budget`. An HTML-only body is read
/// with [`html_lines`]: mail-parser's own conversion runs `<div>` lines
/// together and flattens `<pre>`, which loses both the blocks and a
/// hand-written answer. A `format=flowed` part is unflowed (mail-parser
/// leaves its soft breaks as they are); that makes it no longer, so the
/// decoded text it was paid for covers it.
fn body_text<'x>(
    message: &'x mail_parser::Message<'x>,
    i: usize,
    budget: &mut usize,
) -> Result<Option<std::borrow::Cow<'x, str>>, ParseError> {
    let Some(part) = u32::try_from(i).ok().and_then(|i| message.text_part(i)) else { return Ok(None) };
    let text = match &part.body {
        mail_parser::PartType::Html(html) => return html_lines(html, budget).map(|t| Some(t.into())),
        mail_parser::PartType::Text(text) => text,
        _ => return Ok(None),
    };
    spend(budget, text.len())?;
    let content_type = part.content_type();
    let attribute = |name: &str| content_type.and_then(|ct| ct.attribute(name));
    Ok(Some(match flowed::params(attribute("format"), attribute("delsp")) {
        Some(delsp) => std::borrow::Cow::Owned(flowed::unflow(text, delsp)),
        None => std::borrow::Cow::Borrowed(text.as_ref()),
    }))
}

/// HTML as the lines a reader sees: a break at `<br>` and around block
/// elements, `<pre>` text as written, `<hr>` as the rule Outlook writes in
/// plain text, and `> ` before each line per enclosing `<blockquote>`.
/// What it writes is paid for out of `budget` before it is written, so a
/// small HTML part that would expand (deep quotation around many short
/// lines) stops at the budget instead of taking the memory.
fn html_lines(html: &str, budget: &mut usize) -> Result<String, ParseError> {
    let mut out = String::with_capacity(html.len().min(*budget));
    let (mut quote, mut pre, mut hidden) = (0usize, 0usize, 0usize);
    let (mut at_start, mut space) = (true, false);
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            if let Some(comment) = rest.strip_prefix("<!--") {
                rest = comment.split_once("-->").map_or("", |(_, after)| after);
                continue;
            }
            let (tag, after) = rest.split_once('>').unwrap_or((rest, ""));
            rest = after;
            let closing = tag.starts_with("</");
            let name = tag.trim_start_matches(['<', '/']);
            let end = name.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(name.len());
            let name = name.get(..end).unwrap_or_default().to_ascii_lowercase();
            let step = |n: usize| if closing { n.saturating_sub(1) } else { n + 1 };
            if name == "br" || (HTML_BLOCKS.split(' ').any(|b| b == name) && !at_start) {
                spend(budget, 1)?;
                out.push('\n');
                (at_start, space) = (true, false);
            }
            match name.as_str() {
                "head" | "style" | "script" | "title" | "template" => hidden = step(hidden),
                "blockquote" => {
                    quote = step(quote);
                    if quote > MAX_QUOTE_DEPTH {
                        return Err(ParseError::QuotesTooDeep);
                    }
                }
                "pre" => pre = step(pre),
                "hr" if hidden == 0 => {
                    // Inside a quotation the rule is quoted like any line.
                    spend(budget, 2 * quote + RULE.len())?;
                    for _ in 0..quote {
                        out.push_str("> ");
                    }
                    out.push_str(RULE);
                }
                _ => {}
            }
            continue;
        }
        rest = rest.get(c.len_utf8()..).unwrap_or("");
        if hidden > 0 || c == '\r' {
            continue;
        }
        if pre > 0 && c == '\n' {
            spend(budget, 1)?;
            out.push('\n');
            (at_start, space) = (true, false);
            continue;
        }
        if pre == 0 && c.is_whitespace() {
            space = true;
            continue;
        }
        let mut c = c;
        // An entity is at most 8 characters and its `;`: look no further,
        // or a run of `&` would search the rest of the part for each one.
        let near = rest.char_indices().nth(9).and_then(|(i, _)| rest.get(..i)).unwrap_or(rest);
        if c == '&'
            && let Some(entity) = near.split_once(';').map(|(e, _)| e)
            && let Some(decoded) = html_entity(entity)
        {
            (c, rest) = (decoded, rest.get(entity.len() + 1..).unwrap_or(""));
        }
        if at_start {
            spend(budget, 2 * quote)?;
            for _ in 0..quote {
                out.push_str("> ");
            }
        } else if space {
            spend(budget, 1)?;
            out.push(' ');
        }
        (at_start, space) = (false, false);
        spend(budget, c.len_utf8())?;
        out.push(c);
    }
    Ok(out)
}

/// The rule Outlook writes in plain text where HTML has `<hr>`.
const RULE: &str = "________________________________\n";

/// Elements that start and end a line.
const HTML_BLOCKS: &str = "p div li tr ul ol table h1 h2 h3 h4 h5 h6 blockquote pre hr";

/// The character of `&entity;` (the few that mail clients write in text).
fn html_entity(entity: &str) -> Option<char> {
    let code = match entity {
        "amp" => return Some('&'),
        "lt" => return Some('<'),
        "gt" => return Some('>'),
        "quot" => return Some('"'),
        "apos" => return Some('\''),
        "nbsp" => return Some(' '),
        _ => match entity.strip_prefix("#x").or_else(|| entity.strip_prefix("#X")) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => entity.strip_prefix('#')?.parse().ok()?,
        },
    };
    char::from_u32(code)
}

/// `dkim=fail`, `spf=softfail` and the like in an Authentication-Results value.
fn auth_failures(value: &str) -> Vec<String> {
    value
        .split([';', ' ', '\t', '\r', '\n'])
        .filter_map(|token| {
            let (method, result) = token.split_once('=')?;
            let method = method.trim().to_ascii_lowercase();
            let result = result.trim().to_ascii_lowercase();
            let checked = matches!(method.as_str(), "dkim" | "spf" | "dmarc" | "arc");
            let failed = matches!(result.as_str(), "fail" | "softfail" | "permerror");
            (checked && failed).then(|| format!("{method}={result}"))
        })
        .collect()
}

fn check_order(
    order: &OrderId,
    place: &'static str,
    other: Option<OrderId>,
    other_place: &'static str,
) -> Result<(), ParseError> {
    match other {
        Some(o) if o != *order => Err(ParseError::OrderConflict {
            first: order.to_string(),
            first_place: place,
            second: o.to_string(),
            second_place: other_place,
        }),
        _ => Ok(()),
    }
}

fn rank(origin: Origin) -> usize {
    match origin {
        Origin::Own => 0,
        Origin::Forwarded => 1,
        Origin::Quoted { depth } => 1 + depth,
        Origin::Attached => usize::MAX,
    }
}

/// The kind a mail without a MailPay-Kind header has: a hand-written answer
/// first, else the block nearest the sender's own text (an ORDER block
/// beside a BILL is the bill's cargo, not the mail's kind).
fn infer_kind(blocks: &[Block], bare: Option<&BareAnswer>) -> Option<Kind> {
    if let Some(answer) = bare {
        return Some(if answer.approve { Kind::Approve } else { Kind::Decline });
    }
    let has_bill = blocks.iter().any(|b| b.name == Kind::Bill.block_name());
    blocks
        .iter()
        .filter(|b| !(has_bill && b.name == Kind::Order.block_name()))
        .filter_map(|b| Some((rank(b.origin), Kind::from_block_name(&b.name)?)))
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, kind)| kind)
}

fn body_for(
    kind: Kind,
    blocks: &[Block],
    bare: Option<BareAnswer>,
    thread_order: Option<OrderId>,
    message: &mail_parser::Message<'_>,
) -> Result<Body, ParseError> {
    let find = |k: Kind, hint: &'static str| {
        blocks.iter().find(|b| b.name == k.block_name()).ok_or(ParseError::Missing {
            kind,
            block: k.block_name(),
            hint,
        })
    };
    Ok(match kind {
        Kind::Order => Body::Order(OrderTerms::from_block(find(Kind::Order, "")?)?),
        Kind::PaymentRequest => {
            Body::PaymentRequest(OrderTerms::from_block(find(Kind::PaymentRequest, "")?)?)
        }
        Kind::Bill => Body::Bill(Bill::from_blocks(
            find(Kind::Bill, "")?,
            find(Kind::Order, " (the orderer's order, unchanged, beside the BILL block)")?,
        )?),
        Kind::Confirm => Body::Confirm(Confirm::from_block(find(Kind::Confirm, "")?)?),
        Kind::Settled => Body::Settled(Settled::from_block(find(Kind::Settled, "")?)?),
        Kind::Rejected => Body::Rejected(Rejected::from_block(find(Kind::Rejected, "")?)?),
        Kind::Wallet => {
            let block = find(Kind::Wallet, "")?;
            let f = super::message::Fields::new(block)?;
            let order: OrderId = f.parse("Order")?;
            let name = cheque_filename(&order);
            let part = message
                .attachments()
                .find(|p| {
                    p.is_content_type("application", "vnd.age") || p.attachment_name() == Some(name.as_str())
                })
                .ok_or_else(|| ParseError::NoCheque(name.clone()))?;
            Body::Wallet(WalletMail { order, orderer: f.parse("Orderer")?, cheque: part.contents().to_vec() })
        }
        Kind::Approve | Kind::Decline => answer(kind, blocks, bare, thread_order)?,
    })
}

fn answer(
    kind: Kind,
    blocks: &[Block],
    bare: Option<BareAnswer>,
    thread_order: Option<OrderId>,
) -> Result<Body, ParseError> {
    // The sender's own APPROVE or DECLINE block and own text must not
    // answer two ways.
    let own_block = blocks.iter().find(|b| {
        b.origin == Origin::Own && [Kind::Approve, Kind::Decline].iter().any(|k| k.block_name() == b.name)
    });
    if let (Some(block), Some(bare)) = (own_block, &bare)
        && (block.name == Kind::Approve.block_name()) != bare.approve
    {
        let block = if bare.approve { Kind::Decline.block_name() } else { Kind::Approve.block_name() };
        return Err(ParseError::UnclearAnswer(Unclear::DisagreesWithBlock { word: bare.word(), block }));
    }
    if let Some(block) = blocks.iter().find(|b| b.name == kind.block_name()) {
        return Ok(match kind {
            Kind::Approve => Body::Approve(Approve::from_block(block)?),
            _ => Body::Decline(Decline::from_block(block)?),
        });
    }
    let Some(bare) = bare else {
        return Err(ParseError::Missing {
            kind,
            block: kind.block_name(),
            hint: " or an answer written by hand (a line OK with Password-A: and Code: lines, or a line NO)",
        });
    };
    let answer = bare.word();
    let confirm_order = blocks
        .iter()
        .find(|b| b.name == Kind::Confirm.block_name())
        .and_then(|b| b.get("Order"))
        .and_then(|o| o.parse().ok());
    let order = match bare.order.as_deref().map(str::parse::<OrderId>) {
        Some(Ok(o)) => o,
        Some(Err(e)) => {
            return Err(FieldError::Invalid {
                block: "reply".into(),
                field: "Order",
                value: e.0,
                why: "not an order id".into(),
            }
            .into());
        }
        None => confirm_order.or(thread_order).ok_or(ParseError::BareAnswer {
            answer,
            missing: "names no order: keep the quoted confirmation or add an Order: line",
        })?,
    };
    if !bare.approve {
        return Ok(Body::Decline(Decline { order, detail: None }));
    }
    let bad = |field: &'static str, value: &str, why: String| FieldError::Invalid {
        block: "reply".into(),
        field,
        value: value.into(),
        why,
    };
    let password =
        bare.password.ok_or(ParseError::BareAnswer { answer, missing: "has no Password-A: line" })?;
    let code = bare.code.ok_or(ParseError::BareAnswer { answer, missing: "has no Code: line" })?;
    Ok(Body::Approve(Approve {
        order,
        password: super::password::PasswordA::parse(&password)
            .map_err(|e| bad("Password-A", "<hidden>", e.to_string()))?,
        code: code.parse().map_err(|e: super::confirmation::CodeError| bad("Code", &code, e.to_string()))?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(body: &str) -> Vec<u8> {
        format!("From: orderer@home.test\r\nSubject: blocks\r\n\r\n{body}").into_bytes()
    }

    /// The wallet's APPROVE for order 7KQ3-M9ZX-P2VD-H4TR, under `headers`,
    /// with `text` above its block.
    fn approve_mail(headers: &str, text: &str) -> Vec<u8> {
        let approve = Approve {
            order: "7KQ3-M9ZX-P2VD-H4TR".parse().unwrap(),
            password: crate::protocol::PasswordA::parse("R4NX-8QJV-TD2M-K7HW-C3PZ-9BGF-Y6").unwrap(),
            code: "4F7K-Q2MX".parse().unwrap(),
        };
        format!(
            "From: hanako@home.test\r\n{headers}Subject: OK\r\n\r\n{text}\r\n{}",
            approve.to_block().render()
        )
        .into_bytes()
    }

    #[test]
    fn the_x_spelling_of_a_mailpay_header_means_the_same() {
        let kind = |headers: &str| parse(&approve_mail(headers, "OK")).map(|m| m.body.kind());
        assert_eq!(kind("X-Mailpay-Kind: APPROVE\r\nMailPay-Kind: approve\r\n"), Ok(Kind::Approve));
        // An order id in two forms is one order; one that is no order id is ignored.
        let order =
            "X-MailPay-Order: 7KQ3M9ZXP2VDH4TR\r\nmailpay-order: 7kq3-m9zx-p2vd-h4tr\r\nMailPay-Order: ?\r\n";
        assert_eq!(kind(order), Ok(Kind::Approve));
        assert_eq!(
            kind("X-MailPay-Version: 1\r\nX-MailPay-Version: 2\r\n"),
            Err(ParseError::HeaderConflict {
                first: "X-MailPay-Version",
                first_value: "1".into(),
                second: "X-MailPay-Version",
                second_value: "2".into(),
            })
        );
        assert_eq!(kind("x-mailpay-version: 2\r\n"), Err(ParseError::Version("2".into())));
    }

    #[test]
    fn own_text_and_an_own_answer_block_must_answer_alike() {
        assert_eq!(
            parse(&approve_mail("", "NO")).map(|m| m.body.kind()),
            Err(ParseError::UnclearAnswer(Unclear::DisagreesWithBlock { word: "NO", block: "APPROVE" }))
        );
    }

    #[test]
    fn a_rule_inside_a_quotation_is_no_forwarding_marker() {
        let mut budget = MAX_TEXT_BYTES;
        let lines =
            html_lines("<p>own</p><blockquote><p>a</p><hr><p>b</p></blockquote><p>below</p>", &mut budget);
        let lines = lines.unwrap_or_default();
        assert_eq!(block::own_text(&lines), vec!["own", "below"], "{lines:?}");
    }

    #[test]
    fn many_blocks_are_checked_for_conflicts_in_linear_time() {
        // 15 000 blocks of one name: comparing every pair took minutes.
        let empty = "-----BEGIN MAILPAY NOTE-----\n-----END MAILPAY NOTE-----\n";
        assert_eq!(parse(&mail(&empty.repeat(15_000))).map(|_| ()), Err(ParseError::NotMailPay));
        let other = "-----BEGIN MAILPAY NOTE-----\nDetail: x\n-----END MAILPAY NOTE-----\n";
        let conflicting = format!("{}{other}", empty.repeat(3));
        assert_eq!(parse(&mail(&conflicting)).map(|_| ()), Err(ParseError::Conflict("NOTE".into())));
    }
}
