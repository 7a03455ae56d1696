//! The MailPay block: the machine-readable part of every MailPay mail,
//! written so that people can read it and mail clients cannot break it.
//!
//! ```text
//! -----BEGIN MAILPAY ORDER-----
//! Version: 1
//! Order: 7KQ3-M9ZX-P2VD-H4TR
//! Amount: 1200 JPY
//! Check: 3TJ8-Q0WZ-KD2M
//! -----END MAILPAY ORDER-----
//! ```
//!
//! Reading is forgiving where mail clients are creative: quote prefixes
//! (`> `, `>>`, `> >`) are stripped, lines a client wrapped are joined back
//! (any line that does not start with a known field name continues the field
//! before it), and runs of white space count as one space. The `Check` line,
//! a hash over the fields read that way, tells a block that survived from
//! one that was altered. See PROTOCOL.md, "The block".

use sha2::{Digest, Sha256};

use super::base32;

/// Every field name a block may carry, in the case written.
pub const FIELD_NAMES: &[&str] = &[
    "Version",
    "Order",
    "Orderer",
    "Merchant",
    "Bank",
    "Payer",
    "Payee",
    "Amount",
    "Item",
    "Total",
    "Method",
    "Board",
    "Order-Nonce",
    "Password-A",
    "Created",
    "Expires",
    "Billed",
    "Issued",
    "Code",
    "Answer",
    "Attempts-Left",
    "Proof",
    "Reason",
    "Detail",
    "Settled",
    "Reference",
    "Attachment",
    "Key",
    "Signature",
    "Check",
];

/// Longest line written before a value is wrapped onto continuation lines.
const WRAP_AT: usize = 76;
/// Bytes of text scanned for blocks; a larger body is refused, not read.
pub const MAX_SCAN_BYTES: usize = 1 << 20;

/// Where a block stood in the text it was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Written by the sender of the mail, at the top level.
    Own,
    /// Inside a reply's quotation, `depth` levels of `>` deep.
    Quoted { depth: usize },
    /// Below a forwarding marker ("Forwarded message", "Original Message", ...).
    Forwarded,
    /// Inside an attached message (message/rfc822).
    Attached,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Own => f.write_str("own text"),
            Origin::Quoted { depth } => write!(f, "quoted, depth {depth}"),
            Origin::Forwarded => f.write_str("forwarded"),
            Origin::Attached => f.write_str("attached message"),
        }
    }
}

impl serde::Serialize for Origin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A block as read from text: its name and its fields in order.
/// `Debug` never shows the value of `Password-A`.
#[derive(Clone, PartialEq, Eq)]
pub struct Block {
    pub name: String,
    pub fields: Vec<(String, String)>,
    pub origin: Origin,
    /// Whether the block carried a `Check` line (and it matched).
    pub checked: bool,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |k: &str| k.eq_ignore_ascii_case("Password-A");
        let fields: Vec<(&str, &str)> =
            self.fields.iter().map(|(k, v)| (k.as_str(), if secret(k) { "<redacted>" } else { v })).collect();
        f.debug_struct("Block")
            .field("name", &self.name)
            .field("fields", &fields)
            .field("origin", &self.origin)
            .field("checked", &self.checked)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error(
        "the MAILPAY {name} block that starts on line {line} has no END line: the mail was cut off or the block edited"
    )]
    Truncated { name: String, line: usize },
    #[error("line {line} of the MAILPAY {name} block is not a field (\"Name: value\"): {text:?}")]
    NotAField { name: String, line: usize, text: String },
    /// `computed` is what the contents give (3.4); it is no secret (anyone
    /// can compute it) and tells a writer whose canonical text is wrong
    /// from a block that was changed.
    #[error(
        "the MAILPAY {name} block's Check line does not match its contents: the block was altered (it says {says}, its contents give {computed})"
    )]
    CheckMismatch { name: String, says: String, computed: String },
    #[error("the MAILPAY {name} block has more than one Check line")]
    TwoChecks { name: String },
    #[error("the text is {0} bytes; MailPay reads at most {MAX_SCAN_BYTES}")]
    TooLarge(usize),
}

impl Block {
    pub fn new(name: &str) -> Self {
        Block { name: name.to_string(), fields: Vec::new(), origin: Origin::Own, checked: false }
    }

    pub fn push(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.fields.push((key.to_string(), value.into()));
        self
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }

    /// The canonical text the check and signatures cover: the block name,
    /// then `name:value` a line, names lowercased, values with white space
    /// collapsed; `Check` and `Signature` lines excluded.
    pub fn canonical(&self) -> String {
        let mut out = format!("mailpay {}\n", self.name.to_ascii_lowercase());
        for (key, value) in &self.fields {
            if key.eq_ignore_ascii_case("Check") || key.eq_ignore_ascii_case("Signature") {
                continue;
            }
            out.push_str(&key.to_ascii_lowercase());
            out.push(':');
            out.push_str(&collapse(value));
            out.push('\n');
        }
        out
    }

    /// The check value: 12 Crockford symbols (60 bits) of SHA-256.
    pub fn check_value(&self) -> String {
        let digest = Sha256::digest(self.canonical().as_bytes());
        let symbols = base32::encode(digest.get(..8).unwrap_or_default());
        base32::group(symbols.get(..12).unwrap_or_default(), 4)
    }

    /// Whether two blocks say the same thing (their canonical texts agree).
    pub fn same_content(&self, other: &Block) -> bool {
        self.name == other.name && self.canonical() == other.canonical()
    }

    /// Writes the block with its Check line, wrapping long values.
    pub fn render(&self) -> String {
        let mut out = format!("-----BEGIN MAILPAY {}-----\n", self.name);
        let fields = self.fields.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("Check"));
        for (key, value) in fields {
            write_wrapped(&mut out, key, &collapse(value));
        }
        write_wrapped(&mut out, "Check", &self.check_value());
        out.push_str(&format!("-----END MAILPAY {}-----\n", self.name));
        out
    }
}

fn collapse(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn write_wrapped(out: &mut String, key: &str, value: &str) {
    let mut line = format!("{key}:");
    let mut first = true;
    for word in value.split(' ') {
        if !first && line.chars().count() + 1 + word.chars().count() > WRAP_AT && may_start_line(word) {
            out.push_str(&line);
            out.push('\n');
            line = String::from("  ");
            line.push_str(word);
        } else {
            line.push(' ');
            line.push_str(word);
        }
        first = false;
    }
    out.push_str(&line);
    out.push('\n');
}

/// Whether a continuation line may start with `word` and still be read as
/// one: a quote marker, a field name or a block edge there would be read as
/// something else, so such a word stays on the line before.
fn may_start_line(word: &str) -> bool {
    !word.starts_with('>')
        && !word.starts_with("-----")
        && !FIELD_NAMES.iter().any(|k| word.get(..k.len()).is_some_and(|p| p.eq_ignore_ascii_case(k)))
}

/// A line with its quotation depth removed.
struct Line<'a> {
    depth: usize,
    text: &'a str,
}

fn unquote(raw: &str) -> Line<'_> {
    let mut depth = 0;
    let mut rest = raw.trim_end_matches(['\r', '\n']);
    loop {
        let trimmed = rest.trim_start_matches([' ', '\t']);
        if let Some(after) = trimmed.strip_prefix('>') {
            depth += 1;
            rest = after;
        } else {
            // Space-stuffing (RFC 3676) and indentation are not content.
            return Line { depth, text: trimmed.trim() };
        }
    }
}

fn is_forward_marker(text: &str) -> bool {
    let t = text.trim().to_ascii_lowercase();
    let dashed = t.starts_with("---") && t.ends_with("---");
    (dashed && (t.contains("forwarded") || t.contains("original message")))
        || t == "begin forwarded message:"
        || t.starts_with("________________________________")
        || t.starts_with("-----original message-----")
}

fn block_name(text: &str, edge: &str) -> Option<String> {
    let inner = text.strip_prefix("-----")?.strip_suffix("-----")?;
    let name = inner.strip_prefix(edge)?.strip_prefix(" MAILPAY ")?;
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'-')).then(|| name.to_string())
}

/// Splits `Name: value` when `Name` is a known field.
pub fn split_field(text: &str) -> Option<(&'static str, &str)> {
    let (key, value) = text.split_once(':')?;
    let known = FIELD_NAMES.iter().find(|k| k.eq_ignore_ascii_case(key.trim_end()))?;
    (!key.starts_with(' ')).then_some((*known, value.trim()))
}

