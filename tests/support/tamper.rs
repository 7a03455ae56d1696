//! Mails altered the way a forger alters them: a header replaced, or a
//! header put in front. Shared by the adversarial tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Replaces the value of the first header `name` (case-insensitive),
/// folded lines included.
pub fn set_header(raw: &[u8], name: &str, value: &str) -> Vec<u8> {
    let text = String::from_utf8(raw.to_vec()).unwrap();
    let prefix = format!("{}:", name.to_ascii_lowercase());
    let mut out = Vec::new();
    let mut done = false;
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        if !done && line.to_ascii_lowercase().starts_with(&prefix) {
            out.push(format!("{name}: {value}\r\n"));
            while lines.peek().is_some_and(|l| l.starts_with(' ') || l.starts_with('\t')) {
                lines.next();
            }
            done = true;
        } else {
            out.push(line.to_string());
        }
    }
    assert!(done, "no {name} header");
    out.concat().into_bytes()
}

/// `line` as the first header.
pub fn add_header(raw: &[u8], line: &str) -> Vec<u8> {
    let mut out = format!("{line}\r\n").into_bytes();
    out.extend_from_slice(raw);
    out
}
