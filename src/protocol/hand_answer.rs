//! An answer to a confirmation written by hand (PROTOCOL.md 9): a line
//! `OK` with `Password-A:` and `Code:` lines, or a line `NO`, anywhere in
//! the sender's own text ([`block::own_text`]): above the quotation,
//! below it (where Thunderbird puts the cursor) or between quoted parts.
//!
//! An answer is read only when it is clear. Own text that tries to answer
//! but says two things, or lacks what an approval needs, is refused with
//! an [`Unclear`] reason that tells the person what to write instead; it
//! is never taken for the quoted confirmation, nor silently ignored.

use super::base32;
use super::block;

/// Why the own text of a reply is no clear answer. Each reason says what
/// to write instead, so a bank can send it back as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unclear {
    #[error(
        "it says both OK and NO; to pay, write OK with the Password-A: and Code: lines, to refuse write NO, but not both"
    )]
    BothOkAndNo,
    #[error(
        "it has Password-A or a Code: line but no line OK; to pay, write OK on a line of its own with the Password-A: and Code: lines, to refuse write NO"
    )]
    NoAnswerWord,
    /// A line that starts an answer and holds another part of it: lines
    /// that ended in a space, run on into the next by format=flowed.
    #[error(
        "its answer lines ran together into one line starting {0}: in a format=flowed mail a line that ends in a space runs on into the next, so write OK, Password-A: and Code: each on a line of its own with no space at its end"
    )]
    RunTogether(&'static str),
    #[error("it has two different {0}: lines; write {0}: once")]
    Twice(&'static str),
    #[error("its own text says {word} but its MAILPAY {block} block answers the other way; send one answer")]
    DisagreesWithBlock { word: &'static str, block: &'static str },
}

/// A clear answer: `OK` (approve) or `NO`, with the lines given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BareAnswer {
    pub approve: bool,
    pub password: Option<String>,
    pub code: Option<String>,
    pub order: Option<String>,
}

impl BareAnswer {
    /// The word the answer was given with, as errors name it.
    pub fn word(&self) -> &'static str {
        if self.approve { "OK" } else { "NO" }
    }
}

/// What the sender's own text says towards an answer.
#[derive(Debug, Clone, Default)]
pub struct HandText {
    approve: bool,
    decline: bool,
    run_together: Option<&'static str>,
    mentions_password: bool,
    passwords: Vec<String>,
    codes: Vec<String>,
    orders: Vec<String>,
}

impl HandText {
    /// Reads the own-text lines of a mail (each trimmed or not).
    pub fn read<S: AsRef<str>>(own: &[S]) -> HandText {
        let mut text = HandText::default();
        for line in own {
            let line = line.as_ref().trim();
            if let Some(approve) = answer_word(line) {
                if approve {
                    text.approve = true;
                } else {
                    text.decline = true;
                }
                continue;
            }
            let lower = line.to_ascii_lowercase();
            text.mentions_password |= lower.contains("password-a");
            if let Some(start) = run_together(line, &lower) {
                text.run_together.get_or_insert(start);
                continue;
            }
            match block::split_field(line) {
                Some(("Password-A", value)) => add_distinct(&mut text.passwords, value),
                Some(("Code", value)) => add_distinct(&mut text.codes, value),
                Some(("Order", value)) => add_distinct(&mut text.orders, value),
                _ => {}
            }
        }
        text
    }

    /// Whether the text tries to answer: an answer word, a `Code:` line,
    /// or password A mentioned anywhere.
    pub fn answers(&self) -> bool {
        self.approve
            || self.decline
            || self.mentions_password
            || !self.codes.is_empty()
            || self.run_together.is_some()
    }

    /// Whether it carries an answer's fields (`Password-A:`, `Code:`,
    /// `Order:`), which make it an answer even in a mail that is not
    /// otherwise tied to MailPay.
    pub fn has_fields(&self) -> bool {
        !(self.passwords.is_empty() && self.codes.is_empty() && self.orders.is_empty())
    }

    /// The answer, or why there is no clear one.
    pub fn verdict(&self) -> Result<BareAnswer, Unclear> {
        if self.approve && self.decline {
            return Err(Unclear::BothOkAndNo);
        }
        if let Some(start) = self.run_together {
            return Err(Unclear::RunTogether(start));
        }
        for (values, field) in
            [(&self.passwords, "Password-A"), (&self.codes, "Code"), (&self.orders, "Order")]
        {
            if values.len() > 1 {
                return Err(Unclear::Twice(field));
            }
        }
        if !self.approve && !self.decline {
            return Err(Unclear::NoAnswerWord);
        }
        Ok(BareAnswer {
            approve: self.approve,
            password: self.passwords.first().cloned(),
            code: self.codes.first().cloned(),
            order: self.orders.first().cloned(),
        })
    }
}

