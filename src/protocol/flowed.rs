//! `text/plain; format=flowed` (RFC 3676), as Thunderbird, Apple Mail and
//! Gmail send it: a line that ends in a space is a soft break and runs on
//! into the next line of the same quotation depth; a line that starts
//! with a space was space-stuffed; with `delsp=yes` the space before a
//! soft break was added by the writer and is taken out again.
//!
//! Blocks and answers are read from the text as the writer meant it
//! (PROTOCOL.md 3.3, step 1): a long `Item` or `Detail` line that the
//! mail client wrapped at 72 columns is one line again, so a word that
//! landed at the start of a line (`Reason:`, a `>`) is not read as a new
//! field or a quotation, and a Japanese line broken between two
//! characters is not given a space it never had.

/// The text of a `format=flowed` part with its soft breaks undone, in one
/// pass. A line that continues the one before is appended to it without
/// its quotation marks and its stuffed space; every other line stays as
/// written, so the reader counts its depth as for any other text. Nothing
/// is added: the result is never longer than `text` (the text budget of
/// PROTOCOL.md 3.3 holds as it is).
pub fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // The depth of the paragraph the previous line left open (it ended in
    // a soft break), if any.
    let mut open: Option<usize> = None;
    for (n, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let (depth, rest) = split_quote(line);
        // RFC 3676 4.4: one space after the quotation marks is stuffing.
        let content = rest.strip_prefix(' ').unwrap_or(rest);
        // The signature separator is never flowed (RFC 3676 4.3).
        let soft = content.ends_with(' ') && content != "-- ";
        let written = if open == Some(depth) {
            content
        } else {
            // A new line: the previous one ended hard, or at another depth
            // (an improperly flowed line, taken as ending hard).
            if n > 0 {
                out.push('\n');
            }
            line
        };
        let written = match written.strip_suffix(' ') {
            Some(kept) if soft && delsp => kept,
            _ => written,
        };
        out.push_str(written);
        open = soft.then_some(depth);
    }
    out
}

/// A line's quotation depth and what follows its quotation marks. As in
/// RFC 3676 the marks start the line (a line that starts with a space was
/// stuffed and is not quoted); as PROTOCOL.md 3.3 step 2 reads any line,
/// spaces or tabs may stand between them (`> > text` is two deep). What
/// follows the last `>` is the rest, untouched.
fn split_quote(line: &str) -> (usize, &str) {
    let bytes = line.as_bytes();
    let (mut depth, mut end, mut i) = (0, 0, 0);
    while bytes.get(i) == Some(&b'>') {
        depth += 1;
        i += 1;
        end = i;
        while bytes.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
            i += 1;
        }
    }
    (depth, line.get(end..).unwrap_or_default())
}

/// Whether a part's Content-Type parameters say format=flowed, and delsp=yes.
pub fn params(format: Option<&str>, delsp: Option<&str>) -> Option<bool> {
    format
        .is_some_and(|f| f.trim().eq_ignore_ascii_case("flowed"))
        .then(|| delsp.is_some_and(|d| d.trim().eq_ignore_ascii_case("yes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_breaks_are_joined_and_hard_ones_kept() {
        let text =
            "Item: 1 x Handmade teapot with bamboo handle and \r\nstainless\r\n  steel strainer\r\nOK\r\n";
        assert_eq!(
            unflow(text, false),
            "Item: 1 x Handmade teapot with bamboo handle and stainless\n  steel strainer\nOK\n"
        );
    }

    #[test]
    fn quoted_lines_join_only_at_their_own_depth() {
        let text = "> Item: a long line \n> stainless\n>> deeper \n> back\nown \n> quoted";
        assert_eq!(unflow(text, false), "> Item: a long line stainless\n>> deeper \n> back\nown \n> quoted");
    }

    #[test]
    fn a_field_name_wrapped_to_the_start_of_a_line_stays_in_its_value() {
        let text = "Detail: a teapot I have not ordered. \nReason:\n   my order was for tea only.";
        assert_eq!(
            unflow(text, false),
            "Detail: a teapot I have not ordered. Reason:\n   my order was for tea only."
        );
    }

    #[test]
    fn delsp_takes_out_the_space_of_the_soft_break_only() {
        let text = "Detail: 注文していない急須でし \nたので、お断りします。\nword  \nnext";
        assert_eq!(unflow(text, true), "Detail: 注文していない急須でしたので、お断りします。\nword next");
        assert_eq!(unflow(text, false), "Detail: 注文していない急須でし たので、お断りします。\nword  next");
    }

    #[test]
    fn stuffing_is_removed_and_the_signature_separator_is_not_flowed() {
        let text = "a \n >b \n From here\n-- \nHanako";
        assert_eq!(unflow(text, false), "a >b From here\n-- \nHanako");
        assert_eq!(unflow("> a \n>  b", true), "> a b");
    }

    #[test]
    fn a_soft_break_before_a_deeper_quotation_ends_the_line() {
        assert_eq!(unflow("own text \n> quoted", false), "own text \n> quoted");
        // An empty line after a soft break ends the paragraph.
        assert_eq!(unflow("a \n\nb", false), "a \nb");
    }

    #[test]
    fn never_longer_than_the_text() {
        for text in [">\n>\n>\n", "> > x \n> > y", " a \n b \n c", "\r\n\r\n", ">>>>", "x \r\n"] {
            assert!(unflow(text, true).len() <= text.len(), "{text:?}");
            assert!(unflow(text, false).len() <= text.len(), "{text:?}");
        }
    }

    #[test]
    fn parameters() {
        assert_eq!(params(Some("Flowed"), Some("Yes")), Some(true));
        assert_eq!(params(Some("flowed"), None), Some(false));
        assert_eq!(params(Some("fixed"), Some("yes")), None);
        assert_eq!(params(None, None), None);
    }
}
