//! Copies of mails with password A taken out, for records kept after a
//! payment has ended.
//!
//! A may sit in a mail literally, or hidden by a transfer encoding
//! (base64, or quoted-printable with a soft line break inside it). So a
//! mail that holds A anywhere is rewritten as a readable copy: its header
//! lines as they were, then the decoded text of every text part with A
//! replaced, and one line naming each other part. The copy is for people
//! (the history's raw view), not for sending: its MailPay block no longer
//! passes its Check.

use mail_parser::{MessageParser, MimeHeaders, PartType};

use super::password::PasswordA;

/// What stands where A was.
pub const REMOVED: &str = "[password A removed]";

/// `raw` without A, or `None` when A does not occur in it.
pub fn mail(raw: &[u8], password: &PasswordA) -> Option<Vec<u8>> {
    let forms = forms(password);
    let message = MessageParser::default().parse(raw);
    let texts: Vec<String> = match &message {
        Some(m) => m
            .parts
            .iter()
            .filter_map(|p| match &p.body {
                PartType::Text(t) | PartType::Html(t) => Some(t.to_string()),
                _ => None,
            })
            .collect(),
        None => Vec::new(),
    };
    let literal = String::from_utf8_lossy(raw);
    let holds = |text: &str| forms.iter().any(|f| contains_ignore_case(text, f));
    if !holds(&literal) && !texts.iter().any(|t| holds(t)) {
        return None;
    }
    let Some(message) = message else {
        // Not a mail at all: mask what can be seen.
        return Some(mask(&literal, &forms).into_bytes());
    };
    let mut out = String::new();
    for header in message.root_part().headers() {
        let name = header.name.as_str().to_ascii_lowercase();
        if matches!(name.as_str(), "content-type" | "content-transfer-encoding" | "mime-version") {
            continue;
        }
        // The field as it stood, folded lines included.
        let field = raw.get(header.offset_field as usize..header.offset_end as usize).unwrap_or_default();
        out.push_str(&mask(String::from_utf8_lossy(field).trim_end(), &forms));
        out.push_str("\r\n");
    }
    out.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n");
    out.push_str("Content-Transfer-Encoding: 8bit\r\n\r\n");
    for part in &message.parts {
        match &part.body {
            PartType::Text(t) | PartType::Html(t) => {
                out.push_str(&mask(t, &forms));
                if !t.ends_with('\n') {
                    out.push_str("\r\n");
                }
            }
            PartType::Multipart(_) => {}
            other => {
                let size = match other {
                    PartType::Binary(b) | PartType::InlineBinary(b) => b.len(),
                    _ => 0,
                };
                let name = part.attachment_name().unwrap_or("a part");
                out.push_str(&format!("[{name}, {size} bytes, not kept in this copy]\r\n"));
            }
        }
    }
    Some(out.into_bytes())
}

/// A as printed (groups of four) and as compared (no dashes).
fn forms(password: &PasswordA) -> Vec<String> {
    let mut forms = vec![password.display(), password.expose().to_string()];
    forms.retain(|f| !f.is_empty());
    forms.dedup();
    forms
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    haystack.to_ascii_uppercase().contains(&needle.to_ascii_uppercase())
}

/// `text` with every form of A (in any letter case) replaced.
fn mask(text: &str, forms: &[String]) -> String {
    let mut out = text.to_string();
    for form in forms {
        let upper_form = form.to_ascii_uppercase();
        let mut result = String::with_capacity(out.len());
        let upper = out.to_ascii_uppercase();
        let mut at = 0;
        // ASCII upper-casing keeps byte offsets, so positions carry over.
        while let Some(found) = upper[at..].find(&upper_form) {
            result.push_str(&out[at..at + found]);
            result.push_str(REMOVED);
            at += found + form.len();
        }
        result.push_str(&out[at..]);
        out = result;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password() -> PasswordA {
        PasswordA::parse("7K3M-Q9XD-2HVA-R4TB-8WNE-6CJP").unwrap()
    }

    fn has_a(bytes: &[u8]) -> bool {
        let text = String::from_utf8_lossy(bytes).to_ascii_uppercase();
        text.contains("7K3M-Q9XD") || text.contains("7K3MQ9XD")
    }

    #[test]
    fn a_mail_without_a_is_left_alone() {
        let raw = b"From: a@b.c\r\nSubject: hi\r\n\r\nnothing secret\r\n";
        assert_eq!(mail(raw, &password()), None);
    }

    #[test]
    fn a_in_plain_text_is_removed_and_the_rest_kept() {
        let raw = b"From: a@b.c\r\nMessage-ID: <x@y>\r\nSubject: order\r\n\r\nPassword-A: 7K3M-Q9XD-2HVA-R4TB-8WNE-6CJP\r\nAmount: 1200 JPY\r\n";
        let out = mail(raw, &password()).unwrap();
        assert!(!has_a(&out));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Message-ID: <x@y>"));
        assert!(text.contains("Amount: 1200 JPY"));
        assert!(text.contains(REMOVED));
    }

    #[test]
    fn a_hidden_by_base64_is_found_and_removed() {
        use base64::Engine;
        let body = "注文\r\nPassword-A: 7k3m-q9xd-2hva-r4tb-8wne-6cjp\r\n";
        let encoded = base64::engine::general_purpose::STANDARD.encode(body);
        let raw = format!(
            "From: a@b.c\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n"
        );
        assert!(!has_a(raw.as_bytes()));
        let out = mail(raw.as_bytes(), &password()).unwrap();
        assert!(!has_a(&out));
        assert!(String::from_utf8(out).unwrap().contains("注文"));
    }

    #[test]
    fn a_split_by_a_soft_line_break_is_found() {
        let raw = b"From: a@b.c\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nPassword-A: 7K3M-Q9XD-2H=\r\nVA-R4TB-8WNE-6CJP\r\n";
        let out = mail(raw, &password()).unwrap();
        assert!(!has_a(&out));
        assert!(!String::from_utf8_lossy(&out).contains("2H=\r\nVA"));
    }
}