/// Finds every MailPay block in `text`, with where each stood.
pub fn scan(text: &str) -> Result<Vec<Block>, BlockError> {
    if text.len() > MAX_SCAN_BYTES {
        return Err(BlockError::TooLarge(text.len()));
    }
    let lines: Vec<Line<'_>> = text.lines().map(unquote).collect();
    let mut blocks = Vec::new();
    let mut forwarded = false;
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        // A marker inside a quotation is part of what was quoted: the
        // sender's own text goes on below the quotation.
        if line.depth == 0 && is_forward_marker(line.text) {
            forwarded = true;
        }
        let Some(name) = block_name(line.text, "BEGIN") else {
            i += 1;
            continue;
        };
        let origin = match line.depth {
            0 if forwarded => Origin::Forwarded,
            0 => Origin::Own,
            depth => Origin::Quoted { depth },
        };
        let start = i;
        let mut block = Block { name: name.clone(), fields: Vec::new(), origin, checked: false };
        let mut check = None;
        i += 1;
        loop {
            let Some(line) = lines.get(i) else {
                return Err(BlockError::Truncated { name, line: start + 1 });
            };
            i += 1;
            if block_name(line.text, "END").is_some_and(|end| end == name) {
                break;
            }
            if line.text.is_empty() {
                continue;
            }
            match split_field(line.text) {
                Some(("Check", _)) if check.is_some() => return Err(BlockError::TwoChecks { name }),
                Some(("Check", value)) => check = Some(value.to_string()),
                Some((key, value)) => block.fields.push((key.to_string(), value.to_string())),
                None => match block.fields.last_mut() {
                    Some((_, value)) => {
                        value.push(' ');
                        value.push_str(line.text);
                    }
                    None => {
                        return Err(BlockError::NotAField { name, line: i, text: line.text.to_string() });
                    }
                },
            }
        }
        if let Some(check) = check {
            let expected = block.check_value();
            if base32::normalize(&check).ok() != base32::normalize(&expected).ok() {
                return Err(BlockError::CheckMismatch { name, says: check, computed: expected });
            }
            block.checked = true;
        }
        for (_, value) in &mut block.fields {
            *value = collapse(value);
        }
        blocks.push(block);
    }
    Ok(blocks)
}

/// The sender's own text: every line at quotation depth zero, outside
/// the blocks, before the first forwarding marker, wherever it stands:
/// above the quotation, below it or between quoted parts (an interleaved
/// reply). People answering by hand write their lines here (see
/// PROTOCOL.md, "Working by hand").
///
/// An attribution line ("On <date>, <someone> wrote:") followed by lines
/// that are not quoted (a client that copies the original without `>`)
/// is read as a forwarding marker: the original is not the sender's.
pub fn own_text(text: &str) -> Vec<&str> {
    let lines: Vec<Line<'_>> = text.lines().map(unquote).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        i += 1;
        if let Some(name) = block_name(line.text, "BEGIN") {
            // A block, quoted or not, to its END line.
            while let Some(inner) = lines.get(i) {
                i += 1;
                if block_name(inner.text, "END").is_some_and(|end| end == name) {
                    break;
                }
            }
            continue;
        }
        if line.depth > 0 {
            continue;
        }
        if is_forward_marker(line.text) {
            break;
        }
        if is_attribution(line.text) {
            let next = lines.get(i..).unwrap_or_default().iter().find(|l| l.depth > 0 || !l.text.is_empty());
            if next.is_some_and(|l| l.depth == 0) {
                break;
            }
            continue;
        }
        out.push(line.text);
    }
    out
}

