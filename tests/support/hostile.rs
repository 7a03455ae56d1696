//! Hostile mails: small inputs that cost a careless parser much memory or
//! time. Each is an ordinary RFC 5322 message any sender can mail to any
//! address, so each must be refused with a reason in bounded memory and
//! time. Used by the attack tests, the parser fuzz seeds and
//! `cargo bench --bench hostile`.

/// The head every hostile mail shares, with `content_type` as its type.
fn head(from: &str, to: &str, content_type: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: hello\r\nMessage-ID: <{}.hostile@attacker.test>\r\n\
         Date: Sun, 06 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n",
        std::process::id()
    )
}

/// HTML that opens `depth` blockquotes, then writes `lines` short lines:
/// a reader that prefixes every line with one `> ` per open quotation
/// writes depth x lines bytes (20,000 x 20,000 is 800 MB from 340 KB).
pub fn blockquote_bomb(from: &str, to: &str, depth: usize, lines: usize) -> Vec<u8> {
    let mut mail = head(from, to, "text/html; charset=utf-8");
    mail.reserve(depth * 13 + lines * 6);
    for i in 0..depth {
        mail.push_str("<blockquote>");
        // Lines stay short, as SMTP servers want them.
        if i % 100 == 99 {
            mail.push_str("\r\n");
        }
    }
    for i in 0..lines {
        mail.push_str("<br>x");
        if i % 100 == 99 {
            mail.push_str("\r\n");
        }
    }
    mail.push_str("\r\n");
    mail.into_bytes()
}

/// A multipart/mixed of `parts` tiny text parts (100,000 parts are 3.6 MB).
pub fn many_parts(from: &str, to: &str, parts: usize) -> Vec<u8> {
    let mut mail = head(from, to, "multipart/mixed; boundary=\"b\"");
    mail.reserve(parts * 36);
    for i in 0..parts {
        mail.push_str("--b\r\nContent-Type: text/plain\r\n\r\n");
        mail.push_str(if i % 2 == 0 { "x\r\n" } else { "y\r\n" });
    }
    mail.push_str("--b--\r\n");
    mail.into_bytes()
}

/// An HTML part of `size` bytes of `&`: a reader that looks for each
/// entity's `;` to the end of the text does size^2 / 2 steps.
pub fn ampersands(from: &str, to: &str, size: usize) -> Vec<u8> {
    let mut mail = head(from, to, "text/html; charset=utf-8");
    for _ in 0..size / 100 {
        mail.push_str(&"&".repeat(98));
        mail.push_str("\r\n");
    }
    mail.into_bytes()
}

/// An HTML part of `size` bytes of `<hr>`: each becomes a 33-byte rule.
pub fn rules(from: &str, to: &str, size: usize) -> Vec<u8> {
    let mut mail = head(from, to, "text/html; charset=utf-8");
    for _ in 0..size / 98 {
        mail.push_str(&"<hr>".repeat(24));
        mail.push_str("\r\n");
    }
    mail.into_bytes()
}

/// Multiparts nested `depth` deep, each with its own boundary.
pub fn nested_multiparts(from: &str, to: &str, depth: usize) -> Vec<u8> {
    let mut mail = head(from, to, "multipart/mixed; boundary=\"n0\"");
    for level in 0..depth {
        mail.push_str(&format!(
            "--n{level}\r\nContent-Type: multipart/mixed; boundary=\"n{}\"\r\n\r\n",
            level + 1
        ));
    }
    mail.push_str(&format!("--n{depth}\r\nContent-Type: text/plain\r\n\r\nx\r\n"));
    mail.into_bytes()
}

/// One part with `headers` header fields.
pub fn many_headers(from: &str, to: &str, headers: usize) -> Vec<u8> {
    let mut mail = String::with_capacity(headers * 12);
    for i in 0..headers {
        mail.push_str(&format!("X-{i}: y\r\n"));
    }
    mail.push_str(&head(from, to, "text/plain"));
    mail.push_str("hello\r\n");
    mail.into_bytes()
}

/// The hostile mails of at most `size` bytes each, by name: every kind
/// above, scaled to fill `size`.
pub fn all(from: &str, to: &str, size: usize) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("blockquote-bomb", blockquote_bomb(from, to, size / 26, size / 12)),
        ("many-parts", many_parts(from, to, size / 37)),
        ("ampersands", ampersands(from, to, size - 400)),
        ("rules", rules(from, to, size - 400)),
        ("nested-multiparts", nested_multiparts(from, to, size / 70)),
        ("many-headers", many_headers(from, to, size / 15)),
    ]
}