/// `OK` (true), `NO` or `DECLINE` (false): the whole line, in any case,
/// with a trailing `.` or `!`, full-width forms (`ＯＫ`, as a Japanese
/// input method types them) read as their ASCII letters.
fn answer_word(line: &str) -> Option<bool> {
    let ascii: String = line.chars().map(from_full_width).collect();
    match ascii.trim().trim_end_matches(['.', '!', '。']).trim_end().to_ascii_uppercase().as_str() {
        "OK" => Some(true),
        "NO" | "DECLINE" => Some(false),
        _ => None,
    }
}

/// A full-width form (U+FF01 to U+FF5E) as its ASCII character.
fn from_full_width(c: char) -> char {
    match u32::from(c) {
        code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// The start of a line that begins an answer (an answer word, a
/// `Password-A:` or a `Code:` line) and holds a second part of one.
fn run_together(line: &str, lower: &str) -> Option<&'static str> {
    let first = line.split_whitespace().next()?;
    let start = match answer_word(first) {
        Some(true) => "OK",
        Some(false) => "NO",
        None => match block::split_field(line) {
            Some((name @ ("Password-A" | "Code"), _)) => name,
            _ => return None,
        },
    };
    let parts = usize::from(answer_word(first).is_some())
        + lower.matches("password-a").count()
        + lower.matches("code:").count();
    (parts > 1).then_some(start)
}

/// Keeps `value` unless an equal one is there: values that differ only
/// in case and hyphens (`4f7kq2mx`, `4F7K-Q2MX`) are equal.
fn add_distinct(values: &mut Vec<String>, value: &str) {
    let key =
        |v: &str| base32::normalize(v).unwrap_or_else(|_| v.split_whitespace().collect::<Vec<_>>().join(" "));
    let new = key(value);
    if !values.iter().any(|v| key(v) == new) {
        values.push(value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWORD: &str = "Password-A: R4NX-8QJV-TD2M-K7HW-C3PZ-9BGF-Y6";

    fn verdict(lines: &[&str]) -> Result<BareAnswer, Unclear> {
        HandText::read(lines).verdict()
    }

    #[test]
    fn an_approval_with_its_lines() {
        let answer = verdict(&["ok.", PASSWORD, "Code: 4F7K-Q2MX", "Thanks!"]).unwrap();
        assert!(answer.approve);
        assert_eq!(answer.code.as_deref(), Some("4F7K-Q2MX"));
        assert_eq!(answer.password.as_deref(), Some("R4NX-8QJV-TD2M-K7HW-C3PZ-9BGF-Y6"));
    }

    #[test]
    fn full_width_words_are_words() {
        assert!(verdict(&["ＯＫ", PASSWORD, "Code: 4F7K-Q2MX"]).unwrap().approve);
        assert!(!verdict(&["ＮＯ。", "急須は注文していません。"]).unwrap().approve);
    }

    #[test]
    fn ok_and_no_together_are_refused() {
        assert_eq!(verdict(&["OK", PASSWORD, "Code: 4F7K-Q2MX", "", "NO"]), Err(Unclear::BothOkAndNo));
        assert_eq!(verdict(&["decline", "OK!"]), Err(Unclear::BothOkAndNo));
    }

    #[test]
    fn password_lines_without_ok_are_refused() {
        assert_eq!(verdict(&[PASSWORD, "Code: 4F7K-Q2MX"]), Err(Unclear::NoAnswerWord));
        let text = HandText::read(&["What is my Password-A?"]);
        assert!(text.answers() && !text.has_fields());
        assert_eq!(text.verdict(), Err(Unclear::NoAnswerWord));
    }

    #[test]
    fn lines_run_together_are_refused() {
        let joined = format!("OK {PASSWORD} Code: 4F7K-Q2MX");
        assert_eq!(verdict(&[&joined]), Err(Unclear::RunTogether("OK")));
        let joined = format!("{PASSWORD} Code: 4F7K-Q2MX");
        assert_eq!(verdict(&["OK", &joined]), Err(Unclear::RunTogether("Password-A")));
        // Prose that names both is no answer line.
        let prose = HandText::read(&["The Code: line and the Password-A are above."]);
        assert_eq!(prose.run_together, None);
    }

    #[test]
    fn a_field_twice_is_refused_unless_it_says_the_same() {
        assert_eq!(
            verdict(&["OK", PASSWORD, "Code: 4F7K-Q2MW", "Code: 4F7K-Q2MX"]),
            Err(Unclear::Twice("Code"))
        );
        assert!(verdict(&["OK", PASSWORD, "Code: 4F7K-Q2MX", "code: 4f7kq2mx"]).is_ok());
    }

    #[test]
    fn text_that_does_not_answer() {
        let text = HandText::read(&["OK, thanks, see you", "Order from the shop"]);
        assert!(!text.answers());
    }
}