/// "On <date>, <someone> wrote:" and its German and Japanese forms: the
/// line mail clients write above what they quote.
fn is_attribution(text: &str) -> bool {
    text.ends_with("wrote:") || text.ends_with("schrieb:") || text.ends_with("のメッセージ:")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Block {
        let mut b = Block::new("ORDER");
        b.push("Version", "1").push("Order", "7KQ3-M9ZX-P2VD-H4TR").push("Item", "1 x 緑茶 100g @ 1200 JPY");
        b.push("Item", "2 x A very long description that goes on and on well past the width of a line in any mail client @ 50 JPY");
        b
    }

    #[test]
    fn render_then_scan_round_trips() {
        let b = sample();
        let found = scan(&b.render()).unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].same_content(&b));
        assert!(found[0].checked);
        assert_eq!(found[0].origin, Origin::Own);
        assert!(b.render().lines().all(|l| l.chars().count() <= WRAP_AT));
    }

    #[test]
    fn survives_quoting_and_rewrapping() {
        let rendered = sample().render();
        let quoted: String = rendered.lines().map(|l| format!("> > {l}\n")).collect();
        let rewrapped = quoted.replace("line in any mail", "line in any\n> > mail");
        let found = scan(&format!("Thanks!\n\nOn Mon, Bob wrote:\n{rewrapped}")).unwrap();
        assert_eq!(found[0].origin, Origin::Quoted { depth: 2 });
        assert!(found[0].same_content(&sample()));
    }

    #[test]
    fn any_white_space_before_a_line_is_indentation() {
        // An ideographic space (U+3000), as a Japanese input method types
        // it, is white space like a tab: the line still starts a field.
        let rendered = sample().render().replace("\nOrder:", "\n\u{3000}Order:");
        let found = scan(&rendered).unwrap();
        assert!(found[0].same_content(&sample()));
        assert!(found[0].checked);
    }

    #[test]
    fn a_second_check_line_is_refused() {
        let rendered = sample().render();
        let check = rendered.lines().find(|l| l.starts_with("Check:")).unwrap();
        let twice = rendered.replace(check, &format!("{check}\n{check}"));
        assert_eq!(scan(&twice).unwrap_err(), BlockError::TwoChecks { name: "ORDER".into() });
    }

    #[test]
    fn detects_alteration_and_truncation() {
        let altered = sample().render().replace("1200 JPY", "1300 JPY");
        assert!(matches!(scan(&altered), Err(BlockError::CheckMismatch { .. })));
        let cut: String = sample().render().lines().take(3).map(|l| format!("{l}\n")).collect();
        assert!(matches!(scan(&cut), Err(BlockError::Truncated { line: 1, .. })));
        let junk = "-----BEGIN MAILPAY BILL-----\nhello\n-----END MAILPAY BILL-----\n";
        assert!(matches!(scan(junk), Err(BlockError::NotAField { .. })));
    }

    #[test]
    fn wrapped_words_are_not_read_as_quotes_fields_or_edges() {
        let filler = "x".repeat(70);
        let mut b = Block::new("ORDER");
        b.push("Detail", format!("{filler} >quoted"))
            .push("Detail", format!("{filler} Order: 0000-0000-0000-0000"))
            .push("Detail", format!("{filler} item :x"))
            .push("Detail", format!("{filler} -----END MAILPAY ORDER-----"));
        let found = scan(&b.render()).unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].checked);
        assert!(found[0].same_content(&b));
    }

    #[test]
    fn marks_forwarded_blocks() {
        let text =
            format!("FYI\n\n---------- Forwarded message ---------\nFrom: a@b.test\n\n{}", sample().render());
        assert_eq!(scan(&text).unwrap()[0].origin, Origin::Forwarded);
    }

    #[test]
    fn own_text_is_every_unquoted_line_outside_the_blocks() {
        let quoted: String = sample().render().lines().map(|l| format!("> {l}\n")).collect();
        let text = format!(
            "OK\nCode: 1234\n\nOn Tue, bank wrote:\n{quoted}\nbelow\n> more\nbetween\n{}end",
            sample().render()
        );
        assert_eq!(own_text(&text), vec!["OK", "Code: 1234", "", "", "below", "between", "end"]);
    }

    #[test]
    fn own_text_ends_at_a_forwarding_marker_or_an_unquoted_original() {
        let text = "OK\n\n-------- Forwarded Message --------\nNO\n";
        assert_eq!(own_text(text), vec!["OK", ""]);
        let text = "OK\n\nOn Tue, bank wrote:\n\nTo refuse, write NO\n";
        assert_eq!(own_text(text), vec!["OK", ""]);
        // A quoted marker is part of the quotation.
        let text = "> -------- Forwarded Message --------\n> NO\nOK\n";
        assert_eq!(own_text(text), vec!["OK"]);
    }

    #[test]
    fn a_quoted_forwarding_marker_does_not_make_own_blocks_forwarded() {
        let text = format!("> ---------- Forwarded message ---------\n> x\n\n{}", sample().render());
        assert_eq!(scan(&text).unwrap()[0].origin, Origin::Own);
    }
}
