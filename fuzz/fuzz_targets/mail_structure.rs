//! Mails built from the fuzzer's bytes as a program: multipart trees deep
//! and wide, attached messages, and HTML full of quotations, rules, `<pre>`
//! and entities, where a few bytes of input become a large, deeply nested
//! mail. run.sh runs it under a tight memory and per-input time limit, so
//! a parser whose cost grows faster than its input is a crash here.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailpay::protocol::parse::{self, MAX_MAIL_BYTES};

const BLOCK: &str = "-----BEGIN MAILPAY ORDER-----\r\nVersion: 1\r\nOrder: 7KQ3-M9ZX-P2VD-H4TR\r\n\
Amount: 1200 JPY\r\n-----END MAILPAY ORDER-----\r\n";

fn build(program: &[u8]) -> Vec<u8> {
    let mut mail = String::from(
        "From: fuzz@attacker.test\r\nTo: bank@bank.test\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n",
    );
    let mut boundaries = vec![0usize];
    let mut next = 1usize;
    for &op in program {
        let top = boundaries.last().copied().unwrap_or(0);
        let times = usize::from(op >> 4) + 1;
        match op & 0x0f {
            0 => {
                mail.push_str(&format!(
                    "--b{top}\r\nContent-Type: multipart/mixed; boundary=\"b{next}\"\r\n\r\n"
                ));
                boundaries.push(next);
                next += 1;
            }
            1 => {
                mail.push_str(&format!("--b{top}--\r\n"));
                boundaries.pop();
            }
            2 => mail.push_str(&format!("--b{top}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nx\r\n")),
            3 => mail.push_str(&format!("--b{top}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n")),
            4 => mail.push_str(&"<blockquote>".repeat(times * 16)),
            5 => mail.push_str(&"</blockquote>".repeat(times)),
            6 => mail.push_str(&"<br>x\r\n".repeat(times * 64)),
            7 => mail.push_str(&"<hr>".repeat(times * 16)),
            8 => mail.push_str(&"&amp;&#x41;&&;&#99999999;".repeat(times * 8)),
            9 => mail.push_str("<pre>\r\n> quoted\r\n</pre>"),
            10 => mail.push_str(BLOCK),
            11 => {
                mail.push_str(&format!(
                    "--b{top}\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@attacker.test\r\n\
                     Content-Type: multipart/mixed; boundary=\"b{next}\"\r\n\r\n"
                ));
                boundaries.push(next);
                next += 1;
            }
            12 => mail.push_str(&"X-Filler: y\r\n".repeat(times)),
            13 => mail.push_str(&"> ".repeat(times * 8)),
            14 => mail.push_str("<!-- a comment"),
            _ => mail.push_str("<div>text</div>\r\n"),
        }
        if mail.len() > MAX_MAIL_BYTES {
            break;
        }
    }
    mail.into_bytes()
}

fuzz_target!(|program: &[u8]| {
    let _ = parse::parse(&build(program));
});
